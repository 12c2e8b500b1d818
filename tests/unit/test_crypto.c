#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/crypto.h"

int lwq_aead_init_portable(lwq_aead *ctx, lwq_aead_alg alg, const uint8_t *key);

/* Vector files in tests/data/crypto: "Name = hex" lines, records separated by blank lines. */
#define MAX_FIELDS 8
typedef struct vrec {
    const char *name[MAX_FIELDS];
    const char *val[MAX_FIELDS];
    int n;
} vrec;

typedef struct vfile {
    char *text;
    vrec recs[64];
    int n;
} vfile;

static void vfile_load(vfile *f, const char *rel)
{
    size_t len;
    uint8_t *raw = lwq_test_read_file(lwq_test_data_path(rel), &len);
    ck_assert_msg(raw != NULL, "cannot read tests/data/%s", rel);
    f->text = malloc(len + 1);
    memcpy(f->text, raw, len);
    f->text[len] = 0;
    free(raw);
    f->n = 0;
    vrec *cur = NULL;
    for (char *line = f->text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *eq = strstr(line, " =");
        if (line[0] == '#' || !eq) {
            cur = NULL;
            continue;
        }
        if (!cur) {
            ck_assert_int_lt(f->n, 64);
            cur = &f->recs[f->n++];
            cur->n = 0;
        }
        ck_assert_int_lt(cur->n, MAX_FIELDS);
        *eq = 0;
        cur->name[cur->n] = line;
        cur->val[cur->n++] = eq[2] == ' ' ? eq + 3 : eq + 2;
    }
}

static void vfile_free(vfile *f) { free(f->text); }

static const char *vget(const vrec *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0)
            return r->val[i];
    ck_abort_msg("vector field %s missing", name);
    return NULL;
}

static size_t vhex(const vrec *r, const char *name, uint8_t *out, size_t cap)
{
    return lwq_test_unhex(vget(r, name), out, cap);
}

static uint8_t *xmalloc(size_t n) { return malloc(n ? n : 1); }

START_TEST(test_sha2_nist)
{
    vfile f;
    vfile_load(&f, "crypto/sha2_nist.txt");
    ck_assert_int_ge(f.n, 16);
    for (int i = 0; i < f.n; i++) {
        const vrec *r = &f.recs[i];
        lwq_hash_alg alg = strcmp(vget(r, "Hash"), "SHA-384") == 0 ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
        size_t cap = strlen(vget(r, "Msg")) / 2 + 1;
        uint8_t *msg = xmalloc(cap), md[LWQ_HASH_MAX], got[LWQ_HASH_MAX];
        size_t n = vhex(r, "Msg", msg, cap);
        ck_assert_uint_eq(n * 8, (size_t)atoi(vget(r, "Len")));
        ck_assert_uint_eq(vhex(r, "MD", md, sizeof(md)), lwq_hash_len(alg));
        lwq_hash(alg, msg, n, got);
        ck_assert_mem_eq(got, md, lwq_hash_len(alg));
        /* Byte-at-a-time updates, and a forked context, give the same digest. */
        lwq_hash_ctx c, fork;
        lwq_hash_init(&c, alg);
        for (size_t j = 0; j < n; j++) {
            lwq_hash_update(&c, msg + j, 1);
            if (j == n / 2)
                fork = c;
        }
        lwq_hash_final(&c, got);
        ck_assert_mem_eq(got, md, lwq_hash_len(alg));
        if (n > 1) {
            lwq_hash_update(&fork, msg + n / 2 + 1, n - n / 2 - 1);
            lwq_hash_final(&fork, got);
            ck_assert_mem_eq(got, md, lwq_hash_len(alg));
        }
        free(msg);
    }
    vfile_free(&f);
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
    vfile f;
    vfile_load(&f, "crypto/hmac_rfc4231.txt");
    ck_assert_int_eq(f.n, 12);
    for (int i = 0; i < f.n; i++) {
        const vrec *r = &f.recs[i];
        lwq_hash_alg alg = strcmp(vget(r, "Hash"), "SHA-384") == 0 ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
        uint8_t key[256], msg[256], md[LWQ_HASH_MAX], got[LWQ_HASH_MAX];
        size_t kl = vhex(r, "Key", key, sizeof(key)), ml = vhex(r, "Msg", msg, sizeof(msg));
        ck_assert_uint_eq(vhex(r, "MD", md, sizeof(md)), lwq_hash_len(alg));
        lwq_hmac(alg, key, kl, msg, ml, got);
        ck_assert_mem_eq(got, md, lwq_hash_len(alg));
        key[0] ^= 1;
        lwq_hmac(alg, key, kl, msg, ml, got);
        ck_assert(memcmp(got, md, lwq_hash_len(alg)) != 0);
    }
    vfile_free(&f);
}
END_TEST

START_TEST(test_hkdf_rfc5869)
{
    vfile f;
    vfile_load(&f, "crypto/hkdf_rfc5869.txt");
    ck_assert_int_eq(f.n, 3);
    for (int i = 0; i < f.n; i++) {
        const vrec *r = &f.recs[i];
        uint8_t ikm[128], salt[128], info[128], prk[32], okm[128], got[128];
        size_t il = vhex(r, "IKM", ikm, sizeof(ikm)), sl = vhex(r, "salt", salt, sizeof(salt)),
               nl = vhex(r, "info", info, sizeof(info)), L = (size_t)atoi(vget(r, "L"));
        ck_assert_uint_eq(vhex(r, "PRK", prk, sizeof(prk)), 32);
        ck_assert_uint_eq(vhex(r, "OKM", okm, sizeof(okm)), L);
        lwq_hkdf_extract(LWQ_HASH_SHA256, salt, sl, ikm, il, got);
        ck_assert_mem_eq(got, prk, 32);
        memset(got, 0xee, sizeof(got));
        ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA256, prk, 32, info, nl, got, L), 0);
        ck_assert_mem_eq(got, okm, L);
        ck_assert_uint_eq(got[L], 0xee);
    }
    vfile_free(&f);
}
END_TEST

START_TEST(test_hkdf_expand_limit)
{
    uint8_t prk[48] = {1}, out[48];
    static uint8_t big[255 * 48 + 1];
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA256, prk, 32, NULL, 0, big, 255 * 32 + 1), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA256, prk, 32, NULL, 0, big, 255 * 32), 0);
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA384, prk, 48, NULL, 0, big, 255 * 48), 0);
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA384, prk, 48, NULL, 0, big, 255 * 48 + 1), LWQ_ERR_INVAL);
    /* A prefix of a longer output is the shorter output. */
    ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA384, prk, 48, NULL, 0, out, 40), 0);
    ck_assert_mem_eq(out, big, 40);
}
END_TEST

static void check_aead_vector(lwq_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                              const uint8_t *pt, size_t ptlen, const uint8_t *ct, const uint8_t *tag)
{
    uint8_t *out = xmalloc(ptlen + 16), *back = xmalloc(ptlen + 16);
    ck_assert_int_eq(lwq_aead_seal(a, nonce, aad, aadlen, pt, ptlen, out), 0);
    ck_assert_mem_eq(out, ct, ptlen);
    ck_assert_mem_eq(out + ptlen, tag, 16);
    ck_assert_int_eq(lwq_aead_open(a, nonce, aad, aadlen, out, ptlen + 16, back), 0);
    ck_assert_mem_eq(back, pt, ptlen);
    /* In place both ways. */
    memcpy(back, pt, ptlen);
    ck_assert_int_eq(lwq_aead_seal(a, nonce, aad, aadlen, back, ptlen, back), 0);
    ck_assert_mem_eq(back, out, ptlen + 16);
    ck_assert_int_eq(lwq_aead_open(a, nonce, aad, aadlen, back, ptlen + 16, back), 0);
    ck_assert_mem_eq(back, pt, ptlen);
    /* Any flipped tag, ciphertext or aad bit fails. */
    for (size_t pos = 0; pos < ptlen + 16; pos += ptlen + 16 > 40 ? 7 : 1) {
        memcpy(back, out, ptlen + 16);
        back[pos] ^= 0x80;
        ck_assert_int_eq(lwq_aead_open(a, nonce, aad, aadlen, back, ptlen + 16, back), LWQ_ERR_DECRYPT);
    }
    if (aadlen) {
        uint8_t *aad2 = xmalloc(aadlen);
        memcpy(aad2, aad, aadlen);
        aad2[aadlen - 1] ^= 1;
        ck_assert_int_eq(lwq_aead_open(a, nonce, aad2, aadlen, out, ptlen + 16, back), LWQ_ERR_DECRYPT);
        free(aad2);
    }
    ck_assert_int_eq(lwq_aead_open(a, nonce, aad, aadlen, out, 15, back), LWQ_ERR_DECRYPT);
    free(out);
    free(back);
}

START_TEST(test_aes_gcm_nist)
{
    vfile f;
    int n128 = 0, n256 = 0;
    vfile_load(&f, "crypto/aes_gcm_nist.txt");
    for (int i = 0; i < f.n; i++) {
        const vrec *r = &f.recs[i];
        uint8_t key[32], iv[12], tag[16];
        size_t cap = strlen(vget(r, "PT")) / 2 + strlen(vget(r, "AAD")) / 2 + 1;
        uint8_t *pt = xmalloc(cap), *aad = xmalloc(cap), *ct = xmalloc(cap);
        size_t kl = vhex(r, "Key", key, sizeof(key)), pl = vhex(r, "PT", pt, cap), al = vhex(r, "AAD", aad, cap);
        ck_assert_uint_eq(vhex(r, "IV", iv, sizeof(iv)), 12);
        ck_assert_uint_eq(vhex(r, "CT", ct, cap), pl);
        ck_assert_uint_eq(vhex(r, "Tag", tag, sizeof(tag)), 16);
        lwq_aead_alg alg = kl == 16 ? LWQ_AEAD_AES128GCM : LWQ_AEAD_AES256GCM;
        lwq_aead a;
        ck_assert_int_eq(lwq_aead_init(&a, alg, key), 0);
        check_aead_vector(&a, iv, aad, al, pt, pl, ct, tag);
        lwq_aead_free(&a);
        /* The mbedTLS path gives the same answers (it is the fallback without AES-NI). */
        ck_assert_int_eq(lwq_aead_init_portable(&a, alg, key), 0);
        check_aead_vector(&a, iv, aad, al, pt, pl, ct, tag);
        lwq_aead_free(&a);
        *(kl == 16 ? &n128 : &n256) += 1;
        free(pt);
        free(aad);
        free(ct);
    }
    ck_assert_int_ge(n128, 20);
    ck_assert_int_ge(n256, 20);
    vfile_free(&f);
}
END_TEST

START_TEST(test_chacha20poly1305_rfc8439)
{
    vfile f;
    vfile_load(&f, "crypto/chacha20poly1305.txt");
    ck_assert_int_ge(f.n, 10);
    for (int i = 0; i < f.n; i++) {
        const vrec *r = &f.recs[i];
        uint8_t key[32], nonce[12], tag[16];
        size_t cap = strlen(vget(r, "IN")) / 2 + strlen(vget(r, "AD")) / 2 + 1;
        uint8_t *pt = xmalloc(cap), *aad = xmalloc(cap), *ct = xmalloc(cap);
        ck_assert_uint_eq(vhex(r, "KEY", key, sizeof(key)), 32);
        ck_assert_uint_eq(vhex(r, "NONCE", nonce, sizeof(nonce)), 12);
        size_t pl = vhex(r, "IN", pt, cap), al = vhex(r, "AD", aad, cap);
        ck_assert_uint_eq(vhex(r, "CT", ct, cap), pl);
        ck_assert_uint_eq(vhex(r, "TAG", tag, sizeof(tag)), 16);
        if (i == 0)
            ck_assert_uint_eq(pl, 114); /* the "sunscreen" message of RFC 8439 §2.8.2 */
        lwq_aead a;
        ck_assert_int_eq(lwq_aead_init(&a, LWQ_AEAD_CHACHA20POLY1305, key), 0);
        check_aead_vector(&a, nonce, aad, al, pt, pl, ct, tag);
        lwq_aead_free(&a);
        free(pt);
        free(aad);
        free(ct);
    }
    vfile_free(&f);
}
END_TEST

START_TEST(test_aead_every_alg_round_trip)
{
    static const lwq_aead_alg algs[] = {LWQ_AEAD_AES128GCM, LWQ_AEAD_AES256GCM, LWQ_AEAD_CHACHA20POLY1305};
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 7);
    static uint8_t pt[1500], buf[1500 + 16], back[1500];
    uint8_t key[32], nonce[12], aad[21];
    rng->fill(rng->ud, pt, sizeof(pt));
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(lwq_aead_key_len(algs[i]), algs[i] == LWQ_AEAD_AES128GCM ? 16 : 32);
        for (size_t len = 0; len <= sizeof(pt); len += len < 40 ? 1 : 97) {
            lwq_aead a;
            rng->fill(rng->ud, key, sizeof(key));
            rng->fill(rng->ud, nonce, sizeof(nonce));
            rng->fill(rng->ud, aad, sizeof(aad));
            ck_assert_int_eq(lwq_aead_init(&a, algs[i], key), 0);
            ck_assert_int_eq(lwq_aead_seal(&a, nonce, aad, sizeof(aad), pt, len, buf), 0);
            ck_assert_int_eq(lwq_aead_open(&a, nonce, aad, sizeof(aad), buf, len + 16, back), 0);
            ck_assert_mem_eq(back, pt, len);
            buf[len + 15] ^= 1;
            ck_assert_int_eq(lwq_aead_open(&a, nonce, aad, sizeof(aad), buf, len + 16, back), LWQ_ERR_DECRYPT);
            buf[len + 15] ^= 1;
            nonce[11] ^= 1;
            ck_assert_int_eq(lwq_aead_open(&a, nonce, aad, sizeof(aad), buf, len + 16, back), LWQ_ERR_DECRYPT);
            /* A context moved to another address keeps working. */
            lwq_aead *moved = malloc(sizeof(*moved));
            memcpy(moved, &a, sizeof(a));
            memset(&a, 0xa5, sizeof(a));
            nonce[11] ^= 1;
            ck_assert_int_eq(lwq_aead_open(moved, nonce, aad, sizeof(aad), buf, len + 16, back), 0);
            ck_assert_mem_eq(back, pt, len);
            lwq_aead_free(moved);
            free(moved);
        }
    }
}
END_TEST

START_TEST(test_aead_is_fast)
{
    ck_assert_int_ge(sodium_init(), 0);
    ck_assert_int_eq(lwq_aead_is_fast(LWQ_AEAD_AES256GCM), crypto_aead_aes256gcm_is_available());
    ck_assert_int_eq(lwq_aead_is_fast(LWQ_AEAD_AES128GCM), 0);
    ck_assert_int_eq(lwq_aead_is_fast(LWQ_AEAD_CHACHA20POLY1305), 1);
    ck_assert_int_eq(lwq_aead_is_fast((lwq_aead_alg)7), 0);
}
END_TEST

/* One const context sealing and opening from two threads at once. */
typedef struct shared_job {
    const lwq_aead *a;
    uint8_t seed;
    int ok;
} shared_job;

static void *seal_open_loop(void *arg)
{
    shared_job *j = arg;
    uint8_t nonce[12] = {j->seed}, pt[300], ct[316], back[300];
    j->ok = 1;
    for (int i = 0; i < 2000 && j->ok; i++) {
        memset(pt, j->seed + i, sizeof(pt));
        nonce[11] = (uint8_t)i;
        size_t len = (size_t)(i % 300);
        if (lwq_aead_seal(j->a, nonce, nonce, 12, pt, len, ct) != 0 ||
            lwq_aead_open(j->a, nonce, nonce, 12, ct, len + 16, back) != 0 || memcmp(back, pt, len) != 0)
            j->ok = 0;
    }
    return NULL;
}

START_TEST(test_aead_shared_between_threads)
{
    uint8_t key[32];
    memset(key, 0x61, sizeof(key));
    for (int alg = 0; alg < 4; alg++) {
        lwq_aead a;
        if (alg == 3)
            ck_assert_int_eq(lwq_aead_init_portable(&a, LWQ_AEAD_AES256GCM, key), 0);
        else
            ck_assert_int_eq(lwq_aead_init(&a, (lwq_aead_alg)alg, key), 0);
        shared_job j1 = {&a, 1, 0}, j2 = {&a, 2, 0};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, seal_open_loop, &j1), 0);
        seal_open_loop(&j2);
        pthread_join(t, NULL);
        ck_assert_int_eq(j1.ok, 1);
        ck_assert_int_eq(j2.ok, 1);
        lwq_aead_free(&a);
    }
}
END_TEST

START_TEST(test_aead_bad_alg)
{
    lwq_aead a;
    lwq_hp h;
    uint8_t key[32] = {0}, n[12] = {0}, buf[32];
    ck_assert_int_eq(lwq_aead_init(&a, (lwq_aead_alg)9, key), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_aead_seal(&a, n, NULL, 0, buf, 0, buf), LWQ_ERR_STATE);
    lwq_aead_free(&a);
    ck_assert_int_eq(lwq_hp_init(&h, (lwq_aead_alg)9, key), LWQ_ERR_UNSUPPORTED);
    lwq_hp_free(&h);
    ck_assert_int_eq(lwq_aead_init_portable(&a, LWQ_AEAD_CHACHA20POLY1305, key), LWQ_ERR_UNSUPPORTED);
    lwq_aead_free(&a);
}
END_TEST

/* The AES header-protection mask is the first 5 bytes of AES-ECB(hp_key, sample) (RFC 9001 §5.4.3):
 * checked against GCM, whose first keystream block with a 12-byte nonce N is AES(K, N || 00000002). */
START_TEST(test_hp_aes_matches_block_cipher)
{
    uint8_t key[32], sample[16], mask[5], zeros[16] = {0}, ks[32];
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 11);
    for (int i = 0; i < 20; i++) {
        lwq_aead_alg alg = i & 1 ? LWQ_AEAD_AES256GCM : LWQ_AEAD_AES128GCM;
        rng->fill(rng->ud, key, sizeof(key));
        rng->fill(rng->ud, sample, 12);
        sample[12] = sample[13] = sample[14] = 0;
        sample[15] = 2;
        lwq_hp hp;
        lwq_aead a;
        ck_assert_int_eq(lwq_hp_init(&hp, alg, key), 0);
        ck_assert_int_eq(lwq_hp_mask(&hp, sample, mask), 0);
        ck_assert_int_eq(lwq_aead_init(&a, alg, key), 0);
        ck_assert_int_eq(lwq_aead_seal(&a, sample, NULL, 0, zeros, 16, ks), 0);
        ck_assert_mem_eq(mask, ks, 5);
        /* A moved context gives the same mask. */
        lwq_hp *moved = malloc(sizeof(*moved));
        memcpy(moved, &hp, sizeof(hp));
        memset(&hp, 0, sizeof(hp));
        memset(mask, 0, sizeof(mask));
        ck_assert_int_eq(lwq_hp_mask(moved, sample, mask), 0);
        ck_assert_mem_eq(mask, ks, 5);
        lwq_hp_free(moved);
        free(moved);
        lwq_aead_free(&a);
    }
}
END_TEST

START_TEST(test_x25519_rfc7748)
{
    vfile f;
    vfile_load(&f, "crypto/x25519_rfc7748.txt");
    ck_assert_int_eq(f.n, 3);
    for (int i = 0; i < f.n; i++) {
        uint8_t k[32], u[32], want[32], got[32];
        size_t glen = 0;
        lwq_kex kex;
        vhex(&f.recs[i], "INPUT_SCALAR", k, 32);
        vhex(&f.recs[i], "INPUT_U", u, 32);
        vhex(&f.recs[i], "OUTPUT_U", want, 32);
        ck_assert_int_eq(lwq_kex_from_private(&kex, LWQ_GROUP_X25519, k, 32), 0);
        ck_assert_int_eq(lwq_kex_derive(&kex, u, 32, got, &glen), 0);
        ck_assert_uint_eq(glen, 32);
        ck_assert_mem_eq(got, want, 32);
        lwq_kex_clear(&kex);
    }
    vfile_free(&f);
}
END_TEST

/* RFC 7748 §6.1 */
START_TEST(test_x25519_dh_rfc7748)
{
    uint8_t a[32], b[32], apub[32], bpub[32], k[32], s1[32], s2[32];
    size_t l1, l2;
    lwq_kex ka, kb;
    lwq_test_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    lwq_test_unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", apub, 32);
    lwq_test_unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    lwq_test_unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bpub, 32);
    lwq_test_unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", k, 32);
    ck_assert_int_eq(lwq_kex_from_private(&ka, LWQ_GROUP_X25519, a, 32), 0);
    ck_assert_int_eq(lwq_kex_from_private(&kb, LWQ_GROUP_X25519, b, 32), 0);
    ck_assert_uint_eq(ka.publen, 32);
    ck_assert_mem_eq(ka.pub, apub, 32);
    ck_assert_mem_eq(kb.pub, bpub, 32);
    ck_assert_int_eq(lwq_kex_derive(&ka, kb.pub, kb.publen, s1, &l1), 0);
    ck_assert_int_eq(lwq_kex_derive(&kb, ka.pub, ka.publen, s2, &l2), 0);
    ck_assert_mem_eq(s1, s2, 32);
    ck_assert_mem_eq(s1, k, 32);
}
END_TEST

START_TEST(test_x25519_rejects_low_order)
{
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 3);
    lwq_kex kex;
    uint8_t zero[32] = {0}, one[32] = {1}, shared[32], pub2[32];
    size_t sl = 99;
    ck_assert_int_eq(lwq_kex_keygen(&kex, LWQ_GROUP_X25519, rng), 0);
    ck_assert_int_eq(lwq_kex_derive(&kex, zero, 32, shared, &sl), LWQ_ERR_CRYPTO);
    ck_assert_int_eq(lwq_kex_derive(&kex, one, 32, shared, &sl), LWQ_ERR_CRYPTO);
    ck_assert_int_eq(lwq_kex_derive(&kex, zero, 31, shared, &sl), LWQ_ERR_CRYPTO);
    ck_assert_uint_eq(sl, 99);
    /* Keygen draws from the rng: two generations differ, the same seed repeats. */
    lwq_kex k2, k3;
    ck_assert_int_eq(lwq_kex_keygen(&k2, LWQ_GROUP_X25519, rng), 0);
    ck_assert(memcmp(kex.pub, k2.pub, 32) != 0);
    lwq_test_rng_init(&tr, 3);
    ck_assert_int_eq(lwq_kex_keygen(&k3, LWQ_GROUP_X25519, rng), 0);
    ck_assert_mem_eq(k3.pub, kex.pub, 32);
    memcpy(pub2, k2.pub, 32);
    ck_assert_int_eq(lwq_kex_derive(&kex, pub2, 32, shared, &sl), 0);
    lwq_kex_clear(&kex);
    ck_assert_uint_eq(kex.publen, 0);
}
END_TEST

START_TEST(test_p256_round_trip_and_invalid_points)
{
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 5);
    lwq_kex a, b, c;
    uint8_t s1[32], s2[32], bad[65];
    size_t l1 = 0, l2 = 0;
    ck_assert_int_eq(lwq_kex_keygen(&a, LWQ_GROUP_SECP256R1, rng), 0);
    ck_assert_int_eq(lwq_kex_keygen(&b, LWQ_GROUP_SECP256R1, rng), 0);
    ck_assert_uint_eq(a.publen, 65);
    ck_assert_uint_eq(a.pub[0], 0x04);
    ck_assert(memcmp(a.pub, b.pub, 65) != 0);
    ck_assert_int_eq(lwq_kex_derive(&a, b.pub, b.publen, s1, &l1), 0);
    ck_assert_int_eq(lwq_kex_derive(&b, a.pub, a.publen, s2, &l2), 0);
    ck_assert_uint_eq(l1, 32);
    ck_assert_uint_eq(l2, 32);
    ck_assert_mem_eq(s1, s2, 32);
    /* The private key alone reproduces the public key. */
    ck_assert_int_eq(lwq_kex_from_private(&c, LWQ_GROUP_SECP256R1, a.priv, 32), 0);
    ck_assert_mem_eq(c.pub, a.pub, 65);
    /* Off the curve: one coordinate bit flipped. */
    memcpy(bad, b.pub, 65);
    bad[64] ^= 1;
    ck_assert_int_eq(lwq_kex_derive(&a, bad, 65, s1, &l1), LWQ_ERR_CRYPTO);
    /* The point at infinity, compressed form, wrong lengths, bad prefix. */
    uint8_t inf = 0;
    ck_assert_int_eq(lwq_kex_derive(&a, &inf, 1, s1, &l1), LWQ_ERR_CRYPTO);
    memcpy(bad, b.pub, 65);
    bad[0] = 0x02 | (b.pub[64] & 1);
    ck_assert_int_eq(lwq_kex_derive(&a, bad, 33, s1, &l1), LWQ_ERR_CRYPTO);
    ck_assert_int_eq(lwq_kex_derive(&a, b.pub, 64, s1, &l1), LWQ_ERR_CRYPTO);
    memcpy(bad, b.pub, 65);
    bad[0] = 0x05;
    ck_assert_int_eq(lwq_kex_derive(&a, bad, 65, s1, &l1), LWQ_ERR_CRYPTO);
    /* Coordinates >= p are rejected even if they reduce onto the curve. */
    memset(bad + 1, 0xff, 64);
    bad[0] = 0x04;
    ck_assert_int_eq(lwq_kex_derive(&a, bad, 65, s1, &l1), LWQ_ERR_CRYPTO);
    /* Private keys 0 and >= n are refused. */
    uint8_t zero[32] = {0}, ff[32];
    memset(ff, 0xff, 32);
    ck_assert_int_eq(lwq_kex_from_private(&c, LWQ_GROUP_SECP256R1, zero, 32), LWQ_ERR_CRYPTO);
    ck_assert_int_eq(lwq_kex_from_private(&c, LWQ_GROUP_SECP256R1, ff, 32), LWQ_ERR_CRYPTO);
    ck_assert_int_eq(lwq_kex_from_private(&c, LWQ_GROUP_SECP256R1, a.priv, 31), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_kex_from_private(&c, (lwq_group)0x99, a.priv, 32), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_kex_keygen(&c, (lwq_group)0x99, rng), LWQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(lwq_kex_derive(&c, b.pub, 65, s1, &l1), LWQ_ERR_UNSUPPORTED);
    /* An X25519 key refuses a P-256 share by its length. */
    ck_assert_int_eq(lwq_kex_keygen(&c, LWQ_GROUP_X25519, rng), 0);
    ck_assert_int_eq(lwq_kex_derive(&c, b.pub, 65, s1, &l1), LWQ_ERR_CRYPTO);
    lwq_kex_clear(&a);
    lwq_kex_clear(&b);
    lwq_kex_clear(&c);
}
END_TEST

/* RFC 5903 §8.1: ECDH on P-256 with fixed private keys. */
START_TEST(test_p256_known_answer)
{
    uint8_t i[32], r[32], gir[32], s[32], gi[65], gr[65];
    size_t sl;
    lwq_kex ki, kr;
    lwq_test_unhex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433", i, 32);
    lwq_test_unhex("04DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
                   "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
                   gi, 65);
    lwq_test_unhex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53", r, 32);
    lwq_test_unhex("04D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
                   "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
                   gr, 65);
    lwq_test_unhex("D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE", gir, 32);
    ck_assert_int_eq(lwq_kex_from_private(&ki, LWQ_GROUP_SECP256R1, i, 32), 0);
    ck_assert_int_eq(lwq_kex_from_private(&kr, LWQ_GROUP_SECP256R1, r, 32), 0);
    ck_assert_mem_eq(ki.pub, gi, 65);
    ck_assert_mem_eq(kr.pub, gr, 65);
    ck_assert_int_eq(lwq_kex_derive(&ki, gr, 65, s, &sl), 0);
    ck_assert_mem_eq(s, gir, 32);
    ck_assert_int_eq(lwq_kex_derive(&kr, gi, 65, s, &sl), 0);
    ck_assert_mem_eq(s, gir, 32);
}
END_TEST

Suite *suite_crypto(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = lwq_test_tcase("hash");
    tcase_add_test(tc, test_sha2_nist);
    tcase_add_test(tc, test_hmac_rfc4231);
    tcase_add_test(tc, test_hkdf_rfc5869);
    tcase_add_test(tc, test_hkdf_expand_limit);
    suite_add_tcase(s, tc);
    tc = lwq_test_tcase("aead");
    tcase_add_test(tc, test_aes_gcm_nist);
    tcase_add_test(tc, test_chacha20poly1305_rfc8439);
    tcase_add_test(tc, test_aead_every_alg_round_trip);
    tcase_add_test(tc, test_aead_is_fast);
    tcase_add_test(tc, test_aead_shared_between_threads);
    tcase_add_test(tc, test_aead_bad_alg);
    tcase_add_test(tc, test_hp_aes_matches_block_cipher);
    suite_add_tcase(s, tc);
    tc = lwq_test_tcase("kex");
    tcase_add_test(tc, test_x25519_rfc7748);
    tcase_add_test(tc, test_x25519_dh_rfc7748);
    tcase_add_test(tc, test_x25519_rejects_low_order);
    tcase_add_test(tc, test_p256_round_trip_and_invalid_points);
    tcase_add_test(tc, test_p256_known_answer);
    suite_add_tcase(s, tc);
    return s;
}
