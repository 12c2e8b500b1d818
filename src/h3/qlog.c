/* HTTP/3 qlog events (draft-ietf-quic-qlog-h3-events: frame_created, frame_parsed,
 * stream_type_set) into the connection's qlog; nothing when the connection has none. */
#include <stdio.h>
#include "h3/conn_int.h"
#include "h3/frame.h"
#include "quic/conn.h"
#include "quic/qlog.h"

static const char *frame_name(uint64_t t)
{
    switch (t) {
    case LWQ_H3_FT_DATA:
        return "data";
    case LWQ_H3_FT_HEADERS:
        return "headers";
    case LWQ_H3_FT_CANCEL_PUSH:
        return "cancel_push";
    case LWQ_H3_FT_SETTINGS:
        return "settings";
    case LWQ_H3_FT_PUSH_PROMISE:
        return "push_promise";
    case LWQ_H3_FT_GOAWAY:
        return "goaway";
    case LWQ_H3_FT_MAX_PUSH_ID:
        return "max_push_id";
    case LWQ_H3_FT_PRIORITY_UPDATE_REQ:
    case LWQ_H3_FT_PRIORITY_UPDATE_PUSH:
        return "priority_update";
    }
    return "unknown";
}

static lwq_qlog *qlog_of(lwq_h3_conn *h)
{
    return h->qconn ? lwq_conn_qlog_of(h->qconn) : NULL;
}

void h3_qlog_frame(lwq_h3_conn *h, int64_t id, int created, uint64_t type, uint64_t len, const lwq_qpack_field *f,
                   size_t n)
{
    lwq_qlog *q = qlog_of(h);
    if (!q)
        return;
    lwq_qlog_begin(q, lwq_conn_qlog_now(h->qconn), created ? "http3:frame_created" : "http3:frame_parsed");
    lwq_qlog_u64(q, "stream_id", (uint64_t)id);
    lwq_qlog_u64(q, "length", len);
    lwq_qlog_obj(q, "frame");
    lwq_qlog_str(q, "frame_type", frame_name(type));
    if (type == LWQ_H3_FT_HEADERS && f) {
        lwq_qlog_arr(q, "headers");
        for (size_t i = 0; i < n; i++) {
            lwq_qlog_obj(q, NULL);
            lwq_qlog_strn(q, "name", f[i].name, f[i].name_len);
            lwq_qlog_strn(q, "value", f[i].value, f[i].value_len);
            lwq_qlog_close(q);
        }
        lwq_qlog_close(q);
    }
    lwq_qlog_end(q);
}

void h3_qlog_stream_type(lwq_h3_conn *h, int64_t id, int local, uint64_t type)
{
    lwq_qlog *q = qlog_of(h);
    if (!q)
        return;
    const char *name = type == LWQ_H3_ST_CONTROL     ? "control"
                       : type == LWQ_H3_ST_PUSH      ? "push"
                       : type == LWQ_H3_ST_QPACK_ENC ? "qpack_encode"
                       : type == LWQ_H3_ST_QPACK_DEC ? "qpack_decode"
                                                     : "unknown";
    lwq_qlog_begin(q, lwq_conn_qlog_now(h->qconn), "http3:stream_type_set");
    lwq_qlog_u64(q, "stream_id", (uint64_t)id);
    lwq_qlog_str(q, q->v03 ? "owner" : "initiator", local ? "local" : "remote");
    lwq_qlog_str(q, q->v03 ? "new" : "stream_type", name);
    lwq_qlog_end(q);
}
