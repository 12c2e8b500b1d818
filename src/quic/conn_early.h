/* 0-RTT (RFC 9001 §4.6, §4.9.3, §5; RFC 9000 §7.4.1, §17.2.3) and NEW_TOKEN (RFC 9000 §8.1.3,
 * §19.7) state of a connection, kept in lwq_conn.early; conn_early.c. Internal. */
#ifndef LWQ_QUIC_CONN_EARLY_H
#define LWQ_QUIC_CONN_EARLY_H

#include "lwquic/quic.h"
#include "quic/protect.h"
#include "quic/tparams.h"
#include "tls/tls.h"

struct lwq_pktb;
struct lwq_sent_frame;

enum { LWQ_EARLY_NONE = 0, LWQ_EARLY_PENDING, LWQ_EARLY_ACCEPTED, LWQ_EARLY_REJECTED };

#define LWQ_EARLY_CONTEXT_LEN (8 * 8 + 32)

typedef struct lwq_conn_early {
    int state;          /* LWQ_EARLY_*: client, from its 0-RTT keys to the server's answer */
    lwq_quic_keys keys; /* client: 0-RTT write keys; server: 0-RTT read keys */
    int has_keys;
    lwq_tparams remembered; /* client: the server's parameters from the session blob */
    int has_remembered;
    uint64_t packets;      /* 0-RTT packets sent (client) or accepted (server) */
    lwq_tstamp discard_at; /* server: 0-RTT read keys go then (RFC 9001 §4.9.3); 0 = not yet */
    int token_pending;     /* server: a NEW_TOKEN frame is owed */
    uint8_t *token;        /* client: the latest NEW_TOKEN token, for LWQ_EV_NEW_TOKEN */
    size_t token_len;
    uint8_t context[LWQ_EARLY_CONTEXT_LEN]; /* server: the early context TLS seals into tickets */
} lwq_conn_early;

/* Server, before lwq_tls_new: c->early.context = the limits a client remembers for 0-RTT
 * (RFC 9000 §7.4.1, 8 x 8 bytes) and SHA-256 of the application's cfg.early_context. */
void lwq_conn_early_context(lwq_conn *c, const uint8_t *app, size_t app_len);
/* The lwq_tls early_context_ok hook (ud = the connection): 1 when no limit is below the sealed one
 * (§7.4.1: a server accepting 0-RTT must not reduce them) and the application's context is the
 * same (RFC 9114 §7.2.4.2). */
int lwq_conn_early_context_ok(void *ud, const uint8_t *sealed, size_t len);

/* Client, before lwq_tls_start: remembers the transport parameters of the session blob
 * (RFC 9000 §7.4.1); a blob without usable ones just means no 0-RTT streams. */
void lwq_conn_early_init(lwq_conn *c, const uint8_t *session, size_t len);
void lwq_conn_early_free(lwq_conn *c);
/* A 0-RTT secret from TLS: client write keys (the remembered limits apply from now), server read
 * keys. LWQ_ERR_NOMEM / crypto errors. */
int lwq_conn_early_install(lwq_conn *c, const lwq_tls_event *ev);
/* Client: the 1-RTT write keys are installed, 0-RTT keys go (RFC 9001 §4.9.3). */
void lwq_conn_early_drop(lwq_conn *c);
/* Client: TLS says whether the server accepted 0-RTT. Rejected: everything sent in 0-RTT goes out
 * again in 1-RTT as if lost. Pushes LWQ_EV_EARLY_DATA. */
int lwq_conn_early_answer(lwq_conn *c, int accepted);
/* Client: the server's parameters are known; after accepted 0-RTT none of the remembered limits may
 * shrink (RFC 9000 §7.4.1: PROTOCOL_VIOLATION). Streams opened in 0-RTT take the new limits. */
int lwq_conn_early_check_params(lwq_conn *c);
/* Client: all application-space packets in flight are lost at once (0-RTT rejected, or a Retry
 * made the server forget them, RFC 9000 §17.2.5.3); their data is queued again. */
void lwq_conn_early_requeue(lwq_conn *c);
/* 1 when packets of space s go out as 0-RTT packets now (client, no 1-RTT keys yet). */
int lwq_conn_early_sending(const lwq_conn *c, int s);
/* 1 while the client may open and write streams before the handshake completes. */
int lwq_conn_early_streams(const lwq_conn *c);
/* Server: keys for a received 0-RTT packet, NULL when there are none (any more). */
const lwq_quic_keys *lwq_conn_early_rx_keys(lwq_conn *c);
/* Server: a 1-RTT packet arrived; 0-RTT keys are kept for 3 PTOs more (RFC 9001 §4.9.3). */
void lwq_conn_early_got_1rtt(lwq_conn *c);
/* The lwq_tls early_data_fresh hook (server, ud = the connection): the server's replay cache. */
int lwq_conn_early_fresh(void *ud, const uint8_t *binder, size_t len);

/* NEW_TOKEN: the server owes one after the handshake is confirmed; written into a 1-RTT packet;
 * lost: another one; client: a received one is kept and announced. */
void lwq_conn_token_confirmed(lwq_conn *c);
int lwq_conn_token_write(lwq_conn *c, struct lwq_pktb *b);
void lwq_conn_token_lost(lwq_conn *c);
int lwq_conn_token_received(lwq_conn *c, const uint8_t *tok, size_t len);

#endif
