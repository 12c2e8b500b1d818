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
    return lwq_cc_init(&r->cc, cc, max_datagram_size, now);
}

void lwq_recovery_free(lwq_recovery *r)
{
    for (int i = 0; i < LWQ_SPACE_COUNT; i++)
        lwq_sentmap_free(&r->spaces[i]);
}

uint64_t lwq_recovery_on_sent(lwq_recovery *r, lwq_space space, size_t size, int flags, lwq_tstamp now)
{
    uint64_t pn = lwq_sentmap_commit(&r->spaces[space], size, flags);
    if (flags & LWQ_SENT_IN_FLIGHT)
        r->cc.ops->on_sent(&r->cc, size, now);
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
    int any = 0;
    for (size_t i = 0; i < m->count; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if (p->pn > m->largest_acked)
            break;
        if (p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST))
            continue;
        if (p->sent <= lost_before || m->largest_acked >= p->pn + LWQ_PACKET_THRESHOLD) {
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
            any = 1;
        } else {
            lwq_tstamp t = p->sent + delay;
            if (!m->loss_time || t < m->loss_time)
                m->loss_time = t;
        }
    }
    if (!any)
        return;
    if (last_sent_lost)
        r->cc.ops->on_congestion(&r->cc, last_sent_lost, 0, now);
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
        if (ranges[i].end > m->next_pn)
            return LWQ_ERR_PROTO; /* acknowledges a packet number never sent */
        if (ranges[i].end - 1 > largest)
            largest = ranges[i].end - 1;
    }
    if (n == 0)
        return 0;
    lwq_sent_pkt *lp = lwq_sentmap_find(m, largest);
    int largest_newly_acked = lp && !(lp->flags & LWQ_SENT_ACKED);
    lwq_tstamp largest_sent = lp ? lp->sent : 0;
    int any_ack_eliciting = 0, any_new = 0;
    lwq_tstamp newest_in_flight_sent = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t first = m->count ? lwq_sentmap_at(m, 0)->pn : m->next_pn;
        uint64_t start = ranges[i].start > first ? ranges[i].start : first;
        for (uint64_t pn = start; pn < ranges[i].end; pn++) {
            lwq_sent_pkt *p = lwq_sentmap_find(m, pn);
            if (!p || (p->flags & LWQ_SENT_ACKED))
                continue;
            if (p->flags & LWQ_SENT_LOST) {
                r->spurious_losses++; /* declared lost too early (RFC 9002 §6.1) */
                p->flags |= LWQ_SENT_ACKED;
                if (r->cc.ops->on_spurious_loss)
                    r->cc.ops->on_spurious_loss(&r->cc, now);
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
                r->cc.ops->on_acked(&r->cc, size, p->sent, &r->rtt, 0, now);
                if (p->sent > newest_in_flight_sent)
                    newest_in_flight_sent = p->sent;
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
    if (ecn_ce_increased && newest_in_flight_sent)
        r->cc.ops->on_congestion(&r->cc, newest_in_flight_sent, 1, now); /* RFC 9002 §B.7 */
    detect_lost(r, space, v, now);
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

/* RFC 9002 §A.8 GetPtoTimeAndSpace. */
static lwq_tstamp pto_time(const lwq_recovery *r, lwq_tstamp now, int *space_out)
{
    lwq_tstamp backoff = (lwq_tstamp)1 << (r->pto_count < 20 ? r->pto_count : 20);
    lwq_tstamp duration = lwq_rtt_pto_base(&r->rtt) * backoff;
    if (!ack_eliciting_in_flight(r)) {
        /* Client anti-deadlock (RFC 9002 §6.2.2.1): probe from now. */
        *space_out = r->has_handshake_keys ? LWQ_SPACE_HANDSHAKE : LWQ_SPACE_INITIAL;
        return now + duration;
    }
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
