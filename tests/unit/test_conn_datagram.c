#include <stdio.h>
#include "conn_pair.h"

static int both_done(pair *p)
{
    return pair_established(p);
}
static int server_closing(pair *p)
{
    return p->server->state >= LWQ_CONN_CLOSING;
}

/* RFC 9221: unreliable datagrams both ways, copied in and handed out by events. */
START_TEST(test_datagrams_both_ways)
{
    pair p;
    pair_init(&p, 61);
    p.ccfg.max_datagram_frame_size = p.scfg.max_datagram_frame_size = 1200;
    p.scfg.max_datagram_queue = 8;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p.server, &ev))
        ;
    char msg[64];
    for (int i = 0; i < 5; i++) {
        int n = snprintf(msg, sizeof(msg), "datagram %d", i);
        ck_assert_int_eq(lwq_datagram_send(p.client, (const uint8_t *)msg, (size_t)n), 0);
    }
    uint8_t big[1200];
    memset(big, 'b', sizeof(big));
    ck_assert_int_eq(lwq_datagram_send(p.client, big, sizeof(big)), LWQ_ERR_LIMIT); /* no split */
    ck_assert_int_eq(lwq_datagram_send(p.client, big, 1000), 0);
    pair_run(&p, NULL, 200 * LWQ_MS);
    int got = 0;
    while (lwq_conn_next_event(p.server, &ev)) {
        if (ev.type != LWQ_EV_DATAGRAM)
            continue;
        if (got < 5) {
            int n = snprintf(msg, sizeof(msg), "datagram %d", got);
            ck_assert_uint_eq(ev.len, (size_t)n);
            ck_assert_mem_eq(ev.data, msg, (size_t)n);
        } else {
            ck_assert_uint_eq(ev.len, 1000);
            ck_assert_mem_eq(ev.data, big, 1000);
        }
        got++;
    }
    ck_assert_int_eq(got, 6);
    /* The other way, and a full receive queue drops the excess (RFC 9221 §5). */
    ck_assert_int_eq(lwq_datagram_send(p.server, (const uint8_t *)"pong", 4), 0);
    pair_run(&p, NULL, 200 * LWQ_MS);
    ck_assert(pair_find_event(p.client, LWQ_EV_DATAGRAM, &ev));
    ck_assert_uint_eq(ev.len, 4);
    ck_assert_mem_eq(ev.data, "pong", 4);
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(lwq_datagram_send(p.client, (const uint8_t *)"x", 1), 0);
    pair_run(&p, NULL, 200 * LWQ_MS);
    got = 0;
    while (lwq_conn_next_event(p.server, &ev))
        got += ev.type == LWQ_EV_DATAGRAM;
    ck_assert_int_eq(got, 8);
    ck_assert_int_eq(p.server->state, LWQ_CONN_ESTABLISHED);
    pair_free(&p);
}
END_TEST

START_TEST(test_datagram_not_negotiated)
{
    pair p;
    pair_init(&p, 62);
    p.ccfg.max_datagram_frame_size = 1200; /* only the client accepts them */
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    ck_assert_int_eq(lwq_datagram_send(p.client, (const uint8_t *)"x", 1), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_datagram_send(p.server, (const uint8_t *)"y", 1), 0);
    /* A client that sends one anyway meets PROTOCOL_VIOLATION (RFC 9221 §3). */
    p.client->peer_tp.has_max_datagram_frame_size = 1;
    p.client->peer_tp.max_datagram_frame_size = 1200;
    ck_assert_int_eq(lwq_datagram_send(p.client, (const uint8_t *)"x", 1), 0);
    ck_assert(pair_run(&p, server_closing, LWQ_SEC));
    ck_assert_uint_eq(p.server->close.code, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    ck_assert_uint_eq(p.server->close.frame_type, 0x31);
    pair_free(&p);
}
END_TEST

/* Datagrams are never retransmitted: with loss some are gone, none arrives twice or damaged. */
START_TEST(test_datagrams_under_loss)
{
    pair p;
    pair_init(&p, 63);
    p.ccfg.max_datagram_frame_size = p.scfg.max_datagram_frame_size = 1200;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p.server, &ev))
        ;
    p.loss_pct = 30;
    uint8_t seen[40];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 40; i++) {
        uint8_t d[100];
        memset(d, i, sizeof(d));
        ck_assert_int_eq(lwq_datagram_send(p.client, d, sizeof(d)), 0);
        pair_run(&p, NULL, 5 * LWQ_MS);
        while (lwq_conn_next_event(p.server, &ev))
            if (ev.type == LWQ_EV_DATAGRAM) {
                ck_assert_uint_eq(ev.len, 100);
                ck_assert_uint_lt(ev.data[0], 40);
                ck_assert_uint_eq(ev.data[99], ev.data[0]);
                ck_assert_uint_eq(seen[ev.data[0]], 0);
                seen[ev.data[0]] = 1;
            }
    }
    pair_run(&p, NULL, LWQ_SEC);
    while (lwq_conn_next_event(p.server, &ev))
        if (ev.type == LWQ_EV_DATAGRAM) {
            ck_assert_uint_eq(seen[ev.data[0]], 0);
            seen[ev.data[0]] = 1;
        }
    int n = 0;
    for (int i = 0; i < 40; i++)
        n += seen[i];
    ck_assert_int_gt(n, 10);
    ck_assert_int_lt(n, 40);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_datagram(void)
{
    Suite *s = suite_create("conn_datagram");
    TCase *tc = lwq_test_tcase("datagram");
    tcase_add_test(tc, test_datagrams_both_ways);
    tcase_add_test(tc, test_datagram_not_negotiated);
    tcase_add_test(tc, test_datagrams_under_loss);
    suite_add_tcase(s, tc);
    return s;
}
