/* TLS 1.3 key schedule (RFC 9846 §7.1) and the QUIC key derivations built on
 * it (RFC 9001 §5, RFC 9369 §3.3). */
#ifndef LWQ_TLS_KEYSCHED_H
#define LWQ_TLS_KEYSCHED_H

#include "tls/crypto.h"

/* TLS 1.3 cipher suites. */
typedef enum {
    LWQ_SUITE_AES128GCM_SHA256 = 0x1301,
    LWQ_SUITE_AES256GCM_SHA384 = 0x1302,
    LWQ_SUITE_CHACHA20POLY1305_SHA256 = 0x1303,
} lwq_suite;

/* 0 for an unknown suite code. */
int lwq_suite_known(uint16_t suite);
lwq_hash_alg lwq_suite_hash(lwq_suite suite);
lwq_aead_alg lwq_suite_aead(lwq_suite suite);
const char *lwq_suite_name(lwq_suite suite); /* "TLS_AES_128_GCM_SHA256" */

/* HKDF-Expand-Label with the "tls13 " prefix (RFC 9846 §7.1). */
int lwq_hkdf_expand_label(lwq_hash_alg alg, const uint8_t *secret, size_t secretlen, const char *label,
                          const uint8_t *context, size_t contextlen, uint8_t *out, size_t outlen);

/* The running schedule: early secret -> handshake secret -> master secret. */
typedef enum { LWQ_KS_EARLY = 0, LWQ_KS_HANDSHAKE = 1, LWQ_KS_MASTER = 2 } lwq_ks_stage;

typedef struct lwq_keysched {
    lwq_hash_alg alg;
    lwq_ks_stage stage;
    uint8_t secret[LWQ_HASH_MAX];
} lwq_keysched;

/* Early Secret = HKDF-Extract(0, PSK or zeros). */
void lwq_ks_init(lwq_keysched *ks, lwq_hash_alg alg, const uint8_t *psk, size_t psklen);
/* Next stage: Extract(Derive-Secret(secret, "derived", ""), ikm or zeros). */
void lwq_ks_advance(lwq_keysched *ks, const uint8_t *ikm, size_t ikmlen);
/* Derive-Secret(current secret, label, transcript hash) -> out (hash length).
 * Labels without the prefix: "c e traffic", "c hs traffic", "s ap traffic", "res master", ... */
void lwq_ks_derive(const lwq_keysched *ks, const char *label, const uint8_t *transcript_hash, uint8_t *out);
/* Binder key ("res binder") from the early secret. */
void lwq_ks_binder_key(const lwq_keysched *ks, uint8_t *out);
/* finished_key = HKDF-Expand-Label(base, "finished", "", Hash.length). */
void lwq_finished_key(lwq_hash_alg alg, const uint8_t *base_secret, uint8_t *out);
/* PSK from a ticket: HKDF-Expand-Label(res_master, "resumption", nonce, Hash.length). */
void lwq_resumption_psk(lwq_hash_alg alg, const uint8_t *res_master, const uint8_t *nonce, size_t noncelen,
                        uint8_t *out);
void lwq_ks_clear(lwq_keysched *ks);

/* ---- QUIC ---- */
#define LWQ_QUIC_V1 0x00000001u
#define LWQ_QUIC_V2 0x6b3343cfu

/* Initial secrets from the client's first Destination Connection ID (RFC 9001 §5.2,
 * RFC 9369 §3.3.1). Each gets 32 bytes. LWQ_ERR_UNSUPPORTED for other versions. */
int lwq_quic_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcidlen, uint8_t *client_secret,
                             uint8_t *server_secret);

/* Packet protection keys of one direction and one key phase. */
typedef struct lwq_quic_keys {
    lwq_suite suite;
    lwq_aead aead;
    lwq_hp hp;
    uint8_t iv[LWQ_AEAD_IV_LEN];
} lwq_quic_keys;

/* "quic key"/"quic iv"/"quic hp" (v2: "quicv2 key"/...); secret is Hash.length bytes. */
int lwq_quic_keys_init(lwq_quic_keys *k, uint32_t version, lwq_suite suite, const uint8_t *secret);
/* Like lwq_quic_keys_init but keeps hp untouched: the header protection key does not change
 * on key update (RFC 9001 §6). */
int lwq_quic_keys_init_no_hp(lwq_quic_keys *k, uint32_t version, lwq_suite suite, const uint8_t *secret);
void lwq_quic_keys_free(lwq_quic_keys *k);
/* Next generation secret for key update: "quic ku" / "quicv2 ku" (RFC 9001 §6.1). */
int lwq_quic_next_secret(uint32_t version, lwq_suite suite, const uint8_t *secret, uint8_t *out);
/* Nonce = iv XOR packet number (RFC 9001 §5.3). */
void lwq_quic_nonce(const lwq_quic_keys *k, uint64_t pn, uint8_t *nonce);

/* Retry Integrity Tag (RFC 9001 §5.8, RFC 9369 §3.3.3): AES-128-GCM over the
 * Retry pseudo-packet = ODCID length, ODCID, Retry packet without the tag. */
int lwq_quic_retry_tag(uint32_t version, const uint8_t *odcid, size_t odcidlen, const uint8_t *retry,
                       size_t retrylen, uint8_t *tag);

#endif
