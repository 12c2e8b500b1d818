/* Deterministic network simulator: sans-IO nodes joined by simulated links, driven by a virtual
 * clock and one seed. See tests/sim/README.md for how to write a scenario and replay a failure. */
#ifndef LWQ_SIM_H
#define LWQ_SIM_H

#include "sim/link.h"

/* What the simulator needs from an endpoint. `node` is the pointer given to lwq_sim_add_node.
 * Every callback may be NULL except send. */
typedef struct lwq_sim_node_ops {
    /* A datagram arrived. Negative = the node broke; the run fails with that code. */
    int (*recv)(void *node, lwq_sim_addr from, lwq_sim_addr to, const uint8_t *data, size_t len, uint8_t ecn,
                lwq_tstamp now);
    /* Next datagram to send now: write it to buf and set from, to (and ecn, preset to Not-ECT);
     * return its length, 0 when there is nothing to send, negative when the node broke. */
    ssize_t (*send)(void *node, uint8_t *buf, size_t cap, lwq_sim_addr *from, lwq_sim_addr *to, uint8_t *ecn,
                    lwq_tstamp now);
    /* When the node next wants on_timeout; LWQ_TSTAMP_INF for never. Never earlier than now. */
    lwq_tstamp (*next_timeout)(void *node);
    int (*on_timeout)(void *node, lwq_tstamp now);
    /* The node's own invariants, checked at every step: NULL when they hold, else what is wrong. */
    const char *(*check)(void *node, lwq_tstamp now);
} lwq_sim_node_ops;

typedef struct lwq_sim_config {
    uint64_t seed;           /* LWQ_SIM_SEED in the environment overrides it */
    uint64_t max_steps;      /* 0 = 10,000,000 */
    lwq_tstamp max_time;     /* virtual time limit; 0 = 1 hour */
    unsigned max_sends;      /* per node per step before it counts as a runaway; 0 = 10,000 */
    size_t max_datagram;     /* send buffer size; 0 = 65,507 */
    const char *replay_args; /* appended to the replay hint, e.g. "sim"; NULL = "sim" */
    int quiet;               /* do not print the failure report to stderr */
    FILE *trace;             /* one line per event, for reading a run; NULL = none */
} lwq_sim_config;

typedef struct lwq_sim_stats {
    uint64_t steps, sent, delivered, timeouts, unroutable;
} lwq_sim_stats;

typedef struct lwq_sim lwq_sim;

/* The config is copied. NULL on allocation failure or a nonsensical config. */
lwq_sim *lwq_sim_new(const lwq_sim_config *cfg, const lwq_allocator *a);
void lwq_sim_del(lwq_sim *sim);

/* Returns the node index (0, 1, ...; at most 16 nodes and 32 link directions). The node keeps
 * receiving at `addr` unless rebound. */
int lwq_sim_add_node(lwq_sim *sim, lwq_sim_addr addr, const lwq_sim_node_ops *ops, void *node);
/* The direction from node `from` to node `to`; returns the link index. One link per ordered pair. */
int lwq_sim_add_link(lwq_sim *sim, int from, int to, const lwq_sim_link_config *cfg);
/* NAT rebinding (RFC 9000 §9.3): from `at` on, datagrams node `node` sends leave with source
 * `outside`, datagrams to `outside` reach it, and datagrams to its previous address are dropped. */
int lwq_sim_rebind(lwq_sim *sim, int node, lwq_sim_addr outside, lwq_tstamp at);

/* Runs events until done(ud) is true (0), until the next event lies beyond `until` (0; the clock
 * stops at `until`), or until nothing is left to happen: 0 when done is NULL, else LWQ_ERR_AGAIN.
 * A failure (node error, failed check, timer in the past, runaway sender, step or time limit)
 * returns a negative code and prints the report with the seed and a replay hint. */
int lwq_sim_run(lwq_sim *sim, lwq_tstamp until, int (*done)(void *ud), void *ud);

lwq_tstamp lwq_sim_now(const lwq_sim *sim);
uint64_t lwq_sim_seed(const lwq_sim *sim);
/* Hash of every event so far: two runs with the same seed must agree. */
uint64_t lwq_sim_trace_hash(const lwq_sim *sim);
const lwq_sim_stats *lwq_sim_stats_get(const lwq_sim *sim);
lwq_sim_link *lwq_sim_link_get(lwq_sim *sim, int link);
/* The last failure report, "" when none. */
const char *lwq_sim_report(const lwq_sim *sim);
/* One line per link direction: offered, delivered, drops by cause, queue peak. */
void lwq_sim_print_stats(const lwq_sim *sim, FILE *f);
/* The address node `node` is currently seen at by others. */
lwq_sim_addr lwq_sim_node_addr(const lwq_sim *sim, int node);

#endif
