/* JSON in and out. json_scan validates each line in one pass and lists the top-level members as byte
 * spans; only the members we read (the text, id, url) are decoded. The output record is spliced from the
 * original bytes of every other member (numbers, key order, escapes) instead of being re-serialised.
 * Pure per document and thread-safe. */
#include "corpusprep/parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/json_scan.h"

const char *cp_doc_line(const cp_doc *d, size_t *len)
{
    if (d->line_elided) {
        *len = d->line_elided_len;
        return d->line_elided;
    }
    if (d->line_fixed) {
        *len = strlen(d->line_fixed); /* the repaired line has no NUL bytes */
        return d->line_fixed;
    }
    *len = d->raw_len;
    return d->raw;
}

/* The slow case of key_is: a key longer than the name, which may decode to it through an escape. */
static int escaped_key_is(const char *k, size_t kl, const char *name, size_t nl)
{
    if (!memchr(k, '\\', kl))
        return 0;
    char small[64], *buf = kl <= sizeof small ? small : cp_xmalloc(kl);
    size_t dl = cp_json_unescape(k, kl, buf);
    int eq = dl == nl && !memcmp(buf, name, nl);
    if (buf != small)
        free(buf);
    return eq;
}

/* Members may come from warc.c too, which sets only the spans: look for a backslash rather than trust
 * key_escaped. Decoding makes a key with an escape strictly shorter: a key as long as the name matches
 * only byte for byte (and then only if the name holds no backslash), a shorter one never, a longer one
 * only through an escape, and its first byte stands for itself unless it starts one. Inline: parse and
 * emit ask it for every member and several names. */
static inline int key_is(const char *line, const cp_member *m, const char *name, size_t nl)
{
    const char *k = line + m->key_off;
    if (m->key_len <= nl)
        return m->key_len == nl && !memcmp(k, name, nl) && !memchr(name, '\\', nl);
    if (!nl || (k[0] != '\\' && k[0] != name[0]))
        return 0;
    return escaped_key_is(k, m->key_len, name, nl);
}

int cp_member_key_is(const char *line, const cp_member *m, const char *name, size_t nl)
{
    return key_is(line, m, name, nl);
}

/* The decoded value of a string member, NUL-terminated, in a new allocation; *len excludes the NUL. */
static char *string_value(const char *line, const cp_member *m, size_t *len)
{
    const char *v = line + m->val_off + 1;
    size_t n = m->val_len - 2;
    char *out = cp_xmalloc(n + 1);
    if (m->val_escaped)
        n = cp_json_unescape(v, n, out);
    else
        memcpy(out, v, n);
    out[n] = 0;
    *len = n;
    return out;
}

static char *make_source(const char *file_name, uint64_t line)
{
    cp_buf b = {0};
    const char *f = strcmp(file_name, "-") ? file_name : "stdin";
    cp_utf8_repair(f, strlen(f), &b); /* file names need not be UTF-8; JSON output must be */
    cp_buf_printf(&b, ":%" PRIu64, line);
    return b.data;
}

/* "column N: reason (found ...)": N counts characters from 1 (the line is valid UTF-8 here); the message
 * is plain ASCII whatever the line holds, so it can be written into JSON as it is. */
static char *describe_error(const char *line, size_t len, const cp_json_error *e)
{
    size_t col = 1;
    for (size_t i = 0; i < e->offset && i < len; i++)
        col += (line[i] & 0xC0) != 0x80;
    cp_buf b = {0};
    cp_buf_printf(&b, "column %zu: %s", col, e->reason);
    unsigned char c = e->offset < len ? (unsigned char)line[e->offset] : 0;
    if (e->offset >= len)
        cp_buf_puts(&b, " (found the end of the line)");
    else if (c > 0x20 && c < 0x7F)
        cp_buf_printf(&b, " (found '%c')", c);
    else
        cp_buf_printf(&b, " (found byte 0x%02X)", c);
    return b.data;
}

int cp_parse_doc(cp_doc *d, char *const *text_fields, size_t n_text_fields, const char *file_name)
{
    if (!d->raw)
        return -1; /* line_too_long, set by the reader */
    size_t len = d->raw_len;
    const char *line = d->raw;
    cp_json_error err;
    uint32_t cap = 0;
    d->members = NULL;
    /* The scanner refuses invalid UTF-8 and raw NUL bytes; validating first would cost every line a pass,
     * so repair only lines that fail, and retry. */
    cp_json_type t = cp_json_scan(line, len, &d->members, &d->n_members, &cap, &err);
    if (!t && cp_utf8_valid_prefix(d->raw, d->raw_len) != d->raw_len) {
        cp_buf fixed = {0};
        d->line_utf8_fixes = cp_utf8_repair(d->raw, d->raw_len, &fixed);
        cp_buf_reserve(&fixed, 0);
        fixed.data[fixed.len] = 0;
        d->line_fixed = fixed.data;
        line = cp_doc_line(d, &len);
        t = cp_json_scan(line, len, &d->members, &d->n_members, &cap, &err);
    }
    if (!t) {
        d->reject = "parse_error";
        d->parse_error = describe_error(line, len, &err);
        return -1;
    }
    if (t != CP_JSON_OBJECT) {
        d->reject = "not_object";
        return -1;
    }
    d->object = 1;
    /* Duplicate keys: the last one counts, as it did with jansson (json_object_get). */
    int id_m = -1, url_m = -1;
    for (uint32_t i = 0; i < d->n_members; i++) {
        if (key_is(line, &d->members[i], "id", 2))
            id_m = (int)i;
        else if (key_is(line, &d->members[i], "url", 3))
            url_m = (int)i;
    }
    const cp_member *id = id_m >= 0 ? &d->members[id_m] : NULL;
    if (id && id->type == CP_JSON_STRING && id->val_len > 2) { /* a non-empty string */
        d->id = string_value(line, id, &d->id_len);
    } else if (id && id->type == CP_JSON_INTEGER) {
        cp_buf b = {0};
        cp_buf_printf(&b, "%" PRId64, cp_json_integer_value(line + id->val_off, id->val_len));
        d->id = b.data;
        d->id_len = b.len;
    } else {
        d->id = make_source(file_name, d->line);
        d->id_len = strlen(d->id);
        d->id_generated = 1;
    }
    if (url_m >= 0 && d->members[url_m].type == CP_JSON_STRING) {
        const cp_member *u = &d->members[url_m];
        if (u->val_escaped) {
            d->url_buf = string_value(line, u, &d->url_len);
            d->url = d->url_buf;
        } else {
            d->url = line + u->val_off + 1;
            d->url_len = u->val_len - 2;
        }
    }
    d->text_member = -1;
    for (size_t f = 0; f < n_text_fields; f++) {
        size_t nl = strlen(text_fields[f]);
        int m = (int)d->n_members - 1;
        while (m >= 0 && !key_is(line, &d->members[m], text_fields[f], nl))
            m--;
        if (m < 0 || d->members[m].type != CP_JSON_STRING)
            continue;
        d->text_member = m;
        d->text = string_value(line, &d->members[m], &d->text_len);
        d->text_in_len = d->text_len;
        return 0;
    }
    d->reject = "no_text";
    return -1;
}

static void emit_raw_reject(const cp_doc *d, const char *file_name, cp_buf *b)
{
    char *src = make_source(file_name, d->line);
    cp_buf_puts(b, "{\"reject_reason\":");
    cp_json_escape(b, d->reject, strlen(d->reject));
    cp_buf_puts(b, ",\"source\":");
    cp_json_escape(b, src, strlen(src));
    cp_buf_puts(b, ",\"id\":");
    cp_json_escape(b, src, strlen(src));
    free(src);
    if (d->parse_error) {
        cp_buf_puts(b, ",\"error\":");
        cp_json_escape(b, d->parse_error, strlen(d->parse_error));
    }
    if (d->raw) {
        size_t len;
        const char *line = cp_doc_line(d, &len);
        cp_buf_puts(b, ",\"raw\":");
        cp_json_escape(b, line, len);
    } else {
        cp_buf_printf(b, ",\"bytes\":%zu", d->raw_len);
    }
    cp_buf_puts(b, "}\n");
}

void cp_member_copy(cp_buf *out, const char *line, const cp_member *m, int *first)
{
    if (!*first)
        cp_buf_putc(out, ',');
    *first = 0;
    cp_buf_append(out, line + m->key_off - 1, m->key_len + 2); /* the key with its quotes */
    cp_buf_putc(out, ':');
    cp_buf_append(out, line + m->val_off, m->val_len);
}

/* Is m one of the members the output sets itself ("text" when the text is another member)? */
static int is_ours(const char *line, const cp_member *m)
{
    static const struct {
        const char *name;
        size_t len;
    } ours[] = {{"text", 4}, {"lang", 4}, {"lang_score", 10}, {"lang_script", 11}, {"reject_reason", 13},
                {"dup_of", 6}};
    for (size_t o = 0; o < sizeof ours / sizeof *ours; o++)
        if (key_is(line, m, ours[o].name, ours[o].len))
            return 1;
    return 0;
}

void cp_emit_doc(const cp_doc *d, const char *file_name, const char *dup_of_id, size_t dup_of_len, cp_buf *b)
{
    if (!d->object) {
        emit_raw_reject(d, file_name, b);
    } else {
        size_t len;
        const char *line = cp_doc_line(d, &len);
        int has_id = 0, first = 1;
        cp_buf_reserve(b, len + d->text_len + 128);
        cp_buf_putc(b, '{');
        for (uint32_t i = 0; i < d->n_members; i++) {
            const cp_member *m = &d->members[i];
            if ((int)i == d->text_member) {
                cp_buf_puts(b, first ? "\"text\":" : ",\"text\":");
                cp_json_escape(b, d->text, d->text_len);
                first = 0;
                continue;
            }
            if (is_ours(line, m))
                continue;
            if (key_is(line, m, "id", 2)) {
                if (d->id_generated)
                    continue; /* "", null or a non-integer id: ours replaces it, so dup_of names what is written */
                has_id = 1;
            }
            cp_member_copy(b, line, m, &first);
        }
        const char *sep = first ? "" : ",";
        if (d->has_lang) {
            cp_buf_printf(b, "%s\"lang\":", sep);
            cp_json_escape(b, d->lang.code, strlen(d->lang.code));
            cp_buf_printf(b, ",\"lang_score\":%.4f", d->lang.score);
            if (d->lang.script[0])
                cp_buf_printf(b, ",\"lang_script\":\"%s\"", d->lang.script); /* four ASCII letters */
            sep = ",";
        }
        if (!has_id) {
            cp_buf_printf(b, "%s\"id\":", sep);
            cp_json_escape(b, d->id, d->id_len);
            sep = ",";
        }
        if (d->reject) {
            cp_buf_printf(b, "%s\"reject_reason\":", sep);
            cp_json_escape(b, d->reject, strlen(d->reject));
            if (dup_of_id) {
                cp_buf_puts(b, ",\"dup_of\":");
                cp_json_escape(b, dup_of_id, dup_of_len);
            }
        }
        cp_buf_puts(b, "}\n");
    }
}

void cp_doc_release(cp_doc *d)
{
    d->object = 0;
    free(d->line_fixed);
    free(d->url_buf);
    free(d->members);
    free(d->id);
    free(d->parse_error);
    free(d->text);
    free(d->norm_diff);
    free(d->norm_text);
    free(d->bands);
    free(d->drop);
    cp_line_hashes_free(&d->lines);
    d->drop = NULL;
    d->line_fixed = d->parse_error = d->text = d->norm_diff = d->norm_text = d->id = d->url_buf = NULL;
    d->url = d->line_elided = NULL;
    d->members = NULL;
    d->bands = NULL;
    d->id_len = 0;
}
