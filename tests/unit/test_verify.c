#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/x509.h"
#include "io/tls_files.h"

#define NOW 1748736000 /* 2025-06-01 */

static const char *cpath(const char *name)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ & 3];
    snprintf(b, sizeof(buf[0]), "certs/%s", name);
    return lwq_test_data_path(b);
}

static lwq_trust *trust_of(const char *anchor)
{
    lwq_trust *t;
    ck_assert_int_eq(lwq_trust_new(&t, lwq_test_alloc), 0);
    int n = lwq_trust_add_file(t, cpath(anchor));
    ck_assert_msg(n == 1, "%s: %d", anchor, n);
    return t;
}

static int verify_at(const char *chain_file, const char *anchor, const char *host, int64_t now, size_t depth)
{
    lwq_cert_chain c;
    lwq_trust *t = trust_of(anchor);
    lwq_pubkey *k = NULL;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(chain_file), lwq_test_alloc), 0);
    lwq_verify_params p = {host, now, depth};
    int rc = lwq_cert_verify(t, &c, &p, &k, lwq_test_alloc);
    ck_assert(rc == 0 ? k != NULL : k == NULL);
    lwq_pubkey_del(k, lwq_test_alloc);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_trust_del(t);
    return rc;
}

static int verify(const char *chain_file, const char *anchor, const char *host)
{
    return verify_at(chain_file, anchor, host, NOW, 0);
}

#define CK_VERIFY(want, ...)                                                                                       \
    do {                                                                                                           \
        int rc_ = (__VA_ARGS__);                                                                                   \
        ck_assert_msg(rc_ == (want), "%s: got %s", #__VA_ARGS__, lwq_strerror(rc_));                               \
    } while (0)

START_TEST(test_good_chains)
{
    static const struct {
        const char *chain, *anchor;
        lwq_key_type type;
    } good[] = {
        {"server-ecdsa-chain.pem", "ca.pem", LWQ_KEY_EC_P256},
        {"server-ecdsa.pem", "ca.pem", LWQ_KEY_EC_P256},
        {"server-ecdsa.der", "ca.pem", LWQ_KEY_EC_P256},
        {"server-p384-chain.pem", "ca.pem", LWQ_KEY_EC_P384},       /* ecdsa-with-SHA384 */
        {"server-rsa-chain.pem", "ca.pem", LWQ_KEY_RSA},
        {"server-ed25519-chain.pem", "ca.pem", LWQ_KEY_ED25519},
        {"runner.pem", "ca.pem", LWQ_KEY_EC_P256},
        {"server-rsaca.pem", "rsa-ca.pem", LWQ_KEY_EC_P256},        /* sha256WithRSAEncryption */
        {"server-rsaca384.pem", "rsa-ca.pem", LWQ_KEY_EC_P256},     /* sha384WithRSAEncryption */
        {"server-pss.pem", "rsa-ca.pem", LWQ_KEY_EC_P256},          /* RSASSA-PSS with parameters */
        {"server-edca.pem", "ed-ca.pem", LWQ_KEY_EC_P256},          /* Ed25519 signature */
        {"chain9.pem", "chain9-root.pem", LWQ_KEY_EC_P256},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        lwq_cert_chain c;
        lwq_trust *t = trust_of(good[i].anchor);
        lwq_pubkey *k = NULL;
        ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(good[i].chain), lwq_test_alloc), 0);
        lwq_verify_params p = {"server", NOW, 0};
        int rc = lwq_cert_verify(t, &c, &p, &k, lwq_test_alloc);
        ck_assert_msg(rc == 0, "%s: %s", good[i].chain, lwq_strerror(rc));
        ck_assert_int_eq(lwq_pubkey_type(k), good[i].type);
        lwq_pubkey_del(k, lwq_test_alloc);
        ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), 0);
        lwq_cert_chain_free(&c, lwq_test_alloc);
        lwq_trust_del(t);
    }
}
END_TEST

START_TEST(test_host_names)
{
    static const char *match[] = {"localhost", "server", "LocalHost", "localhost.", "a.example.test",
                                  "WWW.Example.Test", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1", NULL};
    static const char *mismatch[] = {"example.test", "a.b.example.test", ".example.test", "a.example.tes",
                                     "localhost2", "127.0.0.2", "::2", "10.9.8.7", "*.example.test", "",
                                     "loc", "serve", "xexample.test"};
    for (size_t i = 0; i < sizeof(match) / sizeof(match[0]); i++)
        CK_VERIFY(0, verify("server-ecdsa-chain.pem", "ca.pem", match[i]));
    for (size_t i = 0; i < sizeof(mismatch) / sizeof(mismatch[0]); i++)
        CK_VERIFY(LWQ_ERR_CERT_NAME_MISMATCH, verify("server-ecdsa-chain.pem", "ca.pem", mismatch[i]));
    CK_VERIFY(LWQ_ERR_CERT_NAME_MISMATCH, verify("wrongname.pem", "ca.pem", "server"));
    CK_VERIFY(0, verify("wrongname.pem", "ca.pem", "wrong.test"));
    CK_VERIFY(0, verify("wrongname.pem", "ca.pem", "10.9.8.7"));
    /* the CN counts only without a SAN, and never for IP literals */
    CK_VERIFY(0, verify("cnonly.pem", "ca.pem", "cnonly.test"));
    CK_VERIFY(0, verify("cnonly.pem", "ca.pem", "CNONLY.test"));
    CK_VERIFY(LWQ_ERR_CERT_NAME_MISMATCH, verify("cnonly.pem", "ca.pem", "server"));
}
END_TEST

START_TEST(test_each_failure_has_its_code)
{
    CK_VERIFY(LWQ_ERR_CERT_EXPIRED, verify("expired.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_NOT_YET_VALID, verify("notyet.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNKNOWN_CA, verify("unknownca.pem", "ca.pem", "server"));
    CK_VERIFY(0, verify("unknownca.pem", "other-ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_NAME_MISMATCH, verify("wrongname.pem", "ca.pem", "localhost"));
    CK_VERIFY(LWQ_ERR_CERT_BAD_SIGNATURE, verify("badsig.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNSUPPORTED_ALG, verify("p521.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNSUPPORTED_ALG, verify("sha1.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNSUPPORTED_ALG, verify("critext.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_NOT_CA, verify("notca-chain.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_MALFORMED, verify("san129.pem", "ca.pem", "server"));
    CK_VERIFY(0, verify("san128.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_CHAIN_TOO_LONG, verify("pathlen-chain.pem", "ca.pem", "server"));
    /* a pinned leaf is its own anchor, whatever its basicConstraints say */
    CK_VERIFY(0, verify("server-ecdsa.pem", "server-ecdsa.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNKNOWN_CA, verify("server-rsa.pem", "server-ecdsa.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_EXPIRED, verify("expired.pem", "expired.pem", "server"));
    /* a leaf signed by the RSA root does not chain to the ECDSA root, nor the reverse */
    CK_VERIFY(LWQ_ERR_CERT_UNKNOWN_CA, verify("server-rsaca.pem", "ca.pem", "server"));
    CK_VERIFY(LWQ_ERR_CERT_UNKNOWN_CA, verify("server-ecdsa.pem", "rsa-ca.pem", "server"));
}
END_TEST

START_TEST(test_validity_window)
{
    /* 2024-01-01T00:00:00Z (UTCTime) .. 2099-12-31T23:59:59Z (GeneralizedTime), inclusive */
    CK_VERIFY(0, verify_at("server-ecdsa-chain.pem", "ca.pem", "server", 1704067200, 0));
    CK_VERIFY(LWQ_ERR_CERT_NOT_YET_VALID, verify_at("server-ecdsa-chain.pem", "ca.pem", "server", 1704067199, 0));
    CK_VERIFY(0, verify_at("server-ecdsa-chain.pem", "ca.pem", "server", 4102444799, 0));
    CK_VERIFY(LWQ_ERR_CERT_EXPIRED, verify_at("server-ecdsa-chain.pem", "ca.pem", "server", 4102444800, 0));
    /* inside the expired leaf's own window (2001-09-09) the root is not valid yet: every
     * certificate of the path is checked, the anchor included */
    CK_VERIFY(LWQ_ERR_CERT_NOT_YET_VALID, verify_at("expired.pem", "ca.pem", "server", 1000000000, 0));
    CK_VERIFY(LWQ_ERR_CERT_NOT_YET_VALID, verify_at("notyet.pem", "ca.pem", "server", 4039372799, 0));
    CK_VERIFY(0, verify_at("notyet.pem", "ca.pem", "server", 4039372800, 0));
    ck_assert_int_gt(lwq_wallclock_unix(), 1700000000);
}
END_TEST

START_TEST(test_chain9_depth_and_order)
{
    CK_VERIFY(0, verify_at("chain9.pem", "chain9-root.pem", "localhost", NOW, 9));
    CK_VERIFY(LWQ_ERR_CERT_CHAIN_TOO_LONG, verify_at("chain9.pem", "chain9-root.pem", "localhost", NOW, 8));
    CK_VERIFY(0, verify_at("chain9.pem", "chain9-root.pem", "localhost", NOW, 0));
    /* intermediates in any order; a missing one breaks the path */
    lwq_cert_chain c;
    lwq_trust *t = trust_of("chain9-root.pem");
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("chain9.pem"), lwq_test_alloc), 0);
    ck_assert_uint_eq(c.count, 8);
    lwq_verify_params p = {"server", NOW, 0};
    for (size_t i = 1, j = c.count - 1; i < j; i++, j--) {
        uint8_t *d = c.der[i];
        size_t l = c.len[i];
        c.der[i] = c.der[j];
        c.len[i] = c.len[j];
        c.der[j] = d;
        c.len[j] = l;
    }
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), 0);
    c.count--; /* drop the intermediate next to the root */
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_UNKNOWN_CA);
    c.count++;
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_trust_del(t);
}
END_TEST

START_TEST(test_trust_store)
{
    lwq_trust *t;
    ck_assert_int_eq(lwq_trust_new(&t, lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_trust_add_file(t, cpath("server-ecdsa-chain.pem")), 2);
    ck_assert_int_eq(lwq_trust_add_file(t, cpath("ca.pem")), 0); /* already there */
    ck_assert_int_eq(lwq_trust_add_file(t, cpath("runner.key")), 0);
    ck_assert_int_eq(lwq_trust_add(t, (const uint8_t *)"junk", 4), 0);
    ck_assert_int_eq(lwq_trust_add_file(t, cpath("absent.pem")), LWQ_ERR_IO);
    int n = lwq_trust_add_file(t, LWQ_SYSTEM_BUNDLE);
    ck_assert_int_gt(n, 100);
    lwq_cert_chain c;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("server-rsa-chain.pem"), lwq_test_alloc), 0);
    lwq_verify_params p = {"server", NOW, 0};
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), 0);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_trust_del(t);

    /* the system roots do not vouch for the test CA */
    ck_assert_int_eq(lwq_trust_new(&t, lwq_test_alloc), 0);
    ck_assert_int_gt(lwq_trust_add_file(t, LWQ_SYSTEM_BUNDLE), 100);
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("server-ecdsa-chain.pem"), lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_UNKNOWN_CA);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_trust_del(t);
}
END_TEST

START_TEST(test_chain_loading)
{
    lwq_cert_chain c;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("server-ecdsa-chain.pem"), lwq_test_alloc), 0);
    ck_assert_uint_eq(c.count, 2);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("server-ecdsa.key"), lwq_test_alloc), LWQ_ERR_NOT_FOUND);
    ck_assert_int_eq(lwq_cert_chain_load(&c, (const uint8_t *)"\x30\x05\x02\x01", 4, lwq_test_alloc),
                     LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(lwq_cert_chain_load(&c, (const uint8_t *)"", 0, lwq_test_alloc), LWQ_ERR_NOT_FOUND);
    ck_assert_uint_eq(c.count, 0);
}
END_TEST

/* Every truncation of every certificate of these chains: LWQ_ERR_CERT_MALFORMED, no key, no leak. */
START_TEST(test_malformed_chains)
{
    static const struct {
        const char *chain, *anchor;
    } chains[] = {{"server-ecdsa-chain.pem", "ca.pem"},   {"server-rsa-chain.pem", "ca.pem"},
                  {"server-ed25519-chain.pem", "ca.pem"}, {"server-pss.pem", "rsa-ca.pem"},
                  {"server-edca.pem", "ed-ca.pem"},       {"chain9.pem", "chain9-root.pem"}};
    lwq_verify_params p = {"server", NOW, 0};
    lwq_cert_chain empty = {0, NULL, NULL};
    size_t runs = 0;
    for (size_t f = 0; f < sizeof(chains) / sizeof(chains[0]); f++) {
        lwq_trust *t = trust_of(chains[f].anchor);
        lwq_cert_chain c;
        ck_assert_int_eq(lwq_cert_verify(t, &empty, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_MALFORMED);
        ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(chains[f].chain), lwq_test_alloc), 0);
        size_t base = lwq_test_alloc_live();
        for (size_t i = 0; i < c.count; i++) {
            size_t full = c.len[i];
            for (size_t n = 0; n < full; n++) {
                lwq_pubkey *k = NULL;
                c.len[i] = n;
                ck_assert_int_eq(lwq_cert_verify(t, &c, &p, &k, lwq_test_alloc), LWQ_ERR_CERT_MALFORMED);
                ck_assert_ptr_null(k);
                ck_assert_uint_eq(lwq_test_alloc_live(), base);
                runs++;
            }
            c.len[i] = full;
        }
        ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), 0);
        c.der[0][c.len[0] - 1] ^= 0x80; /* still DER: the signature's last byte */
        ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_BAD_SIGNATURE);
        lwq_cert_chain_free(&c, lwq_test_alloc);
        lwq_trust_del(t);
    }
    ck_assert_uint_gt(runs, 5000);
}
END_TEST

/* Every prefix of a PEM bundle loads the whole certificates before the cut, or fails, without leaking. */
START_TEST(test_pem_chain_prefixes)
{
    size_t len;
    uint8_t *pem = lwq_test_read_file(cpath("chain9.pem"), &len);
    ck_assert_ptr_nonnull(pem);
    size_t last = 0;
    for (size_t n = 0; n <= len; n++) {
        lwq_cert_chain c;
        int rc = lwq_cert_chain_load(&c, pem, n, lwq_test_alloc);
        if (rc == 0) {
            ck_assert_uint_ge(c.count, last);
            last = c.count;
            lwq_cert_chain_free(&c, lwq_test_alloc);
        } else {
            ck_assert_int_lt(rc, 0);
            ck_assert_uint_eq(c.count, 0);
        }
        ck_assert_uint_eq(lwq_test_alloc_live(), 0);
    }
    ck_assert_uint_eq(last, 8);
    free(pem);
}
END_TEST

START_TEST(test_verify_alloc_failures)
{
    lwq_trust *t = trust_of("ca.pem");
    lwq_cert_chain c;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("server-ed25519-chain.pem"), lwq_test_alloc), 0);
    size_t base = lwq_test_alloc_live();
    lwq_verify_params p = {"server", NOW, 0};
    for (size_t i = 1;; i++) {
        lwq_pubkey *k = NULL;
        lwq_test_alloc_fail_at(i);
        int rc = lwq_cert_verify(t, &c, &p, &k, lwq_test_alloc);
        lwq_test_alloc_fail_at(0);
        if (rc == 0) {
            lwq_pubkey_del(k, lwq_test_alloc);
            ck_assert_uint_eq(lwq_test_alloc_live(), base);
            ck_assert_uint_gt(i, 2);
            break;
        }
        ck_assert_int_eq(rc, LWQ_ERR_NOMEM);
        ck_assert_uint_eq(lwq_test_alloc_live(), base);
    }
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_trust_del(t);
    for (size_t i = 1;; i++) {
        lwq_test_alloc_fail_at(i);
        int rc = lwq_cert_chain_load_file(&c, cpath("chain9.pem"), lwq_test_alloc);
        lwq_test_alloc_fail_at(0);
        if (rc == 0) {
            lwq_cert_chain_free(&c, lwq_test_alloc);
            break;
        }
        ck_assert_int_eq(rc, LWQ_ERR_NOMEM);
        ck_assert_uint_eq(lwq_test_alloc_live(), 0);
    }
    for (size_t i = 2;; i++) {
        ck_assert_int_eq(lwq_trust_new(&t, lwq_test_alloc), 0);
        lwq_test_alloc_fail_at(i - 1);
        int rc = lwq_trust_add_file(t, cpath("server-ecdsa-chain.pem"));
        lwq_test_alloc_fail_at(0);
        lwq_trust_del(t);
        ck_assert_uint_eq(lwq_test_alloc_live(), 0);
        if (rc == 2)
            break;
        ck_assert_int_eq(rc, LWQ_ERR_NOMEM);
    }
}
END_TEST

/* Many candidates with the issuer's name but the wrong key: bounded work, the signature error wins. */
START_TEST(test_many_candidates)
{
    lwq_trust *t = trust_of("ca.pem");
    lwq_cert_chain leaf, ca;
    ck_assert_int_eq(lwq_cert_chain_load_file(&leaf, cpath("badsig.pem"), lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_cert_chain_load_file(&ca, cpath("ca.pem"), lwq_test_alloc), 0);
    uint8_t *der[33];
    size_t len[33];
    der[0] = leaf.der[0];
    len[0] = leaf.len[0];
    for (size_t i = 1; i < 33; i++) {
        der[i] = ca.der[0];
        len[i] = ca.len[0];
    }
    lwq_verify_params p = {"server", NOW, 0};
    lwq_cert_chain c = {32, der, len};
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_BAD_SIGNATURE);
    c.count = 33;
    ck_assert_int_eq(lwq_cert_verify(t, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_CERT_CHAIN_TOO_LONG);
    ck_assert_int_eq(lwq_cert_verify(NULL, &c, &p, NULL, lwq_test_alloc), LWQ_ERR_INVAL);
    lwq_cert_chain_free(&leaf, lwq_test_alloc);
    lwq_cert_chain_free(&ca, lwq_test_alloc);
    lwq_trust_del(t);
}
END_TEST

Suite *suite_verify(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = lwq_test_tcase("verify");
    tcase_add_test(tc, test_good_chains);
    tcase_add_test(tc, test_host_names);
    tcase_add_test(tc, test_each_failure_has_its_code);
    tcase_add_test(tc, test_validity_window);
    tcase_add_test(tc, test_chain9_depth_and_order);
    tcase_add_test(tc, test_trust_store);
    tcase_add_test(tc, test_chain_loading);
    tcase_add_test(tc, test_malformed_chains);
    tcase_add_test(tc, test_pem_chain_prefixes);
    tcase_add_test(tc, test_many_candidates);
    tcase_add_test(tc, test_verify_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
