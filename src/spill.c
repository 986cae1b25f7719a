/* spill: a cluster rank's processed batches on scratch (format in spill.h). A batch is one block, so every
 * block is independent (a damaged one is named, memory stays one batch); inside it, parts, each its own zstd
 * frame with its checksum: the batch's own figures, then its documents. The writer puts all documents in one
 * part: encoding parts on OpenMP threads was measured, and cost more CPU on a shared machine than it saved
 * (threads spin at the extra barrier); the reader takes any number, so that may change without a new
 * format. A document's cleaned text follows its raw line, so zstd finds what they share. Serialisation is
 * plain host-order fields: the file lives for one job on one machine. A writer or reader belongs to one
 * thread. */
#include "corpusprep/spill.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "corpusprep/feeder.h"
#include "corpusprep/parse.h"
#include "corpusprep/util.h"

#define MAGIC "CPSPILL\n"
#define VERSION 4u /* 3: a record's text value elided from its line; the normalised text; frame checksums.
                      * 4: the normalised text's difference is a string, made by the worker */
#define MAX_PARTS 64
#define BOM 0x0102030405060708ull
#define TAG_BLOCK 0x4b4c4255u /* "UBLK" */
#define TAG_END 0x444e4555u   /* "UEND" */

typedef struct {
    uint32_t tag, nparts;
    uint64_t len;                /* bytes after this head: the part heads, then the parts' frames */
} block_head;

typedef struct {
    uint64_t zlen, raw_len, hash; /* frame bytes; uncompressed bytes; XXH3-64 of the frame */
    uint64_t ndocs;               /* documents in the part (0: the batch's own figures) */
} part_head;

typedef struct {
    cp_buf raw, z;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    part_head h;
    int failed;
} part_t;

struct cp_spill_writer {
    FILE *f;
    char *path;
    int level;
    part_t part[MAX_PARTS];
    uint64_t batches, docs, bytes;
};

struct cp_spill_reader {
    FILE *f;
    char *path;
    part_t part[MAX_PARTS];
    cp_buf z;
    char **reasons;           /* interned reject reasons */
    size_t n_reasons;
    uint64_t batches, docs, end_batches, end_docs;
    long first;               /* offset of the first block */
    int ended;
};

/* ---- writing ------------------------------------------------------------------------------------------ */

static void put(cp_buf *b, const void *p, size_t n)
{
    cp_buf_append(b, p, n);
}
static void put_u64(cp_buf *b, uint64_t v)
{
    put(b, &v, sizeof v);
}
static void put_u32(cp_buf *b, uint32_t v)
{
    put(b, &v, sizeof v);
}
/* a string or NULL: length + 1 (0 for NULL), then the bytes */
static void put_str(cp_buf *b, const char *s, size_t n)
{
    put_u64(b, s ? (uint64_t)n + 1 : 0);
    if (s)
        put(b, s, n);
}

int cp_spill_parse_level(const char *s, int *level, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < ZSTD_minCLevel() || v > 1) {
        snprintf(err, errlen, "'%s' is not a zstd level from %d to 1", s, ZSTD_minCLevel());
        return -1;
    }
    *level = (int)v;
    return 0;
}

static int write_all(cp_spill_writer *w, const void *p, size_t n, char *err, size_t errlen)
{
    if (n && fwrite(p, 1, n, w->f) != n) {
        snprintf(err, errlen, "%s: cannot write the spill: %s", w->path, strerror(errno));
        return -1;
    }
    w->bytes += n;
    return 0;
}

/* The frame's bytes, not the uncompressed ones (a third as many to hash, checked before inflating), seeded
 * with the head's other fields, so that a damaged head is noticed by cp_spill_verify too. */
static uint64_t part_hash(const part_head *h, const void *frame)
{
    return XXH3_64bits_withSeed(frame, h->zlen, h->raw_len ^ (h->ndocs * 0x9e3779b97f4a7c15ull));
}

static void compress_part(part_t *p, int level)
{
    if (!p->zc)
        p->zc = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(p->raw.len);
    p->z.len = 0;
    cp_buf_reserve(&p->z, bound);
    const char *in = p->raw.data ? p->raw.data : "";
    size_t zn = ZSTD_compressCCtx(p->zc, p->z.data, bound, in, p->raw.len, level);
    p->failed = ZSTD_isError(zn);
    p->h.zlen = p->failed ? 0 : zn;
    p->h.raw_len = p->raw.len;
    p->h.hash = p->failed ? 0 : part_hash(&p->h, p->z.data);
}

/* Writes parts [0, n) (compressed) as one block. */
static int write_block(cp_spill_writer *w, uint32_t tag, int n, char *err, size_t errlen)
{
    block_head bh = {tag, (uint32_t)n, 0};
    for (int i = 0; i < n; i++) {
        if (w->part[i].failed) {
            snprintf(err, errlen, "%s: cannot compress the spill", w->path);
            return -1;
        }
        bh.len += sizeof(part_head) + w->part[i].h.zlen;
    }
    if (write_all(w, &bh, sizeof bh, err, errlen))
        return -1;
    for (int i = 0; i < n; i++)
        if (write_all(w, &w->part[i].h, sizeof w->part[i].h, err, errlen))
            return -1;
    for (int i = 0; i < n; i++)
        if (write_all(w, w->part[i].z.data, w->part[i].h.zlen, err, errlen))
            return -1;
    return 0;
}

cp_spill_writer *cp_spill_create(const char *path, int level, uint64_t fingerprint, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create the spill: %s", path, strerror(errno));
        return NULL;
    }
    cp_spill_writer *w = cp_xcalloc(1, sizeof *w);
    w->f = f;
    w->path = cp_xstrdup(path);
    w->level = level;
    cp_buf h = {0};
    put(&h, MAGIC, 8);
    put_u32(&h, VERSION);
    put_u32(&h, 0);
    put_u64(&h, BOM);
    put_u64(&h, fingerprint);
    int rc = write_all(w, h.data, h.len, err, errlen);
    cp_buf_free(&h);
    if (rc) {
        cp_spill_abort(w);
        return NULL;
    }
    return w;
}

/* A JSON record's line without its text member's value, "" in its place: the second pass writes that member
 * from the cleaned text, so the value (half of a record's bytes) need not be compressed, stored and
 * decompressed. The spill keeps the normalised text instead where the report may need it (cp_doc.norm_diff).
 * put_members moves the members to match. */
static void put_elided(cp_buf *b, const cp_doc *d, const char *line, size_t len)
{
    const cp_member *t = &d->members[d->text_member];
    put_u64(b, len - (t->val_len - 2));
    put(b, line, t->val_off);
    put(b, "\"\"", 2);
    put(b, line + t->val_off + t->val_len, len - t->val_off - t->val_len);
}

/* The member table, as the line put before it holds them: with the text value elided, the text member's
 * value is "" and the members after it move back by what went. */
static void put_members(cp_buf *b, const cp_doc *d, int elided)
{
    put_u64(b, d->line_utf8_fixes);
    put_u32(b, d->n_members);
    put_u32(b, (uint32_t)d->text_member);
    if (!elided) {
        put(b, d->members, d->n_members * sizeof *d->members);
        return;
    }
    const cp_member *t = &d->members[d->text_member];
    uint32_t cut = t->val_off, gone = t->val_len - 2;
    for (uint32_t i = 0; i < d->n_members; i++) {
        cp_member m = d->members[i];
        if ((int)i == d->text_member) {
            m.val_len = 2;
            m.val_escaped = 0;
        } else if (m.key_off > cut) { /* members follow each other: a later one lies wholly after the value */
            m.key_off -= gone;
            m.val_off -= gone;
        }
        put(b, &m, sizeof m);
    }
}

/* Lines of a text, one after the other: split at every newline, so n newlines give n + 1 lines. */
typedef struct {
    const char *p, *end;
    int left; /* a line remains */
} lines_t;

static int next_line(lines_t *l, const char **s, size_t *n)
{
    if (!l->left)
        return 0;
    const char *e = memchr(l->p, '\n', (size_t)(l->end - l->p));
    *s = l->p;
    *n = (size_t)((e ? e : l->end) - l->p);
    l->left = e != NULL;
    l->p = e ? e + 1 : l->end;
    return 1;
}

/* The normalised text (what the report's line-by-line examples show) as its lines, each either a copy of
 * one of the cleaned text's next few lines (cleaning keeps most lines as they are) or its bytes (what
 * cleaning removed or changed): op k > 0 copies the k-th next cleaned line, op 0 is followed by a length
 * and the bytes. The spill then holds the text once and what cleaning took out. */
#define NORM_LOOKAHEAD 4
void cp_spill_norm_diff(const char *norm, size_t nlen, const char *clean, size_t clen, cp_buf *out)
{
    lines_t nl = {norm, norm + nlen, 1}, tl = {clean ? clean : "", clean ? clean + clen : "", 1};
    const char *s, *t;
    size_t n, m;
    out->len = 0;
    while (next_line(&nl, &s, &n)) {
        lines_t look = tl;
        uint32_t op = 0;
        for (uint32_t k = 1; k <= NORM_LOOKAHEAD && next_line(&look, &t, &m); k++)
            if (m == n && !memcmp(t, s, n)) {
                op = k;
                tl = look;
                break;
            }
        put_u32(out, op);
        if (!op) {
            put_u64(out, n);
            put(out, s, n);
        }
    }
}

static void put_doc(cp_buf *b, const cp_doc *d)
{
    /* WARC records keep their bytes (their text is the block, not a member) */
    int elide = d->object && !d->warc && d->text && d->text_member >= 0 && (uint32_t)d->text_member < d->n_members;
    uint32_t flags = (d->raw && !elide ? 1u : 0) | (d->warc ? 2u : 0) | (d->object ? 4u : 0) |
                     (d->id_generated ? 8u : 0) | (d->has_url_key ? 16u : 0) | (elide ? 32u : 0) |
                     (d->norm_diff && !d->reject ? 64u : 0);
    put_u32(b, flags);
    put_u32(b, d->file);
    put_u64(b, d->line);
    put_u64(b, d->seq);
    put_u64(b, d->raw_len);
    put_u64(b, d->block_len);
    if (elide) {
        size_t len;
        const char *line = cp_doc_line(d, &len);
        put_elided(b, d, line, len);
    } else {
        if (d->raw)
            put(b, d->raw, d->raw_len + (d->warc ? d->block_len : 0)); /* a WARC record's block follows raw */
        put_str(b, d->line_fixed, d->line_fixed ? strlen(d->line_fixed) : 0);
    }
    put_members(b, d, elide);
    put_str(b, d->id, d->id_len);
    put_str(b, d->url, d->url_len);
    put_str(b, d->parse_error, d->parse_error ? strlen(d->parse_error) : 0);
    put_str(b, d->reject, d->reject ? strlen(d->reject) + 1 : 0); /* with its NUL: read in place */
    put_str(b, d->text, d->text_len);
    put_u64(b, d->text_in_len);
    put_u64(b, d->norm_len);
    put_u64(b, d->clean_len);
    put_u64(b, d->h_exact);
    put_u64(b, d->h_url);
    put_u64(b, d->lines.n);
    put(b, d->lines.v, d->lines.n * sizeof *d->lines.v);
    if (flags & 64)
        put_str(b, d->norm_diff, d->norm_diff_len);
}

int cp_spill_put(cp_spill_writer *w, const cp_batch *b, char *err, size_t errlen)
{
    cp_buf *r = &w->part[0].raw;
    r->len = 0;
    put_u64(r, b->index);
    put_u64(r, b->n);
    put_u64(r, b->blank_lines);
    put_u64(r, b->bytes_in);
    put_u64(r, (uint64_t)b->last);
    put(r, &b->end, sizeof b->end);
    put_u64(r, b->read_compressed);
    put_u64(r, b->n_events);
    for (size_t i = 0; i < b->n_events; i++) {
        put_u32(r, (uint32_t)b->event_fatal[i]);
        put_u32(r, b->event_file[i]);
        put_str(r, b->events[i], strlen(b->events[i]));
    }
    put_u64(r, b->warc_records.n);
    for (size_t i = 0; i < b->warc_records.n; i++) {
        const cp_counter *c = &b->warc_records.items[i];
        put_str(r, c->name, strlen(c->name));
        put_u64(r, c->docs);
        put_u64(r, c->chars);
    }
    w->part[0].h.ndocs = 0;
    compress_part(&w->part[0], w->level);
    part_t *p = &w->part[1];
    p->raw.len = 0;
    for (size_t i = 0; i < b->n; i++)
        put_doc(&p->raw, &b->docs[i]);
    p->h.ndocs = b->n;
    compress_part(p, w->level);
    if (write_block(w, TAG_BLOCK, 2, err, errlen))
        return -1;
    w->batches++;
    w->docs += b->n;
    return 0;
}

int cp_spill_finish(cp_spill_writer *w, int sync, uint64_t *bytes, char *err, size_t errlen)
{
    part_t *p = &w->part[0];
    p->raw.len = 0;
    put_u64(&p->raw, w->batches);
    put_u64(&p->raw, w->docs);
    p->h.ndocs = 0;
    compress_part(p, w->level);
    int rc = write_block(w, TAG_END, 1, err, errlen);
    if (!rc && (fflush(w->f) || (sync && fsync(fileno(w->f))))) {
        snprintf(err, errlen, "%s: cannot write the spill: %s", w->path, strerror(errno));
        rc = -1;
    }
    if (fclose(w->f) && !rc) {
        snprintf(err, errlen, "%s: cannot write the spill: %s", w->path, strerror(errno));
        rc = -1;
    }
    w->f = NULL;
    if (bytes)
        *bytes = w->bytes;
    if (rc)
        unlink(w->path);
    cp_spill_abort(w);
    return rc;
}

void cp_spill_abort(cp_spill_writer *w)
{
    if (!w)
        return;
    if (w->f) {
        fclose(w->f);
        unlink(w->path);
    }
    for (int i = 0; i < MAX_PARTS; i++) {
        ZSTD_freeCCtx(w->part[i].zc);
        cp_buf_free(&w->part[i].raw);
        cp_buf_free(&w->part[i].z);
    }
    free(w->path);
    free(w);
}

/* ---- reading ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *p, *end;
    int bad;
} cur_t;

static const void *take(cur_t *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const char *q = c->p;
    c->p += n;
    return q;
}
static uint64_t get_u64(cur_t *c)
{
    uint64_t v = 0;
    const void *p = take(c, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}
static uint32_t get_u32(cur_t *c)
{
    uint32_t v = 0;
    const void *p = take(c, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}
/* A string as a new NUL-terminated allocation (NULL for a NULL string); *n its length. */
static char *get_str(cur_t *c, size_t *n)
{
    uint64_t l = get_u64(c);
    *n = 0;
    if (!l)
        return NULL;
    const char *p = take(c, l - 1);
    if (!p)
        return NULL;
    *n = l - 1;
    return cp_xstrndup(p, l - 1);
}
/* A string pointing into the block, or NULL. */
static const char *peek_str(cur_t *c, size_t *n)
{
    uint64_t l = get_u64(c);
    *n = 0;
    if (!l)
        return NULL;
    *n = l - 1;
    return take(c, l - 1);
}

static const char *intern(cp_spill_reader *r, const char *s, size_t n)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (strlen(r->reasons[i]) == n && !memcmp(r->reasons[i], s, n))
            return r->reasons[i];
    r->reasons = cp_xrealloc(r->reasons, (r->n_reasons + 1) * sizeof *r->reasons);
    return r->reasons[r->n_reasons++] = cp_xstrndup(s, n);
}

static int read_exact(cp_spill_reader *r, void *p, size_t n, char *err, size_t errlen)
{
    if (fread(p, 1, n, r->f) != n) {
        snprintf(err, errlen, "%s: the spill ends early (cut short or damaged); run the job again", r->path);
        return -1;
    }
    return 0;
}

static int sound_head(const part_head *h)
{
    return h->zlen <= ZSTD_compressBound(h->raw_len) && h->raw_len < ((uint64_t)1 << 40) &&
           h->ndocs <= h->raw_len;
}

/* The next block's heads (into r->part[].h) and frames (into r->z, in order); returns its tag and sets
 * *nparts, or 0 with a message. */
static uint32_t read_block(cp_spill_reader *r, int *nparts, char *err, size_t errlen)
{
    block_head bh;
    if (read_exact(r, &bh, sizeof bh, err, errlen))
        return 0;
    int ok = (bh.tag == TAG_BLOCK || bh.tag == TAG_END) && bh.nparts >= 1 && bh.nparts <= MAX_PARTS &&
             bh.len >= bh.nparts * sizeof(part_head) && bh.len < ((uint64_t)1 << 40);
    uint64_t frames = 0;
    for (uint32_t i = 0; ok && i < bh.nparts; i++) {
        if (read_exact(r, &r->part[i].h, sizeof r->part[i].h, err, errlen))
            return 0;
        ok = sound_head(&r->part[i].h);
        frames += r->part[i].h.zlen;
    }
    if (!ok || frames != bh.len - bh.nparts * sizeof(part_head)) {
        snprintf(err, errlen, "%s: damaged spill block %" PRIu64 "; run the job again", r->path, r->batches + 1);
        return 0;
    }
    r->z.len = 0;
    cp_buf_reserve(&r->z, frames);
    if (read_exact(r, r->z.data, frames, err, errlen))
        return 0;
    /* checked before anything is sized by the heads' lengths */
    uint64_t at = 0;
    for (uint32_t i = 0; i < bh.nparts; at += r->part[i++].h.zlen)
        if (part_hash(&r->part[i].h, r->z.data + at) != r->part[i].h.hash) {
            snprintf(err, errlen, "%s: spill block %" PRIu64 " fails its checksum (damaged); run the job again",
                     r->path, r->batches + 1);
            return 0;
        }
    *nparts = (int)bh.nparts;
    return bh.tag;
}

/* Decompresses a part's frame (at z, its checksum checked by read_block) into out (raw_len + 1 bytes); 0 or
 * -1. */
static int inflate_part(part_t *p, const char *z, char *out)
{
    out[p->h.raw_len] = 0;
    if (!p->zd)
        p->zd = ZSTD_createDCtx();
    size_t n = ZSTD_decompressDCtx(p->zd, out, p->h.raw_len + 1, z, p->h.zlen);
    return ZSTD_isError(n) || n != p->h.raw_len ? -1 : 0;
}

cp_spill_reader *cp_spill_open(const char *path, uint64_t fingerprint, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open the spill: %s", path, strerror(errno));
        return NULL;
    }
    cp_spill_reader *r = cp_xcalloc(1, sizeof *r);
    r->f = f;
    r->path = cp_xstrdup(path);
    char h[32];
    uint32_t version = 0;
    uint64_t bom = 0, fp = 0;
    int ok = fread(h, 1, sizeof h, f) == sizeof h && !memcmp(h, MAGIC, 8);
    if (ok) {
        memcpy(&version, h + 8, 4);
        memcpy(&bom, h + 16, 8);
        memcpy(&fp, h + 24, 8);
    }
    if (!ok || version != VERSION || bom != BOM)
        snprintf(err, errlen, "%s: not a spill of this corpusprep (format %u, this build reads %u)", path,
                 ok ? version : 0, VERSION);
    else if (fp != fingerprint)
        snprintf(err, errlen, "%s: the spill belongs to another run (configuration, inputs or ranks differ)", path);
    /* the end block must be there: walk the block heads (no decompression), then go back to the first */
    long first = ftell(f);
    if (ok && version == VERSION && bom == BOM && fp == fingerprint) {
        block_head bh;
        int found = 0;
        uint64_t blocks = 0;
        while (!found && fread(&bh, 1, sizeof bh, f) == sizeof bh) {
            if ((bh.tag != TAG_BLOCK && bh.tag != TAG_END) || bh.len >= ((uint64_t)1 << 40))
                break;
            if (bh.tag == TAG_END) {
                if (fseek(f, -(long)sizeof bh, SEEK_CUR))
                    break;
                int np = 0;
                r->batches = blocks;
                if (read_block(r, &np, err, errlen) == TAG_END && np == 1) {
                    char e[17];
                    if (r->part[0].h.raw_len == 16 && !inflate_part(&r->part[0], r->z.data, e)) {
                        memcpy(&r->end_batches, e, 8);
                        memcpy(&r->end_docs, e + 8, 8);
                        found = r->end_batches == blocks && fgetc(f) == EOF;
                    }
                }
                break;
            }
            blocks++;
            if (fseek(f, (long)bh.len, SEEK_CUR))
                break;
        }
        r->batches = 0;
        r->first = first;
        if (found && !fseek(f, first, SEEK_SET))
            return r;
        snprintf(err, errlen, "%s: the spill is cut short or damaged (no sound end block); run the job again", path);
    }
    cp_spill_close(r);
    return NULL;
}

char *cp_spill_norm_text(const char *diff, size_t dlen, const char *clean, size_t clen, size_t norm_len)
{
    cur_t c = {diff, diff + dlen, 0};
    char *out = cp_xmalloc(norm_len + 1);
    size_t at = 0;
    lines_t tl = {clean ? clean : "", clean ? clean + clen : "", 1};
    for (int first = 1; !c.bad && (first || at < norm_len); first = 0) {
        if (!first)
            out[at++] = '\n';
        uint32_t op = get_u32(&c);
        const char *s = NULL;
        size_t n = 0;
        if (!op) {
            n = get_u64(&c);
            s = n <= norm_len - at ? take(&c, n) : NULL;
        } else {
            for (uint32_t k = 0; k < op && op <= NORM_LOOKAHEAD; k++)
                if (!next_line(&tl, &s, &n))
                    s = NULL;
            if (op > NORM_LOOKAHEAD || n > norm_len - at)
                s = NULL;
        }
        if (!s) {
            c.bad = 1;
            break;
        }
        memcpy(out + at, s, n);
        at += n;
    }
    if (c.bad || at != norm_len || c.p != c.end) {
        free(out);
        return NULL;
    }
    out[at] = 0;
    return out;
}

static int get_doc(cur_t *c, cp_doc *d)
{
    memset(d, 0, sizeof *d);
    uint32_t flags = get_u32(c);
    d->file = get_u32(c);
    d->line = get_u64(c);
    d->seq = get_u64(c);
    d->raw_len = get_u64(c);
    d->block_len = get_u64(c);
    d->warc = !!(flags & 2);
    d->object = !!(flags & 4);
    d->id_generated = !!(flags & 8);
    d->has_url_key = !!(flags & 16);
    size_t n;
    if (flags & 32) {
        /* the elided line stays in the decompressed block, which becomes the batch's arena, as raw does */
        d->line_elided_len = get_u64(c);
        d->line_elided = take(c, d->line_elided_len);
        if (!d->object || d->warc)
            c->bad = 1;
    } else {
        if (flags & 1)
            d->raw = take(c, d->raw_len + (d->warc ? d->block_len : 0));
        d->line_fixed = get_str(c, &n);
    }
    d->line_utf8_fixes = get_u64(c);
    d->n_members = get_u32(c);
    d->text_member = (int)get_u32(c);
    const void *m = take(c, (size_t)d->n_members * sizeof *d->members);
    if (m && d->n_members) {
        d->members = cp_xmalloc(d->n_members * sizeof *d->members);
        memcpy(d->members, m, d->n_members * sizeof *d->members);
    }
    d->id = get_str(c, &d->id_len);
    d->url_buf = get_str(c, &d->url_len);
    d->url = d->url_buf;
    d->parse_error = get_str(c, &n);
    const char *rj = peek_str(c, &n);
    if (rj && (!n || rj[n - 1]))
        c->bad = 1;
    d->reject = rj; /* in the arena for now; cp_spill_next interns it */
    d->text = get_str(c, &d->text_len);
    d->text_in_len = get_u64(c);
    d->norm_len = get_u64(c);
    d->clean_len = get_u64(c);
    d->h_exact = get_u64(c);
    d->h_url = get_u64(c);
    uint64_t nl = get_u64(c);
    const void *lv = nl <= (uint64_t)(c->end - c->p) / sizeof *d->lines.v ? take(c, nl * sizeof *d->lines.v) : NULL;
    if (lv && nl) {
        d->lines.v = cp_xmalloc(nl * sizeof *d->lines.v);
        memcpy(d->lines.v, lv, nl * sizeof *d->lines.v);
        d->lines.n = d->lines.cap = nl;
    } else if (nl) {
        c->bad = 1;
    }
    if (flags & 64) { /* rebuilt only for a report example (cp_spill_norm_text); the checksum vouched for it */
        d->norm_diff = get_str(c, &d->norm_diff_len);
        if (!d->norm_diff || d->reject)
            c->bad = 1;
    }
    /* a record's members index the line they were scanned from: they must lie inside it */
    if (d->object && !d->warc && !c->bad) {
        size_t len = 0;
        if (d->raw || d->line_elided)
            cp_doc_line(d, &len);
        for (uint32_t i = 0; i < d->n_members; i++) {
            const cp_member *m = &d->members[i];
            if ((uint64_t)m->key_off + m->key_len > len || (uint64_t)m->val_off + m->val_len > len || !m->key_off)
                c->bad = 1;
        }
        if (d->text_member >= (int)d->n_members)
            c->bad = 1;
    }
    return c->bad ? -1 : 0;
}

int cp_spill_next(cp_spill_reader *r, cp_batch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (r->ended)
        return 0;
    int np = 0;
    uint32_t tag = read_block(r, &np, err, errlen);
    if (!tag)
        return -1;
    if (tag == TAG_END) {
        r->ended = 1;
        if (r->batches != r->end_batches || r->docs != r->end_docs) {
            snprintf(err, errlen, "%s: the spill holds %" PRIu64 " batches, its end says %" PRIu64, r->path,
                     r->batches, r->end_batches);
            return -1;
        }
        return 0;
    }
    /* one arena for every part: the documents' raw lines stay where they were decompressed */
    size_t zoff[MAX_PARTS], aoff[MAX_PARTS], doc0[MAX_PARTS], arena = 0, z = 0, n = 0;
    for (int k = 0; k < np; k++) {
        zoff[k] = z;
        aoff[k] = arena;
        doc0[k] = n;
        z += r->part[k].h.zlen;
        arena += r->part[k].h.raw_len + 1;
        n += r->part[k].h.ndocs;
    }
    cp_batch *b = cp_xcalloc(1, sizeof *b);
    b->arena = cp_xmalloc(arena);
    b->arena_len = b->arena_cap = arena;
    b->docs = cp_xcalloc(n + 1, sizeof *b->docs);
    b->cap = n + 1;
    b->n = n;
    for (int k = 0; k < np; k++) {
        part_t *p = &r->part[k];
        char *a = b->arena + aoff[k];
        p->failed = inflate_part(p, r->z.data + zoff[k], a);
        if (p->failed || !k)
            continue;
        cur_t c = {a, a + p->h.raw_len, 0};
        for (size_t i = 0; i < p->h.ndocs && !c.bad; i++)
            get_doc(&c, &b->docs[doc0[k] + i]);
        p->failed = c.bad || c.p != c.end;
    }
    int bad = 0;
    for (int k = 0; k < np; k++)
        bad |= r->part[k].failed;
    cur_t c = {b->arena, b->arena + r->part[0].h.raw_len, 0};
    if (!bad) {
        b->index = get_u64(&c);
        uint64_t nd = get_u64(&c);
        b->blank_lines = get_u64(&c);
        b->bytes_in = get_u64(&c);
        b->last = (int)get_u64(&c);
        const void *e = take(&c, sizeof b->end);
        if (e)
            memcpy(&b->end, e, sizeof b->end);
        b->read_compressed = get_u64(&c);
        uint64_t ne = get_u64(&c);
        if (nd != n || ne > (uint64_t)(c.end - c.p))
            c.bad = 1;
        for (uint64_t i = 0; i < ne && !c.bad; i++) {
            b->events = cp_xrealloc(b->events, (i + 1) * sizeof *b->events);
            b->event_fatal = cp_xrealloc(b->event_fatal, (i + 1) * sizeof *b->event_fatal);
            b->event_file = cp_xrealloc(b->event_file, (i + 1) * sizeof *b->event_file);
            b->event_fatal[i] = (int)get_u32(&c);
            b->event_file[i] = get_u32(&c);
            size_t l;
            b->events[i] = get_str(&c, &l);
            if (!b->events[i])
                b->events[i] = cp_xstrdup("");
            b->n_events = i + 1;
        }
        uint64_t nw = get_u64(&c);
        for (uint64_t i = 0; i < nw && !c.bad; i++) {
            size_t l;
            char *name = get_str(&c, &l);
            uint64_t docs = get_u64(&c), chars = get_u64(&c);
            if (name && !c.bad)
                cp_counters_add(&b->warc_records, name, docs, chars);
            free(name);
        }
        bad = c.bad || c.p != c.end;
    }
    if (bad) {
        for (size_t i = 0; i < b->n; i++)
            cp_doc_release(&b->docs[i]);
        cp_batch_free(b);
        snprintf(err, errlen, "%s: spill block %" PRIu64 " fails its checksum or does not parse (damaged); run "
                 "the job again", r->path, r->batches + 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (b->docs[i].reject)
            b->docs[i].reject = intern(r, b->docs[i].reject, strlen(b->docs[i].reject));
    r->batches++;
    r->docs += n;
    *out = b;
    return 1;
}

int cp_spill_verify(cp_spill_reader *r, char *err, size_t errlen)
{
    cp_buf out = {0};
    int np = 0, rc = 0;
    uint64_t blocks = 0;
    for (;;) {
        r->batches = blocks;
        uint32_t tag = read_block(r, &np, err, errlen);
        if (!tag) {
            rc = -1;
            break;
        }
        size_t z = 0;
        for (int k = 0; k < np && !rc; k++) {
            out.len = 0;
            cp_buf_reserve(&out, r->part[k].h.raw_len);
            if (inflate_part(&r->part[k], r->z.data + z, out.data)) {
                snprintf(err, errlen, "%s: spill block %" PRIu64 " fails its checksum (damaged)", r->path,
                         blocks + 1);
                rc = -1;
            }
            z += r->part[k].h.zlen;
        }
        if (rc || tag == TAG_END)
            break;
        blocks++;
    }
    cp_buf_free(&out);
    r->batches = r->docs = 0;
    r->ended = 0;
    if (!rc && fseek(r->f, r->first, SEEK_SET)) {
        snprintf(err, errlen, "%s: cannot read the spill: %s", r->path, strerror(errno));
        rc = -1;
    }
    return rc;
}

void cp_spill_close(cp_spill_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    for (int i = 0; i < MAX_PARTS; i++)
        ZSTD_freeDCtx(r->part[i].zd);
    cp_buf_free(&r->z);
    for (size_t i = 0; i < r->n_reasons; i++)
        free(r->reasons[i]);
    free(r->reasons);
    free(r->path);
    free(r);
}
