/* Tests for dedup's keys and table: the text normalisation (case, digits, punctuation, spacing, in ASCII
 * and beyond), the text hash, URL normalisation, and cp_keymap (first value wins, key 0, growth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "corpusprep/dedup.h"

static void check_norm(const char *s, const char *want)
{
    cp_buf b = {0};
    cp_dedup_normalize(s, strlen(s), &b);
    assert_non_null(b.data);
    assert_int_equal(b.len, strlen(b.data));
    assert_string_equal(b.data, want);
    cp_buf_free(&b);
}

static void test_normalize_case(void **state)
{
    (void)state;
    check_norm("Hello WORLD", "hello world");
    check_norm("\xC3\x84\xC3\x96\xC3\x9C", "\xC3\xA4\xC3\xB6\xC3\xBC");          /* ÄÖÜ -> äöü */
    check_norm("\xCE\x91\xCE\x92\xCE\x93 \xD0\x96", "\xCE\xB1\xCE\xB2\xCE\xB3 \xD0\xB6"); /* Greek, Cyrillic */
    /* simple (one-to-one) case mapping: ß stays, capital ẞ becomes ß */
    check_norm("Stra\xC3\x9F" "e", "stra\xC3\x9F" "e");
    check_norm("STRA\xE1\xBA\x9E" "E", "stra\xC3\x9F" "e");
    /* lower case and caseless scripts are unchanged */
    check_norm("abc \xE4\xB8\xAD\xE6\x96\x87", "abc \xE4\xB8\xAD\xE6\x96\x87");
}

static void test_normalize_digits(void **state)
{
    (void)state;
    check_norm("In 2023, 1.5 million", "in 0000 00 million");
    check_norm("\xD9\xA1\xD9\xA2\xD9\xA3 \xE0\xA5\xA8 \xEF\xBC\x99", "000 0 0"); /* Arabic-Indic, Devanagari, fullwidth */
    /* other numbers (superscripts, fractions) are not decimal digits */
    check_norm("x\xC2\xB2 \xC2\xBD", "x\xC2\xB2 \xC2\xBD");
}

static void test_normalize_punct(void **state)
{
    (void)state;
    check_norm("Hello, world! (Really?) \"yes\"; it's-fine.", "hello world really yes itsfine");
    check_norm("\xE2\x80\x9CQuoted\xE2\x80\x9D \xE2\x80\x98single\xE2\x80\x99 \xC2\xABguill\xC2\xBB",
               "quoted single guill");
    check_norm("a\xE2\x80\x93" "b\xE2\x80\x94" "c \xC2\xBF" "d? \xC2\xA1" "e!", "abc d e");
    check_norm("co\xC2\xAD" "operate", "cooperate");             /* soft hyphen is a format character */
    /* symbols are not punctuation */
    check_norm("1+1=2 $5 <a> 50% #tag @me", "0+0=0 $0 <a> 00 tag me");
    check_norm("\xE2\x82\xAC 3 \xC2\xA9", "\xE2\x82\xAC 0 \xC2\xA9");
    /* a text of punctuation alone normalises to nothing */
    check_norm("... !!! --- \xE2\x80\x94", "");
}

static void test_normalize_space(void **state)
{
    (void)state;
    check_norm("  lead and trail  ", "lead and trail");
    check_norm("a \t\n\r\n  b\n\nc", "a b c");
    check_norm("a\xC2\xA0\xE2\x80\x83" "b\xE2\x80\xA8" "c", "a b c");  /* NBSP, em space, line separator */
    check_norm("a\x01" "b", "a b");                                    /* controls separate words */
    check_norm("a , b", "a b");                                        /* removed punctuation leaves one space */
    check_norm("\n\n", "");
    check_norm("", "");
    check_norm("word", "word");
}

static void test_normalize_appends(void **state)
{
    (void)state;
    cp_buf b = {0};
    cp_buf_puts(&b, "x|");
    cp_dedup_normalize("  A b ", 6, &b);
    assert_string_equal(b.data, "x|a b");
    cp_buf_free(&b);
}

/* Letters whose lower case takes more bytes (U+023A -> U+2C65) must not overrun the output buffer; the
 * lengths cover those where the buffer's first allocation is exactly the input length plus one. */
static void test_normalize_growing_case(void **state)
{
    (void)state;
    for (size_t n = 200; n < 1100; n += 1) {
        char *s = malloc(n);
        size_t i = 0;
        for (; i + 2 <= n && i < 40; i += 2)
            memcpy(s + i, "\xC8\xBA", 2);
        size_t big = i / 2;
        memset(s + i, 'a', n - i);
        cp_buf b = {0};
        cp_dedup_normalize(s, n, &b);
        assert_int_equal(b.len, big * 3 + (n - i));
        assert_memory_equal(b.data, "\xE2\xB1\xA5", 3);
        assert_int_equal(b.data[b.len - 1], 'a');
        assert_int_equal(b.data[b.len], 0);
        cp_buf_free(&b);
        free(s);
    }
}

/* The normalisation written the slow way, one code point at a time from utf8proc's properties: the oracle
 * for the table and the eight-byte path. */
static void slow_norm(const unsigned char *s, size_t n, cp_buf *out)
{
    int pending = 0;
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        assert_true(k > 0);
        i += (size_t)k;
        int kind; /* 0 drop, 1 space, 2 emit */
        if (cp < 0x80) {
            kind = (cp <= 0x20 || cp == 0x7f) ? 1 : (isalnum(cp) || strchr("$+<=>^`|~", cp)) ? 2 : 0;
            if (cp >= 'A' && cp <= 'Z')
                cp += 32;
        } else {
            utf8proc_category_t c = utf8proc_category(cp);
            kind = (c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO) || c == UTF8PROC_CATEGORY_CF ? 0
                   : (c >= UTF8PROC_CATEGORY_ZS && c <= UTF8PROC_CATEGORY_ZP) || c == UTF8PROC_CATEGORY_CC ? 1
                                                                                                          : 2;
            cp = c == UTF8PROC_CATEGORY_ND ? '0' : utf8proc_tolower(cp);
        }
        if (cp >= '0' && cp <= '9')
            cp = '0';
        if (kind == 1)
            pending = 1;
        if (kind != 2)
            continue;
        if (pending && out->len)
            cp_buf_putc(out, ' ');
        pending = 0;
        unsigned char e[4];
        cp_buf_append(out, e, (size_t)utf8proc_encode_char(cp, e));
    }
}

/* Random texts dense in what ends the eight-byte runs (punctuation, runs of spaces, line ends, capitals,
 * non-ASCII letters and digits, marks, symbols) give the oracle's output at every alignment. */
static void test_normalize_oracle(void **state)
{
    (void)state;
    static const char *const atoms[] = {"a", "Z", "q", "7", " ", "  ", "\n", "\t", ",", ".", "'", "-", "$", "~",
                                        "\xC3\xA9", "\xC3\x89", "\xC3\x9F", "\xD0\x96", "\xE2\x80\x99",
                                        "\xC2\xA0", "\xD9\xA3", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
                                        "\xCC\x81", "\xE2\x80\x8B", "word", "Word ", "12 34"};
    const size_t na = sizeof atoms / sizeof *atoms;
    uint32_t seed = 99;
    cp_buf got = {0}, want = {0};
    unsigned char text[600];
    for (int t = 0; t < 30000; t++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        size_t pre = (seed >> 16) % 8; /* start at every alignment */
        memset(text, 'x', pre);
        n = pre;
        int atomsn = (int)((seed >> 8) % 90);
        for (int k = 0; k < atomsn; k++) {
            seed = seed * 1103515245u + 12345u;
            /* letters most of the time, so that eight-byte runs happen */
            const char *a = (seed >> 16) % 3 ? "abcdefgh" + (seed >> 20) % 8 : atoms[(seed >> 16) % na];
            size_t len = strlen(a);
            memcpy(text + n, a, len);
            n += len;
        }
        got.len = want.len = 0;
        cp_dedup_normalize((const char *)text + pre, n - pre, &got);
        slow_norm(text + pre, n - pre, &want);
        assert_int_equal(got.len, want.len);
        if (want.len)
            assert_memory_equal(got.data, want.data, want.len);
    }
    cp_buf_free(&got);
    cp_buf_free(&want);
}

static void test_text_hash(void **state)
{
    (void)state;
    cp_buf sc = {0};
    const char *a = "The quick brown fox, born 2019, jumps!\nOver the lazy dog.";
    const char *same[] = {
        "the QUICK brown fox born 1234 jumps over the lazy dog",
        "  The quick -- brown fox; born 2020 ... jumps\n\n\nover THE lazy dog!!  ",
        "The \xE2\x80\x9Cquick\xE2\x80\x9D brown fox, born \xD9\xA2\xD9\xA0\xD9\xA1\xD9\xA9, jumps! Over the lazy dog.",
    };
    const char *different[] = {
        "The quick brown fox, born 2019, jumps! Over the lazy cat.",
        "The quick brown fox, born 2019, jumps! Over the lazy dog. Again.",
        "Thequick brown fox, born 2019, jumps! Over the lazy dog.",
        "The quick br\xC3\xB6wn fox, born 2019, jumps! Over the lazy dog.",
    };
    uint64_t h = cp_dedup_text_hash(a, strlen(a), &sc);
    assert_int_equal(cp_dedup_text_hash(a, strlen(a), &sc), h); /* the scratch is reset */
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_int_equal(cp_dedup_text_hash(same[i], strlen(same[i]), &sc), h);
    for (size_t i = 0; i < sizeof different / sizeof *different; i++)
        assert_int_not_equal(cp_dedup_text_hash(different[i], strlen(different[i]), &sc), h);
    cp_buf_free(&sc);
}

static uint64_t url_hash(const char *u)
{
    cp_buf sc = {0};
    uint64_t h = 0;
    int rc = cp_url_hash(u, strlen(u), &h, &sc);
    cp_buf_free(&sc);
    if (rc)
        fail_msg("cp_url_hash(%s) returned %d", u, rc);
    return h;
}

static void same_url(const char *a, const char *b)
{
    if (url_hash(a) != url_hash(b))
        fail_msg("expected the same key: %s and %s", a, b);
}

static void different_url(const char *a, const char *b)
{
    if (url_hash(a) == url_hash(b))
        fail_msg("expected different keys: %s and %s", a, b);
}

static void test_url_hash(void **state)
{
    (void)state;
    const char *base = "http://example.com/news/story?id=7&lang=en";
    /* scheme and host case, www., default ports, fragment */
    same_url(base, "HTTP://Example.COM/news/story?id=7&lang=en");
    same_url(base, "http://www.example.com/news/story?id=7&lang=en");
    same_url(base, "http://WWW.example.com:80/news/story?id=7&lang=en");
    same_url(base, "https://example.com:443/news/story?id=7&lang=en");
    same_url(base, "https://example.com/news/story?id=7&lang=en"); /* http and https name the same page */
    same_url(base, "http://example.com/news/story?id=7&lang=en#comments");
    same_url(base, "  http://example.com/news/story?id=7&lang=en\t");
    /* tracking parameters go, the others stay in order */
    same_url(base, "http://example.com/news/story?utm_source=x&id=7&utm_medium=y&lang=en&fbclid=abc");
    same_url(base, "http://example.com/news/story?id=7&gclid=1&lang=en");
    same_url("http://example.com/a", "http://example.com/a?utm_campaign=z");
    same_url("http://example.com/a", "http://example.com/a?");
    /* trailing slash of the path, and an empty path */
    same_url("http://example.com/news/", "http://example.com/news");
    same_url("http://example.com/", "http://example.com");
    same_url("http://example.com/news/?q=1", "http://example.com/news?q=1");

    different_url(base, "http://example.com/news/story?lang=en&id=7");   /* order of parameters */
    different_url(base, "http://example.com/news/story?id=8&lang=en");
    different_url(base, "http://example.com/News/story?id=7&lang=en");   /* path case */
    different_url(base, "http://example.org/news/story?id=7&lang=en");
    different_url(base, "http://example.com:8080/news/story?id=7&lang=en");
    different_url(base, "http://example.com:180/news/story?id=7&lang=en");
    different_url(base, "http://news.example.com/news/story?id=7&lang=en");
    different_url(base, "http://example.com/news/story?id=7&lang=en&utmx=1"); /* not a tracking parameter */
    different_url("http://example.com/a", "http://example.com/a?fbclid2=1");
    different_url("http://example.com/ab", "http://example.com/a/b");
    different_url("http://example.com/a", "http://example.coma");

    const char *not_web[] = {"ftp://example.com/x", "mailto:a@example.com", "example.com/x", "", "http:/x",
                             "//example.com/x", "httpx://example.com"};
    for (size_t i = 0; i < sizeof not_web / sizeof *not_web; i++) {
        cp_buf sc = {0};
        uint64_t h = 42;
        assert_int_equal(cp_url_hash(not_web[i], strlen(not_web[i]), &h, &sc), -1);
        assert_int_equal(h, 42);
        cp_buf_free(&sc);
    }
    /* u need not be NUL-terminated: only n bytes count */
    cp_buf sc = {0};
    uint64_t h;
    assert_int_equal(cp_url_hash("http://example.com/aXYZ", 20, &h, &sc), 0);
    assert_int_equal(h, url_hash("http://example.com/a"));
    cp_buf_free(&sc);
}

static void test_keymap_basic(void **state)
{
    (void)state;
    cp_keymap *m = cp_keymap_create(0);
    uint64_t first = 99, v = 0;
    assert_int_equal(cp_keymap_count(m), 0);
    assert_int_equal(cp_keymap_get(m, 0, &v), 0);
    assert_int_equal(cp_keymap_check_insert(m, 0, 10, &first), 0);
    assert_int_equal(first, 99);                       /* untouched on insert */
    assert_int_equal(cp_keymap_check_insert(m, 0, 11, &first), 1);
    assert_int_equal(first, 10);                       /* the first value wins */
    assert_int_equal(cp_keymap_check_insert(m, UINT64_MAX, 12, &first), 0);
    assert_int_equal(cp_keymap_check_insert(m, UINT64_MAX, 13, &first), 1);
    assert_int_equal(first, 12);
    assert_int_equal(cp_keymap_check_insert(m, 5, 14, NULL), 0);
    assert_int_equal(cp_keymap_check_insert(m, 5, 15, NULL), 1);
    assert_int_equal(cp_keymap_get(m, 0, &v), 1);
    assert_int_equal(v, 10);
    assert_int_equal(cp_keymap_get(m, 5, &v), 1);
    assert_int_equal(v, 14);
    assert_int_equal(cp_keymap_get(m, 6, &v), 0);
    assert_int_equal(cp_keymap_count(m), 3);
    assert_true(cp_keymap_bytes(m) >= 3 * 16);
    cp_keymap_destroy(m);
    cp_keymap_destroy(NULL);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    x ^= x >> 33;
    return x;
}

static void test_keymap_growth(void **state)
{
    (void)state;
    const uint64_t n = 1000000;
    cp_keymap *m = cp_keymap_create(16);
    size_t bytes0 = cp_keymap_bytes(m);
    /* random-looking keys (like hashes) and small consecutive ones, both must survive every resize */
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(cp_keymap_check_insert(m, mix(i + (1ull << 40)), i, NULL), 0);
        if (i < 1000)
            assert_int_equal(cp_keymap_check_insert(m, i, n + i, NULL), 0);
    }
    assert_int_equal(cp_keymap_count(m), n + 1000);
    assert_true(cp_keymap_bytes(m) > bytes0);
    assert_true(cp_keymap_bytes(m) >= (n + 1000) * 16 * 4 / 3);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = ~0ull, first = ~0ull;
        if (!cp_keymap_get(m, mix(i + (1ull << 40)), &v) || v != i)
            fail_msg("key %llu lost", (unsigned long long)i);
        assert_int_equal(cp_keymap_check_insert(m, mix(i + (1ull << 40)), 7, &first), 1);
        assert_int_equal(first, i);
    }
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t v;
        assert_int_equal(cp_keymap_get(m, i, &v), 1);
        assert_int_equal(v, n + i);
    }
    assert_int_equal(cp_keymap_count(m), n + 1000);
    assert_int_equal(cp_keymap_get(m, mix(n + (1ull << 40)), &(uint64_t){0}), 0);
    cp_keymap_destroy(m);

    /* a map created for the expected size holds it without growing */
    m = cp_keymap_create(100000);
    bytes0 = cp_keymap_bytes(m);
    for (uint64_t i = 0; i < 100000; i++)
        cp_keymap_check_insert(m, mix(i + (1ull << 40)), i, NULL);
    assert_int_equal(cp_keymap_bytes(m), bytes0);
    assert_int_equal(cp_keymap_count(m), 100000);
    cp_keymap_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_case),
        cmocka_unit_test(test_normalize_oracle),
        cmocka_unit_test(test_normalize_digits),
        cmocka_unit_test(test_normalize_punct),
        cmocka_unit_test(test_normalize_space),
        cmocka_unit_test(test_normalize_appends),
        cmocka_unit_test(test_normalize_growing_case),
        cmocka_unit_test(test_text_hash),
        cmocka_unit_test(test_url_hash),
        cmocka_unit_test(test_keymap_basic),
        cmocka_unit_test(test_keymap_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
