/* split: the cluster's plan of which rank reads which bytes (split.h), and where a file can be entered.
 * Invariants: segments are in (file, offset) order, every file has one at least, a rank's segments come in
 * global input order, and consecutive segments of a file meet exactly (the line at a cut belongs to the earlier
 * segment, cp_reader_open_range). The plan depends only on the files' bytes and the number of ranks. */
#include "corpusprep/split.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "corpusprep/reader.h"
#include "corpusprep/warc.h"

#define PLAIN_WINDOW ((uint64_t)1 << 20)  /* a newline is looked for this far after a plain cut */
#define GZIP_WINDOW ((uint64_t)64 << 20)  /* a member start is looked for this far after a gzip cut */
#define CHUNK 65536

enum { FMT_PLAIN, FMT_GZIP, FMT_ZSTD };

static int read_at(int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
    size_t have = 0;
    while (have < n) {
        ssize_t k = pread(fd, (char *)buf + have, n - have, (off_t)(off + have));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        have += (size_t)k;
    }
    *got = have;
    return 0;
}

/* ---- gzip: member starts found by their magic and proven by inflating the member ---------------------- */

/* 1 when a gzip member starts at off: it inflates to its end with the right CRC-32 and length (zlib checks
 * both), and the end of the file or another member's magic follows it. */
static int gzip_member_at(int fd, uint64_t off, uint64_t size)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return 0;
    unsigned char *in = cp_xmalloc(CHUNK), *out = cp_xmalloc(CHUNK);
    uint64_t pos = off;
    int ret = Z_OK;
    while (ret == Z_OK) {
        if (zs.avail_in == 0) {
            size_t got = 0;
            if (read_at(fd, in, CHUNK, pos, &got) || got == 0)
                break;
            pos += got;
            zs.next_in = in;
            zs.avail_in = (uInt)got;
        }
        zs.next_out = out;
        zs.avail_out = CHUNK;
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret == Z_BUF_ERROR && zs.avail_in == 0)
            ret = Z_OK; /* wants more input */
    }
    int ok = 0;
    if (ret == Z_STREAM_END) {
        uint64_t end = pos - zs.avail_in;
        unsigned char m[2];
        size_t got = 0;
        ok = end == size || (!read_at(fd, m, 2, end, &got) && got == 2 && m[0] == 0x1f && m[1] == 0x8b);
    }
    inflateEnd(&zs);
    free(in);
    free(out);
    return ok;
}

/* The first member start at or after want, within GZIP_WINDOW; 0 when there is none. */
static uint64_t gzip_cut(int fd, uint64_t want, uint64_t size)
{
    unsigned char *buf = cp_xmalloc(CHUNK + 4);
    uint64_t limit = want + GZIP_WINDOW < size ? want + GZIP_WINDOW : size, found = 0;
    for (uint64_t at = want; at < limit && !found; at += CHUNK) {
        size_t got = 0;
        if (read_at(fd, buf, CHUNK + 4, at, &got))
            break;
        for (size_t i = 0; i + 4 <= got && i < CHUNK && at + i < limit; i++) {
            /* magic, deflate, no reserved flag bits: what a member header must start with */
            if (buf[i] != 0x1f || buf[i + 1] != 0x8b || buf[i + 2] != 8 || (buf[i + 3] & 0xe0))
                continue;
            if (gzip_member_at(fd, at + i, size)) {
                found = at + i;
                break;
            }
        }
    }
    free(buf);
    return found;
}

/* ---- zstd: frame starts from the frame and block headers (RFC 8878), nothing decompressed ------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The offset after the frame at off, or 0 when the bytes there are not a whole frame. */
static uint64_t zstd_frame_end(int fd, uint64_t off, uint64_t size)
{
    unsigned char h[18];
    size_t got = 0;
    if (read_at(fd, h, sizeof h, off, &got) || got < 8)
        return 0;
    uint32_t magic = le32(h);
    if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) { /* skippable frame: its size follows the magic */
        uint64_t end = off + 8 + le32(h + 4);
        return end <= size ? end : 0;
    }
    if (magic != 0xFD2FB528u || (h[4] & 0x08))
        return 0;
    static const unsigned did_bytes[4] = {0, 1, 2, 4};
    unsigned fhd = h[4], single = (fhd >> 5) & 1, fcs_flag = fhd >> 6;
    unsigned fcs = fcs_flag ? 1u << fcs_flag : single;
    uint64_t pos = off + 5 + !single + did_bytes[fhd & 3] + fcs;
    for (;;) {
        unsigned char b[3];
        if (read_at(fd, b, 3, pos, &got) || got < 3)
            return 0;
        uint32_t bh = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        unsigned type = (bh >> 1) & 3;
        if (type == 3)
            return 0; /* reserved block type */
        pos += 3 + (type == 1 ? 1 : bh >> 3);
        if (pos > size)
            return 0;
        if (bh & 1)
            break;
    }
    pos += (fhd >> 2) & 1 ? 4 : 0; /* content checksum */
    return pos <= size ? pos : 0;
}

/* For each want[i], the frame start nearest to it other than the file's start (ties: the earlier one); 0 when
 * the file has one frame. Frames are walked from the start until one starts past every want. */
static void zstd_cuts(int fd, uint64_t size, const uint64_t *want, uint64_t *cut, size_t n)
{
    uint64_t *start = NULL, pos = 0;
    size_t ns = 0, cap = 0;
    while (n && pos < size && (!ns || start[ns - 1] <= want[n - 1])) {
        uint64_t next = zstd_frame_end(fd, pos, size);
        if (!next || next >= size)
            break;
        if (ns == cap) {
            cap = cap ? cap * 2 : 64;
            start = cp_xrealloc(start, cap * sizeof *start);
        }
        start[ns++] = pos = next;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        while (k < ns && start[k] <= want[i])
            k++;
        /* start[k - 1] <= want[i] < start[k] */
        uint64_t best = 0;
        if (k > 0)
            best = start[k - 1];
        if (k < ns && (!best || start[k] - want[i] < want[i] - best))
            best = start[k];
        cut[i] = best;
    }
    free(start);
}

/* ---- plain ------------------------------------------------------------------------------------------------ */

/* The start of the first line that starts at or after want (want itself when a newline precedes it). */
static uint64_t plain_cut(int fd, uint64_t want, uint64_t size)
{
    uint64_t from = want - 1; /* want > 0 */
    size_t n = (size_t)(size - from < PLAIN_WINDOW ? size - from : PLAIN_WINDOW), got = 0;
    char *buf = cp_xmalloc(n + 1);
    uint64_t cut = want;
    if (!read_at(fd, buf, n, from, &got)) {
        char *nl = memchr(buf, '\n', got);
        if (nl)
            cut = from + (uint64_t)(nl - buf) + 1;
    }
    free(buf);
    return cut < size ? cut : 0;
}

int cp_split_find_cuts(const char *path, const uint64_t *want, uint64_t *cut, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++)
        cut[i] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    unsigned char m[4];
    size_t got = 0;
    int bad = fd < 0 || fstat(fd, &sb) || read_at(fd, m, 4, 0, &got);
    if (bad || !S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "%s", bad ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    int fmt = got >= 2 && m[0] == 0x1f && m[1] == 0x8b                                   ? FMT_GZIP
              : got == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd ? FMT_ZSTD
                                                                                         : FMT_PLAIN;
    /* WARC is told by its first line, as the pipeline tells it: its records are not lines */
    char err[256];
    cp_reader *r = cp_reader_open(path, 1 << 16, err, sizeof err);
    const char *line = NULL;
    size_t len = 0;
    uint64_t no = 0;
    int warc = r && cp_reader_getline(r, &line, &len, &no) == 1 && cp_warc_is_start(line, len);
    cp_reader_close(r);
    int rc = 1;
    if (warc) {
        snprintf(why, whylen, "WARC is not split");
        rc = 0;
    } else if (fmt == FMT_ZSTD) {
        zstd_cuts(fd, size, want, cut, n);
    } else {
        for (size_t i = 0; i < n; i++)
            if (want[i] > 0 && want[i] < size)
                cut[i] = fmt == FMT_GZIP ? gzip_cut(fd, want[i], size) : plain_cut(fd, want[i], size);
    }
    if (rc == 1) {
        int any = 0;
        for (size_t i = 0; i < n; i++)
            any |= cut[i] != 0;
        if (!any && fmt != FMT_PLAIN) {
            snprintf(why, whylen, fmt == FMT_ZSTD ? "one zstd frame (only multi-frame zstd can be split)"
                                                  : "no gzip member starts near the cut (one member? only "
                                                    "multi-member gzip can be split)");
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

/* ---- the plan ------------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t size;
    size_t index;
} fsize_t;

static int cmp_fsize(const void *a, const void *b)
{
    const fsize_t *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Whole files, largest first to the least-loaded rank (ties: the lower rank). Returns the largest load. */
static uint64_t plan_whole(const uint64_t *size, size_t nfiles, int K, int *file_rank)
{
    fsize_t *f = cp_xmalloc((nfiles + 1) * sizeof *f);
    for (size_t i = 0; i < nfiles; i++)
        f[i] = (fsize_t){size[i], i};
    qsort(f, nfiles, sizeof *f, cmp_fsize);
    uint64_t *load = cp_xcalloc((size_t)K, sizeof *load), max = 0;
    for (size_t i = 0; i < nfiles; i++) {
        int best = 0;
        for (int p = 1; p < K; p++)
            if (load[p] < load[best])
                best = p;
        file_rank[f[i].index] = best;
        load[best] += f[i].size + 1;
    }
    for (int p = 0; p < K; p++)
        max = load[p] > max ? load[p] : max;
    free(load);
    free(f);
    return max;
}

/* Cuts the run of bytes (files in order, prefix[f] = bytes before file f) into K equal shares, each cut moved
 * to where its file can be entered, else to the file's nearer end. g[0..K] are the shares' bounds. */
static void plan_cuts(char *const *files, size_t nfiles, const uint64_t *size, const uint64_t *prefix, int K,
                      uint64_t *g, cp_buf *log)
{
    uint64_t total = prefix[nfiles];
    g[0] = 0;
    g[K] = total;
    for (int j = 1; j < K; j++)
        g[j] = total / (uint64_t)K * (uint64_t)j + total % (uint64_t)K * (uint64_t)j / (uint64_t)K;
    size_t f = 0;
    for (int j = 1; j < K;) {
        while (f < nfiles && prefix[f] + size[f] <= g[j])
            f++;
        /* the nominal cuts inside file f: j .. e-1 */
        int e = j;
        while (e < K && f < nfiles && g[e] < prefix[f] + size[f])
            e++;
        if (e == j || f >= nfiles) {
            j = e > j ? e : j + 1;
            continue;
        }
        size_t n = (size_t)(e - j);
        uint64_t *want = cp_xmalloc(n * sizeof *want), *cut = cp_xmalloc(n * sizeof *cut);
        for (size_t i = 0; i < n; i++)
            want[i] = g[j + (int)i] - prefix[f];
        char why[256] = "";
        int ok = want[0] > 0 ? cp_split_find_cuts(files[f], want, cut, n, why, sizeof why) : 0;
        if (ok < 1 && want[0] > 0)
            cp_buf_printf(log, "%s (%.1f MB) is read whole by one rank: %s\n", files[f], size[f] / 1e6, why);
        for (size_t i = 0; i < n; i++) {
            uint64_t c = ok == 1 ? cut[i] : 0;
            if (!c || c >= size[f]) /* no entry: the nearer end of the file */
                c = want[i] < size[f] / 2 ? 0 : size[f];
            g[j + (int)i] = prefix[f] + c;
        }
        free(want);
        free(cut);
        j = e;
    }
    for (int j = 1; j <= K; j++) /* a cut moved forward may pass the next one's nominal place */
        if (g[j] < g[j - 1])
            g[j] = g[j - 1];
}

static void push_seg(cp_segment **v, size_t *n, size_t *cap, cp_segment s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = cp_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = s;
}

cp_segment *cp_split_plan(char *const *files, size_t nfiles, int ranks, uint64_t min_gain_bytes, size_t *nseg,
                          cp_buf *log)
{
    int K = ranks > 0 ? ranks : 1;
    uint64_t *size = cp_xcalloc(nfiles + 1, sizeof *size), *prefix = cp_xcalloc(nfiles + 1, sizeof *prefix);
    for (size_t i = 0; i < nfiles; i++) {
        struct stat sb;
        size[i] = stat(files[i], &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
        prefix[i + 1] = prefix[i] + size[i];
    }
    int *file_rank = cp_xmalloc((nfiles + 1) * sizeof *file_rank);
    uint64_t whole_max = plan_whole(size, nfiles, K, file_rank), ideal = prefix[nfiles] / (uint64_t)K;
    uint64_t *g = cp_xcalloc((size_t)K + 1, sizeof *g);
    int cutting = 0;
    if (K > 1 && whole_max > ideal + ideal / 10 && whole_max - ideal > min_gain_bytes) {
        plan_cuts(files, nfiles, size, prefix, K, g, log);
        uint64_t cut_max = 0;
        for (int r = 0; r < K; r++)
            cut_max = g[r + 1] - g[r] > cut_max ? g[r + 1] - g[r] : cut_max;
        cutting = cut_max < whole_max;
    }
    cp_segment *seg = NULL;
    size_t n = 0, cap = 0;
    for (size_t f = 0; f < nfiles; f++) {
        if (!cutting) {
            push_seg(&seg, &n, &cap, (cp_segment){(uint32_t)f, file_rank[f], 0, 0, 1});
            continue;
        }
        size_t before = n;
        uint64_t lo = prefix[f], hi = prefix[f] + size[f];
        for (int r = 0; r < K; r++) {
            uint64_t a = g[r] > lo ? g[r] : lo, b = g[r + 1] < hi ? g[r + 1] : hi;
            if (a < b)
                push_seg(&seg, &n, &cap, (cp_segment){(uint32_t)f, r, a - lo, b == hi ? 0 : b - a, a == lo});
        }
        if (n == before) { /* an empty file: the rank whose share starts at or before it */
            int r = 0;
            while (r + 1 < K && g[r + 1] <= lo && g[r + 1] < prefix[nfiles])
                r++;
            push_seg(&seg, &n, &cap, (cp_segment){(uint32_t)f, r, 0, 0, 1});
        }
        if (n - before > 1) {
            cp_buf_printf(log, "%s (%.1f MB) is split between ranks %d to %d at bytes", files[f], size[f] / 1e6,
                          seg[before].rank, seg[n - 1].rank);
            for (size_t i = before + 1; i < n; i++)
                cp_buf_printf(log, " %" PRIu64, seg[i].offset);
            cp_buf_putc(log, '\n');
        }
    }
    free(g);
    free(file_rank);
    free(size);
    free(prefix);
    *nseg = n;
    return seg;
}

int cp_split_count_lines(const char *path, const cp_segment *s, size_t max_line_bytes, uint64_t *lines, char *err,
                         size_t errlen)
{
    *lines = 0;
    cp_reader_range range = {s->offset, s->length, 1};
    cp_reader *r = cp_reader_open_range(path, &range, max_line_bytes, err, errlen);
    if (!r)
        return -1;
    const char *line;
    size_t len;
    uint64_t no;
    int st;
    while ((st = cp_reader_getline(r, &line, &len, &no)) > 0)
        (*lines)++;
    if (st < 0)
        snprintf(err, errlen, "%s", cp_reader_error(r));
    cp_reader_close(r);
    return st < 0 ? -1 : 0;
}

void cp_split_number_lines(cp_segment *seg, size_t nseg, const uint64_t *lines)
{
    uint64_t next = 1;
    for (size_t i = 0; i < nseg; i++) {
        if (i == 0 || seg[i].file != seg[i - 1].file)
            next = 1;
        seg[i].first_line = next;
        next += lines[i];
    }
}

int cp_split_rank_of(const cp_segment *seg, size_t nseg, uint32_t file, uint64_t line)
{
    /* the last segment at or before (file, line) */
    size_t lo = 0, hi = nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg[mid].file < file || (seg[mid].file == file && seg[mid].first_line <= line))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo || seg[lo - 1].file != file)
        return -1;
    return seg[lo - 1].rank;
}
