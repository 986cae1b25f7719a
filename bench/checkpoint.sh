#!/bin/sh
# Part of `make bench`: what checkpoints cost (README, "Long runs"). On the bench input, the default pipeline
# at -t 1, in turns (REPS rounds): with checkpoints off, at the default interval (10 minutes: on this input
# none falls due, so the cost is the fsync of each shard), and every CK_EVERY of input (default 16M, about a
# dozen checkpoints) to measure one checkpoint's CPU and wall time. Then a run killed after its 8th checkpoint
# is resumed with -v to time the load. Prints the checkpoint's size per million documents, its write and
# load times, and its cost as a share of the run at the default interval.
# Env: BUILD [build], REPS [3], CK_EVERY [16M], BENCH_MB [200], PYTHON [python3].
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/corpusprep
DIR=$BUILD/bench
IN=$DIR/input.jsonl.gz
REPS=${REPS:-3}
CK_EVERY=${CK_EVERY:-16M}
mkdir -p "$DIR" || exit 1
[ -e "$IN" ] || ${PYTHON:-python3} bench/make_corpus.py "$IN" --mb "${BENCH_MB:-200}" || exit 1
export OMP_WAIT_POLICY=passive

# one NAME ARGS...: a run into $DIR/ck-out; "wall cpu" appended to $DIR/ck.NAME
one() {
    name=$1
    shift
    rm -rf "$DIR/ck-out"
    /usr/bin/time -f '%e %U %S' -o "$DIR/ck.time" "$BIN" -t 1 "$@" -o "$DIR/ck-out" "$IN" 2>"$DIR/ck.err.$name" ||
        { echo "bench: checkpoint run $name failed" >&2; tail -n 5 "$DIR/ck.err.$name" >&2; exit 1; }
    awk '{print $1, $2 + $3}' "$DIR/ck.time" >>"$DIR/ck.$name"
}
rm -f "$DIR"/ck.off "$DIR"/ck.default "$DIR"/ck.often "$DIR"/ck.writes
for r in $(seq 1 "$REPS"); do
    echo "bench: checkpoint round $r of $REPS ..."
    one off --checkpoint-every off -q
    one default -q
    one often --checkpoint-every "$CK_EVERY" -v
    grep -o 'written in [0-9.]* s' "$DIR/ck.err.often" | awk '{print $3}' >>"$DIR/ck.writes"
done
n=$(grep -c 'written in' "$DIR/ck.err.often")
docs=$(sed -n 's/.*"docs_in": \([0-9]*\).*/\1/p' "$DIR/ck-out/stats.json")

# size and load time: a run killed right after its 8th checkpoint, resumed
rm -rf "$DIR/ck-out"
CP_TEST_KILL_AT=ckpt-done:8 "$BIN" -q -t 1 --checkpoint-every "$CK_EVERY" -o "$DIR/ck-out" "$IN" 2>/dev/null
ck=$(ls "$DIR/ck-out/_checkpoint/" | sort | tail -n 1)
size=$(stat -c %s "$DIR/ck-out/_checkpoint/$ck")
at_docs=$(python3 -c '
import json,sys
d=open(sys.argv[1],"rb").read(); n=int.from_bytes(d[8:16],"little"); h=json.loads(d[16:16+n])
print(h["pos"][3])' "$DIR/ck-out/_checkpoint/$ck")
/usr/bin/time -f '%e %U %S' -o "$DIR/ck.time" "$BIN" -v -t 1 --checkpoint-every off --resume -o "$DIR/ck-out" "$IN" \
    2>"$DIR/ck.err.resume" || { echo "bench: resume failed" >&2; tail -n 5 "$DIR/ck.err.resume" >&2; exit 1; }
load=$(sed -n 's/.*checkpoint loaded in \([0-9.]*\) s.*/\1/p' "$DIR/ck.err.resume")

python3 - "$DIR" "$REPS" "$n" "$docs" "$size" "$at_docs" "$load" "$CK_EVERY" <<'EOF'
import statistics, sys
d, reps, n, docs, size, at_docs, load, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
def rows(name):
    return [tuple(map(float, l.split())) for l in open("%s/ck.%s" % (d, name))]
off, dflt, often = rows("off"), rows("default"), rows("often")
writes = [float(x) for x in open(d + "/ck.writes")]
med = lambda v: statistics.median(v)
per_run = n  # in the last round's run
print("checkpoint bench: %d docs, %d rounds (machine shared: wall figures are noisy, CPU less so)" % (docs, reps))
print("  %-40s wall %6.2f s  CPU %6.2f s" % ("checkpoints off", med([r[0] for r in off]), med([r[1] for r in off])))
print("  %-40s wall %6.2f s  CPU %6.2f s" % ("default (every 10 min: none due here)", med([r[0] for r in dflt]), med([r[1] for r in dflt])))
print("  %-40s wall %6.2f s  CPU %6.2f s" % ("every %s (%d checkpoints)" % (every, per_run), med([r[0] for r in often]), med([r[1] for r in often])))
cpu_off = med([r[1] for r in off])
print("  default interval vs off: CPU %+.1f %%" % (100 * (med([r[1] for r in dflt]) - cpu_off) / cpu_off))
per_ck_cpu = (med([r[1] for r in often]) - cpu_off) / per_run if per_run else 0
print("  one checkpoint: write %.3f s wall (median of %d, max %.3f), %.3f s CPU (difference of the runs' CPU)" % (med(writes), len(writes), max(writes), per_ck_cpu))
print("  checkpoint size: %.1f MB at %d docs = %.0f MB per million documents" % (size / 1e6, at_docs, size / at_docs))
print("  load (verify checksum + read + cut back shards): %.3f s" % load)
print("  at the default interval (600 s) one write costs %.2f %% of the run's time" % (100 * med(writes) / 600))
rate = size / med(writes)
print("  written at %.0f MB/s: at 600 s a checkpoint stays under 3 %% (18 s) up to %.0f million documents;"
      % (rate / 1e6, 18 * rate / (size / at_docs) / 1e6))
print("  beyond that the interval stretches to 33x the last write (cost stays ~3 %)")
EOF
rm -rf "$DIR/ck-out"
