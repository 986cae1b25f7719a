/* phrases: phrase lists compiled into one automaton over case-folded bytes, and the scan of a line against
 * it (the phrase matching of clean: C4's policy phrases, news boilerplate). Case folding covers ASCII and
 * the Latin-1 capitals; a phrase that starts (ends) with a word character only matches at a word start
 * (end). A cp_phrases is read-only after build: any number of threads may scan with one at once. */
#ifndef CORPUSPREP_PHRASES_H
#define CORPUSPREP_PHRASES_H

#include <stddef.h>

/* What a phrase means when found in a line; a phrase may carry several kinds. */
enum {
    CP_PHRASE_LINE = 1,       /* the whole line is the phrase */
    CP_PHRASE_BANNER = 2,     /* anywhere in a short line */
    CP_PHRASE_CAPTION = 4,    /* anywhere in a line up to caption_max_words */
    CP_PHRASE_MARKER = 8,     /* the whole line, or at its end after a word boundary */
    CP_PHRASE_TAIL = 16,      /* the whole line */
    CP_PHRASE_JS = 32,        /* anywhere (C4) */
    CP_PHRASE_POLICY = 64,    /* anywhere (C4) */
    CP_PHRASE_LOREM = 128,    /* anywhere: the document goes */
    CP_PHRASE_END = 256,      /* anywhere in a short line: comments start, everything after goes */
    CP_PHRASE_END_COUNT = 512 /* the whole line but for a number ("167 comments", "[ 2 Reacties ]") */
};

/* A list of phrases being collected; one thread. */
typedef struct cp_phrase_list cp_phrase_list;
cp_phrase_list *cp_phrase_list_create(void);
/* Adds phrase (UTF-8; kept case-folded) with its kinds; an empty phrase or one over 200 bytes is ignored. */
void cp_phrase_list_add(cp_phrase_list *l, const char *phrase, unsigned kinds);
size_t cp_phrase_list_size(const cp_phrase_list *l);
void cp_phrase_list_destroy(cp_phrase_list *l);

/* The automaton of a list (the list may be destroyed afterwards). NULL when the list is empty. */
typedef struct cp_phrases cp_phrases;
cp_phrases *cp_phrases_build(const cp_phrase_list *l);
void cp_phrases_destroy(cp_phrases *p);

/* What one line holds. */
typedef struct {
    unsigned any;        /* kinds found anywhere (BANNER, CAPTION, JS, POLICY, LOREM, END only) */
    unsigned whole;      /* kinds whose phrase is the whole line once decorations ("Read more »",
                          * "- Advertisement -") are trimmed; END_COUNT when the rest is only a count */
    size_t marker_start; /* a MARKER phrase at the end of a longer line: where it starts (SIZE_MAX = none) */
} cp_phrase_hits;

/* Scans line[0..n) (valid UTF-8, original case) into out. */
void cp_phrases_scan_line(const cp_phrases *p, const char *line, size_t n, cp_phrase_hits *out);

/* cp_phrases_scan_line for a line with so many words that the kinds that only count in short lines
 * (BANNER, CAPTION, END, END_COUNT) do not matter: out->any's JS, POLICY and LOREM bits, out->whole but
 * for END_COUNT, and out->marker_start are what cp_phrases_scan_line gives; the other bits may be missing.
 * Faster on a long line that holds none of the JS, POLICY and LOREM phrases (most lines): those are looked
 * for 16 bytes at a time, and the automaton only reads the line's end. */
void cp_phrases_scan_long_line(const cp_phrases *p, const char *line, size_t n, cp_phrase_hits *out);

#endif
