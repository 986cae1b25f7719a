/* Fuzz harness for the dolma output format (src/dolma.c, --format dolma): one record line is parsed and its
 * text normalised as the pipeline does, language-identified or not, then written both ways, cp_dolma_emit
 * and cp_emit_doc (jsonl). The first byte picks the source name (some not UTF-8) and whether the document
 * has a language; the rest, up to a newline, is the line. Checked on every parsed record:
 *   - the dolma line is one line, valid UTF-8, a JSON object that jansson accepts;
 *   - its members are id, text, source, added (strings), created (a string, when present) and metadata
 *     (an object), and nothing else; source and added are the ones given (source repaired to UTF-8);
 *   - text is the document's text, and the text the jsonl line keeps; id is the id the jsonl line has (the
 *     record's, whole, \u0000 included), or the one made when it has none;
 *   - metadata holds lang (string) and lang_score (number in [0,1]) exactly when the document has a
 *     language, and besides them the record's members as the jsonl line has them, value for value: every
 *     member of the jsonl line but text, id and the members corpusprep sets is in metadata, and nothing
 *     more (a member named "text" that is not the text stays in metadata, which jsonl drops);
 *   - created, in a record without duplicate keys, is the value of the first of created, date,
 *     date_published, date_publish, published, timestamp that holds a string; absent when none does. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/config.h"
#include "corpusprep/dolma.h"
#include "corpusprep/langid.h"
#include "corpusprep/normalize.h"
#include "corpusprep/parse.h"
#include "fuzz_common.h"

#define ADDED "2024-05-18T00:00:00.000Z"

static json_t *tree;
static cp_config cfg;
static cp_buf a, b;

/* --source values: plain, with characters JSON escapes, empty, and bytes that are not UTF-8 */
static const char *const sources[] = {"news.jsonl", "a \"b\" \\c\td", "", "f\xff\xfe.jsonl", "\xc3(\xe2\x82"};
#define N_SOURCES (sizeof sources / sizeof *sources)

static void free_all(void)
{
    cp_config_free(&cfg);
    json_decref(tree);
    cp_buf_free(&a);
    cp_buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    json_object_seed(1);
    tree = cp_config_defaults(err, sizeof err);
    if (!tree || cp_config_resolve(tree, &cfg, err, sizeof err))
        fz_fail("set-up: %s", err);
    atexit(free_all); /* so that LeakSanitizer sees only what one input leaks */
    return 0;
}

/* One output line as a JSON object; *dup set when the object (or one within) repeats a key. */
static json_t *load_line(const char *what, const cp_buf *out, int *dup)
{
    json_t *j = fz_load_line(what, out->data, out->len, 0), *strict;
    *dup = !(strict = fz_load_line(what, out->data, out->len, JSON_REJECT_DUPLICATES));
    json_decref(strict);
    return j;
}

static int str_is(const json_t *v, const char *s, size_t n)
{
    return json_is_string(v) && json_string_length(v) == n && !memcmp(json_string_value(v), s, n);
}

static int set_by_us(const char *k)
{
    static const char *const ours[] = {"text", "id", "lang", "lang_score", "lang_script", "reject_reason",
                                       "dup_of"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
        if (!strcmp(k, ours[i]))
            return 1;
    return 0;
}

static void check(const cp_doc *d, const char *source, const cp_buf *dolma, const cp_buf *jsonl)
{
    int dup, jdup;
    json_t *o = load_line("dolma", dolma, &dup), *j = load_line("jsonl", jsonl, &jdup);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int str = !strcmp(k, "id") || !strcmp(k, "text") || !strcmp(k, "source") || !strcmp(k, "added") ||
                  !strcmp(k, "created");
        if (str ? !json_is_string(v) : strcmp(k, "metadata") || !json_is_object(v))
            fz_fail("dolma: member \"%s\" is not in the format or has the wrong type: %s", k, dolma->data);
    }
    json_t *id = json_object_get(o, "id"), *md = json_object_get(o, "metadata");
    if (!id || !json_object_get(o, "text") || !json_object_get(o, "source") || !md)
        fz_fail("dolma: a required member is missing: %s", dolma->data);
    if (!str_is(json_object_get(o, "text"), d->text, d->text_len))
        fz_fail("dolma: text is not the document's text: %s", dolma->data);
    if (!json_equal(json_object_get(o, "text"), json_object_get(j, "text")))
        fz_fail("dolma and jsonl keep different texts:\n%s%s", dolma->data, jsonl->data);
    if (!str_is(json_object_get(o, "added"), ADDED, strlen(ADDED)))
        fz_fail("dolma: added is not the one given: %s", dolma->data);
    size_t sl;
    char *src = fz_utf8_repair((const uint8_t *)source, strlen(source), &sl);
    if (!str_is(json_object_get(o, "source"), src, sl))
        fz_fail("dolma: source is not \"%s\" repaired: %s", source, dolma->data);
    free(src);

    /* metadata: the record's members as jsonl has them, plus the language */
    json_t *lang = json_object_get(md, "lang"), *score = json_object_get(md, "lang_score");
    if (d->has_lang ? !str_is(lang, d->lang.code, strlen(d->lang.code)) || !json_is_number(score) ||
                          json_number_value(score) < 0 || json_number_value(score) > 1
                    : lang || score || json_object_get(md, "lang_script"))
        fz_fail("dolma: metadata's lang and lang_score do not match the document's: %s", dolma->data);
    json_object_foreach(j, k, v) {
        if (!set_by_us(k) && !json_equal(v, json_object_get(md, k)))
            fz_fail("dolma: metadata lacks or changes the record's \"%s\":\n%s%s", k, dolma->data, jsonl->data);
    }
    json_object_foreach(md, k, v) {
        if (!strcmp(k, "lang") || !strcmp(k, "lang_score") || !strcmp(k, "lang_script") || !strcmp(k, "text"))
            continue; /* the language is checked above; a "text" that is not the text stays (jsonl drops it) */
        if (set_by_us(k) || !json_object_get(j, k))
            fz_fail("dolma: metadata has \"%s\", which the jsonl line does not:\n%s%s", k, dolma->data, jsonl->data);
    }
    json_t *script = json_object_get(md, "lang_script");
    if (d->has_lang && (d->lang.script[0] ? !str_is(script, d->lang.script, strlen(d->lang.script)) : !!script))
        fz_fail("dolma: metadata's lang_script is not the document's: %s", dolma->data);
    json_t *jid = json_object_get(j, "id"); /* the record's id as jsonl keeps it, or the one made */
    if (json_is_string(jid) ? !json_equal(jid, id) : !str_is(id, d->id, d->id_len))
        fz_fail("dolma: id is not the record's (jsonl's) id:\n%s%s", dolma->data, jsonl->data);

    /* created: the first of the date members holding a string, as written */
    static const char *const dates[] = {"created", "date", "date_published", "date_publish", "published",
                                        "timestamp"};
    json_t *created = json_object_get(o, "created"), *want = NULL;
    for (size_t i = 0; i < sizeof dates / sizeof *dates && !want; i++)
        if (json_is_string(json_object_get(md, dates[i])))
            want = json_object_get(md, dates[i]);
    if (!dup && !jdup && (created || want) && !json_equal(created, want))
        fz_fail("dolma: created is not the first date member holding a string: %s", dolma->data);
    json_decref(o);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *source = sources[(data[0] & 0x7F) % N_SOURCES];
    int with_lang = !(data[0] & 0x80);
    data++, size--;
    char *raw = fz_line_copy(data, size, &size);
    cp_doc d;
    memset(&d, 0, sizeof d);
    d.raw = raw;
    d.raw_len = size;
    d.line = 1;
    if (!cp_parse_doc(&d, cfg.text_fields, cfg.n_text_fields, "f.jsonl")) {
        cp_norm_counts nc = {0};
        a.len = 0;
        cp_normalize_valid_text(d.text, d.text_len, &a, &b, &nc);
        cp_buf_reserve(&a, 0);
        free(d.text);
        d.text = cp_xstrndup(a.data, a.len);
        d.text_len = a.len;
        if (with_lang) {
            cp_langid_detect(d.text, d.text_len, cfg.langid_sample_bytes, &d.lang);
            d.has_lang = 1;
        }
        cp_buf dolma = {0}, jsonl = {0};
        cp_dolma_emit(&d, source, ADDED, &dolma);
        cp_emit_doc(&d, "f.jsonl", NULL, 0, &jsonl);
        check(&d, source, &dolma, &jsonl);
        cp_buf_free(&dolma);
        cp_buf_free(&jsonl);
    }
    cp_doc_release(&d);
    free(raw);
    return 0;
}
