/* spill: a cluster rank's batches after the per-document work (parse, normalise, clean, line hashes), kept on
 * rank-local scratch between the two passes of cluster mode, so that the second pass reads them instead of
 * the input. One spill file per rank, written and read in input order by one thread.
 *
 * Format (host byte order; the file never leaves the machine or the job): a header (magic, version, byte-order
 * mark, the writer's fingerprint), then one block per batch (length, uncompressed length, XXH3-64 of the
 * frame, one zstd frame), then an end block with the number of batches and documents. A reader refuses a bad
 * header, another format version, a block whose checksum or length does not match, and a file without its
 * end block: a damaged, cut or older spill is an error, never used.
 *
 * What a document keeps is what the second pass reads: a JSON record's line without its text member's value
 * (the output writes that member from the cleaned text), the cleaned text, and, with the report on, the
 * normalised text as its difference from the cleaned one (the report's examples show it line by line); a
 * record that did not parse, or a WARC record, keeps its bytes. */
#ifndef CORPUSPREP_SPILL_H
#define CORPUSPREP_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/doc.h"
#include "corpusprep/util.h"

typedef struct cp_spill_writer cp_spill_writer;
typedef struct cp_spill_reader cp_spill_reader;

/* The spill's default zstd level. Lower levels cost less CPU and more scratch (README, Cluster mode). */
#define CP_SPILL_LEVEL_DEFAULT 1
/* A level as given on the command line: an integer from zstd's lowest level up to 1 (higher ones cost more
 * CPU than the second read they replace). 0, or -1 with a message. */
int cp_spill_parse_level(const char *s, int *level, char *err, size_t errlen);
/* Creates path (replacing it) for writing; level: zstd level (cp_spill_parse_level's range). fingerprint is
 * stored and checked by cp_spill_open. NULL and a message in err when the file cannot be created. */
cp_spill_writer *cp_spill_create(const char *path, int level, uint64_t fingerprint, char *err, size_t errlen);
/* Appends batch b in its state after P1 (see pipeline.h, CP_PHASE_COLLECT_DOCS): the batch's own figures and
 * events, and per document what the later stages and the output need. Returns 0, or -1 with a message
 * (disk full...). Borrowed: b is not changed. */
int cp_spill_put(cp_spill_writer *w, const cp_batch *b, char *err, size_t errlen);
/* Writes the end block, flushes and closes (fsync with sync). Returns 0 or -1 with a message; frees w either
 * way. bytes, when not NULL, gets the file's size. */
int cp_spill_finish(cp_spill_writer *w, int sync, uint64_t *bytes, char *err, size_t errlen);
/* Closes and removes an unfinished spill. NULL is fine. */
void cp_spill_abort(cp_spill_writer *w);

/* Opens a finished spill; NULL and a message when it is missing, not a spill, of another version, written
 * with another fingerprint, or has no end block. */
cp_spill_reader *cp_spill_open(const char *path, uint64_t fingerprint, char *err, size_t errlen);
/* The next batch, as the pipeline's feeder would have made it and P1 left it: 1 and *b set (the caller owns
 * it: cp_doc_release each document, then cp_batch_free), 0 at the end, -1 with a message when a block is
 * damaged. Reject reasons point into strings the reader owns: they stay valid until cp_spill_close. */
int cp_spill_next(cp_spill_reader *r, cp_batch **b, char *err, size_t errlen);
/* Decompresses every block once and checks its checksums, then goes back to the first: for --resume, which
 * must know that the whole spill is sound before it skips the pass that made it. 0, or -1 with a message. */
int cp_spill_verify(cp_spill_reader *r, char *err, size_t errlen);
void cp_spill_close(cp_spill_reader *r);

/* The normalised text as its difference from the cleaned text, into out (replacing what it held): cleaning
 * keeps most lines as they are, so this is mostly what cleaning took out. A collect pass's worker makes it
 * for each document cleaning changed (cp_doc.norm_diff), the spill stores it. */
void cp_spill_norm_diff(const char *norm, size_t nlen, const char *clean, size_t clen, cp_buf *out);
/* The normalised text (norm_len bytes, NUL-terminated, the caller frees it) rebuilt from that difference and
 * the cleaned text; NULL when they do not fit together. The second pass rebuilds it for a report example only. */
char *cp_spill_norm_text(const char *diff, size_t dlen, const char *clean, size_t clen, size_t norm_len);

#endif
