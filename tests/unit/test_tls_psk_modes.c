/* The client lists psk_key_exchange_modes in every ClientHello (RFC 9846 §4.2.9), not only when it
 * offers a PSK: quic-go 0.29 servers otherwise issue tickets that cannot be resumed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/tls.h"
#include "tls/msg.h"
#include "tls_harness.inc"

/* The client's first flight, decoded; returns the ClientHello's length. */
static size_t client_hello(tlst_peer *c, lwq_tls_client_hello *m)
{
    const uint8_t *p;
    size_t n;
    ck_assert_int_eq(lwq_tls_start(c->tls), 0);
    lwq_tls_output(c->tls, LWQ_TLS_EPOCH_INITIAL, &p, &n);
    ck_assert_uint_gt(n, 4);
    ck_assert_uint_eq(p[0], 1);
    ck_assert_int_eq(lwq_tls_client_hello_decode(m, p, n), (ssize_t)n);
    return n;
}

START_TEST(test_modes_without_session)
{
    tlst_certs fx;
    tlst_certs_load(&fx, "server-ecdsa.pem", "server-ecdsa.key");
    lwq_tls_config cc;
    tlst_config(&cc, 0, &fx);
    tlst_peer c;
    tlst_peer_init(&c, &cc, 7);
    lwq_tls_client_hello m;
    client_hello(&c, &m);
    ck_assert(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES));
    ck_assert(!(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY)));
    ck_assert(!(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA)));
    ck_assert_uint_eq(m.psk_modes.n, 1);
    ck_assert_uint_eq(m.psk_modes.p[0], LWQ_TLS_PSK_DHE_KE);
    tlst_peer_free(&c);
    tlst_certs_free(&fx);
}
END_TEST

/* A ticket from a handshake whose ClientHello listed the modes resumes; the resumed ClientHello
 * lists psk_dhe_ke once, with pre_shared_key as its last extension. */
START_TEST(test_modes_with_session)
{
    tlst_certs fx;
    tlst_certs_load(&fx, "server-ecdsa.pem", "server-ecdsa.key");
    lwq_tls_config cc, sc;
    tlst_peer c, s;
    tlst_config(&cc, 0, &fx);
    tlst_config(&sc, 1, &fx);
    sc.ticket_key = tlst_ticket_key;
    tlst_peer_init(&c, &cc, 11);
    tlst_peer_init(&s, &sc, 12);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(c.tickets, 1);
    uint8_t blob[4096];
    size_t blob_len = c.ticket_len;
    memcpy(blob, c.ticket, blob_len);
    tlst_peer_free(&c);
    tlst_peer_free(&s);

    cc.session = blob;
    cc.session_len = blob_len;
    tlst_peer_init(&c, &cc, 13);
    lwq_tls_client_hello m;
    size_t n = client_hello(&c, &m);
    ck_assert(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES));
    ck_assert(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY));
    ck_assert_uint_eq(m.psk_modes.n, 1);
    ck_assert_uint_eq(m.psk_modes.p[0], LWQ_TLS_PSK_DHE_KE);
    ck_assert_uint_eq(m.binders_off + 2 + m.psk_binders.n, n);
    tlst_peer_free(&c);

    tlst_peer_init(&c, &cc, 13);
    tlst_peer_init(&s, &sc, 14);
    ck_assert_int_eq(tlst_run(&c, &s), 0);
    ck_assert_int_eq(lwq_tls_resumed(c.tls), 1);
    ck_assert_int_eq(lwq_tls_resumed(s.tls), 1);
    tlst_peer_free(&c);
    tlst_peer_free(&s);
    tlst_certs_free(&fx);
}
END_TEST

Suite *suite_tls_psk_modes(void)
{
    Suite *s = suite_create("tls_psk_modes");
    TCase *tc = lwq_test_tcase("tls_psk_modes");
    tcase_add_test(tc, test_modes_without_session);
    tcase_add_test(tc, test_modes_with_session);
    suite_add_tcase(s, tc);
    return s;
}
