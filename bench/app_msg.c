/* Futures client throughput: an echo message server and a client in one process on loopback; N small
 * messages (32 bytes) sent with lwq_msgcli_send_tagged, at most WINDOW outstanding, completions taken in
 * batches with lwq_msgcli_next_done. usage: app_msg [N] [WINDOW] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "lwquic/app.h"

static int echo(void *ud, const uint8_t *req, size_t len, lwq_msg_reply *reply)
{
    (void)ud;
    return lwq_msg_reply_set(reply, req, len);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000, window = argc > 2 ? atol(argv[2]) : 5000;
    char err[256];
    lwq_msgsrv_config sc;
    lwq_msgsrv_config_init(&sc);
    sc.listen = "127.0.0.1:0";
    sc.cert_file = "tests/data/certs/server-ecdsa.pem";
    sc.key_file = "tests/data/certs/server-ecdsa.key";
    sc.handler = echo;
    sc.workers = 1;
    sc.handler_workers = 1;
    sc.max_handlers = 100000;
    lwq_msgsrv *s;
    if (lwq_msgsrv_new(&s, &sc, err, sizeof(err))) {
        fprintf(stderr, "server: %s\n", err);
        return 1;
    }
    char target[64];
    snprintf(target, sizeof(target), "localhost:%u", lwq_msgsrv_port(s));
    lwq_msgcli_config cc;
    lwq_msgcli_config_init(&cc);
    cc.server = target;
    cc.ca_file = "tests/data/certs/ca.pem";
    lwq_msgcli *c;
    if (lwq_msgcli_new(&c, &cc, err, sizeof(err))) {
        fprintf(stderr, "client: %s\n", err);
        return 1;
    }
    uint8_t msg[32];
    memset(msg, 'x', sizeof(msg));
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    lwq_tstamp t0 = lwq_loop_now();
    long sent = 0, done = 0, failed = 0;
    lwq_msg_future *out[1024];
    while (done < n) {
        while (sent < n && sent - done < window)
            lwq_msgcli_send_tagged(c, msg, sizeof(msg), 0, (uint64_t)sent++);
        int k = lwq_msgcli_next_done(c, out, 1024, 10 * LWQ_SEC);
        if (k <= 0) {
            fprintf(stderr, "stalled at %ld of %ld\n", done, n);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            failed += lwq_msg_future_error(out[i], NULL, NULL) != 0;
            lwq_msg_future_del(out[i]);
        }
        done += k;
    }
    double secs = (double)(lwq_loop_now() - t0) / 1e9;
    getrusage(RUSAGE_SELF, &ru1);
    double cpu =
        (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
        (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    /* client and server share the process: CPU time is both sides' */
    printf("C futures client: %ld messages of 32 bytes, %ld outstanding at most, in %.3f s: %.0f msg/s; "
           "%.2f CPU s (client + server): %.0f msg per CPU second (%ld failed)\n",
           n, window, secs, (double)n / secs, cpu, (double)n / cpu, failed);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
    return failed != 0;
}
