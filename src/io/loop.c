/* The thread-pool event loop (include/lwquic/loop.h). One mutex guards the
 * queues, strands, timers and futures: the work behind each lock is a few
 * pointer moves, and a single lock keeps the ordering rules easy to check. */
#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "lwquic/loop.h"
#include "base/mem.h"

enum { JOB_TASK, JOB_STRAND, JOB_TIMER, JOB_WATCH };

struct job {
    struct job *next;
    int kind;
    lwq_task_fn fn;
    void *arg;
    lwq_future *f;    /* JOB_TASK, may be NULL */
    lwq_strand *s;    /* JOB_STRAND */
    lwq_timer *t;     /* JOB_TIMER */
    uint64_t gen;     /* JOB_TIMER: the arming it belongs to */
    lwq_watch *w;     /* JOB_WATCH */
    int events;
};

struct queue {
    struct job *head, *tail;
};

struct lwq_future {
    pthread_cond_t cv;
    lwq_loop *loop;
    int state, refs;
    void *result;
};

struct lwq_strand {
    lwq_loop *loop;
    struct queue q;
    struct job runner; /* sits in the loop queue while the strand has work */
    int scheduled, dead, self_deleted;
    pthread_t thread; /* valid while running */
    int running;
};

struct lwq_timer {
    lwq_loop *loop;
    lwq_strand *s;
    lwq_task_fn fn;
    void *arg;
    lwq_tstamp deadline;
    size_t heap_idx; /* SIZE_MAX when not armed */
    uint64_t gen;
    int refs, dead;
};

struct lwq_watch {
    lwq_loop *loop;
    lwq_strand *s;
    int fd, events, refs, dead, running;
    pthread_t thread;
    lwq_watch_fn fn;
    void *arg;
    lwq_watch *next_dead;
};

struct lwq_loop {
    const lwq_allocator *a;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, idle_cv;
    struct queue q;
    pthread_t *workers;
    unsigned nworkers;
    pthread_t poller;
    int epfd, evfd, tfd;
    int stopping, joined;
    lwq_timer **heap;
    size_t nheap, heapcap;
    lwq_watch *graveyard; /* released watches the poller may still hold from its last epoll_wait */
};

static void push(struct queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct job *pop(struct queue *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
    }
    return j;
}

lwq_tstamp lwq_loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (lwq_tstamp)ts.tv_sec * LWQ_SEC + (lwq_tstamp)ts.tv_nsec;
}

static void future_release(lwq_loop *l, lwq_future *f)
{
    if (f && --f->refs == 0) {
        pthread_cond_destroy(&f->cv);
        lwq_free(l->a, f);
    }
}

static void timer_release(lwq_loop *l, lwq_timer *t)
{
    if (--t->refs == 0)
        lwq_free(l->a, t);
}

static void wake_poller(lwq_loop *l);

/* The last reference gone: the poller frees it after its current batch, which may name it. */
static void watch_release(lwq_loop *l, lwq_watch *w)
{
    if (--w->refs == 0) {
        w->next_dead = l->graveyard;
        l->graveyard = w;
        wake_poller(l);
    }
}

static void free_graveyard(lwq_loop *l)
{
    while (l->graveyard) {
        lwq_watch *w = l->graveyard;
        l->graveyard = w->next_dead;
        lwq_free(l->a, w);
    }
}

/* Drops a job that will never run (locked). */
static void discard(lwq_loop *l, struct job *j)
{
    switch (j->kind) {
    case JOB_TASK:
        if (j->f && j->f->state == LWQ_FUTURE_PENDING) {
            j->f->state = LWQ_FUTURE_CANCELLED;
            pthread_cond_broadcast(&j->f->cv);
        }
        future_release(l, j->f);
        break;
    case JOB_TIMER:
        timer_release(l, j->t);
        break;
    case JOB_WATCH:
        watch_release(l, j->w);
        break;
    case JOB_STRAND: {
        lwq_strand *s = j->s;
        struct job *k;
        while ((k = pop(&s->q)))
            discard(l, k);
        s->scheduled = 0;
        pthread_cond_broadcast(&l->idle_cv);
        return; /* the runner is embedded in the strand */
    }
    }
    lwq_free(l->a, j);
}

/* Queues j on s or on the pool (locked). */
static int enqueue(lwq_loop *l, lwq_strand *s, struct job *j)
{
    if (l->stopping || (s && s->dead))
        return LWQ_ERR_CLOSED;
    if (!s) {
        push(&l->q, j);
        pthread_cond_signal(&l->work_cv);
        return 0;
    }
    push(&s->q, j);
    if (!s->scheduled) {
        s->scheduled = 1;
        push(&l->q, &s->runner);
        pthread_cond_signal(&l->work_cv);
    }
    return 0;
}

static void rearm_watch(lwq_watch *w)
{
    struct epoll_event ev = {.events = EPOLLONESHOT, .data.ptr = w};
    if (w->events & LWQ_WATCH_READ)
        ev.events |= EPOLLIN;
    if (w->events & LWQ_WATCH_WRITE)
        ev.events |= EPOLLOUT;
    epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

/* Runs one job; called without the lock, returns without it. */
static void run(lwq_loop *l, struct job *j)
{
    switch (j->kind) {
    case JOB_TASK: {
        lwq_future *f = j->f;
        pthread_mutex_lock(&l->mu);
        int go = !f || f->state == LWQ_FUTURE_PENDING;
        if (go && f)
            f->state = LWQ_FUTURE_RUNNING;
        pthread_mutex_unlock(&l->mu);
        void *r = go ? j->fn(j->arg) : NULL;
        pthread_mutex_lock(&l->mu);
        if (go && f) {
            f->result = r;
            f->state = LWQ_FUTURE_DONE;
            pthread_cond_broadcast(&f->cv);
        }
        future_release(l, f);
        lwq_free(l->a, j);
        pthread_mutex_unlock(&l->mu);
        return;
    }
    case JOB_TIMER: {
        lwq_timer *t = j->t;
        pthread_mutex_lock(&l->mu);
        int go = !t->dead && t->gen == j->gen;
        pthread_mutex_unlock(&l->mu);
        if (go)
            t->fn(t->arg);
        pthread_mutex_lock(&l->mu);
        timer_release(l, t);
        lwq_free(l->a, j);
        pthread_mutex_unlock(&l->mu);
        return;
    }
    case JOB_WATCH: {
        lwq_watch *w = j->w;
        pthread_mutex_lock(&l->mu);
        int go = !w->dead;
        if (go) {
            w->running = 1;
            w->thread = pthread_self();
        }
        pthread_mutex_unlock(&l->mu);
        if (go)
            w->fn(w->fd, j->events, w->arg);
        pthread_mutex_lock(&l->mu);
        if (go) {
            w->running = 0;
            if (!w->dead)
                rearm_watch(w);
            pthread_cond_broadcast(&l->idle_cv);
        }
        watch_release(l, w);
        lwq_free(l->a, j);
        pthread_mutex_unlock(&l->mu);
        return;
    }
    case JOB_STRAND: {
        lwq_strand *s = j->s;
        pthread_mutex_lock(&l->mu);
        struct job *k = pop(&s->q);
        s->running = 1;
        s->thread = pthread_self();
        pthread_mutex_unlock(&l->mu);
        if (k)
            run(l, k);
        pthread_mutex_lock(&l->mu);
        s->running = 0;
        if (s->q.head && !s->dead && !l->stopping) {
            push(&l->q, &s->runner); /* back of the line: strands share the pool fairly */
            pthread_cond_signal(&l->work_cv);
        } else if (s->q.head) {
            discard(l, &s->runner);
        } else {
            s->scheduled = 0;
        }
        pthread_cond_broadcast(&l->idle_cv);
        int orphan = s->self_deleted;
        pthread_mutex_unlock(&l->mu);
        if (orphan) /* deleted from inside its own task */
            lwq_free(l->a, s);
        return;
    }
    }
}

static void *worker_main(void *arg)
{
    lwq_loop *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        struct job *j = pop(&l->q);
        if (!j) {
            if (l->stopping)
                break;
            pthread_cond_wait(&l->work_cv, &l->mu);
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        run(l, j);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void heap_swap(lwq_loop *l, size_t a, size_t b)
{
    lwq_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_idx = a;
    l->heap[b]->heap_idx = b;
}

static void heap_fix(lwq_loop *l, size_t i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->deadline > l->heap[i]->deadline) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < l->nheap && l->heap[c]->deadline < l->heap[m]->deadline)
            m = c;
        if (c + 1 < l->nheap && l->heap[c + 1]->deadline < l->heap[m]->deadline)
            m = c + 1;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

static void heap_remove(lwq_loop *l, lwq_timer *t)
{
    size_t i = t->heap_idx;
    if (i == SIZE_MAX)
        return;
    t->heap_idx = SIZE_MAX;
    if (i != --l->nheap) {
        l->heap[i] = l->heap[l->nheap];
        l->heap[i]->heap_idx = i;
        heap_fix(l, i);
    }
}

/* Points the timerfd at the earliest deadline (locked). */
static void arm_timerfd(lwq_loop *l)
{
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (l->nheap) {
        lwq_tstamp d = l->heap[0]->deadline;
        if (d == 0)
            d = 1; /* zero would disarm */
        its.it_value.tv_sec = (time_t)(d / LWQ_SEC);
        its.it_value.tv_nsec = (long)(d % LWQ_SEC);
    }
    timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer_set(lwq_loop *l, lwq_timer *t, lwq_tstamp deadline);

static void fire_timers(lwq_loop *l)
{
    lwq_tstamp now = lwq_loop_now();
    while (l->nheap && l->heap[0]->deadline <= now) {
        lwq_timer *t = l->heap[0];
        heap_remove(l, t);
        struct job *j = lwq_calloc(l->a, 1, sizeof(*j));
        if (!j) {
            timer_set(l, t, now + LWQ_MS); /* out of memory: retry shortly rather than lose the expiry */
            break;
        }
        j->kind = JOB_TIMER;
        j->t = t;
        j->gen = t->gen;
        t->refs++;
        if (enqueue(l, t->s, j) < 0)
            discard(l, j);
    }
    arm_timerfd(l);
}

static void *poller_main(void *arg)
{
    lwq_loop *l = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(l->epfd, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            uint64_t v;
            if (p == &l->evfd) {
                if (read(l->evfd, &v, sizeof(v)) < 0) {
                    /* nothing to drain */
                }
            } else if (p == &l->tfd) {
                if (read(l->tfd, &v, sizeof(v)) < 0) {
                    /* spurious wakeup */
                }
                fire_timers(l);
            } else {
                lwq_watch *w = p;
                if (w->dead)
                    continue;
                int ev = 0;
                if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                    ev |= w->events & LWQ_WATCH_READ;
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    ev |= w->events & LWQ_WATCH_WRITE;
                struct job *j = lwq_calloc(l->a, 1, sizeof(*j));
                if (!j) {
                    rearm_watch(w);
                    continue;
                }
                j->kind = JOB_WATCH;
                j->w = w;
                j->events = ev ? ev : w->events;
                w->refs++;
                if (enqueue(l, w->s, j) < 0)
                    discard(l, j);
            }
        }
        free_graveyard(l); /* deleted before this batch was processed: no later epoll_wait returns them */
        int stop = l->stopping;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
    }
    return NULL;
}

static void wake_poller(lwq_loop *l)
{
    uint64_t one = 1;
    if (write(l->evfd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the poller is awake anyway */
    }
}

int lwq_loop_new(lwq_loop **out, unsigned workers, const lwq_allocator *a)
{
    if (workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (unsigned)n : 1;
    }
    lwq_loop *l = lwq_calloc(a, 1, sizeof(*l));
    if (!l)
        return LWQ_ERR_NOMEM;
    l->a = a;
    l->epfd = l->evfd = l->tfd = -1;
    l->workers = lwq_calloc(a, workers, sizeof(pthread_t));
    if (!l->workers)
        goto nomem;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->epfd < 0 || l->evfd < 0 || l->tfd < 0)
        goto io;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->evfd};
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &l->tfd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &tev) < 0)
        goto io;
    if (pthread_create(&l->poller, NULL, poller_main, l) != 0)
        goto io;
    for (; l->nworkers < workers; l->nworkers++) {
        if (pthread_create(&l->workers[l->nworkers], NULL, worker_main, l) != 0)
            break;
    }
    if (l->nworkers == 0) {
        lwq_loop_del(l);
        return LWQ_ERR_IO;
    }
    *out = l;
    return 0;
io:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0)
        close(l->evfd);
    if (l->tfd >= 0)
        close(l->tfd);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->idle_cv);
    lwq_free(a, l->workers);
    lwq_free(a, l);
    return LWQ_ERR_IO;
nomem:
    lwq_free(a, l);
    return LWQ_ERR_NOMEM;
}

void lwq_loop_stop(lwq_loop *l)
{
    pthread_mutex_lock(&l->mu);
    if (!l->stopping) {
        l->stopping = 1;
        struct job *j;
        while ((j = pop(&l->q)))
            discard(l, j);
        pthread_cond_broadcast(&l->work_cv);
        pthread_cond_broadcast(&l->idle_cv);
    }
    pthread_mutex_unlock(&l->mu);
    wake_poller(l);
}

void lwq_loop_run(lwq_loop *l)
{
    pthread_mutex_lock(&l->mu);
    while (!l->stopping)
        pthread_cond_wait(&l->idle_cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
}

void lwq_loop_del(lwq_loop *l)
{
    if (!l)
        return;
    lwq_loop_stop(l);
    pthread_join(l->poller, NULL);
    for (unsigned i = 0; i < l->nworkers; i++)
        pthread_join(l->workers[i], NULL);
    close(l->epfd);
    close(l->evfd);
    close(l->tfd);
    free_graveyard(l);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->idle_cv);
    lwq_free(l->a, l->heap);
    lwq_free(l->a, l->workers);
    lwq_free(l->a, l);
}

/* Queues fn(arg); *fout (when non-NULL) gets a future holding the caller's reference. */
static int submit(lwq_loop *l, lwq_strand *s, lwq_task_fn fn, void *arg, lwq_future **fout)
{
    struct job *j = lwq_calloc(l->a, 1, sizeof(*j));
    lwq_future *f = fout ? lwq_calloc(l->a, 1, sizeof(*f)) : NULL;
    if (!j || (fout && !f)) {
        lwq_free(l->a, j);
        lwq_free(l->a, f);
        return LWQ_ERR_NOMEM;
    }
    j->kind = JOB_TASK;
    j->fn = fn;
    j->arg = arg;
    j->f = f;
    if (f) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&f->cv, &ca);
        pthread_condattr_destroy(&ca);
        f->loop = l;
        f->refs = 2; /* the caller and the job */
    }
    pthread_mutex_lock(&l->mu);
    int rv = enqueue(l, s, j);
    if (rv < 0) {
        discard(l, j); /* drops the job's reference; the caller's goes below */
        if (f)
            future_release(l, f);
        f = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    if (fout)
        *fout = f;
    return rv;
}

lwq_future *lwq_loop_submit(lwq_loop *l, lwq_task_fn fn, void *arg)
{
    lwq_future *f = NULL;
    submit(l, NULL, fn, arg, &f);
    return f;
}

lwq_future *lwq_strand_submit(lwq_strand *s, lwq_task_fn fn, void *arg)
{
    lwq_future *f = NULL;
    submit(s->loop, s, fn, arg, &f);
    return f;
}

int lwq_loop_post(lwq_loop *l, lwq_task_fn fn, void *arg) { return submit(l, NULL, fn, arg, NULL); }

int lwq_strand_post(lwq_strand *s, lwq_task_fn fn, void *arg) { return submit(s->loop, s, fn, arg, NULL); }

int lwq_future_wait(lwq_future *f, lwq_tstamp timeout)
{
    lwq_loop *l = f->loop;
    struct timespec ts;
    if (timeout != LWQ_TSTAMP_INF) {
        lwq_tstamp d = lwq_loop_now() + timeout;
        ts.tv_sec = (time_t)(d / LWQ_SEC);
        ts.tv_nsec = (long)(d % LWQ_SEC);
    }
    pthread_mutex_lock(&l->mu);
    int rv = 0;
    while (f->state == LWQ_FUTURE_PENDING || f->state == LWQ_FUTURE_RUNNING) {
        if (timeout == LWQ_TSTAMP_INF) {
            pthread_cond_wait(&f->cv, &l->mu);
        } else if (pthread_cond_timedwait(&f->cv, &l->mu, &ts) == ETIMEDOUT) {
            rv = LWQ_ERR_AGAIN;
            break;
        }
    }
    if (f->state == LWQ_FUTURE_CANCELLED)
        rv = LWQ_ERR_CLOSED;
    pthread_mutex_unlock(&l->mu);
    return rv;
}

int lwq_future_state(const lwq_future *f)
{
    pthread_mutex_lock(&f->loop->mu);
    int st = f->state;
    pthread_mutex_unlock(&f->loop->mu);
    return st;
}

void *lwq_future_result(const lwq_future *f)
{
    pthread_mutex_lock(&f->loop->mu);
    void *r = f->state == LWQ_FUTURE_DONE ? f->result : NULL;
    pthread_mutex_unlock(&f->loop->mu);
    return r;
}

int lwq_future_cancel(lwq_future *f)
{
    pthread_mutex_lock(&f->loop->mu);
    int rv = LWQ_ERR_STATE;
    if (f->state == LWQ_FUTURE_PENDING) {
        f->state = LWQ_FUTURE_CANCELLED;
        pthread_cond_broadcast(&f->cv);
        rv = 0;
    }
    pthread_mutex_unlock(&f->loop->mu);
    return rv;
}

void lwq_future_del(lwq_future *f)
{
    if (!f)
        return;
    lwq_loop *l = f->loop;
    pthread_mutex_lock(&l->mu);
    future_release(l, f);
    pthread_mutex_unlock(&l->mu);
}

lwq_strand *lwq_strand_new(lwq_loop *l)
{
    lwq_strand *s = lwq_calloc(l->a, 1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = l;
    s->runner.kind = JOB_STRAND;
    s->runner.s = s;
    return s;
}

void lwq_strand_del(lwq_strand *s)
{
    if (!s)
        return;
    lwq_loop *l = s->loop;
    pthread_mutex_lock(&l->mu);
    s->dead = 1;
    struct job *j;
    while ((j = pop(&s->q)))
        discard(l, j);
    if (s->running && pthread_equal(s->thread, pthread_self())) {
        s->self_deleted = 1;
        pthread_mutex_unlock(&l->mu); /* freed by the runner when this task returns */
        return;
    }
    /* stop discards queued runners, and running ones finish before workers exit */
    while (s->scheduled || s->running)
        pthread_cond_wait(&l->idle_cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    lwq_free(l->a, s);
}

lwq_timer *lwq_timer_new(lwq_loop *l, lwq_strand *s, lwq_task_fn fn, void *arg)
{
    lwq_timer *t = lwq_calloc(l->a, 1, sizeof(*t));
    if (!t)
        return NULL;
    t->loop = l;
    t->s = s;
    t->fn = fn;
    t->arg = arg;
    t->heap_idx = SIZE_MAX;
    t->refs = 1;
    return t;
}

/* (locked) */
static void timer_set(lwq_loop *l, lwq_timer *t, lwq_tstamp deadline)
{
    t->gen++;
    t->deadline = deadline;
    if (t->heap_idx == SIZE_MAX) {
        if (l->nheap == l->heapcap) {
            size_t cap = l->heapcap ? l->heapcap * 2 : 16;
            lwq_timer **h = lwq_realloc(l->a, l->heap, cap * sizeof(*h));
            if (!h)
                return; /* stays disarmed: the only failure mode is NOMEM */
            l->heap = h;
            l->heapcap = cap;
        }
        t->heap_idx = l->nheap;
        l->heap[l->nheap++] = t;
    }
    heap_fix(l, t->heap_idx);
    if (l->heap[0] == t)
        arm_timerfd(l);
}

void lwq_timer_set(lwq_timer *t, lwq_tstamp deadline)
{
    pthread_mutex_lock(&t->loop->mu);
    if (!t->dead)
        timer_set(t->loop, t, deadline);
    pthread_mutex_unlock(&t->loop->mu);
}

void lwq_timer_cancel(lwq_timer *t)
{
    lwq_loop *l = t->loop;
    pthread_mutex_lock(&l->mu);
    t->gen++;
    heap_remove(l, t);
    pthread_mutex_unlock(&l->mu);
}

void lwq_timer_del(lwq_timer *t)
{
    if (!t)
        return;
    lwq_loop *l = t->loop;
    pthread_mutex_lock(&l->mu);
    t->dead = 1;
    heap_remove(l, t);
    timer_release(l, t);
    pthread_mutex_unlock(&l->mu);
}

lwq_watch *lwq_watch_new(lwq_loop *l, int fd, int events, lwq_strand *s, lwq_watch_fn fn, void *arg)
{
    lwq_watch *w = lwq_calloc(l->a, 1, sizeof(*w));
    if (!w)
        return NULL;
    w->loop = l;
    w->s = s;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    w->refs = 1;
    struct epoll_event ev = {.events = EPOLLONESHOT, .data.ptr = w};
    if (events & LWQ_WATCH_READ)
        ev.events |= EPOLLIN;
    if (events & LWQ_WATCH_WRITE)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        lwq_free(l->a, w);
        return NULL;
    }
    return w;
}

void lwq_watch_del(lwq_watch *w)
{
    if (!w)
        return;
    lwq_loop *l = w->loop;
    pthread_mutex_lock(&l->mu);
    w->dead = 1;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    if (!(w->running && pthread_equal(w->thread, pthread_self()))) {
        while (w->running)
            pthread_cond_wait(&l->idle_cv, &l->mu);
    }
    watch_release(l, w);
    pthread_mutex_unlock(&l->mu);
}
