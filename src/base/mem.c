#include <stdlib.h>
#include <sodium.h>
#include "base/mem.h"

static void *libc_malloc(void *ud, size_t n) { (void)ud; return malloc(n); }
static void *libc_calloc(void *ud, size_t m, size_t n) { (void)ud; return calloc(m, n); }
static void *libc_realloc(void *ud, void *p, size_t n) { (void)ud; return realloc(p, n); }
static void libc_free(void *ud, void *p) { (void)ud; free(p); }

static const lwq_allocator libc_allocator = {libc_malloc, libc_calloc, libc_realloc, libc_free, NULL};

const lwq_allocator *lwq_default_allocator(void) { return &libc_allocator; }

void *lwq_malloc(const lwq_allocator *a, size_t n)
{
    if (!a)
        a = &libc_allocator;
    return a->malloc ? a->malloc(a->ud, n ? n : 1) : malloc(n ? n : 1);
}

void *lwq_calloc(const lwq_allocator *a, size_t nmemb, size_t size)
{
    if (!a)
        a = &libc_allocator;
    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    if (a->calloc)
        return a->calloc(a->ud, nmemb, size);
    if (size && nmemb > SIZE_MAX / size)
        return NULL;
    void *p = lwq_malloc(a, nmemb * size);
    if (p)
        memset(p, 0, nmemb * size);
    return p;
}

void *lwq_realloc(const lwq_allocator *a, void *p, size_t n)
{
    if (!a)
        a = &libc_allocator;
    return a->realloc ? a->realloc(a->ud, p, n ? n : 1) : realloc(p, n ? n : 1);
}

void lwq_free(const lwq_allocator *a, void *p)
{
    if (!p)
        return;
    if (!a)
        a = &libc_allocator;
    if (a->free)
        a->free(a->ud, p);
    else
        free(p);
}

void *lwq_memdup(const lwq_allocator *a, const void *p, size_t n)
{
    void *q = lwq_malloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

void lwq_wipe(void *p, size_t n) { sodium_memzero(p, n); }

int lwq_ct_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }
