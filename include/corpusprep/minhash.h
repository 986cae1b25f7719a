/* minhash: near-duplicate keys. MinHash signatures over shingles of the dedup-normalised text, cut into LSH
 * band keys (parallel stage, pure), and the LSH index that turns band keys into "first of each cluster
 * survives" decisions (ordered serial step only). Same seed => same keys and decisions on every machine. */
#ifndef CORPUSPREP_MINHASH_H
#define CORPUSPREP_MINHASH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CP_SHINGLE_AUTO = 0, /* characters when >= char_share of the non-space code points are in a script
                            written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan), else words */
    CP_SHINGLE_WORDS,
    CP_SHINGLE_CHARS,
} cp_shingle_mode;

typedef struct {
    int bands;          /* LSH bands [14] */
    int rows;           /* MinHash values per band [8]; bands*rows values per signature */
    int ngram;          /* words per shingle [5] */
    int char_ngram;     /* code points per shingle in character mode [5] */
    uint64_t seed;      /* every hash and permutation derives from it [1] */
    cp_shingle_mode mode;
    double char_share;  /* AUTO threshold [0.3] */
} cp_minhash_params;

/* Fills p with the defaults above (14 x 8 = 112 values, word 5-grams: datatrove/FineWeb). */
void cp_minhash_params_default(cp_minhash_params *p);

/* Read-only after create: one object may be shared by any number of threads. Returns NULL and writes a
 * message to err on bad parameters (bands*rows must be 1..4096, ngram and char_ngram 1..64). */
typedef struct cp_minhash cp_minhash;
cp_minhash *cp_minhash_create(const cp_minhash_params *p, char *err, size_t errlen);
void cp_minhash_destroy(cp_minhash *mh);
int cp_minhash_values(const cp_minhash *mh); /* bands * rows */
int cp_minhash_bands_count(const cp_minhash *mh);

/* Per-thread working memory, reused across documents; one thread at a time. */
typedef struct cp_minhash_scratch cp_minhash_scratch;
cp_minhash_scratch *cp_minhash_scratch_create(void);
void cp_minhash_scratch_destroy(cp_minhash_scratch *s);

/* 1 when mh would shingle text[0..len) by characters, 0 when by words. */
int cp_minhash_uses_chars(const cp_minhash *mh, const char *text, size_t len);

/* MinHash signature of the normalised text (UTF-8, words separated by single spaces: see
 * cp_dedup_normalize) into sig_out[cp_minhash_values(mh)]. Shingles are runs of `ngram` words, or in character
 * mode runs of `char_ngram` code points with spaces skipped; a text shorter than one shingle is one shingle
 * (the whole text). Returns the number of shingles hashed: 0 for an empty text, whose signature is all
 * UINT64_MAX (so all empty texts share their keys; they are exact duplicates anyway). */
int cp_minhash_signature(const cp_minhash *mh, cp_minhash_scratch *s, const char *norm_text, size_t len,
                         uint64_t *sig_out);

/* Band keys of the text: band_keys_out[b] = hash of (b, rows b*rows .. b*rows+rows-1 of the signature).
 * Writes cp_minhash_bands_count(mh) keys. Returns what cp_minhash_signature returns. */
int cp_minhash_bands(const cp_minhash *mh, cp_minhash_scratch *s, const char *norm_text, size_t len,
                     uint64_t *band_keys_out);

/* Probability that two texts with shingle Jaccard similarity j share at least one band: 1-(1-j^r)^b. */
double cp_minhash_collision_probability(int bands, int rows, double j);

/* The LSH index: one table per band mapping band key -> the earliest document (input position) that inserted
 * it. NOT thread-safe, by design: only the ordered serial step uses it, so decisions depend on (key, input
 * position) alone. Memory layout, false-match rate and growth: see the essay at the top of minhash.c. */
typedef struct cp_lsh cp_lsh;
#define CP_LSH_NONE UINT64_MAX

/* expected_docs sizes the tables up front (0 = small start); tables grow beyond it by rehashing, but each
 * growth past the initial size doubles the false-match rate per ~2x, so pass a realistic estimate.
 * Returns NULL when bands is not 1..1024. */
cp_lsh *cp_lsh_create(int bands, uint64_t expected_docs);

/* The same index without the first document's seq per key: 4 bytes a slot instead of 8 (62-78 bytes per
 * document for 14 bands, against 124-156), for runs that need the decision but not "dup_of". Its
 * cp_lsh_check_insert returns CP_LSH_MATCH instead of a seq when an earlier document shares a band. */
#define CP_LSH_MATCH (UINT64_MAX - 1)
cp_lsh *cp_lsh_create_compact(int bands, uint64_t expected_docs);
double cp_lsh_compact_bytes_per_doc_estimate(int bands);
void cp_lsh_destroy(cp_lsh *l);

/* For document number seq (0,1,2,... in input order, seq < 2^32 - 1): returns the smallest seq of an earlier
 * document that inserted any of the same band keys (band_keys[0..bands)), or CP_LSH_NONE; then inserts all
 * the keys (a key already present keeps its earliest seq). Call it for every document that reaches the
 * ordered step, duplicate or not. Returns CP_LSH_NONE without inserting if seq is out of range. */
uint64_t cp_lsh_check_insert(cp_lsh *l, uint64_t seq, const uint64_t *band_keys);

/* Checkpoints (checkpoint.h): the tables as they are, slot for slot, so a loaded index takes the same
 * decisions (false matches included) and grows at the same points. Load returns NULL on a bad stream. */
typedef struct cp_ckpt_out cp_ckpt_out;
typedef struct cp_ckpt_in cp_ckpt_in;
int cp_lsh_save(const cp_lsh *l, cp_ckpt_out *o);
cp_lsh *cp_lsh_load(cp_ckpt_in *in);

size_t cp_lsh_bytes(const cp_lsh *l);      /* current heap bytes of the index */
uint64_t cp_lsh_entries(const cp_lsh *l);  /* distinct (band, key) entries stored */

/* Upper bound on index bytes per document (every document unique, tables just grown), for a warning before
 * the run when expected_docs * this exceeds the RAM. */
double cp_lsh_bytes_per_doc_estimate(int bands);

#endif
