/* lwquic-server internals shared by the HTTP/0.9 (main.c) and HTTP/3 (h3.c) code. */
#ifndef LWQ_TOOLS_SRV_H
#define LWQ_TOOLS_SRV_H

#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include "lwquic/endpoint.h"

/* The served directory (realpath) and whether to log requests. */
extern char srv_root[PATH_MAX];
extern size_t srv_root_len;
extern int srv_quiet;
/* What clients may make the server hold (receive windows and echo bodies): --mem-budget. */
extern lwq_budget *srv_budget;

/* One HTTP/3 connection's events (ALPN h3). */
void srv_h3_event(lwq_endpoint_conn *ec, lwq_conn *conn, const lwq_event *ev);

/* Shutdown (RFC 9114 §5.2): srv_h3_drain starts the drain of every HTTP/3 connection (and of those that
 * start later): GOAWAY 2^62-4, after two round trips the real limit (srv_h3_drain_tick, called every few
 * tens of ms, moves that on), and a close with H3_NO_ERROR once the requests are answered and
 * acknowledged; srv_h3_close_all closes the rest now with H3_NO_ERROR; srv_h3_open counts those open. */
void srv_h3_drain(void);
void srv_h3_drain_tick(void);
void srv_h3_close_all(void);
size_t srv_h3_open(void);

/* http.c: the content type for a file name's extension (application/octet-stream when unknown); an
 * IMF-fixdate and its parser (-1 when malformed); a strong entity tag from size and mtime; 1 when
 * a GET with these If-None-Match / If-Modified-Since values (NULL: absent) gets 304. */
const char *srv_content_type(const char *path);
void srv_http_date(time_t t, char *buf, size_t cap);
int srv_parse_http_date(const char *s, time_t *out);
void srv_etag(const struct stat *st, char *buf, size_t cap);
int srv_not_modified(const char *if_none_match, const char *if_modified_since, const struct stat *st);

#endif
