#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "qpack/prim.h"

/* RFC 7541 Appendix C.1 */
START_TEST(test_int_rfc7541_examples)
{
    uint8_t b[16];
    uint64_t v;
    ck_assert_int_eq(lwq_qpack_int_encode(b, sizeof(b), 10, 5, 0xe0), 1);
    ck_assert_uint_eq(b[0], 0xea);
    ck_assert_int_eq(lwq_qpack_int_encode(b, sizeof(b), 1337, 5, 0), 3);
    ck_assert_mem_eq(b, "\x1f\x9a\x0a", 3);
    ck_assert_int_eq(lwq_qpack_int_decode(&v, b, 3, 5), 3);
    ck_assert_uint_eq(v, 1337);
    ck_assert_int_eq(lwq_qpack_int_encode(b, sizeof(b), 42, 8, 0), 1);
    ck_assert_uint_eq(b[0], 42);
    /* The prefix bits above the integer are ignored when decoding. */
    b[0] = 0xea;
    ck_assert_int_eq(lwq_qpack_int_decode(&v, b, 1, 5), 1);
    ck_assert_uint_eq(v, 10);
}
END_TEST

START_TEST(test_int_round_trip_and_limits)
{
    uint8_t b[16];
    uint64_t v;
    static const uint64_t vals[] = {0, 1, 6, 7, 8, 126, 127, 128, 254, 255, 16383, 16384, 1u << 31, LWQ_QPACK_INT_MAX};
    for (unsigned prefix = 1; prefix <= 8; prefix++) {
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            ssize_t n = lwq_qpack_int_encode(b, sizeof(b), vals[i], prefix, 0);
            ck_assert_int_gt(n, 0);
            ck_assert_uint_eq((size_t)n, lwq_qpack_int_len(vals[i], prefix));
            ck_assert_int_eq(lwq_qpack_int_decode(&v, b, (size_t)n, prefix), n);
            ck_assert_uint_eq(v, vals[i]);
            for (ssize_t k = 0; k < n; k++)
                ck_assert_int_eq(lwq_qpack_int_decode(&v, b, (size_t)k, prefix), LWQ_ERR_TRUNCATED);
            ck_assert_int_eq(lwq_qpack_int_encode(b, (size_t)n - 1, vals[i], prefix, 0), LWQ_ERR_NOBUF);
        }
    }
    /* 2^62 is one too many; so are ten continuation bytes and more. */
    uint64_t big = LWQ_QPACK_INT_MAX + 1 - 255;
    size_t n = 0;
    b[n++] = 0xff;
    while (big >= 128) {
        b[n++] = (uint8_t)(0x80 | (big & 0x7f));
        big >>= 7;
    }
    b[n++] = (uint8_t)big;
    ck_assert_int_eq(lwq_qpack_int_decode(&v, b, n, 8), LWQ_ERR_DECODE);
    memset(b, 0x80, sizeof(b));
    b[0] = 0xff;
    ck_assert_int_eq(lwq_qpack_int_decode(&v, b, sizeof(b), 8), LWQ_ERR_DECODE);
    static const uint8_t max64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(lwq_qpack_int_decode(&v, max64, sizeof(max64), 8), LWQ_ERR_DECODE);
}
END_TEST

static size_t strip_spaces(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++)
        if (s[i] != ' ')
            s[o++] = s[i];
    s[o] = 0;
    return o;
}

/* Every Huffman-coded literal of RFC 7541 Appendix C (C.4 and C.6), parsed from the RFC text:
 * decoding gives the text shown and encoding that text gives the same bytes back. */
START_TEST(test_huffman_rfc7541_appendix_c)
{
    size_t len;
    char *xml = (char *)lwq_test_read_file(lwq_test_shared_path("specs/rfc7541-hpack.xml"), &len);
    ck_assert_ptr_nonnull(xml);
    xml = realloc(xml, len + 1);
    xml[len] = 0;
    int vectors = 0;
    char *p = xml;
    while ((p = strstr(p, "|     Huffman encoded:")) != NULL) {
        char hex[512] = "", text[512] = "";
        p = strchr(p, '\n') + 1;
        for (;;) {
            char *eol = strchr(p, '\n'), *bar = strchr(p, '|');
            ck_assert(eol && bar && bar < eol);
            *eol = 0;
            int done = strstr(p, "Decoded:") != NULL;
            *eol = '\n';
            if (!done)
                strncat(hex, p, (size_t)(bar - p));
            p = eol + 1;
            if (done)
                break;
        }
        for (;;) {
            char *eol = strchr(p, '\n'), *bar = strchr(p, '|');
            ck_assert(eol && bar && bar < eol);
            *eol = 0;
            /* Decoded text lines are "| text"; anything else ends it. */
            int done = bar[1] != ' ' || bar[2] == ' ' || bar[2] == '-' || strspn(p, " ") != (size_t)(bar - p);
            if (!done)
                strcat(text, bar + 2);
            *eol = '\n';
            if (done)
                break;
            p = eol + 1;
        }
        uint8_t enc[256], dec[256], re[256];
        size_t n = lwq_test_unhex(hex, enc, sizeof(enc));
        ck_assert_uint_gt(n, 0);
        ssize_t d = lwq_qpack_huff_decode(dec, sizeof(dec) - 1, enc, n);
        ck_assert_int_gt(d, 0);
        dec[d] = 0;
        char stripped[256];
        strcpy(stripped, (char *)dec);
        strip_spaces(stripped);
        strip_spaces(text);
        ck_assert_str_eq(stripped, text);
        ck_assert_uint_eq(lwq_qpack_huff_encoded_len(dec, (size_t)d), n);
        ck_assert_int_eq(lwq_qpack_huff_encode(re, sizeof(re), dec, (size_t)d), (ssize_t)n);
        ck_assert_mem_eq(re, enc, n);
        ck_assert_int_eq(lwq_qpack_huff_encode(re, n - 1, dec, (size_t)d), LWQ_ERR_NOBUF);
        vectors++;
    }
    free(xml);
    ck_assert_int_eq(vectors, 12); /* C.4.1-C.4.3 and C.6.1-C.6.3 */
}
END_TEST

START_TEST(test_huffman_errors)
{
    uint8_t out[64], enc[64];
    /* "a" is 00011: padded with 3 ones it is valid, with zeros it is not (RFC 7541 §5.2). */
    static const uint8_t ok[] = {0x1f}, zeros[] = {0x18};
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), ok, 1), 1);
    ck_assert_uint_eq(out[0], 'a');
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), zeros, 1), LWQ_ERR_DECODE);
    /* Padding longer than 7 bits: a full byte of ones after a complete symbol. */
    static const uint8_t long_pad[] = {0x1f, 0xff};
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), long_pad, 2), LWQ_ERR_DECODE);
    static const uint8_t only_pad[] = {0xff};
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), only_pad, 1), LWQ_ERR_DECODE);
    /* EOS (30 ones) inside the string. */
    static const uint8_t eos[] = {0xff, 0xff, 0xff, 0xfc};
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), eos, 4), LWQ_ERR_DECODE);
    static const uint8_t eos_then[] = {0xff, 0xff, 0xff, 0xfc | 0x03, 0xff};
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), eos_then, 5), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_qpack_huff_decode(out, sizeof(out), NULL, 0), 0);
    /* Too small an output buffer, and NULL output only counting. */
    ssize_t n = lwq_qpack_huff_encode(enc, sizeof(enc), (const uint8_t *)"www.example.com", 15);
    ck_assert_int_eq(n, 12);
    ck_assert_int_eq(lwq_qpack_huff_decode(out, 14, enc, 12), LWQ_ERR_NOBUF);
    ck_assert_int_eq(lwq_qpack_huff_decode(NULL, SIZE_MAX, enc, 12), 15);
}
END_TEST

START_TEST(test_huffman_every_symbol_round_trips)
{
    uint8_t all[256], enc[1024], dec[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    ssize_t n = lwq_qpack_huff_encode(enc, sizeof(enc), all, 256);
    ck_assert_int_gt(n, 256);
    ck_assert_uint_eq((size_t)n, lwq_qpack_huff_encoded_len(all, 256));
    ck_assert_int_eq(lwq_qpack_huff_decode(dec, sizeof(dec), enc, (size_t)n), 256);
    ck_assert_mem_eq(dec, all, 256);
    /* Truncation anywhere ends in an error or a shorter prefix of the input, never more. */
    for (ssize_t k = 0; k < n; k++) {
        ssize_t d = lwq_qpack_huff_decode(dec, sizeof(dec), enc, (size_t)k);
        ck_assert(d == LWQ_ERR_DECODE || (d >= 0 && d < 256 && memcmp(dec, all, (size_t)d) == 0));
    }
}
END_TEST

START_TEST(test_string_literals)
{
    uint8_t b[64], out[64];
    lwq_qpack_str s;
    size_t need;
    /* Huffman only when shorter: "www.example.com" shrinks, "\x01\x02" does not. */
    ssize_t n = lwq_qpack_str_encode(b, sizeof(b), (const uint8_t *)"www.example.com", 15, 8, 0, 1);
    ck_assert_int_eq(n, 13);
    ck_assert_uint_eq(b[0], 0x8c);
    ck_assert_uint_eq(lwq_qpack_str_encoded_len((const uint8_t *)"www.example.com", 15, 8, 1), 13);
    ck_assert_int_eq(lwq_qpack_str_parse(&s, b, (size_t)n, 8, &need), n);
    ck_assert_int_eq(s.huffman, 1);
    ck_assert_int_eq(lwq_qpack_str_decode(out, sizeof(out), &s), 15);
    ck_assert_mem_eq(out, "www.example.com", 15);
    ck_assert_uint_le(lwq_qpack_str_min_len(&s), 15);
    ck_assert_uint_ge(lwq_qpack_str_max_len(&s), 15);
    n = lwq_qpack_str_encode(b, sizeof(b), (const uint8_t *)"\x01\x02", 2, 4, 0x20, 1);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(b[0], 0x22);
    /* A 4-bit prefix string (RFC 9204 §4.1.2) and its truncations. */
    n = lwq_qpack_str_encode(b, sizeof(b), (const uint8_t *)"custom-key", 10, 4, 0x20, 0);
    ck_assert_int_eq(n, 1 + 1 + 10);
    ck_assert_uint_eq(b[0], 0x27);
    ck_assert_int_eq(lwq_qpack_str_parse(&s, b, 5, 4, &need), LWQ_ERR_TRUNCATED);
    ck_assert_uint_eq(need, 12);
    ck_assert_int_eq(lwq_qpack_str_parse(&s, b, 1, 4, &need), LWQ_ERR_TRUNCATED);
    ck_assert_uint_eq(need, 0);
    ck_assert_int_eq(lwq_qpack_str_encode(b, 11, (const uint8_t *)"custom-key", 10, 4, 0x20, 0), LWQ_ERR_NOBUF);
}
END_TEST

START_TEST(test_static_table)
{
    int name_idx;
    ck_assert_str_eq(lwq_qpack_static[0].name, ":authority");
    ck_assert_str_eq(lwq_qpack_static[17].value, "GET");
    ck_assert_str_eq(lwq_qpack_static[85].value, "script-src 'none'; object-src 'none'; base-uri 'none'");
    ck_assert_str_eq(lwq_qpack_static[98].name, "x-frame-options");
    ck_assert_str_eq(lwq_qpack_static[98].value, "sameorigin");
    for (int i = 0; i < LWQ_QPACK_STATIC_COUNT; i++) {
        const lwq_qpack_static_entry *e = &lwq_qpack_static[i];
        ck_assert_uint_eq(e->name_len, strlen(e->name));
        ck_assert_int_eq(lwq_qpack_static_find((const uint8_t *)e->name, e->name_len, (const uint8_t *)e->value,
                                               e->value_len, &name_idx),
                         i);
        ck_assert_int_le(name_idx, i);
    }
    ck_assert_int_eq(lwq_qpack_static_find((const uint8_t *)":status", 7, (const uint8_t *)"418", 3, &name_idx), -1);
    ck_assert_int_eq(name_idx, 24);
    ck_assert_int_eq(lwq_qpack_static_find((const uint8_t *)"x-unknown", 9, (const uint8_t *)"", 0, &name_idx), -1);
    ck_assert_int_eq(name_idx, -1);
}
END_TEST

Suite *suite_qpack_prim(void)
{
    Suite *s = suite_create("qpack_prim");
    TCase *tc = lwq_test_tcase("qpack_prim");
    tcase_add_test(tc, test_int_rfc7541_examples);
    tcase_add_test(tc, test_int_round_trip_and_limits);
    tcase_add_test(tc, test_huffman_rfc7541_appendix_c);
    tcase_add_test(tc, test_huffman_errors);
    tcase_add_test(tc, test_huffman_every_symbol_round_trips);
    tcase_add_test(tc, test_string_literals);
    tcase_add_test(tc, test_static_table);
    suite_add_tcase(s, tc);
    return s;
}
