#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "common/cli.h"

int cli_parse_url(const char *url, cli_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *p = url;
    if (strncmp(p, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: only https:// URLs are supported", url);
        return -1;
    }
    p += 8;
    const char *host_end, *port_start = NULL;
    const char *host = p;
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(p, ']');
        if (!host_end) {
            snprintf(err, errlen, "%s: unterminated IPv6 address", url);
            return -1;
        }
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        p = host_end;
    }
    if (*p == ':') {
        port_start = p + 1;
        p = port_start + strspn(port_start, "0123456789");
    }
    if (*p && *p != '/') {
        snprintf(err, errlen, "%s: malformed authority", url);
        return -1;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof(out->host)) {
        snprintf(err, errlen, "%s: missing or overlong host", url);
        return -1;
    }
    memcpy(out->host, host, hl);
    size_t pl = port_start ? (size_t)(p - port_start) : 0;
    if (port_start && (pl == 0 || pl > 5 || atoi(port_start) > 65535 || atoi(port_start) == 0)) {
        snprintf(err, errlen, "%s: bad port", url);
        return -1;
    }
    if (pl)
        memcpy(out->port, port_start, pl);
    else
        strcpy(out->port, "443");
    if (strlen(p) >= sizeof(out->path)) {
        snprintf(err, errlen, "%s: path too long", url);
        return -1;
    }
    strcpy(out->path, *p ? p : "/");
    for (const char *c = out->path; *c; c++) {
        if ((unsigned char)*c < 0x21 || *c == 0x7f) {
            snprintf(err, errlen, "%s: spaces and control characters must be percent-encoded", url);
            return -1;
        }
    }
    snprintf(out->authority, sizeof(out->authority), strchr(out->host, ':') ? "[%s]:%s" : "%s:%s", out->host,
             out->port);
    return 0;
}

static FILE *keylog_file;
static pthread_mutex_t keylog_mu = PTHREAD_MUTEX_INITIALIZER;

int cli_keylog_open(const char *path)
{
    if (!path)
        path = getenv("SSLKEYLOGFILE");
    if (!path || !*path)
        return 0;
    keylog_file = fopen(path, "a");
    return keylog_file ? 0 : -1;
}

int cli_keylog_enabled(void) { return keylog_file != NULL; }

void cli_keylog_line(void *ud, const char *line)
{
    (void)ud;
    pthread_mutex_lock(&keylog_mu);
    if (keylog_file) {
        fprintf(keylog_file, "%s\n", line);
        fflush(keylog_file);
    }
    pthread_mutex_unlock(&keylog_mu);
}

int cli_parse_cc(const char *name, lwq_cc_algorithm *out)
{
    if (!strcmp(name, "cubic"))
        *out = LWQ_CC_ALGO_CUBIC;
    else if (!strcmp(name, "newreno"))
        *out = LWQ_CC_ALGO_NEWRENO;
    else
        return -1;
    return 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *cli_bytes(uint64_t n, char *buf, size_t len)
{
    if (n >= 10ull * 1000 * 1000)
        snprintf(buf, len, "%.1f MB", (double)n / 1e6);
    else if (n >= 10ull * 1000)
        snprintf(buf, len, "%.1f kB", (double)n / 1e3);
    else
        snprintf(buf, len, "%llu bytes", (unsigned long long)n);
    return buf;
}

const char *cli_alert_name(int alert)
{
    switch (alert) {
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 80: return "internal_error";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    }
    return "unknown";
}

int cli_parse_num(const char *prog, const char *opt, const char *s, double min, double max, int integer, double *out)
{
    char *end;
    errno = 0;
    double v = integer ? (double)strtoll(s, &end, 10) : strtod(s, &end);
    if (!*s || *end || errno || v != v || v < min || v > max) {
        fprintf(stderr, "%s: %s %s: %s from %g to %g\n", prog, opt, s, integer ? "an integer" : "a number", min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_start(const char *prog, lwq_config *cfg, unsigned workers, const lwq_server_limits *limits,
              const lwq_endpoint_handler *h, cli_stack *st)
{
    memset(st, 0, sizeof(*st));
    if (cli_keylog_enabled())
        cfg->keylog = cli_keylog_line;
    const char *why = NULL;
    int rv = lwq_context_new(&st->ctx, cfg, &why);
    if (rv) {
        /* name the files: "cannot load the private key (key_file)" -> "... (key_file) server.key" */
        const char *cert = cfg->cert_file ? cfg->cert_file : "", *key = cfg->key_file ? cfg->key_file : "";
        const char *ca = cfg->ca_file ? cfg->ca_file : "the system bundle";
        int c = why && strstr(why, "cert_file") != NULL, k = why && strstr(why, "key_file") != NULL,
            a = why && strstr(why, "ca_file") != NULL;
        fprintf(stderr, "%s: %s%s%s%s%s%s%s (%s)\n", prog, why ? why : "bad configuration", c || k || a ? ": " : "",
                c ? cert : "", c && k ? " and " : "", k ? key : "", a ? ca : "", "",
                rv == LWQ_ERR_IO ? strerror(errno) : lwq_strerror(rv));
        return 2;
    }
    if ((rv = lwq_loop_new(&st->loop, workers, NULL)) != 0 ||
        (rv = lwq_endpoint_new(&st->ep, st->loop, st->ctx, h, limits)) != 0) {
        fprintf(stderr, "%s: cannot start the event loop: %s\n", prog, lwq_strerror(rv));
        cli_stop(st);
        return 1;
    }
    return 0;
}

void cli_stop(cli_stack *st)
{
    lwq_endpoint_del(st->ep);
    lwq_loop_del(st->loop);
    lwq_context_del(st->ctx);
    memset(st, 0, sizeof(*st));
}

static char qlog_dir[1024];

static void *qlog_open(void *ud, int is_server, const uint8_t *odcid, size_t len)
{
    (void)ud;
    char name[1200], *p = name;
    p += snprintf(name, sizeof(name), "%s/", qlog_dir);
    for (size_t i = 0; i < len && i < 20; i++)
        p += sprintf(p, "%02x", odcid[i]);
    snprintf(p, sizeof(name) - (size_t)(p - name), "_%s.sqlog", is_server ? "server" : "client");
    FILE *f = fopen(name, "w");
    if (!f)
        fprintf(stderr, "qlog: cannot write %s: %s\n", name, strerror(errno));
    return f;
}

static void qlog_write(void *h, const char *rec, size_t len) { fwrite(rec, 1, len, (FILE *)h); }
static void qlog_close(void *h) { fclose((FILE *)h); }

int cli_qlog_dir(const char *dir, lwq_config *cfg)
{
    if (!dir)
        dir = getenv("QLOGDIR");
    if (!dir || !*dir)
        return 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(qlog_dir, sizeof(qlog_dir), "%s", dir);
    cfg->qlog_open = qlog_open;
    cfg->qlog_write = qlog_write;
    cfg->qlog_close = qlog_close;
    return 0;
}

static void log_line(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    fprintf(stderr, "%.6f %s\n", cli_now(), msg);
}

void cli_verbose(lwq_config *cfg, int level)
{
    if (level <= 0)
        return;
    cfg->log = log_line;
    cfg->log_level = level > LWQ_LOG_DEBUG ? LWQ_LOG_DEBUG : level;
}

/* "ADDR:PORT" of a socket address. */
const char *cli_addr(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char ip[64] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(buf, cap, "%s:%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(buf, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}
