/* RFC 9001 Appendix A, with every value read from the RFC text in ../shared/specs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/keysched.h"

/* Helpers shared with test_rfc9369_keys.c: the two appendices have the same layout. */
char *lwq_vec_spec_load(const char *rel);
size_t lwq_vec_hex_after(const char *from, const char *label, uint8_t *out, size_t cap);
size_t lwq_vec_block_after(const char *from, const char *anchor, uint8_t *out, size_t cap);
const char *lwq_vec_find(const char *from, const char *s);
void lwq_vec_check_appendix(uint32_t version, const char *spec);

char *lwq_vec_spec_load(const char *rel)
{
    size_t len;
    uint8_t *raw = lwq_test_read_file(lwq_test_shared_path(rel), &len);
    ck_assert_msg(raw != NULL, "cannot read %s (set LWQ_SHARED?)", lwq_test_shared_path(rel));
    char *t = malloc(len + 1);
    memcpy(t, raw, len);
    t[len] = 0;
    free(raw);
    return t;
}

const char *lwq_vec_find(const char *from, const char *s)
{
    const char *p = strstr(from, s);
    ck_assert_msg(p != NULL, "\"%s\" not found in the spec", s);
    return p;
}

/* A line that is only hex digits and spaces once a leading '=' or ':' is dropped; NULL otherwise. */
static const char *hex_line(const char *p, const char **end)
{
    const char *e = strchr(p, '\n');
    if (!e)
        e = p + strlen(p);
    while (p < e && isspace((unsigned char)*p))
        p++;
    if (p < e && (*p == '=' || *p == ':'))
        p++;
    while (p < e && isspace((unsigned char)*p))
        p++;
    if (p == e)
        return NULL;
    for (const char *q = p; q < e; q++)
        if (!isxdigit((unsigned char)*q) && *q != ' ')
            return NULL;
    *end = e;
    return p;
}

static size_t unhex_span(const char *p, const char *e, uint8_t *out, size_t cap)
{
    size_t len = (size_t)(e - p);
    char *tmp = malloc(len + 1);
    memcpy(tmp, p, len);
    tmp[len] = 0;
    size_t n = lwq_test_unhex(tmp, out, cap);
    free(tmp);
    return n;
}

/* The hex value that follows label: on its own line or on the first following line
 * that holds only hex, plus hex-only continuation lines. */
size_t lwq_vec_hex_after(const char *from, const char *label, uint8_t *out, size_t cap)
{
    const char *p = lwq_vec_find(from, label) + strlen(label), *e, *h;
    size_t n = 0;
    for (int lines = 0; lines < 6; lines++) {
        if ((h = hex_line(p, &e)) != NULL)
            break;
        p = strchr(p, '\n');
        ck_assert_msg(p != NULL, "no value after \"%s\"", label);
        p++;
    }
    ck_assert_msg(h != NULL, "no hex value after \"%s\"", label);
    n = unhex_span(h, e, out, cap);
    while (*e == '\n' && (h = hex_line(e + 1, &e)) != NULL)
        n += unhex_span(h, e, out + n, cap - n);
    return n;
}

/* The hex of the first ~~~ block after anchor. */
size_t lwq_vec_block_after(const char *from, const char *anchor, uint8_t *out, size_t cap)
{
    const char *p = lwq_vec_find(lwq_vec_find(from, anchor), "~~~\n") + 4;
    const char *e = lwq_vec_find(p, "~~~");
    return unhex_span(p, e, out, cap);
}

static uint64_t pn_of(const uint8_t *hdr, size_t hdrlen, size_t pnlen)
{
    uint64_t pn = 0;
    for (size_t i = hdrlen - pnlen; i < hdrlen; i++)
        pn = pn << 8 | hdr[i];
    return pn;
}

/* Protects payload under header with k and checks the sample, mask, protected header and packet
 * the spec shows; then opens the packet again. RFC 9001 §5.3, §5.4.1, §5.4.2. */
static void check_packet(const lwq_quic_keys *k, uint64_t pn, const uint8_t *hdr, size_t hdrlen,
                         const uint8_t *payload, size_t paylen, const char *sec, const char *packet_anchor,
                         int inline_packet)
{
    size_t pnlen = (size_t)(hdr[0] & 3) + 1, pnoff = hdrlen - pnlen;
    int long_hdr = hdr[0] & 0x80;
    uint8_t nonce[12], sample[16], mask[5], want_hdr[64], want_pkt[1500], got[1500];
    size_t n;

    memcpy(got, hdr, hdrlen);
    lwq_quic_nonce(k, pn, nonce);
    ck_assert_int_eq(lwq_aead_seal(&k->aead, nonce, hdr, hdrlen, payload, paylen, got + hdrlen), 0);
    /* RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number field. */
    ck_assert_uint_eq(lwq_vec_hex_after(sec, "sample = ", sample, sizeof(sample)), 16);
    ck_assert_mem_eq(got + pnoff + 4, sample, 16);
    ck_assert_int_eq(lwq_hp_mask(&k->hp, sample, mask), 0);
    uint8_t want_mask[5];
    ck_assert_uint_eq(lwq_vec_hex_after(lwq_vec_find(sec, "sample = "), "mask", want_mask, 5), 5);
    ck_assert_mem_eq(mask, want_mask, 5);
    got[0] ^= mask[0] & (long_hdr ? 0x0f : 0x1f);
    for (size_t i = 0; i < pnlen; i++)
        got[pnoff + i] ^= mask[1 + i];
    n = lwq_vec_hex_after(lwq_vec_find(sec, "sample = "), "header = ", want_hdr, sizeof(want_hdr));
    ck_assert_uint_eq(n, hdrlen);
    ck_assert_mem_eq(got, want_hdr, hdrlen);
    if (inline_packet)
        n = lwq_vec_hex_after(sec, packet_anchor, want_pkt, sizeof(want_pkt));
    else
        n = lwq_vec_block_after(sec, packet_anchor, want_pkt, sizeof(want_pkt));
    ck_assert_uint_eq(n, hdrlen + paylen + 16);
    ck_assert_mem_eq(got, want_pkt, n);

    /* The receiving side: remove header protection with a fresh mask, then open. */
    uint8_t plain[1500];
    ck_assert_int_eq(lwq_hp_mask(&k->hp, want_pkt + pnoff + 4, mask), 0);
    want_pkt[0] ^= mask[0] & (long_hdr ? 0x0f : 0x1f);
    for (size_t i = 0; i < pnlen; i++)
        want_pkt[pnoff + i] ^= mask[1 + i];
    ck_assert_mem_eq(want_pkt, hdr, hdrlen);
    ck_assert_int_eq(lwq_aead_open(&k->aead, nonce, want_pkt, hdrlen, want_pkt + hdrlen, paylen + 16, plain), 0);
    ck_assert_mem_eq(plain, payload, paylen);
    want_pkt[hdrlen + 3] ^= 4;
    ck_assert_int_eq(lwq_aead_open(&k->aead, nonce, want_pkt, hdrlen, want_pkt + hdrlen, paylen + 16, plain),
                     LWQ_ERR_DECRYPT);
}

static void check_keys(const lwq_quic_keys *k, const char *from, const char *key_label, const char *iv_label,
                       const char *hp_label, size_t keylen)
{
    uint8_t key[32], iv[12], hp[32], nonce[12], zero[16] = {0}, ct[32], want_ct[32], mask[5], want_mask[5];
    lwq_aead a;
    lwq_hp h;
    ck_assert_uint_eq(lwq_vec_hex_after(from, key_label, key, sizeof(key)), keylen);
    ck_assert_uint_eq(lwq_vec_hex_after(from, iv_label, iv, sizeof(iv)), 12);
    ck_assert_uint_eq(lwq_vec_hex_after(from, hp_label, hp, sizeof(hp)), keylen);
    ck_assert_mem_eq(k->iv, iv, 12);
    /* The contexts hold expanded keys: compare them with contexts built from the spec's bytes. */
    ck_assert_int_eq(lwq_aead_init(&a, lwq_suite_aead(k->suite), key), 0);
    memcpy(nonce, iv, 12);
    ck_assert_int_eq(lwq_aead_seal(&k->aead, nonce, NULL, 0, zero, 16, ct), 0);
    ck_assert_int_eq(lwq_aead_seal(&a, nonce, NULL, 0, zero, 16, want_ct), 0);
    ck_assert_mem_eq(ct, want_ct, 32);
    lwq_aead_free(&a);
    ck_assert_int_eq(lwq_hp_init(&h, lwq_suite_aead(k->suite), hp), 0);
    ck_assert_int_eq(lwq_hp_mask(&k->hp, iv, mask), 0);
    ck_assert_int_eq(lwq_hp_mask(&h, iv, want_mask), 0);
    ck_assert_mem_eq(mask, want_mask, 5);
    lwq_hp_free(&h);
}

static void check_initial_packet(const lwq_quic_keys *k, const char *sec, const char *payload_anchor,
                                 const char *header_anchor, const char *packet_anchor, size_t pad_to)
{
    uint8_t payload[1500], hdr[64];
    size_t paylen = lwq_vec_block_after(sec, payload_anchor, payload, sizeof(payload));
    size_t hdrlen = lwq_vec_block_after(sec, header_anchor, hdr, sizeof(hdr));
    ck_assert_uint_gt(paylen, 0);
    if (pad_to) {
        /* PADDING frames are zero bytes (RFC 9000 §19.1). */
        ck_assert_uint_le(paylen, pad_to);
        memset(payload + paylen, 0, pad_to - paylen);
        paylen = pad_to;
    }
    check_packet(k, pn_of(hdr, hdrlen, (size_t)(hdr[0] & 3) + 1), hdr, hdrlen, payload, paylen, sec, packet_anchor,
                 0);
}

void lwq_vec_check_appendix(uint32_t version, const char *spec)
{
    const char *v2 = version == LWQ_QUIC_V2 ? "v2" : "";
    char key_l[32], iv_l[32], hp_l[32], ku_l[32];
    snprintf(key_l, sizeof(key_l), "\"quic%s key\", \"\", ", v2);
    snprintf(iv_l, sizeof(iv_l), "\"quic%s iv\", \"\", ", v2);
    snprintf(hp_l, sizeof(hp_l), "\"quic%s hp\", \"\", ", v2);
    snprintf(ku_l, sizeof(ku_l), "\"quic%s ku\", \"\", ", v2);
    const char *app = lwq_vec_find(spec, "# Sample Packet Protection");
    const char *keys = lwq_vec_find(app, "## Keys");
    uint8_t dcid[8], secret[32], csecret[32], ssecret[32], want[64], got[64];

    /* The client's DCID as the appendix introduction gives it. */
    const char *d = lwq_vec_find(app, "Connection ID of 0x") + strlen("Connection ID of 0x");
    char dhex[17];
    memcpy(dhex, d, 16);
    dhex[16] = 0;
    ck_assert_uint_eq(lwq_test_unhex(dhex, dcid, sizeof(dcid)), 8);

    /* A.1: the HkdfLabel of every label, then the secrets. */
    static const char *const labels[] = {"client in", "server in", "key", "iv", "hp"};
    for (size_t i = 0; i < 5; i++) {
        char label[32], spec_label[40];
        uint8_t info[64], a[32], b[32];
        memset(secret, 0x5c, sizeof(secret));
        snprintf(label, sizeof(label), i < 2 ? "%s" : "quic%s %s", i < 2 ? labels[i] : v2, labels[i]);
        snprintf(spec_label, sizeof(spec_label), "\n%s:", label);
        size_t n = lwq_vec_hex_after(keys, spec_label, info, sizeof(info));
        ck_assert_uint_eq(n, 2 + 1 + 6 + strlen(label) + 1);
        size_t outlen = lwq_get16(info);
        ck_assert_int_eq(lwq_hkdf_expand(LWQ_HASH_SHA256, secret, 32, info, n, a, outlen), 0);
        ck_assert_int_eq(lwq_hkdf_expand_label(LWQ_HASH_SHA256, secret, 32, label, NULL, 0, b, outlen), 0);
        ck_assert_mem_eq(a, b, outlen);
    }
    ck_assert_int_eq(lwq_quic_initial_secrets(version, dcid, 8, csecret, ssecret), 0);
    ck_assert_uint_eq(lwq_vec_hex_after(keys, "client_initial_secret", want, sizeof(want)), 32);
    ck_assert_mem_eq(csecret, want, 32);
    ck_assert_uint_eq(lwq_vec_hex_after(keys, "server_initial_secret", want, sizeof(want)), 32);
    ck_assert_mem_eq(ssecret, want, 32);
    /* The initial secret itself, via the public primitives and the version's salt. */
    ck_assert_uint_eq(lwq_vec_hex_after(keys, "initial_secret = HKDF-Extract", want, sizeof(want)), 32);
    ck_assert_int_eq(lwq_hkdf_expand_label(LWQ_HASH_SHA256, want, 32, "client in", NULL, 0, got, 32), 0);
    ck_assert_mem_eq(got, csecret, 32);

    lwq_quic_keys ck, sk;
    const char *cks = lwq_vec_find(keys, "client_initial_secret"), *sks = lwq_vec_find(keys, "server_initial_secret");
    ck_assert_int_eq(lwq_quic_keys_init(&ck, version, LWQ_SUITE_AES128GCM_SHA256, csecret), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&sk, version, LWQ_SUITE_AES128GCM_SHA256, ssecret), 0);
    check_keys(&ck, cks, key_l, iv_l, hp_l, 16);
    check_keys(&sk, sks, key_l, iv_l, hp_l, 16);

    /* A.2 and A.3: whole Initial packets, byte-exact. */
    const char *ci = lwq_vec_find(app, "## Client Initial"), *si = lwq_vec_find(app, "## Server Initial");
    check_initial_packet(&ck, ci, "contains the following CRYPTO frame", "The unprotected header", "protected packet",
                         1162);
    check_initial_packet(&sk, si, "following payload", "The header from the server", "final protected packet", 0);
    lwq_quic_keys_free(&ck);
    lwq_quic_keys_free(&sk);

    /* A.4: the Retry packet ends in its integrity tag. */
    uint8_t retry[256], tag[16];
    size_t rl = lwq_vec_block_after(lwq_vec_find(app, "## Retry"), "Retry packet", retry, sizeof(retry));
    ck_assert_uint_gt(rl, 16);
    ck_assert_int_eq(lwq_quic_retry_tag(version, dcid, 8, retry, rl - 16, tag), 0);
    ck_assert_mem_eq(tag, retry + rl - 16, 16);
    dcid[7] ^= 1;
    ck_assert_int_eq(lwq_quic_retry_tag(version, dcid, 8, retry, rl - 16, tag), 0);
    ck_assert(memcmp(tag, retry + rl - 16, 16) != 0);
    dcid[7] ^= 1;
    ck_assert_int_eq(lwq_quic_retry_tag(version ^ (LWQ_QUIC_V1 ^ LWQ_QUIC_V2), dcid, 8, retry, rl - 16, tag), 0);
    ck_assert(memcmp(tag, retry + rl - 16, 16) != 0);

    /* A.5: ChaCha20-Poly1305 short header packet. */
    const char *cc = lwq_vec_find(app, "## ChaCha20-Poly1305 Short Header Packet");
    uint8_t s[32], ku[32], nonce[12], hdr[8], pt[4], ct[64], out[64];
    lwq_quic_keys k;
    ck_assert_uint_eq(lwq_vec_hex_after(cc, "secret\n", s, sizeof(s)), 32);
    ck_assert_int_eq(lwq_quic_keys_init(&k, version, LWQ_SUITE_CHACHA20POLY1305_SHA256, s), 0);
    check_keys(&k, cc, key_l, iv_l, hp_l, 32);
    ck_assert_int_eq(lwq_quic_next_secret(version, LWQ_SUITE_CHACHA20POLY1305_SHA256, s, got), 0);
    ck_assert_uint_eq(lwq_vec_hex_after(cc, ku_l, ku, sizeof(ku)), 32);
    ck_assert_mem_eq(got, ku, 32);
    const char *pnline = lwq_vec_find(cc, "\npn ");
    uint64_t pn = strtoull(lwq_vec_find(pnline, "=") + 1, NULL, 10);
    ck_assert_uint_eq(pn, 654360564);
    lwq_quic_nonce(&k, pn, got);
    ck_assert_uint_eq(lwq_vec_hex_after(cc, "\nnonce ", nonce, sizeof(nonce)), 12);
    ck_assert_mem_eq(got, nonce, 12);
    size_t hl = lwq_vec_hex_after(cc, "unprotected header", hdr, sizeof(hdr));
    size_t pl = lwq_vec_hex_after(cc, "payload plaintext", pt, sizeof(pt));
    size_t cl = lwq_vec_hex_after(cc, "payload ciphertext", ct, sizeof(ct));
    ck_assert_uint_eq(hl, 4);
    ck_assert_uint_eq(cl, pl + 16);
    ck_assert_int_eq(lwq_aead_seal(&k.aead, nonce, hdr, hl, pt, pl, out), 0);
    ck_assert_mem_eq(out, ct, cl);
    /* The full 62-bit packet number recovered from the 3 encoded bytes is what the nonce uses. */
    ck_assert_uint_eq(pn & 0xffffff, pn_of(hdr, hl, 3));
    check_packet(&k, pn, hdr, hl, pt, pl, cc, "packet = ", 1);
    lwq_quic_keys_free(&k);
}

START_TEST(test_rfc9001_appendix_a)
{
    char *spec = lwq_vec_spec_load("specs/rfc9001.md");
    lwq_vec_check_appendix(LWQ_QUIC_V1, spec);
    free(spec);
}
END_TEST

Suite *suite_rfc9001_keys(void)
{
    Suite *s = suite_create("rfc9001_keys");
    TCase *tc = lwq_test_tcase("appendix_a");
    tcase_add_test(tc, test_rfc9001_appendix_a);
    suite_add_tcase(s, tc);
    return s;
}
