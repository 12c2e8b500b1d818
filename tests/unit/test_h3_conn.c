#include <string.h>
#include "testutil.h"
#include "h3_pair.h"
#include "h3/frame.h"
#include "h3/conn_int.h"

static lwq_h3_request get_req(const char *path)
{
    lwq_h3_request r;
    memset(&r, 0, sizeof(r));
    r.method = "GET";
    r.scheme = "https";
    r.authority = "example.org";
    r.path = path;
    r.urgency = 3;
    return r;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 31 + (i >> 8));
}

static void check_body(h3p_side *x, int64_t id, size_t len)
{
    h3p_body *b = h3p_body_of(x, id);
    ck_assert_uint_eq(b->len, len);
    for (size_t i = 0; i < len; i++)
        ck_assert_uint_eq(b->data[i], pattern(i));
}

static uint8_t big[200000];

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = pattern(i);
}

/* GET with a body and trailers, at a given split; the server answers once the request ended. */
static void run_get(size_t split, size_t body_len)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    p.split = split;
    fill_big();
    lwq_h3_request r = get_req("/index.html");
    lwq_h3_field extra[] = {h3p_field("user-agent", "lwquic-test")};
    r.extra = extra;
    r.extra_count = 1;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    h3p_run(&p);
    const h3p_rec *req = h3p_find(&p.s, LWQ_H3_EV_REQUEST, 0);
    ck_assert_ptr_nonnull(req);
    ck_assert_str_eq(req->first_field, ":path: /index.html");
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_END, 0));
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_SETTINGS, -1));
    lwq_h3_field rf[] = {h3p_field("content-type", "text/html")};
    lwq_h3_body body = {big, body_len, NULL, NULL};
    ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, 0, 200, rf, 1, &body), 0);
    lwq_h3_field tr[] = {h3p_field("x-checksum", "abc")};
    ck_assert_int_eq(lwq_h3_conn_submit_trailers(p.s.h, 0, tr, 1), 0);
    h3p_run(&p);
    const h3p_rec *resp = h3p_find(&p.c, LWQ_H3_EV_RESPONSE, 0);
    ck_assert_ptr_nonnull(resp);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(resp->first_field, "content-type: text/html");
    const h3p_rec *t = h3p_find(&p.c, LWQ_H3_EV_TRAILERS, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->first_field, "x-checksum: abc");
    ck_assert_ptr_nonnull(h3p_find(&p.c, LWQ_H3_EV_END, 0));
    ck_assert_ptr_null(h3p_find(&p.c, LWQ_H3_EV_RESET, -1));
    check_body(&p.c, 0, body_len);
    ck_assert(lwq_h3_conn_idle(p.c.h));
    ck_assert(lwq_h3_conn_idle(p.s.h));
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
}

START_TEST(test_get_every_split)
{
    for (size_t split = 1; split <= 300; split++)
        run_get(split, 1000);
}
END_TEST

START_TEST(test_get_large_bodies)
{
    size_t sizes[] = {0, 1, 63, 64, 16383, 16384, 65536 + 7, sizeof(big)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        run_get(1 << 20, sizes[i]);
        run_get(1000, sizes[i]);
    }
}
END_TEST

typedef struct src_state {
    size_t total, off;
    int pause_every, calls;
} src_state;

static ssize_t read_src(void *ud, int64_t id, uint8_t *buf, size_t cap, int *eof)
{
    src_state *s = ud;
    (void)id;
    if (s->pause_every && ++s->calls % s->pause_every == 0)
        return LWQ_ERR_AGAIN;
    size_t k = s->total - s->off < cap ? s->total - s->off : cap;
    for (size_t i = 0; i < k; i++)
        buf[i] = pattern(s->off + i);
    s->off += k;
    *eof = s->off == s->total;
    return (ssize_t)k;
}

START_TEST(test_post_callback_body_with_pauses)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    p.split = 777;
    src_state src = {100000, 0, 3, 0};
    lwq_h3_body body = {NULL, 0, read_src, &src};
    lwq_h3_request r = get_req("/echo");
    r.method = "POST";
    r.body = &body;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    for (int i = 0; i < 200 && !h3p_find(&p.s, LWQ_H3_EV_END, 0); i++) {
        h3p_run(&p);
        lwq_h3_conn_resume(p.c.h, 0);
    }
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_REQUEST, 0));
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_END, 0));
    check_body(&p.s, 0, 100000);
    ck_assert_int_gt(src.calls, 6);
    ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, 0, 204, NULL, 0, NULL), 0);
    h3p_run(&p);
    ck_assert_int_eq(h3p_find(&p.c, LWQ_H3_EV_RESPONSE, 0)->status, 204);
    ck_assert_ptr_nonnull(h3p_find(&p.c, LWQ_H3_EV_END, 0));
    h3p_free(&p);
}
END_TEST

START_TEST(test_informational_head_and_many_streams)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    fill_big();
    for (int64_t id = 0; id < 4 * 40; id += 4) {
        lwq_h3_request r = get_req("/x");
        if (id == 8)
            r.method = "HEAD";
        r.urgency = (uint8_t)(id / 4 % 8);
        r.incremental = id % 8 == 4;
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, id, &r), 0);
    }
    lwq_h3_request again = get_req("/");
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &again), LWQ_ERR_STATE);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_REQUEST), 40);
    const h3p_rec *r5 = h3p_find(&p.s, LWQ_H3_EV_REQUEST, 20);
    ck_assert_uint_eq(r5->urgency, 5);
    ck_assert_int_eq(r5->incremental, 1);
    size_t prio = 0;
    for (size_t i = 0; i < p.s.nact; i++)
        prio += p.s.acts[i].type == LWQ_H3_ACT_PRIORITY;
    ck_assert_uint_eq(prio, 40); /* urgency 3 always comes with incremental here */
    ck_assert_int_eq(lwq_h3_conn_submit_info(p.s.h, 4, 103, (lwq_h3_field[]){h3p_field("link", "</a>")}, 1), 0);
    ck_assert_int_eq(lwq_h3_conn_submit_info(p.s.h, 4, 200, NULL, 0), LWQ_ERR_INVAL);
    for (int64_t id = 4 * 39; id >= 0; id -= 4) {
        lwq_h3_body b = {big, (size_t)id * 10, NULL, NULL};
        lwq_h3_field cl = h3p_field("content-length", id == 8 ? "999" : "0");
        ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, id, id == 16 ? 404 : 200, &cl, id == 8 ? 1 : 0, &b), 0);
    }
    ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, 4, 200, NULL, 0, NULL), LWQ_ERR_STATE);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_END), 40);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_RESPONSE), 41);
    const h3p_rec *info = h3p_find(&p.c, LWQ_H3_EV_RESPONSE, 4);
    ck_assert_int_eq(info->status, 103);
    ck_assert_int_eq(info->informational, 1);
    ck_assert_int_eq(h3p_find(&p.c, LWQ_H3_EV_RESPONSE, 16)->status, 404);
    for (int64_t id = 0; id < 4 * 40; id += 4)
        check_body(&p.c, id, id == 8 ? 0 : (size_t)id * 10);
    ck_assert(lwq_h3_conn_idle(p.c.h) && lwq_h3_conn_idle(p.s.h));
    h3p_free(&p);
}
END_TEST

START_TEST(test_cancel_and_reset)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    src_state src = {1 << 30, 0, 0, 0};
    lwq_h3_body body = {NULL, 0, read_src, &src};
    lwq_h3_request r = get_req("/upload");
    r.method = "PUT";
    r.body = &body;
    p.split = 5000;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    for (int i = 0; i < 3; i++) {
        h3p_move(&p, &p.c, &p.s);
        h3p_events(&p, &p.s);
    }
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_REQUEST, 0));
    ck_assert_int_eq(lwq_h3_conn_cancel(p.c.h, 0, LWQ_H3_REQUEST_CANCELLED), 0);
    h3p_run(&p);
    const h3p_rec *rs = h3p_find(&p.s, LWQ_H3_EV_RESET, 0);
    ck_assert_ptr_nonnull(rs);
    ck_assert_uint_eq(rs->error_code, LWQ_H3_REQUEST_CANCELLED);
    ck_assert_ptr_null(h3p_find(&p.s, LWQ_H3_EV_END, 0));
    ck_assert(lwq_h3_conn_idle(p.c.h) && lwq_h3_conn_idle(p.s.h));
    ck_assert(!p.c.closed && !p.s.closed);
    /* the server refuses a request: the client sees the reset */
    r = get_req("/");
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 4, &r), 0);
    h3p_run(&p);
    ck_assert_int_eq(lwq_h3_conn_cancel(p.s.h, 4, LWQ_H3_REQUEST_REJECTED), 0);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_find(&p.c, LWQ_H3_EV_RESET, 4)->error_code, LWQ_H3_REQUEST_REJECTED);
    ck_assert(lwq_h3_conn_idle(p.c.h) && lwq_h3_conn_idle(p.s.h));
    h3p_free(&p);
}
END_TEST

START_TEST(test_goaway_both_ways)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    for (int64_t id = 0; id < 12; id += 4) {
        lwq_h3_request r = get_req("/");
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, id, &r), 0);
    }
    h3p_move(&p, &p.c, &p.s); /* requests 0, 4, 8 reach the server */
    h3p_events(&p, &p.s);
    ck_assert_int_eq(lwq_h3_conn_goaway(p.s.h), 0);
    lwq_h3_request r = get_req("/late");
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 12, &r), 0);
    h3p_run(&p);
    const h3p_rec *g = h3p_find(&p.c, LWQ_H3_EV_GOAWAY, -1);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->id, 12);
    /* stream 12 is beyond the GOAWAY: rejected, never seen by the server's application */
    ck_assert_uint_eq(h3p_find(&p.c, LWQ_H3_EV_RESET, 12)->error_code, LWQ_H3_REQUEST_REJECTED);
    ck_assert_ptr_null(h3p_find(&p.s, LWQ_H3_EV_REQUEST, 12));
    for (size_t i = 0; i < p.c.nact; i++) /* clients do not send H3_REQUEST_REJECTED unasked (§4.1.1) */
        ck_assert_uint_ne(p.c.acts[i].error_code, LWQ_H3_REQUEST_REJECTED);
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 16, &r), LWQ_ERR_STATE);
    for (int64_t id = 0; id < 12; id += 4)
        ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, id, 200, NULL, 0, NULL), 0);
    ck_assert_int_eq(lwq_h3_conn_goaway(p.c.h), 0);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_END), 3);
    ck_assert_uint_eq(h3p_find(&p.s, LWQ_H3_EV_GOAWAY, -1)->id, 0);
    ck_assert(lwq_h3_conn_idle(p.c.h) && lwq_h3_conn_idle(p.s.h));
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
    /* before SETTINGS has a control stream to go on, GOAWAY waits */
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    lwq_h3_conn *s;
    ck_assert_int_eq(lwq_h3_conn_new(&s, 1, &cfg), 0);
    ck_assert_int_eq(lwq_h3_conn_goaway(s), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_h3_conn_bind_streams(s, 3, 7, 11), 0);
    ck_assert_int_eq(lwq_h3_conn_goaway(s), 0);
    int64_t id;
    const uint8_t *out;
    size_t len;
    int fin;
    ck_assert(lwq_h3_conn_next_output(s, &id, &out, &len, &fin));
    ck_assert_int_eq(id, 3);
    ck_assert_uint_eq(out[0], 0x00); /* the control stream type, then SETTINGS (0x04) */
    ck_assert_uint_eq(out[1], 0x04);
    lwq_h3_conn_del(s);
}
END_TEST

START_TEST(test_goaway_notice_then_limit)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    lwq_h3_request r = get_req("/");
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 4, &r), 0);
    h3p_move(&p, &p.c, &p.s);
    h3p_events(&p, &p.s);
    /* RFC 9114 §5.2: first the largest ID, so what is in transit still counts */
    ck_assert_int_eq(lwq_h3_conn_goaway_notice(p.s.h), 0);
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 8, &r), 0); /* crosses the GOAWAY */
    h3p_run(&p);
    const h3p_rec *g = h3p_find(&p.c, LWQ_H3_EV_GOAWAY, -1);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->id, ((uint64_t)1 << 62) - 4);
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 12, &r), LWQ_ERR_STATE);
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_REQUEST, 8));
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_RESET), 0);
    /* then the real limit: after stream 8 */
    ck_assert_int_eq(lwq_h3_conn_goaway(p.s.h), 0);
    ck_assert_int_eq(lwq_h3_conn_goaway_notice(p.s.h), 0); /* not larger: nothing sent */
    for (int64_t id = 0; id < 12; id += 4)
        ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, id, 200, NULL, 0, NULL), 0);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_GOAWAY), 2);
    size_t last = 0;
    for (size_t i = 0; i < p.c.nev; i++)
        if (p.c.ev[i].type == LWQ_H3_EV_GOAWAY)
            last = i;
    ck_assert_uint_eq(p.c.ev[last].id, 12);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_END), 3);
    ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_RESET), 0);
    ck_assert(lwq_h3_conn_idle(p.c.h) && lwq_h3_conn_idle(p.s.h));
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
}
END_TEST

/* Feeds raw bytes to a fresh server (or client) after the normal setup; returns the close code. */
static uint64_t raw(int to_server, int64_t id, const uint8_t *b, size_t n, int fin)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    h3p_run(&p);
    h3p_side *x = to_server ? &p.s : &p.c;
    lwq_h3_conn_recv_stream(x->h, id, b, n, fin);
    h3p_run(&p);
    h3p_events(&p, x);
    uint64_t code = lwq_h3_conn_error(x->h, NULL);
    h3p_free(&p);
    return code;
}

START_TEST(test_connection_errors)
{
    /* a second control stream */
    const uint8_t ctrl2[] = {0x00, 0x04, 0x00};
    ck_assert_uint_eq(raw(1, 14, ctrl2, 3, 0), LWQ_H3_STREAM_CREATION_ERROR);
    const uint8_t enc2[] = {0x02};
    ck_assert_uint_eq(raw(1, 14, enc2, 1, 0), LWQ_H3_STREAM_CREATION_ERROR);
    /* push streams: never allowed */
    const uint8_t push[] = {0x01, 0x00};
    ck_assert_uint_eq(raw(1, 14, push, 2, 0), LWQ_H3_STREAM_CREATION_ERROR);
    ck_assert_uint_eq(raw(0, 15, push, 2, 0), LWQ_H3_ID_ERROR);
    /* closing a critical stream */
    ck_assert_uint_eq(raw(1, 2, NULL, 0, 1), LWQ_H3_CLOSED_CRITICAL_STREAM);
    ck_assert_uint_eq(raw(0, 7, NULL, 0, 1), LWQ_H3_CLOSED_CRITICAL_STREAM);
    /* frames on the control stream */
    const uint8_t data_ctrl[] = {0x00, 0x01, 0x00};
    ck_assert_uint_eq(raw(1, 2, data_ctrl, 2, 0), LWQ_H3_FRAME_UNEXPECTED);
    const uint8_t settings2[] = {0x04, 0x00};
    ck_assert_uint_eq(raw(1, 2, settings2, 2, 0), LWQ_H3_FRAME_UNEXPECTED);
    const uint8_t bad_goaway[] = {0x07, 0x01, 0x05};
    ck_assert_uint_eq(raw(0, 3, bad_goaway, 3, 0), LWQ_H3_ID_ERROR);
    const uint8_t goaway_len[] = {0x07, 0x02, 0x04, 0x00};
    ck_assert_uint_eq(raw(0, 3, goaway_len, 4, 0), LWQ_H3_FRAME_ERROR);
    const uint8_t cancel_push[] = {0x03, 0x01, 0x00};
    ck_assert_uint_eq(raw(0, 3, cancel_push, 3, 0), LWQ_H3_ID_ERROR);
    ck_assert_uint_eq(raw(1, 2, cancel_push, 3, 0), 0);
    const uint8_t max_push[] = {0x0d, 0x01, 0x00};
    ck_assert_uint_eq(raw(0, 3, max_push, 3, 0), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(raw(1, 2, max_push, 3, 0), 0);
    const uint8_t goaway_up[] = {0x07, 0x01, 0x05, 0x07, 0x01, 0x06};
    ck_assert_uint_eq(raw(1, 2, goaway_up, 6, 0), LWQ_H3_ID_ERROR);
    const uint8_t goaway_down[] = {0x07, 0x01, 0x08, 0x07, 0x01, 0x04};
    ck_assert_uint_eq(raw(0, 3, goaway_down, 6, 0), 0);
    const uint8_t big_ctrl[] = {0x21, 0x44, 0x00}; /* a reserved frame longer than any control frame */
    ck_assert_uint_eq(raw(1, 2, big_ctrl, 3, 0), 0);
    const uint8_t big_goaway[] = {0x07, 0x50, 0x01}; /* 4097 bytes */
    ck_assert_uint_eq(raw(1, 2, big_goaway, 3, 0), LWQ_H3_EXCESSIVE_LOAD);
    const uint8_t h2_frame[] = {0x06, 0x00};
    ck_assert_uint_eq(raw(1, 2, h2_frame, 2, 0), LWQ_H3_FRAME_UNEXPECTED);
    const uint8_t prio_push[] = {0x80, 0x0f, 0x07, 0x01, 0x01, 0x00};
    ck_assert_uint_eq(raw(1, 2, prio_push, 6, 0), LWQ_H3_ID_ERROR);
    const uint8_t prio_bad_id[] = {0x80, 0x0f, 0x07, 0x00, 0x01, 0x02};
    ck_assert_uint_eq(raw(1, 2, prio_bad_id, 6, 0), LWQ_H3_ID_ERROR);
    ck_assert_uint_eq(raw(0, 3, prio_bad_id, 6, 0), LWQ_H3_FRAME_UNEXPECTED);
    /* a server-initiated bidirectional stream */
    ck_assert_uint_eq(raw(0, 1, settings2, 2, 0), LWQ_H3_STREAM_CREATION_ERROR);
    /* request streams: DATA first, frames that belong on the control stream */
    const uint8_t data_first[] = {0x00, 0x01, 0x41};
    ck_assert_uint_eq(raw(1, 0, data_first, 3, 0), LWQ_H3_FRAME_UNEXPECTED);
    ck_assert_uint_eq(raw(1, 0, settings2, 2, 0), LWQ_H3_FRAME_UNEXPECTED);
    const uint8_t pp[] = {0x05, 0x01, 0x00};
    ck_assert_uint_eq(raw(1, 0, pp, 3, 0), LWQ_H3_FRAME_UNEXPECTED);
    /* a stream that ends inside a frame */
    const uint8_t cut[] = {0x01, 0x05, 0x00};
    ck_assert_uint_eq(raw(1, 0, cut, 3, 1), LWQ_H3_FRAME_ERROR);
    /* QPACK: a reference into an empty dynamic table */
    const uint8_t bad_ref[] = {0x01, 0x03, 0x00, 0x00, 0x80};
    ck_assert_uint_eq(raw(1, 0, bad_ref, 5, 0), LWQ_QPACK_DECOMPRESSION_FAILED);
    /* unknown unidirectional stream types are ignored */
    const uint8_t grease_uni[] = {0x40, 0x21, 0x00, 0x01, 0x02};
    ck_assert_uint_eq(raw(1, 14, grease_uni, 5, 1), 0);
}
END_TEST

START_TEST(test_control_stream_needs_settings_first)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    const uint8_t g[] = {0x00, 0x07, 0x01, 0x00};
    ck_assert_int_eq(lwq_h3_conn_recv_stream(p.c.h, 19, g, 4, 0), LWQ_ERR_PROTO);
    ck_assert_uint_eq(lwq_h3_conn_error(p.c.h, NULL), LWQ_H3_MISSING_SETTINGS);
    lwq_h3_action a;
    ck_assert_int_eq(lwq_h3_conn_next_action(p.c.h, &a), 1);
    ck_assert_int_eq(a.type, LWQ_H3_ACT_CLOSE);
    ck_assert_uint_eq(a.error_code, LWQ_H3_MISSING_SETTINGS);
    ck_assert_ptr_nonnull(a.reason);
    h3p_free(&p);
}
END_TEST

/* Stream-level errors: the stream is reset, the connection lives on. */
static void stream_error_case(const lwq_h3_field *f, size_t n, const char *body, int to_server, uint64_t want)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    lwq_h3_conn *sender = to_server ? p.c.h : p.s.h;
    (void)sender;
    h3p_run(&p);
    /* encode with a separate encoder-free path: static-only QPACK literal sections via a helper conn */
    lwq_h3_conn *enc;
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_conn_new(&enc, 0, &cfg), 0);
    lwq_qpack_buf out;
    lwq_qpack_buf_init(&out, lwq_test_alloc);
    extern int h3_encode_section(lwq_h3_conn *, int64_t, const lwq_h3_field *, size_t, lwq_qpack_buf *);
    ck_assert_int_eq(h3_encode_section(enc, 0, f, n, &out), 0);
    if (body) {
        uint8_t hdr[8];
        size_t bl = strlen(body);
        ssize_t hl = lwq_h3_frame_hdr_encode(hdr, sizeof(hdr), LWQ_H3_FT_DATA, bl);
        lwq_qpack_buf_reserve(&out, (size_t)hl + bl);
        memcpy(out.data + out.len, hdr, (size_t)hl);
        memcpy(out.data + out.len + hl, body, bl);
        out.len += (size_t)hl + bl;
    }
    h3p_side *rx = to_server ? &p.s : &p.c;
    if (!to_server) {
        lwq_h3_request r = get_req("/");
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
        h3p_run(&p);
    }
    ck_assert_int_eq(lwq_h3_conn_recv_stream(rx->h, 0, out.data, out.len, 1), (ssize_t)out.len);
    h3p_run(&p);
    h3p_events(&p, rx);
    const h3p_rec *rs = h3p_find(rx, LWQ_H3_EV_RESET, 0);
    if (want) {
        ck_assert_ptr_nonnull(rs);
        ck_assert_uint_eq(rs->error_code, want);
        int reset = 0, stop = 0;
        for (size_t i = 0; i < rx->nact; i++) {
            reset += rx->acts[i].type == LWQ_H3_ACT_RESET && rx->acts[i].error_code == want;
            stop += rx->acts[i].type == LWQ_H3_ACT_STOP_SENDING && rx->acts[i].error_code == want;
        }
        /* the client's request was complete already: only reading is aborted */
        ck_assert_int_eq(reset, to_server ? 1 : 0);
        ck_assert_int_eq(stop, 1);
    } else {
        ck_assert_ptr_null(rs);
        ck_assert_ptr_nonnull(h3p_find(rx, LWQ_H3_EV_END, 0));
    }
    ck_assert_uint_eq(lwq_h3_conn_error(rx->h, NULL), 0);
    lwq_qpack_buf_free(&out);
    lwq_h3_conn_del(enc);
    h3p_free(&p);
}

START_TEST(test_malformed_messages)
{
    lwq_h3_field ok[] = {h3p_field(":method", "POST"), h3p_field(":scheme", "https"), h3p_field(":authority", "a"),
                         h3p_field(":path", "/"), h3p_field("content-length", "3")};
    stream_error_case(ok, 5, "abc", 1, 0);
    stream_error_case(ok, 5, "abcd", 1, LWQ_H3_MESSAGE_ERROR);
    stream_error_case(ok, 5, "ab", 1, LWQ_H3_MESSAGE_ERROR);
    stream_error_case(ok, 4, NULL, 1, 0);
    lwq_h3_field upper[] = {h3p_field(":method", "GET"), h3p_field(":scheme", "https"), h3p_field(":authority", "a"),
                            h3p_field(":path", "/"), h3p_field("X-Foo", "1")};
    stream_error_case(upper, 5, NULL, 1, LWQ_H3_MESSAGE_ERROR);
    lwq_h3_field conn[] = {h3p_field(":method", "GET"), h3p_field(":scheme", "https"), h3p_field(":authority", "a"),
                           h3p_field(":path", "/"), h3p_field("connection", "keep-alive")};
    stream_error_case(conn, 5, NULL, 1, LWQ_H3_MESSAGE_ERROR);
    stream_error_case(conn, 3, NULL, 1, LWQ_H3_MESSAGE_ERROR); /* no :path */
    lwq_h3_field resp[] = {h3p_field(":status", "200"), h3p_field("content-length", "2")};
    stream_error_case(resp, 2, "xy", 0, 0);
    stream_error_case(resp, 2, "xyz", 0, LWQ_H3_MESSAGE_ERROR);
    lwq_h3_field nostatus[] = {h3p_field("content-length", "2")};
    stream_error_case(nostatus, 1, NULL, 0, LWQ_H3_MESSAGE_ERROR);
}
END_TEST

START_TEST(test_request_incomplete_and_limits)
{
    h3p p;
    lwq_h3_config sc;
    lwq_h3_config_init(&sc);
    sc.alloc = lwq_test_alloc;
    sc.max_field_section_size = 200;
    sc.max_streams = 2;
    h3p_init(&p, NULL, &sc);
    h3p_run(&p);
    ck_assert_uint_eq(lwq_h3_conn_peer_max_field_section(p.c.h), 200);
    /* a request stream that ends with no HEADERS */
    const uint8_t grease[] = {0x21, 0x00};
    lwq_h3_conn_recv_stream(p.s.h, 0, grease, 2, 1);
    h3p_events(&p, &p.s);
    ck_assert_uint_eq(h3p_find(&p.s, LWQ_H3_EV_RESET, 0)->error_code, LWQ_H3_REQUEST_INCOMPLETE);
    /* the client's encoder refuses a section above the peer's limit */
    char longv[300];
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    lwq_h3_field big_f = h3p_field("x-big", longv);
    lwq_h3_request r = get_req("/");
    r.extra = &big_f;
    r.extra_count = 1;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 4, &r), LWQ_ERR_LIMIT);
    /* two streams tracked at most: the third is refused */
    r = get_req("/");
    for (int64_t id = 4; id <= 12; id += 4)
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, id, &r), 0);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_REQUEST), 2);
    ck_assert_uint_eq(h3p_find(&p.c, LWQ_H3_EV_RESET, 12)->error_code, LWQ_H3_REQUEST_REJECTED);
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
}
END_TEST

START_TEST(test_body_backpressure)
{
    h3p p;
    lwq_h3_config sc;
    lwq_h3_config_init(&sc);
    sc.alloc = lwq_test_alloc;
    sc.max_body_buffer = 5000;
    h3p_init(&p, NULL, &sc);
    p.no_read = 1;
    fill_big();
    lwq_h3_body b = {big, 100000, NULL, NULL};
    lwq_h3_request r = get_req("/up");
    r.method = "POST";
    r.body = &b;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    h3p_run(&p);
    ck_assert_int_eq(lwq_h3_conn_recv_window(p.s.h, 0), 0);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_DATA), 1);
    size_t got = 0;
    uint8_t buf[3000];
    for (int i = 0; i < 1000 && !h3p_find(&p.s, LWQ_H3_EV_END, 0); i++) {
        ssize_t n;
        while ((n = lwq_h3_conn_read_body(p.s.h, 0, buf, sizeof(buf))) > 0) {
            for (ssize_t k = 0; k < n; k++)
                ck_assert_uint_eq(buf[k], pattern(got + (size_t)k));
            got += (size_t)n;
        }
        h3p_run(&p);
    }
    ssize_t n;
    while ((n = lwq_h3_conn_read_body(p.s.h, 0, buf, sizeof(buf))) > 0)
        got += (size_t)n;
    ck_assert_uint_eq(got, 100000);
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_END, 0));
    h3p_free(&p);
}
END_TEST

START_TEST(test_priority_update)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    lwq_h3_request r = get_req("/");
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    h3p_run(&p);
    uint8_t b[32];
    ssize_t n = lwq_h3_priority_update_encode(b, sizeof(b), 0, "u=0, i");
    ck_assert_int_eq(lwq_h3_conn_recv_stream(p.s.h, 2, b, (size_t)n, 0), n);
    h3p_events(&p, &p.s);
    const h3p_rec *e = h3p_find(&p.s, LWQ_H3_EV_PRIORITY, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->urgency, 0);
    ck_assert_int_eq(e->incremental, 1);
    lwq_h3_action a;
    int found = 0;
    while (lwq_h3_conn_next_action(p.s.h, &a))
        found |= a.type == LWQ_H3_ACT_PRIORITY && a.stream_id == 0 && a.urgency == 0 && a.incremental;
    ck_assert(found);
    h3p_free(&p);
}
END_TEST

START_TEST(test_alloc_failures)
{
    /* every allocation of a whole exchange fails in turn; nothing leaks, nothing crashes */
    for (size_t k = 1; k < 400; k++) {
        lwq_h3_conn *c = NULL, *s = NULL;
        lwq_h3_config cfg;
        lwq_h3_config_init(&cfg);
        cfg.alloc = lwq_test_alloc;
        lwq_test_alloc_fail_at(k);
        if (lwq_h3_conn_new(&c, 0, &cfg) == 0 && lwq_h3_conn_new(&s, 1, &cfg) == 0 &&
            lwq_h3_conn_bind_streams(c, 2, 6, 10) == 0 && lwq_h3_conn_bind_streams(s, 3, 7, 11) == 0) {
            lwq_h3_request r = get_req("/a");
            lwq_h3_conn_submit_request(c, 0, &r);
            for (int round = 0; round < 4; round++) {
                int64_t id;
                const uint8_t *d;
                size_t len;
                int fin;
                lwq_h3_event ev;
                for (int g = 0; g < 50 && lwq_h3_conn_next_output(c, &id, &d, &len, &fin); g++) {
                    ssize_t m = lwq_h3_conn_recv_stream(s, id, d, len, fin);
                    lwq_h3_conn_output_done(c, id, m < 0 ? len : (size_t)m, 0);
                }
                while (lwq_h3_conn_next_event(s, &ev))
                    if (ev.type == LWQ_H3_EV_REQUEST)
                        lwq_h3_conn_submit_response(s, ev.stream_id, 200, NULL, 0,
                                                    &(lwq_h3_body){(const uint8_t *)"hi", 2, NULL, NULL});
                for (int g = 0; g < 50 && lwq_h3_conn_next_output(s, &id, &d, &len, &fin); g++) {
                    ssize_t m = lwq_h3_conn_recv_stream(c, id, d, len, fin);
                    lwq_h3_conn_output_done(s, id, m < 0 ? len : (size_t)m, 0);
                }
                while (lwq_h3_conn_next_event(c, &ev))
                    ;
            }
        }
        lwq_test_alloc_fail_at(0);
        lwq_h3_conn_del(c);
        lwq_h3_conn_del(s);
        ck_assert_uint_eq(lwq_test_alloc_live(), 0);
    }
}
END_TEST

/* Request streams delivered before the encoder stream: the server's decoder blocks, then resumes. */
START_TEST(test_qpack_blocked_streams)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    h3p_run(&p); /* SETTINGS both ways: the dynamic table is allowed */
    lwq_h3_field ex[] = {h3p_field("x-session", "0123456789abcdef0123456789abcdef")};
    for (int64_t id = 0; id < 40; id += 4) {
        lwq_h3_request r = get_req("/same");
        r.extra = ex;
        r.extra_count = 1;
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, id, &r), 0);
    }
    /* hold back the client's encoder stream (6) */
    static uint8_t held[65536];
    size_t nheld = 0;
    int64_t id;
    const uint8_t *d;
    size_t len;
    int fin;
    while (lwq_h3_conn_next_output(p.c.h, &id, &d, &len, &fin)) {
        if (id == 6) {
            ck_assert_uint_lt(nheld + len, sizeof(held));
            memcpy(held + nheld, d, len);
            nheld += len;
        } else
            ck_assert_int_eq(lwq_h3_conn_recv_stream(p.s.h, id, d, len, fin), (ssize_t)len);
        lwq_h3_conn_output_done(p.c.h, id, len, 0);
    }
    h3p_events(&p, &p.s);
    size_t before = h3p_count(&p.s, LWQ_H3_EV_REQUEST);
    ck_assert_uint_gt(nheld, 0);
    ck_assert_uint_gt(lwq_qpack_decoder_blocked_streams(p.s.h->dec), 0);
    ck_assert_uint_lt(before, 10);
    /* the encoder stream byte by byte */
    for (size_t i = 0; i < nheld; i++)
        ck_assert_int_eq(lwq_h3_conn_recv_stream(p.s.h, 6, held + i, 1, 0), 1);
    h3p_events(&p, &p.s);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_REQUEST), 10);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_END), 10);
    for (size_t i = 0; i < p.s.nev; i++)
        if (p.s.ev[i].type == LWQ_H3_EV_REQUEST)
            ck_assert_uint_eq(p.s.ev[i].field_count, 5);
    ck_assert_uint_gt(lwq_qpack_decoder_insert_count(p.s.h->dec), 0);
    ck_assert_uint_eq(lwq_qpack_decoder_blocked_streams(p.s.h->dec), 0);
    h3p_run(&p);
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
}
END_TEST

START_TEST(test_received_section_too_large)
{
    h3p p;
    lwq_h3_config sc;
    lwq_h3_config_init(&sc);
    sc.alloc = lwq_test_alloc;
    sc.max_field_section_size = 300;
    h3p_init(&p, NULL, &sc);
    /* the client sends before it learns the server's limit */
    char longv[400];
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    lwq_h3_field big_f = h3p_field("x-big", longv);
    lwq_h3_request r = get_req("/");
    r.extra = &big_f;
    r.extra_count = 1;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 0, &r), 0);
    r.extra_count = 0;
    ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, 4, &r), 0);
    h3p_run(&p);
    ck_assert_uint_eq(h3p_find(&p.s, LWQ_H3_EV_RESET, 0)->error_code, LWQ_H3_EXCESSIVE_LOAD);
    ck_assert_ptr_nonnull(h3p_find(&p.s, LWQ_H3_EV_REQUEST, 4));
    ck_assert(!p.c.closed && !p.s.closed);
    h3p_free(&p);
}
END_TEST

/* Request streams may arrive in any order; many short-lived GREASE streams do not exhaust anything. */
START_TEST(test_out_of_order_streams_and_grease)
{
    h3p p;
    h3p_init(&p, NULL, NULL);
    h3p_run(&p);
    for (int64_t id = 8; id >= 0; id -= 4) {
        lwq_h3_request r = get_req("/x");
        ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, id, &r), 0);
    }
    h3p_run(&p);
    ck_assert_uint_eq(h3p_count(&p.s, LWQ_H3_EV_REQUEST), 3);
    ck_assert_int_eq(p.s.ev[p.s.nev - 2].stream_id, 0);
    for (int i = 0; i < 100; i++) {
        const uint8_t g[] = {0x40, 0x21, 'x'};
        ck_assert_int_eq(lwq_h3_conn_recv_stream(p.s.h, 14 + 4 * i, g, 3, 1), 3);
        /* a reset before the type */
        ck_assert_int_eq(lwq_h3_conn_recv_stream(p.s.h, 1014 + 4 * i, g, 1, 0), 1);
        ck_assert_int_eq(lwq_h3_conn_stream_reset(p.s.h, 1014 + 4 * i, 0x21), 0);
    }
    ck_assert_uint_eq(lwq_h3_conn_error(p.s.h, NULL), 0);
    h3p_free(&p);
}
END_TEST

Suite *suite_h3_conn(void)
{
    Suite *s = suite_create("h3_conn");
    TCase *tc = lwq_test_tcase("h3_conn");
    tcase_add_test(tc, test_get_every_split);
    tcase_add_test(tc, test_get_large_bodies);
    tcase_add_test(tc, test_post_callback_body_with_pauses);
    tcase_add_test(tc, test_informational_head_and_many_streams);
    tcase_add_test(tc, test_cancel_and_reset);
    tcase_add_test(tc, test_goaway_both_ways);
    tcase_add_test(tc, test_goaway_notice_then_limit);
    tcase_add_test(tc, test_connection_errors);
    tcase_add_test(tc, test_control_stream_needs_settings_first);
    tcase_add_test(tc, test_malformed_messages);
    tcase_add_test(tc, test_request_incomplete_and_limits);
    tcase_add_test(tc, test_body_backpressure);
    tcase_add_test(tc, test_priority_update);
    tcase_add_test(tc, test_alloc_failures);
    tcase_add_test(tc, test_qpack_blocked_streams);
    tcase_add_test(tc, test_received_section_too_large);
    tcase_add_test(tc, test_out_of_order_streams_and_grease);
    suite_add_tcase(s, tc);
    return s;
}
