/* Whole connections, fast: an lwq_server with null packet protection (src/quic/conn_null.h) and two clients
 * that complete a real handshake (Ed25519, cheap) and are then replaced by the input: a script of operations,
 * several of which repeat a packet hundreds or thousands of times, so one input can send the server tens of
 * thousands of packets and reach count-based states (full sent maps, stream-limit churn, CID churn). The
 * scripted clients read the server's packets, note their numbers and acknowledge them when told to. After
 * every operation the server's own consistency check (lwq_conn_check) must hold, and no deadline may stay
 * due once its timer ran and the connection sent what it could (issue 19's ACK-only wedge).
 *
 * Input: [u8 flags] then ops [u8 op][operands]. op bit 7 picks the client, bits 0-3 the operation (see the
 * switch); counts are u16. No allocation failures here (fuzz_conn_null covers them). */
#include <stdio.h>
#include "fuzz_conn.h"
#include "quic/conn_null.h"
#include "quic/ranges.h"
#include "quic/varint.h"

#define NCLIENTS 2
#define MAX_PACKETS 16000
#define NSTREAMS 8

typedef struct peer {
    lwq_path spath;
    lwq_cid dcid;
    uint64_t pn;
    lwq_ranges rx;
    int live;
    uint64_t off[NSTREAMS];
    uint64_t next_stream; /* churn: next bidi stream number to open */
    uint64_t max_streams; /* the server's bidi limit as last seen */
} peer;

typedef struct world {
    lwq_server *srv;
    lwq_conn *sc[NCLIENTS];
    peer p[NCLIENTS];
    lwq_tstamp now;
    unsigned packets;
} world;

static lwq_context *cctx, *sctx;
static uint64_t total_inputs, total_packets;

/* LWQ_FUZZ_STATS=1 (make fuzz-long): packets sent to the server over the whole run, at exit. */
static void print_stats(void)
{
    fprintf(stderr, "fuzz-stats: %llu inputs, %llu packets to the server\n", (unsigned long long)total_inputs,
            (unsigned long long)total_packets);
}

static void setup(void)
{
    if (getenv("LWQ_FUZZ_STATS"))
        atexit(print_stats);
    lwq_config c, s;
    fuzz_configs(&c, &s);
    s.cert_file = "tests/data/certs/server-ed25519.pem";
    s.key_file = "tests/data/certs/server-ed25519.key";
    s.initial_max_streams_bidi = s.initial_max_streams_uni = 16;
    s.max_streams_open = 64;
    s.initial_max_data = 256 * 1024;
    s.initial_max_stream_data_bidi_remote = s.initial_max_stream_data_uni = 32 * 1024;
    s.max_datagram_frame_size = 1200;
    s.max_datagram_queue = 8;
    c.max_datagram_frame_size = 1200;
    fuzz_rng_reset(0x13198a2e03707344ull);
    if (fuzz_contexts(&cctx, &c, &sctx, &s))
        abort();
}

static void note_frames(peer *p, const uint8_t *f, size_t n)
{
    lwq_ack_range ranges[64];
    while (n) {
        lwq_frame fr;
        memset(&fr, 0, sizeof(fr));
        fr.ack_ranges = ranges;
        fr.ack_ranges_cap = 64;
        ssize_t k = lwq_frame_decode(&fr, f, n);
        if (k <= 0)
            abort(); /* the server wrote a frame its own codec cannot read */
        if (fr.type == LWQ_FRAME_MAX_STREAMS_BIDI && fr.u.max_streams > p->max_streams)
            p->max_streams = fr.u.max_streams;
        f += k;
        n -= (size_t)k;
    }
}

static void peer_rx(peer *p, const uint8_t *d, size_t n)
{
    while (n) {
        lwq_pkt_hdr h;
        if (lwq_pkt_hdr_decode(&h, d, n, LWQ_CONN_CID_LEN) <= 0)
            return;
        if (h.type == LWQ_PKT_1RTT && h.pkt_len <= 1500) {
            uint8_t buf[1500];
            memcpy(buf, d, h.pkt_len);
            lwq_unprotected u;
            uint64_t largest = p->rx.count ? lwq_ranges_max(&p->rx) - 1 : 0;
            if (lwq_packet_unprotect(&lwq_null_keys, buf, h.pkt_len, h.pn_offset, largest, &u) == 0) {
                (void)lwq_ranges_add(&p->rx, u.pn, u.pn + 1); /* at the range cap, older gaps stay unacked */
                note_frames(p, buf + u.payload_off, u.payload_len);
            }
        }
        d += h.pkt_len;
        n -= h.pkt_len;
    }
}

static void app(lwq_conn *c)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(c, &ev)) {
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin = 0;
            ssize_t r;
            while ((r = lwq_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
                if (!(ev.stream_id & 2))
                    (void)lwq_stream_write(c, ev.stream_id, buf, (size_t)r, fin);
                if (fin)
                    break;
            }
        } else if (ev.type == LWQ_EV_DATAGRAM && ev.len) {
            (void)lwq_datagram_send(c, ev.data, ev.len);
        }
    }
}

/* Timers, the application, everything the server sends; then the invariants. */
static void drain(world *w)
{
    uint8_t buf[1500];
    ssize_t n;
    while (lwq_server_send(w->srv, NULL, buf, sizeof(buf), w->now) > 0)
        ;
    for (int k = 0; k < NCLIENTS; k++) {
        lwq_conn *c = w->sc[k];
        if (!c)
            continue;
        if (lwq_conn_next_timeout(c) <= w->now)
            (void)lwq_conn_handle_timeout(c, w->now);
        app(c);
        for (int j = 0; j < 256 && (n = fuzz_conn_out(c, buf, sizeof(buf), w->now)) > 0; j++)
            peer_rx(&w->p[k], buf, (size_t)n);
        const char *why = lwq_conn_check(c, w->now);
        if (!why && lwq_conn_next_timeout(c) <= w->now) {
            /* due now after its timer ran and it sent what it could: an event loop would spin on it */
            (void)lwq_conn_handle_timeout(c, w->now);
            while (fuzz_conn_out(c, buf, sizeof(buf), w->now) > 0)
                ;
            if (lwq_conn_next_timeout(c) <= w->now)
                why = "a deadline stays due after its timer ran (a spinning event loop)";
        }
        if (why) {
            fprintf(stderr, "server connection %d: %s\n", k, why);
            abort();
        }
        if (lwq_conn_is_closed(c)) {
            lwq_server_remove(w->srv, c);
            w->sc[k] = NULL;
        }
    }
}

static void send_pkt(world *w, int k, const uint8_t *frames, size_t n)
{
    peer *p = &w->p[k];
    if (!p->live || w->packets >= MAX_PACKETS)
        return;
    if (n > 1200)
        n = 1200;
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
    uint8_t pkt[1500];
    ssize_t h = lwq_pkt_hdr_encode(pkt, sizeof(pkt), &ho);
    if (h < 0)
        abort();
    memset(pkt + h, 0, ho.payload_len);
    memcpy(pkt + h, frames, n);
    ssize_t len = lwq_packet_protect(&lwq_null_keys, ho.pn, pkt, (size_t)h, ho.payload_len, sizeof(pkt));
    if (len < 0)
        abort();
    lwq_conn *c = NULL;
    (void)lwq_server_recv(w->srv, &p->spath, pkt, (size_t)len, 0, w->now, &c, NULL);
    w->packets++;
}

static size_t ack_frame(peer *p, uint8_t *out, size_t cap)
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
    return k > 0 ? (size_t)k : 0;
}

static size_t stream_frame(uint8_t *out, uint64_t id, uint64_t off, size_t len, int fin)
{
    static const uint8_t data[1200];
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream.stream_id = id;
    f.u.stream.offset = off;
    f.u.stream.data = data;
    f.u.stream.len = len;
    f.u.stream.fin = fin;
    f.u.stream.has_len = 1;
    ssize_t k = lwq_frame_encode(out, 1200, &f);
    return k > 0 ? (size_t)k : 0;
}

/* The handshakes: two real clients with null protection, then detached. 0 when both are established. */
static int start(world *w)
{
    memset(w, 0, sizeof(*w));
    w->now = LWQ_SEC;
    lwq_server_limits lim = {.max_connections = 4, .max_handshakes = 4, .retry_above = 4};
    if (lwq_server_new(&w->srv, sctx, &lim))
        abort();
    lwq_server_set_null_protection(w->srv);
    lwq_conn *cl[NCLIENTS];
    lwq_path cpath[NCLIENTS];
    for (int k = 0; k < NCLIENTS; k++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.1.%d", k + 1);
        cpath[k] = fuzz_path(ip, 5000, "10.0.0.2", 443);
        w->p[k].spath = fuzz_path("10.0.0.2", 443, ip, 5000);
        if (lwq_conn_client_new(&cl[k], cctx, &cpath[k], NULL, 0, NULL, 0, w->now))
            abort();
        lwq_conn_set_null_protection(cl[k]);
    }
    uint8_t buf[1500];
    ssize_t n;
    int settled = 0;
    for (int round = 0; round < 30; round++) {
        for (int k = 0; k < NCLIENTS; k++) {
            while ((n = fuzz_conn_out(cl[k], buf, sizeof(buf), w->now)) > 0) {
                lwq_conn *c = NULL;
                (void)lwq_server_recv(w->srv, &w->p[k].spath, buf, (size_t)n, 0, w->now, &c, NULL);
                if (c)
                    w->sc[k] = c;
            }
            if (w->sc[k])
                while ((n = fuzz_conn_out(w->sc[k], buf, sizeof(buf), w->now)) > 0)
                    (void)lwq_conn_recv(cl[k], &cpath[k], buf, (size_t)n, 0, w->now);
        }
        int done = 1;
        for (int k = 0; k < NCLIENTS; k++)
            done &= w->sc[k] && cl[k]->handshake_confirmed && w->sc[k]->handshake_confirmed;
        if (done && ++settled == 3)
            break; /* confirmed both ways, the last ACKs delivered */
        w->now += 5 * LWQ_MS;
        for (int k = 0; k < NCLIENTS; k++) {
            if (lwq_conn_next_timeout(cl[k]) <= w->now)
                (void)lwq_conn_handle_timeout(cl[k], w->now);
            if (w->sc[k] && lwq_conn_next_timeout(w->sc[k]) <= w->now)
                (void)lwq_conn_handle_timeout(w->sc[k], w->now);
        }
    }
    int ok = 1;
    for (int k = 0; k < NCLIENTS; k++) {
        ok &= w->sc[k] && cl[k]->handshake_confirmed;
        peer *p = &w->p[k];
        p->dcid = *lwq_cids_dcid(cl[k]);
        p->pn = cl[k]->rec.spaces[LWQ_SPACE_APP].next_pn;
        p->max_streams = 16;
        lwq_ranges_init(&p->rx, NULL, 256);
        p->live = 1;
        lwq_conn_del(cl[k]);
    }
    return ok ? 0 : -1;
}

static void run_op(world *w, fuzz_in *in, uint8_t op)
{
    static const lwq_tstamp steps[8] = {0, LWQ_MS, 10 * LWQ_MS, 50 * LWQ_MS, 200 * LWQ_MS, LWQ_SEC, 5 * LWQ_SEC,
                                        40 * LWQ_SEC};
    int k = op >> 7;
    peer *p = &w->p[k];
    uint8_t f[1500], b = 0;
    uint16_t cnt = 0;
    size_t n = 0;
    const uint8_t *d;
    switch (op & 0x0f) {
    case 0: /* [u8 len][frames][u8 repeat]: one packet, sent repeat + 1 times */
        (void)fuzz_u8(in, &b);
        n = fuzz_take(in, &d, b);
        memcpy(f, d, n);
        b = 0;
        (void)fuzz_u8(in, &b);
        for (unsigned i = 0; i <= b; i++)
            send_pkt(w, k, f, n);
        break;
    case 1: /* an ACK of everything received */
        n = ack_frame(p, f, sizeof(f));
        if (n)
            send_pkt(w, k, f, n);
        break;
    case 2: /* [u8]: the clock moves */
        (void)fuzz_u8(in, &b);
        w->now += steps[b & 7] + (lwq_tstamp)(b >> 3) * LWQ_MS;
        break;
    case 3: /* [u8 stream][u16 bytes]: stream data in order, FIN at the end when op bit 6 */
        (void)fuzz_u8(in, &b);
        (void)fuzz_u16(in, &cnt);
        for (uint64_t *off = &p->off[b % NSTREAMS]; cnt;) {
            size_t len = cnt < 1000 ? cnt : 1000;
            cnt = (uint16_t)(cnt - len);
            uint64_t id = (uint64_t)(b % NSTREAMS) * 4 + ((b & 0x80) ? 2 : 0);
            n = stream_frame(f, id, *off, len, !cnt && (op & 0x40));
            *off += len;
            send_pkt(w, k, f, n);
        }
        break;
    case 4: /* [u16 count]: PINGs, each with an ACK when op bit 6, one a millisecond when bit 5 */
        (void)fuzz_u16(in, &cnt);
        for (unsigned i = 0; i < cnt && w->packets < MAX_PACKETS; i++) {
            n = (op & 0x40) ? ack_frame(p, f, sizeof(f) - 1) : 0;
            f[n++] = LWQ_FRAME_PING;
            send_pkt(w, k, f, n);
            if (op & 0x20)
                w->now += LWQ_MS; /* paced: one a millisecond */
            if (i % 64 == 63 || (op & 0x20))
                drain(w);
        }
        break;
    case 5: /* [u16 count]: stream churn, open + RESET_STREAM + STOP_SENDING within MAX_STREAMS */
        (void)fuzz_u16(in, &cnt);
        for (unsigned i = 0; i < cnt && w->packets < MAX_PACKETS; i++) {
            if (p->next_stream < NSTREAMS)
                p->next_stream = NSTREAMS; /* the ordered streams above keep theirs */
            for (int tries = 0; tries < 4 && p->next_stream >= p->max_streams; tries++) {
                n = ack_frame(p, f, sizeof(f)); /* the server's RESET_STREAMs acknowledged free the streams */
                if (n)
                    send_pkt(w, k, f, n);
                w->now += LWQ_MS;
                drain(w);
            }
            if (p->next_stream >= p->max_streams)
                break;
            uint64_t id = 4 * p->next_stream++;
            n = stream_frame(f, id, 0, 10, 0);
            f[n++] = LWQ_FRAME_RESET_STREAM;
            n += (size_t)lwq_varint_encode(f + n, 8, id);
            n += (size_t)lwq_varint_encode(f + n, 8, 0x10c);
            n += (size_t)lwq_varint_encode(f + n, 8, 10);
            f[n++] = LWQ_FRAME_STOP_SENDING;
            n += (size_t)lwq_varint_encode(f + n, 8, id);
            n += (size_t)lwq_varint_encode(f + n, 8, 0x10c);
            send_pkt(w, k, f, n);
            if (i % 16 == 15)
                drain(w);
        }
        break;
    case 6: /* [u8]: the client's address changes (one of four) */
        (void)fuzz_u8(in, &b);
        {
            char ip[32];
            snprintf(ip, sizeof(ip), "10.0.%d.%d", 1 + (b & 1), k + 1);
            p->spath = fuzz_path("10.0.0.2", 443, ip, (uint16_t)(5000 + ((b >> 1) & 1)));
        }
        break;
    case 7: /* [u8 len][bytes]: a raw datagram from this client's address */
        (void)fuzz_u8(in, &b);
        n = fuzz_take(in, &d, b);
        {
            lwq_conn *c = NULL;
            (void)lwq_server_recv(w->srv, &p->spath, d, n, 0, w->now, &c, NULL);
        }
        break;
    case 8: /* [u16 count]: DATAGRAM frames */
        (void)fuzz_u16(in, &cnt);
        for (unsigned i = 0; i < cnt && w->packets < MAX_PACKETS; i++) {
            f[0] = LWQ_FRAME_DATAGRAM_LEN;
            f[1] = 0x40 | 1;
            f[2] = 44;
            memset(f + 3, (int)i, 300);
            send_pkt(w, k, f, 303);
            if (i % 32 == 31)
                drain(w);
        }
        break;
    case 9: /* [u16 count]: PATH_CHALLENGE packets */
        (void)fuzz_u16(in, &cnt);
        for (unsigned i = 0; i < cnt && w->packets < MAX_PACKETS; i++) {
            f[0] = LWQ_FRAME_PATH_CHALLENGE;
            lwq_put64(f + 1, i);
            send_pkt(w, k, f, 9);
            if (i % 32 == 31)
                drain(w);
        }
        break;
    default:
        break;
    }
    drain(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx)
        setup();
    fuzz_in in = {data, size};
    uint8_t flags;
    if (!fuzz_u8(&in, &flags))
        return 0;
    fuzz_rng_reset(0xa4093822299f31d0ull ^ (flags & 3));
    world w;
    if (start(&w))
        abort(); /* the harness itself is broken */
    uint8_t op;
    for (int i = 0; i < 512 && fuzz_u8(&in, &op); i++)
        run_op(&w, &in, op);
#ifdef FUZZ_VERBOSE
    fprintf(stderr, "%u packets; server connections:", w.packets);
    for (int k = 0; k < NCLIENTS; k++)
        fprintf(stderr, " %s", w.sc[k] ? (w.sc[k]->close_set ? "closing" : "open") : "gone");
    fprintf(stderr, "; %zu and %zu server packet numbers seen\n", w.p[0].rx.count ? (size_t)lwq_ranges_max(&w.p[0].rx) : 0,
            w.p[1].rx.count ? (size_t)lwq_ranges_max(&w.p[1].rx) : 0);
#endif
    total_inputs++;
    total_packets += w.packets;
    for (int k = 0; k < NCLIENTS; k++)
        lwq_ranges_free(&w.p[k].rx);
    lwq_server_del(w.srv);
    return 0;
}
