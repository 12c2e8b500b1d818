#include "quic/recvbuf.h"

void lwq_recvbuf_init(lwq_recvbuf *b, const lwq_allocator *a, size_t window, size_t max_gaps)
{
    lwq_ring_init(&b->data, a, window);
    lwq_ranges_init(&b->got, a, max_gaps + 2);
    b->max_ranges = max_gaps + 1;
    b->read_off = 0;
    b->final_size = LWQ_FINAL_UNKNOWN;
    b->highest = 0;
}

void lwq_recvbuf_free(lwq_recvbuf *b)
{
    lwq_ring_free(&b->data);
    lwq_ranges_free(&b->got);
}

int lwq_recvbuf_set_final(lwq_recvbuf *b, uint64_t final_size)
{
    /* RFC 9000 §4.5: the final size cannot change, nor be below data already received. */
    if (b->final_size != LWQ_FINAL_UNKNOWN)
        return b->final_size == final_size ? 0 : LWQ_RECV_FINAL_SIZE;
    if (final_size < b->highest)
        return LWQ_RECV_FINAL_SIZE;
    b->final_size = final_size;
    return 0;
}

int lwq_recvbuf_insert(lwq_recvbuf *b, uint64_t off, const uint8_t *p, size_t n, int fin)
{
    uint64_t end = off + n;
    if (end < off)
        return LWQ_RECV_WINDOW;
    if (b->final_size != LWQ_FINAL_UNKNOWN && end > b->final_size)
        return LWQ_RECV_FINAL_SIZE;
    if (fin) {
        int rv = lwq_recvbuf_set_final(b, end);
        if (rv)
            return rv;
    }
    if (end <= b->read_off)
        return 0; /* all old */
    if (off < b->read_off) {
        p += b->read_off - off;
        n -= (size_t)(b->read_off - off);
        off = b->read_off;
    }
    if (end - b->read_off > b->data.max)
        return LWQ_RECV_WINDOW;
    /* Bytes first, then the range: a failure leaves no range claiming bytes we lack. Rewriting
     * bytes already held is harmless: the peer must resend the same data (RFC 9000 §2.2). */
    int rv = lwq_ring_write(&b->data, off, p, n);
    if (rv)
        return rv;
    size_t before = b->got.count;
    rv = lwq_ranges_add(&b->got, off, end);
    if (rv)
        return rv;
    if (b->got.count > before && b->got.count > b->max_ranges && off > b->read_off) {
        /* A new isolated range past the gap limit. Data at read_off is always taken (it is
         * consumable at once), so the spare slot keeps an at-limit stream from deadlocking. */
        lwq_ranges_remove(&b->got, off, end);
        return LWQ_ERR_LIMIT;
    }
    if (end > b->highest)
        b->highest = end;
    return 0;
}

size_t lwq_recvbuf_readable(const lwq_recvbuf *b)
{
    return (size_t)(lwq_ranges_contiguous_end(&b->got, b->read_off) - b->read_off);
}

size_t lwq_recvbuf_read(lwq_recvbuf *b, uint8_t *p, size_t n, int *fin)
{
    size_t avail = lwq_recvbuf_readable(b);
    if (n > avail)
        n = avail;
    lwq_ring_read(&b->data, b->read_off, p, n);
    b->read_off += n;
    lwq_ranges_remove(&b->got, 0, b->read_off); /* trims the front: never splits */
    lwq_ring_release(&b->data, b->read_off);
    if (fin)
        *fin = b->read_off == b->final_size;
    return n;
}
