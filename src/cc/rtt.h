/* RTT estimation, RFC 9002 §5. */
#ifndef LWQ_CC_RTT_H
#define LWQ_CC_RTT_H

#include "lwquic/common.h"

#define LWQ_GRANULARITY LWQ_MS                 /* kGranularity, RFC 9002 §6.1.2 */
#define LWQ_INITIAL_RTT (333 * LWQ_MS)         /* RFC 9002 §6.2.2 */

typedef struct lwq_rtt {
    lwq_tstamp latest, min, smoothed, var;
    int has_sample;
} lwq_rtt;

void lwq_rtt_init(lwq_rtt *r, lwq_tstamp initial_rtt);
/* RFC 9002 §5.3: ack_delay is the peer-reported delay, already decoded;
 * it is capped by max_ack_delay once the handshake is confirmed and ignored
 * when it would take the sample below min_rtt. */
void lwq_rtt_update(lwq_rtt *r, lwq_tstamp latest, lwq_tstamp ack_delay, lwq_tstamp max_ack_delay,
                    int handshake_confirmed);
/* smoothed_rtt + max(4 * rttvar, kGranularity), without max_ack_delay (RFC 9002 §6.2.1). */
lwq_tstamp lwq_rtt_pto_base(const lwq_rtt *r);
/* max(kTimeThreshold * max(smoothed_rtt, latest_rtt), kGranularity), RFC 9002 §6.1.2. */
lwq_tstamp lwq_rtt_loss_delay(const lwq_rtt *r);

#endif
