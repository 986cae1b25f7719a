/* progress: see progress.h. A log line carries what a person tailing a Slurm log wants: elapsed time, MB
 * read of the total, documents, MB/s and the ETA, which assumes the rest of the input goes at the average
 * speed so far. */
#include "corpusprep/progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

#include "corpusprep/util.h"

#define LIVE_SECONDS 0.5
#define LOG_SECONDS 60.0

struct cp_progress {
    int live;                 /* rewrite one line in place (a terminal) */
    double every, start, last;
    uint64_t total;
    const char *label;
};

cp_progress *cp_progress_create(double every_seconds, uint64_t total_bytes, double start)
{
    cp_progress *p = cp_xcalloc(1, sizeof *p);
    p->start = p->last = start;
    p->total = total_bytes;
    if (every_seconds == 0) {
        p->live = isatty(2);
        p->every = p->live ? LIVE_SECONDS : LOG_SECONDS;
    } else {
        p->every = every_seconds; /* < 0: silent */
    }
    return p;
}

void cp_progress_set_label(cp_progress *p, const char *label)
{
    p->label = label;
}

static void eta(char *out, size_t n, double elapsed, uint64_t done, uint64_t total)
{
    out[0] = 0;
    if (total && done && done < total && elapsed > 1) {
        double s = elapsed * (double)(total - done) / (double)done;
        if (s >= 3600)
            snprintf(out, n, ", ETA %.0f h %02.0f min", (double)(int)(s / 3600), (double)((int)s % 3600) / 60);
        else if (s >= 60)
            snprintf(out, n, ", ETA %d min %02d s", (int)s / 60, (int)s % 60);
        else
            snprintf(out, n, ", ETA %.0f s", s);
    }
}

static void show(cp_progress *p, uint64_t done, uint64_t bytes, uint64_t docs, int live, int final)
{
    double el = cp_now() - p->start;
    double mbs = el > 0 ? bytes / 1e6 / el : 0;
    char e[64];
    const char *label = p->label ? p->label : "", *sep = p->label ? ": " : "";
    eta(e, sizeof e, el, done, p->total);
    if (live)
        fprintf(stderr, "\r%s%s%.1f of %.1f MB read, %.1f MB/s, %.0f docs/s, %" PRIu64 " docs%s\033[K%s", label, sep,
                done / 1e6, p->total / 1e6, mbs, el > 0 ? docs / el : 0, docs, e, final ? "\n" : "");
    else
        fprintf(stderr, "corpusprep: progress %.0f s: %s%s%.1f of %.1f MB read (%.1f %%), %" PRIu64 " docs, %.1f MB/s%s\n",
                el, label, sep, done / 1e6, p->total / 1e6, p->total ? 100.0 * (double)done / (double)p->total : 0.0,
                docs, mbs, e);
}

void cp_progress_update(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs)
{
    if (p->every <= 0)
        return;
    double now = cp_now();
    if (now - p->last < p->every)
        return;
    p->last = now;
    show(p, done_compressed, bytes, docs, p->live, 0);
}

void cp_progress_finish(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs)
{
    if (p->every > 0 && p->live)
        show(p, done_compressed, bytes, docs, 1, 1);
}

void cp_progress_print(cp_progress *p, uint64_t done_compressed, uint64_t bytes, uint64_t docs)
{
    p->last = cp_now();
    show(p, done_compressed, bytes, docs, 0, 0);
}

void cp_progress_destroy(cp_progress *p)
{
    free(p);
}
