/* lwquic-client: where bodies go, -w, and what a failure is called (curl's exit codes). */
#include <errno.h>
#include <string.h>
#include "lwquic/h3.h"
#include "common/cli.h"
#include "lwquic-client/client.h"

FILE *cl_out_open(const cl_opts *o, size_t i)
{
    if (!o->out[i])
        return stdout;
    char file[4096];
    if (o->out[i][0]) {
        snprintf(file, sizeof(file), "%s", o->out[i]);
    } else {
        /* -O: the last path segment without query or fragment, index.html for a path ending in '/' */
        cli_url u;
        char err[256];
        if (cli_parse_url(o->urls[i], &u, err, sizeof(err)))
            return NULL;
        u.path[strcspn(u.path, "?#")] = 0;
        const char *base = strrchr(u.path, '/');
        base = base && base[1] ? base + 1 : "index.html";
        snprintf(file, sizeof(file), "%s%s%s", o->output_dir ? o->output_dir : "", o->output_dir ? "/" : "", base);
    }
    return fopen(file, "wb");
}

int cl_out_close(FILE *f)
{
    if (f == stdout)
        return fflush(stdout) == 0 ? 0 : -1;
    return fclose(f) == 0 ? 0 : -1;
}

int cl_out_shared_stdout(const cl_opts *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        k += o->out[i] == NULL;
    return k > 1 || (k == 1 && o->write_out);
}

void cl_write_out(const cl_opts *o, size_t i, const cl_result *r)
{
    if (!o->write_out)
        return;
    for (const char *p = o->write_out; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            putchar(*p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p);
            continue;
        }
        if (*p != '%' || p[1] != '{') {
            putchar(*p == '%' && p[1] == '%' ? *p++ : *p);
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) {
            fputs(p, stdout);
            break;
        }
        size_t n = (size_t)(end - p - 2);
        const char *v = p + 2;
#define IS(name) (n == strlen(name) && !memcmp(v, name, n))
        if (IS("http_code") || IS("response_code"))
            printf("%03d", r->status);
        else if (IS("size_download"))
            printf("%llu", (unsigned long long)r->bytes);
        else if (IS("time_total"))
            printf("%.6f", r->seconds);
        else if (IS("url") || IS("url_effective"))
            fputs(o->urls[i], stdout);
        else if (IS("content_type"))
            fputs(r->content_type, stdout);
        else if (IS("http_version"))
            fputs(strcmp(o->alpn, "h3") == 0 ? "3" : "0.9", stdout);
        else
            cl_err(o, "-w: unknown variable %%{%.*s}", (int)n, v);
#undef IS
        p = end;
    }
    fflush(stdout);
}

/* The certificate reason of our own close ("server certificate rejected: unknown CA"), with the hint. */
static int cert_failure(const cl_opts *o, const cl_end *e)
{
    const char *r = e->close.reason;
    cl_err(o, "%s: %s; %s", e->target, r,
           strstr(r, "name mismatch")   ? "the certificate is not for this host name (use the name it was issued "
                                          "for, with --resolve NAME=ADDR:PORT if needed, or -k)"
           : strstr(r, "unknown CA")    ? "use --cacert FILE with the CA that issued it, or -k (--insecure)"
           : strstr(r, "expired")       ? "the server needs a new certificate, or use -k (--insecure)"
           : strstr(r, "not yet valid") ? "check the clocks, or use -k (--insecure)"
                                        : "use --cacert FILE or -k (--insecure)");
    return CL_EXIT_CERT;
}

int cl_end_diagnose(const cl_opts *o, const cl_end *e)
{
    const lwq_close_info *ci = &e->close;
    const char *port = strrchr(e->target, ':');
    port = port ? port + 1 : "443";
    if (e->max_time_hit) {
        cl_err(o, "%s: operation timed out after %g s (--max-time)", e->target, o->max_time);
        return CL_EXIT_TIMEOUT;
    }
    if (ci->stateless_reset) {
        cl_err(o, "%s: the server reset the connection (stateless reset: it has no state for it)", e->target);
        return e->handshake_done ? CL_EXIT_RECV : CL_EXIT_CONNECT;
    }
    if (!ci->by_peer && strstr(ci->reason, "connection refused")) {
        cl_err(o, "%s: connection refused: nothing listens on UDP port %s (ICMP port unreachable)", e->target, port);
        return CL_EXIT_CONNECT;
    }
    if (!ci->by_peer && !ci->is_app && ci->code == 0 && (ci->idle_timeout || strstr(ci->reason, "timeout"))) {
        if (!e->handshake_done)
            cl_err(o, "%s: no answer from a QUIC server on UDP port %s within %g s (--connect-timeout)", e->target,
                   port, o->connect_timeout);
        else
            cl_err(o, "%s: the server went silent (idle timeout)", e->target);
        return CL_EXIT_TIMEOUT;
    }
    if (!ci->is_app && ci->code >= 0x100 && ci->code <= 0x1ff) { /* CRYPTO_ERROR: a TLS alert (RFC 9001 §4.8) */
        if (!ci->by_peer && !strncmp(ci->reason, "server certificate rejected", 27))
            return cert_failure(o, e);
        cl_err(o, "%s: TLS handshake failed: alert %s %s: %s", e->target, cli_alert_name((int)(ci->code - 0x100)),
               ci->by_peer ? "from the server" : "sent by us", ci->reason[0] ? ci->reason : "no reason given");
        return CL_EXIT_TLS;
    }
    int clean = !ci->is_app ? ci->code == 0 : (e->h3 ? ci->code == LWQ_H3_NO_ERROR : ci->code == 0);
    if (e->handshake_done && clean)
        return CL_EXIT_OK;
    const char *name = ci->is_app ? (e->h3 ? lwq_h3_strerror(ci->code) : "application error")
                                  : lwq_quic_error_name(ci->code);
    cl_err(o, "%s: connection closed by %s%s: %s (0x%llx): %s", e->target, ci->by_peer ? "the server" : "us",
           e->handshake_done ? "" : " during the handshake", name, (unsigned long long)ci->code,
           ci->reason[0] ? ci->reason : "no reason given");
    return e->handshake_done ? CL_EXIT_RECV : CL_EXIT_TLS;
}
