/* Events derived from state (src/quic/conn_event.c): an application that does not take events for a
 * long time misses none, each stream's events come in order, repeated ones coalesce, and a peer's
 * stream credit comes back only once its STREAM_CLOSED was taken. */
#include "conn_pair.h"

#define NSTREAMS 600

static int established(pair *p)
{
    return pair_established(p);
}

static int client_sent_all(pair *p)
{
    return p->server && p->server->st.peer_next[0] == NSTREAMS && !lwq_streams_have_new_data(p->client);
}

START_TEST(test_events_none_lost_in_order)
{
    pair p;
    pair_init(&p, 951);
    p.scfg.initial_max_streams_bidi = NSTREAMS;
    p.scfg.max_streams_open = NSTREAMS + p.scfg.initial_max_streams_uni;
    pair_start(&p);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p.server, &ev))
        ;
    for (int i = 0; i < NSTREAMS; i++) {
        int64_t id;
        ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
        uint8_t b[3] = {(uint8_t)i, (uint8_t)(i >> 8), 0x5a};
        ck_assert_int_eq(lwq_stream_write(p.client, id, b, sizeof(b), 1), 3);
    }
    /* The server application takes no event while all of it arrives. */
    ck_assert(pair_run(&p, client_sent_all, 30 * LWQ_SEC));
    pair_run(&p, NULL, 200 * LWQ_MS);
    static uint8_t seen[NSTREAMS];
    memset(seen, 0, sizeof(seen));
    size_t opened = 0, readable = 0;
    while (lwq_conn_next_event(p.server, &ev)) {
        if (ev.type != LWQ_EV_STREAM_OPENED && ev.type != LWQ_EV_STREAM_READABLE)
            continue;
        ck_assert_int_eq(ev.stream_id % 4, 0);
        size_t k = (size_t)(ev.stream_id / 4);
        ck_assert_uint_lt(k, NSTREAMS);
        if (ev.type == LWQ_EV_STREAM_OPENED) {
            ck_assert_int_eq(seen[k], 0);
            seen[k] = 1;
            opened++;
        } else {
            ck_assert_int_eq(seen[k], 1); /* opened, then readable; once */
            seen[k] = 2;
            readable++;
            uint8_t b[8];
            int fin = 0;
            ck_assert_int_eq(lwq_stream_read(p.server, ev.stream_id, b, sizeof(b), &fin), 3);
            ck_assert(fin);
            ck_assert_uint_eq(b[0] | b[1] << 8, k);
            ck_assert_int_eq(lwq_stream_write(p.server, ev.stream_id, NULL, 0, 1), 0);
        }
    }
    ck_assert_uint_eq(opened, NSTREAMS);
    ck_assert_uint_eq(readable, NSTREAMS);
    /* Every stream closes once its FIN is acknowledged; the credit waits for the CLOSED events. */
    pair_run(&p, NULL, 500 * LWQ_MS);
    ck_assert_uint_eq(p.server->st.count, 0);
    ck_assert_uint_eq(p.server->st.peer_max[0], NSTREAMS);
    size_t closed = 0;
    while (lwq_conn_next_event(p.server, &ev))
        closed += ev.type == LWQ_EV_STREAM_CLOSED;
    ck_assert_uint_eq(closed, NSTREAMS);
    ck_assert_uint_eq(p.server->st.peer_max[0], 2 * NSTREAMS);
    pair_free(&p);
}
END_TEST

/* Many packets of one stream before the application looks: one READABLE, and all the data. */
START_TEST(test_events_readable_coalesces)
{
    pair p;
    pair_init(&p, 952);
    pair_start(&p);
    ck_assert(pair_run(&p, established, 5 * LWQ_SEC));
    lwq_event ev;
    while (lwq_conn_next_event(p.server, &ev))
        ;
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[100000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    pair_run(&p, NULL, 2 * LWQ_SEC);
    size_t n = 0;
    while (lwq_conn_next_event(p.server, &ev))
        n += ev.type == LWQ_EV_STREAM_READABLE;
    ck_assert_uint_eq(n, 1);
    static uint8_t got[sizeof(data)];
    size_t off = 0;
    int fin = 0;
    ssize_t r;
    while (!fin && (r = lwq_stream_read(p.server, id, got + off, sizeof(got) - off, &fin)) > 0)
        off += (size_t)r;
    ck_assert_uint_eq(off, sizeof(data));
    ck_assert_mem_eq(got, data, sizeof(data));
    pair_free(&p);
}
END_TEST

Suite *suite_conn_events(void)
{
    Suite *s = suite_create("conn_events");
    TCase *tc = lwq_test_tcase("events");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_events_none_lost_in_order);
    tcase_add_test(tc, test_events_readable_coalesces);
    suite_add_tcase(s, tc);
    return s;
}
