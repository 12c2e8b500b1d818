/* The message server: each client-initiated bidirectional stream is one request (bytes, FIN),
 * answered on the same stream (bytes, FIN). Requests are read on the connection's strand, run by a
 * handler on a pool of their own, and their answers go back to the strand in batches (one post per
 * batch). Every byte and handler slot a peer can take is counted against a server-wide limit. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "app/app_int.h"

#define BUCKETS 64

typedef struct srv_conn srv_conn;

enum { REQ_READING, REQ_RUNNING, REQ_REPLYING, REQ_REFUSED };

typedef struct srv_req {
    int64_t id;
    int state, cancelled, failed;
    uint8_t *buf; /* the request, then the answer */
    size_t len, cap, off;
    srv_conn *sc;
    struct srv_req *hnext, *dnext;
} srv_req;

struct lwq_msg_reply {
    srv_req *r;
    size_t max;
    int set;
};

struct srv_conn {
    lwq_msgsrv *s;
    lwq_endpoint_conn *ec;
    pthread_mutex_t mu; /* gone, done list */
    int refs;           /* under s->mu: the strand's (until CLOSED) and one per running handler */
    int gone, drain_posted;
    char peer[64];
    srv_req *done_head, *done_tail;
    srv_req *table[BUCKETS]; /* strand only */
    srv_conn *prev, *next;   /* s->conns */
};

struct lwq_msgsrv {
    lwq_msgsrv_config cfg;
    const lwq_allocator *a;
    char alpn[64], *listen, *cert, *key;
    const char *alpn_list[1];
    lwq_context *ctx;
    lwq_loop *net, *work;
    lwq_endpoint *ep;
    uint16_t port;
    pthread_mutex_t mu; /* stats, conns, refs */
    pthread_cond_t cv;
    srv_conn *conns;
    lwq_msgsrv_stats st;
};

void lwq_msgsrv_config_init(lwq_msgsrv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = "127.0.0.1:4433";
    cfg->alpn = "echo";
    cfg->max_message = 16u << 20;
    cfg->max_handlers = 1024;
    cfg->max_buffered = 256u << 20;
    cfg->max_streams = 1000;
    cfg->workers = 2;
    cfg->handler_workers = 4;
}

static void srv_log(lwq_msgsrv *s, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (s->cfg.log)
        s->cfg.log(s->cfg.log_ud, line);
    else
        fprintf(stderr, "lwquic message server: %s\n", line);
}

static void buffered_add(lwq_msgsrv *s, size_t add, size_t sub)
{
    pthread_mutex_lock(&s->mu);
    s->st.buffered += add;
    s->st.buffered -= sub;
    if (s->st.buffered > s->st.peak_buffered)
        s->st.peak_buffered = s->st.buffered;
    pthread_mutex_unlock(&s->mu);
}

static void conn_unref(srv_conn *sc)
{
    lwq_msgsrv *s = sc->s;
    pthread_mutex_lock(&s->mu);
    int last = --sc->refs == 0;
    if (last) {
        if (sc->prev)
            sc->prev->next = sc->next;
        else
            s->conns = sc->next;
        if (sc->next)
            sc->next->prev = sc->prev;
        s->st.connections--;
    }
    pthread_mutex_unlock(&s->mu);
    if (last) {
        pthread_mutex_destroy(&sc->mu);
        app_free(s->a, sc);
    }
}

static srv_req **slot(srv_conn *sc, int64_t id)
{
    srv_req **p = &sc->table[((uint64_t)id >> 2) % BUCKETS];
    while (*p && (*p)->id != id)
        p = &(*p)->hnext;
    return p;
}

static void req_free(srv_req *r)
{
    const lwq_allocator *a = r->sc->s->a;
    if (r->state == REQ_READING || r->state == REQ_REFUSED)
        buffered_add(r->sc->s, 0, r->cap);
    app_free(a, r->buf);
    app_free(a, r);
}

/* Removes r from the table and frees it (strand). */
static void req_drop(srv_conn *sc, srv_req *r)
{
    srv_req **p = slot(sc, r->id);
    if (*p == r)
        *p = r->hnext;
    req_free(r);
}

/* Refuses a request: the client sees RESET_STREAM (and STOP_SENDING) with code. */
static void refuse(lwq_conn *conn, srv_req *r, uint64_t code)
{
    lwq_stream_stop_sending(conn, r->id, code);
    lwq_stream_reset(conn, r->id, code);
    r->state = REQ_REFUSED;
    buffered_add(r->sc->s, 0, r->cap);
    app_free(r->sc->s->a, r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

int lwq_msg_reply_set(lwq_msg_reply *rp, const uint8_t *data, size_t len)
{
    if (len > rp->max)
        return LWQ_ERR_LIMIT;
    const lwq_allocator *a = rp->r->sc->s->a;
    uint8_t *b = app_alloc(a, len ? len : 1);
    if (!b)
        return LWQ_ERR_NOMEM;
    if (len)
        memcpy(b, data, len);
    app_free(a, rp->r->buf);
    rp->r->buf = b;
    rp->r->len = len;
    rp->set = 1;
    return 0;
}

/* Writes what the transport takes of an answer; frees the request once all went with FIN. */
static void reply_write(srv_conn *sc, lwq_conn *conn, srv_req *r)
{
    ssize_t n = lwq_stream_write(conn, r->id, r->buf + r->off, r->len - r->off, 1);
    if (n < 0) {
        req_drop(sc, r); /* the peer reset or stopped the stream meanwhile */
        return;
    }
    r->off += (size_t)n;
    if (r->off == r->len) {
        pthread_mutex_lock(&sc->s->mu);
        sc->s->st.answered++;
        pthread_mutex_unlock(&sc->s->mu);
        req_drop(sc, r);
    }
}

/* On the strand: answers the handlers finished since the last drain. */
static void drain(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)arg;
    srv_conn *sc = lwq_endpoint_conn_data(ec);
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    srv_req *r = sc->done_head;
    sc->done_head = sc->done_tail = NULL;
    sc->drain_posted = 0;
    pthread_mutex_unlock(&sc->mu);
    while (r) {
        srv_req *next = r->dnext;
        if (r->cancelled) {
            req_drop(sc, r);
        } else if (r->failed) {
            lwq_stream_stop_sending(conn, r->id, LWQ_MSG_ERR_HANDLER);
            lwq_stream_reset(conn, r->id, LWQ_MSG_ERR_HANDLER);
            req_drop(sc, r);
        } else {
            r->state = REQ_REPLYING;
            r->off = 0;
            reply_write(sc, conn, r);
        }
        r = next;
    }
}

/* On a handler thread. */
static void *run_handler(void *arg)
{
    srv_req *r = arg;
    srv_conn *sc = r->sc;
    lwq_msgsrv *s = sc->s;
    lwq_msg_reply rp = {r, s->cfg.max_message, 0};
    uint8_t *req = r->buf;
    size_t len = r->len;
    r->buf = NULL;
    r->len = 0;
    int rv = s->cfg.handler(s->cfg.handler_ud, req ? req : (const uint8_t *)"", len, &rp);
    app_free(s->a, req);
    if (rv) {
        r->failed = 1;
        srv_log(s, "handler failed (%d) on stream %lld of %s: stream reset with code 0x%x", rv, (long long)r->id,
                sc->peer, LWQ_MSG_ERR_HANDLER);
        pthread_mutex_lock(&s->mu);
        s->st.failed++;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_lock(&sc->mu);
    int keep = !sc->gone;
    if (keep) {
        r->dnext = NULL;
        if (sc->done_tail)
            sc->done_tail->dnext = r;
        else
            sc->done_head = r;
        sc->done_tail = r;
        if (!sc->drain_posted) {
            sc->drain_posted = 1;
            lwq_endpoint_post(sc->ec, drain, NULL); /* LWQ_ERR_CLOSED: CLOSED frees the list */
        }
    }
    pthread_mutex_unlock(&sc->mu);
    if (!keep) {
        app_free(s->a, r->buf);
        app_free(s->a, r);
    }
    conn_unref(sc);
    pthread_mutex_lock(&s->mu);
    s->st.handlers--; /* last: lwq_msgsrv_del waits for this */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void start_handler(srv_conn *sc, lwq_conn *conn, srv_req *r)
{
    lwq_msgsrv *s = sc->s;
    pthread_mutex_lock(&s->mu);
    s->st.requests++;
    int busy = s->st.handlers >= s->cfg.max_handlers;
    if (busy) {
        s->st.refused_busy++;
    } else {
        s->st.handlers++;
        if (s->st.handlers > s->st.peak_handlers)
            s->st.peak_handlers = s->st.handlers;
        sc->refs++;
    }
    pthread_mutex_unlock(&s->mu);
    if (busy) {
        refuse(conn, r, LWQ_MSG_ERR_BUSY);
        return;
    }
    buffered_add(s, 0, r->cap);
    r->state = REQ_RUNNING;
    if (lwq_loop_post(s->work, run_handler, r) != 0) {
        r->state = REQ_REFUSED;
        lwq_stream_stop_sending(conn, r->id, LWQ_MSG_ERR_SHUTDOWN);
        lwq_stream_reset(conn, r->id, LWQ_MSG_ERR_SHUTDOWN);
        app_free(s->a, r->buf);
        r->buf = NULL;
        r->len = r->cap = 0;
        pthread_mutex_lock(&s->mu);
        s->st.handlers--;
        sc->refs--;
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_readable(srv_conn *sc, lwq_conn *conn, int64_t id)
{
    lwq_msgsrv *s = sc->s;
    srv_req **p = slot(sc, id), *r = *p;
    if (!r) {
        if ((id & 3) != 0)
            return; /* only client-initiated bidirectional streams carry requests */
        if (!(r = app_zalloc(s->a, sizeof(*r))))
            return;
        r->id = id;
        r->sc = sc;
        *p = r;
    }
    uint8_t scratch[4096];
    for (;;) {
        if (r->state == REQ_READING && r->len == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            if (cap > s->cfg.max_message + 1)
                cap = s->cfg.max_message + 1;
            pthread_mutex_lock(&s->mu);
            int over = s->st.buffered + (cap - r->cap) > s->cfg.max_buffered;
            pthread_mutex_unlock(&s->mu);
            uint8_t *b = over ? NULL : app_realloc(s->a, r->buf, cap);
            if (!b) {
                pthread_mutex_lock(&s->mu);
                s->st.refused_busy++;
                pthread_mutex_unlock(&s->mu);
                refuse(conn, r, LWQ_MSG_ERR_BUSY);
                continue;
            }
            buffered_add(s, cap - r->cap, 0);
            r->buf = b;
            r->cap = cap;
        }
        int fin = 0;
        ssize_t n = r->state == REQ_READING ? lwq_stream_read(conn, id, r->buf + r->len, r->cap - r->len, &fin)
                                            : lwq_stream_read(conn, id, scratch, sizeof(scratch), &fin);
        if (n < 0)
            return;
        if (r->state != REQ_READING) {
            if (n == 0 && !fin)
                return;
            continue;
        }
        r->len += (size_t)n;
        if (r->len > s->cfg.max_message) {
            pthread_mutex_lock(&s->mu);
            s->st.refused_size++;
            pthread_mutex_unlock(&s->mu);
            refuse(conn, r, LWQ_MSG_ERR_TOO_LARGE);
            continue;
        }
        if (fin) {
            start_handler(sc, conn, r);
            return;
        }
        if (n == 0)
            return;
    }
}

static void on_closed(srv_conn *sc, lwq_endpoint_conn *ec)
{
    /* Under the lock throughout: a handler thread that sees gone frees its request at once. */
    pthread_mutex_lock(&sc->mu);
    sc->gone = 1;
    for (srv_req *d = sc->done_head; d; d = d->dnext)
        d->state = REQ_REPLYING; /* finished by a handler: freed from the table below */
    sc->done_head = sc->done_tail = NULL;
    for (size_t i = 0; i < BUCKETS; i++) {
        srv_req *r = sc->table[i], *next;
        for (; r; r = next) {
            next = r->hnext;
            if (r->state != REQ_RUNNING)
                req_free(r); /* running ones are freed by their handler thread */
        }
        sc->table[i] = NULL;
    }
    pthread_mutex_unlock(&sc->mu);
    lwq_endpoint_conn_set_data(ec, NULL);
    conn_unref(sc);
}

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    lwq_msgsrv *s = ud;
    srv_conn *sc = lwq_endpoint_conn_data(ec);
    if (!sc) {
        if (ev->type == LWQ_EV_CLOSED || !(sc = app_zalloc(s->a, sizeof(*sc))))
            return;
        sc->s = s;
        sc->ec = ec;
        sc->refs = 1;
        snprintf(sc->peer, sizeof(sc->peer), "%s", lwq_endpoint_conn_peer(ec));
        pthread_mutex_init(&sc->mu, NULL);
        pthread_mutex_lock(&s->mu);
        sc->next = s->conns;
        if (s->conns)
            s->conns->prev = sc;
        s->conns = sc;
        s->st.connections++;
        pthread_mutex_unlock(&s->mu);
        lwq_endpoint_conn_set_data(ec, sc);
    }
    srv_req *r;
    switch (ev->type) {
    case LWQ_EV_STREAM_READABLE:
        on_readable(sc, conn, ev->stream_id);
        break;
    case LWQ_EV_STREAM_WRITABLE:
        if ((r = *slot(sc, ev->stream_id)) && r->state == REQ_REPLYING)
            reply_write(sc, conn, r);
        break;
    case LWQ_EV_STREAM_RESET:
    case LWQ_EV_STOP_SENDING:
    case LWQ_EV_STREAM_CLOSED:
        if ((r = *slot(sc, ev->stream_id))) {
            if (r->state == REQ_RUNNING)
                r->cancelled = 1; /* the answer is dropped in drain */
            else
                req_drop(sc, r);
        }
        break;
    case LWQ_EV_CLOSED:
        on_closed(sc, ec);
        break;
    default:
        break;
    }
}

int lwq_msgsrv_new(lwq_msgsrv **out, const lwq_msgsrv_config *cfg, char *err, size_t errlen)
{
    if (!cfg->handler || !cfg->cert_file || !cfg->key_file || !cfg->listen || !cfg->max_message) {
        snprintf(err, errlen, "a handler, a certificate and a key are required");
        return LWQ_ERR_INVAL;
    }
    lwq_msgsrv *s = app_zalloc(cfg->alloc, sizeof(*s));
    if (!s)
        return LWQ_ERR_NOMEM;
    s->cfg = *cfg;
    s->a = cfg->alloc;
    snprintf(s->alpn, sizeof(s->alpn), "%s", cfg->alpn ? cfg->alpn : "echo");
    s->alpn_list[0] = s->alpn;
    s->listen = app_strdup(s->a, cfg->listen);
    s->cert = app_strdup(s->a, cfg->cert_file);
    s->key = app_strdup(s->a, cfg->key_file);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    lwq_config qc;
    lwq_config_init(&qc, 1);
    qc.cert_file = s->cert;
    qc.key_file = s->key;
    qc.alpn = s->alpn_list;
    qc.alpn_count = 1;
    qc.alloc = s->a;
    uint64_t ms = cfg->max_streams ? cfg->max_streams : 1000;
    qc.initial_max_streams_bidi = ms;
    qc.initial_max_streams_uni = 0;
    if (qc.max_streams_open < ms)
        qc.max_streams_open = ms;
    const char *why = NULL;
    int rv = s->listen && s->cert && s->key ? lwq_context_new(&s->ctx, &qc, &why) : LWQ_ERR_NOMEM;
    if (rv) {
        app_context_error(&qc, rv, why, err, errlen);
        lwq_msgsrv_del(s);
        return rv;
    }
    lwq_endpoint_handler h = {on_event, s};
    if ((rv = lwq_loop_new(&s->net, cfg->workers ? cfg->workers : 2, s->a)) != 0 ||
        (rv = lwq_loop_new(&s->work, cfg->handler_workers ? cfg->handler_workers : 4, s->a)) != 0 ||
        (rv = lwq_endpoint_new(&s->ep, s->net, s->ctx, &h, NULL)) != 0) {
        snprintf(err, errlen, "cannot start the event loop: %s", lwq_strerror(rv));
        lwq_msgsrv_del(s);
        return rv;
    }
    if ((rv = lwq_endpoint_listen(s->ep, s->listen, 1, &s->port)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", s->listen, lwq_strerror(rv));
        lwq_msgsrv_del(s);
        return rv;
    }
    *out = s;
    return 0;
}

uint16_t lwq_msgsrv_port(const lwq_msgsrv *s)
{
    return s->port;
}

void lwq_msgsrv_get_stats(lwq_msgsrv *s, lwq_msgsrv_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    pthread_mutex_unlock(&s->mu);
}

void lwq_msgsrv_del(lwq_msgsrv *s)
{
    if (!s)
        return;
    if (s->ep)
        lwq_endpoint_shutdown(s->ep, LWQ_MSG_ERR_SHUTDOWN, "server shutting down", 2 * LWQ_SEC);
    /* handlers still running finish before anything they touch goes */
    pthread_mutex_lock(&s->mu);
    while (s->st.handlers > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    lwq_endpoint_del(s->ep);
    /* connections detached without a CLOSED event (forced at the end) */
    while (s->conns) {
        srv_conn *sc = s->conns;
        sc->ec = NULL;
        for (size_t i = 0; i < BUCKETS; i++)
            while (sc->table[i]) {
                srv_req *r = sc->table[i];
                sc->table[i] = r->hnext;
                req_free(r);
            }
        sc->refs = 1;
        conn_unref(sc);
    }
    lwq_loop_del(s->work);
    lwq_loop_del(s->net);
    lwq_context_del(s->ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    app_free(s->a, s->listen);
    app_free(s->a, s->cert);
    app_free(s->a, s->key);
    app_free(s->a, s);
}
