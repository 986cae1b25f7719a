/* Fuzz harness for WARC/WET input (src/warc.c): the input, behind a "WARC/1.0" first line, is read as the
 * pipeline reads a WARC file (cp_reader, then cp_warc_next until the end), and every conversion record is
 * made a document (cp_warc_parse_doc) and emitted, as are malformed records (rejected). The first byte
 * picks the largest record kept (small, to reach warc_too_long, or large). Checked on every input:
 *   - record numbers count up by one and offsets grow; a record has a known kind; a malformed record has
 *     a warc_* reason and a message;
 *   - the bytes of all records (and of the end) add up to the decoded stream at a clean end;
 *   - a document's text is valid UTF-8 with no NUL byte; every emitted line is a JSON object in valid
 *     UTF-8 whose reject_reason matches the verdict. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "corpusprep/parse.h"
#include "corpusprep/reader.h"
#include "corpusprep/warc.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_object_seed(1);
    return 0;
}

static void emit_and_check(cp_doc *d, const char *want_reject)
{
    cp_buf b = {0};
    cp_emit_doc(d, "f.warc", NULL, 0, &b);
    json_t *j = fz_load_line("emitted", b.data, b.len, 0);
    json_t *rr = json_object_get(j, "reject_reason");
    if (want_reject ? !json_is_string(rr) || strcmp(json_string_value(rr), want_reject) : rr != NULL)
        fz_fail("emitted reject_reason differs from the verdict %s: %s", want_reject ? want_reject : "(kept)",
                b.data);
    json_decref(j);
    cp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_record = data[0] < 128 ? 16 + (size_t)data[0] * 4 : (size_t)1 << 24;
    int fd = memfd_create("warc", 0);
    static const char head[] = "WARC/1.0\r\n";
    if (fd < 0 || write(fd, head, sizeof head - 1) != (ssize_t)(sizeof head - 1) ||
        (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) || lseek(fd, 0, SEEK_SET) != 0)
        fz_fail("memfd");
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cp_reader *r = cp_reader_open(path, max_record, err, sizeof err);
    if (!r)
        fz_fail("open: %s", err);
    const char *line;
    size_t len;
    uint64_t line_no;
    if (cp_reader_getline(r, &line, &len, &line_no) != 1 || !cp_warc_is_start(line, len))
        fz_fail("the first line is not a WARC start");
    uint64_t total = 0; /* the first line is part of the first record's bytes */
    cp_warc *w = cp_warc_create(r, "f.warc", line, len, max_record);
    cp_warc_record rec;
    uint64_t last_no = 0, last_off = 0;
    int st, n = 0;
    while ((st = cp_warc_next(w, &rec)) == 1) {
        total += rec.bytes;
        if (rec.record_no != last_no + 1)
            fz_fail("record %llu after record %llu", (unsigned long long)rec.record_no, (unsigned long long)last_no);
        if (n++ && rec.offset <= last_off)
            fz_fail("record offset %llu after %llu", (unsigned long long)rec.offset, (unsigned long long)last_off);
        last_no = rec.record_no;
        last_off = rec.offset;
        if (rec.kind != CP_WARC_DOC && rec.kind != CP_WARC_SKIP && rec.kind != CP_WARC_BAD)
            fz_fail("record kind %d", rec.kind);
        if (rec.kind == CP_WARC_SKIP)
            continue;
        cp_doc d;
        memset(&d, 0, sizeof d);
        d.warc = 1;
        d.line = rec.record_no;
        char *arena = NULL;
        if (rec.kind == CP_WARC_BAD) {
            if (!rec.reject || strncmp(rec.reject, "warc_", 5) || !rec.message || !rec.message[0])
                fz_fail("malformed record without a warc_ reason and a message");
            d.reject = rec.reject;
            d.parse_error = cp_xstrdup(rec.message);
            d.raw_len = rec.block_len;
            if (rec.block) {
                arena = malloc(rec.block_len ? rec.block_len : 1);
                memcpy(arena, rec.block, rec.block_len);
                d.raw = arena;
            }
        } else { /* as the feeder lays it out: the meta object, then the block */
            arena = malloc(rec.meta_len + rec.block_len + 1);
            memcpy(arena, rec.meta, rec.meta_len);
            memcpy(arena + rec.meta_len, rec.block, rec.block_len);
            d.raw = arena;
            d.raw_len = rec.meta_len;
            d.block_len = rec.block_len;
        }
        int rc = cp_warc_parse_doc(&d, "f.warc");
        if ((rc == 0) != (rec.kind == CP_WARC_DOC))
            fz_fail("cp_warc_parse_doc returned %d for a record of kind %d", rc, rec.kind);
        if (rc == 0 && (!d.text || !fz_utf8_valid(d.text, d.text_len) || memchr(d.text, 0, d.text_len)))
            fz_fail("a WARC document's text is not valid UTF-8 without NUL bytes");
        emit_and_check(&d, d.reject);
        cp_doc_release(&d);
        free(arena);
    }
    total += rec.bytes;
    if (st == 0 && total != cp_reader_bytes_out(r))
        fz_fail("records account for %llu bytes of %llu decoded", (unsigned long long)total,
                (unsigned long long)cp_reader_bytes_out(r));
    if (st != 0 && st != -1)
        fz_fail("cp_warc_next returned %d", st);
    cp_warc_destroy(w);
    cp_reader_close(r);
    close(fd);
    return 0;
}
