/* A minimal sans-IO client: the program owns the UDP socket and the clock, lwquic only turns
 * datagrams and time into datagrams and events. Fetches one path over HTTP/0.9 (ALPN hq-interop)
 * and writes the body to stdout.
 *   usage: sansio_client HOST PORT PATH [CA_FILE]     (no CA_FILE: the certificate is not checked) */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/quic.h"

static lwq_tstamp now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (lwq_tstamp)ts.tv_sec * LWQ_SEC + (lwq_tstamp)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT PATH [CA_FILE]\n", argv[0]);
        return 2;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) {
        fprintf(stderr, "cannot resolve %s\n", argv[1]);
        return 1;
    }
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        perror("socket");
        return 1;
    }
    lwq_path path;
    memset(&path, 0, sizeof(path));
    memcpy(&path.remote, ai->ai_addr, ai->ai_addrlen);
    path.remote_len = ai->ai_addrlen;
    path.local_len = sizeof(path.local);
    getsockname(fd, (struct sockaddr *)&path.local, &path.local_len);
    freeaddrinfo(ai);

    static const char *alpn[] = {"hq-interop"};
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.server_name = argv[1];
    cfg.ca_file = argc > 4 ? argv[4] : NULL;
    cfg.insecure = argc <= 4;
    lwq_context *ctx;
    const char *why = NULL;
    lwq_conn *c;
    if (lwq_context_new(&ctx, &cfg, &why) != 0 || lwq_conn_client_new(&c, ctx, &path, NULL, 0, NULL, 0, now()) != 0) {
        fprintf(stderr, "cannot start: %s\n", why ? why : "connection");
        return 1;
    }
    uint8_t buf[65536];
    int64_t stream = -1;
    int ok = 0;
    while (!lwq_conn_is_closed(c)) {
        /* 1. act on the connection's events */
        lwq_event ev;
        ssize_t n;
        while (lwq_conn_next_event(c, &ev)) {
            if (ev.type == LWQ_EV_HANDSHAKE_DONE && lwq_stream_open(c, 1, &stream) == 0) {
                char req[1100];
                int len = snprintf(req, sizeof(req), "GET %s\r\n", argv[3]);
                lwq_stream_write(c, stream, (const uint8_t *)req, (size_t)len, 1);
            } else if (ev.type == LWQ_EV_STREAM_READABLE && ev.stream_id == stream) {
                int fin = 0;
                while (!fin && (n = lwq_stream_read(c, stream, buf, sizeof(buf), &fin)) >= 0) {
                    fwrite(buf, 1, (size_t)n, stdout);
                    if (n == 0)
                        break;
                }
                if (fin) {
                    ok = 1;
                    lwq_conn_close(c, 0, "done");
                }
            } else if (ev.type == LWQ_EV_CLOSED && !ok) {
                fprintf(stderr, "closed: %s\n", ev.close.reason);
            }
        }
        /* 2. send what that produced */
        lwq_path out;
        size_t seg;
        uint8_t ecn;
        while ((n = lwq_conn_send(c, &out, buf, sizeof(buf), 1, &seg, &ecn, now())) > 0)
            send(fd, buf, (size_t)n, 0);
        /* 3. wait for a datagram or the connection's next timer, and hand over what came */
        lwq_tstamp deadline = lwq_conn_next_timeout(c), t = now();
        int ms = deadline == LWQ_TSTAMP_INF ? 1000 : deadline <= t ? 0 : (int)((deadline - t) / LWQ_MS) + 1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) > 0) {
            while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                lwq_conn_recv(c, &path, buf, (size_t)n, 0, now());
        }
        if (now() >= lwq_conn_next_timeout(c))
            lwq_conn_handle_timeout(c, now());
    }
    lwq_conn_del(c);
    lwq_context_del(ctx);
    close(fd);
    return ok ? 0 : 1;
}
