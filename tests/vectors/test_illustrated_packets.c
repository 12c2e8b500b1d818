/* The illustrated-quic capture (../shared/vectors/illustrated-quic): every datagram split into its
 * packets, header protection removed and payloads decrypted with keys from the key log and the
 * client's Initial DCID, every payload decoded into frames. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/mem.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "quic/frame.h"
#include "quic/tparams.h"
#include "lwquic/quic_errors.h"

#define CAPS "vectors/illustrated-quic/captures/caps/"
#define SHORT_CID_LEN 5 /* "c_cid" and "s_cid" */

typedef struct file {
    uint8_t *p;
    size_t n;
} file;

static file load(const char *rel)
{
    file f;
    f.p = lwq_test_read_file(lwq_test_shared_path(rel), &f.n);
    ck_assert_msg(f.p != NULL, "cannot read %s", rel);
    return f;
}

/* The file in caps/ whose name starts with prefix (names carry a suffix such as "_cinit0"). */
static int load_prefix(const char *prefix, file *f, char *name, size_t cap)
{
    DIR *d = opendir(lwq_test_shared_path(CAPS));
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            char rel[512];
            snprintf(rel, sizeof(rel), CAPS "%s", e->d_name);
            *f = load(rel);
            if (name) {
                size_t l = strlen(e->d_name) < cap - 1 ? strlen(e->d_name) : cap - 1;
                memcpy(name, e->d_name, l);
                name[l] = 0;
            }
            found = 1;
            break;
        }
    }
    closedir(d);
    return found;
}

static void keylog_secret(const char *label, uint8_t *out)
{
    file f = load("vectors/illustrated-quic/captures/keylog.txt");
    char *s = malloc(f.n + 1);
    memcpy(s, f.p, f.n);
    s[f.n] = 0;
    char want[80];
    snprintf(want, sizeof(want), "%s ", label);
    char *line = strstr(s, want);
    ck_assert_msg(line != NULL, "%s not in the key log", label);
    char *secret = strchr(line + strlen(want), ' ');
    ck_assert_ptr_nonnull(secret);
    char hex[65];
    memcpy(hex, secret + 1, 64);
    hex[64] = 0;
    ck_assert_uint_eq(lwq_test_unhex(hex, out, 32), 32);
    free(s);
    free(f.p);
}

/* Keys per direction (0 client, 1 server) and epoch (Initial, Handshake, 1-RTT). */
typedef struct ctx {
    lwq_quic_keys keys[2][3];
    uint64_t largest[2][3];
    lwq_suite suite;
} ctx;

static void setup(ctx *c)
{
    /* the negotiated suite, from the ServerHello: type, length, version, random, session id, suite */
    file sh = load(CAPS "crypto_serverhello");
    ck_assert_uint_eq(sh.p[0], 2);
    size_t sid = sh.p[4 + 2 + 32];
    c->suite = (lwq_suite)lwq_get16(sh.p + 4 + 2 + 32 + 1 + sid);
    ck_assert_uint_eq(c->suite, LWQ_SUITE_AES128GCM_SHA256);
    free(sh.p);

    static const uint8_t dcid[] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint8_t cs[32], ss[32];
    ck_assert_int_eq(lwq_quic_initial_secrets(LWQ_QUIC_V1, dcid, sizeof(dcid), cs, ss), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&c->keys[0][0], LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, cs), 0);
    ck_assert_int_eq(lwq_quic_keys_init(&c->keys[1][0], LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, ss), 0);
    static const char *labels[2][2] = {{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"},
                                       {"SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"}};
    for (int dir = 0; dir < 2; dir++) {
        for (int ep = 1; ep < 3; ep++) {
            uint8_t secret[32];
            keylog_secret(labels[dir][ep - 1], secret);
            ck_assert_int_eq(lwq_quic_keys_init(&c->keys[dir][ep], LWQ_QUIC_V1, c->suite, secret), 0);
        }
    }
    for (int dir = 0; dir < 2; dir++)
        for (int ep = 0; ep < 3; ep++)
            c->largest[dir][ep] = LWQ_PN_NONE;
}

static void teardown_keys(ctx *c)
{
    for (int dir = 0; dir < 2; dir++)
        for (int ep = 0; ep < 3; ep++)
            lwq_quic_keys_free(&c->keys[dir][ep]);
}

static int epoch_of(lwq_pkt_type t)
{
    return t == LWQ_PKT_INITIAL ? 0 : t == LWQ_PKT_HANDSHAKE ? 1 : 2;
}

typedef struct seen {
    size_t frames, crypto_bytes[2][3];
    uint8_t crypto[2][3][2048];
    int ping, pong, close, handshake_done, acks;
} seen;

/* Decodes every frame of one payload; checks each against the frame table. */
static void decode_frames(seen *s, int dir, lwq_pkt_type t, const uint8_t *p, size_t n)
{
    lwq_ack_range ranges[16];
    size_t off = 0;
    int ep = epoch_of(t);
    while (off < n) {
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.ack_ranges = ranges;
        f.ack_ranges_cap = 16;
        ssize_t r = lwq_frame_decode(&f, p + off, n - off);
        ck_assert_msg(r > 0, "frame at %zu: %zd", off, r);
        ck_assert_int_eq(lwq_frame_allowed(f.type, t), 0);
        s->frames++;
        if (f.type == LWQ_FRAME_CRYPTO) {
            /* CRYPTO data arrives in order here: offsets continue where the last frame ended */
            ck_assert_uint_eq(f.u.crypto.offset, s->crypto_bytes[dir][ep]);
            ck_assert_uint_le(f.u.crypto.offset + f.u.crypto.len, sizeof(s->crypto[0][0]));
            memcpy(s->crypto[dir][ep] + f.u.crypto.offset, f.u.crypto.data, f.u.crypto.len);
            s->crypto_bytes[dir][ep] += f.u.crypto.len;
        } else if (f.type == LWQ_FRAME_ACK || f.type == LWQ_FRAME_ACK_ECN) {
            ck_assert_uint_eq(f.u.ack.ranges[0].largest, f.u.ack.largest);
            s->acks++;
        } else if (lwq_frame_is_stream(f.type)) {
            ck_assert_uint_eq(f.u.stream.stream_id, 0);
            ck_assert_uint_eq(f.u.stream.offset, 0);
            ck_assert(f.u.stream.fin);
            ck_assert_uint_eq(f.u.stream.len, 4);
            if (dir == 0 && memcmp(f.u.stream.data, "ping", 4) == 0)
                s->ping++;
            if (dir == 1 && memcmp(f.u.stream.data, "pong", 4) == 0)
                s->pong++;
        } else if (f.type == LWQ_FRAME_CONNECTION_CLOSE) {
            ck_assert_uint_eq(f.u.close.error_code, LWQ_QUIC_ERR_NO_ERROR);
            ck_assert_uint_eq(f.u.close.frame_type, 0);
            ck_assert_uint_eq(f.u.close.reason_len, strlen("graceful shutdown"));
            ck_assert_mem_eq(f.u.close.reason, "graceful shutdown", f.u.close.reason_len);
            s->close++;
        } else if (f.type == LWQ_FRAME_HANDSHAKE_DONE) {
            ck_assert_int_eq(dir, 1);
            s->handshake_done++;
        } else {
            ck_assert_uint_eq(f.type, LWQ_FRAME_PADDING);
        }
        off += (size_t)r;
    }
}

START_TEST(test_illustrated_capture)
{
    ctx c;
    setup(&c);
    seen *s = calloc(1, sizeof(*s));
    size_t pkt_no = 0, ndgram = 0;
    for (int dn = 1;; dn++) {
        char prefix[32], name[128];
        file dg;
        snprintf(prefix, sizeof(prefix), "dgram%02d_", dn);
        if (!load_prefix(prefix, &dg, name, sizeof(name)))
            break;
        ndgram++;
        int dir = name[8] == 's';
        size_t off = 0;
        /* RFC 9000 §12.2: packets follow each other; what does not parse ends the datagram */
        while (off < dg.n) {
            lwq_pkt_hdr h;
            ssize_t r = lwq_pkt_hdr_decode(&h, dg.p + off, dg.n - off, SHORT_CID_LEN);
            if (r < 0)
                break;
            pkt_no++;
            file pk, up, pl;
            char pname[128];
            snprintf(prefix, sizeof(prefix), "pkt%02zu_", pkt_no);
            ck_assert(load_prefix(prefix, &pk, pname, sizeof(pname)));
            snprintf(prefix, sizeof(prefix), "pkt_unprot%02zu_", pkt_no);
            ck_assert(load_prefix(prefix, &up, NULL, 0));
            snprintf(prefix, sizeof(prefix), "pkt_payload%02zu_", pkt_no);
            ck_assert(load_prefix(prefix, &pl, NULL, 0));
            /* the file is this packet, plus the datagram's padding when it is the last one */
            ck_assert_uint_le(h.pkt_len, pk.n);
            ck_assert_uint_le(off + pk.n, dg.n);
            ck_assert_mem_eq(pk.p, dg.p + off, pk.n);
            ck_assert_int_eq(pname[6] == 's', dir);

            int ep = epoch_of(h.type);
            uint8_t *buf = lwq_memdup(lwq_test_alloc, dg.p + off, h.pkt_len);
            lwq_unprotected u;
            ck_assert_int_eq(lwq_hp_remove(&c.keys[dir][ep].hp, buf, h.pkt_len, h.pn_offset, c.largest[dir][ep], &u),
                             0);
            ck_assert_mem_eq(buf, up.p, h.pkt_len);
            ck_assert_int_eq(lwq_payload_decrypt(&c.keys[dir][ep], buf, h.pkt_len, &u), 0);
            ck_assert_uint_eq(u.payload_len, pl.n);
            ck_assert_mem_eq(buf + u.payload_off, pl.p, pl.n);
            if (c.largest[dir][ep] == LWQ_PN_NONE || u.pn > c.largest[dir][ep])
                c.largest[dir][ep] = u.pn;
            decode_frames(s, dir, h.type, buf + u.payload_off, u.payload_len);
            lwq_free(lwq_test_alloc, buf);
            free(pk.p);
            free(up.p);
            free(pl.p);
            off += h.pkt_len;
        }
        for (size_t i = off; i < dg.n; i++)
            ck_assert_msg(dg.p[i] == 0, "datagram %d: junk after its packets", dn);
        free(dg.p);
    }
    ck_assert_uint_eq(ndgram, 8);
    ck_assert_uint_eq(pkt_no, 12);
    /* the CRYPTO streams reassemble into the TLS messages of the capture */
    static const struct {
        int dir, ep;
        const char *files[4];
    } streams[] = {
        {0, 0, {"crypto_clienthello"}},
        {1, 0, {"crypto_serverhello"}},
        {1, 1, {"crypto_extensions", "crypto_cert", "crypto_certverify", "crypto_s_finished"}},
        {0, 1, {"crypto_c_finished"}},
    };
    for (size_t i = 0; i < 4; i++) {
        size_t at = 0;
        for (size_t j = 0; j < 4 && streams[i].files[j]; j++) {
            char rel[512];
            snprintf(rel, sizeof(rel), CAPS "%s", streams[i].files[j]);
            file m = load(rel);
            ck_assert_mem_eq(s->crypto[streams[i].dir][streams[i].ep] + at, m.p, m.n);
            at += m.n;
            free(m.p);
        }
        ck_assert_uint_eq(s->crypto_bytes[streams[i].dir][streams[i].ep], at);
    }
    ck_assert_int_eq(s->ping, 1);
    ck_assert_int_eq(s->pong, 1);
    ck_assert_int_eq(s->close, 1);
    ck_assert_int_eq(s->handshake_done, 1);
    ck_assert_int_ge(s->acks, 6);
    free(s);
    teardown_keys(&c);
}
END_TEST

/* The server's Handshake CRYPTO data spans two packets: offsets 0 and 1023 (pkt03, pkt04). */
START_TEST(test_illustrated_crypto_offsets)
{
    static const struct {
        const char *file;
        uint64_t offset, len;
    } want[] = {{"pkt_payload03_shand0", 0, 1023}, {"pkt_payload04_shand1", 1023, 185}};
    for (size_t i = 0; i < 2; i++) {
        char rel[512];
        snprintf(rel, sizeof(rel), CAPS "%s", want[i].file);
        file p = load(rel);
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        ssize_t r = lwq_frame_decode(&f, p.p, p.n);
        ck_assert_int_gt(r, 0);
        ck_assert_uint_eq(f.type, LWQ_FRAME_CRYPTO);
        ck_assert_uint_eq(f.u.crypto.offset, want[i].offset);
        ck_assert_uint_eq(f.u.crypto.len, want[i].len);
        free(p.p);
    }
    /* the client's first 1-RTT packet: STREAM 0, offset 0, "ping", FIN */
    file p = load(CAPS "pkt_payload08_cdata0");
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(lwq_frame_decode(&f, p.p, p.n), (ssize_t)p.n);
    ck_assert_uint_eq(f.type, LWQ_FRAME_STREAM | LWQ_STREAM_BIT_OFF | LWQ_STREAM_BIT_LEN | LWQ_STREAM_BIT_FIN);
    ck_assert_mem_eq(f.u.stream.data, "ping", 4);
    /* every prefix of it fails cleanly */
    for (size_t k = 0; k < p.n; k++)
        ck_assert_int_eq(lwq_frame_decode(&f, p.p, k), LWQ_ERR_TRUNCATED);
    free(p.p);
}
END_TEST

/* The quic_transport_parameters extension (0x39) of a ClientHello (type 1) or EncryptedExtensions (8). */
static const uint8_t *tp_extension(const file *m, size_t *len)
{
    const uint8_t *p = m->p + 4, *end = m->p + m->n;
    if (m->p[0] == 1) {
        p += 2 + 32;           /* legacy_version, random */
        p += 1 + p[0];         /* legacy_session_id */
        p += 2 + lwq_get16(p); /* cipher_suites */
        p += 1 + p[0];         /* legacy_compression_methods */
    }
    p += 2;
    while (p + 4 <= end) {
        uint16_t type = lwq_get16(p), elen = lwq_get16(p + 2);
        p += 4;
        ck_assert(elen <= (size_t)(end - p));
        if (type == 0x39) {
            *len = elen;
            return p;
        }
        p += elen;
    }
    ck_abort_msg("no quic_transport_parameters");
    return NULL;
}

/* Both sides' transport parameters, and the connection ID authentication of RFC 9000 §7.3. */
START_TEST(test_illustrated_transport_parameters)
{
    file ch = load(CAPS "crypto_clienthello"), ee = load(CAPS "crypto_extensions");
    size_t n;
    const uint8_t *p = tp_extension(&ch, &n);
    lwq_tparams tp;
    ck_assert_int_eq(lwq_tparams_decode(&tp, p, n, 0), (ssize_t)n);
    ck_assert(tp.has_initial_scid && lwq_cid_eq(&tp.initial_scid, (const uint8_t *)"c_cid", 5));
    ck_assert_uint_eq(tp.max_udp_payload_size, 65527);
    ck_assert_uint_eq(tp.initial_max_streams_bidi, 10);
    ck_assert_uint_eq(tp.max_ack_delay, 25);
    lwq_tp_cids cids;
    memset(&cids, 0, sizeof(cids));
    lwq_cid_set(&cids.peer_scid, (const uint8_t *)"c_cid", 5);
    ck_assert_int_eq(lwq_tparams_check_cids(&tp, 0, &cids), 0);

    p = tp_extension(&ee, &n);
    ck_assert_int_eq(lwq_tparams_decode(&tp, p, n, 1), (ssize_t)n);
    ck_assert_uint_eq(tp.max_idle_timeout, 120000);
    ck_assert_uint_eq(tp.initial_max_streams_bidi, 2);
    lwq_cid_set(&cids.peer_scid, (const uint8_t *)"s_cid", 5);
    lwq_cid_set(&cids.odcid, (const uint8_t *)"\x00\x01\x02\x03\x04\x05\x06\x07", 8);
    ck_assert_int_eq(lwq_tparams_check_cids(&tp, 1, &cids), 0);
    cids.retried = 1;
    ck_assert_int_eq(lwq_tparams_check_cids(&tp, 1, &cids), LWQ_ERR_PROTO);
    /* the server's set is not acceptable from a client */
    ck_assert_int_eq(lwq_tparams_decode(&tp, p, n, 0), LWQ_ERR_PROTO);
    ck_assert_uint_eq(tp.error_param, LWQ_TP_ORIGINAL_DCID);
    free(ch.p);
    free(ee.p);
}
END_TEST

Suite *suite_illustrated_packets(void)
{
    Suite *s = suite_create("illustrated_packets");
    TCase *tc = lwq_test_tcase("illustrated_packets");
    tcase_add_test(tc, test_illustrated_capture);
    tcase_add_test(tc, test_illustrated_crypto_offsets);
    tcase_add_test(tc, test_illustrated_transport_parameters);
    suite_add_tcase(s, tc);
    return s;
}
