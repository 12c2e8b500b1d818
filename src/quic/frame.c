#include "quic/frame.h"
#include "quic/varint.h"
#include "lwquic/quic_errors.h"
#include "base/mem.h"

/* A bounds-checked cursor: every read checks what is left. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static int read_varint(reader *r, uint64_t *v)
{
    ssize_t k = lwq_varint_decode(v, r->p, r->n);
    if (k < 0)
        return (int)k;
    r->p += k;
    r->n -= (size_t)k;
    return 0;
}

static int read_bytes(reader *r, size_t len, const uint8_t **out)
{
    if (len > r->n)
        return LWQ_ERR_TRUNCATED;
    *out = r->p;
    r->p += len;
    r->n -= len;
    return 0;
}

/* A length-prefixed byte string. */
static int read_vbytes(reader *r, const uint8_t **data, size_t *len)
{
    uint64_t v;
    int err = read_varint(r, &v);
    if (err < 0)
        return err;
    if (v > r->n)
        return LWQ_ERR_TRUNCATED;
    *len = (size_t)v;
    return read_bytes(r, (size_t)v, data);
}

static ssize_t fail(lwq_frame *f, int err, uint64_t wire)
{
    f->wire_error = wire;
    return err;
}

/* RFC 9000 §19.3.1: ranges are walked downwards from Largest Acknowledged. */
static int decode_ack(lwq_frame *f, reader *r)
{
    lwq_frame_ack *a = &f->u.ack;
    uint64_t count, first, gap, len;
    int err;
    if ((err = read_varint(r, &a->largest)) < 0 || (err = read_varint(r, &a->ack_delay)) < 0 ||
        (err = read_varint(r, &count)) < 0 || (err = read_varint(r, &first)) < 0)
        return err;
    if (first > a->largest)
        return LWQ_ERR_DECODE;
    /* each further range takes at least 2 bytes, so count is bounded by the input */
    if (count > r->n / 2)
        return LWQ_ERR_TRUNCATED;
    if (count + 1 > f->ack_ranges_cap)
        return LWQ_ERR_LIMIT;
    a->ranges = f->ack_ranges;
    a->ranges[0].largest = a->largest;
    a->ranges[0].smallest = a->largest - first;
    for (uint64_t i = 1; i <= count; i++) {
        if ((err = read_varint(r, &gap)) < 0 || (err = read_varint(r, &len)) < 0)
            return err;
        uint64_t prev = a->ranges[i - 1].smallest;
        if (prev < 2 || gap > prev - 2)
            return LWQ_ERR_DECODE;
        uint64_t largest = prev - gap - 2;
        if (len > largest)
            return LWQ_ERR_DECODE;
        a->ranges[i].largest = largest;
        a->ranges[i].smallest = largest - len;
    }
    a->range_count = (size_t)count + 1;
    if (f->type == LWQ_FRAME_ACK_ECN) {
        if ((err = read_varint(r, &a->ect0)) < 0 || (err = read_varint(r, &a->ect1)) < 0 ||
            (err = read_varint(r, &a->ce)) < 0)
            return err;
    }
    return 0;
}

static int decode_stream(lwq_frame *f, reader *r)
{
    lwq_frame_stream *s = &f->u.stream;
    int err;
    if ((err = read_varint(r, &s->stream_id)) < 0)
        return err;
    if (f->type & LWQ_STREAM_BIT_OFF) {
        if ((err = read_varint(r, &s->offset)) < 0)
            return err;
    }
    s->fin = (f->type & LWQ_STREAM_BIT_FIN) != 0;
    s->has_len = (f->type & LWQ_STREAM_BIT_LEN) != 0;
    if (s->has_len) {
        if ((err = read_vbytes(r, &s->data, &s->len)) < 0)
            return err;
    } else {
        s->len = r->n;
        read_bytes(r, r->n, &s->data);
    }
    /* RFC 9000 §19.8 */
    if (s->len > LWQ_VARINT_MAX - s->offset)
        return LWQ_ERR_DECODE;
    return 0;
}

static int decode_body(lwq_frame *f, reader *r)
{
    int err;
    const uint8_t *d;
    switch (f->type) {
    case LWQ_FRAME_PING:
    case LWQ_FRAME_HANDSHAKE_DONE:
        return 0;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        return decode_ack(f, r);
    case LWQ_FRAME_RESET_STREAM:
        if ((err = read_varint(r, &f->u.reset_stream.stream_id)) < 0 ||
            (err = read_varint(r, &f->u.reset_stream.app_error)) < 0)
            return err;
        return read_varint(r, &f->u.reset_stream.final_size);
    case LWQ_FRAME_STOP_SENDING:
        if ((err = read_varint(r, &f->u.stop_sending.stream_id)) < 0)
            return err;
        return read_varint(r, &f->u.stop_sending.app_error);
    case LWQ_FRAME_CRYPTO:
        if ((err = read_varint(r, &f->u.crypto.offset)) < 0 ||
            (err = read_vbytes(r, &f->u.crypto.data, &f->u.crypto.len)) < 0)
            return err;
        /* RFC 9000 §19.6 */
        return f->u.crypto.len > LWQ_VARINT_MAX - f->u.crypto.offset ? LWQ_ERR_DECODE : 0;
    case LWQ_FRAME_NEW_TOKEN:
        if ((err = read_vbytes(r, &f->u.new_token.data, &f->u.new_token.len)) < 0)
            return err;
        /* RFC 9000 §19.7 */
        return f->u.new_token.len == 0 ? LWQ_ERR_DECODE : 0;
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_DATA_BLOCKED:
        return read_varint(r, &f->u.max_data);
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        if ((err = read_varint(r, &f->u.max_stream_data.stream_id)) < 0)
            return err;
        return read_varint(r, &f->u.max_stream_data.max);
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        if ((err = read_varint(r, &f->u.max_streams)) < 0)
            return err;
        /* RFC 9000 §19.11, §19.14 */
        return f->u.max_streams > (UINT64_C(1) << 60) ? LWQ_ERR_DECODE : 0;
    case LWQ_FRAME_NEW_CONNECTION_ID: {
        lwq_frame_new_cid *c = &f->u.new_cid;
        if ((err = read_varint(r, &c->seq)) < 0 || (err = read_varint(r, &c->retire_prior_to)) < 0 ||
            (err = read_bytes(r, 1, &d)) < 0)
            return err;
        size_t len = d[0];
        if ((err = read_bytes(r, len, &d)) < 0)
            return err;
        /* RFC 9000 §19.15 */
        if (len < 1 || len > LWQ_CID_MAX || c->retire_prior_to > c->seq)
            return LWQ_ERR_DECODE;
        lwq_cid_set(&c->cid, d, len);
        if ((err = read_bytes(r, LWQ_RESET_TOKEN_LEN, &d)) < 0)
            return err;
        memcpy(c->reset_token, d, LWQ_RESET_TOKEN_LEN);
        return 0;
    }
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        return read_varint(r, &f->u.retire_seq);
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        if ((err = read_bytes(r, 8, &d)) < 0)
            return err;
        memcpy(f->u.path_data, d, 8);
        return 0;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        if ((err = read_varint(r, &f->u.close.error_code)) < 0)
            return err;
        f->u.close.frame_type = 0;
        if (f->type == LWQ_FRAME_CONNECTION_CLOSE && (err = read_varint(r, &f->u.close.frame_type)) < 0)
            return err;
        return read_vbytes(r, &f->u.close.reason, &f->u.close.reason_len);
    case LWQ_FRAME_DATAGRAM:
        f->u.datagram.len = r->n;
        return read_bytes(r, r->n, &f->u.datagram.data);
    case LWQ_FRAME_DATAGRAM_LEN:
        return read_vbytes(r, &f->u.datagram.data, &f->u.datagram.len);
    default:
        if (lwq_frame_is_stream(f->type))
            return decode_stream(f, r);
        /* RFC 9000 §12.4 */
        return LWQ_ERR_DECODE;
    }
}

ssize_t lwq_frame_decode(lwq_frame *f, const uint8_t *p, size_t n)
{
    reader r = {p, n};
    memset(&f->u, 0, sizeof(f->u));
    f->type = 0;
    f->wire_error = 0;
    ssize_t k = lwq_varint_decode(&f->type, p, n);
    if (k < 0)
        return fail(f, (int)k, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    /* RFC 9000 §12.4: frame types use their shortest encoding */
    if ((size_t)k != lwq_varint_len(f->type))
        return fail(f, LWQ_ERR_DECODE, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    r.p += k;
    r.n -= (size_t)k;
    if (f->type == LWQ_FRAME_PADDING) {
        size_t run = 1;
        while (run < n && p[run] == 0)
            run++;
        f->u.padding_len = run;
        return (ssize_t)run;
    }
    int err = decode_body(f, &r);
    if (err < 0)
        return fail(f, err, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    return (ssize_t)(n - r.n);
}

/* Writes a varint known to fit (lengths were checked by encoded_len). */
static uint8_t *put_varint(uint8_t *w, uint64_t v)
{
    size_t len = lwq_varint_len(v);
    lwq_varint_encode_fixed(w, len, v, len);
    return w + len;
}

static size_t vlen(uint64_t v)
{
    return lwq_varint_len(v);
}

/* Sum of varint lengths, 0 if any is out of range. */
static size_t vlens(const uint64_t *v, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = vlen(v[i]);
        if (l == 0)
            return 0;
        total += l;
    }
    return total;
}

static size_t ack_encoded_len(const lwq_frame *f)
{
    const lwq_frame_ack *a = &f->u.ack;
    if (a->range_count < 1 || !a->ranges || a->ranges[0].largest != a->largest)
        return 0;
    uint64_t hdr[] = {a->largest, a->ack_delay, a->range_count - 1, 0};
    const lwq_ack_range *rg = a->ranges;
    if (rg[0].smallest > rg[0].largest)
        return 0;
    hdr[3] = rg[0].largest - rg[0].smallest;
    size_t len = vlens(hdr, 4);
    if (len == 0)
        return 0;
    for (size_t i = 1; i < a->range_count; i++) {
        if (rg[i].smallest > rg[i].largest || rg[i - 1].smallest < 2 || rg[i].largest > rg[i - 1].smallest - 2)
            return 0;
        uint64_t gl[] = {rg[i - 1].smallest - rg[i].largest - 2, rg[i].largest - rg[i].smallest};
        len += vlens(gl, 2);
    }
    if (f->type == LWQ_FRAME_ACK_ECN) {
        uint64_t ecn[] = {a->ect0, a->ect1, a->ce};
        size_t l = vlens(ecn, 3);
        if (l == 0)
            return 0;
        len += l;
    }
    return len;
}

/* Type, Stream ID, Offset when non-zero, Length when has_len; 0 when a value cannot be encoded. */
static size_t stream_hdr_len(const lwq_frame *f, size_t datalen)
{
    const lwq_frame_stream *s = &f->u.stream;
    size_t id = vlen(s->stream_id), off = s->offset ? vlen(s->offset) : 0, len = s->has_len ? vlen(datalen) : 0;
    /* RFC 9000 §19.8: the stream's end must stay within 2^62 - 1 */
    if (!id || (s->offset && !off) || (s->has_len && !len) || datalen > LWQ_VARINT_MAX - s->offset)
        return 0;
    return 1 + id + off + len;
}

/* Length after the type byte; 0 for "cannot encode" except frames with an empty body (*ok). */
static size_t body_len(const lwq_frame *f, int *ok)
{
    *ok = 1;
    switch (f->type) {
    case LWQ_FRAME_PING:
    case LWQ_FRAME_HANDSHAKE_DONE:
        return 0;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        return ack_encoded_len(f);
    case LWQ_FRAME_RESET_STREAM: {
        uint64_t v[] = {f->u.reset_stream.stream_id, f->u.reset_stream.app_error, f->u.reset_stream.final_size};
        return vlens(v, 3);
    }
    case LWQ_FRAME_STOP_SENDING: {
        uint64_t v[] = {f->u.stop_sending.stream_id, f->u.stop_sending.app_error};
        return vlens(v, 2);
    }
    case LWQ_FRAME_CRYPTO: {
        uint64_t v[] = {f->u.crypto.offset, f->u.crypto.len};
        size_t l = vlens(v, 2);
        if (!l || f->u.crypto.len > LWQ_VARINT_MAX - f->u.crypto.offset)
            return 0;
        return l + f->u.crypto.len;
    }
    case LWQ_FRAME_NEW_TOKEN: {
        size_t l = vlen(f->u.new_token.len);
        return l && f->u.new_token.len ? l + f->u.new_token.len : 0;
    }
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_DATA_BLOCKED:
        return vlen(f->u.max_data);
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_STREAM_DATA_BLOCKED: {
        uint64_t v[] = {f->u.max_stream_data.stream_id, f->u.max_stream_data.max};
        return vlens(v, 2);
    }
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        return f->u.max_streams > (UINT64_C(1) << 60) ? 0 : vlen(f->u.max_streams);
    case LWQ_FRAME_NEW_CONNECTION_ID: {
        const lwq_frame_new_cid *c = &f->u.new_cid;
        uint64_t v[] = {c->seq, c->retire_prior_to};
        size_t l = vlens(v, 2);
        if (!l || c->cid.len < 1 || c->cid.len > LWQ_CID_MAX || c->retire_prior_to > c->seq)
            return 0;
        return l + 1 + c->cid.len + LWQ_RESET_TOKEN_LEN;
    }
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        return vlen(f->u.retire_seq);
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        return 8;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP: {
        uint64_t v[] = {f->u.close.error_code, f->u.close.reason_len, f->u.close.frame_type};
        size_t l = vlens(v, f->type == LWQ_FRAME_CONNECTION_CLOSE ? 3 : 2);
        return l ? l + f->u.close.reason_len : 0;
    }
    case LWQ_FRAME_DATAGRAM:
        return f->u.datagram.len;
    case LWQ_FRAME_DATAGRAM_LEN: {
        size_t l = vlen(f->u.datagram.len);
        return l ? l + f->u.datagram.len : 0;
    }
    default:
        *ok = 0;
        return 0;
    }
}

static uint64_t stream_type(const lwq_frame_stream *s)
{
    return LWQ_FRAME_STREAM | (s->offset ? LWQ_STREAM_BIT_OFF : 0) | (s->has_len ? LWQ_STREAM_BIT_LEN : 0) |
           (s->fin ? LWQ_STREAM_BIT_FIN : 0);
}

size_t lwq_frame_encoded_len(const lwq_frame *f)
{
    if (f->type == LWQ_FRAME_PADDING)
        return f->u.padding_len;
    if (lwq_frame_is_stream(f->type)) {
        size_t h = stream_hdr_len(f, f->u.stream.len);
        return h ? h + f->u.stream.len : 0;
    }
    int ok;
    size_t l = body_len(f, &ok);
    if (!ok ||
        (l == 0 && f->type != LWQ_FRAME_PING && f->type != LWQ_FRAME_HANDSHAKE_DONE && f->type != LWQ_FRAME_DATAGRAM))
        return 0;
    return 1 + l;
}

static uint8_t *put_bytes(uint8_t *w, const uint8_t *p, size_t n)
{
    if (n)
        memcpy(w, p, n);
    return w + n;
}

ssize_t lwq_frame_encode(uint8_t *out, size_t cap, const lwq_frame *f)
{
    size_t len = lwq_frame_encoded_len(f);
    if (len == 0 && f->type != LWQ_FRAME_PADDING)
        return LWQ_ERR_INVAL;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    uint8_t *w = out;
    const lwq_frame_ack *a = &f->u.ack;
    if (f->type == LWQ_FRAME_PADDING) {
        if (len)
            memset(out, 0, len);
        return (ssize_t)len;
    }
    if (lwq_frame_is_stream(f->type)) {
        const lwq_frame_stream *s = &f->u.stream;
        *w++ = (uint8_t)stream_type(s);
        w = put_varint(w, s->stream_id);
        if (s->offset)
            w = put_varint(w, s->offset);
        if (s->has_len)
            w = put_varint(w, s->len);
        w = put_bytes(w, s->data, s->len);
        return (ssize_t)(w - out);
    }
    *w++ = (uint8_t)f->type;
    switch (f->type) {
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        w = put_varint(w, a->largest);
        w = put_varint(w, a->ack_delay);
        w = put_varint(w, a->range_count - 1);
        w = put_varint(w, a->ranges[0].largest - a->ranges[0].smallest);
        for (size_t i = 1; i < a->range_count; i++) {
            w = put_varint(w, a->ranges[i - 1].smallest - a->ranges[i].largest - 2);
            w = put_varint(w, a->ranges[i].largest - a->ranges[i].smallest);
        }
        if (f->type == LWQ_FRAME_ACK_ECN) {
            w = put_varint(w, a->ect0);
            w = put_varint(w, a->ect1);
            w = put_varint(w, a->ce);
        }
        break;
    case LWQ_FRAME_RESET_STREAM:
        w = put_varint(w, f->u.reset_stream.stream_id);
        w = put_varint(w, f->u.reset_stream.app_error);
        w = put_varint(w, f->u.reset_stream.final_size);
        break;
    case LWQ_FRAME_STOP_SENDING:
        w = put_varint(w, f->u.stop_sending.stream_id);
        w = put_varint(w, f->u.stop_sending.app_error);
        break;
    case LWQ_FRAME_CRYPTO:
        w = put_varint(w, f->u.crypto.offset);
        w = put_varint(w, f->u.crypto.len);
        w = put_bytes(w, f->u.crypto.data, f->u.crypto.len);
        break;
    case LWQ_FRAME_NEW_TOKEN:
        w = put_varint(w, f->u.new_token.len);
        w = put_bytes(w, f->u.new_token.data, f->u.new_token.len);
        break;
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_DATA_BLOCKED:
        w = put_varint(w, f->u.max_data);
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        w = put_varint(w, f->u.max_stream_data.stream_id);
        w = put_varint(w, f->u.max_stream_data.max);
        break;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        w = put_varint(w, f->u.max_streams);
        break;
    case LWQ_FRAME_NEW_CONNECTION_ID:
        w = put_varint(w, f->u.new_cid.seq);
        w = put_varint(w, f->u.new_cid.retire_prior_to);
        *w++ = f->u.new_cid.cid.len;
        w = put_bytes(w, f->u.new_cid.cid.id, f->u.new_cid.cid.len);
        w = put_bytes(w, f->u.new_cid.reset_token, LWQ_RESET_TOKEN_LEN);
        break;
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        w = put_varint(w, f->u.retire_seq);
        break;
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        w = put_bytes(w, f->u.path_data, 8);
        break;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        w = put_varint(w, f->u.close.error_code);
        if (f->type == LWQ_FRAME_CONNECTION_CLOSE)
            w = put_varint(w, f->u.close.frame_type);
        w = put_varint(w, f->u.close.reason_len);
        w = put_bytes(w, f->u.close.reason, f->u.close.reason_len);
        break;
    case LWQ_FRAME_DATAGRAM_LEN:
        w = put_varint(w, f->u.datagram.len);
        /* fall through */
    case LWQ_FRAME_DATAGRAM:
        w = put_bytes(w, f->u.datagram.data, f->u.datagram.len);
        break;
    default:
        break;
    }
    return (ssize_t)(w - out);
}

size_t lwq_frame_stream_fit(const lwq_frame *f, size_t cap, size_t want, size_t *hdr_len)
{
    *hdr_len = 0;
    size_t h = stream_hdr_len(f, want);
    if (h && h <= cap && want <= cap - h) {
        *hdr_len = h;
        return want;
    }
    /* the Length field for fewer bytes is never longer than for min(want, cap) bytes */
    h = stream_hdr_len(f, want < cap ? want : cap);
    if (h == 0 || h >= cap)
        return 0;
    size_t fit = cap - h;
    *hdr_len = stream_hdr_len(f, fit);
    return fit;
}
