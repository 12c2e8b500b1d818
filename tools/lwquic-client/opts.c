/* lwquic-client's command line: curl's option names and meanings where curl has them, QUIC options
 * under names of their own. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/cli.h"
#include "lwquic-client/client.h"

void cl_err(const cl_opts *o, const char *fmt, ...)
{
    if (o->silent && !o->show_error)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("lwquic-client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cl_info(const cl_opts *o, const char *fmt, ...)
{
    if (!o->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("* ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lwquic-client [options] URL...\n"
               "Fetches every URL (https://) over one QUIC connection, HTTP/3 by default; bodies go to stdout.\n"
               "  -o, --output FILE        write the body of the next URL to FILE\n"
               "  -O, --remote-name        save the next URL as its last path segment (index.html for \"/\")\n"
               "      --remote-name-all    -O for every URL\n"
               "      --output-dir DIR     where -O files go (default: the current directory)\n"
               "  -k, --insecure           do not verify the server certificate\n"
               "      --cacert FILE        trust the CAs in FILE (PEM) instead of the system bundle\n"
               "  -H, --header 'N: V'      add a request header (repeatable)\n"
               "  -i, --include            write the response headers before the body\n"
               "  -I, --head               HEAD: the response headers only\n"
               "  -X, --request METHOD     request method (default GET, POST with -d)\n"
               "  -d, --data DATA|@FILE    request body, as is (also --data-binary; @- reads stdin)\n"
               "  -f, --fail               exit 22 on an HTTP status of 400 or more, without writing the body\n"
               "  -s, --silent             no progress and no error messages;  -S, --show-error: errors even with -s\n"
               "  -v, --verbose            connection and request details on stderr (-vv: the library's trace,\n"
               "                           -vvv: every packet)\n"
               "      --connect-timeout S  give up when the handshake takes longer (default 10)\n"
               "  -m, --max-time S         give up when the whole run takes longer (default: no limit)\n"
               "  -w, --write-out FORMAT   after each transfer: %%{http_code} %%{size_download} %%{time_total}\n"
               "                           %%{url} %%{content_type} %%{http_version}\n"
               "      --resolve HOST=ADDR:PORT  connect to ADDR:PORT for HOST (the name stays the SNI)\n"
               "  -V, --version            print the version and exit\n"
               "QUIC and TLS:\n"
               "      --alpn h3|hq-interop        HTTP/3 (default) or HTTP/0.9 (hq-interop)\n"
               "      --quic-version v1|v2        the first QUIC version;  --offer-v2 (--v2): let a v2 server\n"
               "                                  switch a v1 connection to v2 (RFC 9368)\n"
               "      --session-file FILE         resume with the session kept in FILE and keep the newest there\n"
               "      --early-data (--0rtt)       with a session: send GET/HEAD requests in 0-RTT\n"
               "      --resume                    the first URL, then the others on a resumed connection\n"
               "      --no-preferred-address      stay on the address connected to (RFC 9000 §9.6)\n"
               "      --key-update                start a key update as soon as it is allowed\n"
               "      --ciphers TLS_CHACHA20_POLY1305_SHA256  offer only that cipher suite\n"
               "      --cc cubic|newreno          congestion control\n"
               "      --keylog FILE               TLS secrets in NSS key log format (default $SSLKEYLOGFILE)\n"
               "      --qlog-dir DIR              one qlog file per connection (default $QLOGDIR)\n"
               "      --qlog-format 0.3|main      qlog for qvis (0.3, default) or the current main schema\n"
               "      --explain                   narrate the connection on stderr, with RFC references\n"
               "      --record FILE               save datagrams and keys of the run (for the walkthrough)\n"
               "Exit codes (curl's): 0 ok, 1 unsupported protocol, 2 bad option, 3 bad URL, 6 cannot resolve,\n"
               "7 cannot connect, 22 HTTP error with --fail, 23 write error, 26 read error, 28 timeout,\n"
               "35 TLS handshake failed, 56 transfer failed, 60 certificate not verified.\n");
}

/* -d/--data-binary: "@FILE" streams the file, "@-" reads stdin, anything else is the body itself. */
static int load_data(cl_opts *o, const char *arg)
{
    if (arg[0] != '@') {
        o->data_buf = (uint8_t *)strdup(arg);
        o->data_len = strlen(arg);
        return o->data_buf ? 0 : -1;
    }
    if (strcmp(arg, "@-") == 0) {
        size_t cap = 0;
        for (;;) {
            if (o->data_len == cap) {
                uint8_t *nb = realloc(o->data_buf, cap ? cap * 2 : 65536);
                if (!nb)
                    return -1;
                o->data_buf = nb;
                cap = cap ? cap * 2 : 65536;
            }
            ssize_t n = read(0, o->data_buf + o->data_len, cap - o->data_len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            o->data_len += (size_t)n;
        }
        if (!o->data_buf)
            o->data_buf = (uint8_t *)strdup("");
        return 0;
    }
    o->data_fd = open(arg + 1, O_RDONLY | O_CLOEXEC);
    off_t end = o->data_fd >= 0 ? lseek(o->data_fd, 0, SEEK_END) : -1;
    if (end < 0)
        return -1;
    o->data_size = (uint64_t)end;
    return 0;
}

int cl_parse(int argc, char **argv, cl_opts *o, int *urls_from)
{
    enum { OPT_CACERT = 256, OPT_DIR, OPT_ALL, OPT_CT, OPT_ALPN, OPT_KEYLOG, OPT_QLOG, OPT_CC, OPT_RESOLVE,
           OPT_SESSION, OPT_EARLY, OPT_RESUME, OPT_NOPREF, OPT_KEYUPD, OPT_QVER, OPT_V2, OPT_CIPHERS, OPT_EXPLAIN,
           OPT_QLOGFMT, OPT_RECORD };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"remote-name", no_argument, NULL, 'O'},
        {"remote-name-all", no_argument, NULL, OPT_ALL}, {"output-dir", required_argument, NULL, OPT_DIR},
        {"insecure", no_argument, NULL, 'k'}, {"cacert", required_argument, NULL, OPT_CACERT},
        {"header", required_argument, NULL, 'H'}, {"include", no_argument, NULL, 'i'},
        {"head", no_argument, NULL, 'I'}, {"request", required_argument, NULL, 'X'},
        {"data", required_argument, NULL, 'd'}, {"data-binary", required_argument, NULL, 'd'},
        {"fail", no_argument, NULL, 'f'}, {"silent", no_argument, NULL, 's'},
        {"show-error", no_argument, NULL, 'S'}, {"verbose", no_argument, NULL, 'v'},
        {"connect-timeout", required_argument, NULL, OPT_CT}, {"max-time", required_argument, NULL, 'm'},
        {"write-out", required_argument, NULL, 'w'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'}, {"alpn", required_argument, NULL, OPT_ALPN},
        {"keylog", required_argument, NULL, OPT_KEYLOG}, {"qlog-dir", required_argument, NULL, OPT_QLOG},
        {"explain", no_argument, NULL, OPT_EXPLAIN}, {"qlog-format", required_argument, NULL, OPT_QLOGFMT},
        {"record", required_argument, NULL, OPT_RECORD},
        {"cc", required_argument, NULL, OPT_CC}, {"resolve", required_argument, NULL, OPT_RESOLVE},
        {"session-file", required_argument, NULL, OPT_SESSION}, {"early-data", no_argument, NULL, OPT_EARLY},
        {"0rtt", no_argument, NULL, OPT_EARLY}, {"resume", no_argument, NULL, OPT_RESUME},
        {"no-preferred-address", no_argument, NULL, OPT_NOPREF}, {"key-update", no_argument, NULL, OPT_KEYUPD},
        {"quic-version", required_argument, NULL, OPT_QVER}, {"offer-v2", no_argument, NULL, OPT_V2},
        {"v2", no_argument, NULL, OPT_V2}, {"ciphers", required_argument, NULL, OPT_CIPHERS},
        {NULL, 0, NULL, 0}};
    static const char *outs[1024];
    size_t nouts = 0;
    int all = 0, c;
    memset(o, 0, sizeof(*o));
    o->alpn = "h3";
    o->data_fd = -1;
    o->connect_timeout = 10;
    o->quic_version = LWQ_VERSION_1;
    o->cc = LWQ_CC_ALGO_CUBIC;
    while ((c = getopt_long(argc, argv, "o:OkH:iIX:d:fsSvm:w:Vh", opts, NULL)) != -1) {
        double v;
        switch (c) {
        case 'o':
        case 'O':
            if (nouts == sizeof(outs) / sizeof(outs[0])) {
                cl_err(o, "at most %zu -o/-O options", nouts);
                return CL_EXIT_USAGE;
            }
            outs[nouts++] = c == 'o' ? optarg : "";
            break;
        case OPT_ALL: all = 1; break;
        case OPT_DIR: o->output_dir = optarg; break;
        case 'k': o->insecure = 1; break;
        case OPT_CACERT: o->cacert = optarg; break;
        case 'H':
            if (o->nheaders == CL_MAX_HEADERS || !strchr(optarg, ':') || optarg[0] == ':' || optarg[0] == ' ') {
                cl_err(o, "-H %s: a header is \"Name: value\" (at most %d)", optarg, CL_MAX_HEADERS);
                return CL_EXIT_USAGE;
            }
            o->headers[o->nheaders++] = optarg;
            break;
        case 'i': o->include = 1; break;
        case 'I': o->head = o->include = 1; break;
        case 'X': o->method = optarg; break;
        case 'd':
            if (o->data_buf || o->data_fd >= 0) {
                cl_err(o, "-d: one request body only");
                return CL_EXIT_USAGE;
            }
            if (load_data(o, optarg)) {
                cl_err(o, "-d %s: %s", optarg, strerror(errno));
                return CL_EXIT_READ;
            }
            break;
        case 'f': o->fail = 1; break;
        case 's': o->silent = 1; break;
        case 'S': o->show_error = 1; break;
        case 'v': o->verbose++; break;
        case OPT_CT:
            if (cli_parse_num("lwquic-client", "--connect-timeout", optarg, 0.001, 86400, 0, &o->connect_timeout))
                return CL_EXIT_USAGE;
            break;
        case 'm':
            if (cli_parse_num("lwquic-client", "--max-time", optarg, 0.001, 31536000, 0, &o->max_time))
                return CL_EXIT_USAGE;
            break;
        case 'w': o->write_out = optarg; break;
        case 'V':
            printf("lwquic-client %s (liblwquic %s)\nProtocols: h3 hq-interop\nQUIC versions: v1 v2\n",
                   LWQ_LIB_VERSION_STR, lwq_version_string());
            return CL_EXIT_OK;
        case 'h': usage(stdout); return CL_EXIT_OK;
        case OPT_ALPN:
            if (strcmp(optarg, "h3") != 0 && strcmp(optarg, "hq-interop") != 0) {
                cl_err(o, "--alpn %s: h3 or hq-interop", optarg);
                return CL_EXIT_USAGE;
            }
            o->alpn = optarg;
            break;
        case OPT_KEYLOG: o->keylog = optarg; break;
        case OPT_QLOG: o->qlogdir = optarg; break;
        case OPT_EXPLAIN: o->explain = 1; break;
        case OPT_RECORD: o->record = optarg; break;
        case OPT_QLOGFMT:
            if (strcmp(optarg, "0.3") && strcmp(optarg, "main")) {
                cl_err(o, "--qlog-format %s: 0.3 (what qvis loads) or main (the current draft's schema)", optarg);
                return CL_EXIT_USAGE;
            }
            o->qlog_format = strcmp(optarg, "main") ? LWQ_QLOG_03 : LWQ_QLOG_MAIN;
            break;
        case OPT_CC:
            if (cli_parse_cc(optarg, &o->cc)) {
                cl_err(o, "--cc %s: cubic or newreno", optarg);
                return CL_EXIT_USAGE;
            }
            o->cc_set = 1;
            break;
        case OPT_RESOLVE: {
            const char *eq = strchr(optarg, '='), *colon = eq ? strrchr(eq, ':') : NULL;
            if (o->nresolve == CL_MAX_RESOLVE || !eq || eq == optarg || !colon ||
                cli_parse_num("lwquic-client", "--resolve port", colon + 1, 1, 65535, 1, &v)) {
                cl_err(o, "--resolve %s: HOST=ADDR:PORT (at most %d)", optarg, CL_MAX_RESOLVE);
                return CL_EXIT_USAGE;
            }
            o->resolve[o->nresolve++] = optarg;
            break;
        }
        case OPT_SESSION: o->session_file = optarg; break;
        case OPT_EARLY: o->early_data = 1; break;
        case OPT_RESUME: o->resume = 1; break;
        case OPT_NOPREF: o->no_preferred = 1; break;
        case OPT_KEYUPD: o->key_update = 1; break;
        case OPT_V2: o->offer_v2 = 1; break;
        case OPT_CIPHERS:
            if (strcmp(optarg, "TLS_CHACHA20_POLY1305_SHA256") != 0) {
                cl_err(o, "--ciphers %s: only TLS_CHACHA20_POLY1305_SHA256 can be chosen", optarg);
                return CL_EXIT_USAGE;
            }
            o->chacha20_only = 1;
            break;
        case OPT_QVER:
            if (!strcmp(optarg, "v1") || !strcmp(optarg, "1"))
                o->quic_version = LWQ_VERSION_1;
            else if (!strcmp(optarg, "v2") || !strcmp(optarg, "2"))
                o->quic_version = LWQ_VERSION_2;
            else {
                cl_err(o, "--quic-version %s: v1 or v2", optarg);
                return CL_EXIT_USAGE;
            }
            break;
        default: usage(stderr); return CL_EXIT_USAGE;
        }
    }
    *urls_from = optind;
    if (optind >= argc) {
        cl_err(o, "no URL given (--help lists the options)");
        return CL_EXIT_USAGE;
    }
    o->urls = argv + optind;
    o->n = (size_t)(argc - optind);
    if (nouts > o->n) {
        cl_err(o, "%zu -o/-O options for %zu URL(s)", nouts, o->n);
        return CL_EXIT_USAGE;
    }
    o->out = calloc(o->n, sizeof(*o->out));
    if (!o->out)
        return 1;
    for (size_t i = 0; i < o->n; i++)
        o->out[i] = i < nouts ? outs[i] : all ? "" : NULL;
    if (o->insecure && o->cacert) {
        cl_err(o, "-k (--insecure) and --cacert exclude each other");
        return CL_EXIT_USAGE;
    }
    int h3 = strcmp(o->alpn, "h3") == 0;
    if (!h3 && (o->method || o->data_buf || o->data_fd >= 0 || o->nheaders || o->include)) {
        cl_err(o, "-X, -d, -H, -i and -I need HTTP/3 (--alpn h3): HTTP/0.9 has no methods or headers");
        return CL_EXIT_USAGE;
    }
    if (o->head && (o->data_buf || o->data_fd >= 0)) {
        cl_err(o, "-I (HEAD) and -d exclude each other");
        return CL_EXIT_USAGE;
    }
    return -1;
}
