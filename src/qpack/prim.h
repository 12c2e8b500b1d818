/* QPACK wire primitives: prefixed integers, string literals, Huffman code, static table. */
#ifndef LWQ_QPACK_PRIM_H
#define LWQ_QPACK_PRIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lwquic/common.h"

/* Largest integer QPACK must carry (RFC 9204 §4.1.1); larger encodings are rejected. */
#define LWQ_QPACK_INT_MAX ((UINT64_C(1) << 62) - 1)

/* RFC 7541 §5.1 integer in the low `prefix` bits of p[0] (the high bits are not read).
 * Returns bytes consumed, LWQ_ERR_TRUNCATED, or LWQ_ERR_DECODE when above LWQ_QPACK_INT_MAX. */
ssize_t lwq_qpack_int_decode(uint64_t *v, const uint8_t *p, size_t n, unsigned prefix);
/* Writes v with `prefix` bits in the first byte, OR-ing `flags` into its high bits. */
ssize_t lwq_qpack_int_encode(uint8_t *out, size_t cap, uint64_t v, unsigned prefix, uint8_t flags);
size_t lwq_qpack_int_len(uint64_t v, unsigned prefix);

/* A string literal (RFC 9204 §4.1.2) located in its input, not yet decoded. */
typedef struct lwq_qpack_str {
    const uint8_t *data;
    size_t len; /* encoded length */
    int huffman;
} lwq_qpack_str;

/* Parses the H bit, length and locates the bytes: returns bytes consumed, LWQ_ERR_TRUNCATED
 * (with *need set to the total length when the header was complete, else 0) or LWQ_ERR_DECODE. */
ssize_t lwq_qpack_str_parse(lwq_qpack_str *s, const uint8_t *p, size_t n, unsigned prefix, size_t *need);
/* Smallest and largest decoded length of s. */
size_t lwq_qpack_str_min_len(const lwq_qpack_str *s);
size_t lwq_qpack_str_max_len(const lwq_qpack_str *s);
/* Decodes s into out: length, LWQ_ERR_NOBUF when longer than cap, LWQ_ERR_DECODE on bad Huffman. */
ssize_t lwq_qpack_str_decode(uint8_t *out, size_t cap, const lwq_qpack_str *s);
/* Encodes a string with a `prefix`-bit length prefix, Huffman when shorter; `flags` as above. */
ssize_t lwq_qpack_str_encode(uint8_t *out, size_t cap, const uint8_t *s, size_t len, unsigned prefix, uint8_t flags,
                             int allow_huffman);
size_t lwq_qpack_str_encoded_len(const uint8_t *s, size_t len, unsigned prefix, int allow_huffman);

/* RFC 7541 §5.2 / Appendix B Huffman code. A NULL out only validates and counts. */
ssize_t lwq_qpack_huff_decode(uint8_t *out, size_t cap, const uint8_t *p, size_t n);
ssize_t lwq_qpack_huff_encode(uint8_t *out, size_t cap, const uint8_t *s, size_t n);
size_t lwq_qpack_huff_encoded_len(const uint8_t *s, size_t n);

extern const uint32_t lwq_qpack_huff_code[257];
extern const uint8_t lwq_qpack_huff_len[257];
extern const uint16_t lwq_qpack_huff_sym[257];
extern const uint32_t lwq_qpack_huff_first[31];
extern const uint16_t lwq_qpack_huff_offset[31];
extern const uint64_t lwq_qpack_huff_limit[31];

/* RFC 9204 Appendix A static table. */
#define LWQ_QPACK_STATIC_COUNT 99
typedef struct lwq_qpack_static_entry {
    const char *name;
    const char *value;
    uint8_t name_len, value_len;
} lwq_qpack_static_entry;
extern const lwq_qpack_static_entry lwq_qpack_static[LWQ_QPACK_STATIC_COUNT];
/* Index of an exact match or -1; *name_idx gets the first entry with that name or -1. */
int lwq_qpack_static_find(const uint8_t *name, size_t name_len, const uint8_t *value, size_t value_len, int *name_idx);

#endif
