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
/* A label put before the figures of every line ("pass 1 of 2 (keys), 4 ranks"); NULL for none. Not copied. */
void cp_progress_set_label(cp_progress *p, const char *label);
/* done_compressed: input bytes consumed so far; bytes, docs: uncompressed bytes and documents processed.
 * Prints when a line is due. */
void cp_progress_update(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
/* Prints a log line now, whatever the interval (cluster mode: when the ranks' figures arrive, and at the end
 * of a pass). */
void cp_progress_print(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
/* Ends the live line (prints its last state and a newline); log lines need nothing. */
void cp_progress_finish(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
void cp_progress_destroy(cp_progress *p);

#endif
