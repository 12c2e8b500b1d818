#include <string.h>
#include "testutil.h"
#include "base/mem.h"

START_TEST(test_strerror_names_every_code)
{
    for (int e = 0; e >= -40; e--) {
        const char *s = lwq_strerror(e);
        ck_assert_ptr_nonnull(s);
        if (strncmp(s, "LWQ_", 4) == 0)
            ck_assert_ptr_nonnull(strchr(s, ':'));
    }
    ck_assert_str_eq(lwq_strerror(LWQ_ERR_NOMEM), "LWQ_ERR_NOMEM: out of memory");
    ck_assert_str_eq(lwq_strerror(12345), "unknown lwquic error");
}
END_TEST

START_TEST(test_counting_allocator)
{
    void *p = lwq_malloc(lwq_test_alloc, 10), *q = lwq_calloc(lwq_test_alloc, 3, 4);
    ck_assert_uint_eq(lwq_test_alloc_live(), 2);
    p = lwq_realloc(lwq_test_alloc, p, 100);
    ck_assert_uint_eq(lwq_test_alloc_live(), 2);
    lwq_test_alloc_fail_at(1);
    ck_assert_ptr_null(lwq_malloc(lwq_test_alloc, 1));
    lwq_free(lwq_test_alloc, p);
    lwq_free(lwq_test_alloc, q);
    ck_assert_uint_eq(lwq_test_alloc_live(), 0);
}
END_TEST

START_TEST(test_byte_order_and_ct)
{
    uint8_t b[8];
    lwq_put64(b, 0x0102030405060708ull);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(lwq_get64(b), 0x0102030405060708ull);
    lwq_put24(b, 0xabcdef);
    ck_assert_uint_eq(lwq_get24(b), 0xabcdef);
    ck_assert_int_eq(lwq_ct_equal("abc", "abc", 3), 1);
    ck_assert_int_eq(lwq_ct_equal("abc", "abd", 3), 0);
}
END_TEST

START_TEST(test_test_rng_is_deterministic)
{
    lwq_test_rng a, b;
    uint8_t x[37], y[37];
    const lwq_rng *ra = lwq_test_rng_init(&a, 42), *rb = lwq_test_rng_init(&b, 42);
    ra->fill(ra->ud, x, sizeof(x));
    rb->fill(rb->ud, y, sizeof(y));
    ck_assert_mem_eq(x, y, sizeof(x));
    lwq_test_rng_init(&b, 43);
    rb->fill(rb->ud, y, sizeof(y));
    ck_assert(memcmp(x, y, sizeof(x)) != 0);
}
END_TEST

Suite *suite_base(void)
{
    Suite *s = suite_create("base");
    TCase *tc = lwq_test_tcase("base");
    tcase_add_test(tc, test_strerror_names_every_code);
    tcase_add_test(tc, test_counting_allocator);
    tcase_add_test(tc, test_byte_order_and_ct);
    tcase_add_test(tc, test_test_rng_is_deterministic);
    suite_add_tcase(s, tc);
    return s;
}
