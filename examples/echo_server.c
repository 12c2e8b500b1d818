/* A message server answering each request with its own bytes (PyQuic's echo, ALPN "echo").
 * usage: echo_server CERT KEY [HOST:PORT]   (default 127.0.0.1:4433); stops on SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "lwquic/app.h"

static int echo(void *ud, const uint8_t *req, size_t len, lwq_msg_reply *reply)
{
    (void)ud;
    return lwq_msg_reply_set(reply, req, len);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    stop = sig;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CERT KEY [HOST:PORT]\n", argv[0]);
        return 2;
    }
    lwq_msgsrv_config cfg;
    lwq_msgsrv_config_init(&cfg);
    cfg.cert_file = argv[1];
    cfg.key_file = argv[2];
    if (argc > 3)
        cfg.listen = argv[3];
    cfg.handler = echo;
    lwq_msgsrv *s;
    char err[256];
    if (lwq_msgsrv_new(&s, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "echo_server: %s\n", err);
        return 1;
    }
    printf("echo server on port %u\n", lwq_msgsrv_port(s));
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop)
        pause();
    lwq_msgsrv_del(s);
    return 0;
}
