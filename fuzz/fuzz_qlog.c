/* The qlog writer (src/quic/qlog.c) under arbitrary events and strings: every record it hands the sink must
 * be one JSON-SEQ record (RFC 7464: RS, one JSON text, LF) whatever the bytes of keys, values, reason
 * phrases, CIDs and frames (decoded from the input by the frame codec), however deep the nesting, when the
 * record grows past its size limit and when allocations fail.
 *
 * Input: [u8 fail_at][u8 max_kib] then ops [u8 op][operands]; strings are [u8 len][bytes] and may hold any
 * byte, keys too. The builder is only driven as its contract allows: a key inside objects, none inside
 * arrays, fields only between begin and end. */
#include <stdio.h>
#include "fuzz_conn.h"
#include "json_check.h"
#include "quic/qlog.h"

typedef struct sink_state {
    uint64_t records;
} sink_state;

static void sink(void *ud, const char *rec, size_t len)
{
    sink_state *st = ud;
    st->records++;
#ifdef FUZZ_VERBOSE
    fprintf(stderr, "%.*s", (int)len, rec);
#endif
    if (len < 2 || rec[0] != 0x1e || rec[len - 1] != '\n')
        abort(); /* not a JSON-SEQ record */
    char *z = malloc(len);
    if (!z)
        abort();
    memcpy(z, rec + 1, len - 2);
    z[len - 2] = 0;
    if (memchr(z, 0x1e, len - 2) || memchr(z, '\n', len - 2))
        abort(); /* a separator inside the text would split the record */
    const char *end = json_check_value(z, 0);
    if (!end || *json_check_ws(end))
        abort(); /* not one valid JSON text */
    free(z);
}

/* A NUL-terminated string of up to 63 input bytes (a NUL in the input ends it early). */
static const char *take_str(fuzz_in *in, char *buf)
{
    uint8_t n = 0;
    const uint8_t *p;
    (void)fuzz_u8(in, &n);
    size_t k = fuzz_take(in, &p, n & 63);
    memcpy(buf, p, k);
    buf[k] = 0;
    return buf;
}

static uint64_t take_u64(fuzz_in *in)
{
    uint64_t v = 0;
    uint8_t b;
    for (int i = 0; i < 8 && fuzz_u8(in, &b); i++)
        v = v << 8 | b;
    return v;
}

/* Frames decoded from the next [u8 len][bytes]: as many as decode. */
static size_t take_frames(fuzz_in *in, lwq_frame *f, size_t max, lwq_ack_range *ranges, size_t nranges)
{
    uint8_t n = 0;
    const uint8_t *p;
    (void)fuzz_u8(in, &n);
    size_t len = fuzz_take(in, &p, n), count = 0;
    while (len && count < max) {
        memset(&f[count], 0, sizeof(f[count]));
        f[count].ack_ranges = ranges + count * (nranges / max);
        f[count].ack_ranges_cap = nranges / max;
        ssize_t k = lwq_frame_decode(&f[count], p, len);
        if (k <= 0)
            break;
        p += k;
        len -= (size_t)k;
        count++;
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t fail_at = 0, max_kib = 0;
    if (!fuzz_u8(&in, &fail_at) || !fuzz_u8(&in, &max_kib))
        return 0;
    size_t live = fuzz_alloc_live();
    fuzz_alloc_arm(fail_at, fail_at & 3);
    sink_state st = {0};
    lwq_qlog q;
    char title[64], vantage[64];
    uint8_t gid[20];
    take_str(&in, title);
    take_str(&in, vantage);
    const uint8_t *g;
    size_t glen = fuzz_take(&in, &g, 20);
    memcpy(gid, g, glen);
    (void)lwq_qlog_init(&q, fuzz_alloc(), sink, &st, vantage, gid, glen, title);
    if (max_kib)
        q.max = (size_t)max_kib * 64; /* from 64 bytes: records that overflow are dropped whole */
    int open = 0;          /* between begin and end */
    uint8_t kinds[64];     /* 1 object, 2 array, per builder depth above data */
    int depth = 0;
    lwq_frame frames[8];
    lwq_ack_range ranges[8 * 16];
    uint8_t op;
    for (int steps = 0; steps < 4096 && fuzz_u8(&in, &op); steps++) {
        char k[64], s[64];
        const char *key = NULL;
        int keyed = (op & 0x1f) < 9 && (op & 0x1f) != 2;
        if (open && keyed && (depth == 0 || kinds[depth - 1] == 1))
            key = take_str(&in, k);
        switch (op & 0x1f) {
        case 0:
        case 1:
            if (!open || depth >= 60)
                break;
            if (op & 1)
                lwq_qlog_arr(&q, key);
            else
                lwq_qlog_obj(&q, key);
            kinds[depth++] = (op & 1) ? 2 : 1;
            break;
        case 2:
            if (open && depth > 0) {
                lwq_qlog_close(&q);
                depth--;
            }
            break;
        case 3:
            if (open)
                lwq_qlog_str(&q, key, take_str(&in, s));
            break;
        case 4:
            if (open) {
                uint8_t n = 0;
                const uint8_t *p;
                (void)fuzz_u8(&in, &n);
                size_t len = fuzz_take(&in, &p, n);
                lwq_qlog_strn(&q, key, p, len);
            }
            break;
        case 5:
            if (open)
                lwq_qlog_u64(&q, key, take_u64(&in));
            break;
        case 6:
            if (open)
                lwq_qlog_ms(&q, key, take_u64(&in));
            break;
        case 7:
            if (open)
                lwq_qlog_bool(&q, key, op >> 7);
            break;
        case 8:
            if (open) {
                uint8_t n = 0;
                const uint8_t *p;
                (void)fuzz_u8(&in, &n);
                size_t len = fuzz_take(&in, &p, n);
                lwq_qlog_hex(&q, key, p, len);
            }
            break;
        case 9:
            if (open && depth > 0 && kinds[depth - 1] == 2) { /* a QuicFrame goes in an array */
                size_t nf = take_frames(&in, frames, 8, ranges, 8 * 16);
                uint64_t exp = take_u64(&in) & 63;
                for (size_t i = 0; i < nf; i++)
                    lwq_qlog_frame(&q, &frames[i], exp);
            }
            break;
        case 10:
            if (!open) {
                lwq_tstamp t = take_u64(&in);
                lwq_qlog_begin(&q, t, take_str(&in, s));
                open = 1;
                depth = 0;
            }
            break;
        case 11:
            if (open) {
                lwq_qlog_end(&q);
                open = 0;
            }
            break;
        default:
            if (open)
                break;
            switch (op & 0x1f) {
            case 12: {
                lwq_qlog_pkt h;
                memset(&h, 0, sizeof(h));
                h.type = (lwq_pkt_type)((op >> 5) % 6);
                h.pn = take_u64(&in);
                h.pn_len = (size_t)(h.pn & 7);
                h.version = (uint32_t)take_u64(&in);
                h.key_phase = (int)(h.version & 1);
                uint8_t cl = 0;
                (void)fuzz_u8(&in, &cl);
                const uint8_t *cid;
                size_t n = fuzz_take(&in, &cid, cl % 21);
                h.dcid = (cl & 0x80) ? NULL : cid;
                h.dcid_len = n;
                h.scid = (cl & 0x40) ? cid : NULL;
                h.scid_len = n;
                h.length = (size_t)take_u64(&in);
                size_t nf = take_frames(&in, frames, 8, ranges, 8 * 16);
                lwq_tstamp t = take_u64(&in);
                uint64_t exp = take_u64(&in) & 63;
                lwq_qlog_packet(&q, t, op & 0x80, &h, frames, nf, exp);
                break;
            }
            case 13: {
                uint64_t v[9];
                for (int i = 0; i < 9; i++)
                    v[i] = take_u64(&in);
                lwq_qlog_metrics(&q, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], (unsigned)v[8]);
                break;
            }
            case 14: {
                char o[64], t[64];
                take_str(&in, o);
                take_str(&in, t);
                lwq_tstamp now = take_u64(&in);
                take_str(&in, s);
                lwq_qlog_congestion_state(&q, now, (op & 0x20) ? o : NULL, s, (op & 0x40) ? t : NULL);
                break;
            }
            case 15:
            {
                lwq_tstamp now = take_u64(&in);
                uint64_t pn = take_u64(&in);
                lwq_qlog_packet_lost(&q, now, (lwq_pkt_type)((op >> 5) % 6), pn, (op & 0x80) ? take_str(&in, s) : NULL);
            }
                break;
            case 16: {
                uint8_t n = 0;
                const uint8_t *p;
                (void)fuzz_u8(&in, &n);
                size_t len = fuzz_take(&in, &p, n);
                char o[64];
                take_str(&in, o);
                lwq_tstamp now = take_u64(&in);
                uint64_t code = take_u64(&in);
                lwq_qlog_closed(&q, now, o, op & 0x20, code, (op & 0x40) ? p : NULL, len,
                                (op & 0x80) ? take_str(&in, s) : NULL);
                break;
            }
            default:
                break;
            }
        }
    }
    if (open)
        lwq_qlog_end(&q);
    lwq_qlog_free(&q);
    fuzz_alloc_arm(0, 0);
    if (fuzz_alloc_live() != live)
        abort();
    return 0;
}
