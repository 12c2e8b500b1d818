#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/frame.h"
#include "quic/varint.h"
#include "lwquic/quic_errors.h"

#define VMAX LWQ_VARINT_MAX

static const uint8_t blob[] = "the quick brown fox jumps over the lazy dog";
static lwq_ack_range ack3[] = {{90, 100}, {50, 80}, {0, 10}};
static lwq_ack_range ack_edge[] = {{VMAX, VMAX}, {0, VMAX - 2}};
static lwq_ack_range ack_single[] = {{0, 0}};

static lwq_frame *add(lwq_frame *fs, size_t *n, uint64_t type)
{
    lwq_frame *f = &fs[(*n)++];
    memset(f, 0, sizeof(*f));
    f->type = type;
    return f;
}

/* A sample of every frame type, with edge values. */
static size_t sample_frames(lwq_frame *fs)
{
    size_t n = 0;
    lwq_frame *f;
#define ADD(t) (f = add(fs, &n, (t)))
    ADD(LWQ_FRAME_PADDING)->u.padding_len = 7;
    ADD(LWQ_FRAME_PING);
    ADD(LWQ_FRAME_ACK);
    f->u.ack = (lwq_frame_ack){.largest = 100, .ack_delay = 25, .ranges = ack3, .range_count = 3};
    ADD(LWQ_FRAME_ACK_ECN);
    f->u.ack = (lwq_frame_ack){
        .largest = VMAX, .ack_delay = VMAX, .ranges = ack_edge, .range_count = 2, .ect0 = VMAX, .ect1 = 0, .ce = 16384};
    ADD(LWQ_FRAME_ACK);
    f->u.ack = (lwq_frame_ack){.largest = 0, .ack_delay = 0, .ranges = ack_single, .range_count = 1};
    ADD(LWQ_FRAME_RESET_STREAM);
    f->u.reset_stream.stream_id = VMAX;
    f->u.reset_stream.app_error = 0;
    f->u.reset_stream.final_size = 1073741824;
    ADD(LWQ_FRAME_STOP_SENDING);
    f->u.stop_sending.stream_id = 3;
    f->u.stop_sending.app_error = VMAX;
    ADD(LWQ_FRAME_CRYPTO)->u.crypto = (lwq_frame_crypto){0, blob, 10};
    ADD(LWQ_FRAME_CRYPTO)->u.crypto = (lwq_frame_crypto){VMAX - 5, blob, 5};
    ADD(LWQ_FRAME_NEW_TOKEN)->u.new_token = (lwq_frame_bytes){blob, sizeof(blob)};
    for (unsigned bits = 0; bits < 8; bits++) {
        ADD(LWQ_FRAME_STREAM | bits);
        f->u.stream.stream_id = bits * 4 + 1;
        f->u.stream.offset = (bits & LWQ_STREAM_BIT_OFF) ? 16384 + bits : 0;
        f->u.stream.has_len = (bits & LWQ_STREAM_BIT_LEN) != 0;
        f->u.stream.fin = (bits & LWQ_STREAM_BIT_FIN) != 0;
        f->u.stream.data = blob;
        f->u.stream.len = bits == 3 ? 0 : 4 + bits;
    }
    ADD(LWQ_FRAME_STREAM | 7)->u.stream = (lwq_frame_stream){VMAX, VMAX - 3, blob, 3, 1, 1};
    ADD(LWQ_FRAME_MAX_DATA)->u.max_data = VMAX;
    ADD(LWQ_FRAME_MAX_STREAM_DATA);
    f->u.max_stream_data.stream_id = 0;
    f->u.max_stream_data.max = 63;
    ADD(LWQ_FRAME_MAX_STREAMS_BIDI)->u.max_streams = UINT64_C(1) << 60;
    ADD(LWQ_FRAME_MAX_STREAMS_UNI)->u.max_streams = 0;
    ADD(LWQ_FRAME_DATA_BLOCKED)->u.max_data = 64;
    ADD(LWQ_FRAME_STREAM_DATA_BLOCKED);
    f->u.max_stream_data.stream_id = VMAX;
    f->u.max_stream_data.max = 16383;
    ADD(LWQ_FRAME_STREAMS_BLOCKED_BIDI)->u.max_streams = 100;
    ADD(LWQ_FRAME_STREAMS_BLOCKED_UNI)->u.max_streams = UINT64_C(1) << 60;
    ADD(LWQ_FRAME_NEW_CONNECTION_ID);
    f->u.new_cid.seq = 7;
    f->u.new_cid.retire_prior_to = 7;
    lwq_cid_set(&f->u.new_cid.cid, blob, 20);
    memcpy(f->u.new_cid.reset_token, blob + 20, 16);
    ADD(LWQ_FRAME_NEW_CONNECTION_ID);
    f->u.new_cid.seq = VMAX;
    f->u.new_cid.retire_prior_to = 0;
    lwq_cid_set(&f->u.new_cid.cid, blob, 1);
    ADD(LWQ_FRAME_RETIRE_CONNECTION_ID)->u.retire_seq = 16384;
    memcpy(ADD(LWQ_FRAME_PATH_CHALLENGE)->u.path_data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    memcpy(ADD(LWQ_FRAME_PATH_RESPONSE)->u.path_data, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 8);
    ADD(LWQ_FRAME_CONNECTION_CLOSE)->u.close = (lwq_frame_close){LWQ_QUIC_ERR_PROTOCOL_VIOLATION, 0x1e, blob, 12};
    ADD(LWQ_FRAME_CONNECTION_CLOSE)->u.close = (lwq_frame_close){LWQ_QUIC_ERR_CRYPTO(0x28), 0, NULL, 0};
    ADD(LWQ_FRAME_CONNECTION_CLOSE_APP)->u.close = (lwq_frame_close){VMAX, 0, blob, 5};
    ADD(LWQ_FRAME_HANDSHAKE_DONE);
    ADD(LWQ_FRAME_DATAGRAM)->u.datagram = (lwq_frame_bytes){blob, 9};
    ADD(LWQ_FRAME_DATAGRAM)->u.datagram = (lwq_frame_bytes){NULL, 0};
    ADD(LWQ_FRAME_DATAGRAM_LEN)->u.datagram = (lwq_frame_bytes){blob, sizeof(blob)};
    ADD(LWQ_FRAME_DATAGRAM_LEN)->u.datagram = (lwq_frame_bytes){NULL, 0};
#undef ADD
    return n;
}

static void assert_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    ck_assert_uint_eq(alen, blen);
    if (alen)
        ck_assert_mem_eq(a, b, alen);
}

/* Field-by-field equality of what the wire carries. */
static void assert_frame_eq(const lwq_frame *a, const lwq_frame *b)
{
    ck_assert_uint_eq(a->type, b->type);
    switch (a->type) {
    case LWQ_FRAME_PADDING:
        ck_assert_uint_eq(a->u.padding_len, b->u.padding_len);
        break;
    case LWQ_FRAME_ACK:
    case LWQ_FRAME_ACK_ECN:
        ck_assert_uint_eq(a->u.ack.largest, b->u.ack.largest);
        ck_assert_uint_eq(a->u.ack.ack_delay, b->u.ack.ack_delay);
        ck_assert_uint_eq(a->u.ack.range_count, b->u.ack.range_count);
        for (size_t i = 0; i < a->u.ack.range_count; i++) {
            ck_assert_uint_eq(a->u.ack.ranges[i].smallest, b->u.ack.ranges[i].smallest);
            ck_assert_uint_eq(a->u.ack.ranges[i].largest, b->u.ack.ranges[i].largest);
        }
        if (a->type == LWQ_FRAME_ACK_ECN) {
            ck_assert_uint_eq(a->u.ack.ect0, b->u.ack.ect0);
            ck_assert_uint_eq(a->u.ack.ect1, b->u.ack.ect1);
            ck_assert_uint_eq(a->u.ack.ce, b->u.ack.ce);
        }
        break;
    case LWQ_FRAME_RESET_STREAM:
        ck_assert_uint_eq(a->u.reset_stream.stream_id, b->u.reset_stream.stream_id);
        ck_assert_uint_eq(a->u.reset_stream.app_error, b->u.reset_stream.app_error);
        ck_assert_uint_eq(a->u.reset_stream.final_size, b->u.reset_stream.final_size);
        break;
    case LWQ_FRAME_STOP_SENDING:
        ck_assert_uint_eq(a->u.stop_sending.stream_id, b->u.stop_sending.stream_id);
        ck_assert_uint_eq(a->u.stop_sending.app_error, b->u.stop_sending.app_error);
        break;
    case LWQ_FRAME_CRYPTO:
        ck_assert_uint_eq(a->u.crypto.offset, b->u.crypto.offset);
        assert_bytes_eq(a->u.crypto.data, a->u.crypto.len, b->u.crypto.data, b->u.crypto.len);
        break;
    case LWQ_FRAME_NEW_TOKEN:
    case LWQ_FRAME_DATAGRAM:
    case LWQ_FRAME_DATAGRAM_LEN:
        assert_bytes_eq(a->u.datagram.data, a->u.datagram.len, b->u.datagram.data, b->u.datagram.len);
        break;
    case LWQ_FRAME_MAX_DATA:
    case LWQ_FRAME_DATA_BLOCKED:
        ck_assert_uint_eq(a->u.max_data, b->u.max_data);
        break;
    case LWQ_FRAME_MAX_STREAM_DATA:
    case LWQ_FRAME_STREAM_DATA_BLOCKED:
        ck_assert_uint_eq(a->u.max_stream_data.stream_id, b->u.max_stream_data.stream_id);
        ck_assert_uint_eq(a->u.max_stream_data.max, b->u.max_stream_data.max);
        break;
    case LWQ_FRAME_MAX_STREAMS_BIDI:
    case LWQ_FRAME_MAX_STREAMS_UNI:
    case LWQ_FRAME_STREAMS_BLOCKED_BIDI:
    case LWQ_FRAME_STREAMS_BLOCKED_UNI:
        ck_assert_uint_eq(a->u.max_streams, b->u.max_streams);
        break;
    case LWQ_FRAME_NEW_CONNECTION_ID:
        ck_assert_uint_eq(a->u.new_cid.seq, b->u.new_cid.seq);
        ck_assert_uint_eq(a->u.new_cid.retire_prior_to, b->u.new_cid.retire_prior_to);
        assert_bytes_eq(a->u.new_cid.cid.id, a->u.new_cid.cid.len, b->u.new_cid.cid.id, b->u.new_cid.cid.len);
        ck_assert_mem_eq(a->u.new_cid.reset_token, b->u.new_cid.reset_token, 16);
        break;
    case LWQ_FRAME_RETIRE_CONNECTION_ID:
        ck_assert_uint_eq(a->u.retire_seq, b->u.retire_seq);
        break;
    case LWQ_FRAME_PATH_CHALLENGE:
    case LWQ_FRAME_PATH_RESPONSE:
        ck_assert_mem_eq(a->u.path_data, b->u.path_data, 8);
        break;
    case LWQ_FRAME_CONNECTION_CLOSE:
    case LWQ_FRAME_CONNECTION_CLOSE_APP:
        ck_assert_uint_eq(a->u.close.error_code, b->u.close.error_code);
        ck_assert_uint_eq(a->u.close.frame_type, b->u.close.frame_type);
        assert_bytes_eq(a->u.close.reason, a->u.close.reason_len, b->u.close.reason, b->u.close.reason_len);
        break;
    case LWQ_FRAME_PING:
    case LWQ_FRAME_HANDSHAKE_DONE:
        break;
    default:
        ck_assert(lwq_frame_is_stream(a->type));
        ck_assert_uint_eq(a->u.stream.stream_id, b->u.stream.stream_id);
        ck_assert_uint_eq(a->u.stream.offset, b->u.stream.offset);
        ck_assert_int_eq(a->u.stream.fin, b->u.stream.fin);
        ck_assert_int_eq(a->u.stream.has_len, b->u.stream.has_len);
        assert_bytes_eq(a->u.stream.data, a->u.stream.len, b->u.stream.data, b->u.stream.len);
        break;
    }
}

/* Frames whose last field runs to the end of the packet decode from any prefix past their header. */
static int runs_to_end(uint64_t type)
{
    return type == LWQ_FRAME_PADDING || type == LWQ_FRAME_DATAGRAM ||
           (lwq_frame_is_stream(type) && !(type & LWQ_STREAM_BIT_LEN));
}

/* With LWQ_WRITE_CORPUS=dir, the encoded samples become fuzz seeds. */
static void write_seed(const char *name, size_t i, const uint8_t *p, size_t n)
{
    const char *dir = getenv("LWQ_WRITE_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s_%02zu", dir, name, i);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(p, 1, n, fp);
    fclose(fp);
}

START_TEST(test_frame_round_trip_every_type)
{
    lwq_frame fs[64];
    size_t n = sample_frames(fs);
    lwq_ack_range ranges[8];
    int seen[0x32] = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[256], again[256];
        size_t len = lwq_frame_encoded_len(&fs[i]);
        ck_assert_uint_gt(len, 0);
        ck_assert_int_eq(lwq_frame_encode(buf, sizeof(buf), &fs[i]), (ssize_t)len);
        for (size_t cap = 0; cap < len; cap++)
            ck_assert_int_eq(lwq_frame_encode(buf, cap, &fs[i]), LWQ_ERR_NOBUF);
        write_seed("frame", i, buf, len);
        /* decode from an exact-size heap copy so ASan sees any read past the end */
        uint8_t *exact = lwq_malloc(lwq_test_alloc, len);
        memcpy(exact, buf, len);
        lwq_frame d;
        memset(&d, 0, sizeof(d));
        d.ack_ranges = ranges;
        d.ack_ranges_cap = 8;
        ck_assert_int_eq(lwq_frame_decode(&d, exact, len), (ssize_t)len);
        assert_frame_eq(&fs[i], &d);
        ck_assert_int_eq(lwq_frame_encode(again, sizeof(again), &d), (ssize_t)len);
        ck_assert_mem_eq(again, buf, len);
        if (d.type < 0x32)
            seen[d.type] = 1;
        lwq_free(lwq_test_alloc, exact);
    }
    for (unsigned t = 0; t <= 0x1e; t++)
        ck_assert_msg(seen[t], "frame type 0x%02x not covered", t);
    ck_assert(seen[0x30] && seen[0x31]);
}
END_TEST

START_TEST(test_frame_truncation_every_byte)
{
    lwq_frame fs[64];
    size_t n = sample_frames(fs);
    lwq_ack_range ranges[8];
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[256];
        ssize_t len = lwq_frame_encode(buf, sizeof(buf), &fs[i]);
        ck_assert_int_gt(len, 0);
        for (size_t k = 0; k < (size_t)len; k++) {
            uint8_t *exact = lwq_malloc(lwq_test_alloc, k ? k : 1);
            memcpy(exact, buf, k);
            lwq_frame d;
            memset(&d, 0, sizeof(d));
            d.ack_ranges = ranges;
            d.ack_ranges_cap = 8;
            ssize_t r = lwq_frame_decode(&d, exact, k);
            if (r >= 0) {
                ck_assert_msg(runs_to_end(fs[i].type) && k > 0, "sample %zu decoded from %zu of %zd bytes", i, k, len);
                ck_assert_int_eq(r, (ssize_t)k);
            } else {
                ck_assert_int_eq(r, LWQ_ERR_TRUNCATED);
                ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
            }
            lwq_free(lwq_test_alloc, exact);
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 500);
}
END_TEST

static ssize_t decode_hex(lwq_frame *d, const char *hex, lwq_ack_range *ranges, size_t cap)
{
    static uint8_t b[256];
    size_t n = lwq_test_unhex(hex, b, sizeof(b));
    memset(d, 0, sizeof(*d));
    d->ack_ranges = ranges;
    d->ack_ranges_cap = cap;
    return lwq_frame_decode(d, b, n);
}

START_TEST(test_frame_decode_errors)
{
    lwq_frame d;
    lwq_ack_range r[4];
    /* RFC 9000 §12.4: unknown frame types */
    ck_assert_int_eq(decode_hex(&d, "1f", r, 4), LWQ_ERR_DECODE);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    ck_assert_uint_eq(d.type, 0x1f);
    ck_assert_int_eq(decode_hex(&d, "21", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "4132", r, 4), LWQ_ERR_DECODE);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    /* a type in a longer encoding than needed */
    ck_assert_int_eq(decode_hex(&d, "4001", r, 4), LWQ_ERR_DECODE);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    ck_assert_int_eq(decode_hex(&d, "", r, 4), LWQ_ERR_TRUNCATED);
    /* ACK: first range larger than Largest Acknowledged, then a gap and a range below zero */
    ck_assert_int_eq(decode_hex(&d, "02 05 00 00 06", r, 4), LWQ_ERR_DECODE);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    ck_assert_int_eq(decode_hex(&d, "02 05 00 00 05", r, 4), 5);
    ck_assert_uint_eq(d.u.ack.ranges[0].smallest, 0);
    ck_assert_int_eq(decode_hex(&d, "02 0a 00 01 02 05 01", r, 4), 7); /* 8..10, 0..1 */
    ck_assert_uint_eq(d.u.ack.ranges[1].largest, 1);
    ck_assert_uint_eq(d.u.ack.ranges[1].smallest, 0);
    ck_assert_int_eq(decode_hex(&d, "02 0a 00 01 02 06 00", r, 4), 7); /* 8..10, 0..0 */
    ck_assert_int_eq(decode_hex(&d, "02 0a 00 01 02 07 00", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "02 0a 00 01 02 05 02", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "02 0a 00 01 0a", r, 4), LWQ_ERR_TRUNCATED); /* no room for the range */
    /* ACK range cap: 4 ranges fit 4 slots, 5 do not */
    ck_assert_int_eq(decode_hex(&d, "02 40 64 00 03 00 00 00 00 00 00 00", r, 4), 12);
    ck_assert_uint_eq(d.u.ack.range_count, 4);
    ck_assert_uint_eq(d.u.ack.ranges[3].largest, 94);
    ck_assert_int_eq(decode_hex(&d, "02 40 64 00 04 00 00 00 00 00 00 00 00 00", r, 4), LWQ_ERR_LIMIT);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    ck_assert_int_eq(decode_hex(&d, "02 05 00 00 00", NULL, 0), LWQ_ERR_LIMIT);
    /* an absurd range count is bounded by the input, not trusted */
    ck_assert_int_eq(decode_hex(&d, "02 05 00 bfffffffffffffff 00", r, 4), LWQ_ERR_TRUNCATED);
    /* NEW_CONNECTION_ID: length 0 and 21, Retire Prior To above the sequence number */
    ck_assert_int_eq(decode_hex(&d, "18 01 00 00 00112233445566778899aabbccddeeff", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d,
                                "18 01 00 15 000102030405060708090a0b0c0d0e0f1011121314"
                                " 00112233445566778899aabbccddeeff",
                                r, 4),
                     LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "18 01 02 01 aa 00112233445566778899aabbccddeeff", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "18 02 02 01 aa 00112233445566778899aabbccddeeff", r, 4), 21);
    /* NEW_TOKEN must not be empty */
    ck_assert_int_eq(decode_hex(&d, "07 00", r, 4), LWQ_ERR_DECODE);
    /* stream counts above 2^60 */
    ck_assert_int_eq(decode_hex(&d, "12 d000000000000001", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "17 d000000000000001", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "13 d000000000000000", r, 4), 9);
    /* offset + length beyond 2^62 - 1 */
    ck_assert_int_eq(decode_hex(&d, "0e 00 ffffffffffffffff 01 aa", r, 4), LWQ_ERR_DECODE);
    ck_assert_int_eq(decode_hex(&d, "0e 00 fffffffffffffffe 01 aa", r, 4), 12);
    ck_assert_int_eq(decode_hex(&d, "06 ffffffffffffffff 01 aa", r, 4), LWQ_ERR_DECODE);
    ck_assert_uint_eq(d.wire_error, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    /* a Length running past the buffer */
    ck_assert_int_eq(decode_hex(&d, "06 00 05 aabbccdd", r, 4), LWQ_ERR_TRUNCATED);
    ck_assert_int_eq(decode_hex(&d, "31 4000", r, 4), 3);
    ck_assert_int_eq(decode_hex(&d, "1c 00 00 02 41", r, 4), LWQ_ERR_TRUNCATED);
    /* a run of PADDING is one frame */
    ck_assert_int_eq(decode_hex(&d, "00 00 00 01", r, 4), 3);
    ck_assert_uint_eq(d.u.padding_len, 3);
}
END_TEST

START_TEST(test_frame_encode_errors)
{
    uint8_t b[64];
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_MAX_DATA;
    f.u.max_data = VMAX + 1;
    ck_assert_uint_eq(lwq_frame_encoded_len(&f), 0);
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    f.type = LWQ_FRAME_MAX_STREAMS_UNI;
    f.u.max_streams = (UINT64_C(1) << 60) + 1;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    f.type = 0x1f;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_NEW_CONNECTION_ID;
    f.u.new_cid.cid.len = 0;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    f.u.new_cid.cid.len = 4;
    f.u.new_cid.retire_prior_to = 1;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_NEW_TOKEN;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    /* ACK ranges must descend with a gap of at least one packet */
    lwq_ack_range bad[] = {{10, 20}, {9, 9}};
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_ACK;
    f.u.ack = (lwq_frame_ack){.largest = 20, .ranges = bad, .range_count = 2};
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    bad[1] = (lwq_ack_range){0, 8};
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), 7);
    f.u.ack.largest = 21;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    f.u.ack.largest = 20;
    f.u.ack.range_count = 0;
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
    /* STREAM offset + length beyond 2^62 - 1 */
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream = (lwq_frame_stream){0, VMAX, blob, 2, 0, 1};
    ck_assert_int_eq(lwq_frame_encode(b, sizeof(b), &f), LWQ_ERR_INVAL);
}
END_TEST

START_TEST(test_frame_sequence_and_stream_fit)
{
    /* several frames back to back decode one after the other */
    lwq_frame fs[64];
    size_t n = sample_frames(fs), off = 0;
    uint8_t buf[4096];
    lwq_ack_range ranges[8];
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (runs_to_end(fs[i].type))
            continue;
        off += (size_t)lwq_frame_encode(buf + off, sizeof(buf) - off, &fs[i]);
        count++;
    }
    size_t pos = 0, got = 0;
    while (pos < off) {
        lwq_frame d;
        d.ack_ranges = ranges;
        d.ack_ranges_cap = 8;
        ssize_t r = lwq_frame_decode(&d, buf + pos, off - pos);
        ck_assert_int_gt(r, 0);
        pos += (size_t)r;
        got++;
    }
    ck_assert_uint_eq(got, count);

    /* stream_fit: the largest payload that fits, with a Length field that may shrink */
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream = (lwq_frame_stream){4, 100, NULL, 0, 0, 1};
    size_t hdr;
    for (size_t cap = 0; cap < 300; cap++) {
        size_t fit = lwq_frame_stream_fit(&f, cap, 200, &hdr);
        if (fit == 0)
            continue;
        ck_assert_uint_le(hdr + fit, cap);
        f.u.stream.len = fit;
        ck_assert_uint_eq(lwq_frame_encoded_len(&f), hdr + fit);
        ck_assert(fit == 200 || hdr + fit >= cap - 1);
    }
    ck_assert_uint_eq(lwq_frame_stream_fit(&f, 3, 10, &hdr), 0);
    ck_assert_uint_eq(lwq_frame_stream_fit(&f, 1000, 10, &hdr), 10);
    ck_assert_uint_eq(hdr, 1 + 1 + 2 + 1);
}
END_TEST

START_TEST(test_frame_table)
{
    /* RFC 9000 §12.4 Table 3 */
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_PADDING, LWQ_PKT_INITIAL), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_PING, LWQ_PKT_0RTT), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_ACK, LWQ_PKT_HANDSHAKE), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_ACK_ECN, LWQ_PKT_0RTT), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CRYPTO, LWQ_PKT_INITIAL), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CRYPTO, LWQ_PKT_0RTT), LWQ_ERR_PROTO);
    for (unsigned t = LWQ_FRAME_STREAM; t <= 0x0f; t++) {
        ck_assert_int_eq(lwq_frame_allowed(t, LWQ_PKT_INITIAL), LWQ_ERR_PROTO);
        ck_assert_int_eq(lwq_frame_allowed(t, LWQ_PKT_HANDSHAKE), LWQ_ERR_PROTO);
        ck_assert_int_eq(lwq_frame_allowed(t, LWQ_PKT_0RTT), 0);
        ck_assert_int_eq(lwq_frame_allowed(t, LWQ_PKT_1RTT), 0);
    }
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_NEW_TOKEN, LWQ_PKT_0RTT), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_PATH_RESPONSE, LWQ_PKT_0RTT), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_PATH_CHALLENGE, LWQ_PKT_0RTT), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_HANDSHAKE_DONE, LWQ_PKT_HANDSHAKE), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_HANDSHAKE_DONE, LWQ_PKT_1RTT), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CONNECTION_CLOSE, LWQ_PKT_INITIAL), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CONNECTION_CLOSE, LWQ_PKT_HANDSHAKE), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CONNECTION_CLOSE_APP, LWQ_PKT_INITIAL), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CONNECTION_CLOSE_APP, LWQ_PKT_HANDSHAKE), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_CONNECTION_CLOSE_APP, LWQ_PKT_1RTT), 0);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_DATAGRAM, LWQ_PKT_INITIAL), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_DATAGRAM_LEN, LWQ_PKT_0RTT), 0);
    ck_assert_int_eq(lwq_frame_allowed(0x1f, LWQ_PKT_1RTT), LWQ_ERR_PROTO);
    ck_assert_int_eq(lwq_frame_allowed(LWQ_FRAME_PING, LWQ_PKT_RETRY), LWQ_ERR_PROTO);
    /* every known type is allowed in 1-RTT (RFC 9000 §12.4) */
    for (unsigned t = 0; t <= 0x1e; t++)
        ck_assert_int_eq(lwq_frame_allowed(t, LWQ_PKT_1RTT), 0);
    /* only a transport CONNECTION_CLOSE, ACK, CRYPTO, PADDING and PING in Initial */
    unsigned initial = 0;
    for (unsigned t = 0; t <= 0x31; t++)
        initial += lwq_frame_allowed(t, LWQ_PKT_INITIAL) == 0;
    ck_assert_uint_eq(initial, 6);

    const lwq_frame_info *fi = lwq_frame_info_get(LWQ_FRAME_ACK);
    ck_assert_str_eq(fi->name, "ACK");
    ck_assert(!fi->ack_eliciting && !fi->in_flight && !fi->probing);
    fi = lwq_frame_info_get(LWQ_FRAME_PADDING);
    ck_assert(!fi->ack_eliciting && fi->in_flight && fi->probing);
    fi = lwq_frame_info_get(LWQ_FRAME_CONNECTION_CLOSE);
    ck_assert(!fi->ack_eliciting && fi->in_flight);
    fi = lwq_frame_info_get(LWQ_FRAME_STREAM | 7);
    ck_assert(fi->ack_eliciting && fi->flow_controlled && !fi->probing);
    ck_assert(lwq_frame_info_get(LWQ_FRAME_NEW_CONNECTION_ID)->probing);
    ck_assert(lwq_frame_info_get(LWQ_FRAME_HANDSHAKE_DONE)->server_only);
    ck_assert(lwq_frame_info_get(LWQ_FRAME_NEW_TOKEN)->server_only);
    ck_assert(lwq_frame_info_get(LWQ_FRAME_DATAGRAM)->ack_eliciting);
    ck_assert_ptr_null(lwq_frame_info_get(0x20));
    ck_assert_ptr_null(lwq_frame_info_get(UINT64_MAX));
}
END_TEST

Suite *suite_frame(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = lwq_test_tcase("frame");
    tcase_add_test(tc, test_frame_round_trip_every_type);
    tcase_add_test(tc, test_frame_truncation_every_byte);
    tcase_add_test(tc, test_frame_decode_errors);
    tcase_add_test(tc, test_frame_encode_errors);
    tcase_add_test(tc, test_frame_sequence_and_stream_fit);
    tcase_add_test(tc, test_frame_table);
    suite_add_tcase(s, tc);
    return s;
}
