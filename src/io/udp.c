#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "io/udp.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define BATCH 64
#define CMSG_SPACE_ALL (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) * 2 + CMSG_SPACE(sizeof(uint16_t)))

int lwq_addr_parse(lwq_addr *out, const char *hostport, int passive)
{
    char host[256] = "", port[16];
    const char *colon;
    if (!hostport || !*hostport)
        return LWQ_ERR_INVAL;
    if (hostport[0] == '[') {
        const char *end = strchr(hostport, ']');
        if (!end || end[1] != ':' || (size_t)(end - hostport - 1) >= sizeof(host))
            return LWQ_ERR_INVAL;
        memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
        colon = end + 1;
    } else if ((colon = strrchr(hostport, ':'))) {
        if ((size_t)(colon - hostport) >= sizeof(host) || memchr(hostport, ':', (size_t)(colon - hostport)))
            return LWQ_ERR_INVAL; /* bare IPv6 needs brackets */
        memcpy(host, hostport, (size_t)(colon - hostport));
    } else {
        colon = hostport - 1; /* "PORT" */
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) > 5 || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        atol(colon + 1) > 65535)
        return LWQ_ERR_INVAL; /* getaddrinfo would take 99999 modulo 65536 */
    snprintf(port, sizeof(port), "%s", colon + 1);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (!host[0] && passive) {
        hints.ai_family = AF_INET6; /* dual-stack wildcard */
    }
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0 || !res)
        return LWQ_ERR_NOT_FOUND;
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *lwq_addr_format(const lwq_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%u", ip, ntohs(s->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%u", ip, ntohs(s->sin6_port));
    } else {
        snprintf(buf, cap, "(none)");
    }
    return buf;
}

int lwq_addr_equal(const lwq_addr *a, const lwq_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return 0;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16) &&
               x->sin6_scope_id == y->sin6_scope_id;
    }
    return 0;
}

uint16_t lwq_addr_port(const lwq_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

/* ::ffff:a.b.c.d from a dual-stack socket is reported as the IPv4 address. */
static void unmap(lwq_addr *a)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
    if (a->ss.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    struct sockaddr_in s4 = {0};
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    memcpy(&a->ss, &s4, sizeof(s4));
    a->len = sizeof(s4);
}

/* The reverse, for sending to an IPv4 peer from a dual-stack socket. */
static void to_socket_family(const lwq_udp *u, const lwq_addr *in, lwq_addr *out)
{
    *out = *in;
    if (u->family != AF_INET6 || in->ss.ss_family != AF_INET)
        return;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&in->ss;
    struct sockaddr_in6 s6 = {0};
    s6.sin6_family = AF_INET6;
    s6.sin6_port = s4->sin_port;
    s6.sin6_addr.s6_addr[10] = s6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
    memcpy(&out->ss, &s6, sizeof(s6));
    out->len = sizeof(s6);
}

/* An IPv4 peer of a dual-stack socket: the kernel sends to it as IPv4 and reads IP_TOS and
 * IP_PKTINFO, not IPV6_TCLASS (the ECN codepoint would be dropped, RFC 9000 §13.4.1). */
static int is_v4mapped(const lwq_addr *a)
{
    return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static void grow_buffer(int fd, int opt, int force_opt, int size)
{
    /* SO_*BUFFORCE needs CAP_NET_ADMIN; the plain option is capped by net.core.*mem_max. */
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int lwq_udp_open(lwq_udp *u, const lwq_addr *bind_addr) { return lwq_udp_open_shared(u, bind_addr, 0); }

int lwq_udp_open_shared(lwq_udp *u, const lwq_addr *bind_addr, int reuseport)
{
    int on = 1, off = 0;
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    if (reuseport == LWQ_UDP_REUSEPORT_FIRST && lwq_udp_probe_free(bind_addr))
        return LWQ_ERR_ADDR_IN_USE;
    u->family = bind_addr->ss.ss_family;
    u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return LWQ_ERR_IO;
    if (reuseport && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
        close(u->fd);
        u->fd = -1;
        return LWQ_ERR_IO;
    }
    grow_buffer(u->fd, SO_RCVBUF, SO_RCVBUFFORCE, 4 << 20);
    grow_buffer(u->fd, SO_SNDBUF, SO_SNDBUFFORCE, 4 << 20);
    if (u->family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&bind_addr->ss;
        u->v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, u->v6only ? &on : &off, sizeof(int));
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on));
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
        int pmtu = IPV6_PMTUDISC_PROBE; /* DF set, no kernel PMTU cache: QUIC does its own (RFC 9000 §14) */
        setsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    }
    if (u->family == AF_INET || !u->v6only) {
        setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof(on));
        setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
        int pmtu = IP_PMTUDISC_PROBE;
        setsockopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    }
    if (bind(u->fd, (const struct sockaddr *)&bind_addr->ss, bind_addr->len) != 0) {
        int e = errno;
        close(u->fd);
        u->fd = -1;
        errno = e;
        return e == EADDRINUSE ? LWQ_ERR_ADDR_IN_USE : LWQ_ERR_IO;
    }
    u->local.len = sizeof(u->local.ss);
    getsockname(u->fd, (struct sockaddr *)&u->local.ss, &u->local.len);
    if (reuseport == LWQ_UDP_REUSEPORT_FIRST && lwq_addr_port(bind_addr) && lwq_udp_check_alone(u)) {
        close(u->fd);
        u->fd = -1;
        errno = EADDRINUSE;
        return LWQ_ERR_ADDR_IN_USE;
    }
    int seg = 1200;
    u->gso = setsockopt(u->fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)) == 0;
    if (u->gso) {
        seg = 0; /* per-message cmsg decides; the socket default stays off */
        setsockopt(u->fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg));
    }
    u->gro = setsockopt(u->fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) == 0;
    return 0;
}

int lwq_udp_connect(lwq_udp *u, const lwq_addr *peer)
{
    lwq_addr p;
    to_socket_family(u, peer, &p);
    return connect(u->fd, (const struct sockaddr *)&p.ss, p.len) == 0 ? 0 : LWQ_ERR_IO;
}

void lwq_udp_close(lwq_udp *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

static void parse_cmsgs(struct msghdr *mh, lwq_udp_msg *m, const lwq_udp *u)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && (c->cmsg_type == IP_TOS || c->cmsg_type == IP_RECVTOS)) {
            m->ecn = *(uint8_t *)CMSG_DATA(c) & 3;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
            int tc;
            memcpy(&tc, CMSG_DATA(c), sizeof(tc));
            m->ecn = tc & 3;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in s4 = {0};
            s4.sin_family = AF_INET;
            s4.sin_addr = pi.ipi_addr;
            s4.sin_port = htons(lwq_addr_port(&u->local));
            memcpy(&m->local.ss, &s4, sizeof(s4));
            m->local.len = sizeof(s4);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in6 s6 = {0};
            s6.sin6_family = AF_INET6;
            s6.sin6_addr = pi.ipi6_addr;
            s6.sin6_port = htons(lwq_addr_port(&u->local));
            s6.sin6_scope_id = pi.ipi6_ifindex;
            memcpy(&m->local.ss, &s6, sizeof(s6));
            m->local.len = sizeof(s6);
            unmap(&m->local);
        } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            int seg;
            memcpy(&seg, CMSG_DATA(c), sizeof(seg));
            m->segsize = seg > 0 ? (size_t)seg : 0;
        }
    }
}

int lwq_udp_recv(lwq_udp *u, lwq_udp_msg *msgs, size_t n)
{
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    union {
        uint8_t buf[CMSG_SPACE_ALL];
        struct cmsghdr align;
    } ctl[BATCH];
    if (n > BATCH)
        n = BATCH;
    memset(mm, 0, n * sizeof(mm[0]));
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = msgs[i].buf;
        iov[i].iov_len = msgs[i].len;
        mm[i].msg_hdr.msg_name = &msgs[i].peer.ss;
        mm[i].msg_hdr.msg_namelen = sizeof(msgs[i].peer.ss);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_control = ctl[i].buf;
        mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
    }
    int r;
    do {
        r = recvmmsg(u->fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return errno == ECONNREFUSED ? LWQ_ERR_REFUSED : LWQ_ERR_IO;
    }
    for (int i = 0; i < r; i++) {
        lwq_udp_msg *m = &msgs[i];
        m->len = mm[i].msg_len;
        m->peer.len = mm[i].msg_hdr.msg_namelen;
        unmap(&m->peer);
        m->ecn = 0;
        m->segsize = 0;
        m->local.len = 0;
        parse_cmsgs(&mm[i].msg_hdr, m, u);
        if (m->segsize >= m->len)
            m->segsize = 0;
    }
    return r;
}

/* Fills the control buffer of one outgoing message; returns its length. */
static size_t build_cmsgs(const lwq_udp *u, const lwq_udp_msg *m, int is_v6, uint8_t *buf, size_t cap, int gso)
{
    struct msghdr mh = {.msg_control = buf, .msg_controllen = cap};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    size_t used = 0;
    memset(buf, 0, cap);
    int tos = m->ecn & 3;
    if (is_v6) {
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_TCLASS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &tos, sizeof(int));
        used += CMSG_SPACE(sizeof(int));
    } else {
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_TOS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &tos, sizeof(int));
        used += CMSG_SPACE(sizeof(int));
    }
    if (m->local.len) {
        c = (struct cmsghdr *)(buf + used);
        if (m->local.ss.ss_family == AF_INET && !is_v6) {
            struct in_pktinfo pi = {0};
            pi.ipi_spec_dst = ((const struct sockaddr_in *)&m->local.ss)->sin_addr;
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            used += CMSG_SPACE(sizeof(pi));
        } else {
            lwq_addr l6;
            to_socket_family(u, &m->local, &l6);
            if (l6.ss.ss_family == AF_INET6) {
                struct in6_pktinfo pi = {0};
                pi.ipi6_addr = ((const struct sockaddr_in6 *)&l6.ss)->sin6_addr;
                pi.ipi6_ifindex = ((const struct sockaddr_in6 *)&l6.ss)->sin6_scope_id;
                c->cmsg_level = IPPROTO_IPV6;
                c->cmsg_type = IPV6_PKTINFO;
                c->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(c), &pi, sizeof(pi));
                used += CMSG_SPACE(sizeof(pi));
            }
        }
    }
    if (gso && m->segsize && m->segsize < m->len) {
        c = (struct cmsghdr *)(buf + used);
        uint16_t seg = (uint16_t)m->segsize;
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(seg));
        memcpy(CMSG_DATA(c), &seg, sizeof(seg));
        used += CMSG_SPACE(sizeof(seg));
    }
    return used;
}

/* Sends one GSO train as separate datagrams. 1 when all went, 0 when the buffer filled. */
static int send_split(lwq_udp *u, const lwq_udp_msg *m)
{
    for (size_t off = 0; off < m->len; off += m->segsize) {
        lwq_udp_msg one = *m;
        one.buf = m->buf + off;
        one.len = m->len - off < m->segsize ? m->len - off : m->segsize;
        one.segsize = 0;
        int r = lwq_udp_send(u, &one, 1);
        if (r <= 0)
            return r;
    }
    return 1;
}

int lwq_udp_send(lwq_udp *u, const lwq_udp_msg *msgs, size_t n)
{
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    lwq_addr peers[BATCH];
    union {
        uint8_t buf[CMSG_SPACE_ALL];
        struct cmsghdr align;
    } ctl[BATCH];
    if (n > BATCH)
        n = BATCH;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].segsize && msgs[i].segsize < msgs[i].len && !u->gso) {
            /* No GSO: everything before goes first, then this train datagram by datagram. */
            if (i > 0)
                return lwq_udp_send(u, msgs, i);
            return send_split(u, &msgs[0]);
        }
    }
    memset(mm, 0, n * sizeof(mm[0]));
    for (size_t i = 0; i < n; i++) {
        to_socket_family(u, &msgs[i].peer, &peers[i]);
        iov[i].iov_base = msgs[i].buf;
        iov[i].iov_len = msgs[i].len;
        mm[i].msg_hdr.msg_name = &peers[i].ss;
        mm[i].msg_hdr.msg_namelen = peers[i].len;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_control = ctl[i].buf;
        mm[i].msg_hdr.msg_controllen =
            build_cmsgs(u, &msgs[i], peers[i].ss.ss_family == AF_INET6 && !is_v4mapped(&peers[i]), ctl[i].buf,
                        sizeof(ctl[i].buf), u->gso);
        if (!mm[i].msg_hdr.msg_controllen)
            mm[i].msg_hdr.msg_control = NULL;
    }
    int r;
    do {
        r = sendmmsg(u->fd, mm, (unsigned)n, 0);
    } while (r < 0 && errno == EINTR);
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        return 0;
    if ((errno == EIO || errno == EINVAL) && msgs[0].segsize && msgs[0].segsize < msgs[0].len) {
        /* The device cannot segment (e.g. no checksum offload): fall back for good. */
        u->gso = 0;
        return send_split(u, &msgs[0]);
    }
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EMSGSIZE)
        return 1; /* that datagram is lost; QUIC recovers. Report it as handled so the batch moves on. */
    return LWQ_ERR_IO;
}
