/* NEW_TOKEN tokens sealed with the context's token key, and the 0-RTT replay cache. */
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/token.h"

#define ADDR_LEN 17 /* family, 16 address bytes: no port (RFC 9000 §8.1.3) */
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define PLAIN (8 + ADDR_LEN)
#define FP_LEN 16

static void addr_of(const lwq_path *path, uint8_t *out)
{
    memset(out, 0, ADDR_LEN);
    if (path->remote.ss_family == AF_INET) {
        out[0] = 4;
        memcpy(out + 1, &((const struct sockaddr_in *)&path->remote)->sin_addr, 4);
    } else if (path->remote.ss_family == AF_INET6) {
        out[0] = 6;
        memcpy(out + 1, &((const struct sockaddr_in6 *)&path->remote)->sin6_addr, 16);
    }
}

/* The magic is the associated data: a Retry token (another magic, the version too) never opens as
 * a NEW_TOKEN token under the same key, nor the reverse. */
size_t lwq_new_token_make(const lwq_context *ctx, const lwq_path *path, lwq_tstamp now, uint8_t *out)
{
    uint8_t pt[PLAIN], ad = LWQ_NEW_TOKEN_MAGIC;
    lwq_put64(pt, now);
    addr_of(path, pt + 8);
    out[0] = LWQ_NEW_TOKEN_MAGIC;
    ctx->rng->fill(ctx->rng->ud, out + 1, NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE, NULL, pt, sizeof(pt), &ad, 1, NULL, out + 1,
                                               ctx->token_key);
    lwq_wipe(pt, sizeof(pt));
    return LWQ_NEW_TOKEN_LEN;
}

int lwq_new_token_check(const lwq_context *ctx, const lwq_path *path, const uint8_t *tok, size_t n, lwq_tstamp now)
{
    if (n != LWQ_NEW_TOKEN_LEN || tok[0] != LWQ_NEW_TOKEN_MAGIC)
        return 0;
    uint8_t pt[PLAIN], addr[ADDR_LEN], ad = LWQ_NEW_TOKEN_MAGIC;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, tok + 1 + NONCE, n - 1 - NONCE, &ad, 1, tok + 1,
                                                   ctx->token_key))
        return 0;
    addr_of(path, addr);
    uint64_t issued = lwq_get64(pt);
    int ok = sodium_memcmp(pt + 8, addr, ADDR_LEN) == 0 && addr[0] != 0;
    ok &= now >= issued && now - issued <= LWQ_NEW_TOKEN_LIFETIME;
    lwq_wipe(pt, sizeof(pt));
    return ok;
}

typedef struct replay_entry {
    uint8_t fp[FP_LEN];
    lwq_tstamp at;
} replay_entry;

struct lwq_replay {
    const lwq_allocator *alloc;
    uint8_t key[crypto_generichash_KEYBYTES];
    size_t head, count; /* a ring in insertion order */
    lwq_tstamp latest;
    replay_entry e[LWQ_REPLAY_MAX];
};

int lwq_replay_new(lwq_replay **out, const lwq_allocator *a, const lwq_rng *rng)
{
    lwq_replay *r = lwq_calloc(a, 1, sizeof(*r));
    *out = r;
    if (!r)
        return LWQ_ERR_NOMEM;
    r->alloc = a;
    rng->fill(rng->ud, r->key, sizeof(r->key));
    return 0;
}

void lwq_replay_del(lwq_replay *r)
{
    if (r)
        lwq_free(r->alloc, r);
}

int lwq_replay_fresh(lwq_replay *r, const uint8_t *binder, size_t len, lwq_tstamp now)
{
    /* Connections give their own clocks; the cache never goes back in time. */
    if (now < r->latest)
        now = r->latest;
    r->latest = now;
    while (r->count && r->e[r->head].at + LWQ_REPLAY_WINDOW <= now) {
        r->head = (r->head + 1) % LWQ_REPLAY_MAX;
        r->count--;
    }
    uint8_t fp[FP_LEN];
    crypto_generichash(fp, sizeof(fp), binder, len, r->key, sizeof(r->key));
    for (size_t i = 0; i < r->count; i++)
        if (sodium_memcmp(r->e[(r->head + i) % LWQ_REPLAY_MAX].fp, fp, FP_LEN) == 0)
            return 0;
    if (r->count == LWQ_REPLAY_MAX)
        return 0;
    replay_entry *e = &r->e[(r->head + r->count) % LWQ_REPLAY_MAX];
    memcpy(e->fp, fp, FP_LEN);
    e->at = now;
    r->count++;
    return 1;
}
