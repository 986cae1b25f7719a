/* mpi_plan: which rank reads which files and parts of files, planned by rank 0 (split.c), and the first line
 * number of every part (mpi_plan.h). Only corpusprep-mpi links it. */
#include "corpusprep/mpi_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/util.h"

#define SPLIT_MIN_GAIN_DEFAULT ((uint64_t)4 << 20)

void cp_mpi_plan_input(const cp_net *x, const cp_pipeline_opts *o, cp_mpi_plan *p)
{
    uint64_t n = 0;
    if (!x->rank) {
        const char *mg = getenv("CORPUSPREP_SPLIT_MIN_BYTES");
        uint64_t min_gain = mg && *mg ? strtoull(mg, NULL, 10) : SPLIT_MIN_GAIN_DEFAULT;
        cp_buf log = {0};
        p->seg = cp_split_plan(o->files, o->nfiles, x->size, min_gain, &p->n, &log);
        n = p->n;
        for (char *line = log.data, *end; !o->quiet && line && *line; line = end + 1) {
            end = strchr(line, '\n');
            fprintf(stderr, "corpusprep: %.*s\n", (int)(end - line), line);
        }
        cp_buf_free(&log);
    }
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, x->comm);
    if (x->rank) {
        p->seg = cp_xmalloc((size_t)n * sizeof *p->seg + 1);
        p->n = (size_t)n;
    }
    MPI_Bcast(p->seg, (int)(n * sizeof *p->seg), MPI_BYTE, 0, x->comm);
    int cut = 0;
    for (size_t i = 0; i < p->n; i++)
        cut |= p->seg[i].length != 0;
    if (!cut)
        return; /* whole files: every first line is 1 */
    double t0 = cp_now();
    uint64_t *lines = cp_xcalloc(p->n + 1, sizeof *lines);
    for (size_t i = 0; i < p->n; i++) {
        char err[512];
        /* a damaged segment counts its lines up to the damage; reading it in the run reports the damage */
        if (p->seg[i].rank == x->rank && p->seg[i].length)
            cp_split_count_lines(o->files[p->seg[i].file], &p->seg[i], o->cfg->max_line_bytes, &lines[i], err,
                                 sizeof err);
    }
    p->census_seconds = cp_now() - t0;
    MPI_Allreduce(MPI_IN_PLACE, lines, (int)p->n, MPI_UINT64_T, MPI_SUM, x->comm);
    cp_split_number_lines(p->seg, p->n, lines);
    free(lines);
}

void cp_mpi_plan_note(json_t *mine, const cp_mpi_plan *p, int rank)
{
    json_int_t segments = 0, parts = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->seg[i].rank == rank) {
            segments++;
            parts += p->seg[i].offset || p->seg[i].length; /* a part of a file, not a whole one */
        }
    json_object_set_new(mine, "inputs", json_integer(segments));
    json_object_set_new(mine, "file_parts", json_integer(parts));
    json_object_set_new(mine, "split_count_seconds", json_real(p->census_seconds));
}
