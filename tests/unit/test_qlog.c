/* qlog records: JSON-SEQ framing, valid JSON for every frame type and for hostile strings, limits. */
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "quic/qlog.h"

struct sink {
    char recs[8][8192];
    size_t n;
};

static void collect(void *ud, const char *rec, size_t len)
{
    struct sink *s = ud;
    ck_assert_uint_lt(s->n, 8);
    ck_assert_uint_lt(len, sizeof(s->recs[0]));
    memcpy(s->recs[s->n], rec, len);
    s->recs[s->n][len] = 0;
    s->n++;
}

/* RS, one JSON value, LF, nothing else. */
static void assert_record(const char *r)
{
    ck_assert_int_eq(r[0], 0x1e);
    const char *end = lwq_test_json_value(r + 1);
    ck_assert_msg(end != NULL, "not JSON: %s", r + 1);
    ck_assert_str_eq(end, "\n");
}

START_TEST(test_header_record)
{
    struct sink s = {.n = 0};
    lwq_qlog q;
    uint8_t odcid[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ck_assert_int_eq(lwq_qlog_init(&q, lwq_test_alloc, collect, &s, "client", odcid, 8, "test"), 0);
    ck_assert_uint_eq(s.n, 1);
    assert_record(s.recs[0]);
    ck_assert_ptr_nonnull(strstr(s.recs[0], "\"file_schema\":\"urn:ietf:params:qlog:file:sequential\""));
    ck_assert_ptr_nonnull(strstr(s.recs[0], "\"group_id\":\"0001020304050607\""));
    ck_assert_ptr_nonnull(strstr(s.recs[0], "\"type\":\"client\""));
    ck_assert_ptr_nonnull(strstr(s.recs[0], LWQ_QLOG_EVENT_SCHEMA));
    lwq_qlog_free(&q);
}
END_TEST

START_TEST(test_packet_with_every_frame)
{
    struct sink s = {.n = 0};
    lwq_qlog q;
    ck_assert_int_eq(lwq_qlog_init(&q, lwq_test_alloc, collect, &s, "server", (const uint8_t *)"x", 1, NULL), 0);
    lwq_ack_range ranges[2] = {{10, 12}, {5, 5}};
    static const uint8_t reason[] = "bad \"frame\" \\ \x01\xff";
    lwq_frame f[24];
    size_t n = 0;
    memset(f, 0, sizeof(f));
    f[n++] = (lwq_frame){.type = LWQ_FRAME_PADDING, .u.padding_len = 100};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_PING};
    f[n].type = LWQ_FRAME_ACK_ECN;
    f[n].u.ack = (lwq_frame_ack){.largest = 12, .ack_delay = 125, .ranges = ranges, .range_count = 2, .ce = 1};
    n++;
    f[n++] = (lwq_frame){.type = LWQ_FRAME_RESET_STREAM, .u.reset_stream = {4, 7, 1000}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_STOP_SENDING, .u.stop_sending = {4, 7}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_CRYPTO, .u.crypto = {0, NULL, 300}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_NEW_TOKEN, .u.new_token = {(const uint8_t *)"t", 1}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_STREAM | LWQ_STREAM_BIT_FIN, .u.stream = {8, 5, NULL, 10, 1, 1}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_MAX_DATA, .u.max_data = 1 << 20};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_MAX_STREAM_DATA, .u.max_stream_data = {4, 99}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_MAX_STREAMS_UNI, .u.max_streams = 3};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_DATA_BLOCKED, .u.max_data = 5};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_STREAM_DATA_BLOCKED, .u.max_stream_data = {4, 6}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_STREAMS_BLOCKED_BIDI, .u.max_streams = 2};
    f[n].type = LWQ_FRAME_NEW_CONNECTION_ID;
    f[n].u.new_cid.seq = 1;
    f[n].u.new_cid.cid.len = 4;
    n++;
    f[n++] = (lwq_frame){.type = LWQ_FRAME_RETIRE_CONNECTION_ID, .u.retire_seq = 0};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_PATH_CHALLENGE, .u.path_data = {1, 2, 3, 4, 5, 6, 7, 8}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_PATH_RESPONSE};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_CONNECTION_CLOSE, .u.close = {0x0a, 0x08, reason, sizeof(reason) - 1}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_CONNECTION_CLOSE_APP, .u.close = {3, 0, NULL, 0}};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_HANDSHAKE_DONE};
    f[n++] = (lwq_frame){.type = LWQ_FRAME_DATAGRAM_LEN, .u.datagram = {NULL, 17}};
    f[n++] = (lwq_frame){.type = 0x2f};
    uint8_t dcid[4] = {0xde, 0xad, 0xbe, 0xef};
    lwq_qlog_pkt h = {.type = LWQ_PKT_1RTT, .pn = 77, .pn_len = 2, .dcid = dcid, .dcid_len = 4, .length = 1252};
    lwq_qlog_packet(&q, 1234567 * 1000ull, 1, &h, f, n, 3);
    ck_assert_uint_eq(s.n, 2);
    const char *r = s.recs[1];
    assert_record(r);
    ck_assert_ptr_nonnull(strstr(r, "\"time\":1234.567,\"name\":\"quic:packet_sent\""));
    ck_assert_ptr_nonnull(strstr(r, "\"packet_type\":\"1RTT\",\"packet_number\":77"));
    ck_assert_ptr_nonnull(strstr(r, "\"ack_delay\":1.000,\"acked_ranges\":[[10,12],[5]]"));
    ck_assert_ptr_nonnull(strstr(r, "\"reason\":\"bad \\\"frame\\\" \\\\ \\u0001\\u00ff\""));
    ck_assert_ptr_nonnull(strstr(r, "\"stream_type\":\"unidirectional\""));
    ck_assert_ptr_nonnull(strstr(r, "\"frame_type\":\"unknown\",\"frame_type_bytes\":47"));
    const char *names[] = {"padding", "ping", "ack", "reset_stream", "stop_sending", "crypto", "new_token",
                           "stream", "max_data", "max_stream_data", "max_streams", "data_blocked",
                           "stream_data_blocked", "streams_blocked", "new_connection_id", "retire_connection_id",
                           "path_challenge", "path_response", "connection_close", "handshake_done", "datagram"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"frame_type\":\"%s\"", names[i]);
        ck_assert_msg(strstr(r, want), "missing %s", want);
    }
    lwq_qlog_metrics(&q, 2 * LWQ_SEC, 10 * LWQ_MS, 12 * LWQ_MS, 11 * LWQ_MS, LWQ_MS, 12000, 2400, UINT64_MAX, 0);
    lwq_qlog_congestion_state(&q, 2 * LWQ_SEC, "slow_start", "recovery", "packet_loss");
    lwq_qlog_packet_lost(&q, 2 * LWQ_SEC, LWQ_PKT_HANDSHAKE, 3, "time_threshold");
    lwq_qlog_closed(&q, 3 * LWQ_SEC, "remote", 1, 0x100, (const uint8_t *)"bye", 3, NULL);
    ck_assert_uint_eq(s.n, 6);
    for (size_t i = 2; i < 6; i++)
        assert_record(s.recs[i]);
    ck_assert_ptr_null(strstr(s.recs[2], "ssthresh"));
    ck_assert_ptr_nonnull(strstr(s.recs[5], "\"application_code\":256"));
    lwq_qlog_free(&q);
}
END_TEST

START_TEST(test_limits_drop_records_cleanly)
{
    struct sink s = {.n = 0};
    lwq_qlog q;
    ck_assert_int_eq(lwq_qlog_init(&q, lwq_test_alloc, collect, &s, "client", NULL, 0, NULL), 0);
    q.max = 200;
    static uint8_t big[1000];
    memset(big, 'a', sizeof(big));
    lwq_qlog_begin(&q, 0, "quic:test");
    lwq_qlog_strn(&q, "blob", big, sizeof(big));
    lwq_qlog_end(&q);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(q.dropped, 1);
    q.max = 1 << 20;
    lwq_qlog_free(&q); /* the next record must allocate again */
    lwq_test_alloc_fail_at(1);
    lwq_qlog_begin(&q, 0, "quic:test");
    lwq_qlog_end(&q);
    ck_assert_uint_eq(q.dropped, 2);
    lwq_qlog_begin(&q, 0, "quic:test");
    for (int i = 0; i < 40; i++)
        lwq_qlog_obj(&q, "deep"); /* past the depth limit: dropped, never malformed */
    lwq_qlog_end(&q);
    ck_assert_uint_eq(q.dropped, 3);
    lwq_qlog_begin(&q, 0, "quic:ok");
    lwq_qlog_end(&q);
    ck_assert_uint_eq(s.n, 2);
    assert_record(s.recs[1]);
    lwq_qlog_free(&q);
}
END_TEST

Suite *suite_qlog(void)
{
    Suite *s = suite_create("qlog");
    TCase *tc = lwq_test_tcase("qlog");
    tcase_add_test(tc, test_header_record);
    tcase_add_test(tc, test_packet_with_every_frame);
    tcase_add_test(tc, test_limits_drop_records_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
