/* Send path: packets per space (ACK, CRYPTO, HANDSHAKE_DONE, control frames, STREAM frames by
 * priority, PADDING), coalesced into datagrams, Initial datagrams padded to 1200 bytes, the 3x
 * anti-amplification limit, the congestion window, and each packet's frames in the sent map. */
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/conn_null.h"
#include "quic/protect.h"
#include "quic/varint.h"

#define MAX_PKTS_PER_DGRAM 3
#define MIN_PKT_ROOM 64 /* a long header, a few frame bytes and the tag */

int lwq_pktb_add(lwq_pktb *b, const lwq_frame *f, const lwq_sent_frame *rec)
{
    ssize_t n = lwq_frame_encode(b->p + b->len, b->cap - b->len, f);
    if (n < 0)
        return (int)n;
    if (rec && b->m) {
        int rv = lwq_sentmap_add_frame(b->m, rec);
        if (rv)
            return rv;
    }
    const lwq_frame_info *info = lwq_frame_info_get(f->type);
    if (info && info->ack_eliciting)
        b->ack_eliciting = 1;
    if (info && info->in_flight)
        b->in_flight = 1;
    b->len += (size_t)n;
    b->nframes++;
    return 0;
}

void lwq_conn_tracking_failed(lwq_conn *c, int err)
{
    if (err == LWQ_ERR_LIMIT)
        lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, LWQ_FRAME_ACK, "acknowledgements fragmented past the limit");
    else if (err)
        lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, LWQ_FRAME_ACK, lwq_strerror(err));
}

int lwq_conn_cwnd_open(const lwq_conn *c)
{
    return c->rec.cc.bytes_in_flight < c->rec.cc.cwnd && lwq_recovery_pacer_ready(&c->rec, c->now);
}

static void on_acked(void *ud, lwq_space s, lwq_sentmap *m, lwq_sent_pkt *p)
{
    lwq_conn *c = ud;
    lwq_conn_ecn_on_acked(c, s, p->pn);
    for (size_t i = 0; i < p->nframes; i++) {
        const lwq_sent_frame *f = lwq_sentmap_frame(m, p, i);
        switch (f->kind) {
        case LWQ_FRAME_CRYPTO:
            if (!c->sp[s].discarded)
                lwq_conn_tracking_failed(c, lwq_sendbuf_on_acked(&c->sp[s].ctx, f->off, f->len, 0));
            break;
        case LWQ_FRAME_ACK:
            if (f->id + 1 > c->sp[s].ack_floor)
                c->sp[s].ack_floor = f->id + 1;
            break;
        case LWQ_FRAME_NEW_CONNECTION_ID:
        case LWQ_FRAME_RETIRE_CONNECTION_ID:
        case LWQ_FRAME_HANDSHAKE_DONE:
        case LWQ_FRAME_NEW_TOKEN:
            break;
        default:
            lwq_streams_on_acked(c, f);
        }
    }
}

void lwq_conn_frame_requeue(lwq_conn *c, lwq_space s, const lwq_sent_frame *f)
{
    switch (f->kind) {
    case LWQ_FRAME_CRYPTO:
        if (!c->sp[s].discarded)
            lwq_conn_tracking_failed(c, lwq_sendbuf_on_lost(&c->sp[s].ctx, f->off, f->len, 0));
        break;
    case LWQ_FRAME_ACK:
        break;
    case LWQ_FRAME_HANDSHAKE_DONE:
        c->handshake_done_pending = 1;
        break;
    case LWQ_FRAME_NEW_TOKEN:
        lwq_conn_token_lost(c);
        break;
    case LWQ_FRAME_NEW_CONNECTION_ID:
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        lwq_cids_on_lost(c, f);
        break;
    default:
        lwq_streams_on_lost(c, f);
    }
}

static void on_lost(void *ud, lwq_space s, lwq_sentmap *m, lwq_sent_pkt *p)
{
    lwq_conn *c = ud;
    lwq_conn_qlog_lost(c, s, p->pn);
    lwq_conn_trace_lost(c, s, p->pn);
    lwq_conn_ecn_on_lost(c, s, p->pn);
    for (size_t i = 0; i < p->nframes; i++)
        lwq_conn_frame_requeue(c, s, lwq_sentmap_frame(m, p, i));
}

void lwq_conn_recovery_visitor(lwq_conn *c, lwq_recovery_visitor *v)
{
    v->acked = on_acked;
    v->lost = on_lost;
    v->ud = c;
}

void lwq_conn_requeue_crypto(lwq_conn *c, lwq_space s)
{
    lwq_sentmap *m = &c->rec.spaces[s];
    for (size_t i = 0; i < m->count; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if (p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST))
            continue;
        for (size_t j = 0; j < p->nframes; j++) {
            const lwq_sent_frame *f = lwq_sentmap_frame(m, p, j);
            if (f->kind == LWQ_FRAME_CRYPTO)
                (void)lwq_sendbuf_on_lost(&c->sp[s].ctx, f->off, f->len, 0);
        }
    }
}

static int write_ack(lwq_conn *c, lwq_space s, lwq_pktb *b)
{
    lwq_pn_space *sp = &c->sp[s];
    lwq_ack_range ar[LWQ_ACK_FRAME_RANGES];
    size_t n = 0;
    for (size_t i = sp->recvd.count; i-- > 0 && n < LWQ_ACK_FRAME_RANGES;) {
        const lwq_range *r = &sp->recvd.r[i];
        if (r->end <= sp->ack_floor && n)
            break;
        ar[n].smallest = r->start;
        ar[n].largest = r->end - 1;
        n++;
    }
    if (!n)
        return 0;
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_ACK;
    lwq_conn_ecn_ack_frame(c, s, &f); /* RFC 9000 §13.4.1 */
    f.u.ack.largest = ar[0].largest;
    f.u.ack.ranges = ar;
    if (s == LWQ_SPACE_APP && c->now > sp->largest_rx_time)
        f.u.ack.ack_delay = ((c->now - sp->largest_rx_time) / 1000) >> c->cfg->ack_delay_exponent;
    lwq_sent_frame rec = {.kind = LWQ_FRAME_ACK, .id = ar[0].largest};
    int rv;
    /* Fewer ranges when the packet is short of room. */
    while ((f.u.ack.range_count = n) > 0 && (rv = lwq_pktb_add(b, &f, &rec)) == LWQ_ERR_NOBUF)
        n--;
    if (!n)
        return 0;
    if (rv)
        return rv;
    if (s == LWQ_SPACE_APP)
        lwq_conn_keys_ack_written(c, ar[0].largest); /* RFC 9001 §6.2 */
    sp->ack_pending = sp->ack_now = 0;
    sp->unacked_eliciting = 0;
    sp->ack_deadline = 0;
    return 0;
}

static int write_crypto(lwq_conn *c, lwq_space s, lwq_pktb *b)
{
    lwq_sendbuf *sb = &c->sp[s].ctx;
    for (;;) {
        uint64_t off;
        size_t len;
        int fin;
        size_t room = lwq_pktb_room(b);
        size_t over = 1 + 8 + 2;
        if (room <= over + 1)
            return 0;
        if (!lwq_sendbuf_next(sb, UINT64_MAX, room - over, &off, &len, &fin) || !len)
            return 0;
        lwq_frame f;
        f.type = LWQ_FRAME_CRYPTO;
        f.u.crypto.offset = off;
        f.u.crypto.len = len;
        uint8_t tmp[LWQ_CONN_MDS];
        if (len > sizeof(tmp))
            return 0;
        lwq_sendbuf_copy(sb, off, tmp, len);
        f.u.crypto.data = tmp;
        lwq_sent_frame rec = {.kind = LWQ_FRAME_CRYPTO, .off = off, .len = (uint32_t)len};
        int rv = lwq_pktb_add(b, &f, &rec);
        if (rv == LWQ_ERR_NOBUF)
            return 0;
        if (rv)
            return rv;
        lwq_sendbuf_on_sent(sb, off, len, 0);
    }
}

static int fill_packet(lwq_conn *c, lwq_space s, lwq_pktb *b)
{
    lwq_pn_space *sp = &c->sp[s];
    int cwnd = lwq_conn_cwnd_open(c) || sp->probes;
    int ack_due =
        sp->ack_pending && (s != LWQ_SPACE_APP || sp->ack_now || (sp->ack_deadline && c->now >= sp->ack_deadline));
    int rv = 0;
    if (ack_due && (rv = write_ack(c, s, b)))
        return rv;
    if (s == LWQ_SPACE_APP && (rv = lwq_conn_path_write(c, b)))
        return rv;
    if (s == LWQ_SPACE_APP && c->handshake_done_pending) {
        lwq_frame f = {.type = LWQ_FRAME_HANDSHAKE_DONE};
        lwq_sent_frame rec = {.kind = LWQ_FRAME_HANDSHAKE_DONE};
        if (lwq_pktb_add(b, &f, &rec) == 0)
            c->handshake_done_pending = 0;
    }
    if (cwnd && (rv = write_crypto(c, s, b)))
        return rv;
    if (s == LWQ_SPACE_APP && c->handshake_complete) {
        if ((rv = lwq_cids_write(c, b)))
            return rv;
        if ((rv = lwq_conn_token_write(c, b)))
            return rv;
        if (cwnd && (rv = lwq_conn_write_datagrams(c, b))) /* RFC 9221 §5.4: congestion controlled */
            return rv;
        if ((rv = lwq_streams_write(c, b, cwnd)))
            return rv;
    }
    if (lwq_conn_early_sending(c, s) && (rv = lwq_streams_write(c, b, cwnd))) /* RFC 9001 §4.6.1 */
        return rv;
    /* RFC 9000 §13.2.4: a run of ACK-only packets is never acknowledged, so its records only go
     * when the map fills; now and then one PING makes the peer acknowledge them. */
    int quiet_ping = s == LWQ_SPACE_APP && cwnd && b->nframes && c->quiet_run >= LWQ_QUIET_PING_RUN &&
                     c->now >= b->m->last_ack_eliciting + 4 * c->rec.rtt.smoothed;
    if ((sp->probes || quiet_ping) && !b->ack_eliciting) {
        lwq_frame f = {.type = LWQ_FRAME_PING};
        (void)lwq_pktb_add(b, &f, NULL);
    }
    /* The second probe of a handshake space repeats the flight when it fit in the first (the
     * ClientHello, the Finished, a one-datagram server flight), not a PING: either datagram arriving
     * is then enough, and a server's 3x budget is not spent on padding. */
    if (sp->probes && b->ack_eliciting && --sp->probes && s != LWQ_SPACE_APP && !lwq_conn_crypto_waiting(c, s))
        lwq_conn_requeue_crypto(c, s);
    if (sp->ack_pending && b->nframes && !ack_due && (rv = write_ack(c, s, b)))
        return rv;
    return 0;
}

typedef struct pkt_plan {
    size_t start, hdr_len, payload_len;
    lwq_pkt_hdr_out ho;
    lwq_space s;
    int eliciting, in_flight, tracked;
} pkt_plan;

static lwq_pkt_type type_of(lwq_space s)
{
    return s == LWQ_SPACE_INITIAL ? LWQ_PKT_INITIAL : s == LWQ_SPACE_HANDSHAKE ? LWQ_PKT_HANDSHAKE : LWQ_PKT_1RTT;
}

static size_t plan_header(lwq_conn *c, lwq_space s, pkt_plan *pl, size_t room)
{
    lwq_sentmap *m = &c->rec.spaces[s];
    lwq_pkt_hdr_out *ho = &pl->ho;
    const lwq_cid *dcid = lwq_cids_dcid(c);
    memset(ho, 0, sizeof(*ho));
    ho->type = lwq_conn_early_sending(c, s) ? LWQ_PKT_0RTT : type_of(s);
    /* RFC 9369 §4.1: 0-RTT stays in the original version after a compatible upgrade */
    ho->version = ho->type == LWQ_PKT_0RTT && c->vn.started ? c->vn.original : c->version;
    ho->dcid = dcid->id;
    ho->dcid_len = dcid->len;
    ho->scid = c->cids.local[0].cid.id;
    ho->scid_len = c->cids.local[0].cid.len;
    if (s == LWQ_SPACE_INITIAL && !c->is_server) {
        ho->token = c->token; /* RFC 9000 §17.2.5.2 */
        ho->token_len = c->token_len;
    }
    ho->pn = m->next_pn;
    ho->pn_len = lwq_pn_encode_len(m->next_pn, m->largest_acked == UINT64_MAX ? LWQ_PN_NONE : m->largest_acked);
    ho->payload_len = room;
    ho->tag_len = LWQ_AEAD_TAG_LEN; /* the spin bit stays 0 for now */
    ho->key_phase = c->ku.wphase;   /* RFC 9001 §6 */
    pl->s = s;
    return lwq_pkt_hdr_encoded_len(ho);
}

/* Writes headers, padding and protection of the planned packets; records them. */
static ssize_t seal(lwq_conn *c, uint8_t *out, pkt_plan *pl, size_t np, size_t len, size_t pad_to)
{
    if (!np)
        return 0;
    if (len < pad_to) {
        pkt_plan *last = &pl[np - 1];
        size_t extra = pad_to - len;
        memset(out + last->start + last->hdr_len + last->payload_len, 0, extra); /* PADDING */
        last->payload_len += extra;
        last->in_flight = 1;
        len = pad_to;
    }
    for (size_t i = 0; i < np; i++) {
        pkt_plan *p = &pl[i];
        lwq_pn_space *sp = &c->sp[p->s];
        p->ho.payload_len = p->payload_len;
        ssize_t h = lwq_pkt_hdr_encode(out + p->start, p->hdr_len, &p->ho);
        if (h >= 0) {
            lwq_conn_qlog_packet(c, 1, p->ho.type, p->ho.pn, out + p->start + p->hdr_len, p->payload_len,
                                 p->hdr_len + p->payload_len + LWQ_AEAD_TAG_LEN);
            lwq_conn_trace_packet(c, 1, p->ho.type, p->ho.pn, out + p->start, p->hdr_len, out + p->start + p->hdr_len,
                                  p->payload_len, p->hdr_len + p->payload_len + LWQ_AEAD_TAG_LEN);
        }
        ssize_t n = h < 0 ? h
                          : lwq_packet_protect(lwq_conn_pkeys(c, p->ho.type == LWQ_PKT_0RTT ? &c->early.keys : &sp->wk),
                                               p->ho.pn, out + p->start, p->hdr_len, p->payload_len,
                                               p->hdr_len + p->payload_len + LWQ_AEAD_TAG_LEN);
        if (n < 0) {
            if (p->tracked)
                lwq_sentmap_abort(&c->rec.spaces[p->s]);
            return n;
        }
        int flags = (p->eliciting ? LWQ_SENT_ACK_ELICITING : 0) | (p->in_flight ? LWQ_SENT_IN_FLIGHT : 0);
        if (p->tracked)
            lwq_recovery_on_sent(&c->rec, p->s, (size_t)n, flags, c->now);
        else
            c->rec.spaces[p->s].next_pn++;
        c->stats.packets_sent++;
        if (p->ho.type == LWQ_PKT_1RTT) {
            lwq_conn_keys_sealed(c); /* RFC 9001 §6.6 */
            c->quiet_run = p->eliciting ? 0 : c->quiet_run + 1;
        }
        if (p->ho.type == LWQ_PKT_0RTT)
            c->early.packets++;
        if (p->eliciting && !c->sent_eliciting_since_rx) {
            c->idle_start = c->now; /* RFC 9000 §10.1 */
            c->sent_eliciting_since_rx = 1;
        }
        if (p->s == LWQ_SPACE_HANDSHAKE)
            c->sent_handshake_pkt = 1;
    }
    c->bytes_tx += len;
    c->stats.bytes_sent += len;
    if (!c->is_server && c->sent_handshake_pkt)
        lwq_conn_discard_space(c, LWQ_SPACE_INITIAL); /* RFC 9001 §4.9.1 */
    return (ssize_t)len;
}

static size_t send_limit(const lwq_conn *c, size_t cap)
{
    size_t limit = cap < LWQ_CONN_MDS ? cap : LWQ_CONN_MDS;
    if (c->is_server && !c->address_validated) {
        uint64_t budget = LWQ_AMPLIFICATION_FACTOR * c->bytes_rx; /* RFC 9000 §8.1 */
        budget = budget > c->bytes_tx ? budget - c->bytes_tx : 0;
        if (budget < limit)
            limit = (size_t)budget;
    }
    return lwq_conn_path_limit(c, limit);
}

static ssize_t build_close(lwq_conn *c, uint8_t *out, size_t cap)
{
    size_t limit = send_limit(c, cap), len = 0, np = 0, pad_to = 0;
    pkt_plan pl[MAX_PKTS_PER_DGRAM];
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_pn_space *sp = &c->sp[s];
        if (sp->discarded || !sp->has_wk || limit - len < MIN_PKT_ROOM)
            continue;
        pkt_plan *p = &pl[np];
        p->hdr_len = plan_header(c, (lwq_space)s, p, limit - len);
        lwq_pktb b = {.p = out + len + p->hdr_len, .cap = limit - len - p->hdr_len - LWQ_AEAD_TAG_LEN, .space = s};
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        if (c->close_in_app && s != LWQ_SPACE_APP) {
            f.type = LWQ_FRAME_CONNECTION_CLOSE; /* RFC 9000 §10.2.3: no application details here */
            f.u.close.error_code = LWQ_QUIC_ERR_APPLICATION_ERROR;
        } else {
            f.type = c->close.is_app ? LWQ_FRAME_CONNECTION_CLOSE_APP : LWQ_FRAME_CONNECTION_CLOSE;
            f.u.close.error_code = c->close.code;
            f.u.close.frame_type = c->close.frame_type;
            f.u.close.reason = (const uint8_t *)c->close.reason;
            f.u.close.reason_len = strlen(c->close.reason);
        }
        if (lwq_pktb_add(&b, &f, NULL))
            continue;
        while (b.len + p->ho.pn_len < 4)
            b.p[b.len++] = 0;
        p->start = len;
        p->payload_len = b.len;
        p->eliciting = p->in_flight = p->tracked = 0;
        len += p->hdr_len + b.len + LWQ_AEAD_TAG_LEN;
        if (s == LWQ_SPACE_INITIAL)
            pad_to = limit < LWQ_MIN_INITIAL_DGRAM ? limit : LWQ_MIN_INITIAL_DGRAM;
        np++;
    }
    c->close_pending = 0;
    c->close_last_sent = c->now;
    return seal(c, out, pl, np, len, pad_to);
}

/* RFC 9000 §21.4: a packet number left out now and then, at a random distance, so a peer that
 * acknowledges packets it never received (to inflate our congestion window) is caught. */
static void skip_pn(lwq_conn *c, lwq_sentmap *m)
{
    if (c->skip_pn) /* 0: the first distance is not drawn yet */
        lwq_sentmap_skip(m);
    uint8_t r[2];
    c->rng->fill(c->rng->ud, r, sizeof(r));
    c->skip_pn = m->next_pn + LWQ_SKIP_PN_MIN + ((r[0] | (unsigned)r[1] << 8) % LWQ_SKIP_PN_MIN);
}

ssize_t lwq_conn_build_datagram(lwq_conn *c, uint8_t *out, size_t cap, lwq_tstamp now)
{
    (void)now;
    lwq_conn_keys_before_send(c); /* RFC 9001 §6.6 and key_update_interval */
    if (c->state >= LWQ_CONN_DRAINING)
        return 0;
    if (c->state == LWQ_CONN_CLOSING)
        return c->close_pending ? build_close(c, out, cap) : 0;
    size_t limit = send_limit(c, cap), len = 0, np = 0, pad_to = 0;
    pkt_plan pl[MAX_PKTS_PER_DGRAM];
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_pn_space *sp = &c->sp[s];
        if (sp->discarded || !(sp->has_wk || lwq_conn_early_sending(c, s)) || limit - len < MIN_PKT_ROOM)
            continue;
        pkt_plan *p = &pl[np];
        lwq_sentmap *m = &c->rec.spaces[s];
        if (s == LWQ_SPACE_APP && c->handshake_confirmed && m->next_pn >= c->skip_pn)
            skip_pn(c, m);
        p->hdr_len = plan_header(c, (lwq_space)s, p, limit - len);
        if (lwq_sentmap_begin(m, c->now))
            continue; /* too many packets in flight in this space */
        lwq_pktb b = {
            .p = out + len + p->hdr_len, .cap = limit - len - p->hdr_len - LWQ_AEAD_TAG_LEN, .space = s, .m = m};
        int rv = fill_packet(c, (lwq_space)s, &b);
        if (rv || !b.nframes) {
            lwq_sentmap_abort(m);
            if (rv == LWQ_ERR_NOMEM) {
                lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "out of memory");
                break;
            }
            if (c->state >= LWQ_CONN_CLOSING)
                break;
            continue;
        }
        while (b.len + p->ho.pn_len < 4)
            b.p[b.len++] = 0; /* RFC 9001 §5.4.2: enough bytes for the sample */
        p->start = len;
        p->payload_len = b.len;
        p->eliciting = b.ack_eliciting;
        p->in_flight = b.in_flight || b.ack_eliciting;
        p->tracked = 1;
        len += p->hdr_len + b.len + LWQ_AEAD_TAG_LEN;
        /* RFC 9000 §14.1: datagrams with Initial packets are at least 1200 bytes (a server pads
         * ack-eliciting ones; it may not go beyond its amplification limit). */
        if ((s == LWQ_SPACE_INITIAL && (!c->is_server || b.ack_eliciting)) || b.pad)
            pad_to = limit < LWQ_MIN_INITIAL_DGRAM ? limit : LWQ_MIN_INITIAL_DGRAM;
        np++;
    }
    if (c->state >= LWQ_CONN_CLOSING) {
        for (size_t i = 0; i < np; i++)
            lwq_sentmap_abort(&c->rec.spaces[pl[i].s]);
        return c->close_pending ? build_close(c, out, cap) : 0;
    }
    int in_flight = 0;
    for (size_t i = 0; i < np; i++)
        in_flight |= pl[i].in_flight;
    if (!in_flight)
        lwq_recovery_send_stopped(&c->rec, c->now); /* cwnd-, pacing- or application-limited */
    return seal(c, out, pl, np, len, pad_to);
}

ssize_t lwq_conn_build_probe(lwq_conn *c, uint8_t *out, size_t cap, const lwq_cid *dcid, const lwq_frame *f, size_t nf,
                             size_t pad_to)
{
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_APP];
    lwq_sentmap *m = &c->rec.spaces[LWQ_SPACE_APP];
    if (cap > LWQ_CONN_MDS)
        cap = LWQ_CONN_MDS;
    if (c->state != LWQ_CONN_ESTABLISHED || sp->discarded || !sp->has_wk || cap < MIN_PKT_ROOM ||
        lwq_sentmap_begin(m, c->now))
        return 0;
    pkt_plan pl;
    pl.hdr_len = plan_header(c, LWQ_SPACE_APP, &pl, cap);
    pl.ho.dcid = dcid->id; /* RFC 9000 §9.5: the CID chosen for this path */
    pl.ho.dcid_len = dcid->len;
    pl.hdr_len = lwq_pkt_hdr_encoded_len(&pl.ho);
    lwq_pktb b = {.p = out + pl.hdr_len, .cap = cap - pl.hdr_len - LWQ_AEAD_TAG_LEN, .space = LWQ_SPACE_APP, .m = m};
    for (size_t i = 0; i < nf; i++)
        if (lwq_pktb_add(&b, &f[i], NULL)) {
            lwq_sentmap_abort(m);
            return 0;
        }
    while (b.len + pl.ho.pn_len < 4)
        b.p[b.len++] = 0;
    pl.start = 0;
    pl.payload_len = b.len;
    pl.eliciting = b.ack_eliciting;
    pl.in_flight = 1;
    pl.tracked = 1;
    size_t len = pl.hdr_len + b.len + LWQ_AEAD_TAG_LEN;
    return seal(c, out, &pl, 1, len, pad_to > cap ? cap : pad_to);
}
