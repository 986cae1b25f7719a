/* Tests for the langid stage: languages and codes CLD2 must give, "und" for text without a language, the
 * sample cut (never past sample_bytes, never inside a character), proof that the full tables are linked, and
 * identical answers from concurrent threads. Texts are copied into exact-size heap buffers so that
 * AddressSanitizer sees any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <jansson.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "corpusprep/langid.h"

static cp_lang_result detect_n(const char *text, size_t len, size_t sample_bytes) {
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    cp_lang_result r;
    memset(&r, 0x55, sizeof r); /* garbage, so a field left unset shows */
    cp_langid_detect(copy, len, sample_bytes, &r);
    free(copy);
    return r;
}

static cp_lang_result detect(const char *text, size_t sample_bytes) {
    return detect_n(text, strlen(text), sample_bytes);
}

static void assert_lang(const char *text, const char *want) {
    cp_lang_result r = detect(text, 0);
    if (strcmp(r.code, want) != 0)
        fail_msg("expected %s, got %s (score %.2f) for: %.60s", want, r.code, r.score, text);
    assert_true(r.reliable);
    assert_true(r.score > 0.5 && r.score <= 1.0);
}

static const char *const EN = "The city council voted on Tuesday to expand the bus network and to build two new "
                              "bicycle lanes in the downtown area before the end of next year.";
/* A few sentences of the seed document (shared/seed/news-nl-reuters-mirror.txt). */
static const char *const NL = "Het Russische ministerie van Buitenlandse Zaken heeft de opmerking van Blingen "
                              "\xe2\x80\x9c" "algemeen beledigend\xe2\x80\x9d genoemd en hem ervan beschuldigd "
                              "grapjes te maken over de tragische gebeurtenissen in Kazachstan. Het zei dat "
                              "Washington zijn eigen interventies in landen als Vietnam en Irak zou moeten "
                              "onderzoeken.";
static const char *const DE = "Die Bundesregierung hat am Mittwoch beschlossen, die F\xc3\xb6rderung f\xc3\xbcr "
                              "erneuerbare Energien im kommenden Jahr deutlich zu erh\xc3\xb6hen.";
static const char *const FR = "Le gouvernement a annonc\xc3\xa9 mercredi une nouvelle r\xc3\xa9" "forme des "
                              "retraites, qui sera pr\xc3\xa9sent\xc3\xa9" "e au Parlement le mois prochain.";
static const char *const AM = "ዛሬ የአየር ሁኔታ በጣም ጥሩ ነው እና ወደ ገበያ እንሄዳለን። ልጆቹም ከትምህርት ቤት በኋላ ይመጣሉ።";
static const char *const ZH = "这是一个关于天气的新闻报道，今天北京市的气温很高，很多市民到公园散步。";
/* Traditional Chinese, which CLD2 labels "zh-Hant". */
static const char *const ZH_HANT = "這是一個關於台灣天氣的新聞報導，今天台北市的氣溫很高，很多民眾到海邊游泳。";
/* Hebrew, which CLD2 labels with the withdrawn code "iw". */
static const char *const HE = "הממשלה הודיעה היום כי בתי הספר ייפתחו מחדש בשבוע הבא לאחר החופשה.";
/* Languages only the full tables know (the small ones give "und" or "tl" for these). */
static const char *const HA = "Gwamnatin jihar Kano ta bayyana cewa za ta gina sababbin makarantu a kananan hukumomi "
                              "guda goma sha biyu domin inganta ilimin yara a fadin jihar.";
static const char *const YO = "Ijọba ipinlẹ Eko ti kede pe awọn ile-iwe yoo tun ṣii ni ọsẹ to nbọ, lẹhin ti awọn "
                              "obi ati olukọ ti pade pẹlu kọmiṣanna fun eto ẹkọ.";
static const char *const SO = "Dowladda federaalka Soomaaliya ayaa sheegtay in ay qorsheyneyso in ay dhisto iskuulo "
                              "cusub oo ku yaala gobollada dalka, si loo horumariyo waxbarashada carruurta.";

static void test_common_languages(void **state) {
    (void)state;
    assert_lang(EN, "en");
    assert_lang(NL, "nl");
    assert_lang(DE, "de");
    assert_lang(FR, "fr");
    assert_lang(AM, "am");
    assert_lang(ZH, "zh");
}

static void test_code_mapping(void **state) {
    (void)state;
    assert_lang(ZH_HANT, "zh"); /* zh-Hant: primary subtag only */
    assert_lang(HE, "he");      /* iw folded */
    const char *texts[] = {EN, NL, DE, FR, AM, ZH, ZH_HANT, HE, HA, YO, SO};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cp_lang_result r = detect(texts[i], 0);
        assert_null(strchr(r.code, '-'));
        assert_in_range(strlen(r.code), 2, 3);
    }
}

static void test_full_tables(void **state) {
    (void)state;
    assert_lang(HA, "ha");
    assert_lang(YO, "yo");
    assert_lang(SO, "so");
    /* The small tables count 95 under the same rule, the full ones 161. */
    assert_in_range(cp_langid_language_count(), 150, 200);
}

static void test_no_language(void **state) {
    (void)state;
    const char *texts[] = {"", "1234567890 2024-01-07 42", "   \n\t ", "!!! ... ??? ---",
                           /* Runic: CLD2 only names the script ("xx-Runr") */
                           "ᚠᚢᚦᚨᚱᚲ ᚷᚹᚺᚾᛁᛃ ᛇᛈᛉᛊᛏᛒ ᚠᚢᚦᚨᚱᚲ"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cp_lang_result r = detect(texts[i], 0);
        assert_string_equal(r.code, "und");
        assert_true(r.score == 0.0);
        assert_int_equal(r.reliable, 0);
    }
    cp_lang_result r;
    cp_langid_detect(NULL, 0, 0, &r);
    assert_string_equal(r.code, "und");
}

/* The sample limits what CLD2 sees: English first, then much more French. */
static void test_sample_limits_text(void **state) {
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s %s %s %s %s %s", EN, FR, FR, FR, FR, FR);
    assert_string_equal(detect(text, 0).code, "fr");
    assert_string_equal(detect(text, strlen(EN)).code, "en");
    assert_string_equal(detect(text, strlen(EN) + 40).code, "en");
    /* a sample bigger than the text is the whole text */
    assert_string_equal(detect(text, sizeof text * 4).code, "fr");
}

/* Cutting at any byte of a text made of 3-byte characters with no whitespace must give the same answer as
 * the text cut by hand at the character boundary at or below that byte. */
static void test_sample_cut_on_character_boundary(void **state) {
    (void)state;
    size_t len = strlen(ZH);
    for (size_t k = 1; k < len; k++) {
        size_t whole = k;
        while (whole > 0 && ((unsigned char)ZH[whole] & 0xC0) == 0x80)
            whole--;
        cp_lang_result cut = detect_n(ZH, len, k), by_hand = detect_n(ZH, whole, 0);
        assert_string_equal(cut.code, by_hand.code);
        assert_true(cut.score == by_hand.score);
        assert_int_equal(cut.reliable, by_hand.reliable);
    }
    /* 2 bytes of a 3-byte character: nothing whole to look at */
    assert_string_equal(detect_n(ZH, len, 2).code, "und");
}

/* A cut inside a word steps back to the whitespace before it: here the 20-byte sample must be "12345 " alone
 * (no language), while the same 20 bytes cut blindly already read as German. */
static void test_sample_cut_prefers_whitespace(void **state) {
    (void)state;
    const char *text = "12345 Donaudampfschifffahrtsgesellschaftskapit\xc3\xa4n";
    assert_string_equal(detect_n(text, 20, 0).code, "de");
    assert_string_equal(detect_n(text, strlen(text), 20).code, "und");
    assert_string_equal(detect_n(text, strlen(text), 0).code, "de");
}

/* Invalid UTF-8 from upstream must not crash CLD2: the valid prefix is used. */
static void test_invalid_utf8(void **state) {
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, "%s \xff\xfe\xc3 trailing", DE);
    assert_string_equal(detect(text, 0).code, "de");
    assert_string_equal(detect("\xff\xfe\xfd", 0).code, "und");
}

/* CLD2 is stateless: two threads detecting the same texts at once agree with one thread. */
static void test_threads_agree(void **state) {
    (void)state;
    const char *texts[] = {EN, NL, DE, FR, AM, ZH, ZH_HANT, HE, HA, YO, SO};
    enum { NT = sizeof texts / sizeof texts[0], ROUNDS = 200, N = NT * ROUNDS };
    cp_lang_result serial[NT];
    for (int i = 0; i < NT; i++)
        serial[i] = detect(texts[i], 0);
    static cp_lang_result parallel[N];
#ifdef _OPENMP
    int threads_seen = 1;
#pragma omp parallel for num_threads(2) schedule(static, 1)
#endif
    for (int i = 0; i < N; i++) {
        cp_langid_detect(texts[i % NT], strlen(texts[i % NT]), (size_t)(i % 3) * 1024, &parallel[i]);
#ifdef _OPENMP
        if (omp_get_thread_num() == 1)
            threads_seen = 2; /* only thread 1 writes it; read after the implied barrier */
#endif
    }
#ifdef _OPENMP
    assert_int_equal(threads_seen, 2);
#endif
    for (int i = 0; i < N; i++) {
        assert_string_equal(parallel[i].code, serial[i % NT].code);
        assert_true(parallel[i].score == serial[i % NT].score);
        assert_int_equal(parallel[i].reliable, serial[i % NT].reliable);
    }
}

/* Real data: every German news article of gnad10k-de is "de" with the 1 KB default sample. */
static void test_gnad_german(void **state) {
    (void)state;
    const char *shared = getenv("CP_SHARED") ? getenv("CP_SHARED") : "../shared";
    char path[4096];
    snprintf(path, sizeof path, "%s/data/gnad10k-de.jsonl.gz", shared);
    gzFile f = gzopen(path, "rb");
    if (!f)
        skip();
    static char line[1 << 20];
    int docs = 0, german = 0;
    while (gzgets(f, line, sizeof line)) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *t = json_object_get(o, "text");
        if (json_is_string(t)) {
            cp_lang_result r;
            cp_langid_detect(json_string_value(t), json_string_length(t), 1024, &r);
            docs++;
            german += strcmp(r.code, "de") == 0;
        }
        json_decref(o);
    }
    gzclose(f);
    assert_int_equal(docs, 1028);
    assert_int_equal(german, docs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_languages),
        cmocka_unit_test(test_code_mapping),
        cmocka_unit_test(test_full_tables),
        cmocka_unit_test(test_no_language),
        cmocka_unit_test(test_sample_limits_text),
        cmocka_unit_test(test_sample_cut_on_character_boundary),
        cmocka_unit_test(test_sample_cut_prefers_whitespace),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_gnad_german),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
