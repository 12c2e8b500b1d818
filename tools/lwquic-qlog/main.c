/* lwquic-qlog: tools for qlog files. `lwquic-qlog plot FILE.sqlog -o out.svg` draws packets sent,
 * acknowledged and lost, the congestion window, bytes in flight, RTTs and the pacing rate over time. */
#include <stdio.h>
#include <string.h>
#include "qlogtool.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: lwquic-qlog plot FILE.sqlog [-o OUT.svg]\n"
               "Draws a qlog (lwquic's qlog 0.3 or main-schema JSON-SEQ) as an SVG picture: 1-RTT packets sent,\n"
               "acknowledged and lost, congestion window and bytes in flight, RTTs and pacing rate over time.\n"
               "Without -o the SVG goes to standard output.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(stdout);
    if (argc < 3 || strcmp(argv[1], "plot"))
        return usage(stderr);
    const char *in = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!in)
            in = argv[i];
        else
            return usage(stderr);
    }
    if (!in)
        return usage(stderr);
    trace tr;
    if (qlog_read(in, &tr)) {
        trace_free(&tr);
        return 1;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        perror(out);
        trace_free(&tr);
        return 1;
    }
    const char *base = strrchr(in, '/');
    int rv = plot_svg(&tr, base ? base + 1 : in, f);
    if (out && fclose(f))
        rv = -1;
    fprintf(stderr, "lwquic-qlog: %zu packets sent, %zu acknowledged, %zu lost, %zu metric updates, %.1f ms\n",
            tr.s[S_SENT].n, tr.s[S_ACKED].n, tr.s[S_LOST].n, tr.s[S_CWND].n, tr.t_end);
    trace_free(&tr);
    return rv ? 1 : 0;
}
