#!/bin/sh
# `make fuzz-campaign`: the long campaign, counted in CPU seconds rather than wall seconds, so that it can run
# at low priority beside other work (or be stopped and resumed in a later session) and still give each harness
# its full share. Each harness keeps its corpus and a ledger in CAMPAIGN_DIR/<h>/: one line per segment with
# the commit it fuzzed, CPU seconds, executions, cov and ft. A segment ends when the harness has used
# FUZZ_CPU_SECONDS in total over all its segments, or after FUZZ_SEGMENT CPU seconds (so a long campaign picks
# up fixes: rebuild, rerun, and it goes on from the ledger), or at the first finding.
set -u
: "${FUZZ_BUILD:=build-fuzz}" "${FUZZ_CPU_SECONDS:=3600}" "${FUZZ_SEGMENT:=$FUZZ_CPU_SECONDS}"
: "${CAMPAIGN_DIR:=$FUZZ_BUILD/campaign}" "${CP_SHARED:=../shared}"
: "${FUZZ_TIMEOUT:=2}" "${FUZZ_WALL_TIMEOUT:=60}"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Seeds are built again when a harness has none (a harness added after the seeds were made).
for h in "$@"; do
    [ -d "$FUZZ_BUILD/seeds/$h" ] && continue
    python3 tests/fuzz/make_corpus.py "$FUZZ_BUILD/seeds" "$CP_SHARED" || exit 1
    break
done
tick=$(getconf CLK_TCK)

cpu_of() { # utime + stime of a live process, in seconds
    awk -v t="$tick" '{ sub(/^.*\) /, ""); print int(($12 + $13) / t) }' "/proc/$1/stat" 2>/dev/null
}
cpu_of_replay() { # CPU seconds (user + system) the harness $1 takes on the input $2 alone (at most about $3)
    python3 -c 'import resource, subprocess, sys
cap = int(sys.argv[3]) + 1
subprocess.run([sys.argv[1], "-timeout=86400", sys.argv[2]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (cap, cap + 1)))
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % (r.ru_utime + r.ru_stime))' "$1" "$2" "$3"
}
ledger_sum() { # column $2 of the ledger $1, summed
    [ -f "$1" ] && awk -v c="$2" '!/^#/ { s += $c } END { print s + 0 }' "$1" || echo 0
}

failed=""
for h in "$@"; do
    dir="$CAMPAIGN_DIR/$h"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    ledger="$dir/ledger.txt"
    [ -f "$ledger" ] || echo "# commit cpu_s executions cov ft corpus end_utc result" > "$ledger"
    done_s=$(ledger_sum "$ledger" 2)
    left=$((FUZZ_CPU_SECONDS - done_s))
    [ "$left" -gt "$FUZZ_SEGMENT" ] && left=$FUZZ_SEGMENT
    if [ "$left" -le 0 ]; then
        echo "== fuzz_$h: campaign done ($done_s CPU s)"
        continue
    fi
    opts=""
    case $h in
        json|record|dolma) opts="-dict=tests/fuzz/json.dict" ;;
        keys) opts="-max_len=8192" ;;
        warc) opts="-dict=tests/fuzz/warc.dict" ;;
    esac
    log="$dir/segment-$(date -u +%Y%m%dT%H%M%S).log"
    echo "== fuzz_$h: $left CPU s more (done $done_s of $FUZZ_CPU_SECONDS; log $log)"
    # -max_total_time is only a backstop (wall time, ten times the share); the CPU budget ends the segment.
    # libFuzzer's -timeout is wall time, and a fuzzer at low priority may get no CPU for many seconds while other
    # work runs: a wall limit of FUZZ_WALL_TIMEOUT keeps it from stopping on inputs that are not slow, and every
    # input slower than FUZZ_TIMEOUT seconds of wall time (-report_slow_units) is replayed below and counted as
    # a hang when it takes FUZZ_TIMEOUT seconds of CPU alone.
    "$FUZZ_BUILD/fuzz_$h" -max_total_time=$((left * 10 + 60)) -timeout="$FUZZ_WALL_TIMEOUT" \
        -report_slow_units="$FUZZ_TIMEOUT" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" $opts "$dir/corpus" "$FUZZ_BUILD/seeds/$h" \
        > "$log" 2>&1 &
    pid=$!
    used=0
    while kill -0 "$pid" 2>/dev/null; do
        c=$(cpu_of "$pid")
        [ -n "$c" ] && used=$c
        if [ "$used" -ge "$left" ]; then
            kill -INT "$pid" 2>/dev/null
            break
        fi
        sleep 5
    done
    wait "$pid"
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    result=ok
    # 72 is libFuzzer's exit code when interrupted, which is how a finished segment ends.
    slow=0
    for unit in $(sed -n "s/.*Test unit written to \(.*\(timeout\|slow-unit\)-[0-9a-f]*\).*/\1/p" "$log"); do
        [ -f "$unit" ] || continue
        cpu=$(cpu_of_replay "$FUZZ_BUILD/fuzz_$h" "$unit" $((FUZZ_TIMEOUT * 5)))
        if [ "$(echo "$cpu $FUZZ_TIMEOUT" | awk '{ print ($1 >= $2) }')" = 1 ]; then
            echo "# hang: $unit takes $cpu CPU s alone" >> "$ledger"
            slow=1
        else
            mkdir -p "$dir/false-timeouts"
            mv "$unit" "$dir/false-timeouts/"
            echo "# not slow: $(basename "$unit") replays in $cpu CPU s (the fuzzer was starved of CPU)" >> "$ledger"
            grep -q 'ERROR: libFuzzer: timeout' "$log" && [ "$rc" -ne 0 ] && rc=72
        fi
    done
    [ "$slow" = 1 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 72 ]; } && rc=1
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 72 ]; then
        result="finding(rc=$rc)"
        failed="$failed $h"
        grep -E 'ERROR|INVARIANT|SUMMARY|Test unit written' "$log" | head -n 8
    fi
    echo "$commit $used ${execs:-0} ${cov:-?} ${ft:-?} ${corp:-?} $(date -u +%H:%M) $result" >> "$ledger"
done

echo
printf '%-8s %8s %12s %8s %7s %7s %7s  %s\n' harness cpu_s executions exec/s cov ft corpus segments
for h in "$@"; do
    ledger="$CAMPAIGN_DIR/$h/ledger.txt"
    [ -f "$ledger" ] || continue
    awk -v h="$h" '!/^#/ { n++; s += $2; e += $3; cov = $4; ft = $5; corp = $6; if ($8 !~ /^ok/) bad++ }
        END { printf "%-8s %8d %12d %8d %7s %7s %7s  %d (%d with findings)\n", h, s, e, s ? e / s : 0, cov, ft,
              corp, n, bad }' "$ledger"
done
if [ -n "$failed" ]; then
    echo "the campaign found problems in:$failed (inputs in $CAMPAIGN_DIR/<harness>/artifacts/)"
    exit 1
fi
