#include <stdint.h>
#include <stddef.h>
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/x509.h"

/* X.509 parser, SAN walk and name matching, SPKI decoding and a self-signature check;
 * the same bytes also go through the PEM/DER chain loader. */
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
    if (lwq_cert_chain_load(&c, data, size, a) == 0) {
        for (size_t i = 0; i < c.count; i++)
            lwq_x509_parse(&x, c.der[i], c.len[i]);
        lwq_cert_chain_free(&c, a);
    }
    return 0;
}
