/* QUIC-LB connection IDs: draft-ietf-quic-load-balancers Appendix B (test vectors) and §5.4.2's
 * encryption example as known answers, round trips of every length, the textual configuration, the
 * shard encoding, and a statistical check that encrypted CIDs do not show their server ID. */
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "lwquic/quic_lb.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

typedef struct vec {
    unsigned cr;
    const char *sid, *nonce, *cid;
    int key;
} vec;

/* Appendix B. Two vectors as printed do not agree with themselves; the comments say how they are read. */
static const vec vectors[] = {
    {0, "c4605e", "4504cc4f", "07c4605e4504cc4f", 0},
    /* printed: nonce 3487d970b (nine digits), cid 20a350d28b4203487d970b; a five-byte nonce with the
     * first octet 0x2a (config 1, length 10) is the reading that fits every other field */
    {1, "350d28b420", "03487d970b", "2a350d28b42003487d970b", 0},
    {0, "ed793a", "ee080dbf", "0720b1d07b359d3c", 1},
    {1, "ed793a51d49b8f5fab65", "ee080dbf48", "2fcc381bc74cb4fbad2823a3d1f8fed2", 1},
    {2, "ed793a51d49b8f5f", "ee080dbf48c0d1e5", "504dd2d05a7b0de9b2b9907afb5ecf8cc3", 1},
    /* printed with cr_bits 3, but its first octet 0x12 is config 0, length 18 */
    {0, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc", 1},
};

static void config_of(const vec *v, lwq_quic_lb *lb)
{
    uint8_t nonce[32];
    memset(lb, 0, sizeof(*lb));
    lb->config_id = (uint8_t)v->cr;
    lb->server_id_len = (uint8_t)unhex(v->sid, lb->server_id);
    lb->nonce_len = (uint8_t)unhex(v->nonce, nonce);
    if (v->key) {
        lb->has_key = 1;
        unhex("8f95f09245765f80256934e50c66207f", lb->key);
    }
}

START_TEST(test_vectors)
{
    const vec *v = &vectors[_i];
    lwq_quic_lb lb;
    config_of(v, &lb);
    uint8_t nonce[32], want[32], cid[32], sid[16], back[32];
    unhex(v->nonce, nonce);
    size_t n = unhex(v->cid, want);
    ck_assert_uint_eq(lwq_quic_lb_cid_len(&lb), n);
    ck_assert_int_eq(lwq_quic_lb_encode(&lb, NULL, nonce, cid), 0);
    ck_assert_mem_eq(cid, want, n);
    memset(sid, 0, sizeof(sid));
    ck_assert_int_eq(lwq_quic_lb_decode(&lb, want, n, sid, back), 0);
    ck_assert_mem_eq(sid, lb.server_id, lb.server_id_len);
    ck_assert_mem_eq(back, nonce, lb.nonce_len);
    ck_assert_int_eq(lwq_quic_lb_decode(&lb, want, n - 1, sid, NULL), LWQ_ERR_TRUNCATED);
    want[0] ^= 0x20; /* another configuration's rotation bits */
    ck_assert_int_eq(lwq_quic_lb_decode(&lb, want, n, sid, NULL), LWQ_ERR_NOT_FOUND);
}
END_TEST

/* §5.4.2's worked example: server ID 31441a, nonce 9c69c275, seven bytes (the odd, nibble-split case). */
START_TEST(test_encryption_example)
{
    lwq_quic_lb lb;
    memset(&lb, 0, sizeof(lb));
    lb.server_id_len = 3;
    lb.nonce_len = 4;
    lb.has_key = 1;
    unhex("31441a", lb.server_id);
    unhex("fdf726a9893ec05c0632d3956680baf0", lb.key);
    uint8_t nonce[4], cid[8], want[8];
    unhex("9c69c275", nonce);
    unhex("0767947d29be054a", want);
    ck_assert_int_eq(lwq_quic_lb_encode(&lb, NULL, nonce, cid), 0);
    ck_assert_mem_eq(cid, want, 8);
}
END_TEST

/* Every server ID and nonce length, with and without a key: decode(encode(x)) == x, and a key
 * changes the bytes. */
START_TEST(test_round_trip_all_lengths)
{
    uint8_t seed = 1;
    for (unsigned s = 1; s <= 15; s++)
        for (unsigned nl = 4; s + nl <= 19; nl++)
            for (int key = 0; key < 2; key++) {
                lwq_quic_lb lb;
                memset(&lb, 0, sizeof(lb));
                lb.config_id = (uint8_t)((s + nl) % 7);
                lb.server_id_len = (uint8_t)s;
                lb.nonce_len = (uint8_t)nl;
                lb.has_key = (uint8_t)key;
                uint8_t nonce[20], cid[20], sid[16], back[20];
                for (size_t i = 0; i < sizeof(lb.key); i++)
                    lb.key[i] = (uint8_t)(seed * 31 + i);
                for (unsigned i = 0; i < s; i++)
                    lb.server_id[i] = seed++;
                for (unsigned i = 0; i < nl; i++)
                    nonce[i] = seed++;
                ck_assert_int_eq(lwq_quic_lb_encode(&lb, NULL, nonce, cid), 0);
                ck_assert_uint_eq(cid[0], lb.config_id << 5 | (s + nl));
                ck_assert_int_eq(memcmp(cid + 1, lb.server_id, s) != 0, key);
                ck_assert_int_eq(lwq_quic_lb_decode(&lb, cid, 1 + s + nl, sid, back), 0);
                ck_assert_mem_eq(sid, lb.server_id, s);
                ck_assert_mem_eq(back, nonce, nl);
            }
}
END_TEST

START_TEST(test_parse)
{
    lwq_quic_lb lb;
    ck_assert_int_eq(lwq_quic_lb_parse(&lb, "cr=1,sid=0102,sidlen=2,noncelen=6"), 0);
    ck_assert_uint_eq(lb.config_id, 1);
    ck_assert_uint_eq(lb.server_id_len, 2);
    ck_assert_uint_eq(lb.server_id[0], 1);
    ck_assert_uint_eq(lb.server_id[1], 2);
    ck_assert_uint_eq(lb.nonce_len, 6);
    ck_assert_uint_eq(lb.has_key, 0);
    ck_assert_uint_eq(lwq_quic_lb_cid_len(&lb), 9);
    ck_assert_int_eq(lwq_quic_lb_parse(&lb, "noncelen=8,key=8F95F09245765F80256934E50C66207F,sid=ed793a51d49b8f5f,cr=2"), 0);
    ck_assert_uint_eq(lb.has_key, 1);
    ck_assert_uint_eq(lb.key[0], 0x8f);
    ck_assert_uint_eq(lb.key[15], 0x7f);
    static const char *bad[] = {
        "",                                  /* nothing */
        "cr=0,sid=01",                       /* no nonce length */
        "cr=7,sid=01,noncelen=4",            /* 0b111 is reserved for unroutable CIDs */
        "cr=0,sid=01,noncelen=3",            /* nonce below 4 */
        "cr=0,sid=0102,sidlen=3,noncelen=6", /* sidlen disagrees */
        "cr=0,sid=010,noncelen=6",           /* odd hex */
        "cr=0,sid=0x01,noncelen=6",
        "cr=0,sid=01020304050607080910,noncelen=10", /* 10 + 10 > 19 */
        "cr=0,sid=01,noncelen=6,key=0011",   /* short key */
        "cr=0,sid=01,noncelen=6,colour=red",
        "cr=0,sid=01,noncelen=6,",
        "cr=0;sid=01;noncelen=6",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(lwq_quic_lb_parse(&lb, bad[i]) == LWQ_ERR_INVAL, "accepted '%s'", bad[i]);
}
END_TEST

/* Shard s of a server issues its server ID plus s in the last octet; another server's CIDs are not its. */
START_TEST(test_shard)
{
    for (int key = 0; key < 2; key++) {
        lwq_quic_lb lb;
        ck_assert_int_eq(lwq_quic_lb_parse(&lb, key ? "cr=0,sid=0310,noncelen=6,key=000102030405060708090a0b0c0d0e0f"
                                                    : "cr=0,sid=0310,noncelen=6"),
                         0);
        uint8_t nonce[6] = {9, 8, 7, 6, 5, 4}, cid[9], sid[2] = {0x03, 0x10};
        for (unsigned s = 0; s < 4; s++) {
            sid[1] = (uint8_t)(0x10 + s);
            ck_assert_int_eq(lwq_quic_lb_encode(&lb, sid, nonce, cid), 0);
            ck_assert_int_eq(lwq_quic_lb_shard(&lb, cid, sizeof(cid)), (int)s);
        }
        sid[0] = 0x04; /* another host */
        ck_assert_int_eq(lwq_quic_lb_encode(&lb, sid, nonce, cid), 0);
        ck_assert_int_eq(lwq_quic_lb_shard(&lb, cid, sizeof(cid)), LWQ_ERR_NOT_FOUND);
    }
}
END_TEST

/* §9.6 (CID entropy), the check: with a key, the CIDs of two servers cannot be told apart by
 * their bytes. Over 4096 random nonces per server, the high nibble of each ciphertext byte is uniform
 * for both servers (chi-square over its 16 values under the 0.1% critical value, with a fixed seed),
 * while without a key the server ID bytes are constant (the control). */
static void nibble_counts(const lwq_quic_lb *lb, const uint8_t *sid, size_t pos, unsigned counts[16], uint32_t *rng)
{
    memset(counts, 0, 16 * sizeof(counts[0]));
    for (int i = 0; i < 4096; i++) {
        uint8_t nonce[16], cid[20];
        for (size_t k = 0; k < lb->nonce_len; k++) {
            *rng = *rng * 1103515245u + 12345u;
            nonce[k] = (uint8_t)(*rng >> 16);
        }
        ck_assert_int_eq(lwq_quic_lb_encode(lb, sid, nonce, cid), 0);
        counts[cid[pos] >> 4]++;
    }
}

static double chi2(const unsigned c[16])
{
    double x = 0, e = 4096.0 / 16;
    for (int i = 0; i < 16; i++)
        x += (c[i] - e) * (c[i] - e) / e;
    return x;
}

START_TEST(test_encrypted_hides_server_id)
{
    static const char *cfgs[] = {"cr=0,sid=0102,noncelen=6,key=8f95f09245765f80256934e50c66207f",
                                 "cr=0,sid=01020304050607,noncelen=9,key=8f95f09245765f80256934e50c66207f",
                                 "cr=0,sid=0102,noncelen=6"};
    for (size_t k = 0; k < 3; k++) {
        lwq_quic_lb lb;
        ck_assert_int_eq(lwq_quic_lb_parse(&lb, cfgs[k]), 0);
        uint8_t other[16];
        memcpy(other, lb.server_id, lb.server_id_len);
        other[0] ^= 0x5a;
        uint32_t rng = 7;
        for (size_t pos = 1; pos < lwq_quic_lb_cid_len(&lb); pos++) {
            unsigned a[16], b[16];
            nibble_counts(&lb, NULL, pos, a, &rng);
            nibble_counts(&lb, other, pos, b, &rng);
            double xa = chi2(a), xb = chi2(b);
            if (lb.has_key) {
                ck_assert_msg(xa < 37.7 && xb < 37.7, "byte %zu: chi2 %.1f / %.1f", pos, xa, xb); /* 15 dof, 0.1% */
            } else if (pos <= lb.server_id_len) {
                ck_assert_msg(xa > 1000, "plaintext server ID byte %zu looks random", pos); /* the control */
            }
        }
    }
}
END_TEST

Suite *suite_quic_lb(void)
{
    Suite *s = suite_create("quic_lb");
    TCase *tc = lwq_test_tcase("quic_lb");
    tcase_add_loop_test(tc, test_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
    tcase_add_test(tc, test_encryption_example);
    tcase_add_test(tc, test_round_trip_all_lengths);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_shard);
    tcase_add_test(tc, test_encrypted_hides_server_id);
    suite_add_tcase(s, tc);
    return s;
}
