/* filter: document-level quality rules. One pass over the lines and words of a document gathers every
 * statistic the rules need (word hashes kept for the n-gram repetition rules); the rules then run in a
 * fixed order and the first that fails names the rejection. Thresholds are resolved per language at create
 * time (section merged with configs/lang/<code>.json), so the hot path only picks a parameter block. */
#include "corpusprep/filter.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "corpusprep/config.h"
#include "corpusprep/util.h"

static const char *const reasons[] = {
    "gopher_quality:word_count", "gopher_quality:mean_word_len", "gopher_quality:symbol_ratio",
    "gopher_quality:bullet_lines", "gopher_quality:ellipsis_lines", "gopher_quality:alpha_words",
    "gopher_quality:stop_words", "gopher_rep:dup_line_frac", "gopher_rep:dup_para_frac",
    "gopher_rep:dup_line_char_frac", "gopher_rep:dup_para_char_frac", "gopher_rep:top_2gram",
    "gopher_rep:top_3gram", "gopher_rep:top_4gram", "gopher_rep:dup_5gram", "gopher_rep:dup_6gram",
    "gopher_rep:dup_7gram", "gopher_rep:dup_8gram", "gopher_rep:dup_9gram", "gopher_rep:dup_10gram",
    "c4:min_sentences", "c4:curly_bracket", "fineweb:line_punct_ratio", "fineweb:short_line_ratio",
    "fineweb:char_dup_ratio", "fineweb:newline_ratio", NULL};
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
    for (size_t j = k & h->mask;; j = (j + 1) & h->mask) {
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

typedef struct {
    const json_t *sec;
    json_t *eff;
    char *err;
    size_t errlen;
    int failed;
    const char *where;
} rd_t;

static void fail(rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(rd_t *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(r->err, r->errlen, "filter (%s): ", r->where);
    if (k >= 0 && (size_t)k < r->errlen)
        vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    r->failed = 1;
}

static rd_t rsub(rd_t *r, const char *key)
{
    rd_t c = *r;
    c.sec = r->sec ? json_object_get(r->sec, key) : NULL;
    if (c.sec && !json_is_object(c.sec)) {
        fail(r, "\"%s\" must be an object", key);
        c.sec = NULL;
    }
    c.eff = json_object();
    json_object_set_new(r->eff, key, c.eff);
    const json_t *src = c.sec ? json_object_get(c.sec, "source") : NULL;
    if (src && json_is_string(src))
        json_object_set_new(c.eff, "source", json_string(json_string_value(src)));
    return c;
}

static double num(rd_t *r, const char *key, double def)
{
    const json_t *v = r->sec ? json_object_get(r->sec, key) : NULL;
    double x = def;
    if (v && !json_is_number(v))
        fail(r, "\"%s\" must be a number", key);
    else if (v)
        x = json_number_value(v);
    if (x < 0)
        fail(r, "\"%s\" must not be negative", key);
    json_object_set_new(r->eff, key, x == (double)(long long)x ? json_integer((json_int_t)x) : json_real(x));
    return x;
}

static int flag(rd_t *r, const char *key, int def)
{
    const json_t *v = r->sec ? json_object_get(r->sec, key) : NULL;
    int x = def;
    if (v && !json_is_boolean(v))
        fail(r, "\"%s\" must be true or false", key);
    else if (v)
        x = json_is_true(v);
    json_object_set_new(r->eff, key, json_boolean(x));
    return x;
}

static void parse_params(rd_t *r, params_t *p)
{
    rd_t g = rsub(r, "gopher_quality");
    p->gq = flag(&g, "enabled", g.sec != NULL);
    p->min_words = num(&g, "min_words", 50);
    p->max_words = num(&g, "max_words", 100000);
    p->min_mwl = num(&g, "min_mean_word_len", 3);
    p->max_mwl = num(&g, "max_mean_word_len", 10);
    p->max_sym = num(&g, "max_symbol_word_ratio", 0.1);
    p->max_bullet = num(&g, "max_bullet_lines_frac", 0.9);
    p->max_ellipsis = num(&g, "max_ellipsis_lines_frac", 0.3);
    p->min_alpha = num(&g, "min_alpha_words_frac", 0.8);
    p->min_stop = num(&g, "min_stop_words", 2);
    rd_t q = rsub(r, "gopher_repetition");
    p->gr = flag(&q, "enabled", q.sec != NULL);
    p->dline = num(&q, "max_dup_line_frac", 0.30);
    p->dpara = num(&q, "max_dup_para_frac", 0.30);
    p->dlinec = num(&q, "max_dup_line_char_frac", 0.20);
    p->dparac = num(&q, "max_dup_para_char_frac", 0.20);
    static const char *const topk[] = {"max_top_2gram_char_frac", "max_top_3gram_char_frac", "max_top_4gram_char_frac"};
    static const double topd[] = {0.20, 0.18, 0.16};
    for (int i = 0; i < 3; i++)
        p->top[i] = num(&q, topk[i], topd[i]);
    static const char *const dupk[] = {"max_dup_5gram_char_frac", "max_dup_6gram_char_frac",
                                       "max_dup_7gram_char_frac", "max_dup_8gram_char_frac",
                                       "max_dup_9gram_char_frac", "max_dup_10gram_char_frac"};
    static const double dupd[] = {0.15, 0.14, 0.13, 0.12, 0.11, 0.10};
    for (int i = 0; i < 6; i++)
        p->dup[i] = num(&q, dupk[i], dupd[i]);
    rd_t c = rsub(r, "c4");
    p->c4 = flag(&c, "enabled", c.sec != NULL);
    p->min_sent = num(&c, "min_sentences", 5);
    p->curly = flag(&c, "curly_bracket", 0);
    rd_t w = rsub(r, "fineweb");
    p->fw = flag(&w, "enabled", w.sec != NULL);
    p->fw_punct = num(&w, "min_line_punct_ratio", 0.12);
    p->fw_short = num(&w, "max_short_line_ratio", 0.67);
    p->fw_short_chars = num(&w, "short_line_max_chars", 30);
    p->fw_dup = num(&w, "max_char_dup_ratio", 0.01);
    p->fw_nl = num(&w, "max_newline_per_word", 0.3);
    r->failed |= g.failed | q.failed | c.failed | w.failed;
    if (r->failed && g.failed + q.failed + c.failed + w.failed && r->err[0] == 0)
        snprintf(r->err, r->errlen, "filter: bad value");
}

/* Lower-cases ASCII and Latin-1 capitals, drops leading and trailing punctuation; the word hash used for
 * stop words and n-grams. */
static uint64_t word_hash(const unsigned char *s, size_t n)
{
    unsigned char buf[128];
    while (n && s[0] < 0x80 && !((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z') && !(s[0] >= '0' && s[0] <= '9'))
        s++, n--;
    while (n && s[n - 1] < 0x80 && !((s[n - 1] | 32) >= 'a' && (s[n - 1] | 32) <= 'z') &&
           !(s[n - 1] >= '0' && s[n - 1] <= '9'))
        n--;
    if (n > sizeof buf)
        return XXH3_64bits(s, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        else if (i > 0 && s[i - 1] == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97)
            c += 32;
        buf[i] = c;
    }
    return XXH3_64bits(buf, n);
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
            uint64_t key = word_hash((const unsigned char *)p, k) | 1;
            size_t j = key & h->mask;
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
    rd_t r = {section, f->effective, err, errlen, 0, "default"};
    if (section && !json_is_object(section))
        fail(&r, "section must be an object");
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
    if (langs && !json_is_array(langs))
        fail(&r, "\"languages\" must be a list of language codes");
    size_t nl = langs && json_is_array(langs) ? json_array_size(langs) : 0;
    f->langs = cp_xcalloc(nl + 1, sizeof(params_t));
    for (size_t i = 0; i < nl && !r.failed; i++) {
        const char *code = json_string_value(json_array_get(langs, i));
        if (!code || strlen(code) >= 16) {
            fail(&r, "bad language code in \"languages\"");
            break;
        }
        char rel[64];
        snprintf(rel, sizeof rel, "lang/%s.json", code);
        size_t len;
        char *txt = cp_config_read(rel, &len);
        if (!txt) {
            fail(&r, "%s not found", rel);
            break;
        }
        json_error_t je;
        json_t *lj = json_loadb(txt, len, 0, &je);
        free(txt);
        if (!lj || !json_is_object(lj)) {
            fail(&r, "%s: %s", rel, lj ? "not an object" : je.text);
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
        rd_t lr = {merged, eff, err, errlen, 0, code};
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
    uint32_t bytes;
} word_t;

struct cp_filter_scratch {
    word_t *w;
    size_t nw, wcap;
    uint64_t *g;
    size_t *cb, gcap;
    uint64_t *keys;
    uint32_t *vals;
    size_t tcap;
};

cp_filter_scratch *cp_filter_scratch_create(void)
{
    return cp_xcalloc(1, sizeof(cp_filter_scratch));
}

void cp_filter_scratch_destroy(cp_filter_scratch *s)
{
    if (!s)
        return;
    free(s->w);
    free(s->g);
    free(s->cb);
    free(s->keys);
    free(s->vals);
    free(s);
}

static size_t table_reset(cp_filter_scratch *s, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap <<= 1;
    if (cap > s->tcap) {
        free(s->keys);
        free(s->vals);
        s->keys = cp_xmalloc(cap * sizeof(uint64_t));
        s->vals = cp_xmalloc(cap * sizeof(uint32_t));
        s->tcap = cap;
    }
    memset(s->keys, 0, cap * sizeof(uint64_t));
    return cap - 1;
}

/* Slot of key (inserted with value 0 when new); *fresh tells which. */
static inline size_t table_slot(cp_filter_scratch *s, size_t mask, uint64_t key, int *fresh)
{
    key |= 1;
    size_t j = key & mask;
    while (s->keys[j] && s->keys[j] != key)
        j = (j + 1) & mask;
    *fresh = !s->keys[j];
    if (*fresh) {
        s->keys[j] = key;
        s->vals[j] = 0;
    }
    return j;
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

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return m <= n && !memcmp(s + n - m, suf, m);
}

/* FineWeb's end punctuation plus the full stops of other scripts. */
static int ends_punct(const char *s, size_t n)
{
    static const char *const marks[] = {".", "!", "?", "\"", "'", "”", "’", "»", "…", ")", ":", ";",
                                        "。", "！", "？", "።", "፧", "۔", "।", "؟", NULL};
    for (int i = 0; marks[i]; i++)
        if (ends_with(s, n, marks[i]))
            return 1;
    return 0;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Counts of repeated units (lines or paragraphs), Gopher style: an occurrence after the first is a
 * duplicate; *dup_bytes sums their lengths. */
static void dup_units(cp_filter_scratch *s, const char *t, size_t len, int para, size_t *units, size_t *dups,
                      size_t *dup_bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += t[i] == '\n';
    size_t mask = table_reset(s, n + 1);
    *units = *dups = *dup_bytes = 0;
    for (size_t p = 0; p < len;) {
        size_t e = p;
        if (para) {
            const char *q = memmem(t + p, len - p, "\n\n", 2);
            e = q ? (size_t)(q - t) : len;
        } else {
            const char *q = memchr(t + p, '\n', len - p);
            e = q ? (size_t)(q - t) : len;
        }
        if (e > p) {
            int fresh;
            table_slot(s, mask, XXH3_64bits(t + p, e - p), &fresh);
            (*units)++;
            if (!fresh) {
                (*dups)++;
                *dup_bytes += e - p;
            }
        }
        p = e + (para ? 2 : 1);
    }
}

const char *cp_filter_doc(const cp_filter *f, const char *text, size_t len, const char *lang,
                          cp_filter_scratch *s)
{
    const params_t *p = pick(f, lang);
    if (!p->gq && !p->gr && !p->c4 && !p->fw)
        return NULL;
    /* One pass: lines and words. */
    size_t lines = 0, bullets = 0, ellipsis = 0, punct_lines = 0, short_lines = 0, newlines = 0;
    size_t alpha_words = 0, stop = 0, word_bytes = 0, symbols = 0, sentences = 0;
    s->nw = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (nl)
            newlines++;
        if (e > pos) {
            const char *ln = text + pos;
            size_t n = e - pos;
            lines++;
            if (ln[0] == '-' || ln[0] == '*' ||
                (n >= 3 && (!memcmp(ln, "•", 3) || !memcmp(ln, "‣", 3) || !memcmp(ln, "◦", 3) ||
                            !memcmp(ln, "▪", 3))))
                bullets++;
            if (ends_with(ln, n, "...") || ends_with(ln, n, "…"))
                ellipsis++;
            if (ends_punct(ln, n))
                punct_lines++;
            if (utf8_chars(ln, n) <= p->fw_short_chars)
                short_lines++;
            /* words */
            size_t i = 0;
            while (i < n) {
                while (i < n && (ln[i] == ' ' || ln[i] == '\t'))
                    i++;
                if (i >= n)
                    break;
                size_t b = i;
                int alpha = 0;
                while (i < n && ln[i] != ' ' && ln[i] != '\t') {
                    unsigned char c = (unsigned char)ln[i];
                    if (c >= 0x80 || ((c | 32) >= 'a' && (c | 32) <= 'z'))
                        alpha = alpha || (c >= 0xC0 || c < 0x80);
                    if (c == '#')
                        symbols++;
                    i++;
                }
                size_t wl = i - b;
                const unsigned char *w = (const unsigned char *)ln + b;
                if (ends_with((const char *)w, wl, "...") || ends_with((const char *)w, wl, "…"))
                    symbols++;
                if (wl && (w[wl - 1] == '.' || w[wl - 1] == '!' || w[wl - 1] == '?' ||
                           ends_with((const char *)w, wl, "。") || ends_with((const char *)w, wl, "።")))
                    sentences++;
                alpha_words += alpha;
                word_bytes += utf8_chars((const char *)w, wl);
                if (s->nw == s->wcap) {
                    s->wcap = s->wcap ? s->wcap * 2 : 1024;
                    s->w = cp_xrealloc(s->w, s->wcap * sizeof(word_t));
                }
                uint64_t h = word_hash(w, wl);
                s->w[s->nw++] = (word_t){h, (uint32_t)wl};
                if (p->stop.v && stop < (size_t)p->min_stop && hset_has(&p->stop, h))
                    stop++;
            }
        }
        if (!nl)
            break;
        pos = e + 1;
    }
    size_t words = s->nw;

    if (p->gq) {
        if (p->word_rules) {
            if (words < p->min_words || words > p->max_words)
                return reasons[R_WORDS];
            double mwl = words ? (double)word_bytes / (double)words : 0;
            if (mwl < p->min_mwl || mwl > p->max_mwl)
                return reasons[R_MWL];
        }
        if (words && (double)symbols / (double)words > p->max_sym)
            return reasons[R_SYM];
        if (lines && (double)bullets / (double)lines > p->max_bullet)
            return reasons[R_BULLET];
        if (lines && (double)ellipsis / (double)lines > p->max_ellipsis)
            return reasons[R_ELLIPSIS];
        if (p->word_rules) {
            if (words && (double)alpha_words / (double)words < p->min_alpha)
                return reasons[R_ALPHA];
            if (p->stop.v && stop < p->min_stop)
                return reasons[R_STOP];
        }
    }
    size_t line_units = 0, line_dups = 0, line_dup_bytes = 0;
    if (p->gr || p->fw)
        dup_units(s, text, len, 0, &line_units, &line_dups, &line_dup_bytes);
    if (p->gr) {
        if (line_units && (double)line_dups / (double)line_units > p->dline)
            return reasons[R_DLINE];
        size_t pu, pd, pb;
        dup_units(s, text, len, 1, &pu, &pd, &pb);
        if (pu && (double)pd / (double)pu > p->dpara)
            return reasons[R_DPARA];
        if (len && (double)line_dup_bytes / (double)len > p->dlinec)
            return reasons[R_DLINEC];
        if (len && (double)pb / (double)len > p->dparac)
            return reasons[R_DPARAC];
        if (p->word_rules && words >= 2) {
            /* g[i] holds the hash of the n-gram starting at word i, extended by one word per round;
             * cb[i] the bytes of its words before word i (prefix sums) for the character counts. */
            if (s->gcap < words + 1) {
                free(s->g);
                free(s->cb);
                s->gcap = words + 1;
                s->g = cp_xmalloc(s->gcap * sizeof(uint64_t));
                s->cb = cp_xmalloc(s->gcap * sizeof(size_t));
            }
            s->cb[0] = 0;
            for (size_t i = 0; i < words; i++) {
                s->g[i] = s->w[i].h;
                s->cb[i + 1] = s->cb[i] + s->w[i].bytes;
            }
            for (int n = 2; n <= 10; n++) {
                size_t m = words >= (size_t)n ? words - (size_t)n + 1 : 0;
                for (size_t i = 0; i < m; i++)
                    s->g[i] = s->g[i] * 0x9E3779B97F4A7C15ull + s->w[i + (size_t)n - 1].h;
                if (!m)
                    break;
                size_t mask = table_reset(s, m);
                int fresh;
                if (n <= 4) { /* the most frequent n-gram's share of the characters */
                    size_t best = 0, best_bytes = 0;
                    for (size_t i = 0; i < m; i++) {
                        size_t j = table_slot(s, mask, s->g[i], &fresh);
                        if (++s->vals[j] > best) {
                            best = s->vals[j];
                            best_bytes = s->cb[i + (size_t)n] - s->cb[i] + (size_t)n - 1;
                        }
                    }
                    if (best > 1 && (double)(best * best_bytes) / (double)len > p->top[n - 2])
                        return reasons[R_TOP2 + n - 2];
                } else { /* characters in repeated n-grams, counted without overlap */
                    size_t rep = 0;
                    for (size_t i = 0; i < m;) {
                        table_slot(s, mask, s->g[i], &fresh);
                        if (fresh) {
                            i++;
                        } else {
                            rep += s->cb[i + (size_t)n] - s->cb[i];
                            i += (size_t)n;
                        }
                    }
                    if ((double)rep / (double)len > p->dup[n - 5])
                        return reasons[R_DUP5 + n - 5];
                }
            }
        }
    }
    if (p->c4) {
        if (sentences < p->min_sent)
            return reasons[R_C4SENT];
        if (p->curly && memchr(text, '{', len))
            return reasons[R_C4CURLY];
    }
    if (p->fw) {
        if (lines && (double)punct_lines / (double)lines < p->fw_punct)
            return reasons[R_FWPUNCT];
        if (lines && (double)short_lines / (double)lines > p->fw_short)
            return reasons[R_FWSHORT];
        if (len && (double)line_dup_bytes / (double)len > p->fw_dup)
            return reasons[R_FWDUP];
        if (p->word_rules && words && (double)newlines / (double)words > p->fw_nl)
            return reasons[R_FWNL];
    }
    return NULL;
}
