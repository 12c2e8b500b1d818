/* Connection IDs (RFC 9000 §5.1): ours, issued with stateless reset tokens up to the peer's
 * active_connection_id_limit and routed by the server; the peer's, with retirement (§5.1.2). */
#include <sodium.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"

void lwq_cid_reset_token(const lwq_context *ctx, const lwq_cid *cid, uint8_t *token)
{
    crypto_generichash(token, LWQ_RESET_TOKEN_LEN, cid->id, cid->len, ctx->reset_key, sizeof(ctx->reset_key));
}

/* The QUIC-LB configuration a server's CIDs follow: the configured one, or for shards without one a
 * one-byte server ID naming the shard. 0 when CIDs are plain random bytes. */
static int lb_config(const lwq_context *ctx, int sharded, lwq_quic_lb *lb)
{
    if (!ctx->cfg.is_server)
        return 0;
    if (ctx->cfg.quic_lb.server_id_len) {
        *lb = ctx->cfg.quic_lb;
        return 1;
    }
    memset(lb, 0, sizeof(*lb));
    lb->server_id_len = 1;
    lb->nonce_len = LWQ_CONN_CID_LEN - 2;
    return sharded;
}

size_t lwq_cid_len(const lwq_context *ctx)
{
    if (ctx->cfg.is_server && ctx->cfg.quic_lb.server_id_len)
        return lwq_quic_lb_cid_len(&ctx->cfg.quic_lb);
    return LWQ_CONN_CID_LEN;
}

void lwq_cid_random(const lwq_conn *c, lwq_cid *cid)
{
    uint8_t shard = 0;
    int sharded = c->server && lwq_server_cid_tag(c->server, &shard);
    lwq_quic_lb lb;
    cid->len = lwq_cid_len(c->ctx);
    c->rng->fill(c->rng->ud, cid->id, cid->len);
    if (!c->server || !lb_config(c->ctx, sharded, &lb))
        return;
    uint8_t sid[LWQ_QUIC_LB_SID_MAX], nonce[LWQ_CID_MAX];
    memcpy(sid, lb.server_id, lb.server_id_len);
    sid[lb.server_id_len - 1] = (uint8_t)(sid[lb.server_id_len - 1] + shard);
    memcpy(nonce, cid->id + 1, lb.nonce_len); /* draft §5.4: random nonces, unrelated to each other */
    if (lwq_quic_lb_encode(&lb, sid, nonce, cid->id))
        cid->id[0] = 0xe0 | (uint8_t)(cid->len - 1); /* draft §3.2: unroutable, never expected (the key was checked) */
}

int lwq_context_cid_shard(const lwq_context *ctx, const uint8_t *dgram, size_t len)
{
    lwq_quic_lb lb;
    if (len < 1 || (dgram[0] & 0x80) || !lb_config(ctx, 1, &lb))
        return LWQ_ERR_NOT_FOUND; /* long headers come before migration is allowed (RFC 9000 §9) */
    return lwq_quic_lb_shard(&lb, dgram + 1, len - 1);
}

static int add_local(lwq_conn *c, const lwq_cid *cid, int send)
{
    lwq_cids *t = &c->cids;
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        lwq_local_cid *l = &t->local[i];
        if (l->used)
            continue;
        if (c->server) {
            int rv = lwq_server_cid_add(c->server, cid, c);
            if (rv)
                return rv;
        }
        l->cid = *cid;
        l->seq = t->local_next_seq++;
        lwq_cid_reset_token(c->ctx, cid, l->token);
        l->used = 1;
        l->send = (uint8_t)send;
        return 0;
    }
    return LWQ_ERR_LIMIT;
}

int lwq_cids_init(lwq_conn *c, const lwq_cid *local0, const lwq_cid *peer0)
{
    lwq_cids *t = &c->cids;
    memset(t, 0, sizeof(*t));
    t->peer[0].cid = *peer0;
    t->peer[0].used = 1;
    return add_local(c, local0, 0);
}

void lwq_cids_free(lwq_conn *c)
{
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        lwq_local_cid *l = &c->cids.local[i];
        if (l->used && c->server)
            lwq_server_cid_remove(c->server, &l->cid);
        l->used = 0;
    }
}

const lwq_cid *lwq_cids_dcid(const lwq_conn *c)
{
    return &c->cids.peer[c->cids.cur].cid;
}

void lwq_cids_set_peer0(lwq_conn *c, const lwq_cid *cid)
{
    c->cids.peer[0].cid = *cid;
}

void lwq_cids_set_peer0_token(lwq_conn *c, const uint8_t *token)
{
    memcpy(c->cids.peer[0].token, token, LWQ_RESET_TOKEN_LEN);
    c->cids.peer[0].has_token = 1;
}

int lwq_cids_issue(lwq_conn *c)
{
    if (!c->have_peer_tp || !c->handshake_complete)
        return 0;
    uint64_t limit = c->peer_tp.active_connection_id_limit;
    if (limit > LWQ_CIDS_LOCAL_MAX)
        limit = LWQ_CIDS_LOCAL_MAX;
    size_t active = 0;
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        active += c->cids.local[i].used;
    while (active < limit) {
        lwq_cid cid;
        lwq_cid_random(c, &cid);
        int rv = add_local(c, &cid, 1);
        if (rv)
            return rv;
        active++;
    }
    return 0;
}

int lwq_cids_is_local(const lwq_conn *c, const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        if (c->cids.local[i].used && lwq_cid_eq(&c->cids.local[i].cid, id, len))
            return 1;
    return 0;
}

/* RFC 9000 §5.1.2: a bounded number of retirements in progress; -1 when full. */
static int queue_retire(lwq_conn *c, uint64_t seq)
{
    lwq_cids *t = &c->cids;
    for (size_t i = 0; i < t->nretire; i++)
        if (t->retire[i] == seq)
            return 0;
    if (t->nretire == LWQ_CIDS_RETIRE_MAX)
        return -1;
    t->retire[t->nretire++] = seq;
    return 0;
}

/* RFC 9000 §19.15 */
int lwq_cids_on_new(lwq_conn *c, const lwq_frame_new_cid *f)
{
    lwq_cids *t = &c->cids;
    uint64_t ft = LWQ_FRAME_NEW_CONNECTION_ID;
    int dup = 0;
    if (c->cids.peer[0].cid.len == 0)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "NEW_CONNECTION_ID with a zero-length CID");
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
        lwq_peer_cid *p = &t->peer[i];
        if (!p->used)
            continue;
        if (p->seq == f->seq) {
            if (!lwq_cid_eq(&p->cid, f->cid.id, f->cid.len) ||
                (p->has_token && memcmp(p->token, f->reset_token, LWQ_RESET_TOKEN_LEN)))
                return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "sequence number reused");
            dup = 1; /* a repeat; its retire_prior_to still counts */
            continue;
        }
        if (lwq_cid_eq(&p->cid, f->cid.id, f->cid.len))
            return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "CID reused with another sequence");
    }
    if (f->seq < t->peer_retire_prior_to) {
        if (queue_retire(c, f->seq)) /* already retired: retire it at once (§5.1.2) */
            return lwq_conn_error(c, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR, ft, "too many retirements pending");
        return 0;
    }
    if (f->retire_prior_to > t->peer_retire_prior_to) {
        t->peer_retire_prior_to = f->retire_prior_to;
        for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
            lwq_peer_cid *p = &t->peer[i];
            if (p->used && p->seq < f->retire_prior_to) {
                p->used = 0;
                if (queue_retire(c, p->seq))
                    return lwq_conn_error(c, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR, ft,
                                          "too many retirements pending");
            }
        }
    }
    size_t slot = LWQ_CIDS_PEER_MAX, active = 0;
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
        if (t->peer[i].used)
            active++;
        else if (slot == LWQ_CIDS_PEER_MAX)
            slot = i;
    }
    if (!dup && f->seq >= t->peer_retire_prior_to) {
        if (active >= c->local_tp.active_connection_id_limit || slot == LWQ_CIDS_PEER_MAX)
            return lwq_conn_error(c, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR, ft, "too many connection IDs");
        lwq_peer_cid *p = &t->peer[slot];
        p->cid = f->cid;
        p->seq = f->seq;
        memcpy(p->token, f->reset_token, LWQ_RESET_TOKEN_LEN);
        p->has_token = 1;
        p->used = 1;
    }
    if (!t->peer[t->cur].used) {
        /* the current one was retired: move to the lowest active sequence */
        size_t best = LWQ_CIDS_PEER_MAX;
        for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++)
            if (t->peer[i].used && (best == LWQ_CIDS_PEER_MAX || t->peer[i].seq < t->peer[best].seq))
                best = i;
        if (best == LWQ_CIDS_PEER_MAX)
            return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "every connection ID retired");
        t->cur = best;
    }
    return 0;
}

/* RFC 9000 §19.16 */
int lwq_cids_on_retire(lwq_conn *c, uint64_t seq, const uint8_t *dcid, size_t dcid_len)
{
    lwq_cids *t = &c->cids;
    uint64_t ft = LWQ_FRAME_RETIRE_CONNECTION_ID;
    if (seq >= t->local_next_seq)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "retiring a CID never issued");
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        lwq_local_cid *l = &t->local[i];
        if (!l->used || l->seq != seq)
            continue;
        if (lwq_cid_eq(&l->cid, dcid, dcid_len))
            return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, ft, "retiring the CID in use");
        if (c->server)
            lwq_server_cid_remove(c->server, &l->cid);
        l->used = 0;
        if (i == 0) {
            /* keep local[0] as the SCID of long headers: move another one there */
            for (size_t j = 1; j < LWQ_CIDS_LOCAL_MAX; j++)
                if (t->local[j].used) {
                    t->local[0] = t->local[j];
                    t->local[j].used = 0;
                    break;
                }
        }
        return lwq_cids_issue(c) == LWQ_ERR_NOMEM ? LWQ_ERR_NOMEM : 0;
    }
    return 0;
}

int lwq_cids_write(lwq_conn *c, lwq_pktb *b)
{
    lwq_cids *t = &c->cids;
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        lwq_local_cid *l = &t->local[i];
        if (!l->used || !l->send)
            continue;
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.type = LWQ_FRAME_NEW_CONNECTION_ID;
        f.u.new_cid.seq = l->seq;
        f.u.new_cid.cid = l->cid;
        memcpy(f.u.new_cid.reset_token, l->token, LWQ_RESET_TOKEN_LEN);
        lwq_sent_frame r = {.kind = LWQ_FRAME_NEW_CONNECTION_ID, .id = l->seq};
        int rv = lwq_pktb_add(b, &f, &r);
        if (rv)
            return rv == LWQ_ERR_NOBUF ? 0 : rv;
        l->send = 0;
    }
    while (t->nretire) {
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.type = LWQ_FRAME_RETIRE_CONNECTION_ID;
        f.u.retire_seq = t->retire[0];
        lwq_sent_frame r = {.kind = LWQ_FRAME_RETIRE_CONNECTION_ID, .id = t->retire[0]};
        int rv = lwq_pktb_add(b, &f, &r);
        if (rv)
            return rv == LWQ_ERR_NOBUF ? 0 : rv;
        memmove(t->retire, t->retire + 1, (t->nretire - 1) * sizeof(t->retire[0]));
        t->nretire--;
    }
    return 0;
}

void lwq_cids_on_lost(lwq_conn *c, const lwq_sent_frame *f)
{
    lwq_cids *t = &c->cids;
    if (f->kind == LWQ_FRAME_RETIRE_CONNECTION_ID) {
        (void)queue_retire(c, f->id); /* lost only when 16 other retirements are pending */
        return;
    }
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        if (t->local[i].used && t->local[i].seq == f->id)
            t->local[i].send = 1;
}

int lwq_cids_reset_match(const lwq_conn *c, const uint8_t *dgram, size_t n)
{
    uint8_t tokens[LWQ_CIDS_PEER_MAX][LWQ_RESET_TOKEN_LEN];
    size_t k = 0;
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++)
        if (c->cids.peer[i].used && c->cids.peer[i].has_token)
            memcpy(tokens[k++], c->cids.peer[i].token, LWQ_RESET_TOKEN_LEN);
    if (!k || n < LWQ_STATELESS_RESET_MIN)
        return 0;
    return lwq_stateless_reset_detect(dgram, n, (const uint8_t(*)[LWQ_RESET_TOKEN_LEN])tokens, k) >= 0;
}

int lwq_cids_add_unannounced(lwq_conn *c, const lwq_local_cid **out)
{
    lwq_cid cid;
    lwq_cid_random(c, &cid);
    int rv = add_local(c, &cid, 0);
    if (rv)
        return rv;
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        if (c->cids.local[i].used && c->cids.local[i].seq == c->cids.local_next_seq - 1)
            *out = &c->cids.local[i];
    return 0;
}

const lwq_peer_cid *lwq_cids_peer_by_seq(const lwq_conn *c, uint64_t seq)
{
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++)
        if (c->cids.peer[i].used && c->cids.peer[i].seq == seq)
            return &c->cids.peer[i];
    return NULL;
}

const lwq_peer_cid *lwq_cids_spare(const lwq_conn *c)
{
    const lwq_cids *t = &c->cids;
    const lwq_peer_cid *best = NULL;
    uint64_t cur = t->peer[t->cur].seq;
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
        const lwq_peer_cid *p = &t->peer[i];
        if (p->used && p->seq > cur && p->cid.len && (!best || p->seq < best->seq))
            best = p;
    }
    return best;
}

int lwq_cids_switch(lwq_conn *c, uint64_t seq)
{
    lwq_cids *t = &c->cids;
    const lwq_peer_cid *p = lwq_cids_peer_by_seq(c, seq);
    if (!p)
        return LWQ_ERR_NOT_FOUND;
    size_t idx = (size_t)(p - t->peer);
    if (idx == t->cur)
        return 0;
    if (queue_retire(c, t->peer[t->cur].seq))
        return LWQ_ERR_LIMIT;
    t->peer[t->cur].used = 0;
    t->cur = idx;
    return 0;
}
