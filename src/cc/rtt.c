#include "cc/rtt.h"

void lwq_rtt_init(lwq_rtt *r, lwq_tstamp initial_rtt)
{
    r->latest = 0;
    r->min = 0;
    r->smoothed = initial_rtt;
    r->var = initial_rtt / 2;
    r->has_sample = 0;
}

void lwq_rtt_update(lwq_rtt *r, lwq_tstamp latest, lwq_tstamp ack_delay, lwq_tstamp max_ack_delay,
                    int handshake_confirmed)
{
    r->latest = latest;
    if (!r->has_sample) {
        /* RFC 9002 §5.3: the first sample resets the estimator. */
        r->min = latest;
        r->smoothed = latest;
        r->var = latest / 2;
        r->has_sample = 1;
        return;
    }
    if (latest < r->min)
        r->min = latest;
    if (handshake_confirmed && ack_delay > max_ack_delay)
        ack_delay = max_ack_delay;
    lwq_tstamp adjusted = latest;
    if (latest >= r->min + ack_delay)
        adjusted = latest - ack_delay;
    lwq_tstamp diff = r->smoothed > adjusted ? r->smoothed - adjusted : adjusted - r->smoothed;
    r->var = (3 * r->var + diff) / 4;
    r->smoothed = (7 * r->smoothed + adjusted) / 8;
}

lwq_tstamp lwq_rtt_pto_base(const lwq_rtt *r)
{
    lwq_tstamp v = 4 * r->var;
    return r->smoothed + (v > LWQ_GRANULARITY ? v : LWQ_GRANULARITY);
}

lwq_tstamp lwq_rtt_loss_delay(const lwq_rtt *r)
{
    lwq_tstamp m = r->smoothed > r->latest ? r->smoothed : r->latest;
    m = m + m / 8; /* kTimeThreshold = 9/8 */
    return m > LWQ_GRANULARITY ? m : LWQ_GRANULARITY;
}
