/* Tests for WARC/WET input: the record parser on fixtures written here (CRLF and LF, gzip per record, zstd,
 * every malformed-record case: Content-Length past the end, missing and non-numeric Content-Length, a record
 * not starting with "WARC/1.", a truncated gzip member, a block over the size limit), the record made into a
 * document, and end to end: the real Common Crawl files of ../shared, folders, exit codes and stats.json,
 * and the DCLM corpus as WET against the same corpus as JSONL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "cli_util.h"
#include "corpusprep/parse.h"
#include "corpusprep/reader.h"
#include "corpusprep/util.h"
#include "corpusprep/warc.h"

/* One WARC record with the given header lines (each without line end) and block, lines ended by eol. */
static void put_record(cp_buf *b, const char *eol, const char *headers, const char *block, size_t block_len,
                       int with_length)
{
    cp_buf_printf(b, "WARC/1.0%s", eol);
    for (const char *h = headers; *h;) {
        const char *e = strchr(h, '\n');
        size_t n = e ? (size_t)(e - h) : strlen(h);
        cp_buf_append(b, h, n);
        cp_buf_puts(b, eol);
        h += n + (e ? 1 : 0);
    }
    if (with_length)
        cp_buf_printf(b, "Content-Length: %zu%s", block_len, eol);
    cp_buf_puts(b, eol);
    cp_buf_append(b, block, block_len);
    cp_buf_printf(b, "%s%s", eol, eol);
}

static const char *write_raw(const char *dir, const char *name, const char *data, size_t n)
{
    const char *p = P(dir, name);
    write_file(p, data, n, 0);
    return p;
}

#define INFO_HDR "WARC-Type: warcinfo\nWARC-Date: 2024-05-31T01:16:46Z\nContent-Type: application/warc-fields"
#define DOC_HDR(n)                                                                                             \
    "WARC-Type: conversion\nWARC-Target-URI: https://example.org/" n "\nWARC-Date: 2024-05-18T01:58:1" n "Z\n" \
    "WARC-Record-ID: <urn:uuid:0000000" n "-b3d8-426e-938d-cf3318afe8e9>\nWARC-Identified-Content-Language: nld,eng\n" \
    "Content-Type: text/plain"
#define TEXT1 "Eerste regel van de tekst.\nTweede regel, zonder slotregeleinde"
#define TEXT2 "Line one\r\nline two with a CR\n\nand a blank line before\n"

typedef struct {
    int kind;
    char type[32], reject[32], meta[512], msg[512];
    char *block;
    size_t block_len;
    uint64_t record_no, offset, bytes;
    int fatal;
} rec_t;

/* Every record of the file, as cp_warc_next hands them out; *end gets the final status (0 or -1), *total the
 * bytes accounted for. */
static size_t read_all(const char *path, rec_t *recs, size_t max, size_t max_record, int *end, uint64_t *total)
{
    char err[512];
    cp_reader *r = cp_reader_open(path, 1 << 20, err, sizeof err);
    assert_non_null(r);
    const char *line;
    size_t len;
    uint64_t ln;
    assert_int_equal(cp_reader_getline(r, &line, &len, &ln), 1);
    assert_true(cp_warc_is_start(line, len));
    cp_warc *w = cp_warc_create(r, path, line, len, max_record);
    size_t n = 0;
    *total = 0;
    for (;;) {
        cp_warc_record rec;
        int st = cp_warc_next(w, &rec);
        *total += rec.bytes;
        if (st <= 0) {
            *end = st;
            break;
        }
        assert_true(n < max);
        rec_t *o = &recs[n++];
        memset(o, 0, sizeof *o);
        o->kind = rec.kind;
        snprintf(o->type, sizeof o->type, "%s", rec.type ? rec.type : "");
        snprintf(o->reject, sizeof o->reject, "%s", rec.reject ? rec.reject : "");
        snprintf(o->msg, sizeof o->msg, "%s", rec.message ? rec.message : "");
        if (rec.meta)
            snprintf(o->meta, sizeof o->meta, "%.*s", (int)rec.meta_len, rec.meta);
        if (rec.block) {
            o->block = cp_xstrndup(rec.block, rec.block_len);
        }
        o->block_len = rec.block_len;
        o->record_no = rec.record_no;
        o->offset = rec.offset;
        o->bytes = rec.bytes;
        o->fatal = rec.fatal;
    }
    /* further calls repeat the end */
    cp_warc_record rec;
    assert_int_equal(cp_warc_next(w, &rec), *end < 0 ? -1 : 0);
    cp_warc_destroy(w);
    cp_reader_close(r);
    return n;
}

static void free_recs(rec_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(recs[i].block);
}

static void build_plain(cp_buf *b, const char *eol)
{
    put_record(b, eol, INFO_HDR, "software: test\r\n", 16, 1);
    put_record(b, eol, DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    put_record(b, eol, DOC_HDR("2"), TEXT2, strlen(TEXT2), 1);
}

static void check_good(const rec_t *recs, size_t n, int end, uint64_t total, size_t file_bytes)
{
    assert_int_equal(end, 0);
    assert_int_equal(n, 3);
    assert_int_equal(total, file_bytes); /* every byte accounted for */
    assert_int_equal(recs[0].kind, CP_WARC_SKIP);
    assert_string_equal(recs[0].type, "warcinfo");
    assert_int_equal(recs[0].offset, 0);
    assert_int_equal(recs[1].kind, CP_WARC_DOC);
    assert_int_equal(recs[1].record_no, 2);
    assert_string_equal(recs[1].block, TEXT1);
    assert_string_equal(recs[1].meta, "{\"id\":\"<urn:uuid:00000001-b3d8-426e-938d-cf3318afe8e9>\","
                                      "\"url\":\"https://example.org/1\",\"date\":\"2024-05-18T01:58:11Z\","
                                      "\"cc_lang\":\"nld,eng\",\"text\":\"\"}");
    assert_int_equal(recs[2].kind, CP_WARC_DOC);
    assert_int_equal(recs[2].block_len, strlen(TEXT2)); /* CR and blank lines inside the block are kept */
    assert_memory_equal(recs[2].block, TEXT2, strlen(TEXT2));
}

static void test_crlf_and_lf(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    rec_t recs[8];
    int end;
    uint64_t total;
    for (int lf = 0; lf < 2; lf++) {
        cp_buf b = {0};
        build_plain(&b, lf ? "\n" : "\r\n");
        const char *p = write_raw(dir, lf ? "lf.wet" : "crlf.wet", b.data, b.len);
        size_t n = read_all(p, recs, 8, 1 << 20, &end, &total);
        check_good(recs, n, end, total, b.len);
        assert_int_equal(recs[1].offset, (uint64_t)(strstr(b.data + 1, "WARC/1.0") - b.data));
        free_recs(recs, n);
        cp_buf_free(&b);
    }
}

static void test_gzip_per_record_and_zstd(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    cp_buf plain = {0}, gz = {0};
    rec_t recs[8];
    int end;
    uint64_t total;
    /* one gzip member per record, as Common Crawl writes them */
    cp_buf one = {0};
    put_record(&one, "\r\n", INFO_HDR, "software: test\r\n", 16, 1);
    gzip_member(&gz, one.data, one.len, 6);
    cp_buf_append(&plain, one.data, one.len);
    one.len = 0;
    put_record(&one, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    gzip_member(&gz, one.data, one.len, 6);
    cp_buf_append(&plain, one.data, one.len);
    one.len = 0;
    put_record(&one, "\r\n", DOC_HDR("2"), TEXT2, strlen(TEXT2), 1);
    gzip_member(&gz, one.data, one.len, 6);
    cp_buf_append(&plain, one.data, one.len);
    size_t n = read_all(write_raw(dir, "a.warc.wet.gz", gz.data, gz.len), recs, 8, 1 << 20, &end, &total);
    check_good(recs, n, end, total, plain.len);
    free_recs(recs, n);

    size_t bound = ZSTD_compressBound(plain.len);
    char *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, plain.data, plain.len, 3);
    assert_false(ZSTD_isError(zn));
    n = read_all(write_raw(dir, "a.warc.zst", z, zn), recs, 8, 1 << 20, &end, &total);
    check_good(recs, n, end, total, plain.len);
    free_recs(recs, n);
    free(z);

    /* a truncated gzip member: the record it cuts is reported once, fatal, with the reader's message */
    gz.len -= 20;
    n = read_all(write_raw(dir, "cut.warc.wet.gz", gz.data, gz.len), recs, 8, 1 << 20, &end, &total);
    assert_int_equal(end, 0);
    assert_int_equal(n, 3);
    assert_int_equal(recs[2].kind, CP_WARC_BAD);
    assert_string_equal(recs[2].reject, "warc_truncated");
    assert_true(recs[2].fatal);
    assert_non_null(strstr(recs[2].msg, "record 3 at byte "));
    assert_non_null(strstr(recs[2].msg, "gzip"));
    assert_non_null(recs[2].block); /* what was decoded is kept for --keep-rejected */
    assert_non_null(strstr(recs[2].block, "WARC-Type: conversion"));
    free_recs(recs, n);
    cp_buf_free(&one);
    cp_buf_free(&plain);
    cp_buf_free(&gz);
}

static void test_malformed_records(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    rec_t recs[8];
    int end;
    uint64_t total;
    char at[64];

    /* Content-Length past the end of the input */
    cp_buf b = {0};
    put_record(&b, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    size_t second = b.len;
    cp_buf_puts(&b, "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 5000\r\n\r\nonly this");
    size_t n = read_all(write_raw(dir, "past.wet", b.data, b.len), recs, 8, 1 << 20, &end, &total);
    assert_int_equal(n, 2);
    assert_int_equal(recs[0].kind, CP_WARC_DOC);
    assert_int_equal(recs[1].kind, CP_WARC_BAD);
    assert_string_equal(recs[1].reject, "warc_truncated");
    assert_true(recs[1].fatal);
    snprintf(at, sizeof at, "record 2 at byte %zu: Content-Length 5000", second);
    assert_non_null(strstr(recs[1].msg, at));
    assert_non_null(strstr(recs[1].block, "only this"));
    assert_int_equal(total, b.len);
    free_recs(recs, n);

    /* missing and non-numeric Content-Length: the record is read up to the next "WARC/1." */
    b.len = 0;
    put_record(&b, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 0);
    put_record(&b, "\r\n", "WARC-Type: conversion\nContent-Length: 12x", "abc", 3, 0);
    put_record(&b, "\r\n", DOC_HDR("3"), TEXT1, strlen(TEXT1), 1);
    n = read_all(write_raw(dir, "len.wet", b.data, b.len), recs, 8, 1 << 20, &end, &total);
    assert_int_equal(end, 0);
    assert_int_equal(n, 3);
    assert_string_equal(recs[0].reject, "warc_bad_length");
    assert_non_null(strstr(recs[0].msg, "record 1 at byte 0: no Content-Length"));
    assert_false(recs[0].fatal);
    assert_non_null(strstr(recs[0].block, TEXT1)); /* the skipped bytes are kept */
    assert_string_equal(recs[1].reject, "warc_bad_length");
    assert_non_null(strstr(recs[1].msg, "not a number"));
    assert_int_equal(recs[2].kind, CP_WARC_DOC);
    assert_int_equal(recs[2].record_no, 3);
    assert_string_equal(recs[2].block, TEXT1);
    assert_int_equal(total, b.len);
    free_recs(recs, n);

    /* a record that does not start with WARC/1., and a Content-Length too short that leaves text behind */
    b.len = 0;
    put_record(&b, "\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    size_t junk = b.len;
    cp_buf_puts(&b, "HTTP/1.1 200 OK\nnot a warc header\n\n");
    put_record(&b, "\n", "WARC-Type: conversion\nContent-Length: 4", "abcdefgh", 8, 0);
    put_record(&b, "\n", DOC_HDR("4"), TEXT2, strlen(TEXT2), 1);
    n = read_all(write_raw(dir, "hdr.wet", b.data, b.len), recs, 8, 1 << 20, &end, &total);
    assert_int_equal(n, 5);
    assert_int_equal(recs[0].kind, CP_WARC_DOC);
    assert_string_equal(recs[1].reject, "warc_bad_header");
    snprintf(at, sizeof at, "record 2 at byte %zu:", junk);
    assert_non_null(strstr(recs[1].msg, at));
    assert_string_equal(recs[1].block, "HTTP/1.1 200 OK\nnot a warc header\n\n");
    assert_int_equal(recs[2].kind, CP_WARC_DOC);
    assert_string_equal(recs[2].block, "abcd");
    assert_string_equal(recs[3].reject, "warc_bad_header"); /* "efgh": the rest of the short block */
    assert_int_equal(recs[4].kind, CP_WARC_DOC);
    assert_memory_equal(recs[4].block, TEXT2, strlen(TEXT2));
    assert_int_equal(total, b.len);
    free_recs(recs, n);

    /* a block over the limit is counted, not stored */
    b.len = 0;
    put_record(&b, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    put_record(&b, "\r\n", DOC_HDR("2"), "short", 5, 1);
    n = read_all(write_raw(dir, "long.wet", b.data, b.len), recs, 8, 20, &end, &total);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0].reject, "warc_too_long");
    assert_null(recs[0].block);
    assert_int_equal(recs[0].block_len, strlen(TEXT1));
    assert_int_equal(recs[1].kind, CP_WARC_DOC);
    free_recs(recs, n);

    /* the input ends inside a header */
    b.len = 0;
    cp_buf_puts(&b, "WARC/1.0\r\nWARC-Type: conversion\r\n");
    n = read_all(write_raw(dir, "hend.wet", b.data, b.len), recs, 8, 1 << 20, &end, &total);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].reject, "warc_truncated");
    assert_true(recs[0].fatal);
    free_recs(recs, n);
    cp_buf_free(&b);
}

static void test_record_to_doc(void **state)
{
    (void)state;
    /* the feeder's layout: meta object, then the block */
    const char *meta = "{\"id\":\"<urn:uuid:1>\",\"url\":\"https://x.org/a\\\"b\",\"text\":\"\"}";
    const char block[] = "caf\xc3\xa9 \xff ok\0nul";
    size_t bl = sizeof block - 1;
    cp_buf arena = {0};
    cp_buf_puts(&arena, meta);
    cp_buf_append(&arena, block, bl);
    cp_doc d;
    memset(&d, 0, sizeof d);
    d.raw = arena.data;
    d.raw_len = strlen(meta);
    d.block_len = bl;
    d.warc = 1;
    d.line = 7;
    assert_int_equal(cp_warc_parse_doc(&d, "x.wet"), 0);
    assert_string_equal(d.id, "<urn:uuid:1>");
    assert_false(d.id_generated);
    assert_int_equal(d.url_len, strlen("https://x.org/a\"b"));
    assert_memory_equal(d.url, "https://x.org/a\"b", d.url_len);
    assert_string_equal(d.text, "caf\xc3\xa9 \xef\xbf\xbd oknul"); /* invalid byte replaced, NUL dropped */
    assert_int_equal(d.line_utf8_fixes, 2);
    assert_int_equal(d.text_in_len, bl);
    assert_int_equal(d.n_members, 3);
    assert_int_equal(d.text_member, 2);
    /* written back as the record with its text */
    cp_buf out = {0};
    d.has_lang = 0;
    cp_emit_doc(&d, "x.wet", NULL, 0, &out);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "text")), d.text);
    assert_string_equal(json_string_value(json_object_get(j, "url")), "https://x.org/a\"b");
    json_decref(j);
    cp_buf_free(&out);
    cp_doc_release(&d);

    /* without WARC-Record-ID the id names file and record */
    const char *meta2 = "{\"text\":\"\"}";
    memset(&d, 0, sizeof d);
    d.raw = meta2;
    d.raw_len = strlen(meta2);
    d.warc = 1;
    d.line = 3;
    assert_int_equal(cp_warc_parse_doc(&d, "y.wet"), 0);
    assert_string_equal(d.id, "y.wet:3");
    assert_true(d.id_generated);
    assert_int_equal(d.text_len, 0);
    cp_doc_release(&d);
    cp_buf_free(&arena);
}

/* ---- end to end ---- */

static json_int_t stat_int(json_t *st, const char *key)
{
    return json_integer_value(json_object_get(st, key));
}

static json_int_t sub_int(json_t *st, const char *obj, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(st, obj), key));
}

static void test_real_common_crawl(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    static const char *const names[] = {"whirlwind.warc.wet.gz", "whirlwind.warc.wet"};
    for (int i = 0; i < 2; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/commoncrawl/%s", names[i]);
        const char *in = P(sh, rel), *out = P(dir, names[i]);
        const char *args[] = {"-q", "-c", "none", "-o", out, in, NULL};
        assert_int_equal(run_cli(args, NULL, NULL), 0);
        json_t *st = read_stats(out);
        assert_int_equal(stat_int(st, "docs_in"), 1);
        assert_int_equal(stat_int(st, "docs_kept"), 1);
        assert_int_equal(sub_int(st, "warc_records", "warcinfo"), 1);
        assert_int_equal(sub_int(st, "warc_records", "conversion"), 1);
        assert_int_equal(stat_int(st, "files_failed"), 0);
        assert_true(invariant_holds(st));
        json_t *recs = read_records(out, 0);
        assert_int_equal(json_array_size(recs), 1);
        json_t *r = json_array_get(recs, 0);
        assert_string_equal(json_string_value(json_object_get(r, "id")),
                            "<urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d>");
        assert_string_equal(json_string_value(json_object_get(r, "url")), "https://an.wikipedia.org/wiki/Escopete");
        assert_string_equal(json_string_value(json_object_get(r, "date")), "2024-05-18T01:58:10Z");
        assert_string_equal(json_string_value(json_object_get(r, "cc_lang")), "spa");
        const char *text = json_string_value(json_object_get(r, "text"));
        assert_non_null(strstr(text, "Escopete ye un municipio"));
        assert_int_equal(strncmp(text, "Escopete - Biquipedia", 21), 0);
        json_decref(recs);
        json_decref(st);
    }
    /* the WARC with HTML: response records are counted as warc_html_unsupported, nothing is a document */
    const char *in = P(sh, "data/commoncrawl/whirlwind.warc.gz"), *out = P(dir, "warc");
    const char *args[] = {"-q", "-o", out, in, NULL};
    assert_int_equal(run_cli(args, NULL, NULL), 0);
    json_t *st = read_stats(out);
    assert_int_equal(stat_int(st, "docs_in"), 0);
    assert_int_equal(stat_int(st, "warc_html_unsupported"), 1);
    assert_int_equal(sub_int(st, "warc_records", "request"), 1);
    assert_int_equal(sub_int(st, "warc_records", "metadata"), 1);
    assert_int_equal(stat_int(st, "bytes_in_uncompressed"), 77432); /* zcat | wc -c */
    json_decref(st);
}

static void test_cli_bad_records_and_folders(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    const char *in = P(dir, "in");
    mkdir(in, 0755);
    /* a folder picks up WARC names beside JSONL; a WARC named .jsonl is still WARC (content decides) */
    cp_buf b = {0};
    put_record(&b, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    write_file(P(in, "a.warc.wet.gz"), b.data, b.len, 1);
    write_file(P(in, "b.wet"), b.data, b.len, 0);
    write_file(P(in, "c.warc.zst"), "", 0, 0); /* not zstd: refused like any misnamed file */
    write_file(P(in, "d.jsonl"), b.data, b.len, 0);
    write_file(P(in, "ignored.txt"), b.data, b.len, 0);
    const char *out = P(dir, "out1");
    const char *args[] = {"-q", "-c", "none", "--no-dedup", "--no-near-dedup", "-o", out, in, NULL};
    char *err = NULL;
    assert_int_equal(run_cli(args, NULL, &err), 1);
    json_t *st = read_stats(out);
    assert_int_equal(stat_int(st, "files"), 4);
    assert_int_equal(stat_int(st, "docs_in"), 3);
    assert_int_equal(sub_int(st, "warc_records", "conversion"), 3);
    json_decref(st);
    free(err);

    /* bad records: counted, named, kept with --keep-rejected; a truncated record makes the exit code 1 */
    b.len = 0;
    put_record(&b, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 0);
    put_record(&b, "\r\n", DOC_HDR("2"), TEXT1, strlen(TEXT1), 1);
    size_t cut = b.len;
    cp_buf_puts(&b, "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 999\r\n\r\nshort");
    const char *f = P(dir, "bad.wet");
    write_file(f, b.data, b.len, 0);
    out = P(dir, "out2");
    const char *args2[] = {"-c", "none", "--keep-rejected", "-o", out, f, NULL};
    assert_int_equal(run_cli(args2, NULL, &err), 1);
    char want[512];
    snprintf(want, sizeof want, "%s: record 3 at byte %zu: Content-Length 999 runs past the end", f, cut);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof want, "%s:1: warc_bad_length: record 1 at byte 0: no Content-Length", f);
    assert_non_null(strstr(err, want));
    free(err);
    st = read_stats(out);
    assert_int_equal(stat_int(st, "docs_in"), 3);
    assert_int_equal(stat_int(st, "docs_kept"), 1);
    assert_int_equal(sub_int(st, "docs_rejected", "warc_bad_length"), 1);
    assert_int_equal(sub_int(st, "docs_rejected", "warc_truncated"), 1);
    assert_int_equal(stat_int(st, "files_failed"), 1);
    assert_true(invariant_holds(st));
    json_decref(st);
    json_t *rej = read_records(P(out, "rejected"), 0);
    assert_int_equal(json_array_size(rej), 2);
    json_t *r0 = json_array_get(rej, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "reject_reason")), "warc_bad_length");
    assert_non_null(strstr(json_string_value(json_object_get(r0, "raw")), TEXT1));
    json_decref(rej);

    /* a truncated gzip member: named with file, record and offset, counted, exit 1 */
    cp_buf gz = {0}, one = {0};
    put_record(&one, "\r\n", DOC_HDR("1"), TEXT1, strlen(TEXT1), 1);
    gzip_member(&gz, one.data, one.len, 6);
    size_t second = one.len;
    one.len = 0;
    put_record(&one, "\r\n", DOC_HDR("2"), TEXT2, strlen(TEXT2), 1);
    gzip_member(&gz, one.data, one.len, 6);
    f = P(dir, "cut.warc.wet.gz");
    write_file(f, gz.data, gz.len - 12, 0);
    out = P(dir, "out3");
    const char *args3[] = {"-c", "none", "--keep-rejected", "-o", out, f, NULL};
    assert_int_equal(run_cli(args3, NULL, &err), 1);
    snprintf(want, sizeof want, "%s: record 2 at byte %zu: ", f, second);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "unexpected end of gzip data"));
    free(err);
    st = read_stats(out);
    assert_int_equal(stat_int(st, "docs_kept"), 1);
    assert_int_equal(sub_int(st, "docs_rejected", "warc_truncated"), 1);
    assert_int_equal(stat_int(st, "files_failed"), 1);
    json_decref(st);

    /* standard input: WARC is told by content there too */
    write_file(P(dir, "whole.wet"), one.data, one.len, 0);
    out = P(dir, "out4");
    const char *args4[] = {"-q", "-c", "none", "-o", out, "-", NULL};
    assert_int_equal(run_cli(args4, P(dir, "whole.wet"), NULL), 0);
    json_t *recs = read_records(out, 0);
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "url")), "https://example.org/2");
    json_decref(recs);
    cp_buf_free(&gz);
    cp_buf_free(&one);
    cp_buf_free(&b);
}

/* The DCLM pages as a WET file (bench/make_wet.py) and as JSONL keep the same texts, in the same order. */
static void test_dclm_wet_equals_jsonl(void **state)
{
    const char *dir = ((cli_fx *)*state)->dir;
    const char *sh = shared_dir();
    if (!sh)
        skip();
    const char *jsonl = P(sh, "data/dclm-web-en.jsonl.gz"), *wet = P(dir, "dclm.warc.wet.gz");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 bench/make_wet.py %s %s 2>/dev/null", jsonl, wet);
    assert_int_equal(system(cmd), 0);
    const char *ow = P(dir, "ow"), *ow2 = P(dir, "ow2"), *oj = P(dir, "oj");
    const char *a1[] = {"-q", "-t", "1", "-o", ow, wet, NULL};
    const char *a2[] = {"-q", "-t", "2", "-o", ow2, wet, NULL};
    const char *a3[] = {"-q", "-o", oj, jsonl, NULL};
    assert_int_equal(run_cli(a1, NULL, NULL), 0);
    assert_int_equal(run_cli(a2, NULL, NULL), 0);
    assert_int_equal(run_cli(a3, NULL, NULL), 0);
    size_t l1, l2;
    char *s1 = read_all_shards(ow, &l1), *s2 = read_all_shards(ow2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1); /* -t 1 and -t 2 byte-identical */
    free(s1);
    free(s2);
    json_t *w = read_records(ow, 1), *j = read_records(oj, 1);
    assert_true(json_array_size(w) > 300);
    assert_int_equal(json_array_size(w), json_array_size(j));
    for (size_t i = 0; i < json_array_size(w); i++) {
        const char *tw = json_string_value(json_object_get(json_array_get(w, i), "text"));
        const char *tj = json_string_value(json_object_get(json_array_get(j, i), "text"));
        /* text hashes: comparing the texts themselves is the stronger check */
        if (strcmp(tw, tj))
            fail_msg("record %zu differs", i);
    }
    json_t *sw = read_stats(ow), *sj = read_stats(oj);
    assert_int_equal(stat_int(sw, "docs_in"), stat_int(sj, "docs_in"));
    assert_true(json_equal(json_object_get(sw, "docs_rejected"), json_object_get(sj, "docs_rejected")));
    json_decref(sw);
    json_decref(sj);
    json_decref(w);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crlf_and_lf, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_gzip_per_record_and_zstd, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_records, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_to_doc, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_real_common_crawl, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_records_and_folders, cli_fx_setup, cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_dclm_wet_equals_jsonl, cli_fx_setup, cli_fx_teardown),
    };
    return cmocka_run_group_tests_name("warc", tests, NULL, NULL);
}
