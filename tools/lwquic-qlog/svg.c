/* The picture: four panels over one time axis, plain SVG 1.1 with no scripts or external files.
 * 1-RTT packets sent, acknowledged and lost (packet number over time); congestion window and bytes
 * in flight; smoothed, minimum and latest RTT; pacing rate. */
#include <math.h>
#include <string.h>
#include "qlogtool.h"

#define W 960
#define PANEL_H 190
#define LEFT 80
#define RIGHT 20
#define TOP 50
#define GAP 45
#define MAX_POINTS 1500

typedef struct axis {
    double lo, hi;
} axis;

static double nice_step(double span, int ticks)
{
    double raw = span / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static double x_of(const axis *x, double t)
{
    return LEFT + (t - x->lo) / (x->hi - x->lo) * (W - LEFT - RIGHT);
}
static double y_of(const axis *y, int top, double v)
{
    return top + PANEL_H - (v - y->lo) / (y->hi - y->lo) * PANEL_H;
}

static void frame(FILE *o, const axis *x, const axis *y, int top, const char *title, const char *unit)
{
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfbfb\" stroke=\"#999\"/>\n", LEFT, top,
            W - LEFT - RIGHT, PANEL_H);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", LEFT, top - 8, title);
    fprintf(
        o,
        "<text x=\"14\" y=\"%d\" font-size=\"11\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n",
        top + PANEL_H / 2, top + PANEL_H / 2, unit);
    double st = nice_step(y->hi - y->lo, 4);
    for (double v = ceil(y->lo / st) * st; v <= y->hi + st * 1e-9; v += st) {
        double yy = y_of(y, top, v);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", LEFT, yy, W - RIGHT, yy);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%g</text>\n", LEFT - 4, yy + 3, v);
    }
    st = nice_step(x->hi - x->lo, 10);
    for (double t = ceil(x->lo / st) * st; t <= x->hi + st * 1e-9; t += st) {
        double xx = x_of(x, t);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n", xx, top, xx,
                top + PANEL_H);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n", xx,
                top + PANEL_H + 12, t);
    }
}

static axis range(const series *const *s, size_t n)
{
    axis a = {0, 0};
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < s[k]->n; i++)
            if (s[k]->p[i].v > a.hi)
                a.hi = s[k]->p[i].v;
    if (a.hi <= 0)
        a.hi = 1;
    a.hi *= 1.05;
    return a;
}

static void line(FILE *o, const series *s, const axis *x, const axis *y, int top, const char *colour, int step)
{
    if (!s->n)
        return;
    size_t every = s->n / MAX_POINTS + 1;
    fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour);
    double prev = y_of(y, top, s->p[0].v);
    for (size_t i = 0; i < s->n; i += every) {
        double xx = x_of(x, s->p[i].t), yy = y_of(y, top, s->p[i].v);
        if (step && i && lround(yy) == lround(prev))
            continue; /* a flat run draws as one segment */
        if (step && i)
            fprintf(o, "%.0f,%.0f ", xx, prev);
        fprintf(o, "%.0f,%.0f ", xx, yy);
        prev = yy;
    }
    fprintf(o, "%.1f,%.1f\"/>\n", x_of(x, x->hi), prev);
}

static void dots(FILE *o, const series *s, const axis *x, const axis *y, int top, const char *colour, int cross)
{
    size_t every = cross ? 1 : s->n / MAX_POINTS + 1;
    long lx = -1, ly = -1;
    for (size_t i = 0; i < s->n; i += every) {
        double xx = x_of(x, s->p[i].t), yy = y_of(y, top, s->p[i].v);
        if (lround(xx) == lx && lround(yy) == ly)
            continue; /* the same pixel as the last mark */
        lx = lround(xx);
        ly = lround(yy);
        if (cross)
            fprintf(o, "<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", xx - 3, yy - 3,
                    colour);
        else
            fprintf(o, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"1.6\" fill=\"%s\"/>\n", xx, yy, colour);
    }
}

static void legend(FILE *o, int top, const char *const *names, const char *const *colours, size_t n)
{
    int x = W - RIGHT - 10;
    for (size_t i = n; i-- > 0;) {
        x -= 12 + 7 * (int)strlen(names[i]);
        fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"9\" height=\"9\" fill=\"%s\"/>", x, top - 17, colours[i]);
        fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", x + 12, top - 9, names[i]);
    }
}

int plot_svg(const trace *tr, const char *title, FILE *o)
{
    axis x = {0, tr->t_end > 0 ? tr->t_end : 1};
    int h = TOP + 4 * (PANEL_H + GAP) + 10;
    fprintf(o,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
            W, h, W, h);
    fprintf(o, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, h);
    fprintf(o, "<text x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">", LEFT);
    for (const char *c = title; *c; c++) /* the title is a file name: escape XML */
        fputs(*c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : (char[2]){*c, 0}, o);
    fprintf(o, " (%s; time in ms)</text>\n", tr->vantage[0] ? tr->vantage : "unknown vantage point");

    int top = TOP;
    const series *pk[] = {&tr->s[S_SENT], &tr->s[S_ACKED], &tr->s[S_LOST]};
    axis y = range(pk, 3);
    frame(o, &x, &y, top, "1-RTT packets: sent, acknowledged, lost (RFC 9002 §6)", "packet number");
    dots(o, &tr->s[S_SENT], &x, &y, top, "#1f77b4", 0);
    dots(o, &tr->s[S_ACKED], &x, &y, top, "#2ca02c", 0);
    dots(o, &tr->s[S_LOST], &x, &y, top, "#d62728", 1);
    legend(o, top, (const char *const[]){"sent", "acknowledged", "lost"},
           (const char *const[]){"#1f77b4", "#2ca02c", "#d62728"}, 3);

    top += PANEL_H + GAP;
    const series *cw[] = {&tr->s[S_CWND], &tr->s[S_INFLIGHT]};
    y = range(cw, 2);
    frame(o, &x, &y, top, "congestion window and bytes in flight (RFC 9002 §7)", "bytes");
    line(o, &tr->s[S_CWND], &x, &y, top, "#1f77b4", 1);
    line(o, &tr->s[S_INFLIGHT], &x, &y, top, "#ff7f0e", 1);
    legend(o, top, (const char *const[]){"cwnd", "bytes in flight"}, (const char *const[]){"#1f77b4", "#ff7f0e"}, 2);

    top += PANEL_H + GAP;
    const series *rt[] = {&tr->s[S_SRTT], &tr->s[S_MINRTT], &tr->s[S_LATEST]};
    y = range(rt, 3);
    frame(o, &x, &y, top, "RTT estimates (RFC 9002 §5)", "ms");
    line(o, &tr->s[S_LATEST], &x, &y, top, "#bbbbbb", 0);
    line(o, &tr->s[S_SRTT], &x, &y, top, "#9467bd", 1);
    line(o, &tr->s[S_MINRTT], &x, &y, top, "#2ca02c", 1);
    legend(o, top, (const char *const[]){"latest", "smoothed", "min"},
           (const char *const[]){"#bbbbbb", "#9467bd", "#2ca02c"}, 3);

    top += PANEL_H + GAP;
    const series *pr[] = {&tr->s[S_PACING]};
    y = range(pr, 1);
    frame(o, &x, &y, top, "pacing rate (RFC 9002 §7.7)", "Mbit/s");
    line(o, &tr->s[S_PACING], &x, &y, top, "#8c564b", 1);
    if (!tr->s[S_PACING].n)
        fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"12\">no pacing_rate in this qlog</text>\n", LEFT + 10,
                top + 20);
    fputs("</svg>\n", o);
    return ferror(o) ? -1 : 0;
}
