#!/bin/sh
# `make fuzz`: builds the seed corpora, then runs each harness given for FUZZ_SECONDS under ASan + UBSan and
# prints per harness: executions, executions per second, final coverage (libFuzzer's cov = edges, ft =
# features) and the corpus size. New inputs are kept in FUZZ_BUILD/corpus/<h> (reused by the next run and by
# `make fuzz-cov`); a crash, hang (-timeout=2), leak or violated invariant leaves its input in
# FUZZ_BUILD/artifacts/<h>/ and makes the run fail after every harness has had its turn.
set -u
: "${FUZZ_BUILD:=build-fuzz}" "${FUZZ_SECONDS:=60}" "${CP_SHARED:=../shared}"
python3 tests/fuzz/make_corpus.py "$FUZZ_BUILD/seeds" "$CP_SHARED" || exit 1
failed=""
printf '%-8s %12s %9s %7s %7s %7s  %s\n' harness executions exec/s cov ft corpus result > "$FUZZ_BUILD/fuzz-summary.txt"
for h in "$@"; do
    mkdir -p "$FUZZ_BUILD/corpus/$h" "$FUZZ_BUILD/artifacts/$h"
    opts=""
    case $h in # keys: its checks run every key function ten times over, so shorter texts
        json|record|dolma) opts="-dict=tests/fuzz/json.dict" ;;
        keys) opts="-max_len=8192" ;;
        warc) opts="-dict=tests/fuzz/warc.dict" ;;
    esac
    log="$FUZZ_BUILD/fuzz-$h.log"
    echo "== fuzz_$h: $FUZZ_SECONDS s (log: $log)"
    "$FUZZ_BUILD/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -timeout=2 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FUZZ_BUILD/artifacts/$h/" $opts "$FUZZ_BUILD/corpus/$h" "$FUZZ_BUILD/seeds/$h" \
        > "$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="FAILED (rc $rc)"
        failed="$failed $h"
        grep -E 'ERROR|INVARIANT|SUMMARY|Test unit written' "$log" | head -n 8
    fi
    printf '%-8s %12s %9s %7s %7s %7s  %s\n' "$h" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
        "$result" | tee -a "$FUZZ_BUILD/fuzz-summary.txt"
done
echo
cat "$FUZZ_BUILD/fuzz-summary.txt"
if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed (inputs in $FUZZ_BUILD/artifacts/)"
    exit 1
fi
