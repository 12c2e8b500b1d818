/* Shared test helpers: a counting allocator that fails leaking tests, file access, a seeded rng. */
#ifndef LWQ_TESTUTIL_H
#define LWQ_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include "lwquic/common.h"

/* Counting allocator: every test created with lwq_test_tcase() checks at
 * teardown that it freed everything it took from here. */
extern const lwq_allocator *const lwq_test_alloc;
size_t lwq_test_alloc_live(void);     /* blocks currently allocated */
size_t lwq_test_alloc_count(void);    /* allocations made so far */
size_t lwq_test_alloc_live_bytes(void); /* bytes currently allocated (as requested, no headers) */
/* The most bytes live at once since the last lwq_test_alloc_reset or lwq_test_alloc_peak_reset,
 * which starts the peak over from the bytes live now. */
size_t lwq_test_alloc_peak_bytes(void);
void lwq_test_alloc_peak_reset(void);
/* Make the n-th allocation from now fail (1 = the next one); 0 disables. */
void lwq_test_alloc_fail_at(size_t n);
void lwq_test_alloc_reset(void);

/* A TCase with the leak-checking fixture and a generous timeout. */
TCase *lwq_test_tcase(const char *name);

/* Deterministic rng (xoshiro-style, seeded). */
typedef struct lwq_test_rng {
    uint64_t s[2];
    lwq_rng rng;
} lwq_test_rng;
const lwq_rng *lwq_test_rng_init(lwq_test_rng *r, uint64_t seed);

/* Path of a file under ../shared (or $LWQ_SHARED), e.g. "vectors/README.md". */
const char *lwq_test_shared_path(const char *rel);
/* Path under the repository's tests/data. */
const char *lwq_test_data_path(const char *rel);
/* Whole file into a malloc'd buffer (plain malloc, caller frees); NULL on error. */
uint8_t *lwq_test_read_file(const char *path, size_t *len);
/* Hex string (spaces and newlines ignored) into out; returns bytes written. */
size_t lwq_test_unhex(const char *hex, uint8_t *out, size_t cap);

/* A strict JSON (RFC 8259) value recognizer for ASCII text: the end of the value, or NULL. */
const char *lwq_test_json_value(const char *p);

#endif
