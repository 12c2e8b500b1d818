/* Handshake flood for tests/load/initial_flood.sh: real client Initials (a fresh connection each, so
 * every one costs the server a full ClientHello) sent from 127.0.0.2 .. 127.0.0.(1+ADDRS) to a server,
 * for SECONDS or COUNT datagrams, whichever ends first. It never answers: neither a Retry nor the
 * server's handshake. Prints what it sent and what came back.
 *   initial-flood HOST PORT SECONDS COUNT ADDRS */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/quic.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: initial-flood HOST PORT SECONDS COUNT ADDRS\n");
        return 2;
    }
    double seconds = atof(argv[3]);
    long count = atol(argv[4]);
    int addrs = atoi(argv[5]);
    if (seconds <= 0 || count <= 0 || addrs < 1 || addrs > 250) {
        fprintf(stderr, "initial-flood: SECONDS > 0, COUNT > 0, 1 <= ADDRS <= 250\n");
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        fprintf(stderr, "initial-flood: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int *fds = calloc((size_t)addrs, sizeof(int));
    for (int i = 0; i < addrs; i++) {
        struct sockaddr_in from = {.sin_family = AF_INET};
        from.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i);
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&from, sizeof(from))) {
            perror("initial-flood: socket");
            return 1;
        }
    }
    static const char *alpn[] = {"h3"};
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    cfg.insecure = 1; /* it never gets that far */
    cfg.server_name = "localhost";
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    lwq_context *ctx;
    const char *why = NULL;
    if (lwq_context_new(&ctx, &cfg, &why)) {
        fprintf(stderr, "initial-flood: %s\n", why ? why : "context");
        return 1;
    }
    lwq_path path;
    memset(&path, 0, sizeof(path));
    memcpy(&path.remote, &to, sizeof(to));
    path.remote_len = sizeof(to);
    long sent = 0, answers = 0;
    uint64_t answer_bytes = 0;
    double start = now_s();
    uint8_t buf[1500];
    while (sent < count && now_s() - start < seconds) {
        lwq_conn *c;
        lwq_tstamp t = (lwq_tstamp)(now_s() * 1e9);
        if (lwq_conn_client_new(&c, ctx, &path, NULL, 0, NULL, 0, t))
            break;
        lwq_path out;
        size_t seg;
        uint8_t ecn;
        ssize_t n = lwq_conn_send(c, &out, buf, sizeof(buf), 1, &seg, &ecn, t);
        lwq_conn_del(c);
        int fd = fds[sent % addrs];
        if (n > 0 && sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) == n)
            sent++;
        for (int i = 0; i < addrs; i++) {
            ssize_t r;
            while ((r = recv(fds[i], buf, sizeof(buf), 0)) > 0) {
                answers++;
                answer_bytes += (uint64_t)r;
            }
        }
    }
    double took = now_s() - start;
    printf("initial-flood: %ld Initials (%.0f/s) from %d addresses in %.1f s; %ld datagrams back (%llu bytes)\n",
           sent, (double)sent / took, addrs, took, answers, (unsigned long long)answer_bytes);
    lwq_context_del(ctx);
    for (int i = 0; i < addrs; i++)
        close(fds[i]);
    free(fds);
    return 0;
}
