#include "testutil.h"
#include "cc/cc.h"

START_TEST(test_rtt_first_and_later_samples)
{
    lwq_rtt r;
    lwq_rtt_init(&r, LWQ_INITIAL_RTT);
    ck_assert_uint_eq(r.smoothed, 333 * LWQ_MS);
    ck_assert_uint_eq(r.var, 166500 * 1000);
    lwq_rtt_update(&r, 100 * LWQ_MS, 50 * LWQ_MS, 25 * LWQ_MS, 1); /* first: ack_delay ignored */
    ck_assert_uint_eq(r.min, 100 * LWQ_MS);
    ck_assert_uint_eq(r.smoothed, 100 * LWQ_MS);
    ck_assert_uint_eq(r.var, 50 * LWQ_MS);
    /* Confirmed: ack_delay capped at max_ack_delay (25 ms): adjusted = 140 - 25 = 115. */
    lwq_rtt_update(&r, 140 * LWQ_MS, 40 * LWQ_MS, 25 * LWQ_MS, 1);
    ck_assert_uint_eq(r.smoothed, (7 * 100 + 115) * LWQ_MS / 8);
    ck_assert_uint_eq(r.var, (3 * 50 + 15) * LWQ_MS / 4);
    /* An ack_delay that would go below min_rtt is not subtracted. */
    lwq_tstamp s = r.smoothed;
    lwq_rtt_update(&r, 110 * LWQ_MS, 20 * LWQ_MS, 25 * LWQ_MS, 1);
    ck_assert_uint_eq(r.smoothed, (7 * s + 110 * LWQ_MS) / 8);
    /* Unconfirmed handshake: ack_delay not capped by max_ack_delay. */
    lwq_rtt_update(&r, 200 * LWQ_MS, 60 * LWQ_MS, 25 * LWQ_MS, 0);
    ck_assert_uint_eq(r.latest, 200 * LWQ_MS);
    ck_assert_uint_eq(r.min, 100 * LWQ_MS);
}
END_TEST

START_TEST(test_rtt_timers)
{
    lwq_rtt r;
    lwq_rtt_init(&r, LWQ_INITIAL_RTT);
    lwq_rtt_update(&r, 80 * LWQ_MS, 0, 0, 0);
    ck_assert_uint_eq(lwq_rtt_pto_base(&r), 80 * LWQ_MS + 4 * 40 * LWQ_MS);
    ck_assert_uint_eq(lwq_rtt_loss_delay(&r), 90 * LWQ_MS);
    lwq_rtt_init(&r, 100000); /* tiny RTTs: granularity floors both */
    lwq_rtt_update(&r, 1000, 0, 0, 0);
    ck_assert_uint_eq(lwq_rtt_loss_delay(&r), LWQ_GRANULARITY);
    ck_assert_uint_eq(lwq_rtt_pto_base(&r), 1000 + LWQ_GRANULARITY);
}
END_TEST

START_TEST(test_initial_window)
{
    ck_assert_uint_eq(lwq_cc_initial_window(1200), 12000);
    ck_assert_uint_eq(lwq_cc_initial_window(1472), 14720);
    ck_assert_uint_eq(lwq_cc_initial_window(9000), 18000);
    lwq_cc cc;
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_NEWRENO, 1000, 0), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_cc_init(&cc, (lwq_cc_algo)99, 1200, 0), LWQ_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(test_newreno_slow_start_recovery_avoidance)
{
    lwq_cc cc;
    lwq_rtt r;
    lwq_rtt_init(&r, LWQ_INITIAL_RTT);
    ck_assert_int_eq(lwq_cc_init(&cc, LWQ_CC_NEWRENO, 1200, 0), 0);
    ck_assert_str_eq(cc.ops->name, "newreno");
    /* Slow start: each acked byte grows the window by one. */
    for (int i = 0; i < 10; i++)
        cc.ops->on_sent(&cc, 1200, 10 * LWQ_MS);
    ck_assert_uint_eq(cc.bytes_in_flight, 12000);
    ck_assert_uint_eq(lwq_cc_available(&cc), 0);
    for (int i = 0; i < 10; i++)
        cc.ops->on_acked(&cc, 1200, 10 * LWQ_MS, &r, 0, 50 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 24000);
    ck_assert_uint_eq(cc.bytes_in_flight, 0);
    /* A loss halves the window once; older losses in the same episode do not. */
    cc.ops->on_sent(&cc, 1200, 60 * LWQ_MS);
    cc.ops->on_sent(&cc, 1200, 61 * LWQ_MS);
    lwq_cc_on_lost(&cc, 1200);
    cc.ops->on_congestion(&cc, 60 * LWQ_MS, 0, 100 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 12000);
    ck_assert_uint_eq(cc.ssthresh, 12000);
    lwq_cc_on_lost(&cc, 1200);
    cc.ops->on_congestion(&cc, 61 * LWQ_MS, 0, 101 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 12000);
    ck_assert_uint_eq(cc.congestion_events, 1);
    /* Acks of packets sent before recovery started do not grow the window. */
    cc.ops->on_sent(&cc, 1200, 90 * LWQ_MS);
    cc.ops->on_acked(&cc, 1200, 90 * LWQ_MS, &r, 0, 120 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 12000);
    /* Congestion avoidance: +1 datagram per window acknowledged. */
    for (int i = 0; i < 10; i++)
        cc.ops->on_sent(&cc, 1200, 130 * LWQ_MS);
    for (int i = 0; i < 9; i++)
        cc.ops->on_acked(&cc, 1200, 130 * LWQ_MS, &r, 0, 160 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 12000);
    cc.ops->on_acked(&cc, 1200, 130 * LWQ_MS, &r, 0, 160 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 13200);
    /* App-limited acks do not grow the window. */
    cc.ops->on_sent(&cc, 1200, 170 * LWQ_MS);
    cc.ops->on_acked(&cc, 1200, 170 * LWQ_MS, &r, 1, 200 * LWQ_MS);
    ck_assert_uint_eq(cc.acked_in_ca, 0);
    /* Persistent congestion collapses to the minimum window. */
    cc.ops->on_persistent_congestion(&cc, 300 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 2400);
    cc.ops->on_congestion(&cc, 310 * LWQ_MS, 1, 320 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 2400); /* never below the minimum window */
    cc.ops->reset(&cc, 400 * LWQ_MS);
    ck_assert_uint_eq(cc.cwnd, 12000);
    ck_assert_uint_eq(cc.ssthresh, UINT64_MAX);
}
END_TEST

Suite *suite_cc(void)
{
    Suite *s = suite_create("cc");
    TCase *tc = lwq_test_tcase("cc");
    tcase_add_test(tc, test_rtt_first_and_later_samples);
    tcase_add_test(tc, test_rtt_timers);
    tcase_add_test(tc, test_initial_window);
    tcase_add_test(tc, test_newreno_slow_start_recovery_avoidance);
    suite_add_tcase(s, tc);
    return s;
}
