#include "quic/varint.h"

/* RFC 9000 §16: the two high bits of the first byte give the length. */
ssize_t lwq_varint_decode(uint64_t *v, const uint8_t *p, size_t n)
{
    if (n == 0)
        return LWQ_ERR_TRUNCATED;
    size_t len = (size_t)1 << (p[0] >> 6);
    if (n < len)
        return LWQ_ERR_TRUNCATED;
    uint64_t x = p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        x = x << 8 | p[i];
    *v = x;
    return (ssize_t)len;
}

ssize_t lwq_varint_encode_fixed(uint8_t *out, size_t cap, uint64_t v, size_t len)
{
    uint8_t prefix;
    switch (len) {
    case 1:
        prefix = 0x00;
        break;
    case 2:
        prefix = 0x40;
        break;
    case 4:
        prefix = 0x80;
        break;
    case 8:
        prefix = 0xc0;
        break;
    default:
        return LWQ_ERR_INVAL;
    }
    if (lwq_varint_len(v) == 0 || lwq_varint_len(v) > len)
        return LWQ_ERR_INVAL;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    for (size_t i = len; i-- > 0; v >>= 8)
        out[i] = (uint8_t)v;
    out[0] |= prefix;
    return (ssize_t)len;
}

ssize_t lwq_varint_encode(uint8_t *out, size_t cap, uint64_t v)
{
    size_t len = lwq_varint_len(v);
    if (len == 0)
        return LWQ_ERR_INVAL;
    return lwq_varint_encode_fixed(out, cap, v, len);
}
