/* qlog (draft-ietf-quic-qlog-main-schema, -quic-events) as JSON Text Sequences (RFC 7464): each record
 * starts with RS (0x1e) and ends with LF and goes to a sink callback. Times are milliseconds of the
 * caller's monotonic lwq_tstamp clock. Strings from the peer are escaped so every record is valid JSON. */
#ifndef LWQ_QUIC_QLOG_H
#define LWQ_QUIC_QLOG_H

#include "lwquic/common.h"
#include "quic/frame.h"

#define LWQ_QLOG_EVENT_SCHEMA "urn:ietf:params:qlog:events:quic-13"
#define LWQ_QLOG_H3_EVENT_SCHEMA "urn:ietf:params:qlog:events:http3-07"
#define LWQ_QLOG_MAX_DEPTH 16

typedef void (*lwq_qlog_sink)(void *ud, const char *record, size_t len);

typedef struct lwq_qlog {
    lwq_qlog_sink sink;
    void *ud;
    const lwq_allocator *alloc;
    char *buf;
    size_t len, cap, max;  /* a record longer than max is dropped (counted) */
    int depth;
    uint8_t comma[LWQ_QLOG_MAX_DEPTH];
    char closer[LWQ_QLOG_MAX_DEPTH]; /* '}' or ']' for each open level */
    int failed;            /* this record ran out of memory or size */
    uint64_t dropped;      /* records lost that way */
    int v03;               /* qlog 0.3 / draft-02 (LWQ_QLOG_03): event names and relative times */
    lwq_tstamp t0;         /* v03: the reference time, event times count from it */
} lwq_qlog;

/* Writes the header record. vantage: "client" or "server"; group_id: the original DCID. */
int lwq_qlog_init(lwq_qlog *q, const lwq_allocator *a, lwq_qlog_sink sink, void *ud, const char *vantage,
                  const uint8_t *group_id, size_t group_len, const char *title);
/* The same with a format (LWQ_QLOG_03 or LWQ_QLOG_MAIN) and, for 0.3, the reference time t0. */
int lwq_qlog_init_format(lwq_qlog *q, const lwq_allocator *a, lwq_qlog_sink sink, void *ud, const char *vantage,
                         const uint8_t *group_id, size_t group_len, const char *title, int format, lwq_tstamp t0);
void lwq_qlog_free(lwq_qlog *q);

/* Generic builder: begin an event, add fields to its "data" object, end emits it. Names are given in
 * the main schema ("quic:packet_sent", "http3:frame_created"); a 0.3 log renames them. */
void lwq_qlog_begin(lwq_qlog *q, lwq_tstamp now, const char *name);
void lwq_qlog_end(lwq_qlog *q);
void lwq_qlog_obj(lwq_qlog *q, const char *key);   /* key NULL inside arrays */
void lwq_qlog_arr(lwq_qlog *q, const char *key);
void lwq_qlog_close(lwq_qlog *q);                  /* closes the innermost object or array */
void lwq_qlog_str(lwq_qlog *q, const char *key, const char *s);
void lwq_qlog_strn(lwq_qlog *q, const char *key, const uint8_t *s, size_t n); /* escapes anything */
void lwq_qlog_u64(lwq_qlog *q, const char *key, uint64_t v);
void lwq_qlog_ms(lwq_qlog *q, const char *key, lwq_tstamp t); /* milliseconds with 3 decimals */
void lwq_qlog_bool(lwq_qlog *q, const char *key, int v);
void lwq_qlog_hex(lwq_qlog *q, const char *key, const uint8_t *p, size_t n);

/* One QUIC frame as a QuicFrame object (inside an array). ack_delay_exponent scales ACK delays. */
void lwq_qlog_frame(lwq_qlog *q, const lwq_frame *f, uint64_t ack_delay_exponent);

/* A packet header for packet_sent / packet_received. */
typedef struct lwq_qlog_pkt {
    lwq_pkt_type type;
    uint64_t pn;
    size_t pn_len;
    const uint8_t *dcid, *scid;
    size_t dcid_len, scid_len;
    uint32_t version;
    size_t length; /* whole packet on the wire */
    int key_phase;
} lwq_qlog_pkt;

/* packet_sent / packet_received with their frames. */
void lwq_qlog_packet(lwq_qlog *q, lwq_tstamp now, int sent, const lwq_qlog_pkt *h, const lwq_frame *frames,
                     size_t n, uint64_t ack_delay_exponent);
/* recovery_metrics_updated (RFC 9002 state) and congestion_state_updated. */
void lwq_qlog_metrics(lwq_qlog *q, lwq_tstamp now, lwq_tstamp min_rtt, lwq_tstamp smoothed, lwq_tstamp latest,
                      lwq_tstamp rttvar, uint64_t cwnd, uint64_t bytes_in_flight, uint64_t ssthresh,
                      unsigned pto_count);
void lwq_qlog_congestion_state(lwq_qlog *q, lwq_tstamp now, const char *old_state, const char *new_state,
                               const char *trigger);
void lwq_qlog_packet_lost(lwq_qlog *q, lwq_tstamp now, lwq_pkt_type type, uint64_t pn, const char *trigger);
/* connection_closed: owner "local"/"remote", a transport or application code, reason bytes. */
void lwq_qlog_closed(lwq_qlog *q, lwq_tstamp now, const char *owner, int is_app, uint64_t code,
                     const uint8_t *reason, size_t reason_len, const char *trigger);

const char *lwq_qlog_pkt_type_name(lwq_pkt_type t);

#endif
