/* langid: language identification behind a C interface, with two backends: CLD2 (full tables, built in, the
 * default) and a fastText model loaded from a file (lid.176, GlotLID, OpenLID).
 * Thread-safe: neither backend keeps mutable state once loaded, so any number of threads may call
 * cp_langid_detect and cp_langid_run at once. */
#ifndef CORPUSPREP_LANGID_H
#define CORPUSPREP_LANGID_H

#include <stddef.h>

typedef struct {
    char code[16];   /* ISO 639-1 where one exists ("nl"), else the backend's code ("haw"); "und" when unknown */
    char script[8];  /* ISO 15924 script ("Latn") when the model's label names one (GlotLID), else "" */
    double score;    /* 0..1, confidence in code */
    int reliable;    /* CLD2's is_reliable flag; fastText: 1 whenever it gave a label */
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

/* Length of the sample both backends look at: the largest n <= sample_bytes (0 = all of len) such that
 * text[0..n) ends on a character boundary, just after whitespace when there is some in its last 32 bytes. */
size_t cp_langid_sample_len(const char *text, size_t len, size_t sample_bytes);

/* ---- backends behind one handle ---- */
typedef enum { CP_LANGID_CLD2, CP_LANGID_FASTTEXT } cp_langid_backend;
typedef struct cp_langid cp_langid;

/* Opens a backend: CLD2 needs no model (model_path ignored); fastText loads model_path (.bin or .ftz, a
 * supervised model with one label per language). Returns NULL with a message for a missing, truncated or
 * unsupervised model file. The handle is read-only after this; free it with cp_langid_close. */
cp_langid *cp_langid_open(cp_langid_backend backend, const char *model_path, char *err, size_t errlen);
void cp_langid_close(cp_langid *lid);

/* Detects the language of text[0..len) with the handle's backend on the sample cp_langid_sample_len gives.
 * CLD2: as cp_langid_detect. fastText: the sample with every '\n' turned into ' ', as one line (what the
 * `fasttext predict-prob MODEL - 1` CLI reads for that line); code and script come from the top label
 * (cp_langid_map_label), score is its probability (clamped to at most 1; a quantised hierarchical-softmax
 * model can give 1.00004). A sample with no word gives "und", 0. Never fails. Thread-safe. */
void cp_langid_run(const cp_langid *lid, const char *text, size_t len, size_t sample_bytes, cp_lang_result *out);

/* Number of distinct codes the backend can give (not counting "und"), and whether it can give code. */
int cp_langid_count(const cp_langid *lid);
int cp_langid_knows(const cp_langid *lid, const char *code);

/* A fastText label without its "__label__" prefix as our code and script: "en" -> en; "eng_Latn" -> en, Latn
 * (ISO 639-3 to 639-1 where one exists; the standard variety of a macrolanguage to the macrolanguage's code,
 * e.g. arb -> ar, cmn -> zh, zsm -> ms; else the 639-3 code); withdrawn 639-1 codes folded (iw -> he);
 * und/zxx/mis/mul, and anything that is not 2-3 letters, -> "und". code has 16 bytes, script 8. */
void cp_langid_map_label(const char *label, char *code, char *script);

/* The fastText model itself (src/langid_fasttext.cc), which cp_langid wraps; same contracts as above. */
typedef struct cp_fasttext cp_fasttext;
cp_fasttext *cp_fasttext_load(const char *path, char *err, size_t errlen);
void cp_fasttext_free(cp_fasttext *m);
void cp_fasttext_detect(const cp_fasttext *m, const char *text, size_t len, size_t sample_bytes,
                        cp_lang_result *out);
int cp_fasttext_count(const cp_fasttext *m);
int cp_fasttext_knows(const cp_fasttext *m, const char *code);

#endif
