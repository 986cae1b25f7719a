/* feeder: the input side of the pipeline. A reader thread opens the run's files in order and cuts their lines
 * (or WARC records) into numbered batches (doc.h) of about cfg->batch_bytes, keeping at most a few ready batches
 * ahead: that bound is the back-pressure that limits memory. The pipeline's thread takes them in order.
 * Thread safety: cp_feeder_next, cp_feeder_stop and cp_feeder_join are called by one thread (the one that
 * runs the batches); cp_feeder_progress_bytes by any thread. */
#ifndef CORPUSPREP_FEEDER_H
#define CORPUSPREP_FEEDER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/config.h"
#include "corpusprep/doc.h"
#include "corpusprep/reader.h"

typedef struct cp_feeder cp_feeder;

typedef struct {
    const cp_config *cfg;     /* batch_bytes, max_line_bytes; must outlive the feeder */
    char *const *files;       /* the run's files (cp_inputs_expand); must outlive the feeder */
    size_t nfiles;
    const cp_reader_range *ranges; /* the part of each file to read (cluster mode, split.h), or NULL: whole files */
    /* Where to begin: all zero for the start of the input; a checkpoint's position to resume (the file it
     * names is re-read up to start.line and start.offset, which must match, else a fatal batch event). */
    cp_input_pos start;
    /* 1: read a batch only when cp_feeder_next asks, so that reading and processing take turns (-t 1 means
     * one core); 0: read ahead, overlapping with the processing. */
    int serial;
} cp_feeder_opts;

/* Starts the reader thread. Returns NULL (message in err) when the thread cannot start. */
cp_feeder *cp_feeder_start(const cp_feeder_opts *o, char *err, size_t errlen);

/* The next batch in input order; the caller owns it (cp_batch_free). The batch with last set is the final
 * one. Returns NULL when *interrupted became nonzero while waiting (interrupted may be NULL). */
cp_batch *cp_feeder_next(cp_feeder *f, volatile sig_atomic_t *interrupted);

/* Compressed input bytes consumed so far (files closed plus the open file's progress), for progress lines. */
uint64_t cp_feeder_progress_bytes(cp_feeder *f);

/* Asks the reader thread to end early and frees the batches it has queued. */
void cp_feeder_stop(cp_feeder *f);

/* Waits for the reader thread to end: after the last batch was taken, or after cp_feeder_stop. With
 * timeout_seconds > 0 a thread still blocked after that long (in read() on a quiet pipe) is cancelled. */
void cp_feeder_join(cp_feeder *f, double timeout_seconds);

/* After cp_feeder_join: thread CPU seconds spent reading and cutting batches, and compressed bytes of the
 * files read to their end. */
double cp_feeder_read_seconds(const cp_feeder *f);
uint64_t cp_feeder_done_compressed(const cp_feeder *f);

/* Frees the feeder (after cp_feeder_join). */
void cp_feeder_destroy(cp_feeder *f);

/* Frees a batch and everything it owns that the pipeline did not take over (events, WARC counts, arena). */
void cp_batch_free(cp_batch *b);

#endif
