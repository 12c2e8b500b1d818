/* PTO probes carry the oldest unacknowledged data (RFC 9002 §6.2.4): a lost tail is repaired by the probe
 * itself, one PTO and one one-way trip after it was sent, where a PING probe needs its acknowledgement and a
 * retransmission after that (two more one-way trips). lwq_conn_check runs on both sides at every step. */
#include "sim/conn_node.h"

#define DELAY (25 * LWQ_MS)
#define TAIL_BYTES 1000

typedef struct world {
    conn_node n;
    int write_now;
    uint64_t got;
    int fin;
} world;

static void pump(void *app, int server)
{
    world *w = app;
    lwq_conn *c = server ? w->n.p.server : w->n.p.client;
    if (!c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        ;
    if (server) {
        uint8_t buf[2048];
        int fin = 0;
        ssize_t r;
        while (!w->fin && (r = lwq_stream_read(c, 0, buf, sizeof(buf), &fin)) >= 0) {
            w->got += (uint64_t)r;
            w->fin = fin;
            if (!r)
                break;
        }
    } else if (w->write_now) {
        int64_t id;
        uint8_t data[TAIL_BYTES];
        memset(data, 'x', sizeof(data));
        ck_assert_int_eq(lwq_stream_open(c, 1, &id), 0);
        ck_assert_int_eq(lwq_stream_write(c, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
        w->write_now = 0;
    }
}

static int established(void *ud)
{
    world *w = ud;
    return pair_established(&w->n.p);
}

static int tail_read(void *ud)
{
    world *w = ud;
    return w->fin;
}

/* The only datagram of a request is lost: the first PTO's probe delivers it. */
START_TEST(test_tail_loss_repaired_by_probe)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        world w;
        memset(&w, 0, sizeof(w));
        conn_node_init(&w.n, seed, "conn_probe");
        w.n.pump = pump;
        w.n.app = &w;
        lwq_sim_link_config l = {.delay = DELAY};
        conn_node_start(&w.n, NULL, &l, &l);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, established, &w), 0);
        ck_assert(established(&w));
        /* Let the handshake's last acknowledgements settle. */
        ck_assert_int_eq(lwq_sim_run(w.n.sim, lwq_sim_now(w.n.sim) + LWQ_SEC, NULL, NULL), 0);
        lwq_tstamp t0 = lwq_sim_now(w.n.sim);
        lwq_sim_link *c2s = lwq_sim_link_get(w.n.sim, 0);
        c2s->cfg.blackout[0].from = t0;
        c2s->cfg.blackout[0].until = t0 + LWQ_MS;
        c2s->cfg.blackouts = 1;
        lwq_tstamp pto = lwq_conn_pto(w.n.p.client);
        w.write_now = 1;
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, tail_read, &w), 0);
        ck_assert_uint_eq(w.got, TAIL_BYTES);
        ck_assert_uint_ge(c2s->stats.dropped[LWQ_SIM_DROP_BLACKOUT], 1);
        lwq_tstamp took = lwq_sim_now(w.n.sim) - t0;
        /* One PTO, then the probe's trip: no PING, acknowledgement and retransmission round. */
        ck_assert_msg(took <= pto + DELAY + 2 * LWQ_MS, "seed %lu: %lu ms, PTO %lu ms", (unsigned long)seed,
                      (unsigned long)(took / LWQ_MS), (unsigned long)(pto / LWQ_MS));
        ck_assert_uint_ge(took, pto);
        lwq_conn_stats cs;
        lwq_conn_stats_get(w.n.p.client, &cs);
        ck_assert_uint_eq(cs.packets_lost, 0); /* repaired before any loss was declared */
        /* Both copies are accounted for afterwards: the lost one is declared lost or its data acknowledged. */
        ck_assert_int_eq(lwq_sim_run(w.n.sim, lwq_sim_now(w.n.sim) + 2 * LWQ_SEC, NULL, NULL), 0);
        ck_assert_uint_eq(w.n.p.client->rec.spaces[LWQ_SPACE_APP].ack_eliciting_in_flight, 0);
        conn_node_free(&w.n);
    }
}
END_TEST

Suite *suite_conn_probe(void)
{
    Suite *s = suite_create("conn_probe");
    TCase *tc = lwq_test_tcase("conn_probe");
    tcase_add_test(tc, test_tail_loss_repaired_by_probe);
    suite_add_tcase(s, tc);
    return s;
}
