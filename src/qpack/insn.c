/* RFC 9204 §4.3-4.4 encoder and decoder stream instructions and §4.5.1.1 Required Insert Count. */
#include "qpack/codec.h"

static ssize_t parse_str(lwq_qpack_str *s, const uint8_t *p, size_t n, size_t off, unsigned prefix, size_t *need)
{
    size_t sub;
    ssize_t k = lwq_qpack_str_parse(s, p + off, n - off, prefix, &sub);
    if (k == LWQ_ERR_TRUNCATED && sub)
        *need = sub > SIZE_MAX - off ? SIZE_MAX : off + sub;
    return k;
}

ssize_t lwq_qpack_enc_insn_parse(lwq_qpack_enc_insn *in, const uint8_t *p, size_t n, size_t *need)
{
    *need = 0;
    if (n == 0)
        return LWQ_ERR_TRUNCATED;
    uint8_t b = p[0];
    ssize_t k, v;
    if (b & 0x80) {
        in->type = LWQ_QPACK_INSERT_NAME_REF;
        in->is_static = (b & 0x40) != 0;
        if ((k = lwq_qpack_int_decode(&in->index, p, n, 6)) < 0)
            return k;
        if ((v = parse_str(&in->value, p, n, (size_t)k, 8, need)) < 0)
            return v;
        return k + v;
    }
    if (b & 0x40) {
        in->type = LWQ_QPACK_INSERT_LITERAL;
        if ((k = parse_str(&in->name, p, n, 0, 6, need)) < 0)
            return k;
        if ((v = parse_str(&in->value, p, n, (size_t)k, 8, need)) < 0)
            return v;
        return k + v;
    }
    in->type = (b & 0x20) ? LWQ_QPACK_SET_CAPACITY : LWQ_QPACK_DUPLICATE;
    return lwq_qpack_int_decode(&in->index, p, n, 5);
}

ssize_t lwq_qpack_dec_insn_parse(lwq_qpack_dec_insn *in, const uint8_t *p, size_t n, size_t *need)
{
    *need = 0;
    if (n == 0)
        return LWQ_ERR_TRUNCATED;
    if (p[0] & 0x80) {
        in->type = LWQ_QPACK_SECTION_ACK;
        return lwq_qpack_int_decode(&in->value, p, n, 7);
    }
    in->type = (p[0] & 0x40) ? LWQ_QPACK_STREAM_CANCEL : LWQ_QPACK_INSERT_COUNT_INC;
    return lwq_qpack_int_decode(&in->value, p, n, 6);
}

ssize_t lwq_qpack_dec_insn_encode(uint8_t *out, size_t cap, const lwq_qpack_dec_insn *in)
{
    switch (in->type) {
    case LWQ_QPACK_SECTION_ACK:
        return lwq_qpack_int_encode(out, cap, in->value, 7, 0x80);
    case LWQ_QPACK_STREAM_CANCEL:
        return lwq_qpack_int_encode(out, cap, in->value, 6, 0x40);
    case LWQ_QPACK_INSERT_COUNT_INC:
        return lwq_qpack_int_encode(out, cap, in->value, 6, 0x00);
    }
    return LWQ_ERR_INVAL;
}

uint64_t lwq_qpack_ric_encode(uint64_t ric, uint64_t max_entries)
{
    if (ric == 0)
        return 0;
    return ric % (2 * max_entries) + 1;
}

int lwq_qpack_ric_decode(uint64_t *ric, uint64_t enc, uint64_t max_entries, uint64_t total_inserts)
{
    if (enc == 0) {
        *ric = 0;
        return 0;
    }
    uint64_t full = 2 * max_entries;
    if (enc > full)
        return LWQ_ERR_DECODE;
    uint64_t max_value = total_inserts + max_entries;
    uint64_t r = max_value / full * full + enc - 1;
    if (r > max_value) {
        if (r <= full)
            return LWQ_ERR_DECODE;
        r -= full;
    }
    if (r == 0)
        return LWQ_ERR_DECODE;
    *ric = r;
    return 0;
}
