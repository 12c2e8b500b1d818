/* --explain, HTTP/3 layer: stream bytes put back in order, stream types (RFC 9114 §6.2), frames
 * through the library's resumable H3 parser (§7.2), field sections line by line and QPACK encoder
 * and decoder instructions with the library's QPACK primitives (RFC 9204 §4). */
#include <stdlib.h>
#include <string.h>
#include "common/explain_int.h"
#include "qpack/codec.h"
#include "quic/varint.h"

static ex_stream *stream_of(ex_conn *c, int sent, uint64_t id)
{
    ex_stream *slot = NULL;
    for (size_t i = 0; i < EX_STREAMS; i++) {
        ex_stream *s = &c->st[i];
        if (s->used && s->sent == sent && s->id == id)
            return s;
        if (!s->used && !slot)
            slot = s;
    }
    if (!slot)
        return NULL; /* more streams than the explainer follows: their frames are still listed */
    memset(slot, 0, sizeof(*slot));
    slot->used = 1;
    slot->sent = sent;
    slot->id = id;
    if (!(id & 2))
        slot->kind = EX_ST_REQUEST;
    return slot;
}

static void str(char *out, size_t cap, const lwq_qpack_str *s)
{
    ssize_t n = lwq_qpack_str_decode((uint8_t *)out, cap - 1, s);
    if (n < 0)
        n = snprintf(out, cap, "(%zu bytes)", s->len);
    out[n] = 0;
}

/* One field line representation of a field section (RFC 9204 §4.5.2-§4.5.6). */
static ssize_t field_line(explain *e, ex_conn *c, const uint8_t *p, size_t n)
{
    uint64_t idx;
    ssize_t k;
    size_t need;
    char name[128], value[256];
    lwq_qpack_str sn, sv;
    if (p[0] & 0x80) {
        int is_static = p[0] & 0x40;
        if ((k = lwq_qpack_int_decode(&idx, p, n, 6)) < 0)
            return k;
        if (is_static && idx < LWQ_QPACK_STATIC_COUNT)
            ex_say(e, c, 4, C_QPACK, "RFC 9204 §4.5.2, Appendix A",
                   "QPACK indexed field line: static entry %llu = %s: %s", (unsigned long long)idx,
                   lwq_qpack_static[idx].name, lwq_qpack_static[idx].value);
        else
            ex_say(e, c, 4, C_QPACK, "RFC 9204 §4.5.2", "QPACK indexed field line: %s table entry, relative index %llu",
                   is_static ? "static" : "dynamic", (unsigned long long)idx);
        return k;
    }
    if ((p[0] & 0xf0) == 0x10) {
        if ((k = lwq_qpack_int_decode(&idx, p, n, 4)) < 0)
            return k;
        ex_say(e, c, 4, C_QPACK, "RFC 9204 §4.5.3",
               "QPACK indexed field line with post-base index %llu (dynamic table)", (unsigned long long)idx);
        return k;
    }
    if ((p[0] & 0xc0) == 0x40 || (p[0] & 0xf0) == 0x00) {
        int post = (p[0] & 0xf0) == 0x00, is_static = !post && (p[0] & 0x10);
        if ((k = lwq_qpack_int_decode(&idx, p, n, post ? 3 : 4)) < 0)
            return k;
        ssize_t v = lwq_qpack_str_parse(&sv, p + k, n - (size_t)k, 8, &need);
        if (v < 0)
            return v;
        str(value, sizeof(value), &sv);
        if (is_static && idx < LWQ_QPACK_STATIC_COUNT)
            snprintf(name, sizeof(name), "static entry %llu's name %s", (unsigned long long)idx,
                     lwq_qpack_static[idx].name);
        else
            snprintf(name, sizeof(name), "%s name index %llu", post ? "post-base" : "dynamic", (unsigned long long)idx);
        ex_say(e, c, 4, C_QPACK, post ? "RFC 9204 §4.5.5" : "RFC 9204 §4.5.4",
               "QPACK literal field line with name reference: %s, value \"%s\"%s", name, value,
               sv.huffman ? " (Huffman-coded, RFC 7541 §5.2)" : "");
        return k + v;
    }
    /* 001NHxxx: literal name and value */
    if ((k = lwq_qpack_str_parse(&sn, p, n, 4, &need)) < 0)
        return k;
    ssize_t v = lwq_qpack_str_parse(&sv, p + k, n - (size_t)k, 8, &need);
    if (v < 0)
        return v;
    str(name, sizeof(name), &sn);
    str(value, sizeof(value), &sv);
    ex_say(e, c, 4, C_QPACK, "RFC 9204 §4.5.6", "QPACK literal field line with literal name: %s: %s%s", name, value,
           sn.huffman || sv.huffman ? " (Huffman-coded, RFC 7541 §5.2)" : "");
    return k + v;
}

static void field_section(explain *e, ex_conn *c, const uint8_t *p, size_t n)
{
    uint64_t ric, base;
    ssize_t a = lwq_qpack_int_decode(&ric, p, n, 8);
    ssize_t b = a > 0 && (size_t)a < n ? lwq_qpack_int_decode(&base, p + a, n - (size_t)a, 7) : -1;
    if (a < 0 || b < 0) {
        ex_say(e, c, 3, C_QPACK, "RFC 9204 §4.5.1", "QPACK field section prefix: truncated");
        return;
    }
    ex_say(e, c, 3, C_QPACK, "RFC 9204 §4.5.1", "QPACK field section prefix: Required Insert Count %llu%s",
           (unsigned long long)ric, ric ? "" : " (uses the static table only, never blocks)");
    size_t at = (size_t)(a + b);
    while (at < n) {
        ssize_t k = field_line(e, c, p + at, n - at);
        if (k <= 0) {
            ex_say(e, c, 4, C_QPACK, "RFC 9204 §4.5", "QPACK field line that does not decode");
            return;
        }
        at += (size_t)k;
    }
}

static const char *frame_name(uint64_t t, const char **rfc)
{
    switch (t) {
    case LWQ_H3_FT_DATA:
        *rfc = "RFC 9114 §7.2.1";
        return "DATA";
    case LWQ_H3_FT_HEADERS:
        *rfc = "RFC 9114 §7.2.2";
        return "HEADERS";
    case LWQ_H3_FT_CANCEL_PUSH:
        *rfc = "RFC 9114 §7.2.3";
        return "CANCEL_PUSH";
    case LWQ_H3_FT_SETTINGS:
        *rfc = "RFC 9114 §7.2.4";
        return "SETTINGS";
    case LWQ_H3_FT_PUSH_PROMISE:
        *rfc = "RFC 9114 §7.2.5";
        return "PUSH_PROMISE";
    case LWQ_H3_FT_GOAWAY:
        *rfc = "RFC 9114 §7.2.6";
        return "GOAWAY";
    case LWQ_H3_FT_MAX_PUSH_ID:
        *rfc = "RFC 9114 §7.2.7";
        return "MAX_PUSH_ID";
    case LWQ_H3_FT_PRIORITY_UPDATE_REQ:
    case LWQ_H3_FT_PRIORITY_UPDATE_PUSH:
        *rfc = "RFC 9218 §7.1";
        return "PRIORITY_UPDATE";
    }
    *rfc = "RFC 9114 §7.2.8, §9";
    return "reserved or unknown (ignored)";
}

static void settings(explain *e, ex_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        uint64_t id, v;
        ssize_t a = lwq_varint_decode(&id, p, n);
        ssize_t b = a > 0 ? lwq_varint_decode(&v, p + a, n - (size_t)a) : -1;
        if (a <= 0 || b <= 0)
            return;
        const char *name = id == LWQ_H3_SET_QPACK_MAX_TABLE_CAPACITY ? "SETTINGS_QPACK_MAX_TABLE_CAPACITY"
                           : id == LWQ_H3_SET_QPACK_BLOCKED_STREAMS  ? "SETTINGS_QPACK_BLOCKED_STREAMS"
                           : id == LWQ_H3_SET_MAX_FIELD_SECTION_SIZE ? "SETTINGS_MAX_FIELD_SECTION_SIZE"
                           : lwq_h3_is_grease(id)                    ? "reserved (GREASE), ignored"
                                                                     : "unknown, ignored";
        const char *rfc = id == LWQ_H3_SET_QPACK_MAX_TABLE_CAPACITY || id == LWQ_H3_SET_QPACK_BLOCKED_STREAMS
                              ? "RFC 9204 §5"
                          : id == LWQ_H3_SET_MAX_FIELD_SECTION_SIZE ? "RFC 9114 §7.2.4.1"
                                                                    : "RFC 9114 §7.2.4.1, §9";
        ex_say(e, c, 3, C_H3, rfc, "setting 0x%llx %s = %llu", (unsigned long long)id, name, (unsigned long long)v);
        p += a + b;
        n -= (size_t)(a + b);
    }
}

static void h3_frame(explain *e, ex_conn *c, ex_stream *s, const lwq_h3_pframe *f)
{
    const char *rfc, *name = frame_name(f->type, &rfc);
    if (f->kind == LWQ_H3_P_DATA) {
        if (!s->ilen) /* ilen doubles as "inside a DATA frame" on request streams */
            ex_say(e, c, 2, C_H3, rfc, "HTTP/3 DATA frame on stream %llu: %llu bytes of %s body",
                   (unsigned long long)s->id, (unsigned long long)(f->len + s->ps.left),
                   c->is_server == s->sent ? "response" : "request");
        s->ilen = f->data_end ? 0 : 1;
        return;
    }
    ex_say(e, c, 2, C_H3, rfc, "HTTP/3 %s frame on stream %llu, %zu bytes", name, (unsigned long long)s->id, f->len);
    if (f->type == LWQ_H3_FT_SETTINGS)
        settings(e, c, f->p, f->len);
    else if (f->type == LWQ_H3_FT_HEADERS)
        field_section(e, c, f->p, f->len);
}

static void enc_insns(explain *e, ex_conn *c, ex_stream *s)
{
    size_t at = 0, need;
    char v[256], nm[128];
    while (at < s->ilen) {
        lwq_qpack_enc_insn in;
        ssize_t k = lwq_qpack_enc_insn_parse(&in, s->ibuf + at, s->ilen - at, &need);
        if (k == LWQ_ERR_TRUNCATED)
            break;
        if (k <= 0) {
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.3", "QPACK encoder instruction that does not decode");
            s->ilen = at = 0;
            break;
        }
        if (in.type == LWQ_QPACK_SET_CAPACITY)
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.3.1", "QPACK Set Dynamic Table Capacity %llu",
                   (unsigned long long)in.index);
        else if (in.type == LWQ_QPACK_INSERT_NAME_REF) {
            str(v, sizeof(v), &in.value);
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.3.2", "QPACK Insert with Name Reference: %s name %llu, value \"%s\"",
                   in.is_static ? "static" : "dynamic", (unsigned long long)in.index, v);
        } else if (in.type == LWQ_QPACK_INSERT_LITERAL) {
            str(nm, sizeof(nm), &in.name);
            str(v, sizeof(v), &in.value);
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.3.3", "QPACK Insert with Literal Name: %s: %s", nm, v);
        } else
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.3.4", "QPACK Duplicate of relative index %llu",
                   (unsigned long long)in.index);
        at += (size_t)k;
    }
    memmove(s->ibuf, s->ibuf + at, s->ilen - at);
    s->ilen -= at;
}

static void dec_insns(explain *e, ex_conn *c, ex_stream *s)
{
    size_t at = 0, need;
    while (at < s->ilen) {
        lwq_qpack_dec_insn in;
        ssize_t k = lwq_qpack_dec_insn_parse(&in, s->ibuf + at, s->ilen - at, &need);
        if (k == LWQ_ERR_TRUNCATED)
            break;
        if (k <= 0) {
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.4", "QPACK decoder instruction that does not decode");
            s->ilen = at = 0;
            break;
        }
        if (in.type == LWQ_QPACK_SECTION_ACK)
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.4.1", "QPACK Section Acknowledgment for stream %llu",
                   (unsigned long long)in.value);
        else if (in.type == LWQ_QPACK_STREAM_CANCEL)
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.4.2", "QPACK Stream Cancellation of stream %llu",
                   (unsigned long long)in.value);
        else
            ex_say(e, c, 2, C_QPACK, "RFC 9204 §4.4.3", "QPACK Insert Count Increment by %llu",
                   (unsigned long long)in.value);
        at += (size_t)k;
    }
    memmove(s->ibuf, s->ibuf + at, s->ilen - at);
    s->ilen -= at;
}

static void parser_on(ex_conn *c, ex_stream *s, lwq_h3_stream_kind kind)
{
    int receiver_is_server = s->sent ? !c->is_server : c->is_server;
    lwq_h3_parser_init(&s->ps, NULL, kind, receiver_is_server, 1 << 16, 1 << 16);
    s->ps_on = 1;
}

static void feed(explain *e, ex_conn *c, ex_stream *s, const uint8_t *p, size_t n)
{
    while (n > 0 && s->kind == EX_ST_UNKNOWN) {
        s->ibuf[s->ilen++] = *p++;
        n--;
        if (s->ilen < (size_t)1 << (s->ibuf[0] >> 6))
            continue;
        uint64_t t;
        lwq_varint_decode(&t, s->ibuf, s->ilen);
        s->ilen = 0;
        const char *what = t == LWQ_H3_ST_CONTROL ? "the control stream (SETTINGS first, then connection-wide frames)"
                           : t == LWQ_H3_ST_PUSH  ? "a push stream"
                           : t == LWQ_H3_ST_QPACK_ENC ? "the QPACK encoder stream (dynamic table updates)"
                           : t == LWQ_H3_ST_QPACK_DEC ? "the QPACK decoder stream (acknowledgments to the encoder)"
                                                      : "a reserved or unknown type, ignored";
        const char *rfc = t == LWQ_H3_ST_CONTROL     ? "RFC 9114 §6.2.1"
                          : t == LWQ_H3_ST_PUSH      ? "RFC 9114 §6.2.2"
                          : t == LWQ_H3_ST_QPACK_ENC ? "RFC 9204 §4.2"
                          : t == LWQ_H3_ST_QPACK_DEC ? "RFC 9204 §4.2"
                                                     : "RFC 9114 §6.2.3";
        ex_say(e, c, 2, C_H3, rfc, "HTTP/3 unidirectional stream %llu, type 0x%llx: %s", (unsigned long long)s->id,
               (unsigned long long)t, what);
        s->kind = t == LWQ_H3_ST_CONTROL     ? EX_ST_CONTROL
                  : t == LWQ_H3_ST_QPACK_ENC ? EX_ST_ENC
                  : t == LWQ_H3_ST_QPACK_DEC ? EX_ST_DEC
                                             : EX_ST_OTHER;
        if (s->kind == EX_ST_CONTROL)
            parser_on(c, s, LWQ_H3_ON_CONTROL);
    }
    if (s->kind == EX_ST_REQUEST && !s->ps_on) {
        ex_say(e, c, 2, C_H3, "RFC 9114 §6.1, §4.1", "HTTP/3 request stream %llu: one request and its response",
               (unsigned long long)s->id);
        parser_on(c, s, LWQ_H3_ON_REQUEST);
    }
    if (s->kind == EX_ST_ENC || s->kind == EX_ST_DEC) {
        while (n > 0) {
            size_t take = sizeof(s->ibuf) - s->ilen < n ? sizeof(s->ibuf) - s->ilen : n;
            memcpy(s->ibuf + s->ilen, p, take);
            s->ilen += take;
            p += take;
            n -= take;
            if (s->kind == EX_ST_ENC)
                enc_insns(e, c, s);
            else
                dec_insns(e, c, s);
            if (s->ilen == sizeof(s->ibuf))
                s->ilen = 0; /* an instruction longer than the buffer: skipped */
        }
        return;
    }
    while (n > 0 && s->ps_on) {
        lwq_h3_pframe f;
        ssize_t k = lwq_h3_parser_feed(&s->ps, p, n, &f);
        if (k < 0) {
            ex_say(e, c, 2, C_H3, "RFC 9114 §7.1", "HTTP/3 frames on stream %llu stop parsing (error 0x%llx)",
                   (unsigned long long)s->id, (unsigned long long)s->ps.error);
            lwq_h3_parser_free(&s->ps);
            s->ps_on = 0;
            return;
        }
        if (f.kind != LWQ_H3_P_NONE)
            h3_frame(e, c, s, &f);
        p += k;
        n -= (size_t)k;
    }
}

/* Bytes that arrived ahead of the stream's read point wait in a window [pbase, pbase + EX_PENDING). */
static void drop_pending(ex_stream *s)
{
    free(s->pending);
    free(s->pmask);
    s->pending = s->pmask = NULL;
}

static void flush_pending(explain *e, ex_conn *c, ex_stream *s)
{
    if (!s->pending)
        return;
    if (s->next >= s->pbase + EX_PENDING) {
        drop_pending(s);
        return;
    }
    size_t from = (size_t)(s->next - s->pbase), to = from;
    while (to < EX_PENDING && (s->pmask[to / 8] & (1u << (to % 8))))
        to++;
    if (to == from)
        return;
    s->next += to - from;
    feed(e, c, s, s->pending + from, to - from);
    if (s->next >= s->pbase + EX_PENDING)
        drop_pending(s);
}

void ex_stream_frame(explain *e, ex_conn *c, int sent, uint64_t id, uint64_t off, const uint8_t *p, size_t n, int fin)
{
    ex_stream *s = stream_of(c, sent, id);
    if (!s || off + n <= s->next)
        return; /* a retransmission of bytes already explained */
    if (off < s->next) {
        p += s->next - off;
        n -= (size_t)(s->next - off);
        off = s->next;
    }
    if (off > s->next) {
        if (!s->pending) {
            s->pending = malloc(EX_PENDING);
            s->pmask = calloc(1, EX_PENDING / 8);
            s->pbase = s->next;
            if (!s->pending || !s->pmask) {
                drop_pending(s);
                return;
            }
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t at = off + i - s->pbase;
            if (at >= EX_PENDING)
                break;
            s->pending[at] = p[i];
            s->pmask[at / 8] |= (uint8_t)(1u << (at % 8));
        }
        return;
    }
    s->next += n;
    feed(e, c, s, p, n);
    flush_pending(e, c, s);
}

void ex_conn_free(ex_conn *c)
{
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++)
            free(c->crypto[d][k]);
    for (size_t i = 0; i < EX_STREAMS; i++) {
        if (c->st[i].ps_on)
            lwq_h3_parser_free(&c->st[i].ps);
        free(c->st[i].pending);
        free(c->st[i].pmask);
    }
    memset(c, 0, sizeof(*c));
}
