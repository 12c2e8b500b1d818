/* Loss detection and congestion control across the three packet number
 * spaces (RFC 9002 §6, §7, Appendix A). The connection owns the frames; this
 * module tells it which packets were acknowledged or lost. */
#ifndef LWQ_QUIC_RECOVERY_H
#define LWQ_QUIC_RECOVERY_H

#include "cc/cc.h"
#include "cc/pacer.h"
#include "quic/ranges.h"
#include "quic/sentmap.h"

typedef enum { LWQ_SPACE_INITIAL = 0, LWQ_SPACE_HANDSHAKE = 1, LWQ_SPACE_APP = 2, LWQ_SPACE_COUNT = 3 } lwq_space;

#define LWQ_PACKET_THRESHOLD 3 /* kPacketThreshold, RFC 9002 §6.1.1 */
/* The packet threshold adapts to reordering (RFC 9002 §6.1.1 allows it): when a packet declared lost
 * is acknowledged after all, the threshold rises to twice the reordering distance seen (the largest
 * acknowledged before that ACK minus its packet number) plus one, never above this: the distance in
 * packets of a given reordering delay grows with the sending rate. It does not
 * decay; the time threshold still declares a packet lost 9/8 RTT after it was sent. */
#define LWQ_PACKET_THRESHOLD_MAX 128
#define LWQ_PERSISTENT_CONGESTION_THRESHOLD 3

/* Called for each packet newly acknowledged or declared lost. */
typedef struct lwq_recovery_visitor {
    void (*acked)(void *ud, lwq_space space, lwq_sentmap *m, lwq_sent_pkt *p);
    void (*lost)(void *ud, lwq_space space, lwq_sentmap *m, lwq_sent_pkt *p);
    void *ud;
} lwq_recovery_visitor;

typedef struct lwq_recovery {
    lwq_sentmap spaces[LWQ_SPACE_COUNT];
    int discarded[LWQ_SPACE_COUNT];
    lwq_rtt rtt;
    lwq_cc cc;
    unsigned pto_count;
    lwq_tstamp timer;             /* loss detection timer, 0 = not armed */
    lwq_tstamp max_ack_delay;     /* the peer's, from its transport parameters */
    lwq_tstamp first_rtt_sample;  /* 0 until the first sample */
    int is_server;
    int handshake_confirmed;      /* RFC 9001 §4.1.2 */
    int peer_validated_address;   /* client: the server has validated our address (RFC 9002 §6.2.2.1) */
    int has_handshake_keys;       /* client: anti-deadlock probes use Handshake once it has the keys */
    uint64_t packets_lost, spurious_losses;
    unsigned pkt_threshold;      /* current packet reordering threshold, >= LWQ_PACKET_THRESHOLD */
    unsigned pkt_threshold_max;  /* LWQ_PACKET_THRESHOLD_MAX; LWQ_PACKET_THRESHOLD = a fixed threshold */
    /* Packets declared lost in the newest congestion event (one space, packet numbers [lo, hi]);
     * when every one of them is acknowledged after all, the reduction is undone (RFC 9438 §4.9). */
    struct {
        uint64_t lost, lo, hi;
        int space, valid;
    } undo;
    /* Application packets below this number were sent while the window was not used: their
     * acknowledgements do not grow it (RFC 9002 §7.8). */
    uint64_t app_limited_end;
    lwq_pacer pacer;   /* RFC 9002 §7.7 */
    int pace_blocked;  /* the send path stopped on the pacer with the window open */
    uint64_t ecn_ce_events;
    const char *cc_state_logged; /* the state the qlog last reported (conn_qlog.c) */
} lwq_recovery;

int lwq_recovery_init(lwq_recovery *r, const lwq_allocator *a, int is_server, lwq_cc_algo cc,
                      size_t max_datagram_size, size_t max_pkts, lwq_tstamp now);
void lwq_recovery_free(lwq_recovery *r);

/* Records the packet the caller built in r->spaces[space] (after lwq_sentmap_begin / add_frame). */
uint64_t lwq_recovery_on_sent(lwq_recovery *r, lwq_space space, size_t size, int flags, lwq_tstamp now);

/* An ACK frame: acknowledged ranges of packet numbers (any order, [start, end)), the decoded
 * ack delay. LWQ_ERR_PROTO when it acknowledges a packet never sent (PROTOCOL_VIOLATION,
 * RFC 9000 §13.1). */
int lwq_recovery_on_ack(lwq_recovery *r, lwq_space space, const lwq_range *ranges, size_t n, lwq_tstamp ack_delay,
                        int ecn_ce_increased, const lwq_recovery_visitor *v, lwq_tstamp now);

/* Re-arms the loss detection timer (RFC 9002 §A.8); the calls below do it themselves. Call it when
 * handshake state or address validation changes. r->timer: when it fires, 0 = not armed. */
void lwq_recovery_update_timer(lwq_recovery *r, lwq_tstamp now);
/* The timer fired. Returns the space that needs PTO probes, or -1 when losses were declared
 * instead (RFC 9002 §A.9). */
int lwq_recovery_on_timeout(lwq_recovery *r, const lwq_recovery_visitor *v, lwq_tstamp now);

/* ECN-CE: the peer's ACK of `space` reported a larger ECN-CE count (RFC 9000 §13.4.2). Call it
 * after lwq_recovery_on_ack of that ACK: a congestion event dated by the send time of the largest
 * acknowledged packet (RFC 9002 §7.1, Appendix B.7), at most one reduction per round trip, never
 * undone as spurious. The same as passing ecn_ce_increased to lwq_recovery_on_ack. */
void lwq_recovery_on_ecn_ce(lwq_recovery *r, lwq_space space, lwq_tstamp now);

/* The send path produced no in-flight packet at `now`. With the window full it was cwnd-limited;
 * if the pacer held it back, lwq_recovery_pacing_time says when to try again; otherwise it was
 * application-limited and the packets sent so far do not grow the window (RFC 9002 §7.8). */
void lwq_recovery_send_stopped(lwq_recovery *r, lwq_tstamp now);
/* 1 when the pacer lets a full datagram go at `now` (always before the first RTT sample). */
int lwq_recovery_pacer_ready(const lwq_recovery *r, lwq_tstamp now);
/* When the send path should be tried again because of the pacer; LWQ_TSTAMP_INF when it is not
 * waiting on the pacer. Never earlier than `now` (RFC 9002 §7.7). */
lwq_tstamp lwq_recovery_pacing_time(const lwq_recovery *r, lwq_tstamp now);
/* Congestion controller state for qlog congestion_state_updated: "slow_start",
 * "congestion_avoidance", "recovery" or "application_limited". */
const char *lwq_recovery_cc_state(const lwq_recovery *r);

/* Keys of a space discarded: forget its packets (RFC 9002 §6.4). */
void lwq_recovery_discard(lwq_recovery *r, lwq_space space, lwq_tstamp now);
/* PTO duration for a space, without backoff (RFC 9002 §6.2.1). */
lwq_tstamp lwq_recovery_pto(const lwq_recovery *r, lwq_space space);

#endif
