/* Seed loops for the connection scenarios: `make check` runs each scenario's few fixed seeds in-process;
 * LWQ_SIM_LONG=1 (`make check-long`) runs 200 seeds (LWQ_SIM_LONG=N: N seeds), each in its own child process
 * so one failing seed is reported and the others still run, then fails the test listing the failing seeds.
 * LWQ_SIM_PART=k/n runs only the seeds whose index is k modulo n: a long scenario split over n processes, each
 * short enough for Check, which cannot report a test that ran longer than about 35 minutes. */
#ifndef LWQ_TEST_SIM_SEEDS_H
#define LWQ_TEST_SIM_SEEDS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

/* LWQ_SIM_LONG=1: 200 seeds per scenario; a larger number: that many. 0 when unset. */
static inline unsigned sim_long(void)
{
    const char *v = getenv("LWQ_SIM_LONG");
    unsigned n = v ? (unsigned)strtoul(v, NULL, 10) : 0;
    return n == 1 ? 200 : n;
}

/* One seed's run; it may fill `res` (res_len bytes), which `merge` then folds into the scenario's totals. */
typedef void (*sim_seed_fn)(uint64_t seed, void *ud, void *res);
typedef void (*sim_merge_fn)(void *ud, const void *res);

#define SIM_SEEDS_RES_MAX 256
#define SIM_SEEDS_FAILED_MAX 32

static inline double sim_seeds_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs seeds first_seed .. first_seed+n-1, n = `seeds`, or sim_long() when set. Returns the count run. */
static inline unsigned sim_seeds_run(const char *name, uint64_t first_seed, unsigned seeds, sim_seed_fn fn, void *ud,
                                     size_t res_len, sim_merge_fn merge)
{
    uint8_t res[SIM_SEEDS_RES_MAX];
    ck_assert_uint_le(res_len, sizeof(res));
    unsigned n = sim_long() ? sim_long() : seeds;
    if (!sim_long()) {
        for (unsigned i = 0; i < n; i++) {
            memset(res, 0, sizeof(res));
            fn(first_seed + i, ud, res);
            if (merge)
                merge(ud, res);
        }
        return n;
    }
    double t0 = sim_seeds_wall();
    unsigned pass = 0, nfailed = 0, part = 0, parts = 1, ran = 0;
    const char *pv = getenv("LWQ_SIM_PART");
    if (pv && sscanf(pv, "%u/%u", &part, &parts) != 2)
        parts = 1;
    if (!parts || part >= parts)
        part = 0, parts = 1;
    uint64_t failed[SIM_SEEDS_FAILED_MAX];
    for (unsigned i = 0; i < n; i++) {
        if (i % parts != part)
            continue;
        ran++;
        uint64_t seed = first_seed + i;
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            memset(res, 0, sizeof(res));
            size_t live = lwq_test_alloc_live();
            fn(seed, ud, res);
            if (lwq_test_alloc_live() != live) {
                fprintf(stderr, "%s: seed %lu leaked %zu blocks\n", name, (unsigned long)seed,
                        lwq_test_alloc_live() - live);
                _exit(4);
            }
            ssize_t w = write(fds[1], res, res_len);
            _exit(w == (ssize_t)res_len ? 0 : 3);
        }
        close(fds[1]);
        memset(res, 0, sizeof(res));
        size_t got = 0;
        while (got < res_len) {
            ssize_t r = read(fds[0], res + got, res_len - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fds[0]);
        int st = 0;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == res_len;
        if (ok) {
            pass++;
            if (merge)
                merge(ud, res);
        } else if (nfailed < SIM_SEEDS_FAILED_MAX) {
            failed[nfailed++] = seed;
        }
        fprintf(stderr, "%s: seed %lu %s\n", name, (unsigned long)seed, ok ? "ok" : "FAILED");
    }
    char list[SIM_SEEDS_FAILED_MAX * 21 + 1] = "";
    for (unsigned i = 0; i < nfailed; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), " %lu", (unsigned long)failed[i]);
    char label[64] = "";
    if (parts > 1)
        snprintf(label, sizeof(label), " (part %u/%u)", part, parts);
    fprintf(stderr, "%s%s: %u seeds, %u passed, %.1f s wall%s%s\n", name, label, ran, pass, sim_seeds_wall() - t0,
            nfailed ? ", failed seeds:" : "", list);
    ck_assert_msg(pass == ran, "%s: %u of %u seeds failed:%s", name, ran - pass, ran, list);
    return ran;
}

#endif
