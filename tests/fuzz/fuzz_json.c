/* Differential fuzz harness for the record parser: cp_parse_doc (src/parse.c) against jansson on the same
 * line. The oracle applies the documented repairs itself (raw NUL bytes dropped, invalid UTF-8 replaced by
 * U+FFFD), decodes with jansson (\u0000 in keys, which only jansson refuses, made \u0001 first) and
 * derives what parse.h promises: the verdict (kept, "parse_error", "not_object", "no_text"), the text (first of the text fields that is a string, byte for byte), the id
 * (non-empty string, integer in decimal, else "<file>:<line>") and the url. cp_emit_doc's line must then be
 * one JSON object holding every other member of the record unchanged. The scanner's AVX2 and portable paths
 * must agree too. Any difference aborts. */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/parse.h"
#include "../scan_paths.h"
#include "fuzz_common.h"

static char *fields[] = {"text", "content"};
#define N_FIELDS 2
#define FILE_NAME "f.jsonl"
#define LINE_NO 7

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    json_object_seed(1); /* deterministic hashing: the same input always runs the same way */
    return 0;
}

/* The members the emitted line sets itself: an input member of one of these names is never copied (README,
 * Outputs), whether or not the line gets a value of its own. */
static int is_ours(const char *k)
{
    static const char *const ours[] = {"text", "content", "id", "lang", "lang_score", "lang_script",
                                       "reject_reason", "dup_of"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
        if (!strcmp(k, ours[i]))
            return 1;
    return 0;
}

/* The emitted line against the oracle's record j (NULL when the line did not parse as an object). */
static void check_emit(const cp_doc *d, json_t *j, const char *want_reject)
{
    cp_buf b = {0};
    cp_emit_doc(d, FILE_NAME, NULL, 0, &b);
    json_t *out = fz_load_line("emitted", b.data, b.len, 0);
    json_t *rr = json_object_get(out, "reject_reason");
    if (want_reject ? !json_is_string(rr) || strcmp(json_string_value(rr), want_reject) : rr != NULL)
        fz_fail("emitted reject_reason differs from the verdict %s: %s", want_reject ? want_reject : "(kept)",
                b.data);
    if (j && json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (!is_ours(k) && !json_equal(json_object_get(out, k), v))
                fz_fail("member \"%s\" changed in the emitted line: %s", k, b.data);
        }
        json_object_foreach(out, k, v) {
            if (!is_ours(k) && !json_object_get(j, k))
                fz_fail("emitted line has member \"%s\" that the record has not: %s", k, b.data);
        }
        if (d->text) {
            json_t *t = json_object_get(out, "text");
            if (!json_is_string(t) || json_string_length(t) != d->text_len ||
                memcmp(json_string_value(t), d->text, d->text_len))
                fz_fail("emitted text differs from the parsed text: %s", b.data);
        }
        json_t *id = json_object_get(out, "id");
        if (!json_is_string(id) && !json_is_integer(id))
            fz_fail("emitted line has no usable id: %s", b.data);
        if (d->id_generated && (!json_is_string(id) || strcmp(json_string_value(id), d->id)))
            fz_fail("emitted id is not the generated id %s: %s", d->id, b.data);
    }
    json_decref(out);
    cp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = fz_line_copy(data, size, &size);
    char why[256];
    if (scan_paths_differ(raw, size, why, sizeof why))
        fz_fail("scanner paths differ: %s", why);

    cp_doc d;
    memset(&d, 0, sizeof d);
    d.raw = raw;
    d.raw_len = size;
    d.line = LINE_NO;
    int rc = cp_parse_doc(&d, fields, N_FIELDS, FILE_NAME);

    /* ---- the oracle ---- */
    size_t flen;
    char *fixed = fz_utf8_repair(data, size, &flen);
    json_error_t e;
    char *for_jansson = fz_nul_keys_for_jansson(fixed, flen);
    json_t *j = json_loadb(for_jansson, flen, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);
    free(for_jansson);
    if (j && rc && d.reject && !strcmp(d.reject, "parse_error")) {
        /* a parser built on jansson refuses \u0000 in a key: tolerated (the scanner of issue 9 takes it) */
        json_t *plain = json_loadb(fixed, flen, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);
        json_decref(plain);
        if (!plain && json_error_code(&e) == json_error_null_byte_in_key) {
            json_decref(j);
            free(fixed);
            cp_doc_release(&d);
            free(raw);
            return 0;
        }
    }
    const char *want = NULL;
    json_t *text = NULL;
    int want_error = !j;
    if (!j)
        want = "parse_error";
    else if (!json_is_object(j))
        want = "not_object";
    else {
        for (size_t f = 0; f < N_FIELDS && !text; f++)
            if (json_is_string(json_object_get(j, fields[f])))
                text = json_object_get(j, fields[f]);
        if (!text)
            want = "no_text";
    }

    if ((rc == 0) != (want == NULL) || (want && (!d.reject || strcmp(d.reject, want))) || (!want && d.reject))
        fz_fail("verdict: parser says %s (rc %d), jansson says %s%s%s", d.reject ? d.reject : "kept", rc,
                want ? want : "kept", j ? "" : ": ", j ? "" : e.text);
    if (want_error && !d.parse_error)
        fz_fail("parse_error without a message");
    if (!want) {
        if (!d.text || d.text_len != json_string_length(text) || memcmp(d.text, json_string_value(text), d.text_len))
            fz_fail("text differs from jansson's (%zu bytes against %zu)", d.text_len, json_string_length(text));
        if (d.text[d.text_len] != 0)
            fz_fail("text is not NUL-terminated");
    }
    if (j && json_is_object(j)) {
        json_t *id = json_object_get(j, "id");
        char want_id[64];
        const char *wid = NULL;
        size_t wlen = 0;
        if (json_is_string(id) && json_string_length(id)) {
            wid = json_string_value(id); /* whole: a \u0000 in it does not end it */
            wlen = json_string_length(id);
        } else if (json_is_integer(id)) {
            snprintf(want_id, sizeof want_id, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
            wid = want_id;
        } else {
            snprintf(want_id, sizeof want_id, "%s:%d", FILE_NAME, LINE_NO);
            wid = want_id;
        }
        if (wid == want_id)
            wlen = strlen(want_id);
        if (!d.id || d.id_len != wlen || memcmp(d.id, wid, wlen) || d.id[wlen])
            fz_fail("id: parser says \"%s\", jansson says \"%s\"", d.id ? d.id : "(none)", wid);
        int own_id = (json_is_string(id) && json_string_length(id)) || json_is_integer(id);
        if (d.id_generated == own_id)
            fz_fail("id_generated is %d for id \"%s\"", d.id_generated, d.id);
        json_t *url = json_object_get(j, "url");
        if (json_is_string(url) ? !d.url || d.url_len != json_string_length(url) ||
                                      memcmp(d.url, json_string_value(url), d.url_len)
                                : d.url != NULL)
            fz_fail("url differs from jansson's");
    }
    check_emit(&d, j, want);

    json_decref(j);
    free(fixed);
    cp_doc_release(&d);
    free(raw);
    return 0;
}
