#!/usr/bin/env bash
# On-CPU sampling overhead: snag --cpu side by side with `perf record -g` at the same frequency
# (Debian's libbpf-tools has no `profile`; perf is the standard peer: cpu-clock samples with
# frame-pointer call chains, on every CPU).
#
# Usage: tools/bench-cpu.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#        Not part of `make bench` yet; run it by hand after `make all BUILD=...` and the targets.
#
# Workload: `taskset -c PIN_CPU BUILD_DIR/tests/targets/cpu spin SECONDS`, a CPU-bound loop
# (one thread, always runnable) that prints its ns per iteration: the metric. Every sample
# interrupts it, so what the sampler costs per sample shows as a slowdown.
# Configurations, alternated in every round:
#   untraced
#   snag   `snag --cpu -F HZ --no-offcpu --no-io --format json -o FILE` (system-wide: every
#          CPU samples, the kernel filter keeps user threads)
#   perf   `perf record -e cpu-clock -F HZ -g -a -o FILE` (system-wide, frame-pointer chains)
# Each tracer starts fresh and the workload waits until it is sampling (snag says so; perf is
# given READY_S seconds).
#
# Reported per configuration: median ns per iteration (min-max), slowdown against untraced,
# the tracer's own CPU time over its run and its peak RSS (rusage of the tracer process:
# perf's includes writing perf.data), and for snag the BPF run time per sample from its
# report. Output: a table on stdout, results in BUILD_DIR/bench/cpu.json, logs in
# BUILD_DIR/bench/logs-cpu/. Exit status 1 if snag failed or its report lacks the workload's
# hot function, 2 on a setup error.
#
# Environment: ROUNDS (default 5), SECONDS_PER_RUN (default 3), HZ (default 49), PIN_CPU
# (default the last CPU), CONFIGS (default "untraced snag perf"), READY_S (default 1).
set -euo pipefail

build=${1:-build}
export BENCH_BUILD=$build
export BENCH_ROUNDS=${ROUNDS:-5}
export BENCH_SECONDS=${SECONDS_PER_RUN:-3}
export BENCH_HZ=${HZ:-49}
export BENCH_PIN=${PIN_CPU-$(($(nproc) - 1))}
export BENCH_CONFIGS=${CONFIGS:-untraced snag perf}
export BENCH_READY=${READY_S:-1}

die() {
	echo "bench-cpu: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "must run as root (BPF and perf need it)"
for v in "$BENCH_ROUNDS" "$BENCH_SECONDS" "$BENCH_HZ" "$BENCH_READY"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, SECONDS_PER_RUN, HZ and READY_S must be positive integers"
done
[ -x "$build/snag" ] || die "no $build/snag: run make BUILD=$build first"
[ -x "$build/tests/targets/cpu" ] || die "no $build/tests/targets/cpu: run make BUILD=$build $build/tests/targets/cpu"
command -v perf >/dev/null || die "perf not found (package linux-perf); run 'make deps'"
command -v taskset >/dev/null || die "taskset not found (package util-linux)"

exec python3 - "$(dirname "$0")" <<'PY'
import json, os, signal, subprocess, sys, time

sys.path.insert(0, sys.argv[1])
import benchlib

build = os.environ["BENCH_BUILD"]
rounds = int(os.environ["BENCH_ROUNDS"])
secs = int(os.environ["BENCH_SECONDS"])
hz = int(os.environ["BENCH_HZ"])
pin = os.environ["BENCH_PIN"]
configs = os.environ["BENCH_CONFIGS"].split()
ready_s = int(os.environ["BENCH_READY"])
logs = os.path.join(build, "bench", "logs-cpu")
os.makedirs(logs, exist_ok=True)
snag = os.path.join(build, "snag")
target = os.path.join(build, "tests", "targets", "cpu")
for c in configs:
    if c not in ("untraced", "snag", "perf"):
        sys.exit(f"bench-cpu: unknown configuration '{c}' in CONFIGS (untraced snag perf)")


def start(config, rnd):
    """Start a tracer; return (Popen, output file) once it samples, or (None, None)."""
    if config == "untraced":
        return None, None
    if config == "snag":
        out = os.path.join(logs, f"snag-{rnd}.json")
        err = open(os.path.join(logs, f"snag-{rnd}.err"), "w+")
        p = subprocess.Popen([snag, "--cpu", "-F", str(hz), "--no-offcpu", "--no-io",
                              "--format", "json", "-o", out], stderr=err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            err.seek(0)
            if "snag: tracing" in err.read():
                return p, out
            if p.poll() is not None:
                break
            time.sleep(0.05)
        p.kill()
        sys.exit(f"bench-cpu: snag did not start: see {err.name}")
    out = os.path.join(logs, f"perf-{rnd}.data")
    p = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz), "-g", "-a",
                          "-o", out], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(logs, f"perf-{rnd}.err"), "w"))
    time.sleep(ready_s)
    if p.poll() is not None:
        sys.exit(f"bench-cpu: perf record exited: see {logs}/perf-{rnd}.err")
    return p, out


def stop(p):
    """SIGINT the tracer; its rusage (CPU time, peak RSS) once it has written its output."""
    p.send_signal(signal.SIGINT)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"cpu_ms": (ru.ru_utime + ru.ru_stime) * 1e3, "maxrss_kb": ru.ru_maxrss,
            "exit": p.returncode}


def workload():
    out = subprocess.run(["taskset", "-c", pin, target, "spin", str(secs)], check=True,
                         capture_output=True, text=True).stdout
    for tok in out.split():
        if tok.startswith("ns_per_iteration="):
            return float(tok.split("=")[1])
    sys.exit(f"bench-cpu: the workload printed no rate: {out}")


def snag_report(path):
    """Samples, BPF run time per sample, and the workload's share, from snag's report."""
    r = json.load(open(path))
    runs = sum(p["runs"] for p in r["overhead"]["programs"] if p["name"] == "handle_cpu_sample")
    rt = sum(p["run_time_ns"] for p in r["overhead"]["programs"]
             if p["name"] == "handle_cpu_sample")
    spin = next((f for f in r["cpu_functions"] if f["name"] == "spin_loop"), None)
    return {"samples": sum(c["samples"] for c in r["cpu"]), "prog_runs": runs,
            "bpf_ns_per_sample": rt / runs if runs else None,
            "spin_loop_self_samples": spin["self_samples"] if spin else 0,
            "dropped": sum(r["overhead"]["dropped"].values())}


res = {c: [] for c in configs}
ok = True
for rnd in range(rounds):
    for config in configs:
        p, out = start(config, rnd)
        t0 = time.monotonic()
        ns = workload()
        run = {"ns_per_iteration": ns}
        if p:
            run.update(stop(p))
            run["tracer_cpu_ms_per_s"] = run["cpu_ms"] / (time.monotonic() - t0)
            if config == "snag":
                if run["exit"] != 0:
                    ok = False
                else:
                    run.update(snag_report(out))
                    # A 1-thread loop on one CPU: about HZ samples a second land in spin_loop.
                    if run["spin_loop_self_samples"] < hz * secs / 2:
                        print(f"bench-cpu: snag saw spin_loop in only "
                              f"{run['spin_loop_self_samples']} samples", file=sys.stderr)
                        ok = False
            else:
                run["data_bytes"] = os.path.getsize(out) if os.path.exists(out) else None
        res[config].append(run)
        print(f"round {rnd + 1} {config}: {ns:.4f} ns/iteration", file=sys.stderr)

base = benchlib.med([r["ns_per_iteration"] for r in res.get("untraced", [])])
rows, summary = [], {}
for config in configs:
    xs = [r["ns_per_iteration"] for r in res[config]]
    m = benchlib.med(xs)
    s = {"ns_per_iteration": m, "min": min(xs), "max": max(xs),
         "slowdown": (m / base - 1) if base else None,
         "tracer_cpu_ms_per_s": benchlib.med([r.get("tracer_cpu_ms_per_s") for r in res[config]]),
         "maxrss_kb": benchlib.med([r.get("maxrss_kb") for r in res[config]]),
         "bpf_ns_per_sample": benchlib.med([r.get("bpf_ns_per_sample") for r in res[config]])}
    summary[config] = s
    rows.append([config, benchlib.num(m, ".4f"), f"{min(xs):.4f}-{max(xs):.4f}",
                 benchlib.num(None if s["slowdown"] is None else s["slowdown"] * 100, "+.2f", "%"),
                 benchlib.num(s["tracer_cpu_ms_per_s"], ".1f"),
                 benchlib.num(None if s["maxrss_kb"] is None else s["maxrss_kb"] / 1024, ".1f"),
                 benchlib.num(s["bpf_ns_per_sample"], ".0f")])
print(f"CPU-bound loop pinned to CPU {pin}, {secs} s per run, {rounds} rounds, sampling at "
      f"{hz} Hz on every CPU")
benchlib.table(["config", "ns/iter", "min-max", "slowdown", "tracer CPU ms/s", "RSS MiB",
                "BPF ns/sample"], rows, {1, 2, 3, 4, 5, 6})
benchlib.write_json(os.path.join(build, "bench", "cpu.json"),
                    {"hz": hz, "seconds": secs, "rounds": rounds, "pin_cpu": pin,
                     "summary": summary, "runs": res})
sys.exit(0 if ok else 1)
PY
