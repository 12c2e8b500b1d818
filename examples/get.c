/* One HTTP/3 GET, body to stdout, status and headers to stderr.
 * usage: get URL [CA_FILE]   (without CA_FILE: the system's trust anchors) */
#include <stdio.h>
#include "lwquic/app.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [CA_FILE]\n", argv[0]);
        return 2;
    }
    lwq_h3cli_config cfg;
    lwq_h3cli_config_init(&cfg);
    cfg.ca_file = argc > 2 ? argv[2] : NULL;
    lwq_h3cli *c;
    if (lwq_h3cli_new(&c, &cfg) != 0)
        return 1;
    lwq_h3cli_request req = {.method = "GET", .url = argv[1], .urgency = -1};
    lwq_h3cli_response resp;
    char err[256];
    int rv = lwq_h3cli_request_run(c, &req, &resp, err, sizeof(err));
    if (rv == 0) {
        fprintf(stderr, "%d\n", resp.status);
        for (size_t i = 0; i < resp.header_count; i++)
            fprintf(stderr, "%s: %s\n", resp.headers[i].name, resp.headers[i].value);
        fwrite(resp.body, 1, resp.body_len, stdout);
        lwq_h3cli_response_free(&resp);
    } else {
        fprintf(stderr, "get: %s\n", err);
    }
    lwq_h3cli_del(c);
    return rv ? 1 : 0;
}
