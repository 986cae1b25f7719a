/* parse: one JSONL line in, one record with its text out; and the way back, a record out as a JSON line.
 * Pure per document and thread-safe. The line is checked and split by json_scan (no jansson). */
#ifndef CORPUSPREP_PARSE_H
#define CORPUSPREP_PARSE_H

#include "corpusprep/doc.h"
#include "corpusprep/util.h"

/* Parses d->raw as one JSON text (json_scan.h says exactly what is accepted). A line that fails and holds
 * invalid UTF-8 or raw NUL bytes is repaired (U+FFFD, NULs dropped) and tried again, so that one bad byte
 * does not cost the whole record. On success sets d->object, members, text (the first of text_fields that
 * is a string, in the last member of that name; not yet normalised, a copy), id, url, and returns 0.
 * Otherwise sets d->reject to "parse_error" (not JSON; d->parse_error says where and why, in ASCII),
 * "not_object" (d->object stays 0) or "no_text" and returns -1.
 * file_name is used to make "<file>:<line>" ids. */
int cp_parse_doc(cp_doc *d, char *const *text_fields, size_t n_text_fields, const char *file_name);

/* Appends to out the output line of d: the input record with every member kept byte for byte, except that the text member
 * becomes "text" with d->text, and "lang", "lang_score", "lang_script" (when the model names a script), "id" (when absent), "reject_reason" and "dup_of"
 * (for rejects) are set. Lines that did not parse become
 * {"reject_reason":"parse_error","source":"<file>:<line>","error":...,"raw":"<the line>"}.
 * dup_of_id (dup_of_len bytes) is the id of the first occurrence for dup_* rejects, else NULL. */
void cp_emit_doc(const cp_doc *d, const char *file_name, const char *dup_of_id, size_t dup_of_len, cp_buf *out);

/* Shared by the output formats (this file's cp_emit_doc, dolma.c), which splice the record from its bytes:
 * the line d's members point into (a cluster's spilled line when the spill elided the text, else the
 * repaired copy when parse made one, else d->raw) and its length. */
const char *cp_doc_line(const cp_doc *d, size_t *len);

/* Does member m's key, decoded, equal name[0..nl)? line is the one m was scanned from (cp_doc_line). */
int cp_member_key_is(const char *line, const cp_member *m, const char *name, size_t nl);

/* Appends member m of line to out as written, "key":value byte for byte, preceded by a comma unless *first
 * (which it then clears). */
void cp_member_copy(cp_buf *out, const char *line, const cp_member *m, int *first);

/* Frees what parse and emit allocated in d (not d->raw, which the batch owns). */
void cp_doc_release(cp_doc *d);

#endif
