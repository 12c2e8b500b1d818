/* A small JSON reader for qlog records (RFC 8259): one record becomes a tree of values. Depth and
 * size are bounded; strings keep their escapes undecoded except \" and \\ (qlog keys and the values
 * this tool reads are plain ASCII). */
#include <stdlib.h>
#include <string.h>
#include "qlogtool.h"

#define MAX_DEPTH 64

typedef struct rd {
    const char *p, *end;
    int depth;
} rd;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static jv *val(rd *r);

static char *string(rd *r)
{
    if (r->p >= r->end || *r->p != '"')
        return NULL;
    const char *s = ++r->p;
    size_t n = 0;
    while (r->p < r->end && *r->p != '"') {
        if (*r->p == '\\' && r->p + 1 < r->end)
            r->p++;
        r->p++;
        n++;
    }
    if (r->p >= r->end)
        return NULL;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *q = s; q < r->p; q++) {
        if (*q == '\\')
            q++;
        *o++ = *q;
    }
    *o = 0;
    r->p++;
    return out;
}

static int push(jv *v, jv *kid, char *key)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        jv **k = realloc(v->kids, cap * sizeof(*k));
        char **ks = realloc(v->keys, cap * sizeof(*ks));
        if (k)
            v->kids = k;
        if (ks)
            v->keys = ks;
        if (!k || !ks)
            return -1;
        v->cap = cap;
    }
    v->kids[v->n] = kid;
    v->keys[v->n] = key;
    v->n++;
    return 0;
}

static jv *container(rd *r, int obj)
{
    jv *v = calloc(1, sizeof(*v));
    if (!v || ++r->depth > MAX_DEPTH) {
        free(v);
        return NULL;
    }
    v->type = obj ? JV_OBJ : JV_ARR;
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == (obj ? '}' : ']')) {
        r->p++;
        r->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        ws(r);
        if (obj) {
            key = string(r);
            ws(r);
            if (!key || r->p >= r->end || *r->p != ':') {
                free(key);
                json_free(v);
                return NULL;
            }
            r->p++;
        }
        jv *kid = val(r);
        if (!kid || push(v, kid, key)) {
            free(key);
            json_free(kid);
            json_free(v);
            return NULL;
        }
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == (obj ? '}' : ']')) {
            r->p++;
            r->depth--;
            return v;
        }
        json_free(v);
        return NULL;
    }
}

static jv *val(rd *r)
{
    ws(r);
    if (r->p >= r->end)
        return NULL;
    if (*r->p == '{' || *r->p == '[')
        return container(r, *r->p == '{');
    jv *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    if (*r->p == '"') {
        v->type = JV_STR;
        if (!(v->str = string(r))) {
            free(v);
            return NULL;
        }
    } else if (!strncmp(r->p, "true", 4) || !strncmp(r->p, "false", 5) || !strncmp(r->p, "null", 4)) {
        v->type = *r->p == 'n' ? JV_NULL : JV_BOOL;
        v->num = *r->p == 't';
        r->p += *r->p == 'f' ? 5 : 4;
    } else {
        char *e;
        v->type = JV_NUM;
        v->num = strtod(r->p, &e);
        if (e == r->p || e > r->end) {
            free(v);
            return NULL;
        }
        r->p = e;
    }
    return v;
}

jv *json_parse(const char *s, size_t n)
{
    rd r = {s, s + n, 0};
    jv *v = val(&r);
    ws(&r);
    if (v && r.p != r.end) {
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        json_free(v->kids[i]);
        free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    free(v->str);
    free(v);
}

const jv *json_get(const jv *v, const char *key)
{
    if (!v || v->type != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return v->kids[i];
    return NULL;
}

double json_num(const jv *v, double dflt)
{
    return v && v->type == JV_NUM ? v->num : dflt;
}
const char *json_str(const jv *v)
{
    return v && v->type == JV_STR ? v->str : "";
}
