/* lwquic convenience APIs, built on the endpoint, the loop and HTTP/3:
 *  - a message server: one client-initiated bidirectional stream per request (request bytes, FIN),
 *    answered on the same stream (answer bytes, FIN); ALPN "echo" by default (PyQuic's protocol).
 *    Handlers run on a worker pool of their own, never on a network strand.
 *  - a futures client for it: send() returns a future; any number may be outstanding.
 *  - a blocking HTTP/3 client: request() -> response, one connection per origin, reused.
 * The synchronous event loop (schedule a task, get a future, run, stop) is lwq_loop (loop.h).
 * Functions return 0 or a negative LWQ_ERR_*; lwq_strerror names them. */
#ifndef LWQUIC_APP_H
#define LWQUIC_APP_H

#include "lwquic/common.h"
#include "lwquic/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Application error codes of the message protocol, sent in RESET_STREAM / STOP_SENDING. */
enum {
    LWQ_MSG_ERR_HANDLER = 0x1,   /* the handler failed */
    LWQ_MSG_ERR_TOO_LARGE = 0x2, /* the request exceeded the server's message size limit */
    LWQ_MSG_ERR_BUSY = 0x3,      /* the server's handler queue or buffer limit is full */
    LWQ_MSG_ERR_CANCELLED = 0x4, /* the client gave up (timeout) */
    LWQ_MSG_ERR_SHUTDOWN = 0x5,  /* the server is shutting down */
};
/* "handler failed" etc.; "unknown message error" otherwise. Never NULL. */
LWQ_API const char *lwq_msg_strerror(uint64_t code);

/* ---- message server ---- */

typedef struct lwq_msgsrv lwq_msgsrv;
typedef struct lwq_msg_reply lwq_msg_reply;

/* Runs on a handler thread with the whole request. Returns 0 to answer with what lwq_msg_reply_set
 * gave (nothing set: the stream ends with no data), nonzero to fail: the stream is reset with
 * LWQ_MSG_ERR_HANDLER and a log line written. The request bytes are valid during the call only. */
typedef int (*lwq_msg_handler)(void *ud, const uint8_t *req, size_t len, lwq_msg_reply *reply);
/* Copies the answer (call again to replace it). LWQ_ERR_LIMIT above the server's max_message. */
LWQ_API int lwq_msg_reply_set(lwq_msg_reply *r, const uint8_t *data, size_t len);

typedef struct lwq_msgsrv_config {
    const char *listen;               /* "HOST:PORT" (default "127.0.0.1:4433"; port 0 picks one) */
    const char *cert_file, *key_file; /* PEM; required */
    const char *alpn;                 /* default "echo" */
    lwq_msg_handler handler;          /* required */
    void *handler_ud;
    size_t max_message;       /* request and answer size limit (default 16 MiB) */
    size_t max_handlers;      /* requests queued or running in handlers, all connections (default 1024) */
    size_t max_buffered;      /* request bytes held, all connections (default 256 MiB) */
    uint64_t max_streams;     /* concurrent requests per connection, MAX_STREAMS (default 1000) */
    unsigned workers;         /* network threads (default 2) */
    unsigned handler_workers; /* handler threads (default 4) */
    void (*log)(void *ud, const char *line); /* failures; NULL: stderr */
    void *log_ud;
    const lwq_allocator *alloc; /* everything the server and its connections allocate (NULL: C library) */
} lwq_msgsrv_config;

LWQ_API void lwq_msgsrv_config_init(lwq_msgsrv_config *cfg);
/* Loads the certificate and starts listening. On failure err holds a message naming the cause
 * (the file that cannot be read, the address that cannot be bound). */
LWQ_API int lwq_msgsrv_new(lwq_msgsrv **out, const lwq_msgsrv_config *cfg, char *err, size_t errlen);
LWQ_API uint16_t lwq_msgsrv_port(const lwq_msgsrv *s);

typedef struct lwq_msgsrv_stats {
    uint64_t requests, answered, failed, refused_busy, refused_size;
    size_t handlers, peak_handlers; /* queued or running now / at most */
    size_t buffered, peak_buffered; /* request bytes held now / at most */
    size_t connections;
} lwq_msgsrv_stats;
LWQ_API void lwq_msgsrv_get_stats(lwq_msgsrv *s, lwq_msgsrv_stats *st);
/* Closes every connection (LWQ_MSG_ERR_SHUTDOWN), waits for running handlers, frees. NULL is fine. */
LWQ_API void lwq_msgsrv_del(lwq_msgsrv *s);

/* ---- futures client ---- */

typedef struct lwq_msgcli lwq_msgcli;
typedef struct lwq_msg_future lwq_msg_future;

typedef struct lwq_msgcli_config {
    const char *server;         /* "HOST:PORT"; required */
    const char *server_name;    /* SNI and the name the certificate must carry (default: HOST) */
    const char *ca_file;        /* PEM trust anchors (default: the system bundle) */
    int insecure;               /* no certificate verification */
    const char *alpn;           /* default "echo" */
    lwq_tstamp connect_timeout; /* default 10 s */
    size_t max_response;        /* default 16 MiB */
    unsigned workers;           /* network threads (default 1) */
    const lwq_allocator *alloc; /* the client, its connection and futures (NULL: C library) */
} lwq_msgcli_config;

LWQ_API void lwq_msgcli_config_init(lwq_msgcli_config *cfg);
/* Connects and waits for the handshake. On failure err says why (unresolvable name, refused,
 * timeout, the certificate error, the peer's close reason). */
LWQ_API int lwq_msgcli_new(lwq_msgcli **out, const lwq_msgcli_config *cfg, char *err, size_t errlen);
/* Sends one request (copied). timeout: for the answer, from now (0 = none). From any thread. Requests
 * beyond the server's MAX_STREAMS wait for a stream. Returns NULL only when out of memory; on a closed
 * client the future is already failed (LWQ_ERR_CLOSED). Release it with lwq_msg_future_del. */
LWQ_API lwq_msg_future *lwq_msgcli_send(lwq_msgcli *c, const uint8_t *data, size_t len, lwq_tstamp timeout);
/* Like lwq_msgcli_send without a future to hold: when done, the future (carrying tag) comes out of
 * lwq_msgcli_next_done, which gives the only reference. For bindings completing many at once. */
LWQ_API int lwq_msgcli_send_tagged(lwq_msgcli *c, const uint8_t *data, size_t len, lwq_tstamp timeout, uint64_t tag);
/* Up to max futures of lwq_msgcli_send_tagged that completed, waiting up to timeout (ns) for the first.
 * Returns the count (0 on timeout, LWQ_ERR_CLOSED once the client is closed and none are left). */
LWQ_API int lwq_msgcli_next_done(lwq_msgcli *c, lwq_msg_future **out, int max, lwq_tstamp timeout);
/* Requests sent and not completed. */
LWQ_API size_t lwq_msgcli_pending(lwq_msgcli *c);
/* 1 once the connection is gone; reason (may be NULL) then says why. */
LWQ_API int lwq_msgcli_closed(lwq_msgcli *c, char *reason, size_t cap);
/* Closes the connection (pending futures fail with LWQ_ERR_CLOSED) and frees. NULL is fine. */
LWQ_API void lwq_msgcli_del(lwq_msgcli *c);

/* 0 when answered, LWQ_ERR_AGAIN when not done within timeout (ns; LWQ_TSTAMP_INF waits), else the
 * request's error: LWQ_ERR_TIMEOUT, LWQ_ERR_RESET (the server reset the stream: see the code),
 * LWQ_ERR_LIMIT (answer too large), LWQ_ERR_CLOSED (the connection closed: see the reason). */
LWQ_API int lwq_msg_future_wait(lwq_msg_future *f, lwq_tstamp timeout);
/* 1 when done (answered or failed). */
LWQ_API int lwq_msg_future_done(lwq_msg_future *f);
/* Once done: the answer (valid until lwq_msg_future_del). */
LWQ_API const uint8_t *lwq_msg_future_data(const lwq_msg_future *f, size_t *len);
/* Once done: the error (0 when answered), the peer's application code and a reason ("" if none). */
LWQ_API int lwq_msg_future_error(const lwq_msg_future *f, uint64_t *code, const char **reason);
LWQ_API uint64_t lwq_msg_future_tag(const lwq_msg_future *f);
/* All of it in one call (for bindings): the error, and tag, answer, application code. */
LWQ_API int lwq_msg_future_result(const lwq_msg_future *f, uint64_t *tag, const uint8_t **data, size_t *len,
                                  uint64_t *code);
LWQ_API void lwq_msg_future_del(lwq_msg_future *f);

/* ---- blocking HTTP/3 client ---- */

typedef struct lwq_h3cli lwq_h3cli;

typedef struct lwq_h3cli_config {
    const char *ca_file;        /* PEM trust anchors (default: the system bundle) */
    int insecure;               /* no certificate verification */
    const char *remote_address; /* "HOST:PORT" to connect to whatever the URL names (NULL: the URL's) */
    lwq_tstamp timeout;         /* default per request: connect + answer (default 30 s) */
    size_t max_body;            /* response body limit (default 64 MiB) */
    lwq_tstamp idle_timeout;    /* QUIC idle timeout we offer (default 30 s) */
    unsigned workers;           /* network threads (default 1) */
    /* A new connection that resumes a session sends its first request in 0-RTT when the method is safe
     * (GET, HEAD, OPTIONS) and the server's ticket allows early data (RFC 9114 §10.9, RFC 9001 §4.6). */
    int enable_0rtt;
    const lwq_allocator *alloc; /* the client, its connections and responses (NULL: C library) */
} lwq_h3cli_config;

typedef struct lwq_h3cli_header {
    const char *name, *value; /* NUL-terminated */
} lwq_h3cli_header;

typedef struct lwq_h3cli_request {
    const char *method; /* default "GET" */
    const char *url;    /* https://host[:port]/path?query */
    const lwq_h3cli_header *headers;
    size_t header_count;
    const uint8_t *body;
    size_t body_len;
    int urgency; /* RFC 9218: 0..7 (default 3; -1 = default) */
    int incremental;
    lwq_tstamp timeout; /* 0: the client's */
    /* Body to a callback instead of memory (then not bounded by max_body): return nonzero to stop. */
    int (*on_body)(void *ud, const uint8_t *p, size_t n);
    void *on_body_ud;
} lwq_h3cli_request;

typedef struct lwq_h3cli_response {
    int status;
    lwq_h3cli_header *headers; /* names lowercase */
    size_t header_count;
    uint8_t *body;
    size_t body_len;
    int resumed;                /* the connection resumed a session */
    int early_data;             /* the request went in 0-RTT and the server accepted it */
    const lwq_allocator *alloc; /* what holds headers and body (lwq_h3cli_response_free uses it) */
} lwq_h3cli_response;

LWQ_API void lwq_h3cli_config_init(lwq_h3cli_config *cfg);
LWQ_API int lwq_h3cli_new(lwq_h3cli **out, const lwq_h3cli_config *cfg);
/* Sends the request and waits for the whole response; redirects are not followed. Safe from many
 * threads: requests to one origin share its connection. On failure err says why. */
LWQ_API int lwq_h3cli_request_run(lwq_h3cli *c, const lwq_h3cli_request *req, lwq_h3cli_response *resp, char *err,
                                  size_t errlen);
LWQ_API void lwq_h3cli_response_free(lwq_h3cli_response *resp);
/* Connections opened so far (reuse shows as one per origin). */
LWQ_API size_t lwq_h3cli_connections(lwq_h3cli *c);
LWQ_API void lwq_h3cli_del(lwq_h3cli *c);

#ifdef __cplusplus
}
#endif
#endif
