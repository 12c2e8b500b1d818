#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/keysched.h"

START_TEST(test_suites)
{
    ck_assert_int_eq(lwq_suite_known(0x1301), 1);
    ck_assert_int_eq(lwq_suite_known(0x1302), 1);
    ck_assert_int_eq(lwq_suite_known(0x1303), 1);
    ck_assert_int_eq(lwq_suite_known(0x1304), 0);
    ck_assert_int_eq(lwq_suite_known(0x0000), 0);
    ck_assert_int_eq(lwq_suite_hash(LWQ_SUITE_AES256GCM_SHA384), LWQ_HASH_SHA384);
    ck_assert_int_eq(lwq_suite_hash(LWQ_SUITE_CHACHA20POLY1305_SHA256), LWQ_HASH_SHA256);
    ck_assert_int_eq(lwq_suite_aead(LWQ_SUITE_AES128GCM_SHA256), LWQ_AEAD_AES128GCM);
    ck_assert_int_eq(lwq_suite_aead(LWQ_SUITE_AES256GCM_SHA384), LWQ_AEAD_AES256GCM);
    ck_assert_int_eq(lwq_suite_aead(LWQ_SUITE_CHACHA20POLY1305_SHA256), LWQ_AEAD_CHACHA20POLY1305);
    ck_assert_str_eq(lwq_suite_name(LWQ_SUITE_AES128GCM_SHA256), "TLS_AES_128_GCM_SHA256");
    ck_assert_str_eq(lwq_suite_name(LWQ_SUITE_AES256GCM_SHA384), "TLS_AES_256_GCM_SHA384");
    ck_assert_str_eq(lwq_suite_name(LWQ_SUITE_CHACHA20POLY1305_SHA256), "TLS_CHACHA20_POLY1305_SHA256");
}
END_TEST

/* HkdfLabel built by hand per RFC 9846 §7.1 and fed to plain HKDF-Expand. */
START_TEST(test_expand_label_encoding)
{
    uint8_t secret[48], ctx[5] = {1, 2, 3, 4, 5}, a[48], b[48];
    uint8_t info[] = {0x00, 0x30, 6 + 4, 't', 'l', 's', '1', '3', ' ', 'a', 'b', 'c', 'd', 5, 1, 2, 3, 4, 5};
    memset(secret, 0x42, sizeof(secret));
    ck_assert_int_eq(lwq_hkdf_expand_label(LWQ_HASH_SHA384, secret, 48, "abcd", ctx, 5, a, 48), 0);
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA384, secret, 48, info, sizeof(info), b, 48), 0);
    ck_assert_mem_eq(a, b, 48);
    char longlabel[251];
    memset(longlabel, 'x', 250);
    longlabel[250] = 0;
    ck_assert_int_eq(lwq_hkdf_expand_label(LWQ_HASH_SHA256, secret, 32, longlabel, NULL, 0, a, 32), LWQ_ERR_INVAL);
    longlabel[249] = 0;
    ck_assert_int_eq(lwq_hkdf_expand_label(LWQ_HASH_SHA256, secret, 32, longlabel, NULL, 0, a, 32), 0);
}
END_TEST

/* The schedule's stages, recomputed from the RFC 9846 §7.1 formulas with the primitives. */
START_TEST(test_schedule_stages)
{
    for (int h = 0; h < 2; h++) {
        lwq_hash_alg alg = h ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
        size_t hl = lwq_hash_len(alg);
        uint8_t zeros[48] = {0}, empty[48], salt[48], early[48], hs[48], ms[48], dhe[32], th[48], out[48], want[48];
        memset(dhe, 0x17, sizeof(dhe));
        memset(th, 0x99, sizeof(th));
        lwq_hash(alg, NULL, 0, empty);
        lwq_hkdf_extract(alg, NULL, 0, zeros, hl, early);
        lwq_hkdf_expand_label(alg, early, hl, "derived", empty, hl, salt, hl);
        lwq_hkdf_extract(alg, salt, hl, dhe, sizeof(dhe), hs);
        lwq_hkdf_expand_label(alg, hs, hl, "derived", empty, hl, salt, hl);
        lwq_hkdf_extract(alg, salt, hl, zeros, hl, ms);

        lwq_keysched ks;
        lwq_ks_init(&ks, alg, NULL, 0);
        ck_assert_int_eq(ks.stage, LWQ_KS_EARLY);
        ck_assert_mem_eq(ks.secret, early, hl);
        lwq_ks_binder_key(&ks, out);
        lwq_hkdf_expand_label(alg, early, hl, "res binder", empty, hl, want, hl);
        ck_assert_mem_eq(out, want, hl);
        lwq_ks_advance(&ks, dhe, sizeof(dhe));
        ck_assert_int_eq(ks.stage, LWQ_KS_HANDSHAKE);
        ck_assert_mem_eq(ks.secret, hs, hl);
        lwq_ks_derive(&ks, "c hs traffic", th, out);
        lwq_hkdf_expand_label(alg, hs, hl, "c hs traffic", th, hl, want, hl);
        ck_assert_mem_eq(out, want, hl);
        lwq_ks_advance(&ks, NULL, 0);
        ck_assert_int_eq(ks.stage, LWQ_KS_MASTER);
        ck_assert_mem_eq(ks.secret, ms, hl);
        /* Past the master secret there is no further stage. */
        lwq_ks_advance(&ks, NULL, 0);
        ck_assert_mem_eq(ks.secret, ms, hl);

        /* A PSK changes the early secret. */
        lwq_ks_init(&ks, alg, dhe, sizeof(dhe));
        lwq_hkdf_extract(alg, NULL, 0, dhe, sizeof(dhe), want);
        ck_assert_mem_eq(ks.secret, want, hl);

        lwq_finished_key(alg, hs, out);
        lwq_hkdf_expand_label(alg, hs, hl, "finished", NULL, 0, want, hl);
        ck_assert_mem_eq(out, want, hl);
        lwq_resumption_psk(alg, ms, dhe, 8, out);
        lwq_hkdf_expand_label(alg, ms, hl, "resumption", dhe, 8, want, hl);
        ck_assert_mem_eq(out, want, hl);
        lwq_ks_clear(&ks);
        ck_assert_uint_eq(ks.secret[0], 0);
    }
}
END_TEST

START_TEST(test_nonce)
{
    lwq_quic_keys k;
    memset(&k, 0, sizeof(k));
    for (int i = 0; i < 12; i++)
        k.iv[i] = (uint8_t)(0xa0 + i);
    uint8_t n[12];
    lwq_quic_nonce(&k, 0x0102030405060708ull, n);
    uint8_t want[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4 ^ 1, 0xa5 ^ 2, 0xa6 ^ 3, 0xa7 ^ 4,
                        0xa8 ^ 5, 0xa9 ^ 6, 0xaa ^ 7, 0xab ^ 8};
    ck_assert_mem_eq(n, want, 12);
    lwq_quic_nonce(&k, 0, n);
    ck_assert_mem_eq(n, k.iv, 12);
}
END_TEST

START_TEST(test_unsupported_versions)
{
    uint8_t c[32], s[32], secret[32] = {0}, tag[16];
    lwq_quic_keys k;
    ck_assert_int_eq(lwq_quic_initial_secrets(0xff00001d, (const uint8_t *)"x", 1, c, s), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_quic_keys_init(&k, 2, LWQ_SUITE_AES128GCM_SHA256, secret), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_quic_keys_init(&k, LWQ_QUIC_V1, (lwq_suite)0x1305, secret), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_quic_next_secret(0, LWQ_SUITE_AES128GCM_SHA256, secret, c), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_quic_retry_tag(0, secret, 8, secret, 16, tag), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_quic_retry_tag(LWQ_QUIC_V1, secret, 21, secret, 16, tag), LWQ_ERR_INVAL);
}
END_TEST

/* RFC 9001 §6: a key update derives the next secret, new key and iv, and keeps the hp key. */
START_TEST(test_key_update)
{
    static const lwq_suite suites[] = {LWQ_SUITE_AES128GCM_SHA256, LWQ_SUITE_AES256GCM_SHA384,
                                       LWQ_SUITE_CHACHA20POLY1305_SHA256};
    for (size_t i = 0; i < 3; i++) {
        size_t hl = lwq_hash_len(lwq_suite_hash(suites[i]));
        uint8_t s0[48], s1[48], s1v2[48], want[48], sample[16] = {9}, m0[5], m1[5], nonce[12];
        uint8_t pt[64], ct[80], back[64];
        memset(s0, 0x33 + (int)i, sizeof(s0));
        memset(pt, 0x5a, sizeof(pt));
        ck_assert_int_eq(lwq_quic_next_secret(LWQ_QUIC_V1, suites[i], s0, s1), 0);
        ck_assert_int_eq(lwq_hkdf_expand_label(lwq_suite_hash(suites[i]), s0, hl, "quic ku", NULL, 0, want, hl), 0);
        ck_assert_mem_eq(s1, want, hl);
        ck_assert_int_eq(lwq_quic_next_secret(LWQ_QUIC_V2, suites[i], s0, s1v2), 0);
        ck_assert(memcmp(s1, s1v2, hl) != 0);

        /* Sender and receiver each update; the hp key stays that of generation 0. */
        lwq_quic_keys tx, rx;
        ck_assert_int_eq(lwq_quic_keys_init(&tx, LWQ_QUIC_V1, suites[i], s0), 0);
        ck_assert_int_eq(lwq_quic_keys_init(&rx, LWQ_QUIC_V1, suites[i], s0), 0);
        ck_assert_int_eq(lwq_hp_mask(&tx.hp, sample, m0), 0);
        uint8_t iv0[12];
        memcpy(iv0, tx.iv, 12);
        lwq_aead_free(&tx.aead);
        lwq_aead_free(&rx.aead);
        ck_assert_int_eq(lwq_quic_keys_init_no_hp(&tx, LWQ_QUIC_V1, suites[i], s1), 0);
        ck_assert_int_eq(lwq_quic_keys_init_no_hp(&rx, LWQ_QUIC_V1, suites[i], s1), 0);
        ck_assert(memcmp(iv0, tx.iv, 12) != 0);
        ck_assert_int_eq(lwq_hp_mask(&tx.hp, sample, m1), 0);
        ck_assert_mem_eq(m0, m1, 5);
        lwq_quic_nonce(&tx, 77, nonce);
        ck_assert_int_eq(lwq_aead_seal(&tx.aead, nonce, sample, 16, pt, sizeof(pt), ct), 0);
        ck_assert_int_eq(lwq_aead_open(&rx.aead, nonce, sample, 16, ct, sizeof(ct), back), 0);
        ck_assert_mem_eq(back, pt, sizeof(pt));
        /* A receiver still on generation 0 cannot open it; one on v2 labels neither. */
        lwq_quic_keys old, v2;
        ck_assert_int_eq(lwq_quic_keys_init(&old, LWQ_QUIC_V1, suites[i], s0), 0);
        lwq_quic_nonce(&old, 77, nonce);
        ck_assert_int_eq(lwq_aead_open(&old.aead, nonce, sample, 16, ct, sizeof(ct), back), LWQ_ERR_DECRYPT);
        ck_assert_int_eq(lwq_quic_keys_init(&v2, LWQ_QUIC_V2, suites[i], s1), 0);
        ck_assert(memcmp(v2.iv, tx.iv, 12) != 0);
        lwq_quic_nonce(&v2, 77, nonce);
        ck_assert_int_eq(lwq_aead_open(&v2.aead, nonce, sample, 16, ct, sizeof(ct), back), LWQ_ERR_DECRYPT);
        ck_assert_int_eq(lwq_hp_mask(&v2.hp, sample, m1), 0);
        ck_assert(memcmp(m0, m1, 5) != 0);
        lwq_quic_keys_free(&old);
        lwq_quic_keys_free(&v2);
        lwq_quic_keys_free(&tx);
        lwq_quic_keys_free(&rx);
    }
}
END_TEST

START_TEST(test_initial_secrets_v1_v2_differ)
{
    uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, c1[32], s1[32], c2[32], s2[32];
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_QUIC_V1, dcid, 8, c1, s1), 0);
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_QUIC_V2, dcid, 8, c2, s2), 0);
    ck_assert(memcmp(c1, s1, 32) != 0);
    ck_assert(memcmp(c1, c2, 32) != 0);
    ck_assert(memcmp(s1, s2, 32) != 0);
    /* The derivation is defined for any DCID length, zero included. */
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_QUIC_V1, NULL, 0, c2, s2), 0);
    ck_assert(memcmp(c1, c2, 32) != 0);
}
END_TEST

Suite *suite_keysched(void)
{
    Suite *s = suite_create("keysched");
    TCase *tc = lwq_test_tcase("keysched");
    tcase_add_test(tc, test_suites);
    tcase_add_test(tc, test_expand_label_encoding);
    tcase_add_test(tc, test_schedule_stages);
    tcase_add_test(tc, test_nonce);
    tcase_add_test(tc, test_unsupported_versions);
    tcase_add_test(tc, test_key_update);
    tcase_add_test(tc, test_initial_secrets_v1_v2_differ);
    suite_add_tcase(s, tc);
    return s;
}
