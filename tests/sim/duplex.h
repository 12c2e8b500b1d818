/* One bidirectional stream (ID 0, opened by the client) carrying `bytes` of a pattern each way, checked
 * byte for byte: the transfer of the scenarios that test something alongside it (key update, v2).
 * A pump calls duplex_events() and, when it returns 1, duplex_move(). */
#ifndef LWQ_TEST_SIM_DUPLEX_H
#define LWQ_TEST_SIM_DUPLEX_H

#include "testutil.h"
#include "quic/conn.h"

#define DUPLEX_CHUNK 16384

typedef struct duplex_side {
    uint64_t sent, got, bad;
    int fin_sent, fin_got, closed;
    lwq_close_info close;
} duplex_side;

typedef struct duplex {
    uint64_t bytes; /* each way */
    int opened;
    duplex_side side[2]; /* 0 client, 1 server */
} duplex;

static inline uint8_t duplex_byte(int dir, uint64_t off)
{
    uint64_t x = (off >> 3) * 0xbf58476d1ce4e5b9ull + (uint64_t)(dir + 1) * 0x94d049bb133111ebull;
    return (uint8_t)((x ^ (x >> 31)) >> (8 * (off & 7)));
}

/* Drains c's events, keeping the close. 1 when c is established and open, so data may move. */
static inline int duplex_events(duplex *d, lwq_conn *c, int server)
{
    duplex_side *s = &d->side[server];
    if (!c)
        return 0;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == LWQ_EV_CLOSED) {
            s->closed = 1;
            s->close = ev.close;
        }
    return !s->closed && lwq_conn_is_established(c);
}

/* The client opens stream 0 once; each side writes what flow control takes and reads what arrived. */
static inline void duplex_move(duplex *d, lwq_conn *c, int server)
{
    duplex_side *s = &d->side[server];
    if (!server && !d->opened) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(c, 1, &id), 0);
        ck_assert_int_eq(id, 0);
        d->opened = 1;
    }
    uint8_t buf[DUPLEX_CHUNK];
    while (!s->fin_sent) {
        uint64_t left = d->bytes - s->sent;
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = duplex_byte(server, s->sent + i);
        ssize_t r = lwq_stream_write(c, 0, buf, n, n == left);
        if (r <= 0)
            break; /* no window, or (server) the client has not opened the stream yet */
        s->sent += (size_t)r;
        if ((size_t)r == n && n == left)
            s->fin_sent = 1;
        if ((size_t)r < n)
            break;
    }
    while (!s->fin_got) {
        int fin = 0;
        ssize_t r = lwq_stream_read(c, 0, buf, sizeof(buf), &fin);
        if (r < 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != duplex_byte(!server, s->got + (uint64_t)i))
                s->bad++;
        s->got += (uint64_t)r;
        s->fin_got = fin;
    }
}

#endif
