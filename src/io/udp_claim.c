/* Refusing a listening address another socket holds: see lwq_udp_probe_free in udp.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/udp.h"

int lwq_udp_probe_free(const lwq_addr *a)
{
    if (!lwq_addr_port(a))
        return 0;
    int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return LWQ_ERR_IO;
    if (a->ss.ss_family == AF_INET6) {
        /* "[::]" is dual-stack like the listening sockets: an IPv4 holder counts too */
        int off = 0, on = 1;
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &on : &off, sizeof(int));
    }
    int rv = bind(fd, (const struct sockaddr *)&a->ss, a->len) == 0 ? 0
             : errno == EADDRINUSE                                 ? LWQ_ERR_ADDR_IN_USE
                                                                   : 0; /* the real bind reports it */
    int saved = errno;
    close(fd);
    errno = saved;
    return rv;
}

/* Our address as 16 bytes (IPv4 as ::ffff:a.b.c.d) and whether it is the wildcard. */
static void addr16(const lwq_addr *a, uint8_t out[16], int *any)
{
    memset(out, 0, 16);
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &s4->sin_addr, 4);
        *any = s4->sin_addr.s_addr == htonl(INADDR_ANY);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
        memcpy(out, &s6->sin6_addr, 16);
        *any = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
    }
}

/* One /proc/net/udp{,6} file: 1 when a socket other than inode `self` has port and an address that
 * overlaps ours (either is a wildcard, or they are equal). */
static int other_holder(const char *file, int v6, uint16_t port, const uint8_t ours[16], int ours_any,
                        unsigned long self)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[512], hex[40];
    unsigned p;
    unsigned long inode;
    int found = 0;
    if (!fgets(line, sizeof(line), f)) { /* the header */
        fclose(f);
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f)) {
        if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %*s %*s %lu", hex, &p, &inode) != 3 ||
            p != port || inode == self || inode == 0)
            continue;
        uint8_t theirs[16] = {0};
        int any = 1;
        size_t words = v6 ? 4 : 1;
        if (strlen(hex) != words * 8)
            continue;
        for (size_t w = 0; w < words; w++) {
            char part[9];
            memcpy(part, hex + w * 8, 8);
            part[8] = 0;
            uint32_t x = (uint32_t)strtoul(part, NULL, 16); /* the kernel prints the raw 32-bit word */
            memcpy(v6 ? theirs + 4 * w : theirs + 12, &x, 4);
        }
        if (!v6)
            theirs[10] = theirs[11] = 0xff;
        for (size_t i = v6 ? 0 : 12; i < 16; i++)
            any &= theirs[i] == 0;
        found = ours_any || any || memcmp(ours, theirs, 16) == 0;
    }
    fclose(f);
    return found;
}

int lwq_udp_check_alone(const lwq_udp *u)
{
    uint16_t port = lwq_addr_port(&u->local);
    struct stat st;
    if (!port || fstat(u->fd, &st) != 0)
        return 0;
    uint8_t ours[16];
    int any;
    addr16(&u->local, ours, &any);
    if (other_holder("/proc/net/udp", 0, port, ours, any, (unsigned long)st.st_ino) ||
        other_holder("/proc/net/udp6", 1, port, ours, any, (unsigned long)st.st_ino)) {
        errno = EADDRINUSE;
        return LWQ_ERR_ADDR_IN_USE;
    }
    return 0;
}
