/* The events lwquic-qlog draws, from a qlog 0.3 or main-schema JSON-SEQ file: 1-RTT packets sent,
 * acknowledged (from received ACK frames) and declared lost; recovery metrics. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "qlogtool.h"

static int add(series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        pt *p = realloc(s->p, cap * sizeof(*p));
        if (!p)
            return -1;
        s->p = p;
        s->cap = cap;
    }
    s->p[s->n].t = t;
    s->p[s->n].v = v;
    s->n++;
    return 0;
}

/* "transport:packet_sent" and "quic:packet_sent" alike: the part after the colon. */
static const char *event(const char *name)
{
    const char *c = strchr(name, ':');
    return c ? c + 1 : name;
}

typedef struct acked {
    uint8_t *bits;
    size_t cap; /* bytes */
} acked;

static int mark(acked *a, uint64_t pn)
{
    if (pn >= (uint64_t)a->cap * 8) {
        size_t cap = a->cap ? a->cap : 1024;
        while ((uint64_t)cap * 8 <= pn)
            cap *= 2;
        if (cap > (1u << 26))
            return 0;
        uint8_t *b = realloc(a->bits, cap);
        if (!b)
            return 0;
        memset(b + a->cap, 0, cap - a->cap);
        a->bits = b;
        a->cap = cap;
    }
    int was = a->bits[pn / 8] & (1u << (pn % 8));
    a->bits[pn / 8] |= (uint8_t)(1u << (pn % 8));
    return !was;
}

static void acks(trace *tr, acked *a, double t, const jv *frames, uint64_t largest_sent)
{
    for (size_t i = 0; frames && i < frames->n; i++) {
        const jv *f = frames->kids[i];
        if (strcmp(json_str(json_get(f, "frame_type")), "ack"))
            continue;
        const jv *r = json_get(f, "acked_ranges");
        for (size_t k = 0; r && k < r->n; k++) {
            const jv *rg = r->kids[k];
            if (rg->type != JV_ARR || !rg->n)
                continue;
            uint64_t lo = (uint64_t)json_num(rg->kids[0], 0), hi = (uint64_t)json_num(rg->kids[rg->n - 1], 0);
            for (uint64_t pn = lo; pn <= hi && pn <= largest_sent && hi - lo < 1000000; pn++)
                if (mark(a, pn))
                    add(&tr->s[S_ACKED], t, (double)pn);
        }
    }
}

static void record(trace *tr, acked *a, const jv *ev, double *t0, uint64_t *largest_sent)
{
    const jv *tm = json_get(ev, "time"), *d = json_get(ev, "data");
    if (!tm || !d)
        return;
    if (*t0 < 0)
        *t0 = tm->num;
    double t = tm->num - *t0;
    if (t > tr->t_end)
        tr->t_end = t;
    const char *name = event(json_str(json_get(ev, "name")));
    const jv *h = json_get(d, "header");
    int one_rtt = h && !strcmp(json_str(json_get(h, "packet_type")), "1RTT");
    if (!strcmp(name, "packet_sent") && one_rtt) {
        uint64_t pn = (uint64_t)json_num(json_get(h, "packet_number"), 0);
        if (pn > *largest_sent || *largest_sent == UINT64_MAX)
            *largest_sent = pn;
        add(&tr->s[S_SENT], t, (double)pn);
    } else if (!strcmp(name, "packet_received") && one_rtt && *largest_sent != UINT64_MAX) {
        acks(tr, a, t, json_get(d, "frames"), *largest_sent);
    } else if (!strcmp(name, "packet_lost") && one_rtt) {
        add(&tr->s[S_LOST], t, json_num(json_get(h, "packet_number"), 0));
    } else if (!strcmp(name, "metrics_updated") || !strcmp(name, "recovery_metrics_updated")) {
        static const struct {
            const char *key;
            int s;
            double scale;
        } m[] = {{"congestion_window", S_CWND, 1}, {"bytes_in_flight", S_INFLIGHT, 1}, {"smoothed_rtt", S_SRTT, 1},
                 {"min_rtt", S_MINRTT, 1},         {"latest_rtt", S_LATEST, 1},        {"pacing_rate", S_PACING, 1e-6}};
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
            const jv *v = json_get(d, m[i].key);
            if (v && v->type == JV_NUM)
                add(&tr->s[m[i].s], t, v->num * m[i].scale);
        }
    }
}

int qlog_read(const char *path, trace *tr)
{
    memset(tr, 0, sizeof(*tr));
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    acked a = {NULL, 0};
    double t0 = -1;
    uint64_t largest_sent = UINT64_MAX;
    size_t records = 0, bad = 0;
    for (size_t at = 0; at < len;) {
        size_t end = at + 1;
        while (end < len && buf[end] != 0x1e)
            end++;
        if (buf[at] == 0x1e) {
            jv *ev = json_parse(buf + at + 1, end - at - 1);
            if (!ev)
                bad++;
            else if (records++ == 0) {
                const jv *vp = json_get(json_get(json_get(ev, "trace"), "vantage_point"), "type");
                snprintf(tr->vantage, sizeof(tr->vantage), "%s", json_str(vp));
            } else
                record(tr, &a, ev, &t0, &largest_sent);
            json_free(ev);
        }
        at = end;
    }
    free(a.bits);
    free(buf);
    if (records < 2) {
        fprintf(stderr, "%s: not a qlog JSON text sequence (%zu records, %zu unreadable)\n", path, records, bad);
        return -1;
    }
    return 0;
}

void trace_free(trace *tr)
{
    for (int i = 0; i < S_COUNT; i++)
        free(tr->s[i].p);
}
