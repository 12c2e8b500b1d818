/* Hostile HTTP/3 peers (issue 19): rapid reset, QPACK encoder-stream floods, blocked-stream abuse,
 * oversized and bomb-like header sections. The server is the sans-IO HTTP/3 core (lwq_h3_conn) on the
 * counting allocator; the client is raw bytes written per stream, so every frame and QPACK instruction is
 * the test's. Each case checks the server's memory, its work (output bytes and actions per request), the
 * error code RFC 9114 / RFC 9204 ask for, and that a well-formed request on the same connection still gets
 * its response after the attack (the HTTP/3 core shares no state between connections). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lwquic/h3.h"
#include "testutil.h"

#define KB 1024

static unsigned scale(void)
{
    const char *e = getenv("LWQ_ATTACK_FULL");
    if (!e || !*e)
        return 1;
    long v = strtol(e, NULL, 10);
    return v <= 1 ? 20 : (unsigned)v;
}

typedef struct hsrv {
    lwq_h3_conn *h;
    uint64_t requests, actions, resets, out_bytes, pumps;
    int closed;
    uint64_t close_code;
    int64_t watch; /* a stream whose response we wait for */
    int watch_done;
    int64_t stream_errors[8];
    uint64_t stream_error_codes[8];
    size_t nstream_errors;
} hsrv;

static const uint8_t body[1000];

static void pump(hsrv *s)
{
    s->pumps++;
    lwq_h3_action a;
    lwq_h3_event ev;
    for (int round = 0; round < 4; round++) {
        while (lwq_h3_conn_next_action(s->h, &a)) {
            s->actions++;
            if (a.type == LWQ_H3_ACT_CLOSE && !s->closed) {
                s->closed = 1;
                s->close_code = a.error_code;
            }
            if (a.type == LWQ_H3_ACT_RESET || a.type == LWQ_H3_ACT_STOP_SENDING) {
                s->resets++;
                if (s->nstream_errors < 8) {
                    s->stream_errors[s->nstream_errors] = a.stream_id;
                    s->stream_error_codes[s->nstream_errors++] = a.error_code;
                }
            }
        }
        while (lwq_h3_conn_next_event(s->h, &ev))
            if (ev.type == LWQ_H3_EV_REQUEST && !s->closed) {
                s->requests++;
                lwq_h3_body b = {body, sizeof(body), NULL, NULL};
                (void)lwq_h3_conn_submit_response(s->h, ev.stream_id, 200, NULL, 0, &b);
            }
        int64_t id;
        const uint8_t *p;
        size_t len;
        int fin;
        for (int g = 0; g < 100000 && lwq_h3_conn_next_output(s->h, &id, &p, &len, &fin); g++) {
            s->out_bytes += len;
            if (fin && id == s->watch)
                s->watch_done = 1;
            lwq_h3_conn_output_done(s->h, id, len, 0);
        }
    }
}

static void start(hsrv *s, const lwq_h3_config *cfg_in)
{
    memset(s, 0, sizeof(*s));
    lwq_h3_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_conn_new(&s->h, 1, &cfg), 0);
    ck_assert_int_eq(lwq_h3_conn_bind_streams(s->h, 3, 7, 11), 0);
    s->watch = -1;
    /* the client's control stream with empty SETTINGS, its QPACK streams */
    static const uint8_t ctl[] = {0x00, 0x04, 0x00}, enc[] = {0x02}, dec[] = {0x03};
    ck_assert_int_eq(lwq_h3_conn_recv_stream(s->h, 2, ctl, sizeof(ctl), 0), (ssize_t)sizeof(ctl));
    ck_assert_int_eq(lwq_h3_conn_recv_stream(s->h, 6, enc, 1, 0), 1);
    ck_assert_int_eq(lwq_h3_conn_recv_stream(s->h, 10, dec, 1, 0), 1);
    pump(s);
    lwq_test_alloc_peak_reset();
}

/* An N-bit-prefix integer (RFC 9204 §4.1.1) with the bits above the prefix in `top`. */
static size_t pint(uint8_t *out, uint8_t top, int bits, uint64_t v)
{
    uint64_t max = (1u << bits) - 1;
    if (v < max) {
        out[0] = (uint8_t)(top | v);
        return 1;
    }
    out[0] = (uint8_t)(top | max);
    v -= max;
    size_t n = 1;
    while (v >= 128) {
        out[n++] = (uint8_t)(0x80 | (v & 127));
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static size_t varint(uint8_t *out, uint64_t v)
{
    if (v < 64) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v < 16384) {
        out[0] = (uint8_t)(0x40 | v >> 8);
        out[1] = (uint8_t)v;
        return 2;
    }
    out[0] = (uint8_t)(0x80 | v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return 4;
}

/* GET https://x/ from the static table (RFC 9204 Appendix A: 17 :method GET, 23 :scheme https, 1 :path /,
 * 0 :authority with a literal value), in a HEADERS frame. */
static size_t get_request(uint8_t *out)
{
    static const uint8_t sec[] = {0x00, 0x00, 0xd1, 0xd7, 0xc1, 0x50, 0x01, 'x'};
    size_t n = varint(out, 0x01);
    n += varint(out + n, sizeof(sec));
    memcpy(out + n, sec, sizeof(sec));
    return n + sizeof(sec);
}

static void feed(hsrv *s, int64_t id, const uint8_t *p, size_t n, int fin)
{
    ssize_t k = lwq_h3_conn_recv_stream(s->h, id, p, n, fin);
    ck_assert(k >= 0 || s->closed || k == LWQ_ERR_PROTO);
}

/* After the attack, a well-formed request on a fresh stream gets its whole response. */
static void assert_serves(hsrv *s, int64_t id)
{
    ck_assert_msg(!s->closed, "the connection closed with 0x%llx", (unsigned long long)s->close_code);
    uint8_t r[64];
    s->watch = id;
    feed(s, id, r, get_request(r), 1);
    pump(s);
    ck_assert_msg(s->watch_done, "no response on stream %lld", (long long)id);
}

/* Rapid reset (CVE-2023-44487 over HTTP/3): thousands of requests each reset right after its HEADERS. Every
 * stream's state is freed with its reset, so memory stays flat however many there are, the server's output
 * per reset request is bounded (its response, cut short), and the connection then serves a request. */
START_TEST(test_rapid_reset)
{
    hsrv s;
    start(&s, NULL);
    size_t base = lwq_test_alloc_live_bytes();
    uint64_t n = 5000 * scale();
    uint8_t req[64];
    size_t rl = get_request(req);
    for (uint64_t i = 0; i < n; i++) {
        int64_t id = (int64_t)(4 * i);
        feed(&s, id, req, rl, 0);
        ck_assert_int_eq(lwq_h3_conn_stream_reset(s.h, id, LWQ_H3_REQUEST_CANCELLED), 0);
        if (i % 16 == 15)
            pump(&s);
        ck_assert(!s.closed);
    }
    pump(&s);
    size_t peak = lwq_test_alloc_peak_bytes() - base, live = lwq_test_alloc_live_bytes() - base;
    ck_assert_msg(peak <= 256 * KB, "peak %zu bytes over the baseline for %llu resets", peak, (unsigned long long)n);
    ck_assert_msg(live <= 16 * KB, "%zu bytes still held after the resets", live);
    ck_assert_msg(s.out_bytes <= n * (sizeof(body) + 64), "%llu output bytes", (unsigned long long)s.out_bytes);
    ck_assert_uint_le(s.actions, 2 * n);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "rapid_reset: %llu streams, peak %zu, output %llu bytes, %llu actions\n",
                (unsigned long long)n, peak, (unsigned long long)s.out_bytes, (unsigned long long)s.actions);
    assert_serves(&s, (int64_t)(4 * n));
    lwq_h3_conn_del(s.h);
}
END_TEST

static size_t insert_literal(uint8_t *out, size_t name_len, size_t value_len, unsigned salt)
{
    size_t n = pint(out, 0x40, 5, name_len); /* 01 H=0 name length */
    for (size_t i = 0; i < name_len; i++)
        out[n++] = (uint8_t)('a' + (salt + i) % 26);
    n += pint(out + n, 0x00, 7, value_len);
    memset(out + n, 'v', value_len);
    return n + value_len;
}

/* An insert flood on the encoder stream (RFC 9204 §4.3): tens of thousands of entries into a 4 KiB dynamic
 * table. Eviction keeps the table at its capacity, the decoder stream's acknowledgements stay a few bytes per
 * insert, and the connection goes on serving. */
START_TEST(test_qpack_insert_flood)
{
    hsrv s;
    start(&s, NULL);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t buf[8192];
    size_t n = pint(buf, 0x20, 5, 4096); /* Set Dynamic Table Capacity */
    feed(&s, 6, buf, n, 0);
    uint64_t inserts = 20000 * scale();
    for (uint64_t i = 0; i < inserts;) {
        n = 0;
        for (int k = 0; k < 64; k++, i++)
            n += insert_literal(buf + n, 10, 50, (unsigned)i);
        feed(&s, 6, buf, n, 0);
        pump(&s);
        ck_assert(!s.closed);
    }
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 4096 + 32 * KB, "peak %zu bytes for a 4 KiB table", peak);
    ck_assert_uint_le(s.out_bytes, 4 * inserts + 64);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "qpack_insert_flood: %llu inserts, peak %zu, decoder stream %llu bytes\n",
                (unsigned long long)inserts, peak, (unsigned long long)s.out_bytes);
    assert_serves(&s, 0);
    lwq_h3_conn_del(s.h);
}
END_TEST

/* RFC 9204 §3.2.2, §4.3.1: an entry larger than the table, or a capacity above the one we announced, is a
 * QPACK_ENCODER_STREAM_ERROR. */
START_TEST(test_qpack_oversized)
{
    uint8_t buf[8192];
    hsrv s;
    start(&s, NULL);
    size_t n = pint(buf, 0x20, 5, 4096);
    n += insert_literal(buf + n, 100, 5000, 0);
    feed(&s, 6, buf, n, 0);
    pump(&s);
    ck_assert(s.closed);
    ck_assert_uint_eq(s.close_code, 0x201);
    lwq_h3_conn_del(s.h);

    start(&s, NULL);
    n = pint(buf, 0x20, 5, 1u << 30);
    feed(&s, 6, buf, n, 0);
    pump(&s);
    ck_assert(s.closed);
    ck_assert_uint_eq(s.close_code, 0x201);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes(), lwq_test_alloc_live_bytes() + 4 * KB);
    lwq_h3_conn_del(s.h);
}
END_TEST

/* A header section that waits for inserts that never come (Required Insert Count 100) with 8 KiB of field
 * lines behind it, on more streams than the 16 blocked streams we announced: the decoder holds at most 16
 * sections, and the 17th is a connection error QPACK_DECOMPRESSION_FAILED (RFC 9204 §2.1.2). */
START_TEST(test_qpack_blocked_streams)
{
    hsrv s;
    start(&s, NULL);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t buf[16384];
    size_t n = pint(buf, 0x20, 5, 4096);
    feed(&s, 6, buf, n, 0);
    pump(&s);
    /* the section: Encoded Required Insert Count = 100 % (2 * 128) + 1, Base 0, then literals */
    uint8_t sec[8400];
    size_t sl = pint(sec, 0, 8, 101);
    sl += pint(sec + sl, 0, 7, 0);
    while (sl + 40 < 8 * KB) {
        sec[sl++] = 0x20 | 5; /* literal with literal name, 3-bit name length prefix */
        memcpy(sec + sl, "xname", 5);
        sl += 5;
        sl += pint(sec + sl, 0, 7, 20);
        memset(sec + sl, 'y', 20);
        sl += 20;
    }
    int blocked_ok = 0;
    for (int i = 0; i < 40 && !s.closed; i++) {
        n = varint(buf, 0x01);
        n += varint(buf + n, sl);
        memcpy(buf + n, sec, sl);
        n += sl;
        feed(&s, 4 * i, buf, n, 0);
        pump(&s);
        if (!s.closed)
            blocked_ok = i + 1;
    }
    ck_assert(s.closed);
    ck_assert_uint_eq(s.close_code, 0x200);
    ck_assert_int_eq(blocked_ok, 16);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 17 * (2 * 8 * KB + 4 * KB), "peak %zu bytes", peak);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "qpack_blocked_streams: %d blocked, peak %zu\n", blocked_ok, peak);
    lwq_h3_conn_del(s.h);
}
END_TEST

/* A HEADERS frame announcing 10 MB, and one section with 1,000 field lines (over max_fields, 256), on
 * thousands of streams: each is refused as a stream error (RFC 9114 §4.2.2, §10.5.1: H3_EXCESSIVE_LOAD)
 * before anything near its size is buffered; the connection lives on and serves. */
START_TEST(test_header_floods)
{
    hsrv s;
    start(&s, NULL);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t buf[16384];
    uint64_t rounds = 1000 * scale();
    for (uint64_t i = 0; i < rounds; i++) {
        int64_t id = (int64_t)(4 * i);
        size_t n = varint(buf, 0x01);
        if (i & 1) {
            n += varint(buf + n, 10000000);
            memset(buf + n, 0x51, 4096);
            n += 4096;
        } else {
            uint8_t sec[4096];
            size_t sl = 2;
            sec[0] = sec[1] = 0;
            for (int k = 0; k < 1000; k++)
                sec[sl++] = 0xc0 | 31; /* accept-encoding: gzip, deflate, br: 1 byte, 29 decoded */
            n += varint(buf + n, sl);
            memcpy(buf + n, sec, sl);
            n += sl;
        }
        feed(&s, id, buf, n, 0);
        pump(&s);
        ck_assert_msg(!s.closed, "closed with 0x%llx at %llu", (unsigned long long)s.close_code,
                      (unsigned long long)i);
    }
    ck_assert_uint_ge(s.resets, rounds);
    for (size_t i = 0; i < s.nstream_errors; i++)
        ck_assert_msg(s.stream_error_codes[i] == LWQ_H3_EXCESSIVE_LOAD ||
                          s.stream_error_codes[i] == LWQ_H3_MESSAGE_ERROR ||
                          s.stream_error_codes[i] == LWQ_H3_REQUEST_REJECTED,
                      "stream error 0x%llx", (unsigned long long)s.stream_error_codes[i]);
    ck_assert_uint_eq(s.requests, 0);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 128 * KB, "peak %zu bytes", peak);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "header_floods: %llu streams, peak %zu, first code 0x%llx\n", (unsigned long long)rounds, peak,
                (unsigned long long)s.stream_error_codes[0]);
    assert_serves(&s, (int64_t)(4 * rounds));
    lwq_h3_conn_del(s.h);
}
END_TEST

/* A QPACK bomb: one 4 KiB dynamic entry referenced 1,000 times by a 2 KiB section decodes to 4 MB. Decoding
 * stops at max_field_section_size (64 KiB) with a stream error and never holds the expansion. */
START_TEST(test_qpack_bomb)
{
    hsrv s;
    start(&s, NULL);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t buf[8192];
    size_t n = pint(buf, 0x20, 5, 4096);
    n += insert_literal(buf + n, 8, 4000, 0);
    feed(&s, 6, buf, n, 0);
    pump(&s);
    ck_assert(!s.closed);
    for (uint64_t r = 0; r < 50 * scale(); r++) {
        uint8_t sec[2048];
        size_t sl = pint(sec, 0, 8, 2); /* Required Insert Count 1: (1 % 256) + 1 */
        sl += pint(sec + sl, 0, 7, 0);  /* Base = 1, delta 0 */
        for (int k = 0; k < 1000; k++)
            sec[sl++] = 0x80; /* indexed, dynamic, relative index 0 */
        n = varint(buf, 0x01);
        n += varint(buf + n, sl);
        memcpy(buf + n, sec, sl);
        n += sl;
        feed(&s, (int64_t)(4 * r), buf, n, 0);
        pump(&s);
        ck_assert_msg(!s.closed, "closed with 0x%llx", (unsigned long long)s.close_code);
    }
    ck_assert_uint_eq(s.requests, 0);
    ck_assert_uint_ge(s.resets, 50);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 256 * KB, "peak %zu bytes", peak);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "qpack_bomb: peak %zu, first code 0x%llx\n", peak, (unsigned long long)s.stream_error_codes[0]);
    assert_serves(&s, 4 * 50 * (int64_t)scale());
    lwq_h3_conn_del(s.h);
}
END_TEST

Suite *suite_attack_h3(void)
{
    Suite *s = suite_create("attack_h3");
    TCase *tc = lwq_test_tcase("attack_h3");
    tcase_add_test(tc, test_rapid_reset);
    tcase_add_test(tc, test_qpack_insert_flood);
    tcase_add_test(tc, test_qpack_oversized);
    tcase_add_test(tc, test_qpack_blocked_streams);
    tcase_add_test(tc, test_header_floods);
    tcase_add_test(tc, test_qpack_bomb);
    suite_add_tcase(s, tc);
    return s;
}
