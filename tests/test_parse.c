/* Tests for parse: what cp_parse_doc takes from a record (text, id, url) and how it rejects a line, and
 * what cp_emit_doc writes back (every other member byte for byte, our members replaced, reject shapes).
 * Every emitted line is also checked to be one valid JSON object ending in a newline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/parse.h"

static char *default_fields[] = {"text", "maintext", "content", "body"};
#define N_DEFAULT 4

/* A document read from line `line` of file "f.jsonl"; raw must outlive it. */
static void doc_init(cp_doc *d, const char *raw, size_t n, uint64_t line)
{
    memset(d, 0, sizeof *d);
    d->raw = raw;
    d->raw_len = n;
    d->line = line;
}

static int parse(cp_doc *d, const char *raw, const char *file)
{
    doc_init(d, raw, strlen(raw), 7);
    return cp_parse_doc(d, default_fields, N_DEFAULT, file);
}

/* Emits d, checks the line is one JSON object ending in '\n' and returns it parsed (caller decrefs);
 * the line itself is left in *line (caller frees). */
static json_t *emit(const cp_doc *d, const char *file, const char *dup_of, char **line)
{
    cp_buf b = {0};
    cp_emit_doc(d, file, dup_of, dup_of ? strlen(dup_of) : 0, &b);
    assert_non_null(b.data);
    assert_true(b.len > 0);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_null(memchr(b.data, '\n', b.len - 1));
    json_error_t e;
    json_t *j = json_loadb(b.data, b.len - 1, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("emitted line is not JSON (%s): %s", e.text, b.data);
    assert_true(json_is_object(j));
    if (line)
        *line = b.data;
    else
        cp_buf_free(&b);
    return j;
}

static void expect_str(json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("member %s missing or not a string", key);
    assert_string_equal(json_string_value(v), want);
}

/* ---- cp_parse_doc ---- */

static void test_parse_valid(void **state)
{
    (void)state;
    cp_doc d;
    assert_int_equal(parse(&d, "{\"id\":\"doc-1\",\"url\":\"http://x.org/a\",\"text\":\"Hello\\nworld\"}", "f.jsonl"), 0);
    assert_null(d.reject);
    assert_true(d.object);
    assert_string_equal(d.text, "Hello\nworld");
    assert_int_equal(d.text_len, 11);
    assert_int_equal(d.text_in_len, 11);
    assert_string_equal(d.id, "doc-1");
    assert_int_equal(d.url_len, 14);
    assert_memory_equal(d.url, "http://x.org/a", 14);
    assert_int_equal(d.n_members, 3);
    assert_int_equal(d.text_member, 2);
    assert_int_equal(d.line_utf8_fixes, 0);
    assert_null(d.line_fixed);
    cp_doc_release(&d);
    assert_false(d.object);
    assert_null(d.text);

    /* no url: url stays NULL; a url that is not a string is ignored */
    assert_int_equal(parse(&d, "{\"text\":\"t\"}", "f.jsonl"), 0);
    assert_null(d.url);
    cp_doc_release(&d);
    assert_int_equal(parse(&d, "{\"text\":\"t\",\"url\":5}", "f.jsonl"), 0);
    assert_null(d.url);
    cp_doc_release(&d);
    /* white space around members and a text with escapes */
    assert_int_equal(parse(&d, " { \"text\" : \"a\\\"b\\u00e9\\ud83d\\ude00\" , \"n\" : 1 } ", "f.jsonl"), 0);
    assert_string_equal(d.text, "a\"b\xC3\xA9\xF0\x9F\x98\x80");
    assert_int_equal(d.n_members, 2);
    assert_int_equal(d.text_member, 0);
    cp_doc_release(&d);
}

static void test_parse_ids(void **state)
{
    (void)state;
    cp_doc d;
    assert_int_equal(parse(&d, "{\"id\":12345,\"text\":\"t\"}", "f.jsonl"), 0);
    assert_string_equal(d.id, "12345");
    cp_doc_release(&d);
    assert_int_equal(parse(&d, "{\"id\":-3,\"text\":\"t\"}", "f.jsonl"), 0);
    assert_string_equal(d.id, "-3");
    cp_doc_release(&d);
    /* missing, empty, null or non-integer ids give "<file>:<line>" */
    const char *gen[] = {"{\"text\":\"t\"}", "{\"id\":\"\",\"text\":\"t\"}", "{\"id\":null,\"text\":\"t\"}",
                         "{\"id\":1.5,\"text\":\"t\"}", "{\"id\":[1],\"text\":\"t\"}"};
    for (size_t i = 0; i < sizeof gen / sizeof *gen; i++) {
        assert_int_equal(parse(&d, gen[i], "dir/f.jsonl.gz"), 0);
        assert_string_equal(d.id, "dir/f.jsonl.gz:7");
        cp_doc_release(&d);
    }
    assert_int_equal(parse(&d, "{\"text\":\"t\"}", "-"), 0);
    assert_string_equal(d.id, "stdin:7");
    cp_doc_release(&d);
    /* only the file called "-" is stdin */
    assert_int_equal(parse(&d, "{\"text\":\"t\"}", "-x"), 0);
    assert_string_equal(d.id, "-x:7");
    cp_doc_release(&d);
}

static void test_parse_text_fields(void **state)
{
    (void)state;
    cp_doc d;
    /* the first field of the list that holds a string, whatever the member order */
    assert_int_equal(parse(&d, "{\"body\":\"B\",\"content\":\"C\",\"maintext\":\"M\"}", "f"), 0);
    assert_string_equal(d.text, "M");
    assert_int_equal(d.text_member, 2);
    cp_doc_release(&d);
    /* null, number, object or array texts are skipped for the next field */
    assert_int_equal(parse(&d, "{\"text\":null,\"maintext\":5,\"content\":{\"a\":\"x\"},\"body\":\"B\"}", "f"), 0);
    assert_string_equal(d.text, "B");
    assert_int_equal(d.text_member, 3);
    cp_doc_release(&d);
    /* an empty string is a present text */
    assert_int_equal(parse(&d, "{\"text\":\"\",\"body\":\"B\"}", "f"), 0);
    assert_string_equal(d.text, "");
    assert_int_equal(d.text_len, 0);
    cp_doc_release(&d);
    /* a text with an escaped NUL keeps its length */
    assert_int_equal(parse(&d, "{\"text\":\"a\\u0000b\"}", "f"), 0);
    assert_int_equal(d.text_len, 3);
    assert_memory_equal(d.text, "a\0b", 3);
    cp_doc_release(&d);
    /* a custom list */
    char *fields[] = {"article"};
    doc_init(&d, "{\"text\":\"T\",\"article\":\"A\"}", 27, 1);
    assert_int_equal(cp_parse_doc(&d, fields, 1, "f"), 0);
    assert_string_equal(d.text, "A");
    cp_doc_release(&d);
    doc_init(&d, "{\"text\":\"T\"}", 12, 1);
    assert_int_equal(cp_parse_doc(&d, fields, 1, "f"), -1);
    assert_string_equal(d.reject, "no_text");
    cp_doc_release(&d);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    cp_doc d;
    const char *bad[] = {"{\"text\":\"unterminated}", "{\"text\":\"a\"} trailing", "not json", "{\"a\":1,}",
                         "{\"text\":\"a\",\"text\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(&d, bad[i], "f"), -1);
        assert_string_equal(d.reject, "parse_error");
        assert_non_null(d.parse_error);
        /* "column N: reason", in plain ASCII; jansson refuses the line too */
        assert_null(json_loadb(bad[i], strlen(bad[i]), JSON_DECODE_ANY, NULL));
        unsigned col = 0;
        int used = 0;
        if (sscanf(d.parse_error, "column %u: %n", &col, &used) != 1 || !used || col < 1 || col > strlen(bad[i]) + 1)
            fail_msg("parse_error \"%s\" does not start with the column", d.parse_error);
        assert_true(strlen(d.parse_error) > (size_t)used + 5);
        for (const char *p = d.parse_error; *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7F);
        assert_null(d.text);
        cp_doc_release(&d);
    }
    /* valid JSON that is not an object: an array, a string, a number */
    const char *scalars[] = {"[{\"text\":\"a\"}]", "\"str\"", "42", "null"};
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) {
        assert_int_equal(parse(&d, scalars[i], "f"), -1);
        assert_string_equal(d.reject, "not_object");
        assert_null(d.parse_error);
        cp_doc_release(&d);
    }
    assert_int_equal(parse(&d, "{\"id\":\"x\",\"txt\":\"a\"}", "f"), -1);
    assert_string_equal(d.reject, "no_text");
    assert_string_equal(d.id, "x");
    cp_doc_release(&d);
    assert_int_equal(parse(&d, "{}", "f"), -1);
    assert_string_equal(d.reject, "no_text");
    cp_doc_release(&d);
}

static void test_parse_bad_utf8(void **state)
{
    (void)state;
    cp_doc d;
    /* an invalid byte in the text and one in another member: the record still parses */
    const char raw[] = "{\"text\":\"caf\xE9 ok\",\"title\":\"\xC0\xAF\",\"n\":1}";
    doc_init(&d, raw, sizeof raw - 1, 3);
    assert_int_equal(cp_parse_doc(&d, default_fields, N_DEFAULT, "f"), 0);
    assert_int_equal(d.line_utf8_fixes, 2);
    assert_non_null(d.line_fixed);
    assert_string_equal(d.text, "caf\xEF\xBF\xBD ok");
    json_t *j = emit(&d, "f", NULL, NULL);
    expect_str(j, "title", "\xEF\xBF\xBD");
    expect_str(j, "text", "caf\xEF\xBF\xBD ok");
    json_decref(j);
    cp_doc_release(&d);
    assert_null(d.line_fixed);
    /* a raw NUL byte is dropped, not the record */
    const char raw2[] = "{\"text\":\"a\0b\"}";
    doc_init(&d, raw2, sizeof raw2 - 1, 3);
    assert_int_equal(cp_parse_doc(&d, default_fields, N_DEFAULT, "f"), 0);
    assert_int_equal(d.line_utf8_fixes, 1);
    assert_string_equal(d.text, "ab");
    cp_doc_release(&d);
    /* valid UTF-8 needs no repair */
    assert_int_equal(parse(&d, "{\"text\":\"caf\xC3\xA9\"}", "f"), 0);
    assert_int_equal(d.line_utf8_fixes, 0);
    assert_null(d.line_fixed);
    cp_doc_release(&d);
}

static void test_parse_escaped_and_duplicate_keys(void **state)
{
    (void)state;
    cp_doc d;
    assert_int_equal(parse(&d, "{\"te\\u0078t\":\"escaped key\",\"\\u0069d\":\"i1\"}", "f"), 0);
    assert_string_equal(d.text, "escaped key");
    assert_string_equal(d.id, "i1");
    assert_int_equal(d.text_member, 0);
    char *line;
    json_t *j = emit(&d, "f", NULL, &line);
    expect_str(j, "text", "escaped key");
    expect_str(j, "id", "i1");
    assert_int_equal(json_object_size(j), 2);
    /* the text member is written as "text", not under its escaped name */
    assert_null(strstr(line, "\\u0078"));
    free(line);
    json_decref(j);
    cp_doc_release(&d);

    /* duplicate keys: jansson keeps the last, and so does the output, once */
    assert_int_equal(parse(&d, "{\"text\":\"first\",\"a\":1,\"text\":\"second\"}", "f"), 0);
    assert_string_equal(d.text, "second");
    assert_int_equal(d.text_member, 2);
    j = emit(&d, "f", NULL, &line);                 /* emit() rejects duplicate keys */
    expect_str(j, "text", "second");
    assert_non_null(strstr(line, "{\"a\":1,\"text\":\"second\""));
    free(line);
    json_decref(j);
    cp_doc_release(&d);

    /* a non-string "text" with the text taken from "body": one "text" in the output */
    assert_int_equal(parse(&d, "{\"text\":null,\"body\":\"B\",\"text\":7}", "f"), 0);
    assert_string_equal(d.text, "B");
    j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"text\":\"B\",\"id\":\"f:7\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
}

/* ---- cp_emit_doc ---- */

static void test_emit_byte_for_byte(void **state)
{
    (void)state;
    const char *raw = "{\"id\":\"a1\",\"price\":1.50,\"big\":1e5,\"neg\":-0.0,\"ok\":true,\"no\":null,"
                      "\"text\":\"old text\","
                      "\"meta\":{\"tags\":[\"{a}\",\"[b]\",\"q\\\"}\",\"\\\\\"],\"n\":{\"x\":[1,2,{\"y\":\"}\"}]}},"
                      "\"u\":\"\\u00e9\\u0041\\/\",\"empty\":{},\"arr\":[ ],\"s\":\"a,b:c\"}";
    cp_doc d;
    assert_int_equal(parse(&d, raw, "f"), 0);
    free(d.text);
    d.text = cp_xstrdup("new \"text\"\n\ttab \xC3\xA9");
    d.text_len = strlen(d.text);
    char *line;
    json_t *j = emit(&d, "f", NULL, &line);
    const char *want = "{\"id\":\"a1\",\"price\":1.50,\"big\":1e5,\"neg\":-0.0,\"ok\":true,\"no\":null,"
                       "\"text\":\"new \\\"text\\\"\\n\\ttab \xC3\xA9\","
                       "\"meta\":{\"tags\":[\"{a}\",\"[b]\",\"q\\\"}\",\"\\\\\"],\"n\":{\"x\":[1,2,{\"y\":\"}\"}]}},"
                       "\"u\":\"\\u00e9\\u0041\\/\",\"empty\":{},\"arr\":[ ],\"s\":\"a,b:c\"}\n";
    assert_string_equal(line, want);
    expect_str(j, "text", d.text);
    free(line);
    json_decref(j);
    cp_doc_release(&d);

    /* white space between members is not kept, values are */
    assert_int_equal(parse(&d, "{ \"a\" : [1, 2] ,\t\"text\":\"t\" , \"b\":\"x\" }", "f"), 0);
    j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"a\":[1, 2],\"text\":\"t\",\"b\":\"x\",\"id\":\"f:7\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
}

static void test_emit_text_field_renamed(void **state)
{
    (void)state;
    cp_doc d;
    assert_int_equal(parse(&d, "{\"id\":\"x\",\"content\":\"C\",\"text\":null,\"z\":1}", "f"), 0);
    assert_string_equal(d.text, "C");
    char *line;
    json_t *j = emit(&d, "f", NULL, &line);
    /* "content" becomes "text" in its place; the old "text" member goes */
    assert_string_equal(line, "{\"id\":\"x\",\"text\":\"C\",\"z\":1}\n");
    assert_null(json_object_get(j, "content"));
    free(line);
    json_decref(j);
    cp_doc_release(&d);
}

static void test_emit_our_members(void **state)
{
    (void)state;
    cp_doc d;
    assert_int_equal(parse(&d, "{\"lang\":\"xx\",\"text\":\"t\",\"lang_score\":0.1,\"reject_reason\":\"old\","
                               "\"dup_of\":\"old\",\"lang_script\":0,\"keep\":1}", "f"), 0);
    d.has_lang = 1;
    strcpy(d.lang.code, "nl");
    d.lang.score = 0.5;
    char *line;
    json_t *j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"text\":\"t\",\"keep\":1,\"lang\":\"nl\",\"lang_score\":0.5000,\"id\":\"f:7\"}\n");
    free(line);
    json_decref(j);

    /* without a language: no lang members at all, and the input's are still dropped */
    d.has_lang = 0;
    j = emit(&d, "f", NULL, NULL);
    assert_null(json_object_get(j, "lang"));
    assert_null(json_object_get(j, "lang_score"));
    assert_null(json_object_get(j, "lang_script"));
    assert_null(json_object_get(j, "reject_reason"));
    assert_null(json_object_get(j, "dup_of"));
    json_decref(j);

    /* with a script: ours replaces the input's, once (emit refuses duplicate keys) */
    d.has_lang = 1;
    strcpy(d.lang.script, "Latn");
    j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"text\":\"t\",\"keep\":1,\"lang\":\"nl\",\"lang_score\":0.5000,\"lang_script\":\"Latn\","
                              "\"id\":\"f:7\"}\n");
    free(line);
    json_decref(j);
    d.lang.script[0] = 0;

    /* a reject: reason, and dup_of when given */
    d.has_lang = 1;
    d.reject = "dup_exact";
    j = emit(&d, "f", "first-id", &line);
    assert_string_equal(line, "{\"text\":\"t\",\"keep\":1,\"lang\":\"nl\",\"lang_score\":0.5000,\"id\":\"f:7\","
                              "\"reject_reason\":\"dup_exact\",\"dup_of\":\"first-id\"}\n");
    free(line);
    json_decref(j);
    d.reject = "too_short";
    j = emit(&d, "f", NULL, NULL);
    expect_str(j, "reject_reason", "too_short");
    assert_null(json_object_get(j, "dup_of"));
    json_decref(j);
    d.reject = NULL;
    cp_doc_release(&d);
}

static void test_emit_ids(void **state)
{
    (void)state;
    cp_doc d;
    char *line;
    json_t *j;
    /* an existing id stays where it is, string or not; no second id */
    assert_int_equal(parse(&d, "{\"text\":\"t\",\"id\":\"mine\"}", "f"), 0);
    j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"text\":\"t\",\"id\":\"mine\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
    assert_int_equal(parse(&d, "{\"id\":42,\"text\":\"t\"}", "f"), 0);
    j = emit(&d, "f", NULL, &line);
    assert_string_equal(line, "{\"id\":42,\"text\":\"t\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
    /* a generated id only when there is none */
    assert_int_equal(parse(&d, "{\"text\":\"t\"}", "-"), 0);
    j = emit(&d, "-", NULL, &line);
    assert_string_equal(line, "{\"text\":\"t\",\"id\":\"stdin:7\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
    /* a no_text reject keeps its members and gets an id */
    assert_int_equal(parse(&d, "{\"title\":\"x\",\"text\":5}", "a\"b.jsonl"), -1);
    j = emit(&d, "a\"b.jsonl", NULL, &line);
    assert_string_equal(line, "{\"title\":\"x\",\"id\":\"a\\\"b.jsonl:7\",\"reject_reason\":\"no_text\"}\n");
    free(line);
    json_decref(j);
    cp_doc_release(&d);
}

static void test_emit_parse_error_shape(void **state)
{
    (void)state;
    cp_doc d;
    const char *raw = "{\"text\":\"a\" \"b\":\t1}";
    assert_int_equal(parse(&d, raw, "in/x.jsonl"), -1);
    json_t *j = emit(&d, "in/x.jsonl", NULL, NULL);
    assert_int_equal(json_object_size(j), 5);
    expect_str(j, "reject_reason", "parse_error");
    expect_str(j, "source", "in/x.jsonl:7");
    expect_str(j, "id", "in/x.jsonl:7");
    expect_str(j, "error", d.parse_error);
    expect_str(j, "raw", raw);
    json_decref(j);
    cp_doc_release(&d);

    /* not_object: the same shape without "error" */
    assert_int_equal(parse(&d, "[1,2]", "-"), -1);
    j = emit(&d, "-", NULL, NULL);
    expect_str(j, "reject_reason", "not_object");
    expect_str(j, "source", "stdin:7");
    expect_str(j, "raw", "[1,2]");
    assert_null(json_object_get(j, "error"));
    json_decref(j);
    cp_doc_release(&d);

    /* a broken line with invalid UTF-8: raw is the repaired line, still valid JSON */
    const char bad[] = "{\"text\":\"\xFF\"";
    doc_init(&d, bad, sizeof bad - 1, 2);
    assert_int_equal(cp_parse_doc(&d, default_fields, N_DEFAULT, "f"), -1);
    j = emit(&d, "f", NULL, NULL);
    expect_str(j, "raw", "{\"text\":\"\xEF\xBF\xBD\"");
    json_decref(j);
    cp_doc_release(&d);
}

static void test_emit_line_too_long(void **state)
{
    (void)state;
    cp_doc d;
    memset(&d, 0, sizeof d);
    d.raw = NULL;
    d.raw_len = 123456789;
    d.line = 9;
    d.reject = "line_too_long";
    assert_int_equal(cp_parse_doc(&d, default_fields, N_DEFAULT, "big.jsonl"), -1);
    assert_string_equal(d.reject, "line_too_long");
    json_t *j = emit(&d, "big.jsonl", NULL, NULL);
    assert_int_equal(json_object_size(j), 4);
    expect_str(j, "reject_reason", "line_too_long");
    expect_str(j, "source", "big.jsonl:9");
    expect_str(j, "id", "big.jsonl:9");
    assert_true(json_is_integer(json_object_get(j, "bytes")));
    assert_int_equal(json_integer_value(json_object_get(j, "bytes")), 123456789);
    assert_null(json_object_get(j, "raw"));
    json_decref(j);
    cp_doc_release(&d);
}

/* Many record shapes, each emitted as kept, as a reject with dup_of, and with a language: always valid. */
static void test_emit_always_valid(void **state)
{
    (void)state;
    const char *lines[] = {
        "{\"text\":\"t\"}",
        "{}",
        "{\"a\":\"\\\\\",\"text\":\"\\\\\\\"\"}",
        "{\"text\":\"x\",\"id\":\"\"}",
        "{\"k\\\"ey\":1,\"text\":\"x\"}",
        "{\"text\":\"x\",\"nested\":{\"text\":\"inner\",\"lang\":\"de\"}}",
        "{\"x\":[[[[{}]]]],\"body\":\"b\",\"lang\":null,\"dup_of\":[1]}",
        "{\"text\":\"\\u0000\\u001f\\ud800\"}",
        "{\"text\":\"a\",\"text\":\"b\",\"text\":\"c\"}",
        "{\"\":\"empty key\",\"text\":\"t\"}",
        "{\"text\"  :  \"spaced\"  }",
        "{\"n\":-1.5E-3,\"text\":\"t\",\"m\":0}",
        "[]",
        "17",
        "{\"text\":",
        "",
        "{\"text\":\"\xF0\x9F\x98\x80\xC3\",\"\xFF\":1}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        cp_doc d;
        doc_init(&d, lines[i], strlen(lines[i]), i + 1);
        cp_parse_doc(&d, default_fields, N_DEFAULT, "f.jsonl");
        json_decref(emit(&d, "f.jsonl", NULL, NULL));
        d.has_lang = 1;
        strcpy(d.lang.code, "en");
        d.lang.score = 1.0;
        json_decref(emit(&d, "f.jsonl", NULL, NULL));
        if (!d.reject)
            d.reject = "dup_exact";
        json_decref(emit(&d, "f.jsonl", "x\"y", NULL));
        cp_doc_release(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_ids),
        cmocka_unit_test(test_parse_text_fields),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_bad_utf8),
        cmocka_unit_test(test_parse_escaped_and_duplicate_keys),
        cmocka_unit_test(test_emit_byte_for_byte),
        cmocka_unit_test(test_emit_text_field_renamed),
        cmocka_unit_test(test_emit_our_members),
        cmocka_unit_test(test_emit_ids),
        cmocka_unit_test(test_emit_parse_error_shape),
        cmocka_unit_test(test_emit_line_too_long),
        cmocka_unit_test(test_emit_always_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
