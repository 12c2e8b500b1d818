#include "conn_echo.h"
#include "quic/frame.h"
#include "quic/protect.h"
#include "quic/conn_ecn.h"

static int both_done(pair *p)
{
    return pair_established(p);
}
static int both_closed(pair *p)
{
    return lwq_conn_is_closed(p->client) && lwq_conn_is_closed(p->server);
}
static int server_closing(pair *p)
{
    return p->server->state >= LWQ_CONN_CLOSING;
}
static int client_closing(pair *p)
{
    return p->client->state >= LWQ_CONN_CLOSING;
}

static void establish(pair *p, uint64_t seed)
{
    pair_init(p, seed);
    pair_start(p);
    ck_assert(pair_run(p, both_done, 5 * LWQ_SEC));
    pair_run(p, NULL, 300 * LWQ_MS);
    lwq_event ev;
    while (lwq_conn_next_event(p->client, &ev))
        ;
    while (lwq_conn_next_event(p->server, &ev))
        ;
}

START_TEST(test_app_close_seen_by_peer)
{
    pair p;
    establish(&p, 41);
    ck_assert_int_eq(lwq_conn_close(p.client, 0x1234, "bye now"), 0);
    ck_assert_int_eq(lwq_conn_close(p.client, 1, "again"), LWQ_ERR_CLOSED);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.is_app && !ev.close.by_peer);
    ck_assert_uint_eq(ev.close.code, 0x1234);
    ck_assert(pair_run(&p, server_closing, LWQ_SEC));
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.is_app && ev.close.by_peer);
    ck_assert_uint_eq(ev.close.code, 0x1234);
    ck_assert_str_eq(ev.close.reason, "bye now");
    ck_assert_int_eq(p.server->state, LWQ_CONN_DRAINING);
    ck_assert_int_eq(p.client->state, LWQ_CONN_CLOSING);
    /* RFC 9000 §10.2: both wait three PTOs before forgetting the connection. */
    lwq_tstamp closing_start = p.now;
    ck_assert(!lwq_conn_is_closed(p.client) && !lwq_conn_is_closed(p.server));
    ck_assert_uint_ge(lwq_conn_next_timeout(p.client), closing_start + lwq_conn_pto(p.client));
    ck_assert(pair_run(&p, both_closed, 10 * LWQ_SEC));
    ck_assert_uint_ge(p.now, closing_start + 2 * lwq_conn_pto(p.server));
    ck_assert_int_eq(lwq_stream_write(p.client, 0, (const uint8_t *)"x", 1, 0), LWQ_ERR_CLOSED);
    uint8_t buf[64];
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, buf, sizeof(buf), 0, p.now), LWQ_ERR_CLOSED);
    ck_assert_uint_eq(lwq_conn_next_timeout(p.client), LWQ_TSTAMP_INF);
    pair_free(&p);
}
END_TEST

/* The closing endpoint answers a peer that missed its CONNECTION_CLOSE (RFC 9000 §10.2.1). */
START_TEST(test_close_retransmitted_while_closing)
{
    pair p;
    establish(&p, 42);
    p.drop_c2s[0] = p.n_c2s + 1; /* the first CONNECTION_CLOSE is lost */
    ck_assert_int_eq(lwq_conn_close(p.client, 7, "lost close"), 0);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.server, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.server, id, (const uint8_t *)"ping", 4, 0), 4);
    ck_assert(pair_run(&p, server_closing, 5 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, 7);
    ck_assert_str_eq(ev.close.reason, "lost close");
    ck_assert_uint_eq(p.dropped, 1);
    ck_assert(pair_run(&p, both_closed, 10 * LWQ_SEC));
    pair_free(&p);
}
END_TEST

START_TEST(test_idle_timeout)
{
    pair p;
    pair_init(&p, 43);
    p.ccfg.idle_timeout = 2 * LWQ_SEC;
    p.scfg.idle_timeout = 5 * LWQ_SEC;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    /* RFC 9000 §10.1: the smaller of the two advertised timeouts. */
    ck_assert_uint_eq(p.client->idle_timeout, 2 * LWQ_SEC);
    ck_assert_uint_eq(p.server->idle_timeout, 2 * LWQ_SEC);
    lwq_tstamp start = p.now;
    ck_assert(pair_run(&p, both_closed, 10 * LWQ_SEC));
    ck_assert_uint_ge(p.now, start + 2 * LWQ_SEC - 100 * LWQ_MS);
    ck_assert_uint_le(p.now, start + 2 * LWQ_SEC + 100 * LWQ_MS);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.idle_timeout && !ev.close.by_peer);
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.idle_timeout);
    pair_free(&p);
}
END_TEST

START_TEST(test_idle_timeout_kept_alive_by_traffic)
{
    pair p;
    echo e;
    pair_init(&p, 44);
    p.ccfg.idle_timeout = p.scfg.idle_timeout = LWQ_SEC;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    /* A slow transfer through 1 KiB windows lasting longer than the timeout does not idle out. */
    p.delay = 100 * LWQ_MS;
    p.client->st.rx_window = 1024;
    echo_init(&e, &p, 1, 8000);
    ck_assert(pair_run(&p, echo_step, 30 * LWQ_SEC));
    echo_check(&e);
    ck_assert(!lwq_conn_is_closed(p.client));
    pair_free(&p);
}
END_TEST

START_TEST(test_reset_stream_both_ways)
{
    pair p;
    establish(&p, 45);
    int64_t id;
    uint8_t buf[8000];
    memset(buf, 'a', sizeof(buf));
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    pair_run(&p, NULL, 200 * LWQ_MS);
    /* Client resets its sending part: the server learns the code and the final size. */
    ck_assert_int_eq(lwq_stream_reset(p.client, id, 77), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, buf, 1, 0), LWQ_ERR_CLOSED);
    pair_run(&p, NULL, 200 * LWQ_MS);
    lwq_event ev;
    ck_assert(pair_find_event(p.server, LWQ_EV_STREAM_RESET, &ev));
    ck_assert_int_eq(ev.stream_id, id);
    ck_assert_uint_eq(ev.error_code, 77);
    ck_assert_uint_eq(ev.offset, sizeof(buf));
    ck_assert_int_eq(lwq_stream_read(p.server, id, buf, sizeof(buf), NULL), LWQ_ERR_CLOSED);
    /* Server asks the client to stop reading its direction... the client stops sending there:
     * the server resets its own part on request, both parts end, both free the stream. */
    ck_assert_int_eq(lwq_stream_write(p.server, id, buf, 100, 0), 100);
    ck_assert_int_eq(lwq_stream_stop_sending(p.client, id, 88), 0);
    pair_run(&p, NULL, 300 * LWQ_MS);
    ck_assert(pair_find_event(p.server, LWQ_EV_STOP_SENDING, &ev));
    ck_assert_int_eq(ev.stream_id, id);
    ck_assert_uint_eq(ev.error_code, 88);
    ck_assert(pair_find_event(p.client, LWQ_EV_STREAM_RESET, &ev));
    ck_assert_uint_eq(ev.error_code, 88); /* RFC 9000 §3.5: RESET_STREAM echoes the code */
    pair_run(&p, NULL, 300 * LWQ_MS);
    ck_assert_ptr_null(lwq_stream_find(p.client, id));
    ck_assert_ptr_null(lwq_stream_find(p.server, id));
    /* The other way: the server opens, the client stops it, the server resets. */
    ck_assert_int_eq(lwq_stream_open(p.server, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.server, id, buf, 3000, 0), 3000);
    pair_run(&p, NULL, 200 * LWQ_MS);
    ck_assert_int_eq(lwq_stream_stop_sending(p.client, id, 99), 0);
    ck_assert_int_eq(lwq_stream_reset(p.client, id, 98), 0);
    pair_run(&p, NULL, 300 * LWQ_MS);
    lwq_event evs[16];
    size_t nev = pair_drain(p.server, evs, 16);
    const lwq_event *e1 = pair_ev_in(evs, nev, LWQ_EV_STOP_SENDING), *e2 = pair_ev_in(evs, nev, LWQ_EV_STREAM_RESET);
    ck_assert(e1 && e2);
    ck_assert_uint_eq(e1->error_code, 99);
    ck_assert_uint_eq(e2->error_code, 98);
    ck_assert_uint_eq(e2->offset, 0);
    pair_run(&p, NULL, 300 * LWQ_MS);
    ck_assert_ptr_null(lwq_stream_find(p.client, id));
    ck_assert_ptr_null(lwq_stream_find(p.server, id));
    ck_assert(!lwq_conn_is_closed(p.client) && !lwq_conn_is_closed(p.server));
    pair_free(&p);
}
END_TEST

static void expect_close(lwq_conn *c, uint64_t code, uint64_t ftype_min, uint64_t ftype_max)
{
    ck_assert_int_ge(c->state, LWQ_CONN_CLOSING);
    ck_assert(!c->close.is_app && !c->close.by_peer);
    ck_assert_uint_eq(c->close.code, code);
    ck_assert_uint_ge(c->close.frame_type, ftype_min);
    ck_assert_uint_le(c->close.frame_type, ftype_max);
}

/* RFC 9000 §12.4: a frame not allowed in the packet type is PROTOCOL_VIOLATION. */
START_TEST(test_stream_frame_in_initial)
{
    pair p;
    pair_init(&p, 46);
    pair_start(&p);
    lwq_conn *cl = p.client;
    uint8_t pkt[1300], payload[1160];
    memset(payload, 0, sizeof(payload));
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream.data = (const uint8_t *)"x";
    f.u.stream.len = 1;
    f.u.stream.has_len = 1;
    ck_assert_int_gt(lwq_frame_encode(payload, sizeof(payload), &f), 0);
    lwq_pkt_hdr_out ho = {.type = LWQ_PKT_INITIAL,
                          .version = LWQ_VERSION_1,
                          .dcid = cl->odcid.id,
                          .dcid_len = cl->odcid.len,
                          .scid = cl->cids.local[0].cid.id,
                          .scid_len = cl->cids.local[0].cid.len,
                          .pn = 0,
                          .pn_len = 2,
                          .payload_len = sizeof(payload),
                          .tag_len = 16};
    ssize_t h = lwq_pkt_hdr_encode(pkt, sizeof(pkt), &ho);
    ck_assert_int_gt(h, 0);
    memcpy(pkt + h, payload, sizeof(payload));
    ssize_t n = lwq_packet_protect(&cl->sp[LWQ_SPACE_INITIAL].wk, 0, pkt, (size_t)h, sizeof(payload), sizeof(pkt));
    ck_assert_int_ge(n, 1200);
    lwq_conn *c = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, pkt, (size_t)n, 0, p.now, &c, &created), 0);
    ck_assert_ptr_nonnull(c);
    p.server = c;
    expect_close(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, 0x08, 0x0f);
    /* The client hears about it in an Initial CONNECTION_CLOSE. */
    ck_assert(pair_run(&p, client_closing, 2 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.by_peer);
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    ck_assert_uint_eq(ev.close.frame_type, 0x0a); /* STREAM with the LEN bit, as it was on the wire */
    pair_free(&p);
}
END_TEST

START_TEST(test_handshake_done_from_client)
{
    pair p;
    establish(&p, 47);
    p.client->handshake_done_pending = 1; /* a client must never send it (RFC 9000 §19.20) */
    ck_assert(pair_run(&p, server_closing, LWQ_SEC));
    expect_close(p.server, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, LWQ_FRAME_HANDSHAKE_DONE, LWQ_FRAME_HANDSHAKE_DONE);
    ck_assert(pair_run(&p, client_closing, LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.by_peer && !ev.close.is_app);
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    ck_assert_uint_eq(ev.close.frame_type, LWQ_FRAME_HANDSHAKE_DONE);
    pair_free(&p);
}
END_TEST

START_TEST(test_flow_control_violation)
{
    pair p;
    pair_init(&p, 48);
    p.scfg.initial_max_stream_data_bidi_remote = 2000;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    lwq_stream *s = lwq_stream_find(p.client, id);
    s->tx_max = 1 << 20; /* a client that ignores the server's limit */
    uint8_t buf[5000];
    memset(buf, 1, sizeof(buf));
    ck_assert_int_eq(lwq_stream_write(p.client, id, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    ck_assert(pair_run(&p, server_closing, LWQ_SEC));
    expect_close(p.server, LWQ_QUIC_ERR_FLOW_CONTROL_ERROR, 0x08, 0x0f);
    pair_free(&p);
}
END_TEST

START_TEST(test_stream_limit_violation)
{
    pair p;
    pair_init(&p, 49);
    p.scfg.initial_max_streams_bidi = 2;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    p.client->st.local_max[0] = 10; /* a client that ignores MAX_STREAMS */
    int64_t id = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
        ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"x", 1, 0), 1);
    }
    ck_assert(pair_run(&p, server_closing, LWQ_SEC));
    expect_close(p.server, LWQ_QUIC_ERR_STREAM_LIMIT_ERROR, 0x08, 0x0f);
    pair_free(&p);
}
END_TEST

START_TEST(test_first_error_wins)
{
    pair p;
    establish(&p, 50);
    ck_assert_int_eq(lwq_conn_error(p.server, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR, 0x11, "first"), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_conn_error(p.server, LWQ_QUIC_ERR_INTERNAL_ERROR, 0x12, "second"), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_conn_close(p.server, 5, "third"), LWQ_ERR_CLOSED);
    expect_close(p.server, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR, 0x11, 0x11);
    ck_assert_str_eq(p.server->close.reason, "first");
    ck_assert(pair_run(&p, client_closing, LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    ck_assert_uint_eq(ev.close.frame_type, 0x11);
    ck_assert_str_eq(ev.close.reason, "first");
    pair_free(&p);
}
END_TEST

/* RFC 9000 §10.3: the server forgot the connection; its stateless reset ends it at the client. */
START_TEST(test_stateless_reset_after_server_forgets)
{
    pair p;
    establish(&p, 51);
    lwq_server_remove(p.srv, p.server);
    p.server = NULL;
    p.server_gone = 1;
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"anyone?", 7, 0), 7);
    ck_assert(pair_run(&p, client_closing, 2 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.stateless_reset && ev.close.by_peer);
    ck_assert_int_eq(p.client->state, LWQ_CONN_DRAINING);
    /* The client sends nothing more and closes after the draining period. */
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    ck_assert_int_eq(lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now), 0);
    ck_assert(pair_run(&p, NULL, 5 * LWQ_SEC));
    ck_assert(lwq_conn_is_closed(p.client));
    pair_free(&p);
}
END_TEST

/* A short-header packet with a wrong token is not taken for a reset. */
START_TEST(test_garbage_is_not_a_reset)
{
    pair p;
    establish(&p, 52);
    uint8_t junk[60];
    memset(junk, 0x55, sizeof(junk));
    junk[0] = 0x40;
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, junk, sizeof(junk), 0, p.now), 0);
    ck_assert_int_eq(p.client->state, LWQ_CONN_ESTABLISHED);
    lwq_event ev;
    ck_assert(!pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    pair_free(&p);
}
END_TEST

/* RFC 9000 §8.2.2: PATH_CHALLENGE is answered with the same data in a 1200-byte datagram. */
START_TEST(test_path_challenge_answered)
{
    pair p;
    establish(&p, 53);
    uint8_t pkt[1500];
    lwq_conn *cl = p.client;
    const lwq_cid *dcid = lwq_cids_dcid(cl);
    uint8_t payload[20];
    memset(payload, 0, sizeof(payload));
    payload[0] = LWQ_FRAME_PATH_CHALLENGE;
    memcpy(payload + 1, "8 bytes!", 8);
    lwq_sentmap *m = &cl->rec.spaces[LWQ_SPACE_APP];
    lwq_pkt_hdr_out ho = {.type = LWQ_PKT_1RTT,
                          .dcid = dcid->id,
                          .dcid_len = dcid->len,
                          .pn = m->next_pn++,
                          .pn_len = 4,
                          .payload_len = sizeof(payload),
                          .tag_len = 16};
    ssize_t h = lwq_pkt_hdr_encode(pkt, sizeof(pkt), &ho);
    memcpy(pkt + h, payload, sizeof(payload));
    ssize_t n = lwq_packet_protect(&cl->sp[LWQ_SPACE_APP].wk, ho.pn, pkt, (size_t)h, sizeof(payload), sizeof(pkt));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(lwq_conn_recv(p.server, &p.path, pkt, (size_t)n, 0, p.now), 0);
    ck_assert(p.server->path_response_pending);
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    n = lwq_conn_send(p.server, &path, pkt, sizeof(pkt), 1, &seg, &ecn, p.now);
    ck_assert_int_eq(n, 1200);
    ck_assert(!p.server->path_response_pending);
    /* Open the server's packet with the client's keys and find the PATH_RESPONSE. */
    uint8_t copy[1500];
    memcpy(copy, pkt, (size_t)n);
    lwq_pkt_hdr hd;
    ck_assert_int_gt(lwq_pkt_hdr_decode(&hd, copy, (size_t)n, 8), 0);
    lwq_unprotected u;
    ck_assert_int_eq(lwq_packet_unprotect(&cl->sp[LWQ_SPACE_APP].rk, copy, hd.pkt_len, hd.pn_offset,
                                          cl->sp[LWQ_SPACE_APP].largest_rx, &u),
                     0);
    int found = 0;
    for (size_t off = 0; off < u.payload_len;) {
        lwq_frame f;
        lwq_ack_range ar[8];
        f.ack_ranges = ar;
        f.ack_ranges_cap = 8;
        ssize_t k = lwq_frame_decode(&f, copy + u.payload_off + off, u.payload_len - off);
        ck_assert_int_gt(k, 0);
        if (f.type == LWQ_FRAME_PATH_RESPONSE && memcmp(f.u.path_data, "8 bytes!", 8) == 0)
            found = 1;
        off += (size_t)k;
    }
    ck_assert(found);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, pkt, (size_t)n, 0, p.now), 0);
    ck_assert_int_eq(p.client->state, LWQ_CONN_ESTABLISHED);
    pair_free(&p);
}
END_TEST

/* The CONNECTION_CLOSE datagram, and its repeats while closing, keep the connection's ECN mark: the
 * runner's ecn case wants every datagram of an endpoint marked (a closing packet needs no validation). */
START_TEST(test_close_datagrams_keep_ecn_mark)
{
    pair p;
    pair_init(&p, 31);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    p.client->ecn.state = LWQ_ECN_CAPABLE; /* the pipe carries no marks, so validation would have failed */
    ck_assert_int_eq(lwq_conn_close(p.client, 0, "bye"), 0);
    uint8_t buf[1500], ecn = 0;
    lwq_path path;
    size_t seg;
    ck_assert_int_gt(lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now), 0);
    ck_assert_uint_eq(ecn, LWQ_ECN_ECT0);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_close(void)
{
    Suite *s = suite_create("conn_close");
    TCase *tc = lwq_test_tcase("close");
    tcase_add_test(tc, test_app_close_seen_by_peer);
    tcase_add_test(tc, test_close_retransmitted_while_closing);
    tcase_add_test(tc, test_idle_timeout);
    tcase_add_test(tc, test_close_datagrams_keep_ecn_mark);
    tcase_add_test(tc, test_idle_timeout_kept_alive_by_traffic);
    tcase_add_test(tc, test_reset_stream_both_ways);
    tcase_add_test(tc, test_stream_frame_in_initial);
    tcase_add_test(tc, test_handshake_done_from_client);
    tcase_add_test(tc, test_flow_control_violation);
    tcase_add_test(tc, test_stream_limit_violation);
    tcase_add_test(tc, test_first_error_wins);
    tcase_add_test(tc, test_stateless_reset_after_server_forgets);
    tcase_add_test(tc, test_garbage_is_not_a_reset);
    tcase_add_test(tc, test_path_challenge_answered);
    suite_add_tcase(s, tc);
    return s;
}
