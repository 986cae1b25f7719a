/* split: which rank reads which bytes of the input, in cluster mode. Files go to ranks whole (largest first to
 * the least-loaded rank) unless that leaves the ranks more than 10 % apart and cutting files does better: then
 * the input, taken as one run of bytes in file order, is cut into equal shares, each cut moved to a place where
 * a file can be entered: after a newline (plain JSONL), at a gzip member start (multi-member gzip) or a zstd
 * frame start (multi-frame zstd); a cut that meets a file that cannot be entered there (one gzip member, one
 * zstd frame, WARC, no boundary near the cut) moves to that file's nearer end.
 * A piece of a file is a segment; segments hand out lines by the rule of cp_reader_open_range. A segment's
 * first line number is the sum of the lines of the file's earlier segments, which the ranks count
 * (cp_split_count_lines) and exchange before the run, so every position and line number equals the single
 * process's. No MPI here: mpi_cluster.c moves the plan and the counts. Functions are thread-safe (no state). */
#ifndef CORPUSPREP_SPLIT_H
#define CORPUSPREP_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "corpusprep/util.h"

/* Plain data, the same on every rank (it is broadcast as bytes). */
typedef struct {
    uint32_t file;        /* index into the run's file list */
    int32_t rank;         /* the rank that reads it */
    uint64_t offset;      /* first byte in the file */
    uint64_t length;      /* bytes; 0: to the end of the file (a file's last segment, or the whole file) */
    uint64_t first_line;  /* number of its first line: 1 for a file's first segment, else set by
                           * cp_split_number_lines */
} cp_segment;

/* Where a file may be cut. For each nominal cut want[i] (ascending, inside the file) sets cut[i] to the nearest
 * usable place at or after it (plain: the next line start within 1 MiB, else want[i] itself; gzip: the first
 * member start within 64 MiB whose member inflates with a correct CRC-32 and length and is followed by the end of
 * the file or another member; zstd: the frame start nearest to want[i], found by walking frame and block headers
 * from the file's start), or to 0 when there is none. Returns 1 when the file can be cut at all, 0 when it cannot
 * (why says: one gzip member, one zstd frame, WARC...), -1 when it cannot be read (why says). */
int cp_split_find_cuts(const char *path, const uint64_t *want, uint64_t *cut, size_t n, char *why, size_t whylen);

/* The plan for files among ranks: malloc'd segments in (file, offset) order, *nseg of them; every file has at
 * least one. Files are cut only when that lowers the largest rank's share and whole files would leave it more
 * than 10 % and more than min_gain_bytes above the mean. Decisions worth a line in the job's log (a file split, a large file that could not be) are appended
 * to log, one line each. Reads the files (sizes, and near the cuts when cutting). */
cp_segment *cp_split_plan(char *const *files, size_t nfiles, int ranks, uint64_t min_gain_bytes, size_t *nseg,
                          cp_buf *log);

/* Lines that segment s of path hands out (cp_reader_open_range's rule), in *lines. Returns 0, or -1 when the
 * segment could not be read to its end (*lines then counts the lines before the damage; message in err). */
int cp_split_count_lines(const char *path, const cp_segment *s, size_t max_line_bytes, uint64_t *lines, char *err,
                         size_t errlen);

/* Sets first_line of every segment from lines[i], the lines of segment i (a file's last segment's count is not
 * needed). */
void cp_split_number_lines(cp_segment *seg, size_t nseg, const uint64_t *lines);

/* The rank that reads line `line` of file `file` (after cp_split_number_lines); -1 when no segment holds it. */
int cp_split_rank_of(const cp_segment *seg, size_t nseg, uint32_t file, uint64_t line);

#endif
