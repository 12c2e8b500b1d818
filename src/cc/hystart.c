/* HyStart++ (RFC 9406): watch the minimum RTT of each round in slow start; when it rises by more than
 * a threshold, grow 4x slower (Conservative Slow Start) and leave slow start after 5 such rounds. */
#include "cc/cc.h"

#define MIN_RTT_THRESH (4 * LWQ_MS)  /* RFC 9406 §4.3 constants */
#define MAX_RTT_THRESH (16 * LWQ_MS)
#define MIN_RTT_DIVISOR 8
#define N_RTT_SAMPLE 8
#define CSS_GROWTH_DIVISOR 4
#define CSS_ROUNDS 5

void lwq_hystart_reset(lwq_hystart *hs)
{
    hs->last_sent = 0;
    hs->round_end = 0;
    hs->cur_min = hs->last_min = hs->css_baseline = LWQ_TSTAMP_INF;
    hs->samples = 0;
    hs->css_rounds = 0;
    hs->in_css = 0;
}

void lwq_hystart_on_sent(lwq_hystart *hs, lwq_tstamp now) { hs->last_sent = now; }

uint64_t lwq_hystart_on_acked(lwq_hystart *hs, uint64_t bytes, lwq_tstamp sent_time, const lwq_rtt *rtt,
                              int *exit_ss)
{
    *exit_ss = 0;
    if (sent_time > hs->round_end) {
        /* A new round: the packet was sent after the previous round's last one (RFC 9406 §4.2). */
        hs->last_min = hs->cur_min;
        hs->cur_min = LWQ_TSTAMP_INF;
        hs->samples = 0;
        hs->round_end = hs->last_sent;
        if (hs->in_css && ++hs->css_rounds >= CSS_ROUNDS) {
            *exit_ss = 1;
            hs->exits++;
            hs->in_css = 0;
            return 0;
        }
    }
    if (rtt && rtt->has_sample && rtt->latest < hs->cur_min)
        hs->cur_min = rtt->latest;
    hs->samples++;
    if (hs->samples >= N_RTT_SAMPLE && hs->cur_min != LWQ_TSTAMP_INF && hs->last_min != LWQ_TSTAMP_INF) {
        if (!hs->in_css) {
            lwq_tstamp thresh = hs->last_min / MIN_RTT_DIVISOR;
            thresh = thresh < MIN_RTT_THRESH ? MIN_RTT_THRESH : thresh > MAX_RTT_THRESH ? MAX_RTT_THRESH : thresh;
            if (hs->cur_min >= hs->last_min + thresh) {
                hs->in_css = 1;
                hs->css_rounds = 0;
                hs->css_baseline = hs->cur_min;
            }
        } else if (hs->cur_min < hs->css_baseline) {
            hs->in_css = 0; /* the RTT rise was spurious: back to slow start */
            hs->css_baseline = LWQ_TSTAMP_INF;
        }
    }
    return hs->in_css ? bytes / CSS_GROWTH_DIVISOR : bytes;
}
