/* Runs every Check suite found in tests/unit and tests/vectors.
 * Usage: unit-tests [SUITE...]  (default: all; CK_RUN_SUITE/CK_RUN_CASE also work) */
#include <stdlib.h>
#include <string.h>
#include <check.h>

#define X(name) Suite *suite_##name(void);
#include "suites.h"
#undef X

struct entry {
    const char *name;
    Suite *(*make)(void);
};

static const struct entry all[] = {
#define X(name) {#name, suite_##name},
#include "suites.h"
#undef X
    {NULL, NULL}};

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    for (const struct entry *e = all; e->name; e++) {
        int want = argc < 2;
        for (int i = 1; i < argc; i++)
            want |= strcmp(argv[i], e->name) == 0;
        if (!want)
            continue;
        if (!sr)
            sr = srunner_create(e->make());
        else
            srunner_add_suite(sr, e->make());
    }
    if (!sr)
        return 2;
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
