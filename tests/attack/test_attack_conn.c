/* Hostile peers against connection state (issue 19): NEW_CONNECTION_ID / RETIRE_CONNECTION_ID floods,
 * PATH_CHALLENGE floods, stream-limit abuse and stream churn, from a detached client (tests/attack/attack.h)
 * while a legitimate client fetches from the same lwq_server. */
#include "attack.h"

#define KB 1024

static size_t new_cid(uint8_t *out, uint64_t seq, uint64_t retire_prior_to)
{
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_NEW_CONNECTION_ID;
    f.u.new_cid.seq = seq;
    f.u.new_cid.retire_prior_to = retire_prior_to;
    f.u.new_cid.cid.len = 8;
    for (int i = 0; i < 8; i++)
        f.u.new_cid.cid.id[i] = (uint8_t)(seq >> (8 * (i % 4))) ^ (uint8_t)(0x5a + i);
    memset(f.u.new_cid.reset_token, (int)(seq & 0xff), sizeof(f.u.new_cid.reset_token));
    f.u.new_cid.reset_token[0] = (uint8_t)(seq >> 8);
    return atk_frame(out, 64, &f);
}

static size_t retire_cid(uint8_t *out, uint64_t seq)
{
    out[0] = LWQ_FRAME_RETIRE_CONNECTION_ID;
    return 1 + atk_vi(out + 1, seq);
}

/* RFC 9000 §5.1.1: more active connection IDs than our active_connection_id_limit (4) is a
 * CONNECTION_ID_LIMIT_ERROR. */
START_TEST(test_new_cid_over_limit)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    uint8_t f[1200];
    size_t n = 0;
    for (uint64_t s = 100; s < 110; s++)
        n += new_cid(f + n, s, 0);
    atk_inject(&a, f, n);
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* Connection-ID churn: every packet brings four new IDs and retires all older ones (retire_prior_to), so the
 * server owes a RETIRE_CONNECTION_ID for each (RFC 9000 §5.1.2). Paced at one packet per millisecond and
 * acknowledged, the server keeps up: the connection stays open, every retired ID is answered, its memory and
 * the datagrams it sends stay proportional to one packet's worth. */
START_TEST(test_new_cid_churn)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    atk_fetch_start(&a, 256 * KB);
    unsigned rounds = 500 * atk_scale();
    uint64_t seq = 100, out0 = a.evil.dgrams_rx;
    for (unsigned i = 0; i < rounds && !a.evil.close_seen; i++) {
        uint8_t f[1200];
        size_t n = 0;
        uint64_t first = seq;
        for (int k = 0; k < 4; k++, seq++)
            n += new_cid(f + n, seq, first);
        atk_inject(&a, f, n);
        atk_step(&a);
    }
    ck_assert_msg(atk_run(&a, atk_fetch_done, 20000), "fetch stalled at %llu", (unsigned long long)a.good.got);
    for (int i = 0; i < 50; i++)
        atk_step(&a);
    ck_assert_msg(!a.evil.close_seen, "closed with %llu", (unsigned long long)a.evil.close_code);
    /* all retired but the last four: the sequence numbers before 100 the client had, and ours */
    ck_assert_uint_ge(a.evil.retire_cids, 4 * (uint64_t)rounds - 4);
    uint64_t out = a.evil.dgrams_rx - out0;
    ck_assert_msg(out <= 2 * (uint64_t)rounds + 50, "%llu datagrams for %u packets", (unsigned long long)out, rounds);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 640 * KB, "peak %zu", peak); /* the fetch's send buffer and sent map */
    atk_report(&a, "new_cid_churn", base);
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

/* The same churn without pause: more retirements owed than the server keeps (16) before it can send one is
 * a CONNECTION_ID_LIMIT_ERROR (RFC 9000 §5.1.2 allows it), not an unbounded queue. */
START_TEST(test_new_cid_burst)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint64_t seq = 100;
    for (unsigned i = 0; i < 50 * atk_scale(); i++) {
        uint8_t f[1200];
        size_t n = 0;
        uint64_t first = seq;
        for (int k = 0; k < 4; k++, seq++)
            n += new_cid(f + n, seq, first);
        atk_inject(&a, f, n);
    }
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 16 * KB);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* RETIRE_CONNECTION_ID churn: the client retires every connection ID the server issues as soon as it sees it,
 * and the server issues a replacement each time (RFC 9000 §5.1.1). Its routing entries stay at the limit,
 * one NEW_CONNECTION_ID per retirement, memory flat. */
START_TEST(test_retire_cid_churn)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint64_t todo[64];
    size_t ntodo = 0;
    const lwq_cids *t = &a.evil.c->cids;
    for (int i = 0; i < LWQ_CIDS_PEER_MAX; i++)
        if (t->peer[i].used && (size_t)i != t->cur)
            todo[ntodo++] = t->peer[i].seq;
    ck_assert_uint_gt(ntodo, 0);
    unsigned want = 400 * atk_scale(), retired = 0;
    size_t seen = 0;
    for (unsigned guard = 0; retired < want && guard < 4 * want; guard++) {
        uint8_t f[1200];
        size_t n = 0;
        while (ntodo && n < 1100) {
            n += retire_cid(f + n, todo[--ntodo]);
            retired++;
        }
        if (n)
            atk_inject(&a, f, n);
        atk_step(&a);
        for (; seen < a.evil.n_new_cid_seq; seen++)
            todo[ntodo++] = a.evil.new_cid_seq[seen];
        if (a.evil.n_new_cid_seq == 64) { /* reuse the record */
            a.evil.n_new_cid_seq = 0;
            seen = 0;
        }
    }
    ck_assert_uint_ge(retired, want);
    ck_assert(!a.evil.close_seen);
    ck_assert_uint_ge(a.evil.new_cids, want - 8);
    size_t active = 0;
    for (int i = 0; i < LWQ_CIDS_LOCAL_MAX; i++)
        active += a.evil.sc->cids.local[i].used;
    ck_assert_uint_le(active, 4);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 16 * KB);
    atk_report(&a, "retire_cid_churn", base);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* RFC 9000 §19.16: retiring a sequence number never issued is a PROTOCOL_VIOLATION. */
START_TEST(test_retire_cid_never_issued)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    uint8_t f[16];
    atk_inject(&a, f, retire_cid(f, 1000000));
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_PROTOCOL_VIOLATION);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

static size_t challenges(uint8_t *f, uint64_t salt)
{
    size_t n = 0;
    for (uint64_t i = 0; n + 9 <= 1170; i++) {
        f[n++] = LWQ_FRAME_PATH_CHALLENGE;
        lwq_put64(f + n, salt * 1000 + i);
        n += 8;
    }
    return n;
}

/* PATH_CHALLENGE flood on the client's own path: 130 challenges a packet. The server keeps at most four
 * answers owed (LWQ_PATH_RESPONSES, RFC 9000 §8.2.2 lets it drop the rest), so it sends fewer bytes than it
 * receives, holds no more memory, and the connection and the legitimate fetch carry on. */
START_TEST(test_path_challenge_flood)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t f[1200];
    uint64_t tx0 = a.evil.bytes_tx, rx0 = a.evil.bytes_rx;
    unsigned flood = 2000 * atk_scale();
    for (unsigned i = 0; i < flood; i++) {
        atk_inject(&a, f, challenges(f, i));
        if (i % 10 == 9)
            atk_step(&a);
    }
    for (int i = 0; i < 50; i++)
        atk_step(&a);
    uint64_t in = a.evil.bytes_tx - tx0, out = a.evil.bytes_rx - rx0;
    ck_assert(!a.evil.close_seen);
    ck_assert_uint_gt(a.evil.path_responses, 0);
    ck_assert_uint_le(a.evil.path_responses, 4 * (uint64_t)flood / 10 + 40);
    ck_assert_msg(out * 4 <= in, "%llu bytes out for %llu in", (unsigned long long)out, (unsigned long long)in);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 16 * KB);
    atk_report(&a, "path_challenge_flood", base);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* The same from many spoofed source addresses, each a small packet: answering on a new path is bounded by
 * three times what arrived from it (RFC 9000 §8.1, §9.3.1), and the paths the server tracks are bounded. */
START_TEST(test_path_challenge_spoofed)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint64_t tx0 = a.evil.bytes_tx;
    unsigned flood = 500 * atk_scale();
    for (unsigned i = 0; i < flood; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.9.%u.%u", (i >> 8) & 255, i & 255);
        lwq_path from = fuzz_path("10.0.0.2", 443, ip, (uint16_t)(1000 + i % 50000));
        uint8_t f[9] = {LWQ_FRAME_PATH_CHALLENGE};
        lwq_put64(f + 1, i);
        atk_inject_from(&a, &from, f, sizeof(f));
        if (i % 10 == 9)
            atk_step(&a);
    }
    for (int i = 0; i < 50; i++)
        atk_step(&a);
    uint64_t in = a.evil.bytes_tx - tx0;
    ck_assert(!a.evil.close_seen);
    ck_assert_msg(a.evil.bytes_rx_other <= 3 * in, "%llu bytes to spoofed addresses for %llu received",
                  (unsigned long long)a.evil.bytes_rx_other, (unsigned long long)in);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 32 * KB);
    atk_report(&a, "path_challenge_spoofed", base);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

static size_t stream_frame(uint8_t *out, uint64_t id, uint64_t off, size_t len, int fin)
{
    static const uint8_t junk[1200];
    lwq_frame f;
    memset(&f, 0, sizeof(f));
    f.type = LWQ_FRAME_STREAM;
    f.u.stream.stream_id = id;
    f.u.stream.offset = off;
    f.u.stream.data = junk;
    f.u.stream.len = len;
    f.u.stream.fin = fin;
    f.u.stream.has_len = 1;
    return atk_frame(out, 1200, &f);
}

/* RFC 9000 §4.6: a stream past the announced MAX_STREAMS (the 101st bidirectional stream) is a
 * STREAM_LIMIT_ERROR. */
START_TEST(test_stream_over_limit)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    uint8_t f[64];
    atk_inject(&a, f, stream_frame(f, 4 * 100, 0, 5, 0));
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_STREAM_LIMIT_ERROR);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* The largest stream ID there is: a STREAM_LIMIT_ERROR, with nothing allocated for the streams below it. */
START_TEST(test_stream_huge_id)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    uint8_t f[64];
    atk_inject(&a, f, stream_frame(f, (1ull << 62) - 4, 0, 5, 0));
    atk_run(&a, atk_evil_closed, 100);
    atk_assert_closed_with(&a, LWQ_QUIC_ERR_STREAM_LIMIT_ERROR);
    ck_assert_uint_le(lwq_test_alloc_peak_bytes() - base, 16 * KB);
    atk_assert_healthy(&a, 64 * KB);
    atk_free(&a);
}
END_TEST

/* Every stream the server allows (100 bidi, 100 uni) with one-byte fragments and one-byte gaps, the first
 * byte never sent: each stream holds at most max_stream_gaps ranges (more are dropped, docs/architecture.md)
 * and its first ring (4 KiB), so the connection's memory is bounded by streams x (ring + record). */
START_TEST(test_stream_tiny_gaps)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    unsigned per = 100 * atk_scale();
    for (uint64_t s = 0; s < 100; s++) {
        uint64_t ids[2] = {4 * s, 4 * s + 2};
        for (int k = 0; k < 2; k++) {
            uint8_t f[1200];
            size_t n = 0;
            for (unsigned j = 0; j < per; j++) {
                if (n + 16 > sizeof(f)) {
                    atk_inject(&a, f, n);
                    n = 0;
                }
                n += stream_frame(f + n, ids[k], 1 + 2 * (uint64_t)j, 1, 0);
            }
            atk_inject(&a, f, n);
        }
        atk_step(&a);
    }
    for (int i = 0; i < 50; i++)
        atk_step(&a);
    /* held within the bound, or refused by a memory budget with a connection error: never more memory */
    if (a.evil.close_seen)
        ck_assert_uint_ne(a.evil.close_code, 0);
    else
        ck_assert_uint_eq(a.evil.sc->st.count, 200);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 200 * 6 * KB, "peak %zu bytes for 200 streams", peak);
    atk_report(&a, "stream_tiny_gaps", base);
    atk_assert_healthy(&a, 256 * KB);
    atk_free(&a);
}
END_TEST

/* Stream churn (the transport's rapid reset): each packet opens the next stream with data, resets it and asks
 * the server to stop sending; the server frees the stream once its RESET_STREAM is acknowledged and raises
 * MAX_STREAMS (RFC 9000 §4.6), so the client can go on: memory stays flat and the server's datagrams per
 * stream bounded. */
START_TEST(test_stream_churn)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    size_t base = lwq_test_alloc_live_bytes();
    atk_fetch_start(&a, 256 * KB);
    uint64_t want = 3000 * atk_scale(), next = 0, out0 = a.evil.dgrams_rx;
    a.evil.max_streams_bidi = 100;
    for (unsigned guard = 0; next < want && guard < 20 * want; guard++) {
        if (next >= a.evil.max_streams_bidi) {
            atk_step(&a);
            continue;
        }
        uint8_t f[64];
        size_t n = stream_frame(f, 4 * next, 0, 10, 0);
        f[n++] = LWQ_FRAME_RESET_STREAM;
        n += atk_vi(f + n, 4 * next);
        n += atk_vi(f + n, 0x10c); /* H3_REQUEST_CANCELLED, any code does */
        n += atk_vi(f + n, 10);
        f[n++] = LWQ_FRAME_STOP_SENDING;
        n += atk_vi(f + n, 4 * next);
        n += atk_vi(f + n, 0x10c);
        atk_inject(&a, f, n);
        if (++next % 10 == 0)
            atk_step(&a);
    }
    ck_assert_msg(next >= want, "stuck at stream %llu (MAX_STREAMS %llu)", (unsigned long long)next,
                  (unsigned long long)a.evil.max_streams_bidi);
    ck_assert_msg(atk_run(&a, atk_fetch_done, 20000), "fetch stalled at %llu", (unsigned long long)a.good.got);
    for (int i = 0; i < 50; i++)
        atk_step(&a);
    ck_assert(!a.evil.close_seen);
    ck_assert_uint_le(a.evil.sc->st.count, 100);
    uint64_t out = a.evil.dgrams_rx - out0;
    ck_assert_msg(out <= want / 2 + 100, "%llu datagrams for %llu streams", (unsigned long long)out,
                  (unsigned long long)want);
    size_t peak = lwq_test_alloc_peak_bytes() - base;
    ck_assert_msg(peak <= 1024 * KB, "peak %zu", peak);
    atk_report(&a, "stream_churn", base);
    atk_assert_healthy(&a, 0);
    atk_free(&a);
}
END_TEST

Suite *suite_attack_conn(void)
{
    Suite *s = suite_create("attack_conn");
    TCase *tc = lwq_test_tcase("attack_conn");
    tcase_add_test(tc, test_new_cid_over_limit);
    tcase_add_test(tc, test_new_cid_churn);
    tcase_add_test(tc, test_new_cid_burst);
    tcase_add_test(tc, test_retire_cid_churn);
    tcase_add_test(tc, test_retire_cid_never_issued);
    tcase_add_test(tc, test_path_challenge_flood);
    tcase_add_test(tc, test_path_challenge_spoofed);
    tcase_add_test(tc, test_stream_over_limit);
    tcase_add_test(tc, test_stream_huge_id);
    tcase_add_test(tc, test_stream_tiny_gaps);
    tcase_add_test(tc, test_stream_churn);
    suite_add_tcase(s, tc);
    return s;
}
