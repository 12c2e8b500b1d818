/* Whole connections over the simulated network: loss, reordering, duplication and corruption by a
 * seeded PRNG; every transfer is checked byte for byte by the echo application. */
#include "sim/conn_node.h"
#include "unit/conn_echo.h"

typedef struct world {
    conn_node n; /* first: the node callbacks get the world */
    echo e;
} world;

static void pump(void *app, int server)
{
    world *w = app;
    if (w->e.n)
        (server ? echo_server : echo_client)(&w->e);
}

static lwq_cc_algorithm world_cc = LWQ_CC_ALGO_NEWRENO;

static void world_start(world *w, uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c)
{
    conn_node_init(&w->n, seed, "conn_sim");
    memset(&w->e, 0, sizeof(w->e));
    w->n.pump = pump;
    w->n.app = w;
    w->n.p.ccfg.cc = w->n.p.scfg.cc = world_cc;
    conn_node_start(&w->n, NULL, c2s, s2c);
}

static void world_free(world *w)
{
    conn_node_free(&w->n);
}

static int echo_done(void *ud)
{
    world *w = ud;
    return w->e.done == w->e.n;
}

static int established(void *ud)
{
    world *w = ud;
    return pair_established(&w->n.p);
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
    echo_init(&w.e, &w.n.p, streams, bytes);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_ptr_eq(w.n.p.client->rec.cc.ops, world_cc == LWQ_CC_ALGO_CUBIC ? &lwq_cc_cubic : &lwq_cc_newreno);
    if (loss > 0 && streams * bytes >= 200000) {
        /* Enough packets that some loss must have been detected and repaired on the way. */
        lwq_conn_stats cs, ss;
        lwq_conn_stats_get(w.n.p.client, &cs);
        lwq_conn_stats_get(w.n.p.server, &ss);
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
    echo_init(&w.e, &w.n.p, 2, 100000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_uint_gt(lwq_sim_link_get(w.n.sim, 0)->stats.corrupted + lwq_sim_link_get(w.n.sim, 1)->stats.corrupted, 0);
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
            ck_assert_int_eq(lwq_sim_run(w.n.sim, 10 * LWQ_SEC, established, &w), 0);
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
