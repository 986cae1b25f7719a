/* stats: the run's counters, updated only by the ordered step (and merged per-thread timings), written
 * as OUTDIR/stats.json and summarised on stderr. Not thread-safe by design. */
#ifndef CORPUSPREP_STATS_H
#define CORPUSPREP_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Stages whose time is measured, in pipeline order. */
enum {
    CP_T_READ, CP_T_PARSE, CP_T_NORMALIZE, CP_T_CLEAN, CP_T_LANGID, CP_T_FILTER, CP_T_DEDUP_KEYS,
    CP_T_MINHASH, CP_T_DEDUP_COMMIT, CP_T_EMIT, CP_T_COMPRESS, CP_T_WRITE, CP_T_N
};

typedef struct cp_counter {
    char *name;
    uint64_t docs, chars;
} cp_counter;

typedef struct {
    cp_counter *items;
    size_t n, cap;
} cp_counters;

typedef struct {
    uint64_t files, files_failed, docs_in, docs_kept, blank_lines, lines_too_long;
    uint64_t bytes_in_compressed, bytes_in, bytes_out, shards;
    uint64_t text_chars_in, text_chars_out;  /* bytes of text before normalisation, and in kept output */
    uint64_t utf8_fixed, controls_removed, nfc_changed;
    uint64_t line_dedup_distinct, line_dedup_table_bytes; /* corpus-wide line dedup table */
    cp_counters rejected;   /* reason -> documents, and text bytes they carried */
    cp_counters langs;      /* language -> kept documents, text bytes */
    cp_counters rules;      /* cleaning rule -> lines removed (docs), bytes removed (chars) */
    cp_counters warc_records; /* WARC-Type -> records read (docs) */
    double stage_seconds[CP_T_N];
    double wall_seconds, cpu_user, cpu_sys;
    long peak_rss_kb;
    json_t *extra;          /* stage-specific figures (near-dup memory, line-dedup table...), may be NULL */
} cp_stats;

void cp_counters_add(cp_counters *c, const char *name, uint64_t docs, uint64_t chars);
uint64_t cp_counters_total(const cp_counters *c);
/* Frees the counters' memory (and zeroes c). */
void cp_counters_free(cp_counters *c);
void cp_stats_free(cp_stats *s);
extern const char *const cp_stage_names[CP_T_N];

/* Fills wall time, CPU time and peak RSS from the process (call at the end). */
void cp_stats_finish(cp_stats *s, double wall_seconds);
/* The stats.json object (new reference). */
json_t *cp_stats_to_json(const cp_stats *s);
/* The counters as a checkpoint keeps them (checkpoint.h), and back: every accumulated field, counters in
 * their order, stage timings. from_json returns 0 or -1 with a message. */
json_t *cp_stats_state_to_json(const cp_stats *s);
int cp_stats_state_from_json(cp_stats *s, const json_t *j, char *err, size_t errlen);
/* Prints the human summary to stderr. */
void cp_stats_print(const cp_stats *s);

#endif
