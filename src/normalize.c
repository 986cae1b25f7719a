/* Text normalisation: UTF-8 repair, NFC, line ends, control characters, blank lines.
 * NFC is skipped when no code point can be affected by it: every code point below U+0300 is NFC-stable
 * and cannot combine with a preceding one, and all of them encode with lead bytes below 0xCC. That keeps
 * most Latin-script text on a fast path that never calls utf8proc. */
#include "corpusprep/normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int needs_nfc(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0xCC)
            return 1;
    return 0;
}

/* Removes controls and fixes line ends and blank lines, from in to out. */
static void tidy_lines(const char *in, size_t n, cp_buf *out, cp_norm_counts *c)
{
    const unsigned char *s = (const unsigned char *)in;
    cp_buf_reserve(out, n);
    size_t line_start = out->len; /* where the current output line starts */
    int blank_run = 0;            /* blank lines seen since the last non-blank line */
    int have_text = 0;            /* some non-blank line written */
    size_t i = 0;
    while (i <= n) {
        int eol = (i == n) || s[i] == '\n' || s[i] == '\r';
        if (!eol) {
            unsigned char ch = s[i];
            if (ch < 0x20 && ch != '\t') {
                c->controls++;
                i++;
                continue;
            }
            if (ch == 0x7f) {
                c->controls++;
                i++;
                continue;
            }
            if (ch == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) { /* C1 control */
                c->controls++;
                i += 2;
                continue;
            }
            if (ch == 0xEF && i + 2 < n && s[i + 1] == 0xBB && s[i + 2] == 0xBF) { /* BOM / ZWNBSP */
                c->controls++;
                i += 3;
                continue;
            }
            out->data[out->len++] = (char)ch;
            i++;
            continue;
        }
        /* end of a line: trim trailing blanks */
        while (out->len > line_start && (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
            out->len--;
        int blank = 1;
        for (size_t k = line_start; k < out->len; k++)
            if (out->data[k] != ' ' && out->data[k] != '\t') {
                blank = 0;
                break;
            }
        if (blank) {
            out->len = line_start;
            if (have_text)
                blank_run++;
        } else {
            if (line_start > 0 || have_text) {
                /* the line is already in place after line_start; insert separators before it */
                size_t len = out->len - line_start;
                size_t sep = blank_run ? 2 : 1;
                cp_buf_reserve(out, sep);
                memmove(out->data + line_start + sep, out->data + line_start, len);
                out->data[line_start] = '\n';
                if (sep == 2)
                    out->data[line_start + 1] = '\n';
                out->len += sep;
            }
            have_text = 1;
            blank_run = 0;
        }
        line_start = out->len;
        if (i == n)
            break;
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        i++;
    }
    out->data[out->len] = 0;
}

void cp_normalize_text(const char *s, size_t n, cp_buf *out, cp_buf *tmp, cp_norm_counts *c)
{
    const char *src = s;
    size_t len = n;
    tmp->len = 0;
    if (cp_utf8_valid_prefix(s, n) != n) {
        c->utf8_fixed += cp_utf8_repair(s, n, tmp);
        src = tmp->data;
        len = tmp->len;
    }
    utf8proc_uint8_t *nfc = NULL;
    if (needs_nfc((const unsigned char *)src, len)) {
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)src, (utf8proc_ssize_t)len, &nfc,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (r >= 0) {
            if ((size_t)r != len || memcmp(nfc, src, len))
                c->nfc_changed++;
            src = (const char *)nfc;
            len = (size_t)r;
        } else {
            nfc = NULL;
        }
    }
    tidy_lines(src, len, out, c);
    free(nfc);
}
