/* Tests for normalize: NFC (and its fast path), line ends, control characters, trailing blanks, blank
 * lines, UTF-8 repair, the counters, and idempotence (normalising twice gives what once gives). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "corpusprep/normalize.h"

/* Normalises s[0..n) into a fresh buffer and returns it (caller frees); counts are added to *c. */
static char *norm(const char *s, size_t n, cp_norm_counts *c)
{
    cp_buf out = {0}, tmp = {0};
    cp_normalize_text(s, n, &out, &tmp, c);
    char *r = cp_xstrndup(out.data ? out.data : "", out.len);
    assert_int_equal(strlen(r), out.len); /* no NUL inside */
    cp_buf_free(&out);
    cp_buf_free(&tmp);
    return r;
}

/* Checks that s (a literal) normalises to want with the given counts. */
static void check(const char *s, size_t n, const char *want, size_t fixed, size_t controls, size_t nfc)
{
    cp_norm_counts c = {0};
    char *r = norm(s, n, &c);
    assert_string_equal(r, want);
    assert_int_equal(c.utf8_fixed, fixed);
    assert_int_equal(c.controls, controls);
    assert_int_equal(c.nfc_changed, nfc);
    free(r);
}

#define CHECK(lit, want, fixed, controls, nfc) check(lit, sizeof(lit) - 1, want, fixed, controls, nfc)

/* cp_normalize_valid_text skips the UTF-8 pass but must otherwise agree, NUL bytes included. */
static void test_valid_text_entry(void **state)
{
    (void)state;
    static const char *const texts[] = {"caf\xC3\xA9 e\xCC\x81 line  \r\n\n\n\nnext\x01 \xC2\x85" "end", "plain ascii text",
                                         "\xE1\x88\x80\xE1\x88\x81 \xF0\x9F\x98\x80", ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        cp_buf a = {0}, b = {0}, t = {0};
        cp_norm_counts ca = {0}, cb = {0};
        cp_normalize_text(texts[i], strlen(texts[i]), &a, &t, &ca);
        cp_normalize_valid_text(texts[i], strlen(texts[i]), &b, &t, &cb);
        assert_int_equal(a.len, b.len);
        if (a.len)
            assert_memory_equal(a.data, b.data, a.len);
        assert_int_equal(ca.controls, cb.controls);
        assert_int_equal(ca.nfc_changed, cb.nfc_changed);
        cp_buf_free(&a);
        cp_buf_free(&b);
        cp_buf_free(&t);
    }
    /* a NUL from "\u0000" is dropped as a control character */
    cp_buf o = {0}, t = {0};
    cp_norm_counts c = {0};
    cp_normalize_valid_text("a\0b", 3, &o, &t, &c);
    assert_int_equal(o.len, 2);
    assert_memory_equal(o.data, "ab", 2);
    assert_int_equal(c.controls, 1);
    cp_buf_free(&o);
    cp_buf_free(&t);
}

static void test_nfc(void **state)
{
    (void)state;
    CHECK("caf" "e\xCC\x81", "caf\xC3\xA9", 0, 0, 1);              /* e + U+0301 -> U+00E9 */
    CHECK("A\xCC\x8A" "ngstr\xC3\xB6m", "\xC3\x85ngstr\xC3\xB6m", 0, 0, 1);
    CHECK("\xE2\x84\xAB", "\xC3\x85", 0, 0, 1);                    /* U+212B ANGSTROM SIGN -> U+00C5 */
    /* Hangul jamo compose to a syllable */
    CHECK("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", "\xED\x95\x9C", 0, 0, 1);
    /* already NFC: unchanged and not counted, on the fast path (Latin) and off it (CJK, Greek) */
    CHECK("caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m \xC3\x9F", "caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m \xC3\x9F",
          0, 0, 0);
    CHECK("\xE4\xB8\xAD\xE6\x96\x87 \xCE\xB1\xCE\xB2\xCE\xB3", "\xE4\xB8\xAD\xE6\x96\x87 \xCE\xB1\xCE\xB2\xCE\xB3", 0, 0, 0);
    /* compatibility characters are not folded (NFC, not NFKC) */
    CHECK("\xEF\xAC\x81 \xE2\x91\xA0", "\xEF\xAC\x81 \xE2\x91\xA0", 0, 0, 0);      /* U+FB01 fi, U+2460 */
    /* counts add up over calls rather than being reset */
    cp_norm_counts c = {0};
    free(norm("e\xCC\x81", 3, &c));
    free(norm("o\xCC\x88", 3, &c));
    free(norm("plain", 5, &c));
    assert_int_equal(c.nfc_changed, 2);
}

/* The quick check that skips NFC must never skip a code point NFC would change: every code point between
 * two letters gives what utf8proc's NFC gives (controls and BOM, removed on purpose, excepted). */
static void test_nfc_every_code_point(void **state)
{
    (void)state;
    cp_buf out = {0}, tmp = {0};
    size_t wrong = 0;
    for (utf8proc_int32_t cp = 0xA0; cp < 0x110000; cp++) {
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFEFF)
            continue;
        unsigned char s[8] = {'x'};
        utf8proc_ssize_t k = utf8proc_encode_char(cp, s + 1);
        s[1 + k] = 'y';
        cp_norm_counts c = {0};
        out.len = 0;
        cp_normalize_text((const char *)s, (size_t)k + 2, &out, &tmp, &c);
        utf8proc_uint8_t *nfc = NULL;
        utf8proc_ssize_t r = utf8proc_map(s, k + 2, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        assert_true(r > 0);
        if ((size_t)r != out.len || memcmp(nfc, out.data, (size_t)r)) {
            if (wrong++ < 5)
                print_message("U+%04X: NFC skipped\n", (unsigned)cp);
        }
        assert_int_equal(c.nfc_changed, r != k + 2 || memcmp(nfc, s, (size_t)r));
        free(nfc);
    }
    assert_int_equal(wrong, 0);
    cp_buf_free(&out);
    cp_buf_free(&tmp);
}

/* NFC runs only on the segments around code points that are not stable: on random mixes of marks, jamo,
 * syllables, singletons, exclusions and plain letters, the result must be utf8proc's NFC of the whole text. */
static void test_nfc_segments(void **state)
{
    (void)state;
    static const utf8proc_int32_t ranges[][2] = {
        {0x61, 0x7A},     {0xC0, 0xFF},     {0x300, 0x36F},   {0x1100, 0x11FF}, {0xAC00, 0xAC40},
        {0x370, 0x3FF},   {0x1F00, 0x1FFF}, {0x212A, 0x212B}, {0x900, 0x97F},   {0x9BC, 0x9D7},
        {0xF900, 0xF920}, {0x1EA0, 0x1EF9}, {0x591, 0x5C7},   {0x1D15E, 0x1D164}, {0x2F800, 0x2F810},
        {0x3099, 0x309A}, {0x304B, 0x3062}, {0x1B00, 0x1B4B}, {0x110B0, 0x110BA}, {0xF40, 0xF80}};
    const size_t nr = sizeof ranges / sizeof *ranges;
    uint32_t seed = 12345;
    cp_buf out = {0}, tmp = {0};
    size_t changed = 0;
    for (int t = 0; t < 20000; t++) {
        unsigned char s[1024];
        size_t n = 0;
        s[n++] = 'a';
        int count = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 60;
        for (int k = 0; k < count; k++) {
            seed = seed * 1103515245u + 12345u;
            const utf8proc_int32_t *r = ranges[(seed >> 16) % nr];
            seed = seed * 1103515245u + 12345u;
            utf8proc_int32_t cp = r[0] + (utf8proc_int32_t)((seed >> 8) % (uint32_t)(r[1] - r[0] + 1));
            if (!utf8proc_codepoint_valid(cp))
                continue;
            n += (size_t)utf8proc_encode_char(cp, s + n);
            if ((seed & 7) == 0)
                s[n++] = ' ';
        }
        s[n++] = 'z';
        cp_norm_counts c = {0};
        out.len = 0;
        cp_normalize_text((const char *)s, n, &out, &tmp, &c);
        utf8proc_uint8_t *nfc = NULL;
        utf8proc_ssize_t r = utf8proc_map(s, (utf8proc_ssize_t)n, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        assert_true(r > 0);
        assert_int_equal(out.len, (size_t)r);
        assert_memory_equal(out.data, nfc, (size_t)r);
        int differs = (size_t)r != n || memcmp(nfc, s, n);
        assert_int_equal(c.nfc_changed, differs);
        changed += (size_t)differs;
        free(nfc);
    }
    assert_true(changed > 10000); /* the mix really exercises composition */
    cp_buf_free(&out);
    cp_buf_free(&tmp);
}

static void test_line_ends(void **state)
{
    (void)state;
    CHECK("a\r\nb\r\nc", "a\nb\nc", 0, 0, 0);
    CHECK("a\rb\rc", "a\nb\nc", 0, 0, 0);
    CHECK("a\r\n\r\nb", "a\n\nb", 0, 0, 0);
    CHECK("a\r\rb", "a\n\nb", 0, 0, 0);
    CHECK("a\n\rb", "a\n\nb", 0, 0, 0); /* LF CR is two line ends */
    CHECK("a\nb\nc", "a\nb\nc", 0, 0, 0);
    CHECK("one line", "one line", 0, 0, 0);
}

static void test_controls(void **state)
{
    (void)state;
    CHECK("a\x01" "b\x1f" "c\x7f" "d", "abcd", 0, 3, 0);
    CHECK("a\x0b" "b\x0c" "c", "abc", 0, 2, 0);                   /* VT and FF are removed, not line ends */
    CHECK("a\xC2\x80" "b\xC2\x9F" "c", "abc", 0, 2, 0);            /* C1 */
    CHECK("\xEF\xBB\xBFtext\xEF\xBB\xBF", "text", 0, 2, 0);        /* BOM / ZWNBSP */
    /* kept: TAB inside a line, LF, and the neighbours of the removed ranges */
    CHECK("a\tb\nc", "a\tb\nc", 0, 0, 0);
    CHECK("\xC2\xA0\xC2\xA0x \xC2\xBF", "\xC2\xA0\xC2\xA0x \xC2\xBF", 0, 0, 0);  /* U+00A0, U+00BF */
    CHECK("\xEF\xBB\xBE \xEF\xBC\x81", "\xEF\xBB\xBE \xEF\xBC\x81", 0, 0, 0);    /* U+FEFE, U+FF01 */
    CHECK("~ \x7e", "~ ~", 0, 0, 0);
}

static void test_trailing_blanks(void **state)
{
    (void)state;
    CHECK("a  \t\nb \n  c\t", "a\nb\n  c", 0, 0, 0);                 /* leading blanks stay */
    CHECK("a \r\nb", "a\nb", 0, 0, 0);
    CHECK("a\xC2\xA0", "a\xC2\xA0", 0, 0, 0);                         /* only space and tab count */
    CHECK("a \x01", "a", 0, 1, 0);                                    /* blanks before a removed control */
}

static void test_blank_lines(void **state)
{
    (void)state;
    CHECK("\n\n  \n\t\na\nb\n\n\n \n", "a\nb", 0, 0, 0);
    CHECK("a\n\nb", "a\n\nb", 0, 0, 0);
    CHECK("a\n\n\n\n\nb", "a\n\nb", 0, 0, 0);
    CHECK("a\n \n\t\n  \nb\n\n\nc", "a\n\nb\n\nc", 0, 0, 0);
    CHECK("a\n\x01\nb", "a\n\nb", 0, 1, 0);                          /* a line of controls is blank */
    CHECK("", "", 0, 0, 0);
    CHECK("\n\r\n \t\n", "", 0, 0, 0);
}

static void test_utf8_repair(void **state)
{
    (void)state;
    CHECK("a\xFF" "b", "a\xEF\xBF\xBD" "b", 1, 0, 0);
    CHECK("a\xC0\xAF" "b\xED\xA0\x80" "c", "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c", 2, 0, 0);
    CHECK("end\xE2\x82", "end\xEF\xBF\xBD", 1, 0, 0);
    /* repair and NFC in one text */
    CHECK("\xFF" "e\xCC\x81", "\xEF\xBF\xBD\xC3\xA9", 1, 0, 1);
    /* a raw NUL is dropped (counted with the UTF-8 fixes) */
    CHECK("a\0b", "ab", 1, 0, 0);
}

static void test_appends(void **state)
{
    (void)state;
    cp_buf out = {0}, tmp = {0};
    cp_norm_counts c = {0};
    cp_buf_puts(&out, "prefix|");
    cp_normalize_text("\n\nline  \n", 9, &out, &tmp, &c);
    const char *second = "e\xCC\x81\r\n\r\n\r\nx";
    assert_string_equal(out.data, "prefix|line");
    cp_normalize_text(second, strlen(second), &out, &tmp, &c);
    assert_string_equal(out.data, "prefix|line\xC3\xA9\n\nx");
    cp_buf_free(&out);
    cp_buf_free(&tmp);
}

/* Normalising a normalised text changes nothing and counts nothing. */
static void check_idempotent(const char *s, size_t n)
{
    cp_norm_counts c1 = {0}, c2 = {0};
    char *once = norm(s, n, &c1);
    char *twice = norm(once, strlen(once), &c2);
    assert_string_equal(twice, once);
    assert_int_equal(c2.utf8_fixed, 0);
    assert_int_equal(c2.controls, 0);
    assert_int_equal(c2.nfc_changed, 0);
    free(once);
    free(twice);
}

#define IDEM(lit) check_idempotent(lit, sizeof(lit) - 1)

static void test_idempotent(void **state)
{
    (void)state;
    IDEM("\xEF\xBB\xBF\r\n  Title \t\r\n\r\n\r\n"
         "Caf" "e\xCC\x81 \xFF bad\x01 bytes\xC2\x85 here  \n"
         "\x7f\n \n\n"
         "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB \xE4\xB8\xAD\t\r"
         "last line \xE2\x82");
    /* a control between a base letter and a combining mark: once it is gone, the pair must be composed */
    IDEM("e\x01\xCC\x81");
    IDEM("e\xC2\x85\xCC\x81 and a\xEF\xBB\xBF\xCC\x8A");
    IDEM("e\x7f\xCC\x81");
    IDEM("e\xCC\x81\n\n\n\xCC\x81x");
    /* random texts built from the pieces that interact (fixed seed, so a failure reproduces) */
    static const char *const pieces[] = {"e", "\xCC\x81", "\xCC\xA3", "\x01", "\r", "\n", " ", "\t", "\xFF",
                                         "\xC2\x85", "\xEF\xBB\xBF", "\xE1\x84\x92", "\xE1\x85\xA1",
                                         "\xE1\x86\xAB", "a", "\xE2\x84\xAB", "\xE2\x82"};
    const size_t np = sizeof pieces / sizeof *pieces;
    uint64_t rng = 12345;
    char text[256];
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)(rng >> 60);
        for (int j = 0; j < k + 2; j++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(rng >> 33) % np];
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        check_idempotent(text, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_valid_text_entry),
        cmocka_unit_test(test_nfc_every_code_point),
        cmocka_unit_test(test_nfc_segments),
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_trailing_blanks),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
