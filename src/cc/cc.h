/* Congestion control behind a small vtable: the controller sees only these
 * calls and its own state, never packets or the connection (RFC 9002 §7). */
#ifndef LWQ_CC_CC_H
#define LWQ_CC_CC_H

#include "lwquic/common.h"
#include "cc/rtt.h"

typedef enum { LWQ_CC_NEWRENO = 0, LWQ_CC_CUBIC = 1 } lwq_cc_algo;

typedef struct lwq_cc lwq_cc;

typedef struct lwq_cc_ops {
    const char *name;
    /* A packet carrying `bytes` counted in flight was sent. */
    void (*on_sent)(lwq_cc *cc, size_t bytes, lwq_tstamp now);
    /* Newly acknowledged in-flight bytes of a packet sent at sent_time. app_limited: the sender was not
     * using the window when it sent the packet (RFC 9002 §7.8). */
    void (*on_acked)(lwq_cc *cc, size_t bytes, lwq_tstamp sent_time, const lwq_rtt *rtt, int app_limited,
                     lwq_tstamp now);
    /* Loss or ECN-CE of a packet sent at sent_time (RFC 9002 §7.3.2, §7.1). */
    void (*on_congestion)(lwq_cc *cc, lwq_tstamp sent_time, int ecn_ce, lwq_tstamp now);
    /* RFC 9002 §7.6.2. */
    void (*on_persistent_congestion)(lwq_cc *cc, lwq_tstamp now);
    /* Path changed or reset: back to the initial window (RFC 9000 §9.4). */
    void (*reset)(lwq_cc *cc, lwq_tstamp now);
    /* A packet declared lost was acknowledged after all (RFC 9438 §4.9); may be NULL. */
    void (*on_spurious_loss)(lwq_cc *cc, lwq_tstamp now);
} lwq_cc_ops;

/* HyStart++ (RFC 9406): leaves slow start before the queue overflows. */
typedef struct lwq_hystart {
    lwq_tstamp last_sent;   /* send time of the newest packet */
    lwq_tstamp round_end;   /* a round ends when a packet sent after this is acknowledged */
    lwq_tstamp cur_min, last_min, css_baseline;
    unsigned samples, css_rounds;
    int in_css, exits;
} lwq_hystart;

/* Cubic state (RFC 9438 §4), in bytes and seconds. */
typedef struct lwq_cubic {
    double w_max, k, w_est, cwnd_epoch, cwnd_prior, alpha;
    lwq_tstamp t_epoch; /* 0: congestion avoidance has not started an epoch */
    struct {
        uint64_t cwnd, ssthresh;
        double cwnd_prior, w_max, k, w_est;
        lwq_tstamp t_epoch;
        int valid;
    } undo;
} lwq_cubic;

struct lwq_cc {
    const lwq_cc_ops *ops;
    size_t max_datagram_size;
    uint64_t cwnd;
    uint64_t ssthresh;
    uint64_t bytes_in_flight;
    lwq_tstamp recovery_start; /* congestion_recovery_start_time; 0 = never */
    int in_recovery;
    uint64_t acked_in_ca; /* NewReno: bytes acked toward the next cwnd increase */
    uint64_t congestion_events;
    int hystart_enabled;  /* Cubic: HyStart++ in slow start (on by default) */
    lwq_hystart hs;
    lwq_cubic cubic;
};

/* RFC 9002 §7.2: min(10 * mds, max(14720, 2 * mds)). */
uint64_t lwq_cc_initial_window(size_t max_datagram_size);
static inline uint64_t lwq_cc_min_window(size_t mds) { return 2 * (uint64_t)mds; }

int lwq_cc_init(lwq_cc *cc, lwq_cc_algo algo, size_t max_datagram_size, lwq_tstamp now);
/* Bytes that may be sent now. */
static inline uint64_t lwq_cc_available(const lwq_cc *cc)
{
    return cc->bytes_in_flight < cc->cwnd ? cc->cwnd - cc->bytes_in_flight : 0;
}
/* Remove bytes from flight without a signal (packets discarded with their keys, RFC 9002 §6.4). */
void lwq_cc_discard(lwq_cc *cc, size_t bytes);
/* Lost packets leave flight before on_congestion is called. */
void lwq_cc_on_lost(lwq_cc *cc, size_t bytes);

extern const lwq_cc_ops lwq_cc_newreno;
extern const lwq_cc_ops lwq_cc_cubic;

/* HyStart++ hooks (hystart.c), used by controllers in slow start. */
void lwq_hystart_reset(lwq_hystart *hs);
void lwq_hystart_on_sent(lwq_hystart *hs, lwq_tstamp now);
/* Feeds one acknowledgement in slow start; returns the bytes the window may grow by, and sets
 * *exit_ss when slow start must end (ssthresh = cwnd). */
uint64_t lwq_hystart_on_acked(lwq_hystart *hs, uint64_t bytes, lwq_tstamp sent_time, const lwq_rtt *rtt,
                              int *exit_ss);

#endif
