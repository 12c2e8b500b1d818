#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/packet.h"
#include "quic/protect.h"

static const uint8_t dcid[] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t scid[] = {9, 10, 11};

static void keys_for(lwq_quic_keys *k, lwq_suite suite, uint8_t seed)
{
    uint8_t secret[48];
    memset(secret, seed, sizeof(secret));
    ck_assert_int_eq(lwq_quic_keys_init(k, LWQ_QUIC_V1, suite, secret), 0);
}

/* Header + payload of a packet, ready for lwq_packet_protect; returns the header length. */
static size_t build(uint8_t *buf, size_t cap, lwq_pkt_type t, uint64_t pn, size_t pn_len, const uint8_t *payload,
                    size_t plen, int key_phase)
{
    lwq_pkt_hdr_out h = {.type = t,
                         .version = LWQ_QUIC_V1,
                         .dcid = dcid,
                         .dcid_len = sizeof(dcid),
                         .scid = scid,
                         .scid_len = sizeof(scid),
                         .pn = pn,
                         .pn_len = pn_len,
                         .payload_len = plen,
                         .tag_len = 16,
                         .key_phase = key_phase};
    ssize_t n = lwq_pkt_hdr_encode(buf, cap, &h);
    ck_assert_int_gt(n, 0);
    memcpy(buf + n, payload, plen);
    return (size_t)n;
}

START_TEST(test_protect_round_trip)
{
    static const lwq_suite suites[] = {LWQ_SUITE_AES128GCM_SHA256, LWQ_SUITE_AES256GCM_SHA384,
                                       LWQ_SUITE_CHACHA20POLY1305_SHA256};
    static const lwq_pkt_type types[] = {LWQ_PKT_INITIAL, LWQ_PKT_HANDSHAKE, LWQ_PKT_0RTT, LWQ_PKT_1RTT};
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    for (size_t s = 0; s < 3; s++) {
        lwq_quic_keys k;
        keys_for(&k, suites[s], (uint8_t)(s + 1));
        for (size_t t = 0; t < 4; t++) {
            for (size_t pn_len = 1; pn_len <= 4; pn_len++) {
                uint8_t pkt[512], clear[512];
                uint64_t pn = 0x12345678 + t;
                size_t plen = 4 - pn_len + (t * 97 + pn_len) % 200;
                size_t hl = build(pkt, sizeof(pkt), types[t], pn, pn_len, payload, plen, (int)(pn_len & 1));
                memcpy(clear, pkt, hl + plen);
                ssize_t n = lwq_packet_protect(&k, pn, pkt, hl, plen, sizeof(pkt));
                ck_assert_int_eq(n, (ssize_t)(hl + plen + 16));
                ck_assert(memcmp(pkt + hl, payload, plen) != 0 || plen == 0);
                lwq_pkt_hdr h;
                uint8_t *exact = lwq_memdup(lwq_test_alloc, pkt, (size_t)n);
                ck_assert_int_eq(lwq_pkt_hdr_decode(&h, exact, (size_t)n, sizeof(dcid)), n);
                ck_assert_uint_eq(h.pn_offset, hl - pn_len);
                lwq_unprotected u;
                ck_assert_int_eq(lwq_packet_unprotect(&k, exact, h.pkt_len, h.pn_offset, pn - 1, &u), 0);
                ck_assert_uint_eq(u.pn, pn);
                ck_assert_uint_eq(u.pn_len, pn_len);
                ck_assert_uint_eq(u.first, clear[0]);
                ck_assert_uint_eq(u.payload_off, hl);
                ck_assert_uint_eq(u.payload_len, plen);
                ck_assert_mem_eq(exact, clear, hl + plen);
                if (types[t] == LWQ_PKT_1RTT)
                    ck_assert_int_eq(u.key_phase, (int)(pn_len & 1));
                lwq_free(lwq_test_alloc, exact);
            }
        }
        lwq_quic_keys_free(&k);
    }
}
END_TEST

START_TEST(test_protect_sample_rules)
{
    lwq_quic_keys k;
    keys_for(&k, LWQ_SUITE_AES128GCM_SHA256, 7);
    uint8_t pkt[128];
    /* RFC 9001 §5.4.2: packet number + payload must give 4 bytes before the sample */
    size_t hl = build(pkt, sizeof(pkt), LWQ_PKT_1RTT, 5, 1, (const uint8_t *)"\x01\x00", 2, 0);
    ck_assert_int_eq(lwq_packet_protect(&k, 5, pkt, hl, 2, sizeof(pkt)), LWQ_ERR_INVAL);
    hl = build(pkt, sizeof(pkt), LWQ_PKT_1RTT, 5, 1, (const uint8_t *)"\x01\x00\x00", 3, 0);
    ck_assert_int_eq(lwq_packet_protect(&k, 5, pkt, hl, 3, hl + 3 + 15), LWQ_ERR_NOBUF);
    ssize_t n = lwq_packet_protect(&k, 5, pkt, hl, 3, sizeof(pkt));
    ck_assert_int_eq(n, (ssize_t)(hl + 3 + 16));
    /* the smallest packet: the sample ends exactly at the end */
    lwq_unprotected u;
    uint8_t copy[128];
    memcpy(copy, pkt, (size_t)n);
    ck_assert_int_eq(lwq_packet_unprotect(&k, copy, (size_t)n, hl - 1, 4, &u), 0);
    ck_assert_uint_eq(u.payload_len, 3);
    /* one byte less: no room for the sample */
    memcpy(copy, pkt, (size_t)n);
    ck_assert_int_eq(lwq_packet_unprotect(&k, copy, (size_t)n - 1, hl - 1, 4, &u), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_packet_unprotect(&k, copy, 3, 9, 4, &u), LWQ_ERR_DECODE);
    lwq_quic_keys_free(&k);
}
END_TEST

START_TEST(test_unprotect_rejects_tampering)
{
    lwq_quic_keys k, other;
    keys_for(&k, LWQ_SUITE_CHACHA20POLY1305_SHA256, 3);
    keys_for(&other, LWQ_SUITE_CHACHA20POLY1305_SHA256, 4);
    uint8_t pkt[128], copy[128];
    static const uint8_t payload[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    size_t hl = build(pkt, sizeof(pkt), LWQ_PKT_HANDSHAKE, 1000, 2, payload, sizeof(payload), 0);
    ssize_t n = lwq_packet_protect(&k, 1000, pkt, hl, sizeof(payload), sizeof(pkt));
    ck_assert_int_gt(n, 0);
    lwq_unprotected u;
    memcpy(copy, pkt, (size_t)n);
    ck_assert_int_eq(lwq_packet_unprotect(&other, copy, (size_t)n, hl - 2, 999, &u), LWQ_ERR_DECRYPT);
    /* the tag survives a failed decryption, for stateless reset detection */
    ck_assert_mem_eq(copy + n - 16, pkt + n - 16, 16);
    /* any flipped bit fails authentication */
    for (ssize_t i = 0; i < n; i++) {
        memcpy(copy, pkt, (size_t)n);
        copy[i] ^= 0x10;
        int r = lwq_packet_unprotect(&k, copy, (size_t)n, hl - 2, 999, &u);
        ck_assert_msg(r == LWQ_ERR_DECRYPT, "byte %zd: %d", i, r);
    }
    /* a wrong packet number reconstruction changes the nonce */
    memcpy(copy, pkt, (size_t)n);
    ck_assert_int_eq(lwq_packet_unprotect(&k, copy, (size_t)n, hl - 2, 1000 + 40000, &u), LWQ_ERR_DECRYPT);
    lwq_quic_keys_free(&k);
    lwq_quic_keys_free(&other);
}
END_TEST

/* RFC 9000 §17.2, §17.3.1: reserved bits are a PROTOCOL_VIOLATION, but only once authenticated */
START_TEST(test_reserved_bits)
{
    lwq_quic_keys k;
    keys_for(&k, LWQ_SUITE_AES256GCM_SHA384, 9);
    static const uint8_t payload[] = {0x01, 0x00, 0x00, 0x00, 0x00};
    static const struct {
        lwq_pkt_type t;
        uint8_t bit;
    } cases[] = {{LWQ_PKT_INITIAL, 0x04}, {LWQ_PKT_INITIAL, 0x08}, {LWQ_PKT_1RTT, 0x08}, {LWQ_PKT_1RTT, 0x10}};
    for (size_t i = 0; i < 4; i++) {
        uint8_t pkt[128];
        size_t hl = build(pkt, sizeof(pkt), cases[i].t, 77, 1, payload, sizeof(payload), 0);
        pkt[0] |= cases[i].bit;
        ssize_t n = lwq_packet_protect(&k, 77, pkt, hl, sizeof(payload), sizeof(pkt));
        ck_assert_int_gt(n, 0);
        lwq_unprotected u;
        ck_assert_int_eq(lwq_packet_unprotect(&k, pkt, (size_t)n, hl - 1, 76, &u), LWQ_ERR_PROTO);
        ck_assert_mem_eq(pkt + hl, payload, sizeof(payload));
    }
    lwq_quic_keys_free(&k);
}
END_TEST

/* RFC 9001 §6.1: an updated key protects with the same header protection key, so the Key Phase bit
 * is readable before choosing the keys; only the right generation opens the payload. */
START_TEST(test_key_phase_generations)
{
    static const lwq_suite suites[] = {LWQ_SUITE_AES128GCM_SHA256, LWQ_SUITE_CHACHA20POLY1305_SHA256};
    for (size_t s = 0; s < 2; s++) {
        uint8_t secret[48], next[48];
        memset(secret, 0x33, sizeof(secret));
        lwq_quic_keys k0, k1;
        ck_assert_int_eq(lwq_quic_keys_init(&k0, LWQ_QUIC_V1, suites[s], secret), 0);
        ck_assert_int_eq(lwq_quic_next_secret(LWQ_QUIC_V1, suites[s], secret, next), 0);
        ck_assert(memcmp(secret, next, 32) != 0);
        k1 = k0; /* header protection state shared, AEAD and IV replaced */
        ck_assert_int_eq(lwq_quic_keys_init_no_hp(&k1, LWQ_QUIC_V1, suites[s], next), 0);
        ck_assert(memcmp(k0.iv, k1.iv, sizeof(k0.iv)) != 0);
        static const uint8_t payload[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00};
        for (int phase = 0; phase < 2; phase++) {
            uint8_t pkt[128], copy[128];
            size_t hl = build(pkt, sizeof(pkt), LWQ_PKT_1RTT, 500, 2, payload, sizeof(payload), phase);
            ssize_t n = lwq_packet_protect(phase ? &k1 : &k0, 500, pkt, hl, sizeof(payload), sizeof(pkt));
            ck_assert_int_gt(n, 0);
            memcpy(copy, pkt, (size_t)n);
            lwq_unprotected u;
            ck_assert_int_eq(lwq_hp_remove(&k0.hp, copy, (size_t)n, hl - 2, 499, &u), 0);
            ck_assert_int_eq(u.key_phase, phase);
            ck_assert_uint_eq(u.pn, 500);
            uint8_t again[128];
            memcpy(again, copy, (size_t)n);
            ck_assert_int_eq(lwq_payload_decrypt(phase ? &k0 : &k1, again, (size_t)n, &u), LWQ_ERR_DECRYPT);
            ck_assert_int_eq(lwq_payload_decrypt(phase ? &k1 : &k0, copy, (size_t)n, &u), 0);
            ck_assert_mem_eq(copy + hl, payload, sizeof(payload));
        }
        lwq_aead_free(&k1.aead);
        lwq_quic_keys_free(&k0);
    }
}
END_TEST

Suite *suite_protect(void)
{
    Suite *s = suite_create("protect");
    TCase *tc = lwq_test_tcase("protect");
    tcase_add_test(tc, test_protect_round_trip);
    tcase_add_test(tc, test_protect_sample_rules);
    tcase_add_test(tc, test_unprotect_rejects_tampering);
    tcase_add_test(tc, test_reserved_bits);
    tcase_add_test(tc, test_key_phase_generations);
    suite_add_tcase(s, tc);
    return s;
}
