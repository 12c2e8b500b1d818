/* Session file: "LWQS" version(1) | blob length (4) | blob | token length (4) | token, big endian. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lwquic-client/session.h"

#define MAGIC "LWQS\x01"
#define PART_MAX (1u << 20)

static int read_part(FILE *f, uint8_t **p, size_t *len)
{
    uint8_t b[4];
    if (fread(b, 1, 4, f) != 4)
        return -1;
    uint32_t n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (n > PART_MAX)
        return -1;
    *len = n;
    *p = NULL;
    if (!n)
        return 0;
    if (!(*p = malloc(n)) || fread(*p, 1, n, f) != n)
        return -1;
    return 0;
}

int cli_session_load(const char *path, cli_session *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char m[5];
    size_t got = fread(m, 1, sizeof(m), f);
    int rv = 0;
    if (got == 0)
        rv = 0; /* empty: e.g. made by mktemp for us to fill */
    else if (got != sizeof(m) || memcmp(m, MAGIC, sizeof(m)) != 0 || read_part(f, &s->blob, &s->blob_len) ||
             read_part(f, &s->token, &s->token_len))
        rv = -1;
    fclose(f);
    if (rv) {
        cli_session_free(s);
        errno = EINVAL;
    }
    return rv;
}

static int write_part(FILE *f, const uint8_t *p, size_t n)
{
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    return fwrite(b, 1, 4, f) == 4 && (!n || fwrite(p, 1, n, f) == n) ? 0 : -1;
}

int cli_session_save(const char *path, const cli_session *s)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    int rv =
        fwrite(MAGIC, 1, 5, f) == 5 && !write_part(f, s->blob, s->blob_len) && !write_part(f, s->token, s->token_len)
            ? 0
            : -1;
    if (fclose(f) != 0)
        rv = -1;
    if (!rv)
        rv = rename(tmp, path);
    if (rv) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    return rv;
}

int cli_session_set(cli_session *s, int which, const uint8_t *data, size_t len)
{
    uint8_t *p = len ? malloc(len) : NULL;
    if (len && !p)
        return -1;
    if (len)
        memcpy(p, data, len);
    uint8_t **dst = which ? &s->token : &s->blob;
    size_t *dlen = which ? &s->token_len : &s->blob_len;
    free(*dst);
    *dst = p;
    *dlen = len;
    return 0;
}

void cli_session_free(cli_session *s)
{
    free(s->blob);
    free(s->token);
    memset(s, 0, sizeof(*s));
}

void cli_session_finish(const char *file, cli_session *got, const cli_session *start, int quiet,
                        const cli_session_result *r)
{
    if (!got->blob_len)
        cli_session_set(got, 0, start->blob, start->blob_len);
    if (!got->token_len)
        cli_session_set(got, 1, start->token, start->token_len);
    if (got->blob_len && cli_session_save(file, got))
        fprintf(stderr, "lwquic-client: --session-file %s: %s\n", file, strerror(errno));
    if (!quiet && r->handshake_done)
        fprintf(stderr, "lwquic-client: session %s%s (%llu 0-RTT packets)\n", r->resumed ? "resumed" : "not resumed",
                r->early < 0 ? "" : r->early ? ", 0-RTT accepted" : ", 0-RTT rejected",
                (unsigned long long)r->packets_0rtt);
    cli_session_free(got);
}

static int run(char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int cli_session_resume_main(int argc, char **argv, int urls_from, const char *session_file)
{
    char tmpl[] = "/tmp/lwquic-session.XXXXXX";
    const char *file = session_file;
    if (!file) {
        int fd = mkstemp(tmpl);
        if (fd < 0) {
            perror("lwquic-client: --resume: temporary session file");
            return 1;
        }
        close(fd);
        file = tmpl;
    }
    char **a = calloc((size_t)argc + 3, sizeof(*a));
    if (!a)
        return 1;
    int n = 0;
    for (int i = 0; i < urls_from; i++)
        if (strcmp(argv[i], "--resume") != 0)
            a[n++] = argv[i];
    if (!session_file) {
        a[n++] = "--session-file";
        a[n++] = (char *)file;
    }
    a[n] = argv[urls_from]; /* the first connection: the first URL, a ticket to keep */
    a[n + 1] = NULL;
    int rv = run(a);
    if (!rv && argc - urls_from > 1) {
        for (int i = urls_from + 1; i < argc; i++)
            a[n++] = argv[i];
        a[n] = NULL;
        rv = run(a);
    }
    free(a);
    if (!session_file)
        unlink(tmpl);
    return rv;
}
