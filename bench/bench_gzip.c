/* gzip micro-benchmark: the figures behind the choice of gzip libraries (issue 9).
 * Inflate: one .gz file (single or multi-member) decoded in memory, streaming into a 1 MiB buffer as the reader
 * does, with zlib, ISA-L (isal_inflate) and libdeflate (whole members into one buffer: it cannot stream).
 * Deflate: the decoded bytes cut into ~1 MiB chunks at line ends, as the pipeline's output, each compressed
 * as one gzip member with zlib and with libdeflate at several levels; MB/s and ratio.
 * MB/s are of uncompressed bytes per CPU second of this thread, the best of REPS runs (a busy machine only
 * adds time). The deflate half uses the first DEFLATE_MB [32] of the decoded bytes, since the slow levels
 * would take minutes on a whole bench input. Usage: bench_gzip FILE.gz [reps=3] [deflate_mb=32] */
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define OUT_BYTES (1u << 20)
#define CHUNK_BYTES (1u << 20)

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    unsigned char *p = malloc(cap);
    size_t k;
    while ((k = fread(p + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    *n = len;
    return p;
}

/* Each inflater returns the number of decoded bytes (0 on error); keep != NULL receives them. */
typedef size_t (*inflater)(const unsigned char *in, size_t n, unsigned char *out, unsigned char *keep);

static size_t inflate_zlib(const unsigned char *in, size_t n, unsigned char *out, unsigned char *keep)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 31) != Z_OK)
        return 0;
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    size_t total = 0;
    while (zs.avail_in > 0) {
        zs.next_out = out;
        zs.avail_out = OUT_BYTES;
        int ret = inflate(&zs, Z_NO_FLUSH);
        size_t got = OUT_BYTES - zs.avail_out;
        if (keep)
            memcpy(keep + total, out, got);
        total += got;
        if (ret == Z_STREAM_END)
            inflateReset(&zs);
        else if (ret != Z_OK) {
            total = 0;
            break;
        }
    }
    inflateEnd(&zs);
    return total;
}

static size_t inflate_isal(const unsigned char *in, size_t n, unsigned char *out, unsigned char *keep)
{
    static struct inflate_state st;
    isal_inflate_init(&st);
    st.crc_flag = ISAL_GZIP;
    st.next_in = (unsigned char *)in;
    st.avail_in = (uint32_t)n;
    size_t total = 0;
    while (st.avail_in > 0 || st.read_in_length > 0) {
        st.next_out = out;
        st.avail_out = OUT_BYTES;
        int ret = isal_inflate(&st);
        size_t got = OUT_BYTES - st.avail_out;
        if (keep)
            memcpy(keep + total, out, got);
        total += got;
        if (ret != ISAL_DECOMP_OK)
            return 0;
        if (st.block_state == ISAL_BLOCK_FINISH) {
            /* bytes still held in the bit buffer belong to the next member */
            size_t back = (size_t)(st.read_in_length / 8);
            unsigned char *next = st.next_in - back;
            uint32_t left = st.avail_in + (uint32_t)back;
            isal_inflate_reset(&st);
            st.crc_flag = ISAL_GZIP;
            st.next_in = next;
            st.avail_in = left;
            if (left == 0)
                break;
        } else if (got == 0 && st.avail_in == 0) {
            return 0; /* truncated */
        }
    }
    return total;
}

static size_t inflate_libdeflate(const unsigned char *in, size_t n, unsigned char *out, unsigned char *keep)
{
    static struct libdeflate_decompressor *d;
    static unsigned char *big;
    static size_t big_cap;
    if (!d)
        d = libdeflate_alloc_decompressor();
    size_t total = 0, pos = 0;
    (void)out;
    while (pos < n) {
        /* a member's size is in its trailer (ISIZE mod 2^32), but where the member ends is not known before
         * decoding it: give it the whole remaining output space */
        if (!big) {
            big_cap = (size_t)1 << 30;
            big = malloc(big_cap);
        }
        size_t used = 0, got = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, in + pos, n - pos, big, big_cap, &used, &got);
        if (r != LIBDEFLATE_SUCCESS)
            return 0;
        if (keep)
            memcpy(keep + total, big, got);
        total += got;
        pos += used;
    }
    return total;
}

static double best_of(int reps, inflater f, const unsigned char *in, size_t n, unsigned char *out, size_t *bytes)
{
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t = cpu();
        *bytes = f(in, n, out, NULL);
        t = cpu() - t;
        if (t < best)
            best = t;
    }
    return best;
}

/* Cuts raw into chunks of about CHUNK_BYTES ending at a line end, as the pipeline does. */
static size_t next_chunk(const unsigned char *raw, size_t n, size_t off)
{
    size_t end = off + CHUNK_BYTES < n ? off + CHUNK_BYTES : n;
    while (end < n && raw[end - 1] != '\n')
        end++;
    return end - off;
}

static size_t deflate_zlib(int level, const unsigned char *raw, size_t n, unsigned char *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    size_t total = 0;
    for (size_t off = 0; off < n;) {
        size_t m = next_chunk(raw, n, off);
        deflateReset(&zs);
        size_t bound = deflateBound(&zs, (uLong)m);
        zs.next_in = (unsigned char *)raw + off;
        zs.avail_in = (uInt)m;
        zs.next_out = out;
        zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            return 0;
        total += bound - zs.avail_out;
        off += m;
    }
    deflateEnd(&zs);
    return total;
}

static size_t deflate_libdeflate(int level, const unsigned char *raw, size_t n, unsigned char *out)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    size_t total = 0;
    for (size_t off = 0; off < n;) {
        size_t m = next_chunk(raw, n, off);
        size_t got = libdeflate_gzip_compress(c, raw + off, m, out, libdeflate_gzip_compress_bound(c, m));
        if (!got)
            return 0;
        total += got;
        off += m;
    }
    libdeflate_free_compressor(c);
    return total;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gzip FILE.gz [reps] [deflate_mb]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (reps < 1)
        reps = 1;
    size_t deflate_cap = (size_t)((argc > 3 ? atof(argv[3]) : 32) * 1e6);
    size_t n;
    unsigned char *in = slurp(argv[1], &n);
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    unsigned char *out = malloc(OUT_BYTES);
    /* decoded size, and the decoded bytes for the deflate half and the cross-check */
    size_t raw_n = inflate_zlib(in, n, out, NULL);
    if (!raw_n) {
        fprintf(stderr, "%s: zlib cannot decode it\n", argv[1]);
        return 1;
    }
    unsigned char *raw = malloc(raw_n), *check = malloc(raw_n);
    inflate_zlib(in, n, out, raw);
    printf("%s: %.1f MB gzip, %.1f MB decoded; best of %d runs, MB/s of decoded bytes per CPU second\n", argv[1],
           n / 1e6, raw_n / 1e6, reps);

    static const struct {
        const char *name;
        inflater f;
    } inf[] = {{"zlib inflate (streaming)", inflate_zlib},
               {"ISA-L isal_inflate (streaming)", inflate_isal},
               {"libdeflate (whole members)", inflate_libdeflate}};
    int rc = 0;
    for (size_t k = 0; k < sizeof inf / sizeof inf[0]; k++) {
        memset(check, 0, raw_n);
        size_t got = inf[k].f(in, n, out, check);
        if (got != raw_n || memcmp(check, raw, raw_n) != 0) {
            printf("%-34s DIFFERENT OUTPUT (%zu bytes)\n", inf[k].name, got);
            rc = 1;
            continue;
        }
        double t = best_of(reps, inf[k].f, in, n, out, &got);
        printf("%-34s %8.1f MB/s\n", inf[k].name, raw_n / 1e6 / t);
    }

    /* room for the largest chunk, whichever library */
    unsigned char *z = malloc(libdeflate_gzip_compress_bound(NULL, raw_n) + compressBound((uLong)raw_n) + 64);
    size_t dn = raw_n < deflate_cap ? raw_n : deflate_cap;
    if (dn == 0)
        goto done;
    printf("\ngzip output of the first %.1f MB, ~1 MiB members (MB/s of uncompressed bytes, ratio = uncompressed / "
           "compressed):\n", dn / 1e6);
    for (int lib = 0; lib < 2; lib++) {
        static const int zl[] = {1, 3, 6, 9}, ld[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        const int *lv = lib ? ld : zl;
        size_t nl = lib ? sizeof ld / sizeof ld[0] : sizeof zl / sizeof zl[0];
        for (size_t i = 0; i < nl; i++) {
            double best = 1e30;
            size_t zn = 0;
            for (int r = 0; r < (lv[i] >= 10 ? 1 : reps); r++) { /* the slowest levels: one run is enough */
                double t = cpu();
                zn = lib ? deflate_libdeflate(lv[i], raw, dn, z) : deflate_zlib(lv[i], raw, dn, z);
                t = cpu() - t;
                if (t < best)
                    best = t;
            }
            char name[64];
            snprintf(name, sizeof name, "%s level %d", lib ? "libdeflate" : "zlib", lv[i]);
            printf("%-34s %8.1f MB/s  ratio %.3f\n", name, dn / 1e6 / best, zn ? dn / (double)zn : 0.0);
        }
    }
    free(z);
done:
    free(in);
    free(out);
    free(raw);
    free(check);
    return rc;
}
