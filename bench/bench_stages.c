/* Stage micro-benchmark: each stage of corpusprep alone, on one core, over the documents of a JSONL file,
 * in MB/s of input per CPU second (thread CPU time). Also jansson's own json_loadb/json_dumps, and the
 * output compressors at several levels: the figures behind the default choices (langid sample size,
 * gzip level 1). Usage: bench_stages FILE.jsonl[.gz|.zst] [max_docs] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/dedup.h"
#include "corpusprep/doc.h"
#include "corpusprep/filter.h"
#include "corpusprep/langid.h"
#include "corpusprep/minhash.h"
#include "corpusprep/normalize.h"
#include "corpusprep/parse.h"
#include "corpusprep/reader.h"
#include "corpusprep/writer.h"

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double row(const char *name, double bytes, double secs, const char *note)
{
    double mbs = secs > 0 ? bytes / 1e6 / secs : 0;
    printf("%-34s %9.1f MB/s per core  (%6.3f s for %.1f MB)%s%s\n", name, secs > 0 ? bytes / 1e6 / secs : 0, secs,
           bytes / 1e6, note ? "  " : "", note ? note : "");
    return mbs;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_stages FILE.jsonl[.gz] [max_docs]\n");
        return 2;
    }
    size_t max_docs = argc > 2 ? (size_t)atol(argv[2]) : 20000;
    char err[1024];
    cp_reader *rd = cp_reader_open(argv[1], 256u << 20, err, sizeof err);
    if (!rd) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* load lines */
    char **lines = NULL;
    size_t *lens = NULL, n = 0, cap = 0;
    double line_bytes = 0;
    const char *l;
    size_t len;
    uint64_t no;
    while (n < max_docs && cp_reader_getline(rd, &l, &len, &no) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            lines = realloc(lines, cap * sizeof *lines);
            lens = realloc(lens, cap * sizeof *lens);
        }
        lines[n] = malloc(len + 1);
        memcpy(lines[n], l, len);
        lens[n++] = len;
        line_bytes += (double)len + 1;
    }
    cp_reader_close(rd);
    printf("%zu documents, %.1f MB of JSONL from %s\n", n, line_bytes / 1e6, argv[1]);

    double t = cpu();
    for (size_t i = 0; i < n; i++)
        json_decref(json_loadb(lines[i], lens[i], JSON_ALLOW_NUL, NULL));
    row("jansson json_loadb", line_bytes, cpu() - t, NULL);
    t = cpu();
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loadb(lines[i], lens[i], JSON_ALLOW_NUL, NULL);
        free(json_dumps(j, JSON_COMPACT));
        json_decref(j);
    }
    row("jansson json_loadb + json_dumps", line_bytes, cpu() - t, NULL);

    char *fields[] = {"text", "maintext", "content", "body"};
    cp_doc *docs = calloc(n, sizeof *docs);
    t = cpu();
    for (size_t i = 0; i < n; i++) {
        docs[i].raw = lines[i];
        docs[i].raw_len = lens[i];
        docs[i].line = i + 1;
        cp_parse_doc(&docs[i], fields, 4, argv[1]);
    }
    double parse_mbs = row("parse (json_scan)", line_bytes, cpu() - t, NULL);
    double clean_mbs = 0, filter_mbs = 0, minhash_mbs = 0;

    double text_bytes = 0;
    cp_buf a = {0}, b = {0}, c = {0};
    cp_norm_counts nc = {0};
    t = cpu();
    for (size_t i = 0; i < n; i++) {
        if (!docs[i].text)
            continue;
        text_bytes += (double)docs[i].text_len;
        a.len = 0;
        cp_normalize_text(docs[i].text, docs[i].text_len, &a, &b, &nc);
        free(docs[i].text);
        docs[i].text = cp_xstrndup(a.data, a.len);
        docs[i].text_len = a.len;
    }
    double norm_s = cpu() - t;
    printf("(text: %.1f MB, %.0f%% of the JSONL bytes; the rows below are MB of text)\n", text_bytes / 1e6,
           100 * text_bytes / line_bytes);
    row("normalize", text_bytes, norm_s, NULL);

    json_t *defaults = cp_config_defaults(err, sizeof err);
    cp_cleaner *cl = defaults ? cp_cleaner_create(json_object_get(defaults, "clean"), err, sizeof err) : NULL;
    cp_filter *fl = defaults ? cp_filter_create(json_object_get(defaults, "filter"), err, sizeof err) : NULL;
    if (cl) {
        cp_clean_scratch *cs = cp_clean_scratch_create();
        cp_clean_stats st;
        t = cpu();
        for (size_t i = 0; i < n; i++)
            if (docs[i].text)
                cp_clean_doc(cl, docs[i].text, docs[i].text_len, cs, &a, &st);
        clean_mbs = row("clean (news preset)", text_bytes, cpu() - t, NULL);
        cp_clean_scratch_destroy(cs);
    }
    static const size_t samples[] = {256, 512, 1024, 2048, 0};
    for (int k = 0; k < 5; k++) {
        cp_lang_result lr;
        t = cpu();
        for (size_t i = 0; i < n; i++)
            if (docs[i].text)
                cp_langid_detect(docs[i].text, docs[i].text_len, samples[k], &lr);
        char name[64];
        snprintf(name, sizeof name, "langid, sample %zu bytes%s", samples[k], samples[k] ? "" : " (all)");
        row(samples[k] ? name : "langid, whole text", text_bytes, cpu() - t,
            samples[k] == 512 ? "<- default" : NULL);
        if (samples[k] == 512)
            for (size_t i = 0; i < n; i++)
                if (docs[i].text)
                    cp_langid_detect(docs[i].text, docs[i].text_len, 512, &docs[i].lang);
    }
    if (fl) {
        cp_filter_scratch *fs = cp_filter_scratch_create();
        t = cpu();
        for (size_t i = 0; i < n; i++)
            if (docs[i].text)
                cp_filter_doc(fl, docs[i].text, docs[i].text_len, docs[i].lang.code, fs);
        filter_mbs = row("filter (news preset)", text_bytes, cpu() - t, NULL);
        cp_filter_scratch_destroy(fs);
    }
    t = cpu();
    for (size_t i = 0; i < n; i++)
        if (docs[i].text)
            docs[i].h_exact = cp_dedup_text_hash(docs[i].text, docs[i].text_len, &c);
    row("dedup key (normalise + XXH3)", text_bytes, cpu() - t, NULL);
    cp_minhash_params mp;
    cp_minhash_params_default(&mp);
    cp_minhash *mh = cp_minhash_create(&mp, err, sizeof err);
    cp_minhash_scratch *ms = cp_minhash_scratch_create();
    uint64_t bands[64];
    double mh_s = 0;
    for (size_t i = 0; i < n; i++)
        if (docs[i].text) {
            c.len = 0;
            cp_dedup_normalize(docs[i].text, docs[i].text_len, &c);
            t = cpu();
            cp_minhash_bands(mh, ms, c.data, c.len, bands);
            mh_s += cpu() - t;
        }
    minhash_mbs = row("minhash 14x8 bands (given norm. text)", text_bytes, mh_s, NULL);

    /* output: emit, then compress the emitted lines in 1 MiB chunks as the pipeline does */
    cp_buf out = {0};
    t = cpu();
    for (size_t i = 0; i < n; i++)
        if (docs[i].object) {
            docs[i].has_lang = 1;
            cp_emit_doc(&docs[i], argv[1], NULL, 0, &out);
        }
    row("emit (output JSON lines)", (double)out.len, cpu() - t, "(MB of output)");
    static const struct {
        int kind, level;
        const char *name;
    } comp[] = {{CP_COMPRESS_GZIP, 1, "gzip level 1 (default)"}, {CP_COMPRESS_GZIP, 3, "gzip level 3"},
                {CP_COMPRESS_GZIP, 6, "gzip level 6"}, {CP_COMPRESS_ZSTD, 1, "zstd level 1"},
                {CP_COMPRESS_ZSTD, 3, "zstd level 3"}};
    for (int k = 0; k < 5; k++) {
        cp_compressor *cz = cp_compressor_create(comp[k].kind, comp[k].level);
        cp_buf z = {0};
        t = cpu();
        for (size_t off = 0; off < out.len; off += 1u << 20) {
            size_t m = out.len - off < (1u << 20) ? out.len - off : (1u << 20);
            cp_compress(cz, out.data + off, m, &z);
        }
        char note[64];
        snprintf(note, sizeof note, "(MB of output; ratio %.2f)", out.len / (double)(z.len ? z.len : 1));
        row(comp[k].name, (double)out.len, cpu() - t, note);
        cp_buf_free(&z);
        cp_compressor_destroy(cz);
    }
    /* The four figures issue 9 sets targets for, on one line (parse per MB of JSONL, the rest per MB of
     * text); one run over a ~16 MB slice moves by several per cent, so compare medians of a few runs. */
    printf("stages, MB/s per core: parse %.1f | clean %.1f | filter %.1f | minhash %.1f  "
           "(targets 800 / 450 / 400 / 400)\n",
           parse_mbs, clean_mbs, filter_mbs, minhash_mbs);
    for (size_t i = 0; i < n; i++) {
        cp_doc_release(&docs[i]);
        free(lines[i]);
    }
    free(docs);
    free(lines);
    free(lens);
    cp_buf_free(&a);
    cp_buf_free(&b);
    cp_buf_free(&c);
    cp_buf_free(&out);
    cp_minhash_scratch_destroy(ms);
    cp_minhash_destroy(mh);
    cp_cleaner_destroy(cl);
    cp_filter_destroy(fl);
    json_decref(defaults);
    return 0;
}
