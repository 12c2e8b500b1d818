/* RFC 9369 Appendix A (QUIC v2), with every value read from the RFC text in ../shared/specs. */
#include <stdlib.h>
#include "testutil.h"
#include "tls/keysched.h"

/* In test_rfc9001_keys.c: the two appendices have the same layout. */
char *lwq_vec_spec_load(const char *rel);
void lwq_vec_check_appendix(uint32_t version, const char *spec);

START_TEST(test_rfc9369_appendix_a)
{
    char *spec = lwq_vec_spec_load("specs/rfc9369.md");
    lwq_vec_check_appendix(LWQ_QUIC_V2, spec);
    free(spec);
}
END_TEST

Suite *suite_rfc9369_keys(void)
{
    Suite *s = suite_create("rfc9369_keys");
    TCase *tc = lwq_test_tcase("appendix_a");
    tcase_add_test(tc, test_rfc9369_appendix_a);
    suite_add_tcase(s, tc);
    return s;
}
