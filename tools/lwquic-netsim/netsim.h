/* lwquic-netsim: a UDP relay that replays the QUIC interop runner's network on loopback
 * (docs/interop.md). This header is the pure part (link model, impairments, option parsing,
 * pcap records), unit-tested in tests/unit/test_netsim.c; main.c owns the sockets and timers. */
#ifndef LWQ_NETSIM_H
#define LWQ_NETSIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NS_MAX_DROPLIST 64

/* Deterministic generator (xorshift64*), seeded from the command line so a run can be replayed. */
typedef struct ns_rng {
    uint64_t s;
} ns_rng;
void ns_rng_seed(ns_rng *r, uint64_t seed);
uint64_t ns_rng_next(ns_rng *r);
/* Uniform in [0, n), n > 0. */
uint32_t ns_rng_below(ns_rng *r, uint32_t n);

/* A bottleneck in one direction: drop-tail FIFO of `queue` datagrams plus one in service,
 * serialised at `rate_bps` counting the IP size, then a fixed one-way delay. Times in ns. */
#define NS_LINK_RING 1024
typedef struct ns_link {
    uint64_t rate_bps;
    uint64_t delay;
    unsigned queue;
    uint64_t busy_until;            /* when the serialiser finishes the last admitted datagram */
    uint64_t finish[NS_LINK_RING];  /* serialisation end of datagrams still in the system */
    unsigned head, count;
} ns_link;
void ns_link_init(ns_link *l, uint64_t rate_bps, uint64_t delay_ns, unsigned queue);
/* Admits a datagram of ip_len bytes arriving at now: returns its delivery time, or 0 for a tail drop. */
uint64_t ns_link_admit(ns_link *l, uint64_t now, size_t ip_len);
/* Datagrams waiting or in service at now. */
unsigned ns_link_backlog(ns_link *l, uint64_t now);

/* The crosstraffic competitor: a window-based flow from the server side to the client side through the
 * same bottleneck for the whole run, standing in for the runner's iperf TCP cubic flow (approximate: slow
 * start, then +1 datagram per window per round trip, times 0.7 on a tail drop at most once per round
 * trip; its 1500-byte datagrams take link time and queue slots and are never delivered or traced). */
#define NS_CROSS_MAX 1000
typedef struct ns_cross {
    double cwnd, ssthresh;           /* in datagrams */
    unsigned inflight;
    uint64_t rtt;                    /* the path's two-way delay: at most one cut per this */
    uint64_t last_cut;
    uint64_t acks[NS_LINK_RING];     /* when each datagram in flight is acknowledged, in order */
    unsigned ahead;
    uint64_t sent, dropped;
} ns_cross;
void ns_cross_init(ns_cross *x, uint64_t rtt_ns);
/* Takes the acknowledgements due by now, then sends into l as far as the window allows. Returns when it
 * next needs a call (its next acknowledgement, or 1 ms later with nothing in flight). */
uint64_t ns_cross_run(ns_cross *x, ns_link *l, uint64_t now);

/* Random loss or corruption with a cap on consecutive hits (the ns-3 scenarios' rule). */
typedef struct ns_burst {
    uint32_t permille; /* rate as per mille of datagrams, 0 = off */
    unsigned burst;    /* at most this many in a row; 0 = no cap */
    unsigned run;
} ns_burst;
/* 1 when this datagram is hit. */
int ns_burst_hit(ns_burst *b, ns_rng *r);

typedef struct ns_dir_cfg {
    ns_burst drop, corrupt;
    int corrupt_drops; /* a corrupted datagram is dropped instead of forwarded */
    uint32_t droplist[NS_MAX_DROPLIST];
    size_t ndroplist;
    uint64_t seen; /* datagrams that reached this direction, for the droplist (1-based) */
} ns_dir_cfg;

enum { NS_PASS = 0, NS_DROP_LOSS, NS_DROP_LIST, NS_DROP_CORRUPT, NS_CORRUPTED, NS_DROP_BLACKHOLE };
/* Applies the direction's impairments to one datagram (may modify it): NS_PASS, NS_CORRUPTED
 * (forward the modified bytes) or a drop reason. */
int ns_impair(ns_dir_cfg *d, ns_rng *r, uint8_t *p, size_t n);
/* A QUIC Version Negotiation packet (long header, version 0): corruption never touches it. */
int ns_is_vn(const uint8_t *p, size_t n);

/* Blackhole: both directions dropped in [start+on, start+on+off), once. */
typedef struct ns_blackhole {
    uint64_t on, off;
} ns_blackhole;
int ns_blackhole_active(const ns_blackhole *b, uint64_t start, uint64_t now);

/* A datagram leaving the bottleneck at now, on the receiving side (where ns-3's error models sit, so a
 * datagram lost there still took its link time and queue slot): the blackhole, timed from the simulator's
 * start, then the direction's impairments (its droplist counts datagrams that got this far). NS_PASS,
 * NS_CORRUPTED (forward the modified bytes) or a drop reason. */
int ns_arrive(ns_dir_cfg *d, ns_rng *r, const ns_blackhole *bh, uint64_t start, uint64_t now, uint8_t *p, size_t n);

/* Option values: "30,3" (percent, burst), "2,3,4" (list), "5,2" (seconds). Return 0 or -1. */
int ns_parse_burst(const char *s, ns_burst *out);
int ns_parse_list(const char *s, uint32_t *out, size_t cap, size_t *n);
/* "A,B[,addr]" with A, B seconds (fractions allowed): *flag is 1 when ",addr" follows. */
int ns_parse_times(const char *s, uint64_t *a, uint64_t *b, int *flag);

/* pcap with LINKTYPE_RAW: each datagram gets a synthesized IPv4/IPv6 + UDP header. */
typedef struct ns_ep {
    int v6;
    uint8_t ip[16]; /* v4 in the first 4 bytes */
    uint16_t port;
} ns_ep;
int ns_pcap_header(FILE *f);
/* Writes one record at wall-clock time ns (since the epoch); ecn goes into the TOS/traffic class. */
int ns_pcap_record(FILE *f, uint64_t ns, const ns_ep *src, const ns_ep *dst, uint8_t ecn, const uint8_t *p, size_t n);
/* Synthesizes the IP+UDP header into hdr (48 bytes room); returns its length. */
size_t ns_ip_udp_header(uint8_t *hdr, const ns_ep *src, const ns_ep *dst, uint8_t ecn, const uint8_t *p, size_t n);

#endif
