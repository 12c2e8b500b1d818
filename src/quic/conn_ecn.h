/* ECN for a connection (RFC 9000 §13.4, RFC 9002 §7.1): counts of received codepoints per packet
 * number space for ACK_ECN, ECT(0) marking of what we send, and validation of the peer's counts
 * (§13.4.2, the algorithm of Appendix A.4). Internal; the connection embeds lwq_conn_ecn. */
#ifndef LWQ_QUIC_CONN_ECN_H
#define LWQ_QUIC_CONN_ECN_H

#include "lwquic/quic.h"
#include "quic/frame.h"
#include "quic/recovery.h"

#define LWQ_ECN_TESTING_PACKETS 10 /* RFC 9000 §13.4.2: mark the first ten packets of a path */
#define LWQ_ECN_MARKED_RANGES 8    /* packet-number ranges remembered as marked, per space */
#define LWQ_ECN_ECT1 1
#define LWQ_ECN_ECT0 2
#define LWQ_ECN_CE 3

struct lwq_conn;

typedef struct lwq_conn_ecn {
    lwq_ecn_state state;
    uint8_t rx_mark;                   /* codepoint of the datagram being processed */
    uint64_t rx[LWQ_SPACE_COUNT][3];   /* ECT(0), ECT(1), CE received (§13.4.1) */
    uint64_t peer[LWQ_SPACE_COUNT][3]; /* the counts of the peer's last validated ACK */
    uint64_t sent[LWQ_SPACE_COUNT];    /* packets sent with ECT(0) */
    struct {
        uint64_t lo, hi; /* [lo, hi) */
    } marked[LWQ_SPACE_COUNT][LWQ_ECN_MARKED_RANGES];
    size_t nmarked[LWQ_SPACE_COUNT];
    unsigned testing_sent;                 /* marked packets of the current testing period */
    uint64_t newly_acked;                  /* marked packets acknowledged by the ACK being processed */
    uint64_t acked_total, lost_total;      /* marked packets of this path acknowledged / lost */
    uint64_t in_flight_marked;             /* marked in-flight packets sent on this path */
    uint64_t ce_acks;                      /* ACKs that reported new CE marks */
    int ack_raised;                        /* the ACK being processed raises the largest acknowledged */
} lwq_conn_ecn;

/* A new path (or the connection's first): testing again (§13.4.2). */
void lwq_conn_ecn_restart(struct lwq_conn *c);
/* The codepoint for the next datagram: ECT(0) while testing or capable, else Not-ECT. */
uint8_t lwq_conn_ecn_mark(const struct lwq_conn *c);
/* Datagrams were sent with `mark`: every packet number of space s from before[s] to the space's
 * next packet number went out with it. */
void lwq_conn_ecn_on_sent(struct lwq_conn *c, uint8_t mark, const uint64_t before[LWQ_SPACE_COUNT]);
/* A packet of space s of the current datagram was processed: its codepoint counts (§13.4.1). */
void lwq_conn_ecn_on_packet(struct lwq_conn *c, lwq_space s);
/* 1 when the packet was sent with ECT(0). */
int lwq_conn_ecn_marked(const struct lwq_conn *c, lwq_space s, uint64_t pn);
/* The recovery visitor's acknowledgement / loss of a packet. */
void lwq_conn_ecn_on_acked(struct lwq_conn *c, lwq_space s, uint64_t pn);
void lwq_conn_ecn_on_lost(struct lwq_conn *c, lwq_space s, uint64_t pn);
/* Around lwq_recovery_on_ack of an ACK frame f of space s. begin returns 1 when the ACK reports
 * more CE marks than before and raises the largest acknowledged (the congestion signal of RFC 9002
 * §7.1 to hand to recovery); end validates the counts against the newly acknowledged marked
 * packets (§13.4.2.1) and keeps them. */
int lwq_conn_ecn_ack_begin(struct lwq_conn *c, lwq_space s, const lwq_frame *f);
void lwq_conn_ecn_ack_end(struct lwq_conn *c, lwq_space s, const lwq_frame *f);
/* Turns the ACK frame being written for space s into ACK_ECN when any count is non-zero. */
void lwq_conn_ecn_ack_frame(const struct lwq_conn *c, lwq_space s, lwq_frame *f);

#endif
