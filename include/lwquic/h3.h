/* lwquic HTTP/3 (RFC 9114) with QPACK (RFC 9204) and priorities (RFC 9218).
 *
 * Two layers:
 *  - lwq_h3_conn: sans-IO. The caller feeds the bytes of each QUIC stream in
 *    (lwq_h3_conn_recv_stream, _stream_reset, _stop_sending), drains the bytes to write
 *    (lwq_h3_conn_next_output / _output_done), carries out transport actions
 *    (lwq_h3_conn_next_action: reset, stop sending, priority, close) and pulls events.
 *  - lwq_h3 (lwq_h3_new over an lwq_conn): does all of that against the transport; the
 *    application pumps lwq_h3_next_event(), which also passes transport events through.
 *
 * Functions return 0 or a negative LWQ_ERR_*. LWQ_ERR_PROTO: the peer broke HTTP/3; the
 * connection error is in lwq_h3_conn_error(). */
#ifndef LWQUIC_H3_H
#define LWQUIC_H3_H

#include "lwquic/common.h"
#include "lwquic/qpack.h"
#include "lwquic/quic.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 9114 §8.1 */
enum {
    LWQ_H3_NO_ERROR = 0x100,
    LWQ_H3_GENERAL_PROTOCOL_ERROR = 0x101,
    LWQ_H3_INTERNAL_ERROR = 0x102,
    LWQ_H3_STREAM_CREATION_ERROR = 0x103,
    LWQ_H3_CLOSED_CRITICAL_STREAM = 0x104,
    LWQ_H3_FRAME_UNEXPECTED = 0x105,
    LWQ_H3_FRAME_ERROR = 0x106,
    LWQ_H3_EXCESSIVE_LOAD = 0x107,
    LWQ_H3_ID_ERROR = 0x108,
    LWQ_H3_SETTINGS_ERROR = 0x109,
    LWQ_H3_MISSING_SETTINGS = 0x10a,
    LWQ_H3_REQUEST_REJECTED = 0x10b,
    LWQ_H3_REQUEST_CANCELLED = 0x10c,
    LWQ_H3_REQUEST_INCOMPLETE = 0x10d,
    LWQ_H3_MESSAGE_ERROR = 0x10e,
    LWQ_H3_CONNECT_ERROR = 0x10f,
    LWQ_H3_VERSION_FALLBACK = 0x110,
};

/* "H3_FRAME_UNEXPECTED: ..." for H3 and QPACK codes; "unknown HTTP/3 error" otherwise. Never NULL. */
LWQ_API const char *lwq_h3_strerror(uint64_t code);

typedef lwq_qpack_field lwq_h3_field;

/* The field named name (lowercase), or NULL. */
LWQ_API const lwq_h3_field *lwq_h3_find(const lwq_h3_field *f, size_t n, const char *name);

typedef struct lwq_h3_config {
    const lwq_allocator *alloc;      /* NULL = C library */
    size_t max_field_section_size;   /* SETTINGS_MAX_FIELD_SECTION_SIZE we announce (default 64 KiB) */
    size_t qpack_max_table_capacity; /* default 4096 */
    size_t qpack_blocked_streams;    /* default 16 */
    size_t max_fields;               /* field lines per section (default 256) */
    size_t max_streams;              /* request streams tracked at once (default 256) */
    size_t max_body_buffer;          /* received body bytes held per stream (default 256 KiB) */
    size_t max_control_frame;        /* SETTINGS, GOAWAY, ... payload (default 4 KiB) */
} lwq_h3_config;

LWQ_API void lwq_h3_config_init(lwq_h3_config *cfg);
/* A server's lwq_config.early_context for HTTP/3: the SETTINGS cfg announces, so a ticket's 0-RTT
 * is refused once they change (RFC 9114 §7.2.4.2). Bytes written, or LWQ_ERR_NOBUF (64 suffice). */
LWQ_API ssize_t lwq_h3_early_context(const lwq_h3_config *cfg, uint8_t *out, size_t cap);

/* Body source: up to cap bytes into buf; *eof = 1 at the end. Returns the count, or
 * LWQ_ERR_AGAIN to pause (call lwq_h3_conn_resume / lwq_h3_resume later), or another
 * negative value to reset the stream with H3_INTERNAL_ERROR. */
typedef ssize_t (*lwq_h3_read_fn)(void *ud, int64_t stream_id, uint8_t *buf, size_t cap, int *eof);

typedef struct lwq_h3_body {
    const uint8_t *data; /* copied at submission */
    size_t len;
    lwq_h3_read_fn read; /* used when non-NULL instead of data */
    void *ud;
} lwq_h3_body;

typedef enum {
    LWQ_H3_EV_NONE = 0,
    LWQ_H3_EV_REQUEST,   /* server: a request's header section (fields, priority) */
    LWQ_H3_EV_RESPONSE,  /* client: a response header section (status; informational for 1xx) */
    LWQ_H3_EV_DATA,      /* body bytes to read (len = bytes held): read until 0, the next DATA event
                          * comes once the buffer was emptied */
    LWQ_H3_EV_TRAILERS,  /* trailer section (fields) */
    LWQ_H3_EV_END,       /* the message ended (read the remaining body first) */
    LWQ_H3_EV_RESET,     /* the stream was reset or refused (error_code); the stream is gone */
    LWQ_H3_EV_GOAWAY,    /* the peer sent GOAWAY (id: stream or push id) */
    LWQ_H3_EV_PRIORITY,  /* server: new priority of stream_id from PRIORITY_UPDATE */
    LWQ_H3_EV_SETTINGS,  /* the peer's SETTINGS arrived */
    LWQ_H3_EV_CLOSED,    /* HTTP/3 connection error (error_code) or, over QUIC, the connection closed */
    LWQ_H3_EV_TRANSPORT, /* lwq_h3 only: another transport event, in `transport` */
} lwq_h3_event_type;

typedef struct lwq_h3_event {
    lwq_h3_event_type type;
    int64_t stream_id;
    const lwq_h3_field *fields; /* REQUEST, RESPONSE, TRAILERS: valid until the next call */
    size_t field_count;
    int status;        /* RESPONSE */
    int informational; /* RESPONSE: 1xx */
    size_t len;        /* DATA: body bytes held */
    uint64_t error_code;
    uint64_t id;     /* GOAWAY */
    uint8_t urgency; /* REQUEST, PRIORITY: RFC 9218 (default 3) */
    int incremental;
    lwq_event transport; /* TRANSPORT and CLOSED over QUIC */
} lwq_h3_event;

/* ---- sans-IO core ---- */

typedef struct lwq_h3_conn lwq_h3_conn;

LWQ_API int lwq_h3_conn_new(lwq_h3_conn **out, int is_server, const lwq_h3_config *cfg);
LWQ_API void lwq_h3_conn_del(lwq_h3_conn *h);

/* Our three unidirectional streams (RFC 9114 §6.2.1, RFC 9204 §4.2): the caller opened them;
 * their type bytes, SETTINGS and the QPACK streams then flow through next_output. */
LWQ_API int lwq_h3_conn_bind_streams(lwq_h3_conn *h, int64_t control, int64_t qpack_enc, int64_t qpack_dec);

/* Bytes received on stream_id (any split); fin marks its end. Returns the bytes taken: fewer
 * than n when the stream's body buffer is full (give the rest after reading the body; see
 * lwq_h3_conn_recv_window). LWQ_ERR_PROTO on a connection error, LWQ_ERR_NOMEM. */
LWQ_API ssize_t lwq_h3_conn_recv_stream(lwq_h3_conn *h, int64_t stream_id, const uint8_t *p, size_t n, int fin);
/* How many bytes recv_stream takes now on stream_id (SIZE_MAX when unbounded). */
LWQ_API size_t lwq_h3_conn_recv_window(const lwq_h3_conn *h, int64_t stream_id);
/* RESET_STREAM from the peer. */
LWQ_API int lwq_h3_conn_stream_reset(lwq_h3_conn *h, int64_t stream_id, uint64_t error_code);
/* STOP_SENDING from the peer: our side of stream_id is reset (with error_code). */
LWQ_API int lwq_h3_conn_stop_sending(lwq_h3_conn *h, int64_t stream_id, uint64_t error_code);

/* Next bytes to write: 1 with *stream_id, *p, *len (may be 0 with *fin) set; 0 when nothing is
 * pending; *p stays valid until lwq_h3_conn_output_done, which takes the count written (it may free
 * the stream); blocked = 1 when the transport took less (skip the stream until
 * lwq_h3_conn_stream_writable). */
LWQ_API int lwq_h3_conn_next_output(lwq_h3_conn *h, int64_t *stream_id, const uint8_t **p, size_t *len, int *fin);
LWQ_API void lwq_h3_conn_output_done(lwq_h3_conn *h, int64_t stream_id, size_t n, int blocked);
LWQ_API void lwq_h3_conn_stream_writable(lwq_h3_conn *h, int64_t stream_id);

typedef enum {
    LWQ_H3_ACT_RESET = 1,    /* reset our sending side of stream_id (error_code) */
    LWQ_H3_ACT_STOP_SENDING, /* ask the peer to stop sending stream_id (error_code) */
    LWQ_H3_ACT_PRIORITY,     /* set the transport priority of stream_id */
    LWQ_H3_ACT_CLOSE,        /* close the connection with error_code (reason) */
} lwq_h3_action_type;

typedef struct lwq_h3_action {
    lwq_h3_action_type type;
    int64_t stream_id;
    uint64_t error_code;
    uint8_t urgency;
    int incremental;
    const char *reason;
} lwq_h3_action;

/* 1 with *a filled, 0 when none. */
LWQ_API int lwq_h3_conn_next_action(lwq_h3_conn *h, lwq_h3_action *a);

/* 1 with *ev filled, 0 when none. */
LWQ_API int lwq_h3_conn_next_event_sized(lwq_h3_conn *h, lwq_h3_event *ev, size_t struct_size);
/* Writes at most sizeof(*ev) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_h3_conn_next_event(h, ev) lwq_h3_conn_next_event_sized((h), (ev), sizeof(*(ev)))

/* Received body bytes of stream_id: count copied (0 at the end or when none yet). */
LWQ_API ssize_t lwq_h3_conn_read_body(lwq_h3_conn *h, int64_t stream_id, uint8_t *buf, size_t cap);

/* Client: a request on the bidirectional stream the caller opened. extra: more fields
 * (lowercase names). body NULL: no body. urgency 0..7 / incremental go into a priority field
 * when not the defaults (3, 0). LWQ_ERR_INVAL, LWQ_ERR_STATE (after GOAWAY), LWQ_ERR_LIMIT. */
typedef struct lwq_h3_request {
    const char *method, *scheme, *authority, *path;
    const lwq_h3_field *extra;
    size_t extra_count;
    const lwq_h3_body *body;
    uint8_t urgency;
    int incremental;
} lwq_h3_request;
LWQ_API int lwq_h3_conn_submit_request(lwq_h3_conn *h, int64_t stream_id, const lwq_h3_request *req);

/* Server: response header section (status 100..599, 1xx as informational, may repeat), then the
 * body, then trailers (fields may be NULL). body NULL = no body; trailers NULL = none. */
LWQ_API int lwq_h3_conn_submit_response(lwq_h3_conn *h, int64_t stream_id, int status, const lwq_h3_field *fields, size_t count,
                                const lwq_h3_body *body);
LWQ_API int lwq_h3_conn_submit_info(lwq_h3_conn *h, int64_t stream_id, int status, const lwq_h3_field *fields, size_t count);
/* Trailers after the body (call before the body ends, i.e. before the read callback says eof,
 * or right after submit_response with a memory body). */
LWQ_API int lwq_h3_conn_submit_trailers(lwq_h3_conn *h, int64_t stream_id, const lwq_h3_field *fields, size_t count);

/* A paused read callback has more. */
LWQ_API int lwq_h3_conn_resume(lwq_h3_conn *h, int64_t stream_id);
/* Cancels a request or response: resets our side and stops the peer's (H3_REQUEST_CANCELLED
 * for a client, H3_REQUEST_REJECTED when a server never processed it...). */
LWQ_API int lwq_h3_conn_cancel(lwq_h3_conn *h, int64_t stream_id, uint64_t error_code);

/* Graceful shutdown (RFC 9114 §5.2): sends GOAWAY; a server's names the first request stream
 * it will not process; new requests beyond it are rejected. LWQ_ERR_STATE before the streams are
 * bound (over QUIC: before the handshake completes). A later call sends another GOAWAY only when
 * its identifier is lower (a server that saw no new request since sends nothing). */
LWQ_API int lwq_h3_conn_goaway(lwq_h3_conn *h);
/* Server: the first step of a shutdown that loses no request (RFC 9114 §5.2): GOAWAY with the
 * largest stream ID (2^62-4), so the client opens no new request while those already in transit
 * are still processed; call lwq_h3_conn_goaway about a round trip later to name the real limit.
 * A client sends its usual GOAWAY. */
LWQ_API int lwq_h3_conn_goaway_notice(lwq_h3_conn *h);
/* 1 when no request is in progress (after a GOAWAY either way, the connection can be closed). */
LWQ_API int lwq_h3_conn_idle(const lwq_h3_conn *h);
/* The connection error: 0 when none, else the H3/QPACK code with its reason. */
LWQ_API uint64_t lwq_h3_conn_error(const lwq_h3_conn *h, const char **reason);

/* The peer's SETTINGS_MAX_FIELD_SECTION_SIZE (UINT64_MAX until known / unlimited). */
LWQ_API uint64_t lwq_h3_conn_peer_max_field_section(const lwq_h3_conn *h);

/* RFC 9218 §4: parses a priority field value ("u=1, i"). Unknown or malformed parameters leave
 * the defaults (urgency 3, not incremental). */
LWQ_API void lwq_h3_parse_priority(const uint8_t *p, size_t n, uint8_t *urgency, int *incremental);

/* ---- over a QUIC connection ---- */

typedef struct lwq_h3 lwq_h3;

/* Binds to conn (its ALPN must be h3): opens the control and QPACK streams. The conn is not owned. */
LWQ_API int lwq_h3_new(lwq_h3 **out, lwq_conn *conn, int is_server, const lwq_h3_config *cfg);
LWQ_API void lwq_h3_del(lwq_h3 *h);
/* Pumps transport events and moves bytes both ways; 1 with *ev, 0 when none (then send datagrams). */
LWQ_API int lwq_h3_next_event_sized(lwq_h3 *h, lwq_h3_event *ev, size_t struct_size);
/* Writes at most sizeof(*ev) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_h3_next_event(h, ev) lwq_h3_next_event_sized((h), (ev), sizeof(*(ev)))
/* Opens a stream and submits the request: its id in *stream_id. LWQ_ERR_LIMIT when the peer's
 * stream limit is reached now: retry at LWQ_EV_STREAMS_AVAILABLE (bidi), which lwq_h3 passes through
 * (LWQ_H3_EV_TRANSPORT, or returned 0 by lwq_h3_handle_transport), or after a request ends. */
LWQ_API int lwq_h3_submit(lwq_h3 *h, const lwq_h3_request *req, int64_t *stream_id);
LWQ_API int lwq_h3_respond(lwq_h3 *h, int64_t stream_id, int status, const lwq_h3_field *fields, size_t count,
                   const lwq_h3_body *body);
LWQ_API int lwq_h3_trailers(lwq_h3 *h, int64_t stream_id, const lwq_h3_field *fields, size_t count);
LWQ_API ssize_t lwq_h3_read_body(lwq_h3 *h, int64_t stream_id, uint8_t *buf, size_t cap);
LWQ_API int lwq_h3_resume(lwq_h3 *h, int64_t stream_id);
LWQ_API int lwq_h3_cancel(lwq_h3 *h, int64_t stream_id, uint64_t error_code);
LWQ_API int lwq_h3_goaway(lwq_h3 *h);
LWQ_API int lwq_h3_goaway_notice(lwq_h3 *h);
/* 1 when no request is in progress and the transport has delivered and freed every request stream
 * (each response acknowledged): after lwq_h3_goaway, close now with H3_NO_ERROR without cutting a
 * response short (RFC 9114 §5.2). */
LWQ_API int lwq_h3_idle(const lwq_h3 *h);
LWQ_API lwq_h3_conn *lwq_h3_core(lwq_h3 *h);
/* For loops that already pull the connection's events (an lwq_endpoint handler): hand each transport
 * event here, then take HTTP/3 events with lwq_h3_poll_event, which never reads lwq_conn events.
 * Returns 1 when the event belonged to HTTP/3 (stream events), 0 when it is the application's. */
LWQ_API int lwq_h3_handle_transport(lwq_h3 *h, const lwq_event *ev);
LWQ_API int lwq_h3_poll_event_sized(lwq_h3 *h, lwq_h3_event *ev, size_t struct_size);
/* Writes at most sizeof(*ev) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_h3_poll_event(h, ev) lwq_h3_poll_event_sized((h), (ev), sizeof(*(ev)))
/* Writes pending bytes and actions to the transport (next_event does this too). */
LWQ_API int lwq_h3_flush(lwq_h3 *h);

#ifdef __cplusplus
}
#endif
#endif
