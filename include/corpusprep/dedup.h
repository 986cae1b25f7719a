/* dedup: the keys of exact deduplication and the tables that remember them.
 * Keys are computed per document in the parallel stage (pure, thread-safe with per-thread buffers);
 * cp_keymap is used only by the single ordered step and is not thread-safe by design: "first occurrence"
 * means first in input order, so one thread owns the decision. */
#ifndef CORPUSPREP_DEDUP_H
#define CORPUSPREP_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/util.h"

/* Appends to out the dedup normalisation of s[0..n) (valid UTF-8): lower case (full Unicode), every decimal
 * digit folded to '0', punctuation removed, every run of white space (and line breaks) collapsed to one
 * space, no leading or trailing space. Two texts that differ only in case, numbers, punctuation or spacing
 * normalise to the same bytes. Used for exact dedup, line dedup and MinHash shingles. */
void cp_dedup_normalize(const char *s, size_t n, cp_buf *out);

/* XXH3-64 of the dedup normalisation of s[0..n); scratch is a per-thread buffer. */
uint64_t cp_dedup_text_hash(const char *s, size_t n, cp_buf *scratch);

/* Hash of a normalised URL: scheme and host lower-cased, "www." and default ports dropped, fragment
 * dropped, tracking parameters (utm_*, fbclid, gclid) dropped, trailing '/' of the path dropped.
 * Returns 0 and sets *hash, or -1 when u is not an http(s) URL (such documents skip URL dedup). */
int cp_url_hash(const char *u, size_t n, uint64_t *hash, cp_buf *scratch);

/* An open-addressing map from 64-bit key to the 64-bit value inserted first (a document's position).
 * Key 0 is allowed. Grows by doubling at 3/4 load. */
typedef struct cp_keymap cp_keymap;
cp_keymap *cp_keymap_create(size_t expected);
void cp_keymap_destroy(cp_keymap *m);
/* If key is present returns 1 and sets *first to its value; otherwise inserts (key, value), returns 0. */
int cp_keymap_check_insert(cp_keymap *m, uint64_t key, uint64_t value, uint64_t *first);
/* Returns the value slot of key, inserting (key, init) first when absent; valid until the next insert.
 * For counters (corpus-wide line frequencies). */
uint64_t *cp_keymap_upsert(cp_keymap *m, uint64_t key, uint64_t init);
/* Returns 1 and sets *value when key is present. */
int cp_keymap_get(const cp_keymap *m, uint64_t key, uint64_t *value);
size_t cp_keymap_count(const cp_keymap *m);
size_t cp_keymap_bytes(const cp_keymap *m);

/* Checkpoints (checkpoint.h): the map's capacity and entries. A loaded map answers every lookup as the saved
 * one did and has its capacity, so it grows at the same points. Load returns NULL on a short or inconsistent
 * stream. */
typedef struct cp_ckpt_out cp_ckpt_out;
typedef struct cp_ckpt_in cp_ckpt_in;
int cp_keymap_save(const cp_keymap *m, cp_ckpt_out *o);
cp_keymap *cp_keymap_load(cp_ckpt_in *in);

#endif
