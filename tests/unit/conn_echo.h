/* An echo application over a conn_pair: the client writes patterned data on streams, the server
 * echoes every byte back, the client checks the echo byte for byte. */
#ifndef LWQ_TEST_CONN_ECHO_H
#define LWQ_TEST_CONN_ECHO_H

#include "conn_pair.h"

#define ECHO_MAX 64
#define ECHO_CHUNK 16384

typedef struct echo_stream {
    int64_t id;
    int open;
    size_t total, sent, got;
    int fin_sent, fin_got, bad;
} echo_stream;

typedef struct echo_srv {
    int64_t id;
    uint8_t carry[ECHO_CHUNK];
    size_t carry_len, carry_off;
    int fin_in, fin_out;
} echo_srv;

typedef struct echo {
    pair *p;
    echo_stream cs[ECHO_MAX];
    size_t n;
    echo_srv ss[ECHO_MAX];
    size_t ns;
    size_t done;
    uint64_t ev_readable, ev_opened, ev_closed, ev_writable;
} echo;

static echo *echo_cur;

static inline uint8_t echo_byte(int64_t id, size_t i)
{
    return (uint8_t)(i * 7 + (size_t)id * 13 + (i >> 9));
}

static inline void echo_client(echo *e)
{
    lwq_conn *c = e->p->client;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE)
            e->ev_readable++;
        else if (ev.type == LWQ_EV_STREAM_CLOSED)
            e->ev_closed++;
        else if (ev.type == LWQ_EV_STREAM_WRITABLE)
            e->ev_writable++;
    if (!lwq_conn_is_established(c))
        return;
    uint8_t buf[ECHO_CHUNK];
    for (size_t k = 0; k < e->n; k++) {
        echo_stream *s = &e->cs[k];
        if (!s->open) {
            if (lwq_stream_open(c, 1, &s->id) != 0)
                continue;
            s->open = 1;
        }
        while (!s->fin_sent) {
            size_t n = s->total - s->sent < sizeof(buf) ? s->total - s->sent : sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = echo_byte(s->id, s->sent + i);
            ssize_t w = lwq_stream_write(c, s->id, buf, n, s->sent + n == s->total);
            ck_assert_int_ge(w, 0);
            s->sent += (size_t)w;
            if (s->sent == s->total && (size_t)w == n)
                s->fin_sent = 1;
            if ((size_t)w < n || !w)
                break;
        }
        while (!s->fin_got) {
            int fin = 0;
            ssize_t r = lwq_stream_read(c, s->id, buf, sizeof(buf), &fin);
            if (r == LWQ_ERR_AGAIN)
                break;
            ck_assert_int_ge(r, 0);
            for (ssize_t i = 0; i < r; i++)
                if (buf[i] != echo_byte(s->id, s->got + (size_t)i))
                    s->bad++;
            s->got += (size_t)r;
            if (fin) {
                s->fin_got = 1;
                e->done++;
            }
        }
    }
}

static inline echo_srv *echo_srv_stream(echo *e, int64_t id)
{
    for (size_t i = 0; i < e->ns; i++)
        if (e->ss[i].id == id)
            return &e->ss[i];
    ck_assert_uint_lt(e->ns, ECHO_MAX);
    echo_srv *s = &e->ss[e->ns++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    return s;
}

static inline void echo_server(echo *e)
{
    lwq_conn *c = e->p->server;
    if (!c)
        return;
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == LWQ_EV_STREAM_OPENED) {
            e->ev_opened++;
            echo_srv_stream(e, ev.stream_id);
        }
    for (size_t k = 0; k < e->ns; k++) {
        echo_srv *s = &e->ss[k];
        for (;;) {
            if (s->carry_off < s->carry_len || (s->fin_in && !s->fin_out)) {
                size_t n = s->carry_len - s->carry_off;
                ssize_t w = lwq_stream_write(c, s->id, s->carry + s->carry_off, n, s->fin_in);
                if (w < 0)
                    break;
                s->carry_off += (size_t)w;
                if (s->fin_in && (size_t)w == n)
                    s->fin_out = 1;
                if (s->carry_off < s->carry_len)
                    break;
            }
            if (s->fin_in)
                break;
            int fin = 0;
            ssize_t r = lwq_stream_read(c, s->id, s->carry, sizeof(s->carry), &fin);
            if (r == LWQ_ERR_AGAIN || r < 0)
                break;
            s->carry_len = (size_t)r;
            s->carry_off = 0;
            s->fin_in = fin;
        }
    }
}

static inline int echo_step(pair *p)
{
    echo *e = echo_cur;
    echo_server(e);
    echo_client(e);
    return e->done == e->n;
}

static inline void echo_init(echo *e, pair *p, size_t nstreams, size_t bytes)
{
    memset(e, 0, sizeof(*e));
    e->p = p;
    e->n = nstreams;
    for (size_t i = 0; i < nstreams; i++)
        e->cs[i].total = bytes;
    echo_cur = e;
}

static inline void echo_check(const echo *e)
{
    for (size_t i = 0; i < e->n; i++) {
        ck_assert_msg(e->cs[i].fin_got, "stream %zu unfinished: got %zu of %zu", i, e->cs[i].got, e->cs[i].total);
        ck_assert_uint_eq(e->cs[i].got, e->cs[i].total);
        ck_assert_int_eq(e->cs[i].bad, 0);
    }
}

#endif
