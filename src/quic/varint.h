/* QUIC variable-length integers (RFC 9000 §16). */
#ifndef LWQ_QUIC_VARINT_H
#define LWQ_QUIC_VARINT_H

#include "lwquic/common.h"

#define LWQ_VARINT_MAX ((UINT64_C(1) << 62) - 1)

/* Bytes of the shortest encoding of v (1, 2, 4 or 8); 0 when v > LWQ_VARINT_MAX. */
static inline size_t lwq_varint_len(uint64_t v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : v <= LWQ_VARINT_MAX ? 8 : 0;
}

/* Bytes consumed (1..8) or LWQ_ERR_TRUNCATED. Non-minimal encodings are accepted (RFC 9000 §16). */
ssize_t lwq_varint_decode(uint64_t *v, const uint8_t *p, size_t n);
/* Shortest encoding: length, LWQ_ERR_NOBUF, or LWQ_ERR_INVAL when v > LWQ_VARINT_MAX. */
ssize_t lwq_varint_encode(uint8_t *out, size_t cap, uint64_t v);
/* Encoding on exactly len bytes (1, 2, 4 or 8), e.g. a Length field written before its value is known.
 * LWQ_ERR_INVAL when v does not fit in len bytes. */
ssize_t lwq_varint_encode_fixed(uint8_t *out, size_t cap, uint64_t v, size_t len);

#endif
