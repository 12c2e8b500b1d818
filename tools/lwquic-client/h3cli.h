/* lwquic-client over HTTP/3. */
#ifndef LWQ_TOOLS_H3CLI_H
#define LWQ_TOOLS_H3CLI_H

#include "lwquic/quic.h"

typedef struct h3cli_opts {
    const char *target; /* HOST:PORT to connect to */
    char *const *urls;
    size_t n;
    const char *outdir;
    int quiet;
    const char *method;    /* default GET, POST with data_file */
    const char *data_file; /* request body, streamed from the file */
    size_t max_open;       /* concurrent requests */
} h3cli_opts;

/* Fetches every URL over one HTTP/3 connection; prints "METHOD URL -> STATUS" per request on stderr
 * unless quiet. Returns the exit code: 0 when every answer was complete and 2xx. */
int h3cli_run(lwq_config *cfg, const h3cli_opts *o);

#endif
