/* Consistency checks of a connection's bookkeeping, run by the simulator at every step. */
#include "quic/conn.h"

static const char *check_space(const lwq_sentmap *m)
{
    uint64_t bytes = 0;
    size_t eliciting = 0;
    for (size_t i = 0; i < m->count; i++) {
        const lwq_sent_pkt *p = &m->pkts[(m->head + i) % m->cap];
        if (i && p->pn <= m->pkts[(m->head + i - 1) % m->cap].pn)
            return "sent map out of packet-number order";
        if (p->pn >= m->next_pn)
            return "sent map holds a packet number not yet sent";
        if (p->flags & LWQ_SENT_IN_FLIGHT) {
            if (p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST))
                return "acknowledged or lost packet still in flight";
            bytes += p->size;
        }
        if ((p->flags & LWQ_SENT_ACK_ELICITING) && !(p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST)))
            eliciting++;
    }
    if (bytes != m->bytes_in_flight)
        return "bytes in flight differ from the sum over the sent map";
    if (eliciting != m->ack_eliciting_in_flight)
        return "ack-eliciting count differs from the sent map";
    return NULL;
}

static int timer_missed(lwq_tstamp t, lwq_tstamp now)
{
    return t && t != LWQ_TSTAMP_INF && t < now;
}

const char *lwq_conn_check(const lwq_conn *c, lwq_tstamp now)
{
    if (c->state == LWQ_CONN_CLOSED)
        return NULL;
    uint64_t sum = 0;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        const lwq_sentmap *m = &c->rec.spaces[s];
        if (c->rec.discarded[s]) {
            if (m->bytes_in_flight)
                return "a discarded space still has bytes in flight (RFC 9002 §6.4)";
            continue;
        }
        const char *why = check_space(m);
        if (why)
            return why;
        sum += m->bytes_in_flight;
    }
    if (sum != c->rec.cc.bytes_in_flight)
        return "congestion controller's bytes in flight differ from the sent maps";
    int amp_blocked = c->is_server && !c->address_validated;
    if (amp_blocked && c->bytes_tx > LWQ_AMPLIFICATION_FACTOR * c->bytes_rx)
        return "amplification limit exceeded (RFC 9000 §8.1)";
    if (c->state >= LWQ_CONN_CLOSING)
        return timer_missed(c->close_deadline, now) ? "closing deadline in the past" : NULL;
    lwq_tstamp next = lwq_conn_next_timeout(c);
    if (next < now)
        return "next timeout in the past";
    /* A deadline may have passed only while the connection could not act on it (the loss timer
     * under the amplification limit, RFC 9002 §6.2.2.1); it must then be due at once. */
    amp_blocked = amp_blocked && c->bytes_tx >= LWQ_AMPLIFICATION_FACTOR * c->bytes_rx;
    if (!amp_blocked && timer_missed(c->rec.timer, now) && next > now)
        return "loss detection timer in the past and not due";
    for (int s = 0; s < LWQ_SPACE_COUNT; s++)
        if (c->sp[s].ack_pending && timer_missed(c->sp[s].ack_deadline, now) && next > now &&
            !lwq_sentmap_full(&c->rec.spaces[s]))
            return "ACK deadline in the past and not due";
    return NULL;
}
