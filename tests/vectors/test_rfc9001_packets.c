/* RFC 9001 Appendix A and RFC 9369 Appendix A: every value is parsed from the RFC texts in
 * ../shared/specs, none is retyped here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "quic/frame.h"

static char *read_md(const char *name)
{
    size_t n;
    uint8_t *raw = lwq_test_read_file(lwq_test_shared_path(name), &n);
    ck_assert_msg(raw != NULL, "cannot read %s", name);
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, raw, n);
    s[n] = 0;
    free(raw);
    return s;
}

static const char *find(const char *from, const char *what)
{
    const char *p = strstr(from, what);
    ck_assert_msg(p != NULL, "'%s' not found", what);
    return p + strlen(what);
}

static int hex_token(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)p[i]))
            return 0;
    return len > 0;
}

/* Hex tokens from p on, up to a blank line or a token that is not hex. */
static size_t hex_run(const char *p, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int newlines = 0;
        while (*p == ' ' || *p == '\n') {
            newlines += *p == '\n';
            p++;
        }
        if (newlines > 1 || !*p)
            break;
        size_t len = strcspn(p, " \n");
        if (!hex_token(p, len))
            break;
        char tok[256];
        ck_assert_uint_lt(len, sizeof(tok));
        memcpy(tok, p, len);
        tok[len] = 0;
        n += lwq_test_unhex(tok, out + n, cap - n);
        p += len;
    }
    return n;
}

/* The hex of the first ~~~ block after marker. */
static size_t block_after(const char *from, const char *marker, uint8_t *out, size_t cap)
{
    const char *p = find(find(from, marker), "~~~\n");
    size_t n = hex_run(p, out, cap);
    ck_assert_uint_gt(n, 0);
    return n;
}

/* The hex after the first "= <hex>" that follows key. */
static size_t value_after(const char *from, const char *key, uint8_t *out, size_t cap)
{
    const char *p = find(from, key) - strlen(key);
    for (;;) {
        p = find(p, "= ");
        while (*p == ' ')
            p++;
        size_t n = hex_run(p, out, cap);
        if (n)
            return n;
    }
}

/* With LWQ_WRITE_CORPUS=dir, the protected packets become fuzz seeds. */
static void write_seed(const char *name, uint32_t version, const uint8_t *p, size_t n)
{
    const char *dir = getenv("LWQ_WRITE_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/rfc_%s_%08x", dir, name, version);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(p, 1, n, fp);
    fclose(fp);
}

typedef struct vectors {
    const char *md;
    uint32_t version;
    const char *section; /* start of the appendix */
} vectors;

static void init_keys(lwq_quic_keys *ck, lwq_quic_keys *sk, const vectors *v, const char *app, const uint8_t *dcid,
                      size_t dcid_len)
{
    uint8_t cs[32], ss[32], want[64];
    ck_assert_int_eq(lwq_quic_initial_secrets(v->version, dcid, dcid_len, cs, ss), 0);
    ck_assert_uint_eq(value_after(app, "client_initial_secret", want, sizeof(want)), 32);
    ck_assert_mem_eq(cs, want, 32);
    ck_assert_uint_eq(value_after(app, "server_initial_secret", want, sizeof(want)), 32);
    ck_assert_mem_eq(ss, want, 32);
    ck_assert_int_eq(lwq_quic_keys_init(ck, v->version, LWQ_SUITE_AES128GCM_SHA256, cs), 0);
    ck_assert_int_eq(lwq_quic_keys_init(sk, v->version, LWQ_SUITE_AES128GCM_SHA256, ss), 0);
}

/* Protects payload under the unprotected header hdr and compares with the expected packet, then takes
 * it apart again. */
static void check_initial(const lwq_quic_keys *k, const uint8_t *hdr, size_t hdr_len, const uint8_t *frames,
                          size_t frames_len, const uint8_t *want, size_t want_len, const char *sample_text,
                          uint32_t version, const uint8_t *dcid, size_t dcid_len)
{
    /* the header decodes to what the RFC says and re-encodes byte for byte */
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, want, want_len, 0), (ssize_t)want_len);
    ck_assert_int_eq(h.type, LWQ_PKT_INITIAL);
    ck_assert_uint_eq(h.version, version);
    size_t pn_len = (size_t)(hdr[0] & 3) + 1;
    ck_assert_uint_eq(h.pn_offset + pn_len, hdr_len);
    uint64_t pn = 0;
    for (size_t i = 0; i < pn_len; i++)
        pn = pn << 8 | hdr[hdr_len - pn_len + i];
    size_t payload_len = (size_t)h.length - pn_len - 16;
    ck_assert_uint_ge(payload_len, frames_len);
    lwq_pkt_hdr_out o = {.type = LWQ_PKT_INITIAL,
                         .version = version,
                         .dcid = h.dcid,
                         .dcid_len = h.dcid_len,
                         .scid = h.scid,
                         .scid_len = h.scid_len,
                         .pn = pn,
                         .pn_len = pn_len,
                         .payload_len = payload_len,
                         .tag_len = 16};
    if (dcid)
        ck_assert(h.dcid_len == dcid_len && memcmp(h.dcid, dcid, dcid_len) == 0);
    uint8_t *pkt = lwq_calloc(lwq_test_alloc, 1, want_len);
    ck_assert_int_eq(lwq_pkt_hdr_encode(pkt, want_len, &o), (ssize_t)hdr_len);
    ck_assert_mem_eq(pkt, hdr, hdr_len);
    /* frames then PADDING up to the Length */
    memcpy(pkt + hdr_len, frames, frames_len);
    ck_assert_int_eq(lwq_packet_protect(k, pn, pkt, hdr_len, payload_len, want_len), (ssize_t)want_len);
    ck_assert_mem_eq(pkt, want, want_len);
    /* the sample the RFC shows */
    uint8_t sample[16];
    ck_assert_uint_eq(value_after(sample_text, "sample", sample, sizeof(sample)), 16);
    ck_assert_mem_eq(pkt + h.pn_offset + 4, sample, 16);

    lwq_unprotected u;
    ck_assert_int_eq(lwq_packet_unprotect(k, pkt, want_len, h.pn_offset, LWQ_PN_NONE, &u), 0);
    ck_assert_uint_eq(u.pn, pn);
    ck_assert_mem_eq(pkt, hdr, hdr_len);
    ck_assert_uint_eq(u.payload_len, payload_len);
    ck_assert_mem_eq(pkt + u.payload_off, frames, frames_len);
    for (size_t i = frames_len; i < payload_len; i++)
        ck_assert_uint_eq(pkt[u.payload_off + i], 0);
    lwq_free(lwq_test_alloc, pkt);
}

static void run_initials(const vectors *v)
{
    char *md = read_md(v->md);
    const char *app = find(md, v->section);
    static const uint8_t dcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    lwq_quic_keys ck, sk;
    init_keys(&ck, &sk, v, app, dcid, sizeof(dcid));
    uint8_t hdr[64], frames[1300], want[1300];

    const char *client = find(app, "## Client Initial");
    size_t fl = block_after(client, "following CRYPTO frame", frames, sizeof(frames));
    size_t hl = block_after(client, "and a packet number of 2:", hdr, sizeof(hdr));
    size_t wl = block_after(client, "The resulting protected packet is:", want, sizeof(want));
    ck_assert_uint_eq(wl, 1200);
    write_seed("client_initial", v->version, want, wl);
    check_initial(&ck, hdr, hl, frames, fl, want, wl, client, v->version, dcid, sizeof(dcid));
    /* the CRYPTO frame is one ClientHello at offset 0 */
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(lwq_frame_decode(&f, frames, fl), (ssize_t)fl);
    ck_assert_uint_eq(f.type, LWQ_FRAME_CRYPTO);
    ck_assert_uint_eq(f.u.crypto.offset, 0);
    ck_assert_uint_eq(f.u.crypto.data[0], 0x01);

    const char *server = find(app, "## Server Initial");
    fl = block_after(server, "and no PADDING frames:", frames, sizeof(frames));
    hl = block_after(server, "for a packet number of 1:", hdr, sizeof(hdr));
    wl = block_after(server, "The final protected packet is then:", want, sizeof(want));
    write_seed("server_initial", v->version, want, wl);
    check_initial(&sk, hdr, hl, frames, fl, want, wl, server, v->version, NULL, 0);
    /* ACK of packet 0, then CRYPTO with the ServerHello */
    lwq_ack_range r[2];
    f.ack_ranges = r;
    f.ack_ranges_cap = 2;
    ssize_t k = lwq_frame_decode(&f, frames, fl);
    ck_assert_int_gt(k, 0);
    ck_assert_uint_eq(f.type, LWQ_FRAME_ACK);
    ck_assert_uint_eq(f.u.ack.largest, 0);
    ck_assert_int_eq(lwq_frame_decode(&f, frames + k, fl - (size_t)k), (ssize_t)(fl - (size_t)k));
    ck_assert_uint_eq(f.type, LWQ_FRAME_CRYPTO);
    ck_assert_uint_eq(f.u.crypto.data[0], 0x02);

    /* Retry: rebuilt from its fields, with the tag computed over the client's DCID */
    const char *retry = find(app, "## Retry");
    wl = block_after(retry, "included in the final Retry packet:", want, sizeof(want));
    write_seed("retry", v->version, want, wl);
    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, want, wl, 0), (ssize_t)wl);
    ck_assert_int_eq(h.type, LWQ_PKT_RETRY);
    ck_assert_int_eq(lwq_retry_verify(&h, want, dcid, sizeof(dcid)), 0);
    uint8_t built[128];
    ck_assert_int_eq(lwq_retry_encode(built, sizeof(built), v->version, h.dcid, h.dcid_len, h.scid, h.scid_len, h.token,
                                      h.token_len, dcid, sizeof(dcid), want[0] & 0x0f),
                     (ssize_t)wl);
    ck_assert_mem_eq(built, want, wl);
    ck_assert_int_eq(lwq_retry_verify(&h, want, dcid, 7), LWQ_ERR_DECRYPT);

    lwq_quic_keys_free(&ck);
    lwq_quic_keys_free(&sk);
    free(md);
}

/* §A.5: the ChaCha20-Poly1305 short header packet */
static void run_chacha(const vectors *v)
{
    char *md = read_md(v->md);
    const char *sec = find(find(md, v->section), "## ChaCha20-Poly1305 Short Header Packet");
    uint8_t secret[32], hdr[8], plain[8], want[64], sample[16];
    ck_assert_uint_eq(value_after(sec, "secret", secret, sizeof(secret)), 32);
    size_t hl = value_after(sec, "unprotected header", hdr, sizeof(hdr));
    size_t pl = value_after(sec, "payload plaintext", plain, sizeof(plain));
    size_t wl = value_after(sec, "packet = ", want, sizeof(want));
    ck_assert_uint_eq(value_after(sec, "sample", sample, sizeof(sample)), 16);
    ck_assert_uint_eq(wl, 21);
    write_seed("chacha_short", v->version, want, wl);
    /* the packet number, in decimal in the text */
    const char *pnp = find(sec, "pn                 = ");
    uint64_t pn = strtoull(pnp, NULL, 10);
    ck_assert_uint_eq(pn, 654360564);

    lwq_quic_keys k;
    ck_assert_int_eq(lwq_quic_keys_init(&k, v->version, LWQ_SUITE_CHACHA20POLY1305_SHA256, secret), 0);
    uint8_t nonce[12], want_nonce[12];
    lwq_quic_nonce(&k, pn, nonce);
    ck_assert_uint_eq(value_after(sec, "nonce", want_nonce, sizeof(want_nonce)), 12);
    ck_assert_mem_eq(nonce, want_nonce, 12);

    lwq_pkt_hdr_out o = {.type = LWQ_PKT_1RTT, .pn = pn, .pn_len = (size_t)(hdr[0] & 3) + 1};
    uint8_t pkt[64];
    ck_assert_int_eq(lwq_pkt_hdr_encode(pkt, sizeof(pkt), &o), (ssize_t)hl);
    ck_assert_mem_eq(pkt, hdr, hl);
    memcpy(pkt + hl, plain, pl);
    ck_assert_int_eq(lwq_packet_protect(&k, pn, pkt, hl, pl, sizeof(pkt)), (ssize_t)wl);
    ck_assert_mem_eq(pkt, want, wl);
    ck_assert_mem_eq(pkt + 1 + 4, sample, 16); /* one byte skipped: a 3-byte packet number */

    lwq_pkt_hdr h;
    ck_assert_int_eq(lwq_pkt_hdr_decode(&h, pkt, wl, 0), (ssize_t)wl);
    lwq_unprotected u;
    ck_assert_int_eq(lwq_packet_unprotect(&k, pkt, wl, h.pn_offset, pn - 1, &u), 0);
    ck_assert_uint_eq(u.pn, pn);
    ck_assert_uint_eq(u.payload_len, 1);
    ck_assert_uint_eq(pkt[u.payload_off], 0x01);
    ck_assert_mem_eq(pkt, hdr, hl);
    lwq_quic_keys_free(&k);
    free(md);
}

static const vectors rfc9001 = {"specs/rfc9001.md", LWQ_QUIC_V1, "# Sample Packet Protection {#test-vectors}"};
static const vectors rfc9369 = {"specs/rfc9369.md", LWQ_QUIC_V2, "# Sample Packet Protection {#test-vectors}"};

START_TEST(test_rfc9001_initials_and_retry)
{
    run_initials(&rfc9001);
}
END_TEST

START_TEST(test_rfc9001_chacha_short_header)
{
    run_chacha(&rfc9001);
}
END_TEST

START_TEST(test_rfc9369_initials_and_retry)
{
    run_initials(&rfc9369);
}
END_TEST

START_TEST(test_rfc9369_chacha_short_header)
{
    run_chacha(&rfc9369);
}
END_TEST

Suite *suite_rfc9001_packets(void)
{
    Suite *s = suite_create("rfc9001_packets");
    TCase *tc = lwq_test_tcase("rfc9001_packets");
    tcase_add_test(tc, test_rfc9001_initials_and_retry);
    tcase_add_test(tc, test_rfc9001_chacha_short_header);
    tcase_add_test(tc, test_rfc9369_initials_and_retry);
    tcase_add_test(tc, test_rfc9369_chacha_short_header);
    suite_add_tcase(s, tc);
    return s;
}
