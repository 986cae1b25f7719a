/* Fuzz harness for the dedup keys: exact-dedup normalisation and hash, URL hash, line keys, MinHash band
 * keys, the LSH index and the key map. The input (repaired to valid UTF-8, as the pipeline's texts are)
 * is keyed several times and every answer must be the same:
 *   - at offsets 1, 4 and 7 inside a buffer with garbage after the text (and once in a buffer of exactly
 *     its size, so that ASan catches any read past the end);
 *   - line by line: each line's key from the whole text equals the key of that line alone (a line's key
 *     cannot depend on the chunk it came in);
 *   - from a fresh scratch and from one reused after another text;
 *   - normalising the normalised text changes nothing (dedup.h: texts that differ only in case, digits,
 *     punctuation or spacing normalise to the same bytes), and the text hash is XXH3-64 of that form;
 * and the LSH index and key map answer as a plain list would. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/dedup.h"
#include "corpusprep/minhash.h"
#include "corpusprep/normalize.h"
#include "fuzz_common.h"

#define N_MH 4
static cp_minhash *mh[N_MH];
static cp_cleaner *cleaner;

static void free_all(void)
{
    for (int i = 0; i < N_MH; i++)
        cp_minhash_destroy(mh[i]);
    cp_cleaner_destroy(cleaner);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    static const struct {
        cp_shingle_mode mode;
        int ngram, bands, rows;
    } ps[N_MH] = {{CP_SHINGLE_AUTO, 5, 14, 8}, {CP_SHINGLE_WORDS, 1, 3, 2}, {CP_SHINGLE_CHARS, 3, 9, 1},
                  {CP_SHINGLE_CHARS, 64, 1, 5}};
    for (int i = 0; i < N_MH; i++) {
        cp_minhash_params p;
        cp_minhash_params_default(&p);
        p.mode = ps[i].mode;
        p.ngram = p.char_ngram = ps[i].ngram;
        p.bands = ps[i].bands;
        p.rows = ps[i].rows;
        p.seed = 1 + (uint64_t)i;
        if (!(mh[i] = cp_minhash_create(&p, err, sizeof err)))
            fz_fail("minhash: %s", err);
    }
    json_t *tree = cp_config_defaults(err, sizeof err);
    if (!tree || !(cleaner = cp_cleaner_create(json_object_get(tree, "clean"), err, sizeof err)))
        fz_fail("cleaner: %s", err);
    json_decref(tree);
    atexit(free_all);
    return 0;
}

typedef struct {
    uint64_t text_hash;
    int url_rc;
    uint64_t url_hash;
    uint64_t bands[N_MH][14];
    int shingles[N_MH];
    char *norm;
    size_t norm_len;
} keys_t;

static void keys_of(const char *t, size_t n, keys_t *k, cp_minhash_scratch *ms)
{
    cp_buf a = {0}, b = {0};
    memset(k, 0, sizeof *k);
    k->text_hash = cp_dedup_text_hash(t, n, &a);
    cp_dedup_normalize(t, n, &b);
    k->norm = cp_xstrndup(b.data ? b.data : "", b.len);
    k->norm_len = b.len;
    k->url_rc = cp_url_hash(t, n, &k->url_hash, &a);
    for (int i = 0; i < N_MH; i++)
        k->shingles[i] = cp_minhash_bands(mh[i], ms, k->norm, k->norm_len, k->bands[i]);
    cp_buf_free(&a);
    cp_buf_free(&b);
}

static void same_keys(const keys_t *x, const keys_t *y, const char *how)
{
    if (x->text_hash != y->text_hash || x->norm_len != y->norm_len || memcmp(x->norm, y->norm, x->norm_len))
        fz_fail("text key differs %s", how);
    if (x->url_rc != y->url_rc || (x->url_rc == 0 && x->url_hash != y->url_hash))
        fz_fail("URL key differs %s", how);
    for (int i = 0; i < N_MH; i++)
        if (x->shingles[i] != y->shingles[i] ||
            memcmp(x->bands[i], y->bands[i], (size_t)cp_minhash_bands_count(mh[i]) * sizeof(uint64_t)))
            fz_fail("MinHash keys (set %d) differ %s", i, how);
}

static void check_lsh(const keys_t *k)
{
    /* the same document twice: the second is a near duplicate of the first (seq 0) */
    for (int compact = 0; compact < 2; compact++) {
        int nb = cp_minhash_bands_count(mh[0]);
        cp_lsh *l = compact ? cp_lsh_create_compact(nb, 4) : cp_lsh_create(nb, 4);
        if (cp_lsh_check_insert(l, 0, k->bands[0]) != CP_LSH_NONE)
            fz_fail("LSH: the first document matched an empty index");
        uint64_t m = cp_lsh_check_insert(l, 1, k->bands[0]);
        if (m != (compact ? CP_LSH_MATCH : 0))
            fz_fail("LSH: a copy of document 0 gave %llu", (unsigned long long)m);
        cp_lsh_destroy(l);
    }
}

/* Every 8 bytes of the text as a key: the map must say "seen" exactly for repeats, with the first value. */
static void check_keymap(const char *t, size_t n)
{
    size_t nk = n / 8 > 1024 ? 1024 : n / 8; /* the reference below is quadratic */
    uint64_t *keys = malloc((nk + 1) * sizeof *keys);
    cp_keymap *m = cp_keymap_create(1);
    for (size_t i = 0; i < nk; i++) {
        memcpy(&keys[i], t + 8 * i, 8);
        keys[i] &= 0xFFFF00000000FFFFull; /* repeats are likely */
        size_t first = i;
        for (size_t j = 0; j < i; j++)
            if (keys[j] == keys[i]) {
                first = j;
                break;
            }
        uint64_t got = UINT64_MAX;
        int seen = cp_keymap_check_insert(m, keys[i], i, &got);
        if (seen != (first < i) || (seen && got != first))
            fz_fail("keymap: key %zu seen=%d first=%llu, expected seen=%d first=%zu", i, seen,
                    (unsigned long long)got, first < i, first);
    }
    cp_keymap_destroy(m);
    free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0; /* the checks are quadratic in places; big texts belong in bench/ */
    size_t n;
    char *t = fz_utf8_repair(data, size, &n);
    cp_minhash_scratch *ms = cp_minhash_scratch_create();
    keys_t ref, k;
    keys_of(t, n, &ref, ms);

    char *exact = malloc(n ? n : 1);
    memcpy(exact, t, n);
    keys_of(exact, n, &k, ms);
    same_keys(&ref, &k, "in an exact-size buffer");
    free(k.norm);
    free(exact);
    char *big = malloc(n + 32);
    for (size_t off = 1; off < 8; off += 3) { /* 1, 4, 7: odd, 4- and 8-byte-unaligned SWAR loads */
        memset(big, 0xA5 ^ (int)off, n + 32);
        memcpy(big + off, t, n);
        keys_of(big + off, n, &k, ms);
        same_keys(&ref, &k, "at another alignment");
        free(k.norm);
    }
    free(big);
    cp_minhash_scratch *fresh = cp_minhash_scratch_create();
    keys_of(t, n, &k, fresh);
    same_keys(&ref, &k, "with a fresh scratch");
    free(k.norm);
    cp_minhash_scratch_destroy(fresh);

    if (!fz_utf8_valid(ref.norm, ref.norm_len))
        fz_fail("the normalised text is not valid UTF-8");
    if (ref.norm_len && (ref.norm[0] == ' ' || ref.norm[ref.norm_len - 1] == ' ' || strstr(ref.norm, "  ")))
        fz_fail("the normalised text has a leading, trailing or double space");
    if (ref.text_hash != XXH3_64bits(ref.norm, ref.norm_len))
        fz_fail("the text hash is not XXH3-64 of the normalised text");
    keys_of(ref.norm, ref.norm_len, &k, ms);
    if (k.norm_len != ref.norm_len || memcmp(k.norm, ref.norm, ref.norm_len))
        fz_fail("normalising the normalised text changes it");
    free(k.norm);

    /* line keys over the normalised document text (what the pipeline hashes), whole and line by line */
    cp_buf norm = {0}, tmp = {0};
    cp_norm_counts nc = {0};
    cp_normalize_text(t, n, &norm, &tmp, &nc);
    cp_clean_scratch *cs = cp_clean_scratch_create();
    cp_line_hashes all = {0}, one = {0};
    cp_clean_hash_lines(cleaner, norm.data ? norm.data : "", norm.len, cs, &all);
    size_t li = 0;
    for (size_t p = 0; p <= norm.len;) {
        const char *nl = norm.len > p ? memchr(norm.data + p, '\n', norm.len - p) : NULL;
        size_t e = nl ? (size_t)(nl - norm.data) : norm.len;
        char *line = malloc(e - p + 1);
        memcpy(line, norm.data + p, e - p);
        cp_clean_hash_lines(cleaner, line, e - p, cs, &one);
        free(line);
        if (one.n > 1)
            fz_fail("one line gave %zu line keys", one.n);
        if (one.n) {
            if (li >= all.n || all.v[li].start != p || all.v[li].len != e - p || all.v[li].hash != one.v[0].hash)
                fz_fail("line at byte %zu: its key alone differs from its key in the document", p);
            li++;
        }
        p = e + 1;
    }
    if (li != all.n)
        fz_fail("the document has %zu line keys, its lines alone %zu", all.n, li);
    cp_line_hashes_free(&all);
    cp_line_hashes_free(&one);
    cp_clean_scratch_destroy(cs);
    cp_buf_free(&norm);
    cp_buf_free(&tmp);

    check_lsh(&ref);
    check_keymap(t, n);
    free(ref.norm);
    cp_minhash_scratch_destroy(ms);
    free(t);
    return 0;
}
