/* HTTP/3 over a resumed connection with 0-RTT (RFC 9114 §7.2.4.2, RFC 9001 §4.6.1): the client's
 * lwq_h3 binds its control and QPACK streams and submits requests before the handshake, so they
 * leave in 0-RTT packets with the first Initial; accepted, the server answers them; rejected, the
 * transport sends the same bytes again in 1-RTT and every answer still arrives once. */
#include <stdio.h>
#include <string.h>
#include "conn_pair.h"
#include "lwquic/h3.h"

#define NREQ 5

static const uint8_t ticket_key[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
                                       3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8};

typedef struct early {
    pair p;
    lwq_h3 *c, *s;
    int64_t ids[NREQ];
    int status[NREQ], ended[NREQ], early_seen;
    char body[NREQ][64];
    size_t body_len[NREQ], served;
} early;

static early *cur;

static int slot(early *e, int64_t id)
{
    for (int i = 0; i < NREQ; i++)
        if (e->ids[i] == id)
            return i;
    return -1;
}

static void pump_server(early *e)
{
    lwq_h3_event ev;
    char body[64];
    while (lwq_h3_next_event(e->s, &ev)) {
        if (ev.type != LWQ_H3_EV_REQUEST)
            continue;
        const lwq_h3_field *f = lwq_h3_find(ev.fields, ev.field_count, ":path");
        ck_assert_ptr_nonnull(f);
        int n = snprintf(body, sizeof(body), "answer to %.*s", (int)f->value_len, (const char *)f->value);
        lwq_h3_body b = {(const uint8_t *)body, (size_t)n, NULL, NULL};
        ck_assert_int_eq(lwq_h3_respond(e->s, ev.stream_id, 200, NULL, 0, &b), 0);
        e->served++;
    }
}

static void pump_client(early *e)
{
    lwq_h3_event ev;
    while (lwq_h3_next_event(e->c, &ev)) {
        int i = slot(e, ev.stream_id);
        if (ev.type == LWQ_H3_EV_TRANSPORT && ev.transport.type == LWQ_EV_EARLY_DATA) {
            ck_assert_int_eq(e->early_seen, -1); /* once */
            e->early_seen = ev.transport.accepted;
        }
        if (i < 0)
            continue;
        if (ev.type == LWQ_H3_EV_RESPONSE)
            e->status[i] = ev.status;
        if (ev.type == LWQ_H3_EV_DATA || ev.type == LWQ_H3_EV_END) {
            ssize_t n = lwq_h3_read_body(e->c, ev.stream_id, (uint8_t *)e->body[i] + e->body_len[i],
                                         sizeof(e->body[i]) - 1 - e->body_len[i]);
            if (n > 0)
                e->body_len[i] += (size_t)n;
            if (ev.type == LWQ_H3_EV_END)
                e->ended[i]++;
        }
    }
}

static int step(pair *p)
{
    early *e = cur;
    (void)p;
    if (p->server && !e->s) {
        lwq_h3_config cfg;
        lwq_h3_config_init(&cfg);
        cfg.alloc = lwq_test_alloc;
        ck_assert_int_eq(lwq_h3_new(&e->s, p->server, 1, &cfg), 0);
    }
    if (e->s)
        pump_server(e);
    pump_client(e);
    for (int i = 0; i < NREQ; i++)
        if (!e->ended[i])
            return 0;
    return 1;
}

static int got_ticket(pair *p)
{
    return pair_established(p) && p->client->ticket;
}

/* A first connection at the transport level leaves the session blob in *blob. */
static void first(pair *p, uint8_t **blob, size_t *len)
{
    ck_assert(pair_run(p, got_ticket, 5 * LWQ_SEC));
    lwq_event ev;
    *blob = NULL;
    while (lwq_conn_next_event(p->client, &ev))
        if (ev.type == LWQ_EV_SESSION_TICKET) {
            free(*blob);
            *blob = malloc(ev.len);
            memcpy(*blob, ev.data, ev.len);
            *len = ev.len;
        }
    ck_assert_ptr_nonnull(*blob);
}

/* _i: 0 the server accepts 0-RTT; 1 a new server with 0-RTT off resumes and rejects it; 2 a new
 * server with other HTTP/3 settings (its early context) rejects it (RFC 9114 §7.2.4.2). */
START_TEST(test_requests_in_0rtt)
{
    static early e;
    memset(&e, 0, sizeof(e));
    cur = &e;
    e.early_seen = -1;
    pair *p = &e.p;
    pair_init(p, 40 + (uint64_t)_i);
    p->ccfg.enable_0rtt = p->scfg.enable_0rtt = 1;
    p->ccfg.initial_max_streams_bidi = p->scfg.initial_max_streams_bidi = 100;
    p->scfg.ticket_key = ticket_key;
    lwq_h3_config hc;
    lwq_h3_config_init(&hc);
    uint8_t ctx1[64], ctx2[64];
    ssize_t n1 = lwq_h3_early_context(&hc, ctx1, sizeof(ctx1));
    ck_assert_int_gt(n1, 0);
    p->scfg.early_context = ctx1;
    p->scfg.early_context_len = (size_t)n1;
    pair_start(p);
    uint8_t *blob;
    size_t blob_len = 0;
    first(p, &blob, &blob_len);
    lwq_server_del(p->srv);
    lwq_context_del(p->sctx);
    p->server = NULL;
    int reject = _i != 0;
    p->scfg.enable_0rtt = _i != 1;
    if (_i == 2) {
        hc.qpack_max_table_capacity /= 2;
        ssize_t n2 = lwq_h3_early_context(&hc, ctx2, sizeof(ctx2));
        ck_assert_int_gt(n2, 0);
        ck_assert(n2 != n1 || memcmp(ctx1, ctx2, (size_t)n1) != 0);
        p->scfg.early_context = ctx2;
        p->scfg.early_context_len = (size_t)n2;
    }
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&p->sctx, &p->scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&p->srv, p->sctx, NULL), 0);
    lwq_conn_del(p->client);
    p->nq = 0;
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &p->path, blob, blob_len, NULL, 0, p->now), 0);
    free(blob);

    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_new(&e.c, p->client, 0, &cfg), 0);
    for (int i = 0; i < NREQ; i++) {
        char path[16];
        snprintf(path, sizeof(path), "/r%d", i);
        lwq_h3_request r = {.method = "GET", .scheme = "https", .authority = "localhost", .path = path, .urgency = 3};
        ck_assert_int_eq(lwq_h3_submit(e.c, &r, &e.ids[i]), 0);
    }
    ck_assert_int_eq(lwq_h3_flush(e.c), 0);
    ck_assert(!lwq_conn_is_established(p->client));
    /* RFC 9000 §12.2: the first datagram carries the Initial, then 0-RTT with the requests */
    uint8_t d[PAIR_DGRAM];
    lwq_pkt_hdr h;
    size_t n = pair_first_0rtt_datagram(p, d, &h);
    /* the server reads the requests and the client's control stream before its handshake is done */
    lwq_conn *sc = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p->srv, &p->path, d, n, 0, p->now, &sc, &created), 0);
    ck_assert(created);
    p->server = sc;
    ck_assert(!sc->handshake_complete);
    for (int64_t id = 0; id < 4 * NREQ; id += 4) {
        lwq_stream *st = lwq_stream_find(sc, id);
        ck_assert_int_eq(st != NULL && lwq_recvbuf_readable(&st->rx) > 0, !reject);
    }
    lwq_stream *ctrl = lwq_stream_find(sc, 2); /* RFC 9114 §6.2.1: SETTINGS first */
    ck_assert_int_eq(ctrl != NULL && lwq_recvbuf_readable(&ctrl->rx) > 0, !reject);

    ck_assert(pair_run(p, step, 10 * LWQ_SEC));
    for (int i = 0; i < NREQ; i++) {
        char want[32];
        snprintf(want, sizeof(want), "answer to /r%d", i);
        ck_assert_int_eq(e.status[i], 200);
        ck_assert_int_eq(e.ended[i], 1);
        ck_assert_uint_eq(e.body_len[i], strlen(want));
        ck_assert_mem_eq(e.body[i], want, e.body_len[i]);
    }
    ck_assert_uint_eq(e.served, NREQ); /* each request reached the server once */
    ck_assert(lwq_conn_resumed(p->client));
    ck_assert_int_eq(e.early_seen, !reject);
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p->client, &cs);
    lwq_conn_stats_get(p->server, &ss);
    ck_assert_uint_ge(cs.packets_0rtt, 1);
    ck_assert_uint_eq(ss.packets_0rtt, reject ? 0 : cs.packets_0rtt);
    ck_assert_int_eq(lwq_h3_conn_error(lwq_h3_core(e.c), NULL), 0);
    ck_assert_int_eq(lwq_h3_conn_error(lwq_h3_core(e.s), NULL), 0);
    lwq_h3_del(e.c);
    lwq_h3_del(e.s);
    pair_free(p);
}
END_TEST

Suite *suite_h3_early(void)
{
    Suite *s = suite_create("h3_early");
    TCase *tc = lwq_test_tcase("h3_early");
    tcase_add_loop_test(tc, test_requests_in_0rtt, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
