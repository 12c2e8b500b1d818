#include <string.h>
#include "h3/frame.h"
#include "h3/msg.h"

const char *lwq_h3_strerror(uint64_t code)
{
    /* RFC 9114 §8.1, RFC 9204 §6 */
    switch (code) {
    case LWQ_H3_NO_ERROR:
        return "H3_NO_ERROR: no error";
    case LWQ_H3_GENERAL_PROTOCOL_ERROR:
        return "H3_GENERAL_PROTOCOL_ERROR: general protocol error";
    case LWQ_H3_INTERNAL_ERROR:
        return "H3_INTERNAL_ERROR: internal error";
    case LWQ_H3_STREAM_CREATION_ERROR:
        return "H3_STREAM_CREATION_ERROR: stream creation error";
    case LWQ_H3_CLOSED_CRITICAL_STREAM:
        return "H3_CLOSED_CRITICAL_STREAM: critical stream was closed";
    case LWQ_H3_FRAME_UNEXPECTED:
        return "H3_FRAME_UNEXPECTED: frame not permitted in the current state";
    case LWQ_H3_FRAME_ERROR:
        return "H3_FRAME_ERROR: frame violated layout or size rules";
    case LWQ_H3_EXCESSIVE_LOAD:
        return "H3_EXCESSIVE_LOAD: peer generating excessive load";
    case LWQ_H3_ID_ERROR:
        return "H3_ID_ERROR: an identifier was used incorrectly";
    case LWQ_H3_SETTINGS_ERROR:
        return "H3_SETTINGS_ERROR: SETTINGS frame contained invalid values";
    case LWQ_H3_MISSING_SETTINGS:
        return "H3_MISSING_SETTINGS: no SETTINGS frame received";
    case LWQ_H3_REQUEST_REJECTED:
        return "H3_REQUEST_REJECTED: request not processed";
    case LWQ_H3_REQUEST_CANCELLED:
        return "H3_REQUEST_CANCELLED: data no longer needed";
    case LWQ_H3_REQUEST_INCOMPLETE:
        return "H3_REQUEST_INCOMPLETE: stream terminated early";
    case LWQ_H3_MESSAGE_ERROR:
        return "H3_MESSAGE_ERROR: malformed message";
    case LWQ_H3_CONNECT_ERROR:
        return "H3_CONNECT_ERROR: TCP reset or error on CONNECT request";
    case LWQ_H3_VERSION_FALLBACK:
        return "H3_VERSION_FALLBACK: retry over HTTP/1.1";
    case LWQ_QPACK_DECOMPRESSION_FAILED:
        return "QPACK_DECOMPRESSION_FAILED: decoding of a field section failed";
    case LWQ_QPACK_ENCODER_STREAM_ERROR:
        return "QPACK_ENCODER_STREAM_ERROR: error on the encoder stream";
    case LWQ_QPACK_DECODER_STREAM_ERROR:
        return "QPACK_DECODER_STREAM_ERROR: error on the decoder stream";
    default:
        return "unknown HTTP/3 error";
    }
}

const lwq_h3_field *lwq_h3_find(const lwq_h3_field *f, size_t n, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (f[i].name_len == l && memcmp(f[i].name, name, l) == 0)
            return &f[i];
    return NULL;
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

void lwq_h3_parse_priority(const uint8_t *p, size_t n, uint8_t *urgency, int *incremental)
{
    /* RFC 9218 §4-5: a Structured Fields Dictionary; only u (0..7) and i (boolean) matter */
    uint8_t u = 3;
    int inc = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(p[i]) || p[i] == ','))
            i++;
        size_t k = i;
        while (i < n && p[i] != '=' && p[i] != ',' && p[i] != ';' && !is_ows(p[i]))
            i++;
        size_t klen = i - k;
        const uint8_t *v = NULL;
        size_t vlen = 0;
        if (i < n && p[i] == '=') {
            v = p + ++i;
            while (i < n && p[i] != ',' && p[i] != ';' && !is_ows(p[i]))
                i++;
            vlen = (size_t)(p + i - v);
        }
        while (i < n && p[i] != ',')
            i++; /* parameters of the member are ignored */
        if (klen == 1 && p[k] == 'u' && v && vlen == 1 && v[0] >= '0' && v[0] <= '7')
            u = (uint8_t)(v[0] - '0');
        else if (klen == 1 && p[k] == 'i') {
            if (!v)
                inc = 1;
            else if (vlen == 2 && v[0] == '?' && (v[1] == '0' || v[1] == '1'))
                inc = v[1] == '1';
        }
    }
    *urgency = u;
    *incremental = inc;
}

static int eq(const lwq_h3_field *f, const char *s)
{
    size_t l = strlen(s);
    return f->name_len == l && memcmp(f->name, s, l) == 0;
}

static int val_eq(const lwq_h3_field *f, const char *s)
{
    size_t l = strlen(s);
    return f->value_len == l && memcmp(f->value, s, l) == 0;
}

/* Content-Length: digits only, repeated values equal (RFC 9110 §8.6). */
static int parse_cl(const lwq_h3_field *f, uint64_t *cl, int *has)
{
    uint64_t v = 0;
    if (!f->value_len || f->value_len > 18)
        return -1;
    for (size_t i = 0; i < f->value_len; i++) {
        if (f->value[i] < '0' || f->value[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(f->value[i] - '0');
    }
    if (*has && *cl != v)
        return -1;
    *cl = v;
    *has = 1;
    return 0;
}

int lwq_h3_check_fields(const lwq_h3_field *f, size_t n, int kind, lwq_h3_msg_info *mi)
{
    int regular = 0;
    const lwq_h3_field *method = NULL, *scheme = NULL, *authority = NULL, *path = NULL, *status = NULL;
    int host = 0, protocol = 0;
    memset(mi, 0, sizeof(*mi));
    mi->urgency = 3;
    for (size_t i = 0; i < n; i++) {
        const lwq_h3_field *x = &f[i];
        if (!x->name_len)
            return -1;
        /* RFC 9114 §4.2: lowercase names, no NUL/CR/LF anywhere */
        for (size_t k = 0; k < x->name_len; k++) {
            uint8_t c = x->name[k];
            if ((c >= 'A' && c <= 'Z') || c <= 0x20 || c >= 0x7f || (c == ':' && k > 0))
                return -1;
        }
        for (size_t k = 0; k < x->value_len; k++)
            if (x->value[k] == 0 || x->value[k] == '\r' || x->value[k] == '\n')
                return -1;
        if (x->name[0] == ':') {
            /* RFC 9114 §4.3: pseudo-headers first, never in trailers, no duplicates */
            if (regular || kind == LWQ_H3_MSG_TRAILERS)
                return -1;
            const lwq_h3_field **slot = NULL;
            if (kind == LWQ_H3_MSG_REQUEST) {
                if (eq(x, ":method"))
                    slot = &method;
                else if (eq(x, ":scheme"))
                    slot = &scheme;
                else if (eq(x, ":authority"))
                    slot = &authority;
                else if (eq(x, ":path"))
                    slot = &path;
                else if (eq(x, ":protocol")) {
                    protocol = 1;
                    continue;
                }
            } else if (eq(x, ":status"))
                slot = &status;
            if (!slot || *slot)
                return -1;
            *slot = x;
            continue;
        }
        regular = 1;
        /* RFC 9114 §4.2: connection-specific fields */
        if (eq(x, "connection") || eq(x, "keep-alive") || eq(x, "proxy-connection") || eq(x, "transfer-encoding") ||
            eq(x, "upgrade"))
            return -1;
        if (eq(x, "te") && !val_eq(x, "trailers"))
            return -1;
        if (eq(x, "host"))
            host = 1;
        if (eq(x, "content-length") && kind != LWQ_H3_MSG_TRAILERS &&
            parse_cl(x, &mi->content_length, &mi->has_content_length) < 0)
            return -1;
        if (eq(x, "priority"))
            lwq_h3_parse_priority(x->value, x->value_len, &mi->urgency, &mi->incremental);
    }
    if (kind == LWQ_H3_MSG_REQUEST) {
        if (!method || protocol)
            return -1;
        mi->is_head = val_eq(method, "HEAD");
        if (val_eq(method, "CONNECT")) {
            /* RFC 9114 §4.4 */
            if (scheme || path || !authority)
                return -1;
            return 0;
        }
        if (!scheme || !path || !path->value_len)
            return -1;
        /* RFC 9114 §4.3.1 */
        if ((val_eq(scheme, "http") || val_eq(scheme, "https")) && !host && (!authority || !authority->value_len))
            return -1;
    } else if (kind == LWQ_H3_MSG_RESPONSE) {
        if (!status || status->value_len != 3)
            return -1;
        int s = 0;
        for (int k = 0; k < 3; k++) {
            if (status->value[k] < '0' || status->value[k] > '9')
                return -1;
            s = s * 10 + status->value[k] - '0';
        }
        /* RFC 9114 §4.5: no 101 Switching Protocols */
        if (s < 100 || s == 101)
            return -1;
        mi->status = s;
    }
    return 0;
}
