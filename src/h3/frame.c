#include "h3/frame.h"
#include "base/mem.h"
#include "quic/varint.h"

enum { PS_TYPE = 0, PS_LEN, PS_BUFFER, PS_DATA, PS_SKIP };

void lwq_h3_settings_default(lwq_h3_settings *s)
{
    /* RFC 9114 §7.2.4.2: unlimited; RFC 9204 §5: 0 */
    s->max_field_section_size = UINT64_MAX;
    s->qpack_max_table_capacity = 0;
    s->qpack_blocked_streams = 0;
}

int lwq_h3_is_grease(uint64_t v)
{
    return v >= 0x21 && (v - 0x21) % 0x1f == 0;
}

ssize_t lwq_h3_settings_decode(lwq_h3_settings *s, const uint8_t *p, size_t n, uint64_t *h3_err)
{
    uint64_t seen = 0;
    size_t off = 0;
    lwq_h3_settings_default(s);
    while (off < n) {
        uint64_t id, v;
        ssize_t a = lwq_varint_decode(&id, p + off, n - off);
        ssize_t b = a < 0 ? a : lwq_varint_decode(&v, p + off + (size_t)a, n - off - (size_t)a);
        if (b < 0) {
            *h3_err = LWQ_H3_FRAME_ERROR;
            return LWQ_ERR_DECODE;
        }
        off += (size_t)a + (size_t)b;
        /* RFC 9114 §7.2.4.1: HTTP/2 settings without an HTTP/3 meaning */
        if (id >= 0x02 && id <= 0x05) {
            *h3_err = LWQ_H3_SETTINGS_ERROR;
            return LWQ_ERR_DECODE;
        }
        uint64_t bit = id == LWQ_H3_SET_QPACK_MAX_TABLE_CAPACITY ? 1
                       : id == LWQ_H3_SET_MAX_FIELD_SECTION_SIZE ? 2
                       : id == LWQ_H3_SET_QPACK_BLOCKED_STREAMS  ? 4
                                                                 : 0;
        if (!bit)
            continue;
        /* RFC 9114 §7.2.4: duplicates MAY be a connection error; we treat them so */
        if (seen & bit) {
            *h3_err = LWQ_H3_SETTINGS_ERROR;
            return LWQ_ERR_DECODE;
        }
        seen |= bit;
        if (bit == 1)
            s->qpack_max_table_capacity = v;
        else if (bit == 2)
            s->max_field_section_size = v;
        else
            s->qpack_blocked_streams = v;
    }
    return (ssize_t)n;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    return (size_t)lwq_varint_encode(out, 8, v);
}

ssize_t lwq_h3_frame_hdr_encode(uint8_t *out, size_t cap, uint64_t type, uint64_t len)
{
    size_t a = lwq_varint_len(type), b = lwq_varint_len(len);
    if (!a || !b)
        return LWQ_ERR_INVAL;
    if (a + b > cap)
        return LWQ_ERR_NOBUF;
    put_varint(out, type);
    put_varint(out + a, len);
    return (ssize_t)(a + b);
}

size_t lwq_h3_frame_hdr_len(uint64_t type, uint64_t len)
{
    return lwq_varint_len(type) + lwq_varint_len(len);
}

ssize_t lwq_h3_settings_encode(uint8_t *out, size_t cap, const lwq_h3_settings *s, uint64_t grease_id)
{
    uint8_t body[64];
    size_t n = 0;
    n += put_varint(body + n, LWQ_H3_SET_QPACK_MAX_TABLE_CAPACITY);
    n += put_varint(body + n, s->qpack_max_table_capacity);
    n += put_varint(body + n, LWQ_H3_SET_QPACK_BLOCKED_STREAMS);
    n += put_varint(body + n, s->qpack_blocked_streams);
    if (s->max_field_section_size != UINT64_MAX) {
        n += put_varint(body + n, LWQ_H3_SET_MAX_FIELD_SECTION_SIZE);
        n += put_varint(body + n, s->max_field_section_size);
    }
    if (lwq_h3_is_grease(grease_id)) {
        n += put_varint(body + n, grease_id);
        n += put_varint(body + n, 0);
    }
    ssize_t h = lwq_h3_frame_hdr_encode(out, cap, LWQ_H3_FT_SETTINGS, n);
    if (h < 0)
        return h;
    if ((size_t)h + n > cap)
        return LWQ_ERR_NOBUF;
    memcpy(out + h, body, n);
    return h + (ssize_t)n;
}

ssize_t lwq_h3_frame_varint_encode(uint8_t *out, size_t cap, uint64_t type, uint64_t v)
{
    size_t vl = lwq_varint_len(v);
    if (!vl)
        return LWQ_ERR_INVAL;
    ssize_t h = lwq_h3_frame_hdr_encode(out, cap, type, vl);
    if (h < 0)
        return h;
    if ((size_t)h + vl > cap)
        return LWQ_ERR_NOBUF;
    put_varint(out + h, v);
    return h + (ssize_t)vl;
}

ssize_t lwq_h3_frame_varint_decode(uint64_t *v, const uint8_t *p, size_t n)
{
    ssize_t a = lwq_varint_decode(v, p, n);
    /* RFC 9114 §7.1: a frame longer or shorter than its fields is H3_FRAME_ERROR */
    if (a < 0 || (size_t)a != n)
        return LWQ_ERR_DECODE;
    return a;
}

ssize_t lwq_h3_priority_update_decode(uint64_t *id, const uint8_t **value, size_t *value_len, const uint8_t *p,
                                      size_t n)
{
    ssize_t a = lwq_varint_decode(id, p, n);
    if (a < 0)
        return LWQ_ERR_DECODE;
    *value = p + a;
    *value_len = n - (size_t)a;
    return (ssize_t)n;
}

ssize_t lwq_h3_priority_update_encode(uint8_t *out, size_t cap, uint64_t id, const char *value)
{
    size_t vl = strlen(value), il = lwq_varint_len(id);
    if (!il)
        return LWQ_ERR_INVAL;
    ssize_t h = lwq_h3_frame_hdr_encode(out, cap, LWQ_H3_FT_PRIORITY_UPDATE_REQ, il + vl);
    if (h < 0)
        return h;
    if ((size_t)h + il + vl > cap)
        return LWQ_ERR_NOBUF;
    put_varint(out + h, id);
    memcpy(out + h + il, value, vl);
    return h + (ssize_t)(il + vl);
}

uint64_t lwq_h3_frame_check(lwq_h3_stream_kind kind, int is_server, int first, uint64_t type)
{
    /* RFC 9114 §7.2.8: HTTP/2 frame types */
    if (type == 0x02 || type == 0x06 || type == 0x08 || type == 0x09)
        return LWQ_H3_FRAME_UNEXPECTED;
    if (kind == LWQ_H3_ON_CONTROL) {
        /* RFC 9114 §6.2.1 */
        if (first)
            return type == LWQ_H3_FT_SETTINGS ? 0 : LWQ_H3_MISSING_SETTINGS;
        switch (type) {
        case LWQ_H3_FT_DATA:
        case LWQ_H3_FT_HEADERS:
        case LWQ_H3_FT_PUSH_PROMISE:
        case LWQ_H3_FT_SETTINGS:
            return LWQ_H3_FRAME_UNEXPECTED;
        case LWQ_H3_FT_MAX_PUSH_ID:
            /* RFC 9114 §7.2.7: only clients send it */
            return is_server ? 0 : LWQ_H3_FRAME_UNEXPECTED;
        case LWQ_H3_FT_PRIORITY_UPDATE_REQ:
        case LWQ_H3_FT_PRIORITY_UPDATE_PUSH:
            /* RFC 9218 §7.1 */
            return is_server ? 0 : LWQ_H3_FRAME_UNEXPECTED;
        default:
            return 0;
        }
    }
    switch (type) {
    case LWQ_H3_FT_CANCEL_PUSH:
    case LWQ_H3_FT_SETTINGS:
    case LWQ_H3_FT_GOAWAY:
    case LWQ_H3_FT_MAX_PUSH_ID:
    case LWQ_H3_FT_PRIORITY_UPDATE_REQ:
    case LWQ_H3_FT_PRIORITY_UPDATE_PUSH:
        return LWQ_H3_FRAME_UNEXPECTED;
    case LWQ_H3_FT_PUSH_PROMISE:
        /* RFC 9114 §7.2.5: servers never receive it; a client that sent no MAX_PUSH_ID gets
         * a push ID above its maximum */
        return is_server ? LWQ_H3_FRAME_UNEXPECTED : LWQ_H3_ID_ERROR;
    default:
        return 0;
    }
}

void lwq_h3_parser_init(lwq_h3_parser *ps, const lwq_allocator *a, lwq_h3_stream_kind kind, int is_server,
                        size_t max_payload, size_t max_headers)
{
    memset(ps, 0, sizeof(*ps));
    ps->alloc = a;
    ps->kind = kind;
    ps->is_server = is_server;
    ps->max_payload = max_payload;
    ps->max_headers = max_headers;
    ps->first = 1;
}

void lwq_h3_parser_free(lwq_h3_parser *ps)
{
    lwq_free(ps->alloc, ps->buf);
    ps->buf = NULL;
    ps->buf_cap = ps->buf_len = 0;
}

int lwq_h3_parser_at_boundary(const lwq_h3_parser *ps)
{
    return ps->state == PS_TYPE && ps->vlen == 0;
}

/* 1 when the varint is complete in ps->vb. */
static size_t take_varint(lwq_h3_parser *ps, const uint8_t *p, size_t n, uint64_t *v, int *done)
{
    size_t used = 0;
    *done = 0;
    if (ps->vlen == 0) {
        if (!n)
            return 0;
        ps->vneed = (size_t)1 << (p[0] >> 6);
    }
    while (ps->vlen < ps->vneed && used < n)
        ps->vb[ps->vlen++] = p[used++];
    if (ps->vlen == ps->vneed) {
        lwq_varint_decode(v, ps->vb, ps->vlen);
        ps->vlen = 0;
        *done = 1;
    }
    return used;
}

static ssize_t fail(lwq_h3_parser *ps, uint64_t code, int rv)
{
    ps->error = code;
    return rv;
}

static ssize_t start_payload(lwq_h3_parser *ps, lwq_h3_pframe *out)
{
    uint64_t t = ps->type;
    if (t == LWQ_H3_FT_DATA) {
        ps->state = PS_DATA;
        if (ps->left == 0) {
            out->kind = LWQ_H3_P_DATA;
            out->type = t;
            out->p = NULL;
            out->len = 0;
            out->data_end = 1;
            ps->state = PS_TYPE;
        }
        return 0;
    }
    int known = t == LWQ_H3_FT_HEADERS || t == LWQ_H3_FT_SETTINGS || t == LWQ_H3_FT_GOAWAY ||
                t == LWQ_H3_FT_MAX_PUSH_ID || t == LWQ_H3_FT_CANCEL_PUSH || t == LWQ_H3_FT_PUSH_PROMISE ||
                t == LWQ_H3_FT_PRIORITY_UPDATE_REQ || t == LWQ_H3_FT_PRIORITY_UPDATE_PUSH;
    if (!known) {
        ps->state = ps->left ? PS_SKIP : PS_TYPE;
        return 0;
    }
    size_t max = t == LWQ_H3_FT_HEADERS ? ps->max_headers : ps->max_payload;
    if (ps->left > max)
        return fail(ps, LWQ_H3_EXCESSIVE_LOAD, t == LWQ_H3_FT_HEADERS ? LWQ_ERR_LIMIT : LWQ_ERR_PROTO);
    if (ps->buf_cap < ps->left) {
        uint8_t *nb = lwq_realloc(ps->alloc, ps->buf, (size_t)ps->left);
        if (!nb)
            return LWQ_ERR_NOMEM;
        ps->buf = nb;
        ps->buf_cap = (size_t)ps->left;
    }
    ps->buf_len = 0;
    ps->state = PS_BUFFER;
    if (ps->left == 0) {
        out->kind = LWQ_H3_P_FRAME;
        out->type = t;
        out->p = ps->buf;
        out->len = 0;
        ps->state = PS_TYPE;
    }
    return 0;
}

ssize_t lwq_h3_parser_feed(lwq_h3_parser *ps, const uint8_t *p, size_t n, lwq_h3_pframe *out)
{
    size_t off = 0;
    out->kind = LWQ_H3_P_NONE;
    while (out->kind == LWQ_H3_P_NONE && (off < n || ps->state == PS_DATA)) {
        uint64_t v;
        int done;
        switch (ps->state) {
        case PS_TYPE:
            off += take_varint(ps, p + off, n - off, &v, &done);
            if (done) {
                uint64_t err = lwq_h3_frame_check(ps->kind, ps->is_server, ps->first, v);
                if (err)
                    return fail(ps, err, LWQ_ERR_PROTO);
                ps->first = 0;
                ps->type = v;
                ps->state = PS_LEN;
            }
            break;
        case PS_LEN:
            off += take_varint(ps, p + off, n - off, &v, &done);
            if (done) {
                ps->left = v;
                ssize_t rv = start_payload(ps, out);
                if (rv < 0)
                    return rv;
            }
            break;
        case PS_BUFFER: {
            size_t k = n - off < ps->left ? n - off : (size_t)ps->left;
            memcpy(ps->buf + ps->buf_len, p + off, k);
            ps->buf_len += k;
            ps->left -= k;
            off += k;
            if (!ps->left) {
                out->kind = LWQ_H3_P_FRAME;
                out->type = ps->type;
                out->p = ps->buf;
                out->len = ps->buf_len;
                ps->state = PS_TYPE;
            }
            break;
        }
        case PS_DATA: {
            if (off == n)
                return (ssize_t)off;
            size_t k = n - off < ps->left ? n - off : (size_t)ps->left;
            out->kind = LWQ_H3_P_DATA;
            out->type = LWQ_H3_FT_DATA;
            out->p = p + off;
            out->len = k;
            ps->left -= k;
            off += k;
            out->data_end = ps->left == 0;
            if (!ps->left)
                ps->state = PS_TYPE;
            break;
        }
        default: {
            size_t k = n - off < ps->left ? n - off : (size_t)ps->left;
            ps->left -= k;
            off += k;
            if (!ps->left)
                ps->state = PS_TYPE;
            break;
        }
        }
    }
    return (ssize_t)off;
}
