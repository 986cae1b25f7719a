#!/usr/bin/python3
"""Baseline for `make bench`: the bare Python standard-library script -- gzip read, json.loads, md5 exact dedup
of the raw text, json.dumps and gzip level 1 out; no normalisation, no language ID. It shows what the
interpreter costs before any real work. Single process.

Usage: baseline_stdlib.py [--max-mb N] IN.jsonl[.gz] OUTDIR      Prints one JSON line on stdout.
"""
import argparse
import gzip
import hashlib
import json
import os
import resource
import sys
import time

t_start = time.time()
TEXT_FIELDS = ("text", "maintext", "content", "body")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=0, help="stop after this many MB of input (0: all)")
    ap.add_argument("input")
    ap.add_argument("outdir")
    args = ap.parse_args()
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
                    rec = json.loads(raw)
                    text = next(rec[k] for k in TEXT_FIELDS if isinstance(rec.get(k), str))
                except (ValueError, AttributeError, TypeError, StopIteration):
                    n_bad += 1
                    text = None
                if text is not None:
                    key = hashlib.md5(text.encode("utf-8", "surrogatepass")).digest()
                    if key in seen:
                        n_dup += 1
                    else:
                        seen.add(key)
                        out.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
                        n_kept += 1
            if limit and n_bytes >= limit:
                break
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    print(json.dumps({"script": "baseline_stdlib", "input": args.input, "slice_mb": args.max_mb or None,
                      "bytes_in": n_bytes, "docs_in": n_in, "docs_kept": n_kept, "dup": n_dup, "bad": n_bad,
                      "cpu_s": round(cpu, 3), "wall_s": round(time.time() - t_start, 3),
                      "mb_per_cpu_s": round(n_bytes / 1e6 / cpu, 3) if cpu else None,
                      "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    sys.exit(main())
