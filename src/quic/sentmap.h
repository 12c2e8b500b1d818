/* Sent packets of one packet number space, in packet-number order, each with
 * the information its frames carried (not the bytes), so that an ACK releases
 * it and a loss re-queues the information (RFC 9000 §13.3, RFC 9002 §A.1). */
#ifndef LWQ_QUIC_SENTMAP_H
#define LWQ_QUIC_SENTMAP_H

#include "lwquic/common.h"

/* What a frame carried, enough to act on its acknowledgement or loss. */
typedef struct lwq_sent_frame {
    uint8_t kind; /* a frame type, e.g. 0x08 for STREAM; the connection interprets it */
    uint8_t fin;
    uint16_t flags;
    uint32_t len;
    uint64_t id;  /* stream id, sequence number, largest acknowledged, ... */
    uint64_t off;
} lwq_sent_frame;

enum {
    LWQ_SENT_ACK_ELICITING = 1,
    LWQ_SENT_IN_FLIGHT = 2,   /* counts toward bytes in flight */
    LWQ_SENT_ACKED = 4,
    LWQ_SENT_LOST = 8,        /* declared lost; kept to spot spurious losses */
    LWQ_SENT_PMTU_PROBE = 16,
};

#define LWQ_SENT_SKIPPED_MAX 4

typedef struct lwq_sent_pkt {
    uint64_t pn;
    lwq_tstamp sent;
    uint32_t first_frame; /* absolute index in the frame ring */
    uint16_t nframes;
    uint16_t size;
    uint8_t flags;
} lwq_sent_pkt;

typedef struct lwq_sentmap {
    lwq_sent_pkt *pkts;
    size_t cap, head, count;       /* ring of packets, oldest at head */
    lwq_sent_frame *frames;
    size_t fcap;
    uint32_t fhead, ftail;         /* absolute frame indexes [fhead, ftail) */
    size_t max_pkts;
    const lwq_allocator *alloc;
    uint64_t bytes_in_flight;
    size_t ack_eliciting_in_flight;
    uint64_t next_pn;              /* next packet number to send in this space */
    uint64_t largest_acked;        /* UINT64_MAX: none yet */
    lwq_tstamp largest_acked_sent; /* when the largest acknowledged packet was sent */
    lwq_tstamp last_ack_eliciting; /* time_of_last_ack_eliciting_packet */
    lwq_tstamp loss_time;          /* 0: not armed */
    int open;                      /* a packet is being recorded */
    int stuck;                     /* full, and compaction found too little to drop */
    /* Packet numbers skipped on purpose (RFC 9000 §21.4): an ACK of one is an optimistic ACK. */
    uint64_t skipped[LWQ_SENT_SKIPPED_MAX];
    unsigned nskipped;
} lwq_sentmap;

/* max_pkts bounds packets tracked at once (sending stops at the limit). */
void lwq_sentmap_init(lwq_sentmap *m, const lwq_allocator *a, size_t max_pkts);
void lwq_sentmap_free(lwq_sentmap *m);

/* Starts recording packet m->next_pn. When max_pkts are tracked, first drops the records nothing
 * depends on (acknowledged, or neither ack-eliciting nor in flight: ACK-only packets a peer need
 * never acknowledge, RFC 9000 §13.2.4); LWQ_ERR_LIMIT when too few could go, LWQ_ERR_NOMEM. */
int lwq_sentmap_begin(lwq_sentmap *m, lwq_tstamp now);
int lwq_sentmap_add_frame(lwq_sentmap *m, const lwq_sent_frame *f);
/* Drops the packet being recorded (it was not sent). */
void lwq_sentmap_abort(lwq_sentmap *m);
/* The packet was sent: size in bytes, LWQ_SENT_* flags. Returns its packet number. */
uint64_t lwq_sentmap_commit(lwq_sentmap *m, size_t size, int flags);

/* Skips packet number m->next_pn (never sent), remembering the last LWQ_SENT_SKIPPED_MAX skips. */
void lwq_sentmap_skip(lwq_sentmap *m);
/* 1 when a skipped packet number lies in [lo, hi). */
int lwq_sentmap_skipped_in(const lwq_sentmap *m, uint64_t lo, uint64_t hi);
/* 1 when no packet can be recorded now (full of records still needed). */
int lwq_sentmap_full(const lwq_sentmap *m);

/* The packet with this number while it is tracked (check its flags), else NULL. Records are in
 * packet-number order but not contiguous (skips, dropped ACK-only records): O(log n). */
lwq_sent_pkt *lwq_sentmap_find(lwq_sentmap *m, uint64_t pn);
/* Frame i (< p->nframes) of packet p. */
const lwq_sent_frame *lwq_sentmap_frame(const lwq_sentmap *m, const lwq_sent_pkt *p, size_t i);
/* Marks an acknowledged / lost packet; in-flight accounting follows. */
void lwq_sentmap_mark_acked(lwq_sentmap *m, lwq_sent_pkt *p);
void lwq_sentmap_mark_lost(lwq_sentmap *m, lwq_sent_pkt *p);
/* Releases finished packets at the front; lost ones only once sent before `keep_lost_after`. */
void lwq_sentmap_trim(lwq_sentmap *m, lwq_tstamp keep_lost_after);
/* Iteration in packet-number order: index 0 .. m->count-1. */
lwq_sent_pkt *lwq_sentmap_at(lwq_sentmap *m, size_t i);
/* Forgets everything (keys discarded, RFC 9002 §6.4); returns the bytes that were in flight. */
uint64_t lwq_sentmap_discard(lwq_sentmap *m);

#endif
