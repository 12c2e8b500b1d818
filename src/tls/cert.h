/* Keys, certificates and chain verification. X.509 is parsed by lwquic itself
 * (x509.c: DER, RFC 5280 subset) because mbedTLS 2.28 cannot parse Ed25519
 * certificates; signature math goes through crypto.h. */
#ifndef LWQ_TLS_CERT_H
#define LWQ_TLS_CERT_H

#include <stdint.h>
#include <stddef.h>
#include "lwquic/common.h"
#include "tls/crypto.h"

/* Private keys: PEM or DER; PKCS#8, SEC1 EC (also after an "EC PARAMETERS"
 * block), PKCS#1 RSA, PKCS#8 Ed25519. */
int lwq_privkey_load(lwq_privkey **out, const uint8_t *data, size_t len, const lwq_allocator *a);
void lwq_privkey_del(lwq_privkey *key, const lwq_allocator *a);
/* Public key from a DER SubjectPublicKeyInfo. */
int lwq_pubkey_from_spki(lwq_pubkey **out, const uint8_t *der, size_t len, const lwq_allocator *a);
void lwq_pubkey_del(lwq_pubkey *key, const lwq_allocator *a);

/* A certificate chain as sent in TLS: DER certificates, leaf first. */
typedef struct lwq_cert_chain {
    size_t count;
    uint8_t **der;
    size_t *len;
} lwq_cert_chain;

/* PEM (one or many certificates, leaf first) or one DER certificate. */
int lwq_cert_chain_load(lwq_cert_chain *chain, const uint8_t *data, size_t len, const lwq_allocator *a);
void lwq_cert_chain_free(lwq_cert_chain *chain, const lwq_allocator *a);

/* 0 when key is the private half of pub (the public key recomputed from the private one; no randomness
 * used, so a deterministic replay is not disturbed), else LWQ_ERR_CERT_BAD_SIGNATURE. */
int lwq_privkey_matches(const lwq_privkey *key, const lwq_pubkey *pub);
/* The same against the public key of a DER certificate (the leaf); another negative code when the
 * certificate cannot be parsed or its key is not supported. */
int lwq_privkey_matches_cert(const lwq_privkey *key, const uint8_t *der, size_t len, const lwq_allocator *a);

/* Trust anchors. */
typedef struct lwq_trust lwq_trust;
int lwq_trust_new(lwq_trust **out, const lwq_allocator *a);
/* PEM bundle or DER; certificates that do not parse are skipped, the count added is returned. */
int lwq_trust_add(lwq_trust *t, const uint8_t *data, size_t len);
void lwq_trust_del(lwq_trust *t);

/* Verification policy for one peer chain. */
typedef struct lwq_verify_params {
    const char *hostname;  /* DNS name or IP literal to match against SAN (CN only when no SAN); NULL skips */
    int64_t now_unix;      /* seconds since the epoch, for validity dates */
    size_t max_depth;      /* certificates in the path, including the anchor; 0 means 10 */
} lwq_verify_params;

/* Verifies chain[0] up to an anchor in t: signatures, validity, basicConstraints,
 * name. On success *leaf_key (if non-NULL) gets the leaf's public key. Returns 0
 * or exactly one LWQ_ERR_CERT_* naming the first failure. */
int lwq_cert_verify(const lwq_trust *t, const lwq_cert_chain *chain, const lwq_verify_params *p,
                    lwq_pubkey **leaf_key, const lwq_allocator *a);

/* Seconds since the epoch from the system clock: the default wall clock the
 * TLS config injects for validity checks (the only clock read below src/io). */
int64_t lwq_wallclock_unix(void);

#endif
