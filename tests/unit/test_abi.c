/* The ABI policy of docs/architecture.md: a caller compiled against older (shorter) public structs is
 * never written past its struct and gets defaults for the fields it does not know; the version
 * functions; a server key that does not match its certificate is refused when the context loads. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "testutil.h"
#include "lwquic/quic.h"

START_TEST(test_version)
{
    ck_assert_uint_eq(lwq_version(), LWQ_LIB_VERSION_NUM);
    ck_assert_str_eq(lwq_version_string(), LWQ_LIB_VERSION_STR);
    ck_assert_uint_eq(lwq_version() >> 16, LWQ_LIB_VERSION_MAJOR);
}
END_TEST

/* An "older" lwq_config that ends before other_versions: init writes nothing past it, and the
 * context ignores whatever lies there (0xff garbage) in favour of the defaults. */
START_TEST(test_config_shorter_struct)
{
    size_t short_size = offsetof(lwq_config, other_versions);
    union {
        lwq_config cfg;
        uint8_t raw[sizeof(lwq_config) + 16];
    } u;
    memset(&u, 0xa5, sizeof(u));
    lwq_config_init_sized(&u.cfg, 0, short_size);
    ck_assert_uint_eq(u.cfg.struct_size, short_size);
    for (size_t i = short_size; i < sizeof(u.raw); i++)
        ck_assert_uint_eq(u.raw[i], 0xa5);
    ck_assert_uint_eq(u.cfg.version, LWQ_VERSION_1);
    memset(u.raw + short_size, 0xff, sizeof(u.raw) - short_size); /* fields the caller does not know */
    static const char *alpn[] = {"h3"};
    u.cfg.alpn = alpn;
    u.cfg.alpn_count = 1;
    u.cfg.insecure = 1;
    u.cfg.alloc = lwq_test_alloc;
    lwq_context *ctx;
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&ctx, &u.cfg, &why), 0);
    lwq_context_del(ctx);
    /* the same garbage in a full-size config is read, and refused */
    lwq_config full;
    lwq_config_init(&full, 0);
    full.alpn = alpn;
    full.alpn_count = 1;
    full.insecure = 1;
    full.other_versions_count = 99;
    ck_assert_int_eq(lwq_context_new(&ctx, &full, &why), LWQ_ERR_INVAL);
}
END_TEST

START_TEST(test_server_key_must_match_certificate)
{
    static const char *alpn[] = {"h3"};
    char cert[512], key[512], other[512];
    snprintf(cert, sizeof(cert), "%s", lwq_test_data_path("certs/server-ecdsa.pem"));
    snprintf(key, sizeof(key), "%s", lwq_test_data_path("certs/server-ecdsa.key"));
    snprintf(other, sizeof(other), "%s", lwq_test_data_path("certs/server-p384.key"));
    lwq_config cfg;
    lwq_config_init(&cfg, 1);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.alloc = lwq_test_alloc;
    cfg.cert_file = cert;
    cfg.key_file = key;
    lwq_context *ctx;
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), 0);
    lwq_context_del(ctx);
    cfg.key_file = other;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), LWQ_ERR_CERT_BAD_SIGNATURE);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "does not match"));
    /* same key type, other key: P-256, RSA, Ed25519 (the public key is recomputed, not compared by type) */
    static const char *const pairs[][3] = {{"certs/server-ecdsa.pem", "certs/runner.key", "x"},
                                           {"certs/server-rsa.pem", "certs/rsa-ca.key", "x"},
                                           {"certs/server-ed25519.pem", "certs/ed-ca.key", "x"},
                                           {"certs/server-rsa.pem", "certs/server-rsa.key", ""},
                                           {"certs/server-ed25519.pem", "certs/server-ed25519.key", ""}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        snprintf(cert, sizeof(cert), "%s", lwq_test_data_path(pairs[i][0]));
        snprintf(other, sizeof(other), "%s", lwq_test_data_path(pairs[i][1]));
        cfg.cert_file = cert;
        cfg.key_file = other;
        int rv = lwq_context_new(&ctx, &cfg, &why);
        ck_assert_msg(rv == (pairs[i][2][0] ? LWQ_ERR_CERT_BAD_SIGNATURE : 0), "%s with %s: %d", pairs[i][0],
                      pairs[i][1], rv);
        if (!rv)
            lwq_context_del(ctx);
    }
    cfg.key_file = lwq_test_data_path("certs/no-such.key");
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), LWQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(why, "key_file"));
}
END_TEST

/* Certificates, key and trust anchors from memory: no file is named, the context loads the bytes. */
START_TEST(test_context_from_memory)
{
    static const char *alpn[] = {"h3"};
    size_t cl, kl, al;
    uint8_t *cert = lwq_test_read_file(lwq_test_data_path("certs/server-ecdsa.pem"), &cl);
    uint8_t *key = lwq_test_read_file(lwq_test_data_path("certs/server-ecdsa.key"), &kl);
    uint8_t *ca = lwq_test_read_file(lwq_test_data_path("certs/ca.pem"), &al);
    ck_assert(cert && key && ca);
    lwq_config cfg;
    lwq_config_init(&cfg, 1);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.alloc = lwq_test_alloc;
    cfg.cert_data = cert;
    cfg.cert_len = cl;
    cfg.key_data = key;
    cfg.key_len = kl;
    lwq_context *ctx;
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), 0);
    lwq_context_del(ctx);
    cfg.key_len = kl / 2; /* a truncated key */
    ck_assert_int_lt(lwq_context_new(&ctx, &cfg, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "key"));
    lwq_config_init(&cfg, 0);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.alloc = lwq_test_alloc;
    cfg.ca_data = ca;
    cfg.ca_len = al;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), 0);
    lwq_context_del(ctx);
    cfg.ca_len = 10; /* no certificate in it */
    ck_assert_int_lt(lwq_context_new(&ctx, &cfg, &why), 0);
    free(cert);
    free(key);
    free(ca);
}
END_TEST

/* Structs the library writes: an older, shorter one is filled up to its end and not a byte further. */
START_TEST(test_library_writes_stop_at_struct_size)
{
    static const char *alpn[] = {"h3"};
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.insecure = 1;
    cfg.alloc = lwq_test_alloc;
    lwq_context *ctx;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, NULL), 0);
    lwq_path path;
    memset(&path, 0, sizeof(path));
    struct sockaddr_in *a = (struct sockaddr_in *)&path.remote;
    a->sin_family = AF_INET;
    a->sin_port = htons(443);
    a->sin_addr.s_addr = htonl(0x7f000001);
    path.remote_len = sizeof(*a);
    memcpy(&path.local, &path.remote, sizeof(*a));
    path.local_len = sizeof(*a);
    lwq_conn *c;
    ck_assert_int_eq(lwq_conn_client_new(&c, ctx, &path, NULL, 0, NULL, 0, 1), 0);
    union {
        lwq_conn_stats st;
        uint8_t raw[sizeof(lwq_conn_stats) + 8];
    } u;
    size_t older = offsetof(lwq_conn_stats, cwnd);
    memset(&u, 0xa5, sizeof(u));
    lwq_conn_stats_get_sized(c, &u.st, older);
    for (size_t i = older; i < sizeof(u.raw); i++)
        ck_assert_uint_eq(u.raw[i], 0xa5);
    ck_assert_uint_eq(u.st.packets_received, 0);
    lwq_conn_stats_get(c, &u.st);
    ck_assert_uint_ne(u.st.cwnd, 0xa5a5a5a5a5a5a5a5ull);
    lwq_conn_del(c);
    lwq_context_del(ctx);
}
END_TEST

Suite *suite_abi(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = lwq_test_tcase("abi");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_config_shorter_struct);
    tcase_add_test(tc, test_server_key_must_match_certificate);
    tcase_add_test(tc, test_context_from_memory);
    tcase_add_test(tc, test_library_writes_stop_at_struct_size);
    suite_add_tcase(s, tc);
    return s;
}
