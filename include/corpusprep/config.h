/* config: one effective configuration from built-in defaults < config file < command-line flags.
 * The configuration is a JSON tree (what --print-config shows); cp_config_resolve turns the pipeline's
 * own sections into a plain struct, while stage sections ("clean", "filter", "near_dedup") are handed to
 * the stages as JSON. Load everything before threads start; afterwards it is read-only. */
#ifndef CORPUSPREP_CONFIG_H
#define CORPUSPREP_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { CP_COMPRESS_NONE, CP_COMPRESS_GZIP, CP_COMPRESS_ZSTD };
enum { CP_FORMAT_JSONL, CP_FORMAT_DOLMA };

typedef struct {
    json_t *tree;               /* the effective configuration (borrowed from the caller) */
    char **text_fields;         /* first present string field wins */
    size_t n_text_fields;
    uint64_t max_line_bytes;    /* longer lines are rejected as line_too_long */
    uint64_t batch_bytes;       /* input bytes per batch */
    size_t langid_sample_bytes; /* bytes of text language ID looks at (0 = all) */
    int langid_backend;         /* cp_langid_backend: CLD2 or fastText */
    const char *langid_model;   /* fastText model file (borrowed from tree); NULL for CLD2 */
    char **keep_langs;          /* empty = keep every language */
    size_t n_keep_langs;
    double min_lang_score;
    int dedup_exact, dedup_url, dup_of;
    int near_dedup;             /* MinHash LSH near-duplicate removal on */
    int near_bands, near_rows, near_ngram, near_char_ngram;
    uint64_t near_seed;
    int near_shingle_mode;      /* cp_shingle_mode */
    int near_dup_of;            /* keep each band key's first document (for "dup_of"); 0: compact index */
    int compress;               /* CP_COMPRESS_* */
    int level;
    uint64_t shard_bytes;       /* uncompressed bytes per output shard */
    int split_by_lang;
    int keep_rejected;
    int format;                 /* CP_FORMAT_*: how kept records are written (rejected ones always as jsonl) */
    const char *dolma_source;   /* dolma "source" (borrowed from tree); "" = the input file's name */
    char dolma_added[40];       /* dolma "added", fixed for the run (cp_dolma_added) */
    int threads;                /* 0 = all cores */
} cp_config;

/* The built-in defaults (configs/defaults.json merged with the default preset configs/news.json, both
 * compiled in). Returns a new tree or NULL with a message. */
json_t *cp_config_defaults(char *err, size_t errlen);

/* Merges a config file over tree (objects merge key by key; other values replace). name is a path, or the
 * name of a built-in preset ("news", "c4", "gopher", "fineweb") when no such file exists. Files that the
 * config refers to (cp_config_read) are then looked up beside it first. Returns 0 or -1 with a message. */
int cp_config_merge_file(json_t *tree, const char *name, char *err, size_t errlen);

/* Sets tree[section][key] = value (value reference stolen), for command-line flags. */
void cp_config_set(json_t *tree, const char *section, const char *key, json_t *value);

/* Validates the pipeline sections and fills *c (c->tree = tree). Returns 0 or -1 with a message. */
int cp_config_resolve(json_t *tree, cp_config *c, char *err, size_t errlen);
void cp_config_free(cp_config *c);

/* Parses "256M", "4k", "1G", "123" (powers of 1024) into bytes. Returns 0 or -1. */
int cp_parse_size(const char *s, uint64_t *out);

/* Reading a stage's section (clean, filter): each getter returns sec[key], or the default when it is absent,
 * checks its type and range, and records the value used in eff[key], so that --print-config can show every
 * effective value. The first error is kept in err as "<what>: <message>"; failed says there was one.
 * Not thread-safe; stages read their sections once, before threads start. */
typedef struct {
    const json_t *sec;   /* the section; NULL: every value is its default */
    json_t *eff;         /* where the values used are recorded (borrowed) */
    char *err;
    size_t errlen;
    int failed;
    const char *what;    /* message prefix: "clean", "filter (de)" */
    const char *name;    /* the subsection's key (cp_cfg_sub), for messages; NULL at the top */
} cp_cfg_reader;

void cp_cfg_fail(cp_cfg_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const json_t *cp_cfg_get(const cp_cfg_reader *r, const char *key);
double cp_cfg_num(cp_cfg_reader *r, const char *key, double def, double lo, double hi);
int cp_cfg_bool(cp_cfg_reader *r, const char *key, int def);
/* The reader of sec[key] (which must be an object when present), recording into a new eff[key] that starts
 * with the subsection's "source" text. */
cp_cfg_reader cp_cfg_sub(cp_cfg_reader *r, const char *key);
/* Refuses the keys of r's section that no getter recorded: typos of real settings would otherwise be
 * ignored. Comments are allowed: "about", "source", "why" and keys starting with '_'. Call after the
 * section's last getter (a key read outside the reader must be recorded in eff first). */
void cp_cfg_check(cp_cfg_reader *r);
/* Checks the subsection (cp_cfg_check) and carries its failure (and its message) up to its parent. */
void cp_cfg_done(cp_cfg_reader *parent, cp_cfg_reader *child);

/* Reads a file of the configuration, named relative to configs/ (e.g. "boilerplate/nl.json"): first beside
 * the config file given with -c, then from the built-in copy of configs/. Returns malloc'd NUL-terminated
 * contents and its length, or NULL when there is no such file. Thread-safe after loading. */
char *cp_config_read(const char *relpath, size_t *len);

#endif
