/* NEW_TOKEN address-validation tokens (RFC 9000 §8.1.3, §19.7) and the server's 0-RTT replay cache
 * (RFC 9001 §9.2, RFC 9846 §8). See docs/resumption.md. Internal. */
#ifndef LWQ_QUIC_TOKEN_H
#define LWQ_QUIC_TOKEN_H

#include "lwquic/quic.h"

/* magic | nonce | XChaCha20-Poly1305( issued (8) | address (17) ) | tag */
#define LWQ_NEW_TOKEN_MAGIC 0x4e
#define LWQ_NEW_TOKEN_LEN (1 + 24 + 8 + 17 + 16)
#define LWQ_NEW_TOKEN_LIFETIME (24 * 3600 * LWQ_SEC)

/* Seals a token for the client at path->remote (its IP, not its port: a later connection comes from
 * another port). out holds LWQ_NEW_TOKEN_LEN bytes; returns that length. */
size_t lwq_new_token_make(const lwq_context *ctx, const lwq_path *path, lwq_tstamp now, uint8_t *out);
/* 1 when tok is one of ours, for this address, issued at most LWQ_NEW_TOKEN_LIFETIME before now;
 * 0 for anything else (another format, forged, expired, another address): such a token is
 * ignored, never an error (RFC 9000 §8.1.3). */
int lwq_new_token_check(const lwq_context *ctx, const lwq_path *path, const uint8_t *tok, size_t n, lwq_tstamp now);

/* Replay cache: fingerprints of the PSK binders of accepted 0-RTT ClientHellos, each kept for
 * LWQ_REPLAY_WINDOW, at most LWQ_REPLAY_MAX of them. */
#define LWQ_REPLAY_MAX 4096
#define LWQ_REPLAY_WINDOW (30 * LWQ_SEC)
typedef struct lwq_replay lwq_replay;
int lwq_replay_new(lwq_replay **out, const lwq_allocator *a, const lwq_rng *rng);
void lwq_replay_del(lwq_replay *r);
/* 1: never seen within the window (now recorded), 0: seen, or the cache is full of live entries
 * (0-RTT is then refused: fail closed). */
int lwq_replay_fresh(lwq_replay *r, const uint8_t *binder, size_t len, lwq_tstamp now);

#endif
