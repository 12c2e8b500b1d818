/* X.509 certificates (RFC 5280 subset) parsed into views of their DER: no
 * allocation, bounded sizes, unknown critical extensions rejected. */
#ifndef LWQ_TLS_X509_H
#define LWQ_TLS_X509_H

#include <stdint.h>
#include <stddef.h>
#include "lwquic/common.h"
#include "tls/cert.h"
#include "tls/der.h"

#define LWQ_X509_MAX_SIZE 16384
#define LWQ_X509_MAX_EXTENSIONS 32
#define LWQ_X509_MAX_SAN 128
#define LWQ_X509_MAX_NAME_ATTRS 64

/* Certificate signature algorithms (RFC 5758, RFC 4055, RFC 8410). */
typedef enum {
    LWQ_X509_SIG_UNKNOWN = 0, /* parsed, but never verifies */
    LWQ_X509_SIG_RSA_PKCS1,
    LWQ_X509_SIG_RSA_PSS,
    LWQ_X509_SIG_ECDSA,
    LWQ_X509_SIG_ED25519,
} lwq_x509_sig_kind;

typedef struct lwq_x509_sig {
    lwq_x509_sig_kind kind;
    lwq_hash_alg hash;     /* message hash (not for Ed25519) */
    lwq_hash_alg mgf_hash; /* RSA-PSS: MGF1 hash */
    unsigned salt_len;     /* RSA-PSS: salt length */
} lwq_x509_sig;

enum {
    LWQ_X509_KU_DIGITAL_SIGNATURE = 1 << 0,
    LWQ_X509_KU_KEY_CERT_SIGN = 1 << 5,
};

typedef struct lwq_x509 {
    const uint8_t *der; /* whole certificate */
    size_t der_len;
    const uint8_t *tbs; /* signed bytes: the tbsCertificate TLV */
    size_t tbs_len;
    int version; /* 1, 2 or 3 */
    const uint8_t *serial;
    size_t serial_len;
    lwq_x509_sig sig;
    const uint8_t *sig_value; /* signatureValue BIT STRING contents */
    size_t sig_value_len;
    const uint8_t *issuer; /* Name TLVs, compared byte for byte */
    size_t issuer_len;
    const uint8_t *subject;
    size_t subject_len;
    const uint8_t *subject_cn; /* first commonName value, or NULL */
    size_t subject_cn_len;
    int64_t not_before, not_after; /* seconds since the epoch */
    const uint8_t *spki; /* SubjectPublicKeyInfo TLV */
    size_t spki_len;
    const uint8_t *san; /* GeneralNames contents of subjectAltName, or NULL */
    size_t san_len;
    int has_bc, ca;
    int path_len; /* -1 when absent */
    int has_ku;
    unsigned ku; /* LWQ_X509_KU_* bits */
} lwq_x509;

/* Parses one certificate at p: bytes consumed, or LWQ_ERR_TRUNCATED / LWQ_ERR_DECODE /
 * LWQ_ERR_LIMIT (too big, too many extensions or names) / LWQ_ERR_UNSUPPORTED (an
 * unknown critical extension). Unknown signature or key algorithms still parse. */
ssize_t lwq_x509_parse(lwq_x509 *out, const uint8_t *p, size_t n);

/* SAN iteration: type is LWQ_X509_SAN_DNS or _IP; 1 per entry, 0 at the end. */
enum { LWQ_X509_SAN_DNS = 2, LWQ_X509_SAN_IP = 7 };
typedef struct lwq_x509_san_iter {
    lwq_der_reader r;
} lwq_x509_san_iter;
void lwq_x509_san_begin(lwq_x509_san_iter *it, const lwq_x509 *x);
int lwq_x509_san_next(lwq_x509_san_iter *it, int *type, const uint8_t **val, size_t *len);

/* 1 when hostname (DNS name or IPv4/IPv6 literal) is covered by the certificate:
 * SAN dNSName with a left-most "*" label (RFC 6125 §6.4), iPAddress, or the CN
 * when there is no SAN. */
int lwq_x509_match_host(const lwq_x509 *x, const char *hostname);

/* Checks cert's signature with issuer's key (keys.c): 0, LWQ_ERR_CERT_BAD_SIGNATURE
 * or LWQ_ERR_CERT_UNSUPPORTED_ALG. */
int lwq_x509_check_signature(const lwq_x509 *cert, const lwq_pubkey *issuer_key);

/* Trust anchors whose subject is exactly name (trust.c): call with *pos = 0, then
 * again while it returns non-NULL. */
const lwq_x509 *lwq_trust_find(const lwq_trust *t, const uint8_t *name, size_t len, size_t *pos);

#endif
