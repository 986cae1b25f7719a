/* filter: document-level quality filters run after langid (Gopher quality and repetition, C4 document
 * rules, FineWeb quality), with per-language thresholds (configs/lang/<code>.json, FineWeb-2 style) and
 * per-language stop words. A cp_filter is read-only after create: any number of threads may call
 * cp_filter_doc at once, each with its own cp_filter_scratch. */
#ifndef CORPUSPREP_FILTER_H
#define CORPUSPREP_FILTER_H

#include <stddef.h>
#include <jansson.h>

typedef struct cp_filter cp_filter;
typedef struct cp_filter_scratch cp_filter_scratch;

/* Builds the filters from the "filter" section (NULL = every filter off). Language files and stop-word
 * lists named in it are read with cp_config_read. Returns NULL and a message in err on a bad section. */
cp_filter *cp_filter_create(const json_t *filter_section, char *err, size_t errlen);
void cp_filter_destroy(cp_filter *f);
/* The effective settings, per language included, as a new JSON object (caller owns it). */
json_t *cp_filter_to_json(const cp_filter *f);

cp_filter_scratch *cp_filter_scratch_create(void);
void cp_filter_scratch_destroy(cp_filter_scratch *s);

/* Judges text[0..len) (cleaned, valid UTF-8) in language lang (ISO 639-1 or "und"; NULL = "und").
 * Returns NULL to keep the document, or a static reason naming the rule ("gopher_quality:word_count",
 * "gopher_rep:dup_line_frac", "c4:min_sentences", "fineweb:line_punct_ratio", ...). */
const char *cp_filter_doc(const cp_filter *f, const char *text, size_t len, const char *lang,
                          cp_filter_scratch *s);

/* ---- explaining (--explain): every rule's measured value for one document ---- */
typedef struct {
    const char *rule;       /* one of cp_filter_reasons() */
    double value;           /* what the document measures */
    double min, max;        /* the rule fails below min or above max; NAN where there is no such bound */
    int pass;
} cp_filter_check;
typedef struct {
    cp_filter_check *v;
    size_t n, cap;
} cp_filter_trace; /* zero-initialise; free(v) when done */

/* cp_filter_doc that goes on past the first failing rule and records every rule that applies to the
 * document's language, in order, in trace (reset first). Returns what cp_filter_doc returns (the first
 * failing rule). Slower (no early exits); for the few documents that are explained. */
const char *cp_filter_doc_traced(const cp_filter *f, const char *text, size_t len, const char *lang,
                                 cp_filter_scratch *s, cp_filter_trace *trace);

/* Every reason cp_filter_doc can return, NULL-terminated (to list rules with zero counts in stats). */
const char *const *cp_filter_reasons(void);

#endif
