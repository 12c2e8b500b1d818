/* QUIC version 2 (RFC 9369) over the simulated network, byte-exact transfers: a client starting in
 * v2, a v1 client offering v2 that the server upgrades on its first Initial (RFC 9368 compatible
 * negotiation, also after Retry and under loss), a server refusing v2, and version_information that
 * does not match the long header (VERSION_NEGOTIATION_ERROR). */
#include "base/mem.h"
#include "sim/conn_node.h"
#include "sim/duplex.h"

typedef struct v2_world {
    conn_node n;
    duplex d;
    uint32_t first_version[2]; /* long-header version of the first datagram each side sent */
    uint64_t long_v1_after[2]; /* v1 long headers sent after that side used v2 */
    int saw_v2[2];
    uint32_t offer[1];
} v2_world;

static void v2_pump(void *app, int server)
{
    v2_world *w = app;
    lwq_conn *c = server ? w->n.p.server : w->n.p.client;
    if (duplex_events(&w->d, c, server))
        duplex_move(&w->d, c, server);
}

static int v2_done(void *ud)
{
    v2_world *w = ud;
    return (w->d.side[0].fin_got && w->d.side[1].fin_got) || w->d.side[0].closed;
}

/* Every long header that leaves a node, through the simulator's trace of the wire. */
static void v2_watch(v2_world *w, int server, const uint8_t *d, size_t n)
{
    if (n < 5 || !(d[0] & 0x80))
        return;
    uint32_t v = lwq_get32(d + 1);
    if (v == 0)
        return; /* Version Negotiation */
    if (!w->first_version[server])
        w->first_version[server] = v;
    if (v == LWQ_VERSION_2)
        w->saw_v2[server] = 1;
    else if (w->saw_v2[server])
        w->long_v1_after[server]++;
}

static ssize_t v2_client_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                              lwq_tstamp now)
{
    ssize_t n = conn_node_client_send(ud, buf, cap, from, to, ecn, now);
    if (n > 0)
        v2_watch(((conn_node *)ud)->app, 0, buf, (size_t)n);
    return n;
}

static ssize_t v2_server_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                              lwq_tstamp now)
{
    ssize_t n = conn_node_server_send(ud, buf, cap, from, to, ecn, now);
    if (n > 0)
        v2_watch(((conn_node *)ud)->app, 1, buf, (size_t)n);
    return n;
}

static const lwq_sim_node_ops v2_client_ops = {conn_node_client_recv, v2_client_send, conn_node_client_next,
                                               conn_node_client_timeout, conn_node_client_check};
static const lwq_sim_node_ops v2_server_ops = {conn_node_server_recv, v2_server_send, conn_node_server_next,
                                               conn_node_server_timeout, conn_node_server_check};

static void v2_init(v2_world *w, uint64_t seed, uint64_t bytes, uint32_t client_version, int offer_v2, int accept_v2)
{
    memset(w, 0, sizeof(*w));
    conn_node_init(&w->n, seed, "conn_v2_sim");
    w->n.pump = v2_pump;
    w->n.app = w;
    w->d.bytes = bytes;
    w->n.p.ccfg.version = client_version;
    w->offer[0] = LWQ_VERSION_2;
    if (offer_v2) {
        w->n.p.ccfg.other_versions = w->offer;
        w->n.p.ccfg.other_versions_count = 1;
    }
    w->n.p.scfg.accept_v2 = accept_v2;
}

/* conn_node_start with the watching node callbacks. */
static void v2_start(v2_world *w, const lwq_server_limits *lim, const lwq_sim_link_config *l)
{
    conn_node *n = &w->n;
    const char *why;
    ck_assert_int_eq(lwq_context_new(&n->p.cctx, &n->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&n->p.sctx, &n->p.scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&n->p.srv, n->p.sctx, lim), 0);
    n->cpath.remote_len = lwq_sim_addr_to_sockaddr(CONN_NODE_SERVER, &n->cpath.remote);
    n->cpath.local_len = lwq_sim_addr_to_sockaddr(CONN_NODE_CLIENT, &n->cpath.local);
    ck_assert_int_eq(lwq_sim_add_node(n->sim, CONN_NODE_CLIENT, &v2_client_ops, n), 0);
    ck_assert_int_eq(lwq_sim_add_node(n->sim, CONN_NODE_SERVER, &v2_server_ops, n), 1);
    ck_assert_int_ge(lwq_sim_add_link(n->sim, 0, 1, l), 0);
    ck_assert_int_ge(lwq_sim_add_link(n->sim, 1, 0, l), 0);
    ck_assert_int_eq(lwq_conn_client_new(&n->p.client, n->p.cctx, &n->cpath, NULL, 0, NULL, 0, lwq_sim_now(n->sim)), 0);
}

static void v2_run_ok(v2_world *w)
{
    int rc = lwq_sim_run(w->n.sim, LWQ_TSTAMP_INF, v2_done, w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w->n.sim));
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(!w->d.side[i].closed, "side %d closed: 0x%llx %s", i, (unsigned long long)w->d.side[i].close.code,
                      w->d.side[i].close.reason);
        ck_assert_uint_eq(w->d.side[i].got, w->d.bytes);
        ck_assert_uint_eq(w->d.side[i].bad, 0);
    }
}

static lwq_sim_link_config link_with_loss(double loss)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS,
                             .rate = 30000000,
                             .queue_packets = 200,
                             .loss = loss,
                             .reorder = loss > 0 ? 0.02 : 0,
                             .reorder_delay = 3 * LWQ_MS};
    return l;
}

START_TEST(test_v2_direct)
{
    lwq_sim_link_config l = link_with_loss(0);
    v2_world w;
    v2_init(&w, 400, 512 << 10, LWQ_VERSION_2, 0, 1);
    v2_start(&w, NULL, &l);
    v2_run_ok(&w);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.client), LWQ_VERSION_2);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.server), LWQ_VERSION_2);
    ck_assert_uint_eq(w.first_version[0], LWQ_VERSION_2);
    ck_assert_uint_eq(w.first_version[1], LWQ_VERSION_2);
    ck_assert_uint_eq(w.long_v1_after[0] + w.long_v1_after[1], 0);
    conn_node_free(&w.n);
}
END_TEST

/* The interop runner's v2 case: the client starts in v1 offering v2, the server answers its first
 * Initial in v2 (RFC 9368 §2.3), the client follows; the transfer runs in v2. */
static void upgrade(uint64_t seed, double loss, int retry)
{
    lwq_sim_link_config l = link_with_loss(loss);
    lwq_server_limits lim = {.retry = retry};
    v2_world w;
    v2_init(&w, seed, 1 << 20, LWQ_VERSION_1, 1, 1);
    v2_start(&w, &lim, &l);
    v2_run_ok(&w);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.client), LWQ_VERSION_2);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.server), LWQ_VERSION_2);
    ck_assert_uint_eq(w.n.p.client->vn.original, LWQ_VERSION_1);
    ck_assert_uint_eq(w.n.p.server->vn.original, LWQ_VERSION_1);
    ck_assert_uint_eq(w.first_version[0], LWQ_VERSION_1);
    /* RFC 9369 §4.1: the server's answers (beyond a Retry, kept in v1) are all v2, the client's
     * long headers are v2 from the moment it learned the version */
    if (!retry)
        ck_assert_uint_eq(w.first_version[1], LWQ_VERSION_2);
    ck_assert_uint_eq(w.long_v1_after[0] + w.long_v1_after[1], 0);
    ck_assert_int_eq(w.saw_v2[0] && w.saw_v2[1], 1);
    if (retry)
        ck_assert_uint_gt(w.n.retries_sent, 0);
    conn_node_free(&w.n);
}

START_TEST(test_v1_upgraded_to_v2)
{
    upgrade(410, 0, 0);
}
END_TEST

START_TEST(test_v1_upgraded_to_v2_lossy)
{
    for (uint64_t seed = 420; seed < 426; seed++)
        upgrade(seed, 0.10, 0);
}
END_TEST

START_TEST(test_v1_upgraded_to_v2_after_retry)
{
    upgrade(430, 0, 1);
    upgrade(431, 0.05, 1);
}
END_TEST

/* A server without accept_v2 keeps the offering client in v1; a client starting in v2 gets Version
 * Negotiation listing only v1 and gives up with VERSION_NEGOTIATION_ERROR (no Retry, no answer
 * in v2). */
START_TEST(test_server_refuses_v2)
{
    lwq_sim_link_config l = link_with_loss(0);
    v2_world w;
    v2_init(&w, 440, 256 << 10, LWQ_VERSION_1, 1, 0);
    v2_start(&w, NULL, &l);
    v2_run_ok(&w);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.client), LWQ_VERSION_1);
    ck_assert_uint_eq(lwq_conn_version(w.n.p.server), LWQ_VERSION_1);
    ck_assert_int_eq(w.saw_v2[0] || w.saw_v2[1], 0);
    conn_node_free(&w.n);

    lwq_server_limits lim = {.retry = 1};
    v2_init(&w, 441, 256 << 10, LWQ_VERSION_2, 0, 0);
    v2_start(&w, &lim, &l);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, v2_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert_int_eq(w.d.side[0].closed, 1);
    ck_assert_uint_eq(w.d.side[0].close.code, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR);
    ck_assert_ptr_null(w.n.p.server);
    ck_assert_uint_eq(w.n.retries_sent, 0);
    ck_assert_int_eq(w.saw_v2[1], 0);
    conn_node_free(&w.n);
}
END_TEST

/* RFC 9368 §4: a client whose version_information names v1 while its Initials are v2 (what a
 * downgrade attacker rewriting versions would produce) is closed by the server with
 * VERSION_NEGOTIATION_ERROR. */
START_TEST(test_mismatched_version_information)
{
    lwq_sim_link_config l = link_with_loss(0);
    v2_world w;
    v2_init(&w, 450, 64 << 10, LWQ_VERSION_1, 0, 1);
    v2_start(&w, NULL, &l);
    /* Move the client to v2 Initial keys after its ClientHello (chosen version v1) was written. */
    lwq_conn *c = w.n.p.client;
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    uint8_t cs[32], ss[32];
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_VERSION_2, c->odcid.id, c->odcid.len, cs, ss), 0);
    lwq_quic_keys_free(&sp->wk);
    lwq_quic_keys_free(&sp->rk);
    ck_assert_int_eq(lwq_quic_keys_init(&sp->wk, LWQ_VERSION_2, LWQ_SUITE_AES128GCM_SHA256, cs), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&sp->rk, LWQ_VERSION_2, LWQ_SUITE_AES128GCM_SHA256, ss), 0);
    c->version = LWQ_VERSION_2;
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, v2_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert_ptr_nonnull(w.n.p.server);
    lwq_event ev;
    ck_assert_int_eq(w.d.side[0].closed, 1);
    ck_assert_uint_eq(w.d.side[0].close.code, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR);
    ck_assert_int_eq(w.d.side[0].close.by_peer, 1);
    ck_assert(pair_find_event(w.n.p.server, LWQ_EV_CLOSED, &ev) || w.n.p.server->close_set);
    ck_assert_uint_eq(w.n.p.server->close.code, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR);
    ck_assert_uint_eq(w.d.side[1].got, 0);
    conn_node_free(&w.n);
}
END_TEST

Suite *suite_conn_v2_sim(void)
{
    Suite *s = suite_create("conn_v2_sim");
    TCase *tc = lwq_test_tcase("conn_v2_sim");
    tcase_add_test(tc, test_v2_direct);
    tcase_add_test(tc, test_v1_upgraded_to_v2);
    tcase_add_test(tc, test_v1_upgraded_to_v2_lossy);
    tcase_add_test(tc, test_v1_upgraded_to_v2_after_retry);
    tcase_add_test(tc, test_server_refuses_v2);
    tcase_add_test(tc, test_mismatched_version_information);
    suite_add_tcase(s, tc);
    return s;
}
