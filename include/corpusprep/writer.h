/* writer: compressed JSONL output shards, each written under a temporary name and renamed when complete.
 * Compression is separate from writing: cp_compress turns a chunk of lines into one independent gzip
 * member or zstd frame (concatenations of those are valid files), so workers compress in parallel and the
 * ordered step only appends bytes. Chunk boundaries depend on the input alone, so output is the same for
 * any thread count. A cp_compressor belongs to one thread; a cp_writer to the ordered step. */
#ifndef CORPUSPREP_WRITER_H
#define CORPUSPREP_WRITER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/util.h"

typedef struct cp_compressor cp_compressor;
/* level: gzip 0-9 (0 stores, 9 is smallest), zstd -7..19. gzip is made by libdeflate at the level that
 * cp_gzip_libdeflate_level gives. */
cp_compressor *cp_compressor_create(int compress, int level);
/* libdeflate's level (0-12) for a gzip level 0-9: 0-8 unchanged, 9 -> 12. */
int cp_gzip_libdeflate_level(int level);
/* Appends to out the compressed form of in[0..n). Returns 0, or -1 (library failure). */
int cp_compress(cp_compressor *c, const char *in, size_t n, cp_buf *out);
void cp_compressor_destroy(cp_compressor *c);

/* Makes outdir (and parents). An existing outdir must be empty unless force is set; with force, the files
 * a previous run wrote there (part-*, stats.json, report.html, report-examples.json, explain.jsonl,
 * rejected/, per-language folders of part files) are
 * removed and nothing else is touched. Returns 0, -2 when outdir is not empty and force is not set (a usage
 * error), or -1 (cannot create or write it), with a message. */
int cp_output_prepare(const char *outdir, int force, char *err, size_t errlen);

typedef struct cp_writer cp_writer;
/* Shards are OUTDIR/[SUBDIR/]part-RRRRR-SSSSS.jsonl(.gz|.zst), rank R, sequence S per SUBDIR. */
cp_writer *cp_writer_create(const char *outdir, int rank, int compress, uint64_t shard_bytes);
/* Appends one compressed chunk holding raw_bytes of uncompressed lines to the stream of subdir ("" for
 * OUTDIR itself, "rejected", or a language code). A shard is closed and renamed before a chunk would
 * take it past shard_bytes. Returns 0 or -1 with a message naming the file. */
int cp_writer_append(cp_writer *w, const char *subdir, const char *data, size_t n, uint64_t raw_bytes,
                     char *err, size_t errlen);
/* Closes and renames every open shard. Returns 0 or -1 with a message. */
int cp_writer_finish(cp_writer *w, char *err, size_t errlen);
/* Removes every temporary file still open (after an error or an interrupt). */
void cp_writer_abort(cp_writer *w);
/* Checkpoints (checkpoint.h). set_sync: fsync every shard before its rename. cp_writer_checkpoint flushes
 * and fsyncs every open shard and returns (new reference) each stream's shard number, uncompressed bytes
 * and, for an open shard, its length on disk now. cp_writer_resume takes such a state into a new writer:
 * it removes the shards and .tmp files written after the checkpoint (a shard renamed since then is taken
 * back as the .tmp), cuts each open .tmp back to its length and appends from there. Both return 0 or -1
 * with a message. */
void cp_writer_set_sync(cp_writer *w, int sync);
int cp_writer_checkpoint(cp_writer *w, json_t **state, char *err, size_t errlen);
int cp_writer_resume(cp_writer *w, const json_t *state, char *err, size_t errlen);
uint64_t cp_writer_bytes(const cp_writer *w);   /* compressed bytes written */
uint64_t cp_writer_shards(const cp_writer *w);  /* shards completed */
void cp_writer_destroy(cp_writer *w);

/* Writes data to path via path.tmp + rename. Returns 0 or -1 with a message. */
int cp_write_file_atomic(const char *path, const char *data, size_t n, char *err, size_t errlen);
/* Writes j as indented JSON with sorted keys and a final newline to dir/name, atomically (stats.json). */
int cp_write_json_atomic(const char *dir, const char *name, const json_t *j, char *err, size_t errlen);

#endif
