/* Token-bucket pacing (RFC 9002 §7.7): spread a window's worth of packets over a round trip so bursts
 * do not overflow small router queues. The rate follows cwnd / smoothed_rtt with a gain; a GSO batch
 * goes out at once only within the bucket. */
#ifndef LWQ_CC_PACER_H
#define LWQ_CC_PACER_H

#include "lwquic/common.h"

typedef struct lwq_pacer {
    double tokens;    /* bytes that may go now; negative = debt */
    double rate;      /* bytes per second; 0 = not pacing yet */
    double burst;     /* bucket size in bytes */
    lwq_tstamp last;  /* last refill */
    size_t mds;
} lwq_pacer;

void lwq_pacer_init(lwq_pacer *p, size_t max_datagram_size);
/* New window or RTT: rate = gain * cwnd / srtt (gain 2 in slow start, 1.25 after, as Linux and
 * quiche do), burst = max(10 datagrams, cwnd / 8), at most cwnd. */
void lwq_pacer_update(lwq_pacer *p, uint64_t cwnd, lwq_tstamp srtt, int slow_start, lwq_tstamp now);
/* Bytes that may be sent at `now`. */
size_t lwq_pacer_budget(lwq_pacer *p, lwq_tstamp now);
/* Earliest time `bytes` may be sent (now when the budget allows it). */
lwq_tstamp lwq_pacer_next(lwq_pacer *p, size_t bytes, lwq_tstamp now);
void lwq_pacer_on_sent(lwq_pacer *p, size_t bytes, lwq_tstamp now);
/* lwq_pacer_next without changing the pacer: the earliest time `bytes` may go, never before now. */
lwq_tstamp lwq_pacer_release(const lwq_pacer *p, size_t bytes, lwq_tstamp now);

#endif
