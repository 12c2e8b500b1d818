/* Receive-side reassembly of a byte stream (STREAM or CRYPTO frames):
 * out-of-order data bounded by bytes (the window) and by the number of gaps,
 * final size rules of RFC 9000 §4.5. */
#ifndef LWQ_QUIC_RECVBUF_H
#define LWQ_QUIC_RECVBUF_H

#include "quic/ranges.h"
#include "quic/ring.h"

#define LWQ_FINAL_UNKNOWN UINT64_MAX

typedef struct lwq_recvbuf {
    lwq_ring data;
    lwq_ranges got;      /* received ranges at or above read_off */
    uint64_t read_off;   /* next byte the application reads */
    uint64_t final_size; /* LWQ_FINAL_UNKNOWN until a FIN or RESET_STREAM */
    uint64_t highest;    /* highest offset + 1 received (flow control accounting) */
    size_t max_ranges;   /* ranges allowed before refusing new isolated ones */
} lwq_recvbuf;

/* window: most bytes held beyond read_off; max_gaps: most out-of-order ranges. */
void lwq_recvbuf_init(lwq_recvbuf *b, const lwq_allocator *a, size_t window, size_t max_gaps);
void lwq_recvbuf_free(lwq_recvbuf *b);

/* Errors from lwq_recvbuf_insert, mapped by the caller to QUIC codes. */
enum {
    LWQ_RECV_FINAL_SIZE = -100, /* FINAL_SIZE_ERROR: data past, or a FIN moving, the final size */
    LWQ_RECV_WINDOW = -101,     /* beyond read_off + window (FLOW_CONTROL_ERROR / CRYPTO_BUFFER_EXCEEDED) */
};
/* Data at [off, off+n), fin when this is the end of the stream. Duplicates are fine.
 * 0, LWQ_RECV_FINAL_SIZE, LWQ_RECV_WINDOW, LWQ_ERR_LIMIT (too many gaps), LWQ_ERR_NOMEM. */
int lwq_recvbuf_insert(lwq_recvbuf *b, uint64_t off, const uint8_t *p, size_t n, int fin);
/* Sets the final size from RESET_STREAM (same checks as a FIN). */
int lwq_recvbuf_set_final(lwq_recvbuf *b, uint64_t final_size);
/* Contiguous bytes ready to read. */
size_t lwq_recvbuf_readable(const lwq_recvbuf *b);
/* Reads up to n in-order bytes; *fin set once everything up to the final size was read. */
size_t lwq_recvbuf_read(lwq_recvbuf *b, uint8_t *p, size_t n, int *fin);
static inline int lwq_recvbuf_done(const lwq_recvbuf *b) { return b->read_off == b->final_size; }

#endif
