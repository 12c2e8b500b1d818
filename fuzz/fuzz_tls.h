/* Shared by fuzz_tls_client.c and fuzz_tls_server.c: the harness's deterministic rng and clock (so the
 * corpus written by tests/unit/test_tls_errors.c completes handshakes) and the record feeder. */
#ifndef LWQ_FUZZ_TLS_H
#define LWQ_FUZZ_TLS_H

#include <stdint.h>
#include <string.h>
#include "base/mem.h"
#include "tls/tls.h"

typedef struct frng {
    uint64_t s[2];
    lwq_rng rng;
} frng;

static uint64_t frng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The same generator as lwq_test_rng (tests/testutil.c). */
static void frng_fill(void *ud, uint8_t *out, size_t n)
{
    frng *r = ud;
    while (n) {
        uint64_t s0 = r->s[0], s1 = r->s[1], v = s0 + s1;
        s1 ^= s0;
        r->s[0] = frng_rotl(s0, 55) ^ s1 ^ (s1 << 14);
        r->s[1] = frng_rotl(s1, 36);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
}

static const lwq_rng *frng_init(frng *r, uint64_t seed)
{
    r->s[0] = seed * 0x9E3779B97F4A7C15ull + 1;
    r->s[1] = (seed ^ 0xD1B54A32D192ED03ull) * 0xBF58476D1CE4E5B9ull + 7;
    r->rng.fill = frng_fill;
    r->rng.ud = r;
    return &r->rng;
}

static int64_t fixed_now(void *ud)
{
    (void)ud;
    return 1800000000;
}

#define SAME(a, b) ((a).n == (b).n && (!(a).n || memcmp((a).p, (b).p, (a).n) == 0))

/* Feeds records [epoch & 3][length u16][bytes] to tls, draining events and output, until an alert. */
static void feed_records(lwq_tls *tls, const uint8_t *data, size_t size, void (*round_trip)(const uint8_t *, size_t))
{
    while (size >= 3) {
        size_t n = lwq_get16(data + 1);
        lwq_tls_epoch e = (lwq_tls_epoch)(data[0] & 3);
        if (n > size - 3)
            n = size - 3;
        round_trip(data + 3, n);
        int rc = lwq_tls_recv(tls, e, data + 3, n);
        lwq_tls_event ev;
        while (lwq_tls_next_event(tls, &ev) == 0)
            ;
        const uint8_t *p;
        size_t len;
        for (int k = 0; k < LWQ_TLS_EPOCHS; k++) {
            lwq_tls_output(tls, (lwq_tls_epoch)k, &p, &len);
            lwq_tls_output_consume(tls, (lwq_tls_epoch)k, len);
        }
        if (rc) {
            lwq_tls_alert(tls);
            lwq_tls_error_reason(tls);
            return;
        }
        data += 3 + n;
        size -= 3 + n;
    }
}

#endif
