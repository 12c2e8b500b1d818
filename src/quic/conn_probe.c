/* PTO probes that carry data (RFC 9002 §6.2.4): with nothing new to send, a probe repeats the oldest
 * unacknowledged data of its space, so a lost tail is repaired by the probe itself instead of by a PING,
 * its acknowledgement and then a retransmission. The packets stay in flight; they are acknowledged or
 * declared lost as usual, and whatever the peer acknowledges first is not sent a third time.
 * A PTO also probes the other spaces with data in flight: a server whose Initial and Handshake flight
 * was lost repeats both at once, where the Initial alone leaves the client without the certificate
 * until the Handshake space's own, doubled, PTO. */
#include "quic/conn.h"

int lwq_conn_crypto_waiting(const lwq_conn *c, lwq_space s)
{
    uint64_t off;
    size_t len;
    int fin;
    return lwq_sendbuf_next(&c->sp[s].ctx, UINT64_MAX, LWQ_CONN_MDS, &off, &len, &fin) && len;
}

/* New data that would go into the probe anyway. */
static int new_data_waiting(const lwq_conn *c, lwq_space s)
{
    if (lwq_conn_crypto_waiting(c, s))
        return 1;
    if (s != LWQ_SPACE_APP)
        return 0;
    return c->dg_tx != NULL || lwq_streams_have_new_data(c);
}

size_t lwq_conn_pto_requeue(lwq_conn *c, lwq_space s, size_t probes)
{
    if (c->sp[s].discarded || new_data_waiting(c, s))
        return 0;
    lwq_sentmap *m = &c->rec.spaces[s];
    size_t done = 0;
    for (size_t i = 0; i < m->count && done < probes; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if ((p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST)) || !(p->flags & LWQ_SENT_ACK_ELICITING))
            continue;
        int any = 0;
        for (size_t j = 0; j < p->nframes; j++) {
            const lwq_sent_frame *f = lwq_sentmap_frame(m, p, j);
            if (f->kind != LWQ_FRAME_ACK) {
                lwq_conn_frame_requeue(c, s, f);
                any = 1;
            }
        }
        done += (size_t)any;
    }
    return done;
}

static void probe(lwq_conn *c, lwq_space s, size_t n)
{
    c->sp[s].probes = n;
    lwq_conn_requeue_crypto(c, s);
    lwq_conn_pto_requeue(c, s, n);
}

void lwq_conn_pto_probe(lwq_conn *c, lwq_space s)
{
    probe(c, s, 2);
    for (int o = 0; o < LWQ_SPACE_COUNT; o++) {
        if (o == (int)s || c->sp[o].discarded || !c->sp[o].has_wk || !c->rec.spaces[o].ack_eliciting_in_flight)
            continue;
        if (o == LWQ_SPACE_APP && !c->handshake_complete)
            continue; /* 0-RTT is not probed: it is repeated in 1-RTT or rejected */
        probe(c, (lwq_space)o, o == LWQ_SPACE_APP ? 1 : 2); /* handshake spaces: both datagrams whole */
    }
}
