#!/usr/bin/env python3
"""Collect the benchmarks' results into the repository: bench/results/<name>.json and summary.json.

Usage: tools/bench-results.py BUILD_DIR RESULTS_DIR [NAME..]

Copies BUILD_DIR/bench/NAME.json (NAME: funclat, sched, io, cpu, mem, scale, service; default:
every one that exists) to RESULTS_DIR/NAME.json, with paths under the repository made relative, then writes
RESULTS_DIR/summary.json from all the NAME.json files in RESULTS_DIR, so a benchmark run alone
replaces its own results and keeps the others' (each with its own date and load average).

summary.json (schema snag-bench-summary/1) has, per workload and tracer: the slowdown against
untraced (median, and min-max: the fastest and slowest traced run over the untraced median),
the BPF programs' ns per run and runs per operation, the tracer's CPU in % of one core during
the workload and its peak RSS in MiB; and per benchmark its date, kernel and load average.
The services (bench-service.sh) are workloads too, their operation a request: the slowdown is
the untraced throughput over the traced one, and each tracer also has its throughput lost in
% (of the medians, and paired round by round) and its BPF program runs per request.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import benchlib  # noqa: E402

NAMES = ("funclat", "sched", "io", "cpu", "mem", "scale", "service")
REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def relativize(x):
    """Paths under the repository (targets, logs) relative to it: no machine's checkout path."""
    if isinstance(x, str):
        return x.replace(REPO + "/", "")
    if isinstance(x, list):
        return [relativize(v) for v in x]
    if isinstance(x, dict):
        return {k: relativize(v) for k, v in x.items()}
    return x


def spread(values, base):
    """Median and min-max of values over base (a ratio each), or None."""
    xs = [v for v in values if v is not None]
    if not xs or not base:
        return None
    return {"median": benchlib.med(xs) / base, "min": min(xs) / base, "max": max(xs) / base}


def mib(kb):
    return kb / 1024 if kb else None


def source(name, doc):
    return {"file": f"{name}.json", "date": doc.get("date"), "kernel": doc.get("kernel"),
            "cpus": doc.get("cpus"), "rounds": doc.get("rounds") or doc.get("n_rounds"),
            "versions": doc.get("versions"),
            "loadavg_at_start": doc.get("loadavg_at_start"),
            "loadavg_at_end": doc.get("loadavg_at_end")}


def tracer(tool, res, base, values, bpf_ns_per_op, programs):
    checks = res.get("counts_ok", res.get("checks_ok"))
    return {"tool": tool, "snag": tool == "snag",
            "slowdown": spread(values, base),
            "bpf_ns_per_op": bpf_ns_per_op,
            "bpf_programs": programs,
            "tool_cpu_pct": res.get("tool_cpu_pct"),
            "peak_rss_mib": mib(res.get("tool_peak_rss_kb")),
            "runs": res.get("runs") if isinstance(res.get("runs"), int) else res.get("n_runs"),
            "ok_runs": res.get("ok_runs"), "checks_ok": checks}


def funclat(doc):
    out = []
    for v in ("push", "lea"):
        rs = [r for r in doc.get("results", []) if r["variant"] == v]
        base = next((r for r in rs if r["tool"] == "untraced"), None)
        if not base or base.get("median_ns_per_call") is None:
            continue
        b = base["median_ns_per_call"]
        first = doc.get("first_instruction", {}).get(f"bench_{v}", v).split(" ")[0]
        how = "emulated" if v == "push" else "single-stepped"
        w = {"id": f"funclat-{v}", "benchmark": "funclat",
             "title": f"function calls, probe on a {first} ({how})",
             "short": f"calls ({v})", "op": "call", "n": base["n"],
             "untraced": {"median": b, "min": base["min_ns_per_call"], "max": base["max_ns_per_call"],
                          "unit": "ns per call"},
             "tracers": []}
        for r in rs:
            if r["tool"] == "untraced":
                continue
            progs = [{"name": p["name"], "ns_per_run": p["ns_per_run"], "runs_per_op": 1.0}
                     for p in r.get("bpf_programs", [])]
            w["tracers"].append(tracer(r["tool"], r, b, r.get("ns_per_call", []),
                                       r.get("bpf_ns_per_call"), progs))
        out.append(w)
    return out


SCHED_TITLES = {"pipe": "context switches: pipe ping-pong, one CPU",
                "mixed": "context switches: ping-pong + 1 ms sleepers",
                "pipe-free": "context switches: pipe ping-pong, unpinned"}
SCHED_SHORT = {"pipe": "switches (pipe)", "mixed": "switches (mixed)",
               "pipe-free": "switches (unpinned)"}


def sched(doc):
    out = []
    for wl in ("pipe", "mixed", "pipe-free"):
        rs = [r for r in doc.get("results", []) if r["workload"] == wl]
        base = next((r for r in rs if r["config"] == "untraced"), None)
        if not base or base.get("median_us_per_op") is None:
            continue
        b = base["median_us_per_op"]
        w = {"id": f"sched-{wl}", "benchmark": "sched", "title": SCHED_TITLES[wl],
             "short": SCHED_SHORT[wl], "op": "context switch", "n": base["n"],
             # Unpinned, the untraced time varies 2-5x between runs: for reference only.
             "reference": wl == "pipe-free",
             "untraced": {"median": b, "min": base["min_us_per_op"], "max": base["max_us_per_op"],
                          "unit": "us per op"},
             "tracers": []}
        for r in rs:
            if r["config"] == "untraced":
                continue
            tool = "snag" if r["config"] == "snag" else "offcputime+runqlat"
            progs = [{"name": p["name"] if r["config"] == "snag" else f"{p['tool']}:{p['name']}",
                      "ns_per_run": p["ns_per_run"], "runs_per_op": p["runs_per_switch"]}
                     for p in sorted(r.get("bpf_programs", []), key=lambda p: -p["ns_per_switch"])]
            w["tracers"].append(tracer(tool, r, b, r.get("us_per_op", []),
                                       r.get("bpf_ns_per_switch"), progs))
        out.append(w)
    return out


IO_TITLES = {"block": "block: 4 KiB O_DIRECT writes", "syscalls": "syscalls: 1-byte writes to /dev/null",
             "network": "network: 100-byte loopback TCP messages"}


# Its time is the disk's, which varies from run to run more than any tracer's cost.
IO_NOTES = {"block": "disk-bound: the disk varies more than tracers cost"}


def io(doc):
    out = []
    for wl in ("block", "syscalls", "network"):
        d = doc.get("workloads", {}).get(wl)
        if not d:
            continue
        base = d["tools"].get("untraced")
        if not base or base.get("median_ns_per_op") is None:
            continue
        b = base["median_ns_per_op"]
        w = {"id": f"io-{wl}", "benchmark": "io", "title": IO_TITLES[wl], "short": wl,
             "note": IO_NOTES.get(wl),
             "op": d.get("op"), "n": d.get("n"),
             "untraced": {"median": b, "min": base["min_ns_per_op"], "max": base["max_ns_per_op"],
                          "unit": "ns per op"},
             "tracers": []}
        for tool, r in d["tools"].items():
            if tool == "untraced":
                continue
            progs = [{"name": p["name"], "ns_per_run": p["ns_per_run"], "runs_per_op": p["runs_per_op"]}
                     for p in sorted(r.get("bpf_programs", []), key=lambda p: -(p["ns_per_op"] or 0))
                     if p["ns_per_run"] is not None]
            w["tracers"].append(tracer(tool, r, b, r.get("ns_per_op", []), r.get("bpf_ns_per_op"),
                                       progs))
        out.append(w)
    return out


def cpu(doc):
    """bench-cpu.sh: a CPU-bound loop, untraced / snag --cpu / perf record at the same rate."""
    runs = doc.get("runs", {})
    base = benchlib.med([r.get("ns_per_iteration") for r in runs.get("untraced", [])])
    if not base:
        return []
    w = {"id": "cpu-sampling", "benchmark": "cpu",
         "title": f"on-CPU sampling at {doc.get('hz')} Hz: a CPU-bound loop", "short": "on-CPU sampling",
         "op": "iteration", "n": None,
         "untraced": {"median": base, "unit": "ns per iteration"}, "tracers": []}
    for config, rs in runs.items():
        if config == "untraced":
            continue
        s = doc.get("summary", {}).get(config, {})
        w["tracers"].append({"tool": config, "snag": config.startswith("snag"),
                             "slowdown": spread([r.get("ns_per_iteration") for r in rs], base),
                             "bpf_ns_per_op": None,
                             "bpf_ns_per_sample": s.get("bpf_ns_per_sample"),
                             "tool_cpu_pct": (s.get("tracer_cpu_ms_per_s") or 0) / 10
                             if s.get("tracer_cpu_ms_per_s") is not None else None,
                             "peak_rss_mib": mib(s.get("maxrss_kb")), "runs": len(rs)})
    return [w]


def mem(doc):
    """bench-mem.sh: a malloc+free loop, untraced / snag --mem (sampled or not) / bpftrace."""
    configs = doc.get("configs", {})
    base = configs.get("untraced", {}).get("median_ns_per_pair")
    if not base:
        return []
    w = {"id": "mem-alloc", "benchmark": "mem",
         "title": f"allocations: malloc({doc.get('size')}) + free pairs", "short": "allocations",
         "op": "pair", "n": doc.get("n"),
         "untraced": {"median": base, "unit": "ns per pair"}, "tracers": []}
    for config, d in configs.items():
        if config == "untraced":
            continue
        w["tracers"].append({"tool": config, "snag": config.startswith("snag"),
                             "slowdown": spread([r.get("ns_per_pair") for r in d.get("runs", [])],
                                                base),
                             "bpf_ns_per_op": d.get("bpf_ns_per_pair"),
                             "tool_cpu_ms": d.get("tool_cpu_ms"), "sample": d.get("sample"),
                             "runs": len(d.get("runs", [])), "checks_ok": not d.get("problems")})
    return [w]


SERVICE_TITLES = {"redis": "redis-server: redis-benchmark GET, 20 clients",
                  "pgbench": "PostgreSQL: pgbench -S, 1 client, one CPU"}
SERVICE_TOOLS = {"snag": "snag -p", "snag-no-io": "snag -p --no-io",
                 "snag-no-offcpu": "snag -p --no-offcpu", "snag-system": "snag system-wide",
                 "peers": "offcputime+runqlat+biolatency+syscount",
                 "peers-offcpu": "offcputime+runqlat", "peers-io": "biolatency+syscount"}


def service(doc):
    """bench-service.sh: real services' throughput, untraced and under each configuration. The
    time per request is 1 / throughput, so the slowdown is untraced req/s over traced."""
    out = []
    for svc, d in doc.get("services", {}).items():
        cf = d.get("configs", {})
        base = cf.get("untraced")
        if not base or not base.get("median_rps"):
            continue
        b = 1e9 / base["median_rps"]
        w = {"id": f"service-{svc}", "benchmark": "service", "title": SERVICE_TITLES.get(svc, svc),
             "short": svc, "op": d.get("op"), "n": None,
             "untraced": {"median": b, "min": 1e9 / base["max_rps"], "max": 1e9 / base["min_rps"],
                          "unit": "ns per request", "requests_per_s": base["median_rps"]},
             "tracers": []}
        for c, r in cf.items():
            if c == "untraced":
                continue
            progs = [{"name": p["name"] if p["tool"] == "snag" else f"{p['tool']}:{p['name']}",
                      "ns_per_run": p["ns_per_run"], "runs_per_op": p["runs_per_op"]}
                     for p in r.get("bpf_programs", []) if p["ns_per_run"] is not None]
            t = tracer(SERVICE_TOOLS.get(c, c), r, b, r.get("ns_per_op", []), r.get("bpf_ns_per_op"),
                       progs)
            t["snag"] = c.startswith("snag")
            t["config"] = c
            t["throughput_lost_pct"] = r.get("throughput_lost_pct")
            t["paired_lost_pct"] = {"median": r.get("paired_lost_pct_median"),
                                    "min": r.get("paired_lost_pct_min"),
                                    "max": r.get("paired_lost_pct_max")}
            t["bpf_runs_per_op"] = r.get("bpf_runs_per_op")
            w["tracers"].append(t)
        out.append(w)
    return out


def scale(doc):
    rows = []
    for r in doc.get("results", []):
        rows.append({"keys": r["keys"], "cpu_pct": r["cpu_pct"], "cpu_pct_worst_1s": r["cpu_pct_worst_1s"],
                     "rss_steady_mib": r["rss_steady_mib"], "rss_peak_mib": r["rss_peak_mib"],
                     "budget": r.get("budget"), "intervals": r.get("intervals"),
                     "checks_ok": r.get("checks_ok")})
    return {"command": doc.get("command"), "target": doc.get("target"), "results": rows}


def summarize(results_dir):
    docs = {}
    for name in NAMES:
        path = os.path.join(results_dir, f"{name}.json")
        if os.path.exists(path):
            with open(path) as f:
                docs[name] = json.load(f)
    summary = {"schema": "snag-bench-summary/1",
               "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "kernel": os.uname().release, "machine": os.uname().machine, "cpus": os.cpu_count(),
               "loadavg": open("/proc/loadavg").read().strip(),
               "sources": {n: source(n, d) for n, d in docs.items()},
               "workloads": []}
    for name, fn in (("funclat", funclat), ("sched", sched), ("io", io), ("cpu", cpu), ("mem", mem),
                     ("service", service)):
        if name in docs:
            summary["workloads"] += fn(docs[name])
    if "scale" in docs:
        summary["scale"] = scale(docs["scale"])
    return summary


def main(argv):
    if len(argv) < 2 or any(n not in NAMES for n in argv[2:]):
        print(f"usage: bench-results.py BUILD_DIR RESULTS_DIR [{'|'.join(NAMES)}..]", file=sys.stderr)
        return 2
    build, results_dir = argv[0], argv[1]
    names = argv[2:] or [n for n in NAMES if os.path.exists(os.path.join(build, "bench", f"{n}.json"))]
    os.makedirs(results_dir, exist_ok=True)
    for n in names:
        src = os.path.join(build, "bench", f"{n}.json")
        try:
            with open(src) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"bench-results: cannot read {src}: {e}", file=sys.stderr)
            return 1
        benchlib.write_json(os.path.join(results_dir, f"{n}.json"), relativize(doc))
        print(f"bench-results: {os.path.join(results_dir, n + '.json')} (from {src})")
    summary = summarize(results_dir)
    path = os.path.join(results_dir, "summary.json")
    benchlib.write_json(path, summary)
    print(f"bench-results: {path}: {len(summary['workloads'])} workloads"
          f"{', scale' if 'scale' in summary else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
