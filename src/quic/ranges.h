/* A sorted set of disjoint half-open ranges [start, end) of uint64, with a
 * cap on the number of ranges: received packet numbers, CRYPTO and stream
 * reassembly, acknowledged data. */
#ifndef LWQ_QUIC_RANGES_H
#define LWQ_QUIC_RANGES_H

#include "lwquic/common.h"

typedef struct lwq_range {
    uint64_t start, end;
} lwq_range;

typedef struct lwq_ranges {
    lwq_range *r;
    size_t count, cap, max;
    const lwq_allocator *alloc;
} lwq_ranges;

/* max: most ranges ever held (peer-driven fragmentation is bounded by it). */
void lwq_ranges_init(lwq_ranges *s, const lwq_allocator *a, size_t max);
void lwq_ranges_free(lwq_ranges *s);
/* Adds [start, end), merging neighbours. LWQ_ERR_LIMIT (set unchanged) when it would need more than max
 * ranges; LWQ_ERR_NOMEM; LWQ_ERR_INVAL when start > end. */
int lwq_ranges_add(lwq_ranges *s, uint64_t start, uint64_t end);
/* Removes [start, end). May split a range: LWQ_ERR_LIMIT (unchanged) past max. */
int lwq_ranges_remove(lwq_ranges *s, uint64_t start, uint64_t end);
/* 1 when all of [start, end) is in the set. */
int lwq_ranges_contains(const lwq_ranges *s, uint64_t start, uint64_t end);
/* 1 when any part of [start, end) is in the set. */
int lwq_ranges_intersects(const lwq_ranges *s, uint64_t start, uint64_t end);
/* End of the range starting at or below `from` that contains from, else from (the contiguous prefix). */
uint64_t lwq_ranges_contiguous_end(const lwq_ranges *s, uint64_t from);
static inline int lwq_ranges_empty(const lwq_ranges *s) { return s->count == 0; }
static inline uint64_t lwq_ranges_min(const lwq_ranges *s) { return s->count ? s->r[0].start : 0; }
static inline uint64_t lwq_ranges_max(const lwq_ranges *s) { return s->count ? s->r[s->count - 1].end : 0; }

#endif
