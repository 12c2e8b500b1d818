#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "quic/frame.h"

/* Every frame of a payload; each decoded frame must re-encode, and the re-encoding must decode to
 * the same bytes again. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lwq_ack_range ranges[64], ranges2[64];
    static uint8_t out[70000], again[70000];
    size_t off = 0;
    while (off < size) {
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.ack_ranges = ranges;
        f.ack_ranges_cap = 64;
        ssize_t r = lwq_frame_decode(&f, data + off, size - off);
        if (r <= 0) {
            if (r == 0 || f.wire_error == 0)
                __builtin_trap();
            break;
        }
        if ((size_t)r > size - off)
            __builtin_trap();
        for (int pt = LWQ_PKT_INITIAL; pt <= LWQ_PKT_VN; pt++)
            lwq_frame_allowed(f.type, (lwq_pkt_type)pt);
        if (!lwq_frame_info_get(f.type))
            __builtin_trap();
        size_t len = lwq_frame_encoded_len(&f);
        ssize_t w = lwq_frame_encode(out, sizeof(out), &f);
        if (w < 0 || (size_t)w != len || len > (size_t)r + 64)
            __builtin_trap();
        lwq_frame g;
        memset(&g, 0, sizeof(g));
        g.ack_ranges = ranges2;
        g.ack_ranges_cap = 64;
        if (lwq_frame_decode(&g, out, len) != (ssize_t)len)
            __builtin_trap();
        if (lwq_frame_encode(again, sizeof(again), &g) != (ssize_t)len || memcmp(out, again, len) != 0)
            __builtin_trap();
        off += (size_t)r;
    }
    return 0;
}
