/* Configuration: built-in defaults (configs/ compiled into the binary), an optional file, flags.
 * Only the pipeline's own sections are validated here; stage sections are validated by their stages. */
#include "corpusprep/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/dolma.h"
#include "corpusprep/langid.h"
#include "corpusprep/util.h"

struct cp_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct cp_embedded_file cp_embedded_files[];

/* Folder of the config file given with -c; set before threads start, read-only afterwards. */
static char *config_dir;

static const struct cp_embedded_file *embedded(const char *name)
{
    for (const struct cp_embedded_file *f = cp_embedded_files; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    cp_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        cp_buf_append(&b, tmp, n);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        cp_buf_free(&b);
        return NULL;
    }
    cp_buf_reserve(&b, 0);
    b.data[b.len] = 0;
    if (len)
        *len = b.len;
    return b.data;
}

char *cp_config_read(const char *relpath, size_t *len)
{
    if (config_dir) {
        cp_buf p = {0};
        cp_buf_printf(&p, "%s/%s", config_dir, relpath);
        char *s = read_whole(p.data, len);
        cp_buf_free(&p);
        if (s)
            return s;
    }
    const struct cp_embedded_file *f = embedded(relpath);
    if (!f)
        return NULL;
    if (len)
        *len = f->len;
    return cp_xstrndup((const char *)f->data, f->len);
}

static void merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v))
            merge(d, v);
        else
            json_object_set(dst, k, v);
    }
}

static json_t *load_text(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    json_error_t e;
    json_t *t = json_loadb(text, len, 0, &e);
    if (!t) {
        snprintf(err, errlen, "%s: line %d: %s", name, e.line, e.text);
        return NULL;
    }
    if (!json_is_object(t)) {
        snprintf(err, errlen, "%s: a configuration must be a JSON object", name);
        json_decref(t);
        return NULL;
    }
    return t;
}

static json_t *load_embedded(const char *name, char *err, size_t errlen)
{
    const struct cp_embedded_file *f = embedded(name);
    if (!f) {
        snprintf(err, errlen, "built-in configuration %s is missing", name);
        return NULL;
    }
    return load_text((const char *)f->data, f->len, name, err, errlen);
}

json_t *cp_config_defaults(char *err, size_t errlen)
{
    json_t *t = load_embedded("defaults.json", err, errlen);
    if (!t)
        return NULL;
    json_t *preset = embedded("news.json") ? load_embedded("news.json", err, errlen) : json_object();
    if (!preset) {
        json_decref(t);
        return NULL;
    }
    merge(t, preset);
    json_decref(preset);
    return t;
}

int cp_config_merge_file(json_t *tree, const char *name, char *err, size_t errlen)
{
    size_t len;
    char *text = read_whole(name, &len);
    json_t *t;
    if (text) {
        t = load_text(text, len, name, err, errlen);
        free(text);
        const char *slash = strrchr(name, '/');
        free(config_dir);
        config_dir = slash ? cp_xstrndup(name, (size_t)(slash - name)) : cp_xstrdup(".");
    } else {
        char preset[256];
        snprintf(preset, sizeof preset, "%s.json", name);
        if (errno != ENOENT || strchr(name, '/') || !embedded(preset)) {
            snprintf(err, errlen, "%s: %s (built-in presets: news, c4, gopher, fineweb)", name,
                     errno == ENOENT ? "no such file or preset" : strerror(errno));
            return -1;
        }
        t = load_embedded(preset, err, errlen);
    }
    if (!t)
        return -1;
    merge(tree, t);
    json_decref(t);
    return 0;
}

void cp_config_set(json_t *tree, const char *section, const char *key, json_t *value)
{
    json_t *s = json_object_get(tree, section);
    if (!json_is_object(s)) {
        s = json_object();
        json_object_set_new(tree, section, s);
    }
    json_object_set_new(s, key, value);
}

int cp_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -1;
    double mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    }
    if (*end == 'B' || *end == 'b' || *end == 'i')
        end++;
    if (*end)
        return -1;
    /* strtod also reads "inf", "nan" and 1e30, which do not convert to a 64-bit size (undefined) */
    if (!(v * mult < 18446744073709551616.0))
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

/* Typed getters: each checks the type and reports the path of a bad value. */
typedef struct {
    json_t *sec;
    const char *name;
    char *err;
    size_t errlen;
    int bad;
} sect_t;

static json_t *get(sect_t *s, const char *key)
{
    return s->sec ? json_object_get(s->sec, key) : NULL;
}

static void fail(sect_t *s, const char *key, const char *what)
{
    if (!s->bad)
        snprintf(s->err, s->errlen, "configuration: %s.%s must be %s", s->name, key, what);
    s->bad = 1;
}

static int get_bool(sect_t *s, const char *key, int def)
{
    json_t *v = get(s, key);
    if (!v)
        return def;
    if (!json_is_boolean(v))
        fail(s, key, "true or false");
    return json_is_true(v);
}

static double get_num(sect_t *s, const char *key, double def, double lo, double hi)
{
    json_t *v = get(s, key);
    if (!v)
        return def;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        char what[96];
        snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
        fail(s, key, what);
        return def;
    }
    return json_number_value(v);
}

static uint64_t get_size(sect_t *s, const char *key, uint64_t def, uint64_t lo)
{
    json_t *v = get(s, key);
    uint64_t r = def;
    if (!v)
        return def;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        r = (uint64_t)json_integer_value(v);
    else if (!json_is_string(v) || cp_parse_size(json_string_value(v), &r))
        fail(s, key, "a size such as 4096, \"64K\", \"256M\" or \"1G\"");
    if (r < lo) {
        char what[64];
        snprintf(what, sizeof what, "at least %llu bytes", (unsigned long long)lo);
        fail(s, key, what);
    }
    return r;
}

static const char *get_str(sect_t *s, const char *key, const char *def)
{
    json_t *v = get(s, key);
    if (!v)
        return def;
    if (!json_is_string(v)) {
        fail(s, key, "a string");
        return def;
    }
    return json_string_value(v);
}

static char **get_strlist(sect_t *s, const char *key, size_t *n)
{
    json_t *v = get(s, key);
    *n = 0;
    if (!v)
        return NULL;
    if (!json_is_array(v)) {
        fail(s, key, "a list of strings");
        return NULL;
    }
    char **list = cp_xcalloc(json_array_size(v) + 1, sizeof *list);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !json_string_length(e)) {
            fail(s, key, "a list of non-empty strings");
            continue;
        }
        list[(*n)++] = cp_xstrdup(json_string_value(e));
    }
    return list;
}

/* Unknown keys are almost always typos of real ones: refuse them rather than ignore a setting. */
static void check_keys(sect_t *s, const char *const *known)
{
    if (!s->sec)
        return;
    if (!json_is_object(s->sec)) {
        if (!s->bad)
            snprintf(s->err, s->errlen, "configuration: %s must be an object", s->name);
        s->bad = 1;
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(s->sec, k, v) {
        int ok = k[0] == '_'; /* "_about", "_source": comments */
        for (const char *const *p = known; *p && !ok; p++)
            ok = !strcmp(*p, k);
        if (!ok && !s->bad) {
            if (s->name[0] == '(')
                snprintf(s->err, s->errlen, "configuration: unknown section \"%s\"", k);
            else
                snprintf(s->err, s->errlen, "configuration: unknown setting %s.%s", s->name, k);
            s->bad = 1;
        }
    }
}

int cp_config_resolve(json_t *tree, cp_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->tree = tree;
    int bad = 0;
    static const char *const sections[] = {"about", "input", "langid", "dedup", "near_dedup", "output", "run", "clean",
                                            "filter", NULL};
    sect_t top = {tree, "(top level)", err, errlen, 0};
    check_keys(&top, sections);
    if (top.bad)
        return -1;
#define SECTION(var, nm) sect_t var = {json_object_get(tree, nm), nm, err, errlen, 0}
    SECTION(in, "input");
    static const char *const in_keys[] = {"text_fields", "max_line_bytes", "batch_bytes", NULL};
    check_keys(&in, in_keys);
    c->text_fields = get_strlist(&in, "text_fields", &c->n_text_fields);
    if (!in.bad && !c->n_text_fields)
        fail(&in, "text_fields", "a non-empty list of field names");
    c->max_line_bytes = get_size(&in, "max_line_bytes", 256u << 20, 1024);
    c->batch_bytes = get_size(&in, "batch_bytes", 4u << 20, 4096);
    bad |= in.bad;

    SECTION(li, "langid");
    static const char *const li_keys[] = {"sample_bytes", "keep_langs", "min_score", "backend", "model", NULL};
    check_keys(&li, li_keys);
    if (!bad) {
        c->langid_sample_bytes = (size_t)get_size(&li, "sample_bytes", 512, 0);
        const char *backend = get_str(&li, "backend", "cld2");
        const char *model = get_str(&li, "model", "");
        if (!strcmp(backend, "cld2")) {
            c->langid_backend = CP_LANGID_CLD2;
            if (*model)
                fail(&li, "model", "empty with backend \"cld2\" (a model is for backend \"fasttext\")");
        } else if (!strcmp(backend, "fasttext")) {
            c->langid_backend = CP_LANGID_FASTTEXT;
            c->langid_model = model;
            if (!li.bad && !*model)
                fail(&li, "model", "the path of a fastText model file (.bin or .ftz) with backend \"fasttext\"");
        } else {
            fail(&li, "backend", "\"cld2\" or \"fasttext\"");
        }
        c->keep_langs = get_strlist(&li, "keep_langs", &c->n_keep_langs);
        c->min_lang_score = get_num(&li, "min_score", 0, 0, 1);
        bad |= li.bad;
    }

    SECTION(dd, "dedup");
    static const char *const dd_keys[] = {"exact", "url", "dup_of", NULL};
    check_keys(&dd, dd_keys);
    if (!bad) {
        c->dedup_exact = get_bool(&dd, "exact", 1);
        c->dedup_url = get_bool(&dd, "url", 0);
        c->dup_of = get_bool(&dd, "dup_of", 1);
        bad |= dd.bad;
    }

    SECTION(nd, "near_dedup");
    static const char *const nd_keys[] = {"enabled", "bands", "rows", "ngram", "char_ngram", "seed", "shingles",
                                          "dup_of", NULL};
    check_keys(&nd, nd_keys);
    if (!bad) {
        c->near_dedup = get_bool(&nd, "enabled", 1);
        c->near_bands = (int)get_num(&nd, "bands", 14, 1, 1024);
        c->near_rows = (int)get_num(&nd, "rows", 8, 1, 64);
        c->near_ngram = (int)get_num(&nd, "ngram", 5, 1, 64);
        c->near_char_ngram = (int)get_num(&nd, "char_ngram", 5, 1, 64);
        c->near_dup_of = get_bool(&nd, "dup_of", 1);
        c->near_seed = (uint64_t)get_num(&nd, "seed", 1, 0, 9007199254740992.0);
        const char *sh = get_str(&nd, "shingles", "auto");
        if (!strcmp(sh, "auto"))
            c->near_shingle_mode = 0;
        else if (!strcmp(sh, "words"))
            c->near_shingle_mode = 1;
        else if (!strcmp(sh, "chars"))
            c->near_shingle_mode = 2;
        else
            fail(&nd, "shingles", "\"auto\", \"words\" or \"chars\"");
        bad |= nd.bad;
    }

    SECTION(out, "output");
    static const char *const out_keys[] = {"compress", "level", "shard_size", "split_by", "keep_rejected",
                                           "format", "source", "added", NULL};
    check_keys(&out, out_keys);
    if (!bad) {
        const char *comp = get_str(&out, "compress", "gzip");
        if (!strcmp(comp, "gzip"))
            c->compress = CP_COMPRESS_GZIP;
        else if (!strcmp(comp, "zstd"))
            c->compress = CP_COMPRESS_ZSTD;
        else if (!strcmp(comp, "none"))
            c->compress = CP_COMPRESS_NONE;
        else
            fail(&out, "compress", "\"gzip\", \"zstd\" or \"none\"");
        double maxlevel = c->compress == CP_COMPRESS_ZSTD ? 19 : 9;
        c->level = (int)get_num(&out, "level", 1, c->compress == CP_COMPRESS_GZIP ? 0 : -7, maxlevel);
        c->shard_bytes = get_size(&out, "shard_size", 256u << 20, 4096);
        const char *split = get_str(&out, "split_by", "none");
        if (!strcmp(split, "lang"))
            c->split_by_lang = 1;
        else if (strcmp(split, "none"))
            fail(&out, "split_by", "\"none\" or \"lang\"");
        c->keep_rejected = get_bool(&out, "keep_rejected", 0);
        const char *format = get_str(&out, "format", "jsonl");
        if (!strcmp(format, "dolma"))
            c->format = CP_FORMAT_DOLMA;
        else if (strcmp(format, "jsonl"))
            fail(&out, "format", "\"jsonl\" or \"dolma\"");
        c->dolma_source = get_str(&out, "source", "");
        const char *added = get_str(&out, "added", "");
        char why[256];
        /* only a dolma run reads SOURCE_DATE_EPOCH: a stray value must not stop a jsonl run */
        if (!out.bad && c->format == CP_FORMAT_DOLMA &&
            cp_dolma_added(added, c->dolma_added, sizeof c->dolma_added, why, sizeof why)) {
            snprintf(err, errlen, "configuration: %s", why);
            out.bad = 1;
        }
        bad |= out.bad;
    }

    SECTION(run, "run");
    static const char *const run_keys[] = {"threads", NULL};
    check_keys(&run, run_keys);
    if (!bad) {
        c->threads = (int)get_num(&run, "threads", 0, 0, 4096);
        bad |= run.bad;
    }
#undef SECTION
    if (bad) {
        cp_config_free(c);
        return -1;
    }
    return 0;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void cp_config_free(cp_config *c)
{
    free_list(c->text_fields, c->n_text_fields);
    free_list(c->keep_langs, c->n_keep_langs);
    c->text_fields = c->keep_langs = NULL;
    c->n_text_fields = c->n_keep_langs = 0;
}

void cp_cfg_fail(cp_cfg_reader *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(r->err, r->errlen, "%s: ", r->what);
    if (k >= 0 && (size_t)k < r->errlen)
        vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    r->failed = 1;
}

const json_t *cp_cfg_get(const cp_cfg_reader *r, const char *key)
{
    return r->sec && json_is_object(r->sec) ? json_object_get(r->sec, key) : NULL;
}

static void record(cp_cfg_reader *r, const char *key, json_t *v)
{
    if (r->eff)
        json_object_set_new(r->eff, key, v);
    else
        json_decref(v);
}

double cp_cfg_num(cp_cfg_reader *r, const char *key, double def, double lo, double hi)
{
    const json_t *v = cp_cfg_get(r, key);
    double x = def;
    if (v) {
        if (!json_is_number(v))
            cp_cfg_fail(r, "\"%s\" must be a number", key);
        else
            x = json_number_value(v);
    }
    if (x < lo || x > hi)
        cp_cfg_fail(r, "\"%s\" = %g is outside [%g, %g]", key, x, lo, hi);
    record(r, key, x == (double)(long long)x ? json_integer((json_int_t)x) : json_real(x));
    return x;
}

int cp_cfg_bool(cp_cfg_reader *r, const char *key, int def)
{
    const json_t *v = cp_cfg_get(r, key);
    int x = def;
    if (v) {
        if (!json_is_boolean(v))
            cp_cfg_fail(r, "\"%s\" must be true or false", key);
        else
            x = json_is_true(v);
    }
    record(r, key, json_boolean(x));
    return x;
}

cp_cfg_reader cp_cfg_sub(cp_cfg_reader *r, const char *key)
{
    cp_cfg_reader c = *r; /* inherits failed: the first error's message stays */
    c.name = key;
    c.sec = cp_cfg_get(r, key);
    if (c.sec && !json_is_object(c.sec)) {
        cp_cfg_fail(r, "\"%s\" must be an object", key);
        c.sec = NULL;
    }
    c.eff = NULL;
    if (r->eff) {
        c.eff = json_object();
        json_object_set_new(r->eff, key, c.eff);
    }
    const json_t *src = cp_cfg_get(&c, "source");
    if (src && json_is_string(src))
        record(&c, "source", json_string(json_string_value(src)));
    return c;
}

void cp_cfg_check(cp_cfg_reader *r)
{
    if (!r->sec || !json_is_object(r->sec) || !r->eff || r->failed)
        return;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r->sec, k, v) {
        int ok = k[0] == '_' || !strcmp(k, "about") || !strcmp(k, "source") || !strcmp(k, "why") ||
                 json_object_get(r->eff, k);
        if (!ok) {
            if (r->name)
                cp_cfg_fail(r, "unknown setting \"%s\" in \"%s\"", k, r->name);
            else
                cp_cfg_fail(r, "unknown setting \"%s\"", k);
            return;
        }
    }
}

void cp_cfg_done(cp_cfg_reader *parent, cp_cfg_reader *child)
{
    cp_cfg_check(child);
    if (child->failed && !parent->failed)
        parent->failed = 1; /* the child wrote its message into the shared err buffer */
}
