#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tls/msg.h"
#include "fuzz_tls.h"
#include "io/tls_files.h"

/* A fresh client, started, fed the input as the server's flight: records of
 * [epoch & 3][length u16][bytes]. The client's randomness, clock and settings
 * match the harness of tests/unit/test_tls_errors.c, which writes real server
 * flights to this corpus (LWQ_TLS_GEN_CORPUS), so seeds complete a handshake. */

/* Whatever the codec accepts and fully understands re-encodes to something it
 * decodes to the same fields (unknown extensions, and the known ones the encoder
 * never writes, are dropped by a re-encoding). */
static void check_round_trip(const uint8_t *p, size_t n)
{
    static uint8_t out[70000];
    ssize_t k;
    lwq_tls_server_hello sh, sh2;
    lwq_tls_encrypted_extensions ee, ee2;
    lwq_tls_new_session_ticket t, t2;
    if (lwq_tls_server_hello_decode(&sh, p, n) > 0 && !sh.unknown &&
        (k = lwq_tls_server_hello_encode(&sh, out, sizeof(out))) > 0) {
        if (lwq_tls_server_hello_decode(&sh2, out, (size_t)k) != k || sh2.is_hrr != sh.is_hrr ||
            sh2.suite != sh.suite || sh2.present != sh.present || sh2.version != sh.version || sh2.group != sh.group ||
            !SAME(sh2.share, sh.share) || !SAME(sh2.cookie, sh.cookie) || sh2.psk_identity != sh.psk_identity ||
            !SAME(sh2.session_id, sh.session_id))
            abort();
    }
    if (lwq_tls_encrypted_extensions_decode(&ee, p, n) > 0 && !ee.unknown &&
        (k = lwq_tls_encrypted_extensions_encode(&ee, out, sizeof(out))) > 0) {
        if (lwq_tls_encrypted_extensions_decode(&ee2, out, (size_t)k) != k || ee2.present != ee.present ||
            !SAME(ee2.alpn, ee.alpn) || !SAME(ee2.groups, ee.groups) ||
            !SAME(ee2.transport_params, ee.transport_params))
            abort();
    }
    if (lwq_tls_new_session_ticket_decode(&t, p, n) > 0 &&
        (k = lwq_tls_new_session_ticket_encode(&t, out, sizeof(out))) > 0) {
        if (lwq_tls_new_session_ticket_decode(&t2, out, (size_t)k) != k || t2.lifetime != t.lifetime ||
            t2.age_add != t.age_add || !SAME(t2.nonce, t.nonce) || !SAME(t2.ticket, t.ticket) ||
            t2.present != t.present || t2.max_early_data != t.max_early_data)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lwq_trust *trust;
    static const char *alpn[] = {"h3"};
    if (!trust) {
        if (lwq_trust_new(&trust, NULL) || lwq_trust_add_file(trust, "tests/data/certs/ca.pem") != 1) {
            fprintf(stderr, "fuzz_tls_client: run from the repository root (tests/data/certs/ca.pem)\n");
            abort();
        }
    }
    frng r;
    lwq_tls_config cfg;
    lwq_tls *tls;
    memset(&cfg, 0, sizeof(cfg));
    cfg.rng = frng_init(&r, 1000);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.server_name = "localhost";
    cfg.trust = trust;
    cfg.now_unix = fixed_now;
    if (lwq_tls_new(&tls, &cfg))
        return 0;
    if (lwq_tls_set_transport_params(tls, (const uint8_t *)"client-tp", 9) || lwq_tls_start(tls)) {
        lwq_tls_del(tls);
        return 0;
    }
    feed_records(tls, data, size, check_round_trip);
    lwq_tls_del(tls);
    return 0;
}
