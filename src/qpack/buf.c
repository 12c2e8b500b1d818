/* Caller-owned growable buffers and decoded field lists. */
#include <string.h>
#include "base/mem.h"
#include "lwquic/qpack.h"
#include "qpack/codec.h"

void lwq_qpack_buf_init(lwq_qpack_buf *b, const lwq_allocator *a)
{
    memset(b, 0, sizeof(*b));
    b->alloc = a;
}

void lwq_qpack_buf_free(lwq_qpack_buf *b)
{
    lwq_free(b->alloc, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int lwq_qpack_buf_reserve(lwq_qpack_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 2 - b->len)
        return LWQ_ERR_NOMEM;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + n)
        ncap *= 2;
    uint8_t *nd = lwq_realloc(b->alloc, b->data, ncap);
    if (!nd)
        return LWQ_ERR_NOMEM;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

void lwq_qpack_buf_consume(lwq_qpack_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int lwq_qpack_buf_append(lwq_qpack_buf *b, const uint8_t *p, size_t n)
{
    int rv = lwq_qpack_buf_reserve(b, n);
    if (rv < 0)
        return rv;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void lwq_qpack_headers_init(lwq_qpack_headers *h, const lwq_allocator *a)
{
    memset(h, 0, sizeof(*h));
    h->alloc = a;
}

void lwq_qpack_headers_free(lwq_qpack_headers *h)
{
    lwq_free(h->alloc, h->fields);
    lwq_free(h->alloc, h->bytes);
    lwq_qpack_headers_init(h, h->alloc);
}

void lwq_qpack_headers_clear(lwq_qpack_headers *h)
{
    h->count = h->size = h->bytes_len = 0;
}

int lwq_qpack_headers_reserve(lwq_qpack_headers *h, size_t fields, size_t bytes)
{
    if (fields > h->fields_cap - h->count) {
        size_t ncap = h->fields_cap ? h->fields_cap * 2 : 16;
        while (ncap - h->count < fields)
            ncap *= 2;
        lwq_qpack_field *nf = lwq_realloc(h->alloc, h->fields, ncap * sizeof(*nf));
        if (!nf)
            return LWQ_ERR_NOMEM;
        h->fields = nf;
        h->fields_cap = ncap;
    }
    if (bytes > h->bytes_cap - h->bytes_len) {
        if (bytes > SIZE_MAX / 4)
            return LWQ_ERR_NOMEM;
        size_t ncap = h->bytes_cap ? h->bytes_cap * 2 : 256;
        while (ncap - h->bytes_len < bytes)
            ncap *= 2;
        uint8_t *nb = lwq_realloc(h->alloc, h->bytes, ncap);
        if (!nb)
            return LWQ_ERR_NOMEM;
        h->bytes = nb;
        h->bytes_cap = ncap;
    }
    return 0;
}

/* While decoding, fields hold offsets into bytes (which may move); this makes them pointers. */
void lwq_qpack_headers_finish(lwq_qpack_headers *h)
{
    for (size_t i = 0; i < h->count; i++) {
        h->fields[i].name = h->bytes + (uintptr_t)h->fields[i].name;
        h->fields[i].value = h->bytes + (uintptr_t)h->fields[i].value;
    }
}
