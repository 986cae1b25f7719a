/* mpi_plan: which rank reads which input files, or parts of files where one huge file would leave ranks
 * idle (split.h), with the first line number of every part so that positions stay (file, line). Only
 * corpusprep-mpi links it; main thread only. */
#ifndef CORPUSPREP_MPI_PLAN_H
#define CORPUSPREP_MPI_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "corpusprep/mpi_exchange.h"
#include "corpusprep/pipeline.h"
#include "corpusprep/split.h"

typedef struct {
    cp_segment *seg;          /* every rank's segments, in (file, offset) order, first lines known; free() it */
    size_t n;
    double census_seconds;    /* this rank's counting of its segments' lines */
} cp_mpi_plan;

/* Collective over x->comm. Rank 0 plans (files whole, or cut) and says on stderr what it cut, unless quiet;
 * every rank gets the plan; each counts the lines of its segments that later segments of the same file need for
 * their first line numbers, and the counts are summed everywhere. CORPUSPREP_SPLIT_MIN_BYTES overrides the
 * smallest gain worth a cut. */
void cp_mpi_plan_input(const cp_net *x, const cp_pipeline_opts *o, cp_mpi_plan *p);
/* This rank's share of the plan, as stats.json's per-rank "inputs", "file_parts", "split_count_seconds". */
void cp_mpi_plan_note(json_t *mine, const cp_mpi_plan *p, int rank);

#endif
