#!/bin/sh
# WET input against the same documents as JSONL: CPU seconds per run, interleaved so that a slow spell of a
# shared machine falls on both alike. The corpus is bench/make_corpus.py's (MB=40 by default), written as a
# Common Crawl style WET file and as JSONL with the same members ({"id","url","date","text"}) by make_wet.py.
#   sh bench/wet_vs_jsonl.sh            # REPS=4 MB=40 BIN=build/corpusprep
# Prints one line per run and the median per input and configuration (foundation: -c none --no-near-dedup).
: "${REPS:=4}" "${MB:=40}" "${BIN:=build/corpusprep}" "${WORK:=build/bench-wet}"
mkdir -p "$WORK" || exit 1
python3 bench/make_corpus.py "$WORK/c.jsonl.gz" --mb "$MB" >&2 || exit 1
[ "$WORK/c.warc.wet.gz" -nt "$WORK/c.jsonl.gz" ] ||
    python3 bench/make_wet.py "$WORK/c.jsonl.gz" "$WORK/c.warc.wet.gz" --jsonl "$WORK/same.jsonl.gz" || exit 1
i=0
while [ "$i" -lt "$REPS" ]; do
    for cfg in foundation default; do
        for in in c.warc.wet.gz same.jsonl.gz; do
            out="$WORK/out"
            rm -rf "$out"
            if [ "$cfg" = foundation ]; then
                "$BIN" -q -t 1 -c none --no-near-dedup -o "$out" "$WORK/$in" || exit 1
            else
                "$BIN" -q -t 1 -o "$out" "$WORK/$in" || exit 1
            fi
            python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
print(sys.argv[2], sys.argv[3], '%.2f' % s['cpu_seconds'], 'CPU s', '%.1f' % (s['text_bytes_in'] / 1e6 / s['cpu_seconds']),
      'text MB/s per core', s['docs_kept'], 'kept')" "$out/stats.json" "$cfg" "$in"
        done
    done
    i=$((i + 1))
done | tee "$WORK/runs.txt"
echo "median CPU seconds:"
for cfg in foundation default; do
    for in in c.warc.wet.gz same.jsonl.gz; do
        grep "^$cfg $in " "$WORK/runs.txt" | awk '{print $3}' | sort -n |
            awk -v c="$cfg" -v f="$in" '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "  %-10s %-15s %.2f\n", c, f, m}'
    done
done
