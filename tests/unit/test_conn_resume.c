/* Session resumption and 0-RTT through whole connections (RFC 9001 §4.6, §4.9.3, §5.6; RFC 9000
 * §7.4.1, §17.2.3): a first connection leaves a session blob, a second one resumes with it, with
 * 0-RTT accepted, rejected (ticket key lost, 0-RTT switched off), refused as a replay, and closed
 * when the server's new limits are below the remembered ones. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "conn_pair.h"
#include "base/mem.h"
#include "quic/token.h"

static const uint8_t fixed_ticket_key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const char request[] = "GET /index.html\r\n";

typedef struct saved {
    uint8_t *blob, *token;
    size_t blob_len, token_len;
} saved;

static void set_addr(lwq_path *path, uint16_t port)
{
    memset(path, 0, sizeof(*path));
    struct sockaddr_in *a = (struct sockaddr_in *)&path->remote;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(0x7f000001);
    path->remote_len = sizeof(*a);
}

static int got_ticket(pair *p)
{
    return pair_established(p) && p->client->ticket && p->client->early.token;
}

/* Server contexts with a fixed ticket key so that a new one can still open old tickets. */
static void start(pair *p, uint64_t seed, int zerortt)
{
    pair_init(p, seed);
    set_addr(&p->path, 4433);
    p->ccfg.enable_0rtt = p->scfg.enable_0rtt = zerortt;
    p->scfg.ticket_key = fixed_ticket_key;
    pair_start(p);
}

/* The first connection: established, ticket and NEW_TOKEN kept (copied from the events). */
static void first(pair *p, saved *sv)
{
    ck_assert(pair_run(p, got_ticket, 5 * LWQ_SEC));
    ck_assert(!lwq_conn_resumed(p->client));
    lwq_event ev;
    memset(sv, 0, sizeof(*sv));
    while (lwq_conn_next_event(p->client, &ev)) {
        if (ev.type == LWQ_EV_SESSION_TICKET) {
            free(sv->blob);
            sv->blob = malloc(ev.len);
            memcpy(sv->blob, ev.data, ev.len);
            sv->blob_len = ev.len;
        } else if (ev.type == LWQ_EV_NEW_TOKEN) {
            free(sv->token);
            sv->token = malloc(ev.len);
            memcpy(sv->token, ev.data, ev.len);
            sv->token_len = ev.len;
        }
        ck_assert_int_ne(ev.type, LWQ_EV_EARLY_DATA);
    }
    ck_assert_ptr_nonnull(sv->blob);
    ck_assert_uint_eq(sv->token_len, LWQ_NEW_TOKEN_LEN);
}

/* Forgets the first connection on both sides; the next client resumes with the blob. */
static void second(pair *p, const saved *sv)
{
    if (p->server)
        lwq_server_remove(p->srv, p->server);
    p->server = NULL;
    lwq_conn_del(p->client);
    p->client = NULL;
    p->nq = 0;
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &p->path, sv->blob, sv->blob_len, NULL, 0, p->now), 0);
}

/* A fresh server (context and lwq_server) with the configuration in p->scfg. */
static void new_server(pair *p)
{
    const char *why = NULL;
    lwq_server_del(p->srv); /* and the first connection's server side with it */
    p->server = NULL;
    lwq_context_del(p->sctx);
    ck_assert_int_eq(lwq_context_new(&p->sctx, &p->scfg, &why), 0);
    ck_assert_int_eq(lwq_server_new(&p->srv, p->sctx, NULL), 0);
}

static void saved_free(saved *sv)
{
    free(sv->blob);
    free(sv->token);
}

/* Opens a stream before the handshake, writes the request with FIN. */
static int64_t early_request(pair *p)
{
    int64_t id = -1;
    ck_assert_int_eq(lwq_stream_open(p->client, 1, &id), 0);
    ck_assert_int_eq(id, 0);
    ck_assert_int_eq(lwq_stream_write(p->client, id, (const uint8_t *)request, sizeof(request) - 1, 1),
                     (ssize_t)(sizeof(request) - 1));
    return id;
}

/* Everything the server read on stream 0, with the FIN; asserts it came once, in order. */
static size_t server_read_all(pair *p, uint8_t *buf, size_t cap, int *fin)
{
    size_t n = 0;
    *fin = 0;
    for (;;) {
        int f = 0;
        ssize_t r = lwq_stream_read(p->server, 0, buf + n, cap - n, &f);
        if (r == LWQ_ERR_AGAIN || r == LWQ_ERR_NOT_FOUND)
            break;
        ck_assert_int_ge(r, 0);
        n += (size_t)r;
        if (f) {
            *fin = 1;
            break;
        }
        if (!r)
            break;
    }
    return n;
}

static int server_has_request(pair *p)
{
    lwq_stream *s = p->server ? lwq_stream_find(p->server, 0) : NULL;
    return s && s->rx.final_size == sizeof(request) - 1 && lwq_recvbuf_readable(&s->rx);
}

static int all_done(pair *p)
{
    return pair_established(p) && server_has_request(p);
}

static int early_event(lwq_conn *c)
{
    lwq_event ev;
    int seen = -1;
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == LWQ_EV_EARLY_DATA) {
            ck_assert_int_eq(seen, -1); /* only one */
            seen = ev.accepted;
        }
    return seen;
}

START_TEST(test_resume_without_0rtt)
{
    pair p;
    saved sv;
    start(&p, 1, 0);
    first(&p, &sv);
    second(&p, &sv);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), LWQ_ERR_STATE); /* no 0-RTT asked */
    ck_assert(pair_run(&p, pair_established, 5 * LWQ_SEC));
    ck_assert(lwq_conn_resumed(p.client));
    ck_assert(lwq_conn_resumed(p.server));
    lwq_conn_stats st;
    lwq_conn_stats_get(p.client, &st);
    ck_assert_uint_eq(st.packets_0rtt, 0);
    ck_assert_int_eq(early_event(p.client), -1);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

static int traced_0rtt[2]; /* packet trace lines: client sent 0RTT, server received 0RTT */

static void count_0rtt(void *ud, int level, const char *msg)
{
    (void)ud, (void)level;
    traced_0rtt[0] += !strncmp(msg, "client: sent 0RTT pn=", 21);
    traced_0rtt[1] += !strncmp(msg, "server: received 0RTT pn=", 25);
}

/* The request leaves in the client's first datagram (Initial then 0-RTT, RFC 9000 §12.2) and the
 * server reads it before its handshake completes; traces name the packet 0RTT. */
START_TEST(test_0rtt_accepted)
{
    pair p;
    saved sv;
    start(&p, 2, 1);
    first(&p, &sv);
    const char *why = NULL;
    p.ccfg.log = p.scfg.log = count_0rtt;
    p.ccfg.log_level = p.scfg.log_level = LWQ_LOG_DEBUG;
    lwq_conn_del(p.client); /* before its context */
    p.client = NULL;
    lwq_context_del(p.cctx);
    ck_assert_int_eq(lwq_context_new(&p.cctx, &p.ccfg, &why), 0);
    new_server(&p);
    memset(traced_0rtt, 0, sizeof(traced_0rtt));
    second(&p, &sv);
    ck_assert(p.client->early.has_keys);
    early_request(&p);
    uint8_t d[PAIR_DGRAM];
    lwq_pkt_hdr h2;
    size_t n = pair_first_0rtt_datagram(&p, d, &h2);
    ck_assert_uint_eq(h2.dcid_len, p.client->odcid.len); /* RFC 9000 §7.2: the Initial's DCID */
    ck_assert_mem_eq(h2.dcid, p.client->odcid.id, h2.dcid_len);
    lwq_conn *sc = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, (size_t)n, 0, p.now, &sc, &created), 0);
    ck_assert(created);
    p.server = sc;
    ck_assert(!p.server->handshake_complete);
    uint8_t buf[256];
    int fin;
    size_t got = server_read_all(&p, buf, sizeof(buf), &fin);
    ck_assert_uint_eq(got, sizeof(request) - 1);
    ck_assert_mem_eq(buf, request, got);
    ck_assert(fin);
    ck_assert(pair_run(&p, pair_established, 5 * LWQ_SEC));
    ck_assert(lwq_conn_resumed(p.server));
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p.client, &cs);
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_eq(cs.packets_0rtt, 1);
    ck_assert_uint_eq(ss.packets_0rtt, 1);
    ck_assert_int_eq(traced_0rtt[0], 1);
    ck_assert_int_eq(traced_0rtt[1], 1);
    ck_assert_int_eq(early_event(p.client), 1);
    /* RFC 9001 §4.9.3: the client's 0-RTT keys went with the 1-RTT keys; the server's go 3 PTOs
     * after its first 1-RTT packet. */
    ck_assert(!p.client->early.has_keys);
    ck_assert(p.server->early.has_keys);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"x", 1, 1), 1);
    pair_run(&p, NULL, 30 * LWQ_MS); /* one round trip: the server reads 1-RTT packets */
    ck_assert(p.server->early.discard_at > p.now);
    ck_assert(p.server->early.has_keys);
    ck_assert_ptr_nonnull(lwq_conn_early_rx_keys(p.server));
    if (p.now < p.server->early.discard_at)
        p.now = p.server->early.discard_at;
    /* Freed lazily: by the next packet after the deadline. */
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)"y", 1, 1), 1);
    pair_run(&p, NULL, LWQ_SEC);
    ck_assert(!p.server->early.has_keys);
    ck_assert_ptr_null(lwq_conn_early_rx_keys(p.server));
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

/* Many requests fill several 0-RTT packets within the remembered limits; all arrive. */
START_TEST(test_0rtt_many_streams)
{
    pair p;
    saved sv;
    start(&p, 3, 1);
    first(&p, &sv);
    second(&p, &sv);
    for (int i = 0; i < 40; i++) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
        ck_assert_int_eq(id, 4 * i);
        uint8_t req[250];
        memset(req, 'a' + i % 26, sizeof(req));
        ck_assert_int_eq(lwq_stream_write(p.client, id, req, sizeof(req), 1), (ssize_t)sizeof(req));
    }
    ck_assert(pair_run(&p, pair_established, 5 * LWQ_SEC));
    pair_run(&p, NULL, LWQ_SEC);
    for (int i = 0; i < 40; i++) {
        uint8_t buf[300];
        int fin = 0;
        ssize_t r = lwq_stream_read(p.server, 4 * i, buf, sizeof(buf), &fin);
        ck_assert_int_eq(r, 250);
        ck_assert(fin);
        ck_assert_uint_eq(buf[0], 'a' + i % 26);
    }
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p.client, &cs);
    lwq_conn_stats_get(p.server, &ss);
    ck_assert_uint_ge(cs.packets_0rtt, 9); /* 40 x 250 bytes */
    ck_assert_uint_eq(ss.packets_0rtt, cs.packets_0rtt);
    ck_assert_uint_le(cs.stream_bytes_sent, 40 * 250); /* nothing went twice */
    ck_assert_int_eq(early_event(p.client), 1);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

/* Rejected 0-RTT: the client sends it, the server cannot read it; the library sends the data again
 * in 1-RTT and the server reads it exactly once. */
static void rejected(pair *p, saved *sv, int expect_resumed)
{
    early_request(p);
    ck_assert(pair_run(p, all_done, 5 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_resumed(p->client), expect_resumed);
    lwq_conn_stats cs, ss;
    lwq_conn_stats_get(p->client, &cs);
    lwq_conn_stats_get(p->server, &ss);
    ck_assert_uint_ge(cs.packets_0rtt, 1);
    ck_assert_uint_eq(ss.packets_0rtt, 0);
    ck_assert_uint_eq(cs.stream_bytes_sent, 2 * (sizeof(request) - 1)); /* once in 0-RTT, once in 1-RTT */
    uint8_t buf[256];
    int fin;
    size_t got = server_read_all(p, buf, sizeof(buf), &fin);
    ck_assert_uint_eq(got, sizeof(request) - 1);
    ck_assert_mem_eq(buf, request, got);
    ck_assert(fin);
    ck_assert_int_eq(early_event(p->client), 0);
    ck_assert(!p->client->early.has_keys);
    ck_assert_ptr_null(lwq_conn_check(p->client, p->now));
    saved_free(sv);
    pair_free(p);
}

START_TEST(test_0rtt_rejected_ticket_key_lost)
{
    pair p;
    saved sv;
    start(&p, 4, 1);
    first(&p, &sv);
    p.scfg.ticket_key = NULL; /* a random one: the old tickets do not open */
    new_server(&p);
    second(&p, &sv);
    rejected(&p, &sv, 0);
}
END_TEST

START_TEST(test_0rtt_rejected_server_disabled)
{
    pair p;
    saved sv;
    start(&p, 5, 1);
    first(&p, &sv);
    p.scfg.enable_0rtt = 0; /* still resumes, refuses early data */
    new_server(&p);
    second(&p, &sv);
    rejected(&p, &sv, 1);
}
END_TEST

/* A ticket from a server with 0-RTT off says so (RFC 9001 §4.6.1): no 0-RTT is attempted. */
START_TEST(test_0rtt_not_in_ticket)
{
    pair p;
    saved sv;
    start(&p, 6, 1);
    p.scfg.enable_0rtt = 0;
    new_server(&p);
    first(&p, &sv);
    second(&p, &sv);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), LWQ_ERR_STATE);
    ck_assert(pair_run(&p, pair_established, 5 * LWQ_SEC));
    ck_assert(lwq_conn_resumed(p.client));
    lwq_conn_stats cs;
    lwq_conn_stats_get(p.client, &cs);
    ck_assert_uint_eq(cs.packets_0rtt, 0);
    ck_assert_int_eq(early_event(p.client), -1);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

static uint8_t big_got[8192];
static size_t big_len;
static int big_fin;

static int big_read(pair *p)
{
    if (p->server && !big_fin) {
        int f = 0;
        ssize_t r;
        while (!big_fin && (r = lwq_stream_read(p->server, 0, big_got + big_len, sizeof(big_got) - big_len, &f)) >= 0) {
            big_len += (size_t)r;
            big_fin = f;
            if (!r)
                break;
        }
    }
    return big_fin && pair_established(p);
}

/* Rejected 0-RTT and a server with smaller limits than remembered (allowed when rejecting, §7.4.1):
 * the data sent in 0-RTT counts again as new data under the new limits, so the client never goes
 * beyond them (no FLOW_CONTROL_ERROR) and the server reads every byte once. */
START_TEST(test_0rtt_rejected_lower_limits)
{
    pair p;
    saved sv;
    start(&p, 16, 1);
    first(&p, &sv);
    p.scfg.enable_0rtt = 0;
    p.scfg.initial_max_data = 1500;
    p.scfg.initial_max_stream_data_bidi_remote = 1000;
    new_server(&p);
    second(&p, &sv);
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    uint8_t d[6000];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 13 + 1);
    ck_assert_int_eq(lwq_stream_write(p.client, id, d, sizeof(d), 1), (ssize_t)sizeof(d));
    big_len = 0;
    big_fin = 0;
    ck_assert(pair_run(&p, big_read, 10 * LWQ_SEC));
    ck_assert_uint_eq(big_len, sizeof(d));
    ck_assert_mem_eq(big_got, d, sizeof(d));
    ck_assert(!p.client->close_set);
    ck_assert(!p.server->close_set);
    ck_assert_int_eq(early_event(p.client), 0);
    lwq_conn_stats cs;
    lwq_conn_stats_get(p.client, &cs);
    ck_assert_uint_ge(cs.packets_0rtt, 5);
    ck_assert_uint_gt(p.server->st.blocked_received, 0); /* the client waited for credit */
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

#define MANY 10

static int many_in, many_done[MANY];

/* The server reads streams 0, 4, ... of MANY requests and ends its side of each (so the stream can
 * go and MAX_STREAMS grant another, once its STREAM_CLOSED event is taken); done when every request
 * ended. */
static int many_read(pair *p)
{
    if (!p->server)
        return 0;
    lwq_event ev;
    while (lwq_conn_next_event(p->server, &ev))
        ;
    for (int i = 0; i < MANY; i++) {
        uint8_t buf[64];
        int fin = 0;
        if (many_done[i])
            continue;
        ssize_t r = lwq_stream_read(p->server, 4 * i, buf, sizeof(buf), &fin);
        if (r >= 0 && fin) {
            ck_assert_int_eq(r, sizeof(request) - 1);
            ck_assert_mem_eq(buf, request, (size_t)r);
            ck_assert_int_eq(lwq_stream_write(p->server, 4 * i, NULL, 0, 1), 0);
            many_done[i] = 1;
            many_in++;
        }
    }
    return many_in == MANY && pair_established(p);
}

/* Rejected 0-RTT and a server that now allows fewer streams than were opened in 0-RTT: the client
 * holds the streams beyond the new limit until MAX_STREAMS reaches them (no STREAM_LIMIT_ERROR),
 * and every request arrives once. */
START_TEST(test_0rtt_rejected_fewer_streams)
{
    pair p;
    saved sv;
    start(&p, 17, 1);
    first(&p, &sv);
    p.scfg.enable_0rtt = 0;
    p.scfg.initial_max_streams_bidi = 3;
    new_server(&p);
    second(&p, &sv);
    for (int i = 0; i < MANY; i++) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
        ck_assert_int_eq(lwq_stream_write(p.client, id, (const uint8_t *)request, sizeof(request) - 1, 1),
                         (ssize_t)(sizeof(request) - 1));
    }
    many_in = 0;
    memset(many_done, 0, sizeof(many_done));
    ck_assert(pair_run(&p, many_read, 10 * LWQ_SEC));
    ck_assert(!p.client->close_set);
    ck_assert(!p.server->close_set);
    ck_assert_int_eq(early_event(p.client), 0);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

static int closed(pair *p)
{
    return lwq_conn_is_closed(p->client) || p->client->state >= LWQ_CONN_CLOSING;
}

static const struct {
    size_t off;
    uint64_t v;
} lowered[] = {
    {offsetof(lwq_config, initial_max_data), 1000},
    {offsetof(lwq_config, initial_max_stream_data_bidi_remote), 1000},
    {offsetof(lwq_config, initial_max_streams_bidi), 3},
    {offsetof(lwq_config, initial_max_streams_uni), 3},
};

/* RFC 9000 §7.4.1: a server accepting 0-RTT must not lower a remembered limit. lwquic's server
 * checks the limits sealed in the ticket and rejects 0-RTT instead; the connection resumes and the
 * data arrives in 1-RTT. */
START_TEST(test_0rtt_rejected_server_lowered_limits)
{
    for (size_t i = 0; i < sizeof(lowered) / sizeof(lowered[0]); i++) {
        pair p;
        saved sv;
        start(&p, 7 + i, 1);
        first(&p, &sv);
        *(uint64_t *)((uint8_t *)&p.scfg + lowered[i].off) = lowered[i].v;
        new_server(&p);
        second(&p, &sv);
        rejected(&p, &sv, 1);
    }
}
END_TEST

/* RFC 9114 §7.2.4.2: the application's early context (HTTP/3 SETTINGS) changed: no 0-RTT. */
START_TEST(test_0rtt_rejected_context_changed)
{
    static const uint8_t a[] = "settings A", b[] = "settings B";
    pair p;
    saved sv;
    pair_init(&p, 20);
    set_addr(&p.path, 4433);
    p.ccfg.enable_0rtt = p.scfg.enable_0rtt = 1;
    p.scfg.ticket_key = fixed_ticket_key;
    p.scfg.early_context = a;
    p.scfg.early_context_len = sizeof(a);
    pair_start(&p);
    first(&p, &sv);
    p.scfg.early_context = b;
    new_server(&p);
    second(&p, &sv);
    rejected(&p, &sv, 1);
}
END_TEST

/* The client's blob with remembered limits above what the server sealed: the server (whose own limits
 * did not change) accepts 0-RTT, the client sees the new limits below the remembered ones and closes
 * with PROTOCOL_VIOLATION (§7.4.1): the client's check, for servers that do not check. */
static void raise_remembered(saved *sv, size_t tp_off)
{
    lwq_tls_session s;
    lwq_tls_span name;
    ck_assert_int_eq(lwq_tls_blob_decode(&s, &name, sv->blob, sv->blob_len), 0);
    lwq_tparams tp;
    lwq_tparams_init(&tp);
    ck_assert_int_ge(lwq_tparams_decode(&tp, s.tp.p, s.tp.n, 1), 0);
    *(uint64_t *)((uint8_t *)&tp + tp_off) += 1000;
    uint8_t tpb[512];
    ssize_t n = lwq_tparams_encode(tpb, sizeof(tpb), &tp, 1);
    ck_assert_int_gt(n, 0);
    s.tp.p = tpb;
    s.tp.n = (size_t)n;
    char sn[256];
    memcpy(sn, name.p, name.n);
    sn[name.n] = 0;
    uint8_t *blob;
    size_t len;
    ck_assert_int_eq(lwq_tls_blob_encode(&s, sn, lwq_default_allocator(), &blob, &len), 0);
    free(sv->blob);
    sv->blob = blob;
    sv->blob_len = len;
}

START_TEST(test_0rtt_limits_reduced)
{
    static const size_t offs[] = {
        offsetof(lwq_tparams, initial_max_data),
        offsetof(lwq_tparams, initial_max_stream_data_bidi_remote),
        offsetof(lwq_tparams, initial_max_streams_bidi),
        offsetof(lwq_tparams, initial_max_streams_uni),
    };
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        pair p;
        saved sv;
        start(&p, 27 + i, 1);
        first(&p, &sv);
        raise_remembered(&sv, offs[i]);
        second(&p, &sv);
        early_request(&p);
        ck_assert(pair_run(&p, closed, 5 * LWQ_SEC));
        ck_assert_uint_eq(p.client->close.code, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
        ck_assert(!p.client->close.by_peer);
        lwq_conn_stats ss;
        lwq_conn_stats_get(p.server, &ss);
        ck_assert_uint_ge(ss.packets_0rtt, 1); /* the server accepted 0-RTT */
        saved_free(&sv);
        pair_free(&p);
    }
}
END_TEST

/* Larger limits after 0-RTT are fine, and streams opened in 0-RTT take them. */
START_TEST(test_0rtt_limits_raised)
{
    pair p;
    saved sv;
    start(&p, 12, 1);
    first(&p, &sv);
    p.scfg.initial_max_stream_data_bidi_remote *= 2;
    new_server(&p);
    second(&p, &sv);
    early_request(&p);
    ck_assert(pair_run(&p, all_done, 5 * LWQ_SEC));
    ck_assert_int_eq(early_event(p.client), 1);
    lwq_stream *s = lwq_stream_find(p.client, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->tx_max, p.scfg.initial_max_stream_data_bidi_remote);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

/* A resumed client's first datagram (ClientHello and a 0-RTT request), not yet delivered. */
static ssize_t early_first_datagram(pair *p, saved *sv, uint64_t seed, uint8_t d[PAIR_DGRAM])
{
    start(p, seed, 1);
    first(p, sv);
    second(p, sv);
    early_request(p);
    lwq_pkt_hdr h;
    return (ssize_t)pair_first_0rtt_datagram(p, d, &h);
}

/* The same first datagram (ClientHello + 0-RTT) replayed at a server that forgot the connection:
 * the PSK binder is in the replay cache, so the early data is refused (docs/resumption.md). */
START_TEST(test_0rtt_replay_refused)
{
    pair p;
    saved sv;
    uint8_t d[PAIR_DGRAM];
    ssize_t n = early_first_datagram(&p, &sv, 13, d);
    lwq_conn *sc = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, (size_t)n, 0, p.now, &sc, &created), 0);
    ck_assert(created);
    ck_assert_uint_eq(sc->early.packets, 1);
    /* The application sees the 0-RTT request before the handshake completes: the protocol is known. */
    ck_assert(!sc->handshake_complete);
    ck_assert_ptr_nonnull(lwq_conn_alpn(sc));
    ck_assert_str_eq(lwq_conn_alpn(sc), "test");
    lwq_server_remove(p.srv, sc);
    p.now += LWQ_SEC;
    ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, (size_t)n, 0, p.now, &sc, &created), 0);
    ck_assert(created);
    ck_assert(!sc->early.has_keys);
    ck_assert_uint_eq(sc->early.packets, 0);
    ck_assert_ptr_null(lwq_stream_find(sc, 0));
    ck_assert(lwq_tls_resumed(sc->tls)); /* resumption itself is fine: no 0-RTT */
    /* Past the window the cache forgets it; TLS's ticket age check (10 s) refuses it then. */
    lwq_server_remove(p.srv, sc);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

static int shared_fresh(void *ud, const uint8_t *id, size_t len, lwq_tstamp now)
{
    return lwq_replay_fresh(ud, id, len, now);
}

/* Two servers on one port (the endpoint's shards) and a 0-RTT flight replayed to the other one from
 * a new address: each with its own cache, the request runs twice; with one shared check, once. */
START_TEST(test_0rtt_replay_other_server)
{
    for (int share = 0; share < 2; share++) {
        pair p;
        saved sv;
        uint8_t d[PAIR_DGRAM];
        ssize_t n = early_first_datagram(&p, &sv, 15, d);
        lwq_server *other;
        ck_assert_int_eq(lwq_server_new(&other, p.sctx, NULL), 0);
        lwq_replay *cache = NULL;
        if (share) {
            ck_assert_int_eq(lwq_replay_new(&cache, lwq_test_alloc, &p.rng.rng), 0);
            lwq_server_set_replay_check(p.srv, shared_fresh, cache);
            lwq_server_set_replay_check(other, shared_fresh, cache);
        }
        lwq_conn *sc = NULL, *sc2 = NULL;
        int created = 0;
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, d, (size_t)n, 0, p.now, &sc, &created), 0);
        ck_assert(created);
        ck_assert_uint_eq(sc->early.packets, 1);
        lwq_path moved = p.path;
        ((struct sockaddr_in *)&moved.remote)->sin_port ^= 0x1234;
        ck_assert_int_eq(lwq_server_recv(other, &moved, d, (size_t)n, 0, p.now + LWQ_MS, &sc2, &created), 0);
        ck_assert(created);
        ck_assert_uint_eq(sc2->early.packets, share ? 0 : 1);
        ck_assert(share ? lwq_stream_find(sc2, 0) == NULL : lwq_stream_find(sc2, 0) != NULL);
        lwq_server_remove(other, sc2);
        lwq_server_del(other);
        lwq_server_remove(p.srv, sc);
        lwq_replay_del(cache);
        saved_free(&sv);
        pair_free(&p);
    }
}
END_TEST

START_TEST(test_replay_cache)
{
    lwq_test_rng rng;
    lwq_test_rng_init(&rng, 9);
    lwq_replay *r;
    ck_assert_int_eq(lwq_replay_new(&r, lwq_test_alloc, &rng.rng), 0);
    uint8_t b[32];
    memset(b, 7, sizeof(b));
    lwq_tstamp t = LWQ_SEC;
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t), 1);
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + LWQ_SEC), 0);
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + LWQ_REPLAY_WINDOW - 1), 0);
    b[31] ^= 1;
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + LWQ_REPLAY_WINDOW - 1), 1);
    b[31] ^= 1;
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + LWQ_REPLAY_WINDOW), 1); /* expired */
    /* A clock going back is taken as the latest seen: no entry is revived. */
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t), 0);
    lwq_replay_del(r);
    /* Full of live entries: refuse (fail closed) until the oldest expire. */
    ck_assert_int_eq(lwq_replay_new(&r, lwq_test_alloc, &rng.rng), 0);
    for (uint32_t i = 0; i < LWQ_REPLAY_MAX; i++) {
        lwq_put32(b, i);
        ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t), 1);
    }
    lwq_put32(b, LWQ_REPLAY_MAX);
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + 1), 0);
    ck_assert_int_eq(lwq_replay_fresh(r, b, sizeof(b), t + LWQ_REPLAY_WINDOW), 1);
    lwq_replay_del(r);
}
END_TEST

/* Every allocation of a resumed 0-RTT connection setup fails in turn: clean errors, no leak. */
START_TEST(test_0rtt_alloc_failures)
{
    pair p;
    saved sv;
    start(&p, 14, 1);
    first(&p, &sv);
    lwq_server_remove(p.srv, p.server);
    p.server = NULL;
    lwq_conn_del(p.client);
    p.client = NULL;
    int ok = 0;
    for (size_t k = 1; k < 200 && !ok; k++) {
        lwq_test_alloc_fail_at(k);
        lwq_conn *c = NULL;
        int rv = lwq_conn_client_new(&c, p.cctx, &p.path, sv.blob, sv.blob_len, NULL, 0, p.now);
        int64_t id;
        if (!rv)
            rv = lwq_stream_open(c, 1, &id);
        lwq_test_alloc_fail_at(0);
        ck_assert(rv == 0 || rv == LWQ_ERR_NOMEM);
        ok = rv == 0 && c->early.has_keys;
        lwq_conn_del(c);
    }
    ck_assert(ok);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

/* Every allocation of the server's processing of a ClientHello with 0-RTT fails in turn (a fresh
 * server each time, so the replay cache does not remember an earlier attempt): 0 or NOMEM back, no
 * leak, and once nothing fails the early request is read. */
START_TEST(test_0rtt_server_alloc_failures)
{
    pair p;
    saved sv;
    uint8_t d[PAIR_DGRAM];
    ssize_t n = early_first_datagram(&p, &sv, 15, d);
    int done = 0;
    for (size_t k = 1; k < 2000 && !done; k++) {
        lwq_server *srv;
        ck_assert_int_eq(lwq_server_new(&srv, p.sctx, NULL), 0);
        uint8_t copy[PAIR_DGRAM];
        memcpy(copy, d, (size_t)n);
        size_t before = lwq_test_alloc_count();
        lwq_test_alloc_fail_at(k);
        lwq_conn *sc = NULL;
        int rv = lwq_server_recv(srv, &p.path, copy, (size_t)n, 0, p.now, &sc, NULL);
        lwq_test_alloc_fail_at(0);
        ck_assert(rv == 0 || rv == LWQ_ERR_NOMEM);
        if (lwq_test_alloc_count() - before < k) {
            done = 1; /* nothing failed */
            ck_assert_int_eq(rv, 0);
            ck_assert_ptr_nonnull(sc);
            ck_assert_uint_eq(sc->early.packets, 1);
            lwq_stream *st = lwq_stream_find(sc, 0);
            ck_assert_ptr_nonnull(st);
            ck_assert_uint_eq(st->rx.final_size, sizeof(request) - 1);
        }
        lwq_server_del(srv);
    }
    ck_assert(done);
    saved_free(&sv);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_resume(void)
{
    Suite *s = suite_create("conn_resume");
    TCase *tc = lwq_test_tcase("resume");
    tcase_add_test(tc, test_resume_without_0rtt);
    tcase_add_test(tc, test_0rtt_accepted);
    tcase_add_test(tc, test_0rtt_many_streams);
    tcase_add_test(tc, test_0rtt_rejected_ticket_key_lost);
    tcase_add_test(tc, test_0rtt_rejected_server_disabled);
    tcase_add_test(tc, test_0rtt_not_in_ticket);
    tcase_add_test(tc, test_0rtt_rejected_lower_limits);
    tcase_add_test(tc, test_0rtt_limits_reduced);
    tcase_add_test(tc, test_0rtt_rejected_server_lowered_limits);
    tcase_add_test(tc, test_0rtt_rejected_fewer_streams);
    tcase_add_test(tc, test_0rtt_rejected_context_changed);
    tcase_add_test(tc, test_0rtt_limits_raised);
    tcase_add_test(tc, test_0rtt_replay_refused);
    tcase_add_test(tc, test_0rtt_replay_other_server);
    tcase_add_test(tc, test_replay_cache);
    tcase_add_test(tc, test_0rtt_alloc_failures);
    tcase_add_test(tc, test_0rtt_server_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
