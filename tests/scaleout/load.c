/* The scale-out lab's load generator (tests/scaleout/lab.sh --measure): CONNS connections to HOST:PORT
 * from one process, CONCURRENCY at a time, each a handshake and one hq-interop request for PATH
 * (certificates not verified). Prints how many answered and how long it took.
 * usage: load HOST:PORT PATH CONNS CONCURRENCY */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lwquic/endpoint.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned active, answered, closed;
static char request[256];

static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    (void)ud;
    (void)ec;
    if (ev->type == LWQ_EV_HANDSHAKE_DONE) {
        int64_t id;
        if (lwq_stream_open(conn, 1, &id) == 0)
            lwq_stream_write(conn, id, (const uint8_t *)request, strlen(request), 1);
    } else if (ev->type == LWQ_EV_STREAM_READABLE) {
        uint8_t buf[4096];
        int fin = 0;
        while (lwq_stream_read(conn, ev->stream_id, buf, sizeof(buf), &fin) > 0 && !fin) {
        }
        if (fin) {
            pthread_mutex_lock(&mu);
            answered++;
            pthread_mutex_unlock(&mu);
            lwq_conn_close(conn, 0, "done");
        }
    } else if (ev->type == LWQ_EV_CLOSED) {
        pthread_mutex_lock(&mu);
        active--;
        closed++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: load HOST:PORT PATH CONNS CONCURRENCY\n");
        return 2;
    }
    unsigned conns = (unsigned)atoi(argv[3]), conc = (unsigned)atoi(argv[4]);
    snprintf(request, sizeof(request), "GET %s\r\n", argv[2]);
    static const char *alpn[] = {"hq-interop"};
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.insecure = 1;
    cfg.no_preferred_address = 1;
    cfg.handshake_timeout = 5 * LWQ_SEC;
    cfg.idle_timeout = 5 * LWQ_SEC;
    lwq_context *ctx;
    lwq_loop *loop;
    lwq_endpoint *ep;
    const char *why = NULL;
    lwq_endpoint_handler h = {on_event, NULL};
    if (lwq_context_new(&ctx, &cfg, &why) || lwq_loop_new(&loop, 2, NULL) || lwq_endpoint_new(&ep, loop, ctx, &h, NULL)) {
        fprintf(stderr, "load: setup failed: %s\n", why ? why : "");
        return 1;
    }
    double start = now_s();
    for (unsigned i = 0; i < conns; i++) {
        pthread_mutex_lock(&mu);
        while (active >= conc)
            pthread_cond_wait(&cv, &mu);
        active++;
        pthread_mutex_unlock(&mu);
        lwq_endpoint_conn *ec;
        if (lwq_endpoint_connect(ep, argv[1], NULL, 0, NULL, &ec)) {
            pthread_mutex_lock(&mu);
            active--;
            closed++;
            pthread_mutex_unlock(&mu);
            continue;
        }
        lwq_endpoint_conn_release(ec);
    }
    pthread_mutex_lock(&mu);
    while (closed < conns)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    double took = now_s() - start;
    printf("%u of %u connections answered in %.0f ms: %.0f connections/s\n", answered, conns, took * 1e3,
           answered / took);
    lwq_endpoint_shutdown(ep, 0, "bye", LWQ_SEC);
    lwq_endpoint_del(ep);
    lwq_loop_del(loop);
    lwq_context_del(ctx);
    return answered == conns ? 0 : 1;
}
