/* words: one tokenisation of a whole text into words for the document filters (Gopher quality and
 * repetition, C4's sentence count): words are runs between ' ', '\t' and '\n'; each gets a key (a 64-bit
 * hash of the word trimmed of ASCII punctuation at both ends and case-folded), and the text gets the totals
 * the rules count (letters, sentence ends, ellipses, '#', characters). One pass over the
 * text in 64-byte blocks; no allocation once the cp_words has grown to the largest text. A cp_words belongs
 * to one thread. */
#ifndef CORPUSPREP_WORDS_H
#define CORPUSPREP_WORDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t key;   /* cp_word_key of the word */
    uint64_t bytes; /* bytes of the word, untrimmed */
} cp_word;

typedef struct {
    cp_word *v;           /* the words, in text order */
    size_t n;
    size_t word_bytes;    /* bytes of all words */
    size_t alpha_words;   /* words holding an ASCII letter or a non-ASCII lead byte (>= 0xC0) */
    size_t sentence_ends; /* words ending in '.', '!', '?', "。" or "።" */
    size_t ellipsis_ends; /* words ending in "..." or "…" */
    size_t hashes;        /* '#' bytes in the text */
    size_t cont_bytes;    /* UTF-8 continuation bytes (0x80..0xBF) in the text: characters = bytes - these */
    /* scratch, reused from text to text */
    size_t cap;
    unsigned char *fold_buf; /* the case-folded text, padded on both sides */
    size_t fold_cap;
    uint64_t *core;          /* per 64-byte block: bytes kept by the trim (letters, digits, non-ASCII) */
    size_t core_cap;
} cp_words; /* zero-initialise; cp_words_free releases */

/* Splits text[0..len) (UTF-8; other bytes are handled but not folded) into w->v, reset first, and counts
 * the totals. */
void cp_words_scan(const char *text, size_t len, cp_words *w);
void cp_words_free(cp_words *w);

/* The key cp_words_scan gives the word s[0..n): leading and trailing ASCII bytes that are neither letters
 * nor digits are dropped; 'A'..'Z' and the Latin-1 capitals ("À".."Þ" but "×") are lower-cased, unless the
 * trimmed word is over 128 bytes; then a fixed 64-bit hash (a multiply-fold of the bytes for up to 16,
 * XXH3 above). For stop-word lists and tests. */
uint64_t cp_word_key(const char *s, size_t n);

#endif
