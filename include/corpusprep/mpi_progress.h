/* mpi_progress: a cluster job's progress lines (MB, documents, MB/s, ETA, pass), printed by rank 0 from the
 * figures of every rank, summed without making any rank wait for another. Only corpusprep-mpi links it; every
 * call is made from the main thread (MPI_THREAD_FUNNELED). */
#ifndef CORPUSPREP_MPI_PROGRESS_H
#define CORPUSPREP_MPI_PROGRESS_H

#include <mpi.h>
#include <stdint.h>

#include "corpusprep/mpi_exchange.h"
#include "corpusprep/pipeline.h"

typedef struct cp_mpi_progress cp_mpi_progress;

/* Collective over x->comm (every rank has the same options and file list). Progress is off with --quiet or a
 * negative --progress-every; every 60 s when not given. Never NULL. */
cp_mpi_progress *cp_mpi_progress_create(const cp_pipeline_opts *o, const cp_net *x);
int cp_mpi_progress_on(const cp_mpi_progress *p);
/* The pipeline's on_batch callback (ctx: the cp_mpi_progress), when progress is on. */
void cp_mpi_progress_on_batch(void *ctx, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
/* Before and after each pipeline pass (phase: CP_PHASE_*); the end is collective over job. */
void cp_mpi_progress_begin(cp_mpi_progress *p, int phase);
void cp_mpi_progress_end(cp_mpi_progress *p, MPI_Comm job);
/* Rank 0: the job's uncompressed input bytes, which pass 2 is measured against (a resumed job skips pass 1). */
void cp_mpi_progress_set_pass1_bytes(cp_mpi_progress *p, uint64_t bytes);
void cp_mpi_progress_destroy(cp_mpi_progress *p);

#endif
