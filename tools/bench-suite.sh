#!/usr/bin/env bash
# `make bench`: every benchmark, then their results into the repository and the chart.
#
# Usage: tools/bench-suite.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# Runs, in order (BENCHES, default "funclat sched io cpu mem scale service"):
#   funclat  tools/bench-funclat.sh: function calls (push and lea) vs funclatency and bpftrace
#   sched    tools/bench-sched.sh: context switches vs offcputime + runqlat
#   io       tools/bench-io.sh: block vs biolatency, syscalls vs syscount -L, network vs bpftrace
#   cpu      tools/bench-cpu.sh: on-CPU sampling of a CPU-bound loop vs perf record, same rate
#   mem      tools/bench-mem.sh: a malloc+free loop under --mem (and sampled) vs bpftrace
#   scale    tools/bench-scale.sh: snag's own CPU and RSS at 10, 1,000 and 10,000 map keys
#   service  tools/bench-service.sh: throughput lost by redis-server (redis-benchmark GET) and
#            PostgreSQL (pgbench -S) under snag's modes and the libbpf-tools set, and BPF
#            program runs per request
# each writing BUILD_DIR/bench/NAME.json (and its logs next to it). A benchmark that fails
# does not stop the others. Then tools/bench-results.py copies each fresh NAME.json to
# RESULTS_DIR/NAME.json and rewrites RESULTS_DIR/summary.json from all of them (a benchmark run
# alone replaces its own results only), and tools/bench-chart.py draws RESULTS_DIR/slowdown.svg.
#
# Environment: BENCHES, RESULTS_DIR (default bench/results in the repository); every
# benchmark's own knobs pass through (ROUNDS applies to all of them: leave it unset for their
# defaults, 5 rounds and 3 for scale).
#
# Exit status: the worst of the benchmarks' (1: snag failed or miscounted; 2: a setup error),
# or 1 if the results could not be written.
set -euo pipefail

build=${1:-build}
benches=${BENCHES:-funclat sched io cpu mem scale service}
tools_dir=$(dirname "$(realpath "$0")")
repo=$(dirname "$tools_dir")
results_dir=${RESULTS_DIR:-$repo/bench/results}

die() {
	echo "bench-suite: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "must run as root (BPF, uprobes and kernel.bpf_stats_enabled need it): sudo make bench"
for b in $benches; do
	case "$b" in
	funclat | sched | io | cpu | mem | scale | service) ;;
	*) die "unknown benchmark '$b' in BENCHES (funclat sched io cpu mem scale service)" ;;
	esac
done

status=0
fresh=()
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
start=$SECONDS
echo "bench-suite: $benches; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date '+%Y-%m-%d %H:%M:%S %Z')"
for b in $benches; do
	echo
	echo "=== bench-$b ($(date +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
	rc=0
	"$tools_dir/bench-$b.sh" "$build" || rc=$?
	[ "$rc" -le "$status" ] || status=$rc
	json=$build/bench/$b.json
	# 0: passed, 1: a snag check failed (recorded in the JSON); anything else wrote nothing new.
	if [ "$rc" -le 1 ] && [ "$json" -nt "$marker" ]; then
		fresh+=("$b")
	else
		echo "bench-suite: bench-$b exited with status $rc; its results are not collected" >&2
	fi
done
echo
if [ "${#fresh[@]}" -gt 0 ]; then
	python3 "$tools_dir/bench-results.py" "$build" "$results_dir" "${fresh[@]}" || status=1
	python3 "$tools_dir/bench-chart.py" "$results_dir/summary.json" "$results_dir/slowdown.svg" || status=1
fi
echo "bench-suite: done in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s, exit status $status; load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
