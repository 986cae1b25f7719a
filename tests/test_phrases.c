/* Tests for phrases: kinds found anywhere only at word boundaries, case folding (ASCII and Latin-1),
 * whole-line kinds once decorations are trimmed, a count beside an END_COUNT phrase, the start of a MARKER
 * glued to the end of a line, and phrases at every offset of lines long enough to be scanned in halves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "corpusprep/phrases.h"

static cp_phrases *build(void)
{
    cp_phrase_list *l = cp_phrase_list_create();
    cp_phrase_list_add(l, "privacy policy", CP_PHRASE_POLICY);
    cp_phrase_list_add(l, "Advertisement", CP_PHRASE_LINE);
    cp_phrase_list_add(l, "comments", CP_PHRASE_END_COUNT);
    cp_phrase_list_add(l, "read more", CP_PHRASE_MARKER);
    cp_phrase_list_add(l, "\xc3\xa4lter", CP_PHRASE_BANNER); /* "älter", folded at add time */
    cp_phrase_list_add(l, "", CP_PHRASE_BANNER);             /* ignored */
    assert_int_equal(cp_phrase_list_size(l), 5);
    cp_phrases *p = cp_phrases_build(l);
    cp_phrase_list_destroy(l);
    assert_non_null(p);
    return p;
}

static cp_phrase_hits scan(const cp_phrases *p, const char *line)
{
    cp_phrase_hits h;
    cp_phrases_scan_line(p, line, strlen(line), &h);
    return h;
}

static void empty_list(void **state)
{
    (void)state;
    cp_phrase_list *l = cp_phrase_list_create();
    assert_null(cp_phrases_build(l));
    cp_phrase_list_destroy(l);
}

static void anywhere_and_boundaries(void **state)
{
    (void)state;
    cp_phrases *p = build();
    assert_true(scan(p, "By using it you accept our Privacy POLICY today.").any & CP_PHRASE_POLICY);
    assert_false(scan(p, "Our xprivacy policy is new.").any & CP_PHRASE_POLICY);  /* starts inside a word */
    assert_false(scan(p, "The privacy policyholder.").any & CP_PHRASE_POLICY);    /* ends inside a word */
    assert_false(scan(p, "policy on privacy").any);
    assert_true(scan(p, "Ist \xc3\x84LTER als gedacht").any & CP_PHRASE_BANNER);    /* Latin-1 capital folded */
    assert_true(scan(p, "ist \xc3\xa4lter").any & CP_PHRASE_BANNER);
    cp_phrases_destroy(p);
}

static void whole_line_kinds(void **state)
{
    (void)state;
    cp_phrases *p = build();
    assert_true(scan(p, "- Advertisement -").whole & CP_PHRASE_LINE);
    assert_true(scan(p, "ADVERTISEMENT").whole & CP_PHRASE_LINE);
    assert_false(scan(p, "Advertisement for shoes").whole & CP_PHRASE_LINE);
    assert_int_equal(scan(p, "Advertisement for shoes").any, 0); /* LINE is never an "anywhere" kind */
    assert_true(scan(p, "167 comments").whole & CP_PHRASE_END_COUNT);
    assert_true(scan(p, "[ 2 comments ]").whole & CP_PHRASE_END_COUNT);
    assert_false(scan(p, "many comments").whole & CP_PHRASE_END_COUNT);
    assert_false(scan(p, "comments").whole & CP_PHRASE_END_COUNT); /* no number */
    cp_phrase_hits h = scan(p, "The storm moved north. Read more");
    assert_int_equal(h.marker_start, strlen("The storm moved north. "));
    assert_int_equal(scan(p, "Read more \xc2\xbb").whole & CP_PHRASE_MARKER, CP_PHRASE_MARKER);
    assert_true(scan(p, "Read more about it here").marker_start == SIZE_MAX);
    cp_phrases_destroy(p);
}

/* Lines over twice the longest phrase are scanned as two overlapping halves: a phrase is found at every
 * offset, the seam included, and its kinds and start are the same as in a short line. */
static void every_offset_of_long_lines(void **state)
{
    (void)state;
    cp_phrases *p = build();
    static char line[1200];
    for (size_t len = 100; len <= 1100; len += 250)
        for (size_t at = 0; at + 15 <= len; at++) {
            memset(line, 'x', len);
            line[len] = 0;
            for (size_t k = 7; k < len; k += 8)
                line[k] = ' ';
            if (at > 0)
                line[at - 1] = ' ';
            memcpy(line + at, "privacy policy", 14);
            if (at + 14 < len)
                line[at + 14] = ' ';
            assert_true(scan(p, line).any & CP_PHRASE_POLICY);
            if (at + 14 + 10 <= len) { /* a marker glued to the end, after the phrase */
                memcpy(line + len - 10, " read more", 10);
                assert_int_equal(scan(p, line).marker_start, len - 9);
            }
        }
    cp_phrases_destroy(p);
}

/* The long-line scan against the full one on random lines made of phrases of every kind (in any case,
 * glued or not), decorations, digits and filler, short and long: the fields it promises agree. Also a
 * list with a non-ASCII anywhere phrase, where it is the full scan. */
static void long_line_scan_agrees(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "privacy policy", "PRIVACY Policy", "xprivacy policy", "javascript", "JavaScript.", "lorem ipsum",
        "Lorem  ipsum", "Advertisement", "comments", "12 comments", "read more", "Read More \xc2\xbb", "readmore",
        "\xc3\xa4lter", "\xc3\x84LTER", "ende", "word", "words", "the", "and", " ", " ", " ", "  ", "-", "- ", "\xc2\xbb",
        "...", "|", "[", "]", "(", "3", "42", ",", ".", "\xe2\x80\x94", "caption", "cookie", "\xc3\x89t\xc3\xa9"};
    for (int variant = 0; variant < 2; variant++) {
        cp_phrase_list *l = cp_phrase_list_create();
        cp_phrase_list_add(l, "privacy policy", CP_PHRASE_POLICY);
        cp_phrase_list_add(l, "javascript", CP_PHRASE_JS);
        cp_phrase_list_add(l, "lorem ipsum", CP_PHRASE_LOREM);
        cp_phrase_list_add(l, "Advertisement", CP_PHRASE_LINE | CP_PHRASE_BANNER);
        cp_phrase_list_add(l, "comments", CP_PHRASE_END_COUNT | CP_PHRASE_MARKER);
        cp_phrase_list_add(l, "read more", CP_PHRASE_MARKER);
        cp_phrase_list_add(l, "\xc3\xa4lter", CP_PHRASE_BANNER | CP_PHRASE_CAPTION);
        cp_phrase_list_add(l, "ende", CP_PHRASE_END | CP_PHRASE_TAIL);
        if (variant)
            cp_phrase_list_add(l, "\xc3\xa9t\xc3\xa9", CP_PHRASE_POLICY); /* not ASCII: always the full scan */
        cp_phrases *p = cp_phrases_build(l);
        cp_phrase_list_destroy(l);
        uint64_t st = 7 + (uint64_t)variant;
        char line[4096];
        for (int r = 0; r < 20000; r++) {
            size_t n = 0, target;
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            target = (size_t)(st >> 33) % (r % 4 ? 600 : 3000);
            while (n < target) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                size_t k = (st >> 40) % 3 ? (st >> 20) % (sizeof parts / sizeof *parts) : 16 + (st >> 20) % 8;
                if (r % 2 && k < 7) /* half the lines hold no JS, POLICY or LOREM phrase: the fast path */
                    k = 16 + k;
                const char *x = parts[k];
                size_t m = strlen(x);
                if (n + m >= sizeof line)
                    break;
                memcpy(line + n, x, m);
                n += m;
            }
            cp_phrase_hits full, fast;
            cp_phrases_scan_line(p, line, n, &full);
            cp_phrases_scan_long_line(p, line, n, &fast);
            const unsigned anywhere = CP_PHRASE_JS | CP_PHRASE_POLICY | CP_PHRASE_LOREM;
            assert_int_equal(full.any & anywhere, fast.any & anywhere);
            assert_int_equal(full.whole & ~(unsigned)CP_PHRASE_END_COUNT, fast.whole & ~(unsigned)CP_PHRASE_END_COUNT);
            assert_true(full.marker_start == fast.marker_start);
        }
        cp_phrases_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_list),
        cmocka_unit_test(anywhere_and_boundaries),
        cmocka_unit_test(whole_line_kinds),
        cmocka_unit_test(every_offset_of_long_lines),
        cmocka_unit_test(long_line_scan_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
