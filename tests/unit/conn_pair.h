/* A client and a server lwq_conn joined by an in-memory pipe with a virtual clock, delay, and
 * seeded loss and reordering; shared by the tests/unit/test_conn_*.c suites. */
#ifndef LWQ_TEST_CONN_PAIR_H
#define LWQ_TEST_CONN_PAIR_H

#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lwquic/quic.h"
#include "quic/conn.h"

#define PAIR_QMAX 4096
#define PAIR_DGRAM 1500

typedef struct pair_dgram {
    lwq_tstamp at;
    int to_server;
    size_t len;
    uint8_t data[PAIR_DGRAM];
} pair_dgram;

typedef struct pair {
    lwq_config ccfg, scfg;
    lwq_context *cctx, *sctx;
    lwq_server *srv;
    lwq_conn *client, *server;
    lwq_path path;
    lwq_tstamp now, delay;
    lwq_test_rng rng, net;
    unsigned loss_pct, reorder_pct;
    /* drop the n-th datagram (1-based) in each direction, for handshake flight tests */
    unsigned drop_c2s[8], drop_s2c[8];
    unsigned n_c2s, n_s2c;
    size_t first_s2c_len; /* the server's first datagram, sent or dropped */
    pair_dgram *q;
    size_t nq;
    uint64_t dropped, delivered;
    int server_gone; /* the server forgot its connection */
    /* sees every datagram as sent, before any drop */
    void (*tap)(void *ud, int to_server, const uint8_t *d, size_t n);
    void *tap_ud;
} pair;

static const char *pair_alpn[] = {"test"};

static inline void pair_configs(pair *p)
{
    lwq_config_init(&p->ccfg, 0);
    lwq_config_init(&p->scfg, 1);
    p->ccfg.alloc = p->scfg.alloc = lwq_test_alloc;
    p->ccfg.rng = p->scfg.rng = &p->rng.rng;
    p->ccfg.alpn = p->scfg.alpn = pair_alpn;
    p->ccfg.alpn_count = p->scfg.alpn_count = 1;
    p->ccfg.server_name = "localhost";
    static char ca[1024], cert[1024], key[1024];
    strcpy(ca, lwq_test_data_path("certs/ca.pem"));
    strcpy(cert, lwq_test_data_path("certs/server-ecdsa.pem"));
    strcpy(key, lwq_test_data_path("certs/server-ecdsa.key"));
    p->ccfg.ca_file = ca;
    p->scfg.cert_file = cert;
    p->scfg.key_file = key;
}

/* After pair_configs and any config changes. */
static inline void pair_start(pair *p)
{
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&p->cctx, &p->ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&p->sctx, &p->scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&p->srv, p->sctx, NULL), 0);
    p->q = calloc(PAIR_QMAX, sizeof(*p->q));
    ck_assert_ptr_nonnull(p->q);
    if (!p->delay)
        p->delay = 10 * LWQ_MS;
    p->now = LWQ_SEC;
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &p->path, NULL, 0, NULL, 0, p->now), 0);
}

static inline void pair_init(pair *p, uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    lwq_test_rng_init(&p->rng, seed);
    lwq_test_rng_init(&p->net, seed ^ 0x9e3779b97f4a7c15ull);
    pair_configs(p);
}

static inline void pair_free(pair *p)
{
    lwq_conn_del(p->client);
    lwq_server_del(p->srv);
    lwq_context_del(p->cctx);
    lwq_context_del(p->sctx);
    free(p->q);
}

static inline unsigned pair_rand(pair *p, unsigned mod)
{
    uint8_t b[4];
    p->net.rng.fill(p->net.rng.ud, b, 4);
    return (unsigned)(((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) % mod);
}

static inline int listed(const unsigned *l, unsigned n)
{
    for (int i = 0; i < 8; i++)
        if (l[i] == n)
            return 1;
    return 0;
}

static inline void pair_enqueue(pair *p, int to_server, const uint8_t *d, size_t n)
{
    /* RFC 9000 §14.1: a client pads every datagram carrying an Initial packet. */
    if (to_server && n && (d[0] & 0xf0) == 0xc0)
        ck_assert_uint_ge(n, 1200);
    if (p->tap)
        p->tap(p->tap_ud, to_server, d, n);
    unsigned k = to_server ? ++p->n_c2s : ++p->n_s2c;
    if (!to_server && k == 1)
        p->first_s2c_len = n;
    if (listed(to_server ? p->drop_c2s : p->drop_s2c, k) || (p->loss_pct && pair_rand(p, 100) < p->loss_pct) ||
        p->nq == PAIR_QMAX || n > PAIR_DGRAM) {
        p->dropped++;
        return;
    }
    pair_dgram *g = &p->q[p->nq++];
    g->at = p->now + p->delay;
    if (p->reorder_pct && pair_rand(p, 100) < p->reorder_pct)
        g->at += pair_rand(p, 3) * p->delay / 2 + 1;
    g->to_server = to_server;
    g->len = n;
    memcpy(g->data, d, n);
}

static inline void pair_flush(pair *p)
{
    uint8_t buf[PAIR_DGRAM];
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ssize_t n;
    for (int i = 0; i < 10000 && (n = lwq_conn_send(p->client, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now)) > 0;
         i++)
        pair_enqueue(p, 1, buf, (size_t)n);
    ck_assert_int_ge(n, 0);
    while ((n = lwq_server_send(p->srv, &path, buf, sizeof(buf), p->now)) > 0)
        pair_enqueue(p, 0, buf, (size_t)n);
    if (p->server)
        for (int i = 0; i < 10000 && (n = lwq_conn_send(p->server, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now)) > 0;
             i++)
            pair_enqueue(p, 0, buf, (size_t)n);
}

/* RFC 9000 §8.1: before validating the client's address the server sends at most 3x what it got. */
static inline void pair_check(pair *p)
{
    if (p->server && !p->server->address_validated)
        ck_assert_uint_le(p->server->bytes_tx, 3 * p->server->bytes_rx);
}

static inline void pair_deliver(pair *p)
{
    /* In queue order among those due, so that equal delivery times keep FIFO order. */
    size_t w = 0, n = p->nq;
    for (size_t i = 0; i < n; i++) {
        pair_dgram *g = &p->q[i];
        if (g->at > p->now) {
            if (w != i)
                p->q[w] = *g;
            w++;
            continue;
        }
        p->delivered++;
        if (g->to_server) {
            lwq_conn *c = NULL;
            int created = 0;
            ck_assert_int_eq(lwq_server_recv(p->srv, &p->path, g->data, g->len, 0, p->now, &c, &created), 0);
            if (c && !p->server && !p->server_gone)
                p->server = c;
        } else {
            int rv = lwq_conn_recv(p->client, &p->path, g->data, g->len, 0, p->now);
            ck_assert(rv == 0 || rv == LWQ_ERR_CLOSED);
        }
    }
    p->nq = w;
}

static inline lwq_tstamp pair_next(pair *p)
{
    lwq_tstamp t = lwq_conn_next_timeout(p->client);
    if (p->server) {
        lwq_tstamp s = lwq_conn_next_timeout(p->server);
        if (s < t)
            t = s;
    }
    for (size_t i = 0; i < p->nq; i++)
        if (p->q[i].at < t)
            t = p->q[i].at;
    return t;
}

/* Runs until done(p) or the virtual time limit; returns done(p). */
static inline int pair_run(pair *p, int (*done)(pair *), lwq_tstamp limit)
{
    lwq_tstamp end = p->now + limit;
    for (;;) {
        pair_flush(p);
        pair_check(p);
        if (done && done(p))
            return 1;
        pair_flush(p); /* what the application just wrote */
        lwq_tstamp t = pair_next(p);
        if (t == LWQ_TSTAMP_INF || t > end)
            return done ? done(p) : 1;
        if (t > p->now)
            p->now = t;
        pair_deliver(p);
        if (lwq_conn_next_timeout(p->client) <= p->now)
            lwq_conn_handle_timeout(p->client, p->now);
        if (p->server && lwq_conn_next_timeout(p->server) <= p->now)
            lwq_conn_handle_timeout(p->server, p->now);
    }
}

/* The client's first datagram with 0-RTT written before it (RFC 9000 §12.2): 1200 bytes, an Initial
 * then a 0-RTT packet, whose header goes in *early. Not delivered. */
static inline size_t pair_first_0rtt_datagram(pair *p, uint8_t d[PAIR_DGRAM], lwq_pkt_hdr *early)
{
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ssize_t n = lwq_conn_send(p->client, &path, d, PAIR_DGRAM, 1, &seg, &ecn, p->now);
    ck_assert_int_eq(n, 1200);
    lwq_pkt_hdr h1;
    ssize_t k = lwq_pkt_hdr_decode(&h1, d, (size_t)n, 8);
    ck_assert_int_gt(k, 0);
    ck_assert_int_eq(h1.type, LWQ_PKT_INITIAL);
    ck_assert_int_gt(lwq_pkt_hdr_decode(early, d + k, (size_t)(n - k), 8), 0);
    ck_assert_int_eq(early->type, LWQ_PKT_0RTT);
    return (size_t)n;
}

static inline int pair_established(pair *p)
{
    return p->server && lwq_conn_is_established(p->client) && lwq_conn_is_established(p->server);
}

/* The next event of a given type, skipping others; 0 when none is queued. */
static inline int pair_find_event(lwq_conn *c, lwq_event_type t, lwq_event *out)
{
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == t) {
            *out = ev;
            return 1;
        }
    return 0;
}

/* Drains the queue; pair_ev_in then finds an event of a type whatever the order. */
static inline size_t pair_drain(lwq_conn *c, lwq_event *evs, size_t max)
{
    size_t n = 0;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        if (n < max)
            evs[n++] = ev;
    return n;
}

static inline const lwq_event *pair_ev_in(const lwq_event *evs, size_t n, lwq_event_type t)
{
    for (size_t i = 0; i < n; i++)
        if (evs[i].type == t)
            return &evs[i];
    return NULL;
}

#endif
