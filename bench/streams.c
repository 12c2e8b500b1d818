/* Stream scheduling cost with many open streams: a client and a server in one process, an ideal in-memory
 * link, and the CPU time both spend per packet while (a) N streams each carry a little data and (b) N streams
 * are open but idle while one stream carries 4 MB. If building a packet looks at every stream, (b) costs
 * O(N) per packet. A benchmark, not a test: bench/streams.sh [BUILD]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lwquic/quic.h"

static uint64_t rng_state = 0x853c49e6748fea9bull;

static void fill(void *ud, uint8_t *out, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        out[i] = (uint8_t)(rng_state >> 24);
    }
}

static const lwq_rng bench_rng = {fill, NULL};
static const char *alpn[] = {"bench"};

typedef struct pair {
    lwq_context *cctx, *sctx;
    lwq_server *srv;
    lwq_conn *cl, *sv;
    lwq_path path;
    lwq_tstamp now;
    uint64_t rx_bytes, packets;
    size_t fins;
} pair;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void server_read(pair *p)
{
    lwq_event ev;
    uint8_t buf[16384];
    while (lwq_conn_next_event(p->sv, &ev)) {
        if (ev.type != LWQ_EV_STREAM_READABLE)
            continue;
        int fin = 0;
        ssize_t r;
        while ((r = lwq_stream_read(p->sv, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
            p->rx_bytes += (uint64_t)r;
            if (fin) {
                p->fins++;
                break;
            }
        }
    }
}

/* Datagrams both ways at one instant; the clock moves 1 ms when nothing moved (the link has no delay). */
static void step(pair *p)
{
    uint8_t buf[1500];
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ssize_t n;
    int moved = 0;
    while ((n = lwq_conn_send(p->cl, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now)) > 0) {
        lwq_conn *c = NULL;
        lwq_server_recv(p->srv, &p->path, buf, (size_t)n, 0, p->now, &c, NULL);
        if (c && !p->sv)
            p->sv = c;
        p->packets++;
        moved = 1;
    }
    while ((n = lwq_server_send(p->srv, &path, buf, sizeof(buf), p->now)) > 0)
        lwq_conn_recv(p->cl, &p->path, buf, (size_t)n, 0, p->now);
    if (p->sv) {
        server_read(p);
        while ((n = lwq_conn_send(p->sv, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now)) > 0) {
            lwq_conn_recv(p->cl, &p->path, buf, (size_t)n, 0, p->now);
            p->packets++;
            moved = 1;
        }
    }
    lwq_event ev;
    while (lwq_conn_next_event(p->cl, &ev))
        ;
    if (!moved) {
        lwq_tstamp t = lwq_conn_next_timeout(p->cl);
        if (p->sv && lwq_conn_next_timeout(p->sv) < t)
            t = lwq_conn_next_timeout(p->sv);
        p->now = t != LWQ_TSTAMP_INF && t > p->now ? t : p->now + LWQ_MS;
        lwq_conn_handle_timeout(p->cl, p->now);
        if (p->sv)
            lwq_conn_handle_timeout(p->sv, p->now);
    }
}

static void pair_open(pair *p, size_t streams)
{
    memset(p, 0, sizeof(*p));
    lwq_config c, s;
    lwq_config_init(&c, 0);
    lwq_config_init(&s, 1);
    c.rng = s.rng = &bench_rng;
    c.alpn = s.alpn = alpn;
    c.alpn_count = s.alpn_count = 1;
    c.insecure = 1;
    s.cert_file = "tests/data/certs/server-ecdsa.pem";
    s.key_file = "tests/data/certs/server-ecdsa.key";
    s.initial_max_streams_bidi = c.initial_max_streams_bidi = streams + 10;
    s.max_streams_open = c.max_streams_open = streams + 1000;
    s.initial_max_data = c.initial_max_data = 64 << 20;
    const char *why;
    if (lwq_context_new(&p->cctx, &c, &why) || lwq_context_new(&p->sctx, &s, &why) ||
        lwq_server_new(&p->srv, p->sctx, NULL)) {
        fprintf(stderr, "bench/streams: setup failed (%s); run from the repository root\n", why ? why : "");
        exit(1);
    }
    p->now = LWQ_SEC;
    if (lwq_conn_client_new(&p->cl, p->cctx, &p->path, NULL, 0, NULL, 0, p->now))
        exit(1);
    for (int i = 0; i < 2000 && !(p->sv && lwq_conn_is_established(p->cl) && lwq_conn_is_established(p->sv)); i++)
        step(p);
    if (!p->sv || !lwq_conn_is_established(p->sv)) {
        fprintf(stderr, "bench/streams: no handshake\n");
        exit(1);
    }
}

static void pair_close(pair *p)
{
    lwq_conn_del(p->cl);
    lwq_server_del(p->srv);
    lwq_context_del(p->cctx);
    lwq_context_del(p->sctx);
}

/* (a) every stream carries `each` bytes and a FIN. */
static void busy(size_t streams, size_t each)
{
    pair p;
    pair_open(&p, streams);
    uint8_t data[4096];
    memset(data, 'b', sizeof(data));
    double t0 = cpu_now();
    uint64_t pk0 = p.packets;
    for (size_t i = 0; i < streams; i++) {
        int64_t id;
        if (lwq_stream_open(p.cl, 1, &id) || lwq_stream_write(p.cl, id, data, each, 1) != (ssize_t)each)
            exit(1);
    }
    while (p.fins < streams)
        step(&p);
    double dt = cpu_now() - t0;
    uint64_t pk = p.packets - pk0;
    printf("busy  %6zu streams x %4zu B: %7.3f s CPU, %6lu packets, %8.2f us/packet\n", streams, each, dt,
           (unsigned long)pk, dt * 1e6 / (double)pk);
    pair_close(&p);
}

/* (b) `streams` open and idle (one byte each, no FIN), then 4 MB on one more stream. */
static void idle(size_t streams)
{
    pair p;
    pair_open(&p, streams);
    uint8_t data[16384];
    memset(data, 'i', sizeof(data));
    for (size_t i = 0; i < streams; i++) {
        int64_t id;
        if (lwq_stream_open(p.cl, 1, &id) || lwq_stream_write(p.cl, id, data, 1, 0) != 1)
            exit(1);
    }
    while (p.rx_bytes < streams)
        step(&p);
    int64_t id;
    if (lwq_stream_open(p.cl, 1, &id))
        exit(1);
    const uint64_t total = 4 << 20;
    uint64_t sent = 0;
    double t0 = cpu_now();
    uint64_t pk0 = p.packets;
    while (p.fins < 1) {
        while (sent < total) {
            size_t n = total - sent < sizeof(data) ? (size_t)(total - sent) : sizeof(data);
            ssize_t w = lwq_stream_write(p.cl, id, data, n, sent + n == total);
            if (w <= 0)
                break;
            sent += (uint64_t)w;
        }
        step(&p);
    }
    double dt = cpu_now() - t0;
    uint64_t pk = p.packets - pk0;
    printf("idle  %6zu streams + 4 MB:  %7.3f s CPU, %6lu packets, %8.2f us/packet\n", streams, dt, (unsigned long)pk,
           dt * 1e6 / (double)pk);
    pair_close(&p);
}

int main(int argc, char **argv)
{
    size_t max = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    for (size_t n = 100; n <= max; n *= 10)
        busy(n, 300);
    for (size_t n = 100; n <= max; n *= 10)
        idle(n);
    return 0;
}
