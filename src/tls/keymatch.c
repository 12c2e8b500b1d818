/* Does a private key belong to a certificate? Checked once when a server loads them, so that a wrong
 * pair fails at start instead of in every handshake's CertificateVerify (RFC 9846 §4.4.3). */
#include "tls/cert.h"
#include "tls/x509.h"

int lwq_privkey_matches_cert(const lwq_privkey *key, const uint8_t *der, size_t len, const lwq_allocator *a)
{
    lwq_x509 x;
    if (lwq_x509_parse(&x, der, len) < 0)
        return LWQ_ERR_CERT_MALFORMED;
    lwq_pubkey *pub = NULL;
    int rv = lwq_pubkey_from_spki(&pub, x.spki, x.spki_len, a);
    if (rv)
        return rv;
    rv = lwq_privkey_matches(key, pub);
    lwq_pubkey_del(pub, a);
    return rv;
}
