/* lwquic: a structured trace of one connection, for tools that narrate what happens (the
 * --explain output of lwquic-client and lwquic-server). The connection calls lwq_config.trace
 * once per event; pointers are valid during the call only. With trace NULL nothing is built. */
#ifndef LWQUIC_TRACE_H
#define LWQUIC_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "lwquic/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    /* A packet: header bytes with protection removed, the plaintext frames, its size on the wire. */
    LWQ_TRACE_PACKET = 1,
    /* A UDP datagram as on the wire (protected). Received: before its packets; sent: after them. */
    LWQ_TRACE_DATAGRAM,
    /* Keys installed (detail "read"/"write") or discarded ("discarded"), or a 1-RTT key update
     * ("key_update"), at epoch 0 Initial, 1 0-RTT, 2 Handshake, 3 1-RTT. */
    LWQ_TRACE_KEYS,
    /* A sent packet declared lost; detail names the rule: "packet_threshold" or "time_threshold". */
    LWQ_TRACE_LOST,
    /* The probe timeout fired in a packet-number space (epoch); value: consecutive PTOs. */
    LWQ_TRACE_PTO,
    /* A client accepted a Retry packet: hdr is the whole packet (hdr_len bytes). */
    LWQ_TRACE_RETRY,
} lwq_trace_kind;

typedef struct lwq_trace_event {
    lwq_trace_kind kind;
    const void *conn; /* identifies the connection (its lwq_conn) */
    int is_server;    /* the endpoint tracing */
    int sent;         /* PACKET, DATAGRAM: 1 sent by us, 0 received */
    lwq_tstamp now;
    int epoch;          /* KEYS, LOST, PTO; PACKET: the epoch of its keys */
    uint64_t pn;        /* PACKET, LOST: packet number */
    const uint8_t *hdr; /* PACKET: header up to and including the packet number, unprotected */
    size_t hdr_len;
    const uint8_t *payload; /* PACKET: plaintext frames; DATAGRAM: the datagram */
    size_t payload_len;
    size_t wire_len; /* PACKET: bytes on the wire including the AEAD tag */
    uint64_t value;  /* PTO: pto_count; LOST: packet threshold in use */
    const char *detail;
} lwq_trace_event;

typedef void (*lwq_trace_fn)(void *ud, const lwq_trace_event *ev);

#ifdef __cplusplus
}
#endif

#endif
