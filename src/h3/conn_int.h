/* lwq_h3_conn internals shared by conn.c (connection, control and QPACK streams, output) and
 * stream.c (request streams). */
#ifndef LWQ_H3_CONN_INT_H
#define LWQ_H3_CONN_INT_H

#include "h3/frame.h"
#include "h3/msg.h"

#define H3_MAX_UNI 16
#define H3_DEAD_IDS 64
#define H3_DATA_CHUNK 16383 /* a DATA length always fits a 2-byte varint */

enum { RX_HEADERS = 0, RX_BODY, RX_TRAILERS, RX_DONE };
enum { UNI_TYPE = 0, UNI_CONTROL, UNI_ENC, UNI_DEC, UNI_IGNORE, UNI_DONE };

typedef struct h3_outbuf {
    lwq_qpack_buf b;
    size_t off;
} h3_outbuf;

typedef struct h3_stream {
    int64_t id;
    lwq_h3_parser ps;
    int rx_state, rx_fin, rx_done, qpack_blocked, end_queued, gone_rx;
    lwq_h3_msg_info mi;
    uint64_t body_rx;
    int is_head, final_seen;
    int qlog_in_data; /* inside a DATA frame already logged as parsed (qlog.c) */
    uint8_t *pend; /* accepted bytes not parsed yet (while QPACK-blocked) */
    size_t pend_len, pend_cap;
    int pend_fin;
    uint8_t *body; /* received body for the application */
    size_t body_off, body_len, body_cap;
    h3_outbuf out;
    int out_fin, fin_sent, wblocked, tx_done, headers_sent, processed, reset_reported;
    lwq_h3_read_fn src;
    void *src_ud;
    uint8_t *copy;
    size_t copy_len, copy_off;
    int src_on, src_paused;
    lwq_qpack_buf trailers;
    int has_trailers;
} h3_stream;

typedef struct h3_uni {
    int64_t id;
    int kind;
    uint8_t vb[8];
    size_t vlen;
    lwq_h3_parser ps; /* control */
} h3_uni;

typedef struct h3_qev {
    lwq_h3_event ev;
    lwq_qpack_headers *hdrs;
} h3_qev;

struct lwq_h3_conn {
    const lwq_allocator *alloc;
    lwq_h3_config cfg;
    int is_server;
    lwq_qpack_encoder *enc;
    lwq_qpack_decoder *dec;
    lwq_h3_settings peer;
    int peer_settings;
    int64_t ctrl_id, enc_id, dec_id;
    int bound;
    h3_outbuf ctrl, encs, decs;
    h3_uni uni[H3_MAX_UNI];
    size_t nuni;
    int have_ctrl, have_enc, have_dec;
    h3_stream **st;
    size_t nst;
    size_t ntx;            /* streams whose sending side is not done: next_output scans them only when > 0 */
    int64_t max_peer_bidi; /* highest peer request stream seen, -1 none */
    /* streams we stopped reading (STOP_SENDING sent): bytes still in flight are dropped, not taken
     * for a new stream; the most recent H3_DEAD_IDS are kept */
    int64_t dead[H3_DEAD_IDS];
    size_t ndead;
    int64_t next_local_bidi_min;
    int goaway_sent, goaway_rcvd;
    uint64_t goaway_sent_id, goaway_rcvd_id;
    h3_qev *evq;
    size_t evq_head, evq_len, evq_cap;
    lwq_qpack_headers *cur_hdrs;
    lwq_h3_action *actq;
    size_t actq_head, actq_len, actq_cap;
    uint64_t error;
    char reason[96];
    lwq_qpack_headers tmp;
    size_t rr; /* round-robin start for output */
    struct lwq_conn *qconn; /* for qlog events (qlog.c); NULL: none */
};

/* qlog.c */
void h3_qlog_frame(lwq_h3_conn *h, int64_t id, int created, uint64_t type, uint64_t len,
                   const lwq_qpack_field *f, size_t n);
void h3_qlog_stream_type(lwq_h3_conn *h, int64_t id, int local, uint64_t type);

/* conn.c */
int h3_conn_fail(lwq_h3_conn *h, uint64_t code, const char *reason);
int h3_push_event(lwq_h3_conn *h, const lwq_h3_event *ev, lwq_qpack_headers *hdrs);
int h3_push_action(lwq_h3_conn *h, lwq_h3_action_type t, int64_t id, uint64_t code, uint8_t u, int inc);
int h3_flush_decoder(lwq_h3_conn *h);
int h3_out_append(h3_outbuf *o, const uint8_t *p, size_t n);
int h3_encode_section(lwq_h3_conn *h, int64_t id, const lwq_h3_field *f, size_t n, lwq_qpack_buf *dst);

/* stream.c */
h3_stream *h3_stream_find(lwq_h3_conn *h, int64_t id);
void h3_stream_free(lwq_h3_conn *h, h3_stream *s);
void h3_stream_gc(lwq_h3_conn *h, h3_stream *s);
/* Our side of s is finished (FIN handed over or reset): every tx_done change goes through here. */
void h3_tx_done(lwq_h3_conn *h, h3_stream *s);
ssize_t h3_stream_recv(lwq_h3_conn *h, int64_t id, const uint8_t *p, size_t n, int fin);
int h3_stream_unblocked(lwq_h3_conn *h, int64_t id, lwq_qpack_headers *hdrs, int rv);
int h3_stream_error(lwq_h3_conn *h, h3_stream *s, uint64_t code, int report);
int h3_stream_fill(lwq_h3_conn *h, h3_stream *s);
size_t h3_stream_window(const lwq_h3_conn *h, const h3_stream *s);
int h3_reject_beyond_goaway(lwq_h3_conn *h, int64_t id);
void h3_mark_dead(lwq_h3_conn *h, int64_t id);
int h3_is_dead(const lwq_h3_conn *h, int64_t id);

#endif
