/* The connection object shared by conn.c (lifecycle, TLS glue, timers, close), conn_recv.c
 * (datagrams to frames), conn_send.c (frames to datagrams), stream.c and cid.c. Internal. */
#ifndef LWQ_QUIC_CONN_H
#define LWQ_QUIC_CONN_H

#include "lwquic/quic.h"
#include "quic/cid.h"
#include "quic/conn_ecn.h"
#include "quic/conn_path.h"
#include "quic/conn_keys.h"
#include "quic/conn_version.h"
#include "quic/conn_early.h"
#include "quic/frame.h"
#include "quic/packet.h"
#include "quic/recovery.h"
#include "quic/recvbuf.h"
#include "quic/sendbuf.h"
#include "quic/stream.h"
#include "quic/tparams.h"
#include "tls/cert.h"
#include "tls/tls.h"

#define LWQ_CONN_CID_LEN 8
#define LWQ_MIN_INITIAL_DGRAM 1200    /* RFC 9000 §14.1 */
#define LWQ_CONN_MDS 1200             /* datagram size until PMTU discovery exists */
#define LWQ_ACK_FRAME_RANGES 32       /* ranges we put in one ACK frame */
#define LWQ_PATH_RESPONSES 4          /* PATH_CHALLENGEs answered per path at once; older ones drop */
#define LWQ_ACK_ELICITING_THRESHOLD 2 /* RFC 9000 §13.2.2 */
#define LWQ_AMPLIFICATION_FACTOR 3    /* RFC 9000 §8.1 */
#define LWQ_QUIET_PING_RUN 16         /* ACK-only 1-RTT packets in a row before one carries a PING */
#define LWQ_SKIP_PN_MIN 256           /* a 1-RTT packet number is skipped every 256..511 packets */

struct lwq_context {
    lwq_config cfg;
    const lwq_allocator *alloc;
    const lwq_rng *rng;
    lwq_cert_chain chain;
    lwq_privkey *key;
    lwq_trust *trust;
    uint8_t ticket_key[32];
    uint8_t token_key[32];
    uint8_t reset_key[32]; /* stateless reset tokens are a keyed hash of the CID (RFC 9000 §10.3.2) */
};

typedef enum {
    LWQ_CONN_HANDSHAKE = 0,
    LWQ_CONN_ESTABLISHED,
    LWQ_CONN_CLOSING,  /* RFC 9000 §10.2.1 */
    LWQ_CONN_DRAINING, /* RFC 9000 §10.2.2 */
    LWQ_CONN_CLOSED,
} lwq_conn_state;

/* One packet number space with the CRYPTO stream and keys of its encryption level. */
typedef struct lwq_pn_space {
    lwq_ranges recvd;    /* packet numbers received, to acknowledge */
    uint64_t largest_rx; /* LWQ_PN_NONE before the first */
    lwq_tstamp largest_rx_time;
    unsigned unacked_eliciting; /* ack-eliciting packets since our last ACK */
    int ack_pending;            /* something new to acknowledge */
    int ack_now;                /* acknowledge without delay (RFC 9000 §13.2.1) */
    lwq_tstamp ack_deadline;    /* 0 = none */
    uint64_t ack_floor;         /* the peer has our ACK of everything below (RFC 9000 §13.2.4) */
    lwq_recvbuf crx;
    lwq_sendbuf ctx;
    lwq_quic_keys rk, wk;
    int has_rk, has_wk, discarded;
    unsigned probes; /* ack-eliciting packets owed to a PTO */
} lwq_pn_space;

/* A packet being filled with frames; conn_send.c writes, stream.c and cid.c add frames. */
typedef struct lwq_pktb {
    uint8_t *p;
    size_t len, cap;
    lwq_space space;
    lwq_sentmap *m;
    int ack_eliciting, in_flight, nframes;
    int pad; /* the datagram must reach 1200 bytes */
} lwq_pktb;

typedef struct lwq_dgram {
    struct lwq_dgram *next;
    size_t len;
    uint8_t data[];
} lwq_dgram;

struct lwq_conn {
    lwq_context *ctx;
    const lwq_config *cfg;
    const lwq_allocator *alloc;
    const lwq_rng *rng;
    lwq_server *server;
    int is_server;
    uint32_t version;
    lwq_path path;
    lwq_conn_state state;
    lwq_tstamp now; /* of the current entry point */

    lwq_tls *tls;
    lwq_pn_space sp[LWQ_SPACE_COUNT];
    lwq_recovery rec;
    lwq_cids cids;
    lwq_cid odcid;     /* client: DCID of its first Initial; server: the one it was reached at */
    lwq_cid peer_scid; /* SCID of the peer's first Initial / Handshake */
    int got_peer_scid;
    /* Retry (RFC 9000 §17.2.5): SCID of the Retry processed (client) or sent (server: the DCID the
     * validated Initial arrived on); retry_odcid, server: the client's first DCID from the token. */
    int retried;
    lwq_cid retry_scid, retry_odcid;
    uint8_t *token; /* client: sent in every Initial (RFC 9000 §17.2.5.2, §8.1.3) */
    size_t token_len;
    lwq_tparams local_tp, peer_tp;
    int have_peer_tp;

    int handshake_complete, handshake_confirmed, handshake_done_pending, address_validated;
    unsigned quiet_run; /* 1-RTT packets in a row that were not ack-eliciting (RFC 9000 §13.2.4) */
    uint64_t skip_pn;   /* the next 1-RTT packet number skipped on purpose (RFC 9000 §21.4) */
    unsigned crypto_resends; /* server: flights resent early for a repeated ClientHello (RFC 9002 §6.2.3) */
    int sent_handshake_pkt;
    uint64_t bytes_rx, bytes_tx; /* before address validation: amplification limit (RFC 9000 §8.1) */

    lwq_streams st;

    /* Connection events owed to the application (conn_event.c), kept as state, never as a queue that
     * can fill: stream events live on the streams, datagram events are the received datagrams. */
    unsigned ev_bits;
    int ev_early_accepted;
    uint64_t ev_streams_max[2]; /* STREAMS_AVAILABLE: [0] bidirectional, [1] unidirectional */
    uint8_t *ticket;
    size_t ticket_len;

    lwq_close_info close;
    int close_set;     /* first error wins */
    int close_pending; /* a CONNECTION_CLOSE is owed */
    int close_in_app;  /* the close was the application's (0x1d in 1-RTT, 0x1c APPLICATION_ERROR below) */
    lwq_tstamp close_deadline, close_last_sent;

    lwq_tstamp idle_timeout, last_rx, idle_start;
    int sent_eliciting_since_rx;

    uint8_t path_response[LWQ_PATH_RESPONSES][8]; /* PATH_RESPONSEs owed on paths.resp_path (conn_path.c) */
    int path_response_pending;                     /* how many, oldest first */

    /* RFC 9221: DATAGRAM frames to send and received ones not yet handed out, each a copy,
     * at most cfg->max_datagram_queue in each direction. */
    lwq_dgram *dg_tx, *dg_tx_tail, *dg_rx, *dg_rx_tail, *dg_cur;
    size_t dg_tx_count, dg_rx_count;

    lwq_ack_range *ack_ranges; /* decoder storage, cfg->max_ack_ranges */
    lwq_range *ack_conv;       /* the same ranges for recovery */
    uint8_t *scratch;          /* a copy of the datagram being unprotected in place */
    size_t scratch_cap;
    char alpn[256];
    lwq_conn_stats stats;
    lwq_tstamp created;
    /* qlog (conn_qlog.c): NULL unless cfg->qlog_open gave this connection a handle */
    void *app_data;
    struct lwq_qlog *qlog;
    void *qlog_handle;
    uint64_t qlog_cwnd, qlog_inflight;
    lwq_tstamp qlog_srtt;
    lwq_conn_early early; /* 0-RTT and NEW_TOKEN (conn_early.c) */
    lwq_keyupdate ku;     /* key update and AEAD limits (conn_keys.c) */
    lwq_conn_vn vn;       /* QUIC v2, compatible version negotiation (conn_version.c) */
    lwq_conn_ecn ecn;     /* conn_ecn.c */
    lwq_conn_paths paths; /* conn_path.c */
    int null_protection;  /* tests only: every packet under lwq_null_keys (conn_null.h) */
};

/* conn.c */
/* retry_odcid: the client's first DCID from a valid Retry token (its address is then validated),
 * NULL without one. */
int lwq_conn_server_new(lwq_conn **out, lwq_context *ctx, lwq_server *srv, const lwq_path *path, const lwq_pkt_hdr *h,
                        const lwq_cid *retry_odcid, lwq_tstamp now);
/* Client: a valid Retry was received (RFC 9000 §17.2.5.2): DCID, Initial keys and token change, the
 * ClientHello goes out again, recovery restarts (RFC 9002 §6.3). LWQ_ERR_NOMEM. */
int lwq_conn_retry(lwq_conn *c, const lwq_cid *scid, const uint8_t *token, size_t token_len);
/* Closes with a transport error (first error wins): CONNECTION_CLOSE 0x1c with code, the offending
 * frame type and reason, then the closing period. Returns LWQ_ERR_PROTO for the caller to unwind. */
int lwq_conn_error(lwq_conn *c, uint64_t code, uint64_t frame_type, const char *reason);
/* Closed at once, nothing more to send or wait for (idle timeout, failed version negotiation). */
void lwq_conn_terminate(lwq_conn *c, const lwq_close_info *ci);
/* The peer closed (CONNECTION_CLOSE) or reset us: draining (RFC 9000 §10.2.2). */
void lwq_conn_enter_draining(lwq_conn *c, const lwq_close_info *ci);
/* Records a connection event for lwq_conn_next_event (conn_event.c); it cannot fail. Stream events
 * are recorded on the streams (stream.c), datagram events are the datagrams themselves. */
int lwq_conn_push_event(lwq_conn *c, const lwq_event *ev);

/* qlog (conn_qlog.c); each is a no-op when the connection has no qlog. */
void lwq_conn_qlog_start(lwq_conn *c);
void lwq_conn_qlog_end(lwq_conn *c);
/* A packet as sent (payload before protection) or received (after decryption). */
void lwq_conn_qlog_packet(lwq_conn *c, int sent, lwq_pkt_type type, uint64_t pn, const uint8_t *payload,
                          size_t len, size_t wire_len);
void lwq_conn_qlog_lost(lwq_conn *c, lwq_space s, uint64_t pn);
/* recovery_metrics_updated when cwnd, bytes in flight or smoothed RTT changed. */
void lwq_conn_qlog_metrics(lwq_conn *c);
void lwq_conn_qlog_closed(lwq_conn *c);
/* conn_trace.c: parameters_set, connection_started's addresses, the lwquic/trace.h events. */
void lwq_conn_qlog_params(lwq_conn *c, int local);
void lwq_conn_qlog_addresses(lwq_conn *c);
struct lwq_qlog *lwq_conn_qlog_of(lwq_conn *c);
lwq_tstamp lwq_conn_qlog_now(const lwq_conn *c);
void lwq_conn_trace_packet(lwq_conn *c, int sent, lwq_pkt_type type, uint64_t pn, const uint8_t *hdr,
                           size_t hdr_len, const uint8_t *payload, size_t len, size_t wire_len);
void lwq_conn_trace_datagram(lwq_conn *c, int sent, const uint8_t *d, size_t n);
void lwq_conn_trace_keys(lwq_conn *c, int epoch, const char *detail);
void lwq_conn_trace_lost(lwq_conn *c, lwq_space s, uint64_t pn);
void lwq_conn_trace_pto(lwq_conn *c, lwq_space s);
void lwq_conn_trace_retry(lwq_conn *c, const uint8_t *pkt, size_t len);
const char *lwq_conn_loss_rule(const lwq_conn *c, lwq_space s, uint64_t pn);
/* Hands in-order CRYPTO bytes of a space to TLS and applies what comes back. */
int lwq_conn_crypto_progress(lwq_conn *c, lwq_space s);
void lwq_conn_discard_space(lwq_conn *c, lwq_space s);
void lwq_conn_confirm_handshake(lwq_conn *c);
lwq_tstamp lwq_conn_pto(const lwq_conn *c);

/* conn_check.c: NULL when the bookkeeping holds at `now` (bytes in flight equal the sent maps,
 * the amplification limit, no timer in the past), else what is wrong. For tests. */
const char *lwq_conn_check(const lwq_conn *c, lwq_tstamp now);

/* DATAGRAM frames (conn.c): a received one queued for LWQ_EV_DATAGRAM; queued ones written. */
int lwq_conn_datagram_received(lwq_conn *c, const lwq_frame *f);
int lwq_conn_write_datagrams(lwq_conn *c, lwq_pktb *b);

/* conn_recv.c */
int lwq_conn_recv_datagram(lwq_conn *c, uint8_t *data, size_t len, lwq_tstamp now);

/* conn_send.c */
ssize_t lwq_conn_build_datagram(lwq_conn *c, uint8_t *out, size_t cap, lwq_tstamp now);
void lwq_conn_recovery_visitor(lwq_conn *c, lwq_recovery_visitor *v);
/* PTO: unacknowledged CRYPTO data of a space goes out again (RFC 9002 §6.2.4). */
void lwq_conn_requeue_crypto(lwq_conn *c, lwq_space s);
/* What a lost packet's frame carried is to be sent again (stream data, control frames, CRYPTO). */
void lwq_conn_frame_requeue(lwq_conn *c, lwq_space s, const lwq_sent_frame *f);
/* conn_probe.c: PTO with no new data to send: the frames of the oldest unacknowledged ack-eliciting packets
 * of the space (one per probe) go out again in the probes (RFC 9002 §6.2.4). Returns how many packets. */
size_t lwq_conn_pto_requeue(lwq_conn *c, lwq_space s, size_t probes);
/* The PTO of space s fired: two probes there and in every other handshake space with ack-eliciting data
 * in flight, one in the application space once the handshake is complete, coalesced into the same
 * datagrams (RFC 9002 §6.2.4). */
void lwq_conn_pto_probe(lwq_conn *c, lwq_space s);
/* 1 when the space has CRYPTO data to send (new, or requeued as lost). */
int lwq_conn_crypto_waiting(const lwq_conn *c, lwq_space s);
/* Closes for a failure to track an acknowledgement or loss: LWQ_ERR_LIMIT is the peer fragmenting
 * acknowledgements beyond the tracking limit (PROTOCOL_VIOLATION), anything else INTERNAL_ERROR. */
void lwq_conn_tracking_failed(lwq_conn *c, int err);
/* RFC 9000 §8.2: one 1-RTT packet holding only the nf frames f, to dcid, in a datagram padded to
 * pad_to, for a path other than the current one. Its length, 0 when it cannot be built now. */
ssize_t lwq_conn_build_probe(lwq_conn *c, uint8_t *out, size_t cap, const lwq_cid *dcid, const lwq_frame *f, size_t nf,
                             size_t pad_to);
/* Encodes f into the packet and records rec (NULL: nothing to remember). LWQ_ERR_NOBUF: no room. */
int lwq_pktb_add(lwq_pktb *b, const lwq_frame *f, const lwq_sent_frame *rec);
/* Room left for a frame. */
static inline size_t lwq_pktb_room(const lwq_pktb *b)
{
    return b->cap - b->len;
}
/* 1 when new in-flight data may be sent (congestion window, RFC 9002 §7, and pacer, §7.7). */
int lwq_conn_cwnd_open(const lwq_conn *c);

static inline lwq_tls_epoch lwq_space_epoch(lwq_space s)
{
    return s == LWQ_SPACE_INITIAL     ? LWQ_TLS_EPOCH_INITIAL
           : s == LWQ_SPACE_HANDSHAKE ? LWQ_TLS_EPOCH_HANDSHAKE
                                      : LWQ_TLS_EPOCH_1RTT;
}

/* server.c: routing of connection IDs the connection issues or retires. */
int lwq_server_cid_add(lwq_server *s, const lwq_cid *cid, lwq_conn *c);
void lwq_server_cid_remove(lwq_server *s, const lwq_cid *cid);
void lwq_server_conn_established(lwq_server *s, lwq_conn *c);
/* 1 with *tag the first byte of the server's connection IDs (lwq_server_set_cid_tag). */
int lwq_server_cid_tag(const lwq_server *s, uint8_t *tag);
/* The server's 0-RTT replay cache, made on first use; NULL when it cannot be (no 0-RTT then). */
struct lwq_replay *lwq_server_replay(lwq_server *s);
/* 1 when this 0-RTT binder was not seen within the window: the shared check, else the server's cache. */
int lwq_server_replay_fresh(lwq_server *s, const uint8_t *id, size_t len, lwq_tstamp now);

/* lwq_context_new without files: cfg's TLS material is in cert_data, key_data and ca_data (src/io's
 * lwq_context_new reads the files into those first). */
int lwq_context_new_mem(lwq_context **out, const lwq_config *cfg, const char **why);

#endif
