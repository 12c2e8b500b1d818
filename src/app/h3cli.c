/* The blocking HTTP/3 client. One connection per origin (the URL's host:port, or remote_address) is
 * shared by every caller thread; requests go to its strand, the caller waits on the client's condition
 * variable. A connection that closed (idle timeout, error) or got GOAWAY is replaced by a new one at the
 * next request, resuming the session of the last ticket (RFC 9001 §4.6). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "app/app_int.h"
#include "lwquic/h3.h"

typedef struct h3conn h3conn;
typedef struct origin origin;

typedef struct h3req {
    int refs; /* under the client's lock: the caller and the strand */
    lwq_h3cli_request r;
    char method[16], *authority, *path;
    lwq_h3_field *fields;
    size_t nfields;
    int64_t id;
    int done, err, sent, abandoned, early;
    char why[256];
    lwq_h3cli_response resp;
    size_t body_cap;
    h3conn *hc;
    struct h3req *next; /* the connection's request list (strand) */
} h3req;

struct h3conn {
    origin *o;
    lwq_endpoint_conn *ec;
    lwq_h3 *h;
    int up, closed, goaway; /* under the client's lock */
    int resumed, early_accepted;
    h3req *reqs;            /* strand */
    h3conn *next;           /* every connection of the origin */
};

struct origin {
    lwq_h3cli *c;
    char key[300], host[256];
    const char *alpn[1];
    lwq_context *ctx;
    lwq_endpoint *ep;
    h3conn *cur, *all;
    int connecting; /* a thread is opening cur's successor */
    uint8_t *session;
    size_t session_len;
    origin *next;
};

struct lwq_h3cli {
    lwq_h3cli_config cfg;
    const lwq_allocator *a;
    char *ca, *remote;
    lwq_loop *loop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    origin *origins;
    size_t nconns;
};

void lwq_h3cli_config_init(lwq_h3cli_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout = 30 * LWQ_SEC;
    cfg->max_body = 64u << 20;
    cfg->workers = 1;
}

static void req_unref(lwq_h3cli *c, h3req *q)
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
static void req_finish(h3conn *hc, h3req *q, int err, const char *why)
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
    req_unref(c, q);
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
        lwq_h3_request r = {q->method, "https", q->authority, q->path, q->fields, q->nfields, NULL,
                            (uint8_t)(q->r.urgency < 0 || q->r.urgency > 7 ? 3 : q->r.urgency),
                            q->r.incremental};
        lwq_h3_body body = {q->r.body, q->r.body_len, NULL, NULL};
        if (q->r.body)
            r.body = &body;
        int rv = lwq_h3_submit(hc->h, &r, &q->id);
        if (rv == LWQ_ERR_LIMIT)
            return; /* LWQ_EV_STREAMS_AVAILABLE or a finished request */
        if (rv) {
            req_finish(hc, q, rv, rv == LWQ_ERR_STATE ? "not sent: the server is going away" : "cannot submit");
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
                req_finish(hc, q, LWQ_ERR_STATE, "stopped by the body callback");
                return;
            }
            continue;
        }
        if (q->resp.body_len + (size_t)n > c->cfg.max_body) {
            lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
            req_finish(hc, q, LWQ_ERR_LIMIT, "the response body exceeds max_body");
            return;
        }
        if (q->resp.body_len + (size_t)n > q->body_cap) {
            size_t cap = q->body_cap ? q->body_cap : 16384;
            while (cap < q->resp.body_len + (size_t)n)
                cap *= 2;
            uint8_t *b = app_realloc(c->a, q->resp.body, cap);
            if (!b) {
                lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
                req_finish(hc, q, LWQ_ERR_NOMEM, "out of memory for the body");
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
static void early_first(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3conn *hc = lwq_endpoint_conn_data(ec);
    h3req *q = arg;
    q->hc = hc;
    q->next = hc->reqs;
    hc->reqs = q;
    if (!bind_h3(hc, conn) && lwq_conn_can_send_early(conn))
        submit_waiting(hc);
}

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
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
                    req_finish(hc, q, 0, NULL);
                submit_waiting(hc);
                close_if_done(hc, conn);
            }
            break;
        case LWQ_H3_EV_RESET:
            if (q) {
                snprintf(why, sizeof(why), "stream reset by the server: %s", lwq_h3_strerror(hev.error_code));
                req_finish(hc, q, LWQ_ERR_RESET, why);
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
                    req_finish(hc, w, LWQ_ERR_AGAIN, "not sent: the server is going away");
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
            req_finish(hc, hc->reqs, hc->reqs->sent || !hc->up ? LWQ_ERR_CLOSED : LWQ_ERR_AGAIN, why);
        lwq_h3_del(hc->h);
        hc->h = NULL;
        lwq_endpoint_conn_set_data(ec, NULL);
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

static void submit_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3req *q = arg;
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)conn;
    if (!hc) {
        req_finish(q->hc, q, LWQ_ERR_AGAIN, "the connection closed");
        return;
    }
    q->next = hc->reqs;
    hc->reqs = q;
    if (hc->up)
        submit_waiting(hc);
}

static void cancel_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3req *q = arg;
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)conn;
    if (hc) {
        for (h3req *w = hc->reqs; w; w = w->next)
            if (w == q) {
                if (q->sent && hc->h)
                    lwq_h3_cancel(hc->h, q->id, LWQ_H3_REQUEST_CANCELLED);
                req_finish(hc, q, LWQ_ERR_TIMEOUT, NULL);
                break;
            }
    }
    req_unref(hc ? hc->o->c : q->hc->o->c, q);
}

/* The origin for key, created with its context and endpoint (under c->mu). */
static origin *origin_get(lwq_h3cli *c, const char *key, const char *host, char *err, size_t errlen)
{
    for (origin *o = c->origins; o; o = o->next)
        if (!strcmp(o->key, key) && !strcmp(o->host, host))
            return o;
    origin *o = app_zalloc(c->a, sizeof(*o));
    if (!o)
        return NULL;
    o->c = c;
    snprintf(o->key, sizeof(o->key), "%s", key);
    snprintf(o->host, sizeof(o->host), "%s", host);
    o->alpn[0] = "h3";
    lwq_config qc;
    lwq_config_init(&qc, 0);
    qc.alpn = o->alpn;
    qc.alpn_count = 1;
    qc.server_name = o->host;
    qc.ca_file = c->ca;
    qc.insecure = c->cfg.insecure;
    qc.enable_0rtt = c->cfg.enable_0rtt;
    qc.alloc = c->a;
    if (c->cfg.idle_timeout)
        qc.idle_timeout = c->cfg.idle_timeout;
    qc.handshake_timeout = c->cfg.timeout;
    const char *why = NULL;
    int rv = lwq_context_new(&o->ctx, &qc, &why);
    if (rv) {
        app_context_error(&qc, rv, why, err, errlen);
        app_free(c->a, o);
        return NULL;
    }
    lwq_endpoint_handler h = {on_event, c};
    if (lwq_endpoint_new(&o->ep, c->loop, o->ctx, &h, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        lwq_context_del(o->ctx);
        app_free(c->a, o);
        return NULL;
    }
    o->next = c->origins;
    c->origins = o;
    return o;
}

static int safe_method(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS"); }

/* A usable connection of o, opening one when needed: called and returns with c->mu held, but connects
 * without it (the strands take it). One thread connects per origin; others wait for its result. With a
 * session and enable_0rtt, q (safe method) is attached to the new connection in 0-RTT: *attached = 1. */
static h3conn *conn_get(lwq_h3cli *c, origin *o, h3req *q, int *attached, char *err, size_t errlen)
{
    for (;;) {
        h3conn *hc = o->cur;
        if (hc && !hc->closed && !hc->goaway)
            return hc;
        if (!o->connecting)
            break;
        pthread_cond_wait(&c->cv, &c->mu);
    }
    o->connecting = 1;
    size_t slen = o->session_len;
    uint8_t *session = slen ? app_alloc(c->a, slen) : NULL;
    if (session)
        memcpy(session, o->session, slen);
    else
        slen = 0;
    int early = c->cfg.enable_0rtt && slen && safe_method(q->method);
    pthread_mutex_unlock(&c->mu);
    h3conn *hc = app_zalloc(c->a, sizeof(*hc));
    int rv = LWQ_ERR_NOMEM;
    if (hc) {
        hc->o = o;
        rv = lwq_endpoint_connect_early(o->ep, o->key, session, slen, hc, early ? early_first : NULL, q, &hc->ec);
    }
    app_free(c->a, session);
    pthread_mutex_lock(&c->mu);
    o->connecting = 0;
    pthread_cond_broadcast(&c->cv);
    if (rv) {
        snprintf(err, errlen, "%s: %s", o->key,
                 rv == LWQ_ERR_NOT_FOUND ? "cannot resolve the host name" : lwq_strerror(rv));
        app_free(c->a, hc);
        return NULL;
    }
    hc->next = o->all;
    o->all = hc;
    o->cur = hc;
    c->nconns++;
    *attached = early;
    return hc;
}

/* https://host[:port]/path?query -> authority, host, connect key. */
static int parse_url(const char *url, char *host, size_t hcap, char *key, size_t kcap, char *auth, size_t acap,
                     const char **path)
{
    if (strncasecmp(url, "https://", 8) != 0)
        return LWQ_ERR_INVAL;
    const char *p = url + 8, *end = p + strcspn(p, "/?#");
    const char *hs = p, *he, *port = NULL;
    if (*p == '[') {
        hs = p + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (!he)
            return LWQ_ERR_INVAL;
        if (he + 1 < end && he[1] == ':')
            port = he + 2;
    } else {
        he = memchr(p, ':', (size_t)(end - p));
        if (he)
            port = he + 1;
        else
            he = end;
    }
    if (he == hs || (size_t)(he - hs) >= hcap)
        return LWQ_ERR_INVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = 0;
    int plen = port ? (int)(end - port) : 3;
    if (port && (plen == 0 || plen > 5 || strspn(port, "0123456789") < (size_t)plen))
        return LWQ_ERR_INVAL;
    snprintf(key, kcap, strchr(host, ':') ? "[%s]:%.*s" : "%s:%.*s", host, plen, port ? port : "443");
    if ((size_t)(end - p) >= acap)
        return LWQ_ERR_INVAL;
    memcpy(auth, p, (size_t)(end - p));
    auth[end - p] = 0;
    *path = end;
    return 0;
}

static h3req *req_new(const lwq_allocator *a, const lwq_h3cli_request *r, const char *auth, const char *path)
{
    h3req *q = app_zalloc(a, sizeof(*q));
    if (!q)
        return NULL;
    q->resp.alloc = a;
    q->r = *r;
    q->refs = 2;
    snprintf(q->method, sizeof(q->method), "%s", r->method ? r->method : "GET");
    q->authority = app_strdup(a, auth);
    size_t pl = strcspn(path, "#");
    q->path = app_alloc(a, pl + 2);
    if (q->path)
        snprintf(q->path, pl + 2, "%s%.*s", *path == '/' ? "" : "/", (int)pl, path);
    q->fields = app_zalloc(a, (r->header_count + 1) * sizeof(*q->fields));
    if (!q->authority || !q->path || !q->fields) {
        q->refs = 1;
        return q; /* the caller sees the missing fields and frees */
    }
    for (size_t i = 0; i < r->header_count; i++) {
        char *n = app_strdup(a, r->headers[i].name), *v = app_strdup(a, r->headers[i].value);
        if (!n || !v) {
            app_free(a, n);
            app_free(a, v);
            continue;
        }
        for (char *s = n; *s; s++)
            *s = (char)tolower((unsigned char)*s);
        q->fields[q->nfields++] = (lwq_h3_field){(const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v), 0};
    }
    return q;
}

int lwq_h3cli_request_run(lwq_h3cli *c, const lwq_h3cli_request *r, lwq_h3cli_response *resp, char *err,
                          size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    char host[256], key[300], auth[300];
    const char *path;
    if (!r->url || parse_url(r->url, host, sizeof(host), key, sizeof(key), auth, sizeof(auth), &path)) {
        snprintf(err, errlen, "%s: expected https://host[:port]/path", r->url ? r->url : "(no URL)");
        return LWQ_ERR_INVAL;
    }
    lwq_tstamp timeout = r->timeout ? r->timeout : c->cfg.timeout;
    struct timespec ts;
    app_deadline(&ts, timeout);
    for (int attempt = 0;; attempt++) {
        h3req *q = req_new(c->a, r, auth, path);
        if (!q)
            return LWQ_ERR_NOMEM;
        if (q->refs == 1) {
            req_unref(c, q);
            return LWQ_ERR_NOMEM;
        }
        int attached = 0;
        pthread_mutex_lock(&c->mu);
        origin *o = origin_get(c, c->remote ? c->remote : key, host, err, errlen);
        h3conn *hc = o ? conn_get(c, o, q, &attached, err, errlen) : NULL;
        pthread_mutex_unlock(&c->mu);
        if (!hc) {
            q->refs = 1;
            req_unref(c, q);
            return o ? LWQ_ERR_IO : LWQ_ERR_INVAL;
        }
        q->hc = hc;
        if (!attached && lwq_endpoint_post(hc->ec, submit_task, q) != 0)
            req_finish(hc, q, LWQ_ERR_AGAIN, "the connection closed");
        pthread_mutex_lock(&c->mu);
        while (!q->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
        }
        int done = q->done;
        pthread_mutex_unlock(&c->mu);
        if (!done) {
            /* the strand finishes it (or already did); cancel_task drops the caller's reference */
            if (lwq_endpoint_post(hc->ec, cancel_task, q) != 0)
                req_unref(c, q);
            snprintf(err, errlen, "%s: no response within the timeout", r->url);
            return LWQ_ERR_TIMEOUT;
        }
        int rv = q->err;
        if (rv == LWQ_ERR_AGAIN && attempt < 2) { /* never sent: the connection went away first */
            req_unref(c, q);
            continue;
        }
        if (rv) {
            snprintf(err, errlen, "%s %s: %s%s%s", q->method, r->url, lwq_strerror(rv), q->why[0] ? ": " : "",
                     q->why);
            req_unref(c, q);
            return rv;
        }
        *resp = q->resp;
        memset(&q->resp, 0, sizeof(q->resp));
        pthread_mutex_lock(&c->mu);
        resp->resumed = hc->resumed;
        resp->early_data = q->early && hc->early_accepted == 1;
        pthread_mutex_unlock(&c->mu);
        req_unref(c, q);
        return 0;
    }
}

void lwq_h3cli_response_free(lwq_h3cli_response *resp)
{
    for (size_t i = 0; i < resp->header_count; i++) {
        app_free(resp->alloc, (void *)resp->headers[i].name);
        app_free(resp->alloc, (void *)resp->headers[i].value);
    }
    app_free(resp->alloc, resp->headers);
    app_free(resp->alloc, resp->body);
    const lwq_allocator *a = resp->alloc;
    memset(resp, 0, sizeof(*resp));
    resp->alloc = a;
}

size_t lwq_h3cli_connections(lwq_h3cli *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->nconns;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int lwq_h3cli_new(lwq_h3cli **out, const lwq_h3cli_config *cfg)
{
    lwq_h3cli *c = app_zalloc(cfg->alloc, sizeof(*c));
    if (!c)
        return LWQ_ERR_NOMEM;
    c->cfg = *cfg;
    c->a = cfg->alloc;
    if (!c->cfg.timeout)
        c->cfg.timeout = 30 * LWQ_SEC;
    if (!c->cfg.max_body)
        c->cfg.max_body = 64u << 20;
    c->ca = app_strdup(c->a, cfg->ca_file);
    c->remote = app_strdup(c->a, cfg->remote_address);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int rv = lwq_loop_new(&c->loop, cfg->workers ? cfg->workers : 1, c->a);
    if (rv || (cfg->ca_file && !c->ca) || (cfg->remote_address && !c->remote)) {
        lwq_h3cli_del(c);
        return rv ? rv : LWQ_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

static void close_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3conn *hc = lwq_endpoint_conn_data(ec);
    (void)arg;
    if (hc && hc->h)
        lwq_h3_goaway(hc->h);
    lwq_conn_close(conn, LWQ_H3_NO_ERROR, "client closed");
}

void lwq_h3cli_del(lwq_h3cli *c)
{
    if (!c)
        return;
    for (origin *o = c->origins; o; o = o->next) {
        for (h3conn *hc = o->all; hc; hc = hc->next)
            lwq_endpoint_post(hc->ec, close_task, NULL);
        lwq_endpoint_shutdown(o->ep, LWQ_H3_NO_ERROR, "client closed", 2 * LWQ_SEC);
        for (h3conn *hc = o->all; hc; hc = hc->next)
            lwq_endpoint_conn_release(hc->ec);
        lwq_endpoint_del(o->ep);
    }
    while (c->origins) {
        origin *o = c->origins;
        c->origins = o->next;
        while (o->all) {
            h3conn *hc = o->all;
            o->all = hc->next;
            lwq_h3_del(hc->h); /* forced off without a CLOSED event */
            app_free(c->a, hc);
        }
        lwq_context_del(o->ctx);
        app_free(c->a, o->session);
        app_free(c->a, o);
    }
    lwq_loop_del(c->loop);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    app_free(c->a, c->ca);
    app_free(c->a, c->remote);
    app_free(c->a, c);
}
