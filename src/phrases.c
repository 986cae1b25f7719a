/* phrases: the phrase lists of line cleaning (C4's policy phrases, "javascript", "lorem ipsum", the news
 * boilerplate of configs/boilerplate/) compiled into one Aho-Corasick automaton over case-folded bytes, so
 * a line is scanned once whatever the number of phrases, and the scan of one line: which kinds of phrase
 * it holds anywhere (at word boundaries) or as the whole line once decorations are trimmed.
 * A cp_phrases is read-only after cp_phrases_build: any number of threads may scan with it at once. */
#include "corpusprep/phrases.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/util.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    int nclass;
    unsigned char cls[256];
    int nstate, cap;
    int *next;          /* nstate * nclass, complete DFA after build */
    int *fail, *dict;   /* dict: nearest proper suffix state that ends a phrase (0 = none) */
    unsigned *kinds;    /* kinds of the phrase ending in this state (0 = none) */
    unsigned short *plen;
    unsigned char *edge; /* bit 0: phrase starts with a word char, bit 1: ends with one */
    /* The scanning form: tr[s * nclass + k] is the next state times nclass, with AC_OUT set when a phrase
     * ends there; the class of a byte is fcls[c], or fcls[256 + c] right after a 0xC3 lead byte, which
     * folds case on the fly (the same fold as fold()), so lines are scanned without a folded copy. */
    uint32_t *tr;
    int *orig; /* state of next[] for a state of tr */
    unsigned short fcls[512];
    size_t maxplen; /* longest phrase in bytes */
} ac_t;

/* The phrases that count anywhere in a line of any length (JS, POLICY, LOREM), for the long-line scan's
 * presence test; n_anywhere = -1 when one of them is not plain ASCII of two bytes or more, or there are
 * too many: then that scan is the full one. */
enum { MAX_ANYWHERE = 16 };
#define ANYWHERE_KINDS (CP_PHRASE_JS | CP_PHRASE_POLICY | CP_PHRASE_LOREM)

struct cp_phrases {
    ac_t ac;
    int n_anywhere;
    const char *anywhere[MAX_ANYWHERE]; /* folded (lower case), in the list */
    size_t anywhere_len[MAX_ANYWHERE];
    char *anywhere_text;
};

#define AC_OUT 0x80000000u

static inline int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Whether the character at s (or ending just before f[at]) is part of a word: ASCII letters and digits,
 * and any non-ASCII character except Latin-1 and General Punctuation symbols (U+0080..U+00BF,
 * U+2000..U+206F: quotes, dashes, guillemets, spaces). */
static int word_at(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return is_word_byte(s[0]);
    if (s[0] == 0xC2)
        return 0;
    if (s[0] == 0xE2 && n > 1 && (s[1] == 0x80 || s[1] == 0x81))
        return 0;
    return 1;
}

static int word_before(const unsigned char *f, size_t at)
{
    size_t i = at - 1;
    while (i > 0 && (f[i] & 0xC0) == 0x80 && at - i < 4)
        i--;
    return word_at(f + i, at - i);
}

/* Length-preserving case fold: ASCII and the Latin-1 capitals (U+00C0..U+00DE but U+00D7). */
static void fold(const unsigned char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        else if (c == 0xC3 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9E && s[i + 1] != 0x97) {
            out[i++] = c;
            c = s[i] + 32;
        }
        out[i] = c;
    }
}

static int ac_new_state(ac_t *a)
{
    if (a->nstate == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->next = cp_xrealloc(a->next, (size_t)a->cap * (size_t)a->nclass * sizeof(int));
        a->fail = cp_xrealloc(a->fail, (size_t)a->cap * sizeof(int));
        a->dict = cp_xrealloc(a->dict, (size_t)a->cap * sizeof(int));
        a->kinds = cp_xrealloc(a->kinds, (size_t)a->cap * sizeof(unsigned));
        a->plen = cp_xrealloc(a->plen, (size_t)a->cap * sizeof(unsigned short));
        a->edge = cp_xrealloc(a->edge, (size_t)a->cap);
    }
    int s = a->nstate++;
    for (int k = 0; k < a->nclass; k++)
        a->next[(size_t)s * a->nclass + k] = -1;
    a->fail[s] = a->dict[s] = 0;
    a->kinds[s] = 0;
    a->plen[s] = 0;
    a->edge[s] = 0;
    return s;
}

typedef struct {
    char *text; /* folded */
    unsigned kinds;
} phrase_t;

struct cp_phrase_list {
    phrase_t *v;
    size_t n, cap;
};

void cp_phrase_list_add(cp_phrase_list *p, const char *s, unsigned kinds)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200)
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = cp_xrealloc(p->v, p->cap * sizeof *p->v);
    }
    char *f = cp_xmalloc(n + 1);
    fold((const unsigned char *)s, n, (unsigned char *)f);
    f[n] = 0;
    p->v[p->n].text = f;
    p->v[p->n++].kinds = kinds;
}

static void ac_build(ac_t *a, const cp_phrase_list *p)
{
    memset(a, 0, sizeof *a);
    int used[256] = {0};
    for (size_t i = 0; i < p->n; i++)
        for (const unsigned char *c = (const unsigned char *)p->v[i].text; *c; c++)
            used[*c] = 1;
    a->nclass = 1;
    for (int c = 0; c < 256; c++)
        a->cls[c] = used[c] ? (unsigned char)a->nclass++ : 0;
    ac_new_state(a);
    for (size_t i = 0; i < p->n; i++) {
        const unsigned char *t = (const unsigned char *)p->v[i].text;
        size_t n = strlen((const char *)t);
        int s = 0;
        for (size_t j = 0; j < n; j++) {
            int *nx = &a->next[(size_t)s * a->nclass + a->cls[t[j]]];
            if (*nx < 0) {
                int ns = ac_new_state(a); /* may move a->next */
                a->next[(size_t)s * a->nclass + a->cls[t[j]]] = ns;
                s = ns;
            } else {
                s = *nx;
            }
        }
        a->kinds[s] |= p->v[i].kinds;
        a->plen[s] = (unsigned short)n;
        if (n > a->maxplen)
            a->maxplen = n;
        a->edge[s] = (unsigned char)((word_at(t, n) ? 1 : 0) | (word_before(t, n) ? 2 : 0));
    }
    /* Breadth-first: failure links, output links, and the missing transitions filled in. */
    int *queue = cp_xmalloc((size_t)a->nstate * sizeof(int));
    size_t qh = 0, qt = 0;
    for (int k = 0; k < a->nclass; k++) {
        int *nx = &a->next[k];
        if (*nx < 0) {
            *nx = 0;
        } else {
            a->fail[*nx] = 0;
            queue[qt++] = *nx;
        }
    }
    while (qh < qt) {
        int s = queue[qh++];
        int f = a->fail[s];
        a->dict[s] = a->kinds[f] ? f : a->dict[f];
        for (int k = 0; k < a->nclass; k++) {
            int *nx = &a->next[(size_t)s * a->nclass + k];
            int via = a->next[(size_t)f * a->nclass + k];
            if (*nx < 0) {
                *nx = via;
            } else {
                a->fail[*nx] = via;
                queue[qt++] = *nx;
            }
        }
    }
    /* The scanning table numbers states breadth-first: the shallow states, where text spends nearly
     * all its time, share cache lines. */
    int *perm = cp_xmalloc((size_t)a->nstate * sizeof(int));
    a->orig = cp_xmalloc((size_t)a->nstate * sizeof(int));
    perm[0] = a->orig[0] = 0;
    for (size_t j = 0; j < qt; j++) {
        perm[queue[j]] = (int)j + 1;
        a->orig[j + 1] = queue[j];
    }
    free(queue);
    size_t cells = (size_t)a->nstate * (size_t)a->nclass;
    a->tr = cp_xmalloc(cells * sizeof(uint32_t));
    for (int ns = 0; ns < a->nstate; ns++)
        for (int k = 0; k < a->nclass; k++) {
            int t = a->next[(size_t)a->orig[ns] * a->nclass + k];
            a->tr[(size_t)ns * a->nclass + k] =
                (uint32_t)perm[t] * (uint32_t)a->nclass | (a->kinds[t] || a->dict[t] ? AC_OUT : 0);
        }
    free(perm);
    for (int c = 0; c < 256; c++) {
        unsigned char in[2] = {(unsigned char)c, 0}, out[2];
        fold(in, 1, out);
        a->fcls[c] = a->cls[out[0]];
        in[0] = 0xC3;
        in[1] = (unsigned char)c;
        fold(in, 2, out);
        a->fcls[256 + c] = a->cls[out[1]];
    }
}

static void ac_free(ac_t *a)
{
    free(a->next);
    free(a->fail);
    free(a->dict);
    free(a->kinds);
    free(a->plen);
    free(a->edge);
    free(a->tr);
    free(a->orig);
}

/* Decoration around a whole-line phrase ("Read more »", "- Advertisement -", "Share:"): bytes trimmed from
 * both ends of the folded line before testing whole-line and end-of-line phrases. */
static size_t deco_len_at_end(const unsigned char *s, size_t n)
{
    static const char *const multi[] = {"\xc2\xbb", "\xc2\xab", "\xe2\x80\xba", "\xe2\x80\xb9", "\xe2\x86\x92",
                                        "\xe2\x80\xa6", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\xa2",
                                        "\xc2\xb7", "\xe2\x96\xb6", "\xe2\x96\xba", NULL};
    if (!n)
        return 0;
    if (strchr(" \t.:;,!?|>-<*()[]/", s[n - 1]))
        return 1;
    for (int i = 0; multi[i]; i++) {
        size_t m = strlen(multi[i]);
        if (m <= n && !memcmp(s + n - m, multi[i], m))
            return m;
    }
    return 0;
}

static size_t deco_len_at_start(const unsigned char *s, size_t n)
{
    static const char *const multi[] = {"\xc2\xbb", "\xe2\x80\xba", "\xe2\x86\x92", "\xe2\x80\x93",
                                        "\xe2\x80\x94", "\xe2\x80\xa2", "\xc2\xb7", "\xe2\x96\xb6",
                                        "\xe2\x96\xba", NULL};
    if (!n)
        return 0;
    if (strchr(" \t.:;,!?|>-<*()[]/", s[0]))
        return 1;
    for (int i = 0; multi[i]; i++) {
        size_t m = strlen(multi[i]);
        if (m <= n && !memcmp(s, multi[i], m))
            return m;
    }
    return 0;
}

/* Whether f[lo..start) and f[end..hi) hold a number and nothing but digits, separators and brackets. */
static int count_only(const unsigned char *f, size_t lo, size_t start, size_t end, size_t hi)
{
    int digits = 0;
    const size_t from[2] = {lo, end}, to[2] = {start, hi};
    for (int r = 0; r < 2; r++)
        for (size_t i = from[r]; i < to[r]; i++) {
            unsigned char ch = f[i];
            if (ch >= '0' && ch <= '9')
                digits = 1;
            else if (ch != ' ' && ch != ',' && ch != '.' && ch != '(' && ch != ')' && ch != '[' && ch != ']' &&
                     ch != '+')
                return 0;
        }
    return digits;
}

/* Per-line state of a scan: the result, and the decorations trimmed from both ends (computed at the first
 * phrase found). */
typedef struct {
    cp_phrase_hits *out;
    size_t lo, hi;
    int trimmed;
} scan_state;

/* The phrases of state off (a scanning-table offset with AC_OUT) that end at f[i]. Order-independent (kinds
 * are OR-ed, the marker start is a minimum), so a phrase may be reported twice. */
static void scan_match(const ac_t *a, const unsigned char *f, size_t n, size_t i, uint32_t off, scan_state *st)
{
    cp_phrase_hits *out = st->out;
    int s = a->orig[off / (uint32_t)a->nclass];
    for (int t = a->kinds[s] ? s : a->dict[s]; t; t = a->dict[t]) {
        size_t end = i + 1, start = end - a->plen[t];
        if ((a->edge[t] & 1) && start > 0 && word_before(f, start))
            continue; /* the phrase starts inside a word */
        if ((a->edge[t] & 2) && end < n && word_at(f + end, n - end))
            continue;
        if (!st->trimmed) {
            size_t k;
            st->hi = n;
            while (st->hi > st->lo && (k = deco_len_at_end(f + st->lo, st->hi - st->lo)))
                st->hi -= k;
            while (st->lo < st->hi && (k = deco_len_at_start(f + st->lo, st->hi - st->lo)))
                st->lo += k;
            st->trimmed = 1;
        }
        const size_t lo = st->lo, hi = st->hi;
        unsigned k2 = a->kinds[t];
        out->any |= k2 & (CP_PHRASE_BANNER | CP_PHRASE_CAPTION | CP_PHRASE_JS | CP_PHRASE_POLICY | CP_PHRASE_LOREM | CP_PHRASE_END);
        if (start <= lo && end >= hi)
            out->whole |= k2 & ~(unsigned)CP_PHRASE_END_COUNT;
        else if ((k2 & CP_PHRASE_END_COUNT) && start >= lo && end <= hi && count_only(f, lo, start, end, hi))
            out->whole |= CP_PHRASE_END_COUNT;
        else if ((k2 & CP_PHRASE_MARKER) && end >= hi && start > lo && start < out->marker_start)
            out->marker_start = start;
    }
}

/* Runs the automaton over f[i..n) from state off (after_c3: 256 when f[i - 1] is 0xC3), recording matches. */
static void scan_run(const ac_t *a, const unsigned char *f, size_t n, size_t i, uint32_t off, unsigned after_c3,
                     scan_state *st)
{
    const uint32_t *tr = a->tr;
    const unsigned short *fcls = a->fcls;
    for (; i < n; i++) {
        unsigned char c = f[i];
        uint32_t v = tr[off + fcls[after_c3 | c]];
        after_c3 = c == 0xC3 ? 256 : 0;
        off = v & ~AC_OUT;
        if (v & AC_OUT)
            scan_match(a, f, n, i, off, st);
    }
}

/* Scans line f[0..n) (original case: the automaton folds as it goes; word boundaries and decorations
 * read the same on folded and unfolded valid UTF-8, as folding only maps letters to letters).
 * The automaton is one dependent load per byte, so a long line is scanned as two halves side by side (two
 * independent chains keep the core busy: 1.3x on the news slice): the second half starts maxplen bytes
 * early from the root, which finds every phrase that starts at or after its start, so every phrase that
 * ends past the first half's end is found; one found by both is reported twice, which changes nothing. */
void cp_phrases_scan_line(const cp_phrases *p, const char *line, size_t n, cp_phrase_hits *out)
{
    const ac_t *a = &p->ac;
    const unsigned char *f = (const unsigned char *)line;
    scan_state st = {out, 0, 0, 0};
    out->any = out->whole = 0;
    out->marker_start = SIZE_MAX;
    const uint32_t *tr = a->tr;
    const unsigned short *fcls = a->fcls;
    size_t i = 0;
    uint32_t off = 0;
    unsigned after_c3 = 0;
    if (n >= 2 * a->maxplen + 64) {
        const size_t m = (n + a->maxplen) / 2; /* first half [0, m), second [m - maxplen, n): equal lengths */
        size_t j = m - a->maxplen;
        uint32_t off2 = 0;
        unsigned after2 = f[j - 1] == 0xC3 ? 256 : 0;
        for (; i < m; i++, j++) {
            unsigned char c = f[i], c2 = f[j];
            uint32_t v = tr[off + fcls[after_c3 | c]], v2 = tr[off2 + fcls[after2 | c2]];
            after_c3 = c == 0xC3 ? 256 : 0;
            after2 = c2 == 0xC3 ? 256 : 0;
            off = v & ~AC_OUT;
            off2 = v2 & ~AC_OUT;
            if (__builtin_expect((v | v2) & AC_OUT, 0)) {
                if (v & AC_OUT)
                    scan_match(a, f, n, i, off, &st);
                if (v2 & AC_OUT)
                    scan_match(a, f, n, j, off2, &st);
            }
        }
        i = j; /* the second half's end of [m - maxplen, n) is at most a byte short of n */
        off = off2;
        after_c3 = after2;
    }
    scan_run(a, f, n, i, off, after_c3, &st);
}

/* Whether the ASCII phrase t[0..m) (folded, m >= 2) occurs in f[0..n) under the automaton's fold, at any
 * boundary. The bytes where its first and last bytes could be are found 16 at a time (x | 0x20 equals
 * t[k] | 0x20 for every byte that folds to t[k], and a few more); those are then compared in full. */
static int holds_ascii(const unsigned char *f, size_t n, const char *t, size_t m)
{
    if (n < m)
        return 0;
    const unsigned char a = (unsigned char)t[0] | 0x20, z = (unsigned char)t[m - 1] | 0x20;
    const size_t last = n - m; /* the last start */
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vz = _mm_set1_epi8((char)z), low = _mm_set1_epi8(0x20);
    for (; i + 16 <= last + 1; i += 16) {
        __m128i x = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(f + i)), low);
        __m128i y = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(f + i + m - 1)), low);
        unsigned cand = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(y, vz)));
        for (; cand; cand &= cand - 1) {
            size_t at = i + (size_t)__builtin_ctz(cand), k = 0;
            while (k < m && (f[at + k] >= 'A' && f[at + k] <= 'Z' ? f[at + k] + 32 : f[at + k]) == (unsigned char)t[k])
                k++;
            if (k == m)
                return 1;
        }
    }
#endif
    for (; i <= last; i++) {
        if ((f[i] | 0x20) != a || (f[i + m - 1] | 0x20) != z)
            continue;
        size_t k = 0;
        while (k < m && (f[i + k] >= 'A' && f[i + k] <= 'Z' ? f[i + k] + 32 : f[i + k]) == (unsigned char)t[k])
            k++;
        if (k == m)
            return 1;
    }
    return 0;
}

void cp_phrases_scan_long_line(const cp_phrases *p, const char *line, size_t n, cp_phrase_hits *out)
{
    const ac_t *a = &p->ac;
    const unsigned char *f = (const unsigned char *)line;
    if (p->n_anywhere < 0 || n <= 2 * a->maxplen) {
        cp_phrases_scan_line(p, line, n, out);
        return;
    }
    /* the decorations as scan_match trims them */
    size_t lo = 0, hi = n, k;
    while (hi > lo && (k = deco_len_at_end(f + lo, hi - lo)))
        hi -= k;
    while (lo < hi && (k = deco_len_at_start(f + lo, hi - lo)))
        lo += k;
    if (hi - lo <= a->maxplen) { /* a phrase could be the whole line */
        cp_phrases_scan_line(p, line, n, out);
        return;
    }
    for (int i = 0; i < p->n_anywhere; i++)
        if (holds_ascii(f, n, p->anywhere[i], p->anywhere_len[i])) {
            cp_phrases_scan_line(p, line, n, out);
            return;
        }
    /* No JS, POLICY or LOREM phrase, and none can be the whole line: what is left is a MARKER at the end,
     * which ends at hi or later and so starts at hi - maxplen or later, where the automaton starts afresh. */
    scan_state st = {out, 0, 0, 0};
    out->any = out->whole = 0;
    out->marker_start = SIZE_MAX;
    size_t i = hi - a->maxplen;
    scan_run(a, f, n, i, 0, i > 0 && f[i - 1] == 0xC3 ? 256 : 0, &st);
}

cp_phrase_list *cp_phrase_list_create(void)
{
    return cp_xcalloc(1, sizeof(cp_phrase_list));
}

size_t cp_phrase_list_size(const cp_phrase_list *p)
{
    return p->n;
}

void cp_phrase_list_destroy(cp_phrase_list *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].text);
    free(p->v);
    free(p);
}

cp_phrases *cp_phrases_build(const cp_phrase_list *list)
{
    if (!list->n)
        return NULL;
    cp_phrases *p = cp_xcalloc(1, sizeof *p);
    ac_build(&p->ac, list);
    size_t total = 0;
    for (size_t i = 0; i < list->n; i++)
        if (list->v[i].kinds & ANYWHERE_KINDS)
            total += strlen(list->v[i].text) + 1;
    p->anywhere_text = cp_xmalloc(total + 1);
    char *at = p->anywhere_text;
    for (size_t i = 0; i < list->n && p->n_anywhere >= 0; i++) {
        if (!(list->v[i].kinds & ANYWHERE_KINDS))
            continue;
        const char *t = list->v[i].text;
        size_t m = strlen(t);
        int ascii = m >= 2;
        for (size_t k = 0; k < m; k++)
            ascii &= (unsigned char)t[k] < 0x80;
        if (!ascii || p->n_anywhere == MAX_ANYWHERE) {
            p->n_anywhere = -1;
            break;
        }
        memcpy(at, t, m + 1);
        p->anywhere[p->n_anywhere] = at;
        p->anywhere_len[p->n_anywhere++] = m;
        at += m + 1;
    }
    return p;
}

void cp_phrases_destroy(cp_phrases *p)
{
    if (!p)
        return;
    ac_free(&p->ac);
    free(p->anywhere_text);
    free(p);
}
