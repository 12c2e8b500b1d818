/* Address validation with Retry (RFC 9000 §8.1.2, §17.2.5; RFC 9001 §5.8): the server's stateless
 * Retry and token check, the client's handling of Retry packets, and the CID authentication that
 * ties them together (RFC 9000 §7.3). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "conn_echo.h"
#include "base/mem.h"
#include "quic/protect.h"

#define DG 1500

static void set_addr(lwq_path *path, uint16_t port)
{
    memset(path, 0, sizeof(*path));
    struct sockaddr_in *a = (struct sockaddr_in *)&path->remote;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(0x7f000001);
    path->remote_len = sizeof(*a);
}

/* pair_start with the server's limits.retry set as asked. */
static void rpair_start(pair *p, uint64_t seed, int retry)
{
    pair_init(p, seed);
    set_addr(&p->path, 5000);
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&p->cctx, &p->ccfg, &why), 0);
    ck_assert_int_eq(lwq_context_new(&p->sctx, &p->scfg, &why), 0);
    lwq_server_limits lim = {.retry = retry};
    ck_assert_int_eq(lwq_server_new(&p->srv, p->sctx, &lim), 0);
    p->q = calloc(PAIR_QMAX, sizeof(*p->q));
    ck_assert_ptr_nonnull(p->q);
    p->delay = 10 * LWQ_MS;
    p->now = LWQ_SEC;
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &p->path, NULL, 0, NULL, 0, p->now), 0);
}

static ssize_t client_out(pair *p, uint8_t *buf)
{
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    return lwq_conn_send(p->client, &path, buf, DG, 1, &seg, &ecn, p->now);
}

/* Hands a datagram to the server; returns the connection it reached (NULL: answered or dropped). */
static lwq_conn *server_in(pair *p, const lwq_path *path, const uint8_t *d, size_t n)
{
    lwq_conn *c = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p->srv, path, d, n, 0, p->now, &c, &created), 0);
    return c;
}

static ssize_t server_reply(pair *p, uint8_t *buf)
{
    lwq_path path;
    return lwq_server_send(p->srv, &path, buf, DG, p->now);
}

static int established(pair *p)
{
    return pair_established(p);
}

/* The client's first Initial to the server, the Retry back to the client; returns the Retry length. */
static size_t first_retry(pair *p, uint8_t *retry, lwq_pkt_hdr *rh)
{
    uint8_t d[DG];
    ssize_t n = client_out(p, d);
    ck_assert_int_eq(n, 1200);
    ck_assert_ptr_null(server_in(p, &p->path, d, (size_t)n));
    ssize_t r = server_reply(p, retry);
    ck_assert_int_gt(r, 0);
    ck_assert_int_eq(lwq_pkt_hdr_decode(rh, retry, (size_t)r, 8), r);
    ck_assert_int_eq(rh->type, LWQ_PKT_RETRY);
    return (size_t)r;
}

START_TEST(test_retry_handshake_and_echo)
{
    pair p;
    rpair_start(&p, 11, 1);
    uint8_t retry[DG], d[DG];
    lwq_pkt_hdr rh;
    lwq_cid odcid = p.client->odcid;
    size_t rlen = first_retry(&p, retry, &rh);
    /* RFC 9001 §5.8: the tag is for the client's first DCID; the Retry goes to the client's SCID. */
    ck_assert_int_eq(lwq_retry_verify(&rh, retry, odcid.id, odcid.len), 0);
    ck_assert(lwq_cid_eq(&p.client->cids.local[0].cid, rh.dcid, rh.dcid_len));
    ck_assert(!lwq_cid_eq(&odcid, rh.scid, rh.scid_len));
    ck_assert_uint_eq(p.client->rec.spaces[LWQ_SPACE_INITIAL].next_pn, 1);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, retry, rlen, 0, p.now), 0);
    ck_assert(p.client->retried);
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), rh.scid, rh.scid_len));
    /* The second Initial: the Retry's SCID as DCID, its token, the next packet number
     * (RFC 9000 §17.2.5.2, §17.2.5.3), the ClientHello from offset 0 again. */
    ssize_t n = client_out(&p, d);
    ck_assert_int_eq(n, 1200);
    lwq_pkt_hdr h;
    ck_assert_int_gt(lwq_pkt_hdr_decode(&h, d, (size_t)n, 8), 0);
    ck_assert_int_eq(h.type, LWQ_PKT_INITIAL);
    ck_assert_uint_eq(h.dcid_len, rh.scid_len);
    ck_assert_mem_eq(h.dcid, rh.scid, h.dcid_len);
    ck_assert_uint_eq(h.token_len, rh.token_len);
    ck_assert_mem_eq(h.token, rh.token, h.token_len);
    uint8_t cs[32], ss[32], pkt[DG];
    lwq_quic_keys k;
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_VERSION_1, rh.scid, rh.scid_len, cs, ss), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&k, LWQ_VERSION_1, LWQ_SUITE_AES128GCM_SHA256, cs), 0);
    memcpy(pkt, d, (size_t)n);
    lwq_unprotected u;
    ck_assert_int_eq(lwq_packet_unprotect(&k, pkt, h.pkt_len, h.pn_offset, LWQ_PN_NONE, &u), 0);
    lwq_quic_keys_free(&k);
    ck_assert_uint_eq(u.pn, 1);
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    ck_assert_int_gt(lwq_frame_decode(&f, pkt + u.payload_off, u.payload_len), 0);
    ck_assert_uint_eq(f.type, LWQ_FRAME_CRYPTO);
    ck_assert_uint_eq(f.u.crypto.offset, 0);
    /* The token is accepted: a connection, its address validated (no 3x limit). */
    p.server = server_in(&p, &p.path, d, (size_t)n);
    ck_assert_ptr_nonnull(p.server);
    ck_assert(p.server->address_validated);
    ck_assert(p.server->retried);
    ck_assert(p.server->local_tp.has_retry_scid);
    ck_assert(lwq_cid_eq(&p.server->local_tp.retry_scid, rh.scid, rh.scid_len));
    ck_assert(lwq_cid_eq(&p.server->local_tp.original_dcid, odcid.id, odcid.len));
    echo e;
    echo_init(&e, &p, 3, 200000);
    ck_assert(pair_run(&p, echo_step, 30 * LWQ_SEC));
    echo_check(&e);
    ck_assert(lwq_conn_is_established(p.client));
    /* The client checked retry_source_connection_id (RFC 9000 §7.3). */
    ck_assert(p.client->peer_tp.has_retry_scid);
    ck_assert(lwq_cid_eq(&p.client->peer_tp.retry_scid, rh.scid, rh.scid_len));
    ck_assert_ptr_null(lwq_conn_check(p.client, p.now));
    ck_assert_ptr_null(lwq_conn_check(p.server, p.now));
    pair_free(&p);
}
END_TEST

START_TEST(test_retry_through_pair)
{
    for (int loss = 0; loss < 2; loss++) {
        pair p;
        rpair_start(&p, 20 + (uint64_t)loss, 1);
        if (loss)
            p.drop_s2c[0] = 1; /* the Retry: the client retransmits and gets another */
        ck_assert(pair_run(&p, established, 10 * LWQ_SEC));
        ck_assert(p.client->retried && p.server->retried);
        lwq_conn_stats st;
        lwq_conn_stats_get(p.client, &st);
        if (loss) {
            ck_assert_uint_eq(p.dropped, 1);
            ck_assert_uint_ge(st.handshake_time, 900 * LWQ_MS); /* one PTO at the default RTT */
        } else {
            ck_assert_uint_le(st.handshake_time, 80 * LWQ_MS); /* two round trips of 20 ms, and a bit */
        }
        pair_free(&p);
    }
}
END_TEST

/* A client's Initial with a token that arrives at a server (the test's), answered as expected. */
static uint64_t refused_code(pair *p)
{
    ck_assert(pair_run(p, NULL, 5 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p->client, LWQ_EV_CLOSED, &ev));
    return ev.close.code;
}

START_TEST(test_retry_token_refused)
{
    /* 0: expired, 1: another address, 2: another port, 3: another context, 4: forged */
    for (int kase = 0; kase < 5; kase++) {
        pair p;
        rpair_start(&p, 30 + (uint64_t)kase, 1);
        uint8_t retry[DG], d[DG];
        lwq_pkt_hdr rh;
        size_t rlen = first_retry(&p, retry, &rh);
        ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, retry, rlen, 0, p.now), 0);
        ssize_t n = client_out(&p, d);
        ck_assert_int_eq(n, 1200);
        lwq_path other = p.path;
        if (kase == 0)
            p.now += 10 * LWQ_SEC + 1;
        if (kase == 1)
            ((struct sockaddr_in *)&other.remote)->sin_addr.s_addr = htonl(0x7f000002);
        if (kase == 2)
            set_addr(&other, 5001);
        if (kase == 3) {
            lwq_server_del(p.srv);
            lwq_context_del(p.sctx);
            const char *why;
            ck_assert_int_eq(lwq_context_new(&p.sctx, &p.scfg, &why), 0);
            lwq_server_limits lim = {.retry = 1};
            ck_assert_int_eq(lwq_server_new(&p.srv, p.sctx, &lim), 0);
        }
        if (kase == 4) {
            lwq_pkt_hdr h;
            ck_assert_int_gt(lwq_pkt_hdr_decode(&h, d, (size_t)n, 8), 0);
            ((uint8_t *)h.token)[40] ^= 1; /* header bytes are not AEAD-protected by the packet */
        }
        ck_assert_ptr_null(server_in(&p, &other, d, (size_t)n));
        ssize_t r = server_reply(&p, retry);
        ck_assert_int_gt(r, 0);
        lwq_pkt_hdr h;
        ck_assert_int_gt(lwq_pkt_hdr_decode(&h, retry, (size_t)r, 8), 0);
        /* RFC 9000 §8.1.2: INVALID_TOKEN in a stateless Initial, readable with the client's keys. */
        ck_assert_int_eq(h.type, LWQ_PKT_INITIAL);
        ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, retry, (size_t)r, 0, p.now), 0);
        ck_assert_uint_eq(refused_code(&p), LWQ_QUIC_ERR_INVALID_TOKEN);
        ck_assert_ptr_null(p.server);
        pair_free(&p);
    }
}
END_TEST

START_TEST(test_retry_foreign_token_gets_retry)
{
    /* RFC 9000 §8.1.3: a token not in our format (another server's NEW_TOKEN) is no validation:
     * the server answers with a Retry, and the handshake then completes. */
    static const uint8_t foreign[] = "a token from somewhere else";
    pair p;
    rpair_start(&p, 40, 1);
    lwq_conn_del(p.client);
    ck_assert_int_eq(lwq_conn_client_new(&p.client, p.cctx, &p.path, NULL, 0, foreign, sizeof(foreign) - 1, p.now), 0);
    uint8_t retry[DG];
    lwq_pkt_hdr rh;
    first_retry(&p, retry, &rh);
    ck_assert_uint_gt(rh.token_len, sizeof(foreign));
    pair_enqueue(&p, 0, retry, rh.pkt_len);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    /* A forged token in our format: INVALID_TOKEN, never a connection. */
    uint8_t forged[110];
    memset(forged, 0x33, sizeof(forged));
    forged[0] = 0x52;
    lwq_conn_del(p.client);
    p.server = NULL;
    p.server_gone = 1;
    p.nq = 0;
    ck_assert_int_eq(lwq_conn_client_new(&p.client, p.cctx, &p.path, NULL, 0, forged, sizeof(forged), p.now), 0);
    ck_assert_uint_eq(refused_code(&p), LWQ_QUIC_ERR_INVALID_TOKEN);
    pair_free(&p);
}
END_TEST

/* A Retry made by the test for the client's first DCID. */
static size_t make_retry(const lwq_conn *client, uint8_t *out, const uint8_t *scid, size_t scid_len,
                         const uint8_t *token, size_t token_len)
{
    const lwq_cid *me = &client->cids.local[0].cid;
    ssize_t r = lwq_retry_encode(out, DG, LWQ_VERSION_1, me->id, me->len, scid, scid_len, token, token_len,
                                 client->odcid.id, client->odcid.len, 0);
    ck_assert_int_gt(r, 0);
    return (size_t)r;
}

START_TEST(test_retry_ignored)
{
    static const uint8_t scid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, scid2[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    static const uint8_t tok[] = "tok";
    pair p;
    rpair_start(&p, 50, 0);
    uint8_t d[DG], r[DG];
    ck_assert_int_eq(client_out(&p, d), 1200);
    lwq_cid dcid0 = *lwq_cids_dcid(p.client);
    /* A bad tag (RFC 9001 §5.8). */
    size_t n = make_retry(p.client, r, scid, 8, tok, 3);
    r[n - 1] ^= 0x80;
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    /* The SCID equal to the DCID we sent (RFC 9000 §17.2.5.1). */
    n = make_retry(p.client, r, p.client->odcid.id, p.client->odcid.len, tok, 3);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    /* An empty token (RFC 9000 §17.2.5.2): the encoder refuses one, so by hand. */
    const lwq_cid *me = &p.client->cids.local[0].cid;
    ck_assert_int_lt(lwq_retry_encode(r, DG, LWQ_VERSION_1, me->id, me->len, scid, 8, NULL, 0, dcid0.id, dcid0.len, 0),
                     0);
    n = 0;
    r[n++] = 0xf0;
    lwq_put32(r + n, LWQ_VERSION_1);
    n += 4;
    r[n++] = me->len;
    memcpy(r + n, me->id, me->len);
    n += me->len;
    r[n++] = 8;
    memcpy(r + n, scid, 8);
    n += 8;
    memset(r + n, 0x5a, LWQ_RETRY_TAG_LEN);
    n += LWQ_RETRY_TAG_LEN;
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    ck_assert(!p.client->retried);
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), dcid0.id, dcid0.len));
    ck_assert_uint_eq(p.client->stats.packets_dropped, 3);
    /* A valid one is taken; a second valid one is not. */
    n = make_retry(p.client, r, scid, 8, tok, 3);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    ck_assert(p.client->retried);
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), scid, 8));
    n = make_retry(p.client, r, scid2, 8, tok, 3);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), scid, 8));
    ck_assert(lwq_cid_eq(&p.client->retry_scid, scid, 8));
    ck_assert_uint_eq(p.client->token_len, 3);
    pair_free(&p);
}
END_TEST

START_TEST(test_retry_after_handshake_packet_ignored)
{
    static const uint8_t scid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pair p;
    rpair_start(&p, 60, 0);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    uint8_t r[DG];
    lwq_cid dcid = *lwq_cids_dcid(p.client);
    size_t n = make_retry(p.client, r, scid, 8, (const uint8_t *)"t", 1);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, n, 0, p.now), 0);
    ck_assert(!p.client->retried);
    ck_assert(lwq_cid_eq(lwq_cids_dcid(p.client), dcid.id, dcid.len));
    ck_assert(lwq_conn_is_established(p.client));
    pair_free(&p);
}
END_TEST

START_TEST(test_retry_tparams_mismatch)
{
    /* A Retry the server never sent: its transport parameters lack retry_source_connection_id and
     * name another original DCID, so the client closes (RFC 9000 §7.3). */
    static const uint8_t scid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pair p;
    rpair_start(&p, 70, 0);
    uint8_t d[DG], r[DG];
    ssize_t n = client_out(&p, d);
    ck_assert_int_eq(n, 1200);
    size_t rn = make_retry(p.client, r, scid, 8, (const uint8_t *)"tok", 3);
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, r, rn, 0, p.now), 0);
    ck_assert(p.client->retried);
    ck_assert(!pair_run(&p, established, 5 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR);
    ck_assert(!ev.close.by_peer);
    pair_free(&p);
}
END_TEST

START_TEST(test_retry_recovery_reset)
{
    /* RFC 9002 §6.3: nothing of the first Initial stays in flight; the time to the Retry becomes
     * the RTT estimate when the Initial was not retransmitted. */
    pair p;
    rpair_start(&p, 80, 1);
    uint8_t retry[DG];
    lwq_pkt_hdr rh;
    size_t rlen = first_retry(&p, retry, &rh);
    ck_assert_uint_gt(p.client->rec.cc.bytes_in_flight, 0);
    p.now += 30 * LWQ_MS;
    ck_assert_int_eq(lwq_conn_recv(p.client, &p.path, retry, rlen, 0, p.now), 0);
    ck_assert_uint_eq(p.client->rec.cc.bytes_in_flight, 0);
    ck_assert_uint_eq(p.client->rec.spaces[LWQ_SPACE_INITIAL].count, 0);
    ck_assert_uint_eq(p.client->rec.spaces[LWQ_SPACE_INITIAL].next_pn, 1);
    ck_assert_uint_eq(p.client->rec.rtt.smoothed, 30 * LWQ_MS);
    ck_assert_ptr_null(lwq_conn_check(p.client, p.now));
    pair_free(&p);
}
END_TEST

START_TEST(test_retry_v2_initial)
{
    /* The Retry answers in the version of the Initial, its tag keyed for that version
     * (RFC 9369 §3.3.3); the header alone decides, so a v2 Initial with any payload will do. */
    static const uint8_t dcid[8] = {0xd0, 1, 2, 3, 4, 5, 6, 7}, scid[5] = {0x5c, 1, 2, 3, 4};
    pair p;
    rpair_start(&p, 90, 1);
    p.sctx->cfg.accept_v2 = 1; /* without it a v2 Initial gets Version Negotiation (test_conn_v2.c) */
    uint8_t d[1200], r[DG];
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    ho.type = LWQ_PKT_INITIAL;
    ho.version = LWQ_VERSION_2;
    ho.dcid = dcid;
    ho.dcid_len = 8;
    ho.scid = scid;
    ho.scid_len = 5;
    ho.pn_len = 2;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ho.payload_len = sizeof(d) - LWQ_AEAD_TAG_LEN - lwq_pkt_hdr_encoded_len(&ho);
    ssize_t hl = lwq_pkt_hdr_encode(d, sizeof(d), &ho);
    ck_assert_int_gt(hl, 0);
    memset(d + hl, 0x11, sizeof(d) - (size_t)hl);
    ck_assert_ptr_null(server_in(&p, &p.path, d, sizeof(d)));
    ssize_t n = server_reply(&p, r);
    ck_assert_int_gt(n, 0);
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, r, (size_t)n, 8), n);
    ck_assert_int_eq(h.type, LWQ_PKT_RETRY);
    ck_assert_uint_eq(h.version, LWQ_VERSION_2);
    ck_assert_uint_eq(h.dcid_len, 5);
    ck_assert_mem_eq(h.dcid, scid, 5);
    ck_assert_int_eq(lwq_retry_verify(&h, r, dcid, 8), 0);
    h.version = LWQ_VERSION_1;
    ck_assert_int_eq(lwq_retry_verify(&h, r, dcid, 8), LWQ_ERR_DECRYPT);
    /* Its token, replayed in a v1 Initial to the Retry's SCID, is refused: the version is bound. */
    uint8_t tok[DG];
    size_t tlen = h.token_len;
    memcpy(tok, h.token, tlen);
    uint8_t rscid[LWQ_CID_MAX];
    size_t rlen = h.scid_len;
    memcpy(rscid, h.scid, rlen);
    ho.version = LWQ_VERSION_1;
    ho.dcid = rscid;
    ho.dcid_len = rlen;
    ho.token = tok;
    ho.token_len = tlen;
    ho.payload_len = sizeof(d) - LWQ_AEAD_TAG_LEN - lwq_pkt_hdr_encoded_len(&ho);
    hl = lwq_pkt_hdr_encode(d, sizeof(d), &ho);
    ck_assert_int_gt(hl, 0);
    ck_assert_ptr_null(server_in(&p, &p.path, d, sizeof(d)));
    n = server_reply(&p, r);
    ck_assert_int_gt(n, 0);
    ck_assert_int_gt(lwq_pkt_hdr_decode(&h, r, (size_t)n, 8), 0);
    ck_assert_int_eq(h.type, LWQ_PKT_INITIAL); /* the INVALID_TOKEN close */
    pair_free(&p);
}
END_TEST

Suite *suite_conn_retry(void)
{
    Suite *s = suite_create("conn_retry");
    TCase *tc = lwq_test_tcase("retry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_retry_handshake_and_echo);
    tcase_add_test(tc, test_retry_through_pair);
    tcase_add_test(tc, test_retry_token_refused);
    tcase_add_test(tc, test_retry_foreign_token_gets_retry);
    tcase_add_test(tc, test_retry_ignored);
    tcase_add_test(tc, test_retry_after_handshake_packet_ignored);
    tcase_add_test(tc, test_retry_tparams_mismatch);
    tcase_add_test(tc, test_retry_recovery_reset);
    tcase_add_test(tc, test_retry_v2_initial);
    suite_add_tcase(s, tc);
    return s;
}
