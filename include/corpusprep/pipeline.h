/* pipeline: the only place that knows the order of the stages and the threading. */
#ifndef CORPUSPREP_PIPELINE_H
#define CORPUSPREP_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/config.h"
#include "corpusprep/doc.h"
#include "corpusprep/reader.h"
#include "corpusprep/stats.h"

/* Cluster mode. Every dedup decision is "does an earlier document, in global input order, that reached the
 * dedup step carry this key?". A position is CP_POS(global file index, line). Document keys (exact, URL,
 * near) come from each document's cleaned text before corpus-wide line dedup; line keys count only for
 * documents that are not duplicates. So a cluster driver runs two phases with these hooks:
 *   COLLECT_DOCS  hands it every document key and every line key (CP_KEY_LINE) with its position, for every
 *                 document that reaches the dedup step (nothing decided or written); the driver learns which
 *                 documents are duplicates from the document keys and drops their line keys itself;
 *   DECIDE        asks it for every decision (mode "all": it should answer line first() with "seen in >=
 *                 min_docs documents") and writes the output.
 * With no hooks the pipeline decides locally, which gives the same answers for one process.
 * One read: with spill and next_batch set, COLLECT_DOCS hands over every batch as P1 left it, and DECIDE
 * takes its batches back from next_batch instead of reading the input, so the input is read and P1 (parse,
 * normalise, clean, keys, MinHash) runs once. */
#define CP_POS(file, line) (((uint64_t)(file) << 40) | (uint64_t)(line))
enum { CP_KEY_LINE, CP_KEY_EXACT, CP_KEY_URL, CP_KEY_BAND }; /* band keys already mix in the band number */
enum {
    CP_PHASE_LOCAL,         /* decide with local tables (single process) */
    CP_PHASE_COLLECT_DOCS,  /* report document and line keys; nothing decided or written */
    CP_PHASE_DECIDE         /* every decision from hooks; output written */
};
typedef struct {
    int phase;
    void *ctx;
    /* called from the ordered step, in input order, for every key of every document that reaches it */
    void (*collect)(void *ctx, int kind, uint64_t key, uint64_t pos);
    /* collect phase for documents: the id (len bytes) of each document that reaches the dedup step */
    void (*collect_id)(void *ctx, uint64_t pos, const char *id, size_t len);
    /* decide: returns 1 and sets *first when a document before pos carries key, else 0 */
    int (*first)(void *ctx, int kind, uint64_t key, uint64_t pos, uint64_t *first);
    /* decide: id of the document at pos (for "dup_of") and *len, or NULL */
    const char *(*id_of)(void *ctx, uint64_t pos, size_t *len);
    /* collect (optional): each batch after P1 and S1, in input order, documents as P1 left them (the
     * reject of P1 or NULL, cleaned text, line hashes). Returns 0, or -1 with a message (the run stops). */
    int (*spill)(void *ctx, const cp_batch *b, char *err, size_t errlen);
    /* decide (optional): the batches spill received, in order, instead of the input: 1 and *b set, 0 at the
     * end, -1 with a message. The pipeline owns *b (cp_doc_release of each document, then cp_batch_free). */
    int (*next_batch)(void *ctx, cp_batch **b, char *err, size_t errlen);
} cp_cluster_hooks;

typedef struct {
    const cp_config *cfg;
    char *const *files;       /* from cp_inputs_expand */
    size_t nfiles;
    const char *outdir;       /* prepared with cp_output_prepare */
    int rank;                 /* shard names part-<rank>-<seq>; 0 outside cluster mode */
    int quiet, verbose;       /* -q: errors only; -v: every per-document warning */
    volatile sig_atomic_t *interrupted; /* set by a signal handler; checked between batches */
    const uint32_t *file_index; /* global index of each file (cluster mode); NULL = 0, 1, 2, ... */
    const cp_cluster_hooks *hooks; /* NULL outside cluster mode */
    const cp_reader_range *file_ranges; /* cluster: the part of each file this rank reads (split.h); NULL: all */
    int no_stats_file;        /* do not write OUTDIR/stats.json nor print the summary (the caller merges) */
    /* the run report, --explain and progress (report.h, explain.h, progress.h) */
    int no_report;            /* no OUTDIR/report.html (nor its figures in stats.json) */
    const char *explain;      /* --explain SPEC (checked by the caller with cp_explain_create), or NULL */
    double progress_every;    /* 0: the default (live line on a terminal, else a log line every 60 s; none with
                               * quiet); > 0: a log line every so many seconds, even with quiet; < 0: none */
    const char *version;      /* shown in the report, and part of the checkpoint's fingerprint */
    const char *preset;       /* -c as given, shown in the report; NULL: the default preset */
    /* cluster: called by the thread that runs the batches (the one that called cp_pipeline_run), after every
     * batch, with the run's figures so far: compressed input bytes read, uncompressed bytes and documents
     * processed. The cluster's job-wide progress lines come from these. NULL: none. */
    void (*on_batch)(void *ctx, uint64_t done_compressed, uint64_t bytes, uint64_t docs);
    void *on_batch_ctx;
    /* checkpoints (checkpoint.h; not in cluster mode, not with standard input or a pipe): with checkpoints
     * set, one on SIGINT/SIGTERM, one after every checkpoint_bytes of uncompressed input and one after
     * every checkpoint_seconds (0: not by that measure) */
    int checkpoints;
    uint64_t checkpoint_bytes;
    double checkpoint_seconds;
    int resume;               /* go on from OUTDIR's newest checkpoint (OUTDIR is not prepared) */
} cp_pipeline_opts;

/* Runs the whole job: reads every file, processes, writes shards and OUTDIR/stats.json, prints the summary,
 * and unless no_report writes OUTDIR/report.html and OUTDIR/report-examples.json (with no_stats_file the
 * report's figures and examples stay in st->extra, "report_examples" included, for the caller to merge);
 * with explain, OUTDIR/explain.jsonl.
 * Returns 0 when every input was read completely and all output written; 1 when some input could not be
 * read to its end (the rest of the run went on; named on stderr, counted in stats.json); -1 when the run
 * had to stop (output could not be written, stage set-up failed; message in err, temporary files removed);
 * -2 for a configuration that cannot work with these inputs, or a --resume that cannot go on (message in
 * err); 130 when interrupted (with checkpoints: a checkpoint written and the .tmp files kept for --resume;
 * without: temporary files removed; no stats.json either way). A finished run removes its checkpoints. */
int cp_pipeline_run(const cp_pipeline_opts *o, cp_stats *st, char *err, size_t errlen);

#endif
