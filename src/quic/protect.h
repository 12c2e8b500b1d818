/* QUIC packet protection (RFC 9001 §5.3, §5.4): AEAD over the payload with the header as associated
 * data, and header protection of byte 0 and the packet number, in place. */
#ifndef LWQ_QUIC_PROTECT_H
#define LWQ_QUIC_PROTECT_H

#include "lwquic/common.h"
#include "tls/keysched.h"

#define LWQ_HP_SAMPLE_LEN 16

/* Null packet protection for tests and fuzzing (src/quic/conn_null.h): passed as the keys, the AEAD is the
 * identity with a 16-byte zero tag (checked on open) and the header protection mask is zero. Only code that
 * names this object can select it. */
extern const lwq_quic_keys lwq_null_keys;

/* Protects a packet in place. pkt[0..hdr_len) is the header from lwq_pkt_hdr_encode (the packet
 * number in the clear in its last pn_len bytes, pn_len in byte 0), pkt[hdr_len..+payload_len) the
 * frames; cap >= hdr_len + payload_len + 16. pn is the full packet number. The header protection
 * sample needs pn_len + payload_len >= 4 (RFC 9001 §5.4.2): LWQ_ERR_INVAL otherwise (pad first).
 * Returns the protected packet length. */
ssize_t lwq_packet_protect(const lwq_quic_keys *k, uint64_t pn, uint8_t *pkt, size_t hdr_len, size_t payload_len,
                           size_t cap);

/* What unprotection learned about a packet. */
typedef struct lwq_unprotected {
    uint8_t first; /* byte 0 with header protection removed */
    size_t pn_len;
    uint64_t pn;        /* full packet number (RFC 9000 §A.3) */
    int key_phase;      /* short header only */
    size_t payload_off; /* frames at pkt[payload_off..+payload_len) after decryption */
    size_t payload_len;
} lwq_unprotected;

/* Removes header protection in place from pkt[0..pkt_len) (pkt_len and pn_offset from
 * lwq_pkt_hdr_decode). largest_pn: largest packet number received in the space (LWQ_PN_NONE).
 * LWQ_ERR_DECODE when the packet is too short for the sample or a tag (discard it). */
int lwq_hp_remove(const lwq_hp *hp, uint8_t *pkt, size_t pkt_len, size_t pn_offset, uint64_t largest_pn,
                  lwq_unprotected *u);
/* Decrypts the payload in place after lwq_hp_remove (the keys may be chosen by u->key_phase).
 * LWQ_ERR_DECRYPT: discard (the payload bytes are not preserved; the last 16 bytes are, for stateless
 * reset detection). LWQ_ERR_PROTO: reserved bits set after successful decryption, close with
 * PROTOCOL_VIOLATION (RFC 9000 §17.2, §17.3.1). */
int lwq_payload_decrypt(const lwq_quic_keys *k, uint8_t *pkt, size_t pkt_len, lwq_unprotected *u);
/* Both steps with one set of keys. */
int lwq_packet_unprotect(const lwq_quic_keys *k, uint8_t *pkt, size_t pkt_len, size_t pn_offset, uint64_t largest_pn,
                         lwq_unprotected *u);

#endif
