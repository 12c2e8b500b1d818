/* Pacing on a whole connection (RFC 9002 §7.7): a GSO batch stops at the pacing budget, the next
 * timeout names the release time, and the qlog reports the controller's states and pacing rate. */
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "conn_pair.h"

START_TEST(test_pacer_release_matches_next)
{
    lwq_pacer p;
    lwq_pacer_init(&p, 1200);
    ck_assert_uint_eq(lwq_pacer_release(&p, 1200, 5), 5); /* no rate: never held */
    lwq_pacer_update(&p, 120000, 100 * LWQ_MS, 0, 0);
    lwq_pacer_on_sent(&p, 12000, 0);
    for (lwq_tstamp now = 0; now < 3 * LWQ_MS; now += 100 * 1000) {
        lwq_tstamp r = lwq_pacer_release(&p, 1200, now);
        ck_assert_uint_ge(r, now);
        lwq_pacer copy = p;
        ck_assert_uint_eq(r, lwq_pacer_next(&copy, 1200, now)); /* same answer, without side effects */
    }
}
END_TEST

static int big_cwnd(pair *p)
{
    return p->client->rec.cc.cwnd >= 60000 && p->client->rec.rtt.has_sample;
}

static void drain_server(pair *p)
{
    static uint8_t buf[65536];
    lwq_event ev;
    int fin;
    while (p->server && lwq_conn_next_event(p->server, &ev) == 1)
        ;
    while (p->server && lwq_stream_read(p->server, 0, buf, sizeof(buf), &fin) > 0)
        ;
}

static int drained(pair *p)
{
    drain_server(p);
    return big_cwnd(p);
}

/* With a large window and plenty of data, one lwq_conn_send of up to 64 segments at a single instant
 * releases no more than the pacer's bucket; lwq_conn_next_timeout then names the release time, not
 * a time in the past, and at that time the next batch goes out. */
START_TEST(test_gso_batch_within_pacing_budget)
{
    pair p;
    pair_init(&p, 11);
    p.scfg.initial_max_data = p.scfg.max_window = 32 << 20;
    p.scfg.initial_max_stream_data_bidi_remote = p.scfg.max_stream_window = 16 << 20;
    p.ccfg.stream_send_buffer = 4 << 20;
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[4 << 20];
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 0), (ssize_t)sizeof(data));
    ck_assert(pair_run(&p, drained, 30 * LWQ_SEC));
    pair_flush(&p);
    lwq_conn *c = p.client;
    /* Let the bucket fill, then take whole batches at one instant. */
    lwq_tstamp now = p.now + 50 * LWQ_MS;
    static uint8_t out[64 * 1500];
    lwq_path path;
    size_t seg, total = 0;
    uint8_t ecn;
    ssize_t n;
    c->rec.cc.cwnd += 300000; /* the window alone would let 64 segments go */
    while ((n = lwq_conn_send(c, &path, out, sizeof(out), 64, &seg, &ecn, now)) > 0)
        total += (size_t)n;
    ck_assert_uint_gt(total, 2 * 1200);
    ck_assert_uint_le(total, (size_t)c->rec.pacer.burst + 1200);
    ck_assert_uint_lt(c->rec.cc.bytes_in_flight, c->rec.cc.cwnd); /* held by the pacer, not the window */
    lwq_tstamp t = lwq_conn_next_timeout(c);
    ck_assert_uint_gt(t, now);
    ck_assert_uint_eq(t, lwq_recovery_pacing_time(&c->rec, now));
    ck_assert_ptr_null(lwq_conn_check(c, now));
    ck_assert_int_eq(lwq_conn_handle_timeout(c, t), 0);
    n = lwq_conn_send(c, &path, out, sizeof(out), 64, &seg, &ecn, t);
    ck_assert_int_ge(n, 1200);
    ck_assert_ptr_null(lwq_conn_check(c, t));
    pair_free(&p);
}
END_TEST

typedef struct qlog_buf {
    char *buf;
    size_t len, cap;
} qlog_buf;

static qlog_buf qb;

static void *q_open(void *ud, int is_server, const uint8_t *odcid, size_t len)
{
    (void)ud, (void)odcid, (void)len;
    return is_server ? NULL : &qb;
}

static void q_write(void *h, const char *rec, size_t len)
{
    qlog_buf *f = h;
    if (f->len + len + 1 > f->cap) {
        f->cap = (f->len + len + 1) * 2;
        f->buf = realloc(f->buf, f->cap);
        ck_assert_ptr_nonnull(f->buf);
    }
    memcpy(f->buf + f->len, rec, len);
    f->len += len;
    f->buf[f->len] = 0;
}

static void q_close(void *h) { (void)h; }

static int drain_only(pair *p)
{
    drain_server(p);
    return 0;
}

/* A transfer over a lossy pipe: the client's qlog holds congestion_state_updated events through slow
 * start, recovery and congestion avoidance, and metrics with a pacing rate; every record is JSON. */
START_TEST(test_qlog_congestion_states)
{
    pair p;
    memset(&qb, 0, sizeof(qb));
    pair_init(&p, 12);
    p.ccfg.qlog_open = q_open;
    p.ccfg.qlog_write = q_write;
    p.ccfg.qlog_format = LWQ_QLOG_MAIN;
    p.ccfg.qlog_close = q_close;
    p.loss_pct = 3;
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[200000];
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    pair_run(&p, drain_only, 20 * LWQ_SEC);
    ck_assert_uint_gt(p.client->rec.packets_lost, 0);
    pair_free(&p);
    ck_assert_ptr_nonnull(qb.buf);
    size_t n = 0;
    for (const char *q = qb.buf; *q; n++) {
        ck_assert_int_eq(*q, 0x1e);
        const char *end = lwq_test_json_value(q + 1);
        ck_assert_msg(end && *end == '\n', "record %zu is not JSON: %.200s", n, q + 1);
        q = end + 1;
    }
    const char *want[] = {"\"name\":\"quic:congestion_state_updated\"", "\"new\":\"slow_start\"",
                          "\"new\":\"recovery\",\"trigger\":\"loss\"", "\"new\":\"congestion_avoidance\"",
                          "\"old\":\"recovery\"", "\"pacing_rate\":", "\"ssthresh\":"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(qb.buf, want[i]), "qlog lacks %s", want[i]);
    free(qb.buf);
}
END_TEST

Suite *suite_pacer(void)
{
    Suite *s = suite_create("pacer");
    TCase *tc = lwq_test_tcase("pacer");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pacer_release_matches_next);
    tcase_add_test(tc, test_gso_batch_within_pacing_budget);
    tcase_add_test(tc, test_qlog_congestion_states);
    suite_add_tcase(s, tc);
    return s;
}
