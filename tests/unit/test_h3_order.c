/* The order in which an HTTP/3 server's stream data leaves, read off the wire: with null packet
 * protection every server datagram is decoded in order as a client would, and no response field
 * section may arrive before the QPACK encoder-stream insert it references (RFC 9204 §2.1.2), nor
 * before the server's SETTINGS. The client asks for ten files with its Finished, as ngtcp2 does, so
 * the server's request streams exist before its control and QPACK streams. */
#include <stdio.h>
#include <string.h>
#include "conn_pair.h"
#include "h3/conn_int.h"
#include "quic/conn_null.h"
#include "quic/frame.h"
#include "quic/packet.h"
#include "lwquic/h3.h"

#define NREQ 10
#define BODY 32
#define WST 32

typedef struct wire_stream {
    uint64_t id, off;
    int type; /* uni: the stream type byte, -1 before it; bidi: 0 */
    lwq_h3_parser ps;
} wire_stream;

/* What a client decoding the server's datagrams in order sees. */
typedef struct wire {
    lwq_qpack_decoder *dec;
    wire_stream st[WST];
    size_t nst;
    int settings;                  /* the control stream has begun (SETTINGS is its first frame) */
    size_t sections, dyn, blocked; /* HEADERS seen, those referencing the table, those blocked */
    size_t before_settings;        /* HEADERS seen before the control stream began */
} wire;

typedef struct ord {
    pair p;
    lwq_h3 *c, *s;
    int64_t req[NREQ], ended[NREQ];
    size_t nreq, nended, answered;
    int resp[NREQ];
    size_t body[NREQ];
    int done[NREQ];
    int late_inserts; /* the server's encoder stream sent last, as before RFC 9204 §2.1.2 was heeded */
    wire w;
} ord;

static ord *cur;

static wire_stream *wire_stream_of(wire *w, uint64_t id)
{
    for (size_t i = 0; i < w->nst; i++)
        if (w->st[i].id == id)
            return &w->st[i];
    ck_assert_uint_lt(w->nst, WST);
    wire_stream *s = &w->st[w->nst++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->type = id & 2 ? -1 : 0;
    lwq_h3_parser_init(&s->ps, lwq_test_alloc, LWQ_H3_ON_REQUEST, 0, 65536, 65536);
    return s;
}

static void wire_request_bytes(wire *w, wire_stream *s, const uint8_t *p, size_t n)
{
    while (n) {
        lwq_h3_pframe f;
        ssize_t k = lwq_h3_parser_feed(&s->ps, p, n, &f);
        ck_assert_int_gt(k, 0);
        p += k;
        n -= (size_t)k;
        if (f.kind != LWQ_H3_P_FRAME || f.type != LWQ_H3_FT_HEADERS)
            continue;
        lwq_qpack_headers h;
        lwq_qpack_headers_init(&h, lwq_test_alloc);
        int rv = lwq_qpack_decoder_decode(w->dec, s->id, f.p, f.len, &h);
        lwq_qpack_headers_free(&h);
        ck_assert(rv == 0 || rv == LWQ_ERR_AGAIN);
        w->sections++;
        w->dyn += f.len && f.p[0] != 0; /* Required Insert Count, 8-bit prefix: 0 only when 0 */
        w->blocked += rv == LWQ_ERR_AGAIN;
        w->before_settings += !w->settings;
    }
}

static void wire_stream_bytes(wire *w, uint64_t id, uint64_t off, const uint8_t *p, size_t n)
{
    wire_stream *s = wire_stream_of(w, id);
    ck_assert_uint_le(off, s->off); /* no loss on this link: nothing arrives ahead of a gap */
    if (off + n <= s->off)
        return;
    p += s->off - off;
    n -= (size_t)(s->off - off);
    s->off += n;
    if (s->type < 0 && n) {
        s->type = p[0];
        p++;
        n--;
        w->settings |= s->type == 0x00;
    }
    if (s->type == 0x02 && n)
        ck_assert_int_eq(lwq_qpack_decoder_read_encoder(w->dec, p, n), (ssize_t)n);
    else if (!(id & 2))
        wire_request_bytes(w, s, p, n);
}

/* One server datagram: long-header packets carry no stream data, a short-header packet runs to the end. */
static void wire_tap(void *ud, int to_server, const uint8_t *d, size_t n)
{
    wire *w = ud;
    if (to_server)
        return;
    while (n) {
        lwq_pkt_hdr h;
        ssize_t k = lwq_pkt_hdr_decode(&h, d, n, LWQ_CONN_CID_LEN);
        ck_assert_int_gt(k, 0);
        if (h.type == LWQ_PKT_1RTT) {
            size_t pn_len = (size_t)(d[0] & 3) + 1; /* the null header protection mask is zero */
            size_t off = h.pn_offset + pn_len, end = n - LWQ_AEAD_TAG_LEN;
            lwq_ack_range ranges[64];
            while (off < end) {
                lwq_frame f;
                memset(&f, 0, sizeof(f));
                f.ack_ranges = ranges;
                f.ack_ranges_cap = 64;
                ssize_t m = lwq_frame_decode(&f, d + off, end - off);
                ck_assert_int_gt(m, 0);
                off += (size_t)m;
                if (lwq_frame_is_stream(f.type))
                    wire_stream_bytes(w, f.u.stream.stream_id, f.u.stream.offset, f.u.stream.data, f.u.stream.len);
            }
        }
        d += k;
        n -= (size_t)k;
    }
}

static void pump_server(ord *o)
{
    lwq_h3_event ev;
    while (lwq_h3_next_event(o->s, &ev))
        if (ev.type == LWQ_H3_EV_END) {
            ck_assert_uint_lt(o->nended, NREQ);
            o->ended[o->nended++] = ev.stream_id;
        }
    /* once the client's SETTINGS allow the dynamic table: content-length repeats, so the encoder inserts it */
    if (!lwq_h3_core(o->s)->peer_settings)
        return;
    static const uint8_t data[BODY] = "0123456789abcdef0123456789abcdef";
    lwq_h3_field cl = {(const uint8_t *)"content-length", 14, (const uint8_t *)"32", 2, 0};
    for (; o->answered < o->nended; o->answered++) {
        lwq_h3_body b = {data, BODY, NULL, NULL};
        ck_assert_int_eq(lwq_h3_respond(o->s, o->ended[o->answered], 200, &cl, 1, &b), 0);
    }
}

static void pump_client(ord *o)
{
    lwq_h3_event ev;
    uint8_t buf[256];
    while (lwq_h3_next_event(o->c, &ev)) {
        size_t i = 0;
        while (i < NREQ && o->req[i] != ev.stream_id)
            i++;
        if (i == NREQ)
            continue;
        if (ev.type == LWQ_H3_EV_RESPONSE)
            o->resp[i] = ev.status;
        if (ev.type == LWQ_H3_EV_DATA || ev.type == LWQ_H3_EV_END) {
            ssize_t n;
            while ((n = lwq_h3_read_body(o->c, ev.stream_id, buf, sizeof(buf))) > 0)
                o->body[i] += (size_t)n;
        }
        o->done[i] |= ev.type == LWQ_H3_EV_END;
    }
}

static int step(pair *p)
{
    ord *o = cur;
    (void)p;
    if (o->p.server && !o->s) {
        lwq_h3_config cfg;
        lwq_h3_config_init(&cfg);
        cfg.alloc = lwq_test_alloc;
        ck_assert_int_eq(lwq_h3_new(&o->s, o->p.server, 1, &cfg), 0);
    }
    if (o->s && o->late_inserts && lwq_h3_core(o->s)->bound)
        lwq_stream_set_priority(o->p.server, lwq_h3_core(o->s)->enc_id, 7, 0);
    if (o->s)
        pump_server(o);
    pump_client(o);
    /* as soon as the client can: the requests arrive with its Finished, before the server binds its streams */
    if (!o->nreq && o->p.client->handshake_complete)
        for (; o->nreq < NREQ; o->nreq++) {
            char path[16];
            snprintf(path, sizeof(path), "/%zu", o->nreq);
            lwq_h3_request r = {"GET", "https", "localhost", path, NULL, 0, NULL, 3, 0};
            ck_assert_int_eq(lwq_h3_submit(o->c, &r, &o->req[o->nreq]), 0);
        }
    if (o->nreq < NREQ)
        return 0;
    for (size_t i = 0; i < NREQ; i++)
        if (!o->done[i])
            return 0;
    return 1;
}

/* The server answers ten requests; the wire as a client reads it is left in o->w. */
static void run(ord *o, uint64_t seed, int late_inserts)
{
    memset(o, 0, sizeof(*o));
    cur = o;
    o->late_inserts = late_inserts;
    pair_init(&o->p, seed);
    o->p.ccfg.initial_max_streams_bidi = o->p.scfg.initial_max_streams_bidi = 100;
    pair_start(&o->p);
    lwq_conn_set_null_protection(o->p.client);
    lwq_server_set_null_protection(o->p.srv);
    lwq_qpack_decoder_config dc = {4096, 16, 65536, 0};
    ck_assert_int_eq(lwq_qpack_decoder_new(&o->w.dec, lwq_test_alloc, &dc), 0);
    o->p.tap = wire_tap;
    o->p.tap_ud = &o->w;
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_new(&o->c, o->p.client, 0, &cfg), 0);
    ck_assert(pair_run(&o->p, step, 10 * LWQ_SEC));
    /* every response complete at our client, blocked or not */
    for (int i = 0; i < NREQ; i++) {
        ck_assert_int_eq(o->resp[i], 200);
        ck_assert_uint_eq(o->body[i], BODY);
    }
    /* the case this is about happened: later responses reference an insert */
    ck_assert_uint_eq(o->w.sections, NREQ);
    ck_assert_uint_ge(o->w.dyn, NREQ - 1);
    ck_assert_uint_gt(lwq_qpack_decoder_insert_count(o->w.dec), 0);
}

static void end(ord *o)
{
    for (size_t i = 0; i < o->w.nst; i++)
        lwq_h3_parser_free(&o->w.st[i].ps);
    lwq_qpack_decoder_del(o->w.dec);
    lwq_h3_del(o->c);
    lwq_h3_del(o->s);
    pair_free(&o->p);
}

START_TEST(test_inserts_ahead_of_sections)
{
    static ord o;
    run(&o, 24 + (uint64_t)_i, 0);
    ck_assert_uint_eq(o.w.blocked, 0);
    ck_assert_uint_eq(o.w.before_settings, 0);
    end(&o);
}
END_TEST

/* Our client's decoder when the inserts do come late: each HEADERS arrives blocked with its stream's FIN,
 * and the response still completes once the insert arrives (the stream is not dropped at FIN). */
START_TEST(test_blocked_at_fin_completes)
{
    static ord o;
    run(&o, 24, 1);
    ck_assert_uint_ge(o.w.blocked, NREQ - 1);
    ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(lwq_h3_core(o.c)->dec), 0);
    end(&o);
}
END_TEST

Suite *suite_h3_order(void)
{
    Suite *s = suite_create("h3_order");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_inserts_ahead_of_sections, 0, 3);
    tcase_add_test(tc, test_blocked_at_fin_completes);
    suite_add_tcase(s, tc);
    return s;
}
