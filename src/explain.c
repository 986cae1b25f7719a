/* explain: the per-document records of --explain and the line-by-line view the report's examples share.
 * Picking N documents by the lowest hash of their id (not every k-th) needs no count of the input up front
 * and gives the same documents for any thread count and any split of the input. Records are built in the
 * ordered step from what the parallel phases left in cp_xdoc, and only for the documents picked. */
#include "corpusprep/explain.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/util.h"
#include "corpusprep/writer.h"

cp_xdoc *cp_xdoc_create(int full, const char *norm, size_t norm_len)
{
    cp_xdoc *x = cp_xcalloc(1, sizeof *x);
    x->full = full;
    x->norm = cp_xstrndup(norm, norm_len);
    x->norm_len = norm_len;
    return x;
}

void cp_xdoc_free(cp_xdoc *x)
{
    if (!x)
        return;
    free(x->norm);
    free(x->fates);
    free(x->trace.v);
    free(x->sample);
    free(x);
}

/* s[0..n) cut to at most max bytes on a character boundary. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (!max || n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static json_t *text_json(const char *s, size_t n, size_t max)
{
    size_t k = cut_utf8(s, n, max);
    if (k == n)
        return json_stringn(s, n);
    cp_buf b = {0};
    cp_buf_append(&b, s, k);
    cp_buf_puts(&b, "\xE2\x80\xA6"); /* … */
    json_t *j = json_stringn(b.data, b.len);
    cp_buf_free(&b);
    return j;
}

json_t *cp_xdoc_lines(const cp_xdoc *x, const cp_doc *d, const char *line_dedup_fate, size_t max_line_bytes)
{
    json_t *a = json_array();
    size_t k = 0; /* next of d->lines (cleaned text offsets, ascending) */
    size_t n = 0;
    for (size_t p = 0, i = 0; x->norm_len && p <= x->norm_len; i++) { /* no text (did not parse): no lines */
        const char *nl = memchr(x->norm + p, '\n', x->norm_len - p);
        size_t e = nl ? (size_t)(nl - x->norm) : x->norm_len;
        const char *fate = "kept";
        int edited = -1;
        const cp_clean_fate *kept = NULL;
        size_t q = p;
        while (q < e && (x->norm[q] == ' ' || x->norm[q] == '\t'))
            q++;
        if (q == e)
            fate = "blank";
        else if (x->clean_reject)
            fate = x->clean_reject;
        else if (x->fates && i < x->nfates) {
            const cp_clean_fate *f = &x->fates[i];
            if (f->rule >= 0) {
                fate = cp_clean_rule_name(f->rule);
            } else {
                edited = f->edited;
                kept = f;
                while (d && k < d->lines.n && d->lines.v[k].start < f->out_start)
                    k++;
                if (d && d->drop && k < d->lines.n && d->lines.v[k].start == f->out_start && d->drop[k])
                    fate = line_dedup_fate;
            }
        }
        json_t *l = json_pack("{sIsoss}", "n", (json_int_t)++n, "text", text_json(x->norm + p, e - p, max_line_bytes),
                              "fate", fate);
        if (edited >= 0 && kept) {
            /* kept, but the rule cut part of it: name it, and show the part cut from the end */
            json_object_set_new(l, "edited_by", json_string(cp_clean_rule_name(edited)));
            if (edited == CP_CLEAN_BP_MARKER && kept->kept_len < e - p)
                json_object_set_new(l, "removed", text_json(x->norm + p + kept->kept_len, e - p - kept->kept_len, 0));
        }
        json_array_append_new(a, l);
        if (!nl)
            break;
        p = e + 1;
    }
    return a;
}

/* ---- picking and collecting ------------------------------------------------------------------------- */

enum { BY_LOWEST, BY_ID, BY_LINE };

typedef struct {
    uint64_t hash, seq;
    char *json;
} record_t;

struct cp_explain {
    int mode;
    size_t want;              /* BY_LOWEST: how many */
    char **ids;               /* BY_ID */
    size_t nids;
    char *file;               /* BY_LINE */
    uint64_t line;
    record_t *rec;
    size_t n, cap;
    uint64_t threshold;       /* BY_LOWEST: a document with a higher hash cannot join any more */
};

cp_explain *cp_explain_create(const char *spec, char *err, size_t errlen)
{
    cp_explain *e = cp_xcalloc(1, sizeof *e);
    e->threshold = UINT64_MAX;
    char *end;
    if (!strncmp(spec, "id:", 3)) {
        e->mode = BY_ID;
        const char *p = spec + 3;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n) {
                e->ids = cp_xrealloc(e->ids, (e->nids + 1) * sizeof *e->ids);
                e->ids[e->nids++] = cp_xstrndup(p, n);
            }
            if (!c)
                break;
            p = c + 1;
        }
        if (e->nids)
            return e;
    } else if (!strncmp(spec, "line:", 5)) {
        const char *colon = strrchr(spec + 5, ':');
        if (colon && colon > spec + 5) {
            unsigned long long l = strtoull(colon + 1, &end, 10);
            if (!*end && colon[1] && l > 0) {
                e->mode = BY_LINE;
                e->file = cp_xstrndup(spec + 5, (size_t)(colon - spec - 5));
                e->line = l;
                return e;
            }
        }
    } else {
        unsigned long long n = strtoull(spec, &end, 10);
        if (*spec >= '0' && *spec <= '9' && !*end && n > 0 && n <= 1000000) {
            e->mode = BY_LOWEST;
            e->want = (size_t)n;
            return e;
        }
    }
    snprintf(err, errlen, "--explain needs N (1..1000000), id:ID1,ID2,... or line:FILE:LINE, not '%s'", spec);
    cp_explain_destroy(e);
    return NULL;
}

void cp_explain_destroy(cp_explain *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nids; i++)
        free(e->ids[i]);
    free(e->ids);
    free(e->file);
    for (size_t i = 0; i < e->n; i++)
        free(e->rec[i].json);
    free(e->rec);
    free(e);
}

int cp_explain_wants(const cp_explain *e, const char *id, const char *file, uint64_t line, uint64_t id_hash)
{
    return cp_explain_wants_limited(e, id, id ? strlen(id) : 0, file, line, id_hash, e->threshold);
}

uint64_t cp_explain_limit(const cp_explain *e)
{
    return e->threshold;
}

int cp_explain_wants_limited(const cp_explain *e, const char *id, size_t id_len, const char *file, uint64_t line,
                             uint64_t id_hash, uint64_t limit)
{
    switch (e->mode) {
    case BY_LOWEST:
        return id_hash <= limit;
    case BY_ID:
        for (size_t i = 0; id && i < e->nids; i++)
            if (strlen(e->ids[i]) == id_len && !memcmp(e->ids[i], id, id_len)) /* "a" is not "a\u0000b" */
                return 1;
        return 0;
    default:
        return line == e->line && !strcmp(file, e->file);
    }
}

size_t cp_explain_count(const cp_explain *e)
{
    return e->n;
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *record_json(const cp_doc *d, const char *file, const char *dup_of, size_t dup_of_len,
                           const char *line_dedup_fate)
{
    const cp_xdoc *x = d->trace;
    json_t *r = json_object();
    json_object_set_new(r, "id", d->id ? json_stringn(d->id, d->id_len) : json_null());
    char src[64];
    snprintf(src, sizeof src, ":%" PRIu64, d->line);
    cp_buf b = {0};
    cp_buf_puts(&b, file);
    cp_buf_puts(&b, src);
    json_object_set_new(r, "source", json_stringn(b.data, b.len));
    cp_buf_free(&b);
    json_object_set_new(r, "decision", json_string(d->reject ? d->reject : "kept"));
    if (dup_of)
        json_object_set_new(r, "dup_of", json_stringn(dup_of, dup_of_len));
    if (d->parse_error) /* why the line is not a record (ASCII, from the parser) */
        json_object_set_new(r, "error", text_json(d->parse_error, strlen(d->parse_error), 300));
    json_object_set_new(r, "lines", cp_xdoc_lines(x, d, line_dedup_fate, 0));
    if (x->ncand || d->has_lang) {
        json_t *c = json_array();
        for (int i = 0; i < x->ncand; i++)
            json_array_append_new(c, json_pack("{sssf}", "code", x->cand[i].code, "score", x->cand[i].score));
        json_object_set_new(r, "lang", json_pack("{sssfsIsoso}", "code", d->lang.code, "score", d->lang.score,
                                                 "sample_bytes", (json_int_t)x->sample_len, "sample",
                                                 x->sample ? json_string(x->sample) : json_null(), "candidates", c));
    }
    if (x->filtered) {
        json_t *f = json_array();
        for (size_t i = 0; i < x->trace.n; i++) {
            const cp_filter_check *c = &x->trace.v[i];
            json_array_append_new(f, json_pack("{sssosososb}", "rule", c->rule, "value", json_real(c->value), "min",
                                               num_or_null(c->min), "max", num_or_null(c->max), "pass", c->pass));
        }
        json_object_set_new(r, "filters", f);
        json_object_set_new(r, "filter_decision", x->filter_reason ? json_string(x->filter_reason) : json_null());
    }
    return r;
}

void cp_explain_add(cp_explain *e, const cp_doc *d, const char *file, const char *dup_of, size_t dup_of_len,
                    const char *line_dedup_fate)
{
    if (!d->trace || !d->trace->full)
        return;
    if (e->mode == BY_LOWEST && e->n == e->want) {
        /* replace the highest (hash, seq) when this one is lower */
        size_t hi = 0;
        for (size_t i = 1; i < e->n; i++)
            if (e->rec[i].hash > e->rec[hi].hash || (e->rec[i].hash == e->rec[hi].hash && e->rec[i].seq > e->rec[hi].seq))
                hi = i;
        if (d->id_hash > e->rec[hi].hash || (d->id_hash == e->rec[hi].hash && d->seq > e->rec[hi].seq))
            return;
        free(e->rec[hi].json);
        e->rec[hi] = e->rec[--e->n];
    }
    json_t *r = record_json(d, file, dup_of, dup_of_len, line_dedup_fate);
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->rec = cp_xrealloc(e->rec, e->cap * sizeof *e->rec);
    }
    e->rec[e->n++] = (record_t){d->id_hash, d->seq, json_dumps(r, JSON_COMPACT)};
    json_decref(r);
    if (e->mode == BY_LOWEST && e->n == e->want) {
        uint64_t t = 0;
        for (size_t i = 0; i < e->n; i++)
            t = e->rec[i].hash > t ? e->rec[i].hash : t;
        e->threshold = t;
    }
}

static int cmp_seq(const void *a, const void *b)
{
    const record_t *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cp_explain_write(const cp_explain *e, const char *outdir, char *err, size_t errlen)
{
    qsort(e->rec, e->n, sizeof *e->rec, cmp_seq);
    cp_buf b = {0};
    for (size_t i = 0; i < e->n; i++) {
        cp_buf_puts(&b, e->rec[i].json);
        cp_buf_putc(&b, '\n');
    }
    char *path = cp_xmalloc(strlen(outdir) + 16);
    sprintf(path, "%s/explain.jsonl", outdir);
    int rc = cp_write_file_atomic(path, b.data ? b.data : "", b.len, err, errlen);
    free(path);
    cp_buf_free(&b);
    return rc;
}
