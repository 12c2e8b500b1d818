/* Streams: the table (a hash keyed by a random key, libsodium crypto_shorthash), both sides' state
 * machines (RFC 9000 §3), stream and connection flow control with window auto-tuning and
 * *_BLOCKED (§4), stream limits (§4.6), RESET_STREAM and STOP_SENDING (§3.5). */
#include <sodium.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/varint.h"

#define BUCKETS_MIN 16
#define DEFAULT_URGENCY 3      /* RFC 9218 §4.1 */
#define STREAM_MAX_RANGES 1024 /* acknowledged / lost ranges per stream: a window's worth of losses */

static int is_local(const lwq_conn *c, int64_t id)
{
    return (int)(id & 1) == (c->is_server ? 1 : 0);
}
static int dir_of(int64_t id)
{
    return (id & 2) ? 1 : 0;
}

static size_t bucket_of(const lwq_streams *st, int64_t id)
{
    uint8_t in[8], h[crypto_shorthash_BYTES];
    lwq_put64(in, (uint64_t)id);
    crypto_shorthash(h, in, sizeof(in), st->key);
    return (size_t)(lwq_get64(h) & (st->nbuckets - 1));
}

lwq_stream *lwq_stream_find(const lwq_conn *c, int64_t id)
{
    const lwq_streams *st = &c->st;
    if (!st->nbuckets)
        return NULL;
    for (lwq_stream *s = st->buckets[bucket_of(st, id)]; s; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

int lwq_streams_init(lwq_conn *c)
{
    lwq_streams *st = &c->st;
    memset(st, 0, sizeof(*st));
    st->buckets = lwq_calloc(c->alloc, BUCKETS_MIN, sizeof(*st->buckets));
    if (!st->buckets)
        return LWQ_ERR_NOMEM;
    st->nbuckets = BUCKETS_MIN;
    c->rng->fill(c->rng->ud, st->key, sizeof(st->key));
    st->rx_max_data = st->rx_window = c->cfg->initial_max_data;
    if (lwq_budget_take(c->cfg->mem_budget, st->rx_window)) {
        lwq_free(c->alloc, st->buckets);
        st->buckets = NULL;
        return LWQ_ERR_LIMIT;
    }
    st->budget_held = st->rx_window;
    st->peer_max[0] = c->cfg->initial_max_streams_bidi;
    st->peer_max[1] = c->cfg->initial_max_streams_uni;
    return 0;
}

/* Something to send (new, lost, a FIN) whether or not flow control lets it go now. */
static int tx_work(const lwq_stream *s)
{
    const lwq_sendbuf *b = &s->tx;
    return s->has_tx && !s->tx_reset &&
           (!lwq_ranges_empty(&b->lost) || b->fin_lost || b->write_off > b->sent_off || (b->fin && !b->fin_sent));
}

/* Into the active list at its place in send order: usually the tail. */
static void active_add(lwq_streams *st, lwq_stream *s)
{
    if (s->active)
        return;
    lwq_stream *after = st->atail;
    while (after && after->seq > s->seq)
        after = after->aprev;
    s->aprev = after;
    s->anext = after ? after->anext : st->ahead;
    if (s->anext)
        s->anext->aprev = s;
    else
        st->atail = s;
    if (after)
        after->anext = s;
    else
        st->ahead = s;
    s->active = 1;
    st->nactive[s->urgency]++;
}

static void active_del(lwq_streams *st, lwq_stream *s)
{
    if (!s->active)
        return;
    if (s->aprev)
        s->aprev->anext = s->anext;
    else
        st->ahead = s->anext;
    if (s->anext)
        s->anext->aprev = s->aprev;
    else
        st->atail = s->aprev;
    s->aprev = s->anext = NULL;
    s->active = 0;
    st->nactive[s->urgency]--;
}

static void ctl_add(lwq_streams *st, lwq_stream *s)
{
    if (s->in_ctl)
        return;
    s->cprev = st->ctail;
    s->cnext = NULL;
    if (st->ctail)
        st->ctail->cnext = s;
    else
        st->chead = s;
    st->ctail = s;
    s->in_ctl = 1;
}

static void ctl_del(lwq_streams *st, lwq_stream *s)
{
    if (!s->in_ctl)
        return;
    if (s->cprev)
        s->cprev->cnext = s->cnext;
    else
        st->chead = s->cnext;
    if (s->cnext)
        s->cnext->cprev = s->cprev;
    else
        st->ctail = s->cprev;
    s->cprev = s->cnext = NULL;
    s->in_ctl = 0;
}

/* Out of the send lists, buffers freed; the struct itself may still carry events. */
static void stream_release(lwq_conn *c, lwq_stream *s)
{
    active_del(&c->st, s);
    ctl_del(&c->st, s);
    lwq_sendbuf_free(&s->tx);
    lwq_recvbuf_free(&s->rx);
}

static void stream_del(lwq_conn *c, lwq_stream *s)
{
    stream_release(c, s);
    lwq_free(c->alloc, s);
}

enum { SEV_OPENED = 1, SEV_READABLE = 2, SEV_RESET = 4, SEV_STOP = 8, SEV_WRITABLE = 16, SEV_CLOSED = 32 };

static void notify(lwq_streams *st, lwq_stream *s, uint8_t bit)
{
    s->ev |= bit;
    if (s->ev_queued)
        return;
    s->ev_queued = 1;
    s->evnext = NULL;
    if (st->evtail)
        st->evtail->evnext = s;
    else
        st->evhead = s;
    st->evtail = s;
}

void lwq_streams_free(lwq_conn *c)
{
    lwq_streams *st = &c->st;
    lwq_budget_give(c->cfg->mem_budget, st->budget_held);
    st->budget_held = 0;
    /* Closed streams whose event was never taken first: the event list also names live streams. */
    for (lwq_stream *s = st->evhead, *n; s; s = n) {
        n = s->evnext;
        if (s->gone)
            lwq_free(c->alloc, s);
    }
    for (lwq_stream *s = st->head, *n; s; s = n) {
        n = s->next;
        stream_del(c, s);
    }
    lwq_free(c->alloc, st->buckets);
    memset(st, 0, sizeof(*st));
}

void lwq_streams_peer_params(lwq_conn *c)
{
    lwq_streams *st = &c->st;
    st->local_max[0] = c->peer_tp.initial_max_streams_bidi;
    st->local_max[1] = c->peer_tp.initial_max_streams_uni;
    st->tx_max_data = c->peer_tp.initial_max_data;
}

static int grow(lwq_conn *c)
{
    lwq_streams *st = &c->st;
    size_t n = st->nbuckets * 2;
    lwq_stream **b = lwq_calloc(c->alloc, n, sizeof(*b));
    if (!b)
        return LWQ_ERR_NOMEM;
    lwq_stream **old = st->buckets;
    size_t on = st->nbuckets;
    st->buckets = b;
    st->nbuckets = n;
    for (size_t i = 0; i < on; i++)
        for (lwq_stream *s = old[i], *nx; s; s = nx) {
            nx = s->hnext;
            size_t k = bucket_of(st, s->id);
            s->hnext = b[k];
            b[k] = s;
        }
    lwq_free(c->alloc, old);
    return 0;
}

static int stream_new(lwq_conn *c, int64_t id, lwq_stream **out)
{
    lwq_streams *st = &c->st;
    const lwq_config *cfg = c->cfg;
    if (st->count >= st->nbuckets && grow(c))
        return LWQ_ERR_NOMEM;
    lwq_stream *s = lwq_calloc(c->alloc, 1, sizeof(*s));
    if (!s)
        return LWQ_ERR_NOMEM;
    int local = is_local(c, id), uni = dir_of(id);
    s->id = id;
    s->urgency = DEFAULT_URGENCY;
    s->seq = ++st->seq;
    s->has_tx = !uni || local;
    s->has_rx = !uni || !local;
    lwq_sendbuf_init(&s->tx, c->alloc, cfg->stream_send_buffer, STREAM_MAX_RANGES);
    /* RFC 9000 §18.2: the limits in each direction. */
    if (uni)
        s->tx_max = local ? c->peer_tp.initial_max_stream_data_uni : 0;
    else
        s->tx_max =
            local ? c->peer_tp.initial_max_stream_data_bidi_remote : c->peer_tp.initial_max_stream_data_bidi_local;
    if (uni)
        s->rx_max = local ? 0 : cfg->initial_max_stream_data_uni;
    else
        s->rx_max = local ? cfg->initial_max_stream_data_bidi_local : cfg->initial_max_stream_data_bidi_remote;
    /* The reassembly buffer holds the largest window this stream will advertise. */
    uint64_t win = s->rx_max > cfg->max_stream_window ? s->rx_max : cfg->max_stream_window;
    lwq_recvbuf_init(&s->rx, c->alloc, win > SIZE_MAX ? SIZE_MAX : (size_t)win, cfg->max_stream_gaps);
    s->rx_window = s->rx_max;
    s->rx_window_time = c->now;
    size_t k = bucket_of(st, id);
    s->hnext = st->buckets[k];
    st->buckets[k] = s;
    s->prev = st->tail;
    if (st->tail)
        st->tail->next = s;
    else
        st->head = s;
    st->tail = s;
    st->count++;
    *out = s;
    return 0;
}

static void unlink_list(lwq_streams *st, lwq_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        st->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        st->tail = s->prev;
    s->prev = s->next = NULL;
}

static void move_to_tail(lwq_streams *st, lwq_stream *s)
{
    s->seq = ++st->seq;
    if (s->active) {
        active_del(st, s);
        active_add(st, s);
    }
    if (st->tail == s)
        return;
    unlink_list(st, s);
    s->prev = st->tail;
    st->tail->next = s;
    st->tail = s;
}

static int send_done(const lwq_stream *s)
{
    return !s->has_tx || (s->tx_reset && s->reset_acked) || (!s->tx_reset && lwq_sendbuf_done(&s->tx));
}

static int recv_done(const lwq_stream *s)
{
    return !s->has_rx || s->rx_reset_seen || s->fin_read;
}

/* Frees a stream once both directions are finished (RFC 9000 §3.3, §3.4). */
static void maybe_free(lwq_conn *c, lwq_stream *s)
{
    if (!send_done(s) || !recv_done(s))
        return;
    lwq_streams *st = &c->st;
    lwq_stream **pp = &st->buckets[bucket_of(st, s->id)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    unlink_list(st, s);
    st->count--;
    stream_release(c, s);
    s->gone = 1;
    notify(st, s, SEV_CLOSED);
}

/* RFC 9000 §4.6: a peer's stream gives its credit back once the application knows it closed (so
 * closed streams waiting for that are bounded by our MAX_STREAMS), in batches. */
static void give_credit(lwq_conn *c, const lwq_stream *s)
{
    lwq_streams *st = &c->st;
    if (is_local(c, s->id))
        return;
    int d = dir_of(s->id);
    st->peer_closed[d]++;
    uint64_t initial = d ? c->cfg->initial_max_streams_uni : c->cfg->initial_max_streams_bidi;
    if (st->peer_closed[d] + initial - st->peer_max[d] >= (initial + 1) / 2 || initial <= 1) {
        st->peer_max[d] = st->peer_closed[d] + initial;
        st->max_streams_pending[d] = 1;
    }
}

int lwq_streams_next_event(lwq_conn *c, lwq_event *ev)
{
    lwq_streams *st = &c->st;
    lwq_stream *s = st->evhead;
    if (!s)
        return 0;
    uint8_t bit = (uint8_t)(s->ev & -s->ev);
    s->ev &= (uint8_t)~bit;
    ev->stream_id = s->id;
    switch (bit) {
    case SEV_OPENED: ev->type = LWQ_EV_STREAM_OPENED; break;
    case SEV_READABLE: ev->type = LWQ_EV_STREAM_READABLE; break;
    case SEV_RESET:
        ev->type = LWQ_EV_STREAM_RESET;
        ev->error_code = s->ev_reset_code;
        ev->offset = s->ev_reset_final;
        break;
    case SEV_STOP:
        ev->type = LWQ_EV_STOP_SENDING;
        ev->error_code = s->ev_stop_code;
        break;
    case SEV_WRITABLE: ev->type = LWQ_EV_STREAM_WRITABLE; break;
    default: ev->type = LWQ_EV_STREAM_CLOSED; break;
    }
    if (!s->ev) {
        st->evhead = s->evnext;
        if (!st->evhead)
            st->evtail = NULL;
        s->ev_queued = 0;
    }
    if (bit == SEV_CLOSED) {
        give_credit(c, s);
        lwq_free(c->alloc, s);
    }
    return 1;
}

/* The stream a frame refers to, opening peer streams implicitly (RFC 9000 §3.2). *out = NULL for a
 * closed stream (the frame is ignored). send_part: the frame concerns our sending part. */
static int frame_stream(lwq_conn *c, uint64_t ftype, uint64_t id64, int send_part, lwq_stream **out)
{
    lwq_streams *st = &c->st;
    *out = NULL;
    int64_t id = (int64_t)id64;
    int local = is_local(c, id), d = dir_of(id);
    if (d && local != send_part)
        return lwq_conn_error(c, LWQ_QUIC_ERR_STREAM_STATE_ERROR, ftype, "frame for the wrong direction of a stream");
    uint64_t idx = id64 >> 2;
    if (local) {
        if (idx >= st->local_next[d])
            return lwq_conn_error(c, LWQ_QUIC_ERR_STREAM_STATE_ERROR, ftype, "stream not opened yet");
        *out = lwq_stream_find(c, id);
        return 0;
    }
    if (idx >= st->peer_max[d])
        return lwq_conn_error(c, LWQ_QUIC_ERR_STREAM_LIMIT_ERROR, ftype, "stream limit exceeded");
    while (st->peer_next[d] <= idx) {
        lwq_stream *s;
        int64_t nid = (int64_t)(st->peer_next[d] << 2) | (c->is_server ? 0 : 1) | (d ? 2 : 0);
        if (stream_new(c, nid, &s))
            return LWQ_ERR_NOMEM;
        st->peer_next[d]++;
        notify(st, s, SEV_OPENED);
    }
    *out = lwq_stream_find(c, id);
    return 0;
}

static void notify_readable(lwq_conn *c, lwq_stream *s)
{
    int fin_ready = s->rx.final_size != LWQ_FINAL_UNKNOWN && s->rx.read_off == s->rx.final_size && !s->fin_read;
    if (!s->readable_ev && (lwq_recvbuf_readable(&s->rx) || fin_ready)) {
        s->readable_ev = 1;
        notify(&c->st, s, SEV_READABLE);
    }
}

/* Connection-level accounting of the highest offsets received (RFC 9000 §4.1). */
static int account_rx(lwq_conn *c, uint64_t before, uint64_t after, uint64_t ftype)
{
    if (after <= before)
        return 0;
    c->st.rx_data += after - before;
    if (c->st.rx_data > c->st.rx_max_data)
        return lwq_conn_error(c, LWQ_QUIC_ERR_FLOW_CONTROL_ERROR, ftype, "connection flow control exceeded");
    return 0;
}

static int on_stream(lwq_conn *c, const lwq_frame *f)
{
    const lwq_frame_stream *fs = &f->u.stream;
    lwq_stream *s;
    int rv = frame_stream(c, f->type, fs->stream_id, 0, &s);
    if (rv || !s || s->rx_reset)
        return rv;
    if (fs->offset + fs->len > s->rx_max)
        return lwq_conn_error(c, LWQ_QUIC_ERR_FLOW_CONTROL_ERROR, f->type, "stream flow control exceeded");
    uint64_t before = s->rx.highest;
    rv = lwq_recvbuf_insert(&s->rx, fs->offset, fs->data, fs->len, fs->fin);
    if (rv == LWQ_RECV_FINAL_SIZE)
        return lwq_conn_error(c, LWQ_QUIC_ERR_FINAL_SIZE_ERROR, f->type, "final size changed");
    if (rv == LWQ_RECV_WINDOW)
        return lwq_conn_error(c, LWQ_QUIC_ERR_FLOW_CONTROL_ERROR, f->type, "stream flow control exceeded");
    if (rv == LWQ_ERR_LIMIT)
        return LWQ_ERR_AGAIN; /* too many gaps: the packet is dropped unacknowledged and its data resent */
    if (rv)
        return rv;
    c->stats.stream_bytes_received += fs->len;
    if ((rv = account_rx(c, before, s->rx.highest, f->type)))
        return rv;
    notify_readable(c, s);
    return 0;
}

static int on_reset(lwq_conn *c, const lwq_frame *f)
{
    lwq_stream *s;
    int rv = frame_stream(c, f->type, f->u.reset_stream.stream_id, 0, &s);
    if (rv || !s)
        return rv;
    uint64_t final = f->u.reset_stream.final_size;
    if (final > s->rx_max)
        return lwq_conn_error(c, LWQ_QUIC_ERR_FLOW_CONTROL_ERROR, f->type, "final size beyond flow control");
    if (lwq_recvbuf_set_final(&s->rx, final))
        return lwq_conn_error(c, LWQ_QUIC_ERR_FINAL_SIZE_ERROR, f->type, "final size changed");
    if (s->rx_reset || s->fin_read)
        return 0;
    uint64_t before = s->rx.highest;
    if (final > s->rx.highest)
        s->rx.highest = final;
    if ((rv = account_rx(c, before, final, f->type)))
        return rv;
    s->rx_reset = 1;
    c->st.rx_read += final - s->rx.read_off; /* unread bytes count as consumed (RFC 9000 §4.5) */
    s->ev_reset_code = f->u.reset_stream.app_error;
    s->ev_reset_final = final;
    notify(&c->st, s, SEV_RESET);
    s->rx_reset_seen = 1;
    maybe_free(c, s);
    return 0;
}

static void reset_local(lwq_conn *c, lwq_stream *s, uint64_t code)
{
    s->tx_reset = 1;
    s->reset_code = code;
    s->reset_final = s->tx.sent_off; /* RFC 9000 §4.5 */
    s->reset_pending = 1;
    s->blocked_pending = 0;
    ctl_add(&c->st, s);
}

int lwq_streams_on_frame(lwq_conn *c, const lwq_frame *f)
{
    lwq_streams *st = &c->st;
    lwq_stream *s;
    int rv;
    if (lwq_frame_is_stream(f->type))
        return on_stream(c, f);
    switch (f->type) {
    case LWQ_FRAME_RESET_STREAM:
        return on_reset(c, f);
    case LWQ_FRAME_STOP_SENDING:
        if ((rv = frame_stream(c, f->type, f->u.stop_sending.stream_id, 1, &s)) || !s)
            return rv;
        if (!s->tx_reset && !lwq_sendbuf_done(&s->tx)) {
            /* once per stream, however often the peer repeats it */
            s->ev_stop_code = f->u.stop_sending.app_error;
            notify(st, s, SEV_STOP);
            reset_local(c, s, f->u.stop_sending.app_error); /* RFC 9000 §3.5 */
        }
        return 0;
    case LWQ_FRAME_MAX_STREAM_DATA:
        if ((rv = frame_stream(c, f->type, f->u.max_stream_data.stream_id, 1, &s)) || !s)
            return rv;
        if (f->u.max_stream_data.max > s->tx_max)
            s->tx_max = f->u.max_stream_data.max;
        return 0;
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        st->blocked_received++;
        return frame_stream(c, f->type, f->u.max_stream_data.stream_id, 0, &s);
    case LWQ_FRAME_DATA_BLOCKED:
        st->blocked_received++;
        return 0;
    case LWQ_FRAME_MAX_DATA:
        if (f->u.max_data > st->tx_max_data)
            st->tx_max_data = f->u.max_data;
        return 0;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI: {
        int d = f->type == LWQ_FRAME_MAX_STREAMS_UNI;
        if (f->u.max_streams > st->local_max[d])
            st->local_max[d] = f->u.max_streams;
        if (st->open_refused[d] && st->local_next[d] < st->local_max[d]) {
            lwq_event ev = {.type = LWQ_EV_STREAMS_AVAILABLE, .stream_id = -1, .bidi = !d};
            ev.offset = st->local_max[d];
            if (lwq_conn_push_event(c, &ev) == LWQ_ERR_NOMEM)
                return LWQ_ERR_NOMEM;
            st->open_refused[d] = 0;
        }
        return 0;
    }
    default:
        return 0; /* DATA_BLOCKED, STREAMS_BLOCKED: our credit updates follow reads anyway */
    }
}

/* RFC 9000 §4.2: move the window when half of it is used; double it (up to the maximum) when
 * that happens within two round trips. */
static int grow_window(lwq_conn *c, uint64_t *max, uint64_t *window, lwq_tstamp *when, uint64_t consumed,
                       uint64_t limit, uint64_t *held)
{
    if (*max - consumed >= *window / 2)
        return 0;
    lwq_tstamp rtt = c->rec.rtt.smoothed;
    if (c->now - *when < 2 * rtt && *window < limit) {
        uint64_t w = *window * 2 < limit ? *window * 2 : limit;
        if (!held || !lwq_budget_take(c->cfg->mem_budget, w - *window)) {
            if (held)
                *held += w - *window;
            *window = w;
        }
    }
    *when = c->now;
    *max = consumed + *window;
    return 1;
}

ssize_t lwq_stream_read(lwq_conn *c, int64_t id, uint8_t *buf, size_t cap, int *fin)
{
    lwq_stream *s = lwq_stream_find(c, id);
    if (fin)
        *fin = 0;
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    if (!s->has_rx)
        return LWQ_ERR_STATE;
    if (s->rx_reset || s->fin_read)
        return LWQ_ERR_CLOSED;
    int f = 0;
    size_t n = lwq_recvbuf_read(&s->rx, buf, cap, &f);
    if (!n && !f) {
        s->readable_ev = 0;
        return LWQ_ERR_AGAIN;
    }
    c->st.rx_read += n;
    if (!lwq_recvbuf_readable(&s->rx))
        s->readable_ev = 0;
    if (s->rx.final_size == LWQ_FINAL_UNKNOWN &&
        grow_window(c, &s->rx_max, &s->rx_window, &s->rx_window_time, s->rx.read_off, c->cfg->max_stream_window,
                    NULL)) {
        s->max_data_pending = 1;
        ctl_add(&c->st, s);
    }
    lwq_streams *st = &c->st;
    if (grow_window(c, &st->rx_max_data, &st->rx_window, &st->rx_window_time, st->rx_read, c->cfg->max_window,
                    &st->budget_held))
        st->max_data_pending = 1;
    if (fin)
        *fin = f;
    if (f) {
        s->fin_read = 1;
        maybe_free(c, s);
    }
    return (ssize_t)n;
}

ssize_t lwq_stream_write(lwq_conn *c, int64_t id, const uint8_t *data, size_t len, int fin)
{
    if (c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_CLOSED;
    lwq_stream *s = lwq_stream_find(c, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    if (!s->has_tx || s->tx.fin)
        return LWQ_ERR_STATE;
    if (s->tx_reset)
        return LWQ_ERR_CLOSED;
    ssize_t n = lwq_sendbuf_write(&s->tx, data, len, fin);
    if (n >= 0 && (size_t)n < len)
        s->want_writable = 1;
    if (tx_work(s))
        active_add(&c->st, s);
    return n;
}

int lwq_stream_open(lwq_conn *c, int bidi, int64_t *stream_id)
{
    lwq_streams *st = &c->st;
    if (c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_CLOSED;
    if ((!c->handshake_complete || !c->have_peer_tp) && !lwq_conn_early_streams(c))
        return LWQ_ERR_STATE; /* before the handshake only with 0-RTT (conn_early.c) */
    int d = bidi ? 0 : 1;
    if (st->local_next[d] >= st->local_max[d]) {
        st->streams_blocked_pending[d] = 1; /* RFC 9000 §4.6 */
        st->open_refused[d] = 1;
        return LWQ_ERR_LIMIT;
    }
    if (st->count >= c->cfg->max_streams_open)
        return LWQ_ERR_LIMIT;
    int64_t id = (int64_t)(st->local_next[d] << 2) | (c->is_server ? 1 : 0) | (d ? 2 : 0);
    lwq_stream *s;
    int rv = stream_new(c, id, &s);
    if (rv)
        return rv;
    st->local_next[d]++;
    *stream_id = id;
    return 0;
}

int lwq_stream_reset(lwq_conn *c, int64_t id, uint64_t app_error)
{
    lwq_stream *s = lwq_stream_find(c, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    if (!s->has_tx || app_error > LWQ_VARINT_MAX)
        return s->has_tx ? LWQ_ERR_INVAL : LWQ_ERR_STATE;
    if (s->tx_reset || lwq_sendbuf_done(&s->tx))
        return 0;
    reset_local(c, s, app_error);
    return 0;
}

int lwq_stream_stop_sending(lwq_conn *c, int64_t id, uint64_t app_error)
{
    lwq_stream *s = lwq_stream_find(c, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    if (!s->has_rx || app_error > LWQ_VARINT_MAX)
        return s->has_rx ? LWQ_ERR_INVAL : LWQ_ERR_STATE;
    if (s->rx_reset || s->fin_read || s->stop_sent)
        return 0;
    s->stop_pending = 1;
    s->stop_sent = 1;
    s->stop_code = app_error;
    ctl_add(&c->st, s);
    return 0;
}

int lwq_stream_set_priority(lwq_conn *c, int64_t id, uint8_t urgency, int incremental)
{
    lwq_stream *s = lwq_stream_find(c, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    if (urgency > 7)
        return LWQ_ERR_INVAL;
    if (s->active) {
        c->st.nactive[s->urgency]--;
        c->st.nactive[urgency]++;
    }
    s->urgency = urgency;
    s->incremental = incremental != 0;
    return 0;
}

static uint64_t send_limit(const lwq_conn *c, const lwq_stream *s)
{
    uint64_t conn_room = c->st.tx_max_data > c->st.tx_data ? c->st.tx_max_data - c->st.tx_data : 0;
    uint64_t lim = s->tx.sent_off + conn_room;
    return lim < s->tx_max ? lim : s->tx_max;
}

/* A stream of ours beyond the peer's stream limit: after rejected 0-RTT the server's new limit may be
 * below the streams opened under the remembered one (RFC 9000 §7.4.1); they wait for MAX_STREAMS,
 * since any frame for them would be a STREAM_LIMIT_ERROR (§4.6). */
static int beyond_limit(const lwq_conn *c, const lwq_stream *s)
{
    uint64_t id = (uint64_t)s->id;
    return (int)(id & 1) == c->is_server && (id >> 2) >= c->st.local_max[(id >> 1) & 1];
}

static int sendable(const lwq_conn *c, lwq_stream *s)
{
    if (!s->has_tx || s->tx_reset || beyond_limit(c, s))
        return 0;
    const lwq_sendbuf *b = &s->tx;
    if (!lwq_ranges_empty(&b->lost) || (b->fin_lost && b->sent_off == b->write_off))
        return 1;
    if (b->write_off > b->sent_off)
        return send_limit(c, s) > b->sent_off;
    return b->fin && !b->fin_sent;
}

int lwq_streams_have_new_data(const lwq_conn *c)
{
    for (lwq_stream *s = c->st.ahead; s; s = s->anext)
        if (sendable(c, s))
            return 1;
    return 0;
}

/* RFC 9000 §4.1: blocked signals, once per limit value. 1 when one became due. */
static int note_blocked(lwq_conn *c, lwq_stream *s)
{
    lwq_streams *st = &c->st;
    int due = 0;
    if (!s->has_tx || s->tx_reset || s->tx.write_off <= s->tx.sent_off || beyond_limit(c, s))
        return 0;
    if (s->tx.sent_off >= s->tx_max && s->blocked_at != s->tx_max + 1) {
        s->blocked_pending = 1;
        s->blocked_at = s->tx_max + 1;
        ctl_add(st, s);
        due = 1;
    }
    if (st->tx_data >= st->tx_max_data && st->data_blocked_at != st->tx_max_data + 1) {
        st->data_blocked_pending = 1;
        st->data_blocked_at = st->tx_max_data + 1;
        due = 1;
    }
    return due;
}

static int add(lwq_pktb *b, uint64_t type, uint64_t a, uint64_t v, uint64_t w, const lwq_sent_frame *rec)
{
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = type;
    switch (type) {
    case LWQ_FRAME_RESET_STREAM:
        f.u.reset_stream.stream_id = a;
        f.u.reset_stream.app_error = v;
        f.u.reset_stream.final_size = w;
        break;
    case LWQ_FRAME_STOP_SENDING:
        f.u.stop_sending.stream_id = a;
        f.u.stop_sending.app_error = v;
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        f.u.max_stream_data.stream_id = a;
        f.u.max_stream_data.max = v;
        break;
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_DATA_BLOCKED:
        f.u.max_data = v;
        break;
    default:
        f.u.max_streams = v;
    }
    return lwq_pktb_add(b, &f, rec);
}

static int write_control(lwq_conn *c, lwq_pktb *b)
{
    lwq_streams *st = &c->st;
    int rv;
#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        rv = (expr);                                                                                                   \
        if (rv == LWQ_ERR_NOBUF)                                                                                       \
            return 0;                                                                                                  \
        if (rv)                                                                                                        \
            return rv;                                                                                                 \
    } while (0)
    if (st->max_data_pending) {
        lwq_sent_frame r = {.kind = LWQ_FRAME_MAX_DATA};
        TRY(add(b, LWQ_FRAME_MAX_DATA, 0, st->rx_max_data, 0, &r));
        st->max_data_pending = 0;
    }
    if (st->data_blocked_pending) {
        lwq_sent_frame r = {.kind = LWQ_FRAME_DATA_BLOCKED, .id = st->tx_max_data};
        TRY(add(b, LWQ_FRAME_DATA_BLOCKED, 0, st->tx_max_data, 0, &r));
        st->data_blocked_pending = 0;
        st->blocked_sent++;
    }
    for (int d = 0; d < 2; d++) {
        if (st->max_streams_pending[d]) {
            uint64_t t = d ? LWQ_FRAME_MAX_STREAMS_UNI : LWQ_FRAME_MAX_STREAMS_BIDI;
            lwq_sent_frame r = {.kind = (uint8_t)t};
            TRY(add(b, t, 0, st->peer_max[d], 0, &r));
            st->max_streams_pending[d] = 0;
        }
        if (st->streams_blocked_pending[d]) {
            uint64_t t = d ? LWQ_FRAME_STREAMS_BLOCKED_UNI : LWQ_FRAME_STREAMS_BLOCKED_BIDI;
            lwq_sent_frame r = {.kind = (uint8_t)t, .id = st->local_max[d]};
            TRY(add(b, t, 0, st->local_max[d], 0, &r));
            st->streams_blocked_pending[d] = 0;
        }
    }
    for (lwq_stream *s = st->chead, *n; s; s = n) {
        n = s->cnext;
        uint64_t id = (uint64_t)s->id;
        if (beyond_limit(c, s))
            continue; /* kept until MAX_STREAMS reaches it */
        if (s->reset_pending) {
            lwq_sent_frame r = {.kind = LWQ_FRAME_RESET_STREAM, .id = id};
            TRY(add(b, LWQ_FRAME_RESET_STREAM, id, s->reset_code, s->reset_final, &r));
            s->reset_pending = 0;
        }
        if (s->stop_pending) {
            lwq_sent_frame r = {.kind = LWQ_FRAME_STOP_SENDING, .id = id};
            TRY(add(b, LWQ_FRAME_STOP_SENDING, id, s->stop_code, 0, &r));
            s->stop_pending = 0;
        }
        if (s->max_data_pending) {
            lwq_sent_frame r = {.kind = LWQ_FRAME_MAX_STREAM_DATA, .id = id};
            TRY(add(b, LWQ_FRAME_MAX_STREAM_DATA, id, s->rx_max, 0, &r));
            s->max_data_pending = 0;
        }
        if (s->blocked_pending) {
            lwq_sent_frame r = {.kind = LWQ_FRAME_STREAM_DATA_BLOCKED, .id = id, .off = s->tx_max};
            TRY(add(b, LWQ_FRAME_STREAM_DATA_BLOCKED, id, s->tx_max, 0, &r));
            s->blocked_pending = 0;
            st->blocked_sent++;
        }
        ctl_del(st, s);
    }
#undef TRY
    return 0;
}

/* One STREAM frame of s; 1 when written, 0 when nothing fit. */
static int write_stream_frame(lwq_conn *c, lwq_stream *s, lwq_pktb *b)
{
    uint64_t off;
    size_t len;
    int fin;
    size_t room = lwq_pktb_room(b);
    if (room < 4 || !lwq_sendbuf_next(&s->tx, send_limit(c, s), room, &off, &len, &fin))
        return 0;
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream.stream_id = (uint64_t)s->id;
    f.u.stream.offset = off;
    f.u.stream.has_len = 1;
    size_t hdr;
    size_t fit = lwq_frame_stream_fit(&f, room, len, &hdr);
    if (!hdr || (!fit && len))
        return 0;
    if (fit < len) {
        len = fit;
        fin = 0;
    }
    uint8_t tmp[LWQ_CONN_MDS];
    if (len > sizeof(tmp))
        len = sizeof(tmp), fin = 0;
    lwq_sendbuf_copy(&s->tx, off, tmp, len);
    f.u.stream.data = tmp;
    f.u.stream.len = len;
    f.u.stream.fin = fin;
    lwq_sent_frame r = {
        .kind = LWQ_FRAME_STREAM, .id = (uint64_t)s->id, .off = off, .len = (uint32_t)len, .fin = (uint8_t)fin};
    if (lwq_pktb_add(b, &f, &r))
        return 0;
    if (off + len > s->tx.sent_off)
        c->st.tx_data += off + len - s->tx.sent_off;
    lwq_sendbuf_on_sent(&s->tx, off, len, fin);
    c->stats.stream_bytes_sent += len;
    return 1;
}

/* Only streams with something to send are visited: the cost of a packet follows the streams that are ready,
 * not the streams that are open. Streams found with nothing left leave the active list on the way. */
int lwq_streams_write(lwq_conn *c, lwq_pktb *b, int cwnd_open)
{
    lwq_streams *st = &c->st;
    int rv = write_control(c, b);
    if (rv || !cwnd_open)
        return rv;
    int blocked = 0;
    /* RFC 9218: lowest urgency first; non-incremental streams in order, incremental round-robin. */
    for (;;) {
        unsigned minu = 0;
        while (minu < 7 && !st->nactive[minu])
            minu++;
        lwq_stream *pick = NULL;
        for (lwq_stream *s = st->ahead, *n; s; s = n) {
            n = s->anext;
            if (!tx_work(s)) {
                active_del(st, s);
                continue;
            }
            if (pick && s->urgency >= pick->urgency)
                continue;
            if (sendable(c, s)) {
                pick = s;
                if (s->urgency <= minu)
                    break;
            } else {
                blocked |= note_blocked(c, s);
            }
        }
        if (!pick || !write_stream_frame(c, pick, b))
            break;
        if (pick->incremental)
            move_to_tail(st, pick);
    }
    return blocked ? write_control(c, b) : 0;
}

void lwq_streams_on_acked(lwq_conn *c, const lwq_sent_frame *f)
{
    int rv;
    lwq_stream *s = lwq_stream_find(c, (int64_t)f->id);
    if (!s)
        return;
    switch (f->kind) {
    case LWQ_FRAME_STREAM:
        if (s->tx_reset)
            break;
        if ((rv = lwq_sendbuf_on_acked(&s->tx, f->off, f->len, f->fin)) != 0) {
            lwq_conn_tracking_failed(c, rv);
            return;
        }
        if (s->want_writable && lwq_sendbuf_room(&s->tx)) {
            s->want_writable = 0;
            notify(&c->st, s, SEV_WRITABLE);
        }
        maybe_free(c, s);
        break;
    case LWQ_FRAME_RESET_STREAM:
        s->reset_acked = 1;
        maybe_free(c, s);
        break;
    default:
        break;
    }
}

void lwq_streams_on_lost(lwq_conn *c, const lwq_sent_frame *f)
{
    lwq_streams *st = &c->st;
    switch (f->kind) {
    case LWQ_FRAME_MAX_DATA:
        st->max_data_pending = 1; /* the current value goes out again (RFC 9000 §13.3) */
        return;
    case LWQ_FRAME_DATA_BLOCKED:
        if (f->id == st->tx_max_data)
            st->data_blocked_pending = 1;
        return;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
        st->max_streams_pending[f->kind == LWQ_FRAME_MAX_STREAMS_UNI] = 1;
        return;
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI: {
        int d = f->kind == LWQ_FRAME_STREAMS_BLOCKED_UNI;
        if (f->id == st->local_max[d])
            st->streams_blocked_pending[d] = 1;
        return;
    }
    default:
        break;
    }
    lwq_stream *s = lwq_stream_find(c, (int64_t)f->id);
    if (!s)
        return;
    switch (f->kind) {
    case LWQ_FRAME_STREAM:
        if (!s->tx_reset)
            lwq_conn_tracking_failed(c, lwq_sendbuf_on_lost(&s->tx, f->off, f->len, f->fin));
        if (tx_work(s))
            active_add(st, s);
        break;
    case LWQ_FRAME_RESET_STREAM:
        if (!s->reset_acked)
            s->reset_pending = 1;
        break;
    case LWQ_FRAME_STOP_SENDING:
        if (!s->rx_reset && !s->fin_read)
            s->stop_pending = 1;
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
        if (s->rx.final_size == LWQ_FINAL_UNKNOWN)
            s->max_data_pending = 1;
        break;
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        if (f->off == s->tx_max && s->tx.sent_off >= s->tx_max)
            s->blocked_pending = 1;
        break;
    default:
        break;
    }
    if (s->reset_pending || s->stop_pending || s->max_data_pending || s->blocked_pending)
        ctl_add(st, s);
}
