/* SPDX-License-Identifier: MIT */
/* The password-hash pool: the bound on queued work, results handed back on the loop that
 * submitted them, closing a port and stopping the pool with work still queued. Jobs wait on a
 * gate the test opens, so "running" and "queued" are known states, not races. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "check.h"
#include "core/err.h"
#include "core/mem.h"
#include "proxy/hashpool.h"

/* ---- a gate the jobs wait on ---------------------------------------------------------------- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_wait(void)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (at most 5 s) until the pool shows running and queued jobs. */
static bool wait_counts(struct tr_hashpool *pool, unsigned running, unsigned queued)
{
    for (int i = 0; i < 5000; i++) {
        struct tr_hashpool_stats st;
        tr_hashpool_stats(pool, &st);
        if (st.running == running && st.queued == queued)
            return true;
        sleep_ms(1);
    }
    return false;
}

/* ---- a job that records where it ran -------------------------------------------------------- */

struct tjob {
    struct tr_hashpool_job job;
    int id;
    bool gated;             /* work waits for the gate */
    bool worked;            /* work ran */
    pthread_t work_thread;  /* where work ran */
    int done_calls;         /* how many times done ran */
    int status;             /* done's status */
    pthread_t done_thread;  /* where done ran */
    uv_loop_t *expect_loop; /* the loop done must run on */
    bool on_expected_loop;  /* done ran while expect_loop was running */
    int order;              /* position among the done calls of the test */
};

static uv_loop_t *running_loop; /* the loop uv_run is running on the main thread */
static _Atomic int done_seq;    /* loop threads of test_loop_threads count too */

static void on_work(struct tr_hashpool_job *job)
{
    struct tjob *t = TR_CONTAINER_OF(job, struct tjob, job);
    if (t->gated)
        gate_wait();
    t->work_thread = pthread_self();
    t->worked = true;
}

static void on_done(struct tr_hashpool_job *job, int status)
{
    struct tjob *t = TR_CONTAINER_OF(job, struct tjob, job);
    t->done_calls++;
    t->status = status;
    t->done_thread = pthread_self();
    t->on_expected_loop = running_loop == t->expect_loop;
    t->order = done_seq++;
}

static void job_init(struct tjob *t, int id, bool gated, uv_loop_t *loop)
{
    memset(t, 0, sizeof(*t));
    t->job.work = on_work;
    t->job.done = on_done;
    t->id = id;
    t->gated = gated;
    t->expect_loop = loop;
}

static void run(uv_loop_t *loop)
{
    running_loop = loop;
    uv_run(loop, UV_RUN_DEFAULT);
    running_loop = NULL;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* threads + queue_len jobs fit, the next is refused at once; results come back in order, on
 * the submitting loop, after work ran on another thread; the loop stays alive only while jobs
 * are out. */
static void test_bound_and_completion(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(1, 2, err, sizeof(err));
    TR_CHECK(pool != NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tr_hashpool_port *port = tr_hashpool_port_open(pool, &loop);
    TR_CHECK(port != NULL);
    /* Nothing out: the port alone does not keep the loop running. */
    TR_CHECK_INT(uv_run(&loop, UV_RUN_NOWAIT), 0);

    gate_set(false);
    done_seq = 0;
    struct tjob jobs[4];
    for (int i = 0; i < 4; i++)
        job_init(&jobs[i], i, true, &loop);
    TR_CHECK_INT(tr_hashpool_submit(port, &jobs[0].job), 0);
    TR_CHECK(wait_counts(pool, 1, 0));
    TR_CHECK_INT(tr_hashpool_submit(port, &jobs[1].job), 0);
    TR_CHECK_INT(tr_hashpool_submit(port, &jobs[2].job), 0);
    TR_CHECK_INT(tr_hashpool_submit(port, &jobs[3].job), TR_EBUSY);
    struct tr_hashpool_stats st;
    tr_hashpool_stats(pool, &st);
    TR_CHECK_INT(st.threads, 1);
    TR_CHECK_INT(st.queue_len, 2);
    TR_CHECK_INT(st.running, 1);
    TR_CHECK_INT(st.queued, 2);
    TR_CHECK_INT(st.refused, 1);
    TR_CHECK_INT(st.done, 0);
    TR_CHECK_INT(jobs[0].done_calls, 0);

    gate_set(true);
    run(&loop); /* returns once every job is back */
    for (int i = 0; i < 3; i++) {
        TR_CHECK(jobs[i].worked);
        TR_CHECK_INT(jobs[i].done_calls, 1);
        TR_CHECK_INT(jobs[i].status, 0);
        TR_CHECK(jobs[i].on_expected_loop);
        TR_CHECK(pthread_equal(jobs[i].done_thread, pthread_self()));
        TR_CHECK(!pthread_equal(jobs[i].work_thread, pthread_self()));
        TR_CHECK_INT(jobs[i].order, i);
    }
    TR_CHECK(!jobs[3].worked);
    TR_CHECK_INT(jobs[3].done_calls, 0);
    tr_hashpool_stats(pool, &st);
    TR_CHECK_INT(st.done, 3);
    TR_CHECK_INT(st.running + st.queued, 0);

    /* Room again once they are done. */
    job_init(&jobs[3], 3, false, &loop);
    TR_CHECK_INT(tr_hashpool_submit(port, &jobs[3].job), 0);
    run(&loop);
    TR_CHECK_INT(jobs[3].done_calls, 1);

    tr_hashpool_port_close(port);
    uv_run(&loop, UV_RUN_DEFAULT);
    TR_CHECK_INT(uv_loop_close(&loop), 0);
    tr_hashpool_stop(pool);
    tr_hashpool_free(pool);
}

/* queue_len 0: a free thread takes a job, a busy one means no. */
static void test_queue_zero(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(1, 0, err, sizeof(err));
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tr_hashpool_port *port = tr_hashpool_port_open(pool, &loop);
    gate_set(false);
    struct tjob a, b;
    job_init(&a, 0, true, &loop);
    job_init(&b, 1, false, &loop);
    TR_CHECK_INT(tr_hashpool_submit(port, &a.job), 0);
    TR_CHECK_INT(tr_hashpool_submit(port, &b.job), TR_EBUSY);
    gate_set(true);
    run(&loop);
    TR_CHECK_INT(a.done_calls, 1);
    TR_CHECK_INT(tr_hashpool_submit(port, &b.job), 0);
    run(&loop);
    TR_CHECK_INT(b.done_calls, 1);
    tr_hashpool_port_close(port);
    uv_run(&loop, UV_RUN_DEFAULT);
    TR_CHECK_INT(uv_loop_close(&loop), 0);
    tr_hashpool_free(pool);

    TR_CHECK(tr_hashpool_start(0, 4, err, sizeof(err)) == NULL);
    TR_CHECK(strstr(err, "thread") != NULL);
    TR_CHECK(tr_hashpool_port_open(NULL, &loop) == NULL);
    TR_CHECK_INT(tr_hashpool_submit(NULL, &b.job), TR_EUNAVAIL);
}

/* Two loops on the main thread: each job comes back on the loop it was submitted from, and
 * only when that loop runs. */
static void test_two_loops(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(2, 8, err, sizeof(err));
    uv_loop_t l1, l2;
    uv_loop_init(&l1);
    uv_loop_init(&l2);
    struct tr_hashpool_port *p1 = tr_hashpool_port_open(pool, &l1);
    struct tr_hashpool_port *p2 = tr_hashpool_port_open(pool, &l2);
    struct tjob a[3], b[3];
    for (int i = 0; i < 3; i++) {
        job_init(&a[i], i, false, &l1);
        job_init(&b[i], i, false, &l2);
        TR_CHECK_INT(tr_hashpool_submit(p1, &a[i].job), 0);
        TR_CHECK_INT(tr_hashpool_submit(p2, &b[i].job), 0);
    }
    TR_CHECK(wait_counts(pool, 0, 0));
    run(&l1);
    for (int i = 0; i < 3; i++) {
        TR_CHECK_INT(a[i].done_calls, 1);
        TR_CHECK(a[i].on_expected_loop);
        TR_CHECK(b[i].worked);
        TR_CHECK_INT(b[i].done_calls, 0); /* its loop did not run yet */
    }
    run(&l2);
    for (int i = 0; i < 3; i++) {
        TR_CHECK_INT(b[i].done_calls, 1);
        TR_CHECK(b[i].on_expected_loop);
    }
    tr_hashpool_port_close(p1);
    tr_hashpool_port_close(p2);
    uv_run(&l1, UV_RUN_DEFAULT);
    uv_run(&l2, UV_RUN_DEFAULT);
    TR_CHECK_INT(uv_loop_close(&l1), 0);
    TR_CHECK_INT(uv_loop_close(&l2), 0);
    tr_hashpool_free(pool);
}

/* Worker threads of their own, submitting at the same time: every result comes back on the
 * thread that runs the submitting loop. */
#define NUM_LOOP_THREADS 3
#define JOBS_PER_THREAD 40

struct loop_thread {
    pthread_t thread;
    struct tr_hashpool *pool;
    struct tjob jobs[JOBS_PER_THREAD];
    int refused;
    bool closed_clean;
};

static void *loop_thread_main(void *arg)
{
    struct loop_thread *lt = arg;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tr_hashpool_port *port = tr_hashpool_port_open(lt->pool, &loop);
    for (int i = 0; i < JOBS_PER_THREAD; i++) {
        job_init(&lt->jobs[i], i, false, &loop);
        lt->jobs[i].expect_loop = NULL; /* running_loop belongs to the main thread */
        while (tr_hashpool_submit(port, &lt->jobs[i].job) == TR_EBUSY) {
            lt->refused++;
            uv_run(&loop, UV_RUN_NOWAIT);
            sleep_ms(1);
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    tr_hashpool_port_close(port);
    uv_run(&loop, UV_RUN_DEFAULT);
    lt->closed_clean = uv_loop_close(&loop) == 0;
    return NULL;
}

static void test_loop_threads(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(2, 4, err, sizeof(err));
    struct loop_thread lts[NUM_LOOP_THREADS];
    memset(lts, 0, sizeof(lts));
    for (int i = 0; i < NUM_LOOP_THREADS; i++) {
        lts[i].pool = pool;
        pthread_create(&lts[i].thread, NULL, loop_thread_main, &lts[i]);
    }
    for (int i = 0; i < NUM_LOOP_THREADS; i++)
        pthread_join(lts[i].thread, NULL);
    int bad = 0;
    for (int i = 0; i < NUM_LOOP_THREADS; i++) {
        TR_CHECK(lts[i].closed_clean);
        for (int j = 0; j < JOBS_PER_THREAD; j++) {
            struct tjob *t = &lts[i].jobs[j];
            if (t->done_calls != 1 || t->status != 0 || !t->worked ||
                !pthread_equal(t->done_thread, lts[i].thread))
                bad++;
        }
    }
    TR_CHECK_INT(bad, 0);
    struct tr_hashpool_stats st;
    tr_hashpool_stats(pool, &st);
    TR_CHECK_INT(st.done, NUM_LOOP_THREADS * JOBS_PER_THREAD);
    tr_hashpool_free(pool);
}

/* A port that closes (a worker stopping) drops its queued jobs: they come back cancelled
 * without running; other ports' jobs are untouched; the port frees itself. */
static void test_port_close_with_queued_work(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(1, 8, err, sizeof(err));
    uv_loop_t l1, l2;
    uv_loop_init(&l1);
    uv_loop_init(&l2);
    struct tr_hashpool_port *p1 = tr_hashpool_port_open(pool, &l1);
    struct tr_hashpool_port *p2 = tr_hashpool_port_open(pool, &l2);
    gate_set(false);
    struct tjob a, b, c, d;
    job_init(&a, 0, true, &l1);
    job_init(&b, 1, false, &l2);
    job_init(&c, 2, false, &l2);
    job_init(&d, 3, false, &l1);
    TR_CHECK_INT(tr_hashpool_submit(p1, &a.job), 0);
    TR_CHECK(wait_counts(pool, 1, 0));
    TR_CHECK_INT(tr_hashpool_submit(p2, &b.job), 0);
    TR_CHECK_INT(tr_hashpool_submit(p1, &d.job), 0);
    TR_CHECK_INT(tr_hashpool_submit(p2, &c.job), 0);
    TR_CHECK(wait_counts(pool, 1, 3));

    tr_hashpool_port_close(p2);
    TR_CHECK_INT(tr_hashpool_submit(p2, &c.job), TR_EUNAVAIL); /* closing: refused */
    TR_CHECK(wait_counts(pool, 1, 1));
    run(&l2); /* the cancelled jobs come back, then the port closes and the loop ends */
    TR_CHECK_INT(b.done_calls, 1);
    TR_CHECK_INT(b.status, TR_ECANCELED);
    TR_CHECK(!b.worked);
    TR_CHECK_INT(c.done_calls, 1);
    TR_CHECK_INT(c.status, TR_ECANCELED);
    TR_CHECK(!c.worked);
    TR_CHECK(b.on_expected_loop && c.on_expected_loop);
    TR_CHECK_INT(uv_loop_close(&l2), 0);

    gate_set(true);
    run(&l1);
    TR_CHECK_INT(a.done_calls, 1);
    TR_CHECK_INT(a.status, 0);
    TR_CHECK_INT(d.done_calls, 1);
    TR_CHECK_INT(d.status, 0);
    TR_CHECK(d.worked);

    /* A port closed while its job runs stays until the job is back. */
    gate_set(false);
    job_init(&a, 0, true, &l1);
    TR_CHECK_INT(tr_hashpool_submit(p1, &a.job), 0);
    TR_CHECK(wait_counts(pool, 1, 0));
    tr_hashpool_port_close(p1);
    TR_CHECK(uv_run(&l1, UV_RUN_NOWAIT) != 0); /* still alive: a job is out */
    gate_set(true);
    run(&l1);
    TR_CHECK_INT(a.done_calls, 1);
    TR_CHECK_INT(a.status, 0);
    TR_CHECK_INT(uv_loop_close(&l1), 0);
    tr_hashpool_free(pool);
}

static void *stop_main(void *arg)
{
    tr_hashpool_stop(arg);
    return NULL;
}

/* Stopping the pool with work queued: the running job finishes and comes back done, the queued
 * ones come back cancelled, later submissions are refused, and nothing leaks. */
static void test_stop_with_queued_work(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(1, 4, err, sizeof(err));
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct tr_hashpool_port *port = tr_hashpool_port_open(pool, &loop);
    gate_set(false);
    struct tjob a, b, c;
    job_init(&a, 0, true, &loop);
    job_init(&b, 1, false, &loop);
    job_init(&c, 2, false, &loop);
    TR_CHECK_INT(tr_hashpool_submit(port, &a.job), 0);
    TR_CHECK(wait_counts(pool, 1, 0));
    TR_CHECK_INT(tr_hashpool_submit(port, &b.job), 0);
    TR_CHECK_INT(tr_hashpool_submit(port, &c.job), 0);

    /* stop waits for the running job: call it from another thread, open the gate once it
     * took the queue. */
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_main, pool);
    TR_CHECK(wait_counts(pool, 1, 0));
    gate_set(true);
    pthread_join(stopper, NULL);
    struct tjob e;
    job_init(&e, 3, false, &loop);
    TR_CHECK_INT(tr_hashpool_submit(port, &e.job), TR_EUNAVAIL);

    run(&loop);
    TR_CHECK_INT(a.done_calls, 1);
    TR_CHECK_INT(a.status, 0);
    TR_CHECK(a.worked);
    TR_CHECK_INT(b.done_calls, 1);
    TR_CHECK_INT(b.status, TR_ECANCELED);
    TR_CHECK(!b.worked);
    TR_CHECK_INT(c.done_calls, 1);
    TR_CHECK_INT(c.status, TR_ECANCELED);
    TR_CHECK_INT(e.done_calls, 0);
    tr_hashpool_stop(pool); /* a second stop is a no-op */
    tr_hashpool_port_close(port);
    uv_run(&loop, UV_RUN_DEFAULT);
    TR_CHECK_INT(uv_loop_close(&loop), 0);
    tr_hashpool_free(pool);
}

/* A done callback may submit the next job (a plugin that checks a second credential). */
struct chain {
    struct tr_hashpool_job job;
    struct tr_hashpool_port *port;
    int left;
    int done_calls;
};

static void on_chain_work(struct tr_hashpool_job *job)
{
    (void)job;
}

static void on_chain_done(struct tr_hashpool_job *job, int status)
{
    struct chain *c = TR_CONTAINER_OF(job, struct chain, job);
    c->done_calls++;
    if (status == 0 && c->left-- > 0)
        TR_CHECK_INT(tr_hashpool_submit(c->port, &c->job), 0);
}

static void test_resubmit_from_done(void)
{
    char err[128];
    struct tr_hashpool *pool = tr_hashpool_start(1, 0, err, sizeof(err));
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct chain c = {.job = {.work = on_chain_work, .done = on_chain_done}, .left = 5};
    c.port = tr_hashpool_port_open(pool, &loop);
    TR_CHECK_INT(tr_hashpool_submit(c.port, &c.job), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    TR_CHECK_INT(c.done_calls, 6);
    tr_hashpool_port_close(c.port);
    uv_run(&loop, UV_RUN_DEFAULT);
    TR_CHECK_INT(uv_loop_close(&loop), 0);
    tr_hashpool_free(pool);
}

int main(void)
{
    test_bound_and_completion();
    test_queue_zero();
    test_two_loops();
    test_loop_threads();
    test_port_close_with_queued_work();
    test_stop_with_queued_work();
    test_resubmit_from_done();
    return TR_CHECK_DONE();
}
