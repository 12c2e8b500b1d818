/* UDP on loopback: addresses, batching, ECN, pktinfo, dual-stack, GSO/GRO and its fallback. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"
#include "io/udp.h"

static lwq_udp open_at(const char *hostport)
{
    lwq_addr a;
    lwq_udp u;
    ck_assert_int_eq(lwq_addr_parse(&a, hostport, 1), 0);
    ck_assert_int_eq(lwq_udp_open(&u, &a), 0);
    return u;
}

/* Receives until `want` datagrams (counting GRO segments) arrived or 2 s passed. */
static size_t recv_segments(lwq_udp *u, uint8_t bufs[][4096], lwq_udp_msg *out, size_t want, size_t *segs)
{
    size_t got = 0;
    *segs = 0;
    for (int tries = 0; tries < 200 && *segs < want; tries++) {
        struct pollfd p = {u->fd, POLLIN, 0};
        poll(&p, 1, 10);
        lwq_udp_msg m[8];
        for (int i = 0; i < 8; i++)
            m[i] = (lwq_udp_msg){.buf = bufs[got + (size_t)i < 16 ? got + (size_t)i : 15], .len = 4096};
        int r = lwq_udp_recv(u, m, 8);
        ck_assert_int_ge(r, 0);
        for (int i = 0; i < r && got < 16; i++) {
            out[got++] = m[i];
            *segs += m[i].segsize ? (m[i].len + m[i].segsize - 1) / m[i].segsize : 1;
        }
    }
    return got;
}

START_TEST(test_addr_parse_and_format)
{
    lwq_addr a;
    char buf[64];
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:4433", 0), 0);
    ck_assert_str_eq(lwq_addr_format(&a, buf, sizeof(buf)), "127.0.0.1:4433");
    ck_assert_uint_eq(lwq_addr_port(&a), 4433);
    ck_assert_int_eq(lwq_addr_parse(&a, "[::1]:443", 0), 0);
    ck_assert_str_eq(lwq_addr_format(&a, buf, sizeof(buf)), "[::1]:443");
    ck_assert_int_eq(lwq_addr_parse(&a, "8443", 1), 0);
    ck_assert_str_eq(lwq_addr_format(&a, buf, sizeof(buf)), "[::]:8443");
    ck_assert_int_eq(lwq_addr_parse(&a, "[::1]443", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "::1:443", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:44x", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:99999", 0), LWQ_ERR_INVAL); /* would wrap to 34463 */
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:65536", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:000443", 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_addr_parse(&a, "127.0.0.1:65535", 0), 0);
    ck_assert_uint_eq(lwq_addr_port(&a), 65535);
    ck_assert_int_eq(lwq_addr_parse(&a, "", 0), LWQ_ERR_INVAL);
    lwq_addr b;
    lwq_addr_parse(&a, "127.0.0.1:1", 0);
    lwq_addr_parse(&b, "127.0.0.1:1", 0);
    ck_assert(lwq_addr_equal(&a, &b));
    lwq_addr_parse(&b, "127.0.0.1:2", 0);
    ck_assert(!lwq_addr_equal(&a, &b));
}
END_TEST

START_TEST(test_batch_ecn_pktinfo_v4)
{
    lwq_udp srv = open_at("127.0.0.1:0"), cli = open_at("127.0.0.1:0");
    uint8_t payload[3][100];
    lwq_udp_msg out[3];
    for (int i = 0; i < 3; i++) {
        memset(payload[i], 'a' + i, sizeof(payload[i]));
        out[i] = (lwq_udp_msg){.buf = payload[i], .len = 50 + (size_t)i * 10, .peer = srv.local, .ecn = (uint8_t)i + 1};
    }
    ck_assert_int_eq(lwq_udp_send(&cli, out, 3), 3);
    static uint8_t bufs[16][4096];
    lwq_udp_msg in[16];
    size_t segs;
    ck_assert_uint_eq(recv_segments(&srv, bufs, in, 3, &segs), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(in[i].len, 50 + (size_t)i * 10);
        ck_assert_int_eq(in[i].buf[0], 'a' + i);
        ck_assert_uint_eq(in[i].ecn, (unsigned)i + 1); /* ECT(1), ECT(0), CE */
        ck_assert(lwq_addr_equal(&in[i].peer, &cli.local));
        char b[64];
        ck_assert_str_eq(lwq_addr_format(&in[i].local, b, sizeof(b)), lwq_addr_format(&srv.local, b + 32, 32));
    }
    lwq_udp_close(&srv);
    lwq_udp_close(&cli);
}
END_TEST

START_TEST(test_dual_stack_and_v6)
{
    lwq_udp srv = open_at("[::]:0"), cli4 = open_at("127.0.0.1:0"), cli6 = open_at("[::1]:0");
    ck_assert_int_eq(srv.v6only, 0);
    lwq_addr to4, to6;
    char b[64];
    snprintf(b, sizeof(b), "127.0.0.1:%u", lwq_addr_port(&srv.local));
    lwq_addr_parse(&to4, b, 0);
    snprintf(b, sizeof(b), "[::1]:%u", lwq_addr_port(&srv.local));
    lwq_addr_parse(&to6, b, 0);
    uint8_t x[20] = "four", y[20] = "six";
    lwq_udp_msg m4 = {.buf = x, .len = 5, .peer = to4, .ecn = 2}, m6 = {.buf = y, .len = 4, .peer = to6, .ecn = 2};
    ck_assert_int_eq(lwq_udp_send(&cli4, &m4, 1), 1);
    ck_assert_int_eq(lwq_udp_send(&cli6, &m6, 1), 1);
    static uint8_t bufs[16][4096];
    lwq_udp_msg in[16];
    size_t segs;
    ck_assert_uint_eq(recv_segments(&srv, bufs, in, 2, &segs), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(in[i].ecn, 2);
        if (in[i].len == 5) {
            ck_assert_int_eq(in[i].peer.ss.ss_family, AF_INET); /* unmapped from ::ffff:127.0.0.1 */
            ck_assert(lwq_addr_equal(&in[i].peer, &cli4.local));
            ck_assert_int_eq(in[i].local.ss.ss_family, AF_INET);
        } else {
            ck_assert_int_eq(in[i].peer.ss.ss_family, AF_INET6);
            ck_assert(lwq_addr_equal(&in[i].peer, &cli6.local));
        }
    }
    /* Reply to the IPv4 peer from the dual-stack socket. */
    lwq_udp_msg back = {.buf = x, .len = 5, .peer = cli4.local};
    ck_assert_int_eq(lwq_udp_send(&srv, &back, 1), 1);
    ck_assert_uint_eq(recv_segments(&cli4, bufs, in, 1, &segs), 1);
    ck_assert_mem_eq(in[0].buf, "four", 5);
    lwq_udp_close(&srv);
    lwq_udp_close(&cli4);
    lwq_udp_close(&cli6);
}
END_TEST

static void check_train(lwq_udp *cli, lwq_udp *srv)
{
    static uint8_t data[3000], bufs[16][4096];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    lwq_udp_msg m = {.buf = data, .len = sizeof(data), .segsize = 1200, .peer = srv->local};
    ck_assert_int_eq(lwq_udp_send(cli, &m, 1), 1);
    lwq_udp_msg in[16];
    size_t segs;
    size_t got = recv_segments(srv, bufs, in, 3, &segs);
    ck_assert_uint_eq(segs, 3);
    /* Reassemble whatever GRO did and compare segment boundaries and bytes. */
    size_t off = 0;
    for (size_t i = 0; i < got; i++) {
        size_t seg = in[i].segsize ? in[i].segsize : in[i].len;
        ck_assert(seg == 1200 || (off + in[i].len == sizeof(data) && in[i].len <= 1200));
        ck_assert_mem_eq(in[i].buf, data + off, in[i].len);
        off += in[i].len;
    }
    ck_assert_uint_eq(off, sizeof(data));
}

START_TEST(test_gso_train_and_fallback)
{
    lwq_udp srv = open_at("127.0.0.1:0"), cli = open_at("127.0.0.1:0");
    check_train(&cli, &srv); /* with GSO when the kernel has it */
    cli.gso = 0;
    check_train(&cli, &srv); /* split in user space */
    lwq_udp_close(&srv);
    lwq_udp_close(&cli);
}
END_TEST

/* The kernel refuses a GSO send (EIO where the device lacks checksum offload, as in the runner's containers on
 * older kernels; EINVAL here, with UDP checksums off on the socket): the send falls back to plain datagrams,
 * for good. */
START_TEST(test_gso_refused_falls_back)
{
    lwq_udp srv = open_at("127.0.0.1:0"), cli = open_at("127.0.0.1:0");
    if (cli.gso) {
        int one = 1;
        ck_assert_int_eq(setsockopt(cli.fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
        check_train(&cli, &srv);
        ck_assert_int_eq(cli.gso, 0);
        check_train(&cli, &srv);
    } else {
        fprintf(stderr, "udp: no UDP GSO in this kernel, the refusal is not exercised\n");
    }
    lwq_udp_close(&srv);
    lwq_udp_close(&cli);
}
END_TEST

START_TEST(test_recv_empty_and_refused)
{
    lwq_udp u = open_at("127.0.0.1:0");
    uint8_t buf[100];
    lwq_udp_msg m = {.buf = buf, .len = sizeof(buf)};
    ck_assert_int_eq(lwq_udp_recv(&u, &m, 1), 0);
    lwq_udp_close(&u);
    lwq_addr bad;
    ck_assert_int_eq(lwq_addr_parse(&bad, "192.0.2.1:1", 0), 0);
    ck_assert_int_eq(lwq_udp_open(&u, &bad), LWQ_ERR_IO); /* not a local address */
}
END_TEST

/* A listening group refuses a port another socket holds, with or without SO_REUSEPORT; the rest of
 * one group still joins it. */
START_TEST(test_port_in_use_refused)
{
    lwq_addr any, a;
    lwq_udp holder, first, second, mine;
    ck_assert_int_eq(lwq_addr_parse(&any, "127.0.0.1:0", 0), 0);
    ck_assert_int_eq(lwq_udp_open(&holder, &any), 0); /* a plain socket: the kernel refuses us anyway */
    a = holder.local;
    ck_assert_int_eq(lwq_udp_open_shared(&first, &a, LWQ_UDP_REUSEPORT_FIRST), LWQ_ERR_ADDR_IN_USE);
    ck_assert_int_eq(first.fd, -1);
    lwq_udp_close(&holder);
    /* another SO_REUSEPORT group on the port: the kernel would let us in, the probe does not */
    ck_assert_int_eq(lwq_udp_open_shared(&holder, &a, 1), 0);
    ck_assert_int_eq(lwq_udp_open_shared(&first, &a, LWQ_UDP_REUSEPORT_FIRST), LWQ_ERR_ADDR_IN_USE);
    /* the check after the bind: a second reuseport socket on the port is seen in /proc/net/udp */
    ck_assert_int_eq(lwq_udp_open_shared(&second, &a, 1), 0);
    if (access("/proc/net/udp", R_OK) == 0)
        ck_assert_int_eq(lwq_udp_check_alone(&holder), LWQ_ERR_ADDR_IN_USE);
    lwq_udp_close(&second);
    ck_assert_int_eq(lwq_udp_check_alone(&holder), 0);
    lwq_udp_close(&holder);
    /* free now: our group takes it, and its second socket joins */
    ck_assert_int_eq(lwq_udp_open_shared(&first, &a, LWQ_UDP_REUSEPORT_FIRST), 0);
    ck_assert_int_eq(lwq_udp_open_shared(&mine, &a, 1), 0);
    lwq_udp_close(&mine);
    lwq_udp_close(&first);
}
END_TEST

Suite *suite_udp(void)
{
    Suite *s = suite_create("udp");
    TCase *tc = lwq_test_tcase("udp");
    tcase_add_test(tc, test_addr_parse_and_format);
    tcase_add_test(tc, test_batch_ecn_pktinfo_v4);
    tcase_add_test(tc, test_dual_stack_and_v6);
    tcase_add_test(tc, test_gso_train_and_fallback);
    tcase_add_test(tc, test_gso_refused_falls_back);
    tcase_add_test(tc, test_recv_empty_and_refused);
    tcase_add_test(tc, test_port_in_use_refused);
    suite_add_tcase(s, tc);
    return s;
}
