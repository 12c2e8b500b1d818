/* Send side of a byte stream (STREAM or CRYPTO): application data copied in
 * and bounded, sent once, retransmitted as information (ranges) when lost,
 * released when acknowledged (RFC 9000 §13.3: retransmit data, not packets). */
#ifndef LWQ_QUIC_SENDBUF_H
#define LWQ_QUIC_SENDBUF_H

#include "quic/ranges.h"
#include "quic/ring.h"

typedef struct lwq_sendbuf {
    lwq_ring data;
    uint64_t write_off;  /* end of data the application has written */
    uint64_t sent_off;   /* everything below was sent at least once */
    uint64_t acked_off;  /* everything below is acknowledged and released */
    lwq_ranges acked;    /* acknowledged ranges above acked_off */
    lwq_ranges lost;     /* ranges to send again, lowest first */
    int fin;             /* the application closed the stream */
    int fin_sent, fin_acked, fin_lost;
} lwq_sendbuf;

/* max: most unacknowledged bytes held; max_ranges bounds ACK/loss fragmentation. */
void lwq_sendbuf_init(lwq_sendbuf *b, const lwq_allocator *a, size_t max, size_t max_ranges);
void lwq_sendbuf_free(lwq_sendbuf *b);
/* Copies up to n bytes (what fits); returns how many were taken or LWQ_ERR_NOMEM. fin closes the
 * stream once all n bytes were taken. LWQ_ERR_STATE after fin. */
ssize_t lwq_sendbuf_write(lwq_sendbuf *b, const uint8_t *p, size_t n, int fin);
/* Room left for writes. */
size_t lwq_sendbuf_room(const lwq_sendbuf *b);

/* The next chunk to send: lost data first, then new data below `limit` (flow control).
 * Returns 1 with off, len and fin set, 0 when nothing is to be sent. len <= max_len. */
int lwq_sendbuf_next(const lwq_sendbuf *b, uint64_t limit, size_t max_len, uint64_t *off, size_t *len, int *fin);
/* Copies bytes of a chunk returned by next. */
void lwq_sendbuf_copy(const lwq_sendbuf *b, uint64_t off, uint8_t *p, size_t len);
/* The chunk was put in a packet. */
void lwq_sendbuf_on_sent(lwq_sendbuf *b, uint64_t off, size_t len, int fin);
/* Its packet was acknowledged / declared lost. LWQ_ERR_LIMIT when tracking would exceed max_ranges
 * (the caller closes the connection: the peer is fragmenting acknowledgements abusively). */
int lwq_sendbuf_on_acked(lwq_sendbuf *b, uint64_t off, size_t len, int fin);
int lwq_sendbuf_on_lost(lwq_sendbuf *b, uint64_t off, size_t len, int fin);
/* Everything including the FIN is acknowledged. */
static inline int lwq_sendbuf_done(const lwq_sendbuf *b) { return b->fin && b->fin_acked && b->acked_off == b->write_off; }

#endif
