/* Session tickets, PSK resumption and 0-RTT (RFC 9846 §2.2, §4.2.11, §4.6.1; RFC 9001 §4.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/tls.h"
#include "tls_harness.inc"

typedef struct resume_env {
    tlst_certs fx;
    uint8_t blob[4096];
    size_t blob_len;
    int64_t server_now, client_now;
} resume_env;

/* A full handshake that leaves a ticket in env->blob. */
static void get_ticket(resume_env *env, int early, uint64_t seed)
{
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_config(&cc, 0, &env->fx);
    tlst_config(&sc, 1, &env->fx);
    sc.ticket_key = tlst_ticket_key;
    sc.early_data = early;
    tlst_peer_init(&c, &cc, seed);
    tlst_peer_init(&s, &sc, seed + 1000);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(c.tickets, 1);
    ck_assert_int_eq(s.tickets, 0);
    memcpy(env->blob, c.ticket, c.ticket_len);
    env->blob_len = c.ticket_len;
    tlst_peer_free(&c);
    tlst_peer_free(&s);
}

static void env_init(resume_env *env)
{
    memset(env, 0, sizeof(*env));
    tlst_certs_load(&env->fx, "server-ecdsa.pem", "server-ecdsa.key");
    env->server_now = env->client_now = TLST_NOW;
}

/* Configs for a resumption attempt with env's ticket. */
static void resume_configs(resume_env *env, lwq_tls_config *cc, lwq_tls_config *sc, int early)
{
    tlst_config(cc, 0, &env->fx);
    tlst_config(sc, 1, &env->fx);
    cc->session = env->blob;
    cc->session_len = env->blob_len;
    cc->early_data = early;
    cc->now_ud = &env->client_now;
    sc->ticket_key = tlst_ticket_key;
    sc->early_data = early;
    sc->now_ud = &env->server_now;
}

static int received_type(const tlst_peer *p, int epoch, uint8_t type)
{
    for (size_t off = 0; off + 4 <= p->rxlen[epoch];) {
        if (p->rx[epoch][off] == type)
            return 1;
        off += 4 + lwq_get24(p->rx[epoch] + off + 1);
    }
    return 0;
}

START_TEST(test_resume_without_certificate)
{
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    env_init(&env);
    get_ticket(&env, 0, 1);
    env.client_now += 5;
    env.server_now += 5;
    resume_configs(&env, &cc, &sc, 0);
    tlst_peer_init(&c, &cc, 2);
    tlst_peer_init(&s, &sc, 3);
    c.record = 1;
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 0);
    ck_assert_int_eq(lwq_tls_resumed(c.tls), 1);
    ck_assert_int_eq(lwq_tls_resumed(s.tls), 1);
    /* RFC 9846 §2.2: no Certificate or CertificateVerify on resumption */
    ck_assert(received_type(&c, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_HS_ENCRYPTED_EXTENSIONS));
    ck_assert(received_type(&c, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_HS_FINISHED));
    ck_assert(!received_type(&c, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_HS_CERTIFICATE));
    ck_assert(!received_type(&c, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_HS_CERTIFICATE_VERIFY));
    ck_assert_ptr_null(lwq_tls_peer_chain(c.tls));
    ck_assert_int_eq(c.early_events, 0);
    ck_assert_uint_eq(c.secret_len[LWQ_TLS_EPOCH_0RTT][1], 0);
    /* the resumed connection hands out a fresh ticket, which resumes too */
    ck_assert_int_eq(c.tickets, 1);
    ck_assert(c.ticket_len != env.blob_len || memcmp(c.ticket, env.blob, env.blob_len) != 0);
    memcpy(env.blob, c.ticket, c.ticket_len);
    env.blob_len = c.ticket_len;
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    resume_configs(&env, &cc, &sc, 0);
    tlst_peer_init(&c, &cc, 4);
    tlst_peer_init(&s, &sc, 5);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(lwq_tls_resumed(s.tls), 1);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&env.fx);
}
END_TEST

START_TEST(test_resume_0rtt_accepted)
{
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    env_init(&env);
    get_ticket(&env, 1, 10);
    const uint8_t *tp;
    size_t tpn;
    ck_assert_int_eq(lwq_tls_session_transport_params(env.blob, env.blob_len, &tp, &tpn), 0);
    ck_assert_uint_eq(tpn, 9);
    ck_assert_mem_eq(tp, "server-tp", 9);
    env.client_now += 30;
    env.server_now += 30;
    resume_configs(&env, &cc, &sc, 1);
    tlst_peer_init(&c, &cc, 11);
    tlst_peer_init(&s, &sc, 12);
    /* the 0-RTT key exists right after the ClientHello, before any answer */
    ck_assert_int_eq(lwq_tls_start(c.tls), 0);
    c.started = 1;
    tlst_events(&c);
    ck_assert_int_eq(c.nsecrets, 1);
    ck_assert_int_eq(c.order[0], LWQ_TLS_EPOCH_0RTT * 2 + 1);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 1);
    ck_assert_int_eq(s.order[0], LWQ_TLS_EPOCH_0RTT * 2);
    ck_assert_int_eq(c.early_events, 1);
    ck_assert_int_eq(c.early_accepted, 1);
    ck_assert_int_eq(lwq_tls_early_data_accepted(c.tls), 1);
    ck_assert_int_eq(lwq_tls_early_data_accepted(s.tls), 1);
    ck_assert_int_eq(lwq_tls_resumed(c.tls), 1);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&env.fx);
}
END_TEST

/* 0-RTT refused in several ways; the handshake itself always succeeds. */
START_TEST(test_resume_0rtt_rejected)
{
    static const uint16_t p256_only[] = {LWQ_GROUP_SECP256R1};
    static const char *other_alpn[] = {"hq-interop", "h3"};
    static const uint8_t other_key[32] = {9};
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    env_init(&env);
    get_ticket(&env, 1, 20 + (uint64_t)_i);
    env.client_now += 2;
    env.server_now += 2;
    resume_configs(&env, &cc, &sc, 1);
    int want_resumed = 1;
    switch (_i) {
    case 0: /* the server no longer takes early data */
        sc.early_data = 0;
        break;
    case 1: /* HelloRetryRequest: the second ClientHello drops early_data */
        sc.groups = p256_only;
        sc.group_count = 1;
        break;
    case 2: /* a different ALPN than the ticket's */
        cc.alpn = other_alpn;
        cc.alpn_count = 2;
        sc.alpn = other_alpn;
        sc.alpn_count = 2;
        break;
    case 3: /* the ticket age is off by a minute */
        env.server_now += 60;
        break;
    case 4: /* a server with another ticket key: full handshake */
        sc.ticket_key = other_key;
        want_resumed = 0;
        break;
    case 5: /* the server says the ticket expired: full handshake */
        env.server_now += 86400 + 10;
        want_resumed = 0;
        break;
    case 6: /* the early context (transport parameters, HTTP/3 settings) is not the ticket's */
        sc.early_context = (const uint8_t *)"changed";
        sc.early_context_len = 7;
        break;
    }
    tlst_peer_init(&c, &cc, 30);
    tlst_peer_init(&s, &sc, 31);
    c.record = 1;
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    tlst_check_agree(&c, &s, 0);
    ck_assert_uint_ge(c.secret_len[LWQ_TLS_EPOCH_0RTT][1], 32); /* the client tried */
    ck_assert_int_eq(c.early_events, 1);
    ck_assert_int_eq(c.early_accepted, 0);
    ck_assert_int_eq(lwq_tls_early_data_accepted(s.tls), 0);
    ck_assert_int_eq(lwq_tls_resumed(c.tls), want_resumed);
    ck_assert_int_eq(lwq_tls_resumed(s.tls), want_resumed);
    ck_assert_int_eq(received_type(&c, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_HS_CERTIFICATE), !want_resumed);
    ck_assert_int_eq(lwq_tls_hrr(c.tls), _i == 1);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&env.fx);
}
END_TEST

START_TEST(test_resume_client_skips_unusable_sessions)
{
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    env_init(&env);
    get_ticket(&env, 0, 40);
    for (int k = 0; k < 4; k++) {
        resume_configs(&env, &cc, &sc, 1);
        uint8_t bad[4096];
        memcpy(bad, env.blob, env.blob_len);
        if (k == 0)
            env.client_now = TLST_NOW + 86400 + 1; /* expired on the client's clock */
        else if (k == 1)
            cc.server_name = "server"; /* a ticket from another server */
        else if (k == 2) {
            bad[0] ^= 1; /* not a blob */
            cc.session = bad;
        } else {
            cc.session_len = env.blob_len - 1; /* truncated */
        }
        tlst_peer_init(&c, &cc, 41);
        tlst_peer_init(&s, &sc, 42);
        ck_assert_int_eq(tlst_run(&c, &s), 0);
        ck_assert_int_eq(lwq_tls_resumed(c.tls), 0);
        ck_assert_uint_eq(c.secret_len[LWQ_TLS_EPOCH_0RTT][1], 0);
        ck_assert_int_eq(c.early_events, 0);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        env.client_now = TLST_NOW;
    }
    /* every truncation of a blob is refused by the parser */
    const uint8_t *tp;
    size_t tpn;
    for (size_t k = 0; k < env.blob_len; k++)
        ck_assert_int_eq(lwq_tls_session_transport_params(env.blob, k, &tp, &tpn), LWQ_ERR_DECODE);
    tlst_certs_free(&env.fx);
}
END_TEST

START_TEST(test_resume_bad_binder_is_decrypt_error)
{
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    env_init(&env);
    get_ticket(&env, 1, 50);
    resume_configs(&env, &cc, &sc, 1);
    tlst_peer_init(&c, &cc, 51);
    tlst_peer_init(&s, &sc, 52);
    ck_assert_int_eq(lwq_tls_start(c.tls), 0);
    const uint8_t *p;
    size_t n;
    uint8_t ch[2048];
    lwq_tls_output(c.tls, LWQ_TLS_EPOCH_INITIAL, &p, &n);
    ck_assert_uint_le(n, sizeof(ch));
    memcpy(ch, p, n);
    ch[n - 1] ^= 0x80; /* the binder is the last byte of the ClientHello */
    ck_assert_int_eq(lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_INITIAL, ch, n), LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_alert(s.tls), LWQ_TLS_ALERT_DECRYPT_ERROR);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&env.fx);
}
END_TEST

START_TEST(test_ticket_seal_open)
{
    tlst_certs fx;
    lwq_tls_config sc;
    tlst_peer s;
    tlst_certs_load(&fx, "server-ecdsa.pem", "server-ecdsa.key");
    tlst_config(&sc, 1, &fx);
    sc.ticket_key = tlst_ticket_key;
    tlst_peer_init(&s, &sc, 60);
    lwq_tls_session in, out;
    memset(&in, 0, sizeof(in));
    in.suite = LWQ_SUITE_AES256GCM_SHA384;
    in.issued = TLST_NOW;
    in.lifetime = 3600;
    in.age_add = 0x01020304;
    in.max_early_data = 0xffffffff;
    memcpy(in.alpn, "h3", 2);
    in.alpn_len = 2;
    memset(in.psk, 0xab, 48);
    in.psk_len = 48;
    memset(in.early_context, 0x5c, LWQ_TLS_EARLY_CONTEXT_MAX);
    in.early_context_len = LWQ_TLS_EARLY_CONTEXT_MAX;
    uint8_t t1[512], t2[512];
    size_t n1, n2;
    ck_assert_int_eq(lwq_tls_ticket_seal(s.tls, &in, t1, sizeof(t1), &n1), 0);
    ck_assert_int_eq(lwq_tls_ticket_seal(s.tls, &in, t2, sizeof(t2), &n2), 0);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(t1, t2, n1) != 0); /* fresh nonce each time */
    ck_assert_int_eq(lwq_tls_ticket_open(s.tls, t1, n1, &out), 0);
    ck_assert_uint_eq(out.suite, in.suite);
    ck_assert_int_eq(out.issued, in.issued);
    ck_assert_uint_eq(out.lifetime, 3600);
    ck_assert_uint_eq(out.age_add, in.age_add);
    ck_assert_uint_eq(out.max_early_data, in.max_early_data);
    ck_assert_uint_eq(out.alpn_len, 2);
    ck_assert_mem_eq(out.psk, in.psk, 48);
    ck_assert_uint_eq(out.early_context_len, LWQ_TLS_EARLY_CONTEXT_MAX);
    ck_assert_mem_eq(out.early_context, in.early_context, LWQ_TLS_EARLY_CONTEXT_MAX);
    ck_assert_int_eq(lwq_tls_ticket_seal(s.tls, &in, t2, n1 - 1, &n2), LWQ_ERR_NOBUF);
    for (size_t i = 0; i < n1; i++) {
        memcpy(t2, t1, n1);
        t2[i] ^= 1;
        ck_assert_int_lt(lwq_tls_ticket_open(s.tls, t2, n1, &out), 0);
    }
    for (size_t k = 0; k < n1; k++)
        ck_assert_int_lt(lwq_tls_ticket_open(s.tls, t1, k, &out), 0);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

START_TEST(test_resume_alloc_failures)
{
    resume_env env;
    env_init(&env);
    get_ticket(&env, 1, 70);
    size_t base = lwq_test_alloc_count(), total;
    {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        resume_configs(&env, &cc, &sc, 1);
        tlst_peer_init(&c, &cc, 71);
        tlst_peer_init(&s, &sc, 72);
        ck_assert_int_eq(tlst_run(&c, &s), 0);
        ck_assert_int_eq(c.early_accepted, 1);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        total = lwq_test_alloc_count() - base;
    }
    for (size_t k = 1; k <= total; k++) {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        resume_configs(&env, &cc, &sc, 1);
        lwq_test_alloc_fail_at(k);
        int rc1 = tlst_peer_try_init(&c, &cc, 71), rc2 = tlst_peer_try_init(&s, &sc, 72), rc = 0;
        if (!rc1 && !rc2)
            rc = tlst_run(&c, &s);
        ck_assert(rc1 == LWQ_ERR_NOMEM || rc2 == LWQ_ERR_NOMEM || rc == LWQ_ERR_NOMEM || rc == 0);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        lwq_test_alloc_fail_at(0);
    }
    tlst_certs_free(&env.fx);
}
END_TEST

/* Anti-replay hook (RFC 9846 §8): the same ClientHello replayed to a server that
 * has seen its binder resumes without early data. */
static uint8_t seen[8][LWQ_HASH_MAX];
static size_t nseen;
static int fresh_once(void *ud, const uint8_t *binder, size_t len)
{
    (void)ud;
    ck_assert_uint_le(len, LWQ_HASH_MAX);
    for (size_t i = 0; i < nseen; i++)
        if (memcmp(seen[i], binder, len) == 0)
            return 0;
    memcpy(seen[nseen++ & 7], binder, len);
    return 1;
}

START_TEST(test_resume_0rtt_replay_refused)
{
    resume_env env;
    lwq_tls_config cc, sc;
    tlst_peer c, s, s2;
    env_init(&env);
    get_ticket(&env, 1, 80);
    resume_configs(&env, &cc, &sc, 1);
    sc.early_data_fresh = fresh_once;
    nseen = 0;
    tlst_peer_init(&c, &cc, 81);
    tlst_peer_init(&s, &sc, 82);
    s.record = 1;
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(c.early_accepted, 1);
    ck_assert_uint_eq(nseen, 1);
    tlst_peer_init(&s2, &sc, 83);
    ck_assert_int_eq(
        lwq_tls_recv(s2.tls, LWQ_TLS_EPOCH_INITIAL, s.rx[LWQ_TLS_EPOCH_INITIAL], s.rxlen[LWQ_TLS_EPOCH_INITIAL]), 0);
    tlst_events(&s2);
    ck_assert_int_eq(lwq_tls_resumed(s2.tls), 1);
    ck_assert_int_eq(lwq_tls_early_data_accepted(s2.tls), 0);
    ck_assert_uint_eq(s2.secret_len[LWQ_TLS_EPOCH_0RTT][0], 0);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_peer_free(&s2);
    tlst_certs_free(&env.fx);
}
END_TEST

Suite *suite_tls_resume(void)
{
    Suite *s = suite_create("tls_resume");
    TCase *tc = lwq_test_tcase("tls_resume");
    tcase_add_test(tc, test_resume_without_certificate);
    tcase_add_test(tc, test_resume_0rtt_accepted);
    tcase_add_loop_test(tc, test_resume_0rtt_rejected, 0, 7);
    tcase_add_test(tc, test_resume_client_skips_unusable_sessions);
    tcase_add_test(tc, test_resume_bad_binder_is_decrypt_error);
    tcase_add_test(tc, test_ticket_seal_open);
    tcase_add_test(tc, test_resume_alloc_failures);
    tcase_add_test(tc, test_resume_0rtt_replay_refused);
    suite_add_tcase(s, tc);
    return s;
}
