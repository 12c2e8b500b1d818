/* NEW_TOKEN (RFC 9000 §8.1.3, §19.7): the token format and its checks, the server issuing one
 * after handshake confirmation, the client announcing it, and a later connection using it in place
 * of a Retry; tampered, expired and foreign tokens are ignored, never INVALID_TOKEN. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "conn_pair.h"
#include "base/mem.h"
#include "quic/token.h"

#define DG 1500

static void set_addr4(lwq_path *path, uint32_t ip, uint16_t port)
{
    memset(path, 0, sizeof(*path));
    struct sockaddr_in *a = (struct sockaddr_in *)&path->remote;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(ip);
    path->remote_len = sizeof(*a);
}

static void set_addr6(lwq_path *path, uint8_t last, uint16_t port)
{
    memset(path, 0, sizeof(*path));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&path->remote;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr.s6_addr[15] = last;
    path->remote_len = sizeof(*a);
}

static lwq_context *server_ctx(lwq_test_rng *rng)
{
    pair p;
    pair_init(&p, 1);
    p.scfg.rng = &rng->rng;
    lwq_context *ctx;
    const char *why;
    ck_assert_int_eq(lwq_context_new(&ctx, &p.scfg, &why), 0);
    return ctx;
}

START_TEST(test_token_checks)
{
    lwq_test_rng rng;
    lwq_test_rng_init(&rng, 3);
    lwq_context *ctx = server_ctx(&rng), *other = server_ctx(&rng);
    lwq_path a, a_port, b, v6, v6b, none;
    set_addr4(&a, 0x0a000001, 1000);
    set_addr4(&a_port, 0x0a000001, 2000);
    set_addr4(&b, 0x0a000002, 1000);
    set_addr6(&v6, 1, 1000);
    set_addr6(&v6b, 2, 1000);
    memset(&none, 0, sizeof(none));
    uint8_t t[LWQ_NEW_TOKEN_LEN], t6[LWQ_NEW_TOKEN_LEN], t0[LWQ_NEW_TOKEN_LEN];
    lwq_tstamp now = 100 * LWQ_SEC;
    ck_assert_uint_eq(lwq_new_token_make(ctx, &a, now, t), LWQ_NEW_TOKEN_LEN);
    ck_assert_uint_eq(t[0], LWQ_NEW_TOKEN_MAGIC);
    ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t), now), 1);
    ck_assert_int_eq(lwq_new_token_check(ctx, &a_port, t, sizeof(t), now + LWQ_SEC), 1); /* any port */
    ck_assert_int_eq(lwq_new_token_check(ctx, &b, t, sizeof(t), now), 0);
    ck_assert_int_eq(lwq_new_token_check(ctx, &v6, t, sizeof(t), now), 0);
    ck_assert_int_eq(lwq_new_token_check(other, &a, t, sizeof(t), now), 0); /* another key */
    ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t), now + LWQ_NEW_TOKEN_LIFETIME), 1);
    ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t), now + LWQ_NEW_TOKEN_LIFETIME + 1), 0);
    ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t), now - 1), 0); /* from the future */
    ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t) - 1, now), 0);
    for (size_t i = 0; i < sizeof(t); i++) {
        t[i] ^= 0x20;
        ck_assert_int_eq(lwq_new_token_check(ctx, &a, t, sizeof(t), now), 0);
        t[i] ^= 0x20;
    }
    ck_assert_uint_eq(lwq_new_token_make(ctx, &v6, now, t6), LWQ_NEW_TOKEN_LEN);
    ck_assert_int_eq(lwq_new_token_check(ctx, &v6, t6, sizeof(t6), now), 1);
    ck_assert_int_eq(lwq_new_token_check(ctx, &v6b, t6, sizeof(t6), now), 0);
    ck_assert_mem_ne(t, t6, sizeof(t)); /* fresh nonces */
    /* A path that is neither IPv4 nor IPv6 never validates. */
    lwq_new_token_make(ctx, &none, now, t0);
    ck_assert_int_eq(lwq_new_token_check(ctx, &none, t0, sizeof(t0), now), 0);
    lwq_context_del(ctx);
    lwq_context_del(other);
}
END_TEST

typedef struct tpair {
    pair p;
    uint8_t token[256];
    size_t token_len;
} tpair;

static int got_token(pair *p)
{
    return pair_established(p) && p->client->early.token;
}

static void tpair_start(tpair *t, uint64_t seed, int retry)
{
    pair *p = &t->p;
    pair_init(p, seed);
    set_addr4(&p->path, 0x7f000001, 5000);
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

/* The first connection: the server sends one NEW_TOKEN after confirming the handshake; the
 * client announces it with LWQ_EV_NEW_TOKEN. */
static void first(tpair *t)
{
    pair *p = &t->p;
    ck_assert(pair_run(p, got_token, 5 * LWQ_SEC));
    lwq_event ev;
    int n = 0;
    while (lwq_conn_next_event(p->client, &ev))
        if (ev.type == LWQ_EV_NEW_TOKEN) {
            n++;
            ck_assert_uint_eq(ev.len, LWQ_NEW_TOKEN_LEN);
            ck_assert_uint_eq(ev.data[0], LWQ_NEW_TOKEN_MAGIC);
            memcpy(t->token, ev.data, ev.len);
            t->token_len = ev.len;
        }
    ck_assert_int_eq(n, 1);
    ck_assert(lwq_new_token_check(p->sctx, &p->path, t->token, t->token_len, p->now));
    ck_assert(!p->server->early.token_pending);
}

/* A new client connection with the given token, from another port of the same address. */
static void second(tpair *t, const uint8_t *tok, size_t len)
{
    pair *p = &t->p;
    lwq_server_remove(p->srv, p->server);
    p->server = NULL;
    lwq_conn_del(p->client);
    p->nq = 0;
    ((struct sockaddr_in *)&p->path.remote)->sin_port = htons(5001);
    ck_assert_int_eq(lwq_conn_client_new(&p->client, p->cctx, &p->path, NULL, 0, tok, len, p->now), 0);
}

static ssize_t client_out(pair *p, uint8_t *buf)
{
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    return lwq_conn_send(p->client, &path, buf, DG, 1, &seg, &ecn, p->now);
}

/* The first Initial of the second connection: the server's answer. Returns the new connection or
 * NULL; *reply_type is the type of the server's stateless answer (-1: none). */
static lwq_conn *first_initial(pair *p, int *reply_type)
{
    uint8_t d[DG];
    ssize_t n = client_out(p, d);
    ck_assert_int_eq(n, 1200);
    lwq_conn *c = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p->srv, &p->path, d, (size_t)n, 0, p->now, &c, &created), 0);
    lwq_path path;
    ssize_t r = lwq_server_send(p->srv, &path, d, DG, p->now);
    *reply_type = -1;
    if (r > 0) {
        lwq_pkt_hdr h;
        ck_assert_int_gt(lwq_pkt_hdr_decode(&h, d, (size_t)r, 8), 0);
        *reply_type = (int)h.type;
    }
    return c;
}

START_TEST(test_new_token_skips_retry)
{
    tpair t;
    tpair_start(&t, 21, 1);
    first(&t);
    ck_assert(t.p.server->retried); /* the first connection went through a Retry */
    second(&t, t.token, t.token_len);
    int rt;
    lwq_conn *c = first_initial(&t.p, &rt);
    ck_assert_int_eq(rt, -1); /* no Retry */
    ck_assert_ptr_nonnull(c);
    t.p.server = c;
    ck_assert(c->address_validated); /* RFC 9000 §8.1.3: no amplification limit */
    ck_assert(!c->retried);
    ck_assert(pair_run(&t.p, pair_established, 5 * LWQ_SEC));
    ck_assert(!t.p.client->retried);
    ck_assert_uint_eq(t.p.client->token_len, t.token_len);
    pair_free(&t.p);
}
END_TEST

/* Without Retry, a valid token validates the address at once (no 3x limit, RFC 9000 §8.1). */
START_TEST(test_new_token_validates_without_retry)
{
    tpair t;
    tpair_start(&t, 22, 0);
    first(&t);
    second(&t, t.token, t.token_len);
    int rt;
    lwq_conn *c = first_initial(&t.p, &rt);
    ck_assert_ptr_nonnull(c);
    ck_assert(c->address_validated);
    t.p.server = c;
    ck_assert(pair_run(&t.p, pair_established, 5 * LWQ_SEC));
    pair_free(&t.p);
}
END_TEST

/* Ignored tokens (RFC 9000 §8.1.3): the server sends a Retry as if there were none, never an
 * INVALID_TOKEN close; the connection then completes. */
static void ignored(tpair *t, const uint8_t *tok, size_t len, lwq_tstamp advance)
{
    t->p.now += advance;
    second(t, tok, len);
    int rt;
    lwq_conn *c = first_initial(&t->p, &rt);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(rt, LWQ_PKT_RETRY);
    /* Delivered for real: the Retry, then the handshake. */
    lwq_conn_del(t->p.client);
    t->p.nq = 0;
    ck_assert_int_eq(lwq_conn_client_new(&t->p.client, t->p.cctx, &t->p.path, NULL, 0, tok, len, t->p.now), 0);
    ck_assert(pair_run(&t->p, pair_established, 5 * LWQ_SEC));
    ck_assert(t->p.client->retried);
    ck_assert(!t->p.client->close_set);
    pair_free(&t->p);
}

START_TEST(test_tampered_token_ignored)
{
    tpair t;
    tpair_start(&t, 23, 1);
    first(&t);
    uint8_t bad[LWQ_NEW_TOKEN_LEN];
    memcpy(bad, t.token, sizeof(bad));
    bad[40] ^= 1;
    ignored(&t, bad, sizeof(bad), 0);
}
END_TEST

START_TEST(test_expired_token_ignored)
{
    tpair t;
    tpair_start(&t, 24, 1);
    first(&t);
    ignored(&t, t.token, t.token_len, LWQ_NEW_TOKEN_LIFETIME + LWQ_SEC);
}
END_TEST

START_TEST(test_foreign_token_ignored)
{
    tpair t;
    tpair_start(&t, 25, 1);
    first(&t);
    uint8_t foreign[32];
    memset(foreign, 0x4e, sizeof(foreign)); /* our magic, not our length: another server's token */
    ignored(&t, foreign, sizeof(foreign), 0);
}
END_TEST

/* Another address: the token does not validate it, but it is not an error either. */
START_TEST(test_token_other_address_ignored)
{
    tpair t;
    tpair_start(&t, 26, 1);
    first(&t);
    ((struct sockaddr_in *)&t.p.path.remote)->sin_addr.s_addr = htonl(0x7f000002);
    ignored(&t, t.token, t.token_len, 0);
}
END_TEST

/* A lost NEW_TOKEN is sent again (a fresh token); the client announces each one it gets. */
START_TEST(test_new_token_lost_resent)
{
    tpair t;
    tpair_start(&t, 27, 0);
    pair *p = &t.p;
    ck_assert(pair_run(p, pair_established, 5 * LWQ_SEC));
    /* Drop everything to the client for a while: the packet with NEW_TOKEN is lost. */
    p->loss_pct = 100;
    pair_run(p, NULL, 50 * LWQ_MS);
    p->loss_pct = 0;
    ck_assert(pair_run(p, got_token, 10 * LWQ_SEC));
    lwq_event ev;
    int n = 0;
    while (lwq_conn_next_event(p->client, &ev))
        n += ev.type == LWQ_EV_NEW_TOKEN;
    ck_assert_int_ge(n, 1);
    ck_assert(lwq_new_token_check(p->sctx, &p->path, p->client->early.token, p->client->early.token_len, p->now));
    pair_free(p);
}
END_TEST

Suite *suite_conn_token(void)
{
    Suite *s = suite_create("conn_token");
    TCase *tc = lwq_test_tcase("token");
    tcase_add_test(tc, test_token_checks);
    tcase_add_test(tc, test_new_token_skips_retry);
    tcase_add_test(tc, test_new_token_validates_without_retry);
    tcase_add_test(tc, test_tampered_token_ignored);
    tcase_add_test(tc, test_expired_token_ignored);
    tcase_add_test(tc, test_foreign_token_ignored);
    tcase_add_test(tc, test_token_other_address_ignored);
    tcase_add_test(tc, test_new_token_lost_resent);
    suite_add_tcase(s, tc);
    return s;
}
