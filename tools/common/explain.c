/* --explain, transport layer: datagrams, packet headers, frames, keys, losses and probes, each with
 * the RFC section it comes from. Headers and frames are decoded with the library's codecs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "common/explain.h"
#include "common/explain_int.h"
#include "quic/frame.h"
#include "quic/packet.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const colours[] = {"\033[1;36m", "\033[32m",   "\033[1;35m", "\033[1;34m", "\033[34m",
                                      "\033[1;33m", "\033[1;31m", "\033[33m",   "\033[2m"};

void ex_say(explain *e, ex_conn *c, int indent, int cls, const char *rfc, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    for (char *t = text; *t; t++) /* peer strings (reason phrases, names, header values) reach a terminal */
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            *t = '?';
    fprintf(e->out, "%s: %*s", c->is_server ? "server" : "client", indent * 2, "");
    if (e->colour)
        fprintf(e->out, "%s%s\033[0m", colours[cls], text);
    else
        fputs(text, e->out);
    if (rfc)
        fprintf(e->out, e->colour ? " \033[33m[%s]\033[0m" : " [%s]", rfc);
    fputc('\n', e->out);
}

void ex_hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (at + 2 + 3 > cap) { /* no room for this byte and the ".." that says more follow */
            memcpy(out + at, "..", 2);
            at += 2;
            break;
        }
        snprintf(out + at, 3, "%02x", p[i]);
        at += 2;
    }
    out[at] = 0;
}

static ex_conn *conn_of(explain *e, const lwq_trace_event *ev)
{
    ex_conn *free_slot = NULL;
    for (size_t i = 0; i < sizeof(e->conns) / sizeof(e->conns[0]); i++) {
        if (e->conns[i].id == ev->conn)
            return &e->conns[i];
        if (!e->conns[i].id && !free_slot)
            free_slot = &e->conns[i];
    }
    if (!free_slot) { /* slots are reused in turn: an explained server sees few connections at once */
        free_slot = &e->conns[e->evict++ % (sizeof(e->conns) / sizeof(e->conns[0]))];
        ex_conn_free(free_slot);
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->id = ev->conn;
    free_slot->is_server = ev->is_server;
    return free_slot;
}

static const char *const epoch_names[] = {"Initial", "0-RTT", "Handshake", "1-RTT"};

static void keys(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    const char *lvl = epoch_names[ev->epoch & 3];
    const char *d = ev->detail ? ev->detail : "";
    if (!strcmp(d, "initial"))
        ex_say(
            e, c, 0, C_KEY, "RFC 9001 §5.2",
            "keys: Initial secrets derived from the Destination Connection ID of the client's Initial (its first, "
            "or the one a Retry chose) with the version's fixed salt (HKDF-Extract, then \"client in\"/\"server in\"); "
            "anyone can compute them");
    else if (!strcmp(d, "discarded"))
        ex_say(e, c, 0, C_KEY,
               ev->epoch == 0   ? "RFC 9001 §4.9.1"
               : ev->epoch == 2 ? "RFC 9001 §4.9.2"
                                : "RFC 9001 §4.9",
               "keys: %s keys discarded; no more %s packets are sent or accepted", lvl, lvl);
    else if (!strncmp(d, "key_update", 10))
        ex_say(e, c, 0, C_KEY, "RFC 9001 §6",
               "keys: 1-RTT key update, new %s keys from the next secret (HKDF-Expand-Label \"quic ku\"); the Key "
               "Phase bit flips",
               strstr(d, "write") ? "write" : "read");
    else
        ex_say(e, c, 0, C_KEY, ev->epoch == 3 ? "RFC 9001 §4.1.4, §5.1" : "RFC 9001 §4.1.4",
               "keys: %s %s keys installed, from the TLS %s traffic secret; packet protection uses "
               "\"quic key\", \"quic iv\" and \"quic hp\" labels",
               lvl, d, ev->epoch == 3 ? "application" : "handshake");
}

static void datagram(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    if (ev->sent) {
        ex_say(e, c, 0, C_PKT, c->packets_in_dgram > 1 ? "RFC 9000 §12.2" : "RFC 9000 §14",
               "=> sent a UDP datagram of %zu bytes holding %u QUIC packet%s%s", ev->payload_len, c->packets_in_dgram,
               c->packets_in_dgram == 1 ? "" : "s", c->packets_in_dgram > 1 ? " (coalesced)" : "");
        c->packets_in_dgram = 0;
    } else {
        ex_say(e, c, 0, C_PKT, "RFC 9000 §12.2",
               "<= received a UDP datagram of %zu bytes (it may hold several coalesced packets)", ev->payload_len);
    }
}

static const char *pkt_rfc(lwq_pkt_type t)
{
    switch (t) {
    case LWQ_PKT_INITIAL:
        return "RFC 9000 §17.2.2";
    case LWQ_PKT_0RTT:
        return "RFC 9000 §17.2.3";
    case LWQ_PKT_HANDSHAKE:
        return "RFC 9000 §17.2.4";
    case LWQ_PKT_RETRY:
        return "RFC 9000 §17.2.5";
    case LWQ_PKT_1RTT:
        return "RFC 9000 §17.3.1";
    default:
        return "RFC 9000 §17.2.1";
    }
}

static void header(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    lwq_pkt_hdr h; /* a short header's DCID runs from byte 1 to the packet number */
    int is_long = ev->hdr_len && (ev->hdr[0] & 0x80);
    memset(&h, 0, sizeof(h));
    if (is_long && lwq_pkt_hdr_decode(&h, ev->hdr, ev->hdr_len + ev->payload_len + 16, 0) < 0) {
        ex_say(e, c, 1, C_PKT, "RFC 9000 §17", "(header not decoded)");
        return;
    }
    size_t pn_len = is_long ? ev->hdr_len - h.pn_offset : (size_t)(ev->hdr[0] & 3) + 1;
    if (!is_long) {
        h.dcid = ev->hdr + 1;
        h.dcid_len = ev->hdr_len - 1 - pn_len;
    }
    char d[2 * LWQ_CID_MAX + 3], s[2 * LWQ_CID_MAX + 3];
    ex_hex(d, sizeof(d), h.dcid, h.dcid_len);
    ex_hex(s, sizeof(s), h.scid, is_long ? h.scid_len : 0);
    lwq_pkt_type t = ev->epoch == 0   ? LWQ_PKT_INITIAL
                     : ev->epoch == 1 ? LWQ_PKT_0RTT
                     : ev->epoch == 2 ? LWQ_PKT_HANDSHAKE
                                      : LWQ_PKT_1RTT;
    ex_say(e, c, 0, C_PKT, pkt_rfc(t), "%s %s packet, packet number %llu, %zu bytes on the wire",
           ev->sent ? "-> sent" : "<- received", epoch_names[ev->epoch & 3], (unsigned long long)ev->pn, ev->wire_len);
    if (is_long)
        ex_say(e, c, 1, C_DIM, "RFC 9000 §17.2",
               "long header: version 0x%08x, DCID %s (%zu bytes), SCID %s (%zu bytes)%s", h.version, d, h.dcid_len, s,
               h.scid_len, t == LWQ_PKT_INITIAL ? ", Token and Length fields" : ", Length field");
    else
        ex_say(e, c, 1, C_DIM, "RFC 9000 §17.3.1", "short header: DCID %s, Key Phase bit %d, spin bit %d", d,
               (ev->hdr[0] >> 2) & 1, (ev->hdr[0] >> 5) & 1);
    ex_say(e, c, 1, C_DIM, "RFC 9000 §17.1",
           "packet number %llu sent in %zu byte%s: only the low bits, the receiver rebuilds the rest from the largest "
           "it has seen",
           (unsigned long long)ev->pn, pn_len, pn_len == 1 ? "" : "s");
    ex_say(e, c, 1, C_DIM, "RFC 9001 §5.3, §5.4",
           "protection: the %zu payload bytes are AEAD-encrypted (16-byte tag) with the header as associated data; "
           "header protection masks the packet number and low bits of the first byte",
           ev->payload_len);
}

static const char *const frame_rfc[0x1f] = {
    "RFC 9000 §19.1",  "RFC 9000 §19.2",  "RFC 9000 §19.3",  "RFC 9000 §19.3",  "RFC 9000 §19.4",  "RFC 9000 §19.5",
    "RFC 9000 §19.6",  "RFC 9000 §19.7",  "RFC 9000 §19.8",  "RFC 9000 §19.8",  "RFC 9000 §19.8",  "RFC 9000 §19.8",
    "RFC 9000 §19.8",  "RFC 9000 §19.8",  "RFC 9000 §19.8",  "RFC 9000 §19.8",  "RFC 9000 §19.9",  "RFC 9000 §19.10",
    "RFC 9000 §19.11", "RFC 9000 §19.11", "RFC 9000 §19.12", "RFC 9000 §19.13", "RFC 9000 §19.14", "RFC 9000 §19.14",
    "RFC 9000 §19.15", "RFC 9000 §19.16", "RFC 9000 §19.17", "RFC 9000 §19.18", "RFC 9000 §19.19", "RFC 9000 §19.19",
    "RFC 9000 §19.20"};

static void ack(explain *e, ex_conn *c, const lwq_trace_event *ev, const lwq_frame *f, const char *rfc)
{
    char ranges[256];
    size_t at = 0;
    for (size_t i = 0; i < f->u.ack.range_count && at < sizeof(ranges) - 40; i++) {
        const lwq_ack_range *r = &f->u.ack.ranges[i];
        at += (size_t)snprintf(ranges + at, sizeof(ranges) - at, "%s%llu", i ? ", " : "",
                               (unsigned long long)r->smallest);
        if (r->largest != r->smallest)
            at += (size_t)snprintf(ranges + at, sizeof(ranges) - at, "-%llu", (unsigned long long)r->largest);
    }
    ranges[at] = 0;
    ex_say(e, c, 1, C_FRAME, rfc, "ACK: acknowledges packets %s (largest %llu, ack delay field %llu)%s", ranges,
           (unsigned long long)f->u.ack.largest, (unsigned long long)f->u.ack.ack_delay,
           f->type == LWQ_FRAME_ACK_ECN ? " with ECN counts (§19.3.2)" : "");
    if (ev->sent) {
        unsigned n = c->eliciting_rx[ev->epoch & 3];
        if (ev->epoch != 3)
            ex_say(e, c, 2, C_DIM, "RFC 9000 §13.2.1",
                   "why: %u ack-eliciting packet%s arrived; Initial and Handshake packets are acknowledged at once", n,
                   n == 1 ? "" : "s");
        else
            ex_say(e, c, 2, C_DIM, "RFC 9000 §13.2.1, §13.2.2",
                   "why: %u ack-eliciting packet%s arrived since the last ACK; an ACK goes at least every second one "
                   "or within max_ack_delay",
                   n, n == 1 ? "" : "s");
        c->eliciting_rx[ev->epoch & 3] = 0;
    } else {
        ex_say(e, c, 2, C_DIM, "RFC 9002 §5.1, §6.1",
               "the sender takes an RTT sample from the largest newly acknowledged packet and checks earlier ones for "
               "loss");
    }
}

static const char *alert_name(unsigned a)
{
    switch (a) {
    case 10:
        return "unexpected_message";
    case 40:
        return "handshake_failure";
    case 42:
        return "bad_certificate";
    case 43:
        return "unsupported_certificate";
    case 44:
        return "certificate_revoked";
    case 45:
        return "certificate_expired";
    case 46:
        return "certificate_unknown";
    case 47:
        return "illegal_parameter";
    case 48:
        return "unknown_ca";
    case 50:
        return "decode_error";
    case 51:
        return "decrypt_error";
    case 70:
        return "protocol_version";
    case 80:
        return "internal_error";
    case 109:
        return "missing_extension";
    case 110:
        return "unsupported_extension";
    case 112:
        return "unrecognized_name";
    case 116:
        return "certificate_required";
    case 120:
        return "no_application_protocol";
    }
    return "another alert";
}

/* What a transport error code means; a TLS alert rides in 0x0100-0x01ff (RFC 9001 §4.8). */
static void close_code(explain *e, ex_conn *c, uint64_t code)
{
    if (code >= 0x100 && code <= 0x1ff)
        ex_say(e, c, 2, C_DIM, "RFC 9001 §4.8, RFC 9846 §6.2",
               "0x%llx is CRYPTO_ERROR carrying TLS alert %u, %s: the handshake failed%s", (unsigned long long)code,
               (unsigned)(code - 0x100), alert_name((unsigned)(code - 0x100)),
               code - 0x100 >= 42 && code - 0x100 <= 48 ? " on the certificate (the reason phrase says why)" : "");
    else
        ex_say(e, c, 2, C_DIM, "RFC 9000 §20.1", "0x%llx is %s", (unsigned long long)code, lwq_quic_error_name(code));
}

/* HTTP/3 error codes (RFC 9114 §8.1) and QPACK's (RFC 9204 §6). */
static void h3_code(explain *e, ex_conn *c, uint64_t code)
{
    static const char *const h3[] = {"H3_NO_ERROR: a graceful close",
                                     "H3_GENERAL_PROTOCOL_ERROR",
                                     "H3_INTERNAL_ERROR",
                                     "H3_STREAM_CREATION_ERROR",
                                     "H3_CLOSED_CRITICAL_STREAM",
                                     "H3_FRAME_UNEXPECTED",
                                     "H3_FRAME_ERROR",
                                     "H3_EXCESSIVE_LOAD",
                                     "H3_ID_ERROR",
                                     "H3_SETTINGS_ERROR",
                                     "H3_MISSING_SETTINGS",
                                     "H3_REQUEST_REJECTED",
                                     "H3_REQUEST_CANCELLED",
                                     "H3_REQUEST_INCOMPLETE",
                                     "H3_MESSAGE_ERROR",
                                     "H3_CONNECT_ERROR",
                                     "H3_VERSION_FALLBACK"};
    static const char *const qp[] = {"QPACK_DECOMPRESSION_FAILED", "QPACK_ENCODER_STREAM_ERROR",
                                     "QPACK_DECODER_STREAM_ERROR"};
    if (code >= 0x100 && code <= 0x110)
        ex_say(e, c, 2, C_DIM, "RFC 9114 §8.1", "0x%llx is %s", (unsigned long long)code, h3[code - 0x100]);
    else if (code >= 0x200 && code <= 0x202)
        ex_say(e, c, 2, C_DIM, "RFC 9204 §6", "0x%llx is %s", (unsigned long long)code, qp[code - 0x200]);
}

static void frame(explain *e, ex_conn *c, const lwq_trace_event *ev, const lwq_frame *f)
{
    uint64_t t = f->type;
    const char *rfc = t < 0x1f                                                   ? frame_rfc[t]
                      : (t == LWQ_FRAME_DATAGRAM || t == LWQ_FRAME_DATAGRAM_LEN) ? "RFC 9221 §4"
                                                                                 : NULL;
    if (!rfc) {
        ex_say(e, c, 1, C_FRAME, "RFC 9000 §12.4", "frame type 0x%llx: unknown", (unsigned long long)t);
        return;
    }
    if (lwq_frame_is_stream(t)) {
        uint64_t id = f->u.stream.stream_id;
        ex_say(e, c, 1, C_FRAME, rfc,
               "STREAM: %zu bytes of stream %llu at offset %llu%s; stream %llu is %s-initiated and %s", f->u.stream.len,
               (unsigned long long)id, (unsigned long long)f->u.stream.offset,
               f->u.stream.fin ? ", FIN: the last byte" : "", (unsigned long long)id, id & 1 ? "server" : "client",
               id & 2 ? "unidirectional (RFC 9000 §2.1)" : "bidirectional (RFC 9000 §2.1)");
        ex_stream_frame(e, c, ev->sent, id, f->u.stream.offset, f->u.stream.data, f->u.stream.len, f->u.stream.fin);
        return;
    }
    switch (t) {
    case LWQ_FRAME_PADDING:
        ex_say(e, c, 1, C_FRAME, rfc, "PADDING: %zu zero bytes%s", f->u.padding_len,
               ev->epoch == 0 && ev->sent ? "; a client's Initial datagrams are padded to 1200 bytes (RFC 9000 §14.1)"
                                          : "");
        break;
    case LWQ_FRAME_PING:
        ex_say(e, c, 1, C_FRAME, rfc, "PING: asks for an acknowledgment (keeps the path alive or probes)");
        break;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        ack(e, c, ev, f, rfc);
        break;
    case LWQ_FRAME_RESET_STREAM:
        ex_say(e, c, 1, C_FRAME, rfc, "RESET_STREAM: abandons sending on stream %llu, error 0x%llx, final size %llu",
               (unsigned long long)f->u.reset_stream.stream_id, (unsigned long long)f->u.reset_stream.app_error,
               (unsigned long long)f->u.reset_stream.final_size);
        break;
    case LWQ_FRAME_STOP_SENDING:
        ex_say(e, c, 1, C_FRAME, rfc, "STOP_SENDING: asks the peer to stop sending on stream %llu, error 0x%llx",
               (unsigned long long)f->u.stop_sending.stream_id, (unsigned long long)f->u.stop_sending.app_error);
        break;
    case LWQ_FRAME_CRYPTO:
        ex_say(e, c, 1, C_FRAME, rfc, "CRYPTO: %zu bytes of the TLS handshake at offset %llu of the %s level's stream",
               f->u.crypto.len, (unsigned long long)f->u.crypto.offset, epoch_names[ev->epoch & 3]);
        ex_crypto_frame(e, c, ev->sent, ev->epoch & 3, f->u.crypto.offset, f->u.crypto.data, f->u.crypto.len);
        break;
    case LWQ_FRAME_NEW_TOKEN:
        ex_say(e, c, 1, C_FRAME, rfc,
               "NEW_TOKEN: a %zu-byte token the client may present in a later connection's Initial "
               "to skip address validation (RFC 9000 §8.1.3)",
               f->u.new_token.len);
        break;
    case LWQ_FRAME_MAX_DATA:
        ex_say(e, c, 1, C_FRAME, rfc,
               "MAX_DATA: the peer may send up to %llu bytes on all streams together (flow control, RFC 9000 §4.1)",
               (unsigned long long)f->u.max_data);
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
        ex_say(e, c, 1, C_FRAME, rfc, "MAX_STREAM_DATA: stream %llu may carry up to %llu bytes",
               (unsigned long long)f->u.max_stream_data.stream_id, (unsigned long long)f->u.max_stream_data.max);
        break;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
        ex_say(e, c, 1, C_FRAME, rfc, "MAX_STREAMS: the peer may open up to %llu %s streams in total",
               (unsigned long long)f->u.max_streams,
               t == LWQ_FRAME_MAX_STREAMS_BIDI ? "bidirectional" : "unidirectional");
        break;
    case LWQ_FRAME_DATA_BLOCKED:
        ex_say(e, c, 1, C_FRAME, rfc, "DATA_BLOCKED: the sender has data but hit the connection limit %llu",
               (unsigned long long)f->u.max_data);
        break;
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        ex_say(e, c, 1, C_FRAME, rfc, "STREAM_DATA_BLOCKED: stream %llu is blocked at its limit %llu",
               (unsigned long long)f->u.max_stream_data.stream_id, (unsigned long long)f->u.max_stream_data.max);
        break;
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        ex_say(e, c, 1, C_FRAME, rfc, "STREAMS_BLOCKED: the sender wants more than %llu streams",
               (unsigned long long)f->u.max_streams);
        break;
    case LWQ_FRAME_NEW_CONNECTION_ID: {
        char id[2 * LWQ_CID_MAX + 3];
        ex_hex(id, sizeof(id), f->u.new_cid.cid.id, f->u.new_cid.cid.len);
        ex_say(e, c, 1, C_FRAME, rfc,
               "NEW_CONNECTION_ID: sequence %llu, CID %s with its stateless reset token; spare "
               "IDs let the peer change paths without being linkable (RFC 9000 §5.1.1)",
               (unsigned long long)f->u.new_cid.seq, id);
        break;
    }
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        ex_say(e, c, 1, C_FRAME, rfc, "RETIRE_CONNECTION_ID: connection ID sequence %llu will not be used again",
               (unsigned long long)f->u.retire_seq);
        break;
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        ex_say(e, c, 1, C_FRAME, rfc, "%s: 8 random bytes %s (path validation, RFC 9000 §8.2)",
               t == LWQ_FRAME_PATH_CHALLENGE ? "PATH_CHALLENGE" : "PATH_RESPONSE",
               t == LWQ_FRAME_PATH_CHALLENGE ? "the peer must echo" : "echoing a challenge");
        break;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        ex_say(e, c, 1, C_FRAME, rfc,
               "CONNECTION_CLOSE (%s): error 0x%llx, reason \"%.*s\"; the connection ends "
               "(closing and draining, RFC 9000 §10.2)",
               t == LWQ_FRAME_CONNECTION_CLOSE ? "transport" : "application", (unsigned long long)f->u.close.error_code,
               (int)(f->u.close.reason_len > 80 ? 80 : f->u.close.reason_len), (const char *)f->u.close.reason);
        if (t == LWQ_FRAME_CONNECTION_CLOSE)
            close_code(e, c, f->u.close.error_code);
        else if (c->h3)
            h3_code(e, c, f->u.close.error_code);
        break;
    case LWQ_FRAME_HANDSHAKE_DONE:
        ex_say(e, c, 1, C_FRAME, rfc,
               "HANDSHAKE_DONE: the server confirms the handshake; the client may now discard "
               "its Handshake keys (RFC 9001 §4.1.2)");
        break;
    default:
        ex_say(e, c, 1, C_FRAME, rfc, "DATAGRAM: %zu bytes of unreliable application data", f->u.datagram.len);
        break;
    }
}

static void packet(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    header(e, c, ev);
    if (ev->sent)
        c->packets_in_dgram++;
    const uint8_t *p = ev->payload;
    size_t n = ev->payload_len;
    lwq_ack_range ranges[64];
    int eliciting = 0;
    while (n > 0) {
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.ack_ranges = ranges;
        f.ack_ranges_cap = 64;
        ssize_t k = lwq_frame_decode(&f, p, n);
        if (k <= 0) {
            ex_say(e, c, 1, C_FRAME, "RFC 9000 §12.4", "%zu bytes that do not decode as a frame", n);
            break;
        }
        const lwq_frame_info *info = lwq_frame_info_get(f.type);
        if (info && info->ack_eliciting)
            eliciting = 1;
        frame(e, c, ev, &f);
        p += k;
        n -= (size_t)k;
    }
    if (!ev->sent && eliciting)
        c->eliciting_rx[ev->epoch & 3]++;
}

static void lost(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    if (ev->detail && !strcmp(ev->detail, "packet_threshold"))
        ex_say(
            e, c, 0, C_LOSS, "RFC 9002 §6.1.1",
            "loss: %s packet %llu declared lost: a packet at least %llu numbers later was acknowledged "
            "(the packet reordering threshold); its frames' information is sent again in new packets (RFC 9000 §13.3)",
            epoch_names[ev->epoch & 3], (unsigned long long)ev->pn, (unsigned long long)ev->value);
    else
        ex_say(e, c, 0, C_LOSS, "RFC 9002 §6.1.2",
               "loss: %s packet %llu declared lost: a later packet was acknowledged and this one was sent more than "
               "9/8 x max(smoothed_rtt, latest_rtt) ago (the time threshold); its frames' information is sent again "
               "(RFC 9000 §13.3)",
               epoch_names[ev->epoch & 3], (unsigned long long)ev->pn);
}

static void retry(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    lwq_pkt_hdr h;
    if (lwq_pkt_hdr_decode(&h, ev->hdr, ev->hdr_len, 0) < 0) {
        ex_say(e, c, 0, C_PKT, "RFC 9000 §17.2.5", "<- received a Retry packet (header not decoded)");
        return;
    }
    char s[2 * LWQ_CID_MAX + 3];
    ex_hex(s, sizeof(s), h.scid, h.scid_len);
    ex_say(e, c, 0, C_PKT, "RFC 9000 §17.2.5, §8.1.2",
           "<- received a Retry packet, %zu bytes: the server wants proof that the client owns its address before it "
           "does any work; it carries a %zu-byte token and a new server connection ID %s",
           ev->hdr_len, h.token_len, s);
    ex_say(e, c, 1, C_DIM, "RFC 9001 §5.8",
           "its last 16 bytes are the Retry Integrity Tag, an AEAD tag over the packet "
           "and the client's original Destination Connection ID with a key fixed by the version");
    ex_say(e, c, 1, C_DIM, "RFC 9000 §17.2.5.2",
           "the client starts again: its next Initial carries the token, is sent to "
           "the new connection ID, and is protected with Initial keys derived from that ID");
}

static void pto(explain *e, ex_conn *c, const lwq_trace_event *ev)
{
    ex_say(e, c, 0, C_LOSS, "RFC 9002 §6.2, §6.2.4",
           "probe timeout: no acknowledgment arrived within smoothed_rtt + max(4*rttvar, 1ms) + max_ack_delay, "
           "doubled per consecutive timeout (this is number %llu); one or two ack-eliciting probe packets go in the %s "
           "space, carrying unacknowledged data or a PING; nothing is declared lost yet",
           (unsigned long long)ev->value, epoch_names[ev->epoch & 3]);
}

void explain_event(void *ud, const lwq_trace_event *ev)
{
    explain *e = ud;
    pthread_mutex_lock(&lock);
    ex_conn *c = conn_of(e, ev);
    switch (ev->kind) {
    case LWQ_TRACE_PACKET:
        packet(e, c, ev);
        break;
    case LWQ_TRACE_DATAGRAM:
        datagram(e, c, ev);
        break;
    case LWQ_TRACE_KEYS:
        keys(e, c, ev);
        break;
    case LWQ_TRACE_LOST:
        lost(e, c, ev);
        break;
    case LWQ_TRACE_PTO:
        pto(e, c, ev);
        break;
    case LWQ_TRACE_RETRY:
        retry(e, c, ev);
        break;
    }
    fflush(e->out);
    pthread_mutex_unlock(&lock);
}

int cli_explain(lwq_config *cfg, FILE *out, int colour)
{
    static explain ex; /* one per process, like the qlog directory */
    ex.out = out;
    ex.colour = colour;
    cfg->trace = explain_event;
    cfg->trace_ud = &ex;
    return 0;
}
