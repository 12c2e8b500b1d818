/* lwquic-client: fetch URLs over one QUIC connection (HTTP/0.9 over hq-interop) and save each as
 * DIR/<last path segment>. Exit 0 only when every URL arrived complete. */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lwquic/endpoint.h"
#include "common/cli.h"
#include "common/explain.h"
#include "common/record.h"
#include "lwquic-client/h3cli.h"
#include "lwquic-client/session.h"

#define MAX_URLS 10000

typedef struct request {
    cli_url url;
    char file[4096];
    FILE *out;
    int64_t stream_id;
    uint64_t bytes;
    int done, failed;
    char why[160];
} request;

typedef struct client {
    request *reqs;
    size_t n, next, completed, failed, open;
    uint64_t bytes;
    int handshake_done, closed, finished;
    lwq_close_info close;
    char cipher[64], alpn[32];
    lwq_conn_stats stats;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t max_open;
    /* --session-file: the session read at start, replaced by what the server sends; the connection
     * waits for a ticket before closing. early: LWQ_EV_EARLY_DATA (-1: none). */
    cli_session sess;
    int want_ticket, got_ticket, close_deferred, resumed, early;
} client;

static request *find_req(client *cl, int64_t id)
{
    for (size_t i = 0; i < cl->next; i++)
        if (cl->reqs[i].stream_id == id)
            return &cl->reqs[i];
    return NULL;
}

static void finish(client *cl)
{
    pthread_mutex_lock(&cl->mu);
    cl->finished = 1;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

/* Opens streams for the next requests, up to the concurrency cap and the peer's stream limit. */
static void start_requests(client *cl, lwq_conn *conn)
{
    while (cl->next < cl->n && cl->open < cl->max_open) {
        request *r = &cl->reqs[cl->next];
        int64_t id;
        if (lwq_stream_open(conn, 1, &id) != 0)
            return; /* stream limit: MAX_STREAMS will let us go on */
        char line[2100];
        int len = snprintf(line, sizeof(line), "GET %s\r\n", r->url.path);
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
    if (cl->handshake_done && (!cl->want_ticket || cl->got_ticket))
        lwq_conn_close(conn, 0, "done");
    else
        __atomic_store_n(&cl->close_deferred, 1, __ATOMIC_RELEASE);
}

static void request_done(client *cl, lwq_conn *conn, request *r, int ok, const char *why)
{
    if (r->done || r->failed)
        return;
    if (r->out && fclose(r->out) != 0 && ok) {
        ok = 0;
        why = strerror(errno);
    }
    r->out = NULL;
    if (ok) {
        r->done = 1;
        cl->completed++;
    } else {
        r->failed = 1;
        cl->failed++;
        snprintf(r->why, sizeof(r->why), "%s", why);
    }
    cl->open--;
    start_requests(cl, conn);
    close_when_ready(cl, conn);
}

static void close_now(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec, (void)arg;
    lwq_conn_close(conn, 0, "done");
}

/* With a session and --early-data: the requests go before the handshake, in 0-RTT. */
static void early_start(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec;
    start_requests(arg, conn);
}

static int report_paths; /* not -q */


static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    client *cl = ud;
    (void)ec;
    if (ev->type == LWQ_EV_PATH_CHANGED && report_paths) {
        char a[80];
        fprintf(stderr, "lwquic-client: migrated to %s (RFC 9000 §9)\n", cli_addr(&ev->path.remote, a, sizeof(a)));
    }
    static uint8_t buf[65536];
    switch (ev->type) {
    case LWQ_EV_HANDSHAKE_DONE:
        cl->handshake_done = 1;
        snprintf(cl->cipher, sizeof(cl->cipher), "%s", lwq_conn_cipher(conn) ? lwq_conn_cipher(conn) : "?");
        snprintf(cl->alpn, sizeof(cl->alpn), "%s", lwq_conn_alpn(conn) ? lwq_conn_alpn(conn) : "?");
        cl->resumed = lwq_conn_resumed(conn);
        start_requests(cl, conn);
        close_when_ready(cl, conn);
        break;
    case LWQ_EV_SESSION_TICKET:
    case LWQ_EV_NEW_TOKEN:
        if (cl->want_ticket && !cli_session_set(&cl->sess, ev->type == LWQ_EV_NEW_TOKEN, ev->data, ev->len) &&
            ev->type == LWQ_EV_SESSION_TICKET) {
            cl->got_ticket = 1;
            close_when_ready(cl, conn);
        }
        break;
    case LWQ_EV_EARLY_DATA:
        cl->early = ev->accepted;
        break;
    case LWQ_EV_STREAMS_AVAILABLE:
        if (ev->bidi)
            start_requests(cl, conn); /* RFC 9000 §4.6: MAX_STREAMS after a refused open */
        break;
    case LWQ_EV_STREAM_READABLE: {
        request *r = find_req(cl, ev->stream_id);
        if (!r)
            break;
        for (;;) {
            int fin = 0;
            ssize_t n = lwq_stream_read(conn, ev->stream_id, buf, sizeof(buf), &fin);
            if (n < 0)
                break;
            if (n > 0) {
                if (!r->out && !(r->out = fopen(r->file, "wb"))) {
                    lwq_stream_stop_sending(conn, ev->stream_id, 0);
                    request_done(cl, conn, r, 0, strerror(errno));
                    break;
                }
                if (fwrite(buf, 1, (size_t)n, r->out) != (size_t)n) {
                    lwq_stream_stop_sending(conn, ev->stream_id, 0);
                    request_done(cl, conn, r, 0, strerror(errno));
                    break;
                }
                r->bytes += (uint64_t)n;
                __atomic_add_fetch(&cl->bytes, (uint64_t)n, __ATOMIC_RELAXED);
            }
            if (fin) {
                if (!r->out)
                    r->out = fopen(r->file, "wb"); /* an empty file is still a file */
                request_done(cl, conn, r, r->out != NULL, strerror(errno));
                break;
            }
            if (n == 0)
                break;
        }
        break;
    }
    case LWQ_EV_STREAM_RESET: {
        request *r = find_req(cl, ev->stream_id);
        if (r) {
            char why[64];
            snprintf(why, sizeof(why), "server reset the stream (error 0x%llx)", (unsigned long long)ev->error_code);
            request_done(cl, conn, r, 0, why);
        }
        break;
    }
    case LWQ_EV_CLOSED:
        lwq_conn_stats_get(conn, &cl->stats);
        cl->close = ev->close;
        cl->closed = 1;
        finish(cl);
        break;
    default:
        break;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lwquic-client [--insecure | --cafile FILE] [--alpn h3|hq-interop] [-o DIR] [--keylog FILE]\n"
               "                     [--method METHOD] [--data FILE]\n"
               "                     [--qlog-dir DIR] [--cc cubic|newreno] [--timeout SEC] [--resolve HOST=ADDR:PORT]\n"
               "                     [--session-file FILE] [--early-data] [--resume] [--key-update]\n"
               "                     [--version v1|v2] [--offer-v2 | --v2] [-q] [-v|-vv] [--explain] [--qlog-format 0.3|main] [--record FILE] URL...\n"
               "Fetches every URL over one QUIC connection and saves each as DIR/<last path segment>.\n"
               "HTTP/3 by default (status per request on stderr, exit 1 unless every answer is 2xx); --data FILE\n"
               "sends FILE as the request body (POST unless --method). --alpn hq-interop: HTTP/0.9.\n"
               "--session-file resumes with the session (and address token) kept in FILE, if any, and keeps the\n"
               "newest ones there; --early-data (--0rtt) sends the requests in 0-RTT when resuming; --resume\n"
               "fetches the first URL, then the others on a second, resumed connection.\n"
               "A server's preferred address (RFC 9000 §9.6) is validated and used unless --no-preferred-address.\n"
               "--key-update starts a key update as soon as it is allowed; --version picks the first QUIC\n"
               "version, --offer-v2 (--v2) lets a v2-capable server switch a v1 connection to v2.\n"
               "--ciphers TLS_CHACHA20_POLY1305_SHA256 offers only that cipher suite.\n");
}

static void progress(client *cl, double start, int final)
{
    char b[32];
    uint64_t n = __atomic_load_n(&cl->bytes, __ATOMIC_RELAXED);
    double t = cli_now() - start;
    fprintf(stderr, "\r%s received, %zu/%zu done, %.1f Mbit/s   %s", cli_bytes(n, b, sizeof(b)),
            __atomic_load_n(&cl->completed, __ATOMIC_RELAXED), cl->n, t > 0 ? (double)n * 8 / t / 1e6 : 0.0,
            final ? "\n" : "");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"insecure", no_argument, NULL, 'k'}, {"cafile", required_argument, NULL, 'c'},
                                         {"alpn", required_argument, NULL, 'a'}, {"method", required_argument, NULL, 'X'},
                                         {"data", required_argument, NULL, 'd'}, {"keylog", required_argument, NULL, 'K'},
                                         {"qlog-dir", required_argument, NULL, 'Q'}, {"cc", required_argument, NULL, 'C'},
                                         {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
                                         {"resolve", required_argument, NULL, 'O'},
                                         {"session-file", required_argument, NULL, 'S'},
                                         {"early-data", no_argument, NULL, 'E'}, {"0rtt", no_argument, NULL, 'E'},
                                         {"resume", no_argument, NULL, 'U'},
                                         {"no-preferred-address", no_argument, NULL, 'N'}, {"key-update", no_argument, NULL, 'Y'},
                                         {"version", required_argument, NULL, 'W'},
                                         {"offer-v2", no_argument, NULL, 'Z'}, {"v2", no_argument, NULL, 'Z'},
                                         {"ciphers", required_argument, NULL, 'P'},
                                         {"explain", no_argument, NULL, 1001}, {"qlog-format", required_argument, NULL, 1002},
                                         {"record", required_argument, NULL, 1003},
                                         {NULL, 0, NULL, 0}};
    int key_update = 0, offer_v2 = 0, chacha20_only = 0;
    uint32_t version = LWQ_VERSION_1;
    const char *session_file = NULL;
    int early_data = 0, resume = 0, no_preferred = 0;
    const char *cafile = NULL, *alpn = "h3", *outdir = ".", *keylog = NULL, *qlogdir = NULL;
    int insecure = 0, quiet = 0, verbose = 0, c, explain = 0, qlog_format = LWQ_QLOG_03;
    const char *record = NULL;
    const char *method = NULL, *data_file = NULL; /* HTTP/3 only */
    double timeout = 10;
    int cc_set = 0;
    lwq_cc_algorithm cc = LWQ_CC_ALGO_CUBIC;
    const char *resolve[8];
    size_t nresolve = 0;
    while ((c = getopt_long(argc, argv, "o:qhv", opts, NULL)) != -1) {
        switch (c) {
        case 'k': insecure = 1; break;
        case 'c': cafile = optarg; break;
        case 'a': alpn = optarg; break;
        case 'X': method = optarg; break;
        case 'd': data_file = optarg; break;
        case 'o': outdir = optarg; break;
        case 'K': keylog = optarg; break;
        case 'Q': qlogdir = optarg; break;
        case 'C':
            if (cli_parse_cc(optarg, &cc)) {
                fprintf(stderr, "lwquic-client: --cc: unknown algorithm '%s' (cubic, newreno)\n", optarg);
                return 2;
            }
            cc_set = 1;
            break;
        case 't': timeout = atof(optarg); break;
        case 'O':
            if (nresolve == 8 || !strchr(optarg, '=')) {
                fprintf(stderr, "lwquic-client: --resolve HOST=ADDR:PORT (at most 8)\n");
                return 2;
            }
            resolve[nresolve++] = optarg;
            break;
        case 'q': quiet = 1; break;
        case 'S': session_file = optarg; break;
        case 'E': early_data = 1; break;
        case 'U': resume = 1; break;
        case 'N': no_preferred = 1; break;
        case 'Y': key_update = 1; break;
        case 'Z': offer_v2 = 1; break;
        case 'P':
            if (strcmp(optarg, "TLS_CHACHA20_POLY1305_SHA256") != 0) {
                fprintf(stderr, "lwquic-client: --ciphers: only TLS_CHACHA20_POLY1305_SHA256 can be chosen\n");
                return 2;
            }
            chacha20_only = 1;
            break;
        case 'W':
            if (!strcmp(optarg, "v1") || !strcmp(optarg, "1"))
                version = LWQ_VERSION_1;
            else if (!strcmp(optarg, "v2") || !strcmp(optarg, "2"))
                version = LWQ_VERSION_2;
            else {
                fprintf(stderr, "lwquic-client: --version: v1 or v2\n");
                return 2;
            }
            break;
        case 'v': verbose++; break;
        case 1001: explain = 1; break;
        case 1003: record = optarg; break;
        case 1002: qlog_format = strcmp(optarg, "main") ? LWQ_QLOG_03 : LWQ_QLOG_MAIN; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (resume)
        return cli_session_resume_main(argc, argv, optind, session_file);
    if (insecure && cafile) {
        fprintf(stderr, "lwquic-client: --insecure and --cafile exclude each other\n");
        return 2;
    }
    int h3 = strcmp(alpn, "h3") == 0;
    if (!h3 && strcmp(alpn, "hq-interop") != 0) {
        fprintf(stderr, "lwquic-client: --alpn %s: h3 or hq-interop\n", alpn);
        return 2;
    }
    if (!h3 && (method || data_file)) {
        fprintf(stderr, "lwquic-client: --method and --data need --alpn h3\n");
        return 2;
    }
    struct stat sb;
    if (stat(outdir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "lwquic-client: -o %s: not a directory\n", outdir);
        return 2;
    }
    client cl = {.n = (size_t)(argc - optind), .max_open = 100, .early = -1, .want_ticket = session_file != NULL};
    if (session_file && cli_session_load(session_file, &cl.sess)) {
        fprintf(stderr, "lwquic-client: --session-file %s: %s\n", session_file, strerror(errno));
        return 2;
    }
    if (cl.n > MAX_URLS) {
        fprintf(stderr, "lwquic-client: at most %d URLs\n", MAX_URLS);
        return 2;
    }
    size_t nreq = h3 ? 1 : cl.n; /* HTTP/3 keeps small records of its own (h3.c): only the first URL here */
    cl.reqs = calloc(nreq, sizeof(request));
    if (!cl.reqs)
        return 1;
    pthread_mutex_init(&cl.mu, NULL);
    pthread_cond_init(&cl.cv, NULL);
    char err[256];
    for (size_t i = 0; i < nreq; i++) {
        request *r = &cl.reqs[i];
        r->stream_id = -1;
        if (cli_parse_url(argv[optind + (int)i], &r->url, err, sizeof(err))) {
            fprintf(stderr, "lwquic-client: %s\n", err);
            return 2;
        }
        if (strcmp(r->url.authority, cl.reqs[0].url.authority) != 0) {
            fprintf(stderr, "lwquic-client: %s: all URLs must name the same server (one connection)\n",
                    argv[optind + (int)i]);
            return 2;
        }
        const char *base = strrchr(r->url.path, '/');
        base = base && base[1] ? base + 1 : "index.html";
        snprintf(r->file, sizeof(r->file), "%s/%s", outdir, base);
    }
    if (cli_keylog_open(keylog)) {
        fprintf(stderr, "lwquic-client: --keylog %s: %s\n", keylog, strerror(errno));
        return 2;
    }
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    cli_verbose(&cfg, verbose);
    cfg.qlog_format = qlog_format;
    if (explain)
        cli_explain(&cfg, stderr, isatty(2));
    if (record && cli_record(&cfg, record)) {
        fprintf(stderr, "lwquic-client: --record %s: %s\n", record, strerror(errno));
        return 1;
    }
    if (cli_qlog_dir(qlogdir, &cfg)) {
        fprintf(stderr, "lwquic-client: --qlog-dir %s: %s\n", qlogdir ? qlogdir : getenv("QLOGDIR"), strerror(errno));
        return 2;
    }
    const char *alpns[] = {alpn};
    cfg.alpn = alpns;
    cfg.alpn_count = 1;
    cfg.server_name = cl.reqs[0].url.host;
    cfg.ca_file = cafile;
    cfg.insecure = insecure;
    if (cc_set)
        cfg.cc = cc;
    cfg.handshake_timeout = (lwq_tstamp)(timeout * 1e9);
    cfg.enable_0rtt = early_data;
    cfg.no_preferred_address = no_preferred;
    cfg.chacha20_only = chacha20_only;
    report_paths = !quiet;
    static const uint32_t v2_offer[] = {LWQ_VERSION_2};
    cfg.version = version;
    if (offer_v2 && version != LWQ_VERSION_2) {
        cfg.other_versions = v2_offer; /* RFC 9368: the server may upgrade the connection to v2 */
        cfg.other_versions_count = 1;
    }
    /* --key-update: one update as soon as RFC 9001 §6.1 allows it, early in the transfer */
    cfg.key_update_first = key_update ? 1 : 0;
    cli_session start_sess = cl.sess; /* borrowed by the context and the connection until cli_stop */
    memset(&cl.sess, 0, sizeof(cl.sess));
    cfg.token = start_sess.token;
    cfg.token_len = start_sess.token_len;
    if (h3) {
        const char *tgt = cl.reqs[0].url.authority;
        size_t hlen = strlen(cl.reqs[0].url.host);
        for (size_t i = 0; i < nresolve; i++)
            if (!strncmp(resolve[i], cl.reqs[0].url.host, hlen) && resolve[i][hlen] == '=')
                tgt = resolve[i] + hlen + 1;
        const char *hm = method ? method : data_file ? "POST" : "GET";
        if (early_data && strcmp(hm, "GET") != 0 && strcmp(hm, "HEAD") != 0) {
            /* RFC 9114 §10.9, RFC 8470 §4: 0-RTT can be replayed; only safe methods go early */
            fprintf(stderr, "lwquic-client: --early-data: %s is not a safe method; sent after the handshake\n", hm);
            early_data = 0;
        }
        cli_session_result sr = {0, 0, -1, 0};
        h3cli_opts ho = {tgt,
                         argv + optind,
                         cl.n,
                         outdir,
                         quiet,
                         hm,
                         data_file,
                         cl.max_open,
                         start_sess.blob,
                         start_sess.blob_len,
                         early_data,
                         session_file ? &cl.sess : NULL,
                         &sr};
        int hrv = h3cli_run(&cfg, &ho);
        if (session_file)
            cli_session_finish(session_file, &cl.sess, &start_sess, quiet, &sr);
        cli_session_free(&start_sess);
        free(cl.reqs);
        return hrv;
    }
    lwq_endpoint_handler h = {on_event, &cl};
    cli_stack st;
    int rv = cli_start("lwquic-client", &cfg, 2, NULL, &h, &st);
    if (rv)
        return rv;
    double start = cli_now();
    lwq_endpoint_conn *ec;
    const char *target = cl.reqs[0].url.authority;
    size_t hl = strlen(cl.reqs[0].url.host);
    for (size_t i = 0; i < nresolve; i++)
        if (!strncmp(resolve[i], cl.reqs[0].url.host, hl) && resolve[i][hl] == '=')
            target = resolve[i] + hl + 1; /* the name stays the SNI; only the address changes */
    int early = early_data && start_sess.blob_len;
    rv = lwq_endpoint_connect_early(st.ep, target, start_sess.blob, start_sess.blob_len, NULL,
                                    early ? early_start : NULL, &cl, &ec);
    if (rv) {
        fprintf(stderr, "lwquic-client: %s: %s\n", cl.reqs[0].url.authority,
                rv == LWQ_ERR_NOT_FOUND ? "cannot resolve host" : lwq_strerror(rv));
        return 1;
    }
    int tty = isatty(2) && !quiet;
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
            progress(&cl, start, 0);
        /* 2 s without a ticket or HANDSHAKE_DONE: close anyway (wake-ups come early, so time it) */
        if (__atomic_load_n(&cl.close_deferred, __ATOMIC_ACQUIRE) && !deferred_at)
            deferred_at = cli_now();
        if (deferred_at > 0 && cli_now() - deferred_at >= 2.0) {
            (void)lwq_endpoint_post(ec, close_now, NULL);
            deferred_at = -1; /* once */
        }
    }
    pthread_mutex_unlock(&cl.mu);
    double elapsed = cli_now() - start;
    if (tty)
        progress(&cl, start, 1);
    lwq_endpoint_conn_release(ec);
    cli_stop(&st);
    if (session_file) {
        cli_session_result sr = {cl.handshake_done, cl.resumed, cl.early, cl.stats.packets_0rtt};
        cli_session_finish(session_file, &cl.sess, &start_sess, quiet, &sr);
    }
    cli_session_free(&cl.sess);
    cli_session_free(&start_sess);

    int failed = 0;
    for (size_t i = 0; i < cl.n; i++) {
        request *r = &cl.reqs[i];
        if (!r->done) {
            failed++;
            if (cl.handshake_done && (!quiet || failed <= 3))
                fprintf(stderr, "lwquic-client: %s: %s\n", r->url.path, r->failed ? r->why : "not completed");
        }
    }
    const lwq_close_info *ci = &cl.close;
    int clean = ci->code == 0 && !ci->idle_timeout && !ci->stateless_reset && (ci->is_app || !ci->by_peer);
    if (!cl.handshake_done || (failed && !clean)) {
        if (ci->idle_timeout)
            fprintf(stderr, "lwquic-client: %s: no answer (%s)\n", cl.reqs[0].url.authority, ci->reason);
        else if (ci->stateless_reset)
            fprintf(stderr, "lwquic-client: %s: the server reset the connection\n", cl.reqs[0].url.authority);
        else if (!ci->by_peer && ci->is_app)
            fprintf(stderr, "lwquic-client: %s: %s\n", cl.reqs[0].url.authority, ci->reason);
        else if (!ci->is_app && ci->code >= 0x100 && ci->code <= 0x1ff)
            fprintf(stderr, "lwquic-client: %s: TLS handshake failed (%s, alert %s): %s\n",
                    cl.reqs[0].url.authority, ci->by_peer ? "sent by the server" : "we sent",
                    cli_alert_name((int)(ci->code - 0x100)), ci->reason[0] ? ci->reason : "no reason given");
        else
            fprintf(stderr, "lwquic-client: %s: connection closed by %s: %s error 0x%llx (%s): %s\n",
                    cl.reqs[0].url.authority, ci->by_peer ? "the server" : "us", ci->is_app ? "application" : "transport",
                    (unsigned long long)ci->code, ci->is_app ? "application" : lwq_quic_error_name(ci->code),
                    ci->reason[0] ? ci->reason : "(no reason given)");
        return 1;
    }
    if (!quiet) {
        char b[32];
        printf("connected to %s in %.1f ms: %s, ALPN %s\n", cl.reqs[0].url.authority,
               (double)cl.stats.handshake_time / 1e6, cl.cipher, cl.alpn);
        printf("fetched %zu of %zu file(s): %s in %.3f s (%.1f Mbit/s), rtt %.2f ms, %llu packets lost\n",
               cl.completed, cl.n, cli_bytes(cl.bytes, b, sizeof(b)), elapsed,
               elapsed > 0 ? (double)cl.bytes * 8 / elapsed / 1e6 : 0.0, (double)cl.stats.smoothed_rtt / 1e6,
               (unsigned long long)cl.stats.packets_lost);
    }
    free(cl.reqs);
    return failed ? 1 : 0;
}
