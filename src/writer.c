/* Output shards and their compression. gzip members are made by libdeflate in one call per chunk (about twice
 * zlib's speed at a better ratio, measured in bench/bench_gzip.c); its header has mtime 0: no timestamp, so
 * reruns are byte-identical. */
#include "corpusprep/writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "corpusprep/checkpoint.h"
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

/* Removes dir/name (gone already is fine); -1 with a message otherwise. */
static int remove_in(const char *dir, const char *name, char *err, size_t errlen)
{
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/%s", dir, name);
    int rc = unlink(p.data) && errno != ENOENT ? -1 : 0;
    if (rc)
        snprintf(err, errlen, "%s: cannot remove: %s", p.data, strerror(errno));
    cp_buf_free(&p);
    return rc;
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
        if (remove_in(dir, e->d_name, err, errlen))
            rc = -1;
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
            if (!strcmp(e->d_name, CP_CHECKPOINT_DIR)) {
                if (cp_checkpoint_remove_all(outdir)) {
                    snprintf(err, errlen, "%s: cannot remove: %s", p.data, strerror(errno));
                    cp_buf_free(&p);
                    closedir(d);
                    return -1;
                }
            } else if (lstat(p.data, &es) == 0 && S_ISDIR(es.st_mode)) {
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
            cp_buf p = {0};
            cp_buf_printf(&p, "%s/" CP_CHECKPOINT_DIR, outdir);
            int interrupted = stat(p.data, &st) == 0;
            cp_buf_free(&p);
            snprintf(err, errlen, "%s: output folder is not empty (%s)", outdir,
                     interrupted ? "it holds an interrupted run: add --resume to go on with it, or use --force "
                                   "to start again"
                                 : "use --force to replace a previous run's output");
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
    int sync;                 /* fsync each shard before its rename (checkpoints list it as complete) */
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
    if (w->sync && (fflush(s->fp) || fsync(fileno(s->fp))))
        bad = 1;
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
    cp_test_kill_point("shard-rename");
    free(s->tmp_path);
    free(s->final_path);
    s->tmp_path = s->final_path = NULL;
    s->raw_bytes = 0;
    s->seq++;
    w->shards++;
    return 0;
}

/* Opens the stream's shard number s->seq: a new .tmp, or with length >= 0 the .tmp a checkpoint listed,
 * cut back to that length (a resumed run appends what the interrupted one wrote after the checkpoint). */
static int open_stream(cp_writer *w, stream_t *s, int64_t length, char *err, size_t errlen)
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
    if (length < 0) {
        s->fp = fopen(s->tmp_path, "wb");
    } else {
        struct stat sb;
        /* killed between the shard's rename and the next checkpoint: the checkpoint's prefix is in the
         * renamed file */
        if (stat(s->tmp_path, &sb) && !rename(s->final_path, s->tmp_path))
            stat(s->tmp_path, &sb);
        else
            unlink(s->final_path);
        if (stat(s->tmp_path, &sb) || sb.st_size < length) {
            snprintf(err, errlen, "%s: missing or shorter than the checkpoint says (%lld bytes); cannot resume",
                     s->tmp_path, (long long)length);
            return -1;
        }
        s->fp = truncate(s->tmp_path, (off_t)length) ? NULL : fopen(s->tmp_path, "r+b");
        if (s->fp && fseeko(s->fp, 0, SEEK_END)) {
            fclose(s->fp);
            s->fp = NULL;
        }
    }
    if (!s->fp) {
        snprintf(err, errlen, "%s: cannot %s: %s", s->tmp_path, length < 0 ? "create" : "reopen", strerror(errno));
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
    if (!s->fp && open_stream(w, s, -1, err, errlen))
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

/* ---- checkpoints ---- */

void cp_writer_set_sync(cp_writer *w, int sync) { w->sync = sync; }

int cp_writer_checkpoint(cp_writer *w, json_t **state, char *err, size_t errlen)
{
    json_t *streams = json_array();
    int rc = 0;
    for (size_t i = 0; i < w->n_streams && !rc; i++) {
        stream_t *s = &w->streams[i];
        json_t *e = json_pack("{sssIsI}", "subdir", s->subdir, "seq", (json_int_t)s->seq, "raw_bytes",
                              (json_int_t)s->raw_bytes);
        json_array_append_new(streams, e);
        cp_buf dir = {0};
        cp_buf_printf(&dir, "%s/%s", w->outdir, s->subdir);
        if (s->fp && (fflush(s->fp) || fsync(fileno(s->fp)))) {
            snprintf(err, errlen, "%s: write failed: %s", s->tmp_path, strerror(errno));
            rc = -1;
        } else if (s->fp) {
            json_object_set_new(e, "length", json_integer((json_int_t)ftello(s->fp)));
        }
        if (!rc && cp_fsync_dir(dir.data)) { /* the renames of the shards completed since the last checkpoint */
            snprintf(err, errlen, "%s: cannot sync folder: %s", dir.data, strerror(errno));
            rc = -1;
        }
        cp_buf_free(&dir);
    }
    if (rc) {
        json_decref(streams);
        return -1;
    }
    *state = json_pack("{sIsIso}", "bytes", (json_int_t)w->bytes, "shards", (json_int_t)w->shards, "streams",
                       streams);
    return 0;
}

static stream_t *find_stream(cp_writer *w, const char *subdir)
{
    for (size_t i = 0; i < w->n_streams; i++)
        if (!strcmp(w->streams[i].subdir, subdir))
            return &w->streams[i];
    return NULL;
}

/* Removes the shards of folder dir (subdir of OUTDIR) that the checkpoint does not list as complete: every
 * .tmp but the ones to go on with, and every shard numbered from its stream's current number on. */
static int remove_newer(cp_writer *w, const char *subdir, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    stream_t *s = find_stream(w, subdir);
    const char *suf = suffix(w->compress);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        int rank, n = 0;
        unsigned seq;
        if (sscanf(e->d_name, "part-%d-%u%n", &rank, &seq, &n) != 2 || rank != w->rank || strncmp(e->d_name + n, suf, strlen(suf)))
            continue;
        const char *rest = e->d_name + n + strlen(suf);
        int is_tmp = !strcmp(rest, ".tmp");
        if (*rest && !is_tmp)
            continue;
        if (s && seq < s->seq && !is_tmp)
            continue; /* complete before the checkpoint */
        if (s && seq == s->seq && s->tmp_path)
            continue; /* the open shard: open_stream cuts it back */
        if (remove_in(dir, e->d_name, err, errlen))
            rc = -1;
    }
    closedir(d);
    return rc;
}

int cp_writer_resume(cp_writer *w, const json_t *state, char *err, size_t errlen)
{
    json_int_t bytes, shards;
    json_t *streams, *e;
    size_t i;
    if (json_unpack((json_t *)state, "{sIsIso}", "bytes", &bytes, "shards", &shards, "streams", &streams) ||
        !json_is_array(streams)) {
        snprintf(err, errlen, "checkpoint: writer state damaged");
        return -1;
    }
    w->bytes = (uint64_t)bytes;
    w->shards = (uint64_t)shards;
    int64_t *lengths = cp_xcalloc(json_array_size(streams) + 1, sizeof *lengths);
    json_array_foreach(streams, i, e) {
        const char *subdir;
        json_int_t seq, raw;
        json_t *len = json_object_get(e, "length");
        if (json_unpack(e, "{sssIsI}", "subdir", &subdir, "seq", &seq, "raw_bytes", &raw) ||
            strchr(subdir, '/') || !strcmp(subdir, "..")) {
            snprintf(err, errlen, "checkpoint: writer state damaged");
            free(lengths);
            return -1;
        }
        w->streams = cp_xrealloc(w->streams, (w->n_streams + 1) * sizeof *w->streams);
        stream_t *s = &w->streams[w->n_streams++];
        memset(s, 0, sizeof *s);
        s->subdir = cp_xstrdup(subdir);
        s->seq = (unsigned)seq;
        s->raw_bytes = (uint64_t)raw;
        lengths[i] = len ? (int64_t)json_integer_value(len) : -1;
        if (len)
            s->tmp_path = cp_xstrdup(""); /* marks the open shard for remove_newer */
    }
    int rc = remove_newer(w, "", w->outdir, err, errlen);
    DIR *d = rc ? NULL : opendir(w->outdir);
    struct dirent *de;
    while (d && !rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, CP_CHECKPOINT_DIR))
            continue;
        cp_buf p = {0};
        cp_buf_printf(&p, "%s/%s", w->outdir, de->d_name);
        struct stat sb;
        if (lstat(p.data, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = remove_newer(w, de->d_name, p.data, err, errlen);
        cp_buf_free(&p);
    }
    if (d)
        closedir(d);
    for (size_t k = 0; k < w->n_streams && !rc; k++) {
        stream_t *s = &w->streams[k];
        free(s->tmp_path);
        s->tmp_path = NULL;
        if (lengths[k] >= 0)
            rc = open_stream(w, s, lengths[k], err, errlen);
    }
    free(lengths);
    return rc;
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
