#!/usr/bin/env bash
# Runs the integration suite N times (default 3) with half of one core busy in the background
# (stress-ng --cpu 1 --cpu-load 50), as a shared CI machine may be, plain and under ASan+UBSan,
# then prints each test that failed at least once and how often. Exit 0 when none failed.
# Usage: tests/stress-check.sh [N] [plain|asan|both]   (default: 3 both)
set -u
cd "$(dirname "$0")/.."
runs=${1:-3}
modes=${2:-both}
case "$runs" in '' | *[!0-9]*) echo "stress-check: N must be a whole number, got '$runs'" >&2; exit 2 ;; esac
case "$modes" in
plain) sans="0" ;; asan) sans="1" ;; both) sans="0 1" ;;
*) echo "stress-check: mode must be plain, asan or both, got '$modes'" >&2; exit 2 ;;
esac
if ! command -v stress-ng >/dev/null; then
  echo "stress-check: stress-ng is missing; run 'make deps'" >&2
  exit 2
fi

logs=$(mktemp -d /tmp/snag-stress-XXXXXX)
stress_pid=
cleanup() {
  [ -n "$stress_pid" ] && kill "$stress_pid" 2>/dev/null && wait "$stress_pid" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Build first, without the load, so that only the tests run under it.
for san in $sans; do
  make --no-print-directory SANITIZE=$san -j2 integration-bins >"$logs/build-$san.log" 2>&1 || {
    echo "stress-check: the build failed; see $logs/build-$san.log" >&2
    exit 1
  }
done

stress-ng --cpu 1 --cpu-load 50 --timeout 0 >/dev/null 2>&1 &
stress_pid=$!
sleep 1
echo "stress-check: $runs run(s) of the integration suite ($modes) beside stress-ng --cpu 1 --cpu-load 50; logs in $logs"
suite_fail=0
for i in $(seq 1 "$runs"); do
  for san in $sans; do
    name=$([ "$san" = 1 ] && echo asan || echo plain)
    log="$logs/run$i-$name.log"
    start=$(date +%s)
    make --no-print-directory SANITIZE=$san test-integration >"$log" 2>&1 || suite_fail=1
    echo "  run $i $name: $(grep -E '^integration \(' "$log" | tail -1) ($(($(date +%s) - start)) s)"
  done
done

# cmocka lists each failed test as "[  FAILED  ] name"; a crashed binary shows in run-tests' line.
# Each failure is listed twice in a log (as it happens and in the summary): once per run.
failed=$(for f in "$logs"/run*.log; do
  sed -n 's/^\[  FAILED  \] \([a-z_0-9]*\)$/\1/p' "$f" | sort -u
done | sort | uniq -c | sort -rn)
crashed=$(cat "$logs"/run*.log | grep -c '^run-tests: .* exited with status' || true)
if [ -z "$failed" ] && [ "$crashed" -eq 0 ] && [ $suite_fail -eq 0 ]; then
  echo "stress-check: no test failed in $runs run(s) ($modes)"
  exit 0
fi
echo "stress-check: tests that failed at least once (times failed, name):"
[ -n "$failed" ] && echo "$failed"
[ "$crashed" -gt 0 ] && echo "  $crashed test binaries exited without a cmocka summary (see the logs)"
exit 1
