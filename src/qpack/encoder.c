/* RFC 9204 §2.1 QPACK encoder: single-pass field section encoding, table inserts, acknowledgments. */
#include <string.h>
#include "base/mem.h"
#include "qpack/codec.h"
#include "qpack/table.h"

#define DEFAULT_MAX_CAPACITY 4096
#define DEFAULT_MAX_UNACKED 1024
#define MAX_NAME_LEN ((size_t)1 << 16)
#define MAX_VALUE_LEN ((size_t)1 << 24)
#define HISTORY 256
#define MAX_UNACKED_INSERTS 4

/* A field section with dynamic references the decoder has not acknowledged yet (§2.1.1). */
typedef struct sect {
    uint64_t stream_id, ric, min_ref;
} sect;

struct lwq_qpack_encoder {
    const lwq_allocator *a;
    lwq_qpack_table t;
    size_t own_max, max_unacked;
    int no_huffman, settings_done, cap_pending, dead;
    uint64_t max_entries, peer_max, peer_blocked;
    uint64_t krc; /* Known Received Count (§2.1.4) */
    sect *sects;
    size_t nsect, sect_cap;
    uint8_t part[16]; /* a decoder instruction split across reads */
    size_t part_len;
    uint64_t wire_error;
    lwq_qpack_buf body;     /* field lines before the prefix is known */
    uint32_t seen[HISTORY]; /* hashes of fields recently left literal */
    size_t seen_next;
};

int lwq_qpack_encoder_new(lwq_qpack_encoder **out, const lwq_allocator *a, const lwq_qpack_encoder_config *cfg)
{
    lwq_qpack_encoder_config def = {0};
    if (!cfg)
        cfg = &def;
    if (cfg->max_table_capacity > (size_t)1 << 30)
        return LWQ_ERR_INVAL;
    lwq_qpack_encoder *e = lwq_calloc(a, 1, sizeof(*e));
    if (!e)
        return LWQ_ERR_NOMEM;
    e->a = a;
    lwq_qpack_table_init(&e->t, a);
    lwq_qpack_buf_init(&e->body, a);
    e->own_max = cfg->max_table_capacity ? cfg->max_table_capacity : DEFAULT_MAX_CAPACITY;
    e->max_unacked = cfg->max_unacked_sections ? cfg->max_unacked_sections : DEFAULT_MAX_UNACKED;
    e->no_huffman = cfg->no_huffman;
    *out = e;
    return 0;
}

void lwq_qpack_encoder_del(lwq_qpack_encoder *e)
{
    if (!e)
        return;
    lwq_qpack_table_free(&e->t);
    lwq_qpack_buf_free(&e->body);
    lwq_free(e->a, e->sects);
    lwq_free(e->a, e);
}

uint64_t lwq_qpack_encoder_wire_error(const lwq_qpack_encoder *e)
{
    return e->wire_error;
}

int lwq_qpack_encoder_set_peer_settings(lwq_qpack_encoder *e, uint64_t max_table_capacity, uint64_t blocked_streams)
{
    if (e->settings_done)
        return max_table_capacity == e->peer_max && blocked_streams == e->peer_blocked ? 0 : LWQ_ERR_STATE;
    e->peer_max = max_table_capacity;
    e->settings_done = 1;
    e->max_entries = max_table_capacity / 32;
    e->peer_blocked = blocked_streams;
    size_t cap = max_table_capacity < e->own_max ? (size_t)max_table_capacity : e->own_max;
    if (cap) {
        /* §3.2.3: the capacity starts at zero until we announce it. */
        lwq_qpack_table_set_capacity(&e->t, cap);
        e->cap_pending = 1;
    }
    return 0;
}

static int stream_blocking(const lwq_qpack_encoder *e, uint64_t stream_id)
{
    for (size_t i = 0; i < e->nsect; i++)
        if (e->sects[i].stream_id == stream_id && e->sects[i].ric > e->krc)
            return 1;
    return 0;
}

/* Streams that could be blocked at the decoder now (§2.1.2), counted up to `stop`. */
static size_t blocking_streams(const lwq_qpack_encoder *e, size_t stop)
{
    size_t count = 0;
    for (size_t i = 0; i < e->nsect && count < stop; i++) {
        if (e->sects[i].ric <= e->krc)
            continue;
        size_t j = 0;
        while (j < i && !(e->sects[j].stream_id == e->sects[i].stream_id && e->sects[j].ric > e->krc))
            j++;
        if (j == i)
            count++;
    }
    return count;
}

static void get_stats(const lwq_qpack_encoder *e, lwq_qpack_encoder_stats *st);

void lwq_qpack_encoder_get_stats_sized(const lwq_qpack_encoder *e, lwq_qpack_encoder_stats *st, size_t struct_size)
{
    lwq_qpack_encoder_stats full; /* the caller's struct may be older and shorter (docs/architecture.md, "ABI") */
    get_stats(e, &full);
    memcpy(st, &full, struct_size < sizeof(full) ? struct_size : sizeof(full));
}

static void get_stats(const lwq_qpack_encoder *e, lwq_qpack_encoder_stats *st)
{
    st->insert_count = e->t.inserted;
    st->known_received_count = e->krc;
    st->table_size = e->t.size;
    st->table_capacity = e->t.capacity;
    st->blocking_streams = blocking_streams(e, SIZE_MAX);
    st->unacked_sections = e->nsect;
}

static int put_int(lwq_qpack_buf *b, uint64_t v, unsigned prefix, uint8_t flags)
{
    int rv = lwq_qpack_buf_reserve(b, 12);
    if (rv < 0)
        return rv;
    b->len += (size_t)lwq_qpack_int_encode(b->data + b->len, 12, v, prefix, flags);
    return 0;
}

static int put_str(lwq_qpack_encoder *e, lwq_qpack_buf *b, const uint8_t *s, size_t len, unsigned prefix, uint8_t flags)
{
    size_t n = lwq_qpack_str_encoded_len(s, len, prefix, !e->no_huffman);
    int rv = lwq_qpack_buf_reserve(b, n);
    if (rv < 0)
        return rv;
    b->len += (size_t)lwq_qpack_str_encode(b->data + b->len, n, s, len, prefix, flags, !e->no_huffman);
    return 0;
}

/* RFC 9204 §7.1.3 and RFC 7541 §7.1.3: credentials and short, guessable cookies stay out of
 * every dynamic table. */
static int is_sensitive(const lwq_qpack_field *f)
{
    if (f->flags & LWQ_QPACK_NEVER_INDEX)
        return 1;
    if ((f->name_len == 13 && memcmp(f->name, "authorization", 13) == 0) ||
        (f->name_len == 19 && memcmp(f->name, "proxy-authorization", 19) == 0))
        return 1;
    return f->name_len == 6 && memcmp(f->name, "cookie", 6) == 0 && f->value_len < 20;
}

typedef struct enc_state {
    uint64_t stream_id, base, ric, min_ref;
    int may_block;        /* references to unacknowledged entries allowed */
    uint64_t evict_bound; /* entries below this may be evicted */
    uint64_t drain;       /* entries below this are duplicated rather than referenced */
} enc_state;

/* A field is inserted the second time it is seen: values that never repeat would only cost
 * encoder-stream bytes and evict useful entries. */
static int worth_inserting(lwq_qpack_encoder *e, const enc_state *st, const lwq_qpack_field *f, uint32_t hash)
{
    size_t sz = f->name_len + f->value_len + 32;
    if (sz > e->t.capacity / 2)
        return 0;
    /* Without blocking, an entry is only useful once acknowledged: do not pile up more. */
    if (!st->may_block && e->t.inserted - e->krc >= MAX_UNACKED_INSERTS)
        return 0;
    for (size_t i = 0; i < HISTORY; i++)
        if (e->seen[i] == hash)
            return 1;
    e->seen[e->seen_next++ % HISTORY] = hash;
    return 0;
}

/* Newest entry matching name and value (*exact) or, failing that, the name, at or above `lowest`. */
static uint64_t find_dynamic(const lwq_qpack_encoder *e, const lwq_qpack_field *f, uint64_t lowest, int *exact,
                             uint32_t *hash)
{
    uint32_t nh = lwq_qpack_hash(LWQ_QPACK_HASH_INIT, f->name, f->name_len);
    uint32_t h = lwq_qpack_hash(nh ^ 0xff, f->value, f->value_len);
    *hash = h | 1; /* never 0, the empty history slot */
    uint64_t name_match = UINT64_MAX;
    *exact = 0;
    if (lowest < e->t.dropped)
        lowest = e->t.dropped;
    for (uint64_t abs = e->t.inserted; abs-- > lowest;) {
        const lwq_qpack_entry *en = lwq_qpack_table_get(&e->t, abs);
        if (en->name_hash != nh || en->name_len != f->name_len || memcmp(en->data, f->name, f->name_len) != 0)
            continue;
        if (en->hash == h && en->value_len == f->value_len &&
            memcmp(lwq_qpack_entry_value(en), f->value, f->value_len) == 0) {
            *exact = 1;
            return abs;
        }
        if (name_match == UINT64_MAX)
            name_match = abs;
    }
    return name_match;
}

static int referenceable(const lwq_qpack_encoder *e, const enc_state *st, uint64_t abs)
{
    return abs != UINT64_MAX && (abs < e->krc || st->may_block);
}

static void note_ref(enc_state *st, uint64_t abs)
{
    if (abs + 1 > st->ric)
        st->ric = abs + 1;
    if (abs < st->min_ref)
        st->min_ref = abs;
    if (abs < st->evict_bound)
        st->evict_bound = abs;
}

/* Inserts f on the encoder stream (§4.3.2-4.3.4) when the table has room without evicting
 * entries still needed. Returns the new absolute index, UINT64_MAX when not inserted, or sets *err. */
static uint64_t try_insert(lwq_qpack_encoder *e, enc_state *st, const lwq_qpack_field *f, uint64_t dup, int static_name,
                           uint64_t dyn_name, lwq_qpack_buf *es, int *err)
{
    size_t sz = f->name_len + f->value_len + 32;
    uint64_t survivor = lwq_qpack_table_survivor(&e->t, sz);
    if (survivor > st->evict_bound || survivor > e->t.inserted)
        return UINT64_MAX;
    if (dup != UINT64_MAX && dup < survivor)
        dup = UINT64_MAX;
    if (dyn_name != UINT64_MAX && dyn_name < survivor)
        dyn_name = UINT64_MAX;
    size_t need = 24 + (dup != UINT64_MAX ? 0
                                          : lwq_qpack_str_encoded_len(f->value, f->value_len, 8, 1) +
                                                lwq_qpack_str_encoded_len(f->name, f->name_len, 6, 1));
    lwq_qpack_entry *en = NULL;
    if ((*err = lwq_qpack_buf_reserve(es, need)) < 0 ||
        !(en = lwq_qpack_entry_new(e->a, f->name, f->name_len, f->value, f->value_len)))
        return *err = LWQ_ERR_NOMEM, UINT64_MAX;
    uint64_t rel_base = e->t.inserted;
    if ((*err = lwq_qpack_table_insert(&e->t, en)) < 0) {
        lwq_free(e->a, en);
        return UINT64_MAX;
    }
    /* The instruction cannot fail now: the room was reserved. */
    if (dup != UINT64_MAX)
        put_int(es, rel_base - 1 - dup, 5, 0x00);
    else if (static_name >= 0 || dyn_name != UINT64_MAX) {
        if (static_name >= 0)
            put_int(es, (uint64_t)static_name, 6, 0xc0);
        else
            put_int(es, rel_base - 1 - dyn_name, 6, 0x80);
        put_str(e, es, f->value, f->value_len, 8, 0x00);
    } else {
        put_str(e, es, f->name, f->name_len, 6, 0x40);
        put_str(e, es, f->value, f->value_len, 8, 0x00);
    }
    return e->t.inserted - 1;
}

/* A reference to a dynamic entry: relative below Base, post-Base above (§4.5.2-4.5.3). */
static int put_indexed(lwq_qpack_buf *b, enc_state *st, uint64_t abs)
{
    note_ref(st, abs);
    if (abs < st->base)
        return put_int(b, st->base - 1 - abs, 6, 0x80);
    return put_int(b, abs - st->base, 4, 0x10);
}

static int put_literal(lwq_qpack_encoder *e, lwq_qpack_buf *b, enc_state *st, const lwq_qpack_field *f, int static_name,
                       uint64_t dyn_name, int never)
{
    int rv;
    if (static_name >= 0) {
        rv = put_int(b, (uint64_t)static_name, 4, (uint8_t)(0x50 | (never ? 0x20 : 0)));
    } else if (dyn_name != UINT64_MAX) {
        note_ref(st, dyn_name);
        if (dyn_name < st->base)
            rv = put_int(b, st->base - 1 - dyn_name, 4, (uint8_t)(0x40 | (never ? 0x20 : 0)));
        else
            rv = put_int(b, dyn_name - st->base, 3, (uint8_t)(never ? 0x08 : 0));
    } else {
        rv = put_str(e, b, f->name, f->name_len, 4, (uint8_t)(0x20 | (never ? 0x10 : 0)));
    }
    if (rv < 0)
        return rv;
    return put_str(e, b, f->value, f->value_len, 8, 0x00);
}

static int encode_field(lwq_qpack_encoder *e, enc_state *st, const lwq_qpack_field *f, lwq_qpack_buf *es)
{
    int sname, never = is_sensitive(f);
    int sidx = lwq_qpack_static_find(f->name, f->name_len, f->value, f->value_len, &sname);
    if (sidx >= 0 && !(f->flags & LWQ_QPACK_NEVER_INDEX))
        return put_int(&e->body, (uint64_t)sidx, 6, 0xc0);
    uint64_t dyn_name = UINT64_MAX;
    if (e->t.capacity && e->nsect < e->max_unacked) {
        int exact;
        uint32_t hash;
        dyn_name = find_dynamic(e, f, 0, &exact, &hash);
        if (exact && !never && referenceable(e, st, dyn_name)) {
            if (dyn_name < st->drain) {
                /* §2.1.1.1: refresh an entry close to eviction with a Duplicate. */
                int err = 0;
                uint64_t dup = try_insert(e, st, f, dyn_name, sname, UINT64_MAX, es, &err);
                if (err < 0)
                    return err;
                if (dup != UINT64_MAX && (st->may_block || dyn_name < e->t.dropped))
                    return st->may_block ? put_indexed(&e->body, st, dup)
                                         : put_literal(e, &e->body, st, f, sname, UINT64_MAX, 0);
            }
            return put_indexed(&e->body, st, dyn_name);
        }
        if (!exact && !never && worth_inserting(e, st, f, hash)) {
            int err = 0;
            uint64_t ins = try_insert(e, st, f, UINT64_MAX, sname, dyn_name, es, &err);
            if (err < 0)
                return err;
            if (ins != UINT64_MAX && st->may_block)
                return put_indexed(&e->body, st, ins);
        }
        if (dyn_name < e->t.dropped || !referenceable(e, st, dyn_name))
            dyn_name = UINT64_MAX;
    }
    return put_literal(e, &e->body, st, f, sname, sname >= 0 ? UINT64_MAX : dyn_name, never);
}

int lwq_qpack_encoder_encode(lwq_qpack_encoder *e, uint64_t stream_id, const lwq_qpack_field *fields, size_t count,
                             lwq_qpack_buf *enc_stream, lwq_qpack_buf *section)
{
    if (e->dead)
        return LWQ_ERR_PROTO;
    for (size_t i = 0; i < count; i++)
        if (fields[i].name_len > MAX_NAME_LEN || fields[i].value_len > MAX_VALUE_LEN)
            return LWQ_ERR_INVAL;
    int rv;
    if (e->nsect == e->sect_cap) {
        size_t ncap = e->sect_cap ? e->sect_cap * 2 : 16;
        sect *ns = lwq_realloc(e->a, e->sects, ncap * sizeof(*ns));
        if (!ns)
            return LWQ_ERR_NOMEM;
        e->sects = ns;
        e->sect_cap = ncap;
    }
    if (e->cap_pending) {
        /* §4.3.1 */
        if ((rv = put_int(enc_stream, e->t.capacity, 5, 0x20)) < 0)
            return rv;
        e->cap_pending = 0;
    }
    enc_state st = {stream_id, e->t.inserted, 0, UINT64_MAX, 0, e->krc, 0};
    st.drain = lwq_qpack_table_survivor(&e->t, e->t.capacity / 4);
    st.may_block = stream_blocking(e, stream_id) || blocking_streams(e, e->peer_blocked) < e->peer_blocked;
    for (size_t i = 0; i < e->nsect; i++)
        if (e->sects[i].min_ref < st.evict_bound)
            st.evict_bound = e->sects[i].min_ref;
    e->body.len = 0;
    for (size_t i = 0; i < count; i++)
        if ((rv = encode_field(e, &st, &fields[i], enc_stream)) < 0)
            return rv;
    /* §4.5.1: Required Insert Count, then Base as a signed delta from it. */
    uint8_t prefix[24];
    ssize_t k = lwq_qpack_int_encode(prefix, sizeof(prefix), lwq_qpack_ric_encode(st.ric, e->max_entries), 8, 0);
    if (st.ric == 0)
        prefix[k++] = 0;
    else if (st.base >= st.ric)
        k += lwq_qpack_int_encode(prefix + k, sizeof(prefix) - (size_t)k, st.base - st.ric, 7, 0x00);
    else
        k += lwq_qpack_int_encode(prefix + k, sizeof(prefix) - (size_t)k, st.ric - st.base - 1, 7, 0x80);
    if ((rv = lwq_qpack_buf_reserve(section, (size_t)k + e->body.len)) < 0)
        return rv;
    lwq_qpack_buf_append(section, prefix, (size_t)k);
    lwq_qpack_buf_append(section, e->body.data, e->body.len);
    if (st.ric)
        e->sects[e->nsect++] = (sect){stream_id, st.ric, st.min_ref};
    return 0;
}

int lwq_qpack_encoder_insert(lwq_qpack_encoder *e, const lwq_qpack_field *f, lwq_qpack_buf *enc_stream)
{
    if (e->dead)
        return LWQ_ERR_PROTO;
    if (f->flags & LWQ_QPACK_NEVER_INDEX)
        return LWQ_ERR_INVAL;
    if (f->name_len > MAX_NAME_LEN || f->value_len > MAX_VALUE_LEN)
        return LWQ_ERR_INVAL;
    if (e->t.capacity == 0)
        return LWQ_ERR_STATE;
    int rv, exact, sname;
    uint32_t hash;
    if (e->cap_pending) {
        if ((rv = put_int(enc_stream, e->t.capacity, 5, 0x20)) < 0)
            return rv;
        e->cap_pending = 0;
    }
    enc_state st = {0, e->t.inserted, 0, UINT64_MAX, 0, e->krc, 0};
    for (size_t i = 0; i < e->nsect; i++)
        if (e->sects[i].min_ref < st.evict_bound)
            st.evict_bound = e->sects[i].min_ref;
    lwq_qpack_static_find(f->name, f->name_len, f->value, f->value_len, &sname);
    uint64_t dyn = find_dynamic(e, f, 0, &exact, &hash);
    rv = 0;
    uint64_t ins =
        try_insert(e, &st, f, exact ? dyn : UINT64_MAX, sname, sname >= 0 || exact ? UINT64_MAX : dyn, enc_stream, &rv);
    return rv < 0 ? rv : ins == UINT64_MAX ? LWQ_ERR_LIMIT : 0;
}

static int dec_fail(lwq_qpack_encoder *e)
{
    e->dead = 1;
    e->wire_error = LWQ_QPACK_DECODER_STREAM_ERROR;
    return LWQ_ERR_PROTO;
}

static void drop_sect(lwq_qpack_encoder *e, size_t i)
{
    memmove(&e->sects[i], &e->sects[i + 1], (e->nsect - i - 1) * sizeof(*e->sects));
    e->nsect--;
}

void lwq_qpack_encoder_cancel_stream(lwq_qpack_encoder *e, uint64_t stream_id)
{
    for (size_t i = e->nsect; i-- > 0;)
        if (e->sects[i].stream_id == stream_id)
            drop_sect(e, i);
}

static int apply(lwq_qpack_encoder *e, const lwq_qpack_dec_insn *in)
{
    switch (in->type) {
    case LWQ_QPACK_SECTION_ACK:
        /* §4.4.1: acknowledges the earliest unacknowledged section of the stream. */
        for (size_t i = 0; i < e->nsect; i++) {
            if (e->sects[i].stream_id != in->value)
                continue;
            if (e->sects[i].ric > e->krc)
                e->krc = e->sects[i].ric;
            drop_sect(e, i);
            return 0;
        }
        return dec_fail(e);
    case LWQ_QPACK_STREAM_CANCEL:
        lwq_qpack_encoder_cancel_stream(e, in->value);
        return 0;
    default:
        /* §4.4.3 */
        if (in->value == 0 || in->value > e->t.inserted - e->krc)
            return dec_fail(e);
        e->krc += in->value;
        return 0;
    }
}

ssize_t lwq_qpack_encoder_read_decoder(lwq_qpack_encoder *e, const uint8_t *p, size_t n)
{
    if (e->dead)
        return LWQ_ERR_PROTO;
    lwq_qpack_dec_insn in;
    size_t off = 0, need;
    ssize_t k;
    while (off < n) {
        if (e->part_len) {
            e->part[e->part_len++] = p[off++];
            k = lwq_qpack_dec_insn_parse(&in, e->part, e->part_len, &need);
            if (k == LWQ_ERR_TRUNCATED && e->part_len < sizeof(e->part))
                continue;
            if (k < 0)
                return dec_fail(e);
            e->part_len = 0;
        } else {
            k = lwq_qpack_dec_insn_parse(&in, p + off, n - off, &need);
            if (k == LWQ_ERR_TRUNCATED && n - off < sizeof(e->part)) {
                memcpy(e->part, p + off, n - off);
                e->part_len = n - off;
                break;
            }
            if (k < 0)
                return dec_fail(e);
            off += (size_t)k;
        }
        if (apply(e, &in) < 0)
            return LWQ_ERR_PROTO;
    }
    return (ssize_t)n;
}
