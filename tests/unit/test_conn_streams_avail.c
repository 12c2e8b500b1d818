/* LWQ_EV_STREAMS_AVAILABLE: the peer's MAX_STREAMS raising a limit we hit (RFC 9000 §4.6, §19.11). */
#include "conn_pair.h"

typedef struct avail {
    pair *p;
    size_t events[2]; /* STREAMS_AVAILABLE by type: 0 bidi, 1 uni */
    uint64_t last_limit[2];
    size_t fins; /* client bidi streams answered with FIN */
    size_t want_fins;
} avail;

static avail *cur;

/* The server answers every bidirectional request with an empty FIN and drains unidirectional
 * streams; the client records STREAMS_AVAILABLE and reads the answers. */
static int avail_step(pair *p)
{
    avail *a = cur;
    lwq_event ev;
    uint8_t buf[256];
    int fin;
    while (p->server && lwq_conn_next_event(p->server, &ev)) {
        if (ev.type != LWQ_EV_STREAM_READABLE)
            continue;
        fin = 0;
        while (lwq_stream_read(p->server, ev.stream_id, buf, sizeof(buf), &fin) > 0 && !fin) {
        }
        if (fin && !(ev.stream_id & 2))
            ck_assert_int_eq(lwq_stream_write(p->server, ev.stream_id, NULL, 0, 1), 0);
    }
    while (lwq_conn_next_event(p->client, &ev)) {
        if (ev.type == LWQ_EV_STREAMS_AVAILABLE) {
            ck_assert_int_eq(ev.stream_id, -1);
            a->events[ev.bidi ? 0 : 1]++;
            a->last_limit[ev.bidi ? 0 : 1] = ev.offset;
        } else if (ev.type == LWQ_EV_STREAM_READABLE) {
            fin = 0;
            while (lwq_stream_read(p->client, ev.stream_id, buf, sizeof(buf), &fin) >= 0 && !fin) {
            }
            a->fins += fin;
        }
    }
    return a->fins >= a->want_fins && a->want_fins;
}

/* Keeps the applications going for a while (acknowledgments, credit updates). */
static int avail_idle(pair *p)
{
    (void)avail_step(p);
    return 0;
}

static void open_n(pair *p, int bidi, int n, int64_t *ids)
{
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(lwq_stream_open(p->client, bidi, &ids[i]), 0);
        ck_assert_int_eq(lwq_stream_write(p->client, ids[i], (const uint8_t *)"x", 1, 1), 1);
    }
}

static void setup(pair *p, avail *a, uint64_t seed, uint64_t bidi, uint64_t uni)
{
    pair_init(p, seed);
    p->scfg.initial_max_streams_bidi = bidi;
    p->scfg.initial_max_streams_uni = uni;
    pair_start(p);
    ck_assert(pair_run(p, pair_established, 5 * LWQ_SEC));
    memset(a, 0, sizeof(*a));
    a->p = p;
    cur = a;
}

START_TEST(test_raised_after_refusal)
{
    pair p;
    avail a;
    setup(&p, &a, 31, 4, 3);
    int64_t ids[8], extra;
    open_n(&p, 1, 4, ids);
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &extra), LWQ_ERR_LIMIT);
    a.want_fins = 4;
    ck_assert(pair_run(&p, avail_step, 10 * LWQ_SEC));
    pair_run(&p, avail_idle, 500 * LWQ_MS);
    /* Credit comes back in batches (two MAX_STREAMS for four closed streams): one event only. */
    ck_assert_uint_eq(a.events[0], 1);
    ck_assert_uint_eq(a.events[1], 0);
    ck_assert_uint_ge(a.last_limit[0], 5);
    ck_assert_uint_le(a.last_limit[0], p.client->st.local_max[0]);
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &extra), 0);
    ck_assert_int_eq(extra, 16);
    ck_assert_int_eq(lwq_stream_write(p.client, extra, (const uint8_t *)"x", 1, 1), 1);
    /* More credit while nothing is refused: no second event. */
    open_n(&p, 1, 2, ids);
    uint64_t before = p.client->st.local_max[0];
    a.want_fins = 7;
    ck_assert(pair_run(&p, avail_step, 10 * LWQ_SEC));
    pair_run(&p, avail_idle, 500 * LWQ_MS);
    ck_assert_uint_gt(p.client->st.local_max[0], before);
    ck_assert_uint_eq(a.events[0], 1);
    pair_free(&p);
}
END_TEST

START_TEST(test_not_raised_without_refusal)
{
    pair p;
    avail a;
    setup(&p, &a, 32, 4, 3);
    int64_t ids[4];
    open_n(&p, 1, 4, ids); /* the limit is reached but nothing was refused */
    a.want_fins = 4;
    ck_assert(pair_run(&p, avail_step, 10 * LWQ_SEC));
    pair_run(&p, avail_idle, 500 * LWQ_MS);
    ck_assert_uint_gt(p.client->st.local_max[0], 4);
    ck_assert_uint_eq(a.events[0], 0);
    ck_assert_uint_eq(a.events[1], 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_each_refusal_once)
{
    pair p;
    avail a;
    setup(&p, &a, 33, 2, 3);
    int64_t ids[16], extra;
    size_t fins = 0;
    for (int round = 0; round < 4; round++) {
        int n = 0;
        while (lwq_stream_open(p.client, 1, &ids[n]) == 0) {
            ck_assert_int_eq(lwq_stream_write(p.client, ids[n], (const uint8_t *)"x", 1, 1), 1);
            n++;
        }
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &extra), LWQ_ERR_LIMIT);
        fins += (size_t)n;
        a.want_fins = fins;
        ck_assert(pair_run(&p, avail_step, 10 * LWQ_SEC));
        pair_run(&p, avail_idle, 300 * LWQ_MS);
        ck_assert_uint_eq(a.events[0], (size_t)round + 1);
        ck_assert_uint_le(a.last_limit[0], p.client->st.local_max[0]);
        ck_assert_uint_gt(a.last_limit[0], p.client->st.local_next[0] - 1);
    }
    ck_assert_uint_eq(a.events[1], 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_unidirectional)
{
    pair p;
    avail a;
    setup(&p, &a, 34, 4, 2);
    int64_t ids[2], extra;
    open_n(&p, 0, 2, ids);
    ck_assert_int_eq(ids[1], 6);
    ck_assert_int_eq(lwq_stream_open(p.client, 0, &extra), LWQ_ERR_LIMIT);
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &extra), 0); /* bidi still has room */
    ck_assert_int_eq(lwq_stream_write(p.client, extra, (const uint8_t *)"x", 1, 1), 1);
    a.want_fins = 1;
    ck_assert(pair_run(&p, avail_step, 10 * LWQ_SEC));
    pair_run(&p, avail_idle, 500 * LWQ_MS);
    ck_assert_uint_eq(a.events[1], 1);
    ck_assert_uint_eq(a.events[0], 0);
    ck_assert_uint_ge(a.last_limit[1], 3);
    ck_assert_int_eq(lwq_stream_open(p.client, 0, &extra), 0);
    ck_assert_int_eq(extra, 10);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_streams_avail(void)
{
    Suite *s = suite_create("conn_streams_avail");
    TCase *tc = lwq_test_tcase("streams_available");
    tcase_add_test(tc, test_raised_after_refusal);
    tcase_add_test(tc, test_not_raised_without_refusal);
    tcase_add_test(tc, test_each_refusal_once);
    tcase_add_test(tc, test_unidirectional);
    suite_add_tcase(s, tc);
    return s;
}
