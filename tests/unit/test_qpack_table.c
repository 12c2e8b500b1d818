#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "qpack/table.h"

static lwq_qpack_entry *mk(const char *n, const char *v)
{
    return lwq_qpack_entry_new(lwq_test_alloc, (const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v));
}

START_TEST(test_table_insert_evict_index)
{
    lwq_qpack_table t;
    lwq_qpack_table_init(&t, lwq_test_alloc);
    lwq_qpack_table_set_capacity(&t, 220);
    /* RFC 9204 Appendix B.2: two entries of 57 and 49 bytes. */
    ck_assert_int_eq(lwq_qpack_table_insert(&t, mk(":authority", "www.example.com")), 0);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, mk(":path", "/sample/path")), 0);
    ck_assert_uint_eq(t.size, 106);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, mk("custom-key", "custom-value")), 0);
    ck_assert_uint_eq(t.size, 160);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, mk(":authority", "www.example.com")), 0);
    ck_assert_uint_eq(t.size, 217);
    /* B.5: the next insert of 55 bytes evicts absolute index 0 only. */
    ck_assert_uint_eq(lwq_qpack_table_survivor(&t, 55), 1);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, mk("custom-key", "custom-value2")), 0);
    ck_assert_uint_eq(t.size, 215);
    ck_assert_ptr_null(lwq_qpack_table_get(&t, 0));
    const lwq_qpack_entry *e = lwq_qpack_table_get(&t, 4);
    ck_assert_ptr_nonnull(e);
    ck_assert_mem_eq(lwq_qpack_entry_value(e), "custom-value2", 13);
    ck_assert_ptr_null(lwq_qpack_table_get(&t, 5));
    ck_assert_uint_eq(t.dropped, 1);
    ck_assert_uint_eq(t.inserted, 5);
    /* An entry larger than the capacity cannot fit at all. */
    ck_assert_uint_eq(lwq_qpack_table_survivor(&t, 221), t.inserted + 1);
    /* Lowering the capacity evicts from the old end; zero clears the table (§3.2.2). */
    lwq_qpack_table_set_capacity(&t, 110);
    ck_assert_uint_eq(t.dropped, 4);
    ck_assert_uint_eq(t.size, 55);
    lwq_qpack_table_set_capacity(&t, 0);
    ck_assert_uint_eq(t.size, 0);
    ck_assert_uint_eq(t.dropped, 5);
    lwq_qpack_table_free(&t);
}
END_TEST

START_TEST(test_table_ring_growth_keeps_indices)
{
    lwq_qpack_table t;
    lwq_qpack_table_init(&t, lwq_test_alloc);
    lwq_qpack_table_set_capacity(&t, 40 * 100);
    char v[16];
    for (int i = 0; i < 500; i++) {
        snprintf(v, sizeof(v), "%07d", i);
        ck_assert_int_eq(lwq_qpack_table_insert(&t, mk("x", v)), 0);
        ck_assert_uint_le(t.size, t.capacity);
    }
    /* 40 bytes each: the last 100 remain, each at its absolute index. */
    ck_assert_uint_eq(t.dropped, 400);
    for (uint64_t i = 400; i < 500; i++) {
        snprintf(v, sizeof(v), "%07d", (int)i);
        ck_assert_mem_eq(lwq_qpack_entry_value(lwq_qpack_table_get(&t, i)), v, 7);
    }
    lwq_qpack_table_free(&t);
}
END_TEST

START_TEST(test_table_insert_nomem_leaves_table)
{
    lwq_qpack_table t;
    lwq_qpack_table_init(&t, lwq_test_alloc);
    lwq_qpack_table_set_capacity(&t, 4096);
    lwq_qpack_entry *e = mk("a", "b");
    lwq_test_alloc_fail_at(1);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, e), LWQ_ERR_NOMEM);
    ck_assert_uint_eq(t.inserted, 0);
    ck_assert_int_eq(lwq_qpack_table_insert(&t, e), 0);
    ck_assert_uint_eq(t.size, 34);
    lwq_qpack_table_free(&t);
}
END_TEST

Suite *suite_qpack_table(void)
{
    Suite *s = suite_create("qpack_table");
    TCase *tc = lwq_test_tcase("qpack_table");
    tcase_add_test(tc, test_table_insert_evict_index);
    tcase_add_test(tc, test_table_ring_growth_keeps_indices);
    tcase_add_test(tc, test_table_insert_nomem_leaves_table);
    suite_add_tcase(s, tc);
    return s;
}
