/* ECN over the simulator (RFC 9000 §13.4, RFC 9002 §7.1): validation on a clean path, a path that
 * bleaches the marks, and a bottleneck that marks CE instead of dropping; every transfer is an
 * echo checked byte for byte. */
#include "sim/conn_node.h"
#include "unit/conn_echo.h"

typedef struct eworld {
    conn_node n; /* first: the node callbacks get the world */
    echo e;
} eworld;

static void pump(void *app, int server)
{
    eworld *w = app;
    if (w->e.n)
        (server ? echo_server : echo_client)(&w->e);
}

static void eworld_run(eworld *w, uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c,
                       size_t streams, size_t bytes)
{
    conn_node_init(&w->n, seed, "conn_ecn");
    w->n.pump = pump;
    w->n.app = w;
    conn_node_start(&w->n, NULL, c2s, s2c);
    echo_init(&w->e, &w->n.p, streams, bytes);
}

static int echo_done(void *ud)
{
    eworld *w = ud;
    return w->e.done == w->e.n;
}

static const lwq_sim_link_config CLEAN = {.delay = 10 * LWQ_MS, .rate = 20000000, .queue_packets = 100};

START_TEST(test_ecn_clean_path_validated)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        eworld w;
        eworld_run(&w, seed, &CLEAN, &CLEAN, 2, 200000);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
        echo_check(&w.e);
        lwq_conn *c = w.n.p.client, *s = w.n.p.server;
        lwq_conn_stats cs, ss;
        lwq_conn_stats_get(c, &cs);
        lwq_conn_stats_get(s, &ss);
        ck_assert_int_eq(cs.ecn_state, LWQ_ECN_CAPABLE);
        ck_assert_int_eq(ss.ecn_state, LWQ_ECN_CAPABLE);
        /* capable: everything after the testing period is still marked, and counted by the peer */
        ck_assert_uint_gt(s->ecn.rx[LWQ_SPACE_APP][0], 100);
        ck_assert_uint_gt(c->ecn.rx[LWQ_SPACE_APP][0], 100);
        ck_assert_uint_eq(s->ecn.rx[LWQ_SPACE_APP][2] + c->ecn.rx[LWQ_SPACE_APP][2], 0);
        /* the peer's ACK_ECN counts reached us and never exceed what we marked */
        ck_assert_uint_gt(c->ecn.peer[LWQ_SPACE_APP][0], 0);
        ck_assert_uint_le(c->ecn.peer[LWQ_SPACE_APP][0], c->ecn.sent[LWQ_SPACE_APP]);
        ck_assert_uint_le(s->ecn.peer[LWQ_SPACE_APP][0], s->ecn.sent[LWQ_SPACE_APP]);
        ck_assert_uint_eq(cs.ecn_ce_acks + ss.ecn_ce_acks, 0);
        conn_node_free(&w.n);
    }
}
END_TEST

/* Marks erased on the way: the ACKs newly acknowledge marked packets without counting them, so
 * validation fails (§13.4.2.1) and marking stops; the transfer is unaffected. */
START_TEST(test_ecn_bleached_path_disabled)
{
    lwq_sim_link_config bleach = CLEAN;
    bleach.ecn = LWQ_SIM_ECN_BLEACH;
    for (int dir = 0; dir < 3; dir++) {
        eworld w;
        eworld_run(&w, 10 + (uint64_t)dir, dir != 1 ? &bleach : &CLEAN, dir != 0 ? &bleach : &CLEAN, 2, 200000);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
        echo_check(&w.e);
        lwq_conn *c = w.n.p.client, *s = w.n.p.server;
        /* dir 0: client to server bleached; 1: server to client; 2: both */
        ck_assert_int_eq(c->ecn.state, dir != 1 ? LWQ_ECN_FAILED : LWQ_ECN_CAPABLE);
        ck_assert_int_eq(s->ecn.state, dir != 0 ? LWQ_ECN_FAILED : LWQ_ECN_CAPABLE);
        if (dir != 1) {
            /* a handful of marked packets before the first ACK told, then none */
            uint64_t marked = c->ecn.sent[0] + c->ecn.sent[1] + c->ecn.sent[2];
            ck_assert_uint_le(marked, LWQ_ECN_TESTING_PACKETS);
            ck_assert_uint_eq(s->ecn.rx[LWQ_SPACE_APP][0], 0);
        }
        conn_node_free(&w.n);
    }
}
END_TEST

static const lwq_sim_link_config MARK = {
    .delay = 10 * LWQ_MS, .rate = 5000000, .queue_packets = 1000, .ecn = LWQ_SIM_ECN_MARK, .ce_threshold = 8};

/* 1.5 MB from the server through the marking bottleneck (seed 21); the bottleneck's queue peak. */
static size_t marked_transfer(eworld *w, int disable_ecn)
{
    conn_node_init(&w->n, 21, "conn_ecn");
    w->n.pump = pump;
    w->n.app = w;
    w->n.p.scfg.disable_ecn = disable_ecn;
    conn_node_start(&w->n, NULL, &CLEAN, &MARK);
    echo_init(&w->e, &w->n.p, 1, 1500000);
    ck_assert_int_eq(lwq_sim_run(w->n.sim, LWQ_TSTAMP_INF, echo_done, w), 0);
    echo_check(&w->e);
    return lwq_sim_link_get(w->n.sim, 1)->stats.max_queue_packets;
}

/* A bottleneck that marks CE when its queue builds: the receiver counts CE, the sender treats new
 * CE counts as congestion (RFC 9002 §7.1) and reduces its window without losing packets. */
START_TEST(test_ecn_ce_reduces_cwnd)
{
    eworld w;
    marked_transfer(&w, 0);
    lwq_conn *c = w.n.p.client, *s = w.n.p.server;
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(c, &cs);
    lwq_conn_stats_get(s, &ss);
    ck_assert_uint_gt(lwq_sim_link_get(w.n.sim, 1)->stats.ce_marked, 0);
    ck_assert_uint_gt(cs.ecn_ce_received, 0);             /* the client saw CE ... */
    ck_assert_uint_gt(c->ecn.rx[LWQ_SPACE_APP][2], 0);    /* ... reported it in ACK_ECN ... */
    ck_assert_uint_gt(ss.ecn_ce_acks, 0);                 /* ... and the server heard it */
    ck_assert_uint_gt(s->rec.cc.congestion_events, 0);    /* a reaction ... */
    ck_assert_uint_le(s->rec.cc.congestion_events, ss.ecn_ce_acks); /* ... at most one per report */
    ck_assert_uint_eq(ss.packets_lost, 0);                /* without a single loss */
    ck_assert_int_eq(ss.ecn_state, LWQ_ECN_CAPABLE);      /* CE is no validation failure */
    /* the window stayed near the path's capacity instead of growing until the queue overflowed */
    ck_assert_uint_lt(s->rec.cc.cwnd, 200000);
    conn_node_free(&w.n);
}
END_TEST

/* The same transfer with marks erased: no CE, no reaction; more queue build-up than with ECN. */
START_TEST(test_ecn_disabled_no_ce_reaction)
{
    eworld w;
    size_t with_ecn = marked_transfer(&w, 0);
    conn_node_free(&w.n);
    size_t without = marked_transfer(&w, 1);
    lwq_conn_stats ss;
    lwq_conn_stats_get(w.n.p.server, &ss);
    ck_assert_int_eq(ss.ecn_state, LWQ_ECN_FAILED);
    ck_assert_uint_eq(lwq_sim_link_get(w.n.sim, 1)->stats.ce_marked, 0); /* Not-ECT is never marked */
    ck_assert_uint_eq(ss.ecn_ce_acks, 0);
    ck_assert_uint_eq(w.n.p.server->ecn.sent[LWQ_SPACE_APP], 0);
    /* without CE to react to, the window grows until the queue far exceeds the marking threshold
     * (seed 21: a peak of 16 packets with ECN, 169 without) */
    ck_assert_uint_gt(without, 4 * with_ecn);
    ck_assert_uint_gt(without, 8 * MARK.ce_threshold);
    conn_node_free(&w.n);
}
END_TEST

Suite *suite_conn_ecn_sim(void)
{
    Suite *s = suite_create("conn_ecn_sim");
    TCase *tc = lwq_test_tcase("conn_ecn_sim");
    tcase_add_test(tc, test_ecn_clean_path_validated);
    tcase_add_test(tc, test_ecn_bleached_path_disabled);
    tcase_add_test(tc, test_ecn_ce_reduces_cwnd);
    tcase_add_test(tc, test_ecn_disabled_no_ce_reaction);
    suite_add_tcase(s, tc);
    return s;
}
