/* 1-RTT key update (RFC 9001 §6), AEAD usage limits (§6.6) and the choice of keys that unprotects
 * each received packet. Internal to the connection (conn.h embeds lwq_keyupdate). */
#ifndef LWQ_QUIC_CONN_KEYS_H
#define LWQ_QUIC_CONN_KEYS_H

#include "lwquic/quic.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "quic/recovery.h"

/* RFC 9001 §6.6 for AES-GCM; ChaCha20-Poly1305 has no confidentiality limit below 2^62. */
#define LWQ_AEAD_GCM_CONFIDENTIALITY_LIMIT (UINT64_C(1) << 23)
#define LWQ_AEAD_GCM_INTEGRITY_LIMIT (UINT64_C(1) << 52)
#define LWQ_AEAD_CHACHA_CONFIDENTIALITY_LIMIT (UINT64_C(1) << 62)
#define LWQ_AEAD_CHACHA_INTEGRITY_LIMIT (UINT64_C(1) << 36)

/* Key phases of the 1-RTT space. The current read keys and the header protection keys stay in the
 * space's rk/wk; this holds the secrets and the read keys of the neighbouring phases (AEAD and IV
 * only: the header protection key never changes). */
typedef struct lwq_keyupdate {
    int have_r, have_w; /* 1-RTT secrets installed */
    lwq_suite suite;
    uint8_t rsecret[LWQ_HASH_MAX]; /* secret of the next read phase */
    uint8_t wsecret[LWQ_HASH_MAX]; /* secret of the current write phase */
    lwq_quic_keys next, prev;
    int has_next, has_prev;
    lwq_tstamp prev_until;            /* previous read keys are dropped then (3 PTO, RFC 9001 §6.5) */
    int rphase, wphase;               /* Key Phase bits of the current read and write keys */
    uint64_t rphase_first;            /* lowest packet number received in the current read phase */
    uint64_t trigger_pn;              /* the packet that moved the read phase (LWQ_PN_NONE: none yet) */
    int trigger_acked;                /* an ACK of trigger_pn left under the current write keys */
    uint64_t wphase_first;            /* first packet number protected with the current write keys */
    lwq_tstamp wphase_acked_at;       /* first ACK of a packet of the current write phase; 0: none */
    uint64_t wpackets;                /* packets protected with the current write keys */
    uint64_t auth_failures;           /* received packets that failed authentication, all keys */
    uint64_t prev_opened;             /* late packets opened with the previous read keys */
    uint64_t conf_limit, integ_limit; /* 0: the RFC 9001 §6.6 numbers of the suite */
    uint64_t generation, rgeneration; /* write and read key generations */
} lwq_keyupdate;

/* conn.c: a 1-RTT secret was installed into the space's keys (write or read). Keeps the secret and
 * derives the next read keys ahead of time (RFC 9001 §6.3). LWQ_ERR_* from the key schedule. */
int lwq_conn_keys_installed(lwq_conn *c, int write, lwq_suite suite, const uint8_t *secret);
void lwq_conn_keys_free(lwq_conn *c);

/* conn_recv.c: header and packet protection removed from a packet of space s with the keys its
 * version and key phase select. LWQ_ERR_DECRYPT / LWQ_ERR_DECODE: drop it. LWQ_ERR_PROTO: reserved
 * bits set (close with PROTOCOL_VIOLATION), or the connection was closed here (KEY_UPDATE_ERROR,
 * AEAD_LIMIT_REACHED; the first error wins). */
int lwq_conn_unprotect(lwq_conn *c, lwq_space s, const lwq_pkt_hdr *h, uint8_t *pkt, lwq_unprotected *u);
/* conn_recv.c: the peer acknowledged up to `largest` in the 1-RTT space. */
void lwq_conn_keys_on_ack(lwq_conn *c, uint64_t largest);
/* conn_send.c: an ACK frame for packets up to `largest` goes into a 1-RTT packet. */
void lwq_conn_keys_ack_written(lwq_conn *c, uint64_t largest);
/* conn_send.c: before building a datagram: confidentiality limit and key_update_interval. */
void lwq_conn_keys_before_send(lwq_conn *c);
/* conn_send.c: one more 1-RTT packet protected with the current write keys. */
void lwq_conn_keys_sealed(lwq_conn *c);
/* 1 when a key update may be initiated now (RFC 9001 §6.1). */
int lwq_conn_keys_can_update(const lwq_conn *c);
/* Tests: replace the §6.6 limits (0 restores them); force an update ignoring §6.1 (a misbehaving peer). */
void lwq_conn_keys_set_limits(lwq_conn *c, uint64_t confidentiality, uint64_t integrity);
int lwq_conn_keys_force_update(lwq_conn *c);

#endif
