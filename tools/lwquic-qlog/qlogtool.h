/* lwquic-qlog: reads lwquic's qlog files (either format) and draws them. */
#ifndef LWQ_TOOLS_QLOGTOOL_H
#define LWQ_TOOLS_QLOGTOOL_H

#include <stddef.h>
#include <stdio.h>

enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv {
    int type;
    double num;
    char *str;
    struct jv **kids;
    char **keys; /* objects: one per kid; arrays: NULL each */
    size_t n, cap;
} jv;

jv *json_parse(const char *s, size_t n);
void json_free(jv *v);
const jv *json_get(const jv *v, const char *key);
double json_num(const jv *v, double dflt);
const char *json_str(const jv *v);

/* A point of one series over time (milliseconds from the first event). */
typedef struct pt {
    double t, v;
} pt;

typedef struct series {
    pt *p;
    size_t n, cap;
} series;

enum { S_SENT, S_ACKED, S_LOST, S_CWND, S_INFLIGHT, S_SRTT, S_MINRTT, S_LATEST, S_PACING, S_COUNT };

typedef struct trace {
    series s[S_COUNT];
    char vantage[16];
    double t_end;
} trace;

/* Reads FILE (JSON-SEQ) into tr: 0, or -1 with a message on stderr. */
int qlog_read(const char *path, trace *tr);
void trace_free(trace *tr);
/* Writes the SVG picture of tr. */
int plot_svg(const trace *tr, const char *title, FILE *out);

#endif
