/* dolma: kept records in dolma's document format. Like cp_emit_doc it splices: the record's other members go
 * under "metadata" as their original bytes (numbers, escapes, key order), nothing is re-serialised, so the
 * cost per record is one copy. The "added" date is fixed per run (see cp_dolma_added) so that output stays
 * byte-identical across thread counts, ranks and reruns. */
#include "corpusprep/dolma.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpusprep/json_scan.h"
#include "corpusprep/parse.h"

int cp_dolma_added(const char *given, char *out, size_t outlen, char *err, size_t errlen)
{
    if (given && *given) {
        int ok = strlen(given) >= 10 && given[4] == '-' && given[7] == '-';
        for (int i = 0; ok && i < 10; i++)
            ok = i == 4 || i == 7 || (given[i] >= '0' && given[i] <= '9');
        if (!ok) {
            snprintf(err, errlen, "output.added: \"%s\" does not start with a YYYY-MM-DD date", given);
            return -1;
        }
        snprintf(out, outlen, "%s", given);
        return 0;
    }
    time_t t = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible-builds.org's convention */
    if (sde && *sde) {
        char *end;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (*end || errno || v < 0) {
            snprintf(err, errlen, "SOURCE_DATE_EPOCH: \"%s\" is not a number of seconds", sde);
            return -1;
        }
        t = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, outlen, "%04d-%02d-%02dT00:00:00.000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return 0;
}

static void put_string(cp_buf *b, const char *s, size_t n)
{
    if (cp_utf8_valid_prefix(s, n) == n) {
        cp_json_escape(b, s, n);
        return;
    }
    cp_buf fixed = {0}; /* a file name need not be UTF-8; JSON must be */
    cp_utf8_repair(s, n, &fixed);
    cp_json_escape(b, fixed.data ? fixed.data : "", fixed.len);
    cp_buf_free(&fixed);
}

static const char *const created_keys[] = {"created", "date", "date_published", "date_publish", "published",
                                            "timestamp", NULL};

void cp_dolma_emit(const cp_doc *d, const char *source, const char *added, cp_buf *b)
{
    size_t len;
    const char *line = cp_doc_line(d, &len);
    cp_buf_reserve(b, len + d->text_len + 256);
    cp_buf_puts(b, "{\"id\":");
    cp_json_escape(b, d->id, d->id_len); /* whole, a "\u0000" in it too (put_string's repair drops NULs) */
    cp_buf_puts(b, ",\"text\":");
    cp_json_escape(b, d->text, d->text_len);
    cp_buf_puts(b, ",\"source\":");
    put_string(b, source, strlen(source));
    cp_buf_puts(b, ",\"added\":");
    cp_json_escape(b, added, strlen(added));

    /* created: the first date-like member that holds a string (a raw JSON string is copied as is) */
    const cp_member *created = NULL;
    for (const char *const *k = created_keys; *k && !created; k++)
        for (uint32_t i = 0; i < d->n_members; i++) {
            const cp_member *m = &d->members[i];
            if ((int)i != d->text_member && m->val_len && line[m->val_off] == '"' &&
                cp_member_key_is(line, m, *k, strlen(*k)))
                created = m; /* the last of duplicate keys wins, as in jansson: keep looking */
        }
    if (created) {
        cp_buf_puts(b, ",\"created\":");
        cp_buf_append(b, line + created->val_off, created->val_len);
    }

    cp_buf_puts(b, ",\"metadata\":{");
    static const char *const ours[] = {"id", "lang", "lang_score", "lang_script", "reject_reason", "dup_of", NULL};
    int first = 1;
    for (uint32_t i = 0; i < d->n_members; i++) {
        const cp_member *m = &d->members[i];
        if ((int)i == d->text_member)
            continue;
        int skip = 0;
        for (const char *const *o = ours; *o && !skip; o++)
            skip = cp_member_key_is(line, m, *o, strlen(*o));
        if (!skip)
            cp_member_copy(b, line, m, &first);
    }
    if (d->has_lang) {
        cp_buf_puts(b, first ? "\"lang\":" : ",\"lang\":");
        cp_json_escape(b, d->lang.code, strlen(d->lang.code));
        cp_buf_printf(b, ",\"lang_score\":%.4f", d->lang.score);
        if (d->lang.script[0])
            cp_buf_printf(b, ",\"lang_script\":\"%s\"", d->lang.script); /* four ASCII letters */
    }
    cp_buf_puts(b, "}}\n");
}
