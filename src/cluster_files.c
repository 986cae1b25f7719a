/* cluster_files: the files a cluster job keeps beside its output (header: cluster_files.h): where each rank's
 * spill and decisions go, the job's marker that --resume looks for, and the figures of the collect pass folded
 * into the deciding pass's. No MPI here: the driver (mpi_cluster.c) calls these on each rank. */
#include "corpusprep/cluster_files.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "corpusprep/checkpoint.h"

/* Where this job's spills go: --scratch, else $SLURM_TMPDIR, else $TMPDIR, else OUTDIR/_scratch; inside it
 * one folder per OUTDIR (named after a hash of its absolute path, so that jobs sharing a scratch never meet
 * and a rerun of the same job finds its own), one spill per rank. */
void cp_cluster_scratch_paths(const char *outdir, const char *scratch, int rank, cp_buf *dir, cp_buf *file,
                              cp_buf *state)
{
    const char *base = scratch && *scratch ? scratch : getenv("SLURM_TMPDIR");
    if (!base || !*base)
        base = getenv("TMPDIR");
    char *abs = realpath(outdir, NULL);
    const char *key = abs ? abs : outdir;
    if (base && *base)
        cp_buf_printf(dir, "%s/corpusprep-%016" PRIx64, base, XXH3_64bits(key, strlen(key)));
    else
        cp_buf_printf(dir, "%s/_scratch", outdir);
    cp_buf_printf(file, "%s/rank-%d.spill", dir->data, rank);
    cp_buf_printf(state, "%s/rank-%d.state", dir->data, rank);
    free(abs);
}

/* What a spill must match to be read back: the configuration, the inputs, the ranks and this rank. */
uint64_t cp_cluster_fingerprint(const cp_pipeline_opts *o, uint64_t files_hash, int K, int rank)
{
    char *cfg = json_dumps(o->cfg->tree, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t v[4] = {files_hash, (uint64_t)K, (uint64_t)rank, cfg ? XXH3_64bits(cfg, strlen(cfg)) : 0};
    free(cfg);
    const char *ver = o->version ? o->version : "";
    return XXH3_64bits_withSeed(v, sizeof v, XXH3_64bits(ver, strlen(ver)));
}

void cp_cluster_scratch_remove(const cp_buf *dir, const cp_buf *file, const cp_buf *state)
{
    unlink(file->data);
    unlink(state->data);
    rmdir(dir->data); /* the last rank to leave removes the folder; others fail harmlessly */
}

/* The collect pass counted what P1 does (cleaning rules, UTF-8 repairs, compressed input); the deciding pass
 * read the spill and counted the rest. Rules keep the single process's order: cleaning's, then line dedup. */
void cp_cluster_add_collect_figures(cp_stats *st, const cp_stats *s1)
{
    st->utf8_fixed += s1->utf8_fixed;
    st->controls_removed += s1->controls_removed;
    st->nfc_changed += s1->nfc_changed;
    st->bytes_in_compressed = s1->bytes_in_compressed;
    cp_counters rules = {0};
    for (size_t i = 0; i < s1->rules.n; i++)
        if (strcmp(s1->rules.items[i].name, "line_dedup"))
            cp_counters_add(&rules, s1->rules.items[i].name, s1->rules.items[i].docs, s1->rules.items[i].chars);
    for (size_t i = 0; i < st->rules.n; i++)
        cp_counters_add(&rules, st->rules.items[i].name, st->rules.items[i].docs, st->rules.items[i].chars);
    cp_counters_free(&st->rules);
    st->rules = rules;
}

/* OUTDIR/_checkpoint/ckpt-cluster: rank 0 writes it when the job starts (with checkpoints on), holding the
 * job's fingerprint; it tells --resume that this OUTDIR holds an interrupted cluster job, and which. The
 * name keeps cp_output_prepare's messages and --force working (it removes ckpt-* files). */
static void marker_path(const char *outdir, cp_buf *p)
{
    cp_buf_printf(p, "%s/" CP_CHECKPOINT_DIR "/ckpt-cluster", outdir);
}

int cp_cluster_marker_write(const char *outdir, uint64_t job_fp, int K, char *err, size_t errlen)
{
    cp_buf p = {0}, dir = {0};
    cp_buf_printf(&dir, "%s/" CP_CHECKPOINT_DIR, outdir);
    marker_path(outdir, &p);
    FILE *f = mkdir(dir.data, 0755) && errno != EEXIST ? NULL : fopen(p.data, "w");
    int rc = !f || fprintf(f, "corpusprep-mpi job %016" PRIx64 " ranks %d\n", job_fp, K) < 0;
    if (f && fclose(f))
        rc = 1;
    if (rc)
        snprintf(err, errlen, "%s: cannot write: %s", p.data, strerror(errno));
    cp_buf_free(&p);
    cp_buf_free(&dir);
    return rc ? -1 : 0;
}

/* --resume on rank 0: 0 when OUTDIR holds this job's marker, else -2 and why (the single process's rules). */
int cp_cluster_marker_check(const char *outdir, uint64_t job_fp, int K, char *err, size_t errlen)
{
    cp_buf p = {0};
    marker_path(outdir, &p);
    FILE *f = fopen(p.data, "r");
    uint64_t fp = 0;
    int k = 0, ok = f && fscanf(f, "corpusprep-mpi job %" SCNx64 " ranks %d", &fp, &k) == 2;
    if (f)
        fclose(f);
    cp_buf_free(&p);
    if (!ok) {
        snprintf(err, errlen, "%s: nothing to resume (no interrupted corpusprep-mpi job)", outdir);
        return -2;
    }
    if (fp != job_fp) {
        snprintf(err, errlen, "%s: cannot resume: %s", outdir,
                 k != K ? "the job had another number of ranks; run it with the same -n"
                        : "the configuration, the input files or the corpusprep build differ from the interrupted "
                          "job's; run it again with --force");
        return -2;
    }
    return 0;
}
