/* pipeline: the only place that knows the order of the stages and the threading. */
#ifndef CORPUSPREP_PIPELINE_H
#define CORPUSPREP_PIPELINE_H

#include <signal.h>
#include <stddef.h>

#include "corpusprep/config.h"
#include "corpusprep/stats.h"

typedef struct {
    const cp_config *cfg;
    char *const *files;       /* from cp_inputs_expand */
    size_t nfiles;
    const char *outdir;       /* prepared with cp_output_prepare */
    int rank;                 /* shard names part-<rank>-<seq>; 0 outside cluster mode */
    int quiet, verbose;       /* -q: errors only; -v: every per-document warning */
    volatile sig_atomic_t *interrupted; /* set by a signal handler; checked between batches */
} cp_pipeline_opts;

/* Runs the whole job: reads every file, processes, writes shards and OUTDIR/stats.json, prints the summary.
 * Returns 0 when every input was read completely and all output written; 1 when some input could not be
 * read to its end (the rest of the run went on; named on stderr, counted in stats.json); -1 when the run
 * had to stop (output could not be written, stage set-up failed; message in err, temporary files removed);
 * 130 when interrupted (temporary files removed, no stats.json). */
int cp_pipeline_run(const cp_pipeline_opts *o, cp_stats *st, char *err, size_t errlen);

#endif
