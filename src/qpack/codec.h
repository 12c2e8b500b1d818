/* Internals shared by the QPACK encoder, decoder, tools and fuzzers. */
#ifndef LWQ_QPACK_CODEC_H
#define LWQ_QPACK_CODEC_H

#include "lwquic/qpack.h"
#include "qpack/prim.h"

int lwq_qpack_buf_append(lwq_qpack_buf *b, const uint8_t *p, size_t n);
/* Room for `fields` more fields and `bytes` more bytes. */
int lwq_qpack_headers_reserve(lwq_qpack_headers *h, size_t fields, size_t bytes);
void lwq_qpack_headers_finish(lwq_qpack_headers *h);

/* RFC 9204 §4.3 encoder instructions. */
enum { LWQ_QPACK_SET_CAPACITY, LWQ_QPACK_INSERT_NAME_REF, LWQ_QPACK_INSERT_LITERAL, LWQ_QPACK_DUPLICATE };
typedef struct lwq_qpack_enc_insn {
    int type;
    int is_static;  /* INSERT_NAME_REF: T bit */
    uint64_t index; /* capacity, name index, or relative index */
    lwq_qpack_str name, value;
} lwq_qpack_enc_insn;

/* RFC 9204 §4.4 decoder instructions. */
enum { LWQ_QPACK_SECTION_ACK, LWQ_QPACK_STREAM_CANCEL, LWQ_QPACK_INSERT_COUNT_INC };
typedef struct lwq_qpack_dec_insn {
    int type;
    uint64_t value; /* stream id or increment */
} lwq_qpack_dec_insn;

/* Both return bytes consumed, LWQ_ERR_DECODE, or LWQ_ERR_TRUNCATED with *need the total length
 * when known (else 0). */
ssize_t lwq_qpack_enc_insn_parse(lwq_qpack_enc_insn *in, const uint8_t *p, size_t n, size_t *need);
ssize_t lwq_qpack_dec_insn_parse(lwq_qpack_dec_insn *in, const uint8_t *p, size_t n, size_t *need);
ssize_t lwq_qpack_dec_insn_encode(uint8_t *out, size_t cap, const lwq_qpack_dec_insn *in);

/* RFC 9204 §4.5.1.1 Required Insert Count encoding; decoding returns LWQ_ERR_DECODE when no
 * conformant encoder could have produced `enc`. */
uint64_t lwq_qpack_ric_encode(uint64_t ric, uint64_t max_entries);
int lwq_qpack_ric_decode(uint64_t *ric, uint64_t enc, uint64_t max_entries, uint64_t total_inserts);

/* Decodes a field section against the current table without any effect on the decoder (no
 * acknowledgment, no blocking, no error state): 0, LWQ_ERR_AGAIN (would block),
 * LWQ_ERR_DECODE, LWQ_ERR_LIMIT or LWQ_ERR_NOMEM. For tests and fuzzers. */
int lwq_qpack_decoder_probe(const lwq_qpack_decoder *d, const uint8_t *p, size_t n, lwq_qpack_headers *out);

#endif
