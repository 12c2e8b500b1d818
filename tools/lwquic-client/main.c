/* lwquic-client: fetch URLs over one QUIC connection, HTTP/3 (h3.c) or HTTP/0.9 (hq.c), with curl's
 * command-line conventions and exit codes (client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/cli.h"
#include "common/explain.h"
#include "common/record.h"
#include "lwquic-client/client.h"

/* Every URL parses and names the same server (one connection); outputs are writable places. */
static int check_urls(const cl_opts *o, cli_url *first)
{
    char err[256];
    cli_url u;
    for (size_t i = 0; i < o->n; i++) {
        if (cli_parse_url(o->urls[i], i ? &u : first, err, sizeof(err))) {
            cl_err(o, "%s", err);
            return strncmp(o->urls[i], "https://", 8) && strstr(o->urls[i], "://") ? CL_EXIT_UNSUPPORTED
                                                                                     : CL_EXIT_URL;
        }
        if (i && strcmp(u.authority, first->authority) != 0) {
            cl_err(o, "%s: all URLs must name the same server (one connection)", o->urls[i]);
            return CL_EXIT_USAGE;
        }
        struct stat sb;
        if (o->out[i] && o->out[i][0] && stat(o->out[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cl_err(o, "-o %s: is a directory; -o names a file (use --output-dir %s -O to save there)", o->out[i],
                   o->out[i]);
            return CL_EXIT_USAGE;
        }
    }
    struct stat sb;
    if (o->output_dir && (stat(o->output_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        cl_err(o, "--output-dir %s: not a directory", o->output_dir);
        return CL_EXIT_WRITE;
    }
    return 0;
}

static int run(cl_opts *op);

int main(int argc, char **argv)
{
    cl_opts o;
    int urls_from = 0;
    int rv = cl_parse(argc, argv, &o, &urls_from);
    if (rv < 0)
        rv = o.resume ? cli_session_resume_main(argc, argv, urls_from, o.session_file) : run(&o);
    free(o.data_buf);
    free(o.out);
    if (o.data_fd >= 0)
        close(o.data_fd);
    return rv;
}

static int run(cl_opts *op)
{
    cl_opts o = *op; /* o.out and o.data_buf stay owned by main */
    int rv;
    cli_url first;
    if ((rv = check_urls(&o, &first)) != 0)
        return rv;
    int h3 = strcmp(o.alpn, "h3") == 0;
    cli_session keep = {0}, start = {0};
    if (o.session_file && cli_session_load(o.session_file, &start)) {
        cl_err(&o, "--session-file %s: %s", o.session_file, strerror(errno));
        return CL_EXIT_READ;
    }
    if (cli_keylog_open(o.keylog)) {
        cl_err(&o, "--keylog %s: %s", o.keylog, strerror(errno));
        cli_session_free(&start);
        return CL_EXIT_WRITE;
    }
    lwq_config cfg;
    lwq_config_init(&cfg, 0);
    if (o.verbose > 1)
        cli_verbose(&cfg, o.verbose - 1); /* -vv: the library's trace, -vvv: every packet */
    cfg.qlog_format = o.qlog_format;
    if (o.explain)
        cli_explain(&cfg, stderr, isatty(2));
    if (o.record && cli_record(&cfg, o.record)) {
        cl_err(&o, "--record %s: %s", o.record, strerror(errno));
        cli_session_free(&start);
        return CL_EXIT_WRITE;
    }
    if (cli_qlog_dir(o.qlogdir, &cfg)) {
        cl_err(&o, "--qlog-dir %s: %s", o.qlogdir ? o.qlogdir : getenv("QLOGDIR"), strerror(errno));
        cli_session_free(&start);
        return CL_EXIT_WRITE;
    }
    const char *alpns[] = {o.alpn};
    cfg.alpn = alpns;
    cfg.alpn_count = 1;
    cfg.server_name = first.host;
    cfg.ca_file = o.cacert;
    cfg.insecure = o.insecure;
    if (o.cc_set)
        cfg.cc = o.cc;
    cfg.handshake_timeout = (lwq_tstamp)(o.connect_timeout * 1e9);
    cfg.enable_0rtt = o.early_data;
    cfg.no_preferred_address = o.no_preferred;
    cfg.chacha20_only = o.chacha20_only;
    static const uint32_t v2_offer[] = {LWQ_VERSION_2};
    cfg.version = o.quic_version;
    if (o.offer_v2 && o.quic_version != LWQ_VERSION_2) {
        cfg.other_versions = v2_offer; /* RFC 9368: the server may upgrade the connection to v2 */
        cfg.other_versions_count = 1;
    }
    cfg.key_update_first = o.key_update ? 1 : 0; /* one update as soon as RFC 9001 §6.1 allows it */
    cfg.token = start.token;
    cfg.token_len = start.token_len;
    if (h3 && o.early_data) {
        const char *m = o.method ? o.method : o.head ? "HEAD" : (o.data_buf || o.data_fd >= 0) ? "POST" : "GET";
        if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
            /* RFC 9114 §10.9, RFC 8470 §4: 0-RTT can be replayed; only safe methods go early */
            cl_err(&o, "--early-data: %s is not a safe method; sent after the handshake", m);
            o.early_data = 0;
        }
    }
    const char *target = first.authority;
    size_t hl = strlen(first.host);
    for (size_t i = 0; i < o.nresolve; i++)
        if (!strncmp(o.resolve[i], first.host, hl) && o.resolve[i][hl] == '=')
            target = o.resolve[i] + hl + 1; /* the name stays the SNI; only the address changes */
    cli_session *kp = o.session_file ? &keep : NULL;
    rv = h3 ? cl_run_h3(&cfg, &o, target, kp, &start) : cl_run_hq(&cfg, &o, target, kp, &start);
    cli_session_free(&start);
    return rv;
}
