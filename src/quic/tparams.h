/* QUIC transport parameters (RFC 9000 §7.4, §18; RFC 9221 §3; RFC 9368 §5; RFC 9287 §3):
 * encoding, decoding with the full validation of §18.2, and the connection ID authentication of §7.3. */
#ifndef LWQ_QUIC_TPARAMS_H
#define LWQ_QUIC_TPARAMS_H

#include "lwquic/common.h"
#include "quic/packet.h"

enum {
    LWQ_TP_ORIGINAL_DCID = 0x00,
    LWQ_TP_MAX_IDLE_TIMEOUT = 0x01,
    LWQ_TP_STATELESS_RESET_TOKEN = 0x02,
    LWQ_TP_MAX_UDP_PAYLOAD_SIZE = 0x03,
    LWQ_TP_INITIAL_MAX_DATA = 0x04,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL = 0x05,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE = 0x06,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_UNI = 0x07,
    LWQ_TP_INITIAL_MAX_STREAMS_BIDI = 0x08,
    LWQ_TP_INITIAL_MAX_STREAMS_UNI = 0x09,
    LWQ_TP_ACK_DELAY_EXPONENT = 0x0a,
    LWQ_TP_MAX_ACK_DELAY = 0x0b,
    LWQ_TP_DISABLE_ACTIVE_MIGRATION = 0x0c,
    LWQ_TP_PREFERRED_ADDRESS = 0x0d,
    LWQ_TP_ACTIVE_CONNECTION_ID_LIMIT = 0x0e,
    LWQ_TP_INITIAL_SCID = 0x0f,
    LWQ_TP_RETRY_SCID = 0x10,
    LWQ_TP_VERSION_INFORMATION = 0x11,     /* RFC 9368 */
    LWQ_TP_MAX_DATAGRAM_FRAME_SIZE = 0x20, /* RFC 9221 */
    LWQ_TP_GREASE_QUIC_BIT = 0x2ab2,       /* RFC 9287 */
};

/* Defaults (RFC 9000 §18.2). */
#define LWQ_TP_DEFAULT_MAX_UDP_PAYLOAD 65527
#define LWQ_TP_DEFAULT_ACK_DELAY_EXPONENT 3
#define LWQ_TP_DEFAULT_MAX_ACK_DELAY 25
#define LWQ_TP_DEFAULT_ACTIVE_CID_LIMIT 2
/* Available Versions kept from a version_information; more are validated and dropped. */
#define LWQ_TP_VERSIONS_MAX 8

typedef struct lwq_preferred_address {
    uint8_t ipv4[4];
    uint16_t ipv4_port;
    uint8_t ipv6[16];
    uint16_t ipv6_port;
    lwq_cid cid;
    uint8_t reset_token[LWQ_RESET_TOKEN_LEN];
} lwq_preferred_address;

typedef struct lwq_tparams {
    uint64_t max_idle_timeout; /* milliseconds, 0 = none */
    uint64_t max_udp_payload_size;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local;
    uint64_t initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t ack_delay_exponent;
    uint64_t max_ack_delay; /* milliseconds */
    uint64_t active_connection_id_limit;
    uint64_t max_datagram_frame_size; /* 0 = DATAGRAM not supported */
    int disable_active_migration;
    int grease_quic_bit;
    int has_original_dcid, has_initial_scid, has_retry_scid, has_reset_token, has_preferred_address;
    int has_version_info, has_max_datagram_frame_size;
    lwq_cid original_dcid, initial_scid, retry_scid;
    uint8_t reset_token[LWQ_RESET_TOKEN_LEN];
    lwq_preferred_address preferred_address;
    uint32_t chosen_version;
    uint32_t available_versions[LWQ_TP_VERSIONS_MAX];
    size_t n_available_versions;
    /* After a failed decode or check: the wire error (always TRANSPORT_PARAMETER_ERROR) and the
     * parameter at fault. */
    uint64_t wire_error;
    uint64_t error_param;
} lwq_tparams;

/* Every parameter at its default, nothing optional present. */
void lwq_tparams_init(lwq_tparams *tp);

/* Encodes the parameters that differ from their default and the optional ones present.
 * LWQ_ERR_INVAL when a client's set holds a server-only parameter or a value is out of range. */
ssize_t lwq_tparams_encode(uint8_t *out, size_t cap, const lwq_tparams *tp, int is_server);
size_t lwq_tparams_encoded_len(const lwq_tparams *tp, int is_server);

/* Decodes the peer's extension body p[0..n) (sent by a server when from_server). Returns n or
 * LWQ_ERR_PROTO, tp->wire_error = TRANSPORT_PARAMETER_ERROR, for: truncation, a duplicate, a value
 * out of range, a parameter whose length does not match its value, a server-only parameter from a
 * client, a bad preferred_address or version_information. Unknown and GREASE parameters are skipped. */
ssize_t lwq_tparams_decode(lwq_tparams *tp, const uint8_t *p, size_t n, int from_server);

/* The connection IDs an endpoint saw during the handshake (RFC 9000 §7.3). */
typedef struct lwq_tp_cids {
    lwq_cid peer_scid;  /* Source Connection ID of the peer's Initial packets */
    lwq_cid odcid;      /* client: Destination Connection ID of its first Initial */
    lwq_cid retry_scid; /* client: Source Connection ID of the Retry it processed */
    int retried;        /* client: a Retry was processed */
} lwq_tp_cids;

/* RFC 9000 §7.3: checks the peer's decoded parameters against what was seen. 0, or LWQ_ERR_PROTO with
 * tp->wire_error = TRANSPORT_PARAMETER_ERROR and tp->error_param set, on absence or mismatch. */
int lwq_tparams_check_cids(lwq_tparams *tp, int from_server, const lwq_tp_cids *seen);

#endif
