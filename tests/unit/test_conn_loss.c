#include "conn_echo.h"

static int both_done(pair *p)
{
    return pair_established(p);
}

START_TEST(test_pipe_loss_reorder_1mib)
{
    static const unsigned loss[] = {5, 10, 20};
    for (int i = 0; i < 3; i++) {
        pair p;
        echo e;
        pair_init(&p, 300 + (uint64_t)i);
        p.loss_pct = loss[i];
        p.reorder_pct = 10;
        pair_start(&p);
        echo_init(&e, &p, 2, i == 2 ? 256 << 10 : 1 << 20);
        ck_assert_msg(pair_run(&p, echo_step, 600 * LWQ_SEC), "loss %u%%", loss[i]);
        echo_check(&e);
        ck_assert_uint_gt(p.dropped, 0);
        lwq_conn_stats st;
        lwq_conn_stats_get(p.server, &st);
        ck_assert_uint_gt(st.packets_lost, 0);
        pair_free(&p);
    }
}
END_TEST

/* RFC 9000 §13.2.1-2: 1-RTT packets are acknowledged every second ack-eliciting packet, else
 * after max_ack_delay; out-of-order packets at once. */
START_TEST(test_ack_delay_and_threshold)
{
    pair p;
    pair_init(&p, 301);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 500 * LWQ_MS);
    lwq_pn_space *sp = &p.server->sp[LWQ_SPACE_APP];
    ck_assert(!sp->ack_pending);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"a", 1, 0), 1);
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    ssize_t n1 = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_gt(n1, 0);
    ck_assert_int_eq(lwq_conn_recv(p.server, &path, buf, (size_t)n1, 0, p.now), 0);
    ck_assert(sp->ack_pending);
    ck_assert(!sp->ack_now);
    ck_assert_uint_eq(sp->ack_deadline, p.now + p.scfg.max_ack_delay);
    ck_assert_uint_le(lwq_conn_next_timeout(p.server), p.now + p.scfg.max_ack_delay);
    /* Nothing is sent before the deadline... */
    ck_assert_int_eq(lwq_conn_send(p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now), 0);
    /* ...and a second ack-eliciting packet makes the ACK immediate. */
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"b", 1, 0), 1);
    ssize_t n2 = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_gt(n2, 0);
    ck_assert_int_eq(lwq_conn_recv(p.server, &path, buf, (size_t)n2, 0, p.now), 0);
    ck_assert(sp->ack_now);
    ck_assert_int_gt(lwq_conn_send(p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now), 0);
    ck_assert(!sp->ack_pending);
    /* A single packet again: the ACK goes out when the timer fires. */
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"c", 1, 0), 1);
    ssize_t n3 = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_eq(lwq_conn_recv(p.server, &path, buf, (size_t)n3, 0, p.now), 0);
    lwq_tstamp t = lwq_conn_next_timeout(p.server);
    ck_assert_uint_eq(t, p.now + p.scfg.max_ack_delay);
    ck_assert_int_eq(lwq_conn_handle_timeout(p.server, t), 0);
    ck_assert_int_gt(lwq_conn_send(p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, t), 0);
    ck_assert(!sp->ack_pending);
    pair_free(&p);
}
END_TEST

/* A lost packet's STREAM data is sent again as information, not as the same packet. */
START_TEST(test_lost_stream_data_requeued)
{
    pair p;
    echo e;
    pair_init(&p, 302);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 500 * LWQ_MS);
    /* Drop the next three client datagrams. */
    p.drop_c2s[0] = p.n_c2s + 1;
    p.drop_c2s[1] = p.n_c2s + 2;
    p.drop_c2s[2] = p.n_c2s + 3;
    echo_init(&e, &p, 1, 50000);
    ck_assert(pair_run(&p, echo_step, 30 * LWQ_SEC));
    echo_check(&e);
    ck_assert_uint_eq(p.dropped, 3);
    ck_assert_uint_ge(p.client->rec.packets_lost, 3);
    pair_free(&p);
}
END_TEST

/* GSO batches: several full-size datagrams in one call, the last possibly shorter. */
START_TEST(test_send_segments)
{
    pair p;
    pair_init(&p, 303);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 300 * LWQ_MS);
    int64_t id;
    static uint8_t data[20000];
    memset(data, 's', sizeof(data));
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    static uint8_t buf[8 * 1500];
    size_t seg = 0;
    uint8_t ecn;
    lwq_path path;
    ssize_t n = lwq_conn_send(p.client, &path, buf, sizeof(buf), 8, &seg, &ecn, p.now);
    ck_assert_uint_eq(seg, 1200);
    ck_assert_int_gt(n, 4 * 1200);
    ck_assert_int_le(n, 8 * 1200);
    for (size_t off = 0; off < (size_t)n; off += seg) {
        size_t len = (size_t)n - off < seg ? (size_t)n - off : seg;
        ck_assert_int_eq(lwq_conn_recv(p.server, &path, buf + off, len, 0, p.now), 0);
    }
    /* Everything that arrived is in order and readable. */
    uint8_t out[20000];
    int fin = 0;
    ssize_t r = lwq_stream_read(p.server, id, out, sizeof(out), &fin);
    ck_assert_int_gt(r, 4 * 1100);
    ck_assert_int_eq(memcmp(out, data, (size_t)r), 0);
    pair_free(&p);
}
END_TEST

/* handshake_timeout: a server that never answers. */
START_TEST(test_handshake_timeout)
{
    pair p;
    pair_init(&p, 304);
    p.ccfg.handshake_timeout = 3 * LWQ_SEC;
    pair_start(&p);
    p.loss_pct = 100;
    lwq_tstamp start = p.now;
    ck_assert(pair_run(&p, NULL, 10 * LWQ_SEC));
    ck_assert(lwq_conn_is_closed(p.client));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(!ev.close.idle_timeout);
    ck_assert_str_eq(ev.close.reason, "handshake timeout");
    ck_assert_uint_ge(p.now, start + 3 * LWQ_SEC);
    /* Initial retransmissions on PTO backoff came first: 1 + several probes. */
    ck_assert_uint_ge(p.dropped, 3);
    pair_free(&p);
}
END_TEST

/* A handshake whose datagrams listed in drop_c2s / drop_s2c (0-terminated) are lost, the client's or
 * the server's initial RTT set to 100 ms (PTO 300 ms) when short_rtt says which ('c', 's'); p is
 * left established, for the caller's checks and pair_free. Returns how long the handshake took. */
static lwq_tstamp lossy_handshake(pair *p, uint64_t seed, const unsigned *c2s, const unsigned *s2c, char short_rtt)
{
    pair_init(p, seed);
    for (int i = 0; c2s && c2s[i]; i++)
        p->drop_c2s[i] = c2s[i];
    for (int i = 0; s2c && s2c[i]; i++)
        p->drop_s2c[i] = s2c[i];
    if (short_rtt)
        (short_rtt == 'c' ? &p->ccfg : &p->scfg)->initial_rtt = 100 * LWQ_MS;
    pair_start(p);
    lwq_tstamp start = p->now;
    ck_assert(pair_run(p, pair_established, 10 * LWQ_SEC));
    ck_assert(pair_established(p));
    return p->now - start;
}

/* A client's two PTO probes in the handshake both carry the ClientHello (RFC 9002 §6.2.4: probes
 * retransmit unacknowledged data): the first flight and the first probe datagram are lost, and the
 * second probe alone starts the handshake. A PING-only second probe only drew an ACK (and a server
 * that keeps no state without a ClientHello, as ngtcp2's, drops it: the handshake then waited for the
 * next PTO, and the interop runner's handshakeloss case timed out a connection). */
START_TEST(test_client_probes_both_carry_hello)
{
    pair p;
    static const unsigned c2s[] = {1, 2, 0};
    ck_assert_uint_lt(lossy_handshake(&p, 305, c2s, NULL, 0), 2 * LWQ_SEC);
    ck_assert_uint_eq(p.dropped, 2);
    /* the server answered the second probe with its handshake flight, not with an ACK of a PING */
    ck_assert_uint_ge(p.first_s2c_len, 1200);
    pair_free(&p);
}
END_TEST

/* The server's first flight (Initial and Handshake coalesced) is lost: its Initial PTO repeats the
 * Handshake data too (RFC 9002 §6.2.4: probe every space with data in flight), so the handshake
 * completes one server PTO in; probing the Initial space alone left the certificate for the
 * Handshake space's own, doubled, PTO. The server's initial RTT is short so that its PTO (300 ms)
 * comes long before the client's (999 ms), whose repeated ClientHello would trigger a resend too.
 * Then the mirror case, RFC 9002 §6.2.3: the client's PTO is the short one and repeats the
 * ClientHello; the server, seeing CRYPTO data it already has, resends its flight at once instead of
 * only acknowledging and waiting for its own PTO (999 ms). Either way: one 300 ms PTO, then the
 * probe, the flight (or Finished) and HANDSHAKE_DONE, four one-way trips in all. */
START_TEST(test_server_flight_lost)
{
    static const unsigned s2c[] = {1, 0}, s2c_twice[] = {1, 2, 0};
    for (int k = 0; k < 3; k++) {
        pair p;
        /* k == 2: the probe's first datagram is lost too; its second one is the whole flight again
         * (Initial and Handshake), not a padded PING, so it alone completes the handshake */
        lwq_tstamp took = lossy_handshake(&p, 306 + (uint64_t)k, NULL, k == 2 ? s2c_twice : s2c, k == 1 ? 'c' : 's');
        ck_assert_uint_eq(p.dropped, k == 2 ? 2 : 1);
        ck_assert_uint_le(took, 300 * LWQ_MS + 4 * p.delay);
        pair_free(&p);
    }
}
END_TEST

/* Every allocation of the data phase failing in turn: the connection closes with INTERNAL_ERROR
 * or carries on, never crashes, and everything is freed (the fixture checks). */
START_TEST(test_data_phase_alloc_failures)
{
    int failed_closed = 0;
    for (size_t k = 1; k <= 60; k++) {
        pair p;
        pair_init(&p, 305);
        pair_start(&p);
        ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
        lwq_test_alloc_fail_at(k);
        int64_t id = -1;
        uint8_t buf[1500];
        size_t seg;
        uint8_t ecn;
        lwq_path path;
        static uint8_t data[30000];
        for (int round = 0; round < 100; round++) {
            if (id < 0 && lwq_stream_open(p.client, 1, &id) != 0)
                id = -1;
            if (id >= 0)
                (void)lwq_stream_write(p.client, id, data, sizeof(data), 0);
            ssize_t n;
            while ((n = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0)
                (void)lwq_conn_recv(p.server, &path, buf, (size_t)n, 0, p.now);
            while ((n = lwq_conn_send(p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0)
                (void)lwq_conn_recv(p.client, &path, buf, (size_t)n, 0, p.now);
            lwq_event ev;
            while (lwq_conn_next_event(p.server, &ev))
                if (ev.type == LWQ_EV_STREAM_READABLE) {
                    int fin;
                    while (lwq_stream_read(p.server, ev.stream_id, buf, sizeof(buf), &fin) > 0)
                        ;
                }
            p.now += 5 * LWQ_MS;
            lwq_conn_handle_timeout(p.client, p.now);
            lwq_conn_handle_timeout(p.server, p.now);
        }
        lwq_test_alloc_fail_at(0);
        if (p.client->state >= LWQ_CONN_CLOSING || p.server->state >= LWQ_CONN_CLOSING) {
            const lwq_conn *c = p.client->state >= LWQ_CONN_CLOSING ? p.client : p.server;
            ck_assert_msg(c->close.code == LWQ_QUIC_ERR_INTERNAL_ERROR || c->close.by_peer,
                          "k %zu code %lu reason %s server %d", k, (unsigned long)c->close.code, c->close.reason,
                          c->is_server);
            failed_closed++;
        }
        pair_free(&p);
    }
    ck_assert_int_gt(failed_closed, 0);
}
END_TEST

Suite *suite_conn_loss(void)
{
    Suite *s = suite_create("conn_loss");
    TCase *tc = lwq_test_tcase("loss");
    tcase_add_test(tc, test_pipe_loss_reorder_1mib);
    tcase_add_test(tc, test_ack_delay_and_threshold);
    tcase_add_test(tc, test_lost_stream_data_requeued);
    tcase_add_test(tc, test_send_segments);
    tcase_add_test(tc, test_handshake_timeout);
    tcase_add_test(tc, test_client_probes_both_carry_hello);
    tcase_add_test(tc, test_server_flight_lost);
    tcase_add_test(tc, test_data_phase_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
