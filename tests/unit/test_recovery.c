/* Sent map and RFC 9002 loss detection / PTO / persistent congestion. */
#include "testutil.h"
#include "quic/recovery.h"

struct seen {
    int acked, lost;
    uint64_t last_lost_pn;
    uint64_t frame_ids;
};

static void on_acked(void *ud, lwq_space s, lwq_sentmap *m, lwq_sent_pkt *p)
{
    struct seen *x = ud;
    x->acked++;
    for (size_t i = 0; i < p->nframes; i++)
        x->frame_ids += lwq_sentmap_frame(m, p, i)->id;
}

static void on_lost(void *ud, lwq_space s, lwq_sentmap *m, lwq_sent_pkt *p)
{
    struct seen *x = ud;
    x->lost++;
    x->last_lost_pn = p->pn;
}

static uint64_t send_one(lwq_recovery *r, lwq_space s, lwq_tstamp at, uint64_t frame_id)
{
    ck_assert_int_eq(lwq_sentmap_begin(&r->spaces[s], at), 0);
    lwq_sent_frame f = {.kind = 0x08, .id = frame_id, .len = 1000};
    ck_assert_int_eq(lwq_sentmap_add_frame(&r->spaces[s], &f), 0);
    return lwq_recovery_on_sent(r, s, 1200, LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT, at);
}

START_TEST(test_sentmap_frames_growth_and_trim)
{
    lwq_sentmap m;
    lwq_sentmap_init(&m, lwq_test_alloc, 1000);
    for (uint64_t pn = 0; pn < 300; pn++) {
        ck_assert_int_eq(lwq_sentmap_begin(&m, pn), 0);
        for (uint64_t k = 0; k < pn % 5; k++) {
            lwq_sent_frame f = {.kind = 1, .id = pn * 10 + k};
            ck_assert_int_eq(lwq_sentmap_add_frame(&m, &f), 0);
        }
        if (pn % 7 == 3) {
            lwq_sentmap_abort(&m); /* never sent: the number is reused */
            ck_assert_int_eq(lwq_sentmap_begin(&m, pn), 0);
            for (uint64_t k = 0; k < pn % 5; k++) {
                lwq_sent_frame f = {.kind = 1, .id = pn * 10 + k};
                ck_assert_int_eq(lwq_sentmap_add_frame(&m, &f), 0);
            }
        }
        ck_assert_uint_eq(lwq_sentmap_commit(&m, 100, LWQ_SENT_IN_FLIGHT | LWQ_SENT_ACK_ELICITING), pn);
        if (pn % 3 == 0 && pn >= 30) { /* ack some old ones as we go: the rings wrap */
            for (uint64_t a = pn - 30; a < pn - 27; a++)
                lwq_sentmap_mark_acked(&m, lwq_sentmap_find(&m, a));
            lwq_sentmap_trim(&m, 0);
        }
    }
    for (uint64_t pn = 0; pn < 300; pn++) {
        lwq_sent_pkt *p = lwq_sentmap_find(&m, pn);
        if (!p)
            continue;
        ck_assert_uint_eq(p->pn, pn);
        ck_assert_uint_eq(p->nframes, pn % 5);
        for (size_t k = 0; k < p->nframes; k++)
            ck_assert_uint_eq(lwq_sentmap_frame(&m, p, k)->id, pn * 10 + k);
    }
    ck_assert_ptr_null(lwq_sentmap_find(&m, 300));
    ck_assert_uint_eq(m.bytes_in_flight, 100 * (300 - 0) - 100 * (uint64_t)(3 * 90));
    uint64_t in_flight = m.bytes_in_flight;
    ck_assert_uint_eq(lwq_sentmap_discard(&m), in_flight);
    ck_assert_uint_eq(m.bytes_in_flight, 0);
    lwq_sentmap_free(&m);
}
END_TEST

START_TEST(test_sentmap_limit)
{
    lwq_sentmap m;
    lwq_sentmap_init(&m, lwq_test_alloc, 2);
    const int live = LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT;
    ck_assert_int_eq(lwq_sentmap_begin(&m, 0), 0);
    lwq_sentmap_commit(&m, 1, live);
    ck_assert_int_eq(lwq_sentmap_begin(&m, 0), 0);
    ck_assert_int_eq(lwq_sentmap_begin(&m, 0), LWQ_ERR_STATE);
    lwq_sentmap_commit(&m, 1, live);
    ck_assert_int_eq(lwq_sentmap_begin(&m, 0), LWQ_ERR_LIMIT);
    ck_assert(lwq_sentmap_full(&m));
    lwq_sentmap_mark_acked(&m, lwq_sentmap_find(&m, 1)); /* room again, without a trim */
    ck_assert(!lwq_sentmap_full(&m));
    ck_assert_int_eq(lwq_sentmap_begin(&m, 0), 0);
    lwq_sentmap_abort(&m);
    lwq_sentmap_free(&m);
}
END_TEST

/* ACK-only records (neither ack-eliciting nor in flight) behind a live packet are dropped when the
 * map fills; lookups still find every remaining packet, across the holes and skipped numbers. */
START_TEST(test_sentmap_compacts_ack_only)
{
    lwq_sentmap m;
    lwq_sentmap_init(&m, lwq_test_alloc, 64);
    const int live = LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT;
    uint64_t live_pns[8];
    size_t nlive = 0;
    for (int i = 0; i < 64; i++) {
        if (i == 20)
            lwq_sentmap_skip(&m);
        ck_assert_int_eq(lwq_sentmap_begin(&m, (lwq_tstamp)i), 0);
        lwq_sent_frame f = {.kind = 0x02, .id = (uint64_t)i};
        ck_assert_int_eq(lwq_sentmap_add_frame(&m, &f), 0);
        uint64_t pn = lwq_sentmap_commit(&m, 50, i % 9 == 0 ? live : 0);
        if (i % 9 == 0)
            live_pns[nlive++] = pn;
    }
    ck_assert_uint_eq(m.count, 64);
    ck_assert(lwq_sentmap_skipped_in(&m, 20, 21));
    ck_assert(!lwq_sentmap_skipped_in(&m, 0, 20));
    ck_assert_ptr_null(lwq_sentmap_find(&m, 20));
    ck_assert_int_eq(lwq_sentmap_begin(&m, 100), 0); /* compaction made room */
    lwq_sentmap_commit(&m, 50, live);
    ck_assert_uint_eq(m.count, nlive + 1);
    ck_assert_uint_eq(m.bytes_in_flight, 50 * (nlive + 1));
    for (size_t i = 0; i < nlive; i++) {
        lwq_sent_pkt *p = lwq_sentmap_find(&m, live_pns[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p->pn, live_pns[i]);
        ck_assert_uint_eq(lwq_sentmap_frame(&m, p, 0)->id, i * 9); /* its frames moved with it */
        if (i + 1 < nlive)
            ck_assert_ptr_null(lwq_sentmap_find(&m, live_pns[i] + 1)); /* an ACK-only one, dropped */
    }
    lwq_sentmap_free(&m);
}
END_TEST

START_TEST(test_packet_and_time_threshold)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    for (uint64_t i = 0; i < 10; i++)
        send_one(&r, LWQ_SPACE_INITIAL, i * LWQ_MS, 100 + i);
    ck_assert_uint_eq(r.cc.bytes_in_flight, 12000);
    lwq_range ack = {9, 10};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_INITIAL, &ack, 1, 0, 0, &v, 100 * LWQ_MS), 0);
    ck_assert_int_eq(x.acked, 1);
    ck_assert_uint_eq(x.frame_ids, 109);
    ck_assert_uint_eq(r.rtt.latest, 91 * LWQ_MS);
    ck_assert_int_eq(x.lost, 7); /* pn 0..6: largest_acked - 3 */
    ck_assert_uint_eq(r.cc.bytes_in_flight, 2 * 1200);
    ck_assert_uint_eq(r.cc.congestion_events, 1);
    /* pn 7 and 8 wait for the time threshold: 9/8 * 91 ms after they were sent. */
    lwq_tstamp delay = lwq_rtt_loss_delay(&r.rtt);
    ck_assert_uint_eq(r.spaces[0].loss_time, 7 * LWQ_MS + delay);
    ck_assert_uint_eq(r.timer, 7 * LWQ_MS + delay);
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, &v, r.timer), -1);
    ck_assert_int_eq(x.lost, 8);
    ck_assert_uint_eq(x.last_lost_pn, 7);
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, &v, r.timer), -1);
    ck_assert_int_eq(x.lost, 9);
    ck_assert_uint_eq(r.cc.bytes_in_flight, 0);
    /* A late ACK of a lost packet is a spurious loss, reported once. */
    lwq_range late = {3, 5};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_INITIAL, &late, 1, 0, 0, &v, 300 * LWQ_MS), 0);
    ck_assert_uint_eq(r.spurious_losses, 2);
    ck_assert_int_eq(x.acked, 3);
    /* Never-sent packet numbers are a protocol violation. */
    lwq_range bogus = {5, 11};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_INITIAL, &bogus, 1, 0, 0, &v, 300 * LWQ_MS), LWQ_ERR_PROTO);
    lwq_recovery_free(&r);
}
END_TEST

START_TEST(test_pto_backoff_and_app_space)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    ck_assert_uint_eq(r.timer, 0); /* server, nothing in flight */
    send_one(&r, LWQ_SPACE_HANDSHAKE, 10 * LWQ_MS, 1);
    lwq_tstamp pto = lwq_recovery_pto(&r, LWQ_SPACE_HANDSHAKE);
    ck_assert_uint_eq(pto, 333 * LWQ_MS + 4 * 166500 * 1000);
    ck_assert_uint_eq(r.timer, 10 * LWQ_MS + pto);
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, &v, r.timer), LWQ_SPACE_HANDSHAKE);
    ck_assert_uint_eq(r.pto_count, 1);
    ck_assert_uint_eq(r.timer, 10 * LWQ_MS + 2 * pto); /* exponential backoff */
    ck_assert_int_eq(x.lost, 0);                         /* a PTO declares nothing lost */
    /* Application data has no PTO until the handshake is confirmed. */
    send_one(&r, LWQ_SPACE_APP, 20 * LWQ_MS, 2);
    ck_assert_uint_eq(r.timer, 10 * LWQ_MS + 2 * pto);
    lwq_recovery_discard(&r, LWQ_SPACE_HANDSHAKE, 30 * LWQ_MS);
    ck_assert_uint_eq(r.pto_count, 0);
    ck_assert_uint_eq(r.cc.bytes_in_flight, 1200);
    ck_assert_uint_eq(r.timer, 0);
    r.handshake_confirmed = 1;
    lwq_recovery_update_timer(&r, 30 * LWQ_MS);
    ck_assert_uint_eq(r.timer, 20 * LWQ_MS + pto + 25 * LWQ_MS); /* + max_ack_delay */
    lwq_recovery_free(&r);
}
END_TEST

START_TEST(test_client_anti_deadlock)
{
    lwq_recovery r;
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 0, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    lwq_recovery_update_timer(&r, 50 * LWQ_MS);
    lwq_tstamp pto = lwq_rtt_pto_base(&r.rtt);
    ck_assert_uint_eq(r.timer, 50 * LWQ_MS + pto); /* nothing in flight, address not validated */
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, NULL, r.timer), LWQ_SPACE_INITIAL);
    r.has_handshake_keys = 1;
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, NULL, r.timer), LWQ_SPACE_HANDSHAKE);
    r.peer_validated_address = 1;
    lwq_recovery_update_timer(&r, 60 * LWQ_MS);
    ck_assert_uint_eq(r.timer, 0);
    lwq_recovery_free(&r);
}
END_TEST

/* A client whose only data in flight is 0-RTT/1-RTT before confirmation (no PTO there) keeps a
 * Handshake PTO: a lost Finished waiting behind a full window is then sent by the probe. */
START_TEST(test_client_pto_with_only_app_in_flight)
{
    lwq_recovery r;
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 0, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    r.has_handshake_keys = 1;
    r.peer_validated_address = 1;
    send_one(&r, LWQ_SPACE_APP, 10 * LWQ_MS, 1);
    lwq_tstamp pto = lwq_rtt_pto_base(&r.rtt);
    ck_assert_uint_eq(r.timer, 10 * LWQ_MS + pto);
    ck_assert_int_eq(lwq_recovery_on_timeout(&r, NULL, r.timer), LWQ_SPACE_HANDSHAKE);
    lwq_recovery_discard(&r, LWQ_SPACE_HANDSHAKE, 20 * LWQ_MS);
    r.handshake_confirmed = 1;
    lwq_recovery_update_timer(&r, 20 * LWQ_MS);
    ck_assert_uint_eq(r.timer, 10 * LWQ_MS + pto + 25 * LWQ_MS); /* confirmed: the APP PTO */
    lwq_recovery_free(&r);
}
END_TEST

START_TEST(test_persistent_congestion)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    r.handshake_confirmed = 1;
    send_one(&r, LWQ_SPACE_APP, 0, 0);
    lwq_range a0 = {0, 1};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a0, 1, 0, 0, &v, 50 * LWQ_MS), 0); /* RTT 50 ms */
    /* Duration: (50 + 4*25 + 25) * 3 = 525 ms. Losses spanning 600 ms with nothing acked between. */
    for (int i = 0; i < 7; i++)
        send_one(&r, LWQ_SPACE_APP, (100 + (lwq_tstamp)i * 100) * LWQ_MS, 1);
    send_one(&r, LWQ_SPACE_APP, 800 * LWQ_MS, 2);
    lwq_range a8 = {8, 9};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a8, 1, 0, 0, &v, 850 * LWQ_MS), 0);
    ck_assert_int_eq(x.lost, 7);
    ck_assert_uint_eq(r.cc.cwnd, 2400); /* minimum window */
    lwq_recovery_free(&r);
}
END_TEST

START_TEST(test_no_persistent_congestion_when_acked_between)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    send_one(&r, LWQ_SPACE_APP, 0, 0);
    lwq_range a0 = {0, 1};
    lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a0, 1, 0, 0, &v, 50 * LWQ_MS);
    for (int i = 0; i < 7; i++)
        send_one(&r, LWQ_SPACE_APP, (100 + (lwq_tstamp)i * 100) * LWQ_MS, 1);
    send_one(&r, LWQ_SPACE_APP, 800 * LWQ_MS, 2);
    lwq_range acks[2] = {{4, 5}, {8, 9}}; /* pn 4 (sent at 400 ms) got through */
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, acks, 2, 0, 0, &v, 850 * LWQ_MS), 0);
    ck_assert_int_eq(x.lost, 6);
    ck_assert_uint_gt(r.cc.cwnd, 2400);
    lwq_recovery_free(&r);
}
END_TEST


/* Ten packets, the last one acknowledged: 0..6 are lost by the packet threshold (one Cubic reduction);
 * a late ACK of some of them changes nothing, of all of them undoes the reduction (RFC 9438 §4.9)
 * and raises the packet threshold to twice the distance seen plus one (RFC 9002 §6.1.1). */
START_TEST(test_spurious_undo_and_adaptive_threshold)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_CUBIC, 1200, 1000, 0), 0);
    r.handshake_confirmed = 1;
    ck_assert_uint_eq(r.pkt_threshold, 3);
    uint64_t w0 = r.cc.cwnd;
    for (uint64_t i = 0; i < 10; i++)
        send_one(&r, LWQ_SPACE_APP, i * LWQ_MS, i);
    lwq_range a9 = {9, 10};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a9, 1, 0, 0, &v, 100 * LWQ_MS), 0);
    ck_assert_int_eq(x.lost, 7);
    ck_assert_uint_eq(r.cc.congestion_events, 1);
    uint64_t reduced = r.cc.cwnd;
    ck_assert_uint_eq(reduced, (uint64_t)((double)(w0 + 1200) * 0.7));
    lwq_range part = {0, 3};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &part, 1, 0, 0, &v, 110 * LWQ_MS), 0);
    ck_assert_uint_eq(r.spurious_losses, 3);
    ck_assert_uint_eq(r.cc.cwnd, reduced); /* pn 3..6 may still be real losses */
    ck_assert_uint_eq(r.pkt_threshold, 2 * 9 + 1);
    lwq_range rest = {3, 9}; /* 7 and 8 were never lost */
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &rest, 1, 0, 0, &v, 120 * LWQ_MS), 0);
    ck_assert_uint_eq(r.spurious_losses, 7);
    ck_assert_uint_eq(r.cc.cwnd, w0 + 3 * 1200); /* restored, then grown by pn 7 and 8 */
    ck_assert_uint_eq(r.cc.ssthresh, UINT64_MAX); /* back in slow start */
    /* With the raised threshold, 9 packets of reordering no longer declare a loss. */
    for (uint64_t i = 10; i < 21; i++)
        send_one(&r, LWQ_SPACE_APP, 130 * LWQ_MS + i, i);
    lwq_range a20 = {20, 21};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a20, 1, 0, 0, &v, 140 * LWQ_MS), 0);
    ck_assert_int_eq(x.lost, 7);
    /* A fixed threshold (pkt_threshold_max = 3) never moves. */
    lwq_recovery_free(&r);
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_CUBIC, 1200, 1000, 0), 0);
    r.pkt_threshold_max = LWQ_PACKET_THRESHOLD;
    for (uint64_t i = 0; i < 10; i++)
        send_one(&r, LWQ_SPACE_APP, i * LWQ_MS, i);
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a9, 1, 0, 0, &v, 100 * LWQ_MS), 0);
    lwq_range all = {0, 7};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &all, 1, 0, 0, &v, 110 * LWQ_MS), 0);
    ck_assert_uint_eq(r.pkt_threshold, 3);
    lwq_recovery_free(&r);
}
END_TEST

/* The ECN-CE entry point: one reduction per round trip, dated by the largest acknowledged packet,
 * never undone by a later spurious loss (RFC 9002 §7.1, §B.7). */
START_TEST(test_ecn_ce_congestion_event)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_CUBIC, 1200, 1000, 0), 0);
    r.handshake_confirmed = 1;
    for (uint64_t i = 0; i < 4; i++)
        send_one(&r, LWQ_SPACE_APP, i * LWQ_MS, i);
    lwq_recovery_on_ecn_ce(&r, LWQ_SPACE_APP, 10 * LWQ_MS); /* nothing acknowledged yet: ignored */
    ck_assert_uint_eq(r.cc.congestion_events, 0);
    lwq_range a = {0, 2};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a, 1, 0, 1, &v, 50 * LWQ_MS), 0);
    ck_assert_uint_eq(r.cc.congestion_events, 1);
    ck_assert_uint_eq(r.ecn_ce_events, 1);
    uint64_t w = r.cc.cwnd;
    ck_assert_uint_eq(w, (uint64_t)((double)(lwq_cc_initial_window(1200) + 2400) * 0.7));
    ck_assert_str_eq(lwq_recovery_cc_state(&r), "recovery");
    /* Packets 2 and 3 were sent before the reduction: their CE mark is the same congestion. */
    lwq_range b = {2, 4};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &b, 1, 0, 0, &v, 60 * LWQ_MS), 0);
    lwq_recovery_on_ecn_ce(&r, LWQ_SPACE_APP, 60 * LWQ_MS);
    ck_assert_uint_eq(r.cc.congestion_events, 1);
    ck_assert_uint_eq(r.cc.cwnd, w);
    ck_assert(!r.undo.valid); /* no packet of a CE event was declared lost: nothing to undo */
    /* A loss event arms the undo; a CE event in the next round trip replaces it, and the late ACK of
     * every packet of the loss event then leaves the CE reduction alone. */
    for (uint64_t i = 4; i < 14; i++)
        send_one(&r, LWQ_SPACE_APP, 60 * LWQ_MS + i, i);
    lwq_range c13 = {13, 14};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &c13, 1, 0, 0, &v, 100 * LWQ_MS), 0);
    ck_assert_uint_eq(r.cc.congestion_events, 2);
    ck_assert(r.undo.valid);
    for (uint64_t i = 14; i < 17; i++)
        send_one(&r, LWQ_SPACE_APP, 110 * LWQ_MS, i);
    lwq_range d = {14, 17};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &d, 1, 0, 1, &v, 150 * LWQ_MS), 0);
    ck_assert_uint_eq(r.cc.congestion_events, 3);
    ck_assert_uint_eq(r.ecn_ce_events, 2);
    uint64_t w3 = r.cc.cwnd;
    ck_assert_int_eq(x.lost, 9); /* 4..10 by the packet threshold, 11 and 12 by time */
    lwq_range late = {4, 13};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &late, 1, 0, 0, &v, 160 * LWQ_MS), 0);
    ck_assert_uint_eq(r.spurious_losses, 9); /* every packet of the loss event */
    ck_assert_uint_eq(r.cc.cwnd, w3);
    lwq_recovery_free(&r);
}
END_TEST

/* Packets sent while the sender had nothing more to send do not grow the window (RFC 9002 §7.8);
 * packets sent with the window full do. */
START_TEST(test_app_limited_acks_do_not_grow)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    r.handshake_confirmed = 1;
    uint64_t w0 = r.cc.cwnd;
    send_one(&r, LWQ_SPACE_APP, 0, 0);
    send_one(&r, LWQ_SPACE_APP, 0, 1);
    lwq_recovery_send_stopped(&r, 0); /* window open, pacer open: application-limited */
    ck_assert_uint_eq(r.app_limited_end, 2);
    ck_assert_str_eq(lwq_recovery_cc_state(&r), "application_limited");
    lwq_range a = {0, 2};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a, 1, 0, 0, &v, 50 * LWQ_MS), 0);
    ck_assert_uint_eq(r.cc.cwnd, w0);
    for (uint64_t i = 2; i < 12; i++)
        send_one(&r, LWQ_SPACE_APP, 60 * LWQ_MS, i);
    lwq_recovery_send_stopped(&r, 60 * LWQ_MS); /* the window is full: not application-limited */
    ck_assert_uint_eq(r.app_limited_end, 2);
    ck_assert_str_eq(lwq_recovery_cc_state(&r), "slow_start");
    lwq_range b = {2, 12};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &b, 1, 0, 0, &v, 110 * LWQ_MS), 0);
    ck_assert_uint_eq(r.cc.cwnd, w0 + 10 * 1200);
    lwq_recovery_free(&r);
}
END_TEST

/* After an RTT sample the pacer holds a window back: the send path learns when to try again, and
 * that time is in the future and releases at least one datagram (RFC 9002 §7.7). */
START_TEST(test_pacing_release_time)
{
    lwq_recovery r;
    struct seen x = {0};
    lwq_recovery_visitor v = {on_acked, on_lost, &x};
    ck_assert_int_eq(lwq_recovery_init(&r, lwq_test_alloc, 1, LWQ_CC_NEWRENO, 1200, 1000, 0), 0);
    r.handshake_confirmed = 1;
    ck_assert(lwq_recovery_pacer_ready(&r, 0)); /* no RTT sample: not paced */
    send_one(&r, LWQ_SPACE_APP, 0, 0);
    lwq_range a = {0, 1};
    ck_assert_int_eq(lwq_recovery_on_ack(&r, LWQ_SPACE_APP, &a, 1, 0, 0, &v, 100 * LWQ_MS), 0);
    lwq_tstamp now = 100 * LWQ_MS;
    int sent = 0;
    while (lwq_recovery_pacer_ready(&r, now)) {
        send_one(&r, LWQ_SPACE_APP, now, (uint64_t)sent);
        sent++;
        ck_assert_int_lt(sent, 100);
    }
    ck_assert_int_ge(sent, 9); /* the burst: 10 datagrams, less what the first packet used */
    ck_assert_int_le(sent, 11);
    ck_assert_uint_eq(lwq_recovery_pacing_time(&r, now), LWQ_TSTAMP_INF); /* not told it stopped */
    lwq_recovery_send_stopped(&r, now);
    lwq_tstamp t = lwq_recovery_pacing_time(&r, now);
    /* cwnd 13200 at gain 2 over 100 ms: 264 kB/s, 1200 bytes take about 4.5 ms. */
    ck_assert_uint_gt(t, now);
    ck_assert_uint_le(t, now + 5 * LWQ_MS);
    ck_assert(!lwq_recovery_pacer_ready(&r, t - 1));
    ck_assert(lwq_recovery_pacer_ready(&r, t));
    lwq_recovery_free(&r);
}
END_TEST

Suite *suite_recovery(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = lwq_test_tcase("recovery");
    tcase_add_test(tc, test_sentmap_frames_growth_and_trim);
    tcase_add_test(tc, test_sentmap_limit);
    tcase_add_test(tc, test_sentmap_compacts_ack_only);
    tcase_add_test(tc, test_packet_and_time_threshold);
    tcase_add_test(tc, test_pto_backoff_and_app_space);
    tcase_add_test(tc, test_client_anti_deadlock);
    tcase_add_test(tc, test_client_pto_with_only_app_in_flight);
    tcase_add_test(tc, test_persistent_congestion);
    tcase_add_test(tc, test_no_persistent_congestion_when_acked_between);
    tcase_add_test(tc, test_spurious_undo_and_adaptive_threshold);
    tcase_add_test(tc, test_ecn_ce_congestion_event);
    tcase_add_test(tc, test_app_limited_acks_do_not_grow);
    tcase_add_test(tc, test_pacing_release_time);
    suite_add_tcase(s, tc);
    return s;
}
