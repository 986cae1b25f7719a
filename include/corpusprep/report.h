/* report: the run report. The ordered step feeds every document to a cp_report, which keeps the figures
 * stats.json lacks (funnel, histograms, per-file counts, throughput samples) and a few example documents per
 * reject reason, picked by the lowest XXH3-64 of their id (ties: position), so the pick does not depend on
 * threads or ranks. OUTDIR/report.html is rendered only from stats.json and OUTDIR/report-examples.json, so
 * `corpusprep report OUTDIR` rebuilds it without rerunning, and the cluster renders from its merged figures.
 * The HTML is one self-contained file: inline CSS, charts as inline SVG written here, no script, no fetch.
 * cp_report_wants_lines is read-only and thread-safe; everything else belongs to the ordered step. */
#ifndef CORPUSPREP_REPORT_H
#define CORPUSPREP_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/doc.h"

#define CP_REPORT_EXAMPLES_FILE "report-examples.json"

typedef struct cp_report cp_report;

cp_report *cp_report_create(void);
void cp_report_destroy(cp_report *r);

/* Whether a document with this id hash may still become a kept example, so that the parallel phase keeps
 * its lines' fates (d->trace). */
int cp_report_wants_lines(const cp_report *r, uint64_t id_hash);
/* The largest id hash cp_report_wants_lines accepts now. It only goes down as documents are added, so a
 * limit taken earlier admits a superset: a parallel phase may test against a copy taken before the ordered
 * step runs beside it. */
uint64_t cp_report_lines_limit(const cp_report *r);
/* Counts one document in input order (d->reject, lengths, language, d->trace). pos orders ties across
 * ranks (CP_POS); file is its input name; dup_of the first document's id (dup_of_len bytes) or NULL. */
void cp_report_add(cp_report *r, const cp_doc *d, uint64_t pos, const char *file, const char *dup_of,
                   size_t dup_of_len, const char *line_dedup_fate);
/* An input file that could not be read to its end (counted as read_errors in per_file). */
void cp_report_file_failed(cp_report *r, const char *file);
/* A throughput sample: seconds since the start, uncompressed bytes and documents so far. */
void cp_report_sample(cp_report *r, double seconds, uint64_t bytes, uint64_t docs);

/* {"funnel", "histograms", "per_file", "throughput"}: the report's figures for stats.json; every number sums
 * key by key across ranks (new reference). */
json_t *cp_report_stats_json(const cp_report *r);
/* {"rejected": {reason: [example, ...]}, "kept": [example, ...]}, each list sorted by (hash, pos). */
json_t *cp_report_examples_json(const cp_report *r);
/* Merges examples b into a (both as above), keeping the lowest (hash, pos) of each list. */
void cp_report_merge_examples(json_t *a, const json_t *b);

/* Checkpoints (checkpoint.h): everything the report has collected, and back into a new cp_report, so that a
 * resumed run reports what an uninterrupted one would. from_json returns 0 or -1 (damaged). */
json_t *cp_report_state_to_json(const cp_report *r);
int cp_report_state_from_json(cp_report *r, const json_t *j);
/* Writes OUTDIR/report-examples.json (when examples is not NULL) and OUTDIR/report.html from the stats.json
 * object and the examples. Returns 0 or -1 with a message. */
int cp_report_write(const char *outdir, const json_t *stats, const json_t *examples, char *err, size_t errlen);
/* `corpusprep report OUTDIR`: reads OUTDIR/stats.json and OUTDIR/report-examples.json (optional) and writes
 * OUTDIR/report.html. Returns 0 or -1 with a message. */
int cp_report_rebuild(const char *outdir, char *err, size_t errlen);
/* The HTML alone, appended to out (for tests). */
void cp_report_html(const json_t *stats, const json_t *examples, cp_buf *out);

#endif
