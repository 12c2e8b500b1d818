/* Hostile peers at the QUIC transport layer (issue 19): CRYPTO gaps, ACK range floods. Each test runs the
 * attack from a detached client (tests/attack/attack.h) against an lwq_server that also serves a legitimate
 * client, and checks the server's memory (counting allocator peak over the baseline), its work (datagrams
 * it sends per datagram received, timers left in the past), the close code RFC 9000 asks for, and that the
 * legitimate client's fetch completes. */
#include "attack.h"

#define KB 1024

static void ping(atk *a, unsigned n)
{
    static const uint8_t p[] = {LWQ_FRAME_PING};
    for (unsigned i = 0; i < n; i++) {
        atk_inject(a, p, 1);
        if (i % 2 == 1)
            atk_step(a);
    }
    for (int i = 0; i < 30; i++)
        atk_step(a);
}

static size_t crypto_frame(uint8_t *out, uint64_t off, size_t len)
{
    static const uint8_t junk[1200];
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_CRYPTO;
    f.u.crypto.offset = off;
    f.u.crypto.data = junk;
    f.u.crypto.len = len;
    return atk_frame(out, 1200, &f);
}

/* RFC 9000 §7.5: out-of-order 1-RTT CRYPTO data, one byte per gap spread over the reassembly buffer
 * (max_crypto_buffer, 64 KiB), so the buffer grows to its bound and the gap count to its limit (32 gaps):
 * the connection closes with CRYPTO_BUFFER_EXCEEDED and the server holds no more than the buffer. */
START_TEST(test_crypto_gaps)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t f[1200];
    unsigned sent = 0;
    for (unsigned i = 1; i <= 40 && !a.evil.close_seen; i++) {
        /* offsets i * 1.9 KiB: isolated ranges, all inside the 64 KiB window */
        size_t n = crypto_frame(f, (uint64_t)i * 1900, 1);
        atk_inject(&a, f, n);
        atk_step(&a);
        sent++;
    }
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_CRYPTO_BUFFER_EXCEEDED);
    ck_assert_uint_eq(a.evil.close_frame_type, LWQ_FRAME_CRYPTO);
    ck_assert_uint_ge(sent, 33); /* the 33rd isolated range is one too many */
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 2 * 64 * KB, "CRYPTO reassembly held %zu bytes", peak);
    atk_report(&a, "crypto_gaps", base);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* RFC 9000 §7.5: CRYPTO data far beyond the buffer, repeated at many offsets in every packet: the first one
 * closes the connection with CRYPTO_BUFFER_EXCEEDED, nothing is buffered, the server sends only the close. */
START_TEST(test_crypto_beyond_buffer)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t f[1200];
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        n += crypto_frame(f + n, (1ull << 40) + (uint64_t)i * 100000, 100);
    uint64_t out0 = a.evil.dgrams_rx;
    unsigned flood = 200 * atk_scale();
    for (unsigned i = 0; i < flood; i++) {
        atk_inject(&a, f, n);
        if (i % 16 == 0)
            atk_step(&a);
    }
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_CRYPTO_BUFFER_EXCEEDED);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 16 * KB);
    atk_report(&a, "crypto_beyond_buffer", base);
    /* closing: a CONNECTION_CLOSE now and then (RFC 9000 §10.2.1), not one per packet of the flood; once the
     * connection is gone, stateless resets, each smaller than what drew it */
    ck_assert_uint_le(a.evil.dgrams_rx - out0, 20 + flood / 40);
    ck_assert_uint_le(a.srv_replies, flood);
    ck_assert_uint_lt(a.srv_reply_bytes, a.evil.bytes_tx);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* One Initial from a client that never finished a handshake: null protection, the given frames, PADDING to
 * 1200 bytes (RFC 9000 §14.1). */
static size_t initial(uint8_t *out, uint64_t pn, const uint8_t *frames, size_t n)
{
    static const uint8_t dcid[8] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
    static const uint8_t scid[8] = {0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58};
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    ho.type = LWQ_PKT_INITIAL;
    ho.version = LWQ_VERSION_1;
    ho.dcid = dcid;
    ho.dcid_len = 8;
    ho.scid = scid;
    ho.scid_len = 8;
    ho.pn = pn;
    ho.pn_len = 4;
    ho.payload_len = 1200 - 1 - 4 - 1 - 8 - 1 - 8 - 1 - 2 - 4 - LWQ_AEAD_TAG_LEN;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ck_assert_uint_le(n, ho.payload_len);
    ssize_t h = lwq_pkt_hdr_encode(out, 1500, &ho);
    ck_assert_int_gt(h, 0);
    memset(out + h, 0, ho.payload_len);
    memcpy(out + h, frames, n);
    ssize_t k = lwq_packet_protect(&lwq_null_keys, pn, out, (size_t)h, ho.payload_len, 1500);
    ck_assert_int_eq(k, 1200);
    return (size_t)k;
}

/* The CONNECTION_CLOSE code in the server's Initial packets, or -1. */
static int64_t initial_close_code(const uint8_t *d, size_t n)
{
    lwq_pkt_hdr h;
    if (lwq_pkt_hdr_decode(&h, d, n, 8) <= 0 || h.type != LWQ_PKT_INITIAL)
        return -1;
    uint8_t buf[1500];
    memcpy(buf, d, h.pkt_len);
    lwq_unprotected u;
    if (lwq_packet_unprotect(&lwq_null_keys, buf, h.pkt_len, h.pn_offset, 0, &u))
        return -1;
    const uint8_t *f = buf + u.payload_off;
    size_t left = u.payload_len;
    lwq_ack_range r[64];
    while (left) {
        lwq_frame fr;
        memset(&fr, 0, sizeof(fr));
        fr.ack_ranges = r;
        fr.ack_ranges_cap = 64;
        ssize_t k = lwq_frame_decode(&fr, f, left);
        if (k <= 0)
            return -1;
        if (fr.type == LWQ_FRAME_CONNECTION_CLOSE)
            return (int64_t)fr.u.close.error_code;
        f += k;
        left -= (size_t)k;
    }
    return -1;
}

/* CRYPTO gaps before any handshake (RFC 9000 §7.5): Initials from an address never validated carry one-byte
 * CRYPTO ranges with gaps across the 64 KiB buffer, the first byte never sent. The half-open connection holds
 * at most the buffer, sends at most three times what it received (§8.1), and closes with
 * CRYPTO_BUFFER_EXCEEDED at the range past the limit; a legitimate fetch carries on. */
START_TEST(test_crypto_gaps_initial)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    lwq_path from = fuzz_path("10.0.0.2", 443, "172.20.0.1", 7777);
    lwq_conn *sc = NULL;
    uint64_t in = 0, out = 0;
    int64_t code = -1;
    size_t conn_cost = 0;
    for (unsigned i = 1; i <= 40 && code < 0; i++) {
        uint8_t f[64], d[1500];
        size_t n = crypto_frame(f, (uint64_t)i * 1900, 1);
        size_t len = initial(d, i, f, n);
        lwq_conn *c = NULL;
        ck_assert_int_eq(lwq_server_recv(a.srv, &from, d, len, 0, a.now, &c, NULL), 0);
        if (c)
            sc = c;
        in += len;
        ssize_t k;
        while (sc && (k = fuzz_conn_out(sc, d, sizeof(d), a.now)) > 0) {
            out += (uint64_t)k;
            if (code < 0)
                code = initial_close_code(d, (size_t)k);
        }
        ck_assert_uint_le(out, 3 * in);
        atk_step(&a);
        if (i == 1) { /* what a half-open connection costs by itself; the gaps are counted from here */
            conn_cost = lwq_test_alloc_live_bytes() - base;
            base = lwq_test_alloc_live_bytes();
            lwq_test_alloc_peak_reset();
        }
    }
    ck_assert_int_eq(code, LWQ_QUIC_ERR_CRYPTO_BUFFER_EXCEEDED);
    ck_assert_ptr_nonnull(sc);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 2 * 64 * KB, "the CRYPTO gaps of a half-open connection held %zu bytes", peak);
    if (getenv("LWQ_ATTACK_DEBUG"))
        fprintf(stderr, "crypto_gaps_initial: a half-open connection %zu bytes, its gaps %zu more; %llu bytes in, "
                "%llu out\n", conn_cost, peak, (unsigned long long)in, (unsigned long long)out);
    lwq_server_remove(a.srv, sc);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* An ACK frame over the receive-side range limit (max_ack_ranges, 64) is a FRAME_ENCODING_ERROR (a limit is
 * a clean error, docs/architecture.md); the ranges are never stored. */
START_TEST(test_ack_too_many_ranges)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    lwq_ack_range r[100];
    for (int i = 0; i < 100; i++)
        r[i] = (lwq_ack_range){(uint64_t)(100000 - 2 * i), (uint64_t)(100000 - 2 * i)};
    lwq_frame fr;
    memset(&fr, 0, sizeof(fr));
    fr.type = LWQ_FRAME_ACK;
    fr.u.ack.largest = 100000;
    fr.u.ack.ranges = r;
    fr.u.ack.range_count = 100;
    uint8_t f[1200];
    size_t n = atk_frame(f, sizeof(f), &fr);
    atk_inject(&a, f, n);
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_FRAME_ENCODING_ERROR);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* RFC 9000 §13.1, §21.4: an ACK of a packet number the server never sent is a PROTOCOL_VIOLATION. */
START_TEST(test_ack_never_sent)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    lwq_ack_range r = {0, 1000000};
    lwq_frame fr;
    memset(&fr, 0, sizeof(fr));
    fr.type = LWQ_FRAME_ACK;
    fr.u.ack.largest = 1000000;
    fr.u.ack.ranges = &r;
    fr.u.ack.range_count = 1;
    uint8_t f[64];
    atk_inject(&a, f, atk_frame(f, sizeof(f), &fr));
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* Many ACK frames: every packet holds as many ACK frames as fit, each with up to 32 ranges of packet numbers
 * the server did send (every other one, so each is its own range), while the legitimate client fetches.
 * ACK-only packets elicit nothing (RFC 9000 §13.2.1): the server sends the hostile client almost nothing, holds
 * no more memory, keeps the connection open, and the fetch completes. */
START_TEST(test_ack_flood)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    ping(&a, 160); /* some 80 server packet numbers to acknowledge */
    ck_assert_uint_ge(a.evil.rx.count ? lwq_ranges_max(&a.evil.rx) - lwq_ranges_min(&a.evil.rx) : 0, 64);
    lwq_ack_range r[32];
    size_t nr = 0;
    for (uint64_t pn = lwq_ranges_max(&a.evil.rx) - 1; nr < 32 && pn >= lwq_ranges_min(&a.evil.rx) + 2; pn -= 2)
        if (lwq_ranges_contains(&a.evil.rx, pn, pn + 1))
            r[nr++] = (lwq_ack_range){pn, pn};
    ck_assert_uint_ge(nr, 20);
    lwq_frame fr;
    memset(&fr, 0, sizeof(fr));
    fr.type = LWQ_FRAME_ACK;
    fr.u.ack.largest = r[0].largest;
    fr.u.ack.ranges = r;
    fr.u.ack.range_count = nr;
    uint8_t f[1200];
    size_t one = lwq_frame_encoded_len(&fr), n = 0;
    ck_assert_uint_gt(one, 0);
    while (n + one <= sizeof(f))
        n += atk_frame(f + n, sizeof(f) - n, &fr);
    size_t base = lwq_test_alloc_live_bytes();
    lwq_test_alloc_peak_reset();
    atk_fetch_start(&a, 512 * KB);
    uint64_t rx0 = a.evil.dgrams_rx, in0 = a.evil.dgrams_tx;
    unsigned flood = 3000 * atk_scale();
    for (unsigned i = 0; i < flood; i++) {
        atk_inject(&a, f, n);
        if (i % 20 == 0)
            atk_step(&a);
    }
    ck_assert_msg(atk_run(&a, atk_fetch_done, 20000), "fetch stalled at %llu", (unsigned long long)a.good.got);
    ck_assert(!a.evil.close_seen);
    ck_assert_ptr_nonnull(a.evil.sc);
    uint64_t in = a.evil.dgrams_tx - in0, out = a.evil.dgrams_rx - rx0;
    ck_assert_msg(out <= 10, "%llu ACK-only datagrams drew %llu datagrams", (unsigned long long)in,
                  (unsigned long long)out);
    /* the fetch's own buffers, not the flood: send buffer (256 KiB) and sent map */
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 768 * KB, "peak %zu bytes over the baseline", peak);
    atk_report(&a, "ack_flood", base);
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

Suite *suite_attack_quic(void)
{
    Suite *s = suite_create("attack_quic");
    TCase *tc = lwq_test_tcase("attack_quic");
    tcase_add_test(tc, test_crypto_gaps);
    tcase_add_test(tc, test_crypto_beyond_buffer);
    tcase_add_test(tc, test_crypto_gaps_initial);
    tcase_add_test(tc, test_ack_too_many_ranges);
    tcase_add_test(tc, test_ack_never_sent);
    tcase_add_test(tc, test_ack_flood);
    suite_add_tcase(s, tc);
    return s;
}
