/* HTTP/3 message checks (RFC 9114 §4.1-4.3). */
#ifndef LWQ_H3_MSG_H
#define LWQ_H3_MSG_H

#include "lwquic/h3.h"

enum { LWQ_H3_MSG_REQUEST = 0, LWQ_H3_MSG_RESPONSE, LWQ_H3_MSG_TRAILERS };

typedef struct lwq_h3_msg_info {
    int status;
    int is_head;
    int has_content_length;
    uint64_t content_length;
    uint8_t urgency;
    int incremental;
} lwq_h3_msg_info;

/* 0 when the section is well-formed for kind, -1 when malformed (a stream error H3_MESSAGE_ERROR). */
int lwq_h3_check_fields(const lwq_h3_field *f, size_t n, int kind, lwq_h3_msg_info *mi);

#endif
