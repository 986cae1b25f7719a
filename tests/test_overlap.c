/* Tests for overlap: every chain item and every filler item runs exactly once; a stage's items start only
 * after every item of the stage before finished, and its size is asked for only then; empty stages are
 * skipped and a negative size ends the chain; with two threads, filler runs while the chain's one-item
 * (serial) stage is running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "corpusprep/overlap.h"

#define MAX_STAGES 8
#define MAX_ITEMS 256

typedef struct {
    long sizes[MAX_STAGES]; /* stage sizes; the chain ends after nstages */
    int nstages;
    _Atomic long clock;     /* a global order of events */
    _Atomic int runs[MAX_STAGES][MAX_ITEMS];
    long started[MAX_STAGES][MAX_ITEMS], finished[MAX_STAGES][MAX_ITEMS];
    _Atomic int filler_runs[MAX_ITEMS];
    _Atomic long filler_done;
    int asked[MAX_STAGES + 1];
    long done_when_asked[MAX_STAGES + 1]; /* items of the stage before finished when stage k was asked */
    _Atomic long done_per_stage[MAX_STAGES];
    int wait_for_filler;    /* the one-item stage 1 waits until a filler item ran */
    int filler_seen;        /* ... and records whether it did */
    _Atomic int threads_seen;
} ctx_t;

static long stage_items(void *p, int k)
{
    ctx_t *c = p;
    assert_true(k <= MAX_STAGES);
    c->asked[k]++;
    c->done_per_stage[k] = 0;
    c->done_when_asked[k] = k ? (long)c->done_per_stage[k - 1] : 0;
    return k < c->nstages ? c->sizes[k] : -1;
}

static void run_stage(void *p, int k, long item, int thread)
{
    ctx_t *c = p;
    (void)thread;
    c->started[k][item] = ++c->clock;
    c->runs[k][item]++;
    if (c->wait_for_filler && k == 1) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do { /* 60 s at most: another thread takes filler meanwhile, whatever the machine's load */
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while (!atomic_load(&c->filler_done) && t.tv_sec - t0.tv_sec < 60);
        c->filler_seen = atomic_load(&c->filler_done) > 0;
    }
    c->finished[k][item] = ++c->clock;
    c->done_per_stage[k]++;
}

static void run_filler(void *p, long item, int thread)
{
    ctx_t *c = p;
    (void)thread;
    c->filler_runs[item]++;
    c->filler_done++;
}

static void thread_begin(void *p, int thread)
{
    ctx_t *c = p;
    (void)thread;
    c->threads_seen++;
}

static const cp_overlap_ops ops = {stage_items, run_stage, run_filler, thread_begin, NULL};

static void check_run(ctx_t *c, long nfiller)
{
    cp_overlap_run(&ops, c, nfiller);
    for (int k = 0; k < c->nstages; k++) {
        assert_int_equal(c->asked[k], 1);
        if (k)
            assert_int_equal(c->done_when_asked[k], c->sizes[k - 1] > 0 ? c->sizes[k - 1] : 0);
        long last_before = 0;
        for (int j = 0; j < k; j++)
            for (long i = 0; i < c->sizes[j]; i++)
                if (c->finished[j][i] > last_before)
                    last_before = c->finished[j][i];
        for (long i = 0; i < c->sizes[k]; i++) {
            assert_int_equal(c->runs[k][i], 1);
            assert_true(c->started[k][i] > last_before); /* after every item of every earlier stage */
        }
        for (long i = c->sizes[k] > 0 ? c->sizes[k] : 0; i < MAX_ITEMS; i++)
            assert_int_equal(c->runs[k][i], 0);
    }
    assert_int_equal(c->asked[c->nstages], 1); /* the end was asked for once, and nothing after it */
    for (long i = 0; i < MAX_ITEMS; i++)
        assert_int_equal(c->filler_runs[i], i < nfiller ? 1 : 0);
    assert_true(c->threads_seen >= 1);
}

static void test_chain_and_filler(void **state)
{
    (void)state;
    static const int threads[] = {1, 2, 3};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
#ifdef _OPENMP
        omp_set_num_threads(threads[t]);
#endif
        static ctx_t c;
        memset(&c, 0, sizeof c);
        long sizes[] = {1, 37, 0, 1, 200, 1};
        memcpy(c.sizes, sizes, sizeof sizes);
        c.nstages = 6;
        check_run(&c, 150);
    }
}

static void test_edge_cases(void **state)
{
    (void)state;
    static ctx_t c;
    memset(&c, 0, sizeof c); /* no chain at all: filler only */
    c.nstages = 0;
    check_run(&c, 40);
    memset(&c, 0, sizeof c); /* a chain and no filler */
    c.nstages = 3;
    c.sizes[0] = 5, c.sizes[1] = 1, c.sizes[2] = 9;
    check_run(&c, 0);
    memset(&c, 0, sizeof c); /* nothing to do */
    check_run(&c, 0);
    memset(&c, 0, sizeof c); /* only empty stages */
    c.nstages = 4;
    check_run(&c, 3);
}

static void test_filler_beside_serial_step(void **state)
{
    (void)state;
#ifdef _OPENMP
    omp_set_num_threads(2);
    static ctx_t c;
    memset(&c, 0, sizeof c);
    c.nstages = 3;
    c.sizes[0] = 4, c.sizes[1] = 1, c.sizes[2] = 4;
    c.wait_for_filler = 1;
    check_run(&c, 100);
    if (c.threads_seen < 2)
        skip(); /* the runtime gave one thread: nothing can run beside the step */
    assert_true(c.filler_seen);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_filler),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_filler_beside_serial_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
