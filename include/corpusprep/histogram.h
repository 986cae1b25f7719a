/* histogram: fixed-bucket histograms of per-document figures for the run report (document length, lines,
 * language score, share removed by cleaning). Buckets are fixed at compile time, so two histograms merge by
 * adding counts: threads, batches and MPI ranks give the same figures whatever the split. Plain data; the
 * ordered step owns the run's histograms. */
#ifndef CORPUSPREP_HISTOGRAM_H
#define CORPUSPREP_HISTOGRAM_H

#include <jansson.h>
#include <stdint.h>

enum {
    CP_HIST_LOG,  /* whole numbers >= 0: 0, 1, 2, 3, then four buckets per power of two ([4,5), [5,6), ...
                   * [1024,1280), [1280,1536), ...), up to 2^41 */
    CP_HIST_FRAC  /* fractions 0..1 in twenty buckets of 0.05; 1 goes to the last */
};
#define CP_HIST_BUCKETS 164

typedef struct {
    int kind;
    uint64_t n[CP_HIST_BUCKETS];
} cp_hist;

void cp_hist_init(cp_hist *h, int kind);
/* Counts one value (LOG: rounded down to a whole number, negatives count as 0; FRAC: clamped to 0..1). */
void cp_hist_add(cp_hist *h, double v);
void cp_hist_merge(cp_hist *to, const cp_hist *from);
/* Lower bound of bucket i; the bucket holds [lo(i), lo(i + 1)). */
double cp_hist_bucket_lo(int kind, int i);
/* Number of buckets of a kind (164 for LOG, 20 for FRAC). */
int cp_hist_nbuckets(int kind);
/* {"scale": "log2/4" | "linear/20", "count": N, "buckets": {"<lower bound>": count, ...}} with only the
 * non-empty buckets: a stats.json value that sums correctly key by key (new reference). */
json_t *cp_hist_to_json(const cp_hist *h);
/* The reverse, for `corpusprep report`; returns 0, or -1 when j is not such an object. */
int cp_hist_from_json(cp_hist *h, const json_t *j);

#endif
