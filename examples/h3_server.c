/* An HTTP/3 server on the endpoint (sockets, threads and timers from src/io): every GET gets a short
 * text page naming its path, anything else 405. Runs until SIGINT or SIGTERM.
 *   usage: h3_server CERT KEY [HOST:PORT]     (default 127.0.0.1:4433) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lwquic/endpoint.h"
#include "lwquic/h3.h"

#define F(name, value) {(const uint8_t *)(name), strlen(name), (const uint8_t *)(value), strlen(value), 0}

static void on_request(lwq_h3 *h, const lwq_h3_event *ev)
{
    const lwq_h3_field *m = lwq_h3_find(ev->fields, ev->field_count, ":method");
    const lwq_h3_field *p = lwq_h3_find(ev->fields, ev->field_count, ":path");
    char body[600];
    int get = m && m->value_len == 3 && !memcmp(m->value, "GET", 3);
    snprintf(body, sizeof(body), get ? "hello from lwquic: %.*s\n" : "method not allowed\n",
             p ? (int)p->value_len : 0, p ? (const char *)p->value : "");
    lwq_h3_field fields[] = {F("content-type", "text/plain; charset=utf-8")};
    lwq_h3_body b = {(const uint8_t *)body, strlen(body), NULL, NULL};
    lwq_h3_respond(h, ev->stream_id, get ? 200 : 405, fields, 1, &b);
}

/* Every connection's events arrive here, on its strand: one lwq_h3 per connection. */
static void on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    (void)ud;
    lwq_h3 *h = lwq_endpoint_conn_data(ec);
    if (!h) {
        lwq_h3_config hc;
        lwq_h3_config_init(&hc);
        if (ev->type == LWQ_EV_CLOSED || lwq_h3_new(&h, conn, 1, &hc) != 0)
            return;
        lwq_endpoint_conn_set_data(ec, h);
    }
    lwq_h3_handle_transport(h, ev);
    if (ev->type == LWQ_EV_CLOSED) {
        lwq_h3_del(h);
        lwq_endpoint_conn_set_data(ec, NULL);
        return;
    }
    lwq_h3_event hev;
    while (lwq_h3_poll_event(h, &hev))
        if (hev.type == LWQ_H3_EV_REQUEST)
            on_request(h, &hev);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CERT KEY [HOST:PORT]\n", argv[0]);
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the loop's threads inherit the mask; main waits */
    static const char *alpn[] = {"h3"};
    lwq_config cfg;
    lwq_config_init(&cfg, 1);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.cert_file = argv[1];
    cfg.key_file = argv[2];
    lwq_context *ctx;
    lwq_loop *loop;
    lwq_endpoint *ep;
    const char *why = NULL;
    int rv = lwq_context_new(&ctx, &cfg, &why);
    if (rv) {
        fprintf(stderr, "%s: %s (%s)\n", argv[0], why ? why : "bad configuration", lwq_strerror(rv));
        return 1;
    }
    lwq_endpoint_handler handler = {on_event, NULL};
    uint16_t port = 0;
    const char *where = argc > 3 ? argv[3] : "127.0.0.1:4433";
    if ((rv = lwq_loop_new(&loop, 2, NULL)) != 0 || (rv = lwq_endpoint_new(&ep, loop, ctx, &handler, NULL)) != 0 ||
        (rv = lwq_endpoint_listen(ep, where, 1, &port)) != 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], where, lwq_strerror(rv));
        return 1;
    }
    fprintf(stderr, "h3_server: listening on UDP port %u\n", port);
    int sig;
    sigwait(&sigs, &sig);
    lwq_endpoint_shutdown(ep, LWQ_H3_NO_ERROR, "server shutting down", LWQ_SEC);
    lwq_endpoint_del(ep);
    lwq_loop_del(loop);
    lwq_context_del(ctx);
    return 0;
}
