/* json_scan: validates a JSONL line in one pass and lists the members of its top-level object, for
 * parse.c, which splices the output record from those byte spans and decodes only the strings it reads.
 *
 * Design. No tree and no allocation per value: the scanner walks the bytes once, left to right. Nesting
 * is followed with an explicit stack of one bit per open container (object or array), bounded by
 * CP_JSON_MAX_DEPTH, so a line of 100,000 '[' costs a few kilobytes of nothing and never the C stack.
 * String bodies are most of the bytes (the text member), so they get the fast path: 16 bytes at a time
 * with SSE2 (8 with SWAR elsewhere) until a quote, a backslash, a control byte or a non-ASCII byte; non-ASCII
 * runs are checked as UTF-8 sequence by sequence. The rules jansson adds to RFC 8259 (surrogate pairs, int64
 * and double range, depth) are kept so that every line keeps jansson's verdict; see json_scan.h.
 * Thread-safe: no state outside the arguments. */
#include "corpusprep/json_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/util.h"

#if defined(__SSE2__) && !defined(CP_JSON_NO_SSE2)
#include <emmintrin.h>
#define USE_SSE2 1
#else
#define USE_SSE2 0
#endif

/* The AVX2 path is compiled in on x86-64 with GCC or clang and taken only when the CPU has AVX2 (checked at
 * run time), so the same binary runs anywhere; -DCP_JSON_NO_AVX2 leaves it out. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(CP_JSON_NO_AVX2)
#include <immintrin.h>
#define HAVE_AVX2 1
#else
#define HAVE_AVX2 0
#endif

#define BAD ((size_t)-1)

static cp_json_path forced_path = CP_JSON_PATH_AUTO;

typedef struct {
    const unsigned char *s;
    size_t n;
    cp_json_error *err;
    int path; /* PATH_*: how string bodies are scanned */
} scanner;

static size_t fail(scanner *sc, size_t at, const char *why)
{
    sc->err->offset = at;
    sc->err->reason = why;
    return BAD;
}

static inline size_t skip_ws(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Index of the first byte at or after i that is a quote, a backslash, below 0x20 or above 0x7F; n if none. */
static inline size_t skip_plain(const unsigned char *s, size_t n, size_t i)
{
#if USE_SSE2
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches every non-ASCII byte */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#else
    while (i + 8 <= n) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t m = cp_bytes_eq(x, '"') | cp_bytes_eq(x, '\\') | cp_bytes_lt(x, 0x20) | (x & CP_HIGH8);
        if (m) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)(__builtin_ctzll(m) >> 3);
#else
            return i + (size_t)(__builtin_clzll(m) >> 3);
#endif
        }
        i += 8;
    }
#endif
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes) at s[i], whose first byte is >= 0x80; 0 if invalid. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t i)
{
    unsigned c = s[i];
    if (c < 0xC2)
        return 0; /* a continuation byte, or an overlong two-byte form */
    if (c < 0xE0)
        return i + 1 < n && (s[i + 1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (i + 2 >= n)
            return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF; /* no overlongs, no surrogates */
        return s[i + 1] >= lo && s[i + 1] <= hi && (s[i + 2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c < 0xF5) {
        if (i + 3 >= n)
            return 0;
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF; /* U+10000 to U+10FFFF */
        return s[i + 1] >= lo && s[i + 1] <= hi && (s[i + 2] & 0xC0) == 0x80 && (s[i + 3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

static inline int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The four hex digits at s[i..i+4) as a number, or -1. */
static inline long hex4(const unsigned char *s, size_t n, size_t i)
{
    if (i > n || n - i < 4)
        return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hex_digit(s[i + k]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

#if HAVE_AVX2
/* Nibble lookup tables of the UTF-8 check below, as in Keiser and Lemire, "Validating UTF-8 in less than one
 * instruction per byte" (2021): each pair of bytes (previous, current) is classified by the previous byte's
 * high and low nibble and the current byte's high nibble; a bit set in all three lookups is an error. */
enum {
    U8_TOO_SHORT = 1 << 0,  /* a lead byte not followed by a continuation byte */
    U8_TOO_LONG = 1 << 1,   /* a continuation byte after an ASCII byte */
    U8_OVERLONG_3 = 1 << 2, /* E0 followed by 80..9F */
    U8_TOO_LARGE = 1 << 3,  /* above U+10FFFF: F4 followed by 90..BF, or F5..FF followed by 90..BF */
    U8_SURROGATE = 1 << 4,  /* ED followed by A0..BF */
    U8_OVERLONG_2 = 1 << 5, /* C0 or C1 followed by a continuation byte */
    U8_TOO_LARGE_1000 = 1 << 6, /* F5..FF followed by 80..8F */
    U8_OVERLONG_4 = 1 << 6,     /* F0 followed by 80..8F (shares the bit: F5..FF and F0 differ in the low nibble) */
    U8_TWO_CONTS = 1 << 7,      /* two continuation bytes: right only as the third or fourth byte */
    U8_CARRY = U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS,
};

/* Indexed by the previous byte's high nibble, its low nibble, and the current byte's high nibble. */
static const unsigned char u8_prev_high[16] = {
    U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,
    U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TOO_SHORT | U8_OVERLONG_2, U8_TOO_SHORT,
    U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE, U8_TOO_SHORT | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_OVERLONG_4};
static const unsigned char u8_prev_low[16] = {
    U8_CARRY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_OVERLONG_4, U8_CARRY | U8_OVERLONG_2, U8_CARRY, U8_CARRY,
    U8_CARRY | U8_TOO_LARGE, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
    U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
    U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
    U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
    U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_SURROGATE, U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
    U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000};
static const unsigned char u8_cur_high[16] = {
    U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
    U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_OVERLONG_3 | U8_TOO_LARGE_1000 | U8_OVERLONG_4,
    U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_OVERLONG_3 | U8_TOO_LARGE,
    U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE,
    U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
    U8_TOO_SHORT};

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* How many bytes of a block b[0..w) holding non-ASCII bytes the fast paths take, given the positions of its
 * special bytes (quote, backslash, control) and of its UTF-8 errors: up to the first special byte, or else
 * up to the last character boundary (a sequence cut by the block's end is left for the next block). Errors
 * count up to and including that byte, where a sequence it cuts short shows; -1 when there is one. */
static inline int block_end(const unsigned char *b, unsigned w, uint64_t special, uint64_t bad)
{
    unsigned end;
    if (special)
        end = (unsigned)__builtin_ctzll(special);
    else if (b[w - 1] >= 0xC0)
        end = w - 1;
    else if (b[w - 2] >= 0xE0)
        end = w - 2;
    else if (b[w - 3] >= 0xF0)
        end = w - 3;
    else
        end = w;
    return bad & (end >= 63 ? ~0ull : (2ull << end) - 1) ? -1 : (int)end;
}

/* GCC rebuilds a broadcast constant inside the loop from an immediate (three instructions a use) rather than
 * keep it in a register; an empty asm that claims to change it makes it opaque, so it is built once. */
#define KEEP_IN_REGISTER(v) __asm__("" : "+x"(v))

/* The AVX2 form of skip_plain for a string body that checks UTF-8 as it goes, 32 bytes at a time. i is at a
 * character boundary inside a string body, with i >= 3 (the UTF-8 check reads three bytes back; what lies
 * there is the end of a valid character or ASCII). Returns the index of the first quote, backslash or
 * control byte, all bytes before it being valid UTF-8; or, fewer than 32 bytes before the end, the
 * character boundary it reached. When a block holds a UTF-8 error it returns that block's start and sets
 * *slow, for the portable code to find and describe the error exactly as it always has. */
__attribute__((target("avx2"))) static size_t skip_body_avx2(const unsigned char *s, size_t n, size_t i, int *slow)
{
    if (n - i < 32)
        return i;
    __m256i quote = _mm256_set1_epi8('"'), bslash = _mm256_set1_epi8('\\'), c1f = _mm256_set1_epi8(0x1F);
    __m256i nib = _mm256_set1_epi8(0x0F), third = _mm256_set1_epi8((char)(0xE0 - 0x80)),
            fourth = _mm256_set1_epi8((char)(0xF0 - 0x80)), top = _mm256_set1_epi8((char)0x80);
    KEEP_IN_REGISTER(quote);
    KEEP_IN_REGISTER(bslash);
    KEEP_IN_REGISTER(c1f);
    KEEP_IN_REGISTER(nib);
    KEEP_IN_REGISTER(third);
    KEEP_IN_REGISTER(fourth);
    KEEP_IN_REGISTER(top);
    const __m256i b1_high = _mm256_broadcastsi128_si256(LOAD128(u8_prev_high));
    const __m256i b1_low = _mm256_broadcastsi128_si256(LOAD128(u8_prev_low));
    const __m256i b2_high = _mm256_broadcastsi128_si256(LOAD128(u8_cur_high));
    while (n - i >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        __m256i sp = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, bslash)),
                                     _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v));
        uint32_t special = (uint32_t)_mm256_movemask_epi8(sp), high = (uint32_t)_mm256_movemask_epi8(v);
        if (!high) {
            if (special)
                return i + (size_t)__builtin_ctz(special);
            i += 32;
            continue;
        }
        /* The UTF-8 check: p1, p2, p3 are the block loaded one, two and three bytes earlier, so that each
         * position sees the bytes before it. A bit set in all three lookups on (previous byte, this byte) is
         * an error; and two bytes after E0..FF or three after F0..FF a continuation byte must come (where the
         * lookups flag two continuation bytes in a row, the xor clears it). */
        __m256i p1 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i - 1)),
                p2 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i - 2)),
                p3 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i - 3));
        __m256i e = _mm256_and_si256(
            _mm256_and_si256(_mm256_shuffle_epi8(b1_high, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
                             _mm256_shuffle_epi8(b1_low, _mm256_and_si256(p1, nib))),
            _mm256_shuffle_epi8(b2_high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
        __m256i must = _mm256_or_si256(_mm256_subs_epu8(p2, third), _mm256_subs_epu8(p3, fourth));
        e = _mm256_xor_si256(e, _mm256_and_si256(must, top));
        uint32_t bad = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(e, _mm256_setzero_si256()));
        int end = block_end(s + i, 32, special, bad);
        if (end < 0) {
            *slow = 1;
            return i;
        }
        i += (size_t)end;
        if (special)
            return i;
    }
    return i;
}

/* The AVX-512 form of skip_body_avx2 (same contract), 64 bytes a step; the last 32 to 63 bytes of the line
 * are left to the AVX2 one. The nibble tables are repeated in the four 128-bit lanes. */
__attribute__((target("avx512f,avx512bw"))) static size_t skip_body_avx512(const unsigned char *s, size_t n,
                                                                           size_t i, int *slow)
{
    /* (GCC keeps these in registers by itself here: there are 32 of them) */
    const __m512i quote = _mm512_set1_epi8('"'), bslash = _mm512_set1_epi8('\\'), c1f = _mm512_set1_epi8(0x1F);
    const __m512i nib = _mm512_set1_epi8(0x0F), third = _mm512_set1_epi8((char)(0xE0 - 0x80)),
                  fourth = _mm512_set1_epi8((char)(0xF0 - 0x80)), top = _mm512_set1_epi8((char)0x80);
    const __m512i b1_high = _mm512_broadcast_i32x4(LOAD128(u8_prev_high));
    const __m512i b1_low = _mm512_broadcast_i32x4(LOAD128(u8_prev_low));
    const __m512i b2_high = _mm512_broadcast_i32x4(LOAD128(u8_cur_high));
    while (n - i >= 64) {
        __m512i v = _mm512_loadu_si512((const void *)(s + i));
        uint64_t special = _mm512_cmpeq_epi8_mask(v, quote) | _mm512_cmpeq_epi8_mask(v, bslash) |
                           _mm512_cmple_epu8_mask(v, c1f);
        uint64_t high = _mm512_movepi8_mask(v);
        if (!high) {
            if (special)
                return i + (size_t)__builtin_ctzll(special);
            i += 64;
            continue;
        }
        __m512i p1 = _mm512_loadu_si512((const void *)(s + i - 1)), p2 = _mm512_loadu_si512((const void *)(s + i - 2)),
                p3 = _mm512_loadu_si512((const void *)(s + i - 3));
        __m512i e = _mm512_and_si512(
            _mm512_and_si512(_mm512_shuffle_epi8(b1_high, _mm512_and_si512(_mm512_srli_epi16(p1, 4), nib)),
                             _mm512_shuffle_epi8(b1_low, _mm512_and_si512(p1, nib))),
            _mm512_shuffle_epi8(b2_high, _mm512_and_si512(_mm512_srli_epi16(v, 4), nib)));
        __m512i must = _mm512_or_si512(_mm512_subs_epu8(p2, third), _mm512_subs_epu8(p3, fourth));
        e = _mm512_xor_si512(e, _mm512_and_si512(must, top));
        int end = block_end(s + i, 64, special, _mm512_test_epi8_mask(e, e));
        if (end < 0) {
            *slow = 1;
            return i;
        }
        i += (size_t)end;
        if (special)
            return i;
    }
    return skip_body_avx2(s, n, i, slow);
}
#endif

enum { PATH_PORTABLE, PATH_AVX2, PATH_AVX512 };

/* The fastest path this CPU has, unless a test asked for another. */
static int simd_path(void)
{
#if HAVE_AVX2
    if (forced_path != CP_JSON_PATH_PORTABLE && __builtin_cpu_supports("avx2")) {
        if (forced_path == CP_JSON_PATH_AUTO && __builtin_cpu_supports("avx512bw"))
            return PATH_AVX512;
        return PATH_AVX2;
    }
#endif
    return PATH_PORTABLE;
}

/* s[i] is '"'. Returns the index just past the closing quote; *escaped becomes 1 if a backslash is met. */
static size_t scan_string(scanner *sc, size_t i, uint8_t *escaped)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n;
    i++;
#if HAVE_AVX2
    int slow = sc->path == PATH_PORTABLE;
#endif
    for (;;) {
#if HAVE_AVX2
        if (!slow && i >= 3)
            i = sc->path == PATH_AVX512 ? skip_body_avx512(s, n, i, &slow) : skip_body_avx2(s, n, i, &slow);
#endif
        i = skip_plain(s, n, i);
        if (i >= n)
            return fail(sc, n, "unterminated string");
        unsigned c = s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            *escaped = 1;
            if (i + 1 >= n)
                return fail(sc, n, "unterminated string");
            switch (s[i + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                i += 2;
                continue;
            case 'u':
                break;
            default:
                return fail(sc, i, "invalid escape");
            }
            long u = hex4(s, n, i + 2);
            if (u < 0)
                return fail(sc, i, "invalid \\u escape: four hex digits expected");
            if (u >= 0xDC00 && u <= 0xDFFF)
                return fail(sc, i, "\\u escape of a low surrogate without a high one");
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = i + 7 < n && s[i + 6] == '\\' && s[i + 7] == 'u' ? hex4(s, n, i + 8) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(sc, i, "\\u escape of a high surrogate without a low one");
                i += 6;
            }
            i += 6;
            continue;
        }
        if (c < 0x20)
            return fail(sc, i, "unescaped control character in a string");
        do { /* a run of non-ASCII characters */
            size_t k = utf8_seq(s, n, i);
            if (!k)
                return fail(sc, i, "invalid UTF-8");
            i += k;
        } while (i < n && s[i] >= 0x80);
    }
}

/* Does the real number s[0..len) (valid JSON syntax) overflow a double? Only called near the limit. The
 * digits are handed to strtod without a decimal point, so the locale cannot change the answer. */
static int real_overflows(const unsigned char *s, size_t len)
{
    char *buf = cp_xmalloc(len + 32);
    size_t o = 0, i = 0, frac = 0;
    long long exp = 0;
    int in_frac = 0;
    for (; i < len && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.')
            in_frac = 1;
        else if (is_digit(s[i])) {
            buf[o++] = (char)s[i];
            frac += (size_t)in_frac;
        }
    }
    if (i < len) {
        int neg = s[++i] == '-';
        if (s[i] == '-' || s[i] == '+')
            i++;
        for (; i < len; i++)
            if (exp < 1000000)
                exp = exp * 10 + (s[i] - '0');
        if (neg)
            exp = -exp;
    }
    exp -= (long long)frac;
    snprintf(buf + o, 32, "e%lld", exp);
    double v = strtod(buf, NULL);
    free(buf);
    return isinf(v);
}

/* s[i] is '-' or a digit. Sets *type to CP_JSON_INTEGER or CP_JSON_REAL. */
static size_t scan_number(scanner *sc, size_t i, uint8_t *type)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n, start = i;
    int neg = s[i] == '-';
    i += (size_t)neg;
    if (i >= n || !is_digit(s[i]))
        return fail(sc, i, "invalid number: a digit must follow '-'");
    size_t int_start = i;
    if (s[i] == '0')
        i++;
    else
        while (i < n && is_digit(s[i]))
            i++;
    size_t int_digits = i - int_start;
    int real = 0;
    long long exp = 0;
    if (i < n && s[i] == '.') {
        real = 1;
        if (++i >= n || !is_digit(s[i]))
            return fail(sc, i, "invalid number: a digit must follow '.'");
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] | 0x20) == 'e') {
        real = 1;
        int eneg = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return fail(sc, i, "invalid number: the exponent has no digits");
        for (; i < n && is_digit(s[i]); i++)
            if (exp < 1000000)
                exp = exp * 10 + (s[i] - '0');
        if (eneg)
            exp = -exp;
    }
    if (!real) {
        /* int64_t holds 19 digits: compare as text at that length */
        if (int_digits > 19 ||
            (int_digits == 19 && memcmp(s + int_start, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
            return fail(sc, start, "integer out of range: beyond 64 bits");
        *type = CP_JSON_INTEGER;
    } else {
        /* below 10^(int_digits + exp) <= 10^308 < DBL_MAX, a number cannot overflow; above, ask strtod */
        if ((long long)int_digits + exp > 308 && real_overflows(s + start, i - start))
            return fail(sc, start, "number out of range: beyond a double");
        *type = CP_JSON_REAL;
    }
    return i;
}

/* At s[i] (white space skipped) an object key is expected; returns the index of its value (after ':'). */
static size_t scan_key(scanner *sc, size_t i, int first)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n;
    if (i >= n || s[i] != '"')
        return fail(sc, i, first ? "expected a string key or '}'" : "expected a string key after ','");
    uint8_t esc = 0;
    i = scan_string(sc, i, &esc);
    if (i == BAD)
        return BAD;
    i = skip_ws(s, n, i);
    if (i >= n || s[i] != ':')
        return fail(sc, i, "expected ':' after an object key");
    return skip_ws(s, n, i + 1);
}

/* Scans the value at s[i] (white space skipped) with everything nested in it; depth is the value's own
 * depth (1 at the top). Sets *type, and *escaped when the value is a string with a backslash escape.
 * Returns the index just past the value. */
static size_t scan_value(scanner *sc, size_t i, unsigned depth, uint8_t *type, uint8_t *escaped)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n;
    uint64_t is_obj[CP_JSON_MAX_DEPTH / 64 + 1]; /* bit k: container k (from the outside) is an object */
    unsigned level = 0;                           /* containers open inside this value */
    uint8_t t = 0, esc = 0;
    for (;;) {
        /* a value starts at s[i] */
        if (i >= n)
            return fail(sc, n, "expected a value");
        if (depth + level > CP_JSON_MAX_DEPTH)
            return fail(sc, i, "nested deeper than 2048 levels");
        unsigned char c = s[i];
        switch (c) {
        case '"':
            i = scan_string(sc, i, level ? &esc : escaped);
            t = CP_JSON_STRING;
            break;
        case '{':
        case '[': {
            uint64_t bit = 1ull << (level & 63);
            if (c == '{')
                is_obj[level >> 6] |= bit;
            else
                is_obj[level >> 6] &= ~bit;
            if (!level)
                *type = c == '{' ? CP_JSON_OBJECT : CP_JSON_ARRAY;
            level++;
            i = skip_ws(s, n, i + 1);
            if (i < n && s[i] == (c == '{' ? '}' : ']')) {
                level--;
                i++;
                break;
            }
            if (c == '{' && (i = scan_key(sc, i, 1)) == BAD)
                return BAD;
            continue;
        }
        case 't':
            t = CP_JSON_TRUE;
            i = n - i >= 4 && !memcmp(s + i, "true", 4) ? i + 4 : fail(sc, i, "invalid literal: true expected");
            break;
        case 'f':
            t = CP_JSON_FALSE;
            i = n - i >= 5 && !memcmp(s + i, "false", 5) ? i + 5 : fail(sc, i, "invalid literal: false expected");
            break;
        case 'n':
            t = CP_JSON_NULL;
            i = n - i >= 4 && !memcmp(s + i, "null", 4) ? i + 4 : fail(sc, i, "invalid literal: null expected");
            break;
        default:
            if (c != '-' && !is_digit(c))
                return fail(sc, i, "expected a value");
            i = scan_number(sc, i, &t);
        }
        if (i == BAD)
            return BAD;
        if (!level && t) {
            *type = t; /* a scalar at the top of this value */
            return i;
        }
        /* after a value inside containers: the next element, or close containers */
        for (;;) {
            if (!level)
                return i;
            i = skip_ws(s, n, i);
            int obj = (int)(is_obj[(level - 1) >> 6] >> ((level - 1) & 63) & 1);
            if (i < n && s[i] == ',') {
                i = skip_ws(s, n, i + 1);
                if (obj && (i = scan_key(sc, i, 0)) == BAD)
                    return BAD;
                break;
            }
            if (i < n && s[i] == (obj ? '}' : ']')) {
                level--;
                i++;
                continue;
            }
            return fail(sc, i, obj ? "expected ',' or '}' after an object member"
                                   : "expected ',' or ']' after an array element");
        }
    }
}

cp_json_type cp_json_scan(const char *line, size_t n, cp_json_member **members, uint32_t *n_members, uint32_t *cap,
                          cp_json_error *err)
{
    const unsigned char *s = (const unsigned char *)line;
    scanner sc = {s, n, err, simd_path()};
    uint8_t type = CP_JSON_INVALID, dummy = 0;
    *n_members = 0;
    if (n > UINT32_MAX) { /* member offsets are 32-bit (only with --max-line above 4G) */
        fail(&sc, 0, "line longer than 4 GiB");
        return CP_JSON_INVALID;
    }
    size_t i = skip_ws(s, n, 0);
    if (i < n && s[i] == '{') {
        type = CP_JSON_OBJECT;
        i = skip_ws(s, n, i + 1);
        if (i < n && s[i] == '}')
            i++;
        else
            for (;;) {
                if (i >= n || s[i] != '"') {
                    fail(&sc, i, *n_members ? "expected a string key after ','" : "expected a string key or '}'");
                    goto bad;
                }
                size_t k = i;
                uint8_t kesc = 0, vtype = 0, vesc = 0;
                if ((i = scan_string(&sc, i, &kesc)) == BAD)
                    goto bad;
                size_t kend = i;
                i = skip_ws(s, n, i);
                if (i >= n || s[i] != ':') {
                    fail(&sc, i, "expected ':' after an object key");
                    goto bad;
                }
                size_t v = skip_ws(s, n, i + 1);
                if ((i = scan_value(&sc, v, 2, &vtype, &vesc)) == BAD)
                    goto bad;
                if (*n_members == *cap) {
                    *cap = *cap ? *cap * 2 : 16;
                    *members = cp_xrealloc(*members, *cap * sizeof **members);
                }
                cp_json_member *m = &(*members)[(*n_members)++];
                m->key_off = (uint32_t)(k + 1);
                m->key_len = (uint32_t)(kend - k - 2);
                m->val_off = (uint32_t)v;
                m->val_len = (uint32_t)(i - v);
                m->type = vtype;
                m->key_escaped = kesc;
                m->val_escaped = vesc;
                i = skip_ws(s, n, i);
                if (i < n && s[i] == ',') {
                    i = skip_ws(s, n, i + 1);
                    continue;
                }
                if (i < n && s[i] == '}') {
                    i++;
                    break;
                }
                fail(&sc, i, "expected ',' or '}' after an object member");
                goto bad;
            }
    } else if ((i = scan_value(&sc, i, 1, &type, &dummy)) == BAD) {
        goto bad;
    }
    i = skip_ws(s, n, i);
    if (i == n)
        return (cp_json_type)type;
    fail(&sc, i, "expected the end of the line after the value");
bad:
    *n_members = 0;
    return CP_JSON_INVALID;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Copies s[i..) to out[o..) up to the first backslash or the end; returns its index. */
static inline size_t copy_plain(const unsigned char *s, size_t n, size_t i, char *out, size_t *o)
{
    const unsigned char *b = memchr(s + i, '\\', n - i);
    size_t j = b ? (size_t)(b - s) : n;
    memcpy(out + *o, s + i, j - i);
    *o += j - i;
    return j;
}

#if HAVE_AVX2
/* copy_plain, 32 bytes a step: texts have an escape every few hundred bytes (a newline), and a memchr and a
 * memcpy call per run cost more than copying in place. The stores stay inside out[0..n) because o <= i;
 * the last 31 bytes or fewer go to copy_plain. */
__attribute__((target("avx2"))) static size_t copy_plain_avx2(const unsigned char *s, size_t n, size_t i, char *out,
                                                              size_t *o)
{
    size_t d = i - *o;
    const __m256i bslash = _mm256_set1_epi8('\\');
    while (n - i >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        _mm256_storeu_si256((__m256i *)(void *)(out + i - d), v);
        uint32_t mask = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bslash));
        if (mask) {
            i += (size_t)__builtin_ctz(mask);
            *o = i - d;
            return i;
        }
        i += 32;
    }
    *o = i - d;
    return copy_plain(s, n, i, out, o);
}
#endif

size_t cp_json_unescape(const char *str, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
#if HAVE_AVX2
    int avx2 = simd_path() != PATH_PORTABLE;
#endif
    while (i < n) {
#if HAVE_AVX2
        size_t j = avx2 ? copy_plain_avx2(s, n, i, out, &o) : copy_plain(s, n, i, out, &o);
#else
        size_t j = copy_plain(s, n, i, out, &o);
#endif
        if (j >= n)
            break;
        char c = (char)s[j + 1];
        i = j + 2;
        switch (c) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned long cp = (unsigned long)hex4(s, n, i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* the scanner checked that the low half follows */
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)hex4(s, n, i + 2) - 0xDC00);
                i += 6;
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default: out[o++] = c; /* '"', '\\', '/' */
        }
    }
    return o;
}

const char *cp_json_set_path(cp_json_path p)
{
    forced_path = p;
    int path = simd_path();
    return path == PATH_AVX512 ? "avx512" : path == PATH_AVX2 ? "avx2" : USE_SSE2 ? "sse2" : "swar";
}

int64_t cp_json_integer_value(const char *s, size_t n)
{
    int neg = n && s[0] == '-';
    uint64_t u = 0;
    for (size_t i = (size_t)neg; i < n; i++)
        u = u * 10 + (uint64_t)(s[i] - '0');
    return neg ? -(int64_t)(u - 1) - 1 : (int64_t)u;
}
