/* --explain: a narrated trace of every connection for people learning QUIC. It consumes the
 * library's structured trace (lwquic/trace.h) and decodes with the library's own codecs: packet
 * headers, frames, TLS messages, transport parameters, certificates, HTTP/3 frames and QPACK. */
#ifndef LWQ_TOOLS_EXPLAIN_H
#define LWQ_TOOLS_EXPLAIN_H

#include <stdio.h>
#include "lwquic/quic.h"

/* Installs the trace on cfg, writing to out; colour: ANSI colours (when out is a terminal). */
int cli_explain(lwq_config *cfg, FILE *out, int colour);
/* The trace callback itself (ud: from cli_explain), for a caller that drives it. */
void explain_event(void *ud, const lwq_trace_event *ev);

#endif
