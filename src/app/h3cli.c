/* The blocking HTTP/3 client. One connection per origin (the URL's host:port, or remote_address) is
 * shared by every caller thread; requests go to its strand, the caller waits on the client's condition
 * variable. A connection that closed (idle timeout, error) or got GOAWAY is replaced by a new one at the
 * next request, resuming the session of the last ticket (RFC 9001 §4.6). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "app/h3cli.h"

void lwq_h3cli_config_init(lwq_h3cli_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout = 30 * LWQ_SEC;
    cfg->max_body = 64u << 20;
    cfg->workers = 1;
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
    lwq_endpoint_handler h = {h3cli_on_event, c};
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

static int safe_method(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

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
        rv = lwq_endpoint_connect_early(o->ep, o->key, session, slen, hc, early ? h3cli_early_first : NULL, q, &hc->ec);
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

int lwq_h3cli_request_run(lwq_h3cli *c, const lwq_h3cli_request *r, lwq_h3cli_response *resp, char *err, size_t errlen)
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
            h3cli_req_unref(c, q);
            return LWQ_ERR_NOMEM;
        }
        int attached = 0;
        pthread_mutex_lock(&c->mu);
        origin *o = origin_get(c, c->remote ? c->remote : key, host, err, errlen);
        h3conn *hc = o ? conn_get(c, o, q, &attached, err, errlen) : NULL;
        pthread_mutex_unlock(&c->mu);
        if (!hc) {
            q->refs = 1;
            h3cli_req_unref(c, q);
            return o ? LWQ_ERR_IO : LWQ_ERR_INVAL;
        }
        q->hc = hc;
        if (!attached && lwq_endpoint_post(hc->ec, h3cli_submit_task, q) != 0) {
            /* the connection is gone (even if its CLOSED was not seen): the next attempt opens another */
            pthread_mutex_lock(&c->mu);
            hc->closed = 1;
            q->done = 1;
            q->err = LWQ_ERR_AGAIN;
            snprintf(q->why, sizeof(q->why), "the connection closed");
            pthread_mutex_unlock(&c->mu);
            h3cli_req_unref(c, q); /* the strand's reference: it never got the request */
        }
        pthread_mutex_lock(&c->mu);
        while (!q->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
        }
        int done = q->done;
        pthread_mutex_unlock(&c->mu);
        if (!done) {
            /* the strand finishes it (or already did); h3cli_cancel_task drops the caller's reference */
            if (lwq_endpoint_post(hc->ec, h3cli_cancel_task, q) != 0)
                h3cli_req_unref(c, q);
            snprintf(err, errlen, "%s: no response within the timeout", r->url);
            return LWQ_ERR_TIMEOUT;
        }
        int rv = q->err;
        if (rv == LWQ_ERR_AGAIN && attempt < 2) { /* never sent: the connection went away first */
            h3cli_req_unref(c, q);
            continue;
        }
        if (rv) {
            snprintf(err, errlen, "%s %s: %s%s%s", q->method, r->url, lwq_strerror(rv), q->why[0] ? ": " : "", q->why);
            h3cli_req_unref(c, q);
            return rv;
        }
        *resp = q->resp;
        memset(&q->resp, 0, sizeof(q->resp));
        pthread_mutex_lock(&c->mu);
        resp->resumed = hc->resumed;
        resp->early_data = q->early && hc->early_accepted == 1;
        pthread_mutex_unlock(&c->mu);
        h3cli_req_unref(c, q);
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

void lwq_h3cli_del(lwq_h3cli *c)
{
    if (!c)
        return;
    for (origin *o = c->origins; o; o = o->next) {
        for (h3conn *hc = o->all; hc; hc = hc->next)
            lwq_endpoint_post(hc->ec, h3cli_close_task, NULL);
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
