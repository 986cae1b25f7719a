/* clean: line-level cleaning of one document (C4 line rules, news boilerplate, repeated short lines) and
 * the per-document half of corpus-wide line dedup (CCNet): line hashes and removal of a chosen set of lines.
 * A cp_cleaner is built once from the config's "clean" section and is read-only afterwards, so any number
 * of threads may use it at once, each with its own cp_clean_scratch. */
#ifndef CORPUSPREP_CLEAN_H
#define CORPUSPREP_CLEAN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "corpusprep/util.h"

typedef struct cp_cleaner cp_cleaner;
typedef struct cp_clean_scratch cp_clean_scratch;

/* Line rules, in the order they are tried; a removed line is charged to the first rule that fires.
 * cp_clean_rule_name gives the stable name used in stats ("c4:javascript", "boilerplate:tail", ...). */
enum {
    CP_CLEAN_BP_TAIL,        /* "boilerplate:tail": a tail marker ("More Stories") and the link list after it
                              * (up to the next body-like line), or everything after a comments marker */
    CP_CLEAN_DOC_REPEAT,     /* "doc_repeat_line": short line seen more than once in the document */
    CP_CLEAN_LONG_WORD,      /* "c4:long_word" */
    CP_CLEAN_JAVASCRIPT,     /* "c4:javascript" */
    CP_CLEAN_POLICY,         /* "c4:policy" */
    CP_CLEAN_BP_LINE,        /* "boilerplate:line": whole-line boilerplate ("Advertisement", "Delen") */
    CP_CLEAN_BP_BANNER,      /* "boilerplate:banner": short line holding a banner phrase */
    CP_CLEAN_BP_CAPTION,     /* "boilerplate:caption": photo caption / credit line */
    CP_CLEAN_BP_MARKER,      /* "boilerplate:marker": "read more" line, or only the marker when glued */
    CP_CLEAN_CITATION,       /* "c4:citation": "[1]", "[edit]" stripped (chars only, lines stay) */
    CP_CLEAN_MIN_WORDS,      /* "c4:min_words" */
    CP_CLEAN_TERMINAL_PUNCT, /* "c4:terminal_punct" */
    CP_CLEAN_GLUED_TEASER,   /* "boilerplate:glued_teaser": a Title Case headline glued to its lede ("...Student-AthleteA
                              * 24-year-old woman ..."), a teaser of another article */
    CP_CLEAN_ISOLATED,       /* "isolated_line": a kept line with at least min_gap removed lines on both sides
                              * (jusText's context rule), after every other rule */
    CP_CLEAN_NRULES
};

/* Per-document counters; the caller sums them (cp_clean_stats_add) in its ordered step. */
typedef struct {
    size_t lines[CP_CLEAN_NRULES];
    size_t chars[CP_CLEAN_NRULES]; /* bytes removed, newline included for whole lines */
} cp_clean_stats;

const char *cp_clean_rule_name(int rule);
void cp_clean_stats_add(cp_clean_stats *sum, const cp_clean_stats *doc);

/* Builds a cleaner from the "clean" section (NULL = every rule off). Boilerplate lists named in the
 * section are read with cp_config_read. Returns NULL and a message in err on a bad section. */
cp_cleaner *cp_cleaner_create(const json_t *clean_section, char *err, size_t errlen);
void cp_cleaner_destroy(cp_cleaner *c);
/* The effective settings as a new JSON object (caller owns it), for --print-config. */
json_t *cp_cleaner_to_json(const cp_cleaner *c);

cp_clean_scratch *cp_clean_scratch_create(void);
void cp_clean_scratch_destroy(cp_clean_scratch *s);

/* Cleans text[0..len) (valid UTF-8, LF line ends, NFC) into out (reset first). Returns NULL when the
 * document stays (out may be empty), or a static reason ("c4:lorem_ipsum") when the whole document is
 * rejected. stats (may be NULL) is overwritten with this document's counters. */
const char *cp_clean_doc(const cp_cleaner *c, const char *text, size_t len, cp_clean_scratch *s,
                         cp_buf *out, cp_clean_stats *stats);

/* ---- explaining (--explain, the report's examples): what cp_clean_doc just did, line by line ---- */
typedef struct {
    uint32_t start, len;  /* the line in the text given to cp_clean_doc, without its newline */
    int rule;             /* the CP_CLEAN_* rule that removed it, or -1 when kept (and for blank lines) */
    int blank;            /* only spaces: not a line of the output either way */
    int edited;           /* kept, but shortened: the rule that cut it (CP_CLEAN_BP_MARKER for a glued "read
                           * more" at its end, CP_CLEAN_CITATION for citation marks), else -1 */
    uint32_t kept_len;    /* kept: bytes of it in the output */
    uint32_t out_start;   /* kept: its offset in cp_clean_doc's output */
} cp_clean_fate;
/* After cp_clean_doc returned NULL with scratch s (text: what it cleaned): stores the fate of every line of text in *out
 * (grown with realloc; *cap its capacity) and returns the number of lines. Only reads s, so the normal path
 * pays nothing for it. */
size_t cp_clean_fates(const cp_clean_scratch *s, const char *text, cp_clean_fate **out, size_t *cap);

/* ---- corpus-wide line dedup, per-document parts ---- */
enum { CP_LINE_DEDUP_OFF, CP_LINE_DEDUP_FIRST, CP_LINE_DEDUP_ALL };
typedef struct {
    int mode;              /* CP_LINE_DEDUP_* */
    unsigned min_docs;     /* mode all: a line in >= min_docs documents is removed everywhere */
    size_t min_chars;      /* lines whose normalised form is shorter are not hashed (never removed) */
} cp_line_dedup_params;
const cp_line_dedup_params *cp_cleaner_line_dedup(const cp_cleaner *c);

/* One line of a document: XXH3-64 of its dedup normalisation (lowercase, digits -> 0, punctuation
 * removed, whitespace collapsed) and where it is in the text. */
typedef struct {
    uint64_t hash;
    uint32_t start, len; /* byte range of the line in the text, without its newline */
} cp_line_hash;
typedef struct {
    cp_line_hash *v;
    size_t n, cap;
} cp_line_hashes; /* zero-initialise; cp_line_hashes_free releases */
void cp_line_hashes_free(cp_line_hashes *h);

/* Fills out (reset first) with the lines of text[0..len) long enough to matter (min_chars), in order. */
void cp_clean_hash_lines(const cp_cleaner *c, const char *text, size_t len, cp_clean_scratch *s,
                         cp_line_hashes *out);

/* Writes text without the lines lines->v[i] for which drop[i] != 0 into out (reset first), leaving no
 * leading, trailing or doubled blank lines. Returns the number of bytes removed from text. */
size_t cp_clean_drop_lines(const char *text, size_t len, const cp_line_hashes *lines,
                           const unsigned char *drop, cp_buf *out);

#endif
