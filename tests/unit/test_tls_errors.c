/* The negative matrix: every message each side receives, truncated and corrupted
 * at every byte and fed into a fresh handshake; crafted protocol violations; limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/tls.h"
#include "tls_harness.inc"

/* ---- record a handshake, then replay it into fresh peers with one message altered ---- */

typedef struct rec_msg {
    int epoch;
    const uint8_t *p;
    size_t n;
} rec_msg;

typedef struct scenario {
    tlst_certs fx;
    lwq_tls_config cc, sc;
    uint8_t blob[4096];
    tlst_peer c, s; /* the recorded run */
    rec_msg to_client[16], to_server[8];
    size_t nc, ns;
} scenario;

static size_t split(const tlst_peer *p, rec_msg *out, size_t max)
{
    size_t k = 0;
    for (int e = 0; e < LWQ_TLS_EPOCHS; e++)
        for (size_t off = 0; off + 4 <= p->rxlen[e] && k < max;) {
            size_t n = 4 + lwq_get24(p->rx[e] + off + 1);
            out[k].epoch = e;
            out[k].p = p->rx[e] + off;
            out[k].n = n;
            k++;
            off += n;
        }
    return k;
}

/* 0: full handshake with a ticket; 1: HelloRetryRequest; 2: resumption with 0-RTT. */
static void scenario_init(scenario *sc, int kind)
{
    static const uint16_t p256_only[] = {LWQ_GROUP_SECP256R1};
    memset(sc, 0, sizeof(*sc));
    tlst_certs_load(&sc->fx, "server-ed25519.pem", "server-ed25519.key");
    tlst_config(&sc->cc, 0, &sc->fx);
    tlst_config(&sc->sc, 1, &sc->fx);
    sc->sc.ticket_key = tlst_ticket_key;
    sc->sc.early_data = 1;
    if (kind == 1) {
        sc->sc.groups = p256_only;
        sc->sc.group_count = 1;
    }
    if (kind == 2) {
        tlst_peer_init(&sc->c, &sc->cc, 900);
        tlst_peer_init(&sc->s, &sc->sc, 901);
        ck_assert_int_eq(tlst_run(&sc->c, &sc->s), 0);
        memcpy(sc->blob, sc->c.ticket, sc->c.ticket_len);
        sc->cc.session = sc->blob;
        sc->cc.session_len = sc->c.ticket_len;
        sc->cc.early_data = 1;
        tlst_peer_free(&sc->c);
        tlst_peer_free(&sc->s);
    }
    tlst_peer_init(&sc->c, &sc->cc, 1000);
    tlst_peer_init(&sc->s, &sc->sc, 1001);
    sc->c.record = sc->s.record = 1;
    ck_assert_int_eq(tlst_run(&sc->c, &sc->s), 0);
    ck_assert_int_eq(lwq_tls_resumed(sc->c.tls), kind == 2);
    ck_assert_int_eq(lwq_tls_hrr(sc->c.tls), kind == 1);
    sc->nc = split(&sc->c, sc->to_client, 16);
    sc->ns = split(&sc->s, sc->to_server, 8);
}

static void scenario_free(scenario *sc)
{
    tlst_peer_free(&sc->c);
    tlst_peer_free(&sc->s);
    tlst_certs_free(&sc->fx);
}

/* Feeds the recorded messages into a fresh peer, message `alter` replaced by (p, n).
 * Returns the first error, 0 when all were taken. */
static int replay(scenario *sc, int to_server, size_t alter, const uint8_t *p, size_t n, tlst_peer *fresh)
{
    const rec_msg *msgs = to_server ? sc->to_server : sc->to_client;
    size_t count = to_server ? sc->ns : sc->nc;
    tlst_peer_init(fresh, to_server ? &sc->sc : &sc->cc, to_server ? 1001 : 1000);
    if (!to_server) {
        ck_assert_int_eq(lwq_tls_start(fresh->tls), 0);
        tlst_events(fresh);
    }
    for (size_t i = 0; i < count; i++) {
        int rc = i == alter ? lwq_tls_recv(fresh->tls, (lwq_tls_epoch)msgs[i].epoch, p, n)
                            : lwq_tls_recv(fresh->tls, (lwq_tls_epoch)msgs[i].epoch, msgs[i].p, msgs[i].n);
        tlst_events(fresh);
        if (rc)
            return rc;
    }
    return 0;
}

START_TEST(test_replay_unaltered_completes)
{
    scenario sc;
    scenario_init(&sc, _i);
    for (int side = 0; side < 2; side++) {
        tlst_peer f;
        ck_assert_int_eq(replay(&sc, side, (size_t)-1, NULL, 0, &f), 0);
        ck_assert_int_eq(f.complete, 1);
        tlst_peer_free(&f);
    }
    /* the messages each side sees */
    ck_assert_uint_eq(sc.ns, _i == 1 ? 3 : 2);
    ck_assert_uint_eq(sc.nc, _i == 1 ? 7 : _i == 2 ? 4 : 6);
    scenario_free(&sc);
}
END_TEST

/* Truncated bodies (with a consistent header) and a corrupted byte at every offset. */
START_TEST(test_replay_truncated_and_corrupted)
{
    scenario sc;
    scenario_init(&sc, _i);
    size_t trials = 0;
    for (int side = 0; side < 2; side++) {
        size_t count = side ? sc.ns : sc.nc;
        for (size_t m = 0; m < count; m++) {
            const rec_msg *msg = side ? &sc.to_server[m] : &sc.to_client[m];
            int post_handshake = msg->p[0] == LWQ_TLS_HS_NEW_SESSION_TICKET;
            uint8_t buf[4096];
            ck_assert_uint_le(msg->n, sizeof(buf));
            for (size_t k = 0; k + 4 < msg->n; k++) {
                tlst_peer f;
                memcpy(buf, msg->p, 4 + k);
                lwq_put24(buf + 1, (uint32_t)k);
                int rc = replay(&sc, side, m, buf, 4 + k, &f);
                ck_assert_msg(rc == LWQ_ERR_ALERT, "side %d msg %zu (type %u) cut to %zu: rc %d", side, m, msg->p[0], k,
                              rc);
                ck_assert_int_ne(lwq_tls_alert(f.tls), 0);
                ck_assert_int_eq(f.complete, post_handshake);
                tlst_peer_free(&f);
                trials++;
            }
            for (size_t j = 0; j < msg->n; j++) {
                tlst_peer f;
                memcpy(buf, msg->p, msg->n);
                buf[j] ^= j < 4 ? 0x10 : 0xa5;
                int rc = replay(&sc, side, m, buf, msg->n, &f);
                if (j >= 4 && !post_handshake) {
                    /* everything is in the transcript: the handshake must fail cleanly */
                    ck_assert_msg(rc == LWQ_ERR_ALERT, "side %d msg %zu (type %u) byte %zu: rc %d", side, m, msg->p[0],
                                  j, rc);
                    ck_assert_int_ne(lwq_tls_alert(f.tls), 0);
                }
                if (!post_handshake)
                    ck_assert_int_eq(f.complete, 0);
                tlst_peer_free(&f);
                trials++;
            }
        }
    }
    ck_assert_uint_gt(trials, 500);
    scenario_free(&sc);
}
END_TEST

/* ---- crafted violations ---- */

/* A started client and the real server's answer, kept apart. */
typedef struct pair {
    tlst_certs fx;
    tlst_peer c, s;
    uint8_t ch[2048], sh[512], hs[8192];
    size_t chlen, shlen, hslen;
} pair;

static void pair_init(pair *p, const uint16_t *sgroups, size_t nsg)
{
    lwq_tls_config cc, sc;
    const uint8_t *q;
    size_t n;
    memset(p, 0, sizeof(*p));
    tlst_certs_load(&p->fx, "server-ed25519.pem", "server-ed25519.key");
    tlst_config(&cc, 0, &p->fx);
    tlst_config(&sc, 1, &p->fx);
    sc.groups = sgroups;
    sc.group_count = nsg;
    tlst_peer_init(&p->c, &cc, 500);
    tlst_peer_init(&p->s, &sc, 501);
    ck_assert_int_eq(lwq_tls_start(p->c.tls), 0);
    lwq_tls_output(p->c.tls, LWQ_TLS_EPOCH_INITIAL, &q, &n);
    memcpy(p->ch, q, n);
    p->chlen = n;
    lwq_tls_output_consume(p->c.tls, LWQ_TLS_EPOCH_INITIAL, n);
    ck_assert_int_eq(lwq_tls_recv(p->s.tls, LWQ_TLS_EPOCH_INITIAL, p->ch, p->chlen), 0);
    lwq_tls_output(p->s.tls, LWQ_TLS_EPOCH_INITIAL, &q, &n);
    memcpy(p->sh, q, n);
    p->shlen = n;
    lwq_tls_output(p->s.tls, LWQ_TLS_EPOCH_HANDSHAKE, &q, &n);
    if (n)
        memcpy(p->hs, q, n);
    p->hslen = n;
}

static void pair_free(pair *p)
{
    tlst_peer_free(&p->c);
    tlst_peer_free(&p->s);
    tlst_certs_free(&p->fx);
}

/* A fresh server fed a ClientHello re-encoded after `edit`. */
static int server_gets_edited_ch(pair *p, int edit)
{
    lwq_tls_client_hello m;
    uint8_t buf[2048], extra[64], dup[72];
    ck_assert_int_eq(lwq_tls_client_hello_decode(&m, p->ch, p->chlen), (ssize_t)p->chlen);
    static const uint16_t only_unknown_suite[] = {0x1304};
    switch (edit) {
    case 0:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS);
        break;
    case 1:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS);
        break;
    case 2:
        m.session_id.p = extra, m.session_id.n = 8, memset(extra, 7, 8);
        break;
    case 3:
        m.suites = lwq_tls_u16_list_put(extra, only_unknown_suite, 1);
        break;
    case 4:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
        break;
    case 5:
        m.compression.p = (const uint8_t *)"\x01", m.compression.n = 1;
        break;
    case 6:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN);
        break;
    case 7:
        m.versions.p = (const uint8_t *)"\x03\x03", m.versions.n = 2;
        break;
    case 8:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_SIGNATURE_ALGORITHMS);
        break;
    case 9:
        m.sigalgs.p = (const uint8_t *)"\x04\x01", m.sigalgs.n = 2;
        break;
    case 10:
        m.shares.p = (const uint8_t *)"\x00\x1d\x00\x01\x00", m.shares.n = 5;
        break;
    case 11:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_GROUPS);
        break;
    case 12:
        m.groups.p = (const uint8_t *)"\x00\x18", m.groups.n = 2;
        break;
    case 13:
        /* the same X25519 share twice */
        ck_assert_uint_eq(m.shares.n, 36);
        memcpy(dup, m.shares.p, 36);
        memcpy(dup + 36, m.shares.p, 36);
        m.shares.p = dup, m.shares.n = 72;
        break;
    case 14:
        m.groups.p = (const uint8_t *)"\x00\x18\x00\x17", m.groups.n = 4;
        break;
    }
    ssize_t n = lwq_tls_client_hello_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    lwq_tls_config sc;
    tlst_peer s;
    tlst_config(&sc, 1, &p->fx);
    tlst_peer_init(&s, &sc, 77);
    int rc = lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
    int alert = rc == LWQ_ERR_ALERT ? lwq_tls_alert(s.tls) : -1;
    tlst_peer_free(&s);
    return alert;
}

START_TEST(test_server_refuses_bad_client_hellos)
{
    static const int want[] = {
        LWQ_TLS_ALERT_PROTOCOL_VERSION,        LWQ_TLS_ALERT_MISSING_EXTENSION, LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
        LWQ_TLS_ALERT_HANDSHAKE_FAILURE,       LWQ_TLS_ALERT_MISSING_EXTENSION, LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
        LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL, LWQ_TLS_ALERT_PROTOCOL_VERSION,  LWQ_TLS_ALERT_MISSING_EXTENSION,
        LWQ_TLS_ALERT_HANDSHAKE_FAILURE,       LWQ_TLS_ALERT_ILLEGAL_PARAMETER, LWQ_TLS_ALERT_MISSING_EXTENSION,
        LWQ_TLS_ALERT_ILLEGAL_PARAMETER,       LWQ_TLS_ALERT_ILLEGAL_PARAMETER, LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
    };
    pair p;
    pair_init(&p, NULL, 0);
    for (int e = 0; e < (int)(sizeof(want) / sizeof(want[0])); e++)
        ck_assert_msg(server_gets_edited_ch(&p, e) == want[e], "edit %d: alert %d", e, server_gets_edited_ch(&p, e));
    pair_free(&p);
}
END_TEST

/* A fresh started client fed an edited ServerHello. */
static int client_gets_edited_sh(pair *p, int edit)
{
    lwq_tls_server_hello m;
    uint8_t buf[512];
    ck_assert_int_eq(lwq_tls_server_hello_decode(&m, p->sh, p->shlen), (ssize_t)p->shlen);
    switch (edit) {
    case 0:
        m.version = 0x0303;
        break;
    case 1:
        m.suite = 0x1304;
        break;
    case 2:
        m.session_id.p = (const uint8_t *)"abcd", m.session_id.n = 4;
        break;
    case 3:
        m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY);
        break;
    case 4:
        m.group = LWQ_GROUP_SECP256R1;
        break;
    case 5:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
        break;
    case 6:
        m.legacy_version = 0x0302;
        break;
    case 7:
        m.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS);
        break;
    case 8:
        m.compression = 1;
        break;
    case 9:
        m.share.n = 31;
        break;
    }
    ssize_t n = lwq_tls_server_hello_encode(&m, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    lwq_tls_config cc;
    tlst_peer c;
    tlst_config(&cc, 0, &p->fx);
    tlst_peer_init(&c, &cc, 500);
    ck_assert_int_eq(lwq_tls_start(c.tls), 0);
    int rc = lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
    int alert = rc == LWQ_ERR_ALERT ? lwq_tls_alert(c.tls) : -1;
    tlst_peer_free(&c);
    return alert;
}

START_TEST(test_client_refuses_bad_server_hellos)
{
    static const int want[] = {
        LWQ_TLS_ALERT_ILLEGAL_PARAMETER,     LWQ_TLS_ALERT_ILLEGAL_PARAMETER, LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
        LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, LWQ_TLS_ALERT_MISSING_EXTENSION,
        LWQ_TLS_ALERT_PROTOCOL_VERSION,      LWQ_TLS_ALERT_PROTOCOL_VERSION,  LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
        LWQ_TLS_ALERT_ILLEGAL_PARAMETER,
    };
    pair p;
    pair_init(&p, NULL, 0);
    for (int e = 0; e < (int)(sizeof(want) / sizeof(want[0])); e++) {
        int a = client_gets_edited_sh(&p, e);
        ck_assert_msg(a == want[e], "edit %d: alert %d", e, a);
    }
    pair_free(&p);
}
END_TEST

/* HelloRetryRequests a client must refuse (RFC 9846 §4.1.4). */
START_TEST(test_client_refuses_bad_hrr)
{
    pair p;
    lwq_tls_config cc;
    tlst_peer c;
    lwq_tls_server_hello h;
    uint8_t buf[256];
    pair_init(&p, NULL, 0);
    for (int k = 0; k < 4; k++) {
        memset(&h, 0, sizeof(h));
        h.is_hrr = 1;
        h.suite = LWQ_SUITE_AES128GCM_SHA256;
        h.version = LWQ_TLS_VERSION_13;
        h.group = k == 0 ? LWQ_GROUP_X25519 : k == 1 ? 0x0018 : LWQ_GROUP_SECP256R1;
        h.present = lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS);
        if (k != 2)
            h.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
        ssize_t n = lwq_tls_server_hello_encode(&h, buf, sizeof(buf));
        tlst_config(&cc, 0, &p.fx);
        tlst_peer_init(&c, &cc, 600);
        ck_assert_int_eq(lwq_tls_start(c.tls), 0);
        int rc = lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
        if (k == 3) {
            /* a valid HRR to P-256 is answered; a second one is refused */
            ck_assert_int_eq(rc, 0);
            const uint8_t *q;
            size_t qn;
            lwq_tls_output(c.tls, LWQ_TLS_EPOCH_INITIAL, &q, &qn);
            lwq_tls_client_hello ch2;
            ck_assert_int_gt(qn, p.chlen);
            ck_assert_int_eq(lwq_tls_client_hello_decode(&ch2, q + p.chlen, qn - p.chlen), (ssize_t)(qn - p.chlen));
            lwq_tls_span key;
            ck_assert(lwq_tls_find_share(ch2.shares, LWQ_GROUP_SECP256R1, &key));
            ck_assert_uint_eq(key.n, 65);
            ck_assert(!lwq_tls_find_share(ch2.shares, LWQ_GROUP_X25519, &key));
            rc = lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
            ck_assert_int_eq(rc, LWQ_ERR_ALERT);
            ck_assert_int_eq(lwq_tls_alert(c.tls), LWQ_TLS_ALERT_UNEXPECTED_MESSAGE);
        } else {
            /* asks for the group already sent, or one never offered, or changes nothing */
            ck_assert_int_eq(rc, LWQ_ERR_ALERT);
            ck_assert_int_eq(lwq_tls_alert(c.tls), LWQ_TLS_ALERT_ILLEGAL_PARAMETER);
        }
        tlst_peer_free(&c);
    }
    pair_free(&p);
}
END_TEST

/* The server's second ClientHello must carry the requested share and no early data. */
START_TEST(test_server_refuses_bad_second_client_hello)
{
    static const uint16_t p256_only[] = {LWQ_GROUP_SECP256R1};
    pair p;
    pair_init(&p, p256_only, 1);
    /* the server answered with an HRR; send it the first ClientHello again */
    lwq_tls_server_hello h;
    ck_assert_int_eq(lwq_tls_server_hello_decode(&h, p.sh, p.shlen), (ssize_t)p.shlen);
    ck_assert_int_eq(h.is_hrr, 1);
    ck_assert_uint_eq(h.group, LWQ_GROUP_SECP256R1);
    ck_assert_uint_eq(p.hslen, 0);
    ck_assert_int_eq(lwq_tls_recv(p.s.tls, LWQ_TLS_EPOCH_INITIAL, p.ch, p.chlen), LWQ_ERR_ALERT);
    ck_assert_int_eq(lwq_tls_alert(p.s.tls), LWQ_TLS_ALERT_ILLEGAL_PARAMETER);
    pair_free(&p);
}
END_TEST

/* Data at an encryption level the handshake does not read, and message types QUIC forbids. */
START_TEST(test_wrong_level_and_forbidden_messages)
{
    pair p;
    pair_init(&p, NULL, 0);
    static const uint8_t key_update[] = {LWQ_TLS_HS_KEY_UPDATE, 0, 0, 1, 0};
    static const uint8_t eoed[] = {LWQ_TLS_HS_END_OF_EARLY_DATA, 0, 0, 0};
    static const uint8_t ccs_record[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    static const uint8_t legacy[] = {0, 3, 12, 14, 16, 22, 6, 254, 200};
    lwq_tls_config cc, sc;
    for (int k = 0; k < 7 + (int)sizeof(legacy); k++) {
        tlst_peer c, s;
        tlst_config(&cc, 0, &p.fx);
        tlst_config(&sc, 1, &p.fx);
        tlst_peer_init(&c, &cc, 500);
        tlst_peer_init(&s, &sc, 501);
        ck_assert_int_eq(lwq_tls_start(c.tls), 0);
        c.started = 1;
        int rc;
        uint8_t lm[4] = {0, 0, 0, 0};
        switch (k) {
        case 0:
            rc = lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_0RTT, p.ch, p.chlen);
            break;
        case 1:
            rc = lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_HANDSHAKE, p.ch, p.chlen);
            break;
        case 2:
            rc = lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_HANDSHAKE, p.sh, p.shlen);
            break;
        case 3:
            rc = lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_INITIAL, ccs_record, sizeof(ccs_record));
            break;
        case 4:
            /* the ServerHello followed by Handshake bytes in the same Initial data */
            memcpy(lm, p.hs, 4);
            {
                uint8_t both[600];
                memcpy(both, p.sh, p.shlen);
                memcpy(both + p.shlen, lm, 4);
                rc = lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, both, p.shlen + 4);
            }
            break;
        case 5:
        case 6:
            ck_assert_int_eq(tlst_run(&c, &s), 0);
            rc = k == 5 ? lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_1RTT, key_update, sizeof(key_update))
                        : lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_1RTT, eoed, sizeof(eoed));
            break;
        default:
            lm[0] = legacy[k - 7];
            rc = lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_INITIAL, lm, 4);
            break;
        }
        ck_assert_msg(rc == LWQ_ERR_ALERT, "case %d: rc %d", k, rc);
        int a = k == 2 || k == 4 || k == 5 ? lwq_tls_alert(c.tls) : lwq_tls_alert(s.tls);
        ck_assert_msg(a == LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "case %d: alert %d", k, a);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
    }
    /* an EndOfEarlyData where the client Finished belongs */
    {
        tlst_peer c, s;
        tlst_config(&cc, 0, &p.fx);
        tlst_config(&sc, 1, &p.fx);
        tlst_peer_init(&c, &cc, 500);
        tlst_peer_init(&s, &sc, 501);
        ck_assert_int_eq(lwq_tls_start(c.tls), 0);
        ck_assert_int_eq(tlst_pump(&c, &s), 1);
        ck_assert_int_eq(lwq_tls_recv(s.tls, LWQ_TLS_EPOCH_HANDSHAKE, eoed, sizeof(eoed)), LWQ_ERR_ALERT);
        ck_assert_int_eq(lwq_tls_alert(s.tls), LWQ_TLS_ALERT_UNEXPECTED_MESSAGE);
        tlst_peer_free(&c);
        tlst_peer_free(&s);
    }
    pair_free(&p);
}
END_TEST

/* EncryptedExtensions the client must refuse. */
START_TEST(test_client_refuses_bad_encrypted_extensions)
{
    pair p;
    pair_init(&p, NULL, 0);
    static const int want[] = {LWQ_TLS_ALERT_MISSING_EXTENSION,     LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL,
                               LWQ_TLS_ALERT_ILLEGAL_PARAMETER,     LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION,
                               LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, LWQ_TLS_ALERT_ILLEGAL_PARAMETER};
    for (int k = 0; k < 6; k++) {
        lwq_tls_encrypted_extensions ee;
        uint8_t buf[256];
        ck_assert_int_eq(p.hs[0], LWQ_TLS_HS_ENCRYPTED_EXTENSIONS);
        size_t eelen = 4 + lwq_get24(p.hs + 1);
        ck_assert_int_eq(lwq_tls_encrypted_extensions_decode(&ee, p.hs, eelen), (ssize_t)eelen);
        ssize_t n;
        switch (k) {
        case 0:
            ee.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS);
            break;
        case 1:
            ee.present &= ~lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN);
            break;
        case 2:
            ee.alpn.p = (const uint8_t *)"h2", ee.alpn.n = 2;
            break;
        case 3:
            ee.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
            break;
        case 4:
            break;
        case 5:
            ee.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_GROUPS);
            ee.groups.p = (const uint8_t *)"\x00\x1d\x00";
            ee.groups.n = 3;
            break;
        }
        n = lwq_tls_encrypted_extensions_encode(&ee, buf, sizeof(buf));
        if (k == 4) {
            /* an unknown extension appended */
            memcpy(buf + n, "\x7a\x7a\x00\x00", 4);
            lwq_put24(buf + 1, (uint32_t)(n - 4 + 4));
            lwq_put16(buf + 4, (uint16_t)(lwq_get16(buf + 4) + 4));
            n += 4;
        }
        lwq_tls_config cc;
        tlst_peer c;
        tlst_config(&cc, 0, &p.fx);
        tlst_peer_init(&c, &cc, 500);
        ck_assert_int_eq(lwq_tls_start(c.tls), 0);
        ck_assert_int_eq(lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_INITIAL, p.sh, p.shlen), 0);
        ck_assert_int_eq(lwq_tls_recv(c.tls, LWQ_TLS_EPOCH_HANDSHAKE, buf, (size_t)n), LWQ_ERR_ALERT);
        int a = lwq_tls_alert(c.tls);
        if (k == 5)
            ck_assert_msg(a == LWQ_TLS_ALERT_DECODE_ERROR, "case %d: alert %d", k, a);
        else
            ck_assert_msg(a == want[k], "case %d: alert %d", k, a);
        tlst_peer_free(&c);
    }
    pair_free(&p);
}
END_TEST

/* Each configured limit is a clean alert. */
START_TEST(test_limits_are_alerts)
{
    tlst_certs fx;
    tlst_certs_load(&fx, "server-rsa-chain.pem", "server-rsa.key");
    for (int k = 0; k < 4; k++) {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        tlst_config(&cc, 0, &fx);
        tlst_config(&sc, 1, &fx);
        if (k == 0)
            sc.max_message_size = 100; /* the ClientHello is bigger */
        else if (k == 1)
            sc.max_extensions = 4;
        else if (k == 2)
            cc.max_chain_size = 600;
        else
            cc.max_chain_len = 1;
        tlst_peer_init(&c, &cc, 90);
        tlst_peer_init(&s, &sc, 91);
        ck_assert_int_eq(tlst_run(&c, &s), LWQ_ERR_ALERT);
        if (k < 2) {
            ck_assert_int_eq(lwq_tls_alert(s.tls), LWQ_TLS_ALERT_DECODE_ERROR);
        } else {
            ck_assert_int_eq(lwq_tls_alert(c.tls), LWQ_TLS_ALERT_BAD_CERTIFICATE);
            ck_assert_int_eq(lwq_tls_verify_result(c.tls), LWQ_ERR_CERT_CHAIN_TOO_LONG);
        }
        tlst_peer_free(&c);
        tlst_peer_free(&s);
    }
    tlst_certs_free(&fx);
}
END_TEST

/* ---- fuzz corpus: real flights as [epoch][u16 length][message] records ----
 * LWQ_TLS_GEN_CORPUS=fuzz/corpus build/tests/unit-tests writes them; the peers
 * use the settings of fuzz/fuzz_tls_client.c (seed 1000) and fuzz_tls_server.c (seed 1001). */

static void write_seeds(const char *dir, const char *name, const tlst_peer *p)
{
    rec_msg msgs[16];
    size_t n = split(p, msgs, 16);
    for (size_t upto = 1; upto <= n; upto++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s-%zu", dir, name, upto);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < upto; i++) {
            uint8_t hdr[3] = {(uint8_t)msgs[i].epoch, (uint8_t)(msgs[i].n >> 8), (uint8_t)msgs[i].n};
            ck_assert_uint_le(msgs[i].n, 0xffff);
            fwrite(hdr, 1, 3, f);
            fwrite(msgs[i].p, 1, msgs[i].n, f);
        }
        fclose(f);
    }
}

START_TEST(test_generate_fuzz_corpus)
{
    const char *root = getenv("LWQ_TLS_GEN_CORPUS");
    static const uint16_t p256_only[] = {LWQ_GROUP_SECP256R1}, p256_first[] = {LWQ_GROUP_SECP256R1, LWQ_GROUP_X25519};
    static const uint16_t chacha[] = {LWQ_SUITE_CHACHA20POLY1305_SHA256}, aes128[] = {LWQ_SUITE_AES128GCM_SHA256};
    static const char *certs[][2] = {{"server-ed25519.pem", "server-ed25519.key"},
                                     {"server-ecdsa.pem", "server-ecdsa.key"},
                                     {"server-rsa.pem", "server-rsa.key"}};
    char dir[400];
    tlst_certs ed;
    tlst_certs_load(&ed, certs[0][0], certs[0][1]);
    /* the fuzzed client against server variants */
    for (int v = 0; v < 7; v++) {
        tlst_certs fx;
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        tlst_certs_load(&fx, certs[v < 3 ? v : 0][0], certs[v < 3 ? v : 0][1]);
        tlst_config(&cc, 0, &fx);
        tlst_config(&sc, 1, &fx);
        if (v == 3)
            sc.groups = p256_only, sc.group_count = 1;
        if (v == 4)
            sc.suites = chacha, sc.suite_count = 1;
        if (v == 5)
            sc.suites = aes128, sc.suite_count = 1;
        if (v == 6)
            sc.ticket_key = tlst_ticket_key, sc.early_data = 1;
        tlst_peer_init(&c, &cc, 1000);
        tlst_peer_init(&s, &sc, 2000 + (uint64_t)v);
        c.record = 1;
        ck_assert_int_eq(tlst_run(&c, &s), 0);
        if (root) {
            char name[32];
            snprintf(dir, sizeof(dir), "%s/tls_client", root);
            snprintf(name, sizeof(name), "flight%d", v);
            write_seeds(dir, name, &c);
        }
        tlst_peer_free(&c);
        tlst_peer_free(&s);
        tlst_certs_free(&fx);
    }
    /* client variants against the fuzzed server */
    uint8_t blob[4096];
    size_t blob_len = 0;
    for (int v = 0; v < 5; v++) {
        lwq_tls_config cc, sc;
        tlst_peer c, s;
        tlst_config(&cc, 0, &ed);
        tlst_config(&sc, 1, &ed);
        sc.ticket_key = tlst_ticket_key;
        sc.early_data = 1;
        if (v == 1)
            cc.groups = p256_first, cc.group_count = 2;
        if (v == 2)
            cc.suites = chacha, cc.suite_count = 1;
        if (v == 3)
            cc.suites = aes128, cc.suite_count = 1;
        if (v == 4) {
            cc.session = blob;
            cc.session_len = blob_len;
            cc.early_data = 1;
        }
        tlst_peer_init(&c, &cc, 3000 + (uint64_t)v);
        tlst_peer_init(&s, &sc, 1001);
        s.record = 1;
        ck_assert_int_eq(tlst_run(&c, &s), 0);
        ck_assert_int_eq(lwq_tls_resumed(s.tls), v == 4);
        ck_assert_int_eq(lwq_tls_early_data_accepted(s.tls), v == 4);
        if (v == 0) {
            memcpy(blob, c.ticket, c.ticket_len);
            blob_len = c.ticket_len;
        }
        if (root) {
            char name[32];
            snprintf(dir, sizeof(dir), "%s/tls_server", root);
            snprintf(name, sizeof(name), "flight%d", v);
            write_seeds(dir, name, &s);
        }
        tlst_peer_free(&c);
        tlst_peer_free(&s);
    }
    tlst_certs_free(&ed);
}
END_TEST

Suite *suite_tls_errors(void)
{
    Suite *s = suite_create("tls_errors");
    TCase *tc = lwq_test_tcase("tls_errors");
    tcase_add_loop_test(tc, test_replay_unaltered_completes, 0, 3);
    tcase_add_loop_test(tc, test_replay_truncated_and_corrupted, 0, 3);
    tcase_add_test(tc, test_server_refuses_bad_client_hellos);
    tcase_add_test(tc, test_client_refuses_bad_server_hellos);
    tcase_add_test(tc, test_client_refuses_bad_hrr);
    tcase_add_test(tc, test_server_refuses_bad_second_client_hello);
    tcase_add_test(tc, test_wrong_level_and_forbidden_messages);
    tcase_add_test(tc, test_client_refuses_bad_encrypted_extensions);
    tcase_add_test(tc, test_limits_are_alerts);
    tcase_add_test(tc, test_generate_fuzz_corpus);
    suite_add_tcase(s, tc);
    return s;
}
