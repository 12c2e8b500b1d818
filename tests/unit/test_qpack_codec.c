#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lwquic/qpack.h"
#include "qpack/codec.h"

#define F(n, v)                                                                                                        \
    {                                                                                                                  \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                                    \
    }

/* One "Stream: X" chunk of RFC 9204 Appendix B: X is Encoder, Decoder or a stream id. */
typedef struct step {
    char who;     /* 'E', 'D' or 'S' */
    uint64_t sid; /* for 'S' */
    uint8_t bytes[128];
    size_t len;
} step;

static size_t load_appendix_b(step *steps, size_t max)
{
    size_t len, n = 0;
    char *md = (char *)lwq_test_read_file(lwq_test_shared_path("specs/rfc9204.md"), &len);
    ck_assert_ptr_nonnull(md);
    md = realloc(md, len + 1);
    md[len] = 0;
    char *p = strstr(md, "# Encoding and Decoding Examples");
    char *end = strstr(md, "# Sample Single-Pass Encoding Algorithm");
    ck_assert(p && end);
    while ((p = strstr(p, "Stream: ")) && p < end) {
        ck_assert_uint_lt(n, max);
        step *s = &steps[n++];
        memset(s, 0, sizeof(*s));
        p += 8;
        s->who = *p == 'E' ? 'E' : *p == 'D' ? 'D' : 'S';
        if (s->who == 'S')
            s->sid = strtoull(p, NULL, 10);
        p = strchr(p, '\n') + 1;
        char hex[512] = "";
        for (;;) {
            char *eol = strchr(p, '\n'), *bar = strchr(p, '|');
            if (!eol || !bar || bar > eol)
                break;
            strncat(hex, p, (size_t)(bar - p));
            p = eol + 1;
        }
        s->len = lwq_test_unhex(hex, s->bytes, sizeof(s->bytes));
        ck_assert_uint_gt(s->len, 0);
    }
    free(md);
    return n;
}

static int has_field(const lwq_qpack_headers *h, size_t i, const char *name, const char *value)
{
    return i < h->count && h->fields[i].name_len == strlen(name) && h->fields[i].value_len == strlen(value) &&
           memcmp(h->fields[i].name, name, strlen(name)) == 0 && memcmp(h->fields[i].value, value, strlen(value)) == 0;
}

/* RFC 9204 Appendix B, decoder side: every encoder instruction and field section in the RFC is
 * consumed and our decoder-stream output equals the RFC's, byte for byte. */
START_TEST(test_appendix_b_decoder)
{
    step steps[16], tmp;
    size_t n = load_appendix_b(steps, 16);
    ck_assert_uint_eq(n, 10);
    /* B.4: the encoder-stream packet carrying the Duplicate arrives after the cancellation. */
    ck_assert(steps[6].who == 'E' && steps[7].who == 'S' && steps[7].sid == 8 && steps[8].who == 'D');
    tmp = steps[6];
    steps[6] = steps[7];
    steps[7] = steps[8];
    steps[8] = tmp;
    lwq_qpack_decoder_config cfg = {220, 100, 0, 0};
    lwq_qpack_decoder *d;
    ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &cfg), 0);
    lwq_qpack_headers h;
    lwq_qpack_buf ds;
    lwq_qpack_headers_init(&h, lwq_test_alloc);
    lwq_qpack_buf_init(&ds, lwq_test_alloc);
    int sections = 0;
    for (size_t i = 0; i < n; i++) {
        step *s = &steps[i];
        if (s->who == 'E') {
            ck_assert_int_eq(lwq_qpack_decoder_read_encoder(d, s->bytes, s->len), (ssize_t)s->len);
        } else if (s->who == 'S') {
            int rv = lwq_qpack_decoder_decode(d, s->sid, s->bytes, s->len, &h);
            sections++;
            if (s->sid == 0) {
                ck_assert_int_eq(rv, 0);
                ck_assert(has_field(&h, 0, ":path", "/index.html"));
            } else if (s->sid == 4) {
                ck_assert_int_eq(rv, 0);
                ck_assert_uint_eq(h.count, 2);
                ck_assert(has_field(&h, 0, ":authority", "www.example.com"));
                ck_assert(has_field(&h, 1, ":path", "/sample/path"));
            } else {
                /* B.4: the Duplicate is still in flight, so stream 8 blocks and is cancelled. */
                ck_assert_uint_eq(s->sid, 8);
                ck_assert_int_eq(rv, LWQ_ERR_AGAIN);
                ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(d), 1);
                ck_assert_int_eq(lwq_qpack_decoder_cancel_stream(d, 8), 0);
                ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(d), 0);
            }
        } else {
            ds.len = 0;
            ck_assert_int_eq(lwq_qpack_decoder_write_decoder(d, &ds), 0);
            ck_assert_uint_eq(ds.len, s->len);
            ck_assert_mem_eq(ds.data, s->bytes, s->len);
        }
    }
    ck_assert_int_eq(sections, 3);
    /* The encoder stream, moved before the cancellation, must not be lost: B.5's table. */
    ck_assert_uint_eq(lwq_qpack_decoder_insert_count(d), 5);
    /* Stream 8's section decodes now; a reference to the evicted entry 0 does not. */
    ck_assert_int_eq(lwq_qpack_decoder_decode(d, 8, steps[6].bytes, steps[6].len, &h), 0);
    ck_assert_uint_eq(h.count, 3);
    ck_assert(has_field(&h, 0, ":authority", "www.example.com"));
    ck_assert(has_field(&h, 1, ":path", "/"));
    ck_assert(has_field(&h, 2, "custom-key", "custom-value"));
    static const uint8_t evicted[] = {0x02, 0x00, 0x80};
    ck_assert_int_eq(lwq_qpack_decoder_decode(d, 12, evicted, sizeof(evicted), &h), LWQ_ERR_PROTO);
    ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), LWQ_QPACK_DECOMPRESSION_FAILED);
    lwq_qpack_buf_free(&ds);
    lwq_qpack_headers_free(&h);
    lwq_qpack_decoder_del(d);
}
END_TEST

/* The same exchange from the encoder side: our instructions for B.2, B.3 and B.5 equal the
 * RFC's bytes; the RFC's decoder instructions drive the Known Received Count. */
START_TEST(test_appendix_b_encoder)
{
    step steps[16];
    ck_assert_uint_eq(load_appendix_b(steps, 16), 10);
    lwq_qpack_encoder_config cfg = {220, 0, 1};
    lwq_qpack_encoder *e;
    ck_assert_int_eq(lwq_qpack_encoder_new(&e, lwq_test_alloc, &cfg), 0);
    ck_assert_int_eq(lwq_qpack_encoder_set_peer_settings(e, 220, 100), 0);
    ck_assert_int_eq(lwq_qpack_encoder_set_peer_settings(e, 220, 100), 0);
    ck_assert_int_eq(lwq_qpack_encoder_set_peer_settings(e, 4096, 100), LWQ_ERR_STATE);
    lwq_qpack_buf es, sec;
    lwq_qpack_buf_init(&es, lwq_test_alloc);
    lwq_qpack_buf_init(&sec, lwq_test_alloc);
    lwq_qpack_encoder_stats st;

    /* B.1 */
    lwq_qpack_field f1[] = {F(":path", "/index.html")};
    ck_assert_int_eq(lwq_qpack_encoder_encode(e, 0, f1, 1, &es, &sec), 0);
    ck_assert_uint_eq(sec.len, steps[0].len);
    ck_assert_mem_eq(sec.data, steps[0].bytes, sec.len);
    /* B.2: Set Dynamic Table Capacity went out with the first section, then two inserts. */
    lwq_qpack_field f2[] = {F(":authority", "www.example.com"), F(":path", "/sample/path")};
    ck_assert_int_eq(lwq_qpack_encoder_insert(e, &f2[0], &es), 0);
    ck_assert_int_eq(lwq_qpack_encoder_insert(e, &f2[1], &es), 0);
    ck_assert_uint_eq(es.len, steps[1].len);
    ck_assert_mem_eq(es.data, steps[1].bytes, es.len);
    es.len = sec.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_encode(e, 4, f2, 2, &es, &sec), 0);
    ck_assert_uint_eq(es.len, 0);
    /* Both lines are dynamic references: Required Insert Count 2 encodes as 3 (§4.5.1.1). */
    ck_assert_uint_eq(sec.len, 4);
    ck_assert_uint_eq(sec.data[0], 0x03);
    lwq_qpack_encoder_get_stats(e, &st);
    ck_assert_uint_eq(st.blocking_streams, 1);
    ck_assert_uint_eq(st.known_received_count, 0);
    ck_assert_int_eq(lwq_qpack_encoder_read_decoder(e, steps[3].bytes, steps[3].len), 1); /* 84 */
    lwq_qpack_encoder_get_stats(e, &st);
    ck_assert_uint_eq(st.known_received_count, 2);
    ck_assert_uint_eq(st.blocking_streams, 0);
    ck_assert_uint_eq(st.unacked_sections, 0);
    /* B.3 */
    lwq_qpack_field f3 = F("custom-key", "custom-value");
    es.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_insert(e, &f3, &es), 0);
    ck_assert_uint_eq(es.len, steps[4].len);
    ck_assert_mem_eq(es.data, steps[4].bytes, es.len);
    ck_assert_int_eq(lwq_qpack_encoder_read_decoder(e, steps[5].bytes, steps[5].len), 1); /* 01 */
    lwq_qpack_encoder_get_stats(e, &st);
    ck_assert_uint_eq(st.known_received_count, 3);
    ck_assert_uint_eq(st.table_size, 160);
    /* B.4: the section references acknowledged entries only and is then cancelled (48). */
    lwq_qpack_field f4[] = {F(":authority", "www.example.com"), F(":path", "/"), F("custom-key", "custom-value")};
    es.len = sec.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_encode(e, 8, f4, 3, &es, &sec), 0);
    lwq_qpack_encoder_get_stats(e, &st);
    ck_assert_uint_eq(st.unacked_sections, 1);
    ck_assert_uint_eq(st.blocking_streams, 0);
    ck_assert_int_eq(lwq_qpack_encoder_read_decoder(e, steps[8].bytes, steps[8].len), 1);
    lwq_qpack_encoder_get_stats(e, &st);
    ck_assert_uint_eq(st.unacked_sections, 0);
    /* B.5 with our table (no Duplicate was needed): the name is the newest entry, relative 0. */
    lwq_qpack_field f5 = F("custom-key", "custom-value2");
    es.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_insert(e, &f5, &es), 0);
    ck_assert_uint_eq(es.len, steps[9].len);
    ck_assert_uint_eq(es.data[0], 0x80);
    ck_assert_mem_eq(es.data + 1, steps[9].bytes + 1, es.len - 1);
    /* Bad decoder instructions: Increment 0 is a QPACK_DECODER_STREAM_ERROR (§4.4.3). */
    static const uint8_t zero_inc[] = {0x00};
    ck_assert_int_eq(lwq_qpack_encoder_read_decoder(e, zero_inc, 1), LWQ_ERR_PROTO);
    ck_assert_uint_eq(lwq_qpack_encoder_wire_error(e), LWQ_QPACK_DECODER_STREAM_ERROR);
    ck_assert_int_eq(lwq_qpack_encoder_encode(e, 12, f4, 3, &es, &sec), LWQ_ERR_PROTO);
    lwq_qpack_buf_free(&es);
    lwq_qpack_buf_free(&sec);
    lwq_qpack_encoder_del(e);
}
END_TEST

START_TEST(test_decoder_stream_errors)
{
    static const struct {
        const char *hex;
        int ok;
    } cases[] = {
        {"84", 0},    /* ack for a stream with no unacknowledged section */
        {"02", 0},    /* increment beyond the inserts sent */
        {"00", 0},    /* increment of zero */
        {"4f 01", 1}, /* cancellations of unknown streams are harmless; then an increment of 1 */
        {"ff ff ff ff ff ff ff ff ff ff 01", 0}, /* integer overflow */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lwq_qpack_encoder *e;
        lwq_qpack_buf es, sec;
        lwq_qpack_buf_init(&es, lwq_test_alloc);
        lwq_qpack_buf_init(&sec, lwq_test_alloc);
        ck_assert_int_eq(lwq_qpack_encoder_new(&e, lwq_test_alloc, NULL), 0);
        ck_assert_int_eq(lwq_qpack_encoder_set_peer_settings(e, 4096, 10), 0);
        lwq_qpack_field f = F("x-one", "1");
        ck_assert_int_eq(lwq_qpack_encoder_insert(e, &f, &es), 0);
        uint8_t in[32];
        size_t n = lwq_test_unhex(cases[i].hex, in, sizeof(in));
        /* One byte at a time: the parser resumes at any split. */
        ssize_t rv = 0;
        for (size_t k = 0; k < n && rv >= 0; k++)
            rv = lwq_qpack_encoder_read_decoder(e, in + k, 1);
        if (cases[i].ok) {
            ck_assert_int_eq(rv, 1);
        } else {
            ck_assert_int_eq(rv, LWQ_ERR_PROTO);
            ck_assert_uint_eq(lwq_qpack_encoder_wire_error(e), LWQ_QPACK_DECODER_STREAM_ERROR);
        }
        lwq_qpack_buf_free(&es);
        lwq_qpack_buf_free(&sec);
        lwq_qpack_encoder_del(e);
    }
}
END_TEST

typedef struct pair {
    lwq_qpack_encoder *e;
    lwq_qpack_decoder *d;
    lwq_qpack_buf es, sec, ds;
    lwq_qpack_headers h;
} pair;

static void pair_init(pair *p, size_t cap, size_t blocked, size_t max_section)
{
    lwq_qpack_decoder_config dc = {cap, blocked, max_section, 0};
    ck_assert_int_eq(lwq_qpack_encoder_new(&p->e, lwq_test_alloc, NULL), 0);
    ck_assert_int_eq(lwq_qpack_decoder_new(&p->d, lwq_test_alloc, &dc), 0);
    ck_assert_int_eq(lwq_qpack_encoder_set_peer_settings(p->e, cap, blocked), 0);
    lwq_qpack_buf_init(&p->es, lwq_test_alloc);
    lwq_qpack_buf_init(&p->sec, lwq_test_alloc);
    lwq_qpack_buf_init(&p->ds, lwq_test_alloc);
    lwq_qpack_headers_init(&p->h, lwq_test_alloc);
}

static void pair_free(pair *p)
{
    lwq_qpack_encoder_del(p->e);
    lwq_qpack_decoder_del(p->d);
    lwq_qpack_buf_free(&p->es);
    lwq_qpack_buf_free(&p->sec);
    lwq_qpack_buf_free(&p->ds);
    lwq_qpack_headers_free(&p->h);
}

static void feed_back(pair *p)
{
    p->ds.len = 0;
    ck_assert_int_eq(lwq_qpack_decoder_write_decoder(p->d, &p->ds), 0);
    ck_assert_int_eq(lwq_qpack_encoder_read_decoder(p->e, p->ds.data, p->ds.len), (ssize_t)p->ds.len);
}

static int same(const lwq_qpack_headers *h, const lwq_qpack_field *f, size_t n)
{
    if (h->count != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (h->fields[i].name_len != f[i].name_len || h->fields[i].value_len != f[i].value_len ||
            memcmp(h->fields[i].name, f[i].name, f[i].name_len) ||
            memcmp(h->fields[i].value, f[i].value, f[i].value_len))
            return 0;
    return 1;
}

/* Sections that reference entries still in flight block; they resume, in order, when the
 * encoder stream arrives (byte by byte here), and the encoder never exceeds the peer's limit. */
START_TEST(test_blocked_streams_resume)
{
    pair p;
    pair_init(&p, 4096, 2, 0);
    lwq_qpack_field f[] = {F("x-a", "alpha"), F("x-b", "beta")};
    lwq_qpack_buf secs[4];
    lwq_qpack_buf enc_all;
    lwq_qpack_buf_init(&enc_all, lwq_test_alloc);
    for (int i = 0; i < 4; i++) {
        lwq_qpack_buf_init(&secs[i], lwq_test_alloc);
        /* Seen twice (history), then inserted: speculative insert makes it immediate. */
        if (i == 0) {
            ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &f[0], &enc_all), 0);
            ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &f[1], &enc_all), 0);
        }
        ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, (uint64_t)(4 * i), f, 2, &enc_all, &secs[i]), 0);
    }
    lwq_qpack_encoder_stats st;
    lwq_qpack_encoder_get_stats(p.e, &st);
    ck_assert_uint_eq(st.blocking_streams, 2);
    /* Streams 8 and 12 could not risk blocking: they are literal-only (RIC 0). */
    ck_assert_uint_eq(secs[2].data[0], 0);
    ck_assert_uint_eq(secs[3].data[0], 0);
    ck_assert_uint_ne(secs[0].data[0], 0);
    for (int i = 0; i < 4; i++) {
        int rv = lwq_qpack_decoder_decode(p.d, (uint64_t)(4 * i), secs[i].data, secs[i].len, &p.h);
        if (i < 2) {
            ck_assert_int_eq(rv, LWQ_ERR_AGAIN);
        } else {
            ck_assert_int_eq(rv, 0);
            ck_assert(same(&p.h, f, 2));
        }
    }
    ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(p.d), 2);
    uint64_t sid;
    for (size_t k = 0; k < enc_all.len; k++) {
        ck_assert_int_eq(lwq_qpack_decoder_read_encoder(p.d, enc_all.data + k, 1), 1);
        if (k + 1 < enc_all.len)
            ck_assert_int_eq(lwq_qpack_decoder_next_unblocked(p.d, &sid, &p.h), LWQ_ERR_AGAIN);
    }
    for (uint64_t want = 0; want <= 4; want += 4) {
        ck_assert_int_eq(lwq_qpack_decoder_next_unblocked(p.d, &sid, &p.h), 0);
        ck_assert_uint_eq(sid, want);
        ck_assert(same(&p.h, f, 2));
    }
    ck_assert_int_eq(lwq_qpack_decoder_next_unblocked(p.d, &sid, &p.h), LWQ_ERR_AGAIN);
    /* Two Section Acknowledgments bring the encoder's Known Received Count up. */
    feed_back(&p);
    lwq_qpack_encoder_get_stats(p.e, &st);
    ck_assert_uint_eq(st.known_received_count, 2);
    ck_assert_uint_eq(st.blocking_streams, 0);
    for (int i = 0; i < 4; i++)
        lwq_qpack_buf_free(&secs[i]);
    lwq_qpack_buf_free(&enc_all);
    pair_free(&p);
}
END_TEST

START_TEST(test_too_many_blocked_is_decompression_failed)
{
    lwq_qpack_decoder_config dc = {4096, 1, 0, 0};
    lwq_qpack_decoder *d;
    lwq_qpack_headers h;
    lwq_qpack_headers_init(&h, lwq_test_alloc);
    ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc), 0);
    /* Required Insert Count 1 with an empty table: blocked; a second stream exceeds the limit. */
    static const uint8_t sec[] = {0x02, 0x80, 0x10};
    ck_assert_int_eq(lwq_qpack_decoder_decode(d, 4, sec, sizeof(sec), &h), LWQ_ERR_AGAIN);
    ck_assert_int_eq(lwq_qpack_decoder_decode(d, 4, sec, sizeof(sec), &h), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_qpack_decoder_decode(d, 8, sec, sizeof(sec), &h), LWQ_ERR_PROTO);
    ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), LWQ_QPACK_DECOMPRESSION_FAILED);
    lwq_qpack_decoder_del(d);
    lwq_qpack_headers_free(&h);
}
END_TEST

/* Malformed field sections (RFC 9204 §2.2.3, §4.5): each is QPACK_DECOMPRESSION_FAILED. */
START_TEST(test_bad_sections)
{
    static const char *bad[] = {
        "",                 /* no prefix */
        "00",               /* no Base */
        "ff",               /* truncated integer */
        "0000 ff",          /* static index truncated */
        "0000 ff 24",       /* static index 99 + 36 */
        "0000 3f",          /* literal name length truncated */
        "0000 80",          /* dynamic reference with Required Insert Count 0 */
        "0000 10",          /* post-base reference with Required Insert Count 0 */
        "0000 5f 54",       /* literal with static name 15 + 84 = 99 */
        "0000 51 05 61",    /* value shorter than its length */
        "0000 51 81 ff",    /* Huffman value of eight 1 bits: padding too long */
        "0000 27 03 61 62", /* literal name shorter than its length */
        "0000 2f",          /* literal name length truncated */
        "09 00",            /* Encoded Insert Count 9 > 2 * MaxEntries (4) */
        "02 81",            /* Base = 1 - 1 - 1 < 0 */
        "03 80 10",         /* RIC 2 > inserts: blocked, but our limit is 0 */
    };
    lwq_qpack_decoder_config dc = {64, 0, 0, 0}; /* MaxEntries 2 */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lwq_qpack_decoder *d;
        lwq_qpack_headers h;
        uint8_t b[32];
        lwq_qpack_headers_init(&h, lwq_test_alloc);
        ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc), 0);
        size_t n = lwq_test_unhex(bad[i], b, sizeof(b));
        ck_assert_msg(lwq_qpack_decoder_decode(d, 0, b, n, &h) == LWQ_ERR_PROTO, "case %zu", i);
        ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), LWQ_QPACK_DECOMPRESSION_FAILED);
        lwq_qpack_decoder_del(d);
        lwq_qpack_headers_free(&h);
    }
}
END_TEST

/* Encoder-stream errors (RFC 9204 §4.3): each is QPACK_ENCODER_STREAM_ERROR. */
START_TEST(test_bad_encoder_stream)
{
    static const char *bad[] = {
        "3f e2 1f",                             /* capacity 4097 > our 4096 */
        "c0 0f 7777772e6578616d706c652e636f6d", /* insert while the capacity is still 0 */
        "3f e1 1f ff 24 00",                    /* static name index 99 */
        "3f e1 1f 80 00",                       /* dynamic name reference into an empty table */
        "3f e1 1f 00",                          /* duplicate in an empty table */
        "3f e1 1f 41 61 81 ff",                 /* Huffman value with bad padding */
        "3f e1 1f 3f 9a 0a",                    /* capacity lowered to 1337: valid */
        "3f 01 45 6162636465 00",               /* capacity 32: a 37-byte entry cannot fit */
        "ff ff ff ff ff ff ff ff ff ff ff 01",  /* integer overflow */
    };
    lwq_qpack_decoder_config dc = {4096, 0, 0, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lwq_qpack_decoder *d;
        uint8_t b[32];
        ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc), 0);
        size_t n = lwq_test_unhex(bad[i], b, sizeof(b));
        ssize_t rv = lwq_qpack_decoder_read_encoder(d, b, n);
        if (i == 6) {
            /* A complete prefix of a valid instruction: waits for the rest, no error yet. */
            ck_assert_int_eq(rv, (ssize_t)n);
            ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), 0);
        } else {
            ck_assert_msg(rv == LWQ_ERR_PROTO, "case %zu: %zd", i, rv);
            ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), LWQ_QPACK_ENCODER_STREAM_ERROR);
        }
        lwq_qpack_decoder_del(d);
    }
}
END_TEST

/* Literal lengths are checked against the table before anything is allocated or buffered. */
START_TEST(test_huge_literal_rejected_before_allocation)
{
    lwq_qpack_decoder_config dc = {4096, 0, 0, 0};
    lwq_qpack_decoder *d;
    ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc), 0);
    /* Set capacity 4096, Insert With Literal Name of length 2^40 (only the header is sent). */
    uint8_t b[32] = {0x3f, 0xe1, 0x1f};
    ssize_t k = lwq_qpack_int_encode(b + 3, sizeof(b) - 3, UINT64_C(1) << 40, 5, 0x40);
    size_t before = lwq_test_alloc_count();
    ck_assert_int_eq(lwq_qpack_decoder_read_encoder(d, b, 3 + (size_t)k), LWQ_ERR_PROTO);
    ck_assert_uint_eq(lwq_test_alloc_count(), before);
    ck_assert_uint_eq(lwq_qpack_decoder_wire_error(d), LWQ_QPACK_ENCODER_STREAM_ERROR);
    lwq_qpack_decoder_del(d);
}
END_TEST

/* Max field section size (RFC 9114 §4.2.2): name + value + 32 per field, a stream error. */
START_TEST(test_field_section_size_limit)
{
    pair p;
    pair_init(&p, 0, 0, 100);
    lwq_qpack_field ok[] = {F("a", "0123456789012345678901234567890123"), F("b", "")};
    lwq_qpack_field big[] = {F("a", "0123456789012345678901234567890123"), F("b", "x")};
    ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, 0, ok, 2, &p.es, &p.sec), 0);
    ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, 0, p.sec.data, p.sec.len, &p.h), 0);
    ck_assert_uint_eq(p.h.size, 100);
    p.sec.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, 4, big, 2, &p.es, &p.sec), 0);
    ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, 4, p.sec.data, p.sec.len, &p.h), LWQ_ERR_LIMIT);
    ck_assert_uint_eq(p.h.count, 0);
    /* The decoder stays usable. */
    p.sec.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, 8, ok, 2, &p.es, &p.sec), 0);
    ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, 8, p.sec.data, p.sec.len, &p.h), 0);
    ck_assert_uint_eq(lwq_qpack_decoder_wire_error(p.d), 0);
    pair_free(&p);
}
END_TEST

/* The 'N' bit (RFC 9204 §4.5.4): caller-flagged and credential fields are never inserted and
 * arrive flagged; ordinary fields are. */
START_TEST(test_never_indexed)
{
    pair p;
    pair_init(&p, 4096, 10, 0);
    lwq_qpack_field f[] = {F("authorization", "Basic dXNlcjpwYXNz"), F("cookie", "id=42"), F("x-secret", "s3cret"),
                           F("x-plain", "visible"), F("cookie", "session=0123456789abcdef0123456789")};
    f[2].flags = LWQ_QPACK_NEVER_INDEX;
    for (int round = 0; round < 3; round++) {
        p.es.len = p.sec.len = 0;
        ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, (uint64_t)(4 * round), f, 5, &p.es, &p.sec), 0);
        ck_assert_int_eq(lwq_qpack_decoder_read_encoder(p.d, p.es.data, p.es.len), (ssize_t)p.es.len);
        ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, (uint64_t)(4 * round), p.sec.data, p.sec.len, &p.h), 0);
        ck_assert(same(&p.h, f, 5));
        ck_assert_uint_eq(p.h.fields[0].flags, LWQ_QPACK_NEVER_INDEX);
        ck_assert_uint_eq(p.h.fields[1].flags, LWQ_QPACK_NEVER_INDEX);
        ck_assert_uint_eq(p.h.fields[2].flags, LWQ_QPACK_NEVER_INDEX);
        ck_assert_uint_eq(p.h.fields[3].flags, 0);
        ck_assert_uint_eq(p.h.fields[4].flags, 0);
        feed_back(&p);
        /* No secret ever reaches the encoder stream. */
        for (size_t k = 0; k + 6 <= p.es.len; k++) {
            ck_assert(memcmp(p.es.data + k, "s3cret", 6) != 0);
            ck_assert(memcmp(p.es.data + k, "id=42", 5) != 0);
        }
    }
    /* The plain and long-cookie fields were inserted on their second appearance. */
    lwq_qpack_encoder_stats st;
    lwq_qpack_encoder_get_stats(p.e, &st);
    ck_assert_uint_eq(st.insert_count, 2);
    pair_free(&p);
}
END_TEST

/* Entries referenced by unacknowledged sections are never evicted (RFC 9204 §2.1.1): with no
 * acknowledgments the table fills and further fields stay literal; everything still decodes. */
START_TEST(test_no_eviction_of_unacked)
{
    pair p;
    pair_init(&p, 256, 100, 0);
    char v[32];
    for (int i = 0; i < 40; i++) {
        snprintf(v, sizeof(v), "value-%d", i / 2);
        lwq_qpack_field f = {(const uint8_t *)"x-k", 3, (const uint8_t *)v, strlen(v), 0};
        p.es.len = p.sec.len = 0;
        ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, (uint64_t)(4 * i), &f, 1, &p.es, &p.sec), 0);
        ck_assert_int_eq(lwq_qpack_decoder_read_encoder(p.d, p.es.data, p.es.len), (ssize_t)p.es.len);
        ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, (uint64_t)(4 * i), p.sec.data, p.sec.len, &p.h), 0);
        ck_assert(same(&p.h, &f, 1));
    }
    lwq_qpack_encoder_stats st;
    lwq_qpack_encoder_get_stats(p.e, &st);
    /* 256 / 42 bytes: 6 entries and never an eviction. */
    ck_assert_uint_eq(st.insert_count, 6);
    ck_assert_uint_le(st.table_size, 256);
    /* Once acknowledged, the old entries can go and inserting resumes. */
    feed_back(&p);
    lwq_qpack_field g = {(const uint8_t *)"x-k", 3, (const uint8_t *)"fresh", 5, 0};
    for (int i = 0; i < 2; i++) {
        p.es.len = p.sec.len = 0;
        ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, 400 + 4 * (uint64_t)i, &g, 1, &p.es, &p.sec), 0);
    }
    lwq_qpack_encoder_get_stats(p.e, &st);
    ck_assert_uint_eq(st.insert_count, 7);
    pair_free(&p);
}
END_TEST

/* RFC 9204 §2.1.1.1: an entry about to be evicted is refreshed with a Duplicate, and the section
 * references the copy. */
START_TEST(test_duplicate_near_eviction)
{
    pair p;
    pair_init(&p, 400, 10, 0);
    char big[226];
    memset(big, 'v', 225);
    big[225] = 0;
    lwq_qpack_field a = F("x-a", "1"), b = F("x-b", "2"), c = F("x-c", "3");
    lwq_qpack_field d = {(const uint8_t *)"x-d", 3, (const uint8_t *)big, 225, 0};
    ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &a, &p.es), 0);
    ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &b, &p.es), 0);
    ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &c, &p.es), 0);
    ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &d, &p.es), 0);
    /* 36 + 36 + 36 + 260 = 368 of 400: a fifth entry needs evictions, allowed once acknowledged. */
    ck_assert_int_eq(lwq_qpack_encoder_insert(p.e, &a, &p.es), LWQ_ERR_LIMIT);
    ck_assert_int_eq(lwq_qpack_decoder_read_encoder(p.d, p.es.data, p.es.len), (ssize_t)p.es.len);
    feed_back(&p);
    p.es.len = 0;
    ck_assert_int_eq(lwq_qpack_encoder_encode(p.e, 0, &b, 1, &p.es, &p.sec), 0);
    /* Duplicate (relative index 2 = absolute 1, "x-b"), which evicts only "x-a". */
    ck_assert_uint_eq(p.es.len, 1);
    ck_assert_uint_eq(p.es.data[0], 0x02);
    ck_assert_int_eq(lwq_qpack_decoder_read_encoder(p.d, p.es.data, p.es.len), 1);
    ck_assert_int_eq(lwq_qpack_decoder_decode(p.d, 0, p.sec.data, p.sec.len, &p.h), 0);
    ck_assert(same(&p.h, &b, 1));
    /* Required Insert Count 5: the section references the copy (absolute 4), not the original. */
    uint64_t ric;
    ck_assert_int_eq(lwq_qpack_ric_decode(&ric, p.sec.data[0], 400 / 32, 5), 0);
    ck_assert_uint_eq(ric, 5);
    pair_free(&p);
}
END_TEST

/* Failing each allocation in turn, through setup, three encode/decode/acknowledge rounds:
 * every failure surfaces as LWQ_ERR_NOMEM without a leak, until the whole exchange succeeds. */
START_TEST(test_nomem_everywhere)
{
    lwq_qpack_field f[] = {F(":method", "GET"), F(":path", "/a/very/long/path/that/repeats"), F("x-custom", "abc"),
                           F("user-agent", "lwquic-test/1.0")};
    int completed = 0;
    for (size_t fail = 1; fail < 200 && !completed; fail++) {
        lwq_qpack_encoder *e = NULL;
        lwq_qpack_decoder *d = NULL;
        lwq_qpack_buf es, sec, ds;
        lwq_qpack_headers h;
        lwq_qpack_buf_init(&es, lwq_test_alloc);
        lwq_qpack_buf_init(&sec, lwq_test_alloc);
        lwq_qpack_buf_init(&ds, lwq_test_alloc);
        lwq_qpack_headers_init(&h, lwq_test_alloc);
        lwq_qpack_decoder_config dc = {4096, 10, 0, 0};
        lwq_test_alloc_fail_at(fail);
        int rv = lwq_qpack_encoder_new(&e, lwq_test_alloc, NULL);
        if (rv == 0)
            rv = lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc);
        if (rv == 0)
            rv = lwq_qpack_encoder_set_peer_settings(e, 4096, 10);
        for (int i = 0; rv == 0 && i < 3; i++) {
            sec.len = 0;
            rv = lwq_qpack_encoder_encode(e, (uint64_t)i * 4, f, 4, &es, &sec);
            if (rv == 0) {
                ssize_t k = lwq_qpack_decoder_read_encoder(d, es.data, es.len);
                rv = k < 0 ? (int)k : 0;
                es.len = 0;
            }
            if (rv == 0)
                rv = lwq_qpack_decoder_decode(d, (uint64_t)i * 4, sec.data, sec.len, &h);
            if (rv == 0)
                ck_assert(same(&h, f, 4));
            if (rv == 0)
                rv = lwq_qpack_decoder_write_decoder(d, &ds);
            if (rv == 0) {
                ssize_t k = lwq_qpack_encoder_read_decoder(e, ds.data, ds.len);
                rv = k < 0 ? (int)k : 0;
                ds.len = 0;
            }
        }
        ck_assert_msg(rv == 0 || rv == LWQ_ERR_NOMEM, "fail at %zu: %d", fail, rv);
        lwq_test_alloc_fail_at(0);
        if (rv == 0)
            completed = 1;
        lwq_qpack_encoder_del(e);
        lwq_qpack_decoder_del(d);
        lwq_qpack_buf_free(&es);
        lwq_qpack_buf_free(&sec);
        lwq_qpack_buf_free(&ds);
        lwq_qpack_headers_free(&h);
        ck_assert_uint_eq(lwq_test_alloc_live(), 0);
    }
    ck_assert(completed);
}
END_TEST

Suite *suite_qpack_codec(void)
{
    Suite *s = suite_create("qpack_codec");
    TCase *tc = lwq_test_tcase("qpack_codec");
    tcase_add_test(tc, test_appendix_b_decoder);
    tcase_add_test(tc, test_appendix_b_encoder);
    tcase_add_test(tc, test_decoder_stream_errors);
    tcase_add_test(tc, test_blocked_streams_resume);
    tcase_add_test(tc, test_too_many_blocked_is_decompression_failed);
    tcase_add_test(tc, test_bad_sections);
    tcase_add_test(tc, test_bad_encoder_stream);
    tcase_add_test(tc, test_huge_literal_rejected_before_allocation);
    tcase_add_test(tc, test_field_section_size_limit);
    tcase_add_test(tc, test_never_indexed);
    tcase_add_test(tc, test_no_eviction_of_unacked);
    tcase_add_test(tc, test_duplicate_near_eviction);
    tcase_add_test(tc, test_nomem_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
