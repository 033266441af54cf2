"""Helpers shared by the benchmarks (imported by the embedded Python of tools/bench-funclat.sh,
bench-sched.sh, bench-io.sh and bench-scale.sh, and by tools/bench-results.py; bench-scale.sh
also runs it as a command, for spawn).

As a module: spawn(), cpu_ns(), snapshot(), read_proc_snapshot(), prog_delta(), med(),
table(), num(), write_json(). As a command (python3 tools/benchlib.py CMD ...):

  spawn RUSAGE_FILE PID_FILE CMD ARGS..   run CMD as a child, write its pid to PID_FILE and,
                                          when it exits, its rusage to RUSAGE_FILE (JSON);
                                          exit with its status
  stats NAME=PID..                        snapshot(): JSON on stdout
  runcnt NAME=PID..                       total run_cnt of the BPF programs the processes hold
  loaded                                  every BPF program loaded on the machine (JSON)
  waitruns TIMEOUT any|all NAME=PID.. [-- TRIGGER ARGS..]
                                          until the run_cnt of any (or all) of the programs
                                          the processes hold has grown: with bpf_stats on,
                                          only attached programs count runs; runs TRIGGER
                                          before each look (to make events happen); exit 1
                                          on timeout, if a process exits or holds no program
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time


def spawn(rus_file, pid_file, argv):
    """Run argv as a child; write its pid to pid_file, and at its exit its rusage (which
    includes its reaped descendants) to rus_file; exit with its status."""
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    # The caller signals the child itself; a terminal Ctrl-C reaches the child too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(pid_file + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.replace(pid_file + ".tmp", pid_file)
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    rc = os.waitstatus_to_exitcode(status)
    with open(rus_file, "w") as f:
        json.dump({"cpu_ns": int((ru.ru_utime + ru.ru_stime) * 1e9),
                   "utime_s": ru.ru_utime, "stime_s": ru.ru_stime,
                   "maxrss_kb": ru.ru_maxrss,
                   "nvcsw": ru.ru_nvcsw, "nivcsw": ru.ru_nivcsw, "exit_code": rc}, f)
    sys.exit(rc if rc >= 0 else 128 - rc)


def cpu_ns(pid):
    """CPU time of all threads of pid, in ns (schedstat's sum_exec_runtime: exact)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def vm_hwm_kb(pid):
    """Peak resident set size of pid (VmHWM), in KiB; None if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def prog_ids(pid):
    """Ids of the BPF programs pid holds, as fds or through links (/proc/PID/fdinfo)."""
    ids = set()
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def snapshot(named_pids):
    """named_pids: ["tool=PID", ...]. The BPF programs each process holds, with cumulative
    bpf_stats (run_cnt, run_time_ns); each process's CPU time and peak RSS."""
    owners = {}
    res = {"tools": {}, "progs": []}
    for np in named_pids:
        name, pid = np.split("=")
        for i in prog_ids(pid):
            owners[i] = name
        res["tools"][name] = {"pid": int(pid), "cpu_ns": cpu_ns(pid), "vm_hwm_kb": vm_hwm_kb(pid)}
    res["monotonic_ns"] = time.monotonic_ns()
    if owners:
        out = subprocess.run(["bpftool", "prog", "show", "-j"], check=True,
                             capture_output=True, text=True).stdout
        for p in json.loads(out):
            if p["id"] in owners:
                res["progs"].append({"id": p["id"], "tool": owners[p["id"]],
                                     "name": p.get("name", ""), "type": p.get("type", ""),
                                     "run_cnt": p.get("run_cnt", 0),
                                     "run_time_ns": p.get("run_time_ns", 0)})
    return res


# A snapshot cheap enough to take around a workload without disturbing what it measures:
# snapshot() starts bpftool, some 10,000 syscalls (every one of which runs a system-wide
# syscall tracer's programs). In shell, one grep reads everything:
#   { echo "# tool NAME PID $EPOCHREALTIME"
#     grep -H '' /proc/PID/fdinfo/* /proc/PID/task/*/schedstat /proc/PID/status; } >FILE
# The fdinfo of a BPF program fd has its prog_id, run_time_ns and run_cnt (bpf_stats).


def read_proc_snapshot(path, names=None):
    """Parse a file written as above (several may be concatenated) into
    snapshot()'s form; names: {prog id: {"name":, "type":}} from a snapshot(), to label the
    programs. Programs held only through links (no stats in their fdinfo) are not listed."""
    res = {"tools": {}, "progs": []}
    tool = pid = None
    fds = {}
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# tool "):
            _, _, tool, pid, t = line.split()
            res["tools"][tool] = {"pid": int(pid), "cpu_ns": 0, "vm_hwm_kb": None}
            res["monotonic_ns"] = int(float(t) * 1e9)  # realtime, for window lengths only
            continue
        f, _, val = line.partition(":")
        if "/schedstat" in f:
            res["tools"][tool]["cpu_ns"] += int(val.split()[0])
        elif f.endswith("/status") and val.startswith("VmHWM:"):
            res["tools"][tool]["vm_hwm_kb"] = int(val.split()[1])
        elif "/fdinfo/" in f:
            k, _, v = val.partition(":")
            fds.setdefault((tool, f), {})[k] = v.strip()
    seen = set()
    for (tl, _), kv in sorted(fds.items()):
        if "prog_id" in kv and "run_cnt" in kv and int(kv["prog_id"]) not in seen:
            i = int(kv["prog_id"])
            seen.add(i)
            nm = (names or {}).get(i, {})
            res["progs"].append({"id": i, "tool": tl, "name": nm.get("name", f"prog{i}"),
                                 "type": nm.get("type", ""), "run_cnt": int(kv["run_cnt"]),
                                 "run_time_ns": int(kv.get("run_time_ns", 0))})
    return res


def prog_delta(before, after):
    """Programs of `after` with run_cnt and run_time_ns minus those of `before`."""
    b = {p["id"]: p for p in before["progs"]}
    out = []
    for p in after["progs"]:
        q = b.get(p["id"], {"run_cnt": 0, "run_time_ns": 0})
        out.append(dict(p, run_cnt=p["run_cnt"] - q["run_cnt"],
                        run_time_ns=p["run_time_ns"] - q["run_time_ns"]))
    return out


TRACING_TYPES = {"tracepoint", "raw_tracepoint", "raw_tracepoint_writable", "tracing", "kprobe",
                 "perf_event"}


def loaded():
    """Every BPF program on the machine: id, name, type, and whether it is a tracing type
    (another tracer running system-wide slows down every configuration of a benchmark)."""
    out = subprocess.run(["bpftool", "prog", "show", "-j"], check=True,
                         capture_output=True, text=True).stdout
    return [{"id": p["id"], "name": p.get("name", ""), "type": p.get("type", ""),
             "tracing": p.get("type", "") in TRACING_TYPES, "pids": p.get("pids", [])}
            for p in json.loads(out)]


def wait_runs(timeout, mode, named_pids, trigger=None):
    """See waitruns above. Returns True once the condition holds."""
    pids = [int(np.split("=")[1]) for np in named_pids]
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        for pid in pids:
            if not os.path.exists(f"/proc/{pid}"):
                return False
        if trigger and first is not None:
            subprocess.run(trigger, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            now = {p["id"]: p["run_cnt"] for p in snapshot(named_pids)["progs"]}
        except (OSError, subprocess.CalledProcessError, ValueError):
            return False
        if first is None:
            if not now:
                return False
            first = now
        else:
            grew = [now.get(i, 0) > c for i, c in first.items()]
            if (all if mode == "all" else any)(grew):
                return True
        time.sleep(0.1)
    return False


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(x, fmt, suffix=""):
    return "-" if x is None else format(x, fmt) + suffix


def table(hdr, rows, right, out=sys.stdout):
    """Print rows under hdr, columns padded; columns whose index is in `right` right-aligned."""
    w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
    for row in [hdr] + rows:
        print("  ".join(str(c).rjust(w[i]) if i in right else str(c).ljust(w[i])
                        for i, c in enumerate(row)).rstrip(), file=out)


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv, prog="benchlib"):
    cmd = argv[0] if argv else ""
    if cmd == "spawn" and len(argv) >= 4:
        spawn(argv[1], argv[2], argv[3:])
    elif cmd in ("stats", "runcnt"):
        try:
            s = snapshot(argv[1:])
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            print(f"{prog}: cannot read BPF program stats: {e}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(s) if cmd == "stats" else sum(p["run_cnt"] for p in s["progs"]))
    elif cmd == "loaded":
        try:
            print(json.dumps(loaded()))
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            print(f"{prog}: bpftool prog show: {e}", file=sys.stderr)
            sys.exit(1)
    elif cmd == "waitruns" and len(argv) >= 4 and argv[2] in ("any", "all"):
        rest = argv[3:]
        trigger = None
        if "--" in rest:
            trigger = rest[rest.index("--") + 1:]
            rest = rest[:rest.index("--")]
        sys.exit(0 if wait_runs(float(argv[1]), argv[2], rest, trigger) else 1)
    else:
        print(f"usage: {prog} spawn RUSAGE PIDFILE CMD.. | stats NAME=PID.. | runcnt NAME=PID.. | loaded | "
              "waitruns TIMEOUT any|all NAME=PID.. [-- TRIGGER..]",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
