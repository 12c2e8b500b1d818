/* Streams of one connection (RFC 9000 §2-4): the table (a hash keyed by a random key), both
 * sides' state, stream and connection flow control with window auto-tuning, stream limits,
 * RESET_STREAM and STOP_SENDING. Internal. */
#ifndef LWQ_QUIC_STREAM_H
#define LWQ_QUIC_STREAM_H

#include "lwquic/quic.h"
#include "quic/frame.h"
#include "quic/recvbuf.h"
#include "quic/sendbuf.h"

typedef struct lwq_stream lwq_stream;
struct lwq_stream {
    int64_t id;
    lwq_stream *hnext;       /* hash chain */
    lwq_stream *prev, *next; /* all streams, in send-scheduling order */
    lwq_sendbuf tx;
    lwq_recvbuf rx;
    uint8_t has_tx, has_rx;
    uint8_t urgency, incremental;
    uint64_t tx_max;            /* the peer's MAX_STREAM_DATA */
    uint64_t rx_max, rx_window; /* what we advertised; the window we advertise */
    lwq_tstamp rx_window_time;  /* when rx_max last moved (auto-tuning) */
    uint8_t tx_reset, reset_pending, reset_acked;
    uint64_t reset_code, reset_final;
    uint8_t stop_pending, stop_sent;
    uint64_t stop_code;
    uint8_t rx_reset, rx_reset_seen; /* RESET_STREAM received; the application was told */
    uint8_t fin_read;                /* the application read the FIN */
    uint8_t max_data_pending, blocked_pending;
    uint64_t blocked_at;
    uint8_t readable_ev, want_writable;
    /* Send scheduling (stream.c): streams with data to send are on the active list in send order (seq), those
     * with control frames owed on the control list, so building a packet visits only those. */
    lwq_stream *aprev, *anext, *cprev, *cnext;
    uint8_t active, in_ctl;
    uint64_t seq;
    /* Events owed to the application (LWQ_SEV_*), on the streams' event list while any is; a closed
     * stream (gone) stays there, out of the table, until its LWQ_EV_STREAM_CLOSED is taken. */
    uint8_t ev, ev_queued, gone;
    lwq_stream *evnext;
    uint64_t ev_reset_code, ev_reset_final, ev_stop_code;
};

typedef struct lwq_streams {
    lwq_stream **buckets;
    size_t nbuckets, count;
    uint8_t key[16];
    lwq_stream *head, *tail;
    /* index 0: bidirectional, 1: unidirectional */
    uint64_t local_next[2];  /* next stream index we open */
    uint64_t local_max[2];   /* the peer's MAX_STREAMS */
    uint64_t peer_next[2];   /* streams the peer opened (index of the next) */
    uint64_t peer_max[2];    /* our MAX_STREAMS */
    uint64_t peer_closed[2]; /* peer streams freed: credit to give back */
    uint8_t max_streams_pending[2], streams_blocked_pending[2];
    /* connection flow control (RFC 9000 §4.1) */
    uint64_t tx_max_data, tx_data;
    uint8_t data_blocked_pending, max_data_pending;
    uint64_t data_blocked_at;
    uint64_t rx_max_data, rx_window, rx_data, rx_read;
    uint64_t budget_held; /* of cfg->mem_budget: the connection's receive window */
    lwq_tstamp rx_window_time;
    uint64_t blocked_sent, blocked_received; /* STREAM_DATA_BLOCKED and DATA_BLOCKED frames */
    uint8_t open_refused[2]; /* lwq_stream_open hit local_max: MAX_STREAMS raises LWQ_EV_STREAMS_AVAILABLE */
    lwq_stream *ahead, *atail, *chead, *ctail; /* active and control lists (lwq_stream) */
    size_t nactive[8];                         /* active streams per urgency */
    uint64_t seq;                              /* send order: creation, or an incremental stream's last turn */
    lwq_stream *evhead, *evtail;               /* streams with events owed (conn_event.c) */
} lwq_streams;

struct lwq_pktb;

int lwq_streams_init(lwq_conn *c);
void lwq_streams_free(lwq_conn *c);
/* Applies the peer's transport parameters (initial credits and stream limits). */
void lwq_streams_peer_params(lwq_conn *c);
lwq_stream *lwq_stream_find(const lwq_conn *c, int64_t id);
/* Stream-related frames (STREAM, RESET_STREAM, STOP_SENDING, MAX_*, *_BLOCKED). Errors close. */
int lwq_streams_on_frame(lwq_conn *c, const lwq_frame *f);
/* Writes control frames, then STREAM frames by priority while cwnd_open. */
int lwq_streams_write(lwq_conn *c, struct lwq_pktb *b, int cwnd_open);
void lwq_streams_on_acked(lwq_conn *c, const lwq_sent_frame *f);
void lwq_streams_on_lost(lwq_conn *c, const lwq_sent_frame *f);
/* The next stream event (LWQ_EV_STREAM_*) into *ev: 1, or 0 when none is owed. Taking a stream's
 * LWQ_EV_STREAM_CLOSED frees it and, for a peer's stream, gives its credit back (RFC 9000 §4.6). */
int lwq_streams_next_event(lwq_conn *c, lwq_event *ev);
/* 1 when some stream has data (or a FIN) it may send now, new or to retransmit. */
int lwq_streams_have_new_data(const lwq_conn *c);

#endif
