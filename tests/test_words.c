/* words: the block tokeniser against a byte-by-byte reference (word bounds, keys, totals) on random texts
 * built to put every corner (Latin-1 capitals after 0xC3, trimmed punctuation, 16/17/128/129-byte words,
 * words across 64-byte blocks, texts of every length mod 64) at every offset, through both copies of the
 * scan (baseline and x86-64-v3); and the key's promises. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* the module itself, to test both copies of the scan (baseline and x86-64-v3) on any machine that can */
#include "../src/words.c"

typedef struct {
    size_t words, word_bytes, alpha, sent, ell, hashes, cont;
} totals;

static int ends3(const unsigned char *w, size_t n, const char *s)
{
    return n >= 3 && !memcmp(w + n - 3, s, 3);
}

/* The reference: words split byte by byte, each keyed by cp_word_key. Checks w against it. */
static void check_against_reference(const char *text, size_t len, const cp_words *w)
{
    const unsigned char *u = (const unsigned char *)text;
    totals t = {0};
    for (size_t i = 0; i < len; i++) {
        t.hashes += u[i] == '#';
        t.cont += u[i] >= 0x80 && u[i] < 0xC0;
    }
    for (size_t i = 0; i < len;) {
        if (u[i] == ' ' || u[i] == '\t' || u[i] == '\n') {
            i++;
            continue;
        }
        size_t j = i;
        int alpha = 0;
        while (j < len && u[j] != ' ' && u[j] != '\t' && u[j] != '\n') {
            alpha |= ((u[j] | 32) >= 'a' && (u[j] | 32) <= 'z') || u[j] >= 0xC0;
            j++;
        }
        const unsigned char *x = u + i;
        size_t n = j - i;
        assert_true(t.words < w->n);
        assert_int_equal(w->v[t.words].bytes, n);
        assert_true(w->v[t.words].key == cp_word_key(text + i, n));
        t.words++;
        t.word_bytes += n;
        t.alpha += alpha;
        unsigned char last = x[n - 1];
        t.sent += last == '.' || last == '!' || last == '?' || ends3(x, n, "。") || ends3(x, n, "።");
        t.ell += ends3(x, n, "...") || ends3(x, n, "…");
        i = j;
    }
    assert_int_equal(w->n, t.words);
    assert_int_equal(w->word_bytes, t.word_bytes);
    assert_int_equal(w->alpha_words, t.alpha);
    assert_int_equal(w->sentence_ends, t.sent);
    assert_int_equal(w->ellipsis_ends, t.ell);
    assert_int_equal(w->hashes, t.hashes);
    assert_int_equal(w->cont_bytes, t.cont);
}

static uint64_t rng = 88172645463325252ull;
static unsigned next(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void random_texts(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "the", "The", "THE", "À", "ÀÉ", "Þ×", "É.", "(Word),", "\"x\"", "--", "#", "##tag", "…", "a...", "b…", "中文。",
        "ሰላም።", ".", "...", "Ölçü", "e\xcc\x81", "\xc3", "\xc3\x80", "0123", "x,", ";", "ÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀ", "🙂",
        "abcdefghijklmnop", "abcdefghijklmnopq", "Ω", "\x80", "\xff"};
    static const char *const seps[] = {" ", " ", " ", "\t", "\n", "\n\n", "  "};
    cp_words w = {0};
    char *buf = malloc(1 << 16);
    for (int r = 0; r < 3000; r++) {
        size_t len = 0, target = next(r < 200 ? 200 : 3000);
        while (len < target) {
            const char *p;
            char big[300];
            unsigned k = next(40);
            if (k == 0) { /* a long word: up to 300 bytes, some capitals and 0xC3 pairs */
                size_t n = 1 + next(299);
                for (size_t i = 0; i < n; i++)
                    big[i] = "aZ.,\xc3\x80"[next(6)];
                big[n] = 0;
                p = big;
            } else if (k < 30)
                p = pieces[next(sizeof pieces / sizeof *pieces)];
            else
                p = seps[next(sizeof seps / sizeof *seps)];
            size_t n = strlen(p);
            if (len + n >= (1 << 16))
                break;
            memcpy(buf + len, p, n);
            len += n;
        }
        /* every length mod 64 and every block offset: shift the start */
        size_t off = (size_t)next(64);
        if (off > len)
            off = len;
        cp_words_scan(buf + off, len - off, &w);
        check_against_reference(buf + off, len - off, &w);
        scan(buf + off, len - off, &w, 0);
        check_against_reference(buf + off, len - off, &w);
#if defined(__x86_64__) && defined(__GNUC__)
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
            scan_v3(buf + off, len - off, &w);
            check_against_reference(buf + off, len - off, &w);
        }
#endif
    }
    cp_words_scan("", 0, &w);
    assert_int_equal(w.n, 0);
    free(buf);
    cp_words_free(&w);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void key_promises(void **state)
{
    (void)state;
    /* trimmed and folded */
    assert_true(cp_word_key("the", 3) == cp_word_key("THE", 3));
    assert_true(cp_word_key("the", 3) == cp_word_key("(The),", 6));
    assert_true(cp_word_key("école", 6) == cp_word_key("ÉCOLE", 6));
    assert_true(cp_word_key("ÞÀ", 4) == cp_word_key("þà", 4));
    assert_true(cp_word_key("×", 2) != cp_word_key("÷", 2)); /* 0x97 is not a capital */
    assert_true(cp_word_key("a", 1) != cp_word_key("ab", 2));
    assert_true(cp_word_key("...", 3) == cp_word_key("", 0));
    /* over 128 bytes (trimmed): not folded */
    char a[130], b[130];
    memset(a, 'a', sizeof a);
    memcpy(b, a, sizeof b);
    b[0] = 'A';
    assert_true(cp_word_key(a, 128) == cp_word_key(b, 128));
    assert_true(cp_word_key(a, 129) != cp_word_key(b, 129));
    /* no collision among all 1- to 3-letter lower-case words and their 16- and 17-byte extensions */
    size_t n = 0, cap = 26 + 26 * 26 + 26 * 26 * 26;
    uint64_t *keys = malloc(3 * cap * sizeof *keys);
    char wd[20];
    for (int l = 1; l <= 3; l++)
        for (int x = 0; x < (l == 1 ? 26 : l == 2 ? 676 : 17576); x++) {
            int v = x;
            for (int i = 0; i < l; i++, v /= 26)
                wd[i] = (char)('a' + v % 26);
            keys[n++] = cp_word_key(wd, (size_t)l);
            memset(wd + l, '0' + l, 17 - (size_t)l); /* distinct from the other lengths' extensions */
            keys[n++] = cp_word_key(wd, 16);
            keys[n++] = cp_word_key(wd, 17);
        }
    qsort(keys, n, sizeof *keys, cmp_u64);
    for (size_t i = 1; i < n; i++)
        assert_true(keys[i - 1] != keys[i]);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(random_texts), cmocka_unit_test(key_promises)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
