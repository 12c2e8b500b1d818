#include "testutil.h"
#include "quic/ranges.h"

/* Reference model: a bitmap over [0, 256). */
static void check_model(const lwq_ranges *s, const uint8_t *bits)
{
    size_t k = 0;
    for (unsigned v = 0; v < 256;) {
        if (!bits[v]) {
            v++;
            continue;
        }
        unsigned e = v;
        while (e < 256 && bits[e])
            e++;
        ck_assert_uint_lt(k, s->count);
        ck_assert_uint_eq(s->r[k].start, v);
        ck_assert_uint_eq(s->r[k].end, e);
        k++;
        v = e;
    }
    ck_assert_uint_eq(k, s->count);
}

START_TEST(test_add_merge)
{
    lwq_ranges s;
    lwq_ranges_init(&s, lwq_test_alloc, 16);
    ck_assert_int_eq(lwq_ranges_add(&s, 10, 20), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 30, 40), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 0, 5), 0);
    ck_assert_uint_eq(s.count, 3);
    ck_assert_int_eq(lwq_ranges_add(&s, 20, 30), 0); /* touching both neighbours */
    ck_assert_uint_eq(s.count, 2);
    ck_assert_uint_eq(s.r[1].start, 10);
    ck_assert_uint_eq(s.r[1].end, 40);
    ck_assert_int_eq(lwq_ranges_add(&s, 3, 100), 0);
    ck_assert_uint_eq(s.count, 1);
    ck_assert_uint_eq(lwq_ranges_min(&s), 0);
    ck_assert_uint_eq(lwq_ranges_max(&s), 100);
    ck_assert_int_eq(lwq_ranges_add(&s, 5, 4), LWQ_ERR_INVAL);
    ck_assert(lwq_ranges_contains(&s, 0, 100));
    ck_assert(!lwq_ranges_contains(&s, 50, 101));
    ck_assert_uint_eq(lwq_ranges_contiguous_end(&s, 0), 100);
    ck_assert_uint_eq(lwq_ranges_contiguous_end(&s, 100), 100);
    lwq_ranges_free(&s);
}
END_TEST

START_TEST(test_limit_leaves_set_unchanged)
{
    lwq_ranges s;
    lwq_ranges_init(&s, lwq_test_alloc, 3);
    for (uint64_t i = 0; i < 3; i++)
        ck_assert_int_eq(lwq_ranges_add(&s, i * 10, i * 10 + 1), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 100, 101), LWQ_ERR_LIMIT);
    ck_assert_int_eq(lwq_ranges_remove(&s, 20, 21), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 0, 30), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 40, 50), 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 60, 70), 0);
    ck_assert_int_eq(lwq_ranges_remove(&s, 5, 6), LWQ_ERR_LIMIT); /* a split needs a 4th range */
    ck_assert_uint_eq(s.count, 3);
    ck_assert(lwq_ranges_contains(&s, 0, 30));
    lwq_ranges_free(&s);
}
END_TEST

START_TEST(test_against_model)
{
    lwq_test_rng tr;
    const lwq_rng *rng = lwq_test_rng_init(&tr, (uint64_t)_i);
    lwq_ranges s;
    uint8_t bits[256] = {0};
    lwq_ranges_init(&s, lwq_test_alloc, 1000);
    for (int step = 0; step < 2000; step++) {
        uint8_t x[3];
        rng->fill(rng->ud, x, sizeof(x));
        unsigned a = x[0], b = a + x[1] % 24;
        if (b > 256)
            b = 256;
        if (x[2] & 1) {
            ck_assert_int_eq(lwq_ranges_add(&s, a, b), 0);
            for (unsigned v = a; v < b; v++)
                bits[v] = 1;
        } else {
            ck_assert_int_eq(lwq_ranges_remove(&s, a, b), 0);
            for (unsigned v = a; v < b; v++)
                bits[v] = 0;
        }
        check_model(&s, bits);
        int all = 1, any = 0;
        for (unsigned v = a; v < b; v++) {
            all &= bits[v];
            any |= bits[v];
        }
        ck_assert_int_eq(lwq_ranges_contains(&s, a, b), a == b ? 1 : all);
        ck_assert_int_eq(lwq_ranges_intersects(&s, a, b), any);
    }
    lwq_ranges_free(&s);
}
END_TEST

START_TEST(test_nomem)
{
    lwq_ranges s;
    lwq_ranges_init(&s, lwq_test_alloc, 8);
    lwq_test_alloc_fail_at(1);
    ck_assert_int_eq(lwq_ranges_add(&s, 1, 2), LWQ_ERR_NOMEM);
    ck_assert_uint_eq(s.count, 0);
    ck_assert_int_eq(lwq_ranges_add(&s, 1, 2), 0);
    lwq_ranges_free(&s);
}
END_TEST

Suite *suite_ranges(void)
{
    Suite *s = suite_create("ranges");
    TCase *tc = lwq_test_tcase("ranges");
    tcase_add_test(tc, test_add_merge);
    tcase_add_test(tc, test_limit_leaves_set_unchanged);
    tcase_add_loop_test(tc, test_against_model, 0, 8);
    tcase_add_test(tc, test_nomem);
    suite_add_tcase(s, tc);
    return s;
}
