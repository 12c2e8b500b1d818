/* SHA-256/384 from mbedTLS; HMAC (RFC 2104) and HKDF (RFC 5869) built on them
 * here so that nothing allocates (mbedtls_md would allocate per call). */
#include <string.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include "base/mem.h"
#include "tls/crypto.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((lwq_hash_ctx *)0)->state), "sha256 state fits");
_Static_assert(sizeof(mbedtls_sha512_context) <= sizeof(((lwq_hash_ctx *)0)->state), "sha512 state fits");
_Static_assert(_Alignof(mbedtls_sha512_context) <= 16, "sha512 state alignment");

#define BLOCK_MAX 128

size_t lwq_hash_len(lwq_hash_alg alg) { return alg == LWQ_HASH_SHA384 ? 48 : 32; }

static size_t block_len(lwq_hash_alg alg) { return alg == LWQ_HASH_SHA384 ? 128 : 64; }

void lwq_hash_init(lwq_hash_ctx *ctx, lwq_hash_alg alg)
{
    ctx->alg = alg;
    if (alg == LWQ_HASH_SHA384) {
        mbedtls_sha512_context *c = (mbedtls_sha512_context *)ctx->state;
        mbedtls_sha512_init(c);
        mbedtls_sha512_starts_ret(c, 1);
    } else {
        mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx->state;
        mbedtls_sha256_init(c);
        mbedtls_sha256_starts_ret(c, 0);
    }
}

void lwq_hash_update(lwq_hash_ctx *ctx, const uint8_t *p, size_t n)
{
    if (!n)
        return;
    if (ctx->alg == LWQ_HASH_SHA384)
        mbedtls_sha512_update_ret((mbedtls_sha512_context *)ctx->state, p, n);
    else
        mbedtls_sha256_update_ret((mbedtls_sha256_context *)ctx->state, p, n);
}

void lwq_hash_final(lwq_hash_ctx *ctx, uint8_t *out)
{
    if (ctx->alg == LWQ_HASH_SHA384) {
        uint8_t full[64];
        mbedtls_sha512_finish_ret((mbedtls_sha512_context *)ctx->state, full);
        memcpy(out, full, 48);
        lwq_wipe(full, sizeof(full));
    } else {
        mbedtls_sha256_finish_ret((mbedtls_sha256_context *)ctx->state, out);
    }
    lwq_wipe(ctx->state, sizeof(ctx->state));
}

void lwq_hash(lwq_hash_alg alg, const uint8_t *p, size_t n, uint8_t *out)
{
    lwq_hash_ctx c;
    lwq_hash_init(&c, alg);
    lwq_hash_update(&c, p, n);
    lwq_hash_final(&c, out);
}

/* RFC 2104 §2 */
void lwq_hmac(lwq_hash_alg alg, const uint8_t *key, size_t keylen, const uint8_t *p, size_t n, uint8_t *out)
{
    size_t bl = block_len(alg), hl = lwq_hash_len(alg);
    uint8_t k[BLOCK_MAX], inner[LWQ_HASH_MAX];
    lwq_hash_ctx c;

    memset(k, 0, sizeof(k));
    if (keylen > bl)
        lwq_hash(alg, key, keylen, k);
    else if (keylen)
        memcpy(k, key, keylen);
    for (size_t i = 0; i < bl; i++)
        k[i] ^= 0x36;
    lwq_hash_init(&c, alg);
    lwq_hash_update(&c, k, bl);
    lwq_hash_update(&c, p, n);
    lwq_hash_final(&c, inner);
    for (size_t i = 0; i < bl; i++)
        k[i] ^= 0x36 ^ 0x5c;
    lwq_hash_init(&c, alg);
    lwq_hash_update(&c, k, bl);
    lwq_hash_update(&c, inner, hl);
    lwq_hash_final(&c, out);
    lwq_wipe(k, sizeof(k));
    lwq_wipe(inner, sizeof(inner));
}

/* RFC 5869 §2.2; a missing salt is HashLen zeros, which HMAC pads to the same key. */
void lwq_hkdf_extract(lwq_hash_alg alg, const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                      uint8_t *prk)
{
    lwq_hmac(alg, salt, saltlen, ikm, ikmlen, prk);
}

/* RFC 5869 §2.3 */
int lwq_hkdf_expand(lwq_hash_alg alg, const uint8_t *prk, size_t prklen, const uint8_t *info, size_t infolen,
                    uint8_t *out, size_t outlen)
{
    size_t hl = lwq_hash_len(alg), bl = block_len(alg);
    uint8_t k[BLOCK_MAX], ipad[BLOCK_MAX], opad[BLOCK_MAX], t[LWQ_HASH_MAX];
    lwq_hash_ctx in0, out0, c;

    if (outlen > 255 * hl)
        return LWQ_ERR_INVAL;
    memset(k, 0, sizeof(k));
    if (prklen > bl)
        lwq_hash(alg, prk, prklen, k);
    else if (prklen)
        memcpy(k, prk, prklen);
    for (size_t i = 0; i < bl; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    /* The keyed inner and outer states are computed once and forked per block. */
    lwq_hash_init(&in0, alg);
    lwq_hash_update(&in0, ipad, bl);
    lwq_hash_init(&out0, alg);
    lwq_hash_update(&out0, opad, bl);
    for (size_t done = 0, i = 1; done < outlen; i++) {
        uint8_t ctr = (uint8_t)i;
        c = in0;
        if (i > 1)
            lwq_hash_update(&c, t, hl);
        lwq_hash_update(&c, info, infolen);
        lwq_hash_update(&c, &ctr, 1);
        lwq_hash_final(&c, t);
        c = out0;
        lwq_hash_update(&c, t, hl);
        lwq_hash_final(&c, t);
        size_t take = outlen - done < hl ? outlen - done : hl;
        memcpy(out + done, t, take);
        done += take;
    }
    lwq_wipe(k, sizeof(k));
    lwq_wipe(ipad, sizeof(ipad));
    lwq_wipe(opad, sizeof(opad));
    lwq_wipe(t, sizeof(t));
    lwq_wipe(&in0, sizeof(in0));
    lwq_wipe(&out0, sizeof(out0));
    lwq_wipe(&c, sizeof(c));
    return 0;
}
