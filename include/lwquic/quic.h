/* lwquic: the QUIC transport API (RFC 9000, 9001, 9002; v2 RFC 9369), sans-IO.
 *
 * The caller owns sockets and clocks: it feeds each UDP datagram with
 * lwq_conn_recv(), asks lwq_conn_send() for datagrams to send, and calls
 * lwq_conn_handle_timeout() at lwq_conn_next_timeout(). Everything the
 * application needs to know comes out of lwq_conn_next_event(). Functions
 * return 0 or a negative LWQ_ERR_* (lwq_strerror names them). */
#ifndef LWQUIC_QUIC_H
#define LWQUIC_QUIC_H

#include <sys/socket.h>
#include "lwquic/common.h"
#include "lwquic/quic_errors.h"
#include "lwquic/quic_lb.h"
#include "lwquic/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LWQ_VERSION_1 0x00000001u
#define LWQ_VERSION_2 0x6b3343cfu

typedef enum { LWQ_CC_ALGO_NEWRENO = 0, LWQ_CC_ALGO_CUBIC = 1 } lwq_cc_algorithm;

enum { LWQ_LOG_INFO = 1, LWQ_LOG_DEBUG = 2 };
enum { LWQ_QLOG_03 = 0, LWQ_QLOG_MAIN = 1 };

/* Settings, plain data: lwq_config_init() fills defaults, the caller overrides fields, and
 * lwq_context_new() validates and loads them once for many connections. */
typedef struct lwq_config {
    /* sizeof(lwq_config) as the caller was compiled, set by lwq_config_init: lwq_context_new reads no
     * further and gives later fields their defaults (docs/architecture.md, "ABI"). */
    size_t struct_size;
    int is_server;

    /* TLS. Client: ca_file (PEM bundle; NULL = the system bundle) unless insecure;
     * server_name is sent as SNI and checked against the certificate. Server: cert_file (leaf first)
     * and key_file. ALPN protocols in preference order. */
    const char *cert_file, *key_file, *ca_file;
    int insecure;
    const char *server_name;
    const char *const *alpn;
    size_t alpn_count;
    int chacha20_only; /* offer/accept only TLS_CHACHA20_POLY1305_SHA256 */
    int (*verify)(void *ud, const uint8_t *const *der, const size_t *der_len, size_t count, int default_result);
    void *verify_ud;
    int enable_0rtt;           /* server: tickets allow 0-RTT; client: send it when resuming */
    const uint8_t *ticket_key; /* server: 32 bytes shared by a cluster; NULL = random per context */
    /* Server: application state 0-RTT depends on (HTTP/3: lwq_h3_early_context). Tickets carry a
     * hash of it and the 0-RTT limits (RFC 9000 §7.4.1); when it changed or a limit is now lower,
     * a resumed connection gets no 0-RTT (RFC 9114 §7.2.4.2). Borrowed: must outlive the
     * connections. */
    const uint8_t *early_context;
    size_t early_context_len;

    /* Versions: initial version of a client; accept_v2 lets a server negotiate v2 (RFC 9368). */
    uint32_t version;
    int accept_v2;

    /* Transport parameters we send (RFC 9000 §18.2). */
    lwq_tstamp idle_timeout;
    uint64_t max_udp_payload_size;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local, initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi, initial_max_streams_uni;
    uint64_t ack_delay_exponent;
    lwq_tstamp max_ack_delay;
    uint64_t active_connection_id_limit;
    uint64_t max_datagram_frame_size; /* 0: DATAGRAM off */
    int disable_active_migration;

    /* Flow-control windows grow up to these as the application reads quickly. */
    uint64_t max_window, max_stream_window;

    /* Limits on what a peer can make us hold. */
    size_t max_crypto_buffer;  /* out-of-order CRYPTO bytes per level */
    size_t max_stream_gaps;    /* out-of-order ranges per stream */
    size_t max_ack_ranges;     /* ranges tracked and accepted in ACK frames */
    size_t max_sent_packets;   /* packets tracked per packet-number space */
    size_t stream_send_buffer; /* bytes an application write may queue per stream */
    size_t max_datagram_queue; /* received DATAGRAM frames held for the application */
    size_t max_streams_open;   /* local cap on concurrently open streams */
    /* Shared by connections (NULL: none): each reserves its connection-level receive window from it,
     * the most stream data its peer may make it hold; a window grows only while the budget allows, and
     * a server refuses a connection it cannot reserve initial_max_data for. */
    lwq_budget *mem_budget;

    /* Recovery. */
    lwq_cc_algorithm cc;
    lwq_tstamp initial_rtt;
    lwq_tstamp handshake_timeout; /* 0 = none beyond the idle timeout */

    /* Injected dependencies; NULL = the C library / OS randomness. */
    const lwq_allocator *alloc;
    const lwq_rng *rng;
    int64_t (*now_unix)(void *ud); /* wall clock for certificates and tickets; NULL = time(2) */
    void *now_ud;
    /* Observability: NSS key log lines, qlog JSON-SEQ records, a human-readable trace. */
    void (*keylog)(void *ud, const char *line);
    void *keylog_ud;
    /* qlog: qlog_open(qlog_ud, is_server, odcid) gives each connection a handle (NULL: not logged),
     * qlog_write receives its JSON-SEQ records, qlog_close ends it when the connection is freed. */
    void *(*qlog_open)(void *ud, int is_server, const uint8_t *odcid, size_t odcid_len);
    void (*qlog_write)(void *handle, const char *record, size_t len);
    void (*qlog_close)(void *handle);
    void *qlog_ud;
    /* A human-readable trace, one line a call: LWQ_LOG_INFO for the connection's life (start, close),
     * LWQ_LOG_DEBUG adds every packet with its frames, losses and congestion changes. */
    void (*log)(void *ud, int level, const char *msg);
    void *log_ud;
    int log_level;
    /* A structured trace (lwquic/trace.h) for narrated output; NULL: off, nothing built. */
    lwq_trace_fn trace;
    void *trace_ud;
    /* qlog flavour: LWQ_QLOG_03 (default) qlog 0.3 / draft-02 JSON-SEQ as qvis loads it,
     * LWQ_QLOG_MAIN the draft-ietf-quic-qlog-main-schema (file_schema, quic: and http3: events). */
    int qlog_format;

    /* Migration (RFC 9000 §9). Server: preferred_address advertised in the transport parameters
     * (§9.6), an IPv4 and/or IPv6 address with its port (ss_family AF_UNSPEC = none); the server must
     * also receive there. Client: no_preferred_address keeps it from migrating to one. */
    struct sockaddr_storage preferred_v4, preferred_v6;
    int no_preferred_address;
    int disable_ecn; /* send no ECT marks (counts of received marks are still reported) */

    /* Key update (RFC 9001 §6): start one after this many 1-RTT packets under the same keys;
     * 0 = only before the AEAD confidentiality limit (§6.6). key_update_first: start the first
     * update as soon as it is allowed once this many 1-RTT packets were sent (0 = not early). */
    uint64_t key_update_interval, key_update_first;
    /* Client: versions offered besides `version` in version_information (RFC 9368), e.g.
     * LWQ_VERSION_2, so that a server with accept_v2 may switch the connection to it. */
    const uint32_t *other_versions;
    size_t other_versions_count;
    /* Client: an address-validation token (LWQ_EV_NEW_TOKEN data of an earlier connection to the same
     * server, RFC 9000 §8.1.3) for connections created without one, e.g. by lwq_endpoint_connect.
     * Borrowed like the strings. */
    const uint8_t *token;
    size_t token_len;
    /* Server: QUIC-LB connection IDs (docs/scale-out.md); server_id_len 0 = off. With shards, shard s
     * issues the server ID whose last octet is the configured one plus s. */
    lwq_quic_lb quic_lb;
    /* TLS material as bytes, PEM or DER, instead of cert_file, key_file and ca_file: the certificate
     * chain (leaf first), its private key, the trust anchors (a client with neither ca_data nor ca_file
     * and not insecure uses the system bundle). Read during lwq_context_new only. */
    const uint8_t *cert_data, *key_data, *ca_data;
    size_t cert_len, key_len, ca_len;
} lwq_config;

LWQ_API void lwq_config_init_sized(lwq_config *cfg, int is_server, size_t struct_size);
#define lwq_config_init(cfg, is_server) lwq_config_init_sized((cfg), (is_server), sizeof(*(cfg)))

/* Loaded settings shared by connections: certificates, trust anchors, ticket keys. The context
 * copies cfg but borrows its strings (files and the *_data bytes are read at once; alpn and
 * server_name are kept): they must outlive the context. The files are read by src/io (tls_files.c);
 * the sans-IO core only ever sees the bytes. */
typedef struct lwq_context lwq_context;
/* LWQ_ERR_INVAL with *why set for a bad setting; LWQ_ERR_IO (errno set) / LWQ_ERR_CERT_MALFORMED for
 * files, LWQ_ERR_CERT_BAD_SIGNATURE when the server's key does not match its certificate. *why names
 * the setting (cert_file, key_file, ca_file). */
LWQ_API int lwq_context_new(lwq_context **out, const lwq_config *cfg, const char **why);
LWQ_API void lwq_context_del(lwq_context *ctx);

/* A network path: our address and the peer's. */
typedef struct lwq_path {
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
} lwq_path;

typedef struct lwq_conn lwq_conn;

/* Client connection to `path`. session: a blob from LWQ_EV_SESSION_TICKET to resume (may be NULL);
 * token: from LWQ_EV_NEW_TOKEN for this server (may be NULL). With a session whose ticket allows it
 * and cfg.enable_0rtt, streams may be opened and written at once: their data goes in 0-RTT packets
 * within the limits remembered in the session (RFC 9000 §7.4.1); see LWQ_EV_EARLY_DATA. */
LWQ_API int lwq_conn_client_new(lwq_conn **out, lwq_context *ctx, const lwq_path *path, const uint8_t *session,
                        size_t session_len, const uint8_t *token, size_t token_len, lwq_tstamp now);
LWQ_API void lwq_conn_del(lwq_conn *c);

/* One received UDP datagram (it may hold coalesced packets); ecn: its two ECN bits. Errors from the
 * peer close the connection (see LWQ_EV_CLOSED) and return 0; a negative return is local
 * (LWQ_ERR_NOMEM) or LWQ_ERR_CLOSED once the connection is gone. */
LWQ_API int lwq_conn_recv(lwq_conn *c, const lwq_path *path, const uint8_t *data, size_t len, uint8_t ecn, lwq_tstamp now);

/* Writes datagrams to send into buf: up to max_segments datagrams of *segsize bytes each (the last may
 * be shorter), all for the same path, ready for one GSO send. Returns the total bytes (0: nothing to
 * send now), sets path, ecn. */
LWQ_API ssize_t lwq_conn_send(lwq_conn *c, lwq_path *path, uint8_t *buf, size_t cap, size_t max_segments, size_t *segsize,
                      uint8_t *ecn, lwq_tstamp now);

/* LWQ_TSTAMP_INF when no timer is armed. */
LWQ_API lwq_tstamp lwq_conn_next_timeout(const lwq_conn *c);
LWQ_API int lwq_conn_handle_timeout(lwq_conn *c, lwq_tstamp now);

typedef enum {
    LWQ_EV_NONE = 0,
    LWQ_EV_HANDSHAKE_DONE,  /* keys confirmed; alpn known */
    LWQ_EV_STREAM_OPENED,   /* the peer opened stream_id */
    LWQ_EV_STREAM_READABLE, /* data or FIN to read on stream_id */
    LWQ_EV_STREAM_WRITABLE, /* room again after a short write */
    LWQ_EV_STREAM_RESET,    /* RESET_STREAM: error_code, final size in offset */
    LWQ_EV_STOP_SENDING,    /* the peer asks us to stop writing stream_id (error_code) */
    /* both directions finished; the stream is freed after this, and a peer's stream gives its credit
     * back (MAX_STREAMS, RFC 9000 §4.6) only once this event was taken */
    LWQ_EV_STREAM_CLOSED,
    LWQ_EV_DATAGRAM,        /* data/len valid until the next call on the connection */
    LWQ_EV_PATH_CHANGED,    /* the peer migrated; path holds the new one */
    LWQ_EV_NEW_TOKEN,       /* client: keep data/len to skip address validation next time */
    LWQ_EV_SESSION_TICKET,  /* client: keep data/len to resume (session + transport parameters) */
    /* client: 0-RTT accepted (1) or rejected (0). Rejected: streams opened and data written before
     * the handshake stay as they are; the library sends that data again in 1-RTT as it does lost
     * data (nothing for the application to do); the server sees each byte once. */
    LWQ_EV_EARLY_DATA,
    LWQ_EV_CLOSED,          /* the connection is closed: close info below */
    /* RFC 9000 §4.6, §19.11: the peer's MAX_STREAMS raised the limit after lwq_stream_open was refused
     * (LWQ_ERR_LIMIT) for this type (bidi); offset is the new limit (streams of that type we may open in
     * all). Once per increase that unblocks us; not raised while we were not refused. */
    LWQ_EV_STREAMS_AVAILABLE,
} lwq_event_type;

typedef struct lwq_close_info {
    int is_app;          /* application error (CONNECTION_CLOSE 0x1d) */
    int by_peer;         /* the peer closed; else we did (or idle timeout / stateless reset) */
    int idle_timeout;    /* silently closed after the idle timeout */
    int stateless_reset; /* the peer reset the connection */
    uint64_t code;       /* transport or application error code */
    uint64_t frame_type; /* the frame that caused a transport error, 0 if none */
    char reason[128];    /* NUL-terminated, printable-ASCII reason phrase */
} lwq_close_info;

typedef struct lwq_event {
    lwq_event_type type;
    int64_t stream_id;
    uint64_t error_code;
    uint64_t offset;
    int accepted;
    const uint8_t *data;
    size_t len;
    lwq_path path;
    lwq_close_info close;
    int bidi; /* STREAMS_AVAILABLE: 1 bidirectional, 0 unidirectional */
} lwq_event;

/* Client: active migration (RFC 9000 §9.2) to new_path (our new local address and/or the server's
 * address): the path is probed with PATH_CHALLENGE under a fresh connection ID of the server, and
 * used once a PATH_RESPONSE comes back (LWQ_EV_PATH_CHANGED); the old connection ID is retired.
 * LWQ_ERR_STATE before the handshake is confirmed or while another migration runs,
 * LWQ_ERR_UNSUPPORTED when the server sent disable_active_migration, LWQ_ERR_AGAIN when the server
 * gave no spare connection ID yet, LWQ_ERR_INVAL on a server. */
LWQ_API int lwq_conn_migrate(lwq_conn *c, const lwq_path *new_path);

/* 1 with *ev filled, 0 when no event is pending. Events are derived from the connection's state, not
 * queued: none is lost however long the application waits, repeated ones coalesce (one READABLE for
 * any amount of data, the newest path, ticket or token), and the order is the connection's events,
 * then each stream's (opened, readable, reset, stop-sending, writable, closed) in the order streams
 * first had one, then datagrams, then LWQ_EV_CLOSED. */
LWQ_API int lwq_conn_next_event_sized(lwq_conn *c, lwq_event *ev, size_t struct_size);
/* The library writes at most sizeof(*ev) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_conn_next_event(c, ev) lwq_conn_next_event_sized((c), (ev), sizeof(*(ev)))

/* Streams. Opens the next stream of our side; LWQ_ERR_LIMIT when the peer's MAX_STREAMS is reached
 * (STREAMS_BLOCKED is sent). */
LWQ_API int lwq_stream_open(lwq_conn *c, int bidi, int64_t *stream_id);
/* Copies up to len bytes into the stream's buffer (bounded by stream_send_buffer); returns the count
 * taken, 0 when full (LWQ_EV_STREAM_WRITABLE follows). fin ends the stream when all len bytes fit. */
LWQ_API ssize_t lwq_stream_write(lwq_conn *c, int64_t stream_id, const uint8_t *data, size_t len, int fin);
/* Reads in-order bytes; *fin set when the end was reached. LWQ_ERR_AGAIN when nothing is readable. */
LWQ_API ssize_t lwq_stream_read(lwq_conn *c, int64_t stream_id, uint8_t *buf, size_t cap, int *fin);
LWQ_API int lwq_stream_reset(lwq_conn *c, int64_t stream_id, uint64_t app_error);
LWQ_API int lwq_stream_stop_sending(lwq_conn *c, int64_t stream_id, uint64_t app_error);
/* RFC 9218 priorities: urgency 0 (highest) .. 7, incremental streams share bandwidth round-robin. */
LWQ_API int lwq_stream_set_priority(lwq_conn *c, int64_t stream_id, uint8_t urgency, int incremental);

/* RFC 9221: LWQ_ERR_UNSUPPORTED when the peer did not enable DATAGRAM, LWQ_ERR_LIMIT when too large
 * or the queue is full. */
LWQ_API int lwq_datagram_send(lwq_conn *c, const uint8_t *data, size_t len);

/* Starts a 1-RTT key update (RFC 9001 §6). LWQ_ERR_STATE before the handshake is confirmed or
 * while the previous update is not yet acknowledged; LWQ_ERR_CLOSED. */
LWQ_API int lwq_conn_update_keys(lwq_conn *c);

/* Closes with an application error (CONNECTION_CLOSE 0x1d), then the closing period (RFC 9000 §10.2). */
LWQ_API int lwq_conn_close(lwq_conn *c, uint64_t app_error, const char *reason);

/* One pointer the embedder keeps with the connection (e.g. its own per-connection state). */
LWQ_API void lwq_conn_set_app_data(lwq_conn *c, void *data);
LWQ_API void *lwq_conn_app_data(const lwq_conn *c);

/* State for tools and traces. */
LWQ_API int lwq_conn_is_established(const lwq_conn *c);
LWQ_API int lwq_conn_is_closed(const lwq_conn *c); /* nothing more to send; free it */
LWQ_API const char *lwq_conn_alpn(const lwq_conn *c);
LWQ_API const char *lwq_conn_cipher(const lwq_conn *c);
LWQ_API uint32_t lwq_conn_version(const lwq_conn *c);
/* 1 when the handshake resumed a session (PSK, no certificate). */
LWQ_API int lwq_conn_resumed(const lwq_conn *c);
/* Client: 1 while streams may be opened and written in 0-RTT, before the handshake completes (a resumed
 * session whose ticket allows early data, cfg.enable_0rtt, the server's answer not known yet). */
LWQ_API int lwq_conn_can_send_early(const lwq_conn *c);

typedef struct lwq_conn_stats {
    uint64_t packets_sent, packets_received, packets_lost, packets_dropped;
    uint64_t bytes_sent, bytes_received, stream_bytes_sent, stream_bytes_received;
    lwq_tstamp smoothed_rtt, min_rtt, latest_rtt, handshake_time;
    uint64_t cwnd, bytes_in_flight;
    /* ECN (RFC 9000 §13.4): validation state of the current path (lwq_ecn_state), CE marks received,
     * ACKs from the peer reporting new CE marks (each a congestion signal, RFC 9002 §7.1). */
    int ecn_state;
    uint64_t ecn_ce_received, ecn_ce_acks;
    /* Paths (RFC 9000 §8.2, §9): PATH_CHALLENGEs sent, paths validated, migrations (path changes). */
    uint64_t path_challenges_sent, paths_validated, path_changes;
    uint64_t packets_0rtt; /* 0-RTT packets sent (client) or accepted (server) */
    uint64_t key_updates;           /* our 1-RTT write keys changed (RFC 9001 §6) */
    uint64_t key_updates_initiated; /* ... of those, updates we started */
} lwq_conn_stats;

typedef enum { LWQ_ECN_TESTING = 0, LWQ_ECN_UNKNOWN, LWQ_ECN_CAPABLE, LWQ_ECN_FAILED } lwq_ecn_state;
LWQ_API void lwq_conn_stats_get_sized(const lwq_conn *c, lwq_conn_stats *st, size_t struct_size);
/* Writes at most sizeof(*st) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_conn_stats_get(c, st) lwq_conn_stats_get_sized((c), (st), sizeof(*(st)))

/* The server side: classifies datagrams by connection ID, answers Version Negotiation, Retry and
 * stateless resets, and creates connections. */
typedef struct lwq_server lwq_server;
typedef struct lwq_server_limits {
    size_t max_connections; /* 0: 10,000 */
    size_t max_handshakes;  /* connections not yet past the handshake; 0: 1,000 */
    int retry;              /* validate every address with Retry before creating connections */
    /* Under handshake load (docs/security.md): past retry_above half-open handshakes (0: a quarter of
     * max_handshakes) new clients must answer a Retry first, so spoofed Initials create no state; a
     * source IP address holds at most max_handshakes_per_addr of them (0: 32). */
    size_t retry_above;
    size_t max_handshakes_per_addr;
} lwq_server_limits;

LWQ_API int lwq_server_new(lwq_server **out, lwq_context *ctx, const lwq_server_limits *limits);
LWQ_API void lwq_server_del(lwq_server *s);
/* A datagram for the server. It is handed to the connection it belongs to (lwq_conn_recv is called
 * here; the caller then drives that connection's send, timers and events), and *conn names it
 * (possibly new: *created = 1). *conn is NULL when the server answered the datagram itself (VN,
 * stateless reset: take them with lwq_server_send) or dropped it. The server owns the connections
 * it creates: free them with lwq_server_remove, never lwq_conn_del. */
LWQ_API int lwq_server_recv(lwq_server *s, const lwq_path *path, const uint8_t *data, size_t len, uint8_t ecn, lwq_tstamp now,
                    lwq_conn **conn, int *created);
/* Datagrams the server itself answers (VN, stateless reset; Retry later). 0 when none. */
LWQ_API ssize_t lwq_server_send(lwq_server *s, lwq_path *path, uint8_t *buf, size_t cap, lwq_tstamp now);
/* Forgets a connection (its connection IDs stop routing to it) and frees it: call it once
 * lwq_conn_is_closed() says so, or to drop a connection at once (its peer then gets stateless
 * resets). */
LWQ_API void lwq_server_remove(lwq_server *s, lwq_conn *c);
/* Servers sharing a port (SO_REUSEPORT shards): every connection ID this server issues names shard
 * `tag` in its QUIC-LB server ID (the configured one, or by default a one-byte server ID equal to the
 * shard), so a datagram that lands on another shard's socket after the client's address changed can
 * be routed back by its DCID alone (lwq_context_cid_shard). */
LWQ_API void lwq_server_set_cid_tag(lwq_server *s, uint8_t tag);
/* 0-RTT anti-replay (RFC 9001 §9.2, RFC 8446 §8) shared by servers that reach the same clients, e.g.
 * the shards of one port: fresh(ud, id, len, now) returns 1 the first time it sees id within its
 * window and 0 afterwards (or when it cannot tell: the 0-RTT is then refused), and must be safe to
 * call from every server's thread. Without it each server keeps a cache of its own, and a 0-RTT flight
 * replayed to another server would be accepted there: lwq_endpoint shares one between its shards. */
LWQ_API void lwq_server_set_replay_check(lwq_server *s, int (*fresh)(void *ud, const uint8_t *id, size_t len, lwq_tstamp now),
                                 void *ud);
/* The shard named by the DCID of a short-header datagram to a server of ctx (see
 * lwq_server_set_cid_tag), or a negative LWQ_ERR_* (a long header, another server's CID). */
LWQ_API int lwq_context_cid_shard(const lwq_context *ctx, const uint8_t *dgram, size_t len);

#ifdef __cplusplus
}
#endif
#endif
