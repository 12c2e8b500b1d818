/* The structured trace (lwquic/trace.h) and the qlog events that describe the connection rather
 * than its packets: addresses at the start and the transport parameters of each side. */
#include <stdio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "quic/conn.h"
#include "quic/qlog.h"

static void emit(lwq_conn *c, lwq_trace_event *ev)
{
    ev->conn = c;
    ev->is_server = c->is_server;
    ev->now = c->now;
    c->cfg->trace(c->cfg->trace_ud, ev);
}

void lwq_conn_trace_packet(lwq_conn *c, int sent, lwq_pkt_type type, uint64_t pn, const uint8_t *hdr, size_t hdr_len,
                           const uint8_t *payload, size_t len, size_t wire_len)
{
    if (!c->cfg->trace)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_PACKET,
                          .sent = sent,
                          .pn = pn,
                          .hdr = hdr,
                          .hdr_len = hdr_len,
                          .payload = payload,
                          .payload_len = len,
                          .wire_len = wire_len};
    ev.epoch = type == LWQ_PKT_INITIAL ? 0 : type == LWQ_PKT_0RTT ? 1 : type == LWQ_PKT_HANDSHAKE ? 2 : 3;
    emit(c, &ev);
}

void lwq_conn_trace_datagram(lwq_conn *c, int sent, const uint8_t *d, size_t n)
{
    if (!c->cfg->trace || !n)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_DATAGRAM, .sent = sent, .payload = d, .payload_len = n, .wire_len = n};
    emit(c, &ev);
}

void lwq_conn_trace_keys(lwq_conn *c, int epoch, const char *detail)
{
    if (!c->cfg->trace)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_KEYS, .epoch = epoch, .detail = detail};
    emit(c, &ev);
}

static int space_epoch(lwq_space s)
{
    return s == LWQ_SPACE_INITIAL ? 0 : s == LWQ_SPACE_HANDSHAKE ? 2 : 3;
}

/* RFC 9002 §6.1: a packet is lost when a later one is acknowledged and it is kPacketThreshold
 * behind the largest acknowledged (§6.1.1), or was sent long enough before it (§6.1.2). */
const char *lwq_conn_loss_rule(const lwq_conn *c, lwq_space s, uint64_t pn)
{
    const lwq_sentmap *m = &c->rec.spaces[s];
    if (m->largest_acked != UINT64_MAX && m->largest_acked >= pn + c->rec.pkt_threshold)
        return "packet_threshold";
    return "time_threshold";
}

void lwq_conn_trace_lost(lwq_conn *c, lwq_space s, uint64_t pn)
{
    if (!c->cfg->trace)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_LOST,
                          .epoch = space_epoch(s),
                          .pn = pn,
                          .value = c->rec.pkt_threshold,
                          .detail = lwq_conn_loss_rule(c, s, pn)};
    emit(c, &ev);
}

void lwq_conn_trace_pto(lwq_conn *c, lwq_space s)
{
    if (!c->cfg->trace)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_PTO, .epoch = space_epoch(s), .value = c->rec.pto_count};
    emit(c, &ev);
}

void lwq_conn_trace_retry(lwq_conn *c, const uint8_t *pkt, size_t len)
{
    if (!c->cfg->trace)
        return;
    lwq_trace_event ev = {.kind = LWQ_TRACE_RETRY, .hdr = pkt, .hdr_len = len, .wire_len = len};
    emit(c, &ev);
}

static void address(lwq_qlog *q, const struct sockaddr_storage *ss, int v03, const char *ipkey, const char *portkey)
{
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    int v6 = ss->ss_family == AF_INET6;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (v6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    } else {
        return;
    }
    if (v03) {
        lwq_qlog_str(q, ipkey, ip);
        lwq_qlog_u64(q, portkey, port);
        return;
    }
    lwq_qlog_obj(q, ipkey); /* main schema: PathEndpointInfo */
    lwq_qlog_str(q, v6 ? "ip_v6" : "ip_v4", ip);
    lwq_qlog_u64(q, v6 ? "port_v6" : "port_v4", port);
    lwq_qlog_close(q);
}

/* connection_started's data: draft-02 src/dst fields, or the main schema's local and remote. */
void lwq_conn_qlog_addresses(lwq_conn *c)
{
    lwq_qlog *q = c->qlog;
    const lwq_path *p = &c->path;
    if (q->v03) {
        lwq_qlog_str(q, "ip_version", p->local.ss_family == AF_INET6 ? "ipv6" : "ipv4");
        lwq_qlog_str(q, "protocol", "QUIC");
        address(q, &p->local, 1, "src_ip", "src_port");
        address(q, &p->remote, 1, "dst_ip", "dst_port");
    } else {
        address(q, &p->local, 0, "local", NULL);
        address(q, &p->remote, 0, "remote", NULL);
    }
}

static void cid(lwq_qlog *q, const char *k, const lwq_cid *id)
{
    lwq_qlog_hex(q, k, id->id, id->len);
}

/* parameters_set (draft-ietf-quic-qlog-quic-events §5.2) with owner local or remote. */
void lwq_conn_qlog_params(lwq_conn *c, int local)
{
    if (!c->qlog)
        return;
    const lwq_tparams *tp = local ? &c->local_tp : &c->peer_tp;
    lwq_qlog *q = c->qlog;
    lwq_qlog_begin(q, c->now, "quic:parameters_set");
    lwq_qlog_str(q, "owner", local ? "local" : "remote");
    if (tp->has_original_dcid)
        cid(q, "original_destination_connection_id", &tp->original_dcid);
    if (tp->has_initial_scid)
        cid(q, "initial_source_connection_id", &tp->initial_scid);
    if (tp->has_retry_scid)
        cid(q, "retry_source_connection_id", &tp->retry_scid);
    if (tp->has_reset_token)
        lwq_qlog_hex(q, "stateless_reset_token", tp->reset_token, sizeof(tp->reset_token));
    lwq_qlog_bool(q, "disable_active_migration", tp->disable_active_migration);
    lwq_qlog_u64(q, "max_idle_timeout", tp->max_idle_timeout);
    lwq_qlog_u64(q, "max_udp_payload_size", tp->max_udp_payload_size);
    lwq_qlog_u64(q, "ack_delay_exponent", tp->ack_delay_exponent);
    lwq_qlog_u64(q, "max_ack_delay", tp->max_ack_delay);
    lwq_qlog_u64(q, "active_connection_id_limit", tp->active_connection_id_limit);
    lwq_qlog_u64(q, "initial_max_data", tp->initial_max_data);
    lwq_qlog_u64(q, "initial_max_stream_data_bidi_local", tp->initial_max_stream_data_bidi_local);
    lwq_qlog_u64(q, "initial_max_stream_data_bidi_remote", tp->initial_max_stream_data_bidi_remote);
    lwq_qlog_u64(q, "initial_max_stream_data_uni", tp->initial_max_stream_data_uni);
    lwq_qlog_u64(q, "initial_max_streams_bidi", tp->initial_max_streams_bidi);
    lwq_qlog_u64(q, "initial_max_streams_uni", tp->initial_max_streams_uni);
    if (tp->has_max_datagram_frame_size)
        lwq_qlog_u64(q, "max_datagram_frame_size", tp->max_datagram_frame_size);
    lwq_qlog_end(q);
}

lwq_qlog *lwq_conn_qlog_of(lwq_conn *c)
{
    return c->qlog;
}
lwq_tstamp lwq_conn_qlog_now(const lwq_conn *c)
{
    return c->now;
}
