/* overlap: one parallel loop that runs a chain of stages, each stage's items only after every item of the
 * stage before finished, and beside the chain a set of independent filler items that idle threads take
 * whenever the chain has nothing to hand out (while one thread runs a one-item stage, a serial step, the
 * others work on filler instead of waiting). The pipeline uses it to finish one batch (ordered steps,
 * language ID, output) while it parses the next (see pipeline.c).
 * Chain items go first: they are on the critical path. Which thread runs an item depends on the schedule,
 * so an item must not depend on that (per-thread scratch indexed by the thread number is fine).
 * Builds and runs without OpenMP too: one thread runs the chain, then the filler. */
#ifndef CORPUSPREP_OVERLAP_H
#define CORPUSPREP_OVERLAP_H

typedef struct {
    /* The number of items of chain stage k (k = 0, 1, ...), asked once stage k-1 is complete (so it may
     * depend on what that stage did); 0 skips the stage, a negative number ends the chain. */
    long (*stage_items)(void *ctx, int k);
    void (*run_stage)(void *ctx, int k, long item, int thread);
    void (*run_filler)(void *ctx, long item, int thread);
    /* Optional: called by each thread of the loop at its start and end (per-thread timing). */
    void (*thread_begin)(void *ctx, int thread);
    void (*thread_end)(void *ctx, int thread);
} cp_overlap_ops;

/* Runs the chain and nfiller filler items on the current OpenMP team size; returns when all are done. */
void cp_overlap_run(const cp_overlap_ops *ops, void *ctx, long nfiller);

#endif
