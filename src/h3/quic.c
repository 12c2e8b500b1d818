#include "h3/conn_int.h"
#include "base/mem.h"

#define GLUE_BUF 16384
/* The transport sends the lowest urgency first (RFC 9218): urgency 0 is kept for our control and QPACK
 * streams, so SETTINGS and encoder-stream inserts leave ahead of the field sections that reference
 * them (RFC 9204 §2.1.2) whatever order the streams were opened in; requests start at 1. */
#define URGENCY_CRITICAL 0

static uint8_t request_urgency(uint8_t u)
{
    return u > URGENCY_CRITICAL ? u : URGENCY_CRITICAL + 1;
}

struct lwq_h3 {
    lwq_conn *conn;
    lwq_h3_conn *core;
    const lwq_allocator *alloc;
    int is_server, closed;
    size_t nbidi;  /* request streams the transport still holds (opened, not yet LWQ_EV_STREAM_CLOSED) */
    int64_t uni[3]; /* our control and QPACK streams, opened before they are bound */
    int nuni;
    int64_t *pend; /* streams with transport bytes left while the body buffer was full */
    size_t npend, pend_cap;
    uint8_t buf[GLUE_BUF];
};

int lwq_h3_new(lwq_h3 **out, lwq_conn *conn, int is_server, const lwq_h3_config *cfg)
{
    lwq_h3_config d;
    if (!cfg) {
        lwq_h3_config_init(&d);
        cfg = &d;
    }
    const lwq_allocator *a = cfg->alloc ? cfg->alloc : lwq_default_allocator();
    lwq_h3 *h = lwq_calloc(a, 1, sizeof(*h));
    if (!h)
        return LWQ_ERR_NOMEM;
    h->alloc = a;
    h->conn = conn;
    h->is_server = is_server;
    int rv = lwq_h3_conn_new(&h->core, is_server, cfg);
    if (rv) {
        lwq_free(a, h);
        return rv;
    }
    h->core->qconn = conn;
    *out = h;
    lwq_h3_flush(h);
    return 0;
}

void lwq_h3_del(lwq_h3 *h)
{
    if (!h)
        return;
    lwq_h3_conn_del(h->core);
    lwq_free(h->alloc, h->pend);
    lwq_free(h->alloc, h);
}

lwq_h3_conn *lwq_h3_core(lwq_h3 *h)
{
    return h->core;
}

static void pend_add(lwq_h3 *h, int64_t id)
{
    for (size_t i = 0; i < h->npend; i++)
        if (h->pend[i] == id)
            return;
    if (h->npend == h->pend_cap) {
        size_t cap = h->pend_cap ? h->pend_cap * 2 : 8;
        int64_t *p = lwq_realloc(h->alloc, h->pend, cap * sizeof(*p));
        if (!p)
            return; /* the next READABLE event or read_body retries */
        h->pend = p;
        h->pend_cap = cap;
    }
    h->pend[h->npend++] = id;
}

/* Moves what the transport holds for stream id into the core, as far as its window allows. */
static void pull(lwq_h3 *h, int64_t id)
{
    for (int guard = 0; guard < 1024; guard++) {
        size_t w = lwq_h3_conn_recv_window(h->core, id);
        if (w == 0) {
            pend_add(h, id);
            return;
        }
        int fin = 0;
        ssize_t n = lwq_stream_read(h->conn, id, h->buf, w < GLUE_BUF ? w : GLUE_BUF, &fin);
        if (n < 0)
            return;
        ssize_t r = lwq_h3_conn_recv_stream(h->core, id, h->buf, (size_t)n, fin);
        if (r < 0 || fin)
            return;
    }
}

static void repull(lwq_h3 *h)
{
    size_t n = h->npend;
    for (size_t i = 0; i < n && h->npend; i++) {
        int64_t id = h->pend[0];
        h->pend[0] = h->pend[--h->npend];
        pull(h, id);
    }
}

/* A client binds in 0-RTT when it can send early: its SETTINGS then go with the first requests
 * (RFC 9114 §6.2.1 lets either side send first). Streams opened before a refusal (a remembered
 * uni stream limit below 3) are kept, so the next try opens only the rest. */
static int bind_streams(lwq_h3 *h)
{
    /* a client resuming with 0-RTT sends SETTINGS early too (RFC 9114 §6.2.1, §7.2.4.2) */
    int can = lwq_conn_is_established(h->conn) || (!h->is_server && lwq_conn_can_send_early(h->conn));
    if (h->core->bound || !can)
        return 0;
    /* RFC 9114 §6.2: control stream, RFC 9204 §4.2: encoder and decoder streams */
    for (; h->nuni < 3; h->nuni++) {
        int rv = lwq_stream_open(h->conn, 0, &h->uni[h->nuni]);
        if (rv)
            return rv;
        lwq_stream_set_priority(h->conn, h->uni[h->nuni], URGENCY_CRITICAL, 0);
    }
    return lwq_h3_conn_bind_streams(h->core, h->uni[0], h->uni[1], h->uni[2]);
}

int lwq_h3_flush(lwq_h3 *h)
{
    if (h->closed)
        return LWQ_ERR_CLOSED;
    int rv = bind_streams(h);
    lwq_h3_action a;
    while (lwq_h3_conn_next_action(h->core, &a)) {
        switch (a.type) {
        case LWQ_H3_ACT_RESET:
            lwq_stream_reset(h->conn, a.stream_id, a.error_code);
            break;
        case LWQ_H3_ACT_STOP_SENDING:
            lwq_stream_stop_sending(h->conn, a.stream_id, a.error_code);
            break;
        case LWQ_H3_ACT_PRIORITY:
            lwq_stream_set_priority(h->conn, a.stream_id, request_urgency(a.urgency), a.incremental);
            break;
        case LWQ_H3_ACT_CLOSE:
            lwq_conn_close(h->conn, a.error_code, a.reason);
            break;
        }
    }
    int64_t id;
    const uint8_t *p;
    size_t len;
    int fin;
    for (int guard = 0; guard < 4096 && lwq_h3_conn_next_output(h->core, &id, &p, &len, &fin); guard++) {
        ssize_t w = lwq_stream_write(h->conn, id, p, len, fin);
        int critical = id == h->core->ctrl_id || id == h->core->enc_id || id == h->core->dec_id;
        if (w < 0) {
            if (critical)
                break;
            /* the transport reset the stream (STOP_SENDING) or forgot it: stop producing for it */
            lwq_h3_conn_stop_sending(h->core, id, LWQ_H3_REQUEST_CANCELLED);
            continue;
        }
        lwq_h3_conn_output_done(h->core, id, (size_t)w, (size_t)w < len);
        if ((size_t)w < len && critical)
            break;
    }
    return rv;
}

int lwq_h3_handle_transport(lwq_h3 *h, const lwq_event *t)
{
    switch (t->type) {
    case LWQ_EV_STREAM_READABLE:
        pull(h, t->stream_id);
        break;
    case LWQ_EV_STREAM_WRITABLE:
        lwq_h3_conn_stream_writable(h->core, t->stream_id);
        break;
    case LWQ_EV_STREAM_RESET:
        lwq_h3_conn_stream_reset(h->core, t->stream_id, t->error_code);
        break;
    case LWQ_EV_STOP_SENDING:
        lwq_h3_conn_stop_sending(h->core, t->stream_id, t->error_code);
        break;
    case LWQ_EV_STREAM_OPENED:
        h->nbidi += !(t->stream_id & 2);
        break;
    case LWQ_EV_STREAM_CLOSED:
        if (!(t->stream_id & 2) && h->nbidi)
            h->nbidi--;
        break;
    case LWQ_EV_CLOSED:
        h->closed = 1;
        return 0;
    default:
        lwq_h3_flush(h);
        return 0;
    }
    lwq_h3_flush(h);
    return 1;
}

static int poll_event(lwq_h3 *h, lwq_h3_event *ev);

int lwq_h3_poll_event_sized(lwq_h3 *h, lwq_h3_event *ev, size_t struct_size)
{
    if (struct_size >= sizeof(*ev))
        return poll_event(h, ev);
    lwq_h3_event full; /* a caller built against older headers (docs/architecture.md, "ABI") */
    int r = poll_event(h, &full);
    if (r == 1)
        memcpy(ev, &full, struct_size);
    return r;
}

static int poll_event(lwq_h3 *h, lwq_h3_event *ev)
{
    repull(h);
    lwq_h3_flush(h);
    int rv = lwq_h3_conn_next_event(h->core, ev);
    if (rv)
        lwq_h3_flush(h);
    return rv;
}

static int take_transport(lwq_h3 *h, lwq_h3_event *ev)
{
    lwq_event t;
    while (lwq_conn_next_event(h->conn, &t)) {
        if (lwq_h3_handle_transport(h, &t)) {
            if (h->core->evq_len)
                break;
            continue;
        }
        memset(ev, 0, sizeof(*ev));
        ev->type = t.type == LWQ_EV_CLOSED ? LWQ_H3_EV_CLOSED : LWQ_H3_EV_TRANSPORT;
        ev->stream_id = t.type == LWQ_EV_CLOSED ? -1 : t.stream_id;
        ev->error_code = t.close.code;
        ev->transport = t;
        return 1;
    }
    return 0;
}

static int next_event(lwq_h3 *h, lwq_h3_event *ev);

int lwq_h3_next_event_sized(lwq_h3 *h, lwq_h3_event *ev, size_t struct_size)
{
    if (struct_size >= sizeof(*ev))
        return next_event(h, ev);
    lwq_h3_event full; /* a caller built against older headers (docs/architecture.md, "ABI") */
    int r = next_event(h, &full);
    if (r == 1)
        memcpy(ev, &full, struct_size);
    return r;
}

static int next_event(lwq_h3 *h, lwq_h3_event *ev)
{
    if (h->closed)
        return 0;
    for (int round = 0; round < 2; round++) {
        if (lwq_h3_conn_next_event(h->core, ev)) {
            lwq_h3_flush(h);
            return 1;
        }
        if (take_transport(h, ev))
            return 1;
        repull(h);
        lwq_h3_flush(h);
    }
    return lwq_h3_conn_next_event(h->core, ev);
}

int lwq_h3_submit(lwq_h3 *h, const lwq_h3_request *req, int64_t *stream_id)
{
    if (h->closed)
        return LWQ_ERR_CLOSED;
    int64_t id;
    int rv = lwq_stream_open(h->conn, 1, &id);
    if (rv)
        return rv;
    h->nbidi++;
    rv = lwq_h3_conn_submit_request(h->core, id, req);
    if (rv) {
        lwq_stream_reset(h->conn, id, LWQ_H3_REQUEST_CANCELLED);
        lwq_stream_stop_sending(h->conn, id, LWQ_H3_REQUEST_CANCELLED);
        return rv;
    }
    *stream_id = id;
    /* our side of the stream (the request body) is sent at the urgency asked for the response */
    lwq_stream_set_priority(h->conn, id, request_urgency(req->urgency), req->incremental);
    lwq_h3_flush(h);
    return 0;
}

int lwq_h3_respond(lwq_h3 *h, int64_t id, int status, const lwq_h3_field *fields, size_t count, const lwq_h3_body *body)
{
    int rv = lwq_h3_conn_submit_response(h->core, id, status, fields, count, body);
    lwq_h3_flush(h);
    return rv;
}

int lwq_h3_trailers(lwq_h3 *h, int64_t id, const lwq_h3_field *fields, size_t count)
{
    int rv = lwq_h3_conn_submit_trailers(h->core, id, fields, count);
    lwq_h3_flush(h);
    return rv;
}

ssize_t lwq_h3_read_body(lwq_h3 *h, int64_t id, uint8_t *buf, size_t cap)
{
    ssize_t n = lwq_h3_conn_read_body(h->core, id, buf, cap);
    if (n > 0)
        repull(h);
    return n;
}

int lwq_h3_resume(lwq_h3 *h, int64_t id)
{
    int rv = lwq_h3_conn_resume(h->core, id);
    lwq_h3_flush(h);
    return rv;
}

int lwq_h3_cancel(lwq_h3 *h, int64_t id, uint64_t code)
{
    int rv = lwq_h3_conn_cancel(h->core, id, code);
    lwq_h3_flush(h);
    return rv;
}

int lwq_h3_goaway(lwq_h3 *h)
{
    int rv = lwq_h3_conn_goaway(h->core);
    lwq_h3_flush(h);
    return rv;
}

int lwq_h3_goaway_notice(lwq_h3 *h)
{
    int rv = lwq_h3_conn_goaway_notice(h->core);
    lwq_h3_flush(h);
    return rv;
}

int lwq_h3_idle(const lwq_h3 *h)
{
    return lwq_h3_conn_idle(h->core) && h->nbidi == 0;
}
