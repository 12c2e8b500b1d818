/* RFC 9204 §2.2 QPACK decoder: encoder-stream instructions, field sections, blocked streams. */
#include <string.h>
#include "base/mem.h"
#include "qpack/codec.h"
#include "qpack/table.h"

#define DEFAULT_MAX_SECTION 65536

typedef struct blocked {
    uint64_t stream_id, ric, base;
    uint8_t *data;
    size_t len;
} blocked;

typedef struct ready {
    uint64_t stream_id;
    int rv;
    lwq_qpack_headers h;
} ready;

struct lwq_qpack_decoder {
    const lwq_allocator *a;
    lwq_qpack_table t;
    size_t max_capacity, max_blocked, max_section;
    uint64_t max_entries;
    uint64_t wire_error;
    int dead;
    /* An encoder instruction split across reads (RFC 9204 §4.3). */
    uint8_t *part;
    size_t part_len, part_need, part_cap, part_max;
    blocked *blk; /* max_blocked slots */
    size_t nblk;
    ready *rdy;
    size_t nrdy, rdy_cap;
    lwq_qpack_buf out; /* decoder-stream bytes not yet handed out */
    uint64_t acked;    /* Known Received Count as the encoder sees it */
};

int lwq_qpack_decoder_new(lwq_qpack_decoder **out, const lwq_allocator *a, const lwq_qpack_decoder_config *cfg)
{
    lwq_qpack_decoder_config def = {0};
    if (!cfg)
        cfg = &def;
    if (cfg->max_table_capacity > (size_t)1 << 30)
        return LWQ_ERR_INVAL;
    lwq_qpack_decoder *d = lwq_calloc(a, 1, sizeof(*d));
    if (!d)
        return LWQ_ERR_NOMEM;
    d->a = a;
    lwq_qpack_table_init(&d->t, a);
    d->max_capacity = cfg->max_table_capacity;
    d->max_entries = d->max_capacity / 32;
    d->max_blocked = cfg->max_blocked_streams;
    if (cfg->preset_capacity)
        lwq_qpack_table_set_capacity(&d->t, d->max_capacity);
    d->max_section = cfg->max_field_section_size ? cfg->max_field_section_size : DEFAULT_MAX_SECTION;
    /* Any valid instruction fits: a string of n bytes never takes more than 30n/8 + 1 encoded. */
    d->part_max = 4 * d->max_capacity + 64;
    lwq_qpack_buf_init(&d->out, a);
    if (d->max_blocked > 65536) {
        lwq_free(a, d);
        return LWQ_ERR_INVAL;
    }
    if (d->max_blocked && !(d->blk = lwq_calloc(a, d->max_blocked, sizeof(*d->blk)))) {
        lwq_free(a, d);
        return LWQ_ERR_NOMEM;
    }
    *out = d;
    return 0;
}

void lwq_qpack_decoder_del(lwq_qpack_decoder *d)
{
    if (!d)
        return;
    lwq_qpack_table_free(&d->t);
    lwq_free(d->a, d->part);
    for (size_t i = 0; i < d->nblk; i++)
        lwq_free(d->a, d->blk[i].data);
    lwq_free(d->a, d->blk);
    for (size_t i = 0; i < d->nrdy; i++)
        lwq_qpack_headers_free(&d->rdy[i].h);
    lwq_free(d->a, d->rdy);
    lwq_qpack_buf_free(&d->out);
    lwq_free(d->a, d);
}

uint64_t lwq_qpack_decoder_wire_error(const lwq_qpack_decoder *d)
{
    return d->wire_error;
}
uint64_t lwq_qpack_decoder_insert_count(const lwq_qpack_decoder *d)
{
    return d->t.inserted;
}
size_t lwq_qpack_decoder_blocked_streams(const lwq_qpack_decoder *d)
{
    return d->nblk;
}

static int fail(lwq_qpack_decoder *d, uint64_t code)
{
    if (!d->dead)
        d->wire_error = code;
    d->dead = 1;
    return LWQ_ERR_PROTO;
}

static int emit(lwq_qpack_decoder *d, int type, uint64_t value)
{
    uint8_t tmp[16];
    lwq_qpack_dec_insn in = {type, value};
    ssize_t k = lwq_qpack_dec_insn_encode(tmp, sizeof(tmp), &in);
    return k < 0 ? (int)k : lwq_qpack_buf_append(&d->out, tmp, (size_t)k);
}

/* ---- field sections (RFC 9204 §4.5) ---- */

typedef struct section {
    uint64_t ric, base;
    size_t budget; /* bytes of max_field_section_size left */
    int limited;   /* LWQ_ERR_LIMIT seen: keep parsing to catch protocol errors */
} section;

static int add_field(lwq_qpack_headers *h, section *s, const uint8_t *name, size_t nl, const uint8_t *value, size_t vl,
                     uint32_t flags)
{
    size_t sz = nl + vl + 32;
    if (s->limited || sz > s->budget) {
        s->limited = 1;
        return 0;
    }
    int rv = lwq_qpack_headers_reserve(h, 1, nl + vl);
    if (rv < 0)
        return rv;
    lwq_qpack_field *f = &h->fields[h->count++];
    f->name = (const uint8_t *)(uintptr_t)h->bytes_len;
    f->name_len = nl;
    if (nl)
        memcpy(h->bytes + h->bytes_len, name, nl);
    h->bytes_len += nl;
    f->value = (const uint8_t *)(uintptr_t)h->bytes_len;
    f->value_len = vl;
    if (vl)
        memcpy(h->bytes + h->bytes_len, value, vl);
    h->bytes_len += vl;
    f->flags = flags;
    h->size += sz;
    s->budget -= sz;
    return 0;
}

/* A literal value decoded straight into the list's storage after the name. A NULL name means
 * it was already decoded in place at the end of the storage. */
static int add_literal(lwq_qpack_headers *h, section *s, const uint8_t *name, size_t nl, const lwq_qpack_str *val,
                       uint32_t flags)
{
    size_t minv = lwq_qpack_str_min_len(val);
    if (s->limited || nl + minv + 32 > s->budget) {
        s->limited = 1;
        /* Over the limit: still reject malformed Huffman data (RFC 9204 §2.2.3). */
        return val->huffman && lwq_qpack_huff_decode(NULL, SIZE_MAX, val->data, val->len) < 0 ? LWQ_ERR_DECODE : 0;
    }
    size_t cap = s->budget - nl - 32, maxv = lwq_qpack_str_max_len(val);
    if (maxv < cap)
        cap = maxv;
    int rv = lwq_qpack_headers_reserve(h, 1, nl + cap + 1);
    if (rv < 0)
        return rv;
    lwq_qpack_field *f = &h->fields[h->count];
    f->name = (const uint8_t *)(uintptr_t)h->bytes_len;
    f->name_len = nl;
    if (name && nl)
        memcpy(h->bytes + h->bytes_len, name, nl);
    ssize_t vl = lwq_qpack_str_decode(h->bytes + h->bytes_len + nl, cap, val);
    if (vl == LWQ_ERR_NOBUF) {
        s->limited = 1;
        return 0;
    }
    if (vl < 0)
        return LWQ_ERR_DECODE;
    f->value = (const uint8_t *)(uintptr_t)(h->bytes_len + nl);
    f->value_len = (size_t)vl;
    f->flags = flags;
    h->bytes_len += nl + (size_t)vl;
    h->count++;
    h->size += nl + (size_t)vl + 32;
    s->budget -= nl + (size_t)vl + 32;
    return 0;
}

/* The dynamic entry at absolute index abs, if the section may reference it (RFC 9204 §2.2.3). */
static const lwq_qpack_entry *dyn_ref(const lwq_qpack_decoder *d, const section *s, uint64_t abs)
{
    if (abs >= s->ric)
        return NULL;
    return lwq_qpack_table_get(&d->t, abs);
}

static int decode_lines(const lwq_qpack_decoder *d, section *s, const uint8_t *p, size_t n, lwq_qpack_headers *h)
{
    size_t off = 0, need;
    while (off < n) {
        uint8_t b = p[off];
        uint64_t idx;
        ssize_t k;
        const uint8_t *name = NULL;
        size_t nl = 0;
        const lwq_qpack_entry *e = NULL;
        lwq_qpack_str nstr, val;
        int rv, in_place = 0;
        if (b & 0x80) {
            /* Indexed Field Line (§4.5.2) */
            if ((k = lwq_qpack_int_decode(&idx, p + off, n - off, 6)) < 0)
                return LWQ_ERR_DECODE;
            off += (size_t)k;
            if (b & 0x40) {
                if (idx >= LWQ_QPACK_STATIC_COUNT)
                    return LWQ_ERR_DECODE;
                const lwq_qpack_static_entry *se = &lwq_qpack_static[idx];
                rv = add_field(h, s, (const uint8_t *)se->name, se->name_len, (const uint8_t *)se->value, se->value_len,
                               0);
            } else {
                if (idx >= s->base || !(e = dyn_ref(d, s, s->base - 1 - idx)))
                    return LWQ_ERR_DECODE;
                rv = add_field(h, s, e->data, e->name_len, lwq_qpack_entry_value(e), e->value_len, 0);
            }
            if (rv < 0)
                return rv;
            continue;
        }
        if ((b & 0xf0) == 0x10) {
            /* Indexed Field Line with Post-Base Index (§4.5.3) */
            if ((k = lwq_qpack_int_decode(&idx, p + off, n - off, 4)) < 0)
                return LWQ_ERR_DECODE;
            off += (size_t)k;
            if (idx >= s->ric || !(e = dyn_ref(d, s, s->base + idx)))
                return LWQ_ERR_DECODE;
            if ((rv = add_field(h, s, e->data, e->name_len, lwq_qpack_entry_value(e), e->value_len, 0)) < 0)
                return rv;
            continue;
        }
        uint32_t flags = 0;
        if (b & 0x40) {
            /* Literal Field Line with Name Reference (§4.5.4) */
            flags = (b & 0x20) ? LWQ_QPACK_NEVER_INDEX : 0;
            if ((k = lwq_qpack_int_decode(&idx, p + off, n - off, 4)) < 0)
                return LWQ_ERR_DECODE;
            off += (size_t)k;
            if (b & 0x10) {
                if (idx >= LWQ_QPACK_STATIC_COUNT)
                    return LWQ_ERR_DECODE;
                name = (const uint8_t *)lwq_qpack_static[idx].name;
                nl = lwq_qpack_static[idx].name_len;
            } else {
                if (idx >= s->base || !(e = dyn_ref(d, s, s->base - 1 - idx)))
                    return LWQ_ERR_DECODE;
                name = e->data;
                nl = e->name_len;
            }
        } else if (b & 0x20) {
            /* Literal Field Line with Literal Name (§4.5.6) */
            flags = (b & 0x10) ? LWQ_QPACK_NEVER_INDEX : 0;
            if ((k = lwq_qpack_str_parse(&nstr, p + off, n - off, 4, &need)) < 0)
                return LWQ_ERR_DECODE;
            off += (size_t)k;
        } else {
            /* Literal Field Line with Post-Base Name Reference (§4.5.5) */
            flags = (b & 0x08) ? LWQ_QPACK_NEVER_INDEX : 0;
            if ((k = lwq_qpack_int_decode(&idx, p + off, n - off, 3)) < 0)
                return LWQ_ERR_DECODE;
            off += (size_t)k;
            if (idx >= s->ric || !(e = dyn_ref(d, s, s->base + idx)))
                return LWQ_ERR_DECODE;
            name = e->data;
            nl = e->name_len;
        }
        if ((k = lwq_qpack_str_parse(&val, p + off, n - off, 8, &need)) < 0)
            return LWQ_ERR_DECODE;
        off += (size_t)k;
        if (!name && !s->limited) {
            /* Decode the literal name into the list's spare room first, then the value after it. */
            size_t minn = lwq_qpack_str_min_len(&nstr);
            if (minn + 32 > s->budget) {
                s->limited = 1;
            } else {
                size_t cap = s->budget - 32, maxn = lwq_qpack_str_max_len(&nstr);
                if (maxn < cap)
                    cap = maxn;
                if ((rv = lwq_qpack_headers_reserve(h, 1, cap + 1)) < 0)
                    return rv;
                ssize_t got = lwq_qpack_str_decode(h->bytes + h->bytes_len, cap, &nstr);
                if (got == LWQ_ERR_NOBUF)
                    s->limited = 1;
                else if (got < 0)
                    return LWQ_ERR_DECODE;
                else
                    nl = (size_t)got;
                name = h->bytes + h->bytes_len;
                in_place = 1;
            }
        }
        if (!name || s->limited) {
            /* Over the limit: still reject malformed Huffman data (RFC 9204 §2.2.3). */
            if ((!name && nstr.huffman && lwq_qpack_huff_decode(NULL, SIZE_MAX, nstr.data, nstr.len) < 0) ||
                (val.huffman && lwq_qpack_huff_decode(NULL, SIZE_MAX, val.data, val.len) < 0))
                return LWQ_ERR_DECODE;
            s->limited = 1;
            continue;
        }
        if ((rv = add_literal(h, s, in_place ? NULL : name, nl, &val, flags)) < 0)
            return rv;
    }
    return 0;
}

/* Parses the prefix (RFC 9204 §4.5.1): bytes consumed, or LWQ_ERR_DECODE. */
static ssize_t parse_prefix(const lwq_qpack_decoder *d, section *s, const uint8_t *p, size_t n)
{
    uint64_t enc, delta;
    ssize_t k1 = lwq_qpack_int_decode(&enc, p, n, 8);
    if (k1 < 0)
        return LWQ_ERR_DECODE;
    if ((size_t)k1 >= n)
        return LWQ_ERR_DECODE;
    ssize_t k2 = lwq_qpack_int_decode(&delta, p + k1, n - (size_t)k1, 7);
    if (k2 < 0)
        return LWQ_ERR_DECODE;
    if (lwq_qpack_ric_decode(&s->ric, enc, d->max_entries, d->t.inserted) < 0)
        return LWQ_ERR_DECODE;
    if (p[k1] & 0x80) {
        /* §4.5.1.2: a negative Base is invalid. */
        if (s->ric <= delta)
            return LWQ_ERR_DECODE;
        s->base = s->ric - delta - 1;
    } else {
        s->base = s->ric + delta;
    }
    return k1 + k2;
}

static int decode_fields(const lwq_qpack_decoder *d, section *s, const uint8_t *p, size_t n, lwq_qpack_headers *out)
{
    lwq_qpack_headers_clear(out);
    s->budget = d->max_section;
    s->limited = 0;
    int rv = lwq_qpack_headers_reserve(out, 0, 1);
    if (rv == 0)
        rv = decode_lines(d, s, p, n, out);
    return rv;
}

int lwq_qpack_decoder_probe(const lwq_qpack_decoder *d, const uint8_t *p, size_t n, lwq_qpack_headers *out)
{
    section s;
    ssize_t k = parse_prefix(d, &s, p, n);
    if (k < 0)
        return LWQ_ERR_DECODE;
    if (s.ric > d->t.inserted)
        return LWQ_ERR_AGAIN;
    int rv = decode_fields(d, &s, p + k, n - (size_t)k, out);
    if (rv < 0)
        return rv;
    lwq_qpack_headers_finish(out);
    return s.limited ? LWQ_ERR_LIMIT : 0;
}

/* Decodes a section whose prefix was parsed and whose references are available. */
static int decode_body(lwq_qpack_decoder *d, uint64_t stream_id, section *s, const uint8_t *p, size_t n,
                       lwq_qpack_headers *out)
{
    int rv = decode_fields(d, s, p, n, out);
    if (rv == LWQ_ERR_DECODE)
        return fail(d, LWQ_QPACK_DECOMPRESSION_FAILED);
    if (rv < 0)
        return rv;
    lwq_qpack_headers_finish(out);
    if (s->ric) {
        /* §4.4.1 */
        if ((rv = emit(d, LWQ_QPACK_SECTION_ACK, stream_id)) < 0)
            return rv;
        if (s->ric > d->acked)
            d->acked = s->ric;
    }
    if (s->limited) {
        lwq_qpack_headers_clear(out);
        return LWQ_ERR_LIMIT;
    }
    return 0;
}

int lwq_qpack_decoder_decode(lwq_qpack_decoder *d, uint64_t stream_id, const uint8_t *p, size_t n,
                             lwq_qpack_headers *out)
{
    if (d->dead)
        return LWQ_ERR_PROTO;
    for (size_t i = 0; i < d->nblk; i++)
        if (d->blk[i].stream_id == stream_id)
            return LWQ_ERR_STATE;
    section s;
    ssize_t k = parse_prefix(d, &s, p, n);
    if (k < 0)
        return fail(d, LWQ_QPACK_DECOMPRESSION_FAILED);
    if (s.ric <= d->t.inserted)
        return decode_body(d, stream_id, &s, p + k, n - (size_t)k, out);
    /* §2.1.2: more blocked streams than we advertised is a connection error. */
    if (d->nblk >= d->max_blocked)
        return fail(d, LWQ_QPACK_DECOMPRESSION_FAILED);
    if (n - (size_t)k > 2 * d->max_section)
        return LWQ_ERR_LIMIT;
    blocked *b = &d->blk[d->nblk];
    b->data = lwq_malloc(d->a, n - (size_t)k ? n - (size_t)k : 1);
    if (!b->data)
        return LWQ_ERR_NOMEM;
    memcpy(b->data, p + k, n - (size_t)k);
    b->len = n - (size_t)k;
    b->stream_id = stream_id;
    b->ric = s.ric;
    b->base = s.base;
    d->nblk++;
    return LWQ_ERR_AGAIN;
}

/* Decodes every blocked section the table now satisfies, in arrival order. */
static int unblock(lwq_qpack_decoder *d)
{
    size_t i = 0;
    while (i < d->nblk) {
        blocked b = d->blk[i];
        if (b.ric > d->t.inserted) {
            i++;
            continue;
        }
        if (d->nrdy == d->rdy_cap) {
            size_t ncap = d->rdy_cap ? d->rdy_cap * 2 : 4;
            ready *nr = lwq_realloc(d->a, d->rdy, ncap * sizeof(*nr));
            if (!nr)
                return LWQ_ERR_NOMEM;
            d->rdy = nr;
            d->rdy_cap = ncap;
        }
        ready *r = &d->rdy[d->nrdy];
        lwq_qpack_headers_init(&r->h, d->a);
        r->stream_id = b.stream_id;
        section s = {b.ric, b.base, 0, 0};
        memmove(&d->blk[i], &d->blk[i + 1], (d->nblk - i - 1) * sizeof(*d->blk));
        d->nblk--;
        r->rv = decode_body(d, b.stream_id, &s, b.data, b.len, &r->h);
        lwq_free(d->a, b.data);
        if (r->rv < 0 && r->rv != LWQ_ERR_LIMIT) {
            lwq_qpack_headers_free(&r->h);
            return r->rv;
        }
        d->nrdy++;
    }
    return 0;
}

int lwq_qpack_decoder_next_unblocked(lwq_qpack_decoder *d, uint64_t *stream_id, lwq_qpack_headers *out)
{
    if (d->nrdy == 0)
        return LWQ_ERR_AGAIN;
    ready r = d->rdy[0];
    memmove(&d->rdy[0], &d->rdy[1], (d->nrdy - 1) * sizeof(*d->rdy));
    d->nrdy--;
    *stream_id = r.stream_id;
    lwq_qpack_headers_free(out);
    *out = r.h;
    return r.rv;
}

int lwq_qpack_decoder_cancel_stream(lwq_qpack_decoder *d, uint64_t stream_id)
{
    for (size_t i = 0; i < d->nblk; i++) {
        if (d->blk[i].stream_id != stream_id)
            continue;
        lwq_free(d->a, d->blk[i].data);
        memmove(&d->blk[i], &d->blk[i + 1], (d->nblk - i - 1) * sizeof(*d->blk));
        d->nblk--;
        break;
    }
    /* §4.2: a decoder without a dynamic table may omit Stream Cancellation. */
    if (d->max_capacity == 0)
        return 0;
    return emit(d, LWQ_QPACK_STREAM_CANCEL, stream_id);
}

int lwq_qpack_decoder_write_decoder(lwq_qpack_decoder *d, lwq_qpack_buf *out)
{
    /* §4.4.3: tell the encoder about inserts no Section Acknowledgment covered. */
    if (d->t.inserted > d->acked) {
        int rv = emit(d, LWQ_QPACK_INSERT_COUNT_INC, d->t.inserted - d->acked);
        if (rv < 0)
            return rv;
        d->acked = d->t.inserted;
    }
    int rv = lwq_qpack_buf_append(out, d->out.data, d->out.len);
    if (rv < 0)
        return rv;
    d->out.len = 0;
    return 0;
}

/* ---- encoder stream (RFC 9204 §4.3) ---- */

static int insert(lwq_qpack_decoder *d, lwq_qpack_entry *e)
{
    if (lwq_qpack_entry_size(e) > d->t.capacity) {
        lwq_free(d->a, e);
        return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
    }
    lwq_qpack_entry_seal(e);
    int rv = lwq_qpack_table_insert(&d->t, e);
    if (rv < 0) {
        lwq_free(d->a, e);
        return rv;
    }
    return unblock(d);
}

static int apply(lwq_qpack_decoder *d, const lwq_qpack_enc_insn *in)
{
    const uint8_t *name = NULL;
    size_t nl = 0;
    const lwq_qpack_entry *src;
    lwq_qpack_entry *e;
    uint64_t count = d->t.inserted - d->t.dropped;
    switch (in->type) {
    case LWQ_QPACK_SET_CAPACITY:
        if (in->index > d->max_capacity)
            return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
        lwq_qpack_table_set_capacity(&d->t, (size_t)in->index);
        return 0;
    case LWQ_QPACK_DUPLICATE:
        if (in->index >= count)
            return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
        src = lwq_qpack_table_get(&d->t, d->t.inserted - 1 - in->index);
        if (!(e = lwq_qpack_entry_new(d->a, src->data, src->name_len, lwq_qpack_entry_value(src), src->value_len)))
            return LWQ_ERR_NOMEM;
        return insert(d, e);
    case LWQ_QPACK_INSERT_NAME_REF:
        if (in->is_static) {
            if (in->index >= LWQ_QPACK_STATIC_COUNT)
                return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
            name = (const uint8_t *)lwq_qpack_static[in->index].name;
            nl = lwq_qpack_static[in->index].name_len;
        } else {
            if (in->index >= count)
                return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
            src = lwq_qpack_table_get(&d->t, d->t.inserted - 1 - in->index);
            name = src->data;
            nl = src->name_len;
        }
        break;
    default:
        break;
    }
    /* Sizes are checked against the capacity before anything is allocated (§3.2.2). */
    size_t minn = name ? nl : lwq_qpack_str_min_len(&in->name), minv = lwq_qpack_str_min_len(&in->value);
    if (minn > d->t.capacity || minv > d->t.capacity || minn + minv + 32 > d->t.capacity)
        return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
    size_t room = d->t.capacity - 32;
    size_t ncap = name ? nl : lwq_qpack_str_max_len(&in->name);
    if (ncap > room)
        ncap = room;
    size_t vcap = lwq_qpack_str_max_len(&in->value);
    if (vcap > room)
        vcap = room;
    if (!(e = lwq_qpack_entry_alloc(d->a, ncap, vcap)))
        return LWQ_ERR_NOMEM;
    ssize_t got;
    if (name) {
        memcpy(e->data, name, nl);
    } else {
        if ((got = lwq_qpack_str_decode(e->data, ncap, &in->name)) < 0) {
            lwq_free(d->a, e);
            return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
        }
        nl = (size_t)got;
    }
    if ((got = lwq_qpack_str_decode(e->data + nl, vcap, &in->value)) < 0) {
        lwq_free(d->a, e);
        return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
    }
    e->name_len = (uint32_t)nl;
    e->value_len = (uint32_t)got;
    return insert(d, e);
}

static int grow_part(lwq_qpack_decoder *d, size_t n)
{
    if (n > d->part_max)
        return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
    if (n <= d->part_cap)
        return 0;
    size_t ncap = d->part_cap ? d->part_cap : 64;
    while (ncap < n)
        ncap *= 2;
    uint8_t *np = lwq_realloc(d->a, d->part, ncap);
    if (!np) {
        d->dead = 1;
        return LWQ_ERR_NOMEM;
    }
    d->part = np;
    d->part_cap = ncap;
    return 0;
}

ssize_t lwq_qpack_decoder_read_encoder(lwq_qpack_decoder *d, const uint8_t *p, size_t n)
{
    if (d->dead)
        return LWQ_ERR_PROTO;
    size_t off = 0, need;
    lwq_qpack_enc_insn in;
    int rv;
    while (off < n) {
        ssize_t k;
        if (d->part_len) {
            /* Complete the split instruction one piece at a time, never reparsing much. */
            size_t want = d->part_need > d->part_len ? d->part_need - d->part_len : 1;
            if (want > n - off)
                want = n - off;
            memcpy(d->part + d->part_len, p + off, want);
            d->part_len += want;
            off += want;
            k = lwq_qpack_enc_insn_parse(&in, d->part, d->part_len, &need);
            if (k == LWQ_ERR_TRUNCATED) {
                d->part_need = need ? need : d->part_len + 1;
                if ((rv = grow_part(d, d->part_need)) < 0)
                    return rv;
                continue;
            }
            if (k < 0)
                return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
            if ((rv = apply(d, &in)) < 0) {
                d->dead = 1;
                return rv;
            }
            /* Whatever followed the instruction in the piece is replayed from p. */
            off -= d->part_len - (size_t)k;
            d->part_len = 0;
            continue;
        }
        k = lwq_qpack_enc_insn_parse(&in, p + off, n - off, &need);
        if (k == LWQ_ERR_TRUNCATED) {
            size_t have = n - off;
            d->part_need = need ? need : have + 1;
            if ((rv = grow_part(d, d->part_need > have ? d->part_need : have)) < 0)
                return rv;
            memcpy(d->part, p + off, have);
            d->part_len = have;
            break;
        }
        if (k < 0)
            return fail(d, LWQ_QPACK_ENCODER_STREAM_ERROR);
        if ((rv = apply(d, &in)) < 0) {
            d->dead = 1;
            return rv;
        }
        off += (size_t)k;
    }
    return (ssize_t)n;
}
