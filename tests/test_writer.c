/* Tests for writer: compressed chunks (gzip members without a timestamp, at every level, zstd frames, plain
 * copies) and their concatenations, output folder preparation with and without --force, rolling shards per
 * stream, abort, and atomic small files. Everything is written below a fresh temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "cli_util.h"
#include "corpusprep/config.h"
#include "corpusprep/writer.h"

static const char *root; /* the folder of the group's fixture (cli_fx) */

/* root/rel, freed by the teardown */
static const char *path(const char *rel) { return P(root, rel); }

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void touch(const char *p, const char *content)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *p, size_t *n)
{
    char *d = read_file(p, n);
    if (!d)
        fail_msg("cannot read %s", p);
    return d;
}

/* Number of entries in folder p whose names contain needle (all when NULL). */
static int count_entries(const char *p, const char *needle)
{
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!needle || strstr(e->d_name, needle)))
            n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    int r = cli_fx_setup(state);
    root = ((cli_fx *)*state)->dir;
    return r;
}

/* Some lines of JSON-ish text, different per seed. */
static void make_lines(cp_buf *b, int seed, int lines)
{
    for (int i = 0; i < lines; i++)
        cp_buf_printf(b, "{\"id\":\"%d-%d\",\"text\":\"line %d of chunk %d \xC3\xA9\"}\n", seed, i, i * seed, seed);
}

/* Inflates a whole buffer of gzip members (zlib, windowBits 31 restarted at each member end). */
static void gunzip_all(const char *in, size_t n, cp_buf *out, int *members)
{
    *members = 0;
    size_t pos = 0;
    while (pos < n) {
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 31), Z_OK);
        z.next_in = (Bytef *)in + pos;
        z.avail_in = (uInt)(n - pos);
        int r;
        do {
            cp_buf_reserve(out, 65536);
            z.next_out = (Bytef *)out->data + out->len;
            z.avail_out = 65536;
            r = inflate(&z, Z_NO_FLUSH);
            if (r != Z_OK && r != Z_STREAM_END)
                fail_msg("inflate: %d", r);
            out->len += 65536 - z.avail_out;
        } while (r != Z_STREAM_END);
        pos = n - z.avail_in;
        inflateEnd(&z);
        (*members)++;
    }
}

static void test_gzip(void **state)
{
    (void)state;
    cp_compressor *c = cp_compressor_create(CP_COMPRESS_GZIP, 6);
    cp_buf in1 = {0}, in2 = {0}, z = {0};
    make_lines(&in1, 1, 500);
    make_lines(&in2, 2, 700);
    assert_int_equal(cp_compress(c, in1.data, in1.len, &z), 0);
    size_t first = z.len;
    assert_true(first > 18 && first < in1.len);
    /* the header: magic, deflate, no flags, mtime 0 */
    const unsigned char *h = (const unsigned char *)z.data;
    assert_int_equal(h[0], 0x1f);
    assert_int_equal(h[1], 0x8b);
    assert_int_equal(h[2], 8);
    assert_int_equal(h[3], 0);
    assert_int_equal(h[4] | h[5] | h[6] | h[7], 0);
    /* the second member is appended after the first, and also has no timestamp */
    assert_int_equal(cp_compress(c, in2.data, in2.len, &z), 0);
    h = (const unsigned char *)z.data + first;
    assert_int_equal(h[0], 0x1f);
    assert_int_equal(h[4] | h[5] | h[6] | h[7], 0);
    /* an empty chunk is a valid (empty) member */
    assert_int_equal(cp_compress(c, "", 0, &z), 0);

    cp_buf out = {0};
    int members;
    gunzip_all(z.data, z.len, &out, &members);
    assert_int_equal(members, 3);
    assert_int_equal(out.len, in1.len + in2.len);
    assert_memory_equal(out.data, in1.data, in1.len);
    assert_memory_equal(out.data + in1.len, in2.data, in2.len);

    /* the same input gives the same bytes (no timestamp, no state kept between chunks) */
    cp_compressor *c2 = cp_compressor_create(CP_COMPRESS_GZIP, 6);
    cp_buf z2 = {0};
    assert_int_equal(cp_compress(c2, in2.data, in2.len, &z2), 0);
    assert_true(z2.len < z.len - first);
    assert_memory_equal(z2.data, z.data + first, z2.len);
    cp_compressor_destroy(c2);

    /* gzread reads the concatenation as one file */
    const char *p = path("two.gz");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(z.data, 1, z.len, f), z.len);
    fclose(f);
    gzFile g = gzopen(p, "rb");
    assert_non_null(g);
    cp_buf r = {0};
    cp_buf_reserve(&r, out.len + 100);
    int k;
    while ((k = gzread(g, r.data + r.len, (unsigned)(r.cap - r.len - 1))) > 0)
        r.len += (size_t)k;
    assert_int_equal(k, 0);
    gzclose(g);
    assert_int_equal(r.len, out.len);
    assert_memory_equal(r.data, out.data, out.len);

    cp_buf_free(&r);
    cp_buf_free(&out);
    cp_buf_free(&z2);
    cp_buf_free(&z);
    cp_buf_free(&in1);
    cp_buf_free(&in2);
    cp_compressor_destroy(c);
    cp_compressor_destroy(NULL);
}

/* --level for gzip: 0-8 are libdeflate's 0-8, 9 is its 12; every level makes one member without a
 * timestamp that zlib reads back, and the bytes are libdeflate's at the mapped level. */
static void test_gzip_levels(void **state)
{
    (void)state;
    cp_buf in = {0};
    make_lines(&in, 3, 3000);
    size_t size1 = 0;
    for (int level = 0; level <= 9; level++) {
        int want = level == 9 ? 12 : level;
        assert_int_equal(cp_gzip_libdeflate_level(level), want);
        cp_compressor *c = cp_compressor_create(CP_COMPRESS_GZIP, level);
        cp_buf z = {0}, out = {0};
        assert_int_equal(cp_compress(c, in.data, in.len, &z), 0);
        const unsigned char *h = (const unsigned char *)z.data;
        assert_int_equal(h[4] | h[5] | h[6] | h[7], 0);
        int members;
        gunzip_all(z.data, z.len, &out, &members);
        assert_int_equal(members, 1);
        assert_int_equal(out.len, in.len);
        assert_memory_equal(out.data, in.data, in.len);

        struct libdeflate_compressor *ld = libdeflate_alloc_compressor(want);
        assert_non_null(ld);
        size_t bound = libdeflate_gzip_compress_bound(ld, in.len);
        char *direct = malloc(bound);
        size_t n = libdeflate_gzip_compress(ld, in.data, in.len, direct, bound);
        assert_int_equal(n, z.len);
        assert_memory_equal(direct, z.data, n);
        free(direct);
        libdeflate_free_compressor(ld);

        if (level == 0)
            assert_true(z.len > in.len); /* stored */
        if (level == 1)
            size1 = z.len;
        if (level == 9)
            assert_true(z.len < size1);
        cp_buf_free(&z);
        cp_buf_free(&out);
        cp_compressor_destroy(c);
    }
    cp_buf_free(&in);
}

static void test_zstd(void **state)
{
    (void)state;
    cp_compressor *c = cp_compressor_create(CP_COMPRESS_ZSTD, 3);
    cp_buf in1 = {0}, in2 = {0}, z = {0};
    make_lines(&in1, 3, 400);
    make_lines(&in2, 4, 900);
    assert_int_equal(cp_compress(c, in1.data, in1.len, &z), 0);
    size_t first = z.len;
    assert_true(first < in1.len);
    assert_int_equal(ZSTD_findFrameCompressedSize(z.data, z.len), first);
    assert_int_equal(cp_compress(c, in2.data, in2.len, &z), 0);
    assert_int_equal(cp_compress(c, "", 0, &z), 0);
    /* one call decompresses every frame of the concatenation */
    size_t total = in1.len + in2.len + 100;
    char *out = malloc(total);
    size_t r = ZSTD_decompress(out, total, z.data, z.len);
    assert_false(ZSTD_isError(r));
    assert_int_equal(r, in1.len + in2.len);
    assert_memory_equal(out, in1.data, in1.len);
    assert_memory_equal(out + in1.len, in2.data, in2.len);
    free(out);
    cp_buf_free(&z);
    cp_buf_free(&in1);
    cp_buf_free(&in2);
    cp_compressor_destroy(c);
}

static void test_none(void **state)
{
    (void)state;
    cp_compressor *c = cp_compressor_create(CP_COMPRESS_NONE, 1);
    cp_buf out = {0};
    assert_int_equal(cp_compress(c, "abc\n", 4, &out), 0);
    assert_int_equal(cp_compress(c, "de\n", 3, &out), 0);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.data, "abc\nde\n", 7);
    cp_buf_free(&out);
    cp_compressor_destroy(c);
}

static void test_prepare_new_and_nested(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(cp_output_prepare(path("a/b/c"), 0, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path("a/b/c"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_entries(path("a/b/c"), NULL), 0); /* the write probe is gone */
    /* an existing empty folder is fine, with and without force */
    assert_int_equal(cp_output_prepare(path("a/b/c"), 0, err, sizeof err), 0);
    assert_int_equal(cp_output_prepare(path("a/b/c"), 1, err, sizeof err), 0);
    /* a file in the way is an error (not a usage error) */
    touch(path("plainfile"), "x");
    err[0] = 0;
    assert_int_equal(cp_output_prepare(path("plainfile"), 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "plainfile"));
    err[0] = 0;
    assert_int_equal(cp_output_prepare(path("plainfile/sub"), 0, err, sizeof err), -1);
    assert_true(err[0]);
}

static void test_prepare_nonempty_and_force(void **state)
{
    (void)state;
    char err[512] = "";
    char o[512];
    snprintf(o, sizeof o, "%s", path("out"));
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), 0);
    /* a previous run's output, and things that are not */
    assert_int_equal(mkdir(path("out/nl"), 0777), 0);
    assert_int_equal(mkdir(path("out/rejected"), 0777), 0);
    assert_int_equal(mkdir(path("out/notes"), 0777), 0);
    assert_int_equal(mkdir(path("out/emptydir"), 0777), 0);
    touch(path("out/part-00000-00000.jsonl.gz"), "x");
    touch(path("out/part-00000-00001.jsonl.gz.tmp"), "x");
    touch(path("out/stats.json"), "{}");
    touch(path("out/nl/part-00000-00000.jsonl.gz"), "x");
    touch(path("out/rejected/part-00000-00000.jsonl.gz"), "x");
    touch(path("out/rejected/part-00000-00001.jsonl.gz"), "x");
    touch(path("out/README.txt"), "mine");
    touch(path("out/notes/todo.txt"), "mine");
    touch(path("out/stats.json.bak"), "mine");

    err[0] = 0;
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), -2);
    assert_non_null(strstr(err, "out"));
    assert_true(exists(path("out/part-00000-00000.jsonl.gz"))); /* nothing removed without force */
    /* even a single unrelated file makes the folder non-empty */
    assert_int_equal(cp_output_prepare(path("out/notes"), 0, err, sizeof err), -2);

    assert_int_equal(cp_output_prepare(o, 1, err, sizeof err), 0);
    assert_false(exists(path("out/part-00000-00000.jsonl.gz")));
    assert_false(exists(path("out/part-00000-00001.jsonl.gz.tmp")));
    assert_false(exists(path("out/stats.json")));
    assert_false(exists(path("out/nl")));
    assert_false(exists(path("out/rejected")));
    assert_true(exists(path("out/README.txt")));
    assert_true(exists(path("out/notes/todo.txt")));
    assert_true(exists(path("out/stats.json.bak")));
    assert_true(exists(path("out/emptydir")));   /* not a folder of part files: not ours to remove */

    /* a language folder that also holds the user's file loses only the part files */
    assert_int_equal(mkdir(path("out/de"), 0777), 0);
    touch(path("out/de/part-00000-00000.jsonl"), "x");
    touch(path("out/de/keep.txt"), "mine");
    assert_int_equal(cp_output_prepare(o, 1, err, sizeof err), 0);
    assert_false(exists(path("out/de/part-00000-00000.jsonl")));
    assert_true(exists(path("out/de/keep.txt")));
}

/* A symbolic link to a folder elsewhere is not part of the output: --force must not reach through it. */
static void test_prepare_force_symlink(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(mkdir(path("elsewhere"), 0777), 0);
    touch(path("elsewhere/part-00000-00000.jsonl.gz"), "precious");
    assert_int_equal(mkdir(path("out2"), 0777), 0);
    assert_int_equal(symlink(path("elsewhere"), path("out2/link")), 0);
    touch(path("out2/part-00000-00000.jsonl.gz"), "x");
    assert_int_equal(cp_output_prepare(path("out2"), 1, err, sizeof err), 0);
    assert_false(exists(path("out2/part-00000-00000.jsonl.gz")));
    assert_true(exists(path("elsewhere/part-00000-00000.jsonl.gz")));
}

/* Reads every shard of a stream in sequence order and returns the concatenation of their bytes. */
static int read_stream(const char *dir, const char *suffix, cp_buf *all)
{
    int n = 0;
    for (;; n++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/part-00003-%05d%s", dir, n, suffix);
        if (!exists(p))
            break;
        size_t len;
        char *d = slurp(p, &len);
        assert_true(len > 0);
        cp_buf_append(all, d, len);
        free(d);
    }
    return n;
}

static void test_writer_rolling(void **state)
{
    (void)state;
    char err[512] = "";
    char o[512];
    snprintf(o, sizeof o, "%s", path("roll"));
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), 0);
    cp_writer *w = cp_writer_create(o, 3, CP_COMPRESS_GZIP, 10000);
    cp_compressor *c = cp_compressor_create(CP_COMPRESS_GZIP, 1);
    cp_buf all = {0}, allrej = {0}, allnl = {0};
    uint64_t written = 0;
    for (int i = 0; i < 20; i++) {
        cp_buf lines = {0}, z = {0};
        make_lines(&lines, i + 1, 40); /* about 1.9 KB a chunk: 5 chunks a shard */
        cp_buf_append(&all, lines.data, lines.len);
        assert_int_equal(cp_compress(c, lines.data, lines.len, &z), 0);
        assert_int_equal(cp_writer_append(w, "", z.data, z.len, lines.len, err, sizeof err), 0);
        written += z.len;
        if (i % 4 == 0) {
            assert_int_equal(cp_writer_append(w, "rejected", z.data, z.len, lines.len, err, sizeof err), 0);
            cp_buf_append(&allrej, lines.data, lines.len);
            written += z.len;
        }
        if (i == 7) {
            assert_int_equal(cp_writer_append(w, "nl", z.data, z.len, lines.len, err, sizeof err), 0);
            cp_buf_append(&allnl, lines.data, lines.len);
            written += z.len;
        }
        cp_buf_free(&lines);
        cp_buf_free(&z);
    }
    /* while writing, the open shard of each stream is a temporary */
    assert_int_equal(count_entries(o, ".tmp"), 1);
    assert_int_equal(count_entries(path("roll/nl"), ".tmp"), 1);
    assert_int_equal(cp_writer_finish(w, err, sizeof err), 0);
    assert_int_equal(cp_writer_bytes(w), written);

    assert_int_equal(count_entries(o, ".tmp"), 0);
    assert_int_equal(count_entries(path("roll/rejected"), ".tmp"), 0);
    assert_int_equal(count_entries(path("roll/nl"), ".tmp"), 0);

    cp_buf gz = {0}, plain = {0};
    int shards = read_stream(o, ".jsonl.gz", &gz);
    assert_true(shards >= 3); /* about 37 KB of lines in 10000-byte shards */
    assert_int_equal(count_entries(o, "part-"), shards);
    int members;
    gunzip_all(gz.data, gz.len, &plain, &members);
    assert_int_equal(members, 20);
    assert_int_equal(plain.len, all.len);
    assert_memory_equal(plain.data, all.data, all.len);
    /* no shard holds more than shard_bytes of lines unless one chunk alone does */
    for (int s = 0; s < shards; s++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/part-00003-%05d.jsonl.gz", o, s);
        size_t len;
        char *d = slurp(p, &len);
        cp_buf one = {0};
        gunzip_all(d, len, &one, &members);
        assert_true(one.len <= 10000);
        assert_true(members >= 1);
        cp_buf_free(&one);
        free(d);
    }

    /* subfolder streams number their shards on their own */
    cp_buf rej = {0}, rejplain = {0};
    int rshards = read_stream(path("roll/rejected"), ".jsonl.gz", &rej);
    assert_true(rshards >= 1);
    gunzip_all(rej.data, rej.len, &rejplain, &members);
    assert_int_equal(rejplain.len, allrej.len);
    assert_memory_equal(rejplain.data, allrej.data, allrej.len);
    cp_buf nl = {0}, nlplain = {0};
    assert_int_equal(read_stream(path("roll/nl"), ".jsonl.gz", &nl), 1);
    gunzip_all(nl.data, nl.len, &nlplain, &members);
    assert_int_equal(nlplain.len, allnl.len);
    assert_memory_equal(nlplain.data, allnl.data, allnl.len);
    assert_int_equal(cp_writer_shards(w), (uint64_t)(shards + rshards + 1));

    cp_buf_free(&gz);
    cp_buf_free(&plain);
    cp_buf_free(&rej);
    cp_buf_free(&rejplain);
    cp_buf_free(&nl);
    cp_buf_free(&nlplain);
    cp_buf_free(&all);
    cp_buf_free(&allrej);
    cp_buf_free(&allnl);
    cp_compressor_destroy(c);
    cp_writer_destroy(w);
}

static void test_writer_big_chunk_and_suffixes(void **state)
{
    (void)state;
    char err[512] = "";
    /* a chunk larger than shard_bytes gets a shard of its own; plain output is .jsonl */
    char o[512];
    snprintf(o, sizeof o, "%s", path("plain"));
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), 0);
    cp_writer *w = cp_writer_create(o, 3, CP_COMPRESS_NONE, 4096);
    char big[5000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    assert_int_equal(cp_writer_append(w, "", big, sizeof big, sizeof big, err, sizeof err), 0);
    assert_int_equal(cp_writer_append(w, "", "a\n", 2, 2, err, sizeof err), 0);
    assert_int_equal(cp_writer_append(w, "", "b\n", 2, 2, err, sizeof err), 0);
    assert_int_equal(cp_writer_finish(w, err, sizeof err), 0);
    cp_writer_destroy(w);
    size_t n;
    char *d = slurp(path("plain/part-00003-00000.jsonl"), &n);
    assert_int_equal(n, sizeof big);
    free(d);
    d = slurp(path("plain/part-00003-00001.jsonl"), &n);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "a\nb\n", 4);
    free(d);
    assert_false(exists(path("plain/part-00003-00002.jsonl")));

    /* zstd shards end in .jsonl.zst and decompress */
    snprintf(o, sizeof o, "%s", path("zst"));
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), 0);
    w = cp_writer_create(o, 0, CP_COMPRESS_ZSTD, 1 << 20);
    cp_compressor *c = cp_compressor_create(CP_COMPRESS_ZSTD, 1);
    cp_buf z = {0};
    assert_int_equal(cp_compress(c, "{\"text\":\"t\"}\n", 13, &z), 0);
    assert_int_equal(cp_writer_append(w, "", z.data, z.len, 13, err, sizeof err), 0);
    assert_int_equal(cp_writer_finish(w, err, sizeof err), 0);
    cp_writer_destroy(w);
    d = slurp(path("zst/part-00000-00000.jsonl.zst"), &n);
    char out[64];
    size_t r = ZSTD_decompress(out, sizeof out, d, n);
    assert_int_equal(r, 13);
    assert_memory_equal(out, "{\"text\":\"t\"}\n", 13);
    free(d);
    cp_buf_free(&z);
    cp_compressor_destroy(c);
}

static void test_writer_abort(void **state)
{
    (void)state;
    char err[512] = "";
    char o[512];
    snprintf(o, sizeof o, "%s", path("abort"));
    assert_int_equal(cp_output_prepare(o, 0, err, sizeof err), 0);
    cp_writer *w = cp_writer_create(o, 0, CP_COMPRESS_NONE, 4096);
    char chunk[3000];
    memset(chunk, 'y', sizeof chunk);
    assert_int_equal(cp_writer_append(w, "", chunk, sizeof chunk, sizeof chunk, err, sizeof err), 0);
    assert_int_equal(cp_writer_append(w, "", chunk, sizeof chunk, sizeof chunk, err, sizeof err), 0); /* rolls */
    assert_int_equal(cp_writer_append(w, "rejected", chunk, 10, 10, err, sizeof err), 0);
    assert_int_equal(count_entries(o, ".tmp"), 1);
    assert_int_equal(count_entries(path("abort/rejected"), ".tmp"), 1);
    cp_writer_abort(w);
    assert_int_equal(count_entries(o, ".tmp"), 0);
    assert_int_equal(count_entries(path("abort/rejected"), ".tmp"), 0);
    /* the shard completed before the abort stays; the open one is gone */
    assert_true(exists(path("abort/part-00000-00000.jsonl")));
    assert_false(exists(path("abort/part-00000-00001.jsonl")));
    assert_int_equal(cp_writer_shards(w), 1);
    cp_writer_destroy(w);

    /* a writer that cannot create its file reports the path */
    w = cp_writer_create(path("no/such/folder"), 0, CP_COMPRESS_NONE, 4096);
    err[0] = 0;
    assert_int_equal(cp_writer_append(w, "", "x\n", 2, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "no/such/folder"));
    cp_writer_abort(w);
    cp_writer_destroy(w);
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char err[512] = "";
    char p[512];
    snprintf(p, sizeof p, "%s", path("stats.json"));
    assert_int_equal(cp_write_file_atomic(p, "{\"a\":1}\n", 8, err, sizeof err), 0);
    size_t n;
    char *d = slurp(p, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(d, "{\"a\":1}\n", 8);
    free(d);
    assert_false(exists(path("stats.json.tmp")));
    /* replaces an existing file as a whole */
    assert_int_equal(cp_write_file_atomic(p, "x", 1, err, sizeof err), 0);
    d = slurp(p, &n);
    assert_int_equal(n, 1);
    free(d);
    /* failure: a message naming the file, nothing left behind */
    err[0] = 0;
    assert_int_equal(cp_write_file_atomic(path("missing/stats.json"), "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing/stats.json"));
    assert_int_equal(mkdir(path("isdir"), 0777), 0);
    touch(path("isdir/f"), "x");
    err[0] = 0;
    assert_int_equal(cp_write_file_atomic(path("isdir"), "x", 1, err, sizeof err), -1);
    assert_true(err[0]);
    assert_false(exists(path("isdir.tmp")));
    assert_true(exists(path("isdir/f")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_levels),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_prepare_new_and_nested),
        cmocka_unit_test(test_prepare_nonempty_and_force),
        cmocka_unit_test(test_prepare_force_symlink),
        cmocka_unit_test(test_writer_rolling),
        cmocka_unit_test(test_writer_big_chunk_and_suffixes),
        cmocka_unit_test(test_writer_abort),
        cmocka_unit_test(test_write_file_atomic),
    };
    return cmocka_run_group_tests(tests, setup, cli_fx_teardown);
}
