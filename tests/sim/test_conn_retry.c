/* Handshakes through a Retry (RFC 9000 §8.1.2) over the simulated network: loss, reordering,
 * duplication and corruption hit the Retry and the Initials around it; the echo checks every byte
 * and the bookkeeping is checked at every step. */
#include "sim/sim.h"
#include "unit/conn_echo.h"

static const lwq_sim_addr CLIENT = {1, 5000}, SERVER = {2, 443};

typedef struct world {
    pair p;
    echo e;
    lwq_sim *sim;
    lwq_path cpath;
    unsigned retries_sent; /* Retry packets that left the server */
} world;

static int client_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_recv(w->p.client, &w->cpath, d, n, ecn, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static ssize_t client_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    world *w = ud;
    if (w->e.n)
        echo_client(&w->e);
    size_t seg;
    lwq_path path;
    *from = CLIENT;
    *to = SERVER;
    return lwq_conn_send(w->p.client, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp client_next(void *ud)
{
    world *w = ud;
    return lwq_conn_next_timeout(w->p.client);
}

static int client_timeout(void *ud, lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.client, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *client_check(void *ud, lwq_tstamp now)
{
    world *w = ud;
    return lwq_conn_check(w->p.client, now);
}

static int server_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                       lwq_tstamp now)
{
    world *w = ud;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    path.remote_len = lwq_sim_addr_to_sockaddr(from, &path.remote);
    path.local_len = lwq_sim_addr_to_sockaddr(to, &path.local);
    lwq_conn *c = NULL;
    int rv = lwq_server_recv(w->p.srv, &path, d, n, ecn, now, &c, NULL);
    if (c && !w->p.server)
        w->p.server = c;
    return rv;
}

static ssize_t server_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                           lwq_tstamp now)
{
    world *w = ud;
    lwq_path path;
    *from = SERVER;
    *to = CLIENT;
    ssize_t n = lwq_server_send(w->p.srv, &path, buf, cap, now);
    if (n > 0 && (buf[0] & 0xf0) == 0xf0)
        w->retries_sent++;
    if (n || !w->p.server)
        return n;
    if (w->e.n)
        echo_server(&w->e);
    size_t seg;
    return lwq_conn_send(w->p.server, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp server_next(void *ud)
{
    world *w = ud;
    return w->p.server ? lwq_conn_next_timeout(w->p.server) : LWQ_TSTAMP_INF;
}

static int server_timeout(void *ud, lwq_tstamp now)
{
    world *w = ud;
    int rv = lwq_conn_handle_timeout(w->p.server, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *server_check(void *ud, lwq_tstamp now)
{
    world *w = ud;
    return w->p.server ? lwq_conn_check(w->p.server, now) : NULL;
}

static const lwq_sim_node_ops client_ops = {client_recv, client_send, client_next, client_timeout, client_check};
static const lwq_sim_node_ops server_ops = {server_recv, server_send, server_next, server_timeout, server_check};

static void world_start(world *w, uint64_t seed, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c)
{
    memset(w, 0, sizeof(*w));
    pair_init(&w->p, seed);
    const char *why;
    ck_assert_int_eq(lwq_context_new(&w->p.cctx, &w->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&w->p.sctx, &w->p.scfg, &why), 0);
    lwq_server_limits lim = {.retry = 1};
    ck_assert_int_eq(lwq_server_new(&w->p.srv, w->p.sctx, &lim), 0);
    w->cpath.remote_len = lwq_sim_addr_to_sockaddr(SERVER, &w->cpath.remote);
    w->cpath.local_len = lwq_sim_addr_to_sockaddr(CLIENT, &w->cpath.local);
    lwq_sim_config cfg = {.seed = seed, .quiet = 0, .replay_args = "sim_retry"};
    w->sim = lwq_sim_new(&cfg, lwq_test_alloc);
    ck_assert_ptr_nonnull(w->sim);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, CLIENT, &client_ops, w), 0);
    ck_assert_int_eq(lwq_sim_add_node(w->sim, SERVER, &server_ops, w), 1);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 0, 1, c2s), 0);
    ck_assert_int_ge(lwq_sim_add_link(w->sim, 1, 0, s2c), 0);
    ck_assert_int_eq(lwq_conn_client_new(&w->p.client, w->p.cctx, &w->cpath, NULL, 0, NULL, 0, lwq_sim_now(w->sim)), 0);
}

static void world_free(world *w)
{
    lwq_sim_del(w->sim);
    lwq_conn_del(w->p.client);
    lwq_server_del(w->p.srv);
    lwq_context_del(w->p.cctx);
    lwq_context_del(w->p.sctx);
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
    echo_init(&w.e, &w.p, 2, 100000);
    ck_assert_int_eq(lwq_sim_run(w.sim, LWQ_TSTAMP_INF, echo_done, &w), 0);
    echo_check(&w.e);
    ck_assert(w.p.client->retried);
    ck_assert(w.p.server->retried && w.p.server->local_tp.has_retry_scid);
    ck_assert_uint_ge(w.retries_sent, min_retries);
    if (getenv("SIM_RETRY_VERBOSE"))
        fprintf(stderr, "seed %llu: %u Retry sent, handshake %.1f ms\n", (unsigned long long)seed, w.retries_sent,
                (double)w.p.client->stats.handshake_time / LWQ_MS);
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
