/* Shared helpers: growable buffers, fatal-on-OOM allocation, UTF-8 validation and repair, JSON string
 * escaping. The UTF-8 code is on the hot path of every document, so it skips ASCII eight bytes at a time. */
#include "corpusprep/util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void *cp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "corpusprep: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *cp_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "corpusprep: out of memory (%zu x %zu bytes)\n", n, size);
        abort();
    }
    return p;
}

void *cp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "corpusprep: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

char *cp_xstrndup(const char *s, size_t n)
{
    char *p = cp_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *cp_xstrdup(const char *s) { return cp_xstrndup(s, strlen(s)); }

void cp_buf_reserve(cp_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap += cap / 2 + 64;
    b->data = cp_xrealloc(b->data, cap);
    b->cap = cap;
}

void cp_buf_append(cp_buf *b, const void *p, size_t n)
{
    cp_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void cp_buf_putc(cp_buf *b, char c)
{
    cp_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = 0;
}

void cp_buf_puts(cp_buf *b, const char *s) { cp_buf_append(b, s, strlen(s)); }

void cp_buf_printf(cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    cp_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cp_buf_free(cp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when it is invalid or truncated.
 * Follows RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
    unsigned c = s[i];
    if (c < 0x80)
        return c ? 1 : 0;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (i + 2 >= n)
            return 0;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && c1 < 0xA0)
            return 0;
        if (c == 0xED && c1 >= 0xA0)
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (i + 3 >= n)
            return 0;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && c1 < 0x90)
            return 0;
        if (c == 0xF4 && c1 >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

/* True when the 8 bytes at p are ASCII without NUL. */
static int ascii8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t hi = 0x8080808080808080ull, lo = 0x0101010101010101ull;
    return !(v & hi) && !((v - lo) & ~v & hi);
}

size_t cp_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n && ascii8(s + i)) {
            i += 8;
            continue;
        }
        size_t k = utf8_seq(s, i, n);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

size_t cp_utf8_repair(const char *str, size_t n, cp_buf *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t fixes = 0, i = 0;
    cp_buf_reserve(out, n);
    while (i < n) {
        size_t good = cp_utf8_valid_prefix(str + i, n - i);
        cp_buf_append(out, str + i, good);
        i += good;
        if (i >= n)
            break;
        fixes++;
        if (s[i] == 0) {
            i++;
            continue;
        }
        cp_buf_append(out, "\xEF\xBF\xBD", 3);
        /* Skip the lead byte and any continuation bytes that belonged to it, so one broken character
         * becomes one U+FFFD rather than several. */
        i++;
        while (i < n && (s[i] & 0xC0) == 0x80 && !utf8_seq(s, i, n))
            i++;
    }
    return fixes;
}

void cp_json_escape(cp_buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    cp_buf_reserve(out, n + 2);
    out->data[out->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        /* eight bytes at a time while none is a control character, '"' or backslash */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (cp_bytes_lt(x, 0x20) | cp_bytes_eq(x, '"') | cp_bytes_eq(x, '\\'))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        cp_buf_append(out, str + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': cp_buf_append(out, "\\\"", 2); break;
        case '\\': cp_buf_append(out, "\\\\", 2); break;
        case '\n': cp_buf_append(out, "\\n", 2); break;
        case '\t': cp_buf_append(out, "\\t", 2); break;
        case '\r': cp_buf_append(out, "\\r", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cp_buf_append(out, u, 6);
        }
        }
    }
    cp_buf_append(out, str + start, n - start);
    cp_buf_putc(out, '"');
}

double cp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double cp_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cp_masks64_of(const unsigned char *p, cp_masks64 *m)
{
    memset(m, 0, sizeof *m);
#if defined(__SSE2__)
    const __m128i limit = _mm_set1_epi8(' '), sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        int at = 16 * k;
        m->ctl |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, limit), x)) << at;
        m->blank |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, sp), _mm_cmpeq_epi8(x, tab)))
                    << at;
        uint64_t hi = (uint16_t)_mm_movemask_epi8(x);
        if (!hi)
            continue;
        m->b7 |= hi << at;
        x = _mm_add_epi8(x, x); /* a byte added to itself moves its next bit up to bit 7 */
        m->b6 |= ((uint64_t)(uint16_t)_mm_movemask_epi8(x) & hi) << at;
        x = _mm_add_epi8(x, x);
        m->b5 |= ((uint64_t)(uint16_t)_mm_movemask_epi8(x) & hi) << at;
        x = _mm_add_epi8(x, x);
        m->b4 |= ((uint64_t)(uint16_t)_mm_movemask_epi8(x) & hi) << at;
        x = _mm_add_epi8(x, x);
        m->b3 |= ((uint64_t)(uint16_t)_mm_movemask_epi8(x) & hi) << at;
    }
#else
    for (int k = 0; k < 64; k++) {
        uint64_t bit = 1ULL << k;
        unsigned c = p[k];
        m->ctl |= c <= ' ' ? bit : 0;
        m->blank |= c == ' ' || c == '\t' ? bit : 0;
        if (c < 0x80)
            continue;
        m->b7 |= bit;
        m->b6 |= c & 0x40 ? bit : 0;
        m->b5 |= c & 0x20 ? bit : 0;
        m->b4 |= c & 0x10 ? bit : 0;
        m->b3 |= c & 0x08 ? bit : 0;
    }
#endif
}

int cp_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}
