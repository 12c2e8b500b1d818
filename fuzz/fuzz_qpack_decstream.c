/* libFuzzer target: the encoder's decoder-stream parser (Section Acknowledgment, Stream
 * Cancellation, Insert Count Increment) interleaved with encoding.
 * Header: capacity selector, blocked-stream limit. Then ops by the low bit:
 *   0  encode header set (op >> 1) % 4 on stream (op >> 3)
 *   1  decoder-stream bytes: u8 length, bytes */
#include <stdlib.h>
#include <string.h>
#include "lwquic/qpack.h"

#define F(n, v)                                                                                                        \
    {                                                                                                                  \
        (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1, 0                                    \
    }

static const size_t caps[] = {0, 64, 220, 256, 4096};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lwq_qpack_field sets[4][3] = {
        {F(":method", "GET"), F(":path", "/index.html"), F("x-a", "alpha")},
        {F(":authority", "example.com"), F("x-a", "alpha"), F("x-b", "beta")},
        {F("x-b", "beta"), F("cookie", "a-long-cookie-value=0123456789"), F(":path", "/index.html")},
        {F("x-c", "gamma"), F("x-d", "delta"), F("x-a", "alpha")},
    };
    if (size < 2)
        return 0;
    lwq_qpack_encoder *e;
    if (lwq_qpack_encoder_new(&e, lwq_default_allocator(), NULL) < 0)
        return 0;
    size_t cap = caps[data[0] % 5];
    lwq_qpack_encoder_set_peer_settings(e, cap, data[1] % 8);
    lwq_qpack_buf es, sec;
    lwq_qpack_buf_init(&es, lwq_default_allocator());
    lwq_qpack_buf_init(&sec, lwq_default_allocator());
    int dead = 0;
    for (size_t off = 2; off < size;) {
        uint8_t op = data[off++];
        if (!(op & 1)) {
            es.len = sec.len = 0;
            int rv = lwq_qpack_encoder_encode(e, op >> 3, sets[(op >> 1) % 4], 3, &es, &sec);
            if (rv != 0 && !(dead && rv == LWQ_ERR_PROTO))
                abort();
        } else {
            size_t len = off < size ? data[off++] : 0;
            if (len > size - off)
                len = size - off;
            uint8_t *chunk = malloc(len ? len : 1);
            memcpy(chunk, data + off, len);
            off += len;
            ssize_t rv = lwq_qpack_encoder_read_decoder(e, chunk, len);
            free(chunk);
            if (rv == LWQ_ERR_PROTO) {
                if (lwq_qpack_encoder_wire_error(e) != LWQ_QPACK_DECODER_STREAM_ERROR)
                    abort();
                dead = 1;
            } else if (rv != (ssize_t)len) {
                abort();
            }
        }
        lwq_qpack_encoder_stats st;
        lwq_qpack_encoder_get_stats(e, &st);
        if (st.known_received_count > st.insert_count || st.table_size > st.table_capacity ||
            st.blocking_streams > data[1] % 8)
            abort();
    }
    lwq_qpack_buf_free(&es);
    lwq_qpack_buf_free(&sec);
    lwq_qpack_encoder_del(e);
    return 0;
}
