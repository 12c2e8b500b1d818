/* Seeds for fuzz/fuzz_h3_conn.c and fuzz/fuzz_h3_frames.c from real exchanges between two
 * lwq_h3_conn. With LWQ_H3_CORPUS=DIR set, writes them under DIR/h3_conn and DIR/h3_frames;
 * always checks that the server seeds, replayed into a fresh server, give the expected requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h3_pair.h"

typedef struct seed {
    uint8_t b[65536];
    size_t n;
} seed;

static int sel_of(int64_t id)
{
    static const int64_t ids[] = {0, 4, 8};
    for (int i = 0; i < 3; i++)
        if (ids[i] == id)
            return i;
    /* uni streams: control, encoder, decoder in open order */
    int64_t base = id & 3;
    return 3 + (int)((id - base) / 4) % 3;
}

/* Moves one side's output to the other like h3p_move, also recording it as fuzz records. */
static void capture(h3p *p, h3p_side *from, h3p_side *to, seed *s)
{
    int64_t id;
    const uint8_t *d;
    size_t len;
    int fin;
    while (lwq_h3_conn_next_output(from->h, &id, &d, &len, &fin)) {
        ssize_t n = lwq_h3_conn_recv_stream(to->h, id, d, len, fin);
        ck_assert_int_eq(n, (ssize_t)len);
        ck_assert_uint_lt(s->n + 3 + len, sizeof(s->b));
        s->b[s->n++] = (uint8_t)(sel_of(id) | (fin ? 8 : 0) | 0x40);
        s->b[s->n++] = (uint8_t)(len >> 8);
        s->b[s->n++] = (uint8_t)len;
        memcpy(s->b + s->n, d, len); /* before output_done, which may free the stream */
        s->n += len;
        lwq_h3_conn_output_done(from->h, id, len, 0);
    }
    h3p_events(p, to);
}

static void write_seed(const char *dir, const char *sub, const char *name, const uint8_t *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static size_t replay_requests(const seed *s)
{
    lwq_h3_conn *h;
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    cfg.alloc = lwq_test_alloc;
    ck_assert_int_eq(lwq_h3_conn_new(&h, 1, &cfg), 0);
    static const int64_t ids[] = {0, 4, 8, 2, 6, 10};
    for (size_t off = 1; off + 3 <= s->n;) {
        size_t len = (size_t)s->b[off + 1] << 8 | s->b[off + 2];
        ck_assert_int_eq(lwq_h3_conn_recv_stream(h, ids[s->b[off] & 7], s->b + off + 3, len, (s->b[off] & 8) != 0),
                         (ssize_t)len);
        off += 3 + len;
    }
    size_t reqs = 0;
    lwq_h3_event ev;
    while (lwq_h3_conn_next_event(h, &ev))
        reqs += ev.type == LWQ_H3_EV_REQUEST;
    ck_assert_uint_eq(lwq_h3_conn_error(h, NULL), 0);
    lwq_h3_conn_del(h);
    return reqs;
}

START_TEST(test_seeds)
{
    const char *dir = getenv("LWQ_H3_CORPUS");
    static seed cs, ss;
    static uint8_t body[3000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)i;
    for (int scen = 0; scen < 6; scen++) {
        h3p p;
        h3p_init(&p, NULL, NULL);
        cs.n = ss.n = 1;
        cs.b[0] = 1; /* server role */
        ss.b[0] = 0; /* client role */
        size_t nreq = scen == 2 ? 3 : 1;
        for (size_t k = 0; k < nreq; k++) {
            lwq_h3_request r;
            memset(&r, 0, sizeof(r));
            r.method = scen == 1 ? "POST" : scen == 3 ? "HEAD" : "GET";
            r.scheme = "https";
            r.authority = "example.com";
            r.path = scen == 4 ? "/a/very/long/path/that/repeats?x=1" : "/index.html";
            r.urgency = (uint8_t)(scen == 2 ? k : 3);
            r.incremental = scen == 2 && k == 1;
            lwq_h3_field ex[] = {h3p_field("user-agent", "lwquic"), h3p_field("accept", "*/*")};
            r.extra = ex;
            r.extra_count = 2;
            lwq_h3_body b = {body, scen == 1 ? sizeof(body) : 0, NULL, NULL};
            r.body = scen == 1 ? &b : NULL;
            ck_assert_int_eq(lwq_h3_conn_submit_request(p.c.h, (int64_t)k * 4, &r), 0);
        }
        if (scen == 5)
            ck_assert_int_eq(lwq_h3_conn_goaway(p.c.h), 0);
        capture(&p, &p.c, &p.s, &cs);
        for (size_t k = 0; k < nreq; k++) {
            lwq_h3_field f[] = {h3p_field("content-type", "text/plain")};
            lwq_h3_body b = {body, 100, NULL, NULL};
            ck_assert_int_eq(lwq_h3_conn_submit_response(p.s.h, (int64_t)k * 4, scen == 4 ? 404 : 200, f, 1, &b), 0);
            if (scen == 1)
                ck_assert_int_eq(lwq_h3_conn_submit_trailers(p.s.h, (int64_t)k * 4, f, 1), 0);
        }
        capture(&p, &p.s, &p.c, &ss);
        capture(&p, &p.c, &p.s, &cs);
        ck_assert_uint_eq(h3p_count(&p.c, LWQ_H3_EV_END), nreq);
        ck_assert_uint_eq(replay_requests(&cs), nreq);
        if (dir) {
            char name[32];
            snprintf(name, sizeof(name), "server-%d", scen);
            write_seed(dir, "h3_conn", name, cs.b, cs.n);
            snprintf(name, sizeof(name), "client-%d", scen);
            write_seed(dir, "h3_conn", name, ss.b, ss.n);
            /* the frames of each stream of the client's side, for the frame parser */
            static const int64_t ids[] = {0, 4, 8, 2, 6, 10};
            for (size_t off = 1, k = 0; off + 3 <= cs.n; k++) {
                size_t len = (size_t)cs.b[off + 1] << 8 | cs.b[off + 2];
                int64_t id = ids[cs.b[off] & 7];
                uint8_t fb[65536];
                fb[0] = (uint8_t)((id & 2) ? 2 | 0 : 1 | 2 | (k % 16) << 2);
                memcpy(fb + 1, cs.b + off + 3, len);
                if (!(id & 2) || id == 2) {
                    snprintf(name, sizeof(name), "s%d-%zu", scen, k);
                    write_seed(dir, "h3_frames", name, fb, len + 1);
                }
                off += 3 + len;
            }
        }
        h3p_free(&p);
    }
}
END_TEST

Suite *suite_h3_seeds(void)
{
    Suite *s = suite_create("h3_seeds");
    TCase *tc = lwq_test_tcase("h3_seeds");
    tcase_add_test(tc, test_seeds);
    suite_add_tcase(s, tc);
    return s;
}
