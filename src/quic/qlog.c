#include <stdio.h>
#include "quic/qlog.h"
#include "lwquic/quic.h"
#include "base/mem.h"

static void raw(lwq_qlog *q, const char *s, size_t n)
{
    if (q->failed)
        return;
    if (q->len + n > q->max) {
        q->failed = 1;
        return;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 1024;
        while (cap < q->len + n)
            cap *= 2;
        char *b = lwq_realloc(q->alloc, q->buf, cap);
        if (!b) {
            q->failed = 1;
            return;
        }
        q->buf = b;
        q->cap = cap;
    }
    memcpy(q->buf + q->len, s, n);
    q->len += n;
}

static void rawz(lwq_qlog *q, const char *s) { raw(q, s, strlen(s)); }

static void escaped(lwq_qlog *q, const uint8_t *s, size_t n)
{
    raw(q, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        char e[8];
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            raw(q, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Control and non-ASCII bytes as \u00XX: valid JSON whatever the peer sent. */
            snprintf(e, sizeof(e), "\\u%04x", c);
            raw(q, e, 6);
        } else {
            raw(q, (const char *)&c, 1);
        }
    }
    raw(q, "\"", 1);
}

/* Separator and key for the next value at this depth. */
static void key(lwq_qlog *q, const char *k)
{
    if (q->comma[q->depth])
        raw(q, ",", 1);
    q->comma[q->depth] = 1;
    if (k) {
        escaped(q, (const uint8_t *)k, strlen(k));
        raw(q, ":", 1);
    }
}

static void open_level(lwq_qlog *q, const char *k, char open, char close)
{
    key(q, k);
    raw(q, &open, 1);
    if (q->depth + 1 >= LWQ_QLOG_MAX_DEPTH) {
        q->failed = 1;
        return;
    }
    q->depth++;
    q->comma[q->depth] = 0;
    q->closer[q->depth] = close;
}

void lwq_qlog_obj(lwq_qlog *q, const char *k) { open_level(q, k, '{', '}'); }
void lwq_qlog_arr(lwq_qlog *q, const char *k) { open_level(q, k, '[', ']'); }

void lwq_qlog_close(lwq_qlog *q)
{
    if (q->depth <= 0)
        return;
    raw(q, &q->closer[q->depth], 1);
    q->depth--;
}

void lwq_qlog_str(lwq_qlog *q, const char *k, const char *s)
{
    key(q, k);
    escaped(q, (const uint8_t *)s, strlen(s));
}

void lwq_qlog_strn(lwq_qlog *q, const char *k, const uint8_t *s, size_t n)
{
    key(q, k);
    escaped(q, s, n);
}

void lwq_qlog_u64(lwq_qlog *q, const char *k, uint64_t v)
{
    char b[24];
    key(q, k);
    raw(q, b, (size_t)snprintf(b, sizeof(b), "%llu", (unsigned long long)v));
}

void lwq_qlog_ms(lwq_qlog *q, const char *k, lwq_tstamp t)
{
    char b[32];
    key(q, k);
    raw(q, b, (size_t)snprintf(b, sizeof(b), "%llu.%03llu", (unsigned long long)(t / LWQ_MS),
                               (unsigned long long)(t % LWQ_MS / 1000)));
}

void lwq_qlog_bool(lwq_qlog *q, const char *k, int v)
{
    key(q, k);
    rawz(q, v ? "true" : "false");
}

void lwq_qlog_hex(lwq_qlog *q, const char *k, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    key(q, k);
    raw(q, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char h[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        raw(q, h, 2);
    }
    raw(q, "\"", 1);
}

/* Emits the record built so far (RS ... LF) and resets the builder. */
static void emit(lwq_qlog *q)
{
    while (q->depth > 0)
        lwq_qlog_close(q);
    raw(q, "\n", 1);
    if (q->failed)
        q->dropped++;
    else if (q->sink)
        q->sink(q->ud, q->buf, q->len);
    q->len = 0;
    q->failed = 0;
    q->comma[0] = 0;
}

static void start(lwq_qlog *q)
{
    q->len = 0;
    q->depth = 0;
    q->failed = 0;
    q->comma[0] = 0;
    raw(q, "\x1e", 1); /* RFC 7464 record separator */
}

static void header_main(lwq_qlog *q, const char *vantage, const uint8_t *group_id, size_t group_len,
                        const char *title)
{
    lwq_qlog_str(q, "file_schema", "urn:ietf:params:qlog:file:sequential");
    lwq_qlog_str(q, "serialization_format", "application/qlog+json-seq");
    lwq_qlog_str(q, "title", title ? title : "lwquic");
    lwq_qlog_obj(q, "trace");
    lwq_qlog_obj(q, "common_fields");
    lwq_qlog_hex(q, "group_id", group_id, group_len);
    lwq_qlog_str(q, "time_format", "relative_to_epoch");
    lwq_qlog_obj(q, "reference_time");
    lwq_qlog_str(q, "clock_type", "monotonic");
    lwq_qlog_str(q, "epoch", "unknown");
    lwq_qlog_close(q);
    lwq_qlog_close(q);
    lwq_qlog_obj(q, "vantage_point");
    lwq_qlog_str(q, "name", "lwquic");
    lwq_qlog_str(q, "type", vantage);
    lwq_qlog_close(q);
    lwq_qlog_arr(q, "event_schemas");
    lwq_qlog_str(q, NULL, LWQ_QLOG_EVENT_SCHEMA);
    lwq_qlog_str(q, NULL, LWQ_QLOG_H3_EVENT_SCHEMA);
}

/* qlog 0.3 (draft-ietf-quic-qlog-main-schema-02/-03 JSON-SEQ): the header qvis checks for
 * (qlog_version, qlog_format "JSON-SEQ", trace); times relative to reference_time, which is the
 * caller's monotonic clock in milliseconds at the start (a sans-IO library has no wall clock). */
static void header_03(lwq_qlog *q, const char *vantage, const uint8_t *group_id, size_t group_len,
                      const char *title)
{
    lwq_qlog_str(q, "qlog_version", "0.3");
    lwq_qlog_str(q, "qlog_format", "JSON-SEQ");
    lwq_qlog_str(q, "title", title ? title : "lwquic");
    lwq_qlog_obj(q, "trace");
    lwq_qlog_obj(q, "vantage_point");
    lwq_qlog_str(q, "name", "lwquic");
    lwq_qlog_str(q, "type", vantage);
    lwq_qlog_close(q);
    lwq_qlog_obj(q, "common_fields");
    lwq_qlog_hex(q, "ODCID", group_id, group_len);
    lwq_qlog_hex(q, "group_id", group_id, group_len);
    lwq_qlog_arr(q, "protocol_type");
    lwq_qlog_str(q, NULL, "QUIC");
    lwq_qlog_str(q, NULL, "HTTP3");
    lwq_qlog_close(q);
    lwq_qlog_str(q, "time_format", "relative");
    lwq_qlog_ms(q, "reference_time", q->t0);
}

int lwq_qlog_init_format(lwq_qlog *q, const lwq_allocator *a, lwq_qlog_sink sink, void *ud, const char *vantage,
                         const uint8_t *group_id, size_t group_len, const char *title, int format, lwq_tstamp t0)
{
    memset(q, 0, sizeof(*q));
    q->sink = sink;
    q->ud = ud;
    q->alloc = a;
    q->max = 1 << 20;
    q->v03 = format == LWQ_QLOG_03;
    q->t0 = t0;
    start(q);
    lwq_qlog_obj(q, NULL);
    if (q->v03)
        header_03(q, vantage, group_id, group_len, title);
    else
        header_main(q, vantage, group_id, group_len, title);
    emit(q);
    return q->dropped ? LWQ_ERR_NOMEM : 0;
}

int lwq_qlog_init(lwq_qlog *q, const lwq_allocator *a, lwq_qlog_sink sink, void *ud, const char *vantage,
                  const uint8_t *group_id, size_t group_len, const char *title)
{
    return lwq_qlog_init_format(q, a, sink, ud, vantage, group_id, group_len, title, LWQ_QLOG_MAIN, 0);
}

void lwq_qlog_free(lwq_qlog *q)
{
    lwq_free(q->alloc, q->buf);
    q->buf = NULL;
    q->cap = q->len = 0;
}

/* Main-schema names and their qlog 0.3 (draft-ietf-quic-qlog-quic-events-02, -h3-events-02) names. */
static const char *const renames[][2] = {
    {"quic:connection_started", "connectivity:connection_started"},
    {"quic:connection_closed", "connectivity:connection_closed"},
    {"quic:recovery_metrics_updated", "recovery:metrics_updated"},
    {"quic:congestion_state_updated", "recovery:congestion_state_updated"},
    {"quic:packet_lost", "recovery:packet_lost"},
    {"quic:key_updated", "security:key_updated"},
};

static const char *name_03(const char *name, char *buf, size_t cap)
{
    for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++)
        if (!strcmp(name, renames[i][0]))
            return renames[i][1];
    if (!strncmp(name, "quic:", 5))
        snprintf(buf, cap, "transport:%s", name + 5);
    else if (!strncmp(name, "http3:", 6))
        snprintf(buf, cap, "http:%s", name + 6);
    else
        return name;
    return buf;
}

void lwq_qlog_begin(lwq_qlog *q, lwq_tstamp now, const char *name)
{
    char buf[64];
    start(q);
    lwq_qlog_obj(q, NULL);
    lwq_qlog_ms(q, "time", q->v03 ? (now > q->t0 ? now - q->t0 : 0) : now);
    lwq_qlog_str(q, "name", q->v03 ? name_03(name, buf, sizeof(buf)) : name);
    lwq_qlog_obj(q, "data");
}

void lwq_qlog_end(lwq_qlog *q) { emit(q); }

const char *lwq_qlog_pkt_type_name(lwq_pkt_type t)
{
    switch (t) {
    case LWQ_PKT_INITIAL: return "initial";
    case LWQ_PKT_0RTT: return "0RTT";
    case LWQ_PKT_HANDSHAKE: return "handshake";
    case LWQ_PKT_RETRY: return "retry";
    case LWQ_PKT_1RTT: return "1RTT";
    case LWQ_PKT_VN: return "version_negotiation";
    }
    return "unknown";
}

static void stream_type(lwq_qlog *q, uint64_t type, uint64_t bidi_type)
{
    lwq_qlog_str(q, "stream_type", type == bidi_type ? "bidirectional" : "unidirectional");
}

void lwq_qlog_frame(lwq_qlog *q, const lwq_frame *f, uint64_t ack_delay_exponent)
{
    lwq_qlog_obj(q, NULL);
    if (lwq_frame_is_stream(f->type)) {
        lwq_qlog_str(q, "frame_type", "stream");
        lwq_qlog_u64(q, "stream_id", f->u.stream.stream_id);
        lwq_qlog_u64(q, "offset", f->u.stream.offset);
        lwq_qlog_bool(q, "fin", f->u.stream.fin);
        lwq_qlog_obj(q, "raw");
        lwq_qlog_u64(q, "payload_length", f->u.stream.len);
        lwq_qlog_close(q);
        lwq_qlog_close(q);
        return;
    }
    switch (f->type) {
    case LWQ_FRAME_PADDING:
        lwq_qlog_str(q, "frame_type", "padding");
        lwq_qlog_obj(q, "raw");
        lwq_qlog_u64(q, "payload_length", f->u.padding_len);
        lwq_qlog_close(q);
        break;
    case LWQ_FRAME_PING:
        lwq_qlog_str(q, "frame_type", "ping");
        break;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN: {
        lwq_qlog_str(q, "frame_type", "ack");
        uint64_t shift = ack_delay_exponent < 20 ? ack_delay_exponent : 20;
        uint64_t us = f->u.ack.ack_delay << shift;
        char b[32];
        key(q, "ack_delay");
        raw(q, b, (size_t)snprintf(b, sizeof(b), "%llu.%03llu", (unsigned long long)(us / 1000),
                                   (unsigned long long)(us % 1000)));
        lwq_qlog_arr(q, "acked_ranges");
        for (size_t i = 0; i < f->u.ack.range_count; i++) {
            lwq_qlog_arr(q, NULL);
            lwq_qlog_u64(q, NULL, f->u.ack.ranges[i].smallest);
            if (f->u.ack.ranges[i].largest != f->u.ack.ranges[i].smallest)
                lwq_qlog_u64(q, NULL, f->u.ack.ranges[i].largest);
            lwq_qlog_close(q);
        }
        lwq_qlog_close(q);
        if (f->type == LWQ_FRAME_ACK_ECN) {
            lwq_qlog_u64(q, "ect0", f->u.ack.ect0);
            lwq_qlog_u64(q, "ect1", f->u.ack.ect1);
            lwq_qlog_u64(q, "ce", f->u.ack.ce);
        }
        break;
    }
    case LWQ_FRAME_RESET_STREAM:
        lwq_qlog_str(q, "frame_type", "reset_stream");
        lwq_qlog_u64(q, "stream_id", f->u.reset_stream.stream_id);
        lwq_qlog_str(q, "error", "unknown");
        lwq_qlog_u64(q, "error_code", f->u.reset_stream.app_error);
        lwq_qlog_u64(q, "final_size", f->u.reset_stream.final_size);
        break;
    case LWQ_FRAME_STOP_SENDING:
        lwq_qlog_str(q, "frame_type", "stop_sending");
        lwq_qlog_u64(q, "stream_id", f->u.stop_sending.stream_id);
        lwq_qlog_str(q, "error", "unknown");
        lwq_qlog_u64(q, "error_code", f->u.stop_sending.app_error);
        break;
    case LWQ_FRAME_CRYPTO:
        lwq_qlog_str(q, "frame_type", "crypto");
        lwq_qlog_u64(q, "offset", f->u.crypto.offset);
        lwq_qlog_obj(q, "raw");
        lwq_qlog_u64(q, "length", f->u.crypto.len);
        lwq_qlog_close(q);
        break;
    case LWQ_FRAME_NEW_TOKEN:
        lwq_qlog_str(q, "frame_type", "new_token");
        lwq_qlog_obj(q, "token");
        lwq_qlog_obj(q, "raw");
        lwq_qlog_u64(q, "length", f->u.new_token.len);
        lwq_qlog_close(q);
        lwq_qlog_close(q);
        break;
    case LWQ_FRAME_MAX_DATA:
        lwq_qlog_str(q, "frame_type", "max_data");
        lwq_qlog_u64(q, "maximum", f->u.max_data);
        break;
    case LWQ_FRAME_DATA_BLOCKED:
        lwq_qlog_str(q, "frame_type", "data_blocked");
        lwq_qlog_u64(q, "limit", f->u.max_data);
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
        lwq_qlog_str(q, "frame_type", "max_stream_data");
        lwq_qlog_u64(q, "stream_id", f->u.max_stream_data.stream_id);
        lwq_qlog_u64(q, "maximum", f->u.max_stream_data.max);
        break;
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        lwq_qlog_str(q, "frame_type", "stream_data_blocked");
        lwq_qlog_u64(q, "stream_id", f->u.max_stream_data.stream_id);
        lwq_qlog_u64(q, "limit", f->u.max_stream_data.max);
        break;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
        lwq_qlog_str(q, "frame_type", "max_streams");
        stream_type(q, f->type, LWQ_FRAME_MAX_STREAMS_BIDI);
        lwq_qlog_u64(q, "maximum", f->u.max_streams);
        break;
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        lwq_qlog_str(q, "frame_type", "streams_blocked");
        stream_type(q, f->type, LWQ_FRAME_STREAMS_BLOCKED_BIDI);
        lwq_qlog_u64(q, "limit", f->u.max_streams);
        break;
    case LWQ_FRAME_NEW_CONNECTION_ID:
        lwq_qlog_str(q, "frame_type", "new_connection_id");
        lwq_qlog_u64(q, "sequence_number", f->u.new_cid.seq);
        lwq_qlog_u64(q, "retire_prior_to", f->u.new_cid.retire_prior_to);
        lwq_qlog_u64(q, "connection_id_length", f->u.new_cid.cid.len);
        lwq_qlog_hex(q, "connection_id", f->u.new_cid.cid.id, f->u.new_cid.cid.len);
        lwq_qlog_hex(q, "stateless_reset_token", f->u.new_cid.reset_token, LWQ_RESET_TOKEN_LEN);
        break;
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        lwq_qlog_str(q, "frame_type", "retire_connection_id");
        lwq_qlog_u64(q, "sequence_number", f->u.retire_seq);
        break;
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        lwq_qlog_str(q, "frame_type", f->type == LWQ_FRAME_PATH_CHALLENGE ? "path_challenge" : "path_response");
        lwq_qlog_hex(q, "data", f->u.path_data, 8);
        break;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        lwq_qlog_str(q, "frame_type", "connection_close");
        lwq_qlog_str(q, "error_space", f->type == LWQ_FRAME_CONNECTION_CLOSE ? "transport" : "application");
        lwq_qlog_u64(q, "error_code", f->u.close.error_code);
        lwq_qlog_strn(q, "reason", f->u.close.reason, f->u.close.reason_len);
        if (f->type == LWQ_FRAME_CONNECTION_CLOSE && f->u.close.frame_type)
            lwq_qlog_u64(q, "trigger_frame_type", f->u.close.frame_type);
        break;
    case LWQ_FRAME_HANDSHAKE_DONE:
        lwq_qlog_str(q, "frame_type", "handshake_done");
        break;
    case LWQ_FRAME_DATAGRAM:
    case LWQ_FRAME_DATAGRAM_LEN:
        lwq_qlog_str(q, "frame_type", "datagram");
        lwq_qlog_obj(q, "raw");
        lwq_qlog_u64(q, "payload_length", f->u.datagram.len);
        lwq_qlog_close(q);
        break;
    default:
        lwq_qlog_str(q, "frame_type", "unknown");
        lwq_qlog_u64(q, "frame_type_bytes", f->type);
        break;
    }
    lwq_qlog_close(q);
}

void lwq_qlog_packet(lwq_qlog *q, lwq_tstamp now, int sent, const lwq_qlog_pkt *h, const lwq_frame *frames,
                     size_t n, uint64_t ack_delay_exponent)
{
    lwq_qlog_begin(q, now, sent ? "quic:packet_sent" : "quic:packet_received");
    lwq_qlog_obj(q, "header");
    lwq_qlog_str(q, "packet_type", lwq_qlog_pkt_type_name(h->type));
    if (h->type != LWQ_PKT_RETRY && h->type != LWQ_PKT_VN) {
        lwq_qlog_u64(q, "packet_number", h->pn);
        if (h->pn_len)
            lwq_qlog_u64(q, "packet_number_length", h->pn_len);
    }
    if (h->type == LWQ_PKT_1RTT)
        lwq_qlog_bool(q, "key_phase_bit", h->key_phase);
    else if (h->version)
        lwq_qlog_hex(q, "version", (const uint8_t[]){(uint8_t)(h->version >> 24), (uint8_t)(h->version >> 16),
                                                     (uint8_t)(h->version >> 8), (uint8_t)h->version}, 4);
    if (h->scid) {
        lwq_qlog_u64(q, "scil", h->scid_len);
        lwq_qlog_hex(q, "scid", h->scid, h->scid_len);
    }
    if (h->dcid) {
        lwq_qlog_u64(q, "dcil", h->dcid_len);
        lwq_qlog_hex(q, "dcid", h->dcid, h->dcid_len);
    }
    lwq_qlog_close(q);
    lwq_qlog_obj(q, "raw");
    lwq_qlog_u64(q, "length", h->length);
    lwq_qlog_close(q);
    lwq_qlog_arr(q, "frames");
    for (size_t i = 0; i < n; i++)
        lwq_qlog_frame(q, &frames[i], ack_delay_exponent);
    lwq_qlog_end(q);
}

void lwq_qlog_metrics(lwq_qlog *q, lwq_tstamp now, lwq_tstamp min_rtt, lwq_tstamp smoothed, lwq_tstamp latest,
                      lwq_tstamp rttvar, uint64_t cwnd, uint64_t bytes_in_flight, uint64_t ssthresh,
                      unsigned pto_count)
{
    lwq_qlog_begin(q, now, "quic:recovery_metrics_updated");
    lwq_qlog_ms(q, "min_rtt", min_rtt);
    lwq_qlog_ms(q, "smoothed_rtt", smoothed);
    lwq_qlog_ms(q, "latest_rtt", latest);
    lwq_qlog_ms(q, "rtt_variance", rttvar);
    lwq_qlog_u64(q, "pto_count", pto_count);
    lwq_qlog_u64(q, "congestion_window", cwnd);
    lwq_qlog_u64(q, "bytes_in_flight", bytes_in_flight);
    if (ssthresh != UINT64_MAX)
        lwq_qlog_u64(q, "ssthresh", ssthresh);
    lwq_qlog_end(q);
}

void lwq_qlog_congestion_state(lwq_qlog *q, lwq_tstamp now, const char *old_state, const char *new_state,
                               const char *trigger)
{
    lwq_qlog_begin(q, now, "quic:congestion_state_updated");
    if (old_state)
        lwq_qlog_str(q, "old", old_state);
    lwq_qlog_str(q, "new", new_state);
    if (trigger)
        lwq_qlog_str(q, "trigger", trigger);
    lwq_qlog_end(q);
}

void lwq_qlog_packet_lost(lwq_qlog *q, lwq_tstamp now, lwq_pkt_type type, uint64_t pn, const char *trigger)
{
    lwq_qlog_begin(q, now, "quic:packet_lost");
    lwq_qlog_obj(q, "header");
    lwq_qlog_str(q, "packet_type", lwq_qlog_pkt_type_name(type));
    lwq_qlog_u64(q, "packet_number", pn);
    lwq_qlog_close(q);
    if (trigger)
        lwq_qlog_str(q, "trigger", trigger);
    lwq_qlog_end(q);
}

void lwq_qlog_closed(lwq_qlog *q, lwq_tstamp now, const char *owner, int is_app, uint64_t code,
                     const uint8_t *reason, size_t reason_len, const char *trigger)
{
    lwq_qlog_begin(q, now, "quic:connection_closed");
    lwq_qlog_str(q, "owner", owner);
    lwq_qlog_u64(q, is_app ? "application_code" : "connection_code", code);
    if (reason)
        lwq_qlog_strn(q, "reason", reason, reason_len);
    if (trigger)
        lwq_qlog_str(q, "trigger", trigger);
    lwq_qlog_end(q);
}
