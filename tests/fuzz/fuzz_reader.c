/* Fuzz harness for the reader. The input picks a mode, a line limit and a chunking seed; the rest is a
 * payload that is streamed through a pipe in chunks of random sizes (1 byte up to 64 KiB), so that every
 * boundary case of the decoders' refills is reached:
 *   plain            the payload as is: the lines must be exactly the payload's lines;
 *   gzip, zstd       the payload compressed by the harness as 1-3 gzip members / zstd frames: exactly its
 *                    lines; cut short at a random byte: an error unless the cut falls on a member or frame
 *                    boundary, and the lines before the error a prefix of the payload's; one byte changed:
 *                    either the exact lines or an error (gzip's CRC and zstd's checksum catch the rest);
 *   raw gzip, zstd   the payload behind a gzip or zstd magic: any answer but a crash or hang.
 * Always: lines over the limit come back as skipped with their full length, an error has a message that
 * names the file, after the end every call repeats it, and after a clean end bytes_in is the stream's
 * size (reader.h). A line is never silently lost: each one is a line, a skipped line, or lies after the
 * reported error.
 * gzip is also read from a regular file, which builds with ISA-L decode with it (a pipe always goes to zlib):
 * the two reads must agree on every line, the end status, the error after the file name and the counters.
 * A complete plain, gzip or zstd stream is also read from the file in 2-3 byte ranges (cp_reader_open_range,
 * cluster mode's pieces: at random bytes if plain, at member / frame boundaries otherwise), each numbered from
 * the lines of the ranges before it: together they must hand out the whole read's lines, numbers and lengths. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "corpusprep/reader.h"
#include "fuzz_common.h"

enum { M_PLAIN, M_GZIP, M_ZSTD, M_GZIP_CUT, M_ZSTD_CUT, M_GZIP_FLIP, M_ZSTD_FLIP, M_RAW_GZIP, M_RAW_ZSTD, M_N };

static char file_path[64]; /* the regular file that gzip is also read from */

static void remove_file(void) { unlink(file_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    signal(SIGPIPE, SIG_IGN); /* the reader stops reading at an error; the feeder then gets EPIPE */
    snprintf(file_path, sizeof file_path, "/tmp/fuzz_reader_XXXXXX");
    int fd = mkstemp(file_path);
    if (fd < 0)
        fz_fail("mkstemp: %s", strerror(errno));
    close(fd);
    atexit(remove_file);
    return 0;
}

/* What a caller sees of one read, for comparing two reads of the same bytes. */
typedef struct {
    int rc;
    uint64_t lines, hash, bytes_in, bytes_out;
    char msg[512]; /* the error after the file name */
} seen_t;

static void see_line(seen_t *v, int rc, uint64_t no, const char *line, size_t len)
{
    uint64_t head[3] = {(uint64_t)rc, no, len};
    for (size_t i = 0; i < sizeof head; i++)
        v->hash = (v->hash ^ ((const unsigned char *)head)[i]) * 1099511628211ull;
    for (size_t i = 0; line && i < len; i++)
        v->hash = (v->hash ^ (unsigned char)line[i]) * 1099511628211ull;
    v->lines++;
}

static void see_end(seen_t *v, cp_reader *r, int rc, const char *name)
{
    v->rc = rc;
    v->bytes_in = cp_reader_bytes_in(r);
    v->bytes_out = cp_reader_bytes_out(r);
    v->msg[0] = 0;
    if (rc < 0)
        snprintf(v->msg, sizeof v->msg, "%s", cp_reader_error(r) + strlen(name));
}

/* Reads v[0..n) from the regular file and checks that it sees what the pipe saw. */
static void compare_with_file(const unsigned char *v, size_t n, size_t max_line, const seen_t *pipe_seen)
{
    FILE *fp = fopen(file_path, "wb");
    if (!fp || fwrite(v, 1, n, fp) != n || fclose(fp))
        fz_fail("%s: cannot write", file_path);
    char err[512];
    cp_reader *r = cp_reader_open(file_path, max_line, err, sizeof err);
    if (!r)
        fz_fail("open %s: %s", file_path, err);
    seen_t f = {0};
    f.hash = 1469598103934665603ull;
    const char *line;
    size_t len;
    uint64_t no;
    int rc;
    while ((rc = cp_reader_getline(r, &line, &len, &no)) > 0)
        see_line(&f, rc, no, line, len);
    see_end(&f, r, rc, file_path);
    const char *dec = cp_reader_gzip_decoder(r);
    if (f.rc != pipe_seen->rc || f.lines != pipe_seen->lines || f.hash != pipe_seen->hash ||
        f.bytes_in != pipe_seen->bytes_in || f.bytes_out != pipe_seen->bytes_out || strcmp(f.msg, pipe_seen->msg))
        fz_fail("file (%s) and pipe disagree: rc %d/%d, lines %llu/%llu, bytes_in %llu/%llu, bytes_out %llu/%llu, "
                "'%s' / '%s'", dec ? dec : "-", f.rc, pipe_seen->rc, (unsigned long long)f.lines,
                (unsigned long long)pipe_seen->lines, (unsigned long long)f.bytes_in,
                (unsigned long long)pipe_seen->bytes_in, (unsigned long long)f.bytes_out,
                (unsigned long long)pipe_seen->bytes_out, f.msg, pipe_seen->msg);
    cp_reader_close(r);
}

/* Reads v[0..n) from the regular file in ranges starting at cut[0] = 0 < cut[1] < ... < cut[k - 1] < n, each
 * numbered after the lines of those before it, and checks that together they see what the whole read saw. */
static void compare_ranges(const unsigned char *v, size_t n, const size_t *cut, int k, size_t max_line,
                           const seen_t *whole)
{
    FILE *fp = fopen(file_path, "wb");
    if (!fp || fwrite(v, 1, n, fp) != n || fclose(fp))
        fz_fail("%s: cannot write", file_path);
    seen_t f = {0};
    f.hash = 1469598103934665603ull;
    int rc = 0;
    for (int i = 0; i < k && rc == 0; i++) {
        cp_reader_range rg = {cut[i], i + 1 < k ? cut[i + 1] - cut[i] : 0, f.lines + 1};
        char err[512];
        cp_reader *r = cp_reader_open_range(file_path, &rg, max_line, err, sizeof err);
        if (!r)
            fz_fail("open range %zu+%llu: %s", cut[i], (unsigned long long)rg.length, err);
        const char *line;
        size_t len;
        uint64_t no;
        while ((rc = cp_reader_getline(r, &line, &len, &no)) > 0) {
            if (no != f.lines + 1)
                fz_fail("range %d: line number %llu, expected %llu", i, (unsigned long long)no,
                        (unsigned long long)f.lines + 1);
            see_line(&f, rc, no, line, len);
        }
        if (rc < 0)
            fz_fail("range %d of a complete stream failed: %s", i, cp_reader_error(r));
        cp_reader_close(r);
    }
    if (f.lines != whole->lines || f.hash != whole->hash)
        fz_fail("%d ranges hand out %llu lines, the whole read %llu (or other bytes)", k,
                (unsigned long long)f.lines, (unsigned long long)whole->lines);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct {
    unsigned char *v;
    size_t n, cap;
    size_t bounds[4]; /* offsets where a member or frame ends (a clean place to stop) */
    int nb;
} bytes_t;

static void put(bytes_t *b, const void *p, size_t n)
{
    if (!n)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->v = realloc(b->v, b->cap);
    }
    memcpy(b->v + b->n, p, n);
    b->n += n;
}

static void gzip_member(bytes_t *out, const uint8_t *p, size_t n, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fz_fail("deflateInit2");
    size_t cap = deflateBound(&zs, n) + 32;
    unsigned char *buf = malloc(cap);
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        fz_fail("deflate");
    put(out, buf, cap - zs.avail_out);
    deflateEnd(&zs);
    free(buf);
}

static void zstd_frame(bytes_t *out, const uint8_t *p, size_t n, int level)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    size_t cap = ZSTD_compressBound(n);
    unsigned char *buf = malloc(cap);
    size_t k = ZSTD_compress2(cc, buf, cap, p, n);
    if (ZSTD_isError(k))
        fz_fail("ZSTD_compress2: %s", ZSTD_getErrorName(k));
    put(out, buf, k);
    ZSTD_freeCCtx(cc);
    free(buf);
}

typedef struct {
    int fd;
    const unsigned char *v;
    size_t n;
    uint64_t seed;
} feeder_t;

static void *feed(void *arg)
{
    feeder_t *f = arg;
    for (size_t off = 0; off < f->n;) {
        size_t max = (size_t)1 << (rng_next(&f->seed) % 17);
        size_t k = 1 + rng_next(&f->seed) % max;
        if (k > f->n - off)
            k = f->n - off;
        ssize_t w = write(f->fd, f->v + off, k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* EPIPE: the reader stopped at an error */
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

/* Where the next line of the payload p[*off..n) ends; returns 0 when there is none. */
static int next_line(const uint8_t *p, size_t n, size_t *off, size_t *start, size_t *len)
{
    if (*off >= n)
        return 0;
    const uint8_t *nl = memchr(p + *off, '\n', n - *off);
    *start = *off;
    *len = nl ? (size_t)(nl - p) - *off : n - *off;
    *off = nl ? (size_t)(nl - p) + 1 : n;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int mode = data[0] % M_N;
    size_t max_line = data[1] == 0xFF ? (size_t)1 << 28 : 1 + ((size_t)data[1] << 4 | (data[2] & 15));
    if (mode == M_GZIP_FLIP || mode == M_ZSTD_FLIP)
        max_line = (size_t)1 << 28; /* every line whole, to compare the bytes at a clean end */
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ ((uint64_t)data[2] << 8 | data[3]);
    const uint8_t *p = data + 4;
    size_t n = size - 4;

    bytes_t s = {0};
    int members = 1 + (int)(rng_next(&seed) % 3);
    int exact = 1;       /* a clean end with exactly the payload's lines is required */
    int any = 0;         /* only "no crash" and the reader's own contract are checked */
    size_t expect_n = n; /* payload bytes that a clean end must deliver */
    if (mode == M_PLAIN) {
        put(&s, p, n);
        /* a payload that starts like gzip or zstd is not read as plain */
        if ((n >= 2 && p[0] == 0x1f && p[1] == 0x8b) || (n >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4)))
            any = 1;
    } else if (mode == M_RAW_GZIP || mode == M_RAW_ZSTD) {
        put(&s, mode == M_RAW_GZIP ? "\x1f\x8b" : "\x28\xb5\x2f\xfd", mode == M_RAW_GZIP ? 2 : 4);
        put(&s, p, n);
        any = 1;
    } else {
        int gz = mode == M_GZIP || mode == M_GZIP_CUT || mode == M_GZIP_FLIP;
        size_t cuts[4] = {0};
        for (int i = 1; i < members; i++)
            cuts[i] = n ? rng_next(&seed) % (n + 1) : 0;
        cuts[members] = n;
        for (int i = 1; i < members; i++) /* sort the inner cuts */
            for (int k = i + 1; k < members; k++)
                if (cuts[k] < cuts[i]) {
                    size_t t = cuts[i];
                    cuts[i] = cuts[k], cuts[k] = t;
                }
        int level = 1 + (int)(rng_next(&seed) % 9);
        for (int i = 0; i < members; i++) {
            if (gz)
                gzip_member(&s, p + cuts[i], cuts[i + 1] - cuts[i], level);
            else
                zstd_frame(&s, p + cuts[i], cuts[i + 1] - cuts[i], level);
            s.bounds[s.nb++] = s.n;
        }
        if (mode == M_GZIP_CUT || mode == M_ZSTD_CUT) {
            size_t t = rng_next(&seed) % s.n; /* a cut that leaves at least the magic */
            if (t < 4)
                t = 4;
            if (t < s.n) {
                s.n = t;
                exact = 0;
                for (int i = 0; i < s.nb; i++)
                    if (s.bounds[i] == t) { /* a whole number of members: a valid, shorter file */
                        exact = 1;
                        expect_n = cuts[i + 1];
                    }
            }
        } else if (mode == M_GZIP_FLIP || mode == M_ZSTD_FLIP) {
            size_t at = rng_next(&seed) % s.n;
            unsigned char x = (unsigned char)(1 + rng_next(&seed) % 255);
            if (at < 4)
                at = 4 + at % (s.n > 4 ? s.n - 4 : 1);
            if (at < s.n) {
                s.v[at] ^= x;
                exact = -1; /* either exact or an error */
            }
        }
    }

    int fds[2];
    if (pipe(fds))
        fz_fail("pipe: %s", strerror(errno));
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    feeder_t f = {fds[1], s.v, s.n, seed};
    pthread_t th;
    if (pthread_create(&th, NULL, feed, &f))
        fz_fail("pthread_create");
    char err[512];
    cp_reader *r = cp_reader_open(path, max_line, err, sizeof err);
    if (!r)
        fz_fail("open: %s", err);

    const char *line;
    size_t len, off = 0, ls, ll;
    uint64_t line_no, want_no = 0;
    int rc;
    size_t got_lines = 0;
    bytes_t got = {0};
    int short_seen = 0;
    seen_t seen = {0};
    seen.hash = 1469598103934665603ull;
    while ((rc = cp_reader_getline(r, &line, &len, &line_no)) > 0) {
        see_line(&seen, rc, line_no, line, len);
        got_lines++;
        if (line_no != ++want_no)
            fz_fail("line number %llu, expected %llu", (unsigned long long)line_no, (unsigned long long)want_no);
        if (rc == 1 && len > max_line)
            fz_fail("a line of %zu bytes over the limit %zu was returned", len, max_line);
        if (rc == 2 && len <= max_line)
            fz_fail("a line of %zu bytes within the limit %zu was skipped", len, max_line);
        if (rc == 1 && memchr(line, '\n', len))
            fz_fail("a line holds a newline");
        if (exact == -1) { /* a changed byte: what came before the error may be wrong, a clean end may not */
            if (rc == 1)
                put(&got, line, len);
            put(&got, rc == 1 ? "\n" : "?\n", rc == 1 ? 1 : 2);
            continue;
        }
        if (any)
            continue;
        if (!next_line(p, expect_n, &off, &ls, &ll))
            fz_fail("line %zu is more than the payload holds", got_lines);
        if (rc == 1 && (len > ll || memcmp(line, p + ls, len)))
            fz_fail("line %zu differs from the payload", got_lines);
        if (rc == 2 && len > ll)
            fz_fail("skipped line %zu is longer (%zu) than the payload's (%zu)", got_lines, len, ll);
        if (short_seen)
            fz_fail("line %zu follows a line that was cut short", got_lines);
        if (len < ll) { /* only the last line before an error may be cut short */
            if (exact == 1)
                fz_fail("line %zu is %zu bytes, the payload's %zu", got_lines, len, ll);
            short_seen = 1;
        }
    }
    if (rc != 0 && rc != -1)
        fz_fail("getline returned %d", rc);
    see_end(&seen, r, rc, path);
    if (rc == -1 && strncmp(cp_reader_error(r), path, strlen(path)))
        fz_fail("error message does not name the file: %s", cp_reader_error(r));
    if (cp_reader_getline(r, &line, &len, &line_no) != rc)
        fz_fail("getline does not repeat its final status");
    if (!any && exact == 1 && rc != 0)
        fz_fail("a complete stream was reported as failed: %s", cp_reader_error(r));
    if (!any && exact == 0 && rc != -1)
        fz_fail("a truncated stream was accepted (%zu of %zu bytes)", s.n, s.bounds[s.nb - 1]);
    if (exact == -1 && rc == 0) { /* the lines must be the payload's, with a '\n' after each */
        int ok = got.n >= n && (!n || !memcmp(got.v, p, n)) && (got.n == n || (got.n == n + 1 && got.v[n] == '\n'));
        if (!ok && !(got.n == 0 && n == 0))
            fz_fail("a changed byte went unnoticed: the lines differ from the payload, yet a clean end");
    }
    if (!any && exact != -1 && rc == 0) {
        if (short_seen || next_line(p, expect_n, &off, &ls, &ll))
            fz_fail("clean end after %zu lines, but the payload holds more", got_lines);
        if (cp_reader_bytes_in(r) != s.n)
            fz_fail("bytes_in %llu after a clean end of %zu bytes", (unsigned long long)cp_reader_bytes_in(r), s.n);
        if (cp_reader_bytes_out(r) != expect_n)
            fz_fail("bytes_out %llu, payload %zu", (unsigned long long)cp_reader_bytes_out(r), expect_n);
    }
    cp_reader_close(r);
    close(fds[0]);
    pthread_join(th, NULL);
    if (mode == M_GZIP || mode == M_GZIP_CUT || mode == M_GZIP_FLIP || mode == M_RAW_GZIP)
        compare_with_file(s.v, s.n, max_line, &seen);
    if ((mode == M_PLAIN || mode == M_GZIP || mode == M_ZSTD) && !any && rc == 0 && s.n > 1) {
        size_t cut[3] = {0};
        int k = 1;
        for (int i = 0; i < 2; i++) { /* up to two more range starts, ascending */
            size_t c = mode == M_PLAIN ? 1 + rng_next(&seed) % (s.n - 1)
                                       : s.bounds[rng_next(&seed) % (size_t)s.nb];
            if (c > cut[k - 1] && c < s.n)
                cut[k++] = c;
        }
        compare_ranges(s.v, s.n, cut, k, max_line, &seen);
    }
    free(s.v);
    free(got.v);
    return 0;
}
