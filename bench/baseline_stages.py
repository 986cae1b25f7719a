#!/usr/bin/python3
"""Baseline for `make bench`: the script a user would otherwise write to do corpusprep's stages in Python --
gzip read, json.loads, NFC (unicodedata), language ID with langdetect (as C4 did), md5 exact dedup on a
normalised text, json.dumps and gzip level 1 out. Single process, no cleverness.

Usage: baseline_stages.py [--max-mb N] IN.jsonl[.gz] OUTDIR
Needs langdetect (Debian python3-langdetect, importable by /usr/bin/python3 only). It runs at about 1 MB/s per
core, so bench/run.sh gives it only the first N MB (10^6 bytes, uncompressed) of the input; the per-core figure
comes from that slice. Prints one JSON line of counts and timings on stdout.
"""
import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import sys
import time
import unicodedata

t_start = time.time()
try:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException
except ImportError:
    sys.exit("baseline_stages: needs langdetect: apt-get install python3-langdetect, run with /usr/bin/python3")

TEXT_FIELDS = ("text", "maintext", "content", "body")
DIGIT = re.compile(r"\d")
PUNCT = re.compile(r"[^\w\s]|_")


def dedup_key(text):
    # Same normalisation as corpusprep's exact dedup: lowercase, digits to 0, no punctuation, one space.
    t = PUNCT.sub("", DIGIT.sub("0", text.lower()))
    return hashlib.md5(" ".join(t.split()).encode("utf-8", "surrogatepass")).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=0, help="stop after this many MB of input (0: all)")
    ap.add_argument("input")
    ap.add_argument("outdir")
    args = ap.parse_args()
    DetectorFactory.seed = 0
    limit = int(args.max_mb * 1e6) if args.max_mb > 0 else None
    os.makedirs(args.outdir, exist_ok=True)
    seen = set()
    n_in = n_kept = n_bad = n_dup = n_bytes = 0
    opener = gzip.open if args.input.endswith(".gz") else open
    with opener(args.input, "rb") as f, \
            gzip.open(os.path.join(args.outdir, "part-00000.jsonl.gz"), "wb", compresslevel=1) as out:
        for raw in f:
            n_bytes += len(raw)
            if raw.strip():
                n_in += 1
                try:
                    rec = json.loads(raw.decode("utf-8", "replace"))
                    text = next(rec[k] for k in TEXT_FIELDS if isinstance(rec.get(k), str))
                except (ValueError, AttributeError, TypeError, StopIteration):
                    n_bad += 1
                    text = None
                if text is not None:
                    text = unicodedata.normalize("NFC", text)
                    key = dedup_key(text)
                    if key in seen:
                        n_dup += 1
                    else:
                        seen.add(key)
                        try:
                            best = detect_langs(text)[0]
                            rec["lang"], rec["lang_score"] = best.lang, round(best.prob, 4)
                        except LangDetectException:
                            rec["lang"], rec["lang_score"] = "und", 0.0
                        rec["text"] = text
                        out.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
                        n_kept += 1
            if limit and n_bytes >= limit:
                break
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    print(json.dumps({"script": "baseline_stages", "input": args.input, "slice_mb": args.max_mb or None,
                      "bytes_in": n_bytes, "docs_in": n_in, "docs_kept": n_kept, "dup": n_dup, "bad": n_bad,
                      "cpu_s": round(cpu, 3), "wall_s": round(time.time() - t_start, 3),
                      "mb_per_cpu_s": round(n_bytes / 1e6 / cpu, 3) if cpu else None,
                      "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
