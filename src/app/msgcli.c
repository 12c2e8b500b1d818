/* The futures client of the message protocol. Callers' threads queue requests under the client's lock
 * and post one pump to the connection's strand per batch; the strand opens a stream per request in
 * order while the server's MAX_STREAMS allows (the rest wait for LWQ_EV_STREAMS_AVAILABLE), writes the
 * request with FIN, collects the answer, and completes the future. Futures completed by one strand pass
 * share one lock round, and tagged ones come out of lwq_msgcli_next_done in batches. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "app/app_int.h"

#define BUCKETS 1024
#define TICK (20 * LWQ_MS)

struct lwq_msg_future {
    int refs; /* atomic */
    int done; /* under the client's lock */
    int err, tagged;
    uint64_t code, tag;
    char reason[160];
    const lwq_allocator *a;
    uint8_t *req;
    size_t req_len, req_off;
    uint8_t *resp;
    size_t resp_len, resp_cap;
    int64_t id; /* -1 until its stream is open */
    lwq_tstamp deadline;
    lwq_msgcli *c;
    lwq_msg_future *prev, *next; /* the strand's live list (send order), or the incoming queue */
    lwq_msg_future *hnext;       /* by stream id */
    lwq_msg_future *dnext;       /* done queue */
};

struct lwq_msgcli {
    lwq_msgcli_config cfg;
    const lwq_allocator *a;
    char alpn[64], *server, *sni, *ca;
    const char *alpn_list[1];
    lwq_context *ctx;
    lwq_loop *loop;
    lwq_endpoint *ep;
    lwq_endpoint_conn *ec;
    lwq_timer *timer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 connecting, 1 up, 2 closed */
    char why[256];
    int pump_posted, waiters, deleting;
    size_t pending, with_deadline;
    lwq_msg_future *in_head, *in_tail;     /* queued by callers, under mu */
    lwq_msg_future *done_head, *done_tail; /* tagged and completed, under mu */
    /* strand only */
    lwq_msg_future *live_head, *live_tail, *unopened;
    int blocked; /* refused by MAX_STREAMS: no new attempt (each sends STREAMS_BLOCKED) before STREAMS_AVAILABLE */
    lwq_msg_future *table[BUCKETS];
};

void lwq_msgcli_config_init(lwq_msgcli_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->alpn = "echo";
    cfg->connect_timeout = 10 * LWQ_SEC;
    cfg->max_response = 16u << 20;
    cfg->workers = 1;
}

static void fut_unref(lwq_msg_future *f)
{
    if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        app_free(f->a, f->req);
        app_free(f->a, f->resp);
        app_free(f->a, f);
    }
}

void lwq_msg_future_del(lwq_msg_future *f)
{
    fut_unref(f);
}

/* Marks f done under the lock (the caller holds c->mu); the client's reference goes to the done queue
 * for a tagged future, else is dropped by the caller after unlocking. */
static int complete_locked(lwq_msgcli *c, lwq_msg_future *f, int err, uint64_t code, const char *reason)
{
    if (f->done)
        return 0;
    f->err = err;
    f->code = code;
    snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
    app_free(f->a, f->req);
    f->req = NULL;
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    c->pending--;
    if (f->deadline)
        c->with_deadline--;
    if (f->tagged) {
        f->dnext = NULL;
        if (c->done_tail)
            c->done_tail->dnext = f;
        else
            c->done_head = f;
        c->done_tail = f;
        return 0;
    }
    return 1;
}

static void complete(lwq_msgcli *c, lwq_msg_future *f, int err, uint64_t code, const char *reason)
{
    pthread_mutex_lock(&c->mu);
    int drop = complete_locked(c, f, err, code, reason);
    if (c->waiters)
        pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (drop)
        fut_unref(f);
}

static lwq_msg_future **slot(lwq_msgcli *c, int64_t id)
{
    lwq_msg_future **p = &c->table[((uint64_t)id >> 2) % BUCKETS];
    while (*p && (*p)->id != id)
        p = &(*p)->hnext;
    return p;
}

/* Takes f off the strand's lists. */
static void unlink_live(lwq_msgcli *c, lwq_msg_future *f)
{
    if (f->id >= 0) {
        lwq_msg_future **p = slot(c, f->id);
        if (*p == f)
            *p = f->hnext;
    }
    if (c->unopened == f)
        c->unopened = f->next;
    if (f->prev)
        f->prev->next = f->next;
    else
        c->live_head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        c->live_tail = f->prev;
    f->prev = f->next = NULL;
}

static void finish(lwq_msgcli *c, lwq_msg_future *f, int err, uint64_t code, const char *reason)
{
    unlink_live(c, f);
    complete(c, f, err, code, reason);
}

static void write_req(lwq_msgcli *c, lwq_conn *conn, lwq_msg_future *f)
{
    if (!f->req && f->req_len)
        return;
    ssize_t n = lwq_stream_write(conn, f->id, f->req ? f->req + f->req_off : NULL, f->req_len - f->req_off, 1);
    if (n < 0) {
        /* the server stopped the stream (STOP_SENDING / RESET_STREAM): its event carries the code */
        app_free(f->a, f->req);
        f->req = NULL;
        f->req_len = f->req_off = 0;
        return;
    }
    f->req_off += (size_t)n;
    if (f->req_off == f->req_len) {
        app_free(f->a, f->req); /* no longer needed: the transport has its copy */
        f->req = NULL;
    }
}

/* Moves queued requests to the live list and opens streams for as many as the peer allows. */
static void pump(lwq_msgcli *c, lwq_conn *conn)
{
    pthread_mutex_lock(&c->mu);
    lwq_msg_future *q = c->in_head;
    c->in_head = c->in_tail = NULL;
    c->pump_posted = 0;
    pthread_mutex_unlock(&c->mu);
    while (q) {
        lwq_msg_future *next = q->next;
        q->next = NULL;
        q->prev = c->live_tail;
        if (c->live_tail)
            c->live_tail->next = q;
        else
            c->live_head = q;
        c->live_tail = q;
        if (!c->unopened)
            c->unopened = q;
        q = next;
    }
    while (c->unopened && !c->blocked) {
        lwq_msg_future *f = c->unopened;
        int64_t id;
        if (lwq_stream_open(conn, 1, &id) != 0) {
            c->blocked = 1; /* LWQ_ERR_LIMIT: LWQ_EV_STREAMS_AVAILABLE comes (RFC 9000 §4.6) */
            return;
        }
        c->unopened = f->next;
        f->id = id;
        lwq_msg_future **p = slot(c, id);
        f->hnext = *p;
        *p = f;
        write_req(c, conn, f);
    }
}

static void pump_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec;
    pump(arg, conn);
}

static void on_readable(lwq_msgcli *c, lwq_conn *conn, int64_t id)
{
    lwq_msg_future *f = *slot(c, id);
    uint8_t scratch[2048];
    for (;;) {
        int fin = 0;
        ssize_t n;
        if (!f) {
            n = lwq_stream_read(conn, id, scratch, sizeof(scratch), &fin); /* an abandoned request */
            if (n <= 0)
                return;
            continue;
        }
        if (f->resp_len == f->resp_cap) {
            size_t cap = f->resp_cap ? f->resp_cap * 2 : 1024;
            if (cap > c->cfg.max_response + 1)
                cap = c->cfg.max_response + 1;
            uint8_t *b = app_realloc(f->a, f->resp, cap);
            if (!b) {
                lwq_stream_stop_sending(conn, id, LWQ_MSG_ERR_CANCELLED);
                finish(c, f, LWQ_ERR_NOMEM, 0, "out of memory for the answer");
                return;
            }
            f->resp = b;
            f->resp_cap = cap;
        }
        n = lwq_stream_read(conn, id, f->resp + f->resp_len, f->resp_cap - f->resp_len, &fin);
        if (n < 0)
            return;
        f->resp_len += (size_t)n;
        if (f->resp_len > c->cfg.max_response) {
            lwq_stream_stop_sending(conn, id, LWQ_MSG_ERR_CANCELLED);
            lwq_stream_reset(conn, id, LWQ_MSG_ERR_CANCELLED);
            finish(c, f, LWQ_ERR_LIMIT, 0, "the answer exceeds max_response");
            return;
        }
        if (fin) {
            finish(c, f, 0, 0, NULL);
            return;
        }
        if (n == 0)
            return;
    }
}

static void fail_all(lwq_msgcli *c, const char *why)
{
    while (c->live_head)
        finish(c, c->live_head, LWQ_ERR_CLOSED, 0, why);
    pthread_mutex_lock(&c->mu);
    lwq_msg_future *q = c->in_head;
    c->in_head = c->in_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (q) {
        lwq_msg_future *next = q->next;
        q->next = NULL;
        complete(c, q, LWQ_ERR_CLOSED, 0, why);
        q = next;
    }
}

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    lwq_msgcli *c = ud;
    (void)ec;
    lwq_msg_future *f;
    char why[256];
    switch (ev->type) {
    case LWQ_EV_HANDSHAKE_DONE:
        pthread_mutex_lock(&c->mu);
        if (c->state == 0)
            c->state = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pump(c, conn);
        break;
    case LWQ_EV_STREAMS_AVAILABLE:
        c->blocked = 0;
        pump(c, conn);
        break;
    case LWQ_EV_STREAM_READABLE:
        on_readable(c, conn, ev->stream_id);
        break;
    case LWQ_EV_STREAM_WRITABLE:
        if ((f = *slot(c, ev->stream_id)))
            write_req(c, conn, f);
        break;
    case LWQ_EV_STREAM_RESET:
    case LWQ_EV_STOP_SENDING:
        if ((f = *slot(c, ev->stream_id))) {
            snprintf(why, sizeof(why), "stream reset by the server: code 0x%llx (%s)",
                     (unsigned long long)ev->error_code, lwq_msg_strerror(ev->error_code));
            if (ev->type == LWQ_EV_STOP_SENDING)
                lwq_stream_reset(conn, ev->stream_id, ev->error_code);
            else
                lwq_stream_stop_sending(conn, ev->stream_id, ev->error_code);
            finish(c, f, LWQ_ERR_RESET, ev->error_code, why);
        }
        break;
    case LWQ_EV_CLOSED:
        app_close_text(&ev->close, why, sizeof(why));
        pthread_mutex_lock(&c->mu);
        c->state = 2;
        memcpy(c->why, why, sizeof(c->why));
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        fail_all(c, why);
        break;
    default:
        break;
    }
}

/* On the strand: requests past their deadline fail; their streams are reset. */
static void expire(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    lwq_msgcli *c = arg;
    (void)ec;
    lwq_tstamp now = lwq_loop_now();
    lwq_msg_future *f = c->live_head, *next;
    for (; f; f = next) {
        next = f->next;
        if (!f->deadline || f->deadline > now)
            continue;
        if (f->id >= 0) {
            lwq_stream_reset(conn, f->id, LWQ_MSG_ERR_CANCELLED);
            lwq_stream_stop_sending(conn, f->id, LWQ_MSG_ERR_CANCELLED);
        }
        finish(c, f, LWQ_ERR_TIMEOUT, 0, "no answer within the timeout");
    }
}

static void *on_tick(void *arg)
{
    lwq_msgcli *c = arg;
    pthread_mutex_lock(&c->mu);
    int again = c->with_deadline > 0 && c->state != 2 && !c->deleting;
    if (again) /* under the lock: lwq_msgcli_del sets deleting before it lets go of ec */
        lwq_endpoint_post(c->ec, expire, c);
    pthread_mutex_unlock(&c->mu);
    if (again)
        lwq_timer_set(c->timer, lwq_loop_now() + TICK);
    return NULL;
}

static lwq_msg_future *enqueue(lwq_msgcli *c, const uint8_t *data, size_t len, lwq_tstamp timeout, int tagged,
                               uint64_t tag)
{
    lwq_msg_future *f = app_zalloc(c->a, sizeof(*f));
    if (!f)
        return NULL;
    f->a = c->a;
    f->refs = tagged ? 1 : 2;
    f->tagged = tagged;
    f->tag = tag;
    f->id = -1;
    f->c = c;
    f->req_len = len;
    if (len && !(f->req = app_alloc(c->a, len))) {
        app_free(c->a, f);
        return NULL;
    }
    if (len)
        memcpy(f->req, data, len);
    pthread_mutex_lock(&c->mu);
    c->pending++;
    if (c->state == 2 || c->deleting) {
        int drop = complete_locked(c, f, LWQ_ERR_CLOSED, 0, c->why[0] ? c->why : "the client is closed");
        pthread_mutex_unlock(&c->mu);
        if (drop)
            fut_unref(f);
        return f;
    }
    int arm = 0;
    if (timeout) {
        f->deadline = lwq_loop_now() + timeout;
        arm = c->with_deadline++ == 0;
    }
    if (c->in_tail)
        c->in_tail->next = f;
    else
        c->in_head = f;
    c->in_tail = f;
    int post = !c->pump_posted;
    c->pump_posted = 1;
    pthread_mutex_unlock(&c->mu);
    if (arm)
        lwq_timer_set(c->timer, lwq_loop_now() + TICK);
    if (post && lwq_endpoint_post(c->ec, pump_task, c) != 0) {
        pthread_mutex_lock(&c->mu);
        c->pump_posted = 0;
        pthread_mutex_unlock(&c->mu); /* the connection is gone: CLOSED fails the queue */
    }
    return f;
}

lwq_msg_future *lwq_msgcli_send(lwq_msgcli *c, const uint8_t *data, size_t len, lwq_tstamp timeout)
{
    return enqueue(c, data, len, timeout, 0, 0);
}

int lwq_msgcli_send_tagged(lwq_msgcli *c, const uint8_t *data, size_t len, lwq_tstamp timeout, uint64_t tag)
{
    return enqueue(c, data, len, timeout, 1, tag) ? 0 : LWQ_ERR_NOMEM;
}

int lwq_msgcli_next_done(lwq_msgcli *c, lwq_msg_future **out, int max, lwq_tstamp timeout)
{
    struct timespec ts;
    app_deadline(&ts, timeout);
    pthread_mutex_lock(&c->mu);
    c->waiters++;
    while (!c->done_head && !(c->state == 2 && c->pending == 0) && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
    }
    c->waiters--;
    int n = 0;
    while (n < max && c->done_head) {
        out[n++] = c->done_head;
        c->done_head = c->done_head->dnext;
    }
    if (!c->done_head)
        c->done_tail = NULL;
    int closed = c->state == 2 && c->pending == 0;
    pthread_mutex_unlock(&c->mu);
    return n == 0 && closed ? LWQ_ERR_CLOSED : n;
}

size_t lwq_msgcli_pending(lwq_msgcli *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->pending;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int lwq_msgcli_closed(lwq_msgcli *c, char *reason, size_t cap)
{
    pthread_mutex_lock(&c->mu);
    int closed = c->state == 2;
    if (reason && cap)
        snprintf(reason, cap, "%s", c->why);
    pthread_mutex_unlock(&c->mu);
    return closed;
}

int lwq_msg_future_wait(lwq_msg_future *f, lwq_tstamp timeout)
{
    lwq_msgcli *c = f->c;
    if (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
        struct timespec ts;
        app_deadline(&ts, timeout);
        pthread_mutex_lock(&c->mu);
        c->waiters++;
        while (!f->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
        }
        c->waiters--;
        int done = f->done;
        pthread_mutex_unlock(&c->mu);
        if (!done)
            return LWQ_ERR_AGAIN;
    }
    return f->err;
}

int lwq_msg_future_done(lwq_msg_future *f)
{
    return __atomic_load_n(&f->done, __ATOMIC_ACQUIRE);
}

const uint8_t *lwq_msg_future_data(const lwq_msg_future *f, size_t *len)
{
    *len = f->resp_len;
    return f->resp ? f->resp : (const uint8_t *)"";
}

int lwq_msg_future_error(const lwq_msg_future *f, uint64_t *code, const char **reason)
{
    if (code)
        *code = f->code;
    if (reason)
        *reason = f->reason;
    return f->err;
}

uint64_t lwq_msg_future_tag(const lwq_msg_future *f)
{
    return f->tag;
}

int lwq_msg_future_result(const lwq_msg_future *f, uint64_t *tag, const uint8_t **data, size_t *len, uint64_t *code)
{
    *tag = f->tag;
    *data = lwq_msg_future_data(f, len);
    *code = f->code;
    return f->err;
}

int lwq_msgcli_new(lwq_msgcli **out, const lwq_msgcli_config *cfg, char *err, size_t errlen)
{
    char host[256];
    if (!cfg->server || app_host_of(cfg->server, host, sizeof(host))) {
        snprintf(err, errlen, "%s: expected HOST:PORT", cfg->server ? cfg->server : "(no server)");
        return LWQ_ERR_INVAL;
    }
    lwq_msgcli *c = app_zalloc(cfg->alloc, sizeof(*c));
    if (!c)
        return LWQ_ERR_NOMEM;
    c->cfg = *cfg;
    c->a = cfg->alloc;
    if (!c->cfg.max_response)
        c->cfg.max_response = 16u << 20;
    snprintf(c->alpn, sizeof(c->alpn), "%s", cfg->alpn ? cfg->alpn : "echo");
    c->alpn_list[0] = c->alpn;
    c->server = app_strdup(c->a, cfg->server);
    c->sni = app_strdup(c->a, cfg->server_name ? cfg->server_name : host);
    c->ca = app_strdup(c->a, cfg->ca_file);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    lwq_config qc;
    lwq_config_init(&qc, 0);
    qc.alpn = c->alpn_list;
    qc.alpn_count = 1;
    qc.server_name = c->sni;
    qc.ca_file = c->ca;
    qc.insecure = cfg->insecure;
    qc.alloc = c->a;
    qc.initial_max_streams_bidi = 0; /* the server opens none */
    qc.handshake_timeout = cfg->connect_timeout ? cfg->connect_timeout : 10 * LWQ_SEC;
    const char *why = NULL;
    int rv = lwq_context_new(&c->ctx, &qc, &why);
    if (rv) {
        app_context_error(&qc, rv, why, err, errlen);
        lwq_msgcli_del(c);
        return rv;
    }
    lwq_endpoint_handler h = {on_event, c};
    if ((rv = lwq_loop_new(&c->loop, cfg->workers ? cfg->workers : 1, c->a)) != 0 ||
        (rv = lwq_endpoint_new(&c->ep, c->loop, c->ctx, &h, NULL)) != 0 ||
        !(c->timer = lwq_timer_new(c->loop, NULL, on_tick, c))) {
        snprintf(err, errlen, "cannot start the event loop: %s", lwq_strerror(rv ? rv : LWQ_ERR_NOMEM));
        lwq_msgcli_del(c);
        return rv ? rv : LWQ_ERR_NOMEM;
    }
    if ((rv = lwq_endpoint_connect(c->ep, c->server, NULL, 0, NULL, &c->ec)) != 0) {
        snprintf(err, errlen, "%s: %s", c->server,
                 rv == LWQ_ERR_NOT_FOUND ? "cannot resolve the host name" : lwq_strerror(rv));
        lwq_msgcli_del(c);
        return rv;
    }
    struct timespec ts;
    app_deadline(&ts, qc.handshake_timeout + LWQ_SEC);
    pthread_mutex_lock(&c->mu);
    while (c->state == 0 && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
    }
    int state = c->state;
    pthread_mutex_unlock(&c->mu);
    if (state != 1) {
        snprintf(err, errlen, "%s: %s", c->server, state == 2 ? c->why : "no handshake within the timeout");
        lwq_msgcli_del(c);
        return state == 2 ? LWQ_ERR_CLOSED : LWQ_ERR_TIMEOUT;
    }
    *out = c;
    return 0;
}

static void close_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec;
    (void)arg;
    lwq_conn_close(conn, 0, "client closed");
}

void lwq_msgcli_del(lwq_msgcli *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->deleting = 1;
    pthread_mutex_unlock(&c->mu);
    if (c->timer)
        lwq_timer_del(c->timer);
    if (c->ec) {
        lwq_endpoint_post(c->ec, close_task, NULL);
        lwq_endpoint_shutdown(c->ep, 0, "client closed", 2 * LWQ_SEC);
    }
    if (c->ec)
        lwq_endpoint_conn_release(c->ec); /* before the endpoint: the handle refers to it */
    lwq_endpoint_del(c->ep);
    fail_all(c, "the client is closed"); /* nothing runs on the strand any more */
    while (c->done_head) {
        lwq_msg_future *f = c->done_head;
        c->done_head = f->dnext;
        fut_unref(f);
    }
    lwq_loop_del(c->loop);
    lwq_context_del(c->ctx);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    app_free(c->a, c->server);
    app_free(c->a, c->sni);
    app_free(c->a, c->ca);
    app_free(c->a, c);
}
