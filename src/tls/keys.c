#include <string.h>
#include <mbedtls/pk.h>
#include <mbedtls/ecp.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <sodium.h>
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/der.h"
#include "tls/x509.h"

#define RSA_MIN_BITS 2048

struct lwq_privkey {
    lwq_key_type type;
    mbedtls_pk_context pk; /* RSA and EC; RSA with MGF1 over SHA-256 */
    mbedtls_rsa_context rsa384; /* the RSA key again, MGF1 over SHA-384 */
    uint8_t ed_sk[crypto_sign_SECRETKEYBYTES];
};

struct lwq_pubkey {
    lwq_key_type type;
    mbedtls_pk_context pk;
    uint8_t ed_pk[crypto_sign_PUBLICKEYBYTES];
};

static const char OID_ED25519[] = "\x2b\x65\x70";
static const char OID_RSA[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";
static const char OID_EC[] = "\x2a\x86\x48\xce\x3d\x02\x01";

static int map_pk_error(int err)
{
    if (err == MBEDTLS_ERR_PK_ALLOC_FAILED)
        return LWQ_ERR_NOMEM;
    if (err == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG || err == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE ||
        err == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE || err == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
        return LWQ_ERR_UNSUPPORTED;
    return LWQ_ERR_DECODE;
}

/* Key type of a loaded mbedTLS key, or 0 for curves and algorithms lwquic does not use. */
static lwq_key_type pk_type(const mbedtls_pk_context *pk)
{
    mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
    if (t == MBEDTLS_PK_RSA)
        return LWQ_KEY_RSA;
    if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
        return 0;
    switch (mbedtls_pk_ec(*pk)->grp.id) {
    case MBEDTLS_ECP_DP_SECP256R1:
        return LWQ_KEY_EC_P256;
    case MBEDTLS_ECP_DP_SECP384R1:
        return LWQ_KEY_EC_P384;
    default:
        return 0;
    }
}

/* RFC 8410 §7: 1 when der is an Ed25519 PKCS#8 key (loaded into k), 0 when it is
 * not PKCS#8 or holds an RSA or EC key, LWQ_ERR_UNSUPPORTED for other algorithms,
 * or an error for a malformed Ed25519 key. */
static int load_ed25519_pkcs8(lwq_privkey *k, const uint8_t *der, size_t len)
{
    lwq_der_reader r, seq, alg;
    lwq_der_tlv t, v, a, o, inner;
    uint64_t ver;
    lwq_der_reader_init(&r, der, len);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &t) < 0 || !lwq_der_at_end(&r))
        return 0;
    lwq_der_enter(&seq, &t);
    if (lwq_der_expect(&seq, LWQ_DER_INTEGER, &v) < 0 || lwq_der_get_uint(&v, &ver) < 0 ||
        lwq_der_expect(&seq, LWQ_DER_SEQUENCE, &a) < 0)
        return 0;
    lwq_der_enter(&alg, &a);
    if (lwq_der_expect(&alg, LWQ_DER_OID, &o) < 0)
        return 0;
    if (LWQ_DER_OID_IS(&o, OID_RSA) || LWQ_DER_OID_IS(&o, OID_EC))
        return 0;
    if (!LWQ_DER_OID_IS(&o, OID_ED25519))
        return LWQ_ERR_UNSUPPORTED; /* DSA, X25519, Ed448, ... */
    if (!lwq_der_at_end(&alg) || ver > 1 || lwq_der_expect(&seq, LWQ_DER_OCTET_STRING, &o) < 0)
        return LWQ_ERR_DECODE;
    lwq_der_reader_init(&r, o.val, o.len);
    if (lwq_der_expect(&r, LWQ_DER_OCTET_STRING, &inner) < 0 || !lwq_der_at_end(&r) ||
        inner.len != crypto_sign_SEEDBYTES)
        return LWQ_ERR_DECODE;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_seed_keypair(pk, k->ed_sk, inner.val);
    if (lwq_der_optional(&seq, LWQ_DER_CTX(0), &t) < 0)
        return LWQ_ERR_DECODE;
    if (lwq_der_optional(&seq, LWQ_DER_CTX_PRIM(1), &t) == 1) {
        /* RFC 5958 §2: the optional public key must belong to the seed */
        if (t.len != 1 + sizeof(pk) || t.val[0] != 0 || memcmp(t.val + 1, pk, sizeof(pk)) != 0)
            return LWQ_ERR_DECODE;
    }
    if (!lwq_der_at_end(&seq))
        return LWQ_ERR_DECODE;
    k->type = LWQ_KEY_ED25519;
    return 1;
}

static int load_der(lwq_privkey *k, const uint8_t *der, size_t len)
{
    int rc = load_ed25519_pkcs8(k, der, len);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = mbedtls_pk_parse_key(&k->pk, der, len, NULL, 0);
    if (rc != 0)
        return map_pk_error(rc);
    k->type = pk_type(&k->pk);
    if (!k->type)
        return LWQ_ERR_UNSUPPORTED;
    /* mbedTLS 2.28 takes the PSS MGF1 hash from the context: one context per hash keeps
     * signing free of shared mutable settings */
    if (k->type == LWQ_KEY_RSA) {
        mbedtls_rsa_set_padding(mbedtls_pk_rsa(k->pk), MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
        if (mbedtls_rsa_copy(&k->rsa384, mbedtls_pk_rsa(k->pk)) != 0)
            return LWQ_ERR_NOMEM;
        mbedtls_rsa_set_padding(&k->rsa384, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA384);
    }
    return 0;
}

/* PEM: skip parameter blocks ("openssl ecparam -genkey" writes EC PARAMETERS first). */
static int load_pem(lwq_privkey *k, const uint8_t *p, size_t n, const lwq_allocator *a)
{
    char label[72];
    uint8_t *der;
    size_t derlen;
    int rc;
    while ((rc = lwq_pem_next(&p, &n, label, sizeof(label), &der, &derlen, a)) == 1) {
        if (strcmp(label, "PRIVATE KEY") == 0 || strcmp(label, "EC PRIVATE KEY") == 0 ||
            strcmp(label, "RSA PRIVATE KEY") == 0) {
            rc = load_der(k, der, derlen);
            lwq_wipe(der, derlen);
            lwq_free(a, der);
            return rc;
        }
        lwq_free(a, der);
        if (strstr(label, "PRIVATE KEY"))
            return LWQ_ERR_UNSUPPORTED; /* encrypted, DSA, ... */
    }
    return rc < 0 ? rc : LWQ_ERR_NOT_FOUND;
}

int lwq_privkey_load(lwq_privkey **out, const uint8_t *data, size_t len, const lwq_allocator *a)
{
    lwq_privkey *k = lwq_calloc(a, 1, sizeof(*k));
    if (!k)
        return LWQ_ERR_NOMEM;
    mbedtls_pk_init(&k->pk);
    mbedtls_rsa_init(&k->rsa384, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA384);
    int rc = lwq_pem_detect(data, len) ? load_pem(k, data, len, a) : load_der(k, data, len);
    if (rc < 0) {
        lwq_privkey_del(k, a);
        return rc;
    }
    *out = k;
    return 0;
}


int lwq_privkey_matches(const lwq_privkey *k, const lwq_pubkey *p)
{
    if (k->type != p->type)
        return LWQ_ERR_CERT_BAD_SIGNATURE;
    if (k->type == LWQ_KEY_ED25519) {
        uint8_t pk[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_ed25519_sk_to_pk(pk, k->ed_sk);
        return sodium_memcmp(pk, p->ed_pk, sizeof(pk)) == 0 ? 0 : LWQ_ERR_CERT_BAD_SIGNATURE;
    }
    return mbedtls_pk_check_pair(&p->pk, &k->pk) == 0 ? 0 : LWQ_ERR_CERT_BAD_SIGNATURE;
}

void lwq_privkey_del(lwq_privkey *key, const lwq_allocator *a)
{
    if (!key)
        return;
    mbedtls_pk_free(&key->pk);
    mbedtls_rsa_free(&key->rsa384);
    lwq_wipe(key, sizeof(*key));
    lwq_free(a, key);
}

/* RFC 8410 §4 for Ed25519; RSA and EC SPKIs go to mbedTLS. */
int lwq_pubkey_from_spki(lwq_pubkey **out, const uint8_t *der, size_t len, const lwq_allocator *a)
{
    lwq_der_reader r, seq, alg;
    lwq_der_tlv t, ai, oid, bits;
    lwq_der_reader_init(&r, der, len);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &t) < 0 || !lwq_der_at_end(&r))
        return LWQ_ERR_DECODE;
    lwq_der_enter(&seq, &t);
    if (lwq_der_expect(&seq, LWQ_DER_SEQUENCE, &ai) < 0 || lwq_der_expect(&seq, LWQ_DER_BIT_STRING, &bits) < 0 ||
        !lwq_der_at_end(&seq))
        return LWQ_ERR_DECODE;
    lwq_der_enter(&alg, &ai);
    if (lwq_der_expect(&alg, LWQ_DER_OID, &oid) < 0)
        return LWQ_ERR_DECODE;
    lwq_pubkey *k = lwq_calloc(a, 1, sizeof(*k));
    if (!k)
        return LWQ_ERR_NOMEM;
    mbedtls_pk_init(&k->pk);
    int rc = 0;
    if (LWQ_DER_OID_IS(&oid, OID_ED25519)) {
        const uint8_t *b;
        size_t bn;
        unsigned unused;
        if (!lwq_der_at_end(&alg) || lwq_der_get_bits(&bits, &b, &bn, &unused) < 0 || unused ||
            bn != sizeof(k->ed_pk))
            rc = LWQ_ERR_DECODE;
        else
            memcpy(k->ed_pk, b, bn);
        k->type = LWQ_KEY_ED25519;
    } else {
        rc = mbedtls_pk_parse_public_key(&k->pk, der, len);
        rc = rc ? map_pk_error(rc) : 0;
        if (rc == 0 && !(k->type = pk_type(&k->pk)))
            rc = LWQ_ERR_UNSUPPORTED;
    }
    if (rc < 0) {
        lwq_pubkey_del(k, a);
        return rc;
    }
    *out = k;
    return 0;
}

void lwq_pubkey_del(lwq_pubkey *key, const lwq_allocator *a)
{
    if (!key)
        return;
    mbedtls_pk_free(&key->pk);
    lwq_free(a, key);
}

lwq_key_type lwq_privkey_type(const lwq_privkey *key) { return key->type; }
lwq_key_type lwq_pubkey_type(const lwq_pubkey *key) { return key->type; }

static int scheme_fits(lwq_key_type type, const mbedtls_pk_context *pk, lwq_sigalg alg)
{
    switch (alg) {
    case LWQ_SIG_ECDSA_SECP256R1_SHA256:
        return type == LWQ_KEY_EC_P256;
    case LWQ_SIG_ECDSA_SECP384R1_SHA384:
        return type == LWQ_KEY_EC_P384;
    case LWQ_SIG_RSA_PSS_RSAE_SHA256:
    case LWQ_SIG_RSA_PSS_RSAE_SHA384:
    case LWQ_SIG_RSA_PKCS1_SHA256:
    case LWQ_SIG_RSA_PKCS1_SHA384:
        /* RFC 9846 §4.2.3 and RFC 8017: 2048 bits leave room for the salt and a safe margin */
        return type == LWQ_KEY_RSA && mbedtls_pk_get_bitlen(pk) >= RSA_MIN_BITS;
    case LWQ_SIG_ED25519:
        return type == LWQ_KEY_ED25519;
    }
    return 0;
}

int lwq_privkey_can_sign(const lwq_privkey *key, lwq_sigalg alg)
{
    /* RFC 9846 §4.4.3: PKCS#1 v1.5 never signs handshake messages */
    if (alg == LWQ_SIG_RSA_PKCS1_SHA256 || alg == LWQ_SIG_RSA_PKCS1_SHA384)
        return 0;
    return scheme_fits(key->type, &key->pk, alg);
}

int lwq_pubkey_can_verify(const lwq_pubkey *key, lwq_sigalg alg) { return scheme_fits(key->type, &key->pk, alg); }

static size_t digest(lwq_hash_alg h, const uint8_t *msg, size_t n, uint8_t out[64])
{
    if (h == LWQ_HASH_SHA384) {
        mbedtls_sha512_ret(msg, n, out, 1);
        return 48;
    }
    mbedtls_sha256_ret(msg, n, out, 0);
    return 32;
}

static mbedtls_md_type_t md_of(lwq_hash_alg h) { return h == LWQ_HASH_SHA384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256; }

static lwq_hash_alg hash_of(lwq_sigalg alg)
{
    return (alg == LWQ_SIG_ECDSA_SECP384R1_SHA384 || alg == LWQ_SIG_RSA_PSS_RSAE_SHA384 ||
            alg == LWQ_SIG_RSA_PKCS1_SHA384)
               ? LWQ_HASH_SHA384
               : LWQ_HASH_SHA256;
}

static int mbed_rng(void *ud, unsigned char *out, size_t n)
{
    const lwq_rng *r = ud;
    r->fill(r->ud, out, n);
    return 0;
}

int lwq_sign(const lwq_privkey *key, lwq_sigalg alg, const uint8_t *msg, size_t n, uint8_t *sig, size_t *siglen,
             const lwq_rng *rng)
{
    if (!lwq_privkey_can_sign(key, alg))
        return LWQ_ERR_UNSUPPORTED;
    if (!rng)
        rng = lwq_default_rng();
    if (key->type == LWQ_KEY_ED25519) {
        unsigned long long sl;
        if (*siglen < crypto_sign_BYTES)
            return LWQ_ERR_NOBUF;
        crypto_sign_detached(sig, &sl, msg, n, key->ed_sk);
        *siglen = (size_t)sl;
        return 0;
    }
    uint8_t h[64], tmp[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    lwq_hash_alg ha = hash_of(alg);
    size_t hl = digest(ha, msg, n, h), tl = 0;
    /* mbedTLS keeps blinding state in the key; its own mutex guards it (MBEDTLS_THREADING_C) */
    mbedtls_pk_context *pk = (mbedtls_pk_context *)&key->pk;
    int rc;
    if (key->type == LWQ_KEY_RSA) {
        /* RFC 9846 §4.2.3: RSASSA-PSS, MGF1 with the same hash, salt as long as the hash */
        tl = mbedtls_pk_get_len(pk);
        mbedtls_rsa_context *rsa = ha == LWQ_HASH_SHA384 ? (mbedtls_rsa_context *)&key->rsa384 : mbedtls_pk_rsa(*pk);
        rc = tl > sizeof(tmp) ? -1
                              : mbedtls_rsa_rsassa_pss_sign_ext(rsa, mbed_rng, (void *)rng, md_of(ha),
                                                                (unsigned)hl, h, (int)hl, tmp);
    } else {
        rc = mbedtls_pk_sign(pk, md_of(ha), h, hl, tmp, &tl, mbed_rng, (void *)rng);
    }
    if (rc != 0)
        return LWQ_ERR_CRYPTO;
    if (tl > *siglen)
        return LWQ_ERR_NOBUF;
    memcpy(sig, tmp, tl);
    *siglen = tl;
    return 0;
}

static int verify_hashed(const lwq_pubkey *key, lwq_x509_sig_kind kind, lwq_hash_alg ha, lwq_hash_alg mgf,
                         int salt, const uint8_t *msg, size_t n, const uint8_t *sig, size_t siglen)
{
    if (kind == LWQ_X509_SIG_ED25519)
        return siglen == crypto_sign_BYTES && crypto_sign_verify_detached(sig, msg, n, key->ed_pk) == 0
                   ? 0
                   : LWQ_ERR_CERT_BAD_SIGNATURE;
    uint8_t h[64];
    size_t hl = digest(ha, msg, n, h);
    mbedtls_pk_context *pk = (mbedtls_pk_context *)&key->pk;
    int rc;
    if (kind == LWQ_X509_SIG_ECDSA) {
        rc = mbedtls_pk_verify(pk, md_of(ha), h, hl, sig, siglen);
    } else if (siglen != mbedtls_pk_get_len(pk)) {
        rc = -1;
    } else if (kind == LWQ_X509_SIG_RSA_PSS) {
        rc = mbedtls_rsa_rsassa_pss_verify_ext(mbedtls_pk_rsa(*pk), NULL, NULL, MBEDTLS_RSA_PUBLIC, md_of(ha),
                                               (unsigned)hl, h, md_of(mgf), salt, sig);
    } else {
        rc = mbedtls_rsa_rsassa_pkcs1_v15_verify(mbedtls_pk_rsa(*pk), NULL, NULL, MBEDTLS_RSA_PUBLIC, md_of(ha),
                                                 (unsigned)hl, h, sig);
    }
    return rc == 0 ? 0 : LWQ_ERR_CERT_BAD_SIGNATURE;
}

int lwq_verify(const lwq_pubkey *key, lwq_sigalg alg, const uint8_t *msg, size_t n, const uint8_t *sig,
               size_t siglen)
{
    if (!lwq_pubkey_can_verify(key, alg))
        return LWQ_ERR_CERT_UNSUPPORTED_ALG;
    lwq_hash_alg ha = hash_of(alg);
    lwq_x509_sig_kind kind;
    switch (alg) {
    case LWQ_SIG_ED25519:
        kind = LWQ_X509_SIG_ED25519;
        break;
    case LWQ_SIG_ECDSA_SECP256R1_SHA256:
    case LWQ_SIG_ECDSA_SECP384R1_SHA384:
        kind = LWQ_X509_SIG_ECDSA;
        break;
    case LWQ_SIG_RSA_PSS_RSAE_SHA256:
    case LWQ_SIG_RSA_PSS_RSAE_SHA384:
        kind = LWQ_X509_SIG_RSA_PSS;
        break;
    default:
        kind = LWQ_X509_SIG_RSA_PKCS1;
        break;
    }
    return verify_hashed(key, kind, ha, ha, ha == LWQ_HASH_SHA384 ? 48 : 32, msg, n, sig, siglen);
}

/* RFC 5280 §4.1.1.2, §6.1.3 (a)(1): the issuer's key checks the tbsCertificate bytes. Certificate
 * signatures may pair a curve with either hash (an ECDSA P-384 CA signing with SHA-256). */
int lwq_x509_check_signature(const lwq_x509 *cert, const lwq_pubkey *issuer_key)
{
    const lwq_x509_sig *s = &cert->sig;
    lwq_key_type kt = issuer_key->type;
    int ok;
    switch (s->kind) {
    case LWQ_X509_SIG_ECDSA:
        ok = kt == LWQ_KEY_EC_P256 || kt == LWQ_KEY_EC_P384;
        break;
    case LWQ_X509_SIG_RSA_PKCS1:
    case LWQ_X509_SIG_RSA_PSS:
        ok = scheme_fits(kt, &issuer_key->pk, LWQ_SIG_RSA_PKCS1_SHA256);
        break;
    case LWQ_X509_SIG_ED25519:
        ok = kt == LWQ_KEY_ED25519;
        break;
    default:
        ok = 0;
        break;
    }
    if (!ok)
        return LWQ_ERR_CERT_UNSUPPORTED_ALG;
    return verify_hashed(issuer_key, s->kind, s->hash, s->mgf_hash, (int)s->salt_len, cert->tbs, cert->tbs_len,
                         cert->sig_value, cert->sig_value_len);
}
