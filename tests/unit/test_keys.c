#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/cert.h"
#include "io/tls_files.h"
#include "tls/x509.h"

static const char *cpath(const char *name)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ & 3];
    snprintf(b, sizeof(buf[0]), "certs/%s", name);
    return lwq_test_data_path(b);
}

static lwq_privkey *load_key(const char *name)
{
    lwq_privkey *k = NULL;
    int rc = lwq_privkey_load_file(&k, cpath(name), lwq_test_alloc);
    ck_assert_msg(rc == 0, "%s: %s", name, lwq_strerror(rc));
    return k;
}

/* Public key of the first certificate in a PEM file. */
static lwq_pubkey *load_cert_key(const char *name)
{
    lwq_cert_chain c;
    lwq_x509 x;
    lwq_pubkey *pk = NULL;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(name), lwq_test_alloc), 0);
    ck_assert_int_gt(lwq_x509_parse(&x, c.der[0], c.len[0]), 0);
    int rc = lwq_pubkey_from_spki(&pk, x.spki, x.spki_len, lwq_test_alloc);
    ck_assert_msg(rc == 0, "%s: %s", name, lwq_strerror(rc));
    lwq_cert_chain_free(&c, lwq_test_alloc);
    return pk;
}

static const struct {
    const char *file;
    lwq_key_type type;
} key_files[] = {
    {"server-ecdsa.key", LWQ_KEY_EC_P256},        /* PKCS#8 PEM */
    {"server-ecdsa-sec1.key", LWQ_KEY_EC_P256},   /* SEC1 PEM */
    {"server-ecdsa-sec1.der", LWQ_KEY_EC_P256},   /* SEC1 DER */
    {"server-ecdsa-pkcs8.der", LWQ_KEY_EC_P256},  /* PKCS#8 DER */
    {"runner.key", LWQ_KEY_EC_P256},              /* EC PARAMETERS + EC PRIVATE KEY */
    {"server-p384.key", LWQ_KEY_EC_P384},
    {"server-rsa.key", LWQ_KEY_RSA},              /* PKCS#8 PEM */
    {"server-rsa-pkcs1.key", LWQ_KEY_RSA},        /* PKCS#1 PEM */
    {"server-rsa-pkcs8.der", LWQ_KEY_RSA},
    {"server-ed25519.key", LWQ_KEY_ED25519},      /* PKCS#8 PEM */
    {"server-ed25519-pkcs8.der", LWQ_KEY_ED25519},
    {"rsa1024.key", LWQ_KEY_RSA},
};

START_TEST(test_every_key_format_loads)
{
    for (size_t i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
        lwq_privkey *k = load_key(key_files[i].file);
        ck_assert_msg(lwq_privkey_type(k) == key_files[i].type, "%s", key_files[i].file);
        lwq_privkey_del(k, lwq_test_alloc);
    }
}
END_TEST

static const struct {
    const char *key, *cert;
    lwq_sigalg alg;
} pairs[] = {
    {"server-ecdsa.key", "server-ecdsa.pem", LWQ_SIG_ECDSA_SECP256R1_SHA256},
    {"server-ecdsa-sec1.der", "server-ecdsa.pem", LWQ_SIG_ECDSA_SECP256R1_SHA256},
    {"server-ecdsa-pkcs8.der", "server-ecdsa.pem", LWQ_SIG_ECDSA_SECP256R1_SHA256},
    {"runner.key", "runner.pem", LWQ_SIG_ECDSA_SECP256R1_SHA256},
    {"server-p384.key", "server-p384.pem", LWQ_SIG_ECDSA_SECP384R1_SHA384},
    {"server-rsa.key", "server-rsa.pem", LWQ_SIG_RSA_PSS_RSAE_SHA256},
    {"server-rsa-pkcs1.key", "server-rsa.pem", LWQ_SIG_RSA_PSS_RSAE_SHA384},
    {"server-rsa-pkcs8.der", "server-rsa.pem", LWQ_SIG_RSA_PSS_RSAE_SHA256},
    {"server-ed25519.key", "server-ed25519.pem", LWQ_SIG_ED25519},
    {"server-ed25519-pkcs8.der", "server-ed25519.pem", LWQ_SIG_ED25519},
};

START_TEST(test_sign_verify_each_scheme)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify\0 transcript hash stand-in";
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 7);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        lwq_privkey *k = load_key(pairs[i].key);
        lwq_pubkey *pk = load_cert_key(pairs[i].cert);
        uint8_t sig[LWQ_SIG_MAX], bad[sizeof(msg)];
        size_t siglen = sizeof(sig);
        ck_assert_int_eq(lwq_privkey_can_sign(k, pairs[i].alg), 1);
        ck_assert_int_eq(lwq_pubkey_can_verify(pk, pairs[i].alg), 1);
        ck_assert_int_eq(lwq_sign(k, pairs[i].alg, msg, sizeof(msg), sig, &siglen, rng), 0);
        ck_assert_msg(lwq_verify(pk, pairs[i].alg, msg, sizeof(msg), sig, siglen) == 0, "%s", pairs[i].key);
        memcpy(bad, msg, sizeof(msg));
        bad[3] ^= 0x20;
        ck_assert_int_eq(lwq_verify(pk, pairs[i].alg, bad, sizeof(bad), sig, siglen), LWQ_ERR_CERT_BAD_SIGNATURE);
        sig[siglen / 2] ^= 0x01;
        ck_assert_int_eq(lwq_verify(pk, pairs[i].alg, msg, sizeof(msg), sig, siglen), LWQ_ERR_CERT_BAD_SIGNATURE);
        sig[siglen / 2] ^= 0x01;
        ck_assert_int_eq(lwq_verify(pk, pairs[i].alg, msg, sizeof(msg), sig, siglen - 1), LWQ_ERR_CERT_BAD_SIGNATURE);
        size_t small = 8;
        ck_assert_int_eq(lwq_sign(k, pairs[i].alg, msg, sizeof(msg), sig, &small, rng), LWQ_ERR_NOBUF);
        lwq_privkey_del(k, lwq_test_alloc);
        lwq_pubkey_del(pk, lwq_test_alloc);
    }
}
END_TEST

START_TEST(test_signature_sizes)
{
    static const uint8_t msg[] = "abc";
    uint8_t sig[LWQ_SIG_MAX];
    size_t n = sizeof(sig);
    lwq_privkey *k = load_key("server-rsa.key");
    ck_assert_int_eq(lwq_sign(k, LWQ_SIG_RSA_PSS_RSAE_SHA256, msg, 3, sig, &n, NULL), 0);
    ck_assert_uint_eq(n, 256);
    lwq_privkey_del(k, lwq_test_alloc);
    k = load_key("server-ed25519.key");
    n = sizeof(sig);
    ck_assert_int_eq(lwq_sign(k, LWQ_SIG_ED25519, msg, 3, sig, &n, NULL), 0);
    ck_assert_uint_eq(n, 64);
    lwq_privkey_del(k, lwq_test_alloc);
    k = load_key("server-p384.key");
    n = sizeof(sig);
    ck_assert_int_eq(lwq_sign(k, LWQ_SIG_ECDSA_SECP384R1_SHA384, msg, 3, sig, &n, NULL), 0);
    ck_assert(n >= 100 && n <= 104);
    lwq_privkey_del(k, lwq_test_alloc);
}
END_TEST

/* RFC 8032 §7.1 TEST 2: a one-byte message under a fixed seed, wrapped in PKCS#8 by hand. */
START_TEST(test_ed25519_known_answer)
{
    uint8_t der[48], sig[64], want[64], pub[32];
    static const char seed_hex[] = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    static const char pub_hex[] = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    static const char sig_hex[] = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                                  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
    static const uint8_t hdr[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b,
                                  0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    memcpy(der, hdr, sizeof(hdr));
    lwq_test_unhex(seed_hex, der + sizeof(hdr), 32);
    lwq_test_unhex(sig_hex, want, sizeof(want));
    lwq_test_unhex(pub_hex, pub, sizeof(pub));
    lwq_privkey *k;
    ck_assert_int_eq(lwq_privkey_load(&k, der, sizeof(der), lwq_test_alloc), 0);
    size_t n = sizeof(sig);
    const uint8_t m = 0x72;
    ck_assert_int_eq(lwq_sign(k, LWQ_SIG_ED25519, &m, 1, sig, &n, NULL), 0);
    ck_assert_mem_eq(sig, want, 64);
    lwq_privkey_del(k, lwq_test_alloc);

    uint8_t spki[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    memcpy(spki + 12, pub, 32);
    lwq_pubkey *pk;
    ck_assert_int_eq(lwq_pubkey_from_spki(&pk, spki, sizeof(spki), lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_pubkey_type(pk), LWQ_KEY_ED25519);
    ck_assert_int_eq(lwq_verify(pk, LWQ_SIG_ED25519, &m, 1, want, 64), 0);
    ck_assert_int_eq(lwq_verify(pk, LWQ_SIG_ECDSA_SECP256R1_SHA256, &m, 1, want, 64), LWQ_ERR_CERT_UNSUPPORTED_ALG);
    lwq_pubkey_del(pk, lwq_test_alloc);
    spki[10] = 0x22; /* BIT STRING length that no longer fits the SEQUENCE */
    ck_assert_int_lt(lwq_pubkey_from_spki(&pk, spki, sizeof(spki), lwq_test_alloc), 0);
    /* a seed of 31 bytes is not an Ed25519 key */
    der[1] = 0x2d;
    der[13] = 0x21;
    der[15] = 0x1f;
    ck_assert_int_eq(lwq_privkey_load(&k, der, sizeof(der) - 1, lwq_test_alloc), LWQ_ERR_DECODE);
}
END_TEST

/* Signatures made by the openssl CLI (mkcerts.sh) verify; a flipped bit or the wrong scheme does not. */
START_TEST(test_openssl_signatures)
{
    static const struct {
        const char *sig, *cert;
        lwq_sigalg alg, wrong;
    } cases[] = {
        {"sig-ecdsa-p256.bin", "server-ecdsa.pem", LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_ECDSA_SECP384R1_SHA384},
        {"sig-ecdsa-p384.bin", "server-p384.pem", LWQ_SIG_ECDSA_SECP384R1_SHA384, LWQ_SIG_ECDSA_SECP256R1_SHA256},
        {"sig-rsa-pss256.bin", "server-rsa.pem", LWQ_SIG_RSA_PSS_RSAE_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA384},
        {"sig-rsa-pss384.bin", "server-rsa.pem", LWQ_SIG_RSA_PSS_RSAE_SHA384, LWQ_SIG_RSA_PSS_RSAE_SHA256},
        {"sig-rsa-pkcs1-256.bin", "server-rsa.pem", LWQ_SIG_RSA_PKCS1_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA256},
        {"sig-ed25519.bin", "server-ed25519.pem", LWQ_SIG_ED25519, LWQ_SIG_ECDSA_SECP256R1_SHA256},
    };
    size_t mlen, slen;
    uint8_t *msg = lwq_test_read_file(cpath("msg.bin"), &mlen);
    ck_assert_ptr_nonnull(msg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *sig = lwq_test_read_file(cpath(cases[i].sig), &slen);
        lwq_pubkey *pk = load_cert_key(cases[i].cert);
        ck_assert_ptr_nonnull(sig);
        ck_assert_msg(lwq_verify(pk, cases[i].alg, msg, mlen, sig, slen) == 0, "%s", cases[i].sig);
        int rc = lwq_verify(pk, cases[i].wrong, msg, mlen, sig, slen);
        ck_assert(rc == LWQ_ERR_CERT_BAD_SIGNATURE || rc == LWQ_ERR_CERT_UNSUPPORTED_ALG);
        ck_assert_int_eq(lwq_verify(pk, cases[i].alg, msg, mlen - 1, sig, slen), LWQ_ERR_CERT_BAD_SIGNATURE);
        sig[slen - 5] ^= 0x10;
        ck_assert_int_eq(lwq_verify(pk, cases[i].alg, msg, mlen, sig, slen), LWQ_ERR_CERT_BAD_SIGNATURE);
        lwq_pubkey_del(pk, lwq_test_alloc);
        free(sig);
    }
    free(msg);
}
END_TEST

START_TEST(test_scheme_and_key_checks)
{
    lwq_privkey *p256 = load_key("server-ecdsa.key"), *p384 = load_key("server-p384.key");
    lwq_privkey *rsa = load_key("server-rsa.key"), *rsa1k = load_key("rsa1024.key");
    lwq_privkey *ed = load_key("server-ed25519.key");
    ck_assert_int_eq(lwq_privkey_can_sign(p256, LWQ_SIG_ECDSA_SECP384R1_SHA384), 0);
    ck_assert_int_eq(lwq_privkey_can_sign(p384, LWQ_SIG_ECDSA_SECP256R1_SHA256), 0);
    ck_assert_int_eq(lwq_privkey_can_sign(rsa, LWQ_SIG_RSA_PKCS1_SHA256), 0);
    ck_assert_int_eq(lwq_privkey_can_sign(rsa, LWQ_SIG_RSA_PSS_RSAE_SHA384), 1);
    ck_assert_int_eq(lwq_privkey_can_sign(rsa1k, LWQ_SIG_RSA_PSS_RSAE_SHA256), 0);
    ck_assert_int_eq(lwq_privkey_can_sign(ed, LWQ_SIG_ECDSA_SECP256R1_SHA256), 0);
    ck_assert_int_eq(lwq_privkey_can_sign(rsa, LWQ_SIG_ED25519), 0);
    uint8_t sig[LWQ_SIG_MAX];
    size_t n = sizeof(sig);
    ck_assert_int_eq(lwq_sign(p256, LWQ_SIG_ECDSA_SECP384R1_SHA384, sig, 4, sig, &n, NULL), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_sign(rsa1k, LWQ_SIG_RSA_PSS_RSAE_SHA256, sig, 4, sig, &n, NULL), LWQ_ERR_UNSUPPORTED);
    lwq_privkey_del(p256, lwq_test_alloc);
    lwq_privkey_del(p384, lwq_test_alloc);
    lwq_privkey_del(rsa, lwq_test_alloc);
    lwq_privkey_del(rsa1k, lwq_test_alloc);
    lwq_privkey_del(ed, lwq_test_alloc);

    lwq_pubkey *pk = load_cert_key("server-ecdsa.pem");
    ck_assert_int_eq(lwq_pubkey_can_verify(pk, LWQ_SIG_ECDSA_SECP384R1_SHA384), 0);
    ck_assert_int_eq(lwq_verify(pk, LWQ_SIG_ECDSA_SECP384R1_SHA384, sig, 4, sig, 64), LWQ_ERR_CERT_UNSUPPORTED_ALG);
    ck_assert_int_eq(lwq_verify(pk, LWQ_SIG_RSA_PSS_RSAE_SHA256, sig, 4, sig, 64), LWQ_ERR_CERT_UNSUPPORTED_ALG);
    lwq_pubkey_del(pk, lwq_test_alloc);
    pk = load_cert_key("server-rsa.pem");
    ck_assert_int_eq(lwq_pubkey_type(pk), LWQ_KEY_RSA);
    ck_assert_int_eq(lwq_pubkey_can_verify(pk, LWQ_SIG_RSA_PKCS1_SHA256), 1);
    ck_assert_int_eq(lwq_pubkey_can_verify(pk, LWQ_SIG_ECDSA_SECP256R1_SHA256), 0);
    lwq_pubkey_del(pk, lwq_test_alloc);
}
END_TEST

START_TEST(test_unsupported_and_malformed_keys)
{
    lwq_privkey *k = NULL;
    ck_assert_int_eq(lwq_privkey_load_file(&k, cpath("dsa.key"), lwq_test_alloc), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_privkey_load_file(&k, cpath("no-such.key"), lwq_test_alloc), LWQ_ERR_IO);
    ck_assert_int_eq(lwq_privkey_load_file(&k, cpath("ca.pem"), lwq_test_alloc), LWQ_ERR_NOT_FOUND);
    static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    ck_assert_int_eq(lwq_privkey_load(&k, (const uint8_t *)garbage, strlen(garbage), lwq_test_alloc),
                     LWQ_ERR_DECODE);
    static const char enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    ck_assert_int_eq(lwq_privkey_load(&k, (const uint8_t *)enc, strlen(enc), lwq_test_alloc), LWQ_ERR_UNSUPPORTED);
    static const char unterminated[] = "-----BEGIN PRIVATE KEY-----\nMAA=\n";
    ck_assert_int_eq(lwq_privkey_load(&k, (const uint8_t *)unterminated, strlen(unterminated), lwq_test_alloc),
                     LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(lwq_privkey_load(&k, (const uint8_t *)"\x30\x03\x02\x01", 4, lwq_test_alloc), LWQ_ERR_DECODE);
    /* a P-521 leaf: its certificate parses, its key is not one lwquic signs with */
    lwq_cert_chain c;
    lwq_x509 x;
    lwq_pubkey *pk = NULL;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("p521.pem"), lwq_test_alloc), 0);
    ck_assert_int_gt(lwq_x509_parse(&x, c.der[0], c.len[0]), 0);
    ck_assert_int_eq(lwq_pubkey_from_spki(&pk, x.spki, x.spki_len, lwq_test_alloc), LWQ_ERR_UNSUPPORTED);
    lwq_cert_chain_free(&c, lwq_test_alloc);
}
END_TEST

/* Every prefix of every key file fails cleanly (or, for PEM, loads when the block is whole). */
START_TEST(test_key_truncation)
{
    static const char *files[] = {"server-ecdsa-pkcs8.der", "server-ecdsa-sec1.der", "server-ed25519-pkcs8.der",
                                  "runner.key", "server-ed25519.key"};
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        uint8_t *buf = lwq_test_read_file(cpath(files[f]), &len);
        ck_assert_ptr_nonnull(buf);
        for (size_t n = 0; n < len; n++) {
            lwq_privkey *k = NULL;
            int rc = lwq_privkey_load(&k, buf, n, lwq_test_alloc);
            if (rc == 0)
                lwq_privkey_del(k, lwq_test_alloc);
            else
                ck_assert_int_lt(rc, 0);
            ck_assert_uint_eq(lwq_test_alloc_live(), 0);
        }
        free(buf);
    }
}
END_TEST

START_TEST(test_key_load_alloc_failures)
{
    static const char *files[] = {"runner.key", "server-ed25519.key", "server-rsa.key"};
    for (size_t f = 0; f < 3; f++) {
        for (size_t i = 1;; i++) {
            lwq_privkey *k = NULL;
            lwq_test_alloc_fail_at(i);
            int rc = lwq_privkey_load_file(&k, cpath(files[f]), lwq_test_alloc);
            lwq_test_alloc_fail_at(0);
            ck_assert_uint_eq(lwq_test_alloc_live(), rc == 0 ? 1 : 0);
            if (rc == 0) {
                lwq_privkey_del(k, lwq_test_alloc);
                break;
            }
            ck_assert_int_eq(rc, LWQ_ERR_NOMEM);
        }
    }
}
END_TEST

Suite *suite_keys(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = lwq_test_tcase("keys");
    tcase_add_test(tc, test_every_key_format_loads);
    tcase_add_test(tc, test_sign_verify_each_scheme);
    tcase_add_test(tc, test_signature_sizes);
    tcase_add_test(tc, test_ed25519_known_answer);
    tcase_add_test(tc, test_openssl_signatures);
    tcase_add_test(tc, test_scheme_and_key_checks);
    tcase_add_test(tc, test_unsupported_and_malformed_keys);
    tcase_add_test(tc, test_key_truncation);
    tcase_add_test(tc, test_key_load_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
