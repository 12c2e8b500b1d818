/* Client and server handshakes wired back to back through an in-memory pipe.
 * The tlst_* harness here is shared with test_tls_resume.c and test_tls_errors.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/tls.h"
#include "tls_harness.inc"
#include "io/tls_files.h"

static const uint16_t suites_all[] = {LWQ_SUITE_AES128GCM_SHA256, LWQ_SUITE_AES256GCM_SHA384,
                                      LWQ_SUITE_CHACHA20POLY1305_SHA256};

/* {X25519, P-256, forced HRR} x {ECDSA P-256, RSA-PSS 2048, Ed25519} x {3 suites} */
START_TEST(test_handshake_matrix)
{
    int gmode = _i / 9, cert = (_i / 3) % 3, suite_i = _i % 3;
    static const char *certs[][2] = {{"server-ecdsa.pem", "server-ecdsa.key"},
                                     {"server-rsa.pem", "server-rsa.key"},
                                     {"server-ed25519.pem", "server-ed25519.key"}};
    static const uint16_t want_sig[] = {LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA256, LWQ_SIG_ED25519};
    static const uint16_t p256_first[] = {LWQ_GROUP_SECP256R1, LWQ_GROUP_X25519}, p256_only[] = {LWQ_GROUP_SECP256R1};
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, certs[cert][0], certs[cert][1]);
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.suites = &suites_all[suite_i];
    cc.suite_count = 1;
    if (gmode == 1) {
        cc.groups = p256_first;
        cc.group_count = 2;
    } else if (gmode == 2) {
        /* the client's share is X25519, the server only takes P-256 */
        sc.groups = p256_only;
        sc.group_count = 1;
    }
    tlst_peer_init(&c, &cc, 1 + (uint64_t)_i);
    tlst_peer_init(&s, &sc, 100 + (uint64_t)_i);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 0);
    ck_assert_uint_eq(lwq_tls_suite(c.tls), suites_all[suite_i]);
    ck_assert_uint_eq(lwq_tls_suite(s.tls), suites_all[suite_i]);
    ck_assert_uint_eq(c.secret_len[LWQ_TLS_EPOCH_1RTT][1], suite_i == 1 ? 48 : 32);
    uint16_t g = gmode == 0 ? LWQ_GROUP_X25519 : LWQ_GROUP_SECP256R1;
    ck_assert_uint_eq(lwq_tls_group(c.tls), g);
    ck_assert_uint_eq(lwq_tls_group(s.tls), g);
    ck_assert_int_eq(lwq_tls_hrr(c.tls), gmode == 2);
    ck_assert_int_eq(lwq_tls_hrr(s.tls), gmode == 2);
    ck_assert_uint_eq(lwq_tls_sigalg(c.tls), want_sig[cert]);
    ck_assert_uint_eq(lwq_tls_sigalg(s.tls), want_sig[cert]);
    ck_assert_int_eq(c.verified, 1);
    ck_assert_int_eq(lwq_tls_resumed(c.tls), 0);
    ck_assert_int_eq(lwq_tls_verify_result(c.tls), 0);
    const lwq_cert_chain *pc = lwq_tls_peer_chain(c.tls);
    ck_assert_ptr_nonnull(pc);
    ck_assert_uint_eq(pc->count, fx.chain.count);
    ck_assert_mem_eq(pc->der[0], fx.chain.der[0], fx.chain.len[0]);
    ck_assert_str_eq(lwq_tls_server_name(s.tls), "localhost");
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_handshake_secret_order_and_outputs)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "server-ed25519.pem", "server-ed25519.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    tlst_peer_init(&c, &cc, 7);
    tlst_peer_init(&s, &sc, 8);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 0);
    /* keys come in the order they must be installed (RFC 9001 §4.1.4) */
    static const int corder[] = {LWQ_TLS_EPOCH_HANDSHAKE * 2, LWQ_TLS_EPOCH_HANDSHAKE * 2 + 1, LWQ_TLS_EPOCH_1RTT * 2,
                                 LWQ_TLS_EPOCH_1RTT * 2 + 1};
    static const int sorder[] = {LWQ_TLS_EPOCH_HANDSHAKE * 2, LWQ_TLS_EPOCH_HANDSHAKE * 2 + 1,
                                 LWQ_TLS_EPOCH_1RTT * 2 + 1, LWQ_TLS_EPOCH_1RTT * 2};
    ck_assert_int_eq(c.nsecrets, 4);
    ck_assert_int_eq(s.nsecrets, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(c.order[i], corder[i]);
        ck_assert_int_eq(s.order[i], sorder[i]);
    }
    /* the completion event follows the last secret */
    ck_assert_int_eq(c.complete_after, 4);
    ck_assert_int_eq(s.complete_after, 4);
    /* the QUIC layer sees what it needs */
    const uint8_t *p;
    size_t n;
    ck_assert_int_eq(lwq_tls_peer_transport_params(c.tls, &p, &n), 0);
    ck_assert_uint_eq(n, 9);
    ck_assert_mem_eq(p, "server-tp", 9);
    ck_assert_int_eq(lwq_tls_peer_transport_params(s.tls, &p, &n), 0);
    ck_assert_mem_eq(p, "client-tp", 9);
    p = lwq_tls_alpn(c.tls, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(p, "h3", 2);
    ck_assert_int_eq(lwq_tls_handshake_complete(c.tls), 1);
    /* nothing is left to send, nothing more is accepted by the server */
    for (int e = 0; e < LWQ_TLS_EPOCHS; e++) {
        lwq_tls_output(c.tls, (lwq_tls_epoch)e, &p, &n);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert_int_eq(lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_1RTT, (const uint8_t *)"\x18\x00\x00\x01\x00", 5),
                     LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_alert(s.tls), LWQ_TLS_ALERT_UNEXPECTED_MESSAGE);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

static char keylog_c[8][256], keylog_s[8][256];
static int nkeylog_c, nkeylog_s;
static void keylog_client(void *ud, const char *line)
{
    (void)ud;
    snprintf(keylog_c[nkeylog_c++ & 7], 256, "%s", line);
}
static void keylog_server(void *ud, const char *line)
{
    (void)ud;
    snprintf(keylog_s[nkeylog_s++ & 7], 256, "%s", line);
}

START_TEST(test_handshake_keylog_and_byte_splits)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "server-ecdsa.pem", "server-ecdsa.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.keylog = keylog_client;
    sc.keylog = keylog_server;
    nkeylog_c = nkeylog_s = 0;
    tlst_peer_init(&c, &cc, 11);
    tlst_peer_init(&s, &sc, 12);
    /* every flight delivered one byte at a time */
    c.chunk = s.chunk = 1;
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 0);
    ck_assert_int_eq(nkeylog_c, 5);
    ck_assert_int_eq(nkeylog_s, 5);
    /* NSS format: label, client random, secret; both sides log the same lines */
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int j = 0; j < 5; j++)
            found |= strcmp(keylog_c[i], keylog_s[j]) == 0;
        ck_assert_msg(found, "client line %s not logged by the server", keylog_c[i]);
    }
    ck_assert(strncmp(keylog_c[0], "SERVER_HANDSHAKE_TRAFFIC_SECRET ", 32) == 0);
    size_t hl = c.secret_len[LWQ_TLS_EPOCH_HANDSHAKE][0];
    ck_assert_uint_eq(strlen(keylog_c[0]), 32 + 64 + 1 + 2 * hl);
    char hex[2 * LWQ_HASH_MAX + 1];
    for (size_t i = 0; i < hl; i++)
        sprintf(hex + 2 * i, "%02x", c.secret[LWQ_TLS_EPOCH_HANDSHAKE][0][i]);
    ck_assert_str_eq(keylog_c[0] + 32 + 65, hex);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_handshake_chacha_only_and_server_preference)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    static const uint16_t chacha[] = {LWQ_SUITE_CHACHA20POLY1305_SHA256};
    tlst_certs_load(&fx, "server-ed25519.pem", "server-ed25519.key");
    /* a ChaCha20-only server against a default client */
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    sc.suites = chacha;
    sc.suite_count = 1;
    tlst_peer_init(&c, &cc, 21);
    tlst_peer_init(&s, &sc, 22);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_uint_eq(lwq_tls_suite(c.tls), LWQ_SUITE_CHACHA20POLY1305_SHA256);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    /* default lists: the server's preference decides */
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    tlst_peer_init(&c, &cc, 23);
    tlst_peer_init(&s, &sc, 24);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    lwq_suite want = lwq_aead_is_fast(LWQ_AEAD_AES256GCM) ? LWQ_SUITE_AES256GCM_SHA384 : LWQ_SUITE_AES128GCM_SHA256;
    ck_assert_uint_eq(lwq_tls_suite(s.tls), want);
    tlst_check_agree(&c, &s, 0);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_handshake_rsa_chain_and_insecure)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "server-rsa-chain.pem", "server-rsa.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    tlst_peer_init(&c, &cc, 31);
    tlst_peer_init(&s, &sc, 32);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_uint_eq(lwq_tls_peer_chain(c.tls)->count, fx.chain.count);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
    /* insecure: an untrusted certificate passes, and the client says it was not verified */
    tlst_certs_load(&fx, "unknownca.pem", "neg-leaf.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.insecure = 1;
    tlst_peer_init(&c, &cc, 33);
    tlst_peer_init(&s, &sc, 34);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(c.verified, 0);
    tlst_check_agree(&c, &s, 0);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_handshake_alpn_choice_and_mismatch)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    static const char *calpn[] = {"hq-interop", "h3"}, *salpn[] = {"h3", "hq-interop"}, *other[] = {"smtp"};
    tlst_certs_load(&fx, "server-ed25519.pem", "server-ed25519.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.alpn = calpn;
    cc.alpn_count = 2;
    sc.alpn = salpn;
    sc.alpn_count = 2;
    tlst_peer_init(&c, &cc, 41);
    tlst_peer_init(&s, &sc, 42);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    size_t n;
    const uint8_t *p = lwq_tls_alpn(c.tls, &n);
    ck_assert_uint_eq(n, 2); /* the server's preference */
    ck_assert_mem_eq(p, "h3", 2);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    sc.alpn = other;
    sc.alpn_count = 1;
    tlst_peer_init(&c, &cc, 43);
    tlst_peer_init(&s, &sc, 44);
    ck_assert_int_eq(tlst_run(&c, &s), LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_alert(s.tls), LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL);
    ck_assert_str_eq(lwq_tls_alert_name(lwq_tls_alert(s.tls)), "no_application_protocol");
    ck_assert(strlen(lwq_tls_error_reason(s.tls)) > 0);
    ck_assert_int_eq(lwq_tls_handshake_complete(c.tls), 0);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

/* Each certificate verification failure: its alert and its LWQ_ERR_CERT_* code. */
START_TEST(test_handshake_certificate_failures)
{
    static const struct {
        const char *pem, *key, *name;
        int err, alert;
    } cases[] = {
        {"expired.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_EXPIRED, LWQ_TLS_ALERT_CERTIFICATE_EXPIRED},
        {"notyet.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_NOT_YET_VALID, LWQ_TLS_ALERT_CERTIFICATE_EXPIRED},
        {"unknownca.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_UNKNOWN_CA, LWQ_TLS_ALERT_UNKNOWN_CA},
        {"wrongname.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_NAME_MISMATCH, LWQ_TLS_ALERT_BAD_CERTIFICATE},
        {"server-ecdsa.pem", "server-ecdsa.key", "other.example", LWQ_ERR_CERT_NAME_MISMATCH,
         LWQ_TLS_ALERT_BAD_CERTIFICATE},
        {"badsig.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_BAD_SIGNATURE, LWQ_TLS_ALERT_BAD_CERTIFICATE},
        {"notca-chain.pem", "neg-leaf.key", "localhost", LWQ_ERR_CERT_NOT_CA, LWQ_TLS_ALERT_UNKNOWN_CA},
        {"chain9.pem", "chain9-leaf.key", "localhost", LWQ_ERR_CERT_CHAIN_TOO_LONG, LWQ_TLS_ALERT_BAD_CERTIFICATE},
    };
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, cases[_i].pem, cases[_i].key);
    if (strcmp(cases[_i].pem, "chain9.pem") == 0) {
        /* trust the chain's own root so only the length limit fails */
        ck_assert_int_eq(lwq_trust_add_file(fx.trust, lwq_test_data_path("certs/chain9-root.pem")), 1);
    }
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.server_name = cases[_i].name;
    if (strcmp(cases[_i].pem, "chain9.pem") == 0)
        cc.max_chain_len = 4;
    tlst_peer_init(&c, &cc, 50 + (uint64_t)_i);
    tlst_peer_init(&s, &sc, 60 + (uint64_t)_i);
    ck_assert_int_eq(tlst_run(&c, &s), LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_verify_result(c.tls), cases[_i].err);
    ck_assert_int_eq(lwq_tls_alert(c.tls), cases[_i].alert);
    ck_assert_int_eq(lwq_tls_handshake_complete(c.tls), 0);
    /* the failed client accepts nothing more */
    ck_assert_int_eq(lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_HANDSHAKE, (const uint8_t *)"x", 1), LWQ_ERR_ALERT);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

static int pin_calls;
static int pin_hook(void *ud, const lwq_cert_chain *chain, int def)
{
    const tlst_certs *want = ud;
    pin_calls++;
    if (def == LWQ_ERR_CERT_UNKNOWN_CA && chain->len[0] == want->chain.len[0] &&
        memcmp(chain->der[0], want->chain.der[0], chain->len[0]) == 0)
        return 0; /* pinned: accept despite the unknown issuer */
    return def ? def : LWQ_ERR_CERT_REJECTED;
}

START_TEST(test_handshake_verify_hook_pins)
{
    tlst_certs fx, other;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "unknownca.pem", "neg-leaf.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    cc.verify = pin_hook;
    cc.verify_ud = &fx;
    pin_calls = 0;
    tlst_peer_init(&c, &cc, 71);
    tlst_peer_init(&s, &sc, 72);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(pin_calls, 1);
    ck_assert_int_eq(c.verified, 1);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    /* a good chain that is not the pinned one is refused by the hook */
    tlst_certs_load(&other, "server-ecdsa.pem", "server-ecdsa.key");
    tlst_config(&cc, 0, &other);
    tlst_config(&sc, 1, &other);
    cc.verify = pin_hook;
    cc.verify_ud = &fx;
    tlst_peer_init(&c, &cc, 73);
    tlst_peer_init(&s, &sc, 74);
    ck_assert_int_eq(tlst_run(&c, &s), LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_verify_result(c.tls), LWQ_ERR_CERT_REJECTED);
    ck_assert_int_eq(lwq_tls_alert(c.tls), LWQ_TLS_ALERT_BAD_CERTIFICATE);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&other);
    tlst_certs_free(&fx);
}
END_TEST

/* Fail the n-th allocation of a whole handshake (with resumption tickets): every
 * failure unwinds with LWQ_ERR_NOMEM or a clean alert, and nothing leaks. */
START_TEST(test_handshake_alloc_failures)
{
    tlst_certs fx;
    tlst_certs_load(&fx, "server-ed25519.pem", "server-ed25519.key");
    size_t base = lwq_test_alloc_count(), total;
    {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        tlst_config(&cc, 0, &fx);
        tlst_config(&sc, 1, &fx);
        sc.ticket_key = tlst_ticket_key;
        tlst_peer_init(&c, &cc, 81);
        tlst_peer_init(&s, &sc, 82);
        ck_assert_int_eq(tlst_run(&c, &s), 0);
        ck_assert_int_eq(c.tickets, 1);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        total = lwq_test_alloc_count() - base;
    }
    ck_assert_uint_gt(total, 10);
    int nomem = 0;
    for (size_t k = 1; k <= total; k++) {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        tlst_config(&cc, 0, &fx);
        tlst_config(&sc, 1, &fx);
        sc.ticket_key = tlst_ticket_key;
        lwq_test_alloc_fail_at(k);
        int rc1 = tlst_peer_try_init(&c, &cc, 81), rc2 = tlst_peer_try_init(&s, &sc, 82), rc = 0;
        if (rc1 == 0 && rc2 == 0)
            rc = tlst_run(&c, &s);
        if (rc1 == LWQ_ERR_NOMEM || rc2 == LWQ_ERR_NOMEM || rc == LWQ_ERR_NOMEM)
            nomem++;
        else
            ck_assert_msg(rc == 0 && c.tickets <= 1, "allocation %zu: rc %d", k, rc);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        lwq_test_alloc_fail_at(0);
    }
    ck_assert_int_gt(nomem, 0);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_config_rejects)
{
    lwq_tls_config cfg;
    lwq_tls *t;
    memset(&cfg, 0, sizeof(cfg));
    cfg.alloc = lwq_test_alloc;
    cfg.is_server = 1;
    ck_assert_int_eq(lwq_tls_new(&t, &cfg), LWQ_ERR_INVAL);
    cfg.is_server = 0;
    static const uint16_t bad_suite[] = {0x1304}, bad_group[] = {0x0018};
    cfg.suites = bad_suite;
    cfg.suite_count = 1;
    ck_assert_int_eq(lwq_tls_new(&t, &cfg), LWQ_ERR_INVAL);
    cfg.suites = NULL;
    cfg.groups = bad_group;
    cfg.group_count = 1;
    ck_assert_int_eq(lwq_tls_new(&t, &cfg), LWQ_ERR_INVAL);
    cfg.groups = NULL;
    ck_assert_int_eq(lwq_tls_new(&t, &cfg), 0);
    ck_assert_int_eq(lwq_tls_recv(t, LWQ_TLS_EPOCH_INITIAL, (const uint8_t *)"x", 1), LWQ_ERR_STATE);
    lwq_tls_event ev;
    ck_assert_int_eq(lwq_tls_next_event(t, &ev), LWQ_ERR_AGAIN);
    const uint8_t *p;
    size_t n;
    ck_assert_int_eq(lwq_tls_peer_transport_params(t, &p, &n), LWQ_ERR_AGAIN);
    ck_assert_int_eq(lwq_tls_set_transport_params(t, (const uint8_t *)"x", 0x10000), LWQ_ERR_INVAL);
    lwq_test_rng r;
    t->rng = lwq_test_rng_init(&r, 1);
    ck_assert_int_eq(lwq_tls_start(t), 0);
    ck_assert_int_eq(lwq_tls_start(t), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_tls_set_transport_params(t, (const uint8_t *)"x", 1), LWQ_ERR_STATE);
    lwq_tls_output(t, LWQ_TLS_EPOCH_INITIAL, &p, &n);
    ck_assert_uint_gt(n, 100);
    lwq_tls_output_consume(t, LWQ_TLS_EPOCH_INITIAL, 10);
    size_t n2;
    lwq_tls_output(t, LWQ_TLS_EPOCH_INITIAL, &p, &n2);
    ck_assert_uint_eq(n2, n - 10);
    lwq_tls_output_consume(t, LWQ_TLS_EPOCH_INITIAL, n);
    lwq_tls_output(t, LWQ_TLS_EPOCH_INITIAL, &p, &n2);
    ck_assert_uint_eq(n2, 0);
    lwq_tls_del(t);
}
END_TEST

/* Our server never asks for a client certificate; a server that does (rebuilt here
 * from the real server's keys) gets an empty Certificate echoing its context
 * before the client Finished (RFC 9846 §4.4.2). */
START_TEST(test_client_answers_certificate_request)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "server-ed25519.pem", "server-ed25519.key");
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    tlst_peer_init(&c, &cc, 91);
    tlst_peer_init(&s, &sc, 92);
    ck_assert_int_eq(lwq_tls_start(c.tls), 0);
    const uint8_t *p, *ch, *sh, *hs;
    size_t n, chn, shn, hsn;
    lwq_tls_output(c.tls, LWQ_TLS_EPOCH_INITIAL, &ch, &chn);
    ck_assert_int_eq(lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_INITIAL, ch, chn), 0);
    lwq_tls_output(s.tls, LWQ_TLS_EPOCH_INITIAL, &sh, &shn);
    lwq_tls_output(s.tls, LWQ_TLS_EPOCH_HANDSHAKE, &hs, &hsn);
    /* the real flight: EE, Certificate, CertificateVerify, Finished */
    size_t ee = 4 + lwq_get24(hs + 1), cert = 4 + lwq_get24(hs + ee + 1);
    ck_assert_uint_eq(hs[ee], LWQ_TLS_HS_CERTIFICATE);
    lwq_tls srv;
    memset(&srv, 0, sizeof(srv));
    lwq_tls_th_start(&srv, lwq_tls_suite(s.tls));
    lwq_tls_th_update(&srv, ch, chn);
    lwq_tls_th_update(&srv, sh, shn);
    uint8_t flight[4096], *w = flight;
    memcpy(w, hs, ee);
    w += ee;
    uint8_t sa[2];
    uint16_t ed = LWQ_SIG_ED25519;
    lwq_tls_certificate_request cr = {{(const uint8_t *)"ctx", 3}, 0, 0, lwq_tls_u16_list_put(sa, &ed, 1)};
    w += lwq_tls_certificate_request_encode(&cr, w, 64);
    memcpy(w, hs + ee, cert);
    w += cert;
    lwq_tls_th_update(&srv, flight, (size_t)(w - flight));
    uint8_t content[200], sig[LWQ_SIG_MAX], mac[LWQ_HASH_MAX];
    size_t siglen = sizeof(sig), cl = lwq_tls_cv_content(&srv, 1, content);
    ck_assert_int_eq(lwq_sign(fx.key, LWQ_SIG_ED25519, content, cl, sig, &siglen, NULL), 0);
    lwq_tls_certificate_verify cv = {LWQ_SIG_ED25519, {sig, siglen}};
    ssize_t k = lwq_tls_certificate_verify_encode(&cv, w, 200);
    lwq_tls_th_update(&srv, w, (size_t)k);
    w += k;
    lwq_tls_finished_mac(&srv, s.tls->s_hs, mac);
    lwq_tls_finished f = {{mac, srv.hlen}};
    k = lwq_tls_finished_encode(&f, w, 100);
    lwq_tls_th_update(&srv, w, (size_t)k);
    w += k;
    ck_assert_int_eq(lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, sh, shn), 0);
    ck_assert_int_eq(lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_HANDSHAKE, flight, (size_t)(w - flight)), 0);
    tlst_events(&c);
    ck_assert_int_eq(c.complete, 1);
    /* the answer: Certificate with the request's context and no entries, then Finished */
    lwq_tls_output(c.tls, LWQ_TLS_EPOCH_HANDSHAKE, &p, &n);
    lwq_tls_certificate empty;
    ssize_t en = lwq_tls_certificate_decode(&empty, p, n);
    ck_assert_int_gt(en, 0);
    ck_assert_uint_eq(empty.count, 0);
    ck_assert_uint_eq(empty.context.n, 3);
    ck_assert_mem_eq(empty.context.p, "ctx", 3);
    lwq_tls_th_update(&srv, p, (size_t)en);
    lwq_tls_finished_mac(&srv, s.tls->c_hs, mac);
    ck_assert_uint_eq(n - (size_t)en, 4 + srv.hlen);
    ck_assert_mem_eq(p + en + 4, mac, srv.hlen);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

/* An IP literal is verified against the certificate's iPAddress and never sent as SNI (RFC 6066 §3). */
START_TEST(test_handshake_ip_literal_name)
{
    tlst_certs fx;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_certs_load(&fx, "server-ecdsa.pem", "server-ecdsa.key");
    for (int k = 0; k < 2; k++) {
        tlst_config(&cc, 0, &fx);
        tlst_config(&sc, 1, &fx);
        cc.server_name = k ? "127.0.0.2" : "127.0.0.1";
        tlst_peer_init(&c, &cc, 95);
        tlst_peer_init(&s, &sc, 96);
        ck_assert_int_eq(tlst_run(&c, &s), k ? LWQ_ERR_ALERT : 0);
        ck_assert_ptr_null(lwq_tls_server_name(s.tls));
        if (k)
            ck_assert_int_eq(lwq_tls_verify_result(c.tls), LWQ_ERR_CERT_NAME_MISMATCH);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
    }
    tlst_certs_free(&fx);
}
END_TEST

Suite *suite_tls_handshake(void)
{
    Suite *s = suite_create("tls_handshake");
    TCase *tc = lwq_test_tcase("tls_handshake");
    tcase_add_loop_test(tc, test_handshake_matrix, 0, 27);
    tcase_add_test(tc, test_handshake_secret_order_and_outputs);
    tcase_add_test(tc, test_handshake_keylog_and_byte_splits);
    tcase_add_test(tc, test_handshake_chacha_only_and_server_preference);
    tcase_add_test(tc, test_handshake_rsa_chain_and_insecure);
    tcase_add_test(tc, test_handshake_alpn_choice_and_mismatch);
    tcase_add_loop_test(tc, test_handshake_certificate_failures, 0, 8);
    tcase_add_test(tc, test_handshake_verify_hook_pins);
    tcase_add_test(tc, test_handshake_alloc_failures);
    tcase_add_test(tc, test_config_rejects);
    tcase_add_test(tc, test_client_answers_certificate_request);
    tcase_add_test(tc, test_handshake_ip_literal_name);
    suite_add_tcase(s, tc);
    return s;
}
