/* End-to-end tests of the corpusprep command: fixtures written here, the real binary run on them, and its
 * shards, stats.json, stderr and exit code checked. One test per kind of bad input the tool must survive. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli_util.h"
#include "corpusprep/langid.h"

static char *fixture(cli_fx *f, const char *name, const char *data, int gz)
{
    char *p = path_join(f->in, name);
    write_file(p, data, strlen(data), gz);
    return p;
}

static json_int_t stat_int(json_t *st, const char *key)
{
    return json_integer_value(json_object_get(st, key));
}

static json_int_t rejected(json_t *st, const char *reason)
{
    return json_integer_value(json_object_get(json_object_get(st, "docs_rejected"), reason));
}

static const char *str(json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

#define EN1 "The committee said on Tuesday that the new bridge over the river will open to traffic next spring, after years of delays and rising costs."
#define EN2 "Farmers in the northern province are worried about the dry weather, which has already damaged much of the wheat harvest this year."
#define NL1 "De gemeenteraad heeft dinsdag besloten dat de nieuwe brug over de rivier volgend voorjaar open gaat voor het verkeer, na jaren van vertraging."

static void test_basic_run(void **state)
{
    cli_fx *f = *state;
    char *in = fixture(f,
        "a.jsonl",
        "{\"id\":\"a1\",\"url\":\"http://x.org/1\",\"text\":\"" EN1 "\",\"score\":1.50,\"tags\":[\"x\",{\"y\":\"}\"}]}\n"
        "{\"text\":\"" NL1 "\",\"lang\":\"xx\"}\n"
        "{\"id\":\"a3\",\"text\":\"THE committee said on Tuesday, that the new bridge over the river will open to traffic next spring after years of delays and rising costs!!\"}\n",
        0);
    const char *args[] = {"-c", "none", "-q", "--keep-rejected", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(f->out);
    assert_non_null(st);
    assert_int_equal(stat_int(st, "docs_in"), 3);
    assert_int_equal(stat_int(st, "docs_kept"), 2);
    assert_int_equal(rejected(st, "dup_exact"), 1);
    assert_true(invariant_holds(st));
    json_t *kept = read_records(f->out, 1);
    assert_int_equal(json_array_size(kept), 2);
    json_t *a1 = find_by_id(kept, "a1");
    assert_non_null(a1);
    assert_string_equal(str(a1, "lang"), "en");
    assert_string_equal(str(a1, "url"), "http://x.org/1");
    /* the generated id names file and line */
    char want[4096];
    snprintf(want, sizeof want, "%s:2", in);
    json_t *nl = find_by_id(kept, want);
    assert_non_null(nl);
    assert_string_equal(str(nl, "lang"), "nl");
    json_t *rej = read_records(P(f->out, "rejected"), 0);
    assert_int_equal(json_array_size(rej), 1);
    assert_string_equal(str(json_array_get(rej, 0), "reject_reason"), "dup_exact");
    assert_string_equal(str(json_array_get(rej, 0), "dup_of"), "a1");
    /* members other than text are written back byte for byte */
    size_t len;
    char *all = read_all_shards(f->out, &len);
    assert_non_null(strstr(all, "\"score\":1.50,\"tags\":[\"x\",{\"y\":\"}\"}]"));
    free(all);
    json_decref(kept);
    json_decref(rej);
    json_decref(st);
    free(in);
}

static void test_empty_file_and_blank_lines(void **state)
{
    cli_fx *f = *state;
    char *e = fixture(f, "empty.jsonl", "", 0);
    char *b = fixture(f, "blank.jsonl", "\n\n   \n{\"text\":\"" EN1 "\"}\n\n", 0);
    const char *args[] = {"-c", "none", "-q", "-o", f->out, e, b, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "docs_in"), 1);
    assert_int_equal(stat_int(st, "blank_lines"), 4);
    assert_int_equal(stat_int(st, "files"), 2);
    json_decref(st);
    free(e);
    free(b);
}

static void test_no_final_newline_and_crlf(void **state)
{
    cli_fx *f = *state;
    char *in = fixture(f, "crlf.jsonl",
                       "{\"id\":\"c1\",\"text\":\"line one\\r\\nline two  \\r\\n\\r\\n\\r\\n\\r\\nline three\"}\r\n"
                       "{\"id\":\"c2\",\"text\":\"" EN2 "\"}",
                       0);
    const char *args[] = {"-c", "none", "-q", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *kept = read_records(f->out, 1);
    assert_int_equal(json_array_size(kept), 2);
    assert_string_equal(str(find_by_id(kept, "c1"), "text"), "line one\nline two\n\nline three");
    assert_non_null(find_by_id(kept, "c2"));
    json_decref(kept);
    free(in);
}

static void test_bad_lines_are_rejected_not_dropped(void **state)
{
    cli_fx *f = *state;
    char *in = fixture(f, "bad.jsonl",
                       "{\"id\":\"ok\",\"text\":\"" EN1 "\"}\n"
                       "{\"id\":\"broken\",\"text\":\n"
                       "[1,2,3]\n"
                       "{\"id\":\"null\",\"text\":null}\n"
                       "{\"id\":\"num\",\"text\":42}\n"
                       "{\"id\":\"missing\",\"title\":\"no text here\"}\n"
                       "{\"id\":\"other\",\"text\":null,\"content\":\"" EN2 "\"}\n",
                       0);
    char *err = NULL;
    const char *args[] = {"-c", "none", "--keep-rejected", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, &err), 0);
    /* messages name file and line */
    char want[4096];
    snprintf(want, sizeof want, "%s:2: parse_error", in);
    assert_non_null(strstr(err, want));
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "docs_in"), 7);
    assert_int_equal(rejected(st, "parse_error"), 1);
    assert_int_equal(rejected(st, "not_object"), 1);
    assert_int_equal(rejected(st, "no_text"), 3);
    assert_int_equal(stat_int(st, "docs_kept"), 2);
    assert_true(invariant_holds(st));
    json_t *rej = read_records(P(f->out, "rejected"), 0);
    assert_int_equal(json_array_size(rej), 5);
    json_t *pe = json_array_get(rej, 0);
    assert_string_equal(str(pe, "reject_reason"), "parse_error");
    assert_string_equal(str(pe, "raw"), "{\"id\":\"broken\",\"text\":");
    snprintf(want, sizeof want, "%s:2", in);
    assert_string_equal(str(pe, "source"), want);
    /* text taken from the next field of the list when "text" is not a string */
    json_t *kept = read_records(f->out, 1);
    assert_string_equal(str(find_by_id(kept, "other"), "text"), EN2);
    json_decref(kept);
    json_decref(rej);
    json_decref(st);
    free(err);
    free(in);
}

static void test_invalid_utf8_and_nul(void **state)
{
    cli_fx *f = *state;
    const char data[] = "{\"id\":\"u\",\"text\":\"caf\xC3 ol\xE9 " EN1 "\"}\n"
                        "{\"id\":\"n\",\"te\0xt\":\"" EN2 "\\u0000 end\"}\n";
    char *p = path_join(f->in, "utf.jsonl");
    write_file(p, data, sizeof data - 1, 0);
    const char *args[] = {"-c", "none", "-q", "-o", f->out, p, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "docs_kept"), 2);
    assert_true(stat_int(st, "utf8_replacements") >= 3);
    json_t *kept = read_records(f->out, 1);
    const char *t = str(find_by_id(kept, "u"), "text");
    assert_non_null(strstr(t, "caf\xEF\xBF\xBD ol\xEF\xBF\xBD "));
    assert_non_null(strstr(str(find_by_id(kept, "n"), "text"), "harvest this year. end"));
    json_decref(kept);
    json_decref(st);
    free(p);
}

static void write_gz_docs(const char *path, int ndocs)
{
    size_t cap = (size_t)ndocs * 256 + 1;
    char *buf = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < ndocs; i++)
        n += (size_t)snprintf(buf + n, cap - n, "{\"id\":\"d%d\",\"text\":\"Document number %d says %s\"}\n", i, i,
                              i % 2 ? EN1 : EN2);
    write_file(path, buf, n, 1);
    free(buf);
}

static void test_truncated_gzip(void **state)
{
    cli_fx *f = *state;
    char *p = path_join(f->in, "t.jsonl.gz");
    write_gz_docs(p, 2000);
    struct stat sb;
    stat(p, &sb);
    assert_int_equal(truncate(p, sb.st_size / 2), 0);
    char *good = fixture(f, "z-good.jsonl", "{\"id\":\"g\",\"text\":\"" NL1 "\"}\n", 0);
    char *err = NULL;
    const char *args[] = {"-c", "none", "-o", f->out, f->in, NULL};
    assert_int_equal(run_cli(args, NULL, &err), 1);
    assert_non_null(strstr(err, "t.jsonl.gz: line"));
    assert_non_null(strstr(err, "unexpected end"));
    json_t *st = read_stats(f->out);
    assert_non_null(st);
    assert_int_equal(stat_int(st, "files_failed"), 1);
    assert_true(stat_int(st, "docs_in") > 100);
    assert_true(invariant_holds(st));
    /* the file after the broken one was still read */
    json_t *kept = read_records(f->out, 1);
    assert_non_null(find_by_id(kept, "g"));
    json_decref(kept);
    json_decref(st);
    free(err);
    free(good);
    free(p);
}

static void test_garbage_in_gzip_and_fake_gz(void **state)
{
    cli_fx *f = *state;
    char *p = path_join(f->in, "g.jsonl.gz");
    write_gz_docs(p, 3000);
    FILE *fp = fopen(p, "r+b");
    fseek(fp, 2000, SEEK_SET);
    for (int i = 0; i < 64; i++)
        fputc(0xA5 ^ i, fp);
    fclose(fp);
    char *fake = fixture(f, "h.jsonl.gz", "{\"text\":\"not gzip at all\"}\n", 0);
    char *err = NULL;
    const char *args[] = {"-c", "none", "-q", "-o", f->out, p, fake, NULL};
    assert_int_equal(run_cli(args, NULL, &err), 1);
    assert_non_null(strstr(err, "g.jsonl.gz: line"));
    assert_non_null(strstr(err, "h.jsonl.gz: not in gzip format"));
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "files_failed"), 2);
    assert_true(invariant_holds(st));
    json_decref(st);
    free(err);
    free(fake);
    free(p);
}

static void test_long_lines(void **state)
{
    cli_fx *f = *state;
    /* a 64 MiB line goes through; a line over --max-line is rejected and counted, the next one read */
    size_t big = 64u << 20;
    char *buf = malloc(big + 4096);
    size_t n = (size_t)sprintf(buf, "{\"id\":\"big\",\"text\":\"");
    while (n < big) {
        memcpy(buf + n, EN1 " ", sizeof EN1);
        n += sizeof EN1;
    }
    n += (size_t)sprintf(buf + n, "\"}\n{\"id\":\"after\",\"text\":\"" EN2 "\"}\n");
    char *p = path_join(f->in, "big.jsonl");
    write_file(p, buf, n, 0);
    free(buf);
    const char *args[] = {"-c", "none", "-q", "-t", "2", "-o", f->out, p, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "docs_kept"), 2);
    json_decref(st);
    char *out2 = path_join(f->dir, "out2");
    const char *args2[] = {"-c", "none", "-q", "--keep-rejected", "--max-line", "1M", "-o", out2, p, NULL};
    assert_int_equal(run_cli(args2, NULL, NULL), 0);
    st = read_stats(out2);
    assert_int_equal(rejected(st, "line_too_long"), 1);
    assert_int_equal(stat_int(st, "docs_kept"), 1);
    assert_true(invariant_holds(st));
    json_t *rej = read_records(P(out2, "rejected"), 0);
    assert_true(json_integer_value(json_object_get(json_array_get(rej, 0), "bytes")) > (json_int_t)(64u << 20));
    json_decref(rej);
    json_decref(st);
    free(out2);
    free(p);
}

static void test_unreadable_and_missing_input(void **state)
{
    cli_fx *f = *state;
    char *missing = path_join(f->in, "nope.jsonl");
    char *err = NULL;
    const char *args[] = {"-c", "none", "-q", "-o", f->out, missing, NULL};
    assert_int_equal(run_cli(args, NULL, &err), 1);
    assert_non_null(strstr(err, "nope.jsonl"));
    free(err);
    /* a file that opens but cannot be read (EISDIR through a .jsonl name that is a folder is walked, so
     * use /proc/self/mem: open succeeds, read fails) */
    const char *args2[] = {"-c", "none", "-q", "-o", f->out, "/proc/self/mem", NULL};
    assert_int_equal(run_cli(args2, NULL, &err), 1);
    assert_non_null(strstr(err, "/proc/self/mem"));
    free(err);
    free(missing);
}

static void test_output_dir_checks(void **state)
{
    cli_fx *f = *state;
    char *in = fixture(f, "a.jsonl", "{\"text\":\"" EN1 "\"}\n", 0);
    char *err = NULL;
    const char *bad[] = {"-c", "none", "-q", "-o", "/proc/corpusprep-cannot-write-here", in, NULL};
    assert_int_equal(run_cli(bad, NULL, &err), 1);
    assert_non_null(strstr(err, "/proc/corpusprep-cannot-write-here"));
    free(err);
    const char *args[] = {"-c", "none", "-q", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    /* a second run into the same folder is refused: exit 2 */
    assert_int_equal(run_cli(args, NULL, &err), 2);
    assert_non_null(strstr(err, "not empty"));
    free(err);
    /* --force replaces the previous output but keeps unrelated files */
    char *keep = path_join(f->out, "notes.txt");
    write_file(keep, "x", 1, 0);
    const char *force[] = {"-c", "none", "-q", "--force", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(force, NULL, NULL), 0);
    assert_int_equal(access(keep, F_OK), 0);
    assert_int_equal(count_files(f->out, ".jsonl.gz"), 1);
    free(keep);
    free(in);
}

static void test_stdin_zstd_and_dirs(void **state)
{
    cli_fx *f = *state;
    mkdir(P(f->in, "sub"), 0755);
    char *x = fixture(f, "sub/2.jsonl", "{\"id\":\"second\",\"text\":\"" EN2 "\"}\n", 0);
    char *y = fixture(f, "sub/1.jsonl.gz", "{\"id\":\"first\",\"text\":\"" EN1 "\"}\n", 1);
    char *z = fixture(f, "sub/ignored.txt", "{\"id\":\"no\",\"text\":\"" EN1 "\"}\n", 0);
    const char *args[] = {"-c", "none", "-q", "--compress", "zstd", "-o", f->out, P(f->in, "sub"), NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *kept = read_records(f->out, 1);
    assert_int_equal(json_array_size(kept), 2);
    assert_string_equal(str(json_array_get(kept, 0), "id"), "first");
    assert_string_equal(str(json_array_get(kept, 1), "id"), "second");
    assert_int_equal(count_files(f->out, ".jsonl.zst"), 1);
    json_decref(kept);
    char *out2 = path_join(f->dir, "o2");
    const char *args2[] = {"-c", "none", "-q", "-o", out2, "-", NULL};
    assert_int_equal(run_cli(args2, y, NULL), 0);
    kept = read_records(out2, 1);
    assert_int_equal(json_array_size(kept), 1);
    assert_string_equal(str(json_array_get(kept, 0), "id"), "first");
    json_decref(kept);
    free(out2);
    free(x);
    free(y);
    free(z);
}

/* A corpus of many small batches: languages, duplicates, bad lines. */
static char *mixed_corpus(cli_fx *f)
{
    static const char *texts[] = {EN1, EN2, NL1,
        "Die Regierung hat am Dienstag beschlossen, dass die neue Brücke über den Fluss im nächsten Frühjahr für den Verkehr geöffnet wird.",
        "Le gouvernement a décidé mardi que le nouveau pont sur la rivière sera ouvert à la circulation au printemps prochain.",
        "El gobierno decidió el martes que el nuevo puente sobre el río se abrirá al tráfico la próxima primavera."};
    size_t cap = 4 << 20, n = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < 6000; i++) {
        if (i % 97 == 5)
            n += (size_t)snprintf(buf + n, cap - n, "{\"id\":\"bad%d\",\"text\":\n", i);
        else if (i % 7 == 3)
            n += (size_t)snprintf(buf + n, cap - n, "{\"id\":\"m%d\",\"text\":\"%s\"}\n", i, texts[i % 6]);
        else
            n += (size_t)snprintf(buf + n, cap - n, "{\"id\":\"m%d\",\"text\":\"%s Number %d, item %d.\"}\n", i,
                                  texts[i % 6], i * 7919 % 10007, i);
    }
    char *p = path_join(f->in, "mixed.jsonl.gz");
    write_file(p, buf, n, 1);
    free(buf);
    return p;
}

static void test_threads_byte_identical(void **state)
{
    cli_fx *f = *state;
    char *in = mixed_corpus(f);
    char *cfg = path_join(f->dir, "small-batches.json");
    const char *cj = "{\"input\":{\"batch_bytes\":\"16K\"},\"output\":{\"shard_size\":\"64K\"},\"clean\":false,\"filter\":false}";
    write_file(cfg, cj, strlen(cj), 0);
    char *o1 = path_join(f->dir, "t1"), *o2 = path_join(f->dir, "t2"), *o3 = path_join(f->dir, "t3");
    const char *a1[] = {"-q", "-c", cfg, "--keep-rejected", "--split-by", "lang", "-t", "1", "-o", o1, in, NULL};
    const char *a2[] = {"-q", "-c", cfg, "--keep-rejected", "--split-by", "lang", "-t", "2", "-o", o2, in, NULL};
    const char *a3[] = {"-q", "-c", cfg, "--keep-rejected", "--split-by", "lang", "-t", "2", "-o", o3, in, NULL};
    assert_int_equal(run_cli(a1, NULL, NULL), 0);
    assert_int_equal(run_cli(a2, NULL, NULL), 0);
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    assert_true(count_files(o1, ".jsonl.gz") > 6); /* several languages, several shards */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd %s && find . -name 'part-*' | sort > /tmp/cp-l1.$$ && cd %s && find . -name 'part-*' | sort > /tmp/cp-l2.$$ && "
             "cmp -s /tmp/cp-l1.$$ /tmp/cp-l2.$$ && rm -f /tmp/cp-l1.$$ /tmp/cp-l2.$$ && "
             "for x in $(cd %s && find . -name 'part-*'); do cmp -s %s/$x %s/$x || exit 1; cmp -s %s/$x %s/$x || exit 1; gzip -t %s/$x || exit 1; done",
             o1, o2, o1, o1, o2, o1, o3, o1);
    assert_int_equal(system(cmd), 0);
    json_t *s1 = read_stats(o1), *s2 = read_stats(o2);
    assert_int_equal(stat_int(s1, "docs_in"), 6000);
    assert_true(invariant_holds(s1));
    assert_true(json_equal(json_object_get(s1, "docs_rejected"), json_object_get(s2, "docs_rejected")));
    assert_true(json_equal(json_object_get(s1, "langs"), json_object_get(s2, "langs")));
    assert_true(rejected(s1, "dup_exact") > 700);
    json_decref(s1);
    json_decref(s2);
    free(o1);
    free(o2);
    free(o3);
    free(cfg);
    free(in);
}

static void test_config_precedence(void **state)
{
    cli_fx *f = *state;
    char *cfg = path_join(f->dir, "c.json");
    const char *cj = "{\"output\":{\"level\":6,\"compress\":\"zstd\"}}";
    write_file(cfg, cj, strlen(cj), 0);
    char *pc = path_join(f->dir, "printed.json");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s -c %s --level 3 --print-config > %s",
             getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep", cfg, pc);
    assert_int_equal(system(cmd), 0);
    json_t *t = json_load_file(pc, 0, NULL);
    assert_non_null(t);
    json_t *out = json_object_get(t, "output");
    assert_int_equal(json_integer_value(json_object_get(out, "level")), 3);     /* flag wins */
    assert_string_equal(json_string_value(json_object_get(out, "compress")), "zstd"); /* file over default */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "langid"), "sample_bytes")) > 0, 1);
    json_decref(t);
    /* what --print-config prints can be given back with -c and prints the same */
    char *pc2 = path_join(f->dir, "printed2.json");
    snprintf(cmd, sizeof cmd, "%s -c %s --print-config > %s && cmp -s %s %s",
             getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep", pc, pc2, pc, pc2);
    assert_int_equal(system(cmd), 0);
    free(pc2);
    const char *bad = "{\"output\":{\"levle\":6}}";
    write_file(cfg, bad, strlen(bad), 0);
    char *err = NULL;
    const char *args[] = {"-c", cfg, "--print-config", NULL};
    assert_int_equal(run_cli(args, NULL, &err), 2);
    assert_non_null(strstr(err, "output.levle"));
    free(err);
    const char *usage[] = {"--no-such-flag", NULL};
    assert_int_equal(run_cli(usage, NULL, NULL), 2);
    const char *noout[] = {"x.jsonl", NULL};
    assert_int_equal(run_cli(noout, NULL, NULL), 2);
    free(pc);
    free(cfg);
}

/* A writer that never finishes keeps corpusprep reading; SIGINT must end it with 130, no .tmp left. threads
 * is the -t value: "1" takes the path where the feeder reads only when asked. */
static void interrupt_run(cli_fx *f, const char *threads)
{
    rm_rf(f->out);
    char *fifo = path_join(f->dir, "fifo");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t feeder = fork();
    if (feeder == 0) {
        int devnull = open("/dev/null", O_WRONLY); /* never hold the test runner's output pipe */
        dup2(devnull, 1);
        dup2(devnull, 2);
        FILE *w = fopen(fifo, "w");
        for (int i = 0; i < 2000000 && w; i++)
            if (fprintf(w, "{\"id\":\"i%d\",\"text\":\"%s %d\"}\n", i, EN1, i) < 0)
                break;
        _exit(0);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 2);
        const char *bin = getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep";
        execl(bin, bin, "-c", "none", "-q", "-t", threads, "-o", f->out, fifo, (char *)NULL);
        _exit(127);
    }
    /* wait until the first shard is being written */
    for (int i = 0; i < 600 && count_files(f->out, ".tmp") == 0; i++)
        usleep(50000);
    int started = count_files(f->out, ".tmp") > 0;
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    kill(feeder, SIGKILL);
    waitpid(feeder, NULL, 0);
    assert_true(started);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_int_equal(count_files(f->out, ".tmp"), 0);
    free(fifo);
}

static void test_interrupt_removes_partial_output(void **state)
{
    interrupt_run(*state, "2");
    interrupt_run(*state, "1");
}

/* The live progress line goes to a terminal only: under script(1) it shows, into a pipe it does not. */
static void test_progress_only_on_terminal(void **state)
{
    cli_fx *f = *state;
    char *in = fixture(f, "p.jsonl", "{\"text\":\"" EN1 "\"}\n{\"text\":\"" EN2 "\"}\n", 0);
    char *log = path_join(f->dir, "tty.log");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "script -qec '%s -c none -o %s %s' /dev/null < /dev/null > %s 2>&1",
             getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep", f->out, in, log);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(log, "rb");
    char buf[8192] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    assert_non_null(strstr(buf, "MB read"));
    assert_non_null(strstr(buf, "docs/s"));
    char *err = NULL;
    const char *args[] = {"-c", "none", "--force", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, &err), 0);
    assert_null(strstr(err, "MB read"));
    assert_non_null(strstr(err, "2 docs in")); /* the summary still comes */
    free(err);
    free(log);
    free(in);
}

/* Runs the default pipeline on f->in/seed.jsonl (written by the caller) and returns the records written,
 * kept ones only when kept_only; the caller owns the array. */
static json_t *run_on_seed(cli_fx *f, int kept_only)
{
    char *p = path_join(f->in, "seed.jsonl");
    const char *args[] = {"-q", "--keep-rejected", "-o", f->out, p, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    free(p);
    return read_records(f->out, kept_only);
}

static void test_seed_page_is_dutch(void **state)
{
    cli_fx *f = *state;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import json,sys; print(json.dumps({'id':'seed','text':open(sys.argv[1]).read()}))\" "
             "%s/seed/news-nl-reuters-mirror.txt > %s/seed.jsonl",
             sh, f->in);
    assert_int_equal(system(cmd), 0);
    json_t *all = run_on_seed(f, 0);
    json_t *seed = find_by_id(all, "seed");
    assert_non_null(seed);
    assert_string_equal(str(seed, "lang"), "nl");
    json_decref(all);
}

/* Issue 3's end-to-end case: the seed page, cleaned together with an earlier page of the same sites (which
 * repeats the standards footer and the mirror's author blurb), keeps its nine body paragraphs and loses
 * every piece of boilerplate. */
static void test_seed_page_cleaned(void **state)
{
    cli_fx *f = *state;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 - %s/seed/news-nl-reuters-mirror.txt %s/seed.jsonl <<'PY'\n"
             "import json, sys\n"
             "seed = open(sys.argv[1], encoding='utf-8').read()\n"
             "lines = seed.split('\\n')\n"
             "footer = [l for l in lines if l.startswith('Onze normen')][0]\n"
             "blurb = [l for l in lines if l.startswith('\\u201cInternetverslaving')][0]\n"
             "other = '\\n'.join([\n"
             "  'DEN HAAG, 7 januari (Reuters) - Het kabinet heeft vrijdag een nieuw plan gepresenteerd om de "
             "woningnood in de grote steden aan te pakken, met meer geld voor gemeenten en snellere procedures.',\n"
             "  'Volgens de minister moeten er de komende tien jaar bijna een miljoen woningen bij komen, vooral "
             "voor starters en mensen met een middeninkomen die nu geen huis kunnen vinden.',\n"
             "  'Gemeenten reageerden voorzichtig positief, maar zeiden dat het geld pas effect heeft als ook de "
             "regels voor bouwen eenvoudiger worden en er genoeg bouwvakkers zijn.',\n"
             "  'Verslag door Bart Meijer; Bewerking door Jan Harvey',\n"
             "  footer, blurb])\n"
             "with open(sys.argv[2], 'w', encoding='utf-8') as o:\n"
             "  o.write(json.dumps({'id': 'other', 'text': other}, ensure_ascii=False) + '\\n')\n"
             "  o.write(json.dumps({'id': 'seed', 'text': seed}, ensure_ascii=False) + '\\n')\n"
             "PY",
             sh, f->in);
    assert_int_equal(system(cmd), 0);
    json_t *kept = run_on_seed(f, 1);
    json_t *seed = find_by_id(kept, "seed");
    assert_non_null(seed);
    const char *t = str(seed, "text");
    assert_string_equal(str(seed, "lang"), "nl");
    static const char *const body[] = {
        "MOSKOU, 8 januari (Reuters) \xE2\x80\x93 Rusland heeft boos gereageerd",
        "Op vrijdag betwistte Blingen de rechtvaardiging",
        "om ze eruit te krijgen\xE2\x80\x9D, zei Blingen.",
        "Het Russische ministerie van Buitenlandse Zaken heeft de opmerking",
        "niet beroofd of verkracht te worden\xE2\x80\x9D, zei het ministerie",
        "maar ook door 300 jaar Amerikaanse regeringen.",
        "Het ministerie zei dat de vestiging in Kazachstan",
        "over de crisis in Oekra\xC3\xAF" "ne, die maandag begint.",
        "die het van plan is binnen te vallen.",
    };
    for (size_t i = 0; i < sizeof body / sizeof *body; i++) {
        if (!strstr(t, body[i]))
            fail_msg("body paragraph %zu missing: %s\n--- text:\n%s", i, body[i], t);
    }
    static const char *const gone[] = {
        "Bestandsfoto", "Meld u nu aan", "Registratie", "Lees verder", "More Stories", "Onze normen",
        "Internetverslaving", "Poetin beloofde", "Kramatorsk", "bankbiljetten",
    };
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        if (strstr(t, gone[i]))
            fail_msg("boilerplate left: %s\n--- text:\n%s", gone[i], t);
    json_decref(kept);
}

static void test_masakhanews_acceptance(void **state)
{
    cli_fx *f = *state;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    char *in = path_join(sh, "data/masakhanews.jsonl.gz");
    const char *args[] = {"-q", "--keep-rejected", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(f->out);
    assert_int_equal(stat_int(st, "docs_in"), 20168);
    assert_true(invariant_holds(st));
    assert_true(rejected(st, "dup_exact") >= 131);
    json_decref(st);
    /* issue 12: its report, as Chromium renders it (skipped without Chromium) */
    int rc = check_report_html(f->out, "masakhanews");
    if (rc != 77)
        assert_int_equal(rc, 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 %s/eval/langid_score.py %s %s | tail -n 1 | "
             "python3 -c \"import sys; a=float(sys.stdin.read().split()[2]); print('langid micro accuracy', a); sys.exit(a < 0.84)\"",
             sh, in, f->out);
    assert_int_equal(system(cmd), 0);
    free(in);
}

/* The fastText backend end to end: -t 1 and -t 2 byte-identical; every kept record's lang and lang_score are
 * what the library gives for its text; --langs and --min-lang-score work as with CLD2; a missing or broken
 * model is a configuration error (exit 2) before any output. */
static void test_fasttext_backend(void **state)
{
    cli_fx *f = *state;
    const char *model = lid_model();
    if (!model)
        skip();
    char *in = mixed_corpus(f);
    char cj[4096];
    snprintf(cj, sizeof cj, "{\"input\":{\"batch_bytes\":\"16K\"},\"output\":{\"shard_size\":\"64K\"},\"clean\":false,"
                            "\"filter\":false,\"langid\":{\"backend\":\"fasttext\",\"model\":\"%s\"}}", model);
    const char *cfg = P(f->dir, "ft.json");
    write_file(cfg, cj, strlen(cj), 0);
    const char *o1 = P(f->dir, "t1"), *o2 = P(f->dir, "t2");
    /* without dedup, so that every document reaches language ID */
    const char *a1[] = {"-q", "-c", cfg, "--no-dedup", "--no-near-dedup", "--keep-rejected", "--split-by", "lang",
                        "-t", "1", "-o", o1, in, NULL};
    const char *a2[] = {"-q", "-c", cfg, "--no-dedup", "--no-near-dedup", "--keep-rejected", "--split-by", "lang",
                        "-t", "2", "-o", o2, in, NULL};
    assert_int_equal(run_cli(a1, NULL, NULL), 0);
    assert_int_equal(run_cli(a2, NULL, NULL), 0);
    assert_true(count_files(o1, ".jsonl.gz") > 6);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd %s && find . -name 'part-*' | sort > %s/l1 && cd %s && find . -name 'part-*' | sort > %s/l2 && "
             "cmp -s %s/l1 %s/l2 && for x in $(cat %s/l1); do cmp -s %s/$x %s/$x || exit 1; done",
             o1, f->dir, o2, f->dir, f->dir, f->dir, f->dir, o1, o2);
    assert_int_equal(system(cmd), 0);

    char err[512];
    cp_langid *lid = cp_langid_open(CP_LANGID_FASTTEXT, model, err, sizeof err);
    assert_non_null(lid);
    json_t *kept = read_records(o1, 1);
    assert_true(json_array_size(kept) > 1000);
    size_t i;
    json_t *r;
    json_array_foreach(kept, i, r) {
        json_t *t = json_object_get(r, "text");
        cp_lang_result want;
        cp_langid_run(lid, json_string_value(t), json_string_length(t), 512, &want);
        assert_string_equal(str(r, "lang"), want.code);
        double got = json_number_value(json_object_get(r, "lang_score"));
        assert_true(got - want.score <= 0.00005 && want.score - got <= 0.00005);
        assert_null(json_object_get(r, "lang_script")); /* lid.176 names no script */
    }
    json_decref(kept);
    cp_langid_close(lid);
    json_t *st = read_stats(o1);
    json_t *langs = json_object_get(st, "langs");
    assert_true(json_integer_value(json_object_get(langs, "en")) > 1000);
    assert_true(json_integer_value(json_object_get(langs, "nl")) > 500);
    assert_true(invariant_holds(st));
    json_decref(st);

    const char *o3 = P(f->dir, "t3");
    const char *a3[] = {"-q", "-c", cfg, "--no-dedup", "--no-near-dedup", "--langs", "de,nl", "--min-lang-score", "0.99",
                        "-o", o3, in, NULL};
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    st = read_stats(o3);
    assert_true(rejected(st, "lang:not_selected") > 3000);
    assert_true(rejected(st, "lang:low_score") > 100); /* the German and Dutch ones score 0.978 and up */
    assert_true(invariant_holds(st));
    kept = read_records(o3, 1);
    assert_true(json_array_size(kept) > 500);
    json_array_foreach(kept, i, r) {
        assert_true(!strcmp(str(r, "lang"), "de") || !strcmp(str(r, "lang"), "nl"));
        assert_true(json_number_value(json_object_get(r, "lang_score")) >= 0.99);
    }
    json_decref(kept);
    json_decref(st);

    /* a model that is not there: exit 2, named, nothing written */
    snprintf(cj, sizeof cj, "{\"langid\":{\"backend\":\"fasttext\",\"model\":\"%s/nope.ftz\"}}", f->dir);
    write_file(cfg, cj, strlen(cj), 0);
    const char *o4 = P(f->dir, "t4");
    const char *a4[] = {"-q", "-c", cfg, "-o", o4, in, NULL};
    char *msg = NULL;
    assert_int_equal(run_cli(a4, NULL, &msg), 2);
    assert_non_null(strstr(msg, "nope.ftz"));
    assert_int_equal(count_files(o4, ".jsonl.gz"), 0);
    free(msg);
    free(in);
}

/* A model that names scripts (GlotLID's labels, here a tiny one trained by the fasttext CLI): lang_script is
 * written, and an input member of that name does not survive beside it. */
static void test_fasttext_lang_script(void **state)
{
    cli_fx *f = *state;
    if (!have_fasttext_cli())
        skip();
    FILE *t = fopen(P(f->dir, "train.txt"), "w");
    for (int i = 0; i < 30; i++)
        fprintf(t, "__label__eng_Latn the committee said the bridge will open next spring\n"
                   "__label__nld_Latn de gemeenteraad heeft besloten dat de brug open gaat\n");
    fclose(t);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "fasttext supervised -input %s -output %s -dim 8 -epoch 50 -lr 0.5 -minCount 1 "
                              "-bucket 1000 -thread 1 -verbose 0 >/dev/null", P(f->dir, "train.txt"), P(f->dir, "m"));
    assert_int_equal(system(cmd), 0);
    char cj[4096];
    snprintf(cj, sizeof cj, "{\"clean\":false,\"filter\":false,\"langid\":{\"backend\":\"fasttext\",\"model\":\"%s\"}}",
             P(f->dir, "m.bin"));
    const char *cfg = P(f->dir, "glot.json");
    write_file(cfg, cj, strlen(cj), 0);
    char *in = fixture(f, "a.jsonl", "{\"id\":\"a\",\"text\":\"" EN1 "\",\"lang_script\":\"Cyrl\"}\n"
                                     "{\"id\":\"b\",\"text\":\"" NL1 "\"}\n", 0);
    const char *args[] = {"-q", "-c", cfg, "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *kept = read_records(f->out, 1);
    assert_int_equal(json_array_size(kept), 2);
    assert_string_equal(str(find_by_id(kept, "a"), "lang"), "en");
    assert_string_equal(str(find_by_id(kept, "a"), "lang_script"), "Latn");
    assert_string_equal(str(find_by_id(kept, "b"), "lang"), "nl");
    assert_string_equal(str(find_by_id(kept, "b"), "lang_script"), "Latn");
    json_decref(kept);
    size_t all_len;
    char *all = read_all_shards(f->out, &all_len);
    assert_null(strstr(all, "Cyrl"));
    free(all);
    /* dolma documents carry it in metadata */
    const char *od = P(f->dir, "dolma");
    const char *ad[] = {"-q", "-c", cfg, "--format", "dolma", "-o", od, in, NULL};
    assert_int_equal(run_cli(ad, NULL, NULL), 0);
    kept = read_records(od, 1);
    assert_int_equal(json_array_size(kept), 2);
    json_t *meta = json_object_get(find_by_id(kept, "a"), "metadata");
    assert_string_equal(str(meta, "lang"), "en");
    assert_string_equal(str(meta, "lang_script"), "Latn");
    json_decref(kept);
    free(in);
}

/* JSON allows "\u0000" in a string: an id holding it is one id, never cut at the NUL, wherever it is written. */
static int is_id(const json_t *v, const char *want, size_t n)
{
    return json_is_string(v) && json_string_length(v) == n && !memcmp(json_string_value(v), want, n);
}

/* The JSON lines of a file, parsed with "\u0000" allowed */
static json_t *load_lines(const char *path)
{
    json_t *a = json_array();
    size_t len;
    char *s = read_file(path, &len);
    assert_non_null(s);
    for (char *line = s, *nl; line < s + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(s + len - line));
        assert_non_null(nl);
        json_error_t e;
        json_t *j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, &e);
        if (!j)
            fail_msg("%s: %s", path, e.text);
        json_array_append_new(a, j);
    }
    free(s);
    return a;
}

static void test_id_with_nul_kept_whole(void **state)
{
    static const char first[] = "a\0first", second[] = "a\0second";
    cli_fx *f = *state;
    char *in = fixture(f, "a.jsonl",
                       "{\"id\":\"a\\u0000first\",\"text\":\"" EN1 "\"}\n"
                       "{\"id\":\"a\\u0000second\",\"text\":\"" EN1 "\"}\n"
                       "{\"id\":\"a\",\"text\":\"" EN2 "\"}\n",
                       0);
    const char *args[] = {"-c", "none", "-q", "--keep-rejected", "-o", f->out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *kept = read_records(f->out, 1), *rej = read_records(P(f->out, "rejected"), 0);
    assert_int_equal(json_array_size(kept), 2);
    assert_true(is_id(json_object_get(json_array_get(kept, 0), "id"), first, 7));
    assert_int_equal(json_array_size(rej), 1);
    assert_true(is_id(json_object_get(json_array_get(rej, 0), "id"), second, 8));
    assert_true(is_id(json_object_get(json_array_get(rej, 0), "dup_of"), first, 7));
    /* byte for byte: the kept id as the input wrote it, and dup_of escaped the same way */
    size_t len;
    char *all = read_all_shards(f->out, &len);
    assert_non_null(strstr(all, "{\"id\":\"a\\u0000first\",\"text\":"));
    assert_non_null(strstr(all, "\"dup_of\":\"a\\u0000first\""));
    free(all);

    /* --explain (in a folder of its own: read_records would take explain.jsonl for a shard) */
    const char *out_ex = P(f->dir, "explain");
    const char *eargs[] = {"-c", "none", "-q", "--explain", "10", "-o", out_ex, in, NULL};
    assert_int_equal(run_cli(eargs, NULL, NULL), 0);
    json_t *ex = load_lines(P(out_ex, "explain.jsonl"));
    assert_int_equal(json_array_size(ex), 3);
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(ex, i), *id = json_object_get(r, "id");
        if (is_id(id, second, 8)) {
            assert_true(is_id(json_object_get(r, "dup_of"), first, 7));
            seen++;
        }
        seen += is_id(id, first, 7);
    }
    assert_int_equal(seen, 2);
    /* the report's examples: the duplicate is the only dup_exact, so always its example */
    json_error_t e;
    json_t *rex = json_load_file(P(f->out, "report-examples.json"), JSON_ALLOW_NUL, &e);
    if (!rex)
        fail_msg("report-examples.json: %s", e.text);
    json_t *dup = json_array_get(json_object_get(json_object_get(rex, "rejected"), "dup_exact"), 0);
    assert_true(is_id(json_object_get(dup, "id"), second, 8));
    assert_true(is_id(json_object_get(dup, "dup_of"), first, 7));
    /* the report shows it as the record writes it */
    char *html = read_file(P(f->out, "report.html"), &len);
    assert_non_null(html);
    assert_non_null(strstr(html, "a\\u0000second"));
    free(html);

    /* dolma keeps it whole too */
    const char *out2 = P(f->dir, "dolma");
    const char *dargs[] = {"-c", "none", "-q", "--format", "dolma", "-o", out2, in, NULL};
    assert_int_equal(run_cli(dargs, NULL, NULL), 0);
    json_t *dk = read_records(out2, 1);
    assert_int_equal(json_array_size(dk), 2);
    assert_true(is_id(json_object_get(json_array_get(dk, 0), "id"), first, 7));
    json_decref(dk);
    json_decref(rex);
    json_decref(ex);
    json_decref(kept);
    json_decref(rej);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_run, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_with_nul_kept_whole, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_and_blank_lines, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_final_newline_and_crlf, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_are_rejected_not_dropped, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_and_nul, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_gzip, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_in_gzip_and_fake_gz, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_and_missing_input, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_output_dir_checks, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_stdin_zstd_and_dirs, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_threads_byte_identical, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_precedence, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_removes_partial_output, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_progress_only_on_terminal, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_page_is_dutch, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_page_cleaned, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_masakhanews_acceptance, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_fasttext_backend, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_fasttext_lang_script, cli_fx_setup, cli_fx_teardown),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
