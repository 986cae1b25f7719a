/* langid_fasttext: the fastText backend of langid, a thin C wrapper over Debian's libfasttext 0.9.2 (C++), for
 * supervised language-ID models such as lid.176 (.bin/.ftz), GlotLID and OpenLID.
 * Invariants: a document is scored exactly as `fasttext predict-prob MODEL - 1` scores one input line: the
 * sample (cp_langid_sample_len) with each '\n' turned into ' ' and one '\n' appended, read by the library's
 * own FastText::predictLine; so corpusprep and the reference CLI agree on the same bytes.
 * Thread safety: in 0.9.2 predictLine and everything below it (Dictionary::getLine, Model::predict,
 * Loss::predict, the dense and quantised matrices) are const member functions and keep their scratch
 * (Model::State) on the caller's stack; the only `mutable` member in the library's headers is in Meter, which
 * prediction does not use. One loaded model is therefore shared by all threads without locks; this file adds
 * only per-call locals and tables that are read-only after cp_fasttext_load. */

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <istream>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fasttext/fasttext.h>

extern "C" {
#include "corpusprep/langid.h"
}

namespace {

/* ISO 639-3 (= 639-2/T) code -> ISO 639-1 code, every pair that exists, sorted by the 639-3 code. Source: the
 * ISO 639-3 code table (as Debian's iso-codes ships it, /usr/share/iso-codes/json/iso_639-3.json). */
const char *const kIso3To1[][2] = {
    {"aar", "aa"}, {"abk", "ab"}, {"afr", "af"}, {"aka", "ak"}, {"amh", "am"}, {"ara", "ar"}, {"arg", "an"},
    {"asm", "as"}, {"ava", "av"}, {"ave", "ae"}, {"aym", "ay"}, {"aze", "az"}, {"bak", "ba"}, {"bam", "bm"},
    {"bel", "be"}, {"ben", "bn"}, {"bis", "bi"}, {"bod", "bo"}, {"bos", "bs"}, {"bre", "br"}, {"bul", "bg"},
    {"cat", "ca"}, {"ces", "cs"}, {"cha", "ch"}, {"che", "ce"}, {"chu", "cu"}, {"chv", "cv"}, {"cor", "kw"},
    {"cos", "co"}, {"cre", "cr"}, {"cym", "cy"}, {"dan", "da"}, {"deu", "de"}, {"div", "dv"}, {"dzo", "dz"},
    {"ell", "el"}, {"eng", "en"}, {"epo", "eo"}, {"est", "et"}, {"eus", "eu"}, {"ewe", "ee"}, {"fao", "fo"},
    {"fas", "fa"}, {"fij", "fj"}, {"fin", "fi"}, {"fra", "fr"}, {"fry", "fy"}, {"ful", "ff"}, {"gla", "gd"},
    {"gle", "ga"}, {"glg", "gl"}, {"glv", "gv"}, {"grn", "gn"}, {"guj", "gu"}, {"hat", "ht"}, {"hau", "ha"},
    {"hbs", "sh"}, {"heb", "he"}, {"her", "hz"}, {"hin", "hi"}, {"hmo", "ho"}, {"hrv", "hr"}, {"hun", "hu"},
    {"hye", "hy"}, {"ibo", "ig"}, {"ido", "io"}, {"iii", "ii"}, {"iku", "iu"}, {"ile", "ie"}, {"ina", "ia"},
    {"ind", "id"}, {"ipk", "ik"}, {"isl", "is"}, {"ita", "it"}, {"jav", "jv"}, {"jpn", "ja"}, {"kal", "kl"},
    {"kan", "kn"}, {"kas", "ks"}, {"kat", "ka"}, {"kau", "kr"}, {"kaz", "kk"}, {"khm", "km"}, {"kik", "ki"},
    {"kin", "rw"}, {"kir", "ky"}, {"kom", "kv"}, {"kon", "kg"}, {"kor", "ko"}, {"kua", "kj"}, {"kur", "ku"},
    {"lao", "lo"}, {"lat", "la"}, {"lav", "lv"}, {"lim", "li"}, {"lin", "ln"}, {"lit", "lt"}, {"ltz", "lb"},
    {"lub", "lu"}, {"lug", "lg"}, {"mah", "mh"}, {"mal", "ml"}, {"mar", "mr"}, {"mkd", "mk"}, {"mlg", "mg"},
    {"mlt", "mt"}, {"mon", "mn"}, {"mri", "mi"}, {"msa", "ms"}, {"mya", "my"}, {"nau", "na"}, {"nav", "nv"},
    {"nbl", "nr"}, {"nde", "nd"}, {"ndo", "ng"}, {"nep", "ne"}, {"nld", "nl"}, {"nno", "nn"}, {"nob", "nb"},
    {"nor", "no"}, {"nya", "ny"}, {"oci", "oc"}, {"oji", "oj"}, {"ori", "or"}, {"orm", "om"}, {"oss", "os"},
    {"pan", "pa"}, {"pli", "pi"}, {"pol", "pl"}, {"por", "pt"}, {"pus", "ps"}, {"que", "qu"}, {"roh", "rm"},
    {"ron", "ro"}, {"run", "rn"}, {"rus", "ru"}, {"sag", "sg"}, {"san", "sa"}, {"sin", "si"}, {"slk", "sk"},
    {"slv", "sl"}, {"sme", "se"}, {"smo", "sm"}, {"sna", "sn"}, {"snd", "sd"}, {"som", "so"}, {"sot", "st"},
    {"spa", "es"}, {"sqi", "sq"}, {"srd", "sc"}, {"srp", "sr"}, {"ssw", "ss"}, {"sun", "su"}, {"swa", "sw"},
    {"swe", "sv"}, {"tah", "ty"}, {"tam", "ta"}, {"tat", "tt"}, {"tel", "te"}, {"tgk", "tg"}, {"tgl", "tl"},
    {"tha", "th"}, {"tir", "ti"}, {"ton", "to"}, {"tsn", "tn"}, {"tso", "ts"}, {"tuk", "tk"}, {"tur", "tr"},
    {"twi", "tw"}, {"uig", "ug"}, {"ukr", "uk"}, {"urd", "ur"}, {"uzb", "uz"}, {"ven", "ve"}, {"vie", "vi"},
    {"vol", "vo"}, {"wln", "wa"}, {"wol", "wo"}, {"xho", "xh"}, {"yid", "yi"}, {"yor", "yo"}, {"zha", "za"},
    {"zho", "zh"}, {"zul", "zu"},
};

/* Individual languages that are the standard written variety of a macrolanguage with a 639-1 code, as
 * GlotLID and OpenLID (after NLLB) label them: counted as that language, so that `--langs ar,zh,ms` selects
 * the same documents with either backend. Other members of a macrolanguage (ary Moroccan Arabic, yue
 * Cantonese, prs Dari...) keep their own code. Source: ISO 639-3 macrolanguage mappings. */
const char *const kStandardVariety[][2] = {
    {"arb", "ar"}, {"ayr", "ay"}, {"azj", "az"}, {"cmn", "zh"}, {"ekk", "et"}, {"gaz", "om"}, {"khk", "mn"},
    {"kmr", "ku"}, {"knc", "kr"}, {"lvs", "lv"}, {"npi", "ne"}, {"ory", "or"}, {"pbt", "ps"}, {"pes", "fa"},
    {"plt", "mg"}, {"quy", "qu"}, {"swh", "sw"}, {"uzn", "uz"}, {"ydd", "yi"}, {"zsm", "ms"}};

/* Withdrawn ISO 639-1 codes some models still use (as in langid.cc). */
const char *const kWithdrawn[][2] = {{"iw", "he"}, {"in", "id"}, {"jw", "jv"}, {"ji", "yi"}, {"mo", "ro"}};

inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A streambuf over a FILE that, past the end of the file, hands out zero bytes and records that it did.
 * fastText 0.9.2 reads a model without checking for the end: its dictionary loop `while ((c = in.get()) != 0)`
 * never ends on a truncated file. Zeros end every such loop; the caller then refuses the model. */
class guarded_file_buf : public std::streambuf {
  public:
    explicit guarded_file_buf(FILE *f) : f_(f) {}
    bool overran() const { return overran_; }

  protected:
    int_type underflow() override {
        if (gptr() < egptr())
            return traits_type::to_int_type(*gptr());
        size_t n = std::fread(buf_, 1, sizeof buf_, f_);
        if (n == 0) {
            overran_ = true;
            std::memset(buf_, 0, sizeof buf_);
            n = sizeof buf_;
        }
        setg(buf_, buf_, buf_ + n);
        return traits_type::to_int_type(*gptr());
    }

  private:
    FILE *f_;
    bool overran_ = false;
    char buf_[1 << 16];
};

/* A read-only streambuf over one prepared line, so predictLine reads it without another copy. */
class line_buf : public std::streambuf {
  public:
    line_buf(char *p, size_t n) { setg(p, p, p + n); }
};

/* FastText with access to its protected checkModel (magic number and file-format version), which must read
 * the file's first bytes, and set the version that loadModel consults, before loadModel reads the rest. */
class model : public fasttext::FastText {
  public:
    bool load_checked(std::istream &in) {
        if (!checkModel(in))
            return false;
        loadModel(in);
        return true;
    }
};

} // namespace

struct cp_fasttext {
    model ft;
    std::string prefix; /* the model's label prefix, "__label__" */
    std::unordered_map<std::string, std::pair<std::string, std::string>> labels; /* label -> code, script */
    std::vector<std::string> codes; /* distinct codes the model can give, not "und" */
};

extern "C" void cp_langid_map_label(const char *label, char *code, char *script) {
    std::memcpy(code, "und", 4);
    script[0] = '\0';
    size_t n = 0;
    while (label[n] && is_alpha(label[n]))
        n++;
    const char *rest = label + n;
    if (*rest) {
        /* only "eng_Latn" / "eng-Latn": the language, then a script subtag of four letters */
        if ((*rest != '_' && *rest != '-') || std::strlen(rest + 1) != 4 || !is_alpha(rest[1]) ||
            !is_alpha(rest[2]) || !is_alpha(rest[3]) || !is_alpha(rest[4]))
            return;
        script[0] = static_cast<char>(lower(rest[1]) - 32);
        for (int k = 2; k <= 4; k++)
            script[k - 1] = lower(rest[k]);
        script[4] = '\0';
    }
    if (n < 2 || n > 3) {
        script[0] = '\0';
        return;
    }
    char c[4];
    for (size_t k = 0; k < n; k++)
        c[k] = lower(label[k]);
    c[n] = '\0';
    if (!std::strcmp(c, "und") || !std::strcmp(c, "zxx") || !std::strcmp(c, "mis") || !std::strcmp(c, "mul")) {
        script[0] = '\0';
        return;
    }
    const char *out = c;
    if (n == 2) {
        for (const auto &w : kWithdrawn)
            if (!std::strcmp(c, w[0]))
                out = w[1];
    } else {
        size_t lo = 0, hi = sizeof kIso3To1 / sizeof kIso3To1[0];
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int cmp = std::strcmp(kIso3To1[mid][0], c);
            if (cmp == 0) {
                out = kIso3To1[mid][1];
                break;
            }
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (const auto &v : kStandardVariety)
            if (!std::strcmp(c, v[0]))
                out = v[1];
    }
    std::memmove(code, out, std::strlen(out) + 1);
}

extern "C" cp_fasttext *cp_fasttext_load(const char *path, char *err, size_t errlen) {
    FILE *f = std::fopen(path, "rb");
    if (!f) {
        std::snprintf(err, errlen, "fastText model %s: %s", path, std::strerror(errno));
        return nullptr;
    }
    cp_fasttext *m = nullptr;
    guarded_file_buf buf(f);
    try {
        m = new cp_fasttext();
        std::istream in(&buf);
        if (!m->ft.load_checked(in)) {
            std::snprintf(err, errlen, "fastText model %s: not a fastText model file (or of a newer version)", path);
        } else if (buf.overran()) {
            std::snprintf(err, errlen, "fastText model %s: the file is truncated", path);
        } else if (m->ft.getArgs().model != fasttext::model_name::sup) {
            std::snprintf(err, errlen, "fastText model %s: not a supervised (classifier) model", path);
        } else if (m->ft.getDictionary()->nlabels() <= 0) {
            std::snprintf(err, errlen, "fastText model %s: the model has no labels", path);
        } else {
            m->prefix = m->ft.getArgs().label;
            auto dict = m->ft.getDictionary();
            for (int32_t i = 0; i < dict->nlabels(); i++) {
                std::string label = dict->getLabel(i);
                bool prefixed = label.compare(0, m->prefix.size(), m->prefix) == 0;
                std::string bare = prefixed ? label.substr(m->prefix.size()) : label;
                char code[16], script[8];
                cp_langid_map_label(bare.c_str(), code, script);
                m->labels[label] = {code, script};
                bool seen = !std::strcmp(code, "und");
                for (const auto &c : m->codes)
                    seen = seen || c == code;
                if (!seen)
                    m->codes.push_back(code);
            }
            std::fclose(f);
            return m;
        }
    } catch (const std::exception &e) {
        /* the zeros past a truncated file's end can make fastText refuse what it read ("Invalid model file") */
        if (buf.overran())
            std::snprintf(err, errlen, "fastText model %s: the file is truncated", path);
        else
            std::snprintf(err, errlen, "fastText model %s: cannot be loaded: %s", path, e.what());
    }
    delete m;
    std::fclose(f);
    return nullptr;
}

extern "C" void cp_fasttext_free(cp_fasttext *m) { delete m; }

extern "C" int cp_fasttext_count(const cp_fasttext *m) { return static_cast<int>(m->codes.size()); }

extern "C" int cp_fasttext_knows(const cp_fasttext *m, const char *code) {
    for (const auto &c : m->codes)
        if (c == code)
            return 1;
    return 0;
}

extern "C" void cp_fasttext_detect(const cp_fasttext *m, const char *text, size_t len, size_t sample_bytes,
                                   cp_lang_result *out) {
    std::memcpy(out->code, "und", 4);
    out->script[0] = '\0';
    out->score = 0.0;
    out->reliable = 0;
    if (!text || len == 0)
        return;
    size_t n = cp_langid_sample_len(text, len, sample_bytes);
    try {
        /* One input line of the CLI: a '\n' inside would end it there (fastText reads it as end of sentence). */
        std::string line(text, n);
        for (char &c : line)
            if (c == '\n')
                c = ' ';
        line.push_back('\n');
        line_buf buf(&line[0], line.size());
        std::istream in(&buf);
        std::vector<std::pair<fasttext::real, std::string>> predictions;
        m->ft.predictLine(in, predictions, 1, 0.0);
        if (predictions.empty())
            return;
        auto it = m->labels.find(predictions[0].second);
        if (it == m->labels.end())
            return;
        std::snprintf(out->code, sizeof out->code, "%s", it->second.first.c_str());
        std::snprintf(out->script, sizeof out->script, "%s", it->second.second.c_str());
        double p = predictions[0].first;
        out->score = p > 1.0 ? 1.0 : p;
        out->reliable = 1;
    } catch (const std::exception &) {
        /* only std::bad_alloc can get here: the document is then "und", rather than the run aborted */
        std::memcpy(out->code, "und", 4);
        out->script[0] = '\0';
        out->score = 0.0;
        out->reliable = 0;
    }
}
