/* Send scheduling (stream.c): only streams with something to send are on the active list, in send order, and
 * only streams owing control frames on the control list, so building a packet does not visit idle streams. */
#include "unit/conn_pair.h"

static int established(pair *p)
{
    return pair_established(p);
}

static size_t active_count(const lwq_conn *c)
{
    size_t n = 0;
    for (const lwq_stream *s = c->st.ahead; s; s = s->anext)
        n++;
    return n;
}

START_TEST(test_idle_streams_leave_the_lists)
{
    pair p;
    pair_init(&p, 71);
    p.ccfg.initial_max_streams_bidi = p.scfg.initial_max_streams_bidi = 64;
    pair_start(&p);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    int64_t id[50];
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &id[i]), 0);
        ck_assert_int_eq(lwq_stream_write(p.client, id[i], (const uint8_t *)"x", 1, 0), 1);
    }
    ck_assert_uint_eq(active_count(p.client), 50);
    ck_assert(pair_run(&p, NULL, LWQ_SEC));
    /* Everything sent: 50 open streams, none on either list. */
    ck_assert_uint_eq(p.client->st.count, 50);
    ck_assert_ptr_null(p.client->st.ahead);
    ck_assert_ptr_null(p.client->st.chead);
    for (int u = 0; u < 8; u++)
        ck_assert_uint_eq(p.client->st.nactive[u], 0);
    /* Written out of order, they go in send order (creation) all the same. */
    ck_assert_int_eq(lwq_stream_write(p.client, id[9], (const uint8_t *)"y", 1, 0), 1);
    ck_assert_int_eq(lwq_stream_write(p.client, id[3], (const uint8_t *)"y", 1, 0), 1);
    ck_assert_int_eq(lwq_stream_write(p.client, id[5], (const uint8_t *)"y", 1, 1), 1);
    ck_assert_uint_eq(active_count(p.client), 3);
    ck_assert_int_eq(p.client->st.ahead->id, id[3]);
    ck_assert_int_eq(p.client->st.ahead->anext->id, id[5]);
    ck_assert_int_eq(p.client->st.atail->id, id[9]);
    ck_assert_uint_eq(p.client->st.nactive[3], 3);
    /* A STOP_SENDING and a reset go on the control list. */
    ck_assert_int_eq(lwq_stream_stop_sending(p.client, id[20], 5), 0);
    ck_assert_int_eq(lwq_stream_reset(p.client, id[21], 6), 0);
    ck_assert_int_eq(p.client->st.chead->id, id[20]);
    ck_assert_int_eq(p.client->st.ctail->id, id[21]);
    ck_assert(pair_run(&p, NULL, LWQ_SEC));
    ck_assert_ptr_null(p.client->st.ahead);
    ck_assert_ptr_null(p.client->st.chead);
    /* The server got each of them. */
    uint8_t buf[8];
    int fin = 0;
    ck_assert_int_eq(lwq_stream_read(p.server, id[5], buf, sizeof(buf), &fin), 2);
    ck_assert_int_eq(fin, 1);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_sched(void)
{
    Suite *s = suite_create("conn_sched");
    TCase *tc = lwq_test_tcase("conn_sched");
    tcase_add_test(tc, test_idle_streams_leave_the_lists);
    suite_add_tcase(s, tc);
    return s;
}
