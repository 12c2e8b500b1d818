/* Events for the application, derived from the connection's state (DESIGN.md: events are never
 * lost). Connection events are bits with the little state they report kept beside them; stream events
 * are bits on the streams (stream.c); a datagram event is a received datagram waiting. Nothing here
 * allocates, so no event can be dropped by a full queue or a failed allocation. Order: the
 * connection's own events, then streams in the order they first had something to report (each
 * stream's in the order opened, readable, reset, stop-sending, writable, closed), then datagrams, and
 * the close last. */
#include "quic/conn.h"
#include "base/mem.h"

enum {
    EV_EARLY = 1,
    EV_HANDSHAKE = 2,
    EV_PATH = 4,
    EV_TOKEN = 8,
    EV_TICKET = 16,
    EV_AVAIL_BIDI = 32,
    EV_AVAIL_UNI = 64,
    EV_CLOSED = 128,
};

int lwq_conn_push_event(lwq_conn *c, const lwq_event *ev)
{
    switch (ev->type) {
    case LWQ_EV_EARLY_DATA:
        c->ev_early_accepted = ev->accepted;
        c->ev_bits |= EV_EARLY;
        break;
    case LWQ_EV_HANDSHAKE_DONE: c->ev_bits |= EV_HANDSHAKE; break;
    case LWQ_EV_PATH_CHANGED: c->ev_bits |= EV_PATH; break; /* reports the path then current */
    case LWQ_EV_NEW_TOKEN: c->ev_bits |= EV_TOKEN; break;   /* the newest token */
    case LWQ_EV_SESSION_TICKET: c->ev_bits |= EV_TICKET; break;
    case LWQ_EV_STREAMS_AVAILABLE:
        c->ev_streams_max[ev->bidi ? 0 : 1] = ev->offset;
        c->ev_bits |= ev->bidi ? EV_AVAIL_BIDI : EV_AVAIL_UNI;
        break;
    case LWQ_EV_CLOSED: c->ev_bits |= EV_CLOSED; break;
    default: break; /* datagrams and streams report themselves */
    }
    return 0;
}

static int next_datagram(lwq_conn *c, lwq_event *ev)
{
    if (!c->dg_rx)
        return 0;
    lwq_free(c->alloc, c->dg_cur); /* the previous one's data was valid until now */
    c->dg_cur = c->dg_rx;
    c->dg_rx = c->dg_rx->next;
    if (!c->dg_rx)
        c->dg_rx_tail = NULL;
    c->dg_rx_count--;
    c->dg_cur->next = NULL;
    ev->type = LWQ_EV_DATAGRAM;
    ev->data = c->dg_cur->data;
    ev->len = c->dg_cur->len;
    return 1;
}

static int next_event(lwq_conn *c, lwq_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->stream_id = -1;
    unsigned bits = c->ev_bits & ~(unsigned)EV_CLOSED;
    if (bits) {
        unsigned bit = bits & -bits;
        c->ev_bits &= ~bit;
        switch (bit) {
        case EV_EARLY:
            ev->type = LWQ_EV_EARLY_DATA;
            ev->accepted = c->ev_early_accepted;
            break;
        case EV_HANDSHAKE: ev->type = LWQ_EV_HANDSHAKE_DONE; break;
        case EV_PATH:
            ev->type = LWQ_EV_PATH_CHANGED;
            ev->path = c->path;
            break;
        case EV_TOKEN:
            ev->type = LWQ_EV_NEW_TOKEN;
            ev->data = c->early.token;
            ev->len = c->early.token_len;
            break;
        case EV_TICKET:
            ev->type = LWQ_EV_SESSION_TICKET;
            ev->data = c->ticket;
            ev->len = c->ticket_len;
            break;
        default:
            ev->type = LWQ_EV_STREAMS_AVAILABLE;
            ev->bidi = bit == EV_AVAIL_BIDI;
            ev->offset = c->ev_streams_max[bit == EV_AVAIL_BIDI ? 0 : 1];
            break;
        }
        return 1;
    }
    if (lwq_streams_next_event(c, ev) || next_datagram(c, ev))
        return 1;
    if (c->ev_bits & EV_CLOSED) {
        c->ev_bits &= ~(unsigned)EV_CLOSED;
        ev->type = LWQ_EV_CLOSED;
        ev->close = c->close;
        return 1;
    }
    return 0;
}

int lwq_conn_next_event_sized(lwq_conn *c, lwq_event *ev, size_t struct_size)
{
    if (struct_size >= sizeof(*ev))
        return next_event(c, ev);
    lwq_event full; /* a caller built against older headers (docs/architecture.md, "ABI") */
    int r = next_event(c, &full);
    if (r == 1)
        memcpy(ev, &full, struct_size);
    return r;
}
