/* UDP sockets for QUIC: dual-stack, batched (recvmmsg/sendmmsg), GSO/GRO when
 * the kernel has them, ECN and local address through control messages. */
#ifndef LWQ_IO_UDP_H
#define LWQ_IO_UDP_H

#include <netinet/in.h>
#include <sys/socket.h>
#include "lwquic/common.h"

typedef struct lwq_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} lwq_addr;

/* "HOST:PORT", "[V6]:PORT" or "PORT" (passive: any address). Resolves names with getaddrinfo.
 * LWQ_ERR_INVAL for a malformed string, LWQ_ERR_NOT_FOUND when the name does not resolve. */
int lwq_addr_parse(lwq_addr *out, const char *hostport, int passive);
/* "127.0.0.1:443" / "[::1]:443" */
const char *lwq_addr_format(const lwq_addr *a, char *buf, size_t cap);
int lwq_addr_equal(const lwq_addr *a, const lwq_addr *b);
uint16_t lwq_addr_port(const lwq_addr *a);

#define LWQ_UDP_MAX_SEGMENTS 64 /* kernel limit for UDP_SEGMENT is 64 */

typedef struct lwq_udp {
    int fd;
    int family;
    int v6only;
    int gso; /* kernel accepts UDP_SEGMENT */
    int gro; /* kernel coalesces on receive */
    lwq_addr local;
} lwq_udp;

/* One datagram, or with segsize a GSO/GRO train of equal segments (the last may be shorter). */
typedef struct lwq_udp_msg {
    uint8_t *buf;
    size_t len;      /* recv: capacity in, length out */
    size_t segsize;  /* send: GSO segment size (0 = one datagram); recv: GRO segment size or 0 */
    lwq_addr peer;
    lwq_addr local;  /* recv: destination address; send: source address when local.len != 0 */
    uint8_t ecn;     /* the two ECN bits, RFC 3168 */
} lwq_udp_msg;

/* Binds; `[::]` gives a dual-stack socket. Non-blocking, close-on-exec, large buffers, DF set,
 * ECN and pktinfo reporting on. */
int lwq_udp_open(lwq_udp *u, const lwq_addr *bind_addr);
/* The same with SO_REUSEPORT: several sockets on one port, the kernel spreading flows by 4-tuple.
 * reuseport LWQ_UDP_REUSEPORT_FIRST: the first socket of a group, which refuses an address another
 * socket holds (LWQ_ERR_ADDR_IN_USE, see lwq_udp_probe_free); the others of the group pass 1. A bind
 * that fails with EADDRINUSE is LWQ_ERR_ADDR_IN_USE too. */
#define LWQ_UDP_REUSEPORT_FIRST 2
int lwq_udp_open_shared(lwq_udp *u, const lwq_addr *bind_addr, int reuseport);
void lwq_udp_close(lwq_udp *u);

/* A listening address is ours alone (udp_claim.c). SO_REUSEPORT lets any socket of the same user join a
 * port, so a second server would silently take half the clients. lwq_udp_probe_free binds a plain
 * socket (no SO_REUSEPORT) to the address and closes it: LWQ_ERR_ADDR_IN_USE when any socket holds an
 * overlapping address now. lwq_udp_check_alone, called on the first socket of a group once it is bound,
 * closes the window between the probe and that bind: LWQ_ERR_ADDR_IN_USE when /proc/net/udp{,6} lists
 * another socket on the port with an overlapping address (two servers starting at once both see each
 * other and both refuse); 0 when /proc cannot be read. Port 0 is never checked (the kernel picks a free
 * port). */
int lwq_udp_probe_free(const lwq_addr *a);
int lwq_udp_check_alone(const lwq_udp *u);
/* Client sockets: fixes the peer so ICMP errors come back (LWQ_ERR_REFUSED from lwq_udp_recv). */
int lwq_udp_connect(lwq_udp *u, const lwq_addr *peer);
/* Receives up to n; returns the count, 0 when nothing is queued, LWQ_ERR_REFUSED (connected socket,
 * ICMP port unreachable) or LWQ_ERR_IO. */
int lwq_udp_recv(lwq_udp *u, lwq_udp_msg *msgs, size_t n);
/* Sends up to n; returns how many were sent (0 when the socket buffer is full) or LWQ_ERR_IO.
 * A GSO train the kernel refuses is split and sent datagram by datagram, and GSO is turned off. */
int lwq_udp_send(lwq_udp *u, const lwq_udp_msg *msgs, size_t n);

#endif
