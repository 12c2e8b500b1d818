/* One direction of a simulated link: decides the fate and arrival time of each datagram offered to it. */
#ifndef LWQ_SIM_LINK_H
#define LWQ_SIM_LINK_H

#include <stdio.h>
#include <sys/socket.h>
#include "lwquic/common.h"

/* A simulated endpoint address: IPv4 10.0.0.<host>:<port>. */
typedef struct lwq_sim_addr {
    uint8_t host;
    uint16_t port;
} lwq_sim_addr;

int lwq_sim_addr_eq(lwq_sim_addr a, lwq_sim_addr b);
/* Fills ss with 10.0.0.<host>:<port> and returns its length. */
socklen_t lwq_sim_addr_to_sockaddr(lwq_sim_addr a, struct sockaddr_storage *ss);
/* LWQ_ERR_INVAL unless sa is an IPv4 address in 10.0.0.0/24. */
int lwq_sim_addr_from_sockaddr(lwq_sim_addr *a, const struct sockaddr *sa);
/* "10.0.0.<host>:<port>" into buf (at least 22 bytes); returns buf. */
const char *lwq_sim_addr_str(lwq_sim_addr a, char *buf, size_t cap);

/* xoshiro256** seeded through splitmix64: every random choice of a run comes from one of these. */
typedef struct lwq_sim_prng {
    uint64_t s[4];
    lwq_rng rng;
} lwq_sim_prng;

/* Independent streams for one seed: (seed, 1), (seed, 2), ... */
void lwq_sim_prng_seed(lwq_sim_prng *p, uint64_t seed, uint64_t stream);
uint64_t lwq_sim_prng_next(lwq_sim_prng *p);
/* Uniform in [0, n); n > 0. */
uint64_t lwq_sim_prng_below(lwq_sim_prng *p, uint64_t n);
/* 1 with probability `fraction` (0 never draws). */
int lwq_sim_prng_chance(lwq_sim_prng *p, double fraction);
/* The stream as an lwq_rng, to hand to a node under test. */
const lwq_rng *lwq_sim_prng_rng(lwq_sim_prng *p);

/* ECN codepoints (RFC 3168 §5) as carried in the low two bits of the IP TOS byte. */
enum { LWQ_SIM_NOT_ECT = 0, LWQ_SIM_ECT1 = 1, LWQ_SIM_ECT0 = 2, LWQ_SIM_CE = 3 };

typedef enum lwq_sim_ecn_mode {
    LWQ_SIM_ECN_PASS = 0, /* codepoint arrives as sent */
    LWQ_SIM_ECN_BLEACH,   /* every codepoint arrives as Not-ECT */
    LWQ_SIM_ECN_MARK,     /* ECT packets become CE when ce_threshold packets are queued ahead of them */
} lwq_sim_ecn_mode;

typedef enum lwq_sim_drop {
    LWQ_SIM_DROP_MTU = 0, /* larger than mtu */
    LWQ_SIM_DROP_BLACKOUT,
    LWQ_SIM_DROP_MASK, /* drop_list or drop_mask */
    LWQ_SIM_DROP_RANDOM,
    LWQ_SIM_DROP_QUEUE, /* drop-tail */
    LWQ_SIM_DROP_NAT,   /* addressed to a NAT binding that is gone (see lwq_sim_rebind) */
    LWQ_SIM_DROP_COUNT
} lwq_sim_drop;

const char *lwq_sim_drop_name(lwq_sim_drop cause);

#define LWQ_SIM_MAX_BLACKOUTS 4

/* All zero = an ideal link: no delay, infinite rate, no loss. Fractions are in [0, 1]. */
typedef struct lwq_sim_link_config {
    lwq_tstamp delay;     /* one-way propagation delay */
    lwq_tstamp jitter;    /* extra delay uniform in [0, jitter]; clamped so it never reorders */
    uint64_t rate;        /* bit/s; 0 = infinite. A datagram occupies the link for len*8/rate */
    size_t queue_packets; /* drop-tail limit on datagrams queued or in service; 0 = none */
    size_t queue_bytes;   /* same, in bytes; 0 = none */
    size_t mtu;           /* larger datagrams are dropped; 0 = none */
    double loss;          /* random loss */
    unsigned max_burst;   /* at most this many random losses in a row; 0 = no limit */
    /* Deterministic loss: ordinal k (1 = first datagram offered to this direction) is dropped
     * when listed here, or when bit (k-1) % 64 of drop_mask is set. The list is copied. */
    const uint64_t *drop_list;
    size_t drop_list_len;
    uint64_t drop_mask;
    struct {
        lwq_tstamp from, until; /* datagrams offered in [from, until) are dropped */
    } blackout[LWQ_SIM_MAX_BLACKOUTS];
    size_t blackouts;
    double reorder; /* this fraction is held back by reorder_delay, so later ones overtake */
    lwq_tstamp reorder_delay;
    double duplicate; /* this fraction arrives twice */
    double corrupt;   /* this fraction has exactly one random bit flipped */
    lwq_sim_ecn_mode ecn;
    size_t ce_threshold;
} lwq_sim_link_config;

typedef struct lwq_sim_link_stats {
    uint64_t offered, delivered, dropped[LWQ_SIM_DROP_COUNT];
    uint64_t bytes_offered, bytes_delivered;
    uint64_t duplicated, reordered, corrupted, ce_marked;
    size_t max_queue_packets, max_queue_bytes;
} lwq_sim_link_stats;

/* A datagram in the simulated network. */
typedef struct lwq_sim_pkt {
    lwq_tstamp deliver_at;
    uint64_t seq; /* breaks ties between equal deliver_at: first scheduled, first delivered */
    int link;
    lwq_sim_addr from, to;
    uint8_t ecn;
    size_t len;
    uint8_t data[];
} lwq_sim_pkt;

lwq_sim_pkt *lwq_sim_pkt_new(const lwq_allocator *a, const uint8_t *data, size_t len);

typedef struct lwq_sim_link {
    lwq_sim_link_config cfg;
    lwq_sim_link_stats stats;
    const lwq_allocator *alloc;
    lwq_sim_prng rng;
    uint64_t ordinal;         /* datagrams offered so far */
    unsigned burst;           /* current run of random losses */
    lwq_tstamp busy_until;    /* end of the last serialization */
    lwq_tstamp last_delivery; /* latest in-order arrival, for jitter without reordering */
    struct lwq_sim_slot {
        lwq_tstamp end;
        size_t len;
    } * queue; /* serialization end times of datagrams queued or in service, oldest first */
    size_t q_head, q_len, q_cap, q_bytes;
    FILE *pcap;
    uint16_t ip_id;
    struct lwq_sim_link *share; /* the bottleneck whose queue and rate this direction uses; NULL = own */
} lwq_sim_link;

/* LWQ_ERR_INVAL for a nonsensical config (fraction out of range, reorder without reorder_delay). */
int lwq_sim_link_init(lwq_sim_link *l, const lwq_sim_link_config *cfg, uint64_t seed, uint64_t stream,
                      const lwq_allocator *a);
void lwq_sim_link_free(lwq_sim_link *l);

/* Offers pkt at `now`; the link takes ownership. Returns how many copies will arrive (0, 1 or 2),
 * stored in out[] with deliver_at set, or LWQ_ERR_NOMEM (pkt freed). */
int lwq_sim_link_offer(lwq_sim_link *l, lwq_sim_pkt *pkt, lwq_tstamp now, lwq_sim_pkt *out[2]);
/* From now on `l` queues into `bottleneck`'s queue at `bottleneck`'s rate and queue limits (a shared
 * router port: several flows meet there); loss, delay and the rest stay `l`'s own. Queue drops count
 * in `l`'s stats, the queue peak in `bottleneck`'s. NULL: back to its own queue. */
void lwq_sim_link_share(lwq_sim_link *l, lwq_sim_link *bottleneck);
/* Called by the loop when a copy reaches the receiver: counts it and writes it to the pcap. */
void lwq_sim_link_delivered(lwq_sim_link *l, const lwq_sim_pkt *pkt);
/* Called by the loop when a copy is lost after leaving the link (cause LWQ_SIM_DROP_NAT). */
void lwq_sim_link_dropped(lwq_sim_link *l, const lwq_sim_pkt *pkt, lwq_sim_drop cause);

/* Record every delivered datagram of this direction to f as a pcap (LINKTYPE_RAW, synthesized
 * IPv4 + UDP headers, nanosecond timestamps). Writes the file header now; the caller closes f. */
int lwq_sim_link_pcap(lwq_sim_link *l, FILE *f);

#endif
