/* warc: WARC records (Common Crawl's WET and WARC files) read from a cp_reader, so that gzip (one member per
 * record), zstd and plain files look the same; and the step that turns a record's bytes into a document.
 * A cp_warc is used by one thread at a time (the feeder); cp_warc_parse_doc is pure per document. */
#ifndef CORPUSPREP_WARC_H
#define CORPUSPREP_WARC_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/doc.h"
#include "corpusprep/reader.h"

typedef struct cp_warc cp_warc;

/* 1 when a file whose first line (as cp_reader_getline returns it) is line[0..len) is WARC: "WARC/1.". */
int cp_warc_is_start(const char *line, size_t len);

/* Reads WARC records from r, whose first line, already read, was first[0..first_len) (copied). name is used
 * in messages; a record block larger than max_record_bytes is counted, not stored. The reader stays owned by
 * the caller and must outlive the cp_warc. */
cp_warc *cp_warc_create(cp_reader *r, const char *name, const char *first, size_t first_len,
                        size_t max_record_bytes);
void cp_warc_destroy(cp_warc *w);

enum {
    CP_WARC_DOC = 1, /* a conversion record: a document */
    CP_WARC_SKIP,    /* another record type, counted and skipped */
    CP_WARC_BAD      /* a malformed record: a rejected document */
};

/* One record. Pointers stay valid until the next call of cp_warc_next. */
typedef struct {
    int kind;
    uint64_t record_no;  /* 1-based number of the record in the file */
    uint64_t offset;     /* byte offset of the record's first line in the decompressed stream */
    uint64_t bytes;      /* decompressed bytes read since the previous record (blank lines before this one
                            included); also set when cp_warc_next returns 0 or -1 (blank lines at the end) */
    const char *type;    /* WARC-Type as written (SKIP, DOC); "" when absent */
    /* DOC: the header fields as a JSON object {"id":…,"url":…,"date":…,"cc_lang":…,"text":""} whose text
     * member is a placeholder, ready to become the document's raw record (see cp_warc_parse_doc) */
    const char *meta;
    size_t meta_len;
    /* DOC: the block (Content-Length bytes, the text); BAD: the bytes read of the record, up to
     * max_record_bytes (block NULL when it was longer) */
    const char *block;
    size_t block_len;
    /* BAD: the reject reason (warc_bad_header, warc_bad_length, warc_truncated, warc_too_long), a message
     * "record N at byte X: why", and fatal = 1 when the file could not be read to its end */
    const char *reject;
    const char *message;
    int fatal;
} cp_warc_record;

/* Reads the next record. Returns 1 with *rec filled, 0 at the end of the input, or -1 when the reader failed
 * between records (cp_reader_error says why). A reader failure inside a record is reported once, as that
 * record (CP_WARC_BAD, warc_truncated, fatal, the reader's message included); the next call returns 0.
 * Blank lines between records are skipped; CRLF and LF line ends are both accepted. A malformed record
 * (its first line not "WARC/1.", a missing or non-numeric Content-Length) is read up to the next line that
 * starts with "WARC/1.", where reading goes on. */
int cp_warc_next(cp_warc *w, cp_warc_record *rec);

/* Makes a document of a WARC record that the feeder put into a batch: d->raw is the record's meta object
 * and d->block_len bytes of block follow it in the arena (d->warc set). Sets what cp_parse_doc sets (json,
 * members, text with invalid UTF-8 repaired and NUL bytes dropped, id, url; file_name for the id of a
 * record without WARC-Record-ID, "<file>:<record>") and returns 0. For a record
 * the feeder already rejected (a malformed record), repairs the bytes kept for --keep-rejected and returns
 * -1. Pure per document, thread-safe. */
int cp_warc_parse_doc(cp_doc *d, const char *file_name);

#endif
