#!/usr/bin/env python3
"""Writes the cluster-mode test corpus: the demo sample (bench/make_sample.py) cut into more files, plus one
file of duplicates whose originals sit in other files, so that every kind of dedup decision crosses files
and therefore ranks.

Usage: make_corpus.py OUTDIR      Deterministic. Standard library only.

Besides the sample's own exact copies, syndicated copies (same page, tracking parameters on the URL) and
near copies (same URL), the extra file holds, each pointing at documents from earlier files:
  near copies under a new URL and id (dup_near even with --dedup-url),
  exact copies under a new URL and id (dup_exact),
  pages stitched from the paragraphs of two earlier pages (dup_lines with line dedup mode "first"),
  records whose url alone repeats an earlier one (dup_url with --dedup-url).
"""
import gzip
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read_lines(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read().split(b"\n")
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def write_lines(path, lines):
    data = b"\n".join(lines) + b"\n"
    if path.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    tmp = out + ".sample"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_sample.py"), tmp], check=True,
                   stdout=subprocess.DEVNULL)
    os.makedirs(out, exist_ok=True)
    rng = random.Random(5)
    docs = []   # parsed records of the split files, for the extra file
    # crawl-00/01 (gzip) and crawl-02 (plain) are cut into pieces of uneven size; crawl-03.jsonl.zst is copied
    cuts = {"crawl-00.jsonl.gz": (3, ".jsonl.gz"), "crawl-01.jsonl.gz": (2, ".jsonl.gz"),
            "crawl-02.jsonl": (3, ".jsonl")}
    for name, (parts, ext) in sorted(cuts.items()):
        lines = [l for l in read_lines(os.path.join(tmp, name)) if l]
        bounds = [0] + sorted(rng.sample(range(1, len(lines)), parts - 1)) + [len(lines)]
        stem = name.split(".")[0]
        for k in range(parts):
            piece = lines[bounds[k]:bounds[k + 1]]
            write_lines(os.path.join(out, "%s-%d%s" % (stem, k, ext)), piece)
            for l in piece:
                try:
                    r = json.loads(l)
                except ValueError:
                    continue
                if isinstance(r, dict) and isinstance(r.get("text"), str) and len(r["text"]) > 1500:
                    docs.append(r)
    shutil.copy(os.path.join(tmp, "crawl-03.jsonl.zst"), os.path.join(out, "crawl-03.jsonl.zst"))
    shutil.rmtree(tmp)

    extra = []
    picks = rng.sample(docs, 60)
    for i, src in enumerate(picks[:15]):
        words = src["text"].split(" ")
        for _ in range(2):
            words[rng.randrange(len(words) // 2, len(words))] = "zyzzyva"
        extra.append(dict(src, id="near-%d" % i, url="https://mirror.example/near/%d" % i, text=" ".join(words)))
    for i, src in enumerate(picks[15:25]):
        extra.append(dict(src, id="copy-%d" % i, url="https://mirror.example/copy/%d" % i))
    for i in range(10):
        a, b = picks[25 + 2 * i], picks[26 + 2 * i]
        pa = [p for p in a["text"].split("\n") if len(p) > 60]
        pb = [p for p in b["text"].split("\n") if len(p) > 60]
        text = "\n\n".join(pa[:len(pa) // 2] + pb[len(pb) // 2:])
        extra.append({"id": "stitch-%d" % i, "url": "https://mirror.example/stitch/%d" % i, "text": text})
    for i, src in enumerate(picks[45:55]):
        words = src["text"].split(" ")
        rng.shuffle(words)
        extra.append({"id": "url-%d" % i, "url": src["url"], "text": " ".join(words)})
    rng.shuffle(extra)
    write_lines(os.path.join(out, "crawl-04.jsonl"),
                [json.dumps(r, ensure_ascii=False).encode() for r in extra])
    print("make_corpus: %s: %d files" % (out, len(os.listdir(out))))


if __name__ == "__main__":
    main()
