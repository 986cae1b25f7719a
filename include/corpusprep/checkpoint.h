/* checkpoint: the state a run needs to go on after it was killed, written to OUTDIR/_checkpoint/ and read
 * back by --resume, so that the resumed run writes exactly the bytes an uninterrupted run would.
 * A checkpoint is taken between two batches. It holds the input position, the dedup tables, the counters,
 * each open shard's .tmp name and the length flushed and fsync'd (shards are series of independent gzip
 * members / zstd frames, so a prefix at a chunk boundary is valid), and a fingerprint of what must not
 * change between the runs. Used by the ordered step only: nothing here is thread-safe. */
#ifndef CORPUSPREP_CHECKPOINT_H
#define CORPUSPREP_CHECKPOINT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/clean.h"
#include "corpusprep/dedup.h"
#include "corpusprep/doc.h"
#include "corpusprep/minhash.h"
#include "corpusprep/normalize.h"
#include "corpusprep/stats.h"
#include "corpusprep/util.h"
#include "corpusprep/writer.h"

#define CP_CHECKPOINT_DIR "_checkpoint" /* below OUTDIR; files ckpt-NNNNNN, the newest two are kept */

/* Byte streams of a checkpoint file, for the tables' own save and load functions (cp_keymap_save...).
 * Data is in host byte order: a checkpoint is only read by the build that wrote it (see the fingerprint). */
typedef struct cp_ckpt_out cp_ckpt_out;
typedef struct cp_ckpt_in cp_ckpt_in;
/* Appends n bytes. Returns 0, or -1 once any write failed (the error is kept and reported by the save). */
int cp_ckpt_put(cp_ckpt_out *o, const void *p, size_t n);
/* Reads exactly n bytes. Returns 0, or -1 when the file ends first (the load reports it as damaged). */
int cp_ckpt_get(cp_ckpt_in *in, void *p, size_t n);

/* Everything a resumed run takes from a checkpoint. On save the pipeline lends its tables and counters
 * (nothing is taken over); cp_checkpoint_load fills a zeroed struct with new tables that the caller owns. */
typedef struct {
    int pass;                  /* 1: the counting pass of line-dedup mode "all"; 2: the deciding pass */
    cp_input_pos pos;          /* the input position after the last batch processed */
    uint64_t input_bytes;      /* uncompressed input bytes processed by the run so far (both passes) */
    cp_keymap *exact, *url, *lines; /* NULL when unused */
    cp_lsh *lsh;               /* NULL when near-dup is off or no batch of this pass ran yet */
    cp_buf ids;                /* ids of documents that reached the dedup step (for "dup_of"), NUL-separated */
    uint64_t *id_off;          /* offset of each id in ids */
    size_t n_ids, n_id_off, cap_ids; /* documents that reached dedup; ids stored; id_off's capacity */
    uint64_t *near_of;         /* for the near-duplicate cluster histogram */
    size_t n_near;
    uint64_t line_drops, line_drop_bytes, first_batch_compressed, messages[8];
    int failed_input;
    char dolma_added[40];
    json_t *report;            /* the run report's state (cp_report_state_to_json), or NULL */      /* the date --format dolma writes: the first run's, when it was not given */
    /* per-thread counters summed over the threads (their sum does not depend on the schedule) */
    cp_clean_stats clean;
    cp_norm_counts nc;
    uint64_t line_utf8_fixes;
    double stage_seconds[CP_T_N];
} cp_ckpt_state;

/* What a resumed run must share with the interrupted one: the effective configuration without the
 * settings that cannot change the output (run.threads), every input's path, size and mtime, and the
 * corpusprep version and build (a hash of the running executable; the environment variable
 * CP_TEST_BUILD_ID replaces it, for tests only). Returns a new object. */
json_t *cp_ckpt_fingerprint(const json_t *config, char *const *files, size_t nfiles, const char *version);

typedef struct cp_checkpointer cp_checkpointer;
/* For OUTDIR; fingerprint is stolen. Checkpoints are numbered after the newest present. */
cp_checkpointer *cp_checkpointer_create(const char *outdir, json_t *fingerprint);
void cp_checkpointer_destroy(cp_checkpointer *c);

/* Writes a checkpoint of s, st and w: the writer's open shards are flushed and fsync'd first, then the file
 * is written as ckpt-N.tmp, fsync'd, renamed to ckpt-N, and the folder fsync'd; then checkpoints older than
 * the previous complete one are removed. Returns 0, or -1 with a message (the previous checkpoint stays). */
int cp_checkpoint_save(cp_checkpointer *c, const cp_ckpt_state *s, const cp_stats *st, cp_writer *w,
                       char *err, size_t errlen);

/* Loads the newest checkpoint of OUTDIR whose checksum holds (a damaged one is named in a warning on
 * stderr and the next older one tried), checks its fingerprint against the one given, restores *st and the
 * writer's shards (see cp_writer_resume), and fills *s. Returns 0; -2 when there is nothing to resume or
 * the fingerprint differs (err says what differs); -1 on an I/O error. */
int cp_checkpoint_load(cp_checkpointer *c, cp_ckpt_state *s, cp_stats *st, cp_writer *w, int quiet,
                       char *err, size_t errlen);
/* Frees what a load filled in. */
void cp_ckpt_state_free(cp_ckpt_state *s);

/* Removes OUTDIR/_checkpoint and its files (the run finished, or --force). Returns 0 or -1. */
int cp_checkpoint_remove_all(const char *outdir);

/* Test-only: when the environment variable CP_TEST_KILL_AT is "<event>:<n>", the n-th call with that
 * event raises SIGKILL. Events: batch (after a batch is written), ckpt-write (halfway through writing a
 * checkpoint), ckpt-done (a checkpoint renamed, older ones not yet removed), shard-rename (a shard renamed
 * to its final name), spill-batch (cluster mode: before each batch its deciding pass reads from the spill).
 * Unset, it costs one comparison. */
void cp_test_kill_point(const char *event);

#endif
