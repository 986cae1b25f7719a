/* Cluster mode: one corpusprep run across MPI ranks, with global, deterministic dedup. Only corpusprep-mpi
 * links this file (make MPI=1); every MPI call of the project is in the src/mpi_*.c files: here, mpi_exchange.c
 * (the all-to-all rounds), mpi_plan.c (who reads what), mpi_progress.c (the job log) and mpi_stats.c (the merged
 * stats.json), and only MPI-3 calls with int counts.
 *
 * Design. Every dedup decision of the pipeline is "does an earlier document (in global input order, position
 * = CP_POS(global file index, line)) that reached the dedup step carry this key?". So the input files are
 * split among the ranks (by size, deterministically), and each rank runs the ordinary pipeline over its
 * files in two passes with cluster hooks (pipeline.h), reading its input once:
 *
 *   1 COLLECT_DOCS   P1 (parse, normalise, clean, line hashes, document keys, MinHash) as always; every
 *                    batch then goes, as P1 left it, to the rank's spill on scratch (spill.c, zstd), and
 *                    every document key (exact, URL, LSH band) and every line key with its position to a
 *                    per-owner list; each key is owned by one rank (hash range). Owners get the document
 *                    keys (MPI_Alltoallv), compute the smallest position per key and answer every pair with
 *                    it. From the answers each rank knows, for its own documents, which are duplicates and of
 *                    which position (exact before URL before near, as decide_doc orders them). The ids of
 *                    those first documents (for "dup_of") are asked of the ranks that read them. Duplicates
 *                    take no part in line dedup, so each rank then drops its duplicates' line keys and sends
 *                    the rest to their owners, which answer each with one byte: the line goes (mode "first":
 *                    an earlier position has it; mode "all": at least min_docs documents have it).
 *   2 DECIDE         the pipeline reads the spill instead of the input, takes every decision from the two
 *                    tables, then does what depends on them (line removal, langid, filters, output) and writes
 *                    part-<rank>-<seq>.
 *
 * Between the phases a rank keeps its duplicates (pos, first, kind), the (pos, line) pairs that go, and the
 * ids that dup_of needs. The key lists (16 bytes per key; the line keys of all its documents are the largest)
 * live from the collect pass to their exchange, the owners' tables only during an exchange. Exchanges go in
 * rounds of at most round_bytes per rank (env CORPUSPREP_MPI_ROUND_BYTES, default 64 MiB), which keeps every
 * MPI count and displacement an int whatever the corpus size. Waits are non-blocking collectives tested with
 * sleeps (mpi_exchange.c), so that a rank that waits does not take a core from one that works.
 *
 * Resume. With checkpoints on, rank 0 marks OUTDIR/_checkpoint when the job starts, and after the exchange
 * every rank saves its decisions beside its spill (rank_state.c, cluster_files.c) before any rank writes
 * output. Those are the job's checkpoint: --resume with every rank's state and a sound spill skips pass 1
 * and the exchange and writes the output again from the spill; otherwise it runs pass 1 again.
 *
 * The answer equals the single-process run's because both compute the same function of (key, position): the
 * set of documents reaching the dedup step does not depend on other documents, and positions increase in
 * input order. One known difference: the single-process LSH index keeps 24-bit fingerprints (a false match
 * about once per million documents, see minhash.c); owners here compare full 64-bit band keys.
 *
 * Threads: MPI is called from the main thread only, between pipeline runs (MPI_THREAD_FUNNELED); OpenMP
 * works inside each run as usual.
 */
#include "corpusprep/mpi_cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "corpusprep/checkpoint.h"
#include "corpusprep/clean.h"
#include "corpusprep/cluster_files.h"
#include "corpusprep/mpi_plan.h"
#include "corpusprep/mpi_progress.h"
#include "corpusprep/mpi_stats.h"
#include "corpusprep/dedup.h"
#include "corpusprep/mpi_exchange.h"
#include "corpusprep/progress.h"
#include "corpusprep/rank_state.h"
#include "corpusprep/report.h"
#include "corpusprep/spill.h"
#include "corpusprep/split.h"
#include "corpusprep/util.h"
#include "corpusprep/writer.h"

#define ROUND_BYTES_DEFAULT ((size_t)64 << 20)

static void note_peak(size_t *peak, size_t bytes)
{
    if (bytes > *peak)
        *peak = bytes;
}

/* ---- key lists, one per owner ------------------------------------------------------------------------- */

typedef struct {
    uint64_t key, pos;
} kp_t;

typedef struct {
    kp_t *v;
    size_t n, cap;
} kpv_t;

static void kpv_push(kpv_t *a, uint64_t key, uint64_t pos)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = cp_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = (kp_t){key, pos};
}

static void kpv_free_all(kpv_t *parts, int K)
{
    if (!parts)
        return;
    for (int p = 0; p < K; p++)
        free(parts[p].v);
    free(parts);
}

static size_t kpv_bytes(const kpv_t *parts, int K)
{
    size_t b = 0;
    for (int p = 0; p < K; p++)
        b += parts[p].cap * sizeof(kp_t);
    return b;
}

static uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The rank that owns key: its (mixed) hash range. */
static int owner_of(uint64_t key, int size)
{
    return (int)(((mix64(key) >> 32) * (uint64_t)size) >> 32);
}

/* ---- the cluster run's state ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t pos, first;
    int kind;
} dec_t;      /* a duplicate among this rank's documents: CP_KEY_* that decided it, first position */

typedef struct {
    uint64_t pos, off;
} idref_t;    /* position -> id: offset in a text buffer that holds the ids in position order, each followed by
                 a NUL (an id may hold NUL bytes itself: the next one's offset tells where it ends) */

typedef struct {
    cp_net net;
    int line_mode;
    unsigned line_min_docs;
    kpv_t *out[4];            /* collect phases: per CP_KEY_* kind, per owner rank */
    /* ids of this rank's documents that reached the dedup step (phase 1 only) */
    idref_t *own;
    size_t n_own, cap_own;
    cp_buf own_text;
    /* decisions */
    dec_t *dec;
    size_t n_dec;
    kp_t *gone;               /* (pos, line hash) pairs removed by line dedup, sorted */
    size_t n_gone;
    idref_t *ids;             /* dup_of: first position -> id, sorted */
    size_t n_ids;
    cp_buf id_text;
    /* figures */
    uint64_t distinct[4];     /* keys owned here, per kind */
    size_t table_peak;        /* largest owner table */
    size_t line_table;        /* the owner's line table */
    size_t line_keys;         /* this rank's line key lists after the collect pass */
    size_t buffer_peak;       /* largest key lists + exchange buffers at once */
    uint64_t near_hist[13];
    double pass_seconds[3];   /* this rank's own time in each pipeline pass (CP_PHASE_*), before waiting for others */
    double pass_cpu[3];       /* and the CPU time (all its threads) it took */
    cp_mpi_progress *prog; /* the job's progress lines */
    /* one read: the collect pass's batches on scratch */
    cp_spill_writer *spill_w;
    cp_spill_reader *spill_r;
    uint64_t spill_bytes;
    double spill_write_cpu, spill_read_cpu; /* CPU seconds of this thread in the spill's writer and reader */
} cl_t;

static int cl_spill(void *ctx, const cp_batch *b, char *err, size_t errlen)
{
    cl_t *c = ctx;
    double t0 = cp_thread_cpu();
    int rc = cp_spill_put(c->spill_w, b, err, errlen);
    c->spill_write_cpu += cp_thread_cpu() - t0;
    return rc;
}

static int cl_next_batch(void *ctx, cp_batch **b, char *err, size_t errlen)
{
    cl_t *c = ctx;
    cp_test_kill_point("spill-batch"); /* tests: a job killed in its deciding pass (checkpoint.h) */
    double t0 = cp_thread_cpu();
    int rc = cp_spill_next(c->spill_r, b, err, errlen);
    c->spill_read_cpu += cp_thread_cpu() - t0;
    return rc;
}

static void cl_collect(void *ctx, int kind, uint64_t key, uint64_t pos)
{
    cl_t *c = ctx;
    if (kind == CP_KEY_LINE && c->line_mode == CP_LINE_DEDUP_OFF)
        return;
    kpv_push(&c->out[kind][owner_of(key, c->net.size)], key, pos);
}

static void cl_collect_id(void *ctx, uint64_t pos, const char *id, size_t len)
{
    cl_t *c = ctx;
    if (c->n_own == c->cap_own) {
        c->cap_own = c->cap_own ? c->cap_own * 2 : 4096;
        c->own = cp_xrealloc(c->own, c->cap_own * sizeof *c->own);
    }
    c->own[c->n_own++] = (idref_t){pos, c->own_text.len};
    cp_buf_append(&c->own_text, id, len + 1);
}

static int cmp_dec(const void *a, const void *b)
{
    const dec_t *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_kp(const void *a, const void *b)
{
    const kp_t *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int cmp_idref(const void *a, const void *b)
{
    const idref_t *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cl_first(void *ctx, int kind, uint64_t key, uint64_t pos, uint64_t *first)
{
    cl_t *c = ctx;
    if (kind == CP_KEY_LINE) {
        kp_t k = {key, pos};
        return c->n_gone && bsearch(&k, c->gone, c->n_gone, sizeof k, cmp_kp);
    }
    dec_t k = {pos, 0, 0};
    const dec_t *d = c->n_dec ? bsearch(&k, c->dec, c->n_dec, sizeof k, cmp_dec) : NULL;
    if (!d || d->kind != kind)
        return 0;
    *first = d->first;
    return 1;
}

/* The id at pos in a list of n sorted by position over text (see idref_t), and *len; or NULL. */
static const char *find_id(const idref_t *v, size_t n, const cp_buf *text, uint64_t pos, size_t *len)
{
    idref_t k = {pos, 0};
    const idref_t *r = n ? bsearch(&k, v, n, sizeof k, cmp_idref) : NULL;
    if (!r)
        return NULL;
    *len = (r + 1 < v + n ? r[1].off : text->len) - r->off - 1;
    return text->data + r->off;
}

static const char *cl_id_of(void *ctx, uint64_t pos, size_t *len)
{
    cl_t *c = ctx;
    return find_id(c->ids, c->n_ids, &c->id_text, pos, len);
}

/* ---- owners ---------------------------------------------------------------------------------------------- */

enum { ASK_FIRST, ASK_LINE_FIRST, ASK_LINE_COUNT };

/* Sends every (key, pos) of parts to the key's owner and returns the owners' answers, aligned with the parts
 * concatenated in rank order (malloc'd): ASK_FIRST, the smallest position carrying the key (8 bytes each);
 * ASK_LINE_*, one byte, 1 when the line goes (an earlier position has it / at least min_docs positions have
 * it). The owner's table lives only here. Collective. */
static void *ask_owners(cl_t *c, const kpv_t *parts, int how, int kind)
{
    cp_net *x = &c->net;
    int K = x->size;
    char **sp = cp_xmalloc((size_t)K * sizeof *sp);
    size_t *sn = cp_xmalloc((size_t)K * sizeof *sn), *rn = cp_xmalloc((size_t)K * sizeof *rn);
    for (int p = 0; p < K; p++) {
        sp[p] = (char *)parts[p].v;
        sn[p] = parts[p].n;
    }
    size_t held = 0, peak = 0;
    for (int k = 0; k < 4; k++) /* the lists of the kinds not yet asked about are held too */
        if (c->out[k])
            held += kpv_bytes(c->out[k], K);
    kp_t *got = cp_exchange(x, sp, sn, sizeof(kp_t), rn, &peak);
    note_peak(&c->buffer_peak, held + peak);
    size_t n = 0;
    for (int p = 0; p < K; p++)
        n += rn[p];
    size_t elem = how == ASK_FIRST ? sizeof(uint64_t) : 1;
    char *ans = cp_xmalloc(n * elem + 1);
    if (how == ASK_LINE_COUNT) {
        /* Distinct positions per line: pairs come rank after rank, each rank's in its input order, and ranks
         * read disjoint files, so a repeat of one position is always its key's latest. */
        cp_keymap *last = cp_keymap_create(n), *count = cp_keymap_create(n);
        for (size_t i = 0; i < n; i++) {
            uint64_t *l = cp_keymap_upsert(last, got[i].key, UINT64_MAX);
            if (*l == got[i].pos)
                continue;
            *l = got[i].pos;
            (*cp_keymap_upsert(count, got[i].key, 0))++;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t k = 0;
            cp_keymap_get(count, got[i].key, &k);
            ans[i] = k >= c->line_min_docs;
        }
        c->distinct[kind] += cp_keymap_count(count);
        c->line_table = cp_keymap_bytes(last) + cp_keymap_bytes(count);
        note_peak(&c->table_peak, c->line_table);
        note_peak(&c->buffer_peak, held + n * (sizeof *got + elem) + cp_keymap_bytes(last) + cp_keymap_bytes(count));
        cp_keymap_destroy(last);
        cp_keymap_destroy(count);
    } else {
        cp_keymap *m = cp_keymap_create(n);
        for (size_t i = 0; i < n; i++) {
            uint64_t *v = cp_keymap_upsert(m, got[i].key, UINT64_MAX);
            if (got[i].pos < *v)
                *v = got[i].pos;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t first = UINT64_MAX;
            cp_keymap_get(m, got[i].key, &first);
            if (how == ASK_FIRST)
                memcpy(ans + i * elem, &first, elem);
            else
                ans[i] = first < got[i].pos;
        }
        c->distinct[kind] += cp_keymap_count(m);
        if (kind == CP_KEY_LINE)
            c->line_table = cp_keymap_bytes(m);
        note_peak(&c->table_peak, cp_keymap_bytes(m));
        note_peak(&c->buffer_peak, held + n * (sizeof *got + elem) + cp_keymap_bytes(m));
        cp_keymap_destroy(m);
    }
    free(got);
    /* answers go back the way the pairs came */
    size_t off = 0;
    for (int p = 0; p < K; p++) {
        sp[p] = ans + off * elem;
        off += rn[p];
    }
    size_t *bn = cp_xmalloc((size_t)K * sizeof *bn);
    peak = 0;
    void *back = cp_exchange(x, sp, rn, elem, bn, &peak);
    note_peak(&c->buffer_peak, held + peak);
    free(ans);
    free(bn);
    free(sp);
    free(sn);
    free(rn);
    return back;
}

/* Phase 1 -> the duplicates among this rank's documents. A document is a duplicate of the kind that decide_doc
 * checks first among those with an earlier position: exact, URL, near (smallest first over its bands). */
static void resolve_documents(cl_t *c)
{
    int K = c->net.size;
    typedef struct {
        uint64_t pos, first[3];
    } cand_t;
    cand_t *cand = NULL;
    size_t n_cand = 0, cap_cand = 0;
    cp_keymap *idx = cp_keymap_create(1024);
    for (int kind = CP_KEY_EXACT; kind <= CP_KEY_BAND; kind++) {
        uint64_t *first = ask_owners(c, c->out[kind], ASK_FIRST, kind);
        size_t i = 0;
        for (int p = 0; p < K; p++)
            for (size_t j = 0; j < c->out[kind][p].n; j++, i++) {
                const kp_t *e = &c->out[kind][p].v[j];
                if (first[i] >= e->pos)
                    continue;
                uint64_t *slot = cp_keymap_upsert(idx, e->pos, n_cand);
                if (*slot == n_cand) {
                    if (n_cand == cap_cand) {
                        cap_cand = cap_cand ? cap_cand * 2 : 1024;
                        cand = cp_xrealloc(cand, cap_cand * sizeof *cand);
                    }
                    cand[n_cand++] = (cand_t){e->pos, {UINT64_MAX, UINT64_MAX, UINT64_MAX}};
                }
                uint64_t *f = &cand[*slot].first[kind - CP_KEY_EXACT];
                if (first[i] < *f)
                    *f = first[i];
            }
        free(first);
        kpv_free_all(c->out[kind], K);
        c->out[kind] = NULL;
    }
    cp_keymap_destroy(idx);
    c->dec = cp_xmalloc((n_cand + 1) * sizeof *c->dec);
    for (size_t i = 0; i < n_cand; i++) {
        int k = cand[i].first[0] != UINT64_MAX ? 0 : cand[i].first[1] != UINT64_MAX ? 1 : 2;
        c->dec[i] = (dec_t){cand[i].pos, cand[i].first[k], CP_KEY_EXACT + k};
    }
    c->n_dec = n_cand;
    free(cand);
    qsort(c->dec, c->n_dec, sizeof *c->dec, cmp_dec);
}

/* Sizes of near-duplicate clusters (first document + its near duplicates), counted by the owner of each
 * first position, summed on rank 0; the same buckets as the single-process stats. */
static void near_histogram(cl_t *c)
{
    int K = c->net.size;
    uint64_t **v = cp_xcalloc((size_t)K, sizeof *v);
    size_t *n = cp_xcalloc((size_t)K, sizeof *n), *cap = cp_xcalloc((size_t)K, sizeof *cap);
    for (size_t i = 0; i < c->n_dec; i++) {
        if (c->dec[i].kind != CP_KEY_BAND)
            continue;
        int p = owner_of(c->dec[i].first, K);
        if (n[p] == cap[p]) {
            cap[p] = cap[p] ? cap[p] * 2 : 256;
            v[p] = cp_xrealloc(v[p], cap[p] * sizeof **v);
        }
        v[p][n[p]++] = c->dec[i].first;
    }
    size_t *rn = cp_xmalloc((size_t)K * sizeof *rn), total = 0, peak = 0;
    uint64_t *got = cp_exchange(&c->net, (char *const *)v, n, sizeof(uint64_t), rn, &peak);
    for (int p = 0; p < K; p++) {
        total += rn[p];
        free(v[p]);
    }
    qsort(got, total, sizeof *got, cmp_u64);
    uint64_t hist[13] = {0};
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && got[j] == got[i])
            j++;
        uint64_t size = j - i + 1;
        hist[size <= 10 ? size : size <= 100 ? 11 : 12]++;
        i = j;
    }
    MPI_Reduce(hist, c->near_hist, 13, MPI_UINT64_T, MPI_SUM, 0, c->net.comm);
    free(got);
    free(rn);
    free(v);
    free(n);
    free(cap);
}

/* dup_of: the ids of the first documents of this rank's duplicates, asked of the ranks that read them. */
static void resolve_ids(cl_t *c, const cp_segment *seg, size_t nseg)
{
    int K = c->net.size;
    uint64_t **req = cp_xcalloc((size_t)K, sizeof *req);
    size_t *n = cp_xcalloc((size_t)K, sizeof *n), *cap = cp_xcalloc((size_t)K, sizeof *cap);
    for (size_t i = 0; i < c->n_dec; i++) {
        int p = cp_split_rank_of(seg, nseg, (uint32_t)(c->dec[i].first >> 40), c->dec[i].first & ((1ull << 40) - 1));
        if (p < 0)
            p = c->net.rank; /* not in the plan (cannot be): answered "unknown" like any id not found */
        if (n[p] == cap[p]) {
            cap[p] = cap[p] ? cap[p] * 2 : 256;
            req[p] = cp_xrealloc(req[p], cap[p] * sizeof **req);
        }
        req[p][n[p]++] = c->dec[i].first;
    }
    for (int p = 0; p < K; p++) { /* each id once */
        if (!n[p])
            continue;
        qsort(req[p], n[p], sizeof **req, cmp_u64);
        size_t m = 1;
        for (size_t i = 1; i < n[p]; i++)
            if (req[p][i] != req[p][m - 1])
                req[p][m++] = req[p][i];
        n[p] = m;
    }
    size_t *rn = cp_xmalloc((size_t)K * sizeof *rn), peak = 0;
    uint64_t *asked = cp_exchange(&c->net, (char *const *)req, n, sizeof(uint64_t), rn, &peak);
    /* answer: per asked position the id's length + 1 (0: unknown), then the ids' bytes */
    size_t total = 0;
    for (int p = 0; p < K; p++)
        total += rn[p];
    uint32_t *len = cp_xmalloc((total + 1) * sizeof *len);
    cp_buf text = {0};
    size_t *tn = cp_xcalloc((size_t)K, sizeof *tn);
    char **tp = cp_xmalloc((size_t)K * sizeof *tp), **lp = cp_xmalloc((size_t)K * sizeof *lp);
    size_t *toff = cp_xmalloc((size_t)K * sizeof *toff);
    size_t i = 0;
    for (int p = 0; p < K; p++) {
        toff[p] = text.len;
        lp[p] = (char *)(len + i);
        for (size_t j = 0; j < rn[p]; j++, i++) {
            size_t l = 0;
            const char *id = find_id(c->own, c->n_own, &c->own_text, asked[i], &l);
            len[i] = id ? (uint32_t)l + 1 : 0;
            if (id)
                cp_buf_append(&text, id, l);
        }
        tn[p] = text.len - toff[p];
    }
    for (int p = 0; p < K; p++)
        tp[p] = text.data + toff[p];
    size_t *bn = cp_xmalloc((size_t)K * sizeof *bn);
    uint32_t *lens = cp_exchange(&c->net, lp, rn, sizeof(uint32_t), bn, &peak);
    size_t *cn = cp_xmalloc((size_t)K * sizeof *cn);
    char *ids = cp_exchange(&c->net, tp, tn, 1, cn, &peak);
    /* the answers come in the order of the requests, rank after rank; id_text takes them in position order
     * (see idref_t), so each ref holds its answer's number until the refs are sorted */
    size_t nreq = 0;
    for (int p = 0; p < K; p++)
        nreq += n[p];
    c->ids = cp_xmalloc((nreq + 1) * sizeof *c->ids);
    c->n_ids = 0;
    size_t *start = cp_xmalloc((nreq + 1) * sizeof *start), at = 0;
    i = 0;
    for (int p = 0; p < K; p++)
        for (size_t j = 0; j < n[p]; j++, i++) {
            start[i] = at;
            if (lens[i]) {
                c->ids[c->n_ids++] = (idref_t){req[p][j], i};
                at += lens[i] - 1;
            }
        }
    qsort(c->ids, c->n_ids, sizeof *c->ids, cmp_idref);
    for (size_t k = 0; k < c->n_ids; k++) {
        size_t a = c->ids[k].off;
        c->ids[k].off = c->id_text.len;
        cp_buf_append(&c->id_text, ids + start[a], lens[a] - 1);
        cp_buf_putc(&c->id_text, 0);
    }
    free(start);
    for (int p = 0; p < K; p++)
        free(req[p]);
    free(req);
    free(n);
    free(cap);
    free(rn);
    free(asked);
    free(len);
    cp_buf_free(&text);
    free(tn);
    free(tp);
    free(lp);
    free(toff);
    free(bn);
    free(lens);
    free(cn);
    free(ids);
}

/* After resolve_documents: duplicates take no part in line dedup, so their line keys go. Each owner's list is
 * in input order (positions increase) and so is c->dec: one merge per list, order kept (ASK_LINE_COUNT
 * relies on it). */
static void drop_duplicate_lines(cl_t *c)
{
    int K = c->net.size;
    for (int p = 0; p < K; p++) {
        kpv_t *a = &c->out[CP_KEY_LINE][p];
        size_t m = 0, d = 0;
        for (size_t i = 0; i < a->n; i++) {
            while (d < c->n_dec && c->dec[d].pos < a->v[i].pos)
                d++;
            if (d < c->n_dec && c->dec[d].pos == a->v[i].pos)
                continue;
            a->v[m++] = a->v[i];
        }
        a->n = m;
    }
}

/* -> the (position, line) pairs that line dedup removes from this rank's documents. */
static void resolve_lines(cl_t *c)
{
    int K = c->net.size;
    unsigned char *gone = ask_owners(c, c->out[CP_KEY_LINE],
                                     c->line_mode == CP_LINE_DEDUP_ALL ? ASK_LINE_COUNT : ASK_LINE_FIRST,
                                     CP_KEY_LINE);
    size_t n = 0, i = 0;
    for (int p = 0; p < K; p++)
        for (size_t j = 0; j < c->out[CP_KEY_LINE][p].n; j++, i++)
            n += gone[i];
    c->gone = cp_xmalloc((n + 1) * sizeof *c->gone);
    i = 0;
    for (int p = 0; p < K; p++)
        for (size_t j = 0; j < c->out[CP_KEY_LINE][p].n; j++, i++)
            if (gone[i])
                c->gone[c->n_gone++] = c->out[CP_KEY_LINE][p].v[j];
    free(gone);
    kpv_free_all(c->out[CP_KEY_LINE], K);
    c->out[CP_KEY_LINE] = NULL;
    qsort(c->gone, c->n_gone, sizeof *c->gone, cmp_kp);
    size_t m = 0;
    for (size_t k = 0; k < c->n_gone; k++) /* a line repeated inside one document is one pair */
        if (!m || cmp_kp(&c->gone[k], &c->gone[m - 1]))
            c->gone[m++] = c->gone[k];
    c->n_gone = m;
}

static uint64_t list_hash(char *const *files, size_t nfiles)
{
    uint64_t h = 1469598103934665603ull ^ nfiles;
    for (size_t i = 0; i < nfiles; i++)
        for (const unsigned char *s = (const unsigned char *)files[i];; s++) {
            h = (h ^ *s) * 1099511628211ull;
            if (!*s)
                break;
        }
    return h;
}

/* Each pass's time on this rank alone: the *_seconds beside them include waiting for the slowest rank. */
static void note_pass_times(json_t *mine, const cl_t *c)
{
    json_object_set_new(mine, "collect_pass_own_seconds", json_real(c->pass_seconds[CP_PHASE_COLLECT_DOCS]));
    json_object_set_new(mine, "decide_pass_own_seconds", json_real(c->pass_seconds[CP_PHASE_DECIDE]));
    json_object_set_new(mine, "collect_pass_cpu_seconds", json_real(c->pass_cpu[CP_PHASE_COLLECT_DOCS]));
    json_object_set_new(mine, "decide_pass_cpu_seconds", json_real(c->pass_cpu[CP_PHASE_DECIDE]));
}

/* ---- resume: each rank's spill and decisions are the job's checkpoint once the exchange is over ----------- */

/* The rank's state after the exchange: figures as JSON, the decision tables as arrays. */
static int state_save(const cl_t *c, const char *path, uint64_t fp, const cp_stats *s1, json_t *times, char *err,
                      size_t errlen)
{
    const cp_net *x = &c->net;
    json_t *j = json_pack("{sosIsIsIsIsfsIsIsIsIsIsf}", "collect_stats", cp_stats_state_to_json(s1), "sent",
                          (json_int_t)x->sent, "sent_remote", (json_int_t)x->sent_remote, "received",
                          (json_int_t)x->received, "rounds", (json_int_t)x->rounds, "exchange_seconds", x->seconds,
                          "table_peak", (json_int_t)c->table_peak, "line_table", (json_int_t)c->line_table,
                          "line_keys", (json_int_t)c->line_keys, "buffer_peak", (json_int_t)c->buffer_peak,
                          "spill_bytes", (json_int_t)c->spill_bytes, "spill_write_cpu", c->spill_write_cpu);
    json_t *d = json_array(), *nh = json_array();
    for (int k = 0; k < 4; k++)
        json_array_append_new(d, json_integer((json_int_t)c->distinct[k]));
    for (int k = 0; k < 13; k++)
        json_array_append_new(nh, json_integer((json_int_t)c->near_hist[k]));
    json_object_set_new(j, "distinct", d);
    json_object_set_new(j, "near_hist", nh);
    json_object_set(j, "times", times);
    cp_rank_array a[4] = {{c->dec, c->n_dec * sizeof *c->dec},
                          {c->gone, c->n_gone * sizeof *c->gone},
                          {c->ids, c->n_ids * sizeof *c->ids},
                          {c->id_text.data, c->id_text.len}};
    int rc = cp_rank_state_save(path, fp, j, a, 4, err, errlen);
    json_decref(j);
    return rc;
}

/* Whether refs over text keep idref_t's layout (a state an older build wrote may not: find_id would misread). */
static int ids_sound(const idref_t *v, size_t n, const char *text, size_t len)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t end = k + 1 < n ? v[k + 1].off : len;
        if (v[k].off >= end || end > len || text[end - 1])
            return 0;
    }
    return 1;
}

/* Loads what state_save wrote into c, *s1 and *times (new reference). 0, 1 (no file) or -1 (message). */
static int state_load(cl_t *c, const char *path, uint64_t fp, cp_stats *s1, json_t **times, char *err,
                      size_t errlen)
{
    json_t *j = NULL;
    cp_rank_array a[4];
    memset(a, 0, sizeof a);
    int rc = cp_rank_state_load(path, fp, &j, a, 4, err, errlen);
    if (rc)
        return rc;
    json_t *d = json_object_get(j, "distinct"), *nh = json_object_get(j, "near_hist");
    int ok = json_array_size(d) == 4 && json_array_size(nh) == 13 && a[0].bytes % sizeof *c->dec == 0 &&
             a[1].bytes % sizeof *c->gone == 0 && a[2].bytes % sizeof *c->ids == 0 &&
             ids_sound(a[2].data, a[2].bytes / sizeof *c->ids, a[3].data, a[3].bytes) &&
             !cp_stats_state_from_json(s1, json_object_get(j, "collect_stats"), err, errlen);
    if (ok) {
        cp_net *x = &c->net;
        x->sent = (uint64_t)json_integer_value(json_object_get(j, "sent"));
        x->sent_remote = (uint64_t)json_integer_value(json_object_get(j, "sent_remote"));
        x->received = (uint64_t)json_integer_value(json_object_get(j, "received"));
        x->rounds = (uint64_t)json_integer_value(json_object_get(j, "rounds"));
        x->seconds = json_number_value(json_object_get(j, "exchange_seconds"));
        c->table_peak = (size_t)json_integer_value(json_object_get(j, "table_peak"));
        c->line_table = (size_t)json_integer_value(json_object_get(j, "line_table"));
        c->line_keys = (size_t)json_integer_value(json_object_get(j, "line_keys"));
        c->buffer_peak = (size_t)json_integer_value(json_object_get(j, "buffer_peak"));
        c->spill_bytes = (uint64_t)json_integer_value(json_object_get(j, "spill_bytes"));
        c->spill_write_cpu = json_number_value(json_object_get(j, "spill_write_cpu"));
        for (int k = 0; k < 4; k++)
            c->distinct[k] = (uint64_t)json_integer_value(json_array_get(d, (size_t)k));
        for (int k = 0; k < 13; k++)
            c->near_hist[k] = (uint64_t)json_integer_value(json_array_get(nh, (size_t)k));
        c->dec = a[0].data;
        c->n_dec = a[0].bytes / sizeof *c->dec;
        c->gone = a[1].data;
        c->n_gone = a[1].bytes / sizeof *c->gone;
        c->ids = a[2].data;
        c->n_ids = a[2].bytes / sizeof *c->ids;
        cp_buf_append(&c->id_text, a[3].data, a[3].bytes);
        free(a[3].data);
        *times = json_incref(json_object_get(j, "times"));
    } else {
        snprintf(err, errlen, "%s: damaged (its figures do not parse)", path);
        for (int k = 0; k < 4; k++)
            free(a[k].data);
    }
    json_decref(j);
    return ok ? 0 : -1;
}

/* ---- the run ----------------------------------------------------------------------------------------------- */

/* After each pipeline pass: a rank that cannot go on aborts the job; otherwise the ranks agree on whether to
 * go on. Returns 0 (go on), 2 (configuration error, reported once), 130 (interrupted). */
static int settle(cl_t *c, int rc, const char *err, int *input_failed)
{
    cp_net *x = &c->net;
    if (rc == -1) {
        fprintf(stderr, "corpusprep: rank %d: error: %s\n", x->rank, err);
        fflush(stderr);
        MPI_Abort(x->comm, 1);
    }
    cp_idle_barrier(x->comm);
    if (rc == 1)
        *input_failed = 1;
    int mine = rc == 130 ? 2 : rc == -2 ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, x->comm);
    int who = rc == -2 ? x->rank : x->size, first = 0;
    MPI_Allreduce(&who, &first, 1, MPI_INT, MPI_MIN, x->comm);
    if (all == 2) {
        if (!x->rank)
            fprintf(stderr, "corpusprep: interrupted\n");
        return 130;
    }
    if (all == 1) {
        if (first == x->rank)
            fprintf(stderr, "corpusprep: %s\n", err);
        return 2;
    }
    return 0;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void add_stage_seconds(cp_stats *to, const cp_stats *from)
{
    for (int k = 0; k < CP_T_N; k++)
        to->stage_seconds[k] += from->stage_seconds[k];
}

static int run_pass(cl_t *c, cp_pipeline_opts *po, cp_cluster_hooks *h, int phase, cp_stats *st,
                    int *input_failed)
{
    char err[2048] = "";
    h->phase = phase;
    cp_mpi_progress_begin(c->prog, phase);
    double t0 = cp_now(), cpu0 = process_cpu();
    int rc = cp_pipeline_run(po, st, err, sizeof err);
    c->pass_seconds[phase] += cp_now() - t0;
    c->pass_cpu[phase] += process_cpu() - cpu0;
    cp_mpi_progress_end(c->prog, c->net.comm);
    return settle(c, rc, err, input_failed);
}

int cp_mpi_run(const cp_pipeline_opts *o, int force, const char *scratch, int spill_level)
{
    double start = cp_now();
    cl_t c;
    memset(&c, 0, sizeof c);
    cp_net *x = &c.net;
    x->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(x->comm, &x->rank);
    MPI_Comm_size(x->comm, &x->size);
    x->round_bytes = ROUND_BYTES_DEFAULT;
    const char *rb = getenv("CORPUSPREP_MPI_ROUND_BYTES");
    if (rb && strtoull(rb, NULL, 10) > 0)
        x->round_bytes = (size_t)strtoull(rb, NULL, 10);
    int K = x->size, me = x->rank;
    char err[2048] = "";
    if (o->explain) {
        if (!me)
            fprintf(stderr, "corpusprep: --explain is for a single process (run corpusprep on the files in question)\n");
        return 2;
    }

    /* The same inputs everywhere (a filesystem every node sees), split among the ranks: no stdin. */
    int bad = 0;
    for (size_t i = 0; i < o->nfiles; i++)
        bad |= !strcmp(o->files[i], "-");
    uint64_t h = list_hash(o->files, o->nfiles), hmin = 0, hmax = 0;
    MPI_Allreduce(&h, &hmin, 1, MPI_UINT64_T, MPI_MIN, x->comm);
    MPI_Allreduce(&h, &hmax, 1, MPI_UINT64_T, MPI_MAX, x->comm);
    if (bad || hmin != hmax || o->nfiles >= (1u << 24)) {
        if (!me)
            fprintf(stderr, "corpusprep: %s\n",
                    bad ? "cluster mode splits the input files among the ranks, so it cannot read standard input; give files"
                    : hmin != hmax ? "the ranks found different input files: the inputs must be on a filesystem "
                                     "that every node sees, under the same path"
                                   : "cluster mode takes at most 16777215 input files");
        return 2;
    }
    cp_mpi_plan plan = {0};
    cp_mpi_plan_input(x, o, &plan);

    /* Checkpoints (on unless --checkpoint-every off): once the exchange is over, each rank's spill and its
     * decisions (rank-R.state beside the spill) let --resume skip pass 1 and the exchange. */
    int resumable = o->checkpoints;
    uint64_t job_fp = cp_cluster_fingerprint(o, h, K, -1), fp = cp_cluster_fingerprint(o, h, K, me);
    cp_buf sdir = {0}, spath = {0}, state = {0};
    cp_cluster_scratch_paths(o->outdir, scratch, me, &sdir, &spath, &state);
    int prep = 0;
    if (!me) {
        if (o->resume)
            prep = cp_cluster_marker_check(o->outdir, job_fp, K, err, sizeof err);
        /* a resumed job writes its output again from the start: the interrupted one's partial shards go */
        if (!prep)
            prep = cp_output_prepare(o->outdir, force || o->resume, err, sizeof err);
        if (!prep && resumable && cp_cluster_marker_write(o->outdir, job_fp, K, err, sizeof err))
            prep = -1;
        if (prep)
            fprintf(stderr, "corpusprep: %s\n", err);
    }
    MPI_Bcast(&prep, 1, MPI_INT, 0, x->comm); /* also the barrier: no rank writes before OUTDIR is ready */
    if (prep) {
        cp_buf_free(&sdir);
        cp_buf_free(&spath);
        cp_buf_free(&state);
        free(plan.seg);
        return prep == -2 ? 2 : 1;
    }

    /* this rank's files and parts of files, in global order, so that its positions increase */
    size_t n = 0;
    char **files = cp_xmalloc((plan.n + 1) * sizeof *files);
    uint32_t *index = cp_xmalloc((plan.n + 1) * sizeof *index);
    cp_reader_range *ranges = cp_xmalloc((plan.n + 1) * sizeof *ranges);
    uint64_t my_bytes = 0;
    for (size_t i = 0; i < plan.n; i++)
        if (plan.seg[i].rank == me) {
            const cp_segment *g = &plan.seg[i];
            struct stat sb;
            if (stat(o->files[g->file], &sb) == 0)
                my_bytes += g->length ? g->length : (uint64_t)sb.st_size - g->offset;
            files[n] = o->files[g->file];
            ranges[n] = (cp_reader_range){g->offset, g->length, g->first_line};
            index[n++] = g->file;
        }

    /* line dedup's mode: whether line keys are collected, and how owners answer them */
    json_t *clean = json_object_get(o->cfg->tree, "clean");
    if (json_is_object(clean)) {
        cp_cleaner *cl = cp_cleaner_create(clean, err, sizeof err);
        if (cl) {
            c.line_mode = cp_cleaner_line_dedup(cl)->mode;
            c.line_min_docs = cp_cleaner_line_dedup(cl)->min_docs;
            cp_cleaner_destroy(cl);
        } /* else the pipeline reports the error in phase 1 */
    }

    cp_stats s1, st;
    memset(&s1, 0, sizeof s1);
    memset(&st, 0, sizeof st);
    json_t *times = NULL; /* the collect and exchange timings, kept with the state */
    /* --resume: every rank must find its decisions and a sound spill, else pass 1 runs again */
    int skip = 0;
    if (o->resume) {
        char why[2048] = "";
        int ok = !state_load(&c, state.data, fp, &s1, &times, why, sizeof why) &&
                 (c.spill_r = cp_spill_open(spath.data, fp, why, sizeof why)) != NULL &&
                 !cp_spill_verify(c.spill_r, why, sizeof why);
        if (!ok && why[0])
            fprintf(stderr, "corpusprep: rank %d: %s\n", me, why);
        MPI_Allreduce(&ok, &skip, 1, MPI_INT, MPI_MIN, x->comm);
        if (!skip) {
            cp_spill_close(c.spill_r);
            c.spill_r = NULL;
            free(c.dec);
            free(c.gone);
            free(c.ids);
            cp_buf_free(&c.id_text);
            json_decref(times);
            times = NULL;
            cp_stats_free(&s1);
            memset(&s1, 0, sizeof s1);
            c.net.sent = c.net.sent_remote = c.net.received = c.net.rounds = 0;
            c.net.seconds = 0;
            c.dec = NULL;
            c.gone = NULL;
            c.ids = NULL;
            c.n_dec = c.n_gone = c.n_ids = 0;
            c.table_peak = c.line_table = c.line_keys = c.buffer_peak = 0;
            c.spill_bytes = 0;
            c.spill_write_cpu = 0;
            memset(c.distinct, 0, sizeof c.distinct);
            memset(c.near_hist, 0, sizeof c.near_hist);
        }
        if (!me)
            fprintf(stderr, skip ? "corpusprep: resuming: pass 1 and the exchange skipped (each rank's spill and "
                                   "decisions are in %s)\n"
                                 : "corpusprep: resuming: the job stopped before its decisions were kept (or a "
                                   "rank's spill in %s is gone): pass 1 runs again\n",
                    sdir.data);
    }

    /* one read: the collect pass writes its batches to this rank's spill, the deciding pass reads them */
    if (!skip) {
        unlink(state.data); /* an older run's decisions never go with this run's spill */
        if (mkdir(sdir.data, 0700) && errno != EEXIST)
            snprintf(err, sizeof err, "%s: cannot create the scratch folder: %s (--scratch DIR sets it)",
                     sdir.data, strerror(errno));
        else
            c.spill_w = cp_spill_create(spath.data, spill_level, fp, err, sizeof err);
        int no_spill = !c.spill_w, any_no_spill = 0;
        MPI_Allreduce(&no_spill, &any_no_spill, 1, MPI_INT, MPI_MAX, x->comm);
        if (any_no_spill) {
            if (no_spill)
                fprintf(stderr, "corpusprep: rank %d: error: %s\n", me, err);
            cp_spill_abort(c.spill_w);
            cp_cluster_scratch_remove(&sdir, &spath, &state);
            cp_buf_free(&sdir);
            cp_buf_free(&spath);
            cp_buf_free(&state);
            free(files);
            free(index);
            free(ranges);
            free(plan.seg);
            return 1;
        }
    }

    cp_cluster_hooks hooks = {.ctx = &c, .collect = cl_collect, .collect_id = cl_collect_id, .first = cl_first,
                              .id_of = cl_id_of, .spill = cl_spill};
    cp_pipeline_opts po = *o;
    po.files = files;
    po.nfiles = n;
    po.file_index = index;
    po.file_ranges = ranges;
    po.hooks = &hooks;
    po.no_stats_file = 1;
    po.rank = me;
    po.quiet = 1; /* the collect passes stay silent; the deciding pass speaks as asked */
    /* progress: the job's figures, as log lines from rank 0 (mpirun's stderr is rarely a terminal) */
    c.prog = cp_mpi_progress_create(o, x);
    po.progress_every = -1;
    po.on_batch = cp_mpi_progress_on(c.prog) ? cp_mpi_progress_on_batch : NULL;
    po.on_batch_ctx = c.prog;

    int input_failed = 0, rc = 0, kept = 0, pass = 1;
    double t1, t_collect = 0, t_resolve1 = 0, t_resolve2 = 0, t_decide = 0;
    if (!skip) {
        for (int k = 0; k < 4; k++)
            c.out[k] = cp_xcalloc((size_t)K, sizeof(kpv_t));
        t1 = cp_now();
        rc = run_pass(&c, &po, &hooks, CP_PHASE_COLLECT_DOCS, &s1, &input_failed);
        if (!rc) {
            /* the spill is complete: a rank that cannot finish it stops the job like any write error */
            int bad = cp_spill_finish(c.spill_w, resumable, &c.spill_bytes, err, sizeof err);
            c.spill_w = NULL;
            if (!bad && !(c.spill_r = cp_spill_open(spath.data, fp, err, sizeof err)))
                bad = 1;
            if (bad) {
                fprintf(stderr, "corpusprep: rank %d: error: %s\n", me, err);
                fflush(stderr);
                cp_cluster_scratch_remove(&sdir, &spath, &state);
                MPI_Abort(x->comm, 1);
            }
        }
        t_collect = cp_now() - t1;
        c.line_keys = kpv_bytes(c.out[CP_KEY_LINE], K);
        if (!rc) {
            t1 = cp_now();
            resolve_documents(&c);
            if (o->cfg->near_dedup)
                near_histogram(&c);
            if (o->cfg->dup_of)
                resolve_ids(&c, plan.seg, plan.n);
            t_resolve1 = cp_now() - t1;
        }
        free(c.own);
        c.own = NULL;
        c.n_own = 0;
        cp_buf_free(&c.own_text);
        if (!rc && c.line_mode != CP_LINE_DEDUP_OFF) {
            t1 = cp_now();
            drop_duplicate_lines(&c);
            resolve_lines(&c);
            t_resolve2 = cp_now() - t1;
        }
        times = json_pack("{sfsfsf}", "collect", t_collect, "resolve_docs", t_resolve1, "resolve_lines", t_resolve2);
        if (!rc && resumable) {
            /* the job's checkpoint: every rank's decisions on disk before any rank writes output */
            int saved = !state_save(&c, state.data, fp, &s1, times, err, sizeof err), all = 0;
            if (!saved)
                fprintf(stderr, "corpusprep: rank %d: warning: %s; this job cannot be resumed\n", me, err);
            MPI_Allreduce(&saved, &all, 1, MPI_INT, MPI_MIN, x->comm);
            kept = all;
        }
    } else {
        kept = 1;
        uint64_t mine_in = s1.bytes_in;
        uint64_t job_in = 0;
        MPI_Reduce(&mine_in, &job_in, 1, MPI_UINT64_T, MPI_SUM, 0, x->comm); /* pass 2's progress */
        cp_mpi_progress_set_pass1_bytes(c.prog, job_in);
        t_collect = json_number_value(json_object_get(times, "collect"));
        t_resolve1 = json_number_value(json_object_get(times, "resolve_docs"));
        t_resolve2 = json_number_value(json_object_get(times, "resolve_lines"));
    }
    if (!rc) {
        pass = 2;
        t1 = cp_now();
        po.quiet = o->quiet;
        input_failed = 0; /* the deciding pass reports the input failures the spill carries */
        hooks.spill = NULL;
        hooks.next_batch = cl_next_batch;
        rc = run_pass(&c, &po, &hooks, CP_PHASE_DECIDE, &st, &input_failed);
        t_decide = cp_now() - t1;
    }
    cp_spill_abort(c.spill_w); /* an unfinished one (the run stopped in the collect pass) */
    c.spill_w = NULL;
    cp_spill_close(c.spill_r);
    c.spill_r = NULL;
    /* An interrupted job keeps what --resume needs: the marker always (pass 1 runs again), the spills and
     * decisions once they were all saved (pass 1 and the exchange are skipped). */
    int keep_marker = resumable && rc == 130, keep_spill = keep_marker && kept;
    if (!keep_spill)
        cp_cluster_scratch_remove(&sdir, &spath, &state);
    if (rc == 130 && !me) {
        if (keep_spill)
            fprintf(stderr, "corpusprep: interrupted in pass 2; the spills and decisions are kept in %s: go on with "
                            "the same command plus --resume (pass 1 and the exchange are skipped)\n", sdir.data);
        else if (keep_marker)
            fprintf(stderr, "corpusprep: interrupted in pass %d; go on with the same command plus --resume (pass 1 "
                            "runs again)\n", pass);
    }
    if (!rc) {
        add_stage_seconds(&st, &s1);
        cp_cluster_add_collect_figures(&st, &s1);
        cp_stats_finish(&st, cp_now() - start);
        size_t decisions = c.n_dec * sizeof *c.dec + c.n_gone * sizeof *c.gone + c.n_ids * sizeof *c.ids +
                           c.id_text.cap;
        json_t *mine = json_pack(
            "{sisIsIsIsIsIsIsIsIsIsIsIsfsfsfsfsfsIsI}", "rank", me, "files", (json_int_t)n, "bytes_in_compressed",
            (json_int_t)my_bytes, "exchange_bytes_sent", (json_int_t)x->sent, "exchange_network_bytes_sent",
            (json_int_t)x->sent_remote, "exchange_bytes_received", (json_int_t)x->received, "exchange_rounds",
            (json_int_t)x->rounds, "owner_table_peak_bytes", (json_int_t)c.table_peak, "key_buffer_peak_bytes",
            (json_int_t)c.buffer_peak, "decision_bytes", (json_int_t)decisions, "duplicates", (json_int_t)c.n_dec,
            "lines_removed", (json_int_t)c.n_gone, "exchange_seconds", x->seconds, "collect_seconds",
            t_collect, "resolve_docs_seconds", t_resolve1, "resolve_lines_seconds", t_resolve2, "decide_seconds",
            t_decide, "line_table_bytes", (json_int_t)c.line_table, "line_key_buffer_bytes",
            (json_int_t)c.line_keys);
        json_object_set_new(mine, "scratch_peak_bytes", json_integer((json_int_t)c.spill_bytes));
        json_object_set_new(mine, "spill_write_cpu_seconds", json_real(c.spill_write_cpu));
        json_object_set_new(mine, "spill_level", json_integer(spill_level));
        json_object_set_new(mine, "spill_read_cpu_seconds", json_real(c.spill_read_cpu));
        json_object_set_new(mine, "resumed_at_pass_2", json_boolean(skip));
        cp_mpi_plan_note(mine, &plan, me);
        note_pass_times(mine, &c);
        /* ranks end their deciding pass at different times, and the gather below would poll a core away
         * from the ones still working (cp_idle_wait); so would the allreduce after it while rank 0 writes
         * stats.json and the report */
        cp_idle_barrier(x->comm);
        if (cp_mpi_merge_stats(x, c.distinct, c.near_hist, o, &st, mine, err, sizeof err)) {
            fprintf(stderr, "corpusprep: error: %s\n", err);
            fflush(stderr);
            MPI_Abort(x->comm, 1);
        }
        int any = 0;
        cp_idle_barrier(x->comm);
        MPI_Allreduce(&input_failed, &any, 1, MPI_INT, MPI_MAX, x->comm);
        if (any) {
            if (!me)
                fprintf(stderr, "corpusprep: some input could not be read to its end (see above); exit status 1\n");
            rc = 1;
        }
    }
    if (!keep_marker) {
        cp_idle_barrier(x->comm); /* no rank is still in the job when its marker goes */
        if (!me && resumable && cp_checkpoint_remove_all(o->outdir) && !o->quiet)
            fprintf(stderr, "corpusprep: warning: cannot remove %s/" CP_CHECKPOINT_DIR "\n", o->outdir);
    }
    json_decref(times);
    cp_buf_free(&sdir);
    cp_buf_free(&spath);
    cp_buf_free(&state);
    cp_stats_free(&s1);
    cp_stats_free(&st);
    for (int k = 0; k < 4; k++)
        kpv_free_all(c.out[k], K);
    free(c.dec);
    free(c.gone);
    free(c.ids);
    cp_buf_free(&c.id_text);
    free(files);
    free(index);
    free(ranges);
    free(plan.seg);
    cp_mpi_progress_destroy(c.prog);
    return rc;
}

int cp_mpi_main(int argc, char **argv, int (*cli)(int, char **))
{
    int provided = 0, size = 1, rank = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *nt = getenv("SLURM_NTASKS");
    if (nt && *nt && atoi(nt) != size) {
        /* srun with a --mpi plugin this MPI does not speak starts SLURM_NTASKS separate one-rank jobs, each
         * of which would process everything: stop before writing anything. */
        if (!rank)
            fprintf(stderr,
                    "corpusprep: Slurm started %s tasks (SLURM_NTASKS) but this MPI job has %d rank%s: srun's MPI "
                    "plugin does not match the MPI this program was built with (Open MPI: srun --mpi=pmix, MPICH: "
                    "srun --mpi=pmi2; `srun --mpi=list` shows what this Slurm offers), or mpirun -n differs from "
                    "the job's --ntasks\n",
                    nt, size, size == 1 ? "" : "s");
        MPI_Finalize();
        return 2;
    }
    int rc = cli(argc, argv);
    cp_idle_barrier(MPI_COMM_WORLD); /* MPI_Finalize polls while it waits for the other ranks */
    MPI_Finalize();
    return rc;
}
