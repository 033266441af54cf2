#!/usr/bin/env bash
# `make bench`: per-context-switch overhead of scheduler tracing, snag's off-CPU/run-queue
# collector side by side with libbpf-tools `offcputime` + `runqlat` running together
# (the same coverage: off-CPU time by stack, and run-queue latency).
#
# Usage: tools/bench-sched.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# Workloads:
#   pipe       `taskset -c PIN_CPU perf bench sched pipe -l LOOPS`: two processes (perf,
#              sched-pipe) bounce a byte over pipes on one CPU; every block is short (a few
#              us, under snag's 100 us --min-block), so this is the per-switch fast path.
#              Metric: perf's usecs/op.
#   mixed      `taskset -c PIN_CPU BUILD_DIR/tests/targets/offcpu pingpong PP_N` (two threads
#              bouncing a byte: many short blocks) while SLEEPERS unpinned processes
#              `offcpu sleeper .. SLEEP_MS` block for SLEEP_MS ms at a time (a steady stream of
#              long blocks, each of which snag records with kernel + user stacks). Metric: the
#              ping-pong's wall time per round trip, in us.
#   pipe-free  `perf bench sched pipe -l LOOPS` unpinned: the scheduler places the two
#              processes, on the same CPU or not, differently from run to run, so its time
#              varies by 2-3x between runs even untraced; shown for reference.
#   Pinning (PIN_CPU, default the last CPU) makes the ping-pong's time reproducible to a few
#   percent; with two CPUs, what other load there is runs mostly on the other one.
# Configurations, alternated in every round: untraced; snag system-wide
# (`snag --no-io -o FILE --format json`: no -u, no -p; the scheduler collector alone, as
# the peers cover scheduling only); offcputime + runqlat together (both system-wide). Every traced run starts fresh tracers and waits until they are attached.
#
# Reported per workload and configuration: median time per op with min-max, slowdown
# against untraced, BPF run time per context switch (kernel.bpf_stats_enabled=1: run_time_ns
# of all programs the tool processes hold / context switches of the whole machine during the
# workload, from /proc/stat "ctxt"), ns per run of each program, and the tracers' own CPU
# time (per switch, and in % of one core) and peak RSS. snag's report is cross-checked against the kernel's own switch counts.
#
# Output: a table on stdout, results in BUILD_DIR/bench/sched.json, logs and reports in
# BUILD_DIR/bench/logs-sched/. Exit status 1 if snag failed to run or miscounted switches
# (more than 10 % off), 2 on a setup error.
#
# Environment: ROUNDS (default 5), LOOPS (perf bench loops, default 50000), PP_N (ping-pong
# round trips of the mixed workload, default 50000), SLEEPERS (default 2), SLEEP_MS (default
# 1), PIN_CPU (default the last CPU), CONFIGS (default "untraced snag peers"), WORKLOADS
# (default "pipe mixed pipe-free"), READY_TIMEOUT seconds (default 30).
set -euo pipefail

build=${1:-build}
rounds=${ROUNDS:-5}
loops=${LOOPS:-50000}
pp_n=${PP_N:-50000}
sleepers=${SLEEPERS:-2}
sleep_ms=${SLEEP_MS:-1}
configs=${CONFIGS:-untraced snag peers}
workloads=${WORKLOADS:-pipe mixed pipe-free}
pin_cpu=${PIN_CPU-$(($(nproc) - 1))}
ready_timeout=${READY_TIMEOUT:-30}
stop_timeout=60

die() {
	echo "bench-sched: $*" >&2
	exit 2
}
warn() { echo "bench-sched: warning: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (BPF and kernel.bpf_stats_enabled need it): sudo make bench"
for v in "$rounds" "$loops" "$pp_n" "$sleepers" "$sleep_ms" "$ready_timeout"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, LOOPS, PP_N, SLEEPERS, SLEEP_MS and READY_TIMEOUT must be positive integers"
done
for c in $configs; do
	case "$c" in
	untraced | snag | peers) ;;
	*) die "unknown configuration '$c' in CONFIGS (untraced snag peers)" ;;
	esac
done
for w in $workloads; do
	case "$w" in
	pipe | mixed | pipe-free) ;;
	*) die "unknown workload '$w' in WORKLOADS (pipe mixed pipe-free)" ;;
	esac
done
need() { command -v "$1" >/dev/null || die "$1 not found ($2); run 'make deps'"; }
need python3 "python3"
need bpftool "package bpftool"
need stdbuf "package coreutils"
need pgrep "package procps"
need taskset "package util-linux"
[[ "$pin_cpu" =~ ^[0-9]+$ ]] && taskset -c "$pin_cpu" true 2>/dev/null || die "PIN_CPU=$pin_cpu is not a CPU this process can run on"
case " $workloads " in *" pipe"*)
	need perf "package linux-perf"
	perf bench sched pipe -l 10 >/dev/null 2>&1 || die "'perf bench sched pipe' does not run: $(perf bench sched pipe -l 10 2>&1 | tail -2 | tr '\n' ' ')"
	;;
esac
case " $configs " in *" peers "*)
	need offcputime "package libbpf-tools"
	need runqlat "package libbpf-tools"
	;;
esac
offcpu_bin=$build/tests/targets/offcpu
case " $workloads " in *" mixed "*)
	[ -x "$offcpu_bin" ] || die "$offcpu_bin missing; run 'make bench' (or make $offcpu_bin)"
	;;
esac
case " $configs " in *" snag "*) [ -x "$build/snag" ] || die "$build/snag missing; run 'make'" ;; esac
grep -q '^ctxt ' /proc/stat || die "/proc/stat has no ctxt line"
tools_dir=$(dirname "$(realpath "$0")")
[ -r "$tools_dir/benchlib.py" ] || die "$tools_dir/benchlib.py missing"

snag_bin=$(realpath -m "$build/snag")
offcpu_bin=$(realpath -m "$offcpu_bin")
out_dir=$build/bench
log_dir=$out_dir/logs-sched
raw=$out_dir/sched-runs.jsonl
result_json=$out_dir/sched.json
mkdir -p "$log_dir"
rm -f "$log_dir"/* "$raw"

# Python helpers: spawning with rusage, program stats, the record of a run, the summary.
IFS= read -r -d '' PY <<'PYEOF' || true
import json, os, re, statistics, subprocess, sys
sys.path.insert(0, os.environ["BENCHLIB_DIR"])
import benchlib
from benchlib import med, num, table

def stats(named_pids):
    """named_pids: ["tool=PID", ...]. BPF programs each holds (fds and links), with
    cumulative bpf_stats; each one's CPU time and peak RSS; the machine's context switch
    count."""
    # The machine's switch count, read around the snapshot's: the denominator of BPF
    # ns/switch covers the same window as the programs' run counts.
    pre = ctxt()
    res = benchlib.snapshot(named_pids)
    res["ctxt"] = (pre + ctxt()) // 2
    return res

def ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])

def cmd_stats(args):
    print(json.dumps(stats(args)))

def cmd_runcnt(args):
    """Sum of run_cnt of the programs the processes hold (0 if none)."""
    print(sum(p["run_cnt"] for p in stats(args)["progs"]))

def close(x, y, rel):
    return abs(x - y) <= max(10, rel * y)

def snag_checks(rec, a):
    """Cross-check snag's sched[] against the kernel's own switch counts (hard: problems) and
    the perf bench processes' voluntary switches against the loop count (soft: notes)."""
    try:
        rep = json.load(open(a["report"]))
    except (OSError, ValueError) as e:
        return [f"cannot read snag's report {a['report']}: {e}"], []
    problems, notes = [], []
    by_tid = {t.get("tid"): t for t in rep.get("sched") or []}
    oh = rep.get("overhead") or {}
    if isinstance(oh.get("programs"), list):
        rec["snag_self_reported_programs"] = oh["programs"]
    chk = rec["check"] = {"threads": []}

    def thread(tid, label, **row):
        t = by_tid.get(tid)
        row.update(label=label, tid=tid)
        if t is None:
            problems.append(f"{label} (tid {tid}) is missing from snag's sched[]")
        else:
            row.update(comm=t.get("comm"), snag_voluntary=t.get("voluntary_switches"),
                       snag_involuntary=t.get("involuntary_switches"))
        chk["threads"].append(row)
        return t

    if rec["workload"] != "mixed":
        n = rec["n"]
        if not a.get("perf_pid") or not a.get("perf_child"):
            return problems + ["pids of perf bench's two processes unknown"], notes
        ts = [thread(int(a["perf_pid"]), "perf bench (parent)", loops=n),
              thread(int(a["perf_child"]), "perf bench (child)", loops=n)]
        # The kernel's counts of both processes together: perf's wait4 rusage (it reaps the
        # child). They include each process's last switch-out, at exit, which snag does not
        # attribute (the thread is gone by then): 1 per process.
        ru = json.load(open(a["workload_rusage"]))
        chk.update(kernel_voluntary_both=ru["nvcsw"], kernel_involuntary_both=ru["nivcsw"])
        kernel_agrees = False
        if all(ts):
            sv = sum(t["voluntary_switches"] for t in ts)
            si = sum(t["involuntary_switches"] for t in ts)
            chk.update(snag_voluntary_both=sv, snag_involuntary_both=si)
            kernel_agrees = close(sv, ru["nvcsw"], 0.005) and close(si, ru["nivcsw"], 0.005)
            if not kernel_agrees:
                problems.append(f"perf bench's two processes: snag counts {sv} voluntary + {si} "
                                f"involuntary switches, the kernel {ru['nvcsw']} + {ru['nivcsw']}")
        for t, who in zip(ts, ("parent", "child")):
            if t and abs(t["voluntary_switches"] - n) > 0.1 * n:
                msg = (f"perf bench {who} (pid {t['tid']}, comm {t.get('comm')}): "
                       f"{t['voluntary_switches']} voluntary switches, expected about {n} "
                       f"(+-10 %); {t['involuntary_switches']} involuntary")
                if kernel_agrees:
                    notes.append(msg + " - the kernel's counts agree with snag's")
                else:
                    problems.append(msg)
    else:
        text = open(a["workload_out"]).read()
        # Each thread prints its own getrusage(RUSAGE_THREAD) counts just before it ends.
        for who, tid, vol, invol in re.findall(
                r"^(pinger|ponger) tid=(\d+) voluntary=(\d+) involuntary=(\d+)", text, re.M):
            vol, invol = int(vol), int(invol)
            t = thread(int(tid), who, kernel_voluntary=vol, kernel_involuntary=invol)
            if t and not (close(t["voluntary_switches"], vol, 0.005)
                          and close(t["involuntary_switches"], invol, 0.005)):
                problems.append(f"{who} (tid {tid}): snag counts {t['voluntary_switches']} "
                                f"voluntary + {t['involuntary_switches']} involuntary switches, "
                                f"the kernel {vol} + {invol}")
        if sum(1 for r in chk["threads"] if r["label"] in ("pinger", "ponger")) != 2:
            problems.append("ping-pong did not print both threads' switch counts")
        # Sleepers: the kernel's voluntary count, read just before they were stopped (a few
        # more sleeps follow); every sleep is a long block snag must record in offcpu[].
        for sl in filter(None, a.get("sleepers", "").split(",")):
            pid, kvol = (int(x) for x in sl.split(":"))
            blocks = sum(o.get("count", 0) for o in rep.get("offcpu") or []
                         if o.get("tid") == pid and o.get("reason") == "blocked")
            t = thread(pid, "sleeper", kernel_voluntary_at_stop=kvol, snag_long_blocks=blocks)
            if t and not kvol <= t["voluntary_switches"] <= kvol + 10:
                problems.append(f"sleeper {pid}: snag counts {t['voluntary_switches']} voluntary "
                                f"switches, the kernel {kvol} a moment before it was stopped")
            # kvol also counts a few short blocks while the process starts.
            if blocks < kvol - max(5, 0.01 * kvol):
                problems.append(f"sleeper {pid}: snag's offcpu[] holds {blocks} blocks of it, "
                                f"expected about {kvol} (its voluntary switches: "
                                f"{a.get('sleep_ms')} ms sleeps)")
    return problems, notes

def cmd_record(raw, kv):
    a = dict(x.split("=", 1) for x in kv)
    rec = {"round": int(a["round"]), "workload": a["workload"], "config": a["config"],
           "n": int(a["n"]),
           "us_per_op": float(a["us_per_op"]) if a.get("us_per_op") else None,
           "error": a.get("error") or None}
    if a.get("ctxt_before") and a.get("ctxt_after"):
        rec["switches"] = int(a["ctxt_after"]) - int(a["ctxt_before"])
    if a.get("workload_rusage") and os.path.exists(a["workload_rusage"]):
        rec["workload_rusage"] = json.load(open(a["workload_rusage"]))
    problems, notes = [], []
    if a["config"] != "untraced" and a.get("before") and a.get("after") and rec.get("switches"):
        before = json.load(open(a["before"]))
        after = json.load(open(a["after"]))
        progs = benchlib.prog_delta(before, after)
        # Switches between the two program stats reads (a little more than the workload's).
        sw = rec["bpf_window_switches"] = after["ctxt"] - before["ctxt"]
        rec["programs"] = progs
        rec["bpf_run_time_ns"] = sum(p["run_time_ns"] for p in progs)
        rec["bpf_ns_per_switch"] = rec["bpf_run_time_ns"] / sw
        rec["bpf_ns_per_switch_by_tool"] = {}
        rec["tool_cpu_ns"] = {}
        for t in after["tools"]:
            rec["bpf_ns_per_switch_by_tool"][t] = sum(
                p["run_time_ns"] for p in progs if p["tool"] == t) / sw
            rec["tool_cpu_ns"][t] = after["tools"][t]["cpu_ns"] - before["tools"][t]["cpu_ns"]
        rec["tool_cpu_ns_per_switch"] = sum(rec["tool_cpu_ns"].values()) / sw
        # The tracers' CPU in % of one core between the two reads (the workload runs in it),
        # and their peak RSS by the second read (summed: the peers run together).
        win = rec["window_ns"] = after["monotonic_ns"] - before["monotonic_ns"]
        rec["tool_cpu_pct"] = 100 * sum(rec["tool_cpu_ns"].values()) / win if win > 0 else None
        rec["tool_vm_hwm_kb"] = {t: after["tools"][t].get("vm_hwm_kb") for t in after["tools"]}
        hwm = list(rec["tool_vm_hwm_kb"].values())
        rec["tool_peak_rss_kb"] = sum(hwm) if hwm and None not in hwm else None
        # Sanity: a sched_switch program runs once per switch of the machine.
        for p in progs:
            if "switch" in p["name"] and not 0.95 * sw <= p["run_cnt"] <= 1.05 * sw:
                notes.append(f"{p['tool']}:{p['name']} ran {p['run_cnt']} times during "
                             f"{sw} context switches")
    rec["tool_exit"] = {}
    for kvs in filter(None, a.get("tool_rusage", "").split(",")):
        t, path = kvs.split(":", 1)
        try:
            rec["tool_exit"][t] = json.load(open(path))
        except (OSError, ValueError):
            pass
    if a["config"] == "snag" and not rec["error"] and a.get("report"):
        p, n = snag_checks(rec, a)
        problems += p
        notes += n
    rec["problems"] = problems
    rec["notes"] = notes
    with open(raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    for p in problems + notes:
        print(f"bench-sched: warning: round {rec['round']} {rec['workload']} {rec['config']}: {p}",
              file=sys.stderr)

def cmd_summary(raw, out, meta_json):
    meta = json.loads(meta_json)
    recs = [json.loads(l) for l in open(raw)]
    workloads = [w for w in ("pipe", "mixed", "pipe-free") if any(r["workload"] == w for r in recs)]
    configs = []
    for r in recs:
        if r["config"] not in configs:
            configs.append(r["config"])
    results = []
    failed = False
    for w in workloads:
        base = med([r["us_per_op"] for r in recs if r["workload"] == w
                    and r["config"] == "untraced" and r["us_per_op"] is not None])
        for c in configs:
            rs = [r for r in recs if r["workload"] == w and r["config"] == c]
            if not rs:
                continue
            ok = [r for r in rs if r["us_per_op"] is not None]
            us = [r["us_per_op"] for r in ok]
            res = {"workload": w, "config": c, "n": rs[0]["n"], "runs": len(rs),
                   "ok_runs": len(ok), "us_per_op": us,
                   "switches_median": med([r["switches"] for r in ok if "switches" in r])}
            if us:
                res.update(median_us_per_op=med(us), min_us_per_op=min(us), max_us_per_op=max(us))
                if base and c != "untraced":
                    res["slowdown"] = res["median_us_per_op"] / base
            if c != "untraced":
                bpf = [r["bpf_ns_per_switch"] for r in ok if "bpf_ns_per_switch" in r]
                if bpf:
                    res.update(bpf_ns_per_switch=med(bpf), bpf_ns_per_switch_min=min(bpf),
                               bpf_ns_per_switch_max=max(bpf))
                tools = sorted({t for r in ok for t in r.get("bpf_ns_per_switch_by_tool", {})})
                res["bpf_ns_per_switch_by_tool"] = {
                    t: med([r["bpf_ns_per_switch_by_tool"][t] for r in ok
                            if t in r.get("bpf_ns_per_switch_by_tool", {})]) for t in tools}
                per = {}
                for r in ok:
                    sw = r.get("bpf_window_switches")
                    for p in r.get("programs", []):
                        if p["run_cnt"] and sw:
                            e = per.setdefault((p["tool"], p["name"]), ([], [], []))
                            e[0].append(p["run_time_ns"] / p["run_cnt"])
                            e[1].append(p["run_cnt"] / sw)
                            e[2].append(p["run_time_ns"] / sw)
                res["bpf_programs"] = [{"tool": t, "name": nm, "ns_per_run": med(v[0]),
                                        "runs_per_switch": med(v[1]), "ns_per_switch": med(v[2])}
                                       for (t, nm), v in per.items()]
                cpu = [r["tool_cpu_ns_per_switch"] for r in ok if "tool_cpu_ns_per_switch" in r]
                res["tool_cpu_ns_per_switch"] = med(cpu)
                res["tool_cpu_pct"] = med([r.get("tool_cpu_pct") for r in ok])
                res["tool_peak_rss_kb"] = med([r.get("tool_peak_rss_kb") for r in ok])
                ex = [sum(x["cpu_ns"] for x in r["tool_exit"].values()) for r in rs
                      if r.get("tool_exit")]
                res["tool_cpu_ms_at_exit"] = med(ex) / 1e6 if ex else None
                res["problems"] = [p for r in rs for p in r.get("problems", [])]
                res["notes"] = [p for r in rs for p in r.get("notes", [])]
                res["errors"] = [r["error"] for r in rs if r.get("error")]
                res["checks_ok"] = not res["problems"] and not res["errors"]
                if c == "snag":
                    res["checks"] = [r.get("check") for r in rs]
                    if not res["checks_ok"]:
                        failed = True
            results.append(res)
    # The issue's targets.
    targets = []
    get = lambda w, c: next((r for r in results if r["workload"] == w and r["config"] == c), None)
    s = get("pipe", "snag")
    if s and s.get("bpf_ns_per_switch") is not None:
        targets.append({"target": "snag BPF ns per context switch on pipe ping-pong <= 400",
                        "value": s["bpf_ns_per_switch"], "met": s["bpf_ns_per_switch"] <= 400})
    for w in workloads:
        s, p = get(w, "snag"), get(w, "peers")
        if s and p and s.get("slowdown") and p.get("slowdown"):
            so, po = s["slowdown"] - 1, p["slowdown"] - 1
            # Not measurable if the peers' overhead is lost in the noise.
            targets.append({"target": f"{w}: snag's overhead <= 1/5 of offcputime+runqlat's",
                            "snag_overhead": so, "peers_overhead": po,
                            "ratio": so / po if po > 0 else None,
                            "met": so <= 0.2 * po if po > 0 else None})
    doc = dict(meta)
    doc["results"] = results
    doc["targets"] = targets
    doc["runs"] = recs
    benchlib.write_json(out, doc)

    label = {"untraced": "untraced", "snag": "snag", "peers": "offcputime+runqlat"}
    print()
    print(f"Scheduler tracing overhead, {meta['rounds']} rounds, medians "
          f"(kernel {meta['kernel']}, {meta['cpus']} CPUs, {meta['date']})")
    rows = []
    for r in results:
        mm = "-" if r.get("median_us_per_op") is None else \
            f"{r['min_us_per_op']:.2f}-{r['max_us_per_op']:.2f}"
        if r["config"] == "untraced":
            chk = "-"
        elif r["checks_ok"]:
            chk = f"ok ({r['ok_runs']}/{r['runs']} runs)"
            if r.get("notes"):
                chk += f", {len(r['notes'])} warnings"
        else:
            chk = f"PROBLEMS ({r['ok_runs']}/{r['runs']} runs)"
        rows.append((r["workload"], label[r["config"]], num(r.get("median_us_per_op"), ".2f"), mm,
                     num(r.get("slowdown"), ".3f", "x"), num(r.get("switches_median"), ".0f"),
                     num(r.get("bpf_ns_per_switch"), ".0f"),
                     num(r.get("tool_cpu_ns_per_switch"), ".1f"),
                     num(r.get("tool_cpu_ms_at_exit"), ".0f"), num(r.get("tool_cpu_pct"), ".1f"),
                     num(r["tool_peak_rss_kb"] / 1024 if r.get("tool_peak_rss_kb") else None, ".1f"),
                     chk))
    table(("workload", "config", "us/op", "min-max", "slowdown", "switches", "BPF ns/switch",
           "tool CPU ns/switch", "tool CPU ms total", "CPU %", "RSS MiB", "checks"), rows,
          {2, 3, 4, 5, 6, 7, 8, 9, 10})
    print()
    print("BPF programs (medians over rounds):")
    rows = []
    for r in results:
        for p in sorted(r.get("bpf_programs", []), key=lambda p: (p["tool"], -p["ns_per_switch"])):
            rows.append((r["workload"], p["tool"], p["name"], num(p["ns_per_run"], ".0f"),
                         num(p["runs_per_switch"], ".3f"), num(p["ns_per_switch"], ".1f")))
    table(("workload", "tool", "program", "ns/run", "runs/switch", "ns/switch"), rows, {3, 4, 5})
    print()
    print("us/op: perf bench's usecs/op (pipe) or the ping-pong's wall time per round trip (mixed);")
    print("switches: context switches of the whole machine during the workload (/proc/stat ctxt);")
    print("BPF ns/switch: run_time_ns of all the tool's programs / switches (bpf_stats);")
    print("tool CPU ns/switch: the tracers' own CPU time during the workload / switches;")
    print("tool CPU ms total: their CPU time from start to exit (loading, report, symbolization);")
    print("CPU %: their CPU time during the workload in % of one core; RSS: their peak RSS (VmHWM,")
    print("summed) by the end of the workload.")
    print()
    for t in targets:
        if "value" in t:
            print(f"target: {t['target']}: {t['value']:.0f} ns -> {'MET' if t['met'] else 'NOT MET'}")
        else:
            verdict = {True: "MET", False: "NOT MET", None: "not measurable (no peers overhead)"}
            print(f"target: {t['target']}: snag {100 * t['snag_overhead']:+.1f} %, "
                  f"offcputime+runqlat {100 * t['peers_overhead']:+.1f} % -> {verdict[t['met']]}")
    for r in results:
        for p in r.get("problems", []) + r.get("errors", []):
            print(f"WARNING: {r['workload']}/{r['config']}: {p}")
        loop_notes = [n for n in r.get("notes", []) if "loop count" in n or "expected about" in n]
        for n in r.get("notes", []):
            if n not in loop_notes:
                print(f"warning: {r['workload']}/{r['config']}: {n}")
        if loop_notes:
            print(f"warning: {r['workload']}/{r['config']}: in {len(loop_notes)} of "
                  f"{2 * r['runs']} processes, voluntary switches are not within 10 % of the "
                  f"loop count, e.g. {loop_notes[0]}")
    if any("expected about" in n for r in results for n in r.get("notes", [])):
        print("  (wakeup preemption: a reader woken on the writer's CPU preempts the writer, whose")
        print("  next read then finds its reply waiting, so that switch is involuntary; the kernel's")
        print("  own counts agree with snag's, and with both processes on one CPU about 45 % of")
        print("  the switches are of this kind)")
    print(f"results: {out}")
    sys.exit(1 if failed else 0)

cmd = sys.argv[1]
if cmd in ("stats", "runcnt"):
    try:
        (cmd_stats if cmd == "stats" else cmd_runcnt)(sys.argv[2:])
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"bench-sched: cannot read BPF program stats: {e}", file=sys.stderr)
        sys.exit(1)
elif cmd == "spawn":
    benchlib.spawn(sys.argv[2], sys.argv[3], sys.argv[4:])
elif cmd == "record":
    cmd_record(sys.argv[2], sys.argv[3:])
elif cmd == "summary":
    cmd_summary(sys.argv[2], sys.argv[3], sys.argv[4])
PYEOF
py() { BENCHLIB_DIR=$tools_dir python3 -c "$PY" "$@"; }

# State for cleanup: tracers and background workload processes running now (pids of
# the spawn wrappers and of the programs themselves), whether we changed bpf_stats_enabled.
tracer_pids=()  # the tracers themselves
wrapper_pids=() # their spawn wrappers, to wait for
bg_pids=()      # background workload processes (sleepers, perf)
stats_file=/proc/sys/kernel/bpf_stats_enabled
stats_prev=

# stop_tracers: SIGINT to every tracer, wait up to $stop_timeout s for all, then SIGKILL.
# Returns non-zero if one exited with an error; sets stop_errors to a description.
stop_errors=
stop_tracers() {
	local i p w rc any=0
	stop_errors=
	for p in "${tracer_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for ((i = 0; i < stop_timeout * 20; i++)); do
		any=0
		for p in "${tracer_pids[@]}"; do kill -0 "$p" 2>/dev/null && any=1; done
		[ "$any" -eq 0 ] && break
		sleep 0.05
	done
	for p in "${tracer_pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			warn "tracer $p did not exit ${stop_timeout}s after SIGINT; killing it"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	for ((i = 0; i < ${#wrapper_pids[@]}; i++)); do
		w=${wrapper_pids[i]}
		rc=0
		wait "$w" 2>/dev/null || rc=$?
		[ "$rc" -eq 0 ] || stop_errors+="${tracer_names[i]:-tracer} exited with status $rc; "
	done
	tracer_pids=()
	wrapper_pids=()
	[ -z "$stop_errors" ]
}

stop_bg() {
	local p
	for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	bg_pids=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_bg
	[ "${#tracer_pids[@]}" -eq 0 ] || stop_tracers || true
	if [ -n "$stats_prev" ]; then
		echo "$stats_prev" >"$stats_file" 2>/dev/null || warn "could not restore $stats_file to $stats_prev"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench-sched: interrupted" >&2; exit 130' INT TERM

[ -w "$stats_file" ] || die "cannot write $stats_file"
stats_prev=$(cat "$stats_file")
echo 1 >"$stats_file"

ctxt() { awk '$1 == "ctxt" { print $2 }' /proc/stat; }

# wait_file FILE PID: until FILE exists (or PID dies, or READY_TIMEOUT passes).
wait_file() {
	local i
	for ((i = 0; i < ready_timeout * 100; i++)); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || { [ -s "$1" ] && return 0; return 1; }
		sleep 0.01
	done
	return 1
}

# wait_ready PID FILE REGEX: until FILE matches, the tracer dies, or READY_TIMEOUT passes.
# An empty REGEX skips the message (Debian's offcputime 0.26 prints nothing when attached).
wait_ready() {
	local pid=$1 file=$2 re=$3 i
	[ -n "$re" ] || return 0
	for ((i = 0; i < ready_timeout * 20; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_running NAME=PID: until the programs that process holds have run (bpf_stats counts
# runs only of attached programs; sched_switch fires all the time), or READY_TIMEOUT passes.
wait_running() {
	local i first now
	first=$(py runcnt "$1") || return 1
	for ((i = 0; i < ready_timeout * 10; i++)); do
		sleep 0.1
		now=$(py runcnt "$1") || return 1
		[ "$now" -gt "$first" ] && return 0
	done
	return 1
}

# start_tracer NAME BASE READY_FILE READY_REGEX CMD...: start CMD under the spawn wrapper
# (stdout BASE.out, stderr BASE.err, rusage at exit BASE.rusage), wait until it is attached.
# Prints nothing; on failure sets start_error.
tracer_names=()
start_error=
start_tracer() {
	local name=$1 base=$2 ready_file=$3 re=$4 pid
	shift 4
	rm -f "$base.pid" "$base.rusage"
	py spawn "$base.rusage" "$base.pid" "$@" >"$base.out" 2>"$base.err" &
	wrapper_pids+=("$!")
	tracer_names+=("$name")
	if ! wait_file "$base.pid" "$!"; then
		start_error="$name did not start: $(tail -c 300 "$base.err" | tr '\n' ' ')"
		return 1
	fi
	pid=$(cat "$base.pid")
	tracer_pids+=("$pid")
	eval "pid_$name=$pid"
	if ! wait_ready "$pid" "$ready_file" "$re" || ! wait_running "$name=$pid" 2>/dev/null; then
		if kill -0 "$pid" 2>/dev/null; then
			start_error="$name did not attach within ${ready_timeout}s"
		else
			start_error="$name exited while starting"
		fi
		start_error+=": $(tail -c 300 "$base.err" | tr '\n' ' ')"
		return 1
	fi
}

# run_one ROUND WORKLOAD CONFIG: one measurement, appended to $raw.
run_one() {
	local round=$1 workload=$2 config=$3
	local base="$log_dir/r$round-$workload-$config" n error="" us="" report="" before="" after=""
	local named=() rus_list="" cb="" ca="" i perf_pid="" perf_child="" t0 t1 sl="" p kv
	local pid_snag="" pid_offcputime="" pid_runqlat=""
	tracer_names=()
	start_error=
	local pin=(taskset -c "$pin_cpu")
	[ "$workload" != pipe-free ] || pin=()
	if [ "$workload" = mixed ]; then n=$pp_n; else n=$loops; fi
	case "$config" in
	snag)
		report=$base.snag.json
		start_tracer snag "$base.snag" "$base.snag.err" 'snag: tracing' \
			"$snag_bin" --no-io -o "$report" --format json || error=$start_error
		if [ -n "$pid_snag" ]; then named+=("snag=$pid_snag"); fi
		rus_list="snag:$base.snag.rusage"
		;;
	peers)
		# stdbuf: both print with stdio, block-buffered into a file.
		start_tracer offcputime "$base.offcputime" "$base.offcputime.out" '' \
			stdbuf -oL offcputime || error=$start_error
		if [ -n "$pid_offcputime" ]; then named+=("offcputime=$pid_offcputime"); fi
		if [ -z "$error" ]; then
			start_tracer runqlat "$base.runqlat" "$base.runqlat.out" '^Tracing run queue latency' \
				stdbuf -oL runqlat || error=$start_error
		fi
		if [ -n "$pid_runqlat" ]; then named+=("runqlat=$pid_runqlat"); fi
		rus_list="offcputime:$base.offcputime.rusage,runqlat:$base.runqlat.rusage"
		;;
	esac
	if [ -z "$error" ] && [ "$workload" = mixed ]; then
		for ((i = 0; i < sleepers; i++)); do
			"$offcpu_bin" sleeper 100000000 "$sleep_ms" >/dev/null 2>&1 &
			bg_pids+=("$!")
		done
		sleep 0.2 # steady state
	fi
	if [ -z "$error" ] && [ "${#named[@]}" -gt 0 ]; then
		before=$base.before.json
		py stats "${named[@]}" >"$before" || error="cannot read the tools' BPF program stats"
	fi
	if [ -z "$error" ]; then
		cb=$(ctxt)
		if [ "$workload" != mixed ]; then
			rm -f "$base.perf.pid" "$base.perf.rusage"
			py spawn "$base.perf.rusage" "$base.perf.pid" "${pin[@]}" perf bench sched pipe -l "$n" \
				>"$base.workload" 2>&1 &
			p=$!
			bg_pids+=("$p")
			if wait_file "$base.perf.pid" "$p"; then
				perf_pid=$(cat "$base.perf.pid")
				# perf forks the second process (comm sched-pipe) right away; it lives until the end.
				for ((i = 0; i < 1000; i++)); do
					perf_child=$(pgrep -P "$perf_pid" | head -1) && [ -n "$perf_child" ] && break
					kill -0 "$perf_pid" 2>/dev/null || break
					sleep 0.005
				done
			fi
			if wait "$p"; then
				us=$(awk '$2 == "usecs/op" { print $1 }' "$base.workload")
				[ -n "$us" ] || error="perf bench printed: $(head -c 300 "$base.workload" | tr '\n' ' ')"
			else
				error="perf bench failed: $(tail -c 300 "$base.workload" | tr '\n' ' ')"
			fi
			bg_pids=()
		else
			t0=$EPOCHREALTIME
			if "${pin[@]}" "$offcpu_bin" pingpong "$n" >"$base.workload" 2>&1; then
				t1=$EPOCHREALTIME
				us=$(python3 -c 'import sys; print("%.4f" % ((float(sys.argv[2]) - float(sys.argv[1])) * 1e6 / int(sys.argv[3])))' "$t0" "$t1" "$n")
			else
				error="offcpu pingpong failed: $(head -c 300 "$base.workload" | tr '\n' ' ')"
			fi
		fi
		ca=$(ctxt)
		for p in "${tracer_pids[@]}"; do
			if [ -z "$error" ] && ! kill -0 "$p" 2>/dev/null; then
				# Its timing would be partly untraced: not counted.
				error="a tracer (pid $p) exited during the workload"
				us=
			fi
		done
		if [ "${#named[@]}" -gt 0 ] && [ -z "$error" ]; then
			after=$base.after.json
			py stats "${named[@]}" >"$after" || error="cannot read the tools' BPF program stats"
		fi
	fi
	if [ "$workload" = mixed ]; then
		for p in "${bg_pids[@]}"; do
			[ -n "$p" ] || continue
			kv=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
			sl+="$p:${kv:-0},"
		done
	fi
	stop_bg
	if [ "${#wrapper_pids[@]}" -gt 0 ]; then
		if ! stop_tracers && [ -z "$error" ]; then
			error="${stop_errors}(logs: $base.*)"
		fi
	fi
	if [ -n "$error" ]; then
		warn "round $round $workload $config: $error (logs: $base.*)"
	fi
	py record "$raw" round="$round" workload="$workload" config="$config" n="$n" us_per_op="$us" \
		error="$error" before="$before" after="$after" ctxt_before="$cb" ctxt_after="$ca" \
		report="$report" perf_pid="$perf_pid" perf_child="$perf_child" sleepers="$sl" \
		sleep_ms="$sleep_ms" workload_out="$base.workload" tool_rusage="$rus_list" \
		workload_rusage="$([ "$workload" = mixed ] || echo "$base.perf.rusage")"
	printf '  round %d/%d  %-5s  %-8s  %s\n' "$round" "$rounds" "$workload" "$config" \
		"${error:+FAILED: }${error:-$us us/op, $((ca - cb)) switches}"
}

loadavg_start=$(cat /proc/loadavg)
echo "bench-sched: $rounds rounds; workloads: $workloads; configs: $configs"
echo "bench-sched: pipe = taskset -c $pin_cpu perf bench sched pipe -l $loops; mixed = taskset -c $pin_cpu offcpu pingpong $pp_n + $sleepers x offcpu sleeper (${sleep_ms} ms sleeps, unpinned); pipe-free = perf bench sched pipe -l $loops"
for ((round = 1; round <= rounds; round++)); do
	for workload in $workloads; do
		for config in $configs; do
			run_one "$round" "$workload" "$config"
		done
	done
done

meta=$(python3 -c '
import json, os, sys, time
print(json.dumps({
    "schema": "snag-bench-sched/1",
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "kernel": os.uname().release, "machine": os.uname().machine, "cpus": os.cpu_count(),
    "rounds": int(sys.argv[1]),
    "workloads": {"pipe": "taskset -c %s perf bench sched pipe -l %s" % (sys.argv[10], sys.argv[2]),
                  "mixed": "taskset -c %s offcpu pingpong %s, with %s x offcpu sleeper (%s ms sleeps, unpinned) in the background"
                           % (sys.argv[10], sys.argv[3], sys.argv[4], sys.argv[5]),
                  "pipe-free": "perf bench sched pipe -l %s (unpinned)" % sys.argv[2]},
    "configs": {"untraced": "", "snag": "snag --no-io -o FILE --format json (system-wide)",
                "peers": "offcputime + runqlat (libbpf-tools), both system-wide, together"},
    "versions": {"snag": sys.argv[6], "libbpf-tools": sys.argv[7], "perf": sys.argv[8]},
    "bpf_stats_enabled": True,
    "loadavg_at_start": sys.argv[9], "loadavg_at_end": open("/proc/loadavg").read().strip(),
}))' "$rounds" "$loops" "$pp_n" "$sleepers" "$sleep_ms" \
	"$("$snag_bin" --version 2>/dev/null | head -1 || true)" \
	"$(dpkg-query -W -f='${Version}' libbpf-tools 2>/dev/null || true)" \
	"$(perf version 2>/dev/null | head -1 || true)" "$loadavg_start" "$pin_cpu")
py summary "$raw" "$result_json" "$meta"
