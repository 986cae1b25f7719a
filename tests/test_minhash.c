/* Tests for minhash: band keys (determinism, seeds, short texts, character shingles), the accuracy of the
 * fast permutation scheme against exact Jaccard, and the LSH index (earliest-seq decisions, growth, memory). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "corpusprep/minhash.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* What cp_dedup_normalize does, for ASCII: lower case, digits to 0, punctuation dropped, spaces collapsed. */
static char *norm(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c >= '0' && c <= '9')
            c = '0';
        if (c == ' ' || c == '\n' || c == '\t') {
            space = o > 0;
            continue;
        }
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || c == '0'))
            continue;
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}

static cp_minhash *make(uint64_t seed, cp_shingle_mode mode)
{
    cp_minhash_params p;
    cp_minhash_params_default(&p);
    p.seed = seed;
    p.mode = mode;
    char err[200];
    cp_minhash *mh = cp_minhash_create(&p, err, sizeof err);
    assert_non_null(mh);
    return mh;
}

static int bands_of(cp_minhash *mh, cp_minhash_scratch *s, const char *text, uint64_t *keys)
{
    return cp_minhash_bands(mh, s, text, strlen(text), keys);
}

static int shared_bands(const uint64_t *a, const uint64_t *b, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += a[i] == b[i];
    return k;
}

static const char *NEWS =
    "The central bank raised its key interest rate by 25 basis points on Tuesday, citing persistent inflation "
    "in food and energy prices, and signalled that further increases were possible before the end of the year "
    "if price growth did not slow.";

/* ---- signatures and band keys ---- */

static void test_identical_texts_identical_keys(void **state)
{
    (void)state;
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO);
    cp_minhash_scratch *s1 = cp_minhash_scratch_create(), *s2 = cp_minhash_scratch_create();
    char *a = norm(NEWS), *b = norm(NEWS), *c = norm("Completely unrelated text about football results and "
                                                     "the weather in the northern provinces this weekend.");
    uint64_t ka[14], kb[14], kc[14];
    assert_true(bands_of(mh, s1, a, ka) > 0);
    bands_of(mh, s1, c, kc); /* scratch reuse must not leak state into the next document */
    bands_of(mh, s2, b, kb);
    assert_memory_equal(ka, kb, sizeof ka);
    assert_int_equal(shared_bands(ka, kc, 14), 0);
    uint64_t again[14];
    bands_of(mh, s1, a, again);
    assert_memory_equal(ka, again, sizeof ka);
    free(a), free(b), free(c);
    cp_minhash_scratch_destroy(s1), cp_minhash_scratch_destroy(s2);
    cp_minhash_destroy(mh);
}

static void test_seeds(void **state)
{
    (void)state;
    cp_minhash *m1 = make(1, CP_SHINGLE_AUTO), *m1b = make(1, CP_SHINGLE_AUTO), *m2 = make(2, CP_SHINGLE_AUTO);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    char *a = norm(NEWS);
    uint64_t k1[14], k1b[14], k2[14];
    bands_of(m1, s, a, k1);
    bands_of(m1b, s, a, k1b);
    bands_of(m2, s, a, k2);
    assert_memory_equal(k1, k1b, sizeof k1);
    assert_int_equal(shared_bands(k1, k2, 14), 0);
    free(a);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(m1), cp_minhash_destroy(m1b), cp_minhash_destroy(m2);
}

/* Pinned values: the keys are part of the on-disk contract (a cluster mode exchanges them between machines),
 * so any change to hashing, permutations or byte order must show up here. */
static void test_keys_pinned(void **state)
{
    (void)state;
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    char *a = norm(NEWS);
    uint64_t k[14];
    bands_of(mh, s, a, k);
    const uint64_t want0 = UINT64_C(0xd04e5f285fef4c1c), want13 = UINT64_C(0xfb9cb06555f53083);
    assert_true(k[0] == want0);
    assert_true(k[13] == want13);
    free(a);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
}

/* Keys of texts in several scripts, pinned to the values of the scalar word splitter that the 64-byte block
 * scanner replaced: Latin with and without diacritics, Ethiopic, Han, kana, Thai, a mixed text under the
 * character share, and a text of exactly 64 bytes that ends inside a word (the block edge). */
static void test_keys_pinned_scripts(void **state)
{
    (void)state;
    static const char *texts[] = {
    "the central bank raised its key interest rate by 00 basis points on tuesday citing persistent inflation in food and energy prices",
    /* exactly 64 bytes, ending inside a word */
    "abcdefghij klmnopqrst uvwxyzabcd efghijklmn opqrstuvwx yzabcdefg",
    "die regierung hat am dienstag beschlossen die steuern für familien zu senken während die opposition kritik übte und neuwahlen forderte",
    "ìjọba àpapọ̀ ti kéde pé àwọn ilé ìwé yóò ṣí padà ní ọ̀sẹ̀ tó ń bọ̀ lẹ́yìn ìsinmi gígùn tí àjàkálẹ̀ àrùn fà",
    "የኢትዮጵያ መንግስት በዛሬው እለት አዲስ የኢኮኖሚ ፖሊሲ ይፋ አድርጓል ይህም የዋጋ ግሽበትን ለመቀነስ ያለመ ነው ተብሏል",
    "中央银行周二宣布将基准利率上调二十五个基点以应对持续的通货膨胀压力市场对此反应平稳",
    "東京都は火曜日新しい交通政策を発表しました 市民の反応はおおむね好意的です",
    "ธนาคารกลางประกาศขึ้นอัตราดอกเบี้ยนโยบายในวันอังคาร",
    "mixed english text with a few 中文 words 和 some more english words to keep the share of han characters low",
    };
    static const struct {
        int shingles;
        uint64_t k0, k7, k13;
    } want[] = {
    {18, 0x4d055d4ea42fc4c3ULL, 0xf8347586b5cfe7c3ULL, 0xcf8b3d8d2bb1d734ULL},
    {2, 0xf1427dbf5779a35eULL, 0x2827e40220f2c9c4ULL, 0x1c3d90faac9678d6ULL},
    {16, 0xf93191f12a240af2ULL, 0xade31970e92c1a1fULL, 0xa26c8ffc7cce0ddbULL},
    {19, 0x280aeca11683dc99ULL, 0xa8e443001854b715ULL, 0x35360ba8aebc67efULL},
    {12, 0x57fcef8f5b9bba6aULL, 0x08ee7838510fca71ULL, 0x9a64620972ff4542ULL},
    {37, 0x9ee2c15613e29eabULL, 0x6b0670321103e1bcULL, 0xe758afe5bf4353b8ULL},
    {32, 0x99bde2773e4faab3ULL, 0x22117780bbb2c137ULL, 0xe9a575a3025c3baaULL},
    {46, 0x11dc0fbfda8ee5ecULL, 0x6d58f7c4c64f499bULL, 0x2cae45d9e51f49c6ULL},
    {17, 0x5dacc62ed2f0527aULL, 0x8c092c6eb007f99bULL, 0x6ba6c10655d50848ULL},
    };
    assert_int_equal(sizeof texts / sizeof *texts, sizeof want / sizeof *want);
    assert_int_equal(strlen(texts[1]), 64);
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        uint64_t k[14];
        assert_int_equal(bands_of(mh, s, texts[i], k), want[i].shingles);
        assert_true(k[0] == want[i].k0);
        assert_true(k[7] == want[i].k7);
        assert_true(k[13] == want[i].k13);
    }
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
}

/* The AUTO decision as the header defines it, one code point at a time (a byte that starts no valid-length
 * sequence is one code point), against the block scanner of cp_minhash_bands on random mixes of ASCII, Latin,
 * Han, Thai, emoji, stray continuation bytes and cut sequences, at every length across block edges. */
static int ref_uses_chars(const unsigned char *t, size_t n)
{
    size_t total = 0, nospace = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = t[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + len > n)
            len = 1;
        uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < len; k++)
            v = (v << 6) | (t[i + k] & 0x3Fu);
        i += len;
        if (len == 1 && c <= ' ')
            continue;
        total++;
        nospace += (v >= 0x0E00 && v <= 0x0EFF) || (v >= 0x0F00 && v <= 0x0FFF) || (v >= 0x1000 && v <= 0x109F) ||
                   (v >= 0x1780 && v <= 0x17FF) || (v >= 0x3040 && v <= 0x30FF) || (v >= 0x31F0 && v <= 0x31FF) ||
                   (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0xF900 && v <= 0xFAFF) ||
                   (v >= 0xFF66 && v <= 0xFF9F) || (v >= 0x20000 && v <= 0x3FFFF);
    }
    return total > 0 && (double)nospace >= 0.3 * (double)total;
}

static void test_auto_mode_matches_definition(void **state)
{
    (void)state;
    static const char *pieces[] = {"a", "bc", "word", "\xc3\xa4", "\xe4\xb8\xad", "\xe6\x96\x87", "\xe0\xb8\x81",
                                   "\xe1\x88\x80", "\xf0\x9f\x98\x80", "\xf0\xa0\x80\x80", "\x80", "\xc3", "\xe4\xb8",
                                   "\xff", " ", " "};
    const size_t np = sizeof pieces / sizeof *pieces;
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO), *w = make(1, CP_SHINGLE_WORDS), *c = make(1, CP_SHINGLE_CHARS);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    uint64_t st = 5;
    char buf[700];
    int seen[2] = {0, 0};
    for (int it = 0; it < 4000; it++) {
        size_t n = 0, target = (size_t)(rng_next(&st) % 600);
        int han = (int)(rng_next(&st) % 4); /* how often Han is drawn: mixes on both sides of the 0.3 share */
        while (n < target) {
            const char *q = (int)(rng_next(&st) % 4) < han ? pieces[4 + rng_next(&st) % 2] : pieces[rng_next(&st) % np];
            size_t l = strlen(q);
            memcpy(buf + n, q, l);
            n += l;
        }
        int want = ref_uses_chars((const unsigned char *)buf, n);
        seen[want]++;
        assert_int_equal(cp_minhash_uses_chars(mh, buf, n), want);
        uint64_t ka[14], kb[14];
        int na = cp_minhash_bands(mh, s, buf, n, ka);
        int nb = cp_minhash_bands(want ? c : w, s, buf, n, kb);
        assert_int_equal(na, nb);
        assert_memory_equal(ka, kb, sizeof ka);
    }
    assert_true(seen[0] > 500 && seen[1] > 500);
    /* A sequence cut by the end of the text at a block edge is two code points (lead, stray byte): with one
     * fewer, 3 Han of 10 would reach the 0.3 share; with 11 they do not. */
    memset(buf, ' ', 64);
    memcpy(buf, "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad" "abcdef", 15);
    memcpy(buf + 62, "\xe4\xb8", 2);
    assert_int_equal(ref_uses_chars((const unsigned char *)buf, 64), 0);
    assert_int_equal(cp_minhash_uses_chars(mh, buf, 64), 0);
    uint64_t ka[14], kb[14];
    cp_minhash_bands(mh, s, buf, 64, ka);
    cp_minhash_bands(w, s, buf, 64, kb);
    assert_memory_equal(ka, kb, sizeof ka);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
    cp_minhash_destroy(w);
    cp_minhash_destroy(c);
}

/* The word scan stops counting scripts once the rest of the text cannot make it character mode: a text that
 * starts with Latin words and ends with Han just enough (or one short) to reach the 0.3 share must still
 * come out as the definition says, with the Han tail starting at every distance from a block edge. */
static void test_auto_mode_late_han(void **state)
{
    (void)state;
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO), *w = make(1, CP_SHINGLE_WORDS), *c = make(1, CP_SHINGLE_CHARS);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    int seen[2] = {0, 0};
    for (size_t latin = 40; latin < 700; latin += 7) {
        /* Latin letters counted: 7 of every 8 bytes ("abcdefg "); Han needed: 0.3 * total, 3 bytes each */
        size_t letters = latin / 8 * 7 + (latin % 8 < 7 ? latin % 8 : 7);
        size_t need = (size_t)(0.3 * (double)letters / 0.7) + 1;
        for (size_t han = need > 3 ? need - 3 : 0; han <= need + 2; han++) {
            size_t n = latin + 3 * han;
            char *t = malloc(n + 1);
            for (size_t i = 0; i < latin; i++)
                t[i] = i % 8 == 7 ? ' ' : (char)('a' + i % 8);
            for (size_t k = 0; k < han; k++)
                memcpy(t + latin + 3 * k, "\xe4\xb8\xad", 3);
            int want = ref_uses_chars((const unsigned char *)t, n);
            seen[want]++;
            uint64_t ka[14], kb[14];
            cp_minhash_bands(mh, s, t, n, ka);
            cp_minhash_bands(want ? c : w, s, t, n, kb);
            assert_memory_equal(ka, kb, sizeof ka);
            free(t);
        }
    }
    assert_true(seen[0] > 100 && seen[1] > 100);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
    cp_minhash_destroy(w);
    cp_minhash_destroy(c);
}

static void test_short_and_empty(void **state)
{
    (void)state;
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    uint64_t k1[14], k2[14], k3[14], sig[112];
    assert_int_equal(bands_of(mh, s, "breaking news today", k1), 1); /* 3 words < 5: one shingle */
    assert_int_equal(bands_of(mh, s, "breaking news today", k2), 1);
    assert_int_equal(bands_of(mh, s, "breaking news tonight", k3), 1);
    assert_memory_equal(k1, k2, sizeof k1);
    assert_int_equal(shared_bands(k1, k3, 14), 0);
    assert_int_equal(bands_of(mh, s, "one two three four five", k1), 1); /* exactly ngram words */
    assert_int_equal(bands_of(mh, s, "one two three four five six", k1), 2);
    assert_int_equal(cp_minhash_signature(mh, s, "", 0, sig), 0);
    for (int i = 0; i < 112; i++)
        assert_true(sig[i] == UINT64_MAX);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
}

static double agreement(const uint64_t *a, const uint64_t *b, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += a[i] == b[i];
    return (double)k / n;
}

static void test_char_shingles(void **state)
{
    (void)state;
    /* Normalised (punctuation removed) Chinese news sentence, an edited copy (two characters changed), an
     * unrelated one, and Japanese. */
    const char *zh = "中国人民银行周二宣布下调存款准备金率零点五个百分点以支持实体经济发展并保持流动性合理充裕"
                     "这是今年以来第二次降准市场普遍预期此举将释放长期资金约一万亿元";
    const char *zh_edit = "中国人民银行周三宣布下调存款准备金率零点五个百分点以支持实体经济发展并保持流动性合理充裕"
                          "这是今年以来第二次降准市场普遍预期此举将释放长期资金约一万亿元左右";
    const char *zh_other = "国家统计局发布数据显示上月全国居民消费价格同比上涨百分之二其中食品价格上涨较快"
                           "猪肉价格环比回落蔬菜价格受天气影响明显上升";
    const char *ja = "日本銀行は火曜日に金融政策決定会合を開き大規模な金融緩和策の維持を決めた";
    cp_minhash *mh = make(1, CP_SHINGLE_AUTO), *words = make(1, CP_SHINGLE_WORDS);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    assert_true(cp_minhash_uses_chars(mh, zh, strlen(zh)));
    assert_true(cp_minhash_uses_chars(mh, ja, strlen(ja)));
    char *en = norm(NEWS);
    assert_false(cp_minhash_uses_chars(mh, en, strlen(en)));
    /* the share threshold (0.3 of non-space code points), across the 8-byte ASCII fast path */
    const char *mostly_en = "the bank said on tuesday that rates would stay where they are 银行利率";
    const char *mostly_zh = "bank rates 中国人民银行周二宣布";
    assert_false(cp_minhash_uses_chars(mh, mostly_en, strlen(mostly_en)));
    assert_true(cp_minhash_uses_chars(mh, mostly_zh, strlen(mostly_zh)));
    uint64_t a[112], b[112], c[112];
    assert_true(cp_minhash_signature(mh, s, zh, strlen(zh), a) > 50);
    cp_minhash_signature(mh, s, zh_edit, strlen(zh_edit), b);
    cp_minhash_signature(mh, s, zh_other, strlen(zh_other), c);
    assert_true(agreement(a, b, 112) > 0.6);
    assert_true(agreement(a, c, 112) < 0.1);
    /* Spaces do not matter in character mode. */
    const char *zh_spaced = "中国人民银行周二宣布 下调存款准备金率零点五个百分点以支持实体经济发展并保持流动性合理充裕"
                            "这是今年以来第二次降准 市场普遍预期此举将释放长期资金约一万亿元";
    cp_minhash_signature(mh, s, zh_spaced, strlen(zh_spaced), c);
    assert_memory_equal(a, c, sizeof a);
    /* Word shingles see each Chinese text as one shingle: the edited copy would be missed. */
    cp_minhash_signature(words, s, zh, strlen(zh), a);
    cp_minhash_signature(words, s, zh_edit, strlen(zh_edit), b);
    assert_true(agreement(a, b, 112) == 0.0);
    free(en);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh), cp_minhash_destroy(words);
}

static void test_bad_params(void **state)
{
    (void)state;
    cp_minhash_params p;
    char err[200] = "";
    cp_minhash_params_default(&p);
    p.bands = 0;
    assert_null(cp_minhash_create(&p, err, sizeof err));
    assert_true(strlen(err) > 0);
    cp_minhash_params_default(&p);
    p.ngram = 0;
    assert_null(cp_minhash_create(&p, err, sizeof err));
    cp_minhash_params_default(&p);
    p.bands = 20, p.rows = 5, p.ngram = 3, p.seed = 7;
    cp_minhash *mh = cp_minhash_create(&p, err, sizeof err);
    assert_non_null(mh);
    assert_int_equal(cp_minhash_values(mh), 100);
    assert_int_equal(cp_minhash_bands_count(mh), 20);
    cp_minhash_destroy(mh);
}

/* ---- accuracy against exact Jaccard ---- */

#define VOCAB 20000
#define DOC_WORDS 300

typedef struct {
    char *text;
    int nwords;
} gen_doc;

static char vocab[VOCAB][12];

static void make_vocab(void)
{
    uint64_t st = 42;
    for (int i = 0; i < VOCAB; i++) {
        int len = 2 + (int)(rng_next(&st) % 9);
        for (int k = 0; k < len; k++)
            vocab[i][k] = (char)('a' + rng_next(&st) % 26);
        vocab[i][len] = 0;
    }
}

static char *join(const int *w, int n)
{
    size_t cap = (size_t)n * 12 + 1, o = 0;
    char *t = malloc(cap);
    for (int i = 0; i < n; i++) {
        if (i)
            t[o++] = ' ';
        size_t l = strlen(vocab[w[i]]);
        memcpy(t + o, vocab[w[i]], l);
        o += l;
    }
    t[o] = 0;
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted distinct hashes of the word 5-grams, built independently of the module (strings, then XXH3). */
static size_t shingle_set(const int *w, int n, uint64_t *out)
{
    size_t k = 0;
    for (int i = 0; i + 5 <= n; i++) {
        char *t = join(w + i, 5);
        out[k++] = XXH3_64bits(t, strlen(t));
        free(t);
    }
    qsort(out, k, sizeof *out, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    return u;
}

static double exact_jaccard(const int *a, const int *b, int n)
{
    uint64_t sa[DOC_WORDS], sb[DOC_WORDS];
    size_t na = shingle_set(a, n, sa), nb = shingle_set(b, n, sb), i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (sa[i] == sb[j])
            inter++, i++, j++;
        else if (sa[i] < sb[j])
            i++;
        else
            j++;
    }
    return (double)inter / (double)(na + nb - inter);
}

static void test_unbiased_vs_exact_jaccard(void **state)
{
    (void)state;
    make_vocab();
    cp_minhash *mh = make(1, CP_SHINGLE_WORDS);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    const double edit_rates[] = {0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.25};
    const int per_rate = 60, nr = (int)(sizeof edit_rates / sizeof *edit_rates);
    uint64_t st = 7;
    double sum_err = 0, sum_sq = 0, sum_var = 0, sum_p = 0;
    int pairs = 0, band_hits = 0;
    for (int r = 0; r < nr; r++) {
        double sum_err_r = 0;
        for (int k = 0; k < per_rate; k++) {
            int a[DOC_WORDS], b[DOC_WORDS];
            for (int i = 0; i < DOC_WORDS; i++)
                a[i] = b[i] = (int)(rng_next(&st) % VOCAB);
            for (int i = 0; i < DOC_WORDS; i++)
                if ((double)(rng_next(&st) >> 11) / 9007199254740992.0 < edit_rates[r])
                    b[i] = (int)(rng_next(&st) % VOCAB);
            double j = exact_jaccard(a, b, DOC_WORDS);
            char *ta = join(a, DOC_WORDS), *tb = join(b, DOC_WORDS);
            uint64_t sa[112], sb[112], ka[14], kb[14];
            cp_minhash_signature(mh, s, ta, strlen(ta), sa);
            cp_minhash_signature(mh, s, tb, strlen(tb), sb);
            cp_minhash_bands(mh, s, ta, strlen(ta), ka);
            cp_minhash_bands(mh, s, tb, strlen(tb), kb);
            double est = agreement(sa, sb, 112);
            sum_err += est - j;
            sum_err_r += est - j;
            sum_sq += (est - j) * (est - j);
            sum_var += j * (1 - j) / 112;
            sum_p += cp_minhash_collision_probability(14, 8, j);
            band_hits += shared_bands(ka, kb, 14) > 0;
            pairs++;
            free(ta), free(tb);
        }
        /* per similarity level too: an estimator biased at one end only must not hide in the average */
        assert_true(fabs(sum_err_r / per_rate) < 0.03);
    }
    double mean_err = sum_err / pairs, var_ratio = sum_sq / sum_var;
    double p_theory = sum_p / pairs, p_seen = (double)band_hits / pairs;
    printf("# %d pairs: mean(est-J) = %+.4f, var ratio (observed / J(1-J)/K) = %.3f, "
           "band collision seen %.3f vs theory %.3f\n", pairs, mean_err, var_ratio, p_seen, p_theory);
    assert_true(fabs(mean_err) < 0.02);
    /* Independent permutations give variance J(1-J)/K; correlated ones (a weak derived scheme) inflate it. */
    assert_true(var_ratio > 0.75 && var_ratio < 1.33);
    /* Rows within a band must act independently for the S-curve to hold. */
    assert_true(fabs(p_seen - p_theory) < 0.07);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
}

static void test_collision_probability(void **state)
{
    (void)state;
    assert_true(fabs(cp_minhash_collision_probability(14, 8, 1.0) - 1.0) < 1e-12);
    assert_true(cp_minhash_collision_probability(14, 8, 0.0) == 0.0);
    double p8 = cp_minhash_collision_probability(14, 8, 0.8);
    assert_true(p8 > 0.92 && p8 < 0.93); /* 1-(1-0.8^8)^14 = 0.9242 */
}

/* ---- LSH index ---- */

static void random_keys(uint64_t *st, uint64_t *k, int n)
{
    for (int i = 0; i < n; i++)
        k[i] = rng_next(st);
}

static void test_lsh_first_and_copy(void **state)
{
    (void)state;
    cp_lsh *l = cp_lsh_create(14, 100);
    uint64_t st = 1, d0[14], d1[14], d2[14];
    random_keys(&st, d0, 14);
    random_keys(&st, d1, 14);
    memcpy(d2, d0, sizeof d0);
    assert_true(cp_lsh_check_insert(l, 0, d0) == CP_LSH_NONE);
    assert_true(cp_lsh_check_insert(l, 1, d1) == CP_LSH_NONE);
    assert_true(cp_lsh_check_insert(l, 2, d2) == 0);
    assert_true(cp_lsh_check_insert(l, 3, d2) == 0); /* the earliest, not the latest copy */
    assert_true(cp_lsh_check_insert(l, 4, d1) == 1);
    assert_int_equal(cp_lsh_entries(l), 28);
    cp_lsh_destroy(l);
    assert_null(cp_lsh_create(0, 10));
}

static void test_lsh_earliest_of_several(void **state)
{
    (void)state;
    cp_lsh *l = cp_lsh_create(14, 0);
    uint64_t st = 2, docs[6][14], q[14];
    for (int i = 0; i < 6; i++) {
        random_keys(&st, docs[i], 14);
        assert_true(cp_lsh_check_insert(l, (uint64_t)i, docs[i]) == CP_LSH_NONE);
    }
    random_keys(&st, q, 14);
    q[3] = docs[5][3];
    q[9] = docs[0][9];
    assert_true(cp_lsh_check_insert(l, 6, q) == 0);
    /* same key in a different band is not a match: bands have separate tables */
    random_keys(&st, q, 14);
    q[2] = docs[4][7];
    assert_true(cp_lsh_check_insert(l, 7, q) == CP_LSH_NONE);
    cp_lsh_destroy(l);
}

static void test_lsh_chain(void **state)
{
    (void)state;
    cp_lsh *l = cp_lsh_create(14, 0);
    uint64_t st = 3, a[14], b[14], c[14];
    random_keys(&st, a, 14);
    random_keys(&st, b, 14);
    random_keys(&st, c, 14);
    b[1] = a[1]; /* A ~ B */
    c[5] = b[5]; /* B ~ C, A and C share nothing */
    assert_true(cp_lsh_check_insert(l, 10, a) == CP_LSH_NONE);
    assert_true(cp_lsh_check_insert(l, 11, b) == 10);
    assert_true(cp_lsh_check_insert(l, 12, c) == 11); /* B inserted its keys although it was a duplicate */
    cp_lsh_destroy(l);
}

static void test_lsh_growth_keeps_entries(void **state)
{
    (void)state;
    const int n = 200000;
    cp_lsh *l = cp_lsh_create(14, 0);
    size_t bytes0 = cp_lsh_bytes(l);
    uint64_t st = 4, k[14];
    int false_matches = 0;
    for (int i = 0; i < n; i++) {
        random_keys(&st, k, 14);
        false_matches += cp_lsh_check_insert(l, (uint64_t)i, k) != CP_LSH_NONE;
    }
    /* 2.8 M lookups at ~1e-7 each (see minhash.c): about 0.3 expected */
    printf("# %d random documents: %d false matches\n", n, false_matches);
    assert_true(false_matches <= 3);
    assert_true(cp_lsh_bytes(l) > 3 * bytes0);
    assert_true(cp_lsh_entries(l) >= (uint64_t)n * 14 - 3);
    double per_doc = (double)cp_lsh_bytes(l) / n;
    printf("# %.1f bytes per document after growth (bound %.1f)\n", per_doc, cp_lsh_bytes_per_doc_estimate(14));
    assert_true(per_doc <= cp_lsh_bytes_per_doc_estimate(14));
    /* every document is found again, each band on its own, with its own seq */
    st = 4;
    for (int i = 0; i < n; i++) {
        random_keys(&st, k, 14);
        uint64_t one[14];
        uint64_t st2 = (uint64_t)i * 77 + 1000003;
        random_keys(&st2, one, 14);
        one[i % 14] = k[i % 14];
        uint64_t got = cp_lsh_check_insert(l, (uint64_t)(n + i), one);
        if (got != (uint64_t)i && !(got < (uint64_t)i)) /* a false match can only make it earlier */
            fail_msg("document %d lost after growth (got %llu)", i, (unsigned long long)got);
    }
    cp_lsh_destroy(l);
}

static void test_lsh_presized_load(void **state)
{
    (void)state;
    const uint64_t n = 200000;
    cp_lsh *l = cp_lsh_create(14, n);
    size_t bytes0 = cp_lsh_bytes(l);
    uint64_t st = 5, k[14];
    for (uint64_t i = 0; i < n; i++) {
        random_keys(&st, k, 14);
        cp_lsh_check_insert(l, i, k);
    }
    assert_int_equal(cp_lsh_bytes(l), bytes0); /* no growth when the estimate holds */
    assert_true((double)cp_lsh_bytes(l) / n <= 14 * 8 / 0.89);
    random_keys(&st, k, 14);
    cp_lsh_check_insert(l, n, k);
    cp_lsh_destroy(l);
}

/* The compact index (near_dedup.dup_of false) takes the same decisions as the full one, in half the
 * memory: under 100 bytes a document for 14 bands when sized up front. */
static void test_lsh_compact_same_decisions(void **state)
{
    (void)state;
    const uint64_t n = 200000;
    cp_lsh *full = cp_lsh_create(14, n), *small = cp_lsh_create_compact(14, n);
    uint64_t st = 12345, keys[14], prev[14] = {0};
    uint64_t matches = 0;
    for (uint64_t i = 0; i < n; i++) {
        for (int b = 0; b < 14; b++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            keys[b] = st ^ (st >> 29);
        }
        if (i % 7 == 3) /* every seventh document shares one band with the one before */
            keys[i % 14] = prev[i % 14];
        uint64_t a = cp_lsh_check_insert(full, i, keys), c = cp_lsh_check_insert(small, i, keys);
        assert_true((a == CP_LSH_NONE) == (c == CP_LSH_NONE));
        if (c != CP_LSH_NONE) {
            assert_int_equal(c, CP_LSH_MATCH);
            matches++;
        }
        memcpy(prev, keys, sizeof keys);
    }
    assert_true(matches >= n / 7);
    double per_doc = (double)cp_lsh_bytes(small) / (double)n;
    assert_true(per_doc <= 100.0);
    assert_true(per_doc * 1.9 < (double)cp_lsh_bytes(full) / (double)n);
    cp_lsh_destroy(full);
    cp_lsh_destroy(small);
}

static void test_lsh_seq_out_of_range(void **state)
{
    (void)state;
    cp_lsh *l = cp_lsh_create(2, 0);
    uint64_t k[2] = {1, 2};
    assert_true(cp_lsh_check_insert(l, UINT64_C(1) << 32, k) == CP_LSH_NONE);
    assert_int_equal(cp_lsh_entries(l), 0);
    assert_true(cp_lsh_check_insert(l, 0xFFFFFFFEu, k) == CP_LSH_NONE);
    assert_true(cp_lsh_check_insert(l, 0, k) == CP_LSH_NONE); /* out of order: keeps the earliest */
    k[0] = 99;
    assert_true(cp_lsh_check_insert(l, 1, k) == 0);
    cp_lsh_destroy(l);
}

/* xxhash.h may be included again for its inline (internal) functions; code above keeps the library's. */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Shingles are hashed by the branches of XXH3_64bits_withSeed for 0..16 and 17..128 bytes, called
 * directly: their values must stay XXH3_64bits_withSeed's. */
static void test_shingle_hash_branches(void **state)
{
    (void)state;
    unsigned char buf[128];
    uint64_t st = 21;
    for (int r = 0; r < 50; r++) {
        uint64_t seed = rng_next(&st);
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)rng_next(&st);
        for (size_t n = 0; n <= 16; n++)
            assert_true(XXH3_len_0to16_64b(buf, n, XXH3_kSecret, seed) == XXH3_64bits_withSeed(buf, n, seed));
        for (size_t n = 17; n <= 128; n++)
            assert_true(XXH3_len_17to128_64b(buf, n, XXH3_kSecret, sizeof XXH3_kSecret, seed) ==
                        XXH3_64bits_withSeed(buf, n, seed));
    }
}

/* The signature from its definition (see the top of minhash.c), written plainly: splitmix64 of the seed
 * gives the shingle seed, the band seed, then (a_i | 1, b_i) per value; each shingle (the bytes from the
 * first unit's start to the last unit's end) is hashed with XXH3_64bits_withSeed; value i is the minimum
 * of a_i*h + b_i. Units are words (runs of bytes > ' ') or, in character mode, the code points of the text
 * without its one-byte spaces, each invalid byte a unit of its own. */
static uint64_t ref_mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void ref_signature(uint64_t seed, int nvals, int ngram, int chars, const unsigned char *t, size_t len,
                          uint64_t *sig)
{
    uint64_t st = seed ^ 0x6D696E6861736831ULL;
    uint64_t shingle_seed = ref_mix(&st);
    ref_mix(&st); /* band seed */
    uint64_t *a = malloc(sizeof(uint64_t) * (size_t)nvals), *b = malloc(sizeof(uint64_t) * (size_t)nvals);
    for (int i = 0; i < nvals; i++) {
        a[i] = ref_mix(&st) | 1;
        b[i] = ref_mix(&st);
    }
    unsigned char *c = malloc(len + 1);
    size_t *us = malloc(sizeof(size_t) * (len + 1)), *ue = malloc(sizeof(size_t) * (len + 1)), units = 0, clen = 0;
    const unsigned char *base = t;
    if (chars) {
        for (size_t i = 0; i < len;) {
            unsigned char x = t[i];
            size_t k = x < 0x80 ? 1 : (x >> 5) == 6 ? 2 : (x >> 4) == 14 ? 3 : (x >> 3) == 30 ? 4 : 1;
            if (i + k > len)
                k = 1;
            if (!(k == 1 && x <= ' ')) {
                us[units] = clen;
                memcpy(c + clen, t + i, k);
                clen += k;
                ue[units++] = clen;
            }
            i += k;
        }
        base = c;
    } else {
        for (size_t i = 0; i < len; i++)
            if (t[i] > ' ' && (i == 0 || t[i - 1] <= ' '))
                us[units] = i;
            else if (t[i] <= ' ' && i > 0 && t[i - 1] > ' ')
                ue[units++] = i;
        if (len > 0 && t[len - 1] > ' ')
            ue[units++] = len;
    }
    for (int i = 0; i < nvals; i++)
        sig[i] = UINT64_MAX;
    size_t width = units < (size_t)ngram ? units : (size_t)ngram;
    size_t count = units == 0 ? 0 : units - width + 1;
    for (size_t j = 0; j < count; j++) {
        uint64_t h = XXH3_64bits_withSeed(base + us[j], ue[j + width - 1] - us[j], shingle_seed);
        for (int i = 0; i < nvals; i++) {
            uint64_t v = a[i] * h + b[i];
            sig[i] = v < sig[i] ? v : sig[i];
        }
    }
    free(a), free(b), free(c), free(us), free(ue);
}

/* Random texts whose shingles have every length class XXH3 branches on (0..16, 17..32, 33..64, 65..128,
 * longer) at every distance from the ends of the buffer, in a buffer of exactly the text's size (so that
 * ASan sees any read past it), for signatures of one pass and of several (and of a width that is no
 * multiple of the vector size), in word and character mode; with runs of one-letter words too (up to 32
 * words starting in one 64-byte block: the word scan writes 16 positions a block at once, more in steps).
 * Every code path this CPU can take (CP_TEST_MINHASH_ISA lowers the level; see pick_isa in minhash.c):
 * portable, AVX-512, AVX-512 with VBMI2. */
static void signature_matches_definition(const char *isa)
{
    static const int shapes[][3] = {{14, 8, 5}, {3, 5, 1}, {8, 16, 3}, {20, 12, 2}, {1, 1, 9}};
    static const char *pieces[] = {"a", "bc", "def", "word", "shingle", "népszerű", "中国人民", "ภาษา", "\xff",
                                   "\xe4\xb8", "0"};
    assert_int_equal(setenv("CP_TEST_MINHASH_ISA", isa, 1), 0);
    uint64_t rs = 99;
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        for (int chars = 0; chars <= 1; chars++) {
            cp_minhash_params p;
            cp_minhash_params_default(&p);
            p.bands = shapes[sh][0];
            p.rows = shapes[sh][1];
            p.ngram = p.char_ngram = shapes[sh][2];
            p.seed = 7 + sh;
            p.mode = chars ? CP_SHINGLE_CHARS : CP_SHINGLE_WORDS;
            char err[200];
            cp_minhash *mh = cp_minhash_create(&p, err, sizeof err);
            assert_non_null(mh);
            cp_minhash_scratch *s = cp_minhash_scratch_create();
            int nv = p.bands * p.rows;
            uint64_t *got = malloc(sizeof(uint64_t) * (size_t)nv), *want = malloc(sizeof(uint64_t) * (size_t)nv);
            for (int r = 0; r < 60; r++) {
                char buf[4096];
                size_t n = 0, words = (size_t)(rng_next(&rs) % 40);
                if (rng_next(&rs) % 3 == 0)
                    buf[n++] = ' ';
                for (size_t w = 0; w < words && n < 3000; w++) {
                    uint64_t kind = rng_next(&rs) % 8;
                    if (kind == 0) { /* a long word: shingles over 64 and over 128 bytes */
                        size_t k = 20 + (size_t)(rng_next(&rs) % 150);
                        for (size_t i = 0; i < k; i++)
                            buf[n++] = (char)('a' + i % 26);
                    } else if (kind == 1 && rng_next(&rs) % 2) { /* a run of one-letter words */
                        size_t k = 8 + (size_t)(rng_next(&rs) % 60);
                        for (size_t i = 0; i < k; i++) {
                            buf[n++] = (char)('a' + i % 26);
                            buf[n++] = ' ';
                        }
                        buf[n++] = 'z';
                    } else {
                        for (uint64_t q = kind; q > 0; q--) {
                            const char *pc = pieces[rng_next(&rs) % (sizeof pieces / sizeof pieces[0])];
                            memcpy(buf + n, pc, strlen(pc));
                            n += strlen(pc);
                        }
                    }
                    buf[n++] = rng_next(&rs) % 5 ? ' ' : (char)(rng_next(&rs) % 33);
                    if (rng_next(&rs) % 6 == 0)
                        buf[n++] = '\t';
                }
                if (n > 0 && rng_next(&rs) % 2)
                    n--; /* end inside a word, or on a separator */
                char *text = malloc(n ? n : 1);
                memcpy(text, buf, n);
                ref_signature(p.seed, nv, p.ngram, chars, (const unsigned char *)text, n, want);
                cp_minhash_signature(mh, s, text, n, got);
                assert_memory_equal(got, want, sizeof(uint64_t) * (size_t)nv);
                free(text);
            }
            free(got), free(want);
            cp_minhash_scratch_destroy(s);
            cp_minhash_destroy(mh);
        }
    }
    assert_int_equal(unsetenv("CP_TEST_MINHASH_ISA"), 0);
}

/* Teardown: back to the CPU's own paths even when a test stopped at a failed assertion. */
static int isa_reset(void **state)
{
    (void)state;
    return unsetenv("CP_TEST_MINHASH_ISA");
}

static void test_signature_matches_definition(void **state)
{
    (void)state;
    signature_matches_definition("0");
    signature_matches_definition("1");
    signature_matches_definition("2");
}

/* The densest texts: a word starting at every other byte (32 in each 64-byte block) or in every byte of a
 * block but separated by control bytes, ending on a block edge or not, on every path. */
static void test_signature_dense_words(void **state)
{
    (void)state;
    static const char *isa[] = {"0", "1", "2"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(setenv("CP_TEST_MINHASH_ISA", isa[k], 1), 0);
        cp_minhash *mh = make(3, CP_SHINGLE_WORDS);
        cp_minhash_scratch *s = cp_minhash_scratch_create();
        for (size_t len = 120; len <= 200; len++) {
            for (int pat = 0; pat < 2; pat++) {
                char *t = malloc(len);
                for (size_t i = 0; i < len; i++)
                    t[i] = pat == 0 ? (i % 2 ? ' ' : (char)('a' + i % 26)) : (i % 3 == 2 ? '\n' : (char)('a' + i % 7));
                uint64_t got[112], want[112];
                ref_signature(3, 112, 5, 0, (const unsigned char *)t, len, want);
                cp_minhash_signature(mh, s, t, len, got);
                assert_memory_equal(got, want, sizeof got);
                free(t);
            }
        }
        cp_minhash_scratch_destroy(s);
        cp_minhash_destroy(mh);
    }
    assert_int_equal(unsetenv("CP_TEST_MINHASH_ISA"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_texts_identical_keys),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_keys_pinned),
        cmocka_unit_test(test_keys_pinned_scripts),
        cmocka_unit_test(test_shingle_hash_branches),
        cmocka_unit_test_teardown(test_signature_matches_definition, isa_reset),
        cmocka_unit_test_teardown(test_signature_dense_words, isa_reset),
        cmocka_unit_test(test_auto_mode_matches_definition),
        cmocka_unit_test(test_auto_mode_late_han),
        cmocka_unit_test(test_short_and_empty),
        cmocka_unit_test(test_char_shingles),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_unbiased_vs_exact_jaccard),
        cmocka_unit_test(test_collision_probability),
        cmocka_unit_test(test_lsh_first_and_copy),
        cmocka_unit_test(test_lsh_earliest_of_several),
        cmocka_unit_test(test_lsh_chain),
        cmocka_unit_test(test_lsh_growth_keeps_entries),
        cmocka_unit_test(test_lsh_presized_load),
        cmocka_unit_test(test_lsh_seq_out_of_range),
        cmocka_unit_test(test_lsh_compact_same_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
