/* Text normalisation: UTF-8 repair, NFC, line ends, control characters, blank lines.
 * NFC (utf8proc_map) is called only when a quick check finds a code point it could change. */
#include "corpusprep/normalize.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* NFC quick check (the Unicode quick-check idea, made conservative): a code point is "stable" when it
 * has combining class 0, cannot be the second part of a canonical composition, is not Hangul (composed by
 * algorithm) and, when it has a canonical decomposition, is a precomposed character that NFC keeps (not
 * excluded from composition, not a singleton, starting with a starter). Text made only of stable code
 * points is already NFC, so utf8proc_map runs only for text with combining marks and the like. The answers
 * for U+0000..U+1FFFF (which covers emoji) are computed once into a bit table; above that we ask utf8proc. */
#define NFC_TABLE_LIMIT 0x20000
static uint8_t nfc_stable[NFC_TABLE_LIMIT / 8];
static pthread_once_t nfc_once = PTHREAD_ONCE_INIT;

static int stable_cp(utf8proc_int32_t cp)
{
    if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F) || (cp >= 0xAC00 && cp <= 0xD7FF))
        return 0;
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    if (p->combining_class)
        return 0;
    if (p->comb_index != UINT16_MAX && (p->comb_index & 0x8000))
        return 0;
    if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {
        if (p->comp_exclusion)
            return 0;
        utf8proc_int32_t d[8];
        int last = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &last);
        if (k < 2 || k > 8 || utf8proc_get_property(d[0])->combining_class)
            return 0;
        /* a singleton whose target decomposes further (U+212B -> U+00C5 -> A U+030A, U+1F71 -> U+03AC)
         * passes the tests above: NFC must give the code point itself back */
        if (utf8proc_normalize_utf32(d, k, UTF8PROC_COMPOSE | UTF8PROC_STABLE) != 1 || d[0] != cp)
            return 0;
    }
    return 1;
}

static void nfc_table_init(void)
{
    for (utf8proc_int32_t cp = 0; cp < NFC_TABLE_LIMIT; cp++)
        if (stable_cp(cp))
            nfc_stable[cp >> 3] |= (uint8_t)(1u << (cp & 7));
}

static int is_stable(utf8proc_int32_t cp)
{
    return cp >= NFC_TABLE_LIMIT ? stable_cp(cp) : (nfc_stable[cp >> 3] >> (cp & 7)) & 1;
}

/* From i, which starts a code point, to the first code point that is not stable (n when there is none).
 * *bound gets the start of the last stable code point before it, or i: the place NFC can start from,
 * since a stable code point neither combines with what comes before it nor reorders across it. */
static size_t next_unstable(const unsigned char *s, size_t i, size_t n, size_t *bound)
{
    size_t b = i;
    while (i < n) {
        uint64_t x;
        if (i + 8 <= n && (memcpy(&x, s + i, 8), !(x & CP_HIGH8))) { /* eight ASCII bytes */
            b = i + 7;
            i += 8;
            continue;
        }
        if (s[i] < 0xCC) { /* below U+0300: always stable (a continuation byte starts nothing) */
            if ((s[i] & 0xC0) != 0x80)
                b = i;
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0 || !is_stable(cp))
            break;
        b = i;
        i += (size_t)k;
    }
    *bound = b;
    return i;
}

/* From i, which starts a code point that is not stable, to the next stable code point (or n). */
static size_t next_stable(const unsigned char *s, size_t i, size_t n)
{
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            i++;
            while (i < n && (s[i] & 0xC0) == 0x80)
                i++;
            continue;
        }
        if (is_stable(cp))
            return i;
        i += (size_t)k;
    }
    return n;
}

/* Appends NFC of one segment to dst; 1 when it differs from the segment. A segment is usually a letter and
 * its marks, so it is decomposed into a stack buffer; a long one goes through utf8proc_map. */
static int nfc_segment(const unsigned char *seg, size_t len, cp_buf *dst)
{
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_int32_t cps[256];
    const utf8proc_uint8_t *res = NULL;
    utf8proc_uint8_t *heap = NULL;
    utf8proc_ssize_t r = utf8proc_decompose(seg, (utf8proc_ssize_t)len, cps, 255, opt);
    if (r >= 0 && r < 255) {
        r = utf8proc_reencode(cps, r, opt); /* needs one entry to spare */
        res = (const utf8proc_uint8_t *)cps;
    } else if (r >= 0) {
        r = utf8proc_map(seg, (utf8proc_ssize_t)len, &heap, opt);
        res = heap;
    }
    int changed = 0;
    if (r < 0) { /* cannot happen on repaired text; keep the bytes */
        cp_buf_append(dst, seg, len);
    } else {
        changed = (size_t)r != len || memcmp(res, seg, len);
        cp_buf_append(dst, res, (size_t)r);
    }
    free(heap);
    return changed;
}

/* NFC of out[start..) in place, running utf8proc only on the segments around code points that are not
 * stable; tmp is scratch. Returns 1 when the text changed. */
int cp_nfc_in_place(cp_buf *out, size_t start, cp_buf *tmp)
{
    pthread_once(&nfc_once, nfc_table_init);
    const unsigned char *s = (const unsigned char *)out->data + start;
    size_t n = out->len - start, bound;
    size_t i = next_unstable(s, 0, n, &bound);
    if (i == n)
        return 0;
    int changed = 0;
    size_t done = 0; /* s[0..done) is in tmp */
    tmp->len = 0;
    while (i < n) {
        size_t end = next_stable(s, i, n);
        cp_buf_append(tmp, s + done, bound - done);
        changed |= nfc_segment(s + bound, end - bound, tmp);
        done = end;
        i = next_unstable(s, end, n, &bound);
    }
    if (!changed)
        return 0;
    cp_buf_append(tmp, s + done, n - done);
    out->len = start;
    cp_buf_append(out, tmp->data, tmp->len);
    return 1;
}

/* Bytes that need a decision: C0 controls (line ends and TAB among them), DEL, the lead byte of C1
 * controls (C2) and of the BOM (EF). Everything else is copied in runs. */
static unsigned char special[256];
static pthread_once_t special_once = PTHREAD_ONCE_INIT; /* first use is in the parallel stage */

static void init_special(void)
{
    for (int c = 0; c < 0x20; c++)
        special[c] = 1;
    special[0x7f] = special[0xC2] = special[0xEF] = 1;
}

/* Removes controls and fixes line ends and blank lines, from in to out. A line's separator is written
 * before the line and taken back when the line turns out blank, so nothing is moved twice. */
static void tidy_lines(const char *in, size_t n, cp_buf *out, cp_norm_counts *c)
{
    pthread_once(&special_once, init_special);
    const unsigned char *s = (const unsigned char *)in;
    cp_buf_reserve(out, n + 2);
    char *o = out->data + out->len;
    char *const o0 = o;
    char *line_start = o; /* first byte of the current line's content */
    char *sep_start = o;  /* where the separator before it starts */
    int blank_run = 0, have_text = 0;
    size_t i = 0;
    for (;;) {
        /* copy a run of ordinary bytes */
        size_t j = i;
        while (j + 8 <= n) { /* eight bytes at a time while none is special */
            uint64_t x;
            memcpy(&x, s + j, 8);
            if (cp_bytes_lt(x, 0x20) | cp_bytes_eq(x, 0x7F) | cp_bytes_eq(x, 0xC2) | cp_bytes_eq(x, 0xEF))
                break;
            j += 8;
        }
        while (j < n && !special[s[j]])
            j++;
        memcpy(o, s + i, j - i);
        o += j - i;
        i = j;
        if (i < n) {
            unsigned char ch = s[i];
            if (ch == '\t') {
                *o++ = '\t';
                i++;
                continue;
            }
            if (ch == 0xC2) {
                if (i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) { /* C1 control */
                    c->controls++;
                    i += 2;
                } else {
                    *o++ = (char)ch;
                    i++;
                }
                continue;
            }
            if (ch == 0xEF) {
                if (i + 2 < n && s[i + 1] == 0xBB && s[i + 2] == 0xBF) { /* BOM / ZWNBSP */
                    c->controls++;
                    i += 3;
                } else {
                    *o++ = (char)ch;
                    i++;
                }
                continue;
            }
            if (ch != '\n' && ch != '\r') {
                c->controls++;
                i++;
                continue;
            }
        }
        /* end of a line (or of the text) */
        while (o > line_start && (o[-1] == ' ' || o[-1] == '\t'))
            o--;
        if (o == line_start) {
            o = sep_start; /* blank: take the separator back */
            if (have_text)
                blank_run++;
        } else {
            have_text = 1;
            blank_run = 0;
        }
        if (i >= n)
            break;
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        i++;
        sep_start = o;
        if (have_text) {
            *o++ = '\n';
            if (blank_run)
                *o++ = '\n';
        }
        line_start = o;
    }
    /* a separator is at most two bytes and replaces at least one input byte (the line end) plus the
     * blank line(s) it stands for, so out never exceeds n + 2 bytes */
    out->len += (size_t)(o - o0);
    out->data[out->len] = 0;
}

static void normalize(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c, int check_utf8)
{
    const char *src = s;
    size_t len = n;
    tmp->len = 0;
    if (check_utf8 && cp_utf8_valid_prefix(s, n) != n) {
        c->utf8_fixed += cp_utf8_repair(s, n, tmp);
        src = tmp->data;
        len = tmp->len;
    }
    /* NFC comes after tidying: removing a control can bring a combining mark next to the letter it
     * composes with, and NFC never creates controls, line ends or trailing blanks, so one pass is final. */
    size_t start = out->len;
    tidy_lines(src, len, out, c);
    if (cp_nfc_in_place(out, start, tmp))
        c->nfc_changed++;
}

void cp_normalize_text(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c)
{
    normalize(s, n, out, tmp, c, 1);
}

void cp_normalize_valid_text(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c)
{
    normalize(s, n, out, tmp, c, 0);
}
