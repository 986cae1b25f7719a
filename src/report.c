/* report: the run's figures beyond stats.json's counters, example documents, and OUTDIR/report.html.
 * Collecting happens in the ordered step (one thread, input order), so the figures are sums over documents
 * and the examples a deterministic pick: both come out the same for any thread count and, merged, for any
 * number of ranks. Rendering reads only JSON (stats.json and report-examples.json), which is what lets
 * `corpusprep report OUTDIR` and the cluster's rank 0 produce the very same page. The page has no script:
 * charts are SVG shapes with <title> tooltips, and bar charts are HTML tables with an SVG bar per row, so
 * their text reflows on a phone instead of shrinking with a picture. */
#include "corpusprep/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "corpusprep/explain.h"
#include "corpusprep/filter.h"
#include "corpusprep/histogram.h"
#include "corpusprep/util.h"
#include "corpusprep/writer.h"

#define EX_REJECTED 3      /* examples per reject reason */
#define EX_KEPT 4          /* kept documents shown line by line */
#define EX_TEXT_BYTES 700  /* a rejected example's text is cut here */
#define EX_LINE_BYTES 400  /* a kept example's line is cut here */
#define EX_MAX_LINES 80
#define MAX_SAMPLES 240    /* throughput samples; halved (every other dropped) when full */

enum { F_INPUT, F_PARSED, F_CLEANED, F_EXACT, F_URL, F_NEAR, F_LINES, F_LANG, F_FILTER, F_N };
static const char *const funnel_keys[F_N] = {"1_input", "2_parsed", "3_cleaned", "4_exact_dedup", "5_url_dedup",
                                             "6_near_dedup", "7_line_dedup", "8_langid", "9_filters"};
static const char *const funnel_labels[F_N] = {
    "input", "parsed and normalised", "after cleaning", "after exact dedup", "after URL dedup",
    "after near dedup", "after line dedup", "after language selection", "after quality filters (kept)"};

enum { H_BEFORE, H_AFTER, H_KEPT, H_LINES, H_SCORE, H_REMOVED, H_N };
static const char *const hist_keys[H_N] = {"text_bytes_before_clean", "text_bytes_after_clean",
                                           "text_bytes_kept", "lines_per_kept_doc", "lang_score",
                                           "removed_by_clean_frac"};

typedef struct {
    uint64_t hash, pos;
    json_t *ex;
} example_t;

typedef struct {
    char *reason;
    example_t v[EX_REJECTED];
    int n;
} reason_ex_t;

typedef struct {
    char *name;
    uint64_t docs, kept, bytes, bad, failed;
} file_t;

struct cp_report {
    uint64_t funnel_docs[F_N], funnel_bytes[F_N];
    cp_hist hist[H_N];
    file_t *files;
    size_t nfiles, cap_files, last_file;
    reason_ex_t *rej;
    size_t nrej, cap_rej;
    example_t kept[EX_KEPT];
    int nkept;
    double *samples; /* seconds, bytes, docs */
    size_t nsamples, every, seen_samples;
};

cp_report *cp_report_create(void)
{
    cp_report *r = cp_xcalloc(1, sizeof *r);
    for (int h = 0; h < H_N; h++)
        cp_hist_init(&r->hist[h], h >= H_SCORE ? CP_HIST_FRAC : CP_HIST_LOG);
    r->samples = cp_xmalloc(3 * MAX_SAMPLES * sizeof *r->samples);
    r->every = 1;
    return r;
}

void cp_report_destroy(cp_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].name);
    free(r->files);
    for (size_t i = 0; i < r->nrej; i++) {
        free(r->rej[i].reason);
        for (int k = 0; k < r->rej[i].n; k++)
            json_decref(r->rej[i].v[k].ex);
    }
    free(r->rej);
    for (int k = 0; k < r->nkept; k++)
        json_decref(r->kept[k].ex);
    free(r->samples);
    free(r);
}

static int lower(uint64_t h1, uint64_t p1, uint64_t h2, uint64_t p2)
{
    return h1 < h2 || (h1 == h2 && p1 < p2);
}

int cp_report_wants_lines(const cp_report *r, uint64_t id_hash)
{
    return id_hash <= cp_report_lines_limit(r);
}

uint64_t cp_report_lines_limit(const cp_report *r)
{
    return r->nkept < EX_KEPT ? UINT64_MAX : r->kept[EX_KEPT - 1].hash;
}

/* Inserts into a sorted list of at most cap; returns the slot, or -1 when it does not belong. */
static int insert_slot(example_t *v, int *n, int cap, uint64_t hash, uint64_t pos)
{
    if (*n == cap && !lower(hash, pos, v[cap - 1].hash, v[cap - 1].pos))
        return -1;
    int i = *n < cap ? (*n)++ : cap - 1;
    if (i == cap - 1 && *n == cap && v[i].ex)
        json_decref(v[i].ex), v[i].ex = NULL;
    while (i > 0 && lower(hash, pos, v[i - 1].hash, v[i - 1].pos)) {
        v[i] = v[i - 1];
        i--;
    }
    v[i] = (example_t){hash, pos, NULL};
    return i;
}

static int funnel_stage(const char *reason)
{
    static const char *const parse[] = {"parse_error", "not_object", "no_text", "line_too_long", NULL};
    for (int i = 0; parse[i]; i++)
        if (!strcmp(reason, parse[i]))
            return F_PARSED;
    if (!strcmp(reason, "dup_exact"))
        return F_EXACT;
    if (!strcmp(reason, "dup_url"))
        return F_URL;
    if (!strcmp(reason, "dup_near"))
        return F_NEAR;
    if (!strcmp(reason, "dup_lines"))
        return F_LINES;
    if (!strncmp(reason, "lang:", 5))
        return F_LANG;
    for (const char *const *f = cp_filter_reasons(); *f; f++)
        if (!strcmp(reason, *f))
            return F_FILTER;
    return F_CLEANED; /* empty_text and cleaning's whole-document rules (c4:lorem_ipsum) */
}

static json_t *source_json(const char *file, uint64_t line)
{
    cp_buf b = {0};
    cp_buf_puts(&b, file);
    cp_buf_printf(&b, ":%" PRIu64, line);
    json_t *j = json_stringn(b.data, b.len);
    cp_buf_free(&b);
    return j ? j : json_string("?");
}

/* text as a JSON string cut on a character boundary; invalid UTF-8 (a raw line that did not parse) repaired */
static json_t *cut_text(const char *s, size_t n, size_t max)
{
    cp_buf b = {0};
    size_t k = n;
    if (k > max) {
        k = max;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
    }
    cp_utf8_repair(s, k, &b);
    if (k < n)
        cp_buf_puts(&b, "\xE2\x80\xA6");
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    cp_buf_free(&b);
    return j ? j : json_string("");
}

static json_t *example_head(const cp_doc *d, uint64_t pos, const char *file)
{
    char h[24];
    snprintf(h, sizeof h, "%016" PRIx64, d->id_hash);
    json_t *id = d->id ? json_stringn(d->id, d->id_len) : NULL;
    return json_pack("{sososssI}", "id", id ? id : json_null(), "source", source_json(file, d->line), "hash", h,
                     "pos", (json_int_t)pos);
}

/* The counters of an input file (consecutive documents mostly share one). */
static file_t *file_entry(cp_report *r, const char *file)
{
    if (r->nfiles && !strcmp(r->files[r->last_file].name, file))
        return &r->files[r->last_file];
    for (size_t i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].name, file))
            return &r->files[r->last_file = i];
    if (r->nfiles == r->cap_files) {
        r->cap_files = r->cap_files ? 2 * r->cap_files : 16;
        r->files = cp_xrealloc(r->files, r->cap_files * sizeof *r->files);
    }
    r->last_file = r->nfiles;
    file_t *f = &r->files[r->nfiles++];
    memset(f, 0, sizeof *f);
    f->name = cp_xstrdup(file);
    return f;
}

void cp_report_file_failed(cp_report *r, const char *file)
{
    file_entry(r, file)->failed++;
}

void cp_report_add(cp_report *r, const cp_doc *d, uint64_t pos, const char *file, const char *dup_of,
                   size_t dup_of_len, const char *line_dedup_fate)
{
    int died = d->reject ? funnel_stage(d->reject) : F_N;
    for (int s = 0; s < F_N && s < died; s++) {
        r->funnel_docs[s]++;
        r->funnel_bytes[s] += s == F_INPUT ? d->text_in_len : s == F_PARSED ? d->norm_len
                              : s <= F_NEAR                 ? d->clean_len
                                                            : d->text_len;
    }
    if (died > F_PARSED) {
        cp_hist_add(&r->hist[H_BEFORE], (double)d->norm_len);
        cp_hist_add(&r->hist[H_REMOVED], d->norm_len ? 1.0 - (double)d->clean_len / (double)d->norm_len : 0);
    }
    if (died > F_CLEANED)
        cp_hist_add(&r->hist[H_AFTER], (double)d->clean_len);
    if (d->has_lang)
        cp_hist_add(&r->hist[H_SCORE], d->lang.score);
    if (!d->reject) {
        cp_hist_add(&r->hist[H_KEPT], (double)d->text_len);
        size_t lines = d->text_len ? 1 : 0;
        for (const char *q = d->text; q && (q = memchr(q, '\n', (size_t)(d->text + d->text_len - q))); q++)
            lines++;
        cp_hist_add(&r->hist[H_LINES], (double)lines);
    }

    file_t *f = file_entry(r, file);
    f->docs++;
    f->kept += !d->reject;
    f->bytes += d->raw_len + d->block_len + 1; /* a WARC record: its header fields and its block */
    f->bad += died == F_PARSED;

    /* examples */
    if (d->reject) {
        reason_ex_t *re = NULL;
        for (size_t i = 0; i < r->nrej && !re; i++)
            if (!strcmp(r->rej[i].reason, d->reject))
                re = &r->rej[i];
        if (!re) {
            if (r->nrej == r->cap_rej) {
                r->cap_rej = r->cap_rej ? 2 * r->cap_rej : 16;
                r->rej = cp_xrealloc(r->rej, r->cap_rej * sizeof *r->rej);
            }
            re = &r->rej[r->nrej++];
            memset(re, 0, sizeof *re);
            re->reason = cp_xstrdup(d->reject);
        }
        int i = insert_slot(re->v, &re->n, EX_REJECTED, d->id_hash, pos);
        if (i < 0)
            return;
        json_t *ex = example_head(d, pos, file);
        if (d->text)
            json_object_set_new(ex, "text", cut_text(d->text, d->text_len, EX_TEXT_BYTES));
        else if (d->raw)
            json_object_set_new(ex, "text", cut_text(d->raw, d->raw_len, EX_TEXT_BYTES));
        else
            json_object_set_new(ex, "text", json_string(""));
        if (dup_of)
            json_object_set_new(ex, "dup_of", json_stringn(dup_of, dup_of_len));
        if (d->parse_error)
            json_object_set_new(ex, "error", cut_text(d->parse_error, strlen(d->parse_error), 300));
        re->v[i].ex = ex;
        return;
    }
    if (!d->trace)
        return; /* not a candidate when the parallel phase looked (cannot be among the lowest) */
    int i = insert_slot(r->kept, &r->nkept, EX_KEPT, d->id_hash, pos);
    if (i < 0)
        return;
    json_t *ex = example_head(d, pos, file);
    json_object_set_new(ex, "lang", json_string(d->lang.code));
    json_t *lines = cp_xdoc_lines(d->trace, d, line_dedup_fate, EX_LINE_BYTES);
    size_t n = json_array_size(lines);
    if (n > EX_MAX_LINES) {
        json_object_set_new(ex, "lines_total", json_integer((json_int_t)n));
        while (json_array_size(lines) > EX_MAX_LINES)
            json_array_remove(lines, json_array_size(lines) - 1);
    }
    json_object_set_new(ex, "lines", lines);
    r->kept[i].ex = ex;
}

void cp_report_sample(cp_report *r, double seconds, uint64_t bytes, uint64_t docs)
{
    if (r->seen_samples++ % r->every)
        return;
    if (r->nsamples == MAX_SAMPLES) {
        for (size_t i = 0; i < MAX_SAMPLES / 2; i++)
            memcpy(&r->samples[3 * i], &r->samples[3 * (2 * i)], 3 * sizeof *r->samples);
        r->nsamples = MAX_SAMPLES / 2;
        r->every *= 2;
    }
    double *s = &r->samples[3 * r->nsamples++];
    s[0] = seconds;
    s[1] = (double)bytes;
    s[2] = (double)docs;
}

json_t *cp_report_stats_json(const cp_report *r)
{
    json_t *o = json_object(), *fu = json_object(), *h = json_object(), *pf = json_object(), *tp = json_array();
    for (int s = 0; s < F_N; s++)
        json_object_set_new(fu, funnel_keys[s], json_pack("{sIsI}", "docs", (json_int_t)r->funnel_docs[s],
                                                          "text_bytes", (json_int_t)r->funnel_bytes[s]));
    for (int k = 0; k < H_N; k++)
        json_object_set_new(h, hist_keys[k], cp_hist_to_json(&r->hist[k]));
    for (size_t i = 0; i < r->nfiles; i++)
        json_object_set_new(pf, r->files[i].name,
                            json_pack("{sIsIsIsIsI}", "docs", (json_int_t)r->files[i].docs, "kept",
                                      (json_int_t)r->files[i].kept, "bytes", (json_int_t)r->files[i].bytes,
                                      "bad_lines", (json_int_t)r->files[i].bad, "read_errors",
                                      (json_int_t)r->files[i].failed));
    for (size_t i = 0; i < r->nsamples; i++)
        json_array_append_new(tp, json_pack("[fff]", r->samples[3 * i], r->samples[3 * i + 1] / 1e6,
                                            r->samples[3 * i + 2]));
    json_object_set_new(o, "funnel", fu);
    json_object_set_new(o, "histograms", h);
    json_object_set_new(o, "per_file", pf);
    json_object_set_new(o, "throughput", tp);
    return o;
}

json_t *cp_report_examples_json(const cp_report *r)
{
    json_t *rej = json_object(), *kept = json_array();
    for (size_t i = 0; i < r->nrej; i++) {
        json_t *a = json_array();
        for (int k = 0; k < r->rej[i].n; k++)
            json_array_append(a, r->rej[i].v[k].ex);
        json_object_set_new(rej, r->rej[i].reason, a);
    }
    for (int k = 0; k < r->nkept; k++)
        json_array_append(kept, r->kept[k].ex);
    return json_pack("{soso}", "rejected", rej, "kept", kept);
}

static int cmp_example(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *hx = json_string_value(json_object_get(x, "hash")), *hy = json_string_value(json_object_get(y, "hash"));
    int c = strcmp(hx ? hx : "", hy ? hy : "");
    if (c)
        return c;
    json_int_t px = json_integer_value(json_object_get(x, "pos")), py = json_integer_value(json_object_get(y, "pos"));
    return px < py ? -1 : px > py;
}

/* a's list and b's list -> the lowest cap of both, sorted */
static void merge_list(json_t *a, const json_t *b, size_t cap)
{
    size_t n = json_array_size(a) + json_array_size(b);
    json_t **v = cp_xmalloc((n + 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        v[k++] = json_incref(json_array_get(a, i));
    for (size_t i = 0; i < json_array_size(b); i++)
        v[k++] = json_incref(json_array_get(b, i));
    qsort(v, k, sizeof *v, cmp_example);
    json_array_clear(a);
    for (size_t i = 0; i < k; i++) {
        if (i < cap)
            json_array_append(a, v[i]);
        json_decref(v[i]);
    }
    free(v);
}

void cp_report_merge_examples(json_t *a, const json_t *b)
{
    json_t *ra = json_object_get(a, "rejected"), *rb = json_object_get(b, "rejected");
    const char *k;
    json_t *v;
    json_object_foreach(rb, k, v) {
        json_t *l = json_object_get(ra, k);
        if (!l)
            json_object_set_new(ra, k, json_deep_copy(v));
        else
            merge_list(l, v, EX_REJECTED);
    }
    merge_list(json_object_get(a, "kept"), json_object_get(b, "kept"), EX_KEPT);
}

/* ================================================================= rendering */

static void esc(cp_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': cp_buf_puts(b, "&amp;"); break;
        case '<': cp_buf_puts(b, "&lt;"); break;
        case '>': cp_buf_puts(b, "&gt;"); break;
        case '"': cp_buf_puts(b, "&quot;"); break;
        case '\'': cp_buf_puts(b, "&#39;"); break;
        case 0: cp_buf_puts(b, "\\u0000"); break; /* in an id: shown as the record writes it (HTML has no NUL) */
        default: cp_buf_putc(b, s[i]);
        }
    }
}

static void escs(cp_buf *b, const char *s)
{
    esc(b, s ? s : "", s ? strlen(s) : 0);
}

/* An id, whole (it may hold "\u0000"). */
static void esc_id(cp_buf *b, const json_t *id)
{
    if (json_is_string(id))
        esc(b, json_string_value(id), json_string_length(id));
    else
        cp_buf_puts(b, "(no id)");
}

static double jnum(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* 1234567 -> "1,234,567" */
static void fmt_int(cp_buf *b, double v)
{
    char t[32], o[48];
    snprintf(t, sizeof t, "%.0f", v < 0 ? 0 : v);
    size_t n = strlen(t), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            o[k++] = ',';
        o[k++] = t[i];
    }
    o[k] = 0;
    cp_buf_puts(b, o);
}

static void fmt_bytes(cp_buf *b, double v)
{
    static const char *const u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (v >= 1000 && i < 4)
        v /= 1000, i++;
    cp_buf_printf(b, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* short axis labels: 1.2k, 3M */
static void fmt_short(cp_buf *b, double v)
{
    if (v >= 1e9)
        cp_buf_printf(b, "%.3gG", v / 1e9);
    else if (v >= 1e6)
        cp_buf_printf(b, "%.3gM", v / 1e6);
    else if (v >= 1e3)
        cp_buf_printf(b, "%.3gk", v / 1e3);
    else
        cp_buf_printf(b, "%.3g", v);
}

typedef struct {
    const char *label;
    double v;       /* bar length */
    double v2;      /* second column */
    char *free_me;
} bar_t;

enum { COL_INT, COL_BYTES, COL_PCT, COL_SECONDS, COL_NONE };

static void col(cp_buf *b, int kind, double v)
{
    cp_buf_puts(b, "<td class=\"num\">");
    if (kind == COL_INT)
        fmt_int(b, v);
    else if (kind == COL_BYTES)
        fmt_bytes(b, v);
    else if (kind == COL_PCT)
        cp_buf_printf(b, "%.1f %%", v);
    else if (kind == COL_SECONDS)
        cp_buf_printf(b, "%.2f s", v);
    cp_buf_puts(b, "</td>");
}

/* A bar chart as a table: label, an SVG bar, the value, a second value. */
static void bar_chart(cp_buf *b, const char *id, const char *caption, const char *h1, const char *h2, bar_t *rows,
                      size_t n, int k1, int k2)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        max = rows[i].v > max ? rows[i].v : max;
    cp_buf_printf(b, "<figure class=\"chart\" id=\"%s\">\n<figcaption>", id);
    escs(b, caption);
    cp_buf_puts(b, "</figcaption>\n");
    if (!n) {
        cp_buf_puts(b, "<p class=\"none\">nothing to show</p>\n</figure>\n");
        return;
    }
    cp_buf_puts(b, "<div class=\"scroll\"><table class=\"bars\">\n<thead><tr><th scope=\"col\"></th><th scope=\"col\"></th>"
                   "<th scope=\"col\" class=\"num\">");
    escs(b, h1);
    cp_buf_puts(b, "</th>");
    if (k2 != COL_NONE) {
        cp_buf_puts(b, "<th scope=\"col\" class=\"num\">");
        escs(b, h2);
        cp_buf_puts(b, "</th>");
    }
    cp_buf_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        double w = max > 0 ? 100.0 * rows[i].v / max : 0;
        if (rows[i].v > 0 && w < 0.5)
            w = 0.5;
        cp_buf_puts(b, "<tr><th scope=\"row\">");
        escs(b, rows[i].label);
        cp_buf_printf(b, "</th><td class=\"bar\"><svg viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" "
                         "role=\"presentation\"><rect width=\"%.2f\" height=\"10\"/></svg></td>",
                      w);
        col(b, k1, rows[i].v);
        if (k2 != COL_NONE)
            col(b, k2, rows[i].v2);
        cp_buf_puts(b, "</tr>\n");
    }
    cp_buf_puts(b, "</tbody></table></div>\n</figure>\n");
}

static int cmp_bar(const void *a, const void *b)
{
    const bar_t *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return strcmp(x->label, y->label);
}

/* Rows from an object of name -> number, or name -> {k1: n, k2: n}; sorted by the first value. */
static size_t rows_from(const json_t *o, const char *k1, const char *k2, bar_t **out)
{
    size_t n = json_object_size(o), i = 0;
    bar_t *v = cp_xcalloc(n + 1, sizeof *v);
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)o, k, x) {
        v[i].label = k;
        v[i].v = k1 ? jnum(x, k1) : json_number_value(x);
        v[i].v2 = k2 ? jnum(x, k2) : 0;
        i++;
    }
    qsort(v, i, sizeof *v, cmp_bar);
    *out = v;
    return i;
}

/* A histogram as SVG columns over the range of non-empty buckets. */
static void hist_chart(cp_buf *b, const char *id, const char *caption, const char *unit, const json_t *j)
{
    cp_hist h;
    cp_buf_printf(b, "<figure class=\"chart hist\" id=\"%s\">\n<figcaption>", id);
    escs(b, caption);
    cp_buf_puts(b, "</figcaption>\n");
    if (!j || cp_hist_from_json(&h, j)) {
        cp_buf_puts(b, "<p class=\"none\">not in this run's stats.json</p>\n</figure>\n");
        return;
    }
    int nb = cp_hist_nbuckets(h.kind), lo = -1, hi = -1;
    uint64_t max = 0, total = 0;
    for (int i = 0; i < nb; i++)
        if (h.n[i]) {
            if (lo < 0)
                lo = i;
            hi = i;
            max = h.n[i] > max ? h.n[i] : max;
            total += h.n[i];
        }
    if (lo < 0) {
        cp_buf_puts(b, "<p class=\"none\">no documents</p>\n</figure>\n");
        return;
    }
    if (h.kind == CP_HIST_FRAC)
        lo = 0, hi = nb - 1;
    const double W = 480, H = 250, L = 50, R = 10, T = 12, B = 52;
    int nbars = hi - lo + 1;
    double bw = (W - L - R) / nbars;
    cp_buf_printf(b, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H);
    escs(b, caption);
    cp_buf_puts(b, "\">\n");
    cp_buf_printf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n", L, H - B, W - R, H - B);
    cp_buf_printf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n", L, T, L, H - B);
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", L - 6, T + 12);
    fmt_short(b, (double)max);
    cp_buf_printf(b, "</text>\n<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", L - 6, H - B);
    for (int i = lo; i <= hi; i++) {
        double x = L + (i - lo) * bw, bh = max ? (H - B - T) * (double)h.n[i] / (double)max : 0;
        if (h.n[i] && bh < 1)
            bh = 1;
        cp_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", x + 0.5,
                      H - B - bh, bw > 2 ? bw - 1 : bw, bh);
        double a = cp_hist_bucket_lo(h.kind, i), z = i + 1 < nb ? cp_hist_bucket_lo(h.kind, i + 1) : INFINITY;
        if (h.kind == CP_HIST_FRAC)
            cp_buf_printf(b, "%.2f to %.2f: ", a, z > 1 ? 1.0 : z);
        else if (z - a <= 1)
            cp_buf_printf(b, "%.0f %s: ", a, unit);
        else
            cp_buf_printf(b, "%.0f to %.0f %s: ", a, z - 1, unit);
        fmt_int(b, (double)h.n[i]);
        cp_buf_printf(b, " (%.1f %%)</title></rect>\n", 100.0 * (double)h.n[i] / (double)total);
    }
    /* about five tick labels along the bottom, at bucket lower bounds */
    int step = nbars / 5 ? nbars / 5 : 1;
    for (int i = lo; i <= hi + 1; i += step) {
        if (i == hi + 1 && h.kind != CP_HIST_FRAC)
            break;
        double x = L + (i - lo) * bw;
        double v = i < nb ? cp_hist_bucket_lo(h.kind, i) : 1.0;
        cp_buf_printf(b, "<text class=\"lab\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", x, H - B + 18);
        if (h.kind == CP_HIST_FRAC)
            cp_buf_printf(b, "%.2g", v);
        else
            fmt_short(b, v);
        cp_buf_puts(b, "</text>\n");
    }
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", L + (W - L - R) / 2, H - 8);
    escs(b, unit);
    cp_buf_printf(b, "%s</text>\n</svg>\n", h.kind == CP_HIST_LOG ? " (log scale)" : "");
    cp_buf_puts(b, "<p class=\"note\">");
    fmt_int(b, (double)total);
    cp_buf_puts(b, " documents</p>\n</figure>\n");
}

/* Near-duplicate cluster sizes, from stats.json's "near_dup_clusters" ({"2": n, ..., "11-100": n}). */
static void near_chart(cp_buf *b, const json_t *o)
{
    static const char *const order[] = {"2", "3", "4", "5", "6", "7", "8", "9", "10", "11-100", "101+"};
    bar_t rows[11];
    size_t n = 0;
    for (size_t i = 0; i < 11; i++) {
        json_t *v = json_object_get(o, order[i]);
        if (v)
            rows[n++] = (bar_t){order[i], json_number_value(v), json_number_value(v), NULL};
    }
    bar_chart(b, "chart-near-clusters", "Near-duplicate clusters by size (first document and its copies)",
              "clusters", "", rows, n, COL_INT, COL_NONE);
}

/* Throughput over time: MB/s between consecutive samples, as an SVG polyline. */
static void throughput_chart(cp_buf *b, const json_t *tp)
{
    cp_buf_puts(b, "<figure class=\"chart\" id=\"chart-throughput\">\n<figcaption>Throughput over time "
                   "(MB/s of uncompressed input)</figcaption>\n");
    size_t n = json_array_size(tp);
    if (n < 2) {
        cp_buf_puts(b, "<p class=\"none\">the run was too short for samples</p>\n</figure>\n");
        return;
    }
    double *t = cp_xmalloc(n * sizeof *t), *r = cp_xmalloc(n * sizeof *r), tmax = 0, rmax = 0;
    size_t m = 0;
    double pt = 0, pmb = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(tp, i);
        double ts = json_number_value(json_array_get(s, 0)), mb = json_number_value(json_array_get(s, 1));
        if (ts - pt > 1e-6) {
            t[m] = ts;
            r[m] = (mb - pmb) / (ts - pt);
            tmax = ts > tmax ? ts : tmax;
            rmax = r[m] > rmax ? r[m] : rmax;
            m++;
        }
        pt = ts;
        pmb = mb;
    }
    const double W = 960, H = 240, L = 56, R = 12, T = 12, B = 44;
    if (rmax <= 0)
        rmax = 1;
    cp_buf_printf(b, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"throughput over time\">\n", W, H);
    cp_buf_printf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n", L, H - B, W - R, H - B);
    cp_buf_printf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n", L, T, L, H - B);
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>\n", L - 6, T + 10, rmax);
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", L - 6, H - B);
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g s</text>\n", W - R, H - B + 20,
                  tmax);
    cp_buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"start\">0 s</text>\n", L, H - B + 20);
    cp_buf_puts(b, "<polyline class=\"line\" points=\"");
    for (size_t i = 0; i < m; i++)
        cp_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", L + (W - L - R) * (tmax > 0 ? t[i] / tmax : 0),
                      H - B - (H - B - T) * r[i] / rmax);
    cp_buf_puts(b, "\"/>\n</svg>\n</figure>\n");
    free(t);
    free(r);
}

static void section(cp_buf *b, const char *id, const char *title)
{
    cp_buf_printf(b, "<section id=\"%s\">\n<h2>", id);
    escs(b, title);
    cp_buf_puts(b, "</h2>\n");
}

static void kv(cp_buf *b, const char *k, const char *v)
{
    cp_buf_puts(b, "<tr><th scope=\"row\">");
    escs(b, k);
    cp_buf_puts(b, "</th><td>");
    cp_buf_puts(b, v); /* already HTML */
    cp_buf_puts(b, "</td></tr>\n");
}

static void header(cp_buf *b, const json_t *s)
{
    const json_t *info = json_object_get(s, "run_info"), *cl = json_object_get(s, "cluster");
    cp_buf v = {0};
    cp_buf_puts(b, "<header>\n<h1>corpusprep run report</h1>\n<table class=\"facts\">\n");
    const json_t *inputs = json_object_get(info, "inputs");
    size_t ni = json_array_size(inputs);
    v.len = 0;
    for (size_t i = 0; i < ni && i < 5; i++) {
        if (i)
            cp_buf_puts(&v, ", ");
        cp_buf_puts(&v, "<code>");
        escs(&v, json_string_value(json_array_get(inputs, i)));
        cp_buf_puts(&v, "</code>");
    }
    if (ni > 5)
        cp_buf_printf(&v, " and %zu more", ni - 5);
    cp_buf_printf(&v, " (%.0f file%s", jnum(s, "files"), jnum(s, "files") == 1 ? "" : "s");
    if (jnum(s, "files_failed") > 0)
        cp_buf_printf(&v, ", <strong>%.0f not read to the end</strong>", jnum(s, "files_failed"));
    cp_buf_puts(&v, ")");
    kv(b, "inputs", v.data);
    v.len = 0;
    escs(&v, json_string_value(json_object_get(info, "preset")) ? json_string_value(json_object_get(info, "preset"))
                                                                : "news (default)");
    kv(b, "config", v.data);
    v.len = 0;
    escs(&v, json_string_value(json_object_get(info, "version")) ? json_string_value(json_object_get(info, "version"))
                                                                 : "?");
    kv(b, "corpusprep", v.data);
    v.len = 0;
    cp_buf_printf(&v, "%.2f s wall, %.2f s CPU", jnum(s, "wall_seconds"), jnum(s, "cpu_seconds"));
    kv(b, "time", v.data);
    v.len = 0;
    cp_buf_printf(&v, "%.1f MB/s per core, %.1f MB/s overall, ", jnum(s, "mb_per_cpu_s"), jnum(s, "mb_per_s"));
    fmt_int(&v, jnum(s, "docs_per_s"));
    cp_buf_puts(&v, " docs/s");
    kv(b, "speed", v.data);
    v.len = 0;
    if (cl)
        cp_buf_printf(&v, "%.0f MPI ranks", jnum(cl, "ranks"));
    else
        cp_buf_printf(&v, "%.0f threads", jnum(s, "threads"));
    cp_buf_printf(&v, ", peak RSS %.0f MB", jnum(s, "peak_rss_mb"));
    kv(b, "ran on", v.data);
    v.len = 0;
    fmt_int(&v, jnum(s, "docs_in"));
    cp_buf_puts(&v, " in, ");
    fmt_int(&v, jnum(s, "docs_kept"));
    cp_buf_printf(&v, " kept (%.1f %%); ", jnum(s, "docs_in") > 0 ? 100 * jnum(s, "docs_kept") / jnum(s, "docs_in") : 0);
    fmt_bytes(&v, jnum(s, "bytes_in_uncompressed"));
    cp_buf_puts(&v, " read, ");
    fmt_bytes(&v, jnum(s, "bytes_out"));
    cp_buf_printf(&v, " written in %.0f shards", jnum(s, "shards"));
    kv(b, "documents", v.data);
    cp_buf_puts(b, "</table>\n</header>\n");
    cp_buf_free(&v);
}

static void funnel(cp_buf *b, const json_t *s)
{
    const json_t *f = json_object_get(s, "funnel");
    bar_t rows[F_N];
    size_t n = 0;
    for (int i = 0; i < F_N && f; i++) {
        json_t *x = json_object_get(f, funnel_keys[i]);
        if (x)
            rows[n++] = (bar_t){funnel_labels[i], jnum(x, "docs"), jnum(x, "text_bytes"), NULL};
    }
    section(b, "funnel", "The funnel: what each stage let through");
    bar_chart(b, "chart-funnel", "Documents and text bytes left after each stage", "documents", "text", rows, n,
              COL_INT, COL_BYTES);
    cp_buf_puts(b, "</section>\n");
}

static void counters(cp_buf *b, const json_t *s)
{
    bar_t *rows;
    size_t n;
    section(b, "reasons", "Why documents went");
    n = rows_from(json_object_get(s, "rejected_chars"), "docs", "text_bytes", &rows);
    bar_chart(b, "chart-reasons", "Reject reasons: documents and the text they carried", "documents", "text", rows, n,
              COL_INT, COL_BYTES);
    free(rows);
    cp_buf_puts(b, "</section>\n");
    section(b, "rules", "What cleaning removed");
    n = rows_from(json_object_get(s, "clean_rules"), "lines", "bytes", &rows);
    bar_chart(b, "chart-rules", "Cleaning rules: lines and bytes removed", "lines", "bytes", rows, n, COL_INT,
              COL_BYTES);
    free(rows);
    cp_buf_puts(b, "</section>\n");
    section(b, "languages", "Languages kept");
    /* documents from "langs", bytes from the run's language counters when present */
    n = rows_from(json_object_get(s, "langs"), NULL, NULL, &rows);
    const json_t *lb = json_object_get(s, "lang_text_bytes");
    for (size_t i = 0; i < n; i++)
        rows[i].v2 = json_number_value(json_object_get(lb, rows[i].label));
    bar_chart(b, "chart-langs", "Languages of the kept documents", "documents", "text", rows, n, COL_INT,
              lb ? COL_BYTES : COL_NONE);
    free(rows);
    cp_buf_puts(b, "</section>\n");
}

static void distributions(cp_buf *b, const json_t *s)
{
    const json_t *h = json_object_get(s, "histograms");
    section(b, "distributions", "Distributions");
    cp_buf_puts(b, "<div class=\"grid\">\n");
    hist_chart(b, "chart-len-before", "Text length before cleaning (documents that parsed)", "bytes",
               json_object_get(h, "text_bytes_before_clean"));
    hist_chart(b, "chart-len-after", "Text length after cleaning (documents cleaning kept)", "bytes",
               json_object_get(h, "text_bytes_after_clean"));
    hist_chart(b, "chart-removed", "Share of each document cleaning removed", "share of bytes removed",
               json_object_get(h, "removed_by_clean_frac"));
    hist_chart(b, "chart-lines", "Lines per kept document", "lines", json_object_get(h, "lines_per_kept_doc"));
    hist_chart(b, "chart-lang-score", "Language score (documents that reached language ID)", "score",
               json_object_get(h, "lang_score"));
    cp_buf_puts(b, "</div>\n");
    near_chart(b, json_object_get(s, "near_dup_clusters"));
    cp_buf_puts(b, "</section>\n");
}

static void performance(cp_buf *b, const json_t *s)
{
    section(b, "performance", "Where the time went");
    throughput_chart(b, json_object_get(s, "throughput"));
    const json_t *t = json_object_get(s, "stage_cpu_seconds");
    double total = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)t, k, v) total += json_number_value(v);
    bar_t *rows;
    size_t n = rows_from(t, NULL, NULL, &rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].v2 = rows[i].v;
        rows[i].v = total > 0 ? 100 * rows[i].v / total : 0;
    }
    bar_chart(b, "chart-stages", "CPU time by stage", "share", "CPU", rows, n, COL_PCT, COL_SECONDS);
    free(rows);
    cp_buf_puts(b, "</section>\n");
}

static void files_table(cp_buf *b, const json_t *s)
{
    const json_t *pf = json_object_get(s, "per_file");
    section(b, "files", "Input files");
    size_t n = json_object_size(pf);
    if (!n) {
        cp_buf_puts(b, "<p class=\"none\">no documents were read</p>\n</section>\n");
        return;
    }
    cp_buf_puts(b, "<div class=\"scroll\"><table class=\"data\">\n<thead><tr><th scope=\"col\">file</th>"
                   "<th scope=\"col\" class=\"num\">documents</th><th scope=\"col\" class=\"num\">kept</th>"
                   "<th scope=\"col\" class=\"num\">bytes</th><th scope=\"col\" class=\"num\">bad lines</th>"
                   "<th scope=\"col\">read to the end</th></tr></thead>\n<tbody>\n");
    size_t shown = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)pf, k, v) {
        if (++shown > 200)
            break;
        cp_buf_puts(b, "<tr><td><code>");
        escs(b, k);
        cp_buf_puts(b, "</code></td>");
        col(b, COL_INT, jnum(v, "docs"));
        col(b, COL_INT, jnum(v, "kept"));
        col(b, COL_BYTES, jnum(v, "bytes"));
        col(b, COL_INT, jnum(v, "bad_lines"));
        cp_buf_puts(b, jnum(v, "read_errors") > 0 ? "<td><strong>no</strong></td>" : "<td>yes</td>");
        cp_buf_puts(b, "</tr>\n");
    }
    cp_buf_puts(b, "</tbody></table></div>\n");
    if (n > 200)
        cp_buf_printf(b, "<p class=\"note\">the first 200 of %zu files; stats.json has all</p>\n", n);
    cp_buf_puts(b, "<p class=\"note\">Bad lines: not JSON, not an object, no text field, or over --max-line. "
                   "A file not read to its end (truncated or corrupt, unreadable) has its error on stderr.</p>\n");
    cp_buf_puts(b, "</section>\n");
}

static void example_meta(cp_buf *b, const json_t *ex)
{
    cp_buf_puts(b, "<p class=\"meta\"><code>");
    esc_id(b, json_object_get(ex, "id"));
    cp_buf_puts(b, "</code> from <code>");
    escs(b, json_string_value(json_object_get(ex, "source")));
    cp_buf_puts(b, "</code>");
    if (json_object_get(ex, "dup_of")) {
        cp_buf_puts(b, ", a copy of <code>");
        esc_id(b, json_object_get(ex, "dup_of"));
        cp_buf_puts(b, "</code>");
    }
    if (json_object_get(ex, "lang")) {
        cp_buf_puts(b, ", language ");
        escs(b, json_string_value(json_object_get(ex, "lang")));
    }
    if (json_object_get(ex, "error")) {
        cp_buf_puts(b, ": ");
        escs(b, json_string_value(json_object_get(ex, "error")));
    }
    cp_buf_puts(b, "</p>\n");
}

static void examples(cp_buf *b, const json_t *s, const json_t *ex)
{
    section(b, "examples", "Examples");
    if (!ex) {
        cp_buf_puts(b, "<p class=\"none\">no report-examples.json beside stats.json</p>\n</section>\n");
        return;
    }
    cp_buf_puts(b, "<p class=\"note\">Picked by the lowest hash of the document id, so the same run always shows "
                   "the same documents. Texts are cut to a few hundred bytes.</p>\n<h3>Kept documents, line by line</h3>\n");
    const json_t *kept = json_object_get(ex, "kept");
    if (!json_array_size(kept))
        cp_buf_puts(b, "<p class=\"none\">no kept documents</p>\n");
    for (size_t i = 0; i < json_array_size(kept); i++) {
        const json_t *e = json_array_get(kept, i);
        cp_buf_printf(b, "<details class=\"ex\"%s><summary>", i == 0 ? " open" : "");
        esc_id(b, json_object_get(e, "id"));
        cp_buf_puts(b, "</summary>\n");
        example_meta(b, e);
        cp_buf_puts(b, "<ol class=\"lines\">\n");
        const json_t *lines = json_object_get(e, "lines");
        for (size_t k = 0; k < json_array_size(lines); k++) {
            const json_t *l = json_array_get(lines, k);
            const char *fate = json_string_value(json_object_get(l, "fate"));
            const char *text = json_string_value(json_object_get(l, "text"));
            if (fate && !strcmp(fate, "blank"))
                continue;
            if (fate && !strcmp(fate, "kept")) {
                cp_buf_puts(b, "<li class=\"kept\">");
                /* the line as read ends with what a rule cut: show that part struck through */
                const char *cut = json_string_value(json_object_get(l, "removed"));
                size_t tn = text ? strlen(text) : 0, cn = cut ? strlen(cut) : 0;
                esc(b, text ? text : "", cut && cn <= tn && !strcmp(text + tn - cn, cut) ? tn - cn : tn);
                if (json_object_get(l, "removed")) {
                    cp_buf_puts(b, " <del>");
                    escs(b, json_string_value(json_object_get(l, "removed")));
                    cp_buf_puts(b, "</del>");
                }
                if (json_object_get(l, "edited_by")) {
                    cp_buf_puts(b, " <span class=\"rule\">");
                    escs(b, json_string_value(json_object_get(l, "edited_by")));
                    cp_buf_puts(b, "</span>");
                }
            } else {
                cp_buf_puts(b, "<li class=\"gone\"><del>");
                escs(b, text);
                cp_buf_puts(b, "</del> <span class=\"rule\">");
                escs(b, fate);
                cp_buf_puts(b, "</span>");
            }
            cp_buf_puts(b, "</li>\n");
        }
        cp_buf_puts(b, "</ol>\n");
        if (json_object_get(e, "lines_total"))
            cp_buf_printf(b, "<p class=\"note\">the first %zu of %.0f lines</p>\n", json_array_size(lines),
                          jnum(e, "lines_total"));
        cp_buf_puts(b, "</details>\n");
    }
    cp_buf_puts(b, "<h3>Rejected documents, by reason</h3>\n");
    const json_t *rej = json_object_get(ex, "rejected");
    bar_t *rows;
    size_t n = rows_from(json_object_get(s, "docs_rejected"), NULL, NULL, &rows);
    if (!json_object_size(rej))
        cp_buf_puts(b, "<p class=\"none\">nothing was rejected</p>\n");
    /* reasons in the order of their counts; then any that stats.json does not list */
    for (size_t i = 0; i <= n; i++) {
        const char *reason = i < n ? rows[i].label : NULL;
        if (!reason)
            break;
        const json_t *list = json_object_get(rej, reason);
        if (!list)
            continue;
        cp_buf_puts(b, "<details class=\"ex\"><summary><span class=\"rule\">");
        escs(b, reason);
        cp_buf_puts(b, "</span> ");
        fmt_int(b, rows[i].v);
        cp_buf_puts(b, " documents</summary>\n");
        for (size_t k = 0; k < json_array_size(list); k++) {
            const json_t *e = json_array_get(list, k);
            example_meta(b, e);
            const char *t = json_string_value(json_object_get(e, "text"));
            if (t && *t) {
                cp_buf_puts(b, "<pre>");
                escs(b, t);
                cp_buf_puts(b, "</pre>\n");
            } else {
                cp_buf_puts(b, "<p class=\"none\">(no text)</p>\n");
            }
        }
        cp_buf_puts(b, "</details>\n");
    }
    free(rows);
    cp_buf_puts(b, "</section>\n");
}

static const char css[] =
    ":root{--fg:#1d2330;--mute:#5b6475;--bar:#3d6fb6;--gone:#b3261e;--bg:#fff;--alt:#f3f5f9;--line:#d5dae3}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;padding:0 16px 48px;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "main{max-width:1100px;margin:0 auto}\n"
    "h1{font-size:1.6rem;margin:24px 0 8px}h2{font-size:1.25rem;margin:32px 0 8px;padding-top:8px;"
    "border-top:1px solid var(--line)}h3{font-size:1.05rem;margin:20px 0 6px}\n"
    "nav{font-size:.9rem;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px}nav a{color:var(--bar)}\n"
    "table{border-collapse:collapse}th,td{padding:3px 8px;text-align:left;vertical-align:top}\n"
    ".facts th{color:var(--mute);font-weight:500;white-space:nowrap}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    ".bars{width:100%}.bars th[scope=row]{font-weight:400;white-space:nowrap;max-width:22em;overflow:hidden;"
    "text-overflow:ellipsis}\n"
    ".bars td.bar{width:55%;min-width:80px}.bars svg{display:block;width:100%;height:14px}.bars rect,.hist rect{fill:var(--bar)}\n"
    ".bars tbody tr:nth-child(odd),.data tbody tr:nth-child(odd){background:var(--alt)}\n"
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "figure{margin:12px 0 20px}figcaption{font-weight:600;margin-bottom:6px}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:8px 32px}\n"
    ".chart svg{max-width:100%}.hist svg,#chart-throughput svg{width:100%;height:auto}\n"
    ".axis{stroke:var(--mute);stroke-width:1}.lab{font-size:15px;fill:var(--mute)}\n"
    ".line{fill:none;stroke:var(--bar);stroke-width:2}\n"
    ".note,.none{color:var(--mute);font-size:.9rem;margin:4px 0}\n"
    "details.ex{border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:8px 0}\n"
    "summary{cursor:pointer;font-weight:600}.meta{color:var(--mute);font-size:.9rem;margin:6px 0}\n"
    "pre{white-space:pre-wrap;word-break:break-word;background:var(--alt);padding:8px;border-radius:4px;"
    "font-size:.85rem;margin:4px 0 12px}\n"
    ".lines{padding-left:2.2em;margin:6px 0}.lines li{margin:2px 0;word-break:break-word}\n"
    ".lines li.gone{color:var(--gone)}.lines del{text-decoration-thickness:1px}\n"
    ".rule{display:inline-block;font:12px/1.4 ui-monospace,monospace;background:#fbe9e7;color:var(--gone);"
    "border-radius:3px;padding:0 4px;white-space:nowrap}\n"
    ".kept .rule{background:var(--alt);color:var(--mute)}\n"
    "code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}\n"
    "@media (max-width:600px){body{font-size:14px;padding:0 8px 32px}th,td{padding:3px 4px}"
    ".bars td.bar{width:30%;min-width:36px}.bars th[scope=row]{max-width:10em;white-space:normal;"
    "overflow-wrap:anywhere}.grid{grid-template-columns:1fr}}\n"
    "@media print{body{padding:0}nav{display:none}h2{break-after:avoid}figure{break-inside:avoid}"
    ".scroll{overflow:visible}details::details-content{content-visibility:visible;display:block}}\n";

void cp_report_html(const json_t *s, const json_t *ex, cp_buf *b)
{
    cp_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>corpusprep run report</title>\n<style>\n");
    cp_buf_puts(b, css);
    cp_buf_puts(b, "</style>\n</head>\n<body>\n<main>\n");
    header(b, s);
    cp_buf_puts(b, "<nav><a href=\"#funnel\">funnel</a><a href=\"#reasons\">reasons</a><a href=\"#rules\">rules</a>"
                   "<a href=\"#languages\">languages</a><a href=\"#distributions\">distributions</a>"
                   "<a href=\"#performance\">time</a><a href=\"#files\">files</a><a href=\"#examples\">examples</a>"
                   "<a href=\"#config\">config</a></nav>\n");
    funnel(b, s);
    counters(b, s);
    distributions(b, s);
    performance(b, s);
    files_table(b, s);
    examples(b, s, ex);
    section(b, "config", "Configuration");
    cp_buf_puts(b, "<details><summary>The effective configuration (as --print-config shows it)</summary>\n<pre>");
    char *cfg = json_dumps(json_object_get(s, "config"), JSON_INDENT(2) | JSON_SORT_KEYS);
    escs(b, cfg ? cfg : "{}");
    free(cfg);
    cp_buf_puts(b, "</pre>\n</details>\n</section>\n</main>\n</body>\n</html>\n");
}

int cp_report_write(const char *outdir, const json_t *stats, const json_t *examples, char *err, size_t errlen)
{
    if (examples && cp_write_json_atomic(outdir, CP_REPORT_EXAMPLES_FILE, examples, err, errlen))
        return -1;
    cp_buf b = {0};
    cp_report_html(stats, examples, &b);
    char *path = cp_xmalloc(strlen(outdir) + 16);
    sprintf(path, "%s/report.html", outdir);
    int rc = cp_write_file_atomic(path, b.data, b.len, err, errlen);
    free(path);
    cp_buf_free(&b);
    return rc;
}

int cp_report_rebuild(const char *outdir, char *err, size_t errlen)
{
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/stats.json", outdir);
    json_error_t je;
    json_t *s = json_load_file(p.data, 0, &je);
    if (!s || !json_is_object(s)) {
        snprintf(err, errlen, "%s: %s", p.data, je.text);
        json_decref(s);
        cp_buf_free(&p);
        return -1;
    }
    p.len = 0;
    cp_buf_printf(&p, "%s/%s", outdir, CP_REPORT_EXAMPLES_FILE);
    json_t *ex = json_load_file(p.data, JSON_ALLOW_NUL, &je); /* optional (--no-report); ids may hold \u0000 */
    cp_buf_free(&p);
    cp_buf b = {0};
    cp_report_html(s, json_is_object(ex) ? ex : NULL, &b);
    char *path = cp_xmalloc(strlen(outdir) + 16);
    sprintf(path, "%s/report.html", outdir);
    int rc = cp_write_file_atomic(path, b.data, b.len, err, errlen);
    free(path);
    cp_buf_free(&b);
    json_decref(s);
    json_decref(ex);
    return rc;
}

/* ---- checkpoints (checkpoint.h) ---- */

static json_t *examples_state(const example_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) /* the 64-bit hash goes through json_int_t unchanged, as its bit pattern */
        json_array_append_new(a, json_pack("[IIO]", (json_int_t)v[i].hash, (json_int_t)v[i].pos,
                                           v[i].ex ? v[i].ex : json_null()));
    return a;
}

static int examples_restore(example_t *v, int *n, int cap, const json_t *a)
{
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(a, i, e) {
        json_int_t hash, pos;
        json_t *ex;
        if ((int)i >= cap || json_unpack(e, "[IIo]", &hash, &pos, &ex))
            return -1;
        v[i] = (example_t){(uint64_t)hash, (uint64_t)pos, json_is_null(ex) ? NULL : json_incref(ex)};
        (*n)++;
    }
    return 0;
}

json_t *cp_report_state_to_json(const cp_report *r)
{
    json_t *o = json_object(), *fu = json_array(), *h = json_array(), *files = json_array(), *rej = json_array(),
           *sm = json_array();
    for (int s = 0; s < F_N; s++)
        json_array_append_new(fu, json_pack("[II]", (json_int_t)r->funnel_docs[s], (json_int_t)r->funnel_bytes[s]));
    for (int k = 0; k < H_N; k++)
        json_array_append_new(h, cp_hist_to_json(&r->hist[k]));
    for (size_t i = 0; i < r->nfiles; i++)
        json_array_append_new(files, json_pack("[sIIIII]", r->files[i].name, (json_int_t)r->files[i].docs,
                                               (json_int_t)r->files[i].kept, (json_int_t)r->files[i].bytes,
                                               (json_int_t)r->files[i].bad, (json_int_t)r->files[i].failed));
    for (size_t i = 0; i < r->nrej; i++)
        json_array_append_new(rej, json_pack("[so]", r->rej[i].reason, examples_state(r->rej[i].v, r->rej[i].n)));
    for (size_t i = 0; i < 3 * r->nsamples; i++)
        json_array_append_new(sm, json_real(r->samples[i]));
    json_object_set_new(o, "funnel", fu);
    json_object_set_new(o, "hist", h);
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "rejected", rej);
    json_object_set_new(o, "kept", examples_state(r->kept, r->nkept));
    json_object_set_new(o, "samples", sm);
    json_object_set_new(o, "every", json_integer((json_int_t)r->every));
    json_object_set_new(o, "seen_samples", json_integer((json_int_t)r->seen_samples));
    return o;
}

int cp_report_state_from_json(cp_report *r, const json_t *j)
{
    json_t *fu = json_object_get(j, "funnel"), *h = json_object_get(j, "hist"), *e;
    size_t i;
    if (json_array_size(fu) != F_N || json_array_size(h) != H_N)
        return -1;
    for (int s = 0; s < F_N; s++) {
        json_int_t d, b;
        if (json_unpack(json_array_get(fu, (size_t)s), "[II]", &d, &b))
            return -1;
        r->funnel_docs[s] = (uint64_t)d;
        r->funnel_bytes[s] = (uint64_t)b;
    }
    for (int k = 0; k < H_N; k++)
        if (cp_hist_from_json(&r->hist[k], json_array_get(h, (size_t)k)))
            return -1;
    json_array_foreach(json_object_get(j, "files"), i, e) {
        const char *name;
        json_int_t docs, kept, bytes, bad, failed;
        if (json_unpack(e, "[sIIIII]", &name, &docs, &kept, &bytes, &bad, &failed))
            return -1;
        if (r->nfiles == r->cap_files) {
            r->cap_files = r->cap_files ? 2 * r->cap_files : 16;
            r->files = cp_xrealloc(r->files, r->cap_files * sizeof *r->files);
        }
        r->files[r->nfiles++] = (file_t){cp_xstrdup(name), (uint64_t)docs, (uint64_t)kept, (uint64_t)bytes,
                                         (uint64_t)bad, (uint64_t)failed};
    }
    json_array_foreach(json_object_get(j, "rejected"), i, e) {
        const char *reason;
        json_t *ex;
        if (json_unpack(e, "[so]", &reason, &ex))
            return -1;
        if (r->nrej == r->cap_rej) {
            r->cap_rej = r->cap_rej ? 2 * r->cap_rej : 16;
            r->rej = cp_xrealloc(r->rej, r->cap_rej * sizeof *r->rej);
        }
        reason_ex_t *re = &r->rej[r->nrej++];
        memset(re, 0, sizeof *re);
        re->reason = cp_xstrdup(reason);
        if (examples_restore(re->v, &re->n, EX_REJECTED, ex))
            return -1;
    }
    if (examples_restore(r->kept, &r->nkept, EX_KEPT, json_object_get(j, "kept")))
        return -1;
    json_t *sm = json_object_get(j, "samples");
    if (json_array_size(sm) > 3 * MAX_SAMPLES || json_array_size(sm) % 3)
        return -1;
    r->nsamples = json_array_size(sm) / 3;
    for (i = 0; i < json_array_size(sm); i++)
        r->samples[i] = json_number_value(json_array_get(sm, i));
    r->every = (size_t)json_integer_value(json_object_get(j, "every"));
    r->seen_samples = (size_t)json_integer_value(json_object_get(j, "seen_samples"));
    if (!r->every)
        r->every = 1;
    return 0;
}
