/* explain: why each line and document went (--explain SPEC, and the line-by-line examples of the report).
 * A document picked for explaining carries a cp_xdoc from the parallel phases (the normalised text, each
 * line's fate from cleaning, every filter's value and threshold, the language candidates) to the ordered step,
 * which adds the decision and turns it into one line of OUTDIR/explain.jsonl. Picking is deterministic:
 *   N                the N documents with the lowest XXH3-64 of their id (ties: input order);
 *   id:A,B,...       the documents with these ids;
 *   line:FILE:LINE   the document on that line of that input file (as named on the command line).
 * cp_explain_wants is read-only and thread-safe; everything else belongs to the ordered step. */
#ifndef CORPUSPREP_EXPLAIN_H
#define CORPUSPREP_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/clean.h"
#include "corpusprep/doc.h"
#include "corpusprep/filter.h"
#include "corpusprep/langid.h"

typedef struct cp_xdoc {
    int full;                 /* an --explain record (else only the lines, for a report example) */
    char *norm;               /* the normalised text */
    size_t norm_len;
    cp_clean_fate *fates;     /* one per line of norm; NULL when cleaning did not run */
    size_t nfates, cap_fates;
    const char *clean_reject; /* cleaning rejected the whole document ("c4:lorem_ipsum") */
    int filtered;             /* the filters ran (trace valid) */
    cp_filter_trace trace;
    const char *filter_reason;
    cp_lang_candidate cand[3];
    int ncand;
    size_t sample_len;        /* bytes of the cleaned text langid looked at */
    char *sample;
} cp_xdoc;

cp_xdoc *cp_xdoc_create(int full, const char *norm, size_t norm_len);
void cp_xdoc_free(cp_xdoc *x);

/* The lines of the normalised text with their fates, as [{"n": 1, "text": ..., "fate": "kept" | rule}], where
 * the rules are cleaning's (clean.h names), "<mode name>" for corpus-wide line dedup (line_dedup_fate, e.g.
 * "line_dedup:first") and "blank". d supplies the line dedup decisions (d->lines, d->drop). max_line_bytes > 0
 * cuts each line's text (on a character boundary, "…" added). New reference. */
json_t *cp_xdoc_lines(const cp_xdoc *x, const cp_doc *d, const char *line_dedup_fate, size_t max_line_bytes);

typedef struct cp_explain cp_explain;

/* Parses SPEC; NULL and a message in err when it is not one of the forms above. */
cp_explain *cp_explain_create(const char *spec, char *err, size_t errlen);
void cp_explain_destroy(cp_explain *e);
/* Whether the document (after parse) is to be explained. id (a C string here); id_hash: XXH3-64 of id.
 * Thread-safe: it only reads what the ordered step last changed (the N-th lowest hash so far, which only
 * falls; a document that ends among the N lowest was below it all along). */
int cp_explain_wants(const cp_explain *e, const char *id, const char *file, uint64_t line, uint64_t id_hash);
/* The same with the hash limit given: cp_explain_limit's value now or earlier (an earlier one admits a
 * superset, and cp_explain_add keeps the same records), so a parallel phase may test against a copy taken
 * before the ordered step runs beside it. */
uint64_t cp_explain_limit(const cp_explain *e);
/* Here id is id_len bytes (a "\u0000" in an id does not end it). */
int cp_explain_wants_limited(const cp_explain *e, const char *id, size_t id_len, const char *file, uint64_t line,
                             uint64_t id_hash, uint64_t limit);
/* Ordered step: the document's record (decision, dup_of id of dup_of_len bytes or NULL, source file name) joins
 * the set. */
void cp_explain_add(cp_explain *e, const cp_doc *d, const char *file, const char *dup_of, size_t dup_of_len,
                    const char *line_dedup_fate);
/* Writes OUTDIR/explain.jsonl (records in input order), atomically. Returns 0 or -1 with a message. */
int cp_explain_write(const cp_explain *e, const char *outdir, char *err, size_t errlen);
/* Records kept so far. */
size_t cp_explain_count(const cp_explain *e);

#endif
