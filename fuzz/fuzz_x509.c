#include <stdint.h>
#include <stddef.h>
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/x509.h"

/* X.509 parser, SAN walk and name matching, SPKI decoding and a self-signature check;
 * the same bytes also go through the PEM/DER chain loader and chain verification. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *hosts[] = {"localhost", "a.example.test", "127.0.0.1", "::1", "server"};
    const lwq_allocator *a = lwq_default_allocator();
    lwq_x509 x;
    ssize_t k = lwq_x509_parse(&x, data, size);
    if (k >= 0) {
        lwq_x509_san_iter it;
        int type;
        const uint8_t *v;
        size_t n;
        lwq_x509_san_begin(&it, &x);
        while (lwq_x509_san_next(&it, &type, &v, &n))
            ;
        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
            lwq_x509_match_host(&x, hosts[i]);
        lwq_pubkey *pk;
        if (lwq_pubkey_from_spki(&pk, x.spki, x.spki_len, a) == 0) {
            lwq_x509_check_signature(&x, pk);
            lwq_pubkey_del(pk, a);
        }
    }
    lwq_cert_chain c;
    lwq_trust *t;
    if (lwq_cert_chain_load(&c, data, size, a) == 0) {
        /* path building with the last certificate of the input as the only anchor */
        if (lwq_trust_new(&t, a) == 0) {
            lwq_trust_add(t, c.der[c.count - 1], c.len[c.count - 1]);
            lwq_verify_params p = {"server", 1748736000, 0};
            lwq_pubkey *leaf = NULL;
            if (lwq_cert_verify(t, &c, &p, &leaf, a) == 0)
                lwq_pubkey_del(leaf, a);
            lwq_trust_del(t);
        }
        lwq_cert_chain_free(&c, a);
    }
    return 0;
}
