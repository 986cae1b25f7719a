/* Helpers for the end-to-end tests (see cli_util.h). */
#include "cli_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

char *tmp_dir(void)
{
    char t[] = "/tmp/cp-test-XXXXXX";
    if (!mkdtemp(t))
        abort();
    chmod(t, 0755);
    return strdup(t);
}

void rm_rf(const char *path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "rm -rf %s failed\n", path);
}

char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static char **tmp_strings;
static size_t n_tmp_strings;

const char *P(const char *a, const char *b)
{
    tmp_strings = realloc(tmp_strings, (n_tmp_strings + 1) * sizeof *tmp_strings);
    return tmp_strings[n_tmp_strings++] = path_join(a, b);
}

void tmp_strings_free(void)
{
    for (size_t i = 0; i < n_tmp_strings; i++)
        free(tmp_strings[i]);
    free(tmp_strings);
    tmp_strings = NULL;
    n_tmp_strings = 0;
}

int cli_fx_setup(void **state)
{
    cli_fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = tmp_dir();
    f->in = path_join(f->dir, "in");
    f->out = path_join(f->dir, "out");
    *state = f;
    return mkdir(f->in, 0755);
}

int cli_fx_teardown(void **state)
{
    cli_fx *f = *state;
    tmp_strings_free();
    if (f) {
        rm_rf(f->dir);
        free(f->dir);
        free(f->in);
        free(f->out);
        free(f);
    }
    *state = NULL;
    return 0;
}

void write_file(const char *path, const char *data, size_t n, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
            abort();
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f))
        abort();
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, cap = 1 << 16, k;
    char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - 1 - n, f)) > 0)
        if ((n += k) == cap - 1 && !(b = realloc(b, cap *= 2)))
            abort();
    int bad = !b || ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

void gzip_member(cp_buf *out, const void *data, size_t n, int level)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t bound = deflateBound(&zs, n);
    cp_buf_reserve(out, bound);
    zs.next_in = (unsigned char *)data;
    zs.avail_in = (uInt)n;
    zs.next_out = (unsigned char *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    out->len += zs.total_out;
    deflateEnd(&zs);
}

int run_cli(const char *const *args, const char *stdin_path, char **err_out)
{
    const char *bin = getenv("CP_BIN") ? getenv("CP_BIN") : "build/corpusprep";
    char errpath[] = "/tmp/cp-test-stderr-XXXXXX";
    int efd = mkstemp(errpath);
    pid_t pid = fork();
    if (pid == 0) {
        if (stdin_path) {
            int fd = open(stdin_path, O_RDONLY);
            dup2(fd, 0);
        }
        dup2(efd, 2);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        size_t n = 0;
        while (args[n])
            n++;
        char **argv = calloc(n + 2, sizeof *argv);
        argv[0] = (char *)bin;
        for (size_t i = 0; i < n; i++)
            argv[i + 1] = (char *)args[i];
        execv(bin, argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (err_out) {
        FILE *f = fopen(errpath, "rb");
        char *buf = calloc(1, 1 << 20);
        size_t r = fread(buf, 1, (1 << 20) - 1, f);
        buf[r] = 0;
        fclose(f);
        *err_out = buf;
    }
    close(efd);
    unlink(errpath);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists shard files below dir in sorted order. */
static void list_shards(const char *dir, int skip_rejected, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (k + 1) * sizeof *names);
        names[k++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < k; i++) {
        char *p = path_join(dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!(skip_rejected && !strcmp(names[i], "rejected")))
                list_shards(p, skip_rejected, out, n);
            free(p);
        } else if (!ends_with(p, ".tmp") && (ends_with(p, ".jsonl") || ends_with(p, ".jsonl.gz") ||
                                             ends_with(p, ".jsonl.zst"))) {
            *out = realloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = p;
        } else {
            free(p);
        }
        free(names[i]);
    }
    free(names);
}

static char *read_shard(const char *p, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (ends_with(p, ".zst")) {
        FILE *f = fopen(p, "rb");
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *in = malloc((size_t)sz + 1);
        if (fread(in, 1, (size_t)sz, f) != (size_t)sz)
            abort();
        fclose(f);
        ZSTD_DStream *ds = ZSTD_createDStream();
        ZSTD_initDStream(ds);
        ZSTD_inBuffer ib = {in, (size_t)sz, 0};
        while (ib.pos < ib.size) {
            if (cap - n < 65536) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
            ZSTD_outBuffer ob = {buf + n, cap - n, 0};
            size_t r = ZSTD_decompressStream(ds, &ob, &ib);
            if (ZSTD_isError(r))
                abort();
            n += ob.pos;
        }
        ZSTD_freeDStream(ds);
        free(in);
    } else {
        gzFile g = gzopen(p, "rb");
        int r;
        for (;;) {
            if (cap - n < 65536) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
            r = gzread(g, buf + n, (unsigned)(cap - n - 1));
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        gzclose(g);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

char *read_all_shards(const char *dir, size_t *len)
{
    char **paths = NULL;
    size_t np = 0, n = 0;
    list_shards(dir, 0, &paths, &np);
    char *all = calloc(1, 1);
    for (size_t i = 0; i < np; i++) {
        size_t l;
        char *s = read_shard(paths[i], &l);
        all = realloc(all, n + l + 1);
        memcpy(all + n, s, l);
        n += l;
        all[n] = 0;
        free(s);
        free(paths[i]);
    }
    free(paths);
    *len = n;
    return all;
}

json_t *read_records(const char *dir, int skip_rejected)
{
    char **paths = NULL;
    size_t np = 0;
    list_shards(dir, skip_rejected, &paths, &np);
    json_t *arr = json_array();
    for (size_t i = 0; i < np; i++) {
        size_t l;
        char *s = read_shard(paths[i], &l);
        char *line = s;
        while (*line) {
            char *nl = strchr(line, '\n');
            size_t ll = nl ? (size_t)(nl - line) : strlen(line);
            json_error_t e;
            json_t *j = json_loadb(line, ll, JSON_ALLOW_NUL, &e); /* an id may hold "\u0000" */
            if (!j) {
                fprintf(stderr, "bad JSON in %s: %s\n", paths[i], e.text);
                abort();
            }
            json_array_append_new(arr, j);
            if (!nl)
                break;
            line = nl + 1;
        }
        free(s);
        free(paths[i]);
    }
    free(paths);
    return arr;
}

json_t *read_stats(const char *dir)
{
    char *p = path_join(dir, "stats.json");
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    return j;
}

int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = path_join(dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_files(p, suffix);
        else if (ends_with(e->d_name, suffix))
            n++;
        free(p);
    }
    closedir(d);
    return n;
}

const char *shared_dir(void)
{
    const char *s = getenv("CP_SHARED") ? getenv("CP_SHARED") : "../shared";
    struct stat st;
    char *p = path_join(s, "data");
    int ok = stat(p, &st) == 0;
    free(p);
    return ok ? s : NULL;
}

json_t *find_by_id(json_t *records, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        json_t *v = json_object_get(r, "id");
        if (json_is_string(v) && !strcmp(json_string_value(v), id))
            return r;
    }
    return NULL;
}

int invariant_holds(json_t *stats)
{
    json_int_t in = json_integer_value(json_object_get(stats, "docs_in"));
    json_int_t kept = json_integer_value(json_object_get(stats, "docs_kept"));
    json_int_t rej = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(stats, "docs_rejected"), k, v) rej += json_integer_value(v);
    return in == kept + rej;
}

int check_report_html(const char *outdir, const char *name)
{
    char cmd[8192], shots[4096] = "";
    if (getenv("CP_REPORT_SHOTS"))
        snprintf(shots, sizeof shots, " '%s/%s'", getenv("CP_REPORT_SHOTS"), name);
    snprintf(cmd, sizeof cmd, "python3 tests/report/check_html.py '%s/report.html'%s", outdir, shots);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

const char *lid_model(void)
{
    const char *m = getenv("CP_LID_MODEL") ? getenv("CP_LID_MODEL") : "build/models/lid.176.ftz";
    if (access(m, R_OK) == 0)
        return m;
    fprintf(stderr, "skipped: no fastText model at %s (`make model` fetches it with npm)\n", m);
    return NULL;
}

int have_fasttext_cli(void)
{
    if (system("fasttext >/dev/null 2>&1 </dev/null; test $? -ne 127") == 0)
        return 1;
    fprintf(stderr, "skipped: the fasttext CLI is not installed (Debian package fasttext)\n");
    return 0;
}
