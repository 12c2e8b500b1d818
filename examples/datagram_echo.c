/* QUIC DATAGRAM frames (RFC 9221) on the endpoint: the server sends every datagram back, the client
 * sends its messages and prints the echoes. Datagrams are unreliable: the client resends a message
 * not echoed within 200 ms, up to 10 times.
 *   usage: datagram_echo server CERT KEY [HOST:PORT]       (default 127.0.0.1:4434; until SIGINT/SIGTERM)
 *          datagram_echo client HOST:PORT MESSAGE...      (the certificate is not checked) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "lwquic/endpoint.h"

#define MAX_MSGS 16

typedef struct echo_client {
    char **msgs;
    int n, echoed[MAX_MSGS], left, up, closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} echo_client;

static void server_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    (void)ud, (void)ec;
    if (ev->type == LWQ_EV_DATAGRAM)
        lwq_datagram_send(conn, ev->data, ev->len); /* the echo */
}

static void client_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    echo_client *cl = ud;
    (void)ec, (void)conn;
    pthread_mutex_lock(&cl->mu);
    if (ev->type == LWQ_EV_HANDSHAKE_DONE)
        cl->up = 1;
    for (int i = 0; ev->type == LWQ_EV_DATAGRAM && i < cl->n; i++)
        if (!cl->echoed[i] && ev->len == strlen(cl->msgs[i]) && !memcmp(ev->data, cl->msgs[i], ev->len)) {
            printf("echo: %.*s\n", (int)ev->len, (const char *)ev->data);
            cl->echoed[i] = 1;
            cl->left--;
            break;
        }
    if (ev->type == LWQ_EV_CLOSED)
        cl->closed = 1;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

/* Runs on the connection's strand: sends the messages not echoed yet. */
static void send_missing(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    echo_client *cl = arg;
    (void)ec;
    for (int i = 0; i < cl->n; i++)
        if (!cl->echoed[i])
            lwq_datagram_send(conn, (const uint8_t *)cl->msgs[i], strlen(cl->msgs[i]));
}

static void close_conn(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg)
{
    (void)ec, (void)arg;
    lwq_conn_close(conn, 0, "done");
}

int main(int argc, char **argv)
{
    int server = argc >= 4 && !strcmp(argv[1], "server"), client = argc >= 4 && !strcmp(argv[1], "client");
    if (!server && !client) {
        fprintf(stderr, "usage: %s server CERT KEY [HOST:PORT] | client HOST:PORT MESSAGE...\n", argv[0]);
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    static const char *alpn[] = {"echo"};
    lwq_config cfg;
    lwq_config_init(&cfg, server);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.max_datagram_frame_size = 1200; /* RFC 9221 §3: DATAGRAM frames on */
    if (server) {
        cfg.cert_file = argv[2];
        cfg.key_file = argv[3];
    } else {
        cfg.insecure = 1;
    }
    echo_client cl = {.msgs = argv + 3, .n = argc - 3 < MAX_MSGS ? argc - 3 : MAX_MSGS};
    cl.left = cl.n;
    pthread_mutex_init(&cl.mu, NULL);
    pthread_cond_init(&cl.cv, NULL);
    lwq_context *ctx;
    lwq_loop *loop;
    lwq_endpoint *ep;
    const char *why = NULL;
    int rv = lwq_context_new(&ctx, &cfg, &why);
    if (rv) {
        fprintf(stderr, "%s: %s (%s)\n", argv[0], why ? why : "bad configuration", lwq_strerror(rv));
        return 1;
    }
    lwq_endpoint_handler h = {server ? server_event : client_event, &cl};
    if ((rv = lwq_loop_new(&loop, 2, NULL)) != 0 || (rv = lwq_endpoint_new(&ep, loop, ctx, &h, NULL)) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], lwq_strerror(rv));
        return 1;
    }
    int result = 0;
    if (server) {
        uint16_t port;
        const char *where = argc > 4 ? argv[4] : "127.0.0.1:4434";
        if ((rv = lwq_endpoint_listen(ep, where, 1, &port)) != 0) {
            fprintf(stderr, "%s: %s: %s\n", argv[0], where, lwq_strerror(rv));
            return 1;
        }
        fprintf(stderr, "datagram_echo: listening on UDP port %u\n", port);
        int sig;
        sigwait(&sigs, &sig);
        lwq_endpoint_shutdown(ep, 0, "server shutting down", LWQ_SEC);
    } else {
        lwq_endpoint_conn *ec;
        if ((rv = lwq_endpoint_connect(ep, argv[2], NULL, 0, NULL, &ec)) != 0) {
            fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], lwq_strerror(rv));
            return 1;
        }
        pthread_mutex_lock(&cl.mu);
        for (int round = 0; round < 50 && cl.left && !cl.closed; round++) {
            if (cl.up && round % 2 == 0) {
                pthread_mutex_unlock(&cl.mu);
                lwq_endpoint_post(ec, send_missing, &cl);
                pthread_mutex_lock(&cl.mu);
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&cl.cv, &cl.mu, &ts);
        }
        result = cl.left ? 1 : 0;
        pthread_mutex_unlock(&cl.mu);
        if (result)
            fprintf(stderr, "%s: %d message(s) not echoed\n", argv[0], cl.left);
        lwq_endpoint_post(ec, close_conn, NULL);
        lwq_endpoint_conn_release(ec);
        lwq_endpoint_shutdown(ep, 0, "done", LWQ_SEC);
    }
    lwq_endpoint_del(ep);
    lwq_loop_del(loop);
    lwq_context_del(ctx);
    return result;
}
