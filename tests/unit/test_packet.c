#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/packet.h"
#include "quic/varint.h"
#include "tls/keysched.h"

static void write_seed(const char *name, const uint8_t *p, size_t n)
{
    const char *dir = getenv("LWQ_WRITE_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(p, 1, n, fp);
    fclose(fp);
}

/* RFC 9000 §A.2 and §A.3 examples */
START_TEST(test_pn_appendix_a)
{
    ck_assert_uint_eq(lwq_pn_encode_len(0xac5c02, 0xabe8b3), 2);
    ck_assert_uint_eq(lwq_pn_encode_len(0xace8fe, 0xabe8b3), 3);
    ck_assert_uint_eq(lwq_pn_decode(0xa82f30ea, 0x9b32, 2), 0xa82f9b32);
    /* the encodings the A.2 example chose decode back with the peer at the acknowledged number */
    ck_assert_uint_eq(lwq_pn_decode(0xabe8b3, 0x5c02, 2), 0xac5c02);
    ck_assert_uint_eq(lwq_pn_decode(0xabe8b3, 0xace8fe, 3), 0xace8fe);
    /* nothing acknowledged yet */
    ck_assert_uint_eq(lwq_pn_encode_len(0, LWQ_PN_NONE), 1);
    ck_assert_uint_eq(lwq_pn_encode_len(127, LWQ_PN_NONE), 1);
    ck_assert_uint_eq(lwq_pn_encode_len(128, LWQ_PN_NONE), 2);
    ck_assert_uint_eq(lwq_pn_decode(LWQ_PN_NONE, 0, 1), 0);
    ck_assert_uint_eq(lwq_pn_decode(LWQ_PN_NONE, 0xff, 1), 0xff);
    /* near the top of the packet number space the window does not wrap past 2^62 */
    uint64_t top = (UINT64_C(1) << 62) - 1;
    ck_assert_uint_eq(lwq_pn_decode(top - 1, top & 0xff, 1), top);
    ck_assert_uint_eq(lwq_pn_decode(top - 200, 0x00, 1), (top - 200 + 1 + 0x80) & ~(uint64_t)0xff);
    /* wraps below and above the expected number */
    ck_assert_uint_eq(lwq_pn_decode(0x1ff, 0x01, 1), 0x201);
    ck_assert_uint_eq(lwq_pn_decode(0x200, 0xff, 1), 0x1ff);
    ck_assert_uint_eq(lwq_pn_encode_len(0x1000000, 0), 4);
}
END_TEST

/* Any packet number chosen by lwq_pn_encode_len decodes back at every receiver state between the
 * largest acknowledged and the packet before it. */
START_TEST(test_pn_round_trip_random)
{
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 9000);
    for (int i = 0; i < 20000; i++) {
        uint64_t r[3];
        rng->fill(rng->ud, (uint8_t *)r, sizeof(r));
        uint64_t acked = r[0] >> (2 + r[2] % 62);
        uint64_t full = acked + 1 + (r[1] >> (36 + r[2] % 28));
        size_t len = lwq_pn_encode_len(full, acked);
        ck_assert_uint_ge(len, 1);
        ck_assert_uint_le(len, 4);
        uint64_t trunc = full & ((UINT64_C(1) << (8 * len)) - 1);
        if (full - acked > (UINT64_C(1) << 31))
            continue; /* beyond what 4 bytes can carry: the sender must not get there */
        ck_assert_uint_eq(lwq_pn_decode(acked, trunc, len), full);
        ck_assert_uint_eq(lwq_pn_decode(full - 1, trunc, len), full);
        ck_assert_uint_eq(lwq_pn_decode(acked + (full - acked) / 2, trunc, len), full);
    }
}
END_TEST

static const uint8_t dcid8[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t scid5[] = {'s', '_', 'c', 'i', 'd'};

/* Writes one packet (header + fake payload + fake tag) and returns its length. */
static size_t write_packet(uint8_t *out, size_t cap, lwq_pkt_type t, uint32_t version, uint64_t pn, size_t pn_len,
                           size_t payload)
{
    lwq_pkt_hdr_out h = {.type = t,
                         .version = version,
                         .dcid = dcid8,
                         .dcid_len = sizeof(dcid8),
                         .scid = scid5,
                         .scid_len = sizeof(scid5),
                         .token = (const uint8_t *)"tok",
                         .token_len = t == LWQ_PKT_INITIAL ? 3 : 0,
                         .pn = pn,
                         .pn_len = pn_len,
                         .payload_len = payload,
                         .tag_len = 16,
                         .key_phase = 1};
    ssize_t n = lwq_pkt_hdr_encode(out, cap, &h);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, lwq_pkt_hdr_encoded_len(&h));
    for (size_t i = 0; i < payload + 16; i++)
        out[n + i] = (uint8_t)(0xa0 + i);
    return (size_t)n + payload + 16;
}

START_TEST(test_header_round_trip_v1_v2)
{
    static const uint32_t versions[] = {LWQ_QUIC_V1, LWQ_QUIC_V2};
    static const lwq_pkt_type types[] = {LWQ_PKT_INITIAL, LWQ_PKT_0RTT, LWQ_PKT_HANDSHAKE, LWQ_PKT_1RTT};
    /* RFC 9000 §17.2 and RFC 9369 §3.2: the type bits of byte 0 */
    static const uint8_t bits[2][3] = {{0, 1, 2}, {1, 2, 3}};
    for (size_t v = 0; v < 2; v++) {
        for (size_t t = 0; t < 4; t++) {
            for (size_t pn_len = 1; pn_len <= 4; pn_len++) {
                uint8_t buf[256];
                size_t n = write_packet(buf, sizeof(buf), types[t], versions[v], 0x01020304, pn_len, 20);
                if (t < 3)
                    ck_assert_uint_eq((buf[0] >> 4) & 3, bits[v][t]);
                ck_assert_uint_eq(buf[0] & 3, pn_len - 1);
                char name[32];
                snprintf(name, sizeof(name), "hdr_v%zu_t%zu_pn%zu", v + 1, t, pn_len);
                if (pn_len == 2 || t == 0)
                    write_seed(name, buf, n);
                uint8_t *exact = lwq_memdup(lwq_test_alloc, buf, n);
                lwq_pkt_hdr h;
                ck_assert_int_eq(lwq_pkt_hdr_decode(&h, exact, n, sizeof(dcid8)), (ssize_t)n);
                ck_assert_int_eq(h.type, types[t]);
                ck_assert_uint_eq(h.pkt_len, n);
                ck_assert_uint_eq(h.dcid_len, 8);
                ck_assert_mem_eq(h.dcid, dcid8, 8);
                uint64_t pn = 0;
                for (size_t i = 0; i < pn_len; i++)
                    pn = pn << 8 | exact[h.pn_offset + i];
                ck_assert_uint_eq(pn, 0x01020304 & ((UINT64_C(1) << (8 * pn_len)) - 1));
                if (types[t] == LWQ_PKT_1RTT) {
                    ck_assert_uint_eq(h.version, 0);
                    ck_assert_uint_eq(h.pn_offset, 9);
                    ck_assert_uint_eq(exact[0] & 0x04, 0x04); /* key phase */
                } else {
                    ck_assert_uint_eq(h.version, versions[v]);
                    ck_assert_uint_eq(h.scid_len, 5);
                    ck_assert_mem_eq(h.scid, scid5, 5);
                    ck_assert_uint_eq(h.length, pn_len + 20 + 16);
                    ck_assert_uint_eq(h.token_len, types[t] == LWQ_PKT_INITIAL ? 3 : 0);
                    /* every truncation of a long header is an error, never a read past the end */
                    for (size_t k = 0; k < n; k++) {
                        lwq_pkt_hdr hk;
                        ck_assert_int_lt(lwq_pkt_hdr_decode(&hk, exact, k, 8), 0);
                    }
                }
                lwq_free(lwq_test_alloc, exact);
            }
        }
    }
}
END_TEST

START_TEST(test_header_errors)
{
    uint8_t buf[256];
    lwq_pkt_hdr h;
    size_t n = write_packet(buf, sizeof(buf), LWQ_PKT_HANDSHAKE, LWQ_QUIC_V1, 7, 2, 30);
    /* RFC 9000 §17.2: fixed bit 0 */
    buf[0] &= (uint8_t)~0x40;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, buf, n, 8), LWQ_ERR_DECODE);
    buf[0] |= 0x40;
    /* a Length past the end of the datagram */
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, buf, n - 1, 8), LWQ_ERR_DECODE);
    /* a 21-byte connection ID in v1 */
    uint8_t big[64] = {0xe0, 0, 0, 0, 1, 21};
    big[6 + 21] = 0;
    big[6 + 21 + 1] = 0x01;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, big, 6 + 21 + 1 + 1 + 2, 8), LWQ_ERR_DECODE);
    /* RFC 8999: an unknown version exposes its CIDs, whatever their length, for Version Negotiation */
    memset(big, 0, sizeof(big));
    big[0] = 0xc0;
    lwq_put32(big + 1, 0x1a2a3a4a);
    big[5] = 30;
    memset(big + 6, 0xd1, 30);
    big[36] = 2;
    big[37] = 0x51;
    big[38] = 0x52;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, big, 40, 8), LWQ_ERR_UNSUPPORTED);
    ck_assert_uint_eq(h.version, 0x1a2a3a4a);
    ck_assert(lwq_version_is_grease(0x1a2a3a4a));
    ck_assert(!lwq_version_is_grease(LWQ_QUIC_V1));
    ck_assert_uint_eq(h.dcid_len, 30);
    ck_assert_uint_eq(h.scid_len, 2);
    ck_assert_uint_eq(h.scid[1], 0x52);
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, big, 38, 8), LWQ_ERR_TRUNCATED);
    /* short header: fixed bit, and too short for our CID length */
    uint8_t s[] = {0x41, 1, 2, 3};
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, s, 4, 3), 4);
    ck_assert_uint_eq(h.pn_offset, 4);
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, s, 4, 8), LWQ_ERR_TRUNCATED);
    s[0] = 0x01;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, s, 4, 3), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, s, 0, 3), LWQ_ERR_TRUNCATED);
    /* an Initial token running past the end */
    uint8_t init[] = {0xc0, 0, 0, 0, 1, 0, 0, 0x10, 1, 2};
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, init, sizeof(init), 0), LWQ_ERR_TRUNCATED);
    /* encoder refusals */
    lwq_pkt_hdr_out o = {.type = LWQ_PKT_INITIAL, .version = LWQ_QUIC_V1, .pn_len = 5};
    ck_assert_int_eq(lwq_pkt_hdr_encode(buf, sizeof(buf), &o), LWQ_ERR_INVAL);
    o.pn_len = 1;
    o.dcid_len = 21;
    o.dcid = big;
    ck_assert_int_eq(lwq_pkt_hdr_encode(buf, sizeof(buf), &o), LWQ_ERR_INVAL);
    o.dcid_len = 0;
    o.version = 0x1a2a3a4a;
    ck_assert_int_eq(lwq_pkt_hdr_encode(buf, sizeof(buf), &o), LWQ_ERR_INVAL);
    o.version = LWQ_QUIC_V1;
    o.type = LWQ_PKT_RETRY;
    ck_assert_int_eq(lwq_pkt_hdr_encode(buf, sizeof(buf), &o), LWQ_ERR_INVAL);
    o.type = LWQ_PKT_INITIAL;
    size_t len = lwq_pkt_hdr_encoded_len(&o);
    ck_assert_uint_eq(len, 7 + 1 + 2 + 1);
    for (size_t cap = 0; cap < len; cap++)
        ck_assert_int_eq(lwq_pkt_hdr_encode(buf, cap, &o), LWQ_ERR_NOBUF);
    /* a Length that needs 4 bytes */
    o.payload_len = 20000;
    ck_assert_uint_eq(lwq_pkt_hdr_encoded_len(&o), 7 + 1 + 4 + 1);
}
END_TEST

/* RFC 9000 §12.2: Initial, Handshake and 1-RTT packets in one datagram */
START_TEST(test_coalesced_split)
{
    uint8_t d[1200];
    size_t lens[3], off = 0;
    lens[0] = write_packet(d, sizeof(d), LWQ_PKT_INITIAL, LWQ_QUIC_V2, 0, 4, 100);
    off += lens[0];
    lens[1] = write_packet(d + off, sizeof(d) - off, LWQ_PKT_HANDSHAKE, LWQ_QUIC_V2, 1, 1, 300);
    off += lens[1];
    lens[2] = write_packet(d + off, sizeof(d) - off, LWQ_PKT_1RTT, LWQ_QUIC_V2, 2, 2, 40);
    off += lens[2];
    write_seed("coalesced", d, off);
    static const lwq_pkt_type want[] = {LWQ_PKT_INITIAL, LWQ_PKT_HANDSHAKE, LWQ_PKT_1RTT};
    uint8_t *exact = lwq_memdup(lwq_test_alloc, d, off);
    size_t pos = 0, count = 0;
    while (pos < off) {
        lwq_pkt_hdr h;
        ssize_t r = lwq_pkt_hdr_decode(&h, exact + pos, off - pos, 8);
        ck_assert_int_gt(r, 0);
        ck_assert_uint_lt(count, 3);
        ck_assert_int_eq(h.type, want[count]);
        ck_assert_uint_eq((size_t)r, lens[count]);
        pos += (size_t)r;
        count++;
    }
    ck_assert_uint_eq(count, 3);
    lwq_free(lwq_test_alloc, exact);
}
END_TEST

START_TEST(test_version_negotiation)
{
    static const uint32_t vs[] = {LWQ_QUIC_V2, LWQ_QUIC_V1, 0x0a1a2a3a};
    uint8_t b[128], cid21[21];
    memset(cid21, 0x21, sizeof(cid21));
    ssize_t n = lwq_vn_encode(b, sizeof(b), cid21, 21, scid5, 5, vs, 3, 0x15);
    ck_assert_int_eq(n, 7 + 21 + 5 + 12);
    ck_assert_uint_eq(b[0], 0xc0 | 0x15);
    for (ssize_t cap = 0; cap < n; cap++)
        ck_assert_int_eq(lwq_vn_encode(b, (size_t)cap, cid21, 21, scid5, 5, vs, 3, 0), LWQ_ERR_NOBUF);
    write_seed("vn", b, (size_t)n);
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, b, (size_t)n, 8), n);
    ck_assert_int_eq(h.type, LWQ_PKT_VN);
    ck_assert_uint_eq(h.dcid_len, 21);
    ck_assert_uint_eq(h.n_versions, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(lwq_vn_version(&h, i), vs[i]);
    ck_assert_uint_eq(lwq_vn_version(&h, 3), 0);
    /* a list that is not a whole number of versions */
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, b, (size_t)n - 1, 8), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_vn_encode(b, sizeof(b), cid21, 21, scid5, 5, vs, 0, 0), LWQ_ERR_INVAL);
}
END_TEST

START_TEST(test_retry_build_verify)
{
    static const uint8_t token[] = "an address validation token";
    static const uint32_t versions[] = {LWQ_QUIC_V1, LWQ_QUIC_V2};
    for (size_t v = 0; v < 2; v++) {
        uint8_t b[128];
        ssize_t n =
            lwq_retry_encode(b, sizeof(b), versions[v], scid5, 5, dcid8 + 1, 7, token, sizeof(token), dcid8, 8, 0x0a);
        ck_assert_int_eq(n, 7 + 5 + 7 + (ssize_t)sizeof(token) + 16);
        write_seed(v ? "retry_v2" : "retry_v1", b, (size_t)n);
        lwq_pkt_hdr h;
        ck_assert_int_eq(lwq_pkt_hdr_decode(&h, b, (size_t)n, 8), n);
        ck_assert_int_eq(h.type, LWQ_PKT_RETRY);
        ck_assert_uint_eq(h.token_len, sizeof(token));
        ck_assert_mem_eq(h.token, token, sizeof(token));
        ck_assert_uint_eq(b[0] & 0x0f, 0x0a);
        ck_assert_int_eq(lwq_retry_verify(&h, b, dcid8, 8), 0);
        /* the tag binds the original DCID and every byte of the packet */
        ck_assert_int_eq(lwq_retry_verify(&h, b, dcid8, 7), LWQ_ERR_DECRYPT);
        for (ssize_t i = 0; i < n; i++) {
            b[i] ^= 0x01;
            lwq_pkt_hdr h2;
            if (lwq_pkt_hdr_decode(&h2, b, (size_t)n, 8) == n && h2.type == LWQ_PKT_RETRY && h2.token_len)
                ck_assert_int_eq(lwq_retry_verify(&h2, b, dcid8, 8), LWQ_ERR_DECRYPT);
            b[i] ^= 0x01;
        }
        for (ssize_t k = 0; k < n; k++) {
            lwq_pkt_hdr hk;
            ssize_t r = lwq_pkt_hdr_decode(&hk, b, (size_t)k, 8);
            if (r > 0)
                ck_assert_int_ne(lwq_retry_verify(&hk, b, dcid8, 8), 0);
        }
    }
    /* a Retry without a token is refused at both ends (RFC 9000 §17.2.5.2) */
    uint8_t b[64];
    ck_assert_int_eq(lwq_retry_encode(b, sizeof(b), LWQ_QUIC_V1, NULL, 0, scid5, 5, NULL, 0, dcid8, 8, 0),
                     LWQ_ERR_INVAL);
    uint8_t empty[7 + 5 + 16] = {0xf0, 0, 0, 0, 1, 0, 5, 's', '_', 'c', 'i', 'd'};
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, empty, sizeof(empty), 8), (ssize_t)sizeof(empty));
    ck_assert_int_eq(h.type, LWQ_PKT_RETRY);
    ck_assert_int_eq(lwq_retry_verify(&h, empty, dcid8, 8), LWQ_ERR_DECODE);
    ck_assert_int_eq(lwq_retry_encode(b, 20, LWQ_QUIC_V1, NULL, 0, scid5, 5, b, 5, dcid8, 8, 0), LWQ_ERR_NOBUF);
}
END_TEST

START_TEST(test_stateless_reset)
{
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 10);
    uint8_t tokens[3][16];
    for (int i = 0; i < 3; i++)
        memset(tokens[i], 0x30 + i, 16);
    uint8_t b[64];
    ck_assert_int_eq(lwq_stateless_reset_encode(b, sizeof(b), 20, tokens[1], rng), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_stateless_reset_encode(b, 40, 41, tokens[1], rng), LWQ_ERR_NOBUF);
    ck_assert_int_eq(lwq_stateless_reset_encode(b, sizeof(b), 43, tokens[1], rng), 43);
    write_seed("stateless_reset", b, 43);
    /* RFC 9000 §10.3: short-header form, fixed bit set, token last */
    ck_assert_uint_eq(b[0] & 0xc0, 0x40);
    ck_assert_mem_eq(b + 27, tokens[1], 16);
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 43, (const uint8_t(*)[16])tokens, 3), 1);
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 43, (const uint8_t(*)[16])tokens, 1), -1);
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 43, (const uint8_t(*)[16])tokens + 2, 1), -1);
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 43, NULL, 0), -1);
    b[42] ^= 1;
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 43, (const uint8_t(*)[16])tokens, 3), -1);
    b[42] ^= 1;
    /* too short to be a stateless reset */
    ck_assert_int_eq(lwq_stateless_reset_encode(b, sizeof(b), 21, tokens[2], rng), 21);
    ck_assert_int_eq(lwq_stateless_reset_detect(b, 21, (const uint8_t(*)[16])tokens, 3), 2);
    ck_assert_int_eq(lwq_stateless_reset_detect(b + 1, 20, (const uint8_t(*)[16])tokens, 3), -1);
    /* randomness differs between resets */
    uint8_t c[64];
    lwq_stateless_reset_encode(c, sizeof(c), 21, tokens[2], rng);
    ck_assert(memcmp(b + 1, c + 1, 4) != 0);
}
END_TEST

START_TEST(test_cid_helpers)
{
    lwq_cid c;
    uint8_t big[21] = {0};
    ck_assert_int_eq(lwq_cid_set(&c, big, 21), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_cid_set(&c, scid5, 5), 0);
    ck_assert(lwq_cid_eq(&c, scid5, 5));
    ck_assert(!lwq_cid_eq(&c, scid5, 4));
    ck_assert(!lwq_cid_eq(&c, dcid8, 5));
    ck_assert_int_eq(lwq_cid_set(&c, NULL, 0), 0);
    ck_assert(lwq_cid_eq(&c, NULL, 0));
    ck_assert(lwq_version_supported(LWQ_QUIC_V2) && !lwq_version_supported(0xff00001d));
}
END_TEST

/* The Retry integrity tag covers at most 4096 bytes of Retry packet: longer inputs are refused
 * whatever the ODCID length, never truncated or overrun. */
START_TEST(test_retry_tag_long_input)
{
    static uint8_t retry[4200];
    uint8_t odcid[20], tag[LWQ_RETRY_TAG_LEN];
    memset(odcid, 0x5a, sizeof(odcid));
    memset(retry, 0xf0, sizeof(retry));
    for (size_t olen = 0; olen <= 20; olen += 4) {
        ck_assert_int_eq(lwq_quic_retry_tag(LWQ_QUIC_V1, odcid, olen, retry, 4096, tag), 0);
        ck_assert_int_eq(lwq_quic_retry_tag(LWQ_QUIC_V1, odcid, olen, retry, 4097, tag), LWQ_ERR_INVAL);
        ck_assert_int_eq(lwq_quic_retry_tag(LWQ_QUIC_V2, odcid, olen, retry, sizeof(retry), tag), LWQ_ERR_INVAL);
    }
    ck_assert_int_eq(lwq_quic_retry_tag(LWQ_QUIC_V1, odcid, 21, retry, 10, tag), LWQ_ERR_INVAL);
    /* a Retry with a token too long for the tag is not built */
    static uint8_t out[4400], token[4100];
    memset(token, 1, sizeof(token));
    ck_assert_int_eq(lwq_retry_encode(out, sizeof(out), LWQ_QUIC_V1, odcid, 8, odcid, 8, token, sizeof(token), odcid,
                                      8, 0),
                     LWQ_ERR_INVAL);
}
END_TEST

Suite *suite_packet(void)
{
    Suite *s = suite_create("packet");
    TCase *tc = lwq_test_tcase("packet");
    tcase_add_test(tc, test_pn_appendix_a);
    tcase_add_test(tc, test_pn_round_trip_random);
    tcase_add_test(tc, test_header_round_trip_v1_v2);
    tcase_add_test(tc, test_header_errors);
    tcase_add_test(tc, test_coalesced_split);
    tcase_add_test(tc, test_version_negotiation);
    tcase_add_test(tc, test_retry_build_verify);
    tcase_add_test(tc, test_stateless_reset);
    tcase_add_test(tc, test_cid_helpers);
    tcase_add_test(tc, test_retry_tag_long_input);
    suite_add_tcase(s, tc);
    return s;
}
