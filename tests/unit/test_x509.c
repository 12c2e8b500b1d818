#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/x509.h"
#include "io/tls_files.h"

static const char *cpath(const char *name)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ & 3];
    snprintf(b, sizeof(buf[0]), "certs/%s", name);
    return lwq_test_data_path(b);
}

/* The first certificate of a PEM file, parsed; *c keeps the DER alive. */
static void parse_file(const char *name, lwq_cert_chain *c, lwq_x509 *x)
{
    ck_assert_int_eq(lwq_cert_chain_load_file(c, cpath(name), lwq_test_alloc), 0);
    ssize_t k = lwq_x509_parse(x, c->der[0], c->len[0]);
    ck_assert_msg(k == (ssize_t)c->len[0], "%s: %zd", name, k);
}

START_TEST(test_leaf_fields)
{
    lwq_cert_chain c, cc;
    lwq_x509 x, ca;
    parse_file("server-ecdsa-chain.pem", &c, &x);
    parse_file("ca.pem", &cc, &ca);
    ck_assert_int_eq(x.version, 3);
    ck_assert_uint_eq(x.serial_len, 12);
    ck_assert_int_eq(x.sig.kind, LWQ_X509_SIG_ECDSA);
    ck_assert_int_eq(x.sig.hash, LWQ_HASH_SHA256);
    ck_assert(x.not_before == 1704067200);
    ck_assert(x.not_after == 4102444799);
    ck_assert_uint_eq(x.subject_cn_len, 6);
    ck_assert_mem_eq(x.subject_cn, "server", 6);
    ck_assert_uint_eq(x.issuer_len, ca.subject_len);
    ck_assert_mem_eq(x.issuer, ca.subject, ca.subject_len);
    ck_assert_mem_eq(ca.issuer, ca.subject, ca.subject_len);
    ck_assert(x.has_bc && !x.ca);
    ck_assert(x.has_ku && x.ku == LWQ_X509_KU_DIGITAL_SIGNATURE);
    ck_assert(ca.has_bc && ca.ca && ca.path_len == -1);
    ck_assert(ca.ku & LWQ_X509_KU_KEY_CERT_SIGN);
    ck_assert(ca.san == NULL);
    ck_assert_ptr_eq(x.der, c.der[0]);
    ck_assert(x.tbs == x.der + 4 && x.tbs_len < x.der_len);
    ck_assert(x.spki > x.tbs && x.spki + x.spki_len <= x.tbs + x.tbs_len);
    ck_assert(x.sig_value_len >= 70 && x.sig_value_len <= 72);

    static const char *want_dns[] = {"localhost", "server", "*.example.test"};
    static const uint8_t want_v4[] = {127, 0, 0, 1}, want_v6[16] = {[15] = 1};
    lwq_x509_san_iter it;
    int type, i = 0;
    const uint8_t *v;
    size_t n;
    lwq_x509_san_begin(&it, &x);
    while (lwq_x509_san_next(&it, &type, &v, &n)) {
        if (i < 3) {
            ck_assert_int_eq(type, LWQ_X509_SAN_DNS);
            ck_assert_uint_eq(n, strlen(want_dns[i]));
            ck_assert_mem_eq(v, want_dns[i], n);
        } else {
            ck_assert_int_eq(type, LWQ_X509_SAN_IP);
            ck_assert_uint_eq(n, i == 3 ? 4 : 16);
            ck_assert_mem_eq(v, i == 3 ? want_v4 : want_v6, n);
        }
        i++;
    }
    ck_assert_int_eq(i, 5);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    lwq_cert_chain_free(&cc, lwq_test_alloc);
}
END_TEST

START_TEST(test_signature_algorithms)
{
    static const struct {
        const char *file;
        lwq_x509_sig_kind kind;
        lwq_hash_alg hash;
    } cases[] = {
        {"server-p384.pem", LWQ_X509_SIG_ECDSA, LWQ_HASH_SHA384},
        {"server-rsaca.pem", LWQ_X509_SIG_RSA_PKCS1, LWQ_HASH_SHA256},
        {"server-rsaca384.pem", LWQ_X509_SIG_RSA_PKCS1, LWQ_HASH_SHA384},
        {"server-edca.pem", LWQ_X509_SIG_ED25519, LWQ_HASH_SHA256},
        {"sha1.pem", LWQ_X509_SIG_UNKNOWN, LWQ_HASH_SHA256},
        {"server-pss.pem", LWQ_X509_SIG_RSA_PSS, LWQ_HASH_SHA256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lwq_cert_chain c;
        lwq_x509 x;
        parse_file(cases[i].file, &c, &x);
        ck_assert_msg(x.sig.kind == cases[i].kind, "%s", cases[i].file);
        ck_assert_msg(x.sig.hash == cases[i].hash, "%s", cases[i].file);
        if (x.sig.kind == LWQ_X509_SIG_RSA_PSS) {
            ck_assert_int_eq(x.sig.mgf_hash, LWQ_HASH_SHA256);
            ck_assert_uint_eq(x.sig.salt_len, 32);
        }
        lwq_cert_chain_free(&c, lwq_test_alloc);
    }
}
END_TEST

START_TEST(test_unknown_critical_extension)
{
    lwq_cert_chain c;
    lwq_x509 x;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("critext.pem"), lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_x509_parse(&x, c.der[0], c.len[0]), LWQ_ERR_UNSUPPORTED);
    lwq_cert_chain_free(&c, lwq_test_alloc);
}
END_TEST

/* Hand-made GeneralNames contents to probe the RFC 6125 rules. */
static int match_san(const char *pattern, const char *host)
{
    uint8_t san[80];
    size_t n = strlen(pattern);
    san[0] = 0x82;
    san[1] = (uint8_t)n;
    memcpy(san + 2, pattern, n);
    lwq_x509 x;
    memset(&x, 0, sizeof(x));
    x.san = san;
    x.san_len = n + 2;
    x.subject_cn = (const uint8_t *)"cn.test";
    x.subject_cn_len = 7;
    return lwq_x509_match_host(&x, host);
}

START_TEST(test_wildcards)
{
    ck_assert_int_eq(match_san("*.example.test", "a.example.test"), 1);
    ck_assert_int_eq(match_san("*.example.test.", "a.example.test"), 1);
    ck_assert_int_eq(match_san("*.example.test", "a.example.test."), 1);
    ck_assert_int_eq(match_san("*.test", "a.test"), 0);            /* not a whole registered domain */
    ck_assert_int_eq(match_san("*", "test"), 0);
    ck_assert_int_eq(match_san("f*.example.test", "foo.example.test"), 0); /* partial labels refused */
    ck_assert_int_eq(match_san("a.*.example.test", "a.b.example.test"), 0);
    ck_assert_int_eq(match_san("*.*.example.test", "a.b.example.test"), 0);
    ck_assert_int_eq(match_san("*.example.test", "a.b.example.test"), 0);
    ck_assert_int_eq(match_san("*.example.test", "example.test"), 0);
    ck_assert_int_eq(match_san("Example.TEST", "example.test"), 1);
    ck_assert_int_eq(match_san("example.test", "example.test.evil"), 0);
    ck_assert_int_eq(match_san("example.test", "cn.test"), 0); /* CN ignored when a SAN exists */
    ck_assert_int_eq(match_san("exa\001ple.test", "exa\001ple.test"), 0);

    lwq_x509 x;
    memset(&x, 0, sizeof(x));
    x.subject_cn = (const uint8_t *)"cn.test";
    x.subject_cn_len = 7;
    ck_assert_int_eq(lwq_x509_match_host(&x, "CN.test"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "127.0.0.1"), 0);
    x.subject_cn = (const uint8_t *)"*.test";
    x.subject_cn_len = 6;
    ck_assert_int_eq(lwq_x509_match_host(&x, "*.test"), 0);

    uint8_t ipsan[] = {0x87, 4, 192, 0, 2, 1, 0x87, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    x.san = ipsan;
    x.san_len = sizeof(ipsan);
    ck_assert_int_eq(lwq_x509_match_host(&x, "192.0.2.1"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "2001:db8::1"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "2001:DB8:0::1"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "192.0.2.2"), 0);
    ck_assert_int_eq(lwq_x509_match_host(&x, "::ffff:192.0.2.1"), 0);
}
END_TEST

/* Every .pem under tests/data/certs: every certificate parses; every prefix of it fails cleanly. */
START_TEST(test_truncation_every_byte)
{
    DIR *d = opendir(lwq_test_data_path("certs"));
    struct dirent *e;
    size_t certs = 0, prefixes = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".pem") != 0 || strcmp(e->d_name, "critext.pem") == 0 ||
            strcmp(e->d_name, "san129.pem") == 0)
            continue;
        lwq_cert_chain c;
        ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(e->d_name), lwq_test_alloc), 0);
        for (size_t i = 0; i < c.count; i++) {
            lwq_x509 x;
            ck_assert_msg(lwq_x509_parse(&x, c.der[i], c.len[i]) == (ssize_t)c.len[i], "%s", e->d_name);
            /* a private copy of exactly n bytes, so ASan sees any read past the end */
            for (size_t n = 0; n < c.len[i]; n++) {
                uint8_t *cut = malloc(n ? n : 1);
                memcpy(cut, c.der[i], n);
                ssize_t k = lwq_x509_parse(&x, cut, n);
                ck_assert_msg(k == LWQ_ERR_TRUNCATED || k == LWQ_ERR_DECODE, "%s cut at %zu: %zd", e->d_name, n, k);
                free(cut);
                prefixes++;
            }
            certs++;
        }
        lwq_cert_chain_free(&c, lwq_test_alloc);
    }
    closedir(d);
    ck_assert_uint_ge(certs, 30);
    ck_assert_uint_gt(prefixes, 20000);
}
END_TEST

/* Flip each byte of a few certificates: parse either fails or returns views inside the buffer. */
START_TEST(test_byte_flips)
{
    static const char *files[] = {"server-pss.pem", "server-ecdsa.pem", "server-edca.pem"};
    for (size_t f = 0; f < 3; f++) {
        lwq_cert_chain c;
        ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath(files[f]), lwq_test_alloc), 0);
        uint8_t *d = c.der[0];
        size_t n = c.len[0];
        for (size_t i = 0; i < n; i++) {
            static const uint8_t masks[] = {0x01, 0x80, 0xff};
            for (size_t m = 0; m < 3; m++) {
                lwq_x509 x;
                d[i] ^= masks[m];
                ssize_t k = lwq_x509_parse(&x, d, n);
                if (k >= 0) {
                    ck_assert(x.tbs >= d && x.tbs + x.tbs_len <= d + n);
                    ck_assert(x.spki >= d && x.spki + x.spki_len <= d + n);
                    ck_assert(x.sig_value >= d && x.sig_value + x.sig_value_len <= d + n);
                }
                d[i] ^= masks[m];
            }
        }
        lwq_cert_chain_free(&c, lwq_test_alloc);
    }
}
END_TEST

START_TEST(test_limits_and_framing)
{
    lwq_x509 x;
    size_t big = LWQ_X509_MAX_SIZE + 1;
    uint8_t *b = calloc(1, big + 4);
    b[0] = 0x30;
    b[1] = 0x82;
    b[2] = (uint8_t)(big >> 8);
    b[3] = (uint8_t)big;
    ck_assert_int_eq(lwq_x509_parse(&x, b, big + 4), LWQ_ERR_LIMIT);
    free(b);
    ck_assert_int_eq(lwq_x509_parse(&x, (const uint8_t *)"\x31\x00", 2), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_x509_parse(&x, (const uint8_t *)"\x30\x00", 2), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_x509_parse(&x, (const uint8_t *)"\x30\x05\x30", 3), LWQ_ERR_TRUNCATED);

    /* trailing bytes are left to the caller */
    lwq_cert_chain c;
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("ca.pem"), lwq_test_alloc), 0);
    uint8_t *d = malloc(c.len[0] + 3);
    memcpy(d, c.der[0], c.len[0]);
    ck_assert_int_eq(lwq_x509_parse(&x, d, c.len[0] + 3), (ssize_t)c.len[0]);
    /* the outer signatureAlgorithm must equal the inner one: change ecdsa-with-SHA256 to -SHA384 near the end */
    size_t sa = c.len[0] - x.sig_value_len - 3 - 1;
    ck_assert_uint_eq(d[sa], 0x02);
    d[sa] = 0x03;
    ck_assert_int_eq(lwq_x509_parse(&x, d, c.len[0]), LWQ_ERR_DECODE);
    free(d);
    lwq_cert_chain_free(&c, lwq_test_alloc);
}
END_TEST

START_TEST(test_san_limit)
{
    lwq_cert_chain c;
    lwq_x509 x;
    parse_file("san128.pem", &c, &x);
    lwq_x509_san_iter it;
    int type, count = 0;
    const uint8_t *v;
    size_t n;
    lwq_x509_san_begin(&it, &x);
    while (lwq_x509_san_next(&it, &type, &v, &n))
        count++;
    ck_assert_int_eq(count, LWQ_X509_MAX_SAN);
    ck_assert_int_eq(lwq_x509_match_host(&x, "h127.test"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "server"), 1);
    ck_assert_int_eq(lwq_x509_match_host(&x, "h128.test"), 0);
    lwq_cert_chain_free(&c, lwq_test_alloc);
    ck_assert_int_eq(lwq_cert_chain_load_file(&c, cpath("san129.pem"), lwq_test_alloc), 0);
    ck_assert_int_eq(lwq_x509_parse(&x, c.der[0], c.len[0]), LWQ_ERR_LIMIT);
    lwq_cert_chain_free(&c, lwq_test_alloc);
}
END_TEST

Suite *suite_x509(void)
{
    Suite *s = suite_create("x509");
    TCase *tc = lwq_test_tcase("x509");
    tcase_add_test(tc, test_leaf_fields);
    tcase_add_test(tc, test_signature_algorithms);
    tcase_add_test(tc, test_unknown_critical_extension);
    tcase_add_test(tc, test_wildcards);
    tcase_add_test(tc, test_truncation_every_byte);
    tcase_add_test(tc, test_byte_flips);
    tcase_add_test(tc, test_limits_and_framing);
    tcase_add_test(tc, test_san_limit);
    suite_add_tcase(s, tc);
    return s;
}
