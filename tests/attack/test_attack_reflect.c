/* Reflection and amplification through the server (issue 19): spoofed datagrams that draw Version
 * Negotiation, stateless resets or a handshake flight must not make the server send more bytes to the
 * spoofed address than it received from it (RFC 9000 §8, §10.3, §21.1.1.1), one answer per datagram at
 * most, while a legitimate client on the same lwq_server completes its fetch. */
#include "attack.h"

#define KB 1024

/* One spoofed datagram into the server; returns the bytes of the answers the server queued for it
 * (lwq_server_send), and their count in *answers. */
static size_t spoof(atk *a, const lwq_path *from, const uint8_t *d, size_t n, unsigned *answers)
{
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(a->srv, from, d, n, 0, a->now, &c, NULL), 0);
    ck_assert_ptr_null(c); /* nothing here may make a connection */
    uint8_t buf[1500];
    lwq_path to;
    ssize_t k;
    size_t total = 0;
    *answers = 0;
    while ((k = lwq_server_send(a->srv, &to, buf, sizeof(buf), a->now)) > 0) {
        ck_assert_mem_eq(&to.remote, &from->remote, sizeof(struct sockaddr_in));
        total += (size_t)k;
        (*answers)++;
    }
    return total;
}

static lwq_path spoofed(unsigned i)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "172.16.%u.%u", (i >> 8) & 255, i & 255);
    return fuzz_path("10.0.0.2", 443, ip, (uint16_t)(2000 + i % 60000));
}

/* Long headers of an unknown version (RFC 9000 §6): datagrams of 1200 bytes and more draw one Version
 * Negotiation packet each, smaller than the datagram; shorter ones draw nothing (§14.1). */
START_TEST(test_vn_reflection)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    atk_fetch_start(&a, 256 * KB);
    unsigned flood = 2000 * atk_scale();
    uint64_t in = 0, out = 0, answered = 0;
    for (unsigned i = 0; i < flood; i++) {
        uint8_t d[1500];
        size_t n = i % 3 == 0 ? 1199 : 1200 + i % 300;
        memset(d, 0, n);
        d[0] = 0xc0;
        lwq_put32(d + 1, 0x1a2a3a4a + (i & 0x0f0f0f0f));
        d[5] = 20; /* the longest CIDs, the largest answer */
        memset(d + 6, 0xaa, 20);
        d[26] = 20;
        memset(d + 27, 0xbb, 20);
        lwq_path from = spoofed(i);
        unsigned ans;
        size_t got = spoof(&a, &from, d, n, &ans);
        ck_assert_uint_le(ans, 1);
        ck_assert_uint_lt(got, n);
        if (n < 1200)
            ck_assert_uint_eq(ans, 0);
        in += n;
        out += got;
        answered += ans;
        if (i % 20 == 0)
            atk_step(&a);
    }
    ck_assert_uint_eq(answered, flood - (flood + 2) / 3);
    ck_assert_uint_le(out * 10, in); /* under a tenth */
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 512 * KB); /* the fetch's own */
    ck_assert_msg(atk_run(&a, atk_fetch_done, 20000), "fetch stalled at %llu", (unsigned long long)a.good.got);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "vn_reflection: %u datagrams, %llu bytes in, %llu answers, %llu bytes out\n", flood,
                (unsigned long long)in, (unsigned long long)answered, (unsigned long long)out);
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

/* Short headers for connections the server does not know (RFC 9000 §10.3): the stateless reset is always
 * shorter than the datagram that drew it (§10.3.3: so two endpoints cannot loop), at most 43 bytes, and
 * nothing answers a datagram too short to hide a reset (21 bytes). A reset fed back to the server draws a
 * shorter one, so a loop between two servers ends within a few rounds. */
START_TEST(test_stateless_reset_reflection)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    atk_fetch_start(&a, 256 * KB);
    unsigned flood = 3000 * atk_scale();
    uint64_t in = 0, out = 0;
    for (unsigned i = 0; i < flood; i++) {
        uint8_t d[1500];
        size_t n = 1 + i % 1400;
        for (size_t k = 0; k < n; k++)
            d[k] = (uint8_t)(i * 31 + k * 7);
        d[0] = 0x40 | (d[0] & 0x3f); /* short header, fixed bit */
        lwq_path from = spoofed(i);
        unsigned ans;
        size_t got = spoof(&a, &from, d, n, &ans);
        ck_assert_uint_le(ans, 1);
        if (n <= LWQ_STATELESS_RESET_MIN)
            ck_assert_uint_eq(ans, 0);
        if (ans) {
            ck_assert_uint_lt(got, n);
            ck_assert_uint_le(got, 43);
        }
        in += n;
        out += got;
        if (i % 20 == 0)
            atk_step(&a);
    }
    ck_assert_uint_le(out * 10, in);
    /* the loop: each answer back in as a new datagram */
    uint8_t d[1500];
    size_t n = 1400;
    memset(d, 0x47, n);
    int rounds = 0;
    lwq_path from = spoofed(7);
    for (;;) {
        lwq_conn *c = NULL;
        ck_assert_int_eq(lwq_server_recv(a.srv, &from, d, n, 0, a.now, &c, NULL), 0);
        ssize_t k = lwq_server_send(a.srv, NULL, d, sizeof(d), a.now);
        if (k <= 0)
            break;
        ck_assert_uint_lt((size_t)k, n);
        n = (size_t)k;
        rounds++;
        ck_assert_int_lt(rounds, 30);
    }
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 512 * KB);
    ck_assert_msg(atk_run(&a, atk_fetch_done, 20000), "fetch stalled at %llu", (unsigned long long)a.good.got);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "stateless_reset_reflection: %u datagrams, %llu bytes in, %llu bytes out, loop %d rounds\n",
                flood, (unsigned long long)in, (unsigned long long)out, rounds);
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

/* Spoofed Initials (real ClientHellos from addresses that never answer): whatever the server sends an
 * address, its first flight and every probe after it, stays within three times what that address sent
 * (RFC 9000 §8.1), across its probe timeouts; then the half-open connections time out. */
START_TEST(test_initial_amplification)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    enum { N = 8 };
    atk_fetch_start(&a, 256 * KB);
    lwq_conn *half[N];
    uint64_t in[N], out[N];
    unsigned made = 0;
    for (unsigned i = 0; i < N; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "172.31.%u.9", i);
        lwq_path cp = fuzz_path(ip, (uint16_t)(3000 + i), "10.0.0.2", 443);
        lwq_path sp = fuzz_path("10.0.0.2", 443, ip, (uint16_t)(3000 + i));
        lwq_conn *cl;
        ck_assert_int_eq(lwq_conn_client_new(&cl, a.cctx, &cp, NULL, 0, NULL, 0, a.now), 0);
        lwq_conn_set_null_protection(cl);
        uint8_t d[1500];
        ssize_t n = fuzz_conn_out(cl, d, sizeof(d), a.now);
        ck_assert_int_ge(n, 1200);
        lwq_conn_del(cl);
        lwq_conn *sc = NULL;
        int created = 0;
        ck_assert_int_eq(lwq_server_recv(a.srv, &sp, d, (size_t)n, 0, a.now, &sc, &created), 0);
        /* a server may refuse or Retry a handshake under load: then it answered statelessly, which is smaller */
        uint8_t r[1500];
        ssize_t k;
        while ((k = lwq_server_send(a.srv, NULL, r, sizeof(r), a.now)) > 0)
            ck_assert_int_lt(k, n);
        made += sc != NULL;
        half[i] = sc;
        in[i] = (uint64_t)n;
        out[i] = 0;
    }
    for (int ms = 0; ms < 60000; ms += 10) {
        a.now += 10 * LWQ_MS;
        for (unsigned i = 0; i < N; i++) {
            if (!half[i])
                continue;
            if (lwq_conn_next_timeout(half[i]) <= a.now)
                (void)lwq_conn_handle_timeout(half[i], a.now);
            uint8_t d[1500];
            ssize_t n;
            while ((n = fuzz_conn_out(half[i], d, sizeof(d), a.now)) > 0)
                out[i] += (uint64_t)n;
            ck_assert_msg(out[i] <= 3 * in[i], "%llu bytes sent to an address that sent %llu",
                          (unsigned long long)out[i], (unsigned long long)in[i]);
            if (lwq_conn_is_closed(half[i])) {
                lwq_server_remove(a.srv, half[i]);
                half[i] = NULL;
            }
        }
        if (ms % 100 == 0 || ms < 2000)
            atk_step(&a);
        if (ms == 2000)
            ck_assert_msg(atk_fetch_done(&a), "fetch stalled at %llu", (unsigned long long)a.good.got);
    }
    ck_assert_uint_gt(made, 0);
    for (unsigned i = 0; i < N; i++)
        ck_assert_msg(half[i] == NULL, "a half-open connection outlived its idle timeout");
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

Suite *suite_attack_reflect(void)
{
    Suite *s = suite_create("attack_reflect");
    TCase *tc = lwq_test_tcase("attack_reflect");
    tcase_add_test(tc, test_vn_reflection);
    tcase_add_test(tc, test_stateless_reset_reflection);
    tcase_add_test(tc, test_initial_amplification);
    suite_add_tcase(s, tc);
    return s;
}
