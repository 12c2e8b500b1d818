#include <stdlib.h>
#include <string.h>
#include "lwquic-netsim/netsim.h"

void ns_rng_seed(ns_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ull; }

uint64_t ns_rng_next(ns_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

uint32_t ns_rng_below(ns_rng *r, uint32_t n) { return (uint32_t)((ns_rng_next(r) >> 32) % n); }

void ns_link_init(ns_link *l, uint64_t rate_bps, uint64_t delay_ns, unsigned queue)
{
    memset(l, 0, sizeof(*l));
    l->rate_bps = rate_bps;
    l->delay = delay_ns;
    l->queue = queue < NS_LINK_RING ? queue : NS_LINK_RING - 1;
}

unsigned ns_link_backlog(ns_link *l, uint64_t now)
{
    while (l->count && l->finish[l->head] <= now) {
        l->head = (l->head + 1) % NS_LINK_RING;
        l->count--;
    }
    return l->count;
}

uint64_t ns_link_admit(ns_link *l, uint64_t now, size_t ip_len)
{
    if (ns_link_backlog(l, now) >= l->queue + 1)
        return 0;
    uint64_t start = l->busy_until > now ? l->busy_until : now;
    uint64_t ser = l->rate_bps ? (uint64_t)ip_len * 8 * 1000000000ull / l->rate_bps : 0;
    l->busy_until = start + ser;
    if (ser) {
        l->finish[(l->head + l->count) % NS_LINK_RING] = l->busy_until;
        l->count++;
    }
    uint64_t t = l->busy_until + l->delay;
    return t ? t : 1;
}

void ns_cross_init(ns_cross *x, uint64_t rtt_ns)
{
    memset(x, 0, sizeof(*x));
    x->cwnd = 10;
    x->ssthresh = NS_CROSS_MAX;
    x->rtt = rtt_ns;
}

uint64_t ns_cross_run(ns_cross *x, ns_link *l, uint64_t now)
{
    while (x->inflight && x->acks[x->ahead] <= now) {
        x->ahead = (x->ahead + 1) % NS_LINK_RING;
        x->inflight--;
        x->cwnd += x->cwnd < x->ssthresh ? 1 : 1 / x->cwnd;
        if (x->cwnd > NS_CROSS_MAX)
            x->cwnd = NS_CROSS_MAX;
    }
    while (x->inflight < (unsigned)x->cwnd) {
        uint64_t due = ns_link_admit(l, now, 1500);
        if (!due) {
            x->dropped++;
            if (!x->last_cut || now >= x->last_cut + x->rtt) {
                x->ssthresh = x->cwnd * 0.7 > 2 ? x->cwnd * 0.7 : 2;
                x->cwnd = x->ssthresh;
                x->last_cut = now;
            }
            break;
        }
        /* the acknowledgement comes back over the other direction's delay, without its queue */
        x->acks[(x->ahead + x->inflight) % NS_LINK_RING] = due + x->rtt / 2;
        x->inflight++;
        x->sent++;
    }
    return x->inflight ? x->acks[x->ahead] : now + 1000000; /* a full queue of others: try again in 1 ms */
}

int ns_burst_hit(ns_burst *b, ns_rng *r)
{
    if (!b->permille)
        return 0;
    if (b->burst && b->run >= b->burst) {
        b->run = 0;
        return 0;
    }
    if (ns_rng_below(r, 1000) < b->permille) {
        b->run++;
        return 1;
    }
    b->run = 0;
    return 0;
}

int ns_is_vn(const uint8_t *p, size_t n)
{
    return n >= 5 && (p[0] & 0x80) && !p[1] && !p[2] && !p[3] && !p[4];
}

int ns_impair(ns_dir_cfg *d, ns_rng *r, uint8_t *p, size_t n)
{
    d->seen++;
    for (size_t i = 0; i < d->ndroplist; i++)
        if (d->droplist[i] == d->seen)
            return NS_DROP_LIST;
    if (ns_burst_hit(&d->drop, r))
        return NS_DROP_LOSS;
    if (n && !ns_is_vn(p, n) && ns_burst_hit(&d->corrupt, r)) {
        if (d->corrupt_drops)
            return NS_DROP_CORRUPT;
        size_t i = ns_rng_below(r, (uint32_t)(n < 50 ? n : 50));
        p[i] ^= (uint8_t)(1 + ns_rng_below(r, 255)); /* a different value, uniformly */
        return NS_CORRUPTED;
    }
    return NS_PASS;
}

int ns_blackhole_active(const ns_blackhole *b, uint64_t start, uint64_t now)
{
    return b->off && now >= start + b->on && now < start + b->on + b->off;
}

int ns_arrive(ns_dir_cfg *d, ns_rng *r, const ns_blackhole *bh, uint64_t start, uint64_t now, uint8_t *p, size_t n)
{
    if (ns_blackhole_active(bh, start, now))
        return NS_DROP_BLACKHOLE;
    return ns_impair(d, r, p, n);
}

static int parse_num(const char **s, double *v)
{
    char *end;
    if (!**s || **s == ',' || **s == ' ' || **s == '-' || **s == '+')
        return -1;
    *v = strtod(*s, &end);
    if (end == *s || *v < 0 || *v > 1e9)
        return -1;
    *s = end;
    return 0;
}

int ns_parse_burst(const char *s, ns_burst *out)
{
    double p, b = 0;
    memset(out, 0, sizeof(*out));
    if (parse_num(&s, &p) || p > 100)
        return -1;
    if (*s == ',') {
        s++;
        if (parse_num(&s, &b) || b != (double)(unsigned)b)
            return -1;
    }
    if (*s)
        return -1;
    out->permille = (uint32_t)(p * 10 + 0.5);
    out->burst = (unsigned)b;
    return 0;
}

int ns_parse_list(const char *s, uint32_t *out, size_t cap, size_t *n)
{
    *n = 0;
    for (;;) {
        double v;
        if (parse_num(&s, &v) || v < 1 || v > 4e9 || v != (double)(uint32_t)v || *n == cap)
            return -1;
        out[(*n)++] = (uint32_t)v;
        if (!*s)
            return 0;
        if (*s != ',')
            return -1;
        s++;
    }
}

int ns_parse_times(const char *s, uint64_t *a, uint64_t *b, int *flag)
{
    double x, y;
    if (parse_num(&s, &x) || *s++ != ',' || parse_num(&s, &y))
        return -1;
    *flag = 0;
    if (*s == ',') {
        if (strcmp(s + 1, "addr") != 0)
            return -1;
        *flag = 1;
    } else if (*s) {
        return -1;
    }
    *a = (uint64_t)(x * 1e9);
    *b = (uint64_t)(y * 1e9);
    return 0;
}
