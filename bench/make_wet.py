#!/usr/bin/env python3
"""Turns a JSONL(.gz) corpus into a Common Crawl style WET file: one warcinfo record, then one `conversion`
record per document whose text is a string, each record its own gzip member when OUT ends in .gz (as Common
Crawl writes them). Used by the tests (the DCLM-as-WET run must keep the same texts as the JSONL run) and by
the WET-vs-JSONL speed comparison.

    python3 bench/make_wet.py IN.jsonl[.gz] OUT.warc.wet[.gz] [--text-field text] [--lf] [--jsonl SAME.jsonl.gz]

WARC-Target-URI is the record's "url" (when present), WARC-Date its "date" or a fixed date, WARC-Record-ID a
UUID derived from the document's position (so the file is the same at every run). --jsonl also writes the
same documents as JSONL with the members a WET record gives ({"id","url","date","text"}), for comparing the
speed of the two inputs on identical content. Only python3's stdlib.
"""
import argparse
import gzip
import hashlib
import json
import sys
import uuid

FIXED_DATE = "2024-05-18T00:00:00Z"


def record(headers, block, eol):
    head = "WARC/1.0" + eol + "".join(f"{k}: {v}{eol}" for k, v in headers) + f"Content-Length: {len(block)}{eol}{eol}"
    return head.encode("utf-8") + block + (eol + eol).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--lf", action="store_true", help="LF line ends in headers (default CRLF, as WARC says)")
    ap.add_argument("--jsonl", help="also write the same documents here as gzip'd JSONL")
    a = ap.parse_args()
    eol = "\n" if a.lf else "\r\n"
    opener = gzip.open if a.input.endswith(".gz") else open
    gz = a.output.endswith(".gz")
    n = 0
    same = gzip.open(a.jsonl, "wt", encoding="utf-8", compresslevel=6) if a.jsonl else None
    with opener(a.input, "rt", encoding="utf-8", errors="surrogateescape") as fin, open(a.output, "wb") as fout:
        def put(rec):
            fout.write(gzip.compress(rec, compresslevel=6, mtime=0) if gz else rec)

        info = f"software: corpusprep bench/make_wet.py{eol}source: {a.input.rsplit('/', 1)[-1]}{eol}".encode()
        put(record([("WARC-Type", "warcinfo"), ("WARC-Date", FIXED_DATE),
                    ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(bytes=hashlib.md5(b'warcinfo').digest())}>"),
                    ("Content-Type", "application/warc-fields")], info, eol))
        for i, line in enumerate(fin):
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if not isinstance(d, dict) or not isinstance(d.get(a.text_field), str):
                continue
            try:  # a lone surrogate (\ud800) is not UTF-8; the JSONL run rejects such a line too
                text = d[a.text_field].encode("utf-8")
            except UnicodeEncodeError:
                continue
            rid = uuid.UUID(bytes=hashlib.md5(f"doc {i}".encode()).digest())
            h = [("WARC-Type", "conversion")]
            if isinstance(d.get("url"), str):
                h.append(("WARC-Target-URI", " ".join(d["url"].split())))
            h.append(("WARC-Date", d["date"] if isinstance(d.get("date"), str) else FIXED_DATE))
            h.append(("WARC-Record-ID", f"<urn:uuid:{rid}>"))
            h.append(("Content-Type", "text/plain"))
            put(record(h, text, eol))
            if same:
                m = {"id": f"<urn:uuid:{rid}>"}
                if isinstance(d.get("url"), str):
                    m["url"] = " ".join(d["url"].split())
                m["date"] = dict(h)["WARC-Date"]
                m["text"] = d[a.text_field]
                same.write(json.dumps(m, ensure_ascii=False) + "\n")
            n += 1
    if same:
        same.close()
    print(f"{a.output}: {n} conversion records", file=sys.stderr)


if __name__ == "__main__":
    main()
