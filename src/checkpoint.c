/* Checkpoints: OUTDIR/_checkpoint/ckpt-NNNNNN, one file each, written whole at a batch boundary.
 *
 * Layout: the magic "CPCKPT01"; a JSON header (length-prefixed) with the fingerprint, the input position,
 * the scalar state, the counters (cp_stats_state_to_json) and the writer's shards (cp_writer_checkpoint);
 * then the tables in binary, each written by its own module (cp_keymap_save, cp_lsh_save) plus the dup_of
 * ids and the per-thread counter sums; then XXH3-64 of everything before it and the end mark "CPCKEND1".
 * A load checks the checksum over the whole file before it reads anything, so a torn or damaged file is
 * never half-applied.
 *
 * Durability: the shards' open .tmp files are flushed and fsync'd first (the lengths recorded are on
 * disk), then the checkpoint goes to ckpt-N.tmp, is fsync'd, renamed, and the folder fsync'd. Only then are
 * older checkpoints removed, keeping the previous complete one as a spare: if the newest is found damaged,
 * the one before it still matches the shards (they only grow, and a resume cuts them back).
 *
 * Why whole snapshots and not a log: the tables are hash tables whose slots move (Robin Hood, growth), and
 * a snapshot is simple to check and to load. Its cost grows with the tables, which is why the default
 * interval is a time (see README, "Long runs"). */
#include "corpusprep/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "CPCKPT01"
#define END_MARK "CPCKEND1"
#define KEEP 2 /* the newest checkpoint and the previous one */
/* The scalar fields of cp_ckpt_state kept in the header: one list, so save and load cannot drift apart. */
#define CKPT_SCALARS(X) X(input_bytes) X(n_ids) X(line_drops) X(line_drop_bytes) X(first_batch_compressed) \
    X(failed_input) X(line_utf8_fixes)

struct cp_ckpt_out {
    FILE *fp;
    XXH3_state_t *h;
    int err;    /* errno of the first failure, or 0 */
    uint64_t n;
};

struct cp_ckpt_in {
    FILE *fp;
};

int cp_ckpt_put(cp_ckpt_out *o, const void *p, size_t n)
{
    if (o->err)
        return -1;
    if (n && fwrite(p, 1, n, o->fp) != n) {
        o->err = errno ? errno : EIO;
        return -1;
    }
    XXH3_64bits_update(o->h, p, n);
    o->n += n;
    return 0;
}

int cp_ckpt_get(cp_ckpt_in *in, void *p, size_t n)
{
    return n && fread(p, 1, n, in->fp) != n ? -1 : 0;
}

/* ---- the fingerprint ---------------------------------------------------------------------------- */

/* Hash of the running executable: a rebuilt corpusprep may decide differently, so it may not go on with a
 * run an older build started. */
static const char *build_id(void)
{
    static char id[17];
    const char *forced = getenv("CP_TEST_BUILD_ID"); /* tests only */
    if (forced)
        return forced;
    if (id[0])
        return id;
    XXH3_state_t *h = XXH3_createState();
    XXH3_64bits_reset(h);
    FILE *fp = fopen("/proc/self/exe", "rb");
    char buf[1 << 16];
    size_t n;
    while (fp && (n = fread(buf, 1, sizeof buf, fp)) > 0)
        XXH3_64bits_update(h, buf, n);
    if (fp)
        fclose(fp);
    snprintf(id, sizeof id, "%016llx", (unsigned long long)XXH3_64bits_digest(h));
    XXH3_freeState(h);
    return id;
}

/* A copy of the configuration without comments ("_" keys) and without the settings that cannot change the
 * output: a resumed run may use another number of threads. */
static json_t *config_for_fingerprint(const json_t *c)
{
    if (!json_is_object(c))
        return json_deep_copy(c);
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c, k, v) {
        if (k[0] != '_')
            json_object_set_new(o, k, config_for_fingerprint(v));
    }
    json_t *run = json_object_get(o, "run");
    if (json_is_object(run))
        json_object_del(run, "threads");
    return o;
}

json_t *cp_ckpt_fingerprint(const json_t *config, char *const *files, size_t nfiles, const char *version)
{
    json_t *inputs = json_array();
    for (size_t i = 0; i < nfiles; i++) {
        struct stat sb;
        int ok = stat(files[i], &sb) == 0;
        json_array_append_new(
            inputs, json_pack("{sssIsI}", "path", files[i], "size", ok ? (json_int_t)sb.st_size : (json_int_t)-1,
                              "mtime_ns",
                              ok ? (json_int_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec : (json_int_t)-1));
    }
    return json_pack("{sssssoso}", "version", version, "build", build_id(), "config",
                     config_for_fingerprint(config), "inputs", inputs);
}

/* Describes the first difference between a (the checkpoint's) and b (now) below path, into msg. */
static int json_diff(const json_t *a, const json_t *b, const char *path, char *msg, size_t len)
{
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        char sub[512];
        json_object_foreach((json_t *)a, k, v) {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            if (json_diff(v, json_object_get(b, k), sub, msg, len))
                return 1;
        }
        json_object_foreach((json_t *)b, k, v) {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            if (!json_object_get(a, k))
                return json_diff(NULL, v, sub, msg, len);
        }
        return 0;
    }
    if (a && b && json_equal((json_t *)a, (json_t *)b))
        return 0;
    char *x = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *y = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    snprintf(msg, len, "%s is %.200s in the checkpoint but %.200s now", path, x ? x : "absent", y ? y : "absent");
    free(x);
    free(y);
    return 1;
}

/* What differs between the checkpoint's fingerprint and this run's, as a sentence; 0 when nothing does. */
static int fingerprint_differs(const json_t *saved, const json_t *now, char *msg, size_t len)
{
    const char *sv = json_string_value(json_object_get(saved, "version"));
    const char *sb = json_string_value(json_object_get(saved, "build"));
    const char *nv = json_string_value(json_object_get(now, "version"));
    const char *nb = json_string_value(json_object_get(now, "build"));
    if (!sv || !sb || strcmp(sv, nv) || strcmp(sb, nb)) {
        snprintf(msg, len, "the checkpoint was written by another corpusprep build (%s, build %s; this is %s, build "
                 "%s)", sv ? sv : "?", sb ? sb : "?", nv, nb);
        return 1;
    }
    char d[1024];
    if (json_diff(json_object_get(saved, "config"), json_object_get(now, "config"), "", d, sizeof d)) {
        snprintf(msg, len, "the configuration changed: %s", d);
        return 1;
    }
    json_t *si = json_object_get(saved, "inputs"), *ni = json_object_get(now, "inputs");
    if (json_array_size(si) != json_array_size(ni)) {
        snprintf(msg, len, "the input changed: %zu files in the checkpoint, %zu now", json_array_size(si),
                 json_array_size(ni));
        return 1;
    }
    for (size_t i = 0; i < json_array_size(si); i++) {
        json_t *a = json_array_get(si, i), *b = json_array_get(ni, i);
        const char *pa = json_string_value(json_object_get(a, "path")), *pb = json_string_value(json_object_get(b, "path"));
        if (!pa || strcmp(pa, pb)) {
            snprintf(msg, len, "the input changed: file %zu is %s in the checkpoint but %s now", i + 1, pa ? pa : "?", pb);
            return 1;
        }
        if (!json_equal(json_object_get(a, "size"), json_object_get(b, "size")) ||
            !json_equal(json_object_get(a, "mtime_ns"), json_object_get(b, "mtime_ns"))) {
            snprintf(msg, len, "the input changed: %s has size %lld and mtime %lld ns in the checkpoint but %lld and "
                     "%lld now", pb, (long long)json_integer_value(json_object_get(a, "size")),
                     (long long)json_integer_value(json_object_get(a, "mtime_ns")),
                     (long long)json_integer_value(json_object_get(b, "size")),
                     (long long)json_integer_value(json_object_get(b, "mtime_ns")));
            return 1;
        }
    }
    return 0;
}

/* ---- the folder ----------------------------------------------------------------------------------- */

struct cp_checkpointer {
    char *outdir, *dir;
    json_t *fingerprint;
    unsigned next;    /* number of the next checkpoint */
    long prev;        /* number of the newest complete checkpoint this run wrote or loaded, or -1 */
};

static int cmp_unsigned_desc(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Numbers of the complete checkpoints in dir, newest first; with remove_tmp, partial ones are removed. */
static unsigned *list_checkpoints(const char *dir, size_t *n, int remove_tmp)
{
    unsigned *v = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned num;
        int end = 0;
        if (sscanf(e->d_name, "ckpt-%u%n", &num, &end) != 1)
            continue;
        if (!strcmp(e->d_name + end, ".tmp")) {
            if (remove_tmp) {
                cp_buf p = {0};
                cp_buf_printf(&p, "%s/%s", dir, e->d_name);
                unlink(p.data);
                cp_buf_free(&p);
            }
            continue;
        }
        if (e->d_name[end])
            continue;
        v = cp_xrealloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = num;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_unsigned_desc);
    return v;
}

static char *ckpt_path(const cp_checkpointer *c, unsigned num, const char *suffix)
{
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/ckpt-%06u%s", c->dir, num, suffix);
    return p.data;
}

cp_checkpointer *cp_checkpointer_create(const char *outdir, json_t *fingerprint)
{
    cp_checkpointer *c = cp_xcalloc(1, sizeof *c);
    c->outdir = cp_xstrdup(outdir);
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/" CP_CHECKPOINT_DIR, outdir);
    c->dir = p.data;
    c->fingerprint = fingerprint;
    c->prev = -1;
    size_t n;
    unsigned *v = list_checkpoints(c->dir, &n, 0);
    c->next = n ? v[0] + 1 : 1;
    free(v);
    return c;
}

void cp_checkpointer_destroy(cp_checkpointer *c)
{
    if (!c)
        return;
    json_decref(c->fingerprint);
    free(c->outdir);
    free(c->dir);
    free(c);
}

int cp_checkpoint_remove_all(const char *outdir)
{
    cp_buf p = {0};
    cp_buf_printf(&p, "%s/" CP_CHECKPOINT_DIR, outdir);
    DIR *d = opendir(p.data);
    int rc = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "ckpt-", 5))
                continue;
            cp_buf f = {0};
            cp_buf_printf(&f, "%s/%s", p.data, e->d_name);
            if (unlink(f.data) && errno != ENOENT)
                rc = -1;
            cp_buf_free(&f);
        }
        closedir(d);
        if (rmdir(p.data) && errno != ENOENT)
            rc = -1;
    }
    cp_buf_free(&p);
    return rc;
}

void cp_test_kill_point(const char *event)
{
    static int ready;
    static char want[64];
    static long at, seen;
    if (!ready) {
        ready = 1;
        const char *e = getenv("CP_TEST_KILL_AT"), *colon = e ? strrchr(e, ':') : NULL;
        if (colon && colon - e < (long)sizeof want) {
            memcpy(want, e, (size_t)(colon - e));
            at = atol(colon + 1);
        }
    }
    if (at && !strcmp(want, event) && ++seen == at)
        raise(SIGKILL);
}

/* ---- save ----------------------------------------------------------------------------------------- */

static json_t *pos_json(const cp_input_pos *p)
{
    return json_pack("[IIIIII]", (json_int_t)p->file, (json_int_t)p->line, (json_int_t)p->offset, (json_int_t)p->seq,
                     (json_int_t)p->batch, (json_int_t)p->done_compressed);
}

static json_t *header_json(const cp_checkpointer *c, const cp_ckpt_state *s, const cp_stats *st, json_t *writer)
{
    json_t *h = json_object();
    json_object_set(h, "fingerprint", c->fingerprint);
    json_object_set_new(h, "pass", json_integer(s->pass));
    json_object_set_new(h, "pos", pos_json(&s->pos));
#define U(name) json_object_set_new(h, #name, json_integer((json_int_t)s->name));
    CKPT_SCALARS(U)
#undef U
    json_t *m = json_array(), *t = json_array();
    for (int k = 0; k < 8; k++)
        json_array_append_new(m, json_integer((json_int_t)s->messages[k]));
    for (int k = 0; k < CP_T_N; k++)
        json_array_append_new(t, json_real(s->stage_seconds[k]));
    json_object_set_new(h, "messages", m);
    json_object_set_new(h, "dolma_added", json_string(s->dolma_added));
    if (s->report)
        json_object_set(h, "report", s->report);
    json_object_set_new(h, "thread_stage_seconds", t);
    json_object_set_new(h, "stats", cp_stats_state_to_json(st));
    json_object_set_new(h, "writer", writer);
    return h;
}

static int put_u64(cp_ckpt_out *o, uint64_t v) { return cp_ckpt_put(o, &v, sizeof v); }

/* Present tables: one bit each, so a loader knows what follows. */
enum { HAS_EXACT = 1, HAS_URL = 2, HAS_LINES = 4, HAS_LSH = 8 };

static int write_body(cp_ckpt_out *o, const cp_ckpt_state *s, const char *header)
{
    size_t hl = strlen(header);
    uint32_t has = (s->exact ? HAS_EXACT : 0) | (s->url ? HAS_URL : 0) | (s->lines ? HAS_LINES : 0) |
                   (s->lsh ? HAS_LSH : 0);
    cp_ckpt_put(o, MAGIC, 8);
    put_u64(o, hl);
    cp_ckpt_put(o, header, hl);
    cp_ckpt_put(o, &has, sizeof has);
    cp_test_kill_point("ckpt-write");
    if (s->exact)
        cp_keymap_save(s->exact, o);
    if (s->url)
        cp_keymap_save(s->url, o);
    if (s->lines)
        cp_keymap_save(s->lines, o);
    if (s->lsh)
        cp_lsh_save(s->lsh, o);
    put_u64(o, s->ids.len);
    put_u64(o, s->ids.cap);
    cp_ckpt_put(o, s->ids.data, s->ids.len);
    put_u64(o, s->n_id_off);
    put_u64(o, s->cap_ids);
    cp_ckpt_put(o, s->id_off, s->n_id_off * sizeof *s->id_off);
    put_u64(o, s->n_near);
    cp_ckpt_put(o, s->near_of, s->n_near * sizeof *s->near_of);
    cp_ckpt_put(o, &s->clean, sizeof s->clean);
    cp_ckpt_put(o, &s->nc, sizeof s->nc);
    if (o->err)
        return -1;
    uint64_t sum = XXH3_64bits_digest(o->h);
    return put_u64(o, sum) || cp_ckpt_put(o, END_MARK, 8) ? -1 : 0;
}

int cp_checkpoint_save(cp_checkpointer *c, const cp_ckpt_state *s, const cp_stats *st, cp_writer *w, char *err,
                       size_t errlen)
{
    json_t *writer;
    if (cp_writer_checkpoint(w, &writer, err, errlen))
        return -1;
    json_t *h = header_json(c, s, st, writer);
    char *header = json_dumps(h, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(h);
    if (mkdir(c->dir, 0777) && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create folder: %s", c->dir, strerror(errno));
        free(header);
        return -1;
    }
    unsigned num = c->next++;
    char *tmp = ckpt_path(c, num, ".tmp"), *final = ckpt_path(c, num, "");
    cp_ckpt_out o = {0};
    o.fp = fopen(tmp, "wb");
    int rc = -1;
    if (!o.fp) {
        snprintf(err, errlen, "%s: cannot create checkpoint: %s", tmp, strerror(errno));
    } else {
        o.h = XXH3_createState();
        XXH3_64bits_reset(o.h);
        setvbuf(o.fp, NULL, _IOFBF, 1 << 20);
        int bad = write_body(&o, s, header) || fflush(o.fp) || fsync(fileno(o.fp));
        int e = o.err ? o.err : errno;
        if (fclose(o.fp) && !bad) {
            bad = 1;
            e = errno;
        }
        XXH3_freeState(o.h);
        if (bad) {
            snprintf(err, errlen, "%s: cannot write checkpoint: %s (the previous checkpoint is kept)", tmp,
                     strerror(e ? e : EIO));
            unlink(tmp);
        } else if (rename(tmp, final) || cp_fsync_dir(c->dir)) {
            snprintf(err, errlen, "%s: cannot rename checkpoint: %s", tmp, strerror(errno));
            unlink(tmp);
        } else {
            rc = 0;
        }
    }
    free(header);
    if (!rc) {
        cp_test_kill_point("ckpt-done");
        /* keep this one and the previous complete one; everything else goes (older ones, damaged newer ones) */
        size_t n;
        unsigned *v = list_checkpoints(c->dir, &n, 1);
        for (size_t i = 0; i < n; i++)
            if (v[i] != num && (long)v[i] != c->prev) {
                char *p = ckpt_path(c, v[i], "");
                unlink(p);
                free(p);
            }
        free(v);
        c->prev = num;
    }
    free(tmp);
    free(final);
    return rc;
}

/* ---- load ----------------------------------------------------------------------------------------- */

/* Checks the end mark and the checksum over the whole file. Returns NULL when sound, else why not. */
static const char *verify(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return "cannot be opened";
    struct stat sb;
    const char *why = NULL;
    if (fstat(fileno(fp), &sb) || sb.st_size < 8 + 8 + 4 + 16) {
        fclose(fp);
        return "truncated";
    }
    uint64_t body = (uint64_t)sb.st_size - 16;
    XXH3_state_t *h = XXH3_createState();
    XXH3_64bits_reset(h);
    char buf[1 << 16];
    for (uint64_t done = 0; done < body && !why;) {
        size_t want = body - done < sizeof buf ? (size_t)(body - done) : sizeof buf;
        if (fread(buf, 1, want, fp) != want)
            why = "unreadable";
        else if (!done && memcmp(buf, MAGIC, 8))
            why = "not a corpusprep checkpoint of this format";
        XXH3_64bits_update(h, buf, want);
        done += want;
    }
    uint64_t sum;
    char end[8];
    if (!why && (fread(&sum, 1, 8, fp) != 8 || fread(end, 1, 8, fp) != 8 || memcmp(end, END_MARK, 8)))
        why = "truncated (no end mark)";
    else if (!why && sum != XXH3_64bits_digest(h))
        why = "damaged (checksum mismatch)";
    XXH3_freeState(h);
    fclose(fp);
    return why;
}

static uint64_t get_u64(cp_ckpt_in *in, int *bad)
{
    uint64_t v = 0;
    if (cp_ckpt_get(in, &v, sizeof v))
        *bad = 1;
    return v;
}

static int read_pos(const json_t *a, cp_input_pos *p)
{
    json_int_t v[6];
    if (json_unpack((json_t *)a, "[IIIIII]", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]))
        return -1;
    *p = (cp_input_pos){(uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2], (uint64_t)v[3], (uint64_t)v[4],
                        (uint64_t)v[5]};
    return 0;
}

/* Reads a verified checkpoint. Returns 0; -2 when the fingerprint differs; -3 when its content is not what
 * this build writes (nothing changed yet); -1 when the shards could not be taken back (cp_writer_resume). */
static int read_checkpoint(cp_checkpointer *c, const char *path, cp_ckpt_state *s, cp_stats *st, cp_writer *w,
                           char *err, size_t errlen)
{
    cp_ckpt_in in = {fopen(path, "rb")};
    if (!in.fp) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int bad = 0, rc = -3;
    char magic[8];
    json_t *h = NULL;
    cp_ckpt_get(&in, magic, 8);
    uint64_t hl = get_u64(&in, &bad);
    char *text = bad || hl > ((uint64_t)1 << 32) ? NULL : cp_xmalloc((size_t)hl + 1);
    if (text && !cp_ckpt_get(&in, text, (size_t)hl))
        h = json_loadb(text, (size_t)hl, JSON_ALLOW_NUL, NULL); /* the report's examples: ids may hold \u0000 */
    free(text);
    char what[1536];
    json_int_t pass = 0;
    if (!h || !json_is_object(json_object_get(h, "fingerprint"))) {
        snprintf(err, errlen, "%s: header damaged", path);
    } else if (fingerprint_differs(json_object_get(h, "fingerprint"), c->fingerprint, what, sizeof what)) {
        snprintf(err, errlen, "cannot resume the run in %s: %s (use --force to start again)", c->outdir, what);
        rc = -2;
    } else if (json_unpack(h, "{sI}", "pass", &pass) || read_pos(json_object_get(h, "pos"), &s->pos)) {
        snprintf(err, errlen, "%s: header damaged", path);
    } else {
        s->pass = (int)pass;
#define U(name) s->name = (__typeof__(s->name))json_integer_value(json_object_get(h, #name));
        CKPT_SCALARS(U)
#undef U
        s->report = json_incref(json_object_get(h, "report"));
        snprintf(s->dolma_added, sizeof s->dolma_added, "%s",
                 json_string_value(json_object_get(h, "dolma_added")) ? json_string_value(json_object_get(h, "dolma_added")) : "");
        for (int k = 0; k < 8; k++)
            s->messages[k] = (uint64_t)json_integer_value(json_array_get(json_object_get(h, "messages"), (size_t)k));
        for (int k = 0; k < CP_T_N; k++)
            s->stage_seconds[k] =
                json_number_value(json_array_get(json_object_get(h, "thread_stage_seconds"), (size_t)k));
        uint32_t has = 0;
        bad |= cp_ckpt_get(&in, &has, sizeof has);
        if (!bad && (has & HAS_EXACT) && !(s->exact = cp_keymap_load(&in)))
            bad = 1;
        if (!bad && (has & HAS_URL) && !(s->url = cp_keymap_load(&in)))
            bad = 1;
        if (!bad && (has & HAS_LINES) && !(s->lines = cp_keymap_load(&in)))
            bad = 1;
        if (!bad && (has & HAS_LSH) && !(s->lsh = cp_lsh_load(&in)))
            bad = 1;
        uint64_t len = get_u64(&in, &bad), cap = get_u64(&in, &bad);
        if (!bad && len < cap && cap < ((uint64_t)1 << 40)) {
            s->ids.data = cp_xmalloc((size_t)cap);
            s->ids.cap = (size_t)cap;
            s->ids.len = (size_t)len;
            bad |= cp_ckpt_get(&in, s->ids.data, (size_t)len);
            s->ids.data[len] = 0;
        } else if (len || cap) {
            bad = 1;
        }
        uint64_t n = get_u64(&in, &bad);
        cap = get_u64(&in, &bad);
        if (!bad && n <= cap && cap < ((uint64_t)1 << 36)) {
            s->n_id_off = (size_t)n;
            s->cap_ids = (size_t)cap;
            s->id_off = cap ? cp_xmalloc((size_t)cap * sizeof *s->id_off) : NULL;
            bad |= cp_ckpt_get(&in, s->id_off, (size_t)n * sizeof *s->id_off);
        } else {
            bad = 1;
        }
        n = get_u64(&in, &bad);
        if (!bad && n < ((uint64_t)1 << 36)) {
            s->n_near = (size_t)n;
            s->near_of = n ? cp_xmalloc((size_t)n * sizeof *s->near_of) : NULL;
            bad |= cp_ckpt_get(&in, s->near_of, (size_t)n * sizeof *s->near_of);
        } else {
            bad = 1;
        }
        bad |= cp_ckpt_get(&in, &s->clean, sizeof s->clean);
        bad |= cp_ckpt_get(&in, &s->nc, sizeof s->nc);
        if (bad)
            snprintf(err, errlen, "%s: tables damaged", path);
        else if (cp_stats_state_from_json(st, json_object_get(h, "stats"), what, sizeof what))
            snprintf(err, errlen, "%s: %s", path, what);
        else
            rc = cp_writer_resume(w, json_object_get(h, "writer"), err, errlen);
    }
    json_decref(h);
    fclose(in.fp);
    return rc;
}

int cp_checkpoint_load(cp_checkpointer *c, cp_ckpt_state *s, cp_stats *st, cp_writer *w, int quiet, char *err,
                       size_t errlen)
{
    size_t n;
    unsigned *v = list_checkpoints(c->dir, &n, 1);
    if (!n) {
        cp_buf p = {0};
        cp_buf_printf(&p, "%s/stats.json", c->outdir);
        struct stat sb;
        int finished = stat(p.data, &sb) == 0;
        cp_buf_free(&p);
        snprintf(err, errlen, "nothing to resume: %s holds no checkpoint (%s)", c->outdir,
                 finished ? "its run finished: stats.json is there" : "no " CP_CHECKPOINT_DIR "/ with a complete checkpoint");
        free(v);
        return -2;
    }
    int rc = -2, tried = 0;
    cp_buf why = {0};
    for (size_t i = 0; i < n; i++) {
        char *path = ckpt_path(c, v[i], "");
        const char *bad = verify(path);
        if (bad) {
            cp_buf_printf(&why, "%s%s is %s", why.len ? "; " : "", path, bad);
            fprintf(stderr, "corpusprep: warning: checkpoint %s is %s%s\n", path, bad, /* even with -q */
                        i + 1 < n ? "; trying the previous one" : "");
            free(path);
            continue;
        }
        rc = read_checkpoint(c, path, s, st, w, err, errlen);
        tried = 1;
        free(path);
        if (!rc) {
            c->prev = v[i];
            if (!quiet)
                fprintf(stderr, "corpusprep: resuming from checkpoint %u (input file %llu, line %llu, %llu documents "
                        "done)\n", v[i], (unsigned long long)s->pos.file + 1, (unsigned long long)s->pos.line,
                        (unsigned long long)s->pos.seq);
        }
        break;
    }
    if (!tried)
        snprintf(err, errlen, "no usable checkpoint: %s", why.data);
    else if (rc == -3)
        rc = -2; /* refused like a missing one: nothing was changed */
    cp_buf_free(&why);
    c->next = v[0] + 1;
    free(v);
    return rc;
}

void cp_ckpt_state_free(cp_ckpt_state *s)
{
    cp_keymap_destroy(s->exact);
    cp_keymap_destroy(s->url);
    cp_keymap_destroy(s->lines);
    cp_lsh_destroy(s->lsh);
    cp_buf_free(&s->ids);
    free(s->id_off);
    free(s->near_of);
    json_decref(s->report);
    memset(s, 0, sizeof *s);
}
