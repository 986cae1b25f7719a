/* Tests for the run report's parts: fixed-bucket histograms (buckets, merging, JSON both ways), the example
 * picks (lowest id hash per reason, the same whether collected at once or in parts and merged, as ranks do),
 * the HTML (every chart present, text escaped, nothing loaded from elsewhere), --explain's SPEC parsing, and
 * the progress line's log form. The rendering of real runs in Chromium is tests/report/check_html.py's job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli_util.h"
#include "corpusprep/explain.h"
#include "corpusprep/histogram.h"
#include "corpusprep/progress.h"
#include "corpusprep/report.h"
#include "corpusprep/util.h"

static void log_buckets(void **state)
{
    (void)state;
    /* lower bounds: 0 1 2 3, then 4 5 6 7, 8 10 12 14, 16 20 24 28, ... */
    static const double lo[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32};
    for (int i = 0; i < (int)(sizeof lo / sizeof *lo); i++)
        assert_true(cp_hist_bucket_lo(CP_HIST_LOG, i) == lo[i]);
    for (int i = 1; i < CP_HIST_BUCKETS; i++)
        assert_true(cp_hist_bucket_lo(CP_HIST_LOG, i) > cp_hist_bucket_lo(CP_HIST_LOG, i - 1));
    cp_hist h;
    cp_hist_init(&h, CP_HIST_LOG);
    double values[] = {0, 0.5, -3, 1, 9, 10, 11, 1023, 1024, 1279, 1280, 1e30};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        cp_hist_add(&h, values[i]);
    assert_int_equal(h.n[0], 3);  /* 0, 0.5, -3 */
    assert_int_equal(h.n[1], 1);
    assert_int_equal(h.n[8], 1);  /* 9 in [8, 10) */
    assert_int_equal(h.n[9], 2);  /* 10, 11 in [10, 12) */
    /* 1024 starts a bucket, 1279 ends it, 1280 starts the next */
    int b1024 = -1;
    for (int i = 0; i < CP_HIST_BUCKETS; i++)
        if (cp_hist_bucket_lo(CP_HIST_LOG, i) == 1024)
            b1024 = i;
    assert_true(b1024 > 0);
    assert_int_equal(h.n[b1024], 2);
    assert_int_equal(h.n[b1024 + 1], 1);
    assert_int_equal(h.n[b1024 - 1], 1); /* 1023 */
    assert_int_equal(h.n[CP_HIST_BUCKETS - 1], 1); /* huge values land in the last bucket */
}

static void frac_and_json(void **state)
{
    (void)state;
    cp_hist a, b, c;
    cp_hist_init(&a, CP_HIST_FRAC);
    cp_hist_init(&b, CP_HIST_FRAC);
    cp_hist_add(&a, 0);
    cp_hist_add(&a, 0.049);
    cp_hist_add(&a, 0.05);
    cp_hist_add(&b, 1.0);
    cp_hist_add(&b, 7); /* clamped */
    cp_hist_add(&b, -1);
    assert_int_equal(a.n[0], 2);
    assert_int_equal(a.n[1], 1);
    assert_int_equal(b.n[19], 2);
    cp_hist_merge(&a, &b);
    assert_int_equal(a.n[0], 3);
    json_t *j = cp_hist_to_json(&a);
    assert_string_equal(json_string_value(json_object_get(j, "scale")), "linear/20");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 6);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "buckets"), "0.95")), 2);
    assert_null(json_object_get(json_object_get(j, "buckets"), "0.50")); /* only non-empty buckets */
    assert_int_equal(cp_hist_from_json(&c, j), 0);
    assert_memory_equal(&a, &c, sizeof a);
    json_decref(j);

    cp_hist_init(&a, CP_HIST_LOG);
    for (int v = 0; v < 5000; v += 7)
        cp_hist_add(&a, v);
    j = cp_hist_to_json(&a);
    assert_int_equal(cp_hist_from_json(&c, j), 0);
    assert_memory_equal(&a, &c, sizeof a);
    json_decref(j);
    /* not a histogram, or a key that is no bucket bound */
    j = json_pack("{sss{sI}}", "scale", "log2/4", "buckets", "9", (json_int_t)3);
    assert_int_equal(cp_hist_from_json(&c, j), -1);
    json_decref(j);
    j = json_pack("{sss{}}", "scale", "cubic", "buckets");
    assert_int_equal(cp_hist_from_json(&c, j), -1);
    json_decref(j);
}

/* documents d0..dn with ids "doc-<i>", rejected in turns by two reasons, every third kept */
static void feed(cp_report *r, int from, int to, char **ids)
{
    for (int i = from; i < to; i++) {
        cp_doc d;
        memset(&d, 0, sizeof d);
        d.id = ids[i];
        d.id_len = strlen(ids[i]);
        d.id_hash = (uint64_t)(i * 2654435761u) * 0x9E3779B97F4A7C15ull; /* a spread of hashes */
        d.line = (uint64_t)i + 1;
        char text[64];
        int n = snprintf(text, sizeof text, "text of <b>%d</b> & more", i);
        d.text = text;
        d.text_len = (size_t)n;
        d.text_in_len = d.norm_len = d.clean_len = (size_t)n;
        d.has_lang = 1;
        snprintf(d.lang.code, sizeof d.lang.code, "en");
        d.lang.score = 0.9;
        d.reject = i % 3 == 0 ? NULL : i % 3 == 1 ? "dup_exact" : "gopher_quality:word_count";
        cp_xdoc *x = NULL;
        if (!d.reject) {
            x = cp_xdoc_create(0, "kept line.\nRead more", 20);
            x->fates = calloc(2, sizeof *x->fates);
            x->nfates = x->cap_fates = 2;
            x->fates[0] = (cp_clean_fate){0, 10, -1, 0, -1, 10, 0};
            x->fates[1] = (cp_clean_fate){11, 9, CP_CLEAN_BP_MARKER, 0, -1, 0, 0};
            d.trace = x;
        }
        cp_report_add(r, &d, (uint64_t)i, i < 50 ? "a.jsonl" : "b.jsonl", NULL, 0, "line_dedup:first");
        cp_xdoc_free(x);
    }
}

static void examples_merge_like_ranks(void **state)
{
    (void)state;
    char *ids[100];
    for (int i = 0; i < 100; i++) {
        ids[i] = malloc(16);
        snprintf(ids[i], 16, "doc-%d", i);
    }
    cp_report *all = cp_report_create(), *p1 = cp_report_create(), *p2 = cp_report_create();
    feed(all, 0, 100, ids);
    feed(p1, 0, 37, ids);
    feed(p2, 37, 100, ids);
    json_t *ea = cp_report_examples_json(all), *e1 = cp_report_examples_json(p1), *e2 = cp_report_examples_json(p2);
    cp_report_merge_examples(e1, e2);
    assert_true(json_equal(ea, e1));
    /* three per reason, in hash order */
    json_t *l = json_object_get(json_object_get(ea, "rejected"), "dup_exact");
    assert_int_equal(json_array_size(l), 3);
    for (size_t i = 1; i < json_array_size(l); i++)
        assert_true(strcmp(json_string_value(json_object_get(json_array_get(l, i - 1), "hash")),
                           json_string_value(json_object_get(json_array_get(l, i), "hash"))) < 0);
    assert_int_equal(json_array_size(json_object_get(ea, "kept")), 4);
    /* the figures sum: two halves give the whole */
    json_t *sa = cp_report_stats_json(all), *s1 = cp_report_stats_json(p1), *s2 = cp_report_stats_json(p2);
    json_t *fa = json_object_get(json_object_get(sa, "funnel"), "9_filters");
    assert_int_equal(json_integer_value(json_object_get(fa, "docs")), 34); /* 0, 3, ..., 99 */
    json_t *pf = json_object_get(sa, "per_file");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pf, "a.jsonl"), "docs")), 50);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pf, "b.jsonl"), "kept")), 17);
    json_t *ha = json_object_get(json_object_get(sa, "histograms"), "lang_score");
    json_t *h1 = json_object_get(json_object_get(s1, "histograms"), "lang_score");
    json_t *h2 = json_object_get(json_object_get(s2, "histograms"), "lang_score");
    assert_int_equal(json_integer_value(json_object_get(ha, "count")),
                     json_integer_value(json_object_get(h1, "count")) + json_integer_value(json_object_get(h2, "count")));

    /* the page: every chart, escaped text, the kept example's lines with their fates */
    json_t *stats = json_object();
    json_object_update(stats, sa);
    json_object_set_new(stats, "docs_rejected", json_pack("{sisi}", "dup_exact", 33, "gopher_quality:word_count", 33));
    json_object_set_new(stats, "config", json_pack("{s{sb}}", "clean", "enabled", 1));
    cp_buf html = {0};
    cp_report_html(stats, ea, &html);
    static const char *const charts[] = {"chart-funnel", "chart-reasons", "chart-rules", "chart-langs",
                                         "chart-len-before", "chart-len-after", "chart-removed", "chart-lines",
                                         "chart-lang-score", "chart-near-clusters", "chart-throughput",
                                         "chart-stages"};
    for (size_t i = 0; i < sizeof charts / sizeof *charts; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", charts[i]);
        if (!strstr(html.data, id))
            fail_msg("missing %s", charts[i]);
    }
    assert_non_null(strstr(html.data, "text of &lt;b&gt;"));
    assert_null(strstr(html.data, "<b>"));
    assert_non_null(strstr(html.data, "<li class=\"kept\">kept line.</li>"));
    assert_non_null(strstr(html.data, "<del>Read more</del> <span class=\"rule\">boilerplate:marker</span>"));
    assert_null(strstr(html.data, "<script"));
    assert_null(strstr(html.data, "http://"));
    assert_null(strstr(html.data, "https://"));
    cp_buf_free(&html);
    json_decref(stats);
    /* an empty run (or a stats.json without the report's figures) still gives every chart, saying so */
    stats = json_object();
    cp_report_html(stats, NULL, &html);
    for (size_t i = 0; i < sizeof charts / sizeof *charts; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"%s\"", charts[i]);
        assert_non_null(strstr(html.data, id));
    }
    assert_non_null(strstr(html.data, "no report-examples.json"));
    assert_null(strstr(html.data, "<tbody>\n</tbody>"));
    cp_buf_free(&html);
    json_decref(stats);
    json_decref(sa);
    json_decref(s1);
    json_decref(s2);
    json_decref(ea);
    json_decref(e1);
    json_decref(e2);
    cp_report_destroy(all);
    cp_report_destroy(p1);
    cp_report_destroy(p2);
    for (int i = 0; i < 100; i++)
        free(ids[i]);
}

static void explain_specs(void **state)
{
    (void)state;
    char err[256];
    cp_explain *e = cp_explain_create("3", err, sizeof err);
    assert_non_null(e);
    assert_true(cp_explain_wants(e, "x", "f", 1, UINT64_MAX)); /* fewer than N so far: everyone */
    cp_explain_destroy(e);
    e = cp_explain_create("id:a,b,,c", err, sizeof err);
    assert_non_null(e);
    assert_true(cp_explain_wants(e, "b", "f", 9, 1));
    assert_true(cp_explain_wants(e, "c", "f", 9, 1));
    assert_false(cp_explain_wants(e, "d", "f", 9, 1));
    assert_false(cp_explain_wants(e, NULL, "f", 9, 1));
    assert_true(cp_explain_wants_limited(e, "a", 1, "f", 9, 1, 0));
    assert_false(cp_explain_wants_limited(e, "a\0b", 3, "f", 9, 1, 0)); /* an id holding "\u0000" is not "a" */
    cp_explain_destroy(e);
    e = cp_explain_create("line:dir/a:b.jsonl:12", err, sizeof err); /* the last colon splits */
    assert_non_null(e);
    assert_true(cp_explain_wants(e, "x", "dir/a:b.jsonl", 12, 5));
    assert_false(cp_explain_wants(e, "x", "dir/a:b.jsonl", 13, 5));
    assert_false(cp_explain_wants(e, "x", "a.jsonl", 12, 5));
    cp_explain_destroy(e);
    static const char *const bad[] = {"0", "-2", "x", "", "id:", "line:f", "line:f:", "line::3", "line:f:0", "2k"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        if (cp_explain_create(bad[i], err, sizeof err))
            fail_msg("accepted --explain '%s'", bad[i]);
        assert_non_null(strstr(err, "--explain"));
    }
}

static void progress_log_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/cp-test-progress-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    double start = cp_now() - 10; /* ten seconds into the run */
    cp_progress *p = cp_progress_create(0.001, 100000000, start);
    usleep(3000);
    cp_progress_update(p, 25000000, 60000000, 1234);
    cp_progress_finish(p, 25000000, 60000000, 1234);
    cp_progress_destroy(p);
    p = cp_progress_create(-1, 100000000, start); /* off */
    usleep(3000);
    cp_progress_update(p, 50000000, 60000000, 1234);
    cp_progress_destroy(p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1024] = {0};
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    close(fd);
    unlink(path);
    buf[n] = 0;
    /* one plain line (no carriage return): 25 of 100 MB, 1234 docs, ~6 MB/s, the rest at that pace */
    assert_non_null(strstr(buf, "corpusprep: progress 10 s: 25.0 of 100.0 MB read (25.0 %), 1234 docs, 6.0 MB/s, ETA 30 s\n"));
    assert_null(strchr(buf, '\r'));
    assert_null(strstr(buf, "50.0 of"));
}

/* The demo corpus (make demo's sample): report.html as Chromium renders it, rebuilt byte for byte by
 * `corpusprep report`, absent with --no-report; --force clears a previous run's report files. */
static void demo_report(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 bench/make_sample.py %s/sample > /dev/null", dir);
    assert_int_equal(system(cmd), 0);
    const char *out = P(dir, "out"), *in = P(dir, "sample");
    const char *args[] = {"-q", "--keep-rejected", "-o", out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(out);
    json_t *h = json_object_get(st, "histograms");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(h, "text_bytes_kept"), "count")),
                     json_integer_value(json_object_get(st, "docs_kept")));
    json_t *fu = json_object_get(st, "funnel");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fu, "1_input"), "docs")),
                     json_integer_value(json_object_get(st, "docs_in")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fu, "9_filters"), "docs")),
                     json_integer_value(json_object_get(st, "docs_kept")));
    assert_null(json_object_get(st, "report_examples")); /* in its own file */
    json_decref(st);
    int rc = check_report_html(out, "demo");
    if (rc != 77)
        assert_int_equal(rc, 0);

    /* rebuilt from stats.json and report-examples.json: the same bytes */
    size_t n1, n2;
    char *h1 = read_file(P(out, "report.html"), &n1);
    assert_non_null(h1);
    assert_int_equal(unlink(P(out, "report.html")), 0);
    snprintf(cmd, sizeof cmd, "%s report %s", getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep", out);
    assert_int_equal(system(cmd), 0);
    char *h2 = read_file(P(out, "report.html"), &n2);
    assert_non_null(h2);
    assert_int_equal(n1, n2);
    assert_memory_equal(h1, h2, n1);
    free(h1);
    free(h2);
    const char *missing[] = {"report", P(dir, "nowhere"), NULL};
    char *err = NULL;
    assert_int_equal(run_cli(missing, NULL, &err), 1);
    assert_non_null(strstr(err, "stats.json"));
    free(err);

    /* --no-report: none of it; --force over a run with a report removes the old report files */
    const char *off[] = {"-q", "--force", "--no-report", "-o", out, in, NULL};
    assert_int_equal(run_cli(off, NULL, NULL), 0);
    struct stat sb;
    assert_int_equal(stat(P(out, "report.html"), &sb), -1);
    assert_int_equal(stat(P(out, "report-examples.json"), &sb), -1);
    st = read_stats(out);
    assert_null(json_object_get(st, "histograms"));
    assert_true(json_integer_value(json_object_get(st, "docs_in")) > 1000);
    json_decref(st);
    rm_rf(dir);
    free(dir);
}

/* A file that ends early is named in the report's file table as not read to the end; the others are. */
static void file_read_errors(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir in && python3 -c \"import json; [print(json.dumps({'id': str(i), 'text': 'Line %%d of a "
             "document that is long enough to count.' %% i})) for i in range(20000)]\" | gzip -1 > full.gz && "
             "head -c 20000 full.gz > in/a.jsonl.gz && printf '{\\\"text\\\": \\\"x y z.\\\"}\\n' > in/b.jsonl",
             dir);
    assert_int_equal(system(cmd), 0);
    const char *out = P(dir, "out");
    const char *args[] = {"-q", "-o", out, P(dir, "in"), NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 1);
    json_t *st = read_stats(out), *pf = json_object_get(st, "per_file");
    json_t *a = json_object_get(pf, P(P(dir, "in"), "a.jsonl.gz")), *b = json_object_get(pf, P(P(dir, "in"), "b.jsonl"));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(a, "read_errors")), 1);
    assert_true(json_integer_value(json_object_get(a, "docs")) > 100);
    assert_int_equal(json_integer_value(json_object_get(b, "read_errors")), 0);
    assert_int_equal(json_integer_value(json_object_get(b, "docs")), 1);
    json_decref(st);
    size_t n;
    char *html = read_file(P(out, "report.html"), &n);
    assert_non_null(strstr(html, "a.jsonl.gz</code></td>"));
    assert_non_null(strstr(html, "<td><strong>no</strong></td></tr>"));
    assert_non_null(strstr(html, "<td>yes</td></tr>"));
    free(html);
    rm_rf(dir);
    free(dir);
}

/* Without a terminal, --progress-every S gives plain log lines; the default gives none in a short run. */
static void progress_in_a_pipe(void **state)
{
    (void)state;
    char *dir = tmp_dir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 bench/make_sample.py %s/sample > /dev/null && "
                              "echo '{\"input\": {\"batch_bytes\": \"64K\"}}' > %s/small.json", dir, dir);
    assert_int_equal(system(cmd), 0);
    char *err = NULL;
    const char *args[] = {"-q", "-c", P(dir, "small.json"), "--progress-every", "0.001", "-o", P(dir, "out"),
                          P(dir, "sample"), NULL};
    assert_int_equal(run_cli(args, NULL, &err), 0);
    assert_non_null(strstr(err, "corpusprep: progress "));
    assert_non_null(strstr(err, " MB read ("));
    assert_non_null(strstr(err, " docs, "));
    assert_non_null(strstr(err, " MB/s"));
    assert_null(strchr(err, '\r'));
    free(err);
    const char *quiet[] = {"-c", P(dir, "small.json"), "-o", P(dir, "out2"), P(dir, "sample"), NULL};
    assert_int_equal(run_cli(quiet, NULL, &err), 0);
    assert_null(strstr(err, "progress"));
    free(err);
    const char *bad[] = {"--progress-every", "soon", "-o", P(dir, "out3"), P(dir, "sample"), NULL};
    assert_int_equal(run_cli(bad, NULL, &err), 2);
    free(err);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_buckets), cmocka_unit_test(frac_and_json), cmocka_unit_test(examples_merge_like_ranks),
        cmocka_unit_test(explain_specs), cmocka_unit_test(progress_log_lines), cmocka_unit_test(demo_report),
        cmocka_unit_test(progress_in_a_pipe), cmocka_unit_test(file_read_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tmp_strings_free();
    return rc;
}
