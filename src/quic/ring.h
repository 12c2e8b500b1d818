/* Bytes addressed by absolute stream offset, held in a growable power-of-two
 * ring covering [base, base + cap). Used by send and receive buffers. */
#ifndef LWQ_QUIC_RING_H
#define LWQ_QUIC_RING_H

#include "lwquic/common.h"

typedef struct lwq_ring {
    uint8_t *buf;
    size_t cap;    /* 0 or a power of two */
    uint64_t base; /* lowest offset still held */
    uint64_t end;  /* one past the highest offset ever written (bookkeeping for growth) */
    size_t max;    /* most bytes ever held */
    const lwq_allocator *alloc;
} lwq_ring;

void lwq_ring_init(lwq_ring *r, const lwq_allocator *a, size_t max);
void lwq_ring_free(lwq_ring *r);
/* Copies p into [off, off+n). LWQ_ERR_LIMIT when off+n - base > max, LWQ_ERR_INVAL when off < base. */
int lwq_ring_write(lwq_ring *r, uint64_t off, const uint8_t *p, size_t n);
/* Copies [off, off+n) out; the range must lie within [base, end). */
void lwq_ring_read(const lwq_ring *r, uint64_t off, uint8_t *p, size_t n);
/* Contiguous view of up to n bytes at off (stops at the wrap); returns its length. */
size_t lwq_ring_peek(const lwq_ring *r, uint64_t off, size_t n, const uint8_t **p);
/* Forgets everything below off; frees the buffer once empty. */
void lwq_ring_release(lwq_ring *r, uint64_t off);

#endif
