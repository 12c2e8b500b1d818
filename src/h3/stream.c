#include "h3/conn_int.h"
#include "base/mem.h"

h3_stream *h3_stream_find(lwq_h3_conn *h, int64_t id)
{
    for (size_t i = 0; i < h->nst; i++)
        if (h->st[i]->id == id)
            return h->st[i];
    return NULL;
}

void h3_stream_free(lwq_h3_conn *h, h3_stream *s)
{
    lwq_h3_parser_free(&s->ps);
    lwq_free(h->alloc, s->pend);
    lwq_free(h->alloc, s->body);
    lwq_free(h->alloc, s->copy);
    lwq_qpack_buf_free(&s->out.b);
    lwq_qpack_buf_free(&s->trailers);
    lwq_free(h->alloc, s);
}

void h3_tx_done(lwq_h3_conn *h, h3_stream *s)
{
    if (!s->tx_done) {
        s->tx_done = 1;
        h->ntx--;
    }
}

void h3_stream_gc(lwq_h3_conn *h, h3_stream *s)
{
    if (!s->rx_done || !s->tx_done || s->body_len > s->body_off)
        return;
    for (size_t i = 0; i < h->nst; i++)
        if (h->st[i] == s) {
            h->st[i] = h->st[--h->nst];
            break;
        }
    h3_stream_free(h, s);
}

static h3_stream *stream_new(lwq_h3_conn *h, int64_t id)
{
    if (h->nst == h->cfg.max_streams)
        return NULL;
    h3_stream *s = lwq_calloc(h->alloc, 1, sizeof(*s));
    if (!s)
        return NULL;
    s->id = id;
    lwq_h3_parser_init(&s->ps, h->alloc, LWQ_H3_ON_REQUEST, h->is_server, h->cfg.max_control_frame,
                       h->cfg.max_field_section_size + 1024);
    lwq_qpack_buf_init(&s->out.b, h->alloc);
    lwq_qpack_buf_init(&s->trailers, h->alloc);
    h->st[h->nst++] = s;
    h->ntx++;
    return s;
}

void h3_mark_dead(lwq_h3_conn *h, int64_t id)
{
    h->dead[h->ndead++ % H3_DEAD_IDS] = id;
}

int h3_is_dead(const lwq_h3_conn *h, int64_t id)
{
    size_t n = h->ndead < H3_DEAD_IDS ? h->ndead : H3_DEAD_IDS;
    for (size_t i = 0; i < n; i++)
        if (h->dead[i] == id)
            return 1;
    return 0;
}

size_t h3_stream_window(const lwq_h3_conn *h, const h3_stream *s)
{
    size_t used = s->body_len - s->body_off + s->pend_len;
    return used >= h->cfg.max_body_buffer ? 0 : h->cfg.max_body_buffer - used;
}

int h3_stream_error(lwq_h3_conn *h, h3_stream *s, uint64_t code, int report)
{
    int rv = 0;
    /* RFC 9114 §4.1.1: abort both directions */
    if (!s->rx_done) {
        rv = h3_push_action(h, LWQ_H3_ACT_STOP_SENDING, s->id, code, 0, 0);
        h3_mark_dead(h, s->id);
    }
    if (!rv && !s->tx_done)
        rv = h3_push_action(h, LWQ_H3_ACT_RESET, s->id, code, 0, 0);
    if (!s->rx_done)
        lwq_qpack_decoder_cancel_stream(h->dec, (uint64_t)s->id);
    lwq_qpack_encoder_cancel_stream(h->enc, (uint64_t)s->id);
    if (!rv && report && !s->reset_reported) {
        lwq_h3_event ev = {0};
        ev.type = LWQ_H3_EV_RESET;
        ev.stream_id = s->id;
        ev.error_code = code;
        rv = h3_push_event(h, &ev, NULL);
    }
    s->reset_reported = 1;
    h3_tx_done(h, s);
    s->rx_done = s->gone_rx = 1;
    s->body_len = s->body_off = 0;
    int rv2 = h3_flush_decoder(h);
    h3_stream_gc(h, s);
    return rv ? rv : rv2;
}

static int take_headers(lwq_h3_conn *h, lwq_qpack_headers **out)
{
    lwq_qpack_headers *x = lwq_malloc(h->alloc, sizeof(*x));
    if (!x)
        return LWQ_ERR_NOMEM;
    *x = h->tmp;
    lwq_qpack_headers_init(&h->tmp, h->alloc);
    *out = x;
    return 0;
}

static int on_section(lwq_h3_conn *h, h3_stream *s, lwq_qpack_headers *hd)
{
    int kind = s->rx_state != RX_HEADERS ? LWQ_H3_MSG_TRAILERS
               : h->is_server            ? LWQ_H3_MSG_REQUEST
                                         : LWQ_H3_MSG_RESPONSE;
    lwq_h3_msg_info mi;
    if (hd->count > h->cfg.max_fields)
        return h3_stream_error(h, s, LWQ_H3_EXCESSIVE_LOAD, 1);
    if (lwq_h3_check_fields(hd->fields, hd->count, kind, &mi) < 0)
        return h3_stream_error(h, s, LWQ_H3_MESSAGE_ERROR, 1);
    lwq_h3_event ev = {0};
    ev.stream_id = s->id;
    ev.urgency = mi.urgency;
    ev.incremental = mi.incremental;
    if (kind == LWQ_H3_MSG_REQUEST) {
        ev.type = LWQ_H3_EV_REQUEST;
        s->mi = mi;
        s->is_head = mi.is_head;
        s->processed = 1;
        s->rx_state = RX_BODY;
        if (mi.urgency != 3 || mi.incremental) {
            int rv = h3_push_action(h, LWQ_H3_ACT_PRIORITY, s->id, 0, mi.urgency, mi.incremental);
            if (rv)
                return rv;
        }
    } else if (kind == LWQ_H3_MSG_RESPONSE) {
        ev.type = LWQ_H3_EV_RESPONSE;
        ev.status = mi.status;
        ev.informational = mi.status < 200;
        if (!ev.informational) {
            mi.is_head = s->is_head;
            s->mi = mi;
            s->rx_state = RX_BODY;
        }
    } else {
        ev.type = LWQ_H3_EV_TRAILERS;
        s->rx_state = RX_TRAILERS;
    }
    lwq_qpack_headers *x;
    int rv = take_headers(h, &x);
    return rv ? rv : h3_push_event(h, &ev, x);
}

static int on_data(lwq_h3_conn *h, h3_stream *s, const uint8_t *p, size_t n)
{
    /* RFC 9114 §4.1: DATA only between the header and trailer sections */
    if (s->rx_state != RX_BODY)
        return h3_conn_fail(h, LWQ_H3_FRAME_UNEXPECTED, "DATA outside a message body");
    if (!n)
        return 0;
    s->body_rx += n;
    int no_body = !h->is_server && (s->mi.is_head || s->mi.status == 204 || s->mi.status == 304);
    /* RFC 9114 §4.1.2 */
    if (no_body || (s->mi.has_content_length && s->body_rx > s->mi.content_length))
        return h3_stream_error(h, s, LWQ_H3_MESSAGE_ERROR, 1);
    if (s->body_off == s->body_len)
        s->body_off = s->body_len = 0;
    if (s->body_cap - s->body_len < n) {
        if (s->body_off) {
            memmove(s->body, s->body + s->body_off, s->body_len - s->body_off);
            s->body_len -= s->body_off;
            s->body_off = 0;
        }
        if (s->body_cap - s->body_len < n) {
            size_t cap = s->body_len + n < 4096 ? 4096 : s->body_len + n;
            uint8_t *b = lwq_realloc(h->alloc, s->body, cap);
            if (!b)
                return LWQ_ERR_NOMEM;
            s->body = b;
            s->body_cap = cap;
        }
    }
    int was_empty = s->body_len == s->body_off;
    memcpy(s->body + s->body_len, p, n);
    s->body_len += n;
    if (!was_empty)
        return 0;
    lwq_h3_event ev = {0};
    ev.type = LWQ_H3_EV_DATA;
    ev.stream_id = s->id;
    ev.len = s->body_len - s->body_off;
    return h3_push_event(h, &ev, NULL);
}

static int on_fin(lwq_h3_conn *h, h3_stream *s)
{
    /* RFC 9114 §7.1: a frame cut by the end of the stream */
    if (!lwq_h3_parser_at_boundary(&s->ps))
        return h3_conn_fail(h, LWQ_H3_FRAME_ERROR, "stream ended inside a frame");
    /* RFC 9114 §4.1 */
    if (s->rx_state == RX_HEADERS)
        return h3_stream_error(h, s, h->is_server ? LWQ_H3_REQUEST_INCOMPLETE : LWQ_H3_MESSAGE_ERROR, 1);
    int no_body = !h->is_server && (s->mi.is_head || s->mi.status == 204 || s->mi.status == 304);
    if (!no_body && s->mi.has_content_length && s->body_rx != s->mi.content_length)
        return h3_stream_error(h, s, LWQ_H3_MESSAGE_ERROR, 1);
    s->rx_done = 1;
    s->rx_state = RX_DONE;
    lwq_h3_event ev = {0};
    ev.type = LWQ_H3_EV_END;
    ev.stream_id = s->id;
    int rv = h3_push_event(h, &ev, NULL);
    h3_stream_gc(h, s);
    return rv;
}

static int stash(lwq_h3_conn *h, h3_stream *s, const uint8_t *p, size_t n, int fin)
{
    if (s->pend_cap - s->pend_len < n) {
        uint8_t *b = lwq_realloc(h->alloc, s->pend, s->pend_len + n);
        if (!b)
            return LWQ_ERR_NOMEM;
        s->pend = b;
        s->pend_cap = s->pend_len + n;
    }
    if (n)
        memcpy(s->pend + s->pend_len, p, n);
    s->pend_len += n;
    s->pend_fin |= fin;
    return 0;
}

/* Parses p[0..n) of stream s; may free s. */
static int process(lwq_h3_conn *h, h3_stream *s, const uint8_t *p, size_t n, int fin)
{
    int64_t id = s->id;
    size_t off = 0;
    while (off < n) {
        lwq_h3_pframe f;
        ssize_t k = lwq_h3_parser_feed(&s->ps, p + off, n - off, &f);
        if (k == LWQ_ERR_LIMIT)
            return h3_stream_error(h, s, LWQ_H3_EXCESSIVE_LOAD, 1);
        if (k < 0)
            return k == LWQ_ERR_NOMEM ? (int)k : h3_conn_fail(h, s->ps.error, "request stream frame");
        off += (size_t)k;
        int rv = 0;
        if (f.kind == LWQ_H3_P_DATA) {
            if (!s->qlog_in_data) /* the frame's first piece: its length is this piece and what is left */
                h3_qlog_frame(h, id, 0, LWQ_H3_FT_DATA, f.len + s->ps.left, NULL, 0);
            s->qlog_in_data = !f.data_end;
            rv = on_data(h, s, f.p, f.len);
        }
        else if (f.kind == LWQ_H3_P_FRAME && f.type == LWQ_H3_FT_HEADERS) {
            h3_qlog_frame(h, id, 0, f.type, f.len, NULL, 0);
            if (s->rx_state == RX_TRAILERS)
                return h3_conn_fail(h, LWQ_H3_FRAME_UNEXPECTED, "HEADERS after trailers");
            rv = lwq_qpack_decoder_decode(h->dec, (uint64_t)id, f.p, f.len, &h->tmp);
            if (rv == LWQ_ERR_AGAIN) {
                s->qpack_blocked = 1;
                return stash(h, s, p + off, n - off, fin);
            }
            if (rv == LWQ_ERR_LIMIT)
                return h3_stream_error(h, s, LWQ_H3_EXCESSIVE_LOAD, 1);
            if (rv == LWQ_ERR_PROTO)
                return h3_conn_fail(h, lwq_qpack_decoder_wire_error(h->dec), "QPACK field section");
            if (rv == 0)
                rv = on_section(h, s, &h->tmp);
            if (rv == 0)
                rv = h3_flush_decoder(h);
        }
        if (rv)
            return rv;
        if (h3_stream_find(h, id) != s || s->gone_rx)
            return 0;
    }
    return fin ? on_fin(h, s) : 0;
}

int h3_reject_beyond_goaway(lwq_h3_conn *h, int64_t id)
{
    /* RFC 9114 §4.1.1: never processed */
    h3_mark_dead(h, id);
    int rv = h3_push_action(h, LWQ_H3_ACT_STOP_SENDING, id, LWQ_H3_REQUEST_REJECTED, 0, 0);
    return rv ? rv : h3_push_action(h, LWQ_H3_ACT_RESET, id, LWQ_H3_REQUEST_REJECTED, 0, 0);
}

ssize_t h3_stream_recv(lwq_h3_conn *h, int64_t id, const uint8_t *p, size_t n, int fin)
{
    h3_stream *s = h3_stream_find(h, id);
    if (!s) {
        /* a stream we finished with; streams may arrive out of order, so a lower ID can be new */
        if (!h->is_server || h3_is_dead(h, id))
            return (ssize_t)n;
        if (id > h->max_peer_bidi)
            h->max_peer_bidi = id;
        if (h->goaway_sent && (uint64_t)id >= h->goaway_sent_id) {
            int rv = h3_reject_beyond_goaway(h, id);
            return rv ? rv : (ssize_t)n;
        }
        s = stream_new(h, id);
        if (!s) {
            int rv = h3_reject_beyond_goaway(h, id);
            return rv ? rv : (ssize_t)n;
        }
    }
    if (s->gone_rx || s->rx_done)
        return (ssize_t)n;
    size_t w = h3_stream_window(h, s);
    size_t take = n < w ? n : w;
    if (take < n)
        fin = 0;
    if (s->qpack_blocked) {
        int rv = stash(h, s, p, take, fin);
        return rv ? rv : (ssize_t)take;
    }
    int rv = process(h, s, p, take, fin);
    return rv ? rv : (ssize_t)take;
}

int h3_stream_unblocked(lwq_h3_conn *h, int64_t id, lwq_qpack_headers *hd, int rv)
{
    h3_stream *s = h3_stream_find(h, id);
    if (!s || !s->qpack_blocked)
        return 0;
    s->qpack_blocked = 0;
    if (rv == LWQ_ERR_LIMIT)
        return h3_stream_error(h, s, LWQ_H3_EXCESSIVE_LOAD, 1);
    if (rv)
        return rv;
    rv = on_section(h, s, hd);
    if (rv || h3_stream_find(h, id) != s || s->gone_rx)
        return rv;
    uint8_t *pend = s->pend;
    size_t len = s->pend_len;
    int fin = s->pend_fin;
    s->pend = NULL;
    s->pend_len = s->pend_cap = 0;
    s->pend_fin = 0;
    rv = process(h, s, pend, len, fin);
    lwq_free(h->alloc, pend);
    return rv;
}

ssize_t lwq_h3_conn_read_body(lwq_h3_conn *h, int64_t id, uint8_t *buf, size_t cap)
{
    h3_stream *s = h3_stream_find(h, id);
    if (!s)
        return 0;
    size_t k = s->body_len - s->body_off;
    if (k > cap)
        k = cap;
    if (k)
        memcpy(buf, s->body + s->body_off, k);
    s->body_off += k;
    if (s->body_off == s->body_len)
        s->body_off = s->body_len = 0;
    h3_stream_gc(h, s);
    return (ssize_t)k;
}

int h3_stream_fill(lwq_h3_conn *h, h3_stream *s)
{
    if (lwq_qpack_buf_reserve(&s->out.b, 3 + H3_DATA_CHUNK))
        return LWQ_ERR_NOMEM;
    int eof = 0;
    ssize_t n;
    if (s->src) {
        n = s->src(s->src_ud, s->id, s->out.b.data + 3, H3_DATA_CHUNK, &eof);
    } else {
        n = (ssize_t)(s->copy_len - s->copy_off);
        if (n > H3_DATA_CHUNK)
            n = H3_DATA_CHUNK;
        if (n)
            memcpy(s->out.b.data + 3, s->copy + s->copy_off, (size_t)n);
        s->copy_off += (size_t)n;
        eof = s->copy_off == s->copy_len;
    }
    if (n == LWQ_ERR_AGAIN) {
        s->src_paused = 1;
        return LWQ_ERR_AGAIN;
    }
    if (n < 0 || n > H3_DATA_CHUNK) {
        h3_stream_error(h, s, LWQ_H3_INTERNAL_ERROR, 1);
        return LWQ_ERR_IO;
    }
    if (n > 0) {
        size_t hl = lwq_h3_frame_hdr_len(LWQ_H3_FT_DATA, (uint64_t)n);
        lwq_h3_frame_hdr_encode(s->out.b.data + 3 - hl, hl, LWQ_H3_FT_DATA, (uint64_t)n);
        h3_qlog_frame(h, s->id, 1, LWQ_H3_FT_DATA, (uint64_t)n, NULL, 0);
        s->out.off = 3 - hl;
        s->out.b.len = 3 + (size_t)n;
    }
    if (eof) {
        s->src_on = 0;
        lwq_free(h->alloc, s->copy);
        s->copy = NULL;
        if (s->has_trailers) {
            if (h3_out_append(&s->out, s->trailers.data, s->trailers.len))
                return LWQ_ERR_NOMEM;
            s->has_trailers = 0;
        }
        s->out_fin = 1;
    }
    return 0;
}

static int set_body(lwq_h3_conn *h, h3_stream *s, const lwq_h3_body *b)
{
    if (!b) {
        s->out_fin = 1;
        return 0;
    }
    if (b->read) {
        s->src = b->read;
        s->src_ud = b->ud;
    } else if (b->len) {
        s->copy = lwq_memdup(h->alloc, b->data, b->len);
        if (!s->copy)
            return LWQ_ERR_NOMEM;
        s->copy_len = b->len;
    }
    s->src_on = 1;
    return 0;
}

static int valid_status(int st)
{
    return st >= 100 && st <= 599 && st != 101;
}

int lwq_h3_conn_submit_request(lwq_h3_conn *h, int64_t id, const lwq_h3_request *r)
{
    if (h->is_server || id < 0 || (id & 3) != 0 || !r || !r->method || !r->scheme || !r->path || r->urgency > 7)
        return LWQ_ERR_INVAL;
    if (h->error)
        return LWQ_ERR_PROTO;
    if (h->goaway_rcvd || h3_stream_find(h, id))
        return LWQ_ERR_STATE;
    if (h->nst == h->cfg.max_streams || r->extra_count > h->cfg.max_fields)
        return LWQ_ERR_LIMIT;
    size_t nf = 0;
    lwq_h3_field *f = lwq_calloc(h->alloc, r->extra_count + 5, sizeof(*f));
    if (!f)
        return LWQ_ERR_NOMEM;
    const char *pseudo[4][2] = {
        {":method", r->method}, {":scheme", r->scheme}, {":authority", r->authority}, {":path", r->path}};
    for (int i = 0; i < 4; i++)
        if (pseudo[i][1]) {
            f[nf].name = (const uint8_t *)pseudo[i][0];
            f[nf].name_len = strlen(pseudo[i][0]);
            f[nf].value = (const uint8_t *)pseudo[i][1];
            f[nf++].value_len = strlen(pseudo[i][1]);
        }
    char prio[16];
    if (r->urgency != 3 || r->incremental) {
        /* RFC 9218 §5 */
        size_t pl = 0;
        if (r->urgency != 3) {
            prio[pl++] = 'u';
            prio[pl++] = '=';
            prio[pl++] = (char)('0' + r->urgency);
        }
        if (r->incremental) {
            if (pl) {
                prio[pl++] = ',';
                prio[pl++] = ' ';
            }
            prio[pl++] = 'i';
        }
        f[nf].name = (const uint8_t *)"priority";
        f[nf].name_len = 8;
        f[nf].value = (const uint8_t *)prio;
        f[nf++].value_len = pl;
    }
    for (size_t i = 0; i < r->extra_count; i++)
        f[nf++] = r->extra[i];
    lwq_h3_msg_info mi;
    int rv = lwq_h3_check_fields(f, nf, LWQ_H3_MSG_REQUEST, &mi) < 0 ? LWQ_ERR_INVAL : 0;
    h3_stream *s = rv ? NULL : stream_new(h, id);
    if (!rv && !s)
        rv = LWQ_ERR_NOMEM;
    if (!rv)
        rv = h3_encode_section(h, id, f, nf, &s->out.b);
    if (!rv)
        rv = set_body(h, s, r->body);
    lwq_free(h->alloc, f);
    if (rv && s) {
        h->nst--;
        h->ntx--;
        h3_stream_free(h, s);
        return rv;
    }
    if (!rv) {
        s->is_head = mi.is_head;
        s->headers_sent = 1;
    }
    return rv;
}

static int respond(lwq_h3_conn *h, int64_t id, int status, const lwq_h3_field *fields, size_t count,
                   const lwq_h3_body *body, int info)
{
    if (!h->is_server || !valid_status(status) || (info != (status < 200)) || count > h->cfg.max_fields)
        return LWQ_ERR_INVAL;
    if (h->error)
        return LWQ_ERR_PROTO;
    h3_stream *s = h3_stream_find(h, id);
    if (!s || s->tx_done || s->headers_sent)
        return LWQ_ERR_STATE;
    lwq_h3_field *f = lwq_calloc(h->alloc, count + 1, sizeof(*f));
    if (!f)
        return LWQ_ERR_NOMEM;
    char st[4] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10), (char)('0' + status % 10), 0};
    f[0].name = (const uint8_t *)":status";
    f[0].name_len = 7;
    f[0].value = (const uint8_t *)st;
    f[0].value_len = 3;
    for (size_t i = 0; i < count; i++)
        f[i + 1] = fields[i];
    lwq_h3_msg_info mi;
    int rv = lwq_h3_check_fields(f, count + 1, LWQ_H3_MSG_RESPONSE, &mi) < 0 ? LWQ_ERR_INVAL : 0;
    if (!rv)
        rv = h3_encode_section(h, id, f, count + 1, &s->out.b);
    lwq_free(h->alloc, f);
    if (rv || info)
        return rv;
    s->headers_sent = 1;
    /* RFC 9110 §9.3.2: no content in a response to HEAD */
    return set_body(h, s, s->is_head ? NULL : body);
}

int lwq_h3_conn_submit_response(lwq_h3_conn *h, int64_t id, int status, const lwq_h3_field *fields, size_t count,
                                const lwq_h3_body *body)
{
    return respond(h, id, status, fields, count, body, 0);
}

int lwq_h3_conn_submit_info(lwq_h3_conn *h, int64_t id, int status, const lwq_h3_field *fields, size_t count)
{
    return respond(h, id, status, fields, count, NULL, 1);
}

int lwq_h3_conn_submit_trailers(lwq_h3_conn *h, int64_t id, const lwq_h3_field *fields, size_t count)
{
    h3_stream *s = h3_stream_find(h, id);
    lwq_h3_msg_info mi;
    if (!s || !s->src_on || s->has_trailers)
        return LWQ_ERR_STATE;
    if (lwq_h3_check_fields(fields, count, LWQ_H3_MSG_TRAILERS, &mi) < 0)
        return LWQ_ERR_INVAL;
    int rv = h3_encode_section(h, id, fields, count, &s->trailers);
    if (!rv)
        s->has_trailers = 1;
    return rv;
}

int lwq_h3_conn_resume(lwq_h3_conn *h, int64_t id)
{
    h3_stream *s = h3_stream_find(h, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    s->src_paused = 0;
    return 0;
}

int lwq_h3_conn_cancel(lwq_h3_conn *h, int64_t id, uint64_t code)
{
    h3_stream *s = h3_stream_find(h, id);
    if (!s)
        return LWQ_ERR_NOT_FOUND;
    return h3_stream_error(h, s, code, 0);
}
