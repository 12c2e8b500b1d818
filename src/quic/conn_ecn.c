/* ECN (RFC 9000 §13.4): received codepoints counted per space and reported in ACK_ECN, ECT(0)
 * marks on what we send while the path is being tested or is known capable, and the validation of
 * the peer's counts (§13.4.2, Appendix A.4). A CE increase is handed to recovery as a congestion
 * event (RFC 9002 §7.1). */
#include <string.h>
#include "quic/conn.h"

void lwq_conn_ecn_restart(lwq_conn *c)
{
    lwq_conn_ecn *e = &c->ecn;
    e->state = c->cfg->disable_ecn ? LWQ_ECN_FAILED : LWQ_ECN_TESTING;
    e->testing_sent = 0;
    e->acked_total = e->lost_total = e->in_flight_marked = 0;
}

uint8_t lwq_conn_ecn_mark(const lwq_conn *c)
{
    return c->ecn.state == LWQ_ECN_TESTING || c->ecn.state == LWQ_ECN_CAPABLE ? LWQ_ECN_ECT0 : 0;
}

static void add_marked(lwq_conn_ecn *e, lwq_space s, uint64_t lo, uint64_t hi)
{
    size_t n = e->nmarked[s];
    if (n && e->marked[s][n - 1].hi == lo) {
        e->marked[s][n - 1].hi = hi;
        return;
    }
    if (n == LWQ_ECN_MARKED_RANGES) {
        /* forget the oldest: its packets then count as unmarked, which never fails validation */
        memmove(&e->marked[s][0], &e->marked[s][1], (n - 1) * sizeof(e->marked[s][0]));
        n--;
    }
    e->marked[s][n].lo = lo;
    e->marked[s][n].hi = hi;
    e->nmarked[s] = n + 1;
}

void lwq_conn_ecn_on_sent(lwq_conn *c, uint8_t mark, const uint64_t before[LWQ_SPACE_COUNT])
{
    lwq_conn_ecn *e = &c->ecn;
    if (mark != LWQ_ECN_ECT0)
        return;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_sentmap *m = &c->rec.spaces[s];
        if (m->next_pn <= before[s])
            continue;
        add_marked(e, (lwq_space)s, before[s], m->next_pn);
        for (uint64_t pn = before[s]; pn < m->next_pn; pn++) {
            const lwq_sent_pkt *p = lwq_sentmap_find(m, pn);
            e->sent[s]++;
            e->testing_sent++;
            if (p && (p->flags & LWQ_SENT_IN_FLIGHT))
                e->in_flight_marked++;
        }
    }
    if (e->state == LWQ_ECN_TESTING && e->testing_sent >= LWQ_ECN_TESTING_PACKETS)
        e->state = LWQ_ECN_UNKNOWN; /* RFC 9000 §A.4: the testing period is over */
}

void lwq_conn_ecn_on_packet(lwq_conn *c, lwq_space s)
{
    lwq_conn_ecn *e = &c->ecn;
    switch (e->rx_mark & 3) {
    case LWQ_ECN_ECT0:
        e->rx[s][0]++;
        break;
    case LWQ_ECN_ECT1:
        e->rx[s][1]++;
        break;
    case LWQ_ECN_CE:
        e->rx[s][2]++;
        c->stats.ecn_ce_received++;
        break;
    default:
        break;
    }
}

int lwq_conn_ecn_marked(const lwq_conn *c, lwq_space s, uint64_t pn)
{
    const lwq_conn_ecn *e = &c->ecn;
    for (size_t i = e->nmarked[s]; i-- > 0;)
        if (pn >= e->marked[s][i].lo && pn < e->marked[s][i].hi)
            return 1;
    return 0;
}

static void fail(lwq_conn *c)
{
    c->ecn.state = LWQ_ECN_FAILED; /* RFC 9000 §13.4.2.2: stop marking */
}

void lwq_conn_ecn_on_acked(lwq_conn *c, lwq_space s, uint64_t pn)
{
    if (!lwq_conn_ecn_marked(c, s, pn))
        return;
    c->ecn.newly_acked++;
    c->ecn.acked_total++;
}

void lwq_conn_ecn_on_lost(lwq_conn *c, lwq_space s, uint64_t pn)
{
    lwq_conn_ecn *e = &c->ecn;
    if (!lwq_conn_ecn_marked(c, s, pn))
        return;
    e->lost_total++;
    /* RFC 9000 §13.4.2: every marked packet of the testing period lost */
    if (e->state == LWQ_ECN_UNKNOWN && !e->acked_total && e->lost_total >= e->in_flight_marked)
        fail(c);
}

int lwq_conn_ecn_ack_begin(lwq_conn *c, lwq_space s, const lwq_frame *f)
{
    lwq_conn_ecn *e = &c->ecn;
    const lwq_sentmap *m = &c->rec.spaces[s];
    e->newly_acked = 0;
    /* RFC 9000 §13.4.2.1: only an ACK that raises the largest acknowledged is validated */
    e->ack_raised = m->largest_acked == UINT64_MAX || f->u.ack.largest > m->largest_acked;
    if (!e->ack_raised || f->type != LWQ_FRAME_ACK_ECN || e->state == LWQ_ECN_FAILED)
        return 0;
    return f->u.ack.ce > e->peer[s][2] && f->u.ack.ect0 >= e->peer[s][0] && f->u.ack.ect1 >= e->peer[s][1];
}

void lwq_conn_ecn_ack_end(lwq_conn *c, lwq_space s, const lwq_frame *f)
{
    lwq_conn_ecn *e = &c->ecn;
    const lwq_frame_ack *a = &f->u.ack;
    if (!e->ack_raised)
        return;
    e->ack_raised = 0;
    if (f->type != LWQ_FRAME_ACK_ECN) {
        if (e->newly_acked && e->state != LWQ_ECN_FAILED)
            fail(c); /* §13.4.2.1: marks bleached on the way, or a peer that does not report them */
        return;
    }
    if (e->state == LWQ_ECN_FAILED)
        return;
    uint64_t *p = e->peer[s];
    if (a->ect0 < p[0] || a->ect1 < p[1] || a->ce < p[2]) {
        fail(c); /* counts never decrease */
        return;
    }
    /* §13.4.2.1: ECT(0) and CE grew by at least the marked packets acknowledged; no more ECT(0)
     * than we marked; no ECT(1), which we never apply. */
    if ((a->ect0 - p[0]) + (a->ce - p[2]) < e->newly_acked || a->ect0 > e->sent[s] || a->ect1) {
        fail(c);
        return;
    }
    if (a->ce > p[2]) {
        e->ce_acks++;
        c->stats.ecn_ce_acks++;
    }
    p[0] = a->ect0;
    p[1] = a->ect1;
    p[2] = a->ce;
    if (e->newly_acked && (e->state == LWQ_ECN_UNKNOWN || e->state == LWQ_ECN_TESTING))
        e->state = LWQ_ECN_CAPABLE; /* RFC 9000 §A.4, as soon as a marked packet is validated */
}

void lwq_conn_ecn_ack_frame(const lwq_conn *c, lwq_space s, lwq_frame *f)
{
    const uint64_t *r = c->ecn.rx[s];
    if (!r[0] && !r[1] && !r[2])
        return;
    f->type = LWQ_FRAME_ACK_ECN; /* RFC 9000 §19.3.2 */
    f->u.ack.ect0 = r[0];
    f->u.ack.ect1 = r[1];
    f->u.ack.ce = r[2];
}
