#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/der.h"
#include "io/tls_files.h"

static ssize_t dec(const char *hex, lwq_der_tlv *t)
{
    uint8_t b[64];
    static uint8_t keep[64];
    size_t n = lwq_test_unhex(hex, b, sizeof(b));
    memcpy(keep, b, n);
    return lwq_der_decode(t, keep, n);
}

START_TEST(test_lengths)
{
    lwq_der_tlv t;
    ck_assert_int_eq(dec("04 03 616263", &t), 5);
    ck_assert_uint_eq(t.tag, 4);
    ck_assert_uint_eq(t.len, 3);
    ck_assert_mem_eq(t.val, "abc", 3);
    ck_assert_uint_eq(t.raw_len, 5);
    ck_assert_int_eq(dec("04 00", &t), 2);
    ck_assert_uint_eq(t.len, 0);

    uint8_t big[300] = {0x04, 0x82, 0x01, 0x00};
    ck_assert_int_eq(lwq_der_decode(&t, big, sizeof(big)), 260);
    ck_assert_uint_eq(t.len, 256);
    ck_assert_int_eq(lwq_der_decode(&t, big, 259), LWQ_ERR_TRUNCATED);
    big[1] = 0x81;
    big[2] = 0x80;
    ck_assert_int_eq(lwq_der_decode(&t, big, sizeof(big)), 3 + 128);

    ck_assert_int_eq(dec("04 81 7f", &t), LWQ_ERR_DECODE);       /* not minimal */
    ck_assert_int_eq(dec("04 82 0080", &t), LWQ_ERR_DECODE);     /* leading zero */
    ck_assert_int_eq(dec("30 80 0000", &t), LWQ_ERR_DECODE);     /* indefinite */
    ck_assert_int_eq(dec("04 85 0100000000", &t), LWQ_ERR_DECODE); /* 5 length bytes */
    ck_assert_int_eq(dec("1f 22 01 00", &t), LWQ_ERR_DECODE);    /* high tag number */
    ck_assert_int_eq(dec("04 84 ffffffff 00", &t), LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(dec("04 82 01", &t), LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(dec("04 05 0102", &t), LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(dec("04", &t), LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(lwq_der_decode(&t, big, 0), LWQ_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_reader)
{
    /* SEQUENCE { INTEGER 5, [0] { BOOLEAN TRUE }, NULL } */
    static const uint8_t d[] = {0x30, 0x0a, 0x02, 0x01, 0x05, 0xa0, 0x03, 0x01, 0x01, 0xff, 0x05, 0x00};
    lwq_der_reader r, s;
    lwq_der_tlv t, x;
    uint64_t v;
    int b;
    lwq_der_reader_init(&r, d, sizeof(d));
    ck_assert_int_eq(lwq_der_expect(&r, LWQ_DER_SEQUENCE, &t), 0);
    ck_assert(lwq_der_at_end(&r));
    ck_assert_int_eq(lwq_der_next(&r, &t), LWQ_ERR_TRUNCATED);
    lwq_der_reader_init(&r, d, sizeof(d));
    lwq_der_next(&r, &t);
    lwq_der_enter(&s, &t);
    ck_assert_int_eq(lwq_der_peek(&s), LWQ_DER_INTEGER);
    ck_assert_int_eq(lwq_der_optional(&s, LWQ_DER_BOOLEAN, &x), 0);
    ck_assert_int_eq(lwq_der_expect(&s, LWQ_DER_OCTET_STRING, &x), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_der_expect(&s, LWQ_DER_INTEGER, &x), 0);
    ck_assert_int_eq(lwq_der_get_uint(&x, &v), 0);
    ck_assert_uint_eq(v, 5);
    ck_assert_int_eq(lwq_der_optional(&s, LWQ_DER_CTX(0), &x), 1);
    lwq_der_reader in;
    lwq_der_enter(&in, &x);
    ck_assert_int_eq(lwq_der_expect(&in, LWQ_DER_BOOLEAN, &x), 0);
    ck_assert_int_eq(lwq_der_get_bool(&x, &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(lwq_der_expect(&s, LWQ_DER_NULL, &x), 0);
    ck_assert_int_eq(lwq_der_peek(&s), -1);
    ck_assert_int_eq(lwq_der_expect(&s, LWQ_DER_NULL, &x), LWQ_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_primitives)
{
    lwq_der_tlv t;
    uint64_t v;
    int b;
    const uint8_t *bits;
    size_t n;
    unsigned unused;
    dec("02 02 0080", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), 0);
    ck_assert_uint_eq(v, 128);
    dec("02 02 007f", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), LWQ_ERR_DECODE);
    dec("02 01 80", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), LWQ_ERR_DECODE);
    dec("02 00", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), LWQ_ERR_DECODE);
    dec("02 09 00ffffffffffffffff", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), 0);
    ck_assert(v == UINT64_MAX);
    dec("02 09 010000000000000000", &t);
    ck_assert_int_eq(lwq_der_get_uint(&t, &v), LWQ_ERR_LIMIT);
    dec("01 01 01", &t);
    ck_assert_int_eq(lwq_der_get_bool(&t, &b), LWQ_ERR_DECODE);
    dec("01 01 00", &t);
    ck_assert_int_eq(lwq_der_get_bool(&t, &b), 0);
    ck_assert_int_eq(b, 0);
    dec("03 03 06 a5 c0", &t);
    ck_assert_int_eq(lwq_der_get_bits(&t, &bits, &n, &unused), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(unused, 6);
    dec("03 03 06 a5 c1", &t); /* unused bits set */
    ck_assert_int_eq(lwq_der_get_bits(&t, &bits, &n, &unused), LWQ_ERR_DECODE);
    dec("03 01 03", &t);
    ck_assert_int_eq(lwq_der_get_bits(&t, &bits, &n, &unused), LWQ_ERR_DECODE);
    dec("03 02 08 00", &t);
    ck_assert_int_eq(lwq_der_get_bits(&t, &bits, &n, &unused), LWQ_ERR_DECODE);
    dec("06 03 2b6570", &t);
    ck_assert(LWQ_DER_OID_IS(&t, "\x2b\x65\x70"));
    ck_assert(!LWQ_DER_OID_IS(&t, "\x2b\x65\x71"));
    ck_assert(!LWQ_DER_OID_IS(&t, "\x2b\x65"));
}
END_TEST

static int time_of(uint8_t tag, const char *s, int64_t *out)
{
    lwq_der_tlv t = {.tag = tag, .val = (const uint8_t *)s, .len = strlen(s)};
    return lwq_der_get_time(&t, out);
}

START_TEST(test_times)
{
    static const struct {
        uint8_t tag;
        const char *s;
        int64_t want;
    } ok[] = {
        {LWQ_DER_UTC_TIME, "700101000000Z", 0},
        {LWQ_DER_UTC_TIME, "240101000000Z", 1704067200},
        {LWQ_DER_UTC_TIME, "491231235959Z", 2524607999},
        {LWQ_DER_UTC_TIME, "500101000000Z", -631152000},
        {LWQ_DER_UTC_TIME, "000229120000Z", 951825600},
        {LWQ_DER_GENERALIZED_TIME, "20991231235959Z", 4102444799},
        {LWQ_DER_GENERALIZED_TIME, "19691231235959Z", -1},
        {LWQ_DER_GENERALIZED_TIME, "21000301000000Z", 4107542400},
        {LWQ_DER_GENERALIZED_TIME, "99991231235959Z", 253402300799},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = 0;
        ck_assert_msg(time_of(ok[i].tag, ok[i].s, &v) == 0, "%s", ok[i].s);
        ck_assert_msg(v == ok[i].want, "%s: %lld", ok[i].s, (long long)v);
    }
    static const struct {
        uint8_t tag;
        const char *s;
    } bad[] = {
        {LWQ_DER_UTC_TIME, "2401010000Z"},          {LWQ_DER_UTC_TIME, "240101000000+0100"},
        {LWQ_DER_UTC_TIME, "241301000000Z"},        {LWQ_DER_UTC_TIME, "240132000000Z"},
        {LWQ_DER_UTC_TIME, "240101240000Z"},        {LWQ_DER_UTC_TIME, "24010100a000Z"},
        {LWQ_DER_UTC_TIME, "240101000000z"},        {LWQ_DER_GENERALIZED_TIME, "20240101000000.5Z"},
        {LWQ_DER_GENERALIZED_TIME, "21000229000000Z"}, {LWQ_DER_GENERALIZED_TIME, "240101000000Z"},
        {LWQ_DER_UTC_TIME, "20240101000000Z"},      {LWQ_DER_GENERALIZED_TIME, "2023-1101000000Z"},
        {LWQ_DER_OCTET_STRING, "240101000000Z"},    {LWQ_DER_UTC_TIME, "240431000000Z"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        ck_assert_msg(time_of(bad[i].tag, bad[i].s, &v) == LWQ_ERR_DECODE, "%s", bad[i].s);
    }
}
END_TEST

START_TEST(test_pem)
{
    static const char two[] = "junk before\n-----BEGIN FIRST-----\nYWJj\n-----END FIRST-----\n"
                              "-----BEGIN SECOND THING-----\r\nZGVm\r\nZ2g=\r\n-----END SECOND THING-----\r\n";
    const uint8_t *p = (const uint8_t *)two;
    size_t n = strlen(two), len;
    char label[32];
    uint8_t *der;
    ck_assert_int_eq(lwq_pem_detect(p, n), 1);
    ck_assert_int_eq(lwq_pem_next(&p, &n, label, sizeof(label), &der, &len, lwq_test_alloc), 1);
    ck_assert_str_eq(label, "FIRST");
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(der, "abc", 3);
    lwq_free(lwq_test_alloc, der);
    ck_assert_int_eq(lwq_pem_next(&p, &n, label, 4, &der, &len, lwq_test_alloc), 1);
    ck_assert_str_eq(label, "SEC");
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(der, "defgh", 5);
    lwq_free(lwq_test_alloc, der);
    ck_assert_int_eq(lwq_pem_next(&p, &n, label, sizeof(label), &der, &len, lwq_test_alloc), 0);

    static const char *bad[] = {
        "-----BEGIN A-----\nYWJj\n-----END B-----\n",   /* labels differ */
        "-----BEGIN A-----\nYW?j\n-----END A-----\n",   /* not base64 */
        "-----BEGIN A-----\n\n-----END A-----\n",       /* empty */
        "-----BEGIN A-----\nYWJj\n-----END A---",       /* cut */
        "-----BEGIN A\nYWJj\n",                         /* no closing dashes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = (const uint8_t *)bad[i];
        n = strlen(bad[i]);
        ck_assert_int_lt(lwq_pem_next(&p, &n, label, sizeof(label), &der, &len, lwq_test_alloc), 0);
    }
    p = (const uint8_t *)"-----BEGIN A-----\nYWJj\n";
    n = strlen((const char *)p);
    ck_assert_int_eq(lwq_pem_next(&p, &n, label, sizeof(label), &der, &len, lwq_test_alloc), LWQ_ERR_TRUNCATED);
    lwq_test_alloc_fail_at(1);
    p = (const uint8_t *)two;
    n = strlen(two);
    ck_assert_int_eq(lwq_pem_next(&p, &n, label, sizeof(label), &der, &len, lwq_test_alloc), LWQ_ERR_NOMEM);
}
END_TEST

START_TEST(test_read_file)
{
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(lwq_read_file(lwq_test_data_path("certs/ca.pem"), 1 << 20, &buf, &len, lwq_test_alloc), 0);
    ck_assert_uint_gt(len, 100);
    ck_assert_mem_eq(buf, "-----BEGIN CERTIFICATE-----", 27);
    lwq_free(lwq_test_alloc, buf);
    ck_assert_int_eq(lwq_read_file(lwq_test_data_path("certs/ca.pem"), 64, &buf, &len, lwq_test_alloc),
                     LWQ_ERR_LIMIT);
    ck_assert_int_eq(lwq_read_file(lwq_test_data_path("certs/none"), 64, &buf, &len, lwq_test_alloc), LWQ_ERR_IO);
}
END_TEST

Suite *suite_der(void)
{
    Suite *s = suite_create("der");
    TCase *tc = lwq_test_tcase("der");
    tcase_add_test(tc, test_lengths);
    tcase_add_test(tc, test_reader);
    tcase_add_test(tc, test_primitives);
    tcase_add_test(tc, test_times);
    tcase_add_test(tc, test_pem);
    tcase_add_test(tc, test_read_file);
    suite_add_tcase(s, tc);
    return s;
}
