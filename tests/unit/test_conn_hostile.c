/* Hostile peers on the sans-IO API (issue classes of docs/security.md): a client that makes the server
 * send ACK-only packets and never acknowledges them, and one that acknowledges packets it never got.
 * LWQ_ATTACK_FULL=1 (`make check-attack`) runs them at the size of the original reproduction. */
#include "conn_echo.h"
#include <arpa/inet.h>
#include "quic/ranges.h"

static int attack_full(void)
{
    const char *v = getenv("LWQ_ATTACK_FULL");
    return v && *v && *v != '0';
}

static int established(pair *p)
{
    return pair_established(p) && p->server->handshake_confirmed && p->client->handshake_confirmed;
}

static void send_all(lwq_conn *c, lwq_tstamp now)
{
    uint8_t buf[PAIR_DGRAM];
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    for (int i = 0; i < 1000 && lwq_conn_send(c, &path, buf, sizeof(buf), 1, &seg, &ecn, now) > 0; i++)
        ;
}

/* ~9,000 PING-only packets that acknowledge nothing: the server answers with ACK-only packets a peer
 * never has to acknowledge (RFC 9000 §13.2.4). They must not fill its sent map for good, its timer
 * must not stay due (a spinning event loop), and the connection must still carry data afterwards. */
START_TEST(test_ack_only_flood_no_wedge)
{
    pair p;
    echo e;
    int full = attack_full();
    pair_init(&p, 901);
    if (!full)
        p.scfg.max_sent_packets = 64; /* the same wedge with a small map */
    p.ccfg.max_sent_packets = 1 << 16;
    pair_start(&p);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    pair_run(&p, NULL, 200 * LWQ_MS);
    size_t n = full ? 9000 : 600, spins = 0, max_tracked = 0;
    lwq_sentmap *sm = &p.server->rec.spaces[LWQ_SPACE_APP];
    for (size_t i = 0; i < n; i++) {
        p.now += LWQ_MS;
        lwq_pn_space *csp = &p.client->sp[LWQ_SPACE_APP];
        csp->ack_pending = csp->ack_now = 0; /* acknowledge nothing, ever */
        csp->probes = 1;                      /* a PING */
        uint8_t buf[PAIR_DGRAM];
        lwq_path path;
        size_t seg;
        uint8_t ecn;
        ssize_t k = lwq_conn_send(p.client, &path, buf, sizeof(buf), 1, &seg, &ecn, p.now);
        ck_assert_int_gt(k, 0);
        lwq_conn *sc = NULL;
        int created = 0;
        ck_assert_int_eq(lwq_server_recv(p.srv, &p.path, buf, (size_t)k, 0, p.now, &sc, &created), 0);
        ck_assert_ptr_eq(sc, p.server);
        /* The attacker reads nothing the server sends. A timer still due after the server has acted
         * on it is an event loop that never sleeps. */
        for (int round = 0; round < 2; round++) {
            if (lwq_conn_next_timeout(p.server) <= p.now)
                lwq_conn_handle_timeout(p.server, p.now);
            send_all(p.server, p.now);
        }
        if (lwq_conn_next_timeout(p.server) <= p.now)
            spins++;
        if (sm->count > max_tracked)
            max_tracked = sm->count;
    }
    ck_assert_msg(spins == 0, "server timer left due %zu times", spins);
    ck_assert_uint_le(max_tracked, p.scfg.max_sent_packets);
    ck_assert(!lwq_conn_is_closed(p.server));
    /* The attacker turns into an honest client: the connection still works both ways. */
    p.nq = 0;
    echo_init(&e, &p, 2, 200 << 10);
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    pair_free(&p);
}
END_TEST

/* RFC 9000 §21.4: a client acknowledging every packet number up to the largest sent, received or
 * not, is caught by a packet number the server skipped, and closed with PROTOCOL_VIOLATION. */
START_TEST(test_optimistic_ack_caught)
{
    pair p;
    echo e;
    pair_init(&p, 902);
    pair_start(&p);
    echo_init(&e, &p, 1, 1 << 20); /* ~900 server packets: at least one skip */
    ck_assert(pair_run(&p, echo_step, 60 * LWQ_SEC));
    echo_check(&e);
    lwq_sentmap *sm = &p.server->rec.spaces[LWQ_SPACE_APP];
    ck_assert_uint_ge(sm->nskipped, 1);
    ck_assert(!lwq_conn_is_closed(p.server)); /* honest acknowledgements never name a skipped number */
    lwq_pn_space *csp = &p.client->sp[LWQ_SPACE_APP];
    ck_assert_int_eq(lwq_ranges_add(&csp->recvd, 0, sm->next_pn), 0);
    csp->ack_pending = csp->ack_now = 1;
    pair_flush(&p);
    p.now += p.delay;
    pair_deliver(&p);
    ck_assert(p.server->close_set);
    ck_assert_uint_eq(p.server->close.code, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    ck_assert_ptr_nonnull(strstr(p.server->close.reason, "skipped"));
    pair_free(&p);
}
END_TEST

static void set_addr(lwq_path *path, uint32_t ip, uint16_t port)
{
    memset(path, 0, sizeof(*path));
    struct sockaddr_in *r = (struct sockaddr_in *)&path->remote, *l = (struct sockaddr_in *)&path->local;
    r->sin_family = l->sin_family = AF_INET;
    r->sin_addr.s_addr = htonl(ip);
    r->sin_port = htons(port);
    l->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1:443 */
    l->sin_port = htons(443);
    path->local_len = path->remote_len = sizeof(struct sockaddr_in);
}

/* One attacking client's first flight (and, when answer_retry, its second after the server's
 * Retry); returns 1 when the server made a connection for it. The attacker then goes silent. */
static int flood_one(pair *p, const lwq_path *path, int answer_retry)
{
    lwq_conn *cl;
    ck_assert_int_eq(lwq_conn_client_new(&cl, p->cctx, path, NULL, 0, NULL, 0, p->now), 0);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    size_t seg;
    uint8_t ecn;
    int made = 0, retried = 0;
    for (int round = 0; round < 2 && !made && (round == 0 || retried); round++) {
        ssize_t n = lwq_conn_send(cl, &out, buf, sizeof(buf), 1, &seg, &ecn, p->now);
        ck_assert_int_gt(n, 0);
        lwq_conn *sc = NULL;
        int created = 0;
        ck_assert_int_eq(lwq_server_recv(p->srv, path, buf, (size_t)n, 0, p->now, &sc, &created), 0);
        made = created;
        lwq_path rp;
        while ((n = lwq_server_send(p->srv, &rp, buf, sizeof(buf), p->now)) > 0)
            if (answer_retry && round == 0) {
                ck_assert_int_eq(lwq_conn_recv(cl, path, buf, (size_t)n, 0, p->now), 0);
                retried = 1; /* unless the Retry rate per address ran out */
            }
        if (!answer_retry)
            break;
    }
    lwq_conn_del(cl);
    return made;
}

/* Handshake-slot exhaustion: spoofed Initials from many addresses, then Initials from one real address
 * that answers every Retry. Past a quarter of max_handshakes the server asks for a Retry, so spoofed
 * floods make no connections; one address holds few half-open handshakes; a legitimate client from
 * elsewhere still completes its handshake and a transfer. */
START_TEST(test_handshake_flood_leaves_room)
{
    pair p;
    echo e;
    int full = attack_full();
    pair_init(&p, 903);
    set_addr(&p.path, 0xcb007101, 50000); /* the legitimate client, 203.0.113.1 */
    pair_start(&p);
    lwq_server_del(p.srv);
    lwq_server_limits lim = {.max_handshakes = 40, .max_handshakes_per_addr = 4};
    ck_assert_int_eq(lwq_server_new(&p.srv, p.sctx, &lim), 0);
    size_t spoofed = full ? 2000 : 200, made = 0;
    lwq_path path;
    for (size_t i = 0; i < spoofed; i++) {
        set_addr(&path, 0xc6336400 + (uint32_t)(i % 250), (uint16_t)(1024 + i)); /* 198.51.100.x */
        made += (size_t)flood_one(&p, &path, 0);
    }
    ck_assert_uint_eq(made, 10); /* up to retry_above = 40 / 4, then Retry for everyone */
    size_t real = full ? 500 : 50, made_real = 0;
    for (size_t i = 0; i < real; i++) {
        set_addr(&path, 0xc6336501, (uint16_t)(2000 + i)); /* 198.51.101.1, answering each Retry */
        made_real += (size_t)flood_one(&p, &path, 1);
    }
    ck_assert_uint_eq(made_real, 4); /* max_handshakes_per_addr */
    echo_init(&e, &p, 1, 100 << 10);
    ck_assert(pair_run(&p, echo_step, 30 * LWQ_SEC));
    echo_check(&e);
    ck_assert(p.client->retried); /* it was asked to prove its address, and did */
    pair_free(&p);
}
END_TEST

/* Memory budget: a bulk upload grows the server's receive window only as far as the shared budget
 * allows, a connection the budget cannot cover is refused, and everything is given back at the end. */
START_TEST(test_memory_budget)
{
    lwq_budget *b;
    ck_assert_int_eq(lwq_budget_new(&b, 3 << 19), 0); /* 1.5 MiB */
    ck_assert_int_eq(lwq_budget_take(b, 1 << 20), 0);
    ck_assert_int_eq(lwq_budget_take(b, 1 << 20), LWQ_ERR_LIMIT);
    ck_assert_uint_eq(lwq_budget_used(b), 1 << 20);
    lwq_budget_give(b, 1 << 20);
    ck_assert_uint_eq(lwq_budget_used(b), 0);
    pair p;
    echo e;
    pair_init(&p, 904); /* without a budget the same upload grows the window past it */
    pair_start(&p);
    echo_init(&e, &p, 2, 4 << 20);
    ck_assert(pair_run(&p, echo_step, 120 * LWQ_SEC));
    ck_assert_uint_gt(p.server->st.rx_window, 3 << 19);
    pair_free(&p);
    pair_init(&p, 904);
    p.scfg.mem_budget = b;
    pair_start(&p);
    echo_init(&e, &p, 2, 4 << 20);
    ck_assert(pair_run(&p, echo_step, 120 * LWQ_SEC));
    echo_check(&e);
    ck_assert_uint_le(p.server->st.rx_window, 3 << 19);
    ck_assert_uint_eq(lwq_budget_used(b), p.server->st.rx_window);
    /* A second client: the server cannot reserve its initial window, and drops its Initial. */
    lwq_conn *cl;
    lwq_path other = p.path;
    ((struct sockaddr_in *)&other.remote)->sin_port ^= 0x4321;
    ck_assert_int_eq(lwq_conn_client_new(&cl, p.cctx, &other, NULL, 0, NULL, 0, p.now), 0);
    uint8_t buf[PAIR_DGRAM];
    lwq_path out;
    size_t seg;
    uint8_t ecn;
    ssize_t n = lwq_conn_send(cl, &out, buf, sizeof(buf), 1, &seg, &ecn, p.now);
    ck_assert_int_gt(n, 0);
    lwq_conn *sc = NULL;
    int created = 0;
    ck_assert_int_eq(lwq_server_recv(p.srv, &other, buf, (size_t)n, 0, p.now, &sc, &created), 0);
    ck_assert(!created);
    lwq_conn_del(cl);
    pair_free(&p);
    ck_assert_uint_eq(lwq_budget_used(b), 0);
    lwq_budget_del(b);
}
END_TEST

Suite *suite_conn_hostile(void)
{
    Suite *s = suite_create("conn_hostile");
    TCase *tc = lwq_test_tcase("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ack_only_flood_no_wedge);
    tcase_add_test(tc, test_optimistic_ack_caught);
    tcase_add_test(tc, test_handshake_flood_leaves_room);
    tcase_add_test(tc, test_memory_budget);
    suite_add_tcase(s, tc);
    return s;
}
