/* Key update (RFC 9001 §6) and AEAD limits (§6.6) between two connections of a conn_pair. */
#include "conn_echo.h"

static int confirmed(pair *p)
{
    return pair_established(p) && p->client->handshake_confirmed;
}

/* Established, and each side has an acknowledged 1-RTT packet of the current phase. */
static int quiet(pair *p)
{
    return confirmed(p) && p->client->ku.wphase_acked_at && p->server->ku.wphase_acked_at;
}

static void pair_up(pair *p, uint64_t seed)
{
    pair_init(p, seed);
    pair_start(p);
    ck_assert(pair_run(p, quiet, 10 * LWQ_SEC));
}

static int server_rotated(pair *p)
{
    return p->server->ku.rphase == 1;
}

static int client_caught_up(pair *p)
{
    return p->client->ku.rphase == 1 && p->client->ku.wphase_acked_at;
}

START_TEST(test_update_refused_until_allowed)
{
    pair p;
    pair_init(&p, 21);
    pair_start(&p);
    /* RFC 9001 §6.1: not before the handshake is confirmed */
    ck_assert_int_eq(lwq_conn_update_keys(p.client), LWQ_ERR_STATE);
    ck_assert(pair_run(&p, confirmed, 10 * LWQ_SEC));
    ck_assert(pair_run(&p, quiet, 10 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    ck_assert_int_eq(p.client->ku.wphase, 1);
    /* not again before a packet of the new phase is acknowledged */
    ck_assert_int_eq(lwq_conn_update_keys(p.client), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_conn_update_keys(p.server), 0);
    ck_assert_int_eq(lwq_conn_update_keys(p.server), LWQ_ERR_STATE);
    pair_free(&p);
}
END_TEST

/* The client updates; the server detects the flipped bit, decrypts with the next keys, rotates and
 * answers with updated write keys; the data flows on unchanged. */
START_TEST(test_client_update_rotates_both)
{
    pair p;
    echo e;
    pair_up(&p, 22);
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    echo_init(&e, &p, 2, 100000);
    ck_assert(pair_run(&p, echo_step, 20 * LWQ_SEC));
    echo_check(&e);
    ck_assert(pair_run(&p, client_caught_up, 5 * LWQ_SEC));
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p.client, &cs);
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_eq(cs.key_updates, 1);
    ck_assert_uint_eq(cs.key_updates_initiated, 1);
    ck_assert_uint_eq(ss.key_updates, 1);
    ck_assert_uint_eq(ss.key_updates_initiated, 0);
    ck_assert_int_eq(p.server->ku.wphase, 1);
    ck_assert_int_eq(p.server->ku.rphase, 1);
    ck_assert_uint_eq(p.server->ku.auth_failures, 0);
    ck_assert_uint_eq(p.client->ku.auth_failures, 0);
    /* a second update is allowed once the first is acknowledged, back to phase 0 */
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    ck_assert_int_eq(p.client->ku.wphase, 0);
    pair_free(&p);
}
END_TEST

static ssize_t client_dgram(pair *p, uint8_t *buf, size_t cap, const char *data, int64_t sid)
{
    ck_assert_int_eq(lwq_stream_write(p->client, sid, (const uint8_t *)data, strlen(data), 0), (ssize_t)strlen(data));
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ssize_t n = lwq_conn_send(p->client, &path, buf, cap, 1, &seg, &ecn, p->now);
    ck_assert_int_gt(n, 0);
    return n;
}

static void to_server(pair *p, const uint8_t *d, size_t n)
{
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(p->srv, &p->path, d, n, 0, p->now, &c, NULL), 0);
}

/* RFC 9001 §6.5: a delayed packet of the previous phase still opens for 3 PTO after the rotation,
 * with the previous keys chosen by its lower packet number; later it is dropped. */
START_TEST(test_previous_keys_kept_three_pto)
{
    pair p;
    pair_up(&p, 23);
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &sid), 0);
    uint8_t a[1500], b[1500];
    ssize_t na = client_dgram(&p, a, sizeof(a), "old phase A", sid);
    ssize_t nb = client_dgram(&p, b, sizeof(b), "old phase B", sid);
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, sid, (const uint8_t *)"new", 3, 0), 3);
    ck_assert(pair_run(&p, server_rotated, 5 * LWQ_SEC));
    ck_assert_int_eq(p.server->ku.has_prev, 1);
    lwq_conn_stats before, after;
    lwq_conn_stats_get(p.server, &before);
    to_server(&p, a, (size_t)na);
    lwq_conn_stats_get(p.server, &after);
    ck_assert_uint_eq(after.packets_received, before.packets_received + 1);
    ck_assert_uint_eq(p.server->ku.auth_failures, 0);
    /* after 3 PTO the previous keys are gone: the other delayed packet fails to open */
    p.now = p.server->ku.prev_until;
    to_server(&p, b, (size_t)nb);
    lwq_conn_stats_get(p.server, &before);
    ck_assert_uint_eq(before.packets_received, after.packets_received);
    ck_assert_uint_eq(before.packets_dropped, after.packets_dropped + 1);
    ck_assert_int_eq(p.server->ku.has_prev, 0);
    ck_assert_uint_eq(p.server->ku.auth_failures, 1);
    /* a failed packet with the flipped bit is not a key update and not an error */
    ck_assert_int_eq(p.server->ku.rphase, 1);
    ck_assert(!lwq_conn_is_closed(p.server) && p.server->state == LWQ_CONN_ESTABLISHED);
    pair_free(&p);
}
END_TEST

/* RFC 9001 §6.2: a peer that updates twice before its first update was acknowledged with updated
 * keys is closed with KEY_UPDATE_ERROR. */
START_TEST(test_double_update_is_key_update_error)
{
    pair p;
    pair_up(&p, 24);
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &sid), 0);
    uint8_t a[1500], b[1500];
    ck_assert_int_eq(lwq_conn_keys_force_update(p.client), 0);
    ssize_t na = client_dgram(&p, a, sizeof(a), "phase 1", sid);
    ck_assert_int_eq(lwq_conn_keys_force_update(p.client), 0);
    ssize_t nb = client_dgram(&p, b, sizeof(b), "phase 0 again", sid);
    to_server(&p, a, (size_t)na);
    ck_assert_int_eq(p.server->ku.rphase, 1);
    to_server(&p, b, (size_t)nb);
    lwq_event ev;
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_KEY_UPDATE_ERROR);
    ck_assert_int_eq(ev.close.by_peer, 0);
    pair_free(&p);
}
END_TEST

/* The same two updates are fine once the server acknowledged the first with its new keys. */
START_TEST(test_second_update_after_ack_is_fine)
{
    pair p;
    pair_up(&p, 25);
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &sid), 0);
    uint8_t a[1500];
    ck_assert_int_eq(lwq_conn_keys_force_update(p.client), 0);
    ssize_t na = client_dgram(&p, a, sizeof(a), "phase 1", sid);
    to_server(&p, a, (size_t)na);
    ck_assert(pair_run(&p, client_caught_up, 5 * LWQ_SEC));
    ck_assert_int_eq(p.server->ku.trigger_acked, 1);
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, sid, (const uint8_t *)"x", 1, 1), 1);
    ck_assert(pair_run(&p, NULL, 2 * LWQ_SEC));
    ck_assert_int_eq(p.server->ku.rphase, 0);
    ck_assert_int_eq(p.server->state, LWQ_CONN_ESTABLISHED);
    lwq_conn_stats ss;
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_eq(ss.key_updates, 2);
    pair_free(&p);
}
END_TEST

/* RFC 9001 §6.6: failed decryptions count across keys; reaching the integrity limit closes with
 * AEAD_LIMIT_REACHED. */
START_TEST(test_integrity_limit_closes)
{
    pair p;
    pair_up(&p, 26);
    lwq_conn_keys_set_limits(p.server, 0, 3);
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &sid), 0);
    for (int i = 0; i < 3; i++) {
        uint8_t a[1500];
        ssize_t n = client_dgram(&p, a, sizeof(a), "forged", sid);
        a[n - 20] ^= 0x40;
        ck_assert_int_ne(p.server->state, LWQ_CONN_CLOSING);
        to_server(&p, a, (size_t)n);
    }
    ck_assert_uint_eq(p.server->ku.auth_failures, 3);
    lwq_event ev;
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_AEAD_LIMIT_REACHED);
    /* the client hears about it */
    ck_assert(pair_run(&p, NULL, 2 * LWQ_SEC));
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_AEAD_LIMIT_REACHED);
    ck_assert_int_eq(ev.close.by_peer, 1);
    pair_free(&p);
}
END_TEST

/* When no update is possible in time, the endpoint closes with AEAD_LIMIT_REACHED. */
START_TEST(test_confidentiality_limit_closes)
{
    pair p;
    pair_up(&p, 28);
    ck_assert_int_eq(lwq_conn_update_keys(p.client), 0);
    /* the new phase is not acknowledged yet: the next packet would pass the limit */
    lwq_conn_keys_set_limits(p.client, 1, 0);
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &sid), 0);
    uint8_t a[1500];
    (void)client_dgram(&p, a, sizeof(a), "one", sid);
    ck_assert_int_eq(lwq_stream_write(p.client, sid, (const uint8_t *)"two", 3, 0), 3);
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ck_assert_int_gt(lwq_conn_send(p.client, &path, a, sizeof(a), 1, &seg, &ecn, p.now), 0);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_AEAD_LIMIT_REACHED);
    pair_free(&p);
}
END_TEST

/* key_update_interval: scheduled updates every n packets, each only 3 PTO after the last was
 * confirmed (tests/sim/test_conn_keyupdate.c runs many of them). */
START_TEST(test_key_update_interval)
{
    pair p;
    echo e;
    pair_init(&p, 29);
    p.ccfg.key_update_interval = 50;
    pair_start(&p);
    for (int round = 0; round < 3; round++) {
        echo_init(&e, &p, 1, 256 << 10);
        ck_assert(pair_run(&p, echo_step, 30 * LWQ_SEC));
        echo_check(&e);
        p.now += LWQ_SEC; /* idle: the 3 PTO after the last confirmed update pass */
    }
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p.client, &cs);
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_ge(cs.key_updates_initiated, 2);
    ck_assert_uint_eq(ss.key_updates_initiated, 0);
    ck_assert_uint_eq(ss.key_updates, cs.key_updates);
    ck_assert_uint_eq(p.server->ku.auth_failures, 0);
    pair_free(&p);
}
END_TEST

/* key_update_first (lwquic-client --key-update): one update as soon as it is allowed, so nearly the
 * whole transfer runs under the updated keys; no scheduled update follows. */
START_TEST(test_key_update_first)
{
    pair p;
    echo e;
    pair_init(&p, 30);
    p.ccfg.key_update_first = 1;
    pair_start(&p);
    echo_init(&e, &p, 1, 1 << 20);
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p.client, &cs);
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_eq(cs.key_updates_initiated, 1);
    ck_assert_uint_eq(ss.key_updates, 1);
    ck_assert_uint_eq(ss.key_updates_initiated, 0);
    ck_assert_uint_gt(p.client->ku.wpackets * 10, cs.packets_sent * 9);
    ck_assert_uint_gt(p.server->ku.wpackets * 10, ss.packets_sent * 9);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_keyupdate(void)
{
    Suite *s = suite_create("conn_keyupdate");
    TCase *tc = lwq_test_tcase("conn_keyupdate");
    tcase_add_test(tc, test_update_refused_until_allowed);
    tcase_add_test(tc, test_client_update_rotates_both);
    tcase_add_test(tc, test_previous_keys_kept_three_pto);
    tcase_add_test(tc, test_double_update_is_key_update_error);
    tcase_add_test(tc, test_second_update_after_ack_is_fine);
    tcase_add_test(tc, test_integrity_limit_closes);
    tcase_add_test(tc, test_confidentiality_limit_closes);
    tcase_add_test(tc, test_key_update_interval);
    tcase_add_test(tc, test_key_update_first);
    suite_add_tcase(s, tc);
    return s;
}
