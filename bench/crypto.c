/* Crypto backend throughput: each AEAD through lwquic's chosen backend, beside
 * mbedTLS's own AES-256-GCM and ChaCha20-Poly1305; header protection masks;
 * X25519 and P-256 key exchange. Run by bench/crypto.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mbedtls/gcm.h>
#include <mbedtls/chachapoly.h>
#include "lwquic/common.h"
#include "tls/crypto.h"

int lwq_aead_init_portable(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key);

#define MIN_SECONDS 0.3
#define MAX_LEN 16384

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t buf[MAX_LEN + 16], pt[MAX_LEN], key[32], nonce[12], aad[24];

typedef int (*op_fn)(void *ctx, size_t len, int seal);

/* Operations per second of op, run until MIN_SECONDS have passed. */
static double rate(op_fn op, void *ctx, size_t len, int seal)
{
    size_t n = 0, batch = 16;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < batch; i++) {
            if (op(ctx, len, seal) != 0) {
                fprintf(stderr, "bench: operation failed\n");
                exit(1);
            }
        }
        n += batch;
        batch *= 2;
        t = now() - t0;
    } while (t < MIN_SECONDS);
    return (double)n / t;
}

static int lwq_op(void *ctx, size_t len, int seal)
{
    if (seal)
        return lwq_aead_seal(ctx, nonce, aad, sizeof(aad), pt, len, buf);
    return lwq_aead_open(ctx, nonce, aad, sizeof(aad), buf, len + 16, pt);
}

static int mbed_gcm_op(void *ctx, size_t len, int seal)
{
    if (seal)
        return mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, len, nonce, 12, aad, sizeof(aad), pt, buf, 16,
                                         buf + len);
    return mbedtls_gcm_auth_decrypt(ctx, len, nonce, 12, aad, sizeof(aad), buf + len, 16, buf, pt);
}

static int mbed_chachapoly_op(void *ctx, size_t len, int seal)
{
    if (seal)
        return mbedtls_chachapoly_encrypt_and_tag(ctx, len, nonce, aad, sizeof(aad), pt, buf, buf + len);
    return mbedtls_chachapoly_auth_decrypt(ctx, len, nonce, aad, sizeof(aad), buf + len, buf, pt);
}

static void row(const char *alg, const char *impl, op_fn op, void *ctx)
{
    static const size_t lens[] = {1200, MAX_LEN};
    for (size_t i = 0; i < 2; i++) {
        size_t len = lens[i];
        /* open needs a valid ciphertext in buf */
        op(ctx, len, 1);
        double s = rate(op, ctx, len, 1) * (double)len * 8 / 1e9;
        double o = rate(op, ctx, len, 0) * (double)len * 8 / 1e9;
        printf("%-20s %-24s %6zu B  seal %6.2f Gbit/s  open %6.2f Gbit/s\n", alg, impl, len, s, o);
    }
}

static const char *backend_name(lwq_aead_alg alg)
{
    switch (alg) {
    case LWQ_AEAD_AES128GCM:
        return "lwquic (mbedTLS)";
    case LWQ_AEAD_AES256GCM:
        return lwq_aead_is_fast(alg) ? "lwquic (libsodium)" : "lwquic (mbedTLS)";
    default:
        return "lwquic (libsodium)";
    }
}

static int hp_op(void *ctx, size_t len, int seal)
{
    uint8_t mask[5];
    (void)len;
    (void)seal;
    int rc = lwq_hp_mask(ctx, buf, mask);
    buf[0] ^= mask[0]; /* a dependency between iterations */
    return rc;
}

typedef struct kex_ctx {
    lwq_group group;
    lwq_kex peer;
} kex_ctx;

static int kex_op(void *ctx, size_t len, int seal)
{
    kex_ctx *k = ctx;
    lwq_kex me;
    uint8_t shared[32];
    size_t sl;
    (void)len;
    (void)seal;
    if (lwq_kex_keygen(&me, k->group, lwq_default_rng()) != 0)
        return -1;
    int rc = lwq_kex_derive(&me, k->peer.pub, k->peer.publen, shared, &sl);
    lwq_kex_clear(&me);
    return rc;
}

int main(void)
{
    static const struct {
        lwq_aead_alg alg;
        const char *name;
    } algs[] = {{LWQ_AEAD_AES128GCM, "AES-128-GCM"},
                {LWQ_AEAD_AES256GCM, "AES-256-GCM"},
                {LWQ_AEAD_CHACHA20POLY1305, "ChaCha20-Poly1305"}};
    lwq_default_rng()->fill(NULL, key, sizeof(key));
    lwq_default_rng()->fill(NULL, pt, sizeof(pt));

    printf("== AEAD (aad %zu B; 1 Gbit/s = 125 MB/s)\n", sizeof(aad));
    printf("lwq_aead_is_fast: AES-128-GCM %d, AES-256-GCM %d, ChaCha20-Poly1305 %d\n",
           lwq_aead_is_fast(LWQ_AEAD_AES128GCM), lwq_aead_is_fast(LWQ_AEAD_AES256GCM),
           lwq_aead_is_fast(LWQ_AEAD_CHACHA20POLY1305));
    for (size_t i = 0; i < 3; i++) {
        lwq_aead a;
        if (lwq_aead_init(&a, algs[i].alg, key) != 0)
            return 1;
        row(algs[i].name, backend_name(algs[i].alg), lwq_op, &a);
        lwq_aead_free(&a);
        if (algs[i].alg == LWQ_AEAD_AES256GCM) {
            mbedtls_gcm_context g;
            mbedtls_gcm_init(&g);
            mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
            row(algs[i].name, "mbedTLS gcm directly", mbed_gcm_op, &g);
            mbedtls_gcm_free(&g);
            if (lwq_aead_init_portable(&a, algs[i].alg, key) != 0)
                return 1;
            row(algs[i].name, "lwquic forced mbedTLS", lwq_op, &a);
            lwq_aead_free(&a);
        }
        if (algs[i].alg == LWQ_AEAD_CHACHA20POLY1305) {
            mbedtls_chachapoly_context c;
            mbedtls_chachapoly_init(&c);
            mbedtls_chachapoly_setkey(&c, key);
            row(algs[i].name, "mbedTLS chachapoly", mbed_chachapoly_op, &c);
            mbedtls_chachapoly_free(&c);
        }
    }

    printf("== header protection (RFC 9001 §5.4)\n");
    for (size_t i = 0; i < 3; i++) {
        lwq_hp hp;
        if (lwq_hp_init(&hp, algs[i].alg, key) != 0)
            return 1;
        printf("%-20s %10.2f M masks/s\n", algs[i].name, rate(hp_op, &hp, 16, 1) / 1e6);
        lwq_hp_free(&hp);
    }

    printf("== key exchange (keygen + derive, one side)\n");
    static const struct {
        lwq_group group;
        const char *name;
    } groups[] = {{LWQ_GROUP_X25519, "X25519 (libsodium)"}, {LWQ_GROUP_SECP256R1, "P-256 (mbedTLS)"}};
    for (size_t i = 0; i < 2; i++) {
        kex_ctx k;
        k.group = groups[i].group;
        if (lwq_kex_keygen(&k.peer, k.group, lwq_default_rng()) != 0)
            return 1;
        printf("%-20s %10.1f us\n", groups[i].name, 1e6 / rate(kex_op, &k, 0, 1));
        lwq_kex_clear(&k.peer);
    }
    return 0;
}
