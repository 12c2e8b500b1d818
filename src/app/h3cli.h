/* Internal to the blocking HTTP/3 client: its objects, shared by h3cli.c (the callers' side) and
 * h3cli_conn.c (the connections' strands). */
#ifndef LWQ_APP_H3CLI_H
#define LWQ_APP_H3CLI_H

#include <pthread.h>
#include "app/app_int.h"
#include "lwquic/h3.h"

typedef struct h3conn h3conn;
typedef struct origin origin;

typedef struct h3req {
    int refs; /* under the client's lock: the caller and the strand */
    lwq_h3cli_request r;
    char method[16], *authority, *path;
    lwq_h3_field *fields;
    size_t nfields;
    int64_t id;
    int done, err, sent, early;
    char why[256];
    lwq_h3cli_response resp;
    size_t body_cap;
    h3conn *hc;
    struct h3req *next; /* the connection's request list (strand) */
} h3req;

struct h3conn {
    origin *o;
    lwq_endpoint_conn *ec;
    lwq_h3 *h;
    int up, closed, goaway; /* under the client's lock */
    int resumed, early_accepted;
    h3req *reqs;  /* strand */
    h3conn *next; /* every connection of the origin */
};

struct origin {
    lwq_h3cli *c;
    char key[300], host[256];
    const char *alpn[1];
    lwq_context *ctx;
    lwq_endpoint *ep;
    h3conn *cur, *all;
    int connecting; /* a thread is opening cur's successor */
    uint8_t *session;
    size_t session_len;
    origin *next;
};

struct lwq_h3cli {
    lwq_h3cli_config cfg;
    const lwq_allocator *a;
    char *ca, *remote;
    lwq_loop *loop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    origin *origins;
    size_t nconns;
};

/* Drops a reference to q (the caller's or the strand's). */
void h3cli_req_unref(lwq_h3cli *c, h3req *q);
/* On the strand: takes q off its connection, records the result and wakes the caller. */
void h3cli_req_finish(h3conn *hc, h3req *q, int err, const char *why);
/* The endpoint handler of every connection. */
void h3cli_on_event(void *ud, lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev);
/* Strand tasks: the first flight of a resuming connection (0-RTT), a new request, a timed-out request,
 * closing at lwq_h3cli_del. */
void h3cli_early_first(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg);
void h3cli_submit_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg);
void h3cli_cancel_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg);
void h3cli_close_task(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg);

#endif
