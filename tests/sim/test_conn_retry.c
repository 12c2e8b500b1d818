/* Handshakes through a Retry (RFC 9000 §8.1.2) over the simulated network: loss, reordering,
 * duplication and corruption hit the Retry and the Initials around it; the echo checks every byte
 * and the bookkeeping is checked at every step. */
#include "sim/conn_node.h"
#include "unit/conn_echo.h"

typedef struct world {
    conn_node n;
    echo e;
} world;

static void pump(void *app, int server)
{
    world *w = app;
    if (w->e.n)
        (server ? echo_server : echo_client)(&w->e);
}

static void world_start(world *w, uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c)
{
    conn_node_init(&w->n, seed, "sim_retry");
    memset(&w->e, 0, sizeof(w->e));
    w->n.pump = pump;
    w->n.app = w;
    lwq_server_limits lim = {.retry = 1};
    conn_node_start(&w->n, &lim, c2s, s2c);
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

/* min_retries: Retry packets the server must have sent (one per Initial without a token). */
static void run_retry_echo(uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c,
                           unsigned min_retries)
{
    world w;
    world_start(&w, seed, c2s, s2c);
    echo_init(&w.e, &w.n.p, 2, 100000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert(w.n.p.client->retried);
    ck_assert(w.n.p.server->retried && w.n.p.server->local_tp.has_retry_scid);
    ck_assert_uint_ge(w.n.retries_sent, min_retries);
    if (getenv("SIM_RETRY_VERBOSE"))
        fprintf(stderr, "seed %llu: %u Retry sent, handshake %.1f ms\n", (unsigned long long)seed, w.n.retries_sent,
                (double)w.n.p.client->stats.handshake_time / LWQ_MS);
    world_free(&w);
}

START_TEST(test_sim_retry_clean)
{
    lwq_sim_link_config l = {.delay = 20 * LWQ_MS, .rate = 20000000, .queue_packets = 200};
    run_retry_echo(1, &l, &l, 1);
}
END_TEST

START_TEST(test_sim_retry_lost)
{
    /* The first Retry, then also the second, is lost: the client's Initial PTOs bring new ones. */
    static const uint64_t first[] = {1}, two[] = {1, 2};
    lwq_sim_link_config c2s = {.delay = 20 * LWQ_MS, .rate = 20000000, .queue_packets = 200};
    lwq_sim_link_config s2c = c2s;
    s2c.drop_list = first;
    s2c.drop_list_len = 1;
    run_retry_echo(2, &c2s, &s2c, 2);
    s2c.drop_list = two;
    s2c.drop_list_len = 2;
    run_retry_echo(3, &c2s, &s2c, 3);
    /* The client's second Initial (the one with the token) is lost instead. */
    s2c.drop_list_len = 0;
    c2s.drop_list = two + 1;
    c2s.drop_list_len = 1;
    run_retry_echo(4, &c2s, &s2c, 1);
}
END_TEST

START_TEST(test_sim_retry_hostile_links)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS,
                             .jitter = 3 * LWQ_MS,
                             .rate = 20000000,
                             .queue_packets = 200,
                             .loss = 0.10,
                             .reorder = 0.10,
                             .reorder_delay = 10 * LWQ_MS,
                             .duplicate = 0.10,
                             .corrupt = 0.02};
    for (uint64_t seed = 10; seed < 20; seed++)
        run_retry_echo(seed, &l, &l, 1);
}
END_TEST

Suite *suite_sim_retry(void)
{
    Suite *s = suite_create("sim_retry");
    TCase *tc = lwq_test_tcase("retry");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sim_retry_clean);
    tcase_add_test(tc, test_sim_retry_lost);
    tcase_add_test(tc, test_sim_retry_hostile_links);
    suite_add_tcase(s, tc);
    return s;
}
