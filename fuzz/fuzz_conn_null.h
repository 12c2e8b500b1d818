/* The whole-server harness of fuzz_conn_null.c, shared with tests/unit/test_conn_null.c which records its seeds:
 * an lwq_server whose connections use null packet protection (src/quic/conn_null.h), driven by records of
 * [u8 control][u16 length][datagram]. Control bits 0-2 move the clock (nullh_steps), bits 3-4 are the ECN
 * codepoint; the datagram (may be empty: time passes only) goes to the server from one client address. After
 * each record every due timer runs, the server's connections run a small echo application and everything they
 * send is handed to `out` (the recorder's live client) or dropped. The run depends on the records alone: the
 * rng is reset before the server is made and the clock is the records' own, so a client flight recorded
 * against this harness (ClientHello, then the client's Finished) is still valid when replayed. */
#ifndef LWQ_FUZZ_CONN_NULL_H
#define LWQ_FUZZ_CONN_NULL_H

#include "fuzz_conn.h"
#include "quic/conn_null.h"

#define NULLH_CONNS 4
#define NULLH_SETUP_SEED 0x6a09e667f3bcc908ull /* the rng state the server context is made with */
#define NULLH_RUN_SEED 0xbb67ae8584caa73bull   /* ... and the state each run starts from */

static const lwq_tstamp nullh_steps[8] = {0,           LWQ_MS,      5 * LWQ_MS, 20 * LWQ_MS, 100 * LWQ_MS, 500 * LWQ_MS,
                                          2 * LWQ_SEC, 10 * LWQ_SEC};

typedef void (*nullh_out_fn)(void *ud, const uint8_t *d, size_t n, lwq_tstamp now);

typedef struct nullh {
    lwq_server *srv;
    lwq_conn *conns[NULLH_CONNS];
    lwq_path path;
    lwq_tstamp now;
    nullh_out_fn out;
    void *out_ud;
    uint64_t stream_bytes; /* read by the server's application */
    unsigned established, datagrams;
} nullh;

/* Small limits, so that flow control, stream limits and the datagram queue have edges to reach. */
static inline void nullh_server_config(lwq_config *s)
{
    s->initial_max_streams_bidi = s->initial_max_streams_uni = 8;
    s->initial_max_data = 65536;
    s->initial_max_stream_data_bidi_remote = s->initial_max_stream_data_uni = 16384;
    s->max_streams_open = 32;
    s->max_datagram_frame_size = 1200;
    s->max_datagram_queue = 4;
    s->idle_timeout = 30 * LWQ_SEC;
}

static inline int nullh_start(nullh *h, lwq_context *sctx, nullh_out_fn out, void *ud)
{
    memset(h, 0, sizeof(*h));
    h->path = fuzz_path("10.0.0.2", 443, "10.0.0.1", 5000);
    h->now = LWQ_SEC;
    h->out = out;
    h->out_ud = ud;
    lwq_server_limits lim = {.max_connections = NULLH_CONNS, .max_handshakes = NULLH_CONNS, .retry_above = NULLH_CONNS};
    if (lwq_server_new(&h->srv, sctx, &lim))
        return -1;
    lwq_server_set_null_protection(h->srv);
    return 0;
}

static inline void nullh_track(nullh *h, lwq_conn *c)
{
    for (int i = 0; c && i < NULLH_CONNS; i++) {
        if (h->conns[i] == c)
            return;
        if (!h->conns[i]) {
            h->conns[i] = c;
            return;
        }
    }
}

/* Reads what arrived and answers in kind: an echo on bidirectional streams, datagrams back. */
static inline void nullh_app(nullh *h, lwq_conn *c)
{
    lwq_event ev;
    uint8_t buf[1024];
    while (lwq_conn_next_event(c, &ev)) {
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin = 0;
            ssize_t r;
            while ((r = lwq_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
                h->stream_bytes += (uint64_t)r;
                if (!(ev.stream_id & 2))
                    (void)lwq_stream_write(c, ev.stream_id, buf, (size_t)r, fin);
                if (fin)
                    break;
            }
        } else if (ev.type == LWQ_EV_DATAGRAM && ev.len) {
            h->datagrams++;
            (void)lwq_datagram_send(c, ev.data, ev.len);
        }
    }
}

/* Everything the server and its connections have to send now, to h->out. */
static inline void nullh_drain(nullh *h)
{
    uint8_t buf[1500];
    lwq_path p;
    ssize_t n;
    for (int j = 0; j < 64 && (n = lwq_server_send(h->srv, &p, buf, sizeof(buf), h->now)) > 0; j++)
        if (h->out)
            h->out(h->out_ud, buf, (size_t)n, h->now);
    for (int k = 0; k < NULLH_CONNS; k++) {
        lwq_conn *c = h->conns[k];
        if (!c)
            continue;
        nullh_app(h, c);
        for (int j = 0; j < 64 && (n = fuzz_conn_out(c, buf, sizeof(buf), h->now)) > 0; j++)
            if (h->out)
                h->out(h->out_ud, buf, (size_t)n, h->now);
        if (lwq_conn_is_established(c) && !(h->established & (1u << k)))
            h->established |= 1u << k;
        if (lwq_conn_is_closed(c)) {
            lwq_server_remove(h->srv, c);
            h->conns[k] = NULL;
        }
    }
}

static inline void nullh_record(nullh *h, uint8_t ctl, const uint8_t *d, size_t n)
{
    h->now += nullh_steps[ctl & 7];
    for (int k = 0; k < NULLH_CONNS; k++)
        if (h->conns[k] && lwq_conn_next_timeout(h->conns[k]) <= h->now)
            (void)lwq_conn_handle_timeout(h->conns[k], h->now);
    if (n) {
        lwq_conn *c = NULL;
        (void)lwq_server_recv(h->srv, &h->path, d, n, (uint8_t)((ctl >> 3) & 3), h->now, &c, NULL);
        nullh_track(h, c);
    }
    nullh_drain(h);
}

/* Runs the records of in (at most max_records); fuzz_rng_reset(NULLH_RUN_SEED) must come before nullh_start. */
static inline void nullh_run(nullh *h, fuzz_in *in, unsigned max_records)
{
    uint8_t ctl;
    uint16_t len;
    for (unsigned i = 0; i < max_records && fuzz_u8(in, &ctl) && fuzz_u16(in, &len); i++) {
        const uint8_t *d;
        size_t n = fuzz_take(in, &d, len);
        nullh_record(h, ctl, d, n);
    }
}

static inline void nullh_end(nullh *h)
{
    lwq_server_del(h->srv);
    h->srv = NULL;
}

#endif
