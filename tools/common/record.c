/* --record FILE: every datagram of the connection as sent and received, with the key changes, losses
 * and probe timeouts between them, one line each. With the NSS key log of the same run (--keylog) a
 * recording can be decrypted and explained again offline (lwquic-walkthrough, docs/walkthrough.md). */
#include <pthread.h>
#include <stdio.h>
#include "common/record.h"

static struct {
    FILE *f;
    lwq_trace_fn next;
    void *next_ud;
    pthread_mutex_t mu;
} rec = {NULL, NULL, NULL, PTHREAD_MUTEX_INITIALIZER};

static void record_event(void *ud, const lwq_trace_event *ev)
{
    pthread_mutex_lock(&rec.mu);
    FILE *f = rec.f;
    switch (ev->kind) {
    case LWQ_TRACE_DATAGRAM:
        fprintf(f, "dgram %s ", ev->sent ? "sent" : "recv");
        for (size_t i = 0; i < ev->payload_len; i++)
            fprintf(f, "%02x", ev->payload[i]);
        fputc('\n', f);
        break;
    case LWQ_TRACE_PACKET:
        fprintf(f, "pkt %s %d %llu\n", ev->sent ? "sent" : "recv", ev->epoch, (unsigned long long)ev->pn);
        break;
    case LWQ_TRACE_KEYS:
        fprintf(f, "keys %d %s\n", ev->epoch, ev->detail);
        break;
    case LWQ_TRACE_LOST:
        fprintf(f, "lost %d %llu %s %llu\n", ev->epoch, (unsigned long long)ev->pn, ev->detail,
                (unsigned long long)ev->value);
        break;
    case LWQ_TRACE_PTO:
        fprintf(f, "pto %d %llu\n", ev->epoch, (unsigned long long)ev->value);
        break;
    default:
        break;
    }
    fflush(f);
    pthread_mutex_unlock(&rec.mu);
    if (rec.next)
        rec.next(rec.next_ud, ev);
}

int cli_record(lwq_config *cfg, const char *path)
{
    rec.f = fopen(path, "w");
    if (!rec.f)
        return -1;
    rec.next = cfg->trace;
    rec.next_ud = cfg->trace_ud;
    cfg->trace = record_event;
    cfg->trace_ud = NULL;
    return 0;
}
