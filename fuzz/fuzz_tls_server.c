#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tls/msg.h"
#include "fuzz_tls.h"
#include "io/tls_files.h"

/* A fresh server fed the input as the client's flight: records of
 * [epoch & 3][length u16][bytes]. The server's randomness, clock and settings
 * match the harness of tests/unit/test_tls_errors.c, which writes real client
 * flights to this corpus (LWQ_TLS_GEN_CORPUS), so seeds complete (resumed) handshakes. */

/* Whatever the codec accepts and fully understands re-encodes to something it
 * decodes to the same fields (unknown extensions, and the known ones the encoder
 * never writes, are dropped by a re-encoding). */
static void check_round_trip(const uint8_t *p, size_t n)
{
    static uint8_t out[70000];
    ssize_t k;
    lwq_tls_client_hello m, m2;
    uint64_t unwritten = lwq_tls_ext_bit(LWQ_TLS_EXT_STATUS_REQUEST) |
                         lwq_tls_ext_bit(LWQ_TLS_EXT_CERTIFICATE_AUTHORITIES) |
                         lwq_tls_ext_bit(LWQ_TLS_EXT_POST_HANDSHAKE_AUTH);
    if (lwq_tls_client_hello_decode(&m, p, n) > 0 && !m.unknown && !(m.present & unwritten) &&
        (k = lwq_tls_client_hello_encode(&m, out, sizeof(out))) > 0) {
        if (lwq_tls_client_hello_decode(&m2, out, (size_t)k) != k || m2.present != m.present ||
            memcmp(m2.random, m.random, 32) != 0 || !SAME(m2.session_id, m.session_id) || !SAME(m2.suites, m.suites) ||
            !SAME(m2.groups, m.groups) || !SAME(m2.sigalgs, m.sigalgs) || !SAME(m2.sigalgs_cert, m.sigalgs_cert) ||
            !SAME(m2.alpn, m.alpn) || !SAME(m2.versions, m.versions) || !SAME(m2.shares, m.shares) ||
            !SAME(m2.psk_modes, m.psk_modes) || !SAME(m2.cookie, m.cookie) ||
            !SAME(m2.transport_params, m.transport_params) || !SAME(m2.psk_identities, m.psk_identities) ||
            !SAME(m2.psk_binders, m.psk_binders) || !SAME(m2.server_name, m.server_name))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lwq_cert_chain chain;
    static lwq_privkey *key;
    static const char *alpn[] = {"h3"};
    static const uint8_t ticket_key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                           17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    if (!key) {
        if (lwq_cert_chain_load_file(&chain, "tests/data/certs/server-ed25519.pem", NULL) ||
            lwq_privkey_load_file(&key, "tests/data/certs/server-ed25519.key", NULL)) {
            fprintf(stderr, "fuzz_tls_server: run from the repository root (tests/data/certs)\n");
            abort();
        }
    }
    frng r;
    lwq_tls_config cfg;
    lwq_tls *tls;
    memset(&cfg, 0, sizeof(cfg));
    cfg.rng = frng_init(&r, 1001);
    cfg.is_server = 1;
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.server_name = "localhost";
    cfg.cert_chain = &chain;
    cfg.key = key;
    cfg.ticket_key = ticket_key;
    cfg.early_data = 1;
    cfg.now_unix = fixed_now;
    if (lwq_tls_new(&tls, &cfg))
        return 0;
    if (lwq_tls_set_transport_params(tls, (const uint8_t *)"server-tp", 9)) {
        lwq_tls_del(tls);
        return 0;
    }
    feed_records(tls, data, size, check_round_trip);
    lwq_tls_del(tls);
    return 0;
}
