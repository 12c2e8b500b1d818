/* The endpoint on loopback: 200 concurrent client connections, each on its own socket, echo 10 kB through
 * a sharded server endpoint; byte-exact, no leak (counting allocator), graceful shutdown. */
#include <pthread.h>
#include <stdio.h>
#include "testutil.h"
#include "lwquic/endpoint.h"

#define CLIENTS 200
#define PAYLOAD 10000

static uint8_t payload_byte(size_t client, size_t i) { return (uint8_t)(client * 131 + i * 7); }

/* Server: echo every bidirectional stream back with FIN. */
static void server_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    (void)ud;
    (void)ec;
    if (ev->type != LWQ_EV_STREAM_READABLE)
        return;
    uint8_t buf[4096];
    for (;;) {
        int fin = 0;
        ssize_t n = lwq_stream_read(conn, ev->stream_id, buf, sizeof(buf), &fin);
        if (n < 0)
            return;
        /* The send buffer holds far more than PAYLOAD: a short write here would be a failure. */
        ck_assert_int_eq(lwq_stream_write(conn, ev->stream_id, buf, (size_t)n, fin), n);
        if (fin || n == 0)
            return;
    }
}

typedef struct client_state {
    size_t index, got;
    int ok, failed;
} client_state;

typedef struct clients {
    client_state st[CLIENTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
} clients;

static void client_finish(clients *cs)
{
    pthread_mutex_lock(&cs->mu);
    cs->finished++;
    pthread_cond_broadcast(&cs->cv);
    pthread_mutex_unlock(&cs->mu);
}

static void client_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    clients *cs = ud;
    client_state *st = lwq_endpoint_conn_data(ec);
    uint8_t buf[4096];
    switch (ev->type) {
    case LWQ_EV_HANDSHAKE_DONE: {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(conn, 1, &id), 0);
        uint8_t data[PAYLOAD];
        for (size_t i = 0; i < PAYLOAD; i++)
            data[i] = payload_byte(st->index, i);
        ck_assert_int_eq(lwq_stream_write(conn, id, data, PAYLOAD, 1), PAYLOAD);
        break;
    }
    case LWQ_EV_STREAM_READABLE:
        for (;;) {
            int fin = 0;
            ssize_t n = lwq_stream_read(conn, ev->stream_id, buf, sizeof(buf), &fin);
            if (n < 0)
                break;
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != payload_byte(st->index, st->got + (size_t)i))
                    st->failed = 1;
            st->got += (size_t)n;
            if (fin) {
                st->ok = !st->failed && st->got == PAYLOAD;
                lwq_conn_close(conn, 0, "done");
                break;
            }
            if (n == 0)
                break;
        }
        break;
    case LWQ_EV_CLOSED:
        client_finish(cs);
        break;
    default:
        break;
    }
}

static lwq_context *make_ctx(int server)
{
    lwq_config cfg;
    lwq_config_init(&cfg, server);
    static const char *alpn[] = {"test"};
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.alloc = lwq_test_alloc;
    if (server) {
        cfg.cert_file = lwq_test_data_path("certs/server-ecdsa.pem");
        cfg.key_file = lwq_test_data_path("certs/server-ecdsa.key");
    } else {
        cfg.ca_file = lwq_test_data_path("certs/ca.pem");
        cfg.server_name = "localhost";
    }
    lwq_context *ctx;
    const char *why = NULL;
    ck_assert_msg(lwq_context_new(&ctx, &cfg, &why) == 0, "context: %s", why ? why : "?");
    return ctx;
}

START_TEST(test_200_concurrent_clients)
{
    lwq_loop *loop;
    ck_assert_int_eq(lwq_loop_new(&loop, 2, lwq_test_alloc), 0);
    lwq_context *sctx = make_ctx(1), *cctx = make_ctx(0);
    lwq_endpoint *server, *client;
    lwq_endpoint_handler sh = {server_event, NULL};
    static clients cs;
    memset(&cs, 0, sizeof(cs));
    pthread_mutex_init(&cs.mu, NULL);
    pthread_cond_init(&cs.cv, NULL);
    lwq_endpoint_handler ch = {client_event, &cs};
    ck_assert_int_eq(lwq_endpoint_new(&server, loop, sctx, &sh, NULL), 0);
    ck_assert_int_eq(lwq_endpoint_new(&client, loop, cctx, &ch, NULL), 0);
    uint16_t port;
    ck_assert_int_eq(lwq_endpoint_listen(server, "127.0.0.1:0", 2, &port), 0);
    char authority[32];
    snprintf(authority, sizeof(authority), "localhost:%u", port);
    static lwq_endpoint_conn *ecs[CLIENTS];
    for (size_t i = 0; i < CLIENTS; i++) {
        cs.st[i].index = i;
        ck_assert_int_eq(lwq_endpoint_connect(client, authority, NULL, 0, &cs.st[i], &ecs[i]), 0);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 90;
    pthread_mutex_lock(&cs.mu);
    while (cs.finished < CLIENTS && pthread_cond_timedwait(&cs.cv, &cs.mu, &ts) == 0) {
    }
    pthread_mutex_unlock(&cs.mu);
    size_t ok = 0;
    for (size_t i = 0; i < CLIENTS; i++)
        ok += (size_t)cs.st[i].ok;
    ck_assert_uint_eq(ok, CLIENTS);
    ck_assert_uint_eq(lwq_endpoint_shutdown(client, 0, "bye", 5 * LWQ_SEC), 0);
    ck_assert_uint_eq(lwq_endpoint_shutdown(server, 0, "bye", 5 * LWQ_SEC), 0);
    for (size_t i = 0; i < CLIENTS; i++)
        lwq_endpoint_conn_release(ecs[i]);
    lwq_endpoint_del(client);
    lwq_endpoint_del(server);
    lwq_loop_del(loop);
    lwq_context_del(sctx);
    lwq_context_del(cctx);
}
END_TEST

Suite *suite_endpoint(void)
{
    Suite *s = suite_create("endpoint");
    TCase *tc = lwq_test_tcase("endpoint");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_200_concurrent_clients);
    suite_add_tcase(s, tc);
    return s;
}
