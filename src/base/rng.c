#include <stdlib.h>
#include <sodium.h>
#include "lwquic/common.h"

static void os_fill(void *ud, uint8_t *out, size_t n)
{
    (void)ud;
    /* sodium_init is idempotent and thread-safe; randombytes needs it once. */
    if (sodium_init() < 0)
        abort();
    randombytes_buf(out, n);
}

static const lwq_rng os_rng = {os_fill, NULL};

const lwq_rng *lwq_default_rng(void) { return &os_rng; }
