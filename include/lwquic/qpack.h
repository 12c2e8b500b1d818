/* lwquic QPACK (RFC 9204): a standalone field-compression codec.
 *
 * The codec knows nothing of HTTP/3 or QUIC. The encoder turns a field list into an encoded
 * field section plus encoder-stream bytes and reads the peer's decoder stream; the decoder
 * reads encoder-stream bytes and field sections and produces decoder-stream bytes. Bytes are
 * moved by the caller.
 *
 * Return codes: 0 or a negative LWQ_ERR_* (lwquic/common.h). LWQ_ERR_PROTO means the peer broke
 * the protocol: the object is dead from then on and *_wire_error() gives the HTTP/3 error code
 * to close the connection with (LWQ_QPACK_DECOMPRESSION_FAILED, _ENCODER_STREAM_ERROR or
 * _DECODER_STREAM_ERROR). LWQ_ERR_NOMEM leaves the object usable (see each call).
 */
#ifndef LWQUIC_QPACK_H
#define LWQUIC_QPACK_H

#include "lwquic/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 9204 §6 error codes. */
#define LWQ_QPACK_DECOMPRESSION_FAILED 0x200
#define LWQ_QPACK_ENCODER_STREAM_ERROR 0x201
#define LWQ_QPACK_DECODER_STREAM_ERROR 0x202

/* The field line must never be added to a dynamic table, here or by an intermediary (the
 * 'N' bit, RFC 9204 §7.1.3). The encoder also sets it on its own for authorization,
 * proxy-authorization and short cookie values. */
#define LWQ_QPACK_NEVER_INDEX 0x1u

typedef struct lwq_qpack_field {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t flags; /* LWQ_QPACK_NEVER_INDEX */
} lwq_qpack_field;

/* A growable byte buffer owned by the caller; the codec appends to it. */
typedef struct lwq_qpack_buf {
    uint8_t *data;
    size_t len, cap;
    const lwq_allocator *alloc;
} lwq_qpack_buf;

LWQ_API void lwq_qpack_buf_init(lwq_qpack_buf *b, const lwq_allocator *a);
LWQ_API void lwq_qpack_buf_free(lwq_qpack_buf *b);
/* Room for n more bytes: 0 or LWQ_ERR_NOMEM. */
LWQ_API int lwq_qpack_buf_reserve(lwq_qpack_buf *b, size_t n);
/* Drops the first n bytes (after the caller has sent them). */
LWQ_API void lwq_qpack_buf_consume(lwq_qpack_buf *b, size_t n);

/* A decoded field list: fields[i] point into storage owned by this object. */
typedef struct lwq_qpack_headers {
    lwq_qpack_field *fields;
    size_t count;
    size_t size; /* sum of name + value + 32 per field (RFC 9114 §4.2.2) */
    /* private */
    size_t fields_cap;
    uint8_t *bytes;
    size_t bytes_len, bytes_cap;
    const lwq_allocator *alloc;
} lwq_qpack_headers;

LWQ_API void lwq_qpack_headers_init(lwq_qpack_headers *h, const lwq_allocator *a);
LWQ_API void lwq_qpack_headers_free(lwq_qpack_headers *h);
/* Empties the list, keeping its storage. */
LWQ_API void lwq_qpack_headers_clear(lwq_qpack_headers *h);

/* ---- encoder ---- */

typedef struct lwq_qpack_encoder lwq_qpack_encoder;

typedef struct lwq_qpack_encoder_config {
    size_t max_table_capacity;   /* our own cap on the dynamic table (default 4096) */
    size_t max_unacked_sections; /* sections with dynamic references awaiting ack (default 1024) */
    int no_huffman;              /* never Huffman-encode (default: when shorter) */
} lwq_qpack_encoder_config;

/* Defaults for NULL cfg or zero fields. 0, LWQ_ERR_NOMEM or LWQ_ERR_INVAL. */
LWQ_API int lwq_qpack_encoder_new(lwq_qpack_encoder **out, const lwq_allocator *a, const lwq_qpack_encoder_config *cfg);
LWQ_API void lwq_qpack_encoder_del(lwq_qpack_encoder *e);

/* The peer decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY and SETTINGS_QPACK_BLOCKED_STREAMS
 * (RFC 9204 §5). Until called both are 0 and only the static table is used. Call once.
 * 0, or LWQ_ERR_STATE when called again with different values. */
LWQ_API int lwq_qpack_encoder_set_peer_settings(lwq_qpack_encoder *e, uint64_t max_table_capacity, uint64_t blocked_streams);

/* Encodes one field section for stream_id: appends encoder-stream instructions to enc_stream
 * (send them before or with the section) and the encoded field section to section.
 * 0; LWQ_ERR_NOMEM (section unchanged; bytes already appended to enc_stream must still be
 * sent); LWQ_ERR_INVAL (field name longer than 64 KiB or value than 16 MiB); LWQ_ERR_PROTO
 * after a decoder-stream error. */
LWQ_API int lwq_qpack_encoder_encode(lwq_qpack_encoder *e, uint64_t stream_id, const lwq_qpack_field *fields, size_t count,
                             lwq_qpack_buf *enc_stream, lwq_qpack_buf *section);

/* Inserts f into the dynamic table ahead of use (RFC 9204 §2.1: an encoder may insert any
 * entry), appending the instruction to enc_stream. 0; LWQ_ERR_LIMIT when it does not fit
 * without evicting entries still referenced or unacknowledged; LWQ_ERR_STATE without a
 * dynamic table; LWQ_ERR_INVAL for a NEVER_INDEX field; LWQ_ERR_NOMEM. */
LWQ_API int lwq_qpack_encoder_insert(lwq_qpack_encoder *e, const lwq_qpack_field *f, lwq_qpack_buf *enc_stream);

/* Reads decoder-stream bytes (any split). Returns n, LWQ_ERR_PROTO (decoder stream error) or
 * LWQ_ERR_NOMEM (nothing consumed). */
LWQ_API ssize_t lwq_qpack_encoder_read_decoder(lwq_qpack_encoder *e, const uint8_t *p, size_t n);

/* The stream was reset before its sections were acknowledged: forget its references. */
LWQ_API void lwq_qpack_encoder_cancel_stream(lwq_qpack_encoder *e, uint64_t stream_id);

LWQ_API uint64_t lwq_qpack_encoder_wire_error(const lwq_qpack_encoder *e);

typedef struct lwq_qpack_encoder_stats {
    uint64_t insert_count;         /* entries inserted (with duplicates) */
    uint64_t known_received_count; /* acknowledged by the decoder */
    size_t table_size, table_capacity;
    size_t blocking_streams; /* streams that could be blocked now */
    size_t unacked_sections;
} lwq_qpack_encoder_stats;
LWQ_API void lwq_qpack_encoder_get_stats_sized(const lwq_qpack_encoder *e, lwq_qpack_encoder_stats *st,
                                               size_t struct_size);
/* Writes at most sizeof(*st) bytes, as the caller was compiled (docs/architecture.md, "ABI"). */
#define lwq_qpack_encoder_get_stats(e, st) lwq_qpack_encoder_get_stats_sized((e), (st), sizeof(*(st)))

/* ---- decoder ---- */

typedef struct lwq_qpack_decoder lwq_qpack_decoder;

typedef struct lwq_qpack_decoder_config {
    size_t max_table_capacity;     /* our SETTINGS_QPACK_MAX_TABLE_CAPACITY (0 = static only) */
    size_t max_blocked_streams;    /* our SETTINGS_QPACK_BLOCKED_STREAMS */
    size_t max_field_section_size; /* our SETTINGS_MAX_FIELD_SECTION_SIZE; 0 = 64 KiB */
    int preset_capacity;           /* start at max_table_capacity instead of 0, as encoders of
                                      the draft-05 offline-interop files assume */
} lwq_qpack_decoder_config;

LWQ_API int lwq_qpack_decoder_new(lwq_qpack_decoder **out, const lwq_allocator *a, const lwq_qpack_decoder_config *cfg);
LWQ_API void lwq_qpack_decoder_del(lwq_qpack_decoder *d);

/* Reads encoder-stream bytes (any split). Field sections this unblocks are decoded and queued
 * for lwq_qpack_decoder_next_unblocked(). Returns n, LWQ_ERR_PROTO (encoder stream error, or
 * decompression failure of an unblocked section) or LWQ_ERR_NOMEM (the decoder is then dead
 * too: part of the input may have been applied). */
LWQ_API ssize_t lwq_qpack_decoder_read_encoder(lwq_qpack_decoder *d, const uint8_t *p, size_t n);

/* Decodes one complete encoded field section received on stream_id into out (cleared first).
 * 0 decoded; LWQ_ERR_AGAIN blocked: the bytes were copied and the result comes later from
 * lwq_qpack_decoder_next_unblocked(); LWQ_ERR_LIMIT the decoded section exceeds
 * max_field_section_size (a stream error: reset the stream and call
 * lwq_qpack_decoder_cancel_stream); LWQ_ERR_STATE a section of this stream is still blocked;
 * LWQ_ERR_PROTO decompression failed (connection error); LWQ_ERR_NOMEM. */
LWQ_API int lwq_qpack_decoder_decode(lwq_qpack_decoder *d, uint64_t stream_id, const uint8_t *p, size_t n,
                             lwq_qpack_headers *out);

/* A previously blocked section now decoded: 0 with *stream_id and out set, LWQ_ERR_LIMIT for
 * *stream_id as above, LWQ_ERR_AGAIN when none is ready. */
LWQ_API int lwq_qpack_decoder_next_unblocked(lwq_qpack_decoder *d, uint64_t *stream_id, lwq_qpack_headers *out);

/* The stream was reset or abandoned: drops its blocked section and queues a Stream
 * Cancellation (RFC 9204 §4.4.2). 0 or LWQ_ERR_NOMEM. */
LWQ_API int lwq_qpack_decoder_cancel_stream(lwq_qpack_decoder *d, uint64_t stream_id);

/* Appends pending decoder-stream instructions (Section Acknowledgment, Stream Cancellation,
 * Insert Count Increment) to out. 0 or LWQ_ERR_NOMEM (nothing lost; call again). */
LWQ_API int lwq_qpack_decoder_write_decoder(lwq_qpack_decoder *d, lwq_qpack_buf *out);

LWQ_API uint64_t lwq_qpack_decoder_wire_error(const lwq_qpack_decoder *d);
/* Entries inserted so far and streams currently blocked. */
LWQ_API uint64_t lwq_qpack_decoder_insert_count(const lwq_qpack_decoder *d);
LWQ_API size_t lwq_qpack_decoder_blocked_streams(const lwq_qpack_decoder *d);

#ifdef __cplusplus
}
#endif
#endif
