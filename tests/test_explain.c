/* End-to-end tests of --explain (issue 12): the seed page's lines each carry the rule that removed them or
 * "kept"; on DCLM's human-labelled pages every explained document's failing filter is its reject_reason; and
 * explaining changes no output byte, whatever the thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"

/* OUTDIR/explain.jsonl as an array */
static json_t *read_explain(const char *out)
{
    char *p = path_join(out, "explain.jsonl");
    FILE *fp = fopen(p, "r");
    free(p);
    assert_non_null(fp);
    json_t *a = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_error_t e;
        json_t *r = json_loads(line, 0, &e);
        if (!r)
            fail_msg("explain.jsonl: %s", e.text);
        json_array_append_new(a, r);
    }
    free(line);
    fclose(fp);
    return a;
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The seed page after an earlier page of the same site that repeats its footer and the mirror's blurb (as in
 * test_cli's seed case): every line of the seed's boilerplate is labelled with its rule, every article line
 * is kept, and the glued "Lees verder" markers are named where they were cut. */
static void test_seed_page_explained(void **state)
{
    cli_fx *f = *state;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "python3 tests/report/seed_jsonl.py %s/seed/news-nl-reuters-mirror.txt %s/seed.jsonl", sh,
             f->in);
    assert_int_equal(system(cmd), 0);
    const char *out = P(f->dir, "out");
    const char *args[] = {"-q", "--explain", "id:seed", "-o", out, P(f->in, "seed.jsonl"), NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *all = read_explain(out);
    assert_int_equal(json_array_size(all), 1);
    json_t *r = json_array_get(all, 0);
    assert_string_equal(sget(r, "id"), "seed");
    assert_string_equal(sget(r, "decision"), "kept");
    assert_non_null(strstr(sget(r, "source"), "seed.jsonl:2"));
    static const struct {
        const char *start, *fate;
    } want[] = {
        {"De Amerikaanse minister", "boilerplate:caption"},
        {"Meld u nu aan", "doc_repeat_line"},
        {"Registratie", "doc_repeat_line"},
        {"MOSKOU, 8 januari", "kept"},
        {"Op vrijdag betwistte", "kept"},
        {"\xE2\x80\x9C" "Een les uit", "kept"},
        {"Het Russische ministerie", "kept"},
        {"\xE2\x80\x9C" "Als Anthony Blingen", "kept"},
        {"\xE2\x80\x9C" "Het is niet alleen", "kept"},
        {"Het ministerie zei", "kept"},
        {"De Kazachse interventie", "kept"},
        {"Moskou heeft een groot", "kept"},
        {"Verslag door", "boilerplate:banner"},
        {"Onze normen", "line_dedup:first"},
        {"\xE2\x80\x9C" "Internetverslaving", "line_dedup:first"},
        {"More Stories", "boilerplate:tail"},
        {"Poetin beloofde", "boilerplate:tail"},
        {"Rusland valt Kramatorsk", "boilerplate:tail"},
        {"Australi\xC3\xAB haalt", "boilerplate:tail"},
    };
    json_t *lines = json_object_get(r, "lines");
    size_t n = json_array_size(lines), markers = 0;
    assert_int_equal(n, 23); /* the page's 23 lines, each once, in order */
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(lines, i);
        const char *text = sget(l, "text"), *fate = sget(l, "fate");
        assert_int_equal(json_integer_value(json_object_get(l, "n")), (json_int_t)i + 1);
        int found = 0;
        for (size_t k = 0; k < sizeof want / sizeof *want; k++)
            if (!strncmp(text, want[k].start, strlen(want[k].start))) {
                found = 1;
                if (strcmp(fate, want[k].fate))
                    fail_msg("line %zu \"%.40s\": %s, expected %s", i + 1, text, fate, want[k].fate);
            }
        if (!found)
            fail_msg("line %zu not expected: %s", i + 1, text);
        if (sget(l, "edited_by")) {
            markers++;
            assert_string_equal(sget(l, "edited_by"), "boilerplate:marker");
            assert_string_equal(sget(l, "removed"), " Lees verder");
        }
    }
    assert_int_equal(markers, 2);
    /* the language and the filters, every one measured and passed */
    json_t *lang = json_object_get(r, "lang");
    assert_string_equal(sget(lang, "code"), "nl");
    assert_string_equal(sget(json_array_get(json_object_get(lang, "candidates"), 0), "code"), "nl");
    assert_true(json_integer_value(json_object_get(lang, "sample_bytes")) > 400);
    json_t *flt = json_object_get(r, "filters");
    assert_true(json_array_size(flt) >= 20);
    for (size_t i = 0; i < json_array_size(flt); i++)
        assert_true(json_is_true(json_object_get(json_array_get(flt, i), "pass")));
    json_decref(all);
}

/* rejected records by id: id -> reject_reason */
static json_t *reasons_by_id(const char *out)
{
    json_t *recs = read_records(out, 0), *m = json_object();
    for (size_t i = 0; i < json_array_size(recs); i++) {
        json_t *r = json_array_get(recs, i);
        const char *id = sget(r, "id");
        if (id)
            json_object_set_new(m, id, json_string(sget(r, "reject_reason") ? sget(r, "reject_reason") : "kept"));
    }
    json_decref(recs);
    return m;
}

/* DCLM's labelled pages, every one explained (499 < 600): the first failing filter of each record is the
 * reason the normal path gave, every filter of a kept page passes, and the decision is what the shards say. */
static void test_dclm_filters_agree(void **state)
{
    cli_fx *f = *state;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    const char *out = P(f->dir, "out");
    const char *in = P(sh, "data/dclm-web-en.jsonl.gz");
    const char *args[] = {"-q", "--keep-rejected", "--explain", "600", "-o", out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *ex = read_explain(out), *shards = reasons_by_id(out), *st = read_stats(out);
    assert_int_equal(json_array_size(ex), json_integer_value(json_object_get(st, "docs_in")));
    size_t filtered = 0, failing = 0;
    for (size_t i = 0; i < json_array_size(ex); i++) {
        json_t *r = json_array_get(ex, i);
        const char *id = sget(r, "id"), *decision = sget(r, "decision");
        assert_non_null(id);
        if (!sget(shards, id) || strcmp(sget(shards, id), decision))
            fail_msg("%s: explained as %s, the shards say %s", id, decision, sget(shards, id));
        json_t *flt = json_object_get(r, "filters");
        if (!flt)
            continue;
        filtered++;
        const char *first = NULL;
        for (size_t k = 0; k < json_array_size(flt); k++) {
            json_t *c = json_array_get(flt, k);
            assert_non_null(sget(c, "rule"));
            assert_true(json_is_number(json_object_get(c, "value")));
            assert_true(json_is_number(json_object_get(c, "min")) || json_is_number(json_object_get(c, "max")));
            if (!first && json_is_false(json_object_get(c, "pass")))
                first = sget(c, "rule");
        }
        if (first)
            failing++;
        const char *fd = sget(r, "filter_decision");
        if (!strcmp(decision, "kept")) {
            if (first)
                fail_msg("%s: kept, but %s failed", id, first);
        } else if (strncmp(decision, "lang:", 5)) {
            if (!first || strcmp(first, decision) || !fd || strcmp(fd, decision))
                fail_msg("%s: rejected as %s, first failing filter %s", id, decision, first ? first : "none");
        }
    }
    assert_true(filtered > 300);
    assert_true(failing > 50); /* label-0 pages fail filters: the test has something to check */
    json_decref(ex);
    json_decref(shards);
    json_decref(st);
}

/* Explaining changes no byte of the output, and picks the same documents for -t 1 and -t 2. */
static void test_explain_changes_nothing(void **state)
{
    cli_fx *f = *state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 bench/make_sample.py %s/sample > /dev/null", f->dir);
    assert_int_equal(system(cmd), 0);
    const char *in = P(f->dir, "sample");
    const char *plain = P(f->dir, "plain"), *ex1 = P(f->dir, "ex1"), *ex2 = P(f->dir, "ex2");
    const char *a0[] = {"-q", "--keep-rejected", "-t", "2", "-o", plain, in, NULL};
    const char *a1[] = {"-q", "--keep-rejected", "-t", "1", "--explain", "60", "-o", ex1, in, NULL};
    const char *a2[] = {"-q", "--keep-rejected", "-t", "2", "--explain", "60", "-o", ex2, in, NULL};
    assert_int_equal(run_cli(a0, NULL, NULL), 0);
    assert_int_equal(run_cli(a1, NULL, NULL), 0);
    assert_int_equal(run_cli(a2, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && for f in $(find . -name 'part-*' | sort); do cmp \"$f\" \"../ex1/$f\" && cmp \"$f\" \"../ex2/$f\" "
             "|| exit 1; done; test \"$(find . -name 'part-*' | wc -l)\" -ge 2 && cmp ../ex1/explain.jsonl ../ex2/explain.jsonl",
             plain);
    assert_int_equal(system(cmd), 0);
    json_t *ex = read_explain(ex1), *shards = reasons_by_id(plain);
    assert_int_equal(json_array_size(ex), 60);
    size_t rejected = 0;
    for (size_t i = 0; i < json_array_size(ex); i++) {
        json_t *r = json_array_get(ex, i);
        const char *id = sget(r, "id"), *decision = sget(r, "decision");
        if (id && sget(shards, id))
            assert_string_equal(sget(shards, id), decision);
        rejected += strcmp(decision, "kept") != 0;
        if (!strncmp(decision, "dup_", 4) && strcmp(decision, "dup_lines"))
            assert_non_null(sget(r, "dup_of"));
    }
    assert_true(rejected > 0);
    json_decref(ex);
    json_decref(shards);
    /* line:FILE:LINE picks that one document, named as the run names its file */
    const char *ex3 = P(f->dir, "ex3"), *file = P(in, "crawl-02.jsonl");
    const char *a3[] = {"-q", "--explain", "", "-o", ex3, in, NULL};
    char spec[4200];
    snprintf(spec, sizeof spec, "line:%s:7", file);
    a3[2] = spec;
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    ex = read_explain(ex3);
    assert_int_equal(json_array_size(ex), 1);
    snprintf(spec, sizeof spec, "%s:7", file);
    assert_string_equal(sget(json_array_get(ex, 0), "source"), spec);
    json_decref(ex);
    /* a line that is not JSON: its decision and the parser's message, no lines */
    const char *ex4 = P(f->dir, "ex4");
    snprintf(spec, sizeof spec, "line:%s:119", P(in, "crawl-00.jsonl.gz"));
    a3[2] = spec;
    a3[4] = ex4;
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    ex = read_explain(ex4);
    assert_int_equal(json_array_size(ex), 1);
    assert_string_equal(sget(json_array_get(ex, 0), "decision"), "parse_error");
    assert_non_null(sget(json_array_get(ex, 0), "error"));
    assert_int_equal(json_array_size(json_object_get(json_array_get(ex, 0), "lines")), 0);
    json_decref(ex);
    /* a bad SPEC is a usage error */
    char *err = NULL;
    const char *bad[] = {"--explain", "line:nowhere", "-o", P(f->dir, "bad"), in, NULL};
    assert_int_equal(run_cli(bad, NULL, &err), 2);
    assert_non_null(strstr(err, "--explain needs"));
    free(err);
}

/* Many small batches through the default preset (line dedup, near-dup, filters), with the report and
 * --explain on: two batches are in work at once (pipeline.c), and whatever the thread count the shards,
 * explain.jsonl, report-examples.json and stats.json (timing aside) are the same bytes. */
static void test_small_batches_any_threads(void **state)
{
    cli_fx *f = *state;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 bench/make_sample.py %s/sample > /dev/null && "
             "echo '{\"input\": {\"batch_bytes\": \"16K\"}}' > %s/small.json",
             f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    const char *in = P(f->dir, "sample"), *cfg = P(f->dir, "small.json");
    static const char *const threads[] = {"1", "2", "3"}, *const outs[] = {"s1", "s2", "s3"};
    for (int k = 0; k < 3; k++) {
        const char *a[] = {"-q", "-c", cfg, "--keep-rejected", "--explain", "40", "-t", threads[k],
                           "-o", P(f->dir, outs[k]), in, NULL};
        assert_int_equal(run_cli(a, NULL, NULL), 0);
    }
    /* stats.json without the keys that time the run, and the thread count asked for */
    const char *strip = "python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); "
                        "[s.pop(k, None) for k in (\"cpu_seconds\",\"wall_seconds\",\"docs_per_s\",\"mb_per_s\","
                        "\"mb_per_cpu_s\",\"peak_rss_mb\",\"stage_cpu_seconds\",\"throughput\",\"threads\","
                        "\"run_info\")]; s[\"config\"][\"run\"].pop(\"threads\"); print(json.dumps(s, sort_keys=True))'";
    snprintf(cmd, sizeof cmd,
             "cd %s && test \"$(find s1 -name 'part-*' | wc -l)\" -ge 2 && "
             "test \"$(wc -l < s1/explain.jsonl)\" -eq 40 && "
             "for o in s2 s3; do "
             "  (cd s1 && find . -name 'part-*' | sort) > l1 && (cd $o && find . -name 'part-*' | sort) > l2 && "
             "  cmp -s l1 l2 || exit 1; "
             "  for x in $(cat l1); do cmp -s s1/$x $o/$x || exit 1; done; "
             "  cmp -s s1/explain.jsonl $o/explain.jsonl && cmp -s s1/report-examples.json $o/report-examples.json "
             "  || exit 1; "
             "  %s s1/stats.json > j1 && %s $o/stats.json > j2 && cmp -s j1 j2 || exit 1; "
             "done",
             f->dir, strip, strip);
    assert_int_equal(system(cmd), 0);
    json_t *st = json_load_file(P(f->dir, "s1/stats.json"), 0, NULL);
    assert_non_null(st);
    /* the sample is many batches, and line dedup and the filters had work to do */
    assert_true(json_integer_value(json_object_get(st, "bytes_in_uncompressed")) > 20 * 16384);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_page_explained, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_dclm_filters_agree, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_explain_changes_nothing, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_small_batches_any_threads, cli_fx_setup, cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
