/* Small helpers shared by every stage: a growable byte buffer, allocation that treats out-of-memory as
 * fatal (there is no useful way to go on without memory in a batch pipeline), and UTF-8 repair.
 * Everything here is thread-safe as long as each buffer is used by one thread at a time. */
#ifndef CORPUSPREP_UTIL_H
#define CORPUSPREP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialise ({0}) before first use; data is always NUL-terminated after an
 * append so it can be handed to C string functions, but len never counts that NUL. */
typedef struct {
    char *data;
    size_t len, cap;
} cp_buf;

void cp_buf_reserve(cp_buf *b, size_t extra);
void cp_buf_append(cp_buf *b, const void *p, size_t n);
void cp_buf_putc(cp_buf *b, char c);
void cp_buf_puts(cp_buf *b, const char *s);
void cp_buf_printf(cp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cp_buf_free(cp_buf *b);

/* fsync of a folder, so that the renames done in it are on disk. Returns 0 or -1 with errno set. */
int cp_fsync_dir(const char *path);

/* malloc/realloc/strdup that print a message and abort() when memory runs out. */
void *cp_xmalloc(size_t n);
void *cp_xcalloc(size_t n, size_t size);
void *cp_xrealloc(void *p, size_t n);
char *cp_xstrdup(const char *s);
char *cp_xstrndup(const char *s, size_t n);

/* Appends s[0..n) to out with every invalid UTF-8 sequence (overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences) replaced by U+FFFD, and raw NUL bytes dropped.
 * Returns the number of replacements plus dropped NULs; 0 means out received s unchanged. */
size_t cp_utf8_repair(const char *s, size_t n, cp_buf *out);

/* Length of the longest prefix of s[0..n) that is valid UTF-8 without NUL bytes (n when all is valid). */
size_t cp_utf8_valid_prefix(const char *s, size_t n);

/* Appends s[0..n) as a JSON string literal (with quotes). s must be valid UTF-8; control characters are
 * escaped, everything else is written as is. */
void cp_json_escape(cp_buf *out, const char *s, size_t n);

/* Eight bytes at a time (SWAR) over a word loaded with memcpy; each returns 0x80 in every byte lane that
 * matches and 0 elsewhere, exactly (no carry crosses a lane). Byte i of a little-endian load is s[i]. */
#define CP_ONES8 0x0101010101010101ull
#define CP_HIGH8 0x8080808080808080ull
/* lanes of x equal to the byte b */
static inline uint64_t cp_bytes_eq(uint64_t x, unsigned char b)
{
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    uint64_t y = x ^ (CP_ONES8 * b);
    return ~(((y & low7) + low7) | y | low7);
}
/* lanes of x in [lo, hi]; x must be all ASCII (no lane >= 0x80) */
static inline uint64_t cp_bytes_in(uint64_t x, unsigned lo, unsigned hi)
{
    return (x + (0x80 - lo) * CP_ONES8) & ~(x + (0x7F - hi) * CP_ONES8) & CP_HIGH8;
}
/* lanes of x below n (n <= 0x80), for any x */
static inline uint64_t cp_bytes_lt(uint64_t x, unsigned n)
{
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    return ~(((x & low7) + (0x80 - n) * CP_ONES8) | x) & CP_HIGH8;
}

/* Set bits of x, inline (the baseline x86-64 target has no popcnt instruction, so __builtin_popcountll is a
 * library call there). */
static inline unsigned cp_popcount64(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((x * CP_ONES8) >> 56);
}

/* Byte classes of the 64 bytes at p, one bit per byte (bit k describes p[k]), for word splitting and UTF-8
 * structure in whole blocks: SSE2 where there is SSE2, a plain loop elsewhere (same result). b6..b3 have
 * bits only where b7 has (bytes >= 0x80). */
typedef struct {
    uint64_t ctl;   /* <= ' ': space and control bytes */
    uint64_t blank; /* ' ' or '\t' */
    uint64_t b7, b6, b5, b4, b3; /* bits 7..3 of each byte */
} cp_masks64;
void cp_masks64_of(const unsigned char *p, cp_masks64 *m);

/* Seconds on a monotonic clock, for timings. */
double cp_now(void);
/* CPU seconds used by the calling thread so far (a system call: for stage timings, not per document). */
double cp_thread_cpu(void);

#endif
