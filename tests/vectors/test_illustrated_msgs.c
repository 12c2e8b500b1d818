/* The handshake messages of the illustrated QUIC connection
 * (../shared/vectors/illustrated-quic/captures/caps/crypto_*) through the message
 * codec, with their fields checked, and the transcript, key schedule, Finished
 * and CertificateVerify rebuilt from them against the capture's key log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/tls.h"
#include "tls/x509.h"

typedef struct capture {
    uint8_t *ch, *sh, *ee, *cert, *cv, *sfin, *cfin;
    size_t chn, shn, een, certn, cvn, sfinn, cfinn;
} capture;

static uint8_t *load(const char *name, size_t *n)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "vectors/illustrated-quic/captures/caps/%s", name);
    uint8_t *p = lwq_test_read_file(lwq_test_shared_path(rel), n);
    ck_assert_msg(p != NULL, "cannot read %s", rel);
    return p;
}

static void capture_load(capture *c)
{
    c->ch = load("crypto_clienthello", &c->chn);
    c->sh = load("crypto_serverhello", &c->shn);
    c->ee = load("crypto_extensions", &c->een);
    c->cert = load("crypto_cert", &c->certn);
    c->cv = load("crypto_certverify", &c->cvn);
    c->sfin = load("crypto_s_finished", &c->sfinn);
    c->cfin = load("crypto_c_finished", &c->cfinn);
}

static void capture_free(capture *c)
{
    free(c->ch), free(c->sh), free(c->ee), free(c->cert), free(c->cv), free(c->sfin), free(c->cfin);
}

static int span_is(lwq_tls_span s, const char *str)
{
    return s.n == strlen(str) && memcmp(s.p, str, s.n) == 0;
}

START_TEST(test_illustrated_client_hello)
{
    capture c;
    capture_load(&c);
    lwq_tls_client_hello m;
    ck_assert_int_eq(lwq_tls_client_hello_decode(&m, c.ch, c.chn), (ssize_t)c.chn);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(m.random[i], i);
    ck_assert_uint_eq(m.legacy_version, 0x0303);
    ck_assert_uint_eq(m.session_id.n, 0);
    ck_assert_uint_eq(m.suites.n, 6);
    ck_assert(lwq_tls_u16_list_has(m.suites, LWQ_SUITE_AES128GCM_SHA256));
    ck_assert(lwq_tls_u16_list_has(m.suites, LWQ_SUITE_AES256GCM_SHA384));
    ck_assert(lwq_tls_u16_list_has(m.suites, LWQ_SUITE_CHACHA20POLY1305_SHA256));
    ck_assert(span_is(m.server_name, "example.ulfheim.net"));
    lwq_tls_span alpn;
    ck_assert(lwq_tls_vec8_at(m.alpn, 0, &alpn));
    ck_assert(span_is(alpn, "ping/1.0"));
    ck_assert(!lwq_tls_vec8_at(m.alpn, 1, &alpn));
    ck_assert(lwq_tls_u16_list_has(m.groups, LWQ_GROUP_X25519));
    ck_assert(lwq_tls_u16_list_has(m.groups, LWQ_GROUP_SECP256R1));
    ck_assert(lwq_tls_u16_list_has(m.sigalgs, LWQ_SIG_RSA_PSS_RSAE_SHA256));
    ck_assert(lwq_tls_u16_list_has(m.versions, LWQ_TLS_VERSION_13));
    ck_assert_uint_eq(m.psk_modes.n, 1);
    ck_assert_uint_eq(m.psk_modes.p[0], LWQ_TLS_PSK_DHE_KE);
    lwq_tls_span key;
    ck_assert(lwq_tls_find_share(m.shares, LWQ_GROUP_X25519, &key));
    ck_assert_uint_eq(key.n, 32);
    ck_assert_uint_eq(key.p[0], 0x35);
    ck_assert_uint_eq(key.p[31], 0x54);
    ck_assert(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS));
    ck_assert_uint_eq(m.transport_params.n, 0x31);
    /* the transport parameters end with initial_source_connection_id "c_cid" */
    ck_assert_mem_eq(m.transport_params.p + m.transport_params.n - 5, "c_cid", 5);
    ck_assert(!(m.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY)));
    /* every extension was understood: re-encoded (in our order) it has the same size */
    uint8_t out[512];
    ssize_t n = lwq_tls_client_hello_encode(&m, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    lwq_tls_client_hello m2;
    ck_assert_int_eq(lwq_tls_client_hello_decode(&m2, out, (size_t)n), n);
    ck_assert_uint_eq(m2.present, m.present);
    ck_assert_uint_eq((size_t)n, c.chn);
    capture_free(&c);
}
END_TEST

START_TEST(test_illustrated_server_messages)
{
    capture c;
    capture_load(&c);
    lwq_tls_server_hello sh;
    ck_assert_int_eq(lwq_tls_server_hello_decode(&sh, c.sh, c.shn), (ssize_t)c.shn);
    ck_assert_int_eq(sh.is_hrr, 0);
    ck_assert_uint_eq(sh.suite, LWQ_SUITE_AES128GCM_SHA256);
    ck_assert_uint_eq(sh.version, LWQ_TLS_VERSION_13);
    ck_assert_uint_eq(sh.group, LWQ_GROUP_X25519);
    ck_assert_uint_eq(sh.share.n, 32);
    ck_assert_uint_eq(sh.share.p[0], 0x9f);
    ck_assert_uint_eq(sh.random[0], 0x70);
    ck_assert_uint_eq(sh.random[31], 0x8f);
    ck_assert_uint_eq(sh.unknown, 0);

    lwq_tls_encrypted_extensions ee;
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&ee, c.ee, c.een), (ssize_t)c.een);
    ck_assert(span_is(ee.alpn, "ping/1.0"));
    ck_assert(ee.present & lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS));
    ck_assert_uint_eq(ee.transport_params.n, 0x41);
    ck_assert_mem_eq(ee.transport_params.p + ee.transport_params.n - 5, "s_cid", 5);
    ck_assert_uint_eq(ee.unknown, 0);

    lwq_tls_certificate cert;
    ck_assert_int_eq(lwq_tls_certificate_decode(&cert, c.cert, c.certn), (ssize_t)c.certn);
    ck_assert_uint_eq(cert.count, 1);
    ck_assert_uint_eq(cert.context.n, 0);
    lwq_tls_span der;
    ck_assert(lwq_tls_cert_at(cert.list, 0, &der));
    ck_assert_uint_eq(der.n, 0x325);
    lwq_x509 x;
    ck_assert_int_eq(lwq_x509_parse(&x, der.p, der.n), (ssize_t)der.n);
    ck_assert_uint_eq(x.subject_cn_len, strlen("example.ulfheim.net"));
    ck_assert_mem_eq(x.subject_cn, "example.ulfheim.net", x.subject_cn_len);

    lwq_tls_certificate_verify cv;
    ck_assert_int_eq(lwq_tls_certificate_verify_decode(&cv, c.cv, c.cvn), (ssize_t)c.cvn);
    ck_assert_uint_eq(cv.scheme, LWQ_SIG_RSA_PSS_RSAE_SHA256);
    ck_assert_uint_eq(cv.sig.n, 256);

    lwq_tls_finished f;
    ck_assert_int_eq(lwq_tls_finished_decode(&f, c.sfin, c.sfinn), 36);
    ck_assert_uint_eq(f.verify_data.n, 32);
    ck_assert_int_eq(lwq_tls_finished_decode(&f, c.cfin, c.cfinn), 36);
    ck_assert_uint_eq(f.verify_data.n, 32);
    /* every message truncated at every byte is refused */
    for (size_t k = 0; k < c.certn; k++)
        ck_assert_int_lt(lwq_tls_certificate_decode(&cert, c.cert, k), 0);
    for (size_t k = 0; k < c.chn; k++) {
        lwq_tls_client_hello ch;
        ck_assert_int_lt(lwq_tls_client_hello_decode(&ch, c.ch, k), 0);
    }
    for (size_t k = 0; k < c.een; k++)
        ck_assert_int_lt(lwq_tls_encrypted_extensions_decode(&ee, c.ee, k), 0);
    capture_free(&c);
}
END_TEST

/* From keylog.txt (client random 000102...1f). */
static const char c_hs_hex[] = "b8902ab5f9fe52fdec3aea54e9293e4b8eabf955fcd88536bf44b8b584f14982";
static const char s_hs_hex[] = "88ad8d3b0986a71965a28d108b0f40ffffe629284a6028c80ddc5dc083b3f5d1";
static const char c_ap_hex[] = "a877a82fd5f89ba622eb03dc5868fd00a31cc2eb8646b362a75bc14893a8ef07";
static const char s_ap_hex[] = "a1bfa69e7051fd609946fd9431a51992617c4ddb9c1269c9c0b70cc91b297751";

START_TEST(test_illustrated_transcript_and_finished)
{
    capture c;
    capture_load(&c);
    lwq_tls_server_hello sh;
    ck_assert_int_gt(lwq_tls_server_hello_decode(&sh, c.sh, c.shn), 0);
    /* the client's ephemeral key, keys/client-ephemeral-private.key */
    uint8_t priv[32], shared[32], h[LWQ_HASH_MAX], sec[LWQ_HASH_MAX], want[32], mac[LWQ_HASH_MAX];
    size_t sharedlen;
    for (int i = 0; i < 32; i++)
        priv[i] = (uint8_t)(0x20 + i);
    lwq_kex kex;
    ck_assert_int_eq(lwq_kex_from_private(&kex, LWQ_GROUP_X25519, priv, 32), 0);
    ck_assert_int_eq(lwq_kex_derive(&kex, sh.share.p, sh.share.n, shared, &sharedlen), 0);

    lwq_tls t;
    memset(&t, 0, sizeof(t));
    lwq_tls_th_start(&t, (lwq_suite)sh.suite);
    lwq_tls_th_update(&t, c.ch, c.chn);
    lwq_tls_th_update(&t, c.sh, c.shn);
    lwq_ks_init(&t.ks, t.hash, NULL, 0);
    lwq_ks_advance(&t.ks, shared, sharedlen);
    lwq_tls_th_hash(&t, h);
    lwq_ks_derive(&t.ks, "c hs traffic", h, t.c_hs);
    lwq_ks_derive(&t.ks, "s hs traffic", h, t.s_hs);
    lwq_test_unhex(c_hs_hex, want, 32);
    ck_assert_mem_eq(t.c_hs, want, 32);
    lwq_test_unhex(s_hs_hex, want, 32);
    ck_assert_mem_eq(t.s_hs, want, 32);

    lwq_tls_th_update(&t, c.ee, c.een);
    lwq_tls_th_update(&t, c.cert, c.certn);
    /* CertificateVerify: the signed content rebuilt here verifies with the capture's key */
    lwq_tls_certificate cert;
    lwq_tls_span der;
    lwq_x509 x;
    lwq_pubkey *pk;
    ck_assert_int_gt(lwq_tls_certificate_decode(&cert, c.cert, c.certn), 0);
    ck_assert(lwq_tls_cert_at(cert.list, 0, &der));
    ck_assert_int_gt(lwq_x509_parse(&x, der.p, der.n), 0);
    ck_assert_int_eq(lwq_pubkey_from_spki(&pk, x.spki, x.spki_len, lwq_test_alloc), 0);
    lwq_tls_certificate_verify cv;
    ck_assert_int_gt(lwq_tls_certificate_verify_decode(&cv, c.cv, c.cvn), 0);
    uint8_t content[64 + 34 + LWQ_HASH_MAX];
    size_t cl = lwq_tls_cv_content(&t, 1, content);
    ck_assert_uint_eq(cl, 64 + 34 + 32);
    ck_assert_int_eq(lwq_verify(pk, (lwq_sigalg)cv.scheme, content, cl, cv.sig.p, cv.sig.n), 0);
    content[100] ^= 1;
    ck_assert_int_ne(lwq_verify(pk, (lwq_sigalg)cv.scheme, content, cl, cv.sig.p, cv.sig.n), 0);
    lwq_pubkey_del(pk, lwq_test_alloc);
    lwq_tls_th_update(&t, c.cv, c.cvn);

    /* both Finished messages (RFC 9846 §4.4.4) */
    lwq_tls_finished_mac(&t, t.s_hs, mac);
    ck_assert_mem_eq(mac, c.sfin + 4, 32);
    lwq_tls_th_update(&t, c.sfin, c.sfinn);
    lwq_ks_advance(&t.ks, NULL, 0);
    lwq_tls_th_hash(&t, h);
    lwq_ks_derive(&t.ks, "c ap traffic", h, sec);
    lwq_test_unhex(c_ap_hex, want, 32);
    ck_assert_mem_eq(sec, want, 32);
    lwq_ks_derive(&t.ks, "s ap traffic", h, sec);
    lwq_test_unhex(s_ap_hex, want, 32);
    ck_assert_mem_eq(sec, want, 32);
    lwq_tls_finished_mac(&t, t.c_hs, mac);
    ck_assert_mem_eq(mac, c.cfin + 4, 32);
    lwq_kex_clear(&kex);
    capture_free(&c);
}
END_TEST

Suite *suite_illustrated_msgs(void)
{
    Suite *s = suite_create("illustrated_msgs");
    TCase *tc = lwq_test_tcase("illustrated_msgs");
    tcase_add_test(tc, test_illustrated_client_hello);
    tcase_add_test(tc, test_illustrated_server_messages);
    tcase_add_test(tc, test_illustrated_transcript_and_finished);
    suite_add_tcase(s, tc);
    return s;
}
