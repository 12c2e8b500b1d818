/* RFC 7541 §5.1 prefixed integers and §5.2 string literals as used by RFC 9204 §4.1. */
#include <string.h>
#include "qpack/prim.h"

ssize_t lwq_qpack_int_decode(uint64_t *v, const uint8_t *p, size_t n, unsigned prefix)
{
    uint64_t max = (UINT64_C(1) << prefix) - 1;
    if (n == 0)
        return LWQ_ERR_TRUNCATED;
    uint64_t x = p[0] & max;
    if (x < max) {
        *v = x;
        return 1;
    }
    /* 9 continuation bytes carry 63 bits: more can only be padding or overflow. */
    for (size_t i = 1, shift = 0; i < n; i++, shift += 7) {
        if (shift > 56)
            return LWQ_ERR_DECODE;
        uint64_t add = (uint64_t)(p[i] & 0x7f) << shift;
        if ((add >> shift) != (uint64_t)(p[i] & 0x7f) || add > LWQ_QPACK_INT_MAX - x)
            return LWQ_ERR_DECODE;
        x += add;
        if (!(p[i] & 0x80)) {
            *v = x;
            return (ssize_t)i + 1;
        }
    }
    return LWQ_ERR_TRUNCATED;
}

size_t lwq_qpack_int_len(uint64_t v, unsigned prefix)
{
    uint64_t max = (UINT64_C(1) << prefix) - 1;
    if (v < max)
        return 1;
    size_t n = 2;
    for (v -= max; v >= 128; v >>= 7)
        n++;
    return n;
}

ssize_t lwq_qpack_int_encode(uint8_t *out, size_t cap, uint64_t v, unsigned prefix, uint8_t flags)
{
    uint64_t max = (UINT64_C(1) << prefix) - 1;
    size_t need = lwq_qpack_int_len(v, prefix);
    if (need > cap)
        return LWQ_ERR_NOBUF;
    flags &= (uint8_t)~max;
    if (v < max) {
        out[0] = (uint8_t)(flags | v);
        return 1;
    }
    out[0] = (uint8_t)(flags | max);
    size_t i = 1;
    for (v -= max; v >= 128; v >>= 7)
        out[i++] = (uint8_t)(0x80 | (v & 0x7f));
    out[i++] = (uint8_t)v;
    return (ssize_t)i;
}

ssize_t lwq_qpack_str_parse(lwq_qpack_str *s, const uint8_t *p, size_t n, unsigned prefix, size_t *need)
{
    uint64_t len;
    *need = 0;
    ssize_t k = lwq_qpack_int_decode(&len, p, n, prefix - 1);
    if (k < 0)
        return k;
    s->huffman = (p[0] >> (prefix - 1)) & 1;
    if (len > n - (size_t)k) {
        *need = len > SIZE_MAX - (size_t)k ? SIZE_MAX : (size_t)k + (size_t)len;
        return LWQ_ERR_TRUNCATED;
    }
    s->data = p + k;
    s->len = (size_t)len;
    return k + (ssize_t)len;
}

/* Codes are 5 to 30 bits long, and padding is under 8 bits (RFC 7541 §5.2). */
size_t lwq_qpack_str_min_len(const lwq_qpack_str *s)
{
    return s->huffman ? (s->len ? (s->len * 8 - 7 + 29) / 30 : 0) : s->len;
}

size_t lwq_qpack_str_max_len(const lwq_qpack_str *s)
{
    return s->huffman ? s->len * 8 / 5 : s->len;
}

ssize_t lwq_qpack_str_decode(uint8_t *out, size_t cap, const lwq_qpack_str *s)
{
    if (s->huffman)
        return lwq_qpack_huff_decode(out, cap, s->data, s->len);
    if (s->len > cap)
        return LWQ_ERR_NOBUF;
    if (s->len)
        memcpy(out, s->data, s->len);
    return (ssize_t)s->len;
}

size_t lwq_qpack_str_encoded_len(const uint8_t *s, size_t len, unsigned prefix, int allow_huffman)
{
    size_t h = allow_huffman ? lwq_qpack_huff_encoded_len(s, len) : len;
    if (h >= len)
        h = len;
    return lwq_qpack_int_len(h, prefix - 1) + h;
}

ssize_t lwq_qpack_str_encode(uint8_t *out, size_t cap, const uint8_t *s, size_t len, unsigned prefix, uint8_t flags,
                             int allow_huffman)
{
    size_t h = allow_huffman ? lwq_qpack_huff_encoded_len(s, len) : len;
    int huff = h < len;
    size_t body = huff ? h : len;
    uint8_t hbit = (uint8_t)(1u << (prefix - 1));
    ssize_t k = lwq_qpack_int_encode(out, cap, body, prefix - 1, (uint8_t)(flags & ~(hbit * 2 - 1)));
    if (k < 0)
        return k;
    if (body > cap - (size_t)k)
        return LWQ_ERR_NOBUF;
    if (huff) {
        out[0] |= hbit;
        lwq_qpack_huff_encode(out + k, body, s, len);
    } else if (len) {
        memcpy(out + k, s, len);
    }
    return k + (ssize_t)body;
}
