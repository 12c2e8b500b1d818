/* lwquic-client: options (opts.c), outputs, diagnostics and exit codes (out.c), the HTTP/3 path (h3.c),
 * the HTTP/0.9 path (hq.c). The command line follows curl's conventions where curl has the option. */
#ifndef LWQ_TOOLS_CLIENT_H
#define LWQ_TOOLS_CLIENT_H

#include <stdio.h>
#include "lwquic/quic.h"
#include "lwquic-client/session.h"

#define CL_MAX_HEADERS 64
#define CL_MAX_RESOLVE 8

/* curl's exit codes for the failures lwquic-client can have (curl(1), "EXIT CODES"). */
enum {
    CL_EXIT_OK = 0,
    CL_EXIT_UNSUPPORTED = 1, /* unsupported protocol (not https://) */
    CL_EXIT_USAGE = 2,       /* bad option or value */
    CL_EXIT_URL = 3,         /* malformed URL */
    CL_EXIT_RESOLVE = 6,     /* could not resolve the host */
    CL_EXIT_CONNECT = 7,     /* could not connect (refused, reset) */
    CL_EXIT_HTTP = 22,       /* --fail and an HTTP status >= 400 */
    CL_EXIT_WRITE = 23,      /* cannot write the output */
    CL_EXIT_READ = 26,       /* cannot read the request body */
    CL_EXIT_TIMEOUT = 28,    /* --connect-timeout, --max-time, idle timeout */
    CL_EXIT_TLS = 35,        /* TLS handshake failed */
    CL_EXIT_RECV = 56,       /* the connection or a stream failed during the transfer */
    CL_EXIT_CERT = 60,       /* the server certificate could not be verified */
};

typedef struct cl_opts {
    char **urls;
    size_t n;
    const char **out;  /* per URL: -o FILE, "" for -O (the URL's last path segment), NULL for stdout */
    const char *output_dir;
    int insecure;
    const char *cacert;
    const char *alpn;     /* "h3" or "hq-interop" */
    const char *method;   /* -X, NULL: GET (HEAD with -I, POST with a body) */
    const char *data;     /* -d/--data-binary: literal bytes, or @FILE (data_fd) */
    uint8_t *data_buf;    /* literal data or @- read from stdin */
    size_t data_len;
    int data_fd;          /* -1 unless @FILE */
    uint64_t data_size;
    const char *headers[CL_MAX_HEADERS]; /* -H "Name: value" */
    size_t nheaders;
    int include, head;    /* -i, -I */
    int silent, show_error, verbose, fail;
    double connect_timeout, max_time; /* seconds; max_time 0: none */
    const char *write_out;            /* -w */
    const char *keylog, *qlogdir;
    int explain, qlog_format; /* --explain (a narrated trace on stderr), --qlog-format 0.3|main */
    const char *record;       /* --record FILE: datagrams and keys for docs/walkthrough.md */
    int cc_set;
    lwq_cc_algorithm cc;
    const char *resolve[CL_MAX_RESOLVE];
    size_t nresolve;
    const char *session_file;
    int early_data, resume, no_preferred, key_update, offer_v2, chacha20_only;
    uint32_t quic_version;
} cl_opts;

/* Parses argv into o. Returns -1 to go on, else the exit code (0 after --help / --version). */
int cl_parse(int argc, char **argv, cl_opts *o, int *urls_from);
/* Error messages go to stderr unless -s (without -S). */
void cl_err(const cl_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -v lines ("* ..."), on stderr. */
void cl_info(const cl_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The output of URL i: stdout, -o FILE or --output-dir/<remote name>; opened on the first byte.
 * NULL with errno set when the file cannot be created. */
FILE *cl_out_open(const cl_opts *o, size_t i);
/* Closes what cl_out_open gave (never stdout); -1 with errno set when a write was lost. */
int cl_out_close(FILE *f);
/* Whether several URLs share stdout (then the requests run one at a time). */
int cl_out_shared_stdout(const cl_opts *o);

/* One finished transfer, for -w and --fail. */
typedef struct cl_result {
    int status;      /* HTTP status, 0 when none came */
    uint64_t bytes;  /* body bytes received */
    double seconds;  /* from the start of the run */
    char content_type[128];
} cl_result;
/* Writes o->write_out for URL i to stdout (%{http_code}, %{response_code}, %{size_download},
 * %{time_total}, %{url}, %{url_effective}, %{content_type}, %{http_version}, \n \r \t). */
void cl_write_out(const cl_opts *o, size_t i, const cl_result *r);

/* How the connection ended, for the exit code. */
typedef struct cl_end {
    const char *target;      /* HOST:PORT */
    int handshake_done;
    int max_time_hit;        /* we closed at --max-time */
    lwq_close_info close;
    int h3;                  /* close codes are HTTP/3 application errors */
} cl_end;
/* Says what failed and what to do, returns curl's exit code for it (0 when the connection ended
 * cleanly after the handshake). */
int cl_end_diagnose(const cl_opts *o, const cl_end *e);

/* The two protocol paths: each returns the exit code. cfg is ready (TLS, versions, timeouts). */
int cl_run_h3(lwq_config *cfg, const cl_opts *o, const char *target, cli_session *keep, const cli_session *start);
int cl_run_hq(lwq_config *cfg, const cl_opts *o, const char *target, cli_session *keep, const cli_session *start);

#endif
