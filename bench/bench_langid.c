/* bench_langid: measures the langid stage on labelled gzip'd JSONL ("text", gold "lang"), to choose the default
 * sample size and sampling strategy and to compare the backends: accuracy against gold (micro and macro over
 * the gold languages, and per language), agreement with the answer on the whole text, and document bytes per
 * CPU second on one core, for each backend, sample size and strategy.
 *
 * usage: bench_langid FILE.jsonl.gz [--sizes 256,512,...,0] [--strategies head,skipline,spread] [--repeat 3]
 *                    [--backends cld2,fasttext] [--model lid.176.ftz] [--per-lang] [--dump OUT.tsv]
 *   size 0 means the whole text. Strategies: head = the first N bytes; skipline = the first N bytes after a
 *   first line shorter than 200 bytes (a headline); spread = three windows of N/3 bytes at the start, middle and
 *   end, joined by newlines. --model is the fastText model (needed for backend fasttext). --per-lang prints
 *   each gold language's accuracy per run. --dump writes backend, strategy, size, id, gold, code, score,
 *   reliable for every document of every run. Each backend's header names the gold languages it cannot give. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "corpusprep/langid.h"

typedef struct {
    char *id, *text, gold[16];
    size_t len;
} doc;

enum { HEAD, SKIPLINE, SPREAD };
static const char *const strategy_names[] = {"head", "skipline", "spread"};

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Primary subtag, lower-cased, with the aliases langid_score.py folds. */
static void norm_code(const char *in, char out[16]) {
    size_t n = strcspn(in, "-_");
    if (n > 15)
        n = 15;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[n] = '\0';
    static const char *const alias[][2] = {{"iw", "he"}, {"in", "id"}, {"ji", "yi"}, {"jw", "jv"},
                                           {"no", "nb"}, {"fil", "tl"}, {"nob", "nb"}, {"nno", "nn"}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcmp(out, alias[i][0]) == 0)
            strcpy(out, alias[i][1]);
}

static doc *load(const char *path, size_t *ndocs) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t cap = 1 << 20, n = 0, dcap = 1024;
    char *line = malloc(cap);
    doc *docs = malloc(dcap * sizeof *docs);
    for (;;) {
        size_t len = 0;
        line[0] = '\0';
        while (gzgets(f, line + len, (int)(cap - len))) {
            len += strlen(line + len);
            if (len > 0 && line[len - 1] == '\n')
                break;
            line = realloc(line, cap *= 2);
        }
        if (len == 0)
            break;
        json_error_t err;
        json_t *o = json_loadb(line, len, 0, &err);
        const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
        if (text) {
            if (n == dcap)
                docs = realloc(docs, (dcap *= 2) * sizeof *docs);
            const char *id = json_string_value(json_object_get(o, "id"));
            const char *lang = json_string_value(json_object_get(o, "lang"));
            docs[n].id = strdup(id ? id : "");
            docs[n].len = json_string_length(json_object_get(o, "text"));
            docs[n].text = malloc(docs[n].len + 1);
            memcpy(docs[n].text, text, docs[n].len + 1);
            norm_code(lang ? lang : "", docs[n].gold);
            n++;
        }
        json_decref(o);
    }
    gzclose(f);
    free(line);
    *ndocs = n;
    return docs;
}

/* Byte offset of the first character boundary at or after i. */
static size_t boundary_after(const char *s, size_t len, size_t i) {
    while (i < len && (s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* Runs one strategy/size over all documents; the part the strategy picks is handed to cp_langid_detect, whose
 * own cut (the one the pipeline uses) limits it to size bytes. Time covers picking and detecting. */
static const cp_langid *lid; /* the backend being measured */

static void run_once(doc *docs, size_t n, int strategy, size_t size, cp_lang_result *res, double *cpu) {
    char *scratch = malloc(size + 3);
    double t0 = cpu_seconds();
    for (size_t i = 0; i < n; i++) {
        const char *s = docs[i].text;
        size_t len = docs[i].len;
        if (strategy == SKIPLINE && size > 0) {
            const char *nl = memchr(s, '\n', len < 200 ? len : 200);
            if (nl && (size_t)(nl - s) + 1 < len) {
                len -= (size_t)(nl - s) + 1;
                s = nl + 1;
            }
        }
        if (strategy == SPREAD && size > 0 && len > size) {
            size_t w = size / 3, k = 0;
            size_t starts[3] = {0, len / 2 - w / 2, len - w};
            for (int j = 0; j < 3; j++) {
                size_t a = boundary_after(s, len, starts[j]), b = boundary_after(s, len, starts[j] + w);
                memcpy(scratch + k, s + a, b - a);
                k += b - a;
                if (j < 2)
                    scratch[k++] = '\n';
            }
            cp_langid_run(lid, scratch, k, 0, &res[i]);
            continue;
        }
        cp_langid_run(lid, s, len, size, &res[i]);
    }
    *cpu = cpu_seconds() - t0;
    free(scratch);
}

/* Best of `repeats` runs: other processes on a shared machine only ever add time. */
static int repeats = 3;
static void run(doc *docs, size_t n, int strategy, size_t size, cp_lang_result *res, double *cpu) {
    *cpu = 0;
    for (int r = 0; r < repeats; r++) {
        double t;
        run_once(docs, n, strategy, size, res, &t);
        if (r == 0 || t < *cpu)
            *cpu = t;
    }
}

int main(int argc, char **argv) {
    const char *path = NULL, *sizes_arg = "256,512,1024,2048,4096,8192,0", *strat_arg = "head", *dump = NULL;
    const char *backends_arg = "cld2", *model = NULL;
    int per_lang = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sizes") && i + 1 < argc)
            sizes_arg = argv[++i];
        else if (!strcmp(argv[i], "--strategies") && i + 1 < argc)
            strat_arg = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeats = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump = argv[++i];
        else if (!strcmp(argv[i], "--backends") && i + 1 < argc)
            backends_arg = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--per-lang"))
            per_lang = 1;
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: bench_langid FILE.jsonl.gz [--sizes 256,...,0] [--strategies head,skipline,spread] "
                        "[--repeat 3] [--backends cld2,fasttext] [--model FILE] [--per-lang] [--dump OUT.tsv]\n");
        return 2;
    }
    size_t n;
    doc *docs = load(path, &n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += docs[i].len;
    printf("%s: %zu documents, %.1f MB of text\n", path, n, total / 1e6);

    cp_lang_result *whole = malloc(n * sizeof *whole), *res = malloc(n * sizeof *res);
    double cpu = 0;
    FILE *out = dump ? fopen(dump, "w") : NULL;

    /* Gold languages, for the macro average. */
    char langs[256][16];
    int nlangs = 0;
    size_t *lang_of = malloc(n * sizeof *lang_of);
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < nlangs && strcmp(langs[k], docs[i].gold))
            k++;
        if (k == nlangs && nlangs < 256)
            strcpy(langs[nlangs++], docs[i].gold);
        lang_of[i] = (size_t)k;
    }

    char *backend_list = strdup(backends_arg), *strat_list = NULL;
    for (char *be = strtok(backend_list, ","); be; be = strtok(NULL, ",")) {
        cp_langid_backend backend = !strcmp(be, "fasttext") ? CP_LANGID_FASTTEXT : CP_LANGID_CLD2;
        char err[512];
        cp_langid *handle = cp_langid_open(backend, model, err, sizeof err);
        if (!handle) {
            fprintf(stderr, "bench_langid: %s\n", err);
            return 1;
        }
        lid = handle;
        /* gold languages the backend has no label for (after the scorer's folding: its "no" counts as nb) */
        printf("\nbackend %s%s%s: %d languages; lacks:", be, backend == CP_LANGID_FASTTEXT ? " " : "",
               backend == CP_LANGID_FASTTEXT ? model : "", cp_langid_count(lid));
        for (int k = 0; k < nlangs; k++) {
            int knows = cp_langid_knows(lid, langs[k]);
            static const char *const alias[][2] = {{"he", "iw"}, {"nb", "no"}, {"tl", "fil"}};
            for (size_t j = 0; j < sizeof alias / sizeof alias[0] && !knows; j++)
                knows = !strcmp(langs[k], alias[j][0]) && cp_langid_knows(lid, alias[j][1]);
            if (!knows)
                printf(" %s", langs[k]);
        }
        printf("\n");
        run(docs, n, HEAD, 0, whole, &cpu);
        printf("%-9s %7s %8s %8s %8s %9s %9s\n", "strategy", "sample", "micro", "macro", "agree", "MB/s/core", "und");
        free(strat_list);
        strat_list = strdup(strat_arg);
        char *strat_save = NULL;
        for (char *st = strtok_r(strat_list, ",", &strat_save); st; st = strtok_r(NULL, ",", &strat_save)) {
            int strategy = !strcmp(st, "skipline") ? SKIPLINE : !strcmp(st, "spread") ? SPREAD : HEAD;
            const char *p = sizes_arg;
            while (*p) {
                size_t size = strtoul(p, (char **)&p, 10);
                if (*p == ',')
                    p++;
                if (strategy != HEAD && size == 0)
                    continue;
                run(docs, n, strategy, size, res, &cpu);
                size_t ok = 0, agree = 0, und = 0, per_ok[256] = {0}, per_n[256] = {0};
                for (size_t i = 0; i < n; i++) {
                    char got[16];
                    norm_code(res[i].code, got);
                    int hit = !strcmp(got, docs[i].gold);
                    ok += hit;
                    per_ok[lang_of[i]] += hit;
                    per_n[lang_of[i]]++;
                    agree += !strcmp(res[i].code, whole[i].code);
                    und += !strcmp(res[i].code, "und");
                    if (out)
                        fprintf(out, "%s\t%s\t%zu\t%s\t%s\t%s\t%.4f\t%d\n", be, strategy_names[strategy], size,
                                docs[i].id, docs[i].gold, res[i].code, res[i].score, res[i].reliable);
                }
                double macro = 0;
                for (int k = 0; k < nlangs; k++)
                    macro += (double)per_ok[k] / per_n[k];
                char label[32];
                snprintf(label, sizeof label, size ? "%zu" : "whole", size);
                printf("%-9s %7s %8.4f %8.4f %8.4f %9.1f %9zu\n", strategy_names[strategy], label, (double)ok / n,
                       macro / nlangs, (double)agree / n, total / 1e6 / cpu, und);
                if (per_lang)
                    for (int k = 0; k < nlangs; k++)
                        printf("    %-4s %7.4f  (%zu/%zu)\n", langs[k], (double)per_ok[k] / per_n[k], per_ok[k],
                               per_n[k]);
                fflush(stdout);
            }
        }
        cp_langid_close(handle);
    }
    free(backend_list);
    if (out)
        fclose(out);
    for (size_t i = 0; i < n; i++) {
        free(docs[i].id);
        free(docs[i].text);
    }
    free(docs);
    free(whole);
    free(res);
    free(lang_of);
    free(strat_list);
    return 0;
}
