/* mpi_stats: a cluster job's stats.json, from every rank's own figures gathered on rank 0: counters summed,
 * the slowest rank's wall time, the largest rank's memory, and the "cluster" section (mpi_stats.h). Only
 * corpusprep-mpi links it. */
#include "corpusprep/mpi_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/dedup.h"
#include "corpusprep/report.h"
#include "corpusprep/util.h"
#include "corpusprep/writer.h"

/* Adds the numbers of add into acc, recursively; other values keep acc's. */
static void json_sum_into(json_t *acc, json_t *add, int top)
{
    static const char *const keep[] = {"wall_seconds", "peak_rss_mb", "threads", "mb_per_s", "mb_per_cpu_s",
                                       "docs_per_s", "config", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(add, k, v) {
        int skip = 0;
        for (int i = 0; top && keep[i]; i++)
            skip |= !strcmp(k, keep[i]);
        if (skip)
            continue;
        json_t *a = json_object_get(acc, k);
        if (!a)
            json_object_set_new(acc, k, json_deep_copy(v));
        else if (json_is_object(a) && json_is_object(v))
            json_sum_into(a, v, 0);
        else if (json_is_integer(a) && json_is_integer(v))
            json_integer_set(a, json_integer_value(a) + json_integer_value(v));
        else if (json_is_number(a) && json_is_number(v))
            json_object_set_new(acc, k, json_real(json_number_value(a) + json_number_value(v)));
    }
}

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* The summary on stderr, from the merged stats.json object. */
static void print_summary(json_t *s, json_t *cl)
{
    cp_stats st;
    memset(&st, 0, sizeof st);
    st.files = (uint64_t)num(s, "files");
    st.files_failed = (uint64_t)num(s, "files_failed");
    st.docs_in = (uint64_t)num(s, "docs_in");
    st.docs_kept = (uint64_t)num(s, "docs_kept");
    st.bytes_in = (uint64_t)num(s, "bytes_in_uncompressed");
    st.bytes_in_compressed = (uint64_t)num(s, "bytes_in_compressed");
    st.bytes_out = (uint64_t)num(s, "bytes_out");
    st.shards = (uint64_t)num(s, "shards");
    st.wall_seconds = num(s, "wall_seconds");
    st.cpu_user = num(s, "cpu_seconds");
    st.peak_rss_kb = (long)(num(s, "peak_rss_mb") * 1024);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "docs_rejected"), k, v) cp_counters_add(&st.rejected, k,
                                                                                    (uint64_t)json_integer_value(v), 0);
    json_object_foreach(json_object_get(s, "langs"), k, v) cp_counters_add(&st.langs, k,
                                                                            (uint64_t)json_integer_value(v), 0);
    cp_stats_print(&st);
    cp_stats_free(&st);
    fprintf(stderr, "  cluster: %d ranks, %.1f MB exchanged between ranks (%.0f bytes per document), largest "
                    "dedup table %.1f MB on one rank, peak RSS %.1f MB on the largest rank\n",
            (int)num(cl, "ranks"), num(cl, "exchange_network_bytes") / 1e6, num(cl, "exchange_network_bytes_per_doc"),
            num(cl, "owner_table_peak_bytes_max") / 1e6, num(s, "peak_rss_mb"));
}

static json_t *near_hist_json(const uint64_t *h)
{
    static const char *const names[13] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11-100", "101+"};
    json_t *o = json_object();
    for (int k = 2; k < 13; k++)
        if (h[k])
            json_object_set_new(o, names[k], json_integer((json_int_t)h[k]));
    return o;
}

int cp_mpi_merge_stats(const cp_net *x, const uint64_t distinct_mine[4], const uint64_t near_hist[13],
                           const cp_pipeline_opts *o, cp_stats *st, json_t *mine, char *err, size_t errlen)
{
    json_t *j = cp_stats_to_json(st);
    json_object_set_new(j, "cluster_rank", mine);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int len = (int)strlen(text) + 1;
    int *lens = NULL, *displs = NULL;
    char *all = NULL;
    if (!x->rank) {
        lens = cp_xmalloc((size_t)x->size * sizeof *lens);
        displs = cp_xmalloc((size_t)x->size * sizeof *displs);
    }
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, x->comm);
    if (!x->rank) {
        size_t total = 0;
        for (int p = 0; p < x->size; p++) {
            displs[p] = (int)total;
            total += (size_t)lens[p];
        }
        all = cp_xmalloc(total);
    }
    MPI_Gatherv(text, len, MPI_CHAR, all, lens, displs, MPI_CHAR, 0, x->comm);
    free(text);
    uint64_t distinct[4];
    MPI_Reduce(distinct_mine, distinct, 4, MPI_UINT64_T, MPI_SUM, 0, x->comm);
    if (x->rank)
        return 0;

    json_t *acc = NULL, *per_rank = json_array(), *examples = NULL;
    double wall = 0, rss = 0;
    uint64_t net = 0, sent = 0, table_sum = 0, table_max = 0, line_table = 0, line_keys_max = 0;
    for (int p = 0; p < x->size; p++) {
        json_error_t je;
        json_t *r = json_loads(all + displs[p], JSON_ALLOW_NUL, &je); /* report examples' ids may hold \u0000 */
        if (!r) {
            snprintf(err, errlen, "stats of rank %d unreadable: %s", p, je.text);
            json_decref(acc);
            json_decref(per_rank);
            json_decref(examples);
            free(all);
            free(lens);
            free(displs);
            return -1;
        }
        json_t *cr = json_object_get(r, "cluster_rank");
        json_object_set_new(cr, "peak_rss_mb", json_real(num(r, "peak_rss_mb")));
        json_object_set_new(cr, "docs_in", json_integer((json_int_t)num(r, "docs_in")));
        json_object_set_new(cr, "bytes_in_uncompressed", json_integer((json_int_t)num(r, "bytes_in_uncompressed")));
        json_array_append(per_rank, cr);
        net += (uint64_t)num(cr, "exchange_network_bytes_sent");
        sent += (uint64_t)num(cr, "exchange_bytes_sent");
        uint64_t t = (uint64_t)num(cr, "owner_table_peak_bytes");
        table_sum += t;
        table_max = t > table_max ? t : table_max;
        line_table += (uint64_t)num(cr, "line_table_bytes");
        uint64_t lk = (uint64_t)num(cr, "line_key_buffer_bytes");
        line_keys_max = lk > line_keys_max ? lk : line_keys_max;
        if (num(r, "wall_seconds") > wall)
            wall = num(r, "wall_seconds");
        if (num(r, "peak_rss_mb") > rss)
            rss = num(r, "peak_rss_mb");
        json_object_del(r, "cluster_rank");
        /* the report's examples: each rank's lowest hashes, merged into the job's lowest */
        json_t *rex = json_object_get(r, "report_examples");
        if (rex && !examples)
            examples = json_incref(rex);
        else if (rex)
            cp_report_merge_examples(examples, rex);
        json_object_del(r, "report_examples");
        if (!acc) {
            acc = r;
        } else {
            json_sum_into(acc, r, 1);
            json_decref(r);
        }
    }
    free(all);
    free(lens);
    free(displs);
    static const char *const local_only[] = {"dedup_exact_keys", "dedup_table_bytes", "near_dup_clusters",
                                             "near_dup_index_bytes", "near_dup_bytes_per_doc", NULL};
    for (int i = 0; local_only[i]; i++)
        json_object_del(acc, local_only[i]);
    double docs = num(acc, "docs_in"), mb = num(acc, "bytes_in_uncompressed") / 1e6, cpu = num(acc, "cpu_seconds");
    json_object_set_new(acc, "files", json_integer((json_int_t)o->nfiles)); /* a file in parts counts once */
    json_object_set_new(acc, "wall_seconds", json_real(wall));
    json_object_set_new(acc, "peak_rss_mb", json_real(rss));
    json_object_set_new(acc, "mb_per_s", json_real(wall > 0 ? mb / wall : 0));
    json_object_set_new(acc, "mb_per_cpu_s", json_real(cpu > 0 ? mb / cpu : 0));
    json_object_set_new(acc, "docs_per_s", json_real(wall > 0 ? docs / wall : 0));
    json_object_set_new(acc, "dedup_exact_keys", json_integer((json_int_t)distinct[CP_KEY_EXACT]));
    json_object_set_new(acc, "dedup_table_bytes", json_integer((json_int_t)table_sum));
    json_object_set_new(acc, "line_dedup_distinct_lines", json_integer((json_int_t)distinct[CP_KEY_LINE]));
    json_object_set_new(acc, "line_dedup_table_bytes", json_integer((json_int_t)line_table));
    if (o->cfg->near_dedup)
        json_object_set_new(acc, "near_dup_clusters", near_hist_json(near_hist));
    json_t *cl = json_object();
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int liblen = 0;
    MPI_Get_library_version(lib, &liblen);
    lib[strcspn(lib, "\n\r,")] = 0;
    json_object_set_new(cl, "ranks", json_integer(x->size));
    json_object_set_new(cl, "mpi_library", json_string(lib));
    json_object_set_new(cl, "distinct_keys",
                        json_pack("{sIsIsIsI}", "exact", (json_int_t)distinct[CP_KEY_EXACT], "url",
                                  (json_int_t)distinct[CP_KEY_URL], "band", (json_int_t)distinct[CP_KEY_BAND],
                                  "line", (json_int_t)distinct[CP_KEY_LINE]));
    json_object_set_new(cl, "exchange_bytes", json_integer((json_int_t)sent));
    json_object_set_new(cl, "exchange_network_bytes", json_integer((json_int_t)net));
    json_object_set_new(cl, "exchange_network_bytes_per_doc", json_real(docs > 0 ? net / docs : 0));
    json_object_set_new(cl, "exchange_bytes_per_doc", json_real(docs > 0 ? sent / docs : 0));
    json_object_set_new(cl, "owner_table_peak_bytes_max", json_integer((json_int_t)table_max));
    json_object_set_new(cl, "line_key_buffer_bytes_max", json_integer((json_int_t)line_keys_max));
    uint64_t spill_sum = 0, spill_max = 0;
    for (size_t i = 0; i < json_array_size(per_rank); i++) {
        uint64_t b = (uint64_t)num(json_array_get(per_rank, i), "scratch_peak_bytes");
        spill_sum += b;
        spill_max = b > spill_max ? b : spill_max;
    }
    json_object_set_new(cl, "scratch_peak_bytes_max", json_integer((json_int_t)spill_max));
    json_object_set_new(cl, "spill_bytes_per_doc", json_real(docs > 0 ? spill_sum / docs : 0));
    json_t *level = json_object_get(json_array_get(per_rank, 0), "spill_level");
    if (level)
        json_object_set(cl, "spill_level", level);
    json_object_set_new(cl, "per_rank", per_rank);
    json_object_set_new(acc, "cluster", cl);
    json_object_set(acc, "config", o->cfg->tree);
    int rc = cp_write_json_atomic(o->outdir, "stats.json", acc, err, errlen);
    if (!rc && !o->no_report)
        rc = cp_report_write(o->outdir, acc, examples, err, errlen); /* the same page as a single process's */
    if (!rc && !o->quiet)
        print_summary(acc, cl);
    json_decref(examples);
    json_decref(acc);
    return rc;
}
