#!/bin/sh
# Same output check for a performance change (issue 9): runs two corpusprep binaries, the one before the
# change and the one after, with --keep-rejected on the issue's five inputs (MasakhaNEWS, lingua, gnad10k,
# DCLM from ../shared/data, and the stress file that bench/make_stress.py writes), decompresses every shard
# of both and compares them byte for byte, compares stats.json without its timing and compressed byte
# counts, and compares the new binary's -t 1 and -t 2 shards.
# usage: sh bench/same_output.sh BEFORE_BIN AFTER_BIN WORKDIR [extra corpusprep flags]
# Exit status 0 when everything is identical, 1 otherwise. Env: CP_SHARED [../shared].
set -u
BEFORE=$1
AFTER=$2
W=$3
shift 3
SHARED=${CP_SHARED:-../shared}
mkdir -p "$W" || exit 1
python3 bench/make_stress.py "$W/stress.jsonl" 3000 || exit 1
fail=0
# shards NAME DIR: every shard of DIR decompressed, in path order, into one file per shard kind
shards() {
    (cd "$2" && find . -name 'part-*' | sort | while read -r f; do
        printf '== %s\n' "$f"
        case $f in
        *.zst) zstd -dc "$f" ;;
        *) gzip -dc "$f" ;;
        esac
    done) >"$W/$1.txt"
}
# stats without what may differ between runs of identical output
stats() {
    python3 - "$1" >"$2" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if not any(s in k for s in ("seconds", "time", "throughput", "bytes_out", "elapsed", "per_s", "rss", "started", "finished", "cpu"))}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
print(json.dumps(strip(json.load(open(sys.argv[1]))), indent=1, sort_keys=True))
PY
}
for spec in masakhanews:$SHARED/data/masakhanews.jsonl.gz lingua:$SHARED/data/lingua-sentences.jsonl.gz \
    gnad10k:$SHARED/data/gnad10k-de.jsonl.gz dclm:$SHARED/data/dclm-web-en.jsonl.gz stress:$W/stress.jsonl; do
    name=${spec%%:*}
    in=${spec#*:}
    if [ ! -f "$in" ]; then
        echo "same_output: $name: $in missing, skipped"
        continue
    fi
    "$BEFORE" -q --keep-rejected -t 1 "$@" -o "$W/$name.before" --force "$in" 2>"$W/$name.before.err"
    rb=$?
    "$AFTER" -q --keep-rejected -t 1 "$@" -o "$W/$name.after" --force "$in" 2>"$W/$name.after.err"
    ra=$?
    "$AFTER" -q --keep-rejected -t 2 "$@" -o "$W/$name.after2" --force "$in" 2>"$W/$name.after2.err"
    r2=$?
    shards "$name.before" "$W/$name.before"
    shards "$name.after" "$W/$name.after"
    shards "$name.after2" "$W/$name.after2"
    stats "$W/$name.before/stats.json" "$W/$name.before.stats"
    stats "$W/$name.after/stats.json" "$W/$name.after.stats"
    verdict=identical
    [ "$rb" = "$ra" ] && [ "$ra" = "$r2" ] || verdict="exit codes differ ($rb $ra $r2)"
    cmp -s "$W/$name.before.txt" "$W/$name.after.txt" || verdict="SHARDS DIFFER"
    cmp -s "$W/$name.after.txt" "$W/$name.after2.txt" || verdict="$verdict; -t 1 and -t 2 DIFFER"
    cmp -s "$W/$name.before.stats" "$W/$name.after.stats" || verdict="$verdict; stats.json differs"
    [ "$verdict" = identical ] || fail=1
    printf 'same_output: %-12s %8s lines, %10s bytes decompressed: %s\n' "$name" \
        "$(grep -vc '^== ' "$W/$name.after.txt")" "$(wc -c <"$W/$name.after.txt")" "$verdict"
done
exit $fail
