/* Tests for util: UTF-8 repair and validation (each class of invalid sequence, NUL bytes, valid text left
 * alone), JSON string escaping checked by parsing the result back with jansson, and buffer growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/util.h"

#define FFFD "\xEF\xBF\xBD"

/* Repairs s[0..n) into a fresh buffer; checks the result against want and the count against fixes. */
static void check_repair(const char *s, size_t n, const char *want, size_t fixes)
{
    cp_buf b = {0};
    size_t got = cp_utf8_repair(s, n, &b);
    assert_int_equal(got, fixes);
    assert_int_equal(b.len, strlen(want));
    if (b.len) { /* an append happened, so the buffer is terminated */
        assert_memory_equal(b.data, want, b.len);
        assert_int_equal(b.data[b.len], 0);
    }
    /* the repaired text is valid */
    assert_int_equal(cp_utf8_valid_prefix(b.data, b.len), b.len);
    cp_buf_free(&b);
}

#define REPAIR(lit, want, fixes) check_repair(lit, sizeof(lit) - 1, want, fixes)

static void test_repair_valid_unchanged(void **state)
{
    (void)state;
    REPAIR("plain ascii text, long enough to use the eight-byte path", "plain ascii text, long enough to use the eight-byte path", 0);
    REPAIR("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF",
           "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF", 0);
    /* the smallest and largest valid forms of each length */
    REPAIR("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80",
           "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80", 0);
    REPAIR("", "", 0);
}

static void test_repair_overlong(void **state)
{
    (void)state;
    REPAIR("a\xC0\xAF" "b", "a" FFFD "b", 1);         /* '/' in two bytes */
    REPAIR("a\xC1\xBF" "b", "a" FFFD "b", 1);
    REPAIR("a\xE0\x80\xAF" "b", "a" FFFD "b", 1);     /* three bytes */
    REPAIR("a\xE0\x9F\xBF" "b", "a" FFFD "b", 1);     /* U+07FF in three bytes */
    REPAIR("a\xF0\x80\x80\xAF" "b", "a" FFFD "b", 1); /* four bytes */
    REPAIR("a\xF0\x8F\xBF\xBF" "b", "a" FFFD "b", 1); /* U+FFFF in four bytes */
}

static void test_repair_surrogates(void **state)
{
    (void)state;
    REPAIR("x\xED\xA0\x80y", "x" FFFD "y", 1);        /* U+D800 */
    REPAIR("x\xED\xBF\xBFy", "x" FFFD "y", 1);        /* U+DFFF */
    /* a CESU-8 pair is two broken characters */
    REPAIR("x\xED\xA0\xBD\xED\xB8\x80y", "x" FFFD FFFD "y", 2);
}

static void test_repair_above_max(void **state)
{
    (void)state;
    REPAIR("x\xF4\x90\x80\x80y", "x" FFFD "y", 1);    /* U+110000 */
    REPAIR("x\xF5\x80\x80\x80y", "x" FFFD "y", 1);
    REPAIR("x\xF8\x88\x80\x80\x80y", "x" FFFD "y", 1); /* old 5-byte form */
    REPAIR("x\xFFy\xFEz", "x" FFFD "y" FFFD "z", 2);
}

static void test_repair_truncated(void **state)
{
    (void)state;
    REPAIR("end \xE2\x82", "end " FFFD, 1);
    REPAIR("end \xF0\x9F\x98", "end " FFFD, 1);
    REPAIR("end \xC3", "end " FFFD, 1);
    REPAIR("\xE2\x82", FFFD, 1);
    /* truncated in the middle: the next character survives */
    REPAIR("\xE2\x82" "a\xE2\x82\xE2\x82\xAC", FFFD "a" FFFD "\xE2\x82\xAC", 2);
}

static void test_repair_stray_continuation(void **state)
{
    (void)state;
    REPAIR("a\x80" "b", "a" FFFD "b", 1);
    REPAIR("\xBF" "abc", FFFD "abc", 1);
    /* a run of continuation bytes is one broken character */
    REPAIR("a\x80\x80\x80" "b", "a" FFFD "b", 1);
    /* the continuation bytes after an invalid lead belong to it */
    REPAIR("a\xC3\xA9\xA9" "b", "a\xC3\xA9" FFFD "b", 1);
}

static void test_repair_nul(void **state)
{
    (void)state;
    REPAIR("a\0b\0\0c", "abc", 3);
    REPAIR("\0", "", 1);
    REPAIR("\0\xC0\x80", FFFD, 2);
    /* appends: what was in the buffer stays */
    cp_buf b = {0};
    cp_buf_puts(&b, "keep:");
    assert_int_equal(cp_utf8_repair("x\xFFy", 3, &b), 1);
    assert_string_equal(b.data, "keep:x" FFFD "y");
    cp_buf_free(&b);
}

static void test_valid_prefix(void **state)
{
    (void)state;
    const char ok[] = "0123456789abcdef\xC3\xA9\xE2\x82\xAC";
    assert_int_equal(cp_utf8_valid_prefix(ok, sizeof ok - 1), sizeof ok - 1);
    assert_int_equal(cp_utf8_valid_prefix("", 0), 0);
    /* an invalid byte after 8-byte ASCII blocks, inside one, and at the start */
    assert_int_equal(cp_utf8_valid_prefix("0123456789abcdef\xFFxyz", 20), 16);
    assert_int_equal(cp_utf8_valid_prefix("0123\x80" "56789abcdef", 16), 4);
    assert_int_equal(cp_utf8_valid_prefix("\xC0\xAF", 2), 0);
    /* NUL stops it, also inside an ASCII block */
    assert_int_equal(cp_utf8_valid_prefix("0123456\0" "89abcdef", 16), 7);
    /* a sequence cut by n is not valid */
    assert_int_equal(cp_utf8_valid_prefix("ab\xE2\x82\xAC", 4), 2);
    assert_int_equal(cp_utf8_valid_prefix("ab\xE2\x82\xAC", 5), 5);
    assert_int_equal(cp_utf8_valid_prefix("ab\xED\xA0\x80", 5), 2);
    assert_int_equal(cp_utf8_valid_prefix("ab\xF4\x90\x80\x80", 6), 2);
}

/* Escapes s[0..n), checks the literal, then parses it back and compares with the input. */
static void check_escape(const char *s, size_t n, const char *want)
{
    cp_buf b = {0};
    cp_json_escape(&b, s, n);
    assert_non_null(b.data);
    assert_int_equal(b.data[b.len], 0);
    if (want)
        assert_string_equal(b.data, want);
    json_error_t e;
    json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    assert_non_null(j);
    assert_true(json_is_string(j));
    assert_int_equal(json_string_length(j), n);
    assert_memory_equal(json_string_value(j), s, n);
    json_decref(j);
    cp_buf_free(&b);
}

static void test_json_escape(void **state)
{
    (void)state;
    check_escape("", 0, "\"\"");
    check_escape("plain", 5, "\"plain\"");
    check_escape("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    check_escape("a\\b", 3, "\"a\\\\b\"");
    check_escape("l1\nl2\tx\ry", 9, "\"l1\\nl2\\tx\\ry\"");
    check_escape("\x01\x1f\x08\x0c", 4, "\"\\u0001\\u001f\\u0008\\u000c\"");
    check_escape("a\0b", 3, "\"a\\u0000b\"");
    /* UTF-8 and DEL are written as they are */
    check_escape("caf\xC3\xA9 \xF0\x9F\x98\x80 \x7f /", 14, "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \x7f /\"");
    /* every byte below 0x80 round-trips */
    char all[128];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    check_escape(all, sizeof all, NULL);
    /* appends after what is there */
    cp_buf b = {0};
    cp_buf_puts(&b, "{\"k\":");
    cp_json_escape(&b, "v\"", 2);
    cp_buf_putc(&b, '}');
    assert_string_equal(b.data, "{\"k\":\"v\\\"\"}");
    cp_buf_free(&b);
}

static void test_buf_growth(void **state)
{
    (void)state;
    cp_buf b = {0};
    /* byte by byte past many reallocations; contents and terminator stay right */
    for (size_t i = 0; i < 100000; i++) {
        cp_buf_putc(&b, (char)('a' + i % 26));
        assert_true(b.cap > b.len);
    }
    assert_int_equal(b.len, 100000);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] != (char)('a' + i % 26))
            fail_msg("byte %zu wrong", i);
    assert_int_equal(b.data[b.len], 0);
    /* one large append */
    char *big = malloc(1 << 20);
    memset(big, 'z', 1 << 20);
    cp_buf_append(&b, big, 1 << 20);
    assert_int_equal(b.len, 100000 + (1 << 20));
    assert_int_equal(b.data[b.len - 1], 'z');
    assert_int_equal(b.data[b.len], 0);
    free(big);
    /* reserve gives room without changing len */
    size_t len = b.len;
    cp_buf_reserve(&b, 5000000);
    assert_int_equal(b.len, len);
    assert_true(b.cap >= len + 5000000 + 1);
    cp_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);

    cp_buf_printf(&b, "%s-%d-%05u", "x", -3, 42u);
    assert_string_equal(b.data, "x--3-00042");
    assert_int_equal(b.len, 10);
    /* printf longer than the free room */
    char fmt_arg[3000];
    memset(fmt_arg, 'q', sizeof fmt_arg - 1);
    fmt_arg[sizeof fmt_arg - 1] = 0;
    cp_buf_printf(&b, "[%s]", fmt_arg);
    assert_int_equal(b.len, 10 + 2 + 2999);
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], 0);
    cp_buf_free(&b);

    cp_buf_append(&b, "", 0); /* an empty append still gives a terminated string */
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    cp_buf_free(&b);
}

static void test_strndup(void **state)
{
    (void)state;
    char *s = cp_xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    s = cp_xstrdup("");
    assert_string_equal(s, "");
    free(s);
}

/* cp_masks64_of against the definition, byte by byte, on random blocks (every byte value, ASCII-only
 * blocks, and blocks with a single high byte); and cp_popcount64. */
static void test_masks64(void **state)
{
    (void)state;
    unsigned char p[64];
    uint64_t st = 9;
    for (int r = 0; r < 3000; r++) {
        for (int k = 0; k < 64; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            unsigned v = (unsigned)(st >> 56);
            p[k] = (unsigned char)(r % 3 == 0 ? v : r % 3 == 1 ? (v & 0x7F) : (k == r % 64 ? (v | 0x80) : (v & 0x7F)));
        }
        cp_masks64 m;
        cp_masks64_of(p, &m);
        for (int k = 0; k < 64; k++) {
            unsigned c = p[k];
            assert_int_equal((m.ctl >> k) & 1, c <= ' ');
            assert_int_equal((m.blank >> k) & 1, c == ' ' || c == '\t');
            assert_int_equal((m.b7 >> k) & 1, c >> 7);
            assert_int_equal((m.b6 >> k) & 1, c >= 0x80 && (c & 0x40));
            assert_int_equal((m.b5 >> k) & 1, c >= 0x80 && (c & 0x20));
            assert_int_equal((m.b4 >> k) & 1, c >= 0x80 && (c & 0x10));
            assert_int_equal((m.b3 >> k) & 1, c >= 0x80 && (c & 0x08));
        }
        uint64_t x = st ^ (st << 7);
        unsigned want = 0;
        for (int k = 0; k < 64; k++)
            want += (unsigned)((x >> k) & 1);
        assert_int_equal(cp_popcount64(x), want);
    }
    assert_int_equal(cp_popcount64(0), 0);
    assert_int_equal(cp_popcount64(~0ull), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repair_valid_unchanged),
        cmocka_unit_test(test_masks64),
        cmocka_unit_test(test_repair_overlong),
        cmocka_unit_test(test_repair_surrogates),
        cmocka_unit_test(test_repair_above_max),
        cmocka_unit_test(test_repair_truncated),
        cmocka_unit_test(test_repair_stray_continuation),
        cmocka_unit_test(test_repair_nul),
        cmocka_unit_test(test_valid_prefix),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_strndup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
