/* JSON in and out. jansson validates each line and gives us the text, id and url; a small scanner over
 * the validated line records where each top-level member's raw bytes are, so the output record can keep
 * every other member byte for byte (numbers, key order, escapes) instead of re-serialising it. */
#include "corpusprep/parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is '"'; returns the index just past the closing quote. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    i++;
    while (i < n) {
        const char *q = memchr(s + i, '"', n - i);
        if (!q)
            return n;
        size_t j = (size_t)(q - s);
        size_t bs = 0; /* an odd number of backslashes before the quote escapes it */
        while (j - bs > i && s[j - bs - 1] == '\\')
            bs++;
        if (!(bs & 1))
            return j + 1;
        i = j + 1;
    }
    return n;
}

static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, n);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

/* Lists the top-level members of a line that jansson already accepted as an object. */
static void scan_members(cp_doc *d, const char *s, size_t n)
{
    size_t cap = 16;
    d->members = cp_xmalloc(cap * sizeof *d->members);
    d->n_members = 0;
    size_t i = skip_ws(s, 0, n);
    if (i >= n || s[i] != '{')
        return;
    i = skip_ws(s, i + 1, n);
    while (i < n && s[i] == '"') {
        size_t kend = skip_string(s, i, n);
        size_t v = skip_ws(s, kend, n);
        if (v >= n || s[v] != ':')
            return;
        v = skip_ws(s, v + 1, n);
        size_t vend = skip_value(s, v, n);
        if (d->n_members == cap) {
            cap *= 2;
            d->members = cp_xrealloc(d->members, cap * sizeof *d->members);
        }
        cp_member *m = &d->members[d->n_members++];
        m->key_off = (uint32_t)(i + 1);
        m->key_len = (uint32_t)(kend - i - 2);
        m->val_off = (uint32_t)v;
        m->val_len = (uint32_t)(vend - v);
        i = skip_ws(s, vend, n);
        if (i < n && s[i] == ',')
            i = skip_ws(s, i + 1, n);
    }
}

static const char *line_of(const cp_doc *d, size_t *len)
{
    if (d->line_fixed) {
        *len = strlen(d->line_fixed); /* the repaired line has no NUL bytes */
        return d->line_fixed;
    }
    *len = d->raw_len;
    return d->raw;
}

/* Does member m's key equal name? Keys with escapes are decoded by jansson (rare). */
static int key_is(const char *line, const cp_member *m, const char *name)
{
    const char *k = line + m->key_off;
    size_t nl = strlen(name);
    if (!memchr(k, '\\', m->key_len))
        return m->key_len == nl && !memcmp(k, name, nl);
    json_t *j = json_loadb(k - 1, m->key_len + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int eq = j && json_is_string(j) && json_string_length(j) == nl && !memcmp(json_string_value(j), name, nl);
    json_decref(j);
    return eq;
}

static char *make_source(const char *file_name, uint64_t line)
{
    cp_buf b = {0};
    const char *f = strcmp(file_name, "-") ? file_name : "stdin";
    cp_utf8_repair(f, strlen(f), &b); /* file names need not be UTF-8; JSON output must be */
    cp_buf_printf(&b, ":%" PRIu64, line);
    return b.data;
}

int cp_parse_doc(cp_doc *d, char *const *text_fields, size_t n_text_fields, const char *file_name)
{
    if (!d->raw)
        return -1; /* line_too_long, set by the reader */
    size_t len = d->raw_len;
    const char *line = d->raw;
    json_error_t err;
    /* jansson refuses invalid UTF-8 and raw NUL bytes; validating first would cost every line a pass, so
     * repair only lines that fail, and retry. */
    d->json = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    if (!d->json && cp_utf8_valid_prefix(d->raw, d->raw_len) != d->raw_len) {
        cp_buf fixed = {0};
        d->line_utf8_fixes = cp_utf8_repair(d->raw, d->raw_len, &fixed);
        cp_buf_reserve(&fixed, 0);
        fixed.data[fixed.len] = 0;
        d->line_fixed = fixed.data;
        line = line_of(d, &len);
        d->json = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    }
    if (!d->json) {
        d->reject = "parse_error";
        cp_buf b = {0};
        cp_buf_printf(&b, "column %d: %s", err.column, err.text);
        d->parse_error = b.data;
        return -1;
    }
    if (!json_is_object(d->json)) {
        d->reject = "not_object";
        return -1;
    }
    scan_members(d, line, len);
    json_t *id = json_object_get(d->json, "id");
    if (json_is_string(id) && json_string_length(id))
        d->id = cp_xstrndup(json_string_value(id), json_string_length(id));
    else if (json_is_integer(id)) {
        cp_buf b = {0};
        cp_buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        d->id = b.data;
    } else {
        d->id = make_source(file_name, d->line);
        d->id_generated = 1;
    }
    json_t *url = json_object_get(d->json, "url");
    if (json_is_string(url)) {
        d->url = json_string_value(url);
        d->url_len = json_string_length(url);
    }
    d->text_member = -1;
    for (size_t f = 0; f < n_text_fields; f++) {
        json_t *t = json_object_get(d->json, text_fields[f]);
        if (!json_is_string(t))
            continue;
        /* jansson keeps the last of duplicate keys; so does the output */
        for (int m = (int)d->n_members - 1; m >= 0; m--)
            if (key_is(line, &d->members[m], text_fields[f])) {
                d->text_member = m;
                break;
            }
        d->text = cp_xstrndup(json_string_value(t), json_string_length(t));
        d->text_len = d->text_in_len = json_string_length(t);
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
        const char *line = line_of(d, &len);
        cp_buf_puts(b, ",\"raw\":");
        cp_json_escape(b, line, len);
    } else {
        cp_buf_printf(b, ",\"bytes\":%zu", d->raw_len);
    }
    cp_buf_puts(b, "}\n");
}

void cp_emit_doc(const cp_doc *d, const char *file_name, const char *dup_of_id, cp_buf *b)
{
    if (!d->json || !json_is_object(d->json)) {
        emit_raw_reject(d, file_name, b);
    } else {
        size_t len;
        const char *line = line_of(d, &len);
        static const char *const ours[] = {"text", "lang", "lang_score", "reject_reason", "dup_of", NULL};
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
            int skip = 0;
            for (const char *const *o = ours; *o && !skip; o++)
                skip = key_is(line, m, *o);
            if (skip)
                continue;
            if (key_is(line, m, "id")) {
                if (d->id_generated && !json_is_integer(json_object_get(d->json, "id")))
                    continue; /* "" or a non-scalar id: ours replaces it, so dup_of names what is written */
                has_id = 1;
            }
            if (!first)
                cp_buf_putc(b, ',');
            first = 0;
            cp_buf_append(b, line + m->key_off - 1, m->key_len + 2);
            cp_buf_putc(b, ':');
            cp_buf_append(b, line + m->val_off, m->val_len);
        }
        const char *sep = first ? "" : ",";
        if (d->has_lang) {
            cp_buf_printf(b, "%s\"lang\":", sep);
            cp_json_escape(b, d->lang.code, strlen(d->lang.code));
            cp_buf_printf(b, ",\"lang_score\":%.4f", d->lang.score);
            sep = ",";
        }
        if (!has_id) {
            cp_buf_printf(b, "%s\"id\":", sep);
            cp_json_escape(b, d->id, strlen(d->id));
            sep = ",";
        }
        if (d->reject) {
            cp_buf_printf(b, "%s\"reject_reason\":", sep);
            cp_json_escape(b, d->reject, strlen(d->reject));
            if (dup_of_id) {
                cp_buf_puts(b, ",\"dup_of\":");
                cp_json_escape(b, dup_of_id, strlen(dup_of_id));
            }
        }
        cp_buf_puts(b, "}\n");
    }
}

void cp_doc_release(cp_doc *d)
{
    json_decref(d->json);
    d->json = NULL;
    free(d->line_fixed);
    free(d->members);
    free(d->id);
    free(d->parse_error);
    free(d->text);
    free(d->bands);
    free(d->drop);
    cp_line_hashes_free(&d->lines);
    d->drop = NULL;
    d->line_fixed = d->parse_error = d->text = d->id = NULL;
    d->members = NULL;
    d->bands = NULL;
}
