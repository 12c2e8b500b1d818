/* Key updates (RFC 9001 §6) over the simulated network, checked byte for byte: started by the
 * client, by the server, by both at the same moment, on a schedule during a lossy 4 MiB transfer,
 * and by the confidentiality limit (§6.6); the qlog records every phase change. */
#include <stdlib.h>
#include "sim/conn_node.h"
#include "sim/duplex.h"

typedef struct ku_world {
    conn_node n;
    duplex d;
    lwq_tstamp update_at[2]; /* each side starts one update at the first chance from then; 0 = never */
    int updated[2];
    uint64_t qlog_updates[2]; /* quic:key_updated records seen */
} ku_world;

static void ku_pump(void *app, int server)
{
    ku_world *w = app;
    lwq_conn *c = server ? w->n.p.server : w->n.p.client;
    if (!duplex_events(&w->d, c, server))
        return;
    if (w->update_at[server] && !w->updated[server] && lwq_sim_now(w->n.sim) >= w->update_at[server] &&
        lwq_conn_keys_can_update(c)) {
        ck_assert_int_eq(lwq_conn_update_keys(c), 0);
        w->updated[server] = 1;
    }
    duplex_move(&w->d, c, server);
}

static int ku_done(void *ud)
{
    ku_world *w = ud;
    return w->d.side[0].fin_got && w->d.side[1].fin_got && w->n.p.server &&
           w->n.p.client->ku.rphase == w->n.p.client->ku.wphase && w->n.p.server->ku.rphase == w->n.p.server->ku.wphase;
}

static void *q_open(void *ud, int is_server, const uint8_t *odcid, size_t len)
{
    (void)odcid, (void)len;
    return &((ku_world *)ud)->qlog_updates[is_server];
}

static void q_write(void *handle, const char *record, size_t len)
{
    if (memmem(record, len, "\"quic:key_updated\"", 18))
        (*(uint64_t *)handle)++;
}

static void ku_init(ku_world *w, uint64_t seed, uint64_t bytes)
{
    memset(w, 0, sizeof(*w));
    conn_node_init(&w->n, seed, "conn_keyupdate_sim");
    w->n.pump = ku_pump;
    w->n.app = w;
    w->d.bytes = bytes;
    w->n.p.ccfg.qlog_open = w->n.p.scfg.qlog_open = q_open;
    w->n.p.ccfg.qlog_write = w->n.p.scfg.qlog_write = q_write;
    w->n.p.ccfg.qlog_format = w->n.p.scfg.qlog_format = LWQ_QLOG_MAIN;
    w->n.p.ccfg.qlog_ud = w->n.p.scfg.qlog_ud = w;
}

static void ku_run(ku_world *w, const lwq_sim_link_config *l)
{
    conn_node_start(&w->n, NULL, l, l);
    int rc = lwq_sim_run(w->n.sim, LWQ_TSTAMP_INF, ku_done, w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w->n.sim));
    for (int i = 0; i < 2; i++) {
        const duplex_side *s = &w->d.side[i];
        ck_assert_msg(!s->closed, "side %d closed: 0x%llx %s", i, (unsigned long long)s->close.code, s->close.reason);
        ck_assert_uint_eq(s->got, w->d.bytes);
        ck_assert_uint_eq(s->sent, w->d.bytes);
        ck_assert_uint_eq(s->bad, 0);
    }
}

static void ku_stats(ku_world *w, lwq_conn_stats *cs, lwq_conn_stats *ss)
{
    lwq_conn_stats_get(w->n.p.client, cs);
    lwq_conn_stats_get(w->n.p.server, ss);
}

static lwq_sim_link_config plain_link(void)
{
    lwq_sim_link_config l = {
        .delay = 15 * LWQ_MS, .rate = 50000000, .queue_packets = 200, .reorder = 0.01, .reorder_delay = 3 * LWQ_MS};
    return l;
}

/* Each side once, right after the handshake is confirmed (the interop keyupdate case). */
static void one_sided(int server)
{
    lwq_sim_link_config l = plain_link();
    ku_world w;
    ku_init(&w, 300 + (uint64_t)server, 1 << 20);
    w.update_at[server] = 1;
    ku_run(&w, &l);
    lwq_conn_stats cs, ss;
    ku_stats(&w, &cs, &ss);
    const lwq_conn_stats *me = server ? &ss : &cs, *peer = server ? &cs : &ss;
    ck_assert_uint_eq(me->key_updates, 1);
    ck_assert_uint_eq(me->key_updates_initiated, 1);
    ck_assert_uint_eq(peer->key_updates, 1);
    ck_assert_uint_eq(peer->key_updates_initiated, 0);
    ck_assert_int_eq(w.n.p.client->ku.wphase, 1);
    ck_assert_int_eq(w.n.p.server->ku.rphase, 1);
    /* each side logged its write and its read update */
    ck_assert_uint_eq(w.qlog_updates[0], 2);
    ck_assert_uint_eq(w.qlog_updates[1], 2);
    conn_node_free(&w.n);
}

START_TEST(test_update_by_client)
{
    one_sided(0);
}
END_TEST

START_TEST(test_update_by_server)
{
    one_sided(1);
}
END_TEST

/* Both start an update in the same instant: each reads the other's new phase as the answer to its
 * own, nobody updates twice (RFC 9001 §6.2). */
START_TEST(test_update_both_at_once)
{
    lwq_sim_link_config l = plain_link();
    ku_world w;
    ku_init(&w, 310, 1 << 20);
    w.update_at[0] = w.update_at[1] = 100 * LWQ_MS;
    ku_run(&w, &l);
    lwq_conn_stats cs, ss;
    ku_stats(&w, &cs, &ss);
    ck_assert_int_eq(w.updated[0] && w.updated[1], 1);
    ck_assert_uint_eq(cs.key_updates, 1);
    ck_assert_uint_eq(ss.key_updates, 1);
    ck_assert_uint_eq(cs.key_updates_initiated, 1);
    ck_assert_uint_eq(ss.key_updates_initiated, 1);
    ck_assert_uint_eq(w.n.p.client->ku.rgeneration, 1);
    ck_assert_uint_eq(w.n.p.server->ku.rgeneration, 1);
    conn_node_free(&w.n);
}
END_TEST

/* key_update_interval on both sides during 4 MiB each way with 5 % loss and reordering: many
 * phases, packets of the previous phase arriving late still open, nothing fails authentication. */
START_TEST(test_scheduled_updates_lossy)
{
    lwq_sim_link_config l = {.delay = 10 * LWQ_MS,
                             .jitter = 2 * LWQ_MS,
                             .rate = 40000000,
                             .queue_packets = 300,
                             .loss = 0.05,
                             .reorder = 0.05,
                             .reorder_delay = 4 * LWQ_MS,
                             .duplicate = 0.01};
    uint64_t prev_opened = 0, updates = 0;
    /* LWQ_SIM_LONG=N: N seeds (1: 50) instead of 2 */
    const char *env = getenv("LWQ_SIM_LONG");
    uint64_t seeds = env ? strtoull(env, NULL, 10) : 0;
    seeds = seeds == 1 ? 50 : seeds ? seeds : 2;
    for (uint64_t seed = 320; seed < 320 + seeds; seed++) {
        ku_world w;
        ku_init(&w, seed, 4 << 20);
        w.n.p.ccfg.key_update_interval = 300;
        w.n.p.scfg.key_update_interval = 300;
        ku_run(&w, &l);
        lwq_conn_stats cs, ss;
        ku_stats(&w, &cs, &ss);
        ck_assert_uint_gt(cs.packets_lost + ss.packets_lost, 0);
        ck_assert_uint_ge(cs.key_updates, 4);
        ck_assert_uint_eq(cs.key_updates, ss.key_updates);
        ck_assert_uint_ge(cs.key_updates_initiated + ss.key_updates_initiated, cs.key_updates);
        ck_assert_uint_eq(w.n.p.client->ku.auth_failures + w.n.p.server->ku.auth_failures, 0);
        prev_opened += w.n.p.client->ku.prev_opened + w.n.p.server->ku.prev_opened;
        updates += cs.key_updates;
        conn_node_free(&w.n);
    }
    ck_assert_uint_gt(prev_opened, 0);
    if (getenv("LWQ_SIM_REPORT"))
        fprintf(stderr, "conn_keyupdate_sim: %lu seeds, %lu key updates, %lu late packets opened with previous keys\n",
                (unsigned long)seeds, (unsigned long)updates, (unsigned long)prev_opened);
}
END_TEST

/* RFC 9001 §6.6 with a lowered confidentiality limit: updates start before it, no key protects more
 * packets than it allows, the transfer is intact. */
START_TEST(test_confidentiality_limit_updates)
{
    lwq_sim_link_config l = {.delay = 10 * LWQ_MS, .rate = 10000000, .queue_packets = 60};
    ku_world w;
    ku_init(&w, 330, 1 << 20);
    conn_node_start(&w.n, NULL, &l, &l);
    lwq_conn_keys_set_limits(w.n.p.client, 400, 0);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, ku_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert_uint_eq(w.d.side[1].got, w.d.bytes);
    ck_assert_uint_eq(w.d.side[0].got, w.d.bytes);
    ck_assert_int_eq(w.d.side[0].closed || w.d.side[1].closed, 0);
    lwq_conn_stats cs, ss;
    ku_stats(&w, &cs, &ss);
    ck_assert_uint_ge(cs.key_updates_initiated, 2);
    ck_assert_uint_eq(ss.key_updates_initiated, 0);
    ck_assert_uint_lt(w.n.p.client->ku.wpackets, 400);
    conn_node_free(&w.n);
}
END_TEST

Suite *suite_conn_keyupdate_sim(void)
{
    Suite *s = suite_create("conn_keyupdate_sim");
    TCase *tc = lwq_test_tcase("conn_keyupdate_sim");
    tcase_add_test(tc, test_update_by_client);
    tcase_add_test(tc, test_update_by_server);
    tcase_add_test(tc, test_update_both_at_once);
    tcase_add_test(tc, test_scheduled_updates_lossy);
    tcase_add_test(tc, test_confidentiality_limit_updates);
    suite_add_tcase(s, tc);
    return s;
}
