/* Shared by the fuzz harnesses: failing loudly, and an independent UTF-8 decoder for the oracles (written
 * from RFC 3629 here rather than taken from src/util.c, so that a bug there cannot hide in both). */
#ifndef CP_FUZZ_COMMON_H
#define CP_FUZZ_COMMON_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A violated invariant: the message, then abort() so that libFuzzer (or the replay driver) stops on it. */
static void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("INVARIANT VIOLATED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Decodes one code point at s[i..n): returns its length (1..4) and sets *cp, or 0 when no valid sequence
 * starts there (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte). */
static inline size_t fz_utf8_next(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
    unsigned c = s[i];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n - i < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static inline int fz_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t cp;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = fz_utf8_next(s, i, n, &cp)))
            return 0;
    return 1;
}

/* The repair documented in include/corpusprep/util.h and parse.h: raw NUL bytes dropped; where no valid
 * sequence starts, one U+FFFD stands for the bad byte and the continuation bytes after it. Returns a
 * malloc'd copy (NUL-terminated) and its length in *out_len. */
static inline char *fz_utf8_repair(const uint8_t *s, size_t n, size_t *out_len)
{
    char *o = malloc(3 * n + 1);
    size_t m = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t k = fz_utf8_next(s, i, n, &cp);
        if (k) {
            if (cp != 0)
                memcpy(o + m, s + i, k), m += k;
            i += k;
            continue;
        }
        memcpy(o + m, "\xEF\xBF\xBD", 3), m += 3;
        for (i++; i < n && (s[i] & 0xC0) == 0x80; i++)
            ;
    }
    o[m] = 0;
    *out_len = m;
    return o;
}

/* jansson refuses "\u0000" inside an object key (it keeps keys as C strings), though it is valid JSON and
 * parse.h accepts it. So that jansson can still judge such lines, every \u0000 escape inside a key becomes
 * \u0001 in a copy: the same validity, and none of the names the parser looks up (text, id, url) changes.
 * Returns a malloc'd copy of s[0..n). */
static inline char *fz_nul_keys_for_jansson(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    memcpy(o, s, n);
    o[n] = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        size_t j = i + 1;
        while (j < n && s[j] != '"')
            j += s[j] == '\\' ? 2 : 1;
        if (j >= n)
            break;
        size_t k = j + 1;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n'))
            k++;
        if (k < n && s[k] == ':')
            for (size_t e = i + 1; e + 5 < j; e++) {
                if (s[e] != '\\')
                    continue;
                if (!memcmp(s + e + 1, "u0000", 5))
                    o[e + 5] = '1';
                e++; /* the escaped character */
            }
        i = j;
    }
    return o;
}

/* The input up to its first newline (the reader never hands over a '\n'; a line ends there), in an
 * exact-size heap copy so that ASan sees reads past its end; *len is its length. The caller frees it. */
static inline char *fz_line_copy(const uint8_t *data, size_t size, size_t *len)
{
    const uint8_t *nl = memchr(data, '\n', size);
    *len = nl ? (size_t)(nl - data) : size;
    char *raw = malloc(*len ? *len : 1);
    memcpy(raw, data, *len);
    return raw;
}

/* An emitted output line s[0..n), its newline included, that must be one line of valid UTF-8 holding a JSON
 * object: returns the object as jansson reads it (\u0000 in keys as \u0001, see above; flags beside
 * JSON_ALLOW_NUL, since \u0000 in a string is JSON), or fails with what (the harness's name for the line).
 * With JSON_REJECT_DUPLICATES among flags, a line that repeats a key gives NULL instead. */
static inline json_t *fz_load_line(const char *what, const char *s, size_t n, size_t flags)
{
    if (!n || s[n - 1] != '\n' || memchr(s, '\n', n - 1))
        fz_fail("%s: output is not one line", what);
    if (!fz_utf8_valid(s, n))
        fz_fail("%s: output is not valid UTF-8: %.*s", what, (int)n, s);
    char *for_jansson = fz_nul_keys_for_jansson(s, n - 1);
    json_error_t e;
    json_t *j = json_loadb(for_jansson, n - 1, JSON_ALLOW_NUL | flags, &e);
    free(for_jansson);
    if (!j && (flags & JSON_REJECT_DUPLICATES) && json_error_code(&e) == json_error_duplicate_key)
        return NULL;
    if (!json_is_object(j))
        fz_fail("%s: output is not a JSON object (%s): %.*s", what, e.text, (int)n, s);
    return j;
}

#endif
