/* mpi_stats: a cluster job's OUTDIR/stats.json and report page, merged on rank 0 from every rank's figures,
 * the same page a single process writes plus a "cluster" section. Only corpusprep-mpi links it; main thread
 * only. */
#ifndef CORPUSPREP_MPI_STATS_H
#define CORPUSPREP_MPI_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "corpusprep/mpi_exchange.h"
#include "corpusprep/pipeline.h"
#include "corpusprep/stats.h"

/* Collective over x->comm. Every rank sends st and its per-rank figures (mine, taken over) and the keys it owns
 * (distinct_mine, per CP_KEY_*); rank 0 sums them, adds the near-duplicate histogram (near_hist, already the
 * job's) and writes stats.json, then report.html unless o->no_report, and prints the summary unless quiet.
 * Returns 0, or -1 with a message on rank 0. */
int cp_mpi_merge_stats(const cp_net *x, const uint64_t distinct_mine[4], const uint64_t near_hist[13],
                           const cp_pipeline_opts *o, cp_stats *st, json_t *mine, char *err, size_t errlen);

#endif
