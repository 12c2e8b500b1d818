#include "quic/sendbuf.h"

void lwq_sendbuf_init(lwq_sendbuf *b, const lwq_allocator *a, size_t max, size_t max_ranges)
{
    lwq_ring_init(&b->data, a, max);
    lwq_ranges_init(&b->acked, a, max_ranges);
    lwq_ranges_init(&b->lost, a, max_ranges);
    b->write_off = b->sent_off = b->acked_off = 0;
    b->fin = b->fin_sent = b->fin_acked = b->fin_lost = 0;
}

void lwq_sendbuf_free(lwq_sendbuf *b)
{
    lwq_ring_free(&b->data);
    lwq_ranges_free(&b->acked);
    lwq_ranges_free(&b->lost);
}

size_t lwq_sendbuf_room(const lwq_sendbuf *b)
{
    uint64_t held = b->write_off - b->acked_off;
    return held >= b->data.max ? 0 : (size_t)(b->data.max - held);
}

ssize_t lwq_sendbuf_write(lwq_sendbuf *b, const uint8_t *p, size_t n, int fin)
{
    if (b->fin)
        return LWQ_ERR_STATE;
    size_t room = lwq_sendbuf_room(b), want = n;
    if (n > room)
        n = room;
    int rv = lwq_ring_write(&b->data, b->write_off, p, n);
    if (rv)
        return rv;
    b->write_off += n;
    if (fin && n == want)
        b->fin = 1;
    return (ssize_t)n;
}

int lwq_sendbuf_next(const lwq_sendbuf *b, uint64_t limit, size_t max_len, uint64_t *off, size_t *len, int *fin)
{
    if (!lwq_ranges_empty(&b->lost)) {
        /* Retransmissions are below sent_off, already counted against flow control. */
        const lwq_range *r = &b->lost.r[0];
        uint64_t n = r->end - r->start;
        *off = r->start;
        *len = n < max_len ? (size_t)n : max_len;
        *fin = b->fin && *off + *len == b->write_off && b->fin_lost;
        return *len > 0 || *fin;
    }
    if (b->fin_lost && b->sent_off == b->write_off) {
        *off = b->write_off; /* a lost bare FIN */
        *len = 0;
        *fin = 1;
        return 1;
    }
    uint64_t end = b->write_off < limit ? b->write_off : limit;
    if (b->sent_off < end) {
        uint64_t n = end - b->sent_off;
        *off = b->sent_off;
        *len = n < max_len ? (size_t)n : max_len;
        *fin = b->fin && *off + *len == b->write_off;
        return *len > 0;
    }
    if (b->fin && !b->fin_sent && b->sent_off == b->write_off) {
        *off = b->write_off;
        *len = 0;
        *fin = 1;
        return 1;
    }
    return 0;
}

void lwq_sendbuf_copy(const lwq_sendbuf *b, uint64_t off, uint8_t *p, size_t len)
{
    lwq_ring_read(&b->data, off, p, len);
}

void lwq_sendbuf_on_sent(lwq_sendbuf *b, uint64_t off, size_t len, int fin)
{
    lwq_ranges_remove(&b->lost, off, off + len); /* trims the front of the lowest range: never splits */
    if (off + len > b->sent_off)
        b->sent_off = off + len;
    if (fin) {
        b->fin_sent = 1;
        b->fin_lost = 0;
    }
}

int lwq_sendbuf_on_acked(lwq_sendbuf *b, uint64_t off, size_t len, int fin)
{
    if (fin) {
        b->fin_acked = 1;
        b->fin_lost = 0;
    }
    uint64_t end = off + len;
    if (end <= b->acked_off)
        return 0;
    if (off < b->acked_off)
        off = b->acked_off;
    int rv = lwq_ranges_add(&b->acked, off, end);
    if (rv)
        return rv;
    rv = lwq_ranges_remove(&b->lost, off, end);
    if (rv)
        return rv;
    /* Release the acknowledged prefix. */
    uint64_t front = lwq_ranges_contiguous_end(&b->acked, b->acked_off);
    if (front > b->acked_off) {
        lwq_ranges_remove(&b->acked, 0, front);
        b->acked_off = front;
        lwq_ring_release(&b->data, front);
    }
    return 0;
}

int lwq_sendbuf_on_lost(lwq_sendbuf *b, uint64_t off, size_t len, int fin)
{
    if (fin && !b->fin_acked)
        b->fin_lost = 1;
    uint64_t end = off + len;
    if (off < b->acked_off)
        off = b->acked_off;
    /* Add [off, end) minus what was acknowledged meanwhile. */
    while (off < end) {
        size_t i = 0;
        while (i < b->acked.count && b->acked.r[i].end <= off)
            i++;
        uint64_t stop = end;
        if (i < b->acked.count && b->acked.r[i].start <= off) {
            off = b->acked.r[i].end;
            continue;
        }
        if (i < b->acked.count && b->acked.r[i].start < stop)
            stop = b->acked.r[i].start;
        int rv = lwq_ranges_add(&b->lost, off, stop);
        if (rv)
            return rv;
        off = stop;
    }
    return 0;
}
