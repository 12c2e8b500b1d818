/* Null packet protection (src/quic/conn_null.h, lwq_null_keys in protect.c) and the fuzz_conn_null harness:
 * a real lwquic client with null protection talks to the harness's server, every datagram it sends is
 * recorded as a fuzz input, and replaying that input into a fresh harness gives the same connection.
 * LWQ_WRITE_CORPUS=1 writes the recorded inputs to fuzz/corpus/conn_null/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../fuzz/fuzz_conn_null.h"
#include "quic/protect.h"
#include "testutil.h"

#define REC_ROUNDS 40
#define REC_QMAX 64
#define REC_CAP (256 * 1024)

typedef struct rec rec;
typedef void (*rec_script)(rec *r, int round);

struct rec {
    uint8_t *in; /* the fuzz input being recorded */
    size_t len;
    lwq_conn *client;
    nullh h;
    uint8_t q[REC_QMAX][1500]; /* server datagrams for the client */
    size_t qlen[REC_QMAX], nq;
    uint64_t echoed; /* stream bytes the client read back */
    int64_t streams[8];
    size_t nstreams;
};

static void rec_out(void *ud, const uint8_t *d, size_t n, lwq_tstamp now)
{
    rec *r = ud;
    (void)now;
    if (r->nq < REC_QMAX && n <= sizeof(r->q[0])) {
        memcpy(r->q[r->nq], d, n);
        r->qlen[r->nq++] = n;
    }
}

static void rec_put(rec *r, uint8_t ctl, const uint8_t *d, size_t n)
{
    ck_assert_uint_le(r->len + 3 + n, REC_CAP);
    r->in[r->len++] = ctl;
    lwq_put16(r->in + r->len, (uint16_t)n);
    r->len += 2;
    if (n)
        memcpy(r->in + r->len, d, n);
    r->len += n;
}

static void client_read(rec *r)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(r->client, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin;
            ssize_t n;
            while ((n = lwq_stream_read(r->client, ev.stream_id, buf, sizeof(buf), &fin)) > 0)
                r->echoed += (uint64_t)n;
        }
}

static const char request[] = "GET /fuzz-null-request\r\n";

static int64_t open_write(rec *r, int bidi, size_t len, int fin)
{
    int64_t id;
    if (lwq_stream_open(r->client, bidi, &id))
        return -1;
    uint8_t buf[4096];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)('a' + i % 26);
    memcpy(buf, request, sizeof(request) - 1);
    ck_assert_uint_le(len, sizeof(buf));
    ck_assert_int_ge(lwq_stream_write(r->client, id, buf, len, fin), 0);
    if (r->nstreams < 8)
        r->streams[r->nstreams++] = id;
    return id;
}

/* Handshake, one request, its echo. */
static void script_request(rec *r, int round)
{
    if (round == 0)
        open_write(r, 1, sizeof(request) - 1, 1);
}

/* Streams both ways, a stream past the server's window, a reset, a STOP_SENDING, a uni stream. */
static void script_streams(rec *r, int round)
{
    if (round == 0) {
        for (int i = 0; i < 3; i++)
            open_write(r, 1, 300 + 700 * (size_t)i, 1);
        open_write(r, 0, 1000, 1);
        int64_t big = open_write(r, 1, 4096, 0);
        if (big >= 0)
            ck_assert_int_eq(lwq_stream_reset(r->client, big, 7), 0);
        int64_t s = open_write(r, 1, 200, 0);
        if (s >= 0)
            ck_assert_int_eq(lwq_stream_stop_sending(r->client, s, 9), 0);
    }
}

/* Datagrams, a key update, then more data under the new keys. */
static void script_datagram_keyupdate(rec *r, int round)
{
    static const uint8_t dg[] = "datagram-frame";
    if (round == 0) {
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(lwq_datagram_send(r->client, dg, sizeof(dg) - 1), 0);
        open_write(r, 1, 500, 1);
    }
    if (round == 4)
        (void)lwq_conn_update_keys(r->client);
    if (round == 6)
        open_write(r, 1, 800, 1);
}

/* A request, then the client closes with an application error. */
static void script_close(rec *r, int round)
{
    if (round == 0)
        open_write(r, 1, 100, 1);
    if (round == 5)
        ck_assert_int_eq(lwq_conn_close(r->client, 0x1234, "done"), 0);
}

typedef struct world {
    lwq_context *cctx, *sctx;
    lwq_test_rng crng;
} world;

static void world_init(world *w)
{
    memset(w, 0, sizeof(*w));
    lwq_config c, s;
    fuzz_configs(&c, &s);
    c.alloc = s.alloc = lwq_test_alloc;
    c.rng = lwq_test_rng_init(&w->crng, 7);
    c.max_datagram_frame_size = 1200;
    static char cert[1024], key[1024];
    strcpy(cert, lwq_test_data_path("certs/server-ecdsa.pem"));
    strcpy(key, lwq_test_data_path("certs/server-ecdsa.key"));
    s.cert_file = cert;
    s.key_file = key;
    nullh_server_config(&s);
    const char *why;
    ck_assert_int_eq(lwq_context_new(&w->cctx, &c, &why), 0);
    /* The server context as fuzz_conn_null.c makes it: same rng state, same draws. */
    fuzz_rng_reset(NULLH_SETUP_SEED);
    ck_assert_int_eq(lwq_context_new(&w->sctx, &s, &why), 0);
}

static void world_free(world *w)
{
    lwq_context_del(w->cctx);
    lwq_context_del(w->sctx);
}

/* A client (with null protection unless plain) against the harness; r->in is the fuzz input. */
static void record(rec *r, world *w, rec_script script, int plain_client)
{
    memset(r, 0, sizeof(*r));
    r->in = malloc(REC_CAP);
    ck_assert_ptr_nonnull(r->in);
    r->in[0] = r->in[1] = r->in[2] = 0; /* no allocation failures */
    r->len = 3;
    fuzz_rng_reset(NULLH_RUN_SEED);
    ck_assert_int_eq(nullh_start(&r->h, w->sctx, rec_out, r), 0);
    lwq_path cpath = fuzz_path("10.0.0.1", 5000, "10.0.0.2", 443);
    ck_assert_int_eq(lwq_conn_client_new(&r->client, w->cctx, &cpath, NULL, 0, NULL, 0, r->h.now), 0);
    if (!plain_client)
        lwq_conn_set_null_protection(r->client);
    int est_round = -1;
    for (int round = 0; round < REC_ROUNDS; round++) {
        client_read(r);
        if (est_round < 0 && lwq_conn_is_established(r->client))
            est_round = round;
        if (est_round >= 0 && script)
            script(r, round - est_round);
        if (lwq_conn_next_timeout(r->client) <= r->h.now)
            (void)lwq_conn_handle_timeout(r->client, r->h.now);
        uint8_t d[1500];
        ssize_t n;
        int sent = 0;
        while (sent < 16 && (n = fuzz_conn_out(r->client, d, sizeof(d), r->h.now)) > 0) {
            uint8_t ctl = sent ? 0 : 3; /* 20 ms for the first of a flight */
            rec_put(r, ctl, d, (size_t)n);
            nullh_record(&r->h, ctl, d, (size_t)n);
            sent++;
        }
        if (!sent) {
            rec_put(r, 3, NULL, 0);
            nullh_record(&r->h, 3, NULL, 0);
        }
        for (size_t i = 0; i < r->nq; i++)
            (void)lwq_conn_recv(r->client, &cpath, r->q[i], r->qlen[i], 0, r->h.now);
        r->nq = 0;
    }
    client_read(r);
}

static void rec_free(rec *r)
{
    nullh_end(&r->h);
    lwq_conn_del(r->client);
    free(r->in);
}

/* The recorded input through a fresh harness without a client, as the fuzz target runs it. */
static void replay(world *w, const uint8_t *in, size_t len, nullh *h)
{
    fuzz_in fi = {in + 3, len - 3};
    fuzz_rng_reset(NULLH_RUN_SEED);
    ck_assert_int_eq(nullh_start(h, w->sctx, NULL, NULL), 0);
    nullh_run(h, &fi, 100000);
}

START_TEST(test_null_keys_protect_open)
{
    uint8_t pkt[128], orig[128];
    lwq_pkt_hdr_out ho = {.type = LWQ_PKT_1RTT, .dcid = (const uint8_t *)"\1\2\3\4\5\6\7\x8", .dcid_len = 8};
    ho.pn = 77;
    ho.pn_len = 2;
    ho.payload_len = 40;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ssize_t hl = lwq_pkt_hdr_encode(pkt, sizeof(pkt), &ho);
    ck_assert_int_gt(hl, 0);
    for (int i = 0; i < 40; i++)
        pkt[hl + i] = (uint8_t)(i * 3 + 1);
    memcpy(orig, pkt, sizeof(pkt));
    ssize_t n = lwq_packet_protect(&lwq_null_keys, ho.pn, pkt, (size_t)hl, 40, sizeof(pkt));
    ck_assert_int_eq(n, hl + 40 + LWQ_AEAD_TAG_LEN);
    /* Identity: header and payload unchanged, then a zero tag. */
    ck_assert_mem_eq(pkt, orig, (size_t)hl + 40);
    for (int i = 0; i < LWQ_AEAD_TAG_LEN; i++)
        ck_assert_uint_eq(pkt[hl + 40 + i], 0);
    uint8_t copy[128];
    memcpy(copy, pkt, sizeof(copy));
    lwq_unprotected u;
    size_t pn_off = (size_t)hl - 2;
    ck_assert_int_eq(lwq_packet_unprotect(&lwq_null_keys, copy, (size_t)n, pn_off, 70, &u), 0);
    ck_assert_uint_eq(u.pn, 77);
    ck_assert_uint_eq(u.payload_len, 40);
    ck_assert_mem_eq(copy + u.payload_off, orig + hl, 40);
    /* A tag that is not zero does not open. */
    memcpy(copy, pkt, sizeof(copy));
    copy[n - 1] ^= 1;
    ck_assert_int_eq(lwq_packet_unprotect(&lwq_null_keys, copy, (size_t)n, pn_off, 70, &u), LWQ_ERR_DECRYPT);
    /* Real keys do not open a null-protected packet. */
    lwq_quic_keys k;
    uint8_t secret[32] = {1, 2, 3};
    ck_assert_int_eq(lwq_quic_keys_init(&k, LWQ_VERSION_1, LWQ_SUITE_AES128GCM_SHA256, secret), 0);
    memcpy(copy, pkt, sizeof(copy));
    ck_assert_int_ne(lwq_packet_unprotect(&k, copy, (size_t)n, pn_off, 70, &u), 0);
    lwq_quic_keys_free(&k);
}
END_TEST

static const struct {
    const char *name;
    rec_script script;
} scripts[] = {{"request", script_request},
               {"streams", script_streams},
               {"datagram_keyupdate", script_datagram_keyupdate},
               {"close", script_close}};

/* Each recorded input replays into the same server connection: established, the same stream bytes read. The
 * request is on the wire in the clear. */
START_TEST(test_null_record_replays)
{
    world w;
    world_init(&w);
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        rec r;
        record(&r, &w, scripts[i].script, 0);
        ck_assert_msg(lwq_conn_is_established(r.client) || lwq_conn_is_closed(r.client), "%s", scripts[i].name);
        ck_assert_msg(r.h.established, "%s: the server never got established", scripts[i].name);
        ck_assert_uint_gt(r.h.stream_bytes, 0);
        ck_assert_ptr_nonnull(memmem(r.in, r.len, request, sizeof(request) - 1));
        if (scripts[i].script == script_request)
            ck_assert_uint_eq(r.echoed, sizeof(request) - 1);
        if (scripts[i].script == script_datagram_keyupdate) {
            ck_assert_uint_eq(r.h.datagrams, 3);
            ck_assert_uint_ge(r.client->stats.key_updates, 1);
        }
        nullh h;
        replay(&w, r.in, r.len, &h);
        ck_assert_msg(h.established == r.h.established, "%s: replay diverged", scripts[i].name);
        ck_assert_uint_eq(h.stream_bytes, r.h.stream_bytes);
        ck_assert_uint_eq(h.datagrams, r.h.datagrams);
        nullh_end(&h);
        rec_free(&r);
    }
    world_free(&w);
}
END_TEST

/* Null protection on one side only: nothing opens, no connection comes up. */
START_TEST(test_null_needs_both_sides)
{
    world w;
    world_init(&w);
    rec r;
    record(&r, &w, script_request, 1);
    ck_assert(!lwq_conn_is_established(r.client));
    ck_assert_uint_eq(r.h.established, 0);
    ck_assert_uint_eq(r.h.stream_bytes, 0);
    rec_free(&r);
    world_free(&w);
}
END_TEST

static void write_file(const char *dir, const char *name, const uint8_t *d, size_t n)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* The checked-in seeds still carry a valid client flight (a change to the server's handshake makes them
 * stale: rerun this with LWQ_WRITE_CORPUS=1). With it set, the seeds are written: each script, the first
 * records only, and allocation failures at a few points of the streams script. */
START_TEST(test_null_corpus)
{
    world w;
    world_init(&w);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", lwq_test_data_path("../../fuzz/corpus/conn_null"));
    int write = getenv("LWQ_WRITE_CORPUS") != NULL;
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "%s", scripts[i].name);
        if (write) {
            rec r;
            record(&r, &w, scripts[i].script, 0);
            write_file(dir, name, r.in, r.len);
            /* the ClientHello alone, and the flights up to the client's Finished */
            size_t off = 3;
            for (int k = 0; k < 6 && off < r.len; k++)
                off += 3 + lwq_get16(r.in + off + 1);
            if (i == 0) {
                write_file(dir, "client_hello", r.in, 3 + 3 + lwq_get16(r.in + 4));
                write_file(dir, "handshake_prefix", r.in, off);
            }
            if (scripts[i].script == script_streams)
                for (unsigned fail = 40; fail <= 640; fail *= 2) {
                    r.in[0] = (uint8_t)(fail >> 8);
                    r.in[1] = (uint8_t)fail;
                    r.in[2] = fail >= 320 ? 7 : 0;
                    snprintf(name, sizeof(name), "streams_fail_%u", fail);
                    write_file(dir, name, r.in, r.len);
                }
            rec_free(&r);
        }
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, scripts[i].name);
        size_t len;
        uint8_t *in = lwq_test_read_file(path, &len);
        ck_assert_msg(in && len > 3, "no seed %s", path);
        nullh h;
        replay(&w, in, len, &h);
        ck_assert_msg(h.established && h.stream_bytes > 0,
                      "seed %s is stale: LWQ_WRITE_CORPUS=1 CK_RUN_SUITE=conn_null build/tests/unit-tests", path);
        nullh_end(&h);
        free(in);
    }
    world_free(&w);
}
END_TEST

Suite *suite_conn_null(void)
{
    Suite *s = suite_create("conn_null");
    TCase *tc = lwq_test_tcase("conn_null");
    tcase_add_test(tc, test_null_keys_protect_open);
    tcase_add_test(tc, test_null_record_replays);
    tcase_add_test(tc, test_null_needs_both_sides);
    tcase_add_test(tc, test_null_corpus);
    suite_add_tcase(s, tc);
    return s;
}
