#include <stdio.h>
#include <string.h>
#include "conn_pair.h"
#include "lwquic/h3.h"

#define HQ_MAX 64

typedef struct hq_resp {
    int64_t id;
    int status, ended, reset;
    uint64_t reset_code;
    size_t body_len, bad;
} hq_resp;

typedef struct hq_req {
    int64_t id;
    char path[64];
    int ended, responded, reset;
    uint8_t *echo;
    size_t echo_len;
} hq_req;

typedef struct hq {
    pair p;
    lwq_h3 *c, *s;
    hq_resp resp[HQ_MAX];
    size_t nresp;
    hq_req req[HQ_MAX];
    size_t nreq;
    size_t want_done;
    int server_resets, stop_body_at, endpoint_style;
    uint64_t server_reset_code;
    int goaways, client_closed;
    uint64_t goaway_id;
    lwq_close_info client_close;
} hq;

static hq *cur;

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 11));
}

static ssize_t big_src(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof)
{
    size_t *left = ud; /* per-request counter at [0]: total, [1]: sent */
    (void)id;
    size_t k = left[0] - left[1] < cap ? left[0] - left[1] : cap;
    for (size_t i = 0; i < k; i++)
        buf[i] = pat(left[1] + i);
    left[1] += k;
    *eof = left[1] == left[0];
    return (ssize_t)k;
}

static size_t src_state[HQ_MAX][2];

static hq_req *req_of(hq *q, int64_t id)
{
    for (size_t i = 0; i < q->nreq; i++)
        if (q->req[i].id == id)
            return &q->req[i];
    return NULL;
}

static hq_resp *resp_of(hq *q, int64_t id)
{
    for (size_t i = 0; i < q->nresp; i++)
        if (q->resp[i].id == id)
            return &q->resp[i];
    return NULL;
}

static void server_answer(hq *q, hq_req *r)
{
    r->responded = 1;
    if (strcmp(r->path, "/echo") == 0) {
        lwq_h3_body b = {r->echo, r->echo_len, NULL, NULL};
        ck_assert_int_eq(lwq_h3_respond(q->s, r->id, 200, NULL, 0, &b), 0);
        free(r->echo);
        r->echo = NULL;
    } else if (strncmp(r->path, "/size/", 6) == 0) {
        size_t idx = (size_t)(r - q->req);
        src_state[idx][0] = (size_t)atol(r->path + 6);
        src_state[idx][1] = 0;
        lwq_h3_body b = {NULL, 0, big_src, src_state[idx]};
        ck_assert_int_eq(lwq_h3_respond(q->s, r->id, 200, NULL, 0, &b), 0);
    } else {
        ck_assert_int_eq(lwq_h3_respond(q->s, r->id, 404, NULL, 0, NULL), 0);
    }
}

/* endpoint style: the caller pulls the connection's events and hands them over */
static int server_next(hq *q, lwq_h3_event *ev)
{
    if (!q->endpoint_style)
        return lwq_h3_next_event(q->s, ev);
    lwq_event t;
    while (lwq_conn_next_event(q->p.server, &t))
        lwq_h3_handle_transport(q->s, &t);
    return lwq_h3_poll_event(q->s, ev);
}

static void pump_server(hq *q)
{
    lwq_h3_event ev;
    uint8_t buf[8192];
    while (server_next(q, &ev)) {
        hq_req *r = req_of(q, ev.stream_id);
        switch (ev.type) {
        case LWQ_H3_EV_REQUEST: {
            ck_assert_uint_lt(q->nreq, HQ_MAX);
            r = &q->req[q->nreq++];
            memset(r, 0, sizeof(*r));
            r->id = ev.stream_id;
            const lwq_h3_field *f = lwq_h3_find(ev.fields, ev.field_count, ":path");
            ck_assert_ptr_nonnull(f);
            snprintf(r->path, sizeof(r->path), "%.*s", (int)f->value_len, (const char *)f->value);
            break;
        }
        case LWQ_H3_EV_DATA:
        case LWQ_H3_EV_END: {
            ssize_t n;
            while ((n = lwq_h3_read_body(q->s, ev.stream_id, buf, sizeof(buf))) > 0) {
                r->echo = realloc(r->echo, r->echo_len + (size_t)n);
                memcpy(r->echo + r->echo_len, buf, (size_t)n);
                r->echo_len += (size_t)n;
            }
            if (ev.type == LWQ_H3_EV_END) {
                r->ended = 1;
                server_answer(q, r);
            }
            break;
        }
        case LWQ_H3_EV_RESET:
            q->server_resets++;
            q->server_reset_code = ev.error_code;
            if (r) {
                r->reset = 1;
                free(r->echo);
                r->echo = NULL;
            }
            break;
        default:
            break;
        }
    }
}

static void pump_client(hq *q)
{
    lwq_h3_event ev;
    uint8_t buf[8192];
    while (lwq_h3_next_event(q->c, &ev)) {
        hq_resp *r = resp_of(q, ev.stream_id);
        switch (ev.type) {
        case LWQ_H3_EV_RESPONSE:
            ck_assert_ptr_nonnull(r);
            r->status = ev.status;
            break;
        case LWQ_H3_EV_DATA:
        case LWQ_H3_EV_END: {
            ssize_t n;
            while ((n = lwq_h3_read_body(q->c, ev.stream_id, buf, sizeof(buf))) > 0) {
                for (ssize_t i = 0; i < n; i++)
                    r->bad += buf[i] != pat(r->body_len + (size_t)i);
                r->body_len += (size_t)n;
                if (q->stop_body_at && r->body_len >= (size_t)q->stop_body_at && !r->reset) {
                    ck_assert_int_eq(lwq_h3_cancel(q->c, r->id, LWQ_H3_REQUEST_CANCELLED), 0);
                    r->reset = 1;
                    break;
                }
            }
            if (ev.type == LWQ_H3_EV_END) {
                r->ended = 1;
                q->want_done--;
            }
            break;
        }
        case LWQ_H3_EV_RESET:
            if (r) {
                r->reset = 1;
                r->reset_code = ev.error_code;
            }
            break;
        case LWQ_H3_EV_GOAWAY:
            q->goaways++;
            q->goaway_id = ev.id;
            break;
        case LWQ_H3_EV_CLOSED:
            q->client_closed = 1;
            q->client_close = ev.transport.close;
            break;
        default:
            break;
        }
    }
}

static int step(pair *p)
{
    hq *q = cur;
    (void)p;
    if (q->p.server && !q->s) {
        lwq_h3_config cfg;
        lwq_h3_config_init(&cfg);
        cfg.alloc = lwq_test_alloc;
        ck_assert_int_eq(lwq_h3_new(&q->s, q->p.server, 1, &cfg), 0);
    }
    if (q->s)
        pump_server(q);
    pump_client(q);
    return q->want_done == 0;
}

static uint64_t hq_seed = 7;

static void hq_start(hq *q)
{
    memset(q, 0, sizeof(*q));
    cur = q;
    pair_init(&q->p, hq_seed);
    q->p.ccfg.initial_max_streams_bidi = q->p.scfg.initial_max_streams_bidi = 100;
    pair_start(&q->p);
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_new(&q->c, q->p.client, 0, &cfg), 0);
    ck_assert(pair_run(&q->p, pair_established, 5 * LWQ_SEC));
}

static int64_t hq_get(hq *q, const char *method, const char *path, const lwq_h3_body *body)
{
    lwq_h3_request r;
    memset(&r, 0, sizeof(r));
    r.method = method;
    r.scheme = "https";
    r.authority = "localhost";
    r.path = path;
    r.urgency = 3;
    r.body = body;
    int64_t id;
    ck_assert_int_eq(lwq_h3_submit(q->c, &r, &id), 0);
    hq_resp *x = &q->resp[q->nresp++];
    memset(x, 0, sizeof(*x));
    x->id = id;
    q->want_done++;
    return id;
}

static void hq_end(hq *q)
{
    for (size_t i = 0; i < q->nreq; i++)
        free(q->req[i].echo);
    lwq_h3_del(q->c);
    lwq_h3_del(q->s);
    pair_free(&q->p);
}

START_TEST(test_get_404_and_post_echo)
{
    static hq q;
    hq_start(&q);
    int64_t a = hq_get(&q, "GET", "/size/100000", NULL);
    int64_t b = hq_get(&q, "GET", "/missing", NULL);
    uint8_t *mb = malloc(1 << 20);
    for (size_t i = 0; i < (1 << 20); i++)
        mb[i] = pat(i);
    lwq_h3_body body = {mb, 1 << 20, NULL, NULL};
    int64_t c = hq_get(&q, "POST", "/echo", &body);
    free(mb);
    ck_assert(pair_run(&q.p, step, 60 * LWQ_SEC));
    ck_assert_int_eq(resp_of(&q, a)->status, 200);
    ck_assert_uint_eq(resp_of(&q, a)->body_len, 100000);
    ck_assert_uint_eq(resp_of(&q, a)->bad, 0);
    ck_assert_int_eq(resp_of(&q, b)->status, 404);
    ck_assert_uint_eq(resp_of(&q, b)->body_len, 0);
    ck_assert_int_eq(resp_of(&q, c)->status, 200);
    ck_assert_uint_eq(resp_of(&q, c)->body_len, 1 << 20);
    ck_assert_uint_eq(resp_of(&q, c)->bad, 0);
    ck_assert(lwq_h3_conn_idle(lwq_h3_core(q.c)));
    hq_end(&q);
}
END_TEST

START_TEST(test_many_concurrent)
{
    static hq q;
    hq_start(&q);
    q.endpoint_style = _i;
    for (int i = 0; i < 50; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/size/%d", i * 1000 + 1);
        hq_get(&q, "GET", path, NULL);
    }
    ck_assert(pair_run(&q.p, step, 60 * LWQ_SEC));
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(q.resp[i].status, 200);
        ck_assert_uint_eq(q.resp[i].body_len, (size_t)i * 1000 + 1);
        ck_assert_uint_eq(q.resp[i].bad, 0);
    }
    hq_end(&q);
}
END_TEST

static int cancelled_done(pair *p)
{
    step(p);
    return cur->server_resets > 0;
}

START_TEST(test_cancel_mid_body)
{
    static hq q;
    hq_start(&q);
    q.stop_body_at = 50000;
    int64_t a = hq_get(&q, "GET", "/size/50000000", NULL);
    ck_assert(pair_run(&q.p, cancelled_done, 60 * LWQ_SEC));
    ck_assert_uint_lt(src_state[0][1], 5000000); /* the server stopped reading its source */
    ck_assert_uint_eq(q.server_reset_code, LWQ_H3_REQUEST_CANCELLED);
    ck_assert_int_eq(resp_of(&q, a)->reset, 1);
    ck_assert_int_eq(resp_of(&q, a)->ended, 0);
    ck_assert_uint_lt(resp_of(&q, a)->body_len, 5000000);
    /* the connection still works */
    q.stop_body_at = 0;
    q.want_done = 0;
    int64_t b = hq_get(&q, "GET", "/size/10", NULL);
    ck_assert(pair_run(&q.p, step, 10 * LWQ_SEC));
    ck_assert_uint_eq(resp_of(&q, b)->body_len, 10);
    hq_end(&q);
}
END_TEST

/* Loss and reordering: stream bytes arrive out of order and late; QPACK may block. */
START_TEST(test_lossy_link)
{
    static hq q;
    hq_seed = 100 + (uint64_t)_i;
    hq_start(&q);
    hq_seed = 7;
    q.p.loss_pct = 4;
    q.p.reorder_pct = 20;
    for (int i = 0; i < 20; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/size/%d", 7000 * i + 3);
        hq_get(&q, "GET", path, NULL);
    }
    uint8_t *mb = malloc(300000);
    for (size_t i = 0; i < 300000; i++)
        mb[i] = pat(i);
    lwq_h3_body body = {mb, 300000, NULL, NULL};
    int64_t e = hq_get(&q, "POST", "/echo", &body);
    free(mb);
    ck_assert(pair_run(&q.p, step, 120 * LWQ_SEC));
    ck_assert_uint_gt(q.p.dropped, 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(q.resp[i].status, 200);
        ck_assert_uint_eq(q.resp[i].body_len, (size_t)(7000 * i + 3));
        ck_assert_uint_eq(q.resp[i].bad, 0);
    }
    ck_assert_uint_eq(resp_of(&q, e)->body_len, 300000);
    ck_assert_uint_eq(resp_of(&q, e)->bad, 0);
    hq_end(&q);
}
END_TEST

static size_t want_in;

static int requests_in(pair *p)
{
    step(p);
    return cur->nreq == want_in;
}

/* The server's drain as lwquic-server does it at SIGTERM: close once lwq_h3_idle. */
static int core_idle_seen, idle_while_busy, server_closed;
static size_t drain_answers; /* requests that must be answered before the close */

static int drained(pair *p)
{
    hq *q = cur;
    step(p);
    if (!server_closed && lwq_h3_conn_idle(lwq_h3_core(q->s))) {
        core_idle_seen = 1;
        if (lwq_h3_idle(q->s)) {
            for (size_t i = 0; i < drain_answers; i++)
                idle_while_busy += !q->resp[i].ended;
            ck_assert_int_eq(lwq_conn_close(q->p.server, LWQ_H3_NO_ERROR, "drained"), 0);
            server_closed = 1;
        }
    }
    return q->client_closed;
}

START_TEST(test_goaway_drain)
{
    static hq q;
    hq_start(&q);
    q.endpoint_style = _i;
    core_idle_seen = idle_while_busy = server_closed = 0;
    drain_answers = want_in = 4;
    for (int i = 0; i < 4; i++)
        hq_get(&q, "GET", "/size/300000", NULL);
    ck_assert(pair_run(&q.p, requests_in, 10 * LWQ_SEC));
    /* RFC 9114 §5.2: GOAWAY names the first request the server will not process (12 + 4). */
    ck_assert_int_eq(lwq_h3_goaway(q.s), 0);
    ck_assert_int_eq(lwq_h3_idle(q.s), 0);
    int64_t late = hq_get(&q, "GET", "/size/10", NULL); /* sent before the GOAWAY arrives */
    ck_assert_int_eq(late, 16);
    ck_assert(pair_run(&q.p, drained, 60 * LWQ_SEC));
    ck_assert_int_eq(q.goaways, 1);
    ck_assert_uint_eq(q.goaway_id, 16);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(q.resp[i].status, 200);
        ck_assert_uint_eq(q.resp[i].body_len, 300000);
        ck_assert_uint_eq(q.resp[i].bad, 0);
        ck_assert(q.resp[i].ended);
    }
    ck_assert(resp_of(&q, late)->reset);
    ck_assert_uint_eq(resp_of(&q, late)->reset_code, LWQ_H3_REQUEST_REJECTED);
    ck_assert_uint_eq(q.nreq, 4); /* the late request never reached the server's application */
    /* idle only once every response was delivered, not when the last byte left HTTP/3 */
    ck_assert(core_idle_seen && server_closed);
    ck_assert_int_eq(idle_while_busy, 0);
    ck_assert(q.client_close.is_app && q.client_close.by_peer);
    ck_assert_uint_eq(q.client_close.code, LWQ_H3_NO_ERROR);
    hq_end(&q);
}
END_TEST

/* RFC 9114 §5.2 in two steps, as lwquic-server drains: GOAWAY 2^62-4, a round trip later the real
 * limit; the request that crossed the first GOAWAY is answered instead of rejected. */
START_TEST(test_goaway_two_steps)
{
    static hq q;
    hq_start(&q);
    q.endpoint_style = _i;
    core_idle_seen = idle_while_busy = server_closed = 0;
    drain_answers = want_in = 4;
    for (int i = 0; i < 4; i++)
        hq_get(&q, "GET", "/size/300000", NULL);
    ck_assert(pair_run(&q.p, requests_in, 10 * LWQ_SEC));
    ck_assert_int_eq(lwq_h3_goaway_notice(q.s), 0);
    int64_t late = hq_get(&q, "GET", "/size/5000", NULL);
    drain_answers = want_in = 5;
    ck_assert(pair_run(&q.p, requests_in, 10 * LWQ_SEC));
    ck_assert_int_eq(q.goaways, 1);
    ck_assert_uint_eq(q.goaway_id, ((uint64_t)1 << 62) - 4);
    ck_assert_int_eq(lwq_h3_goaway(q.s), 0);
    ck_assert(pair_run(&q.p, drained, 60 * LWQ_SEC));
    ck_assert_int_eq(q.goaways, 2);
    ck_assert_uint_eq(q.goaway_id, 20);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(q.resp[i].status, 200);
        ck_assert_uint_eq(q.resp[i].body_len, i < 4 ? 300000 : 5000);
        ck_assert_uint_eq(q.resp[i].bad, 0);
        ck_assert(q.resp[i].ended && !q.resp[i].reset);
    }
    ck_assert_int_eq(resp_of(&q, late)->status, 200);
    ck_assert(core_idle_seen && server_closed);
    ck_assert_int_eq(idle_while_busy, 0);
    ck_assert(q.client_close.is_app && q.client_close.by_peer);
    ck_assert_uint_eq(q.client_close.code, LWQ_H3_NO_ERROR);
    hq_end(&q);
}
END_TEST

Suite *suite_h3_quic(void)
{
    Suite *s = suite_create("h3_quic");
    TCase *tc = lwq_test_tcase("h3_quic");
    tcase_add_test(tc, test_get_404_and_post_echo);
    tcase_add_loop_test(tc, test_many_concurrent, 0, 2);
    tcase_add_test(tc, test_cancel_mid_body);
    tcase_add_loop_test(tc, test_goaway_drain, 0, 2);
    tcase_add_loop_test(tc, test_goaway_two_steps, 0, 2);
    tcase_add_loop_test(tc, test_lossy_link, 0, 6);
    suite_add_tcase(s, tc);
    return s;
}
