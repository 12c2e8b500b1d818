/* lwquic: QUIC-LB connection IDs (draft-ietf-quic-load-balancers): a server writes its server ID
 * into every connection ID it issues, in plaintext or encrypted with a key shared with the load
 * balancer, so that a balancer routes each packet to its server without per-connection state
 * (docs/scale-out.md). Pure codec: no I/O, no allocation. */
#ifndef LWQUIC_QUIC_LB_H
#define LWQUIC_QUIC_LB_H

#include "lwquic/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LWQ_QUIC_LB_SID_MAX 15   /* server ID length + nonce length <= 19, nonce >= 4 (§5.3) */
#define LWQ_QUIC_LB_CID_MAX 20
#define LWQ_QUIC_LB_KEY_LEN 16

/* One configuration, plain data. server_id_len 0: QUIC-LB off. The connection ID is
 * first octet | server ID | nonce, 1 + server_id_len + nonce_len bytes; the first octet holds the
 * config rotation bits and the length of the rest (§3.3, as in the draft's test vectors). */
typedef struct lwq_quic_lb {
    uint8_t config_id;     /* config rotation bits, 0..6 (7 means unroutable, §3.2) */
    uint8_t server_id_len; /* 1..15 */
    uint8_t nonce_len;     /* 4..18, server_id_len + nonce_len <= 19 */
    uint8_t has_key;       /* encrypted: single pass when the two lengths sum to 16, else four passes */
    uint8_t server_id[LWQ_QUIC_LB_SID_MAX];
    uint8_t key[LWQ_QUIC_LB_KEY_LEN];
} lwq_quic_lb;

/* Reads the textual form "cr=0,sid=0102,noncelen=6[,sidlen=2][,key=32 hex digits]": cr the config
 * rotation bits, sid the server ID in hex (sidlen, when given, must match its length), noncelen the
 * nonce length in bytes. 0, or LWQ_ERR_INVAL for a malformed or out-of-range setting. */
LWQ_API int lwq_quic_lb_parse(lwq_quic_lb *lb, const char *text);
/* 0 when the configuration is usable, LWQ_ERR_INVAL otherwise. */
LWQ_API int lwq_quic_lb_check(const lwq_quic_lb *lb);
/* 1 + server_id_len + nonce_len. */
LWQ_API size_t lwq_quic_lb_cid_len(const lwq_quic_lb *lb);
/* Writes the lwq_quic_lb_cid_len() bytes of the connection ID carrying server_id (server_id_len
 * bytes; NULL: lb->server_id) and nonce (nonce_len bytes). 0, LWQ_ERR_INVAL, LWQ_ERR_CRYPTO. */
LWQ_API int lwq_quic_lb_encode(const lwq_quic_lb *lb, const uint8_t *server_id, const uint8_t *nonce, uint8_t *cid);
/* The load balancer's side: the server ID (server_id_len bytes) and, when nonce is not NULL, the
 * nonce of a connection ID. LWQ_ERR_NOT_FOUND when its config rotation bits name another
 * configuration, LWQ_ERR_TRUNCATED when len is too short, LWQ_ERR_CRYPTO. */
LWQ_API int lwq_quic_lb_decode(const lwq_quic_lb *lb, const uint8_t *cid, size_t len, uint8_t *server_id,
                               uint8_t *nonce);
/* Process demultiplexing (§7.2): shard s of a server issues the server ID whose last octet is the
 * configured one plus s (mod 256). The shard a connection ID names, or a negative LWQ_ERR_* when
 * it is not one of this server's (another configuration, another server ID). */
LWQ_API int lwq_quic_lb_shard(const lwq_quic_lb *lb, const uint8_t *cid, size_t len);

#ifdef __cplusplus
}
#endif
#endif
