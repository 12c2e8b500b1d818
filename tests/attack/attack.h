/* The attack suite's harness: one lwq_server (null packet protection, src/quic/conn_null.h) on a virtual
 * clock, a legitimate client fetching a response, and a hostile client. The hostile client does its
 * handshake as a real lwquic client, then is detached: from there the test crafts every packet it sends
 * (any frames, its own packet numbers) and reads the server's packets itself, acknowledging every packet
 * number it received so the server's sent map drains as with an honest peer. Only the server allocates
 * from the counting allocator, so its live and peak bytes are the server's memory. No delay on the wire:
 * every datagram is delivered in the step it is sent. LWQ_ATTACK_FULL=1 (or a factor) scales the floods. */
#ifndef LWQ_TEST_ATTACK_H
#define LWQ_TEST_ATTACK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../fuzz/fuzz_conn.h"
#include "quic/conn_null.h"
#include "quic/ranges.h"
#include "quic/varint.h"
#include "testutil.h"

#define ATK_STEP LWQ_MS
#define ATK_RESP_MAX 4

/* The flood size factor: 1 in make check, LWQ_ATTACK_FULL (1 = 20) in make check-attack. */
static inline unsigned atk_scale(void)
{
    const char *e = getenv("LWQ_ATTACK_FULL");
    if (!e || !*e)
        return 1;
    long v = strtol(e, NULL, 10);
    return v <= 1 ? 20 : (unsigned)v;
}

typedef struct atk_peer {
    lwq_conn *c;       /* the client while it runs as lwquic */
    lwq_path cpath;    /* the client's view of its path */
    lwq_path spath;    /* the server's view: remote is the client */
    lwq_conn *sc;      /* its connection on the server, NULL once removed */
    int detached;      /* the test writes its packets now */
    lwq_cid dcid, scid;
    uint64_t pn;       /* next packet number */
    lwq_ranges rx;     /* server packet numbers received after detaching */
    int ack_owed;
    /* what the server said on the wire after detaching */
    int close_seen;
    uint64_t close_code, close_frame_type;
    uint64_t path_responses, new_cids, retire_cids, max_streams_frames, stream_frames, resets;
    uint64_t max_streams_bidi; /* the highest MAX_STREAMS (bidi) seen */
    uint64_t new_cid_seq[64];
    size_t n_new_cid_seq;
    /* the server's close as it recorded it (copied before the connection is removed) */
    int srv_closed;
    lwq_close_info srv_close;
    uint64_t dgrams_rx, bytes_rx; /* server to this client */
    uint64_t dgrams_rx_other, bytes_rx_other; /* ... of those, to another address */
    uint64_t dgrams_tx, bytes_tx; /* this client to the server */
    /* legitimate fetch */
    int64_t fetch_id;
    uint64_t got;
    int fin;
} atk_peer;

typedef struct atk_resp {
    lwq_conn *c;
    int64_t id;
    size_t left;
} atk_resp;

typedef struct atk {
    lwq_config ccfg, scfg;
    lwq_server_limits lim;
    lwq_context *cctx, *sctx;
    lwq_server *srv;
    lwq_test_rng srng, crng;
    lwq_tstamp now;
    atk_peer good, evil;
    size_t resp_size;
    atk_resp resp[ATK_RESP_MAX];
    int evil_echo; /* the server application answers the hostile client's streams too */
    /* work counted on the server side */
    uint64_t srv_dgrams_in, srv_bytes_in, srv_dgrams_out, srv_bytes_out;
    uint64_t srv_replies, srv_reply_bytes; /* lwq_server_send: VN, stateless resets, Retry */
    uint64_t timer_runs, stuck_timers, steps;
    uint64_t srv_stream_bytes; /* read by the server application */
    const char *broken;        /* lwq_conn_check's first complaint */
} atk;

static inline void atk_init(atk *a)
{
    memset(a, 0, sizeof(*a));
    fuzz_configs(&a->ccfg, &a->scfg);
    static char cert[1024], key[1024];
    strcpy(cert, lwq_test_data_path("certs/server-ecdsa.pem"));
    strcpy(key, lwq_test_data_path("certs/server-ecdsa.key"));
    a->scfg.cert_file = cert;
    a->scfg.key_file = key;
    a->scfg.alloc = lwq_test_alloc;
    a->ccfg.alloc = NULL; /* the clients' memory is not counted */
    a->scfg.rng = lwq_test_rng_init(&a->srng, 19);
    a->ccfg.rng = lwq_test_rng_init(&a->crng, 91);
    a->resp_size = 64 * 1024;
    a->good.cpath = fuzz_path("10.0.0.1", 5000, "10.0.0.2", 443);
    a->good.spath = fuzz_path("10.0.0.2", 443, "10.0.0.1", 5000);
    a->evil.cpath = fuzz_path("10.6.6.6", 6666, "10.0.0.2", 443);
    a->evil.spath = fuzz_path("10.0.0.2", 443, "10.6.6.6", 6666);
    a->good.fetch_id = a->evil.fetch_id = -1;
}

static inline atk_peer *atk_peer_of(atk *a, const lwq_conn *sc)
{
    if (sc && a->good.sc == sc)
        return &a->good;
    if (sc && a->evil.sc == sc)
        return &a->evil;
    return NULL;
}

/* A datagram to the server from peer p (its server-side path). */
static inline void atk_to_server(atk *a, atk_peer *p, const uint8_t *d, size_t n)
{
    a->srv_dgrams_in++;
    a->srv_bytes_in += n;
    p->dgrams_tx++;
    p->bytes_tx += n;
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(a->srv, &p->spath, d, n, 0, a->now, &c, NULL), 0);
    if (c && !p->sc && !p->srv_closed && c != (p == &a->good ? a->evil.sc : a->good.sc))
        p->sc = c;
}

static inline void atk_parse_frames(atk_peer *p, const uint8_t *f, size_t n)
{
    lwq_ack_range ranges[256];
    while (n) {
        lwq_frame fr;
        memset(&fr, 0, sizeof(fr));
        fr.ack_ranges = ranges;
        fr.ack_ranges_cap = 256;
        ssize_t k = lwq_frame_decode(&fr, f, n);
        ck_assert_msg(k > 0, "the server sent a frame we cannot decode");
        switch (fr.type) {
        case LWQ_FRAME_CONNECTION_CLOSE:
        case LWQ_FRAME_CONNECTION_CLOSE_APP:
            if (!p->close_seen) {
                p->close_seen = 1;
                p->close_code = fr.u.close.error_code;
                p->close_frame_type = fr.u.close.frame_type;
            }
            break;
        case LWQ_FRAME_PATH_RESPONSE: p->path_responses++; break;
        case LWQ_FRAME_NEW_CONNECTION_ID:
            p->new_cids++;
            if (p->n_new_cid_seq < 64)
                p->new_cid_seq[p->n_new_cid_seq++] = fr.u.new_cid.seq;
            break;
        case LWQ_FRAME_RETIRE_CONNECTION_ID: p->retire_cids++; break;
        case LWQ_FRAME_MAX_STREAMS_BIDI:
            if (fr.u.max_streams > p->max_streams_bidi)
                p->max_streams_bidi = fr.u.max_streams;
            p->max_streams_frames++;
            break;
        case LWQ_FRAME_MAX_STREAMS_UNI: p->max_streams_frames++; break;
        case LWQ_FRAME_RESET_STREAM: p->resets++; break;
        default:
            if (lwq_frame_is_stream(fr.type))
                p->stream_frames++;
        }
        f += k;
        n -= (size_t)k;
    }
}

/* The server's datagram, read by the detached client: packet numbers noted, frames looked at. */
static inline void atk_evil_rx(atk_peer *p, const uint8_t *d, size_t n)
{
    while (n) {
        lwq_pkt_hdr h;
        ssize_t k = lwq_pkt_hdr_decode(&h, d, n, p->scid.len);
        if (k <= 0)
            return;
        if (h.type == LWQ_PKT_1RTT) {
            uint8_t buf[1500];
            ck_assert_uint_le(h.pkt_len, sizeof(buf));
            memcpy(buf, d, h.pkt_len);
            lwq_unprotected u;
            uint64_t largest = p->rx.count ? lwq_ranges_max(&p->rx) - 1 : 0;
            if (lwq_packet_unprotect(&lwq_null_keys, buf, h.pkt_len, h.pn_offset, largest, &u) == 0) {
                ck_assert_int_eq(lwq_ranges_add(&p->rx, u.pn, u.pn + 1), 0);
                p->ack_owed = 1;
                atk_parse_frames(p, buf + u.payload_off, u.payload_len);
            }
        }
        d += h.pkt_len;
        n -= h.pkt_len;
    }
}

/* One 1-RTT packet from the detached client with the given frames (padded to 4 bytes). */
static inline size_t atk_seal(atk_peer *p, const uint8_t *frames, size_t n, uint8_t *out, size_t cap)
{
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    ho.type = LWQ_PKT_1RTT;
    ho.version = LWQ_VERSION_1;
    ho.dcid = p->dcid.id;
    ho.dcid_len = p->dcid.len;
    ho.pn = p->pn++;
    ho.pn_len = 4;
    ho.payload_len = n < 4 ? 4 : n;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ssize_t h = lwq_pkt_hdr_encode(out, cap, &ho);
    ck_assert_int_gt(h, 0);
    ck_assert_uint_le((size_t)h + ho.payload_len + LWQ_AEAD_TAG_LEN, cap);
    memset(out + h, 0, ho.payload_len);
    memcpy(out + h, frames, n);
    ssize_t k = lwq_packet_protect(&lwq_null_keys, ho.pn, out, (size_t)h, ho.payload_len, cap);
    ck_assert_int_gt(k, 0);
    return (size_t)k;
}

/* An ACK frame of what the detached client received (at most 32 ranges, newest first). */
static inline size_t atk_ack_frame(atk_peer *p, uint8_t *out, size_t cap)
{
    if (!p->rx.count)
        return 0;
    lwq_ack_range r[32];
    size_t nr = 0;
    for (size_t i = p->rx.count; i-- > 0 && nr < 32;)
        r[nr++] = (lwq_ack_range){p->rx.r[i].start, p->rx.r[i].end - 1};
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_ACK;
    f.u.ack.largest = r[0].largest;
    f.u.ack.ranges = r;
    f.u.ack.range_count = nr;
    ssize_t k = lwq_frame_encode(out, cap, &f);
    ck_assert_int_gt(k, 0);
    return (size_t)k;
}

/* The hostile client sends one packet of frames (up to 1200 bytes). */
static inline void atk_inject(atk *a, const uint8_t *frames, size_t n)
{
    uint8_t pkt[1500];
    ck_assert(a->evil.detached);
    ck_assert_uint_le(n, 1200);
    size_t k = atk_seal(&a->evil, frames, n, pkt, sizeof(pkt));
    atk_to_server(a, &a->evil, pkt, k);
}

/* The same from another source address (a spoofed or migrated path): the server's view of it. */
static inline void atk_inject_from(atk *a, const lwq_path *spath, const uint8_t *frames, size_t n)
{
    uint8_t pkt[1500];
    ck_assert(a->evil.detached);
    size_t k = atk_seal(&a->evil, frames, n, pkt, sizeof(pkt));
    lwq_path keep = a->evil.spath;
    a->evil.spath = *spath;
    atk_to_server(a, &a->evil, pkt, k);
    a->evil.spath = keep;
}

/* The server application: reads every stream; answers the legitimate client's request (a bidi stream
 * it finished) with resp_size bytes, and echoes the hostile client's when evil_echo is set. */
static inline void atk_server_app(atk *a, lwq_conn *sc)
{
    lwq_event ev;
    uint8_t buf[4096];
    while (lwq_conn_next_event(sc, &ev)) {
        if (ev.type != LWQ_EV_STREAM_READABLE)
            continue;
        int fin = 0;
        ssize_t r;
        while ((r = lwq_stream_read(sc, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
            a->srv_stream_bytes += (uint64_t)r;
            if (a->evil_echo && sc == a->evil.sc && !(ev.stream_id & 2))
                (void)lwq_stream_write(sc, ev.stream_id, buf, (size_t)r, fin);
            if (fin)
                break;
        }
        if (fin && sc == a->good.sc && !(ev.stream_id & 2))
            for (int i = 0; i < ATK_RESP_MAX; i++)
                if (!a->resp[i].c) {
                    a->resp[i] = (atk_resp){sc, ev.stream_id, a->resp_size};
                    break;
                }
    }
    for (int i = 0; i < ATK_RESP_MAX; i++) {
        atk_resp *rs = &a->resp[i];
        if (rs->c != sc)
            continue;
        while (rs->left) {
            size_t k = rs->left < sizeof(buf) ? rs->left : sizeof(buf);
            memset(buf, 'r', k);
            ssize_t w = lwq_stream_write(sc, rs->id, buf, k, k == rs->left);
            if (w <= 0)
                break;
            rs->left -= (size_t)w;
        }
        if (!rs->left)
            rs->c = NULL;
    }
}

static inline void atk_client_app(atk_peer *p)
{
    lwq_event ev;
    uint8_t buf[4096];
    while (lwq_conn_next_event(p->c, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin = 0;
            ssize_t r;
            while ((r = lwq_stream_read(p->c, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
                if (ev.stream_id == p->fetch_id) {
                    p->got += (uint64_t)r;
                    p->fin |= fin;
                }
                if (fin)
                    break;
            }
        }
}

static inline void atk_timer(atk *a, lwq_conn *c)
{
    if (!c || lwq_conn_next_timeout(c) > a->now)
        return;
    a->timer_runs++;
    (void)lwq_conn_handle_timeout(c, a->now);
}

/* After a step has run every timer and sent everything: a deadline still in the past would spin an event
 * loop (issue 19 item 1). */
static inline void atk_check_timer(atk *a, const lwq_conn *c)
{
    if (!c || lwq_conn_next_timeout(c) > a->now)
        return;
    a->stuck_timers++;
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "stuck timer: %s conn (%s), state %d, at %llu ms\n", c->is_server ? "server" : "client",
                c == a->good.c || c == a->good.sc ? "good" : "evil", (int)c->state,
                (unsigned long long)(a->now / LWQ_MS));
}

static inline void atk_forget_closed(atk *a, atk_peer *p)
{
    if (!p->sc)
        return;
    if (p->sc->close_set && !p->srv_closed) {
        p->srv_closed = 1;
        p->srv_close = p->sc->close;
    }
    if (lwq_conn_is_closed(p->sc)) {
        for (int i = 0; i < ATK_RESP_MAX; i++)
            if (a->resp[i].c == p->sc)
                a->resp[i].c = NULL;
        lwq_server_remove(a->srv, p->sc);
        p->sc = NULL;
        p->srv_closed = 1;
    }
}

/* Everything the server side has to send now. */
static inline void atk_server_out(atk *a)
{
    uint8_t buf[1500];
    lwq_path path;
    ssize_t n;
    while ((n = lwq_server_send(a->srv, &path, buf, sizeof(buf), a->now)) > 0) {
        a->srv_replies++;
        a->srv_reply_bytes += (uint64_t)n;
    }
    atk_peer *ps[2] = {&a->good, &a->evil};
    for (int i = 0; i < 2; i++) {
        atk_peer *p = ps[i];
        if (!p->sc)
            continue;
        if (!a->broken)
            a->broken = lwq_conn_check(p->sc, a->now);
        atk_server_app(a, p->sc);
        size_t seg;
        uint8_t ecn;
        for (int j = 0; j < 10000 && (n = lwq_conn_send(p->sc, &path, buf, sizeof(buf), 1, &seg, &ecn, a->now)) > 0;
             j++) {
            if (path.remote_len != p->spath.remote_len || memcmp(&path.remote, &p->spath.remote, path.remote_len)) {
                p->dgrams_rx_other++; /* to another address than the client's own */
                p->bytes_rx_other += (uint64_t)n;
            }
            a->srv_dgrams_out++;
            a->srv_bytes_out += (uint64_t)n;
            p->dgrams_rx++;
            p->bytes_rx += (uint64_t)n;
            if (p->detached)
                atk_evil_rx(p, buf, (size_t)n);
            else if (p->c)
                (void)lwq_conn_recv(p->c, &p->cpath, buf, (size_t)n, 0, a->now);
        }
        atk_forget_closed(a, p);
    }
}

static inline void atk_client_out(atk *a, atk_peer *p)
{
    if (p->detached || !p->c)
        return;
    atk_client_app(p);
    uint8_t buf[1500];
    ssize_t n;
    for (int j = 0; j < 10000 && (n = fuzz_conn_out(p->c, buf, sizeof(buf), a->now)) > 0; j++)
        atk_to_server(a, p, buf, (size_t)n);
}

/* The detached client acknowledges what it received since its last ACK. */
static inline void atk_evil_ack(atk *a)
{
    atk_peer *p = &a->evil;
    if (!p->detached || !p->ack_owed || p->close_seen)
        return;
    uint8_t f[1200];
    size_t n = atk_ack_frame(p, f, sizeof(f));
    p->ack_owed = 0;
    if (n)
        atk_inject(a, f, n);
}

/* One millisecond of virtual time: timers, both clients, the server. */
static inline void atk_step(atk *a)
{
    a->now += ATK_STEP;
    a->steps++;
    atk_timer(a, a->good.c);
    if (!a->evil.detached)
        atk_timer(a, a->evil.c);
    atk_timer(a, a->good.sc);
    atk_timer(a, a->evil.sc);
    for (int round = 0; round < 4; round++) {
        atk_client_out(a, &a->good);
        atk_client_out(a, &a->evil);
        atk_server_out(a);
        atk_client_app(&a->good);
    }
    atk_evil_ack(a);
    atk_server_out(a);
    atk_check_timer(a, a->good.c);
    atk_check_timer(a, a->good.sc);
    atk_check_timer(a, a->evil.sc);
}

static inline int atk_run(atk *a, int (*done)(atk *), unsigned max_steps)
{
    for (unsigned i = 0; i < max_steps; i++) {
        if (done(a))
            return 1;
        atk_step(a);
    }
    return done(a);
}

static inline int atk_both_confirmed(atk *a)
{
    return a->good.sc && a->evil.sc && a->good.c->handshake_confirmed && a->evil.c->handshake_confirmed &&
           a->good.sc->handshake_confirmed && a->evil.sc->handshake_confirmed;
}

/* Contexts, the server and both clients; returns once both handshakes are confirmed and the hostile client
 * is detached. The peak of the counting allocator starts over there. */
static inline void atk_start(atk *a)
{
    const char *why = NULL;
    ck_assert_msg(lwq_context_new(&a->sctx, &a->scfg, &why) == 0, "server config: %s", why ? why : "");
    ck_assert_msg(lwq_context_new(&a->cctx, &a->ccfg, &why) == 0, "client config: %s", why ? why : "");
    ck_assert_int_eq(lwq_server_new(&a->srv, a->sctx, &a->lim), 0);
    lwq_server_set_null_protection(a->srv);
    a->now = LWQ_SEC;
    ck_assert_int_eq(lwq_conn_client_new(&a->good.c, a->cctx, &a->good.cpath, NULL, 0, NULL, 0, a->now), 0);
    ck_assert_int_eq(lwq_conn_client_new(&a->evil.c, a->cctx, &a->evil.cpath, NULL, 0, NULL, 0, a->now), 0);
    lwq_conn_set_null_protection(a->good.c);
    lwq_conn_set_null_protection(a->evil.c);
    ck_assert_msg(atk_run(a, atk_both_confirmed, 5000), "the handshakes did not complete");
    for (int i = 0; i < 20; i++)
        atk_step(a); /* settle: the last ACKs and NEW_CONNECTION_IDs */
    atk_peer *p = &a->evil;
    p->dcid = *lwq_cids_dcid(p->c);
    p->scid = p->c->cids.local[0].cid;
    p->pn = p->c->rec.spaces[LWQ_SPACE_APP].next_pn + 1;
    lwq_ranges_init(&p->rx, NULL, 4096);
    p->detached = 1;
    lwq_test_alloc_peak_reset();
}

static inline void atk_free(atk *a)
{
    lwq_conn_del(a->good.c);
    lwq_conn_del(a->evil.c);
    lwq_ranges_free(&a->evil.rx);
    lwq_server_del(a->srv);
    lwq_context_del(a->cctx);
    lwq_context_del(a->sctx);
}

/* The legitimate client asks for n bytes: a request on a new bidi stream; the server answers it. */
static inline void atk_fetch_start(atk *a, size_t n)
{
    a->resp_size = n;
    a->good.got = 0;
    a->good.fin = 0;
    ck_assert_int_eq(lwq_stream_open(a->good.c, 1, &a->good.fetch_id), 0);
    static const uint8_t req[] = "GET /attack-suite\r\n";
    ck_assert_int_eq(lwq_stream_write(a->good.c, a->good.fetch_id, req, sizeof(req) - 1, 1), (ssize_t)sizeof(req) - 1);
}

static inline int atk_fetch_done(atk *a)
{
    return a->good.fin && a->good.got == a->resp_size;
}

static inline int atk_evil_closed(atk *a)
{
    return a->evil.close_seen;
}

/* Frame writers for the tests: varints into a buffer. */
static inline size_t atk_vi(uint8_t *out, uint64_t v)
{
    ssize_t k = lwq_varint_encode(out, 8, v);
    ck_assert_int_gt(k, 0);
    return (size_t)k;
}

static inline size_t atk_frame(uint8_t *out, size_t cap, const lwq_frame *f)
{
    ssize_t k = lwq_frame_encode(out, cap, f);
    ck_assert_int_gt(k, 0);
    return (size_t)k;
}

/* With LWQ_ATTACK_DEBUG set: what a test measured, for docs/security.md. */
static inline void atk_report(const atk *a, const char *name, size_t base)
{
    if (!getenv("LWQ_ATTACK_DEBUG"))
        return;
    fprintf(stderr,
            "%s: peak %zu bytes over baseline; hostile sent %llu dgrams / %llu bytes, got %llu dgrams / %llu bytes; "
            "server replies %llu (%llu bytes); steps %llu, timer runs %llu\n",
            name, lwq_test_alloc_peak_bytes() - base, (unsigned long long)a->evil.dgrams_tx,
            (unsigned long long)a->evil.bytes_tx, (unsigned long long)a->evil.dgrams_rx,
            (unsigned long long)a->evil.bytes_rx, (unsigned long long)a->srv_replies,
            (unsigned long long)a->srv_reply_bytes, (unsigned long long)a->steps, (unsigned long long)a->timer_runs);
}

/* The connection's server side closed with a transport error `code`: on the wire and in its record. */
static inline void atk_assert_closed_with(atk *a, uint64_t code)
{
    atk_peer *p = &a->evil;
    ck_assert_msg(p->close_seen, "the server sent no CONNECTION_CLOSE");
    ck_assert_uint_eq(p->close_code, code);
    ck_assert(p->srv_closed);
    ck_assert(!p->srv_close.is_app);
    ck_assert_uint_eq(p->srv_close.code, code);
}

/* Under the attack: the server's bookkeeping holds, no timer was left in the past, and the legitimate
 * client's fetch of n bytes (10 MB at full size) completes. */
static inline void atk_assert_healthy(atk *a, size_t fetch)
{
    ck_assert_msg(!a->broken, "server connection check: %s", a->broken);
    ck_assert_uint_eq(a->stuck_timers, 0);
    if (fetch) {
        if (atk_scale() > 1)
            fetch = 10u << 20; /* the full-size run fetches 10 MB under every attack (issue 19) */
        atk_fetch_start(a, fetch);
        ck_assert_msg(atk_run(a, atk_fetch_done, 20000), "the legitimate fetch stalled at %llu of %zu bytes",
                      (unsigned long long)a->good.got, fetch);
        ck_assert_msg(!a->broken, "server connection check: %s", a->broken);
    }
}

#endif
