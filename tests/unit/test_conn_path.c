/* conn_path.c through a client/server pair: path comparison, a PATH_CHALLENGE answered on the path
 * it came on and padded, a client's probe and switch with a new connection ID, the server's 3x
 * limit and PATH_CHALLENGE on a new path, validation timeout with fallback, refusals. */
#include <arpa/inet.h>
#include "conn_pair.h"

static lwq_path v4path(const char *lip, uint16_t lport, const char *rip, uint16_t rport)
{
    lwq_path p;
    memset(&p, 0, sizeof(p));
    struct sockaddr_in *l = (struct sockaddr_in *)&p.local, *r = (struct sockaddr_in *)&p.remote;
    l->sin_family = r->sin_family = AF_INET;
    inet_pton(AF_INET, lip, &l->sin_addr);
    inet_pton(AF_INET, rip, &r->sin_addr);
    l->sin_port = htons(lport);
    r->sin_port = htons(rport);
    p.local_len = p.remote_len = sizeof(struct sockaddr_in);
    return p;
}

START_TEST(test_path_compare)
{
    lwq_path a = v4path("10.0.0.1", 5000, "10.0.0.2", 443);
    lwq_path b = a;
    ck_assert(lwq_path_same(&a, &b));
    b = v4path("10.0.0.1", 5000, "10.0.0.2", 444);
    ck_assert(!lwq_path_same(&a, &b)); /* remote port */
    ck_assert(!lwq_path_addr_changed(&a, &b));
    b = v4path("10.0.0.1", 5000, "10.0.0.3", 443);
    ck_assert(!lwq_path_same(&a, &b));
    ck_assert(lwq_path_addr_changed(&a, &b));
    b = v4path("0.0.0.0", 5000, "10.0.0.2", 443);
    ck_assert(lwq_path_same(&a, &b)); /* a wildcard local address matches */
    b = v4path("10.0.0.1", 0, "10.0.0.2", 443);
    ck_assert(lwq_path_same(&a, &b)); /* an unknown local port too */
    b = v4path("10.0.0.1", 5001, "10.0.0.2", 443);
    ck_assert(!lwq_path_same(&a, &b)); /* a different local port does not */
    b = v4path("10.0.0.9", 5000, "10.0.0.2", 443);
    ck_assert(!lwq_path_same(&a, &b));
    b = a;
    b.local_len = 0;
    ck_assert(lwq_path_same(&a, &b));
    lwq_path z;
    memset(&z, 0, sizeof(z));
    ck_assert(lwq_path_same(&z, &z));
    ck_assert(!lwq_path_same(&a, &z));
    lwq_path six = a;
    struct sockaddr_in6 *r6 = (struct sockaddr_in6 *)&six.remote;
    memset(r6, 0, sizeof(*r6));
    r6->sin6_family = AF_INET6;
    r6->sin6_port = htons(443);
    inet_pton(AF_INET6, "fd00::2", &r6->sin6_addr);
    six.remote_len = sizeof(*r6);
    ck_assert(!lwq_path_same(&a, &six));
    ck_assert(lwq_path_addr_changed(&a, &six));
    ck_assert(lwq_path_same(&six, &six));
}
END_TEST

static int confirmed(pair *p)
{
    return pair_established(p) && p->client->handshake_confirmed && lwq_cids_spare(p->client) &&
           lwq_cids_spare(p->server);
}

static void start_confirmed(pair *p, uint64_t seed)
{
    pair_init(p, seed);
    p->path = v4path("10.0.0.1", 5000, "10.0.0.2", 443); /* both sides see this one */
    pair_start(p);
    ck_assert(pair_run(p, confirmed, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p->client, &ev))
        ;
    while (lwq_conn_next_event(p->server, &ev))
        ;
}

/* One datagram from c; asserts there is one. */
static size_t take(pair *p, lwq_conn *c, uint8_t *buf, lwq_path *path)
{
    size_t seg;
    uint8_t ecn;
    ssize_t n = lwq_conn_send(c, path, buf, PAIR_DGRAM, 1, &seg, &ecn, p->now);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

static void to_server(pair *p, const lwq_path *path, const uint8_t *d, size_t n)
{
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(p->srv, path, d, n, 0, p->now, &c, NULL), 0);
    ck_assert_ptr_eq(c, p->server);
}

static size_t drain_sends(pair *p, lwq_conn *c)
{
    uint8_t buf[PAIR_DGRAM];
    lwq_path path;
    size_t seg, k = 0;
    uint8_t ecn;
    while (lwq_conn_send(c, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now) > 0)
        k++;
    return k;
}

/* §8.2.2: every PATH_CHALLENGE is echoed, also several in one packet (ngtcp2 sends two at once);
 * at most LWQ_PATH_RESPONSES wait, the newest kept; a challenge on another path drops the rest. */
START_TEST(test_each_challenge_answered)
{
    pair p;
    start_confirmed(&p, 1);
    lwq_conn *s = p.server;
    drain_sends(&p, s);
    s->paths.rx_current = 1;
    uint8_t d[6][8];
    for (int i = 0; i < 6; i++) {
        memset(d[i], 0x10 + i, 8);
        ck_assert_int_eq(lwq_conn_path_on_challenge(s, d[i]), 0);
        ck_assert_int_eq(s->path_response_pending, i < LWQ_PATH_RESPONSES ? i + 1 : LWQ_PATH_RESPONSES);
    }
    ck_assert_mem_eq(s->path_response[0], d[2], 8); /* the two oldest dropped */
    ck_assert_mem_eq(s->path_response[LWQ_PATH_RESPONSES - 1], d[5], 8);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    ck_assert_uint_eq(take(&p, s, buf, &out), 1200); /* all four in one padded datagram */
    ck_assert_int_eq(s->path_response_pending, 0);
    ck_assert_int_eq(lwq_conn_path_on_challenge(s, d[0]), 0);
    s->paths.rx_current = 0;
    s->paths.rx_path = v4path("10.0.0.2", 443, "10.0.0.9", 7000);
    ck_assert_int_eq(lwq_conn_path_on_challenge(s, d[1]), 0);
    ck_assert_int_eq(s->path_response_pending, 1);
    ck_assert_mem_eq(s->path_response[0], d[1], 8);
    pair_free(&p);
}
END_TEST

/* §9.2, §8.2.2: the client probes a new local address; the server answers on that path only,
 * padded to 1200, without moving; the answer moves the client, under a new CID. */
START_TEST(test_client_probe_and_switch)
{
    pair p;
    start_confirmed(&p, 1);
    lwq_conn *c = p.client, *s = p.server;
    drain_sends(&p, c);
    drain_sends(&p, s);
    lwq_path np = v4path("10.0.0.1", 6000, "10.0.0.2", 443); /* our new local address */
    lwq_cid old = *lwq_cids_dcid(c);
    uint64_t want = lwq_cids_spare(c)->seq;
    ck_assert_int_eq(lwq_conn_migrate(c, &np), 0);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    size_t n = take(&p, c, buf, &out);
    ck_assert(lwq_path_same(&out, &np));
    ck_assert_uint_eq(n, 1200); /* §8.2.1: expanded */
    ck_assert_uint_eq(c->stats.path_challenges_sent, 1);
    ck_assert(lwq_path_same(&c->path, &p.path)); /* not moved yet */
    /* the server sees it from 10.0.0.1:6000 */
    lwq_path srv_view = v4path("10.0.0.2", 443, "10.0.0.1", 6000);
    to_server(&p, &srv_view, buf, n);
    ck_assert_int_eq(s->path_response_pending, 1);
    size_t m = take(&p, s, buf, &out);
    ck_assert(lwq_path_same(&out, &srv_view)); /* on the path the challenge came on */
    ck_assert_uint_eq(m, 1200);                 /* §8.2.2: padded, 3x 1200 allows it */
    ck_assert_uint_eq(s->stats.path_challenges_sent, 1); /* §9.6.3: and probes back */
    ck_assert_uint_eq(s->stats.path_changes, 0); /* a probe does not move the server (§9.1) */
    ck_assert(lwq_path_same(&s->path, &p.path));
    ck_assert_int_eq(lwq_conn_recv(c, &np, buf, m, 0, p.now), 0);
    lwq_event ev;
    ck_assert(pair_find_event(c, LWQ_EV_PATH_CHANGED, &ev));
    ck_assert(lwq_path_same(&ev.path, &np));
    ck_assert(lwq_path_same(&c->path, &np));
    ck_assert_uint_eq(c->cids.peer[c->cids.cur].seq, want);
    ck_assert(!lwq_cid_eq(lwq_cids_dcid(c), old.id, old.len));
    ck_assert_uint_eq(c->cids.nretire, 1); /* §5.1.2: the old one is retired */
    ck_assert_uint_eq(c->stats.paths_validated, 1);
    /* a stale PATH_RESPONSE changes nothing */
    uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_int_eq(lwq_conn_path_on_response(c, junk), 0);
    ck_assert_uint_eq(c->stats.paths_validated, 1);
    pair_free(&p);
}
END_TEST

/* §9.3: a non-probing packet from a new address moves the server, whose first datagram there holds
 * a PATH_CHALLENGE and stays within 3x what arrived on that path until it is validated. */
START_TEST(test_server_follows_and_limits)
{
    pair p;
    start_confirmed(&p, 2);
    lwq_conn *c = p.client, *s = p.server;
    drain_sends(&p, c);
    drain_sends(&p, s);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(c, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(c, id, (const uint8_t *)"x", 1, 0), 1);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    size_t n = take(&p, c, buf, &out);
    ck_assert_uint_lt(n, 100); /* small: the limit bites */
    lwq_path nat = v4path("10.0.0.2", 443, "10.0.0.7", 7000);
    /* server writes a lot so that only the limit holds it */
    int64_t sid;
    ck_assert_int_eq(lwq_stream_open(s, 1, &sid), 0);
    static uint8_t big[100000];
    ck_assert_int_gt(lwq_stream_write(s, sid, big, sizeof(big), 0), 10000);
    to_server(&p, &nat, buf, n);
    lwq_event ev;
    ck_assert(pair_find_event(s, LWQ_EV_PATH_CHANGED, &ev));
    ck_assert(lwq_path_same(&ev.path, &nat));
    ck_assert(lwq_path_same(&s->path, &nat));
    ck_assert(!s->paths.validated);
    ck_assert_uint_eq(s->stats.path_changes, 1);
    /* the address changed: congestion control and RTT start over (§9.4) */
    ck_assert_uint_eq(s->rec.cc.cwnd, lwq_cc_initial_window(LWQ_CONN_MDS));
    size_t total = 0, k = 0;
    size_t seg;
    uint8_t ecn;
    ssize_t m;
    uint8_t first[PAIR_DGRAM];
    size_t first_len = 0;
    while ((m = lwq_conn_send(s, &out, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0) {
        ck_assert(lwq_path_same(&out, &nat));
        if (!k++) {
            ck_assert_uint_eq(s->stats.path_challenges_sent, 1); /* the first datagram has it */
            memcpy(first, buf, (size_t)m);
            first_len = (size_t)m;
        }
        total += (size_t)m;
    }
    ck_assert_uint_gt(total, 0);
    ck_assert_uint_le(total, 3 * n);
    ck_assert_uint_lt(first_len, 1200); /* the budget kept it small */
    ck_assert_ptr_null(lwq_conn_path_check(s));
    /* the client answers; the path is validated, but not its MTU: a second, padded challenge */
    ck_assert_int_eq(lwq_conn_recv(c, &p.path, first, first_len, 0, p.now), 0);
    size_t r = take(&p, c, buf, &out);
    to_server(&p, &nat, buf, r);
    ck_assert(s->paths.validated);
    ck_assert(s->paths.probe.active);
    ck_assert(s->paths.probe.send);
    m = lwq_conn_send(s, &out, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_eq(m, 1200);
    ck_assert_uint_eq(s->stats.path_challenges_sent, 2);
    ck_assert(s->paths.probe.padded);
    pair_free(&p);
}
END_TEST

/* §8.2.4, §9.3.2: no answer before the validation timer: back to the old, validated path. */
START_TEST(test_validation_timeout_falls_back)
{
    pair p;
    start_confirmed(&p, 3);
    lwq_conn *c = p.client, *s = p.server;
    drain_sends(&p, c);
    drain_sends(&p, s);
    lwq_path before = s->path;
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(c, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(c, id, (const uint8_t *)"hello", 5, 0), 5);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    size_t n = take(&p, c, buf, &out);
    lwq_path nat = v4path("10.0.0.2", 443, "10.0.0.1", 7001);
    to_server(&p, &nat, buf, n);
    ck_assert(!s->paths.validated);
    drain_sends(&p, s);
    lwq_tstamp deadline = s->paths.probe.deadline;
    ck_assert_uint_gt(deadline, p.now);
    ck_assert_uint_le(lwq_conn_next_timeout(s), deadline);
    /* resent on timer while the budget lasts, then given up */
    while (p.now < deadline) {
        lwq_tstamp t = lwq_conn_next_timeout(s);
        ck_assert_uint_ge(t, p.now);
        p.now = t > p.now ? t : p.now + LWQ_MS;
        lwq_conn_handle_timeout(s, p.now);
        drain_sends(&p, s);
    }
    ck_assert(lwq_path_same(&s->path, &before));
    ck_assert(s->paths.validated);
    ck_assert(!s->paths.probe.active);
    ck_assert_uint_eq(s->stats.path_changes, 2);
    ck_assert_uint_eq(s->stats.paths_validated, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_migrate_refusals)
{
    pair p;
    pair_init(&p, 4);
    pair_start(&p);
    lwq_path np = v4path("10.0.0.1", 6000, "10.0.0.2", 443);
    ck_assert_int_eq(lwq_conn_migrate(p.client, &np), LWQ_ERR_STATE); /* §9: not confirmed */
    ck_assert(pair_run(&p, confirmed, 5 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_migrate(p.server, &np), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_conn_migrate(p.client, NULL), LWQ_ERR_INVAL);
    /* no spare connection ID of the server */
    lwq_cids *t = &p.client->cids;
    for (size_t i = 0; i < LWQ_CIDS_PEER_MAX; i++)
        if (i != t->cur)
            t->peer[i].used = 0;
    ck_assert_int_eq(lwq_conn_migrate(p.client, &np), LWQ_ERR_AGAIN);
    p.client->peer_tp.disable_active_migration = 1;
    ck_assert_int_eq(lwq_conn_migrate(p.client, &np), LWQ_ERR_UNSUPPORTED);
    pair_free(&p);
}
END_TEST

/* The server's preferred_address in its transport parameters with CID sequence 1 (§5.1.1, §18.2). */
START_TEST(test_preferred_address_params)
{
    pair p;
    pair_init(&p, 5);
    struct sockaddr_in *a = (struct sockaddr_in *)&p.scfg.preferred_v4;
    a->sin_family = AF_INET;
    a->sin_port = htons(4443);
    inet_pton(AF_INET, "192.0.2.7", &a->sin_addr);
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 5 * LWQ_SEC));
    const lwq_tparams *tp = &p.client->peer_tp;
    ck_assert(tp->has_preferred_address);
    ck_assert_uint_eq(tp->preferred_address.ipv4_port, 4443);
    ck_assert_uint_eq(tp->preferred_address.ipv4[0], 192);
    ck_assert_uint_eq(tp->preferred_address.ipv4[3], 7);
    ck_assert_uint_eq(tp->preferred_address.ipv6_port, 0);
    const lwq_peer_cid *pc = lwq_cids_peer_by_seq(p.client, 1);
    ck_assert_ptr_nonnull(pc);
    ck_assert(lwq_cid_eq(&pc->cid, tp->preferred_address.cid.id, tp->preferred_address.cid.len));
    ck_assert(lwq_cids_is_local(p.server, pc->cid.id, pc->cid.len));
    ck_assert_int_eq(memcmp(pc->token, tp->preferred_address.reset_token, LWQ_RESET_TOKEN_LEN), 0);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_path(void)
{
    Suite *s = suite_create("conn_path");
    TCase *tc = lwq_test_tcase("conn_path");
    tcase_add_test(tc, test_path_compare);
    tcase_add_test(tc, test_client_probe_and_switch);
    tcase_add_test(tc, test_each_challenge_answered);
    tcase_add_test(tc, test_server_follows_and_limits);
    tcase_add_test(tc, test_validation_timeout_falls_back);
    tcase_add_test(tc, test_migrate_refusals);
    tcase_add_test(tc, test_preferred_address_params);
    suite_add_tcase(s, tc);
    return s;
}
