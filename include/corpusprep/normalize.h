/* normalize: turns a document's raw text into the canonical form every later stage assumes.
 * Pure and thread-safe (no state besides the caller's buffers). */
#ifndef CORPUSPREP_NORMALIZE_H
#define CORPUSPREP_NORMALIZE_H

#include <stddef.h>

#include "corpusprep/util.h"

typedef struct {
    size_t utf8_fixed;    /* invalid UTF-8 sequences replaced by U+FFFD */
    size_t controls;      /* control characters removed (C0 but TAB/LF, DEL, C1, U+FEFF) */
    size_t nfc_changed;   /* 1 when NFC changed the text */
} cp_norm_counts;

/* Appends to out the normalised form of s[0..n): invalid UTF-8 replaced by U+FFFD, NFC (utf8proc), CRLF and
 * lone CR to LF, control characters removed, trailing spaces and tabs of every line trimmed, leading and
 * trailing blank lines dropped, runs of blank lines collapsed to one. tmp is per-thread scratch.
 * Counts are added to *c (not reset). */
void cp_normalize_text(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c);

/* The same for text already known to be valid UTF-8, such as the strings jansson returns (NUL bytes, from
 * \u0000, may occur: they are removed as control characters). Skips a validation pass over every byte. */
void cp_normalize_valid_text(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c);

/* Puts out[start..out->len) into NFC in place (tmp is scratch); 1 when it changed. For a later stage that
 * cuts text normalisation had made NFC: a cut can bring a combining mark next to a letter it composes
 * with. Cheap on text of stable code points (ASCII, most letters): utf8proc only runs around the others. */
int cp_nfc_in_place(cp_buf *out, size_t start, cp_buf *tmp);

#endif
