/* Congestion control scenarios on the simulator: link utilisation, slow-start overshoot with and
 * without HyStart++, ramp-up of Cubic and NewReno, sharing a bottleneck, a blackhole, reordering,
 * application-limited senders. Each flow is a client uploading one seeded byte stream that the
 * server checks byte for byte; lwq_conn_check runs on both ends at every step.
 *
 * LWQ_CC_REPORT=1 prints every figure as "CCFIG|scenario|value|unit" (scripts/perf_table.sh);
 * LWQ_SIM_LONG=1 runs the longer variants (more seeds, longer runs); LWQ_CC_DEBUG=1 prints each
 * sender's recovery state and the link counters after a run (LWQ_CC_DEBUG2=1: every 250 ms too). */
#include <math.h>
#include <stdlib.h>
#include "sim/sim.h"
#include "unit/conn_pair.h"

#define MAX_FLOWS 2
#define CHUNK 16384
#define BUCKET (10 * LWQ_MS)
#define MAX_BUCKETS 6000 /* 60 s of 10 ms samples */
#define MB ((uint64_t)1000000)

typedef struct world world;

typedef struct flow {
    pair p;
    world *w;
    lwq_sim_addr caddr, saddr;
    lwq_path cpath;
    lwq_cc_algorithm algo;
    int no_hystart, fixed_threshold;
    uint64_t total;    /* bytes to upload; UINT64_MAX: until the run ends */
    uint64_t app_rate; /* bytes per second the application writes; 0 = as fast as it can */
    lwq_tstamp start_at, est_at, done_at;
    uint64_t sent, got, bad;
    int fin_sent, fin_got, opened, started;
    uint64_t *got_at; /* bytes read by the server at the start of each 10 ms bucket */
    size_t buckets;
    uint64_t min_cwnd_seen, max_cwnd_seen;
    lwq_tstamp ss_exit_at; /* when the sender first left slow start */
    uint64_t ss_queue_drops; /* queue drops on its data link by then */
} flow;

struct world {
    lwq_sim *sim;
    flow f[MAX_FLOWS];
    int nf;
    int data_link[MAX_FLOWS];
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void gen(uint8_t *out, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t o = off + i;
        out[i] = (uint8_t)(mix(o >> 3) >> ((o & 7) * 8));
    }
}

static int reporting(void)
{
    return getenv("LWQ_CC_REPORT") != NULL;
}

static unsigned sim_long(void)
{
    const char *v = getenv("LWQ_SIM_LONG");
    return v && *v && strcmp(v, "0") ? 1 : 0;
}

static void figure(const char *scenario, double value, const char *unit)
{
    if (!reporting())
        return;
    fprintf(stderr, "CCFIG|%s|%.2f|%s\n", scenario, value, unit);
    fflush(stderr);
}

static void client_pump(flow *f, lwq_tstamp now)
{
    lwq_conn *c = f->p.client;
    if (!c || !lwq_conn_is_established(c))
        return;
    if (!f->est_at)
        f->est_at = now;
    if (!f->opened) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(c, 1, &id), 0);
        ck_assert_int_eq(id, 0);
        f->opened = 1;
    }
    uint64_t allowed = f->total;
    if (f->app_rate) {
        uint64_t a = (uint64_t)((double)f->app_rate * (double)(now - f->est_at) / (double)LWQ_SEC) + 1200;
        allowed = a < allowed ? a : allowed;
    }
    uint8_t buf[CHUNK];
    while (!f->fin_sent && f->sent < allowed) {
        uint64_t left = allowed - f->sent;
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        int fin = f->total != UINT64_MAX && f->sent + n == f->total;
        gen(buf, f->sent, n);
        ssize_t r = lwq_stream_write(c, 0, buf, n, fin);
        ck_assert_int_ge(r, 0);
        f->sent += (uint64_t)r;
        if ((size_t)r == n && fin)
            f->fin_sent = 1;
        if ((size_t)r < n)
            break;
    }
    const lwq_cc *cc = &c->rec.cc;
    if (cc->cwnd < f->min_cwnd_seen || !f->min_cwnd_seen)
        f->min_cwnd_seen = cc->cwnd;
    if (cc->cwnd > f->max_cwnd_seen)
        f->max_cwnd_seen = cc->cwnd;
    if (!f->ss_exit_at && cc->ssthresh != UINT64_MAX) {
        world *w = f->w;
        f->ss_exit_at = now;
        f->ss_queue_drops =
            lwq_sim_link_get(w->sim, w->data_link[f - w->f])->stats.dropped[LWQ_SIM_DROP_QUEUE];
    }
}

static void server_read(flow *f, lwq_tstamp now)
{
    lwq_conn *c = f->p.server;
    if (!c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        ;
    uint8_t buf[CHUNK], want[CHUNK];
    while (!f->fin_got) {
        int fin = 0;
        ssize_t r = lwq_stream_read(c, 0, buf, sizeof(buf), &fin);
        if (r < 0)
            break;
        gen(want, f->got, (size_t)r);
        if (memcmp(buf, want, (size_t)r))
            f->bad++;
        f->got += (uint64_t)r;
        if (fin) {
            f->fin_got = 1;
            f->done_at = now;
        }
        if (!r && !fin)
            break;
    }
}

/* Node callbacks: node 2i is flow i's client, 2i + 1 its server. */
static int c_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                  lwq_tstamp now)
{
    flow *f = ud;
    (void)from, (void)to;
    if (!f->p.client)
        return 0;
    int rv = lwq_conn_recv(f->p.client, &f->cpath, d, n, ecn, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static ssize_t c_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                      lwq_tstamp now)
{
    flow *f = ud;
    if (!f->p.client)
        return 0;
    client_pump(f, now);
    size_t seg;
    lwq_path path;
    *from = f->caddr;
    *to = f->saddr;
    return lwq_conn_send(f->p.client, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp app_wake(const flow *f)
{
    if (!f->app_rate || !f->est_at || f->fin_sent)
        return LWQ_TSTAMP_INF;
    return f->est_at + (lwq_tstamp)((double)(f->sent + 1) * (double)LWQ_SEC / (double)f->app_rate);
}

static lwq_tstamp c_next(void *ud)
{
    flow *f = ud;
    if (!f->p.client)
        return f->start_at;
    lwq_tstamp t = lwq_conn_next_timeout(f->p.client), a = app_wake(f);
    return a < t ? a : t;
}

static void client_create(flow *f, lwq_tstamp now)
{
    const char *why;
    ck_assert_int_eq(lwq_context_new(&f->p.cctx, &f->p.ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&f->p.sctx, &f->p.scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&f->p.srv, f->p.sctx, NULL), 0);
    f->cpath.remote_len = lwq_sim_addr_to_sockaddr(f->saddr, &f->cpath.remote);
    f->cpath.local_len = lwq_sim_addr_to_sockaddr(f->caddr, &f->cpath.local);
    ck_assert_int_eq(lwq_conn_client_new(&f->p.client, f->p.cctx, &f->cpath, NULL, 0, NULL, 0, now), 0);
    lwq_recovery *r = &f->p.client->rec;
    if (f->no_hystart)
        r->cc.hystart_enabled = 0;
    if (f->fixed_threshold)
        r->pkt_threshold_max = LWQ_PACKET_THRESHOLD;
    f->started = 1;
}

static int c_timeout(void *ud, lwq_tstamp now)
{
    flow *f = ud;
    if (!f->p.client) {
        client_create(f, now);
        return 0;
    }
    int rv = lwq_conn_handle_timeout(f->p.client, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *c_check(void *ud, lwq_tstamp now)
{
    flow *f = ud;
    return f->p.client ? lwq_conn_check(f->p.client, now) : NULL;
}

static int s_recv(void *ud, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *d, size_t n, uint8_t ecn,
                  lwq_tstamp now)
{
    flow *f = ud;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    path.remote_len = lwq_sim_addr_to_sockaddr(from, &path.remote);
    path.local_len = lwq_sim_addr_to_sockaddr(to, &path.local);
    lwq_conn *c = NULL;
    int rv = lwq_server_recv(f->p.srv, &path, d, n, ecn, now, &c, NULL);
    if (c && !f->p.server)
        f->p.server = c;
    server_read(f, now);
    return rv;
}

static ssize_t s_send(void *ud, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                      lwq_tstamp now)
{
    flow *f = ud;
    if (!f->p.srv)
        return 0;
    lwq_path path;
    *from = f->saddr;
    *to = f->caddr;
    ssize_t n = lwq_server_send(f->p.srv, &path, buf, cap, now);
    if (n || !f->p.server)
        return n;
    server_read(f, now);
    size_t seg;
    return lwq_conn_send(f->p.server, &path, buf, cap, 1, &seg, ecn, now);
}

static lwq_tstamp s_next(void *ud)
{
    flow *f = ud;
    return f->p.server ? lwq_conn_next_timeout(f->p.server) : LWQ_TSTAMP_INF;
}

static int s_timeout(void *ud, lwq_tstamp now)
{
    flow *f = ud;
    int rv = lwq_conn_handle_timeout(f->p.server, now);
    return rv == LWQ_ERR_CLOSED ? 0 : rv;
}

static const char *s_check(void *ud, lwq_tstamp now)
{
    flow *f = ud;
    return f->p.server ? lwq_conn_check(f->p.server, now) : NULL;
}

static const lwq_sim_node_ops client_ops = {c_recv, c_send, c_next, c_timeout, c_check};
static const lwq_sim_node_ops server_ops = {s_recv, s_send, s_next, s_timeout, s_check};

static void world_init(world *w, uint64_t seed, int nf)
{
    memset(w, 0, sizeof(*w));
    lwq_sim_config cfg = {.seed = seed, .replay_args = "cc_sim", .max_time = 120 * LWQ_SEC};
    w->sim = lwq_sim_new(&cfg, lwq_test_alloc);
    ck_assert_ptr_nonnull(w->sim);
    w->nf = nf;
    for (int i = 0; i < nf; i++) {
        flow *f = &w->f[i];
        pair_init(&f->p, lwq_sim_seed(w->sim) * 31 + (uint64_t)i);
        f->w = w;
        f->caddr = (lwq_sim_addr){(uint8_t)(2 * i + 1), 5000};
        f->saddr = (lwq_sim_addr){(uint8_t)(2 * i + 2), 443};
        f->algo = LWQ_CC_ALGO_CUBIC;
        f->total = 10 * MB;
        f->got_at = calloc(MAX_BUCKETS, sizeof(uint64_t));
        ck_assert_ptr_nonnull(f->got_at);
        /* Windows that never limit these transfers: the congestion controller must. */
        f->p.scfg.initial_max_data = f->p.scfg.max_window = 64 << 20;
        f->p.scfg.initial_max_stream_data_bidi_remote = f->p.scfg.max_stream_window = 32 << 20;
        f->p.ccfg.stream_send_buffer = 4 << 20;
        f->p.ccfg.max_sent_packets = f->p.scfg.max_sent_packets = 16384;
        /* A slow-start overshoot at 100 Mbit/s leaves hundreds of holes in the stream. */
        f->p.scfg.max_stream_gaps = 4096;
    }
}

/* After the flows' fields are set: nodes, links (c2s carries the data), the first client now. When
 * shared, every flow's data direction queues into flow 0's (one bottleneck router port). */
static void world_start(world *w, const lwq_sim_link_config *c2s, const lwq_sim_link_config *s2c, int shared)
{
    for (int i = 0; i < w->nf; i++) {
        flow *f = &w->f[i];
        f->p.ccfg.cc = f->algo;
        ck_assert_int_eq(lwq_sim_add_node(w->sim, f->caddr, &client_ops, f), 2 * i);
        ck_assert_int_eq(lwq_sim_add_node(w->sim, f->saddr, &server_ops, f), 2 * i + 1);
    }
    for (int i = 0; i < w->nf; i++) {
        w->data_link[i] = lwq_sim_add_link(w->sim, 2 * i, 2 * i + 1, c2s);
        ck_assert_int_ge(w->data_link[i], 0);
        ck_assert_int_ge(lwq_sim_add_link(w->sim, 2 * i + 1, 2 * i, s2c), 0);
        if (shared && i)
            lwq_sim_link_share(lwq_sim_link_get(w->sim, w->data_link[i]), lwq_sim_link_get(w->sim, w->data_link[0]));
    }
    for (int i = 0; i < w->nf; i++)
        if (!w->f[i].start_at)
            client_create(&w->f[i], 0);
}

static void world_free(world *w)
{
    lwq_sim_del(w->sim);
    for (int i = 0; i < w->nf; i++) {
        flow *f = &w->f[i];
        lwq_conn_del(f->p.client);
        f->p.client = NULL;
        pair_free(&f->p);
        free(f->got_at);
    }
}

static void debug_flow(const flow *f, const char *what)
{
    if (!getenv("LWQ_CC_DEBUG") || !f->p.client)
        return;
    const lwq_recovery *r = &f->p.client->rec;
    fprintf(stderr, "%s: got %lu cwnd %lu ssthr %lu srtt %.1f ms minrtt %.1f lost %lu spurious %lu thr %u events %lu "
            "maxcwnd %lu sent pkts %lu\n", what, (unsigned long)f->got, (unsigned long)r->cc.cwnd,
            (unsigned long)r->cc.ssthresh, (double)r->rtt.smoothed / 1e6, (double)r->rtt.min / 1e6,
            (unsigned long)r->packets_lost, (unsigned long)r->spurious_losses, r->pkt_threshold,
            (unsigned long)r->cc.congestion_events, (unsigned long)f->max_cwnd_seen,
            (unsigned long)f->p.client->stats.packets_sent);
}

/* Samples every flow's progress into its 10 ms buckets; done when every finite flow finished. */
static int sample(void *ud)
{
    world *w = ud;
    lwq_tstamp now = lwq_sim_now(w->sim);
    size_t b = (size_t)(now / BUCKET);
    int done = 1;
    for (int i = 0; i < w->nf; i++) {
        flow *f = &w->f[i];
        while (f->buckets <= b && f->buckets < MAX_BUCKETS) {
            if (f->buckets % 25 == 0 && getenv("LWQ_CC_DEBUG2")) {
                char t[32];
                snprintf(t, sizeof(t), "t=%.2f", (double)now / 1e9);
                debug_flow(f, t);
            }
            f->got_at[f->buckets++] = f->got;
        }
        if (f->total == UINT64_MAX || !f->fin_got)
            done = 0;
    }
    return done;
}

static void run(world *w, lwq_tstamp until)
{
    int rc = lwq_sim_run(w->sim, until, sample, w);
    for (int i = 0; i < w->nf; i++)
        debug_flow(&w->f[i], "flow");
    if (getenv("LWQ_CC_DEBUG"))
        lwq_sim_print_stats(w->sim, stderr);
    ck_assert_msg(rc == 0, "%s", lwq_sim_report(w->sim));
    sample(w);
    for (int i = 0; i < w->nf; i++) {
        ck_assert_uint_eq(w->f[i].bad, 0);
        if (w->f[i].total != UINT64_MAX)
            ck_assert_msg(w->f[i].fin_got, "flow %d: %lu of %lu bytes", i, (unsigned long)w->f[i].got,
                          (unsigned long)w->f[i].total);
    }
}

/* Bytes the server read in [from, to). */
static uint64_t got_between(const flow *f, lwq_tstamp from, lwq_tstamp to)
{
    size_t a = (size_t)(from / BUCKET), b = (size_t)(to / BUCKET);
    if (b >= f->buckets)
        b = f->buckets - 1;
    if (a > b)
        return 0;
    return f->got_at[b] - f->got_at[a];
}

static double mbps(uint64_t bytes, lwq_tstamp t)
{
    return t ? (double)bytes * 8 / ((double)t / (double)LWQ_SEC) / 1e6 : 0;
}

/* The runner link (10 Mbit/s, 30 ms RTT, 25-packet queue); loss in both directions. */
static lwq_sim_link_config runner_link(double loss)
{
    lwq_sim_link_config l = {.delay = 15 * LWQ_MS, .rate = 10000000, .queue_packets = 25, .loss = loss};
    return l;
}

static lwq_sim_link_config ack_link(lwq_tstamp delay, double loss)
{
    lwq_sim_link_config l = {.delay = delay, .rate = 10000000, .queue_packets = 1000, .loss = loss};
    return l;
}

/* Goodput of one 10 MB upload from the end of the handshake to the last byte read. */
static double runner_goodput(uint64_t seed, double loss, lwq_cc_algorithm algo)
{
    world w;
    world_init(&w, seed, 1);
    w.f[0].algo = algo;
    lwq_sim_link_config d = runner_link(loss), a = ack_link(15 * LWQ_MS, loss);
    world_start(&w, &d, &a, 0);
    run(&w, LWQ_TSTAMP_INF);
    double g = mbps(w.f[0].total, w.f[0].done_at - w.f[0].est_at);
    world_free(&w);
    return g;
}

START_TEST(test_runner_link_clean)
{
    double g = runner_goodput(11, 0, LWQ_CC_ALGO_CUBIC);
    figure("runner 10 Mbit/s 30 ms, 0% loss: goodput", g, "Mbit/s");
    ck_assert_msg(g >= 9.0, "goodput %.2f Mbit/s", g);
}
END_TEST

/* 1 % random loss each way. A loss-based controller treats every loss as congestion: an AIMD
 * sender's average window is about 1.22 / sqrt(p) = 12 datagrams, and RFC 9438 §4.3 makes Cubic's
 * Reno-friendly region match it; 12 datagrams per 30 ms is 3.9 Mbit/s, 40 % of this link. 90 % is
 * out of reach for RFC 9438 here (docs/performance.md); the test holds the figure it reaches and
 * NewReno's as the floor. */
START_TEST(test_runner_link_loss_1)
{
    double sum = 0, reno = 0;
    unsigned seeds = sim_long() ? 10 : 2;
    for (unsigned i = 0; i < seeds; i++) {
        double g = runner_goodput(20 + i, 0.01, LWQ_CC_ALGO_CUBIC), r = runner_goodput(20 + i, 0.01, LWQ_CC_ALGO_NEWRENO);
        ck_assert_msg(g >= 3.5, "seed %u: goodput %.2f Mbit/s", 20 + i, g);
        sum += g;
        reno += r;
    }
    figure("runner 10 Mbit/s 30 ms, 1% loss: Cubic goodput", sum / seeds, "Mbit/s");
    figure("runner 10 Mbit/s 30 ms, 1% loss: NewReno goodput", reno / seeds, "Mbit/s");
    ck_assert_msg(sum >= reno * 0.95, "Cubic %.2f, NewReno %.2f Mbit/s", sum / seeds, reno / seeds);
}
END_TEST


/* Queue-overflow losses while the sender is in slow start on the runner link: HyStart++ (RFC 9406)
 * leaves slow start when the round-trip time rises, before the 25-packet queue overflows. */
static uint64_t slow_start_drops(uint64_t seed, int hystart)
{
    world w;
    world_init(&w, seed, 1);
    w.f[0].no_hystart = !hystart;
    w.f[0].total = 3 * MB;
    lwq_sim_link_config d = runner_link(0), a = ack_link(15 * LWQ_MS, 0);
    world_start(&w, &d, &a, 0);
    run(&w, LWQ_TSTAMP_INF);
    ck_assert_uint_gt(w.f[0].ss_exit_at, 0);
    /* Drops already in the pipe when the sender reacts count too: those of the next round trip. */
    uint64_t drops = w.f[0].ss_queue_drops;
    world_free(&w);
    return drops;
}

START_TEST(test_hystart_slow_start_overflow)
{
    uint64_t with = 0, without = 0;
    unsigned seeds = sim_long() ? 10 : 2;
    for (unsigned i = 0; i < seeds; i++) {
        with += slow_start_drops(30 + i, 1);
        without += slow_start_drops(30 + i, 0);
    }
    figure("slow start on the runner link: queue drops with HyStart++", (double)with / seeds, "packets");
    figure("slow start on the runner link: queue drops without HyStart++", (double)without / seeds, "packets");
    /* CSS (RFC 9406 §4.3) still grows 1.25x a round for 5 rounds, so some overflow remains. */
    ck_assert_msg(with * 10 <= without * 8 && without > 0, "with %lu, without %lu", (unsigned long)with,
                  (unsigned long)without);
}
END_TEST

/* 100 Mbit/s, 100 ms RTT, a queue of one bandwidth-delay product (1042 datagrams): how long until
 * one round trip's delivery reaches 80 % of the link, and the mean over the first 10 s. */
static void ramp(lwq_cc_algorithm algo, double *t80, double *mean)
{
    world w;
    world_init(&w, 40, 1);
    w.f[0].algo = algo;
    w.f[0].total = UINT64_MAX;
    lwq_sim_link_config d = {.delay = 50 * LWQ_MS, .rate = 100000000, .queue_packets = 1042};
    lwq_sim_link_config a = {.delay = 50 * LWQ_MS, .rate = 100000000, .queue_packets = 10000};
    world_start(&w, &d, &a, 0);
    lwq_tstamp end = (sim_long() ? 20 : 6) * LWQ_SEC;
    run(&w, end);
    const flow *f = &w.f[0];
    *t80 = -1;
    for (lwq_tstamp t = f->est_at; t + 100 * LWQ_MS <= end; t += BUCKET)
        if (mbps(got_between(f, t, t + 100 * LWQ_MS), 100 * LWQ_MS) >= 80) {
            *t80 = (double)(t + 100 * LWQ_MS - f->est_at) / (double)LWQ_SEC;
            break;
        }
    *mean = mbps(got_between(f, f->est_at, end), end - f->est_at);
    world_free(&w);
}

START_TEST(test_ramp_cubic_vs_newreno)
{
    double tc, mc, tn, mn;
    ramp(LWQ_CC_ALGO_CUBIC, &tc, &mc);
    ramp(LWQ_CC_ALGO_NEWRENO, &tn, &mn);
    figure("100 Mbit/s 100 ms 1 BDP queue: Cubic time to 80% utilisation", tc, "s");
    figure("100 Mbit/s 100 ms 1 BDP queue: NewReno time to 80% utilisation", tn, "s");
    figure("100 Mbit/s 100 ms 1 BDP queue: Cubic mean goodput", mc, "Mbit/s");
    figure("100 Mbit/s 100 ms 1 BDP queue: NewReno mean goodput", mn, "Mbit/s");
    ck_assert_msg(tc > 0 && tc < 3.0, "Cubic: %.2f s", tc);
    ck_assert_msg(tn > 0 && tn < 3.0, "NewReno: %.2f s", tn);
    ck_assert_msg(mc >= 70, "Cubic mean %.1f Mbit/s", mc);
}
END_TEST

/* Two flows through one bottleneck (the runner link's 10 Mbit/s and 25-packet queue), the second
 * starting 1 s later; shares over [10 s, 20 s]. */
static void share(lwq_cc_algorithm a0, lwq_cc_algorithm a1, uint64_t seed, double *jain, double *s0, double *total)
{
    world w;
    world_init(&w, seed, 2);
    w.f[0].algo = a0;
    w.f[1].algo = a1;
    w.f[0].total = w.f[1].total = UINT64_MAX;
    w.f[1].start_at = LWQ_SEC;
    lwq_sim_link_config d = runner_link(0), a = ack_link(15 * LWQ_MS, 0);
    world_start(&w, &d, &a, 1);
    lwq_tstamp end = 20 * LWQ_SEC;
    run(&w, end);
    double x0 = mbps(got_between(&w.f[0], end / 2, end), end / 2), x1 = mbps(got_between(&w.f[1], end / 2, end), end / 2);
    *jain = (x0 + x1) * (x0 + x1) / (2 * (x0 * x0 + x1 * x1));
    *s0 = x0 / (x0 + x1);
    *total = x0 + x1;
    world_free(&w);
}

START_TEST(test_two_cubic_flows_share_fairly)
{
    double j, s0, tot;
    share(LWQ_CC_ALGO_CUBIC, LWQ_CC_ALGO_CUBIC, 50, &j, &s0, &tot);
    figure("two Cubic flows, shared 10 Mbit/s bottleneck: Jain index over 10-20 s", j, "");
    figure("two Cubic flows, shared 10 Mbit/s bottleneck: total goodput", tot, "Mbit/s");
    ck_assert_msg(j >= 0.9, "Jain %.3f (first flow's share %.2f)", j, s0);
    ck_assert_msg(tot >= 8.5, "total %.2f Mbit/s", tot);
}
END_TEST

START_TEST(test_cubic_against_newreno)
{
    double j, s0, tot;
    share(LWQ_CC_ALGO_CUBIC, LWQ_CC_ALGO_NEWRENO, 60, &j, &s0, &tot);
    figure("Cubic vs NewReno, shared 10 Mbit/s bottleneck: Cubic's share", s0, "");
    ck_assert_msg(s0 >= 0.25 && s0 <= 0.75, "Cubic's share %.2f", s0);
    ck_assert_msg(tot >= 8.5, "total %.2f Mbit/s", tot);
}
END_TEST

/* Both directions of the runner link drop everything for 2 s in the middle of a 10 MB upload: the
 * sender backs off (PTO, persistent congestion, RFC 9002 §7.6) and is back near the link rate soon
 * after the path returns. */
START_TEST(test_blackhole_recovers)
{
    world w;
    world_init(&w, 70, 1);
    lwq_sim_link_config d = runner_link(0), a = ack_link(15 * LWQ_MS, 0);
    d.blackout[0].from = a.blackout[0].from = 3 * LWQ_SEC;
    d.blackout[0].until = a.blackout[0].until = 5 * LWQ_SEC;
    d.blackouts = a.blackouts = 1;
    world_start(&w, &d, &a, 0);
    run(&w, LWQ_TSTAMP_INF);
    const flow *f = &w.f[0];
    lwq_tstamp resume = 0;
    for (size_t b = 500; b + 1 < f->buckets; b++)
        if (f->got_at[b + 1] > f->got_at[b]) {
            resume = (lwq_tstamp)(b + 1) * BUCKET;
            break;
        }
    ck_assert_uint_gt(resume, 0);
    double stall = (double)(resume - 5 * LWQ_SEC) / (double)LWQ_SEC;
    double after = mbps(got_between(f, resume + LWQ_SEC, resume + 2 * LWQ_SEC), LWQ_SEC);
    figure("2 s blackhole on the runner link: stall after the path returns", stall, "s");
    figure("2 s blackhole on the runner link: goodput 1-2 s after resuming", after, "Mbit/s");
    ck_assert_uint_eq(f->min_cwnd_seen, lwq_cc_min_window(LWQ_CONN_MDS)); /* persistent congestion */
    ck_assert_msg(stall < 2.0, "stalled %.2f s after the blackhole", stall);
    ck_assert_msg(after >= 8.0, "%.2f Mbit/s after resuming", after);
    world_free(&w);
}
END_TEST

/* 100 Mbit/s, 30 ms RTT, 1 % and 3 % of datagrams held back 5 ms (about 40 datagrams of
 * reordering), no loss: with the adaptive packet threshold against the fixed kPacketThreshold 3. */
static double reorder_goodput(double reorder, int fixed, uint64_t *spurious)
{
    world w;
    world_init(&w, 80, 1);
    w.f[0].fixed_threshold = fixed;
    w.f[0].total = (sim_long() ? 40 : 12) * MB;
    lwq_sim_link_config d = {.delay = 15 * LWQ_MS, .rate = 100000000, .queue_packets = 300, .reorder = reorder,
                             .reorder_delay = 5 * LWQ_MS};
    lwq_sim_link_config a = d;
    world_start(&w, &d, &a, 0);
    run(&w, LWQ_TSTAMP_INF);
    double g = mbps(w.f[0].total, w.f[0].done_at - w.f[0].est_at);
    *spurious = w.f[0].p.client->rec.spurious_losses;
    world_free(&w);
    return g;
}

START_TEST(test_reordering_adaptive_threshold)
{
    static const double rates[] = {0.01, 0.03};
    for (size_t i = 0; i < 2; i++) {
        uint64_t sa, sf;
        double ga = reorder_goodput(rates[i], 0, &sa), gf = reorder_goodput(rates[i], 1, &sf);
        char name[128];
        snprintf(name, sizeof(name), "100 Mbit/s 30 ms, %.0f%% reordered by 5 ms: goodput, fixed threshold 3",
                 rates[i] * 100);
        figure(name, gf, "Mbit/s");
        snprintf(name, sizeof(name), "100 Mbit/s 30 ms, %.0f%% reordered by 5 ms: goodput, adaptive threshold",
                 rates[i] * 100);
        figure(name, ga, "Mbit/s");
        snprintf(name, sizeof(name), "100 Mbit/s 30 ms, %.0f%% reordered by 5 ms: spurious losses, fixed / adaptive",
                 rates[i] * 100);
        figure(name, (double)sf / (double)(sa ? sa : 1), "x");
        ck_assert_msg(ga >= gf && ga >= 80 && sa < sf,
                      "%.0f%%: adaptive %.1f, fixed %.1f Mbit/s (spurious %lu / %lu)", rates[i] * 100, ga, gf,
                      (unsigned long)sa, (unsigned long)sf);
    }
}
END_TEST

/* An application writing 1 Mbit/s over a 100 Mbit/s path never fills the window: its
 * acknowledgements must not grow it (RFC 9002 §7.8). */
START_TEST(test_app_limited_does_not_grow_cwnd)
{
    world w;
    world_init(&w, 90, 1);
    w.f[0].total = 375000; /* 3 s at 1 Mbit/s */
    w.f[0].app_rate = 125000;
    lwq_sim_link_config d = {.delay = 15 * LWQ_MS, .rate = 100000000, .queue_packets = 300};
    world_start(&w, &d, &d, 0);
    run(&w, LWQ_TSTAMP_INF);
    const flow *f = &w.f[0];
    figure("app-limited 1 Mbit/s sender on 100 Mbit/s: largest cwnd", (double)f->max_cwnd_seen / 1200, "datagrams");
    ck_assert_uint_le(f->max_cwnd_seen, 2 * lwq_cc_initial_window(LWQ_CONN_MDS));
    ck_assert_uint_ge(f->done_at - f->est_at, 2900 * LWQ_MS);
    world_free(&w);
}
END_TEST

/* The runner link's router marks ECT datagrams CE once 8 are queued (RFC 3168): the sender reduces
 * on the marks (RFC 9002 §7.1, through lwq_recovery_on_ecn_ce) and the queue overflows far less
 * than with ECN off, at nearly the same goodput. */
static void ecn_run(int ecn_on, double *goodput, uint64_t *drops, uint64_t *ce_events)
{
    world w;
    world_init(&w, 95, 1);
    w.f[0].p.ccfg.disable_ecn = !ecn_on;
    lwq_sim_link_config d = runner_link(0), a = ack_link(15 * LWQ_MS, 0);
    d.ecn = LWQ_SIM_ECN_MARK;
    d.ce_threshold = 8;
    world_start(&w, &d, &a, 0);
    run(&w, LWQ_TSTAMP_INF);
    *goodput = mbps(w.f[0].total, w.f[0].done_at - w.f[0].est_at);
    *drops = lwq_sim_link_get(w.sim, w.data_link[0])->stats.dropped[LWQ_SIM_DROP_QUEUE];
    *ce_events = w.f[0].p.client->rec.ecn_ce_events;
    world_free(&w);
}

START_TEST(test_ecn_marks_instead_of_drops)
{
    double g_on, g_off;
    uint64_t d_on, d_off, ce_on, ce_off;
    ecn_run(1, &g_on, &d_on, &ce_on);
    ecn_run(0, &g_off, &d_off, &ce_off);
    figure("runner link marking CE at 8 queued: goodput with ECN", g_on, "Mbit/s");
    figure("runner link marking CE at 8 queued: goodput without ECN", g_off, "Mbit/s");
    figure("runner link marking CE at 8 queued: queue drops with ECN", (double)d_on, "packets");
    figure("runner link marking CE at 8 queued: queue drops without ECN", (double)d_off, "packets");
    figure("runner link marking CE at 8 queued: ECN-CE congestion events", (double)ce_on, "");
    ck_assert_uint_gt(ce_on, 0);
    ck_assert_uint_eq(ce_off, 0);
    ck_assert_msg(2 * d_on <= d_off, "queue drops: %lu with ECN, %lu without", (unsigned long)d_on,
                  (unsigned long)d_off);
    /* Marking at 8 of 25 queued datagrams keeps the queue short; after Cubic's 0.7 reduction the window can dip
     * below the 31-datagram BDP, so the link runs a little under the drop-tail figure but stays near line rate. */
    ck_assert_msg(g_on >= 8.5 && g_on >= 0.9 * g_off, "goodput %.2f Mbit/s with ECN, %.2f without", g_on, g_off);
}
END_TEST

Suite *suite_cc_sim(void)
{
    Suite *s = suite_create("cc_sim");
    TCase *tc = lwq_test_tcase("cc_sim");
    tcase_set_timeout(tc, sim_long() ? 3600 : 300);
    tcase_add_test(tc, test_runner_link_clean);
    tcase_add_test(tc, test_runner_link_loss_1);
    tcase_add_test(tc, test_hystart_slow_start_overflow);
    tcase_add_test(tc, test_ramp_cubic_vs_newreno);
    tcase_add_test(tc, test_two_cubic_flows_share_fairly);
    tcase_add_test(tc, test_cubic_against_newreno);
    tcase_add_test(tc, test_blackhole_recovers);
    tcase_add_test(tc, test_reordering_adaptive_threshold);
    tcase_add_test(tc, test_app_limited_does_not_grow_cwnd);
    tcase_add_test(tc, test_ecn_marks_instead_of_drops);
    suite_add_tcase(s, tc);
    return s;
}
