/* The blocking HTTP/3 client on the connections' strands: HTTP/3 events, request submission (after the
 * handshake, or in 0-RTT), bodies into memory or a callback, GOAWAY and close. */
#include <stdlib.h>
#include <string.h>
#include "app/h3cli.h"

void h3cli_req_unref(lwq_h3cli *c, h3req *q)
{
    pthread_mutex_lock(&c->mu);
    int last = --q->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    for (size_t i = 0; i < q->nfields; i++) {
        app_free(c->a, (void *)q->fields[i].name);
        app_free(c->a, (void *)q->fields[i].value);
    }
    app_free(c->a, q->fields);
    app_free(c->a, q->authority);
    app_free(c->a, q->path);
    lwq_h3cli_response_free(&q->resp);
    app_free(c->a, q);
}

/* On the strand; the caller wakes up. */
void h3cli_req_finish(h3conn *hc, h3req *q, int err, const char *why)
{
    lwq_h3cli *c = hc->o->c;
    h3req **p = &hc->reqs;
    while (*p && *p != q)
        p = &(*p)->next;
    if (*p)
        *p = q->next;
    pthread_mutex_lock(&c->mu);
    if (!q->done) {
        q->done = 1;
        q->err = err;
        snprintf(q->why, sizeof(q->why), "%s", why ? why : "");
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    h3cli_req_unref(c, q);
}

static h3req *find(h3conn *hc, int64_t id)
{
    for (h3req *q = hc->reqs; q; q = q->next)
        if (q->sent && q->id == id)
            return q;
    return NULL;
}

static void submit_waiting(h3conn *hc)
{
    for (h3req *q = hc->reqs; q; q = q->next) {
        if (q->sent)
            continue;
        lwq_h3_request r = {q->method,
                            "https",
                            q->authority,
                            q->path,
                            q->fields,
                            q->nfields,
                            NULL,
                            (uint8_t)(q->r.urgency < 0 || q->r.urgency > 7 ? 3 : q->r.urgency),
                            q->r.incremental};
        lwq_h3_body body = {q->r.body, q->r.body_len, NULL, NULL};
        if (q->r.body)
            r.body = &body;
        int rv = lwq_h3_submit(hc->h, &r, &q->id);
        if (rv == LWQ_ERR_LIMIT)
            return; /* LWQ_EV_STREAMS_AVAILABLE or a finished request */
        if (rv) {
            h3cli_req_finish(hc, q, rv, rv == LWQ_ERR_STATE ? "not sent: the server is going away" : "cannot submit");
            submit_waiting(hc);
            return;
        }
        q->sent = 1;
        q->early = !hc->up;
    }
}

static void on_body(h3conn *hc, h3req *q)
{
    lwq_h3cli *c = hc->o->c;
    uint8_t buf[16384];
    ssize_t n;
    while ((n = lwq_h3_read_body(hc->h, q->id, buf, sizeof(buf))) > 0) {
        if (q->r.on_body) {
            if (q->r.on_body(q->r.on_body_ud, buf, (size_t)n)) {
                lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
                h3cli_req_finish(hc, q, LWQ_ERR_STATE, "stopped by the body callback");
                return;
            }
            continue;
        }
        if (q->resp.body_len + (size_t)n > c->cfg.max_body) {
            lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
            h3cli_req_finish(hc, q, LWQ_ERR_LIMIT, "the response body exceeds max_body");
            return;
        }
        if (q->resp.body_len + (size_t)n > q->body_cap) {
            size_t cap = q->body_cap ? q->body_cap : 16384;
            while (cap < q->resp.body_len + (size_t)n)
                cap *= 2;
            uint8_t *b = app_realloc(c->a, q->resp.body, cap);
            if (!b) {
                lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
                h3cli_req_finish(hc, q, LWQ_ERR_NOMEM, "out of memory for the body");
                return;
            }
            q->resp.body = b;
            q->body_cap = cap;
        }
        memcpy(q->resp.body + q->resp.body_len, buf, (size_t)n);
        q->resp.body_len += (size_t)n;
    }
}

static void on_response(h3req *q, const lwq_h3_event *ev)
{
    if (ev->informational)
        return;
    q->resp.status = ev->status;
    const lwq_allocator *a = q->resp.alloc;
    q->resp.headers = app_zalloc(a, (ev->field_count ? ev->field_count : 1) * sizeof(*q->resp.headers));
    if (!q->resp.headers)
        return;
    for (size_t i = 0; i < ev->field_count; i++) {
        const lwq_h3_field *f = &ev->fields[i];
        if (f->name_len && f->name[0] == ':')
            continue;
        char *n = app_strndup(a, (const char *)f->name, f->name_len);
        char *v = app_strndup(a, (const char *)f->value, f->value_len);
        if (!n || !v) {
            app_free(a, n);
            app_free(a, v);
            continue;
        }
        q->resp.headers[q->resp.header_count].name = n;
        q->resp.headers[q->resp.header_count++].value = v;
    }
}

/* After the server's GOAWAY the connection closes once its last request ended (RFC 9114 §5.2). */
static void close_if_done(h3conn *hc, lwq_conn *conn)
{
    if (hc->goaway && !hc->reqs && lwq_h3_conn_idle(lwq_h3_core(hc->h)))
        lwq_conn_close(conn, LWQ_H3_NO_ERROR, "done after goaway");
}

static int bind_h3(h3conn *hc, lwq_conn *conn)
{
    if (hc->h)
        return 0;
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = hc->o->c->a;
    if (lwq_h3_new(&hc->h, conn, 0, &cfg) != 0) {
        hc->h = NULL;
        lwq_conn_close(conn, LWQ_H3_INTERNAL_ERROR, "out of memory");
        return -1;
    }
    return 0;
}

/* Before a resuming connection's first flight: its first request goes in 0-RTT with the Initial. */
void h3cli_early_first(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3conn *hc = lwq_endpoint_conn_data(ec);
    h3req *q = arg;
    q->hc = hc;
    q->next = hc->reqs;
    hc->reqs = q;
    if (!bind_h3(hc, conn) && lwq_conn_can_send_early(conn))
        submit_waiting(hc);
}

void h3cli_on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    h3conn *hc = lwq_endpoint_conn_data(ec);
    lwq_h3cli *c = ud;
    if (!hc)
        return;
    if (!hc->h && ev->type != LWQ_EV_CLOSED)
        bind_h3(hc, conn);
    if (hc->h)
        lwq_h3_handle_transport(hc->h, ev);
    origin *o = hc->o;
    if (ev->type == LWQ_EV_SESSION_TICKET) {
        uint8_t *s = app_alloc(c->a, ev->len);
        if (s) {
            memcpy(s, ev->data, ev->len);
            pthread_mutex_lock(&c->mu);
            app_free(c->a, o->session);
            o->session = s;
            o->session_len = ev->len;
            pthread_mutex_unlock(&c->mu);
        }
    } else if (ev->type == LWQ_EV_HANDSHAKE_DONE) {
        pthread_mutex_lock(&c->mu);
        hc->up = 1;
        hc->resumed = lwq_conn_resumed(conn);
        pthread_mutex_unlock(&c->mu);
        submit_waiting(hc);
    } else if (ev->type == LWQ_EV_EARLY_DATA) {
        pthread_mutex_lock(&c->mu);
        hc->early_accepted = ev->accepted; /* rejected: the transport sends that data again in 1-RTT */
        pthread_mutex_unlock(&c->mu);
    } else if (ev->type == LWQ_EV_STREAMS_AVAILABLE && hc->up) {
        submit_waiting(hc);
    }
    lwq_h3_event hev;
    while (hc->h && lwq_h3_poll_event(hc->h, &hev)) {
        h3req *q = hev.type == LWQ_H3_EV_GOAWAY || hev.type == LWQ_H3_EV_CLOSED ? NULL : find(hc, hev.stream_id);
        char why[160];
        switch (hev.type) {
        case LWQ_H3_EV_RESPONSE:
            if (q)
                on_response(q, &hev);
            break;
        case LWQ_H3_EV_DATA:
            if (q)
                on_body(hc, q);
            break;
        case LWQ_H3_EV_END:
            if (q) {
                on_body(hc, q);
                if ((q = find(hc, hev.stream_id)))
                    h3cli_req_finish(hc, q, 0, NULL);
                submit_waiting(hc);
                close_if_done(hc, conn);
            }
            break;
        case LWQ_H3_EV_RESET:
            if (q) {
                snprintf(why, sizeof(why), "stream reset by the server: %s", lwq_h3_strerror(hev.error_code));
                h3cli_req_finish(hc, q, LWQ_ERR_RESET, why);
                submit_waiting(hc);
                close_if_done(hc, conn);
            }
            break;
        case LWQ_H3_EV_GOAWAY:
            pthread_mutex_lock(&c->mu);
            hc->goaway = 1; /* RFC 9114 §5.2: new requests go to a new connection */
            pthread_mutex_unlock(&c->mu);
            for (h3req *w = hc->reqs, *next; w; w = next) {
                next = w->next;
                if (!w->sent)
                    h3cli_req_finish(hc, w, LWQ_ERR_AGAIN, "not sent: the server is going away");
            }
            close_if_done(hc, conn);
            break;
        default:
            break;
        }
    }
    if (ev->type == LWQ_EV_CLOSED) {
        char why[256];
        app_close_text(&ev->close, why, sizeof(why));
        pthread_mutex_lock(&c->mu);
        hc->closed = 1;
        pthread_mutex_unlock(&c->mu);
        /* requests never sent on a connection that was up try a new one; a failed handshake is final */
        while (hc->reqs)
            h3cli_req_finish(hc, hc->reqs, hc->reqs->sent || !hc->up ? LWQ_ERR_CLOSED : LWQ_ERR_AGAIN, why);
        lwq_h3_del(hc->h);
        hc->h = NULL;
        lwq_endpoint_conn_set_data(ec, NULL);
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

void h3cli_submit_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3req *q = arg;
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)conn;
    if (!hc) {
        h3cli_req_finish(q->hc, q, LWQ_ERR_AGAIN, "the connection closed");
        return;
    }
    q->next = hc->reqs;
    hc->reqs = q;
    if (hc->up)
        submit_waiting(hc);
}

void h3cli_cancel_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3req *q = arg;
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)conn;
    if (hc) {
        for (h3req *w = hc->reqs; w; w = w->next)
            if (w == q) {
                if (q->sent && hc->h)
                    lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
                h3cli_req_finish(hc, q, LWQ_ERR_TIMEOUT, NULL);
                break;
            }
    }
    h3cli_req_unref(hc ? hc->o->c : q->hc->o->c, q);
}

void h3cli_close_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)arg;
    if (hc && hc->h)
        lwq_h3_goaway(hc->h);
    lwq_conn_close(conn, LWQ_H3_NO_ERROR, "client closed");
}
