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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_list),
        cmocka_unit_test(anywhere_and_boundaries),
        cmocka_unit_test(whole_line_kinds),
        cmocka_unit_test(every_offset_of_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
