/* QUIC version 2 (RFC 9369) and compatible version negotiation (RFC 9368): the version_information
 * we send and check, the server's switch from the client's original version on its first Initial
 * response, the client following it. Internal to the connection (conn.h embeds lwq_conn_vn). */
#ifndef LWQ_QUIC_CONN_VERSION_H
#define LWQ_QUIC_CONN_VERSION_H

#include "lwquic/quic.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "quic/tparams.h"

typedef struct lwq_conn_vn {
    uint32_t original;     /* version of the client's first Initial */
    int started;           /* original is set */
    int decided;           /* server: the negotiated version is chosen */
    lwq_quic_keys orig_rk; /* server after a switch: Initial read keys of the original version */
    int has_orig_rk;
} lwq_conn_vn;

/* Finds the quic_transport_parameters extension (RFC 9001 §8.2) in a whole ClientHello message
 * (handshake header included): *tp and *tplen point into p. Returns the message length, 0 when p
 * holds only part of it, LWQ_ERR_DECODE when it is no ClientHello, LWQ_ERR_NOT_FOUND without the
 * extension. Never reads past n. */
ssize_t lwq_client_hello_tparams(const uint8_t *p, size_t n, const uint8_t **tp, size_t *tplen);

/* Our version_information (RFC 9368 §3) into tp; records the original version on the first call. */
void lwq_conn_version_local_params(lwq_conn *c, lwq_tparams *tp);
/* 1 when a long-header packet of this version belongs to the connection (the current version, the
 * server's original one while it keeps those keys, or the client's negotiated one not yet learned). */
int lwq_conn_version_accepts(const lwq_conn *c, const lwq_pkt_hdr *h);
/* Unprotects an Initial packet with the keys of its version; a client that decrypts one of an
 * offered version switches to it (RFC 9369 §4.1). Returns like lwq_packet_unprotect. */
int lwq_conn_version_unprotect_initial(lwq_conn *c, const lwq_pkt_hdr *h, uint8_t *pkt, lwq_unprotected *u);
/* Server, before the ClientHello goes to TLS: picks the negotiated version from the client's
 * version_information (switching keys and our transport parameters). 1: the ClientHello is not
 * whole yet, wait; 0: go on; LWQ_ERR_NOMEM / LWQ_ERR_PROTO (closed). */
int lwq_conn_version_server_choose(lwq_conn *c);
/* After the peer's transport parameters are decoded: RFC 9368 §4 checks, VERSION_NEGOTIATION_ERROR. */
int lwq_conn_version_check_peer(lwq_conn *c);
void lwq_conn_version_free(lwq_conn *c);

#endif
