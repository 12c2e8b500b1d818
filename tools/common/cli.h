/* Helpers shared by the command-line tools. */
#ifndef LWQ_TOOLS_CLI_H
#define LWQ_TOOLS_CLI_H

#include <stdio.h>
#include "lwquic/endpoint.h"

/* "https://host:port/path" -> host ("[::1]" keeps no brackets), port (default 443), path ("/" default).
 * Returns 0 or -1 with a message in err. */
typedef struct cli_url {
    char host[256];
    char port[8];
    char path[2048];
    char authority[272]; /* host:port as connect() wants it, IPv6 bracketed */
} cli_url;
int cli_parse_url(const char *url, cli_url *out, char *err, size_t errlen);

/* Appends NSS key log lines to a file (thread-safe); NULL path: $SSLKEYLOGFILE if set, else none. */
int cli_keylog_open(const char *path);
void cli_keylog_line(void *ud, const char *line);
int cli_keylog_enabled(void);

int cli_parse_cc(const char *name, lwq_cc_algorithm *out);
/* A number option: the whole string a decimal number in [min, max] (integer when integer is set), else
 * "PROG: OPT VALUE: WHAT" on stderr and -1. */
int cli_parse_num(const char *prog, const char *opt, const char *s, double min, double max, int integer, double *out);
/* TLS alert description names (RFC 9846 §6), "alert N" for others. */
const char *cli_alert_name(int alert);
/* qlog files DIR/<odcid>_<client|server>.sqlog, one per connection; NULL dir: $QLOGDIR if set.
 * Returns -1 (errno set) when the directory cannot be created. */
int cli_qlog_dir(const char *dir, lwq_config *cfg);

/* -v: the library's text trace on stderr (level LWQ_LOG_INFO, or LWQ_LOG_DEBUG for -vv). */
void cli_verbose(lwq_config *cfg, int level);

/* The runtime a tool needs: context, loop and endpoint. */
typedef struct cli_stack {
    lwq_context *ctx;
    lwq_loop *loop;
    lwq_endpoint *ep;
} cli_stack;
/* Builds the stack from cfg (the key log file, when open, is attached); limits: the server's (NULL:
 * defaults). Prints a message naming prog and returns the tool's exit code on failure (2: bad
 * configuration, 1: runtime), 0 on success. */
int cli_start(const char *prog, lwq_config *cfg, unsigned workers, const lwq_server_limits *limits,
              const lwq_endpoint_handler *h, cli_stack *st);
void cli_stop(cli_stack *st);

/* Monotonic seconds, for reports. */
double cli_now(void);
/* "12.3 MB" / "4.5 Mbit/s" style numbers. */
const char *cli_bytes(uint64_t n, char *buf, size_t len);

/* "ADDR:PORT" (IPv6 as "[ADDR]:PORT") of a socket address, "?" for another family. */
const char *cli_addr(const struct sockaddr_storage *ss, char *buf, size_t cap);

#endif
