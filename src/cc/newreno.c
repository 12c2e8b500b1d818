/* NewReno as specified by RFC 9002 §7 and Appendix B. */
#include <string.h>
#include "cc/cc.h"

uint64_t lwq_cc_initial_window(size_t mds)
{
    uint64_t w = 2 * (uint64_t)mds > 14720 ? 2 * (uint64_t)mds : 14720;
    return 10 * (uint64_t)mds < w ? 10 * (uint64_t)mds : w;
}

int lwq_cc_init(lwq_cc *cc, lwq_cc_algo algo, size_t max_datagram_size, lwq_tstamp now)
{
    if (max_datagram_size < 1200)
        return LWQ_ERR_INVAL;
    memset(cc, 0, sizeof(*cc));
    switch (algo) {
    case LWQ_CC_NEWRENO:
        cc->ops = &lwq_cc_newreno;
        break;
    case LWQ_CC_CUBIC:
        cc->ops = &lwq_cc_cubic;
        break;
    default:
        return LWQ_ERR_UNSUPPORTED;
    }
    cc->max_datagram_size = max_datagram_size;
    cc->bytes_in_flight = 0;
    cc->congestion_events = 0;
    cc->hystart_enabled = 1;
    cc->ops->reset(cc, now);
    return 0;
}

void lwq_cc_discard(lwq_cc *cc, size_t bytes)
{
    cc->bytes_in_flight = cc->bytes_in_flight > bytes ? cc->bytes_in_flight - bytes : 0;
}

void lwq_cc_on_lost(lwq_cc *cc, size_t bytes) { lwq_cc_discard(cc, bytes); }

static void reno_reset(lwq_cc *cc, lwq_tstamp now)
{
    (void)now;
    cc->cwnd = lwq_cc_initial_window(cc->max_datagram_size);
    cc->ssthresh = UINT64_MAX;
    cc->recovery_start = 0;
    cc->in_recovery = 0;
    cc->acked_in_ca = 0;
}

static void reno_on_sent(lwq_cc *cc, size_t bytes, lwq_tstamp now)
{
    (void)now;
    cc->bytes_in_flight += bytes;
}

static void reno_on_acked(lwq_cc *cc, size_t bytes, lwq_tstamp sent_time, const lwq_rtt *rtt, int app_limited,
                          lwq_tstamp now)
{
    (void)rtt;
    (void)now;
    lwq_cc_discard(cc, bytes);
    /* RFC 9002 §7.3.2: packets sent before recovery started do not grow the window. */
    if (cc->in_recovery && sent_time <= cc->recovery_start)
        return;
    cc->in_recovery = 0;
    if (app_limited) /* RFC 9002 §7.8 */
        return;
    if (cc->cwnd < cc->ssthresh) {
        cc->cwnd += bytes; /* slow start, §7.3.1 */
        return;
    }
    /* Congestion avoidance: one max_datagram_size per cwnd acknowledged, §7.3.3. */
    cc->acked_in_ca += bytes;
    if (cc->acked_in_ca >= cc->cwnd) {
        cc->acked_in_ca -= cc->cwnd;
        cc->cwnd += cc->max_datagram_size;
    }
}

static void reno_on_congestion(lwq_cc *cc, lwq_tstamp sent_time, int ecn_ce, lwq_tstamp now)
{
    (void)ecn_ce;
    /* One reduction per round trip: ignore signals from packets sent before recovery began. */
    if (cc->in_recovery && sent_time <= cc->recovery_start)
        return;
    cc->recovery_start = now;
    cc->in_recovery = 1;
    cc->congestion_events++;
    cc->ssthresh = cc->cwnd / 2; /* kLossReductionFactor 0.5 */
    if (cc->ssthresh < lwq_cc_min_window(cc->max_datagram_size))
        cc->ssthresh = lwq_cc_min_window(cc->max_datagram_size);
    cc->cwnd = cc->ssthresh;
    cc->acked_in_ca = 0;
}

static void reno_on_persistent_congestion(lwq_cc *cc, lwq_tstamp now)
{
    (void)now;
    cc->cwnd = lwq_cc_min_window(cc->max_datagram_size); /* §7.6.2 */
    cc->recovery_start = 0;
    cc->in_recovery = 0;
    cc->acked_in_ca = 0;
}

const lwq_cc_ops lwq_cc_newreno = {
    "newreno", reno_on_sent, reno_on_acked, reno_on_congestion, reno_on_persistent_congestion, reno_reset, NULL,
};
