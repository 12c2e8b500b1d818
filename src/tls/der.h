/* A bounded DER (X.690) reader and PEM (RFC 7468) unwrapping: views into the
 * caller's buffer, never a byte past its end, no recursion. */
#ifndef LWQ_TLS_DER_H
#define LWQ_TLS_DER_H

#include <stdint.h>
#include <stddef.h>
#include "lwquic/common.h"

enum {
    LWQ_DER_BOOLEAN = 0x01,
    LWQ_DER_INTEGER = 0x02,
    LWQ_DER_BIT_STRING = 0x03,
    LWQ_DER_OCTET_STRING = 0x04,
    LWQ_DER_NULL = 0x05,
    LWQ_DER_OID = 0x06,
    LWQ_DER_UTF8_STRING = 0x0c,
    LWQ_DER_PRINTABLE_STRING = 0x13,
    LWQ_DER_T61_STRING = 0x14,
    LWQ_DER_IA5_STRING = 0x16,
    LWQ_DER_UTC_TIME = 0x17,
    LWQ_DER_GENERALIZED_TIME = 0x18,
    LWQ_DER_UNIVERSAL_STRING = 0x1c,
    LWQ_DER_BMP_STRING = 0x1e,
    LWQ_DER_SEQUENCE = 0x30,
    LWQ_DER_SET = 0x31,
};
#define LWQ_DER_CTX(n) (0xa0 | (n))      /* [n] constructed, context-specific */
#define LWQ_DER_CTX_PRIM(n) (0x80 | (n)) /* [n] primitive, context-specific */
/* Longest length field accepted: 4 bytes (lengths below 4 GiB). */
#define LWQ_DER_MAX_LEN_BYTES 4

/* One TLV: raw covers the whole encoding, val the contents. */
typedef struct lwq_der_tlv {
    uint8_t tag;
    const uint8_t *raw;
    size_t raw_len;
    const uint8_t *val;
    size_t len;
} lwq_der_tlv;

/* A cursor over a run of TLVs. */
typedef struct lwq_der_reader {
    const uint8_t *p;
    size_t n;
} lwq_der_reader;

/* One TLV at p: bytes consumed, LWQ_ERR_TRUNCATED when it runs past n,
 * LWQ_ERR_DECODE for non-DER (indefinite or non-minimal length, high tag numbers). */
ssize_t lwq_der_decode(lwq_der_tlv *out, const uint8_t *p, size_t n);

static inline void lwq_der_reader_init(lwq_der_reader *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = n;
}
/* Reader over the contents of a constructed TLV. */
static inline void lwq_der_enter(lwq_der_reader *r, const lwq_der_tlv *t) { lwq_der_reader_init(r, t->val, t->len); }
static inline int lwq_der_at_end(const lwq_der_reader *r) { return r->n == 0; }
/* Tag of the next TLV, or -1 at the end. */
static inline int lwq_der_peek(const lwq_der_reader *r) { return r->n ? r->p[0] : -1; }

/* Next TLV, any tag. */
int lwq_der_next(lwq_der_reader *r, lwq_der_tlv *out);
/* Next TLV, which must carry tag (else LWQ_ERR_DECODE). */
int lwq_der_expect(lwq_der_reader *r, uint8_t tag, lwq_der_tlv *out);
/* 1 and read when the next TLV has tag, 0 when it does not (nothing consumed), or an error. */
int lwq_der_optional(lwq_der_reader *r, uint8_t tag, lwq_der_tlv *out);

/* A non-negative INTEGER that fits *out, minimally encoded. */
int lwq_der_get_uint(const lwq_der_tlv *t, uint64_t *out);
/* DER BOOLEAN: exactly 0x00 or 0xff. */
int lwq_der_get_bool(const lwq_der_tlv *t, int *out);
/* BIT STRING contents without the unused-bits octet; *unused gets that count (0..7). */
int lwq_der_get_bits(const lwq_der_tlv *t, const uint8_t **bits, size_t *n, unsigned *unused);
/* 1 when t is an OID with exactly these content bytes. */
int lwq_der_oid_is(const lwq_der_tlv *t, const uint8_t *oid, size_t len);
#define LWQ_DER_OID_IS(t, lit) lwq_der_oid_is((t), (const uint8_t *)(lit), sizeof(lit) - 1)

/* UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5: "Z", seconds, no fractions) to seconds since the epoch. */
int lwq_der_get_time(const lwq_der_tlv *t, int64_t *out);

/* The next "-----BEGIN label-----" block at or after *p: decodes its base64 body
 * into *der (allocated with a; caller frees) and advances *p and *n past the END line.
 * label receives the label, NUL-terminated (truncated to labelcap-1).
 * Returns 1 for a block, 0 when there is none left, or a negative error. */
int lwq_pem_next(const uint8_t **p, size_t *n, char *label, size_t labelcap, uint8_t **der, size_t *derlen,
                 const lwq_allocator *a);
/* 1 when data holds a PEM BEGIN line. */
int lwq_pem_detect(const uint8_t *p, size_t n);


#endif
