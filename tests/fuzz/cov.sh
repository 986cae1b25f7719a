#!/bin/sh
# `make fuzz-cov`: replays each harness's corpus (what `make fuzz` grew in FUZZ_BUILD/corpus/<h>, the seeds,
# and tests/fuzz/regress/<h>) through the replay drivers built with clang's source coverage in COV_BUILD,
# then prints llvm-cov's line coverage of src/: per file and in total for all harnesses together, and the
# total per harness. pipeline.c, writer.c and stats.c have no harness (they see no outside bytes).
set -eu
COV_BUILD=$1; shift
: "${FUZZ_BUILD:=build-fuzz}"
rm -rf "$COV_BUILD/profiles" && mkdir -p "$COV_BUILD/profiles"
objs=""
for h in "$@"; do
    dirs=""
    for d in "$FUZZ_BUILD/corpus/$h" "$FUZZ_BUILD/seeds/$h" "tests/fuzz/regress/$h"; do
        [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && dirs="$dirs $d"
    done
    LLVM_PROFILE_FILE="$COV_BUILD/profiles/$h.profraw" "$COV_BUILD/replay_$h" $dirs | tail -n 2 | head -n 1
    llvm-profdata merge -sparse "$COV_BUILD/profiles/$h.profraw" -o "$COV_BUILD/profiles/$h.profdata"
    objs="$objs -object $COV_BUILD/replay_$h"
done
llvm-profdata merge -sparse "$COV_BUILD"/profiles/*.profdata -o "$COV_BUILD/profiles/all.profdata"
first=$(printf '%s\n' $objs | sed -n 2p)
echo "== line coverage of src/ by the fuzz corpora (all harnesses)"
# shellcheck disable=SC2086
llvm-cov report "$first" $objs -instr-profile="$COV_BUILD/profiles/all.profdata" src/*.c src/*.cc \
    | awk 'NF == 13 && $1 != "Filename" { printf "%-14s lines %6s  missed %6s  covered %8s\n", $1, $8, $9, $10 }'
echo "== per harness (TOTAL line of src/)"
for h in "$@"; do
    printf '%-8s ' "$h"
    llvm-cov report "$COV_BUILD/replay_$h" -instr-profile="$COV_BUILD/profiles/$h.profdata" src/*.c src/*.cc \
        | awk '$1 == "TOTAL" { printf "lines %6s  missed %6s  covered %8s\n", $8, $9, $10 }'
done
echo "(HTML: llvm-cov show $first -instr-profile=$COV_BUILD/profiles/all.profdata -format=html -output-dir=$COV_BUILD/html src/)"
