/* Internal helpers: allocation through an lwq_allocator, big-endian byte access. */
#ifndef LWQ_BASE_MEM_H
#define LWQ_BASE_MEM_H

#include <string.h>
#include "lwquic/common.h"

void *lwq_malloc(const lwq_allocator *a, size_t n);
void *lwq_calloc(const lwq_allocator *a, size_t nmemb, size_t size);
void *lwq_realloc(const lwq_allocator *a, void *p, size_t n);
void lwq_free(const lwq_allocator *a, void *p);
/* A copy of p[0..n) or NULL. */
void *lwq_memdup(const lwq_allocator *a, const void *p, size_t n);

/* Overwrite secrets in a way the compiler keeps. */
void lwq_wipe(void *p, size_t n);
/* Constant-time equality: 1 when equal. */
int lwq_ct_equal(const void *a, const void *b, size_t n);

static inline uint16_t lwq_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t lwq_get24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t lwq_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t lwq_get64(const uint8_t *p) { return (uint64_t)lwq_get32(p) << 32 | lwq_get32(p + 4); }
static inline uint8_t *lwq_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}
static inline uint8_t *lwq_put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
    return p + 3;
}
static inline uint8_t *lwq_put32(uint8_t *p, uint32_t v)
{
    lwq_put16(p, (uint16_t)(v >> 16));
    return lwq_put16(p + 2, (uint16_t)v);
}
static inline uint8_t *lwq_put64(uint8_t *p, uint64_t v)
{
    lwq_put32(p, (uint32_t)(v >> 32));
    return lwq_put32(p + 4, (uint32_t)v);
}

#endif
