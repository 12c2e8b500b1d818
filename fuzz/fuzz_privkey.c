#include <stdint.h>
#include <stddef.h>
#include "base/mem.h"
#include "tls/cert.h"

static void fixed_fill(void *ud, uint8_t *out, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(i * 131 + 7);
}

/* Private key loading (PEM, PKCS#8, SEC1, PKCS#1, Ed25519) and one signature with whatever loaded. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lwq_sigalg algs[] = {LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_ECDSA_SECP384R1_SHA384,
                                      LWQ_SIG_RSA_PSS_RSAE_SHA256, LWQ_SIG_ED25519};
    const lwq_allocator *a = lwq_default_allocator();
    const lwq_rng rng = {fixed_fill, NULL};
    lwq_privkey *k;
    if (lwq_privkey_load(&k, data, size, a) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        uint8_t sig[LWQ_SIG_MAX];
        size_t n = sizeof(sig);
        if (lwq_privkey_can_sign(k, algs[i]))
            lwq_sign(k, algs[i], data, size < 64 ? size : 64, sig, &n, &rng);
    }
    lwq_privkey_del(k, a);
    return 0;
}
