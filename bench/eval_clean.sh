#!/bin/sh
# Measures the cleaning and filter presets on data no one here wrote (issue 3):
#   boilerplate word-4-gram P/R/F1 on 181 English news pages, DCLM human quality labels kept/rejected,
#   and the share of MasakhaNEWS documents each rule rejects per language.
# usage: sh bench/eval_clean.sh [PRESET...]   (default: news; PRESET is a name under configs/ or a file)
# Needs the CLI ($BUILD/corpusprep) and ../shared (or CP_SHARED).
set -eu
BUILD=${BUILD:-build}
BIN=${CP_BIN:-$BUILD/corpusprep}
SHARED=${CP_SHARED:-../shared}
OUT=${TMPDIR:-/tmp}/cp_eval_clean.$$
trap 'rm -rf "$OUT"' EXIT INT TERM
[ -x "$BIN" ] || { echo "eval_clean: $BIN not built (make)" >&2; exit 2; }
[ -d "$SHARED/eval" ] || { echo "eval_clean: $SHARED not found (set CP_SHARED)" >&2; exit 2; }
[ $# -gt 0 ] || set -- news
for preset in "$@"; do
    cfg=$preset; [ -f "$cfg" ] || cfg=configs/$preset.json
    echo "== preset $preset ($cfg)"
    rm -rf "$OUT"; mkdir -p "$OUT"
    "$BIN" -q -c "$cfg" --keep-rejected -o "$OUT/bp" "$SHARED/eval/boilerplate/articles-en.jsonl.gz"
    python3 "$SHARED/eval/boilerplate_score.py" "$SHARED/eval/boilerplate/articles-en.gold.jsonl.gz" "$OUT/bp" \
        --input "$SHARED/eval/boilerplate/articles-en.jsonl.gz"
    "$BIN" -q -c "$cfg" --keep-rejected -o "$OUT/dclm" "$SHARED/data/dclm-web-en.jsonl.gz"
    "$BIN" -q -c "$cfg" --keep-rejected -o "$OUT/mk" "$SHARED/data/masakhanews.jsonl.gz"
    python3 - "$SHARED" "$OUT" <<'PY'
import collections, gzip, json, os, sys
shared, out = sys.argv[1], sys.argv[2]
def recs(d):
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if '.jsonl' in f:
                op = gzip.open if f.endswith('.gz') else open
                for l in op(os.path.join(root, f), 'rt'):
                    yield json.loads(l)
def verdicts(d):
    return {r['id']: r.get('reject_reason', 'kept') for r in recs(d)}
lab = {}
for l in gzip.open(os.path.join(shared, 'data', 'dclm-web-en.jsonl.gz'), 'rt'):
    r = json.loads(l)
    lab[r['id']] = r.get('quality_label')
v = verdicts(os.path.join(out, 'dclm'))
for L in (1, 0):
    ids = [i for i in lab if lab[i] == L]
    k = sum(1 for i in ids if v.get(i) == 'kept')
    print(f"DCLM label {L}: kept {k}/{len(ids)} ({k / len(ids):.1%}), rejected {1 - k / len(ids):.1%}")
gold = {}
for l in gzip.open(os.path.join(shared, 'data', 'masakhanews.jsonl.gz'), 'rt'):
    r = json.loads(l)
    gold[r['id']] = r['lang']
v = verdicts(os.path.join(out, 'mk'))
by = collections.defaultdict(collections.Counter)
for i, L in gold.items():
    by[L][v.get(i, 'lost')] += 1
print("MasakhaNEWS: share of documents rejected per language (top rules)")
for L in sorted(by):
    n = sum(by[L].values()); rej = n - by[L]['kept']
    top = ', '.join(f"{w} {c / n:.1%}" for w, c in by[L].most_common(4) if w != 'kept')
    print(f"  {L:4} {n:5}  rejected {rej / n:5.1%}  {top}")
PY
done
