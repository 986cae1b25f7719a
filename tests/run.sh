#!/bin/sh
# Runs every test executable given, from the repo root, and prints one closing line:
# "N passed, N failed" counting test cases (cmocka's own per-binary summaries stay above it).
# Tests that need ../shared find it through CP_SHARED (default ../shared) and skip when it is absent.
: "${CP_SHARED:=../shared}"
export CP_SHARED
export CP_BIN="${CP_BIN:-${BUILD:-build}/corpusprep}"
passed=0 failed=0 skipped=0 broken=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); broken="$broken $t"; fi
done
[ -n "$broken" ] && echo "crashed or failed outside a test case:$broken"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
