/* The client session-blob import under arbitrary input, shared by fuzz/fuzz_session.c and its seed recorder
 * tests/unit/test_fuzz_session.c: a client made with lwq_conn_client_new from the blob (and a token) talks
 * to an in-process server whose ticket key is fixed, so a recorded blob really resumes, with 0-RTT when the
 * blob allows it. Everything on one seeded rng; the server signs with Ed25519 (cheap) for full handshakes. */
#ifndef LWQ_FUZZ_SESSION_H
#define LWQ_FUZZ_SESSION_H

#include "fuzz_conn.h"

#define SESS_CERT "tests/data/certs/server-ed25519.pem"
#define SESS_KEY "tests/data/certs/server-ed25519.key"
#define SESS_SEED 0x243f6a8885a308d3ull

static const uint8_t sess_ticket_key[32] = {0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
                                            0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
                                            0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70};

typedef struct sess_result {
    int created, established, resumed, early_sent, early_accepted;
    uint64_t echoed;
    uint8_t ticket[4096]; /* the last LWQ_EV_SESSION_TICKET blob */
    size_t ticket_len;
} sess_result;

/* A fixed wall clock: ticket ages and lifetimes must not depend on the day a seed is replayed. */
static inline int64_t sess_unix_now(void *ud)
{
    (void)ud;
    return 1750000000;
}

/* Client and server contexts on the fuzz rng with allocator a (NULL: malloc). 0 or -1. */
static inline int sess_contexts(lwq_context **cctx, lwq_context **sctx, const lwq_allocator *a)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    c.alloc = s.alloc = a;
    s.cert_file = SESS_CERT;
    s.key_file = SESS_KEY;
    s.ticket_key = sess_ticket_key;
    c.enable_0rtt = s.enable_0rtt = 1;
    c.server_name = "localhost";
    c.now_unix = s.now_unix = sess_unix_now;
    return fuzz_contexts(cctx, &c, sctx, &s);
}

static inline void sess_client_events(lwq_conn *cl, int64_t early_id, sess_result *r)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(cl, &ev)) {
        if (ev.type == LWQ_EV_SESSION_TICKET && ev.len <= sizeof(r->ticket)) {
            memcpy(r->ticket, ev.data, ev.len);
            r->ticket_len = ev.len;
        } else if (ev.type == LWQ_EV_EARLY_DATA) {
            r->early_accepted = ev.accepted;
        } else if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin;
            ssize_t n;
            while ((n = lwq_stream_read(cl, ev.stream_id, buf, sizeof(buf), &fin)) > 0)
                if (ev.stream_id == early_id)
                    r->echoed += (uint64_t)n;
        }
    }
}

static inline void sess_server_app(lwq_conn *sc)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(sc, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin = 0;
            ssize_t n;
            while ((n = lwq_stream_read(sc, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (n == 0 && fin)) {
                if (!(ev.stream_id & 2))
                    (void)lwq_stream_write(sc, ev.stream_id, buf, (size_t)n, fin);
                if (fin)
                    break;
            }
        }
}

/* One client from (blob, token) against a fresh server; fills r. fuzz_rng_reset comes first. */
static inline void sess_run(lwq_context *cctx, lwq_context *sctx, const uint8_t *blob, size_t blen,
                            const uint8_t *tok, size_t tlen, sess_result *r)
{
    memset(r, 0, sizeof(*r));
    lwq_server *srv;
    if (lwq_server_new(&srv, sctx, NULL))
        return;
    lwq_path cpath = fuzz_path("10.0.0.1", 5000, "10.0.0.2", 443);
    lwq_path spath = fuzz_path("10.0.0.2", 443, "10.0.0.1", 5000);
    lwq_tstamp now = LWQ_SEC;
    lwq_conn *cl = NULL, *sc = NULL;
    if (lwq_conn_client_new(&cl, cctx, &cpath, blob, blen, tlen ? tok : NULL, tlen, now)) {
        lwq_server_del(srv);
        return;
    }
    r->created = 1;
    int64_t early_id = -1;
    if (lwq_conn_can_send_early(cl) && lwq_stream_open(cl, 1, &early_id) == 0) {
        static const uint8_t req[] = "GET /early-data\r\n";
        r->early_sent = lwq_stream_write(cl, early_id, req, sizeof(req) - 1, 1) > 0;
    }
    uint8_t buf[1500];
    for (int round = 0; round < 40; round++) {
        ssize_t n;
        for (int j = 0; j < 32 && (n = fuzz_conn_out(cl, buf, sizeof(buf), now)) > 0; j++) {
            lwq_conn *c = NULL;
            (void)lwq_server_recv(srv, &spath, buf, (size_t)n, 0, now, &c, NULL);
            if (c && !sc)
                sc = c;
        }
        while ((n = lwq_server_send(srv, NULL, buf, sizeof(buf), now)) > 0)
            (void)lwq_conn_recv(cl, &cpath, buf, (size_t)n, 0, now);
        if (sc) {
            sess_server_app(sc);
            for (int j = 0; j < 32 && (n = fuzz_conn_out(sc, buf, sizeof(buf), now)) > 0; j++)
                (void)lwq_conn_recv(cl, &cpath, buf, (size_t)n, 0, now);
        }
        sess_client_events(cl, early_id, r);
        if (lwq_conn_is_closed(cl) || (sc && lwq_conn_is_closed(sc)))
            break;
        now += 10 * LWQ_MS;
        if (lwq_conn_next_timeout(cl) <= now)
            (void)lwq_conn_handle_timeout(cl, now);
        if (sc && lwq_conn_next_timeout(sc) <= now)
            (void)lwq_conn_handle_timeout(sc, now);
    }
    r->established = lwq_conn_is_established(cl);
    r->resumed = lwq_conn_resumed(cl);
    lwq_conn_del(cl);
    lwq_server_del(srv);
}

#endif
