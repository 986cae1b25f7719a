/* reader: turns one input file (plain, gzip or zstd; "-" for stdin) into a stream of lines, and expands the
 * command-line inputs into the list of files of a run.
 *
 * Data flows file -> in (compressed, 256 KiB) -> out (decoded, 1 MiB) -> lines. Plain input is read straight
 * into out. A line that lies wholly inside out is returned as a pointer into it, so the common case copies
 * nothing; only a line that straddles two fills of out is assembled in acc, which never grows beyond
 * max_line_bytes: a longer line is counted, not stored. The format is sniffed from the first four bytes,
 * which are kept and handed to the decoder, so stdin needs no seeking.
 *
 * Decoding problems are latched: data decoded before an error is still split into lines, then the error is
 * returned for good. A reader is owned by one thread at a time; there is no shared state between readers.
 *
 * gzip is decoded by ISA-L's igzip (about three times zlib's speed, bench/bench_gzip.c) when the build has it
 * (CP_HAVE_ISAL; `make ISAL=0` leaves it out) and the input is a regular file; zlib decodes pipes and the
 * ISAL=0 build. Damaged input must read the same on both paths: the same lines, the same error at the same
 * line, zlib's own words. So ISA-L never reports a gzip error itself. When it stops on one (corrupt or
 * truncated data, or a header it would not check as zlib does), zlib takes over at the start of the current
 * member, re-reading it from the file and dropping the bytes ISA-L had already delivered; from there on
 * everything, the error included, is zlib's. What ISA-L wrote in the call that met the damage is never kept
 * (its fast path writes ahead), and if zlib stops before the end of what ISA-L delivered, the part not yet
 * split into lines is taken back. The one case this cannot make exact is data that ISA-L decodes further
 * than zlib would before refusing it, by more than one 1 MiB decode buffer: then the lines of the earlier
 * buffers are ISA-L's, the error zlib's. Trailing garbage after a member is judged by each path alone, on the
 * same bytes: both read on until they hold the next member's first four bytes (or the end of the file), and
 * ISA-L hands that judgement to zlib, which decodes the member before it again: ISA-L accepts some damaged
 * members that zlib refuses (an incomplete Huffman code set). Such a member in the middle of a file, with a
 * trailer that matches what ISA-L decoded, would still read differently; it takes a CRC-32 match by chance or
 * a hand-made stream. */
#include "corpusprep/reader.h"

#include "corpusprep/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#ifdef CP_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define IN_BYTES (256u << 10)
#define OUT_BYTES (1u << 20)

enum format { FMT_PLAIN, FMT_GZIP, FMT_ZSTD };

struct cp_reader {
    char *name; /* for messages: the path, or "stdin" */
    int fd;
    bool own_fd; /* false for stdin, which stays open */
    enum format fmt;
    size_t max_line;

    unsigned char *in; /* compressed input (not used for plain) */
    size_t in_pos, in_len;
    bool in_eof;

    char *out; /* decoded bytes; out[out_pos..out_len) not yet split */
    size_t out_pos, out_len;

    char *acc; /* a line that straddles fills of out */
    size_t acc_len, acc_cap;
    bool skipping;      /* inside a line longer than max_line: only its length is kept */
    uint64_t skip_len;  /* bytes of that line seen so far */

    z_stream zs;
    bool zs_ready;
    bool member_done; /* a gzip member ended; the next byte must start another one */
    uint64_t skip_out;  /* zlib: decoded bytes still to drop, because ISA-L delivered them already */
    size_t skip_in_out; /* how many of those are at the end of out, not yet split into lines */
#ifdef CP_HAVE_ISAL
    struct inflate_state *isal; /* non-NULL while ISA-L decodes */
    off_t fd_base;              /* file offset of the reader's first byte */
    uint64_t member_in;         /* offset of the current member's first byte, from fd_base */
    uint64_t member_out;        /* bytes of the current member decoded so far */
#endif

    ZSTD_DStream *zds;
    size_t zstd_hint; /* last ZSTD_decompressStream result: 0 exactly at a frame boundary */

    bool last_out_full; /* the decoder filled out, so it may hold more output without new input */
    int src_status;     /* 0 while the source has data, then 1 at its clean end or -1 after an error */
    bool done;          /* getline has reported the end: it repeats final_status */
    int final_status;

    uint64_t line_no, read_total, bytes_out;
    /* A byte range of the file (cp_reader_open_range): read_total counts from its first byte. */
    uint64_t range_len;   /* bytes of the range; 0: to the end of the file */
    bool skip_first;      /* drop everything up to the first '\n' (the line belongs to the segment before) */
    bool overflow;        /* past the range's end: one more line, ended by the first '\n', then the end */
    char cause[256]; /* what went wrong, before the file and line are known */
    char err[512];
};

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Records the first error of the source. The line number is added when getline reaches the error: the
 * decoder runs up to a buffer ahead of the line splitting. */
static void set_error(cp_reader *r, const char *fmt, const char *detail)
{
    if (r->src_status < 0)
        return;
    snprintf(r->cause, sizeof r->cause, fmt, detail);
    r->src_status = -1;
}

/* read() that retries on EINTR; returns bytes read, 0 at end of file, -1 with errno set. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, buf, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
}

/* read_some on the reader's file, never past the end of its range while one is set (see overflow). */
static ssize_t src_read(cp_reader *r, void *buf, size_t n)
{
    if (r->range_len && !r->overflow) {
        uint64_t left = r->read_total < r->range_len ? r->range_len - r->read_total : 0;
        if (n > left)
            n = (size_t)left;
        if (!n)
            return 0;
    }
    return read_some(r->fd, buf, n);
}

/* Refills the compressed buffer, which must be empty. Returns false after an I/O error. */
static bool read_input(cp_reader *r)
{
    ssize_t k = src_read(r, r->in, IN_BYTES);
    if (k < 0) {
        set_error(r, "read error: %s", strerror(errno));
        return false;
    }
    r->in_pos = 0;
    r->in_len = (size_t)k;
    r->read_total += (uint64_t)k;
    if (k == 0)
        r->in_eof = true;
    return true;
}

/* Each fill_* decodes into out[0..OUT_BYTES) and returns the number of bytes produced. When it stops short
 * because the source ended or failed, it sets src_status; bytes already produced are still returned. */

static size_t fill_plain(cp_reader *r)
{
    ssize_t k = src_read(r, r->out, OUT_BYTES);
    if (k < 0) {
        set_error(r, "read error: %s", strerror(errno));
        return 0;
    }
    if (k == 0)
        r->src_status = 1;
    r->read_total += (uint64_t)k;
    return (size_t)k;
}

/* Moves the unread bytes keep[0..n) to the start of the input buffer and reads until it holds at least four
 * bytes or the file ends. Returns false after an I/O error. */
static bool top_up_input(cp_reader *r, const unsigned char *keep, size_t n)
{
    memmove(r->in, keep, n);
    r->in_pos = 0;
    r->in_len = n;
    while (r->in_len < 4 && !r->in_eof) {
        ssize_t k = src_read(r, r->in + r->in_len, IN_BYTES - r->in_len);
        if (k < 0) {
            set_error(r, "read error: %s", strerror(errno));
            return false;
        }
        r->read_total += (uint64_t)k;
        r->in_len += (size_t)k;
        if (k == 0)
            r->in_eof = true;
    }
    return true;
}

/* zlib: decodes into out[have..OUT_BYTES) and returns the new number of bytes in out. The first skip_out
 * bytes it decodes are dropped (zlib re-decoding what ISA-L delivered, see the top of the file). */
static size_t fill_gzip_zlib(cp_reader *r, size_t have)
{
    z_stream *zs = &r->zs;
    zs->next_out = (unsigned char *)r->out + have;
    zs->avail_out = (uInt)(OUT_BYTES - have);
    while (zs->avail_out > 0) {
        if (zs->avail_in == 0 && !r->in_eof) {
            if (!read_input(r))
                break;
            zs->next_in = r->in;
            zs->avail_in = (uInt)r->in_len;
        }
        if (r->member_done) {
            if (zs->avail_in == 0) { /* in_eof: the file ends on a member boundary */
                r->src_status = 1;
                break;
            }
            /* The next member's magic may straddle two reads (a pipe hands out any split): decide on all of
             * it, as ISA-L's path does, or the verdict and bytes_in would depend on the split. */
            if (zs->avail_in < 4 && !r->in_eof) {
                if (!top_up_input(r, zs->next_in, zs->avail_in))
                    break;
                zs->next_in = r->in;
                zs->avail_in = (uInt)r->in_len;
            }
            /* Another member must follow; anything else is the "trailing garbage" gzip -d complains of. */
            if (zs->next_in[0] != 0x1f || (zs->avail_in > 1 && zs->next_in[1] != 0x8b)) {
                set_error(r, "%s", "trailing garbage after gzip data");
                break;
            }
            inflateReset(zs);
            r->member_done = false;
        }
        if (zs->avail_in == 0 && !r->last_out_full) {
            set_error(r, "%s", "unexpected end of gzip data (truncated file?)");
            break;
        }
        int ret = inflate(zs, Z_NO_FLUSH);
        r->last_out_full = zs->avail_out == 0;
        size_t got = (size_t)((char *)zs->next_out - (r->out + have));
        if (r->skip_out > 0) {
            size_t drop = got < r->skip_out ? got : (size_t)r->skip_out;
            memmove(r->out + have, r->out + have + drop, got - drop);
            r->skip_out -= drop;
            got -= drop;
            zs->next_out = (unsigned char *)r->out + have + got;
            zs->avail_out = (uInt)(OUT_BYTES - have - got);
        }
        have += got;
        if (ret == Z_STREAM_END) {
            r->member_done = true;
        } else if (ret == Z_BUF_ERROR) {
            /* No progress was possible: inflate wants input. At end of file that means truncation. */
            if (r->in_eof) {
                set_error(r, "%s", "unexpected end of gzip data (truncated file?)");
                break;
            }
        } else if (ret == Z_MEM_ERROR) {
            set_error(r, "%s", "out of memory in zlib");
            break;
        } else if (ret != Z_OK) {
            set_error(r, "corrupt gzip data (%s)", zs->msg ? zs->msg : "unknown zlib error");
            break;
        }
    }
    r->in_pos = r->in_len - zs->avail_in; /* keeps bytes_in exact */
    if (r->src_status < 0 && r->skip_out > 0) {
        /* zlib stopped before reaching what ISA-L delivered: take back what is still in out, so that the
         * lines end where zlib's would. */
        size_t back = r->skip_out < r->skip_in_out ? (size_t)r->skip_out : r->skip_in_out;
        have -= back;
        r->skip_out -= back;
    }
    r->skip_in_out = 0; /* the next fill hands out new bytes only */
    return have;
}

static bool start_zlib(cp_reader *r, char *err, size_t errlen)
{
    memset(&r->zs, 0, sizeof r->zs);
    r->zs.next_in = r->in + r->in_pos;
    r->zs.avail_in = (uInt)(r->in_len - r->in_pos);
    int ret = inflateInit2(&r->zs, 15 + 16); /* gzip wrapper only */
    if (ret != Z_OK) {
        snprintf(err, errlen, "cannot start zlib: %s", r->zs.msg ? r->zs.msg : zError(ret));
        return false;
    }
    r->zs_ready = true;
    return true;
}

#ifdef CP_HAVE_ISAL
/* Whether ISA-L may decode a member that starts with p[0..n): zlib refuses a method other than deflate and
 * reserved flag bits, which ISA-L does not check. Bytes not yet read are given the benefit of the doubt. */
static bool isal_header_ok(const unsigned char *p, size_t n)
{
    return (n < 3 || p[2] == 8) && (n < 4 || (p[3] & 0xe0) == 0);
}

/* Hands the current member to zlib, from its first byte (see the top of the file). Returns false, with the
 * error set, when the file cannot be re-read. */
static bool isal_to_zlib(cp_reader *r)
{
    free(r->isal);
    r->isal = NULL;
    if (lseek(r->fd, r->fd_base + (off_t)r->member_in, SEEK_SET) < 0) {
        set_error(r, "read error: %s", strerror(errno));
        return false;
    }
    r->read_total = r->member_in;
    r->in_pos = r->in_len = 0;
    r->in_eof = false;
    r->member_done = false;
    r->last_out_full = false;
    r->skip_out = r->member_out;
    char err[128];
    if (!start_zlib(r, err, sizeof err)) {
        set_error(r, "%s", err);
        return false;
    }
    return true;
}

static void isal_start_member(cp_reader *r)
{
    struct inflate_state *st = r->isal;
    isal_inflate_reset(st);
    st->crc_flag = ISAL_GZIP;
    r->member_in = r->read_total - st->avail_in;
    r->member_out = 0;
    r->member_done = false;
}

static size_t fill_gzip_isal(cp_reader *r)
{
    struct inflate_state *st = r->isal;
    st->next_out = (uint8_t *)r->out;
    st->avail_out = OUT_BYTES;
    while (st->avail_out > 0) {
        if (st->avail_in == 0 && !r->in_eof) {
            if (!read_input(r))
                break;
            st->next_in = r->in;
            st->avail_in = (uint32_t)r->in_len;
        }
        if (r->member_done) {
            if (st->avail_in == 0) { /* in_eof: the file ends on a member boundary */
                r->src_status = 1;
                break;
            }
            if (st->avail_in < 4 && !r->in_eof) { /* the header straddles two reads: see all of its start */
                if (!top_up_input(r, st->next_in, st->avail_in))
                    break;
                st->next_in = r->in;
                st->avail_in = (uint32_t)r->in_len;
            }
            /* Not a member: the error is zlib's to give, after zlib has judged the member that ended here.
             * ISA-L accepts an incomplete Huffman code set, which zlib refuses (so do libdeflate and miniz);
             * its trailer still has to match, so only an empty member (CRC 0, size 0) gets that far in
             * practice, and a fuzzer found one. Rare, and it costs one member decoded twice. */
            if (st->next_in[0] != 0x1f || (st->avail_in > 1 && st->next_in[1] != 0x8b))
                goto to_zlib;
            isal_start_member(r);
            if (!isal_header_ok(st->next_in, st->avail_in))
                goto to_zlib;
        }
        uint32_t in_before = st->avail_in, out_before = st->avail_out;
        int ret = isal_inflate(st);
        if (ret != ISAL_DECOMP_OK && ret != ISAL_END_INPUT) {
            /* Its fast path writes ahead and may find the damage only later in the same call: none of what
             * this call wrote is kept. */
            st->avail_out = out_before;
            goto to_zlib;
        }
        r->member_out += out_before - st->avail_out;
        if (st->block_state == ISAL_BLOCK_FINISH) {
            /* The member and its trailer are checked. Whole bytes still in the bit buffer belong to
             * whatever follows it. */
            uint32_t back = (uint32_t)(st->read_in_length / 8);
            st->next_in -= back;
            st->avail_in += back;
            st->read_in = 0;
            st->read_in_length = 0;
            r->member_done = true;
            continue;
        }
        /* No progress: it wants input it cannot have (truncation), or it is stuck. */
        if (st->avail_out == out_before && st->avail_in == in_before && (st->avail_in > 0 || r->in_eof))
            goto to_zlib;
    }
    r->in_pos = r->in_len - st->avail_in; /* exact at a member boundary; inside one, bits may be buffered */
    return OUT_BYTES - st->avail_out;
to_zlib:;
    size_t have = OUT_BYTES - st->avail_out;
    if (!isal_to_zlib(r))
        return have;
    /* The member's bytes of this fill, still in out, can be taken back if zlib stops before them. */
    r->skip_in_out = r->member_out < have ? (size_t)r->member_out : have;
    return fill_gzip_zlib(r, have);
}
#endif

static size_t fill_gzip(cp_reader *r)
{
#ifdef CP_HAVE_ISAL
    if (r->isal)
        return fill_gzip_isal(r);
#endif
    return fill_gzip_zlib(r, 0);
}

static size_t fill_zstd(cp_reader *r)
{
    ZSTD_outBuffer ob = { r->out, OUT_BYTES, 0 };
    while (ob.pos < ob.size) {
        if (r->in_pos == r->in_len && !r->in_eof && !read_input(r))
            break;
        if (r->in_pos == r->in_len && !r->last_out_full) {
            if (r->zstd_hint == 0)
                r->src_status = 1;
            else
                set_error(r, "%s", "unexpected end of zstd data (truncated file?)");
            break;
        }
        ZSTD_inBuffer ib = { r->in, r->in_len, r->in_pos };
        size_t out_before = ob.pos, in_before = ib.pos;
        size_t ret = ZSTD_decompressStream(r->zds, &ob, &ib);
        r->in_pos = ib.pos;
        if (ZSTD_isError(ret)) {
            set_error(r, "corrupt zstd data (%s)", ZSTD_getErrorName(ret));
            break;
        }
        /* A call that did nothing (empty input, nothing left to flush) returns a hint for the next frame
         * header, not 0, so only a call that made progress tells whether we sit on a frame boundary. */
        bool progressed = ob.pos != out_before || ib.pos != in_before;
        if (progressed)
            r->zstd_hint = ret;
        r->last_out_full = progressed && ob.pos == ob.size;
    }
    return ob.pos;
}

/* Replaces the consumed contents of out with newly decoded bytes. Returns the number of bytes now in out;
 * 0 means the source has ended (src_status 1) or failed (src_status -1). */
static size_t refill(cp_reader *r)
{
    r->out_pos = r->out_len = 0;
    if (r->src_status != 0)
        return 0;
    size_t n = r->fmt == FMT_PLAIN ? fill_plain(r) : r->fmt == FMT_GZIP ? fill_gzip(r) : fill_zstd(r);
    r->out_len = n;
    r->bytes_out += n;
    return n;
}

/* Adds a piece of the current line to acc, or switches to counting once the line outgrows max_line. */
static void keep_piece(cp_reader *r, const char *p, size_t n)
{
    if (r->skipping) {
        r->skip_len += n;
        return;
    }
    if (n > r->max_line - r->acc_len) {
        r->skipping = true;
        r->skip_len = (uint64_t)r->acc_len + n;
        r->acc_len = 0;
        return;
    }
    if (r->acc_len + n > r->acc_cap) {
        size_t cap = r->acc_cap ? r->acc_cap : 4096;
        while (cap < r->acc_len + n)
            cap = cap > r->max_line / 2 ? r->max_line : cap * 2;
        r->acc = cp_xrealloc(r->acc, cap);
        r->acc_cap = cap;
    }
    memcpy(r->acc + r->acc_len, p, n);
    r->acc_len += n;
}

/* Hands out the line assembled in acc (or the length of a skipped one) and starts a new one. */
static int emit_assembled(cp_reader *r, const char **line, size_t *len, uint64_t *line_no)
{
    *line_no = ++r->line_no;
    if (r->skipping) {
        r->skipping = false;
        *line = NULL;
        *len = (size_t)r->skip_len;
        return 2;
    }
    *line = r->acc ? r->acc : "";
    *len = r->acc_len;
    r->acc_len = 0; /* the bytes stay valid until the next call appends */
    return 1;
}

/* A line handed out while overflowing ends the range: the next call reports the end. */
static int range_last(cp_reader *r, int st)
{
    if (r->overflow) {
        r->done = true;
        r->final_status = 0;
    }
    return st;
}

int cp_reader_getline(cp_reader *r, const char **line, size_t *len, uint64_t *line_no)
{
    if (r->done)
        return r->final_status;
    for (;;) {
        if (r->out_pos < r->out_len) {
            char *p = r->out + r->out_pos;
            size_t n = r->out_len - r->out_pos;
            char *nl = memchr(p, '\n', n);
            if (r->skip_first) {
                r->out_pos = nl ? r->out_pos + (size_t)(nl - p) + 1 : r->out_len;
                if (!nl)
                    continue;
                r->skip_first = false;
                if (r->overflow) { /* that line ended past the range: the range holds no line of its own */
                    r->done = true;
                    r->final_status = 0;
                    return 0;
                }
                continue;
            }
            if (!nl) {
                keep_piece(r, p, n);
                r->out_pos = r->out_len;
                continue;
            }
            size_t seg = (size_t)(nl - p);
            r->out_pos += seg + 1;
            if (r->acc_len == 0 && !r->skipping) {
                *line_no = ++r->line_no;
                *len = seg;
                if (seg > r->max_line) {
                    *line = NULL;
                    return range_last(r, 2);
                }
                *line = p;
                return range_last(r, 1);
            }
            keep_piece(r, p, seg);
            return range_last(r, emit_assembled(r, line, len, line_no));
        }
        if (refill(r) > 0)
            continue;
        if (r->src_status == 1 && r->range_len && !r->overflow) {
            /* The range ends on a member, frame or byte boundary, not necessarily a line's: read on into what
             * follows for the line that is open there, or the next whole one (the next range skips it). */
            r->overflow = true;
            r->src_status = 0;
            r->in_eof = false;
            continue;
        }
        r->done = true;
        r->final_status = r->src_status < 0 ? -1 : 0;
        /* A last line without '\n', or the decoded part of a line cut short by an error; the error is in
         * that line, else in the one after the last line returned. */
        bool pending = (r->acc_len > 0 || r->skipping) && !r->skip_first;
        if (r->final_status < 0)
            snprintf(r->err, sizeof r->err, "%s: line %llu: %s", r->name,
                     (unsigned long long)r->line_no + 1, r->cause);
        if (pending)
            return emit_assembled(r, line, len, line_no);
        return r->final_status;
    }
}

const char *cp_reader_error(const cp_reader *r) { return r->err; }

const char *cp_reader_gzip_decoder(const cp_reader *r)
{
    if (r->fmt != FMT_GZIP)
        return NULL;
#ifdef CP_HAVE_ISAL
    if (r->isal)
        return "isal";
#endif
    return "zlib";
}

uint64_t cp_reader_bytes_in(const cp_reader *r)
{
    uint64_t n = r->read_total - (r->in_len - r->in_pos);
    return r->range_len && n > r->range_len ? r->range_len : n; /* a range's overflow is the next one's */
}

uint64_t cp_reader_bytes_out(const cp_reader *r) { return r->bytes_out; }

void cp_reader_close(cp_reader *r)
{
    if (!r)
        return;
    if (r->own_fd)
        close(r->fd);
    if (r->zs_ready)
        inflateEnd(&r->zs);
#ifdef CP_HAVE_ISAL
    free(r->isal);
#endif
    ZSTD_freeDStream(r->zds);
    free(r->in);
    free(r->out);
    free(r->acc);
    free(r->name);
    free(r);
}

static enum format format_of(const unsigned char *magic, size_t got)
{
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return FMT_GZIP;
    if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return FMT_ZSTD;
    return FMT_PLAIN;
}

static const char *const format_names[] = {"plain", "gzip", "zstd"};

/* A range's reader starts at its first byte; a plain file's range is plain whatever its first bytes look
 * like, a compressed one must start with the format's magic (a member or frame boundary). */
static bool enter_range(cp_reader *r, const cp_reader_range *range, enum format *file_fmt, char *err, size_t errlen)
{
    unsigned char head[4];
    ssize_t got = pread(r->fd, head, sizeof head, 0);
    if (got < 0 || lseek(r->fd, (off_t)range->offset, SEEK_SET) < 0) {
        snprintf(err, errlen, "%s: %s", r->name, strerror(errno));
        return false;
    }
    *file_fmt = format_of(head, (size_t)got);
    r->range_len = range->length;
    r->skip_first = range->offset > 0;
    return true;
}

cp_reader *cp_reader_open(const char *path, size_t max_line_bytes, char *err, size_t errlen)
{
    return cp_reader_open_range(path, NULL, max_line_bytes, err, errlen);
}

cp_reader *cp_reader_open_range(const char *path, const cp_reader_range *range, size_t max_line_bytes, char *err,
                                size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    cp_reader *r = cp_xcalloc(1, sizeof *r);
    r->name = cp_xstrdup(is_stdin ? "stdin" : path);
    r->max_line = max_line_bytes;
    r->fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        cp_reader_close(r);
        return NULL;
    }
    r->own_fd = !is_stdin;
    enum format file_fmt = FMT_PLAIN;
    bool part = range && (range->offset || range->length); /* a whole file needs no seeking: pipes stay readable */
    if (part && !is_stdin && !enter_range(r, range, &file_fmt, err, errlen)) {
        cp_reader_close(r);
        return NULL;
    }
    if (range && range->first_line)
        r->line_no = range->first_line - 1;
    posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* fails harmlessly on pipes */
#ifdef CP_HAVE_ISAL
    /* ISA-L needs to be able to hand a member back to zlib by re-reading it: regular files only. */
    struct stat st;
    bool seekable = fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) && (r->fd_base = lseek(r->fd, 0, SEEK_CUR)) >= 0;
#endif

    /* Sniff the magic; a pipe may deliver it in pieces. */
    unsigned char magic[4];
    size_t got = 0;
    while (got < sizeof magic) {
        ssize_t k = src_read(r, magic + got, sizeof magic - got);
        if (k < 0) {
            snprintf(err, errlen, "%s: %s", r->name, strerror(errno));
            cp_reader_close(r);
            return NULL;
        }
        if (k == 0)
            break;
        got += (size_t)k;
        r->read_total = got; /* src_read's cap counts it */
    }
    r->fmt = format_of(magic, got);
    if (range && range->offset > 0) {
        if (file_fmt == FMT_PLAIN) {
            r->fmt = FMT_PLAIN;
        } else if (r->fmt != file_fmt) {
            snprintf(err, errlen, "%s: byte %llu is not the start of a %s %s", r->name,
                     (unsigned long long)range->offset, format_names[file_fmt],
                     file_fmt == FMT_GZIP ? "member" : "frame");
            cp_reader_close(r);
            return NULL;
        }
    }

    const char *want = has_suffix(path, ".gz") ? "gzip" : has_suffix(path, ".zst") ? "zstd" : NULL;
    if (want && strcmp(want, format_names[r->fmt]) != 0) {
        snprintf(err, errlen, "%s: not in %s format", path, want);
        cp_reader_close(r);
        return NULL;
    }

    r->out = cp_xmalloc(OUT_BYTES);
    if (r->fmt == FMT_PLAIN) {
        memcpy(r->out, magic, got);
        r->out_len = got;
        r->bytes_out = got;
        return r;
    }
    r->in = cp_xmalloc(IN_BYTES);
    memcpy(r->in, magic, got);
    r->in_len = got;
    if (r->fmt == FMT_GZIP) {
#ifdef CP_HAVE_ISAL
        if (seekable && isal_header_ok(magic, got)) {
            r->isal = cp_xmalloc(sizeof *r->isal);
            isal_inflate_init(r->isal);
            r->isal->next_in = r->in;
            r->isal->avail_in = (uint32_t)got;
            isal_start_member(r);
            return r;
        }
#endif
        char why[128];
        if (!start_zlib(r, why, sizeof why)) {
            snprintf(err, errlen, "%s: %s", r->name, why);
            cp_reader_close(r);
            return NULL;
        }
    } else {
        r->zds = ZSTD_createDStream();
        size_t ret = r->zds ? ZSTD_initDStream(r->zds) : 0;
        if (!r->zds || ZSTD_isError(ret)) {
            snprintf(err, errlen, "%s: cannot start zstd: %s", r->name,
                     r->zds ? ZSTD_getErrorName(ret) : "out of memory");
            cp_reader_close(r);
            return NULL;
        }
        r->zstd_hint = 1; /* inside a frame until the decoder says otherwise */
    }
    return r;
}

/* ---- input list ---- */

static const char *const input_suffixes[] = { ".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst",
                                               /* WARC (warc.c): Common Crawl's *.warc.gz, *.warc.wet.gz, ... */
                                               ".warc", ".warc.gz", ".warc.zst", ".wet", ".wet.gz", ".wet.zst" };

static bool is_input_name(const char *name)
{
    for (size_t i = 0; i < sizeof input_suffixes / sizeof input_suffixes[0]; i++)
        if (has_suffix(name, input_suffixes[i]))
            return true;
    return false;
}

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static void strvec_push(strvec *sv, char *s)
{
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->v = cp_xrealloc(sv->v, sv->cap * sizeof *sv->v);
    }
    sv->v[sv->n++] = s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Collects matching files below dir. Symbolic links to files count as files; symbolic links to directories
 * are not followed, so a link cycle cannot trap the walk. */
static int walk_dir(const char *dir, strvec *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    cp_buf path = { 0 };
    for (;;) {
        errno = 0;
        if (!(e = readdir(d))) {
            if (errno) {
                snprintf(err, errlen, "%s: %s", dir, strerror(errno));
                rc = -1;
            }
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path.len = 0;
        cp_buf_puts(&path, dir);
        if (path.len == 0 || path.data[path.len - 1] != '/')
            cp_buf_putc(&path, '/');
        cp_buf_puts(&path, e->d_name);

        bool is_dir = e->d_type == DT_DIR, is_file = e->d_type == DT_REG;
        if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
            struct stat st;
            if (lstat(path.data, &st) == 0 && S_ISDIR(st.st_mode))
                is_dir = true;
            else if (stat(path.data, &st) == 0 && S_ISREG(st.st_mode))
                is_file = true;
        }
        if (is_dir) {
            if ((rc = walk_dir(path.data, out, err, errlen)) != 0)
                break;
        } else if (is_file && is_input_name(e->d_name)) {
            strvec_push(out, cp_xstrdup(path.data));
        }
    }
    cp_buf_free(&path);
    closedir(d);
    return rc;
}

void cp_inputs_free(char **files, size_t nfiles)
{
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
}

int cp_inputs_expand(char *const *args, size_t nargs, char ***files, size_t *nfiles, char *err, size_t errlen)
{
    strvec all = { 0 };
    *files = NULL;
    *nfiles = 0;
    for (size_t i = 0; i < nargs; i++) {
        struct stat st;
        if (strcmp(args[i], "-") != 0 && stat(args[i], &st) != 0) {
            snprintf(err, errlen, "%s: %s", args[i], strerror(errno));
            cp_inputs_free(all.v, all.n);
            return -1;
        }
        if (strcmp(args[i], "-") == 0 || !S_ISDIR(st.st_mode)) {
            strvec_push(&all, cp_xstrdup(args[i]));
            continue;
        }
        size_t first = all.n;
        if (walk_dir(args[i], &all, err, errlen) != 0) {
            cp_inputs_free(all.v, all.n);
            return -1;
        }
        if (all.n > first)
            qsort(all.v + first, all.n - first, sizeof *all.v, cmp_str);
    }
    *files = all.v;
    *nfiles = all.n;
    return 0;
}
