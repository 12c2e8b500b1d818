/* AEADs (RFC 5116) and QUIC header protection (RFC 9001 §5.4).
 * AES-128-GCM: mbedTLS. AES-256-GCM: libsodium when the CPU has AES-NI and
 * PCLMUL, else mbedTLS. ChaCha20-Poly1305 and ChaCha20: libsodium.
 * Seal and open take a const context: per-message GCM state lives on the stack. */
#include <string.h>
#include <sodium.h>
#include <mbedtls/aes.h>
#include <mbedtls/gcm.h>
#include "base/mem.h"
#include "tls/crypto.h"

enum { BACKEND_NONE = 0, BACKEND_MBEDTLS_GCM = 1, BACKEND_SODIUM_AES256GCM = 2, BACKEND_SODIUM_CHACHA = 3 };

_Static_assert(sizeof(mbedtls_gcm_context) <= sizeof(((lwq_aead *)0)->state), "gcm state fits");
_Static_assert(sizeof(crypto_aead_aes256gcm_state) <= sizeof(((lwq_aead *)0)->state), "aes256gcm state fits");
_Static_assert(_Alignof(crypto_aead_aes256gcm_state) <= 16, "aes256gcm state alignment");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES <= sizeof(((lwq_aead *)0)->state), "chacha key fits");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == LWQ_AEAD_IV_LEN, "chacha nonce length");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == LWQ_AEAD_IV_LEN, "aes256gcm nonce length");
/* The HP state holds the AES context, then the offset of its round keys in buf. */
#define HP_RK_OFF(st) ((size_t *)((st) + sizeof(mbedtls_aes_context) + (-sizeof(mbedtls_aes_context) & 7)))
_Static_assert(sizeof(mbedtls_aes_context) + 8 + sizeof(size_t) <= sizeof(((lwq_hp *)0)->state), "aes-ecb state fits");
_Static_assert(crypto_stream_chacha20_ietf_KEYBYTES <= sizeof(((lwq_hp *)0)->state), "chacha20 key fits");

static int sodium_ready(void) { return sodium_init() >= 0; }

size_t lwq_aead_key_len(lwq_aead_alg alg) { return alg == LWQ_AEAD_AES128GCM ? 16 : 32; }

static int have_aesni(void) { return sodium_ready() && crypto_aead_aes256gcm_is_available(); }

int lwq_aead_is_fast(lwq_aead_alg alg)
{
    /* "Fast" means a pipelined AES-NI/PCLMUL implementation: libsodium's. mbedTLS's
     * GCM also uses AES-NI but one block at a time, ~8x slower here (bench/crypto.sh). */
    switch (alg) {
    case LWQ_AEAD_AES128GCM:
        return 0;
    case LWQ_AEAD_AES256GCM:
        return have_aesni();
    case LWQ_AEAD_CHACHA20POLY1305:
        return 1;
    }
    return 0;
}

static int init_mbedtls_gcm(lwq_aead *ctx, const uint8_t *key, unsigned bits)
{
    mbedtls_gcm_context *g = (mbedtls_gcm_context *)ctx->state;
    mbedtls_gcm_init(g);
    int rc = mbedtls_gcm_setkey(g, MBEDTLS_CIPHER_ID_AES, key, bits);
    if (rc != 0) {
        mbedtls_gcm_free(g);
        return rc == MBEDTLS_ERR_CIPHER_ALLOC_FAILED ? LWQ_ERR_NOMEM : LWQ_ERR_CRYPTO;
    }
    ctx->backend = BACKEND_MBEDTLS_GCM;
    return 0;
}

/* Not in the contract: forces the mbedTLS implementation of AES-GCM (tests, bench). */
int lwq_aead_init_portable(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key);

int lwq_aead_init_portable(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->alg = alg;
    if (alg != LWQ_AEAD_AES128GCM && alg != LWQ_AEAD_AES256GCM)
        return LWQ_ERR_UNSUPPORTED;
    return init_mbedtls_gcm(ctx, key, alg == LWQ_AEAD_AES128GCM ? 128 : 256);
}

int lwq_aead_init(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->alg = alg;
    switch (alg) {
    case LWQ_AEAD_AES128GCM:
        return init_mbedtls_gcm(ctx, key, 128);
    case LWQ_AEAD_AES256GCM:
        if (!have_aesni())
            return init_mbedtls_gcm(ctx, key, 256);
        if (crypto_aead_aes256gcm_beforenm((crypto_aead_aes256gcm_state *)ctx->state, key) != 0)
            return LWQ_ERR_CRYPTO;
        ctx->backend = BACKEND_SODIUM_AES256GCM;
        return 0;
    case LWQ_AEAD_CHACHA20POLY1305:
        if (!sodium_ready())
            return LWQ_ERR_CRYPTO;
        memcpy(ctx->state, key, crypto_aead_chacha20poly1305_ietf_KEYBYTES);
        ctx->backend = BACKEND_SODIUM_CHACHA;
        return 0;
    }
    return LWQ_ERR_UNSUPPORTED;
}

void lwq_aead_free(lwq_aead *ctx)
{
    if (ctx->backend == BACKEND_MBEDTLS_GCM)
        mbedtls_gcm_free((mbedtls_gcm_context *)ctx->state);
    lwq_wipe(ctx->state, sizeof(ctx->state));
    ctx->backend = BACKEND_NONE;
}

/* mbedtls_gcm keeps per-message state in its context; run it on a shallow
 * copy. The shared AES key schedule behind cipher_ctx is only read. */
static int gcm_run(const lwq_aead *ctx, int mode, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    mbedtls_gcm_context g;
    memcpy(&g, ctx->state, sizeof(g));
    int rc = mbedtls_gcm_crypt_and_tag(&g, mode, len, nonce, LWQ_AEAD_IV_LEN, aad, aadlen, in, out,
                                       LWQ_AEAD_TAG_LEN, tag);
    lwq_wipe(&g, sizeof(g));
    return rc;
}

int lwq_aead_seal(const lwq_aead *ctx, const uint8_t *nonce, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *out)
{
    switch (ctx->backend) {
    case BACKEND_MBEDTLS_GCM:
        if (gcm_run(ctx, MBEDTLS_GCM_ENCRYPT, nonce, aad, aadlen, in, inlen, out, out + inlen) != 0)
            return LWQ_ERR_CRYPTO;
        return 0;
    case BACKEND_SODIUM_AES256GCM:
        if (crypto_aead_aes256gcm_encrypt_detached_afternm(out, out + inlen, NULL, in, inlen, aad, aadlen, NULL,
                                                           nonce,
                                                           (const crypto_aead_aes256gcm_state *)ctx->state) != 0)
            return LWQ_ERR_CRYPTO;
        return 0;
    case BACKEND_SODIUM_CHACHA:
        if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + inlen, NULL, in, inlen, aad, aadlen, NULL,
                                                               nonce, ctx->state) != 0)
            return LWQ_ERR_CRYPTO;
        return 0;
    }
    return LWQ_ERR_STATE;
}

int lwq_aead_open(const lwq_aead *ctx, const uint8_t *nonce, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *out)
{
    if (inlen < LWQ_AEAD_TAG_LEN)
        return LWQ_ERR_DECRYPT;
    size_t len = inlen - LWQ_AEAD_TAG_LEN;
    uint8_t tag[LWQ_AEAD_TAG_LEN];
    /* The tag is copied first: with in == out it would be overwritten. */
    memcpy(tag, in + len, LWQ_AEAD_TAG_LEN);
    switch (ctx->backend) {
    case BACKEND_MBEDTLS_GCM: {
        mbedtls_gcm_context g;
        memcpy(&g, ctx->state, sizeof(g));
        int rc = mbedtls_gcm_auth_decrypt(&g, len, nonce, LWQ_AEAD_IV_LEN, aad, aadlen, tag, LWQ_AEAD_TAG_LEN,
                                          in, out);
        lwq_wipe(&g, sizeof(g));
        if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
            return LWQ_ERR_DECRYPT;
        return rc ? LWQ_ERR_CRYPTO : 0;
    }
    case BACKEND_SODIUM_AES256GCM:
        if (crypto_aead_aes256gcm_decrypt_detached_afternm(out, NULL, in, len, tag, aad, aadlen, nonce,
                                                           (const crypto_aead_aes256gcm_state *)ctx->state) != 0)
            return LWQ_ERR_DECRYPT;
        return 0;
    case BACKEND_SODIUM_CHACHA:
        if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, in, len, tag, aad, aadlen, nonce,
                                                               ctx->state) != 0)
            return LWQ_ERR_DECRYPT;
        return 0;
    }
    return LWQ_ERR_STATE;
}

int lwq_hp_init(lwq_hp *ctx, lwq_aead_alg alg, const uint8_t *key)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->alg = alg;
    switch (alg) {
    case LWQ_AEAD_AES128GCM:
    case LWQ_AEAD_AES256GCM: {
        mbedtls_aes_context *a = (mbedtls_aes_context *)ctx->state;
        mbedtls_aes_init(a);
        if (mbedtls_aes_setkey_enc(a, key, alg == LWQ_AEAD_AES128GCM ? 128 : 256) != 0) {
            lwq_hp_free(ctx);
            return LWQ_ERR_CRYPTO;
        }
        *HP_RK_OFF(ctx->state) = (size_t)(a->rk - a->buf);
        return 0;
    }
    case LWQ_AEAD_CHACHA20POLY1305:
        if (!sodium_ready())
            return LWQ_ERR_CRYPTO;
        memcpy(ctx->state, key, crypto_stream_chacha20_ietf_KEYBYTES);
        return 0;
    }
    return LWQ_ERR_UNSUPPORTED;
}

void lwq_hp_free(lwq_hp *ctx) { lwq_wipe(ctx->state, sizeof(ctx->state)); }

int lwq_hp_mask(const lwq_hp *ctx, const uint8_t *sample, uint8_t *mask)
{
    if (ctx->alg == LWQ_AEAD_CHACHA20POLY1305) {
        /* RFC 9001 §5.4.4: counter = sample[0..4) little-endian, nonce = sample[4..16). */
        static const uint8_t zeros[5];
        uint32_t counter = (uint32_t)sample[0] | (uint32_t)sample[1] << 8 | (uint32_t)sample[2] << 16 |
                           (uint32_t)sample[3] << 24;
        if (crypto_stream_chacha20_ietf_xor_ic(mask, zeros, 5, sample + 4, counter, ctx->state) != 0)
            return LWQ_ERR_CRYPTO;
        return 0;
    }
    /* RFC 9001 §5.4.3. The round-key pointer is internal to the context: if
     * the owner moved the struct since init, work on a re-pointed copy. */
    const mbedtls_aes_context *a = (const mbedtls_aes_context *)ctx->state;
    size_t off = *HP_RK_OFF((uint8_t *)ctx->state);
    uint8_t block[16];
    int rc;
    if (a->rk == a->buf + off) {
        rc = mbedtls_aes_crypt_ecb((mbedtls_aes_context *)a, MBEDTLS_AES_ENCRYPT, sample, block);
    } else {
        mbedtls_aes_context moved = *a;
        moved.rk = moved.buf + off;
        rc = mbedtls_aes_crypt_ecb(&moved, MBEDTLS_AES_ENCRYPT, sample, block);
        lwq_wipe(&moved, sizeof(moved));
    }
    if (rc != 0)
        return LWQ_ERR_CRYPTO;
    memcpy(mask, block, 5);
    lwq_wipe(block, sizeof(block));
    return 0;
}

_Static_assert(sizeof(mbedtls_aes_context) < sizeof(((lwq_aes128 *)0)->state), "aes-128 state and mode fit");

int lwq_aes128_init(lwq_aes128 *ctx, const uint8_t *key, int decrypt)
{
    mbedtls_aes_context *a = (mbedtls_aes_context *)ctx->state;
    mbedtls_aes_init(a);
    int rc = decrypt ? mbedtls_aes_setkey_dec(a, key, 128) : mbedtls_aes_setkey_enc(a, key, 128);
    if (rc != 0) {
        lwq_aes128_free(ctx);
        return LWQ_ERR_CRYPTO;
    }
    /* the mode is kept by the context: mbedtls_aes_crypt_ecb's argument must match the key schedule */
    ctx->state[sizeof(ctx->state) - 1] = (uint8_t)(decrypt ? 1 : 0);
    return 0;
}

int lwq_aes128_block(lwq_aes128 *ctx, const uint8_t *in, uint8_t *out)
{
    int mode = ctx->state[sizeof(ctx->state) - 1] ? MBEDTLS_AES_DECRYPT : MBEDTLS_AES_ENCRYPT;
    return mbedtls_aes_crypt_ecb((mbedtls_aes_context *)ctx->state, mode, in, out) ? LWQ_ERR_CRYPTO : 0;
}

void lwq_aes128_free(lwq_aes128 *ctx) { lwq_wipe(ctx->state, sizeof(ctx->state)); }
