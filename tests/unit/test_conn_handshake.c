#include <stdio.h>
#include "conn_pair.h"
#include "quic/conn.h"
#include "quic/packet.h"
#include "base/mem.h"
#include "quic/frame.h"
#include "quic/protect.h"

static int both_done(pair *p)
{
    return pair_established(p);
}

static void check_confirmed(lwq_conn *c)
{
    ck_assert(c->handshake_confirmed);
    ck_assert(c->sp[LWQ_SPACE_INITIAL].discarded);
    ck_assert(c->sp[LWQ_SPACE_HANDSHAKE].discarded);
    ck_assert(!c->sp[LWQ_SPACE_INITIAL].has_rk && !c->sp[LWQ_SPACE_HANDSHAKE].has_wk);
    ck_assert(c->rec.discarded[LWQ_SPACE_INITIAL] && c->rec.discarded[LWQ_SPACE_HANDSHAKE]);
    ck_assert(c->sp[LWQ_SPACE_APP].has_rk && c->sp[LWQ_SPACE_APP].has_wk);
}

START_TEST(test_handshake_completes)
{
    pair p;
    pair_init(&p, 1);
    pair_start(&p);
    /* The client's first datagram is a padded Initial (RFC 9000 §14.1). */
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    ssize_t n = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_eq(n, 1200);
    lwq_pkt_hdr h;
    ck_assert_int_gt(lwq_pkt_hdr_decode(&h, buf, (size_t)n, 8), 0);
    ck_assert_int_eq(h.type, LWQ_PKT_INITIAL);
    ck_assert_uint_eq(h.version, LWQ_VERSION_1);
    ck_assert_uint_eq(h.dcid_len, 8);
    pair_enqueue(&p, 1, buf, (size_t)n);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    /* Let HANDSHAKE_DONE arrive and the acknowledgements settle. */
    pair_run(&p, NULL, 200 * LWQ_MS);
    ck_assert_str_eq(lwq_conn_alpn(p.client), "test");
    ck_assert_str_eq(lwq_conn_alpn(p.server), "test");
    ck_assert_ptr_nonnull(lwq_conn_cipher(p.client));
    ck_assert(lwq_tls_handshake_complete(p.client->tls));
    ck_assert_ptr_nonnull(lwq_tls_peer_chain(p.client->tls));
    check_confirmed(p.client);
    check_confirmed(p.server);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_HANDSHAKE_DONE, &ev));
    ck_assert(pair_find_event(p.server, LWQ_EV_HANDSHAKE_DONE, &ev));
    lwq_conn_stats st;
    lwq_conn_stats_get(p.client, &st);
    ck_assert_uint_gt(st.smoothed_rtt, 0);
    /* Nothing lost on the way: every coalesced packet was readable and read. */
    ck_assert_uint_eq(st.packets_dropped, 0);
    ck_assert_uint_eq(p.server->stats.packets_dropped, 0);
    ck_assert_uint_eq(st.packets_lost, 0);
    /* 2 x 10 ms one-way delay: the RTT estimate is near 20 ms. */
    ck_assert_uint_ge(st.min_rtt, 20 * LWQ_MS);
    ck_assert_uint_le(st.min_rtt, 30 * LWQ_MS);
    /* One round trip for the handshake plus one for the server to learn the Finished. */
    ck_assert_uint_le(st.handshake_time, 50 * LWQ_MS);
    pair_free(&p);
}
END_TEST

static int client_closed(pair *p)
{
    return lwq_conn_is_closed(p->client);
}

START_TEST(test_handshake_unknown_ca_fails)
{
    pair p;
    pair_init(&p, 2);
    static char other[1024];
    strcpy(other, lwq_test_data_path("certs/other-ca.pem"));
    p.ccfg.ca_file = other;
    pair_start(&p);
    ck_assert(pair_run(&p, client_closed, 10 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert(!ev.close.by_peer && !ev.close.is_app);
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_CRYPTO(LWQ_TLS_ALERT_UNKNOWN_CA));
    ck_assert_uint_eq(ev.close.frame_type, 0x06);
    ck_assert(!pair_established(&p));
    /* The server saw the alert in a CONNECTION_CLOSE. */
    ck_assert_ptr_nonnull(p.server);
    ck_assert(pair_find_event(p.server, LWQ_EV_CLOSED, &ev));
    ck_assert(ev.close.by_peer);
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_CRYPTO(LWQ_TLS_ALERT_UNKNOWN_CA));
    pair_free(&p);
}
END_TEST

START_TEST(test_handshake_name_mismatch_fails)
{
    pair p;
    pair_init(&p, 3);
    p.ccfg.server_name = "example.org";
    pair_start(&p);
    ck_assert(pair_run(&p, client_closed, 10 * LWQ_SEC));
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_ge(ev.close.code, LWQ_QUIC_ERR_CRYPTO_ERROR);
    ck_assert_uint_le(ev.close.code, LWQ_QUIC_ERR_CRYPTO_ERROR_LAST);
    ck_assert(!pair_established(&p));
    pair_free(&p);
}
END_TEST

/* RFC 9002 §6.2: each datagram of the handshake dropped in turn, in each direction. */
START_TEST(test_handshake_flight_dropped)
{
    for (unsigned k = 1; k <= 5; k++)
        for (int dir = 0; dir < 2; dir++) {
            pair p;
            pair_init(&p, 100 + k * 2 + (unsigned)dir);
            if (dir)
                p.drop_s2c[0] = k;
            else
                p.drop_c2s[0] = k;
            pair_start(&p);
            ck_assert_msg(pair_run(&p, both_done, 10 * LWQ_SEC), "drop %u dir %d", k, dir);
            pair_run(&p, NULL, 2 * LWQ_SEC);
            check_confirmed(p.client);
            check_confirmed(p.server);
            ck_assert(!lwq_conn_is_closed(p.client) && !lwq_conn_is_closed(p.server));
            pair_free(&p);
        }
}
END_TEST

START_TEST(test_handshake_every_flight_dropped_twice)
{
    pair p;
    pair_init(&p, 7);
    p.drop_c2s[0] = 1;
    p.drop_c2s[1] = 2;
    p.drop_s2c[0] = 1;
    p.drop_s2c[1] = 2;
    p.drop_s2c[2] = 3;
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 20 * LWQ_SEC));
    pair_free(&p);
}
END_TEST

START_TEST(test_server_version_negotiation)
{
    pair p;
    pair_init(&p, 4);
    pair_start(&p);
    uint8_t d[1200];
    memset(d, 0, sizeof(d));
    d[0] = 0xc0;
    lwq_put32(d + 1, 0x1a2a3a4a); /* a GREASE version */
    d[5] = 8;
    memset(d + 6, 0x11, 8);
    d[14] = 4;
    memset(d + 15, 0x22, 4);
    lwq_conn *c = NULL;
    int created = 1;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, sizeof(d), 0, p.now, &c, &created), 0);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(created, 0);
    uint8_t out[1500];
    lwq_path path;
    ssize_t n = lwq_server_send(p.srv, &path, out, sizeof(out), p.now);
    ck_assert_int_gt(n, 0);
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, out, (size_t)n, 8), n);
    ck_assert_int_eq(h.type, LWQ_PKT_VN);
    ck_assert_uint_eq(h.dcid_len, 4); /* the client's SCID echoed */
    ck_assert_uint_eq(h.dcid[0], 0x22);
    ck_assert_uint_eq(h.scid_len, 8);
    ck_assert_uint_eq(h.n_versions, 1);
    ck_assert_uint_eq(lwq_vn_version(&h, 0), LWQ_VERSION_1);
    ck_assert_int_eq(lwq_server_send(p.srv, &path, out, sizeof(out), p.now), 0);
    /* Too small for a VN answer (RFC 9000 §14.1). */
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, 1199, 0, p.now, &c, &created), 0);
    ck_assert_int_eq(lwq_server_send(p.srv, &path, out, sizeof(out), p.now), 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_server_ignores_short_initial)
{
    pair p;
    pair_init(&p, 5);
    pair_start(&p);
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    ssize_t n = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_eq(n, 1200);
    lwq_pkt_hdr h;
    ck_assert_int_gt(lwq_pkt_hdr_decode(&h, buf, (size_t)n, 8), 0);
    lwq_conn *c = NULL;
    int created = 0;
    /* The same Initial in a datagram cut below 1200 bytes creates nothing. */
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, buf, 1199, 0, p.now, &c, &created), 0);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, buf, (size_t)n, 0, p.now, &c, &created), 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(created, 1);
    /* The retransmitted Initial routes to the same connection by its original DCID. */
    lwq_conn *c2 = NULL;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, buf, (size_t)n, 0, p.now, &c2, &created), 0);
    ck_assert_ptr_eq(c, c2);
    ck_assert_int_eq(created, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_server_handshake_cap)
{
    pair p;
    pair_init(&p, 6);
    pair_start(&p);
    lwq_server_del(p.srv);
    lwq_server_limits lim = {.max_connections = 10, .max_handshakes = 2, .retry_above = 2}; /* no Retry: the hard cap */
    ck_assert_int_eq(lwq_server_new(&p.srv, p.sctx, &lim), 0);
    int made = 0;
    for (int i = 0; i < 4; i++) {
        lwq_conn *cl;
        ck_assert_int_eq(lwq_conn_client_new(&cl, p.cctx, &p.path, NULL, 0, NULL, 0, p.now), 0);
        uint8_t buf[1500];
        size_t seg;
        uint8_t ecn;
        lwq_path path;
        ssize_t n = lwq_conn_send(cl, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
        lwq_conn *c = NULL;
        int created = 0;
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, buf, (size_t)n, 0, p.now, &c, &created), 0);
        made += created;
        lwq_conn_del(cl);
    }
    ck_assert_int_eq(made, 2);
    pair_free(&p);
}
END_TEST

START_TEST(test_config_rejects_bad_settings)
{
    lwq_config cfg;
    lwq_context *ctx;
    const char *why = NULL;
    lwq_config_init(&cfg, 1);
    cfg.alloc = lwq_test_alloc;
    cfg.alpn = pair_alpn;
    cfg.alpn_count = 1;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), LWQ_ERR_INVAL);
    ck_assert_ptr_nonnull(why);
    cfg.cert_file = "/nonexistent.pem";
    cfg.key_file = "/nonexistent.key";
    ck_assert_int_lt(lwq_context_new(&ctx, &cfg, &why), 0);
    ck_assert_ptr_null(ctx);
    lwq_config_init(&cfg, 0);
    cfg.alloc = lwq_test_alloc;
    cfg.alpn = pair_alpn;
    cfg.alpn_count = 1;
    cfg.active_connection_id_limit = 1;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), LWQ_ERR_INVAL);
}
END_TEST

/* Every allocation of a client handshake failing in turn unwinds cleanly (the fixture checks leaks). */
START_TEST(test_handshake_alloc_failures)
{
    int completed = 0;
    for (size_t k = 1; k < 400 && !completed; k += 3) {
        pair p;
        pair_init(&p, 9);
        pair_start(&p);
        lwq_test_alloc_fail_at(k);
        /* Failures surface as a closed connection or an error return, never a crash. */
        for (int i = 0; i < 200 && !pair_established(&p) && !lwq_conn_is_closed(p.client); i++) {
            uint8_t buf[1500];
            size_t seg;
            uint8_t ecn;
            lwq_path path;
            ssize_t n;
            while ((n = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0)
                pair_enqueue(&p, 1, buf, (size_t)n);
            while (p.server && (n = lwq_conn_send(p.server, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0)
                pair_enqueue(&p, 0, buf, (size_t)n);
            lwq_tstamp t = pair_next(&p);
            if (t == LWQ_TSTAMP_INF)
                break;
            p.now = t > p.now ? t : p.now;
            for (size_t j = 0; j < p.nq;) {
                pair_dgram d = p.q[j];
                if (d.at > p.now) {
                    j++;
                    continue;
                }
                p.q[j] = p.q[--p.nq];
                if (d.to_server) {
                    lwq_conn *c = NULL;
                    if (lwq_server_recv(p.srv, &p.path, d.data, d.len, 0, p.now, &c, NULL) == 0 && c && !p.server)
                        p.server = c;
                } else {
                    lwq_conn_recv(p.client, &p.path, d.data, d.len, 0, p.now);
                }
            }
            lwq_conn_handle_timeout(p.client, p.now);
            if (p.server)
                lwq_conn_handle_timeout(p.server, p.now);
        }
        completed = pair_established(&p) && lwq_test_alloc_count() > 0 && k > 300;
        lwq_test_alloc_fail_at(0);
        pair_free(&p);
    }
}
END_TEST

/* The server's NewSessionTicket travels in 1-RTT CRYPTO frames; the blob resumes a session. */
START_TEST(test_session_ticket_resumption)
{
    pair p;
    pair_init(&p, 21);
    pair_start(&p);
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_run(&p, NULL, 300 * LWQ_MS);
    lwq_event ev;
    ck_assert(pair_find_event(p.client, LWQ_EV_SESSION_TICKET, &ev));
    ck_assert_uint_gt(ev.len, 0);
    uint8_t *blob = malloc(ev.len);
    size_t blob_len = ev.len;
    memcpy(blob, ev.data, ev.len);
    ck_assert(!lwq_tls_resumed(p.client->tls));
    /* A second connection on the same contexts resumes. */
    lwq_conn *first_client = p.client;
    lwq_server_remove(p.srv, p.server);
    p.server = NULL;
    ck_assert_int_eq(lwq_conn_client_new(&p.client, p.cctx, &p.path, blob, blob_len, NULL, 0, p.now), 0);
    lwq_conn_del(first_client);
    p.nq = 0;
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    ck_assert(lwq_tls_resumed(p.client->tls));
    ck_assert(lwq_tls_resumed(p.server->tls));
    ck_assert_ptr_null(lwq_tls_peer_chain(p.client->tls)); /* no certificate on resumption */
    free(blob);
    pair_free(&p);
}
END_TEST

/* RFC 9000 §6.2: a Version Negotiation packet without our version ends the attempt; one listing
 * it, or not addressed to us, is ignored. */
START_TEST(test_client_version_negotiation)
{
    pair p;
    pair_init(&p, 22);
    pair_start(&p);
    lwq_conn *c = p.client;
    const lwq_cid *scid = &c->cids.local[0].cid;
    uint8_t vn[128];
    uint32_t ours[] = {0x1a2a3a4a, LWQ_VERSION_1}, other[] = {0x1a2a3a4a, 0xff00001d};
    ssize_t n = lwq_vn_encode(vn, sizeof(vn), scid->id, scid->len, c->odcid.id, c->odcid.len, ours, 2, 0x11);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(lwq_conn_recv(c, &p.path, vn, (size_t)n, 0, p.now), 0);
    ck_assert(!lwq_conn_is_closed(c));
    n = lwq_vn_encode(vn, sizeof(vn), c->odcid.id, c->odcid.len, scid->id, scid->len, other, 2, 0x11);
    ck_assert_int_eq(lwq_conn_recv(c, &p.path, vn, (size_t)n, 0, p.now), 0);
    ck_assert(!lwq_conn_is_closed(c)); /* CIDs swapped the wrong way round */
    n = lwq_vn_encode(vn, sizeof(vn), scid->id, scid->len, c->odcid.id, c->odcid.len, other, 2, 0x11);
    ck_assert_int_eq(lwq_conn_recv(c, &p.path, vn, (size_t)n, 0, p.now), 0);
    ck_assert(lwq_conn_is_closed(c));
    lwq_event ev;
    ck_assert(pair_find_event(c, LWQ_EV_CLOSED, &ev));
    ck_assert_uint_eq(ev.close.code, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR);
    ck_assert(ev.close.by_peer);
    ck_assert_int_eq(lwq_conn_recv(c, &p.path, vn, (size_t)n, 0, p.now), LWQ_ERR_CLOSED);
    pair_free(&p);
}
END_TEST

/* RFC 9001 §5.7: 1-RTT packets reaching the server before the client's Finished are not read. */
START_TEST(test_server_ignores_early_1rtt)
{
    pair p;
    pair_init(&p, 23);
    pair_start(&p);
    pair_flush(&p);
    p.now += p.delay;
    pair_deliver(&p); /* ClientHello */
    ck_assert_ptr_nonnull(p.server);
    pair_flush(&p);
    p.now += p.delay;
    pair_deliver(&p); /* the server's flight */
    lwq_conn *cl = p.client;
    ck_assert(cl->handshake_complete);
    ck_assert(!p.server->handshake_complete);
    uint8_t pkt[1500], payload[40];
    memset(payload, 0, sizeof(payload));
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream.data = (const uint8_t *)"early";
    f.u.stream.len = 5;
    f.u.stream.has_len = 1;
    ck_assert_int_gt(lwq_frame_encode(payload, sizeof(payload), &f), 0);
    const lwq_cid *dcid = lwq_cids_dcid(cl);
    lwq_pkt_hdr_out ho = {.type = LWQ_PKT_1RTT,
                          .dcid = dcid->id,
                          .dcid_len = dcid->len,
                          .pn = cl->rec.spaces[LWQ_SPACE_APP].next_pn++,
                          .pn_len = 4,
                          .payload_len = sizeof(payload),
                          .tag_len = 16};
    ssize_t h = lwq_pkt_hdr_encode(pkt, sizeof(pkt), &ho);
    memcpy(pkt + h, payload, sizeof(payload));
    ssize_t n = lwq_packet_protect(&cl->sp[LWQ_SPACE_APP].wk, ho.pn, pkt, (size_t)h, sizeof(payload), sizeof(pkt));
    ck_assert_int_gt(n, 0);
    uint64_t dropped = p.server->stats.packets_dropped;
    ck_assert_int_eq(lwq_conn_recv(p.server, &p.path, pkt, (size_t)n, 0, p.now), 0);
    ck_assert_uint_eq(p.server->stats.packets_dropped, dropped + 1);
    lwq_event ev;
    ck_assert(!pair_find_event(p.server, LWQ_EV_STREAM_OPENED, &ev));
    ck_assert_ptr_null(lwq_stream_find(p.server, 0));
    ck_assert(pair_run(&p, both_done, 5 * LWQ_SEC));
    pair_free(&p);
}
END_TEST

static size_t initial_pkt(lwq_conn *cl, uint64_t pn, const uint8_t *frames, size_t flen, uint8_t *out, size_t cap)
{
    uint8_t payload[1200];
    memset(payload, 0, sizeof(payload));
    memcpy(payload, frames, flen);
    lwq_pkt_hdr_out ho = {.type = LWQ_PKT_INITIAL,
                          .version = LWQ_VERSION_1,
                          .dcid = cl->odcid.id,
                          .dcid_len = cl->odcid.len,
                          .scid = cl->cids.local[0].cid.id,
                          .scid_len = cl->cids.local[0].cid.len,
                          .pn = pn,
                          .pn_len = 2,
                          .payload_len = 1160,
                          .tag_len = 16};
    ssize_t h = lwq_pkt_hdr_encode(out, cap, &ho);
    ck_assert_int_gt(h, 0);
    memcpy(out + h, payload, 1160);
    ssize_t n = lwq_packet_protect(&cl->sp[LWQ_SPACE_INITIAL].wk, pn, out, (size_t)h, 1160, cap);
    ck_assert_int_ge(n, 1200);
    return (size_t)n;
}

/* The ClientHello's tail arrives first; its head, in a later datagram, is followed by more frames
 * that must still be read as they were sent (CRYPTO reassembly must not reuse the datagram). */
START_TEST(test_crypto_reassembly_keeps_datagram)
{
    pair p;
    pair_init(&p, 24);
    pair_start(&p);
    lwq_conn *cl = p.client;
    size_t chlen = (size_t)cl->sp[LWQ_SPACE_INITIAL].ctx.write_off;
    ck_assert_uint_gt(chlen, 100);
    uint8_t ch[2048], fr[1200], pkt[1500];
    lwq_sendbuf_copy(&cl->sp[LWQ_SPACE_INITIAL].ctx, 0, ch, chlen);
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_CRYPTO;
    f.u.crypto.offset = 10;
    f.u.crypto.data = ch + 10;
    f.u.crypto.len = chlen - 10;
    ssize_t k = lwq_frame_encode(fr, sizeof(fr), &f);
    ck_assert_int_gt(k, 0);
    size_t n = initial_pkt(cl, 0, fr, (size_t)k, pkt, sizeof(pkt));
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, pkt, n, 0, p.now, &c, NULL), 0);
    ck_assert_ptr_nonnull(c);
    p.server = c;
    f.u.crypto.offset = 0;
    f.u.crypto.data = ch;
    f.u.crypto.len = 10;
    k = lwq_frame_encode(fr, sizeof(fr), &f);
    size_t flen = (size_t)k;
    for (int i = 0; i < 20; i++)
        fr[flen++] = LWQ_FRAME_PING; /* frames after the CRYPTO one */
    n = initial_pkt(cl, 1, fr, flen, pkt, sizeof(pkt));
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, pkt, n, 0, p.now, &c, NULL), 0);
    ck_assert_int_lt(c->state, LWQ_CONN_CLOSING);
    ck_assert_int_eq(c->sp[LWQ_SPACE_INITIAL].ack_pending, 1);
    /* The server answered the complete ClientHello. */
    ck_assert(c->sp[LWQ_SPACE_HANDSHAKE].has_wk);
    pair_free(&p);
}
END_TEST

/* Twenty clients at once through one server: demultiplexing by CID (the routing table grows past
 * its first size), each connection gets its own data back. */
START_TEST(test_many_clients_one_server)
{
    enum { N = 20 };
    pair p;
    pair_init(&p, 26);
    pair_start(&p);
    lwq_conn *cl[N], *sv[N];
    memset(sv, 0, sizeof(sv));
    cl[0] = p.client;
    for (int i = 1; i < N; i++)
        ck_assert_int_eq(lwq_conn_client_new(&cl[i], p.cctx, &p.path, NULL, 0, NULL, 0, p.now), 0);
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    lwq_path path;
    int64_t sid[N];
    int opened[N], got[N];
    memset(opened, 0, sizeof(opened));
    memset(got, 0, sizeof(got));
    for (int round = 0; round < 400; round++) {
        int done = 1;
        for (int i = 0; i < N; i++) {
            ssize_t n;
            while ((n = lwq_conn_send(cl[i], &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0) {
                lwq_conn *c = NULL;
                int created = 0;
                ck_assert_int_eq(lwq_server_recv(p.srv, &path, buf, (size_t)n, 0, p.now, &c, &created), 0);
                if (created)
                    sv[i] = c;
                ck_assert(c == sv[i]);
            }
            while (sv[i] && (n = lwq_conn_send(sv[i], &path, buf, sizeof(buf), 1, &seg, &ecn, p.now)) > 0)
                ck_assert_int_eq(lwq_conn_recv(cl[i], &path, buf, (size_t)n, 0, p.now), 0);
            if (lwq_conn_is_established(cl[i]) && !opened[i]) {
                ck_assert_int_eq(lwq_stream_open(cl[i], 1, &sid[i]), 0);
                uint8_t msg[32];
                int len = snprintf((char *)msg, sizeof(msg), "client %d", i);
                ck_assert_int_eq(lwq_stream_write(cl[i], sid[i], msg, (size_t)len, 1), len);
                opened[i] = 1;
            }
            if (sv[i] && opened[i] && !got[i]) {
                int fin = 0;
                ssize_t r = lwq_stream_read(sv[i], sid[i], buf, sizeof(buf), &fin);
                if (r > 0) {
                    char want[32];
                    snprintf(want, sizeof(want), "client %d", i);
                    ck_assert_int_eq(r, (ssize_t)strlen(want));
                    ck_assert_mem_eq(buf, want, (size_t)r);
                    ck_assert(fin);
                    got[i] = 1;
                }
            }
            done &= got[i];
        }
        if (done)
            break;
        p.now += LWQ_MS;
        for (int i = 0; i < N; i++) {
            lwq_conn_handle_timeout(cl[i], p.now);
            if (sv[i])
                lwq_conn_handle_timeout(sv[i], p.now);
        }
    }
    for (int i = 0; i < N; i++) {
        ck_assert_msg(got[i], "client %d", i);
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(sv[i], sv[j]);
    }
    for (int i = 1; i < N; i++)
        lwq_conn_del(cl[i]);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_handshake(void)
{
    Suite *s = suite_create("conn_handshake");
    TCase *tc = lwq_test_tcase("handshake");
    tcase_add_test(tc, test_handshake_completes);
    tcase_add_test(tc, test_handshake_unknown_ca_fails);
    tcase_add_test(tc, test_handshake_name_mismatch_fails);
    tcase_add_test(tc, test_handshake_flight_dropped);
    tcase_add_test(tc, test_handshake_every_flight_dropped_twice);
    tcase_add_test(tc, test_server_version_negotiation);
    tcase_add_test(tc, test_server_ignores_short_initial);
    tcase_add_test(tc, test_server_handshake_cap);
    tcase_add_test(tc, test_config_rejects_bad_settings);
    tcase_add_test(tc, test_handshake_alloc_failures);
    tcase_add_test(tc, test_session_ticket_resumption);
    tcase_add_test(tc, test_client_version_negotiation);
    tcase_add_test(tc, test_server_ignores_early_1rtt);
    tcase_add_test(tc, test_crypto_reassembly_keeps_datagram);
    tcase_add_test(tc, test_many_clients_one_server);
    suite_add_tcase(s, tc);
    return s;
}
