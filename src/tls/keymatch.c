/* Does a private key belong to a certificate? Checked once when a server loads them, so that a wrong
 * pair fails at start instead of in every handshake's CertificateVerify (RFC 9846 §4.4.3). */
#include "tls/cert.h"
#include "tls/x509.h"

static lwq_sigalg sigalg_for(lwq_key_type t)
{
    switch (t) {
    case LWQ_KEY_RSA: return LWQ_SIG_RSA_PSS_RSAE_SHA256;
    case LWQ_KEY_EC_P256: return LWQ_SIG_ECDSA_SECP256R1_SHA256;
    case LWQ_KEY_EC_P384: return LWQ_SIG_ECDSA_SECP384R1_SHA384;
    default: return LWQ_SIG_ED25519;
    }
}

int lwq_privkey_matches_cert(const lwq_privkey *key, const uint8_t *der, size_t len, const lwq_rng *rng,
                             const lwq_allocator *a)
{
    lwq_x509 x;
    ssize_t n = lwq_x509_parse(&x, der, len);
    if (n < 0)
        return LWQ_ERR_CERT_MALFORMED;
    lwq_pubkey *pub = NULL;
    int rv = lwq_pubkey_from_spki(&pub, x.spki, x.spki_len, a);
    if (rv)
        return rv;
    if (lwq_pubkey_type(pub) != lwq_privkey_type(key)) {
        lwq_pubkey_del(pub, a);
        return LWQ_ERR_CERT_BAD_SIGNATURE;
    }
    static const uint8_t msg[] = "lwquic: does this key belong to this certificate?";
    uint8_t sig[LWQ_SIG_MAX];
    size_t siglen = sizeof(sig);
    lwq_sigalg alg = sigalg_for(lwq_privkey_type(key));
    rv = lwq_sign(key, alg, msg, sizeof(msg), sig, &siglen, rng);
    if (!rv)
        rv = lwq_verify(pub, alg, msg, sizeof(msg), sig, siglen) ? LWQ_ERR_CERT_BAD_SIGNATURE : 0;
    lwq_pubkey_del(pub, a);
    return rv;
}
