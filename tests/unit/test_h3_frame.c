#include <string.h>
#include "testutil.h"
#include "h3/frame.h"
#include "h3/msg.h"
#include "base/mem.h"

START_TEST(test_settings_round_trip)
{
    uint8_t buf[64];
    lwq_h3_settings s = {16384, 4096, 100}, d;
    ssize_t n = lwq_h3_settings_encode(buf, sizeof(buf), &s, 0x21 + 0x1f * 5);
    ck_assert_int_gt(n, 2);
    ck_assert_uint_eq(buf[0], LWQ_H3_FT_SETTINGS);
    ck_assert_uint_eq(buf[1], (size_t)n - 2);
    uint64_t err = 0;
    ck_assert_int_eq(lwq_h3_settings_decode(&d, buf + 2, (size_t)n - 2, &err), n - 2);
    ck_assert_uint_eq(d.max_field_section_size, 16384);
    ck_assert_uint_eq(d.qpack_max_table_capacity, 4096);
    ck_assert_uint_eq(d.qpack_blocked_streams, 100);
    for (size_t k = 1; k < (size_t)n; k++)
        ck_assert_int_eq(lwq_h3_settings_encode(buf, k, &s, 0x21 + 0x1f * 5), LWQ_ERR_NOBUF);
    /* defaults when absent (RFC 9114 §7.2.4.2) */
    ck_assert_int_eq(lwq_h3_settings_decode(&d, buf, 0, &err), 0);
    ck_assert_uint_eq(d.max_field_section_size, UINT64_MAX);
    ck_assert_uint_eq(d.qpack_max_table_capacity, 0);
}
END_TEST

START_TEST(test_settings_errors)
{
    lwq_h3_settings d;
    uint64_t err = 0;
    const uint8_t dup[] = {0x06, 0x10, 0x06, 0x11};
    ck_assert_int_lt(lwq_h3_settings_decode(&d, dup, sizeof(dup), &err), 0);
    ck_assert_uint_eq(err, LWQ_H3_SETTINGS_ERROR);
    for (uint8_t id = 2; id <= 5; id++) {
        uint8_t h2[] = {id, 0x00};
        err = 0;
        ck_assert_int_lt(lwq_h3_settings_decode(&d, h2, sizeof(h2), &err), 0);
        ck_assert_uint_eq(err, LWQ_H3_SETTINGS_ERROR);
    }
    const uint8_t trunc[] = {0x06, 0x40};
    err = 0;
    ck_assert_int_lt(lwq_h3_settings_decode(&d, trunc, sizeof(trunc), &err), 0);
    ck_assert_uint_eq(err, LWQ_H3_FRAME_ERROR);
    const uint8_t unknown[] = {0x21, 0x05, 0x40, 0x33, 0x01, 0x07, 0x09};
    ck_assert_int_eq(lwq_h3_settings_decode(&d, unknown, sizeof(unknown), &err), (ssize_t)sizeof(unknown));
    ck_assert_uint_eq(d.qpack_blocked_streams, 9);
}
END_TEST

START_TEST(test_frame_check_table)
{
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 1, LWQ_H3_FT_SETTINGS), 0);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 1, LWQ_H3_FT_GOAWAY), LWQ_H3_MISSING_SETTINGS);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, LWQ_H3_FT_SETTINGS), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, LWQ_H3_FT_DATA), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, LWQ_H3_FT_HEADERS), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 0, 0, LWQ_H3_FT_MAX_PUSH_ID), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, LWQ_H3_FT_MAX_PUSH_ID), 0);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, LWQ_H3_FT_PRIORITY_UPDATE_REQ), 0);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 0, 0, LWQ_H3_FT_PRIORITY_UPDATE_REQ),
                      LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 1, 0, LWQ_H3_FT_PRIORITY_UPDATE_PUSH),
                      LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 1, 0, LWQ_H3_FT_GOAWAY), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 1, 0, LWQ_H3_FT_SETTINGS), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 1, 0, LWQ_H3_FT_CANCEL_PUSH), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 1, 0, LWQ_H3_FT_PUSH_PROMISE), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 0, 0, LWQ_H3_FT_PUSH_PROMISE), LWQ_H3_ID_ERROR);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 0, 0, LWQ_H3_FT_DATA), 0);
    ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 0, 0, 0x21), 0);
    for (uint64_t t = 2; t <= 9; t++)
        if (t == 2 || t == 6 || t == 8 || t == 9) {
            ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_REQUEST, 0, 0, t), LWQ_H3_FRAME_UNEXPECTED);
            ck_assert_uint_eq(lwq_h3_frame_check(LWQ_H3_ON_CONTROL, 1, 0, t), LWQ_H3_FRAME_UNEXPECTED);
        }
    ck_assert(lwq_h3_is_grease(0x21));
    ck_assert(lwq_h3_is_grease(0x21 + 0x1f * 1000));
    ck_assert(!lwq_h3_is_grease(0x20));
    ck_assert(!lwq_h3_is_grease(0x22));
}
END_TEST

/* A request stream: HEADERS, a reserved frame, DATA, empty DATA, DATA, unknown type, trailing HEADERS. */
static size_t build_request_stream(uint8_t *b)
{
    size_t n = 0;
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, LWQ_H3_FT_HEADERS, 3);
    memcpy(b + n, "abc", 3);
    n += 3;
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, 0x21 + 0x1f * 7, 4);
    memcpy(b + n, "skip", 4);
    n += 4;
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, LWQ_H3_FT_DATA, 100);
    for (int i = 0; i < 100; i++)
        b[n++] = (uint8_t)i;
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, LWQ_H3_FT_DATA, 0);
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, LWQ_H3_FT_DATA, 300);
    for (int i = 0; i < 300; i++)
        b[n++] = (uint8_t)(100 + i);
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, 0x3fffffffffull, 2);
    b[n++] = 1;
    b[n++] = 2;
    n += (size_t)lwq_h3_frame_hdr_encode(b + n, 16, LWQ_H3_FT_HEADERS, 0);
    return n;
}

START_TEST(test_parser_every_split)
{
    uint8_t b[1024];
    size_t n = build_request_stream(b);
    for (size_t split = 1; split <= n; split++) {
        lwq_h3_parser ps;
        lwq_h3_parser_init(&ps, lwq_test_alloc, LWQ_H3_ON_REQUEST, 1, 64, 64);
        uint8_t data[400];
        size_t dlen = 0, headers = 0, empty_data = 0;
        char hdrs[8] = {0};
        for (size_t off = 0; off < n;) {
            size_t piece = n - off < split ? n - off : split;
            size_t used = 0;
            while (used < piece) {
                lwq_h3_pframe f;
                ssize_t k = lwq_h3_parser_feed(&ps, b + off + used, piece - used, &f);
                ck_assert_int_ge(k, 0);
                used += (size_t)k;
                if (f.kind == LWQ_H3_P_DATA) {
                    ck_assert_uint_le(dlen + f.len, sizeof(data));
                    if (f.len)
                        memcpy(data + dlen, f.p, f.len);
                    dlen += f.len;
                    empty_data += f.len == 0 && f.data_end;
                } else if (f.kind == LWQ_H3_P_FRAME) {
                    ck_assert_uint_eq(f.type, LWQ_H3_FT_HEADERS);
                    if (headers++ == 0) {
                        ck_assert_uint_eq(f.len, 3);
                        memcpy(hdrs, f.p, 3);
                    } else
                        ck_assert_uint_eq(f.len, 0);
                } else
                    ck_assert_int_eq(k, (ssize_t)(piece - used + (size_t)k));
            }
            off += piece;
        }
        ck_assert(lwq_h3_parser_at_boundary(&ps));
        ck_assert_uint_eq(headers, 2);
        ck_assert_str_eq(hdrs, "abc");
        ck_assert_uint_eq(dlen, 400);
        ck_assert_uint_ge(empty_data, 1);
        for (size_t i = 0; i < 400; i++)
            ck_assert_uint_eq(data[i], (uint8_t)i);
        lwq_h3_parser_free(&ps);
    }
}
END_TEST

START_TEST(test_parser_truncation_and_limits)
{
    uint8_t b[1024];
    size_t n = build_request_stream(b);
    /* every prefix that ends inside a frame is not a boundary */
    size_t boundaries = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        lwq_h3_parser ps;
        lwq_h3_parser_init(&ps, lwq_test_alloc, LWQ_H3_ON_REQUEST, 1, 64, 64);
        size_t off = 0;
        while (off < cut) {
            lwq_h3_pframe f;
            ssize_t k = lwq_h3_parser_feed(&ps, b + off, cut - off, &f);
            ck_assert_int_ge(k, 0);
            off += (size_t)k;
        }
        boundaries += lwq_h3_parser_at_boundary(&ps);
        lwq_h3_parser_free(&ps);
    }
    ck_assert_uint_eq(boundaries, 8); /* start and after each of the 7 frames */

    lwq_h3_parser ps;
    lwq_h3_pframe f;
    uint8_t big[16];
    size_t k = (size_t)lwq_h3_frame_hdr_encode(big, sizeof(big), LWQ_H3_FT_HEADERS, 65);
    lwq_h3_parser_init(&ps, lwq_test_alloc, LWQ_H3_ON_REQUEST, 1, 64, 64);
    ck_assert_int_eq(lwq_h3_parser_feed(&ps, big, k, &f), LWQ_ERR_LIMIT);
    ck_assert_uint_eq(ps.error, LWQ_H3_EXCESSIVE_LOAD);
    lwq_h3_parser_free(&ps);
    k = (size_t)lwq_h3_frame_hdr_encode(big, sizeof(big), LWQ_H3_FT_GOAWAY, 65);
    lwq_h3_parser_init(&ps, lwq_test_alloc, LWQ_H3_ON_CONTROL, 1, 64, 64);
    const uint8_t settings[] = {0x04, 0x00};
    ck_assert_int_eq(lwq_h3_parser_feed(&ps, settings, 2, &f), 2);
    ck_assert_uint_eq(f.kind, LWQ_H3_P_FRAME);
    ck_assert_int_eq(lwq_h3_parser_feed(&ps, big, k, &f), LWQ_ERR_PROTO);
    lwq_h3_parser_free(&ps);
    /* a huge unknown frame is skipped without buffering */
    k = (size_t)lwq_h3_frame_hdr_encode(big, sizeof(big), 0x21, 1ull << 40);
    lwq_h3_parser_init(&ps, lwq_test_alloc, LWQ_H3_ON_REQUEST, 1, 64, 64);
    ck_assert_int_eq(lwq_h3_parser_feed(&ps, big, k, &f), (ssize_t)k);
    ck_assert_uint_eq(f.kind, LWQ_H3_P_NONE);
    ck_assert_uint_eq(lwq_test_alloc_live(), 0);
    lwq_h3_parser_free(&ps);
}
END_TEST

START_TEST(test_varint_frames)
{
    uint8_t b[32];
    uint64_t v;
    ssize_t n = lwq_h3_frame_varint_encode(b, sizeof(b), LWQ_H3_FT_GOAWAY, 1000);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(lwq_h3_frame_varint_decode(&v, b + 2, 2), 2);
    ck_assert_uint_eq(v, 1000);
    ck_assert_int_lt(lwq_h3_frame_varint_decode(&v, b + 2, 1), 0);
    uint8_t extra[] = {0x05, 0x00};
    ck_assert_int_lt(lwq_h3_frame_varint_decode(&v, extra, 2), 0);
    n = lwq_h3_priority_update_encode(b, sizeof(b), 8, "u=1, i");
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(b[0], 0x80);
    const uint8_t *val;
    size_t vl;
    ck_assert_int_eq(lwq_h3_priority_update_decode(&v, &val, &vl, b + 5, (size_t)n - 5), n - 5);
    ck_assert_uint_eq(v, 8);
    ck_assert_uint_eq(vl, 6);
    ck_assert_int_lt(lwq_h3_priority_update_decode(&v, &val, &vl, b, 0), 0);
}
END_TEST

START_TEST(test_priority_parse)
{
    struct {
        const char *s;
        int u, i;
    } c[] = {{"", 3, 0},           {"u=0", 0, 0},          {"u=7, i", 7, 1}, {"i, u=5", 5, 1},
             {"u=8", 3, 0},        {"u=a", 3, 0},          {"i=?0", 3, 0},   {"i=?1;x=1", 3, 1},
             {"u=2;p, x=3", 2, 0}, {"  u=1 ,  i  ", 1, 1}, {"u=12", 3, 0},   {"foo=bar, u=4", 4, 0}};
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        uint8_t u;
        int inc;
        lwq_h3_parse_priority((const uint8_t *)c[k].s, strlen(c[k].s), &u, &inc);
        ck_assert_msg(u == c[k].u && inc == c[k].i, "%s -> u=%d i=%d", c[k].s, u, inc);
    }
}
END_TEST

static int check(int kind, const char *const *nv, size_t n, lwq_h3_msg_info *mi)
{
    lwq_h3_field f[16];
    for (size_t i = 0; i < n; i++) {
        f[i].name = (const uint8_t *)nv[2 * i];
        f[i].name_len = strlen(nv[2 * i]);
        f[i].value = (const uint8_t *)nv[2 * i + 1];
        f[i].value_len = strlen(nv[2 * i + 1]);
        f[i].flags = 0;
    }
    return lwq_h3_check_fields(f, n, kind, mi);
}

START_TEST(test_message_checks)
{
    lwq_h3_msg_info mi;
    const char *ok[] = {":method",        "GET", ":scheme",  "https", ":authority", "a",       ":path", "/",
                        "content-length", "5",   "priority", "u=1",   "te",         "trailers"};
    ck_assert_int_eq(check(LWQ_H3_MSG_REQUEST, ok, 7, &mi), 0);
    ck_assert_int_eq(mi.has_content_length, 1);
    ck_assert_uint_eq(mi.content_length, 5);
    ck_assert_uint_eq(mi.urgency, 1);
    const char *host[] = {":method", "HEAD", ":scheme", "http", ":path", "/x", "host", "h"};
    ck_assert_int_eq(check(LWQ_H3_MSG_REQUEST, host, 4, &mi), 0);
    ck_assert(mi.is_head);
    const char *connect[] = {":method", "CONNECT", ":authority", "h:443"};
    ck_assert_int_eq(check(LWQ_H3_MSG_REQUEST, connect, 2, &mi), 0);
    const char *bad[][8] = {
        {":method", "GET", ":scheme", "https", ":path", "/", NULL},             /* no authority */
        {":method", "GET", ":scheme", "https", ":authority", "a", NULL},        /* no path */
        {":method", "GET", ":method", "GET", ":scheme", "https", ":path", "/"}, /* duplicate */
        {":scheme", "https", ":authority", "a", ":path", "/", NULL},            /* no method */
        {":method", "GET", ":scheme", "https", ":authority", "a", ":path", ""}, /* empty path */
        {":method", "GET", ":status", "200", ":authority", "a", ":path", "/"},  /* response pseudo */
        {":method", "CONNECT", ":authority", "a", ":path", "/", NULL},          /* CONNECT with path */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        size_t n = 0;
        while (n < 4 && bad[k][2 * n])
            n++;
        ck_assert_msg(check(LWQ_H3_MSG_REQUEST, bad[k], n, &mi) < 0, "case %zu", k);
    }
    const char *base[] = {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/"};
    const char *badfield[][2] = {{"Content-Type", "x"},
                                 {"connection", "close"},
                                 {"keep-alive", "1"},
                                 {"transfer-encoding", "chunked"},
                                 {"upgrade", "h2"},
                                 {"te", "gzip"},
                                 {"x", "a\nb"},
                                 {"x y", "1"},
                                 {"content-length", "12a"},
                                 {":path", "/"},
                                 {"proxy-connection", "x"}};
    for (size_t k = 0; k < sizeof(badfield) / sizeof(badfield[0]); k++) {
        const char *nv[10];
        memcpy(nv, base, sizeof(base));
        nv[8] = badfield[k][0];
        nv[9] = badfield[k][1];
        ck_assert_msg(check(LWQ_H3_MSG_REQUEST, nv, 5, &mi) < 0, "field %s", badfield[k][0]);
    }
    const char *twocl[] = {":status", "200", "content-length", "1", "content-length", "2"};
    ck_assert_int_lt(check(LWQ_H3_MSG_RESPONSE, twocl, 3, &mi), 0);
    const char *sameclx[] = {":status", "204", "content-length", "1", "content-length", "1"};
    ck_assert_int_eq(check(LWQ_H3_MSG_RESPONSE, sameclx, 3, &mi), 0);
    ck_assert_int_eq(mi.status, 204);
    const char *st[][2] = {{":status", "99"}, {":status", "101"}, {":status", "2x0"}, {":status", "1000"}};
    for (size_t k = 0; k < 4; k++)
        ck_assert_int_lt(check(LWQ_H3_MSG_RESPONSE, st[k], 1, &mi), 0);
    const char *none[] = {"x", "1"};
    ck_assert_int_lt(check(LWQ_H3_MSG_RESPONSE, none, 1, &mi), 0);
    ck_assert_int_eq(check(LWQ_H3_MSG_TRAILERS, none, 1, &mi), 0);
    const char *ptrail[] = {":status", "200"};
    ck_assert_int_lt(check(LWQ_H3_MSG_TRAILERS, ptrail, 1, &mi), 0);
    const char *order[] = {":status", "200", "x", "1", ":status", "200"};
    ck_assert_int_lt(check(LWQ_H3_MSG_RESPONSE, order, 3, &mi), 0);
}
END_TEST

START_TEST(test_strerror_names)
{
    for (uint64_t c = LWQ_H3_NO_ERROR; c <= LWQ_H3_VERSION_FALLBACK; c++)
        ck_assert_int_eq(strncmp(lwq_h3_strerror(c), "H3_", 3), 0);
    for (uint64_t c = 0x200; c <= 0x202; c++)
        ck_assert_int_eq(strncmp(lwq_h3_strerror(c), "QPACK_", 6), 0);
    ck_assert_str_eq(lwq_h3_strerror(LWQ_H3_FRAME_UNEXPECTED),
                     "H3_FRAME_UNEXPECTED: frame not permitted in the current state");
    ck_assert_str_eq(lwq_h3_strerror(0x111), "unknown HTTP/3 error");
}
END_TEST

Suite *suite_h3_frame(void)
{
    Suite *s = suite_create("h3_frame");
    TCase *tc = lwq_test_tcase("h3_frame");
    tcase_add_test(tc, test_settings_round_trip);
    tcase_add_test(tc, test_settings_errors);
    tcase_add_test(tc, test_frame_check_table);
    tcase_add_test(tc, test_parser_every_split);
    tcase_add_test(tc, test_parser_truncation_and_limits);
    tcase_add_test(tc, test_varint_frames);
    tcase_add_test(tc, test_priority_parse);
    tcase_add_test(tc, test_message_checks);
    tcase_add_test(tc, test_strerror_names);
    suite_add_tcase(s, tc);
    return s;
}
