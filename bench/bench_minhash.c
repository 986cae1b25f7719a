/* bench_minhash: the near-duplicate stage alone. Prints (1) signature + band-key throughput in MB/s per core
 * on real news text (masakhanews texts, dedup-normalised as the pipeline does; generated text when the file
 * is absent), (2) LSH index memory per document and insert cost on >= 1 M generated documents (random band
 * keys), grown from empty and presized, and (3) the theoretical recall curve 1-(1-s^r)^b.
 * Usage: bench_minhash [DATA.jsonl.gz] [LSH_DOCS]   (defaults: $CP_SHARED/data/masakhanews.jsonl.gz, 2000000) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "corpusprep/dedup.h"
#include "corpusprep/minhash.h"
#include "corpusprep/util.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    char **text;
    size_t *len;
    size_t n, cap, raw_bytes, norm_bytes;
} corpus;

static void corpus_add(corpus *c, const char *raw, size_t rawlen, cp_buf *tmp)
{
    tmp->len = 0;
    cp_dedup_normalize(raw, rawlen, tmp);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->text = cp_xrealloc(c->text, c->cap * sizeof(char *));
        c->len = cp_xrealloc(c->len, c->cap * sizeof(size_t));
    }
    c->text[c->n] = cp_xstrndup(tmp->data ? tmp->data : "", tmp->len);
    c->len[c->n] = tmp->len;
    c->n++;
    c->raw_bytes += rawlen;
    c->norm_bytes += tmp->len;
}

static int load_jsonl_gz(const char *path, corpus *c)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return -1;
    cp_buf line = {0}, tmp = {0};
    char chunk[1 << 16];
    for (;;) {
        if (!gzgets(f, chunk, sizeof chunk))
            break;
        cp_buf_puts(&line, chunk);
        if (line.len == 0 || line.data[line.len - 1] != '\n')
            continue;
        json_error_t e;
        json_t *o = json_loadb(line.data, line.len, 0, &e);
        json_t *t = o ? json_object_get(o, "text") : NULL;
        if (json_is_string(t))
            corpus_add(c, json_string_value(t), json_string_length(t), &tmp);
        json_decref(o);
        line.len = 0;
    }
    gzclose(f);
    cp_buf_free(&line);
    cp_buf_free(&tmp);
    return c->n ? 0 : -1;
}

static void generate(corpus *c)
{
    uint64_t st = 1;
    cp_buf doc = {0}, tmp = {0};
    for (int d = 0; d < 20000; d++) {
        doc.len = 0;
        int words = 100 + (int)(rng_next(&st) % 800);
        for (int w = 0; w < words; w++) {
            int len = 2 + (int)(rng_next(&st) % 9);
            for (int k = 0; k < len; k++)
                cp_buf_putc(&doc, (char)('a' + rng_next(&st) % 26));
            cp_buf_putc(&doc, w % 15 == 14 ? '.' : ' ');
        }
        corpus_add(c, doc.data, doc.len, &tmp);
    }
    cp_buf_free(&doc);
    cp_buf_free(&tmp);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void bench_signatures(const char *path)
{
    corpus c = {0};
    const char *source = path;
    if (load_jsonl_gz(path, &c) != 0) {
        generate(&c);
        source = "generated text (data file absent)";
    }
    cp_minhash_params p;
    cp_minhash_params_default(&p);
    char err[200];
    cp_minhash *mh = cp_minhash_create(&p, err, sizeof err);
    cp_minhash_scratch *s = cp_minhash_scratch_create();
    uint64_t keys[64], sink = 0;
    size_t chars_docs = 0;
    for (size_t i = 0; i < c.n; i++)
        chars_docs += (size_t)cp_minhash_uses_chars(mh, c.text[i], c.len[i]);
    /* repeat the corpus until at least 200 MB of raw text and 2 CPU seconds have gone through */
    double t0 = cpu_now(), t;
    size_t raw = 0, norm = 0, docs = 0, shingles = 0;
    do {
        for (size_t i = 0; i < c.n; i++) {
            shingles += (size_t)cp_minhash_bands(mh, s, c.text[i], c.len[i], keys);
            sink += keys[i % 14];
        }
        raw += c.raw_bytes, norm += c.norm_bytes, docs += c.n;
        t = cpu_now() - t0;
    } while (raw < 200u << 20 || t < 2.0);
    printf("signature stage (normalised text -> %d band keys, %dx%d values, word %d-grams), 1 thread\n", p.bands,
           p.bands, p.rows, p.ngram);
    printf("  input: %s: %zu docs, %.1f MB raw text, %.1f MB normalised, %zu docs in character mode\n", source,
           c.n, c.raw_bytes / 1e6, c.norm_bytes / 1e6, chars_docs);
    printf("  %.1f MB/s per core of raw text (%.1f MB/s of normalised text), %.0f docs/s, %.0f ns per shingle"
           "  [%.2f CPU s, %zu docs; checksum %016llx]\n",
           raw / 1e6 / t, norm / 1e6 / t, docs / t, t * 1e9 / (double)shingles, t, docs,
           (unsigned long long)sink);
    for (size_t i = 0; i < c.n; i++)
        free(c.text[i]);
    free(c.text);
    free(c.len);
    cp_minhash_scratch_destroy(s);
    cp_minhash_destroy(mh);
}

static void bench_lsh(uint64_t n, uint64_t expected, int compact, const char *label)
{
    cp_lsh *l = compact ? cp_lsh_create_compact(14, expected) : cp_lsh_create(14, expected);
    uint64_t st = 99, k[14];
    uint64_t step = n / 20;
    double lo = 1e9, hi = 0, t0 = cpu_now();
    uint64_t dups = 0;
    for (uint64_t i = 0; i < n; i++) {
        for (int b = 0; b < 14; b++)
            k[b] = rng_next(&st);
        dups += cp_lsh_check_insert(l, i, k) != CP_LSH_NONE;
        if ((i + 1) % step == 0 && i + 1 >= n / 2) {
            double per = (double)cp_lsh_bytes(l) / (double)(i + 1);
            lo = per < lo ? per : lo;
            hi = per > hi ? per : hi;
        }
    }
    double t = cpu_now() - t0;
    printf("  %-26s %6.1f bytes/doc at %llu docs", label, (double)cp_lsh_bytes(l) / (double)n,
           (unsigned long long)n);
    if (!expected)
        printf(" (%.1f..%.1f over the second half)", lo, hi);
    printf(", %.0f ns/doc, %llu false matches (%.1e/doc), peak RSS so far %ld MB\n", t * 1e9 / (double)n,
           (unsigned long long)dups, (double)dups / (double)n, peak_rss_kb() / 1024);
    cp_lsh_destroy(l);
}

int main(int argc, char **argv)
{
    const char *shared = getenv("CP_SHARED") ? getenv("CP_SHARED") : "../shared";
    char def[4096];
    snprintf(def, sizeof def, "%s/data/masakhanews.jsonl.gz", shared);
    const char *path = argc > 1 ? argv[1] : def;
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
    if (n < 20)
        n = 20;
    json_object_seed(1);
    bench_signatures(path);

    printf("LSH index, 14 bands, random band keys (every document unique: the worst case for memory)\n");
    bench_lsh(n, 0, 0, "grown from empty:");
    bench_lsh(n, n, 0, "presized (expected = n):");
    bench_lsh(n, 0, 1, "no dup_of, grown:");
    bench_lsh(n, n, 1, "no dup_of, presized:");
    printf("  bound used for the RAM warning: cp_lsh_bytes_per_doc_estimate(14) = %.1f bytes/doc\n",
           cp_lsh_bytes_per_doc_estimate(14));

    printf("recall theory P(s) = 1-(1-s^8)^14 for 5-gram Jaccard s\n ");
    for (int i = 0; i <= 10; i++)
        printf(" %5.2f", 0.5 + 0.05 * i);
    printf("\n ");
    for (int i = 0; i <= 10; i++)
        printf(" %5.3f", cp_minhash_collision_probability(14, 8, 0.5 + 0.05 * i));
    printf("\n");
    return 0;
}
