/* Tests for split: where plain, multi-member gzip and multi-frame zstd files can be cut (including a false gzip
 * magic inside compressed data and cuts that land exactly on boundaries), what cannot be cut, and the property
 * that matters: the segments of a plan, numbered from their counted lines, hand out every line of the file
 * exactly once with the number the whole file gives it (members and frames that end mid-line, tiny files, a
 * file smaller than its number of pieces). Fixtures are written at run time into a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli_util.h"
#include "corpusprep/reader.h"
#include "corpusprep/split.h"
#include "corpusprep/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char *tmpdir;

static const char *tpath(const char *name)
{
    return P(tmpdir, name);
}

/* n lines of varied length: "{"text": "line <i> xxx..."}" */
static void make_lines(cp_buf *b, int n, int final_newline)
{
    for (int i = 0; i < n; i++) {
        cp_buf_printf(b, "{\"text\": \"line %d ", i + 1);
        for (int k = 0; k < (i * 37) % 211; k++)
            cp_buf_putc(b, (char)('a' + (i + k) % 26));
        cp_buf_puts(b, "\"}");
        if (i + 1 < n || final_newline)
            cp_buf_putc(b, '\n');
    }
}

/* One gzip member of p[0..n) appended to out (level 0: stored blocks, the bytes visible); returns its offset. */
static size_t gzip_at(cp_buf *out, const void *p, size_t n, int level)
{
    size_t at = out->len;
    gzip_member(out, p, n, level);
    return at;
}

static size_t zstd_frame(cp_buf *out, const void *p, size_t n)
{
    size_t at = out->len;
    cp_buf_reserve(out, ZSTD_compressBound(n) + 16);
    size_t k = ZSTD_compress(out->data + out->len, out->cap - out->len, p, n, 3);
    assert_false(ZSTD_isError(k));
    out->len += k;
    return at;
}

/* ---- the property: segments at given cuts hand out the whole file's lines, each once, same numbers ---- */

typedef struct {
    char **text;
    uint64_t *no;
    size_t n;
} lines_t;

static void lines_add(lines_t *l, const char *s, size_t len, uint64_t no)
{
    l->text = cp_xrealloc(l->text, (l->n + 1) * sizeof *l->text);
    l->no = cp_xrealloc(l->no, (l->n + 1) * sizeof *l->no);
    l->text[l->n] = s ? cp_xstrndup(s, len) : cp_xstrdup("(too long)");
    l->no[l->n++] = no;
}

static void lines_free(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->text[i]);
    free(l->text);
    free(l->no);
}

static void read_range(const char *path, const cp_reader_range *rg, lines_t *out)
{
    char err[512];
    cp_reader *r = cp_reader_open_range(path, rg, 1 << 20, err, sizeof err);
    assert_non_null(r);
    const char *s;
    size_t len;
    uint64_t no;
    int st;
    while ((st = cp_reader_getline(r, &s, &len, &no)) > 0)
        lines_add(out, st == 1 ? s : NULL, len, no);
    if (st < 0)
        fail_msg("%s", cp_reader_error(r));
    cp_reader_close(r);
}

/* Segments of path starting at offsets cuts[0..n) (ascending, 0 first), numbered from counted lines. */
static void check_cuts(const char *path, const uint64_t *cuts, size_t n)
{
    cp_segment *seg = cp_xcalloc(n, sizeof *seg);
    uint64_t *count = cp_xcalloc(n, sizeof *count);
    for (size_t i = 0; i < n; i++) {
        seg[i] = (cp_segment){0, (int32_t)i, cuts[i], i + 1 < n ? cuts[i + 1] - cuts[i] : 0, 0};
        char err[256];
        assert_int_equal(cp_split_count_lines(path, &seg[i], 1 << 20, &count[i], err, sizeof err), 0);
    }
    cp_split_number_lines(seg, n, count);
    lines_t whole = {0}, parts = {0};
    read_range(path, NULL, &whole);
    for (size_t i = 0; i < n; i++) {
        size_t before = parts.n;
        cp_reader_range rg = {seg[i].offset, seg[i].length, seg[i].first_line};
        read_range(path, &rg, &parts);
        assert_int_equal(parts.n - before, count[i]);
        for (size_t k = before; k < parts.n; k++) /* every line's reader is the rank the plan names */
            assert_int_equal(cp_split_rank_of(seg, n, 0, parts.no[k]), (int)i);
    }
    assert_int_equal(parts.n, whole.n);
    for (size_t i = 0; i < whole.n; i++) {
        assert_int_equal(parts.no[i], whole.no[i]);
        assert_string_equal(parts.text[i], whole.text[i]);
    }
    lines_free(&whole);
    lines_free(&parts);
    free(seg);
    free(count);
}

/* ---- plain ---- */

static void test_plain_cuts_at_line_starts(void **state)
{
    (void)state;
    cp_buf b = {0};
    make_lines(&b, 200, 1);
    const char *p = tpath("plain.jsonl");
    write_file(p, b.data, b.len, 0);
    const char *second = strchr(b.data, '\n') + 1;
    uint64_t line2 = (uint64_t)(second - b.data);
    uint64_t want[3] = {1, line2, b.len / 2}, cut[3];
    char why[256];
    assert_int_equal(cp_split_find_cuts(p, want, cut, 3, why, sizeof why), 1);
    assert_int_equal(cut[0], line2);       /* inside line 1: the next line start */
    assert_int_equal(cut[1], line2);       /* exactly on a line start: stays */
    assert_true(cut[2] >= want[2] && b.data[cut[2] - 1] == '\n');
    uint64_t cuts[3] = {0, line2, cut[2]};
    check_cuts(p, cuts, 3);
    /* any byte works for the reader's rule, also mid-line and without a final newline */
    cp_buf c = {0};
    make_lines(&c, 50, 0);
    write_file(p, c.data, c.len, 0);
    uint64_t odd[5] = {0, 7, 8, c.len / 3 + 1, c.len - 2};
    check_cuts(p, odd, 5);
    cp_buf_free(&b);
    cp_buf_free(&c);
}

static void test_tiny_and_smaller_than_pieces(void **state)
{
    (void)state;
    const char *p = tpath("tiny.jsonl");
    write_file(p, "{\"text\": \"a\"}\n{\"text\": \"b\"}\n", 28, 0);
    uint64_t every[28];
    for (int i = 0; i < 28; i++)
        every[i] = (uint64_t)i;
    check_cuts(p, every, 28); /* 28 pieces of 1 byte for 2 lines: most hand out nothing */
    write_file(p, "x", 1, 0);
    uint64_t one[1] = {0};
    check_cuts(p, one, 1);
    /* the plan: three files, one tiny and one empty, on 8 ranks, cut wherever it helps */
    cp_buf big = {0};
    make_lines(&big, 3000, 1);
    const char *q = tpath("big.jsonl"), *e = tpath("empty.jsonl");
    write_file(q, big.data, big.len, 0);
    write_file(e, "", 0, 0);
    char *files[3] = {(char *)p, (char *)q, (char *)e};
    cp_buf log = {0};
    size_t n = 0;
    cp_segment *seg = cp_split_plan(files, 3, 8, 0, &n, &log);
    assert_true(n >= 8);
    size_t per_file[3] = {0};
    for (size_t i = 0; i < n; i++) {
        per_file[seg[i].file]++;
        if (i)
            assert_true(seg[i].file > seg[i - 1].file ||
                        (seg[i].file == seg[i - 1].file && seg[i].offset > seg[i - 1].offset &&
                         seg[i].rank >= seg[i - 1].rank));
    }
    assert_int_equal(per_file[0], 1);
    assert_int_equal(per_file[2], 1);
    assert_true(per_file[1] >= 7);
    assert_non_null(strstr(log.data, "is split between ranks"));
    free(seg);
    /* balanced whole files are not cut */
    char *two[2] = {(char *)q, (char *)q};
    cp_buf_free(&log);
    seg = cp_split_plan(two, 2, 2, 0, &n, &log);
    assert_int_equal(n, 2);
    assert_int_equal(seg[0].length, 0);
    assert_int_not_equal(seg[0].rank, seg[1].rank);
    free(seg);
    cp_buf_free(&log);
    cp_buf_free(&big);
}

/* ---- gzip ---- */

static void test_gzip_members(void **state)
{
    (void)state;
    cp_buf text = {0}, gz = {0};
    make_lines(&text, 600, 1);
    /* members cut at arbitrary bytes (mid-line), the second stored (level 0) with a false magic in its data */
    size_t cuts_at[5] = {0, text.len / 5 + 3, text.len / 2 - 11, text.len * 3 / 4, text.len};
    uint64_t starts[4];
    cp_buf second = {0};
    for (int i = 0; i < 4; i++) {
        const char *p = text.data + cuts_at[i];
        size_t n = cuts_at[i + 1] - cuts_at[i];
        if (i == 1) { /* stored: its bytes, with a gzip header in them, appear as they are */
            cp_buf_append(&second, p, n / 2);
            cp_buf_append(&second, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
            cp_buf_append(&second, p + n / 2, n - n / 2);
            starts[i] = gzip_at(&gz, second.data, second.len, 0);
        } else {
            starts[i] = gzip_at(&gz, p, n, 6);
        }
    }
    const char *path = tpath("multi.jsonl.gz");
    write_file(path, gz.data, gz.len, 0);
    const char *fake = memmem(gz.data + starts[1] + 10, starts[2] - starts[1] - 10, "\x1f\x8b\x08\x00", 4);
    assert_non_null(fake);
    uint64_t want[4] = {1, starts[1] + 5, (uint64_t)(fake - gz.data), starts[3]}, cut[4];
    char why[256];
    assert_int_equal(cp_split_find_cuts(path, want, cut, 4, why, sizeof why), 1);
    assert_int_equal(cut[0], starts[1]);
    assert_int_equal(cut[1], starts[2]);
    assert_int_equal(cut[2], starts[2]); /* the false magic fails its inflate: the next true start */
    assert_int_equal(cut[3], starts[3]); /* exactly on a boundary */
    uint64_t segs[4] = {0, starts[1], starts[2], starts[3]};
    check_cuts(path, segs, 4);
    uint64_t two[2] = {0, starts[2]};
    check_cuts(path, two, 2);
    /* one member: cannot be split */
    cp_buf one = {0};
    gzip_member(&one, text.data, text.len, 6);
    path = tpath("one.jsonl.gz");
    write_file(path, one.data, one.len, 0);
    uint64_t w = one.len / 2, c = 1;
    assert_int_equal(cp_split_find_cuts(path, &w, &c, 1, why, sizeof why), 0);
    assert_int_equal(c, 0);
    assert_non_null(strstr(why, "multi-member"));
    /* a range that does not start at a member is refused by the reader */
    char err[256];
    cp_reader_range bad = {starts[1] + 1, 0, 1};
    path = tpath("multi.jsonl.gz");
    assert_null(cp_reader_open_range(path, &bad, 1 << 20, err, sizeof err));
    assert_non_null(strstr(err, "not the start of a gzip member"));
    cp_buf_free(&text);
    cp_buf_free(&gz);
    cp_buf_free(&second);
    cp_buf_free(&one);
}

/* ---- zstd ---- */

static void test_zstd_frames(void **state)
{
    (void)state;
    cp_buf text = {0}, zs = {0};
    make_lines(&text, 700, 0);
    size_t cuts_at[6] = {0, 1000, text.len / 3 + 1, text.len / 2, text.len - 40, text.len};
    uint64_t starts[5];
    for (int i = 0; i < 5; i++)
        starts[i] = zstd_frame(&zs, text.data + cuts_at[i], cuts_at[i + 1] - cuts_at[i]);
    const char *path = tpath("multi.jsonl.zst");
    write_file(path, zs.data, zs.len, 0);
    /* the frame walk agrees with libzstd's */
    for (int i = 0; i < 5; i++) {
        uint64_t end = i < 4 ? starts[i + 1] : zs.len;
        assert_int_equal(ZSTD_findFrameCompressedSize(zs.data + starts[i], zs.len - starts[i]), end - starts[i]);
    }
    uint64_t want[4] = {1, starts[2], starts[2] + 2, zs.len - 1}, cut[4];
    char why[256];
    assert_int_equal(cp_split_find_cuts(path, want, cut, 4, why, sizeof why), 1);
    assert_int_equal(cut[0], starts[1]); /* the nearest start other than the file's */
    assert_int_equal(cut[1], starts[2]); /* exactly on a boundary */
    assert_int_equal(cut[2], starts[2]); /* nearer than the next */
    assert_int_equal(cut[3], starts[4]);
    uint64_t segs[5] = {0, starts[1], starts[2], starts[3], starts[4]};
    check_cuts(path, segs, 5);
    uint64_t two[2] = {0, starts[3]};
    check_cuts(path, two, 2);
    cp_buf one = {0};
    zstd_frame(&one, text.data, text.len);
    path = tpath("one.jsonl.zst");
    write_file(path, one.data, one.len, 0);
    uint64_t w = one.len / 2, c = 1;
    assert_int_equal(cp_split_find_cuts(path, &w, &c, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "one zstd frame"));
    cp_buf_free(&text);
    cp_buf_free(&zs);
    cp_buf_free(&one);
}

/* A WARC file is never cut; a plan keeps it whole. */
static void test_warc_not_split(void **state)
{
    (void)state;
    cp_buf b = {0};
    cp_buf_puts(&b, "WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n");
    make_lines(&b, 100, 1);
    const char *p = tpath("x.warc");
    write_file(p, b.data, b.len, 0);
    uint64_t w = b.len / 2, c = 1;
    char why[256];
    assert_int_equal(cp_split_find_cuts(p, &w, &c, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "WARC"));
    cp_buf_free(&b);
}

static int setup(void **state)
{
    (void)state;
    tmpdir = tmp_dir();
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(tmpdir);
    free(tmpdir);
    tmp_strings_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_cuts_at_line_starts),
        cmocka_unit_test(test_tiny_and_smaller_than_pieces),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_zstd_frames),
        cmocka_unit_test(test_warc_not_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
