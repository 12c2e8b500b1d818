/* The server's first datagram of a connection: one whose Initial does not authenticate leaves no connection
 * behind (RFC 9000 §5.2.2, §12.2), so the same client's intact Initial still gets a handshake. */
#include "unit/conn_pair.h"

START_TEST(test_corrupt_first_initial_leaves_no_connection)
{
    for (size_t byte = 6; byte < 40; byte += 11) { /* the DCID, the SCID, the token length and packet number */
        pair p;
        pair_init(&p, 300 + byte);
        pair_start(&p);
        uint8_t d[1500], bad[1500];
        lwq_path path;
        size_t seg;
        uint8_t ecn;
        ssize_t n = lwq_conn_send(p.client, &path, d, sizeof(d), 1, &seg, &ecn, p.now);
        ck_assert_int_ge(n, 1200);
        memcpy(bad, d, (size_t)n);
        bad[byte] ^= 0x10;
        lwq_conn *c = (lwq_conn *)&p;
        int created = 1;
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, bad, (size_t)n, 0, p.now, &c, &created), 0);
        ck_assert_ptr_null(c);
        ck_assert_int_eq(created, 0);
        ck_assert_int_eq(lwq_server_send(p.srv, &path, bad, sizeof(bad), p.now), 0);
        /* The intact datagram makes the connection, and the handshake completes. */
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, (size_t)n, 0, p.now, &c, &created), 0);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(created, 1);
        p.server = c;
        ck_assert_int_eq(pair_run(&p, pair_established, 5 * LWQ_SEC), 1);
        ck_assert(pair_established(&p));
        pair_free(&p);
    }
}
END_TEST

Suite *suite_conn_server_initial(void)
{
    Suite *s = suite_create("conn_server_initial");
    TCase *tc = lwq_test_tcase("conn_server_initial");
    tcase_add_test(tc, test_corrupt_first_initial_leaves_no_connection);
    suite_add_tcase(s, tc);
    return s;
}
