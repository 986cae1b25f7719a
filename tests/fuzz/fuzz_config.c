/* Fuzz harness for configuration loading: the input's first byte picks which file the rest becomes, in a
 * fresh folder beside a config file, as `corpusprep -c FILE` would find it:
 *   0  the config file itself (merged over the defaults, resolved, its clean and filter sections built);
 *   1  lang/en.json, a per-language filter file;  2  boilerplate/en.json;  3  stopwords/en.txt;
 *   4  a size string for cp_parse_size.
 * Either everything loads, and the effective settings can be printed (--print-config), or a step fails with
 * a message; never a crash, a hang or a leak. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/filter.h"
#include "fuzz_common.h"

static char dir[64];
static const char *const subdirs[] = {"lang", "boilerplate", "stopwords"};

static void path_of(char *out, size_t n, const char *rel) { snprintf(out, n, "%s/%s", dir, rel); }

static void write_file(const char *rel, const void *p, size_t n)
{
    char path[128];
    path_of(path, sizeof path, rel);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp))
        fz_fail("cannot write %s", path);
}

static void remove_all(void)
{
    static const char *const files[] = {"c.json", "lang/en.json", "boilerplate/en.json", "stopwords/en.txt"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        path_of(path, sizeof path, files[i]);
        unlink(path);
    }
    for (size_t i = 0; i < 3; i++) {
        path_of(path, sizeof path, subdirs[i]);
        rmdir(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_object_seed(1);
    snprintf(dir, sizeof dir, "/tmp/cp-fuzz-config-XXXXXX");
    if (!mkdtemp(dir))
        fz_fail("mkdtemp");
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        path_of(path, sizeof path, subdirs[i]);
        mkdir(path, 0700);
    }
    atexit(remove_all);
    return 0;
}

static void expect_message(const char *what, const char *err)
{
    if (!err[0])
        fz_fail("%s failed without a message", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 5;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == 4) {
        char *s = malloc(n + 1);
        memcpy(s, p, n);
        s[n] = 0;
        uint64_t v;
        (void)cp_parse_size(s, &v);
        free(s);
        return 0;
    }
    static const char *const rel[] = {"c.json", "lang/en.json", "boilerplate/en.json", "stopwords/en.txt"};
    char path[128];
    for (int i = 1; i < 4; i++) { /* only the file under test lies beside the config */
        path_of(path, sizeof path, rel[i]);
        unlink(path);
    }
    if (mode == 0)
        write_file(rel[0], p, n);
    else {
        /* only English, so that the file under test is most of the work */
        static const char only_en[] = "{\"clean\":{\"boilerplate\":{\"files\":[\"boilerplate/en.json\"]}},"
                                      "\"filter\":{\"languages\":[\"en\"]}}";
        write_file(rel[0], only_en, sizeof only_en - 1);
        write_file(rel[mode], p, n);
    }

    char err[1024] = "";
    json_t *tree = cp_config_defaults(err, sizeof err);
    if (!tree)
        fz_fail("defaults: %s", err);
    path_of(path, sizeof path, rel[0]);
    cp_config cfg;
    if (cp_config_merge_file(tree, path, err, sizeof err)) {
        expect_message("merge", err);
    } else if (cp_config_resolve(tree, &cfg, err, sizeof err)) {
        expect_message("resolve", err);
    } else {
        json_t *eff = json_object();
        json_t *cs = json_object_get(tree, "clean"), *fs = json_object_get(tree, "filter");
        cp_cleaner *cl = NULL;
        cp_filter *fl = NULL;
        if (json_is_object(cs)) {
            err[0] = 0;
            if ((cl = cp_cleaner_create(cs, err, sizeof err)))
                json_object_set_new(eff, "clean", cp_cleaner_to_json(cl));
            else
                expect_message("clean", err);
        }
        if (json_is_object(fs)) {
            err[0] = 0;
            if ((fl = cp_filter_create(fs, err, sizeof err)))
                json_object_set_new(eff, "filter", cp_filter_to_json(fl));
            else
                expect_message("filter", err);
        }
        /* what --print-config prints must be JSON that loads again */
        char *dump = json_dumps(eff, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_error_t je;
        json_t *back = dump ? json_loads(dump, 0, &je) : NULL;
        if (!back)
            fz_fail("the effective configuration does not print as JSON");
        json_decref(back);
        free(dump);
        json_decref(eff);
        cp_cleaner_destroy(cl);
        cp_filter_destroy(fl);
        cp_config_free(&cfg);
    }
    json_decref(tree);
    return 0;
}
