/* lwquic-server: serves a directory over QUIC with HTTP/3 (h3.c) or HTTP/0.9 (ALPN hq-interop): "GET /path\r\n", then
 * the file and FIN. Never serves outside --root. One log line per request. SIGINT/SIGTERM drain HTTP/3
 * connections (GOAWAY, requests in flight finish, at most --drain-timeout), then close every connection
 * with CONNECTION_CLOSE before exiting; a second signal closes at once. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "lwquic/endpoint.h"
#include "lwquic/h3.h"
#include "common/cli.h"
#include "common/explain.h"
#include "lwquic-server/srv.h"

#define MAX_LISTEN 8
#define MAX_REQUESTS_PER_CONN 2000
#define REQUEST_LINE_MAX 2048
#define CHUNK 65536
#define HQ_ERR_NOT_FOUND 0x194      /* stream reset codes for hq-interop, which defines none: 404, */
#define HQ_ERR_BAD_REQUEST 0x190    /* 400 */
#define HQ_ERR_TOO_MANY 0x1ad       /* 429 */

typedef struct req {
    int64_t id;
    char line[REQUEST_LINE_MAX];
    size_t len;
    int fd;
    uint64_t off, size;
    int serving, done;
    double start;
    struct req *next;
} req;

typedef struct srvconn {
    req *reqs;
    size_t nreqs;
} srvconn;

static char root[PATH_MAX];
static size_t root_len;
static int quiet;

static void logf_req(lwq_endpoint_conn *ec, const req *r, int status, const char *note)
{
    if (quiet)
        return;
    char b[32];
    fprintf(stderr, "%s %.*s %d %s %.3fs%s%s\n", lwq_endpoint_conn_peer(ec), (int)strcspn(r->line, "\r\n"), r->line,
            status, cli_bytes(r->off, b, sizeof(b)), cli_now() - r->start, note ? " " : "", note ? note : "");
}

static req *find(srvconn *sc, int64_t id)
{
    for (req *r = sc->reqs; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void req_free(srvconn *sc, req *r)
{
    for (req **p = &sc->reqs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    if (r->fd >= 0)
        close(r->fd);
    sc->nreqs--;
    free(r);
}

static void fail_req(lwq_endpoint_conn *ec, lwq_conn *conn, srvconn *sc, req *r, uint64_t code, int status,
                     const char *note)
{
    logf_req(ec, r, status, note);
    lwq_stream_reset(conn, r->id, code);
    lwq_stream_stop_sending(conn, r->id, code);
    req_free(sc, r);
}

/* Writes file data until the stream buffer is full or the file is sent. */
static void pump(lwq_endpoint_conn *ec, lwq_conn *conn, srvconn *sc, req *r)
{
    static _Thread_local uint8_t buf[CHUNK];
    while (!r->done) {
        size_t want = r->size - r->off < CHUNK ? (size_t)(r->size - r->off) : CHUNK;
        ssize_t got = want ? pread(r->fd, buf, want, (off_t)r->off) : 0;
        if (got < 0 || (want && got == 0)) {
            fail_req(ec, conn, sc, r, HQ_ERR_NOT_FOUND, 500, strerror(errno ? errno : EIO));
            return;
        }
        int fin = r->off + (uint64_t)got == r->size;
        ssize_t n = lwq_stream_write(conn, r->id, buf, (size_t)got, fin);
        if (n < 0) {
            fail_req(ec, conn, sc, r, HQ_ERR_NOT_FOUND, 500, lwq_strerror((int)n));
            return;
        }
        r->off += (uint64_t)n;
        if (fin && n == got) {
            r->done = 1;
            logf_req(ec, r, 200, NULL);
            close(r->fd);
            r->fd = -1;
            return;
        }
        if (n < got)
            return; /* LWQ_EV_STREAM_WRITABLE resumes */
    }
}

static void start_req(lwq_endpoint_conn *ec, lwq_conn *conn, srvconn *sc, req *r)
{
    r->line[r->len] = 0;
    char *end = r->line + strcspn(r->line, "\r\n");
    *end = 0;
    if (strncmp(r->line, "GET /", 5) != 0 || strchr(r->line + 4, ' ')) {
        fail_req(ec, conn, sc, r, HQ_ERR_BAD_REQUEST, 400, "malformed request line");
        return;
    }
    char full[PATH_MAX * 2], real[PATH_MAX];
    const char *path = r->line + 4;
    snprintf(full, sizeof(full), "%s%s", root, path);
    struct stat st;
    /* realpath resolves "..", symlinks included: the result must stay under the root. */
    if (!realpath(full, real) || strncmp(real, root, root_len) != 0 || (real[root_len] != '/' && real[root_len]) ||
        stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail_req(ec, conn, sc, r, HQ_ERR_NOT_FOUND, 404, NULL);
        return;
    }
    r->fd = open(real, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        fail_req(ec, conn, sc, r, HQ_ERR_NOT_FOUND, 403, strerror(errno));
        return;
    }
    r->size = (uint64_t)st.st_size;
    r->serving = 1;
    pump(ec, conn, sc, r);
}


static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    (void)ud;
    if (ev->type == LWQ_EV_PATH_CHANGED && !quiet) {
        char a[80], b[80];
        fprintf(stderr, "lwquic-server: path changed: client %s, server %s (RFC 9000 §9)\n",
                cli_addr(&ev->path.remote, a, sizeof(a)), cli_addr(&ev->path.local, b, sizeof(b)));
    }
    const char *proto = lwq_conn_alpn(conn);
    if (proto && strcmp(proto, "h3") == 0) {
        srv_h3_event(ec, conn, ev);
        return;
    }
    srvconn *sc = lwq_endpoint_conn_data(ec);
    if (!sc && ev->type != LWQ_EV_CLOSED) {
        sc = calloc(1, sizeof(*sc));
        if (!sc) {
            lwq_conn_close(conn, 0x1, "out of memory");
            return;
        }
        lwq_endpoint_conn_set_data(ec, sc);
    }
    req *r;
    switch (ev->type) {
    case LWQ_EV_STREAM_OPENED:
    case LWQ_EV_STREAM_READABLE:
        r = find(sc, ev->stream_id);
        if (!r) {
            if (ev->stream_id & 2)
                break; /* unidirectional streams carry no requests in HTTP/0.9 */
            r = calloc(1, sizeof(*r));
            if (!r) {
                lwq_stream_reset(conn, ev->stream_id, HQ_ERR_TOO_MANY);
                break;
            }
            r->id = ev->stream_id;
            r->fd = -1;
            r->start = cli_now();
            r->next = sc->reqs;
            sc->reqs = r;
            if (++sc->nreqs > MAX_REQUESTS_PER_CONN) {
                fail_req(ec, conn, sc, r, HQ_ERR_TOO_MANY, 429, "too many requests on one connection");
                break;
            }
        }
        if (r->serving)
            break; /* extra bytes after the request line are ignored */
        for (;;) {
            int fin = 0;
            ssize_t n = lwq_stream_read(conn, r->id, (uint8_t *)r->line + r->len, sizeof(r->line) - 1 - r->len, &fin);
            if (n < 0)
                break;
            r->len += (size_t)n;
            if (memchr(r->line, '\n', r->len) || fin) {
                start_req(ec, conn, sc, r);
                break;
            }
            if (r->len == sizeof(r->line) - 1) {
                fail_req(ec, conn, sc, r, HQ_ERR_BAD_REQUEST, 400, "request line too long");
                break;
            }
            if (n == 0)
                break;
        }
        break;
    case LWQ_EV_STREAM_WRITABLE:
        if ((r = find(sc, ev->stream_id)) && r->serving)
            pump(ec, conn, sc, r);
        break;
    case LWQ_EV_STOP_SENDING:
        if ((r = find(sc, ev->stream_id))) {
            logf_req(ec, r, 499, "client stopped the transfer");
            lwq_stream_reset(conn, r->id, ev->error_code);
            req_free(sc, r);
        }
        break;
    case LWQ_EV_STREAM_RESET:
        if ((r = find(sc, ev->stream_id)) && !r->serving)
            req_free(sc, r);
        break;
    case LWQ_EV_STREAM_CLOSED:
        if ((r = find(sc, ev->stream_id)))
            req_free(sc, r);
        break;
    case LWQ_EV_CLOSED:
        if (sc) {
            while (sc->reqs)
                req_free(sc, sc->reqs);
            free(sc);
            lwq_endpoint_conn_set_data(ec, NULL);
        }
        break;
    default:
        break;
    }
}

/* "ADDR:PORT" or "[V6]:PORT", numeric, into cfg's preferred address of that family. */
static int parse_preferred(const char *s, lwq_config *cfg)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(host, s + 1, n - 2);
        host[n - 2] = 0;
    } else {
        memcpy(host, s, n);
        host[n] = 0;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        memcpy(&cfg->preferred_v4, &a4, sizeof(a4));
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        memcpy(&cfg->preferred_v6, &a6, sizeof(a6));
        return 0;
    }
    return -1;
}

/* Why an address cannot be served, and what to do. */
static void listen_error(const char *what, const char *addr, int rv)
{
    const char *colon = strrchr(addr, ':');
    const char *port = colon ? colon + 1 : addr;
    if (rv == LWQ_ERR_ADDR_IN_USE)
        fprintf(stderr, "lwquic-server: %s %s: UDP port %s is already in use by another process (only this server's "
                        "own sockets share a port); stop that process or choose another port\n", what, addr, port);
    else if (rv == LWQ_ERR_INVAL)
        fprintf(stderr, "lwquic-server: %s %s: expected HOST:PORT or [IPV6]:PORT with a port from 0 to 65535\n",
                what, addr);
    else if (rv == LWQ_ERR_NOT_FOUND)
        fprintf(stderr, "lwquic-server: %s %s: cannot resolve the host\n", what, addr);
    else
        fprintf(stderr, "lwquic-server: %s %s: %s\n", what, addr, rv == LWQ_ERR_IO ? strerror(errno) : lwq_strerror(rv));
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lwquic-server --cert FILE --key FILE [--listen HOST:PORT]... [--root DIR]\n"
               "                     [--alpn h3,hq-interop] [--keylog FILE] [--qlog-dir DIR] [--cc cubic|newreno]\n"
               "                     [--shards N] [--retry] [--early-data] [--accept-v2] [-q] [-v|-vv] [--explain]\n"
               "                     [--qlog-format 0.3|main]\n"
               "                     [--preferred-address ADDR:PORT [--preferred-listen HOST:PORT]] [--drain-timeout SEC]\n"
               "                     [--mem-budget MIB]\n"
               "                     [--quic-lb cr=N,sid=HEX,noncelen=N[,key=HEX]]\n"
               "Serves DIR over QUIC: HTTP/3 (h3) and HTTP/0.9 (hq-interop), chosen by ALPN in --alpn order.\n"
               "Default --listen [::]:4433, --root .\n"
               "--accept-v2 answers clients offering QUIC v2 in v2 (compatible version negotiation, RFC 9368)\n"
               "and accepts clients starting in v2; without it they stay in v1 / get Version Negotiation.\n"
               "--preferred-address advertises ADDR:PORT (one IPv4 and/or one IPv6) as the server's preferred\n"
               "address (RFC 9000 §9.6) and listens there too, or on --preferred-listen (behind a relay).\n"
               "SIGTERM/SIGINT: HTTP/3 connections get GOAWAY and finish their requests for up to --drain-timeout\n"
               "seconds (default 5), then every connection is closed; a second signal closes at once.\n"
               "--mem-budget bounds what all clients together may make the server hold (receive windows and\n"
               "POST /echo bodies), default 4096 MiB; past it new connections are refused and echoes get 503.\n"
               "--quic-lb issues QUIC-LB connection IDs (draft-ietf-quic-load-balancers) for a load balancer:\n"
               "config rotation bits cr, server ID sid in hex (shard s adds s to its last byte), nonce length,\n"
               "and a 16-byte key for encrypted CIDs; see docs/scale-out.md.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'}, {"root", required_argument, NULL, 'r'},
                                         {"cert", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
                                         {"alpn", required_argument, NULL, 'a'}, {"retry", no_argument, NULL, 'R'},
                                         {"keylog", required_argument, NULL, 'K'}, {"qlog-dir", required_argument, NULL, 'Q'},
                                         {"cc", required_argument, NULL, 'C'}, {"shards", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'}, {"early-data", no_argument, NULL, 'E'},
                                         {"0rtt", no_argument, NULL, 'E'}, {"accept-v2", no_argument, NULL, 'V'},
                                         {"preferred-address", required_argument, NULL, 'P'},
                                         {"preferred-listen", required_argument, NULL, 'L'},
                                         {"drain-timeout", required_argument, NULL, 'D'},
                                         {"mem-budget", required_argument, NULL, 'M'},
                                         {"quic-lb", required_argument, NULL, 'B'},
                                         {"explain", no_argument, NULL, 1001}, {"qlog-format", required_argument, NULL, 1002},
                                         {NULL, 0, NULL, 0}};
    double drain_timeout = 5;
    unsigned long mem_budget_mib = 4096;
    const char *quic_lb = NULL;
    const char *pref[2] = {NULL, NULL}, *pref_listen[2] = {NULL, NULL};
    size_t npref = 0, npref_listen = 0;
    int accept_v2 = 0; /* off by default: the interop runner expects v1 everywhere but its v2 case */
    int early_data = 0; /* tickets allow 0-RTT; replays refused as docs/resumption.md says */
    const char *listen[MAX_LISTEN], *rootdir = ".", *cert = NULL, *key = NULL, *alpn = "h3,hq-interop", *keylog = NULL,
               *qlogdir = NULL;
    size_t nlisten = 0;
    unsigned shards = 0;
    int c, cc_set = 0, verbose = 0, explain = 0, qlog_format = LWQ_QLOG_03;
    lwq_cc_algorithm cc = LWQ_CC_ALGO_CUBIC;
    lwq_server_limits lim;
    memset(&lim, 0, sizeof(lim));
    while ((c = getopt_long(argc, argv, "qhv", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (nlisten == MAX_LISTEN) {
                fprintf(stderr, "lwquic-server: at most %d --listen addresses\n", MAX_LISTEN);
                return 2;
            }
            listen[nlisten++] = optarg;
            break;
        case 'r': rootdir = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'a': alpn = optarg; break;
        case 'K': keylog = optarg; break;
        case 'R': lim.retry = 1; break;
        case 'E': early_data = 1; break;
        case 'V': accept_v2 = 1; break;
        case 'P':
        case 'L':
            if ((c == 'P' ? npref : npref_listen) == 2) {
                fprintf(stderr, "lwquic-server: at most one IPv4 and one IPv6 preferred address\n");
                return 2;
            }
            if (c == 'P')
                pref[npref++] = optarg;
            else
                pref_listen[npref_listen++] = optarg;
            break;
        case 'Q': qlogdir = optarg; break;
        case 'D':
            if (cli_parse_num("lwquic-server", "--drain-timeout", optarg, 0, 3600, 0, &drain_timeout))
                return 2;
            break;
        case 'M': {
            char *end;
            mem_budget_mib = strtoul(optarg, &end, 10);
            if (*end || !mem_budget_mib || mem_budget_mib > (1ul << 30)) {
                fprintf(stderr, "lwquic-server: --mem-budget %s: a whole number of MiB, at least 1\n", optarg);
                return 2;
            }
            break;
        }
        case 'B': quic_lb = optarg; break;
        case 'C':
            if (cli_parse_cc(optarg, &cc)) {
                fprintf(stderr, "lwquic-server: --cc: unknown algorithm '%s' (cubic, newreno)\n", optarg);
                return 2;
            }
            cc_set = 1;
            break;
        case 's': {
            double v;
            if (cli_parse_num("lwquic-server", "--shards", optarg, 0, 255, 1, &v))
                return 2;
            shards = (unsigned)v;
            break;
        }
        case 'q': quiet = 1; break;
        case 'v': verbose++; break;
        case 1001: explain = 1; break;
        case 1002: qlog_format = strcmp(optarg, "main") ? LWQ_QLOG_03 : LWQ_QLOG_MAIN; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !cert || !key) {
        if (!cert || !key)
            fprintf(stderr, "lwquic-server: --cert and --key are required\n");
        usage(stderr);
        return 2;
    }
    char alpnbuf[64];
    const char *alpns[2];
    size_t nalpn = 0;
    snprintf(alpnbuf, sizeof(alpnbuf), "%s", alpn);
    for (char *save = NULL, *t = strtok_r(alpnbuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if ((strcmp(t, "h3") != 0 && strcmp(t, "hq-interop") != 0) || nalpn == 2) {
            fprintf(stderr, "lwquic-server: --alpn %s: a list of h3 and hq-interop\n", alpn);
            return 2;
        }
        alpns[nalpn++] = t;
    }
    if (!nalpn) {
        fprintf(stderr, "lwquic-server: --alpn: empty\n");
        return 2;
    }
    if (!realpath(rootdir, root)) {
        fprintf(stderr, "lwquic-server: --root %s: %s\n", rootdir, strerror(errno));
        return 2;
    }
    root_len = strlen(root);
    if (root_len == 1)
        root_len = 0; /* "/" : every absolute path is under it */
    memcpy(srv_root, root, sizeof(srv_root));
    srv_root_len = root_len;
    srv_quiet = quiet;
    if (!nlisten)
        listen[nlisten++] = "[::]:4433";
    if (cli_keylog_open(keylog)) {
        fprintf(stderr, "lwquic-server: --keylog %s: %s\n", keylog, strerror(errno));
        return 2;
    }
    /* Signals go to sigwait in main; every thread started below inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    lwq_config cfg;
    lwq_config_init(&cfg, 1);
    cli_verbose(&cfg, verbose);
    cfg.qlog_format = qlog_format;
    if (explain)
        cli_explain(&cfg, stderr, isatty(2));
    if (cli_qlog_dir(qlogdir, &cfg)) {
        fprintf(stderr, "lwquic-server: --qlog-dir %s: %s\n", qlogdir ? qlogdir : getenv("QLOGDIR"), strerror(errno));
        return 2;
    }
    cfg.alpn = alpns;
    cfg.alpn_count = nalpn;
    cfg.cert_file = cert;
    cfg.key_file = key;
    cfg.enable_0rtt = early_data;
    /* the HTTP/3 settings of every connection (h3.c uses the defaults): 0-RTT depends on them */
    lwq_h3_config h3defaults;
    lwq_h3_config_init(&h3defaults);
    static uint8_t h3context[64];
    ssize_t h3n = lwq_h3_early_context(&h3defaults, h3context, sizeof(h3context));
    if (h3n > 0) {
        cfg.early_context = h3context;
        cfg.early_context_len = (size_t)h3n;
    }
    cfg.accept_v2 = accept_v2; /* RFC 9368: upgrade clients that offer QUIC v2 */
    if (lwq_budget_new(&srv_budget, (uint64_t)mem_budget_mib << 20)) {
        fprintf(stderr, "lwquic-server: out of memory\n");
        return 1;
    }
    cfg.mem_budget = srv_budget;
    if (cc_set)
        cfg.cc = cc;
    if (quic_lb && lwq_quic_lb_parse(&cfg.quic_lb, quic_lb)) {
        fprintf(stderr, "lwquic-server: --quic-lb %s: cr=0..6,sid=HEX (1..15 bytes),noncelen=4..18 (sid + nonce "
                        "at most 19 bytes)[,key=32 hex digits]\n", quic_lb);
        return 2;
    }
    for (size_t i = 0; i < npref; i++)
        if (parse_preferred(pref[i], &cfg)) {
            fprintf(stderr, "lwquic-server: --preferred-address %s: a numeric ADDR:PORT ([V6]:PORT)\n", pref[i]);
            return 2;
        }
    lwq_endpoint_handler h = {on_event, NULL};
    cli_stack st;
    int rv = cli_start("lwquic-server", &cfg, 0, &lim, &h, &st);
    if (rv)
        return rv;
    for (size_t i = 0; i < nlisten; i++) {
        uint16_t port;
        if ((rv = lwq_endpoint_listen(st.ep, listen[i], shards, &port)) != 0) {
            listen_error("--listen", listen[i], rv);
            cli_stop(&st);
            return rv == LWQ_ERR_INVAL ? 2 : 1;
        }
        if (!quiet)
            fprintf(stderr, "lwquic-server: serving %s on %s (UDP port %u)\n", root, listen[i], port);
    }
    for (size_t i = 0; i < (npref_listen ? npref_listen : npref); i++) {
        const char *where = npref_listen ? pref_listen[i] : pref[i];
        uint16_t port;
        if ((rv = lwq_endpoint_listen_extra(st.ep, where, &port)) != 0) {
            listen_error("preferred address", where, rv);
            cli_stop(&st);
            return 1;
        }
        if (!quiet)
            fprintf(stderr, "lwquic-server: preferred address %s (UDP port %u)\n", where, port);
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    if (srv_h3_open() && drain_timeout > 0) {
        /* RFC 9114 §5.2: GOAWAY, in-flight requests finish, each connection closes when idle */
        srv_h3_drain();
        double end = cli_now() + drain_timeout;
        struct timespec tick = {0, 20 * 1000 * 1000};
        while (srv_h3_open() && cli_now() < end && sigtimedwait(&sigs, NULL, &tick) < 0)
            srv_h3_drain_tick();
        size_t left = srv_h3_open();
        if (left && !quiet)
            fprintf(stderr, "lwquic-server: %zu HTTP/3 connection(s) not drained, closing\n", left);
        srv_h3_close_all();
    }
    size_t open = lwq_endpoint_conn_count(st.ep);
    size_t left = lwq_endpoint_shutdown(st.ep, 0, "server shutting down", 3 * LWQ_SEC);
    if (!quiet)
        fprintf(stderr, "lwquic-server: %s: closed %zu connection(s)%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                open - left, left ? ", others timed out" : "");
    cli_stop(&st);
    return 0;
}
