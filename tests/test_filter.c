/* Tests for filter: each document rule fires on a document built to break it and stays quiet on a clean
 * news text; each case enables only the rule group (or the single threshold) under test. Also: language
 * handling (stop-word lists per language, skipped without one; no-space scripts; per-language overrides)
 * and the news preset on the seed page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpusprep/clean.h"
#include "corpusprep/config.h"
#include "corpusprep/filter.h"
#include "corpusprep/util.h"



#define GOOD                                                                                                   \
    "The council approved the new budget on Tuesday after a long debate about the schools in the north of "   \
    "the city. Opposition members said that the plan would raise local taxes for many families next year.\n"  \
    "The mayor said the schools would get new roofs and better heating before the winter, and that the work " \
    "would be paid for with money from the sale of an old office building.\n"                                 \
    "A final vote on the details of the spending plan is expected at the end of the month. Several residents " \
    "spoke at the meeting and asked for more buses to the hospital and the station.\n"                        \
    "Officials from the region have promised to publish a full report on the costs in the spring, when the "  \
    "first contracts are signed with builders from the area."

static cp_filter *make(json_t *sec)
{
    char err[256] = "";
    cp_filter *f = cp_filter_create(sec, err, sizeof err);
    if (!f)
        fail_msg("cp_filter_create: %s", err);
    json_decref(sec);
    return f;
}

static const char *judge(const cp_filter *f, const char *text, const char *lang)
{
    cp_filter_scratch *s = cp_filter_scratch_create();
    const char *r = cp_filter_doc(f, text, strlen(text), lang, s);
    cp_filter_scratch_destroy(s);
    return r;
}

static void expect(const cp_filter *f, const char *text, const char *lang, const char *reason)
{
    const char *r = judge(f, text, lang);
    if (reason == NULL && r != NULL)
        fail_msg("kept expected, got %s", r);
    if (reason != NULL && (r == NULL || strcmp(r, reason)))
        fail_msg("%s expected, got %s", reason, r ? r : "keep");
}

/* A section with one group enabled; extra (may be NULL) is merged into that group. */
static json_t *only(const char *group, json_t *extra)
{
    json_t *g = json_pack("{s:b}", "enabled", 1);
    if (extra) {
        json_object_update(g, extra);
        json_decref(extra);
    }
    return json_pack("{s:[s,s,s],s:o}", "languages", "en", "nl", "zh", group, g);
}

/* Repetition group with every threshold off (1.0) but key. */
static json_t *rep_only(const char *key, double v)
{
    static const char *const keys[] = {
        "max_dup_line_frac", "max_dup_para_frac", "max_dup_line_char_frac", "max_dup_para_char_frac",
        "max_top_2gram_char_frac", "max_top_3gram_char_frac", "max_top_4gram_char_frac",
        "max_dup_5gram_char_frac", "max_dup_6gram_char_frac", "max_dup_7gram_char_frac",
        "max_dup_8gram_char_frac", "max_dup_9gram_char_frac", "max_dup_10gram_char_frac"};
    json_t *e = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(e, keys[i], json_real(strcmp(keys[i], key) ? 1.0 : v));
    return only("gopher_repetition", e);
}

static char *repeat(const char *unit, int n, const char *sep)
{
    cp_buf b = {0};
    for (int i = 0; i < n; i++) {
        if (i)
            cp_buf_puts(&b, sep);
        cp_buf_puts(&b, unit);
    }
    return b.data;
}

static void gq_word_count(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    expect(f, "The council met today and the plan was approved by the members.", "en", "gopher_quality:word_count");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
}

static void gq_mean_word_len(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    char *t = repeat("a b c d e f g h i j to of", 8, " ");
    expect(f, t, "und", "gopher_quality:mean_word_len");
    free(t);
    t = repeat("internationalisation counterrevolutionaries", 40, " ");
    expect(f, t, "und", "gopher_quality:mean_word_len");
    free(t);
    expect(f, GOOD, "und", NULL);
    cp_filter_destroy(f);
}

static void gq_symbols(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    char *tags = repeat("#news", 25, " ");
    cp_buf b = {0};
    cp_buf_printf(&b, "%s\n%s", GOOD, tags);
    expect(f, b.data, "en", "gopher_quality:symbol_ratio");
    expect(f, GOOD " Prices rose by 5 # points.", "en", NULL);
    free(tags);
    cp_buf_free(&b);
    cp_filter_destroy(f);
}

static void gq_bullets_and_ellipsis(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    char *t = repeat("- the plan for the schools in the north of the city was approved", 10, "\n");
    expect(f, t, "en", "gopher_quality:bullet_lines");
    free(t);
    t = repeat("the plan for the schools in the north of the city was approved and...", 10, "\n");
    expect(f, t, "en", "gopher_quality:ellipsis_lines");
    free(t);
    expect(f, GOOD "\n- one item in a list of the things to do", "en", NULL);
    cp_filter_destroy(f);
}

static void gq_alpha_words(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    char *nums = repeat("12345 67890", 40, " ");
    cp_buf b = {0};
    cp_buf_printf(&b, "%s\n%s", GOOD, nums);
    expect(f, b.data, "en", "gopher_quality:alpha_words");
    expect(f, GOOD " In 2019 it cost 4,500 euros.", "en", NULL);
    free(nums);
    cp_buf_free(&b);
    cp_filter_destroy(f);
}

static void gq_stop_words(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    char *t = repeat("zebra quartz marble window garden pencil rocket violin harbour meadow", 7, " ");
    expect(f, t, "en", "gopher_quality:stop_words");
    /* no list for Swahili (and no English list used in its place): the rule is skipped */
    expect(f, t, "sw", NULL);
    expect(f, GOOD, "en", NULL);
    const char *nl = "De gemeenteraad heeft dinsdag de nieuwe begroting goedgekeurd na een lang debat over de "
                     "scholen in het noorden van de stad. Volgens de oppositie zullen veel gezinnen volgend jaar "
                     "meer belasting betalen. De burgemeester zei dat de scholen voor de winter nieuwe daken en "
                     "betere verwarming krijgen, betaald met geld uit de verkoop van een oud kantoorgebouw aan de "
                     "rand van het centrum.";
    expect(f, nl, "nl", NULL);
    free(t);
    cp_filter_destroy(f);
}

static void gr_lines_and_paragraphs(void **state)
{
    (void)state;
    const char *dupline = "The schools will get new roofs before the winter.";
    cp_buf b = {0};
    cp_buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n%s", GOOD, dupline, dupline, dupline, dupline, dupline, dupline);
    cp_filter *f = make(rep_only("max_dup_line_frac", 0.30));
    expect(f, b.data, "en", "gopher_rep:repeated_line_frac");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    f = make(rep_only("max_dup_line_char_frac", 0.20));
    expect(f, b.data, "en", "gopher_rep:repeated_line_char_frac");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
    const char *para = "Officials met again.\nThey agreed on the plan for the schools and the new buses.";
    cp_buf_printf(&b, "%s\n\n%s\n\n%s\n\n%s\n\n%s", GOOD, para, para, para, para);
    f = make(rep_only("max_dup_para_frac", 0.30));
    expect(f, b.data, "en", "gopher_rep:repeated_para_frac");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    f = make(rep_only("max_dup_para_char_frac", 0.20));
    expect(f, b.data, "en", "gopher_rep:repeated_para_char_frac");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
}

static void gr_ngrams(void **state)
{
    (void)state;
    char *t = repeat("big dog", 60, " ");
    cp_buf b = {0};
    cp_buf_printf(&b, "%s %s", GOOD, t);
    cp_filter *f = make(rep_only("max_top_2gram_char_frac", 0.20));
    expect(f, b.data, "en", "gopher_rep:top_2gram");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
    free(t);
    t = repeat("the red big dog", 40, " ");
    cp_buf_printf(&b, "%s %s", GOOD, t);
    f = make(rep_only("max_top_4gram_char_frac", 0.16));
    expect(f, b.data, "en", "gopher_rep:top_4gram");
    cp_filter_destroy(f);
    cp_buf_free(&b);
    free(t);
    /* a ten-word sentence said six times */
    t = repeat("the board said that the new plan will be very good", 6, ". ");
    cp_buf_printf(&b, "%s %s", GOOD, t);
    f = make(rep_only("max_dup_5gram_char_frac", 0.15));
    expect(f, b.data, "en", "gopher_rep:repeated_5gram");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    f = make(rep_only("max_dup_10gram_char_frac", 0.10));
    expect(f, b.data, "en", "gopher_rep:repeated_10gram");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
    free(t);
}

/* The n-gram rules against a plain word-by-word reference (Gopher: the most frequent 2/3/4-gram's share
 * of the characters; characters in 5..10-grams seen before, counted left to right without overlap), on
 * texts with repeats of every length: just below the reference value each rule fires, at it it does not.
 * Guards the pruned counting (only n-grams whose first n-1 words repeat) and the early exits. */
static int same_words(char **w, size_t a, size_t b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(w[a + k], w[b + k]))
            return 0;
    return 1;
}

static double ref_ngram(char **w, size_t nw, size_t n, size_t len)
{
    size_t m = nw - n + 1, bytes = 0;
    if (n <= 4) {
        size_t best = 0, best_bytes = 0;
        for (size_t i = 0; i < m; i++) {
            size_t count = 0, b = n - 1;
            for (size_t j = 0; j <= i; j++)
                count += same_words(w, i, j, n);
            for (size_t k = 0; k < n; k++)
                b += strlen(w[i + k]);
            if (count > best) {
                best = count;
                best_bytes = b;
            }
        }
        return best > 1 ? (double)(best * best_bytes) / (double)len : 0;
    }
    size_t *seen = malloc(m * sizeof *seen), ns = 0;
    for (size_t i = 0; i < m;) {
        int dup = 0;
        for (size_t k = 0; k < ns && !dup; k++)
            dup = same_words(w, i, seen[k], n);
        if (!dup) {
            seen[ns++] = i++;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            bytes += strlen(w[i + k]);
        i += n;
    }
    free(seen);
    return (double)bytes / (double)len;
}

static const char *judge_with(const char *key, double v, const char *text, size_t len)
{
    cp_filter *f = make(rep_only(key, v));
    cp_filter_scratch *s = cp_filter_scratch_create();
    const char *reason = cp_filter_doc(f, text, len, "en", s);
    cp_filter_scratch_destroy(s);
    cp_filter_destroy(f);
    return reason;
}

static void gr_ngrams_reference(void **state)
{
    (void)state;
    static const char *const vocab[] = {"the", "board", "said", "that", "new", "plan", "would", "be",
                                        "good", "for", "schools", "and", "buses", "city", "council"};
    static const char *const keys[] = {"max_top_2gram_char_frac", "max_top_3gram_char_frac",
                                       "max_top_4gram_char_frac", "max_dup_5gram_char_frac",
                                       "max_dup_6gram_char_frac", "max_dup_7gram_char_frac",
                                       "max_dup_8gram_char_frac", "max_dup_9gram_char_frac",
                                       "max_dup_10gram_char_frac"};
    unsigned long long r = 12345;
    int fired = 0;
    for (int doc = 0; doc < 24; doc++) {
        char *w[400];
        size_t nw = 0;
        while (nw < 120 + (size_t)doc * 10) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            unsigned x = (unsigned)(r >> 33);
            if (nw > 12 && x % 5 == 0) { /* copy an earlier run of 2..12 words */
                size_t run = 2 + x / 5 % 11, from = x / 55 % (nw - run);
                for (size_t k = 0; k < run && nw < 400; k++, nw++)
                    w[nw] = w[from + k];
            } else {
                w[nw++] = (char *)vocab[x / 5 % (doc % 3 ? 15 : 6)];
            }
        }
        cp_buf b = {0};
        for (size_t i = 0; i < nw; i++)
            cp_buf_printf(&b, "%s%s", i ? (i % 17 ? " " : "\n") : "", w[i]);
        for (size_t n = 2; n <= 10; n++) {
            double ref = ref_ngram(w, nw, n, b.len);
            char name[32];
            snprintf(name, sizeof name, n <= 4 ? "gopher_rep:top_%zugram" : "gopher_rep:repeated_%zugram", n);
            assert_null(judge_with(keys[n - 2], ref, b.data, b.len));
            if (ref > 0) {
                const char *reason = judge_with(keys[n - 2], ref * 0.9999, b.data, b.len);
                assert_non_null(reason);
                assert_string_equal(reason, name);
                fired++;
            }
        }
        cp_buf_free(&b);
    }
    assert_true(fired > 100); /* most rules see repeats in most texts */
}

static void c4_rules(void **state)
{
    (void)state;
    cp_filter *f = make(only("c4", json_pack("{s:i,s:b}", "min_sentences", 5, "curly_bracket", 1)));
    expect(f, "The council met. The plan passed. Nobody objected to it", "en", "c4:min_sentences");
    expect(f, GOOD, "en", NULL);
    expect(f, GOOD "\nfunction f() { return 1; }", "en", "c4:curly_bracket");
    cp_filter_destroy(f);
    f = make(only("c4", json_pack("{s:b}", "curly_bracket", 0)));
    expect(f, GOOD "\nfunction f() { return 1; }", "en", NULL);
    cp_filter_destroy(f);
}

static void fineweb_rules(void **state)
{
    (void)state;
    cp_filter *f = make(only("fineweb", json_pack("{s:f,s:f,s:f}", "max_short_line_ratio", 1.0,
                                                  "max_char_dup_ratio", 1.0, "max_newline_per_word", 100.0)));
    char *t = repeat("Home page of the city council and its members", 10, "\n");
    expect(f, t, "en", "fineweb:line_punct_ratio");
    free(t);
    /* lines ending in the Ethiopic full stop, typed "።" or as two wordspaces "፡፡", end in punctuation */
    t = repeat("እስራኤል የአይሑድ አዲስ ዓመት ከመግባቱ በፊት እየተስፋፋ ያለውን ኮሮና ለመመከት ጥብቅ እርምጃዎችን ልትወስድ ነው፡፡", 10, "\n");
    expect(f, t, "am", NULL);
    free(t);
    t = repeat("እስራኤል የአይሑድ አዲስ ዓመት ከመግባቱ በፊት እየተስፋፋ ያለውን ኮሮና ለመመከት ጥብቅ እርምጃዎችን ልትወስድ ነው፡", 10, "\n");
    expect(f, t, "am", "fineweb:line_punct_ratio");
    free(t);
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    f = make(only("fineweb", json_pack("{s:f,s:f}", "max_char_dup_ratio", 1.0, "max_newline_per_word", 100.0)));
    t = repeat("Yes, it is.", 10, "\n");
    cp_buf b = {0};
    cp_buf_printf(&b, "%s\n%s", GOOD, t);
    expect(f, b.data, "en", "fineweb:short_line_ratio");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
    free(t);
    f = make(only("fineweb", json_pack("{s:f}", "max_newline_per_word", 100.0)));
    cp_buf_printf(&b, "%s\nThe schools will get new roofs before the winter.\nThe schools will get new roofs before the winter.", GOOD);
    expect(f, b.data, "en", "fineweb:repeated_line_chars");
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
    cp_buf_free(&b);
    f = make(only("fineweb", json_pack("{s:f,s:f}", "max_short_line_ratio", 1.0, "max_char_dup_ratio", 1.0)));
    t = repeat("Vote now.", 20, "\n");
    expect(f, t, "en", "fineweb:newline_ratio");
    free(t);
    t = repeat("Vote now.", 20, " "); /* the same words on one line */
    expect(f, t, "en", NULL);
    free(t);
    expect(f, GOOD, "en", NULL);
    cp_filter_destroy(f);
}

static void no_space_scripts(void **state)
{
    (void)state;
    cp_filter *f = make(only("gopher_quality", NULL));
    const char *zh = "市议会周二批准了新的预算。反对派议员表示，该计划将提高许多家庭明年的地方税。市长说学校将在冬天之前得到新的屋顶和更好的供暖。";
    expect(f, zh, "zh", NULL); /* word rules skipped (configs/lang/zh.json) */
    expect(f, zh, "en", "gopher_quality:word_count");
    cp_filter_destroy(f);
}

static void language_override(void **state)
{
    (void)state;
    char dir[] = "/tmp/cp_filter_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/lang", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lang/xx.json", dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("{\"filter\": {\"gopher_quality\": {\"min_words\": 5}}}", fp);
    fclose(fp);
    /* files a config names are looked up beside the config file first: load an empty one from dir */
    char err[256];
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    fp = fopen(cfg, "w");
    assert_non_null(fp);
    fputs("{}", fp);
    fclose(fp);
    json_t *tree = json_object();
    assert_int_equal(cp_config_merge_file(tree, cfg, err, sizeof err), 0);
    json_decref(tree);
    remove(cfg);
    json_t *sec = json_pack("{s:[s],s:{s:b}}", "languages", "xx", "gopher_quality", "enabled", 1);
    cp_filter *f = cp_filter_create(sec, err, sizeof err);
    json_decref(sec);
    remove(p);
    snprintf(p, sizeof p, "%s/lang", dir);
    rmdir(p);
    rmdir(dir);
    assert_non_null(f);
    const char *t = "The council met today and the plan was approved by the members.";
    expect(f, t, "xx", NULL);
    expect(f, t, "yy", "gopher_quality:word_count");
    json_t *j = cp_filter_to_json(f);
    json_t *xx = json_object_get(json_object_get(j, "languages"), "xx");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(xx, "gopher_quality"), "min_words")), 5);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "gopher_quality"), "min_words")), 50);
    json_decref(j);
    cp_filter_destroy(f);
}

static void bad_config(void **state)
{
    (void)state;
    char err[256] = "";
    json_t *sec = json_pack("{s:{s:s}}", "gopher_quality", "min_words", "many");
    assert_null(cp_filter_create(sec, err, sizeof err));
    assert_non_null(strstr(err, "min_words"));
    json_decref(sec);
    sec = json_pack("{s:[s]}", "languages", "qq");
    assert_null(cp_filter_create(sec, err, sizeof err));
    assert_non_null(strstr(err, "lang/qq.json"));
    json_decref(sec);
}

static void all_off(void **state)
{
    (void)state;
    char err[64];
    cp_filter *f = cp_filter_create(NULL, err, sizeof err);
    assert_non_null(f);
    expect(f, "x", "en", NULL);
    cp_filter_destroy(f);
    const char *const *r = cp_filter_reasons();
    size_t n = 0;
    while (r[n])
        n++;
    assert_int_equal(n, 26);
}

/* The news preset keeps the cleaned seed page (a real Dutch article). */
static void seed_page_kept(void **state)
{
    (void)state;
    const char *shared = getenv("CP_SHARED") ? getenv("CP_SHARED") : "../shared";
    char p[1024];
    snprintf(p, sizeof p, "%s/seed/news-nl-reuters-mirror.txt", shared);
    FILE *fp = fopen(p, "rb");
    if (!fp)
        skip();
    cp_buf seed = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
        cp_buf_append(&seed, chunk, k);
    fclose(fp);
    size_t n;
    char *txt = cp_config_read("news.json", &n);
    assert_non_null(txt);
    json_t *news = json_loadb(txt, n, 0, NULL);
    free(txt);
    char err[256];
    cp_cleaner *c = cp_cleaner_create(json_object_get(news, "clean"), err, sizeof err);
    cp_filter *f = cp_filter_create(json_object_get(news, "filter"), err, sizeof err);
    assert_non_null(c);
    assert_non_null(f);
    cp_clean_scratch *cs = cp_clean_scratch_create();
    cp_buf out = {0};
    assert_null(cp_clean_doc(c, seed.data, seed.len, cs, &out, NULL));
    expect(f, out.data, "nl", NULL);
    cp_buf_free(&out);
    cp_buf_free(&seed);
    cp_clean_scratch_destroy(cs);
    cp_cleaner_destroy(c);
    cp_filter_destroy(f);
    json_decref(news);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gq_word_count),    cmocka_unit_test(gq_mean_word_len),
        cmocka_unit_test(gq_symbols),       cmocka_unit_test(gq_bullets_and_ellipsis),
        cmocka_unit_test(gq_alpha_words),   cmocka_unit_test(gq_stop_words),
        cmocka_unit_test(gr_lines_and_paragraphs), cmocka_unit_test(gr_ngrams),
        cmocka_unit_test(gr_ngrams_reference),
        cmocka_unit_test(c4_rules),         cmocka_unit_test(fineweb_rules),
        cmocka_unit_test(no_space_scripts), cmocka_unit_test(language_override),
        cmocka_unit_test(bad_config),       cmocka_unit_test(all_off),
        cmocka_unit_test(seed_page_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
