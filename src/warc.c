/* warc: WARC/1.x records over the line reader, and WARC records made into documents.
 *
 * Why over lines: cp_reader already decodes gzip (Common Crawl writes one member per record), zstd and plain
 * input and hands out lines without copying; a WARC header is lines, and a block is Content-Length bytes,
 * which are whole lines plus at most one partial one. Reading the block as lines costs a memchr per line,
 * small beside what the later stages spend per byte, and keeps the reader untouched. One subtlety: the
 * reader cannot say whether the last line of a file had its '\n'; cp_reader_bytes_out can (after the last
 * line everything is decoded, so a line ending exactly at the decoded total had none).
 *
 * A conversion record (WET) becomes a document; other types are counted by the caller and skipped. A record
 * that cannot be framed (no "WARC/1." where a record should start, no usable Content-Length) is read up to
 * the next line that starts with "WARC/1." and handed out as a malformed record: the caller rejects it as a
 * document, so it is counted, named and, with --keep-rejected, kept. A record cut short by the end of the
 * input or by a decoding error is the same, plus fatal: the file was not read to its end.
 *
 * Ids: WARC-Record-ID is kept as written, "<urn:uuid:…>", as datatrove and FineWeb keep it, so ids can be
 * joined with theirs. */
#include "corpusprep/warc.h"

#include "corpusprep/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADER_BYTES (1u << 20) /* a header larger than this is not a WARC header */

struct cp_warc {
    cp_reader *r;
    char *name;
    size_t max;           /* largest block kept */
    cp_buf pending;       /* a line read but not consumed yet (the file's first line, or a resync point) */
    int has_pending;
    uint64_t pending_off;
    uint64_t pos;         /* decompressed offset of the next line the reader returns */
    uint64_t record_no;
    uint64_t rec_start;   /* offset of the current record's first line */
    uint64_t mark;        /* bytes accounted for in records handed out */
    int ended;            /* the reader returned 0 or -1; the status is in end_status */
    int end_status;
    int reported;         /* a reader failure went out inside a record */
    cp_buf line;          /* the current line when it came from pending */
    cp_buf raw;           /* a malformed record's bytes, up to max */
    uint64_t raw_total;
    cp_buf block, meta, msg, tmp;
    char type[64];
    cp_buf f_id, f_url, f_date, f_lang;
};

int cp_warc_is_start(const char *line, size_t len)
{
    return len >= 7 && !memcmp(line, "WARC/1.", 7);
}

cp_warc *cp_warc_create(cp_reader *r, const char *name, const char *first, size_t first_len,
                        size_t max_record_bytes)
{
    cp_warc *w = cp_xcalloc(1, sizeof *w);
    w->r = r;
    w->name = cp_xstrdup(name);
    w->max = max_record_bytes;
    cp_buf_append(&w->pending, first, first_len);
    w->has_pending = 1;
    w->pending_off = 0;
    w->pos = first_len + 1;
    return w;
}

void cp_warc_destroy(cp_warc *w)
{
    if (!w)
        return;
    cp_buf *bufs[] = {&w->pending, &w->line, &w->raw, &w->block, &w->meta, &w->msg, &w->tmp,
                      &w->f_id, &w->f_url, &w->f_date, &w->f_lang};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        cp_buf_free(bufs[i]);
    free(w->name);
    free(w);
}

/* The next line, as cp_reader_getline returns it (1 line, 2 line too long: *line NULL, 0 end, -1 error),
 * plus its offset and whether a '\n' ended it. */
static int next_line(cp_warc *w, const char **line, size_t *len, uint64_t *off, int *has_nl)
{
    if (w->has_pending) {
        w->has_pending = 0;
        cp_buf tmp = w->line;
        w->line = w->pending; /* keep the bytes alive until the next call */
        w->pending = tmp;
        w->pending.len = 0;
        *line = w->line.data ? w->line.data : "";
        *len = w->line.len;
        *off = w->pending_off;
        *has_nl = 1;
        return 1;
    }
    if (w->ended)
        return w->end_status;
    uint64_t line_no;
    int st = cp_reader_getline(w->r, line, len, &line_no);
    if (st <= 0) {
        w->ended = 1;
        w->end_status = st;
        return st;
    }
    *off = w->pos;
    *has_nl = cp_reader_bytes_out(w->r) > w->pos + *len;
    w->pos += *len + (*has_nl ? 1 : 0);
    return st;
}

/* Puts bytes back to be read as the next line (they were read with the offset off). */
static void push_back(cp_warc *w, const char *p, size_t n, uint64_t off)
{
    w->pending.len = 0;
    cp_buf_append(&w->pending, p, n);
    w->has_pending = 1;
    w->pending_off = off;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Keeps a malformed record's bytes for --keep-rejected, up to max; beyond that only counts them. */
static void keep_raw(cp_warc *w, const char *p, size_t n, int nl)
{
    uint64_t add = n + (nl ? 1 : 0);
    if (p && w->raw_total + add <= w->max) {
        cp_buf_append(&w->raw, p, n);
        if (nl)
            cp_buf_putc(&w->raw, '\n');
    }
    w->raw_total += add;
}

static int fill_bad(cp_warc *w, cp_warc_record *rec, const char *reason, int fatal, const char *why)
{
    w->msg.len = 0;
    cp_buf_printf(&w->msg, "record %" PRIu64 " at byte %" PRIu64 ": %s", w->record_no, w->rec_start, why);
    if (fatal && w->ended && w->end_status < 0) {
        cp_buf_printf(&w->msg, " (%s)", cp_reader_error(w->r));
        w->reported = 1;
    }
    rec->kind = CP_WARC_BAD;
    rec->reject = reason;
    rec->message = w->msg.data;
    rec->fatal = fatal;
    rec->block = w->raw_total <= w->max ? (w->raw.data ? w->raw.data : "") : NULL;
    rec->block_len = w->raw_total <= w->max ? w->raw.len : (size_t)w->raw_total;
    return 1;
}

/* Reads up to the next line that starts with "WARC/1." (left to be read next) or the end of the input,
 * keeping what it reads as the malformed record's bytes. Returns 0 at a record start or a clean end, -1
 * when the reader failed. */
static int resync(cp_warc *w)
{
    for (;;) {
        const char *line;
        size_t len;
        uint64_t off;
        int nl;
        int st = next_line(w, &line, &len, &off, &nl);
        if (st <= 0)
            return st;
        if (st == 1 && cp_warc_is_start(line, len)) {
            push_back(w, line, len, off);
            return 0;
        }
        keep_raw(w, st == 1 ? line : NULL, len, nl);
    }
}

/* "Name: value" with name matched case-insensitively; value without surrounding blanks. */
static int header_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
        return 0;
    size_t i = n + 1, e = len;
    while (i < e && (line[i] == ' ' || line[i] == '\t'))
        i++;
    while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    *val = line + i;
    *vlen = e - i;
    return 1;
}

static void set_field(cp_buf *b, const char *v, size_t n)
{
    b->len = 0;
    cp_buf_append(b, v, n);
    cp_buf_reserve(b, 0);
    b->data[b->len] = 0;
}

/* Appends ,"key":"value" (value repaired to UTF-8), or nothing when the header was absent. */
static void meta_member(cp_warc *w, const char *key, const cp_buf *v, int *first, int present)
{
    if (!present)
        return;
    cp_buf_printf(&w->meta, "%s\"%s\":", *first ? "" : ",", key);
    *first = 0;
    w->tmp.len = 0;
    cp_utf8_repair(v->data ? v->data : "", v->len, &w->tmp);
    cp_json_escape(&w->meta, w->tmp.data ? w->tmp.data : "", w->tmp.len);
}

int cp_warc_next(cp_warc *w, cp_warc_record *rec)
{
    memset(rec, 0, sizeof *rec);
    const char *line;
    size_t len;
    uint64_t off;
    int nl, st;
    for (;;) { /* blank lines between records */
        st = next_line(w, &line, &len, &off, &nl);
        if (st <= 0) {
            rec->bytes = w->pos - w->mark; /* the blank lines at the end */
            w->mark = w->pos;
            return st < 0 && w->reported ? 0 : st;
        }
        if (st == 2 || !is_blank(line, len))
            break;
    }
    uint64_t start_pos = w->mark;
    w->record_no++;
    w->rec_start = off;
    w->raw.len = 0;
    w->raw_total = 0;
    rec->record_no = w->record_no;
    rec->offset = off;
#define DONE_BYTES() (w->mark = w->has_pending ? w->pending_off : w->pos, rec->bytes = w->mark - start_pos)

    if (st == 2 || !cp_warc_is_start(line, len)) {
        keep_raw(w, st == 1 ? line : NULL, len, nl);
        int rs = resync(w);
        DONE_BYTES();
        return fill_bad(w, rec, "warc_bad_header", rs < 0, "the record does not start with \"WARC/1.\"");
    }
    keep_raw(w, line, len, nl);

    /* the header, up to its blank line */
    int have_len = 0, len_ok = 0, have_id = 0, have_url = 0, have_date = 0, have_lang = 0;
    uint64_t clen = 0;
    w->type[0] = 0;
    size_t header_bytes = 0;
    for (;;) {
        st = next_line(w, &line, &len, &off, &nl);
        if (st <= 0) {
            DONE_BYTES();
            return fill_bad(w, rec, "warc_truncated", 1, "the input ends inside the record's header");
        }
        header_bytes += len + 1;
        if (st == 2 || header_bytes > MAX_HEADER_BYTES) {
            keep_raw(w, st == 1 ? line : NULL, len, nl);
            int rs = resync(w);
            DONE_BYTES();
            return fill_bad(w, rec, "warc_bad_header", rs < 0, "the record's header is too long");
        }
        keep_raw(w, line, len, nl);
        if (len && line[len - 1] == '\r')
            len--;
        if (!len)
            break;
        const char *v;
        size_t vl;
        if (header_is(line, len, "Content-Length", &v, &vl)) {
            have_len = 1;
            len_ok = vl > 0 && vl <= 18;
            clen = 0;
            for (size_t i = 0; i < vl && len_ok; i++) {
                if (v[i] < '0' || v[i] > '9')
                    len_ok = 0;
                else
                    clen = clen * 10 + (uint64_t)(v[i] - '0');
            }
        } else if (header_is(line, len, "WARC-Type", &v, &vl)) {
            snprintf(w->type, sizeof w->type, "%.*s", (int)vl, v);
        } else if (header_is(line, len, "WARC-Record-ID", &v, &vl)) {
            set_field(&w->f_id, v, vl);
            have_id = 1;
        } else if (header_is(line, len, "WARC-Target-URI", &v, &vl)) {
            if (vl >= 2 && v[0] == '<' && v[vl - 1] == '>') { /* some WARC/1.0 writers bracket the URI */
                v++;
                vl -= 2;
            }
            set_field(&w->f_url, v, vl);
            have_url = 1;
        } else if (header_is(line, len, "WARC-Date", &v, &vl)) {
            set_field(&w->f_date, v, vl);
            have_date = 1;
        } else if (header_is(line, len, "WARC-Identified-Content-Language", &v, &vl)) {
            set_field(&w->f_lang, v, vl);
            have_lang = 1;
        }
    }
    if (!have_len || !len_ok) {
        int rs = resync(w);
        DONE_BYTES();
        return fill_bad(w, rec, "warc_bad_length", rs < 0,
                        have_len ? "Content-Length is not a number" : "no Content-Length");
    }
    int is_doc = !strcmp(w->type, "conversion");
    int too_long = clen > w->max;
    int keep = is_doc && !too_long;

    /* the block: whole lines, plus the start of the line in which it ends */
    w->block.len = 0;
    uint64_t got = 0;
    while (got < clen) {
        st = next_line(w, &line, &len, &off, &nl);
        if (st <= 0) {
            if (!too_long) { /* keep what there was: header and partial block */
                cp_buf_append(&w->raw, w->block.data ? w->block.data : "", w->block.len);
                w->raw_total = w->raw.len;
            }
            DONE_BYTES();
            char why[128];
            snprintf(why, sizeof why, "Content-Length %" PRIu64 " runs past the end of the input (%" PRIu64
                     " bytes there)", clen, got);
            return fill_bad(w, rec, "warc_truncated", 1, why);
        }
        uint64_t avail = len + (uint64_t)(nl ? 1 : 0), take = clen - got < avail ? clen - got : avail;
        if (keep && st == 1) {
            if (take <= len) {
                cp_buf_append(&w->block, line, (size_t)take);
            } else {
                cp_buf_append(&w->block, line, len);
                cp_buf_putc(&w->block, '\n');
            }
        } else if (keep) { /* a line longer than max_line inside a block that is not: cannot happen */
            too_long = 1, keep = 0;
        }
        got += take;
        if (take < avail && st == 1 && take < len) {
            /* the block ends inside this line: what follows must be the record's closing blank lines; a
             * Content-Length too short leaves text here, which is read as the next (malformed) record */
            push_back(w, line + take, len - (size_t)take, off + take);
        }
    }
    DONE_BYTES();
    rec->type = w->type;
    if (too_long && is_doc) {
        char why[96];
        snprintf(why, sizeof why, "block of %" PRIu64 " bytes is over --max-line", clen);
        fill_bad(w, rec, "warc_too_long", 0, why);
        rec->block = NULL;
        rec->block_len = (size_t)clen;
        return 1;
    }
    if (!is_doc) {
        rec->kind = CP_WARC_SKIP;
        return 1;
    }
    w->meta.len = 0;
    int first = 1;
    cp_buf_putc(&w->meta, '{');
    meta_member(w, "id", &w->f_id, &first, have_id);
    meta_member(w, "url", &w->f_url, &first, have_url);
    meta_member(w, "date", &w->f_date, &first, have_date);
    meta_member(w, "cc_lang", &w->f_lang, &first, have_lang);
    cp_buf_puts(&w->meta, first ? "\"text\":\"\"}" : ",\"text\":\"\"}");
    rec->kind = CP_WARC_DOC;
    rec->meta = w->meta.data;
    rec->meta_len = w->meta.len;
    rec->block = w->block.data ? w->block.data : "";
    rec->block_len = w->block.len;
    return 1;
#undef DONE_BYTES
}

/* ---- records into documents (parallel) ---- */

/* s[i] is '"'; the index just past the closing quote. The meta object was written by cp_json_escape. */
static size_t end_of_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* The decoded value of member m (a JSON string) as a new string. */
static char *member_string(const char *s, const cp_member *m, size_t *len)
{
    const char *v = s + m->val_off + 1;
    size_t n = m->val_len - 2;
    if (!memchr(v, '\\', n)) {
        *len = n;
        return cp_xstrndup(v, n);
    }
    json_t *j = json_loadb(v - 1, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *out = cp_xstrndup(json_is_string(j) ? json_string_value(j) : "", json_is_string(j) ? json_string_length(j) : 0);
    *len = json_is_string(j) ? json_string_length(j) : 0;
    json_decref(j);
    return out;
}

static int key_eq(const char *s, const cp_member *m, const char *name)
{
    return m->key_len == strlen(name) && !memcmp(s + m->key_off, name, m->key_len);
}

int cp_warc_parse_doc(cp_doc *d, const char *file_name)
{
    if (d->reject) {
        /* a malformed record: its bytes go out as "raw" with --keep-rejected, so they must be UTF-8 */
        if (d->raw && cp_utf8_valid_prefix(d->raw, d->raw_len) != d->raw_len) {
            cp_buf fixed = {0};
            d->line_utf8_fixes = cp_utf8_repair(d->raw, d->raw_len, &fixed);
            cp_buf_reserve(&fixed, 0);
            fixed.data[fixed.len] = 0;
            d->line_fixed = fixed.data;
        }
        return -1;
    }
    const char *s = d->raw;
    size_t n = d->raw_len;
    d->object = 1; /* an object record; its members are read from the meta bytes below */
    d->members = cp_xcalloc(5, sizeof *d->members);
    d->n_members = 0;
    d->text_member = -1;
    size_t i = 1;
    while (i < n && s[i] == '"' && d->n_members < 5) {
        cp_member *m = &d->members[d->n_members];
        size_t kend = end_of_string(s, i, n);
        m->key_off = (uint32_t)(i + 1);
        m->key_len = (uint32_t)(kend - i - 2);
        size_t vend = end_of_string(s, kend + 1, n);
        m->val_off = (uint32_t)(kend + 1);
        m->val_len = (uint32_t)(vend - kend - 1);
        if (key_eq(s, m, "text"))
            d->text_member = (int)d->n_members;
        else if (key_eq(s, m, "id"))
            d->id = member_string(s, m, &d->id_len);
        else if (key_eq(s, m, "url")) {
            const char *v = s + m->val_off + 1;
            size_t vl = m->val_len - 2;
            if (!memchr(v, '\\', vl)) {
                d->url = v; /* the arena outlives the document */
                d->url_len = vl;
            } else { /* decoded once, as the JSON path does */
                d->url_buf = member_string(s, m, &d->url_len);
                d->url = d->url_buf;
            }
        }
        d->n_members++;
        i = vend + 1; /* past the ',' or '}' */
    }
    if (!d->id) { /* no WARC-Record-ID: "<file>:<record>", as a JSON record without id gets */
        cp_buf b = {0};
        const char *f = strcmp(file_name, "-") ? file_name : "stdin";
        cp_utf8_repair(f, strlen(f), &b);
        cp_buf_printf(&b, ":%" PRIu64, d->line);
        d->id = b.data;
        d->id_len = b.len;
        d->id_generated = 1;
    }
    const char *block = s + n;
    size_t bl = d->block_len;
    if (cp_utf8_valid_prefix(block, bl) == bl) {
        d->text = cp_xmalloc(bl + 1);
        memcpy(d->text, block, bl);
        d->text[bl] = 0;
        d->text_len = bl;
    } else {
        cp_buf fixed = {0};
        d->line_utf8_fixes = cp_utf8_repair(block, bl, &fixed);
        cp_buf_reserve(&fixed, 0);
        fixed.data[fixed.len] = 0;
        d->text = fixed.data;
        d->text_len = fixed.len;
        d->text_cap = fixed.cap;
    }
    d->text_in_len = bl;
    return 0;
}
