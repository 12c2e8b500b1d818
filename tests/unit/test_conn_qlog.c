/* A whole connection's qlog, both sides, over a lossy pipe: every record is JSON-SEQ, the header names the
 * schema, and the events a reader needs are there (packets of each type, losses, metrics, the close). */
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "conn_pair.h"

typedef struct qlog_file {
    char *buf;
    size_t len, cap, records;
    int closed;
} qlog_file;

static qlog_file files[2];

static void *q_open(void *ud, int is_server, const uint8_t *odcid, size_t len)
{
    (void)ud;
    ck_assert_uint_ge(len, 8);
    return &files[is_server];
}

static void q_write(void *h, const char *rec, size_t len)
{
    qlog_file *f = h;
    if (f->len + len + 1 > f->cap) {
        f->cap = (f->len + len + 1) * 2;
        f->buf = realloc(f->buf, f->cap);
        ck_assert_ptr_nonnull(f->buf);
    }
    memcpy(f->buf + f->len, rec, len);
    f->len += len;
    f->buf[f->len] = 0;
    f->records++;
}

static void q_close(void *h) { ((qlog_file *)h)->closed = 1; }

static int echoed(pair *p)
{
    static uint8_t buf[70000];
    int fin = 0;
    lwq_event ev;
    while (p->server && lwq_conn_next_event(p->server, &ev) == 1) {
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            ssize_t n;
            while ((n = lwq_stream_read(p->server, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || fin) {
                ck_assert_int_eq(lwq_stream_write(p->server, ev.stream_id, buf, n > 0 ? (size_t)n : 0, fin),
                                 n > 0 ? n : 0);
                if (fin)
                    break;
            }
        }
    }
    while (lwq_conn_next_event(p->client, &ev) == 1)
        if (ev.type == LWQ_EV_STREAM_READABLE)
            while (lwq_stream_read(p->client, ev.stream_id, buf, sizeof(buf), &fin) > 0 || fin)
                if (fin)
                    return 1;
    return 0;
}

/* Every record: RS, one JSON value, LF. Returns the number of records. */
static size_t check_seq(const qlog_file *f)
{
    size_t n = 0;
    const char *p = f->buf;
    ck_assert_ptr_nonnull(p);
    while (*p) {
        ck_assert_int_eq(*p, 0x1e);
        const char *end = lwq_test_json_value(p + 1);
        ck_assert_msg(end != NULL, "record %zu is not JSON: %.200s", n, p + 1);
        ck_assert_int_eq(*end, '\n');
        p = end + 1;
        n++;
    }
    return n;
}

START_TEST(test_qlog_of_a_lossy_connection)
{
    pair p;
    memset(files, 0, sizeof(files));
    pair_init(&p, 7);
    p.ccfg.qlog_open = p.scfg.qlog_open = q_open;
    p.ccfg.qlog_write = p.scfg.qlog_write = q_write;
    p.ccfg.qlog_format = p.scfg.qlog_format = LWQ_QLOG_MAIN; /* the main-schema names checked below */
    p.ccfg.qlog_close = p.scfg.qlog_close = q_close;
    p.loss_pct = 5;
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[60000];
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    ck_assert(pair_run(&p, echoed, 60 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_close(p.client, 7, "bye"), 0);
    pair_run(&p, NULL, 2 * LWQ_SEC);
    pair_free(&p);
    for (int side = 0; side < 2; side++) {
        const qlog_file *f = &files[side];
        ck_assert_int_eq(f->closed, 1);
        ck_assert_uint_eq(check_seq(f), f->records);
        ck_assert_uint_gt(f->records, 20);
        ck_assert_ptr_nonnull(strstr(f->buf, "\"file_schema\":\"urn:ietf:params:qlog:file:sequential\""));
        ck_assert_ptr_nonnull(strstr(f->buf, side ? "\"type\":\"server\"" : "\"type\":\"client\""));
        const char *want[] = {"quic:connection_started", "quic:packet_sent", "quic:packet_received",
                              "\"packet_type\":\"initial\"", "\"packet_type\":\"handshake\"", "\"packet_type\":\"1RTT\"",
                              "\"frame_type\":\"crypto\"", "\"frame_type\":\"ack\"", "\"frame_type\":\"stream\"",
                              "quic:recovery_metrics_updated", "quic:connection_closed"};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
            ck_assert_msg(strstr(f->buf, want[i]), "%s qlog lacks %s", side ? "server" : "client", want[i]);
    }
    ck_assert_ptr_nonnull(strstr(files[0].buf, "\"owner\":\"local\",\"application_code\":7"));
    ck_assert_ptr_nonnull(strstr(files[1].buf, "\"owner\":\"remote\",\"application_code\":7"));
    /* 5 % loss over ~100 datagrams: at least one side declared a packet lost. */
    ck_assert(strstr(files[0].buf, "quic:packet_lost") || strstr(files[1].buf, "quic:packet_lost"));
    free(files[0].buf);
    free(files[1].buf);
}
END_TEST

typedef struct trace_lines {
    char text[64][300];
    size_t n, total;
} trace_lines;

static void collect_line(void *ud, int level, const char *msg)
{
    trace_lines *t = ud;
    ck_assert(level == LWQ_LOG_INFO || level == LWQ_LOG_DEBUG);
    if (t->n < 64)
        snprintf(t->text[t->n++], sizeof(t->text[0]), "%s", msg);
    t->total++;
}

static int has_line(const trace_lines *t, const char *prefix)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strncmp(t->text[i], prefix, strlen(prefix)))
            return 1;
    return 0;
}

START_TEST(test_text_trace)
{
    pair p;
    static trace_lines info, debug;
    memset(&info, 0, sizeof(info));
    memset(&debug, 0, sizeof(debug));
    pair_init(&p, 3);
    p.ccfg.log = p.scfg.log = collect_line;
    p.ccfg.log_ud = &debug;
    p.ccfg.log_level = LWQ_LOG_DEBUG;
    p.scfg.log_ud = &info;
    p.scfg.log_level = LWQ_LOG_INFO;
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_close(p.client, 9, "finished"), 0);
    pair_run(&p, NULL, 2 * LWQ_SEC);
    pair_free(&p);
    ck_assert(has_line(&debug, "client: connection "));
    ck_assert(has_line(&debug, "client: sent initial pn=0 1200 bytes: CRYPTO(off=0 len="));
    ck_assert(has_line(&debug, "client: received initial pn=0 "));
    ck_assert(has_line(&debug, "client: received handshake pn=0 "));
    ck_assert(has_line(&debug, "client: sent 1RTT "));
    ck_assert(has_line(&debug, "client: connection closed by us: application error 0x9 (application): finished"));
    /* INFO: the life of the connection only, no packets. */
    ck_assert(has_line(&info, "server: connection "));
    ck_assert(has_line(&info, "server: connection closed by the peer: application error 0x9"));
    ck_assert_uint_le(info.total, 3);
    ck_assert_uint_gt(debug.total, 8);
}
END_TEST

Suite *suite_conn_qlog(void)
{
    Suite *s = suite_create("conn_qlog");
    TCase *tc = lwq_test_tcase("conn_qlog");
    tcase_add_test(tc, test_qlog_of_a_lossy_connection);
    tcase_add_test(tc, test_text_trace);
    suite_add_tcase(s, tc);
    return s;
}
