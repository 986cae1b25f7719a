/* Tests for spill: a batch written and read back keeps every field the deciding pass uses (raw line and WARC
 * block, members, id, url, reject, cleaned text, line hashes, the batch's figures, events and WARC counts;
 * a JSON record's line without its text value, giving the same output record, and its normalised text);
 * many batches come back in order; and a spill that is cut short, has a flipped byte, another fingerprint or
 * another version is refused with a message, never read. Files go below a fresh temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpusprep/feeder.h"
#include "corpusprep/parse.h"
#include "corpusprep/spill.h"

static char root[256];
static char file[512];

#define FP 0x1234abcdULL

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/cp-test-spill.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(file, sizeof file, "%s/rank-0.spill", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(root);
    return 0;
}

/* The normalised text of the kept record, as cleaning found it: a line it removed, one it changed (the
 * cleaned "One line."), a kept one found past that, blank and removed lines after the last kept one, a
 * repeated line, an empty last line. */
#define NORM "Menu\nOne  line.\nTwo line.\n\nA\nB\nC\nD\nE\nOne line.\n"

/* A batch of three documents: a kept JSON record with lines, a WARC record with its block, a parse error. */
static cp_batch *make_batch(uint64_t index, int last)
{
    static char arena[] = "{\"id\":\"a1\",\"text\":\"One line.\\nTwo line.\",\"url\":\"http://x/\"}"
                          "{\"WARC-Type\":\"conversion\"}BLOCK TEXT"
                          "{not json";
    cp_batch *b = calloc(1, sizeof *b);
    b->index = index;
    b->last = last;
    b->n = b->cap = 3;
    b->docs = calloc(3, sizeof *b->docs);
    b->blank_lines = 2;
    b->bytes_in = 1234 + index;
    b->end = (cp_input_pos){1, 5, 600, 3 * (index + 1), index + 1, 77};
    b->read_compressed = 999;
    b->n_events = 1;
    b->events = malloc(sizeof *b->events);
    b->events[0] = strdup("in.gz: unexpected end of gzip data");
    b->event_fatal = malloc(sizeof *b->event_fatal);
    b->event_fatal[0] = 1;
    b->event_file = malloc(sizeof *b->event_file);
    b->event_file[0] = 1;
    cp_counters_add(&b->warc_records, "conversion", 4, 0);

    cp_doc *d = &b->docs[0];
    size_t l0 = strlen("{\"id\":\"a1\",\"text\":\"One line.\\nTwo line.\",\"url\":\"http://x/\"}");
    d->raw = arena;
    d->raw_len = l0;
    d->file = 0;
    d->line = 7;
    d->seq = 3 * index;
    d->object = 1;
    d->n_members = 3;
    d->members = calloc(3, sizeof *d->members);
    d->members[0] = (cp_member){2, 2, 6, 4, 3, 0, 0};
    d->members[1] = (cp_member){12, 4, 18, 22, 3, 0, 1};
    d->members[2] = (cp_member){42, 3, 47, 11, 3, 0, 0};
    d->text_member = 1;
    d->id = strdup("a1");
    d->id_len = 2;
    d->url = "http://x/";
    d->url_len = 9;
    d->has_url_key = 1;
    d->text = strdup("One line.\nTwo line.");
    d->text_len = strlen(d->text);
    d->text_in_len = 20;
    cp_buf diff = {0};
    cp_spill_norm_diff(NORM, strlen(NORM), d->text, d->text_len, &diff);
    d->norm_diff = malloc(diff.len + 1);
    memcpy(d->norm_diff, diff.data, diff.len);
    d->norm_diff_len = diff.len;
    cp_buf_free(&diff);
    d->norm_len = strlen(NORM);
    d->clean_len = 19;
    d->h_exact = 42;
    d->lines.n = d->lines.cap = 2;
    d->lines.v = calloc(2, sizeof *d->lines.v);
    d->lines.v[0] = (cp_line_hash){111, 0, 9};
    d->lines.v[1] = (cp_line_hash){222, 10, 9};

    d = &b->docs[1];
    size_t l1 = strlen("{\"WARC-Type\":\"conversion\"}");
    d->raw = arena + l0;
    d->raw_len = l1;
    d->warc = 1;
    d->block_len = 10;
    d->file = 1;
    d->line = 2;
    d->seq = 3 * index + 1;
    d->id = malloc(6);
    memcpy(d->id, "urn\0x", 6); /* an id may hold "\u0000": it comes back whole */
    d->id_len = 5;
    d->id_generated = 1;
    d->reject = "c4:lorem_ipsum";
    d->text = strdup("");

    d = &b->docs[2];
    d->raw = arena + l0 + l1 + 10;
    d->raw_len = strlen("{not json");
    d->file = 1;
    d->line = 3;
    d->seq = 3 * index + 2;
    d->reject = "parse_error";
    d->parse_error = strdup("column 2: expected a string");
    d->line_fixed = strdup("{not json");
    d->line_utf8_fixes = 1;
    return b;
}

static void free_batch(cp_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->docs[i].url = NULL; /* static in make_batch */
        cp_doc_release(&b->docs[i]);
    }
    b->arena = NULL;
    cp_batch_free(b);
}

static void write_spill(int batches)
{
    char err[512];
    cp_spill_writer *w = cp_spill_create(file, 1, FP, err, sizeof err);
    assert_non_null(w);
    for (int i = 0; i < batches; i++) {
        cp_batch *b = make_batch((uint64_t)i, i == batches - 1);
        assert_int_equal(cp_spill_put(w, b, err, sizeof err), 0);
        free_batch(b);
    }
    uint64_t bytes = 0;
    assert_int_equal(cp_spill_finish(w, 1, &bytes, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal((uint64_t)st.st_size, bytes);
}

static void release(cp_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        cp_doc_release(&b->docs[i]);
    cp_batch_free(b);
}

static void test_roundtrip(void **state)
{
    (void)state;
    write_spill(3);
    char err[512];
    cp_spill_reader *r = cp_spill_open(file, FP, err, sizeof err);
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        cp_batch *b = NULL;
        assert_int_equal(cp_spill_next(r, &b, err, sizeof err), 1);
        cp_batch *want = make_batch((uint64_t)i, i == 2);
        assert_int_equal(b->index, (uint64_t)i);
        assert_int_equal(b->last, i == 2);
        assert_int_equal(b->n, 3);
        assert_int_equal(b->blank_lines, 2);
        assert_int_equal(b->bytes_in, 1234 + (uint64_t)i);
        assert_memory_equal(&b->end, &want->end, sizeof b->end);
        assert_int_equal(b->read_compressed, 999);
        assert_int_equal(b->n_events, 1);
        assert_string_equal(b->events[0], want->events[0]);
        assert_int_equal(b->event_fatal[0], 1);
        assert_int_equal(b->event_file[0], 1);
        assert_int_equal(b->warc_records.n, 1);
        assert_string_equal(b->warc_records.items[0].name, "conversion");
        assert_int_equal(b->warc_records.items[0].docs, 4);
        /* the JSON record: its line without the text's value, which the output takes from the cleaned text */
        const cp_doc *d0 = &b->docs[0];
        assert_null(d0->raw);
        static const char elided[] = "{\"id\":\"a1\",\"text\":\"\",\"url\":\"http://x/\"}";
        size_t len;
        const char *line = cp_doc_line(d0, &len);
        assert_int_equal(len, strlen(elided));
        assert_memory_equal(line, elided, len);
        cp_member m[3];
        memcpy(m, want->docs[0].members, sizeof m);
        m[1].val_len = 2;
        m[1].val_escaped = 0;
        m[2].key_off -= 20;
        m[2].val_off -= 20;
        assert_memory_equal(d0->members, m, sizeof m);
        assert_int_equal(d0->norm_diff_len, want->docs[0].norm_diff_len);
        assert_memory_equal(d0->norm_diff, want->docs[0].norm_diff, d0->norm_diff_len);
        char *norm = cp_spill_norm_text(d0->norm_diff, d0->norm_diff_len, d0->text, d0->text_len, d0->norm_len);
        assert_non_null(norm);
        assert_string_equal(norm, NORM);
        free(norm);
        cp_buf out = {0}, out_want = {0};
        cp_emit_doc(d0, "in.jsonl", NULL, 0, &out);
        cp_emit_doc(&want->docs[0], "in.jsonl", NULL, 0, &out_want);
        assert_int_equal(out.len, out_want.len);
        assert_memory_equal(out.data, out_want.data, out.len);
        cp_buf_free(&out);
        cp_buf_free(&out_want);
        for (size_t k = 0; k < 3; k++) {
            const cp_doc *d = &b->docs[k], *e = &want->docs[k];
            assert_int_equal(d->raw_len, e->raw_len);
            assert_int_equal(d->block_len, e->block_len);
            if (k)
                assert_memory_equal(d->raw, e->raw, e->raw_len + e->block_len);
            if (k)
                assert_null(d->norm_diff);
            assert_int_equal(d->file, e->file);
            assert_int_equal(d->line, e->line);
            assert_int_equal(d->seq, e->seq);
            assert_int_equal(d->warc, e->warc);
            assert_int_equal(d->object, e->object);
            assert_int_equal(d->n_members, e->n_members);
            if (e->n_members && k)
                assert_memory_equal(d->members, e->members, e->n_members * sizeof *e->members);
            assert_int_equal(d->text_member, e->text_member);
            assert_int_equal(d->id_generated, e->id_generated);
            assert_int_equal(d->has_url_key, e->has_url_key);
            assert_int_equal(d->line_utf8_fixes, e->line_utf8_fixes);
            assert_int_equal(d->id_len, e->id_len);
            if (e->id)
                assert_memory_equal(d->id, e->id, e->id_len + 1);
            else
                assert_null(d->id);
            if (e->url)
                assert_memory_equal(d->url, e->url, e->url_len + 1 - 1);
            else
                assert_null(d->url);
            assert_int_equal(d->url_len, e->url_len);
            if (e->reject)
                assert_string_equal(d->reject, e->reject);
            else
                assert_null(d->reject);
            if (e->parse_error)
                assert_string_equal(d->parse_error, e->parse_error);
            if (e->line_fixed)
                assert_string_equal(d->line_fixed, e->line_fixed);
            else
                assert_null(d->line_fixed);
            assert_int_equal(d->text_len, e->text_len);
            if (e->text)
                assert_memory_equal(d->text, e->text, e->text_len + 1);
            assert_int_equal(d->text_in_len, e->text_in_len);
            assert_int_equal(d->norm_len, e->norm_len);
            assert_int_equal(d->clean_len, e->clean_len);
            assert_int_equal(d->h_exact, e->h_exact);
            assert_int_equal(d->lines.n, e->lines.n);
            if (e->lines.n)
                assert_memory_equal(d->lines.v, e->lines.v, e->lines.n * sizeof *e->lines.v);
        }
        free_batch(want);
        release(b);
    }
    cp_batch *b = NULL;
    assert_int_equal(cp_spill_next(r, &b, err, sizeof err), 0);
    assert_null(b);
    cp_spill_close(r);
}

static long file_size(void)
{
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    return (long)st.st_size;
}

/* Reads every batch; returns -1 at the first refusal (message in err), else 0. */
static int read_all(uint64_t fp, char *err, size_t errlen)
{
    cp_spill_reader *r = cp_spill_open(file, fp, err, errlen);
    if (!r)
        return -1;
    int rc, verified = cp_spill_verify(r, err, errlen);
    cp_batch *b;
    while ((rc = cp_spill_next(r, &b, err, errlen)) == 1)
        release(b);
    cp_spill_close(r);
    assert_int_equal(verified, rc); /* verify and reading agree: a damaged spill fails both, a sound one neither */
    return rc;
}

/* The normalised text's difference from the cleaned one: exact for texts cleaning shortened, reordered
 * nothing of, emptied, or left alone; refused where it does not fit the cleaned text it is given. */
static void norm_roundtrip(const char *norm, const char *clean)
{
    cp_buf diff = {0};
    cp_spill_norm_diff(norm, strlen(norm), clean, strlen(clean), &diff);
    char *got = cp_spill_norm_text(diff.data ? diff.data : "", diff.len, clean, strlen(clean), strlen(norm));
    assert_non_null(got);
    assert_string_equal(got, norm);
    free(got);
    cp_buf_free(&diff);
}

static void test_norm_diff(void **state)
{
    (void)state;
    norm_roundtrip(NORM, "One line.\nTwo line.");
    norm_roundtrip("a\nb\nc", "a\nb\nc");
    norm_roundtrip("a\nb\nc", "");
    norm_roundtrip("", "");
    norm_roundtrip("\n\n", "");
    norm_roundtrip("x\n1\n2\n3\n4\n5\ny", "y");         /* the kept line lies beyond the lookahead */
    norm_roundtrip("Menu\nline\nMenu\nline\n", "line\nline"); /* a line that repeats */

    /* what cleaning removed is all the difference holds */
    cp_buf diff = {0};
    const char *norm = "Sign up now\nThe story itself, a long line of text.\nRead more";
    const char *clean = "The story itself, a long line of text.";
    cp_spill_norm_diff(norm, strlen(norm), clean, strlen(clean), &diff);
    assert_true(diff.len < strlen(norm) - strlen(clean) + 3 * 12 + 1);
    /* a difference rebuilt against another text, a wrong length, or cut: NULL, never a wrong text */
    assert_null(cp_spill_norm_text(diff.data, diff.len, "", 0, strlen(norm)));
    assert_null(cp_spill_norm_text(diff.data, diff.len, clean, strlen(clean), strlen(norm) - 1));
    assert_null(cp_spill_norm_text(diff.data, diff.len, clean, strlen(clean), strlen(norm) + 1));
    assert_null(cp_spill_norm_text(diff.data, diff.len - 1, clean, strlen(clean), strlen(norm)));
    char *ok = cp_spill_norm_text(diff.data, diff.len, clean, strlen(clean), strlen(norm));
    assert_string_equal(ok, norm);
    free(ok);
    cp_buf_free(&diff);
}

static void test_truncated(void **state)
{
    (void)state;
    char err[512];
    for (long cut = 1; cut < 40; cut += 7) {
        write_spill(2);
        long n = file_size();
        assert_int_equal(truncate(file, n - cut), 0);
        err[0] = 0;
        assert_int_equal(read_all(FP, err, sizeof err), -1);
        assert_non_null(strstr(err, "rank-0.spill"));
    }
    write_spill(2);
    assert_int_equal(truncate(file, 20), 0); /* not even a header */
    assert_int_equal(read_all(FP, err, sizeof err), -1);
}

static void test_flipped_byte(void **state)
{
    (void)state;
    char err[512];
    write_spill(2);
    long n = file_size();
    int refused = 0, tried = 0;
    for (long at = 32; at < n; at += 7) { /* a byte of nearly every 8-byte head field too */
        write_spill(2);
        FILE *f = fopen(file, "r+b");
        assert_non_null(f);
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
        tried++;
        err[0] = 0;
        if (read_all(FP, err, sizeof err) == -1) {
            refused++;
            assert_true(strlen(err) > 0);
        }
    }
    assert_int_equal(refused, tried); /* every damaged byte is noticed */
}

static void test_wrong_fingerprint_and_version(void **state)
{
    (void)state;
    char err[512];
    write_spill(1);
    assert_null(cp_spill_open(file, FP + 1, err, sizeof err));
    assert_non_null(strstr(err, "another run"));
    FILE *f = fopen(file, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(3, f); /* the format whose normalised text was not a string: refused, not misread */
    fclose(f);
    assert_null(cp_spill_open(file, FP, err, sizeof err));
    assert_non_null(strstr(err, "not a spill of this corpusprep (format 3, this build reads 4)"));
    f = fopen(file, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(99, f); /* version */
    fclose(f);
    assert_null(cp_spill_open(file, FP, err, sizeof err));
    assert_non_null(strstr(err, "not a spill of this corpusprep"));
    unlink(file);
    assert_null(cp_spill_open(file, FP, err, sizeof err));
}

static void test_abort_removes(void **state)
{
    (void)state;
    char err[512];
    cp_spill_writer *w = cp_spill_create(file, 1, FP, err, sizeof err);
    assert_non_null(w);
    cp_batch *b = make_batch(0, 1);
    assert_int_equal(cp_spill_put(w, b, err, sizeof err), 0);
    free_batch(b);
    cp_spill_abort(w);
    struct stat st;
    assert_int_not_equal(stat(file, &st), 0);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/folder/x.spill", root);
    assert_null(cp_spill_create(bad, 1, FP, err, sizeof err));
    assert_non_null(strstr(err, "cannot create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test(test_norm_diff),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fingerprint_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_removes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
