/* The message server and futures client on loopback: echo byte-exact beyond MAX_STREAMS, handler failure,
 * size limits, timeouts, the handler-queue limit under a flood, connection death, bad configuration. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "lwquic/app.h"
#include "lwquic/endpoint.h"

static int handler(void *ud, const uint8_t *req, size_t len, lwq_msg_reply *reply)
{
    (void)ud;
    if (len == 4 && !memcmp(req, "fail", 4))
        return -1;
    if (len == 4 && !memcmp(req, "none", 4))
        return 0;
    if (len >= 4 && !memcmp(req, "slow", 4))
        usleep(len > 4 ? 50000 : 400000);
    if (len >= 3 && !memcmp(req, "big", 3)) {
        static uint8_t big[900];
        return lwq_msg_reply_set(reply, big, sizeof(big));
    }
    return lwq_msg_reply_set(reply, req, len);
}

static size_t max_buffered; /* for the next server(); 0: the default */

static lwq_msgsrv *server(size_t max_message, size_t max_handlers, uint64_t max_streams)
{
    lwq_msgsrv_config sc;
    lwq_msgsrv_config_init(&sc);
    sc.listen = "127.0.0.1:0";
    sc.cert_file = lwq_test_data_path("certs/server-ecdsa.pem");
    sc.key_file = lwq_test_data_path("certs/server-ecdsa.key");
    sc.handler = handler;
    sc.alloc = lwq_test_alloc;
    if (max_message)
        sc.max_message = max_message;
    if (max_handlers)
        sc.max_handlers = max_handlers;
    if (max_streams)
        sc.max_streams = max_streams;
    if (max_buffered)
        sc.max_buffered = max_buffered;
    char err[256];
    lwq_msgsrv *s = NULL;
    ck_assert_msg(lwq_msgsrv_new(&s, &sc, err, sizeof(err)) == 0, "server: %s", err);
    return s;
}

static int client(lwq_msgcli **c, uint16_t port, size_t max_response, char *err, size_t errlen)
{
    lwq_msgcli_config cc;
    lwq_msgcli_config_init(&cc);
    char target[64];
    snprintf(target, sizeof(target), "localhost:%u", port);
    cc.server = target;
    cc.ca_file = lwq_test_data_path("certs/ca.pem");
    cc.connect_timeout = 3 * LWQ_SEC;
    cc.alloc = lwq_test_alloc;
    if (max_response)
        cc.max_response = max_response;
    return lwq_msgcli_new(c, &cc, err, errlen);
}

START_TEST(test_echo_beyond_max_streams)
{
    lwq_msgsrv *s = server(0, 0, 50);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    enum { N = 2000 };
    static lwq_msg_future *f[N];
    static uint8_t buf[70000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < N; i++) {
        size_t len = i % 100 == 7 ? 65536 + (size_t)i : (size_t)(i % 300) + 5;
        buf[0] = (uint8_t)i;
        f[i] = lwq_msgcli_send(c, buf, len, 0);
        ck_assert_ptr_nonnull(f[i]);
    }
    for (int i = 0; i < N; i++) {
        size_t len = i % 100 == 7 ? 65536 + (size_t)i : (size_t)(i % 300) + 5, n;
        ck_assert_int_eq(lwq_msg_future_wait(f[i], 30 * LWQ_SEC), 0);
        const uint8_t *d = lwq_msg_future_data(f[i], &n);
        ck_assert_uint_eq(n, len);
        ck_assert_uint_eq(d[0], (uint8_t)i);
        ck_assert(!memcmp(d + 1, buf + 1, len - 1));
        lwq_msg_future_del(f[i]);
    }
    ck_assert_uint_eq(lwq_msgcli_pending(c), 0);
    lwq_msgsrv_stats st;
    lwq_msgsrv_get_stats(s, &st);
    ck_assert_uint_eq(st.answered, N);
    lwq_msgcli_del(c);
    lwq_msgcli_del(c == NULL ? NULL : NULL);
    lwq_msgsrv_del(s);
}
END_TEST

START_TEST(test_tagged_batches)
{
    lwq_msgsrv *s = server(0, 0, 0);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    enum { N = 5000 };
    static int seen[N];
    for (uint64_t i = 0; i < N; i++) {
        char m[32];
        int l = snprintf(m, sizeof(m), "msg %llu", (unsigned long long)i);
        ck_assert_int_eq(lwq_msgcli_send_tagged(c, (const uint8_t *)m, (size_t)l, 0, i), 0);
    }
    int got = 0, calls = 0;
    while (got < N) {
        lwq_msg_future *out[256];
        int n = lwq_msgcli_next_done(c, out, 256, 10 * LWQ_SEC);
        ck_assert_int_gt(n, 0);
        calls++;
        for (int k = 0; k < n; k++) {
            uint64_t tag = lwq_msg_future_tag(out[k]);
            char m[32];
            size_t len;
            int l = snprintf(m, sizeof(m), "msg %llu", (unsigned long long)tag);
            ck_assert_int_eq(lwq_msg_future_error(out[k], NULL, NULL), 0);
            const uint8_t *d = lwq_msg_future_data(out[k], &len);
            ck_assert_uint_eq(len, (size_t)l);
            ck_assert(!memcmp(d, m, len));
            ck_assert_int_eq(seen[tag]++, 0);
            lwq_msg_future_del(out[k]);
        }
        got += n;
    }
    ck_assert_int_lt(calls, N); /* completions come in batches */
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

START_TEST(test_handler_failure_and_empty)
{
    lwq_msgsrv *s = server(0, 0, 0);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    lwq_msg_future *f = lwq_msgcli_send(c, (const uint8_t *)"fail", 4, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), LWQ_ERR_RESET);
    uint64_t code;
    const char *why;
    lwq_msg_future_error(f, &code, &why);
    ck_assert_uint_eq(code, LWQ_MSG_ERR_HANDLER);
    ck_assert_ptr_nonnull(strstr(why, "handler failed"));
    lwq_msg_future_del(f);
    f = lwq_msgcli_send(c, (const uint8_t *)"none", 4, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), 0);
    size_t n;
    lwq_msg_future_data(f, &n);
    ck_assert_uint_eq(n, 0);
    lwq_msg_future_del(f);
    f = lwq_msgcli_send(c, (const uint8_t *)"after", 5, 0); /* the server goes on */
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), 0);
    lwq_msg_future_del(f);
    lwq_msgsrv_stats st;
    lwq_msgsrv_get_stats(s, &st);
    ck_assert_uint_eq(st.failed, 1);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

START_TEST(test_size_limits)
{
    lwq_msgsrv *s = server(1000, 0, 0);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 500, err, sizeof(err)) == 0, "%s", err);
    static uint8_t big[300000];
    lwq_msg_future *f = lwq_msgcli_send(c, big, sizeof(big), 0);
    uint64_t code;
    const char *why;
    int rv = lwq_msg_future_wait(f, 10 * LWQ_SEC);
    lwq_msg_future_error(f, &code, &why);
    ck_assert_msg(rv == LWQ_ERR_RESET, "%d %s", rv, why);
    ck_assert_uint_eq(code, LWQ_MSG_ERR_TOO_LARGE);
    lwq_msg_future_del(f);
    /* the answer (900 bytes) is larger than the client's max_response */
    f = lwq_msgcli_send(c, (const uint8_t *)"big", 3, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), LWQ_ERR_LIMIT);
    lwq_msg_future_del(f);
    f = lwq_msgcli_send(c, (const uint8_t *)"ok", 2, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), 0);
    lwq_msg_future_del(f);
    lwq_msgsrv_stats st;
    lwq_msgsrv_get_stats(s, &st);
    ck_assert_uint_eq(st.refused_size, 1);
    ck_assert_uint_le(st.peak_buffered, 2 * 1024 + 1001);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

START_TEST(test_timeout)
{
    lwq_msgsrv *s = server(0, 0, 0);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    lwq_tstamp t0 = lwq_loop_now();
    lwq_msg_future *f = lwq_msgcli_send(c, (const uint8_t *)"slow", 4, 100 * LWQ_MS);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), LWQ_ERR_TIMEOUT);
    lwq_tstamp took = lwq_loop_now() - t0;
    ck_assert_uint_ge(took, 100 * LWQ_MS);
    ck_assert_uint_lt(took, 350 * LWQ_MS);
    lwq_msg_future_del(f);
    /* waiting with a short timeout of our own leaves the request running */
    f = lwq_msgcli_send(c, (const uint8_t *)"slow", 4, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_MS), LWQ_ERR_AGAIN);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), 0);
    lwq_msg_future_del(f);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

/* A flood of slow requests: the handler queue never holds more than max_handlers; the rest are refused
 * with LWQ_MSG_ERR_BUSY and every future completes. */
START_TEST(test_flood_bounded)
{
    lwq_msgsrv *s = server(0, 8, 200);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    enum { N = 3000 };
    static lwq_msg_future *f[N];
    for (int i = 0; i < N; i++)
        f[i] = lwq_msgcli_send(c, (const uint8_t *)"slow-", 5, 0);
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        int rv = lwq_msg_future_wait(f[i], 60 * LWQ_SEC);
        uint64_t code = 0;
        lwq_msg_future_error(f[i], &code, NULL);
        if (rv == 0)
            ok++;
        else if (rv == LWQ_ERR_RESET && code == LWQ_MSG_ERR_BUSY)
            busy++;
        lwq_msg_future_del(f[i]);
    }
    ck_assert_int_eq(ok + busy, N);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(busy, 0);
    lwq_msgsrv_stats st;
    lwq_msgsrv_get_stats(s, &st);
    ck_assert_uint_le(st.peak_handlers, 8);
    ck_assert_uint_eq(st.refused_busy, (uint64_t)busy);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

/* A hostile client (the endpoint API directly): 100 streams of 10 kB each, never finished. The request
 * bytes the server holds stay under max_buffered (64 kB); the streams beyond are refused with BUSY. */
typedef struct hostile {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int resets, closed;
} hostile;

static void hostile_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev)
{
    hostile *h = ud;
    (void)ec;
    if (ev->type == LWQ_EV_HANDSHAKE_DONE) {
        static uint8_t data[10000];
        for (int i = 0; i < 100; i++) {
            int64_t id;
            if (lwq_stream_open(conn, 1, &id) == 0)
                lwq_stream_write(conn, id, data, sizeof(data), 0);
        }
        return;
    }
    pthread_mutex_lock(&h->mu);
    if (ev->type == LWQ_EV_STREAM_RESET && ev->error_code == LWQ_MSG_ERR_BUSY)
        h->resets++;
    if (ev->type == LWQ_EV_CLOSED)
        h->closed = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

START_TEST(test_buffer_bounded)
{
    max_buffered = 64 << 10;
    lwq_msgsrv *s = server(0, 0, 0);
    max_buffered = 0;
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    static const char *alpn[] = {"echo"};
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.ca_file = lwq_test_data_path("certs/ca.pem");
    cfg.server_name = "localhost";
    cfg.alloc = lwq_test_alloc;
    lwq_context *ctx;
    const char *why = NULL;
    ck_assert_msg(lwq_context_new(&ctx, &cfg, &why) == 0, "%s", why ? why : "?");
    lwq_loop *loop;
    ck_assert_int_eq(lwq_loop_new(&loop, 1, lwq_test_alloc), 0);
    static hostile h;
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    h.resets = h.closed = 0;
    lwq_endpoint_handler eh = {hostile_event, &h};
    lwq_endpoint *ep;
    ck_assert_int_eq(lwq_endpoint_new(&ep, loop, ctx, &eh, NULL), 0);
    char target[64];
    snprintf(target, sizeof(target), "localhost:%u", lwq_msgsrv_port(s));
    lwq_endpoint_conn *ec;
    ck_assert_int_eq(lwq_endpoint_connect(ep, target, NULL, 0, NULL, &ec), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&h.mu);
    while (h.resets < 50 && !h.closed && pthread_cond_timedwait(&h.cv, &h.mu, &ts) == 0) {
    }
    int resets = h.resets;
    pthread_mutex_unlock(&h.mu);
    usleep(200000); /* whatever else arrives */
    lwq_msgsrv_stats st;
    lwq_msgsrv_get_stats(s, &st);
    ck_assert_int_ge(resets, 50);
    ck_assert_uint_ge(st.refused_busy, 50);
    ck_assert_uint_le(st.peak_buffered, 64 << 10);
    ck_assert_uint_eq(st.requests, 0); /* no request finished: no handler ran */
    lwq_endpoint_conn_release(ec);
    lwq_endpoint_shutdown(ep, 0, "bye", 2 * LWQ_SEC);
    lwq_endpoint_del(ep);
    lwq_loop_del(loop);
    lwq_context_del(ctx);
    lwq_msgsrv_del(s);
}
END_TEST

START_TEST(test_server_goes_away)
{
    lwq_msgsrv *s = server(0, 0, 0);
    lwq_msgcli *c;
    char err[256];
    ck_assert_msg(client(&c, lwq_msgsrv_port(s), 0, err, sizeof(err)) == 0, "%s", err);
    lwq_msg_future *f[20];
    for (int i = 0; i < 20; i++)
        f[i] = lwq_msgcli_send(c, (const uint8_t *)"slow", 4, 0);
    usleep(50000);
    lwq_msgsrv_del(s);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(lwq_msg_future_wait(f[i], 10 * LWQ_SEC), LWQ_ERR_CLOSED);
        const char *why;
        lwq_msg_future_error(f[i], NULL, &why);
        ck_assert_msg(strstr(why, "by the peer") && strstr(why, "0x5") && strstr(why, "shutting down"), "%s", why);
        lwq_msg_future_del(f[i]);
    }
    char why[256];
    ck_assert_int_eq(lwq_msgcli_closed(c, why, sizeof(why)), 1);
    lwq_msg_future *g = lwq_msgcli_send(c, (const uint8_t *)"x", 1, 0);
    ck_assert_int_eq(lwq_msg_future_wait(g, 0), LWQ_ERR_CLOSED);
    lwq_msg_future_del(g);
    lwq_msgcli_del(c);
}
END_TEST

START_TEST(test_bad_input)
{
    char err[256];
    lwq_msgsrv_config sc;
    lwq_msgsrv_config_init(&sc);
    sc.listen = "127.0.0.1:0";
    sc.cert_file = "/nonexistent/cert.pem";
    sc.key_file = lwq_test_data_path("certs/server-ecdsa.key");
    sc.handler = handler;
    lwq_msgsrv *s;
    ck_assert_int_ne(lwq_msgsrv_new(&s, &sc, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "/nonexistent/cert.pem"), "%s", err);
    sc.cert_file = lwq_test_data_path("certs/server-ecdsa.pem");
    sc.key_file = "/nonexistent/key.pem";
    ck_assert_int_ne(lwq_msgsrv_new(&s, &sc, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "/nonexistent/key.pem"), "%s", err);

    lwq_msgcli *c;
    lwq_msgcli_config cc;
    lwq_msgcli_config_init(&cc);
    cc.server = "no-such-host.invalid:4433";
    cc.connect_timeout = 2 * LWQ_SEC;
    lwq_tstamp t0 = lwq_loop_now();
    ck_assert_int_ne(lwq_msgcli_new(&c, &cc, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "resolve"), "%s", err);
    cc.server = "127.0.0.1:9"; /* nothing listens: refused or a timeout */
    ck_assert_int_ne(lwq_msgcli_new(&c, &cc, err, sizeof(err)), 0);
    ck_assert_uint_lt(lwq_loop_now() - t0, 8 * LWQ_SEC);
    cc.server = "nonsense";
    ck_assert_int_eq(lwq_msgcli_new(&c, &cc, err, sizeof(err)), LWQ_ERR_INVAL);

    /* a certificate from an unknown CA fails unless insecure */
    s = server(0, 0, 0);
    char target[64];
    snprintf(target, sizeof(target), "localhost:%u", lwq_msgsrv_port(s));
    cc.server = target;
    ck_assert_int_ne(lwq_msgcli_new(&c, &cc, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "0x130") || strstr(err, "certificate") || strstr(err, "CRYPTO"), "%s", err);
    cc.insecure = 1;
    ck_assert_msg(lwq_msgcli_new(&c, &cc, err, sizeof(err)) == 0, "%s", err);
    lwq_msg_future *f = lwq_msgcli_send(c, (const uint8_t *)"hi", 2, 0);
    ck_assert_int_eq(lwq_msg_future_wait(f, 10 * LWQ_SEC), 0);
    lwq_msg_future_del(f);
    lwq_msgcli_del(c);
    lwq_msgsrv_del(s);
}
END_TEST

Suite *suite_app_msg(void)
{
    Suite *s = suite_create("app_msg");
    TCase *tc = lwq_test_tcase("app_msg");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_echo_beyond_max_streams);
    tcase_add_test(tc, test_tagged_batches);
    tcase_add_test(tc, test_handler_failure_and_empty);
    tcase_add_test(tc, test_size_limits);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_flood_bounded);
    tcase_add_test(tc, test_buffer_bounded);
    tcase_add_test(tc, test_server_goes_away);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
