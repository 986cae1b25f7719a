/* Tests for clean: every line rule has a case that must fire and one that must not, on the news preset
 * (configs/news.json) unless a case needs a setting of its own; plus the line-dedup helpers and the seed
 * page end to end (skipped when ../shared is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/dedup.h"


static json_t *news_clean_section(void)
{
    size_t n;
    char *t = cp_config_read("news.json", &n);
    assert_non_null(t);
    json_error_t je;
    json_t *j = json_loadb(t, n, 0, &je);
    free(t);
    assert_non_null(j);
    json_t *c = json_incref(json_object_get(j, "clean"));
    json_decref(j);
    assert_non_null(c);
    return c;
}

typedef struct {
    cp_cleaner *c;
    cp_clean_scratch *s;
    cp_buf out;
    cp_clean_stats st;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char err[256];
    json_t *sec = news_clean_section();
    f->c = cp_cleaner_create(sec, err, sizeof err);
    json_decref(sec);
    if (!f->c) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->s = cp_clean_scratch_create();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    cp_cleaner_destroy(f->c);
    cp_clean_scratch_destroy(f->s);
    cp_buf_free(&f->out);
    free(f);
    return 0;
}

static const char *clean(fx_t *f, const char *text)
{
    const char *why = cp_clean_doc(f->c, text, strlen(text), f->s, &f->out, &f->st);
    assert_null(why);
    return f->out.data ? f->out.data : "";
}

#define BODY "The council approved the new budget on Tuesday after a long debate about schools."
#define BODY2 "Opposition members said the plan would raise local taxes for many families next year."

static void long_word(void **state)
{
    fx_t *f = *state;
    static char w[1200];
    memset(w, 'x', 1001);
    strcpy(w + 1001, " is a word.\n" BODY);
    clean(f, w);
    assert_int_equal(f->st.lines[CP_CLEAN_LONG_WORD], 1);
    assert_string_equal(f->out.data, BODY);
    memset(w, 'x', 1000); /* exactly the limit stays */
    strcpy(w + 1000, " is a word.\n" BODY);
    clean(f, w);
    assert_int_equal(f->st.lines[CP_CLEAN_LONG_WORD], 0);
}

static void citations(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, "The river is long.[1] It floods often.[edit] See [citation needed] there."),
                        "The river is long. It floods often. See  there.");
    assert_true(f->st.chars[CP_CLEAN_CITATION] > 0);
    assert_string_equal(clean(f, "Arrays start at a[0x1] and b[i] in code."), "Arrays start at a[0x1] and b[i] in code.");
    assert_int_equal(f->st.chars[CP_CLEAN_CITATION], 0);
}

/* Cleaning gets NFC text and must give NFC back: a marker removed between a letter and a combining mark
 * leaves them side by side, and they compose (the fuzz finding in regress/record/citation-between-letter-
 * and-mark, a Yoruba line: "be\u0323e[1]\u0323" must read U+1EB9 U+1EB9, as normalisation writes it). */
static void citations_keep_nfc(void **state)
{
    fx_t *f = *state;
    /* b U+1EB9 e [1] U+0323: the e and the mark compose to U+1EB9 */
    assert_string_equal(clean(f, "Won ni b\xE1\xBA\xB9" "e[1]\xCC\xA3 ni ilu wa lana."),
                        "Won ni b\xE1\xBA\xB9\xE1\xBA\xB9 ni ilu wa lana.");
    assert_int_equal(f->st.chars[CP_CLEAN_CITATION], 3);
    /* U+00E1 [2] U+0323: the dot below (class 220) goes before the acute (230): U+1EA1 U+0301 */
    assert_string_equal(clean(f, "Won ni \xC3\xA1[2]\xCC\xA3 ni ilu wa lana."),
                        "Won ni \xE1\xBA\xA1\xCC\x81 ni ilu wa lana.");
    /* Hangul: a leading and a vowel jamo join into the syllable U+AC00 */
    assert_string_equal(clean(f, "Won ni \xE1\x84\x80[edit]\xE1\x85\xA1 ni ilu wa lana."),
                        "Won ni \xEA\xB0\x80 ni ilu wa lana.");
    /* a mark that has nothing to compose with stays as it is; so does text after a stable letter */
    assert_string_equal(clean(f, "Won ni [3]\xCC\x81 ni ilu \xC3\xA9[4]\xC3\xA9 wa lana."),
                        "Won ni \xCC\x81 ni ilu \xC3\xA9\xC3\xA9 wa lana.");
}

static void javascript(void **state)
{
    fx_t *f = *state;
    clean(f, BODY "\nPlease enable JavaScript to view the comments.");
    assert_int_equal(f->st.lines[CP_CLEAN_JAVASCRIPT], 1);
    assert_string_equal(clean(f, BODY "\nThe island of Java has many coffee farms in the hills."),
                        BODY "\nThe island of Java has many coffee farms in the hills.");
}

static void policy(void **state)
{
    fx_t *f = *state;
    clean(f, BODY "\nBy using this site you agree to our Privacy Policy and Terms of Use.");
    assert_int_equal(f->st.lines[CP_CLEAN_POLICY], 1);
    clean(f, BODY "\nThe government changed its policy on privacy last week.");
    assert_int_equal(f->st.lines[CP_CLEAN_POLICY], 0);
}

/* Long lines are scanned as two overlapping halves: a phrase is found wherever it sits, the seam included,
 * and a phrase cut by a half's edge but found whole by the other half counts once. */
static void phrase_anywhere_in_long_line(void **state)
{
    fx_t *f = *state;
    enum { WORDS = 120 };
    static char doc[4096];
    for (int at = -1; at <= WORDS; at++) { /* -1: no phrase */
        size_t n = (size_t)snprintf(doc, sizeof doc, "%s\n", BODY);
        for (int k = 0; k <= WORDS; k++) {
            if (k == at)
                n += (size_t)snprintf(doc + n, sizeof doc - n, "privacy policy ");
            if (k < WORDS)
                n += (size_t)snprintf(doc + n, sizeof doc - n, "word ");
        }
        snprintf(doc + n, sizeof doc - n, "end.");
        clean(f, doc);
        assert_int_equal(f->st.lines[CP_CLEAN_POLICY], at >= 0 ? 1 : 0);
        assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT] + f->st.lines[CP_CLEAN_MIN_WORDS], 0);
    }
}

static void lorem_ipsum(void **state)
{
    fx_t *f = *state;
    const char *t = BODY "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.";
    assert_string_equal(cp_clean_doc(f->c, t, strlen(t), f->s, &f->out, &f->st), "c4:lorem_ipsum");
    clean(f, BODY "\nThe word lorem is not enough on its own, nor is ipsum.");
}

static void min_words(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\nYes indeed.\n" BODY2), BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_MIN_WORDS], 1);
    assert_string_equal(clean(f, BODY "\nYes, we did.\n" BODY2), BODY "\nYes, we did.\n" BODY2);
}

static void terminal_punct(void **state)
{
    fx_t *f = *state;
    /* menu lines without end marks go; a short heading between kept paragraphs stays */
    assert_string_equal(clean(f, "Home News Sport Weather Business\n" BODY "\nBudget talks go on\n" BODY2),
                        BODY "\nBudget talks go on\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 1);
    /* hard-wrapped text: the cut line continues in lower case */
    assert_string_equal(clean(f, "The committee met on Monday and decided that the\nnew rules apply from June."),
                        "The committee met on Monday and decided that the\nnew rules apply from June.");
    /* a long line of prose whose last sentence was cut stays */
    const char *prose = "The minister spoke for an hour about the harbour and the new bridge over the river. "
                        "She said work starts soon. Critics were not convinced and asked again about the cost of "
                        "the whole project and who would";
    assert_string_equal(clean(f, prose), prose);
    /* a teaser that ends in an ellipsis is not a sentence */
    clean(f, BODY "\nTen things you did not know about the budget and the schools...");
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 1);
    /* Amharic ends sentences with "።" or, as typed in much news, two wordspaces "፡፡"; one wordspace is not an
     * end (MasakhaNEWS lost 23 Amharic articles whole before "፡፡" counted) */
    const char *am = "እስራኤል የአይሑድ አዲስ ዓመት ከመግባቱ በፊት እየተስፋፋ ያለውን ኮሮና ለመመከት ጥብቅ እርምጃዎችን ልትወስድ ነው፡፡";
    assert_string_equal(clean(f, am), am);
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 0);
    clean(f, BODY "\nእስራኤል የአይሑድ አዲስ ዓመት ከመግባቱ በፊት እየተስፋፋ ያለውን ኮሮና ለመመከት ጥብቅ፡");
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 1);
    /* a gossip column's item: the sentence ends, then its source in brackets; a long bracket, or one after
     * no end mark, is not an attribution */
    const char *gossip = "Real Madrid want to sign the England midfielder Jude Bellingham, 19, next summer. (Marca)";
    assert_string_equal(clean(f, gossip), gossip);
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 0);
    const char *nbsp = "Chelsea will offer twenty million pounds for the midfielder in January.\xC2\xA0(Fabrizio Romano)";
    assert_string_equal(clean(f, nbsp), nbsp);
    clean(f, BODY "\nReal Madrid want to sign the England midfielder Jude Bellingham next summer (Marca)");
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 1);
    clean(f, BODY "\nReal Madrid want to sign the England midfielder Jude Bellingham, 19, next summer. "
                  "(a long aside that goes on and on about the club, the player and the fee, not a source)");
    assert_int_equal(f->st.lines[CP_CLEAN_TERMINAL_PUNCT], 1);
}

static void bp_line(void **state)
{
    fx_t *f = *state;
    clean(f, BODY "\n- Advertisement -\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_LINE], 1);
    clean(f, BODY "\nAdvertisement revenue grew by five percent this year.");
    assert_int_equal(f->st.lines[CP_CLEAN_BP_LINE], 0);
    assert_non_null(strstr(f->out.data, "Advertisement revenue"));
}

static void bp_banner(void **state)
{
    fx_t *f = *state;
    clean(f, BODY "\nSign up for our daily newsletter to get the news first.");
    assert_int_equal(f->st.lines[CP_CLEAN_BP_BANNER], 1);
    /* a long paragraph that mentions a banner phrase is text */
    const char *t = "In her speech the mayor asked residents to sign up for the new recycling scheme, which will "
                    "collect glass, paper and plastic from every street in the city twice a month from April.";
    assert_string_equal(clean(f, t), t);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_BANNER], 0);
}

static void bp_caption(void **state)
{
    fx_t *f = *state;
    clean(f, "The minister speaks in Washington, January 7, 2022. REUTERS/Jane Doe\n" BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_CAPTION], 1);
    clean(f, "Ein Polizist steht vor dem Rathaus. Foto: dpa\n" BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_CAPTION], 1);
    assert_string_equal(clean(f, "LONDON (Reuters) - The bank raised rates on Thursday.\n" BODY),
                        "LONDON (Reuters) - The bank raised rates on Thursday.\n" BODY);
}

static void bp_marker(void **state)
{
    fx_t *f = *state;
    /* glued at the end: the marker goes, the paragraph stays */
    assert_string_equal(clean(f, "“Het was een zware dag”, zei de burgemeester. Lees verder\n" BODY),
                        "“Het was een zware dag”, zei de burgemeester.\n" BODY);
    assert_int_equal(f->st.chars[CP_CLEAN_BP_MARKER], strlen(" Lees verder"));
    clean(f, BODY "\nRead more »\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_MARKER], 1);
    /* the phrase inside a sentence is text */
    const char *t = "Wer weiterlesen möchte, findet den Bericht im Archiv der Stadt.";
    assert_string_equal(clean(f, t), t);
    assert_int_equal(f->st.chars[CP_CLEAN_BP_MARKER], 0);
}

static void bp_tail(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\nMore Stories\nPutin promises victory in the war\nRussia attacks Kramatorsk: live updates\n"
                                      "Australia drops the monarch from its banknotes"),
                        BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 4);
    /* a related-links box inside the article ends at the next paragraph */
    assert_string_equal(clean(f, BODY "\nRelated articles\nHong Kong protests: students under siege\n" BODY2),
                        BODY "\n" BODY2);
    /* the words in a sentence are not a marker */
    clean(f, BODY "\nMore stories were told by the witnesses that day in court.");
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 0);
}

static void bp_end(void **state)
{
    fx_t *f = *state;
#define BODY3 "The mayor said the schools would get new roofs and better heating before the winter."
#define BODY4 "A final vote on the details of the spending plan is expected at the end of the month."
    assert_string_equal(clean(f, BODY "\n" BODY2 "\n" BODY3 "\n" BODY4 "\n12 responses to “Council budget”\n"
                                 "I think this is a great plan for the city and its schools."),
                        BODY "\n" BODY2 "\n" BODY3 "\n" BODY4);
    /* before any body text (a menu) it does not cut */
    clean(f, "Leave a reply\n" BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 0);
    assert_string_equal(f->out.data, BODY);
}

/* "167 comments" (a number around a comments word, nothing else) starts the comments once body text was
 * kept; the bare word or a number in a sentence does not. */
static void bp_end_count(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\n" BODY2 "\n" BODY3 "\n" BODY4 "\n[ 167 comments ]\n"
                                 "I think this is a great plan for the city and its schools."),
                        BODY "\n" BODY2 "\n" BODY3 "\n" BODY4);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 2);
    clean(f, BODY "\n" BODY2 "\n" BODY3 "\n" BODY4 "\n2 Reacties\nIk denk dat dit een goed plan is voor de stad.");
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 2);
    /* no number: only the line goes */
    clean(f, BODY "\n" BODY2 "\n" BODY3 "\n" BODY4 "\nComments\nThe council will publish the minutes of the meeting next week.");
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 0);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_LINE], 1);
    /* a count in a sentence, or before any body text */
    clean(f, BODY "\n" BODY2 "\n" BODY3 "\n" BODY4 "\nThe council received 167 comments.\n" BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 0);
    clean(f, "12 comments\n" BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_TAIL], 0);
    assert_string_equal(f->out.data, BODY "\n" BODY2);
}

/* Newsletter sign-up blurbs are banners in the language lists. */
static void bp_newsletter(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\nThanks for signing up!\nKeep an eye on your inbox for the latest sports news.\n"
                                 "I agree that Example News can send me the \"Morning\" newsletter.\n" BODY2),
                        BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_BANNER], 3);
    clean(f, BODY "\nBedankt voor je aanmelding!\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_BANNER], 1);
    /* a long sentence that mentions an inbox is text */
    clean(f, BODY "\nThe council said residents who registered for the new flood alerts would find a confirmation "
                  "message in your inbox within a few days of signing up online.\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_BANNER], 0);
}

#define TEASER1 "Customers Leave Without Paying Bill At Troy SteakhouseA party of six left the restaurant without paying their bill."
#define TEASER2 "Michigan To Mail Panel Applications To 250,000The state of Michigan will mail applications to voters this week."
#define TEASER3 "Is Violence In Sports On The Rise?Violence is part of the game in many sports but some players cross a line."

/* Headlines glued to their ledes, two or more in a row, are teasers of other articles. */
static void glued_teaser(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\n" BODY2 "\n\n" TEASER1 "\n" TEASER2 "\n\n" TEASER3), BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_GLUED_TEASER], 3);
    /* one glued line alone is not a list (and may be a camel-case name) */
    clean(f, BODY "\n" TEASER1 "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_GLUED_TEASER], 0);
    /* camel case after a lower-case class prefix (Xhosa) or a short brand part, a Title Case run after */
    clean(f, "ULusanda Siyoyo (22) wakwaNgqina uthe: ewe imbi into yokuvalwa kwesi sibhedlele kodwa urhulumente.\n"
             "UNondumiso Tyeke (35) waseSidakeni uthe: kubi kuthi njengoba isimo side sakhokeleka ekuvalweni.\n"
             "The New Apple MacBook Pro With The Magic Keyboard is the best laptop the company has made in years.\n"
             "The New Apple MacBook Air With The Retina Display costs less than the one that came before it.");
    assert_int_equal(f->st.lines[CP_CLEAN_GLUED_TEASER], 0);
    /* a Title Case headline on a line of its own is not glued */
    clean(f, BODY "\nCustomers Leave Without Paying Bill At Troy Steakhouse. A party of six left without paying.\n"
             "Michigan To Mail Applications. The state of Michigan will mail applications to voters this week.\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_GLUED_TEASER], 0);
}

#define TEASE_LEDE "Two soldiers were killed in a helicopter crash in the north of the country on Wednesday."
#define TEASE_LEDE2 "Lawmakers in the two biggest cities want to cut ties with businesses that import beef."
/* A short kept line with two or more removed lines on each side (or the page edge) is a teaser or blurb,
 * unless a block of text follows it (a lede above a photo and its credit). */
static void isolated_line(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\n" BODY2 "\n" BODY3 "\nMore World\nSoldiers killed in crash\n" TEASE_LEDE
                                 "\n2 hours ago\nCities urge a boycott of meat companies\n5 hours ago"),
                        BODY "\n" BODY2 "\n" BODY3);
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 1);
    /* a list of teasers: each lede alone between its headline and time stamp */
    clean(f, BODY "\n" BODY2 "\nLatest headlines\nSoldiers killed in crash\n2 hours ago\n" TEASE_LEDE
             "\nCities urge a boycott\n5 hours ago\n" TEASE_LEDE2 "\nAbout us\nContact the newsroom");
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 2);
    assert_string_equal(f->out.data, BODY "\n" BODY2);
    /* a lede above a photo and its credit, with the text after them, stays */
    clean(f, "Home\nWorld news\n" TEASE_LEDE "\nSoldiers at the scene of the crash\nReuters\n" BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 0);
    assert_string_equal(f->out.data, TEASE_LEDE "\n" BODY "\n" BODY2);
    /* one removed line on a side (an ad) keeps a paragraph */
    clean(f, BODY "\n" BODY3 "\nAdvertisement\n" TEASE_LEDE "\nAdvertisement\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 0);
    /* a page whose only kept text is isolated keeps it: there is no text to be isolated from */
    clean(f, "Home\nWorld news in brief\n" TEASE_LEDE "\nAbout us\nContact the newsroom");
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 0);
    assert_string_equal(f->out.data, TEASE_LEDE);
    /* a long paragraph is text wherever it stands (the short lines around it are not) */
    clean(f, BODY "\nMore World\nSoldiers killed in crash\n" BODY " " BODY2 " " BODY3 " " BODY4 "\n2 hours ago\nLatest news\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_ISOLATED], 2);
    assert_string_equal(f->out.data, BODY " " BODY2 " " BODY3 " " BODY4);
}

static void doc_repeat(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, "Subscribe to the print edition today!\n" BODY "\nSubscribe to the print edition today!\n" BODY2),
                        BODY "\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_DOC_REPEAT], 2);
    clean(f, "Subscribe to the print edition today!\n" BODY);
    assert_int_equal(f->st.lines[CP_CLEAN_DOC_REPEAT], 0);
}

static void blank_lines(void **state)
{
    fx_t *f = *state;
    assert_string_equal(clean(f, BODY "\n\nShare\n\n" BODY2 "\n\n"), BODY "\n\n" BODY2);
}

static void rules_off(void **state)
{
    (void)state;
    char err[128];
    cp_cleaner *c = cp_cleaner_create(NULL, err, sizeof err);
    assert_non_null(c);
    cp_clean_scratch *s = cp_clean_scratch_create();
    cp_buf out = {0};
    const char *t = "Home\nlorem ipsum\nx";
    assert_null(cp_clean_doc(c, t, strlen(t), s, &out, NULL));
    assert_string_equal(out.data, t);
    cp_buf_free(&out);
    cp_clean_scratch_destroy(s);
    cp_cleaner_destroy(c);
}

static void bad_config(void **state)
{
    (void)state;
    char err[256] = "";
    json_t *j = json_pack("{s:{s:s}}", "line_dedup", "mode", "sometimes");
    assert_null(cp_cleaner_create(j, err, sizeof err));
    assert_non_null(strstr(err, "line_dedup.mode"));
    json_decref(j);
    j = json_pack("{s:{s:b,s:[s]}}", "boilerplate", "enabled", 1, "files", "boilerplate/xx.json");
    assert_null(cp_cleaner_create(j, err, sizeof err));
    assert_non_null(strstr(err, "boilerplate/xx.json"));
    json_decref(j);
    j = json_pack("{s:{s:s}}", "c4_lines", "min_words", "three");
    assert_null(cp_cleaner_create(j, err, sizeof err));
    json_decref(j);
}

static void to_json(void **state)
{
    fx_t *f = *state;
    json_t *j = cp_cleaner_to_json(f->c);
    json_t *tp = json_object_get(json_object_get(j, "c4_lines"), "terminal_punct");
    assert_true(json_is_true(json_object_get(tp, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "c4_lines"), "min_words")), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "line_dedup"), "mode")), "first");
    json_decref(j);
    const cp_line_dedup_params *p = cp_cleaner_line_dedup(f->c);
    assert_int_equal(p->mode, CP_LINE_DEDUP_FIRST);
    assert_int_equal(p->min_docs, 2);
}

static void line_hashes(void **state)
{
    fx_t *f = *state;
    const char *t = "Onze normen: Thomson Reuters Vertrouwensprincipes.\nok\n\nONZE NORMEN -- thomson reuters "
                    "vertrouwensprincipes!!\nAnother line of 2021 that is long enough.";
    cp_line_hashes h = {0};
    cp_clean_hash_lines(f->c, t, strlen(t), f->s, &h);
    assert_int_equal(h.n, 3); /* "ok" and the blank line are too short to matter */
    assert_true(h.v[0].hash == h.v[1].hash);
    assert_true(h.v[0].hash != h.v[2].hash);
    assert_int_equal(h.v[0].start, 0);
    assert_memory_equal(t + h.v[2].start, "Another", 7);
    unsigned char drop[3] = {0, 1, 0};
    cp_buf out = {0};
    size_t removed = cp_clean_drop_lines(t, strlen(t), &h, drop, &out);
    assert_string_equal(out.data, "Onze normen: Thomson Reuters Vertrouwensprincipes.\nok\n\nAnother line of 2021 that is long enough.");
    assert_int_equal(removed, strlen(t) - out.len);
    unsigned char none[3] = {0, 0, 0};
    cp_clean_drop_lines(t, strlen(t), &h, none, &out);
    assert_string_equal(out.data, t);
    cp_buf_free(&out);
    cp_line_hashes_free(&h);
}

/* The line hashes take a table-driven path past the library normaliser; they must still be XXH3 of
 * cp_dedup_normalize's output: every BMP code point (between letters, at line ends, doubled), ASCII runs
 * across the eight-byte steps (spaces, tabs, punctuation, capitals, digits), four-byte characters. */
static void line_hash_matches_normaliser(void **state)
{
    fx_t *f = *state;
    cp_buf line = {0}, tmp = {0};
    cp_line_hashes h = {0};
    static const char *const ascii[] = {
        "The Council approved 2024 budget on Tuesday after a long debate",
        "  leading spaces and  double  spaces\tand\ttabs  between words here ",
        "punctuation, everywhere: (really!) -- 'quoted' \"words\"; 3.14 and 1,000,000",
        "ALLCAPSWORDSWITHOUTSPACESRUNNINGPASTEIGHTBYTES x y z a b c d e f g h",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9",
        "emoji \xf0\x9f\x98\x80 in the middle of a line that is long enough to count",
        "Gr\xc3\xbc\xc3\x9f""e aus M\xc3\xbcnchen: \xc3\x84rger \xc3\x9c""ber \xc3\x96l, \xc3\x89t\xc3\xa9 \xc3\xa0 Paris",
        "\xe1\x8b\xa8\xe1\x8a\xa2\xe1\x89\xb5\xe1\x8b\xae\xe1\x8c\xb5\xe1\x8b\xab \xe1\x88\x98\xe1\x8a\x95\xe1\x8c\x8d\xe1\x88\xa5\xe1\x89\xb5 \xe1\x8b\x9b\xe1\x88\xac\xe1\x8b\x8d\xe1\x88\x9d \xe1\x8a\xa0\xe1\x8b\xb2\xe1\x88\xb5 \xe1\x8a\xa0\xe1\x89\xa0\xe1\x89\xa3",
    };
    for (size_t k = 0; k < sizeof ascii / sizeof ascii[0]; k++) {
        cp_clean_hash_lines(f->c, ascii[k], strlen(ascii[k]), f->s, &h);
        assert_int_equal(h.n, 1);
        assert_true(h.v[0].hash == cp_dedup_text_hash(ascii[k], strlen(ascii[k]), &tmp));
    }
    for (uint32_t cp = 0x20; cp < 0x10000; cp++) {
        if (cp >= 0xD800 && cp < 0xE000)
            continue;
        char enc[4];
        size_t e;
        if (cp < 0x80) {
            enc[0] = (char)cp;
            e = 1;
        } else if (cp < 0x800) {
            enc[0] = (char)(0xC0 | cp >> 6);
            enc[1] = (char)(0x80 | (cp & 63));
            e = 2;
        } else {
            enc[0] = (char)(0xE0 | cp >> 12);
            enc[1] = (char)(0x80 | ((cp >> 6) & 63));
            enc[2] = (char)(0x80 | (cp & 63));
            e = 3;
        }
        line.len = 0;
        cp_buf_append(&line, enc, e);
        cp_buf_puts(&line, "Word and number 12 ");
        cp_buf_append(&line, enc, e);
        cp_buf_append(&line, enc, e);
        cp_buf_puts(&line, "x y ");
        cp_buf_append(&line, enc, e);
        if (cp == '\n')
            continue;
        cp_clean_hash_lines(f->c, line.data, line.len, f->s, &h);
        uint64_t want = cp_dedup_text_hash(line.data, line.len, &tmp);
        if (tmp.len < 20) {
            assert_int_equal(h.n, 0);
            continue;
        }
        assert_int_equal(h.n, 1);
        if (h.v[0].hash != want)
            fail_msg("line hash differs from cp_dedup_text_hash for U+%04X", (unsigned)cp);
    }
    cp_line_hashes_free(&h);
    cp_buf_free(&line);
    cp_buf_free(&tmp);
}

/* Phrases are matched without a folded copy of the line: capitals, Latin-1 capitals included, fold as the
 * automaton reads them. Words are counted in the same pass: no-break spaces split words, CJK characters
 * are words of their own. */
static void folding_and_words(void **state)
{
    fx_t *f = *state;
    clean(f, BODY "\nPUBLICIT\xc3\x89\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_LINE], 1);
    assert_string_equal(f->out.data, BODY "\n" BODY2);
    clean(f, BODY "\nLa PUBLICIT\xc3\x89 a beaucoup chang\xc3\xa9 depuis les ann\xc3\xa9""es quatre-vingt.\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_BP_LINE], 0);
    clean(f, BODY "\nTwo\xc2\xa0words.\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_MIN_WORDS], 1);
    clean(f, BODY "\nThree\xc2\xa0real\xc2\xa0words.\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_MIN_WORDS], 0);
    clean(f, BODY "\n\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe3\x80\x82\n" BODY2);
    assert_int_equal(f->st.lines[CP_CLEAN_MIN_WORDS], 0);
}

static char *read_seed(void)
{
    const char *shared = getenv("CP_SHARED") ? getenv("CP_SHARED") : "../shared";
    char p[1024];
    snprintf(p, sizeof p, "%s/seed/news-nl-reuters-mirror.txt", shared);
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return NULL;
    cp_buf b = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
        cp_buf_append(&b, chunk, k);
    fclose(fp);
    return b.data;
}

static void seed_page(void **state)
{
    fx_t *f = *state;
    char *seed = read_seed();
    if (!seed)
        skip();
    const char *out = clean(f, seed);
    static const char *const keep[] = {"MOSKOU, 8 januari (Reuters)", "Op vrijdag betwistte Blingen",
                                       "zei Blingen.\n", "Het Russische ministerie van Buitenlandse Zaken heeft",
                                       "“Als Anthony Blingen van geschiedenislessen houdt",
                                       "“Het is niet alleen geleerd door het recente verleden",
                                       "Het ministerie zei dat de vestiging in Kazachstan",
                                       "die maandag begint.\n", "plan is binnen te vallen."};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!strstr(out, keep[i]))
            fail_msg("body paragraph lost: %s", keep[i]);
    static const char *const gone[] = {"REUTERS / Bestandsfoto", "Meld u nu aan", "Registratie", "Lees verder",
                                       "More Stories", "Poetin beloofde", "Kramatorsk", "bankbiljetten"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        if (strstr(out, gone[i]))
            fail_msg("boilerplate kept: %s", gone[i]);
    /* the body starts the text: nothing above it survived */
    assert_memory_equal(out, "MOSKOU", 6);
    free(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_word),   cmocka_unit_test(citations),    cmocka_unit_test(javascript),
        cmocka_unit_test(citations_keep_nfc),
        cmocka_unit_test(policy),      cmocka_unit_test(lorem_ipsum),  cmocka_unit_test(min_words),
        cmocka_unit_test(terminal_punct), cmocka_unit_test(bp_line),   cmocka_unit_test(bp_banner),
        cmocka_unit_test(bp_caption),  cmocka_unit_test(bp_marker),    cmocka_unit_test(bp_tail),
        cmocka_unit_test(bp_end),      cmocka_unit_test(doc_repeat),   cmocka_unit_test(blank_lines),
        cmocka_unit_test(rules_off),   cmocka_unit_test(bad_config),   cmocka_unit_test(to_json),
        cmocka_unit_test(line_hashes), cmocka_unit_test(seed_page),
        cmocka_unit_test(line_hash_matches_normaliser), cmocka_unit_test(folding_and_words),
        cmocka_unit_test(bp_end_count), cmocka_unit_test(bp_newsletter), cmocka_unit_test(glued_teaser),
        cmocka_unit_test(isolated_line),     cmocka_unit_test(phrase_anywhere_in_long_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
