/* Helpers shared by the command-line tools. */
#ifndef LWQ_TOOLS_CLI_H
#define LWQ_TOOLS_CLI_H

#include <stdio.h>
#include "lwquic/quic.h"

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
/* TLS alert description names (RFC 9846 §6), "alert N" for others. */
const char *cli_alert_name(int alert);
/* Monotonic seconds, for reports. */
double cli_now(void);
/* "12.3 MB" / "4.5 Mbit/s" style numbers. */
const char *cli_bytes(uint64_t n, char *buf, size_t len);

#endif
