/* dolma: kept records written in dolma's document format (AllenAI's toolkit and the training stacks that
 * read it): {"id","text","source","added","created","metadata":{...}}. Pure per document, thread-safe. */
#ifndef CORPUSPREP_DOLMA_H
#define CORPUSPREP_DOLMA_H

#include <stddef.h>

#include "corpusprep/doc.h"
#include "corpusprep/util.h"

/* The "added" timestamp of a run, "YYYY-MM-DDT00:00:00.000Z" (the run's UTC date: every rank of a cluster
 * run and every rerun on the same day agree). given, when not empty, is used as is once it starts with a
 * YYYY-MM-DD date; otherwise the environment's SOURCE_DATE_EPOCH (seconds) sets the date, else today.
 * Writes it to out and returns 0, or -1 with a message in err for a malformed given or SOURCE_DATE_EPOCH. */
int cp_dolma_added(const char *given, char *out, size_t outlen, char *err, size_t errlen);

/* Appends d (a kept, parsed document) to out as one dolma line:
 *   id       the record's id, whole (d->id_len bytes of d->id, a "\u0000" in it included; an integer id
 *            written in decimal, "<file>:<line>" when the record has none);
 *   text     the cleaned text;
 *   source   source (a name given with --source, or the input file's name; repaired to UTF-8);
 *   added    added (cp_dolma_added);
 *   created  the first string among the record's "created", "date", "date_published", "date_publish",
 *            "published", "timestamp" members, as written (WARC input: WARC-Date); absent when none is;
 *   metadata every other member of the record byte for byte (url, the date member, ... ; not id, not the
 *            text's member, not an input "lang"/"lang_score"), then "lang" and "lang_score". */
void cp_dolma_emit(const cp_doc *d, const char *source, const char *added, cp_buf *out);

#endif
