/* libFuzzer target: the QPACK decoder driven by a small op language.
 * Header: capacity selector, blocked-stream limit, flags (bit 0 preset capacity, bit 1 small
 * field-section limit). Then ops, by the low two bits of the op byte:
 *   0  encoder-stream bytes: u16 BE length, bytes
 *   1  field section on stream (op >> 2): u16 BE length, bytes
 *   2  cancel stream (op >> 2)
 *   3  write decoder-stream bytes (they must parse back as decoder instructions) */
#include <stdlib.h>
#include <string.h>
#include "lwquic/qpack.h"
#include "qpack/codec.h"

static const size_t caps[] = {0, 64, 220, 256, 512, 4096};

static void check_decoder_stream(const lwq_qpack_buf *b)
{
    size_t off = 0, need;
    lwq_qpack_dec_insn in;
    while (off < b->len) {
        ssize_t k = lwq_qpack_dec_insn_parse(&in, b->data + off, b->len - off, &need);
        if (k <= 0)
            abort();
        off += (size_t)k;
    }
}

static void check_headers(const lwq_qpack_headers *h, size_t limit)
{
    size_t size = 0;
    for (size_t i = 0; i < h->count; i++)
        size += h->fields[i].name_len + h->fields[i].value_len + 32;
    if (size != h->size || size > limit)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t limit = (data[2] & 2) ? 256 : 65536;
    lwq_qpack_decoder_config cfg = {caps[data[0] % 6], data[1], limit, data[2] & 1};
    lwq_qpack_decoder *d;
    if (lwq_qpack_decoder_new(&d, lwq_default_allocator(), &cfg) < 0)
        return 0;
    lwq_qpack_headers h;
    lwq_qpack_buf ds;
    lwq_qpack_headers_init(&h, lwq_default_allocator());
    lwq_qpack_buf_init(&ds, lwq_default_allocator());
    size_t off = 3;
    while (off < size) {
        uint8_t op = data[off++];
        size_t len = 0;
        if ((op & 3) <= 1) {
            if (size - off < 2)
                break;
            len = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (len > size - off)
                len = size - off;
        }
        /* Exact-size copies so a read past the end is caught. */
        uint8_t *chunk = malloc(len ? len : 1);
        memcpy(chunk, data + off, len);
        off += len;
        int rv;
        uint64_t sid;
        switch (op & 3) {
        case 0:
            rv = (int)lwq_qpack_decoder_read_encoder(d, chunk, len);
            if (rv >= 0 && (size_t)rv != len)
                abort();
            while ((rv = lwq_qpack_decoder_next_unblocked(d, &sid, &h)) != LWQ_ERR_AGAIN) {
                if (rv == 0)
                    check_headers(&h, limit);
                else if (rv != LWQ_ERR_LIMIT)
                    abort();
            }
            break;
        case 1:
            rv = lwq_qpack_decoder_probe(d, chunk, len, &h);
            rv = lwq_qpack_decoder_decode(d, op >> 2, chunk, len, &h);
            if (rv == 0)
                check_headers(&h, limit);
            if (lwq_qpack_decoder_blocked_streams(d) > cfg.max_blocked_streams)
                abort();
            break;
        case 2:
            lwq_qpack_decoder_cancel_stream(d, op >> 2);
            break;
        default:
            ds.len = 0;
            if (lwq_qpack_decoder_write_decoder(d, &ds) == 0)
                check_decoder_stream(&ds);
            break;
        }
        free(chunk);
        if (lwq_qpack_decoder_wire_error(d) != 0 && lwq_qpack_decoder_wire_error(d) != LWQ_QPACK_DECOMPRESSION_FAILED &&
            lwq_qpack_decoder_wire_error(d) != LWQ_QPACK_ENCODER_STREAM_ERROR)
            abort();
    }
    lwq_qpack_buf_free(&ds);
    lwq_qpack_headers_free(&h);
    lwq_qpack_decoder_del(d);
    return 0;
}
