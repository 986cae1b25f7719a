/* End to end: runs killed (SIGKILL at named points, SIGTERM) and resumed with --resume write exactly the
 * bytes of an uninterrupted run; resumes that cannot be right are refused. The corpus is the demo sample
 * (bench/make_sample.py: seven languages, exact and near copies, boilerplate lines, broken lines; gzip,
 * zstd and plain files), cut into 48 KiB batches so that a run has ~35 batches, ~15 shards and ~10
 * checkpoints.
 * Kill points come from the test-only hook CP_TEST_KILL_AT=<event>:<n> (checkpoint.h). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_util.h"

static char *corpus_dir; /* made once for every test */

static int group_setup(void **state)
{
    (void)state;
    corpus_dir = tmp_dir();
    char cmd[4096];
    /* 1.6 MB of it, to keep the test short: a gzip file, a plain one and a zstd one */
    char repo[2048];
    if (!getcwd(repo, sizeof repo))
        return -1;
    snprintf(cmd, sizeof cmd,
             "R='%s' && cd '%s' && python3 \"$R/bench/make_sample.py\" in >/dev/null && cd in && rm crawl-01.jsonl.gz && "
             "zcat crawl-00.jsonl.gz | head -n 500 | gzip -n >a && mv a crawl-00.jsonl.gz && "
             "head -n 300 crawl-02.jsonl >a && mv a crawl-02.jsonl && mkdir ../wet && cp crawl-02.jsonl ../wet && "
             "python3 \"$R/bench/make_wet.py\" crawl-00.jsonl.gz ../wet/crawl-00.warc.wet.gz >/dev/null 2>&1",
             repo, corpus_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rm_rf(corpus_dir);
    free(corpus_dir);
    return 0;
}

static int setup(void **state)
{
    if (cli_fx_setup(state))
        return -1;
    cli_fx *f = *state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -a '%s/in/.' '%s'", corpus_dir, f->in); /* tests touch their inputs */
    if (system(cmd))
        return -1;
    write_file(P(f->dir, "first.json"), "{\"input\":{\"batch_bytes\":\"48K\"}}", 31, 0);
    const char *all = "{\"input\":{\"batch_bytes\":\"48K\"},\"clean\":{\"line_dedup\":{\"mode\":\"all\"}}}";
    write_file(P(f->dir, "all.json"), all, strlen(all), 0);
    return 0;
}

/* Runs corpusprep on the fixture's input with the common options plus extra (NULL-terminated), with
 * CP_TEST_KILL_AT=kill when kill is not NULL. Returns the exit code, 137 for SIGKILL. */
static int run(cli_fx *f, const char *cfg, const char *threads, const char *out, const char *kill, int resume,
               char **err, ...)
{
    const char *args[40];
    int n = 0;
    args[n++] = "-q";
    args[n++] = "-c";
    args[n++] = P(f->dir, cfg);
    args[n++] = "-t";
    args[n++] = threads;
    args[n++] = "--keep-rejected";
    args[n++] = "--shard-size";
    args[n++] = "100K";
    args[n++] = "--checkpoint-every";
    args[n++] = "160K";
    if (resume)
        args[n++] = "--resume";
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 34)
        args[n++] = a;
    va_end(ap);
    args[n++] = "-o";
    args[n++] = out;
    args[n++] = f->in;
    args[n] = NULL;
    if (kill)
        setenv("CP_TEST_KILL_AT", kill, 1);
    int rc = run_cli(args, NULL, err);
    unsetenv("CP_TEST_KILL_AT");
    return rc;
}

/* Every file below ref (shards, rejected/ shards, language folders) has a byte-identical twin below out,
 * and out holds nothing else: no .tmp, no _checkpoint. Returns the number of files compared. */
static int same_tree(const char *ref, const char *out)
{
    int n = 0;
    DIR *d = opendir(ref);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        /* stats.json is compared without its timings (same_stats), and report.html shows those timings;
         * report-examples.json, every shard and every rejected/ shard must be byte-identical */
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "stats.json") || !strcmp(e->d_name, "report.html"))
            continue;
        char *a = path_join(ref, e->d_name), *b = path_join(out, e->d_name);
        struct stat sa;
        assert_int_equal(stat(a, &sa), 0);
        if (S_ISDIR(sa.st_mode)) {
            n += same_tree(a, b);
        } else {
            size_t la, lb;
            char *x = read_file(a, &la), *y = read_file(b, &lb);
            if (!y || la != lb || memcmp(x, y, la))
                fail_msg("%s differs from %s", b, a);
            free(x);
            free(y);
            n++;
        }
        free(a);
        free(b);
    }
    closedir(d);
    d = opendir(out);
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *a = path_join(ref, e->d_name);
        struct stat sa;
        if (stat(a, &sa))
            fail_msg("%s/%s is not in the uninterrupted run's output", out, e->d_name);
        free(a);
    }
    closedir(d);
    return n;
}

/* stats.json of both runs, equal once the keys that measure time and memory are dropped (and the thread
 * count, when the runs used different ones). */
static void same_stats_but(const char *ref, const char *out, const char *also)
{
    static const char *const timing[] = {"stage_cpu_seconds", "cpu_seconds", "wall_seconds", "mb_per_s",
                                         "mb_per_cpu_s", "docs_per_s", "peak_rss_mb", "throughput", NULL};
    json_t *a = read_stats(ref), *b = read_stats(out);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; timing[i]; i++) {
        assert_non_null(json_object_get(a, timing[i])); /* the list names real keys */
        json_object_del(a, timing[i]);
        json_object_del(b, timing[i]);
    }
    if (also) { /* also in the config */
        json_object_del(a, also);
        json_object_del(b, also);
        json_object_del(json_object_get(json_object_get(a, "config"), "run"), also);
        json_object_del(json_object_get(json_object_get(b, "config"), "run"), also);
    }
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT), *y = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("stats.json differs:\n%s\n%s", x, y);
    }
    assert_true(invariant_holds(b));
    json_decref(a);
    json_decref(b);
}

static void same_stats(const char *ref, const char *out) { same_stats_but(ref, out, NULL); }

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* An uninterrupted run, then a run killed at each of kills in turn (each resumed from the last one's
 * checkpoint, the first started afresh), then a resume to the end; output and stats must be identical. */
static void kill_and_resume(cli_fx *f, const char *cfg, const char *threads, const char *const *kills)
{
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    rm_rf(ref);
    rm_rf(out);
    assert_int_equal(run(f, cfg, threads, ref, NULL, 0, NULL, NULL), 0);
    assert_false(exists(P(ref, "_checkpoint"))); /* a finished run removes its checkpoints */
    for (int i = 0; kills[i]; i++) {
        char *err = NULL;
        int rc = run(f, cfg, threads, out, kills[i], i > 0, &err, NULL);
        if (rc != 137)
            fail_msg("-t %s %s, kill at %s: exit %d, not killed: %s", threads, cfg, kills[i], rc, err);
        free(err);
        assert_true(exists(P(out, "_checkpoint")));
    }
    char *err = NULL;
    int rc = run(f, cfg, threads, out, NULL, 1, &err, NULL);
    if (rc)
        fail_msg("final resume: exit %d: %s", rc, err);
    free(err);
    assert_true(same_tree(ref, out) >= 10);
    same_stats(ref, out);
}

/* Kill points spread over the run: between checkpoints, in the middle of writing one, right after it is
 * complete (before the older one is removed), and between a shard's rename and the next checkpoint; every
 * kill after the first hits a resumed run, so resuming a resumed run is covered too. */
static const char *const kills_first[] = {"batch:6", "ckpt-write:2", "shard-rename:3", "ckpt-done:2", "batch:5",
                                          NULL};
/* Mode all: the counting pass writes no shards, so the shard-rename kill falls in the second pass. */
static const char *const kills_all[] = {"batch:12", "ckpt-write:3", "ckpt-done:4", "shard-rename:4", "batch:10",
                                        NULL};

static void test_kill_resume_first_t1(void **state) { kill_and_resume(*state, "first.json", "1", kills_first); }
static void test_kill_resume_first_t2(void **state) { kill_and_resume(*state, "first.json", "2", kills_first); }
static void test_kill_resume_all_t1(void **state) { kill_and_resume(*state, "all.json", "1", kills_all); }
static void test_kill_resume_all_t2(void **state) { kill_and_resume(*state, "all.json", "2", kills_all); }

/* Languages in their own folders and zstd shards: several streams open at a checkpoint. Resumed with
 * another thread count, which may change (the output does not depend on it). */
static void test_kill_resume_split_zstd(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    assert_int_equal(run(f, "first.json", "2", ref, NULL, 0, NULL, "--split-by", "lang", "--compress", "zstd", NULL), 0);
    assert_int_equal(run(f, "first.json", "2", out, "batch:15", 0, NULL, "--split-by", "lang", "--compress", "zstd", NULL),
                     137);
    assert_int_equal(run(f, "first.json", "1", out, "shard-rename:2", 1, NULL, "--split-by", "lang", "--compress",
                         "zstd", NULL),
                     137);
    assert_int_equal(run(f, "first.json", "1", out, NULL, 1, NULL, "--split-by", "lang", "--compress", "zstd", NULL), 0);
    assert_true(same_tree(ref, out) >= 10);
    same_stats_but(ref, out, "threads"); /* the one figure that says how it ran */
}

/* WET input (the position counts WARC records) and --format dolma, whose "added" is the run's date: a run
 * resumed on another day must keep the first day's date. */
static void test_kill_resume_wet_dolma(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    char *json_in = f->in;
    f->in = path_join(corpus_dir, "wet");
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1); /* 2023-11-14 */
    assert_int_equal(run(f, "first.json", "2", ref, NULL, 0, NULL, "--format", "dolma", NULL), 0);
    assert_int_equal(run(f, "first.json", "2", out, "batch:6", 0, NULL, "--format", "dolma", NULL), 137);
    setenv("SOURCE_DATE_EPOCH", "1800000000", 1); /* three years later */
    assert_int_equal(run(f, "first.json", "1", out, "shard-rename:2", 1, NULL, "--format", "dolma", NULL), 137);
    assert_int_equal(run(f, "first.json", "2", out, NULL, 1, NULL, "--format", "dolma", NULL), 0);
    unsetenv("SOURCE_DATE_EPOCH");
    free(f->in);
    f->in = json_in;
    json_t *st = read_stats(ref);
    assert_true(json_integer_value(json_object_get(json_object_get(st, "warc_records"), "conversion")) > 100);
    json_decref(st);
    assert_true(same_tree(ref, out) >= 5);
    same_stats_but(ref, out, "threads");
}

/* Ids holding "\u0000" (JSON allows it) cross a checkpoint whole: the ids dup_of names and the report's
 * examples in it. A file read first gives 150 pages of the sample such ids, and 50 of them twice; the
 * sample's own copies of those pages come later, so their dup_of names a NUL-holding id too. */
static void test_kill_resume_id_with_nul(void **state)
{
    cli_fx *f = *state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && python3 -c 'import json\n"
             "L = [json.loads(l) for l in open(\"crawl-02.jsonl\") if l.strip()][:150]\n"
             "with open(\"0-nul.jsonl\", \"w\") as f:\n"
             "    for i, r in enumerate(L + L[:50]):\n"
             "        r[\"id\"] = \"n\\0%%d\" %% i\n"
             "        f.write(json.dumps(r) + \"\\n\")'",
             f->in);
    assert_int_equal(system(cmd), 0);
    static const char *const kills[] = {"batch:6", NULL};
    kill_and_resume(f, "first.json", "1", kills);
    char *all = read_all_shards(P(f->dir, "ref"), &(size_t){0});
    assert_non_null(strstr(all, "\"dup_of\":\"n\\u00000\""));
    free(all);
}

/* SIGTERM (Slurm's warning before the time limit): a checkpoint at the next batch boundary, exit 130, the
 * .tmp shards kept; --resume then finishes the run as if nothing happened. */
static void test_sigterm_writes_checkpoint(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    assert_int_equal(run(f, "first.json", "1", ref, NULL, 0, NULL, NULL), 0);
    const char *bin = getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep";
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        /* 0: no periodic checkpoint, so the one found comes from the signal */
        execl(bin, bin, "-q", "-c", P(f->dir, "first.json"), "-t", "1", "--keep-rejected", "--shard-size", "100K",
              "--checkpoint-every", "0", "-o", out, f->in, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 2000 && count_files(out, ".tmp") == 0; i++) /* working, with a shard open */
        usleep(5000);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_true(exists(P(out, "_checkpoint/ckpt-000001")));
    assert_true(count_files(out, ".tmp") > 0);
    assert_false(exists(P(out, "stats.json")));
    assert_int_equal(run(f, "first.json", "1", out, NULL, 1, NULL, NULL), 0);
    same_tree(ref, out);
    same_stats(ref, out);
}

static void expect_refusal(cli_fx *f, const char *out, const char *needle, const char *extra)
{
    char *err = NULL;
    int rc = run(f, "first.json", "2", out, NULL, 1, &err, extra, NULL);
    if (rc != 2 || !strstr(err, needle))
        fail_msg("expected exit 2 with \"%s\", got %d: %s", needle, rc, err);
    free(err);
}

/* A resume that cannot give the uninterrupted run's output is refused (exit 2, saying what differs) and
 * changes nothing: the right resume afterwards still matches. */
static void test_refusals(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    assert_int_equal(run(f, "first.json", "2", ref, NULL, 0, NULL, NULL), 0);
    char *err = NULL;
    /* nothing to resume */
    expect_refusal(f, P(f->dir, "nothing"), "nothing to resume", NULL);
    expect_refusal(f, ref, "its run finished", NULL);
    assert_int_equal(run(f, "first.json", "2", out, "batch:20", 0, NULL, NULL), 137);
    /* without --resume the folder is not empty, and the message says how to go on */
    assert_int_equal(run(f, "first.json", "2", out, NULL, 0, &err, NULL), 2);
    assert_non_null(strstr(err, "--resume"));
    free(err);
    expect_refusal(f, out, "--force", "--force"); /* both: which one? */
    expect_refusal(f, out, "the configuration changed: output.level is 1 in the checkpoint but 3 now", "--level=3");
    expect_refusal(f, out, "dedup.url", "--dedup-url");
    setenv("CP_TEST_BUILD_ID", "another-build", 1);
    expect_refusal(f, out, "another corpusprep build", NULL);
    unsetenv("CP_TEST_BUILD_ID");
    /* an input file changed: same size, new mtime */
    const char *victim = P(f->in, "crawl-02.jsonl");
    struct stat sb;
    assert_int_equal(stat(victim, &sb), 0);
    struct timespec times[2] = {sb.st_atim, sb.st_mtim};
    struct timespec later[2] = {sb.st_atim, {sb.st_mtim.tv_sec + 10, 0}};
    assert_int_equal(utimensat(AT_FDCWD, victim, later, 0), 0);
    expect_refusal(f, out, "the input changed: ", NULL);
    assert_int_equal(utimensat(AT_FDCWD, victim, times, 0), 0);
    /* standard input cannot be read again */
    const char *args[] = {"-q", "--resume", "-o", out, "-", NULL};
    assert_int_equal(run_cli(args, victim, NULL), 2);
    /* -t may change: it does not change the output */
    assert_int_equal(run(f, "first.json", "1", out, NULL, 1, NULL, NULL), 0);
    same_tree(ref, out);
    /* --force starts an interrupted run again, checkpoints included */
    rm_rf(out);
    assert_int_equal(run(f, "first.json", "2", out, "batch:20", 0, NULL, NULL), 137);
    assert_int_equal(run(f, "first.json", "2", out, NULL, 0, NULL, "--force", NULL), 0);
    assert_false(exists(P(out, "_checkpoint")));
    same_tree(ref, out);
}

static void flip_byte(const char *path, long at)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, at, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc(c ^ 0x20, fp);
    fclose(fp);
}

/* A damaged newest checkpoint is detected by its checksum and the previous one is used; a lone damaged or
 * truncated one is refused. */
static void test_damaged_checkpoint(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *out = P(f->dir, "out");
    assert_int_equal(run(f, "first.json", "2", ref, NULL, 0, NULL, NULL), 0);
    /* killed after checkpoint 3 was complete and before checkpoint 1 was removed: 1, 2, 3 on disk */
    assert_int_equal(run(f, "first.json", "2", out, "ckpt-done:3", 0, NULL, NULL), 137);
    assert_true(exists(P(out, "_checkpoint/ckpt-000002")));
    struct stat sb;
    assert_int_equal(stat(P(out, "_checkpoint/ckpt-000003"), &sb), 0);
    flip_byte(P(out, "_checkpoint/ckpt-000003"), (long)sb.st_size / 2); /* in the tables */
    char *err = NULL;
    assert_int_equal(run(f, "first.json", "2", out, NULL, 1, &err, NULL), 0);
    assert_non_null(strstr(err, "ckpt-000003 is damaged (checksum mismatch); trying the previous one"));
    free(err);
    same_tree(ref, out);
    same_stats(ref, out);

    rm_rf(out);
    assert_int_equal(run(f, "first.json", "2", out, "ckpt-done:1", 0, NULL, NULL), 137);
    assert_int_equal(stat(P(out, "_checkpoint/ckpt-000001"), &sb), 0);
    assert_int_equal(truncate(P(out, "_checkpoint/ckpt-000001"), sb.st_size - 100), 0);
    expect_refusal(f, out, "no usable checkpoint: ", NULL);
    char *e2 = NULL;
    run(f, "first.json", "2", out, NULL, 1, &e2, NULL);
    assert_non_null(strstr(e2, "truncated"));
    free(e2);
    assert_int_equal(truncate(P(out, "_checkpoint/ckpt-000001"), 10), 0);
    expect_refusal(f, out, "truncated", NULL);
}

static long du_bytes(const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "du -sb '%s'", dir);
    FILE *p = popen(cmd, "r");
    long n = 0;
    if (!p || fscanf(p, "%ld", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* The disk fills up while a checkpoint is written: a clear error, exit 1, the previous checkpoint and the
 * shards kept; once there is room again, --resume finishes with the uninterrupted output. On a real small
 * tmpfs (root only; skipped otherwise). */
static void test_disk_full(void **state)
{
    cli_fx *f = *state;
    const char *ref = P(f->dir, "ref"), *probe = P(f->dir, "probe"), *mnt = P(f->dir, "mnt");
    const char *out = P(mnt, "out");
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=64m")) {
        fprintf(stderr, "skipping: cannot mount a tmpfs (needs root)\n");
        skip();
    }
    umount(mnt);
    assert_int_equal(run(f, "first.json", "2", ref, NULL, 0, NULL, NULL), 0);
    /* how much the output holds once the first checkpoint is complete, and how big that checkpoint is */
    assert_int_equal(run(f, "first.json", "2", probe, "ckpt-done:1", 0, NULL, NULL), 137);
    struct stat sb;
    assert_int_equal(stat(P(probe, "_checkpoint/ckpt-000001"), &sb), 0);
    long used = du_bytes(probe), room = used + (long)sb.st_size / 2 + 64 * 1024;
    assert_true(used > 0);
    char opt[64];
    snprintf(opt, sizeof opt, "size=%ld", room);
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, opt), 0);
    char *err = NULL;
    int rc = run(f, "first.json", "2", out, NULL, 0, &err, NULL);
    int ok = rc == 1 && strstr(err, "cannot write checkpoint: No space left on device") &&
             strstr(err, "previous checkpoint is kept");
    if (!ok) {
        umount2(mnt, MNT_DETACH);
        fail_msg("exit %d: %s", rc, err);
    }
    free(err);
    int kept = exists(P(out, "_checkpoint/ckpt-000001")) && !exists(P(out, "_checkpoint/ckpt-000002.tmp")) &&
               count_files(out, ".tmp") > 0;
    /* room again: the same mount, larger */
    int grown = mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=256m");
    err = NULL;
    rc = grown ? -1 : run(f, "first.json", "2", out, NULL, 1, &err, NULL);
    if (!rc)
        same_tree(ref, out);
    free(err);
    umount2(mnt, MNT_DETACH);
    assert_true(kept);
    assert_int_equal(grown, 0);
    assert_int_equal(rc, 0);
}

int main(void)
{
    setenv("OMP_WAIT_POLICY", "passive", 1); /* threads that wait sleep: the machine is shared */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_resume_first_t1, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_first_t2, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_all_t1, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_id_with_nul, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_all_t2, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_split_zstd, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill_resume_wet_dolma, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_writes_checkpoint, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_checkpoint, setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
