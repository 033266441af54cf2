#!/usr/bin/env bash
# Runs cmocka test binaries and prints one closing line: "SUITE: N passed, N failed, N skipped".
# Usage: tests/run-tests.sh SUITE BUILD_DIR BIN...
set -u
suite=$1 build=$2
shift 2
export SNAG_BUILD=$build
passed=0 failed=0 skipped=0 broken=0
for bin in "$@"; do
  out=$("$bin" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  # A binary that crashed or failed without a cmocka summary is a failure too.
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "run-tests: $bin exited with status $rc" >&2
    broken=$((broken + 1))
  fi
done
failed=$((failed + broken))
echo "$suite ($build): $passed passed, $failed failed, $skipped skipped"
[ -n "${SNAG_TEST_TALLY:-}" ] && echo "$passed $failed $skipped" >>"$SNAG_TEST_TALLY"
[ $failed -eq 0 ]
