/* reader: streams lines from one input file, whatever its compression, and lists the input files of a run.
 * A reader is used by one thread at a time; different readers are independent. */
#ifndef CORPUSPREP_READER_H
#define CORPUSPREP_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_reader cp_reader;

/* Opens path for reading ("-" is standard input). The format is taken from the first bytes: gzip (1f 8b,
 * including multi-member files), zstd (28 b5 2f fd, including multi-frame files), otherwise plain text.
 * A file whose name ends in .gz or .zst but whose content is not that format is refused, as gzip -d does.
 * max_line_bytes bounds the memory one line may take (see cp_reader_getline). Messages call stdin "stdin".
 * Returns NULL on failure with a message naming the file in err. */
cp_reader *cp_reader_open(const char *path, size_t max_line_bytes, char *err, size_t errlen);

/* A byte range of a file, for cluster mode's split of one large file between ranks (split.h). */
typedef struct {
    uint64_t offset;      /* the range's first byte: 0, or a gzip member / zstd frame start (any byte if plain) */
    uint64_t length;      /* its bytes; 0: to the end of the file */
    uint64_t first_line;  /* the number of the first line it hands out (0 or 1: the file's first line) */
} cp_reader_range;

/* Opens a range of a regular file (range NULL: the whole file, as cp_reader_open). Lines belong to ranges by
 * one rule, so that consecutive ranges hand out every line of the file exactly once: a range with offset > 0
 * drops everything up to and including the first '\n' at or after its first byte, and a range with length > 0
 * reads on past its end (into the next range's bytes) to finish its last line, up to and including the first
 * '\n' at or after its end. So a range whose bytes hold no '\n' may hand out no line. For gzip and zstd,
 * offset and offset + length must be member / frame boundaries: an offset that is not is refused (NULL), an
 * end that is not reads as truncated data (-1). cp_reader_bytes_in counts the range's own bytes only. */
cp_reader *cp_reader_open_range(const char *path, const cp_reader_range *range, size_t max_line_bytes, char *err,
                                size_t errlen);

/* Reads the next line. On return 1, *line points at its bytes (without the '\n'; a '\r' before it is kept),
 * valid until the next call, *len is its length and *line_no its 1-based number in the file.
 * Return values:
 *   1  a line;
 *   2  a line longer than max_line_bytes: it was skipped, *line is NULL, *len its full length;
 *   0  end of input, everything read;
 *  -1  the input could not be read to its end (I/O error, truncated or corrupt compressed data):
 *      cp_reader_error() says why, naming file and line. Before -1, a partial last line that was
 *      decoded is still returned as a line, so no decoded byte is lost.
 * After 0 or -1 every further call returns the same value. A final line without '\n' is a line. */
int cp_reader_getline(cp_reader *r, const char **line, size_t *len, uint64_t *line_no);

/* Message for the last -1, e.g. "a.jsonl.gz: line 12: unexpected end of gzip data (truncated file?)". */
const char *cp_reader_error(const cp_reader *r);

/* Which library decodes a gzip input now: "isal" or "zlib" (NULL for other formats). ISA-L decodes regular
 * files in builds that have it, and hands over to zlib for good at the first damage it meets, so that errors
 * read exactly as on the zlib path (see reader.c). For tests and diagnostics. */
const char *cp_reader_gzip_decoder(const cp_reader *r);

/* Compressed bytes consumed so far from the underlying file (for progress; after a clean end it equals the
 * file size), and uncompressed bytes decoded so far (up to one 1 MiB buffer ahead of the lines returned). */
uint64_t cp_reader_bytes_in(const cp_reader *r);
uint64_t cp_reader_bytes_out(const cp_reader *r);

void cp_reader_close(cp_reader *r);

/* Expands the command-line inputs into the list of files of a run. A directory contributes every regular
 * file below it (recursively) named *.jsonl, *.json, *.jsonl.gz, *.json.gz, *.jsonl.zst or *.json.zst, or
 * WARC's *.warc, *.wet (also *.warc.wet), each plain, .gz or .zst,
 * in byte-wise sorted order of their paths; a file or "-" contributes itself, in command-line order.
 * On success returns 0 and sets *files (malloc'd array of malloc'd strings) and *nfiles.
 * Returns -1 with a message in err when an argument does not exist or cannot be listed. */
int cp_inputs_expand(char *const *args, size_t nargs, char ***files, size_t *nfiles, char *err, size_t errlen);
void cp_inputs_free(char **files, size_t nfiles);

#endif
