/* Seeds of fuzz/fuzz_session.c: a full handshake against the fuzz harness gives a real session blob, which
 * must resume (with 0-RTT accepted and echoed) when replayed the way the target runs it. The checked-in seeds
 * are checked the same way; LWQ_WRITE_CORPUS=1 writes them to fuzz/corpus/session/ (after a change to the
 * blob or ticket format they are stale). */
#include <stdio.h>
#include <stdlib.h>
#include "../../fuzz/fuzz_session.h"
#include "testutil.h"

static void seed_write(const char *name, uint8_t fail_at, const uint8_t *blob, size_t n, const uint8_t *tok,
                       size_t tn)
{
    char path[1024];
    snprintf(path, sizeof(path), "fuzz/corpus/session/%s", name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    uint8_t h[3] = {fail_at, (uint8_t)(n >> 8), (uint8_t)n};
    fwrite(h, 1, 3, f);
    fwrite(blob, 1, n, f);
    if (tn)
        fwrite(tok, 1, tn, f);
    fclose(f);
}

START_TEST(test_session_seeds)
{
    lwq_context *cctx, *sctx;
    fuzz_rng_reset(SESS_SEED);
    ck_assert_int_eq(sess_contexts(&cctx, &sctx, lwq_test_alloc), 0);
    sess_result full, again;
    fuzz_rng_reset(SESS_SEED ^ 1);
    sess_run(cctx, sctx, NULL, 0, NULL, 0, &full);
    ck_assert(full.established);
    ck_assert(!full.resumed);
    ck_assert_uint_gt(full.ticket_len, 0);
    fuzz_rng_reset(SESS_SEED ^ 1);
    sess_run(cctx, sctx, full.ticket, full.ticket_len, NULL, 0, &again);
    ck_assert(again.established && again.resumed);
    ck_assert(again.early_sent && again.early_accepted);
    ck_assert_uint_eq(again.echoed, 17);
    if (getenv("LWQ_WRITE_CORPUS")) {
        static const uint8_t tok[] = {0x52, 1, 2, 3, 4, 5, 6, 7, 8};
        seed_write("resume_0rtt", 0, full.ticket, full.ticket_len, NULL, 0);
        seed_write("resume_token", 0, full.ticket, full.ticket_len, tok, sizeof(tok));
        seed_write("resume_fail_30", 30, full.ticket, full.ticket_len, NULL, 0);
        seed_write("resume_fail_90", 90, full.ticket, full.ticket_len, NULL, 0);
        seed_write("truncated", 0, full.ticket, full.ticket_len / 2, NULL, 0);
        seed_write("no_session", 0, NULL, 0, NULL, 0);
    }
    /* the checked-in seed still resumes with 0-RTT */
    size_t len;
    uint8_t *in = lwq_test_read_file("fuzz/corpus/session/resume_0rtt", &len);
    ck_assert_msg(in && len > 3, "no seed fuzz/corpus/session/resume_0rtt");
    fuzz_rng_reset(SESS_SEED ^ 1);
    sess_run(cctx, sctx, in + 3, len - 3, NULL, 0, &again);
    ck_assert_msg(again.resumed && again.early_accepted,
                  "stale seed: LWQ_WRITE_CORPUS=1 CK_RUN_SUITE=fuzz_session build/tests/unit-tests");
    free(in);
    lwq_context_del(cctx);
    lwq_context_del(sctx);
}
END_TEST

Suite *suite_fuzz_session(void)
{
    Suite *s = suite_create("fuzz_session");
    TCase *tc = lwq_test_tcase("fuzz_session");
    tcase_add_test(tc, test_session_seeds);
    suite_add_tcase(s, tc);
    return s;
}
