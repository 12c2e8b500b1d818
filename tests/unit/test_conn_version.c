/* QUIC v2 and compatible version negotiation (RFC 9368, RFC 9369): the ClientHello scan for the
 * transport parameters, version_information sent and checked, the server's Version Negotiation for
 * a refused v2, the configuration checks, and the v1 -> v2 upgrade between two connections. */
#include <stdio.h>
#include "conn_pair.h"
#include "base/mem.h"
#include "quic/conn_version.h"

static const uint32_t offer_v2[] = {LWQ_VERSION_2};

static void write_seed(const char *name, const uint8_t *p, size_t n)
{
    const char *dir = getenv("LWQ_WRITE_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(p, 1, n, fp);
    fclose(fp);
}

/* The client's ClientHello as written into its Initial CRYPTO stream. */
static size_t client_hello(pair *p, uint8_t *out, size_t cap)
{
    lwq_sendbuf *sb = &p->client->sp[LWQ_SPACE_INITIAL].ctx;
    size_t n = (size_t)sb->write_off;
    ck_assert_uint_le(n, cap);
    lwq_ring_read(&sb->data, 0, out, n);
    return n;
}

START_TEST(test_client_hello_tparams)
{
    pair p;
    pair_init(&p, 51);
    p.ccfg.other_versions = offer_v2;
    p.ccfg.other_versions_count = 1;
    pair_start(&p);
    static uint8_t ch[4096];
    size_t n = client_hello(&p, ch, sizeof(ch));
    write_seed("client_hello_v1_offer_v2", ch, n);
    const uint8_t *tp = NULL;
    size_t tplen = 0;
    ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), (ssize_t)n);
    ck_assert(tp > ch && tp + tplen <= ch + n);
    lwq_tparams t;
    ck_assert_int_eq(lwq_tparams_decode(&t, tp, tplen, 0), (ssize_t)tplen);
    ck_assert_int_eq(t.has_version_info, 1);
    ck_assert_uint_eq(t.chosen_version, LWQ_VERSION_1);
    ck_assert_uint_eq(t.n_available_versions, 2);
    ck_assert_uint_eq(t.available_versions[0], LWQ_VERSION_1);
    ck_assert_uint_eq(t.available_versions[1], LWQ_VERSION_2);
    /* every prefix is "not whole yet" */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(lwq_client_hello_tparams(ch, i, &tp, &tplen), 0);
    /* a message that is no ClientHello, and broken lengths inside one */
    uint8_t bad[4096];
    memcpy(bad, ch, n);
    bad[0] = 2;
    ck_assert_int_eq(lwq_client_hello_tparams(bad, n, &tp, &tplen), LWQ_ERR_DECODE);
    write_seed("server_hello_type", bad, n);
    memcpy(bad, ch, n);
    lwq_put16(bad + 4 + 34 + 1 + ch[4 + 34], 0xfffe); /* cipher suites longer than the message */
    ck_assert_int_eq(lwq_client_hello_tparams(bad, n, &tp, &tplen), LWQ_ERR_DECODE);
    write_seed("suites_overrun", bad, n);
    /* a ClientHello cut short of its extensions, with the outer length adjusted */
    size_t cut = 4 + 34 + 1 + ch[4 + 34];
    memcpy(bad, ch, cut);
    lwq_put24(bad + 1, (uint32_t)(cut - 4));
    ck_assert_int_eq(lwq_client_hello_tparams(bad, cut, &tp, &tplen), LWQ_ERR_DECODE);
    write_seed("no_suites", bad, cut);
    /* the same message with the transport parameters' extension type renamed */
    memcpy(bad, ch, n);
    size_t at = (size_t)(tp - ch) - 4;
    ck_assert_uint_eq(lwq_get16(bad + at), 0x39);
    lwq_put16(bad + at, 0x3a);
    ck_assert_int_eq(lwq_client_hello_tparams(bad, n, &tp, &tplen), LWQ_ERR_NOT_FOUND);
    write_seed("no_quic_tp", bad, n);
    pair_free(&p);
}
END_TEST

/* A minimal ClientHello around one extension block, for the corpus and the negative cases. */
static size_t synth_hello(uint8_t *out, const uint8_t *ext, size_t extlen)
{
    size_t len = 34 + 1 + 2 + 2 + 1 + 1 + 2 + extlen;
    out[0] = 1;
    lwq_put24(out + 1, (uint32_t)len);
    uint8_t *w = out + 4;
    memset(w, 0x03, 34);
    w += 34;
    *w++ = 0;            /* legacy_session_id */
    w = lwq_put16(w, 2); /* cipher_suites */
    w = lwq_put16(w, 0x1301);
    *w++ = 1; /* legacy_compression_methods */
    *w++ = 0;
    w = lwq_put16(w, (uint16_t)extlen);
    memcpy(w, ext, extlen);
    return 4 + len;
}

/* quic_transport_parameters holding version_information with these versions (chosen first). */
static size_t tp_ext(uint8_t *out, const uint32_t *v, size_t nv, uint16_t ext_type)
{
    uint8_t *w = lwq_put16(out, ext_type);
    w = lwq_put16(w, (uint16_t)(2 + 4 * nv));
    *w++ = 0x11; /* version_information (RFC 9368 §3), a 1-byte varint id and length */
    *w++ = (uint8_t)(4 * nv);
    for (size_t i = 0; i < nv; i++)
        w = lwq_put32(w, v[i]);
    return (size_t)(w - out);
}

START_TEST(test_client_hello_synthetic)
{
    static const struct {
        const char *name;
        uint32_t v[4];
        size_t nv;
        int ok;
    } cases[] = {{"vi_v1_v2", {LWQ_VERSION_1, LWQ_VERSION_1, LWQ_VERSION_2}, 3, 1},
                 {"vi_v2_only", {LWQ_VERSION_2, LWQ_VERSION_2}, 2, 1},
                 {"vi_chosen_only", {LWQ_VERSION_1}, 1, 1},
                 {"vi_grease", {LWQ_VERSION_1, 0x0a1a2a3a, LWQ_VERSION_2}, 3, 1},
                 {"vi_chosen_zero", {0, LWQ_VERSION_1}, 2, 0},
                 {"vi_available_zero", {LWQ_VERSION_1, 0}, 2, 0}};
    uint8_t ext[128], ch[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t el = tp_ext(ext, cases[i].v, cases[i].nv, 0x39);
        size_t n = synth_hello(ch, ext, el);
        write_seed(cases[i].name, ch, n);
        const uint8_t *tp;
        size_t tplen;
        ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), (ssize_t)n);
        lwq_tparams t;
        ssize_t r = lwq_tparams_decode(&t, tp, tplen, 0);
        ck_assert_int_eq(r >= 0, cases[i].ok);
        if (cases[i].ok) {
            ck_assert_uint_eq(t.chosen_version, cases[i].v[0]);
            ck_assert_uint_eq(t.n_available_versions, cases[i].nv - 1);
        }
    }
    /* the extension after another one; an extension overrunning the block; no extensions at all */
    uint32_t v[] = {LWQ_VERSION_1, LWQ_VERSION_2};
    uint8_t two[160];
    static const uint8_t other[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
    memcpy(two, other, sizeof(other));
    size_t el = sizeof(other) + tp_ext(two + sizeof(other), v, 2, 0x39);
    size_t n = synth_hello(ch, two, el);
    write_seed("second_extension", ch, n);
    const uint8_t *tp;
    size_t tplen;
    ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), (ssize_t)n);
    ck_assert_uint_eq(tplen, 2 + 8);
    lwq_put16(two + 2, 0x0100);
    n = synth_hello(ch, two, el);
    write_seed("extension_overrun", ch, n);
    ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), LWQ_ERR_DECODE);
    n = synth_hello(ch, two, 0);
    write_seed("no_extensions", ch, n);
    ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), LWQ_ERR_NOT_FOUND);
    n = synth_hello(ch, two, 3);
    write_seed("extension_header_cut", ch, n);
    ck_assert_int_eq(lwq_client_hello_tparams(ch, n, &tp, &tplen), LWQ_ERR_DECODE);
    /* prefixes of the first case */
    el = tp_ext(ext, cases[0].v, cases[0].nv, 0x39);
    n = synth_hello(ch, ext, el);
    static const size_t cuts[] = {0, 1, 3, 4, 20, 38, 39, 45};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "prefix_%zu", cuts[i]);
        write_seed(name, ch, cuts[i]);
        ck_assert_int_eq(lwq_client_hello_tparams(ch, cuts[i], &tp, &tplen), 0);
    }
    /* a length field claiming less than the fixed part */
    lwq_put24(ch + 1, 20);
    write_seed("too_short_body", ch, 24);
    ck_assert_int_eq(lwq_client_hello_tparams(ch, 24, &tp, &tplen), LWQ_ERR_DECODE);
}
END_TEST

START_TEST(test_config_versions)
{
    pair p;
    pair_init(&p, 52);
    const char *why = NULL;
    lwq_context *ctx = NULL;
    p.ccfg.version = 0x1a2a3a4a;
    ck_assert_int_eq(lwq_context_new(&ctx, &p.ccfg, &why), LWQ_ERR_INVAL);
    ck_assert_ptr_nonnull(why);
    p.ccfg.version = LWQ_VERSION_2;
    static const uint32_t bad[] = {LWQ_VERSION_1, 0xff00001d};
    p.ccfg.other_versions = bad;
    p.ccfg.other_versions_count = 2;
    ck_assert_int_eq(lwq_context_new(&ctx, &p.ccfg, &why), LWQ_ERR_INVAL);
    p.ccfg.other_versions_count = 1;
    ck_assert_int_eq(lwq_context_new(&ctx, &p.ccfg, &why), 0);
    lwq_context_del(ctx);
    pair_free(&p);
}
END_TEST

/* A fresh client and the peer parameters it "received": lwq_conn_version_check_peer's verdict. */
static uint64_t check_client(uint32_t version, int offer, uint32_t now_version, int has_info, uint32_t chosen)
{
    pair p;
    pair_init(&p, 53);
    p.ccfg.version = version;
    if (offer) {
        p.ccfg.other_versions = offer_v2;
        p.ccfg.other_versions_count = 1;
    }
    pair_start(&p);
    lwq_conn *c = p.client;
    c->version = now_version;
    c->peer_tp.has_version_info = has_info;
    c->peer_tp.chosen_version = chosen;
    c->peer_tp.available_versions[0] = chosen;
    c->peer_tp.n_available_versions = 1;
    int rv = lwq_conn_version_check_peer(c);
    uint64_t code = rv ? c->close.code : 0;
    ck_assert_int_eq(rv != 0, c->close_set);
    pair_free(&p);
    return code;
}

START_TEST(test_client_checks_server_version_information)
{
    const uint64_t VNE = LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR;
    /* v1 kept: the server's version information, if any, must name v1 */
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_1, 1, LWQ_VERSION_1), 0);
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_1, 0, 0), 0);
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_1, 1, LWQ_VERSION_2), VNE);
    /* upgraded to v2: the server must say v2 */
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_2, 1, LWQ_VERSION_2), 0);
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_2, 1, LWQ_VERSION_1), VNE);
    ck_assert_uint_eq(check_client(LWQ_VERSION_1, 1, LWQ_VERSION_2, 0, 0), VNE);
    /* started in v2: version_information is mandatory (RFC 9369 §4) */
    ck_assert_uint_eq(check_client(LWQ_VERSION_2, 0, LWQ_VERSION_2, 0, 0), VNE);
    ck_assert_uint_eq(check_client(LWQ_VERSION_2, 0, LWQ_VERSION_2, 1, LWQ_VERSION_2), 0);
}
END_TEST

/* Our version_information: the client's names the version it started with, then the others. */
START_TEST(test_local_version_information)
{
    pair p;
    pair_init(&p, 54);
    p.ccfg.version = LWQ_VERSION_2;
    static const uint32_t both[] = {LWQ_VERSION_1, LWQ_VERSION_2};
    p.ccfg.other_versions = both;
    p.ccfg.other_versions_count = 2;
    pair_start(&p);
    const lwq_tparams *tp = &p.client->local_tp;
    ck_assert_int_eq(tp->has_version_info, 1);
    ck_assert_uint_eq(tp->chosen_version, LWQ_VERSION_2);
    ck_assert_uint_eq(tp->n_available_versions, 2);
    ck_assert_uint_eq(tp->available_versions[0], LWQ_VERSION_2);
    ck_assert_uint_eq(tp->available_versions[1], LWQ_VERSION_1);
    pair_free(&p);
}
END_TEST

static ssize_t initial_dgram(uint8_t *d, size_t cap, uint32_t version)
{
    static const uint8_t dcid[8] = {0xd0, 1, 2, 3, 4, 5, 6, 7}, scid[4] = {0x5c, 1, 2, 3};
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    ho.type = LWQ_PKT_INITIAL;
    ho.version = lwq_version_supported(version) ? version : LWQ_VERSION_1;
    ho.dcid = dcid;
    ho.dcid_len = 8;
    ho.scid = scid;
    ho.scid_len = 4;
    ho.pn_len = 2;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ho.payload_len = cap - LWQ_AEAD_TAG_LEN - lwq_pkt_hdr_encoded_len(&ho);
    ssize_t hl = lwq_pkt_hdr_encode(d, cap, &ho);
    ck_assert_int_gt(hl, 0);
    memset(d + hl, 0x22, cap - (size_t)hl);
    lwq_put32(d + 1, version); /* the version-independent layout (RFC 8999 §5.1) */
    return (ssize_t)cap;
}

/* RFC 9000 §6.1: a v2 Initial to a server without accept_v2 gets Version Negotiation (v1 only),
 * never a connection; with accept_v2 the list holds both versions. */
START_TEST(test_server_vn_for_refused_v2)
{
    for (int accept = 0; accept < 2; accept++) {
        pair p;
        pair_init(&p, 55);
        p.scfg.accept_v2 = accept;
        pair_start(&p);
        uint8_t d[1200], r[1500];
        lwq_path path;
        lwq_conn *c = NULL;
        initial_dgram(d, sizeof(d), accept ? 0x1a2a3a4a : LWQ_VERSION_2);
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, sizeof(d), 0, p.now, &c, NULL), 0);
        ck_assert_ptr_null(c);
        ssize_t n = lwq_server_send(p.srv, &path, r, sizeof(r), p.now);
        ck_assert_int_gt(n, 0);
        lwq_pkt_hdr h;
        ck_assert_int_eq(lwq_pkt_hdr_decode(&h, r, (size_t)n, 8), n);
        ck_assert_int_eq(h.type, LWQ_PKT_VN);
        ck_assert_uint_eq(h.n_versions, accept ? 2 : 1);
        ck_assert_uint_eq(lwq_vn_version(&h, 0), LWQ_VERSION_1);
        if (accept)
            ck_assert_uint_eq(lwq_vn_version(&h, 1), LWQ_VERSION_2);
        pair_free(&p);
    }
}
END_TEST

static int established(pair *p)
{
    return pair_established(p) && p->client->handshake_confirmed;
}

/* v1 client offering v2 and an accept_v2 server over the pair: the first client datagram is v1, the
 * server's first is v2, both connections end up in v2 with the server's original Initial keys kept
 * until the Initial space goes. */
START_TEST(test_pair_upgrade)
{
    pair p;
    pair_init(&p, 56);
    p.ccfg.other_versions = offer_v2;
    p.ccfg.other_versions_count = 1;
    p.scfg.accept_v2 = 1;
    pair_start(&p);
    pair_flush(&p);
    ck_assert_uint_ge(p.nq, 1);
    ck_assert_uint_eq(lwq_get32(p.q[0].data + 1), LWQ_VERSION_1);
    p.now = p.q[0].at;
    pair_deliver(&p);
    ck_assert_ptr_nonnull(p.server);
    ck_assert_uint_eq(lwq_conn_version(p.server), LWQ_VERSION_2);
    ck_assert_int_eq(p.server->vn.has_orig_rk, 1);
    pair_flush(&p);
    ck_assert_uint_ge(p.nq, 1);
    ck_assert_uint_eq(lwq_get32(p.q[0].data + 1), LWQ_VERSION_2);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    ck_assert_uint_eq(lwq_conn_version(p.client), LWQ_VERSION_2);
    ck_assert_uint_eq(p.server->peer_tp.chosen_version, LWQ_VERSION_1);
    ck_assert_uint_eq(p.client->peer_tp.chosen_version, LWQ_VERSION_2);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_version(void)
{
    Suite *s = suite_create("conn_version");
    TCase *tc = lwq_test_tcase("conn_version");
    tcase_add_test(tc, test_client_hello_tparams);
    tcase_add_test(tc, test_client_hello_synthetic);
    tcase_add_test(tc, test_config_versions);
    tcase_add_test(tc, test_client_checks_server_version_information);
    tcase_add_test(tc, test_local_version_information);
    tcase_add_test(tc, test_server_vn_for_refused_v2);
    tcase_add_test(tc, test_pair_upgrade);
    suite_add_tcase(s, tc);
    return s;
}
