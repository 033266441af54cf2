#!/usr/bin/env bash
# `make bench`: per-call overhead of function-latency tracing on a tight call loop,
# snag side by side with libbpf-tools `funclatency` and `bpftrace`.
#
# Usage: tools/bench-funclat.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# Target: BUILD_DIR/tests/targets/callloop N push|lea, which calls bench_push (first
# instruction `push %rbp`, emulated by the kernel's uprobe code) or bench_lea (first
# instruction `lea`, single-stepped out of line, much slower) N times and prints
# "calls=N ns_per_call=X".
#
# For each variant, runs alternate untraced / snag / funclatency / bpftrace, ROUNDS times;
# every tracer traces the binary system-wide and is started (and attached) before the target.
# Reported per tool and variant: median ns/call of the target with min-max, overhead over
# untraced, slowdown, and BPF run time per call (kernel.bpf_stats_enabled=1, run_time_ns of
# the tool's entry+return programs / N), and the tracer's own CPU time (in ns per call and in
# % of one core while the target runs) and peak RSS. Counts are checked: each tool must see N
# calls.
#
# Output: a table on stdout, results in BUILD_DIR/bench/funclat.json, tool logs in
# BUILD_DIR/bench/logs/. Exit status 1 if snag failed to run or miscounted.
#
# Environment: ROUNDS (default 5), N_PUSH (default 3000000), N_LEA (default 500000),
# TOOLS (default "untraced snag funclatency bpftrace"), READY_TIMEOUT seconds (default 30).
set -euo pipefail

build=${1:-build}
rounds=${ROUNDS:-5}
n_push=${N_PUSH:-3000000}
n_lea=${N_LEA:-500000}
tools=${TOOLS:-untraced snag funclatency bpftrace}
ready_timeout=${READY_TIMEOUT:-30}
stop_timeout=30

die() {
	echo "bench-funclat: $*" >&2
	exit 2
}
warn() { echo "bench-funclat: warning: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (uprobes and kernel.bpf_stats_enabled need it): sudo make bench"
for v in "$rounds" "$n_push" "$n_lea" "$ready_timeout"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, N_PUSH, N_LEA and READY_TIMEOUT must be positive integers"
done
for t in $tools; do
	case "$t" in
	untraced | snag | funclatency | bpftrace) ;;
	*) die "unknown tool '$t' in TOOLS (untraced snag funclatency bpftrace)" ;;
	esac
done
need() { command -v "$1" >/dev/null || die "$1 not found ($2); run 'make deps'"; }
need python3 "python3"
need bpftool "package bpftool"
need objdump "package binutils"
need stdbuf "package coreutils"
case " $tools " in *" funclatency "*) need funclatency "package libbpf-tools" ;; esac
case " $tools " in *" bpftrace "*) need bpftrace "package bpftrace" ;; esac
[ -x "$build/tests/targets/callloop" ] || die "$build/tests/targets/callloop missing; run 'make bench' (or make $build/tests/targets/callloop)"
case " $tools " in *" snag "*) [ -x "$build/snag" ] || die "$build/snag missing; run 'make'" ;; esac
tools_dir=$(dirname "$(realpath "$0")")
[ -r "$tools_dir/benchlib.py" ] || die "$tools_dir/benchlib.py missing"

target=$(realpath "$build/tests/targets/callloop")
snag_bin=$(realpath -m "$build/snag")
out_dir=$build/bench
log_dir=$out_dir/logs
raw=$out_dir/funclat-runs.jsonl
result_json=$out_dir/funclat.json
mkdir -p "$log_dir"
rm -f "$log_dir"/* "$raw"

# Python helpers: program stats of a process, counts from tool outputs, the summary.
IFS= read -r -d '' PY <<'PYEOF' || true
import json, os, re, statistics, subprocess, sys
sys.path.insert(0, os.environ["BENCHLIB_DIR"])
import benchlib

def stats(pid):
    """BPF programs held by PID (fds and links) with cumulative bpf_stats, its CPU time (exact,
    schedstat), its peak RSS, and when (monotonic)."""
    s = benchlib.snapshot([f"tool={pid}"])
    t = s["tools"]["tool"]
    return {"progs": s["progs"], "cpu_ns": t["cpu_ns"], "vm_hwm_kb": t["vm_hwm_kb"],
            "monotonic_ns": s["monotonic_ns"]}

def probe_delta(before, after):
    """Per-call programs (uprobe/uretprobe are BPF type kprobe): run_cnt and run_time_ns deltas."""
    b = {p["id"]: p for p in before["progs"]}
    progs = []
    for p in after["progs"]:
        q = b.get(p["id"], {"run_cnt": 0, "run_time_ns": 0})
        progs.append({"id": p["id"], "name": p["name"], "type": p["type"],
                      "run_cnt": p["run_cnt"] - q["run_cnt"],
                      "run_time_ns": p["run_time_ns"] - q["run_time_ns"]})
    return progs

def tool_count(tool, path, variant):
    """Calls of bench_VARIANT seen by the tool, from its own output; None if unreadable."""
    try:
        text = open(path).read()
    except OSError:
        return None, {}
    fn = "bench_" + variant
    if tool == "snag":
        try:
            rep = json.loads(text)
        except ValueError:
            return None, {}
        extra = {}
        oh = rep.get("overhead") or {}
        if isinstance(oh.get("programs"), list):
            extra["snag_self_reported_programs"] = oh["programs"]
        counts = [f.get("count") for f in rep.get("functions", []) if f.get("name") == fn]
        return (sum(counts) if counts else 0), extra
    if tool == "funclatency":
        rows = re.findall(r"^\s*\d+\s*->\s*\d+\s*:\s*(\d+)", text, re.M)
    else:  # bpftrace hist(): "[256, 512)   844902 |@@@|", "[0]  3 |@|", "[1K, 2K) ..."
        rows = re.findall(r"^\[[^\]\)]*[\]\)]\s+(\d+)\s*\|", text, re.M)
    return (sum(int(r) for r in rows) if rows else None), {}

def cmd_stats(pid):
    print(json.dumps(stats(pid)))

def cmd_record(raw, kv):
    a = dict(x.split("=", 1) for x in kv)
    n = int(a["n"])
    rec = {"round": int(a["round"]), "variant": a["variant"], "tool": a["tool"], "n": n,
           "ns_per_call": float(a["ns_per_call"]) if a.get("ns_per_call") else None,
           "error": a.get("error") or None}
    if a["tool"] != "untraced" and a.get("before") and a.get("after"):
        before = json.load(open(a["before"]))
        after = json.load(open(a["after"]))
        progs = probe_delta(before, after)
        probes = [p for p in progs if p["type"] == "kprobe"]
        rec["programs"] = progs
        rec["probe_run_cnt"] = sum(p["run_cnt"] for p in probes)
        rec["probe_run_time_ns"] = sum(p["run_time_ns"] for p in probes)
        rec["bpf_ns_per_call"] = rec["probe_run_time_ns"] / n
        rec["tool_cpu_ns"] = after["cpu_ns"] - before["cpu_ns"]
        # The tracer's CPU in % of one core over the window between the two reads (the target
        # runs in it), and its peak RSS so far.
        rec["window_ns"] = after["monotonic_ns"] - before["monotonic_ns"]
        rec["tool_cpu_pct"] = 100 * rec["tool_cpu_ns"] / rec["window_ns"] if rec["window_ns"] > 0 else None
        rec["tool_vm_hwm_kb"] = after.get("vm_hwm_kb")
        warm = int(a.get("warmup_calls", "0"))
        rec["warmup_calls"] = warm
        count, extra = tool_count(a["tool"], a["report"], a["variant"])
        rec.update(extra)
        rec["count"] = count
        rec["expected_count"] = n + warm
        problems = []
        if count != n + warm:
            problems.append(f"{a['tool']} reported {count} calls of bench_{a['variant']}, expected {n + warm}")
        if rec["probe_run_cnt"] != 2 * n:
            problems.append(f"{a['tool']}'s entry+return programs ran {rec['probe_run_cnt']} times "
                            f"during the run, expected 2*N = {2 * n}")
        if "snag_self_reported_programs" in extra:
            # snag's own figure (overhead.programs) should agree with bpftool's.
            rec["snag_self_reported_bpf_ns_per_call"] = sum(
                p.get("run_time_ns", 0) for p in extra["snag_self_reported_programs"]
                if p.get("name") in ("handle_uprobe", "handle_uretprobe")) / n
        rec["problems"] = problems
    with open(raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    for p in rec.get("problems", []):
        print(f"bench-funclat: warning: round {rec['round']}: {p}", file=sys.stderr)

def cmd_summary(raw, out, meta_json):
    meta = json.loads(meta_json)
    recs = [json.loads(l) for l in open(raw)]
    variants = [v for v in ("push", "lea") if any(r["variant"] == v for r in recs)]
    tools = []
    for r in recs:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    results = []
    failed = False
    for v in variants:
        base = [r["ns_per_call"] for r in recs
                if r["variant"] == v and r["tool"] == "untraced" and r["ns_per_call"] is not None]
        base_med = statistics.median(base) if base else None
        for t in tools:
            rs = [r for r in recs if r["variant"] == v and r["tool"] == t]
            if not rs:
                continue
            # Timing and BPF cost count when the target ran under an attached tracer, even if
            # the tracer failed afterwards (that is reported as an error in the counts column).
            ok = [r for r in rs if r["ns_per_call"] is not None]
            ns = [r["ns_per_call"] for r in ok]
            res = {"variant": v, "tool": t, "n": rs[0]["n"], "runs": len(rs), "ok_runs": len(ok),
                   "ns_per_call": ns}
            if ns:
                med = statistics.median(ns)
                res.update(median_ns_per_call=med, min_ns_per_call=min(ns), max_ns_per_call=max(ns))
                if base_med is not None and t != "untraced":
                    res["overhead_ns_per_call"] = med - base_med
                    res["slowdown"] = med / base_med if base_med > 0 else None
            if t != "untraced":
                bpf = [r["bpf_ns_per_call"] for r in ok if "bpf_ns_per_call" in r]
                if bpf:
                    res["bpf_ns_per_call"] = statistics.median(bpf)
                    res["bpf_ns_per_call_min"] = min(bpf)
                    res["bpf_ns_per_call_max"] = max(bpf)
                # Per program (entry, return: in load order), median ns per run.
                per = {}
                for r in ok:
                    progs = sorted((p for p in r.get("programs", []) if p["type"] == "kprobe"),
                                   key=lambda p: p["id"])
                    for i, p in enumerate(progs):
                        if p["run_cnt"]:
                            per.setdefault(i, (p["name"], []))[1].append(p["run_time_ns"] / p["run_cnt"])
                res["bpf_programs"] = [{"name": nm, "ns_per_run": statistics.median(v)}
                                       for _, (nm, v) in sorted(per.items())]
                cpu = [r["tool_cpu_ns"] / r["n"] for r in ok if "tool_cpu_ns" in r]
                if cpu:
                    res["tool_cpu_ns_per_call"] = statistics.median(cpu)
                pct = [r["tool_cpu_pct"] for r in ok if r.get("tool_cpu_pct") is not None]
                res["tool_cpu_pct"] = statistics.median(pct) if pct else None
                rss = [r["tool_vm_hwm_kb"] for r in ok if r.get("tool_vm_hwm_kb")]
                res["tool_peak_rss_kb"] = statistics.median(rss) if rss else None
                res["counts"] = [r.get("count") for r in rs]
                res["problems"] = [p for r in rs for p in r.get("problems", [])]
                res["errors"] = [r["error"] for r in rs if r.get("error")]
                res["counts_ok"] = not res["problems"] and not res["errors"]
                if t == "snag" and not res["counts_ok"]:
                    failed = True
            results.append(res)
    doc = dict(meta)
    doc["results"] = results
    doc["runs"] = recs
    benchlib.write_json(out, doc)

    num = benchlib.num
    print()
    print(f"Per-call tracing overhead, {meta['rounds']} rounds, medians "
          f"(kernel {meta['kernel']}, {meta['cpus']} CPUs, {meta['date']})")
    hdr = ("variant", "tool", "N", "ns/call", "min-max", "overhead", "slowdown",
           "BPF ns/call", "tool CPU ns/call", "CPU %", "RSS MiB", "counts")
    rows = []
    for r in results:
        if r.get("median_ns_per_call") is None:
            mm = "-"
        else:
            prec = ".1f" if r["max_ns_per_call"] < 100 else ".0f"
            mm = f"{r['min_ns_per_call']:{prec}}-{r['max_ns_per_call']:{prec}}"
        prec = ".1f" if (r.get("median_ns_per_call") or 0) < 100 else ".0f"
        if r["tool"] == "untraced":
            counts = "-"
        elif r["counts_ok"]:
            counts = f"ok ({r['ok_runs']}/{r['runs']} runs)"
        else:
            counts = f"WRONG/FAILED ({r['ok_runs']}/{r['runs']} runs)"
        rows.append((r["variant"], r["tool"], str(r["n"]), num(r.get("median_ns_per_call"), prec), mm,
                     num(r.get("overhead_ns_per_call"), ".0f"),
                     num(r.get("slowdown"), ".0f") + ("x" if r.get("slowdown") else ""),
                     num(r.get("bpf_ns_per_call"), ".0f"), num(r.get("tool_cpu_ns_per_call"), ".0f"),
                     num(r.get("tool_cpu_pct"), ".2f"),
                     num(r["tool_peak_rss_kb"] / 1024 if r.get("tool_peak_rss_kb") else None, ".1f"),
                     counts))
    benchlib.table(hdr, rows, set(range(2, 11)))
    print()
    print("ns/call: the target's loop time per call (median, min-max over rounds); overhead and")
    print("slowdown: against the untraced median; BPF ns/call: run_time_ns of the tool's uprobe +")
    print("uretprobe programs / N (bpf_stats); tool CPU: the tracer's own CPU time (schedstat) while")
    print("the target runs, / N and in % of one core; RSS: the tracer's peak RSS (VmHWM) by then.")
    for r in results:
        for p in r.get("problems", []) + r.get("errors", []):
            print(f"WARNING: {r['variant']}/{r['tool']}: {p}")
    print(f"results: {out}")
    sys.exit(1 if failed else 0)

cmd = sys.argv[1]
if cmd == "stats":
    cmd_stats(sys.argv[2])
elif cmd == "record":
    cmd_record(sys.argv[2], sys.argv[3:])
elif cmd == "summary":
    cmd_summary(sys.argv[2], sys.argv[3], sys.argv[4])
PYEOF
py() { BENCHLIB_DIR=$tools_dir python3 -c "$PY" "$@"; }

# State for cleanup: the tracer running now, and whether we changed bpf_stats_enabled.
tracer_pid=
stats_file=/proc/sys/kernel/bpf_stats_enabled
stats_prev=

stop_tracer() { # sends SIGINT, waits up to $stop_timeout s, then SIGKILL; returns the exit status
	local pid=$1 i rc=0
	kill -INT "$pid" 2>/dev/null || true
	for ((i = 0; i < stop_timeout * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "tracer $pid did not exit ${stop_timeout}s after SIGINT; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$tracer_pid" ]; then
		stop_tracer "$tracer_pid" || true
		tracer_pid=
	fi
	if [ -n "$stats_prev" ]; then
		echo "$stats_prev" >"$stats_file" 2>/dev/null || warn "could not restore $stats_file to $stats_prev"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench-funclat: interrupted" >&2; exit 130' INT TERM

# The probed functions must start with the instructions this benchmark is about.
first_insn() {
	objdump -d --no-show-raw-insn --disassemble="$1" "$target" |
		awk -v s="<$1>:" '$0 ~ s { getline; sub(/^[ \t]*[0-9a-f]+:[ \t]*/, ""); gsub(/[ \t]+/, " "); print; exit }'
}
insn_push=$(first_insn bench_push)
insn_lea=$(first_insn bench_lea)
if [ "$(uname -m)" = x86_64 ]; then
	[[ "$insn_push" == "push %rbp" ]] || die "bench_push starts with '$insn_push', expected 'push %rbp'"
	[[ "$insn_lea" == lea* ]] || die "bench_lea starts with '$insn_lea', expected lea"
fi

[ -w "$stats_file" ] || die "cannot write $stats_file"
stats_prev=$(cat "$stats_file")
echo 1 >"$stats_file"

# wait_ready PID FILE REGEX: until FILE matches, the tracer dies, or READY_TIMEOUT passes.
wait_ready() {
	local pid=$1 file=$2 re=$3 i
	for ((i = 0; i < ready_timeout * 20; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# probe_runs PID: run counts of the tracer's uprobe/uretprobe programs (BPF type kprobe),
# space-separated in program id order.
probe_runs() {
	py stats "$1" | python3 -c 'import json,sys; print(" ".join(str(p["run_cnt"]) for p in sorted(json.load(sys.stdin)["progs"], key=lambda p: p["id"]) if p["type"] == "kprobe"))'
}

# all_grew "A B" "C D": every count in the second list is larger than in the first (at least 2).
all_grew() {
	local -a a b
	local i
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	[ "${#a[@]}" -ge 2 ] && [ "${#a[@]}" -eq "${#b[@]}" ] || return 1
	for ((i = 0; i < ${#a[@]}; i++)); do
		[ "${b[i]}" -gt "${a[i]}" ] || return 1
	done
}

# run_one ROUND VARIANT TOOL N: one measurement, appended to $raw.
run_one() {
	local round=$1 variant=$2 tool=$3 n=$4
	local base="$log_dir/r$round-$variant-$tool" fn="bench_$variant"
	local out err report ns="" error="" warm=0 rc=0 before="" after="" i runs=""
	out=$base.out
	err=$base.err
	report=$out
	if [ "$tool" != untraced ]; then
		case "$tool" in
		snag)
			report=$base.json
			"$snag_bin" -u "$target:$fn" -o "$report" --format json >"$out" 2>"$err" &
			tracer_pid=$!
			wait_ready "$tracer_pid" "$err" 'snag: tracing' || error="snag did not attach"
			;;
		funclatency)
			# stdbuf: funclatency prints with stdio, which is block-buffered into a file.
			stdbuf -oL funclatency "$target:$fn" >"$out" 2>"$err" &
			tracer_pid=$!
			wait_ready "$tracer_pid" "$out" '^Tracing' || error="funclatency did not attach"
			;;
		bpftrace)
			bpftrace -e "uprobe:$target:$fn { @s[tid] = nsecs; }
				uretprobe:$target:$fn /@s[tid]/ { @lat = hist(nsecs - @s[tid]); delete(@s[tid]); }" \
				>"$out" 2>"$err" &
			tracer_pid=$!
			wait_ready "$tracer_pid" "$out" '^Attaching' || error="bpftrace did not attach"
			# "Attaching N probes..." is printed before attaching: call the function until one
			# call fires both probes. That call lands in the histogram and is added to the count
			# bpftrace must report; calls that fired one probe only do not.
			if [ -z "$error" ]; then
				error="bpftrace's probes did not fire"
				for ((i = 0; i < ready_timeout * 10; i++)); do
					runs=$(probe_runs "$tracer_pid") || break
					"$target" 1 "$variant" >/dev/null
					if all_grew "$runs" "$(probe_runs "$tracer_pid")"; then
						warm=1
						error=
						break
					fi
					sleep 0.1
				done
			fi
			;;
		esac
		if [ -z "$error" ]; then
			before=$base.before.json
			py stats "$tracer_pid" >"$before" || error="cannot read $tool's BPF program stats"
		fi
	fi
	if [ -z "$error" ]; then
		if "$target" "$n" "$variant" >"$base.target" 2>&1; then
			ns=$(sed -n 's/^calls=[0-9]* ns_per_call=\([0-9.]*\)$/\1/p' "$base.target")
			[ -n "$ns" ] || error="callloop printed: $(head -c 200 "$base.target")"
		else
			error="callloop failed: $(head -c 200 "$base.target")"
		fi
	fi
	if [ -n "$tracer_pid" ]; then
		if [ -z "$error" ]; then
			after=$base.after.json
			py stats "$tracer_pid" >"$after" || error="cannot read $tool's BPF program stats"
		fi
		stop_tracer "$tracer_pid" || rc=$?
		tracer_pid=
		if [ "$rc" -ne 0 ] && [ -z "$error" ]; then
			error="$tool exited with status $rc: $(tail -c 300 "$err" | tr '\n' ' ')"
		fi
	fi
	if [ -n "$error" ]; then
		warn "round $round $variant $tool: $error (logs: $base.*)"
	fi
	py record "$raw" round="$round" variant="$variant" tool="$tool" n="$n" ns_per_call="$ns" \
		error="$error" before="$before" after="$after" report="$report" warmup_calls="$warm"
	printf '  round %d/%d  %-4s  %-11s  %s\n' "$round" "$rounds" "$variant" "$tool" \
		"${error:+FAILED: }${error:-$ns ns/call}"
}

loadavg_start=$(cat /proc/loadavg)
echo "bench-funclat: $rounds rounds; push N=$n_push (bench_push starts: $insn_push), lea N=$n_lea (bench_lea starts: $insn_lea)"
echo "bench-funclat: tools: $tools; target $target"
for ((round = 1; round <= rounds; round++)); do
	for variant in push lea; do
		if [ "$variant" = push ]; then n=$n_push; else n=$n_lea; fi
		for tool in $tools; do
			run_one "$round" "$variant" "$tool" "$n"
		done
	done
done

meta=$(python3 -c '
import json, os, sys, time
print(json.dumps({
    "schema": "snag-bench-funclat/1",
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "kernel": os.uname().release, "machine": os.uname().machine, "cpus": os.cpu_count(),
    "rounds": int(sys.argv[1]), "n": {"push": int(sys.argv[2]), "lea": int(sys.argv[3])},
    "first_instruction": {"bench_push": sys.argv[4], "bench_lea": sys.argv[5]},
    "target": sys.argv[6],
    "versions": {"snag": sys.argv[7], "libbpf-tools": sys.argv[8], "bpftrace": sys.argv[9]},
    "bpf_stats_enabled": True,
    "loadavg_at_start": sys.argv[10], "loadavg_at_end": open("/proc/loadavg").read().strip(),
}))' "$rounds" "$n_push" "$n_lea" "$insn_push" "$insn_lea" "$target" \
	"$("$snag_bin" --version 2>/dev/null | head -1 || true)" \
	"$(dpkg-query -W -f='${Version}' libbpf-tools 2>/dev/null || true)" "$(bpftrace --version 2>/dev/null | head -1 || true)" "$loadavg_start")
py summary "$raw" "$result_json" "$meta"
