/* Connection IDs of one connection (RFC 9000 §5.1): ours with their stateless reset tokens, issued
 * up to the peer's active_connection_id_limit, and the peer's, with retirement. Internal. */
#ifndef LWQ_QUIC_CID_H
#define LWQ_QUIC_CID_H

#include "lwquic/quic.h"
#include "quic/frame.h"
#include "quic/sentmap.h"

#define LWQ_CIDS_LOCAL_MAX 8
#define LWQ_CIDS_PEER_MAX 8
#define LWQ_CIDS_RETIRE_MAX 16

typedef struct lwq_local_cid {
    lwq_cid cid;
    uint64_t seq;
    uint8_t token[LWQ_RESET_TOKEN_LEN];
    uint8_t used, send; /* send: a NEW_CONNECTION_ID is owed */
} lwq_local_cid;

typedef struct lwq_peer_cid {
    lwq_cid cid;
    uint64_t seq;
    uint8_t token[LWQ_RESET_TOKEN_LEN];
    uint8_t used, has_token;
} lwq_peer_cid;

typedef struct lwq_cids {
    lwq_local_cid local[LWQ_CIDS_LOCAL_MAX];
    uint64_t local_next_seq;
    lwq_peer_cid peer[LWQ_CIDS_PEER_MAX];
    size_t cur; /* peer[cur] is the DCID we send with */
    uint64_t peer_retire_prior_to;
    uint64_t retire[LWQ_CIDS_RETIRE_MAX]; /* RETIRE_CONNECTION_ID owed */
    size_t nretire;
} lwq_cids;

struct lwq_pktb;

/* The stateless reset token of one of our CIDs: a keyed hash, so a server that lost the
 * connection can still compute it (RFC 9000 §10.3.2). */
void lwq_cid_reset_token(const lwq_context *ctx, const lwq_cid *cid, uint8_t *token);
/* A fresh CID of ours, lwq_cid_len() bytes: random, or for a server with QUIC-LB or shards its
 * server ID and a random nonce (docs/scale-out.md). */
void lwq_cid_random(const lwq_conn *c, lwq_cid *cid);
/* The length of our CIDs: a server's QUIC-LB configuration's, else LWQ_CONN_CID_LEN. */
size_t lwq_cid_len(const lwq_context *ctx);

/* Sequence 0 of both sides. 0, or an error from the server's routing table. */
int lwq_cids_init(lwq_conn *c, const lwq_cid *local0, const lwq_cid *peer0);
/* Unregisters our CIDs from the server. */
void lwq_cids_free(lwq_conn *c);
const lwq_cid *lwq_cids_dcid(const lwq_conn *c);
/* Client: the server's SCID replaces our initial DCID (RFC 9000 §7.2). */
void lwq_cids_set_peer0(lwq_conn *c, const lwq_cid *cid);
/* The peer's sequence-0 reset token from its transport parameters. */
void lwq_cids_set_peer0_token(lwq_conn *c, const uint8_t *token);
/* Issues CIDs up to min(peer limit, LWQ_CIDS_LOCAL_MAX) (RFC 9000 §5.1.1). */
int lwq_cids_issue(lwq_conn *c);
int lwq_cids_is_local(const lwq_conn *c, const uint8_t *id, size_t len);
/* NEW_CONNECTION_ID / RETIRE_CONNECTION_ID from the peer; errors close the connection. */
int lwq_cids_on_new(lwq_conn *c, const lwq_frame_new_cid *f);
int lwq_cids_on_retire(lwq_conn *c, uint64_t seq, const uint8_t *dcid, size_t dcid_len);
/* Writes owed NEW_CONNECTION_ID and RETIRE_CONNECTION_ID frames. */
int lwq_cids_write(lwq_conn *c, struct lwq_pktb *b);
void lwq_cids_on_lost(lwq_conn *c, const lwq_sent_frame *f);
/* A fresh CID of ours that is not announced by NEW_CONNECTION_ID (the server's preferred_address,
 * RFC 9000 §5.1.1: sequence 1). LWQ_ERR_LIMIT, or the server's routing error. */
int lwq_cids_add_unannounced(lwq_conn *c, const lwq_local_cid **out);
/* A peer CID not used yet: the lowest sequence above the current one (RFC 9000 §9.5); NULL if none. */
const lwq_peer_cid *lwq_cids_spare(const lwq_conn *c);
const lwq_peer_cid *lwq_cids_peer_by_seq(const lwq_conn *c, uint64_t seq);
/* Sends with the peer CID of sequence seq from now on and retires the one used before (§5.1.2).
 * LWQ_ERR_NOT_FOUND when seq is not active, LWQ_ERR_LIMIT when too many retirements are pending. */
int lwq_cids_switch(lwq_conn *c, uint64_t seq);
/* 1 when the datagram ends with a stateless reset token of the peer (RFC 9000 §10.3.1). */
int lwq_cids_reset_match(const lwq_conn *c, const uint8_t *dgram, size_t n);

#endif
