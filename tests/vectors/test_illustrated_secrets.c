/* The illustrated-quic capture (../shared/vectors/illustrated-quic): from the published ephemeral
 * X25519 keys and the handshake messages, reproduce every secret of its key log, then use the
 * keys derived from each secret to unprotect and decrypt every packet of the capture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/base64.h>
#include "testutil.h"
#include "base/mem.h"
#include "tls/keysched.h"

#define IQ "vectors/illustrated-quic/"

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob load(const char *rel)
{
    blob b;
    b.p = lwq_test_read_file(lwq_test_shared_path(rel), &b.n);
    ck_assert_msg(b.p != NULL, "cannot read %s", lwq_test_shared_path(rel));
    return b;
}

/* PEM -> DER, then the 32-byte key at the end of an X25519 PKCS#8 / SPKI structure (OID 1.3.101.110). */
static void x25519_from_pem(const char *rel, uint8_t key[32])
{
    static const uint8_t oid[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};
    blob pem = load(rel);
    char *text = malloc(pem.n + 1);
    memcpy(text, pem.p, pem.n);
    text[pem.n] = 0;
    char *b64 = strstr(text, "-----\n"), *end = strstr(text, "\n-----END");
    ck_assert(b64 && end && b64 < end);
    b64 += 6;
    uint8_t der[128];
    size_t dl = 0;
    ck_assert_int_eq(mbedtls_base64_decode(der, sizeof(der), &dl, (const unsigned char *)b64, (size_t)(end - b64)),
                     0);
    ck_assert_uint_gt(dl, 32 + sizeof(oid));
    ck_assert_ptr_nonnull(memmem(der, dl, oid, sizeof(oid)));
    /* The key is the last element: an OCTET STRING (private) or a BIT STRING with no unused bits (public). */
    ck_assert((der[dl - 34] == 0x04 && der[dl - 33] == 0x20) || (der[dl - 34] == 0x21 && der[dl - 33] == 0x00));
    memcpy(key, der + dl - 32, 32);
    free(text);
    free(pem.p);
}

typedef struct handshake {
    blob msg[7]; /* ClientHello ... client Finished, in transcript order */
    lwq_suite suite;
    lwq_hash_alg alg;
    size_t hl;
} handshake;

static const char *const msg_files[7] = {"crypto_clienthello", "crypto_serverhello", "crypto_extensions",
                                         "crypto_cert",        "crypto_certverify",  "crypto_s_finished",
                                         "crypto_c_finished"};

static void hs_load(handshake *h)
{
    char rel[128];
    for (int i = 0; i < 7; i++) {
        snprintf(rel, sizeof(rel), IQ "captures/caps/%s", msg_files[i]);
        h->msg[i] = load(rel);
        ck_assert_uint_ge(h->msg[i].n, 4);
        ck_assert_uint_eq(lwq_get24(h->msg[i].p + 1), h->msg[i].n - 4);
    }
    /* ServerHello: type, length, legacy_version, random, session id, cipher_suite (RFC 9846 §4.1.3). */
    const uint8_t *sh = h->msg[1].p;
    ck_assert_uint_eq(sh[0], 2);
    size_t off = 4 + 2 + 32;
    off += 1 + sh[off];
    ck_assert_uint_le(off + 2, h->msg[1].n);
    uint16_t suite = lwq_get16(sh + off);
    ck_assert(lwq_suite_known(suite));
    h->suite = (lwq_suite)suite;
    h->alg = lwq_suite_hash(h->suite);
    h->hl = lwq_hash_len(h->alg);
}

static void hs_free(handshake *h)
{
    for (int i = 0; i < 7; i++)
        free(h->msg[i].p);
}

/* Transcript-Hash of messages [0, upto). */
static void transcript(const handshake *h, int upto, uint8_t *out)
{
    lwq_hash_ctx c;
    lwq_hash_init(&c, h->alg);
    for (int i = 0; i < upto; i++)
        lwq_hash_update(&c, h->msg[i].p, h->msg[i].n);
    lwq_hash_final(&c, out);
}

typedef struct secrets {
    uint8_t chts[48], shts[48], cats[48], sats[48], exp[48], shared[32];
} secrets;

static void run_schedule(const handshake *h, secrets *s)
{
    uint8_t cpriv[32], spriv[32], cpub[32], spub[32], shared2[32];
    size_t sl = 0;
    lwq_kex ck, sk;

    x25519_from_pem(IQ "keys/client-ephemeral-private.key", cpriv);
    x25519_from_pem(IQ "keys/server-ephemeral-private.key", spriv);
    x25519_from_pem(IQ "keys/client-ephemeral-public.key", cpub);
    x25519_from_pem(IQ "keys/server-ephemeral-public.key", spub);
    ck_assert_int_eq(lwq_kex_from_private(&ck, LWQ_GROUP_X25519, cpriv, 32), 0);
    ck_assert_int_eq(lwq_kex_from_private(&sk, LWQ_GROUP_X25519, spriv, 32), 0);
    ck_assert_mem_eq(ck.pub, cpub, 32);
    ck_assert_mem_eq(sk.pub, spub, 32);
    /* The shares on the wire are these keys. */
    ck_assert_ptr_nonnull(memmem(h->msg[0].p, h->msg[0].n, cpub, 32));
    ck_assert_ptr_nonnull(memmem(h->msg[1].p, h->msg[1].n, spub, 32));
    ck_assert_int_eq(lwq_kex_derive(&ck, spub, 32, s->shared, &sl), 0);
    ck_assert_uint_eq(sl, 32);
    ck_assert_int_eq(lwq_kex_derive(&sk, cpub, 32, shared2, &sl), 0);
    ck_assert_mem_eq(s->shared, shared2, 32);
    lwq_kex_clear(&ck);
    lwq_kex_clear(&sk);

    /* RFC 9846 §7.1 */
    uint8_t th_sh[48], th_sf[48];
    lwq_keysched ks;
    transcript(h, 2, th_sh);
    transcript(h, 6, th_sf);
    lwq_ks_init(&ks, h->alg, NULL, 0);
    lwq_ks_advance(&ks, s->shared, 32);
    lwq_ks_derive(&ks, "c hs traffic", th_sh, s->chts);
    lwq_ks_derive(&ks, "s hs traffic", th_sh, s->shts);
    lwq_ks_advance(&ks, NULL, 0);
    lwq_ks_derive(&ks, "c ap traffic", th_sf, s->cats);
    lwq_ks_derive(&ks, "s ap traffic", th_sf, s->sats);
    lwq_ks_derive(&ks, "exp master", th_sf, s->exp);
    lwq_ks_clear(&ks);
}

START_TEST(test_keylog_secrets)
{
    handshake h;
    secrets s;
    hs_load(&h);
    ck_assert_int_eq(h.suite, LWQ_SUITE_AES128GCM_SHA256);
    run_schedule(&h, &s);

    blob log = load(IQ "captures/keylog.txt");
    char *text = malloc(log.n + 1);
    memcpy(text, log.p, log.n);
    text[log.n] = 0;
    int lines = 0, seen_chts = 0, seen_cats = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char label[64], random_hex[65], secret_hex[97];
        uint8_t random[32], secret[48];
        if (line[0] == '#' || line[0] == 0)
            continue;
        ck_assert_int_eq(sscanf(line, "%63s %64s %96s", label, random_hex, secret_hex), 3);
        ck_assert_uint_eq(lwq_test_unhex(random_hex, random, sizeof(random)), 32);
        ck_assert_uint_eq(lwq_test_unhex(secret_hex, secret, sizeof(secret)), h.hl);
        /* The key log is keyed by the ClientHello random (RFC 9846 §4.1.2). */
        ck_assert_mem_eq(random, h.msg[0].p + 6, 32);
        const uint8_t *mine = NULL;
        if (strcmp(label, "CLIENT_HANDSHAKE_TRAFFIC_SECRET") == 0)
            mine = s.chts, seen_chts = 1;
        else if (strcmp(label, "SERVER_HANDSHAKE_TRAFFIC_SECRET") == 0)
            mine = s.shts;
        else if (strcmp(label, "CLIENT_TRAFFIC_SECRET_0") == 0)
            mine = s.cats, seen_cats = 1;
        else if (strcmp(label, "SERVER_TRAFFIC_SECRET_0") == 0)
            mine = s.sats;
        else if (strcmp(label, "EXPORTER_SECRET") == 0)
            mine = s.exp;
        ck_assert_msg(mine != NULL, "key log label %s not handled", label);
        ck_assert_msg(memcmp(mine, secret, h.hl) == 0, "%s differs", label);
        lines++;
    }
    ck_assert_int_eq(lines, 5);
    ck_assert(seen_chts && seen_cats);
    free(text);
    free(log.p);
    hs_free(&h);
}
END_TEST

/* Both Finished messages verify: HMAC(finished_key, transcript) (RFC 9846 §4.4.4). */
START_TEST(test_finished_messages)
{
    handshake h;
    secrets s;
    uint8_t key[48], th[48], vd[48];
    hs_load(&h);
    run_schedule(&h, &s);
    ck_assert_uint_eq(h.msg[5].n, 4 + h.hl);
    ck_assert_uint_eq(h.msg[6].n, 4 + h.hl);
    lwq_finished_key(h.alg, s.shts, key);
    transcript(&h, 5, th);
    lwq_hmac(h.alg, key, h.hl, th, h.hl, vd);
    ck_assert_mem_eq(vd, h.msg[5].p + 4, h.hl);
    lwq_finished_key(h.alg, s.chts, key);
    transcript(&h, 6, th);
    lwq_hmac(h.alg, key, h.hl, th, h.hl, vd);
    ck_assert_mem_eq(vd, h.msg[6].p + 4, h.hl);
    /* The wrong base key does not verify. */
    lwq_finished_key(h.alg, s.shts, key);
    lwq_hmac(h.alg, key, h.hl, th, h.hl, vd);
    ck_assert(memcmp(vd, h.msg[6].p + 4, h.hl) != 0);
    hs_free(&h);
}
END_TEST

static size_t varint(const uint8_t *p, size_t n, uint64_t *v)
{
    ck_assert_uint_ge(n, 1);
    size_t len = (size_t)1 << (p[0] >> 6);
    ck_assert_uint_ge(n, len);
    *v = p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        *v = *v << 8 | p[i];
    return len;
}

/* Removes header protection from one captured packet and decrypts it (RFC 9001 §5.4, §5.3),
 * comparing with the capture's unprotected header and payload. */
static void open_packet(const char *name, const lwq_quic_keys *k, size_t short_dcid_len)
{
    char rel[160];
    snprintf(rel, sizeof(rel), IQ "captures/caps/pkt%s", name);
    blob pkt = load(rel);
    snprintf(rel, sizeof(rel), IQ "captures/caps/pkt_unprot%s", name);
    blob unprot = load(rel);
    snprintf(rel, sizeof(rel), IQ "captures/caps/pkt_payload%s", name);
    blob payload = load(rel);
    uint8_t *p = pkt.p;
    size_t n = pkt.n, pnoff, end;
    int long_hdr = p[0] & 0x80;

    if (long_hdr) {
        size_t off = 5;
        off += 1 + p[off]; /* DCID */
        off += 1 + p[off]; /* SCID */
        if (((p[0] >> 4) & 3) == 0) {
            uint64_t toklen;
            off += varint(p + off, n - off, &toklen);
            off += (size_t)toklen;
        }
        uint64_t len;
        off += varint(p + off, n - off, &len);
        pnoff = off;
        end = off + (size_t)len;
        ck_assert_uint_le(end, n);
    } else {
        pnoff = 1 + short_dcid_len;
        end = n;
    }
    ck_assert_uint_le(pnoff + 4 + 16, end);
    uint8_t mask[5];
    ck_assert_int_eq(lwq_hp_mask(&k->hp, p + pnoff + 4, mask), 0);
    p[0] ^= mask[0] & (long_hdr ? 0x0f : 0x1f);
    size_t pnlen = (size_t)(p[0] & 3) + 1;
    uint64_t pn = 0;
    for (size_t i = 0; i < pnlen; i++) {
        p[pnoff + i] ^= mask[1 + i];
        pn = pn << 8 | p[pnoff + i];
    }
    ck_assert_uint_eq(unprot.n, n);
    ck_assert_msg(memcmp(p, unprot.p, n) == 0, "pkt%s: header protection differs", name);

    size_t hdrlen = pnoff + pnlen, ctlen = end - hdrlen;
    uint8_t nonce[12], *plain = malloc(ctlen);
    ck_assert_uint_ge(ctlen, 16);
    lwq_quic_nonce(k, pn, nonce);
    ck_assert_msg(lwq_aead_open(&k->aead, nonce, p, hdrlen, p + hdrlen, ctlen, plain) == 0, "pkt%s: open failed",
                  name);
    ck_assert_uint_eq(payload.n, ctlen - 16);
    ck_assert_msg(memcmp(plain, payload.p, payload.n) == 0, "pkt%s: payload differs", name);
    /* Re-sealing gives back the captured ciphertext. */
    uint8_t *again = malloc(ctlen);
    ck_assert_int_eq(lwq_aead_seal(&k->aead, nonce, p, hdrlen, plain, ctlen - 16, again), 0);
    ck_assert_mem_eq(again, p + hdrlen, ctlen);
    free(again);
    free(plain);
    free(pkt.p);
    free(unprot.p);
    free(payload.p);
}

START_TEST(test_quic_keys_open_every_packet)
{
    handshake h;
    secrets s;
    static const uint8_t dcid[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint8_t cin[32], sin[32];
    lwq_quic_keys ci, si, ch, sh, c1, s1;

    hs_load(&h);
    run_schedule(&h, &s);
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_QUIC_V1, dcid, sizeof(dcid), cin, sin), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&ci, LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, cin), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&si, LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, sin), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&ch, LWQ_QUIC_V1, h.suite, s.chts), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&sh, LWQ_QUIC_V1, h.suite, s.shts), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&c1, LWQ_QUIC_V1, h.suite, s.cats), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&s1, LWQ_QUIC_V1, h.suite, s.sats), 0);

    /* Short headers carry the peer's 5-byte CID ("s_cid" or "c_cid"). */
    static const struct {
        const char *name;
        int which;
    } pkts[] = {{"01_cinit0", 0}, {"02_sinit0", 1}, {"03_shand0", 3}, {"04_shand1", 3},
                {"05_cinit1", 0}, {"06_chand0", 2}, {"07_chand1", 2}, {"08_cdata0", 4},
                {"09_shand2", 3}, {"10_sdata0", 5}, {"11_cdata1", 4}, {"12_sdata1", 5}};
    const lwq_quic_keys *keys[6] = {&ci, &si, &ch, &sh, &c1, &s1};
    for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++)
        open_packet(pkts[i].name, keys[pkts[i].which], 5);

    /* The wrong direction's keys fail to open. */
    blob pkt = load(IQ "captures/caps/pkt_unprot08_cdata0");
    uint8_t nonce[12], out[64];
    size_t hdrlen = 1 + 5 + (size_t)(pkt.p[0] & 3) + 1;
    ck_assert_uint_le(pkt.n - hdrlen, sizeof(out) + 16);
    lwq_quic_nonce(&s1, pkt.p[hdrlen - 1], nonce);
    ck_assert_int_eq(lwq_aead_open(&s1.aead, nonce, pkt.p, hdrlen, pkt.p + hdrlen, pkt.n - hdrlen, out),
                     LWQ_ERR_DECRYPT);
    free(pkt.p);

    lwq_quic_keys *all[6] = {&ci, &si, &ch, &sh, &c1, &s1};
    for (int i = 0; i < 6; i++)
        lwq_quic_keys_free(all[i]);
    hs_free(&h);
}
END_TEST

Suite *suite_illustrated_secrets(void)
{
    Suite *s = suite_create("illustrated_secrets");
    TCase *tc = lwq_test_tcase("illustrated");
    tcase_add_test(tc, test_keylog_secrets);
    tcase_add_test(tc, test_finished_messages);
    tcase_add_test(tc, test_quic_keys_open_every_packet);
    suite_add_tcase(s, tc);
    return s;
}
