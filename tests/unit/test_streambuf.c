/* Ring, receive reassembly and send buffer, alone and wired together over a lossy, reordering "link". */
#include <stdlib.h>
#include "testutil.h"
#include "quic/recvbuf.h"
#include "quic/sendbuf.h"

static uint8_t pattern(uint64_t off) { return (uint8_t)(off * 31 + (off >> 8)); }

START_TEST(test_ring_wrap_and_growth)
{
    lwq_ring r;
    lwq_ring_init(&r, lwq_test_alloc, 1 << 16);
    uint8_t in[5000], out[5000];
    for (int i = 0; i < 5000; i++)
        in[i] = pattern((uint64_t)i);
    ck_assert_int_eq(lwq_ring_write(&r, 0, in, 3000), 0);
    lwq_ring_release(&r, 2500);
    ck_assert_int_eq(lwq_ring_write(&r, 3000, in + 3000, 2000), 0); /* wraps in 4096 */
    ck_assert_uint_eq(r.cap, 4096);
    lwq_ring_read(&r, 2500, out, 2500);
    ck_assert_mem_eq(out, in + 2500, 2500);
    ck_assert_int_eq(lwq_ring_write(&r, 9000, in, 100), 0); /* grows, keeps the held window */
    ck_assert_uint_eq(r.cap, 8192);
    lwq_ring_read(&r, 2500, out, 2500);
    ck_assert_mem_eq(out, in + 2500, 2500);
    ck_assert_int_eq(lwq_ring_write(&r, 100, in, 1), LWQ_ERR_INVAL);
    ck_assert_int_eq(lwq_ring_write(&r, 2500 + (1 << 16) - 10, in, 11), LWQ_ERR_LIMIT);
    lwq_ring_free(&r);
}
END_TEST

START_TEST(test_recv_final_size_rules)
{
    lwq_recvbuf b;
    uint8_t d[100] = {0}, out[100];
    int fin = 0;
    lwq_recvbuf_init(&b, lwq_test_alloc, 1000, 8);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 50, d, 50, 0), 0);
    ck_assert_uint_eq(lwq_recvbuf_readable(&b), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 0, d, 10, 1), LWQ_RECV_FINAL_SIZE); /* FIN below data seen */
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 60, d, 40, 1), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 60, d, 41, 0), LWQ_RECV_FINAL_SIZE); /* past the end */
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 60, d, 30, 1), LWQ_RECV_FINAL_SIZE); /* moves the end */
    ck_assert_int_eq(lwq_recvbuf_set_final(&b, 100), 0);
    ck_assert_int_eq(lwq_recvbuf_set_final(&b, 101), LWQ_RECV_FINAL_SIZE);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 0, d, 50, 0), 0);
    ck_assert_uint_eq(lwq_recvbuf_read(&b, out, 60, &fin), 60);
    ck_assert_int_eq(fin, 0);
    ck_assert_uint_eq(lwq_recvbuf_read(&b, out, 100, &fin), 40);
    ck_assert_int_eq(fin, 1);
    ck_assert(lwq_recvbuf_done(&b));
    lwq_recvbuf_free(&b);
}
END_TEST

START_TEST(test_recv_window_and_gap_limits)
{
    lwq_recvbuf b;
    uint8_t d[64] = {0}, out[64];
    lwq_recvbuf_init(&b, lwq_test_alloc, 1000, 3);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 990, d, 11, 0), LWQ_RECV_WINDOW);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 990, d, 10, 0), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, UINT64_MAX - 5, d, 10, 0), LWQ_RECV_WINDOW); /* wraps */
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 100, d, 1, 0), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 200, d, 1, 0), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 300, d, 1, 0), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 400, d, 1, 0), LWQ_ERR_LIMIT); /* a 5th range */
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 0, d, 64, 0), 0);
    ck_assert_uint_eq(lwq_recvbuf_read(&b, out, 64, NULL), 64);
    /* The window slides with reading: [1000, 1064) fits now and merges with [990, 1000). */
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 1000, d, 64, 0), 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&b, 1001, d, 64, 0), LWQ_RECV_WINDOW);
    ck_assert_uint_eq(b.got.count, 4);
    lwq_recvbuf_free(&b);
}
END_TEST

START_TEST(test_recv_random_order_with_duplicates)
{
    enum { TOTAL = 200000 };
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 1000 + (uint64_t)_i);
    static uint8_t src[TOTAL], dst[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        src[i] = pattern(i);
    lwq_recvbuf b;
    lwq_recvbuf_init(&b, lwq_test_alloc, 65536, 64);
    size_t got = 0;
    int fin = 0;
    while (!fin) {
        uint32_t x[2];
        rng->fill(rng->ud, (uint8_t *)x, sizeof(x));
        uint64_t off = b.read_off + x[0] % 60000;
        size_t len = 1 + x[1] % 1400;
        if (off >= TOTAL)
            continue;
        if (off + len > TOTAL)
            len = TOTAL - off;
        if (off + len - b.read_off > 65536)
            continue;
        int rv = lwq_recvbuf_insert(&b, off, src + off, len, off + len == TOTAL);
        ck_assert(rv == 0 || rv == LWQ_ERR_LIMIT);
        size_t r = lwq_recvbuf_read(&b, dst + got, 7000, &fin);
        got += r;
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert_mem_eq(src, dst, TOTAL);
    lwq_recvbuf_free(&b);
}
END_TEST

START_TEST(test_send_write_bounds_and_fin)
{
    lwq_sendbuf b;
    uint8_t d[100] = {1, 2, 3};
    lwq_sendbuf_init(&b, lwq_test_alloc, 150, 16);
    ck_assert_int_eq(lwq_sendbuf_write(&b, d, 100, 0), 100);
    ck_assert_int_eq(lwq_sendbuf_write(&b, d, 100, 1), 50); /* partial: FIN not taken */
    ck_assert_int_eq(b.fin, 0);
    ck_assert_uint_eq(lwq_sendbuf_room(&b), 0);
    uint64_t off;
    size_t len;
    int fin;
    ck_assert_int_eq(lwq_sendbuf_next(&b, 120, 1000, &off, &len, &fin), 1); /* flow control at 120 */
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 120);
    lwq_sendbuf_on_sent(&b, off, len, fin);
    ck_assert_int_eq(lwq_sendbuf_next(&b, 120, 1000, &off, &len, &fin), 0);
    ck_assert_int_eq(lwq_sendbuf_on_acked(&b, 0, 100, 0), 0);
    ck_assert_uint_eq(lwq_sendbuf_room(&b), 100);
    ck_assert_int_eq(lwq_sendbuf_write(&b, d, 0, 1), 0); /* bare FIN */
    ck_assert_int_eq(b.fin, 1);
    ck_assert_int_eq(lwq_sendbuf_write(&b, d, 1, 0), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_sendbuf_next(&b, 1000, 1000, &off, &len, &fin), 1);
    ck_assert_uint_eq(off, 120);
    ck_assert_uint_eq(len, 30);
    ck_assert_int_eq(fin, 1);
    lwq_sendbuf_on_sent(&b, off, len, fin);
    ck_assert_int_eq(lwq_sendbuf_on_lost(&b, 120, 30, 1), 0);
    ck_assert_int_eq(lwq_sendbuf_next(&b, 1000, 10, &off, &len, &fin), 1); /* lost data first, size-capped */
    ck_assert_uint_eq(off, 120);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(fin, 0);
    ck_assert_int_eq(lwq_sendbuf_on_acked(&b, 100, 20, 0), 0);
    ck_assert_int_eq(lwq_sendbuf_on_acked(&b, 120, 30, 1), 0); /* the lost packet's data arrived after all */
    ck_assert_int_eq(lwq_sendbuf_next(&b, 1000, 1000, &off, &len, &fin), 0);
    ck_assert(lwq_sendbuf_done(&b));
    lwq_sendbuf_free(&b);
}
END_TEST

/* A sender and a receiver over a link that loses, reorders and duplicates chunks. */
struct inflight {
    uint64_t off;
    size_t len;
    int fin;
};

START_TEST(test_send_recv_over_lossy_link)
{
    enum { TOTAL = 300000, CAP = 64 };
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, 77 + (uint64_t)_i);
    static uint8_t src[TOTAL], dst[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        src[i] = pattern(i * 3);
    lwq_sendbuf s;
    lwq_recvbuf r;
    lwq_sendbuf_init(&s, lwq_test_alloc, 50000, 256);
    lwq_recvbuf_init(&r, lwq_test_alloc, 100000, 256);
    struct inflight fl[CAP];
    size_t nfl = 0, written = 0, got = 0;
    int fin = 0, steps = 0;
    uint8_t pkt[1500];
    while (!(fin && lwq_sendbuf_done(&s))) {
        ck_assert_int_lt(++steps, 2000000);
        if (written < TOTAL) {
            ssize_t w = lwq_sendbuf_write(&s, src + written, TOTAL - written > 9000 ? 9000 : TOTAL - written,
                                          TOTAL - written <= 9000);
            ck_assert_int_ge(w, 0);
            written += (size_t)w;
        }
        uint64_t off;
        size_t len;
        int f;
        /* Flow control: the receiver's window. */
        uint64_t limit = r.read_off + 100000;
        while (nfl < CAP && lwq_sendbuf_next(&s, limit, 1200, &off, &len, &f)) {
            lwq_sendbuf_on_sent(&s, off, len, f);
            fl[nfl++] = (struct inflight){off, len, f};
        }
        if (nfl == 0)
            continue;
        uint8_t x[2];
        rng->fill(rng->ud, x, sizeof(x));
        size_t pick = x[0] % nfl; /* reorder */
        struct inflight c = fl[pick];
        fl[pick] = fl[--nfl];
        int lost = x[1] % 10 == 0, dup = x[1] % 10 == 1;
        if (!lost) {
            lwq_sendbuf_copy(&s, c.off, pkt, c.len);
            for (int k = 0; k <= dup; k++)
                ck_assert_int_eq(lwq_recvbuf_insert(&r, c.off, pkt, c.len, c.fin), 0);
            ck_assert_int_eq(lwq_sendbuf_on_acked(&s, c.off, c.len, c.fin), 0);
        } else {
            ck_assert_int_eq(lwq_sendbuf_on_lost(&s, c.off, c.len, c.fin), 0);
        }
        got += lwq_recvbuf_read(&r, dst + got, TOTAL, &fin);
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert_mem_eq(src, dst, TOTAL);
    ck_assert_uint_eq(s.acked_off, TOTAL);
    lwq_sendbuf_free(&s);
    lwq_recvbuf_free(&r);
}
END_TEST

START_TEST(test_nomem_is_clean)
{
    lwq_recvbuf r;
    uint8_t d[10] = {0};
    lwq_recvbuf_init(&r, lwq_test_alloc, 1000, 4);
    lwq_test_alloc_fail_at(1);
    ck_assert_int_eq(lwq_recvbuf_insert(&r, 5, d, 10, 0), LWQ_ERR_NOMEM);
    ck_assert_uint_eq(r.got.count, 0);
    ck_assert_int_eq(lwq_recvbuf_insert(&r, 0, d, 10, 0), 0);
    ck_assert_uint_eq(lwq_recvbuf_readable(&r), 10);
    lwq_recvbuf_free(&r);
    lwq_sendbuf s;
    lwq_sendbuf_init(&s, lwq_test_alloc, 1000, 4);
    lwq_test_alloc_fail_at(1);
    ck_assert_int_eq(lwq_sendbuf_write(&s, d, 10, 1), LWQ_ERR_NOMEM);
    ck_assert_int_eq(s.fin, 0);
    ck_assert_uint_eq(s.write_off, 0);
    lwq_sendbuf_free(&s);
}
END_TEST

Suite *suite_streambuf(void)
{
    Suite *s = suite_create("streambuf");
    TCase *tc = lwq_test_tcase("streambuf");
    tcase_add_test(tc, test_ring_wrap_and_growth);
    tcase_add_test(tc, test_recv_final_size_rules);
    tcase_add_test(tc, test_recv_window_and_gap_limits);
    tcase_add_loop_test(tc, test_recv_random_order_with_duplicates, 0, 4);
    tcase_add_test(tc, test_send_write_bounds_and_fin);
    tcase_add_loop_test(tc, test_send_recv_over_lossy_link, 0, 4);
    tcase_add_test(tc, test_nomem_is_clean);
    suite_add_tcase(s, tc);
    return s;
}
