/* Shared state of the --explain layers (explain.c: packets and frames, explain_tls.c: CRYPTO and
 * TLS, explain_h3.c: streams, HTTP/3 and QPACK). */
#ifndef LWQ_TOOLS_EXPLAIN_INT_H
#define LWQ_TOOLS_EXPLAIN_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include "lwquic/trace.h"
#include "h3/frame.h"

#define EX_CRYPTO_MAX 32768
#define EX_STREAMS 64
#define EX_PENDING 65536

/* One direction of the CRYPTO stream of one epoch: bytes placed by offset, messages parsed in order. */
typedef struct ex_crypto {
    uint8_t data[EX_CRYPTO_MAX];
    uint8_t have[EX_CRYPTO_MAX / 8];
    size_t parsed;
} ex_crypto;

enum { EX_ST_UNKNOWN, EX_ST_REQUEST, EX_ST_CONTROL, EX_ST_ENC, EX_ST_DEC, EX_ST_OTHER };

/* One direction of one stream: in-order bytes go to its parser; later ones wait in pending. */
typedef struct ex_stream {
    int used, sent;
    uint64_t id, next;
    int kind;
    lwq_h3_parser ps;
    int ps_on;
    uint8_t ibuf[512]; /* QPACK instruction bytes not yet complete */
    size_t ilen;
    uint8_t *pending; /* EX_PENDING bytes from offset pbase */
    uint64_t pbase;
    uint8_t *pmask;
} ex_stream;

typedef struct ex_conn {
    const void *id;
    int is_server;
    ex_crypto *crypto[2][4]; /* [sent][epoch] */
    ex_stream st[EX_STREAMS];
    unsigned eliciting_rx[4]; /* ack-eliciting packets received since we last sent an ACK, per epoch */
    unsigned packets_in_dgram;
    int h3; /* ALPN h3 was selected: application error codes are HTTP/3's */
} ex_conn;

typedef struct explain {
    FILE *out;
    int colour;
    ex_conn conns[16];
    unsigned evict; /* the slot to reuse next when all are taken */
} explain;

enum { C_PKT, C_FRAME, C_TLS, C_H3, C_QPACK, C_KEY, C_LOSS, C_RFC, C_DIM };

/* A line: indent level, colour class, text; "rfc" appended as [RFC ...] in the RFC colour. */
void ex_say(explain *e, ex_conn *c, int indent, int cls, const char *rfc, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ex_hex(char *out, size_t cap, const uint8_t *p, size_t n);

void ex_crypto_frame(explain *e, ex_conn *c, int sent, int epoch, uint64_t off, const uint8_t *p, size_t n);
void ex_stream_frame(explain *e, ex_conn *c, int sent, uint64_t id, uint64_t off, const uint8_t *p, size_t n, int fin);
void ex_conn_free(ex_conn *c);

#endif
