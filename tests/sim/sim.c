/* The simulator loop: let every node send what it wants now, check invariants, then advance the
 * virtual clock to the earliest event (a datagram arrival or a node's timer) and handle that one. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "sim/sim.h"
#include "base/mem.h"

#define MAX_NODES 16
#define MAX_LINKS 32
#define MAX_REBINDS 16
#define REPORT_CAP 1536

struct node {
    lwq_sim_addr addr;
    const lwq_sim_node_ops *ops;
    void *ud;
};

struct rebind {
    int node;
    lwq_sim_addr outside;
    lwq_tstamp at;
};

struct lwq_sim {
    lwq_sim_config cfg;
    const lwq_allocator *alloc;
    lwq_tstamp now;
    lwq_sim_stats stats;
    uint64_t seq, hash;
    int failed;
    struct node nodes[MAX_NODES];
    int nnodes;
    lwq_sim_link links[MAX_LINKS];
    int link_from[MAX_LINKS], link_to[MAX_LINKS], nlinks;
    struct rebind rebinds[MAX_REBINDS];
    int nrebinds;
    lwq_sim_pkt **heap; /* in-flight datagrams, min-heap on (deliver_at, seq) */
    size_t heap_len, heap_cap;
    uint8_t *buf;
    char report[REPORT_CAP];
};

static uint64_t env_seed(uint64_t dflt)
{
    const char *s = getenv("LWQ_SIM_SEED");
    char *end;
    if (!s || !*s)
        return dflt;
    unsigned long long v = strtoull(s, &end, 0);
    return *end ? dflt : (uint64_t)v;
}

lwq_sim *lwq_sim_new(const lwq_sim_config *cfg, const lwq_allocator *a)
{
    lwq_sim *sim = lwq_calloc(a, 1, sizeof(*sim));
    if (!sim)
        return NULL;
    sim->cfg = *cfg;
    sim->alloc = a;
    sim->cfg.seed = env_seed(cfg->seed);
    if (!sim->cfg.trace && getenv("LWQ_SIM_TRACE"))
        sim->cfg.trace = stderr;
    if (!sim->cfg.max_steps)
        sim->cfg.max_steps = 10000000;
    if (!sim->cfg.max_time)
        sim->cfg.max_time = 3600 * LWQ_SEC;
    if (!sim->cfg.max_sends)
        sim->cfg.max_sends = 10000;
    if (!sim->cfg.max_datagram)
        sim->cfg.max_datagram = 65507;
    if (!sim->cfg.replay_args)
        sim->cfg.replay_args = "sim";
    sim->hash = 0xcbf29ce484222325ull;
    sim->buf = lwq_malloc(a, sim->cfg.max_datagram);
    if (!sim->buf) {
        lwq_free(a, sim);
        return NULL;
    }
    return sim;
}

void lwq_sim_del(lwq_sim *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->heap_len; i++)
        lwq_free(sim->alloc, sim->heap[i]);
    lwq_free(sim->alloc, sim->heap);
    for (int i = 0; i < sim->nlinks; i++)
        lwq_sim_link_free(&sim->links[i]);
    lwq_free(sim->alloc, sim->buf);
    lwq_free(sim->alloc, sim);
}

int lwq_sim_add_node(lwq_sim *sim, lwq_sim_addr addr, const lwq_sim_node_ops *ops, void *node)
{
    if (sim->nnodes == MAX_NODES || !ops || !ops->send)
        return LWQ_ERR_LIMIT;
    for (int i = 0; i < sim->nnodes; i++)
        if (lwq_sim_addr_eq(sim->nodes[i].addr, addr))
            return LWQ_ERR_INVAL;
    sim->nodes[sim->nnodes] = (struct node){addr, ops, node};
    return sim->nnodes++;
}

static int find_link(const lwq_sim *sim, int from, int to)
{
    for (int i = 0; i < sim->nlinks; i++)
        if (sim->link_from[i] == from && sim->link_to[i] == to)
            return i;
    return -1;
}

int lwq_sim_add_link(lwq_sim *sim, int from, int to, const lwq_sim_link_config *cfg)
{
    if (from < 0 || from >= sim->nnodes || to < 0 || to >= sim->nnodes || find_link(sim, from, to) >= 0)
        return LWQ_ERR_INVAL;
    if (sim->nlinks == MAX_LINKS)
        return LWQ_ERR_LIMIT;
    int i = sim->nlinks;
    /* Each direction draws from its own stream, so adding a link does not disturb the others. */
    int rc = lwq_sim_link_init(&sim->links[i], cfg, sim->cfg.seed, (uint64_t)i + 1, sim->alloc);
    if (rc < 0)
        return rc;
    sim->link_from[i] = from;
    sim->link_to[i] = to;
    return sim->nlinks++;
}

int lwq_sim_rebind(lwq_sim *sim, int node, lwq_sim_addr outside, lwq_tstamp at)
{
    if (node < 0 || node >= sim->nnodes)
        return LWQ_ERR_INVAL;
    if (sim->nrebinds == MAX_REBINDS)
        return LWQ_ERR_LIMIT;
    sim->rebinds[sim->nrebinds++] = (struct rebind){node, outside, at};
    return 0;
}

static lwq_sim_addr current_addr(const lwq_sim *sim, int node, lwq_tstamp now)
{
    lwq_sim_addr a = sim->nodes[node].addr;
    lwq_tstamp best = 0;
    int found = 0;
    for (int i = 0; i < sim->nrebinds; i++) {
        const struct rebind *r = &sim->rebinds[i];
        if (r->node == node && r->at <= now && (!found || r->at >= best)) {
            a = r->outside;
            best = r->at;
            found = 1;
        }
    }
    return a;
}

lwq_sim_addr lwq_sim_node_addr(const lwq_sim *sim, int node)
{
    return current_addr(sim, node, sim->now);
}

/* The node `to` names now or named before a rebinding: -1 when none. */
static int route(const lwq_sim *sim, lwq_sim_addr to)
{
    for (int i = 0; i < sim->nnodes; i++)
        if (lwq_sim_addr_eq(current_addr(sim, i, sim->now), to))
            return i;
    for (int i = 0; i < sim->nnodes; i++)
        if (lwq_sim_addr_eq(sim->nodes[i].addr, to))
            return i;
    for (int i = 0; i < sim->nrebinds; i++)
        if (sim->rebinds[i].at <= sim->now && lwq_sim_addr_eq(sim->rebinds[i].outside, to))
            return sim->rebinds[i].node;
    return -1;
}

static void fmt_time(char *buf, size_t cap, lwq_tstamp t)
{
    snprintf(buf, cap, "%llu.%09llus", (unsigned long long)(t / LWQ_SEC), (unsigned long long)(t % LWQ_SEC));
}

static void replay_command(char *buf, size_t cap)
{
    char exe[256], cwd[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(buf, cap, "build/tests/unit-tests");
        return;
    }
    exe[n] = 0;
    size_t k = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
    if (k && strncmp(exe, cwd, k) == 0 && exe[k] == '/')
        snprintf(buf, cap, "%s", exe + k + 1);
    else
        snprintf(buf, cap, "%s", exe);
}

__attribute__((format(printf, 3, 4))) static int fail(lwq_sim *sim, int code, const char *fmt, ...)
{
    char msg[384], t[32], cmd[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fmt_time(t, sizeof(t), sim->now);
    replay_command(cmd, sizeof(cmd));
    snprintf(sim->report, sizeof(sim->report),
             "sim failure: %s\n  seed=%llu step=%llu time=%s\n  replay: LWQ_SIM_SEED=%llu %s %s\n", msg,
             (unsigned long long)sim->cfg.seed, (unsigned long long)sim->stats.steps, t,
             (unsigned long long)sim->cfg.seed, cmd, sim->cfg.replay_args);
    if (!sim->cfg.quiet)
        fputs(sim->report, stderr);
    if (sim->cfg.trace)
        fputs(sim->report, sim->cfg.trace);
    sim->failed = code;
    return code;
}

static void hash_bytes(lwq_sim *sim, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        sim->hash = (sim->hash ^ b[i]) * 0x100000001b3ull;
}

/* Every event enters the trace hash, and the trace file when there is one. */
static void record(lwq_sim *sim, const char *what, const char *unit, int id, const lwq_sim_pkt *pkt)
{
    uint64_t v[2] = {sim->now, (uint64_t)id};
    hash_bytes(sim, what, strlen(what));
    hash_bytes(sim, v, sizeof(v));
    if (pkt) {
        uint64_t w[5] = {pkt->len, pkt->ecn, pkt->from.host, pkt->to.host,
                         (uint64_t)pkt->from.port << 16 | pkt->to.port};
        hash_bytes(sim, w, sizeof(w));
        hash_bytes(sim, pkt->data, pkt->len);
    }
    if (!sim->cfg.trace)
        return;
    char t[32], a[24], b[24];
    fmt_time(t, sizeof(t), sim->now);
    if (pkt)
        fprintf(sim->cfg.trace, "%s %s %d %s %s > %s len %zu ecn %u\n", t, unit, id, what,
                lwq_sim_addr_str(pkt->from, a, sizeof(a)), lwq_sim_addr_str(pkt->to, b, sizeof(b)), pkt->len, pkt->ecn);
    else
        fprintf(sim->cfg.trace, "%s %s %d %s\n", t, unit, id, what);
}

static int heap_less(const lwq_sim_pkt *a, const lwq_sim_pkt *b)
{
    return a->deliver_at < b->deliver_at || (a->deliver_at == b->deliver_at && a->seq < b->seq);
}

static int heap_push(lwq_sim *sim, lwq_sim_pkt *p)
{
    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 64;
        lwq_sim_pkt **h = lwq_realloc(sim->alloc, sim->heap, cap * sizeof(*h));
        if (!h)
            return LWQ_ERR_NOMEM;
        sim->heap = h;
        sim->heap_cap = cap;
    }
    p->seq = sim->seq++;
    size_t i = sim->heap_len++;
    while (i && heap_less(p, sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = p;
    return 0;
}

static lwq_sim_pkt *heap_pop(lwq_sim *sim)
{
    lwq_sim_pkt *top = sim->heap[0], *last = sim->heap[--sim->heap_len];
    size_t i = 0, n = sim->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(sim->heap[c + 1], sim->heap[c]))
            c++;
        if (!heap_less(sim->heap[c], last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n)
        sim->heap[i] = last;
    return top;
}

static int emit(lwq_sim *sim, int node, size_t len, lwq_sim_addr from, lwq_sim_addr to, uint8_t ecn)
{
    lwq_sim_pkt *pkt = lwq_sim_pkt_new(sim->alloc, sim->buf, len);
    if (!pkt)
        return fail(sim, LWQ_ERR_NOMEM, "out of memory");
    if (lwq_sim_addr_eq(from, sim->nodes[node].addr))
        from = current_addr(sim, node, sim->now);
    pkt->from = from;
    pkt->to = to;
    pkt->ecn = ecn & 3;
    sim->stats.sent++;
    int dst = route(sim, to), li = dst < 0 ? -1 : find_link(sim, node, dst);
    if (li < 0) {
        sim->stats.unroutable++;
        record(sim, "unroutable", "node", node, pkt);
        lwq_free(sim->alloc, pkt);
        return 0;
    }
    lwq_sim_link *l = &sim->links[li];
    lwq_sim_link_stats before = l->stats;
    lwq_sim_pkt *out[2];
    record(sim, "send", "link", li, pkt);
    int n = lwq_sim_link_offer(l, pkt, sim->now, out);
    if (n < 0)
        return fail(sim, n, "out of memory");
    for (int c = 0; c < LWQ_SIM_DROP_COUNT; c++)
        if (l->stats.dropped[c] != before.dropped[c])
            record(sim, lwq_sim_drop_name((lwq_sim_drop)c), "link", li, NULL);
    for (int i = 0; i < n; i++) {
        out[i]->link = li;
        if (heap_push(sim, out[i]) < 0) {
            for (int j = i; j < n; j++)
                lwq_free(sim->alloc, out[j]);
            return fail(sim, LWQ_ERR_NOMEM, "out of memory");
        }
    }
    return 0;
}

static int send_all(lwq_sim *sim)
{
    for (int i = 0; i < sim->nnodes; i++) {
        const struct node *nd = &sim->nodes[i];
        for (unsigned k = 0;; k++) {
            lwq_sim_addr from = nd->addr, to = {0, 0};
            uint8_t ecn = LWQ_SIM_NOT_ECT;
            if (k == sim->cfg.max_sends)
                return fail(sim, LWQ_ERR_LIMIT, "node %d sent %u datagrams in one step (runaway sender)", i, k);
            ssize_t n = nd->ops->send(nd->ud, sim->buf, sim->cfg.max_datagram, &from, &to, &ecn, sim->now);
            if (n < 0)
                return fail(sim, (int)n, "node %d send: %s", i, lwq_strerror((int)n));
            if (n == 0)
                break;
            if ((size_t)n > sim->cfg.max_datagram)
                return fail(sim, LWQ_ERR_STATE, "node %d send: %zd bytes in a %zu-byte buffer", i, n,
                            sim->cfg.max_datagram);
            int rc = emit(sim, i, (size_t)n, from, to, ecn);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* The node's own invariants, and no timer in the past. Returns the earliest timer's node in *who. */
static int check_all(lwq_sim *sim, lwq_tstamp *next, int *who)
{
    char a[32], b[32];
    *next = LWQ_TSTAMP_INF;
    *who = -1;
    for (int i = 0; i < sim->nnodes; i++) {
        const struct node *nd = &sim->nodes[i];
        const char *msg = nd->ops->check ? nd->ops->check(nd->ud, sim->now) : NULL;
        if (msg)
            return fail(sim, LWQ_ERR_STATE, "node %d check: %s", i, msg);
        lwq_tstamp t = nd->ops->next_timeout ? nd->ops->next_timeout(nd->ud) : LWQ_TSTAMP_INF;
        if (t < sim->now) {
            fmt_time(a, sizeof(a), t);
            fmt_time(b, sizeof(b), sim->now);
            return fail(sim, LWQ_ERR_STATE, "node %d timer %s is in the past (now %s)", i, a, b);
        }
        if (t < *next) {
            *next = t;
            *who = i;
        }
    }
    return 0;
}

static int deliver(lwq_sim *sim)
{
    lwq_sim_pkt *pkt = heap_pop(sim);
    lwq_sim_link *l = &sim->links[pkt->link];
    int dst = sim->link_to[pkt->link], rc = 0;
    const struct node *nd = &sim->nodes[dst];
    if (!lwq_sim_addr_eq(pkt->to, current_addr(sim, dst, sim->now))) {
        lwq_sim_link_dropped(l, pkt, LWQ_SIM_DROP_NAT); /* RFC 9000 §9.3: the old binding is gone */
        record(sim, "nat", "link", pkt->link, pkt);
    } else {
        lwq_sim_link_delivered(l, pkt); /* captured as on the wire, before the NAT rewrites it */
        sim->stats.delivered++;
        record(sim, "deliver", "link", pkt->link, pkt);
        pkt->to = nd->addr;
        if (nd->ops->recv)
            rc = nd->ops->recv(nd->ud, pkt->from, pkt->to, pkt->data, pkt->len, pkt->ecn, sim->now);
    }
    lwq_free(sim->alloc, pkt);
    return rc < 0 ? fail(sim, rc, "node %d recv: %s", dst, lwq_strerror(rc)) : 0;
}

int lwq_sim_run(lwq_sim *sim, lwq_tstamp until, int (*done)(void *ud), void *ud)
{
    if (sim->failed)
        return sim->failed;
    for (;;) {
        lwq_tstamp tn;
        int who, rc = send_all(sim);
        if (rc < 0 || (rc = check_all(sim, &tn, &who)) < 0)
            return rc;
        if (done && done(ud))
            return 0;
        lwq_tstamp tp = sim->heap_len ? sim->heap[0]->deliver_at : LWQ_TSTAMP_INF, t = tp < tn ? tp : tn;
        if (t > until) {
            if (until != LWQ_TSTAMP_INF && until > sim->now)
                sim->now = until;
            return 0;
        }
        if (t == LWQ_TSTAMP_INF)
            return done ? fail(sim, LWQ_ERR_AGAIN, "stalled: nothing left to happen, scenario not done") : 0;
        if (t > sim->cfg.max_time)
            return fail(sim, LWQ_ERR_LIMIT, "virtual time limit reached");
        if (sim->stats.steps == sim->cfg.max_steps)
            return fail(sim, LWQ_ERR_LIMIT, "step limit reached");
        sim->stats.steps++;
        sim->now = t;
        if (tp <= tn) {
            rc = deliver(sim);
        } else {
            const struct node *nd = &sim->nodes[who];
            sim->stats.timeouts++;
            record(sim, "timeout", "node", who, NULL);
            rc = nd->ops->on_timeout ? nd->ops->on_timeout(nd->ud, sim->now) : 0;
            if (rc < 0)
                rc = fail(sim, rc, "node %d on_timeout: %s", who, lwq_strerror(rc));
        }
        if (rc < 0)
            return rc;
    }
}

lwq_tstamp lwq_sim_now(const lwq_sim *sim)
{
    return sim->now;
}
uint64_t lwq_sim_seed(const lwq_sim *sim)
{
    return sim->cfg.seed;
}
uint64_t lwq_sim_trace_hash(const lwq_sim *sim)
{
    return sim->hash;
}
const lwq_sim_stats *lwq_sim_stats_get(const lwq_sim *sim)
{
    return &sim->stats;
}
const char *lwq_sim_report(const lwq_sim *sim)
{
    return sim->report;
}

lwq_sim_link *lwq_sim_link_get(lwq_sim *sim, int link)
{
    return link >= 0 && link < sim->nlinks ? &sim->links[link] : NULL;
}

void lwq_sim_print_stats(const lwq_sim *sim, FILE *f)
{
    for (int i = 0; i < sim->nlinks; i++) {
        const lwq_sim_link_stats *st = &sim->links[i].stats;
        fprintf(f, "link %d (node %d > %d): offered %llu delivered %llu", i, sim->link_from[i], sim->link_to[i],
                (unsigned long long)st->offered, (unsigned long long)st->delivered);
        for (int c = 0; c < LWQ_SIM_DROP_COUNT; c++)
            if (st->dropped[c])
                fprintf(f, " %s %llu", lwq_sim_drop_name((lwq_sim_drop)c), (unsigned long long)st->dropped[c]);
        fprintf(f, " dup %llu reorder %llu corrupt %llu ce %llu queue-peak %zu\n", (unsigned long long)st->duplicated,
                (unsigned long long)st->reordered, (unsigned long long)st->corrupted, (unsigned long long)st->ce_marked,
                st->max_queue_packets);
    }
}
