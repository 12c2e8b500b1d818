/* lwquic-client's session file (--session-file) and --resume. */
#ifndef LWQ_TOOLS_CLIENT_SESSION_H
#define LWQ_TOOLS_CLIENT_SESSION_H

#include <stddef.h>
#include <stdint.h>

/* What a session file holds: the newest session blob (LWQ_EV_SESSION_TICKET) and address-validation
 * token (LWQ_EV_NEW_TOKEN) of the server, either may be absent (len 0). */
typedef struct cli_session {
    uint8_t *blob, *token;
    size_t blob_len, token_len;
} cli_session;

/* Reads path into s. A missing or empty file is an empty session (0); -1 for a file that exists but
 * is not a session file (errno set, or EINVAL). */
int cli_session_load(const char *path, cli_session *s);
/* Writes s to path (through a temporary file and rename); -1 with errno set on failure. */
int cli_session_save(const char *path, const cli_session *s);
/* Replaces one part with a copy of data (which = 0: blob, 1: token); -1 on allocation failure. */
int cli_session_set(cli_session *s, int which, const uint8_t *data, size_t len);
void cli_session_free(cli_session *s);

/* How a run with --session-file went. early: LWQ_EV_EARLY_DATA's answer, -1 when none came. */
typedef struct cli_session_result {
    int handshake_done, resumed, early;
    uint64_t packets_0rtt;
} cli_session_result;
/* After a run with --session-file: saves got to file, with the ticket or token of start where the
 * server sent none, and unless quiet says on stderr whether the session resumed and what became of
 * 0-RTT. Frees got. */
void cli_session_finish(const char *file, cli_session *got, const cli_session *start, int quiet,
                        const cli_session_result *r);

/* --resume: runs this program twice, as the interop runner's resumption cases want: the first URL
 * with --session-file F, then the other URLs with the same file (so on a resumed connection, with
 * --early-data in 0-RTT). argv[0..argc) are the original arguments, urls_from the index of the
 * first URL; --resume is left out of both runs, --session-file is added when not given (a
 * temporary file then). Returns the exit code. */
int cli_session_resume_main(int argc, char **argv, int urls_from, const char *session_file);

#endif
