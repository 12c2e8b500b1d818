/* Version Negotiation and stateless resets are rate-limited per source address (src/quic/server.c,
 * may_answer): each answer is smaller than its trigger (no amplification, test_attack_reflect.c), and a
 * spoofed flood must not turn the server into a reflector at the attacker's packet rate either (RFC 9000
 * §6.1, §10.3, §21.1.1.1). */
#include "attack.h"

/* 1,000 triggers of each kind from one victim address within one virtual second: at most 100 answers. */
START_TEST(test_reflection_rate)
{
    atk a;
    atk_init(&a);
    atk_start(&a);
    lwq_path victim = fuzz_path("10.0.0.2", 443, "192.0.2.77", 53);
    unsigned answers = 0;
    for (unsigned i = 0; i < 2000; i++) {
        uint8_t d[1200];
        memset(d, 0x33, sizeof(d));
        if (i & 1) {
            d[0] = 0xc0;
            lwq_put32(d + 1, 0x0a0a0a0a);
            d[5] = 8;
            d[14] = 8;
        } else {
            d[0] = 0x40;
        }
        lwq_conn *c = NULL;
        ck_assert_int_eq(lwq_server_recv(a.srv, &victim, d, sizeof(d), 0, a.now, &c, NULL), 0);
        uint8_t buf[1500];
        while (lwq_server_send(a.srv, NULL, buf, sizeof(buf), a.now) > 0)
            answers++;
        if (i % 2 == 1)
            a.now += LWQ_MS / 2;
    }
    ck_assert_msg(answers <= 100, "%u answers to one address in one second", answers);
    atk_free(&a);
}
END_TEST

Suite *suite_attack_reflect_rate(void)
{
    Suite *s = suite_create("attack_reflect_rate");
    TCase *tc = lwq_test_tcase("attack_reflect_rate");
    tcase_add_test(tc, test_reflection_rate);
    suite_add_tcase(s, tc);
    return s;
}
