/* Helpers for the end-to-end tests: temporary folders, fixture files, running the real corpusprep binary
 * (CP_BIN, default build/corpusprep) and reading back what it wrote. */
#ifndef CORPUSPREP_TEST_CLI_UTIL_H
#define CORPUSPREP_TEST_CLI_UTIL_H

#include <jansson.h>
#include <stddef.h>

#include "corpusprep/util.h"

/* A new empty folder under /tmp (removed by rm_rf). */
char *tmp_dir(void);
void rm_rf(const char *path);
char *path_join(const char *a, const char *b);
/* path_join whose result is freed by tmp_strings_free() (called by the tests' teardown). */
const char *P(const char *a, const char *b);
void tmp_strings_free(void);
/* The fixture of a test that works in files: dir, a new empty folder; in = dir/in, made; out = dir/out, not
 * made (the run under test makes it). Use cli_fx_setup and cli_fx_teardown as cmocka's setup and teardown:
 * the first puts a new cli_fx in *state (non-zero when it cannot), the second removes the folder and frees
 * the fixture and the P() strings. */
typedef struct {
    char *dir, *in, *out;
} cli_fx;
int cli_fx_setup(void **state);
int cli_fx_teardown(void **state);
/* Writes data to path; gz = 1 writes gzip. */
void write_file(const char *path, const char *data, size_t n, int gz);
/* The whole of path, NUL-terminated, in a malloc'd buffer (*len excludes the NUL); NULL when it cannot be read. */
char *read_file(const char *path, size_t *len);
/* Appends one gzip member holding data[0..n), compressed at zlib's level (0: stored blocks), to out. */
void gzip_member(cp_buf *out, const void *data, size_t n, int level);
/* Runs CP_BIN with args (NULL-terminated). stdin_path may be NULL. Returns the exit code (or 128+signal).
 * stderr is kept in *err_out (malloc'd) when err_out is not NULL. */
int run_cli(const char *const *args, const char *stdin_path, char **err_out);
/* All records below dir (recursively, sorted paths, .jsonl/.jsonl.gz/.jsonl.zst, not *.tmp), as one JSON
 * array; skip_rejected leaves out dir/rejected. */
json_t *read_records(const char *dir, int skip_rejected);
json_t *read_stats(const char *dir);
/* Concatenated decompressed bytes of every shard below dir, in sorted path order. */
char *read_all_shards(const char *dir, size_t *len);
/* Number of files below dir whose name ends in suffix. */
int count_files(const char *dir, const char *suffix);
/* The shared data folder (CP_SHARED, default ../shared) or NULL when it is absent. */
const char *shared_dir(void);
json_t *find_by_id(json_t *records, const char *id);
/* Runs tests/report/check_html.py on outdir/report.html (Chromium, tidy, self-containment; see there).
 * Returns 0 when it holds, 77 when Chromium or tidy is missing, else 1. Keeps the screenshots in the folder
 * named by CP_REPORT_SHOTS, when set, under name. */
int check_report_html(const char *outdir, const char *name);
/* The fastText model lid.176.ftz (CP_LID_MODEL, default build/models/lid.176.ftz, fetched by `make model`),
 * or NULL, after printing why the caller's test is skipped, when it is not there. */
const char *lid_model(void);
/* 1 when the `fasttext` CLI (Debian package fasttext) runs; else 0, after printing a skip message. */
int have_fasttext_cli(void);
/* docs_in == docs_kept + sum(docs_rejected) */
int invariant_holds(json_t *stats);

#endif
