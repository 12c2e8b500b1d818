#include "quic/sentmap.h"
#include "base/mem.h"

void lwq_sentmap_init(lwq_sentmap *m, const lwq_allocator *a, size_t max_pkts)
{
    memset(m, 0, sizeof(*m));
    m->alloc = a;
    m->max_pkts = max_pkts ? max_pkts : 1;
    m->largest_acked = UINT64_MAX;
}

void lwq_sentmap_free(lwq_sentmap *m)
{
    lwq_free(m->alloc, m->pkts);
    lwq_free(m->alloc, m->frames);
    m->pkts = NULL;
    m->frames = NULL;
    m->cap = m->fcap = m->count = 0;
}

lwq_sent_pkt *lwq_sentmap_at(lwq_sentmap *m, size_t i)
{
    if (i >= m->count)
        return NULL;
    return &m->pkts[(m->head + i) % m->cap];
}

static int grow_pkts(lwq_sentmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 32;
    lwq_sent_pkt *np = lwq_malloc(m->alloc, cap * sizeof(*np));
    if (!np)
        return LWQ_ERR_NOMEM;
    for (size_t i = 0; i < m->count; i++)
        np[i] = m->pkts[(m->head + i) % m->cap];
    lwq_free(m->alloc, m->pkts);
    m->pkts = np;
    m->cap = cap;
    m->head = 0;
    return 0;
}

static int grow_frames(lwq_sentmap *m)
{
    size_t cap = m->fcap ? m->fcap * 2 : 64;
    lwq_sent_frame *nf = lwq_malloc(m->alloc, cap * sizeof(*nf));
    if (!nf)
        return LWQ_ERR_NOMEM;
    for (uint32_t i = m->fhead; i != m->ftail; i++)
        nf[i % cap] = m->frames[i % m->fcap];
    lwq_free(m->alloc, m->frames);
    m->frames = nf;
    m->fcap = cap;
    return 0;
}

static int droppable(const lwq_sent_pkt *p)
{
    return (p->flags & LWQ_SENT_ACKED) || !(p->flags & (LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT));
}

/* Rewrites both rings without the droppable records, when at least an eighth of them can go (so a
 * map full of packets still in flight is not rescanned on every send). A peer that never
 * acknowledges our ACK-only packets would otherwise fill the map and stop the space for good. */
static int compact(lwq_sentmap *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++)
        n += droppable(lwq_sentmap_at(m, i));
    if (n < m->count / 8 + 1) {
        m->stuck = 1;
        return LWQ_ERR_LIMIT;
    }
    lwq_sent_pkt *np = lwq_malloc(m->alloc, m->cap * sizeof(*np));
    lwq_sent_frame *nf = m->fcap ? lwq_malloc(m->alloc, m->fcap * sizeof(*nf)) : NULL;
    if (!np || (m->fcap && !nf)) {
        lwq_free(m->alloc, np);
        lwq_free(m->alloc, nf);
        return LWQ_ERR_NOMEM;
    }
    size_t k = 0;
    uint32_t ft = 0;
    for (size_t i = 0; i < m->count; i++) {
        lwq_sent_pkt *p = lwq_sentmap_at(m, i);
        if (droppable(p))
            continue;
        np[k] = *p;
        np[k].first_frame = ft;
        for (size_t j = 0; j < p->nframes; j++)
            nf[ft++] = *lwq_sentmap_frame(m, p, j);
        k++;
    }
    lwq_free(m->alloc, m->pkts);
    lwq_free(m->alloc, m->frames);
    m->pkts = np;
    m->frames = nf;
    m->head = 0;
    m->count = k;
    m->fhead = 0;
    m->ftail = ft;
    return 0;
}

int lwq_sentmap_full(const lwq_sentmap *m)
{
    return m->count >= m->max_pkts && m->stuck;
}

int lwq_sentmap_begin(lwq_sentmap *m, lwq_tstamp now)
{
    if (m->open)
        return LWQ_ERR_STATE;
    if (m->count >= m->max_pkts) {
        if (m->stuck)
            return LWQ_ERR_LIMIT;
        int rv = compact(m);
        if (rv)
            return rv;
    }
    if (m->count == m->cap) {
        int rv = grow_pkts(m);
        if (rv)
            return rv;
    }
    lwq_sent_pkt *p = &m->pkts[(m->head + m->count) % m->cap];
    *p = (lwq_sent_pkt){.pn = m->next_pn, .sent = now, .first_frame = m->ftail};
    m->open = 1;
    return 0;
}

int lwq_sentmap_add_frame(lwq_sentmap *m, const lwq_sent_frame *f)
{
    if (!m->open)
        return LWQ_ERR_STATE;
    lwq_sent_pkt *p = &m->pkts[(m->head + m->count) % m->cap];
    if (p->nframes == UINT16_MAX)
        return LWQ_ERR_LIMIT;
    if ((size_t)(m->ftail - m->fhead) == m->fcap) {
        int rv = grow_frames(m);
        if (rv)
            return rv;
    }
    m->frames[m->ftail % m->fcap] = *f;
    m->ftail++;
    p->nframes++;
    return 0;
}

void lwq_sentmap_abort(lwq_sentmap *m)
{
    if (!m->open)
        return;
    lwq_sent_pkt *p = &m->pkts[(m->head + m->count) % m->cap];
    m->ftail -= p->nframes;
    m->open = 0;
}

uint64_t lwq_sentmap_commit(lwq_sentmap *m, size_t size, int flags)
{
    lwq_sent_pkt *p = &m->pkts[(m->head + m->count) % m->cap];
    p->size = (uint16_t)(size > UINT16_MAX ? UINT16_MAX : size);
    p->flags = (uint8_t)(flags & (LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT | LWQ_SENT_PMTU_PROBE));
    m->count++;
    m->open = 0;
    if (p->flags & LWQ_SENT_IN_FLIGHT)
        m->bytes_in_flight += p->size;
    if (p->flags & LWQ_SENT_ACK_ELICITING) {
        m->ack_eliciting_in_flight++;
        m->last_ack_eliciting = p->sent;
    }
    return m->next_pn++;
}

void lwq_sentmap_skip(lwq_sentmap *m)
{
    m->skipped[m->nskipped++ % LWQ_SENT_SKIPPED_MAX] = m->next_pn++;
}

int lwq_sentmap_skipped_in(const lwq_sentmap *m, uint64_t lo, uint64_t hi)
{
    unsigned n = m->nskipped < LWQ_SENT_SKIPPED_MAX ? m->nskipped : LWQ_SENT_SKIPPED_MAX;
    for (unsigned i = 0; i < n; i++)
        if (m->skipped[i] >= lo && m->skipped[i] < hi)
            return 1;
    return 0;
}

lwq_sent_pkt *lwq_sentmap_find(lwq_sentmap *m, uint64_t pn)
{
    if (m->count == 0)
        return NULL;
    uint64_t first = m->pkts[m->head].pn;
    if (pn < first)
        return NULL;
    /* Numbers only grow faster than indexes: packet pn sits at an index <= pn - first. */
    size_t hi = pn - first < m->count ? (size_t)(pn - first) : m->count - 1;
    lwq_sent_pkt *p = lwq_sentmap_at(m, hi);
    if (p->pn == pn)
        return p;
    if (p->pn < pn)
        return NULL;
    size_t lo = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lwq_sentmap_at(m, mid)->pn < pn)
            lo = mid + 1;
        else
            hi = mid;
    }
    p = lwq_sentmap_at(m, lo);
    return p->pn == pn ? p : NULL;
}

const lwq_sent_frame *lwq_sentmap_frame(const lwq_sentmap *m, const lwq_sent_pkt *p, size_t i)
{
    /* Absolute indexes modulo a power-of-two capacity stay valid across growth and uint32 wrap. */
    return &m->frames[(p->first_frame + (uint32_t)i) % m->fcap];
}

static void leave_flight(lwq_sentmap *m, lwq_sent_pkt *p)
{
    if (p->flags & LWQ_SENT_IN_FLIGHT)
        m->bytes_in_flight -= p->size;
    if ((p->flags & LWQ_SENT_ACK_ELICITING) && !(p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST)))
        m->ack_eliciting_in_flight--;
    p->flags &= (uint8_t)~LWQ_SENT_IN_FLIGHT;
}

void lwq_sentmap_mark_acked(lwq_sentmap *m, lwq_sent_pkt *p)
{
    m->stuck = 0;
    if (p->flags & LWQ_SENT_ACKED)
        return;
    leave_flight(m, p);
    p->flags |= LWQ_SENT_ACKED;
}

void lwq_sentmap_mark_lost(lwq_sentmap *m, lwq_sent_pkt *p)
{
    if (p->flags & (LWQ_SENT_ACKED | LWQ_SENT_LOST))
        return;
    m->stuck = 0;
    leave_flight(m, p);
    p->flags |= LWQ_SENT_LOST;
}

void lwq_sentmap_trim(lwq_sentmap *m, lwq_tstamp keep_lost_after)
{
    while (m->count) {
        lwq_sent_pkt *p = &m->pkts[m->head];
        /* ACK-only packets older than the lost ones we keep are not worth an acknowledgement. */
        int quiet = !(p->flags & (LWQ_SENT_ACK_ELICITING | LWQ_SENT_IN_FLIGHT));
        int done = (p->flags & LWQ_SENT_ACKED) ||
                   ((p->flags & LWQ_SENT_LOST || quiet) && p->sent < keep_lost_after);
        if (!done)
            break;
        m->stuck = 0;
        m->fhead = p->first_frame + p->nframes;
        m->head = (m->head + 1) % m->cap;
        m->count--;
    }
    if (m->count == 0)
        m->fhead = m->ftail;
}

uint64_t lwq_sentmap_discard(lwq_sentmap *m)
{
    uint64_t bytes = m->bytes_in_flight;
    m->count = 0;
    m->head = 0;
    m->fhead = m->ftail;
    m->bytes_in_flight = 0;
    m->ack_eliciting_in_flight = 0;
    m->stuck = 0;
    m->loss_time = 0;
    return bytes;
}
