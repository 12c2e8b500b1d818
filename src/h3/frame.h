/* HTTP/3 frames (RFC 9114 §7), SETTINGS, and a resumable per-stream frame parser. */
#ifndef LWQ_H3_FRAME_H
#define LWQ_H3_FRAME_H

#include "lwquic/h3.h"

enum {
    LWQ_H3_FT_DATA = 0x00,
    LWQ_H3_FT_HEADERS = 0x01,
    LWQ_H3_FT_CANCEL_PUSH = 0x03,
    LWQ_H3_FT_SETTINGS = 0x04,
    LWQ_H3_FT_PUSH_PROMISE = 0x05,
    LWQ_H3_FT_GOAWAY = 0x07,
    LWQ_H3_FT_MAX_PUSH_ID = 0x0d,
};
#define LWQ_H3_FT_PRIORITY_UPDATE_REQ 0xf0700u
#define LWQ_H3_FT_PRIORITY_UPDATE_PUSH 0xf0701u

/* RFC 9114 §6.2 stream types */
enum { LWQ_H3_ST_CONTROL = 0x00, LWQ_H3_ST_PUSH = 0x01, LWQ_H3_ST_QPACK_ENC = 0x02, LWQ_H3_ST_QPACK_DEC = 0x03 };

/* RFC 9114 §7.2.4.1, RFC 9204 §5 */
enum {
    LWQ_H3_SET_QPACK_MAX_TABLE_CAPACITY = 0x01,
    LWQ_H3_SET_MAX_FIELD_SECTION_SIZE = 0x06,
    LWQ_H3_SET_QPACK_BLOCKED_STREAMS = 0x07,
};

typedef struct lwq_h3_settings {
    uint64_t max_field_section_size; /* UINT64_MAX = unlimited */
    uint64_t qpack_max_table_capacity;
    uint64_t qpack_blocked_streams;
} lwq_h3_settings;

void lwq_h3_settings_default(lwq_h3_settings *s);
/* Whole SETTINGS payload: n, or a negative LWQ_ERR_DECODE with *h3_err = H3_FRAME_ERROR
 * (truncated parameter) or H3_SETTINGS_ERROR (duplicate, HTTP/2 setting 0x02-0x05). */
ssize_t lwq_h3_settings_decode(lwq_h3_settings *s, const uint8_t *p, size_t n, uint64_t *h3_err);
/* A whole SETTINGS frame with our values plus one GREASE setting (RFC 9114 §7.2.4.1). */
ssize_t lwq_h3_settings_encode(uint8_t *out, size_t cap, const lwq_h3_settings *s, uint64_t grease_id);

/* Frame header: type and length. */
ssize_t lwq_h3_frame_hdr_encode(uint8_t *out, size_t cap, uint64_t type, uint64_t len);
size_t lwq_h3_frame_hdr_len(uint64_t type, uint64_t len);
/* A frame whose payload is one varint (GOAWAY, MAX_PUSH_ID, CANCEL_PUSH). */
ssize_t lwq_h3_frame_varint_encode(uint8_t *out, size_t cap, uint64_t type, uint64_t v);
/* The payload of such a frame: n or LWQ_ERR_DECODE (H3_FRAME_ERROR: not exactly one varint). */
ssize_t lwq_h3_frame_varint_decode(uint64_t *v, const uint8_t *p, size_t n);
/* PRIORITY_UPDATE payload: element id, then the field value (rest). */
ssize_t lwq_h3_priority_update_decode(uint64_t *id, const uint8_t **value, size_t *value_len, const uint8_t *p,
                                      size_t n);
ssize_t lwq_h3_priority_update_encode(uint8_t *out, size_t cap, uint64_t id, const char *value);

/* 1 when type is reserved for GREASE (0x1f * N + 0x21). */
int lwq_h3_is_grease(uint64_t v);

/* Where a frame was received, for the legality check of §7.2 / RFC 9218 §7.1. */
typedef enum { LWQ_H3_ON_CONTROL = 0, LWQ_H3_ON_REQUEST } lwq_h3_stream_kind;

/* 0 when a frame of type may arrive there, else the H3 connection error code. first: the first
 * frame on the control stream. is_server: we are the server (the receiver). */
uint64_t lwq_h3_frame_check(lwq_h3_stream_kind kind, int is_server, int first, uint64_t type);

/* Resumable frame parser for one stream. DATA payloads are passed through in pieces; other
 * known frames are buffered whole (up to max_payload); unknown frames are skipped. */
typedef enum { LWQ_H3_P_NONE = 0, LWQ_H3_P_FRAME, LWQ_H3_P_DATA } lwq_h3_pkind;

typedef struct lwq_h3_pframe {
    lwq_h3_pkind kind;
    uint64_t type;
    const uint8_t *p; /* FRAME: the whole payload (parser-owned); DATA: a piece of the input */
    size_t len;
    int data_end; /* DATA: this piece ends the frame */
} lwq_h3_pframe;

typedef struct lwq_h3_parser {
    int state;
    uint8_t vb[8];
    size_t vlen, vneed;
    uint64_t type, left;
    int started, first;
    lwq_h3_stream_kind kind;
    int is_server;
    size_t max_payload, max_headers;
    uint8_t *buf;
    size_t buf_len, buf_cap;
    const lwq_allocator *alloc;
    uint64_t error; /* H3 code after a negative return */
} lwq_h3_parser;

void lwq_h3_parser_init(lwq_h3_parser *ps, const lwq_allocator *a, lwq_h3_stream_kind kind, int is_server,
                        size_t max_payload, size_t max_headers);
void lwq_h3_parser_free(lwq_h3_parser *ps);
/* Consumes bytes until one frame or DATA piece is ready (out->kind set) or the input ends
 * (kind NONE). Returns bytes consumed, or LWQ_ERR_PROTO (ps->error: the H3 code), LWQ_ERR_LIMIT
 * (HEADERS larger than max_headers: ps->error H3_EXCESSIVE_LOAD, a stream error on a request
 * stream), LWQ_ERR_NOMEM. */
ssize_t lwq_h3_parser_feed(lwq_h3_parser *ps, const uint8_t *p, size_t n, lwq_h3_pframe *out);
/* 1 when the parser is between frames (a stream may end there). */
int lwq_h3_parser_at_boundary(const lwq_h3_parser *ps);

#endif
