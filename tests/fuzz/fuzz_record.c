/* Fuzz harness for one record through every per-document stage, as the pipeline runs them (parse,
 * normalise, clean, line keys, document keys, MinHash, langid, filter, emit), once with the default preset
 * (news) and once with `none`. Checked on every input, beyond "no crash":
 *   - a document is kept (reject NULL) or rejected with a non-empty reason, never both, and the emitted line
 *     says the same (reject_reason present exactly for rejects, equal to the verdict);
 *   - every emitted line is one JSON object that jansson accepts, in valid UTF-8;
 *   - a kept record's text is valid UTF-8, in NFC, and holds none of the control characters that
 *     normalisation removes (C0 but TAB and LF, DEL, C1, U+FEFF). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/dedup.h"
#include "corpusprep/filter.h"
#include "corpusprep/langid.h"
#include "corpusprep/minhash.h"
#include "corpusprep/normalize.h"
#include "corpusprep/parse.h"
#include "fuzz_common.h"

typedef struct {
    const char *name;
    json_t *tree;
    cp_config cfg;
    cp_cleaner *cl;
    cp_filter *flt;
    cp_minhash *mh;
    cp_clean_scratch *cs;
    cp_filter_scratch *fs;
    cp_minhash_scratch *ms;
} setup_t;

static setup_t setups[2] = {{.name = "news"}, {.name = "none"}};
static cp_buf a, b, c;

static void make_setup(setup_t *s)
{
    char err[512];
    s->tree = cp_config_defaults(err, sizeof err);
    if (!s->tree || (strcmp(s->name, "news") && cp_config_merge_file(s->tree, s->name, err, sizeof err)) ||
        cp_config_resolve(s->tree, &s->cfg, err, sizeof err))
        fz_fail("set-up %s: %s", s->name, err);
    json_t *clean = json_object_get(s->tree, "clean"), *filter = json_object_get(s->tree, "filter");
    if (json_is_object(clean) && !(s->cl = cp_cleaner_create(clean, err, sizeof err)))
        fz_fail("set-up %s: %s", s->name, err);
    if (json_is_object(filter) && !(s->flt = cp_filter_create(filter, err, sizeof err)))
        fz_fail("set-up %s: %s", s->name, err);
    if (s->cfg.near_dedup) {
        cp_minhash_params mp;
        cp_minhash_params_default(&mp);
        mp.bands = s->cfg.near_bands;
        mp.rows = s->cfg.near_rows;
        mp.ngram = s->cfg.near_ngram;
        mp.char_ngram = s->cfg.near_char_ngram;
        mp.seed = s->cfg.near_seed;
        mp.mode = (cp_shingle_mode)s->cfg.near_shingle_mode;
        if (!(s->mh = cp_minhash_create(&mp, err, sizeof err)))
            fz_fail("set-up %s: %s", s->name, err);
        s->ms = cp_minhash_scratch_create();
    }
    s->cs = cp_clean_scratch_create();
    s->fs = cp_filter_scratch_create();
}

static void free_setups(void)
{
    for (int i = 0; i < 2; i++) {
        setup_t *s = &setups[i];
        cp_cleaner_destroy(s->cl);
        cp_filter_destroy(s->flt);
        cp_minhash_destroy(s->mh);
        cp_minhash_scratch_destroy(s->ms);
        cp_clean_scratch_destroy(s->cs);
        cp_filter_scratch_destroy(s->fs);
        cp_config_free(&s->cfg);
        json_decref(s->tree);
    }
    cp_buf_free(&a);
    cp_buf_free(&b);
    cp_buf_free(&c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_object_seed(1);
    for (int i = 0; i < 2; i++)
        make_setup(&setups[i]);
    atexit(free_setups); /* so that LeakSanitizer sees only what one input leaks */
    return 0;
}

/* The pipeline's take_text: the buffer's bytes become the document's text. */
static void take(cp_doc *d, cp_buf *buf)
{
    free(d->text);
    cp_buf_reserve(buf, 0);
    d->text = cp_xstrndup(buf->data, buf->len);
    d->text_len = buf->len;
    d->text_cap = 0;
    buf->len = 0;
}

static void run_stages(setup_t *s, cp_doc *d)
{
    const cp_config *cfg = &s->cfg;
    cp_norm_counts nc = {0};
    if (cp_parse_doc(d, cfg->text_fields, cfg->n_text_fields, "f.jsonl"))
        return;
    a.len = 0;
    cp_normalize_valid_text(d->text, d->text_len, &a, &b, &nc);
    take(d, &a);
    if (s->cl) {
        d->reject = cp_clean_doc(s->cl, d->text, d->text_len, s->cs, &a, NULL);
        take(d, &a);
        if (!d->reject)
            cp_clean_hash_lines(s->cl, d->text, d->text_len, s->cs, &d->lines);
        if (d->reject)
            return;
    }
    if (!d->text_len) {
        d->reject = "empty_text";
        return;
    }
    d->h_exact = cp_dedup_text_hash(d->text, d->text_len, &c);
    if (d->url)
        d->has_url_key = !cp_url_hash(d->url, d->url_len, &d->h_url, &b);
    if (s->mh) {
        d->bands = cp_xmalloc((size_t)cp_minhash_bands_count(s->mh) * sizeof *d->bands);
        cp_minhash_bands(s->mh, s->ms, c.data, c.len, d->bands);
    }
    cp_langid_detect(d->text, d->text_len, cfg->langid_sample_bytes, &d->lang);
    if (cfg->langid_sample_bytes && d->text_len > cfg->langid_sample_bytes && !strcmp(d->lang.code, "und"))
        cp_langid_detect(d->text, d->text_len, 4 * cfg->langid_sample_bytes, &d->lang);
    d->has_lang = 1;
    if (!fz_utf8_valid(d->lang.code, strlen(d->lang.code)) || !(d->lang.score >= 0 && d->lang.score <= 1))
        fz_fail("langid gave code \"%s\" score %g", d->lang.code, d->lang.score);
    if (s->flt)
        d->reject = cp_filter_doc(s->flt, d->text, d->text_len, d->lang.code, s->fs);
}

/* The characters cp_normalize_text promises to remove. */
static int removed_control(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFEFF;
}

static void check_kept_text(const setup_t *s, const char *t, size_t n)
{
    if (!fz_utf8_valid(t, n))
        fz_fail("%s: kept text is not valid UTF-8", s->name);
    uint32_t cp = 0;
    for (size_t i = 0, k; i < n; i += k) {
        k = fz_utf8_next((const unsigned char *)t, i, n, &cp);
        if (removed_control(cp))
            fz_fail("%s: kept text holds control character U+%04X at byte %zu", s->name, (unsigned)cp, i);
    }
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)n, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0)
        fz_fail("%s: utf8proc refuses the kept text: %s", s->name, utf8proc_errmsg(m));
    if ((size_t)m != n || memcmp(nfc, t, n))
        fz_fail("%s: kept text is not in NFC", s->name);
    free(nfc);
}

static void check(const setup_t *s, const cp_doc *d)
{
    if (d->reject && !d->reject[0])
        fz_fail("%s: empty reject reason", s->name);
    cp_buf out = {0};
    cp_emit_doc(d, "f.jsonl", d->reject && !strncmp(d->reject, "dup_", 4) ? "x" : NULL, 1, &out);
    json_t *j = fz_load_line(s->name, out.data, out.len, 0);
    json_t *rr = json_object_get(j, "reject_reason");
    if (d->reject) {
        if (!json_is_string(rr) || strcmp(json_string_value(rr), d->reject))
            fz_fail("%s: rejected (%s) but the emitted line says otherwise: %s", s->name, d->reject, out.data);
    } else {
        if (rr)
            fz_fail("%s: kept but the emitted line has a reject_reason: %s", s->name, out.data);
        json_t *t = json_object_get(j, "text");
        if (!json_is_string(t) || json_string_length(t) != d->text_len ||
            memcmp(json_string_value(t), d->text, d->text_len))
            fz_fail("%s: emitted text differs from the kept text: %s", s->name, out.data);
        check_kept_text(s, d->text, d->text_len);
    }
    json_decref(j);
    cp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = fz_line_copy(data, size, &size);
    for (int i = 0; i < 2; i++) {
        cp_doc d;
        memset(&d, 0, sizeof d);
        d.raw = raw;
        d.raw_len = size;
        d.line = 1;
        run_stages(&setups[i], &d);
        check(&setups[i], &d);
        cp_doc_release(&d);
    }
    free(raw);
    return 0;
}
