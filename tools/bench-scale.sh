#!/usr/bin/env bash
# `make bench`: snag's own cost (the loader: user space) as the number of distinct map keys
# grows. The target, BUILD_DIR/tests/targets/threads N PERIOD_MS STACKS, runs N threads that
# each sleep and wake once per PERIOD_MS (spread evenly over the period); each thread is a
# key of snag's per-thread table and, with STACKS=distinct, blocks under a stack of its own
# (a key of its off-CPU table too).
#
# Usage: tools/bench-scale.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# For each round and each key count (alternating: 10, 1000, 10000, 10, ...): start the target,
# then `snag -p PID -i INTERVAL -d DURATION --format json -o FILE` on it, and sample snag's
# CPU time (sum of /proc/PID/task/*/schedstat, exact to the ns) and memory (VmHWM, VmRSS)
# every SAMPLE seconds until it exits.
#
# Reported per key count (medians over the rounds, with min-max): snag's CPU in % of one core
# over the steady state (WARMUP s after it printed "snag: tracing" until 1 s before -d ends:
# no loading, attaching or report writing), the worst 1 s of that window, its peak RSS
# during the steady state (VmHWM) and over its whole life including the report (wait4
# maxrss), its whole CPU time (wait4 rusage), and what its report saw (threads and off-CPU
# rows of the target, drops). The budget, on the loader's polling (the steady state: what
# the issue's "at -i 1 the loader must stay under" measures): CPU_BUDGET % of one core and
# RSS_BUDGET MiB of steady RSS at every key count (printed PASS/FAIL; it does not change the
# exit status). The peak while writing the final report is printed next to it.
#
# Output: a table on stdout, results in BUILD_DIR/bench/scale.json, logs and reports in
# BUILD_DIR/bench/logs-scale/. Exit status 1 if snag failed to run or its report misses
# threads of the target, 2 on a setup error.
#
# Environment: KEYS (default "10 1000 10000"), ROUNDS (default 3), DURATION (snag's -d,
# default 20), INTERVAL (snag's -i, default 1), WARMUP (default 5), PERIOD_MS (default 1000),
# STACKS (distinct or same, default distinct), SAMPLE (default 0.25), CPU_BUDGET (default 1),
# RSS_BUDGET (default 30), READY_TIMEOUT seconds (default 30), PERF (a key count: also
# record `perf record -g` of snag for 5 s of its steady state at that count, in round 1,
# into the logs; off by default: it disturbs the measurement).
set -euo pipefail

build=${1:-build}
keys=${KEYS:-10 1000 10000}
rounds=${ROUNDS:-3}
duration=${DURATION:-20}
interval=${INTERVAL:-1}
warmup=${WARMUP:-5}
period_ms=${PERIOD_MS:-1000}
stacks=${STACKS:-distinct}
sample=${SAMPLE:-0.25}
cpu_budget=${CPU_BUDGET:-1}
rss_budget=${RSS_BUDGET:-30}
ready_timeout=${READY_TIMEOUT:-30}
perf_keys=${PERF:-}

die() {
	echo "bench-scale: $*" >&2
	exit 2
}

[ "$(id -u)" -eq 0 ] || die "must run as root (BPF needs it): sudo make bench"
[ -n "${keys// /}" ] || die "KEYS is empty"
for v in $keys "$rounds" "$duration" "$warmup" "$period_ms" "$ready_timeout" $perf_keys; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "KEYS, ROUNDS, DURATION, WARMUP, PERIOD_MS, READY_TIMEOUT and PERF must be positive integers"
done
for v in "$interval" "$sample" "$cpu_budget" "$rss_budget"; do
	[[ "$v" =~ ^[0-9]*\.?[0-9]+$ ]] || die "INTERVAL, SAMPLE, CPU_BUDGET and RSS_BUDGET must be positive numbers"
done
[ "$duration" -ge $((warmup + 3)) ] || die "DURATION ($duration) must be at least WARMUP + 3 ($((warmup + 3))) seconds"
case "$stacks" in distinct | same) ;; *) die "STACKS must be distinct or same" ;; esac
command -v python3 >/dev/null || die "python3 not found"
[ -z "$perf_keys" ] || command -v perf >/dev/null || die "PERF is set but perf is not installed (package linux-perf)"
tools_dir=$(dirname "$(realpath "$0")")
[ -r "$tools_dir/benchlib.py" ] || die "$tools_dir/benchlib.py missing"
threads_bin=$build/tests/targets/threads
[ -x "$threads_bin" ] || die "$threads_bin missing; run 'make bench' (or make BUILD=$build $threads_bin)"
[ -x "$build/snag" ] || die "$build/snag missing; run 'make BUILD=$build'"

# Room for the biggest target: threads-max, pid_max and RLIMIT_NPROC bound the threads of the
# machine (pid_max too: every thread takes a pid), with some left for everyone else.
max_keys=$(printf '%s\n' $keys | sort -n | tail -1)
running=$(ps -eLf --no-headers | wc -l)
for lim in /proc/sys/kernel/threads-max /proc/sys/kernel/pid_max; do
	room=$(($(cat "$lim") - running - 1000))
	[ "$room" -ge "$max_keys" ] || die "$lim is $(cat "$lim") with $running threads running: no room for $max_keys more (and 1000 to spare); raise it (sysctl -w kernel.${lim##*/}=...)"
done
nproc_lim=$(ulimit -u)
[ "$nproc_lim" = unlimited ] || [ "$(id -u)" -eq 0 ] || [ "$nproc_lim" -ge $((max_keys + 1000)) ] ||
	die "ulimit -u is $nproc_lim: too low for $max_keys threads"

out_dir=$build/bench
log_dir=$out_dir/logs-scale
mkdir -p "$log_dir"
rm -f "$log_dir"/*

IFS= read -r -d '' PY <<'PYEOF' || true
import json, os, select, signal, subprocess, sys, time
sys.path.insert(0, os.environ["BENCHLIB_DIR"])
import benchlib
from benchlib import med, num, table

E = os.environ
KEYS = [int(k) for k in E["KEYS"].split()]
ROUNDS, DURATION, WARMUP = int(E["ROUNDS"]), int(E["DURATION"]), int(E["WARMUP"])
INTERVAL, SAMPLE = E["INTERVAL"], float(E["SAMPLE"])
PERIOD_MS, STACKS = int(E["PERIOD_MS"]), E["STACKS"]
CPU_BUDGET, RSS_BUDGET = float(E["CPU_BUDGET"]), float(E["RSS_BUDGET"])
READY = int(E["READY_TIMEOUT"])
STOP_TIMEOUT = 300  # after -d: a snag busy beyond this is stopped and the run failed
PERF = {int(k) for k in E.get("PERF_KEYS", "").split()}
SNAG, TARGET, LOGS, OUT = E["SNAG"], E["TARGET"], E["LOG_DIR"], E["OUT"]

children = []  # processes this script started, stopped on the way out
snags = set()  # pids of the snags running now (children of spawn wrappers)
BENCHLIB = os.path.join(E["BENCHLIB_DIR"], "benchlib.py")


def stop(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_snag(wrapper, timeout):
    """SIGINT to the snags running (the wrapper ignores it), then wait for the wrapper."""
    for spid in list(snags):
        try:
            os.kill(spid, signal.SIGINT)
        except ProcessLookupError:
            pass
    try:
        wrapper.wait(timeout)
    except subprocess.TimeoutExpired:
        for spid in snags:
            try:
                os.kill(spid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wrapper.wait()
    snags.clear()


def on_signal(sig, frame):
    raise KeyboardInterrupt


def stat_ticks(pid):
    """utime + stime of the whole process (/proc/PID/stat), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def vm_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_one(rnd, n):
    base = f"{LOGS}/r{rnd}-{n}"
    rec = {"round": rnd, "keys": n, "error": None, "loadavg_at_start": open("/proc/loadavg").read().strip()}
    tgt = subprocess.Popen([TARGET, str(n), str(PERIOD_MS), STACKS], stdout=subprocess.PIPE,
                           stderr=open(base + ".target.err", "w"), text=True)
    children.append(tgt)
    snag = None
    try:
        r, _, _ = select.select([tgt.stdout], [], [], READY)
        line = tgt.stdout.readline() if r else ""
        if "ready" not in line:
            rec["error"] = f"the target did not start: {line.strip() or open(base + '.target.err').read()[-300:]}"
            return rec
        pid = tgt.pid
        rec["target_pid"] = pid
        time.sleep(1)  # past the first wakeups
        report = base + ".json"
        err = open(base + ".err", "w")
        t_start = time.monotonic()
        # Under benchlib's spawn wrapper, whose rusage of snag at exit has its peak RSS over its
        # whole life, report included. Not as a child of this script: a child's maxrss starts at
        # the RSS of the process it was forked from (exec keeps it), and this one holds reports
        # of tens of MB; the wrapper is a small process.
        rus, pidf = base + ".rusage", base + ".pid"
        snag = subprocess.Popen([sys.executable, BENCHLIB, "spawn", rus, pidf, SNAG, "-p", str(pid),
                                 "-i", INTERVAL, "-d", str(DURATION), "--format", "json", "-o", report],
                                stdout=open(base + ".out", "w"), stderr=err)
        children.append(snag)
        while not os.path.exists(pidf) and snag.poll() is None and time.monotonic() < t_start + READY:
            time.sleep(0.01)
        if not os.path.exists(pidf):
            rec["error"] = "snag did not start: " + open(base + ".err").read()[-300:]
            return rec
        spid = int(open(pidf).read())
        snags.add(spid)
        t_attach = None
        samples = []
        perf = None
        while True:
            now = time.monotonic()
            if snag.poll() is not None:
                break
            try:
                samples.append({"t": now, "cpu_ns": benchlib.cpu_ns(spid),
                                "vm_hwm_kb": benchlib.vm_hwm_kb(spid), "vm_rss_kb": vm_rss_kb(spid),
                                "target_ticks": stat_ticks(pid)})
            except OSError:
                pass
            if t_attach is None:
                if "snag: tracing" in open(base + ".err").read():
                    t_attach = now
                    rec["startup_s"] = now - t_start
                    rec["cpu_ms_at_attach"] = samples[-1]["cpu_ns"] / 1e6 if samples else None
                elif now - t_start > READY:
                    rec["error"] = "snag did not attach within %ds" % READY
                    break
            elif now > t_attach + DURATION + STOP_TIMEOUT:
                rec["error"] = f"snag still ran {STOP_TIMEOUT} s after its -d {DURATION} ended"
                break
            elif (n in PERF and rnd == 1 and perf is None and now >= t_attach + WARMUP + 2
                  and now + 6 < t_attach + DURATION):
                perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384",
                                         "-o", base + ".perf.data", "-p", str(spid), "--", "sleep", "5"],
                                        stdout=subprocess.DEVNULL, stderr=open(base + ".perf.err", "w"))
                children.append(perf)
            time.sleep(SAMPLE)
        if rec["error"]:
            return rec
        rec["ran_s"] = time.monotonic() - t_attach  # -d DURATION, plus collecting and writing
        snags.discard(spid)
        try:
            rec["snag_exit"] = json.load(open(rus))
        except (OSError, ValueError) as e:
            rec["error"] = f"no rusage of snag from its spawn wrapper: {e}"
            return rec
        if perf is not None:
            perf.wait()
            with open(base + ".perf.txt", "w") as f:
                subprocess.run(["perf", "report", "-i", base + ".perf.data", "--stdio", "--children",
                                "--percent-limit", "2", "--sort", "symbol", "-g", "none"],
                               stdout=f, stderr=subprocess.DEVNULL)
            rec["perf_report"] = base + ".perf.txt"
        if rec["snag_exit"]["exit_code"] != 0:
            rec["error"] = (f"snag exited with status {rec['snag_exit']['exit_code']}: "
                            + open(base + ".err").read()[-300:])
            return rec
        # The steady state: WARMUP s after attaching until 1 s before -d ends.
        t0, t1 = t_attach + WARMUP, t_attach + DURATION - 1
        win = [s for s in samples if t0 <= s["t"] <= t1]
        if len(win) < 2:
            rec["error"] = "too few samples in the steady state"
            return rec
        a, b = win[0], win[-1]
        rec["window_s"] = b["t"] - a["t"]
        rec["cpu_ns_window"] = b["cpu_ns"] - a["cpu_ns"]
        rec["cpu_pct"] = 100 * rec["cpu_ns_window"] / (rec["window_s"] * 1e9)
        # The worst 1 s (a window of consecutive samples at least 1 s long).
        worst = 0
        for i, s in enumerate(win):
            for e in win[i + 1:]:
                if e["t"] - s["t"] >= 1:
                    worst = max(worst, 100 * (e["cpu_ns"] - s["cpu_ns"]) / ((e["t"] - s["t"]) * 1e9))
                    break
        rec["cpu_pct_worst_1s"] = worst
        rec["rss_steady_mib"] = b["vm_hwm_kb"] / 1024 if b["vm_hwm_kb"] else None
        rec["rss_peak_mib"] = rec["snag_exit"]["maxrss_kb"] / 1024
        rec["cpu_ms_total"] = rec["snag_exit"]["cpu_ns"] / 1e6
        hz = os.sysconf("SC_CLK_TCK")
        rec["target_cpu_pct"] = 100 * (b["target_ticks"] - a["target_ticks"]) / hz / rec["window_s"]
        rec["samples"] = [dict(s, t=round(s["t"] - t_attach, 3)) for s in samples]
        try:
            rep = json.load(open(report))
        except (OSError, ValueError) as e:
            rec["error"] = f"cannot read snag's report: {e}"
            return rec
        rec["report_bytes"] = os.path.getsize(report)
        rec["seen_threads"] = sum(1 for t in rep.get("sched") or [] if t.get("pid") == pid)
        rec["seen_offcpu_rows"] = sum(1 for o in rep.get("offcpu") or [] if o.get("pid") == pid)
        rec["seen_user_stacks"] = len({tuple(o.get("user_stack") or []) for o in rep.get("offcpu") or []
                                       if o.get("pid") == pid})
        rec["intervals"] = len(rep.get("intervals") or [])
        # -d / -i intervals, give or take the last partial one; fewer: the main loop was late.
        rec["expected_intervals"] = int(DURATION / float(INTERVAL))
        notes = []
        if rec["intervals"] < rec["expected_intervals"] - 1:
            notes.append(f"snag's report has {rec['intervals']} intervals of -i {INTERVAL}, expected "
                         f"{rec['expected_intervals']}: its main loop did not get round to them")
        if rec["ran_s"] > DURATION + 10:
            notes.append(f"snag ran {rec['ran_s']:.0f} s after attaching, for -d {DURATION}")
        rec["notes"] = notes
        rec["dropped"] = {k: v for k, v in ((rep.get("overhead") or {}).get("dropped") or {}).items() if v}
        problems = []
        # The n worker threads (the main thread, in pause(), never switches while traced).
        if rec["seen_threads"] < n:
            problems.append(f"snag's sched[] holds {rec['seen_threads']} threads of the target, expected {n}")
        rec["problems"] = problems
        return rec
    finally:
        if snag is not None and snag.poll() is None:
            stop_snag(snag, 60)
        stop(tgt)
        rec["loadavg_at_end"] = open("/proc/loadavg").read().strip()


def main():
    signal.signal(signal.SIGTERM, on_signal)
    recs = []
    print(f"bench-scale: {ROUNDS} rounds; keys: {' '.join(map(str, KEYS))}; snag -p PID -i {INTERVAL} "
          f"-d {DURATION} on threads N {PERIOD_MS} {STACKS}; steady state from {WARMUP} s after attaching",
          flush=True)
    try:
        for rnd in range(1, ROUNDS + 1):
            for n in KEYS:
                r = run_one(rnd, n)
                recs.append(r)
                if r["error"]:
                    print(f"  round {rnd}/{ROUNDS}  {n:>6} keys  FAILED: {r['error']}", flush=True)
                else:
                    print(f"  round {rnd}/{ROUNDS}  {n:>6} keys  {r['cpu_pct']:.2f} % CPU, "
                          f"{r['rss_steady_mib']:.1f} MiB steady, {r['rss_peak_mib']:.1f} MiB peak "
                          f"(load {r['loadavg_at_start'].split()[0]})", flush=True)
                    for p in r["problems"]:
                        print(f"bench-scale: WRONG: round {rnd} {n} keys: {p}", file=sys.stderr)
                    for p in r["notes"]:
                        print(f"bench-scale: warning: round {rnd} {n} keys: {p}", file=sys.stderr)
    except KeyboardInterrupt:
        print("bench-scale: interrupted", file=sys.stderr)
        for p in children:
            if p.poll() is None:
                if p.args[:3] == [sys.executable, BENCHLIB, "spawn"]:
                    stop_snag(p, 10)
                else:
                    stop(p, signal.SIGTERM, 10)
        sys.exit(130)

    results = []
    failed = False
    for n in KEYS:
        rs = [r for r in recs if r["keys"] == n]
        ok = [r for r in rs if not r["error"]]
        def stat(k):
            xs = [r[k] for r in ok if r.get(k) is not None]
            return {"median": med(xs), "min": min(xs) if xs else None, "max": max(xs) if xs else None}
        res = {"keys": n, "runs": len(rs), "ok_runs": len(ok)}
        for k in ("cpu_pct", "cpu_pct_worst_1s", "rss_steady_mib", "rss_peak_mib", "cpu_ms_total",
                  "startup_s", "target_cpu_pct", "report_bytes"):
            res[k] = stat(k)
        res["seen_threads"] = [r.get("seen_threads") for r in rs]
        res["seen_offcpu_rows"] = [r.get("seen_offcpu_rows") for r in rs]
        res["seen_user_stacks"] = [r.get("seen_user_stacks") for r in rs]
        res["dropped"] = [r.get("dropped") for r in rs]
        res["problems"] = [p for r in rs for p in r.get("problems", [])]
        res["notes"] = [p for r in rs for p in r.get("notes", [])]
        res["intervals"] = [r.get("intervals") for r in rs]
        res["ran_s"] = stat("ran_s")
        res["errors"] = [r["error"] for r in rs if r["error"]]
        res["checks_ok"] = bool(ok) and not res["problems"] and not res["errors"]
        failed |= not res["checks_ok"]
        c, m = res["cpu_pct"]["median"], res["rss_steady_mib"]["median"]
        res["budget"] = {"cpu_pct": CPU_BUDGET, "rss_mib": RSS_BUDGET,
                         "cpu_met": None if c is None else c < CPU_BUDGET,
                         "rss_met": None if m is None else m < RSS_BUDGET}
        results.append(res)
    doc = {
        "schema": "snag-bench-scale/1",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "kernel": os.uname().release, "machine": os.uname().machine, "cpus": os.cpu_count(),
        "rounds": ROUNDS, "keys": KEYS,
        "command": f"snag -p PID -i {INTERVAL} -d {DURATION} --format json -o FILE",
        "target": f"threads N {PERIOD_MS} {STACKS}",
        "period_ms": PERIOD_MS, "stacks": STACKS, "warmup_s": WARMUP, "sample_s": SAMPLE,
        "versions": {"snag": E.get("SNAG_VERSION", "")},
        "loadavg_at_start": E["LOADAVG_START"], "loadavg_at_end": open("/proc/loadavg").read().strip(),
        "results": results, "runs": recs,
    }
    benchlib.write_json(OUT, doc)

    def mm(s, fmt):
        return "-" if s["median"] is None else f"{format(s['min'], fmt)}-{format(s['max'], fmt)}"
    print()
    print(f"snag's own cost by map keys, {ROUNDS} rounds, medians (kernel {doc['kernel']}, "
          f"{doc['cpus']} CPUs, {doc['date']}, load {doc['loadavg_at_start'].split()[0]} -> "
          f"{doc['loadavg_at_end'].split()[0]})")
    rows = []
    for r in results:
        rows.append((f"{r['keys']:,}", num(r["cpu_pct"]["median"], ".2f"), mm(r["cpu_pct"], ".2f"),
                     num(r["cpu_pct_worst_1s"]["median"], ".2f"),
                     num(r["rss_steady_mib"]["median"], ".1f"), num(r["rss_peak_mib"]["median"], ".1f"),
                     mm(r["rss_peak_mib"], ".1f"), num(r["cpu_ms_total"]["median"], ".0f"),
                     num(r["startup_s"]["median"], ".2f"), num(r["ran_s"]["median"], ".0f"),
                     "/".join(str(x) for x in r["intervals"]),
                     "/".join(str(x) for x in r["seen_threads"]),
                     ("ok" if r["checks_ok"] else "WRONG/FAILED") + f" {r['ok_runs']}/{r['runs']}"))
    table(("keys", "CPU %", "min-max", "worst 1s %", "RSS steady MiB", "RSS peak MiB", "min-max",
           "CPU ms total", "startup s", "ran s", "intervals", "threads seen", "checks"), rows,
          {1, 2, 3, 4, 5, 6, 7, 8, 9})
    print()
    print("CPU %: snag's CPU time (schedstat) over the steady state, in % of one core; worst 1s: the")
    print("  busiest second of it; RSS steady: VmHWM at the end of the steady state; RSS peak: wait4")
    print("  maxrss (the whole run, report writing included); CPU ms total: start to exit (rusage);")
    print("  startup: until 'snag: tracing'; ran: from then until it exited (-d, collecting, writing);")
    print("  intervals: in its report (per round); threads seen: the target's threads in its sched[].")
    print()
    for r in results:
        b = r["budget"]
        ok = b["cpu_met"] and b["rss_met"]
        print(f"budget: {r['keys']:,} keys, while tracing: < {CPU_BUDGET:g} % of one core and "
              f"< {RSS_BUDGET:g} MiB: {num(r['cpu_pct']['median'], '.2f')} %, "
              f"{num(r['rss_steady_mib']['median'], '.1f')} MiB -> {'PASS' if ok else 'FAIL'} "
              f"(writing the report: {num(r['rss_peak_mib']['median'], '.1f')} MiB peak)")
        for p in r["problems"]:
            print(f"WRONG: {r['keys']} keys: {p}")
        for p in r["errors"]:
            print(f"FAILED: {r['keys']} keys: {p}")
        for p in r["notes"]:
            print(f"warning: {r['keys']} keys: {p}")
        for d in r["dropped"]:
            if d:
                print(f"warning: {r['keys']} keys: snag dropped {d}")
    print(f"results: {OUT}")
    sys.exit(1 if failed else 0)


main()
PYEOF

export KEYS="$keys" ROUNDS="$rounds" DURATION="$duration" INTERVAL="$interval" WARMUP="$warmup"
export PERIOD_MS="$period_ms" STACKS="$stacks" SAMPLE="$sample" CPU_BUDGET="$cpu_budget"
export RSS_BUDGET="$rss_budget" READY_TIMEOUT="$ready_timeout" PERF_KEYS="$perf_keys"
export BENCHLIB_DIR="$tools_dir" LOG_DIR="$log_dir" OUT="$out_dir/scale.json"
export SNAG SNAG_VERSION TARGET LOADAVG_START
SNAG=$(realpath "$build/snag")
SNAG_VERSION=$("$SNAG" --version 2>/dev/null | head -1 || true)
TARGET=$(realpath "$threads_bin")
LOADAVG_START=$(cat /proc/loadavg)
exec python3 -c "$PY"
