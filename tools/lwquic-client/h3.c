/* lwquic-client over HTTP/3: requests run concurrently on one connection (bounded); bodies are
 * saved as DIR/<last path segment>; a request body is streamed from --data FILE. Per URL only a small
 * record is kept: the URL is parsed when its request starts and when its file is opened. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/endpoint.h"
#include "lwquic/h3.h"
#include "common/cli.h"
#include "lwquic-client/h3cli.h"

typedef struct h3creq {
    FILE *out;
    int64_t id;
    uint64_t bytes, data_off;
    int status;
    uint8_t done, ok;
} h3creq;

typedef struct h3cli {
    const h3cli_opts *o;
    lwq_h3 *h;
    h3creq *reqs;
    uint32_t *by_stream; /* client bidirectional stream 4k -> request index + 1 (RFC 9000 §2.1) */
    size_t next, open, finished;
    int data_fd;
    uint64_t data_size;
    int handshake_done, closed, all_done, resumed;
    int got_ticket, close_deferred, early; /* --session-file: ticket seen; close waits for it; 0-RTT answer */
    lwq_close_info close;
    lwq_conn_stats stats;
    char cipher[64];
    uint64_t h3_error;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} h3cli;

static ssize_t read_data(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof);

static h3cli *g_cli; /* the read callback's way back to the shared --data descriptor */

/* Each bidirectional stream we open carries one request, in order: stream 4k holds request k or an
 * earlier one (when a submission failed after the stream was opened). */
static h3creq *find(h3cli *c, int64_t id)
{
    if (id < 0 || (id & 3) != 0 || (uint64_t)id / 4 >= c->o->n)
        return NULL;
    uint32_t k = c->by_stream[id / 4];
    return k && c->reqs[k - 1].id == id ? &c->reqs[k - 1] : NULL;
}

static void wake(h3cli *c)
{
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void start(h3cli *c)
{
    while (c->next < c->o->n && c->open < c->o->max_open) {
        h3creq *r = &c->reqs[c->next];
        cli_url u;
        char err[256];
        if (cli_parse_url(c->o->urls[c->next], &u, err, sizeof(err))) {
            r->done = 1; /* checked in h3cli_run: not reached */
            c->next++;
            c->finished++;
            continue;
        }
        lwq_h3_request q;
        memset(&q, 0, sizeof(q));
        q.method = c->o->method;
        q.scheme = "https";
        q.authority = u.authority;
        q.path = u.path;
        q.urgency = 3;
        lwq_h3_field ua = {(const uint8_t *)"user-agent", 10, (const uint8_t *)"lwquic-client", 13, 0};
        q.extra = &ua;
        q.extra_count = 1;
        lwq_h3_body body = {NULL, 0, read_data, r};
        if (c->o->data_file)
            q.body = &body;
        int rv = lwq_h3_submit(c->h, &q, &r->id);
        if (rv == LWQ_ERR_LIMIT || rv == LWQ_ERR_STATE)
            return; /* LWQ_EV_STREAMS_AVAILABLE or a finished request makes room */
        c->next++;
        if (rv) {
            r->done = 1;
            c->finished++;
            fprintf(stderr, "%s %s: %s\n", c->o->method, c->o->urls[c->next - 1], lwq_strerror(rv));
            continue;
        }
        if ((uint64_t)r->id / 4 < c->o->n)
            c->by_stream[r->id / 4] = (uint32_t)(r - c->reqs) + 1;
        c->open++;
    }
}

/* DIR/<last path segment of the URL>, "index.html" for a path ending in '/'. */
static FILE *open_out(h3cli *c, h3creq *r)
{
    cli_url u;
    char err[256], file[4096];
    if (cli_parse_url(c->o->urls[r - c->reqs], &u, err, sizeof(err)))
        return NULL;
    const char *base = strrchr(u.path, '/');
    base = base && base[1] ? base + 1 : "index.html";
    snprintf(file, sizeof(file), "%s/%.*s", c->o->outdir, (int)strcspn(base, "?#"), base);
    return fopen(file, "wb");
}

static void close_conn(h3cli *c, lwq_conn *conn)
{
    lwq_h3_goaway(c->h);
    lwq_conn_close(conn, LWQ_H3_NO_ERROR, "done");
}

/* Every request is answered: close once the handshake is confirmed (0-RTT answers can all arrive
 * before HANDSHAKE_DONE) and, with --session-file, a ticket came; until then the close waits, and
 * the main loop closes anyway after about 2 s. */
static void close_when_ready(h3cli *c, lwq_conn *conn)
{
    if (!c->all_done || c->closed)
        return;
    if (c->handshake_done && (!c->o->keep || c->got_ticket))
        close_conn(c, conn);
    else
        __atomic_store_n(&c->close_deferred, 1, __ATOMIC_RELEASE);
}

/* After a request ended: once every one has, the connection closes (when ready). */
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
    if (r->out && fclose(r->out) != 0 && ok) {
        ok = 0;
        why = strerror(errno);
    }
    r->out = NULL;
    r->ok = ok && r->status >= 200 && r->status < 300;
    if (!c->o->quiet)
        fprintf(stderr, "%s %s -> %d%s%s\n", c->o->method, c->o->urls[r - c->reqs], r->status, why ? ": " : "",
                why ? why : "");
    c->open--;
    c->finished++;
    start(c);
    note_finished(c, conn);
}

static ssize_t read_data(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof)
{
    h3creq *r = ud;
    h3cli *c = g_cli;
    (void)id;
    size_t want = c->data_size - r->data_off < cap ? (size_t)(c->data_size - r->data_off) : cap;
    ssize_t n = want ? pread(c->data_fd, buf, want, (off_t)r->data_off) : 0;
    if (n < 0 || (want && n == 0))
        return LWQ_ERR_IO;
    r->data_off += (uint64_t)n;
    *eof = r->data_off == c->data_size;
    return n;
}

static void on_body(h3cli *c, lwq_conn *conn, h3creq *r, int end)
{
    uint8_t buf[16384];
    ssize_t n;
    while ((n = lwq_h3_read_body(c->h, r->id, buf, sizeof(buf))) > 0) {
        if (r->done)
            continue;
        if (!r->out && !(r->out = open_out(c, r))) {
            lwq_h3_cancel(c->h, r->id, LWQ_H3_REQUEST_CANCELLED);
            finish(c, conn, r, 0, strerror(errno));
            continue;
        }
        if (fwrite(buf, 1, (size_t)n, r->out) != (size_t)n) {
            lwq_h3_cancel(c->h, r->id, LWQ_H3_REQUEST_CANCELLED);
            finish(c, conn, r, 0, strerror(errno));
            continue;
        }
        r->bytes += (uint64_t)n;
    }
    if (end && !r->done) {
        if (!r->out)
            r->out = open_out(c, r); /* an empty body is still a file */
        finish(c, conn, r, r->out != NULL, r->out ? NULL : strerror(errno));
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
        if (!c->o->quiet && k < 3)
            fprintf(stderr, "%s %s: not sent, the server is going away (GOAWAY)\n", c->o->method,
                    c->o->urls[r - c->reqs]);
    }
    if (!c->o->quiet && left > 3)
        fprintf(stderr, "... and %zu more not sent\n", left - 3);
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
        close_conn(c, conn);
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
        if (c->o->keep && !cli_session_set(c->o->keep, ev->type == LWQ_EV_NEW_TOKEN, ev->data, ev->len) &&
            ev->type == LWQ_EV_SESSION_TICKET) {
            c->got_ticket = 1;
            close_when_ready(c, conn);
        }
    } else if (ev->type == LWQ_EV_EARLY_DATA)
        c->early = ev->accepted;
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
            if (r && !hev.informational)
                r->status = hev.status;
            break;
        case LWQ_H3_EV_DATA:
        case LWQ_H3_EV_END:
            if (r)
                on_body(c, conn, r, hev.type == LWQ_H3_EV_END);
            break;
        case LWQ_H3_EV_RESET:
            if (r) {
                char why[96];
                snprintf(why, sizeof(why), "stream reset: %s", lwq_h3_strerror(hev.error_code));
                finish(c, conn, r, 0, why);
            }
            break;
        case LWQ_H3_EV_GOAWAY:
            goaway_rest(c, conn);
            break;
        case LWQ_H3_EV_CLOSED:
            c->h3_error = hev.error_code;
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
                fclose(c->reqs[i].out);
                c->reqs[i].out = NULL;
            }
        pthread_mutex_lock(&c->mu);
        c->closed = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    } else if (c->all_done)
        wake(c);
}

int h3cli_run(lwq_config *cfg, const h3cli_opts *o)
{
    h3cli c;
    memset(&c, 0, sizeof(c));
    c.o = o;
    c.data_fd = -1;
    g_cli = &c;
    char err[256];
    cli_url first, u;
    for (size_t i = 0; i < o->n; i++) {
        if (cli_parse_url(o->urls[i], i ? &u : &first, err, sizeof(err))) {
            fprintf(stderr, "lwquic-client: %s\n", err);
            return 2;
        }
        if (i && strcmp(u.authority, first.authority) != 0) {
            fprintf(stderr, "lwquic-client: %s: all URLs must name the same server (one connection)\n", o->urls[i]);
            return 2;
        }
    }
    c.reqs = calloc(o->n, sizeof(*c.reqs));
    c.by_stream = calloc(o->n, sizeof(*c.by_stream));
    if (!c.reqs || !c.by_stream) {
        free(c.reqs);
        free(c.by_stream);
        return 1;
    }
    if (o->data_file) {
        c.data_fd = open(o->data_file, O_RDONLY | O_CLOEXEC);
        off_t end = c.data_fd >= 0 ? lseek(c.data_fd, 0, SEEK_END) : -1;
        if (end < 0) {
            fprintf(stderr, "lwquic-client: --data %s: %s\n", o->data_file, strerror(errno));
            free(c.reqs);
            free(c.by_stream);
            return 2;
        }
        c.data_size = (uint64_t)end;
    }
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    lwq_endpoint_handler h = {on_event, &c};
    cli_stack st;
    int rv = cli_start("lwquic-client", cfg, 2, NULL, &h, &st);
    if (rv) {
        free(c.reqs);
        free(c.by_stream);
        return rv;
    }
    lwq_endpoint_conn *ec;
    c.early = -1;
    int early = o->early && o->session_len;
    rv = lwq_endpoint_connect_early(st.ep, o->target, o->session, o->session_len, NULL,
                                    early ? early_start : NULL, &c, &ec);
    if (rv) {
        fprintf(stderr, "lwquic-client: %s: %s\n", o->target,
                rv == LWQ_ERR_NOT_FOUND ? "cannot resolve host" : lwq_strerror(rv));
        cli_stop(&st);
        return 1;
    }
    double t0 = cli_now(), deferred_at = 0;
    pthread_mutex_lock(&c.mu);
    while (!c.closed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&c.cv, &c.mu, &ts);
        if (!c.closed) {
            pthread_mutex_unlock(&c.mu);
            (void)lwq_endpoint_post(ec, kick, &c);
            /* 2 s without a ticket or HANDSHAKE_DONE: close anyway (wake-ups come early, so time it) */
            if (__atomic_load_n(&c.close_deferred, __ATOMIC_ACQUIRE) && !deferred_at)
                deferred_at = cli_now();
            if (deferred_at > 0 && cli_now() - deferred_at >= 2.0) {
                (void)lwq_endpoint_post(ec, close_now, &c);
                deferred_at = -1; /* once */
            }
            pthread_mutex_lock(&c.mu);
        }
    }
    pthread_mutex_unlock(&c.mu);
    lwq_endpoint_conn_release(ec);
    cli_stop(&st);
    lwq_h3_del(c.h);
    if (c.data_fd >= 0)
        close(c.data_fd);
    double elapsed = cli_now() - t0;
    int failed = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < o->n; i++) {
        h3creq *r = &c.reqs[i];
        bytes += r->bytes;
        if (!r->ok) {
            failed++;
            if (c.handshake_done && !r->done && (!o->quiet || failed <= 3))
                fprintf(stderr, "lwquic-client: %s: not completed\n", o->urls[i]);
        }
    }
    const lwq_close_info *ci = &c.close;
    if (!c.handshake_done || (failed && ci->code != 0 && ci->code != LWQ_H3_NO_ERROR))
        fprintf(stderr, "lwquic-client: %s: connection closed by %s: %s error 0x%llx (%s): %s\n", o->target,
                ci->by_peer ? "the server" : "us", ci->is_app ? "application" : "transport",
                (unsigned long long)ci->code, ci->is_app ? lwq_h3_strerror(ci->code) : lwq_quic_error_name(ci->code),
                ci->reason[0] ? ci->reason : (ci->idle_timeout ? "idle timeout" : "(no reason given)"));
    if (!o->quiet && c.handshake_done) {
        char b[32];
        printf("connected to %s in %.1f ms: %s, ALPN h3\n", o->target, (double)c.stats.handshake_time / 1e6, c.cipher);
        printf("fetched %zu of %zu: %s in %.3f s (%.1f Mbit/s), rtt %.2f ms, %llu packets lost\n", o->n - (size_t)failed,
               o->n, cli_bytes(bytes, b, sizeof(b)), elapsed, elapsed > 0 ? (double)bytes * 8 / elapsed / 1e6 : 0.0,
               (double)c.stats.smoothed_rtt / 1e6, (unsigned long long)c.stats.packets_lost);
    }
    if (o->result) {
        cli_session_result sr = {c.handshake_done, c.resumed, c.early, c.stats.packets_0rtt};
        *o->result = sr;
    }
    free(c.reqs);
    free(c.by_stream);
    return failed || !c.handshake_done ? 1 : 0;
}
