/* 0-RTT for both sides and NEW_TOKEN frames; see conn_early.h and docs/resumption.md. */
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/token.h"

void lwq_conn_early_init(lwq_conn *c, const uint8_t *session, size_t len)
{
    const uint8_t *p;
    size_t n;
    lwq_conn_early *e = &c->early;
    if (!session || lwq_tls_session_transport_params(session, len, &p, &n))
        return;
    lwq_tparams_init(&e->remembered);
    e->has_remembered = lwq_tparams_decode(&e->remembered, p, n, 1) >= 0;
}

void lwq_conn_early_free(lwq_conn *c)
{
    lwq_conn_early *e = &c->early;
    if (e->has_keys)
        lwq_quic_keys_free(&e->keys);
    e->has_keys = 0;
    lwq_free(c->alloc, e->token);
    e->token = NULL;
}

#define EARLY_LIMITS 8

static void early_limits(const lwq_tparams *tp, uint64_t v[EARLY_LIMITS])
{
    v[0] = tp->active_connection_id_limit;
    v[1] = tp->initial_max_data;
    v[2] = tp->initial_max_stream_data_bidi_local;
    v[3] = tp->initial_max_stream_data_bidi_remote;
    v[4] = tp->initial_max_stream_data_uni;
    v[5] = tp->initial_max_streams_bidi;
    v[6] = tp->initial_max_streams_uni;
    v[7] = tp->max_datagram_frame_size; /* RFC 9221 §3 */
}

void lwq_conn_early_context(lwq_conn *c, const uint8_t *app, size_t app_len)
{
    static const uint8_t none[1];
    uint64_t v[EARLY_LIMITS];
    early_limits(&c->local_tp, v);
    uint8_t *w = c->early.context;
    for (size_t i = 0; i < EARLY_LIMITS; i++)
        w = lwq_put64(w, v[i]);
    lwq_hash(LWQ_HASH_SHA256, app_len ? app : none, app_len, w);
}

int lwq_conn_early_context_ok(void *ud, const uint8_t *sealed, size_t len)
{
    lwq_conn *c = ud;
    const uint8_t *now = c->early.context;
    if (len != LWQ_EARLY_CONTEXT_LEN)
        return 0;
    for (size_t i = 0; i < EARLY_LIMITS; i++)
        if (lwq_get64(now + 8 * i) < lwq_get64(sealed + 8 * i))
            return 0;
    return memcmp(now + 8 * EARLY_LIMITS, sealed + 8 * EARLY_LIMITS, 32) == 0;
}

/* RFC 9000 §7.4.1: the limits a client uses for 0-RTT; the others keep their defaults. */
static void apply_remembered(lwq_conn *c)
{
    const lwq_tparams *r = &c->early.remembered;
    lwq_tparams *tp = &c->peer_tp;
    lwq_tparams_init(tp);
    tp->active_connection_id_limit = r->active_connection_id_limit;
    tp->initial_max_data = r->initial_max_data;
    tp->initial_max_stream_data_bidi_local = r->initial_max_stream_data_bidi_local;
    tp->initial_max_stream_data_bidi_remote = r->initial_max_stream_data_bidi_remote;
    tp->initial_max_stream_data_uni = r->initial_max_stream_data_uni;
    tp->initial_max_streams_bidi = r->initial_max_streams_bidi;
    tp->initial_max_streams_uni = r->initial_max_streams_uni;
    lwq_streams_peer_params(c);
}

int lwq_conn_early_install(lwq_conn *c, const lwq_tls_event *ev)
{
    lwq_conn_early *e = &c->early;
    if (ev->write == c->is_server || e->has_keys || (!c->is_server && !e->has_remembered))
        return 0; /* a client without remembered limits sends no 0-RTT */
    int rv = lwq_quic_keys_init(&e->keys, c->version, ev->suite, ev->secret);
    if (rv)
        return rv;
    e->has_keys = 1;
    if (!c->is_server) {
        e->state = LWQ_EARLY_PENDING;
        apply_remembered(c);
    }
    return 0;
}

void lwq_conn_early_drop(lwq_conn *c)
{
    lwq_conn_early *e = &c->early;
    if (!c->is_server && e->has_keys) {
        lwq_quic_keys_free(&e->keys);
        e->has_keys = 0;
    }
}

void lwq_conn_early_requeue(lwq_conn *c)
{
    lwq_recovery *r = &c->rec;
    lwq_sentmap *m = &r->spaces[LWQ_SPACE_APP];
    lwq_recovery_visitor v;
    lwq_conn_recovery_visitor(c, &v);
    for (size_t i = 0; i < m->count; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if (!(p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST)))
            v.lost(v.ud, LWQ_SPACE_APP, m, p);
    }
    lwq_cc_discard(&r->cc, lwq_sentmap_discard(m));
    lwq_recovery_update_timer(r, c->now);
}

/* RFC 9000 §7.4.1: after a rejection the remembered limits no longer apply. Nothing sent in 0-RTT
 * was acknowledged, so each stream starts over as if unsent: its data then counts against the
 * server's new flow control limits like new data. */
static void rewind_streams(lwq_conn *c)
{
    for (lwq_stream *s = c->st.head; s; s = s->next) {
        lwq_sendbuf *b = &s->tx;
        if (!s->has_tx || b->acked_off || !lwq_ranges_empty(&b->acked))
            continue;
        c->st.tx_data -= b->sent_off < c->st.tx_data ? b->sent_off : c->st.tx_data;
        b->sent_off = 0;
        (void)lwq_ranges_remove(&b->lost, 0, UINT64_MAX);
        b->fin_sent = b->fin_lost = 0;
    }
}

int lwq_conn_early_answer(lwq_conn *c, int accepted)
{
    lwq_conn_early *e = &c->early;
    if (e->state != LWQ_EARLY_PENDING)
        return 0;
    e->state = accepted ? LWQ_EARLY_ACCEPTED : LWQ_EARLY_REJECTED;
    if (!accepted) {
        /* RFC 9001 §4.6.2: the server dropped our 0-RTT packets; the data goes again in 1-RTT. */
        lwq_conn_early_requeue(c);
        rewind_streams(c);
        lwq_conn_early_drop(c);
    }
    lwq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_EV_EARLY_DATA;
    ev.stream_id = -1;
    ev.accepted = accepted;
    return lwq_conn_push_event(c, &ev) == LWQ_ERR_NOMEM ? LWQ_ERR_NOMEM : 0;
}

int lwq_conn_early_check_params(lwq_conn *c)
{
    lwq_conn_early *e = &c->early;
    if (c->is_server || e->state == LWQ_EARLY_NONE)
        return 0;
    const lwq_tparams *r = &e->remembered, *n = &c->peer_tp;
    if (e->state == LWQ_EARLY_ACCEPTED &&
        (n->active_connection_id_limit < r->active_connection_id_limit || n->initial_max_data < r->initial_max_data ||
         n->initial_max_stream_data_bidi_local < r->initial_max_stream_data_bidi_local ||
         n->initial_max_stream_data_bidi_remote < r->initial_max_stream_data_bidi_remote ||
         n->initial_max_stream_data_uni < r->initial_max_stream_data_uni ||
         n->initial_max_streams_bidi < r->initial_max_streams_bidi ||
         n->initial_max_streams_uni < r->initial_max_streams_uni))
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, LWQ_FRAME_CRYPTO,
                              "0-RTT accepted with smaller limits than remembered (RFC 9000 §7.4.1)");
    for (lwq_stream *s = c->st.head; s; s = s->next) {
        if (!s->has_tx || (s->id & 1))
            continue;
        uint64_t lim = (s->id & 2) ? n->initial_max_stream_data_uni : n->initial_max_stream_data_bidi_remote;
        if (lim > s->tx_max || e->state == LWQ_EARLY_REJECTED)
            s->tx_max = lim;
    }
    return 0;
}

int lwq_conn_early_sending(const lwq_conn *c, int s)
{
    const lwq_conn_early *e = &c->early;
    return !c->is_server && s == LWQ_SPACE_APP && e->has_keys && e->state == LWQ_EARLY_PENDING &&
           !c->sp[LWQ_SPACE_APP].has_wk;
}

int lwq_conn_early_streams(const lwq_conn *c)
{
    return !c->is_server && c->early.state == LWQ_EARLY_PENDING && c->early.has_keys;
}

int lwq_conn_can_send_early(const lwq_conn *c)
{
    return lwq_conn_early_streams(c) && c->state < LWQ_CONN_CLOSING;
}

const lwq_quic_keys *lwq_conn_early_rx_keys(lwq_conn *c)
{
    lwq_conn_early *e = &c->early;
    if (!c->is_server || !e->has_keys)
        return NULL;
    if (e->discard_at && c->now >= e->discard_at) {
        lwq_quic_keys_free(&e->keys);
        e->has_keys = 0;
        return NULL;
    }
    return &e->keys;
}

void lwq_conn_early_got_1rtt(lwq_conn *c)
{
    lwq_conn_early *e = &c->early;
    if (c->is_server && e->has_keys && !e->discard_at)
        e->discard_at = c->now + 3 * lwq_conn_pto(c);
    else
        (void)lwq_conn_early_rx_keys(c); /* frees them once due */
}

int lwq_conn_early_fresh(void *ud, const uint8_t *binder, size_t len)
{
    lwq_conn *c = ud;
    return c->server ? lwq_server_replay_fresh(c->server, binder, len, c->now) : 0;
}

void lwq_conn_token_confirmed(lwq_conn *c)
{
    if (c->is_server && c->server)
        c->early.token_pending = 1; /* RFC 9000 §8.1.3 */
}

int lwq_conn_token_write(lwq_conn *c, struct lwq_pktb *b)
{
    if (!c->early.token_pending)
        return 0;
    uint8_t tok[LWQ_NEW_TOKEN_LEN];
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_NEW_TOKEN;
    f.u.new_token.data = tok;
    f.u.new_token.len = lwq_new_token_make(c->ctx, &c->path, c->now, tok);
    lwq_sent_frame rec = {.kind = LWQ_FRAME_NEW_TOKEN};
    int rv = lwq_pktb_add(b, &f, &rec);
    if (rv == LWQ_ERR_NOBUF)
        return 0;
    if (!rv)
        c->early.token_pending = 0;
    return rv;
}

void lwq_conn_token_lost(lwq_conn *c)
{
    c->early.token_pending = 1; /* a fresh token, RFC 9000 §13.3 */
}

int lwq_conn_token_received(lwq_conn *c, const uint8_t *tok, size_t len)
{
    uint8_t *t = lwq_memdup(c->alloc, tok, len);
    if (!t)
        return LWQ_ERR_NOMEM;
    lwq_free(c->alloc, c->early.token);
    c->early.token = t;
    c->early.token_len = len;
    lwq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_EV_NEW_TOKEN;
    ev.stream_id = -1;
    return lwq_conn_push_event(c, &ev) == LWQ_ERR_NOMEM ? LWQ_ERR_NOMEM : 0;
}
