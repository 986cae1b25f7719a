#!/bin/sh
# `make bench`: corpusprep at 1 and 2 threads beside its floor (gzip -dc | wc -l) and two Python baselines, all
# measured in this run on the same machine, with GNU time (wall, user+sys CPU, peak RSS).
# MB/s per core = uncompressed input MB / (user + sys CPU seconds). Run from the repo root after building.
# Env: BUILD [build], BENCH_MB [200] input size, SLICE_MB [16] size of the every-k-th-document slice that the
# slow same-stages Python script runs on, REPS [5] runs per corpusprep configuration, PYTHON [python3] for the
# generator, CP_SHARED [../shared].
# Exit status: non-zero only when a command failed.
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/corpusprep
DIR=$BUILD/bench
IN=$DIR/input.jsonl.gz
SLICE=$DIR/slice.jsonl.gz
PY=${PYTHON:-python3}
SYSPY=/usr/bin/python3          # Debian's python: the only one that sees python3-langdetect
BENCH_MB=${BENCH_MB:-200}
SLICE_MB=${SLICE_MB:-16}
REPS=${REPS:-5}
fail=0

if [ ! -x /usr/bin/time ]; then
    echo "bench: /usr/bin/time is missing: apt-get install time" >&2
    exit 1
fi
mkdir -p "$DIR" || exit 1
"$PY" bench/make_corpus.py "$IN" --mb "$BENCH_MB" --slice "$SLICE" --slice-mb "$SLICE_MB" || exit 1

# measure NAME CMD...: runs CMD with stdout in $DIR/out.NAME, stderr in err.NAME, "wall user sys maxrss_kb" in
# time.NAME; a failure is reported and remembered, and the run goes on.
measure() {
    name=$1
    shift
    rm -f "$DIR/time.$name" "$DIR/failed.$name"
    printf 'bench: %s ...\n' "$name"
    if ! /usr/bin/time -f '%e %U %S %M' -o "$DIR/time.$name" "$@" >"$DIR/out.$name" 2>"$DIR/err.$name"; then
        : >"$DIR/failed.$name"
        echo "bench: $name failed: $*" >&2
        tail -n 5 "$DIR/err.$name" >&2
        fail=1
    fi
}

# rep NAME CMD...: one run of CMD, appended to NAME's list of runs (see median).
rep() {
    name=$1
    [ -f "$DIR/failed.$name" ] && return
    measure "$@"
    [ -f "$DIR/failed.$name" ] || tail -n 1 "$DIR/time.$name" >>"$DIR/runs.$name"
}

# median NAME: keeps NAME's run with the median CPU time.
median() {
    [ -f "$DIR/failed.$1" ] && return
    awk '{ print $2 + $3, $0 }' "$DIR/runs.$1" | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }' |
        cut -d' ' -f2- >"$DIR/time.$1"
}

cp /proc/loadavg "$DIR/loadavg" 2>/dev/null
rm -rf "$DIR"/out-*        # no stale stats.json when a run fails
# The floor, the foundation pipeline (issue 2: normalise, langid, exact dedup, gzip-1 output), then with
# MinHash near-dup (issue 4), then the default (news preset: line cleaning, corpus-wide line dedup, quality
# filters and near-dup; issue 3), each at 1 and 2 threads, and the Python stdlib script.
# Each runs REPS times and keeps its median run (by CPU time), because a virtual machine moves single runs
# by several per cent; the fastest run is reported too. The runs take turns (floor f1 f2 n1 t1 t2 stdlib,
# floor f1 ...), so that a slow or fast spell of the machine falls on every configuration alike.
ROUND="floor py_stdlib"
[ -x "$BIN" ] && ROUND="floor cp_f1 cp_f2 cp_n1 cp_t1 cp_r1 cp_t2 py_stdlib"
if [ ! -x "$BIN" ]; then
    echo "bench: $BIN not built (make $BIN)" >&2
    fail=1
fi
for k in $ROUND; do rm -f "$DIR/runs.$k" "$DIR/failed.$k"; done
i=0
while [ "$i" -lt "$REPS" ]; do
    for k in $ROUND; do
        case $k in
        floor) rep floor sh -c "gzip -dc '$IN' | wc -l" ;;
        cp_f1) rep cp_f1 "$BIN" -q -c none --no-near-dedup -o "$DIR/out-f1" --force -t 1 "$IN" ;;
        cp_f2) rep cp_f2 "$BIN" -q -c none --no-near-dedup -o "$DIR/out-f2" --force -t 2 "$IN" ;;
        cp_n1) rep cp_n1 "$BIN" -q -c none -o "$DIR/out-n1" --force -t 1 "$IN" ;;
        cp_t1) rep cp_t1 "$BIN" -q -o "$DIR/out-t1" --force -t 1 "$IN" ;;
        cp_r1) rep cp_r1 "$BIN" -q --no-report -o "$DIR/out-r1" --force -t 1 "$IN" ;; # the report's cost (issue 12)
        cp_t2) rep cp_t2 "$BIN" -q -o "$DIR/out-t2" --force -t 2 "$IN" ;;
        py_stdlib) rep py_stdlib "$SYSPY" bench/baseline_stdlib.py "$IN" "$DIR/py-stdlib" ;;
        esac
    done
    i=$((i + 1))
done
for k in $ROUND; do median "$k"; done
[ -x "$BIN" ] && measure cp_slice "$BIN" -q -o "$DIR/out-slice" --force -t 1 "$SLICE"
if "$SYSPY" -c 'import langdetect' 2>/dev/null; then
    measure py_stages "$SYSPY" bench/baseline_stages.py "$SLICE" "$DIR/py-stages"
else
    echo "bench: langdetect missing for $SYSPY: apt-get install python3-langdetect" >&2
    fail=1
fi

"$PY" - "$DIR" "$IN" <<'EOF' || fail=1
import glob, json, os, sys, filecmp
d, inp = sys.argv[1], sys.argv[2]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def timing(name):
    if os.path.exists(os.path.join(d, "failed." + name)):
        return None
    try:
        with open(os.path.join(d, "time." + name)) as f:
            wall, user, sys_, rss = f.read().split("\n")[-2].split()   # last line; GNU time may add one before
        return float(wall), float(user) + float(sys_), int(rss) / 1024
    except (OSError, ValueError, IndexError):
        return None

def last_json(name):
    try:
        with open(os.path.join(d, "out." + name)) as f:
            return json.loads(f.read().strip().split("\n")[-1])
    except (OSError, ValueError, IndexError):
        return None

meta = load(inp + ".meta.json") or {}
full_b, full_docs = meta.get("bytes_uncompressed", 0), meta.get("docs", 0)
sl = meta.get("slice") or {}
slice_b, slice_docs = sl.get("bytes_uncompressed", 0), sl.get("docs", 0)
stats = {k: load(os.path.join(d, "out-%s" % k, "stats.json")) for k in ("f1", "f2", "n1", "t1", "t2", "slice")}

def cp_docs(st, fallback):
    return (st or {}).get("docs_in", fallback)

def cp_bytes(st, fallback):
    return (st or {}).get("bytes_in_uncompressed", fallback)

def floor_docs():
    try:
        return int(open(os.path.join(d, "out.floor")).read().split()[0])
    except (OSError, ValueError, IndexError):
        return full_docs

pys = {k: last_json(k) or {} for k in ("py_stages", "py_stdlib")}
rows = [
    ("floor", "gzip -dc | wc -l (floor)", full_b, floor_docs()),
    ("cp_f1", "foundation -t 1 (-c none, no near)", cp_bytes(stats["f1"], full_b), cp_docs(stats["f1"], full_docs)),
    ("cp_f2", "foundation -t 2", cp_bytes(stats["f2"], full_b), cp_docs(stats["f2"], full_docs)),
    ("cp_n1", "+ near-dup -t 1 (-c none)", cp_bytes(stats["n1"], full_b), cp_docs(stats["n1"], full_docs)),
    ("cp_t1", "default (news) -t 1", cp_bytes(stats["t1"], full_b), cp_docs(stats["t1"], full_docs)),
    ("cp_t2", "default (news) -t 2", cp_bytes(stats["t2"], full_b), cp_docs(stats["t2"], full_docs)),
    ("cp_slice", "corpusprep -t 1, on the slice", slice_b, cp_docs(stats["slice"], slice_docs)),
    ("py_stages", "Python same stages, on the slice", pys["py_stages"].get("bytes_in", slice_b),
     pys["py_stages"].get("docs_in", slice_docs)),
    ("py_stdlib", "Python stdlib (gzip json md5)", pys["py_stdlib"].get("bytes_in", full_b),
     pys["py_stdlib"].get("docs_in", full_docs)),
]
print()
print("corpusprep bench: %s, %.1f MB uncompressed (%.1f MB gzip), %d docs, from %s"
      % (inp, full_b / 1e6, os.path.getsize(inp) / 1e6, full_docs, meta.get("source", "?")))
print("slice: every %s-th document, %.1f MB, %d docs (same mix of sources and languages)"
      % (sl.get("every", "?"), slice_b / 1e6, slice_docs))
try:
    print("load average before the runs: %s (wall times and the -t 2 speedup need an otherwise idle machine)"
          % open(os.path.join(d, "loadavg")).read().split()[0])
except (OSError, IndexError):
    pass
# A slow spell of the machine only ever adds time, so the fastest run is printed beside the median one.
def runs(name):
    try:
        with open(os.path.join(d, "runs." + name)) as f:
            return [(float(w), float(u) + float(s_)) for w, u, s_, _ in (l.split() for l in f if l.strip())]
    except (OSError, ValueError):
        return []

print("rows with runs > 1: the median run by CPU time; 'best' is MB/s per core of the run with the least CPU")
print("%-34s %7s %7s %7s %9s %6s %5s %8s %7s"
      % ("", "MB in", "wall s", "CPU s", "MB/s/core", "best", "runs", "docs/s", "RSS MB"))
per_core = {}
best_core = {}
walls = {}
for key, label, nbytes, docs in rows:
    t = timing(key)
    if not t or t[1] <= 0:
        print("%-34s %7.1f  (failed or not measured)" % (label, nbytes / 1e6))
        continue
    wall, cpu, rss = t
    walls[key] = wall
    per_core[key] = nbytes / 1e6 / cpu
    r = runs(key)
    best_core[key] = nbytes / 1e6 / min(c for _, c in r) if r else per_core[key]
    print("%-34s %7.1f %7.2f %7.2f %9.1f %6.1f %5d %8.0f %7.1f"
          % (label, nbytes / 1e6, wall, cpu, per_core[key], best_core[key], max(len(r), 1),
             docs / wall if wall > 0 else 0, rss))

print()
def ratio(a, b):
    return a / b if a and b else None
if "cp_f1" in per_core:
    print("foundation pipeline -t 1: %.1f MB/s per core in the median run, %.1f in the fastest (issue 2 target >= 25)"
          % (per_core["cp_f1"], best_core["cp_f1"]))
if "floor" in per_core and "py_stdlib" in per_core:
    print("machine speed in this run: floor %.1f MB/s per core, Python stdlib %.1f (a slow spell lowers every row)"
          % (per_core["floor"], per_core["py_stdlib"]))
# Two views of scaling, both printed: the wall-time ratio, and the -t 2 rate (MB per wall second) over the
# -t 1 rate per CPU second. -t 1 runs on one core (reading and processing take turns), so they agree when
# the machine is quiet; when they differ, the machine's speed changed between the runs.
for a, b, what in (("cp_f1", "cp_f2", "foundation"), ("cp_t1", "cp_t2", "default")):
    s = ratio(walls.get(a), walls.get(b))
    if s:
        print("%s: -t 2 over -t 1: %.2fx in wall time, %.2fx in MB/s (-t 2 wall) over MB/s per core (-t 1) "
              "(target >= 1.8)" % (what, s, (cp_bytes(stats[b[3:]], full_b) / 1e6 / walls[b]) / per_core[a]))
    ra, rb = runs(a), runs(b)
    if ra and rb:
        print("  fastest of %d runs each: -t 1 %.2f s wall (%.1f MB/s per core at its least CPU), -t 2 %.2f s: %.2fx; "
              "all -t 1 walls %s, -t 2 walls %s"
              % (min(len(ra), len(rb)), min(w for w, _ in ra), cp_bytes(stats[a[3:]], full_b) / 1e6 / min(c for _, c in ra),
                 min(w for w, _ in rb), min(w for w, _ in ra) / min(w for w, _ in rb),
                 " ".join("%.2f" % w for w, _ in ra), " ".join("%.2f" % w for w, _ in rb)))
for key, what, target in (("cp_n1", "near-dup on (issue 4)", 0.75), ("cp_t1", "default news preset (issue 3)", 0.75)):
    r = ratio(per_core.get(key), per_core.get("cp_f1"))
    if r:
        print("%s: %.1f MB/s per core = %.0f%% of the foundation's (target >= %.0f%%)"
              % (what, per_core[key], 100 * r, 100 * target))
t_on, t_off = timing("cp_t1"), timing("cp_r1")
if t_on and t_off:
    ron, roff = runs("cp_t1"), runs("cp_r1")
    print("run report (issue 12): default -t 1 %.2f s CPU with the report, %.2f s with --no-report: %+.1f%% "
          "(target within 2%%); least CPU of %d runs each: %.2f s and %.2f s (%+.1f%%)"
          % (t_on[1], t_off[1], 100 * (t_on[1] / t_off[1] - 1), min(len(ron), len(roff)), min(c for _, c in ron),
             min(c for _, c in roff), 100 * (min(c for _, c in ron) / min(c for _, c in roff) - 1)))
r = ratio(per_core.get("cp_t1"), per_core.get("py_stages"))
if r:
    print("per core, corpusprep -t 1 / Python same stages: %.1fx (target >= 10); on the identical slice: %s"
          % (r, "%.1fx" % ratio(per_core.get("cp_slice"), per_core["py_stages"])
             if ratio(per_core.get("cp_slice"), per_core["py_stages"]) else "n/a"))
r = ratio(per_core.get("cp_t1"), per_core.get("py_stdlib"))
if r:
    print("per core, corpusprep -t 1 / Python stdlib: %.1fx" % r)
# The issue-9 ratios, printed so that nobody divides by hand: MB/s per core of the median runs over the
# floor's and the Python stdlib script's in this same run (and, in brackets, of the fastest runs), and the
# -t 2 speedup in wall time. Ratios, not MB/s, are what compare across machines and spells.
def ratio_line(label, a, b, target, best=True):
    r = ratio(per_core.get(a), per_core.get(b))
    if r is None:
        print("  %-44s n/a" % label)
        return
    rb = ratio(best_core.get(a), best_core.get(b)) if best else None
    print("  %-44s %6.3f%s   (target >= %s)" % (label, r, "  [fastest runs %.3f]" % rb if rb else "", target))
print("ratios in this run:")
ratio_line("foundation -t 1 / floor, MB/s per core", "cp_f1", "floor", "0.33")
ratio_line("default -t 1 / floor, MB/s per core", "cp_t1", "floor", "0.25")
ratio_line("default -t 1 / Python stdlib, MB/s per core", "cp_t1", "py_stdlib", "1.0")
s = ratio(walls.get("cp_t1"), walls.get("cp_t2"))
print("  %-44s %s   (target >= 1.85)" % ("default -t 2 over -t 1, wall time", "%6.3f" % s if s else "   n/a"))
p = pys["py_stages"]
if p:
    print("Python same stages: %d docs in, %d kept, %d dup, %d bad (langdetect, md5 on normalised text)"
          % (p.get("docs_in", 0), p.get("docs_kept", 0), p.get("dup", 0), p.get("bad", 0)))

# -t 1 and -t 2 must write the same bytes.
def shards(sub):
    root = os.path.join(d, sub)
    return sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "**", "part-*"), recursive=True))
a, b = shards("out-t1"), shards("out-t2")
if a or b:
    same = a == b and all(filecmp.cmp(os.path.join(d, "out-t1", x), os.path.join(d, "out-t2", x), shallow=False)
                          for x in a)
    print("-t 1 and -t 2 output shards byte-identical: %s (%d shards)" % ("yes" if same else "NO", len(a)))

for key, st in (("t1", stats["t1"]),):
    if not st or not timing("cp_t1"):
        continue
    rej = sorted((st.get("docs_rejected") or {}).items(), key=lambda kv: -kv[1])
    print("corpusprep -t 1: docs_in %s, kept %s, rejected %s"
          % (st.get("docs_in"), st.get("docs_kept"), ", ".join("%s %s" % kv for kv in rej)))
    stage = st.get("stage_cpu_seconds")
    if isinstance(stage, dict) and stage:
        vals = {k: v for k, v in stage.items() if isinstance(v, (int, float))}
        tot = sum(vals.values())
        t = timing("cp_t1")
        cpu = t[1] if t else 0
        if tot > 0:
            # Shares of the summed stage times, scaled to the process CPU that GNU time measured: the stage
            # clocks may be per-thread wall time, which a busy machine inflates.
            print("stage times (-t 1, stats.json stage_cpu_seconds; sum %.2f s, process CPU %.2f s):" % (tot, cpu))
            print("  " + ", ".join("%s %.2f (%.0f%%)" % (k, v, 100 * v / tot)
                                   for k, v in sorted(vals.items(), key=lambda kv: -kv[1]) if v >= 0.005))
            js = {k: v for k, v in vals.items() if "parse" in k or "json" in k}
            if js:
                share = sum(js.values()) / tot
                print("JSON stage (%s) share: %.0f%% of stage time, ~%.2f s of process CPU, ~%.0f MB/s per core "
                      "through it" % ("+".join(sorted(js)), 100 * share, share * cpu,
                                      full_b / 1e6 / (share * cpu) if share * cpu else 0))
            if "emit" in vals:
                print("  (emit, which serialises kept records: %.0f%% of stage time)" % (100 * vals["emit"] / tot))
    else:
        print("stats.json has no stage_cpu_seconds: JSON share not available")
EOF

# Stage, MinHash and gzip micro-benchmarks, when built; they get the slice (override with BENCH_STAGES_ARGS etc.).
for b in stages minhash gzip; do
    exe=$BUILD/bench_$b
    [ -x "$exe" ] || continue
    case $b in
        stages) args=${BENCH_STAGES_ARGS:-$SLICE} ;;
        minhash) args=${BENCH_MINHASH_ARGS:-$SLICE} ;;
        gzip) args=${BENCH_GZIP_ARGS:-$SLICE} ;;
    esac
    echo
    echo "== $exe $args"
    # shellcheck disable=SC2086  # args is a word list on purpose
    if ! "$exe" $args; then
        echo "bench: $exe failed" >&2
        fail=1
    fi
done
exit $fail
