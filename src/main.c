/* corpusprep command line: options in, exit code out. Everything else lives in the library.
 * Exit codes: 0 success, 1 runtime failure (an input not read to its end, output not written),
 * 2 usage or configuration error, 130 interrupted. */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef CP_HAVE_ISAL
#include <isa-l.h>
#endif

#include "corpusprep/checkpoint.h"
#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/explain.h"
#include "corpusprep/filter.h"
#include "corpusprep/langid.h"
#include "corpusprep/pipeline.h"
#include "corpusprep/reader.h"
#include "corpusprep/report.h"
#include "corpusprep/writer.h"
#ifdef CP_MPI
#include "corpusprep/mpi_cluster.h"
#include "corpusprep/spill.h"
#endif

#define CORPUSPREP_VERSION "0.1.0"
#define CP_STR_(x) #x
#define CP_STR(x) CP_STR_(x)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: corpusprep [options] -o OUTDIR INPUT...\n"
"       corpusprep report OUTDIR    rebuild OUTDIR/report.html from a finished run's stats.json\n"
"Cleans, deduplicates and language-labels crawl dumps: JSONL (one JSON document per line) or WARC/WET\n"
"(Common Crawl; each conversion record is a document, other record types are counted and skipped).\n"
"INPUT is a file (.jsonl, .jsonl.gz, .json.gz, .jsonl.zst, .warc.wet.gz, .wet, .warc.gz, .warc.zst, ...;\n"
"compression and WARC are detected from content), a folder (every such file below it, in sorted order)\n"
"or - for standard input.\n"
"\n"
"Input:\n"
"  --text-field a,b,c     fields to take the text from, first present wins [text,maintext,content,body]\n"
"  --max-line SIZE        longer lines are rejected as line_too_long [256M]\n"
"Language:\n"
"  --langs nl,en          keep only these languages (ISO 639-1) [all]\n"
"  --min-lang-score X     reject documents whose language score is below X (0..1) [0]\n"
"                         The labeller is CLD2; a config with {\"langid\": {\"backend\": \"fasttext\",\n"
"                         \"model\": \"lid.176.ftz\"}} uses a fastText model instead (lid.176, GlotLID)\n"
"Deduplication:\n"
"  --no-dedup             no exact deduplication [exact on]\n"
"  --dedup-url            also reject later documents with the same normalised url [off]\n"
"  --no-near-dedup        no MinHash near-duplicate removal [on: 14 bands x 8 rows, word 5-grams]\n"
"Output:\n"
"  -o, --output DIR       output folder (must be empty, or use --force) [required]\n"
"  --force                replace the shards and stats.json of a previous run in DIR\n"
"  --keep-rejected        also write rejected documents, with reject_reason, to DIR/rejected/\n"
"  --split-by lang        one folder per language, DIR/<lang>/part-...\n"
"  --shard-size SIZE      uncompressed bytes per output shard [256M]\n"
"  --compress KIND        gzip, zstd or none [gzip]\n"
"  --format KIND          kept records as jsonl (the input record, cleaned) or dolma\n"
"                         ({id,text,source,added,created,metadata}); rejected ones stay jsonl [jsonl]\n"
"  --source NAME          dolma's source [the input file's name]\n"
"  --added DATE           dolma's added [the run's UTC date; SOURCE_DATE_EPOCH sets it]\n"
"  --level N              compression level (gzip 0-9, zstd -7..19) [1]; gzip is made by libdeflate:\n"
"                         0-8 are its levels 0-8, 9 is its best (12)\n"
"  --no-report            no DIR/report.html (the self-contained HTML report of the run) [written]\n"
"  --explain SPEC         write DIR/explain.jsonl: each line's fate and each filter's value for N documents\n"
"                         (the lowest hashes of their ids), id:ID1,ID2,... or line:FILE:LINE [off]\n"
"Long runs:\n"
"  --resume               go on with the interrupted run in DIR from its last checkpoint (same\n"
"                         arguments otherwise); the output is the same as an uninterrupted run's\n"
"  --checkpoint-every X   checkpoint to DIR/_checkpoint/ after X of wall time (30s, 10m, 1h) or X\n"
"                         uncompressed input bytes (512M, 4G) [10m]; SIGTERM and SIGINT write one\n"
"                         before exit 130; 0: only then; off: never (partial output removed)\n"
"Cluster (corpusprep-mpi):\n"
"  --scratch DIR          where each rank keeps its processed input between the two passes (zstd,\n"
"                         about 40 %% of the uncompressed input; removed at the end, kept for\n"
"                         --resume when the job is interrupted in its second pass)\n"
"                         [$SLURM_TMPDIR, else $TMPDIR, else DIR/_scratch]\n"
"  --spill-level N        the spill's zstd level: 1, or lower (-1, -5, ... -1000) for less CPU and\n"
"                         more scratch; README, Cluster mode, has the figures [1]\n"
"Run:\n"
"  -t, --threads N        worker threads; -t 1 uses one core [all cores]\n"
"  -c, --config FILE      JSON config merged over the defaults, or a built-in preset: news (the\n"
"                         default), c4, gopher, fineweb, none (no line cleaning, no quality filters)\n"
"  --print-config         print the effective configuration as JSON and exit\n"
"  --progress-every S     a progress log line every S seconds (0: none) [a live line on a terminal,\n"
"                         otherwise a log line every 60 s; cluster: rank 0 logs the whole job's figures]\n"
"  -q, --quiet            only errors on stderr\n"
"  -v, --verbose          every per-document warning (not just the first %d of each kind)\n"
"  -h, --help             this help\n"
"  --version              version and libraries\n"
"Precedence: built-in defaults < config file < flags. Exit codes: 0 ok, 1 runtime failure (an input\n"
"not read to its end, output not written), 2 usage or configuration error (also: nothing to resume,\n"
"or a --resume whose config, input files or corpusprep build differ), 130 interrupted.\n", 10);
}

static json_t *split_list(const char *s)
{
    json_t *a = json_array();
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        if (!e)
            break;
        p = e + 1;
    }
    return a;
}

enum {
    OPT_TEXT_FIELD = 256, OPT_LANGS, OPT_MIN_LANG_SCORE, OPT_KEEP_REJECTED, OPT_SPLIT_BY, OPT_SHARD_SIZE,
    OPT_LEVEL, OPT_PRINT_CONFIG, OPT_VERSION, OPT_COMPRESS, OPT_FORCE, OPT_MAX_LINE, OPT_NO_DEDUP, OPT_DEDUP_URL,
    OPT_NO_NEAR, OPT_FORMAT, OPT_SOURCE, OPT_ADDED, OPT_NO_REPORT, OPT_EXPLAIN, OPT_PROGRESS_EVERY, OPT_RESUME, OPT_CHECKPOINT_EVERY,
    OPT_SCRATCH, OPT_SPILL_LEVEL
};

/* "10m", "90s", "1h" -> seconds; "4G", "512M", "123" -> input bytes; "0" -> only on a signal; "off" -> none. */
static int parse_checkpoint_every(const char *s, double *seconds, uint64_t *bytes, int *on)
{
    char *end;
    *on = strcmp(s, "off") != 0;
    if (!*on) {
        *seconds = 0;
        *bytes = 0;
        return 0;
    }
    double v = strtod(s, &end);
    if (end != s && v >= 0 && (!strcmp(end, "s") || !strcmp(end, "m") || !strcmp(end, "h"))) {
        *seconds = v * (*end == 'h' ? 3600 : *end == 'm' ? 60 : 1);
        *bytes = 0;
        return 0;
    }
    if (cp_parse_size(s, bytes))
        return -1;
    *seconds = 0;
    return 0;
}

/* 1 when OUTDIR holds a complete checkpoint that --resume can take */
static int has_checkpoint(const char *outdir)
{
    char ck[4096];
    snprintf(ck, sizeof ck, "%s/" CP_CHECKPOINT_DIR, outdir);
    DIR *d = opendir(ck);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)))
        found = !strncmp(e->d_name, "ckpt-", 5) && !strstr(e->d_name, ".tmp");
    if (d)
        closedir(d);
    return found;
}

#ifdef CP_MPI
/* corpusprep-mpi: the same command line between MPI_Init and MPI_Finalize; the run goes to cp_mpi_run */
static int cli_main(int argc, char **argv);
int main(int argc, char **argv)
{
    return cp_mpi_main(argc, argv, cli_main);
}
static int cli_main(int argc, char **argv)
#else
int main(int argc, char **argv)
#endif
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},       {"threads", required_argument, 0, 't'},
        {"config", required_argument, 0, 'c'},       {"text-field", required_argument, 0, OPT_TEXT_FIELD},
        {"langs", required_argument, 0, OPT_LANGS},  {"min-lang-score", required_argument, 0, OPT_MIN_LANG_SCORE},
        {"keep-rejected", no_argument, 0, OPT_KEEP_REJECTED}, {"split-by", required_argument, 0, OPT_SPLIT_BY},
        {"shard-size", required_argument, 0, OPT_SHARD_SIZE}, {"level", required_argument, 0, OPT_LEVEL},
        {"compress", required_argument, 0, OPT_COMPRESS}, {"print-config", no_argument, 0, OPT_PRINT_CONFIG},
        {"force", no_argument, 0, OPT_FORCE},        {"max-line", required_argument, 0, OPT_MAX_LINE},
        {"no-dedup", no_argument, 0, OPT_NO_DEDUP},  {"dedup-url", no_argument, 0, OPT_DEDUP_URL},
        {"no-near-dedup", no_argument, 0, OPT_NO_NEAR},
        {"format", required_argument, 0, OPT_FORMAT}, {"source", required_argument, 0, OPT_SOURCE},
        {"added", required_argument, 0, OPT_ADDED},
        {"no-report", no_argument, 0, OPT_NO_REPORT}, {"explain", required_argument, 0, OPT_EXPLAIN},
        {"progress-every", required_argument, 0, OPT_PROGRESS_EVERY},
        {"resume", no_argument, 0, OPT_RESUME}, {"checkpoint-every", required_argument, 0, OPT_CHECKPOINT_EVERY},
        {"scratch", required_argument, 0, OPT_SCRATCH}, {"spill-level", required_argument, 0, OPT_SPILL_LEVEL},
        {"quiet", no_argument, 0, 'q'},              {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},               {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0}};
    char err[2048];
    const char *outdir = NULL, *config_file = NULL;
    int quiet = 0, verbose = 0, print_config = 0, force = 0, no_report = 0, resume = 0;
    double checkpoint_seconds = 600; /* 10 minutes: the cost is a share of the time (README, Long runs) */
    uint64_t checkpoint_bytes = 0;
    int checkpoints = 1;
    const char *explain = NULL;
#ifdef CP_MPI
    const char *scratch = NULL;
    int spill_level = CP_SPILL_LEVEL_DEFAULT;
#endif
    double progress_every = 0;
#ifdef __GLIBC__
    /* Each worker thread has its own malloc arena, and a batch's documents are made on one thread and freed
     * on another, so the arenas' tops grow and shrink by a batch's worth all the time: hundreds of mprotect and
     * brk calls, each change of mapping an interrupt to the other core. A 16 MiB pad lets a heap keep what it
     * grew. Measured (README, Performance, fourth round): -t 2 about 3 % less wall; 64 MiB was no faster and
     * kept up to 7 MB more resident. */
    mallopt(M_TOP_PAD, 16 << 20);
#endif
    if (argc == 3 && !strcmp(argv[1], "report")) {
        /* corpusprep report OUTDIR: the HTML report again from the run's stats.json and examples */
        if (cp_report_rebuild(argv[2], err, sizeof err)) {
            fprintf(stderr, "corpusprep: report: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "report")) {
        fprintf(stderr, "corpusprep: usage: corpusprep report OUTDIR\n");
        return 2;
    }
    /* Flags are applied after the config file, whatever their position: collect them first. */
    json_t *flags = json_object();
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:t:c:qvh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': outdir = optarg; break;
        case 'c': config_file = optarg; break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); json_decref(flags); return 0;
        case OPT_VERSION:
            printf("corpusprep %s (jansson %s, zlib %s, libdeflate %s, gzip input: %s, CLD2 with %d languages)\n",
                   CORPUSPREP_VERSION, JANSSON_VERSION, ZLIB_VERSION, LIBDEFLATE_VERSION_STRING,
#ifdef CP_HAVE_ISAL
                   "ISA-L " CP_STR(ISAL_MAJOR_VERSION) "." CP_STR(ISAL_MINOR_VERSION) " for files, zlib for pipes",
#else
                   "zlib",
#endif
                   cp_langid_language_count());
            json_decref(flags);
            return 0;
        case OPT_PRINT_CONFIG: print_config = 1; break;
        case OPT_FORCE: force = 1; break;
        case OPT_RESUME: resume = 1; break;
        case OPT_SCRATCH:
#ifdef CP_MPI
            scratch = optarg;
            break;
#else
            fprintf(stderr, "corpusprep: --scratch is for cluster mode (corpusprep-mpi)\n");
            json_decref(flags);
            return 2;
#endif
        case OPT_SPILL_LEVEL:
#ifdef CP_MPI
            if (cp_spill_parse_level(optarg, &spill_level, err, sizeof err)) {
                fprintf(stderr, "corpusprep: --spill-level: %s\n", err);
                json_decref(flags);
                return 2;
            }
            break;
#else
            fprintf(stderr, "corpusprep: --spill-level is for cluster mode (corpusprep-mpi)\n");
            json_decref(flags);
            return 2;
#endif
        case OPT_CHECKPOINT_EVERY:
            if (parse_checkpoint_every(optarg, &checkpoint_seconds, &checkpoint_bytes, &checkpoints)) {
                fprintf(stderr, "corpusprep: --checkpoint-every needs a time (30s, 10m, 1h) or a size (4G), not '%s'\n",
                        optarg);
                json_decref(flags);
                return 2;
            }
            break;
        case 't': {
            long t = strtol(optarg, &end, 10);
            if (*end || t < 1 || t > 4096) {
                fprintf(stderr, "corpusprep: -t needs a number of threads from 1 to 4096, not '%s'\n", optarg);
                return 2;
            }
            json_object_set_new(flags, "run.threads", json_integer(t));
            break;
        }
        case OPT_TEXT_FIELD: json_object_set_new(flags, "input.text_fields", split_list(optarg)); break;
        case OPT_MAX_LINE: json_object_set_new(flags, "input.max_line_bytes", json_string(optarg)); break;
        case OPT_LANGS: json_object_set_new(flags, "langid.keep_langs", split_list(optarg)); break;
        case OPT_MIN_LANG_SCORE: {
            double v = strtod(optarg, &end);
            if (*end || end == optarg) {
                fprintf(stderr, "corpusprep: --min-lang-score needs a number from 0 to 1, not '%s'\n", optarg);
                return 2;
            }
            json_object_set_new(flags, "langid.min_score", json_real(v));
            break;
        }
        case OPT_KEEP_REJECTED: json_object_set_new(flags, "output.keep_rejected", json_true()); break;
        case OPT_SPLIT_BY: json_object_set_new(flags, "output.split_by", json_string(optarg)); break;
        case OPT_SHARD_SIZE: json_object_set_new(flags, "output.shard_size", json_string(optarg)); break;
        case OPT_COMPRESS: json_object_set_new(flags, "output.compress", json_string(optarg)); break;
        case OPT_NO_DEDUP: json_object_set_new(flags, "dedup.exact", json_false()); break;
        case OPT_DEDUP_URL: json_object_set_new(flags, "dedup.url", json_true()); break;
        case OPT_NO_NEAR: json_object_set_new(flags, "near_dedup.enabled", json_false()); break;
        case OPT_FORMAT: json_object_set_new(flags, "output.format", json_string(optarg)); break;
        case OPT_SOURCE: json_object_set_new(flags, "output.source", json_string(optarg)); break;
        case OPT_ADDED: json_object_set_new(flags, "output.added", json_string(optarg)); break;
        case OPT_NO_REPORT: no_report = 1; break;
        case OPT_EXPLAIN: {
            cp_explain *e = cp_explain_create(optarg, err, sizeof err);
            if (!e) {
                fprintf(stderr, "corpusprep: %s\n", err);
                json_decref(flags);
                return 2;
            }
            cp_explain_destroy(e);
            explain = optarg;
            break;
        }
        case OPT_PROGRESS_EVERY: {
            double v = strtod(optarg, &end);
            if (*end || end == optarg || !(v >= 0) || v > 1e6) {
                fprintf(stderr, "corpusprep: --progress-every needs seconds (0 for none), not '%s'\n", optarg);
                json_decref(flags);
                return 2;
            }
            progress_every = v > 0 ? v : -1;
            break;
        }
        case OPT_LEVEL: {
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg) {
                fprintf(stderr, "corpusprep: --level needs a whole number, not '%s'\n", optarg);
                return 2;
            }
            json_object_set_new(flags, "output.level", json_integer(v));
            break;
        }
        default:
            if (optopt)
                fprintf(stderr, "corpusprep: option -%c %s\n", optopt,
                        strchr("otc", optopt) ? "needs a value" : "is unknown");
            else
                fprintf(stderr, "corpusprep: unknown option or missing value: %s\n", argv[optind - 1]);
            fprintf(stderr, "Try 'corpusprep --help'.\n");
            json_decref(flags);
            return 2;
        }
    }

    json_t *tree = cp_config_defaults(err, sizeof err);
    if (!tree) {
        fprintf(stderr, "corpusprep: %s\n", err);
        return 2;
    }
    if (config_file && cp_config_merge_file(tree, config_file, err, sizeof err)) {
        fprintf(stderr, "corpusprep: %s\n", err);
        json_decref(tree);
        return 2;
    }
    const char *k;
    json_t *v;
    json_object_foreach(flags, k, v) {
        char sect[64];
        const char *dot = strchr(k, '.');
        snprintf(sect, sizeof sect, "%.*s", (int)(dot - k), k);
        cp_config_set(tree, sect, dot + 1, json_incref(v));
    }
    json_decref(flags);
    cp_config cfg;
    if (cp_config_resolve(tree, &cfg, err, sizeof err)) {
        fprintf(stderr, "corpusprep: %s\n", err);
        json_decref(tree);
        return 2;
    }
    if (print_config) {
        /* The configuration as merged, which can be saved and given back with -c, plus under "_effective"
         * (ignored when read back, like every "_" key) the stages' own view: every default filled in and
         * the per-language overrides resolved. */
        json_t *shown = json_deep_copy(tree), *eff = json_object();
        json_object_set_new(shown, "_effective", eff);
        json_t *cs = json_object_get(tree, "clean"), *fs = json_object_get(tree, "filter");
        if (json_is_object(cs)) {
            cp_cleaner *cl = cp_cleaner_create(cs, err, sizeof err);
            if (!cl) {
                fprintf(stderr, "corpusprep: %s\n", err);
                json_decref(shown);
                cp_config_free(&cfg);
                json_decref(tree);
                return 2;
            }
            json_object_set_new(eff, "clean", cp_cleaner_to_json(cl));
            cp_cleaner_destroy(cl);
        }
        if (json_is_object(fs)) {
            cp_filter *fl = cp_filter_create(fs, err, sizeof err);
            if (!fl) {
                fprintf(stderr, "corpusprep: %s\n", err);
                json_decref(shown);
                cp_config_free(&cfg);
                json_decref(tree);
                return 2;
            }
            json_object_set_new(eff, "filter", cp_filter_to_json(fl));
            cp_filter_destroy(fl);
        }
        json_dumpf(shown, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(shown);
        putchar('\n');
        cp_config_free(&cfg);
        json_decref(tree);
        return 0;
    }
    int rc = 2;
    char **files = NULL;
    size_t nfiles = 0;
    if (!outdir) {
        fprintf(stderr, "corpusprep: no output folder (-o OUTDIR)\nTry 'corpusprep --help'.\n");
        goto done;
    }
    if (optind >= argc) {
        fprintf(stderr, "corpusprep: no input (give files, folders or - for standard input)\n"
                        "Try 'corpusprep --help'.\n");
        goto done;
    }
    if (cp_inputs_expand(argv + optind, (size_t)(argc - optind), &files, &nfiles, err, sizeof err)) {
        fprintf(stderr, "corpusprep: %s\n", err);
        rc = 1;
        goto done;
    }
    if (!nfiles && !quiet)
        fprintf(stderr, "corpusprep: warning: no input files found (looked for *.jsonl, *.jsonl.gz, *.json.gz, "
                        "*.jsonl.zst, *.warc.wet.gz, *.wet, *.warc.gz, ...)\n");
    if (resume && force) {
        fprintf(stderr, "corpusprep: --resume goes on with the run in OUTDIR, --force starts it again: give one\n");
        goto done;
    }
#ifndef CP_MPI /* in cluster mode rank 0 prepares OUTDIR */
    int prep = resume ? 0 : cp_output_prepare(outdir, force, err, sizeof err);
    if (prep) {
        fprintf(stderr, "corpusprep: %s\n", err);
        rc = prep == -2 ? 2 : 1;
        goto done;
    }
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    cp_pipeline_opts po = {.cfg = &cfg, .files = files, .nfiles = nfiles, .outdir = outdir, .quiet = quiet,
                           .verbose = verbose, .interrupted = &interrupted, .no_report = no_report,
                           .explain = explain, .progress_every = progress_every, .version = CORPUSPREP_VERSION,
                           .preset = config_file,
                           .resume = resume, .checkpoints = checkpoints, .checkpoint_bytes = checkpoint_bytes,
                           .checkpoint_seconds = checkpoint_seconds};
#ifdef CP_MPI
    rc = cp_mpi_run(&po, force, scratch, spill_level); /* reports on stderr itself */
    goto done;
#endif
    cp_stats st;
    memset(&st, 0, sizeof st);
    int r = cp_pipeline_run(&po, &st, err, sizeof err);
    if (r == -2) {
        fprintf(stderr, "corpusprep: %s\n", err);
        rc = 2;
    } else if (r < 0) {
        fprintf(stderr, "corpusprep: error: %s\n", err);
        if (has_checkpoint(outdir))
            fprintf(stderr, "corpusprep: the last checkpoint and its shards are kept: once the cause is fixed, run "
                            "the same command plus --resume\n");
        rc = 1;
    } else if (r == 130) {
        if (has_checkpoint(outdir))
            fprintf(stderr, "corpusprep: interrupted; checkpoint written: go on with the same command plus --resume\n");
        else
            fprintf(stderr, "corpusprep: interrupted; partial output removed\n");
        rc = 130;
    } else if (r == 1) {
        fprintf(stderr, "corpusprep: some input could not be read to its end (see above); exit status 1\n");
        rc = 1;
    } else {
        rc = 0;
    }
    cp_stats_free(&st);
done:
    cp_inputs_free(files, nfiles);
    cp_config_free(&cfg);
    json_decref(tree);
    return rc;
}
