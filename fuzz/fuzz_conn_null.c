/* A whole server fed plaintext datagrams: its connections use null packet protection (src/quic/conn_null.h)
 * while the TLS handshake stays real, so the input reaches every frame handler in every packet number space,
 * 1-RTT included, once it carries a recorded client flight (fuzz/corpus/conn_null, recorded by
 * tests/unit/test_conn_null.c against the same harness, fuzz_conn_null.h).
 *
 * Input: [u16 fail_at][u8 fail_period] then records [u8 control][u16 length][datagram] (fuzz_conn_null.h).
 * fail_at (0 = never) is the allocation, counted from the start of the input, that fails; fail_period (bits
 * 0-5) makes every period-th allocation after it fail too. Every run must free all it allocated. */
#include "fuzz_conn_null.h"

#define MAX_RECORDS 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lwq_context *sctx;
    if (!sctx) {
        lwq_config c, s;
        fuzz_configs(&c, &s);
        s.alloc = fuzz_alloc();
        nullh_server_config(&s);
        fuzz_rng_reset(NULLH_SETUP_SEED);
        const char *why;
        if (lwq_context_new(&sctx, &s, &why))
            abort();
    }
    fuzz_in in = {data, size};
    uint16_t fail_at;
    uint8_t period;
    if (!fuzz_u16(&in, &fail_at) || !fuzz_u8(&in, &period))
        return 0;
    size_t live = fuzz_alloc_live();
    fuzz_rng_reset(NULLH_RUN_SEED);
    fuzz_alloc_arm(fail_at, period & 0x3f);
    nullh h;
    if (nullh_start(&h, sctx, NULL, NULL) == 0)
        nullh_run(&h, &in, MAX_RECORDS);
    nullh_end(&h);
    fuzz_alloc_arm(0, 0);
    if (fuzz_alloc_live() != live)
        abort(); /* a leak on this path */
    return 0;
}
