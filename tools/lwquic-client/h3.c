/* lwquic-client over HTTP/3: requests run concurrently on one connection (bounded; one at a time when
 * several bodies share stdout); each body goes where cl_out_open says; a request body is streamed from
 * -d @FILE or sent from memory. Per URL only a small record is kept. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/endpoint.h"
#include "lwquic/h3.h"
#include "common/cli.h"
#include "lwquic-client/client.h"

typedef struct h3creq {
    FILE *out;
    int64_t id;
    uint64_t bytes, data_off;
    int status, skip_body; /* skip_body: --fail and a status >= 400 */
    uint8_t done, ok, write_failed, reset;
    char content_type[128];
} h3creq;

typedef struct h3cli {
    const cl_opts *o;
    const char *target;
    lwq_h3 *h;
    h3creq *reqs;
    uint32_t *by_stream; /* client bidirectional stream 4k -> request index + 1 (RFC 9000 §2.1) */
    size_t next, open, finished, max_open;
    lwq_h3_field extra[CL_MAX_HEADERS + 1];
    size_t nextra;
    char *hdrbuf;
    int handshake_done, closed, all_done, resumed;
    int got_ticket, close_deferred, early, max_time_hit;
    cli_session *keep;
    lwq_close_info close;
    lwq_conn_stats stats;
    char cipher[64];
    double t0;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} h3cli;

static h3creq *find(h3cli *c, int64_t id)
{
    if (id < 0 || (id & 3) != 0 || (uint64_t)id / 4 >= c->o->n)
        return NULL;
    uint32_t k = c->by_stream[id / 4];
    return k && c->reqs[k - 1].id == id ? &c->reqs[k - 1] : NULL;
}

static ssize_t read_file(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof);

static const char *method(const cl_opts *o)
{
    return o->method ? o->method : o->head ? "HEAD" : (o->data_buf || o->data_fd >= 0) ? "POST" : "GET";
}

static void start(h3cli *c)
{
    const cl_opts *o = c->o;
    while (c->next < o->n && c->open < c->max_open) {
        h3creq *r = &c->reqs[c->next];
        cli_url u;
        char err[256];
        if (cli_parse_url(o->urls[c->next], &u, err, sizeof(err))) {
            r->done = 1; /* checked before the connection: not reached */
            c->next++;
            c->finished++;
            continue;
        }
        lwq_h3_request q;
        memset(&q, 0, sizeof(q));
        q.method = method(o);
        q.scheme = "https";
        q.authority = u.authority;
        q.path = u.path;
        q.urgency = 3;
        q.extra = c->extra;
        q.extra_count = c->nextra;
        lwq_h3_body body = {o->data_buf, o->data_len, o->data_fd >= 0 ? read_file : NULL, r};
        if (o->data_buf || o->data_fd >= 0)
            q.body = &body;
        int rv = lwq_h3_submit(c->h, &q, &r->id);
        if (rv == LWQ_ERR_LIMIT || rv == LWQ_ERR_STATE)
            return; /* LWQ_EV_STREAMS_AVAILABLE or a finished request makes room */
        c->next++;
        if (rv) {
            r->done = 1;
            c->finished++;
            cl_err(o, "%s %s: %s", q.method, o->urls[c->next - 1], lwq_strerror(rv));
            continue;
        }
        if ((uint64_t)r->id / 4 < o->n)
            c->by_stream[r->id / 4] = (uint32_t)(r - c->reqs) + 1;
        c->open++;
        if (o->verbose)
            fprintf(stderr, "> %s %s\n", q.method, o->urls[r - c->reqs]);
    }
}

static void close_conn(h3cli *c, lwq_conn *conn, const char *why)
{
    lwq_h3_goaway(c->h);
    lwq_conn_close(conn, LWQ_H3_NO_ERROR, why);
}

/* Every request is answered: close once the handshake is confirmed (0-RTT answers can all arrive
 * before HANDSHAKE_DONE) and, with --session-file, a ticket came; until then the close waits, and
 * the main loop closes anyway after about 2 s. */
static void close_when_ready(h3cli *c, lwq_conn *conn)
{
    if (!c->all_done || c->closed)
        return;
    if (c->handshake_done && (!c->keep || c->got_ticket))
        close_conn(c, conn, "done");
    else
        __atomic_store_n(&c->close_deferred, 1, __ATOMIC_RELEASE);
}

static void note_finished(h3cli *c, lwq_conn *conn)
{
    if (c->finished == c->o->n && !c->all_done) {
        c->all_done = 1;
        close_when_ready(c, conn);
    }
}

static void finish(h3cli *c, lwq_conn *conn, h3creq *r, int ok, const char *why)
{
    if (r->done)
        return;
    r->done = 1;
    if (r->out && cl_out_close(r->out) != 0 && ok) {
        ok = 0;
        r->write_failed = 1;
        why = strerror(errno);
    }
    r->out = NULL;
    r->ok = ok;
    size_t i = (size_t)(r - c->reqs);
    if (why)
        cl_err(c->o, "%s %s: %s", method(c->o), c->o->urls[i], why);
    if (c->o->verbose)
        fprintf(stderr, "* %s %s -> %d%s\n", method(c->o), c->o->urls[i], r->status, ok ? "" : " (failed)");
    cl_result res = {r->status, r->bytes, cli_now() - c->t0, ""};
    snprintf(res.content_type, sizeof(res.content_type), "%s", r->content_type);
    cl_write_out(c->o, i, &res);
    c->open--;
    c->finished++;
    start(c);
    note_finished(c, conn);
}

/* Opens the output on the first byte; -1 after reporting a failure. */
static int ensure_out(h3cli *c, lwq_conn *conn, h3creq *r)
{
    if (r->out)
        return 0;
    if ((r->out = cl_out_open(c->o, (size_t)(r - c->reqs))))
        return 0;
    r->write_failed = 1;
    lwq_h3_cancel(c->h, r->id, LWQ_H3_REQUEST_CANCELLED);
    finish(c, conn, r, 0, strerror(errno));
    return -1;
}

/* -i: "HTTP/3 200" and the fields, as curl writes them, before the body. */
static void on_response(h3cli *c, lwq_conn *conn, h3creq *r, const lwq_h3_event *ev)
{
    if (ev->informational)
        return;
    r->status = ev->status;
    const lwq_h3_field *ct = lwq_h3_find(ev->fields, ev->field_count, "content-type");
    if (ct)
        snprintf(r->content_type, sizeof(r->content_type), "%.*s", (int)ct->value_len, (const char *)ct->value);
    if (c->o->verbose) {
        fprintf(stderr, "< HTTP/3 %d\n", ev->status);
        for (size_t i = 0; i < ev->field_count; i++)
            if (ev->fields[i].name_len && ev->fields[i].name[0] != ':')
                fprintf(stderr, "< %.*s: %.*s\n", (int)ev->fields[i].name_len, (const char *)ev->fields[i].name,
                        (int)ev->fields[i].value_len, (const char *)ev->fields[i].value);
    }
    if (c->o->fail && ev->status >= 400) {
        r->skip_body = 1; /* curl --fail: no body, exit 22 */
        return;
    }
    if (!c->o->include || ensure_out(c, conn, r))
        return;
    fprintf(r->out, "HTTP/3 %d\r\n", ev->status);
    for (size_t i = 0; i < ev->field_count; i++)
        if (ev->fields[i].name_len && ev->fields[i].name[0] != ':')
            fprintf(r->out, "%.*s: %.*s\r\n", (int)ev->fields[i].name_len, (const char *)ev->fields[i].name,
                    (int)ev->fields[i].value_len, (const char *)ev->fields[i].value);
    fputs("\r\n", r->out);
}

static void on_body(h3cli *c, lwq_conn *conn, h3creq *r, int end)
{
    uint8_t buf[16384];
    ssize_t n;
    while ((n = lwq_h3_read_body(c->h, r->id, buf, sizeof(buf))) > 0) {
        r->bytes += (uint64_t)n;
        if (r->done || r->skip_body)
            continue;
        if (ensure_out(c, conn, r))
            continue;
        if (fwrite(buf, 1, (size_t)n, r->out) != (size_t)n) {
            r->write_failed = 1;
            lwq_h3_cancel(c->h, r->id, LWQ_H3_REQUEST_CANCELLED);
            finish(c, conn, r, 0, strerror(errno));
        }
    }
    if (end && !r->done) {
        if (r->skip_body || (r->out == NULL && c->o->out[r - c->reqs] == NULL)) {
            finish(c, conn, r, 1, NULL); /* nothing to write to stdout */
            return;
        }
        if (ensure_out(c, conn, r)) /* an empty body is still a file */
            return;
        finish(c, conn, r, 1, NULL);
    }
}

/* RFC 9114 §5.2: after the server's GOAWAY no new request may start; the ones not sent yet end here
 * (the exit status says so) and the connection closes once those in flight are answered. */
static void goaway_rest(h3cli *c, lwq_conn *conn)
{
    size_t left = c->o->n - c->next;
    for (size_t k = 0; c->next < c->o->n; k++) {
        h3creq *r = &c->reqs[c->next++];
        r->done = 1;
        c->finished++;
        if (k < 3)
            cl_err(c->o, "%s %s: not sent, the server is going away (GOAWAY)", method(c->o), c->o->urls[r - c->reqs]);
    }
    if (left > 3)
        cl_err(c->o, "... and %zu more not sent", left - 3);
    note_finished(c, conn);
}

/* Safety net only: requests wait for LWQ_EV_STREAMS_AVAILABLE or a finished request; this retry,
 * once a second from the main thread, covers a refusal neither follows (none is known). */
static void kick(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3cli *c = arg;
    (void)ec;
    (void)conn;
    if (c->h && c->handshake_done && !c->closed)
        start(c);
}

static void close_now(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3cli *c = arg;
    (void)ec;
    if (c->h && !c->closed)
        close_conn(c, conn, c->max_time_hit ? "max-time reached" : "done");
    else if (!c->h)
        lwq_conn_close(conn, LWQ_H3_NO_ERROR, "max-time reached");
}

static int bind_h3(h3cli *c, lwq_conn *conn)
{
    if (c->h)
        return 0;
    lwq_h3_config hc;
    lwq_h3_config_init(&hc);
    if (lwq_h3_new(&c->h, conn, 0, &hc) != 0) {
        lwq_conn_close(conn, LWQ_H3_INTERNAL_ERROR, "out of memory");
        return -1;
    }
    return 0;
}

/* Resuming with --early-data: the requests go before the handshake, in 0-RTT, under the server's
 * default HTTP/3 settings (RFC 9114 §7.2.4.2; no remembered settings: docs/resumption.md). */
static void early_start(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    h3cli *c = arg;
    (void)ec;
    if (!bind_h3(c, conn) && lwq_conn_can_send_early(conn))
        start(c);
}

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    h3cli *c = ud;
    (void)ec;
    if (bind_h3(c, conn))
        return;
    lwq_h3_handle_transport(c->h, ev);
    if (ev->type == LWQ_EV_SESSION_TICKET || ev->type == LWQ_EV_NEW_TOKEN) {
        if (c->keep && !cli_session_set(c->keep, ev->type == LWQ_EV_NEW_TOKEN, ev->data, ev->len) &&
            ev->type == LWQ_EV_SESSION_TICKET) {
            c->got_ticket = 1;
            close_when_ready(c, conn);
        }
    } else if (ev->type == LWQ_EV_EARLY_DATA)
        c->early = ev->accepted;
    else if (ev->type == LWQ_EV_PATH_CHANGED) {
        char a[80];
        cl_info(c->o, "migrated to %s (RFC 9000 §9)", cli_addr(&ev->path.remote, a, sizeof(a)));
    }
    if (ev->type == LWQ_EV_HANDSHAKE_DONE) {
        c->handshake_done = 1;
        snprintf(c->cipher, sizeof(c->cipher), "%s", lwq_conn_cipher(conn) ? lwq_conn_cipher(conn) : "?");
        start(c);
        close_when_ready(c, conn);
    } else if (ev->type == LWQ_EV_STREAMS_AVAILABLE && ev->bidi && c->handshake_done)
        start(c); /* RFC 9000 §4.6: the server's MAX_STREAMS let more requests go */
    lwq_h3_event hev;
    while (lwq_h3_poll_event(c->h, &hev)) {
        h3creq *r = find(c, hev.stream_id);
        switch (hev.type) {
        case LWQ_H3_EV_RESPONSE:
            if (r && !r->done)
                on_response(c, conn, r, &hev);
            break;
        case LWQ_H3_EV_DATA:
        case LWQ_H3_EV_END:
            if (r)
                on_body(c, conn, r, hev.type == LWQ_H3_EV_END);
            break;
        case LWQ_H3_EV_RESET:
            if (r) {
                char why[96];
                snprintf(why, sizeof(why), "the server reset the stream: %s", lwq_h3_strerror(hev.error_code));
                r->reset = 1;
                finish(c, conn, r, 0, why);
            }
            break;
        case LWQ_H3_EV_GOAWAY:
            goaway_rest(c, conn);
            break;
        default:
            break;
        }
    }
    if (ev->type == LWQ_EV_CLOSED) {
        c->close = ev->close;
        lwq_conn_stats_get(conn, &c->stats);
        c->resumed = lwq_conn_resumed(conn);
        for (size_t i = 0; i < c->next; i++)
            if (c->reqs[i].out) {
                cl_out_close(c->reqs[i].out);
                c->reqs[i].out = NULL;
            }
        pthread_mutex_lock(&c->mu);
        c->closed = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

/* -H "Name: value" as HTTP/3 fields (names lowercase, RFC 9114 §4.2), plus our user-agent unless given. */
static int build_headers(h3cli *c)
{
    const cl_opts *o = c->o;
    size_t total = 0;
    for (size_t i = 0; i < o->nheaders; i++)
        total += strlen(o->headers[i]) + 1;
    c->hdrbuf = malloc(total + 1);
    if (!c->hdrbuf)
        return -1;
    char *p = c->hdrbuf;
    int ua = 0;
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *h = o->headers[i], *colon = strchr(h, ':');
        size_t nl = (size_t)(colon - h);
        for (size_t k = 0; k < nl; k++)
            p[k] = (char)((h[k] >= 'A' && h[k] <= 'Z') ? h[k] - 'A' + 'a' : h[k]);
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        lwq_h3_field f = {(const uint8_t *)p, nl, (const uint8_t *)v, strlen(v), 0};
        ua |= nl == 10 && !memcmp(p, "user-agent", 10);
        c->extra[c->nextra++] = f;
        p += nl;
    }
    if (!ua) {
        lwq_h3_field f = {(const uint8_t *)"user-agent", 10, (const uint8_t *)"lwquic-client/" LWQ_LIB_VERSION_STR,
                          strlen("lwquic-client/" LWQ_LIB_VERSION_STR), 0};
        c->extra[c->nextra++] = f;
    }
    return 0;
}

static h3cli *g_cli; /* the read callback's way back to -d @FILE */

static ssize_t read_file(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof)
{
    h3creq *r = ud;
    const cl_opts *o = g_cli->o;
    (void)id;
    size_t want = o->data_size - r->data_off < cap ? (size_t)(o->data_size - r->data_off) : cap;
    ssize_t n = want ? pread(o->data_fd, buf, want, (off_t)r->data_off) : 0;
    if (n < 0 || (want && n == 0))
        return LWQ_ERR_IO;
    r->data_off += (uint64_t)n;
    *eof = r->data_off == o->data_size;
    return n;
}

int cl_run_h3(lwq_config *cfg, const cl_opts *o, const char *target, cli_session *keep, const cli_session *start_sess)
{
    h3cli c;
    memset(&c, 0, sizeof(c));
    c.o = o;
    c.target = target;
    c.keep = keep;
    c.early = -1;
    c.max_open = cl_out_shared_stdout(o) ? 1 : 100;
    g_cli = &c;
    c.reqs = calloc(o->n, sizeof(*c.reqs));
    c.by_stream = calloc(o->n, sizeof(*c.by_stream));
    if (!c.reqs || !c.by_stream || build_headers(&c)) {
        free(c.reqs);
        free(c.by_stream);
        return 1;
    }
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    lwq_endpoint_handler h = {on_event, &c};
    cli_stack st;
    int rv = cli_start("lwquic-client", cfg, 2, NULL, &h, &st);
    if (rv) {
        free(c.reqs);
        free(c.by_stream);
        free(c.hdrbuf);
        return rv;
    }
    lwq_endpoint_conn *ec;
    c.t0 = cli_now();
    int early = o->early_data && start_sess->blob_len;
    rv = lwq_endpoint_connect_early(st.ep, target, start_sess->blob, start_sess->blob_len, NULL,
                                    early ? early_start : NULL, &c, &ec);
    if (rv) {
        cl_err(o, "%s: %s", target, rv == LWQ_ERR_NOT_FOUND ? "cannot resolve the host name" : lwq_strerror(rv));
        cli_stop(&st);
        free(c.reqs);
        free(c.by_stream);
        free(c.hdrbuf);
        return rv == LWQ_ERR_NOT_FOUND ? CL_EXIT_RESOLVE : CL_EXIT_CONNECT;
    }
    double deferred_at = 0;
    pthread_mutex_lock(&c.mu);
    while (!c.closed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c.cv, &c.mu, &ts);
        if (c.closed)
            break;
        pthread_mutex_unlock(&c.mu);
        (void)lwq_endpoint_post(ec, kick, &c);
        /* 2 s without a ticket or HANDSHAKE_DONE: close anyway (wake-ups come early, so time it) */
        if (__atomic_load_n(&c.close_deferred, __ATOMIC_ACQUIRE) && !deferred_at)
            deferred_at = cli_now();
        if (deferred_at > 0 && cli_now() - deferred_at >= 2.0) {
            (void)lwq_endpoint_post(ec, close_now, &c);
            deferred_at = -1; /* once */
        }
        if (o->max_time > 0 && !c.max_time_hit && cli_now() - c.t0 >= o->max_time) {
            c.max_time_hit = 1;
            (void)lwq_endpoint_post(ec, close_now, &c);
        }
        pthread_mutex_lock(&c.mu);
    }
    pthread_mutex_unlock(&c.mu);
    lwq_endpoint_conn_release(ec);
    cli_stop(&st);
    lwq_h3_del(c.h);
    double elapsed = cli_now() - c.t0;
    cl_end e = {target, c.handshake_done, c.max_time_hit, c.close, 1};
    int code = cl_end_diagnose(o, &e);
    uint64_t bytes = 0;
    size_t done = 0;
    for (size_t i = 0; i < o->n; i++) {
        h3creq *r = &c.reqs[i];
        bytes += r->bytes;
        int bad = CL_EXIT_OK;
        if (r->write_failed)
            bad = CL_EXIT_WRITE;
        else if (!r->ok)
            bad = CL_EXIT_RECV;
        else if (o->fail && r->status >= 400)
            bad = CL_EXIT_HTTP;
        if (bad == CL_EXIT_HTTP)
            cl_err(o, "%s: the requested URL returned error: %d", o->urls[i], r->status);
        else if (bad && !r->done && c.handshake_done && !code)
            cl_err(o, "%s: not completed", o->urls[i]);
        if (!bad)
            done++;
        if (!code)
            code = bad;
    }
    if (c.handshake_done) {
        char b[32];
        cl_info(o, "connected to %s in %.1f ms: %s, ALPN h3%s", target, (double)c.stats.handshake_time / 1e6, c.cipher,
                c.resumed ? ", resumed" : "");
        cl_info(o, "fetched %zu of %zu: %s in %.3f s (%.1f Mbit/s), rtt %.2f ms, %llu packets lost", done, o->n,
                cli_bytes(bytes, b, sizeof(b)), elapsed, elapsed > 0 ? (double)bytes * 8 / elapsed / 1e6 : 0.0,
                (double)c.stats.smoothed_rtt / 1e6, (unsigned long long)c.stats.packets_lost);
    }
    if (keep) {
        cli_session_result sr = {c.handshake_done, c.resumed, c.early, c.stats.packets_0rtt};
        cli_session_finish(o->session_file, keep, start_sess, !o->verbose, &sr);
    }
    free(c.reqs);
    free(c.by_stream);
    free(c.hdrbuf);
    return code;
}
