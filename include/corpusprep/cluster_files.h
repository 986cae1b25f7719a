/* cluster_files: the files a cluster job (corpusprep-mpi) keeps outside its shards, and the collect pass's
 * figures. Per rank, in a scratch folder: rank-R.spill (spill.h), and rank-R.state (rank_state.h) once the
 * exchange is over; in OUTDIR/_checkpoint, the job's marker that --resume looks for. Plain functions; the
 * driver calls them on each rank (no MPI here). */
#ifndef CORPUSPREP_CLUSTER_FILES_H
#define CORPUSPREP_CLUSTER_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/pipeline.h"
#include "corpusprep/stats.h"
#include "corpusprep/util.h"

/* The scratch folder and this rank's spill and state paths (appended to the zeroed buffers): below scratch
 * (--scratch), else $SLURM_TMPDIR, else $TMPDIR, a folder corpusprep-<hash of OUTDIR's absolute path>; with
 * none of them, OUTDIR/_scratch. The same arguments give the same paths, which is how --resume finds them. */
void cp_cluster_scratch_paths(const char *outdir, const char *scratch, int rank, cp_buf *dir, cp_buf *file,
                              cp_buf *state);
/* Removes the rank's spill and state, and the folder when it is then empty. */
void cp_cluster_scratch_remove(const cp_buf *dir, const cp_buf *file, const cp_buf *state);

/* What a rank's files must match to be used again: configuration, input list (files_hash), number of ranks,
 * the rank (rank -1: the job's), and the build (o->version). */
uint64_t cp_cluster_fingerprint(const cp_pipeline_opts *o, uint64_t files_hash, int K, int rank);

/* OUTDIR/_checkpoint/ckpt-cluster, written by rank 0 when a job with checkpoints starts and removed when it
 * ends (cp_checkpoint_remove_all), kept when it is interrupted. Write: 0 or -1 with a message. Check (for
 * --resume): 0 when it names this job, else -2 and why: nothing to resume, other ranks, other configuration,
 * inputs or build (the single process's refusals, exit 2). */
int cp_cluster_marker_write(const char *outdir, uint64_t job_fp, int K, char *err, size_t errlen);
int cp_cluster_marker_check(const char *outdir, uint64_t job_fp, int K, char *err, size_t errlen);

/* Folds the collect pass's figures (s1: what P1 counted, cleaning rules first, and the compressed input) into
 * the deciding pass's stats, which read the spill and counted the rest. */
void cp_cluster_add_collect_figures(cp_stats *st, const cp_stats *s1);

#endif
