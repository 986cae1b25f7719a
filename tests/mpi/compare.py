#!/usr/bin/env python3
"""Compares two corpusprep output folders as sets: exit 0 when they hold the same run's result.

Usage: compare.py EXPECTED ACTUAL

Same: the multiset of kept records (parsed JSON), the multiset of rejected records (parsed JSON, so reject
reasons and dup_of included), the (id -> reject_reason, dup_of) map of rejected records, and the stats
docs_in, docs_kept, docs_rejected. Shard names and record order may differ (ranks write their own shards).
Prints the first differences. Standard library only.
"""
import collections
import glob
import gzip
import json
import os
import sys


def records(folder, sub):
    out = collections.Counter()
    for path in sorted(glob.glob(os.path.join(folder, sub, "part-*"))):
        if path.endswith(".tmp"):
            raise SystemExit("%s: temporary file left behind" % path)
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                out[json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False)] += 1
    return out


def reject_map(recs):
    m = {}
    for r, n in recs.items():
        d = json.loads(r)
        key = d.get("id", d.get("source"))
        m.setdefault(key, collections.Counter())[(d.get("reject_reason"), d.get("dup_of"))] += n
    return m


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1], sys.argv[2]
    problems = []
    for sub, what in (("", "kept"), ("rejected", "rejected")):
        ra, rb = records(a, sub), records(b, sub)
        if ra != rb:
            only_a, only_b = ra - rb, rb - ra
            problems.append("%s records differ: %d only in %s, %d only in %s" %
                            (what, sum(only_a.values()), a, sum(only_b.values()), b))
            for r in list(only_a)[:2]:
                problems.append("  only in expected: " + r[:300])
            for r in list(only_b)[:2]:
                problems.append("  only in actual:   " + r[:300])
        if sub == "rejected":
            ma, mb = reject_map(ra), reject_map(rb)
            diff = [k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k)]
            if diff:
                problems.append("reject reason or dup_of differs for %d ids, e.g. %s: %s vs %s" %
                                (len(diff), diff[0], dict(ma.get(diff[0], {})), dict(mb.get(diff[0], {}))))
            if not ra:
                problems.append("no rejected records: run with --keep-rejected")
    sa = json.load(open(os.path.join(a, "stats.json")))
    sb = json.load(open(os.path.join(b, "stats.json")))
    for k in ("docs_in", "docs_kept", "docs_rejected"):
        if sa.get(k) != sb.get(k):
            problems.append("stats %s: %s vs %s" % (k, sa.get(k), sb.get(k)))
    if sb["docs_in"] != sb["docs_kept"] + sum(sb["docs_rejected"].values()):
        problems.append("stats invariant docs_in = kept + rejected broken in " + b)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
