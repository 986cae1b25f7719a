/* doc: the unit of work. A batch owns a run of consecutive input lines and everything computed from them;
 * the pipeline fills slot i of a batch in parallel and frees the whole batch in one place.
 * Plain data: stages read and write the fields they own, documented below. */
#ifndef CORPUSPREP_DOC_H
#define CORPUSPREP_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/clean.h"
#include "corpusprep/json_scan.h"
#include "corpusprep/langid.h"
#include "corpusprep/stats.h"

/* A top-level member of the record: raw key (without quotes) and raw value in the record line. */
typedef cp_json_member cp_member;

typedef struct {
    /* reader */
    const char *raw;       /* the line (not NUL-terminated) in the batch arena; NULL for line_too_long, and
                              for a record a cluster's spill kept without its text (see line_elided) */
    size_t raw_len;
    uint32_t file;         /* index into the run's file list */
    uint64_t line;         /* 1-based line number in that file */
    uint64_t seq;          /* 0-based position among all documents of the run (input order) */
    int warc;              /* a WARC record (line is then its record number): raw is the record's header
                              fields as a JSON object, and block_len bytes of text follow raw in the arena
                              (see warc.h); for a malformed record raw is its bytes and reject is set */
    size_t block_len;

    /* parse */
    int object;            /* the line is a JSON object: it is written back member by member */
    char *line_fixed;      /* the line with invalid UTF-8 repaired, when it needed it (else NULL) */
    size_t line_utf8_fixes;
    cp_member *members;    /* top-level members of the record, in order */
    uint32_t n_members;
    int text_member;       /* index of the member the text came from */
    char *id;              /* "id" of the record (a string, or an integer written in decimal), else "<file>:<line>";
                              NUL-terminated, but a string id may hold "\u0000": id_len bytes are the id */
    size_t id_len;
    int id_generated;      /* id is "<file>:<line>" */
    const char *url;       /* "url" when a string: into the line, or url_buf when it had escapes; else NULL */
    size_t url_len;
    char *url_buf;         /* the decoded url, when it needed decoding */
    char *parse_error;     /* why the line is not JSON ("column N: reason"), for parse_error rejects */
    const char *line_elided; /* a cluster's second pass (spill.h): the line as the spill keeps it, the text
                                member's value replaced by "" (members point into it; raw is then NULL). The
                                output writes the text member from `text`, so it never needs that value */
    size_t line_elided_len;

    /* normalise + clean */
    char *text;            /* the text every later stage sees, NUL-terminated, valid UTF-8 */
    size_t text_len;
    size_t text_cap;       /* bytes allocated for text, when known (0: text_len + 1) */
    size_t text_in_len;    /* length of the text field as read */
    char *norm_diff;       /* a cluster's collect pass, with the report on: when cleaning changed the text,
                              the normalised text as its difference from the cleaned one (spill.h), so that
                              the second pass can rebuild a report example's trace (NULL: it equals text) */
    size_t norm_diff_len;
    char *norm_text;       /* a cluster's deciding pass: that normalised text, rebuilt before line dedup
                              changes the cleaned text, for a document that may become a report example */
    cp_line_hashes lines;  /* corpus-wide line dedup: the document's lines worth hashing */
    unsigned char *drop;   /* per line of `lines`: removed by line dedup (ordered step), or NULL */

    /* langid */
    cp_lang_result lang;
    int has_lang;

    /* dedup keys (parallel) and decision (ordered step) */
    uint64_t h_exact, h_url;
    int has_url_key;
    uint64_t *bands;       /* near-dup band keys, when near-dup is on */
    uint64_t dup_of;       /* dedup ordinal of the first occurrence; valid when reject is a dup_* */

    /* the verdict: NULL = kept; otherwise a static reason string ("parse_error", "dup_exact", ...) */
    const char *reject;

    /* the run report and --explain (explain.h); the pipeline frees trace in its ordered step */
    size_t norm_len;       /* text bytes after normalisation: what cleaning saw */
    size_t clean_len;      /* text bytes after line cleaning, before corpus-wide line dedup */
    uint64_t id_hash;      /* XXH3-64 of id, when the report or --explain asked for it */
    struct cp_xdoc *trace; /* what happened to this document, when it is explained or a report example */
} cp_doc;

/* A place in the run's input between two lines, where a batch ends and a resumed run starts. */
typedef struct {
    uint64_t file;         /* index of the file the next line comes from */
    uint64_t line;         /* lines of that file already read (0: not opened yet) */
    uint64_t offset;       /* uncompressed bytes of those lines, newlines included */
    uint64_t seq;          /* documents before this place */
    uint64_t batch;        /* batches before this place */
    uint64_t done_compressed; /* compressed bytes of the files before `file` */
} cp_input_pos;

typedef struct {
    uint64_t index;        /* batch number, from 0, in input order */
    cp_doc *docs;
    size_t n, cap;
    char *arena;           /* the lines */
    size_t arena_len, arena_cap;
    uint64_t blank_lines;  /* blank lines skipped while filling it */
    uint64_t bytes_in;     /* uncompressed bytes of the lines, newlines included */
    char **events;         /* input errors that happened while filling it, in order */
    size_t n_events;
    int *event_fatal;      /* 1 when the event means a file was not read completely */
    uint32_t *event_file;  /* the file each event is about */
    cp_counters warc_records; /* WARC records read while filling it, by WARC-Type */
    int last;              /* no batch follows */
    cp_input_pos end;      /* where the input stands after this batch */
    uint64_t read_compressed; /* compressed input bytes read when the batch was taken (progress; cluster spill) */
} cp_batch;

#endif
