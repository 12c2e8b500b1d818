#include "conn_echo.h"

static int both_done(pair *p)
{
    return pair_established(p);
}

static int settled_streams(pair *p)
{
    return p->client->st.count == 0 && p->server && p->server->st.count == 0;
}

START_TEST(test_echo_1mib)
{
    pair p;
    echo e;
    pair_init(&p, 11);
    pair_start(&p);
    echo_init(&e, &p, 1, 1 << 20);
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    ck_assert_uint_ge(e.ev_readable, 1);
    ck_assert_uint_eq(e.ev_opened, 1);
    /* Both sides free the stream once everything is acknowledged (RFC 9000 §3). */
    ck_assert(pair_run(&p, settled_streams, 5 * LWQ_SEC));
    lwq_conn_stats st;
    lwq_conn_stats_get(p.client, &st);
    ck_assert_uint_eq(st.stream_bytes_received, 1 << 20);
    ck_assert_uint_ge(st.stream_bytes_sent, 1 << 20);
    ck_assert_uint_eq(p.dropped, 0);
    ck_assert_uint_eq(st.packets_lost, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_echo_many_streams)
{
    pair p;
    echo e;
    pair_init(&p, 12);
    pair_start(&p);
    echo_init(&e, &p, 40, 30000);
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    ck_assert_uint_eq(e.ev_opened, 40);
    ck_assert(pair_run(&p, settled_streams, 5 * LWQ_SEC));
    pair_free(&p);
}
END_TEST

START_TEST(test_echo_small_windows)
{
    pair p;
    echo e;
    pair_init(&p, 13);
    /* The client receives through 1 KiB windows, the server through 4 KiB ones: each sender meets
     * the other's limit. */
    lwq_config *cfgs[2] = {&p.ccfg, &p.scfg};
    for (int i = 0; i < 2; i++) {
        lwq_config *c = cfgs[i];
        uint64_t w = i ? 4096 : 1024;
        c->initial_max_data = w;
        c->initial_max_stream_data_bidi_local = c->initial_max_stream_data_bidi_remote = w;
        c->initial_max_stream_data_uni = w;
        c->max_window = c->max_stream_window = w;
    }
    pair_start(&p);
    echo_init(&e, &p, 3, 20000);
    ck_assert(pair_run(&p, echo_step, 120 * LWQ_SEC));
    echo_check(&e);
    /* The senders ran into the 1 KiB limits and said so (RFC 9000 §4.1). */
    ck_assert_uint_gt(p.client->st.blocked_sent, 0);
    ck_assert_uint_gt(p.server->st.blocked_received, 0);
    ck_assert_uint_gt(p.server->st.blocked_sent, 0);
    /* Windows never grew past the configured maximum. */
    ck_assert_uint_le(p.server->st.rx_window, 4096);
    ck_assert_uint_le(p.client->st.rx_window, 1024);
    pair_free(&p);
}
END_TEST

START_TEST(test_window_autotuning)
{
    pair p;
    echo e;
    pair_init(&p, 14);
    p.ccfg.initial_max_stream_data_bidi_local = 16384;
    p.scfg.initial_max_stream_data_bidi_remote = 16384;
    p.scfg.initial_max_data = 32768;
    pair_start(&p);
    echo_init(&e, &p, 1, 1 << 20);
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    /* A reader keeping up makes the connection window grow (RFC 9000 §4.2). */
    ck_assert_uint_gt(p.server->st.rx_window, 32768);
    ck_assert_uint_le(p.server->st.rx_window, p.scfg.max_window);
    pair_free(&p);
}
END_TEST

START_TEST(test_stream_limit_and_max_streams)
{
    pair p;
    echo e;
    pair_init(&p, 15);
    p.scfg.initial_max_streams_bidi = 4;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    int64_t ids[5];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &ids[i]), 0);
        ck_assert_int_eq(ids[i], 4 * i); /* client-initiated bidirectional: 0, 4, 8, ... */
    }
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &ids[4]), LWQ_ERR_LIMIT);
    ck_assert(p.client->st.streams_blocked_pending[0]);
    /* Twelve echoes through a limit of four: MAX_STREAMS credit comes back as streams close. */
    echo_init(&e, &p, 12, 3000);
    for (int i = 0; i < 4; i++) {
        e.cs[i].id = ids[i];
        e.cs[i].open = 1;
    }
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    ck_assert_uint_ge(p.client->st.local_max[0], 12);
    pair_free(&p);
}
END_TEST

START_TEST(test_uni_stream_and_events)
{
    pair p;
    pair_init(&p, 16);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p.server, &ev))
        ;
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 0, &id), 0);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"hello", 5, 1), 5);
    /* A unidirectional stream cannot be read by its opener, nor written by the peer. */
    uint8_t buf[16];
    int fin = 0;
    ck_assert_int_eq(lwq_stream_read(p.client, id, buf, sizeof(buf), &fin), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_stream_write(p.client, id, buf, 1, 0), LWQ_ERR_STATE); /* after FIN */
    pair_run(&p, NULL, 200 * LWQ_MS);
    ck_assert(pair_find_event(p.server, LWQ_EV_STREAM_OPENED, &ev));
    ck_assert_int_eq(ev.stream_id, 2);
    ck_assert(pair_find_event(p.server, LWQ_EV_STREAM_READABLE, &ev));
    ck_assert_int_eq(ev.stream_id, 2);
    ck_assert_int_eq(lwq_stream_write(p.server, 2, buf, 1, 0), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_stream_read(p.server, 2, buf, sizeof(buf), &fin), 5);
    ck_assert_int_eq(fin, 1);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert(pair_find_event(p.server, LWQ_EV_STREAM_CLOSED, &ev));
    ck_assert_int_eq(lwq_stream_read(p.server, 2, buf, sizeof(buf), &fin), LWQ_ERR_NOT_FOUND);
    /* Server-initiated streams have the server bit set. */
    ck_assert_int_eq(lwq_stream_open(p.server, 1, &id), 0);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(lwq_stream_open(p.server, 0, &id), 0);
    ck_assert_int_eq(id, 3);
    ck_assert_int_eq(lwq_stream_set_priority(p.server, 3, 8, 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_stream_set_priority(p.server, 3, 0, 1), 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_write_buffer_bound_and_writable)
{
    pair p;
    pair_init(&p, 17);
    p.ccfg.stream_send_buffer = 4096;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    uint8_t big[10000];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(lwq_stream_write(p.client, id, big, sizeof(big), 0), 4096);
    ck_assert_int_eq(lwq_stream_write(p.client, id, big, sizeof(big), 0), 0);
    pair_run(&p, NULL, 300 * LWQ_MS);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_STREAM_WRITABLE, &ev));
    ck_assert_int_eq(ev.stream_id, id);
    ck_assert_int_eq(lwq_stream_write(p.client, id, big, sizeof(big), 0), 4096);
    pair_free(&p);
}
END_TEST

typedef struct prio_run {
    int64_t id[3];
    size_t got[3];
    size_t snap[3][3]; /* snap[i][j]: bytes of stream j read when stream i ended */
    int fin[3];
} prio_run;

static prio_run *prio_cur;

static int prio_step(pair *p)
{
    prio_run *r = prio_cur;
    uint8_t buf[16384];
    lwq_event ev;
    int ended[3] = {0, 0, 0};
    while (lwq_conn_next_event(p->server, &ev))
        ;
    for (int i = 0; i < 3; i++) {
        int fin = 0;
        ssize_t n;
        while (!r->fin[i] && (n = lwq_stream_read(p->server, r->id[i], buf, sizeof(buf), &fin)) >= 0) {
            r->got[i] += (size_t)n;
            if (fin)
                r->fin[i] = ended[i] = 1;
        }
    }
    for (int i = 0; i < 3; i++)
        if (ended[i])
            memcpy(r->snap[i], r->got, sizeof(r->got));
    return r->fin[0] && r->fin[1] && r->fin[2];
}

/* RFC 9218: a lower urgency goes first; incremental streams of one urgency share the link. */
START_TEST(test_priority_scheduling)
{
    pair p;
    prio_run r;
    memset(&r, 0, sizeof(r));
    prio_cur = &r;
    pair_init(&p, 18);
    p.ccfg.stream_send_buffer = 300000;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    static uint8_t data[200000];
    memset(data, 'p', sizeof(data));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &r.id[i]), 0);
        ck_assert_int_eq(lwq_stream_write(p.client, r.id[i], data, sizeof(data), 1), (ssize_t)sizeof(data));
    }
    /* stream 0: background (urgency 7), written first; streams 1 and 2: urgent (1), incremental. */
    ck_assert_int_eq(lwq_stream_set_priority(p.client, r.id[0], 7, 0), 0);
    ck_assert_int_eq(lwq_stream_set_priority(p.client, r.id[1], 1, 1), 0);
    ck_assert_int_eq(lwq_stream_set_priority(p.client, r.id[2], 1, 1), 0);
    ck_assert(pair_run(&p, prio_step, 60 * LWQ_SEC));
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(r.got[i], sizeof(data));
    /* The background stream waited for both urgent ones (a round trip of slack)... */
    int last = r.snap[1][2] == sizeof(data) ? 1 : 2, first = 3 - last;
    ck_assert_uint_le(r.snap[last][0], 40000);
    /* ...which shared the link: when the first ended, the other was nearly done too. */
    ck_assert_uint_ge(r.snap[first][last], sizeof(data) - 20000);
    pair_free(&p);
}
END_TEST

/* RFC 9000 §5.1.1: each side issues CIDs up to the peer's active_connection_id_limit; the server
 * routes all of them (and the client's original DCID) to the connection. */
START_TEST(test_connection_ids_issued)
{
    pair p;
    pair_init(&p, 19);
    p.ccfg.active_connection_id_limit = 3;
    p.scfg.active_connection_id_limit = 5;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 300 * LWQ_MS);
    size_t cl = 0, cp = 0, sl = 0, spr = 0;
    for (int i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        cl += p.client->cids.local[i].used;
        sl += p.server->cids.local[i].used;
    }
    for (int i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
        cp += p.client->cids.peer[i].used;
        spr += p.server->cids.peer[i].used;
    }
    ck_assert_uint_eq(sl, 3); /* the client accepts 3 */
    ck_assert_uint_eq(cp, 3);
    ck_assert_uint_eq(cl, 5); /* the server accepts 5 */
    ck_assert_uint_eq(spr, 5);
    for (int i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        const lwq_local_cid *l = &p.server->cids.local[i];
        if (!l->used)
            continue;
        /* Each routes to the connection: a datagram to it reaches the server's connection. */
        uint8_t pkt[64];
        memset(pkt, 0, sizeof(pkt));
        pkt[0] = 0x40;
        memcpy(pkt + 1, l->cid.id, l->cid.len);
        lwq_conn *c = NULL;
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, pkt, sizeof(pkt), 0, p.now, &c, NULL), 0);
        ck_assert_ptr_eq(c, p.server);
    }
    pair_free(&p);
}
END_TEST

/* RFC 9000 §5.1.2: Retire Prior To makes the client move to a newer CID and retire the old ones;
 * the server replaces what was retired and traffic flows on the new CID. */
START_TEST(test_connection_id_rotation)
{
    pair p;
    echo e;
    pair_init(&p, 20);
    p.ccfg.active_connection_id_limit = 3;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 300 * LWQ_MS);
    const lwq_local_cid *two = NULL;
    for (int i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        if (p.server->cids.local[i].used && p.server->cids.local[i].seq == 2)
            two = &p.server->cids.local[i];
    ck_assert_ptr_nonnull(two);
    lwq_frame_new_cid f;
    memset(&f, 0, sizeof(f));
    f.seq = 2;
    f.retire_prior_to = 2;
    f.cid = two->cid;
    memcpy(f.reset_token, two->token, LWQ_RESET_TOKEN_LEN);
    lwq_cid moved_to = two->cid;
    ck_assert_int_eq(lwq_cids_on_new(p.client, &f), 0); /* a repeat of seq 2 with Retire Prior To 2 */
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), moved_to.id, moved_to.len));
    ck_assert_uint_eq(p.client->cids.nretire, 2);
    echo_init(&e, &p, 1, 20000);
    ck_assert(pair_run(&p, echo_step, 10 * LWQ_SEC));
    echo_check(&e);
    pair_run(&p, NULL, 300 * LWQ_MS);
    ck_assert_uint_eq(p.client->cids.nretire, 0);
    size_t active = 0;
    for (int i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        const lwq_local_cid *l = &p.server->cids.local[i];
        if (!l->used)
            continue;
        active++;
        ck_assert_uint_ge(l->seq, 2);
    }
    ck_assert_uint_eq(active, 3);
    ck_assert_uint_eq(p.server->cids.local_next_seq, 5);
    size_t peer = 0;
    for (int i = 0; i < LWQ_CIDS_PEER_MAX; i++)
        peer += p.client->cids.peer[i].used;
    ck_assert_uint_eq(peer, 3);
    /* Going below Retire Prior To again is answered by retiring at once, not by storing it. */
    f.seq = 1;
    f.retire_prior_to = 0;
    f.cid.id[0] ^= 0xff;
    ck_assert_int_eq(lwq_cids_on_new(p.client, &f), 0);
    ck_assert_uint_eq(p.client->cids.nretire, 1);
    pair_free(&p);
}
END_TEST

/* An initial window larger than the auto-tuning maximum is honoured as advertised: the sender fills all
 * of it before the receiver reads a byte, and reading moves the window by its full size, not by the
 * auto-tuning maximum. */
START_TEST(test_initial_window_above_max)
{
    enum { WIN = 512 << 10, MAXW = 64 << 10 };
    pair p;
    pair_init(&p, 25);
    p.scfg.initial_max_stream_data_bidi_local = MAXW;
    p.scfg.initial_max_stream_data_bidi_remote = WIN;
    p.scfg.max_stream_window = MAXW;
    p.ccfg.stream_send_buffer = 1 << 20;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[WIN + (64 << 10)];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + (i >> 9));
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 0), (ssize_t)sizeof(data));
    pair_run(&p, NULL, 3 * LWQ_SEC); /* the server reads nothing */
    const lwq_stream *cs = lwq_stream_find(p.client, id);
    ck_assert_uint_eq(cs->tx_max, WIN);
    ck_assert_uint_eq(cs->tx.sent_off, WIN);
    const lwq_stream *ss = lwq_stream_find(p.server, id);
    ck_assert_ptr_nonnull(ss);
    ck_assert_uint_eq(ss->rx_max, WIN);
    static uint8_t got[WIN];
    size_t n = 0;
    ssize_t k;
    int fin = 0;
    while (n < WIN && (k = lwq_stream_read(p.server, id, got + n, 4096, &fin)) > 0)
        n += (size_t)k;
    ck_assert_uint_eq(n, WIN);
    ck_assert_int_eq(memcmp(got, data, WIN), 0);
    ck_assert_uint_eq(ss->rx_window, WIN);
    ck_assert_uint_ge(ss->rx_max - WIN, WIN / 2);
    pair_run(&p, NULL, 2 * LWQ_SEC); /* the new limit reaches the client, which sends the rest */
    ck_assert_uint_eq(cs->tx.sent_off, sizeof(data));
    ck_assert_int_eq(p.server->state, LWQ_CONN_ESTABLISHED);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_stream(void)
{
    Suite *s = suite_create("conn_stream");
    TCase *tc = lwq_test_tcase("stream");
    tcase_add_test(tc, test_echo_1mib);
    tcase_add_test(tc, test_echo_many_streams);
    tcase_add_test(tc, test_echo_small_windows);
    tcase_add_test(tc, test_window_autotuning);
    tcase_add_test(tc, test_stream_limit_and_max_streams);
    tcase_add_test(tc, test_uni_stream_and_events);
    tcase_add_test(tc, test_write_buffer_bound_and_writable);
    tcase_add_test(tc, test_priority_scheduling);
    tcase_add_test(tc, test_connection_ids_issued);
    tcase_add_test(tc, test_connection_id_rotation);
    tcase_add_test(tc, test_initial_window_above_max);
    suite_add_tcase(s, tc);
    return s;
}
