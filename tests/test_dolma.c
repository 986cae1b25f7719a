/* Tests for --format dolma: the "added" date rules, and end to end a schema check of every kept record
 * (required keys and their types, parsed with jansson), what goes under metadata, created from a date member
 * or WARC-Date, --source and the input file's name, rejected records in today's format, -t 1 == -t 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cli_util.h"
#include "corpusprep/dolma.h"

static int teardown(void **state)
{
    unsetenv("SOURCE_DATE_EPOCH");
    return cli_fx_teardown(state);
}

static void test_added(void **state)
{
    (void)state;
    char out[40], err[256];
    assert_int_equal(cp_dolma_added("2024-03-01T00:00:00.000Z", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "2024-03-01T00:00:00.000Z");
    assert_int_equal(cp_dolma_added("yesterday", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "YYYY-MM-DD"));
    setenv("SOURCE_DATE_EPOCH", "1716000000", 1); /* 2024-05-18T02:40:00Z */
    assert_int_equal(cp_dolma_added("", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "2024-05-18T00:00:00.000Z");
    setenv("SOURCE_DATE_EPOCH", "soon", 1);
    assert_int_equal(cp_dolma_added("", out, sizeof out, err, sizeof err), -1);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_int_equal(cp_dolma_added(NULL, out, sizeof out, err, sizeof err), 0);
    assert_int_equal(strlen(out), 24); /* today, at day resolution */
    assert_string_equal(out + 10, "T00:00:00.000Z");
}

#define EN1 "The committee said on Tuesday that the new bridge over the river will open to traffic next spring, after years of delays and rising costs."
#define NL1 "De gemeenteraad heeft dinsdag besloten dat de nieuwe brug over de rivier volgend voorjaar open gaat voor het verkeer, na jaren van vertraging."

/* The dolma schema: id, text, source, added strings; created a string when present; metadata an object with
 * lang (string) and lang_score (number); nothing else at the top. */
static void check_schema(json_t *rec)
{
    static const char *const str_keys[] = {"id", "text", "source", "added"};
    for (size_t i = 0; i < 4; i++)
        if (!json_is_string(json_object_get(rec, str_keys[i])))
            fail_msg("\"%s\" missing or not a string", str_keys[i]);
    json_t *c = json_object_get(rec, "created");
    assert_true(!c || json_is_string(c));
    json_t *m = json_object_get(rec, "metadata");
    assert_true(json_is_object(m));
    assert_true(json_is_string(json_object_get(m, "lang")));
    assert_true(json_is_number(json_object_get(m, "lang_score")));
    const char *k;
    json_t *v;
    json_object_foreach(rec, k, v) {
        static const char *const allowed[] = {"id", "text", "source", "added", "created", "metadata", NULL};
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, k);
        if (!ok)
            fail_msg("unexpected top-level key \"%s\"", k);
    }
}

static json_t *by_id(json_t *recs, const char *id)
{
    for (size_t i = 0; i < json_array_size(recs); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(recs, i), "id")), id))
            return json_array_get(recs, i);
    fail_msg("no record with id %s", id);
    return NULL;
}

static void test_dolma_output(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    const char *in = P(dir, "news.jsonl");
    const char *data =
        "{\"id\":\"a1\",\"url\":\"http://x.org/1\",\"maintext\":\"" EN1 "\",\"date\":\"2023-02-01\",\"score\":1.50,"
        "\"tags\":[\"x\"],\"lang\":\"zz\"}\n"
        "{\"id\":7,\"text\":\"" NL1 "\",\"source\":\"theirs\",\"nested\":{\"a\":[1,2]}}\n"
        "{\"text\":\"" EN1 "\"}\n"
        "not json\n";
    write_file(in, data, strlen(data), 1);
    const char *o1 = P(dir, "o1"), *o2 = P(dir, "o2");
    const char *a1[] = {"-q", "-c", "none", "-t", "1", "--keep-rejected", "--format", "dolma", "--added",
                        "2024-03-01T00:00:00.000Z", "-o", o1, in, NULL};
    const char *a2[] = {"-q", "-c", "none", "-t", "2", "--keep-rejected", "--format", "dolma", "--added",
                        "2024-03-01T00:00:00.000Z", "-o", o2, in, NULL};
    assert_int_equal(run_cli(a1, NULL, NULL), 0);
    assert_int_equal(run_cli(a2, NULL, NULL), 0);
    size_t l1, l2;
    char *s1 = read_all_shards(o1, &l1), *s2 = read_all_shards(o2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);

    json_t *kept = read_records(o1, 1);
    assert_int_equal(json_array_size(kept), 2);
    for (size_t i = 0; i < json_array_size(kept); i++)
        check_schema(json_array_get(kept, i));
    json_t *a = by_id(kept, "a1");
    assert_string_equal(json_string_value(json_object_get(a, "text")), EN1);
    assert_string_equal(json_string_value(json_object_get(a, "source")), "news.jsonl");
    assert_string_equal(json_string_value(json_object_get(a, "added")), "2024-03-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(a, "created")), "2023-02-01");
    json_t *m = json_object_get(a, "metadata");
    assert_string_equal(json_string_value(json_object_get(m, "url")), "http://x.org/1");
    assert_string_equal(json_string_value(json_object_get(m, "lang")), "en"); /* ours, not the input's "zz" */
    assert_true(json_is_array(json_object_get(m, "tags")));
    assert_null(json_object_get(m, "maintext"));
    assert_null(json_object_get(m, "id"));
    assert_int_equal(json_object_size(m), 6); /* url, date, score, tags, lang, lang_score */
    json_t *b = by_id(kept, "7"); /* an integer id becomes its decimal string */
    assert_null(json_object_get(b, "created"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "metadata"), "source")), "theirs");
    assert_true(json_is_object(json_object_get(json_object_get(b, "metadata"), "nested")));
    json_decref(kept);
    /* the score is written as in the input */
    s1 = read_all_shards(o1, &l1);
    assert_non_null(strstr(s1, "\"score\":1.50,"));
    free(s1);

    /* rejected records keep today's format */
    json_t *rej = read_records(P(o1, "rejected"), 0);
    assert_int_equal(json_array_size(rej), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rej, 0), "reject_reason")), "dup_exact");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rej, 0), "dup_of")), "a1");
    assert_null(json_object_get(json_array_get(rej, 0), "metadata"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rej, 1), "reject_reason")), "parse_error");
    json_decref(rej);

    /* --source, SOURCE_DATE_EPOCH, --split-by lang */
    const char *o3 = P(dir, "o3");
    setenv("SOURCE_DATE_EPOCH", "1716000000", 1);
    const char *a3[] = {"-q", "-c", "none", "--format", "dolma", "--source", "cc-news", "--split-by", "lang",
                        "-o", o3, in, NULL};
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_int_equal(count_files(P(o3, "en"), ".jsonl.gz"), 1);
    assert_int_equal(count_files(P(o3, "nl"), ".jsonl.gz"), 1);
    kept = read_records(o3, 1);
    assert_int_equal(json_array_size(kept), 2);
    for (size_t i = 0; i < json_array_size(kept); i++) {
        json_t *r = json_array_get(kept, i);
        check_schema(r);
        assert_string_equal(json_string_value(json_object_get(r, "source")), "cc-news");
        assert_string_equal(json_string_value(json_object_get(r, "added")), "2024-05-18T00:00:00.000Z");
    }
    json_decref(kept);

    /* a bad --added or --format is a usage error */
    const char *o4 = P(dir, "o4");
    const char *a4[] = {"-q", "--format", "dolma", "--added", "May 2024", "-o", o4, in, NULL};
    assert_int_equal(run_cli(a4, NULL, NULL), 2);
    const char *a5[] = {"-q", "--format", "parquet", "-o", o4, in, NULL};
    assert_int_equal(run_cli(a5, NULL, NULL), 2);
    setenv("SOURCE_DATE_EPOCH", "soon", 1); /* refused by a dolma run, ignored by a jsonl run */
    const char *a6[] = {"-q", "--format", "dolma", "-o", o4, in, NULL};
    assert_int_equal(run_cli(a6, NULL, NULL), 2);
    const char *a7[] = {"-q", "-o", o4, in, NULL};
    assert_int_equal(run_cli(a7, NULL, NULL), 0);
    unsetenv("SOURCE_DATE_EPOCH");
}

/* WARC input: created is WARC-Date, url under metadata. */
static void test_dolma_from_wet(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    const char *in = P(sh, "data/commoncrawl/whirlwind.warc.wet.gz"), *out = P(dir, "o");
    const char *args[] = {"-q", "-c", "none", "--format", "dolma", "-o", out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *kept = read_records(out, 1);
    assert_int_equal(json_array_size(kept), 1);
    json_t *r = json_array_get(kept, 0);
    check_schema(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "<urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d>");
    assert_string_equal(json_string_value(json_object_get(r, "source")), "whirlwind.warc.wet.gz");
    assert_string_equal(json_string_value(json_object_get(r, "created")), "2024-05-18T01:58:10Z");
    json_t *m = json_object_get(r, "metadata");
    assert_string_equal(json_string_value(json_object_get(m, "url")), "https://an.wikipedia.org/wiki/Escopete");
    assert_string_equal(json_string_value(json_object_get(m, "cc_lang")), "spa");
    json_decref(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_added, cli_fx_setup, teardown),
        cmocka_unit_test_setup_teardown(test_dolma_output, cli_fx_setup, teardown),
        cmocka_unit_test_setup_teardown(test_dolma_from_wet, cli_fx_setup, teardown),
    };
    return cmocka_run_group_tests_name("dolma", tests, NULL, NULL);
}
