/* langid: a thin C wrapper over CLD2 (compact language detector 2), the sample cut both backends share, and
 * the cp_langid handle that dispatches to CLD2 or to a fastText model (langid_fasttext.cc).
 * Invariants: cp_langid_detect never reads past text[len) nor more than sample_bytes of it, hands CLD2 only
 * whole UTF-8 characters, and always writes a NUL-terminated code ("und" when CLD2 has no answer).
 * Thread safety: CLD2 keeps all scoring state on the stack of the call and its tables are read-only, so any
 * number of threads may call in at once; this file adds no state of its own. */

/* CLD2's public header uses FILE without including <cstdio> itself. */
#include <cstdio>
#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <cld2/internal/cld2tablesummary.h>
#include <cld2/public/compact_lang_det.h>

extern "C" {
#include "corpusprep/langid.h"
}

/* The scoring tables CLD2 consults; libcld2_full defines them with 140-odd languages, libcld2 with 75. Each
 * lists the language-script pairs it was trained on, which is what cp_langid_language_count reads. */
namespace CLD2 {
extern const CLD2TableSummary kQuad_obj, kQuad_obj2, kDeltaOcta_obj, kDeltaOcta_obj2, kDistinctOcta_obj,
    kDistinctOcta_obj2, kCjkCompat_obj, kCjkDeltaBi_obj, kDistinctBiTable_obj;
}

namespace {

/* A cut made at sample_bytes steps back at most this far to land on whitespace instead of mid-word: a
 * split word is a garbage n-gram, and a short look-back keeps the sample close to the size asked for. */
const size_t kWhitespaceLookback = 32;

inline bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }
inline bool is_space(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* Largest n <= limit such that text[0..n) ends on a character boundary, preferring one just after
 * whitespace. Requires limit < len, so text[limit] exists. */
size_t cut_sample(const char *text, size_t limit) {
    const unsigned char *s = reinterpret_cast<const unsigned char *>(text);
    size_t n = limit;
    while (n > 0 && is_continuation(s[n]))
        n--;
    size_t floor = n > kWhitespaceLookback ? n - kWhitespaceLookback : 0;
    for (size_t k = n; k > floor; k--)
        if (is_space(s[k - 1]))
            return k;
    return n;
}

/* Copies CLD2's code for lang into out (size 16) as the project's code: the primary subtag ("zh-Hant" and
 * "sr-ME" lose the region/script), the withdrawn ISO 639-1 codes CLD2 still uses folded to current ones,
 * and everything that is not a language (unknown, "xx-Qaai" script-only results, the joke languages
 * zzb/zzp/zzh/zze) given as "und". */
void map_code(CLD2::Language lang, char *out) {
    static const char *const kFold[][2] = {{"iw", "he"}, {"in", "id"}, {"jw", "jv"}, {"ji", "yi"}, {"mo", "ro"}};
    const char *code = lang == CLD2::UNKNOWN_LANGUAGE || lang == CLD2::TG_UNKNOWN_LANGUAGE
                           ? nullptr
                           : CLD2::LanguageCode(lang);
    size_t n = code ? std::strcspn(code, "-") : 0;
    if (n < 2 || n > 3 || (code[0] == 'x' && code[1] == 'x') || (code[0] == 'z' && code[1] == 'z') ||
        std::strcmp(code, "un") == 0) {
        std::memcpy(out, "und", 4);
        return;
    }
    for (const auto &f : kFold)
        if (n == 2 && std::strncmp(code, f[0], 2) == 0)
            code = f[1];
    std::memcpy(out, code, n);
    out[n] = '\0';
}

} // namespace

extern "C" size_t cp_langid_sample_len(const char *text, size_t len, size_t sample_bytes) {
    size_t limit = static_cast<size_t>(INT_MAX);
    if (sample_bytes > 0 && sample_bytes < limit)
        limit = sample_bytes;
    return len > limit ? cut_sample(text, limit) : len;
}

extern "C" void cp_langid_detect(const char *text, size_t len, size_t sample_bytes, cp_lang_result *out) {
    std::memcpy(out->code, "und", 4);
    out->script[0] = '\0';
    out->score = 0.0;
    out->reliable = 0;
    if (!text || len == 0)
        return;

    size_t n = cp_langid_sample_len(text, len, sample_bytes);

    CLD2::Language top3[3];
    int percent3[3];
    double normalized3[3];
    int text_bytes = 0, valid_prefix = 0;
    bool reliable = false;
    /* The checking entry point costs one UTF-8 scan of the sample and protects CLD2, which is not written
     * for invalid input, from whatever an upstream stage let through. */
    CLD2::Language lang = CLD2::ExtDetectLanguageSummaryCheckUTF8(
        text, static_cast<int>(n), true, nullptr, 0, top3, percent3, normalized3, nullptr, &text_bytes,
        &reliable, &valid_prefix);
    if (valid_prefix < static_cast<int>(n)) {
        if (valid_prefix == 0)
            return;
        lang = CLD2::ExtDetectLanguageSummaryCheckUTF8(text, valid_prefix, true, nullptr, 0, top3, percent3,
                                                       normalized3, nullptr, &text_bytes, &reliable,
                                                       &valid_prefix);
    }

    map_code(lang, out->code);
    if (std::strcmp(out->code, "und") == 0)
        return;
    /* The score is the share of letter bytes CLD2 gave the top language (its percent / 100), not lowered when
     * is_reliable is false: on MasakhaNEWS (1 KB samples) every unreliable answer was right, and on lingua's
     * sentences halving it for unreliable answers left the accuracy of what a 0.5 threshold keeps unchanged
     * (0.9636 vs 0.9635) while dropping three times as many right answers. */
    for (int k = 0; k < 3; k++)
        if (top3[k] == lang) {
            out->score = percent3[k] / 100.0;
            break;
        }
    out->reliable = reliable ? 1 : 0;
}

extern "C" int cp_langid_candidates(const char *text, size_t len, size_t sample_bytes, cp_lang_candidate out[3],
                                    size_t *sample_len) {
    *sample_len = 0;
    if (!text || len == 0)
        return 0;
    size_t limit = static_cast<size_t>(INT_MAX);
    if (sample_bytes > 0 && sample_bytes < limit)
        limit = sample_bytes;
    size_t n = len > limit ? cut_sample(text, limit) : len;
    CLD2::Language top3[3];
    int percent3[3];
    double normalized3[3];
    int text_bytes = 0, valid_prefix = 0;
    bool reliable = false;
    CLD2::ExtDetectLanguageSummaryCheckUTF8(text, static_cast<int>(n), true, nullptr, 0, top3, percent3,
                                            normalized3, nullptr, &text_bytes, &reliable, &valid_prefix);
    if (valid_prefix < static_cast<int>(n)) {
        n = static_cast<size_t>(valid_prefix);
        if (n == 0)
            return 0;
        CLD2::ExtDetectLanguageSummaryCheckUTF8(text, static_cast<int>(n), true, nullptr, 0, top3, percent3,
                                                normalized3, nullptr, &text_bytes, &reliable, &valid_prefix);
    }
    *sample_len = n;
    int k = 0;
    for (int i = 0; i < 3; i++) {
        if (percent3[i] <= 0)
            continue;
        map_code(top3[i], out[k].code);
        out[k].score = percent3[i] / 100.0;
        k++;
    }
    return k;
}

namespace {

/* Distinct codes (after map_code) that some scoring table was trained on or that a script identifies by
 * itself: 161 with libcld2_full linked, 95 with libcld2 alone. */
std::vector<std::string> cld2_codes() {
    static const CLD2::CLD2TableSummary *const kTables[] = {
        &CLD2::kQuad_obj,         &CLD2::kQuad_obj2,         &CLD2::kDeltaOcta_obj,
        &CLD2::kDeltaOcta_obj2,   &CLD2::kDistinctOcta_obj,  &CLD2::kDistinctOcta_obj2,
        &CLD2::kCjkCompat_obj,    &CLD2::kCjkDeltaBi_obj,    &CLD2::kDistinctBiTable_obj};
    bool seen[CLD2::NUM_LANGUAGES] = {false};

    /* Languages some table was trained on: every "code-Scri" token names one. */
    for (const CLD2::CLD2TableSummary *t : kTables) {
        const char *p = t->kRecognizedLangScripts;
        while (p && *p) {
            size_t tok = std::strcspn(p, " ");
            size_t code_len = tok; /* the code runs up to the last dash: "zh-Hant-Hani" has code "zh-Hant" */
            for (size_t d = 0; d < tok; d++)
                if (p[d] == '-')
                    code_len = d;
            for (int l = 0; l < CLD2::NUM_LANGUAGES; l++) {
                const char *c = CLD2::LanguageCode(static_cast<CLD2::Language>(l));
                if (c && std::strlen(c) == code_len && std::strncmp(c, p, code_len) == 0)
                    seen[l] = true;
            }
            p += tok;
            while (*p == ' ')
                p++;
        }
    }
    /* Languages recognised from their script alone (Greek, Thai, Georgian...), which need no table. */
    for (int s = 0; s < CLD2::NUM_ULSCRIPTS; s++) {
        CLD2::ULScript script = static_cast<CLD2::ULScript>(s);
        if (CLD2::ULScriptRecognitionType(script) == CLD2::RTypeOne)
            seen[CLD2::DefaultLanguage(script)] = true;
    }

    /* What callers can see: distinct codes after mapping (zh and zh-Hant are one language here). */
    std::vector<std::string> codes;
    for (int l = 0; l < CLD2::NUM_LANGUAGES; l++) {
        char code[16];
        map_code(static_cast<CLD2::Language>(l), code);
        if (!seen[l] || std::strcmp(code, "und") == 0)
            continue;
        bool dup = false;
        for (const auto &c : codes)
            dup = dup || c == code;
        if (!dup)
            codes.push_back(code);
    }
    return codes;
}

/* Built once, on first use (thread-safe initialisation of a function-local static). */
const std::vector<std::string> &cld2_code_list() {
    static const std::vector<std::string> codes = cld2_codes();
    return codes;
}

} // namespace

extern "C" int cp_langid_language_count(void) { return static_cast<int>(cld2_code_list().size()); }

struct cp_langid {
    cp_langid_backend backend;
    cp_fasttext *ft; /* the model, for CP_LANGID_FASTTEXT */
};

extern "C" cp_langid *cp_langid_open(cp_langid_backend backend, const char *model_path, char *err, size_t errlen) {
    cp_fasttext *ft = nullptr;
    if (backend == CP_LANGID_FASTTEXT) {
        if (!model_path || !*model_path) {
            std::snprintf(err, errlen, "the fastText backend needs a model (langid.model)");
            return nullptr;
        }
        if (!(ft = cp_fasttext_load(model_path, err, errlen)))
            return nullptr;
    }
    cp_langid *lid = new (std::nothrow) cp_langid{backend, ft};
    if (!lid) {
        cp_fasttext_free(ft);
        std::snprintf(err, errlen, "out of memory");
    }
    return lid;
}

extern "C" void cp_langid_close(cp_langid *lid) {
    if (!lid)
        return;
    cp_fasttext_free(lid->ft);
    delete lid;
}

extern "C" void cp_langid_run(const cp_langid *lid, const char *text, size_t len, size_t sample_bytes,
                              cp_lang_result *out) {
    if (lid->ft)
        cp_fasttext_detect(lid->ft, text, len, sample_bytes, out);
    else
        cp_langid_detect(text, len, sample_bytes, out);
}

extern "C" int cp_langid_count(const cp_langid *lid) {
    return lid->ft ? cp_fasttext_count(lid->ft) : cp_langid_language_count();
}

extern "C" int cp_langid_knows(const cp_langid *lid, const char *code) {
    if (lid->ft)
        return cp_fasttext_knows(lid->ft, code);
    for (const auto &c : cld2_code_list())
        if (c == code)
            return 1;
    return 0;
}
