/* The default qlog is the 0.3 / draft-02 JSON-SEQ that qvis loads: its header has qlog_version,
 * qlog_format "JSON-SEQ" and a trace with vantage_point and relative times; events are
 * {time, name "category:event", data} in time order with the fields qvis reads. */
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "conn_pair.h"

typedef struct qfile {
    char *buf;
    size_t len, cap;
} qfile;

static qfile qf[2];

static void *q_open(void *ud, int is_server, const uint8_t *odcid, size_t len)
{
    return &qf[is_server];
}

static void q_write(void *h, const char *rec, size_t len)
{
    qfile *f = h;
    if (f->len + len + 1 > f->cap) {
        f->cap = (f->len + len + 1) * 2;
        f->buf = realloc(f->buf, f->cap);
        ck_assert_ptr_nonnull(f->buf);
    }
    memcpy(f->buf + f->len, rec, len);
    f->len += len;
    f->buf[f->len] = 0;
}

static void q_close(void *h)
{
    (void)h;
}

static int streamed(pair *p)
{
    static uint8_t buf[70000];
    int fin = 0;
    lwq_event ev;
    while (p->server && lwq_conn_next_event(p->server, &ev) == 1)
        if (ev.type == LWQ_EV_STREAM_READABLE)
            while (lwq_stream_read(p->server, ev.stream_id, buf, sizeof(buf), &fin) > 0 || fin)
                if (fin)
                    return 1;
    return 0;
}

/* A copy of record i (0 = header) without RS/LF, or NULL past the end. */
static char *record(const qfile *f, size_t i, char *out, size_t cap)
{
    const char *p = f->buf;
    for (size_t k = 0; p && *p; k++) {
        const char *end = strchr(p, '\n');
        ck_assert_ptr_nonnull(end);
        if (k == i) {
            size_t n = (size_t)(end - p - 1) < cap - 1 ? (size_t)(end - p - 1) : cap - 1;
            memcpy(out, p + 1, n);
            out[n] = 0;
            return out;
        }
        p = end + 1;
    }
    return NULL;
}

static int has(const char *s, const char *what)
{
    return strstr(s, what) != NULL;
}

static void check_side(const qfile *f, int server)
{
    static char r[1 << 20];
    ck_assert_ptr_nonnull(record(f, 0, r, sizeof(r)));
    ck_assert_ptr_nonnull(lwq_test_json_value(r));
    ck_assert_msg(!strncmp(r, "{\"qlog_version\":\"0.3\",\"qlog_format\":\"JSON-SEQ\",", 46), "header: %.200s", r);
    ck_assert(has(r, "\"trace\":{\"vantage_point\":{\"name\":\"lwquic\",\"type\":"));
    ck_assert(has(r, server ? "\"type\":\"server\"" : "\"type\":\"client\""));
    ck_assert(has(r, "\"time_format\":\"relative\",\"reference_time\":"));
    ck_assert(!has(r, "file_schema"));
    double last = 0;
    int seen[10] = {0};
    const char *names[] = {"connectivity:connection_started",
                           "transport:parameters_set",
                           "transport:packet_sent",
                           "transport:packet_received",
                           "recovery:metrics_updated",
                           "recovery:packet_lost",
                           "connectivity:connection_closed",
                           "\"owner\":\"local\"",
                           "\"owner\":\"remote\"",
                           "\"src_port\":"};
    for (size_t i = 1; record(f, i, r, sizeof(r)); i++) {
        const char *end = lwq_test_json_value(r);
        ck_assert_msg(end && !*end, "record %zu is not one JSON value: %.200s", i, r);
        ck_assert_msg(!strncmp(r, "{\"time\":", 8), "record %zu: %.100s", i, r);
        double t = strtod(r + 8, NULL);
        ck_assert_msg(t >= last, "record %zu goes back in time: %f < %f", i, t, last);
        last = t;
        const char *name = strstr(r, ",\"name\":\"");
        ck_assert_ptr_nonnull(name);
        name += 9;
        ck_assert_msg(!strncmp(name, "connectivity:", 13) || !strncmp(name, "transport:", 10) ||
                          !strncmp(name, "recovery:", 9) || !strncmp(name, "security:", 9) ||
                          !strncmp(name, "http:", 5),
                      "record %zu has a category qvis does not know: %.60s", i, name);
        ck_assert(has(r, "\"data\":{"));
        if (!strncmp(name, "transport:packet_", 17)) {
            ck_assert_msg(has(r, "\"header\":{\"packet_type\":\"") && has(r, "\"packet_number\":") &&
                              has(r, "\"raw\":{\"length\":") && has(r, "\"frames\":["),
                          "packet event without what qvis draws: %.300s", r);
        }
        if (!strncmp(name, "recovery:metrics_updated", 24))
            ck_assert(has(r, "\"min_rtt\":") && has(r, "\"smoothed_rtt\":") && has(r, "\"congestion_window\":") &&
                      has(r, "\"bytes_in_flight\":"));
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (has(r, names[k]))
                seen[k] = 1;
    }
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (k != 5) /* loss: either side, checked by the caller */
            ck_assert_msg(seen[k], "%s qlog lacks %s", server ? "server" : "client", names[k]);
}

START_TEST(test_default_qlog_is_qvis_0_3)
{
    pair p;
    memset(qf, 0, sizeof(qf));
    pair_init(&p, 11);
    p.ccfg.qlog_open = p.scfg.qlog_open = q_open;
    p.ccfg.qlog_write = p.scfg.qlog_write = q_write;
    p.ccfg.qlog_close = p.scfg.qlog_close = q_close;
    p.loss_pct = 5;
    struct sockaddr_in *l = (struct sockaddr_in *)&p.path.local, *r = (struct sockaddr_in *)&p.path.remote;
    l->sin_family = r->sin_family = AF_INET;
    l->sin_addr.s_addr = r->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l->sin_port = htons(50000);
    r->sin_port = htons(4433);
    p.path.local_len = p.path.remote_len = sizeof(*l);
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[60000];
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    ck_assert(pair_run(&p, streamed, 60 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_close(p.client, 7, "bye"), 0);
    pair_run(&p, NULL, 2 * LWQ_SEC);
    pair_free(&p);
    check_side(&qf[0], 0);
    check_side(&qf[1], 1);
    ck_assert(has(qf[0].buf, "recovery:packet_lost") || has(qf[1].buf, "recovery:packet_lost"));
    ck_assert(!has(qf[0].buf, "\"quic:") && !has(qf[1].buf, "\"quic:"));
    free(qf[0].buf);
    free(qf[1].buf);
}
END_TEST

Suite *suite_qlog_qvis(void)
{
    Suite *s = suite_create("qlog_qvis");
    TCase *tc = lwq_test_tcase("qlog_qvis");
    tcase_add_test(tc, test_default_qlog_is_qvis_0_3);
    suite_add_tcase(s, tc);
    return s;
}
