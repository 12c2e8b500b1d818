#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include "testutil.h"

#define HDR 16 /* keeps returned blocks 16-byte aligned */

/* Atomics: the event-loop tests allocate from several threads. */
static size_t live, count, fail_at;
static size_t live_bytes, peak_bytes;

static void bytes_add(size_t n)
{
    size_t now = __atomic_add_fetch(&live_bytes, n, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&peak_bytes, &peak, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static int should_fail(void)
{
    size_t f = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);
    while (f) {
        if (__atomic_compare_exchange_n(&fail_at, &f, f - 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return f == 1;
    }
    return 0;
}

static void *count_malloc(void *ud, size_t n)
{
    (void)ud;
    __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
    if (should_fail())
        return NULL;
    uint8_t *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    __atomic_fetch_add(&live, 1, __ATOMIC_RELAXED);
    bytes_add(n);
    return p + HDR;
}

static void *count_calloc(void *ud, size_t m, size_t n)
{
    if (n && m > SIZE_MAX / n)
        return NULL;
    void *p = count_malloc(ud, m * n);
    if (p)
        memset(p, 0, m * n);
    return p;
}

static void count_free(void *ud, void *p)
{
    (void)ud;
    if (!p)
        return;
    /* Only touch Check on failure: its assertion bookkeeping is not thread-safe. */
    if (__atomic_fetch_sub(&live, 1, __ATOMIC_RELAXED) == 0)
        ck_abort_msg("free of a block the counting allocator did not hand out");
    size_t n;
    memcpy(&n, (uint8_t *)p - HDR, sizeof(n));
    __atomic_fetch_sub(&live_bytes, n, __ATOMIC_RELAXED);
    free((uint8_t *)p - HDR);
}

static void *count_realloc(void *ud, void *p, size_t n)
{
    if (!p)
        return count_malloc(ud, n);
    __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
    if (should_fail())
        return NULL;
    size_t old;
    memcpy(&old, (uint8_t *)p - HDR, sizeof(old));
    uint8_t *q = realloc((uint8_t *)p - HDR, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof(n));
    __atomic_fetch_sub(&live_bytes, old, __ATOMIC_RELAXED);
    bytes_add(n);
    return q + HDR;
}

static const lwq_allocator counting = {count_malloc, count_calloc, count_realloc, count_free, NULL};
const lwq_allocator *const lwq_test_alloc = &counting;

size_t lwq_test_alloc_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
size_t lwq_test_alloc_count(void) { return __atomic_load_n(&count, __ATOMIC_RELAXED); }
size_t lwq_test_alloc_live_bytes(void) { return __atomic_load_n(&live_bytes, __ATOMIC_RELAXED); }
size_t lwq_test_alloc_peak_bytes(void) { return __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED); }
void lwq_test_alloc_peak_reset(void) { __atomic_store_n(&peak_bytes, lwq_test_alloc_live_bytes(), __ATOMIC_RELAXED); }
void lwq_test_alloc_fail_at(size_t n) { __atomic_store_n(&fail_at, n, __ATOMIC_RELAXED); }
void lwq_test_alloc_reset(void)
{
    __atomic_store_n(&live, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_at, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&live_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&peak_bytes, 0, __ATOMIC_RELAXED);
}

static void leak_setup(void) { lwq_test_alloc_reset(); }

static void leak_teardown(void)
{
    ck_assert_msg(lwq_test_alloc_live() == 0, "test leaked %zu block(s) from the counting allocator",
                  lwq_test_alloc_live());
}

TCase *lwq_test_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, leak_setup, leak_teardown);
    tcase_set_timeout(tc, 120);
    return tc;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void test_fill(void *ud, uint8_t *out, size_t n)
{
    lwq_test_rng *r = ud;
    while (n) {
        uint64_t s0 = r->s[0], s1 = r->s[1], v = s0 + s1;
        s1 ^= s0;
        r->s[0] = rotl(s0, 55) ^ s1 ^ (s1 << 14);
        r->s[1] = rotl(s1, 36);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
}

const lwq_rng *lwq_test_rng_init(lwq_test_rng *r, uint64_t seed)
{
    r->s[0] = seed * 0x9E3779B97F4A7C15ull + 1;
    r->s[1] = (seed ^ 0xD1B54A32D192ED03ull) * 0xBF58476D1CE4E5B9ull + 7;
    r->rng.fill = test_fill;
    r->rng.ud = r;
    return &r->rng;
}

const char *lwq_test_shared_path(const char *rel)
{
    static char buf[4][1024];
    static int i;
    const char *base = getenv("LWQ_SHARED");
    char *b = buf[i++ & 3];
    snprintf(b, sizeof(buf[0]), "%s/%s", base ? base : "../shared", rel);
    return b;
}

const char *lwq_test_data_path(const char *rel)
{
    static char buf[4][1024];
    static int i;
    char *b = buf[i++ & 3];
    snprintf(b, sizeof(buf[0]), "tests/data/%s", rel);
    return b;
}

uint8_t *lwq_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        *len = n;
    return buf;
}

size_t lwq_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        if (!isxdigit((unsigned char)*hex))
            continue;
        int v = isdigit((unsigned char)*hex) ? *hex - '0' : (tolower((unsigned char)*hex) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            ck_assert_msg(n < cap, "hex string longer than %zu bytes", cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

/* A strict JSON (RFC 8259) recognizer. */
static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            return NULL; /* our writer emits ASCII only */
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 5;
                continue;
            }
            if (!strchr("\"\\/bfnrt", *p) || !*p)
                return NULL;
        }
        p++;
    }
    return p + 1;
}

static const char *number(const char *p)
{
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return NULL;
    if (*p == '0' && isdigit((unsigned char)p[1]))
        return NULL;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

static const char *members(const char *p, int depth, char close, int keyed)
{
    p = ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = string(p)))
                return NULL;
            p = ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(ws(p), depth + 1)))
            return NULL;
        p = ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = ws(p);
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = ws(p);
    switch (*p) {
    case '{': return members(p, depth, '}', 1);
    case '[': return members(p, depth, ']', 0);
    case '"': return string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return number(p);
    }
}

const char *lwq_test_json_value(const char *p) { return json_value(p, 0); }
