/* Bulk transfers over the simulated network, checked by content hash: each side sends a seeded byte
 * stream on every stream and hashes what it accepted into the connection, the receiver hashes what
 * it read, and the two must agree. lwq_conn_check runs on both connections at every step.
 *
 * LWQ_SIM_LONG=1 (make check-long) runs every scenario over 200 seeds, the loss scenarios at 16 MiB each way. */
#include <stdlib.h>
#include "sim/conn_node.h"
#include "sim/sim_seeds.h"
#include "unit/conn_pair.h"

#if defined(__SANITIZE_ADDRESS__)
#define BULK_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BULK_SAN 1
#endif
#endif
#ifndef BULK_SAN
#define BULK_SAN 0
#endif

#define MIB ((uint64_t)1 << 20)
#define CHUNK 16384

typedef struct flow {
    int known;
    uint64_t tx_total, tx_sent, tx_hash, tx_reset_at;
    uint64_t rx_got, rx_hash, rx_bad;
    int fin_sent, tx_reset, fin_got, rx_reset;
    uint64_t rx_reset_code, rx_final;
} flow;

typedef struct side {
    lwq_conn *c;
    int dir; /* 0 client, 1 server: which byte stream it sends */
    flow *f;
    size_t nf, opened, done;
    uint64_t reset_code;
    int closed;
    lwq_close_info close;
} side;

typedef struct world {
    conn_node n;
    side cs, ss;
    uint64_t bytes;     /* per stream per direction */
    size_t reset_every; /* every n-th stream is reset by both senders at half; 0 = none */
} world;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void gen(uint8_t *out, int dir, size_t idx, uint64_t off, size_t n)
{
    uint64_t key = mix((uint64_t)idx * 2 + (uint64_t)dir);
    for (size_t i = 0; i < n; i++) {
        uint64_t o = off + i;
        out[i] = (uint8_t)(mix(key ^ (o >> 3)) >> ((o & 7) * 8));
    }
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

static void side_read(side *s, int64_t id)
{
    size_t k = (size_t)id >> 2;
    if (k >= s->nf)
        return;
    flow *f = &s->f[k];
    uint8_t buf[CHUNK], want[CHUNK];
    while (!f->fin_got && !f->rx_reset) {
        int fin = 0;
        ssize_t r = lwq_stream_read(s->c, id, buf, sizeof(buf), &fin);
        if (r < 0)
            break;
        gen(want, !s->dir, k, f->rx_got, (size_t)r);
        if (memcmp(buf, want, (size_t)r))
            f->rx_bad++;
        f->rx_hash = fnv(f->rx_hash, buf, (size_t)r);
        f->rx_got += (size_t)r;
        if (fin) {
            f->fin_got = 1;
            s->done++;
        }
    }
}

static void side_write(world *w, side *s, size_t k)
{
    flow *f = &s->f[k];
    int64_t id = (int64_t)k << 2;
    uint8_t buf[CHUNK];
    const flow *peer = &(s == &w->cs ? &w->ss : &w->cs)->f[k];
    if (f->tx_reset_at && !f->tx_reset && peer->rx_got >= f->tx_reset_at && !peer->fin_got) {
        ck_assert_int_eq(lwq_stream_reset(s->c, id, s->reset_code + k), 0);
        f->tx_reset = 1;
    }
    while (!f->fin_sent && !f->tx_reset) {
        uint64_t left = f->tx_total - f->tx_sent;
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        gen(buf, s->dir, k, f->tx_sent, n);
        ssize_t r = lwq_stream_write(s->c, id, buf, n, n == left);
        ck_assert_int_ge(r, 0);
        f->tx_hash = fnv(f->tx_hash, buf, (size_t)r);
        f->tx_sent += (size_t)r;
        if ((size_t)r == n && n == left)
            f->fin_sent = 1;
        if ((size_t)r < n || !r)
            break;
    }
}

static void flow_start(world *w, side *s, size_t k)
{
    flow *f = &s->f[k];
    f->known = 1;
    f->tx_total = w->bytes;
    f->tx_hash = f->rx_hash = FNV_INIT;
    if (w->reset_every && k % w->reset_every == 0)
        f->tx_reset_at = w->bytes / 4; /* once the peer has read a quarter */
}

static void side_pump(world *w, side *s)
{
    if (!s->c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(s->c, &ev)) {
        size_t k = ev.stream_id >= 0 ? (size_t)ev.stream_id >> 2 : SIZE_MAX;
        switch (ev.type) {
        case LWQ_EV_STREAM_OPENED:
            ck_assert_uint_lt(k, s->nf);
            if (!s->f[k].known)
                flow_start(w, s, k);
            break;
        case LWQ_EV_STREAM_READABLE:
            side_read(s, ev.stream_id);
            break;
        case LWQ_EV_STREAM_RESET:
            ck_assert_uint_lt(k, s->nf);
            if (!s->f[k].rx_reset && !s->f[k].fin_got) {
                s->f[k].rx_reset = 1;
                s->f[k].rx_reset_code = ev.error_code;
                s->f[k].rx_final = ev.offset;
                s->done++;
            }
            break;
        case LWQ_EV_CLOSED:
            s->closed = 1;
            s->close = ev.close;
            break;
        default:
            break;
        }
    }
    if (s->closed || !lwq_conn_is_established(s->c))
        return;
    while (!s->dir && s->opened < s->nf) {
        int64_t id;
        if (lwq_stream_open(s->c, 1, &id) != 0)
            break;
        ck_assert_int_eq(id, (int64_t)s->opened << 2);
        flow_start(w, s, s->opened++);
    }
    for (size_t k = 0; k < s->nf; k++)
        if (s->f[k].known) {
            side_write(w, s, k);
            side_read(s, (int64_t)k << 2);
        }
}

static void pump(void *app, int server)
{
    world *w = app;
    if (server)
        w->ss.c = w->n.p.server;
    side_pump(w, server ? &w->ss : &w->cs);
}

static void world_init(world *w, uint64_t seed, size_t streams, uint64_t bytes)
{
    memset(w, 0, sizeof(*w));
    conn_node_init(&w->n, seed, "conn_bulk");
    w->n.pump = pump;
    w->n.app = w;
    w->bytes = bytes;
    w->cs.nf = w->ss.nf = streams;
    w->cs.f = calloc(streams, sizeof(flow));
    w->ss.f = calloc(streams, sizeof(flow));
    ck_assert(w->cs.f && w->ss.f);
    w->ss.dir = 1;
    w->cs.reset_code = 0x100;
    w->ss.reset_code = 0x200;
}

static void world_start(world *w, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c)
{
    conn_node_start(&w->n, NULL, c2s, s2c);
    w->cs.c = w->n.p.client;
}

static void world_free(world *w)
{
    conn_node_free(&w->n);
    free(w->cs.f);
    free(w->ss.f);
}

static int all_done(void *ud)
{
    world *w = ud;
    return w->cs.done == w->cs.nf && w->ss.done == w->ss.nf && w->n.p.server;
}

/* Every stream arrived whole with the sender's hash, or was reset where the sender reset it. */
static void world_verify(world *w)
{
    for (int d = 0; d < 2; d++) {
        side *rx = d ? &w->ss : &w->cs, *tx = d ? &w->cs : &w->ss;
        for (size_t k = 0; k < rx->nf; k++) {
            const flow *r = &rx->f[k], *t = &tx->f[k];
            ck_assert_msg(r->known && t->known, "stream %zu never opened on side %d", k, d);
            ck_assert_uint_eq(r->rx_bad, 0);
            if (t->tx_reset) {
                ck_assert_msg(r->rx_reset || r->fin_got, "stream %zu: reset not seen", k);
                if (r->rx_reset) {
                    ck_assert_uint_eq(r->rx_reset_code, tx->reset_code + k);
                    /* RFC 9000 §4.5: the final size counts the bytes sent, not those still buffered. */
                    ck_assert_uint_le(r->rx_final, t->tx_sent);
                    ck_assert_uint_le(r->rx_got, r->rx_final);
                }
                continue;
            }
            ck_assert_msg(r->fin_got && !r->rx_reset, "side %d stream %zu: got %lu of %lu", d, k,
                          (unsigned long)r->rx_got, (unsigned long)t->tx_total);
            ck_assert_uint_eq(r->rx_got, w->bytes);
            ck_assert_uint_eq(t->tx_sent, w->bytes);
            ck_assert_msg(r->rx_hash == t->tx_hash, "side %d stream %zu: hash %016lx, sent %016lx", d, k,
                          (unsigned long)r->rx_hash, (unsigned long)t->tx_hash);
        }
    }
}

typedef struct bulk_result {
    lwq_tstamp vtime; /* summed virtual time of the runs */
    uint64_t lost, bytes;
    unsigned runs;
} bulk_result;

static lwq_sim_link_config lossy_link(double loss)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS,
                             .jitter = 2 * LWQ_MS,
                             .rate = 100000000,
                             .queue_packets = 300,
                             .loss = loss,
                             .reorder = loss > 0 ? 0.03 : 0.01,
                             .reorder_delay = 5 * LWQ_MS,
                             .duplicate = 0.01};
    return l;
}

/* One stream carrying `bytes` each way through links with this loss, reordering and duplication. */
static void run_bulk(uint64_t seed, double loss, uint64_t bytes, bulk_result *res)
{
    lwq_sim_link_config l = lossy_link(loss);
    world w;
    world_init(&w, seed, 1, bytes);
    world_start(&w, &l, &l);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, all_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    world_verify(&w);
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(w.n.p.client, &cs);
    lwq_conn_stats_get(w.n.p.server, &ss);
    if (loss > 0)
        ck_assert_uint_gt(cs.packets_lost + ss.packets_lost, 0);
    ck_assert_uint_gt(lwq_sim_link_get(w.n.sim, 0)->stats.duplicated + lwq_sim_link_get(w.n.sim, 1)->stats.duplicated,
                      0);
    res->vtime += lwq_sim_now(w.n.sim);
    res->lost += cs.packets_lost + ss.packets_lost;
    res->bytes += 2 * bytes;
    res->runs++;
    world_free(&w);
}

typedef struct bulk_args {
    double loss;
    uint64_t bytes;
    bulk_result total;
} bulk_args;

static void bulk_seed(uint64_t seed, void *ud, void *res)
{
    bulk_args *a = ud;
    run_bulk(seed, a->loss, a->bytes, res);
}

static void bulk_merge(void *ud, const void *res)
{
    bulk_args *a = ud;
    const bulk_result *r = res;
    a->total.vtime += r->vtime;
    a->total.lost += r->lost;
    a->total.bytes += r->bytes;
    a->total.runs += r->runs;
}

/* make check: each scenario's seeds and size; make check-long: 200 seeds at 16 MiB. */
static void bulk_scenario(const char *name, double loss, uint64_t first_seed, unsigned seeds, uint64_t bytes,
                          uint64_t san_bytes)
{
    if (sim_long())
        bytes = 16 * MIB;
    else if (BULK_SAN)
        bytes = san_bytes;
    bulk_args a = {.loss = loss, .bytes = bytes};
    char label[64];
    snprintf(label, sizeof(label), "conn_bulk %s", name);
    sim_seeds_run(label, first_seed, seeds, bulk_seed, &a, sizeof(bulk_result), bulk_merge);
    const bulk_result r = a.total;
    double vt = (double)r.vtime / (double)LWQ_SEC;
    if (getenv("LWQ_SIM_REPORT") || sim_long())
        fprintf(stderr, "conn_bulk %s: %u seeds x %lu KiB each way, %.1f s virtual, %.1f Mbit/s goodput, %lu lost\n",
                name, r.runs, (unsigned long)(bytes >> 10), vt, vt > 0 ? (double)r.bytes * 8 / vt / 1e6 : 0.0,
                (unsigned long)r.lost);
}

START_TEST(test_bulk_loss_0)
{
    bulk_scenario("loss 0%", 0, 1000, 1, 16 * MIB, 8 * MIB);
}
END_TEST

START_TEST(test_bulk_loss_1)
{
    bulk_scenario("loss 1%", 0.01, 2000, 1, 16 * MIB, 8 * MIB);
}
END_TEST

START_TEST(test_bulk_loss_5)
{
    bulk_scenario("loss 5%", 0.05, 3000, 2, 4 * MIB, 2 * MIB);
}
END_TEST

START_TEST(test_bulk_loss_10)
{
    bulk_scenario("loss 10%", 0.10, 4000, 2, 2 * MIB, 1 * MIB);
}
END_TEST

START_TEST(test_bulk_loss_20)
{
    bulk_scenario("loss 20%", 0.20, 5000, 2, 1 * MIB, MIB / 2);
}
END_TEST

/* Seeds the long runs failed with: the server's loss timer expired while it was blocked by the
 * amplification limit and fired at once when the next datagram lifted it (RFC 9002 §6.2.2.1). */
START_TEST(test_bulk_regressions)
{
    static const struct {
        uint64_t seed;
        double loss;
    } runs[] = {{5002, 0.20}, {4022, 0.10}, {3031, 0.05}};
    bulk_result r = {0};
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        run_bulk(runs[i].seed, runs[i].loss, 256 << 10, &r);
    ck_assert_uint_eq(r.runs, 3);
}
END_TEST

/* 1000 streams open at once, each carrying data both ways (RFC 9000 §4.6 stream limits raised). */
static void thousand_streams_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.02);
    world w;
    world_init(&w, seed, 1000, 3000);
    w.n.p.scfg.initial_max_streams_bidi = w.n.p.ccfg.initial_max_streams_bidi = 1000;
    w.n.p.scfg.max_streams_open = w.n.p.ccfg.max_streams_open = 1200;
    world_start(&w, &l, &l);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, all_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    world_verify(&w);
    /* All 1000 were open at the same time: the client never had to wait for MAX_STREAMS. */
    ck_assert_uint_eq(w.n.p.client->st.local_next[0], 1000);
    ck_assert_uint_eq(w.n.p.server->st.peer_next[0], 1000);
    world_free(&w);
}

START_TEST(test_thousand_streams)
{
    sim_seeds_run("conn_bulk thousand_streams", 77, 1, thousand_streams_seed, NULL, 0, NULL);
}
END_TEST

/* Both senders reset every third stream once the peer has read a quarter of it, under loss: the resets arrive with
 * their codes and final sizes, every other stream stays byte-exact (RFC 9000 §3.2, §19.4). */
static void resets_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.05);
    world w;
    world_init(&w, seed, 12, 200000);
    w.reset_every = 3;
    world_start(&w, &l, &l);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, all_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    world_verify(&w);
    size_t resets = 0, mid = 0;
    for (size_t k = 0; k < 12; k++) {
        resets += (size_t)(w.cs.f[k].rx_reset + w.ss.f[k].rx_reset);
        mid += (w.cs.f[k].rx_reset && w.cs.f[k].rx_got > 0) + (w.ss.f[k].rx_reset && w.ss.f[k].rx_got > 0);
    }
    ck_assert_uint_eq(resets, 8);
    ck_assert_uint_gt(mid, 0); /* some were cut with data already delivered */
    world_free(&w);
}

START_TEST(test_resets_both_ways_under_loss)
{
    sim_seeds_run("conn_bulk resets", 80, 2, resets_seed, NULL, 0, NULL);
}
END_TEST

/* 1 KiB windows for the connection and every stream, on both sides, under loss (RFC 9000 §4). */
static void tiny_windows_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.03);
    world w;
    world_init(&w, seed, 4, 30000);
    lwq_config *cfgs[2] = {&w.n.p.ccfg, &w.n.p.scfg};
    for (int i = 0; i < 2; i++) {
        lwq_config *c = cfgs[i];
        c->initial_max_data = c->initial_max_stream_data_bidi_local = c->initial_max_stream_data_bidi_remote =
            c->initial_max_stream_data_uni = c->max_window = c->max_stream_window = 1024;
    }
    world_start(&w, &l, &l);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, all_done, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    world_verify(&w);
    ck_assert_uint_le(w.n.p.client->st.rx_window, 1024);
    ck_assert_uint_le(w.n.p.server->st.rx_window, 1024);
    ck_assert_uint_gt(w.n.p.client->st.blocked_sent + w.n.p.server->st.blocked_sent, 0);
    world_free(&w);
}

START_TEST(test_tiny_windows_under_loss)
{
    sim_seeds_run("conn_bulk tiny_windows", 90, 1, tiny_windows_seed, NULL, 0, NULL);
}
END_TEST

static int both_closed(void *ud)
{
    world *w = ud;
    return w->cs.closed && w->ss.closed && lwq_conn_is_closed(w->n.p.client) && lwq_conn_is_closed(w->n.p.server);
}

static int half_way(void *ud)
{
    world *w = ud;
    return w->ss.f[0].rx_got >= w->bytes / 2;
}

/* The client closes with an application error mid-transfer over a lossy link; the server sees that
 * code and reason, and both sides end (RFC 9000 §10.2). */
static void app_close_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.10);
    world w;
    world_init(&w, seed, 2, 400000);
    world_start(&w, &l, &l);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, half_way, &w), 0);
    ck_assert_int_eq(lwq_conn_close(w.n.p.client, 0x4242, "enough"), 0);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, both_closed, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert(w.ss.close.is_app && w.ss.close.by_peer);
    ck_assert_uint_eq(w.ss.close.code, 0x4242);
    ck_assert_str_eq(w.ss.close.reason, "enough");
    ck_assert(!w.ss.close.idle_timeout);
    ck_assert(w.cs.close.is_app && !w.cs.close.by_peer);
    world_free(&w);
}

START_TEST(test_app_close_under_loss)
{
    sim_seeds_run("conn_bulk app_close", 110, 3, app_close_seed, NULL, 0, NULL);
}
END_TEST

/* Both sides go quiet after a transfer and close silently once the idle timeout passes (RFC 9000
 * §10.1), no earlier than the timeout after the last packet. */
static void idle_timeout_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.01);
    world w;
    world_init(&w, seed, 2, 100000);
    w.n.p.ccfg.idle_timeout = 3 * LWQ_SEC;
    w.n.p.scfg.idle_timeout = 5 * LWQ_SEC;
    world_start(&w, &l, &l);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, all_done, &w), 0);
    world_verify(&w);
    lwq_tstamp done_at = lwq_sim_now(w.n.sim);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, both_closed, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert(w.cs.close.idle_timeout && w.ss.close.idle_timeout);
    /* The smaller of the two advertised timeouts applies. */
    lwq_tstamp t = lwq_sim_now(w.n.sim) - done_at;
    ck_assert_uint_ge(t, 3 * LWQ_SEC - 200 * LWQ_MS);
    ck_assert_uint_le(t, 4 * LWQ_SEC);
    world_free(&w);
}

START_TEST(test_idle_timeout_after_transfer)
{
    sim_seeds_run("conn_bulk idle_timeout", 120, 1, idle_timeout_seed, NULL, 0, NULL);
}
END_TEST

static int client_closed(void *ud)
{
    world *w = ud;
    return w->cs.closed;
}

/* The server loses the connection mid-transfer; the client's next packets draw stateless resets
 * and the client closes on the first one it recognises (RFC 9000 §10.3). */
static void stateless_reset_seed(uint64_t seed, void *ud, void *res)
{
    lwq_sim_link_config l = lossy_link(0.02);
    world w;
    world_init(&w, seed, 1, 2 * MIB);
    world_start(&w, &l, &l);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, half_way, &w), 0);
    lwq_server_remove(w.n.p.srv, w.n.p.server);
    w.n.p.server = w.ss.c = NULL;
    w.n.server_lost = 1;
    lwq_tstamp lost_at = lwq_sim_now(w.n.sim);
    int rc = lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, client_closed, &w);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w.n.sim));
    ck_assert(w.cs.close.stateless_reset);
    ck_assert(!w.cs.close.idle_timeout);
    /* Well before the 30 s idle timeout: within a few round trips. */
    ck_assert_uint_lt(lwq_sim_now(w.n.sim) - lost_at, 2 * LWQ_SEC);
    world_free(&w);
}

START_TEST(test_stateless_reset_after_server_loses_state)
{
    sim_seeds_run("conn_bulk stateless_reset", 130, 1, stateless_reset_seed, NULL, 0, NULL);
}
END_TEST

/* lwq_conn_check sees each kind of broken bookkeeping it is meant to catch. */
START_TEST(test_conn_check_catches)
{
    lwq_sim_link_config l = lossy_link(0);
    world w;
    world_init(&w, 140, 1, 300000);
    world_start(&w, &l, &l);
    ck_assert_int_eq(lwq_sim_run(w.n.sim, LWQ_TSTAMP_INF, half_way, &w), 0);
    lwq_tstamp now = lwq_sim_now(w.n.sim);
    lwq_conn *c = w.n.p.server;
    ck_assert_ptr_null(lwq_conn_check(c, now));
    ck_assert_uint_gt(c->rec.spaces[LWQ_SPACE_APP].count, 0);
    c->rec.spaces[LWQ_SPACE_APP].bytes_in_flight += 1;
    ck_assert_ptr_nonnull(lwq_conn_check(c, now));
    c->rec.spaces[LWQ_SPACE_APP].bytes_in_flight -= 1;
    c->rec.cc.bytes_in_flight += 1200;
    ck_assert_ptr_nonnull(lwq_conn_check(c, now));
    c->rec.cc.bytes_in_flight -= 1200;
    uint8_t fl = c->rec.spaces[LWQ_SPACE_APP].pkts[c->rec.spaces[LWQ_SPACE_APP].head].flags;
    c->rec.spaces[LWQ_SPACE_APP].pkts[c->rec.spaces[LWQ_SPACE_APP].head].flags = fl ^ LWQ_SENT_ACK_ELICITING;
    ck_assert_ptr_nonnull(lwq_conn_check(c, now));
    c->rec.spaces[LWQ_SPACE_APP].pkts[c->rec.spaces[LWQ_SPACE_APP].head].flags = fl;
    ck_assert_ptr_nonnull(lwq_conn_check(c, now + 3600 * LWQ_SEC)); /* its timers all lie before that */
    c->address_validated = 0;
    uint64_t rx = c->bytes_rx;
    c->bytes_rx = c->bytes_tx / 3 - 1;
    ck_assert_str_eq(lwq_conn_check(c, now), "amplification limit exceeded (RFC 9000 §8.1)");
    c->bytes_rx = rx;
    c->address_validated = 1;
    ck_assert_ptr_null(lwq_conn_check(c, now));
    world_free(&w);
}
END_TEST

Suite *suite_conn_bulk(void)
{
    Suite *s = suite_create("conn_bulk");
    /* One case per scenario, so that make check-long can run them side by side (CK_RUN_CASE). */
    static const char *names[] = {"bulk_0",    "bulk_1",           "bulk_5",         "bulk_10",
                                  "bulk_20",   "thousand_streams", "resets",         "tiny_windows",
                                  "app_close", "idle_timeout",     "stateless_reset"};
    const TTest *tests[] = {test_bulk_loss_0,
                            test_bulk_loss_1,
                            test_bulk_loss_5,
                            test_bulk_loss_10,
                            test_bulk_loss_20,
                            test_thousand_streams,
                            test_resets_both_ways_under_loss,
                            test_tiny_windows_under_loss,
                            test_app_close_under_loss,
                            test_idle_timeout_after_transfer,
                            test_stateless_reset_after_server_loses_state};
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        TCase *b = lwq_test_tcase(names[i]);
        tcase_set_timeout(b, sim_long() ? 86400 : 600);
        tcase_add_test(b, tests[i]);
        suite_add_tcase(s, b);
    }
    TCase *tc = lwq_test_tcase("conn_bulk");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_bulk_regressions);
    tcase_add_test(tc, test_conn_check_catches);
    suite_add_tcase(s, tc);
    return s;
}
