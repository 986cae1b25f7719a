/* chunks: a batch's output, cut into chunks that compress independently (one gzip member or zstd frame each)
 * and are appended to the shards in input order. Planning and writing run in the ordered step; making a
 * chunk (emit + compress, the costly part) runs on any thread, so the pipeline can make one batch's chunks
 * while the next batch is parsed (see pipeline.c). */
#include "corpusprep/chunks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPEN_DESTS 256

typedef struct {
    const char *dest;         /* subdir: "", a language code, "rejected" */
    size_t *docs;
    size_t n, cap;
    uint64_t raw;             /* input bytes of its documents, newlines included */
    cp_buf out;               /* the compressed chunk */
    uint64_t out_raw;         /* uncompressed bytes of the chunk's output lines */
    int failed;
} chunk_t;

struct cp_chunks {
    chunk_t *v;
    size_t n, cap;
    unsigned char *held;      /* per document of the batch: 1 when a chunk holds it */
};

cp_chunks *cp_chunks_plan(const cp_batch *b, const char *const *dest, uint64_t chunk_bytes)
{
    cp_chunks *c = cp_xcalloc(1, sizeof *c);
    c->held = cp_xcalloc(b->n ? b->n : 1, 1);
    /* open chunks by destination; a chunk closes once it reached chunk_bytes */
    size_t open_idx[MAX_OPEN_DESTS], nopen = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!dest[i])
            continue;
        chunk_t *ch = NULL;
        for (size_t k = 0; k < nopen; k++)
            if (!strcmp(c->v[open_idx[k]].dest, dest[i])) {
                ch = &c->v[open_idx[k]];
                if (ch->raw >= chunk_bytes) {
                    open_idx[k] = open_idx[--nopen];
                    ch = NULL;
                }
                break;
            }
        if (!ch) {
            if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->v = cp_xrealloc(c->v, c->cap * sizeof *c->v);
            }
            ch = &c->v[c->n];
            memset(ch, 0, sizeof *ch);
            ch->dest = dest[i];
            if (nopen == MAX_OPEN_DESTS) /* many languages: close the oldest */
                memmove(open_idx, open_idx + 1, --nopen * sizeof *open_idx);
            open_idx[nopen++] = c->n++;
        }
        if (ch->n == ch->cap) {
            ch->cap = ch->cap ? ch->cap * 2 : 64;
            ch->docs = cp_xrealloc(ch->docs, ch->cap * sizeof *ch->docs);
        }
        ch->docs[ch->n++] = i;
        ch->raw += b->docs[i].raw_len + 1;
        c->held[i] = 1;
    }
    return c;
}

size_t cp_chunks_count(const cp_chunks *c) { return c->n; }

const size_t *cp_chunks_docs(const cp_chunks *c, size_t k, size_t *n)
{
    *n = c->v[k].n;
    return c->v[k].docs;
}

int cp_chunks_holds(const cp_chunks *c, size_t i) { return c->held[i]; }

void cp_chunks_make(cp_chunks *c, size_t k, const cp_batch *b, cp_emit_fn emit, void *ctx, cp_compressor *comp,
                    cp_buf *scratch, double *emit_s, double *compress_s)
{
    chunk_t *ch = &c->v[k];
    double t0 = cp_now();
    scratch->len = 0;
    for (size_t j = 0; j < ch->n; j++)
        emit(ctx, &b->docs[ch->docs[j]], scratch);
    double t1 = cp_now();
    ch->out_raw = scratch->len;
    if (cp_compress(comp, scratch->data, scratch->len, &ch->out))
        ch->failed = 1;
    *emit_s += t1 - t0;
    *compress_s += cp_now() - t1;
}

int cp_chunks_write(cp_chunks *c, cp_writer *w, char *err, size_t errlen)
{
    for (size_t k = 0; k < c->n; k++) {
        chunk_t *ch = &c->v[k];
        if (ch->failed) {
            snprintf(err, errlen, "compression failed");
            return -1;
        }
        if (cp_writer_append(w, ch->dest, ch->out.data, ch->out.len, ch->out_raw, err, errlen))
            return -1;
        cp_buf_free(&ch->out); /* written: its memory goes back before the next chunk's */
    }
    return 0;
}

void cp_chunks_destroy(cp_chunks *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < c->n; k++) {
        cp_buf_free(&c->v[k].out);
        free(c->v[k].docs);
    }
    free(c->v);
    free(c->held);
    free(c);
}
