/* Receive path: a datagram, its coalesced packets, header and packet unprotection, frames checked
 * against the frame table and dispatched. Peer errors close through lwq_conn_error (first wins). */
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/conn_null.h"
#include "quic/protect.h"

static int space_of(lwq_pkt_type t)
{
    return t == LWQ_PKT_INITIAL     ? LWQ_SPACE_INITIAL
           : t == LWQ_PKT_HANDSHAKE ? LWQ_SPACE_HANDSHAKE
           : t == LWQ_PKT_1RTT || t == LWQ_PKT_0RTT ? LWQ_SPACE_APP
                                                     : -1;
}

static int recv_ack(lwq_conn *c, lwq_space s, const lwq_frame *f)
{
    const lwq_frame_ack *a = &f->u.ack;
    for (size_t i = 0; i < a->range_count; i++) {
        c->ack_conv[i].start = a->ranges[i].smallest;
        c->ack_conv[i].end = a->ranges[i].largest + 1;
    }
    uint64_t exp = c->have_peer_tp ? c->peer_tp.ack_delay_exponent : LWQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
    uint64_t us = a->ack_delay > (UINT64_MAX / 1000) >> exp ? UINT64_MAX / 1000 : a->ack_delay << exp;
    lwq_recovery_visitor v;
    lwq_conn_recovery_visitor(c, &v);
    int ce = lwq_conn_ecn_ack_begin(c, s, f); /* RFC 9002 §7.1 */
    int rv = lwq_recovery_on_ack(&c->rec, s, c->ack_conv, a->range_count, us * 1000, ce, &v, c->now);
    if (!rv)
        lwq_conn_ecn_ack_end(c, s, f);
    if (rv == LWQ_ERR_PROTO)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, f->type,
                              f->u.ack.largest < c->rec.spaces[s].next_pn
                                  ? "ACK of a skipped packet number (optimistic ACK, RFC 9000 §21.4)"
                                  : "ACK of a packet never sent");
    if (rv)
        return rv;
    if (s == LWQ_SPACE_APP)
        lwq_conn_keys_on_ack(c, a->largest); /* RFC 9001 §6.1 */
    lwq_conn_qlog_metrics(c);
    if (s == LWQ_SPACE_HANDSHAKE && !c->is_server && !c->rec.peer_validated_address) {
        c->rec.peer_validated_address = 1; /* RFC 9002 §6.2.2.1 */
        lwq_recovery_update_timer(&c->rec, c->now);
    }
    return c->state >= LWQ_CONN_CLOSING ? LWQ_ERR_PROTO : 0;
}

/* RFC 9002 §6.2.3: an Initial repeating CRYPTO data the server already read means the client lacks
 * (some of) the server's flight: resend what is unacknowledged of it now rather than at the PTO, a
 * few times per connection (the client's repeats come from its PTO, so this cannot ping-pong). */
#define CRYPTO_RESENDS_MAX 2

static void resend_flight(lwq_conn *c)
{
    if (c->crypto_resends >= CRYPTO_RESENDS_MAX)
        return;
    c->crypto_resends++;
    for (int s = LWQ_SPACE_INITIAL; s <= LWQ_SPACE_HANDSHAKE; s++)
        if (!c->sp[s].discarded && c->sp[s].has_wk)
            lwq_conn_requeue_crypto(c, (lwq_space)s);
}

static int recv_crypto(lwq_conn *c, lwq_space s, const lwq_frame *f)
{
    lwq_pn_space *sp = &c->sp[s];
    if (c->is_server && s == LWQ_SPACE_INITIAL && f->u.crypto.len &&
        f->u.crypto.offset + f->u.crypto.len <= sp->crx.read_off)
        resend_flight(c);
    int rv = lwq_recvbuf_insert(&sp->crx, f->u.crypto.offset, f->u.crypto.data, f->u.crypto.len, 0);
    if (rv == LWQ_ERR_NOMEM)
        return rv;
    if (rv)
        return lwq_conn_error(c, LWQ_QUIC_ERR_CRYPTO_BUFFER_EXCEEDED, f->type, "CRYPTO data beyond the buffer");
    if (!lwq_recvbuf_readable(&sp->crx))
        return 0;
    return lwq_conn_crypto_progress(c, s);
}

static int recv_close(lwq_conn *c, const lwq_frame *f)
{
    lwq_close_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.by_peer = 1;
    ci.is_app = f->type == LWQ_FRAME_CONNECTION_CLOSE_APP;
    ci.code = f->u.close.error_code;
    ci.frame_type = ci.is_app ? 0 : f->u.close.frame_type;
    size_t n = f->u.close.reason_len < sizeof(ci.reason) - 1 ? f->u.close.reason_len : sizeof(ci.reason) - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = f->u.close.reason[i];
        ci.reason[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    lwq_conn_enter_draining(c, &ci); /* RFC 9000 §10.2.2 */
    return LWQ_ERR_CLOSED;
}

static int dispatch(lwq_conn *c, lwq_space s, const lwq_frame *f, const lwq_pkt_hdr *h)
{
    uint64_t t = f->type;
    if (lwq_frame_is_stream(t))
        return lwq_streams_on_frame(c, f);
    switch (t) {
    case LWQ_FRAME_PADDING:
    case LWQ_FRAME_PING:
        return 0;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        return recv_ack(c, s, f);
    case LWQ_FRAME_CRYPTO:
        return recv_crypto(c, s, f);
    case LWQ_FRAME_NEW_TOKEN:
        return lwq_conn_token_received(c, f->u.new_token.data, f->u.new_token.len); /* RFC 9000 §19.7 */
    case LWQ_FRAME_RESET_STREAM:
    case LWQ_FRAME_STOP_SENDING:
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
    case LWQ_FRAME_DATA_BLOCKED:
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        return lwq_streams_on_frame(c, f);
    case LWQ_FRAME_NEW_CONNECTION_ID:
        return lwq_cids_on_new(c, &f->u.new_cid);
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        return lwq_cids_on_retire(c, f->u.retire_seq, h->dcid, h->dcid_len);
    case LWQ_FRAME_PATH_CHALLENGE:
        return lwq_conn_path_on_challenge(c, f->u.path_data);
    case LWQ_FRAME_PATH_RESPONSE:
        return lwq_conn_path_on_response(c, f->u.path_data);
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        return recv_close(c, f);
    case LWQ_FRAME_HANDSHAKE_DONE:
        lwq_conn_confirm_handshake(c); /* RFC 9001 §4.1.2 */
        return 0;
    case LWQ_FRAME_DATAGRAM:
    case LWQ_FRAME_DATAGRAM_LEN:
        return lwq_conn_datagram_received(c, f);
    default:
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, t, "unexpected frame");
    }
}

/* Frames of one decrypted packet. *eliciting: it needs an acknowledgement. */
static int recv_frames(lwq_conn *c, const lwq_pkt_hdr *h, lwq_space s, const uint8_t *p, size_t n, int *eliciting)
{
    if (!n)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, 0, "packet without frames (RFC 9000 §12.4)");
    while (n) {
        lwq_frame f;
        f.type = 0;
        f.wire_error = 0;
        f.ack_ranges = c->ack_ranges;
        f.ack_ranges_cap = c->cfg->max_ack_ranges;
        ssize_t k = lwq_frame_decode(&f, p, n);
        if (k < 0)
            return lwq_conn_error(c, f.wire_error ? f.wire_error : LWQ_QUIC_ERR_FRAME_ENCODING_ERROR, f.type,
                                  "malformed frame");
        if (lwq_frame_allowed(f.type, h->type))
            return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, f.type, "frame not allowed in this packet type");
        const lwq_frame_info *info = lwq_frame_info_get(f.type);
        if (info && info->server_only && c->is_server)
            return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, f.type, "frame only a server may send");
        if (info && info->ack_eliciting)
            *eliciting = 1;
        if (!info || !info->probing)
            c->paths.rx_nonprobing = 1; /* RFC 9000 §9.1 */
        if (c->state >= LWQ_CONN_CLOSING) {
            /* RFC 9000 §10.2.1: while closing, only a peer's CONNECTION_CLOSE matters. */
            if (f.type == LWQ_FRAME_CONNECTION_CLOSE || f.type == LWQ_FRAME_CONNECTION_CLOSE_APP)
                return recv_close(c, &f);
        } else {
            int rv = dispatch(c, s, &f, h);
            if (rv)
                return rv;
            if (c->sp[s].discarded)
                return 0; /* the handshake finished in this packet: its space is gone (RFC 9001 §4.9) */
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void record_pn(lwq_conn *c, lwq_space s, uint64_t pn, int eliciting)
{
    lwq_pn_space *sp = &c->sp[s];
    int rv;
    while ((rv = lwq_ranges_add(&sp->recvd, pn, pn + 1)) == LWQ_ERR_LIMIT && sp->recvd.count > 1)
        lwq_ranges_remove(&sp->recvd, sp->recvd.r[0].start, sp->recvd.r[0].end); /* forget the oldest */
    int in_order = sp->largest_rx == LWQ_PN_NONE || pn == sp->largest_rx + 1;
    if (sp->largest_rx == LWQ_PN_NONE || pn > sp->largest_rx) {
        sp->largest_rx = pn;
        sp->largest_rx_time = c->now;
    }
    if (!eliciting)
        return;
    sp->ack_pending = 1;
    sp->unacked_eliciting++;
    /* RFC 9000 §13.2.1: Initial and Handshake at once; 1-RTT every second packet, on reordering,
     * or after max_ack_delay. */
    if (s != LWQ_SPACE_APP || !in_order || sp->unacked_eliciting >= LWQ_ACK_ELICITING_THRESHOLD)
        sp->ack_now = 1;
    else if (!sp->ack_deadline)
        sp->ack_deadline = c->now + c->cfg->max_ack_delay;
}

static void check_reset(lwq_conn *c, const uint8_t *d, size_t len)
{
    if (c->state >= LWQ_CONN_DRAINING || !lwq_cids_reset_match(c, d, len))
        return;
    lwq_close_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.by_peer = 1;
    ci.stateless_reset = 1;
    strcpy(ci.reason, "stateless reset");
    lwq_conn_enter_draining(c, &ci); /* RFC 9000 §10.3.1 */
}

static int dcid_ok(const lwq_conn *c, const lwq_pkt_hdr *h)
{
    if (lwq_cids_is_local(c, h->dcid, h->dcid_len))
        return 1;
    return c->is_server && (h->type == LWQ_PKT_INITIAL || h->type == LWQ_PKT_0RTT) &&
           lwq_cid_eq(&c->odcid, h->dcid, h->dcid_len);
}

/* RFC 9000 §6.2: a client that has received nothing else abandons the attempt when the server
 * offers none of its versions; a list with the version it chose is discarded. Compatible version
 * negotiation (RFC 9368) would start here. */
static void recv_vn(lwq_conn *c, const lwq_pkt_hdr *h)
{
    if (c->is_server || c->stats.packets_received || !lwq_cids_is_local(c, h->dcid, h->dcid_len) ||
        !lwq_cid_eq(&c->odcid, h->scid, h->scid_len))
        return;
    for (size_t i = 0; i < h->n_versions; i++)
        if (lwq_vn_version(h, i) == c->version)
            return;
    lwq_close_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.by_peer = 1;
    ci.code = LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR;
    strcpy(ci.reason, "version negotiation: no common version");
    lwq_conn_terminate(c, &ci);
}

/* RFC 9000 §17.2.5.2: a client takes one Retry, before any other packet from the server, sent to
 * its SCID by a server that chose a new CID; RFC 9001 §5.8: its tag binds it to our first DCID. */
static int recv_retry(lwq_conn *c, const lwq_pkt_hdr *h, const uint8_t *pkt)
{
    lwq_cid scid;
    if (c->is_server || c->retried || c->stats.packets_received || h->version != c->version ||
        !lwq_cids_is_local(c, h->dcid, h->dcid_len) || lwq_cid_eq(&c->odcid, h->scid, h->scid_len) ||
        lwq_cid_set(&scid, h->scid, h->scid_len) || lwq_retry_verify(h, pkt, c->odcid.id, c->odcid.len)) {
        c->stats.packets_dropped++;
        return 0;
    }
    lwq_conn_trace_retry(c, pkt, h->pkt_len);
    return lwq_conn_retry(c, &scid, h->token, h->token_len);
}

static int recv_packet(lwq_conn *c, const lwq_pkt_hdr *h, uint8_t *pkt, const uint8_t *dgram, size_t dlen)
{
    int s = space_of(h->type);
    if (h->type == LWQ_PKT_VN) {
        recv_vn(c, h);
        return 0;
    }
    if (h->type == LWQ_PKT_RETRY)
        return recv_retry(c, h, pkt);
    if (s < 0 || (h->type != LWQ_PKT_1RTT && !lwq_conn_version_accepts(c, h)))
        return 0;
    if (!dcid_ok(c, h)) {
        if (h->type == LWQ_PKT_1RTT)
            check_reset(c, dgram, dlen);
        return 0;
    }
    lwq_pn_space *sp = &c->sp[s];
    /* RFC 9001 §5.6: 0-RTT packets under their own keys (a server with 0-RTT accepted; they
     * may arrive before the handshake completes), in the application packet number space. */
    int early = h->type == LWQ_PKT_0RTT;
    const lwq_quic_keys *rk = early ? lwq_conn_early_rx_keys(c) : sp->has_rk ? &sp->rk : NULL;
    /* RFC 9001 §5.7: a server reads no 1-RTT packet before the handshake completes. */
    if (sp->discarded || !rk || (s == LWQ_SPACE_APP && !early && c->is_server && !c->handshake_complete)) {
        c->stats.packets_dropped++;
        return 0; /* no keys (yet): the peer retransmits */
    }
    lwq_unprotected u;
    /* Keys by version (RFC 9369 §4.1) and key phase (RFC 9001 §6) */
    int rv = early ? lwq_packet_unprotect(lwq_conn_pkeys(c, rk), pkt, h->pkt_len, h->pn_offset, sp->largest_rx, &u)
                   : lwq_conn_unprotect(c, (lwq_space)s, h, pkt, &u);
    if (rv == LWQ_ERR_PROTO)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, 0, "reserved header bits set");
    if (rv) {
        c->stats.packets_dropped++;
        if (h->type == LWQ_PKT_1RTT)
            check_reset(c, dgram, dlen);
        return 0;
    }
    if (lwq_ranges_contains(&sp->recvd, u.pn, u.pn + 1)) {
        c->stats.packets_dropped++;
        return 0; /* duplicate (RFC 9000 §12.3) */
    }
    c->stats.packets_received++;
    lwq_conn_ecn_on_packet(c, (lwq_space)s);
    int largest = sp->largest_rx == LWQ_PN_NONE || u.pn > sp->largest_rx;
    c->paths.rx_nonprobing = 0;
    if (early)
        c->early.packets++;
    else if (h->type == LWQ_PKT_1RTT)
        lwq_conn_early_got_1rtt(c);
    lwq_conn_qlog_packet(c, 0, h->type, u.pn, pkt + u.payload_off, u.payload_len, h->pkt_len);
    lwq_conn_trace_packet(c, 0, h->type, u.pn, pkt, u.payload_off, pkt + u.payload_off, u.payload_len, h->pkt_len);
    if (!c->is_server && h->type == LWQ_PKT_INITIAL && !c->got_peer_scid) {
        lwq_cid_set(&c->peer_scid, h->scid, h->scid_len);
        c->got_peer_scid = 1;
        lwq_cids_set_peer0(c, &c->peer_scid); /* RFC 9000 §7.2 */
    }
    if (c->is_server && h->type == LWQ_PKT_HANDSHAKE && !c->address_validated) {
        c->address_validated = 1;                     /* RFC 9000 §8.1 */
        lwq_conn_discard_space(c, LWQ_SPACE_INITIAL); /* RFC 9001 §4.9.1 */
    }
    c->last_rx = c->idle_start = c->now;
    c->sent_eliciting_since_rx = 0;
    if (c->state == LWQ_CONN_CLOSING && c->now >= c->close_last_sent + c->rec.rtt.smoothed / 2)
        c->close_pending = 1; /* answer a peer still sending, at a bounded rate (RFC 9000 §10.2.1) */
    int eliciting = 0;
    rv = recv_frames(c, h, (lwq_space)s, pkt + u.payload_off, u.payload_len, &eliciting);
    if (rv == LWQ_ERR_NOMEM)
        return rv;
    if (rv == LWQ_ERR_AGAIN) {
        /* A frame could not be kept (a stream's out-of-order range limit): not acknowledging the packet
         * makes the peer resend its frames, which are all safe to process twice (RFC 9000 §13.2.1). */
        c->stats.packets_dropped++;
        return 0;
    }
    if (c->state < LWQ_CONN_CLOSING && !sp->discarded)
        record_pn(c, (lwq_space)s, u.pn, eliciting);
    if (c->state < LWQ_CONN_CLOSING && h->type == LWQ_PKT_1RTT)
        lwq_conn_path_on_packet(c, h, largest); /* RFC 9000 §9.3 */
    return 0;
}

int lwq_conn_recv_datagram(lwq_conn *c, uint8_t *d, size_t len, lwq_tstamp now)
{
    (void)now;
    c->stats.bytes_received += len;
    c->bytes_rx += len;
    if (c->state >= LWQ_CONN_DRAINING)
        return 0; /* RFC 9000 §10.2.2 */
    size_t off = 0;
    while (off < len && c->state < LWQ_CONN_DRAINING) {
        lwq_pkt_hdr h;
        ssize_t n = lwq_pkt_hdr_decode(&h, d + off, len - off, lwq_cid_len(c->ctx));
        if (n <= 0) {
            c->stats.packets_dropped++;
            break; /* RFC 9000 §12.2: the rest of the datagram is not parseable */
        }
        int rv = recv_packet(c, &h, d + off, d, len);
        if (rv == LWQ_ERR_NOMEM) {
            lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "out of memory");
            return rv;
        }
        off += (size_t)n;
    }
    return 0;
}
