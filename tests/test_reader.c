/* Tests for the reader: every format, the line rules (blank lines, CR kept, no final newline, long lines),
 * the error paths (truncated and corrupt data, wrong suffix) and the input-list expansion. Fixtures are
 * written at run time, compressed with zlib and libzstd, into a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli_util.h"
#include "corpusprep/reader.h"
#include "corpusprep/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char tmpdir[256];

/* ---- fixture helpers ---- */

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void put_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* One gzip member holding data[0..n) that is exactly size bytes long: an extra field (FEXTRA) fills it up. */
static void gzip_member_sized(cp_buf *out, const void *data, size_t n, size_t size)
{
    cp_buf raw = { 0 };
    z_stream zs = { 0 };
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&zs, n);
    cp_buf_reserve(&raw, bound);
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)n;
    zs.next_out = (unsigned char *)raw.data;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    raw.len = zs.total_out;
    deflateEnd(&zs);
    assert_true(size >= 10 + 2 + raw.len + 8 && size - (10 + 2 + raw.len + 8) <= 65535);
    size_t xlen = size - (10 + 2 + raw.len + 8);
    unsigned char head[12] = { 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, (unsigned char)xlen, (unsigned char)(xlen >> 8) };
    cp_buf_append(out, head, sizeof head);
    for (size_t i = 0; i < xlen; i++)
        cp_buf_putc(out, 'x');
    cp_buf_append(out, raw.data, raw.len);
    uint32_t crc = (uint32_t)crc32(0, data, (uInt)n), isize = (uint32_t)n;
    unsigned char tail[8] = { (unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
                              (unsigned char)(crc >> 24), (unsigned char)isize, (unsigned char)(isize >> 8),
                              (unsigned char)(isize >> 16), (unsigned char)(isize >> 24) };
    cp_buf_append(out, tail, sizeof tail);
    cp_buf_free(&raw);
}

static void zstd_frame(cp_buf *out, const void *data, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    cp_buf_reserve(out, bound);
    size_t k = ZSTD_compress(out->data + out->len, bound, data, n, 3);
    assert_false(ZSTD_isError(k));
    out->len += k;
}

/* Deterministic text: line i has a length from a small generator (0..maxlen) and letters that make it
 * hard to compress, so a cut in the compressed stream lands in the middle of decoded text. */
static void make_lines(cp_buf *out, size_t nlines, size_t maxlen, uint32_t seed)
{
    uint32_t x = seed;
    for (size_t i = 0; i < nlines; i++) {
        x = x * 1664525u + 1013904223u;
        size_t len = (x >> 8) % (maxlen + 1);
        cp_buf_reserve(out, len + 1);
        for (size_t j = 0; j < len; j++) {
            x = x * 1664525u + 1013904223u;
            out->data[out->len++] = (char)('a' + (x >> 24) % 26);
        }
        out->data[out->len++] = '\n';
    }
}

/* Reads every line of path and checks it against expected (split on '\n'). Returns the getline status at
 * the end and leaves the reader's error in err. */
static int read_all_check(const char *path, const char *expected, size_t n, size_t max_line, char *err,
                          size_t errlen, uint64_t *nlines_out)
{
    char oerr[256];
    cp_reader *r = cp_reader_open(path, max_line, oerr, sizeof oerr);
    assert_non_null(r);
    const char *line;
    size_t len;
    uint64_t no, want_no = 0;
    size_t pos = 0;
    int rc;
    while ((rc = cp_reader_getline(r, &line, &len, &no)) == 1) {
        assert_int_equal(no, ++want_no);
        assert_true(pos + len <= n);
        assert_memory_equal(line, expected + pos, len);
        pos += len;
        assert_true(pos == n || expected[pos] == '\n');
        if (pos < n)
            pos++;
    }
    if (rc == 0) {
        assert_int_equal(pos, n);
        assert_int_equal(cp_reader_bytes_out(r), n);
    }
    snprintf(err, errlen, "%s", rc < 0 ? cp_reader_error(r) : "");
    *nlines_out = want_no;
    assert_int_equal(cp_reader_getline(r, &line, &len, &no), rc); /* the end repeats */
    cp_reader_close(r);
    return rc;
}

/* ---- formats ---- */

static void test_formats_roundtrip(void **state)
{
    (void)state;
    cp_buf text = { 0 }, gz = { 0 }, gz_multi = { 0 }, zs = { 0 }, zs_multi = { 0 };
    make_lines(&text, 1500, 6000, 7); /* ~4.5 MB: lines straddle the 1 MiB decode buffer */
    size_t nl = 0;
    for (size_t i = 0; i < text.len; i++)
        nl += text.data[i] == '\n';

    gzip_member(&gz, text.data, text.len, 6);
    zstd_frame(&zs, text.data, text.len);
    /* Members and frames cut at odd places, so a line runs across a member boundary. */
    size_t cuts[] = { 0, 0, 1, 1000003, 1000004, 2500000, text.len };
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++) {
        gzip_member(&gz_multi, text.data + cuts[i], cuts[i + 1] - cuts[i], 1);
        zstd_frame(&zs_multi, text.data + cuts[i], cuts[i + 1] - cuts[i]);
    }
    put_file(tpath("plain.jsonl"), text.data, text.len);
    put_file(tpath("one.jsonl.gz"), gz.data, gz.len);
    put_file(tpath("multi.jsonl.gz"), gz_multi.data, gz_multi.len);
    put_file(tpath("one.jsonl.zst"), zs.data, zs.len);
    put_file(tpath("multi.jsonl.zst"), zs_multi.data, zs_multi.len);
    put_file(tpath("gzip-without-suffix.jsonl"), gz.data, gz.len); /* sniffed, not named */

    const char *names[] = { "plain.jsonl", "one.jsonl.gz", "multi.jsonl.gz", "one.jsonl.zst", "multi.jsonl.zst",
                            "gzip-without-suffix.jsonl" };
    size_t sizes[] = { text.len, gz.len, gz_multi.len, zs.len, zs_multi.len, gz.len };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char err[512];
        uint64_t lines;
        assert_int_equal(read_all_check(tpath(names[i]), text.data, text.len, 1 << 20, err, sizeof err, &lines), 0);
        assert_int_equal(lines, nl);
        char oerr[256];
        cp_reader *r = cp_reader_open(tpath(names[i]), 1 << 20, oerr, sizeof oerr);
        assert_non_null(r);
        const char *line;
        size_t len;
        uint64_t no;
        while (cp_reader_getline(r, &line, &len, &no) == 1) {
        }
        assert_int_equal(cp_reader_bytes_in(r), sizes[i]);
        assert_int_equal(cp_reader_bytes_out(r), text.len);
        cp_reader_close(r);
    }
    cp_buf_free(&text);
    cp_buf_free(&gz);
    cp_buf_free(&gz_multi);
    cp_buf_free(&zs);
    cp_buf_free(&zs_multi);
}

/* Decoded sizes around multiples of the reader's 1 MiB decode buffer: a stream that ends exactly when the
 * buffer is full must still end cleanly (the decoder is asked once more before truncation is assumed). */
static void test_buffer_boundaries(void **state)
{
    (void)state;
    size_t sizes[] = { (1u << 20) - 1, 1u << 20, (1u << 20) + 1, 2u << 20, 256u << 10 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cp_buf text = { 0 }, gz = { 0 }, zs = { 0 };
        make_lines(&text, sizes[i] / 400 + 10, 1000, (uint32_t)i);
        assert_true(text.len > sizes[i]);
        text.len = sizes[i];
        text.data[text.len - 1] = '\n';
        gzip_member(&gz, text.data, text.len, 6);
        zstd_frame(&zs, text.data, text.len);
        put_file(tpath("edge.jsonl"), text.data, text.len);
        put_file(tpath("edge.jsonl.gz"), gz.data, gz.len);
        put_file(tpath("edge.jsonl.zst"), zs.data, zs.len);
        const char *names[] = { "edge.jsonl", "edge.jsonl.gz", "edge.jsonl.zst" };
        for (size_t j = 0; j < 3; j++) {
            char err[512];
            uint64_t lines;
            int rc = read_all_check(tpath(names[j]), text.data, text.len, 1 << 20, err, sizeof err, &lines);
            if (rc != 0)
                print_error("%s (%zu bytes): %s\n", names[j], sizes[i], err);
            assert_int_equal(rc, 0);
        }
        cp_buf_free(&text);
        cp_buf_free(&gz);
        cp_buf_free(&zs);
    }
}

/* Reads path and compares the lines with want[0..n), each given with its length. */
static void expect_lines(const char *path, size_t max_line, const char *const *want, const size_t *want_len,
                         const int *want_rc, size_t n, int end_rc)
{
    char err[256];
    cp_reader *r = cp_reader_open(path, max_line, err, sizeof err);
    assert_non_null(r);
    const char *line;
    size_t len;
    uint64_t no;
    for (size_t i = 0; i < n; i++) {
        int rc = cp_reader_getline(r, &line, &len, &no);
        assert_int_equal(rc, want_rc ? want_rc[i] : 1);
        assert_int_equal(no, i + 1);
        assert_int_equal(len, want_len[i]);
        if (rc == 1)
            assert_memory_equal(line, want[i], len);
        else
            assert_null(line);
    }
    assert_int_equal(cp_reader_getline(r, &line, &len, &no), end_rc);
    assert_int_equal(cp_reader_getline(r, &line, &len, &no), end_rc);
    cp_reader_close(r);
}

static void write_gz(const char *name, const char *s, size_t n)
{
    cp_buf gz = { 0 };
    gzip_member(&gz, s, n, 6);
    put_file(tpath(name), gz.data, gz.len);
    cp_buf_free(&gz);
}

static void test_line_rules(void **state)
{
    (void)state;
    /* Blank lines are lines; CR is kept; the last line needs no '\n'. Same in plain and gzip. */
    const char *s = "a\n\n\r\nb\r\n\nlast";
    const char *want[] = { "a", "", "\r", "b\r", "", "last" };
    size_t want_len[] = { 1, 0, 1, 2, 0, 4 };
    put_file(tpath("rules.jsonl"), s, strlen(s));
    write_gz("rules.jsonl.gz", s, strlen(s));
    expect_lines(tpath("rules.jsonl"), 100, want, want_len, NULL, 6, 0);
    expect_lines(tpath("rules.jsonl.gz"), 100, want, want_len, NULL, 6, 0);

    /* With a final '\n' there is no extra empty line after it. */
    put_file(tpath("final-nl.jsonl"), "x\ny\n", 4);
    const char *want2[] = { "x", "y" };
    size_t want2_len[] = { 1, 1 };
    expect_lines(tpath("final-nl.jsonl"), 100, want2, want2_len, NULL, 2, 0);

    /* A lone '\n' is one blank line. */
    put_file(tpath("lone-nl.jsonl"), "\n", 1);
    const char *want3[] = { "" };
    size_t want3_len[] = { 0 };
    expect_lines(tpath("lone-nl.jsonl"), 100, want3, want3_len, NULL, 1, 0);
}

static void test_empty_files(void **state)
{
    (void)state;
    put_file(tpath("empty.jsonl"), "", 0);
    expect_lines(tpath("empty.jsonl"), 100, NULL, NULL, NULL, 0, 0);
    write_gz("empty.jsonl.gz", "", 0); /* a valid gzip member of nothing */
    expect_lines(tpath("empty.jsonl.gz"), 100, NULL, NULL, NULL, 0, 0);
    cp_buf zs = { 0 };
    zstd_frame(&zs, "", 0);
    put_file(tpath("empty.jsonl.zst"), zs.data, zs.len);
    cp_buf_free(&zs);
    expect_lines(tpath("empty.jsonl.zst"), 100, NULL, NULL, NULL, 0, 0);
}

static void test_long_lines(void **state)
{
    (void)state;
    /* Exactly max_line is kept, one more is skipped with its length, the lines after it are still read. */
    char l10[11], l11[12];
    memset(l10, 'x', 10);
    memset(l11, 'y', 11);
    cp_buf s = { 0 };
    cp_buf_puts(&s, "short\n");
    cp_buf_append(&s, l11, 11);
    cp_buf_puts(&s, "\n");
    cp_buf_append(&s, l10, 10);
    cp_buf_puts(&s, "\nnext\n");
    cp_buf_append(&s, l11, 11); /* too long and without final newline */
    put_file(tpath("long.jsonl"), s.data, s.len);
    write_gz("long.jsonl.gz", s.data, s.len);
    const char *want[] = { "short", NULL, l10, "next", NULL };
    size_t want_len[] = { 5, 11, 10, 4, 11 };
    int want_rc[] = { 1, 2, 1, 1, 2 };
    expect_lines(tpath("long.jsonl"), 10, want, want_len, want_rc, 5, 0);
    expect_lines(tpath("long.jsonl.gz"), 10, want, want_len, want_rc, 5, 0);
    cp_buf_free(&s);

    /* A skipped line that spans several decode buffers, with a kept line straddling a buffer after it. */
    size_t big = (3u << 20) + 12345, mid = 900000;
    char *p = cp_xmalloc(big + mid + 16);
    memset(p, 'z', big);
    p[big] = '\n';
    memset(p + big + 1, 'm', mid);
    memcpy(p + big + 1 + mid, "\nend\n", 5);
    size_t total = big + mid + 6;
    put_file(tpath("huge-skip.jsonl"), p, total);
    write_gz("huge-skip.jsonl.gz", p, total);
    const char *want2[] = { NULL, p + big + 1, "end" };
    size_t want2_len[] = { big, mid, 3 };
    int want2_rc[] = { 2, 1, 1 };
    expect_lines(tpath("huge-skip.jsonl"), 1 << 20, want2, want2_len, want2_rc, 3, 0);
    expect_lines(tpath("huge-skip.jsonl.gz"), 1 << 20, want2, want2_len, want2_rc, 3, 0);
    free(p);
}

static void test_64mib_line(void **state)
{
    (void)state;
    size_t n = 64u << 20;
    char *p = cp_xmalloc(n + 8);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 23);
    memcpy(p + n, "\nok\n", 4);
    put_file(tpath("line64.jsonl"), p, n + 4);
    write_gz("line64.jsonl.gz", p, n + 4);
    const char *want[] = { p, "ok" };
    size_t want_len[] = { n, 2 };
    expect_lines(tpath("line64.jsonl"), 128u << 20, want, want_len, NULL, 2, 0);
    expect_lines(tpath("line64.jsonl.gz"), 128u << 20, want, want_len, NULL, 2, 0);
    free(p);
}

/* ---- errors ---- */

/* Reads a damaged file whose intact form is text[0..n): every line before the damage must come back intact,
 * a last line may be a prefix of its original, then -1 with a message that names the file and contains
 * expect_msg. Returns the number of lines read. */
static uint64_t expect_damage(const char *name, const char *text, size_t n, const char *expect_msg)
{
    char err[256];
    cp_reader *r = cp_reader_open(tpath(name), 1 << 20, err, sizeof err);
    assert_non_null(r);
    const char *line;
    size_t len;
    uint64_t no, count = 0;
    size_t pos = 0;
    bool partial = false;
    int rc;
    while ((rc = cp_reader_getline(r, &line, &len, &no)) == 1) {
        assert_false(partial); /* a partial line may only be the last one */
        assert_int_equal(no, ++count);
        assert_true(pos + len <= n);
        assert_memory_equal(line, text + pos, len);
        pos += len;
        if (text[pos] != '\n')
            partial = true;
        pos++;
    }
    assert_int_equal(rc, -1);
    const char *msg = cp_reader_error(r);
    assert_non_null(strstr(msg, tpath(name)));
    assert_non_null(strstr(msg, expect_msg));
    char where[64];
    snprintf(where, sizeof where, ": line %llu: ", (unsigned long long)(partial ? count : count + 1));
    assert_non_null(strstr(msg, where));
    assert_int_equal(cp_reader_getline(r, &line, &len, &no), -1);
    cp_reader_close(r);
    return count;
}

static void test_truncated_gzip(void **state)
{
    (void)state;
    cp_buf text = { 0 }, gz = { 0 };
    make_lines(&text, 300, 2000, 11);
    gzip_member(&gz, text.data, text.len, 6);

    /* Cut in the middle of the deflate data: some lines, a partial one, then the error. */
    put_file(tpath("cut.jsonl.gz"), gz.data, gz.len / 2);
    uint64_t got = expect_damage("cut.jsonl.gz", text.data, text.len, "unexpected end of gzip data");
    assert_true(got > 10 && got < 300);

    /* Only the trailer is missing: all data decodes, yet the file is still reported as truncated. */
    put_file(tpath("no-trailer.jsonl.gz"), gz.data, gz.len - 4);
    assert_int_equal(expect_damage("no-trailer.jsonl.gz", text.data, text.len, "unexpected end of gzip data"), 300);

    /* Just the magic. */
    put_file(tpath("magic-only.jsonl.gz"), "\x1f\x8b", 2);
    assert_int_equal(expect_damage("magic-only.jsonl.gz", text.data, text.len, "unexpected end of gzip data"), 0);
    cp_buf_free(&text);
    cp_buf_free(&gz);
}

static void test_corrupt_gzip(void **state)
{
    (void)state;
    cp_buf text = { 0 }, gz = { 0 };
    make_lines(&text, 300, 2000, 13);
    gzip_member(&gz, text.data, text.len, 6);
    size_t nl = 300;

    /* Garbage in the middle of the deflate stream gives zlib's own message, not "unexpected end". Stored
     * blocks (level 0) make the damage exact: the second block's length check is broken, so the lines of
     * the first block come back intact, then a partial line, then the error. */
    cp_buf stored = { 0 }, bad = { 0 };
    gzip_member(&stored, text.data, text.len, 0);
    const unsigned char *u = (const unsigned char *)stored.data;
    size_t len1 = u[11] | (size_t)u[12] << 8;
    assert_int_equal(len1 ^ (u[13] | (size_t)u[14] << 8), 0xffff); /* 10-byte header, then LEN, NLEN */
    assert_true(len1 < text.len);
    cp_buf_append(&bad, stored.data, stored.len);
    bad.data[10 + 5 + len1 + 3] ^= 0x55; /* NLEN of block 2 */
    put_file(tpath("garbage.jsonl.gz"), bad.data, bad.len);
    uint64_t got = expect_damage("garbage.jsonl.gz", text.data, text.len, "corrupt gzip data (invalid stored block lengths)");
    assert_true(got > 10 && got < nl);
    cp_buf_free(&stored);

    /* A flipped byte that still decodes is caught by the CRC. */
    bad.len = 0;
    cp_buf_append(&bad, gz.data, gz.len);
    bad.data[gz.len - 8] ^= 1; /* first byte of the CRC32 */
    put_file(tpath("badcrc.jsonl.gz"), bad.data, bad.len);
    char err[256];
    uint64_t lines;
    assert_int_equal(read_all_check(tpath("badcrc.jsonl.gz"), text.data, text.len, 1 << 20, err, sizeof err, &lines), -1);
    assert_non_null(strstr(err, "incorrect data check"));

    /* Trailing garbage after a complete member, and the case that must not fire: a second member. */
    bad.len = 0;
    cp_buf_append(&bad, gz.data, gz.len);
    cp_buf_puts(&bad, "junk");
    put_file(tpath("trailing.jsonl.gz"), bad.data, bad.len);
    assert_int_equal(read_all_check(tpath("trailing.jsonl.gz"), text.data, text.len, 1 << 20, err, sizeof err, &lines), -1);
    assert_int_equal(lines, nl);
    assert_non_null(strstr(err, "trailing garbage"));
    assert_non_null(strstr(err, "line 301:"));

    bad.len = 0;
    cp_buf_append(&bad, gz.data, gz.len);
    cp_buf_append(&bad, gz.data, gz.len);
    put_file(tpath("twice.jsonl.gz"), bad.data, bad.len);
    cp_buf twice = { 0 };
    cp_buf_append(&twice, text.data, text.len);
    cp_buf_append(&twice, text.data, text.len);
    assert_int_equal(read_all_check(tpath("twice.jsonl.gz"), twice.data, twice.len, 1 << 20, err, sizeof err, &lines), 0);
    assert_int_equal(lines, 2 * nl);
    cp_buf_free(&twice);

    cp_buf_free(&text);
    cp_buf_free(&gz);
    cp_buf_free(&bad);
}

static void test_zstd_errors(void **state)
{
    (void)state;
    cp_buf text = { 0 }, zs = { 0 };
    make_lines(&text, 300, 2000, 17);
    zstd_frame(&zs, text.data, text.len);

    put_file(tpath("cut.jsonl.zst"), zs.data, zs.len / 2);
    expect_damage("cut.jsonl.zst", text.data, text.len, "unexpected end of zstd data");
    put_file(tpath("cut-end.jsonl.zst"), zs.data, zs.len - 1);
    expect_damage("cut-end.jsonl.zst", text.data, text.len, "unexpected end of zstd data");

    cp_buf bad = { 0 };
    cp_buf_append(&bad, zs.data, zs.len);
    cp_buf_puts(&bad, "junkjunk");
    put_file(tpath("trailing.jsonl.zst"), bad.data, bad.len);
    char err[256];
    uint64_t lines;
    assert_int_equal(read_all_check(tpath("trailing.jsonl.zst"), text.data, text.len, 1 << 20, err, sizeof err, &lines), -1);
    assert_int_equal(lines, 300);
    assert_non_null(strstr(err, "corrupt zstd data ("));
    cp_buf_free(&text);
    cp_buf_free(&zs);
    cp_buf_free(&bad);
}

static void test_wrong_suffix_refused(void **state)
{
    (void)state;
    char err[256];
    put_file(tpath("text.jsonl.gz"), "{\"a\":1}\n", 8);
    assert_null(cp_reader_open(tpath("text.jsonl.gz"), 100, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s: not in gzip format", tpath("text.jsonl.gz"));
    assert_string_equal(err, want);

    put_file(tpath("text.jsonl.zst"), "{\"a\":1}\n", 8);
    assert_null(cp_reader_open(tpath("text.jsonl.zst"), 100, err, sizeof err));
    assert_non_null(strstr(err, "not in zstd format"));

    write_gz("gzip.jsonl.zst", "x\n", 2); /* gzip content under a zstd name */
    assert_null(cp_reader_open(tpath("gzip.jsonl.zst"), 100, err, sizeof err));
    assert_non_null(strstr(err, "not in zstd format"));

    put_file(tpath("empty2.jsonl.gz"), "", 0);
    assert_null(cp_reader_open(tpath("empty2.jsonl.gz"), 100, err, sizeof err));

    /* Missing file and a directory: the message names the path and the system's reason. */
    assert_null(cp_reader_open(tpath("missing.jsonl"), 100, err, sizeof err));
    assert_non_null(strstr(err, "missing.jsonl: No such file or directory"));
    assert_null(cp_reader_open(tmpdir, 100, err, sizeof err));
    assert_non_null(strstr(err, "Is a directory"));
}

/* ---- stdin ---- */

static void read_stdin_from(const void *data, size_t n, const char *want_first)
{
    if (fcntl(0, F_GETFD) < 0) /* no stdin at all (CI): occupy fd 0 so that dup2 has something to restore */
        assert_int_equal(open("/dev/null", O_RDONLY), 0);
    int saved = dup(0), fds[2];
    assert_true(saved >= 0);
    assert_int_equal(pipe(fds), 0);
    assert_true(n < 60000); /* fits in the pipe without a writer thread */
    assert_int_equal(write(fds[1], data, n), (ssize_t)n);
    close(fds[1]);
    assert_int_equal(dup2(fds[0], 0), 0);
    close(fds[0]);

    char err[256];
    cp_reader *r = cp_reader_open("-", 100, err, sizeof err);
    assert_non_null(r);
    const char *line;
    size_t len;
    uint64_t no;
    assert_int_equal(cp_reader_getline(r, &line, &len, &no), 1);
    assert_int_equal(len, strlen(want_first));
    assert_memory_equal(line, want_first, len);
    int rc;
    while ((rc = cp_reader_getline(r, &line, &len, &no)) == 1) {
    }
    assert_int_equal(rc, 0);
    assert_int_equal(cp_reader_bytes_in(r), n);
    cp_reader_close(r);
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
}

static void test_stdin(void **state)
{
    (void)state;
    const char *s = "first\nsecond\n";
    read_stdin_from(s, strlen(s), "first");
    read_stdin_from("ab", 2, "ab"); /* shorter than the magic */
    cp_buf gz = { 0 }, zs = { 0 };
    gzip_member(&gz, s, strlen(s), 6);
    read_stdin_from(gz.data, gz.len, "first");
    zstd_frame(&zs, s, strlen(s));
    read_stdin_from(zs.data, zs.len, "first");
    cp_buf_free(&gz);
    cp_buf_free(&zs);
}

/* ---- the gzip decoders agree ---- */

/* Everything a caller can see of one read: each line's number, length and bytes (hashed), the end status,
 * the error after the file name, and the byte counters. */
typedef struct {
    int rc;
    uint64_t lines, hash, bytes_in, bytes_out;
    char msg[256];
} read_result;

static void summarize(cp_reader *r, read_result *res)
{
    const char *line;
    size_t len;
    uint64_t no, h = 1469598103934665603ull;
    int rc;
    memset(res, 0, sizeof *res);
    while ((rc = cp_reader_getline(r, &line, &len, &no)) > 0) {
        uint64_t head[3] = { (uint64_t)rc, no, len };
        for (size_t i = 0; i < sizeof head; i++)
            h = (h ^ ((const unsigned char *)head)[i]) * 1099511628211ull;
        for (size_t i = 0; line && i < len; i++)
            h = (h ^ (unsigned char)line[i]) * 1099511628211ull;
        res->lines++;
    }
    res->rc = rc;
    res->hash = h;
    res->bytes_in = cp_reader_bytes_in(r);
    res->bytes_out = cp_reader_bytes_out(r);
    if (rc < 0) {
        const char *at = strstr(cp_reader_error(r), ": line ");
        assert_non_null(at);
        snprintf(res->msg, sizeof res->msg, "%s", at);
    }
}

/* Reads data[0..n) as stdin from a pipe, which the zlib path decodes in every build; a child process writes
 * it, so any size fits. With split > 0 the child writes data[0..split), waits until the reader has taken all
 * of it, then writes the rest: a read then ends exactly at split, whatever the scheduling. */
static void read_through_pipe_split(const void *data, size_t n, size_t split, read_result *res)
{
    if (fcntl(0, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), 0);
    int saved = dup(0), fds[2];
    assert_true(saved >= 0);
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const char *p = data;
        size_t left = split > 0 && split < n ? split : n;
        while (n > 0) {
            ssize_t k = write(fds[1], p, left);
            if (k <= 0)
                _exit(1); /* the reader stopped early: that is allowed */
            p += k;
            n -= (size_t)k;
            left -= (size_t)k;
            if (left == 0 && n > 0) { /* the split: wait until the pipe is empty */
                int queued;
                while (ioctl(fds[1], FIONREAD, &queued) == 0 && queued > 0)
                    usleep(1000);
                left = n;
            }
        }
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(dup2(fds[0], 0), 0);
    close(fds[0]);
    char err[256];
    cp_reader *r = cp_reader_open("-", 1 << 20, err, sizeof err);
    assert_non_null(r);
    const char *dec = cp_reader_gzip_decoder(r);
    assert_true(dec == NULL || strcmp(dec, "zlib") == 0);
    summarize(r, res);
    cp_reader_close(r); /* closes nothing: fd 0 is restored below, which ends the child's writes */
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void read_through_pipe(const void *data, size_t n, read_result *res)
{
    read_through_pipe_split(data, n, 0, res);
}

/* Reads data as a file and through a pipe: both must see exactly the same. Returns the file's decoder at
 * the end ("isal" when ISA-L read it all, "zlib" when it handed over). */
static const char *expect_same_on_both_paths(const char *what, const void *data, size_t n)
{
    static char dec[8];
    put_file(tpath("paths-sniffed"), data, n); /* no .gz: a cut to one byte reads as plain on both paths */
    char err[256];
    cp_reader *r = cp_reader_open(tpath("paths-sniffed"), 1 << 20, err, sizeof err);
    assert_non_null(r);
    read_result a, b;
    summarize(r, &a);
    const char *d = cp_reader_gzip_decoder(r);
    snprintf(dec, sizeof dec, "%s", d ? d : "none");
    cp_reader_close(r);
    read_through_pipe(data, n, &b);
    if (a.rc != b.rc || a.lines != b.lines || a.hash != b.hash || a.bytes_in != b.bytes_in ||
        a.bytes_out != b.bytes_out || strcmp(a.msg, b.msg) != 0)
        fail_msg("%s: file (%s) rc %d, %llu lines, in %llu, out %llu, '%s'; pipe (zlib) rc %d, %llu lines, in %llu, "
                 "out %llu, '%s'", what, dec, a.rc, (unsigned long long)a.lines, (unsigned long long)a.bytes_in,
                 (unsigned long long)a.bytes_out, a.msg, b.rc, (unsigned long long)b.lines,
                 (unsigned long long)b.bytes_in, (unsigned long long)b.bytes_out, b.msg);
    return dec;
}

/* Damage of every kind, anywhere in a three-member file that spans several input and output buffers: the
 * file path (ISA-L where built) and the pipe path (zlib) give the same lines, error, line and counters. */
static void test_gzip_decoders_agree(void **state)
{
    (void)state;
    cp_buf text = { 0 }, gz = { 0 }, bad = { 0 };
    make_lines(&text, 1400, 1600, 17); /* ~1.1 MB: past the 1 MiB decode buffer */
    size_t cut1 = 0, cut2 = 0;
    for (size_t i = 0, nl = 0; i < text.len; i++) { /* the first member ends on a line end, the second mid-line */
        if (text.data[i] == '\n' && ++nl == 500)
            cut1 = i + 1;
        if (text.data[i] == '\n' && nl == 1000)
            cut2 = i - 77;
    }
    gzip_member(&gz, text.data, cut1, 6);
    size_t m2 = gz.len;
    gzip_member(&gz, text.data + cut1, cut2 - cut1, 1);
    size_t m3 = gz.len;
    gzip_member(&gz, text.data + cut2, text.len - cut2, 0); /* stored blocks */
    char what[64];

    const char *dec = expect_same_on_both_paths("intact", gz.data, gz.len);
#ifdef CP_HAVE_ISAL
    assert_string_equal(dec, "isal");
#else
    assert_string_equal(dec, "zlib");
#endif

    /* cut anywhere: in a header, in the data, in a trailer, at and next to member boundaries */
    size_t cuts[40];
    size_t nc = 0;
    for (size_t k = 1; k <= 28; k++)
        cuts[nc++] = gz.len * k / 29 + k * 13 % 97;
    size_t near[] = { 1, 2, 3, 9, 10, 11, m2 - 8, m2 - 1, m2, m2 + 1, m3 + 3, gz.len - 1 };
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
        cuts[nc++] = near[i];
    for (size_t i = 0; i < nc; i++) {
        snprintf(what, sizeof what, "cut at %zu of %zu", cuts[i], gz.len);
        dec = expect_same_on_both_paths(what, gz.data, cuts[i]);
        if (cuts[i] >= 2 && cuts[i] != m2 && cuts[i] != m3)
            assert_string_equal(dec, "zlib"); /* handed over: zlib's words */
    }

    /* flipped bits in the data and the trailers, and headers zlib refuses that ISA-L would not check */
    for (size_t k = 0; k < 40; k++) {
        size_t pos = (gz.len - 1) * k / 40 + k * 31 % 211;
        bad.len = 0;
        cp_buf_append(&bad, gz.data, gz.len);
        bad.data[pos] ^= (char)(1u << (k % 8));
        snprintf(what, sizeof what, "bit %zu flipped at %zu", k % 8, pos);
        expect_same_on_both_paths(what, bad.data, bad.len);
    }
    struct {
        size_t at;
        unsigned char xor_with;
        const char *what;
    } edits[] = {
        { m2 + 2, 0x01, "second member: method 9" },
        { m2 + 3, 0x20, "second member: a reserved flag" },
        { m2 + 3, 0x02, "second member: header CRC flag without a CRC" },
        { m2 + 3, 0x04, "second member: extra field flag without one" },
        { m2 - 8, 0x40, "first member: CRC" },
        { m2 - 4, 0x01, "first member: length" },
        { m3 + 13, 0x10, "third member: stored block NLEN" },
        { m3 + 10, 0x06, "third member: block type 3" },
        { 3, 0x20, "first member: a reserved flag" },
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        bad.len = 0;
        cp_buf_append(&bad, gz.data, gz.len);
        bad.data[edits[i].at] ^= (char)edits[i].xor_with;
        expect_same_on_both_paths(edits[i].what, bad.data, bad.len);
    }

    /* a header zlib refuses, straddling two of the reader's 256 KiB reads (after its 4-byte sniff) */
    for (size_t at = (256u << 10) - 3; at <= (256u << 10) + 6; at++) {
        bad.len = 0;
        gzip_member_sized(&bad, text.data, 380000, at);
        assert_int_equal(bad.len, at);
        size_t second = bad.len;
        gzip_member(&bad, text.data, 1000, 6);
        bad.data[second + 3] |= 0x20; /* a reserved flag */
        snprintf(what, sizeof what, "reserved flag at %zu", second + 3);
        expect_same_on_both_paths(what, bad.data, bad.len);
    }

    /* what follows the last member */
    static const struct {
        const char *tail;
        size_t n;
    } tails[] = { { "junk", 4 }, { "\0\0\0\0", 4 }, { "\x1f", 1 }, { "\x1f\x8b", 2 }, { "\x1f\x8b\x08\x00", 4 } };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        bad.len = 0;
        cp_buf_append(&bad, gz.data, gz.len);
        cp_buf_append(&bad, tails[i].tail, tails[i].n);
        snprintf(what, sizeof what, "%zu bytes after the last member", tails[i].n);
        expect_same_on_both_paths(what, bad.data, bad.len);
    }
    cp_buf_free(&text);
    cp_buf_free(&gz);
    cp_buf_free(&bad);
}

/* The magic of what follows a member, split between two reads: the verdict must not depend on where a read
 * ends. Fuzz finding (regress/reader/gzip-flip-magic-split): a pipe that handed out "\x1f" alone made zlib
 * start a member and report "incorrect header check" two bytes further on, where the file path, seeing both
 * bytes, reported trailing garbage at the member's end. */
static void test_gzip_next_magic_split(void **state)
{
    (void)state;
    const char *s = "first line\nsecond line\n";
    cp_buf gz = { 0 }, bad = { 0 };
    gzip_member(&gz, s, strlen(s), 6);
    size_t m1 = gz.len;
    gzip_member(&gz, s, strlen(s), 6);
    read_result a, b;
    char what[64];
    for (int flip = 0; flip < 2; flip++) {
        bad.len = 0;
        cp_buf_append(&bad, gz.data, gz.len);
        if (flip)
            bad.data[m1 + 1] ^= 0x48; /* 0x8b -> 0xc3: the second magic byte */
        for (size_t split = m1; split <= m1 + 4; split++) {
            snprintf(what, sizeof what, "%s magic, a read ending at %zu", flip ? "bad" : "good", split);
            read_through_pipe_split(bad.data, bad.len, split, &b);
            if (flip) {
                if (b.rc != -1 || b.lines != 2 || b.bytes_in != m1 || b.bytes_out != strlen(s) ||
                    strcmp(b.msg, ": line 3: trailing garbage after gzip data") != 0)
                    fail_msg("%s: rc %d, %llu lines, in %llu (want %zu), '%s'", what, b.rc,
                             (unsigned long long)b.lines, (unsigned long long)b.bytes_in, m1, b.msg);
            } else {
                assert_int_equal(b.rc, 0);
                assert_int_equal(b.lines, 4);
                assert_int_equal(b.bytes_in, gz.len);
            }
            /* the file path (ISA-L where built) reads it the same */
            put_file(tpath("magic-split"), bad.data, bad.len);
            char err[256];
            cp_reader *r = cp_reader_open(tpath("magic-split"), 1 << 20, err, sizeof err);
            assert_non_null(r);
            summarize(r, &a);
            cp_reader_close(r);
            if (a.rc != b.rc || a.lines != b.lines || a.hash != b.hash || a.bytes_in != b.bytes_in ||
                a.bytes_out != b.bytes_out || strcmp(a.msg, b.msg) != 0)
                fail_msg("%s: file rc %d in %llu '%s', pipe rc %d in %llu '%s'", what, a.rc,
                         (unsigned long long)a.bytes_in, a.msg, b.rc, (unsigned long long)b.bytes_in, b.msg);
        }
    }

    /* The same split in a regular file: the first 256 KiB read after the 4-byte sniff ends at byte 262148,
     * so a member of 262147 bytes leaves the next one's first byte alone in the buffer (the zlib build's
     * file path; ISA-L's tops up). */
    cp_buf text = { 0 };
    make_lines(&text, 600, 1600, 23);
    for (size_t at = (256u << 10) + 2; at <= (256u << 10) + 5; at++) {
        bad.len = 0;
        gzip_member_sized(&bad, text.data, 380000, at);
        gzip_member(&bad, s, strlen(s), 6);
        bad.data[at + 1] ^= 0x48;
        snprintf(what, sizeof what, "bad magic at %zu", at);
        expect_same_on_both_paths(what, bad.data, bad.len);
        put_file(tpath("magic-split.gz"), bad.data, bad.len);
        char err[256];
        cp_reader *r = cp_reader_open(tpath("magic-split.gz"), 1 << 20, err, sizeof err);
        assert_non_null(r);
        summarize(r, &a);
        cp_reader_close(r);
        assert_int_equal(a.rc, -1);
        assert_int_equal(a.bytes_in, at);
        assert_non_null(strstr(a.msg, "trailing garbage after gzip data"));
    }
    cp_buf_free(&text);
    cp_buf_free(&gz);
    cp_buf_free(&bad);
}

/* ---- input list ---- */

static void touch(const char *name) { put_file(tpath(name), "", 0); }

static void test_inputs_expand(void **state)
{
    (void)state;
    assert_int_equal(mkdir(tpath("in"), 0755), 0);
    assert_int_equal(mkdir(tpath("in/sub"), 0755), 0);
    assert_int_equal(mkdir(tpath("in/sub/deeper"), 0755), 0);
    assert_int_equal(mkdir(tpath("in/empty"), 0755), 0);
    assert_int_equal(mkdir(tpath("nothing"), 0755), 0);
    const char *kept[] = { "in/b.jsonl",  "in/a.jsonl.gz",  "in/sub/c.json.zst", "in/sub/deeper/d.json.gz",
                           "in/sub.jsonl", "in/c.json",     "in/e.jsonl.zst" };
    const char *dropped[] = { "in/notes.txt", "in/x.jsonl.gz.tmp", "in/y.gz", "in/sub/z.zst", "in/jsonl", "nothing/r.csv" };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        touch(kept[i]);
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        touch(dropped[i]);
    touch("explicit.txt"); /* an explicit file is taken whatever its name */
    touch("first.jsonl");

    char a0[512], a1[512], a2[512], a3[512];
    snprintf(a0, sizeof a0, "%s", tpath("explicit.txt"));
    snprintf(a1, sizeof a1, "%s", tpath("in"));
    snprintf(a2, sizeof a2, "%s", tpath("nothing"));
    snprintf(a3, sizeof a3, "%s", tpath("first.jsonl"));
    char *args[] = { a0, a1, a2, "-", a3 };
    char **files;
    size_t n;
    char err[256];
    assert_int_equal(cp_inputs_expand(args, 5, &files, &n, err, sizeof err), 0);
    /* Byte-wise order of whole paths: '.' (0x2e) sorts before '/' (0x2f), so in/sub.jsonl precedes in/sub/. */
    const char *want[] = { "explicit.txt", "in/a.jsonl.gz", "in/b.jsonl", "in/c.json", "in/e.jsonl.zst",
                           "in/sub.jsonl", "in/sub/c.json.zst", "in/sub/deeper/d.json.gz", NULL, "first.jsonl" };
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        if (want[i])
            assert_string_equal(files[i], tpath(want[i]));
        else
            assert_string_equal(files[i], "-");
    }
    cp_inputs_free(files, n);

    /* A directory with no input files contributes nothing, without error. */
    assert_int_equal(cp_inputs_expand(&args[2], 1, &files, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    cp_inputs_free(files, n);

    /* A missing argument is an error naming it, even after good ones. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s", tpath("no-such-dir"));
    char *bad[] = { a0, missing };
    assert_int_equal(cp_inputs_expand(bad, 2, &files, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "No such file or directory"));
}

/* ---- setup ---- */

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/cp_reader_XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_roundtrip),
        cmocka_unit_test(test_buffer_boundaries),
        cmocka_unit_test(test_line_rules),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_64mib_line),
        cmocka_unit_test(test_truncated_gzip),
        cmocka_unit_test(test_corrupt_gzip),
        cmocka_unit_test(test_zstd_errors),
        cmocka_unit_test(test_wrong_suffix_refused),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_gzip_decoders_agree),
        cmocka_unit_test(test_gzip_next_magic_split),
        cmocka_unit_test(test_inputs_expand),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
