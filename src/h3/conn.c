#include <stdio.h>
#include "h3/conn_int.h"
#include "base/mem.h"
#include "quic/varint.h"

void lwq_h3_config_init(lwq_h3_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_field_section_size = 65536;
    cfg->qpack_max_table_capacity = 4096;
    cfg->qpack_blocked_streams = 16;
    cfg->max_fields = 256;
    cfg->max_streams = 256;
    cfg->max_body_buffer = 256 * 1024;
    cfg->max_control_frame = 4096;
}

int lwq_h3_conn_new(lwq_h3_conn **out, int is_server, const lwq_h3_config *cfg)
{
    lwq_h3_config d;
    if (!cfg) {
        lwq_h3_config_init(&d);
        cfg = &d;
    }
    if (!cfg->max_streams || !cfg->max_body_buffer || !cfg->max_fields || cfg->max_control_frame < 64)
        return LWQ_ERR_INVAL;
    const lwq_allocator *a = cfg->alloc ? cfg->alloc : lwq_default_allocator();
    lwq_h3_conn *h = lwq_calloc(a, 1, sizeof(*h));
    if (!h)
        return LWQ_ERR_NOMEM;
    h->alloc = a;
    h->cfg = *cfg;
    h->cfg.alloc = a;
    h->is_server = is_server;
    h->max_peer_bidi = -1;
    h->ctrl_id = h->enc_id = h->dec_id = -1;
    lwq_h3_settings_default(&h->peer);
    lwq_qpack_buf_init(&h->ctrl.b, a);
    lwq_qpack_buf_init(&h->encs.b, a);
    lwq_qpack_buf_init(&h->decs.b, a);
    lwq_qpack_headers_init(&h->tmp, a);
    lwq_qpack_decoder_config dc = {cfg->qpack_max_table_capacity, cfg->qpack_blocked_streams,
                                   cfg->max_field_section_size, 0};
    int rv = lwq_qpack_encoder_new(&h->enc, a, NULL);
    if (rv == 0)
        rv = lwq_qpack_decoder_new(&h->dec, a, &dc);
    if (rv == 0) {
        h->st = lwq_calloc(a, cfg->max_streams, sizeof(*h->st));
        if (!h->st)
            rv = LWQ_ERR_NOMEM;
    }
    if (rv) {
        lwq_h3_conn_del(h);
        return rv;
    }
    *out = h;
    return 0;
}

void lwq_h3_conn_del(lwq_h3_conn *h)
{
    if (!h)
        return;
    for (size_t i = 0; h->st && i < h->nst; i++)
        h3_stream_free(h, h->st[i]);
    lwq_free(h->alloc, h->st);
    for (size_t i = 0; i < h->nuni; i++)
        lwq_h3_parser_free(&h->uni[i].ps);
    for (size_t i = 0; i < h->evq_len; i++) {
        lwq_qpack_headers *x = h->evq[(h->evq_head + i) % h->evq_cap].hdrs;
        if (x) {
            lwq_qpack_headers_free(x);
            lwq_free(h->alloc, x);
        }
    }
    if (h->cur_hdrs) {
        lwq_qpack_headers_free(h->cur_hdrs);
        lwq_free(h->alloc, h->cur_hdrs);
    }
    lwq_free(h->alloc, h->evq);
    lwq_free(h->alloc, h->actq);
    lwq_qpack_buf_free(&h->ctrl.b);
    lwq_qpack_buf_free(&h->encs.b);
    lwq_qpack_buf_free(&h->decs.b);
    lwq_qpack_headers_free(&h->tmp);
    lwq_qpack_encoder_del(h->enc);
    lwq_qpack_decoder_del(h->dec);
    lwq_free(h->alloc, h);
}

int h3_out_append(h3_outbuf *o, const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    if (lwq_qpack_buf_reserve(&o->b, n))
        return LWQ_ERR_NOMEM;
    memcpy(o->b.data + o->b.len, p, n);
    o->b.len += n;
    return 0;
}

ssize_t lwq_h3_early_context(const lwq_h3_config *cfg, uint8_t *out, size_t cap)
{
    lwq_h3_settings s = {cfg->max_field_section_size, cfg->qpack_max_table_capacity, cfg->qpack_blocked_streams};
    return lwq_h3_settings_encode(out, cap, &s, 0); /* no reserved setting: the same bytes each time */
}

int lwq_h3_conn_bind_streams(lwq_h3_conn *h, int64_t control, int64_t qpack_enc, int64_t qpack_dec)
{
    if (h->bound)
        return LWQ_ERR_STATE;
    uint8_t buf[96];
    lwq_h3_settings s = {h->cfg.max_field_section_size, h->cfg.qpack_max_table_capacity, h->cfg.qpack_blocked_streams};
    buf[0] = LWQ_H3_ST_CONTROL;
    /* RFC 9114 §7.2.4.1: a reserved setting to exercise the peer */
    ssize_t n = lwq_h3_settings_encode(buf + 1, sizeof(buf) - 1, &s, 0x1f * 3 + 0x21);
    uint8_t te = LWQ_H3_ST_QPACK_ENC, td = LWQ_H3_ST_QPACK_DEC;
    if (n < 0)
        return (int)n;
    h3_qlog_stream_type(h, control, 1, LWQ_H3_ST_CONTROL);
    h3_qlog_stream_type(h, qpack_enc, 1, LWQ_H3_ST_QPACK_ENC);
    h3_qlog_stream_type(h, qpack_dec, 1, LWQ_H3_ST_QPACK_DEC);
    h3_qlog_frame(h, control, 1, LWQ_H3_FT_SETTINGS, (uint64_t)n - lwq_h3_frame_hdr_len(LWQ_H3_FT_SETTINGS, (uint64_t)n), NULL, 0);
    /* the type byte goes first; QPACK bytes produced before binding follow it */
    h3_outbuf tmp_e = h->encs, tmp_d = h->decs;
    lwq_qpack_buf_init(&h->encs.b, h->alloc);
    lwq_qpack_buf_init(&h->decs.b, h->alloc);
    h->encs.off = h->decs.off = 0;
    int rv = h3_out_append(&h->ctrl, buf, (size_t)n + 1);
    if (!rv)
        rv = h3_out_append(&h->encs, &te, 1);
    if (!rv && tmp_e.b.len > tmp_e.off)
        rv = h3_out_append(&h->encs, tmp_e.b.data + tmp_e.off, tmp_e.b.len - tmp_e.off);
    if (!rv)
        rv = h3_out_append(&h->decs, &td, 1);
    if (!rv && tmp_d.b.len > tmp_d.off)
        rv = h3_out_append(&h->decs, tmp_d.b.data + tmp_d.off, tmp_d.b.len - tmp_d.off);
    lwq_qpack_buf_free(&tmp_e.b);
    lwq_qpack_buf_free(&tmp_d.b);
    if (rv)
        return rv;
    h->ctrl_id = control;
    h->enc_id = qpack_enc;
    h->dec_id = qpack_dec;
    h->bound = 1;
    return 0;
}

int h3_conn_fail(lwq_h3_conn *h, uint64_t code, const char *reason)
{
    if (!h->error) {
        h->error = code;
        snprintf(h->reason, sizeof(h->reason), "%s", reason);
        h3_push_action(h, LWQ_H3_ACT_CLOSE, -1, code, 0, 0);
        lwq_h3_event ev = {0};
        ev.type = LWQ_H3_EV_CLOSED;
        ev.stream_id = -1;
        ev.error_code = code;
        h3_push_event(h, &ev, NULL);
    }
    return LWQ_ERR_PROTO;
}

int h3_push_event(lwq_h3_conn *h, const lwq_h3_event *ev, lwq_qpack_headers *hdrs)
{
    if (h->evq_len == h->evq_cap) {
        size_t cap = h->evq_cap ? h->evq_cap * 2 : 16;
        /* a peer cannot queue events faster than the application pulls them */
        if (cap > 4 * h->cfg.max_streams + 64 && ev->type != LWQ_H3_EV_CLOSED) {
            if (hdrs) {
                lwq_qpack_headers_free(hdrs);
                lwq_free(h->alloc, hdrs);
            }
            return h3_conn_fail(h, LWQ_H3_EXCESSIVE_LOAD, "event queue full");
        }
        h3_qev *q = lwq_malloc(h->alloc, cap * sizeof(*q));
        if (!q) {
            if (hdrs) {
                lwq_qpack_headers_free(hdrs);
                lwq_free(h->alloc, hdrs);
            }
            return LWQ_ERR_NOMEM;
        }
        for (size_t i = 0; i < h->evq_len; i++)
            q[i] = h->evq[(h->evq_head + i) % h->evq_cap];
        lwq_free(h->alloc, h->evq);
        h->evq = q;
        h->evq_cap = cap;
        h->evq_head = 0;
    }
    h3_qev *e = &h->evq[(h->evq_head + h->evq_len++) % h->evq_cap];
    e->ev = *ev;
    e->hdrs = hdrs;
    return 0;
}

int h3_push_action(lwq_h3_conn *h, lwq_h3_action_type t, int64_t id, uint64_t code, uint8_t u, int inc)
{
    if (h->actq_len == h->actq_cap) {
        size_t cap = h->actq_cap ? h->actq_cap * 2 : 16;
        lwq_h3_action *q = lwq_malloc(h->alloc, cap * sizeof(*q));
        if (!q)
            return LWQ_ERR_NOMEM;
        for (size_t i = 0; i < h->actq_len; i++)
            q[i] = h->actq[(h->actq_head + i) % h->actq_cap];
        lwq_free(h->alloc, h->actq);
        h->actq = q;
        h->actq_cap = cap;
        h->actq_head = 0;
    }
    lwq_h3_action *a = &h->actq[(h->actq_head + h->actq_len++) % h->actq_cap];
    memset(a, 0, sizeof(*a));
    a->type = t;
    a->stream_id = id;
    a->error_code = code;
    a->urgency = u;
    a->incremental = inc;
    return 0;
}

int h3_flush_decoder(lwq_h3_conn *h)
{
    return lwq_qpack_decoder_write_decoder(h->dec, &h->decs.b);
}

int h3_encode_section(lwq_h3_conn *h, int64_t id, const lwq_h3_field *f, size_t n, lwq_qpack_buf *dst)
{
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += f[i].name_len + f[i].value_len + 32;
    /* RFC 9114 §4.2.2 */
    if (size > h->peer.max_field_section_size)
        return LWQ_ERR_LIMIT;
    lwq_qpack_buf sec;
    lwq_qpack_buf_init(&sec, h->alloc);
    int rv = lwq_qpack_encoder_encode(h->enc, (uint64_t)id, f, n, &h->encs.b, &sec);
    if (rv == 0) {
        uint8_t hdr[16];
        ssize_t hl = lwq_h3_frame_hdr_encode(hdr, sizeof(hdr), LWQ_H3_FT_HEADERS, sec.len);
        if (hl < 0 || lwq_qpack_buf_reserve(dst, (size_t)hl + sec.len))
            rv = LWQ_ERR_NOMEM;
        else {
            memcpy(dst->data + dst->len, hdr, (size_t)hl);
            memcpy(dst->data + dst->len + hl, sec.data, sec.len);
            dst->len += (size_t)hl + sec.len;
            h3_qlog_frame(h, id, 1, LWQ_H3_FT_HEADERS, sec.len, f, n);
        }
    }
    lwq_qpack_buf_free(&sec);
    return rv;
}

static int on_settings(lwq_h3_conn *h, const uint8_t *p, size_t n)
{
    uint64_t err = 0;
    if (lwq_h3_settings_decode(&h->peer, p, n, &err) < 0)
        return h3_conn_fail(h, err, "bad SETTINGS");
    h->peer_settings = 1;
    int rv =
        lwq_qpack_encoder_set_peer_settings(h->enc, h->peer.qpack_max_table_capacity, h->peer.qpack_blocked_streams);
    if (rv)
        return h3_conn_fail(h, LWQ_H3_INTERNAL_ERROR, "QPACK settings");
    lwq_h3_event ev = {0};
    ev.type = LWQ_H3_EV_SETTINGS;
    ev.stream_id = -1;
    return h3_push_event(h, &ev, NULL);
}

static int on_goaway(lwq_h3_conn *h, uint64_t id)
{
    /* RFC 9114 §5.2: a client's GOAWAY carries a push ID, a server's a client bidi stream ID, never
     * larger than before */
    if ((!h->is_server && id % 4 != 0) || (h->goaway_rcvd && id > h->goaway_rcvd_id))
        return h3_conn_fail(h, LWQ_H3_ID_ERROR, "bad GOAWAY id");
    h->goaway_rcvd = 1;
    h->goaway_rcvd_id = id;
    if (!h->is_server) {
        for (size_t i = 0; i < h->nst;) {
            h3_stream *s = h->st[i];
            size_t before = h->nst;
            if ((uint64_t)s->id >= id) {
                /* never processed: the application may retry it elsewhere; our own resets say
                 * cancelled, since clients only send H3_REQUEST_REJECTED when asked to (§4.1.1) */
                lwq_h3_event rej = {0};
                rej.type = LWQ_H3_EV_RESET;
                rej.stream_id = s->id;
                rej.error_code = LWQ_H3_REQUEST_REJECTED;
                int rv = s->reset_reported ? 0 : h3_push_event(h, &rej, NULL);
                s->reset_reported = 1;
                if (!rv)
                    rv = h3_stream_error(h, s, LWQ_H3_REQUEST_CANCELLED, 1);
                if (rv)
                    return rv;
                if (h->nst < before)
                    continue; /* freed: another stream moved into slot i */
            }
            i++;
        }
    }
    lwq_h3_event ev = {0};
    ev.type = LWQ_H3_EV_GOAWAY;
    ev.stream_id = -1;
    ev.id = id;
    return h3_push_event(h, &ev, NULL);
}

static int on_control_frame(lwq_h3_conn *h, const lwq_h3_pframe *f)
{
    uint64_t v;
    switch (f->type) {
    case LWQ_H3_FT_SETTINGS:
        return on_settings(h, f->p, f->len);
    case LWQ_H3_FT_GOAWAY:
    case LWQ_H3_FT_MAX_PUSH_ID:
    case LWQ_H3_FT_CANCEL_PUSH:
        if (lwq_h3_frame_varint_decode(&v, f->p, f->len) < 0)
            return h3_conn_fail(h, LWQ_H3_FRAME_ERROR, "bad frame length");
        if (f->type == LWQ_H3_FT_GOAWAY)
            return on_goaway(h, v);
        /* RFC 9114 §7.2.3: we never allow pushes, so a client cannot be told to cancel one */
        if (f->type == LWQ_H3_FT_CANCEL_PUSH && !h->is_server)
            return h3_conn_fail(h, LWQ_H3_ID_ERROR, "CANCEL_PUSH for a push never allowed");
        return 0;
    case LWQ_H3_FT_PRIORITY_UPDATE_REQ:
    case LWQ_H3_FT_PRIORITY_UPDATE_PUSH: {
        const uint8_t *val;
        size_t vl;
        if (lwq_h3_priority_update_decode(&v, &val, &vl, f->p, f->len) < 0)
            return h3_conn_fail(h, LWQ_H3_FRAME_ERROR, "bad PRIORITY_UPDATE");
        /* RFC 9218 §7.2 */
        if (f->type == LWQ_H3_FT_PRIORITY_UPDATE_PUSH || v % 4 != 0)
            return h3_conn_fail(h, LWQ_H3_ID_ERROR, "PRIORITY_UPDATE for a non-request stream");
        h3_stream *s = h3_stream_find(h, (int64_t)v);
        if (!s)
            return 0;
        lwq_h3_event ev = {0};
        ev.type = LWQ_H3_EV_PRIORITY;
        ev.stream_id = s->id;
        lwq_h3_parse_priority(val, vl, &ev.urgency, &ev.incremental);
        int rv = h3_push_action(h, LWQ_H3_ACT_PRIORITY, s->id, 0, ev.urgency, ev.incremental);
        return rv ? rv : h3_push_event(h, &ev, NULL);
    }
    default:
        return 0;
    }
}

static h3_uni *uni_get(lwq_h3_conn *h, int64_t id, int *rv)
{
    *rv = 0;
    for (size_t i = 0; i < h->nuni; i++)
        if (h->uni[i].id == id)
            return &h->uni[i];
    for (size_t i = 0; i < h->nuni; i++)
        if (h->uni[i].kind == UNI_DONE) {
            lwq_h3_parser_free(&h->uni[i].ps);
            h->uni[i] = h->uni[--h->nuni];
            break;
        }
    if (h->nuni == H3_MAX_UNI) {
        *rv = h3_conn_fail(h, LWQ_H3_EXCESSIVE_LOAD, "too many unidirectional streams");
        return NULL;
    }
    h3_uni *u = &h->uni[h->nuni++];
    memset(u, 0, sizeof(*u));
    u->id = id;
    return u;
}

static ssize_t uni_recv(lwq_h3_conn *h, int64_t id, const uint8_t *p, size_t n, int fin)
{
    int rv;
    h3_uni *u = uni_get(h, id, &rv);
    size_t off = 0;
    if (!u)
        return rv;
    if (u->kind == UNI_TYPE) {
        while (off < n) {
            u->vb[u->vlen++] = p[off++];
            if (u->vlen == (size_t)1 << (u->vb[0] >> 6))
                break;
        }
        if (u->vlen == 0 || u->vlen < (size_t)1 << (u->vb[0] >> 6)) {
            if (fin)
                u->kind = UNI_DONE; /* RFC 9114 §6.2: a stream that ends before its type is ignored */
            return (ssize_t)n;
        }
        uint64_t t;
        lwq_varint_decode(&t, u->vb, u->vlen);
        h3_qlog_stream_type(h, id, 0, t);
        int *have = t == LWQ_H3_ST_CONTROL     ? &h->have_ctrl
                    : t == LWQ_H3_ST_QPACK_ENC ? &h->have_enc
                    : t == LWQ_H3_ST_QPACK_DEC ? &h->have_dec
                                               : NULL;
        if (have) {
            /* RFC 9114 §6.2.1, RFC 9204 §4.2: exactly one of each */
            if (*have)
                return h3_conn_fail(h, LWQ_H3_STREAM_CREATION_ERROR, "duplicate critical stream");
            *have = 1;
            u->kind = t == LWQ_H3_ST_CONTROL ? UNI_CONTROL : t == LWQ_H3_ST_QPACK_ENC ? UNI_ENC : UNI_DEC;
            if (u->kind == UNI_CONTROL)
                lwq_h3_parser_init(&u->ps, h->alloc, LWQ_H3_ON_CONTROL, h->is_server, h->cfg.max_control_frame,
                                   h->cfg.max_control_frame);
        } else if (t == LWQ_H3_ST_PUSH) {
            /* RFC 9114 §6.2.2: only servers push, and only after MAX_PUSH_ID, which we never send */
            return h3_conn_fail(h, h->is_server ? LWQ_H3_STREAM_CREATION_ERROR : LWQ_H3_ID_ERROR, "push stream");
        } else {
            /* RFC 9114 §6.2.3: unknown and reserved types are ignored */
            u->kind = UNI_IGNORE;
            rv = h3_push_action(h, LWQ_H3_ACT_STOP_SENDING, id, LWQ_H3_STREAM_CREATION_ERROR, 0, 0);
            if (rv)
                return rv;
        }
    }
    switch (u->kind) {
    case UNI_CONTROL:
        while (off < n) {
            lwq_h3_pframe f;
            ssize_t k = lwq_h3_parser_feed(&u->ps, p + off, n - off, &f);
            if (k < 0)
                return k == LWQ_ERR_NOMEM ? k : h3_conn_fail(h, u->ps.error, "control stream frame");
            off += (size_t)k;
            if (f.kind == LWQ_H3_P_FRAME)
                h3_qlog_frame(h, id, 0, f.type, f.len, NULL, 0);
            if (f.kind != LWQ_H3_P_NONE && (rv = on_control_frame(h, &f)) != 0)
                return rv;
        }
        break;
    case UNI_ENC: {
        ssize_t k = lwq_qpack_decoder_read_encoder(h->dec, p + off, n - off);
        if (k < 0)
            return k == LWQ_ERR_PROTO ? h3_conn_fail(h, lwq_qpack_decoder_wire_error(h->dec), "QPACK encoder stream")
                                      : k;
        uint64_t sid;
        while ((rv = lwq_qpack_decoder_next_unblocked(h->dec, &sid, &h->tmp)) != LWQ_ERR_AGAIN) {
            rv = h3_stream_unblocked(h, (int64_t)sid, &h->tmp, rv);
            if (rv)
                return rv;
        }
        if ((rv = h3_flush_decoder(h)) != 0)
            return rv;
        break;
    }
    case UNI_DEC: {
        ssize_t k = lwq_qpack_encoder_read_decoder(h->enc, p + off, n - off);
        if (k < 0)
            return k == LWQ_ERR_PROTO ? h3_conn_fail(h, lwq_qpack_encoder_wire_error(h->enc), "QPACK decoder stream")
                                      : k;
        break;
    }
    default:
        break;
    }
    /* RFC 9114 §6.2.1 */
    if (fin && (u->kind == UNI_CONTROL || u->kind == UNI_ENC || u->kind == UNI_DEC))
        return h3_conn_fail(h, LWQ_H3_CLOSED_CRITICAL_STREAM, "critical stream closed");
    if (fin)
        u->kind = UNI_DONE; /* its slot can be reused */
    return (ssize_t)n;
}

static int is_local(const lwq_h3_conn *h, int64_t id)
{
    return (int)(id & 1) == h->is_server;
}

ssize_t lwq_h3_conn_recv_stream(lwq_h3_conn *h, int64_t id, const uint8_t *p, size_t n, int fin)
{
    if (id < 0)
        return LWQ_ERR_INVAL;
    if (h->error)
        return LWQ_ERR_PROTO;
    if (id & 2) {
        if (is_local(h, id))
            return LWQ_ERR_INVAL;
        return uni_recv(h, id, p, n, fin);
    }
    /* RFC 9114 §6.1: servers do not open bidirectional streams */
    if (id & 1)
        return h3_conn_fail(h, LWQ_H3_STREAM_CREATION_ERROR, "server-initiated bidirectional stream");
    return h3_stream_recv(h, id, p, n, fin);
}

size_t lwq_h3_conn_recv_window(const lwq_h3_conn *h, int64_t id)
{
    if (id & 2)
        return SIZE_MAX;
    for (size_t i = 0; i < h->nst; i++)
        if (h->st[i]->id == id)
            return h3_stream_window(h, h->st[i]);
    return h->cfg.max_body_buffer;
}

static int critical(const lwq_h3_conn *h, int64_t id)
{
    for (size_t i = 0; i < h->nuni; i++)
        if (h->uni[i].id == id)
            return h->uni[i].kind == UNI_CONTROL || h->uni[i].kind == UNI_ENC || h->uni[i].kind == UNI_DEC;
    return 0;
}

int lwq_h3_conn_stream_reset(lwq_h3_conn *h, int64_t id, uint64_t code)
{
    if (h->error)
        return LWQ_ERR_PROTO;
    if (id & 2) {
        if (critical(h, id))
            return h3_conn_fail(h, LWQ_H3_CLOSED_CRITICAL_STREAM, "critical stream reset");
        for (size_t i = 0; i < h->nuni; i++)
            if (h->uni[i].id == id)
                h->uni[i].kind = UNI_DONE;
        return 0;
    }
    h3_stream *s = h3_stream_find(h, id);
    if (!s || s->rx_done)
        return 0;
    lwq_qpack_decoder_cancel_stream(h->dec, (uint64_t)id);
    s->rx_done = 1;
    s->gone_rx = 1;
    lwq_h3_event ev = {0};
    ev.type = LWQ_H3_EV_RESET;
    ev.stream_id = id;
    ev.error_code = code;
    s->reset_reported = 1;
    int rv = h3_push_event(h, &ev, NULL);
    if (rv)
        return rv;
    if (!s->tx_done) {
        h3_tx_done(h, s);
        rv = h3_push_action(h, LWQ_H3_ACT_RESET, id, LWQ_H3_REQUEST_CANCELLED, 0, 0);
    }
    rv = rv ? rv : h3_flush_decoder(h);
    h3_stream_gc(h, s);
    return rv;
}

int lwq_h3_conn_stop_sending(lwq_h3_conn *h, int64_t id, uint64_t code)
{
    if (h->error)
        return LWQ_ERR_PROTO;
    if (id == h->ctrl_id || id == h->enc_id || id == h->dec_id)
        return h3_conn_fail(h, LWQ_H3_CLOSED_CRITICAL_STREAM, "STOP_SENDING on a critical stream");
    h3_stream *s = h3_stream_find(h, id);
    if (!s || s->tx_done)
        return 0;
    h3_tx_done(h, s);
    int rv = h3_push_action(h, LWQ_H3_ACT_RESET, id, code, 0, 0);
    if (!rv && !s->reset_reported) {
        lwq_h3_event ev = {0};
        ev.type = LWQ_H3_EV_RESET;
        ev.stream_id = id;
        ev.error_code = code;
        s->reset_reported = 1;
        rv = h3_push_event(h, &ev, NULL);
    }
    h3_stream_gc(h, s);
    return rv;
}

static int out_pending(const h3_outbuf *o)
{
    return o->b.len > o->off;
}

int lwq_h3_conn_next_output(lwq_h3_conn *h, int64_t *id, const uint8_t **p, size_t *len, int *fin)
{
    h3_outbuf *u[3] = {&h->ctrl, &h->encs, &h->decs};
    int64_t ids[3] = {h->ctrl_id, h->enc_id, h->dec_id};
    static const char *why[3] = {"peer withholds flow control credit from our control stream",
                                 "peer withholds flow control credit from our QPACK encoder stream",
                                 "peer withholds flow control credit from our QPACK decoder stream"};
    *fin = 0;
    /* What the peer makes us owe on these streams grows with its requests, not with our writes. */
    for (int i = 0; i < 3; i++)
        if (u[i]->b.len - u[i]->off > h->cfg.max_body_buffer)
            h3_conn_fail(h, LWQ_H3_EXCESSIVE_LOAD, why[i]);
    if (h->bound)
        for (int i = 0; i < 3; i++)
            if (out_pending(u[i])) {
                *id = ids[i];
                *p = u[i]->b.data + u[i]->off;
                *len = u[i]->b.len - u[i]->off;
                return 1;
            }
    for (size_t k = 0, n = h->ntx ? h->nst : 0; k < n; k++) {
        h3_stream *s = h->st[(h->rr + k) % n];
        if (s->wblocked || s->tx_done)
            continue;
        if (!out_pending(&s->out) && s->src_on && !s->src_paused && h3_stream_fill(h, s) < 0)
            continue;
        if (out_pending(&s->out) || (s->out_fin && !s->fin_sent)) {
            *id = s->id;
            *p = s->out.b.data ? s->out.b.data + s->out.off : NULL;
            *len = s->out.b.len - s->out.off;
            *fin = s->out_fin;
            h->rr = (h->rr + k + 1) % h->nst;
            return 1;
        }
    }
    return 0;
}

static void out_consume(h3_outbuf *o, size_t n)
{
    o->off += n;
    if (o->off >= o->b.len)
        o->off = o->b.len = 0;
}

void lwq_h3_conn_output_done(lwq_h3_conn *h, int64_t id, size_t n, int blocked)
{
    if (id == h->ctrl_id)
        out_consume(&h->ctrl, n);
    else if (id == h->enc_id)
        out_consume(&h->encs, n);
    else if (id == h->dec_id)
        out_consume(&h->decs, n);
    else {
        h3_stream *s = h3_stream_find(h, id);
        if (!s)
            return;
        size_t left = s->out.b.len - s->out.off;
        out_consume(&s->out, n < left ? n : left);
        if (n >= left && s->out_fin && !blocked) {
            s->fin_sent = 1;
            h3_tx_done(h, s);
            h3_stream_gc(h, s);
            return;
        }
        if (blocked)
            s->wblocked = 1;
    }
}

void lwq_h3_conn_stream_writable(lwq_h3_conn *h, int64_t id)
{
    h3_stream *s = h3_stream_find(h, id);
    if (s)
        s->wblocked = 0;
}

int lwq_h3_conn_next_action(lwq_h3_conn *h, lwq_h3_action *a)
{
    if (!h->actq_len)
        return 0;
    *a = h->actq[h->actq_head];
    h->actq_head = (h->actq_head + 1) % h->actq_cap;
    h->actq_len--;
    if (a->type == LWQ_H3_ACT_CLOSE)
        a->reason = h->reason;
    return 1;
}

static int conn_next_event(lwq_h3_conn *h, lwq_h3_event *ev);

int lwq_h3_conn_next_event_sized(lwq_h3_conn *h, lwq_h3_event *ev, size_t struct_size)
{
    if (struct_size >= sizeof(*ev))
        return conn_next_event(h, ev);
    lwq_h3_event full; /* a caller built against older headers (docs/architecture.md, "ABI") */
    int r = conn_next_event(h, &full);
    if (r == 1)
        memcpy(ev, &full, struct_size);
    return r;
}

static int conn_next_event(lwq_h3_conn *h, lwq_h3_event *ev)
{
    if (h->cur_hdrs) {
        lwq_qpack_headers_free(h->cur_hdrs);
        lwq_free(h->alloc, h->cur_hdrs);
        h->cur_hdrs = NULL;
    }
    if (!h->evq_len)
        return 0;
    h3_qev *q = &h->evq[h->evq_head];
    h->evq_head = (h->evq_head + 1) % h->evq_cap;
    h->evq_len--;
    *ev = q->ev;
    h->cur_hdrs = q->hdrs;
    if (q->hdrs) {
        ev->fields = q->hdrs->fields;
        ev->field_count = q->hdrs->count;
    }
    return 1;
}

/* RFC 9114 §5.2: a later GOAWAY never names a larger identifier; sending the same one again is a no-op. */
static int send_goaway(lwq_h3_conn *h, uint64_t id)
{
    uint8_t buf[16];
    if (!h->bound)
        return LWQ_ERR_STATE; /* RFC 9114 §6.2.1: SETTINGS opens the control stream, GOAWAY follows */
    if (h->goaway_sent && id >= h->goaway_sent_id)
        return 0;
    ssize_t n = lwq_h3_frame_varint_encode(buf, sizeof(buf), LWQ_H3_FT_GOAWAY, id);
    if (n < 0)
        return (int)n;
    int rv = h3_out_append(&h->ctrl, buf, (size_t)n);
    if (rv)
        return rv;
    h->goaway_sent = 1;
    h->goaway_sent_id = id;
    return 0;
}

int lwq_h3_conn_goaway(lwq_h3_conn *h)
{
    /* RFC 9114 §5.2: the server names the first request it will not process; we send no pushes
     * so a client's GOAWAY carries push ID 0 */
    return send_goaway(h, h->is_server && h->max_peer_bidi >= 0 ? (uint64_t)h->max_peer_bidi + 4 : 0);
}

int lwq_h3_conn_goaway_notice(lwq_h3_conn *h)
{
    /* RFC 9114 §5.2: 2^62-4, the largest client bidirectional stream ID, rejects nothing in transit */
    return h->is_server ? send_goaway(h, ((uint64_t)1 << 62) - 4) : lwq_h3_conn_goaway(h);
}

int lwq_h3_conn_idle(const lwq_h3_conn *h)
{
    return h->nst == 0;
}

uint64_t lwq_h3_conn_error(const lwq_h3_conn *h, const char **reason)
{
    if (reason)
        *reason = h->reason;
    return h->error;
}

uint64_t lwq_h3_conn_peer_max_field_section(const lwq_h3_conn *h)
{
    return h->peer.max_field_section_size;
}
