/* QPACK offline interop (QIF text and encoded record files) over the public codec API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "qpack/codec.h"
#include "qpack/qif.h"

#define MAX_SECTION_SIZE ((size_t)1 << 24)

void lwq_qif_free(lwq_qif *q)
{
    lwq_free(q->alloc, q->fields);
    lwq_free(q->alloc, q->block_start);
    lwq_free(q->alloc, q->text);
    memset(q, 0, sizeof(*q));
}

int lwq_qif_parse(lwq_qif *q, const lwq_allocator *a, const uint8_t *text, size_t len, size_t *bad_line)
{
    memset(q, 0, sizeof(*q));
    q->alloc = a;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    q->text = lwq_memdup(a, text, len ? len : 1);
    q->fields = lwq_calloc(a, lines, sizeof(*q->fields));
    q->block_start = lwq_calloc(a, lines + 1, sizeof(*q->block_start));
    if (!q->text || !q->fields || !q->block_start) {
        lwq_qif_free(q);
        return LWQ_ERR_NOMEM;
    }
    int in_block = 0;
    size_t line = 0;
    for (size_t off = 0; off < len;) {
        const uint8_t *s = q->text + off, *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        off += n + (nl != NULL);
        line++;
        if (n && s[n - 1] == '\r')
            n--;
        if (n && s[0] == '#')
            continue;
        if (n == 0) {
            if (in_block)
                q->block_start[++q->nblocks] = q->nfields;
            in_block = 0;
            continue;
        }
        const uint8_t *tab = memchr(s, '\t', n);
        if (!tab) {
            if (bad_line)
                *bad_line = line;
            lwq_qif_free(q);
            return LWQ_ERR_DECODE;
        }
        lwq_qpack_field *f = &q->fields[q->nfields++];
        f->name = s;
        f->name_len = (size_t)(tab - s);
        f->value = tab + 1;
        f->value_len = n - f->name_len - 1;
        f->flags = 0;
        in_block = 1;
    }
    if (in_block)
        q->block_start[++q->nblocks] = q->nfields;
    return 0;
}

int lwq_qif_equal(const lwq_qif *x, const lwq_qif *y)
{
    if (x->nblocks != y->nblocks || x->nfields != y->nfields)
        return 0;
    for (size_t i = 0; i <= x->nblocks; i++)
        if (x->block_start[i] != y->block_start[i])
            return 0;
    for (size_t i = 0; i < x->nfields; i++) {
        const lwq_qpack_field *f = &x->fields[i], *g = &y->fields[i];
        if (f->name_len != g->name_len || f->value_len != g->value_len || memcmp(f->name, g->name, f->name_len) != 0 ||
            memcmp(f->value, g->value, f->value_len) != 0)
            return 0;
    }
    return 1;
}

static int put_record(lwq_qpack_buf *out, uint64_t stream_id, const uint8_t *p, size_t n)
{
    uint8_t hdr[12];
    lwq_put64(hdr, stream_id);
    lwq_put32(hdr + 8, (uint32_t)n);
    int rv = lwq_qpack_buf_append(out, hdr, sizeof(hdr));
    return rv < 0 ? rv : lwq_qpack_buf_append(out, p, n);
}

int lwq_qpack_offline_encode(const lwq_allocator *a, const lwq_qif *q, const lwq_qpack_offline_opts *o,
                             lwq_qpack_buf *out, lwq_qpack_offline_result *res)
{
    lwq_qpack_encoder_config ecfg = {o->table_size ? o->table_size : 1, 0, 0};
    lwq_qpack_decoder_config dcfg = {o->table_size, o->max_blocked, MAX_SECTION_SIZE, 0};
    lwq_qpack_encoder *enc = NULL;
    lwq_qpack_decoder *dec = NULL;
    lwq_qpack_buf es, sec, ds;
    lwq_qpack_headers h;
    lwq_qpack_buf_init(&es, a);
    lwq_qpack_buf_init(&sec, a);
    lwq_qpack_buf_init(&ds, a);
    lwq_qpack_headers_init(&h, a);
    memset(res, 0, sizeof(*res));
    int rv = lwq_qpack_encoder_new(&enc, a, &ecfg);
    if (rv == 0 && o->ack_mode)
        rv = lwq_qpack_decoder_new(&dec, a, &dcfg);
    if (rv == 0)
        rv = lwq_qpack_encoder_set_peer_settings(enc, o->table_size, o->max_blocked);
    for (size_t b = 0; rv == 0 && b < q->nblocks; b++) {
        uint64_t sid = b + 1;
        es.len = sec.len = 0;
        rv = lwq_qpack_encoder_encode(enc, sid, q->fields + q->block_start[b],
                                      q->block_start[b + 1] - q->block_start[b], &es, &sec);
        if (rv == 0 && es.len) {
            rv = put_record(out, 0, es.data, es.len);
            res->encoder_bytes += es.len;
            res->records++;
        }
        if (rv == 0) {
            rv = put_record(out, sid, sec.data, sec.len);
            res->section_bytes += sec.len;
            res->records++;
            res->sections++;
        }
        if (rv == 0 && dec) {
            /* Ack mode 1: a decoder that sees everything at once acknowledges at once. */
            ssize_t k = lwq_qpack_decoder_read_encoder(dec, es.data, es.len);
            rv = k < 0 ? (int)k : lwq_qpack_decoder_decode(dec, sid, sec.data, sec.len, &h);
            if (rv == 0)
                rv = lwq_qpack_decoder_write_decoder(dec, &ds);
            if (rv == 0 && (k = lwq_qpack_encoder_read_decoder(enc, ds.data, ds.len)) < 0)
                rv = (int)k;
            ds.len = 0;
        }
        if (rv < 0)
            res->bad_record = res->records;
    }
    lwq_qpack_headers_free(&h);
    lwq_qpack_buf_free(&es);
    lwq_qpack_buf_free(&sec);
    lwq_qpack_buf_free(&ds);
    lwq_qpack_decoder_del(dec);
    lwq_qpack_encoder_del(enc);
    return rv;
}

typedef struct done {
    uint64_t stream_id;
    size_t off, len; /* text in the scratch buffer */
} done;

typedef struct dstate {
    const lwq_allocator *a;
    lwq_qpack_buf text;
    done *d;
    size_t n, cap;
} dstate;

static int cmp_done(const void *x, const void *y)
{
    const done *a = x, *b = y;
    return a->stream_id < b->stream_id ? -1 : a->stream_id > b->stream_id;
}

static int keep(dstate *s, uint64_t sid, const lwq_qpack_headers *h)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        done *nd = lwq_realloc(s->a, s->d, ncap * sizeof(*nd));
        if (!nd)
            return LWQ_ERR_NOMEM;
        s->d = nd;
        s->cap = ncap;
    }
    size_t start = s->text.len;
    char line[40];
    int k = snprintf(line, sizeof(line), "# stream %llu\n", (unsigned long long)sid);
    int rv = lwq_qpack_buf_append(&s->text, (const uint8_t *)line, (size_t)k);
    for (size_t i = 0; rv == 0 && i < h->count; i++) {
        const lwq_qpack_field *f = &h->fields[i];
        if ((rv = lwq_qpack_buf_reserve(&s->text, f->name_len + f->value_len + 2)) < 0)
            break;
        lwq_qpack_buf_append(&s->text, f->name, f->name_len);
        lwq_qpack_buf_append(&s->text, (const uint8_t *)"\t", 1);
        lwq_qpack_buf_append(&s->text, f->value, f->value_len);
        lwq_qpack_buf_append(&s->text, (const uint8_t *)"\n", 1);
    }
    if (rv == 0)
        rv = lwq_qpack_buf_append(&s->text, (const uint8_t *)"\n", 1);
    if (rv == 0)
        s->d[s->n++] = (done){sid, start, s->text.len - start};
    return rv;
}

static int drain_unblocked(lwq_qpack_decoder *dec, dstate *s, lwq_qpack_headers *h)
{
    uint64_t sid;
    int rv;
    while ((rv = lwq_qpack_decoder_next_unblocked(dec, &sid, h)) != LWQ_ERR_AGAIN) {
        if (rv < 0 || (rv = keep(s, sid, h)) < 0)
            return rv;
    }
    return 0;
}

int lwq_qpack_offline_decode(const lwq_allocator *a, const uint8_t *in, size_t n, const lwq_qpack_offline_opts *o,
                             lwq_qpack_buf *out, lwq_qpack_offline_result *res)
{
    lwq_qpack_decoder_config dcfg = {o->table_size, o->max_blocked, MAX_SECTION_SIZE, 1};
    lwq_qpack_decoder *dec = NULL;
    lwq_qpack_headers h;
    lwq_qpack_buf ds, late;
    dstate s = {a, {0}, NULL, 0, 0};
    lwq_qpack_buf_init(&late, a);
    lwq_qpack_buf_init(&s.text, a);
    lwq_qpack_buf_init(&ds, a);
    lwq_qpack_headers_init(&h, a);
    memset(res, 0, sizeof(*res));
    int rv = lwq_qpack_decoder_new(&dec, a, &dcfg);
    size_t off = 0;
    while (rv == 0 && off < n) {
        res->records++;
        if (n - off < 12) {
            rv = LWQ_ERR_DECODE;
            break;
        }
        uint64_t sid = lwq_get64(in + off);
        uint32_t len = lwq_get32(in + off + 8);
        off += 12;
        if (len > n - off) {
            rv = LWQ_ERR_DECODE;
            break;
        }
        if (sid == 0) {
            res->encoder_bytes += len;
            if (o->late_encoder) {
                rv = lwq_qpack_buf_append(&late, in + off, len);
            } else {
                ssize_t k = lwq_qpack_decoder_read_encoder(dec, in + off, len);
                rv = k < 0 ? (int)k : drain_unblocked(dec, &s, &h);
            }
        } else {
            rv = lwq_qpack_decoder_decode(dec, sid, in + off, len, &h);
            res->sections++;
            res->section_bytes += len;
            if (rv == LWQ_ERR_AGAIN) {
                res->blocked++;
                rv = 0;
            } else if (rv == 0) {
                rv = keep(&s, sid, &h);
            }
            if (rv == 0 && late.len) {
                ssize_t k = lwq_qpack_decoder_read_encoder(dec, late.data, late.len);
                rv = k < 0 ? (int)k : drain_unblocked(dec, &s, &h);
                late.len = 0;
            }
        }
        if (rv == 0)
            rv = lwq_qpack_decoder_write_decoder(dec, &ds);
        ds.len = 0;
        off += len;
    }
    if (rv == 0 && late.len) {
        ssize_t k = lwq_qpack_decoder_read_encoder(dec, late.data, late.len);
        rv = k < 0 ? (int)k : drain_unblocked(dec, &s, &h);
    }
    if (rv == 0 && lwq_qpack_decoder_blocked_streams(dec))
        rv = LWQ_ERR_DECODE;
    if (rv < 0) {
        res->bad_record = res->records;
        res->wire_error = dec ? lwq_qpack_decoder_wire_error(dec) : 0;
    }
    if (rv == 0) {
        qsort(s.d, s.n, sizeof(*s.d), cmp_done);
        for (size_t i = 0; rv == 0 && i < s.n; i++)
            rv = lwq_qpack_buf_append(out, s.text.data + s.d[i].off, s.d[i].len);
    }
    lwq_free(a, s.d);
    lwq_qpack_buf_free(&late);
    lwq_qpack_buf_free(&s.text);
    lwq_qpack_buf_free(&ds);
    lwq_qpack_headers_free(&h);
    lwq_qpack_decoder_del(dec);
    return rv;
}
