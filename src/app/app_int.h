/* Helpers shared by src/app: only the public headers below are used. */
#ifndef LWQ_APP_INT_H
#define LWQ_APP_INT_H

#include <stdio.h>
#include "lwquic/app.h"
#include "lwquic/endpoint.h"

/* "closed by the peer: application error 0x3 (reason)" and the like. */
void app_close_text(const lwq_close_info *ci, char *buf, size_t cap);
/* An absolute CLOCK_REALTIME deadline `ns` from now, for pthread_cond_timedwait. */
struct timespec;
void app_deadline(struct timespec *ts, lwq_tstamp ns);
/* Message for a context failure: names the file for certificate and key problems. */
void app_context_error(const lwq_config *cfg, int rv, const char *why, char *err, size_t errlen);
/* Allocation through an lwq_allocator (NULL or NULL fields: the C library). */
void *app_alloc(const lwq_allocator *a, size_t n);
void *app_zalloc(const lwq_allocator *a, size_t n);
void *app_realloc(const lwq_allocator *a, void *p, size_t n);
void app_free(const lwq_allocator *a, void *p);
char *app_strdup(const lwq_allocator *a, const char *s); /* NULL for NULL */
char *app_strndup(const lwq_allocator *a, const char *s, size_t n);
/* Splits "HOST:PORT" (IPv6 bracketed): the host into buf. */
int app_host_of(const char *hostport, char *buf, size_t cap);

#endif
