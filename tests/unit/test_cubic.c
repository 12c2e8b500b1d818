/* Cubic, HyStart++ and the pacer, against the RFC formulas. */
#include <math.h>
#include "testutil.h"
#include "cc/cc.h"
#include "cc/pacer.h"

#define MSS 1200

static lwq_rtt rtt_of(lwq_tstamp v)
{
    lwq_rtt r;
    lwq_rtt_init(&r, v);
    lwq_rtt_update(&r, v, 0, 0, 0);
    return r;
}

/* Acknowledge `bytes` in MSS-sized packets sent at `sent`, at time `now`. */
static void ack_bytes(lwq_cc *cc, uint64_t bytes, lwq_tstamp sent, const lwq_rtt *r, lwq_tstamp now)
{
    for (uint64_t done = 0; done < bytes; done += MSS) {
        cc->ops->on_sent(cc, MSS, sent);
        cc->ops->on_acked(cc, MSS, sent, r, 0, now);
    }
}

START_TEST(test_cubic_reduction_and_k)
{
    lwq_cc cc;
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    ck_assert_str_eq(cc.ops->name, "cubic");
    cc.cwnd = 100 * MSS;
    cc.ops->on_congestion(&cc, 10 * LWQ_MS, 0, 20 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 70 * MSS); /* beta 0.7 */
    ck_assert_uint_eq(cc.ssthresh, 70 * MSS);
    ck_assert(fabs(cc.cubic.w_max - 100.0 * MSS) < 1e-6);
    /* K = cbrt((100 - 70) / 0.4) segments-seconds = cbrt(75). */
    ck_assert(fabs(cc.cubic.k - cbrt(75.0)) < 1e-9);
    /* A second loss in the same recovery episode is ignored. */
    cc.ops->on_congestion(&cc, 15 * LWQ_MS, 0, 25 * LWQ_MS);
    ck_assert_uint_eq(cc.congestion_events, 1);
    /* Fast convergence: a loss below the previous W_max lowers W_max further. */
    cc.ops->on_congestion(&cc, 30 * LWQ_MS, 0, 40 * LWQ_MS);
    ck_assert(fabs(cc.cubic.w_max - 70.0 * MSS * 1.7 / 2) < 1e-6);
    ck_assert_uint_eq(cc.cwnd, (uint64_t)(70 * MSS * 0.7));
}
END_TEST

START_TEST(test_cubic_growth_follows_the_curve)
{
    lwq_cc cc;
    lwq_rtt r = rtt_of(100 * LWQ_MS);
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    cc.cwnd = 1000 * MSS;
    cc.ops->on_congestion(&cc, 0, 0, LWQ_SEC); /* epoch starts at 1 s: W_max 1000, cwnd 700 */
    double k = cc.cubic.k;                      /* cbrt(750) ~ 9.09 s */
    /* Concave: well before K the window approaches W_max from below. */
    lwq_tstamp now = LWQ_SEC + 1;
    for (int i = 0; i < 40; i++, now += 100 * LWQ_MS)
        ack_bytes(&cc, cc.cwnd, now - 100 * LWQ_MS + 1, &r, now);
    double t = (double)(now - LWQ_SEC) / 1e9;
    double expect = 0.4 * pow(t - k, 3) * MSS + 1000.0 * MSS;
    ck_assert_uint_lt(cc.cwnd, 1000 * MSS);
    ck_assert_msg(fabs((double)cc.cwnd - expect) < 0.05 * expect, "cwnd %llu vs W_cubic %f",
                  (unsigned long long)cc.cwnd, expect);
    /* Convex: past K it grows beyond W_max. */
    for (int i = 0; i < 80; i++, now += 100 * LWQ_MS)
        ack_bytes(&cc, cc.cwnd, now - 100 * LWQ_MS + 1, &r, now);
    ck_assert_uint_gt(cc.cwnd, 1000 * MSS);
}
END_TEST

START_TEST(test_cubic_reno_friendly_region)
{
    /* Small window, short RTT: the Reno estimate leads, and cwnd follows W_est. */
    lwq_cc cc;
    lwq_rtt r = rtt_of(2 * LWQ_MS);
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    cc.cwnd = 20 * MSS;
    cc.ops->on_congestion(&cc, 0, 0, LWQ_MS);
    uint64_t start = cc.cwnd;
    lwq_tstamp now = 2 * LWQ_MS;
    for (int i = 0; i < 10; i++, now += 2 * LWQ_MS)
        ack_bytes(&cc, cc.cwnd, now - LWQ_MS, &r, now);
    ck_assert(fabs((double)cc.cwnd - cc.cubic.w_est) < 1.0);
    /* Reno-like: about alpha_cubic (0.53) segments per window acknowledged. */
    ck_assert_uint_gt(cc.cwnd, start + 4 * MSS);
    ck_assert_uint_lt(cc.cwnd, start + 7 * MSS);
}
END_TEST

START_TEST(test_cubic_spurious_undo_and_app_limited)
{
    lwq_cc cc;
    lwq_rtt r = rtt_of(50 * LWQ_MS);
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    cc.cwnd = 50 * MSS;
    cc.ssthresh = 50 * MSS;
    cc.ops->on_congestion(&cc, 0, 1, 10 * LWQ_MS); /* ECN-CE reduces like a loss */
    ck_assert_uint_eq(cc.cwnd, 35 * MSS);
    cc.ops->on_spurious_loss(&cc, 20 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 50 * MSS);
    ck_assert_uint_eq(cc.ssthresh, 50 * MSS);
    cc.ops->on_spurious_loss(&cc, 30 * LWQ_MS); /* only once */
    ck_assert_uint_eq(cc.cwnd, 50 * MSS);
    uint64_t w = cc.cwnd;
    cc.ops->on_sent(&cc, MSS, 40 * LWQ_MS);
    cc.ops->on_acked(&cc, MSS, 40 * LWQ_MS, &r, 1, 90 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, w);
    cc.ops->on_persistent_congestion(&cc, LWQ_SEC);
    ck_assert_uint_eq(cc.cwnd, 2 * MSS);
}
END_TEST

START_TEST(test_hystart_exits_on_rtt_rise)
{
    lwq_cc cc;
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    lwq_tstamp now = 0, rtt = 50 * LWQ_MS;
    int rounds = 0;
    /* Rounds of 16 packets: the RTT is flat for 3 rounds, then climbs 10 ms per round (a queue). */
    while (cc.cwnd < cc.ssthresh && rounds < 30) {
        lwq_tstamp sent = now;
        for (int i = 0; i < 16; i++)
            cc.ops->on_sent(&cc, MSS, sent);
        lwq_rtt r = rtt_of(rtt);
        now += rtt;
        for (int i = 0; i < 16; i++)
            cc.ops->on_acked(&cc, MSS, sent, &r, 0, now);
        if (++rounds > 3)
            rtt += 10 * LWQ_MS;
    }
    ck_assert_int_lt(rounds, 30);
    ck_assert_int_eq(cc.hs.exits, 1);           /* left slow start through CSS, not a loss */
    ck_assert_uint_eq(cc.congestion_events, 0);
    /* ssthresh was set to cwnd at the exit; the rest of that round grew it only a little (avoidance). */
    ck_assert_uint_le(cc.ssthresh, cc.cwnd);
    ck_assert_uint_lt(cc.cwnd - cc.ssthresh, cc.ssthresh / 100);
    ck_assert_int_ge(rounds, 4 + 5); /* noticed the rise, then 5 CSS rounds */
}
END_TEST

START_TEST(test_hystart_flat_rtt_keeps_slow_start)
{
    lwq_cc cc;
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_CUBIC, MSS, 0), 0);
    lwq_tstamp now = 0;
    lwq_rtt r = rtt_of(50 * LWQ_MS);
    for (int round = 0; round < 6; round++) {
        lwq_tstamp sent = now;
        uint64_t w = cc.cwnd;
        for (uint64_t b = 0; b < w; b += MSS)
            cc.ops->on_sent(&cc, MSS, sent);
        now += 50 * LWQ_MS;
        for (uint64_t b = 0; b < w; b += MSS)
            cc.ops->on_acked(&cc, MSS, sent, &r, 0, now);
        ck_assert_uint_eq(cc.cwnd, 2 * w); /* doubling each round */
    }
    ck_assert_int_eq(cc.hs.in_css, 0);
}
END_TEST

START_TEST(test_pacer_spreads_a_window)
{
    lwq_pacer p;
    lwq_pacer_init(&p, MSS);
    ck_assert_uint_eq(lwq_pacer_budget(&p, 0), SIZE_MAX); /* no RTT yet */
    /* cwnd 120 kB over 100 ms at gain 1.25: 1.5 MB/s; burst 15 kB. */
    lwq_pacer_update(&p, 120000, 100 * LWQ_MS, 0, 0);
    ck_assert(fabs(p.rate - 1.5e6) < 1);
    ck_assert(fabs(p.burst - 15000) < 1e-9);
    ck_assert_uint_eq(lwq_pacer_budget(&p, 0), 12000); /* initial tokens 10 datagrams */
    lwq_pacer_on_sent(&p, 12000, 0);
    ck_assert_uint_eq(lwq_pacer_budget(&p, 0), 0);
    lwq_tstamp t = lwq_pacer_next(&p, MSS, 0);
    ck_assert_uint_ge(t, 800 * 1000);  /* 1200 B at 1.5 MB/s = 0.8 ms */
    ck_assert_uint_le(t, 801 * 1000);
    ck_assert_uint_ge(lwq_pacer_budget(&p, t), MSS);
    /* Over one RTT the bucket lets through about rate * RTT, not a whole burst more. */
    size_t sent = 0;
    for (lwq_tstamp now = t; now < t + 100 * LWQ_MS; now += LWQ_MS) {
        size_t b = lwq_pacer_budget(&p, now);
        lwq_pacer_on_sent(&p, b, now);
        sent += b;
    }
    ck_assert_uint_ge(sent, 148000);
    ck_assert_uint_le(sent, 151200);
}
END_TEST

Suite *suite_cubic(void)
{
    Suite *s = suite_create("cubic");
    TCase *tc = lwq_test_tcase("cubic");
    tcase_add_test(tc, test_cubic_reduction_and_k);
    tcase_add_test(tc, test_cubic_growth_follows_the_curve);
    tcase_add_test(tc, test_cubic_reno_friendly_region);
    tcase_add_test(tc, test_cubic_spurious_undo_and_app_limited);
    tcase_add_test(tc, test_hystart_exits_on_rtt_rise);
    tcase_add_test(tc, test_hystart_flat_rtt_keeps_slow_start);
    tcase_add_test(tc, test_pacer_spreads_a_window);
    suite_add_tcase(s, tc);
    return s;
}
