#!/usr/bin/env python3
"""Writes the small demo corpus that `make demo` runs on: news-like pages in seven languages (en nl de fr es
it pt) built from the Debian word lists plus function words and site boilerplate written here, with the mess
real crawl dumps carry (boilerplate lines, duplicates, near-duplicates, broken lines, odd encodings).

Usage: make_sample.py OUTDIR      Deterministic (fixed seed): the same bytes on every run.
Standard library only. make_corpus.py imports this module to generate a large corpus when ../shared is absent.
"""
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import unicodedata

SEED = 20240601
DICT_DIR = "/usr/share/dict"

# lang -> (word list, Debian package that installs it)
WORD_LISTS = {
    "en": ("american-english", "wamerican"),
    "nl": ("dutch", "wdutch"),
    "de": ("ngerman", "wngerman"),
    "fr": ("french", "wfrench"),
    "es": ("spanish", "wspanish"),
    "it": ("italian", "witalian"),
    "pt": ("portuguese", "wportuguese"),
}

# Function words: the dictionaries hold content words only, and a language identifier (and a Gopher-style
# stop-word filter) needs the short frequent words that glue sentences together.
FUNCTION_WORDS = {
    "en": "the of and to in a is that for on with as was at by it from be this have are not but had his they "
          "an which has were would their been will more after about who its also than into other over there "
          "when can most only some these could all new we our before",
    "nl": "de het een en van in is dat op te met voor niet zijn aan er maar om ook als bij nog door naar dan "
          "wel uit worden werd heeft hebben was over tot zo geen al na tegen meer wordt deze die dit wat kan "
          "moet zij hij we ons onder sinds tussen volgens omdat",
    "de": "der die das und in den von zu mit ist sich des auf für nicht im dem ein eine als auch es an werden "
          "aus er hat dass sie nach wird bei einer um noch wie einem über einen so zum war haben nur oder aber "
          "vor zur bis mehr durch man sein wurde sei seit gegen unter",
    "fr": "le la les de des du un une et en est que qui dans pour pas sur au aux avec par plus ne se il elle "
          "ils ont sont été mais comme ou leur cette ces son sa ses nous vous tout aussi après avant selon "
          "entre sans sous depuis très déjà encore lors",
    "es": "el la los las de del que y en un una por con no se su sus para es al lo como más pero fue ha han "
          "este esta entre cuando muy sin sobre también hasta desde donde porque según durante todos otro ya "
          "era son está están tras ante nos les",
    "it": "il lo la i gli le di del della dei che e è un una in per con non si da al alla sono ha hanno come "
          "più ma anche questo questa nel nella dal dopo prima tra fra secondo molto ancora già stato stata "
          "loro suo sua quando dove perché tutti sul sulla",
    "pt": "o a os as de do da dos das que e em um uma para com não se por no na nos nas ao mais mas foi como "
          "é são seu sua ele ela eles também já entre sobre quando muito até depois antes segundo pelo pela "
          "está estão foram tem têm ser sem desde",
}

# Per-language page furniture, the lines a boilerplate remover should take out.
FURNITURE = {
    "en": dict(signup="Sign up now for unlimited access", readmore="Read more", more="More Stories",
               cookie="We use cookies to give you the best experience on our site. By continuing to browse "
                      "you agree to our cookie policy and privacy policy.",
               rights="All rights reserved.", share="Share this article", ad="Advertisement", by="By",
               said="said", update="Update:", nav="Home | News | Sport | Business | Opinion | Culture",
               notfound="Page not found. The page you requested could not be found."),
    "nl": dict(signup="Meld u nu aan voor onbeperkte toegang", readmore="Lees verder", more="Meer nieuws",
               cookie="Wij gebruiken cookies om uw ervaring te verbeteren. Door verder te gaan gaat u akkoord "
                      "met ons cookiebeleid en privacybeleid.",
               rights="Alle rechten voorbehouden.", share="Deel dit artikel", ad="Advertentie", by="Door",
               said="zei", update="Update:", nav="Home | Nieuws | Sport | Economie | Opinie | Cultuur",
               notfound="Pagina niet gevonden. De pagina die u zoekt bestaat niet meer."),
    "de": dict(signup="Jetzt anmelden und unbegrenzt weiterlesen", readmore="Weiterlesen",
               more="Mehr Nachrichten",
               cookie="Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten. Mit der weiteren Nutzung "
                      "stimmen Sie unserer Datenschutzerklärung zu.",
               rights="Alle Rechte vorbehalten.", share="Artikel teilen", ad="Anzeige", by="Von",
               said="sagte", update="Aktualisierung:", nav="Startseite | Politik | Wirtschaft | Sport | Kultur",
               notfound="Seite nicht gefunden. Die angeforderte Seite existiert nicht."),
    "fr": dict(signup="Inscrivez-vous dès maintenant pour un accès illimité", readmore="Lire la suite",
               more="Plus d'articles",
               cookie="Nous utilisons des cookies pour améliorer votre expérience. En poursuivant votre "
                      "navigation, vous acceptez notre politique de confidentialité.",
               rights="Tous droits réservés.", share="Partager cet article", ad="Publicité", by="Par",
               said="a déclaré", update="Mise à jour :", nav="Accueil | Actualités | Sport | Économie | Culture",
               notfound="Page introuvable. La page demandée n'existe pas."),
    "es": dict(signup="Suscríbase ahora para tener acceso ilimitado", readmore="Leer más", more="Más noticias",
               cookie="Utilizamos cookies para mejorar su experiencia. Si continúa navegando, acepta nuestra "
                      "política de privacidad.",
               rights="Todos los derechos reservados.", share="Compartir esta noticia", ad="Publicidad",
               by="Por", said="dijo", update="Actualización:",
               nav="Portada | Noticias | Deportes | Economía | Cultura",
               notfound="Página no encontrada. La página que busca no existe."),
    "it": dict(signup="Abbonati ora per avere accesso illimitato", readmore="Continua a leggere",
               more="Altre notizie",
               cookie="Utilizziamo i cookie per migliorare la tua esperienza. Continuando la navigazione accetti "
                      "la nostra informativa sulla privacy.",
               rights="Tutti i diritti riservati.", share="Condividi questo articolo", ad="Pubblicità", by="Di",
               said="ha detto", update="Aggiornamento:", nav="Home | Cronaca | Politica | Sport | Cultura",
               notfound="Pagina non trovata. La pagina richiesta non esiste."),
    "pt": dict(signup="Assine agora para ter acesso ilimitado", readmore="Leia mais", more="Mais notícias",
               cookie="Utilizamos cookies para melhorar a sua experiência. Ao continuar a navegar, aceita a "
                      "nossa política de privacidade.",
               rights="Todos os direitos reservados.", share="Partilhar este artigo", ad="Publicidade",
               by="Por", said="disse", update="Atualização:",
               nav="Início | Notícias | Desporto | Economia | Cultura",
               notfound="Página não encontrada. A página que procura não existe."),
}


class Site:
    """A fictional news site: every page carries the same furniture, which is what makes it boilerplate."""

    def __init__(self, code, lang, name, domain, weight, nav=False, footer=None, rights=True, sep="\n\n",
                 ascii_json=False, crlf_text=False, text_field="text"):
        self.code, self.lang, self.name, self.domain, self.weight = code, lang, name, domain, weight
        self.nav, self.footer, self.rights, self.sep = nav, footer, rights, sep
        self.ascii_json, self.crlf_text, self.text_field = ascii_json, crlf_text, text_field
        self.seq = 0


def make_sites():
    return [
        Site("dl", "en", "The Daily Ledger", "dailyledger.example", 18, nav=True,
             footer="The Daily Ledger is committed to accurate reporting. If you spot an error, write to "
                    "corrections@dailyledger.example and our standards editor will review it within two "
                    "working days."),
        Site("nt", "en", "Northbridge Times", "northbridge-times.example", 12, sep="\n", crlf_text=True),
        Site("dn", "nl", "Dagblad Noord", "dagbladnoord.example", 12, nav=True,
             footer="Dagblad Noord houdt zich aan de Code van de Raad voor de Journalistiek. Ziet u een fout "
                    "in dit artikel? Mail de redactie via correcties@dagbladnoord.example."),
        Site("wk", "nl", "Het Westerkwartier", "westerkwartier.example", 8, sep="\n", rights=False),
        Site("rk", "de", "Rheinkurier", "rheinkurier.example", 12, nav=True, ascii_json=True,
             footer="Der Rheinkurier arbeitet nach den Grundsätzen des Pressekodex. Fehler im Artikel bitte an "
                    "korrekturen@rheinkurier.example melden."),
        Site("gl", "fr", "La Gazette du Littoral", "gazette-littoral.example", 10,
             footer="La Gazette du Littoral respecte la charte déontologique de sa rédaction. Une erreur dans "
                    "cet article ? Écrivez à corrections@gazette-littoral.example."),
        Site("cs", "es", "Crónica Serrana", "cronicaserrana.example", 10, nav=True,
             footer="Crónica Serrana se rige por su código ético y de estilo. Si detecta un error en esta "
                    "noticia, escriba a correcciones@cronicaserrana.example."),
        Site("vl", "it", "La Voce del Lago", "vocedellago.example", 9, sep="\n",
             footer="La Voce del Lago aderisce al codice deontologico dei giornalisti. Segnalate eventuali "
                    "errori a correzioni@vocedellago.example."),
        Site("jr", "pt", "Jornal da Ribeira", "jornaldaribeira.example", 9, nav=True, text_field="maintext",
             footer="O Jornal da Ribeira segue o seu livro de estilo e código de conduta. Encontrou um erro "
                    "nesta notícia? Escreva para correcoes@jornaldaribeira.example."),
    ]


class Lexicon:
    """Content words, names and function words of one language, sampled from its Debian word list."""

    def __init__(self, lang, rng, n_words=5000, n_names=400):
        fname, package = WORD_LISTS[lang]
        path = os.path.join(DICT_DIR, fname)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except OSError as e:
            raise SystemExit("make_sample: cannot read %s (%s): install the Debian package %s "
                             "(apt-get install %s, or `make deps`)" % (path, e.strerror, package, package))
        maxlen = 14 if lang == "de" else 11
        words, names = [], []
        for w in lines:
            if 3 <= len(w) <= maxlen and w.isalpha():
                # German nouns are capitalised, so its capitalised entries are content words too.
                (words if lang == "de" or w.islower() else names).append(w)
        if lang == "de":
            names = [w for w in words if w[0].isupper()]
        if len(names) < 50:
            names = [cap(w) for w in words[::50]]     # lists without proper names (French): any word will do
        if len(words) < 1000:
            raise SystemExit("make_sample: %s looks truncated; reinstall the Debian package %s" % (path, package))
        self.lang = lang
        self.words = rng.sample(words, min(n_words, len(words)))
        self.names = rng.sample(names, min(n_names, len(names)))
        self.function = FUNCTION_WORDS[lang].split()
        self.furniture = FURNITURE[lang]


def cap(s):
    return s[:1].upper() + s[1:]


class Writer:
    """Generates documents; all randomness flows from one seeded Random so output is reproducible."""

    def __init__(self, rng, lexicons, sites, id_prefix=""):
        self.rng, self.lex, self.sites, self.id_prefix = rng, lexicons, sites, id_prefix
        self.site_weights = [s.weight for s in sites]

    def sentence(self, lx, topic, lo=8, hi=22):
        rng = self.rng
        out = []
        for _ in range(rng.randint(lo, hi)):
            r = rng.random()
            if r < 0.42:
                w = rng.choice(lx.function)
            elif r < 0.47:
                w = rng.choice(lx.names)
            elif r < 0.49:
                w = str(rng.choice((rng.randint(2, 99), rng.randint(1990, 2024), rng.randint(100, 9999))))
            elif r < 0.80:
                w = rng.choice(topic)
            else:
                w = rng.choice(lx.words)
            if out and rng.random() < 0.06:
                out[-1] += ","
            out.append(w)
        s = cap(" ".join(out))
        if rng.random() < 0.08:
            return '"%s," %s %s %s.' % (s, lx.furniture["said"], rng.choice(lx.names), rng.choice(lx.names))
        return s + rng.choice(".........?!")

    def headline(self, lx, topic):
        rng = self.rng
        words = [rng.choice(topic) if rng.random() < 0.6 else rng.choice(lx.function)
                 for _ in range(rng.randint(5, 10))]
        return cap(" ".join(words))

    def paragraph(self, lx, topic):
        return " ".join(self.sentence(lx, topic) for _ in range(self.rng.randint(2, 5)))

    def article(self, site, recent_titles):
        """One page of `site`: (record dict, body paragraphs) with the site's furniture around the body."""
        rng, lx, fur = self.rng, self.lex[site.lang], self.lex[site.lang].furniture
        topic = rng.sample(lx.words, 25)
        title = self.headline(lx, topic)
        paras = [self.paragraph(lx, topic) for _ in range(rng.randint(3, 8))]
        site.seq += 1
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        date = "2024-%02d-%02dT%02d:%02d:00Z" % (month, day, rng.randint(5, 22), rng.randint(0, 59))
        lines = []
        if site.nav:
            lines.append(fur["nav"])
        cookie_top = rng.random() < 0.12
        if cookie_top:
            lines.append(fur["cookie"])
        lines.append(title)
        if rng.random() < 0.5:
            lines.append("%s %s %s | %02d-%02d-2024" % (fur["by"], rng.choice(lx.names), rng.choice(lx.names),
                                                       day, month))
        for i, p in enumerate(paras):
            if rng.random() < 0.12:
                p += " " + fur["readmore"]          # glued to the paragraph, as scrapers leave it
            lines.append(p)
            if i + 1 < len(paras):
                r = rng.random()
                if r < 0.07:
                    lines.append(fur["ad"])
                elif r < 0.12:
                    lines.append(fur["signup"])
        if rng.random() < 0.3 and recent_titles:
            lines.append(fur["more"])
            lines.extend(rng.sample(recent_titles, min(len(recent_titles), rng.randint(3, 5))))
        if rng.random() < 0.2:
            lines.append(fur["share"])
        if not cookie_top and rng.random() < 0.1:
            lines.append(fur["cookie"])
        if site.footer:
            lines.append(site.footer)
        if site.rights:
            lines.append("© 2024 %s. %s" % (site.name, fur["rights"]))
        slug = "-".join(unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode().lower()
                        for w in title.split()[:6])
        rec = {
            "id": "%s%s-%05d" % (self.id_prefix, site.code, site.seq),
            "url": "https://www.%s/%s/2024/%02d/%s-%d" % (site.domain, rng.choice(("news", "local", "world")),
                                                          month, slug, site.seq),
            "title": title,
            "text": site.sep.join(lines),
            "date": date,
        }
        return rec, title

    def low_quality(self, site):
        """Pages a quality filter should drop: stubs, link lists, symbol junk, one sentence repeated."""
        rng, lx, fur = self.rng, self.lex[site.lang], self.lex[site.lang].furniture
        site.seq += 1
        kind = rng.randrange(4)
        if kind == 0:
            text = fur["notfound"]
        elif kind == 1:
            text = "\n".join([fur["nav"], fur["more"]] + [self.headline(lx, lx.words) for _ in range(12)])
        elif kind == 2:
            text = " ".join(rng.choice(("$$$", ">>>", "###", "!!!", "***", "%%", "&&", "@@"))
                            + rng.choice(lx.words).upper() for _ in range(60))
        else:
            text = " ".join([self.sentence(lx, lx.words, 8, 10)] * 40)
        return {"id": "%s%s-%05d" % (self.id_prefix, site.code, site.seq),
                "url": "https://www.%s/page/%d" % (site.domain, site.seq),
                "title": fur["more"], "text": text, "date": "2024-06-01T00:00:00Z"}

    def near_copy(self, rec):
        """A near-duplicate: a few words changed, or different furniture around the same body, or an update."""
        rng = self.rng
        rec = dict(rec)
        site = next(s for s in self.sites if rec["id"].startswith(self.id_prefix + s.code + "-"))
        lx, fur = self.lex[site.lang], self.lex[site.lang].furniture
        sep = site.sep
        kind = rng.randrange(3)
        if kind == 0:
            words = rec["text"].split(" ")
            for _ in range(rng.randint(2, 5)):
                words[rng.randrange(len(words))] = rng.choice(lx.words)
            rec["text"] = " ".join(words)
        elif kind == 1:
            parts = rec["text"].split(sep)
            parts = [p for p in parts if p not in (fur["cookie"], fur["nav"], fur["share"])]
            parts.insert(0, fur["cookie"])
            parts.append(fur["share"])
            rec["text"] = sep.join(parts)
        else:
            rec["text"] += sep + fur["update"] + " " + self.sentence(lx, lx.words)
        rec["id"] += "-v2"
        rec["date"] = rec["date"][:11] + "23:59:00Z"
        return rec

    def norm_copy(self, rec):
        """A copy that differs only in case, digits, punctuation or spacing: exact after dedup normalisation."""
        rng = self.rng
        rec = dict(rec)
        t = rec["text"]
        kind = rng.randrange(3)
        if kind == 0:
            t = t.translate(str.maketrans("0123456789", "1234567890"))
            t = t if t != rec["text"] else t + " 2024"
        elif kind == 1:
            t = t.replace(". ", ".  ").replace(", ", " , ")
        else:
            first, _, rest = t.partition("\n")
            t = first.upper() + "\n" + rest
        rec["text"] = t
        rec["id"] += "-n"
        return rec


def to_line(rec, site):
    text = rec["text"]
    if site is not None and site.crlf_text:
        text = text.replace("\n", "\r\n")
    rec = dict(rec, text=text)
    if site is not None and site.text_field != "text":
        rec = {(site.text_field if k == "text" else k): v for k, v in rec.items()}
    return json.dumps(rec, ensure_ascii=bool(site and site.ascii_json)).encode("utf-8")


def load_lexicons(rng):
    return {lang: Lexicon(lang, rng) for lang in WORD_LISTS}


def build_stream(rng, n_docs, id_prefix="", bad_lines=True, lexicons=None):
    """Returns (list of lines as bytes without terminators, stats dict). Duplicates come after their source."""
    lexicons = lexicons or load_lexicons(rng)
    sites = make_sites()
    w = Writer(rng, lexicons, sites, id_prefix)
    site_of = {}
    base = []                 # (key, record)
    recent = {s.code: [] for s in sites}
    stats = {"docs": 0, "langs": {}, "exact_copies": 0, "syndicated": 0, "norm_copies": 0, "near_copies": 0,
             "low_quality": 0, "nfd": 0, "bad_lines": 0, "invalid_utf8": 0}
    for i in range(n_docs):
        site = rng.choices(sites, weights=w.site_weights)[0]
        if rng.random() < 0.015:
            rec = w.low_quality(site)
            stats["low_quality"] += 1
        else:
            rec, title = w.article(site, recent[site.code][-20:])
            recent[site.code].append(title)
            t = rec["text"]
            r = rng.random()
            if r < 0.04 and site.lang in ("fr", "de", "es", "pt", "it"):
                rec["text"] = unicodedata.normalize("NFD", t)      # decomposed accents: NFC must fix them
                stats["nfd"] += 1
            elif r < 0.08:
                rec["text"] = t.replace("\n", "   \n").replace(site.sep, site.sep + "\n\n", 2)
            elif r < 0.09:
                rec["text"] = t.replace(" ", " \x07", 1).replace(". ", ".\x0c ", 1)   # stray control chars
        site_of[rec["id"]] = site
        base.append(((i, 0), rec))
        stats["langs"][site.lang] = stats["langs"].get(site.lang, 0) + 1

    # Copies land uniformly later in the stream than their source.
    extra = []
    articles = [r for _, r in base if not r["title"] in (FURNITURE[l]["more"] for l in FURNITURE)]

    def later(src_idx):
        return (rng.randint(src_idx + 1, n_docs), 1 + len(extra))

    index = {r["id"]: k[0] for k, r in base}
    for kind, share in (("exact_copies", 0.04), ("syndicated", 0.015), ("norm_copies", 0.012),
                        ("near_copies", 0.03)):
        for _ in range(max(1, int(n_docs * share))):
            src = rng.choice(articles)
            src_site = site_of[src["id"]]
            if kind == "exact_copies":
                rec = src                                              # a re-crawl: the very same record
            elif kind == "syndicated":
                rec = dict(src, id=src["id"] + "-s", url=src["url"] + "?utm_source=partner&utm_medium=feed")
            elif kind == "norm_copies":
                rec = w.norm_copy(src)
            else:
                rec = w.near_copy(src)
            if rec is not src:
                rec["id"] += "-%d" % len(extra)       # the same page may be copied twice: ids stay unique
            site_of[rec["id"]] = src_site
            extra.append((later(index[src["id"]]), rec))
            stats[kind] += 1
    stream = sorted(base + extra, key=lambda kr: kr[0])
    lines = [to_line(rec, site_of[rec["id"]]) for _, rec in stream]
    stats["docs"] = len(lines)

    if bad_lines:
        # Two real documents whose text carries raw Latin-1 bytes (invalid UTF-8), as a misconfigured
        # scraper writes them.
        latin = [i for i, l in enumerate(lines) if b"\xc3\xa9" in l]
        for i in latin[len(latin) // 3::max(1, len(latin) // 2)][:2]:
            lines[i] = lines[i].replace(b"\xc3\xa9", b"\xe9", 3).replace(b'", "date"', b' \xff\xfe", "date"', 1)
            stats["invalid_utf8"] += 1
        p = id_prefix
        bad = [
            b'{"id": "' + p.encode() + b'bad-1", "url": "https://www.dailyledger.example/x", "text": "This line '
            b'was cut off in the middle of a wr',
            b'["an", "array", "is", "valid", "JSON", "but", "not", "a", "document"]',
            b'{"id": "' + p.encode() + b'bad-3", "title": "Null text", "text": null}',
            b'{"id": "' + p.encode() + b'bad-4", "title": "Numeric text", "text": 20240601}',
            b'42',
            b'{"id": "' + p.encode() + b'bad-6", "url": "https://www.dagbladnoord.example/leeg", '
            b'"title": "Geen tekstveld", "date": "2024-05-05T10:00:00Z"}',
            b'',
            b'   ',
            b'{"id": "' + p.encode() + b'bad-9", "text": ""}',
            b"{'id': 'bad-10', 'text': 'single quotes are not JSON'}",
            b'{"id": "' + p.encode() + b'bad-11", "text": "trailing garbage"} xyz',
        ]
        for k, b in enumerate(bad):
            lines.insert((k + 1) * len(lines) // (len(bad) + 1), b)
        stats["bad_lines"] = len(bad)
    return lines, stats


def write_gzip(path, chunks):
    """Deterministic gzip (no name, mtime 0); one member per chunk, so a multi-member file when chunks > 1."""
    with open(path, "wb") as f:
        for data in chunks:
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as g:
                g.write(data)
            f.write(buf.getvalue())


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: make_sample.py OUTDIR\n")
        return 2
    outdir = argv[1]
    rng = random.Random(SEED)
    lines, st = build_stream(rng, 1300)
    os.makedirs(outdir, exist_ok=True)

    # Four files in sorted order: two gzip (the second multi-member), one plain with some CRLF line ends,
    # one zstd when the zstd command exists (gzip otherwise, so the content never depends on it).
    n = len(lines)
    cuts = [0, n * 3 // 10, n * 6 // 10, n * 8 // 10, n]
    parts = [lines[cuts[i]:cuts[i + 1]] for i in range(4)]
    names = ["crawl-00.jsonl.gz", "crawl-01.jsonl.gz", "crawl-02.jsonl", "crawl-03.jsonl.zst"]
    for stale in names + ["crawl-03.jsonl.gz"]:
        if os.path.exists(os.path.join(outdir, stale)):
            os.remove(os.path.join(outdir, stale))
    total = 0
    blobs = []
    for i, part in enumerate(parts):
        if i == 2:
            data = b"".join(l + (b"\r\n" if k % 9 == 4 else b"\n") for k, l in enumerate(part))
        else:
            data = b"".join(l + b"\n" for l in part)
        total += len(data)
        blobs.append(data)
    write_gzip(os.path.join(outdir, names[0]), [blobs[0]])
    half = blobs[1].index(b"\n", len(blobs[1]) // 2) + 1
    write_gzip(os.path.join(outdir, names[1]), [blobs[1][:half], blobs[1][half:]])
    with open(os.path.join(outdir, names[2]), "wb") as f:
        f.write(blobs[2])
    zstd = shutil.which("zstd")
    if zstd:
        subprocess.run([zstd, "-q", "-f", "-3", "-o", os.path.join(outdir, names[3])], input=blobs[3],
                       check=True)
    else:
        names[3] = "crawl-03.jsonl.gz"
        write_gzip(os.path.join(outdir, names[3]), [blobs[3]])

    langs = " ".join("%s %d" % (l, st["langs"][l]) for l in WORD_LISTS if l in st["langs"])
    print("make_sample: %s: %d lines in %d files (%s), %.1f MB uncompressed; %d unique pages [%s], "
          "%d exact copies + %d syndicated + %d copies equal after dedup normalisation, %d near copies, "
          "%d low-quality pages, %d NFD texts, %d with invalid UTF-8, %d bad lines"
          % (outdir, n, len(names), ", ".join(names), total / 1e6, sum(st["langs"].values()), langs,
             st["exact_copies"], st["syndicated"], st["norm_copies"], st["near_copies"], st["low_quality"],
             st["nfd"], st["invalid_utf8"], st["bad_lines"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
