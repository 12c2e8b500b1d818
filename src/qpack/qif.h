/* The QPACK offline-interop formats, in memory: QIF header lists and encoded record files
 * (u64 BE stream id, u32 BE length, bytes; stream 0 is the encoder stream). Used by
 * tools/lwquic-qpack, the tests and the fuzzers; no file access here. */
#ifndef LWQ_QPACK_QIF_H
#define LWQ_QPACK_QIF_H

#include "lwquic/qpack.h"

typedef struct lwq_qif {
    lwq_qpack_field *fields; /* all blocks, in order; they point into text */
    size_t nfields;
    size_t *block_start; /* nblocks + 1 offsets into fields */
    size_t nblocks;
    uint8_t *text;
    const lwq_allocator *alloc;
} lwq_qif;

/* Parses QIF text: `name<TAB>value` lines, blank lines between blocks, `#` comments.
 * 0, LWQ_ERR_NOMEM, or LWQ_ERR_DECODE with *bad_line set (1-based) for a line without a tab. */
int lwq_qif_parse(lwq_qif *q, const lwq_allocator *a, const uint8_t *text, size_t len, size_t *bad_line);
void lwq_qif_free(lwq_qif *q);
/* 1 when both hold the same blocks of the same fields. */
int lwq_qif_equal(const lwq_qif *x, const lwq_qif *y);

typedef struct lwq_qpack_offline_opts {
    size_t table_size, max_blocked;
    int ack_mode;     /* 1: an immediate decoder acknowledges every section and insert */
    int late_encoder; /* decode: deliver each encoder-stream record after the next section */
} lwq_qpack_offline_opts;

typedef struct lwq_qpack_offline_result {
    size_t sections, records;
    size_t section_bytes, encoder_bytes; /* payload bytes, without record headers */
    size_t blocked;                      /* sections that were blocked while decoding */
    size_t bad_record;                   /* on error: the 1-based record at fault */
    uint64_t wire_error;                 /* on LWQ_ERR_PROTO */
} lwq_qpack_offline_result;

/* Encodes every block of q on streams 1, 2, ... and appends the records to out. */
int lwq_qpack_offline_encode(const lwq_allocator *a, const lwq_qif *q, const lwq_qpack_offline_opts *o,
                             lwq_qpack_buf *out, lwq_qpack_offline_result *res);
/* Decodes a record file and appends QIF text to out: each block preceded by `# stream N`,
 * blocks in stream order. LWQ_ERR_DECODE for a malformed record or a section left blocked;
 * LWQ_ERR_PROTO / LWQ_ERR_LIMIT / LWQ_ERR_STATE from the decoder; res->bad_record says where. */
int lwq_qpack_offline_decode(const lwq_allocator *a, const uint8_t *in, size_t n, const lwq_qpack_offline_opts *o,
                             lwq_qpack_buf *out, lwq_qpack_offline_result *res);

#endif
