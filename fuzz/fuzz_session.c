/* The client session-blob import (lwq_conn_client_new with an arbitrary session blob and token): the blob's
 * decoder, the PSK, ALPN and remembered transport parameters it carries, and the 0-RTT they allow, through
 * a whole resumed (or refused, then full) handshake against a server that can open the recorded tickets
 * (fuzz_session.h). Seeds are real blobs recorded by tests/unit/test_fuzz_session.c.
 *
 * Input: [u8 fail_at][u16 blob length][blob][token: the rest]. fail_at (0 = never) makes that allocation of
 * the run fail; every run must free all it allocated. */
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lwq_context *cctx, *sctx;
    if (!cctx) {
        fuzz_rng_reset(SESS_SEED);
        if (sess_contexts(&cctx, &sctx, fuzz_alloc()))
            abort();
    }
    fuzz_in in = {data, size};
    uint8_t fail_at;
    uint16_t blen;
    if (!fuzz_u8(&in, &fail_at) || !fuzz_u16(&in, &blen))
        return 0;
    const uint8_t *blob, *tok;
    size_t bn = fuzz_take(&in, &blob, blen);
    size_t tn = fuzz_take(&in, &tok, in.n);
    size_t live = fuzz_alloc_live();
    fuzz_rng_reset(SESS_SEED ^ 1);
    fuzz_alloc_arm(fail_at, 0);
    sess_result r;
    sess_run(cctx, sctx, blob, bn, tok, tn, &r);
    fuzz_alloc_arm(0, 0);
    if (fuzz_alloc_live() != live)
        abort(); /* a leak on this path */
    return 0;
}
