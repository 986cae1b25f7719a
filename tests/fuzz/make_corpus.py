#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz harnesses (tests/fuzz/fuzz_*.c) into OUT/<harness>/, one file per
input, from data that is not committed here: lines of each data set in ../shared/data, the seed page in
../shared/seed, JSONTestSuite, the JSON records written by the tests (string literals of tests/*.c), the
configs/ files, and gzip/zstd streams cut short or with a byte changed. Python 3 standard library only (the
zstd command line tool, when installed, makes the zstd seeds). Same sources -> same files.

usage: make_corpus.py OUT [SHARED]   (SHARED defaults to ../shared; missing parts are skipped)"""
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import zlib

LINES_PER_SET = 60     # lines taken from each data set (first ones and a sample of the rest)
MAX_SEED = 64 << 10    # libFuzzer would cut longer inputs anyway (-max_len follows the corpus)

out_dir = sys.argv[1]
shared = sys.argv[2] if len(sys.argv) > 2 else "../shared"
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rnd = random.Random(11)
counts = {}


def put(harness, data):
    """Writes one seed, named by its hash (duplicates collapse)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = data[:MAX_SEED]
    d = os.path.join(out_dir, harness)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest()[:16])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[harness] = counts.get(harness, 0) + 1


def data_lines():
    """(set name, raw line bytes) from every .jsonl.gz of the shared data, first lines and a sample."""
    d = os.path.join(shared, "data")
    if not os.path.isdir(d):
        return
    for name in sorted(os.listdir(d)):
        if not name.endswith(".jsonl.gz"):
            continue
        with gzip.open(os.path.join(d, name), "rb") as f:
            lines = f.read().split(b"\n")
        lines = [l for l in lines if l]
        pick = lines[:LINES_PER_SET // 2] + rnd.sample(lines, min(len(lines), LINES_PER_SET // 2))
        for l in pick:
            yield name, l


def c_string_records():
    """JSON records that the tests write: C string literals in tests/*.c that start with '{'."""
    lit = re.compile(rb'"((?:[^"\\\n]|\\.)*)"')
    tdir = os.path.join(repo, "tests")
    for name in sorted(os.listdir(tdir)):
        if not name.endswith(".c"):
            continue
        src = open(os.path.join(tdir, name), "rb").read()
        for m in lit.finditer(src):
            try:
                s = m.group(1).decode("ascii").encode("latin-1").decode("unicode_escape").encode("latin-1", "replace")
            except (UnicodeError, ValueError):
                continue
            if s.startswith(b"{"):
                yield s


def c_string_records_warc():
    """WARC records that the tests write: C string literals of tests/test_warc.c holding "WARC-", with the
    leading "WARC/1.0" line dropped (the harness writes its own)."""
    path = os.path.join(repo, "tests", "test_warc.c")
    if not os.path.exists(path):
        return
    lit = re.compile(rb'"((?:[^"\\\n]|\\.)*)"')
    for m in lit.finditer(open(path, "rb").read()):
        try:
            s = m.group(1).decode("ascii").encode("latin-1").decode("unicode_escape").encode("latin-1", "replace")
        except (UnicodeError, ValueError):
            continue
        if b"WARC-" in s or b"Content-Length" in s:
            yield s[s.index(b"\n") + 1:] if s.startswith(b"WARC/1.") and b"\n" in s else s


def zstd(data, level=3):
    if not shutil.which("zstd"):
        return None
    r = subprocess.run(["zstd", "-q", "-c", "--check", "-%d" % level], input=data, stdout=subprocess.PIPE)
    return r.stdout if r.returncode == 0 else None


def reader_seed(mode, payload, max_line=0xFF, seed=0x1234):
    return bytes([mode, max_line & 0xFF, (seed >> 8) & 0xFF, seed & 0xFF]) + payload


def main():
    shutil.rmtree(out_dir, ignore_errors=True)  # generated: no seed of an older version stays behind
    records = [l for _, l in data_lines()]
    texts = []
    for l in records:
        try:
            texts.append(json.loads(l).get("text", ""))
        except (ValueError, AttributeError):
            pass

    # json + record: data set lines, the tests' records, JSONTestSuite (alone and as a member of a record)
    for l in records:
        put("json", l)
        put("record", l)
    for s in c_string_records():
        line = s.split(b"\n")[0]
        put("json", line)
        put("record", line)
    seed_dir = os.path.join(shared, "seed")
    if os.path.isdir(seed_dir):
        for name in sorted(os.listdir(seed_dir)):
            if name.endswith(".txt"):
                page = open(os.path.join(seed_dir, name), encoding="utf-8", errors="replace").read()
                rec = json.dumps({"id": name, "url": "https://example.org/" + name, "text": page})
                put("json", rec)
                put("record", rec)
                put("keys", page)
    jts = os.path.join(shared, "data", "jsontestsuite", "test_parsing")
    if os.path.isdir(jts):
        for name in sorted(os.listdir(jts)):
            case = open(os.path.join(jts, name), "rb").read().replace(b"\n", b" ")
            put("json", case)
            put("json", b'{"text":"t","v":' + case + b"}")
            put("json", b'{"v":' + case + b',"text":"t"}')
            put("record", b'{"text":"a few words here.","v":' + case + b"}")

    # dolma: the record seeds behind a first byte (source name, language or not), a few of each kind
    for i, l in enumerate(records):
        put("dolma", bytes([i % 5 | (0x80 if i % 4 == 3 else 0)]) + l)
    for i, s in enumerate(c_string_records()):
        put("dolma", bytes([i % 5 | (0x80 if i % 3 == 2 else 0)]) + s.split(b"\n")[0])
    for date in (b'"2024-01-02"', b'5', b'null', b'"\\u00e9\\n"'):
        for key in (b"created", b"date", b"date_published", b"date_publish", b"published", b"timestamp"):
            put("dolma", b'\x00{"id":"d","text":"a few words here.","' + key + b'":' + date + b',"url":"u"}')

    # keys: texts and URLs
    for t in texts[:120]:
        put("keys", t[:16384])
    for u in ["http://Example.COM:80/a/b/?utm_source=x&q=1#frag", "https://www.example.org/", "ftp://x",
              "HTTPS://Ex\u00e4mple.de/\u00fc?fbclid=1&gclid=2", "http://[::1]:8080/p"]:
        put("keys", u)

    # reader: plain, gzip, zstd payloads built by the harness, and real compressed files raw, cut and changed
    block = b"\n".join(records[:40])
    for mode in range(7):
        for ml, sd in ((0xFF, 1), (3, 0x0207), (0x40, 0xFFFF)):
            put("reader", reader_seed(mode, block[:8192], ml, sd))
            put("reader", reader_seed(mode, b"a\nbb\r\n\n" + b"c" * 300 + b"\nlast", ml, sd))
    gz_files = [os.path.join(shared, "data", "commoncrawl", "whirlwind.warc.wet.gz")]
    gz_files += [os.path.join(shared, "data", n) for n in ("dclm-web-en.jsonl.gz",)]
    for path in gz_files:
        if not os.path.exists(path):
            continue
        raw = open(path, "rb").read()[:MAX_SEED - 8]
        put("reader", reader_seed(7, raw[2:]))                     # as it is (cut to the seed size)
        for cut in (10, 100, len(raw) // 2):
            put("reader", reader_seed(7, raw[2:cut]))
        bad = bytearray(raw)
        bad[len(bad) // 3] ^= 0x40
        put("reader", reader_seed(7, bytes(bad[2:])))
    multi = gzip.compress(block[:3000], mtime=0) + gzip.compress(block[3000:6000], mtime=0)
    put("reader", reader_seed(7, multi[2:]))
    put("reader", reader_seed(7, multi[2:] + b"garbage"))
    put("reader", reader_seed(7, zlib.compress(block[:2000])[2:]))
    z = zstd(block[:4000])
    if z:
        z2 = z + zstd(block[4000:8000], 19)
        for data in (z, z2, z2[: len(z) + 5], z[:-3], z[:9]):
            put("reader", reader_seed(8, data[4:]))

    # warc: Common Crawl's WET file and the WARC file, plain, after the harness's own "WARC/1.0" first line
    # (the first byte picks the largest record kept), whole and cut
    cc = os.path.join(shared, "data", "commoncrawl")
    for name in ("whirlwind.warc.wet", "whirlwind.warc.gz"):
        path = os.path.join(cc, name)
        if not os.path.exists(path):
            continue
        raw = open(path, "rb").read()
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        body = raw[raw.index(b"\n") + 1:] if raw.startswith(b"WARC/1.") else raw
        for first in (0xFF, 0x10):
            put("warc", bytes([first]) + body[:MAX_SEED - 1])
        put("warc", b"\xff" + body[: len(body) // 3])
    for s in c_string_records_warc():
        put("warc", b"\xff" + s)

    # config: every configs/ file in the role it has, and sizes
    cdir = os.path.join(repo, "configs")
    for name in sorted(os.listdir(cdir)):
        if name.endswith(".json"):
            put("config", b"\x00" + open(os.path.join(cdir, name), "rb").read())
    for sub, mode in (("lang", 1), ("boilerplate", 2), ("stopwords", 3)):
        for name in sorted(os.listdir(os.path.join(cdir, sub))):
            put("config", bytes([mode]) + open(os.path.join(cdir, sub, name), "rb").read())
    put("config", b'\x00{"filter":{"languages":["en","zz"]},"input":{"text_fields":[]}}')
    put("config", b'\x00{"clean":{"line_dedup":{"mode":"all","min_docs":0}},"near_dedup":{"bands":0}}')
    for s in ("256M", "4k", "1G", "1.5T", "1e30", "inf", "nan", "-1", "0x10", "12Mi", "1KB", ""):
        put("config", b"\x04" + s.encode())

    for h in sorted(counts):
        print("%-7s %5d seeds in %s" % (h, counts[h], os.path.join(out_dir, h)))


main()
