/* A receiver whose per-stream limit on out-of-order ranges is reached drops the packet unacknowledged
 * instead of closing the connection: the sender resends, the transfer completes byte for byte. */
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

static int echo_done(void *ud)
{
    world *w = ud;
    return w->e.done == w->e.n;
}

/* Loss and heavy reordering on a fast link make many holes per stream; `gaps` caps them on both sides. */
static void run_gaps(uint64_t seed, size_t gaps, uint64_t *dropped)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS,
                             .rate = 100000000,
                             .queue_packets = 400,
                             .loss = 0.03,
                             .reorder = 0.10,
                             .reorder_delay = 10 * LWQ_MS};
    world w;
    conn_node_init(&w.n, seed, "conn_gaps");
    memset(&w.e, 0, sizeof(w.e));
    w.n.pump = pump;
    w.n.app = &w;
    w.n.p.ccfg.max_stream_gaps = w.n.p.scfg.max_stream_gaps = gaps;
    conn_node_start(&w.n, NULL, &l, &l);
    echo_init(&w.e, &w.n.p, 2, 400000);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    echo_check(&w.e);
    ck_assert(!lwq_conn_is_closed(w.n.p.client) && !lwq_conn_is_closed(w.n.p.server));
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(w.n.p.client, &cs);
    lwq_conn_stats_get(w.n.p.server, &ss);
    *dropped = cs.packets_dropped + ss.packets_dropped;
    conn_node_free(&w.n);
}

START_TEST(test_gap_limit_drops_packets_not_the_connection)
{
    uint64_t tight = 0, roomy = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        uint64_t d;
        run_gaps(seed, 1, &d);
        tight += d;
        run_gaps(seed, 4096, &d);
        roomy += d;
    }
    /* With one gap allowed per stream, packets were refused (and the data still arrived). */
    ck_assert_uint_gt(tight, roomy);
}
END_TEST

Suite *suite_conn_gaps(void)
{
    Suite *s = suite_create("conn_gaps");
    TCase *tc = lwq_test_tcase("conn_gaps");
    tcase_add_test(tc, test_gap_limit_drops_packets_not_the_connection);
    suite_add_tcase(s, tc);
    return s;
}
