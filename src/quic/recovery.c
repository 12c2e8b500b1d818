#include <string.h>
#include "quic/recovery.h"

int lwq_recovery_init(lwq_recovery *r, const lwq_allocator *a, int is_server, lwq_cc_algo cc,
                      size_t max_datagram_size, size_t max_pkts, lwq_tstamp now)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < LWQ_SPACE_COUNT; i++)
        lwq_sentmap_init(&r->spaces[i], a, max_pkts);
    lwq_rtt_init(&r->rtt, LWQ_INITIAL_RTT);
    r->is_server = is_server;
    r->max_ack_delay = 25 * LWQ_MS; /* RFC 9000 §18.2 default until the peer says otherwise */
    r->pkt_threshold = LWQ_PACKET_THRESHOLD;
    r->pkt_threshold_max = LWQ_PACKET_THRESHOLD_MAX;
    lwq_pacer_init(&r->pacer, max_datagram_size);
    return lwq_cc_init(&r->cc, cc, max_datagram_size, now);
}

void lwq_recovery_free(lwq_recovery *r)
{
    for (int i = 0; i < LWQ_SPACE_COUNT; i++)
        lwq_sentmap_free(&r->spaces[i]);
}

static int in_slow_start(const lwq_recovery *r)
{
    return r->cc.cwnd < r->cc.ssthresh;
}

/* RFC 9002 §7.7: the rate follows cwnd / smoothed_rtt once there is an RTT sample. */
static void update_pacer(lwq_recovery *r, lwq_tstamp now)
{
    if (r->rtt.has_sample)
        lwq_pacer_update(&r->pacer, r->cc.cwnd, r->rtt.smoothed, in_slow_start(r), now);
}

uint64_t lwq_recovery_on_sent(lwq_recovery *r, lwq_space space, size_t size, int flags, lwq_tstamp now)
{
    uint64_t pn = lwq_sentmap_commit(&r->spaces[space], size, flags);
    if (flags & LWQ_SENT_IN_FLIGHT) {
        r->cc.ops->on_sent(&r->cc, size, now);
        update_pacer(r, now);
        lwq_pacer_on_sent(&r->pacer, size, now);
        r->pace_blocked = 0;
    }
    if (flags & LWQ_SENT_ACK_ELICITING)
        lwq_recovery_update_timer(r, now);
    return pn;
}

lwq_tstamp lwq_recovery_pto(const lwq_recovery *r, lwq_space space)
{
    lwq_tstamp pto = lwq_rtt_pto_base(&r->rtt);
    if (space == LWQ_SPACE_APP)
        pto += r->max_ack_delay;
    return pto;
}

/* RFC 9002 §7.6.1: (smoothed_rtt + max(4*rttvar, kGranularity) + max_ack_delay) * 3. */
static lwq_tstamp persistent_duration(const lwq_recovery *r)
{
    return (lwq_rtt_pto_base(&r->rtt) + r->max_ack_delay) * LWQ_PERSISTENT_CONGESTION_THRESHOLD;
}

/* Losses of the newest congestion event: a new event starts the count, later losses within the same
 * recovery period join it. */
static void note_undo(lwq_recovery *r, lwq_space space, int new_event, uint64_t n, uint64_t lo, uint64_t hi)
{
    if (new_event) {
        r->undo.valid = 1;
        r->undo.space = space;
        r->undo.lost = 0;
        r->undo.lo = lo;
        r->undo.hi = hi;
    } else if (!r->undo.valid || r->undo.space != (int)space) {
        return;
    }
    r->undo.lost += n;
    r->undo.lo = lo < r->undo.lo ? lo : r->undo.lo;
    r->undo.hi = hi > r->undo.hi ? hi : r->undo.hi;
}

/* A packet declared lost was acknowledged: reordering, not loss. The packet threshold rises to the
 * distance seen (RFC 9002 §6.1.1), and when the whole congestion event proves spurious the
 * controller undoes its reduction (RFC 9438 §4.9). */
static void on_spurious(lwq_recovery *r, lwq_space space, const lwq_sentmap *m, uint64_t pn, lwq_tstamp now)
{
    r->spurious_losses++;
    if (m->largest_acked != UINT64_MAX && m->largest_acked > pn) {
        uint64_t want = 2 * (m->largest_acked - pn) + 1; /* headroom: the distance grows with the rate */
        if (want > r->pkt_threshold_max)
            want = r->pkt_threshold_max;
        if (want > r->pkt_threshold)
            r->pkt_threshold = (unsigned)want;
    }
    if (!r->undo.valid || r->undo.space != (int)space || pn < r->undo.lo || pn > r->undo.hi || !r->undo.lost)
        return;
    if (--r->undo.lost)
        return;
    r->undo.valid = 0;
    if (r->cc.ops->on_spurious_loss)
        r->cc.ops->on_spurious_loss(&r->cc, now);
}

/* RFC 9002 §A.10. Declares lost packets, re-arms loss_time; reports the lost span. */
static void detect_lost(lwq_recovery *r, lwq_space space, const lwq_recovery_visitor *v, lwq_tstamp now)
{
    lwq_sentmap *m = &r->spaces[space];
    m->loss_time = 0;
    if (m->largest_acked == UINT64_MAX)
        return;
    lwq_tstamp delay = lwq_rtt_loss_delay(&r->rtt);
    lwq_tstamp lost_before = now > delay ? now - delay : 0;
    lwq_tstamp first_lost = 0, last_lost = 0, last_sent_lost = 0;
    uint64_t nlost = 0, lo = UINT64_MAX, hi = 0;
    int any = 0;
    for (size_t i = 0; i < m->count; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if (p->pn > m->largest_acked)
            break;
        if (p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST))
            continue;
        if (p->sent <= lost_before || m->largest_acked >= p->pn + r->pkt_threshold) {
            int was_in_flight = p->flags & LWQ_SENT_IN_FLIGHT;
            size_t size = p->size;
            lwq_sentmap_mark_lost(m, p);
            r->packets_lost++;
            if (was_in_flight)
                lwq_cc_on_lost(&r->cc, size);
            if (v && v->lost)
                v->lost(v->ud, space, m, p);
            if (p->flags & LWQ_SENT_ACK_ELICITING) {
                if (!any || p->sent < first_lost)
                    first_lost = p->sent;
                if (p->sent > last_lost)
                    last_lost = p->sent;
            }
            if (was_in_flight && p->sent > last_sent_lost)
                last_sent_lost = p->sent;
            nlost++;
            lo = p->pn < lo ? p->pn : lo;
            hi = p->pn > hi ? p->pn : hi;
            any = 1;
        } else {
            lwq_tstamp t = p->sent + delay;
            if (!m->loss_time || t < m->loss_time)
                m->loss_time = t;
        }
    }
    if (!any)
        return;
    if (last_sent_lost) {
        uint64_t events = r->cc.congestion_events;
        r->cc.ops->on_congestion(&r->cc, last_sent_lost, 0, now);
        note_undo(r, space, r->cc.congestion_events != events, nlost, lo, hi);
    }
    /* RFC 9002 §7.6.2: ack-eliciting losses spanning the persistent congestion duration with
     * nothing acknowledged in between, all sent after the first RTT sample. */
    if (r->first_rtt_sample && first_lost > r->first_rtt_sample && last_lost - first_lost > persistent_duration(r)) {
        for (size_t i = 0; i < m->count; i++) {
            lwq_sent_pkt *p = lwq_sentmap_at(m, i);
            if (p->sent > first_lost && p->sent < last_lost && (p->flags & LWQ_SENT_ACKED))
                return;
        }
        r->cc.ops->on_persistent_congestion(&r->cc, now);
    }
}

int lwq_recovery_on_ack(lwq_recovery *r, lwq_space space, const lwq_range *ranges, size_t n, lwq_tstamp ack_delay,
                        int ecn_ce_increased, const lwq_recovery_visitor *v, lwq_tstamp now)
{
    lwq_sentmap *m = &r->spaces[space];
    uint64_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        if (ranges[i].end <= ranges[i].start)
            continue;
        if (ranges[i].end > m->next_pn || lwq_sentmap_skipped_in(m, ranges[i].start, ranges[i].end))
            return LWQ_ERR_PROTO; /* acknowledges a packet number never sent (RFC 9000 §21.4) */
        if (ranges[i].end - 1 > largest)
            largest = ranges[i].end - 1;
    }
    if (n == 0)
        return 0;
    lwq_sent_pkt *lp = lwq_sentmap_find(m, largest);
    int largest_newly_acked = lp && !(lp->flags & LWQ_SENT_ACKED);
    lwq_tstamp largest_sent = lp ? lp->sent : 0;
    int any_ack_eliciting = 0, any_new = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t first = m->count ? lwq_sentmap_at(m, 0)->pn : m->next_pn;
        uint64_t start = ranges[i].start > first ? ranges[i].start : first;
        for (uint64_t pn = start; pn < ranges[i].end; pn++) {
            lwq_sent_pkt *p = lwq_sentmap_find(m, pn);
            if (!p || (p->flags & LWQ_SENT_ACKED))
                continue;
            if (p->flags & LWQ_SENT_LOST) {
                on_spurious(r, space, m, pn, now); /* declared lost too early (RFC 9002 §6.1) */
                p->flags |= LWQ_SENT_ACKED;
                if (v && v->acked)
                    v->acked(v->ud, space, m, p);
                continue;
            }
            int in_flight = p->flags & LWQ_SENT_IN_FLIGHT;
            size_t size = p->size;
            any_new = 1;
            any_ack_eliciting |= p->flags & LWQ_SENT_ACK_ELICITING;
            lwq_sentmap_mark_acked(m, p);
            if (v && v->acked)
                v->acked(v->ud, space, m, p);
            if (in_flight) {
                int app_limited = space == LWQ_SPACE_APP && pn < r->app_limited_end;
                r->cc.ops->on_acked(&r->cc, size, p->sent, &r->rtt, app_limited, now);
            }
        }
    }
    if (m->largest_acked == UINT64_MAX || largest > m->largest_acked) {
        m->largest_acked = largest;
        m->largest_acked_sent = largest_sent;
    }
    if (!any_new)
        return 0;
    /* RFC 9002 §5.1: a sample when the largest acknowledged is newly acknowledged and at least one
     * newly acknowledged packet was ack-eliciting. */
    if (largest_newly_acked && any_ack_eliciting && now >= largest_sent) {
        if (!r->first_rtt_sample)
            r->first_rtt_sample = now;
        lwq_rtt_update(&r->rtt, now - largest_sent, space == LWQ_SPACE_APP ? ack_delay : 0, r->max_ack_delay,
                       r->handshake_confirmed);
    }
    if (ecn_ce_increased)
        lwq_recovery_on_ecn_ce(r, space, now);
    detect_lost(r, space, v, now);
    update_pacer(r, now);
    /* RFC 9002 §6.2.1: reset the backoff, except at a client unsure the server validated it. */
    if (r->is_server || r->peer_validated_address)
        r->pto_count = 0;
    lwq_sentmap_trim(m, now > 3 * r->rtt.smoothed ? now - 3 * r->rtt.smoothed : 0);
    lwq_recovery_update_timer(r, now);
    return 0;
}

static int ack_eliciting_in_flight(const lwq_recovery *r)
{
    for (int i = 0; i < LWQ_SPACE_COUNT; i++)
        if (!r->discarded[i] && r->spaces[i].ack_eliciting_in_flight)
            return 1;
    return 0;
}

/* Client anti-deadlock (RFC 9002 §6.2.2.1): a probe from now, in the Handshake space once it has keys. */
static lwq_tstamp anti_deadlock(const lwq_recovery *r, lwq_tstamp now, lwq_tstamp duration, int *space_out)
{
    *space_out = r->has_handshake_keys && !r->discarded[LWQ_SPACE_HANDSHAKE] ? LWQ_SPACE_HANDSHAKE
                                                                            : LWQ_SPACE_INITIAL;
    return now + duration;
}

/* RFC 9002 §A.8 GetPtoTimeAndSpace. */
static lwq_tstamp pto_time(const lwq_recovery *r, lwq_tstamp now, int *space_out)
{
    lwq_tstamp backoff = (lwq_tstamp)1 << (r->pto_count < 20 ? r->pto_count : 20);
    lwq_tstamp duration = lwq_rtt_pto_base(&r->rtt) * backoff;
    if (!ack_eliciting_in_flight(r))
        return anti_deadlock(r, now, duration, space_out);
    lwq_tstamp best = 0;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        const lwq_sentmap *m = &r->spaces[s];
        if (r->discarded[s] || !m->ack_eliciting_in_flight)
            continue;
        lwq_tstamp d = duration;
        if (s == LWQ_SPACE_APP) {
            if (!r->handshake_confirmed)
                continue; /* RFC 9002 §6.2.1: no application-data PTO before confirmation */
            d += r->max_ack_delay * backoff;
        }
        lwq_tstamp t = m->last_ack_eliciting + d;
        if (!best || t < best) {
            best = t;
            *space_out = s;
        }
    }
    /* §6.2.2.1 extended to the whole unconfirmed handshake: the client keeps a PTO armed while only
     * 0-RTT/1-RTT data is in flight (none has a PTO before confirmation). Else a lost Finished, waiting
     * behind a congestion window full of 0-RTT packets nobody acknowledges yet, is never sent again:
     * the probe may exceed the window. */
    if (!best && !r->is_server && (!r->peer_validated_address || !r->handshake_confirmed))
        return anti_deadlock(r, now, duration, space_out);
    return best;
}

static int loss_time_space(const lwq_recovery *r, lwq_tstamp *t)
{
    int space = -1;
    *t = 0;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_tstamp lt = r->spaces[s].loss_time;
        if (!r->discarded[s] && lt && (!*t || lt < *t)) {
            *t = lt;
            space = s;
        }
    }
    return space;
}

/* RFC 9002 §A.8 SetLossDetectionTimer: recomputed on every event, not on every query, since the
 * anti-deadlock deadline counts from the moment it is armed. */
void lwq_recovery_update_timer(lwq_recovery *r, lwq_tstamp now)
{
    lwq_tstamp t;
    if (loss_time_space(r, &t) >= 0) {
        r->timer = t;
        return;
    }
    /* A server at its amplification limit stops the timer; the caller checks that (RFC 9002 §6.2.2.1). */
    if (!ack_eliciting_in_flight(r) && (r->is_server || r->peer_validated_address)) {
        r->timer = 0;
        return;
    }
    int space = 0;
    r->timer = pto_time(r, now, &space);
}

int lwq_recovery_on_timeout(lwq_recovery *r, const lwq_recovery_visitor *v, lwq_tstamp now)
{
    lwq_tstamp t;
    int space = loss_time_space(r, &t);
    if (space >= 0 && t <= now) {
        detect_lost(r, (lwq_space)space, v, now);
        lwq_recovery_update_timer(r, now);
        return -1;
    }
    int pto_space = LWQ_SPACE_INITIAL;
    pto_time(r, now, &pto_space);
    r->pto_count++;
    lwq_recovery_update_timer(r, now);
    return pto_space;
}

void lwq_recovery_discard(lwq_recovery *r, lwq_space space, lwq_tstamp now)
{
    if (r->discarded[space])
        return;
    lwq_cc_discard(&r->cc, lwq_sentmap_discard(&r->spaces[space]));
    r->discarded[space] = 1;
    r->pto_count = 0; /* RFC 9002 §6.2.1 / §A.11 */
    lwq_recovery_update_timer(r, now);
}

void lwq_recovery_on_ecn_ce(lwq_recovery *r, lwq_space space, lwq_tstamp now)
{
    const lwq_sentmap *m = &r->spaces[space];
    if (r->discarded[space] || m->largest_acked == UINT64_MAX)
        return;
    uint64_t events = r->cc.congestion_events;
    r->cc.ops->on_congestion(&r->cc, m->largest_acked_sent, 1, now); /* RFC 9002 §B.7 */
    if (r->cc.congestion_events != events) {
        r->ecn_ce_events++;
        r->undo.valid = 0; /* a CE mark is never spurious */
    }
    update_pacer(r, now);
}

void lwq_recovery_send_stopped(lwq_recovery *r, lwq_tstamp now)
{
    r->pace_blocked = 0;
    if (r->cc.bytes_in_flight >= r->cc.cwnd)
        return;
    if (!lwq_recovery_pacer_ready(r, now)) {
        r->pace_blocked = 1;
        return;
    }
    r->app_limited_end = r->spaces[LWQ_SPACE_APP].next_pn;
}

int lwq_recovery_pacer_ready(const lwq_recovery *r, lwq_tstamp now)
{
    return lwq_pacer_release(&r->pacer, r->cc.max_datagram_size, now) <= now;
}

lwq_tstamp lwq_recovery_pacing_time(const lwq_recovery *r, lwq_tstamp now)
{
    if (!r->pace_blocked || r->cc.bytes_in_flight >= r->cc.cwnd)
        return LWQ_TSTAMP_INF;
    return lwq_pacer_release(&r->pacer, r->cc.max_datagram_size, now);
}

const char *lwq_recovery_cc_state(const lwq_recovery *r)
{
    if (r->cc.in_recovery)
        return "recovery";
    if (r->app_limited_end && r->app_limited_end == r->spaces[LWQ_SPACE_APP].next_pn)
        return "application_limited";
    return in_slow_start(r) ? "slow_start" : "congestion_avoidance";
}
