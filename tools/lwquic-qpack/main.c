/* lwquic-qpack: the QPACK offline-interop encoder and decoder (QIF files and record files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lwquic/qpack.h"
#include "qpack/qif.h"

static const char *prog = "lwquic-qpack";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s encode [-t TABLE_SIZE] [-s MAX_BLOCKED] [-a ACK_MODE] [-v] IN.qif OUT\n"
            "       %s decode [-t TABLE_SIZE] [-s MAX_BLOCKED] [-v] IN OUT.qif\n"
            "  -t  dynamic table capacity in bytes (default 0: static table only)\n"
            "  -s  blocked streams allowed (default 0)\n"
            "  -a  1: every field section is acknowledged at once, 0: never (default 0)\n"
            "  -v  print sizes to stderr\n"
            "Encoded files hold records: 8-byte big-endian stream id, 4-byte big-endian length,\n"
            "bytes; stream 0 carries encoder instructions. Decoded blocks are sorted by stream.\n",
            prog, prog);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int write_all(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int parse_num(const char *opt, const char *s, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        fprintf(stderr, "%s: bad value for %s: '%s' (0..%zu)\n", prog, opt, s, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static const char *wire_name(uint64_t code)
{
    switch (code) {
    case LWQ_QPACK_DECOMPRESSION_FAILED:
        return "QPACK_DECOMPRESSION_FAILED";
    case LWQ_QPACK_ENCODER_STREAM_ERROR:
        return "QPACK_ENCODER_STREAM_ERROR";
    case LWQ_QPACK_DECODER_STREAM_ERROR:
        return "QPACK_DECODER_STREAM_ERROR";
    }
    return "no wire error";
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *mode = argv[1];
    int encode = !strcmp(mode, "encode");
    if (!encode && strcmp(mode, "decode")) {
        fprintf(stderr, "%s: unknown command '%s'\n", prog, mode);
        usage(stderr);
        return 2;
    }
    lwq_qpack_offline_opts o = {0, 0, 0, 0};
    size_t ack = 0;
    int c, verbose = 0;
    optind = 2;
    while ((c = getopt(argc, argv, "t:s:a:v")) != -1) {
        verbose |= c == 'v';
        if ((c == 't' && parse_num("-t", optarg, (size_t)1 << 30, &o.table_size) < 0) ||
            (c == 's' && parse_num("-s", optarg, 65536, &o.max_blocked) < 0) ||
            (c == 'a' && parse_num("-a", optarg, 1, &ack) < 0))
            return 2;
        if (c == '?') {
            usage(stderr);
            return 2;
        }
    }
    if (!encode && ack) {
        fprintf(stderr, "%s: -a applies to encode only\n", prog);
        return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "%s: %s needs an input and an output file\n", prog, mode);
        usage(stderr);
        return 2;
    }
    o.ack_mode = (int)ack;
    const char *in = argv[optind], *outp = argv[optind + 1];
    size_t n;
    uint8_t *data = read_all(in, &n);
    if (!data)
        return 1;
    lwq_qpack_buf out;
    lwq_qpack_offline_result res;
    lwq_qpack_buf_init(&out, lwq_default_allocator());
    int rv;
    if (encode) {
        lwq_qif q;
        size_t bad = 0;
        rv = lwq_qif_parse(&q, lwq_default_allocator(), data, n, &bad);
        if (rv == LWQ_ERR_DECODE) {
            fprintf(stderr, "%s: %s:%zu: expected 'name<TAB>value'\n", prog, in, bad);
        } else if (rv == 0) {
            rv = lwq_qpack_offline_encode(lwq_default_allocator(), &q, &o, &out, &res);
            if (rv < 0)
                fprintf(stderr, "%s: %s: encoding block for record %zu failed: %s\n", prog, in, res.bad_record,
                        lwq_strerror(rv));
            lwq_qif_free(&q);
        }
    } else {
        rv = lwq_qpack_offline_decode(lwq_default_allocator(), data, n, &o, &out, &res);
        if (rv < 0)
            fprintf(stderr, "%s: %s: record %zu: %s%s%s\n", prog, in, res.bad_record,
                    rv == LWQ_ERR_DECODE ? "truncated record or field section never unblocked" : lwq_strerror(rv),
                    res.wire_error ? ", " : "", res.wire_error ? wire_name(res.wire_error) : "");
    }
    free(data);
    if (rv == 0 && verbose)
        fprintf(stderr, "%s: %zu field sections: %zu section bytes, %zu encoder-stream bytes, %zu blocked\n", in,
                res.sections, res.section_bytes, res.encoder_bytes, res.blocked);
    if (rv == 0)
        rv = write_all(outp, out.data ? out.data : (const uint8_t *)"", out.len);
    lwq_qpack_buf_free(&out);
    return rv == 0 ? 0 : 1;
}
