/* Every allocation of a whole connection failing in turn: contexts, server, client, the handshake
 * and a transfer both ways. Each run must finish, return LWQ_ERR_NOMEM from an entry point, or end
 * in a clean close; never crash, stall or leak (the counting allocator is checked after each run). */
#include <stdio.h>
#include "conn_pair.h"

#define XFER 24000

typedef struct arun {
    pair p;
    int nomem;      /* an entry point returned LWQ_ERR_NOMEM */
    int64_t id;     /* the client's stream, -1 before it is open */
    size_t c_sent, c_got, s_got, s_sent;
    int c_fin, s_fin_in, s_fin_out, bad;
} arun;

enum { RUN_COMPLETED, RUN_NOMEM, RUN_CLOSED, RUN_SETUP_FAILED };

static uint8_t pat(size_t i, int dir)
{
    return (uint8_t)(i * 31 + (i >> 8) + (size_t)dir * 101);
}

static void note(arun *r, long rv)
{
    if (rv == LWQ_ERR_NOMEM)
        r->nomem = 1;
}

static void app_client(arun *r)
{
    lwq_conn *c = r->p.client;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        ;
    if (!lwq_conn_is_established(c) || lwq_conn_is_closed(c))
        return;
    int rv;
    if (r->id < 0 && (rv = lwq_stream_open(c, 1, &r->id)) != 0) {
        note(r, rv);
        r->id = -1;
        return;
    }
    uint8_t buf[4096];
    while (r->c_sent < XFER) {
        size_t n = XFER - r->c_sent < sizeof(buf) ? XFER - r->c_sent : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(r->c_sent + i, 0);
        ssize_t w = lwq_stream_write(c, r->id, buf, n, r->c_sent + n == XFER);
        note(r, (long)w);
        if (w <= 0)
            break;
        r->c_sent += (size_t)w;
    }
    for (;;) {
        int fin = 0;
        ssize_t n = lwq_stream_read(c, r->id, buf, sizeof(buf), &fin);
        note(r, (long)n);
        if (n < 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            r->bad += buf[i] != pat(r->c_got + (size_t)i, 1);
        r->c_got += (size_t)n;
        if (fin) {
            r->c_fin = 1;
            break;
        }
    }
}

/* The server answers with XFER bytes of its own once the client's stream ended. */
static void app_server(arun *r)
{
    lwq_conn *c = r->p.server;
    if (!c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        ;
    if (lwq_conn_is_closed(c))
        return;
    uint8_t buf[4096];
    while (!r->s_fin_in) {
        int fin = 0;
        ssize_t n = lwq_stream_read(c, 0, buf, sizeof(buf), &fin);
        note(r, (long)n);
        if (n < 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            r->bad += buf[i] != pat(r->s_got + (size_t)i, 0);
        r->s_got += (size_t)n;
        r->s_fin_in = fin;
    }
    while (r->s_fin_in && !r->s_fin_out) {
        size_t n = XFER - r->s_sent < sizeof(buf) ? XFER - r->s_sent : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(r->s_sent + i, 1);
        ssize_t w = lwq_stream_write(c, 0, buf, n, r->s_sent + n == XFER);
        note(r, (long)w);
        if (w < 0 || (w == 0 && n))
            break;
        r->s_sent += (size_t)w;
        r->s_fin_out = r->s_sent == XFER && (size_t)w == n;
    }
}

static void flush(arun *r)
{
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    ssize_t n;
    while ((n = lwq_conn_send(r->p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, r->p.now)) > 0)
        pair_enqueue(&r->p, 1, buf, (size_t)n);
    note(r, (long)n);
    while ((n = lwq_server_send(r->p.srv, &path, buf, sizeof(buf), r->p.now)) > 0)
        pair_enqueue(&r->p, 0, buf, (size_t)n);
    note(r, (long)n);
    while (r->p.server && (n = lwq_conn_send(r->p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, r->p.now)) > 0)
        pair_enqueue(&r->p, 0, buf, (size_t)n);
    note(r, (long)n);
}

static void deliver(arun *r)
{
    pair *p = &r->p;
    size_t w = 0, n = p->nq;
    for (size_t i = 0; i < n; i++) {
        pair_dgram *g = &p->q[i];
        if (g->at > p->now) {
            p->q[w++] = *g;
            continue;
        }
        if (g->to_server) {
            lwq_conn *c = NULL;
            int rv = lwq_server_recv(p->srv, &p->path, g->data, g->len, 0, p->now, &c, NULL);
            ck_assert(rv == 0 || rv == LWQ_ERR_NOMEM);
            note(r, rv);
            if (c && !p->server)
                p->server = c;
        } else {
            int rv = lwq_conn_recv(p->client, &p->path, g->data, g->len, 0, p->now);
            ck_assert(rv == 0 || rv == LWQ_ERR_NOMEM || rv == LWQ_ERR_CLOSED);
            note(r, rv);
        }
    }
    p->nq = w;
}

static int completed(const arun *r)
{
    return r->c_fin && r->c_got == XFER && r->s_got == XFER && !r->bad;
}

static int closed_cleanly(const lwq_conn *c)
{
    if (!c || c->state < LWQ_CONN_CLOSING)
        return 0;
    /* A local failure is INTERNAL_ERROR (RFC 9000 §20.1); the other side sees it from the peer. */
    return c->close.by_peer || c->close.code == LWQ_QUIC_ERR_INTERNAL_ERROR || c->close.idle_timeout;
}

/* One run with the fail_at-th allocation failing (0: none). */
static int run_once(size_t fail_at, arun *r)
{
    memset(r, 0, sizeof(*r));
    r->id = -1;
    pair *p = &r->p;
    pair_init(p, 77);
    p->q = calloc(PAIR_QMAX, sizeof(*p->q));
    ck_assert_ptr_nonnull(p->q);
    p->delay = 10 * LWQ_MS;
    p->now = LWQ_SEC;
    lwq_test_alloc_fail_at(fail_at);
    const char *why;
    int stage = 0, rv = lwq_context_new(&p->cctx, &p->ccfg, &why);
    if (!rv && ++stage)
        rv = lwq_context_new(&p->sctx, &p->scfg, &why);
    if (!rv && ++stage)
        rv = lwq_server_new(&p->srv, p->sctx, NULL);
    if (!rv && ++stage)
        rv = lwq_conn_client_new(&p->client, p->cctx, &p->path, NULL, 0, NULL, 0, p->now);
    if (rv) {
        ck_assert_msg(rv == LWQ_ERR_NOMEM, "fail_at %zu: setup step %d returned %d", fail_at, stage, rv);
        lwq_test_alloc_fail_at(0);
        pair_free(p);
        return RUN_SETUP_FAILED;
    }
    lwq_tstamp end = p->now + 60 * LWQ_SEC;
    while (!completed(r)) {
        app_server(r);
        app_client(r);
        flush(r);
        pair_check(p);
        if (completed(r) || lwq_conn_is_closed(p->client) || (p->server && lwq_conn_is_closed(p->server)))
            break;
        lwq_tstamp t = pair_next(p);
        if (t == LWQ_TSTAMP_INF || t > end)
            break;
        if (t > p->now)
            p->now = t;
        deliver(r);
        if (lwq_conn_next_timeout(p->client) <= p->now)
            note(r, lwq_conn_handle_timeout(p->client, p->now));
        if (p->server && lwq_conn_next_timeout(p->server) <= p->now)
            note(r, lwq_conn_handle_timeout(p->server, p->now));
    }
    lwq_test_alloc_fail_at(0);
    int out = completed(r) ? RUN_COMPLETED
              : closed_cleanly(p->client) || closed_cleanly(p->server) ? RUN_CLOSED
              : r->nomem ? RUN_NOMEM
                         : -1;
    ck_assert_msg(out >= 0, "fail_at %zu: run neither completed nor closed (client state %d, got %zu/%zu)", fail_at,
                  p->client->state, r->c_got, r->s_got);
    pair_free(p);
    return out;
}

START_TEST(test_every_allocation_fails_in_turn)
{
    arun r;
    size_t base = lwq_test_alloc_live(), before = lwq_test_alloc_count();
    ck_assert_int_eq(run_once(0, &r), RUN_COMPLETED);
    size_t total = lwq_test_alloc_count() - before;
    ck_assert_uint_gt(total, 50);
    ck_assert_uint_eq(lwq_test_alloc_live(), base);
    unsigned outcomes[4] = {0};
    for (size_t k = 1; k <= total; k++) {
        outcomes[run_once(k, &r)]++;
        ck_assert_msg(lwq_test_alloc_live() == base, "fail_at %zu leaked %zu blocks", k, lwq_test_alloc_live() - base);
    }
    /* Each kind of ending happened: failures in setup, in the handshake, and in the transfer. */
    ck_assert_uint_gt(outcomes[RUN_SETUP_FAILED], 0);
    ck_assert_uint_gt(outcomes[RUN_CLOSED] + outcomes[RUN_NOMEM], 0);
    if (getenv("LWQ_SIM_REPORT"))
        fprintf(stderr, "conn_alloc: %zu allocations; completed %u, nomem %u, closed %u, setup failed %u\n", total,
                outcomes[RUN_COMPLETED], outcomes[RUN_NOMEM], outcomes[RUN_CLOSED], outcomes[RUN_SETUP_FAILED]);
}
END_TEST

Suite *suite_conn_alloc(void)
{
    Suite *s = suite_create("conn_alloc");
    TCase *tc = lwq_test_tcase("conn_alloc");
    tcase_add_test(tc, test_every_allocation_fails_in_turn);
    suite_add_tcase(s, tc);
    return s;
}
