/* Paths of a connection (RFC 9000 §8.2, §9): PATH_CHALLENGE / PATH_RESPONSE, the anti-amplification
 * limit of an unvalidated path, a server following its peer to a new address (NAT rebinding and
 * migration, §9.3), a client's active migration (§9.2) and its move to the server's preferred
 * address (§9.6). The current path is c->path; this module keeps the rest. Internal. */
#ifndef LWQ_QUIC_CONN_PATH_H
#define LWQ_QUIC_CONN_PATH_H

#include "lwquic/quic.h"
#include "quic/packet.h"

struct lwq_conn;
struct lwq_pktb;

#define LWQ_PATH_CID_CURRENT UINT64_MAX /* whichever peer CID is current when sending */

/* A path under validation (§8.2.1). */
typedef struct lwq_path_probe {
    lwq_path addr;
    int active;
    int on_current;      /* validating the current path (server after the peer moved) */
    int send;            /* a PATH_CHALLENGE is owed */
    uint8_t data[8];     /* the payload of the newest PATH_CHALLENGE */
    uint8_t old[8];      /* the one before, in case its PATH_RESPONSE is still on the way */
    lwq_tstamp resend;   /* next PATH_CHALLENGE */
    lwq_tstamp deadline; /* validation abandoned (§8.2.4) */
    uint64_t cid;        /* the sequence of the peer CID it uses (§9.5); LWQ_PATH_CID_CURRENT */
    int in_dgram;        /* a PATH_CHALLENGE is in the datagram being built */
    int padded;          /* one went out in a datagram of at least 1200 bytes (§8.2.1) */
} lwq_path_probe;

typedef struct lwq_conn_paths {
    int validated;            /* the current path's peer address is validated */
    uint64_t rx, tx;          /* bytes on the current path since it became current (§8.1, §9.3) */
    lwq_path prev;            /* the last validated path: fallback when validation fails (§9.3.2) */
    int has_prev;
    lwq_path_probe probe;
    uint8_t resp[8];          /* PATH_RESPONSE owed (§8.2.2) */
    lwq_path resp_path;       /* ... on the path its PATH_CHALLENGE came on */
    size_t resp_budget;       /* 3x that datagram: the response's amplification limit */
    int resp_pending;
    lwq_path rx_path;         /* the datagram being processed */
    size_t rx_len;
    int rx_current;           /* it came on the current path */
    int rx_nonprobing;        /* a packet of it holds a non-probing frame (§9.1) */
    lwq_cid last_dcid;        /* DCID of the peer's newest 1-RTT packet, to follow its CID changes */
    int preferred_started;    /* client: validation of the server's preferred address begun */
    lwq_path checked;         /* server: a path the client probed that we validated meanwhile */
    int has_checked;
    /* Client: a PING when a response is awaited and nothing arrives, so that a server whose
     * packets go to a NAT binding that is gone hears from our new one (§9.3) */
    lwq_tstamp stall_rx, stall_next;
    unsigned stall_k;
} lwq_conn_paths;

/* 1 when the two paths are the same 4-tuple; an unspecified local address or port matches any. */
int lwq_path_same(const lwq_path *a, const lwq_path *b);
/* 1 when the remote IP addresses differ (not only the port): congestion state restarts (§9.4). */
int lwq_path_addr_changed(const lwq_path *a, const lwq_path *b);

void lwq_conn_paths_init(struct lwq_conn *c);
/* Server: preferred_address (§18.2) into the local transport parameters, with a connection ID of
 * sequence 1 and its reset token (§5.1.1). LWQ_ERR_NOMEM, or a routing error. */
int lwq_conn_path_server_params(struct lwq_conn *c);
/* Client: the server's preferred_address CID becomes peer CID sequence 1. 0 or LWQ_ERR_PROTO. */
int lwq_conn_path_peer_params(struct lwq_conn *c);
/* Handshake confirmed: a client starts validating the server's preferred address. */
void lwq_conn_path_confirmed(struct lwq_conn *c);

/* A datagram arrived on `path`: 0 to process it, LWQ_ERR_AGAIN to drop it (a new path before the
 * handshake is confirmed, a migration the local disable_active_migration refuses, a client's
 * datagram from an address it is not using, §9 / §9.6). */
int lwq_conn_path_on_datagram(struct lwq_conn *c, const lwq_path *path, size_t len);
/* A 1-RTT packet of the datagram was processed; largest: it has the highest packet number so far. */
void lwq_conn_path_on_packet(struct lwq_conn *c, const lwq_pkt_hdr *h, int largest);
int lwq_conn_path_on_challenge(struct lwq_conn *c, const uint8_t *data);
int lwq_conn_path_on_response(struct lwq_conn *c, const uint8_t *data);

/* Frames for the current path (PATH_CHALLENGE, PATH_RESPONSE) into a 1-RTT packet. */
int lwq_conn_path_write(struct lwq_conn *c, struct lwq_pktb *b);
/* A datagram for a path other than the current one (a client's probe, a PATH_RESPONSE on the path
 * its challenge came on): its length and path, 0 when none is owed. */
ssize_t lwq_conn_path_send_other(struct lwq_conn *c, lwq_path *path, uint8_t *buf, size_t cap);
/* Caps a datagram for the current path by its amplification limit while it is not validated. */
size_t lwq_conn_path_limit(const struct lwq_conn *c, size_t limit);
/* n bytes left for the current path. */
void lwq_conn_path_on_sent(struct lwq_conn *c, size_t n);

lwq_tstamp lwq_conn_path_timeout(const struct lwq_conn *c);
void lwq_conn_path_handle_timeout(struct lwq_conn *c, lwq_tstamp now);
/* NULL when the current path's amplification limit holds; for tests. */
const char *lwq_conn_path_check(const struct lwq_conn *c);

#endif
