/* What the connection fuzz targets share: a seeded xorshift rng reset per input, an allocator that fails
 * where the input says and counts what is live, the client and server configurations, addresses and a
 * send helper. Each target is one translation unit; the state lives in static locals of inline functions,
 * so a target that does not use a helper pays nothing for it. */
#ifndef LWQ_FUZZ_CONN_H
#define LWQ_FUZZ_CONN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/protect.h"

#define FUZZ_CERT "tests/data/certs/server-ecdsa.pem"
#define FUZZ_KEY "tests/data/certs/server-ecdsa.key"

typedef struct fuzz_state {
    uint64_t rng;
    size_t alloc_count, alloc_live, fail_at, fail_period;
} fuzz_state;

static inline fuzz_state *fuzz_st(void)
{
    static fuzz_state st;
    return &st;
}

static inline void fuzz_fill(void *ud, uint8_t *out, size_t n)
{
    (void)ud;
    fuzz_state *st = fuzz_st();
    for (size_t i = 0; i < n; i++) {
        st->rng ^= st->rng << 13;
        st->rng ^= st->rng >> 7;
        st->rng ^= st->rng << 17;
        out[i] = (uint8_t)(st->rng >> 24);
    }
}

static inline const lwq_rng *fuzz_rng(void)
{
    static const lwq_rng r = {fuzz_fill, NULL};
    return &r;
}

/* Every input starts the rng from the same state, so a run depends on the input alone. */
static inline void fuzz_rng_reset(uint64_t seed)
{
    fuzz_st()->rng = seed;
}

static inline int fuzz_should_fail(void)
{
    fuzz_state *st = fuzz_st();
    st->alloc_count++;
    if (!st->fail_at || st->alloc_count < st->fail_at)
        return 0;
    if (st->alloc_count == st->fail_at)
        return 1;
    return st->fail_period && (st->alloc_count - st->fail_at) % st->fail_period == 0;
}

static inline void *fuzz_malloc(void *ud, size_t n)
{
    (void)ud;
    if (fuzz_should_fail())
        return NULL;
    void *p = malloc(n);
    fuzz_st()->alloc_live += p != NULL;
    return p;
}

static inline void *fuzz_calloc(void *ud, size_t m, size_t n)
{
    (void)ud;
    if (fuzz_should_fail())
        return NULL;
    void *p = calloc(m, n);
    fuzz_st()->alloc_live += p != NULL;
    return p;
}

static inline void *fuzz_realloc(void *ud, void *old, size_t n)
{
    (void)ud;
    if (fuzz_should_fail())
        return NULL;
    void *p = realloc(old, n);
    fuzz_st()->alloc_live += p != NULL && !old;
    return p;
}

static inline void fuzz_free(void *ud, void *p)
{
    (void)ud;
    fuzz_st()->alloc_live -= p != NULL;
    free(p);
}

/* malloc with failures: the fail_at-th allocation counted from fuzz_alloc_arm (0 = never), then every
 * fail_period-th after it. */
static inline const lwq_allocator *fuzz_alloc(void)
{
    static const lwq_allocator a = {fuzz_malloc, fuzz_calloc, fuzz_realloc, fuzz_free, NULL};
    return &a;
}

static inline void fuzz_alloc_arm(size_t fail_at, size_t fail_period)
{
    fuzz_state *st = fuzz_st();
    st->alloc_count = 0;
    st->fail_at = fail_at;
    st->fail_period = fail_period;
}

static inline size_t fuzz_alloc_live(void)
{
    return fuzz_st()->alloc_live;
}

static inline const char **fuzz_alpn(void)
{
    static const char *alpn[] = {"fuzz"};
    return alpn;
}

/* A client (insecure: no certificate check) and a server with the test certificate, both on the fuzz
 * rng; the caller adjusts them before lwq_context_new. */
static inline void fuzz_configs(lwq_config *c, lwq_config *s)
{
    lwq_config_init(c, 0);
    lwq_config_init(s, 1);
    c->rng = s->rng = fuzz_rng();
    c->alpn = s->alpn = fuzz_alpn();
    c->alpn_count = s->alpn_count = 1;
    c->insecure = 1;
    s->cert_file = FUZZ_CERT;
    s->key_file = FUZZ_KEY;
}

static inline int fuzz_contexts(lwq_context **cctx, const lwq_config *c, lwq_context **sctx, const lwq_config *s)
{
    const char *why;
    return lwq_context_new(cctx, c, &why) || lwq_context_new(sctx, s, &why) ? -1 : 0;
}

/* An IPv4 path; either address may be NULL (left empty). */
static inline lwq_path fuzz_path(const char *lip, uint16_t lport, const char *rip, uint16_t rport)
{
    lwq_path p;
    memset(&p, 0, sizeof(p));
    struct sockaddr_in *l = (struct sockaddr_in *)&p.local, *r = (struct sockaddr_in *)&p.remote;
    if (lip) {
        l->sin_family = AF_INET;
        inet_pton(AF_INET, lip, &l->sin_addr);
        l->sin_port = htons(lport);
        p.local_len = sizeof(struct sockaddr_in);
    }
    if (rip) {
        r->sin_family = AF_INET;
        inet_pton(AF_INET, rip, &r->sin_addr);
        r->sin_port = htons(rport);
        p.remote_len = sizeof(struct sockaddr_in);
    }
    return p;
}

/* One datagram from c (one segment), or 0 / a negative error. */
static inline ssize_t fuzz_conn_out(lwq_conn *c, uint8_t *buf, size_t cap, lwq_tstamp now)
{
    lwq_path p;
    size_t seg;
    uint8_t ecn;
    return lwq_conn_send(c, &p, buf, cap, 1, &seg, &ecn, now);
}

/* One packet of type t (0-RTT or 1-RTT) from `from` carrying the frames in data (padded to 4 bytes), sealed with
 * k: its length, or negative. */
static inline ssize_t fuzz_seal_packet(const lwq_conn *from, lwq_pkt_type t, const lwq_quic_keys *k, uint64_t pn,
                                       const uint8_t *data, size_t n, uint8_t *out, size_t cap)
{
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    const lwq_cid *dcid = lwq_cids_dcid(from);
    ho.type = t;
    ho.version = LWQ_VERSION_1;
    ho.dcid = dcid->id;
    ho.dcid_len = dcid->len;
    ho.scid = from->cids.local[0].cid.id;
    ho.scid_len = from->cids.local[0].cid.len;
    ho.pn = pn;
    ho.pn_len = 4;
    ho.payload_len = n < 4 ? 4 : n;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ssize_t h = lwq_pkt_hdr_encode(out, cap, &ho);
    if (h < 0 || (size_t)h + ho.payload_len + LWQ_AEAD_TAG_LEN > cap)
        return -1;
    memset(out + h, 0, ho.payload_len);
    if (n)
        memcpy(out + h, data, n);
    return lwq_packet_protect(k, pn, out, (size_t)h, ho.payload_len, cap);
}

/* A 1-RTT packet from the client cl (its next packet number, its write keys) with up to 1200 bytes of frames. */
static inline ssize_t fuzz_seal_1rtt(lwq_conn *cl, const uint8_t *data, size_t n, uint8_t *out, size_t cap)
{
    lwq_sentmap *m = &cl->rec.spaces[LWQ_SPACE_APP];
    return fuzz_seal_packet(cl, LWQ_PKT_1RTT, &cl->sp[LWQ_SPACE_APP].wk, m->next_pn++, data, n > 1200 ? 1200 : n, out,
                            cap);
}

/* Input cursor: records are read from the front, never past the end. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline int fuzz_u8(fuzz_in *in, uint8_t *v)
{
    if (!in->n)
        return 0;
    *v = in->p[0];
    in->p++, in->n--;
    return 1;
}

static inline int fuzz_u16(fuzz_in *in, uint16_t *v)
{
    if (in->n < 2)
        return 0;
    *v = lwq_get16(in->p);
    in->p += 2, in->n -= 2;
    return 1;
}

/* Up to want bytes (fewer at the end of the input). */
static inline size_t fuzz_take(fuzz_in *in, const uint8_t **p, size_t want)
{
    size_t n = want < in->n ? want : in->n;
    *p = in->p;
    in->p += n, in->n -= n;
    return n;
}

#endif
