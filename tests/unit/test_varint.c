#include "testutil.h"
#include "quic/varint.h"
#include "lwquic/quic_errors.h"

/* RFC 9000 §A.1 examples */
START_TEST(test_varint_rfc9000_a1)
{
    static const struct {
        const char *hex;
        uint64_t v;
    } ex[] = {
        {"c2197c5eff14e88c", UINT64_C(151288809941952652)},
        {"9d7f3e7d", 494878333},
        {"7bbd", 15293},
        {"25", 37},
        {"4025", 37},
    };
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        uint8_t b[8], out[8];
        size_t n = lwq_test_unhex(ex[i].hex, b, sizeof(b));
        uint64_t v = 0;
        ck_assert_int_eq(lwq_varint_decode(&v, b, n), (ssize_t)n);
        ck_assert_uint_eq(v, ex[i].v);
        /* every shorter input is truncated, never read past */
        for (size_t k = 0; k < n; k++)
            ck_assert_int_eq(lwq_varint_decode(&v, b, k), LWQ_ERR_TRUNCATED);
        /* the shortest encoding re-encodes byte for byte, except the non-minimal 0x4025 */
        ssize_t m = lwq_varint_encode(out, sizeof(out), ex[i].v);
        if (i < 4) {
            ck_assert_int_eq(m, (ssize_t)n);
            ck_assert_mem_eq(out, b, n);
        } else {
            ck_assert_int_eq(m, 1);
            ck_assert_int_eq(lwq_varint_encode_fixed(out, sizeof(out), 37, 2), 2);
            ck_assert_mem_eq(out, b, 2);
        }
    }
}
END_TEST

START_TEST(test_varint_boundaries)
{
    static const uint64_t edges[] = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, LWQ_VARINT_MAX};
    static const size_t lens[] = {1, 1, 2, 2, 4, 4, 8, 8};
    for (size_t i = 0; i < 8; i++) {
        uint8_t b[8];
        uint64_t v;
        ck_assert_uint_eq(lwq_varint_len(edges[i]), lens[i]);
        ck_assert_int_eq(lwq_varint_encode(b, lens[i] - 1, edges[i]), LWQ_ERR_NOBUF);
        ck_assert_int_eq(lwq_varint_encode(b, sizeof(b), edges[i]), (ssize_t)lens[i]);
        ck_assert_int_eq(lwq_varint_decode(&v, b, lens[i]), (ssize_t)lens[i]);
        ck_assert_uint_eq(v, edges[i]);
        /* every longer fixed encoding decodes to the same value */
        for (size_t l = lens[i]; l <= 8; l *= 2) {
            ck_assert_int_eq(lwq_varint_encode_fixed(b, sizeof(b), edges[i], l), (ssize_t)l);
            ck_assert_int_eq(lwq_varint_decode(&v, b, 8), (ssize_t)l);
            ck_assert_uint_eq(v, edges[i]);
        }
        if (lens[i] > 1)
            ck_assert_int_eq(lwq_varint_encode_fixed(b, sizeof(b), edges[i], lens[i] / 2), LWQ_ERR_INVAL);
    }
    uint8_t b[8];
    ck_assert_uint_eq(lwq_varint_len(LWQ_VARINT_MAX + 1), 0);
    ck_assert_int_eq(lwq_varint_encode(b, sizeof(b), LWQ_VARINT_MAX + 1), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_varint_encode_fixed(b, sizeof(b), 1, 3), LWQ_ERR_INVAL);
    uint64_t v;
    ck_assert_int_eq(lwq_varint_decode(&v, b, 0), LWQ_ERR_TRUNCATED);
}
END_TEST

START_TEST(test_quic_error_names)
{
    ck_assert_str_eq(lwq_quic_error_name(LWQ_QUIC_ERR_NO_ERROR), "NO_ERROR");
    ck_assert_str_eq(lwq_quic_error_name(0x07), "FRAME_ENCODING_ERROR");
    ck_assert_str_eq(lwq_quic_error_name(0x08), "TRANSPORT_PARAMETER_ERROR");
    ck_assert_str_eq(lwq_quic_error_name(0x0a), "PROTOCOL_VIOLATION");
    ck_assert_str_eq(lwq_quic_error_name(0x10), "NO_VIABLE_PATH");
    ck_assert_str_eq(lwq_quic_error_name(0x11), "VERSION_NEGOTIATION_ERROR");
    ck_assert_str_eq(lwq_quic_error_name(LWQ_QUIC_ERR_CRYPTO(40)), "CRYPTO_ERROR");
    ck_assert_uint_eq(LWQ_QUIC_ERR_CRYPTO(40), 0x128);
    ck_assert_str_eq(lwq_quic_error_name(0x1ff), "CRYPTO_ERROR");
    ck_assert_str_eq(lwq_quic_error_name(0x12), "UNKNOWN");
    ck_assert_str_eq(lwq_quic_error_name(0x200), "UNKNOWN");
    ck_assert_str_eq(lwq_quic_error_name(UINT64_MAX), "UNKNOWN");
}
END_TEST

Suite *suite_varint(void)
{
    Suite *s = suite_create("varint");
    TCase *tc = lwq_test_tcase("varint");
    tcase_add_test(tc, test_varint_rfc9000_a1);
    tcase_add_test(tc, test_varint_boundaries);
    tcase_add_test(tc, test_quic_error_names);
    suite_add_tcase(s, tc);
    return s;
}
