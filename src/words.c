/* words: the filters' tokenisation. One pass over the text in 64-byte blocks turns each block into bit
 * masks (separators, letters, trim-surviving bytes, continuation bytes, '#') and writes its case-folded
 * copy; words are then read off the separator mask and keyed from the folded copy. The per-word work has no
 * data-dependent branch in the common case (a word of up to 16 bytes after trimming, within a block), so a
 * text of short words costs a few dozen instructions per word and no mispredicted branches on its letters.
 * Keys are 64-bit hashes: two different words share one with probability 2^-64. */
#include "corpusprep/words.h"

#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "corpusprep/util.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 0xFF for the bytes of a word of n <= 16 bytes and 0 after, loaded from MASK_BYTES + 16 - n: byte order
 * follows memory order on any machine. */
static const unsigned char mask_bytes[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

/* The key of p[0..n), n <= 16, reading 16 bytes at p (the caller guarantees they are readable): the bytes
 * past n are masked off, the two halves multiplied as 128 bits and folded (as XXH3 does for these lengths,
 * without its branches on the length). A final mix would not change which words share a key (it is a
 * bijection), and the high half of the product already mixes every input bit into the bits tables use. */
static inline uint64_t key16(const unsigned char *p, size_t n)
{
    uint64_t lo, hi, mlo, mhi;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    memcpy(&mlo, mask_bytes + 16 - n, 8);
    memcpy(&mhi, mask_bytes + 24 - n, 8);
    uint64_t a = (lo & mlo) ^ 0x1CAD21F72C81017Cull, b = ((hi & mhi) ^ 0xDB979083E96DD4DEull) + n;
    __extension__ unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/* folded: the trimmed word case-folded (with 16 readable bytes from it); raw: the same bytes unfolded. */
static inline uint64_t key_of(const unsigned char *folded, const unsigned char *raw, size_t n)
{
    if (n <= 16)
        return key16(folded, n);
    return XXH3_64bits(n <= 128 ? folded : raw, n);
}

static inline int trim_byte(unsigned char c)
{
    return c < 0x80 && !((c | 32) >= 'a' && (c | 32) <= 'z') && !(c >= '0' && c <= '9');
}

uint64_t cp_word_key(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    while (n && trim_byte(u[0]))
        u++, n--;
    while (n && trim_byte(u[n - 1]))
        n--;
    unsigned char buf[128 + 16] = {0};
    if (n <= 128)
        for (size_t i = 0; i < n; i++) {
            unsigned char c = u[i];
            if (c >= 'A' && c <= 'Z')
                c += 32;
            else if (i > 0 && u[i - 1] == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97)
                c += 32;
            buf[i] = c;
        }
    return key_of(buf, u, n);
}

void cp_words_free(cp_words *w)
{
    free(w->v);
    free(w->fold_buf);
    free(w->core);
    memset(w, 0, sizeof *w);
}

/* Masks of one 64-byte block (bit k describes p[k]); the folded bytes (ASCII capitals only) go to out. */
typedef struct {
    uint64_t sep;   /* ' ', '\t', '\n' */
    uint64_t alpha; /* ASCII letter or byte >= 0xC0 */
    uint64_t core;  /* survives the trim: ASCII letter or digit, or byte >= 0x80 */
    uint64_t cont;  /* 0x80..0xBF */
    uint64_t hash;  /* '#' */
    uint64_t c3;    /* 0xC3, the lead byte of the Latin-1 letters */
    uint64_t lat;   /* 0x80..0x9E but 0x97: a Latin-1 capital when it follows 0xC3 */
    uint64_t stop;  /* '.', '!', '?': a sentence end as a word's last byte */
    uint64_t end3;  /* '.', 0x82, 0xA2, 0xA6: may end "...", "。", "።" or "…" */
} block_masks;

static inline void block_of(const unsigned char *p, unsigned char *out, block_masks *m)
{
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n'),
                  low = _mm_set1_epi8(0x20), a = _mm_set1_epi8('a'), big_a = _mm_set1_epi8('A'),
                  zero = _mm_set1_epi8('0'), n25 = _mm_set1_epi8(25), n9 = _mm_set1_epi8(9),
                  c0 = _mm_set1_epi8((char)0xC0), c3 = _mm_set1_epi8((char)0xC3), x80 = _mm_set1_epi8((char)0x80),
                  n1e = _mm_set1_epi8(0x1E), x97 = _mm_set1_epi8((char)0x97), hash = _mm_set1_epi8('#'),
                  dot = _mm_set1_epi8('.'), excl = _mm_set1_epi8('!'), quest = _mm_set1_epi8('?'),
                  x82 = _mm_set1_epi8((char)0x82), xa2 = _mm_set1_epi8((char)0xA2), xa6 = _mm_set1_epi8((char)0xA6);
    uint64_t sep = 0, alpha = 0, core = 0, cont = 0, hs = 0, c3m = 0, lat = 0, stop = 0, end3 = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i s = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, sp), _mm_cmpeq_epi8(x, tab)), _mm_cmpeq_epi8(x, nl));
        __m128i lo = _mm_sub_epi8(_mm_or_si128(x, low), a), up = _mm_sub_epi8(x, big_a), dg = _mm_sub_epi8(x, zero);
        __m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(lo, n25), lo); /* (x | 0x20) - 'a' <= 25 */
        __m128i cap = _mm_cmpeq_epi8(_mm_min_epu8(up, n25), up);
        __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(dg, n9), dg);
        __m128i lead = _mm_cmpeq_epi8(_mm_max_epu8(x, c0), x);
        __m128i l80 = _mm_sub_epi8(x, x80);
        __m128i lt = _mm_andnot_si128(_mm_cmpeq_epi8(x, x97), _mm_cmpeq_epi8(_mm_min_epu8(l80, n1e), l80));
        _mm_storeu_si128((__m128i *)(void *)(out + 16 * k), _mm_add_epi8(x, _mm_and_si128(cap, low)));
        int at = 16 * k;
        uint64_t hi = (uint16_t)_mm_movemask_epi8(x);
        sep |= (uint64_t)(uint16_t)_mm_movemask_epi8(s) << at;
        alpha |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(letter, lead)) << at;
        core |= ((uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(letter, digit)) | hi) << at;
        cont |= (hi & ~(uint64_t)(uint16_t)_mm_movemask_epi8(lead)) << at;
        hs |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, hash)) << at;
        c3m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, c3)) << at;
        lat |= (uint64_t)(uint16_t)_mm_movemask_epi8(lt) << at;
        __m128i d = _mm_cmpeq_epi8(x, dot);
        stop |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(d, _mm_or_si128(_mm_cmpeq_epi8(x, excl), _mm_cmpeq_epi8(x, quest))))
                << at;
        end3 |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(d, _mm_cmpeq_epi8(x, x82)),
                                                                   _mm_or_si128(_mm_cmpeq_epi8(x, xa2), _mm_cmpeq_epi8(x, xa6))))
                << at;
    }
    *m = (block_masks){sep, alpha, core, cont, hs, c3m, lat, stop, end3};
#else
    memset(m, 0, sizeof *m);
    for (int k = 0; k < 64; k++) {
        unsigned c = p[k];
        uint64_t bit = 1ull << k;
        int letter = (c | 32) >= 'a' && (c | 32) <= 'z';
        m->sep |= c == ' ' || c == '\t' || c == '\n' ? bit : 0;
        m->alpha |= letter || c >= 0xC0 ? bit : 0;
        m->core |= letter || (c >= '0' && c <= '9') || c >= 0x80 ? bit : 0;
        m->cont |= c >= 0x80 && c < 0xC0 ? bit : 0;
        m->hash |= c == '#' ? bit : 0;
        m->c3 |= c == 0xC3 ? bit : 0;
        m->lat |= c >= 0x80 && c <= 0x9E && c != 0x97 ? bit : 0;
        m->stop |= c == '.' || c == '!' || c == '?' ? bit : 0;
        m->end3 |= c == '.' || c == 0x82 || c == 0xA2 || c == 0xA6 ? bit : 0;
        out[k] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* block_of in 32-byte vectors, for the x86-64-v3 copy of the scan (same masks, same folded bytes). */
__attribute__((target("avx2"))) static void block_of_avx2(const unsigned char *p, unsigned char *out, block_masks *m)
{
    const __m256i sp = _mm256_set1_epi8(' '), tab = _mm256_set1_epi8('\t'), nl = _mm256_set1_epi8('\n'),
                  low = _mm256_set1_epi8(0x20), a = _mm256_set1_epi8('a'), big_a = _mm256_set1_epi8('A'),
                  zero = _mm256_set1_epi8('0'), n25 = _mm256_set1_epi8(25), n9 = _mm256_set1_epi8(9),
                  c0 = _mm256_set1_epi8((char)0xC0), c3 = _mm256_set1_epi8((char)0xC3),
                  x80 = _mm256_set1_epi8((char)0x80), n1e = _mm256_set1_epi8(0x1E), x97 = _mm256_set1_epi8((char)0x97),
                  hash = _mm256_set1_epi8('#'), dot = _mm256_set1_epi8('.'), excl = _mm256_set1_epi8('!'),
                  quest = _mm256_set1_epi8('?'), x82 = _mm256_set1_epi8((char)0x82), xa2 = _mm256_set1_epi8((char)0xA2),
                  xa6 = _mm256_set1_epi8((char)0xA6);
    uint64_t r[9] = {0};
    for (int k = 0; k < 2; k++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        __m256i s = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, sp), _mm256_cmpeq_epi8(x, tab)),
                                    _mm256_cmpeq_epi8(x, nl));
        __m256i lo = _mm256_sub_epi8(_mm256_or_si256(x, low), a), up = _mm256_sub_epi8(x, big_a),
                dg = _mm256_sub_epi8(x, zero);
        __m256i letter = _mm256_cmpeq_epi8(_mm256_min_epu8(lo, n25), lo);
        __m256i cap = _mm256_cmpeq_epi8(_mm256_min_epu8(up, n25), up);
        __m256i digit = _mm256_cmpeq_epi8(_mm256_min_epu8(dg, n9), dg);
        __m256i lead = _mm256_cmpeq_epi8(_mm256_max_epu8(x, c0), x);
        __m256i l80 = _mm256_sub_epi8(x, x80);
        __m256i lt = _mm256_andnot_si256(_mm256_cmpeq_epi8(x, x97), _mm256_cmpeq_epi8(_mm256_min_epu8(l80, n1e), l80));
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * k), _mm256_add_epi8(x, _mm256_and_si256(cap, low)));
        __m256i d = _mm256_cmpeq_epi8(x, dot);
        int at = 32 * k;
        uint64_t hi = (uint32_t)_mm256_movemask_epi8(x);
        r[0] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(s) << at;
        r[1] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(letter, lead)) << at;
        r[2] |= ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(letter, digit)) | hi) << at;
        r[3] |= (hi & ~(uint64_t)(uint32_t)_mm256_movemask_epi8(lead)) << at;
        r[4] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, hash)) << at;
        r[5] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, c3)) << at;
        r[6] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(lt) << at;
        r[7] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(
                    _mm256_or_si256(d, _mm256_or_si256(_mm256_cmpeq_epi8(x, excl), _mm256_cmpeq_epi8(x, quest))))
                << at;
        r[8] |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
                    _mm256_or_si256(d, _mm256_cmpeq_epi8(x, x82)), _mm256_or_si256(_mm256_cmpeq_epi8(x, xa2), _mm256_cmpeq_epi8(x, xa6))))
                << at;
    }
    *m = (block_masks){r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]};
}
#endif

/* The first byte in [from, to) that survives the trim, or to. */
static inline size_t first_core(const uint64_t *core, size_t from, size_t to)
{
    size_t b = from >> 6;
    uint64_t m = core[b] & (~0ull << (from & 63));
    while (!m) {
        if (++b << 6 >= to)
            return to;
        m = core[b];
    }
    size_t x = (b << 6) + (size_t)__builtin_ctzll(m);
    return x < to ? x : to;
}

/* One past the last byte in [from, to) that survives the trim; core has one at from. */
static inline size_t last_core_end(const uint64_t *core, size_t from, size_t to)
{
    size_t b = (to - 1) >> 6;
    uint64_t m = core[b] & (~0ull >> (63 - ((to - 1) & 63)));
    while (!m)
        m = core[--b]; /* stops at from's block at the latest */
    size_t x = (b << 6) + 64 - (size_t)__builtin_clzll(m);
    return x > from ? x : from + 1;
}

/* The last three bytes of a word (b1 the last) as one number, in memory order, to compare with le3(). */
static inline uint32_t le3(unsigned b3, unsigned b2, unsigned b1)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t)b3 << 24 | (uint32_t)b2 << 16 | (uint32_t)b1 << 8;
#else
    return (uint32_t)b3 | (uint32_t)b2 << 8 | (uint32_t)b1 << 16;
#endif
}

/* The word text[ws..we), written to *o. */
__attribute__((always_inline)) static inline void emit(cp_word *o, const uint64_t *core, const unsigned char *text,
                                                       const unsigned char *fold, size_t ws, size_t we)
{
    size_t ts = first_core(core, ws, we), tn = 0;
    if (ts < we)
        tn = last_core_end(core, ts, we) - ts;
    o->key = key_of(fold + ts, text + ts, tn);
    o->bytes = we - ws;
}

enum { FRONT = 16, BACK = 64 + 16 }; /* fold_buf padding: flag bytes before a word, key16 and the last block after */

/* The scan; v3 = 1 in the copy built for x86-64-v3 (AVX2, BMI1/2, POPCNT, LZCNT), where bit scans, shifts
 * and the popcounts are one instruction each (the scan runs 1.07x faster there). */
__attribute__((always_inline)) static inline void scan(const char *text, size_t len, cp_words *w, int v3)
{
#define POPCOUNT(x) (v3 ? (size_t)__builtin_popcountll(x) : (size_t)cp_popcount64(x))
    const unsigned char *u = (const unsigned char *)text;
    const size_t blocks = (len + 63) / 64;
    if (w->fold_cap < len + FRONT + BACK) {
        free(w->fold_buf);
        w->fold_cap = len + FRONT + BACK + len / 4;
        w->fold_buf = cp_xcalloc(w->fold_cap, 1);
    }
    if (w->core_cap < blocks + 1) {
        free(w->core);
        w->core_cap = blocks + 1 + blocks / 4;
        w->core = cp_xmalloc(w->core_cap * sizeof(uint64_t));
    }
    if (w->cap < len / 2 + 1) { /* a word and its separator take two bytes at least */
        free(w->v);
        w->cap = len / 2 + 1 + len / 8;
        w->v = cp_xmalloc(w->cap * sizeof(cp_word));
    }
    unsigned char *fold = w->fold_buf + FRONT;
    uint64_t *core = w->core;
    cp_word *out = w->v;
    size_t hashes = 0, cont = 0, in_bytes = 0, no_alpha = 0, stops = 0, ells = 0;
    unsigned char tail[64];
    uint64_t carry = 0, c3_carry = 0, alpha_carry = 0;
    size_t wstart = 0;
    int open = 0;
    for (size_t base = 0; base < len; base += 64) {
        const unsigned char *blk = u + base;
        uint64_t valid = ~0ull;
        if (len - base < 64) {
            memset(tail, 0, sizeof tail);
            memcpy(tail, blk, len - base);
            blk = tail;
            valid = (1ull << (len - base)) - 1;
        }
        block_masks m;
#if defined(__x86_64__) && defined(__GNUC__)
        if (v3)
            block_of_avx2(blk, fold + base, &m);
        else
#endif
            block_of(blk, fold + base, &m);
        core[base >> 6] = m.core & valid;
        hashes += POPCOUNT(m.hash & valid);
        cont += POPCOUNT(m.cont & valid);
        /* Latin-1 capitals: rare, so byte by byte */
        for (uint64_t lat = m.lat & ((m.c3 << 1) | c3_carry) & valid; lat; lat &= lat - 1)
            fold[base + (size_t)__builtin_ctzll(lat)] += 32;
        c3_carry = m.c3 >> 63;
        uint64_t in = ~m.sep & valid, prev = (in << 1) | carry;
        uint64_t st = in & ~prev, en = ~in & prev; /* a word's first byte; the byte after its last */
        carry = in >> 63;
        in_bytes += POPCOUNT(in);
        /* Words without a letter: from each start, adding 1 carries through the bytes that are no letter;
         * in such a word the carry reaches the byte after it (an en bit), else it stops at the letter. The
         * carry out of bit 63 goes on into the next block. */
        uint64_t na = in & ~m.alpha, sum;
        int c1 = __builtin_add_overflow(na, st, &sum);
        int c2 = __builtin_add_overflow(sum, alpha_carry, &sum);
        alpha_carry = (uint64_t)(c1 | c2);
        no_alpha += POPCOUNT(sum & en);
        /* words' last bytes: sentence ends and the three-byte ends, which are rare */
        uint64_t next_in = base + 64 < len && u[base + 64] != ' ' && u[base + 64] != '\t' && u[base + 64] != '\n';
        uint64_t last = in & ~((in >> 1) | (next_in << 63));
        stops += POPCOUNT(last & m.stop);
        for (uint64_t x3 = last & m.end3; x3; x3 &= x3 - 1) {
            /* f[-2] exists (the front padding); indexing from f keeps the offset signed where at < 2 */
            const unsigned char *f = fold + base + (size_t)__builtin_ctzll(x3);
            uint32_t x = le3(f[-2], f[-1], f[0]); /* fold and text agree on these bytes */
            /* the three bytes are no separators, so they lie in one word */
            stops += (x == le3(0xE3, 0x80, 0x82)) + (x == le3(0xE1, 0x8D, 0xA2));
            ells += (x == le3('.', '.', '.')) + (x == le3(0xE2, 0x80, 0xA6));
        }
        /* the words: starts and ends alternate */
        if (open && en) {
            emit(out++, core, u, fold, wstart, base + (size_t)__builtin_ctzll(en));
            en &= en - 1;
            open = 0;
        }
        for (; st; st &= st - 1) {
            size_t ws = base + (size_t)__builtin_ctzll(st);
            if (!en) { /* the word goes on in the next block */
                wstart = ws;
                open = 1;
                break;
            }
            emit(out++, core, u, fold, ws, base + (size_t)__builtin_ctzll(en));
            en &= en - 1;
        }
    }
    if (open)
        emit(out++, core, u, fold, wstart, len);
    no_alpha += alpha_carry; /* a last word without a letter up to a multiple of 64 bytes */
    w->n = (size_t)(out - w->v);
    w->word_bytes = in_bytes;
    w->alpha_words = w->n - no_alpha;
    w->sentence_ends = stops;
    w->ellipsis_ends = ells;
    w->hashes = hashes;
    w->cont_bytes = cont;
}
#undef POPCOUNT

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("arch=x86-64-v3"))) static void scan_v3(const char *text, size_t len, cp_words *w)
{
    scan(text, len, w, 1);
}
#endif

void cp_words_scan(const char *text, size_t len, cp_words *w)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
        scan_v3(text, len, w);
        return;
    }
#endif
    scan(text, len, w, 0);
}
