/* A connection's qlog and text trace: packets as they leave and arrive (frames decoded from the
 * plaintext, so both show exactly what was on the wire), losses, recovery metrics, the close. */
#include <stdarg.h>
#include <stdio.h>
#include "quic/conn.h"
#include "quic/qlog.h"
#include "base/mem.h"

#define QLOG_MAX_FRAMES 64
#define QLOG_MAX_ACK_RANGES 32

static int tracing(const lwq_conn *c, int level) { return c->cfg->log && c->cfg->log_level >= level; }

static void trace(lwq_conn *c, int level, const char *fmt, ...)
{
    if (!tracing(c, level))
        return;
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s: ", c->is_server ? "server" : "client");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    c->cfg->log(c->cfg->log_ud, level, line);
}

/* "STREAM(id=4 off=0 len=100 fin)" style, for people reading a trace. */
static size_t frame_text(char *out, size_t cap, const lwq_frame *f)
{
    int n;
    if (lwq_frame_is_stream(f->type))
        n = snprintf(out, cap, " STREAM(id=%llu off=%llu len=%zu%s)", (unsigned long long)f->u.stream.stream_id,
                     (unsigned long long)f->u.stream.offset, f->u.stream.len, f->u.stream.fin ? " fin" : "");
    else if (f->type == LWQ_FRAME_ACK || f->type == LWQ_FRAME_ACK_ECN)
        n = snprintf(out, cap, " ACK(%llu-%llu%s)", (unsigned long long)f->u.ack.ranges[0].smallest,
                     (unsigned long long)f->u.ack.largest, f->u.ack.range_count > 1 ? " +gaps" : "");
    else if (f->type == LWQ_FRAME_CRYPTO)
        n = snprintf(out, cap, " CRYPTO(off=%llu len=%zu)", (unsigned long long)f->u.crypto.offset, f->u.crypto.len);
    else if (f->type == LWQ_FRAME_PADDING)
        n = snprintf(out, cap, " PADDING(%zu)", f->u.padding_len);
    else if (f->type == LWQ_FRAME_CONNECTION_CLOSE || f->type == LWQ_FRAME_CONNECTION_CLOSE_APP)
        n = snprintf(out, cap, " CONNECTION_CLOSE(%s 0x%llx \"%.*s\")",
                     f->type == LWQ_FRAME_CONNECTION_CLOSE ? "transport" : "application",
                     (unsigned long long)f->u.close.error_code, (int)(f->u.close.reason_len > 60 ? 60 : f->u.close.reason_len),
                     (const char *)f->u.close.reason);
    else {
        const lwq_frame_info *info = lwq_frame_info_get(f->type);
        n = snprintf(out, cap, " %s", info ? info->name : "UNKNOWN");
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void sink(void *ud, const char *record, size_t len)
{
    lwq_conn *c = ud;
    c->cfg->qlog_write(c->qlog_handle, record, len);
}

void lwq_conn_qlog_start(lwq_conn *c)
{
    char id[2 * LWQ_CID_MAX + 1];
    for (size_t i = 0; i < c->odcid.len; i++)
        snprintf(id + 2 * i, 3, "%02x", c->odcid.id[i]);
    id[2 * c->odcid.len] = 0;
    trace(c, LWQ_LOG_INFO, "connection %s started, QUIC version 0x%08x", id, c->version);
    if (!c->cfg->qlog_open || !c->cfg->qlog_write)
        return;
    c->qlog_handle = c->cfg->qlog_open(c->cfg->qlog_ud, c->is_server, c->odcid.id, c->odcid.len);
    if (!c->qlog_handle)
        return;
    c->qlog = lwq_calloc(c->alloc, 1, sizeof(*c->qlog));
    if (!c->qlog || lwq_qlog_init_format(c->qlog, c->alloc, sink, c, c->is_server ? "server" : "client", c->odcid.id,
                                         c->odcid.len, "lwquic", c->cfg->qlog_format, c->now) != 0) {
        lwq_conn_qlog_end(c); /* observability never fails a connection */
        return;
    }
    lwq_qlog_begin(c->qlog, c->now, "quic:connection_started");
    lwq_qlog_hex(c->qlog, "src_cid", c->odcid.id, c->odcid.len);
    lwq_conn_qlog_addresses(c);
    lwq_qlog_end(c->qlog);
}

void lwq_conn_qlog_end(lwq_conn *c)
{
    if (c->qlog) {
        lwq_qlog_free(c->qlog);
        lwq_free(c->alloc, c->qlog);
        c->qlog = NULL;
    }
    if (c->qlog_handle && c->cfg->qlog_close)
        c->cfg->qlog_close(c->qlog_handle);
    c->qlog_handle = NULL;
}

static lwq_pkt_type pkt_type(lwq_space s)
{
    return s == LWQ_SPACE_INITIAL ? LWQ_PKT_INITIAL : s == LWQ_SPACE_HANDSHAKE ? LWQ_PKT_HANDSHAKE : LWQ_PKT_1RTT;
}

void lwq_conn_qlog_packet(lwq_conn *c, int sent, lwq_pkt_type type, uint64_t pn, const uint8_t *payload,
                          size_t len, size_t wire_len)
{
    if (!c->qlog && !tracing(c, LWQ_LOG_DEBUG))
        return;
    lwq_frame frames[QLOG_MAX_FRAMES];
    lwq_ack_range ranges[4][QLOG_MAX_ACK_RANGES]; /* room for four ACK frames a packet */
    size_t n = 0, acks = 0;
    while (len > 0 && n < QLOG_MAX_FRAMES) {
        lwq_frame *f = &frames[n];
        f->ack_ranges = ranges[acks < 4 ? acks : 3];
        f->ack_ranges_cap = QLOG_MAX_ACK_RANGES;
        ssize_t k = lwq_frame_decode(f, payload, len);
        if (k <= 0)
            break; /* received frames were already checked; a log never fails the connection */
        if (f->type == LWQ_FRAME_ACK || f->type == LWQ_FRAME_ACK_ECN)
            acks++;
        payload += k;
        len -= (size_t)k;
        n++;
    }
    if (tracing(c, LWQ_LOG_DEBUG)) {
        char text[700];
        size_t at = 0;
        for (size_t i = 0; i < n && at < sizeof(text) - 1; i++)
            at += frame_text(text + at, sizeof(text) - at, &frames[i]);
        text[at] = 0;
        trace(c, LWQ_LOG_DEBUG, "%s %s pn=%llu %zu bytes:%s", sent ? "sent" : "received",
              lwq_qlog_pkt_type_name(type), (unsigned long long)pn, wire_len, text);
    }
    if (!c->qlog)
        return;
    lwq_qlog_pkt h = {.type = type, .pn = pn, .version = c->version, .length = wire_len};
    uint64_t exponent = sent ? c->local_tp.ack_delay_exponent : c->peer_tp.ack_delay_exponent;
    lwq_qlog_packet(c->qlog, c->now, sent, &h, frames, n, exponent);
}

void lwq_conn_qlog_lost(lwq_conn *c, lwq_space s, uint64_t pn)
{
    trace(c, LWQ_LOG_DEBUG, "%s packet pn=%llu declared lost", lwq_qlog_pkt_type_name(pkt_type(s)),
          (unsigned long long)pn);
    if (c->qlog)
        lwq_qlog_packet_lost(c->qlog, c->now, pkt_type(s), pn,
                             strcmp(lwq_conn_loss_rule(c, s, pn), "packet_threshold") ? "time_threshold"
                                                                                       : "reordering_threshold");
}

/* recovery_metrics_updated and congestion_state_updated (draft-ietf-quic-qlog-quic-events §7.2,
 * §7.3); the state names follow the RFC 9002 controller: slow_start, congestion_avoidance,
 * application_limited, recovery. */
void lwq_conn_qlog_metrics(lwq_conn *c)
{
    lwq_recovery *r = &c->rec;
    const char *state = lwq_recovery_cc_state(r);
    if (c->qlog && state != r->cc_state_logged) {
        lwq_qlog_congestion_state(c->qlog, c->now, r->cc_state_logged, state,
                                  r->cc.in_recovery ? (r->ecn_ce_events ? "ecn" : "loss") : NULL);
    }
    if (state != r->cc_state_logged)
        trace(c, LWQ_LOG_DEBUG, "congestion state %s", state);
    r->cc_state_logged = state;
    if ((!c->qlog && !tracing(c, LWQ_LOG_DEBUG)) ||
        (r->cc.cwnd == c->qlog_cwnd && r->cc.bytes_in_flight == c->qlog_inflight && r->rtt.smoothed == c->qlog_srtt))
        return;
    c->qlog_cwnd = r->cc.cwnd;
    c->qlog_inflight = r->cc.bytes_in_flight;
    c->qlog_srtt = r->rtt.smoothed;
    trace(c, LWQ_LOG_DEBUG, "cwnd %llu bytes, %llu in flight, smoothed rtt %.3f ms",
          (unsigned long long)r->cc.cwnd, (unsigned long long)r->cc.bytes_in_flight, (double)r->rtt.smoothed / 1e6);
    if (!c->qlog)
        return;
    lwq_qlog *q = c->qlog;
    lwq_qlog_begin(q, c->now, "quic:recovery_metrics_updated");
    lwq_qlog_ms(q, "min_rtt", r->rtt.min);
    lwq_qlog_ms(q, "smoothed_rtt", r->rtt.smoothed);
    lwq_qlog_ms(q, "latest_rtt", r->rtt.latest);
    lwq_qlog_ms(q, "rtt_variance", r->rtt.var);
    lwq_qlog_u64(q, "pto_count", r->pto_count);
    lwq_qlog_u64(q, "congestion_window", r->cc.cwnd);
    lwq_qlog_u64(q, "bytes_in_flight", r->cc.bytes_in_flight);
    if (r->cc.ssthresh != UINT64_MAX)
        lwq_qlog_u64(q, "ssthresh", r->cc.ssthresh);
    if (r->pacer.rate > 0)
        lwq_qlog_u64(q, "pacing_rate", (uint64_t)(r->pacer.rate * 8)); /* bits per second */
    lwq_qlog_end(q);
}

void lwq_conn_qlog_closed(lwq_conn *c)
{
    const lwq_close_info *ci = &c->close;
    trace(c, LWQ_LOG_INFO, "connection closed by %s: %s error 0x%llx (%s)%s%s", ci->by_peer ? "the peer" : "us",
          ci->is_app ? "application" : "transport", (unsigned long long)ci->code,
          ci->is_app ? "application" : lwq_quic_error_name(ci->code), ci->reason[0] ? ": " : "", ci->reason);
    if (!c->qlog)
        return;
    const char *trigger = ci->idle_timeout ? "idle_timeout" : ci->stateless_reset ? "stateless_reset" : NULL;
    lwq_qlog_closed(c->qlog, c->now, ci->by_peer ? "remote" : "local", ci->is_app, ci->code,
                    (const uint8_t *)ci->reason, strlen(ci->reason), trigger);
}
