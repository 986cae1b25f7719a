/* Tests for config: the built-in defaults, merging a file over them, validation (unknown settings, wrong
 * types and ranges, each named in the message), sizes, built-in presets, and where cp_config_read looks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/langid.h"
#include "corpusprep/filter.h"

static const char *root; /* the folder of the group's fixture (cli_fx) */

/* root/rel, freed by the teardown */
static const char *path(const char *rel) { return P(root, rel); }

/* path p gets content, as plain text */
static void put(const char *p, const char *content)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    int r = cli_fx_setup(state);
    root = ((cli_fx *)*state)->dir;
    return r;
}

static json_t *defaults(void)
{
    char err[512] = "";
    json_t *t = cp_config_defaults(err, sizeof err);
    if (!t)
        fail_msg("defaults: %s", err);
    return t;
}

/* The defaults with the JSON text merged over them (as a file), resolved; returns resolve's result. */
static int resolve_with(const char *json, cp_config *c, char *err, size_t errlen)
{
    json_t *t = defaults();
    const char *p = path("over.json");
    put(p, json);
    if (cp_config_merge_file(t, p, err, errlen)) {
        json_decref(t);
        return -2;
    }
    int rc = cp_config_resolve(t, c, err, errlen);
    if (rc == 0)
        cp_config_free(c);
    json_decref(t);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    json_t *t = defaults();
    cp_config c;
    char err[512] = "";
    assert_int_equal(cp_config_resolve(t, &c, err, sizeof err), 0);
    assert_ptr_equal(c.tree, t);
    assert_int_equal(c.n_text_fields, 4);
    assert_string_equal(c.text_fields[0], "text");
    assert_string_equal(c.text_fields[1], "maintext");
    assert_string_equal(c.text_fields[2], "content");
    assert_string_equal(c.text_fields[3], "body");
    assert_int_equal(c.max_line_bytes, 256u << 20);
    assert_int_equal(c.batch_bytes, 4u << 20);
    assert_int_equal(c.langid_sample_bytes, 512);
    assert_int_equal(c.langid_backend, CP_LANGID_CLD2);
    assert_null(c.langid_model);
    assert_int_equal(c.n_keep_langs, 0);
    assert_true(c.min_lang_score == 0.0);
    assert_int_equal(c.dedup_exact, 1);
    assert_int_equal(c.dedup_url, 0);
    assert_int_equal(c.dup_of, 1);
    assert_int_equal(c.compress, CP_COMPRESS_GZIP);
    assert_int_equal(c.level, 1);
    assert_int_equal(c.shard_bytes, 256u << 20);
    assert_int_equal(c.split_by_lang, 0);
    assert_int_equal(c.keep_rejected, 0);
    assert_int_equal(c.threads, 0);
    cp_config_free(&c);
    assert_null(c.text_fields);
    assert_int_equal(c.n_text_fields, 0);
    /* the default preset is merged in: its stage sections are there */
    assert_true(json_is_object(json_object_get(t, "clean")));
    assert_true(json_is_object(json_object_get(t, "filter")));
    json_decref(t);
}

static void test_merge(void **state)
{
    (void)state;
    json_t *t = defaults();
    char err[512] = "";
    const char *p = path("m.json");
    put(p, "{\"output\":{\"level\":5,\"compress\":\"zstd\"},\"input\":{\"text_fields\":[\"body\",\"x\"]},"
                  "\"clean\":{\"c4_lines\":{\"min_words\":7}}}");
    assert_int_equal(cp_config_merge_file(t, p, err, sizeof err), 0);
    cp_config c;
    assert_int_equal(cp_config_resolve(t, &c, err, sizeof err), 0);
    assert_int_equal(c.level, 5);
    assert_int_equal(c.compress, CP_COMPRESS_ZSTD);
    assert_int_equal(c.shard_bytes, 256u << 20);      /* same section, key not in the file: kept */
    assert_int_equal(c.n_text_fields, 2);             /* a list is replaced, not merged */
    assert_string_equal(c.text_fields[0], "body");
    assert_string_equal(c.text_fields[1], "x");
    assert_int_equal(c.max_line_bytes, 256u << 20);
    cp_config_free(&c);
    /* objects merge key by key at any depth */
    json_t *c4 = json_object_get(json_object_get(t, "clean"), "c4_lines");
    assert_int_equal(json_integer_value(json_object_get(c4, "min_words")), 7);
    assert_true(json_is_true(json_object_get(c4, "enabled")));
    /* a misspelt section is refused, not ignored */
    json_object_set_new(t, "ouptut", json_object());
    assert_int_equal(cp_config_resolve(t, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "ouptut"));
    json_object_del(t, "ouptut");

    /* a value replaced by an object of a different type, and back */
    put(p, "{\"clean\":{\"c4_lines\":false}}");
    assert_int_equal(cp_config_merge_file(t, p, err, sizeof err), 0);
    assert_true(json_is_false(json_object_get(json_object_get(t, "clean"), "c4_lines")));

    /* cp_config_set, for flags: over everything, creating the section when needed */
    cp_config_set(t, "output", "level", json_integer(9));
    cp_config_set(t, "run", "threads", json_integer(3));
    json_object_del(t, "dedup");
    cp_config_set(t, "dedup", "url", json_true());
    assert_int_equal(cp_config_resolve(t, &c, err, sizeof err), 0);
    assert_int_equal(c.level, 9);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.dedup_url, 1);
    assert_int_equal(c.dedup_exact, 1); /* the section is gone: built-in default */
    cp_config_free(&c);
    json_decref(t);
}

static void test_bad_files(void **state)
{
    (void)state;
    json_t *t = defaults();
    char err[512] = "";
    const char *p = path("bad.json");
    put(p, "{\"output\": {\"level\": 5,}}");
    assert_int_equal(cp_config_merge_file(t, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.json"));
    put(p, "[1]");
    err[0] = 0;
    assert_int_equal(cp_config_merge_file(t, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "object"));
    err[0] = 0;
    assert_int_equal(cp_config_merge_file(t, path("absent.json"), err, sizeof err), -1);
    assert_non_null(strstr(err, "absent.json"));
    err[0] = 0;
    assert_int_equal(cp_config_merge_file(t, "no-such-preset", err, sizeof err), -1);
    assert_non_null(strstr(err, "no-such-preset"));
    /* a name with a folder is a path, never a preset */
    err[0] = 0;
    assert_int_equal(cp_config_merge_file(t, "configs-not-here/news", err, sizeof err), -1);
    json_decref(t);
}

/* Checks that resolving json fails with a message containing want. */
static void refused(const char *json, const char *want)
{
    cp_config c;
    char err[512] = "";
    int rc = resolve_with(json, &c, err, sizeof err);
    if (rc != -1)
        fail_msg("accepted %s", json);
    if (!strstr(err, want))
        fail_msg("message \"%s\" for %s lacks \"%s\"", err, json, want);
}

static void accepted(const char *json)
{
    cp_config c;
    char err[512] = "";
    if (resolve_with(json, &c, err, sizeof err))
        fail_msg("refused %s: %s", json, err);
}

static void test_validation(void **state)
{
    (void)state;
    refused("{\"output\":{\"levle\":3}}", "output.levle");
    refused("{\"input\":{\"text_field\":[\"a\"]}}", "input.text_field");
    refused("{\"run\":{\"threads\":1,\"thread\":2}}", "run.thread");
    refused("{\"dedup\":{\"exact\":1}}", "dedup.exact");
    refused("{\"output\":{\"level\":\"high\"}}", "output.level");
    refused("{\"output\":{\"level\":10}}", "output.level");        /* gzip stops at 9 */
    refused("{\"output\":{\"compress\":\"lz4\"}}", "output.compress");
    refused("{\"output\":{\"split_by\":\"country\"}}", "output.split_by");
    refused("{\"output\":{\"keep_rejected\":\"yes\"}}", "output.keep_rejected");
    refused("{\"output\":{\"shard_size\":\"12Q\"}}", "output.shard_size");
    refused("{\"output\":{\"shard_size\":100}}", "output.shard_size"); /* below the minimum */
    refused("{\"input\":{\"text_fields\":\"text\"}}", "input.text_fields");
    refused("{\"input\":{\"text_fields\":[]}}", "input.text_fields");
    refused("{\"input\":{\"text_fields\":[\"a\",3]}}", "input.text_fields");
    refused("{\"input\":{\"max_line_bytes\":-5}}", "input.max_line_bytes");
    refused("{\"input\":{\"batch_bytes\":1.5}}", "input.batch_bytes");
    refused("{\"langid\":{\"min_score\":1.5}}", "langid.min_score");
    refused("{\"langid\":{\"keep_langs\":\"nl\"}}", "langid.keep_langs");
    refused("{\"langid\":{\"backend\":\"cld3\"}}", "langid.backend");
    refused("{\"langid\":{\"backend\":\"fasttext\"}}", "langid.model");   /* a model is needed */
    refused("{\"langid\":{\"backend\":\"fasttext\",\"model\":7}}", "langid.model");
    refused("{\"langid\":{\"model\":\"lid.176.ftz\"}}", "langid.model"); /* with cld2: a forgotten backend */
    refused("{\"run\":{\"threads\":-1}}", "run.threads");
    refused("{\"run\":5}", "run");

    accepted("{\"output\":{\"_comment\":\"underscore keys are comments\",\"level\":9}}");
    accepted("{\"output\":{\"compress\":\"zstd\",\"level\":19}}");
    accepted("{\"output\":{\"compress\":\"none\",\"split_by\":\"lang\",\"keep_rejected\":true}}");
    accepted("{\"output\":{\"shard_size\":\"1G\"},\"input\":{\"max_line_bytes\":1048576,\"batch_bytes\":\"64K\"}}");
    accepted("{\"langid\":{\"keep_langs\":[\"nl\",\"en\"],\"min_score\":0.5,\"sample_bytes\":0}}");
    accepted("{\"langid\":{\"backend\":\"fasttext\",\"model\":\"models/lid.176.bin\"}}"); /* read at run time */

    /* the values arrive */
    json_t *t = defaults();
    char err[512] = "";
    put(path("v.json"), "{\"output\":{\"shard_size\":\"1.5M\",\"split_by\":\"lang\"},"
                               "\"langid\":{\"keep_langs\":[\"nl\",\"en\"],\"min_score\":0.25},"
                               "\"input\":{\"batch_bytes\":\"64k\"}}");
    assert_int_equal(cp_config_merge_file(t, path("v.json"), err, sizeof err), 0);
    cp_config c;
    assert_int_equal(cp_config_resolve(t, &c, err, sizeof err), 0);
    assert_int_equal(c.shard_bytes, 1572864);
    assert_int_equal(c.split_by_lang, 1);
    assert_int_equal(c.n_keep_langs, 2);
    assert_string_equal(c.keep_langs[1], "en");
    assert_true(c.min_lang_score == 0.25);
    assert_int_equal(c.batch_bytes, 65536);
    cp_config_free(&c);
    json_decref(t);
}

/* Stage sections (clean, filter) are read with cp_cfg_reader: a key no getter read is a typo and is refused,
 * at the top and in subsections, while comments ("about", "source", "why", "_...") pass. */
static int read_stage(const char *json, char *err, size_t errlen)
{
    json_t *sec = json_loads(json, 0, NULL);
    assert_non_null(sec);
    json_t *eff = json_object();
    cp_cfg_reader r = {sec, eff, err, errlen, 0, "stage", NULL};
    cp_cfg_num(&r, "limit", 1, 0, 10);
    cp_cfg_reader sub = cp_cfg_sub(&r, "part");
    cp_cfg_bool(&sub, "enabled", 0);
    cp_cfg_num(&sub, "size", 2, 0, 10);
    cp_cfg_done(&r, &sub);
    cp_cfg_check(&r);
    json_decref(eff);
    json_decref(sec);
    return r.failed ? -1 : 0;
}

static void test_stage_unknown_keys(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(read_stage("{\"limit\":3,\"part\":{\"enabled\":true,\"size\":4}}", err, sizeof err), 0);
    assert_int_equal(read_stage("{\"about\":\"x\",\"_note\":1,\"part\":{\"source\":\"s\",\"why\":\"w\"}}", err,
                                sizeof err), 0);
    err[0] = 0;
    assert_int_equal(read_stage("{\"limt\":3}", err, sizeof err), -1);
    assert_non_null(strstr(err, "stage: unknown setting \"limt\""));
    err[0] = 0;
    assert_int_equal(read_stage("{\"part\":{\"sise\":4}}", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown setting \"sise\" in \"part\""));
    err[0] = 0;
    assert_int_equal(read_stage("{\"parts\":{}}", err, sizeof err), -1);
    assert_non_null(strstr(err, "\"parts\""));
    /* the real stages: every preset loads, and a typo deep in one is refused with its name */
    err[0] = 0;
    json_t *t = defaults();
    assert_int_equal(cp_config_merge_file(t, "news", err, sizeof err), 0);
    json_t *tp = json_object_get(json_object_get(json_object_get(t, "clean"), "c4_lines"), "terminal_punct");
    json_object_set_new(tp, "end_mark", json_array());
    cp_cleaner *c = cp_cleaner_create(json_object_get(t, "clean"), err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "unknown setting \"end_mark\" in \"terminal_punct\""));
    json_object_del(tp, "end_mark");
    json_object_set_new(json_object_get(json_object_get(t, "filter"), "fineweb"), "min_line_punct", json_real(0.1));
    err[0] = 0;
    cp_filter *f = cp_filter_create(json_object_get(t, "filter"), err, sizeof err);
    assert_null(f);
    assert_non_null(strstr(err, "unknown setting \"min_line_punct\" in \"fineweb\""));
    json_decref(t);
}

static void size_ok(const char *s, uint64_t want)
{
    uint64_t v = 12345;
    if (cp_parse_size(s, &v))
        fail_msg("\"%s\" refused", s);
    if (v != want)
        fail_msg("\"%s\" gave %llu, not %llu", s, (unsigned long long)v, (unsigned long long)want);
}

static void size_bad(const char *s)
{
    uint64_t v = 12345;
    if (!cp_parse_size(s, &v))
        fail_msg("\"%s\" accepted as %llu", s, (unsigned long long)v);
}

static void test_parse_size(void **state)
{
    (void)state;
    size_ok("123", 123);
    size_ok("0", 0);
    size_ok("4k", 4096);
    size_ok("4K", 4096);
    size_ok("256M", 256ull << 20);
    size_ok("1G", 1ull << 30);
    size_ok("2T", 2ull << 40);
    size_ok("1.5M", 1572864);
    size_ok("0.5k", 512);
    size_bad("");
    size_bad("M");
    size_bad("abc");
    size_bad("-1");
    size_bad("-1M");
    size_bad("12Q");
    size_bad("1M extra");
    size_bad("1MM");
    size_bad("inf");
    size_bad("nan");
    size_bad("1e30");
    size_bad("20000000T"); /* does not fit in 64 bits */
}

static void test_presets(void **state)
{
    (void)state;
    char err[512] = "";
    /* "news" is built in; no file of that name is in the working folder */
    json_t *t = json_object();
    assert_int_equal(cp_config_merge_file(t, "news", err, sizeof err), 0);
    assert_true(json_is_object(json_object_get(t, "clean")));
    json_decref(t);
    /* the other presets may not be written yet: test the ones that exist */
    const char *others[] = {"c4", "gopher", "fineweb"};
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s.json", others[i]);
        char *builtin = cp_config_read(name, NULL);
        t = defaults();
        int rc = cp_config_merge_file(t, others[i], err, sizeof err);
        if (builtin) {
            if (rc)
                fail_msg("preset %s: %s", others[i], err);
            cp_config c;
            if (cp_config_resolve(t, &c, err, sizeof err))
                fail_msg("preset %s does not resolve: %s", others[i], err);
            cp_config_free(&c);
        } else {
            assert_int_equal(rc, -1);
            print_message("preset %s not built in yet: skipped\n", others[i]);
        }
        free(builtin);
        json_decref(t);
    }
    /* a file wins over the preset of the same name */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(root), 0);
    put("news", "{\"from_file\":true}");
    t = json_object();
    assert_int_equal(cp_config_merge_file(t, "news", err, sizeof err), 0);
    assert_true(json_is_true(json_object_get(t, "from_file")));
    assert_null(json_object_get(t, "clean"));
    json_decref(t);
    unlink("news");
    assert_int_equal(chdir(cwd), 0);
}

/* Runs last: it points cp_config_read at a folder of its own. */
static void test_config_read(void **state)
{
    (void)state;
    size_t len = 0;
    /* built-in copies of configs/ */
    char *s = cp_config_read("stopwords/en.txt", &len);
    assert_non_null(s);
    assert_true(len > 0);
    assert_int_equal(strlen(s), len);
    free(s);
    s = cp_config_read("defaults.json", &len);
    assert_non_null(s);
    assert_non_null(strstr(s, "text_fields"));
    free(s);
    assert_null(cp_config_read("no/such/file.json", &len));

    /* after -c DIR/my.json, files beside it come first, the rest still from the built-in copy */
    assert_int_equal(mkdir(path("cfg"), 0777), 0);
    assert_int_equal(mkdir(path("cfg/boilerplate"), 0777), 0);
    put(path("cfg/my.json"), "{\"output\":{\"level\":2}}");
    put(path("cfg/boilerplate/en.json"), "{\"local\":true}");
    json_t *t = defaults();
    char err[512] = "";
    assert_int_equal(cp_config_merge_file(t, path("cfg/my.json"), err, sizeof err), 0);
    json_decref(t);
    s = cp_config_read("boilerplate/en.json", &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"local\":true}");
    assert_int_equal(len, 14);
    free(s);
    s = cp_config_read("boilerplate/nl.json", &len);
    assert_non_null(s);
    assert_null(strstr(s, "local"));
    free(s);
    assert_null(cp_config_read("no/such/file.json", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_stage_unknown_keys),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_config_read),
    };
    return cmocka_run_group_tests(tests, setup, cli_fx_teardown);
}
