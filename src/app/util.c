#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "app/app_int.h"

const char *lwq_msg_strerror(uint64_t code)
{
    switch (code) {
    case 0:
        return "no error";
    case LWQ_MSG_ERR_HANDLER:
        return "the server's handler failed";
    case LWQ_MSG_ERR_TOO_LARGE:
        return "the message exceeds the server's size limit";
    case LWQ_MSG_ERR_BUSY:
        return "the server is busy (handler queue or buffer limit full)";
    case LWQ_MSG_ERR_CANCELLED:
        return "the request was cancelled";
    case LWQ_MSG_ERR_SHUTDOWN:
        return "the server is shutting down";
    }
    return "unknown message error";
}

void app_close_text(const lwq_close_info *ci, char *buf, size_t cap)
{
    if (ci->idle_timeout) {
        snprintf(buf, cap, "connection closed: idle timeout");
        return;
    }
    if (ci->stateless_reset) {
        snprintf(buf, cap, "connection closed: stateless reset from the peer");
        return;
    }
    if (!ci->by_peer && ci->is_app && ci->code == 0 && ci->reason[0]) {
        snprintf(buf, cap, "connection closed: %s", ci->reason); /* ours, e.g. a refusal from the network */
        return;
    }
    snprintf(buf, cap, "connection closed by %s: %s error 0x%llx%s%s%s", ci->by_peer ? "the peer" : "us",
             ci->is_app ? "application" : "transport", (unsigned long long)ci->code, ci->is_app ? "" : " (",
             ci->is_app ? "" : lwq_quic_error_name(ci->code), ci->is_app ? "" : ")");
    if (ci->reason[0]) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap > n ? cap - n : 0, ": %s", ci->reason);
    }
}

void app_deadline(struct timespec *ts, lwq_tstamp ns)
{
    clock_gettime(CLOCK_REALTIME, ts);
    if (ns > 100000ull * LWQ_SEC)
        ns = 100000ull * LWQ_SEC;
    uint64_t n = (uint64_t)ts->tv_nsec + ns % LWQ_SEC;
    ts->tv_sec += (time_t)(ns / LWQ_SEC + n / LWQ_SEC);
    ts->tv_nsec = (long)(n % LWQ_SEC);
}

void app_context_error(const lwq_config *cfg, int rv, const char *why, char *err, size_t errlen)
{
    const char *files[] = {cfg->cert_file, cfg->key_file, cfg->ca_file};
    const char *names[] = {"certificate", "key", "CA file"};
    if (rv == LWQ_ERR_IO || rv == LWQ_ERR_CERT_MALFORMED || rv == LWQ_ERR_DECODE) {
        for (int i = 0; i < 3; i++) {
            if (files[i] && access(files[i], R_OK) != 0) {
                snprintf(err, errlen, "%s %s: cannot read the file", names[i], files[i]);
                return;
            }
        }
    }
    snprintf(err, errlen, "%s (%s)%s%s%s%s", why ? why : "bad TLS configuration", lwq_strerror(rv),
             cfg->cert_file ? "; certificate " : "", cfg->cert_file ? cfg->cert_file : "",
             cfg->key_file ? ", key " : "", cfg->key_file ? cfg->key_file : "");
}

int app_host_of(const char *hostport, char *buf, size_t cap)
{
    const char *start = hostport, *end;
    if (*hostport == '[') {
        start = hostport + 1;
        end = strchr(start, ']');
    } else {
        end = strrchr(hostport, ':');
    }
    if (!end || end == start || (size_t)(end - start) >= cap)
        return LWQ_ERR_INVAL;
    memcpy(buf, start, (size_t)(end - start));
    buf[end - start] = 0;
    return 0;
}

void *app_alloc(const lwq_allocator *a, size_t n)
{
    return a && a->malloc ? a->malloc(a->ud, n) : malloc(n);
}

void *app_zalloc(const lwq_allocator *a, size_t n)
{
    if (a && a->calloc)
        return a->calloc(a->ud, 1, n);
    if (!a || !a->malloc)
        return calloc(1, n);
    void *p = a->malloc(a->ud, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *app_realloc(const lwq_allocator *a, void *p, size_t n)
{
    return a && a->realloc ? a->realloc(a->ud, p, n) : realloc(p, n);
}

void app_free(const lwq_allocator *a, void *p)
{
    if (a && a->free)
        a->free(a->ud, p);
    else
        free(p);
}

char *app_strndup(const lwq_allocator *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = app_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

char *app_strdup(const lwq_allocator *a, const char *s)
{
    return s ? app_strndup(a, s, strlen(s)) : NULL;
}
