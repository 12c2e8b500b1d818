/* The server side: demultiplexes datagrams by Destination Connection ID (a hash keyed by a random
 * key), creates connections for valid Initials, answers unknown versions with Version Negotiation
 * and unknown short-header packets with stateless resets, validates addresses with Retry, and caps
 * connections and handshakes. */
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/conn_null.h"
#include "quic/protect.h"
#include "quic/token.h"

#define REPLY_QUEUE 16
#define REPLY_MAX 256
#define BUCKETS_MIN 64
#define RESET_LEN_MAX 43 /* enough unpredictable bytes to look like a short-header packet */

/* Retry token (docs/retry.md): magic | nonce | AEAD(issued | address | ODCID | retry SCID) | tag. */
#define TOKEN_MAGIC 0x52
#define TOKEN_LIFETIME (10 * LWQ_SEC)
#define TOKEN_ADDR_LEN 19 /* family, 16 address bytes, port */
#define TOKEN_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TOKEN_PLAIN (8 + TOKEN_ADDR_LEN + 2 * (1 + LWQ_CID_MAX))
#define TOKEN_LEN (1 + TOKEN_NONCE + TOKEN_PLAIN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
enum { TOKEN_OK, TOKEN_ABSENT, TOKEN_INVALID };

typedef struct route {
    lwq_cid cid;
    lwq_conn *c;
    struct route *next;
} route;

typedef struct reply {
    lwq_path path;
    size_t len;
    uint8_t data[REPLY_MAX];
} reply;

#define REFLECT_SLOTS 256
#define REFLECT_ADDR_RATE 20    /* answers a second to one address, in bursts of as many */
#define REFLECT_RATE 10000      /* answers a second in all */
#define REFLECT_BURST 1000

struct lwq_server {
    lwq_context *ctx;
    const lwq_allocator *alloc;
    lwq_server_limits lim;
    uint8_t key[crypto_shorthash_KEYBYTES];
    route **buckets;
    size_t nbuckets, nroutes;
    lwq_conn **conns;
    size_t nconns, conncap, handshakes;
    reply q[REPLY_QUEUE];
    size_t qhead, qcount;
    lwq_replay *replay; /* 0-RTT anti-replay (docs/resumption.md), made on first use */
    int (*replay_fresh)(void *ud, const uint8_t *id, size_t len, lwq_tstamp now); /* shared cache */
    void *replay_ud;
    /* Answers without a connection (VN, stateless reset, Retry) are reflections a spoofer aims:
     * rate-limited per source address (keyed hash into REFLECT_SLOTS) and in all (GCRA times). */
    lwq_tstamp now, reflect_tat[REFLECT_SLOTS], reflect_all;
    int has_tag;        /* lwq_server_set_cid_tag */
    uint8_t tag;
    int null_protection; /* tests only (conn_null.h) */
};

void lwq_server_set_null_protection(lwq_server *s)
{
    s->null_protection = 1;
}

int lwq_server_new(lwq_server **out, lwq_context *ctx, const lwq_server_limits *limits)
{
    *out = NULL;
    if (!ctx || !ctx->cfg.is_server)
        return LWQ_ERR_INVAL;
    lwq_server *s = lwq_calloc(ctx->alloc, 1, sizeof(*s));
    if (!s)
        return LWQ_ERR_NOMEM;
    s->ctx = ctx;
    s->alloc = ctx->alloc;
    if (limits)
        s->lim = *limits;
    if (!s->lim.max_connections)
        s->lim.max_connections = 10000;
    if (!s->lim.max_handshakes)
        s->lim.max_handshakes = 1000;
    if (!s->lim.retry_above)
        s->lim.retry_above = s->lim.max_handshakes / 4 ? s->lim.max_handshakes / 4 : 1;
    if (!s->lim.max_handshakes_per_addr)
        s->lim.max_handshakes_per_addr = 32;
    s->buckets = lwq_calloc(s->alloc, BUCKETS_MIN, sizeof(*s->buckets));
    if (!s->buckets) {
        lwq_free(s->alloc, s);
        return LWQ_ERR_NOMEM;
    }
    s->nbuckets = BUCKETS_MIN;
    ctx->rng->fill(ctx->rng->ud, s->key, sizeof(s->key));
    *out = s;
    return 0;
}

static void drop_routes(lwq_server *s, const lwq_conn *c)
{
    for (size_t i = 0; i < s->nbuckets; i++)
        for (route **pp = &s->buckets[i]; *pp;) {
            route *r = *pp;
            if (r->c == c) {
                *pp = r->next;
                lwq_free(s->alloc, r);
                s->nroutes--;
            } else {
                pp = &r->next;
            }
        }
}

void lwq_server_del(lwq_server *s)
{
    if (!s)
        return;
    while (s->nconns)
        lwq_server_remove(s, s->conns[s->nconns - 1]);
    for (size_t i = 0; i < s->nbuckets; i++)
        for (route *r = s->buckets[i], *n; r; r = n) {
            n = r->next;
            lwq_free(s->alloc, r);
        }
    lwq_free(s->alloc, s->buckets);
    lwq_free(s->alloc, s->conns);
    lwq_replay_del(s->replay);
    lwq_free(s->alloc, s);
}

void lwq_server_set_replay_check(lwq_server *s, int (*fresh)(void *ud, const uint8_t *id, size_t len, lwq_tstamp now),
                                 void *ud)
{
    s->replay_fresh = fresh;
    s->replay_ud = ud;
}

int lwq_server_replay_fresh(lwq_server *s, const uint8_t *id, size_t len, lwq_tstamp now)
{
    if (s->replay_fresh)
        return s->replay_fresh(s->replay_ud, id, len, now);
    lwq_replay *r = lwq_server_replay(s);
    return r ? lwq_replay_fresh(r, id, len, now) : 0; /* no cache: refuse, never replayable */
}

lwq_replay *lwq_server_replay(lwq_server *s)
{
    if (!s->replay)
        (void)lwq_replay_new(&s->replay, s->alloc, s->ctx->rng); /* NULL on failure: 0-RTT refused */
    return s->replay;
}

static size_t bucket_of(const lwq_server *s, const uint8_t *id, size_t len, size_t nbuckets)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, len, s->key);
    return (size_t)(lwq_get64(h) & (nbuckets - 1));
}

static lwq_conn *lookup(const lwq_server *s, const uint8_t *id, size_t len)
{
    for (route *r = s->buckets[bucket_of(s, id, len, s->nbuckets)]; r; r = r->next)
        if (lwq_cid_eq(&r->cid, id, len))
            return r->c;
    return NULL;
}

static int grow(lwq_server *s)
{
    size_t n = s->nbuckets * 2;
    route **b = lwq_calloc(s->alloc, n, sizeof(*b));
    if (!b)
        return LWQ_ERR_NOMEM;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (route *r = s->buckets[i], *nx; r; r = nx) {
            nx = r->next;
            size_t k = bucket_of(s, r->cid.id, r->cid.len, n);
            r->next = b[k];
            b[k] = r;
        }
    lwq_free(s->alloc, s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    return 0;
}

int lwq_server_cid_add(lwq_server *s, const lwq_cid *cid, lwq_conn *c)
{
    if (lookup(s, cid->id, cid->len))
        return LWQ_ERR_INVAL; /* a random 64-bit collision */
    if (s->nroutes >= s->nbuckets && grow(s))
        return LWQ_ERR_NOMEM;
    route *r = lwq_calloc(s->alloc, 1, sizeof(*r));
    if (!r)
        return LWQ_ERR_NOMEM;
    r->cid = *cid;
    r->c = c;
    size_t k = bucket_of(s, cid->id, cid->len, s->nbuckets);
    r->next = s->buckets[k];
    s->buckets[k] = r;
    s->nroutes++;
    return 0;
}

void lwq_server_cid_remove(lwq_server *s, const lwq_cid *cid)
{
    for (route **pp = &s->buckets[bucket_of(s, cid->id, cid->len, s->nbuckets)]; *pp; pp = &(*pp)->next) {
        route *r = *pp;
        if (lwq_cid_eq(&r->cid, cid->id, cid->len)) {
            *pp = r->next;
            lwq_free(s->alloc, r);
            s->nroutes--;
            return;
        }
    }
}

void lwq_server_set_cid_tag(lwq_server *s, uint8_t tag)
{
    s->has_tag = 1;
    s->tag = tag;
}

int lwq_server_cid_tag(const lwq_server *s, uint8_t *tag)
{
    *tag = s->tag;
    return s->has_tag;
}

void lwq_server_conn_established(lwq_server *s, lwq_conn *c)
{
    (void)c;
    if (s->handshakes)
        s->handshakes--;
}

/* Generic cell rate: at most `burst` at once, then one per `interval`. */
static int gcra(lwq_tstamp *tat, lwq_tstamp now, lwq_tstamp interval, unsigned burst)
{
    lwq_tstamp t = *tat > now ? *tat : now;
    if (t - now >= burst * interval)
        return 0;
    *tat = t + interval;
    return 1;
}

/* RFC 9000 §6.1, §10.3, §21.1.1.1: each answer is smaller than its trigger, but a spoofed flood would
 * still make the server reflect at the attacker's rate. */
static int may_answer(lwq_server *s, const lwq_path *path)
{
    const struct sockaddr_storage *a = &path->remote;
    const uint8_t *ip = NULL;
    size_t n = 0;
    if (a->ss_family == AF_INET) {
        ip = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
        n = 4;
    } else if (a->ss_family == AF_INET6) {
        ip = (const uint8_t *)&((const struct sockaddr_in6 *)a)->sin6_addr;
        n = 16;
    }
    uint8_t h[crypto_shorthash_BYTES] = {0};
    if (n)
        crypto_shorthash(h, ip, n, s->key);
    lwq_tstamp *slot = &s->reflect_tat[lwq_get32(h) % REFLECT_SLOTS];
    lwq_tstamp keep = *slot;
    if (!gcra(slot, s->now, LWQ_SEC / REFLECT_ADDR_RATE, REFLECT_ADDR_RATE))
        return 0;
    if (!gcra(&s->reflect_all, s->now, LWQ_SEC / REFLECT_RATE, REFLECT_BURST)) {
        *slot = keep;
        return 0;
    }
    return 1;
}

static reply *queue_reply(lwq_server *s, const lwq_path *path)
{
    if (s->qcount == REPLY_QUEUE)
        return NULL; /* answers are best effort */
    if (path && !may_answer(s, path))
        return NULL;
    reply *r = &s->q[(s->qhead + s->qcount) % REPLY_QUEUE];
    if (path)
        r->path = *path;
    else
        memset(&r->path, 0, sizeof(r->path));
    r->len = 0;
    return r;
}

static void commit_reply(lwq_server *s, reply *r, ssize_t n)
{
    if (n > 0) {
        r->len = (size_t)n;
        s->qcount++;
    }
}

static void send_vn(lwq_server *s, const lwq_path *path, const lwq_pkt_hdr *h)
{
    static const uint32_t versions[] = {LWQ_VERSION_1, LWQ_VERSION_2};
    size_t nv = s->ctx->cfg.accept_v2 ? 2 : 1;
    reply *r = queue_reply(s, path);
    if (!r)
        return;
    uint8_t unused;
    s->ctx->rng->fill(s->ctx->rng->ud, &unused, 1);
    /* RFC 9000 §17.2.1: the client's CIDs echoed, swapped. */
    commit_reply(
        s, r, lwq_vn_encode(r->data, sizeof(r->data), h->scid, h->scid_len, h->dcid, h->dcid_len, versions, nv, unused));
}

static void send_reset(lwq_server *s, const lwq_path *path, const uint8_t *dcid, size_t len)
{
    /* RFC 9000 §10.3: smaller than the packet that triggered it, at least 21 bytes. */
    if (len <= LWQ_STATELESS_RESET_MIN)
        return;
    reply *r = queue_reply(s, path);
    if (!r)
        return;
    lwq_cid cid;
    lwq_cid_set(&cid, dcid, lwq_cid_len(s->ctx));
    uint8_t token[LWQ_RESET_TOKEN_LEN];
    lwq_cid_reset_token(s->ctx, &cid, token);
    size_t n = len - 1 < RESET_LEN_MAX ? len - 1 : RESET_LEN_MAX;
    commit_reply(s, r, lwq_stateless_reset_encode(r->data, sizeof(r->data), n, token, s->ctx->rng));
}

static void token_addr(const lwq_path *path, uint8_t *out)
{
    memset(out, 0, TOKEN_ADDR_LEN);
    if (!path)
        return;
    if (path->remote.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&path->remote;
        out[0] = 4;
        memcpy(out + 1, &a->sin_addr, 4);
        memcpy(out + 17, &a->sin_port, 2);
    } else if (path->remote.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&path->remote;
        out[0] = 6;
        memcpy(out + 1, &a->sin6_addr, 16);
        memcpy(out + 17, &a->sin6_port, 2);
    }
}

static void token_ad(uint8_t *ad, uint32_t version)
{
    ad[0] = TOKEN_MAGIC;
    lwq_put32(ad + 1, version);
}

static void put_cid(uint8_t *p, const uint8_t *id, size_t len)
{
    p[0] = (uint8_t)len;
    memset(p + 1, 0, LWQ_CID_MAX);
    memcpy(p + 1, id, len);
}

/* RFC 9000 §8.1.2: everything needed later travels sealed in the token; the server keeps nothing. */
static void token_make(const lwq_server *s, const lwq_path *path, const lwq_pkt_hdr *h, const lwq_cid *rscid,
                       lwq_tstamp now, uint8_t *out)
{
    uint8_t pt[TOKEN_PLAIN], ad[5];
    lwq_put64(pt, now);
    token_addr(path, pt + 8);
    put_cid(pt + 8 + TOKEN_ADDR_LEN, h->dcid, h->dcid_len);
    put_cid(pt + 8 + TOKEN_ADDR_LEN + 1 + LWQ_CID_MAX, rscid->id, rscid->len);
    token_ad(ad, h->version);
    out[0] = TOKEN_MAGIC;
    s->ctx->rng->fill(s->ctx->rng->ud, out + 1, TOKEN_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + TOKEN_NONCE, NULL, pt, sizeof(pt), ad, sizeof(ad), NULL,
                                               out + 1, s->ctx->token_key);
    lwq_wipe(pt, sizeof(pt));
}

/* TOKEN_ABSENT: no token, or one not in our format (maybe a NEW_TOKEN of another server,
 * RFC 9000 §8.1.3). TOKEN_INVALID: ours in form but forged, from another context, expired, for
 * another address or another DCID. TOKEN_OK with *odcid the client's first DCID. */
static int token_check(const lwq_server *s, const lwq_path *path, const lwq_pkt_hdr *h, lwq_tstamp now, lwq_cid *odcid)
{
    if (h->token_len != TOKEN_LEN || h->token[0] != TOKEN_MAGIC)
        return TOKEN_ABSENT;
    uint8_t pt[TOKEN_PLAIN], ad[5], addr[TOKEN_ADDR_LEN], dcid[1 + LWQ_CID_MAX];
    token_ad(ad, h->version);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, h->token + 1 + TOKEN_NONCE,
                                                   TOKEN_LEN - 1 - TOKEN_NONCE, ad, sizeof(ad), h->token + 1,
                                                   s->ctx->token_key))
        return TOKEN_INVALID;
    token_addr(path, addr);
    put_cid(dcid, h->dcid, h->dcid_len);
    const uint8_t *o = pt + 8 + TOKEN_ADDR_LEN, *r = o + 1 + LWQ_CID_MAX;
    uint64_t issued = lwq_get64(pt);
    int ok = sodium_memcmp(pt + 8, addr, TOKEN_ADDR_LEN) == 0;
    ok &= sodium_memcmp(r, dcid, sizeof(dcid)) == 0; /* the Initial goes to the Retry's SCID */
    ok &= now >= issued && now - issued <= TOKEN_LIFETIME;
    ok &= o[0] >= 8 && o[0] <= LWQ_CID_MAX;
    if (ok)
        lwq_cid_set(odcid, o + 1, o[0]);
    lwq_wipe(pt, sizeof(pt));
    return ok ? TOKEN_OK : TOKEN_INVALID;
}

static void send_retry(lwq_server *s, const lwq_path *path, const lwq_pkt_hdr *h, lwq_tstamp now)
{
    reply *r = queue_reply(s, path);
    if (!r)
        return;
    lwq_cid rscid;
    rscid.len = LWQ_CONN_CID_LEN;
    do
        s->ctx->rng->fill(s->ctx->rng->ud, rscid.id, rscid.len);
    while (lwq_cid_eq(&rscid, h->dcid, h->dcid_len)); /* RFC 9000 §17.2.5.1: a new CID */
    uint8_t token[TOKEN_LEN], unused;
    token_make(s, path, h, &rscid, now, token);
    s->ctx->rng->fill(s->ctx->rng->ud, &unused, 1);
    commit_reply(s, r,
                 lwq_retry_encode(r->data, sizeof(r->data), h->version, h->scid, h->scid_len, rscid.id, rscid.len,
                                  token, sizeof(token), h->dcid, h->dcid_len, unused));
}

/* RFC 9000 §8.1.2: a bad Retry token closes with INVALID_TOKEN, here statelessly: an Initial under
 * the keys of the client's DCID (RFC 9001 §5.2) with CONNECTION_CLOSE. */
static void send_invalid_token(lwq_server *s, const lwq_path *path, const lwq_pkt_hdr *h)
{
    static const char why[] = "invalid address validation token";
    reply *r = queue_reply(s, path);
    if (!r)
        return;
    uint8_t cs[32], ss[32], payload[64];
    lwq_quic_keys k;
    int rv = lwq_quic_initial_secrets(h->version, h->dcid, h->dcid_len, cs, ss);
    if (!rv)
        rv = lwq_quic_keys_init(&k, h->version, LWQ_SUITE_AES128GCM_SHA256, ss);
    lwq_wipe(cs, sizeof(cs));
    lwq_wipe(ss, sizeof(ss));
    if (rv)
        return;
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_CONNECTION_CLOSE;
    f.u.close.error_code = LWQ_QUIC_ERR_INVALID_TOKEN;
    f.u.close.reason = (const uint8_t *)why;
    f.u.close.reason_len = sizeof(why) - 1;
    ssize_t pl = lwq_frame_encode(payload, sizeof(payload), &f);
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    ho.type = LWQ_PKT_INITIAL;
    ho.version = h->version;
    ho.dcid = h->scid;
    ho.dcid_len = h->scid_len;
    ho.scid = h->dcid;
    ho.scid_len = h->dcid_len;
    ho.pn_len = 2;
    ho.payload_len = pl > 0 ? (size_t)pl : 0;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ssize_t hl = pl > 0 ? lwq_pkt_hdr_encode(r->data, sizeof(r->data), &ho) : -1;
    ssize_t n = -1;
    if (hl > 0 && (size_t)hl + (size_t)pl + LWQ_AEAD_TAG_LEN <= sizeof(r->data)) {
        memcpy(r->data + hl, payload, (size_t)pl);
        n = lwq_packet_protect(&k, 0, r->data, (size_t)hl, (size_t)pl, sizeof(r->data));
    }
    lwq_quic_keys_free(&k);
    commit_reply(s, r, n);
}

static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
    return 0;
}

/* Half-open handshakes from the peer's IP address (any port): one scan over at most max_handshakes
 * connections, only when a new connection is about to be made (its Initial costs far more). */
static size_t handshakes_from(const lwq_server *s, const lwq_path *path)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nconns; i++)
        n += !s->conns[i]->handshake_confirmed && same_ip(&s->conns[i]->path.remote, &path->remote);
    return n;
}

static int add_conn(lwq_server *s, lwq_conn *c)
{
    if (s->nconns == s->conncap) {
        size_t n = s->conncap ? s->conncap * 2 : 16;
        lwq_conn **v = lwq_realloc(s->alloc, s->conns, n * sizeof(*v));
        if (!v)
            return LWQ_ERR_NOMEM;
        s->conns = v;
        s->conncap = n;
    }
    s->conns[s->nconns++] = c;
    s->handshakes++;
    return 0;
}

int lwq_server_recv(lwq_server *s, const lwq_path *path, const uint8_t *data, size_t len, uint8_t ecn, lwq_tstamp now,
                    lwq_conn **conn, int *created)
{
    *conn = NULL;
    if (created)
        *created = 0;
    s->now = now;
    lwq_pkt_hdr h;
    ssize_t n = lwq_pkt_hdr_decode(&h, data, len, lwq_cid_len(s->ctx));
    if (n == LWQ_ERR_UNSUPPORTED) {
        if (len >= LWQ_MIN_INITIAL_DGRAM) /* RFC 9000 §6.1, §14.1 */
            send_vn(s, path, &h);
        return 0;
    }
    if (n < 0)
        return 0;
    lwq_conn *c = lookup(s, h.dcid, h.dcid_len);
    int fresh = 0;
    if (!c) {
        if (h.type == LWQ_PKT_1RTT) {
            if (h.dcid_len == lwq_cid_len(s->ctx))
                send_reset(s, path, h.dcid, len);
            return 0;
        }
        if (h.version == LWQ_VERSION_2 && !s->ctx->cfg.accept_v2) {
            if (len >= LWQ_MIN_INITIAL_DGRAM) /* RFC 9000 §6.1: no Retry or answer in a version we refuse */
                send_vn(s, path, &h);
            return 0;
        }
        if (h.type != LWQ_PKT_INITIAL || len < LWQ_MIN_INITIAL_DGRAM)
            return 0; /* RFC 9000 §14.1 */
        if (s->nconns >= s->lim.max_connections || s->handshakes >= s->lim.max_handshakes)
            return 0;
        lwq_cid odcid, token_odcid;
        if (lwq_cid_set(&odcid, h.dcid, h.dcid_len))
            return 0;
        /* RFC 9000 §8.1.3: a valid NEW_TOKEN token validates the address; any other is ignored. */
        int validated = h.token_len && lwq_new_token_check(s->ctx, path, h.token, h.token_len, now);
        int retry = s->lim.retry || s->handshakes >= s->lim.retry_above;
        if (retry && !validated) { /* RFC 9000 §8.1.2 */
            int t = token_check(s, path, &h, now, &token_odcid);
            if (t == TOKEN_ABSENT && h.dcid_len >= 8)
                send_retry(s, path, &h, now);
            else if (t == TOKEN_INVALID)
                send_invalid_token(s, path, &h);
            if (t != TOKEN_OK)
                return 0;
        } else if (h.token_len && !validated) {
            /* A Retry token from a moment of load, load now gone: still the client's proof. */
            if (token_check(s, path, &h, now, &token_odcid) == TOKEN_OK)
                retry = 1;
        }
        if (handshakes_from(s, path) >= s->lim.max_handshakes_per_addr)
            return 0;
        int rv = lwq_conn_server_new(&c, s->ctx, s, path, &h, retry && !validated ? &token_odcid : NULL, now);
        if (rv == LWQ_ERR_INVAL || rv == LWQ_ERR_LIMIT) /* LIMIT: no memory budget left for it */
            return 0;
        if (!rv && validated)
            c->address_validated = 1;
        if (!rv)
            c->null_protection = s->null_protection;
        if (!rv && (rv = add_conn(s, c)) != 0)
            lwq_conn_del(c);
        if (!rv && (rv = lwq_server_cid_add(s, &odcid, c)) != 0)
            lwq_server_remove(s, c);
        if (rv)
            return rv;
        if (created)
            *created = 1;
        fresh = 1;
    }
    *conn = c;
    int rv = lwq_conn_recv(c, path, data, len, ecn, now);
    /* RFC 9000 §5.2.2, §12.2: a first datagram without a packet that authenticates (an Initial corrupted on
     * the way, or not for these keys) is dropped and leaves no connection behind to hold a handshake slot. */
    if (fresh && !c->stats.packets_received) {
        lwq_server_remove(s, c);
        *conn = NULL;
        if (created)
            *created = 0;
        return rv == LWQ_ERR_NOMEM ? rv : 0;
    }
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

ssize_t lwq_server_send(lwq_server *s, lwq_path *path, uint8_t *buf, size_t cap, lwq_tstamp now)
{
    (void)now;
    if (!s->qcount)
        return 0;
    reply *r = &s->q[s->qhead];
    if (r->len > cap)
        return LWQ_ERR_NOBUF;
    memcpy(buf, r->data, r->len);
    if (path)
        *path = r->path;
    s->qhead = (s->qhead + 1) % REPLY_QUEUE;
    s->qcount--;
    return (ssize_t)r->len;
}

void lwq_server_remove(lwq_server *s, lwq_conn *c)
{
    for (size_t i = 0; i < s->nconns; i++)
        if (s->conns[i] == c) {
            s->conns[i] = s->conns[--s->nconns];
            if (!c->handshake_confirmed && s->handshakes)
                s->handshakes--;
            break;
        }
    drop_routes(s, c);
    c->server = NULL;
    lwq_conn_del(c);
}
