/* A connection's qlog: packets as they leave and arrive (frames decoded from the plaintext, so the log
 * shows exactly what was on the wire), losses, recovery metrics, the close. */
#include "quic/conn.h"
#include "quic/qlog.h"
#include "base/mem.h"

#define QLOG_MAX_FRAMES 64
#define QLOG_MAX_ACK_RANGES 32

static void sink(void *ud, const char *record, size_t len)
{
    lwq_conn *c = ud;
    c->cfg->qlog_write(c->qlog_handle, record, len);
}

void lwq_conn_qlog_start(lwq_conn *c)
{
    if (!c->cfg->qlog_open || !c->cfg->qlog_write)
        return;
    c->qlog_handle = c->cfg->qlog_open(c->cfg->qlog_ud, c->is_server, c->odcid.id, c->odcid.len);
    if (!c->qlog_handle)
        return;
    c->qlog = lwq_calloc(c->alloc, 1, sizeof(*c->qlog));
    if (!c->qlog || lwq_qlog_init(c->qlog, c->alloc, sink, c, c->is_server ? "server" : "client", c->odcid.id,
                                  c->odcid.len, "lwquic") != 0) {
        lwq_conn_qlog_end(c); /* observability never fails a connection */
        return;
    }
    lwq_qlog_begin(c->qlog, c->now, "quic:connection_started");
    lwq_qlog_hex(c->qlog, "src_cid", c->odcid.id, c->odcid.len);
    lwq_qlog_end(c->qlog);
}

void lwq_conn_qlog_end(lwq_conn *c)
{
    if (c->qlog) {
        lwq_qlog_free(c->qlog);
        lwq_free(c->alloc, c->qlog);
        c->qlog = NULL;
    }
    if (c->qlog_handle && c->cfg->qlog_close)
        c->cfg->qlog_close(c->qlog_handle);
    c->qlog_handle = NULL;
}

static lwq_pkt_type pkt_type(lwq_space s)
{
    return s == LWQ_SPACE_INITIAL ? LWQ_PKT_INITIAL : s == LWQ_SPACE_HANDSHAKE ? LWQ_PKT_HANDSHAKE : LWQ_PKT_1RTT;
}

void lwq_conn_qlog_packet(lwq_conn *c, int sent, lwq_space s, uint64_t pn, const uint8_t *payload, size_t len,
                          size_t wire_len)
{
    if (!c->qlog)
        return;
    lwq_frame frames[QLOG_MAX_FRAMES];
    lwq_ack_range ranges[4][QLOG_MAX_ACK_RANGES]; /* room for four ACK frames a packet */
    size_t n = 0, acks = 0;
    while (len > 0 && n < QLOG_MAX_FRAMES) {
        lwq_frame *f = &frames[n];
        f->ack_ranges = ranges[acks < 4 ? acks : 3];
        f->ack_ranges_cap = QLOG_MAX_ACK_RANGES;
        ssize_t k = lwq_frame_decode(f, payload, len);
        if (k <= 0)
            break; /* received frames were already checked; a log never fails the connection */
        if (f->type == LWQ_FRAME_ACK || f->type == LWQ_FRAME_ACK_ECN)
            acks++;
        payload += k;
        len -= (size_t)k;
        n++;
    }
    lwq_qlog_pkt h = {.type = pkt_type(s), .pn = pn, .version = c->version, .length = wire_len};
    uint64_t exponent = sent ? c->local_tp.ack_delay_exponent : c->peer_tp.ack_delay_exponent;
    lwq_qlog_packet(c->qlog, c->now, sent, &h, frames, n, exponent);
}

void lwq_conn_qlog_lost(lwq_conn *c, lwq_space s, uint64_t pn)
{
    if (c->qlog)
        lwq_qlog_packet_lost(c->qlog, c->now, pkt_type(s), pn, NULL);
}

void lwq_conn_qlog_metrics(lwq_conn *c)
{
    const lwq_recovery *r = &c->rec;
    if (!c->qlog || (r->cc.cwnd == c->qlog_cwnd && r->cc.bytes_in_flight == c->qlog_inflight &&
                     r->rtt.smoothed == c->qlog_srtt))
        return;
    c->qlog_cwnd = r->cc.cwnd;
    c->qlog_inflight = r->cc.bytes_in_flight;
    c->qlog_srtt = r->rtt.smoothed;
    lwq_qlog_metrics(c->qlog, c->now, r->rtt.min, r->rtt.smoothed, r->rtt.latest, r->rtt.var, r->cc.cwnd,
                     r->cc.bytes_in_flight, r->cc.ssthresh, r->pto_count);
}

void lwq_conn_qlog_closed(lwq_conn *c)
{
    if (!c->qlog)
        return;
    const lwq_close_info *ci = &c->close;
    const char *trigger = ci->idle_timeout ? "idle_timeout" : ci->stateless_reset ? "stateless_reset" : NULL;
    lwq_qlog_closed(c->qlog, c->now, ci->by_peer ? "remote" : "local", ci->is_app, ci->code,
                    (const uint8_t *)ci->reason, strlen(ci->reason), trigger);
}
