/* feeder: files -> numbered batches, on a reader thread (feeder.h). The thread opens the files in order,
 * fills a batch up to cfg->batch_bytes of lines (or MAX_BATCH_DOCS documents) and queues it; the queue holds
 * at most QUEUE_BATCHES, which bounds memory. In serial mode it fills a batch only when one is asked for. The
 * feeder-owned fields below the lock's are touched by the reader thread only, until it has been joined. */
#include "corpusprep/feeder.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpusprep/reader.h"
#include "corpusprep/util.h"
#include "corpusprep/warc.h"

#define QUEUE_BATCHES 1 /* the pipeline has two more batches in work beside it (pipeline.c, regions) */
#define MAX_BATCH_DOCS 100000

struct cp_feeder {
    const cp_config *cfg;
    char *const *files;
    size_t nfiles;
    const cp_reader_range *ranges;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cp_batch *queue[QUEUE_BATCHES];
    size_t q_head, q_count;
    int stop;                 /* main asks the feeder to end early */
    int serial;               /* -t 1: read only when main asks, so the run uses one core */
    uint64_t wanted, made;    /* batches main asked for / the feeder queued (serial mode) */
    /* feeder-owned state */
    size_t file_idx;
    cp_reader *r;
    cp_warc *warc;            /* the current file is WARC (its first line said so) */
    uint64_t seq, batch_index;
    uint64_t done_compressed; /* compressed bytes of files already closed */
    uint64_t line_in_file, off_in_file; /* lines and bytes read from the open file */
    cp_input_pos skip;        /* a resumed run: lines of file skip.file that an earlier run processed */
    double read_seconds;
    _Atomic uint64_t progress_bytes;
};

static void batch_event(cp_batch *b, int fatal, uint32_t file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void batch_event(cp_batch *b, int fatal, uint32_t file, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->events = cp_xrealloc(b->events, (b->n_events + 1) * sizeof *b->events);
    b->event_fatal = cp_xrealloc(b->event_fatal, (b->n_events + 1) * sizeof *b->event_fatal);
    b->event_file = cp_xrealloc(b->event_file, (b->n_events + 1) * sizeof *b->event_file);
    b->event_file[b->n_events] = file;
    b->events[b->n_events] = cp_xstrdup(msg);
    b->event_fatal[b->n_events++] = fatal;
}

static cp_doc *batch_add(cp_batch *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->docs = cp_xrealloc(b->docs, b->cap * sizeof *b->docs);
    }
    cp_doc *d = &b->docs[b->n++];
    memset(d, 0, sizeof *d);
    return d;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static void close_reader(cp_feeder *f)
{
    if (!f->r)
        return;
    f->done_compressed += cp_reader_bytes_in(f->r);
    cp_warc_destroy(f->warc);
    f->warc = NULL;
    cp_reader_close(f->r);
    f->r = NULL;
    f->file_idx++;
    f->line_in_file = f->off_in_file = 0;
}

/* Copies n bytes to the batch arena and returns their offset + 1 (fill_batch turns it into a pointer). */
static uintptr_t arena_put(cp_batch *b, const cp_config *cfg, const char *p, size_t n)
{
    if (b->arena_len + n > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : cfg->batch_bytes + 65536;
        while (cap < b->arena_len + n)
            cap *= 2;
        b->arena = cp_xrealloc(b->arena, cap);
        b->arena_cap = cap;
    }
    memcpy(b->arena + b->arena_len, p, n);
    b->arena_len += n;
    return (uintptr_t)(b->arena_len - n + 1);
}

/* Adds the next record of a WARC file to the batch: a conversion record as a document (its header fields
 * as a small JSON object, the block after it), a malformed one as a rejected document, other types only
 * counted. Returns cp_warc_next's status. */
static int add_warc_record(cp_feeder *f, cp_batch *b)
{
    cp_warc_record rec;
    int st = cp_warc_next(f->warc, &rec);
    b->bytes_in += rec.bytes;
    f->line_in_file++; /* in a WARC file the position counts records (skip_to_checkpoint) */
    f->off_in_file += rec.bytes;
    if (st <= 0) {
        if (st < 0)
            batch_event(b, 1, (uint32_t)f->file_idx, "%s", cp_reader_error(f->r));
        return st;
    }
    if (rec.kind != CP_WARC_BAD)
        cp_counters_add(&b->warc_records, rec.type[0] ? rec.type : "(no WARC-Type)", 1, 0);
    if (rec.kind == CP_WARC_SKIP)
        return 1;
    cp_doc *d = batch_add(b);
    d->file = (uint32_t)f->file_idx;
    d->line = rec.record_no;
    d->seq = f->seq++;
    d->warc = 1;
    if (rec.kind == CP_WARC_BAD) {
        d->reject = rec.reject;
        d->parse_error = cp_xstrdup(rec.message);
        if (rec.fatal)
            batch_event(b, 1, (uint32_t)f->file_idx, "%s: %s", f->files[f->file_idx], rec.message);
        d->raw_len = rec.block_len;
        if (rec.block)
            d->raw = (const char *)arena_put(b, f->cfg, rec.block, rec.block_len);
        return 1;
    }
    d->raw = (const char *)arena_put(b, f->cfg, rec.meta, rec.meta_len);
    d->raw_len = rec.meta_len;
    arena_put(b, f->cfg, rec.block, rec.block_len);
    d->block_len = rec.block_len;
    return 1;
}

/* A resumed run re-reads (re-inflates) the file it stopped in up to the checkpoint's position: lines, or
 * records in a WARC file; their bytes must be the ones the checkpoint counted. */
static void skip_to_checkpoint(cp_feeder *f, cp_batch *b)
{
    const char *line;
    size_t len;
    uint64_t line_no;
    while (f->line_in_file < f->skip.line) {
        if (f->warc) {
            cp_warc_record rec;
            if (cp_warc_next(f->warc, &rec) <= 0)
                break;
            f->line_in_file++;
            f->off_in_file += rec.bytes;
            continue;
        }
        int st = cp_reader_getline(f->r, &line, &len, &line_no);
        if (st != 1 && st != 2)
            break;
        if (st == 1 && line_no == 1 && cp_warc_is_start(line, len)) {
            f->warc = cp_warc_create(f->r, f->files[f->file_idx], line, len, f->cfg->max_line_bytes);
            continue;
        }
        f->line_in_file = line_no;
        f->off_in_file += len + 1;
    }
    if (f->line_in_file != f->skip.line || f->off_in_file != f->skip.offset)
        batch_event(b, 1, (uint32_t)f->file_idx,
                    "%s: cannot resume at %s %" PRIu64 " (byte %" PRIu64 "): the file changed since the checkpoint",
                    f->files[f->file_idx], f->warc ? "record" : "line", f->skip.line, f->skip.offset);
    f->skip.line = 0;
}

/* Fills one batch. Line bytes go to the arena by offset and become pointers at the end, because the arena
 * may move while it grows. */
static cp_batch *fill_batch(cp_feeder *f)
{
    double t0 = cp_thread_cpu();
    cp_batch *b = cp_xcalloc(1, sizeof *b);
    b->index = f->batch_index++;
    const cp_config *cfg = f->cfg;
    while (b->arena_len < cfg->batch_bytes && b->n < MAX_BATCH_DOCS) {
        if (!f->r) {
            if (f->file_idx >= f->nfiles) {
                b->last = 1;
                break;
            }
            char err[1024];
            f->r = cp_reader_open_range(f->files[f->file_idx], f->ranges ? &f->ranges[f->file_idx] : NULL,
                                        cfg->max_line_bytes, err, sizeof err);
            if (!f->r) {
                batch_event(b, 1, (uint32_t)f->file_idx, "%s", err);
                f->file_idx++;
                continue;
            }
            if (f->skip.line && f->skip.file == f->file_idx)
                skip_to_checkpoint(f, b);
        }
        if (f->warc) {
            if (add_warc_record(f, b) <= 0)
                close_reader(f);
            continue;
        }
        const char *line;
        size_t len;
        uint64_t line_no;
        int st = cp_reader_getline(f->r, &line, &len, &line_no);
        if (st == 1 && line_no == 1 && cp_warc_is_start(line, len)) { /* WARC is told by its content */
            f->warc = cp_warc_create(f->r, f->files[f->file_idx], line, len, cfg->max_line_bytes);
            continue;
        }
        if (st == 1 || st == 2) {
            b->bytes_in += len + 1;
            f->line_in_file = line_no;
            f->off_in_file += len + 1;
            if (st == 1 && is_blank(line, len)) {
                b->blank_lines++;
                continue;
            }
            cp_doc *d = batch_add(b);
            d->file = (uint32_t)f->file_idx;
            d->line = line_no;
            d->seq = f->seq++;
            d->raw_len = len;
            if (st == 2) {
                d->raw = NULL;
                d->reject = "line_too_long";
                continue;
            }
            d->raw = (const char *)arena_put(b, cfg, line, len); /* offset + 1; 0 would mean NULL */
            continue;
        }
        if (st < 0)
            batch_event(b, 1, (uint32_t)f->file_idx, "%s", cp_reader_error(f->r));
        close_reader(f);
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->docs[i].raw)
            b->docs[i].raw = b->arena + ((uintptr_t)b->docs[i].raw - 1);
    b->end = (cp_input_pos){f->file_idx, f->r ? f->line_in_file : 0, f->r ? f->off_in_file : 0, f->seq,
                            f->batch_index, f->done_compressed};
    atomic_store(&f->progress_bytes, f->done_compressed + (f->r ? cp_reader_bytes_in(f->r) : 0));
    f->read_seconds += cp_thread_cpu() - t0;
    return b;
}

void cp_batch_free(cp_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->docs[i].warc) { /* the feeder's message for a malformed record, when the batch never ran */
            free(b->docs[i].parse_error);
            b->docs[i].parse_error = NULL;
        }
    cp_counters_free(&b->warc_records);
    for (size_t i = 0; i < b->n_events; i++)
        free(b->events[i]);
    free(b->events);
    free(b->event_fatal);
    free(b->event_file);
    free(b->docs);
    free(b->arena);
    free(b);
}

static void *feeder_main(void *arg)
{
    cp_feeder *f = arg;
    for (;;) {
        if (f->serial) {
            pthread_mutex_lock(&f->mu);
            while (f->made >= f->wanted && !f->stop)
                pthread_cond_wait(&f->cv, &f->mu);
            int stop = f->stop;
            pthread_mutex_unlock(&f->mu);
            if (stop)
                break;
        }
        cp_batch *b = fill_batch(f);
        pthread_mutex_lock(&f->mu);
        while (f->q_count == QUEUE_BATCHES && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop) {
            pthread_mutex_unlock(&f->mu);
            cp_batch_free(b); /* the run is ending early */
            break;
        }
        f->queue[(f->q_head + f->q_count++) % QUEUE_BATCHES] = b;
        f->made++;
        int last = b->last;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (last)
            break;
    }
    if (f->r)
        close_reader(f);
    return NULL;
}

/* NULL when interrupted while waiting: the reader thread may be blocked on a quiet pipe. */
cp_batch *cp_feeder_next(cp_feeder *f, volatile sig_atomic_t *interrupted)
{
    pthread_mutex_lock(&f->mu);
    if (f->serial) {
        f->wanted++;
        pthread_cond_broadcast(&f->cv);
    }
    while (!f->q_count) {
        if (interrupted && *interrupted) {
            pthread_mutex_unlock(&f->mu);
            return NULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    cp_batch *b = f->queue[f->q_head];
    f->q_head = (f->q_head + 1) % QUEUE_BATCHES;
    f->q_count--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return b;
}

void cp_feeder_stop(cp_feeder *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    while (f->q_count) {
        cp_batch *b = f->queue[f->q_head];
        f->q_head = (f->q_head + 1) % QUEUE_BATCHES;
        f->q_count--;
        cp_batch_free(b);
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

cp_feeder *cp_feeder_start(const cp_feeder_opts *o, char *err, size_t errlen)
{
    cp_feeder *f = cp_xcalloc(1, sizeof *f);
    f->cfg = o->cfg;
    f->files = o->files;
    f->nfiles = o->nfiles;
    f->ranges = o->ranges;
    f->file_idx = (size_t)o->start.file;
    f->seq = o->start.seq;
    f->batch_index = o->start.batch;
    f->done_compressed = o->start.done_compressed;
    f->skip = o->start;
    f->serial = o->serial;
    atomic_init(&f->progress_bytes, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, feeder_main, f)) {
        snprintf(err, errlen, "cannot start the reader thread");
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        return NULL;
    }
    return f;
}

uint64_t cp_feeder_progress_bytes(cp_feeder *f)
{
    return atomic_load(&f->progress_bytes);
}

void cp_feeder_join(cp_feeder *f, double timeout_seconds)
{
    if (timeout_seconds > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double whole = (double)(long)timeout_seconds;
        ts.tv_sec += (time_t)whole;
        ts.tv_nsec += (long)((timeout_seconds - whole) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!pthread_timedjoin_np(f->thread, NULL, &ts))
            return;
        pthread_cancel(f->thread);
    }
    pthread_join(f->thread, NULL);
}

double cp_feeder_read_seconds(const cp_feeder *f)
{
    return f->read_seconds;
}

uint64_t cp_feeder_done_compressed(const cp_feeder *f)
{
    return f->done_compressed;
}

void cp_feeder_destroy(cp_feeder *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
