/* Run statistics: counters keyed by name (reject reasons, languages, cleaning rules), timings, and the
 * two views of them, stats.json and the stderr summary. Keys in stats.json are sorted so that reruns
 * produce the same file apart from timings. */
#include "corpusprep/stats.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "corpusprep/util.h"

const char *const cp_stage_names[CP_T_N] = {"read", "parse", "normalize", "clean", "langid", "filter",
                                            "dedup_keys", "minhash", "dedup_commit", "emit", "compress",
                                            "write"};

void cp_counters_add(cp_counters *c, const char *name, uint64_t docs, uint64_t chars)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->items[i].name, name)) {
            c->items[i].docs += docs;
            c->items[i].chars += chars;
            return;
        }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = cp_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->n++] = (cp_counter){cp_xstrdup(name), docs, chars};
}

uint64_t cp_counters_total(const cp_counters *c)
{
    uint64_t t = 0;
    for (size_t i = 0; i < c->n; i++)
        t += c->items[i].docs;
    return t;
}

void cp_counters_free(cp_counters *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i].name);
    free(c->items);
    memset(c, 0, sizeof *c);
}

void cp_stats_free(cp_stats *s)
{
    cp_counters_free(&s->rejected);
    cp_counters_free(&s->langs);
    cp_counters_free(&s->rules);
    cp_counters_free(&s->warc_records);
    json_decref(s->extra);
    s->extra = NULL;
}

void cp_stats_finish(cp_stats *s, double wall_seconds)
{
    struct rusage ru;
    s->wall_seconds = wall_seconds;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        s->cpu_user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
        s->cpu_sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
        s->peak_rss_kb = ru.ru_maxrss;
    }
}

/* names = NULL: name -> count; else name -> {names[0]: count, names[1]: bytes} */
static json_t *counters_json(const cp_counters *c, const char *const *names)
{
    json_t *o = json_object();
    for (size_t i = 0; i < c->n; i++) {
        if (names)
            json_object_set_new(o, c->items[i].name,
                                json_pack("{sIsI}", names[0], (json_int_t)c->items[i].docs, names[1],
                                          (json_int_t)c->items[i].chars));
        else
            json_object_set_new(o, c->items[i].name, json_integer((json_int_t)c->items[i].docs));
    }
    return o;
}

json_t *cp_stats_to_json(const cp_stats *s)
{
    json_t *o = json_object();
#define I(name, v) json_object_set_new(o, name, json_integer((json_int_t)(v)))
    I("docs_in", s->docs_in);
    I("docs_kept", s->docs_kept);
    static const char *const doc_bytes[] = {"docs", "text_bytes"}, *const line_bytes[] = {"lines", "bytes"};
    json_object_set_new(o, "docs_rejected", counters_json(&s->rejected, NULL));
    json_object_set_new(o, "rejected_chars", counters_json(&s->rejected, doc_bytes));
    json_object_set_new(o, "langs", counters_json(&s->langs, NULL));
    json_object_set_new(o, "clean_rules", counters_json(&s->rules, line_bytes));
    /* WARC input: records by type; response records hold HTML, which corpusprep does not extract yet */
    json_object_set_new(o, "warc_records", counters_json(&s->warc_records, NULL));
    uint64_t html = 0;
    for (size_t i = 0; i < s->warc_records.n; i++)
        if (!strcmp(s->warc_records.items[i].name, "response"))
            html = s->warc_records.items[i].docs;
    I("warc_html_unsupported", html);
    I("files", s->files);
    I("files_failed", s->files_failed);
    I("blank_lines", s->blank_lines);
    I("bytes_in_compressed", s->bytes_in_compressed);
    I("bytes_in_uncompressed", s->bytes_in);
    I("bytes_out", s->bytes_out);
    I("shards", s->shards);
    I("text_bytes_in", s->text_chars_in);
    I("text_bytes_kept", s->text_chars_out);
    I("utf8_replacements", s->utf8_fixed);
    I("control_chars_removed", s->controls_removed);
    I("nfc_changed_docs", s->nfc_changed);
    I("line_dedup_distinct_lines", s->line_dedup_distinct);
    I("line_dedup_table_bytes", s->line_dedup_table_bytes);
#undef I
    json_t *t = json_object();
    for (int i = 0; i < CP_T_N; i++)
        json_object_set_new(t, cp_stage_names[i], json_real(s->stage_seconds[i]));
    json_object_set_new(o, "stage_cpu_seconds", t);
    json_object_set_new(o, "wall_seconds", json_real(s->wall_seconds));
    json_object_set_new(o, "cpu_seconds", json_real(s->cpu_user + s->cpu_sys));
    double mb = s->bytes_in / 1e6;
    json_object_set_new(o, "mb_per_s", json_real(s->wall_seconds > 0 ? mb / s->wall_seconds : 0));
    json_object_set_new(o, "mb_per_cpu_s",
                        json_real(s->cpu_user + s->cpu_sys > 0 ? mb / (s->cpu_user + s->cpu_sys) : 0));
    json_object_set_new(o, "docs_per_s", json_real(s->wall_seconds > 0 ? s->docs_in / s->wall_seconds : 0));
    json_object_set_new(o, "peak_rss_mb", json_real(s->peak_rss_kb / 1024.0));
    if (s->extra) {
        const char *k;
        json_t *v;
        json_object_foreach(s->extra, k, v) json_object_set(o, k, v);
    }
    return o;
}

static int cmp_counter(const void *a, const void *b)
{
    const cp_counter *x = a, *y = b;
    if (x->docs != y->docs)
        return x->docs < y->docs ? 1 : -1;
    return strcmp(x->name, y->name);
}

void cp_stats_print(const cp_stats *s)
{
    double cpu = s->cpu_user + s->cpu_sys;
    uint64_t rej = cp_counters_total(&s->rejected);
    fprintf(stderr, "corpusprep: %llu files (%llu failed), %llu docs in, %llu kept (%.1f%%), %llu rejected\n",
            (unsigned long long)s->files, (unsigned long long)s->files_failed, (unsigned long long)s->docs_in,
            (unsigned long long)s->docs_kept, s->docs_in ? 100.0 * s->docs_kept / s->docs_in : 0.0,
            (unsigned long long)rej);
    if (s->rejected.n) {
        cp_counter *v = cp_xmalloc(s->rejected.n * sizeof *v);
        memcpy(v, s->rejected.items, s->rejected.n * sizeof *v);
        qsort(v, s->rejected.n, sizeof *v, cmp_counter);
        fprintf(stderr, "  rejected:");
        for (size_t i = 0; i < s->rejected.n; i++)
            fprintf(stderr, "%s %s %llu", i ? "," : "", v[i].name, (unsigned long long)v[i].docs);
        fprintf(stderr, "\n");
        free(v);
    }
    if (s->langs.n) {
        cp_counter *v = cp_xmalloc(s->langs.n * sizeof *v);
        memcpy(v, s->langs.items, s->langs.n * sizeof *v);
        qsort(v, s->langs.n, sizeof *v, cmp_counter);
        fprintf(stderr, "  languages:");
        for (size_t i = 0; i < s->langs.n && i < 12; i++)
            fprintf(stderr, "%s %s %llu", i ? "," : "", v[i].name, (unsigned long long)v[i].docs);
        if (s->langs.n > 12)
            fprintf(stderr, ", ... (%zu in all)", s->langs.n);
        fprintf(stderr, "\n");
        free(v);
    }
    if (s->warc_records.n) {
        uint64_t html = 0;
        fprintf(stderr, "  WARC records:");
        for (size_t i = 0; i < s->warc_records.n; i++) {
            fprintf(stderr, "%s %s %llu", i ? "," : "", s->warc_records.items[i].name,
                    (unsigned long long)s->warc_records.items[i].docs);
            if (!strcmp(s->warc_records.items[i].name, "response"))
                html = s->warc_records.items[i].docs;
        }
        fprintf(stderr, " (only conversion records are documents)\n");
        if (html)
            fprintf(stderr, "  warc_html_unsupported: %llu response records skipped: HTML is not extracted; use the "
                            "crawl's WET files\n", (unsigned long long)html);
    }
    fprintf(stderr, "  %.1f MB in (%.1f MB compressed), %.1f MB out in %llu shards\n", s->bytes_in / 1e6,
            s->bytes_in_compressed / 1e6, s->bytes_out / 1e6, (unsigned long long)s->shards);
    fprintf(stderr, "  real %.2f s, CPU %.2f s, %.1f MB/s, %.1f MB/s per CPU second, %.0f docs/s, peak RSS %.1f MB\n",
            s->wall_seconds, cpu, s->wall_seconds > 0 ? s->bytes_in / 1e6 / s->wall_seconds : 0.0,
            cpu > 0 ? s->bytes_in / 1e6 / cpu : 0.0, s->wall_seconds > 0 ? s->docs_in / s->wall_seconds : 0.0,
            s->peak_rss_kb / 1024.0);
}

/* ---- the counters in a checkpoint ---------------------------------------------------------------
 * Every counter that a run accumulates, by name: a new counter is one line in one of these tables (a
 * resumed run that misses one shows in the resume test, which compares stats.json). Timings are carried
 * too, so stage_cpu_seconds stays the sum over the run's processes; wall and CPU time are this process's. */

static const struct {
    const char *name;
    size_t off;
} state_u64[] = {
#define F(x) {#x, offsetof(cp_stats, x)}
    F(files), F(files_failed), F(docs_in), F(docs_kept), F(blank_lines), F(lines_too_long),
    F(bytes_in_compressed), F(bytes_in), F(bytes_out), F(shards), F(text_chars_in), F(text_chars_out),
    F(utf8_fixed), F(controls_removed), F(nfc_changed), F(line_dedup_distinct), F(line_dedup_table_bytes),
#undef F
};

static const struct {
    const char *name;
    size_t off;
} state_counters[] = {
    {"rejected", offsetof(cp_stats, rejected)}, {"langs", offsetof(cp_stats, langs)},
    {"rules", offsetof(cp_stats, rules)}, {"warc_records", offsetof(cp_stats, warc_records)},
};

json_t *cp_stats_state_to_json(const cp_stats *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof state_u64 / sizeof *state_u64; i++)
        json_object_set_new(o, state_u64[i].name,
                            json_integer((json_int_t) * (const uint64_t *)((const char *)s + state_u64[i].off)));
    for (size_t i = 0; i < sizeof state_counters / sizeof *state_counters; i++) {
        const cp_counters *c = (const cp_counters *)((const char *)s + state_counters[i].off);
        json_t *a = json_array();
        for (size_t k = 0; k < c->n; k++) /* in insertion order, which the summary's ties follow */
            json_array_append_new(a, json_pack("[sII]", c->items[k].name, (json_int_t)c->items[k].docs,
                                               (json_int_t)c->items[k].chars));
        json_object_set_new(o, state_counters[i].name, a);
    }
    json_t *t = json_array();
    for (int k = 0; k < CP_T_N; k++)
        json_array_append_new(t, json_real(s->stage_seconds[k]));
    json_object_set_new(o, "stage_seconds", t);
    return o;
}

int cp_stats_state_from_json(cp_stats *s, const json_t *j, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof state_u64 / sizeof *state_u64; i++) {
        json_t *v = json_object_get(j, state_u64[i].name);
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "counter %s missing", state_u64[i].name);
            return -1;
        }
        *(uint64_t *)((char *)s + state_u64[i].off) = (uint64_t)json_integer_value(v);
    }
    for (size_t i = 0; i < sizeof state_counters / sizeof *state_counters; i++) {
        cp_counters *c = (cp_counters *)((char *)s + state_counters[i].off);
        json_t *a = json_object_get(j, state_counters[i].name), *e;
        size_t k;
        if (!json_is_array(a)) {
            snprintf(err, errlen, "counters %s missing", state_counters[i].name);
            return -1;
        }
        cp_counters_free(c);
        json_array_foreach(a, k, e) {
            const char *name;
            json_int_t docs, chars;
            if (json_unpack(e, "[sII]", &name, &docs, &chars)) {
                snprintf(err, errlen, "counters %s damaged", state_counters[i].name);
                return -1;
            }
            cp_counters_add(c, name, (uint64_t)docs, (uint64_t)chars);
        }
    }
    json_t *t = json_object_get(j, "stage_seconds");
    for (int k = 0; k < CP_T_N; k++)
        s->stage_seconds[k] = json_number_value(json_array_get(t, (size_t)k));
    return 0;
}
