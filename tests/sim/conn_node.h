/* A client lwq_conn and an lwq_server as two simulator nodes: the adapter every connection
 * scenario shares. A scenario embeds a conn_node, may adjust p.ccfg / p.scfg between
 * conn_node_init() and conn_node_start(), and sets `pump` to run its application before each send. */
#ifndef LWQ_TEST_SIM_CONN_NODE_H
#define LWQ_TEST_SIM_CONN_NODE_H

#include "sim/sim.h"
#include "unit/conn_pair.h"

static const lwq_sim_addr CONN_NODE_CLIENT = {1, 5000}, CONN_NODE_SERVER = {2, 443};

typedef struct conn_node {
    pair p;
    lwq_sim *sim;
    lwq_path cpath;
    void (*pump)(void *app, int server); /* called before each lwq_conn_send */
    void *app;
    int server_lost;       /* connections the server creates from now on are not adopted */
    unsigned retries_sent; /* Retry packets that left the server */
} conn_node;

static inline int conn_node_client_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n,
                                        uint8_t ecn, lwq_tstamp now)
{
    conn_node *w = ud;
    (void)from, (void)to;
    int rv = lwq_conn_recv(w->p.client, &w->cpath, d, n, ecn, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static inline ssize_t conn_node_client_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to,
                                            uint8_t *ecn, lwq_tstamp now)
{
    conn_node *w = ud;
    if (w->pump)
        w->pump(w->app, 0);
    size_t seg;
    lwq_path path;
    *from = CONN_NODE_CLIENT;
    *to = CONN_NODE_SERVER;
    return lwq_conn_send(w->p.client, &path, buf, cap, 1, &seg, ecn, now);
}

static inline lwq_tstamp conn_node_client_next(void *ud)
{
    conn_node *w = ud;
    return lwq_conn_next_timeout(w->p.client);
}

static inline int conn_node_client_timeout(void *ud, lwq_tstamp now)
{
    conn_node *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.client, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static inline const char *conn_node_client_check(void *ud, lwq_tstamp now)
{
    conn_node *w = ud;
    return lwq_conn_check(w->p.client, now);
}

static inline int conn_node_server_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n,
                                        uint8_t ecn, lwq_tstamp now)
{
    conn_node *w = ud;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    path.remote_len = lwq_sim_addr_to_sockaddr(from, &path.remote);
    path.local_len = lwq_sim_addr_to_sockaddr(to, &path.local);
    lwq_conn *c = NULL;
    int rv = lwq_server_recv(w->p.srv, &path, d, n, ecn, now, &c, NULL);
    if (c && !w->p.server && !w->server_lost)
        w->p.server = c;
    return rv;
}

static inline ssize_t conn_node_server_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to,
                                            uint8_t *ecn, lwq_tstamp now)
{
    conn_node *w = ud;
    lwq_path path;
    *from = CONN_NODE_SERVER;
    *to = CONN_NODE_CLIENT;
    ssize_t n = lwq_server_send(w->p.srv, &path, buf, cap, now);
    if (n > 0 && (buf[0] & 0xf0) == 0xf0)
        w->retries_sent++;
    if (n || !w->p.server)
        return n;
    if (w->pump)
        w->pump(w->app, 1);
    size_t seg;
    return lwq_conn_send(w->p.server, &path, buf, cap, 1, &seg, ecn, now);
}

static inline lwq_tstamp conn_node_server_next(void *ud)
{
    conn_node *w = ud;
    return w->p.server ? lwq_conn_next_timeout(w->p.server) : LWQ_TSTAMP_INF;
}

static inline int conn_node_server_timeout(void *ud, lwq_tstamp now)
{
    conn_node *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.server, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static inline const char *conn_node_server_check(void *ud, lwq_tstamp now)
{
    conn_node *w = ud;
    return w->p.server ? lwq_conn_check(w->p.server, now) : NULL;
}

static const lwq_sim_node_ops conn_node_client_ops = {conn_node_client_recv, conn_node_client_send,
                                                      conn_node_client_next, conn_node_client_timeout,
                                                      conn_node_client_check};
static const lwq_sim_node_ops conn_node_server_ops = {conn_node_server_recv, conn_node_server_send,
                                                      conn_node_server_next, conn_node_server_timeout,
                                                      conn_node_server_check};

/* The simulator first, so that LWQ_SIM_SEED also pins the connections' randomness. */
static inline void conn_node_init(conn_node *w, uint64_t seed, const char *replay_args)
{
    memset(w, 0, sizeof(*w));
    lwq_sim_config cfg = {.seed = seed, .replay_args = replay_args};
    w->sim = lwq_sim_new(&cfg, lwq_test_alloc);
    ck_assert_ptr_nonnull(w->sim);
    pair_init(&w->p, lwq_sim_seed(w->sim));
}

/* Contexts from p.ccfg / p.scfg, the server (limits may be NULL), both links, and the client. */
static inline void conn_node_start(conn_node *w, const lwq_server_limits *limits, const lwq_sim_link_config *c2s,
                                   const lwq_sim_link_config *s2c)
{
    const char *why;
    ck_assert_int_eq(lwq_context_new(&w->p.cctx, &w->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&w->p.sctx, &w->p.scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&w->p.srv, w->p.sctx, limits), 0);
    w->cpath.remote_len = lwq_sim_addr_to_sockaddr(CONN_NODE_SERVER, &w->cpath.remote);
    w->cpath.local_len = lwq_sim_addr_to_sockaddr(CONN_NODE_CLIENT, &w->cpath.local);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, CONN_NODE_CLIENT, &conn_node_client_ops, w), 0);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, CONN_NODE_SERVER, &conn_node_server_ops, w), 1);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 0, 1, c2s), 0);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 1, 0, s2c), 0);
    ck_assert_int_eq(lwq_conn_client_new(&w->p.client, w->p.cctx, &w->cpath, NULL, 0, NULL, 0, lwq_sim_now(w->sim)), 0);
}

static inline void conn_node_free(conn_node *w)
{
    lwq_sim_del(w->sim);
    lwq_conn_del(w->p.client);
    lwq_server_del(w->p.srv);
    lwq_context_del(w->p.cctx);
    lwq_context_del(w->p.sctx);
}

#endif
