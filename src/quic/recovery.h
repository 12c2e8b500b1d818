/* Loss detection and congestion control across the three packet number
 * spaces (RFC 9002 §6, §7, Appendix A). The connection owns the frames; this
 * module tells it which packets were acknowledged or lost. */
#ifndef LWQ_QUIC_RECOVERY_H
#define LWQ_QUIC_RECOVERY_H

#include "cc/cc.h"
#include "quic/ranges.h"
#include "quic/sentmap.h"

typedef enum { LWQ_SPACE_INITIAL = 0, LWQ_SPACE_HANDSHAKE = 1, LWQ_SPACE_APP = 2, LWQ_SPACE_COUNT = 3 } lwq_space;

#define LWQ_PACKET_THRESHOLD 3 /* kPacketThreshold, RFC 9002 §6.1.1 */
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

/* Keys of a space discarded: forget its packets (RFC 9002 §6.4). */
void lwq_recovery_discard(lwq_recovery *r, lwq_space space, lwq_tstamp now);
/* PTO duration for a space, without backoff (RFC 9002 §6.2.1). */
lwq_tstamp lwq_recovery_pto(const lwq_recovery *r, lwq_space space);

#endif
