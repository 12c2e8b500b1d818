/* lwquic: QUIC on the network. An endpoint drives many connections over UDP
 * sockets on an lwq_loop. Listening addresses are served by shards: each shard
 * is one SO_REUSEPORT socket, one strand and the connections the kernel hashes
 * to it, so a connection is only ever touched on its shard's strand while
 * shards run in parallel on the pool. Handlers run on that strand. */
#ifndef LWQUIC_ENDPOINT_H
#define LWQUIC_ENDPOINT_H

#include "lwquic/loop.h"
#include "lwquic/quic.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lwq_endpoint lwq_endpoint;
typedef struct lwq_endpoint_conn lwq_endpoint_conn;

typedef struct lwq_endpoint_handler {
    /* Every event of every connection, on the connection's strand. The handler may use the lwq_stream_*
     * and lwq_conn_close calls on conn; what it queues is sent when it returns. After LWQ_EV_CLOSED the
     * connection is freed: forget ec. */
    void (*on_event)(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev);
    void *ud;
} lwq_endpoint_handler;

/* limits: for listening (NULL: 10000 connections, 1000 handshakes). */
LWQ_API int lwq_endpoint_new(lwq_endpoint **out, lwq_loop *loop, lwq_context *ctx, const lwq_endpoint_handler *h,
                     const lwq_server_limits *limits);
/* Serves "HOST:PORT" (IPv6 as "[::]:443"; dual-stack on "[::]") with `shards` sockets (0 = one per
 * worker). Returns the bound port in *port (useful with port 0). */
LWQ_API int lwq_endpoint_listen(lwq_endpoint *ep, const char *hostport, unsigned shards, uint16_t *port);
/* One more address served by every listening shard (call after lwq_endpoint_listen), e.g. the
 * server's preferred address (lwq_config.preferred_v4/v6, RFC 9000 §9.6): datagrams arriving there
 * reach their connection whichever shard owns it (connection IDs carry the shard), and replies on
 * that path leave from it. *port: the bound port. LWQ_ERR_STATE when nothing listens yet. */
LWQ_API int lwq_endpoint_listen_extra(lwq_endpoint *ep, const char *hostport, uint16_t *port);
/* Opens a client connection to "HOST:PORT" on a socket of its own; session may be NULL (see
 * lwq_conn_client_new); data is set as the connection's data before its first packet leaves, so the
 * handler sees it from the first event. Blocks until the first flight is sent; must not be called
 * from a handler.
 * LWQ_ERR_NOT_FOUND for a name that does not resolve. The caller holds a reference to *out: give it
 * back with lwq_endpoint_conn_release. */
LWQ_API int lwq_endpoint_connect(lwq_endpoint *ep, const char *hostport, const uint8_t *session, size_t session_len,
                         void *data, lwq_endpoint_conn **out);
/* lwq_endpoint_connect that runs first(ec, conn, arg) on the connection's strand after the
 * connection exists and before its first flight is sent: with a session whose ticket allows early
 * data, streams it opens and data it writes go in 0-RTT packets coalesced with the Initial
 * (RFC 9001 §4.6.1). first may be NULL. */
LWQ_API int lwq_endpoint_connect_early(lwq_endpoint *ep, const char *hostport, const uint8_t *session,
                               size_t session_len, void *data,
                               void (*first)(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg), void *arg,
                               lwq_endpoint_conn **out);
LWQ_API void lwq_endpoint_conn_release(lwq_endpoint_conn *ec);
/* Runs fn(ec, conn, arg) on the connection's strand, then sends what it queued. From any thread.
 * LWQ_ERR_CLOSED when the connection is already gone (fn is not called). */
LWQ_API int lwq_endpoint_post(lwq_endpoint_conn *ec, void (*fn)(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg),
                      void *arg);
LWQ_API void lwq_endpoint_conn_set_data(lwq_endpoint_conn *ec, void *data);
LWQ_API void *lwq_endpoint_conn_data(const lwq_endpoint_conn *ec);
/* The peer's address as text ("127.0.0.1:4433"). */
LWQ_API const char *lwq_endpoint_conn_peer(const lwq_endpoint_conn *ec);

/* Closes every connection with app_error/reason (CONNECTION_CLOSE to each peer) and waits up to
 * timeout for them to finish their closing periods. Returns the number still open. */
LWQ_API size_t lwq_endpoint_shutdown(lwq_endpoint *ep, uint64_t app_error, const char *reason, lwq_tstamp timeout);
/* Connections currently open. */
LWQ_API size_t lwq_endpoint_conn_count(lwq_endpoint *ep);
/* Stops the sockets and frees everything; call lwq_endpoint_shutdown first for a graceful close. */
LWQ_API void lwq_endpoint_del(lwq_endpoint *ep);

#ifdef __cplusplus
}
#endif
#endif
