/* The pure parts of tools/lwquic-netsim: link model, impairments, option parsing, pcap records. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "lwquic-netsim/link.c"
#include "lwquic-netsim/pcap.c"

#define MS 1000000ull

START_TEST(test_link_serialises_and_delays)
{
    ns_link l;
    ns_link_init(&l, 10000000, 15 * MS, 25);
    /* 1500 IP bytes at 10 Mbit/s: 1.2 ms on the wire, then 15 ms. */
    ck_assert_uint_eq(ns_link_admit(&l, 1000, 1500), 1000 + 1200000 + 15 * MS);
    /* The second waits for the first. */
    ck_assert_uint_eq(ns_link_admit(&l, 1000, 1500), 1000 + 2400000 + 15 * MS);
    /* An idle link starts at once. */
    ck_assert_uint_eq(ns_link_admit(&l, 100 * MS, 100), 100 * MS + 80000 + 15 * MS);
    ck_assert_uint_eq(ns_link_backlog(&l, 100 * MS + 80000), 0);
}
END_TEST

START_TEST(test_link_tail_drops_after_queue_plus_one)
{
    ns_link l;
    ns_link_init(&l, 10000000, 15 * MS, 25);
    for (int i = 0; i < 26; i++)
        ck_assert_uint_ne(ns_link_admit(&l, 0, 1500), 0);
    ck_assert_uint_eq(ns_link_backlog(&l, 0), 26);
    ck_assert_uint_eq(ns_link_admit(&l, 0, 1500), 0);
    /* One serialisation time later one slot is free again, and only one. */
    ck_assert_uint_eq(ns_link_admit(&l, 1200000, 1500), 27 * 1200000 + 15 * MS);
    ck_assert_uint_eq(ns_link_admit(&l, 1200000, 1500), 0);
    /* Drained: 26 more fit. */
    ck_assert_uint_eq(ns_link_backlog(&l, 27 * 1200000), 0);
}
END_TEST

START_TEST(test_link_throughput_matches_rate)
{
    ns_link l;
    ns_link_init(&l, 10000000, 0, 25);
    uint64_t t = 0, last = 0;
    int sent = 0;
    /* A sender that keeps the queue full for one second delivers 10 Mbit. */
    for (t = 0; t < 1000 * MS; t += 100000) {
        uint64_t due = ns_link_admit(&l, t, 1250);
        if (due) {
            sent++;
            last = due;
        }
    }
    ck_assert_int_ge(sent, 1000);
    ck_assert_int_le(sent, 1000 + 26);
    ck_assert_uint_ge(last, 1000 * MS);
}
END_TEST

START_TEST(test_burst_caps_consecutive_hits)
{
    ns_rng r;
    ns_rng_seed(&r, 7);
    ns_burst b = {1000, 3, 0};
    /* Rate 100%: three in a row, then one forced through. */
    for (int round = 0; round < 5; round++) {
        ck_assert_int_eq(ns_burst_hit(&b, &r), 1);
        ck_assert_int_eq(ns_burst_hit(&b, &r), 1);
        ck_assert_int_eq(ns_burst_hit(&b, &r), 1);
        ck_assert_int_eq(ns_burst_hit(&b, &r), 0);
    }
    ns_burst off = {0, 3, 0};
    ck_assert_int_eq(ns_burst_hit(&off, &r), 0);
}
END_TEST

START_TEST(test_burst_rate_is_close)
{
    ns_rng r;
    ns_rng_seed(&r, 99);
    ns_burst b;
    ck_assert_int_eq(ns_parse_burst("30,3", &b), 0);
    int hits = 0, run = 0, maxrun = 0;
    for (int i = 0; i < 100000; i++) {
        if (ns_burst_hit(&b, &r)) {
            hits++;
            run++;
            maxrun = run > maxrun ? run : maxrun;
        } else {
            run = 0;
        }
    }
    /* 30% minus what the burst cap forces through: between 27% and 31%. */
    ck_assert_int_ge(hits, 27000);
    ck_assert_int_le(hits, 31000);
    ck_assert_int_eq(maxrun, 3);
}
END_TEST

START_TEST(test_impair_droplist_counts_from_one)
{
    ns_rng r;
    ns_rng_seed(&r, 1);
    ns_dir_cfg d;
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(ns_parse_list("2,3,4,5,6,7", d.droplist, NS_MAX_DROPLIST, &d.ndroplist), 0);
    uint8_t p[10] = {0};
    int expect[9] = {NS_PASS, NS_DROP_LIST, NS_DROP_LIST, NS_DROP_LIST, NS_DROP_LIST, NS_DROP_LIST, NS_DROP_LIST,
                     NS_PASS, NS_PASS};
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(ns_impair(&d, &r, p, sizeof(p)), expect[i]);
}
END_TEST

START_TEST(test_corrupt_changes_one_early_byte_never_vn)
{
    ns_rng r;
    ns_rng_seed(&r, 3);
    ns_dir_cfg d;
    memset(&d, 0, sizeof(d));
    d.corrupt.permille = 1000;
    uint8_t p[1200], q[1200];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(p); i++)
            p[i] = (uint8_t)(i * 7 + 1);
        memcpy(q, p, sizeof(p));
        d.corrupt.run = 0;
        ck_assert_int_eq(ns_impair(&d, &r, p, sizeof(p)), NS_CORRUPTED);
        int diff = 0, where = -1;
        for (size_t i = 0; i < sizeof(p); i++)
            if (p[i] != q[i])
                diff++, where = (int)i;
        ck_assert_int_eq(diff, 1);
        ck_assert_int_lt(where, 50);
    }
    uint8_t vn[20] = {0xc0, 0, 0, 0, 0, 0, 0, 0x0a, 0x0a, 0x0a, 0x0a};
    ck_assert_int_eq(ns_is_vn(vn, sizeof(vn)), 1);
    memcpy(q, vn, sizeof(vn));
    d.corrupt.run = 0;
    ck_assert_int_eq(ns_impair(&d, &r, vn, sizeof(vn)), NS_PASS);
    ck_assert_int_eq(memcmp(q, vn, sizeof(vn)), 0);
    d.corrupt_drops = 1;
    d.corrupt.run = 0;
    ck_assert_int_eq(ns_impair(&d, &r, p, sizeof(p)), NS_DROP_CORRUPT);
}
END_TEST

START_TEST(test_blackhole_window)
{
    ns_blackhole b = {5000 * MS, 2000 * MS};
    ck_assert_int_eq(ns_blackhole_active(&b, 100, 100 + 4999 * MS), 0);
    ck_assert_int_eq(ns_blackhole_active(&b, 100, 100 + 5000 * MS), 1);
    ck_assert_int_eq(ns_blackhole_active(&b, 100, 100 + 6999 * MS), 1);
    ck_assert_int_eq(ns_blackhole_active(&b, 100, 100 + 7000 * MS), 0);
    ns_blackhole none = {0, 0};
    ck_assert_int_eq(ns_blackhole_active(&none, 0, 0), 0);
}
END_TEST

START_TEST(test_option_parsing)
{
    ns_burst b;
    ck_assert_int_eq(ns_parse_burst("2,3", &b), 0);
    ck_assert_uint_eq(b.permille, 20);
    ck_assert_uint_eq(b.burst, 3);
    ck_assert_int_eq(ns_parse_burst("0.5", &b), 0);
    ck_assert_uint_eq(b.permille, 5);
    ck_assert_uint_eq(b.burst, 0);
    const char *bad[] = {"", "101,3", "-1,3", "30,", "30,x", "30,3,4", "30,1.5", ",3", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ns_parse_burst(bad[i], &b) == -1, "%s accepted", bad[i]);

    uint32_t l[4];
    size_t n;
    ck_assert_int_eq(ns_parse_list("1,20,300", l, 4, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(l[2], 300);
    ck_assert_int_eq(ns_parse_list("1,2,3,4,5", l, 4, &n), -1);
    ck_assert_int_eq(ns_parse_list("0", l, 4, &n), -1);
    ck_assert_int_eq(ns_parse_list("1,,2", l, 4, &n), -1);
    ck_assert_int_eq(ns_parse_list("", l, 4, &n), -1);

    uint64_t a, c;
    int flag;
    ck_assert_int_eq(ns_parse_times("1,5", &a, &c, &flag), 0);
    ck_assert_uint_eq(a, 1000 * MS);
    ck_assert_uint_eq(c, 5000 * MS);
    ck_assert_int_eq(flag, 0);
    ck_assert_int_eq(ns_parse_times("0.5,2.25,addr", &a, &c, &flag), 0);
    ck_assert_uint_eq(a, 500 * MS);
    ck_assert_uint_eq(c, 2250 * MS);
    ck_assert_int_eq(flag, 1);
    ck_assert_int_eq(ns_parse_times("1", &a, &c, &flag), -1);
    ck_assert_int_eq(ns_parse_times("1,5,port", &a, &c, &flag), -1);
}
END_TEST

static uint32_t get32le(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint32_t csum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return acc;
}

START_TEST(test_pcap_records_v4_and_v6)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ns_pcap_header(f), 0);
    ns_ep c4 = {0, {193, 167, 0, 100}, 50000}, s4 = {0, {193, 167, 100, 100}, 443};
    ns_ep c6 = {1, {0xfd, 0, 0xca, 0xfe, 0xca, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 50001};
    ns_ep s6 = {1, {0xfd, 0, 0xca, 0xfe, 0xca, 0xfe, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 443};
    uint8_t payload[33];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(0xc0 + i);
    ck_assert_int_eq(ns_pcap_record(f, 1700000000123456789ull, &c4, &s4, 2, payload, sizeof(payload)), 0);
    ck_assert_int_eq(ns_pcap_record(f, 1700000001000000000ull, &s6, &c6, 1, payload, sizeof(payload)), 0);
    fclose(f);
    const uint8_t *p = (const uint8_t *)buf;
    ck_assert_uint_eq(len, 24 + 16 + 28 + 33 + 16 + 48 + 33);
    ck_assert_uint_eq(get32le(p), 0xa1b23c4d);
    ck_assert_uint_eq(get32le(p + 20), 101);
    const uint8_t *r = p + 24;
    ck_assert_uint_eq(get32le(r), 1700000000u);
    ck_assert_uint_eq(get32le(r + 4), 123456789u);
    ck_assert_uint_eq(get32le(r + 8), 61);
    const uint8_t *ip = r + 16;
    ck_assert_uint_eq(ip[0], 0x45);
    ck_assert_uint_eq(ip[1] & 3, 2);
    ck_assert_uint_eq(ip[2] << 8 | ip[3], 61);
    ck_assert_uint_eq(csum(ip, 20, 0), 0xffff);
    ck_assert_uint_eq(ip[12], 193);
    ck_assert_uint_eq(ip[19], 100);
    const uint8_t *udp = ip + 20;
    ck_assert_uint_eq(udp[0] << 8 | udp[1], 50000);
    ck_assert_uint_eq(udp[2] << 8 | udp[3], 443);
    ck_assert_uint_eq(udp[4] << 8 | udp[5], 41);
    /* UDP checksum over the pseudo-header verifies (RFC 768). */
    uint32_t ps = csum(ip + 12, 8, 0) + 17 + 41;
    ck_assert_uint_eq(csum(udp, 41, ps), 0xffff);
    ck_assert_int_eq(memcmp(udp + 8, payload, sizeof(payload)), 0);
    const uint8_t *r2 = udp + 41;
    ck_assert_uint_eq(get32le(r2 + 8), 81);
    const uint8_t *ip6 = r2 + 16;
    ck_assert_uint_eq(ip6[0] >> 4, 6);
    ck_assert_uint_eq((ip6[0] << 4 | ip6[1] >> 4) & 0xff, 1); /* traffic class ECT(1) */
    ck_assert_uint_eq(ip6[4] << 8 | ip6[5], 41);
    ck_assert_uint_eq(ip6[6], 17);
    ck_assert_uint_eq(ip6[8 + 6], 1);
    const uint8_t *udp6 = ip6 + 40;
    ck_assert_uint_eq(udp6[0] << 8 | udp6[1], 443);
    ck_assert_uint_eq(csum(udp6, 41, csum(ip6 + 8, 32, 0) + 17 + 41), 0xffff);
    free(buf);
}
END_TEST

/* Impairments sit after the bottleneck, as ns-3's error model on the receiving device: a datagram the
 * droplist takes still used its link time and queue slot, the droplist counts only datagrams that got
 * through the queue, and the blackhole is timed from the simulator's start. */
START_TEST(test_arrive_after_the_bottleneck)
{
    ns_link l;
    ns_link_init(&l, 10000000, 15 * MS, 1);
    ns_dir_cfg d;
    memset(&d, 0, sizeof(d));
    d.droplist[0] = 2;
    d.droplist[1] = 3;
    d.ndroplist = 2;
    ns_rng r;
    ns_rng_seed(&r, 1);
    ns_blackhole bh = {5000 * MS, 2000 * MS};
    uint8_t p[1472] = {0x40};
    uint64_t due[3];
    for (int i = 0; i < 3; i++)
        due[i] = ns_link_admit(&l, 0, 1500);
    ck_assert_uint_eq(due[2], 0); /* the queue of one (plus one in service) is full */
    ck_assert_int_eq(ns_arrive(&d, &r, &bh, 0, due[0], p, sizeof(p)), NS_PASS);
    ck_assert_int_eq(ns_arrive(&d, &r, &bh, 0, due[1], p, sizeof(p)), NS_DROP_LIST);
    /* the dropped second datagram held the link: the next one waits for it */
    ck_assert_uint_eq(ns_link_admit(&l, 1200000, 1500), 3 * 1200000 + 15 * MS);
    /* the tail drop was never counted: this is the third to arrive, and it is on the list */
    ck_assert_int_eq(ns_arrive(&d, &r, &bh, 0, 3 * 1200000 + 15 * MS, p, sizeof(p)), NS_DROP_LIST);
    /* the blackhole counts from the start given, not from the first datagram */
    ck_assert_int_eq(ns_arrive(&d, &r, &bh, 1000 * MS, 5500 * MS, p, sizeof(p)), NS_PASS);
    ck_assert_int_eq(ns_arrive(&d, &r, &bh, 0, 5500 * MS, p, sizeof(p)), NS_DROP_BLACKHOLE);
}
END_TEST

/* Alone on the runner's link the competitor fills it, finds the queue limit, and backs off at most once per
 * round trip. */
START_TEST(test_cross_competitor)
{
    ns_link l;
    ns_link_init(&l, 10000000, 15 * MS, 25);
    ns_cross x;
    ns_cross_init(&x, 30 * MS);
    uint64_t now = 0, cuts = 0, last_cut = 0;
    while (now < 20000 * MS) {
        uint64_t next = ns_cross_run(&x, &l, now);
        if (x.last_cut != last_cut) {
            ck_assert(!last_cut || x.last_cut >= last_cut + 30 * MS);
            last_cut = x.last_cut;
            cuts++;
        }
        ck_assert_uint_gt(next, now);
        now = next;
    }
    double mbit = (double)x.sent * 1500 * 8 / 20 / 1e6;
    ck_assert(mbit > 8.0 && mbit < 10.1);
    ck_assert_uint_gt(x.dropped, 0);
    ck_assert_uint_gt(cuts, 2);
    ck_assert(x.cwnd >= 2 && x.cwnd < 60); /* the path holds ~25 in flight plus a 25-packet queue */
}
END_TEST

Suite *suite_netsim(void)
{
    Suite *s = suite_create("netsim");
    TCase *tc = lwq_test_tcase("netsim");
    tcase_add_test(tc, test_link_serialises_and_delays);
    tcase_add_test(tc, test_link_tail_drops_after_queue_plus_one);
    tcase_add_test(tc, test_link_throughput_matches_rate);
    tcase_add_test(tc, test_burst_caps_consecutive_hits);
    tcase_add_test(tc, test_burst_rate_is_close);
    tcase_add_test(tc, test_impair_droplist_counts_from_one);
    tcase_add_test(tc, test_corrupt_changes_one_early_byte_never_vn);
    tcase_add_test(tc, test_blackhole_window);
    tcase_add_test(tc, test_arrive_after_the_bottleneck);
    tcase_add_test(tc, test_cross_competitor);
    tcase_add_test(tc, test_option_parsing);
    tcase_add_test(tc, test_pcap_records_v4_and_v6);
    suite_add_tcase(s, tc);
    return s;
}
