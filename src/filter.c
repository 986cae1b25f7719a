/* filter: document-level quality rules. One pass over the lines and words of a document gathers every
 * statistic the rules need (word hashes kept for the n-gram repetition rules); the rules then run in a
 * fixed order and the first that fails names the rejection. Thresholds are resolved per language at create
 * time (section merged with configs/lang/<code>.json), so the hot path only picks a parameter block. */
#include "corpusprep/filter.h"

#include <stdarg.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* short words: the call costs as much as the hash */
#include <xxhash.h>

#include "corpusprep/config.h"
#include "corpusprep/util.h"
#include "corpusprep/words.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Only deduplication's reasons contain "dup" (dup_exact, dup_near, ...): scorers and users count duplicates
 * by that substring, so the repetition rules say "repeated". */
static const char *const reasons[] = {
    "gopher_quality:word_count", "gopher_quality:mean_word_len", "gopher_quality:symbol_ratio",
    "gopher_quality:bullet_lines", "gopher_quality:ellipsis_lines", "gopher_quality:alpha_words",
    "gopher_quality:stop_words", "gopher_rep:repeated_line_frac", "gopher_rep:repeated_para_frac",
    "gopher_rep:repeated_line_char_frac", "gopher_rep:repeated_para_char_frac", "gopher_rep:top_2gram",
    "gopher_rep:top_3gram", "gopher_rep:top_4gram", "gopher_rep:repeated_5gram", "gopher_rep:repeated_6gram",
    "gopher_rep:repeated_7gram", "gopher_rep:repeated_8gram", "gopher_rep:repeated_9gram", "gopher_rep:repeated_10gram",
    "c4:min_sentences", "c4:curly_bracket", "fineweb:line_punct_ratio", "fineweb:short_line_ratio",
    "fineweb:repeated_line_chars", "fineweb:newline_ratio", NULL};
enum {
    R_WORDS, R_MWL, R_SYM, R_BULLET, R_ELLIPSIS, R_ALPHA, R_STOP, R_DLINE, R_DPARA, R_DLINEC, R_DPARAC,
    R_TOP2, R_DUP5 = R_TOP2 + 3, R_C4SENT = R_DUP5 + 6, R_C4CURLY, R_FWPUNCT, R_FWSHORT, R_FWDUP, R_FWNL
};

const char *const *cp_filter_reasons(void)
{
    return reasons;
}

typedef struct {
    uint64_t *v;
    size_t mask;
} hset_t; /* open addressing, key 0 = empty */

static int hset_has(const hset_t *h, uint64_t k)
{
    k |= 1;
    for (size_t j = (k >> 1) & h->mask;; j = (j + 1) & h->mask) { /* bit 0 is always set: home from the next */
        if (h->v[j] == k)
            return 1;
        if (!h->v[j])
            return 0;
    }
}

typedef struct {
    char code[16];
    int word_rules;
    hset_t stop; /* v == NULL: no list for this language, the stop-word rule is skipped */
    int gq, gr, c4, fw;
    double min_words, max_words, min_mwl, max_mwl, max_sym, max_bullet, max_ellipsis, min_alpha, min_stop;
    double dline, dpara, dlinec, dparac, top[3], dup[6];
    double min_sent;
    int curly;
    double fw_punct, fw_short, fw_short_chars, fw_dup, fw_nl;
} params_t;

struct cp_filter {
    json_t *effective;
    params_t def;        /* languages without a file */
    params_t nospace;    /* languages written without spaces */
    params_t *langs;
    size_t nlangs;
    char (*nospace_codes)[16];
    size_t n_nospace;
};

/* ---------------------------------------------------------------- config */

static void parse_params(cp_cfg_reader *r, params_t *p)
{
    cp_cfg_reader g = cp_cfg_sub(r, "gopher_quality");
    p->gq = cp_cfg_bool(&g, "enabled", g.sec != NULL);
    p->min_words = cp_cfg_num(&g, "min_words", 50, 0, HUGE_VAL);
    p->max_words = cp_cfg_num(&g, "max_words", 100000, 0, HUGE_VAL);
    p->min_mwl = cp_cfg_num(&g, "min_mean_word_len", 3, 0, HUGE_VAL);
    p->max_mwl = cp_cfg_num(&g, "max_mean_word_len", 10, 0, HUGE_VAL);
    p->max_sym = cp_cfg_num(&g, "max_symbol_word_ratio", 0.1, 0, HUGE_VAL);
    p->max_bullet = cp_cfg_num(&g, "max_bullet_lines_frac", 0.9, 0, HUGE_VAL);
    p->max_ellipsis = cp_cfg_num(&g, "max_ellipsis_lines_frac", 0.3, 0, HUGE_VAL);
    p->min_alpha = cp_cfg_num(&g, "min_alpha_words_frac", 0.8, 0, HUGE_VAL);
    p->min_stop = cp_cfg_num(&g, "min_stop_words", 2, 0, HUGE_VAL);
    cp_cfg_reader q = cp_cfg_sub(r, "gopher_repetition");
    p->gr = cp_cfg_bool(&q, "enabled", q.sec != NULL);
    p->dline = cp_cfg_num(&q, "max_dup_line_frac", 0.30, 0, HUGE_VAL);
    p->dpara = cp_cfg_num(&q, "max_dup_para_frac", 0.30, 0, HUGE_VAL);
    p->dlinec = cp_cfg_num(&q, "max_dup_line_char_frac", 0.20, 0, HUGE_VAL);
    p->dparac = cp_cfg_num(&q, "max_dup_para_char_frac", 0.20, 0, HUGE_VAL);
    static const char *const topk[] = {"max_top_2gram_char_frac", "max_top_3gram_char_frac", "max_top_4gram_char_frac"};
    static const double topd[] = {0.20, 0.18, 0.16};
    for (int i = 0; i < 3; i++)
        p->top[i] = cp_cfg_num(&q, topk[i], topd[i], 0, HUGE_VAL);
    static const char *const dupk[] = {"max_dup_5gram_char_frac", "max_dup_6gram_char_frac",
                                       "max_dup_7gram_char_frac", "max_dup_8gram_char_frac",
                                       "max_dup_9gram_char_frac", "max_dup_10gram_char_frac"};
    static const double dupd[] = {0.15, 0.14, 0.13, 0.12, 0.11, 0.10};
    for (int i = 0; i < 6; i++)
        p->dup[i] = cp_cfg_num(&q, dupk[i], dupd[i], 0, HUGE_VAL);
    cp_cfg_reader c = cp_cfg_sub(r, "c4");
    p->c4 = cp_cfg_bool(&c, "enabled", c.sec != NULL);
    p->min_sent = cp_cfg_num(&c, "min_sentences", 5, 0, HUGE_VAL);
    p->curly = cp_cfg_bool(&c, "curly_bracket", 0);
    cp_cfg_reader w = cp_cfg_sub(r, "fineweb");
    p->fw = cp_cfg_bool(&w, "enabled", w.sec != NULL);
    p->fw_punct = cp_cfg_num(&w, "min_line_punct_ratio", 0.12, 0, HUGE_VAL);
    p->fw_short = cp_cfg_num(&w, "max_short_line_ratio", 0.67, 0, HUGE_VAL);
    p->fw_short_chars = cp_cfg_num(&w, "short_line_max_chars", 30, 0, HUGE_VAL);
    p->fw_dup = cp_cfg_num(&w, "max_char_dup_ratio", 0.01, 0, HUGE_VAL);
    p->fw_nl = cp_cfg_num(&w, "max_newline_per_word", 0.3, 0, HUGE_VAL);
    cp_cfg_done(r, &g);
    cp_cfg_done(r, &q);
    cp_cfg_done(r, &c);
    cp_cfg_done(r, &w);
}

static int load_stopwords(const char *rel, hset_t *h, char *err, size_t errlen)
{
    size_t len;
    char *t = cp_config_read(rel, &len);
    if (!t) {
        snprintf(err, errlen, "filter: stop-word list %s not found", rel);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += t[i] == '\n';
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap <<= 1;
    h->v = cp_xcalloc(cap, sizeof(uint64_t));
    h->mask = cap - 1;
    for (char *p = t; p < t + len;) {
        char *e = memchr(p, '\n', (size_t)(t + len - p));
        if (!e)
            e = t + len;
        size_t k = (size_t)(e - p);
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\r'))
            k--;
        if (k && p[0] != '#') {
            uint64_t key = cp_word_key(p, k) | 1;
            size_t j = (key >> 1) & h->mask; /* as hset_has */
            while (h->v[j] && h->v[j] != key)
                j = (j + 1) & h->mask;
            h->v[j] = key;
        }
        p = e + 1;
    }
    free(t);
    return 0;
}

cp_filter *cp_filter_create(const json_t *section, char *err, size_t errlen)
{
    cp_filter *f = cp_xcalloc(1, sizeof *f);
    f->effective = json_object();
    err[0] = 0;
    cp_cfg_reader r = {section, f->effective, err, errlen, 0, "filter (default)", NULL};
    if (section && !json_is_object(section))
        cp_cfg_fail(&r, "section must be an object");
    parse_params(&r, &f->def);
    f->def.word_rules = 1;
    strcpy(f->def.code, "default");

    const json_t *ns = section ? json_object_get(section, "no_space_langs") : NULL;
    json_t *nse = json_object();
    json_object_set_new(f->effective, "no_space_langs", nse);
    json_object_set_new(nse, "word_rules", json_string("skip"));
    json_object_set_new(nse, "about", json_string("languages written without spaces between words: word-based "
                                                  "rules (Gopher word count, mean word length, alpha words, stop "
                                                  "words, n-gram repetition, FineWeb newline ratio) are skipped"));
    const json_t *nsl = ns ? json_object_get(ns, "langs") : NULL;
    json_t *nsa = json_array();
    json_object_set_new(nse, "langs", nsa);
    f->nospace = f->def;
    f->nospace.word_rules = 0;
    if (nsl && json_is_array(nsl)) {
        f->nospace_codes = cp_xcalloc(json_array_size(nsl) + 1, sizeof *f->nospace_codes);
        size_t i;
        const json_t *e;
        json_array_foreach(nsl, i, e) if (json_is_string(e))
        {
            snprintf(f->nospace_codes[f->n_nospace++], 16, "%s", json_string_value(e));
            json_array_append_new(nsa, json_string(json_string_value(e)));
        }
    }

    const json_t *langs = section ? json_object_get(section, "languages") : NULL;
    json_t *le = json_object();
    json_object_set_new(f->effective, "languages", le);
    cp_cfg_check(&r); /* no_space_langs and languages are recorded by now */
    if (langs && !json_is_array(langs))
        cp_cfg_fail(&r, "\"languages\" must be a list of language codes");
    size_t nl = langs && json_is_array(langs) ? json_array_size(langs) : 0;
    f->langs = cp_xcalloc(nl + 1, sizeof(params_t));
    for (size_t i = 0; i < nl && !r.failed; i++) {
        const char *code = json_string_value(json_array_get(langs, i));
        if (!code || strlen(code) >= 16) {
            cp_cfg_fail(&r, "bad language code in \"languages\"");
            break;
        }
        char rel[64];
        snprintf(rel, sizeof rel, "lang/%s.json", code);
        size_t len;
        char *txt = cp_config_read(rel, &len);
        if (!txt) {
            cp_cfg_fail(&r, "%s not found", rel);
            break;
        }
        json_error_t je;
        json_t *lj = json_loadb(txt, len, 0, &je);
        free(txt);
        if (!lj || !json_is_object(lj)) {
            cp_cfg_fail(&r, "%s: %s", rel, lj ? "not an object" : je.text);
            json_decref(lj);
            break;
        }
        json_t *merged = section ? json_deep_copy(section) : json_object();
        const json_t *over = json_object_get(lj, "filter");
        if (over && json_is_object(over))
            json_object_update_recursive(merged, (json_t *)over);
        params_t *p = &f->langs[f->nlangs++];
        json_t *eff = json_object();
        json_object_set_new(le, code, eff);
        char what[48];
        snprintf(what, sizeof what, "filter (%s)", code);
        cp_cfg_reader lr = {merged, eff, err, errlen, 0, what, NULL};
        parse_params(&lr, p);
        snprintf(p->code, sizeof p->code, "%s", code);
        const json_t *ws = json_object_get(lj, "word_rules");
        p->word_rules = !(ws && json_is_string(ws) && !strcmp(json_string_value(ws), "skip"));
        json_object_set_new(eff, "word_rules", json_string(p->word_rules ? "apply" : "skip"));
        const json_t *sw = json_object_get(lj, "stopwords");
        if (sw && json_is_string(sw)) {
            json_object_set_new(eff, "stopwords", json_string(json_string_value(sw)));
            if (load_stopwords(json_string_value(sw), &p->stop, err, errlen) < 0)
                lr.failed = 1;
        }
        json_decref(merged);
        json_decref(lj);
        if (lr.failed)
            r.failed = 1;
    }
    if (r.failed) {
        cp_filter_destroy(f);
        return NULL;
    }
    return f;
}

void cp_filter_destroy(cp_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nlangs; i++)
        free(f->langs[i].stop.v);
    free(f->langs);
    free(f->nospace_codes);
    json_decref(f->effective);
    free(f);
}

json_t *cp_filter_to_json(const cp_filter *f)
{
    return json_deep_copy(f->effective);
}

/* ---------------------------------------------------------------- per document */

typedef struct {
    uint64_t h;
    size_t start, bytes;
} unit_t; /* a non-empty line */

/* Counting table slot. A slot is empty unless gen is the table's current generation, so starting a new
 * table costs one increment instead of clearing the array. */
typedef struct {
    uint64_t key;
    uint32_t val, gen;
} slot_t;

struct cp_filter_scratch {
    cp_words words; /* the text's words (words.c) */
    unit_t *u;
    size_t nu, ucap;
    uint64_t *g;
    size_t *cb, gcap;
    uint32_t *cand, *sx; /* n-gram positions still in play; their table slots */
    uint64_t *bits;      /* the word bit maps of ngram_rules */
    size_t bits_cap;
    slot_t *tab;
    size_t tcap;
    uint32_t gen;
};

cp_filter_scratch *cp_filter_scratch_create(void)
{
    return cp_xcalloc(1, sizeof(cp_filter_scratch));
}

void cp_filter_scratch_destroy(cp_filter_scratch *s)
{
    if (!s)
        return;
    cp_words_free(&s->words);
    free(s->u);
    free(s->g);
    free(s->cb);
    free(s->cand);
    free(s->sx);
    free(s->bits);
    free(s->tab);
    free(s);
}

/* Starts an empty table for up to n keys; returns its mask. */
static size_t table_reset(cp_filter_scratch *s, size_t n)
{
    size_t cap = 64;
    while (cap < 4 * n + 2) /* load <= 1/4: a probe past the home slot is a mispredicted branch */
        cap <<= 1;
    if (cap > s->tcap) {
        free(s->tab);
        s->tab = cp_xcalloc(cap, sizeof(slot_t));
        s->tcap = cap;
        s->gen = 0;
    }
    if (++s->gen == 0) { /* wrapped: old generations would look current again */
        memset(s->tab, 0, s->tcap * sizeof(slot_t));
        s->gen = 1;
    }
    return cap - 1;
}

/* The slot of key, inserted with count 0 when new (*fresh = 1). Keys are stored with bit 0 set, so k and
 * k ^ 1 count as one key (as they always have). */
static inline slot_t *table_slot(cp_filter_scratch *s, size_t mask, uint64_t key, int *fresh)
{
    key |= 1;
    const uint32_t gen = s->gen;
    /* The home slot skips bit 0, which is always set: taken from bit 0, only every other slot was a home,
     * which doubled the load and lengthened the probe runs. */
    for (size_t j = (key >> 1) & mask;; j = (j + 1) & mask) {
        slot_t *e = &s->tab[j];
        if (e->gen != gen) {
            e->gen = gen;
            e->key = key;
            e->val = 0;
            *fresh = 1;
            return e;
        }
        if (e->key == key) {
            *fresh = 0;
            return e;
        }
    }
}

/* table_slot for counting: the slot of key with its count raised by one (1 when new). No branch on whether
 * the key is new, which is as likely as not in the n-gram rounds: only a probe past a taken slot branches. */
static inline slot_t *table_count(cp_filter_scratch *s, size_t mask, uint64_t key)
{
    key |= 1;
    const uint32_t gen = s->gen;
    size_t j = (key >> 1) & mask;
    slot_t *e = &s->tab[j];
    while ((e->gen == gen) & (e->key != key)) {
        j = (j + 1) & mask;
        e = &s->tab[j];
    }
    uint32_t live = e->gen == gen;
    e->val = (e->val & (0u - live)) + 1;
    e->key = key;
    e->gen = gen;
    return e;
}

static const params_t *pick(const cp_filter *f, const char *lang)
{
    if (lang) {
        for (size_t i = 0; i < f->nlangs; i++)
            if (!strcmp(f->langs[i].code, lang))
                return &f->langs[i];
        for (size_t i = 0; i < f->n_nospace; i++)
            if (!strcmp(f->nospace_codes[i], lang))
                return &f->nospace;
    }
    return &f->def;
}

static inline int ends_with(const char *s, size_t n, const char *suf, size_t m)
{
    return m <= n && !memcmp(s + n - m, suf, m);
}

static inline int ends_ellipsis(const char *s, size_t n)
{
    return n >= 3 && ((s[n - 1] == '.' && s[n - 2] == '.' && s[n - 3] == '.') ||
                      ((unsigned char)s[n - 1] == 0xA6 && !memcmp(s + n - 3, "…", 3)));
}

/* FineWeb's end punctuation plus the full stops of other scripts. */
static int ends_punct(const char *s, size_t n)
{
    unsigned char last = (unsigned char)s[n - 1];
    if (last < 0x80) /* every multi-byte mark ends in a byte >= 0x80 */
        return last == '.' || last == '!' || last == '?' || last == '"' || last == '\'' || last == ')' ||
               last == ':' || last == ';';
    /* "፡፡" (two Ethiopic wordspaces) is how much Amharic and Tigrinya text types the full stop "።" */
    static const char *const marks[] = {"”", "’", "»", "…", "。", "！", "？", "።", "፡፡", "፧", "۔", "।", "؟", NULL};
    for (int i = 0; marks[i]; i++)
        if (ends_with(s, n, marks[i], strlen(marks[i])))
            return 1;
    return 0;
}

static inline int starts_bullet(const char *ln, size_t n)
{
    return ln[0] == '-' || ln[0] == '*' ||
           (n >= 3 && (unsigned char)ln[0] == 0xE2 &&
            (!memcmp(ln, "•", 3) || !memcmp(ln, "‣", 3) || !memcmp(ln, "◦", 3) || !memcmp(ln, "▪", 3)));
}

/* UTF-8 continuation bytes in s[0..n): characters = bytes - continuation bytes. */
static size_t cont_bytes(const char *s, size_t n)
{
    size_t c = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        x = x & ~(x << 1) & 0x8080808080808080ull; /* bit 7 set, bit 6 clear */
        x = (x >> 7) * 0x0101010101010101ull;      /* sums the eight 0/1 lanes into the top byte */
        c += x >> 56;
    }
    for (; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) == 0x80;
    return c;
}

/* Largest x in [0, len] with (double)x / len <= thr: the quotient only grows with x, so "x / len > thr"
 * is "x > limit" for every x up to len. */
static size_t frac_limit(double thr, size_t len)
{
    double d = thr * (double)len;
    size_t x = d >= (double)len ? len : (size_t)d;
    while (x < len && (double)(x + 1) / (double)len <= thr)
        x++;
    while (x > 0 && (double)x / (double)len > thr)
        x--;
    return x;
}

/* The first i < m with v[i] >= x (v ascending), or m. */
static size_t first_at_least(const size_t *v, size_t m, size_t x)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] >= x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Gopher's repetition statistics over paragraphs (text between "\n\n"): units, units seen before, and the
 * bytes of those. A paragraph of one line takes that line's hash from s->u (the same XXH3 of the same
 * bytes); a text of one paragraph has nothing repeated and is not hashed. */
static void dup_paras(cp_filter_scratch *s, const char *t, size_t len, size_t *units, size_t *dups,
                      size_t *dup_bytes)
{
    /* every paragraph holds a non-empty line of its own (two newlines in a row would end it) */
    size_t mask = table_reset(s, s->nu + 1), ui = 0;
    *units = *dups = *dup_bytes = 0;
    for (size_t p = 0; p < len;) {
        size_t e = len;
        int one_line = 1;
        for (size_t x = p; x < len;) { /* the next "\n\n" */
            const char *q = memchr(t + x, '\n', len - x);
            if (!q)
                break;
            size_t at = (size_t)(q - t);
            if (at + 1 < len && t[at + 1] == '\n') {
                e = at;
                break;
            }
            one_line = 0;
            x = at + 1;
        }
        if (p == 0 && e == len) {
            *units = 1;
            return;
        }
        if (e > p) {
            while (ui < s->nu && s->u[ui].start < p)
                ui++;
            uint64_t h = one_line && ui < s->nu && s->u[ui].start == p && s->u[ui].bytes == e - p
                             ? s->u[ui].h
                             : XXH3_64bits(t + p, e - p);
            int fresh;
            table_slot(s, mask, h, &fresh);
            (*units)++;
            if (!fresh) {
                (*dups)++;
                *dup_bytes += e - p;
            }
        }
        p = e + 2;
    }
}

/* Explaining: records one rule's outcome and remembers the first failure. */
static void trace_add(cp_filter_trace *tr, int id, double value, double min, double max, int fails)
{
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? tr->cap * 2 : 32;
        tr->v = cp_xrealloc(tr->v, tr->cap * sizeof *tr->v);
    }
    tr->v[tr->n++] = (cp_filter_check){reasons[id], value, min, max, !fails};
}

/* A rule: on the normal path (tr NULL) a failure returns at once; when explaining, every rule is recorded
 * and the first failure is returned at the end. The value is only computed when explaining. */
#define RULE(id, fails, value, min, max)                                                                     \
    do {                                                                                                     \
        int fails_ = (fails);                                                                                \
        if (fails_ && !tr)                                                                                   \
            return reasons[id];                                                                              \
        if (tr) {                                                                                            \
            trace_add(tr, id, (value), (min), (max), fails_);                                               \
            if (fails_ && !*first)                                                                           \
                *first = reasons[id];                                                                        \
        }                                                                                                    \
    } while (0)

/* Gopher's n-gram rules (top 2/3/4-gram share, characters in repeated 5..10-grams) over the words in s.
 * g[i] is the hash of the n-gram starting at word i, extended by one word per round; cb[i] the bytes of
 * the words before word i (prefix sums) for the character counts.
 * An n-gram can only occur twice where its first n-1 words do, so after the 2-gram round only the
 * positions whose (n-1)-gram occurs more than once (cand) are hashed and counted: a position outside
 * that set holds an n-gram seen once, which can neither raise the top count past 1 nor be a repeat.
 * The hashes obey the same rule unless two different n-grams collide in 64 bits (where a full count
 * would see a false repeat). */
static const char *ngram_rules(const params_t *p, cp_filter_scratch *s, size_t len, cp_filter_trace *tr,
                               const char **first)
{
    const size_t words = s->words.n;
    if (s->gcap < words + 1) {
        free(s->g);
        free(s->cb);
        free(s->cand);
        free(s->sx);
        s->gcap = words + 1;
        s->g = cp_xmalloc(s->gcap * sizeof(uint64_t));
        s->cb = cp_xmalloc(s->gcap * sizeof(size_t));
        s->cand = cp_xmalloc(s->gcap * sizeof(uint32_t));
        s->sx = cp_xmalloc(s->gcap * sizeof(uint32_t));
    }
    uint64_t *g = s->g;
    size_t *cb = s->cb;
    uint32_t *cand = s->cand, *sx = s->sx;
    const cp_word *w = s->words.v;
    size_t sum = 0; /* in a register: cb[i] read back from memory would chain every iteration through a store */
    cb[0] = 0;
    for (size_t i = 0; i < words; i++) {
        g[i] = w[i].key;
        sum += w[i].bytes;
        cb[i + 1] = sum;
    }
    int fresh;
    /* Words that may occur twice: a two-bit count per bucket of a bit map (a bucket may hold several words,
     * so it errs only towards "twice"). A 2-gram can only repeat where both its words do, so the 2-gram
     * round counts only those positions (about half of them in news text); the others hold 2-grams seen
     * once, which can neither raise the top count past 1 nor be candidates. */
    unsigned lg = 10;
    while (((size_t)1 << lg) < 8 * words)
        lg++;
    const size_t nb = ((size_t)1 << lg) / 64;
    if (s->bits_cap < 2 * nb) {
        free(s->bits);
        s->bits_cap = 2 * nb;
        s->bits = cp_xmalloc(s->bits_cap * sizeof(uint64_t));
    }
    uint64_t *seen = s->bits, *twice = s->bits + nb;
    memset(s->bits, 0, 2 * nb * sizeof(uint64_t));
    for (size_t i = 0; i < words; i++) {
        uint64_t b = w[i].key >> (64 - lg), bit = 1ull << (b & 63);
        twice[b >> 6] |= seen[b >> 6] & bit;
        seen[b >> 6] |= bit;
    }
    size_t m = words - 1, np = 0, nc = 0;
    uint64_t b0 = w[0].key >> (64 - lg), rep = (twice[b0 >> 6] >> (b0 & 63)) & 1;
    for (size_t i = 0; i < m; i++) { /* without a branch: cand[0..np) are the positions to count */
        uint64_t b = w[i + 1].key >> (64 - lg), rep1 = (twice[b >> 6] >> (b & 63)) & 1;
        cand[np] = (uint32_t)i;
        np += rep & rep1;
        rep = rep1;
    }
    /* The same bit map test on those positions' 2-grams leaves the ones that may repeat: only they go into
     * the counting table (a 2-gram seen once has count 1 there too). */
    memset(s->bits, 0, 2 * nb * sizeof(uint64_t));
    for (size_t k = 0; k < np; k++) {
        size_t i = cand[k];
        g[i] = g[i] * 0x9E3779B97F4A7C15ull + w[i + 1].key;
        uint64_t b = g[i] >> (64 - lg), bit = 1ull << (b & 63);
        twice[b >> 6] |= seen[b >> 6] & bit;
        seen[b >> 6] |= bit;
    }
    size_t np2 = 0;
    for (size_t k = 0; k < np; k++) {
        size_t i = cand[k];
        uint64_t b = g[i] >> (64 - lg);
        cand[np2] = (uint32_t)i;
        np2 += (twice[b >> 6] >> (b & 63)) & 1;
    }
    np = np2;
    size_t mask = table_reset(s, np);
    size_t best = 0, best_bytes = 0;
    for (size_t k = 0; k < np; k++) {
        size_t i = cand[k];
        slot_t *e = table_count(s, mask, g[i]);
        sx[k] = (uint32_t)(e - s->tab);
        if (e->val > best) {
            best = e->val;
            best_bytes = cb[i + 2] - cb[i] + 1;
        }
    }
    RULE(R_TOP2, best > 1 && (double)(best * best_bytes) / (double)len > p->top[0],
         best > 1 ? (double)(best * best_bytes) / (double)len : 0, NAN, p->top[0]);
    for (size_t k = 0; k < np; k++) { /* without a branch: half of the positions go either way */
        cand[nc] = cand[k];
        nc += s->tab[sx[k]].val > 1;
    }
    size_t n_done = 2;
    for (size_t n = 3; n <= 10 && n <= words && nc; n++) {
        n_done = n;
        m = words - n + 1;
        while (nc && cand[nc - 1] >= m)
            nc--;
        mask = table_reset(s, nc);
        best = best_bytes = 0;
        for (size_t k = 0; k < nc; k++) {
            size_t i = cand[k];
            g[i] = g[i] * 0x9E3779B97F4A7C15ull + w[i + n - 1].key;
            slot_t *e = table_count(s, mask, g[i]);
            sx[k] = (uint32_t)(e - s->tab);
            if (e->val > best) {
                best = e->val;
                best_bytes = cb[i + n] - cb[i] + n - 1;
            }
        }
        if (n <= 4)
            RULE(R_TOP2 + n - 2, best > 1 && (double)(best * best_bytes) / (double)len > p->top[n - 2],
                 best > 1 ? (double)(best * best_bytes) / (double)len : 0, NAN, p->top[n - 2]);
        size_t kept = 0;
        for (size_t k = 0; k < nc; k++) {
            cand[kept] = cand[k];
            kept += s->tab[sx[k]].val > 1;
        }
        nc = kept;
        if (n <= 4)
            continue;
        /* characters in repeated n-grams, counted without overlap: a left-to-right walk over all
         * positions that skips the words of each repeat; positions outside cand are first sightings.
         * rep only grows, by at most the bytes of the words from i on: it is over the limit for good
         * once past it, and the rule cannot fire any more from the first i with
         * rep + total - cb[i] <= lim (stop; cb only grows, so found by bisection). */
        const size_t lim = frac_limit(p->dup[n - 5], len), total = cb[words];
        size_t rep = 0, next = 0, stop = tr ? m : first_at_least(cb, m, total > lim ? total - lim : 0);
        mask = table_reset(s, nc);
        for (size_t k = 0; k < nc; k++) {
            size_t i = cand[k];
            if (i < next)
                continue; /* inside the last repeat */
            if (i >= stop)
                break;
            table_slot(s, mask, g[i], &fresh);
            if (fresh) {
                next = i + 1;
                continue;
            }
            rep += cb[i + n] - cb[i];
            next = i + n;
            if (tr)
                continue; /* explaining measures the whole text */
            if (rep > lim)
                return reasons[R_DUP5 + n - 5];
            stop = first_at_least(cb, m, total + rep > lim ? total + rep - lim : 0);
        }
        if (tr)
            RULE(R_DUP5 + n - 5, rep > lim, (double)rep / (double)len, NAN, p->dup[n - 5]);
    }
    /* n-grams that no longer repeat (or longer than the text): nothing repeated, every rule passes */
    for (size_t n = n_done + 1; tr && n <= 10; n++)
        RULE(n <= 4 ? R_TOP2 + n - 2 : R_DUP5 + n - 5, 0, 0, NAN, n <= 4 ? p->top[n - 2] : p->dup[n - 5]);
    return NULL;
}

static const char *judge(const cp_filter *f, const char *text, size_t len, const char *lang,
                         cp_filter_scratch *s, cp_filter_trace *tr)
{
    const char *first_fail = NULL, **first = &first_fail;
    const params_t *p = pick(f, lang);
    if (!p->gq && !p->gr && !p->c4 && !p->fw)
        return NULL;
    const int want_units = p->gr || p->fw;
    /* Lines: their counts and hashes. Words: one pass over the whole text in 64-byte blocks (words.c),
     * which also counts the '#' and the continuation bytes of the whole text. */
    size_t lines = 0, bullets = 0, ellipsis = 0, punct_lines = 0, short_lines = 0, newlines = 0;
    size_t alpha_words = 0, stop = 0, word_len = 0, symbols = 0, sentences = 0;
    const size_t min_stop = p->stop.v ? (tr ? SIZE_MAX : (size_t)p->min_stop) : 0; /* explaining counts all */
    /* A line of more than this many bytes has more than fw_short_chars characters: valid UTF-8 spends at
     * most 4 bytes on one, so only lines up to it need their characters counted. */
    const double short_max_bytes = 4 * p->fw_short_chars;
    s->nu = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (nl)
            newlines++;
        if (e > pos) {
            const char *ln = text + pos;
            size_t n = e - pos;
            lines++;
            bullets += starts_bullet(ln, n);
            ellipsis += ends_ellipsis(ln, n);
            punct_lines += ends_punct(ln, n);
            if (want_units) {
                if (s->nu == s->ucap) {
                    s->ucap = s->ucap ? s->ucap * 2 : 256;
                    s->u = cp_xrealloc(s->u, s->ucap * sizeof(unit_t));
                }
                s->u[s->nu++] = (unit_t){XXH3_64bits(ln, n), pos, n};
            }
            if (n <= p->fw_short_chars)
                short_lines++;
            else if ((double)n <= short_max_bytes)
                short_lines += n - cont_bytes(ln, n) <= p->fw_short_chars;
        }
        if (!nl)
            break;
        pos = e + 1;
    }
    cp_words *ws = &s->words;
    cp_words_scan(text, len, ws);
    symbols = ws->hashes + ws->ellipsis_ends;
    sentences = ws->sentence_ends;
    alpha_words = ws->alpha_words;
    word_len = ws->word_bytes;
    for (size_t i = 0; i < ws->n && stop < min_stop; i++)
        stop += hset_has(&p->stop, ws->v[i].key);
    size_t words = ws->n;
    size_t word_bytes = word_len - ws->cont_bytes; /* characters in words */

#define RATIO(a, b) ((b) ? (double)(a) / (double)(b) : 0)
    if (p->gq) {
        if (p->word_rules) {
            RULE(R_WORDS, words < p->min_words || words > p->max_words, (double)words, p->min_words, p->max_words);
            double mwl = words ? (double)word_bytes / (double)words : 0;
            RULE(R_MWL, mwl < p->min_mwl || mwl > p->max_mwl, mwl, p->min_mwl, p->max_mwl);
        }
        RULE(R_SYM, words && (double)symbols / (double)words > p->max_sym, RATIO(symbols, words), NAN, p->max_sym);
        RULE(R_BULLET, lines && (double)bullets / (double)lines > p->max_bullet, RATIO(bullets, lines), NAN,
             p->max_bullet);
        RULE(R_ELLIPSIS, lines && (double)ellipsis / (double)lines > p->max_ellipsis, RATIO(ellipsis, lines), NAN,
             p->max_ellipsis);
        if (p->word_rules) {
            RULE(R_ALPHA, words && (double)alpha_words / (double)words < p->min_alpha, RATIO(alpha_words, words),
                 p->min_alpha, NAN);
            if (p->stop.v)
                RULE(R_STOP, stop < p->min_stop, (double)stop, p->min_stop, NAN);
        }
    }
    size_t line_units = s->nu, line_dups = 0, line_dup_bytes = 0;
    if (want_units) {
        size_t mask = table_reset(s, s->nu);
        for (size_t i = 0; i < s->nu; i++) {
            int fresh;
            table_slot(s, mask, s->u[i].h, &fresh);
            if (!fresh) {
                line_dups++;
                line_dup_bytes += s->u[i].bytes;
            }
        }
    }
    if (p->gr) {
        RULE(R_DLINE, line_units && (double)line_dups / (double)line_units > p->dline, RATIO(line_dups, line_units),
             NAN, p->dline);
        size_t pu, pd, pb;
        dup_paras(s, text, len, &pu, &pd, &pb);
        RULE(R_DPARA, pu && (double)pd / (double)pu > p->dpara, RATIO(pd, pu), NAN, p->dpara);
        RULE(R_DLINEC, len && (double)line_dup_bytes / (double)len > p->dlinec, RATIO(line_dup_bytes, len), NAN,
             p->dlinec);
        RULE(R_DPARAC, len && (double)pb / (double)len > p->dparac, RATIO(pb, len), NAN, p->dparac);
        if (p->word_rules && words >= 2) {
            const char *r = ngram_rules(p, s, len, tr, first);
            if (r)
                return r;
        }
    }
    if (p->c4) {
        RULE(R_C4SENT, sentences < p->min_sent, (double)sentences, p->min_sent, NAN);
        if (p->curly)
            RULE(R_C4CURLY, memchr(text, '{', len) != NULL, memchr(text, '{', len) != NULL, NAN, 0);
    }
    if (p->fw) {
        RULE(R_FWPUNCT, lines && (double)punct_lines / (double)lines < p->fw_punct, RATIO(punct_lines, lines),
             p->fw_punct, NAN);
        RULE(R_FWSHORT, lines && (double)short_lines / (double)lines > p->fw_short, RATIO(short_lines, lines), NAN,
             p->fw_short);
        RULE(R_FWDUP, len && (double)line_dup_bytes / (double)len > p->fw_dup, RATIO(line_dup_bytes, len), NAN,
             p->fw_dup);
        if (p->word_rules)
            RULE(R_FWNL, words && (double)newlines / (double)words > p->fw_nl, RATIO(newlines, words), NAN, p->fw_nl);
    }
#undef RATIO
    return first_fail;
}

const char *cp_filter_doc(const cp_filter *f, const char *text, size_t len, const char *lang,
                          cp_filter_scratch *s)
{
    return judge(f, text, len, lang, s, NULL);
}

const char *cp_filter_doc_traced(const cp_filter *f, const char *text, size_t len, const char *lang,
                                 cp_filter_scratch *s, cp_filter_trace *trace)
{
    trace->n = 0;
    return judge(f, text, len, lang, s, trace);
}
