/* lwquic-server over HTTP/3: GET and HEAD of files under the root (streamed from disk; index.html for
 * a directory; content-type from the extension, etag and last-modified, 304 for a conditional GET whose
 * validators match), 404 for missing files, 405 for other methods, POST /echo returns the request body (at most ECHO_MAX).
 * Shutdown drains: GOAWAY (2^62-4, then a round trip later the real limit), then each connection closes
 * with H3_NO_ERROR once its requests are done and acknowledged and the client has had LINGER to close
 * first (the peer's transport holds the response, but an application may not have read it yet, and
 * some stacks drop unread stream data at CONNECTION_CLOSE). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lwquic/h3.h"
#include "common/cli.h"
#include "lwquic-server/srv.h"

#define ECHO_MAX (16u << 20)
#define H3_MAX_REQS 1000
#define LINGER 2.0 /* seconds an idle draining connection waits for the client's close */

char srv_root[PATH_MAX];
size_t srv_root_len;
int srv_quiet;
lwq_budget *srv_budget;

typedef struct h3req {
    int64_t id;
    int fd, echo, status;
    uint64_t size, off;
    uint8_t *body;
    size_t body_len, body_cap;
    char line[160];
    double start;
    struct h3req *next;
} h3req;

typedef struct h3srv {
    lwq_h3 *h;
    h3req *reqs;
    size_t nreqs;
    lwq_endpoint_conn *ec;
    int draining, notice_sent, goaway_sent;
    double notice_at, idle_at; /* idle_at: 0 until the drained connection is first idle */
    struct h3srv *prev, *next; /* all HTTP/3 connections, for the drain */
} h3srv;

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static h3srv *all;
static size_t nall;
static int shutting_down; /* under all_mu: connections that start now drain at once */

static void log_req(lwq_endpoint_conn *ec, const h3req *r, const char *note)
{
    if (srv_quiet)
        return;
    char b[32];
    fprintf(stderr, "%s h3 %s %d %s %.3fs%s%s\n", lwq_endpoint_conn_peer(ec), r->line, r->status,
            cli_bytes(r->echo ? r->body_len : r->off, b, sizeof(b)), cli_now() - r->start, note ? " " : "",
            note ? note : "");
}

static h3req *find(h3srv *s, int64_t id)
{
    for (h3req *r = s->reqs; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void req_free(h3srv *s, h3req *r)
{
    for (h3req **p = &s->reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    if (r->fd >= 0)
        close(r->fd);
    lwq_budget_give(srv_budget, r->body_cap);
    free(r->body);
    free(r);
    s->nreqs--;
}

/* The read callback streams the file; the request is freed once the last byte was handed over. */
static ssize_t read_file(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof)
{
    h3req *r = ud;
    (void)id;
    size_t want = r->size - r->off < cap ? (size_t)(r->size - r->off) : cap;
    ssize_t n = want ? pread(r->fd, buf, want, (off_t)r->off) : 0;
    if (n < 0 || (want && n == 0))
        return LWQ_ERR_IO;
    r->off += (uint64_t)n;
    *eof = r->off == r->size;
    return n;
}

static int resolve(const char *path, char *real, struct stat *st)
{
    char full[PATH_MAX * 2];
    size_t q = strcspn(path, "?#");
    snprintf(full, sizeof(full), "%s%.*s", srv_root, (int)q, path);
    if (!realpath(full, real) || strncmp(real, srv_root, srv_root_len) != 0 ||
        (real[srv_root_len] != '/' && real[srv_root_len]) || stat(real, st) != 0)
        return -1;
    if (S_ISDIR(st->st_mode)) {
        size_t l = strlen(real);
        snprintf(real + l, PATH_MAX - l, "/index.html");
        if (stat(real, st) != 0)
            return -1;
    }
    return S_ISREG(st->st_mode) ? 0 : -1;
}

static void respond_simple(h3srv *s, lwq_endpoint_conn *ec, h3req *r, int status, const char *text,
                           const lwq_h3_field *extra, size_t nextra)
{
    char cl[24];
    snprintf(cl, sizeof(cl), "%zu", strlen(text));
    lwq_h3_field f[4] = {{(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0},
                         {(const uint8_t *)"content-type", 12, (const uint8_t *)"text/plain", 10, 0}};
    for (size_t i = 0; i < nextra && i < 2; i++)
        f[2 + i] = extra[i];
    lwq_h3_body b = {(const uint8_t *)text, strlen(text), NULL, NULL};
    r->status = status;
    r->off = strlen(text);
    lwq_h3_respond(s->h, r->id, status, f, 2 + nextra, &b);
    log_req(ec, r, NULL);
    req_free(s, r);
}

/* A request header's value as a string (NULL when absent or too long). */
static const char *header(const lwq_h3_event *ev, const char *name, char *buf, size_t cap)
{
    const lwq_h3_field *f = lwq_h3_find(ev->fields, ev->field_count, name);
    if (!f || f->value_len >= cap)
        return NULL;
    memcpy(buf, f->value, f->value_len);
    buf[f->value_len] = 0;
    return buf;
}

static void on_request(h3srv *s, lwq_endpoint_conn *ec, const lwq_h3_event *ev)
{
    const lwq_h3_field *m = lwq_h3_find(ev->fields, ev->field_count, ":method");
    const lwq_h3_field *p = lwq_h3_find(ev->fields, ev->field_count, ":path");
    h3req *r = calloc(1, sizeof(*r));
    if (!r || s->nreqs >= H3_MAX_REQS) {
        free(r);
        lwq_h3_cancel(s->h, ev->stream_id, LWQ_H3_REQUEST_REJECTED);
        return;
    }
    r->id = ev->stream_id;
    r->fd = -1;
    r->start = cli_now();
    r->next = s->reqs;
    s->reqs = r;
    s->nreqs++;
    snprintf(r->line, sizeof(r->line), "%.*s %.*s", m ? (int)m->value_len : 0, m ? (const char *)m->value : "",
             p ? (int)p->value_len : 0, p ? (const char *)p->value : "");
    if (!m || !p) {
        respond_simple(s, ec, r, 400, "bad request\n", NULL, 0);
        return;
    }
    char path[2048];
    snprintf(path, sizeof(path), "%.*s", (int)p->value_len, (const char *)p->value);
    int get = m->value_len == 3 && !memcmp(m->value, "GET", 3),
        head = m->value_len == 4 && !memcmp(m->value, "HEAD", 4);
    int post = m->value_len == 4 && !memcmp(m->value, "POST", 4);
    if (post && strcmp(path, "/echo") == 0) {
        r->echo = 1; /* answered at the end of the request */
        return;
    }
    if (!get && !head) {
        lwq_h3_field allow = {(const uint8_t *)"allow", 5, (const uint8_t *)"GET, HEAD, POST", 15, 0};
        respond_simple(s, ec, r, 405, "method not allowed\n", &allow, 1);
        return;
    }
    char real[PATH_MAX];
    struct stat st;
    if (resolve(path, real, &st) != 0) {
        respond_simple(s, ec, r, 404, "not found\n", NULL, 0);
        return;
    }
    r->fd = open(real, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        respond_simple(s, ec, r, 403, "forbidden\n", NULL, 0);
        return;
    }
    r->size = (uint64_t)st.st_size;
    char cl[24], etag[64], date[40], inm[256], ims[64];
    snprintf(cl, sizeof(cl), "%llu", (unsigned long long)r->size);
    srv_etag(&st, etag, sizeof(etag));
    srv_http_date(st.st_mtim.tv_sec, date, sizeof(date));
    const char *type = srv_content_type(real);
    int nm = srv_not_modified(header(ev, "if-none-match", inm, sizeof(inm)),
                              header(ev, "if-modified-since", ims, sizeof(ims)), &st);
    /* RFC 9110 §15.4.5: a 304 carries the validators and no content */
    lwq_h3_field f[] = {{(const uint8_t *)"etag", 4, (const uint8_t *)etag, strlen(etag), 0},
                        {(const uint8_t *)"last-modified", 13, (const uint8_t *)date, strlen(date), 0},
                        {(const uint8_t *)"content-type", 12, (const uint8_t *)type, strlen(type), 0},
                        {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0}};
    lwq_h3_body b = {NULL, 0, read_file, r};
    r->status = nm ? 304 : 200;
    int rv = lwq_h3_respond(s->h, r->id, r->status, f, nm ? 3 : 4, head || nm || !r->size ? NULL : &b);
    if (rv || head || nm || !r->size) {
        log_req(ec, r, rv ? lwq_strerror(rv) : NULL);
        req_free(s, r);
    }
}

static void on_body(h3srv *s, lwq_endpoint_conn *ec, const lwq_h3_event *ev)
{
    h3req *r = find(s, ev->stream_id);
    uint8_t buf[16384];
    ssize_t n;
    while ((n = lwq_h3_read_body(s->h, ev->stream_id, buf, sizeof(buf))) > 0) {
        if (!r || !r->echo)
            continue; /* request bodies of other methods are read and dropped */
        if (r->body_len + (size_t)n > ECHO_MAX) {
            r->echo = 0;
            respond_simple(s, ec, r, 413, "request body too large\n", NULL, 0);
            r = NULL;
            continue;
        }
        if (r->body_len + (size_t)n > r->body_cap) {
            size_t cap = (r->body_len + (size_t)n) * 2;
            cap = cap > ECHO_MAX ? ECHO_MAX : cap;
            if (lwq_budget_take(srv_budget, cap - r->body_cap)) {
                r->echo = 0;
                respond_simple(s, ec, r, 503, "server memory budget exhausted, try again later\n", NULL, 0);
                r = NULL;
                continue;
            }
            uint8_t *nb = realloc(r->body, cap);
            if (!nb)
                lwq_budget_give(srv_budget, cap - r->body_cap);
            if (!nb) {
                lwq_h3_cancel(s->h, r->id, LWQ_H3_INTERNAL_ERROR);
                req_free(s, r);
                r = NULL;
                continue;
            }
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, buf, (size_t)n);
        r->body_len += (size_t)n;
    }
    if (ev->type == LWQ_H3_EV_END && r && r->echo) {
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", r->body_len);
        lwq_h3_field f[] = {{(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl), 0}};
        lwq_h3_body b = {r->body, r->body_len, NULL, NULL};
        r->status = 200;
        lwq_h3_respond(s->h, r->id, 200, f, 1, &b);
        log_req(ec, r, NULL);
        req_free(s, r);
    }
}

static void registry_add(h3srv *s)
{
    pthread_mutex_lock(&all_mu);
    s->next = all;
    if (all)
        all->prev = s;
    all = s;
    nall++;
    s->draining = shutting_down;
    pthread_mutex_unlock(&all_mu);
}

static void registry_del(h3srv *s)
{
    pthread_mutex_lock(&all_mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    nall--;
    pthread_mutex_unlock(&all_mu);
}

/* RFC 9114 §5.2: after our GOAWAY the connection closes once nothing is left in flight. */
/* RFC 9114 §5.2: GOAWAY 2^62-4 stops new requests without refusing those in transit; after two round
 * trips (at least 20 ms) they have arrived, and the second GOAWAY names the first one not processed. */
static void drain_check(h3srv *s, lwq_conn *conn)
{
    if (s->draining && !s->notice_sent && lwq_h3_goaway_notice(s->h) == 0) { /* LWQ_ERR_STATE before the handshake */
        s->notice_sent = 1;
        s->notice_at = cli_now();
    }
    if (s->notice_sent && !s->goaway_sent) {
        lwq_conn_stats st;
        lwq_conn_stats_get(conn, &st);
        double wait = 2.0 * (double)st.smoothed_rtt / 1e9;
        if (cli_now() >= s->notice_at + (wait > 0.02 ? wait : 0.02))
            s->goaway_sent = lwq_h3_goaway(s->h) == 0;
    }
    if (!s->goaway_sent || !lwq_h3_idle(s->h)) {
        s->idle_at = 0;
        return;
    }
    /* RFC 9114 §5.2 lets the connection go idle: the client closes once it has read every response
     * (quic-go discards stream data not yet read when CONNECTION_CLOSE arrives); we close at LINGER */
    if (s->idle_at == 0)
        s->idle_at = cli_now();
    else if (cli_now() >= s->idle_at + LINGER)
        lwq_conn_close(conn, LWQ_H3_NO_ERROR, "server shutting down");
}

static void drain_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3srv *s = lwq_endpoint_conn_data(ec);
    (void)arg;
    if (!s || !s->h)
        return;
    s->draining = 1;
    drain_check(s, conn);
}

static void tick_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3srv *s = lwq_endpoint_conn_data(ec);
    (void)arg;
    if (s && s->h)
        drain_check(s, conn);
}

static void close_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec;
    (void)arg;
    lwq_conn_close(conn, LWQ_H3_NO_ERROR, "server shutting down");
}

static void each_conn(void (*fn)(lwq_endpoint_conn *, lwq_conn *, void *))
{
    pthread_mutex_lock(&all_mu);
    shutting_down = 1;
    for (h3srv *s = all; s; s = s->next)
        (void)lwq_endpoint_post(s->ec, fn, NULL); /* s stays listed, so ec lives, until its CLOSED event */
    pthread_mutex_unlock(&all_mu);
}

void srv_h3_drain(void)
{
    each_conn(drain_task);
}

void srv_h3_drain_tick(void)
{
    each_conn(tick_task);
}

void srv_h3_close_all(void)
{
    each_conn(close_task);
}

size_t srv_h3_open(void)
{
    pthread_mutex_lock(&all_mu);
    size_t n = nall;
    pthread_mutex_unlock(&all_mu);
    return n;
}

void srv_h3_event(lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    h3srv *s = lwq_endpoint_conn_data(ec);
    if (!s) {
        if (ev->type == LWQ_EV_CLOSED)
            return;
        lwq_h3_config hc;
        lwq_h3_config_init(&hc);
        s = calloc(1, sizeof(*s));
        if (!s || lwq_h3_new(&s->h, conn, 1, &hc) != 0) {
            free(s);
            lwq_conn_close(conn, LWQ_H3_INTERNAL_ERROR, "out of memory");
            return;
        }
        s->ec = ec;
        lwq_endpoint_conn_set_data(ec, s);
        registry_add(s);
    }
    lwq_h3_handle_transport(s->h, ev);
    if (ev->type == LWQ_EV_CLOSED) {
        while (s->reqs) {
            if (s->reqs->status == 200 && !s->reqs->echo)
                log_req(ec, s->reqs, "connection closed");
            req_free(s, s->reqs);
        }
        registry_del(s);
        lwq_h3_del(s->h);
        free(s);
        lwq_endpoint_conn_set_data(ec, NULL);
        return;
    }
    lwq_h3_event hev;
    while (lwq_h3_poll_event(s->h, &hev)) {
        h3req *r;
        switch (hev.type) {
        case LWQ_H3_EV_REQUEST:
            on_request(s, ec, &hev);
            break;
        case LWQ_H3_EV_DATA:
        case LWQ_H3_EV_END:
            on_body(s, ec, &hev);
            break;
        case LWQ_H3_EV_RESET:
            if ((r = find(s, hev.stream_id))) {
                log_req(ec, r, "reset by the client");
                req_free(s, r);
            }
            break;
        case LWQ_H3_EV_CLOSED:
            if (!srv_quiet)
                fprintf(stderr, "%s h3 connection error: %s\n", lwq_endpoint_conn_peer(ec),
                        lwq_h3_strerror(hev.error_code));
            break;
        default:
            break;
        }
    }
    /* a GET is done once its file was read to the end: the callback is not called again */
    for (h3req *r = s->reqs, *nx; r; r = nx) {
        nx = r->next;
        if (!r->echo && r->fd >= 0 && r->off == r->size) {
            log_req(ec, r, NULL);
            req_free(s, r);
        }
    }
    drain_check(s, conn);
}
