#!/usr/bin/env bash
# Cost of snag --mem: an allocation-heavy loop (malloc and free of small blocks), untraced, under
# snag at several sample rates, and under a bpftrace script doing what libbpf-tools' memleak does
# (Debian 12's libbpf-tools has no memleak).
#
# Usage: tools/bench-mem.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# Workload: `BUILD_DIR/tests/targets/mem churn N SIZE --time --wait`: N malloc(SIZE)+free pairs
# in churn_once(), timed by the target itself (ns_per_pair of the loop alone). It waits for
# SIGUSR1, so every tracer attaches to its pid (-p) first and the loop runs fully traced.
# Configurations, alternated in every round:
#   untraced
#   snag          snag -p PID --mem (every allocation recorded; session uprobes on this kernel)
#   snag10        --mem-sample 10
#   snag100       --mem-sample 100
#   snag100-ret   --mem-sample 100 with the entry and return programs of kernels before 6.13
#                 (SNAG_FORCE_UPROBE_RETURN=1): every malloc pays its return trap, sampled or not
#   snag-entry    --mem with every probe on the function's first instruction
#                 (SNAG_MEM_PROBE_ENTRY=1), as other tools place them: free's first instruction
#                 (test) is single-stepped, not emulated
#   bpftrace      bpftrace -p PID: malloc entry+return and free, recording each block's size and
#                 stack and counting allocations and frees per stack (memleak's work)
#
# Reported per configuration: median ns per malloc+free pair with min-max, slowdown against
# untraced, snag's BPF run time per pair (from its report's overhead section), and the tracer's
# own CPU time. snag's report is checked against the workload (churn_once's allocations: exactly
# N unsampled, N within 5%/10% sampled 1 in 10/100; all freed; nothing dropped).
#
# Output: a table on stdout, results in BUILD_DIR/bench/mem.json, logs and reports in
# BUILD_DIR/bench/logs-mem/. Exit status 1 if snag failed or miscounted, 2 on a setup error.
#
# Environment: ROUNDS (default 5), N (default 300000), SIZE (default 64), CONFIGS (default all
# of the above), READY_TIMEOUT seconds (default 30).
set -euo pipefail
export LC_ALL=C

build=${1:-build}
rounds=${ROUNDS:-5}
n=${N:-300000}
size=${SIZE:-64}
configs=${CONFIGS:-untraced snag snag10 snag100 snag100-ret snag-entry bpftrace}
ready_timeout=${READY_TIMEOUT:-30}

die() {
	echo "bench-mem: $*" >&2
	exit 2
}

[ "$(id -u)" -eq 0 ] || die "must run as root (uprobes need it): sudo tools/bench-mem.sh"
for v in "$rounds" "$n" "$size" "$ready_timeout"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, N, SIZE and READY_TIMEOUT must be positive integers"
done
for c in $configs; do
	case "$c" in
	untraced | snag | snag10 | snag100 | snag100-ret | snag-entry | bpftrace) ;;
	*) die "unknown configuration '$c' in CONFIGS" ;;
	esac
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
command -v python3 >/dev/null || die "python3 not found; run 'make deps'"
has "$configs" bpftrace && { command -v bpftrace >/dev/null || die "bpftrace not found (package bpftrace); run 'make deps'"; }
tools_dir=$(dirname "$(realpath "$0")")
[ -r "$tools_dir/benchlib.py" ] || die "$tools_dir/benchlib.py missing"
mem_bin=$build/tests/targets/mem
[ -x "$mem_bin" ] || die "$mem_bin missing; run 'make BUILD=$build $mem_bin'"
[ -x "$build/snag" ] || die "$build/snag missing; run 'make BUILD=$build'"
mem_bin=$(realpath "$mem_bin")
snag_bin=$(realpath "$build/snag")
{ "$mem_bin" 2>&1 || true; } | grep -q -- --wait || die "$mem_bin has no churn --wait: rebuild it (make BUILD=$build $mem_bin)"
libc=$(ldd "$mem_bin" | awk '/libc\.so/ {print $3; exit}')
[ -r "$libc" ] || die "cannot find the libc of $mem_bin (ldd says '$libc')"

out_dir=$build/bench
log_dir=$out_dir/logs-mem
raw=$out_dir/mem-runs.jsonl
result_json=$out_dir/mem.json
mkdir -p "$log_dir"
rm -f "$log_dir"/* "$raw"

# memleak's work in bpftrace: each block's size and stack, allocations and frees per stack.
bt_script=$log_dir/memleak.bt
cat >"$bt_script" <<EOF
uprobe:$libc:malloc { @size[tid] = arg0; }
uretprobe:$libc:malloc /@size[tid]/ {
	@live[retval] = @size[tid];
	@live_stack[retval] = ustack;
	@allocs[ustack] = count();
	delete(@size[tid]);
}
uprobe:$libc:free /@live[arg0]/ {
	@frees[@live_stack[arg0]] = count();
	delete(@live[arg0]);
	delete(@live_stack[arg0]);
}
EOF

# Tracers that were already running would slow every configuration alike.
others=$(python3 "$tools_dir/benchlib.py" loaded | python3 -c '
import json, sys
print(", ".join(sorted({p["name"] for p in json.load(sys.stdin) if p["tracing"]})))')
[ -n "$others" ] && echo "bench-mem: note: other tracing BPF programs are loaded ($others); they cost every configuration the same" >&2

# Wait until file contains pattern; 1 on timeout.
wait_for() {
	local file=$1 pattern=$2 deadline=$((SECONDS + ready_timeout))
	until grep -q "$pattern" "$file" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

run_one() {
	local round=$1 config=$2 tag=$1-$2
	local wout=$log_dir/$tag.workload tout=$log_dir/$tag.tool report=$log_dir/$tag.json
	local rus=$log_dir/$tag.rusage pidf=$log_dir/$tag.pid wpid tpid=""
	local sample=1 env=() error=""

	: >"$wout"
	"$mem_bin" churn "$n" "$size" --time --wait >"$wout" 2>&1 &
	wpid=$!
	wait_for "$wout" "ready pid=" || {
		kill -9 $wpid 2>/dev/null
		die "the workload did not start: $(cat "$wout")"
	}
	case "$config" in
	snag10) sample=10 ;;
	snag100 | snag100-ret) sample=100 ;;
	esac
	case "$config" in
	snag100-ret) env=(SNAG_FORCE_UPROBE_RETURN=1) ;;
	snag-entry) env=(SNAG_MEM_PROBE_ENTRY=1) ;;
	esac
	case "$config" in
	snag*)
		: >"$tout"
		env "${env[@]}" python3 "$tools_dir/benchlib.py" spawn "$rus" "$pidf" \
			"$snag_bin" -p "$wpid" --mem --mem-sample "$sample" -o "$report" --format json \
			>"$tout" 2>&1 &
		tpid=$!
		wait_for "$tout" "snag: tracing" || error="snag did not start: $(tail -2 "$tout")"
		;;
	bpftrace)
		: >"$tout"
		python3 "$tools_dir/benchlib.py" spawn "$rus" "$pidf" bpftrace -p "$wpid" "$bt_script" \
			>"$tout" 2>&1 &
		tpid=$!
		# bpftrace says so before it attaches; three uprobes attach within milliseconds.
		if wait_for "$tout" "Attaching"; then sleep 1; else error="bpftrace did not start: $(tail -2 "$tout")"; fi
		;;
	esac
	kill -USR1 $wpid
	wait $wpid || error="${error:-the workload failed: $(tail -2 "$wout")}"
	if [ -n "$tpid" ]; then
		# snag stops when its target exits; bpftrace is told to.
		[ "$config" = bpftrace ] && [ -s "$pidf" ] && kill -INT "$(cat "$pidf")" 2>/dev/null
		wait $tpid || error="${error:-$config exited with status $?: $(tail -2 "$tout")}"
	fi
	python3 - "$raw" round="$round" config="$config" sample="$sample" n="$n" wout="$wout" \
		report="$report" rusage="$rus" error="$error" <<'PYEOF'
import json, re, sys
raw, kv = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
rec = {"round": int(kv["round"]), "config": kv["config"], "sample": int(kv["sample"]),
       "n": int(kv["n"]), "error": kv["error"] or None, "problems": []}
m = re.search(r"ns_per_pair=([\d.]+)", open(kv["wout"]).read())
rec["ns_per_pair"] = float(m.group(1)) if m else None
try:
    rec["tool_cpu_ns"] = json.load(open(kv["rusage"]))["cpu_ns"]
except (OSError, ValueError, KeyError):
    rec["tool_cpu_ns"] = None
if kv["config"].startswith("snag") and not rec["error"]:
    try:
        rep = json.load(open(kv["report"]))
    except (OSError, ValueError) as e:
        rep = None
        rec["problems"].append(f"no report: {e}")
    if rep:
        oh = rep["overhead"]
        progs = [p for p in oh["programs"] if p["name"].startswith(("handle_alloc", "handle_free"))]
        rec["programs"] = {p["name"]: {"runs": p["runs"], "run_time_ns": p["run_time_ns"]} for p in progs}
        rec["bpf_ns_per_pair"] = sum(p["run_time_ns"] for p in progs) / rec["n"]
        rec["mem_calls"] = oh.get("mem_calls")
        dropped = {k: v for k, v in oh["dropped"].items() if v}
        if dropped:
            rec["problems"].append(f"dropped {dropped}")
        rows = [a for a in rep["allocations"] if a["stack"][:1] == ["churn_once"]]
        got = sum(a["total_allocs"] for a in rows)
        freed = sum(a["freed_allocs"] for a in rows)
        tol = {1: 0, 10: 0.05, 100: 0.10}.get(rec["sample"], 0.2)
        rec["check"] = {"churn_once_allocs": got, "freed": freed, "expected": rec["n"]}
        if abs(got - rec["n"]) > tol * rec["n"] or freed != got:
            rec["problems"].append(f"churn_once: {got} allocations, {freed} freed; expected "
                                   f"{rec['n']} (within {tol:.0%}), all freed")
with open(raw, "a") as f:
    f.write(json.dumps(rec) + "\n")
for p in rec["problems"] + ([rec["error"]] if rec["error"] else []):
    print(f"bench-mem: WRONG: round {rec['round']} {rec['config']}: {p}", file=sys.stderr)
PYEOF
}

echo "bench-mem: $rounds rounds of: $configs (N=$n pairs of $size B)"
for round in $(seq 1 "$rounds"); do
	for c in $configs; do
		run_one "$round" "$c"
	done
done

python3 - "$raw" "$result_json" "$tools_dir" "$n" "$size" "$(uname -r)" <<'PYEOF'
import json, sys
raw, out, tools_dir, n, size, kernel = sys.argv[1:7]
sys.path.insert(0, tools_dir)
from benchlib import med, num, table, write_json
recs = [json.loads(l) for l in open(raw)]
order = ["untraced", "snag", "snag10", "snag100", "snag100-ret", "snag-entry", "bpftrace"]
base = med([r["ns_per_pair"] for r in recs if r["config"] == "untraced"])
res, rows, failed = {}, [], False
for c in order:
    rs = [r for r in recs if r["config"] == c]
    if not rs:
        continue
    ns = [r["ns_per_pair"] for r in rs if r["ns_per_pair"] is not None]
    d = {"runs": rs, "median_ns_per_pair": med(ns), "min": min(ns) if ns else None,
         "max": max(ns) if ns else None, "sample": rs[0]["sample"]}
    if base and ns and c != "untraced":
        d["slowdown"] = d["median_ns_per_pair"] / base
        d["added_ns_per_pair"] = d["median_ns_per_pair"] - base
    d["bpf_ns_per_pair"] = med([r.get("bpf_ns_per_pair") for r in rs])
    cpu = [r["tool_cpu_ns"] for r in rs if r.get("tool_cpu_ns") is not None]
    d["tool_cpu_ms"] = med(cpu) / 1e6 if cpu else None
    d["problems"] = [p for r in rs for p in r["problems"]] + [r["error"] for r in rs if r["error"]]
    if c.startswith("snag") and d["problems"]:
        failed = True
    res[c] = d
    rows.append([c, num(d["median_ns_per_pair"], ",.1f"),
                 f"{num(d['min'], ',.1f')}-{num(d['max'], ',.1f')}",
                 num(d.get("slowdown"), ",.0f", "x"), num(d.get("added_ns_per_pair"), ",.0f"),
                 num(d["bpf_ns_per_pair"], ",.0f"), num(d["tool_cpu_ms"], ",.0f"),
                 "ok" if not d["problems"] else "WRONG" if c.startswith("snag") else "failed"])
print()
table(["config", "ns/pair", "min-max", "slowdown", "+ns/pair", "BPF ns/pair", "tool CPU ms",
       "checks"], rows, {1, 2, 3, 4, 5, 6})
print("\nns/pair: one malloc(%s)+free of the workload's loop (median of the rounds); BPF ns/pair:\n"
      "snag's BPF run time on the allocator probes per pair (the uprobe traps are the rest of\n"
      "+ns/pair); tool CPU: the tracer process's own CPU time." % size)
write_json(out, {"workload": f"tests/targets/mem churn {n} {size} --time --wait", "n": int(n),
                 "size": int(size), "kernel": kernel, "configs": res})
print(f"results: {out}")
sys.exit(1 if failed else 0)
PYEOF
