/* rank_state: a cluster rank's decisions on disk (format in rank_state.h): "CPRANKST", version, fingerprint,
 * the figures as compact JSON, the arrays, then XXH3-64 of every byte before it. Host byte order: the file is
 * read back by the same build on the same kind of machine (the fingerprint names the build). */
#include "corpusprep/rank_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "corpusprep/util.h"

#define MAGIC "CPRANKST"
#define VERSION 1u

static void put_u64(cp_buf *b, uint64_t v)
{
    cp_buf_append(b, &v, sizeof v);
}

int cp_rank_state_save(const char *path, uint64_t fingerprint, const json_t *figures, const cp_rank_array *arrays,
                       size_t narrays, char *err, size_t errlen)
{
    cp_buf b = {0};
    cp_buf_append(&b, MAGIC, 8);
    put_u64(&b, VERSION);
    put_u64(&b, fingerprint);
    char *j = json_dumps(figures, JSON_COMPACT);
    put_u64(&b, j ? strlen(j) : 0);
    if (j)
        cp_buf_append(&b, j, strlen(j));
    free(j);
    put_u64(&b, narrays);
    for (size_t i = 0; i < narrays; i++) {
        put_u64(&b, arrays[i].bytes);
        if (arrays[i].bytes)
            cp_buf_append(&b, arrays[i].data, arrays[i].bytes);
    }
    put_u64(&b, XXH3_64bits(b.data, b.len));
    cp_buf tmp = {0};
    cp_buf_printf(&tmp, "%s.tmp", path);
    FILE *f = fopen(tmp.data, "wb");
    int rc = 0;
    if (!f || fwrite(b.data, 1, b.len, f) != b.len || fflush(f) || fsync(fileno(f))) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp.data, strerror(errno));
        rc = -1;
    }
    if (f && fclose(f) && !rc) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp.data, strerror(errno));
        rc = -1;
    }
    if (!rc && rename(tmp.data, path)) {
        snprintf(err, errlen, "%s: cannot rename: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc) {
        unlink(tmp.data);
    } else {
        /* the rename on disk too: the folder is the part of path before its last slash */
        cp_buf dir = {0};
        const char *slash = strrchr(path, '/');
        cp_buf_append(&dir, path, slash ? (size_t)(slash - path) : 0);
        cp_fsync_dir(slash ? dir.data : ".");
        cp_buf_free(&dir);
    }
    cp_buf_free(&tmp);
    cp_buf_free(&b);
    return rc;
}

int cp_rank_state_load(const char *path, uint64_t fingerprint, json_t **figures, cp_rank_array *arrays,
                       size_t narrays, char *err, size_t errlen)
{
    *figures = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    cp_buf b = {0};
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        cp_buf_append(&b, chunk, k);
    int read_error = ferror(f);
    fclose(f);
    const char *p = b.data, *end = b.data + b.len;
    uint64_t sum = 0, v = 0;
    int ok = !read_error && b.len >= 8 + 5 * 8 && !memcmp(p, MAGIC, 8);
    if (ok) {
        memcpy(&sum, end - 8, 8);
        ok = sum == XXH3_64bits(b.data, b.len - 8);
        end -= 8;
        p += 8;
    }
#define TAKE_U64(x)                                                                                            \
    do {                                                                                                       \
        if (ok && end - p >= 8) {                                                                              \
            memcpy(&(x), p, 8);                                                                                \
            p += 8;                                                                                            \
        } else {                                                                                               \
            ok = 0;                                                                                            \
        }                                                                                                      \
    } while (0)
    uint64_t version = 0, fp = 0, jlen = 0, n = 0;
    TAKE_U64(version);
    TAKE_U64(fp);
    if (ok && (version != VERSION || fp != fingerprint)) {
        snprintf(err, errlen, "%s: %s", path,
                 version != VERSION ? "written by another corpusprep version"
                                    : "belongs to another run (configuration, inputs, ranks or build differ)");
        cp_buf_free(&b);
        return -1;
    }
    TAKE_U64(jlen);
    json_t *j = NULL;
    if (ok && (uint64_t)(end - p) >= jlen) {
        json_error_t je;
        j = json_loadb(p, (size_t)jlen, 0, &je);
        p += jlen;
        ok = json_is_object(j);
    } else {
        ok = 0;
    }
    TAKE_U64(n);
    ok = ok && n == narrays;
    size_t got = 0;
    for (; ok && got < narrays; got++) {
        TAKE_U64(v);
        if (!ok || (uint64_t)(end - p) < v) {
            ok = 0;
            break;
        }
        arrays[got].bytes = (size_t)v;
        arrays[got].data = cp_xmalloc(v + 1);
        memcpy(arrays[got].data, p, v);
        p += v;
    }
#undef TAKE_U64
    ok = ok && p == end;
    cp_buf_free(&b);
    if (!ok) {
        for (size_t i = 0; i < got; i++) {
            free(arrays[i].data);
            arrays[i].data = NULL;
        }
        json_decref(j);
        snprintf(err, errlen, "%s: damaged or cut short", path);
        return -1;
    }
    *figures = j;
    return 0;
}
