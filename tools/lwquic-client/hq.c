/* lwquic-client over HTTP/0.9 (ALPN hq-interop): "GET /path\r\n" on a stream per URL, the body until
 * FIN. Outputs as with HTTP/3 (cl_out_open). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/endpoint.h"
#include "common/cli.h"
#include "lwquic-client/client.h"

typedef struct request {
    FILE *out;
    int64_t stream_id;
    uint64_t bytes;
    int done, failed, write_failed;
    char why[160];
} request;

typedef struct client {
    const cl_opts *o;
    request *reqs;
    size_t n, next, completed, failed, open, max_open;
    uint64_t bytes;
    int handshake_done, closed, finished, max_time_hit;
    lwq_close_info close;
    char cipher[64];
    lwq_conn_stats stats;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    double t0;
    /* --session-file: the connection waits for a ticket before closing. early: LWQ_EV_EARLY_DATA (-1: none). */
    cli_session *keep;
    int got_ticket, close_deferred, resumed, early;
} client;

static request *find_req(client *cl, int64_t id)
{
    for (size_t i = 0; i < cl->next; i++)
        if (cl->reqs[i].stream_id == id)
            return &cl->reqs[i];
    return NULL;
}

/* Opens streams for the next requests, up to the concurrency cap and the peer's stream limit. */
static void start_requests(client *cl, lwq_conn *conn)
{
    while (cl->next < cl->n && cl->open < cl->max_open) {
        request *r = &cl->reqs[cl->next];
        cli_url u;
        char err[256];
        int64_t id;
        if (cli_parse_url(cl->o->urls[cl->next], &u, err, sizeof(err)))
            return; /* checked before the connection */
        if (lwq_stream_open(conn, 1, &id) != 0)
            return; /* stream limit: MAX_STREAMS will let us go on */
        char line[2100];
        int len = snprintf(line, sizeof(line), "GET %s\r\n", u.path);
        if (lwq_stream_write(conn, id, (const uint8_t *)line, (size_t)len, 1) != len) {
            lwq_stream_reset(conn, id, 0);
            return;
        }
        r->stream_id = id;
        cl->next++;
        cl->open++;
    }
}

/* Every request is answered: close once the handshake is confirmed (0-RTT answers can all arrive
 * before HANDSHAKE_DONE) and, with --session-file, a ticket came; until then the close waits, and
 * the main loop closes anyway after 2 s. */
static void close_when_ready(client *cl, lwq_conn *conn)
{
    if (cl->completed + cl->failed != cl->n)
        return;
    if (cl->handshake_done && (!cl->keep || cl->got_ticket))
        lwq_conn_close(conn, 0, "done");
    else
        __atomic_store_n(&cl->close_deferred, 1, __ATOMIC_RELEASE);
}

static void request_done(client *cl, lwq_conn *conn, request *r, int ok, const char *why)
{
    if (r->done || r->failed)
        return;
    if (r->out && cl_out_close(r->out) != 0 && ok) {
        ok = 0;
        r->write_failed = 1;
        why = strerror(errno);
    }
    r->out = NULL;
    size_t i = (size_t)(r - cl->reqs);
    if (ok) {
        r->done = 1;
        cl->completed++;
    } else {
        r->failed = 1;
        cl->failed++;
        snprintf(r->why, sizeof(r->why), "%s", why);
    }
    cl_result res = {0, r->bytes, cli_now() - cl->t0, ""};
    cl_write_out(cl->o, i, &res);
    cl->open--;
    start_requests(cl, conn);
    close_when_ready(cl, conn);
}

static void close_now(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    client *cl = arg;
    (void)ec;
    lwq_conn_close(conn, 0, cl->max_time_hit ? "max-time reached" : "done");
}

/* With a session and --early-data: the requests go before the handshake, in 0-RTT. */
static void early_start(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec;
    start_requests(arg, conn);
}

static void on_readable(client *cl, lwq_conn *conn, request *r, int64_t id)
{
    static uint8_t buf[65536];
    for (;;) {
        int fin = 0;
        ssize_t n = lwq_stream_read(conn, id, buf, sizeof(buf), &fin);
        if (n < 0)
            break;
        if (n > 0 || fin) {
            if (!r->out && !(r->out = cl_out_open(cl->o, (size_t)(r - cl->reqs)))) {
                r->write_failed = 1;
                lwq_stream_stop_sending(conn, id, 0);
                request_done(cl, conn, r, 0, strerror(errno));
                break;
            }
            if (n > 0 && fwrite(buf, 1, (size_t)n, r->out) != (size_t)n) {
                r->write_failed = 1;
                lwq_stream_stop_sending(conn, id, 0);
                request_done(cl, conn, r, 0, strerror(errno));
                break;
            }
            r->bytes += (uint64_t)n;
            __atomic_add_fetch(&cl->bytes, (uint64_t)n, __ATOMIC_RELAXED);
        }
        if (fin) {
            request_done(cl, conn, r, 1, NULL);
            break;
        }
        if (n == 0)
            break;
    }
}

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    client *cl = ud;
    (void)ec;
    request *r;
    switch (ev->type) {
    case LWQ_EV_PATH_CHANGED: {
        char a[80];
        cl_info(cl->o, "migrated to %s (RFC 9000 §9)", cli_addr(&ev->path.remote, a, sizeof(a)));
        break;
    }
    case LWQ_EV_HANDSHAKE_DONE:
        cl->handshake_done = 1;
        snprintf(cl->cipher, sizeof(cl->cipher), "%s", lwq_conn_cipher(conn) ? lwq_conn_cipher(conn) : "?");
        cl->resumed = lwq_conn_resumed(conn);
        start_requests(cl, conn);
        close_when_ready(cl, conn);
        break;
    case LWQ_EV_SESSION_TICKET:
    case LWQ_EV_NEW_TOKEN:
        if (cl->keep && !cli_session_set(cl->keep, ev->type == LWQ_EV_NEW_TOKEN, ev->data, ev->len) &&
            ev->type == LWQ_EV_SESSION_TICKET) {
            cl->got_ticket = 1;
            close_when_ready(cl, conn);
        }
        break;
    case LWQ_EV_EARLY_DATA: cl->early = ev->accepted; break;
    case LWQ_EV_STREAMS_AVAILABLE:
        if (ev->bidi)
            start_requests(cl, conn); /* RFC 9000 §4.6: MAX_STREAMS after a refused open */
        break;
    case LWQ_EV_STREAM_READABLE:
        if ((r = find_req(cl, ev->stream_id)))
            on_readable(cl, conn, r, ev->stream_id);
        break;
    case LWQ_EV_STREAM_RESET:
        if ((r = find_req(cl, ev->stream_id))) {
            char why[64];
            snprintf(why, sizeof(why), "the server reset the stream (error 0x%llx)", (unsigned long long)ev->error_code);
            request_done(cl, conn, r, 0, why);
        }
        break;
    case LWQ_EV_CLOSED:
        lwq_conn_stats_get(conn, &cl->stats);
        cl->close = ev->close;
        for (size_t i = 0; i < cl->next; i++)
            if (cl->reqs[i].out) {
                cl_out_close(cl->reqs[i].out);
                cl->reqs[i].out = NULL;
            }
        pthread_mutex_lock(&cl->mu);
        cl->finished = 1;
        pthread_cond_broadcast(&cl->cv);
        pthread_mutex_unlock(&cl->mu);
        break;
    default: break;
    }
}

static void progress(client *cl, int final)
{
    char b[32];
    uint64_t n = __atomic_load_n(&cl->bytes, __ATOMIC_RELAXED);
    double t = cli_now() - cl->t0;
    fprintf(stderr, "\r%s received, %zu/%zu done, %.1f Mbit/s   %s", cli_bytes(n, b, sizeof(b)),
            __atomic_load_n(&cl->completed, __ATOMIC_RELAXED), cl->n, t > 0 ? (double)n * 8 / t / 1e6 : 0.0,
            final ? "\n" : "");
}

int cl_run_hq(lwq_config *cfg, const cl_opts *o, const char *target, cli_session *keep, const cli_session *start_sess)
{
    client cl = {.o = o, .n = o->n, .max_open = cl_out_shared_stdout(o) ? 1 : 100, .early = -1, .keep = keep};
    cl.reqs = calloc(o->n, sizeof(request));
    if (!cl.reqs)
        return 1;
    for (size_t i = 0; i < o->n; i++)
        cl.reqs[i].stream_id = -1;
    pthread_mutex_init(&cl.mu, NULL);
    pthread_cond_init(&cl.cv, NULL);
    lwq_endpoint_handler h = {on_event, &cl};
    cli_stack st;
    int rv = cli_start("lwquic-client", cfg, 2, NULL, &h, &st);
    if (rv) {
        free(cl.reqs);
        return rv;
    }
    cl.t0 = cli_now();
    lwq_endpoint_conn *ec;
    int early = o->early_data && start_sess->blob_len;
    rv = lwq_endpoint_connect_early(st.ep, target, start_sess->blob, start_sess->blob_len, NULL,
                                    early ? early_start : NULL, &cl, &ec);
    if (rv) {
        cl_err(o, "%s: %s", target, rv == LWQ_ERR_NOT_FOUND ? "cannot resolve the host name" : lwq_strerror(rv));
        cli_stop(&st);
        free(cl.reqs);
        return rv == LWQ_ERR_NOT_FOUND ? CL_EXIT_RESOLVE : CL_EXIT_CONNECT;
    }
    int to_stdout = 0;
    for (size_t i = 0; i < o->n; i++)
        to_stdout |= o->out[i] == NULL;
    int tty = isatty(2) && !o->silent && !to_stdout;
    double deferred_at = 0;
    pthread_mutex_lock(&cl.mu);
    while (!cl.finished) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&cl.cv, &cl.mu, &ts);
        if (tty)
            progress(&cl, 0);
        /* 2 s without a ticket or HANDSHAKE_DONE: close anyway (wake-ups come early, so time it) */
        if (__atomic_load_n(&cl.close_deferred, __ATOMIC_ACQUIRE) && !deferred_at)
            deferred_at = cli_now();
        if (deferred_at > 0 && cli_now() - deferred_at >= 2.0) {
            (void)lwq_endpoint_post(ec, close_now, &cl);
            deferred_at = -1; /* once */
        }
        if (o->max_time > 0 && !cl.max_time_hit && cli_now() - cl.t0 >= o->max_time) {
            cl.max_time_hit = 1;
            (void)lwq_endpoint_post(ec, close_now, &cl);
        }
    }
    pthread_mutex_unlock(&cl.mu);
    double elapsed = cli_now() - cl.t0;
    if (tty)
        progress(&cl, 1);
    lwq_endpoint_conn_release(ec);
    cli_stop(&st);
    if (keep) {
        cli_session_result sr = {cl.handshake_done, cl.resumed, cl.early, cl.stats.packets_0rtt};
        cli_session_finish(o->session_file, keep, start_sess, !o->verbose, &sr);
    }
    cl_end e = {target, cl.handshake_done, cl.max_time_hit, cl.close, 0};
    int code = cl_end_diagnose(o, &e), shown = 0;
    for (size_t i = 0; i < cl.n; i++) {
        request *r = &cl.reqs[i];
        if (r->done)
            continue;
        if (!code)
            code = r->write_failed ? CL_EXIT_WRITE : CL_EXIT_RECV;
        if (cl.handshake_done && shown++ < 3)
            cl_err(o, "%s: %s", o->urls[i], r->failed ? r->why : "not completed");
    }
    if (cl.handshake_done) {
        char b[32];
        cl_info(o, "connected to %s in %.1f ms: %s, ALPN hq-interop", target, (double)cl.stats.handshake_time / 1e6,
                cl.cipher);
        cl_info(o, "fetched %zu of %zu file(s): %s in %.3f s (%.1f Mbit/s), rtt %.2f ms, %llu packets lost",
                cl.completed, cl.n, cli_bytes(cl.bytes, b, sizeof(b)), elapsed,
                elapsed > 0 ? (double)cl.bytes * 8 / elapsed / 1e6 : 0.0, (double)cl.stats.smoothed_rtt / 1e6,
                (unsigned long long)cl.stats.packets_lost);
    }
    free(cl.reqs);
    return code;
}
