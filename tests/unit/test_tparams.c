#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/tparams.h"
#include "tls/keysched.h"
#include "quic/varint.h"
#include "lwquic/quic_errors.h"

static void server_params(lwq_tparams *tp)
{
    lwq_tparams_init(tp);
    tp->max_idle_timeout = 30000;
    tp->max_udp_payload_size = 1200;
    tp->initial_max_data = LWQ_VARINT_MAX;
    tp->initial_max_stream_data_bidi_local = 1;
    tp->initial_max_stream_data_bidi_remote = 16384;
    tp->initial_max_stream_data_uni = 1073741824;
    tp->initial_max_streams_bidi = UINT64_C(1) << 60;
    tp->initial_max_streams_uni = 3;
    tp->ack_delay_exponent = 20;
    tp->max_ack_delay = 16383;
    tp->active_connection_id_limit = 8;
    tp->disable_active_migration = 1;
    tp->grease_quic_bit = 1;
    tp->has_original_dcid = 1;
    lwq_cid_set(&tp->original_dcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
    tp->has_initial_scid = 1;
    lwq_cid_set(&tp->initial_scid, (const uint8_t *)"s_cid", 5);
    tp->has_retry_scid = 1;
    lwq_cid_set(&tp->retry_scid, (const uint8_t *)"retry-cid-of-20bytes", 20);
    tp->has_reset_token = 1;
    memcpy(tp->reset_token, "0123456789abcdef", 16);
    tp->has_preferred_address = 1;
    memcpy(tp->preferred_address.ipv4, "\xc0\x00\x02\x01", 4);
    tp->preferred_address.ipv4_port = 443;
    memcpy(tp->preferred_address.ipv6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    tp->preferred_address.ipv6_port = 4433;
    lwq_cid_set(&tp->preferred_address.cid, (const uint8_t *)"pref", 4);
    memcpy(tp->preferred_address.reset_token, "fedcba9876543210", 16);
    tp->has_version_info = 1;
    tp->chosen_version = LWQ_QUIC_V2;
    tp->available_versions[0] = LWQ_QUIC_V2;
    tp->available_versions[1] = LWQ_QUIC_V1;
    tp->n_available_versions = 2;
    tp->has_max_datagram_frame_size = 1;
    tp->max_datagram_frame_size = 65535;
}

static void assert_tp_eq(const lwq_tparams *a, const lwq_tparams *b)
{
    ck_assert_uint_eq(a->max_idle_timeout, b->max_idle_timeout);
    ck_assert_uint_eq(a->max_udp_payload_size, b->max_udp_payload_size);
    ck_assert_uint_eq(a->initial_max_data, b->initial_max_data);
    ck_assert_uint_eq(a->initial_max_stream_data_bidi_local, b->initial_max_stream_data_bidi_local);
    ck_assert_uint_eq(a->initial_max_stream_data_bidi_remote, b->initial_max_stream_data_bidi_remote);
    ck_assert_uint_eq(a->initial_max_stream_data_uni, b->initial_max_stream_data_uni);
    ck_assert_uint_eq(a->initial_max_streams_bidi, b->initial_max_streams_bidi);
    ck_assert_uint_eq(a->initial_max_streams_uni, b->initial_max_streams_uni);
    ck_assert_uint_eq(a->ack_delay_exponent, b->ack_delay_exponent);
    ck_assert_uint_eq(a->max_ack_delay, b->max_ack_delay);
    ck_assert_uint_eq(a->active_connection_id_limit, b->active_connection_id_limit);
    ck_assert_uint_eq(a->max_datagram_frame_size, b->max_datagram_frame_size);
    ck_assert_int_eq(a->has_max_datagram_frame_size, b->has_max_datagram_frame_size);
    ck_assert_int_eq(a->disable_active_migration, b->disable_active_migration);
    ck_assert_int_eq(a->grease_quic_bit, b->grease_quic_bit);
    ck_assert_int_eq(a->has_original_dcid, b->has_original_dcid);
    ck_assert_int_eq(a->has_initial_scid, b->has_initial_scid);
    ck_assert_int_eq(a->has_retry_scid, b->has_retry_scid);
    ck_assert_int_eq(a->has_reset_token, b->has_reset_token);
    ck_assert_int_eq(a->has_preferred_address, b->has_preferred_address);
    ck_assert_int_eq(a->has_version_info, b->has_version_info);
    ck_assert(lwq_cid_eq(&a->original_dcid, b->original_dcid.id, b->original_dcid.len));
    ck_assert(lwq_cid_eq(&a->initial_scid, b->initial_scid.id, b->initial_scid.len));
    ck_assert(lwq_cid_eq(&a->retry_scid, b->retry_scid.id, b->retry_scid.len));
    ck_assert_mem_eq(a->reset_token, b->reset_token, 16);
    ck_assert_mem_eq(&a->preferred_address.ipv4, &b->preferred_address.ipv4, 4);
    ck_assert_mem_eq(&a->preferred_address.ipv6, &b->preferred_address.ipv6, 16);
    ck_assert_uint_eq(a->preferred_address.ipv4_port, b->preferred_address.ipv4_port);
    ck_assert_uint_eq(a->preferred_address.ipv6_port, b->preferred_address.ipv6_port);
    ck_assert(lwq_cid_eq(&a->preferred_address.cid, b->preferred_address.cid.id, b->preferred_address.cid.len));
    ck_assert_mem_eq(a->preferred_address.reset_token, b->preferred_address.reset_token, 16);
    ck_assert_uint_eq(a->chosen_version, b->chosen_version);
    ck_assert_uint_eq(a->n_available_versions, b->n_available_versions);
    for (size_t i = 0; i < a->n_available_versions; i++)
        ck_assert_uint_eq(a->available_versions[i], b->available_versions[i]);
}

/* With LWQ_WRITE_CORPUS=dir, fuzz seeds: a byte saying who sent them (1: server), then the body. */
static void write_seed(const char *name, int from_server, const uint8_t *p, size_t n)
{
    const char *dir = getenv("LWQ_WRITE_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputc(from_server, fp);
    fwrite(p, 1, n, fp);
    fclose(fp);
}

START_TEST(test_tparams_round_trip)
{
    lwq_tparams tp, got;
    uint8_t buf[512];
    server_params(&tp);
    size_t len = lwq_tparams_encoded_len(&tp, 1);
    ck_assert_uint_gt(len, 100);
    ck_assert_int_eq(lwq_tparams_encode(buf, sizeof(buf), &tp, 1), (ssize_t)len);
    for (size_t cap = 0; cap < len; cap++)
        ck_assert_int_eq(lwq_tparams_encode(buf, cap, &tp, 1), LWQ_ERR_NOBUF);
    write_seed("server_all", 1, buf, len);
    uint8_t *exact = lwq_memdup(lwq_test_alloc, buf, len);
    ck_assert_int_eq(lwq_tparams_decode(&got, exact, len, 1), (ssize_t)len);
    assert_tp_eq(&tp, &got);
    lwq_free(lwq_test_alloc, exact);
    /* a server's parameters are refused from a client */
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, len, 0), LWQ_ERR_PROTO);

    /* the client's set; an all-default set encodes to nothing */
    lwq_tparams_init(&tp);
    ck_assert_uint_eq(lwq_tparams_encoded_len(&tp, 0), 0);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, 0, 0), 0);
    assert_tp_eq(&tp, &got);
    tp.has_initial_scid = 1;
    lwq_cid_set(&tp.initial_scid, NULL, 0);
    tp.initial_max_data = 1 << 20;
    tp.has_max_datagram_frame_size = 1; /* present with 0 */
    tp.has_version_info = 1;
    tp.chosen_version = LWQ_QUIC_V1;
    ssize_t n = lwq_tparams_encode(buf, sizeof(buf), &tp, 0);
    ck_assert_int_gt(n, 0);
    write_seed("client", 0, buf, (size_t)n);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 0), n);
    assert_tp_eq(&tp, &got);

    /* more Available Versions than kept: validated, the first LWQ_TP_VERSIONS_MAX stored */
    uint8_t vi[2 + 4 * 12] = {0x11, 48};
    for (size_t i = 0; i < 12; i++)
        lwq_put32(vi + 2 + 4 * i, 0x0a0a0a0a + (uint32_t)i);
    ck_assert_int_eq(lwq_tparams_decode(&got, vi, sizeof(vi), 1), (ssize_t)sizeof(vi));
    ck_assert_uint_eq(got.chosen_version, 0x0a0a0a0a);
    ck_assert_uint_eq(got.n_available_versions, LWQ_TP_VERSIONS_MAX);
    ck_assert_uint_eq(got.available_versions[0], 0x0a0a0a0b);
}
END_TEST

/* The offsets where a parameter starts or the list ends. */
static int at_boundary(const uint8_t *p, size_t n, size_t k)
{
    size_t off = 0;
    while (off < n) {
        if (off == k)
            return 1;
        uint64_t id, len;
        off += (size_t)lwq_varint_decode(&id, p + off, n - off);
        off += (size_t)lwq_varint_decode(&len, p + off, n - off);
        off += (size_t)len;
    }
    return off == k;
}

START_TEST(test_tparams_truncation)
{
    lwq_tparams tp, got;
    uint8_t buf[512];
    server_params(&tp);
    ssize_t len = lwq_tparams_encode(buf, sizeof(buf), &tp, 1);
    ck_assert_int_gt(len, 0);
    size_t ok = 0;
    for (size_t k = 0; k < (size_t)len; k++) {
        uint8_t *exact = lwq_memdup(lwq_test_alloc, buf, k ? k : 1);
        ssize_t r = lwq_tparams_decode(&got, exact, k, 1);
        if (at_boundary(buf, (size_t)len, k)) {
            ck_assert_int_eq(r, (ssize_t)k);
            ok++;
        } else {
            ck_assert_int_eq(r, LWQ_ERR_PROTO);
            ck_assert_uint_eq(got.wire_error, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR);
        }
        lwq_free(lwq_test_alloc, exact);
    }
    ck_assert_uint_eq(ok, 20); /* one per parameter: 11 integers, 9 others */
}
END_TEST

static const struct {
    const char *hex;
    int from_server;
    uint64_t param;
} bad[] = {
    {"01 01 05 01 01 06", 1, 0x01}, /* duplicate */
    {"0f 00 0f 00", 0, 0x0f},       /* duplicate CID */
    {"03 02 44af", 1, 0x03},        /* max_udp_payload_size 1199 */
    {"03 01 00", 0, 0x03},
    {"0a 01 15", 1, 0x0a},       /* ack_delay_exponent 21 */
    {"0b 04 80004000", 1, 0x0b}, /* max_ack_delay 2^14 */
    {"0e 01 01", 1, 0x0e},       /* active_connection_id_limit 1 */
    {"0e 01 00", 0, 0x0e},
    {"08 08 d000000000000001", 1, 0x08}, /* initial_max_streams_bidi 2^60 + 1 */
    {"09 08 d000000000000001", 0, 0x09},
    {"01 02 05 00", 1, 0x01}, /* length longer than the integer */
    {"01 01 40", 1, 0x01},    /* integer longer than the length */
    {"01 00", 1, 0x01},
    {"00 00", 0, 0x00}, /* server-only parameters from a client */
    {"02 10 00112233445566778899aabbccddeeff", 0, 0x02},
    {"10 01 aa", 0, 0x10},
    {"0d 2a 00000000 0000 00000000000000000000000000000000 0000 01 aa 00112233445566778899aabbccddeeff", 0, 0x0d},
    {"02 0f 00112233445566778899aabbccddee", 1, 0x02}, /* reset token length */
    {"0c 01 00", 1, 0x0c},                             /* disable_active_migration with a value */
    {"0d 29 00000000 0000 00000000000000000000000000000000 0000 00 00112233445566778899aabbccddeeff", 1,
     0x0d}, /* preferred_address with an empty CID */
    {"0d 2a 00000000 0000 00000000000000000000000000000000 0000 02 aa 00112233445566778899aabbccddeeff", 1,
     0x0d}, /* CID length beyond the parameter */
    {"0d 18 00000000 0000 00000000000000000000000000000000 0000", 1, 0x0d},
    {"0f 15 000102030405060708090a0b0c0d0e0f1011121314", 1, 0x0f}, /* 21-byte CID */
    {"00 15 000102030405060708090a0b0c0d0e0f1011121314", 1, 0x00},
    {"11 03 000001", 1, 0x11}, /* version_information length */
    {"11 06 00000001 0000", 1, 0x11},
    {"11 04 00000000", 1, 0x11},          /* chosen version 0 */
    {"11 08 00000001 00000000", 0, 0x11}, /* available version 0 */
    {"11 00", 0, 0x11},
    {"6ab2 01 00", 1, 0x2ab2}, /* grease_quic_bit with a value */
    {"6ab2 00 6ab2 00", 0, 0x2ab2},
    {"20 02 40", 1, 0x20}, /* max_datagram_frame_size truncated */
    {"01", 1, 0x01},       /* no length */
    {"40", 1, UINT64_MAX}, /* no whole id */
    {"01 05 00", 1, 0x01}, /* length past the end */
    {"1b 05 00", 1, 0x1b},
};

START_TEST(test_tparams_validation_failures)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t b[256];
        size_t n = lwq_test_unhex(bad[i].hex, b, sizeof(b));
        uint8_t *exact = lwq_memdup(lwq_test_alloc, b, n);
        lwq_tparams got;
        ck_assert_msg(lwq_tparams_decode(&got, exact, n, bad[i].from_server) == LWQ_ERR_PROTO, "case %zu", i);
        ck_assert_uint_eq(got.wire_error, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR);
        ck_assert_msg(got.error_param == bad[i].param, "case %zu: param %llx", i, (unsigned long long)got.error_param);
        lwq_free(lwq_test_alloc, exact);
        char name[32];
        snprintf(name, sizeof(name), "bad_%02zu", i);
        write_seed(name, bad[i].from_server, b, n);
    }
}
END_TEST

START_TEST(test_tparams_limits_and_unknown)
{
    static const struct {
        const char *hex;
    } ok[] = {
        {"03 02 44b0"}, {"0a 01 14"}, {"0b 02 7fff"}, {"0e 01 02"}, {"08 08 d000000000000000"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint8_t b[64];
        size_t n = lwq_test_unhex(ok[i].hex, b, sizeof(b));
        lwq_tparams got;
        ck_assert_int_eq(lwq_tparams_decode(&got, b, n, 1), (ssize_t)n);
    }
    lwq_tparams got;
    uint8_t b[64];
    size_t n = lwq_test_unhex("03 02 44b0 0a 01 14 0b 02 7fff 0e 01 02 08 08 d000000000000000", b, sizeof(b));
    ck_assert_int_eq(lwq_tparams_decode(&got, b, n, 0), (ssize_t)n);
    ck_assert_uint_eq(got.max_udp_payload_size, 1200);
    ck_assert_uint_eq(got.ack_delay_exponent, 20);
    ck_assert_uint_eq(got.max_ack_delay, 16383);
    ck_assert_uint_eq(got.active_connection_id_limit, 2);
    ck_assert_uint_eq(got.initial_max_streams_bidi, UINT64_C(1) << 60);
    /* unknown and reserved (31 * N + 27) parameters are skipped, even repeated */
    n = lwq_test_unhex("1b 03 aabbcc 4c37 00 01 04 80004000 4c37 01 ff 7fff 00", b, sizeof(b));
    ck_assert_int_eq(lwq_tparams_decode(&got, b, n, 0), (ssize_t)n);
    ck_assert_uint_eq(got.max_idle_timeout, 0x4000);
    /* defaults when absent */
    ck_assert_uint_eq(got.max_udp_payload_size, 65527);
    ck_assert_uint_eq(got.ack_delay_exponent, 3);
    ck_assert_uint_eq(got.max_ack_delay, 25);
    ck_assert_uint_eq(got.active_connection_id_limit, 2);

    /* the encoder refuses what the decoder would reject */
    lwq_tparams tp;
    uint8_t out[512];
    server_params(&tp);
    ck_assert_int_eq(lwq_tparams_encode(out, sizeof(out), &tp, 0), LWQ_ERR_INVAL);
    ck_assert_uint_eq(lwq_tparams_encoded_len(&tp, 0), 0);
    tp.ack_delay_exponent = 21;
    ck_assert_int_eq(lwq_tparams_encode(out, sizeof(out), &tp, 1), LWQ_ERR_INVAL);
    server_params(&tp);
    tp.max_udp_payload_size = 1199;
    ck_assert_int_eq(lwq_tparams_encode(out, sizeof(out), &tp, 1), LWQ_ERR_INVAL);
    server_params(&tp);
    tp.preferred_address.cid.len = 0;
    ck_assert_int_eq(lwq_tparams_encode(out, sizeof(out), &tp, 1), LWQ_ERR_INVAL);
    server_params(&tp);
    tp.max_idle_timeout = LWQ_VARINT_MAX + 1;
    ck_assert_int_eq(lwq_tparams_encode(out, sizeof(out), &tp, 1), LWQ_ERR_INVAL);
}
END_TEST

START_TEST(test_tparams_cid_authentication)
{
    lwq_tparams tp, got;
    uint8_t buf[512];
    lwq_tp_cids seen;
    server_params(&tp);
    ssize_t n = lwq_tparams_encode(buf, sizeof(buf), &tp, 1);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 1), n);

    /* RFC 9000 §7.3: the client checks all three against what it saw */
    memset(&seen, 0, sizeof(seen));
    lwq_cid_set(&seen.peer_scid, (const uint8_t *)"s_cid", 5);
    lwq_cid_set(&seen.odcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
    lwq_cid_set(&seen.retry_scid, (const uint8_t *)"retry-cid-of-20bytes", 20);
    seen.retried = 1;
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &seen), 0);

    lwq_tp_cids alt = seen;
    lwq_cid_set(&alt.peer_scid, (const uint8_t *)"s_cie", 5);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_INITIAL_SCID);
    ck_assert_uint_eq(got.wire_error, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR);
    alt = seen;
    alt.odcid.len = 7;
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_ORIGINAL_DCID);
    alt = seen;
    alt.retry_scid.id[19] ^= 1;
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_RETRY_SCID);
    /* retry_source_connection_id without a Retry */
    alt = seen;
    alt.retried = 0;
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_RETRY_SCID);
    /* missing after a Retry */
    tp.has_retry_scid = 0;
    n = lwq_tparams_encode(buf, sizeof(buf), &tp, 1);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 1), n);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &seen), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), 0);
    /* missing original_destination_connection_id */
    tp.has_original_dcid = 0;
    n = lwq_tparams_encode(buf, sizeof(buf), &tp, 1);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 1), n);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 1, &alt), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_ORIGINAL_DCID);

    /* the server checks the client's initial_source_connection_id, zero-length included */
    lwq_tparams_init(&tp);
    memset(&seen, 0, sizeof(seen));
    n = lwq_tparams_encode(buf, sizeof(buf), &tp, 0);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 0), n);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 0, &seen), LWQ_ERR_PROTO);
    ck_assert_uint_eq(got.error_param, LWQ_TP_INITIAL_SCID);
    tp.has_initial_scid = 1;
    n = lwq_tparams_encode(buf, sizeof(buf), &tp, 0);
    ck_assert_int_eq(lwq_tparams_decode(&got, buf, (size_t)n, 0), n);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 0, &seen), 0);
    lwq_cid_set(&seen.peer_scid, (const uint8_t *)"c", 1);
    ck_assert_int_eq(lwq_tparams_check_cids(&got, 0, &seen), LWQ_ERR_PROTO);
}
END_TEST

Suite *suite_tparams(void)
{
    Suite *s = suite_create("tparams");
    TCase *tc = lwq_test_tcase("tparams");
    tcase_add_test(tc, test_tparams_round_trip);
    tcase_add_test(tc, test_tparams_truncation);
    tcase_add_test(tc, test_tparams_validation_failures);
    tcase_add_test(tc, test_tparams_limits_and_unknown);
    tcase_add_test(tc, test_tparams_cid_authentication);
    suite_add_tcase(s, tc);
    return s;
}
