/* Whole connections over the simulated network: loss, reordering, duplication and corruption by a
 * seeded PRNG; every transfer is checked byte for byte by the echo application.
 * LWQ_SIM_LONG=1 (make check-long) runs every scenario over 200 seeds. */
#include "sim/conn_node.h"
#include "sim/sim_seeds.h"
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

static void loss_5_seed(uint64_t seed, void *ud, void *res)
{
    run_echo(seed, 0.05, 0, 2, 200000);
}

START_TEST(test_sim_loss_5)
{
    sim_seeds_run("conn_sim loss_5", 1, 3, loss_5_seed, NULL, 0, NULL);
}
END_TEST

static void loss_10_reorder_seed(uint64_t seed, void *ud, void *res)
{
    run_echo(seed, 0.10, 0.05, 3, 100000);
}

START_TEST(test_sim_loss_10_reorder)
{
    sim_seeds_run("conn_sim loss_10_reorder", 10, 3, loss_10_reorder_seed, NULL, 0, NULL);
}
END_TEST

static void loss_20_seed(uint64_t seed, void *ud, void *res)
{
    run_echo(seed, 0.20, 0.05, 2, 60000);
}

START_TEST(test_sim_loss_20)
{
    sim_seeds_run("conn_sim loss_20", 20, 3, loss_20_seed, NULL, 0, NULL);
}
END_TEST

static void duplicate_corrupt_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = {.delay = 10 * LWQ_MS, .duplicate = 0.05, .corrupt = 0.02, .loss = 0.02};
    world w;
    world_start(&w, seed, &l, &l);
    echo_init(&w.e, &w.n.p, 2, 100000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_uint_gt(lwq_sim_link_get(w.n.sim, 0)->stats.corrupted + lwq_sim_link_get(w.n.sim, 1)->stats.corrupted, 0);
    world_free(&w);
}

START_TEST(test_sim_duplicate_corrupt)
{
    sim_seeds_run("conn_sim duplicate_corrupt", 31, 1, duplicate_corrupt_seed, NULL, 0, NULL);
}
END_TEST

/* Seeds the long run failed with: the client's first Initial arrived with a bit of its DCID flipped, the server
 * made a connection that could never decrypt anything and the scenario followed that one to the idle timeout. */
START_TEST(test_sim_corrupt_first_initial)
{
    static const uint64_t seeds[] = {158, 188};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        duplicate_corrupt_seed(seeds[i], NULL, NULL);
}
END_TEST

static void handshake_drop(uint64_t seed, uint64_t k, int dir)
{
    uint64_t list[1] = {k};
    lwq_sim_link_config drop = {.delay = 20 * LWQ_MS, .drop_list = list, .drop_list_len = 1};
    lwq_sim_link_config ok = {.delay = 20 * LWQ_MS};
    world w;
    world_start(&w, seed, dir ? &ok : &drop, dir ? &drop : &ok);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, 10 * LWQ_SEC, established, &w), 0);
    ck_assert_msg(established(&w), "seed %lu drop %u dir %d", (unsigned long)seed, (unsigned)k, dir);
    world_free(&w);
}

/* One seed of the long run: every flight dropped in turn, each direction. */
static void handshake_drop_each_seed(uint64_t seed, void *ud, void *res)
{
    for (uint64_t k = 1; k <= 4; k++)
        for (int dir = 0; dir < 2; dir++)
            handshake_drop(seed, k, dir);
}

/* RFC 9002 §6.2: each of the first datagrams of the handshake dropped in turn. */
START_TEST(test_sim_handshake_drop_each)
{
    if (sim_long()) {
        sim_seeds_run("conn_sim handshake_drop_each", 1000, 0, handshake_drop_each_seed, NULL, 0, NULL);
        return;
    }
    for (uint64_t k = 1; k <= 4; k++)
        for (int dir = 0; dir < 2; dir++)
            handshake_drop(40 + k, k, dir);
}
END_TEST

static void many_seeds_seed(uint64_t seed, void *ud, void *res)
{
    run_echo(seed, 0.05 + 0.15 * (double)(seed % 4) / 3, 0.05, 2, 20000);
}

/* Many seeds, small transfers: loss anywhere in the handshake and the data phase. */
START_TEST(test_sim_many_seeds)
{
    sim_seeds_run("conn_sim many_seeds", 100, 40, many_seeds_seed, NULL, 0, NULL);
}
END_TEST

static void cubic_seed(uint64_t seed, void *ud, void *res)
{
    world_cc = LWQ_CC_ALGO_CUBIC;
    run_echo(seed, 0.02 + 0.04 * (double)((seed - 60) % 3), 0.05, 2, 200000);
    world_cc = LWQ_CC_ALGO_NEWRENO;
}

/* The loss scenarios again with Cubic (RFC 9438) on both sides. */
START_TEST(test_sim_cubic)
{
    sim_seeds_run("conn_sim cubic", 60, 3, cubic_seed, NULL, 0, NULL);
}
END_TEST

Suite *suite_conn_sim(void)
{
    Suite *s = suite_create("conn_sim");
    /* One case per scenario, so that make check-long can run them side by side (CK_RUN_CASE). */
    static const char *names[] = {"sim_loss_5",    "sim_loss_10_reorder", "sim_loss_20", "sim_duplicate_corrupt",
                                  "sim_handshake", "sim_many_seeds",      "sim_cubic"};
    const TTest *tests[] = {test_sim_loss_5,
                            test_sim_loss_10_reorder,
                            test_sim_loss_20,
                            test_sim_duplicate_corrupt,
                            test_sim_handshake_drop_each,
                            test_sim_many_seeds,
                            test_sim_cubic};
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        TCase *tc = lwq_test_tcase(names[i]);
        if (sim_long())
            tcase_set_timeout(tc, 86400);
        tcase_add_test(tc, tests[i]);
        suite_add_tcase(s, tc);
    }
    TCase *reg = lwq_test_tcase("sim_regressions");
    tcase_add_test(reg, test_sim_corrupt_first_initial);
    suite_add_tcase(s, reg);
    return s;
}
