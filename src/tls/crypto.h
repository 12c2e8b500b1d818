/* The crypto backend contract: every primitive lwquic uses, behind one small
 * interface. Implemented in crypto_*.c on mbedTLS 2.28 and libsodium 1.0.18,
 * picking the fastest primitive available (docs/architecture.md, "Crypto").
 * Nothing here allocates through lwq_allocator: contexts are embedded. */
#ifndef LWQ_TLS_CRYPTO_H
#define LWQ_TLS_CRYPTO_H

#include <stdint.h>
#include <stddef.h>
#include "lwquic/common.h"

/* ---- hashes, HMAC, HKDF (RFC 5869) ---- */
typedef enum { LWQ_HASH_SHA256 = 0, LWQ_HASH_SHA384 = 1 } lwq_hash_alg;
#define LWQ_HASH_MAX 48

size_t lwq_hash_len(lwq_hash_alg alg);

/* Plain struct: copying it forks the running hash (transcript snapshots). */
typedef struct lwq_hash_ctx {
    lwq_hash_alg alg;
    _Alignas(16) uint8_t state[240];
} lwq_hash_ctx;

void lwq_hash_init(lwq_hash_ctx *ctx, lwq_hash_alg alg);
void lwq_hash_update(lwq_hash_ctx *ctx, const uint8_t *p, size_t n);
/* Writes lwq_hash_len() bytes; ctx is left unusable (copy it first to keep going). */
void lwq_hash_final(lwq_hash_ctx *ctx, uint8_t *out);
void lwq_hash(lwq_hash_alg alg, const uint8_t *p, size_t n, uint8_t *out);

void lwq_hmac(lwq_hash_alg alg, const uint8_t *key, size_t keylen, const uint8_t *p, size_t n, uint8_t *out);
/* prk gets lwq_hash_len(alg) bytes. */
void lwq_hkdf_extract(lwq_hash_alg alg, const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                      uint8_t *prk);
/* LWQ_ERR_INVAL when outlen > 255 * hash length. */
int lwq_hkdf_expand(lwq_hash_alg alg, const uint8_t *prk, size_t prklen, const uint8_t *info, size_t infolen,
                    uint8_t *out, size_t outlen);

/* ---- AEAD (RFC 5116) with per-key contexts ---- */
typedef enum {
    LWQ_AEAD_AES128GCM = 0,
    LWQ_AEAD_AES256GCM = 1,
    LWQ_AEAD_CHACHA20POLY1305 = 2,
} lwq_aead_alg;
#define LWQ_AEAD_TAG_LEN 16
#define LWQ_AEAD_IV_LEN 12
#define LWQ_AEAD_KEY_MAX 32

size_t lwq_aead_key_len(lwq_aead_alg alg);
/* 1 when this machine runs alg in hardware/fast path (AES-NI for AES-GCM). */
int lwq_aead_is_fast(lwq_aead_alg alg);

typedef struct lwq_aead {
    lwq_aead_alg alg;
    int backend; /* which library runs it; implementation detail */
    _Alignas(16) uint8_t state[1024];
} lwq_aead;

int lwq_aead_init(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key);
void lwq_aead_free(lwq_aead *ctx);
/* out receives inlen + 16 bytes; in and out may be the same buffer. nonce is the full 12-byte nonce. */
int lwq_aead_seal(const lwq_aead *ctx, const uint8_t *nonce, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *out);
/* in holds ciphertext||tag (inlen >= 16); out receives inlen - 16 bytes. LWQ_ERR_DECRYPT on a bad tag. */
int lwq_aead_open(const lwq_aead *ctx, const uint8_t *nonce, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *out);

/* ---- QUIC header protection (RFC 9001 §5.4): AES-ECB or ChaCha20 ---- */
typedef struct lwq_hp {
    lwq_aead_alg alg;
    _Alignas(16) uint8_t state[512];
} lwq_hp;

int lwq_hp_init(lwq_hp *ctx, lwq_aead_alg alg, const uint8_t *key);
void lwq_hp_free(lwq_hp *ctx);
/* mask[0..5) from a 16-byte sample. */
int lwq_hp_mask(const lwq_hp *ctx, const uint8_t *sample, uint8_t *mask);

/* ---- AES-128 on single blocks (QUIC-LB connection IDs, draft-ietf-quic-load-balancers §5.4) ----
 * The context holds pointers into itself: use it where it was initialised, never a copy. */
typedef struct lwq_aes128 {
    _Alignas(16) uint8_t state[576];
} lwq_aes128;

/* decrypt: 1 for the inverse cipher. LWQ_ERR_CRYPTO when the key cannot be set. */
int lwq_aes128_init(lwq_aes128 *ctx, const uint8_t *key, int decrypt);
/* 16 bytes in, 16 out (AES-ECB on one block); in and out may be the same buffer. */
int lwq_aes128_block(lwq_aes128 *ctx, const uint8_t *in, uint8_t *out);
void lwq_aes128_free(lwq_aes128 *ctx);

/* ---- ECDHE (TLS NamedGroup code points) ---- */
typedef enum { LWQ_GROUP_SECP256R1 = 0x0017, LWQ_GROUP_X25519 = 0x001d } lwq_group;
#define LWQ_KEX_PUB_MAX 65
#define LWQ_KEX_SHARED_MAX 32

typedef struct lwq_kex {
    lwq_group group;
    uint8_t priv[32];
    uint8_t pub[LWQ_KEX_PUB_MAX]; /* X25519: 32 bytes; P-256: uncompressed point, 65 bytes */
    size_t publen;
} lwq_kex;

int lwq_kex_keygen(lwq_kex *kex, lwq_group group, const lwq_rng *rng);
/* From a known private key (test vectors). */
int lwq_kex_from_private(lwq_kex *kex, lwq_group group, const uint8_t *priv, size_t len);
/* Validates the peer's share (P-256 point on the curve, X25519 non-zero result);
 * LWQ_ERR_CRYPTO when it is bad. *sharedlen is 32 for both groups. */
int lwq_kex_derive(const lwq_kex *kex, const uint8_t *peer, size_t peerlen, uint8_t *shared, size_t *sharedlen);
void lwq_kex_clear(lwq_kex *kex);

/* ---- signatures (TLS SignatureScheme code points) ---- */
typedef enum {
    LWQ_SIG_RSA_PKCS1_SHA256 = 0x0401, /* certificates only, never CertificateVerify */
    LWQ_SIG_RSA_PKCS1_SHA384 = 0x0501,
    LWQ_SIG_ECDSA_SECP256R1_SHA256 = 0x0403,
    LWQ_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    LWQ_SIG_RSA_PSS_RSAE_SHA256 = 0x0804,
    LWQ_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
    LWQ_SIG_ED25519 = 0x0807,
} lwq_sigalg;

typedef enum { LWQ_KEY_RSA = 1, LWQ_KEY_EC_P256 = 2, LWQ_KEY_EC_P384 = 3, LWQ_KEY_ED25519 = 4 } lwq_key_type;

/* Opaque keys (mbedTLS pk context or an Ed25519 key), created by cert.h loaders. */
typedef struct lwq_privkey lwq_privkey;
typedef struct lwq_pubkey lwq_pubkey;

lwq_key_type lwq_privkey_type(const lwq_privkey *key);
lwq_key_type lwq_pubkey_type(const lwq_pubkey *key);
/* 1 when key can make/check signatures of this scheme (e.g. RSA-PSS needs an RSA key >= 2048 bits). */
int lwq_privkey_can_sign(const lwq_privkey *key, lwq_sigalg alg);
int lwq_pubkey_can_verify(const lwq_pubkey *key, lwq_sigalg alg);
#define LWQ_SIG_MAX 512
/* *siglen: in, capacity of sig; out, its length. */
int lwq_sign(const lwq_privkey *key, lwq_sigalg alg, const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen,
             const lwq_rng *rng);
/* 0, or LWQ_ERR_CERT_BAD_SIGNATURE / LWQ_ERR_CERT_UNSUPPORTED_ALG. */
int lwq_verify(const lwq_pubkey *key, lwq_sigalg alg, const uint8_t *msg, size_t n, const uint8_t *sig,
               size_t siglen);

#endif
