/* json_scan: checks that one JSONL line is a JSON text and lists where the members of a top-level object
 * are, in one pass over the bytes and without building a tree; plus the decoding of the few strings the
 * caller reads. Pure functions, thread-safe, no allocation but the member list.
 *
 * What it accepts is RFC 8259 with jansson's limits, so that a line keeps the verdict jansson gave it:
 * every string must be valid UTF-8 with no raw control character, a \u escape of a surrogate must form a
 * pair, integers (no fraction, no exponent) must fit in int64_t and other numbers must not overflow a
 * double, and no value may be nested deeper than CP_JSON_MAX_DEPTH (a top-level scalar is at depth 1).
 * One difference from jansson: "\u0000" is accepted in object keys too (it is valid JSON). */
#ifndef CORPUSPREP_JSON_SCAN_H
#define CORPUSPREP_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define CP_JSON_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef enum {
    CP_JSON_INVALID = 0,
    CP_JSON_OBJECT,
    CP_JSON_ARRAY,
    CP_JSON_STRING,
    CP_JSON_INTEGER, /* a number without fraction or exponent */
    CP_JSON_REAL,
    CP_JSON_TRUE,
    CP_JSON_FALSE,
    CP_JSON_NULL
} cp_json_type;

/* One member of the top-level object, as offsets into the scanned line. */
typedef struct {
    uint32_t key_off, key_len; /* the key's bytes between its quotes, still escaped */
    uint32_t val_off, val_len; /* the value's bytes as written (a string with its quotes) */
    uint8_t type;              /* cp_json_type of the value */
    uint8_t key_escaped;       /* the key holds a backslash escape */
    uint8_t val_escaped;       /* the value is a string holding a backslash escape */
} cp_json_member;

/* Where and why a line is not JSON. reason is a static ASCII string. */
typedef struct {
    size_t offset; /* byte offset in the line of the first byte that cannot be right (n at the end) */
    const char *reason;
} cp_json_error;

/* Scans s[0..n) (need not be NUL-terminated; a line of 4 GiB or more is refused as such). Returns the type of the top-level value, or
 * CP_JSON_INVALID with *err set. When the value is an object, its members in order (duplicates
 * included) are stored in *members, which is grown with cp_xrealloc as needed (*cap elements allocated;
 * start from NULL and 0), and *n_members is set; otherwise *n_members is 0. The caller frees *members. */
cp_json_type cp_json_scan(const char *s, size_t n, cp_json_member **members, uint32_t *n_members, uint32_t *cap,
                          cp_json_error *err);

/* The fast path for string bodies is picked at run time: AVX-512 (64 bytes a step) or AVX2 (32) when the CPU
 * has it, the UTF-8 checked a block at a time; else the portable one (SSE2 or 8-byte SWAR, UTF-8 checked
 * sequence by sequence). All give the same verdict, members and error on every line. Tests and benchmarks
 * may force a slower path to compare them (AVX2 falls back to portable without it): call this before any
 * thread scans. Returns the path now in use ("avx512", "avx2", "sse2", "swar"). */
typedef enum { CP_JSON_PATH_AUTO = 0, CP_JSON_PATH_PORTABLE, CP_JSON_PATH_AVX2 } cp_json_path;
const char *cp_json_set_path(cp_json_path p);

/* Decodes the body of a string that cp_json_scan accepted (the bytes between the quotes, n of them) into
 * out, which must have room for n bytes (those after the decoded ones may be overwritten); returns the
 * decoded length. "\u0000" gives a NUL byte. */
size_t cp_json_unescape(const char *s, size_t n, char *out);

/* The value of an integer that cp_json_scan accepted (CP_JSON_INTEGER), s[0..n) as written. */
int64_t cp_json_integer_value(const char *s, size_t n);

#endif
