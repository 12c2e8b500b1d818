/* CUBIC (RFC 9438) with HyStart++ (RFC 9406) in slow start. Windows are in bytes; the cubic function
 * is evaluated in segments of max_datagram_size and seconds, as the RFC writes it. */
#include <math.h>
#include "cc/cc.h"

#define CUBIC_C 0.4    /* RFC 9438 §5.1 */
#define CUBIC_BETA 0.7 /* RFC 9438 §4.6 */

static double secs(lwq_tstamp t) { return (double)t / (double)LWQ_SEC; }

/* W_cubic(t) in bytes (RFC 9438 §4.2, Figure 1). */
static double w_cubic(const lwq_cc *cc, double t)
{
    double d = t - cc->cubic.k;
    return CUBIC_C * d * d * d * (double)cc->max_datagram_size + cc->cubic.w_max;
}

static void start_epoch(lwq_cc *cc, lwq_tstamp now)
{
    lwq_cubic *c = &cc->cubic;
    c->t_epoch = now ? now : 1;
    c->cwnd_epoch = (double)cc->cwnd;
    if (c->w_max < c->cwnd_epoch)
        c->w_max = c->cwnd_epoch; /* entered avoidance from slow start: start at the plateau */
    /* RFC 9438 §4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), in segments. */
    c->k = cbrt((c->w_max - c->cwnd_epoch) / (double)cc->max_datagram_size / CUBIC_C);
    c->w_est = c->cwnd_epoch;
}

static void cubic_reset(lwq_cc *cc, lwq_tstamp now)
{
    (void)now;
    cc->cwnd = lwq_cc_initial_window(cc->max_datagram_size);
    cc->ssthresh = UINT64_MAX;
    cc->recovery_start = 0;
    cc->in_recovery = 0;
    cc->cubic = (lwq_cubic){.alpha = 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA)};
    lwq_hystart_reset(&cc->hs);
}

static void cubic_on_sent(lwq_cc *cc, size_t bytes, lwq_tstamp now)
{
    cc->bytes_in_flight += bytes;
    lwq_hystart_on_sent(&cc->hs, now);
}

static void cubic_on_acked(lwq_cc *cc, size_t bytes, lwq_tstamp sent_time, const lwq_rtt *rtt, int app_limited,
                           lwq_tstamp now)
{
    lwq_cubic *c = &cc->cubic;
    lwq_cc_discard(cc, bytes);
    if (cc->in_recovery && sent_time <= cc->recovery_start)
        return;
    cc->in_recovery = 0;
    if (app_limited) /* RFC 9438 §5.8: no growth while the window is not used */
        return;
    if (cc->cwnd < cc->ssthresh) {
        int exit_ss = 0;
        uint64_t grow = cc->hystart_enabled ? lwq_hystart_on_acked(&cc->hs, bytes, sent_time, rtt, &exit_ss) : bytes;
        cc->cwnd += grow;
        if (exit_ss) {
            cc->ssthresh = cc->cwnd;
            c->t_epoch = 0;
        }
        return;
    }
    if (!c->t_epoch)
        start_epoch(cc, now);
    double cwnd = (double)cc->cwnd, mss = (double)cc->max_datagram_size;
    double t = secs(now - c->t_epoch);
    double rtt_s = rtt ? secs(rtt->smoothed) : 0;
    /* RFC 9438 §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 cwnd]. */
    double target = w_cubic(cc, t + rtt_s);
    if (target < cwnd)
        target = cwnd;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    /* RFC 9438 §4.3: the Reno-friendly estimate. */
    c->w_est += c->alpha * mss * (double)bytes / cwnd;
    if (c->w_est >= c->cwnd_prior)
        c->alpha = 1.0;
    double next;
    if (w_cubic(cc, t) < c->w_est)
        next = c->w_est;
    else
        next = cwnd + (target - cwnd) * (double)bytes / cwnd; /* §4.4, §4.5 */
    if (next > cwnd)
        cc->cwnd = (uint64_t)next;
}

static void cubic_on_congestion(lwq_cc *cc, lwq_tstamp sent_time, int ecn_ce, lwq_tstamp now)
{
    lwq_cubic *c = &cc->cubic;
    (void)ecn_ce; /* ECN-CE is a congestion event like a loss (RFC 9002 §7.1, RFC 9438 §4.6) */
    if (cc->in_recovery && sent_time <= cc->recovery_start)
        return;
    c->undo.cwnd = cc->cwnd;
    c->undo.cwnd_prior = c->cwnd_prior;
    c->undo.ssthresh = cc->ssthresh;
    c->undo.w_max = c->w_max;
    c->undo.k = c->k;
    c->undo.w_est = c->w_est;
    c->undo.t_epoch = c->t_epoch;
    c->undo.valid = 1;
    cc->recovery_start = now;
    cc->in_recovery = 1;
    cc->congestion_events++;
    cc->hs.in_css = 0;
    double cwnd = (double)cc->cwnd;
    c->cwnd_prior = cwnd;
    /* RFC 9438 §4.7 fast convergence: release bandwidth to new flows. */
    c->w_max = cwnd < c->w_max ? cwnd * (1 + CUBIC_BETA) / 2 : cwnd;
    uint64_t ss = (uint64_t)(cwnd * CUBIC_BETA);
    if (ss < lwq_cc_min_window(cc->max_datagram_size))
        ss = lwq_cc_min_window(cc->max_datagram_size);
    cc->ssthresh = ss;
    cc->cwnd = ss;
    c->alpha = 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
    start_epoch(cc, now);
}

static void cubic_on_persistent_congestion(lwq_cc *cc, lwq_tstamp now)
{
    (void)now;
    cc->cwnd = lwq_cc_min_window(cc->max_datagram_size); /* RFC 9002 §7.6.2 */
    cc->recovery_start = 0;
    cc->in_recovery = 0;
    cc->cubic.t_epoch = 0;
    cc->cubic.w_max = 0;
    cc->cubic.undo.valid = 0;
    lwq_hystart_reset(&cc->hs);
}

static void cubic_on_spurious_loss(lwq_cc *cc, lwq_tstamp now)
{
    lwq_cubic *c = &cc->cubic;
    (void)now;
    /* RFC 9438 §4.9.2: restore only while the window is still below what it was. */
    if (!c->undo.valid || (double)cc->cwnd >= c->cwnd_prior)
        return;
    cc->cwnd = c->undo.cwnd;
    c->cwnd_prior = c->undo.cwnd_prior;
    cc->ssthresh = c->undo.ssthresh;
    c->w_max = c->undo.w_max;
    c->k = c->undo.k;
    c->w_est = c->undo.w_est;
    c->t_epoch = c->undo.t_epoch;
    c->undo.valid = 0;
    cc->in_recovery = 0;
}

const lwq_cc_ops lwq_cc_cubic = {
    "cubic",     cubic_on_sent, cubic_on_acked, cubic_on_congestion, cubic_on_persistent_congestion, cubic_reset,
    cubic_on_spurious_loss,
};
