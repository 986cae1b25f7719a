/* chunks: a batch's output as compressed chunks. The documents going to one destination (the output folder,
 * a language folder, rejected/) are cut into runs of consecutive documents of about chunk_bytes input bytes;
 * each run becomes one gzip member or zstd frame, made by any thread, and the chunks are appended to the
 * shards in input order. Chunk boundaries depend on the input alone, so the output is the same for any
 * thread count and any schedule.
 * Thread safety: cp_chunks_make may run concurrently for different chunks of one cp_chunks; everything else
 * belongs to one thread. */
#ifndef CORPUSPREP_CHUNKS_H
#define CORPUSPREP_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/doc.h"
#include "corpusprep/util.h"
#include "corpusprep/writer.h"

typedef struct cp_chunks cp_chunks;

/* Plans the chunks of b's documents: dest[i] names document i's destination ("" for the output folder) or
 * is NULL when it is not written. The strings must outlive the cp_chunks. Never NULL. */
cp_chunks *cp_chunks_plan(const cp_batch *b, const char *const *dest, uint64_t chunk_bytes);
size_t cp_chunks_count(const cp_chunks *c);
/* Chunk k's documents, as indexes into the batch in input order; *n gets their number. */
const size_t *cp_chunks_docs(const cp_chunks *c, size_t k, size_t *n);
/* 1 when document i belongs to a chunk (it must stay alive until that chunk is made). */
int cp_chunks_holds(const cp_chunks *c, size_t i);

/* Writes one document's output line(s) to out. */
typedef void (*cp_emit_fn)(void *ctx, const cp_doc *d, cp_buf *out);
/* Makes chunk k: emits its documents into scratch, then compresses them with comp. Adds the seconds spent
 * emitting and compressing to *emit_s and *compress_s. A failure is reported by cp_chunks_write. */
void cp_chunks_make(cp_chunks *c, size_t k, const cp_batch *b, cp_emit_fn emit, void *ctx, cp_compressor *comp,
                    cp_buf *scratch, double *emit_s, double *compress_s);
/* Appends every chunk, made before, to w in order. Returns 0 or -1 with a message. */
int cp_chunks_write(cp_chunks *c, cp_writer *w, char *err, size_t errlen);
void cp_chunks_destroy(cp_chunks *c);

#endif
