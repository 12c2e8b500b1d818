/* The QPACK offline-interop corpus (../shared/vectors/qifs): decoding other encoders' output,
 * lwquic round trips with compression figures, and truncated / bit-flipped inputs. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "qpack/codec.h"
#include "qpack/qif.h"

#define CORPUS "vectors/qifs/encoded/qpack-05"
#define MAX_SECTION ((size_t)1 << 24)
/* Check logs every passing ck_assert through a pipe: hot loops check quietly. */
#define REQUIRE(c)                                                                                                     \
    do {                                                                                                               \
        if (!(c))                                                                                                      \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                                         \
    } while (0)

static const char *const qif_names[] = {"draft-examples", "fb-req", "fb-req-hq", "fb-resp",
                                        "fb-resp-hq",     "netbsd", "netbsd-hq"};

static void load_qif(lwq_qif *q, const char *path)
{
    size_t len, bad = 0;
    uint8_t *text = lwq_test_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    ck_assert_int_eq(lwq_qif_parse(q, lwq_test_alloc, text, len, &bad), 0);
    free(text);
}

/* Every encoded file: its name says the QIF and the table size and blocked-stream limit. */
typedef struct corpus_file {
    char path[1024], qif[64];
    size_t table, blocked;
} corpus_file;

static size_t list_corpus(corpus_file *out, size_t max)
{
    size_t n = 0;
    static const char *const dirs[] = {"ls-qpack", "nghttp3", "examples"};
    for (size_t d = 0; d < 3; d++) {
        char dir[256];
        snprintf(dir, sizeof(dir), "%s/%s", lwq_test_shared_path(CORPUS), dirs[d]);
        DIR *dp = opendir(dir);
        ck_assert_msg(dp != NULL, "no corpus at %s", dir);
        struct dirent *de;
        while ((de = readdir(dp))) {
            char *dot = strstr(de->d_name, ".out.");
            if (de->d_name[0] == '.' || !dot)
                continue;
            ck_assert_uint_lt(n, max);
            corpus_file *f = &out[n++];
            snprintf(f->path, sizeof(f->path), "%s/%s", dir, de->d_name);
            snprintf(f->qif, sizeof(f->qif), "%.*s", (int)(dot - de->d_name), de->d_name);
            ck_assert_int_eq(sscanf(dot + 5, "%zu.%zu", &f->table, &f->blocked), 2);
        }
        closedir(dp);
    }
    /* The draft's own example file: written for a 256-byte table. */
    ck_assert_uint_lt(n, max);
    snprintf(out[n].path, sizeof(out[n].path), "%s/draft-examples.out", lwq_test_shared_path(CORPUS));
    snprintf(out[n].qif, sizeof(out[n].qif), "draft-examples");
    out[n].table = 256;
    out[n++].blocked = 100;
    return n;
}

static void qif_path(char *buf, size_t cap, const char *name)
{
    if (strcmp(name, "examples") == 0)
        snprintf(buf, cap, "%s", lwq_test_data_path("qpack/examples.qif"));
    else
        snprintf(buf, cap, "%s/%s.qif", lwq_test_shared_path("vectors/qifs/qifs"), name);
}

/* Each file decodes to exactly its QIF's header lists (blocks ordered by stream). */
static void decode_corpus(int late)
{
    static corpus_file files[256];
    size_t n = list_corpus(files, 256), sections = 0, blocked = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        /* Late encoder-stream delivery blocks sections: only where the encoder allowed it. */
        if (late && (files[i].blocked == 0 || files[i].table == 0))
            continue;
        used++;
        size_t len;
        uint8_t *in = lwq_test_read_file(files[i].path, &len);
        ck_assert_ptr_nonnull(in);
        lwq_qpack_offline_opts o = {files[i].table, files[i].blocked, 0, late};
        lwq_qpack_offline_result res;
        lwq_qpack_buf out;
        lwq_qpack_buf_init(&out, lwq_test_alloc);
        int rv = lwq_qpack_offline_decode(lwq_test_alloc, in, len, &o, &out, &res);
        ck_assert_msg(rv == 0, "%s: record %zu: %s", files[i].path, res.bad_record, lwq_strerror(rv));
        lwq_qif got, want;
        char qp[512];
        qif_path(qp, sizeof(qp), files[i].qif);
        load_qif(&want, qp);
        ck_assert_int_eq(lwq_qif_parse(&got, lwq_test_alloc, out.data, out.len, NULL), 0);
        ck_assert_msg(lwq_qif_equal(&got, &want), "%s does not decode to %s", files[i].path, qp);
        ck_assert_uint_eq(res.sections, want.nblocks);
        sections += res.sections;
        blocked += res.blocked;
        lwq_qif_free(&got);
        lwq_qif_free(&want);
        lwq_qpack_buf_free(&out);
        free(in);
    }
    printf("qpack corpus%s: %zu encoded files (ls-qpack, nghttp3, RFC examples) decode to their QIFs: "
           "%zu field sections, %zu of them blocked on arrival\n",
           late ? " (encoder stream late)" : "", used, sections, blocked);
    if (late) {
        ck_assert_uint_eq(used, 3 * 2 * 3 * 2 * 2 + 2);
        ck_assert_uint_gt(blocked, 1000);
    } else {
        ck_assert_uint_eq(used, 96 + 96 + 1 + 1);
    }
}

START_TEST(test_corpus_decodes_to_qif)
{
    decode_corpus(0);
}
END_TEST

/* Each encoder-stream record delivered after the next field section: sections that need it
 * block, then resume when it arrives (RFC 9204 §2.2.1). */
START_TEST(test_corpus_blocked_and_resumed)
{
    decode_corpus(1);
}
END_TEST

/* lwquic encodes every QIF at table sizes 0, 256, 512, 4096, 0 and 100 blocked streams, ack
 * modes 0 and 1, and decodes it back to the same lists. */
START_TEST(test_round_trip_all_settings)
{
    static const size_t tables[] = {0, 256, 512, 4096}, blockeds[] = {0, 100};
    size_t runs = 0, late_runs = 0, blocked_total = 0;
    for (size_t qi = 0; qi < sizeof(qif_names) / sizeof(qif_names[0]); qi++) {
        lwq_qif q;
        char qp[512];
        qif_path(qp, sizeof(qp), qif_names[qi]);
        load_qif(&q, qp);
        size_t static_only = 0, best = SIZE_MAX;
        for (size_t t = 0; t < 4; t++)
            for (size_t b = 0; b < 2; b++)
                for (int ack = 0; ack < 2; ack++) {
                    lwq_qpack_offline_opts o = {tables[t], blockeds[b], ack, 0};
                    lwq_qpack_offline_result er, dr;
                    lwq_qpack_buf enc, dec;
                    lwq_qpack_buf_init(&enc, lwq_test_alloc);
                    lwq_qpack_buf_init(&dec, lwq_test_alloc);
                    ck_assert_int_eq(lwq_qpack_offline_encode(lwq_test_alloc, &q, &o, &enc, &er), 0);
                    ck_assert_int_eq(lwq_qpack_offline_decode(lwq_test_alloc, enc.data, enc.len, &o, &dec, &dr), 0);
                    lwq_qif got;
                    ck_assert_int_eq(lwq_qif_parse(&got, lwq_test_alloc, dec.data, dec.len, NULL), 0);
                    ck_assert_msg(lwq_qif_equal(&got, &q), "%s %zu %zu %d", qif_names[qi], tables[t], blockeds[b], ack);
                    if (getenv("LWQ_QPACK_SIZES"))
                        printf("%s %zu %zu %d %zu %zu\n", qif_names[qi], tables[t], blockeds[b], ack, er.section_bytes,
                               er.encoder_bytes);
                    if (blockeds[b] && tables[t]) {
                        /* Our own sections block and resume when the encoder stream comes late. */
                        lwq_qpack_offline_opts late = o;
                        late.late_encoder = 1;
                        lwq_qif_free(&got);
                        dec.len = 0;
                        ck_assert_int_eq(lwq_qpack_offline_decode(lwq_test_alloc, enc.data, enc.len, &late, &dec, &dr),
                                         0);
                        ck_assert_int_eq(lwq_qif_parse(&got, lwq_test_alloc, dec.data, dec.len, NULL), 0);
                        ck_assert(lwq_qif_equal(&got, &q));
                        blocked_total += dr.blocked;
                        late_runs++;
                    }
                    size_t total = er.section_bytes + er.encoder_bytes;
                    if (tables[t] == 0) {
                        ck_assert_uint_eq(er.encoder_bytes, 0);
                        static_only = total;
                    }
                    if (total < best)
                        best = total;
                    /* The dynamic table never costs more than 2% (plus a few inserts) over static only. */
                    if (!getenv("LWQ_QPACK_SIZES"))
                        ck_assert_uint_le(total, static_only + static_only / 50 + 64);
                    runs++;
                    lwq_qif_free(&got);
                    lwq_qpack_buf_free(&enc);
                    lwq_qpack_buf_free(&dec);
                }
        /* The big, repetitive header sets shrink to under half with a 4 KiB table. */
        if (strncmp(qif_names[qi], "fb-", 3) == 0 || strncmp(qif_names[qi], "netbsd", 6) == 0)
            ck_assert_msg(best * 2 < static_only, "%s: %zu vs static-only %zu", qif_names[qi], best, static_only);
        lwq_qif_free(&q);
    }
    ck_assert_uint_eq(runs, 7 * 16);
    printf("qpack round trips: %zu (plus %zu with the encoder stream late: %zu sections blocked and resumed)\n", runs,
           late_runs, blocked_total);
    ck_assert_uint_gt(blocked_total, 1000);
}
END_TEST

/* Field sections truncated at every byte and with bits flipped; encoder-stream records split
 * at every byte. Each probe ends in a clean result: an error, or for a truncation a prefix of
 * the real list. Under SAN=1 this also proves no read past the end. */
START_TEST(test_truncations_and_bit_flips)
{
    static corpus_file files[256];
    size_t n = list_corpus(files, 256);
    lwq_test_rng r;
    const lwq_rng *rng = lwq_test_rng_init(&r, 9204);
    size_t truncs = 0, flips = 0, flip_errors = 0, splits = 0;
    for (size_t i = 0; i < n; i++) {
        /* Every section of the small files and of one large file in 32; one section in 64 otherwise. */
        int small = strncmp(files[i].qif, "fb-", 3) != 0;
        int full = small || i % 32 == 0;
        size_t len;
        uint8_t *in = lwq_test_read_file(files[i].path, &len);
        ck_assert_ptr_nonnull(in);
        lwq_qpack_decoder_config dc = {files[i].table, files[i].blocked, MAX_SECTION, 1};
        lwq_qpack_decoder *d;
        ck_assert_int_eq(lwq_qpack_decoder_new(&d, lwq_test_alloc, &dc), 0);
        lwq_qpack_headers whole, part;
        lwq_qpack_headers_init(&whole, lwq_test_alloc);
        lwq_qpack_headers_init(&part, lwq_test_alloc);
        uint8_t *copy = lwq_malloc(lwq_test_alloc, 1);
        size_t section_no = 0;
        for (size_t off = 0; off + 12 <= len;) {
            uint64_t sid = lwq_get64(in + off);
            size_t rl = lwq_get32(in + off + 8);
            const uint8_t *p = in + off + 12;
            REQUIRE(rl <= len - off - 12);
            off += 12 + rl;
            if (sid == 0) {
                /* Resumable at any split: feed in random pieces. */
                size_t done = 0;
                while (done < rl) {
                    uint8_t x;
                    rng->fill(rng->ud, &x, 1);
                    size_t piece = (size_t)x % 8 + 1;
                    if (piece > rl - done)
                        piece = rl - done;
                    REQUIRE(lwq_qpack_decoder_read_encoder(d, p + done, piece) == (ssize_t)piece);
                    done += piece;
                    splits++;
                }
                uint64_t s2;
                while (lwq_qpack_decoder_next_unblocked(d, &s2, &part) == 0)
                    ;
                continue;
            }
            section_no++;
            int prv = lwq_qpack_decoder_probe(d, p, rl, &whole);
            if (prv == 0 && (full || section_no % 64 == 0)) {
                copy = lwq_realloc(lwq_test_alloc, copy, rl ? rl : 1);
                for (size_t k = 0; k < rl; k++) {
                    /* An exact-size copy so ASan sees any read past the cut. */
                    uint8_t *cut = lwq_malloc(lwq_test_alloc, k ? k : 1);
                    memcpy(cut, p, k);
                    int rv = lwq_qpack_decoder_probe(d, cut, k, &part);
                    REQUIRE(rv == LWQ_ERR_DECODE || rv == 0);
                    if (rv == 0) {
                        REQUIRE(part.count < whole.count);
                        for (size_t f = 0; f < part.count; f++) {
                            REQUIRE(part.fields[f].name_len == whole.fields[f].name_len);
                            REQUIRE(part.fields[f].value_len == whole.fields[f].value_len);
                            REQUIRE(memcmp(part.fields[f].value, whole.fields[f].value, whole.fields[f].value_len) ==
                                    0);
                        }
                    }
                    lwq_free(lwq_test_alloc, cut);
                    truncs++;
                }
                for (int b = 0; b < (full ? 8 : 1) && rl; b++) {
                    uint32_t x;
                    rng->fill(rng->ud, (uint8_t *)&x, sizeof(x));
                    memcpy(copy, p, rl);
                    copy[(x >> 3) % rl] ^= (uint8_t)(1u << (x & 7));
                    int rv = lwq_qpack_decoder_probe(d, copy, rl, &part);
                    REQUIRE(rv == 0 || rv == LWQ_ERR_DECODE || rv == LWQ_ERR_AGAIN || rv == LWQ_ERR_LIMIT);
                    flip_errors += rv != 0;
                    flips++;
                }
            }
            /* Then the real thing, which keeps the decoder state going. */
            int rv = lwq_qpack_decoder_decode(d, sid, p, rl, &part);
            REQUIRE(rv == 0 || rv == LWQ_ERR_AGAIN);
            lwq_qpack_buf ds;
            lwq_qpack_buf_init(&ds, lwq_test_alloc);
            REQUIRE(lwq_qpack_decoder_write_decoder(d, &ds) == 0);
            lwq_qpack_buf_free(&ds);
        }
        ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(d), 0);
        lwq_free(lwq_test_alloc, copy);
        lwq_qpack_headers_free(&whole);
        lwq_qpack_headers_free(&part);
        lwq_qpack_decoder_del(d);
        free(in);
    }
    printf("qpack corpus: %zu truncated sections, %zu bit flips (%zu rejected), %zu encoder-stream pieces\n", truncs,
           flips, flip_errors, splits);
    ck_assert_uint_gt(truncs, 100000);
    ck_assert_uint_gt(flip_errors, flips / 20);
}
END_TEST

/* Whole files cut at random points, or with one bit flipped, through the full offline decoder:
 * a clean error or success, never a crash, leak or out-of-bounds read. */
START_TEST(test_whole_file_damage)
{
    static corpus_file files[256];
    size_t n = list_corpus(files, 256), errors = 0, runs = 0;
    lwq_test_rng r;
    const lwq_rng *rng = lwq_test_rng_init(&r, 7541);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(files[i].qif, "fb-", 3) == 0 && i % 4)
            continue;
        size_t len;
        uint8_t *in = lwq_test_read_file(files[i].path, &len);
        ck_assert_ptr_nonnull(in);
        for (int k = 0; k < 6; k++) {
            uint32_t x;
            rng->fill(rng->ud, (uint8_t *)&x, sizeof(x));
            size_t n2 = len;
            uint8_t *buf = lwq_memdup(lwq_test_alloc, in, len);
            if (k % 2)
                buf[(x >> 3) % len] ^= (uint8_t)(1u << (x & 7));
            else
                n2 = x % len;
            lwq_qpack_offline_opts o = {files[i].table, files[i].blocked, 0, 0};
            lwq_qpack_offline_result res;
            lwq_qpack_buf out;
            lwq_qpack_buf_init(&out, lwq_test_alloc);
            int rv = lwq_qpack_offline_decode(lwq_test_alloc, buf, n2, &o, &out, &res);
            ck_assert(rv == 0 || rv == LWQ_ERR_DECODE || rv == LWQ_ERR_PROTO || rv == LWQ_ERR_LIMIT ||
                      rv == LWQ_ERR_STATE);
            if (rv == LWQ_ERR_PROTO)
                ck_assert(res.wire_error == LWQ_QPACK_DECOMPRESSION_FAILED ||
                          res.wire_error == LWQ_QPACK_ENCODER_STREAM_ERROR);
            errors += rv != 0;
            runs++;
            lwq_qpack_buf_free(&out);
            lwq_free(lwq_test_alloc, buf);
        }
        free(in);
    }
    printf("qpack corpus: %zu damaged whole files, %zu rejected cleanly\n", runs, errors);
    ck_assert_uint_gt(errors, runs / 2);
}
END_TEST

Suite *suite_qpack_corpus(void)
{
    Suite *s = suite_create("qpack_corpus");
    TCase *tc = lwq_test_tcase("qpack_corpus");
    tcase_add_test(tc, test_corpus_decodes_to_qif);
    tcase_add_test(tc, test_corpus_blocked_and_resumed);
    tcase_add_test(tc, test_round_trip_all_settings);
    tcase_add_test(tc, test_truncations_and_bit_flips);
    tcase_add_test(tc, test_whole_file_damage);
    suite_add_tcase(s, tc);
    return s;
}
