/* Sends each argument as one message and prints the answers (futures, all outstanding at once).
 * usage: echo_client HOST:PORT CA_FILE MESSAGE...   (CA_FILE "-" = no verification) */
#include <stdio.h>
#include <string.h>
#include "lwquic/app.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST:PORT CA_FILE|- MESSAGE...\n", argv[0]);
        return 2;
    }
    lwq_msgcli_config cfg;
    lwq_msgcli_config_init(&cfg);
    cfg.server = argv[1];
    if (strcmp(argv[2], "-") != 0)
        cfg.ca_file = argv[2];
    else
        cfg.insecure = 1;
    lwq_msgcli *c;
    char err[256];
    if (lwq_msgcli_new(&c, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "echo_client: %s\n", err);
        return 1;
    }
    lwq_msg_future *f[64];
    int n = argc - 3 < 64 ? argc - 3 : 64, failed = 0;
    for (int i = 0; i < n; i++)
        f[i] = lwq_msgcli_send(c, (const uint8_t *)argv[3 + i], strlen(argv[3 + i]), 5 * LWQ_SEC);
    for (int i = 0; i < n; i++) {
        int rv = lwq_msg_future_wait(f[i], LWQ_TSTAMP_INF);
        size_t len;
        const char *why;
        const uint8_t *d = lwq_msg_future_data(f[i], &len);
        lwq_msg_future_error(f[i], NULL, &why);
        if (rv) {
            printf("error: %s: %s\n", lwq_strerror(rv), why);
            failed = 1;
        } else {
            printf("%.*s\n", (int)len, (const char *)d);
        }
        lwq_msg_future_del(f[i]);
    }
    lwq_msgcli_del(c);
    return failed;
}
