/* QUIC packet headers (RFC 9000 §17, RFC 8999, RFC 9369 §3.2): long and short headers for v1 and v2,
 * Version Negotiation, Retry, stateless reset, packet number encoding (RFC 9000 §17.1, Appendix A)
 * and coalesced packets (§12.2). Header fields only: protection is protect.h. */
#ifndef LWQ_QUIC_PACKET_H
#define LWQ_QUIC_PACKET_H

#include "lwquic/common.h"

#define LWQ_CID_MAX 20
#define LWQ_RESET_TOKEN_LEN 16
#define LWQ_RETRY_TAG_LEN 16
#define LWQ_PN_NONE UINT64_MAX
/* Smallest stateless reset: 5 unpredictable bytes + token (RFC 9000 §10.3). */
#define LWQ_STATELESS_RESET_MIN 21

/* A connection ID owned by value (RFC 9000 §5.1). */
typedef struct lwq_cid {
    uint8_t len;
    uint8_t id[LWQ_CID_MAX];
} lwq_cid;

/* LWQ_ERR_INVAL when len > LWQ_CID_MAX. */
int lwq_cid_set(lwq_cid *c, const uint8_t *id, size_t len);
int lwq_cid_eq(const lwq_cid *c, const uint8_t *id, size_t len);

/* Logical packet types; the wire bits differ between v1 and v2 (RFC 9369 §3.2). */
typedef enum lwq_pkt_type {
    LWQ_PKT_INITIAL = 0,
    LWQ_PKT_0RTT = 1,
    LWQ_PKT_HANDSHAKE = 2,
    LWQ_PKT_RETRY = 3,
    LWQ_PKT_1RTT = 4,
    LWQ_PKT_VN = 5,
} lwq_pkt_type;

/* 1 for the versions whose header layout this file knows (v1, v2). */
int lwq_version_supported(uint32_t version);
/* 1 for the reserved GREASE versions 0x?a?a?a?a (RFC 9000 §15). */
int lwq_version_is_grease(uint32_t version);

/* One parsed packet header. Pointers point into the decoded buffer. */
typedef struct lwq_pkt_hdr {
    lwq_pkt_type type;
    uint8_t first;    /* byte 0 as on the wire (still header-protected) */
    uint32_t version; /* 0 for short headers and Version Negotiation */
    const uint8_t *dcid, *scid;
    size_t dcid_len, scid_len; /* up to 255 for versions we do not know (RFC 8999 §5.1) */
    const uint8_t *token;      /* Initial token or Retry token */
    size_t token_len;
    uint64_t length;         /* Length field: packet number + payload (Initial, 0-RTT, Handshake) */
    size_t pn_offset;        /* where the Packet Number field starts (protected packets) */
    size_t pkt_len;          /* bytes of this packet; the next coalesced packet starts there */
    const uint8_t *versions; /* Version Negotiation: the list, 4 bytes each */
    size_t n_versions;
    const uint8_t *retry_tag; /* Retry: the 16-byte integrity tag */
} lwq_pkt_hdr;

/* Parses the header of the packet at p[0..n) (one datagram's remainder) up to the packet number.
 * short_dcid_len: length of our connection IDs, for short headers. Returns h->pkt_len.
 * Errors: LWQ_ERR_TRUNCATED; LWQ_ERR_DECODE (fixed bit 0, CID too long for v1/v2, Length beyond the
 * datagram, bad VN list): discard the rest of the datagram. LWQ_ERR_UNSUPPORTED: a long header of an
 * unknown version, with version, dcid and scid filled (RFC 8999 §5.1) so a server can answer with
 * Version Negotiation. LWQ_ERR_INVAL when short_dcid_len > LWQ_CID_MAX. */
ssize_t lwq_pkt_hdr_decode(lwq_pkt_hdr *h, const uint8_t *p, size_t n, size_t short_dcid_len);

/* Header of a packet to send. */
typedef struct lwq_pkt_hdr_out {
    lwq_pkt_type type; /* INITIAL, 0RTT, HANDSHAKE or 1RTT */
    uint32_t version;
    const uint8_t *dcid, *scid;
    size_t dcid_len, scid_len;
    const uint8_t *token; /* Initial only */
    size_t token_len;
    uint64_t pn;
    size_t pn_len;       /* 1..4 */
    size_t payload_len;  /* frames after the packet number, without the AEAD tag */
    size_t tag_len;      /* AEAD expansion counted in Length (16) */
    int spin, key_phase; /* short header bits */
} lwq_pkt_hdr_out;

/* Writes the header including the (unprotected) truncated packet number. The Length field takes
 * 2 bytes when it fits (4 otherwise). Returns the header length; the packet number starts at
 * return - pn_len. LWQ_ERR_INVAL for a bad type, version, CID length or pn_len. */
ssize_t lwq_pkt_hdr_encode(uint8_t *out, size_t cap, const lwq_pkt_hdr_out *h);
size_t lwq_pkt_hdr_encoded_len(const lwq_pkt_hdr_out *h);

/* RFC 9000 §A.2: bytes (1..4) needed to send full_pn when largest_acked (LWQ_PN_NONE: none) is the
 * largest packet number the peer acknowledged in that space. 4 also when even 4 bytes cannot cover
 * 2^31 or more unacknowledged packets: the sender must not let the gap grow that far. */
size_t lwq_pn_encode_len(uint64_t full_pn, uint64_t largest_acked);
/* RFC 9000 §A.3: full packet number from the pn_len-byte truncated value and the largest packet
 * number received so far in the space (LWQ_PN_NONE: none). */
uint64_t lwq_pn_decode(uint64_t largest_pn, uint64_t truncated_pn, size_t pn_len);

/* Version Negotiation (RFC 9000 §17.2.1): dcid/scid are the client's SCID/DCID echoed. unused: the
 * 7 arbitrary bits of byte 0 (0x40 is always set). */
ssize_t lwq_vn_encode(uint8_t *out, size_t cap, const uint8_t *dcid, size_t dcid_len, const uint8_t *scid,
                      size_t scid_len, const uint32_t *versions, size_t n_versions, uint8_t unused);
uint32_t lwq_vn_version(const lwq_pkt_hdr *h, size_t i);

/* Retry (RFC 9000 §17.2.5) with its integrity tag over odcid (RFC 9001 §5.8). unused: low 4 bits. */
ssize_t lwq_retry_encode(uint8_t *out, size_t cap, uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token, size_t token_len,
                         const uint8_t *odcid, size_t odcid_len, uint8_t unused);
/* 0 when the tag of the parsed Retry packet p[0..h->pkt_len) is valid for odcid; LWQ_ERR_DECRYPT when not;
 * LWQ_ERR_DECODE for a Retry with an empty token (RFC 9000 §17.2.5.2). */
int lwq_retry_verify(const lwq_pkt_hdr *h, const uint8_t *p, const uint8_t *odcid, size_t odcid_len);

/* Stateless reset (RFC 9000 §10.3) of len bytes (>= LWQ_STATELESS_RESET_MIN): short-header form,
 * random bits from rng, token last. */
ssize_t lwq_stateless_reset_encode(uint8_t *out, size_t cap, size_t len, const uint8_t *token, const lwq_rng *rng);
/* RFC 9000 §10.3.1: index of the token equal to the datagram's last 16 bytes, or -1. Every token is
 * compared in constant time, all of them, whatever matches. */
int lwq_stateless_reset_detect(const uint8_t *dgram, size_t n, const uint8_t (*tokens)[LWQ_RESET_TOKEN_LEN],
                               size_t n_tokens);

#endif
