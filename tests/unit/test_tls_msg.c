#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/msg.h"

#define SPAN(s) ((lwq_tls_span){(const uint8_t *)(s), sizeof(s) - 1})

static void span_eq(lwq_tls_span a, lwq_tls_span b)
{
    ck_assert_uint_eq(a.n, b.n);
    if (a.n)
        ck_assert_mem_eq(a.p, b.p, a.n);
}

/* A full ClientHello with every extension the handshake sends. */
static size_t build_ch(uint8_t *buf, size_t cap, lwq_tls_client_hello *m, uint8_t *scratch)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303}, groups[] = {0x001d, 0x0017},
                          sig[] = {0x0403, 0x0804, 0x0807}, ver[] = {0x0304};
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < 32; i++)
        m->random[i] = (uint8_t)i;
    m->suites = lwq_tls_u16_list_put(scratch, suites, 3);
    m->groups = lwq_tls_u16_list_put(scratch + 16, groups, 2);
    m->sigalgs = lwq_tls_u16_list_put(scratch + 32, sig, 3);
    m->sigalgs_cert = lwq_tls_u16_list_put(scratch + 48, sig, 2);
    m->versions = lwq_tls_u16_list_put(scratch + 64, ver, 1);
    m->server_name = SPAN("example.com");
    m->alpn = SPAN("\x02h3\x05hq-29");
    m->shares = SPAN("\x00\x1d\x00\x04"
                     "abcd");
    m->psk_modes = SPAN("\x01");
    m->cookie = SPAN("cookie!");
    m->transport_params = SPAN("\x01\x02\x03");
    m->psk_identities = SPAN("\x00\x06ticket\x00\x00\x00\x07");
    m->psk_binders = SPAN("\x20"
                          "0123456789abcdef0123456789abcdef");
    uint16_t t[] = {LWQ_TLS_EXT_SERVER_NAME,
                    LWQ_TLS_EXT_SUPPORTED_GROUPS,
                    LWQ_TLS_EXT_SIGNATURE_ALGORITHMS,
                    LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT,
                    LWQ_TLS_EXT_ALPN,
                    LWQ_TLS_EXT_SUPPORTED_VERSIONS,
                    LWQ_TLS_EXT_KEY_SHARE,
                    LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES,
                    LWQ_TLS_EXT_COOKIE,
                    LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS,
                    LWQ_TLS_EXT_EARLY_DATA,
                    LWQ_TLS_EXT_PRE_SHARED_KEY};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        m->present |= lwq_tls_ext_bit(t[i]);
    ssize_t n = lwq_tls_client_hello_encode(m, buf, cap);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, lwq_tls_client_hello_encoded_len(m));
    return (size_t)n;
}

START_TEST(test_client_hello_round_trip)
{
    uint8_t buf[1024], scratch[128];
    lwq_tls_client_hello m, d;
    size_t n = build_ch(buf, sizeof(buf), &m, scratch);
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, buf, n), (ssize_t)n);
    ck_assert_mem_eq(d.random, m.random, 32);
    ck_assert_uint_eq(d.legacy_version, 0x0303);
    ck_assert_uint_eq(d.present, m.present);
    ck_assert_uint_eq(d.next, 12);
    span_eq(d.suites, m.suites);
    span_eq(d.groups, m.groups);
    span_eq(d.sigalgs, m.sigalgs);
    span_eq(d.sigalgs_cert, m.sigalgs_cert);
    span_eq(d.versions, m.versions);
    span_eq(d.server_name, m.server_name);
    span_eq(d.alpn, m.alpn);
    span_eq(d.shares, m.shares);
    span_eq(d.psk_modes, m.psk_modes);
    span_eq(d.cookie, m.cookie);
    span_eq(d.transport_params, m.transport_params);
    span_eq(d.psk_identities, m.psk_identities);
    span_eq(d.psk_binders, m.psk_binders);
    /* the truncated ClientHello ends right before the binders' length */
    ck_assert_uint_eq(d.binders_off, n - 2 - 33);
    lwq_tls_span key, id, alpn;
    uint32_t age;
    ck_assert(lwq_tls_find_share(d.shares, 0x001d, &key));
    ck_assert_uint_eq(key.n, 4);
    ck_assert(!lwq_tls_find_share(d.shares, 0x0017, &key));
    ck_assert(lwq_tls_psk_identity_at(d.psk_identities, 0, &id, &age));
    ck_assert_uint_eq(age, 7);
    ck_assert_uint_eq(id.n, 6);
    ck_assert(!lwq_tls_psk_identity_at(d.psk_identities, 1, &id, &age));
    ck_assert(lwq_tls_vec8_at(d.alpn, 1, &alpn));
    ck_assert_mem_eq(alpn.p, "hq-29", 5);
    ck_assert(lwq_tls_u16_list_has(d.suites, 0x1303));
    ck_assert(!lwq_tls_u16_list_has(d.suites, 0x1304));
    /* a field longer than its length prefix */
    lwq_tls_client_hello big = m;
    big.cookie.n = 0x10000;
    ck_assert_uint_eq(lwq_tls_client_hello_encoded_len(&big), 0);
    ck_assert_int_eq(lwq_tls_client_hello_encode(&big, buf, 0), LWQ_ERR_INVAL);
    /* encoder capacity */
    ck_assert_int_eq(lwq_tls_client_hello_encode(&m, buf, n - 1), LWQ_ERR_NOBUF);
    /* every truncation is a clean error */
    for (size_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_client_hello_decode(&d, buf, k), 0);
    /* shrinking the message length at every byte keeps it consistent but malformed */
    for (size_t k = 0; k < n - 4; k++) {
        uint8_t tmp[1024];
        memcpy(tmp, buf, n);
        lwq_put24(tmp + 1, (uint32_t)k);
        ck_assert_int_lt(lwq_tls_client_hello_decode(&d, tmp, n), 0);
    }
}
END_TEST

START_TEST(test_client_hello_rejects)
{
    uint8_t buf[1024], scratch[128], tmp[1024];
    lwq_tls_client_hello m, d;
    size_t n = build_ch(buf, sizeof(buf), &m, scratch);
    /* pre_shared_key not last */
    m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
    n = (size_t)lwq_tls_client_hello_encode(&m, buf, sizeof(buf));
    memcpy(tmp, buf, n);
    /* append an empty early_data after the psk extension */
    tmp[n] = 0, tmp[n + 1] = 42, tmp[n + 2] = 0, tmp[n + 3] = 0;
    lwq_put24(tmp + 1, lwq_get24(tmp + 1) + 4);
    size_t extoff = 4 + 2 + 32 + 1 + 2 + 6 + 2;
    lwq_put16(tmp + extoff, (uint16_t)(lwq_get16(tmp + extoff) + 4));
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n + 4), LWQ_ERR_PROTO);
    /* a duplicate extension: the same trick with a second transport parameters block before psk */
    m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY);
    n = (size_t)lwq_tls_client_hello_encode(&m, buf, sizeof(buf));
    memcpy(tmp, buf, n);
    memcpy(tmp + n, "\x00\x39\x00\x00", 4);
    lwq_put24(tmp + 1, lwq_get24(tmp + 1) + 4);
    lwq_put16(tmp + extoff, (uint16_t)(lwq_get16(tmp + extoff) + 4));
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n + 4), LWQ_ERR_PROTO);
    /* an unknown extension is skipped */
    memcpy(tmp + n, "\x7a\x7a\x00\x00", 4);
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n + 4), (ssize_t)(n + 4));
    ck_assert_uint_eq(d.next, 11);
    /* trailing bytes inside the body */
    memcpy(tmp, buf, n);
    tmp[n] = 0;
    lwq_put24(tmp + 1, lwq_get24(tmp + 1) + 1);
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n + 1), LWQ_ERR_DECODE);
    /* a server_name list without a host_name */
    memcpy(tmp, buf, n);
    uint8_t *name = memmem(tmp, n, "example.com", 11);
    ck_assert_ptr_nonnull(name);
    ck_assert_uint_eq(name[-3], 0);
    name[-3] = 1;
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n), LWQ_ERR_DECODE);
    /* wrong type */
    memcpy(tmp, buf, n);
    tmp[0] = 2;
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, tmp, n), LWQ_ERR_DECODE);
}
END_TEST

START_TEST(test_client_hello_binders_must_match_identities)
{
    uint8_t buf[1024], scratch[128];
    lwq_tls_client_hello m, d;
    build_ch(buf, sizeof(buf), &m, scratch);
    m.psk_binders = SPAN("\x20"
                         "0123456789abcdef0123456789abcdef"
                         "\x20"
                         "0123456789abcdef0123456789abcdef");
    ssize_t n = lwq_tls_client_hello_encode(&m, buf, sizeof(buf));
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, buf, (size_t)n), LWQ_ERR_PROTO);
    m.psk_binders = SPAN("\x1f"
                         "0123456789abcdef0123456789abcde");
    n = lwq_tls_client_hello_encode(&m, buf, sizeof(buf));
    ck_assert_int_eq(lwq_tls_client_hello_decode(&d, buf, (size_t)n), LWQ_ERR_DECODE);
}
END_TEST

START_TEST(test_server_hello_and_hrr_round_trip)
{
    uint8_t buf[512];
    for (int hrr = 0; hrr < 2; hrr++) {
        lwq_tls_server_hello m, d;
        memset(&m, 0, sizeof(m));
        m.is_hrr = hrr;
        memset(m.random, 0x42, 32);
        m.suite = 0x1302;
        m.version = 0x0304;
        m.group = 0x0017;
        m.share = SPAN("\x04pointpointpoint");
        m.psk_identity = 0;
        m.cookie = SPAN("abc");
        m.present = lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS) | lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
        m.present |= hrr ? lwq_tls_ext_bit(LWQ_TLS_EXT_COOKIE) : lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY);
        ssize_t n = lwq_tls_server_hello_encode(&m, buf, sizeof(buf));
        ck_assert_int_gt(n, 0);
        ck_assert_uint_eq((size_t)n, lwq_tls_server_hello_encoded_len(&m));
        ck_assert_int_eq(lwq_tls_server_hello_decode(&d, buf, (size_t)n), n);
        ck_assert_int_eq(d.is_hrr, hrr);
        ck_assert_uint_eq(d.suite, 0x1302);
        ck_assert_uint_eq(d.version, 0x0304);
        ck_assert_uint_eq(d.group, 0x0017);
        ck_assert_uint_eq(d.present, m.present);
        if (hrr) {
            ck_assert_mem_eq(d.random, lwq_tls_hrr_random, 32);
            span_eq(d.cookie, m.cookie);
            ck_assert_uint_eq(d.share.n, 0);
        } else {
            span_eq(d.share, m.share);
        }
        for (ssize_t k = 0; k < n; k++)
            ck_assert_int_lt(lwq_tls_server_hello_decode(&d, buf, (size_t)k), 0);
        /* a ServerHello may not carry a cookie, an HRR no pre_shared_key */
        m.present |= hrr ? lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY) : lwq_tls_ext_bit(LWQ_TLS_EXT_COOKIE);
        n = lwq_tls_server_hello_encode(&m, buf, sizeof(buf));
        ck_assert_int_eq(lwq_tls_server_hello_decode(&d, buf, (size_t)n), LWQ_ERR_PROTO);
    }
}
END_TEST

START_TEST(test_encrypted_extensions_round_trip)
{
    uint8_t buf[512];
    lwq_tls_encrypted_extensions m, d;
    memset(&m, 0, sizeof(m));
    m.alpn = SPAN("h3");
    m.transport_params = SPAN("\x00\x01\x02");
    m.present = lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN) | lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS) |
                lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA) | lwq_tls_ext_bit(LWQ_TLS_EXT_SERVER_NAME);
    ssize_t n = lwq_tls_encrypted_extensions_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, lwq_tls_encrypted_extensions_encoded_len(&m));
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, buf, (size_t)n), n);
    ck_assert_uint_eq(d.present, m.present);
    span_eq(d.alpn, m.alpn);
    span_eq(d.transport_params, m.transport_params);
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_encrypted_extensions_decode(&d, buf, (size_t)k), 0);
    /* key_share is not allowed in EncryptedExtensions */
    static const uint8_t bad[] = {8, 0, 0, 6, 0, 4, 0, 51, 0, 0};
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, bad, sizeof(bad)), LWQ_ERR_PROTO);
    /* an unknown extension is counted for the caller to refuse */
    static const uint8_t unk[] = {8, 0, 0, 6, 0, 4, 0x12, 0x34, 0, 0};
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, unk, sizeof(unk)), 10);
    ck_assert_uint_eq(d.unknown, 1);
    /* two ALPN names in an answer */
    static const uint8_t two[] = {8, 0, 0, 13, 0, 11, 0, 16, 0, 7, 0, 5, 2, 'h', '3', 1, 'x'};
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, two, sizeof(two)), LWQ_ERR_DECODE);
}
END_TEST

START_TEST(test_certificate_round_trip)
{
    uint8_t buf[512];
    const uint8_t c1[] = "certificate-one", c2[] = "two";
    const uint8_t *der[] = {c1, c2};
    size_t len[] = {sizeof(c1) - 1, sizeof(c2) - 1};
    ssize_t n = lwq_tls_certificate_encode(NULL, der, len, 2, buf, sizeof(buf));
    ck_assert_int_eq(n, 4 + 1 + 3 + (3 + 15 + 2) + (3 + 3 + 2));
    ck_assert_uint_eq((size_t)n, lwq_tls_certificate_encoded_len(NULL, len, 2));
    lwq_tls_certificate d;
    ck_assert_int_eq(lwq_tls_certificate_decode(&d, buf, (size_t)n), n);
    ck_assert_uint_eq(d.count, 2);
    ck_assert_int_eq(d.entry_exts, 0);
    lwq_tls_span s;
    ck_assert(lwq_tls_cert_at(d.list, 1, &s));
    ck_assert_uint_eq(s.n, 3);
    ck_assert_mem_eq(s.p, "two", 3);
    ck_assert(!lwq_tls_cert_at(d.list, 2, &s));
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_certificate_decode(&d, buf, (size_t)k), 0);
    /* a certificate longer than a uint24 can say is refused by the encoder */
    size_t huge = (size_t)1 << 24;
    ck_assert_uint_eq(lwq_tls_certificate_encoded_len(NULL, &huge, 1), 0);
    /* an empty certificate is decodable (the handshake refuses it) */
    n = lwq_tls_certificate_encode(NULL, NULL, NULL, 0, buf, sizeof(buf));
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(lwq_tls_certificate_decode(&d, buf, 8), 8);
    ck_assert_uint_eq(d.count, 0);
    /* an entry with a zero-length certificate is malformed */
    static const uint8_t zero[] = {11, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 0, 0};
    ck_assert_int_eq(lwq_tls_certificate_decode(&d, zero, sizeof(zero)), LWQ_ERR_DECODE);
    /* an entry carrying status_request */
    static const uint8_t ext[] = {11, 0, 0, 14, 0, 0, 0, 10, 0, 0, 1, 'x', 0, 4, 0, 5, 0, 0};
    ck_assert_int_eq(lwq_tls_certificate_decode(&d, ext, sizeof(ext)), (ssize_t)sizeof(ext));
    ck_assert_int_eq(d.entry_exts, 1);
}
END_TEST

START_TEST(test_small_messages_round_trip)
{
    uint8_t buf[512];
    lwq_tls_certificate_verify cv = {0x0804, SPAN("signature")}, cvd;
    ssize_t n = lwq_tls_certificate_verify_encode(&cv, buf, sizeof(buf));
    ck_assert_int_eq(n, 4 + 2 + 2 + 9);
    ck_assert_int_eq(lwq_tls_certificate_verify_decode(&cvd, buf, (size_t)n), n);
    ck_assert_uint_eq(cvd.scheme, 0x0804);
    span_eq(cvd.sig, cv.sig);
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_certificate_verify_decode(&cvd, buf, (size_t)k), 0);

    lwq_tls_finished f = {SPAN("0123456789abcdef0123456789abcdef")}, fd;
    n = lwq_tls_finished_encode(&f, buf, sizeof(buf));
    ck_assert_int_eq(n, 36);
    ck_assert_int_eq(lwq_tls_finished_decode(&fd, buf, (size_t)n), 36);
    span_eq(fd.verify_data, f.verify_data);
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_finished_decode(&fd, buf, (size_t)k), 0);

    lwq_tls_new_session_ticket t, td;
    memset(&t, 0, sizeof(t));
    t.lifetime = 7200;
    t.age_add = 0xdeadbeef;
    t.nonce = SPAN("\x00\x01");
    t.ticket = SPAN("opaque-ticket");
    t.present = lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
    t.max_early_data = 0xffffffff;
    n = lwq_tls_new_session_ticket_encode(&t, buf, sizeof(buf));
    ck_assert_uint_eq((size_t)n, lwq_tls_new_session_ticket_encoded_len(&t));
    ck_assert_int_eq(lwq_tls_new_session_ticket_decode(&td, buf, (size_t)n), n);
    ck_assert_uint_eq(td.lifetime, 7200);
    ck_assert_uint_eq(td.age_add, 0xdeadbeef);
    ck_assert_uint_eq(td.max_early_data, 0xffffffff);
    span_eq(td.nonce, t.nonce);
    span_eq(td.ticket, t.ticket);
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_new_session_ticket_decode(&td, buf, (size_t)k), 0);

    uint16_t sa[] = {0x0403};
    uint8_t sab[2];
    lwq_tls_certificate_request cr = {SPAN(""), 0, 0, lwq_tls_u16_list_put(sab, sa, 1)}, crd;
    n = lwq_tls_certificate_request_encode(&cr, buf, sizeof(buf));
    ck_assert_int_eq(lwq_tls_certificate_request_decode(&crd, buf, (size_t)n), n);
    ck_assert(lwq_tls_u16_list_has(crd.sigalgs, 0x0403));
    for (ssize_t k = 0; k < n; k++)
        ck_assert_int_lt(lwq_tls_certificate_request_decode(&crd, buf, (size_t)k), 0);
}
END_TEST

START_TEST(test_reassembly_every_split)
{
    uint8_t buf[1024], scratch[128];
    lwq_tls_client_hello m;
    size_t n = build_ch(buf, sizeof(buf), &m, scratch);
    /* two messages back to back, fed in every two-piece split */
    uint8_t two[2048];
    memcpy(two, buf, n);
    memcpy(two + n, buf, n);
    for (size_t cut = 0; cut <= 2 * n; cut++) {
        lwq_tls_reasm r;
        lwq_tls_reasm_init(&r, lwq_test_alloc, 4096);
        size_t msgs = 0;
        const uint8_t *pieces[2] = {two, two + cut};
        size_t lens[2] = {cut, 2 * n - cut};
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = pieces[k];
            size_t left = lens[k];
            while (left) {
                int done;
                ssize_t used = lwq_tls_reasm_feed(&r, p, left, &done);
                ck_assert_int_ge(used, 0);
                p += used, left -= (size_t)used;
                if (done) {
                    ck_assert_uint_eq(r.len, n);
                    ck_assert_mem_eq(r.msg, buf, n);
                    lwq_tls_reasm_next(&r);
                    msgs++;
                }
            }
        }
        ck_assert_uint_eq(msgs, 2);
        ck_assert(!lwq_tls_reasm_partial(&r));
        lwq_tls_reasm_free(&r);
    }
}
END_TEST

START_TEST(test_reassembly_limits)
{
    lwq_tls_reasm r;
    int done;
    lwq_tls_reasm_init(&r, lwq_test_alloc, 100);
    static const uint8_t big[] = {11, 0, 0, 101};
    ck_assert_int_eq(lwq_tls_reasm_feed(&r, big, 4, &done), LWQ_ERR_LIMIT);
    lwq_tls_reasm_free(&r);
    lwq_tls_reasm_init(&r, lwq_test_alloc, 100);
    static const uint8_t ok[] = {20, 0, 0, 2, 1, 2};
    ck_assert_int_eq(lwq_tls_reasm_feed(&r, ok, 3, &done), 3);
    ck_assert(lwq_tls_reasm_partial(&r));
    lwq_test_alloc_fail_at(1);
    ck_assert_int_eq(lwq_tls_reasm_feed(&r, ok + 3, 3, &done), LWQ_ERR_NOMEM);
    ck_assert_int_eq(lwq_tls_reasm_feed(&r, ok + 3, 3, &done), 3);
    ck_assert_int_eq(done, 1);
    ck_assert_uint_eq(r.len, 6);
    lwq_tls_reasm_free(&r);
    /* an empty-bodied message completes with the header */
    lwq_tls_reasm_init(&r, lwq_test_alloc, 100);
    static const uint8_t empty[] = {8, 0, 0, 0};
    ck_assert_int_eq(lwq_tls_reasm_feed(&r, empty, 4, &done), 4);
    ck_assert_int_eq(done, 1);
    lwq_tls_reasm_free(&r);
}
END_TEST

START_TEST(test_extension_cap)
{
    /* EncryptedExtensions with LWQ_TLS_EXT_MAX + 1 distinct unknown extensions */
    size_t cnt = LWQ_TLS_EXT_MAX + 1, blk = cnt * 4;
    uint8_t buf[4 + 2 + (LWQ_TLS_EXT_MAX + 1) * 4];
    buf[0] = 8;
    lwq_put24(buf + 1, (uint32_t)(2 + blk));
    lwq_put16(buf + 4, (uint16_t)blk);
    for (size_t i = 0; i < cnt; i++) {
        lwq_put16(buf + 6 + 4 * i, (uint16_t)(0x1000 + i));
        lwq_put16(buf + 8 + 4 * i, 0);
    }
    lwq_tls_encrypted_extensions d;
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, buf, sizeof(buf)), LWQ_ERR_LIMIT);
    lwq_put24(buf + 1, (uint32_t)(2 + blk - 4));
    lwq_put16(buf + 4, (uint16_t)(blk - 4));
    ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&d, buf, sizeof(buf) - 4), (ssize_t)sizeof(buf) - 4);
    ck_assert_uint_eq(d.next, LWQ_TLS_EXT_MAX);
}
END_TEST

Suite *suite_tls_msg(void)
{
    Suite *s = suite_create("tls_msg");
    TCase *tc = lwq_test_tcase("tls_msg");
    tcase_add_test(tc, test_client_hello_round_trip);
    tcase_add_test(tc, test_client_hello_rejects);
    tcase_add_test(tc, test_client_hello_binders_must_match_identities);
    tcase_add_test(tc, test_server_hello_and_hrr_round_trip);
    tcase_add_test(tc, test_encrypted_extensions_round_trip);
    tcase_add_test(tc, test_certificate_round_trip);
    tcase_add_test(tc, test_small_messages_round_trip);
    tcase_add_test(tc, test_reassembly_every_split);
    tcase_add_test(tc, test_reassembly_limits);
    tcase_add_test(tc, test_extension_cap);
    suite_add_tcase(s, tc);
    return s;
}
