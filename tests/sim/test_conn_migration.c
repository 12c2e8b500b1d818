/* Migration over the simulator (RFC 9000 §8.2, §9): NAT rebinding of the client's port and address
 * mid-transfer, a server held to 3x on the unvalidated new path, the server's preferred address,
 * a client's active migration, and migration refused. Every transfer is an echo checked byte for
 * byte; the connections' invariants and the path amplification limit are checked at every step. */
#include <arpa/inet.h>
#include "sim/conn_node.h"
#include "unit/conn_echo.h"

static const lwq_sim_addr PREF = {2, 4443}, CLIENT2 = {1, 5001};

typedef struct mworld {
    conn_node n; /* the pair, the simulator and the client path */
    echo e;
    int server_node, pref_node, client2_node;
    uint64_t srv_amp_max; /* the most the server had sent beyond 3x on an unvalidated path: 0 */
} mworld;

static lwq_path sim_path(lwq_sim_addr local, lwq_sim_addr remote)
{
    lwq_path p;
    memset(&p, 0, sizeof(p));
    p.local_len = lwq_sim_addr_to_sockaddr(local, &p.local);
    p.remote_len = lwq_sim_addr_to_sockaddr(remote, &p.remote);
    return p;
}

static void pump(mworld *w, int server)
{
    if (w->e.n)
        (server ? echo_server : echo_client)(&w->e);
}

static int client_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    mworld *w = ud;
    lwq_path path = sim_path(to, from);
    int rv = lwq_conn_recv(w->n.p.client, &path, d, n, ecn, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static ssize_t client_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    mworld *w = ud;
    pump(w, 0);
    size_t seg;
    lwq_path path;
    ssize_t n = lwq_conn_send(w->n.p.client, &path, buf, cap, 1, &seg, ecn, now);
    if (n > 0) {
        ck_assert_int_eq(lwq_sim_addr_from_sockaddr(from, (struct sockaddr *)&path.local), 0);
        ck_assert_int_eq(lwq_sim_addr_from_sockaddr(to, (struct sockaddr *)&path.remote), 0);
    }
    return n;
}

static lwq_tstamp client_next(void *ud)
{
    mworld *w = ud;
    return lwq_conn_next_timeout(w->n.p.client);
}

static int client_timeout(void *ud, lwq_tstamp now)
{
    mworld *w = ud;
    int rv = lwq_conn_handle_timeout(w->n.p.client, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *client_check(void *ud, lwq_tstamp now)
{
    mworld *w = ud;
    const char *why = lwq_conn_check(w->n.p.client, now);
    return why ? why : lwq_conn_path_check(w->n.p.client);
}

static int server_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    mworld *w = ud;
    lwq_path path = sim_path(to, from);
    lwq_conn *c = NULL;
    int rv = lwq_server_recv(w->n.p.srv, &path, d, n, ecn, now, &c, NULL);
    if (c && !w->n.p.server)
        w->n.p.server = c;
    return rv;
}

static ssize_t server_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    mworld *w = ud;
    lwq_path path;
    ssize_t n = lwq_server_send(w->n.p.srv, &path, buf, cap, now);
    if (n == 0 && w->n.p.server) {
        pump(w, 1);
        size_t seg;
        n = lwq_conn_send(w->n.p.server, &path, buf, cap, 1, &seg, ecn, now);
    }
    if (n > 0) {
        ck_assert_int_eq(lwq_sim_addr_from_sockaddr(from, (struct sockaddr *)&path.local), 0);
        ck_assert_int_eq(lwq_sim_addr_from_sockaddr(to, (struct sockaddr *)&path.remote), 0);
    }
    return n;
}

static lwq_tstamp server_next(void *ud)
{
    mworld *w = ud;
    return w->n.p.server ? lwq_conn_next_timeout(w->n.p.server) : LWQ_TSTAMP_INF;
}

static int server_timeout(void *ud, lwq_tstamp now)
{
    mworld *w = ud;
    int rv = lwq_conn_handle_timeout(w->n.p.server, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *server_check(void *ud, lwq_tstamp now)
{
    mworld *w = ud;
    if (!w->n.p.server)
        return NULL;
    const char *why = lwq_conn_check(w->n.p.server, now);
    return why ? why : lwq_conn_path_check(w->n.p.server);
}

/* Aliases: a second address of the same client or server (receive only; the main node sends). */
static ssize_t alias_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                          lwq_tstamp now)
{
    (void)ud, (void)buf, (void)cap, (void)from, (void)to, (void)ecn, (void)now;
    return 0;
}

static const lwq_sim_node_ops client_ops = {client_recv, client_send, client_next, client_timeout, client_check};
static const lwq_sim_node_ops server_ops = {server_recv, server_send, server_next, server_timeout, server_check};
static const lwq_sim_node_ops server_alias_ops = {server_recv, alias_send, NULL, NULL, NULL};
static const lwq_sim_node_ops client_alias_ops = {client_recv, alias_send, NULL, NULL, NULL};

static const lwq_sim_link_config LINK = {
    .delay = 10 * LWQ_MS, .rate = 20000000, .queue_packets = 100, .ecn = LWQ_SIM_ECN_PASS};

static void mworld_init(mworld *w, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    conn_node_init(&w->n, seed, "conn_migration");
    w->pref_node = w->client2_node = -1;
}

/* Nodes: 0 client, 1 server, then the server's preferred address and a second client address. */
static void mworld_start(mworld *w, int preferred, int client2, size_t streams, size_t bytes)
{
    conn_node *n = &w->n;
    const char *why;
    if (preferred) {
        n->p.scfg.preferred_v4.ss_family = AF_INET;
        lwq_sim_addr_to_sockaddr(PREF, &n->p.scfg.preferred_v4);
    }
    ck_assert_int_eq(lwq_context_new(&n->p.cctx, &n->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&n->p.sctx, &n->p.scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&n->p.srv, n->p.sctx, NULL), 0);
    n->cpath = sim_path(CONN_NODE_CLIENT, CONN_NODE_SERVER);
    ck_assert_int_eq(lwq_sim_add_node(n->sim, CONN_NODE_CLIENT, &client_ops, w), 0);
    w->server_node = lwq_sim_add_node(n->sim, CONN_NODE_SERVER, &server_ops, w);
    ck_assert_int_eq(w->server_node, 1);
    ck_assert_int_ge(lwq_sim_add_link(n->sim, 0, 1, &LINK), 0);
    ck_assert_int_ge(lwq_sim_add_link(n->sim, 1, 0, &LINK), 0);
    if (preferred) {
        w->pref_node = lwq_sim_add_node(n->sim, PREF, &server_alias_ops, w);
        ck_assert_int_ge(lwq_sim_add_link(n->sim, 0, w->pref_node, &LINK), 0);
    }
    if (client2) {
        w->client2_node = lwq_sim_add_node(n->sim, CLIENT2, &client_alias_ops, w);
        ck_assert_int_ge(lwq_sim_add_link(n->sim, 1, w->client2_node, &LINK), 0);
    }
    ck_assert_int_eq(lwq_conn_client_new(&n->p.client, n->p.cctx, &n->cpath, NULL, 0, NULL, 0, lwq_sim_now(n->sim)),
                     0);
    echo_init(&w->e, &n->p, streams, bytes);
}

static int echo_done(void *ud)
{
    mworld *w = ud;
    return w->e.done == w->e.n;
}

static int confirmed(void *ud)
{
    mworld *w = ud;
    return w->n.p.server && w->n.p.client->handshake_confirmed && w->n.p.server->handshake_confirmed;
}

static uint16_t remote_port(const lwq_path *p)
{
    return ntohs(((const struct sockaddr_in *)&p->remote)->sin_port);
}

static uint8_t remote_host(const lwq_path *p)
{
    return (uint8_t)ntohl(((const struct sockaddr_in *)&p->remote)->sin_addr.s_addr);
}

static uint16_t local_port(const lwq_path *p)
{
    return ntohs(((const struct sockaddr_in *)&p->local)->sin_port);
}

/* NAT rebinding (§9.3): the client's source changes under it at `at` (and again at `at2`). */
static void run_rebind(uint64_t seed, lwq_sim_addr outside, lwq_sim_addr outside2, lwq_tstamp at, lwq_tstamp at2)
{
    mworld w;
    mworld_init(&w, seed);
    mworld_start(&w, 0, 0, 2, 400000);
    ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, outside, at), 0);
    if (at2)
        ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, outside2, at2), 0);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    lwq_conn_stats ss, cs;
    lwq_conn_stats_get(w.n.p.server, &ss);
    lwq_conn_stats_get(w.n.p.client, &cs);
    unsigned moves = at2 ? 2 : 1;
    ck_assert_uint_eq(ss.path_changes, moves);
    ck_assert_uint_ge(ss.path_challenges_sent, moves);
    /* each move validated, and at 1200 bytes: a second time when the budget kept the first small
     * (§8.2.1) */
    ck_assert_uint_ge(ss.paths_validated, moves);
    ck_assert_uint_le(ss.paths_validated, 2 * moves);
    ck_assert(!w.n.p.server->paths.probe.active);
    ck_assert(w.n.p.server->paths.probe.padded);
    ck_assert_uint_eq(cs.path_changes, 0); /* the client never knew */
    lwq_sim_addr last = at2 ? outside2 : outside;
    ck_assert_uint_eq(remote_port(&w.n.p.server->path), last.port);
    ck_assert_uint_eq(remote_host(&w.n.p.server->path), last.host);
    ck_assert(w.n.p.server->paths.validated);
    /* the NAT dropped what still went to the old binding; the transfer survived it */
    conn_node_free(&w.n);
}

START_TEST(test_rebind_port)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_rebind(seed, (lwq_sim_addr){1, 6000}, (lwq_sim_addr){0, 0}, 150 * LWQ_MS, 0);
}
END_TEST

START_TEST(test_rebind_port_twice)
{
    run_rebind(7, (lwq_sim_addr){1, 6000}, (lwq_sim_addr){1, 6001}, 150 * LWQ_MS, 350 * LWQ_MS);
}
END_TEST

/* A new address (not only a port): congestion control and RTT restart (§9.4). */
START_TEST(test_rebind_address)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_rebind(seed, (lwq_sim_addr){3, 6000}, (lwq_sim_addr){0, 0}, 150 * LWQ_MS, 0);
}
END_TEST

/* The same with 3% loss each way and some reordering: lost challenges and responses are resent,
 * reordered packets from the old address do not move the server back (§9.3: only a new largest
 * packet number counts), and a client that hears nothing while it awaits a response PINGs, so the
 * server learns the new binding even when all its packets went to the old one (seed 6 did). */
START_TEST(test_rebind_under_loss)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        lwq_sim_link_config lossy = LINK;
        lossy.loss = 0.03;
        lossy.reorder = 0.05;
        lossy.reorder_delay = 5 * LWQ_MS;
        mworld w;
        mworld_init(&w, seed);
        conn_node *n = &w.n;
        const char *why;
        ck_assert_int_eq(lwq_context_new(&n->p.cctx, &n->p.ccfg, &why), 0);
        ck_assert_int_eq(lwq_context_new(&n->p.sctx, &n->p.scfg, &why), 0);
        ck_assert_int_eq(lwq_server_new(&n->p.srv, n->p.sctx, NULL), 0);
        n->cpath = sim_path(CONN_NODE_CLIENT, CONN_NODE_SERVER);
        ck_assert_int_eq(lwq_sim_add_node(n->sim, CONN_NODE_CLIENT, &client_ops, &w), 0);
        ck_assert_int_eq(lwq_sim_add_node(n->sim, CONN_NODE_SERVER, &server_ops, &w), 1);
        ck_assert_int_ge(lwq_sim_add_link(n->sim, 0, 1, &lossy), 0);
        ck_assert_int_ge(lwq_sim_add_link(n->sim, 1, 0, &lossy), 0);
        ck_assert_int_eq(
            lwq_conn_client_new(&n->p.client, n->p.cctx, &n->cpath, NULL, 0, NULL, 0, lwq_sim_now(n->sim)), 0);
        echo_init(&w.e, &n->p, 2, 300000);
        ck_assert_int_eq(lwq_sim_rebind(n->sim, 0, (lwq_sim_addr){1, 6000}, 200 * LWQ_MS), 0);
        ck_assert_int_eq(lwq_sim_rebind(n->sim, 0, (lwq_sim_addr){5, 6001}, 600 * LWQ_MS), 0);
        int rc = lwq_sim_run(n->sim, LWQ_TSTAMP_INF, echo_done, &w);
        ck_assert_msg(rc == 0, "seed %llu: got %zu of %zu, server at %u:%u after %llu moves",
                      (unsigned long long)seed, w.e.cs[0].got, w.e.cs[0].total, remote_host(&n->p.server->path),
                      remote_port(&n->p.server->path), (unsigned long long)n->p.server->stats.path_changes);
        echo_check(&w.e);
        lwq_conn *s = n->p.server;
        ck_assert_uint_eq(remote_port(&s->path), 6001);
        ck_assert_uint_eq(remote_host(&s->path), 5);
        ck_assert(s->paths.validated);
        ck_assert_uint_ge(s->stats.path_changes, 2);
        conn_node_free(&w.n);
    }
}
END_TEST

static int server_moved(void *ud)
{
    mworld *w = ud;
    return w->n.p.server && w->n.p.server->stats.path_changes > 0;
}

START_TEST(test_rebind_resets_congestion_only_on_address_change)
{
    for (int addr = 0; addr < 2; addr++) {
        mworld w;
        mworld_init(&w, 11);
        mworld_start(&w, 0, 0, 1, 2000000);
        ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, (lwq_sim_addr){(uint8_t)(addr ? 4 : 1), 6000}, 300 * LWQ_MS), 0);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, 299 * LWQ_MS, NULL, NULL), 0);
        uint64_t iw = lwq_cc_initial_window(LWQ_CONN_MDS);
        ck_assert_uint_gt(w.n.p.server->rec.cc.cwnd, iw); /* grown in slow start */
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, server_moved, &w), 0);
        if (addr) {
            ck_assert_uint_eq(w.n.p.server->rec.cc.cwnd, iw);
            ck_assert(!w.n.p.server->rec.rtt.has_sample);
        } else {
            ck_assert_uint_gt(w.n.p.server->rec.cc.cwnd, iw);
            ck_assert(w.n.p.server->rec.rtt.has_sample);
        }
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
        echo_check(&w.e);
        conn_node_free(&w.n);
    }
}
END_TEST

/* While the new path is unvalidated (its PATH_RESPONSEs lost), the server sends at most 3x what
 * arrived on it; then validation succeeds and the transfer completes. */
START_TEST(test_unvalidated_path_amplification)
{
    mworld w;
    mworld_init(&w, 5);
    mworld_start(&w, 0, 0, 1, 300000);
    ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, (lwq_sim_addr){1, 6000}, 150 * LWQ_MS), 0);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, server_moved, &w), 0);
    /* client to server: nothing more for 300 ms, so the answer to the first challenge is lost and
     * only what already arrived on the new path counts for it */
    lwq_tstamp t = lwq_sim_now(w.n.sim);
    lwq_sim_link *c2s = lwq_sim_link_get(w.n.sim, 0);
    c2s->cfg.blackout[0].from = t;
    c2s->cfg.blackout[0].until = t + 300 * LWQ_MS;
    c2s->cfg.blackouts = 1;
    lwq_conn *s = w.n.p.server;
    ck_assert(!s->paths.validated);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, t + 290 * LWQ_MS, NULL, NULL), 0);
    ck_assert(!s->paths.validated);
    ck_assert_uint_gt(s->paths.tx, 0);
    ck_assert_uint_le(s->paths.tx, 3 * s->paths.rx);
    ck_assert_uint_lt(s->paths.rx, 3000); /* the little that reached the new path */
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert(s->paths.validated);
    ck_assert_uint_ge(s->stats.path_challenges_sent, 2); /* resent after the loss */
    ck_assert_uint_ge(s->stats.paths_validated, 1);
    ck_assert(s->paths.probe.padded);
    conn_node_free(&w.n);
}
END_TEST

/* §9.6: the client validates the server's preferred address after confirmation and moves there
 * with the preferred_address CID; the server validates the client on the new path. */
START_TEST(test_preferred_address)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        mworld w;
        mworld_init(&w, seed);
        mworld_start(&w, 1, 0, 2, 300000);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, confirmed, &w), 0);
        lwq_cid first = *lwq_cids_dcid(w.n.p.client);
        ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
        echo_check(&w.e);
        lwq_conn *c = w.n.p.client, *s = w.n.p.server;
        ck_assert_uint_eq(remote_port(&c->path), PREF.port);
        ck_assert_uint_eq(local_port(&s->path), PREF.port);
        ck_assert_uint_eq(c->stats.path_changes, 1);
        ck_assert_uint_eq(c->stats.paths_validated, 1);
        ck_assert_uint_eq(s->stats.path_changes, 1);
        ck_assert_uint_eq(s->stats.paths_validated, 1);
        /* the preferred_address CID (sequence 1) is in use, the first one retired */
        ck_assert_uint_eq(c->cids.peer[c->cids.cur].seq, 1);
        ck_assert(!lwq_cid_eq(lwq_cids_dcid(c), first.id, first.len));
        ck_assert(lwq_cid_eq(lwq_cids_dcid(c), c->peer_tp.preferred_address.cid.id,
                             c->peer_tp.preferred_address.cid.len));
        ck_assert(!lwq_cids_is_local(s, first.id, first.len));
        conn_node_free(&w.n);
    }
}
END_TEST

START_TEST(test_preferred_address_ignored)
{
    mworld w;
    mworld_init(&w, 2);
    w.n.p.ccfg.no_preferred_address = 1;
    mworld_start(&w, 1, 0, 1, 100000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert_uint_eq(remote_port(&w.n.p.client->path), CONN_NODE_SERVER.port);
    ck_assert_uint_eq(w.n.p.client->stats.path_changes, 0);
    ck_assert(w.n.p.client->peer_tp.has_preferred_address);
    conn_node_free(&w.n);
}
END_TEST

static int client_can_migrate(void *ud)
{
    mworld *w = ud;
    return confirmed(ud) && lwq_cids_spare(w->n.p.client) && w->e.cs[0].got > 50000;
}

/* §9.2: the client moves to a second local address mid-transfer: probe, switch, new CID. */
START_TEST(test_client_active_migration)
{
    mworld w;
    mworld_init(&w, 3);
    mworld_start(&w, 0, 1, 1, 600000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, client_can_migrate, &w), 0);
    lwq_conn *c = w.n.p.client;
    uint64_t seq = c->cids.peer[c->cids.cur].seq;
    lwq_path to = sim_path(CLIENT2, CONN_NODE_SERVER);
    ck_assert_int_eq(lwq_conn_migrate(c, &to), 0);
    ck_assert_int_eq(lwq_conn_migrate(c, &to), LWQ_ERR_STATE); /* one at a time */
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    lwq_conn *s = w.n.p.server;
    ck_assert_uint_eq(local_port(&c->path), CLIENT2.port);
    ck_assert_uint_eq(remote_port(&s->path), CLIENT2.port);
    ck_assert_uint_gt(c->cids.peer[c->cids.cur].seq, seq);
    ck_assert_uint_eq(c->stats.path_changes, 1);
    ck_assert_uint_eq(s->stats.path_changes, 1);
    ck_assert_uint_eq(s->stats.paths_validated, 1);
    /* the server followed the client to a new CID of its own (§9.5) */
    ck_assert_uint_gt(s->cids.peer[s->cids.cur].seq, 0);
    conn_node_free(&w.n);
}
END_TEST

/* §9: a server that sent disable_active_migration drops packets from a new address; the client
 * refuses to migrate actively. */
START_TEST(test_migration_refused)
{
    mworld w;
    mworld_init(&w, 4);
    w.n.p.scfg.disable_active_migration = 1;
    mworld_start(&w, 0, 1, 1, 200000);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, client_can_migrate, &w), 0);
    lwq_conn *c = w.n.p.client, *s = w.n.p.server;
    ck_assert(c->peer_tp.disable_active_migration);
    lwq_path to = sim_path(CLIENT2, CONN_NODE_SERVER);
    ck_assert_int_eq(lwq_conn_migrate(c, &to), LWQ_ERR_UNSUPPORTED);
    /* the same from the network: a rebinding is not followed */
    uint64_t dropped = s->stats.packets_dropped;
    ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, (lwq_sim_addr){1, 6000}, lwq_sim_now(w.n.sim)), 0);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, lwq_sim_now(w.n.sim) + 200 * LWQ_MS, NULL, NULL), 0);
    ck_assert_uint_eq(s->stats.path_changes, 0);
    ck_assert_uint_eq(s->stats.path_challenges_sent, 0);
    ck_assert_uint_gt(s->stats.packets_dropped, dropped);
    ck_assert_uint_eq(remote_port(&s->path), CONN_NODE_CLIENT.port);
    conn_node_free(&w.n);
}
END_TEST

/* Before the handshake is confirmed a new address is not followed (§9). */
START_TEST(test_no_migration_before_confirmation)
{
    mworld w;
    mworld_init(&w, 6);
    mworld_start(&w, 0, 0, 1, 1000);
    ck_assert_int_eq(lwq_conn_migrate(w.n.p.client, &w.n.cpath), LWQ_ERR_STATE);
    /* rebound while the server's first flight is on its way: the handshake stalls on that path */
    ck_assert_int_eq(lwq_sim_rebind(w.n.sim, 0, (lwq_sim_addr){1, 6000}, 12 * LWQ_MS), 0);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, 3 * LWQ_SEC, NULL, NULL), 0);
    ck_assert_ptr_nonnull(w.n.p.server);
    ck_assert(!w.n.p.server->handshake_confirmed);
    ck_assert_uint_eq(w.n.p.server->stats.path_changes, 0);
    ck_assert_uint_gt(w.n.p.server->stats.packets_dropped, 0);
    conn_node_free(&w.n);
}
END_TEST

Suite *suite_conn_migration(void)
{
    Suite *s = suite_create("conn_migration");
    TCase *tc = lwq_test_tcase("conn_migration");
    tcase_add_test(tc, test_rebind_port);
    tcase_add_test(tc, test_rebind_port_twice);
    tcase_add_test(tc, test_rebind_address);
    tcase_add_test(tc, test_rebind_under_loss);
    tcase_add_test(tc, test_rebind_resets_congestion_only_on_address_change);
    tcase_add_test(tc, test_unvalidated_path_amplification);
    tcase_add_test(tc, test_preferred_address);
    tcase_add_test(tc, test_preferred_address_ignored);
    tcase_add_test(tc, test_client_active_migration);
    tcase_add_test(tc, test_migration_refused);
    tcase_add_test(tc, test_no_migration_before_confirmation);
    suite_add_tcase(s, tc);
    return s;
}
