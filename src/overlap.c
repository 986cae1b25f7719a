/* overlap: a chain of stages with filler work on the side, in one OpenMP parallel region. A mutex guards the
 * hand-out; items are tens of microseconds or more, so one lock per item costs nothing measurable. A thread
 * with nothing to take sleeps on a condition variable (it does not spin: the reader thread may need the
 * core) until a stage completes or the loop ends. */
#include "corpusprep/overlap.h"

#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num(void) { return 0; }
#endif

typedef struct {
    const cp_overlap_ops *ops;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage;                /* the chain's current stage; -1 once the chain ended */
    long n, next, done;       /* its items: total, handed out, finished */
    long nfiller, filler_next, filler_done;
} loop_t;

/* Moves the chain on past complete stages (with the lock held). */
static void advance(loop_t *l)
{
    while (l->stage >= 0 && l->done == l->n) {
        l->stage++;
        l->n = l->ops->stage_items(l->ctx, l->stage);
        l->next = l->done = 0;
        if (l->n < 0)
            l->stage = -1;
    }
}

static void work(loop_t *l, int thread)
{
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->stage >= 0 && l->next < l->n) {
            int k = l->stage;
            long item = l->next++;
            pthread_mutex_unlock(&l->mu);
            l->ops->run_stage(l->ctx, k, item, thread);
            pthread_mutex_lock(&l->mu);
            if (++l->done == l->n) {
                advance(l);
                pthread_cond_broadcast(&l->cv);
            }
        } else if (l->filler_next < l->nfiller) {
            long item = l->filler_next++;
            pthread_mutex_unlock(&l->mu);
            l->ops->run_filler(l->ctx, item, thread);
            pthread_mutex_lock(&l->mu);
            if (++l->filler_done == l->nfiller && l->stage < 0)
                pthread_cond_broadcast(&l->cv);
        } else if (l->stage < 0 && l->filler_done == l->nfiller) {
            break;
        } else {
            pthread_cond_wait(&l->cv, &l->mu); /* the chain's current items are all taken */
        }
    }
    pthread_mutex_unlock(&l->mu);
}

void cp_overlap_run(const cp_overlap_ops *ops, void *ctx, long nfiller)
{
    loop_t l = {.ops = ops, .ctx = ctx, .stage = 0, .nfiller = nfiller > 0 ? nfiller : 0};
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    l.n = ops->stage_items(ctx, 0);
    if (l.n < 0)
        l.stage = -1;
    advance(&l);
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        if (ops->thread_begin)
            ops->thread_begin(ctx, t);
        work(&l, t);
        if (ops->thread_end)
            ops->thread_end(ctx, t);
    }
    pthread_mutex_destroy(&l.mu);
    pthread_cond_destroy(&l.cv);
}
