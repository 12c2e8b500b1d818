/* libFuzzer target: fuzz-chosen field lists through lwquic's encoder and decoder, with the
 * decoder's feedback delivered or withheld: every list must come back unchanged.
 * Header: capacity selector, blocked-stream limit, feedback mask. Then sections: a count
 * byte, and per field: flags, name length, name, value length, value (lengths mod 64). */
#include <stdlib.h>
#include <string.h>
#include "lwquic/qpack.h"

static const size_t caps[] = {0, 64, 220, 256, 4096};

static int same(const lwq_qpack_headers *h, const lwq_qpack_field *f, size_t n)
{
    if (h->count != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (h->fields[i].name_len != f[i].name_len || h->fields[i].value_len != f[i].value_len ||
            (f[i].name_len && memcmp(h->fields[i].name, f[i].name, f[i].name_len)) ||
            (f[i].value_len && memcmp(h->fields[i].value, f[i].value, f[i].value_len)) ||
            ((f[i].flags & LWQ_QPACK_NEVER_INDEX) && !(h->fields[i].flags & LWQ_QPACK_NEVER_INDEX)))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t cap = caps[data[0] % 5], blocked = data[1] % 4;
    uint8_t feedback = data[2];
    lwq_qpack_decoder_config dc = {cap, blocked, 0, 0};
    lwq_qpack_encoder *e = NULL;
    lwq_qpack_decoder *d = NULL;
    if (lwq_qpack_encoder_new(&e, lwq_default_allocator(), NULL) < 0 ||
        lwq_qpack_decoder_new(&d, lwq_default_allocator(), &dc) < 0)
        abort();
    lwq_qpack_encoder_set_peer_settings(e, cap, blocked);
    lwq_qpack_buf es, sec, ds;
    lwq_qpack_headers h;
    lwq_qpack_buf_init(&es, lwq_default_allocator());
    lwq_qpack_buf_init(&sec, lwq_default_allocator());
    lwq_qpack_buf_init(&ds, lwq_default_allocator());
    lwq_qpack_headers_init(&h, lwq_default_allocator());
    lwq_qpack_field f[16];
    size_t off = 3;
    for (uint64_t sid = 0; off < size; sid += 4) {
        size_t n = data[off++] % 16;
        size_t k = 0;
        for (; k < n && off + 2 <= size; k++) {
            f[k].flags = data[off] & 1 ? LWQ_QPACK_NEVER_INDEX : 0;
            f[k].name_len = data[off + 1] % 64;
            off += 2;
            if (f[k].name_len > size - off)
                f[k].name_len = size - off;
            f[k].name = data + off;
            off += f[k].name_len;
            f[k].value_len = off < size ? data[off++] % 64 : 0;
            if (f[k].value_len > size - off)
                f[k].value_len = size - off;
            f[k].value = data + off;
            off += f[k].value_len;
        }
        es.len = sec.len = 0;
        if (lwq_qpack_encoder_encode(e, sid, f, k, &es, &sec) != 0)
            abort();
        if (lwq_qpack_decoder_read_encoder(d, es.data, es.len) != (ssize_t)es.len)
            abort();
        if (lwq_qpack_decoder_decode(d, sid, sec.data, sec.len, &h) != 0 || !same(&h, f, k))
            abort();
        if (feedback & (1u << (sid / 4 % 8))) {
            ds.len = 0;
            if (lwq_qpack_decoder_write_decoder(d, &ds) != 0 ||
                lwq_qpack_encoder_read_decoder(e, ds.data, ds.len) != (ssize_t)ds.len)
                abort();
        }
    }
    lwq_qpack_buf_free(&es);
    lwq_qpack_buf_free(&sec);
    lwq_qpack_buf_free(&ds);
    lwq_qpack_headers_free(&h);
    lwq_qpack_encoder_del(e);
    lwq_qpack_decoder_del(d);
    return 0;
}
