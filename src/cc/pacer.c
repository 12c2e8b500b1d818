#include "cc/pacer.h"

void lwq_pacer_init(lwq_pacer *p, size_t mds)
{
    p->mds = mds;
    p->rate = 0;
    p->burst = 10.0 * (double)mds;
    p->tokens = p->burst;
    p->last = 0;
}

static void refill(lwq_pacer *p, lwq_tstamp now)
{
    if (now > p->last && p->rate > 0) {
        p->tokens += p->rate * (double)(now - p->last) / (double)LWQ_SEC;
        if (p->tokens > p->burst)
            p->tokens = p->burst;
    }
    if (now > p->last)
        p->last = now;
}

void lwq_pacer_update(lwq_pacer *p, uint64_t cwnd, lwq_tstamp srtt, int slow_start, lwq_tstamp now)
{
    refill(p, now);
    if (srtt == 0)
        return;
    double gain = slow_start ? 2.0 : 1.25;
    p->rate = gain * (double)cwnd * (double)LWQ_SEC / (double)srtt;
    double burst = (double)cwnd / 8;
    if (burst < 10.0 * (double)p->mds)
        burst = 10.0 * (double)p->mds;
    if (burst > (double)cwnd)
        burst = (double)cwnd;
    p->burst = burst;
    if (p->tokens > p->burst)
        p->tokens = p->burst;
}

size_t lwq_pacer_budget(lwq_pacer *p, lwq_tstamp now)
{
    refill(p, now);
    if (p->rate == 0)
        return SIZE_MAX; /* no RTT yet: the congestion window alone limits */
    return p->tokens > 0 ? (size_t)p->tokens : 0;
}

lwq_tstamp lwq_pacer_next(lwq_pacer *p, size_t bytes, lwq_tstamp now)
{
    refill(p, now);
    if (p->rate == 0 || p->tokens >= (double)bytes)
        return now;
    double wait = ((double)bytes - p->tokens) / p->rate * (double)LWQ_SEC;
    return now + (lwq_tstamp)wait + 1;
}

void lwq_pacer_on_sent(lwq_pacer *p, size_t bytes, lwq_tstamp now)
{
    refill(p, now);
    p->tokens -= (double)bytes;
}

lwq_tstamp lwq_pacer_release(const lwq_pacer *p, size_t bytes, lwq_tstamp now)
{
    if (p->rate == 0)
        return now;
    double tokens = p->tokens;
    if (now > p->last) {
        tokens += p->rate * (double)(now - p->last) / (double)LWQ_SEC;
        if (tokens > p->burst)
            tokens = p->burst;
    }
    if (tokens >= (double)bytes)
        return now;
    return now + (lwq_tstamp)(((double)bytes - tokens) / p->rate * (double)LWQ_SEC) + 1;
}
