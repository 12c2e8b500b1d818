/* lwquic-client over HTTP/3. */
#ifndef LWQ_TOOLS_H3CLI_H
#define LWQ_TOOLS_H3CLI_H

#include "lwquic/quic.h"
#include "lwquic-client/session.h"

typedef struct h3cli_opts {
    const char *target; /* HOST:PORT to connect to */
    char *const *urls;
    size_t n;
    const char *outdir;
    int quiet;
    const char *method;    /* default GET, POST with data_file */
    const char *data_file; /* request body, streamed from the file */
    size_t max_open;       /* concurrent requests */
    const uint8_t *session; /* a session blob to resume (--session-file), or NULL */
    size_t session_len;
    int early;         /* --early-data: with a session, the requests go in 0-RTT */
    cli_session *keep; /* --session-file: the server's newest ticket and token go here; the
                        * connection waits up to 2 s for a ticket before closing */
    cli_session_result *result; /* resumption and 0-RTT outcome, when keep is set */
} h3cli_opts;

/* Fetches every URL over one HTTP/3 connection; prints "METHOD URL -> STATUS" per request on stderr
 * unless quiet. Returns the exit code: 0 when every answer was complete and 2xx. */
int h3cli_run(lwq_config *cfg, const h3cli_opts *o);

#endif
