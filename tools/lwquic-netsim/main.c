/* lwquic-netsim: the interop runner's network between a client and a server on loopback.
 * Clients send to the front port (127.0.0.1 and [::1]); each client flow gets a back socket of
 * its own towards the server. Both directions go through the link model and impairments of
 * netsim.h; both pcaps are written with the runner's addresses (docs/interop.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "io/udp.h"
#include "lwquic-netsim/netsim.h"

#define MAX_FLOWS 4096
#define MAX_FRONTS 4
#define RECV_BATCH 16
#define RECV_BUF 65536

enum { TO_SERVER, TO_CLIENT };
enum { K_FRONT = 1, K_BACK, K_TIMER, K_SIGNAL };
enum { ST_FWD, ST_LOSS, ST_LIST, ST_CORRUPT_DROP, ST_CORRUPTED, ST_TAIL, ST_MTU, ST_BLACKHOLE, ST_SENDFAIL, ST_N };
static const char *stat_names[ST_N] = {"forwarded", "lost", "droplist", "corrupt-dropped", "corrupted",
                                       "tail-dropped", "over-mtu", "blackholed", "send-failed"};

typedef struct front {
    lwq_udp u;
    lwq_addr server;
    uint16_t trace_port; /* 443, or 4433 for the preferred address */
} front;

typedef struct flow {
    front *fr;
    lwq_addr client;
    lwq_udp back;
    unsigned gen;     /* 0 until the first rebind: the runner's first NAT mapping is the identity */
    uint8_t nat_host; /* last octet of the client's address in the right trace */
} flow;

typedef struct pkt {
    struct pkt *next;
    uint64_t due;
    flow *f;
    uint8_t ecn;
    size_t len;
    uint8_t data[];
} pkt;

typedef struct dir {
    ns_link link;
    ns_dir_cfg cfg;
    pkt *head, *tail;
    uint64_t stats[ST_N];
} dir;

typedef struct relay {
    int ep, tfd, sfd;
    front fronts[MAX_FRONTS];
    size_t nfronts;
    flow *flows[MAX_FLOWS];
    size_t nflows;
    dir dirs[2];
    ns_rng rng;
    ns_blackhole bh;
    ns_cross cross;
    int cross_on;
    uint64_t cross_next;
    uint64_t rebind_first, rebind_every, next_rebind;
    int rebind_addr;
    const char *server_host; /* --server-host: an IPv4 server off loopback (a network namespace lab) */
    uint64_t t0; /* the simulator's start: blackhole and rebind timers count from here, as in ns-3 */
    uint64_t mono0, wall0;
    size_t mtu;
    FILE *left, *right;
} relay;

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall(const relay *r, uint64_t mono) { return r->wall0 + (mono - r->mono0); }

static void trace_eps(const flow *f, int right, ns_ep *client, ns_ep *server)
{
    int v6 = f->client.ss.ss_family == AF_INET6;
    static const uint8_t c6[16] = {0xfd, 0, 0xca, 0xfe, 0xca, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0},
                         s6[16] = {0xfd, 0, 0xca, 0xfe, 0xca, 0xfe, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01, 0};
    memset(client, 0, sizeof(*client));
    memset(server, 0, sizeof(*server));
    client->v6 = server->v6 = v6;
    if (v6) {
        memcpy(client->ip, c6, 16); /* fd00:cafe:cafe:0::100 */
        memcpy(server->ip, s6, 16); /* fd00:cafe:cafe:100::100 */
    } else {
        static const uint8_t c4[4] = {193, 167, 0, 100}, s4[4] = {193, 167, 100, 100};
        memcpy(client->ip, c4, 4);
        memcpy(server->ip, s4, 4);
    }
    client->port = lwq_addr_port(&f->client);
    if (right && f->gen) {
        client->port = lwq_addr_port(&f->back.local);
        if (!v6)
            client->ip[3] = f->nat_host;
    }
    server->port = f->fr->trace_port;
}

static void trace(relay *r, int right, int to_server, const flow *f, uint64_t now, uint8_t ecn, const uint8_t *p,
                  size_t n)
{
    FILE *out = right ? r->right : r->left;
    ns_ep c, s;
    if (!out)
        return;
    trace_eps(f, right, &c, &s);
    if (ns_pcap_record(out, wall(r, now), to_server ? &c : &s, to_server ? &s : &c, ecn, p, n))
        fprintf(stderr, "lwquic-netsim: pcap write failed: %s\n", strerror(errno));
}

static int epoll_add(relay *r, int fd, uint32_t kind, uint32_t idx)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 | idx};
    return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* A back socket on 127.0.0.HOST (v4) or ::1, random port. */
static int open_back(relay *r, flow *f, uint8_t host, size_t idx)
{
    lwq_addr a;
    char s[64];
    if (f->client.ss.ss_family == AF_INET6)
        snprintf(s, sizeof(s), "[::1]:0");
    else if (r->server_host)
        snprintf(s, sizeof(s), "0.0.0.0:0"); /* the kernel picks the source address toward the server */
    else
        snprintf(s, sizeof(s), "127.0.0.%u:0", host == 100 ? 1 : host);
    if (lwq_addr_parse(&a, s, 0) || lwq_udp_open(&f->back, &a))
        return -1;
    f->nat_host = host;
    return epoll_add(r, f->back.fd, K_BACK, (uint32_t)idx);
}

static flow *find_flow(relay *r, front *fr, const lwq_addr *client)
{
    for (size_t i = 0; i < r->nflows; i++)
        if (r->flows[i]->fr == fr && lwq_addr_equal(&r->flows[i]->client, client))
            return r->flows[i];
    if (r->nflows == MAX_FLOWS)
        return NULL;
    flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->fr = fr;
    f->client = *client;
    if (open_back(r, f, 100, r->nflows)) {
        fprintf(stderr, "lwquic-netsim: back socket: %s\n", strerror(errno));
        free(f);
        return NULL;
    }
    r->flows[r->nflows++] = f;
    return f;
}

/* The NAT gives every flow a new port (and with addr a new 127.0.0.x); the old socket closes, so
 * the server's replies to the old binding are lost. */
static void rebind(relay *r)
{
    for (size_t i = 0; i < r->nflows; i++) {
        flow *f = r->flows[i];
        lwq_udp old = f->back;
        uint8_t host = f->nat_host;
        if (r->rebind_addr)
            while (host == f->nat_host || host == 1)
                host = (uint8_t)(2 + ns_rng_below(&r->rng, 253));
        if (open_back(r, f, host, i)) {
            fprintf(stderr, "lwquic-netsim: rebind: %s\n", strerror(errno));
            f->back = old;
            continue;
        }
        f->gen++;
        epoll_ctl(r->ep, EPOLL_CTL_DEL, old.fd, NULL);
        lwq_udp_close(&old);
    }
}

static void ingress(relay *r, int d, flow *f, uint64_t now, uint8_t ecn, uint8_t *p, size_t n)
{
    dir *dr = &r->dirs[d];
    int v6 = f->client.ss.ss_family == AF_INET6;
    if (n > r->mtu - (v6 ? 48 : 28)) {
        dr->stats[ST_MTU]++; /* the sender's 1500-byte link would refuse it */
        return;
    }
    trace(r, d == TO_CLIENT, d == TO_SERVER, f, now, ecn, p, n);
    uint64_t due = ns_link_admit(&dr->link, now, n + (v6 ? 48 : 28));
    if (!due) {
        dr->stats[ST_TAIL]++;
        return;
    }
    pkt *k = malloc(sizeof(*k) + n);
    if (!k)
        return;
    k->next = NULL;
    k->due = due;
    k->f = f;
    k->ecn = ecn;
    k->len = n;
    memcpy(k->data, p, n);
    if (dr->tail)
        dr->tail->next = k;
    else
        dr->head = k;
    dr->tail = k;
}

static void deliver(relay *r, int d, uint64_t now)
{
    dir *dr = &r->dirs[d];
    while (dr->head && dr->head->due <= now) {
        pkt *k = dr->head;
        dr->head = k->next;
        if (!dr->head)
            dr->tail = NULL;
        flow *f = k->f;
        /* impairments at the receiving side, after the bottleneck */
        int st = -1;
        switch (ns_arrive(&dr->cfg, &r->rng, &r->bh, r->t0, now, k->data, k->len)) {
        case NS_DROP_BLACKHOLE: st = ST_BLACKHOLE; break;
        case NS_DROP_LOSS: st = ST_LOSS; break;
        case NS_DROP_LIST: st = ST_LIST; break;
        case NS_DROP_CORRUPT: st = ST_CORRUPT_DROP; break;
        case NS_CORRUPTED: dr->stats[ST_CORRUPTED]++; break;
        default: break;
        }
        if (st >= 0) {
            dr->stats[st]++;
            free(k);
            continue;
        }
        lwq_udp_msg m = {.buf = k->data, .len = k->len, .ecn = k->ecn};
        lwq_udp *u;
        if (d == TO_SERVER) {
            m.peer = f->fr->server;
            u = &f->back;
        } else {
            m.peer = f->client;
            u = &f->fr->u;
        }
        if (lwq_udp_send(u, &m, 1) == 1) {
            dr->stats[ST_FWD]++;
            trace(r, d == TO_SERVER, d == TO_SERVER, f, now, k->ecn, k->data, k->len);
        } else {
            dr->stats[ST_SENDFAIL]++;
        }
        free(k);
    }
}

static void arm(relay *r)
{
    uint64_t next = 0;
    for (int d = 0; d < 2; d++)
        if (r->dirs[d].head && (!next || r->dirs[d].head->due < next))
            next = r->dirs[d].head->due;
    if (r->next_rebind && (!next || r->next_rebind < next))
        next = r->next_rebind;
    if (r->cross_next && (!next || r->cross_next < next))
        next = r->cross_next;
    struct itimerspec its = {{0, 0}, {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)}};
    timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_readable(relay *r, int kind, uint32_t idx)
{
    static uint8_t bufs[RECV_BATCH][RECV_BUF];
    lwq_udp_msg msgs[RECV_BATCH];
    lwq_udp *u;
    if (kind == K_FRONT)
        u = &r->fronts[idx].u;
    else if (idx < r->nflows)
        u = &r->flows[idx]->back;
    else
        return;
    for (;;) {
        for (int i = 0; i < RECV_BATCH; i++) {
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].buf = bufs[i];
            msgs[i].len = RECV_BUF;
        }
        int n = lwq_udp_recv(u, msgs, RECV_BATCH);
        if (n <= 0)
            return;
        uint64_t now = mono_now();
        for (int i = 0; i < n; i++) {
            flow *f = kind == K_FRONT ? find_flow(r, &r->fronts[idx], &msgs[i].peer) : r->flows[idx];
            if (!f)
                continue;
            size_t seg = msgs[i].segsize ? msgs[i].segsize : msgs[i].len;
            for (size_t off = 0; off < msgs[i].len; off += seg) {
                size_t len = msgs[i].len - off < seg ? msgs[i].len - off : seg;
                ingress(r, kind == K_FRONT ? TO_SERVER : TO_CLIENT, f, now, msgs[i].ecn, msgs[i].buf + off, len);
            }
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lwquic-netsim --listen PORT --server PORT [--listen2 PORT --server2 PORT]\n"
            "         [--left PCAP] [--right PCAP] [--delay MS] [--rate MBIT] [--queue N] [--mtu N]\n"
            "         [--drop P,BURST] [--corrupt P,BURST] [--corrupt-drops] [--droplist-to-server I,J..]\n"
            "         [--droplist-to-client I,J..] [--blackhole ON,OFF] [--rebind FIRST,EVERY[,addr]] [--cross]\n"
            "         [--seed N] [-q] [--server-host IPV4]\n"
            "Relays UDP from 127.0.0.1:PORT and [::1]:PORT to the server on loopback through the runner's link\n"
            "model (defaults: 15 ms, 10 Mbit/s, 25 packets, MTU 1500); times in seconds unless noted. --cross: a\n"
            "window-based competitor from the server side for the whole run (crosstraffic, approximate).\n"
            "--server-host relays 127.0.0.1:PORT to IPV4 instead (e.g. in a network namespace; the NAT then\n"
            "rebinds ports only).\n");
}

static int open_front(relay *r, unsigned port, unsigned server_port, uint16_t trace_port)
{
    static const char *hosts[2] = {"127.0.0.1", "[::1]"};
    for (int i = 0; i < 2; i++) {
        front *fr = &r->fronts[r->nfronts];
        char s[64];
        lwq_addr a;
        snprintf(s, sizeof(s), "%s:%u", hosts[i], port);
        if (lwq_addr_parse(&a, s, 0) || lwq_udp_open(&fr->u, &a)) {
            fprintf(stderr, "lwquic-netsim: cannot bind %s: %s\n", s, strerror(errno));
            return -1;
        }
        if (r->server_host && i == 0)
            snprintf(s, sizeof(s), "%s:%u", r->server_host, server_port);
        else
            snprintf(s, sizeof(s), "%s:%u", hosts[i], server_port);
        if (lwq_addr_parse(&fr->server, s, 0)) {
            fprintf(stderr, "lwquic-netsim: bad server address %s\n", s);
            return -1;
        }
        fr->trace_port = trace_port;
        if (epoll_add(r, fr->u.fd, K_FRONT, (uint32_t)r->nfronts))
            return -1;
        r->nfronts++;
    }
    return 0;
}

static int parse_opts(relay *r, int argc, char **argv, unsigned ports[4], int *quiet, const char **left,
                      const char **right)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},        {"server", required_argument, NULL, 's'},
        {"listen2", required_argument, NULL, 'L'},       {"server2", required_argument, NULL, 'S'},
        {"left", required_argument, NULL, 'a'},          {"right", required_argument, NULL, 'b'},
        {"delay", required_argument, NULL, 'd'},         {"rate", required_argument, NULL, 'r'},
        {"queue", required_argument, NULL, 'n'},         {"mtu", required_argument, NULL, 'm'},
        {"drop", required_argument, NULL, 'D'},          {"corrupt", required_argument, NULL, 'C'},
        {"corrupt-drops", no_argument, NULL, 'X'},       {"droplist-to-server", required_argument, NULL, '1'},
        {"droplist-to-client", required_argument, NULL, '2'}, {"blackhole", required_argument, NULL, 'B'},
        {"rebind", required_argument, NULL, 'R'},        {"seed", required_argument, NULL, 'x'},
        {"cross", no_argument, NULL, 'c'},               {"server-host", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0}};
    double delay_ms = 15, rate = 10;
    unsigned queue = 25;
    int c, flag;
    ns_burst b;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': ports[0] = (unsigned)atoi(optarg); break;
        case 's': ports[1] = (unsigned)atoi(optarg); break;
        case 'L': ports[2] = (unsigned)atoi(optarg); break;
        case 'S': ports[3] = (unsigned)atoi(optarg); break;
        case 'a': *left = optarg; break;
        case 'b': *right = optarg; break;
        case 'd': delay_ms = atof(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'n': queue = (unsigned)atoi(optarg); break;
        case 'm': r->mtu = (size_t)atoi(optarg); break;
        case 'D':
        case 'C':
            if (ns_parse_burst(optarg, &b))
                goto bad;
            r->dirs[0].cfg.drop = c == 'D' ? b : r->dirs[0].cfg.drop;
            r->dirs[1].cfg.drop = c == 'D' ? b : r->dirs[1].cfg.drop;
            r->dirs[0].cfg.corrupt = c == 'C' ? b : r->dirs[0].cfg.corrupt;
            r->dirs[1].cfg.corrupt = c == 'C' ? b : r->dirs[1].cfg.corrupt;
            break;
        case 'X': r->dirs[0].cfg.corrupt_drops = r->dirs[1].cfg.corrupt_drops = 1; break;
        case '1':
        case '2': {
            ns_dir_cfg *d = &r->dirs[c == '1' ? TO_SERVER : TO_CLIENT].cfg;
            if (ns_parse_list(optarg, d->droplist, NS_MAX_DROPLIST, &d->ndroplist))
                goto bad;
            break;
        }
        case 'B':
            if (ns_parse_times(optarg, &r->bh.on, &r->bh.off, &flag) || flag)
                goto bad;
            break;
        case 'R':
            if (ns_parse_times(optarg, &r->rebind_first, &r->rebind_every, &r->rebind_addr))
                goto bad;
            break;
        case 'x': ns_rng_seed(&r->rng, strtoull(optarg, NULL, 0)); break;
        case 'H': r->server_host = optarg; break;
        case 'c': r->cross_on = 1; break;
        case 'q': *quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc || !ports[0] || !ports[1] || ports[0] > 65535 || ports[1] > 65535 || ports[2] > 65535 ||
        ports[3] > 65535 || !ports[2] != !ports[3] || r->mtu < 100 || r->mtu > 65535 || rate < 0 || delay_ms < 0 ||
        queue < 1 || queue >= NS_LINK_RING || (r->server_host && r->rebind_addr)) {
        usage(stderr);
        return -1;
    }
    for (int d = 0; d < 2; d++)
        ns_link_init(&r->dirs[d].link, (uint64_t)(rate * 1e6), (uint64_t)(delay_ms * 1e6), queue);
    ns_cross_init(&r->cross, (uint64_t)(2 * delay_ms * 1e6));
    return 0;
bad:
    fprintf(stderr, "lwquic-netsim: malformed option value '%s'\n", optarg);
    return -1;
}

static FILE *open_pcap(const char *path)
{
    if (!path)
        return NULL;
    FILE *f = fopen(path, "wb");
    if (!f || ns_pcap_header(f)) {
        fprintf(stderr, "lwquic-netsim: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

int main(int argc, char **argv)
{
    static relay r;
    unsigned ports[4] = {0, 0, 0, 0};
    const char *left = NULL, *right = NULL;
    int quiet = 0;
    r.mtu = 1500;
    ns_rng_seed(&r.rng, (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
    if (parse_opts(&r, argc, argv, ports, &quiet, &left, &right))
        return 2;
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    r.sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r.ep < 0 || r.tfd < 0 || r.sfd < 0 || epoll_add(&r, r.tfd, K_TIMER, 0) || epoll_add(&r, r.sfd, K_SIGNAL, 0))
        return 1;
    if (open_front(&r, ports[0], ports[1], 443) || (ports[2] && open_front(&r, ports[2], ports[3], 4433)))
        return 1;
    r.left = open_pcap(left);
    r.right = open_pcap(right);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r.mono0 = r.t0 = mono_now();
    r.wall0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (r.rebind_every || r.rebind_first)
        r.next_rebind = r.t0 + r.rebind_first;
    if (r.cross_on)
        r.cross_next = r.t0;
    if (!quiet)
        fprintf(stderr, "lwquic-netsim: relaying port %u to %u%s\n", ports[0], ports[1],
                ports[2] ? " (and a second pair)" : "");
    for (int running = 1; running;) {
        struct epoll_event evs[16];
        int n = epoll_wait(r.ep, evs, 16, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            int kind = (int)(evs[i].data.u64 >> 32);
            uint32_t idx = (uint32_t)evs[i].data.u64;
            if (kind == K_SIGNAL) {
                running = 0;
            } else if (kind == K_TIMER) {
                uint64_t exp;
                if (read(r.tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
                    running = 0;
            } else {
                on_readable(&r, kind, idx);
            }
        }
        uint64_t now = mono_now();
        deliver(&r, TO_SERVER, now);
        deliver(&r, TO_CLIENT, now);
        if (r.cross_on && now >= r.cross_next)
            r.cross_next = ns_cross_run(&r.cross, &r.dirs[TO_CLIENT].link, now);
        if (r.next_rebind && now >= r.next_rebind) {
            rebind(&r);
            r.next_rebind = r.rebind_every ? now + r.rebind_every : 0;
        }
        arm(&r);
    }
    if (r.left)
        fclose(r.left);
    if (r.right)
        fclose(r.right);
    for (int d = 0; d < 2; d++) {
        if (quiet)
            break;
        fprintf(stderr, "lwquic-netsim: %s:", d == TO_SERVER ? "to server" : "to client");
        for (int s = 0; s < ST_N; s++)
            if (r.dirs[d].stats[s] || s == ST_FWD)
                fprintf(stderr, " %llu %s", (unsigned long long)r.dirs[d].stats[s], stat_names[s]);
        fprintf(stderr, "\n");
    }
    if (r.cross_on && !quiet)
        fprintf(stderr, "lwquic-netsim: crosstraffic: %llu sent, %llu tail-dropped\n", (unsigned long long)r.cross.sent,
                (unsigned long long)r.cross.dropped);
    return 0;
}
