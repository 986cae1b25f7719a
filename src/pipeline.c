/* The pipeline: how corpusprep moves documents through its stages, and the only file that knows the
 * order of the stages and the threading.
 *
 * Design. A feeder thread (feeder.c) reads the input files in order and cuts them into numbered batches of
 * about batch_bytes of lines (pigz's and kt_pipeline's shape). It keeps at most a few ready batches
 * ahead, which is the back-pressure that bounds memory (with -t 1 it reads only when asked, so one thread
 * of work means one core). The main thread takes batches in order; each goes through phases that alternate
 * between parallel work over its documents (per-thread scratch indexed by thread number) and short serial
 * steps that run in input order:
 *
 *   P1 parallel  parse, normalise, clean, line hashes, document keys (exact, URL, MinHash bands)
 *   S1 serial    document dedup decisions, then corpus-wide line dedup for the survivors
 *   P2 parallel  line removal, langid, language and quality filters
 *   S2 serial    counters, per-document messages, the output plan (chunks.c)
 *   P3 parallel  output lines built and compressed in chunks (one gzip member / zstd frame each)
 *   S3 serial    chunks appended to the shards
 *
 * Two batches are in work at once: one parallel region (overlap.c) runs the tail of batch k-1 (S1, P2,
 * S2, P3, S3, each after the one before) and P1 of batch k as filler, so while one thread runs a serial step
 * the others parse instead of waiting, and P3's few large chunks do not leave a thread idle at the end of
 * a phase (see "regions" below). A checkpoint finishes the started batch first: it holds whole batches.
 *
 * Document dedup comes before langid and the quality filters, so duplicates cost no language ID, and it
 * looks at the page as cleaned, not after line dedup took away what earlier pages already said (which would
 * make a copy look empty). A document rejected later by a filter still owns its dedup keys: the decision
 * depends on (key, position) alone.
 *
 * Every decision that depends on other documents is taken in a serial step in input order, and chunk
 * boundaries depend only on the input, so the output is byte-identical for any thread count. Dedup
 * decisions are functions of (key, position in input order): a later cluster mode can compute the same
 * decisions by exchanging keys. The parallel phases never share a jansson value between threads.
 */
#include "corpusprep/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
static void omp_set_num_threads(int n) { (void)n; }
#endif

#include <xxhash.h>

#include "corpusprep/checkpoint.h"
#include "corpusprep/chunks.h"
#include "corpusprep/clean.h"
#include "corpusprep/dedup.h"
#include "corpusprep/dolma.h"
#include "corpusprep/explain.h"
#include "corpusprep/feeder.h"
#include "corpusprep/filter.h"
#include "corpusprep/doc.h"
#include "corpusprep/langid.h"
#include "corpusprep/minhash.h"
#include "corpusprep/normalize.h"
#include "corpusprep/overlap.h"
#include "corpusprep/parse.h"
#include "corpusprep/progress.h"
#include "corpusprep/warc.h"
#include "corpusprep/spill.h"
#include "corpusprep/report.h"
#include "corpusprep/writer.h"

#define CHUNK_BYTES (1u << 20) /* uncompressed input bytes per compressed chunk */
#define MESSAGES_PER_KIND 10

/* ---- per-thread scratch ------------------------------------------------------------------------ */

typedef struct {
    cp_buf a, b, c;           /* general scratch */
    cp_compressor *comp;
    cp_minhash_scratch *ms;
    cp_clean_scratch *cs;
    cp_filter_scratch *fs;
    cp_clean_stats clean;     /* summed per thread: sums do not depend on the schedule */
    double t[CP_T_N];         /* CPU seconds per stage (see phase_end) */
    double phase_t[CP_T_N], phase_cpu;
    cp_norm_counts nc;
    uint64_t line_utf8_fixes;
    char pad[64];             /* keeps neighbours' counters off this thread's cache lines */
} scratch_t;

/* Stage times. Thread CPU time costs a system call (~0.6 us here), too much per document and stage, while
 * the monotonic clock costs ~30 ns. So stages are timed with the monotonic clock and each thread's times of
 * a phase are scaled to the thread CPU time the phase really took: the stage split is the clock's, the
 * total is true CPU time even when threads wait for a core. */

static void phase_begin(scratch_t *s)
{
    memcpy(s->phase_t, s->t, sizeof s->t);
    s->phase_cpu = cp_thread_cpu();
}

static void phase_end(scratch_t *s)
{
    double cpu = cp_thread_cpu() - s->phase_cpu, clock = 0;
    for (int k = 0; k < CP_T_N; k++)
        clock += s->t[k] - s->phase_t[k];
    if (clock > 0)
        for (int k = 0; k < CP_T_N; k++)
            s->t[k] = s->phase_t[k] + (s->t[k] - s->phase_t[k]) * (cpu / clock);
}

/* ---- the run ----------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const cp_pipeline_opts *o;
    const cp_config *cfg;
    cp_stats *st;
    scratch_t *scr;
    int nthreads;
    cp_writer *w;
    cp_keymap *exact, *url;
    cp_cleaner *cl;           /* NULL when the config has no "clean" section */
    cp_filter *flt;           /* NULL when the config has no "filter" section */
    cp_langid *lid;           /* the language-ID backend (CLD2 or a loaded fastText model) */
    int line_mode;            /* CP_LINE_DEDUP_* */
    unsigned line_min_docs;
    cp_keymap *lines;         /* line hash -> first position (mode first) or document count (mode all) */
    int counting;             /* pass 1 of mode all: only count lines */
    uint64_t *count_buf;      /* one document's line hashes, sorted, while counting */
    size_t count_cap;
    uint64_t line_drops, line_drop_bytes;
    cp_minhash *mh;           /* NULL when near-dup is off */
    cp_lsh *lsh;              /* made at the first batch, sized from the input */
    int nbands;
    uint64_t *near_of;        /* dedup ordinal of the first document, per near duplicate (for the histogram) */
    size_t n_near, cap_near;
    /* ids of documents that reached the dedup step, by dedup ordinal, for "dup_of" */
    cp_buf ids;
    uint64_t *id_off;
    size_t n_ids, cap_ids;
    uint64_t messages[8];
    int failed_input;
    uint64_t total_input, first_batch_compressed;
    /* the run report and --explain: collected in the ordered step; the parallel phases only read them */
    cp_report *rep;           /* NULL with --no-report */
    cp_explain *ex;           /* NULL without --explain */
    int tracing;              /* this pass decides and writes (not a counting or collect pass) */
    int keep_norm;            /* a cluster's collect pass that spills, with the report on: cp_doc.norm_diff */
    int spilled;              /* a cluster's deciding pass: the batches come from the spill */
    const char *line_fate;    /* "line_dedup:first" / "line_dedup:all" */
    cp_progress *prog;
    uint64_t docs_seen;       /* documents of this pass so far, for the progress line */
    double last_sample;
    /* checkpoints (checkpoint.h) */
    cp_checkpointer *ck;      /* NULL: no checkpoints (off, standard input, cluster mode) */
    int pass;                 /* 1: counting pass of line-dedup mode all; 2: the deciding pass */
    cp_input_pos pos;         /* after the last batch processed */
    uint64_t input_bytes, ck_bytes_at;
    double ck_time_at, ck_write_seconds;
    int ck_written;           /* a checkpoint matches the .tmp files: keep them on the way out */
    char added[40];           /* dolma "added": the config's, or the interrupted run's date when resumed */
    /* copied before each region: P1 keeps the lines of documents at or below them (see run_region) */
    uint64_t rep_limit, ex_limit;
    /* a cluster's deciding pass: the spill's next batch, read by a region's filler (see run_pass) */
    int want_next, have_next, next_rc;
    cp_batch *next;
    char next_err[1024];
} run_t;

static const char *file_name(const run_t *r, uint32_t file)
{
    return r->o->files[file];
}

/* dolma's "source": --source, else the input file's name without its folder */
static const char *dolma_source(const run_t *r, uint32_t file)
{
    if (*r->cfg->dolma_source)
        return r->cfg->dolma_source;
    const char *f = file_name(r, file), *slash = strrchr(f, '/');
    return !strcmp(f, "-") ? "stdin" : slash ? slash + 1 : f;
}

/* The id of dedup ordinal first and its length: ids are stored one after another, each with a NUL after it
 * (an id may hold NUL bytes itself, so the next offset tells where it ends). */
static const char *dup_id(const run_t *r, uint64_t first, size_t *len)
{
    const cp_cluster_hooks *h = r->o->hooks;
    if (!r->cfg->dup_of)
        return NULL;
    if (h && h->phase == CP_PHASE_DECIDE)
        return h->id_of(h->ctx, first, len);
    if (first >= r->n_ids)
        return NULL;
    *len = (first + 1 < r->n_ids ? r->id_off[first + 1] : r->ids.len) - r->id_off[first] - 1;
    return r->ids.data + r->id_off[first];
}

/* Makes b's bytes the document's text by swapping buffers: the old text's memory becomes the scratch
 * buffer, so no stage copies a text back. */
static void take_text(cp_doc *d, cp_buf *b)
{
    char *old = d->text;
    size_t old_cap = d->text_cap ? d->text_cap : d->text_len + 1;
    if (!b->data)
        cp_buf_reserve(b, 0);
    b->data[b->len] = 0;
    d->text = b->data;
    d->text_len = b->len;
    d->text_cap = b->cap;
    b->data = old;
    b->cap = old_cap;
    b->len = 0;
}

static void p1_doc(run_t *r, cp_doc *d, scratch_t *s)
{
    const cp_config *cfg = r->cfg;
    double t0 = cp_now();
    if (d->warc ? !cp_warc_parse_doc(d, file_name(r, d->file))
                : !d->reject && !cp_parse_doc(d, cfg->text_fields, cfg->n_text_fields, file_name(r, d->file)))
        s->line_utf8_fixes += d->line_utf8_fixes;
    double t1 = cp_now();
    s->t[CP_T_PARSE] += t1 - t0;
    /* report examples and --explain: keep this document's lines when it may be picked (rare, see explain.h) */
    int full = 0, keep_lines = 0;
    if (r->tracing) {
        d->id_hash = d->id ? XXH3_64bits(d->id, d->id_len) : 0;
        full = r->ex && cp_explain_wants_limited(r->ex, d->id, d->id_len, file_name(r, d->file), d->line, d->id_hash,
                                                 r->ex_limit);
        keep_lines = full || (r->rep && !d->reject && d->id_hash <= r->rep_limit);
        if (full && d->reject)
            d->trace = cp_xdoc_create(1, "", 0);
    }
    if (d->reject)
        return;
    s->a.len = 0;
    cp_normalize_valid_text(d->text, d->text_len, &s->a, &s->b, &s->nc); /* jansson checked the UTF-8 */
    take_text(d, &s->a);
    double t2 = cp_now();
    s->t[CP_T_NORMALIZE] += t2 - t1;
    d->norm_len = d->clean_len = d->text_len;
    if (keep_lines)
        d->trace = cp_xdoc_create(full, d->text, d->text_len);
    if (r->cl) {
        cp_clean_stats cs;
        d->reject = cp_clean_doc(r->cl, d->text, d->text_len, s->cs, &s->a, &cs);
        cp_clean_stats_add(&s->clean, &cs);
        if (d->trace && d->reject)
            d->trace->clean_reject = d->reject;
        else if (d->trace)
            d->trace->nfates = cp_clean_fates(s->cs, d->trace->norm, &d->trace->fates, &d->trace->cap_fates);
        if (r->keep_norm && !d->reject && (s->a.len != d->text_len || memcmp(s->a.data, d->text, d->text_len))) {
            cp_spill_norm_diff(d->text, d->text_len, s->a.data, s->a.len, &s->b);
            d->norm_diff = cp_xstrndup(s->b.data, s->b.len);
            d->norm_diff_len = s->b.len;
        }
        take_text(d, &s->a);
        d->clean_len = d->reject ? 0 : d->text_len;
        if (!d->reject && r->line_mode != CP_LINE_DEDUP_OFF)
            cp_clean_hash_lines(r->cl, d->text, d->text_len, s->cs, &d->lines);
        s->t[CP_T_CLEAN] += cp_now() - t2;
    }
    if (d->reject)
        return;
    if (!d->text_len) {
        d->reject = "empty_text";
        return;
    }
    /* Document keys come from the text before corpus-wide line dedup: that step removes what earlier
     * documents already said, so after it a copy would look like an empty or unrelated text. */
    double t3 = cp_now();
    if (cfg->dedup_exact || r->mh)
        d->h_exact = cp_dedup_text_hash(d->text, d->text_len, &s->c); /* leaves the normalised text in s->c */
    if (cfg->dedup_url && d->url)
        d->has_url_key = !cp_url_hash(d->url, d->url_len, &d->h_url, &s->b);
    double t4 = cp_now();
    s->t[CP_T_DEDUP_KEYS] += t4 - t3;
    if (r->mh) {
        d->bands = cp_xmalloc((size_t)r->nbands * sizeof *d->bands);
        cp_minhash_bands(r->mh, s->ms, s->c.data, s->c.len, d->bands);
        s->t[CP_T_MINHASH] += cp_now() - t4;
    }
}

/* P1 of a cluster's deciding pass that reads the spill: P1 ran in the collect pass, which traced nothing;
 * only the id hash again. A report example's trace is rebuilt in S2 (spilled_trace). */
static void p1_spilled(run_t *r, cp_doc *d)
{
    if (r->tracing)
        d->id_hash = d->id ? XXH3_64bits(d->id, d->id_len) : 0;
}

/* S2 of a cluster's deciding pass, before the report takes a kept document: the trace p1_doc would have
 * made for it, from the normalised text (spilled when cleaning changed it) and the fates of its lines, by
 * cleaning that text once more (its counters are not counted twice). Built here, where the report's limit
 * already holds every earlier document, and not in P1, where a region's limit is set before the previous
 * batch reached the report (every document of the first two batches would be a candidate): a few
 * documents per rank. */
static void spilled_trace(run_t *r, cp_doc *d, scratch_t *s)
{
    if (d->reject || d->trace || d->id_hash > cp_report_lines_limit(r->rep))
        return;
    /* rebuilt in P2 (p2_doc). The spill's checksums vouch for the difference: one that did not fit would be a
     * bug, and the example would show the cleaned text as if cleaning had kept every line */
    const char *norm = d->norm_text ? d->norm_text : d->text;
    size_t len = d->norm_text ? d->norm_len : d->text_len;
    d->trace = cp_xdoc_create(0, norm ? norm : "", norm ? len : 0);
    if (r->cl && norm) {
        cp_clean_stats cs;
        const char *rj = cp_clean_doc(r->cl, d->trace->norm, len, s->cs, &s->a, &cs);
        if (rj) /* cannot be: this text passed cleaning in the collect pass */
            d->trace->clean_reject = rj;
        else
            d->trace->nfates = cp_clean_fates(s->cs, d->trace->norm, &d->trace->fates, &d->trace->cap_fates);
        s->a.len = 0;
    }
}

static int lang_wanted(const cp_config *cfg, const char *code)
{
    if (!cfg->n_keep_langs)
        return 1;
    for (size_t i = 0; i < cfg->n_keep_langs; i++)
        if (!strcmp(cfg->keep_langs[i], code))
            return 1;
    return 0;
}

/* --explain: the language candidates and the sample, then every filter's value (the normal path's decision
 * is computed as always, so explaining cannot change it; a test checks that both agree). */
static void explain_lang(run_t *r, cp_doc *d, size_t sample, scratch_t *s)
{
    cp_xdoc *x = d->trace;
    if (r->cfg->langid_backend == CP_LANGID_FASTTEXT) {
        /* the fastText backend gives its top label only */
        x->sample_len = cp_langid_sample_len(d->text, d->text_len, sample);
        x->ncand = 1;
        memcpy(x->cand[0].code, d->lang.code, sizeof x->cand[0].code);
        x->cand[0].score = d->lang.score;
    } else {
        x->ncand = cp_langid_candidates(d->text, d->text_len, sample, x->cand, &x->sample_len);
    }
    x->sample = cp_xstrndup(d->text, x->sample_len);
    if (r->flt && lang_wanted(r->cfg, d->lang.code) && d->lang.score >= r->cfg->min_lang_score) {
        x->filtered = 1;
        x->filter_reason = cp_filter_doc_traced(r->flt, d->text, d->text_len, d->lang.code, s->fs, &x->trace);
    }
}

static void p2_doc(run_t *r, cp_doc *d, scratch_t *s)
{
    const cp_config *cfg = r->cfg;
    if (d->reject)
        return;
    double t0 = cp_now();
    /* a cluster's possible report example (spilled_trace): its normalised text, from the cleaned text before
     * line dedup changes it (a text cleaning left alone is that text itself); rep_limit only falls, so S2's
     * candidates are among these */
    if (r->spilled && r->rep && d->id_hash <= r->rep_limit && (d->norm_diff || d->drop))
        d->norm_text = d->norm_diff ? cp_spill_norm_text(d->norm_diff, d->norm_diff_len, d->text, d->text_len,
                                                         d->norm_len)
                                    : cp_xstrndup(d->text, d->text_len);
    if (d->drop) {
        cp_clean_drop_lines(d->text, d->text_len, &d->lines, d->drop, &s->a);
        take_text(d, &s->a);
        s->t[CP_T_CLEAN] += cp_now() - t0;
        if (!d->text_len) {
            d->reject = "dup_lines"; /* every line was already said by earlier documents */
            return;
        }
    }
    if (!d->text_len) {
        d->reject = "empty_text";
        return;
    }
    t0 = cp_now();
    size_t sample = cfg->langid_sample_bytes;
    cp_langid_run(r->lid, d->text, d->text_len, sample, &d->lang);
    /* CLD2 says "unknown" when the sample holds too little evidence (rare words, names, numbers): look at
     * four times as much before giving up. Rare on real text, so it costs nothing measurable. */
    if (sample && d->text_len > sample && !strcmp(d->lang.code, "und"))
        cp_langid_run(r->lid, d->text, d->text_len, sample *= 4, &d->lang);
    d->has_lang = 1;
    if (d->trace && d->trace->full)
        explain_lang(r, d, sample, s);
    double t1 = cp_now();
    s->t[CP_T_LANGID] += t1 - t0;
    if (!lang_wanted(cfg, d->lang.code))
        d->reject = "lang:not_selected";
    else if (d->lang.score < cfg->min_lang_score)
        d->reject = "lang:low_score";
    else if (r->flt)
        d->reject = cp_filter_doc(r->flt, d->text, d->text_len, d->lang.code, s->fs);
    s->t[CP_T_FILTER] += cp_now() - t1;
}

/* S2 for the report and --explain: the document joins their figures and picks, then its trace goes. */
static const char *dup_of_id(const run_t *r, const cp_doc *d, size_t *len);
static uint64_t doc_pos(const run_t *r, const cp_doc *d);
static void report_doc(run_t *r, cp_doc *d, scratch_t *s)
{
    size_t of_len = 0;
    const char *of = dup_of_id(r, d, &of_len);
    if (r->rep && r->spilled)
        spilled_trace(r, d, s);
    if (r->rep)
        cp_report_add(r->rep, d, doc_pos(r, d), file_name(r, d->file), of, of_len, r->line_fate);
    if (r->ex && d->trace)
        cp_explain_add(r->ex, d, file_name(r, d->file), of, of_len, r->line_fate);
    cp_xdoc_free(d->trace);
    d->trace = NULL;
}

static void note(run_t *r, int kind, const cp_doc *d, const char *detail)
{
    if (r->o->quiet)
        return;
    uint64_t n = ++r->messages[kind];
    if (n > MESSAGES_PER_KIND && !r->o->verbose) {
        if (n == MESSAGES_PER_KIND + 1)
            fprintf(stderr, "corpusprep: further '%s' messages suppressed (counted in stats.json; -v shows all)\n",
                    d->reject);
        return;
    }
    fprintf(stderr, "corpusprep: %s:%" PRIu64 ": %s%s%s\n", file_name(r, d->file), d->line, d->reject,
            detail ? ": " : "", detail ? detail : "");
}

static uint64_t doc_pos(const run_t *r, const cp_doc *d)
{
    return CP_POS(r->o->file_index ? r->o->file_index[d->file] : d->file, d->line);
}

/* One key of a document reaching the dedup step: 1 when an earlier document has it (*first says which,
 * as a dedup ordinal locally or a position in cluster mode). Locally every document inserts its keys. */
static int seen_key(run_t *r, int kind, uint64_t key, uint64_t ord, uint64_t pos, uint64_t *first)
{
    const cp_cluster_hooks *h = r->o->hooks;
    if (h && h->phase != CP_PHASE_LOCAL) {
        if (h->phase == CP_PHASE_COLLECT_DOCS) {
            h->collect(h->ctx, kind, key, pos);
            return 0;
        }
        return h->first(h->ctx, kind, key, pos, first); /* line keys never come here */
    }
    if (kind == CP_KEY_EXACT)
        return cp_keymap_check_insert(r->exact, key, ord, first);
    if (kind == CP_KEY_URL)
        return cp_keymap_check_insert(r->url, key, ord, first);
    return 0;
}

/* Document dedup decision, in input order: exact, URL, near. Every document that reaches it inserts all its
 * keys; the first kind of key already present names the reason. */
static void decide_doc(run_t *r, cp_doc *d)
{
    const cp_config *cfg = r->cfg;
    const cp_cluster_hooks *h = r->o->hooks;
    int cluster = h && h->phase != CP_PHASE_LOCAL;
    uint64_t ord = r->n_ids, first, pos = doc_pos(r, d);
    if (cluster) {
        if (h->phase == CP_PHASE_COLLECT_DOCS && h->collect_id)
            h->collect_id(h->ctx, pos, d->id, d->id_len);
    } else if (cfg->dup_of && !r->counting) {
        if (r->n_ids == r->cap_ids) {
            r->cap_ids = r->cap_ids ? r->cap_ids * 2 : 4096;
            r->id_off = cp_xrealloc(r->id_off, r->cap_ids * sizeof *r->id_off);
        }
        r->id_off[r->n_ids] = r->ids.len;
        cp_buf_append(&r->ids, d->id, d->id_len + 1);
    }
    r->n_ids++;
    const char *why = NULL;
    if (cfg->dedup_exact && seen_key(r, CP_KEY_EXACT, d->h_exact, ord, pos, &first) && !why) {
        why = "dup_exact";
        d->dup_of = first;
    }
    if (d->has_url_key && seen_key(r, CP_KEY_URL, d->h_url, ord, pos, &first) && !why) {
        why = "dup_url";
        d->dup_of = first;
    }
    if (r->mh) { /* every document reaching this step has its bands (not kept in a cluster's spill) */
        uint64_t near = CP_LSH_NONE;
        if (cluster && h->phase == CP_PHASE_DECIDE) {
            if (seen_key(r, CP_KEY_BAND, 0, ord, pos, &first)) /* the driver answers per document */
                near = first;
        } else if (cluster) {
            for (int b = 0; b < r->nbands; b++)
                if (seen_key(r, CP_KEY_BAND, d->bands[b], ord, pos, &first) && first < near)
                    near = first;
        } else {
            near = cp_lsh_check_insert(r->lsh, ord, d->bands);
        }
        if (near != CP_LSH_NONE && !why) {
            why = "dup_near";
            d->dup_of = near; /* CP_LSH_MATCH from a compact index: no dup_of */
            if (!r->counting && near != CP_LSH_MATCH) {
                if (r->n_near == r->cap_near) {
                    r->cap_near = r->cap_near ? r->cap_near * 2 : 1024;
                    r->near_of = cp_xrealloc(r->near_of, r->cap_near * sizeof *r->near_of);
                }
                r->near_of[r->n_near++] = near;
            }
        }
    }
    d->reject = why;
}

/* S1, in input order: the document's dedup decision, then corpus-wide line dedup. Mode first: a line already seen in an earlier document goes.
 * Mode all: a line found in at least min_docs documents goes everywhere (counted in a first pass). */
static void s1_doc(run_t *r, cp_doc *d)
{
    if (d->reject)
        return;
    decide_doc(r, d);
    /* duplicates do not count for line dedup: a hundred copies of an article must not make its own lines
     * look like boilerplate, and their lines were seen in the original anyway (a cluster's collect pass
     * knows no duplicates yet: it reports every document's lines and the driver drops the duplicates') */
    if (d->reject || !d->lines.n)
        return;
    const cp_cluster_hooks *h = r->o->hooks;
    uint64_t pos = doc_pos(r, d);
    if (r->counting) {
        /* a line counts once per document: sort the document's hashes and count each distinct one */
        if (d->lines.n > r->count_cap) {
            r->count_cap = d->lines.n;
            r->count_buf = cp_xrealloc(r->count_buf, r->count_cap * sizeof *r->count_buf);
        }
        for (size_t i = 0; i < d->lines.n; i++)
            r->count_buf[i] = d->lines.v[i].hash;
        qsort(r->count_buf, d->lines.n, sizeof *r->count_buf, cmp_u64);
        for (size_t i = 0; i < d->lines.n; i++)
            if (!i || r->count_buf[i] != r->count_buf[i - 1])
                (*cp_keymap_upsert(r->lines, r->count_buf[i], 0))++;
        return;
    }
    for (size_t i = 0; i < d->lines.n; i++) {
        uint64_t hash = d->lines.v[i].hash, first = 0;
        int gone;
        if (h && h->phase != CP_PHASE_LOCAL) {
            if (h->phase == CP_PHASE_COLLECT_DOCS) {
                h->collect(h->ctx, CP_KEY_LINE, hash, pos);
                continue;
            }
            gone = h->first(h->ctx, CP_KEY_LINE, hash, pos, &first);
        } else if (r->line_mode == CP_LINE_DEDUP_ALL) {
            uint64_t count = 0;
            gone = cp_keymap_get(r->lines, hash, &count) && count >= r->line_min_docs;
        } else {
            uint64_t *v = cp_keymap_upsert(r->lines, hash, pos);
            gone = *v != pos;
        }
        if (!gone)
            continue;
        if (!d->drop)
            d->drop = cp_xcalloc(d->lines.n, 1);
        d->drop[i] = 1;
        r->line_drops++;
        r->line_drop_bytes += d->lines.v[i].len + 1;
    }
}


/* S2: counters and per-document messages, in input order. */
/* The id "dup_of" names, or NULL. */
static const char *dup_of_id(const run_t *r, const cp_doc *d, size_t *len)
{
    /* dup_lines has no single first document: no dup_of */
    const char *of = d->reject && !strncmp(d->reject, "dup_", 4) && strcmp(d->reject, "dup_lines")
                         ? dup_id(r, d->dup_of, len) : NULL;
    if (of && !r->cfg->near_dup_of && !strcmp(d->reject, "dup_near"))
        of = NULL; /* a compact index does not know it; cluster mode leaves it out the same way */
    return of;
}

static void s2_doc(run_t *r, cp_doc *d, scratch_t *s)
{
    cp_stats *st = r->st;
    st->docs_in++;
    st->text_chars_in += d->text_in_len;
    if (d->reject) {
        cp_counters_add(&st->rejected, d->reject, 1, d->text_len);
        if (!strcmp(d->reject, "parse_error"))
            note(r, 0, d, d->parse_error);
        else if (!strcmp(d->reject, "not_object") || !strcmp(d->reject, "no_text"))
            note(r, 1, d, NULL);
        else if (d->warc && strcmp(d->reject, "warc_truncated") && !strncmp(d->reject, "warc_", 5))
            note(r, 3, d, d->parse_error); /* warc_truncated went out as an input error already */
        else if (!strcmp(d->reject, "line_too_long")) {
            char msg[64];
            snprintf(msg, sizeof msg, "%zu bytes", d->raw_len);
            note(r, 2, d, msg);
        }
        if (d->line_utf8_fixes && r->o->verbose)
            fprintf(stderr, "corpusprep: %s:%" PRIu64 ": %zu invalid UTF-8 sequences replaced\n",
                    file_name(r, d->file), d->line, d->line_utf8_fixes);
    } else {
        st->docs_kept++;
        st->text_chars_out += d->text_len;
        cp_counters_add(&st->langs, d->lang.code, 1, d->text_len);
    }
    if (r->tracing && (r->rep || r->ex))
        report_doc(r, d, s);
}

/* Sizes the near-dup index from the first batch: documents per input byte times the input's size. The
 * index is most accurate when sized up front (see minhash.c), and a run that cannot fit is better told
 * now than after hours. */
static void make_lsh(run_t *r, const cp_batch *b)
{
    uint64_t expected = 0;
    if (r->total_input && b->bytes_in && r->first_batch_compressed)
        expected = (uint64_t)((double)b->n * (double)r->total_input / (double)r->first_batch_compressed * 1.2);
    int compact = !r->cfg->near_dup_of;
    r->lsh = compact ? cp_lsh_create_compact(r->nbands, expected) : cp_lsh_create(r->nbands, expected);
    double need = (double)expected * (compact ? cp_lsh_compact_bytes_per_doc_estimate(r->nbands)
                                              : cp_lsh_bytes_per_doc_estimate(r->nbands));
    double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (expected && need > 0.7 * ram)
        fprintf(stderr,
                "corpusprep: warning: about %.0f million documents expected; the near-duplicate index would need "
                "about %.1f GB of the %.1f GB of RAM (turn near_dedup off or split the run across nodes)\n",
                expected / 1e6, need / 1e9, ram / 1e9);
}

static void release_doc(cp_doc *d)
{
    cp_xdoc_free(d->trace); /* a pass that stops before S2 */
    d->trace = NULL;
    cp_doc_release(d);
}

/* The output line of one document (cp_chunks' emit callback). */
static void emit_doc(void *ctx, const cp_doc *d, cp_buf *out)
{
    const run_t *r = ctx;
    if (!d->reject && r->cfg->format == CP_FORMAT_DOLMA)
        cp_dolma_emit(d, dolma_source(r, d->file), r->added, out);
    else {
        size_t of_len = 0;
        const char *of = dup_of_id(r, d, &of_len);
        cp_emit_doc(d, file_name(r, d->file), of, of_len, out);
    }
}

/* ---- regions: one batch finishes while the next one starts --------------------------------------------
 *
 * A region is one parallel loop (overlap.h) over two batches: the tail of batch k-1, a chain of stages
 * that alternate ordered steps and parallel loops (S1, P2, S2 + output plan, output chunks, write), and
 * as filler P1 of batch k. While one thread runs an ordered step the others parse, so no core waits through
 * the serial parts, and the output chunks (a few large items) are spread among many small P1 items.
 * What runs side by side never shares state: P1 reads only the configuration and the two "may it become an
 * example" limits, which are copied before the region (an older limit admits a superset of documents, and
 * the ordered step picks the same examples from it). Every decision that depends on other documents is
 * still taken in an ordered step in input order, so the output does not depend on the schedule. */

#define P1_GROUP 8      /* documents per P1 or P2 item */
#define RELEASE_GROUP 64 /* documents per release item */

enum { TAIL_S1, TAIL_P2, TAIL_S2, TAIL_OUT, TAIL_WRITE, TAIL_END };

typedef struct {
    run_t *r;
    cp_batch *tail;           /* finishing in this region, or NULL */
    cp_batch *head;           /* starting (P1) in this region, or NULL */
    int early;                /* the tail stops after S1 (counting pass, cluster collect pass) */
    int prefetch;             /* filler item 0 reads the spill's next batch */
    cp_chunks *chunks;        /* the tail's output plan, made in S2 */
    int rc;                   /* the write failed: err says why */
    char err[1024];
} region_t;

static long groups(size_t n, size_t per)
{
    return (long)((n + per - 1) / per);
}

/* The tail's input errors and WARC counts: in the ordered step, so they are in input order with the rest. */
static void batch_events(run_t *r, const cp_batch *b)
{
    /* a cluster's collect passes read the same input again: the deciding pass reports its errors */
    int rereading = r->o->hooks && r->o->hooks->phase != CP_PHASE_DECIDE;
    for (size_t i = 0; i < b->n_events && !r->counting && !rereading; i++) {
        fprintf(stderr, "corpusprep: %s\n", b->events[i]);
        if (b->event_fatal[i]) {
            r->failed_input = 1;
            r->st->files_failed++;
            if (r->rep)
                cp_report_file_failed(r->rep, file_name(r, b->event_file[i]));
        }
    }
    if (!r->counting && !rereading) {
        for (size_t i = 0; i < b->warc_records.n; i++)
            cp_counters_add(&r->st->warc_records, b->warc_records.items[i].name, b->warc_records.items[i].docs, 0);
    }
}

/* S2 ends with the output plan: each document's destination, cut into chunks. */
static cp_chunks *plan_output(run_t *r, const cp_batch *b)
{
    const cp_config *cfg = r->cfg;
    const char **dest = cp_xmalloc((b->n ? b->n : 1) * sizeof *dest);
    for (size_t i = 0; i < b->n; i++) {
        const cp_doc *d = &b->docs[i];
        if (d->reject)
            dest[i] = cfg->keep_rejected ? "rejected" : NULL;
        else
            dest[i] = cfg->split_by_lang ? d->lang.code : "";
    }
    cp_chunks *c = cp_chunks_plan(b, dest, CHUNK_BYTES);
    free(dest);
    return c;
}

static long region_stage_items(void *ctx, int k)
{
    region_t *g = ctx;
    size_t n = g->tail ? g->tail->n : 0;
    if (!g->tail || k >= TAIL_END)
        return -1;
    switch (k) {
    case TAIL_S1:
    case TAIL_S2:
    case TAIL_WRITE:
        return g->early && k != TAIL_S1 ? 0 : 1;
    case TAIL_P2:
        return g->early ? 0 : groups(n, P1_GROUP);
    default: /* TAIL_OUT: the chunks, then the documents no chunk holds (all of them when early) */
        return (g->chunks ? (long)cp_chunks_count(g->chunks) : 0) + groups(n, RELEASE_GROUP);
    }
}

static void region_run_stage(void *ctx, int k, long item, int thread)
{
    region_t *g = ctx;
    run_t *r = g->r;
    cp_batch *b = g->tail;
    scratch_t *s = &r->scr[thread];
    double t0 = cp_now();
    switch (k) {
    case TAIL_S1:
        batch_events(r, b);
        if (r->mh && !r->lsh && !(r->o->hooks && r->o->hooks->phase != CP_PHASE_LOCAL))
            make_lsh(r, b);
        for (size_t i = 0; i < b->n; i++)
            s1_doc(r, &b->docs[i]);
        s->t[CP_T_DEDUP_COMMIT] += cp_now() - t0;
        /* a cluster's collect pass hands the batch, as P1 left it, to its spill before the documents go */
        if (g->early && !r->counting && r->o->hooks->spill &&
            r->o->hooks->spill(r->o->hooks->ctx, b, g->err, sizeof g->err))
            g->rc = -1;
        break;
    case TAIL_P2:
        for (size_t i = (size_t)item * P1_GROUP; i < (size_t)(item + 1) * P1_GROUP && i < b->n; i++) {
            cp_doc *d = &b->docs[i];
            p2_doc(r, d, s);
            /* the keys served S1 and the line hashes P2: gone before the batch waits for its output, unless
             * --explain or the report reads the lines' fates in S2 (a cluster's report builds its traces
             * there: the lines stay until S2 has seen them) */
            free(d->bands);
            d->bands = NULL;
            if (!d->trace && !(r->spilled && r->rep && !d->reject)) {
                free(d->drop);
                d->drop = NULL;
                cp_line_hashes_free(&d->lines);
            }
        }
        break;
    case TAIL_S2:
        for (size_t i = 0; i < b->n; i++)
            s2_doc(r, &b->docs[i], s);
        g->chunks = plan_output(r, b);
        s->t[CP_T_DEDUP_COMMIT] += cp_now() - t0;
        break;
    case TAIL_OUT: {
        long nchunks = g->chunks ? (long)cp_chunks_count(g->chunks) : 0;
        if (item < nchunks) { /* a chunk: emit + compress, then its documents go */
            cp_chunks_make(g->chunks, (size_t)item, b, emit_doc, r, s->comp, &s->a, &s->t[CP_T_EMIT],
                           &s->t[CP_T_COMPRESS]);
            size_t nd;
            const size_t *docs = cp_chunks_docs(g->chunks, (size_t)item, &nd);
            for (size_t j = 0; j < nd; j++)
                release_doc(&b->docs[docs[j]]);
        } else {
            size_t i0 = (size_t)(item - nchunks) * RELEASE_GROUP;
            for (size_t i = i0; i < i0 + RELEASE_GROUP && i < b->n; i++)
                if (!g->chunks || !cp_chunks_holds(g->chunks, i))
                    release_doc(&b->docs[i]);
        }
        break;
    }
    default: /* TAIL_WRITE */
        g->rc = cp_chunks_write(g->chunks, r->w, g->err, sizeof g->err);
        s->t[CP_T_WRITE] += cp_now() - t0;
        break;
    }
}

/* A cluster's deciding pass: its P1 is next to nothing, so a thread that no ordered step needs would only
 * wait; it reads (decompresses) the spill's next batch instead, which otherwise ran between regions while
 * the other threads waited. One filler item, so one thread at a time uses the spill's reader. */
static void prefetch(run_t *r)
{
    const cp_cluster_hooks *h = r->o->hooks;
    r->want_next = 0;
    r->next = NULL;
    r->next_rc = h->next_batch(h->ctx, &r->next, r->next_err, sizeof r->next_err);
    r->have_next = 1;
}

static void region_run_filler(void *ctx, long item, int thread)
{
    region_t *g = ctx;
    if (g->prefetch && item-- == 0) {
        prefetch(g->r);
        return;
    }
    cp_batch *b = g->head;
    for (size_t i = (size_t)item * P1_GROUP; i < (size_t)(item + 1) * P1_GROUP && i < b->n; i++)
        if (g->r->spilled) /* P1 ran in the collect pass */
            p1_spilled(g->r, &b->docs[i]);
        else
            p1_doc(g->r, &b->docs[i], &g->r->scr[thread]);
}

static void region_thread_begin(void *ctx, int thread)
{
    phase_begin(&((region_t *)ctx)->r->scr[thread]);
}

static void region_thread_end(void *ctx, int thread)
{
    phase_end(&((region_t *)ctx)->r->scr[thread]);
}

/* Finishes tail (taking it over: it is freed here) while head, when given, runs P1. Returns 0 or -1 with a
 * message (the tail's output could not be written). */
static int run_region(run_t *r, cp_batch *tail, cp_batch *head, char *err, size_t errlen)
{
    static const cp_overlap_ops ops = {region_stage_items, region_run_stage, region_run_filler,
                                       region_thread_begin, region_thread_end};
    region_t g = {.r = r, .tail = tail, .head = head, .prefetch = head && r->want_next};
    g.early = r->counting || (r->o->hooks && r->o->hooks->phase == CP_PHASE_COLLECT_DOCS);
    r->rep_limit = r->rep ? cp_report_lines_limit(r->rep) : 0;
    r->ex_limit = r->ex ? cp_explain_limit(r->ex) : 0;
    cp_overlap_run(&ops, &g, (head ? groups(head->n, P1_GROUP) : 0) + g.prefetch);
    if (tail) {
        r->pos = tail->end;
        r->input_bytes += tail->bytes_in;
        cp_batch_free(tail);
    }
    cp_chunks_destroy(g.chunks);
    if (g.rc)
        snprintf(err, errlen, "%s", g.err);
    return g.rc;
}

/* After a failure: a batch that ran P1 goes without the rest. */
static void drop_batch(cp_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        release_doc(&b->docs[i]);
    cp_batch_free(b);
}


/* Histogram of near-duplicate cluster sizes (first document + its near duplicates), as
 * {"2": clusters of two, ..., "11-100": ..., "101+": ...}. */
static json_t *near_histogram(run_t *r)
{
    if (r->n_near)
        qsort(r->near_of, r->n_near, sizeof *r->near_of, cmp_u64);
    uint64_t counts[13] = {0};
    static const char *const names[13] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11-100", "101+"};
    for (size_t i = 0; i < r->n_near;) {
        size_t j = i;
        while (j < r->n_near && r->near_of[j] == r->near_of[i])
            j++;
        uint64_t size = j - i + 1;
        counts[size <= 10 ? size : size <= 100 ? 11 : 12]++;
        i = j;
    }
    json_t *h = json_object();
    for (int k = 2; k < 13; k++)
        if (counts[k])
            json_object_set_new(h, names[k], json_integer((json_int_t)counts[k]));
    return h;
}

static json_t *stats_extra(run_t *r)
{
    json_t *extra = json_object();
    json_object_set_new(extra, "dedup_exact_keys", json_integer((json_int_t)cp_keymap_count(r->exact)));
    json_object_set_new(extra, "dedup_table_bytes",
                        json_integer((json_int_t)(cp_keymap_bytes(r->exact) + cp_keymap_bytes(r->url) +
                                                  r->ids.cap + r->cap_ids * sizeof *r->id_off)));
    json_object_set_new(extra, "threads", json_integer(r->nthreads));
    if (r->mh)
        json_object_set_new(extra, "near_dup_clusters", near_histogram(r));
    if (r->lsh) {
        size_t bytes = cp_lsh_bytes(r->lsh);
        json_object_set_new(extra, "near_dup_index_bytes", json_integer((json_int_t)bytes));
        json_object_set_new(extra, "near_dup_bytes_per_doc",
                            json_real(r->n_ids ? (double)bytes / (double)r->n_ids : 0));
    }
    if (r->rep) {
        /* the report's figures; "report_examples" is taken out again before stats.json is written */
        json_t *fig = cp_report_stats_json(r->rep), *lb = json_object(), *info = json_object(), *in = json_array();
        json_object_update(extra, fig);
        json_decref(fig);
        for (size_t i = 0; i < r->st->langs.n; i++)
            json_object_set_new(lb, r->st->langs.items[i].name, json_integer((json_int_t)r->st->langs.items[i].chars));
        json_object_set_new(extra, "lang_text_bytes", lb);
        for (size_t i = 0; i < r->o->nfiles && i < 20; i++)
            json_array_append_new(in, json_string(r->o->files[i]));
        json_object_set_new(info, "inputs", in);
        json_object_set_new(info, "version", json_string(r->o->version ? r->o->version : "?"));
        json_object_set_new(info, "preset", json_string(r->o->preset ? r->o->preset : "news (default)"));
        json_object_set_new(extra, "run_info", info);
        json_object_set_new(extra, "report_examples", cp_report_examples_json(r->rep));
    }
    return extra;
}

static int write_stats(run_t *r, cp_stats *st, char *err, size_t errlen)
{
    json_t *j = cp_stats_to_json(st);
    json_object_set(j, "config", r->cfg->tree);
    json_t *ex = json_incref(json_object_get(j, "report_examples"));
    json_object_del(j, "report_examples");
    int rc = cp_write_json_atomic(r->o->outdir, "stats.json", j, err, errlen);
    if (!rc && r->rep)
        rc = cp_report_write(r->o->outdir, j, ex, err, errlen);
    json_decref(ex);
    json_decref(j);
    if (!rc && !r->o->quiet)
        cp_stats_print(st);
    return rc;
}

/* Compressed bytes this run reads: the files, or the parts of them it was given. */
static uint64_t total_input_bytes(char *const *files, size_t n, const cp_reader_range *ranges)
{
    uint64_t t = 0;
    struct stat sb;
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i], "-") && stat(files[i], &sb) == 0) {
            uint64_t size = (uint64_t)sb.st_size, off = ranges ? ranges[i].offset : 0;
            t += ranges && ranges[i].length ? ranges[i].length : size > off ? size - off : 0;
        }
    return t;
}


/* ---- checkpoints: what the run hands to checkpoint.c and takes back from it ---------------------- */

/* A checkpoint's cost grows with the tables: a time interval stretches to 33 times the last write, so that
 * writing them never takes more than ~3 % of the run. */
static int checkpoint_due(const run_t *r)
{
    const cp_pipeline_opts *o = r->o;
    double every = o->checkpoint_seconds > 33 * r->ck_write_seconds ? o->checkpoint_seconds : 33 * r->ck_write_seconds;
    return r->ck && ((o->checkpoint_bytes && r->input_bytes - r->ck_bytes_at >= o->checkpoint_bytes) ||
                     (o->checkpoint_seconds > 0 && cp_now() - r->ck_time_at >= every));
}

/* Writes a checkpoint of the state after the last batch processed (the tables are lent, not copied). */
static int checkpoint_now(run_t *r, char *err, size_t errlen)
{
    cp_ckpt_state s;
    memset(&s, 0, sizeof s);
    s.pass = r->pass;
    s.pos = r->pos;
    s.input_bytes = r->input_bytes;
    s.exact = r->exact;
    s.url = r->url;
    s.lines = r->lines;
    s.lsh = r->lsh;
    s.ids = r->ids;
    s.id_off = r->id_off;
    s.n_ids = r->n_ids;
    s.n_id_off = r->pass == 2 && r->cfg->dup_of ? r->n_ids : 0; /* the counting pass keeps no ids */
    s.cap_ids = r->cap_ids;
    s.near_of = r->near_of;
    s.n_near = r->n_near;
    s.line_drops = r->line_drops;
    s.line_drop_bytes = r->line_drop_bytes;
    s.first_batch_compressed = r->first_batch_compressed;
    memcpy(s.messages, r->messages, sizeof s.messages);
    s.failed_input = r->failed_input;
    memcpy(s.dolma_added, r->added, sizeof s.dolma_added);
    s.report = r->rep ? cp_report_state_to_json(r->rep) : NULL;
    for (int i = 0; i < r->nthreads; i++) {
        const scratch_t *t = &r->scr[i];
        cp_clean_stats_add(&s.clean, &t->clean);
        s.nc.utf8_fixed += t->nc.utf8_fixed;
        s.nc.controls += t->nc.controls;
        s.nc.nfc_changed += t->nc.nfc_changed;
        s.line_utf8_fixes += t->line_utf8_fixes;
        for (int k = 0; k < CP_T_N; k++)
            s.stage_seconds[k] += t->t[k];
    }
    double t0 = cp_now();
    int rc = cp_checkpoint_save(r->ck, &s, r->st, r->w, err, errlen);
    json_decref(s.report);
    if (rc)
        return -1;
    if (r->o->verbose)
        fprintf(stderr, "corpusprep: checkpoint at input file %" PRIu64 " line %" PRIu64 " written in %.2f s\n",
                r->pos.file + 1, r->pos.line, cp_now() - t0);
    r->ck_written = 1;
    r->ck_bytes_at = r->input_bytes;
    r->ck_time_at = cp_now();
    r->ck_write_seconds = r->ck_time_at - t0;
    return 0;
}

/* --resume: the run's state from the newest sound checkpoint (its tables replace the empty ones). */
static int checkpoint_resume(run_t *r, char *err, size_t errlen)
{
    cp_ckpt_state s;
    memset(&s, 0, sizeof s);
    double t0 = cp_now();
    int rc = cp_checkpoint_load(r->ck, &s, r->st, r->w, r->o->quiet, err, errlen);
    if (!rc && r->rep && s.report && cp_report_state_from_json(r->rep, s.report)) {
        snprintf(err, errlen, "checkpoint: the report's state is damaged");
        rc = -1;
    }
    if (rc) {
        cp_ckpt_state_free(&s);
        return rc;
    }
    json_decref(s.report);
    if (r->o->verbose)
        fprintf(stderr, "corpusprep: checkpoint loaded in %.2f s\n", cp_now() - t0);
    r->pass = s.pass;
    r->pos = s.pos;
    r->input_bytes = r->ck_bytes_at = s.input_bytes;
#define TAKE(field, destroy)                                                                                   \
    do {                                                                                                       \
        if (s.field) {                                                                                         \
            destroy(r->field);                                                                                 \
            r->field = s.field;                                                                                \
        }                                                                                                      \
    } while (0)
    TAKE(exact, cp_keymap_destroy);
    TAKE(url, cp_keymap_destroy);
    TAKE(lines, cp_keymap_destroy);
    TAKE(lsh, cp_lsh_destroy);
#undef TAKE
    r->ids = s.ids;
    r->id_off = s.id_off;
    r->n_ids = s.n_ids;
    r->cap_ids = s.cap_ids;
    r->near_of = s.near_of;
    r->n_near = r->cap_near = s.n_near;
    r->line_drops = s.line_drops;
    r->line_drop_bytes = s.line_drop_bytes;
    r->first_batch_compressed = s.first_batch_compressed;
    memcpy(r->messages, s.messages, sizeof r->messages);
    r->failed_input = s.failed_input;
    memcpy(r->added, s.dolma_added, sizeof r->added); /* a run resumed on another day keeps its date */
    r->scr[0].clean = s.clean; /* the sums: thread 0 carries them */
    r->scr[0].nc = s.nc;
    r->scr[0].line_utf8_fixes = s.line_utf8_fixes;
    memcpy(r->scr[0].t, s.stage_seconds, sizeof s.stage_seconds);
    r->ck_written = 1;
    return 0;
}

/* Checkpoints need files to go back to: none with standard input, and the cluster has its own plan. */
static int checkpoint_setup(run_t *r, char *err, size_t errlen)
{
    const cp_pipeline_opts *o = r->o;
    int on = o->resume || o->checkpoints;
    for (size_t i = 0; i < o->nfiles && on; i++) {
        struct stat sb;
        if (!strcmp(o->files[i], "-") || (stat(o->files[i], &sb) == 0 && !S_ISREG(sb.st_mode))) {
            if (o->resume) {
                snprintf(err, errlen, "--resume needs files it can read again, not %s",
                         strcmp(o->files[i], "-") ? o->files[i] : "standard input");
                return -2;
            }
            on = 0;
        }
    }
    if (on && o->explain) { /* explain.jsonl is collected in memory and not part of a checkpoint */
        if (o->resume) {
            snprintf(err, errlen, "--resume cannot go on with an --explain run; run it again with --force");
            return -2;
        }
        on = 0;
    }
    if (!on || o->hooks)
        return 0;
    r->ck = cp_checkpointer_create(o->outdir, cp_ckpt_fingerprint(r->cfg->tree, o->files, o->nfiles,
                                                                  o->version ? o->version : "unknown"));
    cp_writer_set_sync(r->w, 1);
    return o->resume ? checkpoint_resume(r, err, errlen) : 0;
}

/* One pass over every input: the feeder thread reads, this thread runs the batches. (A cluster's deciding
 * pass that reads the spill of its collect pass takes its batches from the hooks instead: no reading.) */
static int run_pass(run_t *r, double start, char *err, size_t errlen)
{
    r->ck_time_at = cp_now();
    const cp_pipeline_opts *o = r->o;
    const cp_cluster_hooks *h = o->hooks;
    int spilled = h && h->next_batch && h->phase == CP_PHASE_DECIDE;
    /* With one thread asked for, reading and processing take turns instead of overlapping: -t 1 means one
     * core, which is what a batch slot with one CPU gives (a second busy thread would only time-share). */
    cp_feeder_opts fo = {.cfg = r->cfg, .files = o->files, .nfiles = o->nfiles, .ranges = o->file_ranges,
                         .start = r->pos,
                         .serial = r->nthreads == 1};
    cp_feeder *f = NULL;
    if (!spilled && !(f = cp_feeder_start(&fo, err, errlen)))
        return -1;
    r->tracing = (r->rep || r->ex) && !r->counting && !(o->hooks && o->hooks->phase == CP_PHASE_COLLECT_DOCS);
    r->keep_norm = r->rep && !r->counting && h && h->phase == CP_PHASE_COLLECT_DOCS && h->spill;
    r->spilled = spilled;
    int rc = 0;
    cp_batch *started = NULL; /* a batch that ran P1: the next region finishes it */
    uint64_t read_bytes = 0;
    while (!rc) {
        cp_batch *b = NULL;
        if (spilled) {
            int got;
            if (r->have_next) { /* read during the last region */
                r->have_next = 0;
                got = r->next_rc;
                b = r->next;
                r->next = NULL;
                if (got < 0)
                    snprintf(err, errlen, "%s", r->next_err);
            } else {
                got = h->next_batch(h->ctx, &b, err, errlen);
            }
            if (got <= 0) {
                rc = got < 0 ? -1 : 0;
                break;
            }
            r->want_next = !b->last;
        } else if (!(b = cp_feeder_next(f, o->interrupted))) {
            rc = 130;
            break;
        } else {
            b->read_compressed = cp_feeder_progress_bytes(f);
        }
        read_bytes = b->read_compressed;
        if (!r->first_batch_compressed)
            r->first_batch_compressed = read_bytes;
        int last = b->last;
        r->docs_seen += b->n;
        if (!r->counting) { /* counted as it is read, so that progress lines keep up with docs_seen */
            r->st->blank_lines += b->blank_lines;
            r->st->bytes_in += b->bytes_in;
        }
        cp_batch *tail = started;
        started = b;
        if (run_region(r, tail, b, err, errlen))
            rc = -1;
        cp_test_kill_point("batch");
        if (!rc && checkpoint_due(r)) {
            /* a checkpoint holds whole batches: finish the started one first */
            cp_batch *t = started;
            started = NULL;
            if (run_region(r, t, NULL, err, errlen) || checkpoint_now(r, err, errlen))
                rc = -1;
        }
        if (o->interrupted && *o->interrupted) {
            rc = 130;
            break;
        }
        uint64_t progress_bytes = f ? cp_feeder_progress_bytes(f) : read_bytes;
        cp_progress_update(r->prog, progress_bytes, r->st->bytes_in, r->docs_seen);
        if (o->on_batch)
            o->on_batch(o->on_batch_ctx, progress_bytes, r->st->bytes_in, r->docs_seen);
        if (r->rep && !r->counting && cp_now() - r->last_sample >= 0.25) {
            r->last_sample = cp_now();
            cp_report_sample(r->rep, r->last_sample - start, r->st->bytes_in, r->st->docs_in);
        }
        if (last)
            break;
    }
    /* the last batch; an interrupted run finishes it too, so that the checkpoint after it holds it whole */
    if (started && (!rc || rc == 130)) {
        cp_batch *t = started;
        started = NULL;
        if (run_region(r, t, NULL, err, errlen))
            rc = -1;
    }
    drop_batch(started);
    drop_batch(r->next); /* read ahead by a region, not run: the run stopped first */
    r->next = NULL;
    r->have_next = r->want_next = 0;
    if (!f) {
        cp_progress_finish(r->prog, read_bytes, r->st->bytes_in, r->docs_seen);
        return rc;
    }
    if (rc)
        cp_feeder_stop(f);
    /* interrupted: the reader may sit in read() on a pipe that stays quiet; give it a moment, then cancel it */
    cp_feeder_join(f, rc == 130 ? 1.0 : 0);
    cp_progress_finish(r->prog, cp_feeder_progress_bytes(f), r->st->bytes_in, r->docs_seen);
    r->st->stage_seconds[CP_T_READ] += cp_feeder_read_seconds(f);
    if (!r->counting)
        r->st->bytes_in_compressed = cp_feeder_done_compressed(f);
    cp_feeder_destroy(f);
    return rc;
}

int cp_pipeline_run(const cp_pipeline_opts *o, cp_stats *st, char *err, size_t errlen)
{
    const cp_config *cfg = o->cfg;
    double start = cp_now();
    run_t r = {0};
    r.o = o;
    r.cfg = cfg;
    r.st = st;
    if (cfg->threads > 0)
        omp_set_num_threads(cfg->threads);
    r.nthreads = omp_get_max_threads();
    r.scr = cp_xcalloc((size_t)r.nthreads, sizeof *r.scr);
    int rc = 0;
    json_t *clean = json_object_get(cfg->tree, "clean"), *filter = json_object_get(cfg->tree, "filter");
    /* "clean": false / "filter": false turn a stage off (the none preset) */
    if (json_is_object(clean) && !(r.cl = cp_cleaner_create(clean, err, errlen)))
        rc = -2;
    if (!rc && json_is_object(filter) && !(r.flt = cp_filter_create(filter, err, errlen)))
        rc = -2;
    if (!rc && !(r.lid = cp_langid_open(cfg->langid_backend, cfg->langid_model, err, errlen)))
        rc = -2;
    if (!rc && r.cl) {
        const cp_line_dedup_params *lp = cp_cleaner_line_dedup(r.cl);
        r.line_mode = lp->mode;
        r.line_min_docs = lp->min_docs;
        if (r.line_mode != CP_LINE_DEDUP_OFF)
            r.lines = cp_keymap_create(1 << 16);
        for (size_t i = 0; i < o->nfiles && r.line_mode == CP_LINE_DEDUP_ALL && !o->hooks; i++)
            if (!strcmp(o->files[i], "-")) {
                snprintf(err, errlen, "clean.line_dedup.mode \"all\" reads the input twice, so it cannot read "
                                      "standard input; use mode \"first\" or give files");
                rc = -2;
            }
    }
    if (!rc && cfg->near_dedup) {
        cp_minhash_params mp;
        cp_minhash_params_default(&mp);
        mp.bands = cfg->near_bands;
        mp.rows = cfg->near_rows;
        mp.ngram = cfg->near_ngram;
        mp.char_ngram = cfg->near_char_ngram;
        mp.seed = cfg->near_seed;
        mp.mode = (cp_shingle_mode)cfg->near_shingle_mode;
        r.mh = cp_minhash_create(&mp, err, errlen);
        if (!r.mh)
            rc = -1;
        else
            r.nbands = cp_minhash_bands_count(r.mh);
    }
    for (int i = 0; i < r.nthreads; i++) {
        r.scr[i].comp = cp_compressor_create(cfg->compress, cfg->level);
        r.scr[i].ms = r.mh ? cp_minhash_scratch_create() : NULL;
        r.scr[i].cs = r.cl ? cp_clean_scratch_create() : NULL;
        r.scr[i].fs = r.flt ? cp_filter_scratch_create() : NULL;
    }
    r.exact = cp_keymap_create(1 << 16);
    r.url = cp_keymap_create(1 << 10);
    r.w = cp_writer_create(o->outdir, o->rank, cfg->compress, cfg->shard_bytes);
    st->files = o->nfiles;
    r.total_input = total_input_bytes(o->files, o->nfiles, o->file_ranges);
    r.prog = cp_progress_create(o->quiet && !o->progress_every ? -1 : o->progress_every, r.total_input, start);
    if (!o->no_report)
        r.rep = cp_report_create();
    if (!rc && o->explain && !(r.ex = cp_explain_create(o->explain, err, errlen)))
        rc = -2;
    r.line_fate = r.line_mode == CP_LINE_DEDUP_ALL ? "line_dedup:all" : "line_dedup:first";
    r.last_sample = start;
    r.pass = r.line_mode == CP_LINE_DEDUP_ALL && !o->hooks ? 1 : 2;
    snprintf(r.added, sizeof r.added, "%s", cfg->dolma_added);
    if (!rc)
        rc = checkpoint_setup(&r, err, errlen);

    if (!rc && r.pass == 1) {
        /* CCNet semantics need every line's document count before the first decision: count in a first
         * pass (P1 only), then run for real. The counting pass's work is real CPU and stays in the
         * stage timings; its per-document counters are dropped. */
        r.counting = 1;
        rc = run_pass(&r, start, err, errlen);
        r.counting = 0;
    }
    if (!rc && r.pass == 1) {
        r.pass = 2;
        r.pos = (cp_input_pos){0};
        r.first_batch_compressed = 0;
        /* the real pass decides document dedup again from scratch */
        cp_keymap_destroy(r.exact);
        cp_keymap_destroy(r.url);
        r.exact = cp_keymap_create(1 << 16);
        r.url = cp_keymap_create(1 << 10);
        cp_lsh_destroy(r.lsh);
        r.lsh = NULL;
        r.n_ids = 0;
        for (int i = 0; i < r.nthreads; i++) {
            memset(&r.scr[i].nc, 0, sizeof r.scr[i].nc);
            memset(&r.scr[i].clean, 0, sizeof r.scr[i].clean);
            r.scr[i].line_utf8_fixes = 0;
        }
        st->line_dedup_distinct = cp_keymap_count(r.lines);
    }
    if (!rc)
        rc = run_pass(&r, start, err, errlen);
    if (rc == 130 && r.ck && checkpoint_now(&r, err, errlen))
        rc = -1; /* SIGINT/SIGTERM: the state after the last batch, for --resume */

    cp_clean_stats clean_sum;
    memset(&clean_sum, 0, sizeof clean_sum);
    for (int i = 0; i < r.nthreads; i++) {
        for (int k = 0; k < CP_T_N; k++)
            st->stage_seconds[k] += r.scr[i].t[k];
        st->utf8_fixed += r.scr[i].nc.utf8_fixed + r.scr[i].line_utf8_fixes;
        st->controls_removed += r.scr[i].nc.controls;
        st->nfc_changed += r.scr[i].nc.nfc_changed;
        cp_clean_stats_add(&clean_sum, &r.scr[i].clean);
    }
    if (r.cl)
        for (int k = 0; k < CP_CLEAN_NRULES; k++)
            if (clean_sum.lines[k] || clean_sum.chars[k])
                cp_counters_add(&st->rules, cp_clean_rule_name(k), clean_sum.lines[k], clean_sum.chars[k]);
    if (r.lines) {
        cp_counters_add(&st->rules, "line_dedup", r.line_drops, r.line_drop_bytes);
        if (r.line_mode == CP_LINE_DEDUP_FIRST)
            st->line_dedup_distinct = cp_keymap_count(r.lines);
        st->line_dedup_table_bytes = cp_keymap_bytes(r.lines);
    }
    if (!rc && cp_writer_finish(r.w, err, errlen))
        rc = -1;
    if (rc && !r.ck_written)
        cp_writer_abort(r.w); /* else the .tmp files are what the checkpoint goes on with */
    st->bytes_out = cp_writer_bytes(r.w);
    st->shards = cp_writer_shards(r.w);
    if (!rc || rc == 1) {
        st->extra = stats_extra(&r);
        cp_stats_finish(st, cp_now() - start);
    }
    if (!rc && !o->no_stats_file)
        rc = write_stats(&r, st, err, errlen);
    if (!rc && r.ex && cp_explain_write(r.ex, o->outdir, err, errlen))
        rc = -1;
    if (!rc && r.failed_input)
        rc = 1;
    if ((!rc || rc == 1) && r.ck && !o->no_stats_file && cp_checkpoint_remove_all(o->outdir) && !o->quiet)
        fprintf(stderr, "corpusprep: warning: cannot remove %s/" CP_CHECKPOINT_DIR "\n", o->outdir);
    cp_checkpointer_destroy(r.ck);
    for (int i = 0; i < r.nthreads; i++) {
        cp_buf_free(&r.scr[i].a);
        cp_buf_free(&r.scr[i].b);
        cp_buf_free(&r.scr[i].c);
        cp_compressor_destroy(r.scr[i].comp);
        if (r.scr[i].ms)
            cp_minhash_scratch_destroy(r.scr[i].ms);
        if (r.scr[i].cs)
            cp_clean_scratch_destroy(r.scr[i].cs);
        if (r.scr[i].fs)
            cp_filter_scratch_destroy(r.scr[i].fs);
    }
    cp_cleaner_destroy(r.cl);
    cp_filter_destroy(r.flt);
    cp_langid_close(r.lid);
    cp_keymap_destroy(r.lines);
    cp_minhash_destroy(r.mh);
    cp_lsh_destroy(r.lsh);
    free(r.near_of);
    free(r.count_buf);
    free(r.scr);
    cp_keymap_destroy(r.exact);
    cp_keymap_destroy(r.url);
    cp_buf_free(&r.ids);
    free(r.id_off);
    cp_writer_destroy(r.w);
    cp_report_destroy(r.rep);
    cp_explain_destroy(r.ex);
    cp_progress_destroy(r.prog);
    return rc;
}
