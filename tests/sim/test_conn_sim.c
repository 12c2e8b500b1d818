/* Whole connections over the simulated network: loss, reordering, duplication and corruption by a
 * seeded PRNG; every transfer is checked byte for byte by the echo application. */
#include "sim/sim.h"
#include "unit/conn_echo.h"

static const lwq_sim_addr CLIENT = {1, 5000}, SERVER = {2, 443};

typedef struct world {
    pair p; /* contexts and the two connections */
    echo e;
    lwq_sim *sim;
    lwq_path cpath, spath;
} world;

static int client_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_recv(w->p.client, &w->cpath, d, n, ecn, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static ssize_t client_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    world *w = ud;
    if (w->e.n)
        echo_client(&w->e);
    size_t seg;
    lwq_path path;
    *from = CLIENT;
    *to = SERVER;
    return lwq_conn_send(w->p.client, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp client_next(void *ud)
{
    world *w = ud;
    return lwq_conn_next_timeout(w->p.client);
}

static int client_timeout(void *ud, lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.client, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *client_check(void *ud, lwq_tstamp now)
{
    world *w = ud;
    return lwq_conn_check(w->p.client, now);
}

static int server_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    world *w = ud;
    lwq_conn *c = NULL;
    int rv = lwq_server_recv(w->p.srv, &w->spath, d, n, ecn, now, &c, NULL);
    if (c && !w->p.server)
        w->p.server = c;
    return rv;
}

static ssize_t server_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    world *w = ud;
    lwq_path path;
    *from = SERVER;
    *to = CLIENT;
    ssize_t n = lwq_server_send(w->p.srv, &path, buf, cap, now);
    if (n || !w->p.server)
        return n;
    if (w->e.n)
        echo_server(&w->e);
    size_t seg;
    return lwq_conn_send(w->p.server, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp server_next(void *ud)
{
    world *w = ud;
    return w->p.server ? lwq_conn_next_timeout(w->p.server) : LWQ_TSTAMP_INF;
}

static int server_timeout(void *ud, lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.server, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *server_check(void *ud, lwq_tstamp now)
{
    world *w = ud;
    return w->p.server ? lwq_conn_check(w->p.server, now) : NULL;
}

static const lwq_sim_node_ops client_ops = {client_recv, client_send, client_next, client_timeout, client_check};
static const lwq_sim_node_ops server_ops = {server_recv, server_send, server_next, server_timeout, server_check};

static lwq_cc_algorithm world_cc = LWQ_CC_ALGO_NEWRENO;

static void world_start(world *w, uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c)
{
    memset(w, 0, sizeof(*w));
    pair_init(&w->p, seed);
    w->p.ccfg.cc = w->p.scfg.cc = world_cc;
    const char *why;
    ck_assert_int_eq(lwq_context_new(&w->p.cctx, &w->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&w->p.sctx, &w->p.scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&w->p.srv, w->p.sctx, NULL), 0);
    w->cpath.remote_len = lwq_sim_addr_to_sockaddr(SERVER, &w->cpath.remote);
    w->cpath.local_len = lwq_sim_addr_to_sockaddr(CLIENT, &w->cpath.local);
    w->spath.remote_len = lwq_sim_addr_to_sockaddr(CLIENT, &w->spath.remote);
    w->spath.local_len = lwq_sim_addr_to_sockaddr(SERVER, &w->spath.local);
    lwq_sim_config cfg = {.seed = seed, .quiet = 0, .replay_args = "conn_sim"};
    w->sim = lwq_sim_new(&cfg, lwq_test_alloc);
    ck_assert_ptr_nonnull(w->sim);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, CLIENT, &client_ops, w), 0);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, SERVER, &server_ops, w), 1);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 0, 1, c2s), 0);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 1, 0, s2c), 0);
    ck_assert_int_eq(lwq_conn_client_new(&w->p.client, w->p.cctx, &w->cpath, NULL, 0, NULL, 0, lwq_sim_now(w->sim)), 0);
}

static void world_free(world *w)
{
    lwq_sim_del(w->sim);
    lwq_conn_del(w->p.client);
    lwq_server_del(w->p.srv);
    lwq_context_del(w->p.cctx);
    lwq_context_del(w->p.sctx);
}

static int echo_done(void *ud)
{
    world *w = ud;
    return w->e.done == w->e.n;
}

static int established(void *ud)
{
    world *w = ud;
    return pair_established(&w->p);
}

/* An echo of `streams` x `bytes` through links with this loss and reordering. */
static void run_echo(uint64_t seed, double loss, double reorder, size_t streams, size_t bytes)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS,
                             .jitter = 2 * LWQ_MS,
                             .rate = 50000000,
                             .queue_packets = 200,
                             .loss = loss,
                             .reorder = reorder,
                             .reorder_delay = 8 * LWQ_MS};
    world w;
    world_start(&w, seed, &l, &l);
    echo_init(&w.e, &w.p, streams, bytes);
    ck_assert_int_eq(lwq_sim_run(w.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_ptr_eq(w.p.client->rec.cc.ops, world_cc == LWQ_CC_ALGO_CUBIC ? &lwq_cc_cubic : &lwq_cc_newreno);
    if (loss > 0 && streams * bytes >= 200000) {
        /* Enough packets that some loss must have been detected and repaired on the way. */
        lwq_conn_stats cs, ss;
        lwq_conn_stats_get(w.p.client, &cs);
        lwq_conn_stats_get(w.p.server, &ss);
        ck_assert_uint_gt(cs.packets_lost + ss.packets_lost, 0);
    }
    world_free(&w);
}

START_TEST(test_sim_loss_5)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_echo(seed, 0.05, 0, 2, 200000);
}
END_TEST

START_TEST(test_sim_loss_10_reorder)
{
    for (uint64_t seed = 10; seed <= 12; seed++)
        run_echo(seed, 0.10, 0.05, 3, 100000);
}
END_TEST

START_TEST(test_sim_loss_20)
{
    for (uint64_t seed = 20; seed <= 22; seed++)
        run_echo(seed, 0.20, 0.05, 2, 60000);
}
END_TEST

START_TEST(test_sim_duplicate_corrupt)
{
    lwq_sim_link_config l = {.delay = 10 * LWQ_MS, .duplicate = 0.05, .corrupt = 0.02, .loss = 0.02};
    world w;
    world_start(&w, 31, &l, &l);
    echo_init(&w.e, &w.p, 2, 100000);
    ck_assert_int_eq(lwq_sim_run(w.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_uint_gt(lwq_sim_link_get(w.sim, 0)->stats.corrupted + lwq_sim_link_get(w.sim, 1)->stats.corrupted, 0);
    world_free(&w);
}
END_TEST

/* RFC 9002 §6.2: each of the first datagrams of the handshake dropped in turn. */
START_TEST(test_sim_handshake_drop_each)
{
    for (uint64_t k = 1; k <= 4; k++)
        for (int dir = 0; dir < 2; dir++) {
            uint64_t list[1] = {k};
            lwq_sim_link_config drop = {.delay = 20 * LWQ_MS, .drop_list = list, .drop_list_len = 1};
            lwq_sim_link_config ok = {.delay = 20 * LWQ_MS};
            world w;
            world_start(&w, 40 + k, dir ? &ok : &drop, dir ? &drop : &ok);
            ck_assert_int_eq(lwq_sim_run(w.sim, 10 * LWQ_SEC, established, &w), 0);
            ck_assert_msg(established(&w), "drop %u dir %d", (unsigned)k, dir);
            world_free(&w);
        }
}
END_TEST

/* Many seeds, small transfers: loss anywhere in the handshake and the data phase. */
START_TEST(test_sim_many_seeds)
{
    for (uint64_t seed = 100; seed < 140; seed++)
        run_echo(seed, 0.05 + 0.15 * (double)(seed % 4) / 3, 0.05, 2, 20000);
}
END_TEST

/* The loss scenarios again with Cubic (RFC 9438) on both sides. */
START_TEST(test_sim_cubic)
{
    world_cc = LWQ_CC_ALGO_CUBIC;
    for (uint64_t seed = 60; seed < 63; seed++)
        run_echo(seed, 0.02 + 0.04 * (double)(seed - 60), 0.05, 2, 200000);
    world_cc = LWQ_CC_ALGO_NEWRENO;
}
END_TEST

Suite *suite_conn_sim(void)
{
    Suite *s = suite_create("conn_sim");
    TCase *tc = lwq_test_tcase("conn_sim");
    tcase_add_test(tc, test_sim_loss_5);
    tcase_add_test(tc, test_sim_loss_10_reorder);
    tcase_add_test(tc, test_sim_loss_20);
    tcase_add_test(tc, test_sim_duplicate_corrupt);
    tcase_add_test(tc, test_sim_handshake_drop_each);
    tcase_add_test(tc, test_sim_many_seeds);
    tcase_add_test(tc, test_sim_cubic);
    suite_add_tcase(s, tc);
    return s;
}
