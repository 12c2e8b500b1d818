/* lwquic: the synchronous thread-pool event loop.
 *
 * A pool of worker threads runs submitted tasks; each submission returns a
 * future the caller can wait on. Strands are serial queues on the pool: tasks
 * of one strand never run concurrently and run in submission order, while
 * different strands run in parallel (one connection = one strand). Timers and
 * fd watchers (epoll) deliver their callbacks as tasks, on a strand if given.
 * The loop is the only place in lwquic with threads and clocks. */
#ifndef LWQUIC_LOOP_H
#define LWQUIC_LOOP_H

#include "lwquic/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lwq_loop lwq_loop;
typedef struct lwq_future lwq_future;
typedef struct lwq_strand lwq_strand;
typedef struct lwq_timer lwq_timer;
typedef struct lwq_watch lwq_watch;

typedef void *(*lwq_task_fn)(void *arg);

/* workers: number of threads (0 = number of CPUs). The allocator may be NULL. */
LWQ_API int lwq_loop_new(lwq_loop **out, unsigned workers, const lwq_allocator *a);
/* Stops (see lwq_loop_stop), joins every thread and frees the loop. Futures
 * still held by the caller stay valid until lwq_future_del. */
LWQ_API void lwq_loop_del(lwq_loop *loop);
/* Blocks the calling thread until lwq_loop_stop is called. */
LWQ_API void lwq_loop_run(lwq_loop *loop);
/* Stops accepting work, cancels tasks that have not started, lets running ones finish,
 * wakes lwq_loop_run. Safe from any thread, including a task. */
LWQ_API void lwq_loop_stop(lwq_loop *loop);
/* CLOCK_MONOTONIC in nanoseconds: the lwq_tstamp the loop hands to the sans-IO core. */
LWQ_API lwq_tstamp lwq_loop_now(void);

/* Runs fn(arg) on the pool. Returns a future (the caller owns one reference,
 * released with lwq_future_del) or NULL when the loop is stopped or out of memory. */
LWQ_API lwq_future *lwq_loop_submit(lwq_loop *loop, lwq_task_fn fn, void *arg);

enum { LWQ_FUTURE_PENDING = 0, LWQ_FUTURE_RUNNING = 1, LWQ_FUTURE_DONE = 2, LWQ_FUTURE_CANCELLED = 3 };

/* Waits until the future is done or cancelled; timeout in ns, LWQ_TSTAMP_INF for none.
 * 0 when it finished, LWQ_ERR_CLOSED when it was cancelled, LWQ_ERR_AGAIN on timeout. */
LWQ_API int lwq_future_wait(lwq_future *f, lwq_tstamp timeout);
LWQ_API int lwq_future_state(const lwq_future *f);
/* The task's return value once done, else NULL. */
LWQ_API void *lwq_future_result(const lwq_future *f);
/* Cancels a task that has not started: 0, or LWQ_ERR_STATE when it is already running or finished. */
LWQ_API int lwq_future_cancel(lwq_future *f);
LWQ_API void lwq_future_del(lwq_future *f);

/* Serial queues. A strand must be deleted before its loop; pending tasks are cancelled. */
LWQ_API lwq_strand *lwq_strand_new(lwq_loop *loop);
LWQ_API void lwq_strand_del(lwq_strand *s);
LWQ_API lwq_future *lwq_strand_submit(lwq_strand *s, lwq_task_fn fn, void *arg);
/* Fire-and-forget variants: 0, LWQ_ERR_NOMEM or LWQ_ERR_CLOSED. */
LWQ_API int lwq_loop_post(lwq_loop *loop, lwq_task_fn fn, void *arg);
LWQ_API int lwq_strand_post(lwq_strand *s, lwq_task_fn fn, void *arg);

/* One-shot timer: fn(arg) runs at `deadline` (lwq_loop_now() clock) on strand s, or on the pool
 * when s is NULL. lwq_timer_set re-arms; lwq_timer_cancel disarms (a callback already handed to the
 * pool still runs). */
LWQ_API lwq_timer *lwq_timer_new(lwq_loop *loop, lwq_strand *s, lwq_task_fn fn, void *arg);
LWQ_API void lwq_timer_set(lwq_timer *t, lwq_tstamp deadline);
LWQ_API void lwq_timer_cancel(lwq_timer *t);
LWQ_API void lwq_timer_del(lwq_timer *t);

enum { LWQ_WATCH_READ = 1, LWQ_WATCH_WRITE = 2 };
/* Calls fn(fd, events, arg) on strand s (or the pool) whenever fd is ready; never two at once for one
 * watch (the fd is re-armed after the callback returns). */
typedef void (*lwq_watch_fn)(int fd, int events, void *arg);
LWQ_API lwq_watch *lwq_watch_new(lwq_loop *loop, int fd, int events, lwq_strand *s, lwq_watch_fn fn, void *arg);
/* Removes the watch; waits for a running callback of it to finish unless called from that callback. */
LWQ_API void lwq_watch_del(lwq_watch *w);

#ifdef __cplusplus
}
#endif
#endif
