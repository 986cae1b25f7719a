/* minhash: MinHash band keys of a document (parallel stage, pure per document) and the LSH index that turns
 * them into near-duplicate decisions (ordered serial step only).
 *
 * Signature. Each shingle is hashed once (XXH3-64 with a seed-derived seed); value i of the signature is the
 * minimum over shingles of a_i*h + b_i mod 2^64 (a_i odd, a_i and b_i from splitmix64 of the seed). For any
 * fixed i this is a bijection of h, and the h of distinct shingles behave as independent uniform 64-bit
 * values, so P(value i equal for two texts) = Jaccard of their shingle sets: each value is an unbiased
 * estimator. Different multipliers order the same hashes almost independently (multiply-add is 2-universal on
 * the high bits that decide a minimum); tests/test_minhash.c checks the mean error, the variance J(1-J)/K of
 * independent permutations, and the band collision curve against exact Jaccard, and the signature against
 * a plain implementation of this definition. With AVX-512 (picked at run time) one pass over the shingles
 * hashes each and folds it into all 112 values at once (14 vectors: vpmullq + vpaddq + vpminuq each); see
 * min_values. Elsewhere the hashes come first, then blocks of 8 values kept in registers while the hashes
 * stream past, which compilers vectorise. Integer arithmetic either way, so identical results. The vector
 * work is bound by ports 0 and 5 (vpmullq is 3 uops there, vpminuq 1 on port 0): 5 uops per 8 values, about
 * 10 ns per shingle for 112 values at 3.5 GHz; a 32-bit split (vpmuludq x3) measured 1.8x slower, 256-bit
 * vectors 1.3x slower, and a 52-bit split with IFMA (vpmadd52luq/huq) would need as many uops (3 IFMA, a
 * vpshldq, the minimum; counted, not built), so the rest of the stage is what moved: the shingle hash (see shingle_hash), the
 * word scan (AVX-512 masks, no branch on the number of words in a block; with VBMI2 the positions of a
 * block's word starts and ends come out of one vpcompressb each, not a bit at a time: about 6 % on the
 * stage) and the script counts (a table). Skipping shingles whose hash repeats earlier in the document (min is idempotent) is not worth a
 * set lookup: 0.2 % of the bench slice's word 5-grams repeat within their document.
 *
 * Words. One pass over the text in 64-byte blocks turns byte classes into bit masks (AVX-512BW or SSE2; a
 * portable loop elsewhere): word starts and ends come from the separator mask, and the AUTO script counts from the same
 * masks: an ASCII block is a popcount, a block of well-formed UTF-8 a popcount plus a look at its 3- and
 * 4-byte lead bytes only (the no-space scripts all lie at U+0E00 and above: a 3-byte code point is one
 * table load by its top 10 bits, unless its 64-code-point block straddles a script's edge); any other block
 * is decoded one code point at a time. The decision equals the one-code-point-at-a-time definition for every input
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
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CP_X86_DISPATCH 1
#include <immintrin.h>
#endif

#include "corpusprep/checkpoint.h"
#include "corpusprep/util.h"


/* Signature values are processed in blocks kept in registers while the shingle hashes stream past. With
 * AVX-512 a block is 16 values: two 512-bit vectors share each broadcast hash (13 % faster than 8; 32
 * spill). Without it 64-bit multiplies and unsigned minima are emulated and 16 values spill: 8 (measured
 * 1.4x faster than 16 with AVX2 and with the baseline target). */
#define BLOCK 16 /* the padding of the signature: a multiple of both block sizes */

struct cp_minhash {
    cp_minhash_params p;
    int nvals, nvals_padded;
    uint64_t shingle_seed, band_seed;
    uint64_t key[8]; /* XXH3's secret words 0..7 with shingle_seed added (even) or subtracted (odd) */
    /* For the code points of a 3-byte UTF-8 sequence, by cp >> 6 (the lead's low 4 bits and the next byte's
     * low 6): 1 when all 64 are in a no-space script, 0 when none is, 2 when some are (decode the third) */
    unsigned char nospace3[1024];
    uint64_t *a, *b; /* nvals_padded each */
    int isa;         /* the code paths this CPU takes: see pick_isa */
};

/* 0: portable code (the compilers' own vectorisation); 1: AVX-512 F, DQ, VL, BW and CD; 2: those and VBMI2
 * (the word scan's vpcompressb). Every level gives the same signatures. CP_TEST_MINHASH_ISA=n lowers the level
 * to n, so that the tests compare every path with the definition on one machine (tests only). */
static int pick_isa(void)
{
    int isa = 0;
#ifdef CP_X86_DISPATCH
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd"))
        isa = __builtin_cpu_supports("avx512vbmi2") ? 2 : 1;
#endif
    const char *cap = getenv("CP_TEST_MINHASH_ISA");
    if (cap && *cap >= '0' && *cap < '0' + isa)
        isa = *cap - '0';
    return isa;
}

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
    mh->isa = pick_isa();
    uint64_t st = p->seed ^ 0x6D696E6861736831ULL;
    mh->shingle_seed = splitmix64(&st);
    mh->band_seed = splitmix64(&st);
    for (uint32_t k = 0; k < 1024; k++) {
        int n = 0;
        for (uint32_t c = k << 6; c < (k + 1) << 6; c++)
            n += is_nospace_script(c);
        mh->nospace3[k] = n == 0 ? 0 : n == 64 ? 1 : 2;
    }
    for (int k = 0; k < 8; k++)
        mh->key[k] = XXH_readLE64(XXH3_kSecret + 8 * k) + (k % 2 ? 0 - mh->shingle_seed : mh->shingle_seed);
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

/* XXH3_64bits_withSeed, with the lengths up to 128 bytes hashed by the branches it takes for them, called
 * directly and inlined (the call and the length dispatch were a sixth of the cost of a shingle's hash). */
static inline uint64_t xxh3_seeded(const void *p, size_t n, uint64_t seed)
{
    const xxh_u8 *u = (const xxh_u8 *)p;
    if (n <= 16)
        return XXH3_len_0to16_64b(u, n, XXH3_kSecret, seed);
    if (n <= 128)
        return XXH3_len_17to128_64b(u, n, XXH3_kSecret, sizeof XXH3_kSecret, seed);
    return XXH3_64bits_withSeed(u, n, seed);
}

/* One 16-byte step of XXH3 (XXH3_mix16B) with its secret words and seed already combined in k0, k1. */
static inline uint64_t mix16(const unsigned char *p, uint64_t k0, uint64_t k1)
{
    return XXH3_mul128_fold64(XXH_readLE64(p) ^ k0, XXH_readLE64(p + 8) ^ k1);
}

/* XXH3_64bits_withSeed of the shingle base[a..e), where base[0..blen) may be read. Most shingles are 17..64
 * bytes, on both sides of XXH3's 32-byte branch (word 5-grams of the bench slice: 56 % 17..32, 41 %
 * 33..64), so that branch mispredicted about every other shingle. Here a shingle of 17..64 bytes that starts
 * at least 16 bytes into base and has 32 readable bytes from its start always computes the four 16-byte
 * steps and masks off the two that a shorter one does not take: the same sum, no branch on the length (the
 * extra reads fall inside base, at most 15 bytes before the shingle and 15 after): hash_17to64_padded. The
 * keys combine XXH3's secret with the seed once per cp_minhash. Other lengths take XXH3's own branches,
 * inlined: shingle_hash_other (test_minhash.c checks the signature against XXH3_64bits_withSeed on shingles
 * of every length class). */
static inline __attribute__((always_inline)) uint64_t hash_17to64_padded(const cp_minhash *mh,
                                                                         const unsigned char *p, size_t n)
{
    const uint64_t *k = mh->key;
    uint64_t acc = n * XXH_PRIME64_1 + mix16(p, k[0], k[1]) + mix16(p + n - 16, k[2], k[3]);
    uint64_t more = mix16(p + 16, k[4], k[5]) + mix16(p + n - 32, k[6], k[7]);
    uint64_t keep = (uint64_t)((int64_t)(32 - n) >> 63); /* all ones when n > 32 (n <= 64) */
#if defined(__GNUC__)
    __asm__("" : "+r"(keep)); /* or GCC turns the mask back into the branch */
#endif
    return XXH3_avalanche(acc + (more & keep));
}

static inline __attribute__((always_inline)) uint64_t shingle_hash_other(const cp_minhash *mh,
                                                                         const unsigned char *p, size_t n)
{
    if (n <= 16)
        return XXH3_len_0to16_64b(p, n, XXH3_kSecret, mh->shingle_seed);
    if (n <= 128)
        return XXH3_len_17to128_64b(p, n, XXH3_kSecret, sizeof XXH3_kSecret, mh->shingle_seed);
    return XXH3_64bits_withSeed(p, n, mh->shingle_seed);
}

static inline __attribute__((always_inline)) uint64_t shingle_hash(const cp_minhash *mh, const char *base, size_t a,
                                                                   size_t e, size_t blen)
{
    const unsigned char *p = (const unsigned char *)base + a;
    size_t n = e - a;
    if (n - 17 <= 64 - 17 && a >= 16 && a + 32 <= blen)
        return hash_17to64_padded(mh, p, n);
    return shingle_hash_other(mh, p, n);
}

/* Shingles are spans of n consecutive units (words, or code points of the compacted text) starting at each
 * unit; a text shorter than n units is one shingle. */
static size_t shingle_count(size_t units, int n) { return units == 0 ? 0 : units < (size_t)n ? 1 : units - (size_t)n + 1; }
static size_t shingle_width(size_t units, int n) { return units < (size_t)n ? units : (size_t)n; }

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

/* 1 when counts sc of a prefix of the text already decide words, whatever the rest bytes that follow hold;
 * then decide_chars of these counts also says words. A no-space code point takes at least 3 bytes (only
 * lead bytes >= 0xE0 reach U+0E00; utf8_next decodes shorter units below U+0800), so the rest adds x <= rest/3
 * of them and at least x to the total, and nospace - share * total can grow by at most (1 - share) * rest/3.
 * When that still leaves it 2 below zero, the final comparison (doubles, exact for these integers but for
 * the product's rounding) is false. Cheap enough per 64-byte block; it saves about half of the counting on
 * a text without no-space scripts. */
static int words_certain(const script_counts *sc, double share, size_t rest)
{
    return (double)sc->nospace + (1.0 - share) * ((double)rest / 3.0) + 2.0 <= share * (double)sc->total;
}

/* The AUTO counts of one full 64-byte block at t+b whose first code point starts at b + skip (skip < 4: the
 * bytes before it belong to the previous block's last code point). When every byte the decoder of utf8_next
 * would swallow as a continuation is one (10xxxxxx) and no other byte is, its units are exactly the
 * non-continuation bytes, so they are counted from the masks; only lead bytes >= 0xE0 are decoded, since only
 * they reach a no-space script. Returns where the next code point starts, or 0 when the block does not have
 * that shape (the caller then decodes it byte by byte). */
static size_t count_block(const unsigned char *t, size_t b, size_t skip, size_t len, const cp_masks64 *m,
                          const unsigned char *nospace3, script_counts *sc)
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
    /* 3-byte code points by table (curly quotes, dashes and most scripts are a load); 4-byte ones decoded */
    for (uint64_t l = lead3; l; l &= l - 1) {
        size_t i = b + (size_t)__builtin_ctzll(l);
        unsigned st = nospace3[(t[i] & 0x0Fu) << 6 | (t[i + 1] & 0x3Fu)];
        if (st == 2) {
            uint32_t cp;
            utf8_next(t, i, len, &cp);
            st = (unsigned)is_nospace_script(cp);
        }
        sc->nospace += st;
    }
    for (uint64_t l = lead4; l; l &= l - 1) {
        uint32_t cp;
        utf8_next(t, b + (size_t)__builtin_ctzll(l), len, &cp);
        sc->nospace += is_nospace_script(cp);
    }
    return b + 64 + spill;
}

/* Writes b + the index of each set bit of x to out[0..popcount(x)), returns popcount(x). The first 12 go
 * unconditionally (out needs room for 12; the extra entries are overwritten or unused), so the number of
 * words in a block, about 9 in news text, is not a branch that mispredicts every other block; more finish in
 * a loop. ctz of x | 1 << 63 is that of x when x != 0 and defined when x == 0. */
static inline __attribute__((always_inline)) size_t put_bits_with(size_t *out, size_t b, uint64_t x, int hw_popcount)
{
    size_t cnt = hw_popcount ? (size_t)__builtin_popcountll(x) : (size_t)cp_popcount64(x);
    _Pragma("GCC unroll 12") for (int k = 0; k < 12; k++) {
        out[k] = b + (size_t)__builtin_ctzll(x | (1ULL << 63));
        x &= x - 1;
    }
    for (size_t k = 12; k < cnt; k++) {
        out[k] = b + (size_t)__builtin_ctzll(x);
        x &= x - 1;
    }
    return cnt;
}

static inline __attribute__((always_inline)) size_t put_bits(size_t *out, size_t b, uint64_t x)
{
    return put_bits_with(out, b, x, 0);
}

/* The masks of the n <= 64 bytes at p, the bytes past n read as 0 (separators). */
static inline void masks_padded(const unsigned char *p, size_t n, cp_masks64 *m)
{
    if (n < 64) {
        unsigned char tail[64] = {0};
        memcpy(tail, p, n);
        cp_masks64_of(tail, m);
    } else {
        cp_masks64_of(p, m);
    }
}

/* One pass over the text in blocks of 64 bytes: the spans of its words (maximal runs of bytes > ' ') into
 * s->starts/ends, and, when sc is given, the counts that decide AUTO mode (whole ASCII blocks by popcount).
 * Returns the number of words. Inlined into a baseline and an AVX-512 version, which differ in how they
 * compute the masks (masks) and the popcount (hw_popcount). */
static inline __attribute__((always_inline)) size_t
scan_words_with(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len, script_counts *sc,
                void (*masks)(const unsigned char *, size_t, cp_masks64 *),
                size_t (*put)(size_t *, size_t, uint64_t), int hw_popcount)
{
    const unsigned char *t = (const unsigned char *)text;
    /* words are separated by at least one byte; put writes up to 16 entries past the last */
    reserve_spans(s, len / 2 + 1 + 16);
    size_t nstart = 0, nend = 0, next_cp = 0;
    uint64_t carry = 0; /* 1 when the byte before the block is part of a word */
    for (size_t b = 0; b < len; b += 64) {
        size_t n = len - b < 64 ? len - b : 64;
        cp_masks64 m;
        masks(t + b, n, &m);
        uint64_t word = ~m.ctl;
        uint64_t prev = (word << 1) | carry;
        carry = word >> 63;
        nstart += put(s->starts + nstart, b, word & ~prev);
        nend += put(s->ends + nend, b, m.ctl & prev);
        if (sc) {
            size_t next = 0;
            if (!m.b7 && next_cp == b) {
                sc->total += hw_popcount ? (size_t)__builtin_popcountll(word) : (size_t)cp_popcount64(word);
                next = b + n; /* padding is separators */
            } else if (n == 64 && next_cp - b < 4) {
                next = count_block(t, b, next_cp - b, len, &m, mh->nospace3, sc);
            }
            next_cp = next ? next : count_scripts(t, next_cp, b + n, len, sc);
            /* Stop counting once the rest of the text cannot turn the decision to characters: see words_certain */
            if (words_certain(sc, mh->p.char_share, len - next_cp))
                sc = NULL;
        }
    }
    if (nend < nstart) /* the text ends inside a word at a multiple of 64 bytes */
        s->ends[nend++] = len;
    return nstart;
}

static size_t scan_words(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len,
                         script_counts *sc)
{
    return scan_words_with(mh, s, text, len, sc, masks_padded, put_bits, 0);
}

#ifdef CP_X86_DISPATCH
#define V4 __attribute__((target("arch=x86-64-v4")))

/* masks_padded with AVX-512BW: a (masked) load and a compare or test per mask. Sets only the masks this file
 * reads (ctl, b7..b3). */
V4 static inline void masks_avx512(const unsigned char *p, size_t n, cp_masks64 *m)
{
    __m512i x = n < 64 ? _mm512_maskz_loadu_epi8(((__mmask64)1 << n) - 1, p) : _mm512_loadu_si512(p);
    m->ctl = _mm512_cmple_epu8_mask(x, _mm512_set1_epi8(' '));
    m->blank = 0;
    m->b7 = _mm512_movepi8_mask(x);
    m->b6 = _mm512_mask_test_epi8_mask(m->b7, x, _mm512_set1_epi8(0x40));
    m->b5 = _mm512_mask_test_epi8_mask(m->b7, x, _mm512_set1_epi8(0x20));
    m->b4 = _mm512_mask_test_epi8_mask(m->b7, x, _mm512_set1_epi8(0x10));
    m->b3 = _mm512_mask_test_epi8_mask(m->b7, x, _mm512_set1_epi8(0x08));
}

V4 static inline __attribute__((always_inline)) size_t put_bits_hw(size_t *out, size_t b, uint64_t x)
{
    return put_bits_with(out, b, x, 1);
}

V4 static size_t scan_words_avx512(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len,
                                   script_counts *sc)
{
    return scan_words_with(mh, s, text, len, sc, masks_avx512, put_bits_hw, 1);
}

#define V4B __attribute__((target("arch=x86-64-v4,avx512vbmi2")))

/* put_bits with AVX-512 VBMI2: vpcompressb packs the indices of the set bits into bytes, which are widened
 * to 64 bits eight at a time and offset by b. The first 16 go unconditionally (out needs room for 16; a
 * block of news text has about 9 words), more by 8 (out needs room for 7 past the last). */
V4B static inline __attribute__((always_inline)) size_t put_bits_vbmi2(size_t *out, size_t b, uint64_t x)
{
    static const unsigned char iota[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                           16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                           32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                           48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
    size_t cnt = (size_t)__builtin_popcountll(x);
    __m512i idx = _mm512_maskz_compress_epi8((__mmask64)x, _mm512_loadu_si512((const void *)iota));
    __m512i vb = _mm512_set1_epi64((long long)b);
    __m128i lo = _mm512_castsi512_si128(idx);
    _mm512_storeu_si512((void *)out, _mm512_add_epi64(_mm512_cvtepu8_epi64(lo), vb));
    _mm512_storeu_si512((void *)(out + 8), _mm512_add_epi64(_mm512_cvtepu8_epi64(_mm_srli_si128(lo, 8)), vb));
    if (cnt > 16) {
        unsigned char bytes[64];
        _mm512_storeu_si512((void *)bytes, idx);
        for (size_t k = 16; k < cnt; k += 8) {
            __m128i eight = _mm_loadl_epi64((const __m128i *)(bytes + k));
            _mm512_storeu_si512((void *)(out + k), _mm512_add_epi64(_mm512_cvtepu8_epi64(eight), vb));
        }
    }
    return cnt;
}

V4B static size_t scan_words_vbmi2(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len,
                                   script_counts *sc)
{
    return scan_words_with(mh, s, text, len, sc, masks_avx512, put_bits_vbmi2, 1);
}

#endif

int cp_minhash_uses_chars(const cp_minhash *mh, const char *text, size_t len)
{
    if (mh->p.mode != CP_SHINGLE_AUTO)
        return mh->p.mode == CP_SHINGLE_CHARS;
    script_counts sc = {0, 0};
    count_scripts((const unsigned char *)text, 0, len, len, &sc);
    return decide_chars(mh, &sc);
}

/* Compacts the text without spaces into s->compact and its code points into s->starts/ends; returns their
 * number. */
static size_t split_chars(cp_minhash_scratch *s, const char *text, size_t len)
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
    return units;
}

/* The shingles of one text: shingle i is base[starts[i] .. ends[i + width - 1]), base[0..blen) readable. */
typedef struct {
    const char *base;
    size_t blen;
    const size_t *starts, *ends;
    size_t count, width;
} shingle_set;

/* mins[i] = min over shingles j of a[i]*h_j + b[i] for i < nvals (a multiple of 16), h_j the shingle hashes.
 *
 * With AVX-512 the values go in passes of up to 112 (14 vectors: the default signature in one pass), their
 * minima and multipliers in 28 of the 32 registers, the addends as memory operands (a load, no extra uop
 * on the vector ports). The first pass hashes each shingle (scalar) just before folding it into its values,
 * so the hash (scalar multiplies, loads, integer ops, mostly on the other ports) partly overlaps the vector
 * work (ports 0 and 5) in the out-of-order core. Later passes, for signatures over 112 values, read the
 * hashes the first one stored. Measured on the bench slice, per shingle, all else equal: hashing every
 * shingle first and then 7 passes of 16 values in registers 20.5 ns, this 18.4 ns; the vector work alone
 * is 11 ns either way. Dropped: the minima kept in memory (one pass of any length, no register limit) 1.5x
 * slower; a first pass of 64 values (8 vectors, addends in registers) with the hash, then one of 48, no
 * faster; hashing shingle j+1 between the two halves of shingle j's vector work, no change.
 * The vector units are the bound and the hash's integer uops partly land on the same ports, so the first
 * pass spends as few as it can: the shingles whose 17..64 bytes may be read with 16 bytes around them (all
 * but the first few and the last few of a text: starts only grow) form a middle run that tests the length
 * and nothing else, and a signature of one pass (the default) does not store the hashes: 2.5 % on the
 * stage. Dropped (issue 9): two shingles per iteration, 5 % slower (registers spill); the hash of shingle
 * j+2 computed in iteration j, 2 % slower; the hash broadcast from its stored copy (a load, not a port-5
 * uop), no change. */
#ifdef CP_X86_DISPATCH
#define SHINGLE_HASH(j) shingle_hash(mh, sh->base, sh->starts[j], sh->ends[(j) + sh->width - 1], sh->blen)
/* Folds hexpr, shingle j's hash, into the NV vectors of minima (stores it in h[j] when FUSED is 1). */
#define MINS_STEP(NV, FUSED, hexpr)                                                                          \
    do {                                                                                                     \
        uint64_t hj_ = (hexpr);                                                                              \
        if (FUSED == 1)                                                                                      \
            h[j] = hj_;                                                                                      \
        __m512i x = _mm512_set1_epi64((long long)hj_);                                                       \
        _Pragma("GCC unroll 14") for (int k = 0; k < NV; k++) {                                             \
            __m512i v = _mm512_add_epi64(_mm512_mullo_epi64(aa[k], x), bb[k]);                              \
            m[k] = _mm512_min_epu64(m[k], v);                                                                \
        }                                                                                                    \
    } while (0)
/* One pass over NV vectors of values from vector v0 on. FUSED 0: read the hashes from h; 1: hash each
 * shingle and store it in h[j] for the later passes; 2: hash, store nothing (the only pass). */
#define MINS_PASS(NV, FUSED)                                                                                 \
    V4 static void mins_pass##NV##_##FUSED(const cp_minhash *mh, const shingle_set *sh, uint64_t *restrict h, \
                                            size_t v0, uint64_t *restrict mins)                              \
    {                                                                                                        \
        __m512i m[NV], aa[NV], bb[NV]; /* bb ends up on the stack: memory operands of vpaddq */               \
        _Pragma("GCC unroll 14") for (int k = 0; k < NV; k++) {                                             \
            m[k] = _mm512_set1_epi64(-1);                                                                    \
            aa[k] = _mm512_loadu_si512((const void *)(mh->a + 8 * v0 + 8 * k));                             \
            bb[k] = _mm512_loadu_si512((const void *)(mh->b + 8 * v0 + 8 * k));                             \
        }                                                                                                    \
        if (FUSED) { /* [0, jlo) and [jhi, cnt): shingles too near an end of base for hash_17to64_padded */ \
            const size_t *st = sh->starts, *en = sh->ends + sh->width - 1, cnt = sh->count, blen = sh->blen;  \
            const unsigned char *base = (const unsigned char *)sh->base;                                     \
            size_t jlo = 0, jhi = cnt, j = 0;                                                                \
            while (jlo < cnt && st[jlo] < 16)                                                                \
                jlo++;                                                                                       \
            while (jhi > jlo && st[jhi - 1] + 32 > blen)                                                     \
                jhi--;                                                                                       \
            for (; j < jlo; j++)                                                                             \
                MINS_STEP(NV, FUSED, SHINGLE_HASH(j));                                                       \
            for (; j < jhi; j++) {                                                                           \
                size_t n = en[j] - st[j];                                                                    \
                const unsigned char *p = base + st[j];                                                       \
                MINS_STEP(NV, FUSED, __builtin_expect(n - 17 <= 64 - 17, 1) ? hash_17to64_padded(mh, p, n)   \
                                                                          : shingle_hash_other(mh, p, n));   \
            }                                                                                                \
            for (; j < cnt; j++)                                                                             \
                MINS_STEP(NV, FUSED, SHINGLE_HASH(j));                                                       \
        } else {                                                                                             \
            for (size_t j = 0; j < sh->count; j++)                                                           \
                MINS_STEP(NV, 0, h[j]);                                                                      \
        }                                                                                                    \
        _Pragma("GCC unroll 14") for (int k = 0; k < NV; k++)                                               \
            _mm512_storeu_si512((void *)(mins + 8 * v0 + 8 * k), m[k]);                                      \
    }
#define MINS_PASSES(X) X(2) X(4) X(6) X(8) X(10) X(12) X(14)
#define MINS_PASS_BOTH(NV) MINS_PASS(NV, 0) MINS_PASS(NV, 1) MINS_PASS(NV, 2)
MINS_PASSES(MINS_PASS_BOTH)

typedef void mins_pass_fn(const cp_minhash *, const shingle_set *, uint64_t *restrict, size_t, uint64_t *restrict);

V4 static void mins_avx512(const cp_minhash *mh, cp_minhash_scratch *s, const shingle_set *sh, uint64_t *mins)
{
#define MINS_PASS_ENTRY(NV) {mins_pass##NV##_0, mins_pass##NV##_1, mins_pass##NV##_2},
    static mins_pass_fn *const passes[7][3] = {MINS_PASSES(MINS_PASS_ENTRY)};
    size_t nv = (size_t)mh->nvals_padded / 8; /* even */
    reserve_hashes(s, sh->count); /* the first pass stores them for the others (a store: no vector port) */
    for (size_t v0 = 0; v0 < nv; v0 += 14) {
        size_t k = nv - v0 < 14 ? nv - v0 : 14;
        passes[k / 2 - 1][v0 > 0 ? 0 : nv > 14 ? 1 : 2](mh, sh, s->hashes, v0, mins);
    }
}
#endif

/* Elsewhere 64-bit multiplies and unsigned minima are emulated and the hashes come first, into h[]; then
 * blocks of B values stay in registers while the hashes stream past. */
#define MINS_BLOCKS(name, B, attr)                                                                           \
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

static void mins_by_blocks(const cp_minhash *mh, cp_minhash_scratch *s, const shingle_set *sh, uint64_t *mins);

#ifdef CP_X86_DISPATCH
MINS_BLOCKS(mins_blocks8, 8, __attribute__((target_clones("avx2", "default"))))
static void min_values(const cp_minhash *mh, cp_minhash_scratch *s, const shingle_set *sh, uint64_t *mins)
{
    if (mh->isa >= 1)
        mins_avx512(mh, s, sh, mins);
    else
        mins_by_blocks(mh, s, sh, mins);
}
#else
MINS_BLOCKS(mins_blocks8, 8, )
static void min_values(const cp_minhash *mh, cp_minhash_scratch *s, const shingle_set *sh, uint64_t *mins)
{
    mins_by_blocks(mh, s, sh, mins);
}
#endif

static void mins_by_blocks(const cp_minhash *mh, cp_minhash_scratch *s, const shingle_set *sh, uint64_t *mins)
{
    reserve_hashes(s, sh->count);
    for (size_t j = 0; j < sh->count; j++)
        s->hashes[j] = shingle_hash(mh, sh->base, sh->starts[j], sh->ends[j + sh->width - 1], sh->blen);
    mins_blocks8(mins, mh->a, mh->b, s->hashes, sh->count, (size_t)mh->nvals_padded);
}

/* Fills s->mins[0..nvals) (all UINT64_MAX when there is no shingle); returns the number of shingles. */
static size_t compute_mins(const cp_minhash *mh, cp_minhash_scratch *s, const char *text, size_t len)
{
    shingle_set sh = {text, len, NULL, NULL, 0, 0};
    size_t units;
    int n = mh->p.ngram;
    /* AUTO decides from counts taken in the same pass that finds the words */
    script_counts sc = {0, 0};
#ifdef CP_X86_DISPATCH
    size_t (*scan)(const cp_minhash *, cp_minhash_scratch *, const char *, size_t, script_counts *) =
        mh->isa == 2 ? scan_words_vbmi2 : mh->isa == 1 ? scan_words_avx512 : scan_words;
#else
    size_t (*scan)(const cp_minhash *, cp_minhash_scratch *, const char *, size_t, script_counts *) = scan_words;
#endif
    if (mh->p.mode == CP_SHINGLE_CHARS ||
        (units = scan(mh, s, text, len, mh->p.mode == CP_SHINGLE_AUTO ? &sc : NULL),
         mh->p.mode == CP_SHINGLE_AUTO && decide_chars(mh, &sc))) {
        units = split_chars(s, text, len);
        n = mh->p.char_ngram;
        sh.base = s->compact.data;
        sh.blen = s->compact.len;
    }
    sh.starts = s->starts;
    sh.ends = s->ends;
    sh.count = shingle_count(units, n);
    sh.width = shingle_width(units, n);
    if ((size_t)mh->nvals_padded > s->mins_cap) {
        s->mins = cp_xrealloc(s->mins, sizeof(uint64_t) * (size_t)mh->nvals_padded);
        s->mins_cap = (size_t)mh->nvals_padded;
    }
    if (sh.count == 0) {
        for (int i = 0; i < mh->nvals_padded; i++)
            s->mins[i] = UINT64_MAX;
        return 0;
    }
    min_values(mh, s, &sh, s->mins);
    return sh.count;
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
        band_keys_out[band] = xxh3_seeded(s->band_bytes, (size_t)r * 8,
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
