#include "quic/ring.h"
#include "base/mem.h"

void lwq_ring_init(lwq_ring *r, const lwq_allocator *a, size_t max)
{
    r->buf = NULL;
    r->cap = 0;
    r->base = r->end = 0;
    r->max = max;
    r->alloc = a;
}

void lwq_ring_free(lwq_ring *r)
{
    lwq_free(r->alloc, r->buf);
    r->buf = NULL;
    r->cap = 0;
}

static void copy_out(const uint8_t *buf, size_t cap, uint64_t off, uint8_t *p, size_t n)
{
    size_t at = (size_t)(off & (cap - 1)), first = cap - at < n ? cap - at : n;
    memcpy(p, buf + at, first);
    memcpy(p + first, buf, n - first);
}

static int grow(lwq_ring *r, size_t need)
{
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap == r->cap)
        return 0;
    uint8_t *nb = lwq_malloc(r->alloc, cap);
    if (!nb)
        return LWQ_ERR_NOMEM;
    if (r->cap && r->end > r->base) {
        /* Re-place the held window at its positions in the larger ring. */
        size_t held = (size_t)(r->end - r->base);
        size_t at = (size_t)(r->base & (cap - 1)), first = cap - at < held ? cap - at : held;
        copy_out(r->buf, r->cap, r->base, nb + at, first);
        copy_out(r->buf, r->cap, r->base + first, nb, held - first);
    }
    lwq_free(r->alloc, r->buf);
    r->buf = nb;
    r->cap = cap;
    return 0;
}

int lwq_ring_write(lwq_ring *r, uint64_t off, const uint8_t *p, size_t n)
{
    if (off < r->base)
        return LWQ_ERR_INVAL;
    if (n == 0)
        return 0;
    if (off + n - r->base > r->max)
        return LWQ_ERR_LIMIT;
    size_t need = (size_t)(off + n - r->base);
    if (need > r->cap) {
        int rv = grow(r, need);
        if (rv)
            return rv;
    }
    size_t at = (size_t)(off & (r->cap - 1)), first = r->cap - at < n ? r->cap - at : n;
    memcpy(r->buf + at, p, first);
    memcpy(r->buf, p + first, n - first);
    if (off + n > r->end)
        r->end = off + n;
    return 0;
}

void lwq_ring_read(const lwq_ring *r, uint64_t off, uint8_t *p, size_t n)
{
    if (n)
        copy_out(r->buf, r->cap, off, p, n);
}

size_t lwq_ring_peek(const lwq_ring *r, uint64_t off, size_t n, const uint8_t **p)
{
    if (!r->cap || n == 0) {
        *p = NULL;
        return 0;
    }
    size_t at = (size_t)(off & (r->cap - 1));
    *p = r->buf + at;
    return r->cap - at < n ? r->cap - at : n;
}

void lwq_ring_release(lwq_ring *r, uint64_t off)
{
    if (off <= r->base)
        return;
    r->base = off;
    if (r->end < off)
        r->end = off;
    if (r->end == r->base && r->cap > 4096) {
        lwq_ring_free(r); /* idle streams give their memory back */
    }
}
