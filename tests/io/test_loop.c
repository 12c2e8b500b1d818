/* Event loop: ordering, cancellation, timeouts, timers, watchers, stop, and a stress run.
 * Threads and waits are real here (tests/io); run under TSan by `make check SAN=thread`. */
#include <sched.h>
#include <pthread.h>
#include <unistd.h>
#include "testutil.h"
#include "lwquic/loop.h"

/* A gate a task blocks on until the test opens it. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, entered;
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = g->entered = 0;
}

static void gate_destroy(struct gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static void *gate_task(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return g;
}

static void gate_wait_entered(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void *square(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    return (void *)(v * v);
}

START_TEST(test_submit_and_wait)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 2, lwq_test_alloc), 0);
    lwq_future *f[100];
    for (uintptr_t i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(f[i] = lwq_loop_submit(l, square, (void *)i));
    for (uintptr_t i = 0; i < 100; i++) {
        ck_assert_int_eq(lwq_future_wait(f[i], LWQ_TSTAMP_INF), 0);
        ck_assert_int_eq(lwq_future_state(f[i]), LWQ_FUTURE_DONE);
        ck_assert_uint_eq((uintptr_t)lwq_future_result(f[i]), i * i);
        ck_assert_int_eq(lwq_future_cancel(f[i]), LWQ_ERR_STATE);
        lwq_future_del(f[i]);
    }
    lwq_loop_del(l);
}
END_TEST

struct order {
    pthread_mutex_t mu;
    int seen[2000], n, inside, max_inside;
};

static void *record(void *arg)
{
    struct order *o = *(struct order **)arg;
    int v = (int)(((uintptr_t *)arg)[1]);
    int in = __atomic_add_fetch(&o->inside, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&o->mu);
    if (in > o->max_inside)
        o->max_inside = in;
    o->seen[o->n++] = v;
    pthread_mutex_unlock(&o->mu);
    __atomic_sub_fetch(&o->inside, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

START_TEST(test_strand_is_serial_and_ordered)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 4, lwq_test_alloc), 0);
    static struct order o;
    static uintptr_t args[2000][2];
    memset(&o, 0, sizeof(o));
    pthread_mutex_init(&o.mu, NULL);
    lwq_strand *s = lwq_strand_new(l);
    ck_assert_ptr_nonnull(s);
    lwq_future *last = NULL;
    for (int i = 0; i < 2000; i++) {
        args[i][0] = (uintptr_t)&o;
        args[i][1] = (uintptr_t)i;
        if (i < 1999) {
            ck_assert_int_eq(lwq_strand_post(s, record, args[i]), 0);
        } else {
            last = lwq_strand_submit(s, record, args[i]);
        }
    }
    ck_assert_int_eq(lwq_future_wait(last, LWQ_TSTAMP_INF), 0);
    ck_assert_int_eq(o.n, 2000);
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(o.seen[i], i);
    ck_assert_int_eq(o.max_inside, 1);
    lwq_future_del(last);
    lwq_strand_del(s);
    lwq_loop_del(l);
    pthread_mutex_destroy(&o.mu);
}
END_TEST

START_TEST(test_cancel_pending_and_timed_wait)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 1, lwq_test_alloc), 0);
    struct gate g;
    gate_init(&g);
    lwq_future *busy = lwq_loop_submit(l, gate_task, &g);
    gate_wait_entered(&g);
    lwq_future *queued = lwq_loop_submit(l, square, (void *)7);
    lwq_future *kept = lwq_loop_submit(l, square, (void *)3);
    ck_assert_int_eq(lwq_future_state(busy), LWQ_FUTURE_RUNNING);
    ck_assert_int_eq(lwq_future_cancel(busy), LWQ_ERR_STATE);
    ck_assert_int_eq(lwq_future_wait(busy, 20 * LWQ_MS), LWQ_ERR_AGAIN);
    ck_assert_int_eq(lwq_future_cancel(queued), 0);
    ck_assert_int_eq(lwq_future_wait(queued, LWQ_TSTAMP_INF), LWQ_ERR_CLOSED);
    ck_assert_ptr_null(lwq_future_result(queued));
    gate_open(&g);
    ck_assert_int_eq(lwq_future_wait(busy, LWQ_TSTAMP_INF), 0);
    ck_assert_ptr_eq(lwq_future_result(busy), &g);
    ck_assert_int_eq(lwq_future_wait(kept, LWQ_TSTAMP_INF), 0);
    ck_assert_uint_eq((uintptr_t)lwq_future_result(kept), 9);
    lwq_future_del(busy);
    lwq_future_del(queued);
    lwq_future_del(kept);
    lwq_loop_del(l);
    gate_destroy(&g);
}
END_TEST

START_TEST(test_stop_cancels_queued_and_refuses_new)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 1, lwq_test_alloc), 0);
    struct gate g;
    gate_init(&g);
    lwq_future *busy = lwq_loop_submit(l, gate_task, &g);
    gate_wait_entered(&g);
    lwq_strand *s = lwq_strand_new(l);
    lwq_future *a = lwq_loop_submit(l, square, (void *)2);
    lwq_future *b = lwq_strand_submit(s, square, (void *)3);
    lwq_loop_stop(l);
    lwq_loop_run(l); /* returns at once: stopped */
    ck_assert_int_eq(lwq_future_wait(a, LWQ_TSTAMP_INF), LWQ_ERR_CLOSED);
    ck_assert_int_eq(lwq_future_wait(b, LWQ_TSTAMP_INF), LWQ_ERR_CLOSED);
    ck_assert_ptr_null(lwq_loop_submit(l, square, (void *)4));
    ck_assert_int_eq(lwq_strand_post(s, square, (void *)4), LWQ_ERR_CLOSED);
    gate_open(&g); /* the running task still completes */
    ck_assert_int_eq(lwq_future_wait(busy, LWQ_TSTAMP_INF), 0);
    lwq_strand_del(s);
    lwq_future_del(a);
    lwq_future_del(b);
    lwq_future_del(busy);
    lwq_loop_del(l);
    gate_destroy(&g);
}
END_TEST

struct tick {
    lwq_tstamp at;
    int order;
    int *counter;
};

static void *on_tick(void *arg)
{
    struct tick *t = arg;
    t->at = lwq_loop_now();
    t->order = __atomic_add_fetch(t->counter, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *noop(void *arg) { return arg; }

START_TEST(test_timers_fire_in_order_not_early)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 2, lwq_test_alloc), 0);
    lwq_strand *s = lwq_strand_new(l);
    int counter = 0;
    struct tick a = {0, 0, &counter}, b = {0, 0, &counter}, c = {0, 0, &counter};
    lwq_timer *ta = lwq_timer_new(l, s, on_tick, &a), *tb = lwq_timer_new(l, s, on_tick, &b),
              *tc = lwq_timer_new(l, s, on_tick, &c);
    lwq_tstamp t0 = lwq_loop_now();
    lwq_timer_set(ta, t0 + 30 * LWQ_MS);
    lwq_timer_set(tb, t0 + 10 * LWQ_MS);
    lwq_timer_set(tc, t0 + 20 * LWQ_MS);
    lwq_timer_cancel(tc);
    lwq_timer_set(tb, t0 + 15 * LWQ_MS); /* re-arming moves it */
    /* Wait for a on the same strand: anything queued behind it has run. */
    while (__atomic_load_n(&counter, __ATOMIC_SEQ_CST) < 2) {
        lwq_future *f = lwq_strand_submit(s, noop, NULL);
        lwq_future_wait(f, 5 * LWQ_MS);
        lwq_future_wait(f, LWQ_TSTAMP_INF);
        lwq_future_del(f);
    }
    lwq_future *f = lwq_strand_submit(s, noop, NULL);
    lwq_future_wait(f, 20 * LWQ_MS); /* time for the cancelled timer to misfire, if it would */
    lwq_future_wait(f, LWQ_TSTAMP_INF);
    lwq_future_del(f);
    ck_assert_int_eq(b.order, 1);
    ck_assert_int_eq(a.order, 2);
    ck_assert_int_eq(c.order, 0);
    ck_assert_uint_ge(b.at, t0 + 15 * LWQ_MS);
    ck_assert_uint_ge(a.at, t0 + 30 * LWQ_MS);
    lwq_timer_del(ta);
    lwq_timer_del(tb);
    lwq_timer_del(tc);
    lwq_strand_del(s);
    lwq_loop_del(l);
}
END_TEST

struct pipe_state {
    int fds[2];
    int reads, bytes, inside, overlap;
};

static void on_readable(int fd, int events, void *arg)
{
    struct pipe_state *p = arg;
    if (__atomic_add_fetch(&p->inside, 1, __ATOMIC_SEQ_CST) > 1)
        p->overlap = 1;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0 && (events & LWQ_WATCH_READ))
        __atomic_add_fetch(&p->bytes, (int)n, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->reads, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&p->inside, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_fd_watch)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 2, lwq_test_alloc), 0);
    struct pipe_state p = {{-1, -1}, 0, 0, 0, 0};
    ck_assert_int_eq(pipe(p.fds), 0);
    lwq_watch *w = lwq_watch_new(l, p.fds[0], LWQ_WATCH_READ, NULL, on_readable, &p);
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
        struct gate g;
        gate_init(&g);
        for (int spin = 0; spin < 2000 && __atomic_load_n(&p.bytes, __ATOMIC_SEQ_CST) <= i; spin++) {
            lwq_future *f = lwq_loop_submit(l, noop, NULL); /* yield to the pool */
            lwq_future_wait(f, LWQ_MS);
            lwq_future_wait(f, LWQ_TSTAMP_INF);
            lwq_future_del(f);
        }
        gate_destroy(&g);
    }
    ck_assert_int_eq(__atomic_load_n(&p.bytes, __ATOMIC_SEQ_CST), 50);
    ck_assert_int_eq(p.overlap, 0);
    lwq_watch_del(w);
    close(p.fds[0]);
    close(p.fds[1]);
    lwq_loop_del(l);
}
END_TEST

/* A watch deleted while its fd is ready: the poller may hold it from an epoll_wait that returned just
 * before the delete, so the memory must outlive that batch (ASan finds the use after free otherwise). */
START_TEST(test_watch_deleted_while_ready)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 1, lwq_test_alloc), 0);
    for (int i = 0; i < 3000; i++) {
        struct pipe_state p = {{-1, -1}, 0, 0, 0, 0};
        ck_assert_int_eq(pipe(p.fds), 0);
        ck_assert_int_eq(write(p.fds[1], "x", 1), 1);
        lwq_watch *w = lwq_watch_new(l, p.fds[0], LWQ_WATCH_READ, NULL, on_readable, &p);
        ck_assert_ptr_nonnull(w);
        if (i & 1)
            sched_yield(); /* let the poller see it ready before the delete, every other time */
        lwq_watch_del(w);
        ck_assert_int_le(p.reads, 1);
        close(p.fds[0]);
        close(p.fds[1]);
    }
    lwq_loop_del(l);
}
END_TEST

struct stress {
    int strand_counts[8];
    int pool_count;
};

struct stress_arg {
    struct stress *st;
    int strand;
};

static void *stress_task(void *arg)
{
    struct stress_arg *a = arg;
    if (a->strand >= 0)
        a->st->strand_counts[a->strand]++; /* serial on its strand: no atomics needed (TSan checks it) */
    else
        __atomic_add_fetch(&a->st->pool_count, 1, __ATOMIC_RELAXED);
    return arg;
}

START_TEST(test_stress_thousands_of_futures)
{
    enum { PER_STRAND = 1500, POOL = 5000 };
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 4, lwq_test_alloc), 0);
    static struct stress st;
    static struct stress_arg args[8 * PER_STRAND + POOL];
    static lwq_future *fs[8 * PER_STRAND + POOL];
    memset(&st, 0, sizeof(st));
    lwq_strand *s[8];
    for (int i = 0; i < 8; i++)
        s[i] = lwq_strand_new(l);
    int n = 0, pool = 0;
    for (int k = 0; k < PER_STRAND; k++) {
        for (int i = 0; i < 8; i++) {
            args[n] = (struct stress_arg){&st, i};
            fs[n] = lwq_strand_submit(s[i], stress_task, &args[n]);
            n++;
        }
        for (int j = 0; j < POOL / PER_STRAND + 1 && pool < POOL; j++, pool++) {
            args[n] = (struct stress_arg){&st, -1};
            fs[n] = lwq_loop_submit(l, stress_task, &args[n]);
            n++;
        }
    }
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(fs[i]);
        ck_assert_int_eq(lwq_future_wait(fs[i], LWQ_TSTAMP_INF), 0);
        ck_assert_ptr_eq(lwq_future_result(fs[i]), &args[i]);
        lwq_future_del(fs[i]);
    }
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(st.strand_counts[i], PER_STRAND);
        lwq_strand_del(s[i]);
    }
    ck_assert_int_eq(st.pool_count, POOL);
    ck_assert_int_eq(n, 8 * PER_STRAND + POOL);
    lwq_loop_del(l);
}
END_TEST

static void *delete_own_strand(void *arg)
{
    lwq_strand_del(arg);
    return NULL;
}

START_TEST(test_strand_deleted_from_its_own_task)
{
    lwq_loop *l;
    ck_assert_int_eq(lwq_loop_new(&l, 2, lwq_test_alloc), 0);
    lwq_strand *s = lwq_strand_new(l);
    lwq_future *f = lwq_strand_submit(s, delete_own_strand, s);
    ck_assert_int_eq(lwq_future_wait(f, LWQ_TSTAMP_INF), 0);
    lwq_future_del(f);
    lwq_loop_del(l); /* the strand is freed by its runner; the leak check proves it */
}
END_TEST

Suite *suite_loop(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = lwq_test_tcase("loop");
    tcase_add_test(tc, test_submit_and_wait);
    tcase_add_test(tc, test_strand_is_serial_and_ordered);
    tcase_add_test(tc, test_cancel_pending_and_timed_wait);
    tcase_add_test(tc, test_stop_cancels_queued_and_refuses_new);
    tcase_add_test(tc, test_timers_fire_in_order_not_early);
    tcase_add_test(tc, test_fd_watch);
    tcase_add_test(tc, test_watch_deleted_while_ready);
    tcase_add_test(tc, test_stress_thousands_of_futures);
    tcase_add_test(tc, test_strand_deleted_from_its_own_task);
    suite_add_tcase(s, tc);
    return s;
}
