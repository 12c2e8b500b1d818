/* conn_ecn.c on its own: receive counts and ACK_ECN, ECT(0) marking through the testing period,
 * and every validation rule of RFC 9000 §13.4.2 on crafted ACK frames. */
#include <stdlib.h>
#include "testutil.h"
#include "quic/conn.h"

typedef struct ecn_fix {
    lwq_config cfg;
    lwq_conn *c;
} ecn_fix;

static void fix_init(ecn_fix *f)
{
    lwq_config_init(&f->cfg, 0);
    f->c = calloc(1, sizeof(*f->c));
    ck_assert_ptr_nonnull(f->c);
    f->c->cfg = &f->cfg;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++)
        f->c->rec.spaces[s].largest_acked = UINT64_MAX;
    lwq_conn_ecn_restart(f->c);
}

/* n packets of space s go out with mark. */
static void send_pkts(lwq_conn *c, lwq_space s, unsigned n, uint8_t mark)
{
    uint64_t before[LWQ_SPACE_COUNT];
    for (int i = 0; i < LWQ_SPACE_COUNT; i++)
        before[i] = c->rec.spaces[i].next_pn;
    c->rec.spaces[s].next_pn += n;
    lwq_conn_ecn_on_sent(c, mark, before);
}

/* An ACK of [lo, hi] in space s with these counts (ecn = 0: a plain ACK frame). */
static void ack(lwq_conn *c, lwq_space s, uint64_t lo, uint64_t hi, int ecn, uint64_t ect0, uint64_t ect1, uint64_t ce,
                int *ce_signal)
{
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = ecn ? LWQ_FRAME_ACK_ECN : LWQ_FRAME_ACK;
    f.u.ack.largest = hi;
    f.u.ack.ect0 = ect0;
    f.u.ack.ect1 = ect1;
    f.u.ack.ce = ce;
    int sig = lwq_conn_ecn_ack_begin(c, s, &f);
    if (ce_signal)
        *ce_signal = sig;
    lwq_sentmap *m = &c->rec.spaces[s];
    for (uint64_t pn = lo; pn <= hi; pn++)
        if (m->largest_acked == UINT64_MAX || pn > m->largest_acked)
            lwq_conn_ecn_on_acked(c, s, pn);
    if (m->largest_acked == UINT64_MAX || hi > m->largest_acked)
        m->largest_acked = hi;
    lwq_conn_ecn_ack_end(c, s, &f);
}

START_TEST(test_counts_and_ack_ecn_frame)
{
    ecn_fix f;
    fix_init(&f);
    lwq_frame fr;
    memset(&fr, 0, sizeof(fr));
    fr.type = LWQ_FRAME_ACK;
    lwq_conn_ecn_ack_frame(f.c, LWQ_SPACE_APP, &fr);
    ck_assert_uint_eq(fr.type, LWQ_FRAME_ACK); /* nothing counted: a plain ACK */
    const uint8_t marks[] = {LWQ_ECN_ECT0, LWQ_ECN_ECT0, LWQ_ECN_ECT1, LWQ_ECN_CE, 0, LWQ_ECN_ECT0};
    for (size_t i = 0; i < sizeof(marks); i++) {
        f.c->ecn.rx_mark = marks[i];
        lwq_conn_ecn_on_packet(f.c, LWQ_SPACE_APP);
    }
    f.c->ecn.rx_mark = LWQ_ECN_CE;
    lwq_conn_ecn_on_packet(f.c, LWQ_SPACE_HANDSHAKE); /* each space counts apart (§13.4.1) */
    lwq_conn_ecn_ack_frame(f.c, LWQ_SPACE_APP, &fr);
    ck_assert_uint_eq(fr.type, LWQ_FRAME_ACK_ECN);
    ck_assert_uint_eq(fr.u.ack.ect0, 3);
    ck_assert_uint_eq(fr.u.ack.ect1, 1);
    ck_assert_uint_eq(fr.u.ack.ce, 1);
    memset(&fr, 0, sizeof(fr));
    fr.type = LWQ_FRAME_ACK;
    lwq_conn_ecn_ack_frame(f.c, LWQ_SPACE_HANDSHAKE, &fr);
    ck_assert_uint_eq(fr.type, LWQ_FRAME_ACK_ECN);
    ck_assert_uint_eq(fr.u.ack.ect0, 0);
    ck_assert_uint_eq(fr.u.ack.ce, 1);
    ck_assert_uint_eq(f.c->stats.ecn_ce_received, 2);
    free(f.c);
}
END_TEST

START_TEST(test_testing_period_then_unknown)
{
    ecn_fix f;
    fix_init(&f);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_TESTING);
    ck_assert_uint_eq(lwq_conn_ecn_mark(f.c), LWQ_ECN_ECT0);
    send_pkts(f.c, LWQ_SPACE_INITIAL, 2, LWQ_ECN_ECT0);
    send_pkts(f.c, LWQ_SPACE_APP, 7, LWQ_ECN_ECT0);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_TESTING);
    send_pkts(f.c, LWQ_SPACE_APP, 1, LWQ_ECN_ECT0);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_UNKNOWN); /* ten marked packets */
    ck_assert_uint_eq(lwq_conn_ecn_mark(f.c), 0);
    send_pkts(f.c, LWQ_SPACE_APP, 5, 0);
    ck_assert(lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, 0));
    ck_assert(lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, 7));
    ck_assert(!lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, 8));
    ck_assert(lwq_conn_ecn_marked(f.c, LWQ_SPACE_INITIAL, 1));
    ck_assert(!lwq_conn_ecn_marked(f.c, LWQ_SPACE_HANDSHAKE, 0));
    /* an ACK_ECN counting all of them validates: capable, marking resumes */
    ack(f.c, LWQ_SPACE_APP, 0, 12, 1, 8, 0, 0, NULL);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_CAPABLE);
    ck_assert_uint_eq(lwq_conn_ecn_mark(f.c), LWQ_ECN_ECT0);
    f.cfg.disable_ecn = 1;
    lwq_conn_ecn_restart(f.c);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_FAILED);
    ck_assert_uint_eq(lwq_conn_ecn_mark(f.c), 0);
    free(f.c);
}
END_TEST

START_TEST(test_validation_failures)
{
    for (int kind = 0; kind < 6; kind++) {
        ecn_fix f;
        fix_init(&f);
        send_pkts(f.c, LWQ_SPACE_APP, 6, LWQ_ECN_ECT0);
        ack(f.c, LWQ_SPACE_APP, 0, 2, 1, 3, 0, 0, NULL); /* good so far */
        ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_CAPABLE);
        switch (kind) {
        case 0: /* counts missing (bleached, or a peer that does not report) */
            ack(f.c, LWQ_SPACE_APP, 3, 4, 0, 0, 0, 0, NULL);
            break;
        case 1: /* fewer increments than newly acknowledged marked packets (remarked) */
            ack(f.c, LWQ_SPACE_APP, 3, 5, 1, 4, 0, 0, NULL);
            break;
        case 2: /* a count decreased */
            ack(f.c, LWQ_SPACE_APP, 3, 5, 1, 2, 0, 4, NULL);
            break;
        case 3: /* more ECT(0) than ever marked */
            ack(f.c, LWQ_SPACE_APP, 3, 5, 1, 7, 0, 0, NULL);
            break;
        case 4: /* ECT(1), which we never apply */
            ack(f.c, LWQ_SPACE_APP, 3, 5, 1, 6, 1, 0, NULL);
            break;
        case 5: /* every marked packet lost after the testing period */
            f.c->ecn.state = LWQ_ECN_UNKNOWN;
            f.c->ecn.acked_total = 0;
            f.c->ecn.in_flight_marked = 3;
            f.c->ecn.lost_total = 0;
            lwq_conn_ecn_on_lost(f.c, LWQ_SPACE_APP, 3);
            lwq_conn_ecn_on_lost(f.c, LWQ_SPACE_APP, 4);
            ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_UNKNOWN); /* one still out */
            lwq_conn_ecn_on_lost(f.c, LWQ_SPACE_APP, 5);
            break;
        }
        ck_assert_msg(f.c->ecn.state == LWQ_ECN_FAILED, "kind %d", kind);
        ck_assert_uint_eq(lwq_conn_ecn_mark(f.c), 0);
        free(f.c);
    }
}
END_TEST

START_TEST(test_ce_signal_and_reordered_ack)
{
    ecn_fix f;
    fix_init(&f);
    send_pkts(f.c, LWQ_SPACE_APP, 8, LWQ_ECN_ECT0);
    int sig = -1;
    ack(f.c, LWQ_SPACE_APP, 0, 3, 1, 3, 0, 1, &sig);
    ck_assert_int_eq(sig, 1); /* CE grew: a congestion signal for recovery */
    ck_assert_uint_eq(f.c->ecn.ce_acks, 1);
    ck_assert_uint_eq(f.c->stats.ecn_ce_acks, 1);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_CAPABLE); /* CE counts as delivered */
    ack(f.c, LWQ_SPACE_APP, 4, 5, 1, 5, 0, 1, &sig);
    ck_assert_int_eq(sig, 0); /* no new CE */
    /* a reordered ACK that does not raise the largest acknowledged is not validated (§13.4.2.1),
     * even with lower counts, and gives no signal */
    ack(f.c, LWQ_SPACE_APP, 0, 2, 1, 0, 0, 0, &sig);
    ck_assert_int_eq(sig, 0);
    ck_assert_int_eq(f.c->ecn.state, LWQ_ECN_CAPABLE);
    ck_assert_uint_eq(f.c->ecn.peer[LWQ_SPACE_APP][0], 5);
    /* after a failure no CE signal is taken from the counts */
    f.c->ecn.state = LWQ_ECN_FAILED;
    ack(f.c, LWQ_SPACE_APP, 6, 7, 1, 5, 0, 3, &sig);
    ck_assert_int_eq(sig, 0);
    free(f.c);
}
END_TEST

START_TEST(test_marked_ranges_bounded)
{
    ecn_fix f;
    fix_init(&f);
    /* alternate marked and unmarked runs: at most LWQ_ECN_MARKED_RANGES are remembered */
    for (int i = 0; i < 2 * (LWQ_ECN_MARKED_RANGES + 3); i++)
        send_pkts(f.c, LWQ_SPACE_APP, 2, (i & 1) ? 0 : LWQ_ECN_ECT0);
    ck_assert_uint_eq(f.c->ecn.nmarked[LWQ_SPACE_APP], LWQ_ECN_MARKED_RANGES);
    ck_assert(!lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, 0)); /* the oldest run forgotten */
    uint64_t last = f.c->rec.spaces[LWQ_SPACE_APP].next_pn - 4;
    ck_assert(lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, last));
    ck_assert(!lwq_conn_ecn_marked(f.c, LWQ_SPACE_APP, last + 2));
    /* adjacent marked runs merge */
    ecn_fix g;
    fix_init(&g);
    for (int i = 0; i < 50; i++)
        send_pkts(g.c, LWQ_SPACE_APP, 1, LWQ_ECN_ECT0);
    ck_assert_uint_eq(g.c->ecn.nmarked[LWQ_SPACE_APP], 1);
    ck_assert_uint_eq(g.c->ecn.sent[LWQ_SPACE_APP], 50);
    free(f.c);
    free(g.c);
}
END_TEST

Suite *suite_conn_ecn(void)
{
    Suite *s = suite_create("conn_ecn");
    TCase *tc = lwq_test_tcase("conn_ecn");
    tcase_add_test(tc, test_counts_and_ack_ecn_frame);
    tcase_add_test(tc, test_testing_period_then_unknown);
    tcase_add_test(tc, test_validation_failures);
    tcase_add_test(tc, test_ce_signal_and_reordered_ack);
    tcase_add_test(tc, test_marked_ranges_bounded);
    suite_add_tcase(s, tc);
    return s;
}
