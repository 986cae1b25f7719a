/* langid: language identification with CLD2 (full tables) behind a C interface.
 * Thread-safe: CLD2 keeps no mutable state, so any number of threads may call cp_langid_detect at once. */
#ifndef CORPUSPREP_LANGID_H
#define CORPUSPREP_LANGID_H

#include <stddef.h>

typedef struct {
    char code[16];   /* ISO 639-1 where one exists ("nl"), else CLD2's code ("haw"); "und" when unknown */
    double score;    /* 0..1, confidence in code */
    int reliable;    /* CLD2's is_reliable flag */
} cp_lang_result;

/* Detects the language of text[0..len) (valid UTF-8), looking at no more than sample_bytes of it
 * (0 = all of it); the sample is cut on a character boundary, just after whitespace when there is some in
 * its last 32 bytes. The default, 512 (configs/defaults.json), was chosen by measurement (bench/bench_langid.c):
 * on MasakhaNEWS, gnad10k and DCLM pages it is as accurate against the gold labels as the whole text, gives the
 * same answer as the whole text for 99.0-100 % of documents, and runs 5 times faster. Invalid UTF-8 is not an error: only the valid
 * prefix is looked at. Never fails: unknown text gives "und", 0. */
void cp_langid_detect(const char *text, size_t len, size_t sample_bytes, cp_lang_result *out);

/* Explaining (--explain): the languages CLD2 weighed for the same sample as cp_langid_detect, best first,
 * with their share of the text (0..1); returns how many (0..3) and sets *sample_len to the bytes looked at. */
typedef struct {
    char code[16];
    double score;
} cp_lang_candidate;
int cp_langid_candidates(const char *text, size_t len, size_t sample_bytes, cp_lang_candidate out[3],
                         size_t *sample_len);

/* Number of languages the linked CLD2 tables can return, to check at start-up that the right library was
 * linked: distinct codes (as cp_langid_detect gives them) that a scoring table was trained on or that a script
 * alone identifies; 161 with the full tables (libcld2_full), 95 with the small ones. */
int cp_langid_language_count(void);

#endif
