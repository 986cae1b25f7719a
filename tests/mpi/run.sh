#!/bin/sh
# Cluster mode against the single process (issue 5). Runs from the repo root after `make mpi-test` built
# $BUILD/corpusprep, $BUILD/mpich/corpusprep-mpi and $BUILD/openmpi/corpusprep-mpi. On a corpus with exact, URL,
# line-level and near duplicates spread across files (tests/mpi/make_corpus.py), `mpirun -n 1, 2, 3` under
# MPICH and under Open MPI must give what `corpusprep` gives (tests/mpi/compare.py: kept and rejected records
# as multisets, reject reason and dup_of per id, docs_in/kept/rejected), with line dedup in both modes, in
# exchange rounds of a few KB, with more ranks than files; and the failures must fail as documented.
# Prints PASS/FAIL per case and "N passed, N failed"; exit status 1 when a case failed.
BUILD=${BUILD:-build}
SINGLE=$BUILD/corpusprep
T=$(mktemp -d /tmp/corpusprep-mpi-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "$2" ] && sed 's/^/    /' "$2" | head -n 20; }

# Open MPI refuses root and binds ranks to cores unless told otherwise; these make it run here and in CI.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
       OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_plm_rsh_agent=false
unset SLURM_NTASKS

python3 tests/mpi/make_corpus.py "$T/in" >/dev/null || { echo "FAIL making the corpus"; echo "0 passed, 1 failed"; exit 1; }
echo '{"clean": {"line_dedup": {"mode": "all"}}}' >"$T/all.json"
echo '{"input": {"batch_bytes": "64K"}}' >"$T/small.json"

# name | flags (the same for both runs)
cases='first-url|--keep-rejected --dedup-url
all-url|--keep-rejected --dedup-url -c '"$T"'/all.json
first-near|--keep-rejected'

echo "$cases" | while IFS='|' read -r name flags; do
    # shellcheck disable=SC2086
    $SINGLE -q $flags -o "$T/ref-$name" "$T/in" 2>"$T/ref-$name.err" || { echo "single-process run $name failed"; cat "$T/ref-$name.err"; }
done

run_case() { # label mpirun ranks binary refname flags...
    label=$1 launcher=$2 k=$3 bin=$4 ref=$5
    shift 5
    out="$T/out-$label"
    rm -rf "$out"
    if ! timeout 300 $launcher -n "$k" "$bin" -q "$@" -o "$out" "$T/in" >"$T/log" 2>&1; then
        fail "$label: exit status not 0" "$T/log"
    elif python3 tests/mpi/compare.py "$T/ref-$ref" "$out" >"$T/cmp" 2>&1; then
        pass "$label: same records, reasons, dup_of and counts as the single process"
    else
        fail "$label" "$T/cmp"
    fi
}

for mpi in mpich openmpi; do
    bin=$BUILD/$mpi/corpusprep-mpi
    launcher=mpirun.$mpi
    if [ ! -x "$bin" ] || ! command -v "$launcher" >/dev/null; then
        fail "$mpi: $bin or $launcher missing (make mpi-test builds them)"
        continue
    fi
    for k in 1 2 3; do
        run_case "$mpi -n $k line_dedup first, --dedup-url" "$launcher" "$k" "$bin" first-url --keep-rejected --dedup-url
        run_case "$mpi -n $k line_dedup all, --dedup-url" "$launcher" "$k" "$bin" all-url --keep-rejected --dedup-url -c "$T/all.json"
        run_case "$mpi -n $k near duplicates (no URL dedup)" "$launcher" "$k" "$bin" first-near --keep-rejected
    done
done

M="timeout 300 mpirun.mpich"
BIN=$BUILD/mpich/corpusprep-mpi

# Rounds: every exchange cut into pieces of at most 2 KB per rank (hundreds of rounds).
CORPUSPREP_MPI_ROUND_BYTES=2048 run_case "mpich -n 3 in exchange rounds of 2 KB" "mpirun.mpich" 3 "$BIN" first-url \
    --keep-rejected --dedup-url
# More ranks than files (11 files): some ranks read nothing and still own keys.
run_case "mpich -n 12, more ranks than files" "mpirun.mpich" 12 "$BIN" first-url --keep-rejected --dedup-url -t 1

# An id holding "\u0000" (JSON allows it): dup_of names the first copy whole, from 2 ranks (one file each) as
# from the single process.
mkdir -p "$T/nul"
python3 - "$T/nul" <<'EOF'
import json, sys
t = "The committee said on Tuesday that the new bridge over the river will open to traffic next spring."
for i, id in enumerate(("a\0first", "a\0second")):
    with open("%s/f%d.jsonl" % (sys.argv[1], i), "w") as f:
        f.write(json.dumps({"id": id, "text": t}) + "\n")
EOF
$SINGLE -q -c none --keep-rejected -o "$T/nul-ref" "$T/nul" 2>"$T/log"
timeout 300 mpirun.mpich -n 2 "$BIN" -q -c none --keep-rejected -o "$T/nul-mpich" "$T/nul" >>"$T/log" 2>&1
timeout 300 mpirun.openmpi -n 2 "$BUILD/openmpi/corpusprep-mpi" -q -c none --keep-rejected -o "$T/nul-openmpi" \
    "$T/nul" >>"$T/log" 2>&1
if python3 - "$T/nul-ref" "$T/nul-mpich" "$T/nul-openmpi" >>"$T/log" 2>&1 <<'EOF'
import glob, gzip, json, sys
for d in sys.argv[1:]:
    recs = lambda sub: [json.loads(l) for f in sorted(glob.glob(d + sub + "/part-*.jsonl.gz")) for l in gzip.open(f)]
    kept, rej = recs(""), recs("/rejected")
    assert [r["id"] for r in kept] == ["a\0first"], (d, kept)
    assert [(r["id"], r["dup_of"]) for r in rej] == [("a\0second", "a\0first")], (d, rej)
EOF
then pass "an id holding \\u0000: kept and dup_of whole, single and -n 2 (both MPIs)"
else fail "an id holding \\u0000 cut short" "$T/log"; fi

# stats.json: merged counts, the cluster section, one JSON on rank 0 only
out="$T/out-mpich -n 3 line_dedup first, --dedup-url"
if python3 - "$out/stats.json" "$T/ref-first-url/stats.json" >"$T/log" 2>&1 <<'EOF'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c = s["cluster"]
assert c["ranks"] == 3 and len(c["per_rank"]) == 3, c
assert sum(p["docs_in"] for p in c["per_rank"]) == s["docs_in"] == r["docs_in"]
assert c["exchange_network_bytes"] > 0 and c["exchange_network_bytes_per_doc"] > 0
assert all(p["owner_table_peak_bytes"] > 0 and p["peak_rss_mb"] > 0 for p in c["per_rank"])
for k in ("langs", "clean_rules", "bytes_in_uncompressed", "near_dup_clusters", "dedup_exact_keys"):
    assert s[k] == r[k], (k, s[k], r[k])
EOF
then pass "stats.json merged on rank 0: counts, languages, cleaning rules, near-dup clusters as single; cluster figures"
else fail "stats.json merged on rank 0" "$T/log"; fi

# The run report (issue 12): its histograms, funnel, per-file figures and example picks are the same for the
# single process at -t 1 and -t 2 and for K = 1, 2, 3 ranks under both MPIs; rank 0 writes report.html.
$SINGLE -q -t 1 --keep-rejected --dedup-url -o "$T/ref-t1" "$T/in" 2>/dev/null
$SINGLE -q -t 2 --keep-rejected --dedup-url -o "$T/ref-t2" "$T/in" 2>/dev/null
if python3 - "$T/ref-t1" "$T/ref-t2" "$T/out-mpich -n 1 line_dedup first, --dedup-url" \
    "$T/out-mpich -n 2 line_dedup first, --dedup-url" "$T/out-mpich -n 3 line_dedup first, --dedup-url" \
    "$T/out-openmpi -n 1 line_dedup first, --dedup-url" "$T/out-openmpi -n 2 line_dedup first, --dedup-url" \
    "$T/out-openmpi -n 3 line_dedup first, --dedup-url" >"$T/log" 2>&1 <<'EOF'
import json, os, sys
def figures(d):
    s = json.load(open(os.path.join(d, "stats.json")))
    ex = json.load(open(os.path.join(d, "report-examples.json")))
    html = open(os.path.join(d, "report.html"), encoding="utf-8").read()
    for chart in ("chart-funnel", "chart-reasons", "chart-len-before", "chart-lang-score", "chart-near-clusters"):
        assert 'id="%s"' % chart in html, (d, chart)
    return {k: s[k] for k in ("histograms", "funnel", "per_file", "lang_text_bytes", "near_dup_clusters")}, ex
ref = figures(sys.argv[1])
assert ref[0]["histograms"]["text_bytes_kept"]["count"] == json.load(open(sys.argv[1] + "/stats.json"))["docs_kept"]
for d in sys.argv[2:]:
    got = figures(d)
    for k in ref[0]:
        assert got[0][k] == ref[0][k], (d, k)
    assert got[1] == ref[1], (d, "examples differ")
print("same figures in", len(sys.argv) - 1, "runs")
EOF
then pass "report: histograms, funnel, per-file figures and examples equal for -t 1, -t 2 and K = 1, 2, 3 (both MPIs)"
else fail "report figures differ" "$T/log"; fi

# Report examples whose text cleaning left alone and corpus-wide line dedup shortened: the cluster shows the
# text as cleaning saw it, every line with its fate, as the single process does (it once showed the shortened
# text, a line short).
mkdir -p "$T/ldx"
python3 - "$T/ldx/a.jsonl" <<'EOF'
import json, random, sys
random.seed(3)
words = ("the a river city council voted on new plan for schools while residents asked about costs and timing of "
         "works near old bridge").split()
def sent(n):
    return " ".join(random.choice(words) for _ in range(n)).capitalize() + "."
shared = [sent(20) for _ in range(3)]
with open(sys.argv[1], "w") as f:
    for i in range(40):
        f.write(json.dumps({"id": "d%d" % i, "text": "\n".join([sent(22), shared[i % 3], sent(25), sent(21)])}) + "\n")
EOF
$SINGLE -q -t 1 -o "$T/ldx-ref" "$T/ldx" 2>/dev/null
$M -n 1 "$BIN" -q -o "$T/ldx-k1" "$T/ldx" >"$T/log" 2>&1
$M -n 2 "$BIN" -q -o "$T/ldx-k2" "$T/ldx" >>"$T/log" 2>&1
if python3 - "$T/ldx-ref" "$T/ldx-k1" "$T/ldx-k2" >>"$T/log" 2>&1 <<'EOF'
import json, sys
ex = [json.load(open(d + "/report-examples.json"))["kept"] for d in sys.argv[1:]]
assert any(l["fate"].startswith("line_dedup") for e in ex[0] for l in e["lines"]), "no example lost a line"
assert all(len(e["lines"]) == 4 for e in ex[0]), ex[0]
assert ex[1] == ex[0] and ex[2] == ex[0], "examples differ"
EOF
then pass "report examples that line dedup shortened and cleaning left alone: every line, as the single process (K = 1, 2)"
else fail "report examples shortened by line dedup differ" "$T/log"; fi

# --explain is for a single process: refused once, exit 2. Progress: rank 0 logs the job's figures (issue 13).
$M -n 2 "$BIN" --explain 3 -o "$T/out-explain" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 2 ] && [ "$(grep -c 'explain is for a single process' "$T/log")" = 1 ]; then pass "--explain refused once: exit 2"
else fail "--explain in cluster mode: exit $rc" "$T/log"; fi
$M -n 3 "$BIN" -q -c "$T/small.json" --progress-every 0.001 -o "$T/out-progress" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 0 ] && python3 - "$T/log" "$T/out-progress/stats.json" >"$T/cmp" 2>&1 <<'EOF'
import json, re, sys
s = json.load(open(sys.argv[2]))
pat = re.compile(r"^corpusprep: progress \d+ s: pass (\d) of 2 \(([a-z ]+)\), 3 ranks: ([\d.]+) of ([\d.]+) MB read "
                 r"\(([\d.]+) %\), (\d+) docs, [\d.]+ MB/s")
lines = [l for l in open(sys.argv[1]) if l.startswith("corpusprep: progress")]
got = {1: [], 2: []}
for l in lines:
    m = pat.match(l)
    assert m, l
    got[int(m.group(1))].append((float(m.group(3)), float(m.group(4)), int(m.group(6))))
# the job's figures, summed over the ranks: never above the job's totals, rising, the last line the totals
want = {1: round(s["bytes_in_compressed"] / 1e6, 1), 2: round(s["bytes_in_uncompressed"] / 1e6, 1)}
# A line before the last needs every rank to have reached the same reduction while the pass runs: how many
# there are depends on the ranks' timing (a fast machine ends pass 1 before one completes), so each pass is
# required its final line, and the job at least one line before a pass's end.
assert sum(len(got[p]) - 1 for p in (1, 2)) >= 1, got
for p in (1, 2):
    assert len(got[p]) >= 1, (p, got[p])
    assert all(t == want[p] for _, t, _ in got[p]), (p, want[p], got[p][:3])
    assert all(a[2] <= b[2] and a[0] <= b[0] for a, b in zip(got[p], got[p][1:])), got[p]
    assert all(d <= s["docs_in"] for _, _, d in got[p]), got[p]
    assert got[p][-1] == (want[p], want[p], s["docs_in"]), (got[p][-1], want[p], s["docs_in"])
print("%d and %d lines in passes 1 and 2, last: %s, %s" % (len(got[1]), len(got[2]), got[1][-1], got[2][-1]))
EOF
then
    pass "progress: rank 0 logs the job's figures summed over 3 ranks, both passes, ending at the job's totals ($(cat "$T/cmp"))"
else fail "progress in cluster mode: exit $rc" "$T/cmp"; sed 's/^/    /' "$T/log" | grep progress | tail -n 5; fi

# An input that ends early: exit 1 like the single process, the same records from what could be read.
mkdir -p "$T/trunc"
cp "$T"/in/* "$T/trunc/"
f=$(ls "$T"/trunc/*.gz | head -n 1)
head -c 60000 "$T/in/$(basename "$f")" >"$f"
$SINGLE -q --keep-rejected -o "$T/ref-trunc" "$T/trunc" 2>/dev/null
src=$?
$M -n 3 "$BIN" -q --keep-rejected -o "$T/out-trunc" "$T/trunc" 2>"$T/log"
rc=$?
if [ "$src" = 1 ] && [ "$rc" = 1 ] && python3 tests/mpi/compare.py "$T/ref-trunc" "$T/out-trunc" >>"$T/log" 2>&1 &&
   [ "$(grep -c 'unexpected end' "$T/log")" = 1 ]; then
    pass "truncated input: exit 1 (as single: $src), same records, the error reported once"
else fail "truncated input: exit $rc (single: $src)" "$T/log"; fi

# Balance (issue 13): one large file split between ranks. The corpus as one file, plain, as multi-member gzip and
# as multi-frame zstd whose members/frames end mid-line; cut wherever it helps (CORPUSPREP_SPLIT_MIN_BYTES=0):
# the same records, and every per-document message with the same file:line as the single process.
mkdir -p "$T/one-plain" "$T/one-gz" "$T/one-zst" "$T/one-gz1"
for f in "$T"/in/*; do case $f in *.gz) gzip -dc "$f" ;; *) cat "$f" ;; esac; done >"$T/one-plain/all.jsonl"
(cd "$T" && split -n 9 -d one-plain/all.jsonl piece- && for p in piece-*; do gzip -c "$p"; done >one-gz/all.jsonl.gz &&
 for p in piece-*; do zstd -q -c "$p"; done >one-zst/all.jsonl.zst && rm piece-*)
gzip -c "$T/one-plain/all.jsonl" >"$T/one-gz1/all.jsonl.gz"
split_case() { # label launcher ranks bin dir
    label=$1 launcher=$2 k=$3 bin=$4 d=$5
    [ -d "$T/ref-$d" ] || $SINGLE -v --keep-rejected --dedup-url -o "$T/ref-$d" "$T/$d" 2>&1 |
        grep "^corpusprep: $T/$d/" | sort >"$T/ref-$d.msgs"
    rm -rf "$T/out-$label" "$T/rank-err"
    mkdir -p "$T/rank-err"
    # each rank's stderr in a file of its own: the launchers forward the ranks' output in chunks that can cut two
    # ranks' lines into each other (seen once under Open MPI on a loaded machine), which a log check cannot use
    case $launcher in
    *openmpi*) per_rank="--output-filename $T/rank-err" ;;
    *) per_rank="-errfile-pattern $T/rank-err/err.%r" ;;
    esac
    if ! CORPUSPREP_SPLIT_MIN_BYTES=0 timeout 300 $launcher $per_rank -n "$k" "$bin" -v --keep-rejected --dedup-url \
        -o "$T/out-$label" "$T/$d" >"$T/log" 2>&1; then
        fail "$label: exit status not 0" "$T/log"
    elif ! find "$T/rank-err" -type f \( -name 'err.*' -o -name stderr \) -exec cat {} + >"$T/ranks.log" ||
         [ ! -s "$T/ranks.log" ]; then
        fail "$label: no rank's stderr in $T/rank-err" "$T/log"
    elif ! python3 tests/mpi/compare.py "$T/ref-$d" "$T/out-$label" >"$T/cmp" 2>&1; then
        fail "$label" "$T/cmp"
    elif ! grep "^corpusprep: $T/$d/" "$T/ranks.log" | grep -v "is split between\|is read whole" | sort |
        diff "$T/ref-$d.msgs" - >"$T/cmp" || [ ! -s "$T/ref-$d.msgs" ]; then
        fail "$label: per-document messages (file:line) differ from the single process's" "$T/cmp"
    elif ! python3 -c '
import json, sys
a, b = (json.load(open(d + "/stats.json")) for d in sys.argv[1:3])
for k in ("files", "files_failed", "bytes_in_compressed", "bytes_in_uncompressed", "blank_lines", "per_file",
          "histograms", "funnel", "lang_text_bytes"):
    assert a.get(k) == b.get(k), k
' "$T/ref-$d" "$T/out-$label" >"$T/cmp" 2>&1; then
        fail "$label: stats.json (files, bytes, per-file figures, histograms) differ from the single process's" "$T/cmp"
    elif [ "$d" = one-gz1 ] && ! grep -q "is read whole by one rank: .*multi-member" "$T/ranks.log"; then
        fail "$label: the log does not say why the file was not split" "$T/ranks.log"
    elif [ "$d" != one-gz1 ] && ! grep -q "is split between ranks 0 to $((k - 1))" "$T/ranks.log"; then
        fail "$label: the file was not split" "$T/ranks.log"
    else
        pass "$label: same records, reasons, dup_of, counts, file:line messages and stats figures as the single process"
    fi
}
split_case "mpich -n 2, one plain file split" mpirun.mpich 2 "$BIN" one-plain
split_case "mpich -n 3, one plain file split" mpirun.mpich 3 "$BIN" one-plain
split_case "mpich -n 3, one multi-member gzip split at members (mid-line)" mpirun.mpich 3 "$BIN" one-gz
split_case "openmpi -n 2, one multi-member gzip split" mpirun.openmpi 2 "$BUILD/openmpi/corpusprep-mpi" one-gz
split_case "mpich -n 3, one multi-frame zstd split at frames (mid-line)" mpirun.mpich 3 "$BIN" one-zst
split_case "openmpi -n 3, one multi-frame zstd split" mpirun.openmpi 3 "$BUILD/openmpi/corpusprep-mpi" one-zst
split_case "mpich -n 2, one single-member gzip: not split, said so" mpirun.mpich 2 "$BIN" one-gz1

# The acceptance case: one 60 MB plain JSONL file on K = 2 ranks with the default threshold. Both ranks work
# (each reads about half and takes CPU time within 25 % of the other's in each pass); the output equals the
# single process's. The wall times of the passes are printed (a busy machine makes them no test).
mkdir -p "$T/big"
if python3 bench/make_corpus.py "$T/big.jsonl.gz" --mb 60 >/dev/null 2>&1 && gzip -dc "$T/big.jsonl.gz" >"$T/big/all.jsonl"; then
    rm -f "$T/big.jsonl.gz" "$T/big.jsonl.gz.meta.json"
    $SINGLE -q -t 2 --keep-rejected --dedup-url -o "$T/ref-big" "$T/big" 2>/dev/null
    if ! timeout 600 $M -n 2 "$BIN" -t 1 --keep-rejected --dedup-url -o "$T/out-big" "$T/big" >"$T/log" 2>&1; then
        fail "60 MB file, -n 2: exit status not 0" "$T/log"
    elif ! python3 tests/mpi/compare.py "$T/ref-big" "$T/out-big" >"$T/cmp" 2>&1; then
        fail "60 MB file, -n 2: output differs from the single process" "$T/cmp"
    elif python3 - "$T/out-big/stats.json" >"$T/cmp" 2>&1 <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["cluster"]["per_rank"]
assert len(r) == 2 and all(p["file_parts"] == 1 and p["docs_in"] > 0 for p in r), r
def near(key):
    a, b = r[0][key], r[1][key]
    assert max(a, b) <= 1.25 * min(a, b), (key, a, b)
near("bytes_in_compressed")
near("collect_pass_cpu_seconds")
near("decide_pass_cpu_seconds")
print("; ".join(
    "rank %d: %d docs, %.1f MB, collect pass %.2f s (%.2f s CPU), decide pass %.2f s (%.2f s CPU), line count %.3f s" %
    (p["rank"], p["docs_in"], p["bytes_in_compressed"] / 1e6, p["collect_pass_own_seconds"], p["collect_pass_cpu_seconds"],
     p["decide_pass_own_seconds"], p["decide_pass_cpu_seconds"], p["split_count_seconds"]) for p in r))
EOF
    then pass "60 MB file split across 2 ranks, same output as single: $(cat "$T/cmp")"
    else fail "60 MB file split across 2 ranks: unbalanced" "$T/cmp"; fi
    rm -rf "$T/big" "$T/ref-big" "$T/out-big"
else fail "60 MB input could not be made"; fi

# Resume (issue 13). Batches of 64 KB, so that each pass has several. The reference is an uninterrupted job
# with the same ranks: a resumed job's shards must be byte-identical to it, and its records the single process's.
same_shards() { # ref out
    [ -n "$(cd "$1" && find . -name 'part-*')" ] || return 1
    for f in $(cd "$1" && find . -name 'part-*'); do cmp -s "$1/$f" "$2/$f" || return 1; done
    [ -z "$(find "$2" -name '*.tmp' -o -name _checkpoint -o -name _scratch)" ]
}
R="--keep-rejected --dedup-url -c $T/small.json"
$SINGLE -q $R -o "$T/ref-small" "$T/in" 2>/dev/null
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q $R -o "$T/res-ref" "$T/in" >"$T/log" 2>&1 || fail "uninterrupted -n 2 run for the resume tests" "$T/log"
for mpi in mpich openmpi; do
    # shellcheck disable=SC2086
    CP_TEST_KILL_AT=spill-batch:3 timeout 300 mpirun.$mpi -n 2 "$BUILD/$mpi/corpusprep-mpi" -q $R -o "$T/res-$mpi" \
        "$T/in" >"$T/log" 2>&1
    k=$?
    # shellcheck disable=SC2086
    timeout 300 mpirun.$mpi -n 2 "$BUILD/$mpi/corpusprep-mpi" $R --resume -o "$T/res-$mpi" "$T/in" >"$T/log2" 2>&1
    rc=$?
    cat "$T/log2" >>"$T/log"
    if [ "$k" != 0 ] && [ "$rc" = 0 ] && grep -q "resuming: pass 1 and the exchange skipped" "$T/log2" &&
       same_shards "$T/res-ref" "$T/res-$mpi" && python3 tests/mpi/compare.py "$T/ref-small" "$T/res-$mpi" >>"$T/log" 2>&1; then
        pass "$mpi -n 2 killed in pass 2, then --resume: pass 1 skipped, shards identical to an uninterrupted run"
    else fail "$mpi: kill in pass 2 and --resume (kill exit $k, resume exit $rc)" "$T/log"; fi
done
# killed in pass 1: --resume runs pass 1 again
# shellcheck disable=SC2086
CP_TEST_KILL_AT=batch:2 $M -n 2 "$BIN" -q $R -o "$T/res-p1" "$T/in" >"$T/log" 2>&1
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q $R --resume -o "$T/res-p1" "$T/in" >"$T/log2" 2>&1
rc=$?
cat "$T/log2" >>"$T/log"
if [ "$rc" = 0 ] && grep -q "pass 1 runs again" "$T/log2" && same_shards "$T/res-ref" "$T/res-p1"; then
    pass "killed in pass 1, then --resume: pass 1 runs again, shards identical"
else fail "kill in pass 1 and --resume: exit $rc" "$T/log"; fi
# SIGTERM in pass 2: exit 130 with spills and decisions kept, then --resume
mkdir -p "$T/long"
for k in 1 2 3 4 5 6; do for f in "$T"/in/*; do ln -f "$f" "$T/long/$k-$(basename "$f")"; done; done
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q -t 1 $R -o "$T/res-long-ref" "$T/long" >/dev/null 2>&1
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q -t 1 $R -o "$T/res-term" "$T/long" >"$T/log" 2>&1 &
pid=$!
i=0
while [ -z "$(find "$T/res-term" -name '*.tmp' 2>/dev/null)" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid
t=$?
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q -t 1 $R --resume -o "$T/res-term" "$T/long" >"$T/log2" 2>&1
rc=$?
cat "$T/log2" >>"$T/log"
# (each rank exits 130; what the launcher returns when it is signalled itself varies: its log is the check)
if grep -q "interrupted in pass 2; the spills and decisions are kept" "$T/log" && [ "$rc" = 0 ] &&
   grep -q "pass 1 and the exchange skipped" "$T/log2" && same_shards "$T/res-long-ref" "$T/res-term"; then
    pass "SIGTERM in pass 2: the job stops, spills and decisions kept; --resume skips pass 1, shards identical"
else fail "SIGTERM in pass 2 (exit $t) and --resume (exit $rc)" "$T/log"; fi
# a damaged spill is never used: --resume notices and runs pass 1 again
# shellcheck disable=SC2086
CP_TEST_KILL_AT=spill-batch:3 $M -n 2 "$BIN" -q $R -o "$T/res-bad" "$T/in" >/dev/null 2>&1
sp="$T/res-bad/_scratch/rank-1.spill"
if [ -e "$sp" ]; then
    printf 'X' | dd of="$sp" bs=1 seek=200 conv=notrunc 2>/dev/null
    # shellcheck disable=SC2086
    $M -n 2 "$BIN" $R --resume -o "$T/res-bad" "$T/in" >"$T/log" 2>&1
    rc=$?
    if [ "$rc" = 0 ] && grep -q "pass 1 runs again" "$T/log" && grep -q "rank 1: .*rank-1.spill" "$T/log" &&
       same_shards "$T/res-ref" "$T/res-bad"; then
        pass "a damaged spill: --resume names it, runs pass 1 again, shards identical"
    else fail "damaged spill and --resume: exit $rc" "$T/log"; fi
else fail "damaged spill: no spill kept after a kill in pass 2" ""; fi
# refusals, exit 2 as in the single process: nothing to resume, other ranks, other configuration
# shellcheck disable=SC2086
CP_TEST_KILL_AT=spill-batch:3 $M -n 2 "$BIN" -q $R -o "$T/res-refuse" "$T/in" >/dev/null 2>&1
# shellcheck disable=SC2086
$M -n 3 "$BIN" -q $R --resume -o "$T/res-refuse" "$T/in" >"$T/log" 2>&1
r3=$?
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q $R --dedup-url --no-near-dedup --resume -o "$T/res-refuse" "$T/in" >>"$T/log" 2>&1
rc2=$?
$M -n 2 "$BIN" -q --resume -o "$T/res-nothing" "$T/in" >>"$T/log" 2>&1
rn=$?
if [ "$r3" = 2 ] && [ "$rc2" = 2 ] && [ "$rn" = 2 ] && grep -q "same -n" "$T/log" &&
   grep -q "configuration, the input files or the corpusprep build differ" "$T/log" && grep -q "nothing to resume" "$T/log"; then
    pass "--resume refused with exit 2: other number of ranks, other configuration, nothing to resume"
else fail "--resume refusals: exits $r3 $rc2 $rn" "$T/log"; fi
# --scratch: the spills go there and leave nothing behind; --checkpoint-every off keeps nothing on interrupt
mkdir -p "$T/scratch"
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q $R --scratch "$T/scratch" -o "$T/res-scr" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ -z "$(ls -A "$T/scratch")" ] && same_shards "$T/res-ref" "$T/res-scr" &&
   python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cluster"]; assert c["scratch_peak_bytes_max"] > 0 and c["spill_bytes_per_doc"] > 0 and all(r["scratch_peak_bytes"] > 0 for r in c["per_rank"]), c' \
       "$T/res-scr/stats.json" >>"$T/log" 2>&1; then
    pass "--scratch DIR: spills there, removed at the end; peak scratch per rank in stats.json"
else fail "--scratch: exit $rc, left: $(ls -A "$T/scratch")" "$T/log"; fi
# --spill-level: a lower zstd level changes the spill's size, never the output; a level above 1 or not a
# number is refused with exit 2, and so is the flag in the single process
# shellcheck disable=SC2086
$M -n 2 "$BIN" -q $R --spill-level -1000 -o "$T/res-lvl" "$T/in" >"$T/log" 2>&1
rc=$?
$M -n 2 "$BIN" -q --spill-level 3 -o "$T/res-lvl3" "$T/in" >>"$T/log" 2>&1
r3=$?
$M -n 2 "$BIN" -q --spill-level fast -o "$T/res-lvlx" "$T/in" >>"$T/log" 2>&1
rx=$?
$SINGLE -q --spill-level 1 -o "$T/res-lvls" "$T/in" >>"$T/log" 2>&1
rs=$?
if [ "$rc" = 0 ] && [ "$r3" = 2 ] && [ "$rx" = 2 ] && [ "$rs" = 2 ] && same_shards "$T/res-ref" "$T/res-lvl" &&
   [ ! -e "$T/res-lvl3" ] && grep -q "is not a zstd level from" "$T/log" && grep -q "is for cluster mode" "$T/log" &&
   python3 -c 'import json,sys; a,b=(json.load(open(f))["cluster"] for f in sys.argv[1:]); assert a["spill_level"] == -1000 and b["spill_level"] == 1 and a["spill_bytes_per_doc"] > 1.5 * b["spill_bytes_per_doc"], (a, b)' \
       "$T/res-lvl/stats.json" "$T/res-scr/stats.json" >>"$T/log" 2>&1; then
    pass "--spill-level -1000: same shards, a larger spill; 3, a word, or the single process: exit 2"
else fail "--spill-level: exits $rc $r3 $rx $rs" "$T/log"; fi

# Fail fast: Slurm says 3 tasks, MPI has 2 ranks (srun with the wrong --mpi plugin) -> exit 2, nothing written.
SLURM_NTASKS=3 $M -n 2 "$BIN" -o "$T/out-ntasks" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "SLURM_NTASKS" "$T/log" && [ ! -e "$T/out-ntasks" ]; then
    pass "SLURM_NTASKS=3 with 2 ranks: exit 2 before any output"
else fail "SLURM_NTASKS=3 with 2 ranks: exit $rc" "$T/log"; fi
SLURM_NTASKS=2 $M -n 2 "$BIN" -q -o "$T/out-ntasks2" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 0 ]; then pass "SLURM_NTASKS=2 with 2 ranks: runs"; else fail "SLURM_NTASKS=2 with 2 ranks: exit $rc" "$T/log"; fi

# Usage errors: exit 2 on every rank.
$M -n 2 "$BIN" -o "$T/ref-first-url" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "not empty" "$T/log"; then pass "output folder not empty: exit 2"
else fail "output folder not empty: exit $rc" "$T/log"; fi
echo '{"text": "x"}' | $M -n 2 "$BIN" -o "$T/out-stdin" - >"$T/log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "standard input" "$T/log"; then pass "standard input refused: exit 2"
else fail "standard input: exit $rc" "$T/log"; fi
echo '{"clean": {"line_dedup": {"mode": "sometimes"}}}' >"$T/bad.json"
$M -n 2 "$BIN" -c "$T/bad.json" -o "$T/out-badcfg" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" = 2 ]; then pass "bad configuration: exit 2"; else fail "bad configuration: exit $rc" "$T/log"; fi

# A rank that cannot write aborts the whole job with its error (here rejected/ is a file).
mkdir -p "$T/out-abort" && : >"$T/out-abort/rejected"
$M -n 3 "$BIN" -q --force --keep-rejected -o "$T/out-abort" "$T/in" >"$T/log" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "rank [0-9]*: error: .*rejected" "$T/log" && [ ! -e "$T/out-abort/stats.json" ]; then
    pass "a rank that cannot write aborts the job (exit $rc) with its error"
else fail "rank failure: exit $rc" "$T/log"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
