/* progress: the progress line on stderr. On a terminal a live line rewritten in place (twice a second);
 * elsewhere (Slurm, a pipe, a log file) a plain line every so many seconds, which a log can keep.
 * Used by the thread that runs the batches, between batches; not thread-safe. */
#ifndef CORPUSPREP_PROGRESS_H
#define CORPUSPREP_PROGRESS_H

#include <stdint.h>

typedef struct cp_progress cp_progress;

/* every_seconds 0: the default (live line on a terminal, a log line every 60 s otherwise); < 0: silent;
 * > 0: a log line every every_seconds, terminal or not. total_bytes: compressed input size (0 = unknown, no
 * ETA). start: cp_now() at the start of the run. */
cp_progress *cp_progress_create(double every_seconds, uint64_t total_bytes, double start);
/* Cluster mode: this rank's share of a job of job_total_bytes across ranks; the line then also estimates the
 * job's total from this rank's share (ranks get shares of the input by size). label ("pass 1 of 2") may be NULL. */
void cp_progress_set_cluster(cp_progress *p, int rank, int ranks, uint64_t job_total_bytes, const char *label);
/* done_compressed: input bytes consumed so far; bytes, docs: uncompressed bytes and documents processed.
 * Prints when a line is due. */
void cp_progress_update(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
/* Ends the live line (prints its last state and a newline); log lines need nothing. */
void cp_progress_finish(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
void cp_progress_destroy(cp_progress *p);

#endif
