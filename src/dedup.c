/* Exact-dedup keys (normalised text hash, normalised URL hash) and the ordered step's key table.
 * The normaliser is on the hot path: a table of what happens to every BMP code point, and eight ASCII
 * letters, digits and spaces at a time. */
#include "corpusprep/dedup.h"

#include "corpusprep/checkpoint.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

/* What the normalisation does with one code point: drop it, turn it into a (pending) space, or emit one
 * code point. Encoded as (code point << 2) | kind. This function is the definition; the table below caches
 * it for the Basic Multilingual Plane so that the hot loop never calls utf8proc. */
enum { N_DROP, N_SPACE, N_EMIT };

static uint32_t classify(utf8proc_int32_t cp)
{
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            return (uint32_t)(cp + 32) << 2 | N_EMIT;
        if ((cp >= 'a' && cp <= 'z'))
            return (uint32_t)cp << 2 | N_EMIT;
        if (cp >= '0' && cp <= '9')
            return (uint32_t)'0' << 2 | N_EMIT;
        if (cp <= 0x20 || cp == 0x7f)
            return N_SPACE; /* white space and control characters */
        /* Symbols that carry meaning in text stay (they are not punctuation in Unicode either). */
        if (strchr("$+<=>^`|~", (int)cp))
            return (uint32_t)cp << 2 | N_EMIT;
        return N_DROP; /* ASCII punctuation */
    }
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    switch (p->category) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_CF:
        return N_DROP;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
        return N_SPACE;
    case UTF8PROC_CATEGORY_ND:
        return (uint32_t)'0' << 2 | N_EMIT;
    default:
        return (uint32_t)utf8proc_tolower(cp) << 2 | N_EMIT;
    }
}

static uint32_t *bmp; /* classify() of U+0000..U+FFFF; built once, read-only afterwards */
static pthread_once_t bmp_once = PTHREAD_ONCE_INIT;

static void bmp_init(void)
{
    bmp = cp_xmalloc(0x10000 * sizeof *bmp);
    for (utf8proc_int32_t cp = 0; cp < 0x10000; cp++)
        bmp[cp] = (cp >= 0xD800 && cp < 0xE000) ? N_DROP : classify(cp);
}

void cp_dedup_normalize(const char *str, size_t n, cp_buf *out)
{
    /* the first call comes from the parallel stages: build the table exactly once */
    pthread_once(&bmp_once, bmp_init);
    const unsigned char *s = (const unsigned char *)str;
    /* A lower-case letter can take one byte more than its capital (U+023A -> U+2C65, 2 -> 3 bytes), and
     * the eight-byte path stores whole words: 2n + 16 bounds every case. */
    cp_buf_reserve(out, 2 * n + 16);
    unsigned char *o = (unsigned char *)out->data + out->len;
    unsigned char *const o0 = o;
    int pending = 0; /* a space is owed before the next character that is written */
    const uint64_t hi = CP_HIGH8, ones = CP_ONES8;
    size_t i = 0;
    while (i < n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* ASCII letters, digits and single spaces map one to one: up to eight at a time, as far as the
         * first byte that needs the table (punctuation, a second space, anything not ASCII). Lanes are
         * exact below the first non-ASCII byte, because the lane arithmetic only carries upwards. */
        if (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            uint64_t low = x | 0x20 * ones;
            uint64_t al = cp_bytes_in(low, 'a', 'z'), dg = cp_bytes_in(x, '0', '9'), sp = cp_bytes_eq(x, ' ');
            uint64_t bad = (x & hi) | (~(al | dg | sp) & hi) | (sp & sp << 8);
            if ((sp & 0x80) && (pending || o == o0))
                bad |= 0x80; /* a leading space after a space, or at the start, is dropped */
            unsigned k = bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
            if (k) {
                if (pending && o > o0)
                    *o++ = ' ';
                uint64_t y = (low & (al >> 7) * 0xFF) | ('0' * ones & (dg >> 7) * 0xFF) |
                             (' ' * ones & (sp >> 7) * 0xFF);
                memcpy(o, &y, 8); /* lanes past k are garbage that the next write covers */
                o += k;
                pending = 0;
                if ((sp >> (8 * k - 1)) & 1) { /* a trailing space waits for what follows */
                    o--;
                    pending = 1;
                }
                i += k;
                continue;
            }
        }
#endif
        unsigned char c = s[i];
        utf8proc_int32_t cp;
        if (c < 0x80) {
            cp = c;
            i++;
        } else if (c >= 0xC2 && c < 0xE0 && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
            cp = (c & 0x1F) << 6 | (s[i + 1] & 0x3F); /* the common non-ASCII cases without a call */
            i += 2;
        } else if ((c & 0xF0) == 0xE0 && i + 2 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80 &&
                   (cp = (c & 0x0F) << 12 | (s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F)) >= 0x800 &&
                   (cp < 0xD800 || cp > 0xDFFF)) {
            i += 3;
        } else {
            utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
            if (k <= 0) { /* invalid: callers pass repaired text, but never loop forever */
                i++;
                continue;
            }
            i += (size_t)k;
        }
        uint32_t e = cp < 0x10000 ? bmp[cp] : classify(cp);
        switch (e & 3) {
        case N_DROP:
            continue;
        case N_SPACE:
            pending = 1;
            continue;
        default:
            if (pending && o > o0)
                *o++ = ' ';
            pending = 0;
            uint32_t v = e >> 2;
            if (v < 0x80) {
                *o++ = (unsigned char)v;
            } else if (v < 0x800) {
                *o++ = (unsigned char)(0xC0 | v >> 6);
                *o++ = (unsigned char)(0x80 | (v & 0x3F));
            } else if (v < 0x10000) {
                *o++ = (unsigned char)(0xE0 | v >> 12);
                *o++ = (unsigned char)(0x80 | (v >> 6 & 0x3F));
                *o++ = (unsigned char)(0x80 | (v & 0x3F));
            } else {
                o += utf8proc_encode_char((utf8proc_int32_t)v, o);
            }
        }
    }
    out->len += (size_t)(o - o0);
    out->data[out->len] = 0;
}

uint64_t cp_dedup_text_hash(const char *s, size_t n, cp_buf *scratch)
{
    scratch->len = 0;
    cp_dedup_normalize(s, n, scratch);
    return XXH3_64bits(scratch->data, scratch->len);
}

static int is_tracking_param(const char *p, size_t n)
{
    return (n >= 4 && !strncmp(p, "utm_", 4)) || (n == 6 && !strncmp(p, "fbclid", 6)) ||
           (n == 5 && !strncmp(p, "gclid", 5));
}

int cp_url_hash(const char *u, size_t n, uint64_t *hash, cp_buf *b)
{
    while (n && (*u == ' ' || *u == '\t')) {
        u++;
        n--;
    }
    while (n && (u[n - 1] == ' ' || u[n - 1] == '\t'))
        n--;
    size_t skip;
    if (n >= 7 && !strncasecmp(u, "http://", 7))
        skip = 7;
    else if (n >= 8 && !strncasecmp(u, "https://", 8))
        skip = 8;
    else
        return -1;
    /* http and https versions of a page are the same page for dedup purposes. */
    u += skip;
    n -= skip;
    const char *frag = memchr(u, '#', n);
    if (frag)
        n = (size_t)(frag - u);
    size_t host_end = 0;
    while (host_end < n && u[host_end] != '/' && u[host_end] != '?')
        host_end++;
    b->len = 0;
    size_t h = 0;
    if (host_end >= 4 && !strncasecmp(u, "www.", 4))
        h = 4;
    size_t hlen = host_end;
    if (hlen >= 3 && !strncmp(u + hlen - 3, ":80", 3))
        hlen -= 3;
    else if (hlen >= 4 && !strncmp(u + hlen - 4, ":443", 4))
        hlen -= 4;
    for (; h < hlen; h++) {
        char c = u[h];
        cp_buf_putc(b, (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c);
    }
    const char *q = memchr(u + host_end, '?', n - host_end);
    size_t path_end = q ? (size_t)(q - u) : n;
    size_t plen = path_end - host_end;
    while (plen && u[host_end + plen - 1] == '/')
        plen--;
    cp_buf_putc(b, '/');
    cp_buf_append(b, u + host_end + (plen && u[host_end] == '/'), plen - (plen && u[host_end] == '/'));
    if (q) {
        const char *p = q + 1, *end = u + n;
        int first = 1;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *e = amp ? amp : end;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            size_t klen = (size_t)((eq ? eq : e) - p);
            if (e > p && !is_tracking_param(p, klen)) {
                cp_buf_putc(b, first ? '?' : '&');
                cp_buf_append(b, p, (size_t)(e - p));
                first = 0;
            }
            p = e + 1;
        }
    }
    *hash = XXH3_64bits(b->data, b->len);
    return 0;
}

/* Linear probing with a separate occupancy byte, so that every 64-bit key (0 included) is storable.
 * 17 bytes a slot is fine for exact dedup (one key a document); the near-dup index has its own
 * compact tables. */
typedef struct {
    uint64_t key, value;
} slot_t;

struct cp_keymap {
    slot_t *slots;
    uint8_t *used;
    size_t mask, count;
};

static size_t pow2_at_least(size_t n)
{
    size_t p = 1024;
    while (p < n)
        p <<= 1;
    return p;
}

cp_keymap *cp_keymap_create(size_t expected)
{
    cp_keymap *m = cp_xcalloc(1, sizeof *m);
    size_t cap = pow2_at_least(expected + expected / 3 + 1);
    m->slots = cp_xmalloc(cap * sizeof *m->slots);
    m->used = cp_xcalloc(cap, 1);
    m->mask = cap - 1;
    return m;
}

void cp_keymap_destroy(cp_keymap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m->used);
    free(m);
}

static inline size_t home(uint64_t key, size_t mask)
{
    /* xor-shift first so keys that differ only in high bits spread too; the product's high half mixes */
    key ^= key >> 29;
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void grow(cp_keymap *m)
{
    size_t ocap = m->mask + 1, cap = ocap * 2;
    slot_t *os = m->slots;
    uint8_t *ou = m->used;
    m->slots = cp_xmalloc(cap * sizeof *m->slots);
    m->used = cp_xcalloc(cap, 1);
    m->mask = cap - 1;
    for (size_t i = 0; i < ocap; i++) {
        if (!ou[i])
            continue;
        size_t j = home(os[i].key, m->mask);
        while (m->used[j])
            j = (j + 1) & m->mask;
        m->used[j] = 1;
        m->slots[j] = os[i];
    }
    free(os);
    free(ou);
}

int cp_keymap_check_insert(cp_keymap *m, uint64_t key, uint64_t value, uint64_t *first)
{
    size_t j = home(key, m->mask);
    while (m->used[j]) {
        if (m->slots[j].key == key) {
            if (first)
                *first = m->slots[j].value;
            return 1;
        }
        j = (j + 1) & m->mask;
    }
    m->used[j] = 1;
    m->slots[j].key = key;
    m->slots[j].value = value;
    if (++m->count * 4 > (m->mask + 1) * 3)
        grow(m);
    return 0;
}

uint64_t *cp_keymap_upsert(cp_keymap *m, uint64_t key, uint64_t init)
{
    size_t j = home(key, m->mask);
    while (m->used[j]) {
        if (m->slots[j].key == key)
            return &m->slots[j].value;
        j = (j + 1) & m->mask;
    }
    if ((m->count + 1) * 4 > (m->mask + 1) * 3) {
        grow(m);
        return cp_keymap_upsert(m, key, init);
    }
    m->used[j] = 1;
    m->slots[j].key = key;
    m->slots[j].value = init;
    m->count++;
    return &m->slots[j].value;
}

int cp_keymap_get(const cp_keymap *m, uint64_t key, uint64_t *value)
{
    size_t j = home(key, m->mask);
    while (m->used[j]) {
        if (m->slots[j].key == key) {
            *value = m->slots[j].value;
            return 1;
        }
        j = (j + 1) & m->mask;
    }
    return 0;
}

size_t cp_keymap_count(const cp_keymap *m) { return m->count; }
size_t cp_keymap_bytes(const cp_keymap *m) { return (m->mask + 1) * (sizeof(slot_t) + 1); }

int cp_keymap_save(const cp_keymap *m, cp_ckpt_out *o)
{
    uint64_t head[2] = {m->mask + 1, m->count};
    if (cp_ckpt_put(o, head, sizeof head))
        return -1;
    slot_t buf[4096];
    size_t n = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->used[i])
            continue;
        buf[n++] = m->slots[i];
        if (n == sizeof buf / sizeof *buf) {
            if (cp_ckpt_put(o, buf, sizeof buf))
                return -1;
            n = 0;
        }
    }
    return n ? cp_ckpt_put(o, buf, n * sizeof *buf) : 0;
}

cp_keymap *cp_keymap_load(cp_ckpt_in *in)
{
    uint64_t head[2];
    if (cp_ckpt_get(in, head, sizeof head))
        return NULL;
    uint64_t cap = head[0], count = head[1];
    /* the capacity is a power of two the map itself chose; anything else means a damaged stream */
    if (cap < 1024 || (cap & (cap - 1)) || cap > ((uint64_t)1 << 40) || count * 4 > cap * 3)
        return NULL;
    cp_keymap *m = cp_xcalloc(1, sizeof *m);
    m->slots = cp_xmalloc((size_t)cap * sizeof *m->slots);
    m->used = cp_xcalloc((size_t)cap, 1);
    m->mask = (size_t)cap - 1;
    slot_t buf[4096];
    for (uint64_t done = 0; done < count;) {
        size_t n = count - done < 4096 ? (size_t)(count - done) : 4096;
        if (cp_ckpt_get(in, buf, n * sizeof *buf)) {
            cp_keymap_destroy(m);
            return NULL;
        }
        for (size_t k = 0; k < n; k++) {
            size_t j = home(buf[k].key, m->mask);
            while (m->used[j])
                j = (j + 1) & m->mask;
            m->used[j] = 1;
            m->slots[j] = buf[k];
        }
        done += n;
    }
    m->count = (size_t)count;
    return m;
}
