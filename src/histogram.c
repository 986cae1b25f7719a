/* Fixed-bucket histograms (see histogram.h). The log scale has four buckets per power of two: fine enough to
 * show the shape of a length distribution over nine orders of magnitude in 164 counters, and every bucket's
 * lower bound is a whole number, so its JSON key is exact. */
#include "corpusprep/histogram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAC_BUCKETS 20

void cp_hist_init(cp_hist *h, int kind)
{
    memset(h, 0, sizeof *h);
    h->kind = kind;
}

int cp_hist_nbuckets(int kind)
{
    return kind == CP_HIST_FRAC ? FRAC_BUCKETS : CP_HIST_BUCKETS;
}

static int log_bucket(uint64_t v)
{
    if (v < 4)
        return (int)v;
    int e = 63 - __builtin_clzll(v); /* 2^e <= v < 2^(e+1), e >= 2 */
    int b = 4 + (e - 2) * 4 + (int)((v >> (e - 2)) & 3);
    return b < CP_HIST_BUCKETS ? b : CP_HIST_BUCKETS - 1;
}

void cp_hist_add(cp_hist *h, double v)
{
    int b;
    if (h->kind == CP_HIST_FRAC) {
        b = v > 0 ? (int)(v * FRAC_BUCKETS) : 0;
        if (b >= FRAC_BUCKETS)
            b = FRAC_BUCKETS - 1;
    } else {
        b = v >= 1 ? log_bucket(v >= 1e18 ? (uint64_t)1e18 : (uint64_t)v) : 0;
    }
    h->n[b]++;
}

void cp_hist_merge(cp_hist *to, const cp_hist *from)
{
    for (int i = 0; i < CP_HIST_BUCKETS; i++)
        to->n[i] += from->n[i];
}

double cp_hist_bucket_lo(int kind, int i)
{
    if (kind == CP_HIST_FRAC)
        return (double)i / FRAC_BUCKETS;
    if (i < 4)
        return i;
    int e = (i - 4) / 4 + 2, sub = (i - 4) % 4;
    return (double)((uint64_t)(4 + sub) << (e - 2));
}

static void bucket_key(int kind, int i, char *out, size_t n)
{
    if (kind == CP_HIST_FRAC)
        snprintf(out, n, "%.2f", cp_hist_bucket_lo(kind, i));
    else
        snprintf(out, n, "%.0f", cp_hist_bucket_lo(kind, i));
}

json_t *cp_hist_to_json(const cp_hist *h)
{
    json_t *b = json_object();
    uint64_t count = 0;
    for (int i = 0; i < cp_hist_nbuckets(h->kind); i++) {
        if (!h->n[i])
            continue;
        char k[32];
        bucket_key(h->kind, i, k, sizeof k);
        json_object_set_new(b, k, json_integer((json_int_t)h->n[i]));
        count += h->n[i];
    }
    return json_pack("{sssIso}", "scale", h->kind == CP_HIST_FRAC ? "linear/20" : "log2/4", "count",
                     (json_int_t)count, "buckets", b);
}

int cp_hist_from_json(cp_hist *h, const json_t *j)
{
    const char *scale = json_string_value(json_object_get(j, "scale"));
    const json_t *b = json_object_get(j, "buckets");
    if (!scale || !json_is_object(b))
        return -1;
    if (!strcmp(scale, "linear/20"))
        cp_hist_init(h, CP_HIST_FRAC);
    else if (!strcmp(scale, "log2/4"))
        cp_hist_init(h, CP_HIST_LOG);
    else
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v) {
        char *end;
        double lo = strtod(k, &end);
        if (*end || !json_is_integer(v) || json_integer_value(v) < 0)
            return -1;
        int i = 0, nb = cp_hist_nbuckets(h->kind);
        while (i + 1 < nb && cp_hist_bucket_lo(h->kind, i + 1) <= lo + 1e-9)
            i++;
        if (fabs(cp_hist_bucket_lo(h->kind, i) - lo) > 1e-6)
            return -1;
        h->n[i] += (uint64_t)json_integer_value(v);
    }
    return 0;
}
