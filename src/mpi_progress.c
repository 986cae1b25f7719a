/* mpi_progress: a cluster job's progress lines in the job log (mpi_progress.h). Only corpusprep-mpi links
 * it. */
#include "corpusprep/mpi_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpusprep/progress.h"
#include "corpusprep/util.h"

/* Rank 0 prints the job's figures, summed over the ranks by a non-blocking MPI_Iallreduce that each rank starts
 * between two batches once the interval has passed and tests between later batches: no rank waits for another
 * while a pass runs, and MPI stays on the main thread (the pipeline calls on_batch from it). The reductions run
 * on a duplicate of the job's communicator, so that they never have to be ordered against the exchange's
 * collectives. At the end of a pass the ranks agree (on the job's communicator) on how many each started, start
 * the missing ones, wait for them, and sum their final figures once more: the last line holds the pass's real
 * totals. Pass 1 measures compressed input bytes against the job's input size; pass 2 measures uncompressed
 * bytes against pass 1's total of them. */
struct cp_mpi_progress {
    MPI_Comm comm;            /* MPI_COMM_NULL: progress is off */
    int rank, ranks;
    double every, last;       /* seconds between lines; when the last reduction started */
    MPI_Request req;
    int active;               /* a reduction is in flight */
    uint64_t started;         /* reductions started in this pass */
    uint64_t mine[3], send[3], sum[3]; /* compressed bytes read, uncompressed bytes, documents */
    int measure;              /* which of the three the pass is measured in */
    uint64_t job_bytes;       /* compressed bytes of the job's input */
    uint64_t pass1_bytes;     /* rank 0: the job's uncompressed bytes, after pass 1 */
    cp_progress *line;        /* rank 0 */
    char label[96];
};

static void start(cp_mpi_progress *p)
{
    memcpy(p->send, p->mine, sizeof p->send);
    MPI_Iallreduce(p->send, p->sum, 3, MPI_UINT64_T, MPI_SUM, p->comm, &p->req);
    p->active = 1;
    p->started++;
    p->last = cp_now();
}

void cp_mpi_progress_on_batch(void *ctx, uint64_t done_compressed, uint64_t bytes, uint64_t docs)
{
    cp_mpi_progress *p = ctx;
    p->mine[0] = done_compressed;
    p->mine[1] = bytes;
    p->mine[2] = docs;
    if (p->active) {
        int done = 0;
        MPI_Test(&p->req, &done, MPI_STATUS_IGNORE);
        if (!done)
            return;
        p->active = 0;
        if (!p->rank)
            cp_progress_print(p->line, p->sum[p->measure], p->sum[1], p->sum[2]);
    }
    if (cp_now() - p->last >= p->every)
        start(p);
}

void cp_mpi_progress_begin(cp_mpi_progress *p, int phase)
{
    if (p->comm == MPI_COMM_NULL)
        return;
    p->started = 0;
    p->active = 0;
    p->last = cp_now();
    memset(p->mine, 0, sizeof p->mine);
    int first = phase == CP_PHASE_COLLECT_DOCS;
    p->measure = first ? 0 : 1;
    snprintf(p->label, sizeof p->label, "%s, %d ranks", first ? "pass 1 of 2 (keys)" : "pass 2 of 2 (decide and write)",
             p->ranks);
    if (!p->rank) {
        cp_progress_destroy(p->line);
        p->line = cp_progress_create(p->every, first ? p->job_bytes : p->pass1_bytes, p->last);
        cp_progress_set_label(p->line, p->label);
    }
}

void cp_mpi_progress_end(cp_mpi_progress *p, MPI_Comm job)
{
    if (p->comm == MPI_COMM_NULL)
        return;
    uint64_t most = 0, total[3] = {0};
    MPI_Allreduce(&p->started, &most, 1, MPI_UINT64_T, MPI_MAX, job);
    for (;;) {
        if (p->active)
            MPI_Wait(&p->req, MPI_STATUS_IGNORE);
        p->active = 0;
        if (p->started >= most)
            break;
        start(p);
    }
    MPI_Reduce(p->mine, total, 3, MPI_UINT64_T, MPI_SUM, 0, p->comm);
    if (p->rank)
        return;
    cp_progress_print(p->line, total[p->measure], total[1], total[2]);
    if (p->measure == 0)
        p->pass1_bytes = total[1];
}

cp_mpi_progress *cp_mpi_progress_create(const cp_pipeline_opts *o, const cp_net *x)
{
    cp_mpi_progress *p = cp_xcalloc(1, sizeof *p);
    p->comm = MPI_COMM_NULL;
    p->rank = x->rank;
    p->ranks = x->size;
    p->every = o->progress_every < 0 || (o->quiet && !o->progress_every) ? -1
               : o->progress_every > 0                                    ? o->progress_every
                                                                          : 60;
    if (p->every <= 0)
        return p;
    for (size_t i = 0; i < o->nfiles; i++) {
        struct stat sb;
        if (stat(o->files[i], &sb) == 0)
            p->job_bytes += (uint64_t)sb.st_size;
    }
    MPI_Comm_dup(x->comm, &p->comm);
    return p;
}

int cp_mpi_progress_on(const cp_mpi_progress *p)
{
    return p->comm != MPI_COMM_NULL;
}

void cp_mpi_progress_set_pass1_bytes(cp_mpi_progress *p, uint64_t bytes)
{
    p->pass1_bytes = bytes;
}

void cp_mpi_progress_destroy(cp_mpi_progress *p)
{
    if (!p)
        return;
    cp_progress_destroy(p->line);
    if (p->comm != MPI_COMM_NULL)
        MPI_Comm_free(&p->comm);
    free(p);
}
