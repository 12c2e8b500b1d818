/* Resumption, 0-RTT and NEW_TOKEN over the simulated network: a first connection leaves a session
 * ticket and a token, a second one (same client address, same server) writes its requests before
 * the handshake. Every request byte is checked at the server, exactly once, under loss,
 * reordering, duplication and corruption, with 0-RTT accepted or rejected, with Retry. */
#include "sim/conn_node.h"
#include "quic/token.h"

#define NSTREAMS 24
#define STREAM_LEN 700

static const uint8_t ticket_key[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};

typedef struct world {
    conn_node n;
    uint8_t *blob, *token;
    size_t blob_len, token_len;
    int second;           /* the resumed connection is running */
    size_t got[NSTREAMS]; /* request bytes the server read, each checked */
    int fin[NSTREAMS];
    int early_event; /* -1 none, else accepted */
    int new_tokens;
} world;

static uint8_t req_byte(int i, size_t off)
{
    return (uint8_t)(i * 31 + off * 7 + (off >> 8));
}

/* The server reads what arrived and checks it byte by byte; the client keeps its events. */
static void pump(void *app, int server)
{
    world *w = app;
    lwq_conn *c = server ? w->n.p.server : w->n.p.client;
    if (!c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev)) {
        if (server || !w->second) {
            if (ev.type == LWQ_EV_SESSION_TICKET && !server) {
                free(w->blob);
                w->blob = malloc(ev.len);
                memcpy(w->blob, ev.data, ev.len);
                w->blob_len = ev.len;
            } else if (ev.type == LWQ_EV_NEW_TOKEN && !server) {
                free(w->token);
                w->token = malloc(ev.len);
                memcpy(w->token, ev.data, ev.len);
                w->token_len = ev.len;
                w->new_tokens++;
            }
            continue;
        }
        if (ev.type == LWQ_EV_EARLY_DATA) {
            ck_assert_int_eq(w->early_event, -1);
            w->early_event = ev.accepted;
        }
    }
    if (!server || !w->second)
        return;
    for (int i = 0; i < NSTREAMS; i++) {
        uint8_t buf[2048];
        int f = 0;
        ssize_t r;
        while (!w->fin[i] && (r = lwq_stream_read(c, 4 * i, buf, sizeof(buf), &f)) >= 0) {
            for (ssize_t k = 0; k < r; k++)
                ck_assert_uint_eq(buf[k], req_byte(i, w->got[i] + (size_t)k));
            w->got[i] += (size_t)r;
            ck_assert_uint_le(w->got[i], STREAM_LEN);
            if (f) {
                ck_assert_uint_eq(w->got[i], STREAM_LEN);
                w->fin[i] = 1;
            }
            if (!r)
                break;
        }
    }
}

static int first_done(void *ud)
{
    world *w = ud;
    return w->n.p.server && lwq_conn_is_established(w->n.p.client) && lwq_conn_is_established(w->n.p.server) &&
           w->blob && w->token;
}

static int second_done(void *ud)
{
    world *w = ud;
    if (!lwq_conn_is_established(w->n.p.client) || w->early_event < 0)
        return 0;
    for (int i = 0; i < NSTREAMS; i++)
        if (!w->fin[i])
            return 0;
    return 1;
}

static void world_start(world *w, uint64_t seed, const lwq_server_limits *lim, const lwq_sim_link_config *l)
{
    memset(w, 0, sizeof(*w));
    conn_node_init(&w->n, seed, "sim_resume");
    w->early_event = -1;
    w->n.pump = pump;
    w->n.app = w;
    w->n.p.ccfg.enable_0rtt = w->n.p.scfg.enable_0rtt = 1;
    w->n.p.scfg.ticket_key = ticket_key;
    conn_node_start(&w->n, lim, l, l);
    ck_assert_int_eq(lwq_sim_run(w->n.sim, LWQ_TSTAMP_INF, first_done, w), 0);
    ck_assert(!lwq_conn_resumed(w->n.p.client));
    ck_assert_uint_eq(w->token_len, LWQ_NEW_TOKEN_LEN);
}

/* The server forgets the first connection; a new client resumes and writes every request at
 * once. new_server: a server with a new context from p.scfg (its ticket key may differ). */
static void resume(world *w, int new_server, int use_token)
{
    pair *p = &w->n.p;
    lwq_server_remove(p->srv, p->server);
    p->server = NULL;
    if (new_server) {
        const char *why;
        lwq_server_limits lim = {.retry = w->n.retries_sent > 0};
        lwq_server_del(p->srv);
        lwq_context_del(p->sctx);
        ck_assert_int_eq(lwq_context_new(&p->sctx, &p->scfg, &why), 0);
        ck_assert_int_eq(lwq_server_new(&p->srv, p->sctx, &lim), 0);
    }
    lwq_conn_del(p->client);
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &w->n.cpath, w->blob, w->blob_len,
                                         use_token ? w->token : NULL, use_token ? w->token_len : 0,
                                         lwq_sim_now(w->n.sim)),
                     0);
    w->second = 1;
    for (int i = 0; i < NSTREAMS; i++) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(p->client, 1, &id), 0);
        uint8_t d[STREAM_LEN];
        for (size_t k = 0; k < STREAM_LEN; k++)
            d[k] = req_byte(i, k);
        ck_assert_int_eq(lwq_stream_write(p->client, id, d, sizeof(d), 1), (ssize_t)sizeof(d));
    }
    ck_assert_int_eq(lwq_sim_run(w->n.sim, LWQ_TSTAMP_INF, second_done, w), 0);
    ck_assert(lwq_conn_resumed(p->client) || new_server);
}

static void world_free(world *w)
{
    free(w->blob);
    free(w->token);
    conn_node_free(&w->n);
}

static const lwq_sim_link_config clean = {.delay = 20 * LWQ_MS, .rate = 20000000, .queue_packets = 200};
static const lwq_sim_link_config hostile = {.delay = 15 * LWQ_MS,
                                            .jitter = 3 * LWQ_MS,
                                            .rate = 20000000,
                                            .queue_packets = 200,
                                            .loss = 0.10,
                                            .reorder = 0.10,
                                            .reorder_delay = 10 * LWQ_MS,
                                            .duplicate = 0.10,
                                            .corrupt = 0.02};

/* On a clean link the first flight fills the initial congestion window (10 packets, RFC 9002 §7.2)
 * with 0-RTT, the rest follows in 1-RTT, and no stream byte is sent twice. */
START_TEST(test_sim_0rtt_clean)
{
    world w;
    world_start(&w, 1, NULL, &clean);
    resume(&w, 0, 0);
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(w.n.p.client, &cs);
    lwq_conn_stats_get(w.n.p.server, &ss);
    ck_assert_int_eq(w.early_event, 1);
    ck_assert_uint_ge(cs.packets_0rtt, 9);
    ck_assert_uint_eq(ss.packets_0rtt, cs.packets_0rtt);
    ck_assert_uint_eq(cs.stream_bytes_sent, NSTREAMS * STREAM_LEN);
    world_free(&w);
}
END_TEST

/* Hostile links: lost, reordered, duplicated, corrupted 0-RTT packets; the data arrives intact. */
START_TEST(test_sim_0rtt_hostile)
{
    for (uint64_t seed = 10; seed < 20; seed++) {
        world w;
        world_start(&w, seed, NULL, &hostile);
        resume(&w, 0, 0);
        ck_assert_int_eq(w.early_event, 1);
        ck_assert(w.n.p.server->early.packets > 0);
        world_free(&w);
    }
}
END_TEST

/* The server lost its ticket key: a full handshake, 0-RTT rejected, the data resent in 1-RTT. */
START_TEST(test_sim_0rtt_rejected)
{
    for (uint64_t seed = 20; seed < 26; seed++) {
        world w;
        world_start(&w, seed, NULL, seed == 20 ? &clean : &hostile);
        w.n.p.scfg.ticket_key = NULL;
        resume(&w, 1, 0);
        ck_assert_int_eq(w.early_event, 0);
        ck_assert(!lwq_conn_resumed(w.n.p.client));
        ck_assert_uint_eq(w.n.p.server->early.packets, 0);
        world_free(&w);
    }
}
END_TEST

/* With Retry on: the first connection is retried and gets a NEW_TOKEN; the second one presents it,
 * is not retried, and its 0-RTT is accepted. Without the token it is retried again and its 0-RTT
 * from before the Retry goes again after it. */
START_TEST(test_sim_token_and_retry)
{
    lwq_server_limits lim = {.retry = 1};
    for (uint64_t seed = 30; seed < 34; seed++) {
        world w;
        world_start(&w, seed, &lim, seed == 30 ? &clean : &hostile);
        unsigned retries = w.n.retries_sent;
        ck_assert_uint_ge(retries, 1);
        resume(&w, 0, 1);
        ck_assert_uint_eq(w.n.retries_sent, retries);
        ck_assert(!w.n.p.client->retried);
        ck_assert_int_eq(w.early_event, 1);
        world_free(&w);
    }
    for (uint64_t seed = 34; seed < 38; seed++) {
        world w;
        world_start(&w, seed, &lim, seed == 34 ? &clean : &hostile);
        unsigned retries = w.n.retries_sent;
        resume(&w, 0, 0);
        ck_assert_uint_gt(w.n.retries_sent, retries);
        ck_assert(w.n.p.client->retried);
        ck_assert_int_eq(w.early_event, 1);
        world_free(&w);
    }
}
END_TEST

Suite *suite_sim_resume(void)
{
    Suite *s = suite_create("sim_resume");
    TCase *tc = lwq_test_tcase("resume");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sim_0rtt_clean);
    tcase_add_test(tc, test_sim_0rtt_hostile);
    tcase_add_test(tc, test_sim_0rtt_rejected);
    tcase_add_test(tc, test_sim_token_and_retry);
    suite_add_tcase(s, tc);
    return s;
}
