/* Two sans-IO lwq_h3_conn objects, a client and a server, wired by their stream bytes (no QUIC):
 * outputs are fed to the peer in pieces of `split` bytes; actions become the peer's resets. */
#ifndef LWQ_TEST_H3_PAIR_H
#define LWQ_TEST_H3_PAIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lwquic/h3.h"

#define H3P_MAXEV 512
#define H3P_MAXST 64

typedef struct h3p_rec {
    lwq_h3_event_type type;
    int64_t stream_id;
    uint64_t error_code, id;
    int status, informational;
    uint8_t urgency;
    int incremental;
    char first_field[64]; /* "name: value" of the first regular field, or of :path for requests */
    size_t field_count;
} h3p_rec;

typedef struct h3p_body {
    int64_t id;
    uint8_t *data;
    size_t len, cap;
} h3p_body;

typedef struct h3p_side {
    lwq_h3_conn *h;
    h3p_rec ev[H3P_MAXEV];
    size_t nev;
    h3p_body body[H3P_MAXST];
    size_t nbody;
    lwq_h3_action acts[H3P_MAXEV];
    size_t nact;
    int closed;
    uint64_t close_code;
} h3p_side;

typedef struct h3p {
    h3p_side c, s;
    size_t split;
    int no_read; /* the applications do not read bodies */
} h3p;

static inline h3p_body *h3p_body_of(h3p_side *x, int64_t id)
{
    for (size_t i = 0; i < x->nbody; i++)
        if (x->body[i].id == id)
            return &x->body[i];
    ck_assert_uint_lt(x->nbody, H3P_MAXST);
    h3p_body *b = &x->body[x->nbody++];
    memset(b, 0, sizeof(*b));
    b->id = id;
    return b;
}

static inline void h3p_read(h3p_side *x, int64_t id)
{
    uint8_t buf[4096];
    ssize_t n;
    h3p_body *b = h3p_body_of(x, id);
    while ((n = lwq_h3_conn_read_body(x->h, id, buf, sizeof(buf))) > 0) {
        if (b->len + (size_t)n > b->cap) {
            b->cap = (b->len + (size_t)n) * 2;
            b->data = realloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, buf, (size_t)n);
        b->len += (size_t)n;
    }
}

static inline void h3p_events(h3p *p, h3p_side *x)
{
    lwq_h3_event ev;
    while (lwq_h3_conn_next_event(x->h, &ev)) {
        ck_assert_uint_lt(x->nev, H3P_MAXEV);
        h3p_rec *r = &x->ev[x->nev++];
        memset(r, 0, sizeof(*r));
        r->type = ev.type;
        r->stream_id = ev.stream_id;
        r->error_code = ev.error_code;
        r->id = ev.id;
        r->status = ev.status;
        r->informational = ev.informational;
        r->urgency = ev.urgency;
        r->incremental = ev.incremental;
        r->field_count = ev.field_count;
        for (size_t i = 0; i < ev.field_count; i++) {
            const lwq_h3_field *f = &ev.fields[i];
            int is_path = f->name_len == 5 && memcmp(f->name, ":path", 5) == 0;
            if (f->name[0] != ':' || is_path) {
                snprintf(r->first_field, sizeof(r->first_field), "%.*s: %.*s", (int)f->name_len, (const char *)f->name,
                         (int)f->value_len, (const char *)f->value);
                break;
            }
        }
        if ((ev.type == LWQ_H3_EV_DATA || ev.type == LWQ_H3_EV_END) && !p->no_read)
            h3p_read(x, ev.stream_id);
        if (ev.type == LWQ_H3_EV_CLOSED) {
            x->closed = 1;
            x->close_code = ev.error_code;
        }
    }
}

static inline void h3p_init(h3p *p, const lwq_h3_config *ccfg, const lwq_h3_config *scfg)
{
    memset(p, 0, sizeof(*p));
    lwq_h3_config d;
    lwq_h3_config_init(&d);
    d.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_conn_new(&p->c.h, 0, ccfg ? ccfg : &d), 0);
    ck_assert_int_eq(lwq_h3_conn_new(&p->s.h, 1, scfg ? scfg : &d), 0);
    ck_assert_int_eq(lwq_h3_conn_bind_streams(p->c.h, 2, 6, 10), 0);
    ck_assert_int_eq(lwq_h3_conn_bind_streams(p->s.h, 3, 7, 11), 0);
    p->split = 1 << 20;
}

static inline void h3p_free(h3p *p)
{
    lwq_h3_conn_del(p->c.h);
    lwq_h3_conn_del(p->s.h);
    for (size_t i = 0; i < p->c.nbody; i++)
        free(p->c.body[i].data);
    for (size_t i = 0; i < p->s.nbody; i++)
        free(p->s.body[i].data);
}

/* Moves one side's output and actions to the other; returns the bytes moved. */
static inline size_t h3p_move(h3p *p, h3p_side *from, h3p_side *to)
{
    size_t moved = 0;
    int64_t id;
    const uint8_t *d;
    size_t len;
    int fin;
    lwq_h3_action a;
    while (lwq_h3_conn_next_action(from->h, &a)) {
        ck_assert_uint_lt(from->nact, H3P_MAXEV);
        from->acts[from->nact++] = a;
        if (to->closed)
            continue;
        if (a.type == LWQ_H3_ACT_RESET)
            lwq_h3_conn_stream_reset(to->h, a.stream_id, a.error_code);
        else if (a.type == LWQ_H3_ACT_STOP_SENDING)
            lwq_h3_conn_stop_sending(to->h, a.stream_id, a.error_code);
        else if (a.type == LWQ_H3_ACT_CLOSE) {
            from->closed = 1;
            from->close_code = a.error_code;
        }
    }
    for (int guard = 0; guard < 100000 && !from->closed && lwq_h3_conn_next_output(from->h, &id, &d, &len, &fin);
         guard++) {
        size_t k = len < p->split ? len : p->split;
        int f = fin && k == len;
        ssize_t n = to->closed ? (ssize_t)k : lwq_h3_conn_recv_stream(to->h, id, d, k, f);
        if (n < 0)
            n = (ssize_t)k; /* the receiver failed: its CLOSE action follows */
        lwq_h3_conn_output_done(from->h, id, (size_t)n, (size_t)n < k || (len == 0 && !f));
        moved += (size_t)n + (f && (size_t)n == k);
        if ((size_t)n < k)
            break;
    }
    return moved;
}

/* Runs until quiet. */
static inline void h3p_run(h3p *p)
{
    for (int i = 0; i < 100000; i++) {
        for (int64_t id = 0; id < 4 * H3P_MAXST; id += 4) {
            lwq_h3_conn_stream_writable(p->c.h, id);
            lwq_h3_conn_stream_writable(p->s.h, id);
        }
        size_t m = h3p_move(p, &p->c, &p->s);
        h3p_events(p, &p->s);
        m += h3p_move(p, &p->s, &p->c);
        h3p_events(p, &p->c);
        m += h3p_move(p, &p->c, &p->s);
        h3p_events(p, &p->s);
        if (!m)
            return;
    }
    ck_abort_msg("h3 pair did not settle");
}

static inline const h3p_rec *h3p_find(const h3p_side *x, lwq_h3_event_type t, int64_t id)
{
    for (size_t i = 0; i < x->nev; i++)
        if (x->ev[i].type == t && (id < 0 || x->ev[i].stream_id == id))
            return &x->ev[i];
    return NULL;
}

static inline size_t h3p_count(const h3p_side *x, lwq_h3_event_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < x->nev; i++)
        n += x->ev[i].type == t;
    return n;
}

static inline lwq_h3_field h3p_field(const char *n, const char *v)
{
    lwq_h3_field f = {(const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v), 0};
    return f;
}

#endif
