/* Output shards and their compression. gzip members are made by libdeflate in one call per chunk (about twice
 * zlib's speed at a better ratio, measured in bench/bench_gzip.c); its header has mtime 0: no timestamp, so
 * reruns are byte-identical. */
#include "corpusprep/writer.h"

#include <dirent.h>
#include <errno.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "corpusprep/config.h"

struct cp_compressor {
    int kind, level;
    struct libdeflate_compressor *ld; /* made on first use, then reused for every chunk */
    ZSTD_CCtx *zc;
};

int cp_gzip_libdeflate_level(int level)
{
    /* libdeflate's 1-9 compress at least as well as zlib's same level, and faster; 10-12 are its slow
     * optimal parsing, which only --level 9 ("best") asks for. */
    if (level < 0)
        return 0;
    return level >= 9 ? 12 : level;
}

cp_compressor *cp_compressor_create(int compress, int level)
{
    cp_compressor *c = cp_xcalloc(1, sizeof *c);
    c->kind = compress;
    c->level = level;
    return c;
}

int cp_compress(cp_compressor *c, const char *in, size_t n, cp_buf *out)
{
    if (c->kind == CP_COMPRESS_NONE) {
        cp_buf_append(out, in, n);
        return 0;
    }
    if (c->kind == CP_COMPRESS_ZSTD) {
        if (!c->zc) {
            c->zc = ZSTD_createCCtx();
            if (!c->zc)
                return -1;
        }
        size_t bound = ZSTD_compressBound(n);
        cp_buf_reserve(out, bound);
        size_t r = ZSTD_compressCCtx(c->zc, out->data + out->len, bound, in, n, c->level);
        if (ZSTD_isError(r))
            return -1;
        out->len += r;
        return 0;
    }
    if (!c->ld) {
        c->ld = libdeflate_alloc_compressor(cp_gzip_libdeflate_level(c->level));
        if (!c->ld)
            return -1;
    }
    size_t bound = libdeflate_gzip_compress_bound(c->ld, n);
    cp_buf_reserve(out, bound);
    size_t r = libdeflate_gzip_compress(c->ld, in, n, out->data + out->len, bound);
    if (r == 0)
        return -1;
    out->len += r;
    return 0;
}

void cp_compressor_destroy(cp_compressor *c)
{
    if (!c)
        return;
    libdeflate_free_compressor(c->ld);
    ZSTD_freeCCtx(c->zc);
    free(c);
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char *p = cp_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create folder: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int r = mkdir(p, 0777);
    if (r && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create folder: %s", p, strerror(errno));
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

static int is_part_file(const char *name)
{
    return !strncmp(name, "part-", 5);
}

/* Removes part files (and temporaries) in dir; with rmdir_too, removes dir itself when it held part files
 * and ends up empty (an empty folder that never held our files is not ours to remove). */
static int clear_parts(const char *dir, int rmdir_too, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0, removed = 0;
    while ((e = readdir(d))) {
        if (!is_part_file(e->d_name))
            continue;
        removed = 1;
        cp_buf p = {0};
        cp_buf_printf(&p, "%s/%s", dir, e->d_name);
        if (unlink(p.data) && errno != ENOENT) {
            snprintf(err, errlen, "%s: cannot remove: %s", p.data, strerror(errno));
            rc = -1;
        }
        cp_buf_free(&p);
    }
    closedir(d);
    if (rmdir_too && removed)
        rmdir(dir); /* fails harmlessly when the user keeps other files there */
    return rc;
}

int cp_output_prepare(const char *outdir, int force, char *err, size_t errlen)
{
    struct stat st;
    if (stat(outdir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: exists and is not a folder", outdir);
            return -1;
        }
        DIR *d = opendir(outdir);
        if (!d) {
            snprintf(err, errlen, "%s: cannot read folder: %s", outdir, strerror(errno));
            return -1;
        }
        struct dirent *e;
        int nonempty = 0;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            nonempty = 1;
            if (!force)
                break;
            cp_buf p = {0};
            cp_buf_printf(&p, "%s/%s", outdir, e->d_name);
            struct stat es; /* lstat: a link to a folder elsewhere is not our output */
            if (lstat(p.data, &es) == 0 && S_ISDIR(es.st_mode)) {
                if (clear_parts(p.data, 1, err, errlen)) {
                    cp_buf_free(&p);
                    closedir(d);
                    return -1;
                }
            }
            cp_buf_free(&p);
        }
        closedir(d);
        if (nonempty && !force) {
            snprintf(err, errlen, "%s: output folder is not empty (use --force to replace a previous run's output)",
                     outdir);
            return -2;
        }
        if (force) {
            static const char *const run_files[] = {"stats.json", "report.html", "report-examples.json",
                                                    "explain.jsonl", NULL};
            for (int i = 0; run_files[i]; i++) {
                cp_buf p = {0};
                cp_buf_printf(&p, "%s/%s", outdir, run_files[i]);
                unlink(p.data);
                cp_buf_free(&p);
            }
            if (clear_parts(outdir, 0, err, errlen))
                return -1;
        }
    } else if (mkdir_p(outdir, err, errlen)) {
        return -1;
    }
    /* Fail now, not after an hour of work, when the folder is not writable. */
    cp_buf probe = {0};
    cp_buf_printf(&probe, "%s/.corpusprep-write-test.%d", outdir, (int)getpid());
    FILE *fp = fopen(probe.data, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: output folder is not writable: %s", outdir, strerror(errno));
        cp_buf_free(&probe);
        return -1;
    }
    fclose(fp);
    unlink(probe.data);
    cp_buf_free(&probe);
    return 0;
}

typedef struct {
    char *subdir;
    FILE *fp;
    char *tmp_path, *final_path;
    uint64_t raw_bytes;
    unsigned seq;
} stream_t;

struct cp_writer {
    char *outdir;
    int rank, compress;
    uint64_t shard_bytes;
    stream_t *streams;
    size_t n_streams;
    uint64_t bytes, shards;
};

cp_writer *cp_writer_create(const char *outdir, int rank, int compress, uint64_t shard_bytes)
{
    cp_writer *w = cp_xcalloc(1, sizeof *w);
    w->outdir = cp_xstrdup(outdir);
    w->rank = rank;
    w->compress = compress;
    w->shard_bytes = shard_bytes;
    return w;
}

static const char *suffix(int compress)
{
    return compress == CP_COMPRESS_GZIP ? ".jsonl.gz" : compress == CP_COMPRESS_ZSTD ? ".jsonl.zst" : ".jsonl";
}

static int close_stream(cp_writer *w, stream_t *s, char *err, size_t errlen)
{
    if (!s->fp)
        return 0;
    int bad = ferror(s->fp);
    if (fclose(s->fp))
        bad = 1;
    s->fp = NULL;
    if (bad) {
        snprintf(err, errlen, "%s: write failed: %s", s->tmp_path, strerror(errno));
        return -1;
    }
    if (rename(s->tmp_path, s->final_path)) {
        snprintf(err, errlen, "%s: cannot rename to %s: %s", s->tmp_path, s->final_path, strerror(errno));
        return -1;
    }
    free(s->tmp_path);
    free(s->final_path);
    s->tmp_path = s->final_path = NULL;
    s->raw_bytes = 0;
    s->seq++;
    w->shards++;
    return 0;
}

static int open_stream(cp_writer *w, stream_t *s, char *err, size_t errlen)
{
    cp_buf dir = {0};
    if (*s->subdir)
        cp_buf_printf(&dir, "%s/%s", w->outdir, s->subdir);
    else
        cp_buf_puts(&dir, w->outdir);
    if (*s->subdir && mkdir(dir.data, 0777) && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create folder: %s", dir.data, strerror(errno));
        cp_buf_free(&dir);
        return -1;
    }
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/part-%05d-%05u%s", dir.data, w->rank, s->seq, suffix(w->compress));
    s->final_path = cp_xstrdup(p.data);
    cp_buf_puts(&p, ".tmp");
    s->tmp_path = p.data;
    cp_buf_free(&dir);
    s->fp = fopen(s->tmp_path, "wb");
    if (!s->fp) {
        snprintf(err, errlen, "%s: cannot create: %s", s->tmp_path, strerror(errno));
        return -1;
    }
    setvbuf(s->fp, NULL, _IOFBF, 1 << 20);
    return 0;
}

int cp_writer_append(cp_writer *w, const char *subdir, const char *data, size_t n, uint64_t raw_bytes,
                     char *err, size_t errlen)
{
    stream_t *s = NULL;
    for (size_t i = 0; i < w->n_streams; i++)
        if (!strcmp(w->streams[i].subdir, subdir)) {
            s = &w->streams[i];
            break;
        }
    if (!s) {
        w->streams = cp_xrealloc(w->streams, (w->n_streams + 1) * sizeof *w->streams);
        s = &w->streams[w->n_streams++];
        memset(s, 0, sizeof *s);
        s->subdir = cp_xstrdup(subdir);
    }
    if (s->fp && s->raw_bytes && s->raw_bytes + raw_bytes > w->shard_bytes)
        if (close_stream(w, s, err, errlen))
            return -1;
    if (!s->fp && open_stream(w, s, err, errlen))
        return -1;
    if (n && fwrite(data, 1, n, s->fp) != n) {
        snprintf(err, errlen, "%s: write failed: %s", s->tmp_path, strerror(errno));
        return -1;
    }
    s->raw_bytes += raw_bytes;
    w->bytes += n;
    return 0;
}

int cp_writer_finish(cp_writer *w, char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n_streams; i++)
        if (close_stream(w, &w->streams[i], err, errlen))
            return -1;
    return 0;
}

void cp_writer_abort(cp_writer *w)
{
    for (size_t i = 0; i < w->n_streams; i++) {
        stream_t *s = &w->streams[i];
        if (s->fp) {
            fclose(s->fp);
            s->fp = NULL;
        }
        if (s->tmp_path)
            unlink(s->tmp_path);
    }
}

uint64_t cp_writer_bytes(const cp_writer *w) { return w->bytes; }
uint64_t cp_writer_shards(const cp_writer *w) { return w->shards; }

void cp_writer_destroy(cp_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_streams; i++) {
        stream_t *s = &w->streams[i];
        if (s->fp)
            fclose(s->fp);
        free(s->subdir);
        free(s->tmp_path);
        free(s->final_path);
    }
    free(w->streams);
    free(w->outdir);
    free(w);
}

int cp_write_file_atomic(const char *path, const char *data, size_t n, char *err, size_t errlen)
{
    cp_buf tmp = {0};
    cp_buf_printf(&tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp.data, "wb");
    int rc = -1;
    if (!fp) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp.data, strerror(errno));
    } else {
        int bad = fwrite(data, 1, n, fp) != n;
        if (fclose(fp) || bad) {
            snprintf(err, errlen, "%s: write failed: %s", tmp.data, strerror(errno));
            unlink(tmp.data);
        } else if (rename(tmp.data, path)) {
            snprintf(err, errlen, "%s: cannot rename: %s", tmp.data, strerror(errno));
            unlink(tmp.data);
        } else {
            rc = 0;
        }
    }
    cp_buf_free(&tmp);
    return rc;
}

int cp_write_json_atomic(const char *dir, const char *name, const json_t *j, char *err, size_t errlen)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        snprintf(err, errlen, "%s/%s: cannot serialise", dir, name);
        return -1;
    }
    size_t n = strlen(text);
    text = cp_xrealloc(text, n + 2);
    text[n++] = '\n';
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/%s", dir, name);
    int rc = cp_write_file_atomic(p.data, text, n, err, errlen);
    cp_buf_free(&p);
    free(text);
    return rc;
}
