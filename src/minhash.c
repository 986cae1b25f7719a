/* minhash: MinHash band keys of a document (parallel stage, pure per document) and the LSH index that turns
 * them into near-duplicate decisions (ordered serial step only).
 *
 * Signature. Each shingle is hashed once (XXH3-64 with a seed-derived seed); value i of the signature is the
 * minimum over shingles of a_i*h + b_i mod 2^64 (a_i odd, a_i and b_i from splitmix64 of the seed). For any
 * fixed i this is a bijection of h, and the h of distinct shingles behave as independent uniform 64-bit
 * values, so P(value i equal for two texts) = Jaccard of their shingle sets: each value is an unbiased
 * estimator. Different multipliers order the same hashes almost independently (multiply-add is 2-universal on
 * the high bits that decide a minimum); tests/test_minhash.c checks the mean error, the variance J(1-J)/K of
 * independent permutations, and the band collision curve against exact Jaccard. The inner loop runs over
 * blocks of values kept in registers while the shingle hashes stream past, which compilers vectorise
 * (with AVX-512, picked at run time: blocks of 16, two vpmullq + vpaddq + vpminuq per hash; elsewhere blocks
 * of 8; integer arithmetic, so identical results). That loop is bound by the vector multiplier (3 uops per vpmullq), about 10 ns per shingle for the
 * 112 values; a 32-bit split (vpmuludq x3) measured 1.8x slower, 256-bit vectors 1.3x slower.
 *
 * Words. One pass over the text in 64-byte blocks turns byte classes into bit masks (SSE2; a portable loop
 * elsewhere): word starts and ends come from the separator mask, and the AUTO script counts from the same
 * masks: an ASCII block is a popcount, a block of well-formed UTF-8 a popcount plus a decode of its 3- and
 * 4-byte lead bytes only (the no-space scripts all lie at U+0E00 and above); any other block is decoded one
 * code point at a time. The decision equals the one-code-point-at-a-time definition for every input
 * (tests/test_minhash.c checks it on random mixes and pins keys in several scripts).
 *
 * LSH index. Per band, a Robin Hood open-addressing table of 64-bit slots:
 *     bits 63..56  probe distance + 1 (0 = empty slot), at most 254
 *     bits 55..32  low 24 bits of x, where x = the top T bits of the band key
 *     bits 31..0   seq of the first document that inserted the key
 * The home slot of a key is floor(x * cap / 2^T) (any capacity, so tables grow by 1.25x, not 2x) and
 * T = floor(log2(initial capacity)) + 24, so the x values sharing a home span at most 2^24 and their low 24
 * bits identify them: the stored bits plus the home recover x exactly, which is what lets a table rehash
 * without the original keys. Lookups compare only slots with the same home (probe distance equal), so a false
 * match needs another key with the same home (expected: the load, <= 0.9) and the same 24 bits:
 *     P(false match per band lookup) ~= 0.9 * (cap / cap0) * 2^-24 = 5.4e-8 * (cap / cap0)
 *     P(false match per document)    ~= bands * that = 7.5e-7 for 14 bands at the initial size,
 * i.e. each 2x of growth past the initial size doubles it: still < 1e-4 after 128x. Pass expected_docs; the
 * smallest start (65536 slots per band) covers ~8 M documents when the caller cannot estimate.
 * Memory: 8 bytes per slot, load kept in (0.9/1.25, 0.9] = (0.72, 0.9], so 8.9..11.1 bytes per band entry,
 * 124..156 bytes per unique document with 14 bands (cp_lsh_bytes_per_doc_estimate gives the upper end).
 * The decision needs only the 32 high bits (62..78 bytes per document); the 32-bit seq that dup_of needs is
 * the other half. A table of 100 bytes per document with dup_of is out of reach here: every band entry needs
 * log2(docs) bits of seq plus ~17+ bits of identity for a 1e-4 false-match rate per document, ~49 bits at
 * 2^32 documents, which is 86 bytes per document for 14 bands at 100 % load and no metadata.
 * Growth rehashes one band table at a time: the transient peak is the index plus one new band table
 * (1.25/bands of the index, ~9 % for 14 bands). Iteration order never reaches a result, so decisions are
 * deterministic. */
#include "corpusprep/minhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "corpusprep/checkpoint.h"
#include "corpusprep/util.h"


/* Signature values are processed in blocks kept in registers while the shingle hashes stream past. With
 * AVX-512 a block is 16 values: two 512-bit vectors share each broadcast hash (13 % faster than 8; 32
 * spill). Without it 64-bit multiplies and unsigned minima are emulated and 16 values spill: 8 (measured
 * 1.4x faster than 16 with AVX2 and with the baseline target). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CP_X86_DISPATCH 1
#endif
#define BLOCK 16 /* the padding of the signature: a multiple of both block sizes */

struct cp_minhash {
    cp_minhash_params p;
    int nvals, nvals_padded;
    uint64_t shingle_seed, band_seed;
    uint64_t *a, *b; /* nvals_padded each */
};

struct cp_minhash_scratch {
    uint64_t *hashes; /* shingle hashes */
    size_t hashes_cap;
    size_t *starts, *ends; /* word spans, or code point offsets in the compacted text */
    size_t spans_cap;
    cp_buf compact; /* character mode: the text without spaces */
    uint64_t *mins; /* padded signature */
    size_t mins_cap;
    unsigned char band_bytes[8 * 4096];
};

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void cp_minhash_params_default(cp_minhash_params *p)
{
    memset(p, 0, sizeof *p);
    p->bands = 14;
    p->rows = 8;
    p->ngram = 5;
    p->char_ngram = 5;
    p->seed = 1;
    p->mode = CP_SHINGLE_AUTO;
    p->char_share = 0.3;
}

cp_minhash *cp_minhash_create(const cp_minhash_params *p, char *err, size_t errlen)
{
    if (p->bands < 1 || p->rows < 1 || p->bands > 4096 || p->rows > 4096 || p->bands * p->rows > 4096) {
        snprintf(err, errlen, "minhash: bands (%d) and rows (%d) must be >= 1 with bands*rows <= 4096",
                 p->bands, p->rows);
        return NULL;
    }
    if (p->ngram < 1 || p->ngram > 64 || p->char_ngram < 1 || p->char_ngram > 64) {
        snprintf(err, errlen, "minhash: ngram (%d) and char_ngram (%d) must be 1..64", p->ngram, p->char_ngram);
        return NULL;
    }
    if (p->mode != CP_SHINGLE_AUTO && p->mode != CP_SHINGLE_WORDS && p->mode != CP_SHINGLE_CHARS) {
        snprintf(err, errlen, "minhash: unknown shingle mode %d", (int)p->mode);
        return NULL;
    }
    if (!(p->char_share >= 0.0 && p->char_share <= 1.0)) {
        snprintf(err, errlen, "minhash: char_share must be within 0..1");
        return NULL;
    }
    cp_minhash *mh = cp_xcalloc(1, sizeof *mh);
    mh->p = *p;
    mh->nvals = p->bands * p->rows;
    mh->nvals_padded = (mh->nvals + BLOCK - 1) / BLOCK * BLOCK;
    mh->a = cp_xmalloc(sizeof(uint64_t) * (size_t)mh->nvals_padded);
    mh->b = cp_xmalloc(sizeof(uint64_t) * (size_t)mh->nvals_padded);
    uint64_t st = p->seed ^ 0x6D696E6861736831ULL;
    mh->shingle_seed = splitmix64(&st);
    mh->band_seed = splitmix64(&st);
    for (int i = 0; i < mh->nvals_padded; i++) {
        mh->a[i] = splitmix64(&st) | 1;
        mh->b[i] = splitmix64(&st);
    }
    return mh;
}

void cp_minhash_destroy(cp_minhash *mh)
{
    if (!mh)
        return;
    free(mh->a);
    free(mh->b);
    free(mh);
}

int cp_minhash_values(const cp_minhash *mh) { return mh->nvals; }
int cp_minhash_bands_count(const cp_minhash *mh) { return mh->p.bands; }

cp_minhash_scratch *cp_minhash_scratch_create(void) { return cp_xcalloc(1, sizeof(cp_minhash_scratch)); }

void cp_minhash_scratch_destroy(cp_minhash_scratch *s)
{
    if (!s)
        return;
    free(s->hashes);
    free(s->starts);
    free(s->ends);
    free(s->mins);
    cp_buf_free(&s->compact);
    free(s);
}

/* Space and control bytes separate words (normalised text has only single spaces; this is just robust). */
static int is_space(unsigned char c) { return c <= ' '; }

/* Decodes one code point at s[i..n); invalid bytes count as one code point of one byte. */
static size_t utf8_next(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > n)
        len = 1;
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < len; k++)
        v = (v << 6) | (s[i + k] & 0x3Fu);
    *cp = v;
    return len;
}

/* Scripts written without spaces between words. */
static int is_nospace_script(uint32_t c)
{
    return (c >= 0x0E00 && c <= 0x0EFF)      /* Thai, Lao */
           || (c >= 0x0F00 && c <= 0x0FFF)   /* Tibetan */
           || (c >= 0x1000 && c <= 0x109F)   /* Myanmar */
           || (c >= 0x1780 && c <= 0x17FF)   /* Khmer */
           || (c >= 0x3040 && c <= 0x30FF)   /* Hiragana, Katakana */
           || (c >= 0x31F0 && c <= 0x31FF)   /* Katakana extension */
           || (c >= 0x3400 && c <= 0x4DBF)   /* CJK extension A */
           || (c >= 0x4E00 && c <= 0x9FFF)   /* CJK unified */
           || (c >= 0xF900 && c <= 0xFAFF)   /* CJK compatibility */
           || (c >= 0xFF66 && c <= 0xFF9F)   /* half-width Katakana */
           || (c >= 0x20000 && c <= 0x3FFFF); /* CJK extensions B.. */
}

static void reserve_spans(cp_minhash_scratch *s, size_t n)
{
    if (n <= s->spans_cap)
        return;
    size_t cap = s->spans_cap ? s->spans_cap : 256;
    while (cap < n)
        cap *= 2;
    s->starts = cp_xrealloc(s->starts, cap * sizeof(size_t));
    s->ends = cp_xrealloc(s->ends, cap * sizeof(size_t));
    s->spans_cap = cap;
}

static void reserve_hashes(cp_minhash_scratch *s, size_t n)
{
    if (n <= s->hashes_cap)
        return;
    size_t cap = s->hashes_cap ? s->hashes_cap : 256;
    while (cap < n)
        cap *= 2;
    s->hashes = cp_xrealloc(s->hashes, cap * sizeof(uint64_t));
    s->hashes_cap = cap;
}

/* XXH3_64bits_withSeed, with the lengths shingles have (<= 128 bytes) hashed by the branches it takes for
 * them, called directly and inlined (the call and the length dispatch were a sixth of the hash's cost;
 * test_minhash.c checks the values against XXH3_64bits_withSeed). */
static inline uint64_t shingle_hash(const char *p, size_t n, uint64_t seed)
{
    const xxh_u8 *u = (const xxh_u8 *)p;
    if (n <= 16)
        return XXH3_len_0to16_64b(u, n, XXH3_kSecret, seed);
    if (n <= 128)
        return XXH3_len_17to128_64b(u, n, XXH3_kSecret, sizeof XXH3_kSecret, seed);
    return XXH3_64bits_withSeed(p, n, seed);
}

/* Spans of n consecutive units (words, or code points of the compacted text) starting at each unit. */
static size_t hash_spans(const cp_minhash *mh, cp_minhash_scratch *s, const char *base, size_t units, int n)
{
    if (units == 0)
        return 0;
    size_t count = units < (size_t)n ? 1 : units - (size_t)n + 1;
    size_t width = units < (size_t)n ? units : (size_t)n;
    reserve_hashes(s, count);
    for (size_t i = 0; i < count; i++) {
        size_t a = s->starts[i], b = s->ends[i + width - 1];
        s->hashes[i] = shingle_hash(base + a, b - a, mh->shingle_seed);
    }
    return count;
}

/* Counts for the AUTO decision: non-space code points, and those in a script written without spaces. */
typedef struct {
    size_t total, nospace;
} script_counts;

/* Code points from s[i] up to the first one that starts at or after `stop`, decoded as utf8_next does (the
 * same units, so the counts match it exactly); returns where the next code point starts. Only a lead byte
 * >= 0xE0 can start a code point >= U+0800, the lowest a no-space script reaches, so shorter ones are only
 * counted. */
static size_t count_scripts(const unsigned char *s, size_t i, size_t stop, size_t n, script_counts *sc)
{
    while (i < stop) {
        unsigned char c = s[i];
        if (c < 0x80) {
            sc->total += !is_space(c);
            i++;
        } else if (c < 0xE0) {
            sc->total++;
            i += ((c >> 5) == 6 && i + 2 <= n) ? 2 : 1;
        } else {
            uint32_t cp;
            i += utf8_next(s, i, n, &cp);
            sc->total++;
            sc->nospace += is_nospace_script(cp);
        }
    }
    return i;
}

static int decide_chars(const cp_minhash *mh, const script_counts *sc)
{
    return sc->total > 0 && (double)sc->nospace >= mh->p.char_share * (double)sc->total;
}

/* The AUTO counts of one full 64-byte block at t+b whose first code point starts at b + skip (skip < 4: the
 * bytes before it belong to the previous block's last code point). When every byte the decoder of utf8_next
 * would swallow as a continuation is one (10xxxxxx) and no other byte is, its units are exactly the
 * non-continuation bytes, so they are counted from the masks; only lead bytes >= 0xE0 are decoded, since only
 * they reach a no-space script. Returns where the next code point starts, or 0 when the block does not have
 * that shape (the caller then decodes it byte by byte). */
static size_t count_block(const unsigned char *t, size_t b, size_t skip, size_t len, const cp_masks64 *m,
                          script_counts *sc)
{
    uint64_t cont = m->b7 & ~m->b6;
    uint64_t lead2 = m->b7 & m->b6 & ~m->b5, lead3 = m->b7 & m->b6 & m->b5 & ~m->b4,
             lead4 = m->b7 & m->b6 & m->b5 & m->b4 & ~m->b3;
    uint64_t lead34 = lead3 | lead4;
    uint64_t expect = ((1ULL << skip) - 1) | (lead2 << 1) | (lead34 << 1) | (lead34 << 2) | (lead4 << 3);
    if (expect != cont)
        return 0;
    /* a code point that runs past the block: the next block must start with its continuation bytes */
    size_t spill = 0;
    if ((lead2 | lead34 | lead4) >> 63)
        spill = lead2 >> 63 ? 1 : lead3 >> 63 ? 2 : 3;
    else if ((lead34 | lead4) >> 62 & 1)
        spill = lead3 >> 62 & 1 ? 1 : 2;
    else if (lead4 >> 61 & 1)
        spill = 1;
    if (b + 64 + spill > len) /* utf8_next shortens a code point cut by the end of the text */
        return 0;
    sc->total += (size_t)cp_popcount64(~m->ctl & ~cont);
    for (uint64_t l = lead34; l; l &= l - 1) {
        uint32_t cp;
        utf8_next(t, b + (size_t)__builtin_ctzll(l), len, &cp);
        sc->nospace += is_nospace_script(cp);
    }
    return b + 64 + spill;
}

/* One pass over the text in blocks of 64 bytes: the spans of its words (maximal runs of bytes > ' ') into
 * s->starts/ends, and, when sc is given, the counts that decide AUTO mode (whole ASCII blocks by popcount).
 * Returns the number of words. */
static size_t scan_words(cp_minhash_scratch *s, const char *text, size_t len, script_counts *sc)
{
    const unsigned char *t = (const unsigned char *)text;
    reserve_spans(s, len / 2 + 1); /* words are separated by at least one byte */
    size_t nstart = 0, nend = 0, next_cp = 0;
    uint64_t carry = 0; /* 1 when the byte before the block is part of a word */
    unsigned char tail[64];
    for (size_t b = 0; b < len; b += 64) {
        const unsigned char *p = t + b;
        size_t n = len - b < 64 ? len - b : 64;
        if (n < 64) { /* zero padding reads as separators */
            memset(tail, 0, sizeof tail);
            memcpy(tail, p, n);
            p = tail;
        }
        cp_masks64 m;
        cp_masks64_of(p, &m);
        uint64_t word = ~m.ctl;
        uint64_t prev = (word << 1) | carry;
        uint64_t starts = word & ~prev, ends = m.ctl & prev;
        carry = word >> 63;
        while (starts) {
            s->starts[nstart++] = b + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
        }
        while (ends) {
            s->ends[nend++] = b + (size_t)__builtin_ctzll(ends);
            ends &= ends - 1;
        }
        if (sc) {
            size_t next = 0;
            if (!m.b7 && next_cp == b) {
                sc->total += (size_t)cp_popcount64(word); /* padding is separators */
                next = b + n;
            } else if (n == 64 && next_cp - b < 4) {
                next = count_block(t, b, next_cp - b, len, &m, sc);
            }
            next_cp = next ? next : count_scripts(t, next_cp, b + n, len, sc);
        }
    }
    if (nend < nstart) /* the text ends inside a word at a multiple of 64 bytes */
        s->ends[nend++] = len;
    return nstart;
}

int cp_minhash_uses_chars(const cp_minhash *mh, const char *text, size_t len)
{
    if (mh->p.mode != CP_SHINGLE_AUTO)
        return mh->p.mode == CP_SHINGLE_CHARS;
    script_counts sc = {0, 0};
    count_scripts((const unsigned char *)text, 0, len, len, &sc);
    return decide_chars(mh, &sc);
}

static size_t shingle_chars(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    s->compact.len = 0;
    cp_buf_reserve(&s->compact, len + 1);
    size_t units = 0;
    reserve_spans(s, len);
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k = utf8_next(t, i, len, &c);
        if (!(k == 1 && is_space(t[i]))) {
            s->starts[units] = s->compact.len;
            memcpy(s->compact.data + s->compact.len, text + i, k);
            s->compact.len += k;
            s->ends[units] = s->compact.len;
            units++;
        }
        i += k;
    }
    return hash_spans(mh, s, s->compact.data, units, mh->p.char_ngram);
}

/* mins[i] = min over j of a[i]*h[j] + b[i], B values at a time; nvals is a multiple of B. */
#define MIN_VALUES(name, B, attr)                                                                            \
    attr static void name(uint64_t *restrict mins, const uint64_t *restrict a, const uint64_t *restrict b,    \
                          const uint64_t *restrict h, size_t nh, size_t nvals)                             \
    {                                                                                                        \
        for (size_t i0 = 0; i0 < nvals; i0 += B) {                                                           \
            uint64_t m[B], aa[B], bb[B];                                                                     \
            for (int t = 0; t < B; t++) {                                                                    \
                m[t] = UINT64_MAX;                                                                           \
                aa[t] = a[i0 + t];                                                                           \
                bb[t] = b[i0 + t];                                                                           \
            }                                                                                                \
            for (size_t j = 0; j < nh; j++) {                                                                \
                uint64_t x = h[j];                                                                           \
                for (int t = 0; t < B; t++) {                                                                \
                    uint64_t v = aa[t] * x + bb[t];                                                          \
                    m[t] = v < m[t] ? v : m[t];                                                              \
                }                                                                                            \
            }                                                                                                \
            for (int t = 0; t < B; t++)                                                                      \
                mins[i0 + t] = m[t];                                                                         \
        }                                                                                                    \
    }

#ifdef CP_X86_DISPATCH
MIN_VALUES(min_values16, 16, __attribute__((target("arch=x86-64-v4"))))
MIN_VALUES(min_values8, 8, __attribute__((target_clones("avx2", "default"))))
static void min_values(uint64_t *restrict mins, const uint64_t *restrict a, const uint64_t *restrict b,
                       const uint64_t *restrict h, size_t nh, size_t nvals)
{
    /* reads of the CPU model the runtime filled in at start-up: a few loads per document */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd"))
        min_values16(mins, a, b, h, nh, nvals);
    else
        min_values8(mins, a, b, h, nh, nvals);
}
#else
MIN_VALUES(min_values, 8, )
#endif

/* Fills s->mins[0..nvals) (all UINT64_MAX when there is no shingle); returns the number of shingles. */
static size_t compute_mins(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len)
{
    size_t nh;
    if (mh->p.mode == CP_SHINGLE_CHARS) {
        nh = shingle_chars(mh, s, text, len);
    } else {
        /* AUTO decides from counts taken in the same pass that finds the words */
        script_counts sc = {0, 0};
        size_t words = scan_words(s, text, len, mh->p.mode == CP_SHINGLE_AUTO ? &sc : NULL);
        if (mh->p.mode == CP_SHINGLE_AUTO && decide_chars(mh, &sc))
            nh = shingle_chars(mh, s, text, len);
        else
            nh = hash_spans(mh, s, text, words, mh->p.ngram);
    }
    if ((size_t)mh->nvals_padded > s->mins_cap) {
        s->mins = cp_xrealloc(s->mins, sizeof(uint64_t) * (size_t)mh->nvals_padded);
        s->mins_cap = (size_t)mh->nvals_padded;
    }
    if (nh == 0) {
        for (int i = 0; i < mh->nvals_padded; i++)
            s->mins[i] = UINT64_MAX;
        return 0;
    }
    min_values(s->mins, mh->a, mh->b, s->hashes, nh, (size_t)mh->nvals_padded);
    return nh;
}

int cp_minhash_signature(const cp_minhash *mh, cp_minhash_scratch *s, const char *norm_text, size_t len,
                         uint64_t *sig_out)
{
    size_t nh = compute_mins(mh, s, norm_text, len);
    memcpy(sig_out, s->mins, sizeof(uint64_t) * (size_t)mh->nvals);
    return nh > (size_t)0x7FFFFFFF ? 0x7FFFFFFF : (int)nh;
}

int cp_minhash_bands(const cp_minhash *mh, cp_minhash_scratch *s, const char *norm_text, size_t len,
                     uint64_t *band_keys_out)
{
    size_t nh = compute_mins(mh, s, norm_text, len);
    const uint64_t *sig = s->mins;
    int r = mh->p.rows;
    for (int band = 0; band < mh->p.bands; band++) {
        /* Little-endian bytes, whatever the host, so keys are the same on every machine. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(s->band_bytes, sig + (size_t)band * (size_t)r, (size_t)r * 8);
#else
        unsigned char *o = s->band_bytes;
        for (int i = 0; i < r; i++) {
            uint64_t v = sig[band * r + i];
            for (int k = 0; k < 8; k++)
                *o++ = (unsigned char)(v >> (8 * k));
        }
#endif
        band_keys_out[band] = XXH3_64bits_withSeed(s->band_bytes, (size_t)r * 8,
                                                   mh->band_seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(band + 1));
    }
    return nh > (size_t)0x7FFFFFFF ? 0x7FFFFFFF : (int)nh;
}

double cp_minhash_collision_probability(int bands, int rows, double j)
{
    double p = 1.0;
    for (int i = 0; i < rows; i++)
        p *= j;
    double miss = 1.0;
    for (int i = 0; i < bands; i++)
        miss *= 1.0 - p;
    return 1.0 - miss;
}

/* ---- LSH index ---- */

#define LSH_MAX_LOAD 0.9
#define LSH_GROWTH 1.25
#define LSH_MIN_CAP 65536 /* 7 MB for 14 bands; keeps the false-match rate < 1e-4 per document up to ~8 M documents when the caller cannot estimate */
#define LSH_MAX_DIST 254
#define LSH_LO_BITS 24

/* A slot is (probe distance + 1) << 56 | low 24 key bits << 32 | first seq. A compact index (no dup_of)
 * keeps only the upper half, 4 bytes: get/set convert, so one Robin Hood implementation serves both. */
typedef struct {
    uint64_t *slots;
    uint32_t *slots32; /* compact index */
    uint64_t cap, count, limit;
} lsh_table;

struct cp_lsh {
    int bands;
    int T; /* bits of the key that identify it: floor(log2(initial capacity)) + 24 */
    int compact;
    lsh_table *t;
};

static inline uint64_t slot_get(const lsh_table *t, uint64_t pos)
{
    return t->slots32 ? (uint64_t)t->slots32[pos] << 32 : t->slots[pos];
}

static inline void slot_set(lsh_table *t, uint64_t pos, uint64_t v)
{
    if (t->slots32)
        t->slots32[pos] = (uint32_t)(v >> 32);
    else
        t->slots[pos] = v;
}

static uint64_t home_of(uint64_t x, uint64_t cap, int T)
{
    return (uint64_t)(((unsigned __int128)x * cap) >> T);
}

/* Smallest x with home_of(x) == h. */
static uint64_t first_of(uint64_t h, uint64_t cap, int T)
{
    return (uint64_t)((((unsigned __int128)h << T) + cap - 1) / cap);
}

static void table_alloc(lsh_table *t, uint64_t cap, int compact)
{
    t->slots = compact ? NULL : cp_xcalloc((size_t)cap, sizeof(uint64_t));
    t->slots32 = compact ? cp_xcalloc((size_t)cap, sizeof(uint32_t)) : NULL;
    t->cap = cap;
    t->count = 0;
    t->limit = (uint64_t)((double)cap * LSH_MAX_LOAD);
}

static uint64_t make_slot(uint64_t dist, uint64_t lo, uint64_t seq) { return (dist + 1) << 56 | lo << 32 | seq; }
static uint64_t slot_dist(uint64_t v) { return (v >> 56) - 1; }
static uint64_t slot_lo(uint64_t v) { return (v >> 32) & ((1u << LSH_LO_BITS) - 1); }

/* Robin Hood insert of a key known to be absent. Returns 0, or 1 when a probe distance would pass
 * LSH_MAX_DIST: then *carry holds the entry left without a slot (x in bits 63..32 is not enough, so carry is
 * the full x and *carry_seq its seq), and the caller grows the table and inserts it again. */
static int table_put(lsh_table *t, int T, uint64_t x, uint64_t seq, uint64_t *carry_x, uint64_t *carry_seq)
{
    uint64_t pos = home_of(x, t->cap, T), dist = 0;
    uint64_t cur_x = x, cur_seq = seq;
    for (;;) {
        uint64_t v = slot_get(t, pos);
        if (v == 0) {
            slot_set(t, pos, make_slot(dist, cur_x & ((1u << LSH_LO_BITS) - 1), cur_seq));
            t->count++;
            return 0;
        }
        uint64_t d = slot_dist(v);
        if (d < dist) { /* the resident is closer to home: it moves on, we take its slot */
            uint64_t h = pos >= d ? pos - d : pos + t->cap - d;
            uint64_t f = first_of(h, t->cap, T);
            uint64_t res_x = f + ((slot_lo(v) - f) & ((1u << LSH_LO_BITS) - 1));
            uint64_t res_seq = v & 0xFFFFFFFFu;
            slot_set(t, pos, make_slot(dist, cur_x & ((1u << LSH_LO_BITS) - 1), cur_seq));
            cur_x = res_x;
            cur_seq = res_seq;
            dist = d;
        }
        if (++pos == t->cap)
            pos = 0;
        if (++dist > LSH_MAX_DIST) {
            *carry_x = cur_x;
            *carry_seq = cur_seq;
            return 1;
        }
    }
}

static void table_grow(lsh_table *t, int T);

static void table_insert(lsh_table *t, int T, uint64_t x, uint64_t seq)
{
    if (t->count + 1 > t->limit)
        table_grow(t, T);
    uint64_t cx, cs;
    while (table_put(t, T, x, seq, &cx, &cs)) {
        table_grow(t, T);
        x = cx;
        seq = cs;
    }
}

static void table_grow(lsh_table *t, int T)
{
    lsh_table old = *t;
    uint64_t cap = (uint64_t)((double)old.cap * LSH_GROWTH) + 1;
    table_alloc(t, cap, old.slots32 != NULL);
    for (uint64_t pos = 0; pos < old.cap; pos++) {
        uint64_t v = slot_get(&old, pos);
        if (!v)
            continue;
        uint64_t d = slot_dist(v);
        uint64_t h = pos >= d ? pos - d : pos + old.cap - d;
        uint64_t f = first_of(h, old.cap, T);
        uint64_t x = f + ((slot_lo(v) - f) & ((1u << LSH_LO_BITS) - 1));
        table_insert(t, T, x, v & 0xFFFFFFFFu);
    }
    free(old.slots);
    free(old.slots32);
}

/* Returns the position of the slot holding x, or UINT64_MAX. */
static uint64_t table_find(const lsh_table *t, int T, uint64_t x)
{
    uint64_t pos = home_of(x, t->cap, T), lo = x & ((1u << LSH_LO_BITS) - 1);
    for (uint64_t dist = 0;; dist++) {
        uint64_t v = slot_get(t, pos);
        if (v == 0)
            return UINT64_MAX;
        uint64_t d = slot_dist(v);
        if (d < dist)
            return UINT64_MAX;
        if (d == dist && slot_lo(v) == lo)
            return pos;
        if (++pos == t->cap)
            pos = 0;
    }
}

static cp_lsh *lsh_create(int bands, uint64_t expected_docs, int compact)
{
    if (bands < 1 || bands > 1024)
        return NULL;
    uint64_t cap = (uint64_t)((double)expected_docs / LSH_MAX_LOAD) + 1;
    if (cap < LSH_MIN_CAP)
        cap = LSH_MIN_CAP;
    int log2cap = 63 - __builtin_clzll(cap);
    cp_lsh *l = cp_xcalloc(1, sizeof *l);
    l->bands = bands;
    l->compact = compact;
    l->T = log2cap + LSH_LO_BITS > 64 ? 64 : log2cap + LSH_LO_BITS;
    l->t = cp_xcalloc((size_t)bands, sizeof(lsh_table));
    for (int b = 0; b < bands; b++)
        table_alloc(&l->t[b], cap, compact);
    return l;
}

cp_lsh *cp_lsh_create(int bands, uint64_t expected_docs)
{
    return lsh_create(bands, expected_docs, 0);
}

cp_lsh *cp_lsh_create_compact(int bands, uint64_t expected_docs)
{
    return lsh_create(bands, expected_docs, 1);
}

void cp_lsh_destroy(cp_lsh *l)
{
    if (!l)
        return;
    for (int b = 0; b < l->bands; b++) {
        free(l->t[b].slots);
        free(l->t[b].slots32);
    }
    free(l->t);
    free(l);
}

uint64_t cp_lsh_check_insert(cp_lsh *l, uint64_t seq, const uint64_t *band_keys)
{
    if (seq >= 0xFFFFFFFFu)
        return CP_LSH_NONE;
    uint64_t best = CP_LSH_NONE;
    /* Every band is a cache (and TLB) miss in a large index: start all the loads before using any. */
    for (int b = 0; b < l->bands; b++) {
        uint64_t x = l->T == 64 ? band_keys[b] : band_keys[b] >> (64 - l->T);
        uint64_t h = home_of(x, l->t[b].cap, l->T);
        __builtin_prefetch(l->compact ? (const void *)&l->t[b].slots32[h] : (const void *)&l->t[b].slots[h]);
    }
    for (int b = 0; b < l->bands; b++) {
        uint64_t x = l->T == 64 ? band_keys[b] : band_keys[b] >> (64 - l->T);
        uint64_t pos = table_find(&l->t[b], l->T, x);
        if (l->compact && pos != UINT64_MAX) {
            best = CP_LSH_MATCH; /* which document it was is not kept */
        } else if (pos != UINT64_MAX) {
            uint64_t v = l->t[b].slots[pos], s = v & 0xFFFFFFFFu;
            if (s > seq) /* callers out of order: keep the earliest anyway */
                l->t[b].slots[pos] = (v & ~(uint64_t)0xFFFFFFFFu) | seq;
            else if (s < best)
                best = s;
        } else {
            table_insert(&l->t[b], l->T, x, seq);
        }
    }
    return best;
}

size_t cp_lsh_bytes(const cp_lsh *l)
{
    size_t n = sizeof *l + (size_t)l->bands * sizeof(lsh_table);
    for (int b = 0; b < l->bands; b++)
        n += (size_t)l->t[b].cap * (l->compact ? sizeof(uint32_t) : sizeof(uint64_t));
    return n;
}

uint64_t cp_lsh_entries(const cp_lsh *l)
{
    uint64_t n = 0;
    for (int b = 0; b < l->bands; b++)
        n += l->t[b].count;
    return n;
}

double cp_lsh_bytes_per_doc_estimate(int bands)
{
    return (double)bands * sizeof(uint64_t) * LSH_GROWTH / LSH_MAX_LOAD;
}

double cp_lsh_compact_bytes_per_doc_estimate(int bands)
{
    return (double)bands * sizeof(uint32_t) * LSH_GROWTH / LSH_MAX_LOAD;
}

int cp_lsh_save(const cp_lsh *l, cp_ckpt_out *o)
{
    int32_t head[3] = {l->bands, l->T, l->compact};
    if (cp_ckpt_put(o, head, sizeof head))
        return -1;
    for (int b = 0; b < l->bands; b++) {
        const lsh_table *t = &l->t[b];
        uint64_t th[3] = {t->cap, t->count, t->limit};
        if (cp_ckpt_put(o, th, sizeof th) ||
            cp_ckpt_put(o, l->compact ? (const void *)t->slots32 : (const void *)t->slots,
                        (size_t)t->cap * (l->compact ? sizeof(uint32_t) : sizeof(uint64_t))))
            return -1;
    }
    return 0;
}

cp_lsh *cp_lsh_load(cp_ckpt_in *in)
{
    int32_t head[3];
    if (cp_ckpt_get(in, head, sizeof head) || head[0] < 1 || head[0] > 1024 || head[1] < 1 || head[1] > 64)
        return NULL;
    cp_lsh *l = cp_xcalloc(1, sizeof *l);
    l->bands = head[0];
    l->T = head[1];
    l->compact = head[2] != 0;
    l->t = cp_xcalloc((size_t)l->bands, sizeof(lsh_table));
    for (int b = 0; b < l->bands; b++) {
        uint64_t th[3];
        if (cp_ckpt_get(in, th, sizeof th) || th[0] < 1 || th[0] > ((uint64_t)1 << 40) || th[1] > th[0]) {
            cp_lsh_destroy(l);
            return NULL;
        }
        table_alloc(&l->t[b], th[0], l->compact);
        l->t[b].count = th[1];
        l->t[b].limit = th[2];
        if (cp_ckpt_get(in, l->compact ? (void *)l->t[b].slots32 : (void *)l->t[b].slots,
                        (size_t)th[0] * (l->compact ? sizeof(uint32_t) : sizeof(uint64_t)))) {
            cp_lsh_destroy(l);
            return NULL;
        }
    }
    return l;
}
