/* TLS 1.3 handshake for QUIC (RFC 9846, RFC 9001 §4 and §8), sans-IO.
 *
 * The QUIC layer never parses TLS: it hands the bytes of CRYPTO frames to
 * lwq_tls_recv() with the epoch they arrived in, sends what lwq_tls_output()
 * holds for each epoch, and installs the secrets that lwq_tls_next_event()
 * returns, in the order they come. No clock, socket or global state: time
 * (wall clock for certificate dates and ticket ages), randomness and memory
 * come in through lwq_tls_config.
 *
 * Unless stated otherwise, functions return 0 or a negative LWQ_ERR_*. After a
 * handshake failure every call returns LWQ_ERR_ALERT and lwq_tls_alert()
 * names the alert the QUIC layer sends as CRYPTO_ERROR 0x0100 + alert. */
#ifndef LWQ_TLS_TLS_H
#define LWQ_TLS_TLS_H

#include <stdint.h>
#include <stddef.h>
#include "lwquic/common.h"
#include "tls/cert.h"
#include "tls/keysched.h"

/* Encryption levels (RFC 9001 §4.1.3). */
typedef enum {
    LWQ_TLS_EPOCH_INITIAL = 0,
    LWQ_TLS_EPOCH_0RTT = 1,
    LWQ_TLS_EPOCH_HANDSHAKE = 2,
    LWQ_TLS_EPOCH_1RTT = 3,
} lwq_tls_epoch;
#define LWQ_TLS_EPOCHS 4

/* RFC 9846 §6 AlertDescription values this stack sends. */
enum {
    LWQ_TLS_ALERT_UNEXPECTED_MESSAGE = 10,
    LWQ_TLS_ALERT_HANDSHAKE_FAILURE = 40,
    LWQ_TLS_ALERT_BAD_CERTIFICATE = 42,
    LWQ_TLS_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    LWQ_TLS_ALERT_CERTIFICATE_EXPIRED = 45,
    LWQ_TLS_ALERT_CERTIFICATE_UNKNOWN = 46,
    LWQ_TLS_ALERT_ILLEGAL_PARAMETER = 47,
    LWQ_TLS_ALERT_UNKNOWN_CA = 48,
    LWQ_TLS_ALERT_DECODE_ERROR = 50,
    LWQ_TLS_ALERT_DECRYPT_ERROR = 51,
    LWQ_TLS_ALERT_PROTOCOL_VERSION = 70,
    LWQ_TLS_ALERT_INTERNAL_ERROR = 80,
    LWQ_TLS_ALERT_MISSING_EXTENSION = 109,
    LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION = 110,
    LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL = 120,
};

typedef struct lwq_tls lwq_tls;

typedef struct lwq_tls_config {
    const lwq_allocator *alloc; /* NULL: the C library */
    const lwq_rng *rng;         /* NULL: lwq_default_rng() */
    int is_server;

    /* ALPN protocols in preference order; QUIC requires one to be agreed (RFC 9001 §8.1). */
    const char *const *alpn;
    size_t alpn_count;
    /* Client: SNI (not sent for IP literals) and the name the certificate must match. */
    const char *server_name;

    /* Server: the chain sent (leaf first) and its key. Borrowed; must outlive the lwq_tls. */
    const lwq_cert_chain *cert_chain;
    const lwq_privkey *key;

    /* Client: verification is on unless insecure is set; trust NULL with verification
     * on fails every chain with LWQ_ERR_CERT_UNKNOWN_CA. */
    const lwq_trust *trust;
    int insecure;
    /* Optional: sees the peer chain and the built-in result (0 or LWQ_ERR_CERT_*) and
     * returns the final one, for pinning. */
    int (*verify)(void *ud, const lwq_cert_chain *chain, int default_result);
    void *verify_ud;
    /* Seconds since the epoch for validity dates and ticket ages; NULL: lwq_wallclock_unix. */
    int64_t (*now_unix)(void *ud);
    void *now_ud;

    /* Cipher suites in preference order; NULL: AES-256-GCM first when lwq_aead_is_fast says so,
     * then AES-128-GCM, then ChaCha20-Poly1305. */
    const uint16_t *suites;
    size_t suite_count;
    /* Groups in preference order; the client sends a key share for the first. NULL: X25519, P-256. */
    const uint16_t *groups;
    size_t group_count;

    /* Server tickets: a 32-byte AEAD key (NULL: no tickets), lifetime in seconds
     * (0: 86400, capped at 604800 by RFC 9846 §4.6.1) and whether tickets allow 0-RTT. */
    const uint8_t *ticket_key;
    uint32_t ticket_lifetime;
    int early_data;
    /* Server anti-replay for 0-RTT (RFC 9846 §8): called with the ClientHello's PSK
     * binder before early data is accepted; return 1 when it was never seen (record
     * it), 0 to refuse the early data. NULL accepts, leaving 0-RTT replayable within
     * the ticket age window. */
    int (*early_data_fresh)(void *ud, const uint8_t *binder, size_t len);
    void *early_data_fresh_ud;
    /* Server: what 0-RTT depends on besides the session (QUIC transport parameters, application
     * settings; RFC 9001 §4.6.2), up to LWQ_TLS_EARLY_CONTEXT_MAX bytes, sealed into each ticket.
     * 0-RTT is accepted only when early_context_ok(ud, sealed, len) returns 1, or without the
     * hook when the sealed bytes equal the current ones. Borrowed; may be empty. */
    const uint8_t *early_context;
    size_t early_context_len;
    int (*early_context_ok)(void *ud, const uint8_t *sealed, size_t len);
    void *early_context_ud;

    /* Client: a blob from an earlier LWQ_TLS_EV_SESSION_TICKET to resume, and whether to
     * send 0-RTT with it (needs `early_data` set too). */
    const uint8_t *session;
    size_t session_len;

    /* NSS key log lines ("CLIENT_HANDSHAKE_TRAFFIC_SECRET <random> <secret>"). */
    void (*keylog)(void *ud, const char *line);
    void *keylog_ud;

    /* Limits; 0 picks the default in brackets. Exceeding one is an alert. */
    size_t max_message_size; /* handshake message body [65536] */
    size_t max_chain_len;    /* certificates in the peer chain [10] */
    size_t max_chain_size;   /* bytes of DER in the peer chain [65536] */
    size_t max_extensions;   /* extensions in one block [40] */
} lwq_tls_config;

typedef enum {
    LWQ_TLS_EV_SECRET = 1,             /* install a key */
    LWQ_TLS_EV_HANDSHAKE_COMPLETE = 2, /* both Finished checked; the peer is authenticated */
    LWQ_TLS_EV_SESSION_TICKET = 3,     /* client: a resumable session blob */
    LWQ_TLS_EV_EARLY_DATA = 4,         /* client: whether the server accepted 0-RTT */
} lwq_tls_event_type;

typedef struct lwq_tls_event {
    lwq_tls_event_type type;
    /* SECRET */
    lwq_tls_epoch epoch;
    int write; /* 1: protects what we send, 0: what we receive */
    lwq_suite suite;
    uint8_t secret[LWQ_HASH_MAX];
    size_t secret_len;
    /* SESSION_TICKET: valid until the next lwq_tls_next_event or lwq_tls_del */
    const uint8_t *blob;
    size_t blob_len;
    /* EARLY_DATA */
    int accepted;
    /* HANDSHAKE_COMPLETE: 1 when the peer's certificate was verified (client) */
    int verified;
} lwq_tls_event;

/* LWQ_ERR_NOMEM; LWQ_ERR_INVAL for a server without chain and key, or a bad list. */
int lwq_tls_new(lwq_tls **out, const lwq_tls_config *cfg);
void lwq_tls_del(lwq_tls *tls);

/* Our quic_transport_parameters (0x39), copied; set before lwq_tls_start (client) or
 * before the ClientHello arrives (server). LWQ_ERR_NOMEM, LWQ_ERR_STATE when too late,
 * LWQ_ERR_INVAL over 65535 bytes. */
int lwq_tls_set_transport_params(lwq_tls *tls, const uint8_t *p, size_t n);
/* The peer's transport parameters once its hello (server: EncryptedExtensions) was
 * processed; LWQ_ERR_AGAIN before. A hello without them fails with missing_extension. */
int lwq_tls_peer_transport_params(const lwq_tls *tls, const uint8_t **p, size_t *n);

/* Client: writes the ClientHello into the Initial output (and emits the 0-RTT write
 * secret when early data is attempted). LWQ_ERR_STATE on a server or a second call,
 * LWQ_ERR_NOMEM, LWQ_ERR_ALERT. */
int lwq_tls_start(lwq_tls *tls);

/* Handshake bytes received in one epoch, in order, any split. Returns 0,
 * LWQ_ERR_ALERT (see lwq_tls_alert), or LWQ_ERR_NOMEM (the handshake is then
 * failed with internal_error). Data at an epoch the handshake does not read from
 * now is unexpected_message. */
int lwq_tls_recv(lwq_tls *tls, lwq_tls_epoch epoch, const uint8_t *data, size_t len);

/* Bytes waiting to be sent at this epoch (*len 0 when none). The pointer is valid
 * until the next call that changes the handshake. */
void lwq_tls_output(const lwq_tls *tls, lwq_tls_epoch epoch, const uint8_t **p, size_t *len);
/* Drops n sent bytes from the front of that epoch's output. */
void lwq_tls_output_consume(lwq_tls *tls, lwq_tls_epoch epoch, size_t n);

/* Next event; LWQ_ERR_AGAIN when there is none. */
int lwq_tls_next_event(lwq_tls *tls, lwq_tls_event *ev);

/* After LWQ_ERR_ALERT: the alert description (0 when none), a human reason, and the
 * LWQ_ERR_CERT_* code of a failed certificate check (0 when none). */
int lwq_tls_alert(const lwq_tls *tls);
const char *lwq_tls_error_reason(const lwq_tls *tls);
int lwq_tls_verify_result(const lwq_tls *tls);

/* Negotiated parameters (0 / NULL until known). */
int lwq_tls_handshake_complete(const lwq_tls *tls);
lwq_suite lwq_tls_suite(const lwq_tls *tls);
uint16_t lwq_tls_group(const lwq_tls *tls);
uint16_t lwq_tls_sigalg(const lwq_tls *tls);
/* The agreed ALPN protocol (not NUL-terminated). */
const uint8_t *lwq_tls_alpn(const lwq_tls *tls, size_t *len);
/* Server: the SNI the client sent. */
const char *lwq_tls_server_name(const lwq_tls *tls);
int lwq_tls_resumed(const lwq_tls *tls);
int lwq_tls_hrr(const lwq_tls *tls);
/* 1 when 0-RTT was accepted (both sides). */
int lwq_tls_early_data_accepted(const lwq_tls *tls);
/* The peer's certificate chain (client), or NULL. */
const lwq_cert_chain *lwq_tls_peer_chain(const lwq_tls *tls);

/* Client side of a session blob: the server transport parameters remembered for
 * 0-RTT (RFC 9000 §7.4.1). LWQ_ERR_DECODE for a blob that is not ours. */
int lwq_tls_session_transport_params(const uint8_t *blob, size_t len, const uint8_t **p, size_t *n);

/* Name of an alert ("handshake_failure"), "unknown" for others. */
const char *lwq_tls_alert_name(int alert);

/* ---- private to src/tls (tls.c, client.c, server.c, ticket.c); the QUIC layer
 * uses only the functions above ---- */
#include "tls/msg.h"

#define LWQ_TLS_MAX_LIST 8
#define LWQ_TLS_EVQ 16

/* What a ticket or a session blob carries (RFC 9846 §4.6.1). */
#define LWQ_TLS_EARLY_CONTEXT_MAX 128

typedef struct lwq_tls_session {
    uint16_t suite;
    int64_t issued; /* unix seconds: server at sealing, client at receipt */
    uint32_t lifetime, age_add, max_early_data;
    uint8_t alpn[255];
    size_t alpn_len;
    uint8_t psk[LWQ_HASH_MAX];
    size_t psk_len;
    uint8_t early_context[LWQ_TLS_EARLY_CONTEXT_MAX]; /* server ticket only: the context at issue */
    size_t early_context_len;
    lwq_tls_span ticket; /* client blob only: points into the blob */
    lwq_tls_span tp;     /* client blob only */
} lwq_tls_session;

enum {
    LWQ_TLS_ST_START = 0,
    LWQ_TLS_ST_WAIT_SH,       /* client */
    LWQ_TLS_ST_WAIT_EE,       /* client */
    LWQ_TLS_ST_WAIT_CERT_CR,  /* client */
    LWQ_TLS_ST_WAIT_CERT,     /* client, after a CertificateRequest */
    LWQ_TLS_ST_WAIT_CV,       /* client */
    LWQ_TLS_ST_WAIT_FINISHED, /* both */
    LWQ_TLS_ST_WAIT_CH,       /* server */
    LWQ_TLS_ST_WAIT_CH2,      /* server, after a HelloRetryRequest */
    LWQ_TLS_ST_CONNECTED,
    LWQ_TLS_ST_FAILED,
};

typedef struct lwq_tls_buf {
    uint8_t *p;
    size_t off, len, cap; /* unsent bytes are p[off..len) */
} lwq_tls_buf;

struct lwq_tls {
    lwq_tls_config cfg;
    const lwq_allocator *alloc;
    const lwq_rng *rng;
    uint16_t suites[LWQ_TLS_MAX_LIST], groups[LWQ_TLS_MAX_LIST];
    size_t nsuites, ngroups;
    int state;
    lwq_tls_epoch read_epoch;
    int alert, verify_result;
    const char *reason;

    lwq_tls_reasm reasm;
    lwq_tls_buf out[LWQ_TLS_EPOCHS];
    lwq_tls_event evq[LWQ_TLS_EVQ];
    uint8_t *evblob[LWQ_TLS_EVQ];
    size_t evhead, evcount;
    uint8_t *last_blob;

    uint8_t *local_tp, *peer_tp;
    size_t local_tp_len, peer_tp_len;
    int have_peer_tp;

    /* transcript (RFC 9846 §4.4.1): the client keeps its first ClientHello until the hash is known */
    int th_ready;
    lwq_hash_ctx th;
    uint8_t *ch1;
    size_t ch1_len;

    lwq_suite suite;
    lwq_hash_alg hash;
    size_t hlen;
    lwq_keysched ks;
    uint8_t client_random[32];
    uint8_t c_hs[LWQ_HASH_MAX], s_hs[LWQ_HASH_MAX], c_ap[LWQ_HASH_MAX], s_ap[LWQ_HASH_MAX];
    uint8_t res_master[LWQ_HASH_MAX];
    lwq_kex kex;
    uint16_t group, sigalg;
    uint8_t alpn[255];
    size_t alpn_len;
    char sni[256];
    int resumed, hrr, early_attempted, early_accepted, verified, complete;

    lwq_cert_chain peer_chain;
    lwq_pubkey *peer_key;

    /* client */
    int have_session;
    lwq_tls_session session;
    uint8_t *cookie;
    size_t cookie_len;
    uint16_t hrr_suite;
    int cr_seen;
    uint8_t cr_context[255];
    size_t cr_context_len;

    /* server */
    uint32_t tickets_sent;
};

/* Fails the handshake: records alert and reason, returns LWQ_ERR_ALERT. */
int lwq_tls_fail(lwq_tls *t, int alert, const char *reason);
/* Fails with the alert a codec or crypto error maps to (NOMEM is passed through). */
int lwq_tls_fail_err(lwq_tls *t, int err, const char *reason);
int64_t lwq_tls_now(const lwq_tls *t);
void lwq_tls_random(const lwq_tls *t, uint8_t *out, size_t n);
/* Appends to an epoch's output; LWQ_ERR_NOMEM. */
int lwq_tls_out_write(lwq_tls *t, lwq_tls_epoch epoch, const uint8_t *p, size_t n);
/* Room for n bytes at the end of an epoch's output, committed by lwq_tls_out_commit. */
uint8_t *lwq_tls_out_room(lwq_tls *t, lwq_tls_epoch epoch, size_t n);
void lwq_tls_out_commit(lwq_tls *t, lwq_tls_epoch epoch, size_t n);
/* Queues a SECRET event and writes its key log line. LWQ_ERR_NOMEM never; LWQ_ERR_LIMIT when full. */
int lwq_tls_push_secret(lwq_tls *t, lwq_tls_epoch epoch, int write, const uint8_t *secret, const char *keylog_label);
/* Queues an event; blob (owned, may be NULL) goes with it. LWQ_ERR_LIMIT when the queue is full. */
int lwq_tls_push_event(lwq_tls *t, const lwq_tls_event *ev, uint8_t *blob);
void lwq_tls_keylog(lwq_tls *t, const char *label, const uint8_t *secret);
/* Starts the transcript with the negotiated hash; earlier bytes in ch1 are hashed first. */
void lwq_tls_th_start(lwq_tls *t, lwq_suite suite);
void lwq_tls_th_update(lwq_tls *t, const uint8_t *p, size_t n);
void lwq_tls_th_hash(const lwq_tls *t, uint8_t *out);
/* RFC 9846 §4.4.1: replaces the transcript with message_hash(Hash(ClientHello1)). */
void lwq_tls_th_restart_hrr(lwq_tls *t, const uint8_t *ch1, size_t ch1_len);
/* verify_data = HMAC(finished_key(base), transcript hash) (RFC 9846 §4.4.4). */
void lwq_tls_finished_mac(const lwq_tls *t, const uint8_t *base, uint8_t *out);
/* RFC 9846 §4.4.3 signed content for the current transcript; returns its length. */
size_t lwq_tls_cv_content(const lwq_tls *t, int server, uint8_t *out);
/* Whether the peer sent something it may not (codec errors to alerts). */
int lwq_tls_alert_for_err(int err);
int lwq_tls_alpn_in_list(lwq_tls_span list, const uint8_t *name, size_t len);
int lwq_tls_suite_ok(const lwq_tls *t, uint16_t suite);
int lwq_tls_group_ok(const lwq_tls *t, uint16_t group);

int lwq_tls_client_start(lwq_tls *t);
int lwq_tls_client_handle(lwq_tls *t, const uint8_t *msg, size_t len);
int lwq_tls_server_handle(lwq_tls *t, const uint8_t *msg, size_t len);

/* ticket.c: server tickets sealed with cfg.ticket_key; client session blobs. */
int lwq_tls_ticket_seal(const lwq_tls *t, const lwq_tls_session *s, uint8_t *out, size_t cap, size_t *outlen);
/* LWQ_ERR_DECRYPT / LWQ_ERR_DECODE for a ticket that is not ours. */
int lwq_tls_ticket_open(const lwq_tls *t, const uint8_t *in, size_t n, lwq_tls_session *s);
#define LWQ_TLS_TICKET_OVERHEAD (1 + 12 + 16)
/* Blob = version, session fields, ticket, transport parameters, server name. */
int lwq_tls_blob_encode(const lwq_tls_session *s, const char *server_name, const lwq_allocator *a, uint8_t **out,
                        size_t *outlen);
/* s->ticket and s->tp point into blob; *server_name into blob too (not NUL-terminated). */
int lwq_tls_blob_decode(lwq_tls_session *s, lwq_tls_span *server_name, const uint8_t *blob, size_t len);

#endif
