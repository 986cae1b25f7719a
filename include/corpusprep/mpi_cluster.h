/* mpi_cluster: cluster mode (corpusprep-mpi, built with `make MPI=1`). The same run as corpusprep, with the
 * input files split across MPI ranks and every dedup decision taken globally by exchanging keys; the
 * output equals the single-process run's for any number of ranks. Only main.c (under CP_MPI) uses it;
 * the library and the plain build know nothing of MPI. Not thread-safe: called from main's thread only. */
#ifndef CORPUSPREP_MPI_CLUSTER_H
#define CORPUSPREP_MPI_CLUSTER_H

#include <stddef.h>

#include "corpusprep/pipeline.h"

/* Brackets the command line: initialises MPI, checks that the job is what the launcher meant (SLURM_NTASKS
 * equal to the MPI size, else exit 2 with a message: the srun-with-the-wrong---mpi-plugin trap), runs
 * cli(argc, argv) and finalises. Returns cli's exit code. */
int cp_mpi_main(int argc, char **argv, int (*cli)(int, char **));

/* The cluster run. o as for cp_pipeline_run with every rank's full, identical, expanded file list (o->rank,
 * o->file_index, o->hooks and o->no_stats_file are set here); force as --force; scratch as --scratch (NULL:
 * $SLURM_TMPDIR, $TMPDIR, OUTDIR/_scratch), where each rank keeps its spill between the passes. Rank 0 prepares OUTDIR
 * and writes the merged OUTDIR/stats.json and the summary. Reports on stderr itself and returns the exit
 * code, the same on every rank: 0, 1 (some input not read to its end), 2 (usage or configuration), 130
 * (interrupted). A rank that fails otherwise (output not writable...) prints why and aborts the job. */
int cp_mpi_run(const cp_pipeline_opts *o, int force, const char *scratch, int spill_level);

#endif
