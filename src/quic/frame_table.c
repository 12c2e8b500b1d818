#include "quic/frame.h"

#define I (1u << LWQ_PKT_INITIAL)
#define Z (1u << LWQ_PKT_0RTT)
#define H (1u << LWQ_PKT_HANDSHAKE)
#define O (1u << LWQ_PKT_1RTT)

/* RFC 9000 §12.4 Table 3: Pkts column; N = not ack-eliciting, C = not in flight, P = probing,
 * F = flow controlled. Indexed by frame type 0x00..0x1e. */
static const lwq_frame_info table[] = {
    [0x00] = {"PADDING", I | H | Z | O, 0, 1, 1, 0, 0},
    [0x01] = {"PING", I | H | Z | O, 1, 0, 1, 0, 0},
    [0x02] = {"ACK", I | H | O, 0, 0, 0, 0, 0},
    [0x03] = {"ACK_ECN", I | H | O, 0, 0, 0, 0, 0},
    [0x04] = {"RESET_STREAM", Z | O, 1, 0, 1, 0, 0},
    [0x05] = {"STOP_SENDING", Z | O, 1, 0, 1, 0, 0},
    [0x06] = {"CRYPTO", I | H | O, 1, 0, 1, 0, 0},
    [0x07] = {"NEW_TOKEN", O, 1, 0, 1, 0, 1},
    [0x08] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x09] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0a] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0b] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0c] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0d] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0e] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x0f] = {"STREAM", Z | O, 1, 0, 1, 1, 0},
    [0x10] = {"MAX_DATA", Z | O, 1, 0, 1, 0, 0},
    [0x11] = {"MAX_STREAM_DATA", Z | O, 1, 0, 1, 0, 0},
    [0x12] = {"MAX_STREAMS_BIDI", Z | O, 1, 0, 1, 0, 0},
    [0x13] = {"MAX_STREAMS_UNI", Z | O, 1, 0, 1, 0, 0},
    [0x14] = {"DATA_BLOCKED", Z | O, 1, 0, 1, 0, 0},
    [0x15] = {"STREAM_DATA_BLOCKED", Z | O, 1, 0, 1, 0, 0},
    [0x16] = {"STREAMS_BLOCKED_BIDI", Z | O, 1, 0, 1, 0, 0},
    [0x17] = {"STREAMS_BLOCKED_UNI", Z | O, 1, 0, 1, 0, 0},
    [0x18] = {"NEW_CONNECTION_ID", Z | O, 1, 1, 1, 0, 0},
    [0x19] = {"RETIRE_CONNECTION_ID", Z | O, 1, 0, 1, 0, 0},
    [0x1a] = {"PATH_CHALLENGE", Z | O, 1, 1, 1, 0, 0},
    [0x1b] = {"PATH_RESPONSE", O, 1, 1, 1, 0, 0},
    /* "ih": only the transport close (0x1c) may appear in Initial and Handshake packets */
    [0x1c] = {"CONNECTION_CLOSE", I | H | Z | O, 0, 0, 1, 0, 0},
    [0x1d] = {"CONNECTION_CLOSE_APP", Z | O, 0, 0, 1, 0, 0},
    [0x1e] = {"HANDSHAKE_DONE", O, 1, 0, 1, 0, 1},
};

/* RFC 9221 §4: DATAGRAM only in 0-RTT and 1-RTT, ack-eliciting and congestion controlled (§5.4) */
static const lwq_frame_info datagram = {"DATAGRAM", Z | O, 1, 0, 1, 0, 0};

const lwq_frame_info *lwq_frame_info_get(uint64_t type)
{
    if (type < sizeof(table) / sizeof(table[0]))
        return &table[type];
    if (type == LWQ_FRAME_DATAGRAM || type == LWQ_FRAME_DATAGRAM_LEN)
        return &datagram;
    return NULL;
}

int lwq_frame_allowed(uint64_t type, lwq_pkt_type pt)
{
    const lwq_frame_info *fi = lwq_frame_info_get(type);
    if (!fi || (unsigned)pt > LWQ_PKT_1RTT || !(fi->pkt_mask & (1u << pt)))
        return LWQ_ERR_PROTO;
    return 0;
}
