/* clean: line-level cleaning of one document. Every line goes through a fixed chain of rules (order in
 * clean.h); all phrase lists (C4's policy phrases, per-language news boilerplate) are compiled at create
 * time into one automaton (phrases.c), so a line is scanned once whatever the number of phrases. Words are
 * counted in 64-byte blocks of bit masks where a line allows it. The cleaner is read-only after create;
 * per-document state lives in the scratch. */
#include "corpusprep/clean.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "corpusprep/config.h"
#include "corpusprep/dedup.h"
#include "corpusprep/normalize.h"
#include "corpusprep/phrases.h"

static const char *const rule_names[CP_CLEAN_NRULES] = {
    "boilerplate:tail", "doc_repeat_line", "c4:long_word", "c4:javascript", "c4:policy",
    "boilerplate:line", "boilerplate:banner", "boilerplate:caption", "boilerplate:marker",
    "c4:citation", "c4:min_words", "c4:terminal_punct", "boilerplate:glued_teaser", "isolated_line",
};

const char *cp_clean_rule_name(int rule)
{
    return rule >= 0 && rule < CP_CLEAN_NRULES ? rule_names[rule] : "?";
}

void cp_clean_stats_add(cp_clean_stats *sum, const cp_clean_stats *doc)
{
    for (int i = 0; i < CP_CLEAN_NRULES; i++) {
        sum->lines[i] += doc->lines[i];
        sum->chars[i] += doc->chars[i];
    }
}

/* ---------------------------------------------------------------- the cleaner */

typedef struct {
    char **v;
    size_t n;
} strs_t;

struct cp_cleaner {
    json_t *effective; /* what --print-config shows */
    /* C4 line rules */
    int c4_enabled;
    size_t max_word_chars;
    int citations, js, policy, lorem;
    unsigned min_words;
    int term_enabled, term_rescue, term_continued, ellipsis_ends;
    unsigned term_prose_min_words;
    unsigned term_rescue_max_words;
    size_t attribution_max_bytes; /* 0: a line ending in ")" never ends a sentence (C4) */
    strs_t end_marks;
    size_t *end_mark_len;
    unsigned char end_mark_last[256]; /* 1 for a byte some end mark ends with */
    /* news boilerplate */
    int bp_enabled;
    unsigned banner_max_words, caption_max_words;
    size_t tail_min_chars_before;
    unsigned tail_resume_min_words;
    size_t end_min_chars_before;
    /* repeated short lines */
    int rep_enabled;
    size_t rep_max_chars;
    unsigned rep_min_count;
    /* glued headline + lede teasers */
    int glue_enabled;
    unsigned glue_min_head_words, glue_max_head_words, glue_min_lede_words;
    double glue_min_head_caps;
    /* isolated kept lines */
    int iso_enabled;
    unsigned iso_min_gap, iso_max_words;
    int iso_keep_lede;
    cp_line_dedup_params dedup;
    cp_phrases *phrases;
};

/* A list of strings; def is a NULL-terminated default. */
static strs_t rstrs(cp_cfg_reader *r, const char *key, const char *const *def)
{
    strs_t s = {0};
    const json_t *v = cp_cfg_get(r, key);
    json_t *out = json_array();
    if (v && !json_is_array(v)) {
        cp_cfg_fail(r, "\"%s\" must be a list of strings", key);
        v = NULL;
    }
    size_t n = 0;
    if (v)
        n = json_array_size(v);
    else
        while (def && def[n])
            n++;
    s.v = cp_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *x = !v && def ? def[i] : NULL;
        if (v) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_string(e)) {
                cp_cfg_fail(r, "\"%s\" must be a list of strings", key);
                continue;
            }
            x = json_string_value(e);
        }
        s.v[s.n++] = cp_xstrdup(x);
        json_array_append_new(out, json_string(x));
    }
    json_object_set_new(r->eff, key, out);
    return s;
}

static void strs_free(strs_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static const char *const default_policy[] = {"terms of use", "privacy policy", "cookie policy",
                                             "uses cookies", "use of cookies", "use cookies", NULL};
static const char *const default_end_marks[] = {".", "!", "?", "\"", NULL};

/* Loads one boilerplate file ({"line": [...], "banner": [...], ...}) into the phrase list. */
static int load_boilerplate(const char *rel, cp_phrase_list *ph, char *err, size_t errlen)
{
    size_t len;
    char *txt = cp_config_read(rel, &len);
    if (!txt) {
        snprintf(err, errlen, "clean: boilerplate file %s not found", rel);
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(txt, len, 0, &je);
    free(txt);
    if (!j || !json_is_object(j)) {
        snprintf(err, errlen, "clean: %s: %s", rel, j ? "not a JSON object" : je.text);
        json_decref(j);
        return -1;
    }
    static const struct {
        const char *key;
        unsigned kind;
    } kinds[] = {{"line", CP_PHRASE_LINE}, {"banner", CP_PHRASE_BANNER}, {"caption", CP_PHRASE_CAPTION},
                 {"marker", CP_PHRASE_MARKER}, {"tail", CP_PHRASE_TAIL},
                 {"end", CP_PHRASE_END}, {"end_count", CP_PHRASE_END_COUNT}};
    int rc = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const json_t *a = json_object_get(j, kinds[k].key);
        if (!a)
            continue;
        if (!json_is_array(a)) {
            snprintf(err, errlen, "clean: %s: \"%s\" must be a list", rel, kinds[k].key);
            rc = -1;
            break;
        }
        size_t i;
        const json_t *e;
        json_array_foreach(a, i, e) if (json_is_string(e)) cp_phrase_list_add(ph, json_string_value(e), kinds[k].kind);
    }
    json_decref(j);
    return rc;
}

/* ---------------------------------------------------------------- line hash fast path */

/* Byte i of a word loaded with memcpy is s[i] counted from the low end (for __builtin_ctzll). */
#define LITTLE_ENDIAN_WORDS (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)


cp_cleaner *cp_cleaner_create(const json_t *section, char *err, size_t errlen)
{
    cp_cleaner *c = cp_xcalloc(1, sizeof *c);
    c->effective = json_object();
    cp_cfg_reader r = {section, c->effective, err, errlen, 0, "clean", NULL};
    if (section && !json_is_object(section))
        cp_cfg_fail(&r, "section must be an object");
    cp_phrase_list *ph = cp_phrase_list_create();

    cp_cfg_reader c4 = cp_cfg_sub(&r, "c4_lines");
    c->c4_enabled = cp_cfg_bool(&c4, "enabled", c4.sec != NULL);
    c->max_word_chars = (size_t)cp_cfg_num(&c4, "max_word_chars", 1000, 0, 1e9);
    c->citations = cp_cfg_bool(&c4, "strip_citations", 1);
    c->js = cp_cfg_bool(&c4, "javascript", 1);
    strs_t policy = rstrs(&c4, "policy_phrases", default_policy);
    c->policy = policy.n > 0;
    c->lorem = cp_cfg_bool(&c4, "lorem_ipsum", 1);
    c->min_words = (unsigned)cp_cfg_num(&c4, "min_words", 3, 0, 1000);
    cp_cfg_reader tp = cp_cfg_sub(&c4, "terminal_punct");
    c->term_enabled = cp_cfg_bool(&tp, "enabled", 1);
    c->end_marks = rstrs(&tp, "end_marks", default_end_marks);
    c->end_mark_len = cp_xcalloc(c->end_marks.n + 1, sizeof(size_t));
    for (size_t i = 0; i < c->end_marks.n; i++) {
        size_t m = c->end_mark_len[i] = strlen(c->end_marks.v[i]);
        if (m)
            c->end_mark_last[(unsigned char)c->end_marks.v[i][m - 1]] = 1;
        else
            memset(c->end_mark_last, 1, sizeof c->end_mark_last); /* "" ends every line */
    }
    c->ellipsis_ends = cp_cfg_bool(&tp, "ellipsis_ends_line", 1);
    c->attribution_max_bytes = (size_t)cp_cfg_num(&tp, "attribution_max_bytes", 0, 0, 1000);
    c->term_rescue = cp_cfg_bool(&tp, "keep_between_kept", 0);
    c->term_continued = cp_cfg_bool(&tp, "keep_continued", 0);
    c->term_prose_min_words = (unsigned)cp_cfg_num(&tp, "keep_prose_min_words", 0, 0, 1e6);
    c->term_rescue_max_words = (unsigned)cp_cfg_num(&tp, "keep_between_max_words", 12, 0, 1000);
    cp_cfg_done(&c4, &tp);
    cp_cfg_done(&r, &c4);
    if (c->c4_enabled) {
        if (c->js)
            cp_phrase_list_add(ph, "javascript", CP_PHRASE_JS);
        if (c->lorem)
            cp_phrase_list_add(ph, "lorem ipsum", CP_PHRASE_LOREM);
        for (size_t i = 0; i < policy.n; i++)
            cp_phrase_list_add(ph, policy.v[i], CP_PHRASE_POLICY);
    }
    strs_free(&policy);

    cp_cfg_reader bp = cp_cfg_sub(&r, "boilerplate");
    c->bp_enabled = cp_cfg_bool(&bp, "enabled", bp.sec != NULL);
    strs_t files = rstrs(&bp, "files", NULL);
    c->banner_max_words = (unsigned)cp_cfg_num(&bp, "banner_max_words", 25, 0, 1e6);
    c->caption_max_words = (unsigned)cp_cfg_num(&bp, "caption_max_words", 60, 0, 1e6);
    c->tail_min_chars_before = (size_t)cp_cfg_num(&bp, "tail_min_chars_before", 0, 0, 1e9);
    c->tail_resume_min_words = (unsigned)cp_cfg_num(&bp, "tail_resume_min_words", 10, 1, 1e6);
    c->end_min_chars_before = (size_t)cp_cfg_num(&bp, "end_min_chars_before", 300, 0, 1e9);
    cp_cfg_done(&r, &bp);
    if (c->bp_enabled && !r.failed)
        for (size_t i = 0; i < files.n && !r.failed; i++)
            if (load_boilerplate(files.v[i], ph, err, errlen) < 0)
                r.failed = 1;
    strs_free(&files);

    cp_cfg_reader rp = cp_cfg_sub(&r, "doc_repeat_line");
    c->rep_enabled = cp_cfg_bool(&rp, "enabled", rp.sec != NULL);
    c->rep_max_chars = (size_t)cp_cfg_num(&rp, "max_chars", 100, 1, 1e9);
    c->rep_min_count = (unsigned)cp_cfg_num(&rp, "min_count", 2, 2, 1e9);
    cp_cfg_done(&r, &rp);

    cp_cfg_reader gl = cp_cfg_sub(&r, "glued_teaser");
    c->glue_enabled = cp_cfg_bool(&gl, "enabled", gl.sec != NULL);
    c->glue_min_head_words = (unsigned)cp_cfg_num(&gl, "min_headline_words", 3, 1, 1000);
    c->glue_max_head_words = (unsigned)cp_cfg_num(&gl, "max_headline_words", 30, 1, 1000);
    c->glue_min_head_caps = cp_cfg_num(&gl, "min_headline_caps", 0.8, 0, 1);
    c->glue_min_lede_words = (unsigned)cp_cfg_num(&gl, "min_lede_words", 5, 1, 1000);
    cp_cfg_done(&r, &gl);

    cp_cfg_reader is = cp_cfg_sub(&r, "isolated_line");
    c->iso_enabled = cp_cfg_bool(&is, "enabled", is.sec != NULL);
    c->iso_min_gap = (unsigned)cp_cfg_num(&is, "min_gap_lines", 2, 1, 1e6);
    c->iso_max_words = (unsigned)cp_cfg_num(&is, "max_words", 60, 1, 1e9);
    c->iso_keep_lede = cp_cfg_bool(&is, "keep_before_block", 0);
    cp_cfg_done(&r, &is);

    cp_cfg_reader ld = cp_cfg_sub(&r, "line_dedup");
    const json_t *mode = cp_cfg_get(&ld, "mode");
    const char *m = mode ? json_string_value(mode) : "off";
    if (!m || (strcmp(m, "off") && strcmp(m, "first") && strcmp(m, "all")))
        cp_cfg_fail(&ld, "line_dedup.mode must be \"off\", \"first\" or \"all\"");
    else
        c->dedup.mode = !strcmp(m, "first") ? CP_LINE_DEDUP_FIRST
                      : !strcmp(m, "all")   ? CP_LINE_DEDUP_ALL
                                            : CP_LINE_DEDUP_OFF;
    json_object_set_new(ld.eff, "mode", json_string(m ? m : "off"));
    c->dedup.min_docs = (unsigned)cp_cfg_num(&ld, "min_docs", 2, 2, 1e9);
    c->dedup.min_chars = (size_t)cp_cfg_num(&ld, "min_chars", 20, 0, 1e9);
    cp_cfg_done(&r, &ld);
    cp_cfg_check(&r);

    if (!r.failed)
        c->phrases = cp_phrases_build(ph); /* NULL when no rule uses a phrase */
    cp_phrase_list_destroy(ph);
    if (r.failed) {
        cp_cleaner_destroy(c);
        return NULL;
    }
    return c;
}

void cp_cleaner_destroy(cp_cleaner *c)
{
    if (!c)
        return;
    json_decref(c->effective);
    strs_free(&c->end_marks);
    free(c->end_mark_len);
    cp_phrases_destroy(c->phrases);
    free(c);
}

json_t *cp_cleaner_to_json(const cp_cleaner *c)
{
    return json_deep_copy(c->effective);
}

const cp_line_dedup_params *cp_cleaner_line_dedup(const cp_cleaner *c)
{
    return &c->dedup;
}

/* ---------------------------------------------------------------- per document */

typedef struct {
    uint32_t start, len;   /* original line */
    uint32_t off, clen;    /* cleaned content in scratch->work */
    uint32_t words;
    int rule;              /* -1 kept, else the CP_CLEAN_* that removed it */
    unsigned char blank, ends_mark, glued;
} line_t;

struct cp_clean_scratch {
    line_t *lines;
    size_t nlines, cap;
    cp_buf work, tmp;
    uint64_t *hkeys;
    uint32_t *hcount;
    size_t hcap;
    size_t *kept, *kgap, kcap; /* isolated_line: kept lines and the removed lines before each */
};

cp_clean_scratch *cp_clean_scratch_create(void)
{
    return cp_xcalloc(1, sizeof(cp_clean_scratch));
}

void cp_clean_scratch_destroy(cp_clean_scratch *s)
{
    if (!s)
        return;
    free(s->lines);
    cp_buf_free(&s->work);
    cp_buf_free(&s->tmp);
    free(s->hkeys);
    free(s->hcount);
    free(s->kept);
    free(s->kgap);
    free(s);
}

/* Code points of scripts written without spaces between words: each counts as one word. */
static inline int no_space_cp(uint32_t cp)
{
    return (cp >= 0x0E00 && cp <= 0x0EFF)     /* Thai, Lao */
        || (cp >= 0x0F00 && cp <= 0x0FFF)     /* Tibetan */
        || (cp >= 0x1000 && cp <= 0x109F)     /* Myanmar */
        || (cp >= 0x1780 && cp <= 0x17FF)     /* Khmer */
        || (cp >= 0x3040 && cp <= 0x30FF)     /* Hiragana, Katakana */
        || (cp >= 0x3400 && cp <= 0x9FFF)     /* CJK */
        || (cp >= 0xF900 && cp <= 0xFAFF);
}

/* The code point at s[i] (not ASCII) as count_words reads it, without checking continuation bytes;
 * *k gets its length in bytes. */
static inline uint32_t wc_decode(const unsigned char *s, size_t i, size_t n, size_t *k)
{
    unsigned char c = s[i];
    if (c >= 0xF0 && i + 3 < n) {
        *k = 4;
        return ((uint32_t)(c & 7) << 18) | ((uint32_t)(s[i + 1] & 63) << 12) | ((uint32_t)(s[i + 2] & 63) << 6) |
               (s[i + 3] & 63);
    }
    if (c >= 0xE0 && i + 2 < n) {
        *k = 3;
        return ((uint32_t)(c & 15) << 12) | ((uint32_t)(s[i + 1] & 63) << 6) | (s[i + 2] & 63);
    }
    if (c >= 0xC0 && i + 1 < n) {
        *k = 2;
        return ((uint32_t)(c & 31) << 6) | (s[i + 1] & 63);
    }
    *k = 1;
    return c;
}

static inline int wc_space(uint32_t cp)
{
    return cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200A);
}

/* count_words' step for the character at s[i] (not ASCII): returns its length in bytes. */
static inline size_t wc_other(const unsigned char *s, size_t i, size_t n, uint32_t *words, size_t *run,
                              size_t *best)
{
    size_t k;
    uint32_t cp = wc_decode(s, i, n, &k);
    if (wc_space(cp)) {
        if (*run > *best)
            *best = *run;
        *run = 0;
    } else if (no_space_cp(cp)) {
        (*words)++;
        if (*run > *best)
            *best = *run;
        *run = 0;
    } else {
        if (*run == 0)
            (*words)++;
        (*run)++;
    }
    return k;
}

/* Lead bytes that can start a space or a no-space-script character (U+00A0, U+0E00..U+FAFF): C2, E0..EF. */
static inline int wc_maybe_special(unsigned char c)
{
    return c == 0xC2 || (c & 0xF0) == 0xE0;
}

/* Words in the 64 bytes at s + b (a code point starts at b; b + 64 <= n), when every character there is
 * either a space/tab or an ordinary word character and the block is well-formed as wc_decode reads it
 * (every byte a lead expects is a continuation byte, no other is). Then a word starts at each non-blank,
 * non-continuation byte after a blank (or after the block's start when no word is open), which is a
 * popcount. *in_word carries whether a word is open across blocks. Returns where the next code point
 * starts, or 0 when the block has another shape (the caller reads it character by character). */
static size_t wc_block(const unsigned char *s, size_t n, size_t b, int *in_word, uint32_t *words)
{
    cp_masks64 m;
    cp_masks64_of(s + b, &m);
    size_t spill = 0;
    uint64_t cont = 0;
    if (m.b7) {
        cont = m.b7 & ~m.b6;
        uint64_t lead = m.b7 & m.b6, lead2 = lead & ~m.b5, lead3 = lead & m.b5 & ~m.b4, lead4 = lead & m.b5 & m.b4;
        uint64_t l34 = lead3 | lead4;
        if (((lead2 << 1) | (l34 << 1) | (l34 << 2) | (lead4 << 3)) != cont)
            return 0;
        if (lead >> 63)
            spill = lead2 >> 63 ? 1 : lead3 >> 63 ? 2 : 3;
        else if ((l34 >> 62) & 1)
            spill = (lead3 >> 62) & 1 ? 1 : 2;
        else if ((lead4 >> 61) & 1)
            spill = 1;
        if (b + 64 + spill > n) /* wc_decode shortens a character cut by the end */
            return 0;
        for (uint64_t l = lead; l; l &= l - 1) {
            size_t at = b + (size_t)__builtin_ctzll(l), k;
            if (wc_maybe_special(s[at])) {
                uint32_t cp = wc_decode(s, at, n, &k);
                if (wc_space(cp) || no_space_cp(cp))
                    return 0;
            }
        }
    }
    uint64_t chars = ~cont & ~m.blank; /* first bytes of word characters */
    uint64_t starts = chars & ((m.blank << 1) | (uint64_t)!*in_word);
    *words += (uint32_t)cp_popcount64(starts);
    *in_word = !(m.blank >> 63);
    return b + 64 + spill;
}

/* Whether s[0..n) holds more than max bytes in a row without a space or tab: a bound on count_words'
 * longest run (code points, also broken by other spaces), so a line without one cannot break the limit. */
static int has_long_run(const unsigned char *s, size_t n, size_t max)
{
    size_t cur = 0, i = 0;
    if (max >= 64) /* runs inside a block are shorter than 64: only runs across blocks count */
        for (; i + 64 <= n; i += 64) {
            cp_masks64 m;
            cp_masks64_of(s + i, &m);
            if (!m.blank) {
                cur += 64;
                if (cur > max)
                    return 1;
                continue;
            }
            if (cur + (size_t)__builtin_ctzll(m.blank) > max)
                return 1;
            cur = (size_t)__builtin_clzll(m.blank); /* bytes after the block's last blank */
        }
    for (; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\t')
            cur = 0;
        else if (++cur > max)
            return 1;
    }
    return 0;
}

/* count_words without the longest run: whole 64-byte blocks where wc_block can, else one character at a
 * time (the same steps as count_words) through the next 64 bytes. */
static uint32_t count_words_blocks(const unsigned char *s, size_t n)
{
    uint32_t words = 0;
    size_t run = 0, best = 0, i = 0;
    while (i < n) {
        if (i + 64 <= n) {
            int in_word = run != 0;
            size_t next = wc_block(s, n, i, &in_word, &words);
            if (next) {
                i = next;
                run = (size_t)in_word;
                continue;
            }
        }
        for (size_t e = i + 64 < n ? i + 64 : n; i < e;) {
            unsigned char c = s[i];
            if (c >= 0x80) {
                i += wc_other(s, i, n, &words, &run, &best);
            } else if (c == ' ' || c == '\t') {
                run = 0;
                i++;
            } else {
                words += run == 0;
                run++;
                i++;
            }
        }
    }
    return words;
}

/* Words of s[0..n) (runs between spaces/tabs; a no-space-script character is a word by itself) and the
 * longest run in code points. */
static uint32_t count_words(const unsigned char *s, size_t n, size_t *longest)
{
    if (!longest)
        return count_words_blocks(s, n);
    uint32_t words = 0;
    size_t run = 0, best = 0;
    size_t i = 0, bytewise_to = 0;
    while (i < n) {
        uint64_t x;
        if (LITTLE_ENDIAN_WORDS && i >= bytewise_to && i + 8 <= n) {
            memcpy(&x, s + i, 8);
            uint64_t high = x & 0x8080808080808080ull;
            if (!high) { /* eight ASCII bytes: visit only the spaces among them */
                uint64_t sp = cp_bytes_eq(x, ' ') | cp_bytes_eq(x, '\t');
                size_t j = 0;
                while (sp) {
                    size_t at = (size_t)__builtin_ctzll(sp) >> 3;
                    if (at > j) {
                        words += run == 0;
                        run += at - j;
                    }
                    if (run > best)
                        best = run;
                    run = 0;
                    j = at + 1;
                    sp &= sp - 1;
                }
                if (j < 8) {
                    words += run == 0;
                    run += 8 - j;
                }
                i += 8;
                continue;
            }
            bytewise_to = i + (size_t)__builtin_ctzll(high) / 8 + 1; /* through the first non-ASCII byte */
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == ' ' || c == '\t') {
                if (run > best)
                    best = run;
                run = 0;
            } else {
                if (run == 0)
                    words++;
                run++;
            }
            i++;
            continue;
        }
        i += wc_other(s, i, n, &words, &run, &best);
    }
    if (run > best)
        best = run;
    if (longest)
        *longest = best;
    return words;
}

/* Sentence ends inside a line: '.', '!' or '?' followed by a space and an upper-case ASCII letter or a
 * non-ASCII character (a cheap test for running prose whose last sentence was cut), counted up to limit.
 * Eight bytes at a time: a chunk without '.', '!' or '?' is skipped. */
static size_t inner_sentence_ends(const char *s, size_t n, size_t limit)
{
    size_t k = 0, i = 0;
    while (i + 2 < n) {
        if (LITTLE_ENDIAN_WORDS && i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!(cp_bytes_eq(x, '.') | cp_bytes_eq(x, '!') | cp_bytes_eq(x, '?'))) {
                i += 8;
                continue;
            }
        }
        for (size_t e = i + 8 < n - 2 ? i + 8 : n - 2; i < e; i++)
            if ((s[i] == '.' || s[i] == '!' || s[i] == '?') && s[i + 1] == ' ' &&
                ((s[i + 2] >= 'A' && s[i + 2] <= 'Z') || (unsigned char)s[i + 2] >= 0x80) && ++k >= limit)
                return k;
    }
    return k;
}

static int ends_with_mark(const cp_cleaner *c, const char *s, size_t n);

/* "... in June. (Reuters)": a sentence closed by its end mark, then a short source in brackets, as news
 * round-ups and gossip columns end every item. Only the last bracket counts, and it must be short. */
static int ends_with_attribution(const cp_cleaner *c, const char *s, size_t n)
{
    if (!n || s[n - 1] != ')')
        return 0;
    size_t open = n - 1;
    while (open > 0 && s[open - 1] != '(' && s[open - 1] != ')')
        open--;
    if (open == 0 || s[open - 1] != '(' || n - open > c->attribution_max_bytes)
        return 0;
    size_t k = open - 1; /* drop the bracket and the blanks (NBSP included) before it */
    for (;;) {
        if (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        else if (k >= 2 && (unsigned char)s[k - 2] == 0xC2 && (unsigned char)s[k - 1] == 0xA0)
            k -= 2;
        else
            break;
    }
    return k > 0 && ends_with_mark(c, s, k);
}

static int ends_with_mark(const cp_cleaner *c, const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (c->attribution_max_bytes && ends_with_attribution(c, s, n))
        return 1;
    if (!c->ellipsis_ends && ((n >= 3 && !memcmp(s + n - 3, "...", 3)) || (n >= 3 && !memcmp(s + n - 3, "\xe2\x80\xa6", 3))))
        return 0; /* a truncated teaser, not the end of a sentence */
    if (n && !c->end_mark_last[(unsigned char)s[n - 1]])
        return 0;
    for (size_t i = 0; i < c->end_marks.n; i++) {
        size_t m = c->end_mark_len[i];
        if (m <= n && !memcmp(s + n - m, c->end_marks.v[i], m))
            return 1;
    }
    return 0;
}

/* Removes C4 citation markers ("[12]", "[]", "[edit]", "[citation needed]") while copying s into out.
 * *rejoin is set when a removed marker was followed by a code point from U+0300 up: the only kind that
 * can compose with (or reorder against) what came before the marker, so the copy may no longer be NFC. */
static size_t strip_citations(const char *s, size_t n, cp_buf *out, int *rejoin)
{
    size_t removed = 0, i = 0;
    while (i < n) {
        const char *b = memchr(s + i, '[', n - i);
        if (!b) {
            cp_buf_append(out, s + i, n - i);
            break;
        }
        size_t p = (size_t)(b - s);
        cp_buf_append(out, s + i, p - i);
        size_t q = p + 1;
        while (q < n && s[q] >= '0' && s[q] <= '9')
            q++;
        size_t m = 0;
        if (q < n && s[q] == ']')
            m = q + 1 - p;
        else if (n - p >= 6 && !memcmp(s + p, "[edit]", 6))
            m = 6;
        else if (n - p >= 17 && !memcmp(s + p, "[citation needed]", 17))
            m = 17;
        if (m) {
            removed += m;
            i = p + m;
            if (i < n && (unsigned char)s[i] >= 0xCC) /* 0xCC leads U+0300; all below are stable */
                *rejoin = 1;
        } else {
            cp_buf_putc(out, '[');
            i = p + 1;
        }
    }
    return removed;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

/* Counts each short line's dedup hash; returns the table mask. Key 0 marks an empty slot. */
static size_t count_short_lines(const cp_cleaner *c, const char *text, cp_clean_scratch *s)
{
    size_t cap = pow2_at_least(s->nlines * 2 + 2);
    if (cap > s->hcap) {
        free(s->hkeys);
        free(s->hcount);
        s->hkeys = cp_xmalloc(cap * sizeof(uint64_t));
        s->hcount = cp_xmalloc(cap * sizeof(uint32_t));
        s->hcap = cap;
    }
    memset(s->hkeys, 0, cap * sizeof(uint64_t));
    size_t mask = cap - 1;
    for (size_t i = 0; i < s->nlines; i++) {
        line_t *l = &s->lines[i];
        if (l->blank || l->len > c->rep_max_chars)
            continue;
        /* copies inside one page are byte-identical: a plain hash of the line is enough here */
        uint64_t h = XXH3_64bits(text + l->start, l->len) | 1;
        size_t j = (h >> 1) & mask; /* bit 0 is always set: the home comes from the bits above it */
        while (s->hkeys[j] && s->hkeys[j] != h)
            j = (j + 1) & mask;
        if (!s->hkeys[j]) {
            s->hkeys[j] = h;
            s->hcount[j] = 0;
        }
        s->hcount[j]++;
        l->off = (uint32_t)j; /* slot, read back in the rule pass */
        l->clen = 1;
    }
    return mask;
}

static inline int lower_ascii(unsigned char ch)
{
    return ch >= 'a' && ch <= 'z';
}

/* A teaser of another article as a crawler flattens it: a Title Case headline run into the first word of
 * its lede with no space ("...Death Of U of M-Dearborn Student-AthleteA 24-year-old woman and ...",
 * "...Applications To 250,000The state of ..."). The glue is a capital right after a Title Case word (a
 * capital and three or more lower-case letters: not a Bantu class prefix as in "wakwaNgqina"), a digit,
 * '?' or '!', starting a whole word ("A", "I" or a capital and lower-case
 * letters, then a space or , : ; '); what precedes it has min_head_words words, min_head_caps of them not
 * starting in lower case; what follows is a sentence (min_lede_words words, over a third of them in lower
 * case). Brand names written in camel case ("MacBook", "McAllen") fail the first test or the sentence test;
 * the caller also asks for a second glued line next to this one, as teasers come in lists. */
/* Words of s[0..n) and how many of them do not start with a lower-case ASCII letter. */
static uint32_t title_words(const unsigned char *s, size_t n, uint32_t *caps)
{
    uint32_t w = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
            w++;
            k += !lower_ascii(s[i]);
        }
    *caps = k;
    return w;
}

/* Whether the capital at s[i] (i > 0) glues a headline to a sentence, as described above. */
static int glue_at(const cp_cleaner *c, const unsigned char *s, size_t n, size_t i)
{
    unsigned char ch = s[i], pv = s[i - 1];
    if (lower_ascii(pv)) { /* a Title Case word [A-Z][a-z]{3,}, from a space or a hyphen */
        size_t k = i - 1;
        while (k > 0 && lower_ascii(s[k - 1]))
            k--;
        if (i - k < 3 || k == 0 || s[k - 1] < 'A' || s[k - 1] > 'Z')
            return 0;
        k--;
        if (k > 0 && s[k - 1] != ' ' && s[k - 1] != '-')
            return 0;
    } else if (!(pv >= '0' && pv <= '9') && pv != '?' && pv != '!') {
        return 0;
    }
    size_t j = i + 1;
    while (j < n && lower_ascii(s[j]))
        j++;
    if (j >= n || !(s[j] == ' ' || s[j] == ',' || s[j] == ':' || s[j] == ';' || s[j] == '\'' || s[j] == 0xE2))
        return 0;
    if (j == i + 1 && ((ch != 'A' && ch != 'I') || !lower_ascii(pv)))
        return 0; /* one capital: only "A" or "I" after a word ("4K", "3D" are not glue) */
    uint32_t hcaps, lcaps;
    uint32_t hw = title_words(s, i, &hcaps);
    if (hw < c->glue_min_head_words || hw > c->glue_max_head_words || hcaps < c->glue_min_head_caps * hw)
        return 0;
    uint32_t lw = title_words(s + i, n - i, &lcaps);
    return lw >= c->glue_min_lede_words && 3 * (lw - lcaps) > lw;
}

/* Candidates are capitals inside a word. A headline has at most max_head_words words, so once the words
 * read so far hold more lower-case initials than (1 - min_head_caps) * max_head_words no later capital can
 * end one: running text stops after a few words, any text after max_head_words. Eight bytes at a time: word starts are the bytes after a
 * space; a chunk holding a candidate is read byte by byte, in order. */
static int glued_headline(const cp_cleaner *c, const unsigned char *s, size_t n, uint32_t words)
{
    if (words < c->glue_min_head_words + c->glue_min_lede_words)
        return 0;
    const double max_lower = (1.0 - c->glue_min_head_caps) * c->glue_max_head_words;
    const uint64_t high = CP_HIGH8;
    uint32_t lower = 0, starts = 0; /* word starts after the first word */
    size_t i = 1;
    while (i < n) {
        if (LITTLE_ENDIAN_WORDS && i + 8 <= n) {
            uint64_t x, p;
            memcpy(&x, s + i, 8);
            memcpy(&p, s + i - 1, 8);
            uint64_t after_sp = cp_bytes_eq(p, ' ') | cp_bytes_eq(p, '\t');
            uint64_t x7 = x & ~high, p7 = p & ~high;
            uint64_t glue_before = (cp_bytes_in(p7, 'a', 'z') | cp_bytes_in(p7, '0', '9') | cp_bytes_eq(p, '?') |
                                    cp_bytes_eq(p, '!')) & ~p; /* [a-z0-9?!] */
            uint64_t cand = cp_bytes_in(x7, 'A', 'Z') & ~x & glue_before;
            if (!cand) {
                lower += (uint32_t)__builtin_popcountll(cp_bytes_in(x7, 'a', 'z') & ~x & after_sp);
                starts += (uint32_t)__builtin_popcountll(after_sp & ~(cp_bytes_eq(x, ' ') | cp_bytes_eq(x, '\t')));
                if (lower > max_lower || starts >= c->glue_max_head_words)
                    return 0;
                i += 8;
                continue;
            }
        }
        for (size_t e = i + 8 < n ? i + 8 : n; i < e; i++) {
            unsigned char ch = s[i], pv = s[i - 1];
            if (pv == ' ' || pv == '\t') {
                if (ch != ' ' && ch != '\t' && ++starts >= c->glue_max_head_words)
                    return 0;
                if (lower_ascii(ch) && ++lower > max_lower)
                    return 0;
            } else if (ch >= 'A' && ch <= 'Z' && glue_at(c, s, n, i)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Glued teaser lines next to another (blank lines between allowed) go, whatever other rules said. */
static void drop_glued(cp_clean_scratch *s)
{
    size_t prev = SIZE_MAX; /* the previous non-blank line */
    for (size_t i = 0; i < s->nlines; i++) {
        line_t *l = &s->lines[i];
        if (l->blank)
            continue;
        if (l->glued && prev != SIZE_MAX && s->lines[prev].glued) {
            if (s->lines[prev].rule < 0)
                s->lines[prev].rule = CP_CLEAN_GLUED_TEASER;
            if (l->rule < 0)
                l->rule = CP_CLEAN_GLUED_TEASER;
        }
        prev = i;
    }
}

/* A short kept line with at least iso_min_gap removed lines between it and the nearest kept line on each
 * side (or the edge of the page) is a teaser or a blurb among boilerplate, not part of the text: jusText's
 * context rule (Pomikalek 2011) on lines. With iso_keep_lede, such a line stays when the text after the
 * gap is a block of two or more lines (a lede above a photo and its credit). Decided on the state before
 * the pass, so removals do not cascade; a page whose every kept line is isolated keeps them. */
static void drop_isolated(const cp_cleaner *c, cp_clean_scratch *s)
{
    /* kept lines' indices with the number of removed lines before each (SIZE_MAX: the page edge) */
    size_t nk = 0, gap = SIZE_MAX;
    for (size_t i = 0; i < s->nlines; i++) {
        line_t *l = &s->lines[i];
        if (l->blank)
            continue;
        if (l->rule >= 0) {
            gap += gap != SIZE_MAX;
            continue;
        }
        if (nk == s->kcap) {
            s->kcap = s->kcap ? 2 * s->kcap : 256;
            s->kept = cp_xrealloc(s->kept, s->kcap * sizeof *s->kept);
            s->kgap = cp_xrealloc(s->kgap, s->kcap * sizeof *s->kgap);
        }
        s->kept[nk] = i;
        s->kgap[nk++] = gap;
        gap = 0;
    }
    size_t marked = 0;
    const size_t g = c->iso_min_gap;
    for (size_t k = 0; k < nk; k++) {
        size_t after = k + 1 < nk ? s->kgap[k + 1] : SIZE_MAX;
        if (s->kgap[k] < g || after < g || s->lines[s->kept[k]].words >= c->iso_max_words)
            continue;
        if (c->iso_keep_lede && k + 2 < nk && s->kgap[k + 2] < g)
            continue; /* the next kept line starts a block */
        s->lines[s->kept[k]].rule = CP_CLEAN_ISOLATED;
        marked++;
    }
    if (marked && marked == nk)
        for (size_t k = 0; k < nk; k++)
            s->lines[s->kept[k]].rule = -1;
}

const char *cp_clean_doc(const cp_cleaner *c, const char *text, size_t len, cp_clean_scratch *s,
                         cp_buf *out, cp_clean_stats *stats)
{
    cp_clean_stats dummy;
    if (!stats)
        stats = &dummy;
    memset(stats, 0, sizeof *stats);
    out->len = 0;
    cp_buf_reserve(out, len + 1);
    out->data[0] = 0;

    /* Split into lines. */
    s->nlines = 0;
    for (size_t p = 0; p <= len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (s->nlines == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 256;
            s->lines = cp_xrealloc(s->lines, s->cap * sizeof(line_t));
        }
        line_t *l = &s->lines[s->nlines++];
        memset(l, 0, sizeof *l);
        l->start = (uint32_t)p;
        l->len = (uint32_t)(e - p);
        l->rule = -1;
        size_t k = 0;
        while (k < l->len && (text[p + k] == ' ' || text[p + k] == '\t'))
            k++;
        l->blank = k == l->len;
        if (!nl)
            break;
        p = e + 1;
    }

    size_t mask = 0;
    if (c->rep_enabled)
        mask = count_short_lines(c, text, s);
    /* most documents hold no '[' at all: one search instead of one per line */
    const int any_bracket = c->c4_enabled && c->citations && memchr(text, '[', len);

    s->work.len = 0;
    size_t kept_chars = 0;
    int tail = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        line_t *l = &s->lines[i];
        int was_counted = c->rep_enabled && l->clen == 1;
        uint32_t slot = l->off;
        l->off = (uint32_t)s->work.len;
        l->clen = 0;
        if (l->blank)
            continue;
        const char *ln = text + l->start;
        size_t n = l->len;
        int rule = -1;
        if (tail == 2) { /* after the start of the comments */
            rule = CP_CLEAN_BP_TAIL;
            goto decided;
        }
        if (tail) { /* inside a link list: it ends at the first line that reads like body text */
            if (count_words((const unsigned char *)ln, n, NULL) < c->tail_resume_min_words ||
                !ends_with_mark(c, ln, n)) {
                rule = CP_CLEAN_BP_TAIL;
                goto decided;
            }
            tail = 0;
        }
        /* a run of code points is at most its bytes: the longest only matters in a line over the limit */
        size_t longest = 0;
        const int want_longest = c->c4_enabled && c->max_word_chars && n > c->max_word_chars &&
                                 has_long_run((const unsigned char *)ln, n, c->max_word_chars);
        uint32_t words = count_words((const unsigned char *)ln, n, want_longest ? &longest : NULL);
        cp_phrase_hits sc = {0, 0, SIZE_MAX};
        if (c->phrases) {
            /* BANNER, CAPTION, END and END_COUNT phrases only count in lines of few words */
            if (words > c->banner_max_words && words > c->caption_max_words)
                cp_phrases_scan_long_line(c->phrases, ln, n, &sc);
            else
                cp_phrases_scan_line(c->phrases, ln, n, &sc);
        }
        if (sc.any & CP_PHRASE_LOREM) {
            memset(stats, 0, sizeof *stats);
            out->len = 0;
            out->data[0] = 0;
            return "c4:lorem_ipsum";
        }
        if (sc.whole & CP_PHRASE_TAIL) {
            rule = CP_CLEAN_BP_TAIL;
            if (kept_chars >= c->tail_min_chars_before)
                tail = 1;
            goto decided;
        }
        if (((sc.any & CP_PHRASE_END) || (sc.whole & CP_PHRASE_END_COUNT)) && kept_chars >= c->end_min_chars_before &&
            count_words((const unsigned char *)ln, n, NULL) <= c->banner_max_words) {
            rule = CP_CLEAN_BP_TAIL;
            tail = 2;
            goto decided;
        }
        if (was_counted && s->hcount[slot & mask] >= c->rep_min_count) {
            rule = CP_CLEAN_DOC_REPEAT;
            goto decided;
        }
        l->words = words;
        if (c->glue_enabled)
            l->glued = (unsigned char)glued_headline(c, (const unsigned char *)ln, n, words);
        if (c->c4_enabled && c->max_word_chars && longest > c->max_word_chars) {
            rule = CP_CLEAN_LONG_WORD;
            goto decided;
        }
        if (sc.any & CP_PHRASE_JS) {
            rule = CP_CLEAN_JAVASCRIPT;
            goto decided;
        }
        if (sc.any & CP_PHRASE_POLICY) {
            rule = CP_CLEAN_POLICY;
            goto decided;
        }
        if (sc.whole & CP_PHRASE_LINE) {
            rule = CP_CLEAN_BP_LINE;
            goto decided;
        }
        if ((sc.any & CP_PHRASE_BANNER) && words <= c->banner_max_words) {
            rule = CP_CLEAN_BP_BANNER;
            goto decided;
        }
        if ((sc.any & CP_PHRASE_CAPTION) && words <= c->caption_max_words) {
            rule = CP_CLEAN_BP_CAPTION;
            goto decided;
        }
        if (sc.whole & CP_PHRASE_MARKER) {
            rule = CP_CLEAN_BP_MARKER;
            goto decided;
        }
        if (sc.marker_start != SIZE_MAX) {
            size_t cut = sc.marker_start;
            while (cut > 0 && (ln[cut - 1] == ' ' || ln[cut - 1] == '\t' || ln[cut - 1] == '|' ||
                               ln[cut - 1] == '-'))
                cut--;
            stats->chars[CP_CLEAN_BP_MARKER] += n - cut;
            n = cut;
            words = count_words((const unsigned char *)ln, n, NULL);
            l->words = words;
        }
        if (any_bracket && memchr(ln, '[', n)) {
            size_t before = s->work.len;
            int rejoin = 0;
            size_t r = strip_citations(ln, n, &s->work, &rejoin);
            if (rejoin) /* "be\u0323e[1]\u0323" must become U+1EB9, as normalisation would have made it */
                cp_nfc_in_place(&s->work, before, &s->tmp);
            stats->chars[CP_CLEAN_CITATION] += r;
            l->clen = (uint32_t)(s->work.len - before);
        } else {
            cp_buf_append(&s->work, ln, n);
            l->clen = (uint32_t)n;
        }
        if (c->c4_enabled && words < c->min_words) {
            rule = CP_CLEAN_MIN_WORDS;
            goto decided;
        }
        l->ends_mark = (unsigned char)ends_with_mark(c, s->work.data + l->off, l->clen);
        if (c->c4_enabled && c->term_enabled && !l->ends_mark &&
            !(c->term_prose_min_words && words >= c->term_prose_min_words &&
              inner_sentence_ends(s->work.data + l->off, l->clen, 2) >= 2)) {
            rule = CP_CLEAN_TERMINAL_PUNCT;
            goto decided;
        }
        kept_chars += l->clen;
    decided:
        l->rule = rule;
    }

    if (c->glue_enabled)
        drop_glued(s);

    /* A line dropped only for its missing end mark between two kept lines is a heading inside the text. */
    if (c->c4_enabled && c->term_enabled && c->term_rescue) {
        for (size_t i = 1; i + 1 < s->nlines; i++) {
            line_t *l = &s->lines[i];
            if (l->rule != CP_CLEAN_TERMINAL_PUNCT || l->words > c->term_rescue_max_words)
                continue;
            size_t p = i, q = i;
            while (p > 0 && s->lines[p - 1].blank)
                p--;
            while (q + 1 < s->nlines && s->lines[q + 1].blank)
                q++;
            if (p > 0 && q + 1 < s->nlines && s->lines[p - 1].rule == -1 && s->lines[q + 1].rule == -1 &&
                s->lines[q + 1].ends_mark)
                l->rule = -2; /* rescued; -2 so it does not rescue its neighbours */
        }
    }

    /* A line cut mid-sentence (hard-wrapped text) continues on the next line, which starts in lower case. */
    if (c->c4_enabled && c->term_enabled && c->term_continued) {
        for (size_t i = s->nlines; i-- > 1;) {
            line_t *l = &s->lines[i - 1], *nx = &s->lines[i];
            if (l->rule != CP_CLEAN_TERMINAL_PUNCT || nx->blank || nx->rule >= 0)
                continue;
            const unsigned char *q = (const unsigned char *)s->work.data + nx->off;
            if (nx->clen && ((q[0] >= 'a' && q[0] <= 'z') ||
                             (nx->clen > 1 && q[0] == 0xC3 && q[1] >= 0x9F && q[1] != 0xB7)))
                l->rule = -2;
        }
    }

    if (c->iso_enabled)
        drop_isolated(c, s);

    /* Assemble: kept lines, one blank line where the input had blank lines between them. */
    int pending_blank = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        line_t *l = &s->lines[i];
        if (l->blank) {
            pending_blank = 1;
            continue;
        }
        if (l->rule >= 0) {
            stats->lines[l->rule]++;
            stats->chars[l->rule] += l->len + 1u;
            continue;
        }
        if (out->len)
            cp_buf_puts(out, pending_blank ? "\n\n" : "\n");
        pending_blank = 0;
        cp_buf_append(out, s->work.data + l->off, l->clen);
    }
    if (out->data)
        out->data[out->len] = 0;
    return NULL;
}

/* ---------------------------------------------------------------- explaining */

/* Replays the assembly loop of cp_clean_doc over the line states it left in the scratch. */
size_t cp_clean_fates(const cp_clean_scratch *s, const char *text, cp_clean_fate **out, size_t *cap)
{
    if (s->nlines > *cap) {
        *cap = s->nlines;
        *out = cp_xrealloc(*out, *cap * sizeof **out);
    }
    size_t out_len = 0;
    int pending_blank = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        const line_t *l = &s->lines[i];
        cp_clean_fate *f = &(*out)[i];
        memset(f, 0, sizeof *f);
        f->start = l->start;
        f->len = l->len;
        f->rule = l->blank || l->rule < 0 ? -1 : l->rule;
        f->blank = l->blank;
        f->edited = -1;
        if (l->blank) {
            pending_blank = 1;
            continue;
        }
        if (f->rule >= 0)
            continue;
        if (out_len)
            out_len += pending_blank ? 2 : 1;
        pending_blank = 0;
        f->out_start = (uint32_t)out_len;
        f->kept_len = l->clen;
        if (l->clen != l->len) /* cut at the end: a glued marker; changed inside: citations */
            f->edited = !memcmp(text + l->start, s->work.data + l->off, l->clen) ? CP_CLEAN_BP_MARKER
                                                                                  : CP_CLEAN_CITATION;
        out_len += l->clen;
    }
    return s->nlines;
}

/* ---------------------------------------------------------------- line dedup parts */

void cp_line_hashes_free(cp_line_hashes *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

void cp_clean_hash_lines(const cp_cleaner *c, const char *text, size_t len, cp_clean_scratch *s,
                         cp_line_hashes *out)
{
    out->n = 0;
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (e - p >= c->dedup.min_chars) { /* normalisation only shrinks ASCII: cheap pre-test */
            uint64_t h = cp_dedup_text_hash(text + p, e - p, &s->tmp);
            if (s->tmp.len >= c->dedup.min_chars && s->tmp.len > 0) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 64;
                    out->v = cp_xrealloc(out->v, out->cap * sizeof *out->v);
                }
                out->v[out->n++] = (cp_line_hash){h, (uint32_t)p, (uint32_t)(e - p)};
            }
        }
        p = e + 1;
    }
}

size_t cp_clean_drop_lines(const char *text, size_t len, const cp_line_hashes *lines,
                           const unsigned char *drop, cp_buf *out)
{
    out->len = 0;
    cp_buf_reserve(out, len + 1);
    size_t k = 0;
    int pending_blank = 0;
    for (size_t p = 0; p <= len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len;
        while (k < lines->n && lines->v[k].start < p)
            k++;
        int gone = k < lines->n && lines->v[k].start == p && drop[k];
        size_t b = p;
        while (b < e && (text[b] == ' ' || text[b] == '\t'))
            b++;
        if (b == e) {
            if (out->len)
                pending_blank = 1;
        } else if (!gone) {
            if (out->len)
                cp_buf_puts(out, pending_blank ? "\n\n" : "\n");
            pending_blank = 0;
            cp_buf_append(out, text + p, e - p);
        }
        if (!nl)
            break;
        p = e + 1;
    }
    out->data[out->len] = 0;
    return len - out->len; /* out is never longer: separators only replace newlines */
}
