/* The QUIC frame codec (RFC 9000 §12.4, §19; RFC 9221 §4 DATAGRAM): decodes and encodes every frame
 * type, with no connection state, so it can be fuzzed alone. Decoded data (CRYPTO, STREAM, tokens,
 * reasons, DATAGRAM) points into the input buffer. */
#ifndef LWQ_QUIC_FRAME_H
#define LWQ_QUIC_FRAME_H

#include "lwquic/common.h"
#include "quic/packet.h"

typedef enum lwq_frame_type {
    LWQ_FRAME_PADDING = 0x00,
    LWQ_FRAME_PING = 0x01,
    LWQ_FRAME_ACK = 0x02,
    LWQ_FRAME_ACK_ECN = 0x03,
    LWQ_FRAME_RESET_STREAM = 0x04,
    LWQ_FRAME_STOP_SENDING = 0x05,
    LWQ_FRAME_CRYPTO = 0x06,
    LWQ_FRAME_NEW_TOKEN = 0x07,
    LWQ_FRAME_STREAM = 0x08, /* 0x08..0x0f with the LWQ_STREAM_BIT_* flags */
    LWQ_FRAME_MAX_DATA = 0x10,
    LWQ_FRAME_MAX_STREAM_DATA = 0x11,
    LWQ_FRAME_MAX_STREAMS_BIDI = 0x12,
    LWQ_FRAME_MAX_STREAMS_UNI = 0x13,
    LWQ_FRAME_DATA_BLOCKED = 0x14,
    LWQ_FRAME_STREAM_DATA_BLOCKED = 0x15,
    LWQ_FRAME_STREAMS_BLOCKED_BIDI = 0x16,
    LWQ_FRAME_STREAMS_BLOCKED_UNI = 0x17,
    LWQ_FRAME_NEW_CONNECTION_ID = 0x18,
    LWQ_FRAME_RETIRE_CONNECTION_ID = 0x19,
    LWQ_FRAME_PATH_CHALLENGE = 0x1a,
    LWQ_FRAME_PATH_RESPONSE = 0x1b,
    LWQ_FRAME_CONNECTION_CLOSE = 0x1c,
    LWQ_FRAME_CONNECTION_CLOSE_APP = 0x1d,
    LWQ_FRAME_HANDSHAKE_DONE = 0x1e,
    LWQ_FRAME_DATAGRAM = 0x30,
    LWQ_FRAME_DATAGRAM_LEN = 0x31,
} lwq_frame_type;

/* RFC 9000 §19.8 */
#define LWQ_STREAM_BIT_FIN 0x01
#define LWQ_STREAM_BIT_LEN 0x02
#define LWQ_STREAM_BIT_OFF 0x04

/* 1 for STREAM frame types 0x08..0x0f. */
static inline int lwq_frame_is_stream(uint64_t type)
{
    return (type & ~(uint64_t)7) == LWQ_FRAME_STREAM;
}

/* One acknowledged range, both ends included; ranges[0] is the one ending at Largest Acknowledged. */
typedef struct lwq_ack_range {
    uint64_t smallest, largest;
} lwq_ack_range;

typedef struct lwq_frame_ack {
    uint64_t largest;
    uint64_t ack_delay;    /* as on the wire, before the exponent */
    lwq_ack_range *ranges; /* decode: f->ack_ranges; encode: set by the caller, highest first */
    size_t range_count;
    uint64_t ect0, ect1, ce; /* ACK_ECN (type 0x03) only */
} lwq_frame_ack;

typedef struct lwq_frame_stream {
    uint64_t stream_id, offset;
    const uint8_t *data;
    size_t len;
    int fin;
    int has_len; /* Length field present; encode: 0 = data runs to the end of the packet */
} lwq_frame_stream;

typedef struct lwq_frame_crypto {
    uint64_t offset;
    const uint8_t *data;
    size_t len;
} lwq_frame_crypto;

typedef struct lwq_frame_bytes {
    const uint8_t *data;
    size_t len;
} lwq_frame_bytes;

typedef struct lwq_frame_new_cid {
    uint64_t seq, retire_prior_to;
    lwq_cid cid;
    uint8_t reset_token[LWQ_RESET_TOKEN_LEN];
} lwq_frame_new_cid;

typedef struct lwq_frame_close {
    uint64_t error_code;
    uint64_t frame_type; /* type 0x1c only */
    const uint8_t *reason;
    size_t reason_len;
} lwq_frame_close;

typedef struct lwq_frame {
    uint64_t type; /* the frame type as on the wire (STREAM with its flag bits) */
    union {
        size_t padding_len; /* PADDING: a run of padding bytes decodes as one frame */
        lwq_frame_ack ack;  /* ACK, ACK_ECN */
        struct {
            uint64_t stream_id, app_error, final_size;
        } reset_stream;
        struct {
            uint64_t stream_id, app_error;
        } stop_sending;
        lwq_frame_crypto crypto;
        lwq_frame_bytes new_token;
        lwq_frame_stream stream;
        uint64_t max_data; /* MAX_DATA, DATA_BLOCKED */
        struct {
            uint64_t stream_id, max;
        } max_stream_data;    /* MAX_STREAM_DATA, STREAM_DATA_BLOCKED */
        uint64_t max_streams; /* MAX_STREAMS_*, STREAMS_BLOCKED_* */
        lwq_frame_new_cid new_cid;
        uint64_t retire_seq;      /* RETIRE_CONNECTION_ID */
        uint8_t path_data[8];     /* PATH_CHALLENGE, PATH_RESPONSE */
        lwq_frame_close close;    /* CONNECTION_CLOSE (0x1c transport, 0x1d application) */
        lwq_frame_bytes datagram; /* DATAGRAM, DATAGRAM_LEN */
    } u;
    /* Decoder settings, kept by decode: storage for ACK ranges and its capacity (the
     * configured ACK range limit). An ACK with more ranges fails with LWQ_ERR_LIMIT. */
    lwq_ack_range *ack_ranges;
    size_t ack_ranges_cap;
    /* After a failed decode: the QUIC transport error to close with (RFC 9000 §20.1). */
    uint64_t wire_error;
} lwq_frame;

/* Decodes one frame at p[0..n). Returns the bytes consumed (> 0) or:
 *  LWQ_ERR_TRUNCATED  a field runs past n (wire_error FRAME_ENCODING_ERROR);
 *  LWQ_ERR_DECODE     a bad value: unknown type, range underflow, CID length, empty token, offset
 *                     + length beyond 2^62-1, stream count over 2^60 (FRAME_ENCODING_ERROR), or a
 *                     frame type not in its shortest encoding (PROTOCOL_VIOLATION, RFC 9000 §12.4);
 *  LWQ_ERR_LIMIT      an ACK with more ranges than f->ack_ranges_cap (FRAME_ENCODING_ERROR).
 * f->type is set whenever the type itself could be read. */
ssize_t lwq_frame_decode(lwq_frame *f, const uint8_t *p, size_t n);

/* Encodes f; LWQ_ERR_NOBUF, or LWQ_ERR_INVAL for values the wire cannot carry (varint over 2^62-1,
 * CID length 0 or > 20, ACK ranges not descending, unknown type). PADDING writes padding_len zero bytes.
 * STREAM takes its flag bits from u.stream (OFF when offset > 0, LEN when has_len, FIN when fin), not
 * from f->type. */
ssize_t lwq_frame_encode(uint8_t *out, size_t cap, const lwq_frame *f);
/* Exact length lwq_frame_encode writes; 0 when f cannot be encoded. */
size_t lwq_frame_encoded_len(const lwq_frame *f);

/* Bytes of STREAM payload (at most want) that fit in cap bytes with this frame's header, and the
 * frame's header length in *hdr_len; 0 when not even the header fits. Uses f->u.stream's id, offset
 * and has_len (len is ignored). For packing STREAM frames into packets. */
size_t lwq_frame_stream_fit(const lwq_frame *f, size_t cap, size_t want, size_t *hdr_len);

/* The frame table (RFC 9000 §12.4 Table 3, RFC 9221 §4), frame_table.c. */
typedef struct lwq_frame_info {
    const char *name;
    uint8_t pkt_mask;        /* bit (1 << lwq_pkt_type) for each packet type that may carry it */
    uint8_t ack_eliciting;   /* not "N" */
    uint8_t probing;         /* "P" */
    uint8_t in_flight;       /* counts toward bytes in flight: not "C" */
    uint8_t flow_controlled; /* "F" */
    uint8_t server_only;     /* only a server sends it (NEW_TOKEN §19.7, HANDSHAKE_DONE §19.20) */
} lwq_frame_info;

/* NULL for an unknown frame type. */
const lwq_frame_info *lwq_frame_info_get(uint64_t type);
/* 0 when a packet of type pt may carry the frame type; LWQ_ERR_PROTO (close with PROTOCOL_VIOLATION,
 * RFC 9000 §12.4) when not, or for an unknown type (FRAME_ENCODING_ERROR is decode's job). */
int lwq_frame_allowed(uint64_t type, lwq_pkt_type pt);

#endif
