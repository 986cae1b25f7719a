/* Tests for the langid stage: languages and codes CLD2 must give, "und" for text without a language, the
 * sample cut (never past sample_bytes, never inside a character), proof that the full tables are linked, and
 * identical answers from concurrent threads. Then the fastText backend: label mapping, lid.176 on known texts,
 * tiny models trained here with GlotLID-style labels, refused model files, and agreement with the reference
 * `fasttext predict-prob` CLI on real data. Texts are copied into exact-size heap buffers so that
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
#include "cli_util.h"

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

/* ---- fastText backend ---- */

static void assert_map(const char *label, const char *code, const char *script) {
    char c[16], sc[8];
    memset(c, 0x55, sizeof c);
    memset(sc, 0x55, sizeof sc);
    cp_langid_map_label(label, c, sc);
    if (strcmp(c, code) || strcmp(sc, script))
        fail_msg("%s: expected %s/%s, got %s/%s", label, code, script, c, sc);
}

static void test_map_label(void **state) {
    (void)state;
    assert_map("en", "en", "");            /* lid.176 */
    assert_map("eng_Latn", "en", "Latn");  /* GlotLID, OpenLID */
    assert_map("deu-latn", "de", "Latn");
    assert_map("ZHO_HANS", "zh", "Hans");
    assert_map("cmn_Hani", "zh", "Hani");  /* the standard variety of a macrolanguage */
    assert_map("arb_Arab", "ar", "Arab");
    assert_map("zsm_Latn", "ms", "Latn");
    assert_map("swh_Latn", "sw", "Latn");
    assert_map("ary_Arab", "ary", "Arab"); /* other members keep their code */
    assert_map("yue", "yue", "");
    assert_map("pcm_Latn", "pcm", "Latn"); /* no 639-1 code: 639-3 */
    assert_map("run_Latn", "rn", "Latn");
    assert_map("nob_Latn", "nb", "Latn");
    assert_map("hbs_Latn", "sh", "Latn");
    assert_map("iw", "he", "");            /* withdrawn 639-1 folded */
    assert_map("no", "no", "");
    assert_map("ceb", "ceb", "");
    /* not languages, or not codes */
    assert_map("und_Latn", "und", "");
    assert_map("zxx_Zxxx", "und", "");
    assert_map("", "und", "");
    assert_map("e", "und", "");
    assert_map("engl", "und", "");
    assert_map("en_Latin", "und", "");
    assert_map("en-US", "und", "");
    assert_map("en_La1n", "und", "");
    assert_map("e\xc3\xa9", "und", "");
}

static cp_langid *open_lid176(void) {
    const char *m = lid_model();
    if (!m)
        return NULL;
    char err[512];
    cp_langid *lid = cp_langid_open(CP_LANGID_FASTTEXT, m, err, sizeof err);
    if (!lid)
        fail_msg("%s", err);
    return lid;
}

static cp_lang_result run_n(const cp_langid *lid, const char *text, size_t len, size_t sample_bytes) {
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    cp_lang_result r;
    memset(&r, 0x55, sizeof r);
    cp_langid_run(lid, copy, len, sample_bytes, &r);
    free(copy);
    return r;
}

static void test_fasttext_languages(void **state) {
    (void)state;
    cp_langid *lid = open_lid176();
    if (!lid)
        skip();
    const char *texts[][2] = {{EN, "en"}, {NL, "nl"}, {DE, "de"}, {FR, "fr"}, {AM, "am"}, {ZH, "zh"},
                              {ZH_HANT, "zh"}, {HE, "he"}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cp_lang_result r = run_n(lid, texts[i][0], strlen(texts[i][0]), 0);
        if (strcmp(r.code, texts[i][1]))
            fail_msg("expected %s, got %s (%.3f)", texts[i][1], r.code, r.score);
        assert_true(r.score > 0.5 && r.score <= 1.0);
        assert_string_equal(r.script, ""); /* lid.176 names no scripts */
        assert_int_equal(r.reliable, 1);
    }
    /* lid.176 lacks Hausa; Kirundi is not one of its 176 labels either */
    assert_int_equal(cp_langid_knows(lid, "ha"), 0);
    assert_int_equal(cp_langid_knows(lid, "rn"), 0);
    assert_int_equal(cp_langid_knows(lid, "en"), 1);
    assert_int_equal(cp_langid_count(lid), 176);
    /* an empty text has no language */
    cp_lang_result r = run_n(lid, "", 0, 0);
    assert_string_equal(r.code, "und");
    assert_true(r.score == 0.0);
    cp_langid_close(lid);
}

/* A '\n' would end fastText's line (and its reading) there: the backend reads it as a space, so the German
 * second line counts; and the sample limit applies as with CLD2. */
static void test_fasttext_newlines_and_sample(void **state) {
    (void)state;
    cp_langid *lid = open_lid176();
    if (!lid)
        skip();
    char text[4096];
    snprintf(text, sizeof text, "Hallo\n%s %s", DE, DE);
    char spaced[4096];
    snprintf(spaced, sizeof spaced, "Hallo %s %s", DE, DE);
    cp_lang_result a = run_n(lid, text, strlen(text), 0), b = run_n(lid, spaced, strlen(spaced), 0);
    assert_string_equal(a.code, "de");
    assert_true(a.score == b.score);
    snprintf(text, sizeof text, "%s %s %s %s", EN, FR, FR, FR);
    assert_string_equal(run_n(lid, text, strlen(text), 0).code, "fr");
    assert_string_equal(run_n(lid, text, strlen(text), strlen(EN) + 20).code, "en");
    cp_langid_close(lid);
}

/* One model shared by two OpenMP threads gives exactly the single-thread answers. */
static void test_fasttext_threads_agree(void **state) {
    (void)state;
    cp_langid *lid = open_lid176();
    if (!lid)
        skip();
    const char *texts[] = {EN, NL, DE, FR, AM, ZH, ZH_HANT, HE, HA, YO, SO};
    enum { NT = sizeof texts / sizeof texts[0], ROUNDS = 200, N = NT * ROUNDS };
    cp_lang_result serial[NT];
    for (int i = 0; i < NT; i++)
        serial[i] = run_n(lid, texts[i], strlen(texts[i]), 0);
    static cp_lang_result parallel[N];
#ifdef _OPENMP
#pragma omp parallel for num_threads(2) schedule(static, 1)
#endif
    for (int i = 0; i < N; i++)
        cp_langid_run(lid, texts[i % NT], strlen(texts[i % NT]), 0, &parallel[i]);
    for (int i = 0; i < N; i++) {
        assert_string_equal(parallel[i].code, serial[i % NT].code);
        assert_true(parallel[i].score == serial[i % NT].score);
    }
    cp_langid_close(lid);
}

/* Runs a shell command; fails the test when it does not exit 0. */
static void sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* A tiny model with GlotLID's label style, trained here by the fasttext CLI: labels map to code + script. */
static void test_fasttext_glotlid_labels(void **state) {
    (void)state;
    if (!have_fasttext_cli())
        skip();
    char *dir = tmp_dir();
    FILE *f = fopen(P(dir, "train.txt"), "w");
    for (int i = 0; i < 30; i++)
        fprintf(f, "__label__eng_Latn the house is big and the dog is small\n"
                   "__label__deu_Latn das haus ist gross und der hund ist klein\n"
                   "__label__arb_Arab \xd8\xa7\xd9\x84\xd8\xa8\xd9\x8a\xd8\xaa \xd9\x83\xd8\xa8\xd9\x8a\xd8\xb1\n"
                   "__label__zxx_Zxxx 123 456 789 000\n");
    fclose(f);
    sh("fasttext supervised -input %s -output %s -dim 8 -epoch 50 -lr 0.5 -minCount 1 -bucket 1000 -thread 1 "
       "-verbose 0 >/dev/null", P(dir, "train.txt"), P(dir, "glot"));
    char err[512];
    cp_langid *lid = cp_langid_open(CP_LANGID_FASTTEXT, P(dir, "glot.bin"), err, sizeof err);
    if (!lid)
        fail_msg("%s", err);
    const char *cases[][3] = {{"the dog is big", "en", "Latn"},
                              {"der hund ist gross", "de", "Latn"},
                              {"\xd8\xa7\xd9\x84\xd8\xa8\xd9\x8a\xd8\xaa", "ar", "Arab"},
                              {"123 000", "und", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cp_lang_result r = run_n(lid, cases[i][0], strlen(cases[i][0]), 0);
        assert_string_equal(r.code, cases[i][1]);
        assert_string_equal(r.script, cases[i][2]);
        assert_true(r.score > 0.0 && r.score <= 1.0);
    }
    assert_int_equal(cp_langid_count(lid), 3); /* en de ar; zxx is "und" */
    assert_true(cp_langid_knows(lid, "ar"));
    assert_false(cp_langid_knows(lid, "und"));
    cp_langid_close(lid);
    rm_rf(dir);
    free(dir);
}

static void assert_refused(const char *path, const char *why) {
    char err[512] = "";
    cp_langid *lid = cp_langid_open(CP_LANGID_FASTTEXT, path, err, sizeof err);
    if (lid)
        fail_msg("model %s was accepted", path);
    if (!strstr(err, why))
        fail_msg("%s: expected \"%s\" in \"%s\"", path, why, err);
}

/* Missing, empty, foreign and truncated files, and a model that is not a classifier, are refused with a
 * message; none hangs (fastText alone loops forever on a truncated dictionary) or crashes. */
static void test_fasttext_bad_models(void **state) {
    (void)state;
    char *dir = tmp_dir();
    char err[512];
    assert_null(cp_langid_open(CP_LANGID_FASTTEXT, NULL, err, sizeof err));
    assert_non_null(strstr(err, "needs a model"));
    assert_refused(P(dir, "missing.ftz"), "No such file");
    write_file(P(dir, "empty.ftz"), "", 0, 0);
    assert_refused(P(dir, "empty.ftz"), "not a fastText model");
    write_file(P(dir, "text.ftz"), "{\"not\": \"a model\"}\n", 19, 0);
    assert_refused(P(dir, "text.ftz"), "not a fastText model");
    const char *m = getenv("CP_LID_MODEL") ? getenv("CP_LID_MODEL") : "build/models/lid.176.ftz";
    FILE *f = fopen(m, "rb");
    if (f) {
        static char model[1 << 20];
        size_t n = fread(model, 1, sizeof model, f);
        fclose(f);
        /* cut in the header, in the dictionary (words and their counts) and in the matrices */
        size_t cuts[] = {8, 100, 2000, 40000, n / 2, n - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            write_file(P(dir, "cut.ftz"), model, cuts[i], 0);
            assert_refused(P(dir, "cut.ftz"), "truncated");
        }
    } else {
        fprintf(stderr, "(truncated-model cases skipped: no %s)\n", m);
    }
    if (have_fasttext_cli()) {
        f = fopen(P(dir, "words.txt"), "w");
        for (int i = 0; i < 20; i++)
            fprintf(f, "the house is big and the dog is small\n");
        fclose(f);
        sh("fasttext skipgram -input %s -output %s -dim 4 -epoch 1 -minCount 1 -bucket 100 -minn 0 -maxn 0 "
           "-thread 1 -verbose 0 >/dev/null", P(dir, "words.txt"), P(dir, "vectors"));
        assert_refused(P(dir, "vectors.bin"), "not a supervised");
    }
    rm_rf(dir);
    free(dir);
}

/* The acceptance check against the reference: for every document of a labelled file, the exact line the
 * backend reads (the sample_bytes sample, '\n' as ' ') goes to `fasttext predict-prob MODEL FILE 1`; its label
 * must equal ours for >= 99.9 % of documents and its probability ours within 1e-4. Prints the figures. */
static void compare_with_cli(const cp_langid *lid, const char *model, const char *data, size_t sample_bytes,
                             size_t expect_docs) {
    gzFile in = gzopen(data, "rb");
    if (!in) {
        fprintf(stderr, "skipped: no %s\n", data);
        return;
    }
    char *dir = tmp_dir();
    FILE *lines = fopen(P(dir, "lines.txt"), "wb");
    size_t cap = 1 << 16, n = 0;
    cp_lang_result *ours = malloc(cap * sizeof *ours);
    static char line[1 << 22];
    while (gzgets(in, line, sizeof line)) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *t = json_object_get(o, "text");
        if (json_is_string(t)) {
            const char *text = json_string_value(t);
            size_t len = json_string_length(t), k = cp_langid_sample_len(text, len, sample_bytes);
            for (size_t j = 0; j < k; j++)
                fputc(text[j] == '\n' ? ' ' : text[j], lines);
            fputc('\n', lines);
            if (n == cap)
                ours = realloc(ours, (cap *= 2) * sizeof *ours);
            cp_langid_run(lid, text, len, sample_bytes, &ours[n++]);
        }
        json_decref(o);
    }
    gzclose(in);
    fclose(lines);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "fasttext predict-prob '%s' '%s' 1", model, P(dir, "lines.txt"));
    FILE *cli = popen(cmd, "r");
    size_t i = 0, same = 0, close = 0;
    double max_dp = 0;
    char label[256];
    double p;
    while (i < n && fscanf(cli, "%255s %lf", label, &p) == 2) {
        char code[16], script[8];
        cp_langid_map_label(strncmp(label, "__label__", 9) ? label : label + 9, code, script);
        if (p > 1.0)
            p = 1.0;
        if (!strcmp(code, ours[i].code)) {
            same++;
            double dp = p > ours[i].score ? p - ours[i].score : ours[i].score - p;
            max_dp = dp > max_dp ? dp : max_dp;
            close += dp <= 1e-4;
        } else {
            fprintf(stderr, "  differs, document %zu: CLI %s %.5f, corpusprep %s %.5f\n", i, label, p,
                    ours[i].code, ours[i].score);
        }
        i++;
    }
    assert_int_equal(pclose(cli), 0);
    fprintf(stderr, "  %s, sample %zu: %zu documents, same label %zu (%.4f %%), probability within 1e-4 %zu, "
                    "max difference %.2g\n", data, sample_bytes, n, same, 100.0 * same / n, close, max_dp);
    assert_int_equal(i, n);
    assert_int_equal(n, expect_docs);
    assert_true(same * 1000 >= n * 999);
    assert_int_equal(close, same);
    free(ours);
    rm_rf(dir);
    free(dir);
}

static void test_fasttext_matches_cli(void **state) {
    (void)state;
    const char *shared = shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: no shared data folder\n");
        skip();
    }
    cp_langid *lid = open_lid176();
    if (!lid || !have_fasttext_cli())
        skip();
    compare_with_cli(lid, lid_model(), P(shared, "data/lingua-sentences.jsonl.gz"), 512, 74141);
    compare_with_cli(lid, lid_model(), P(shared, "data/masakhanews.jsonl.gz"), 512, 20168);
    cp_langid_close(lid);
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
        cmocka_unit_test(test_map_label),
        cmocka_unit_test(test_fasttext_languages),
        cmocka_unit_test(test_fasttext_newlines_and_sample),
        cmocka_unit_test(test_fasttext_threads_agree),
        cmocka_unit_test(test_fasttext_glotlid_labels),
        cmocka_unit_test(test_fasttext_bad_models),
        cmocka_unit_test(test_fasttext_matches_cli),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    tmp_strings_free();
    return failed;
}
