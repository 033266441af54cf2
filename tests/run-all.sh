#!/usr/bin/env bash
# `make test`: unit and integration suites, plain and under ASan+UBSan, then one total line.
set -u
cd "$(dirname "$0")/.."
tally=$(mktemp)
trap 'rm -f "$tally"' EXIT
export SNAG_TEST_TALLY=$tally
rc=0
for san in 0 1; do
  for suite in test-unit test-integration; do
    make --no-print-directory SANITIZE=$san "$suite" || rc=1
  done
done
# A suite that could not build adds no tally line: count it as one failure.
awk -v rc=$rc '{p+=$1; f+=$2; s+=$3} END {if (rc && !f) f=1; printf "all suites: %d passed, %d failed, %d skipped\n", p, f, s}' "$tally"
exit $rc
