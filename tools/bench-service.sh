#!/usr/bin/env bash
# `make bench`: what tracing costs a real service, end to end: the throughput lost by Debian's
# redis-server and PostgreSQL under snag's default mode, each of its collectors alone, its
# system-wide mode, and the libbpf-tools that cover the same ground; and where the BPF
# program runs per request go, program by program.
#
# Usage: tools/bench-service.sh [BUILD_DIR]        (root; default BUILD_DIR=build)
#
# Services (SERVICES), each started by this script on a free port of 127.0.0.1, in a
# throwaway directory, and stopped at the end:
#   redis    redis-server with a throwaway config (no RDB, no AOF, loopback only), one key
#            set; the load: `redis-benchmark -t get -c REDIS_CLIENTS -n REDIS_REQUESTS --csv`
#            (20 clients, 120,000 GETs), both pinned to PIN_CPU. redis serves them from one
#            event-loop thread that rarely blocks: syscall- and softirq-heavy, few context
#            switches per request. Metric: redis-benchmark's requests/s. Target (-p):
#            redis-server.
#   pgbench  PostgreSQL from initdb in a temporary directory (run as the postgres user;
#            fsync off; scale PG_SCALE), under `taskset -c PIN_CPU pgbench -n -S -M prepared
#            -c 1 -j 1`: one client, read-only primary-key SELECTs. A different profile: each
#            transaction is a request-response ping-pong between pgbench and its backend
#            process, both blocking once per transaction (context-switch-heavy, few syscalls
#            per switch).
#            One client because PostgreSQL forks a backend per connection, after the tracers
#            would be started, and offcputime, runqlat and syscount each take one -p PID: the
#            backend of a single client is the one process all of them can follow. So
#            pgbench runs first, the tracers attach to its backend, and the throughput is
#            pgbench's own per-second progress (-P 1 --progress-timestamp) over PG_SECONDS
#            taken WARMUP s after they attached. Target (-p): the backend.
#            The backend is pinned to pgbench's CPU.
#   Why one CPU: unpinned, the scheduler puts each service and its client on one CPU or on
#   two, differently from run to run and even within a run; pgbench's throughput differs 3x
#   between the two (on two CPUs every transaction wakes an idle vCPU), and redis-benchmark's
#   ranged 40,000-90,000 GET/s untraced on this 2-CPU machine while others ran tests on it.
#   Pinned to one CPU, each holds to a few percent, other load runs mostly on the other CPU,
#   and what the tracing costs on that CPU, the client's share included, is what the
#   throughput loses. PIN_CPU=none runs them unpinned (as the issue's first figures were).
#            (A syscall-heavy file server would need a load generator that Debian 12 does not
#            install with the server; PostgreSQL and pgbench come in one package.)
# Configurations (CONFIGS), alternated within every round, each with freshly started tracers
# that are attached before the load starts and stopped (SIGINT) after it:
#   untraced
#   snag            snag -p PID -o FILE --format json        (default: off-CPU + I/O)
#   snag-no-io      snag -p PID --no-io ...                  (the off-CPU collector alone)
#   snag-no-offcpu  snag -p PID --no-offcpu ...              (the I/O collector alone)
#   snag-system     snag -o FILE --format json               (no -p: what `snag -d N` runs)
#   peers           offcputime -p PID + runqlat -p PID + biolatency + syscount -L -p PID
#                   (libbpf-tools, all four at once: the same ground as snag's default)
#   peers-offcpu    offcputime -p PID + runqlat -p PID       (the counterpart of --no-io)
#   peers-io        biolatency + syscount -L -p PID          (the counterpart of --no-offcpu)
#
# Reported per service and configuration (medians over the rounds): throughput, its min-max,
# the throughput lost against untraced (the medians' ratio; and paired: each round's traced
# run against that round's untraced run, median and min-max), latency, the BPF program runs
# and run time per request (kernel.bpf_stats_enabled=1: run_cnt and run_time_ns of every
# program the tracers hold, read from /proc/PID/fdinfo before and after the load; a request
# is a GET or a transaction), per program too, the tracers' CPU in % of one core and peak
# RSS, and the CPU that other processes took meanwhile on PIN_CPU (its busy time from
# /proc/stat minus the service's and the client's) and on the machine (minus the tracers'
# too): a run that other load disturbed shows there. snag's reports are checked against the kernel's counts:
# redis-server's socket reads and writes against the requests sent, the target's context
# switches against /proc.
#
# Then (ATTRIBUTION=1) one more, untimed, run of snag's default mode per service with
# `perf stat` counting the same tracepoints system-wide, in the target, in the client and
# in snag, over PG_SECONDS of steady load (for redis too, from a longer redis-benchmark):
# which program runs come from processes that are not the target (for redis, the client's
# own syscalls hitting the system-wide raw syscall tracepoints, and so on), and how many
# syscalls are of the read/write family snag keeps.
#
# Output: a table on stdout, results in BUILD_DIR/bench/service.json (runs in
# BUILD_DIR/bench/service-runs.jsonl), logs and reports in BUILD_DIR/bench/logs-service/.
# Exit status 1 if snag failed to run or miscounted, 2 on a setup error.
#
# Environment: ROUNDS (default 5), SERVICES (default "redis pgbench"), CONFIGS (default
# "untraced snag snag-no-io snag-no-offcpu snag-system peers peers-offcpu peers-io"),
# REDIS_CLIENTS (20), REDIS_REQUESTS (120000), PG_SECONDS (10), PG_SCALE (1), PIN_CPU (the
# CPU of both services and their clients, default the last one; "none": unpinned), WARMUP (s
# between the tracers' attaching and the load, default 1; bench-scale.sh has a WARMUP too,
# which a suite run sets for both), ATTRIBUTION (1 or 0, default 1),
# BPF_STATS (1: set kernel.bpf_stats_enabled=1 for every run, the default, as the other
# benchmarks do; 0: leave it as it is, so the peers run without run-time statistics, as
# users run them, while snag still enables them for itself (it always does), and the peers'
# program rows are empty), READY_TIMEOUT seconds (default 30).
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME with a decimal point

build=${1:-build}
rounds=${ROUNDS:-5}
services=${SERVICES:-redis pgbench}
configs=${CONFIGS:-untraced snag snag-no-io snag-no-offcpu snag-system peers peers-offcpu peers-io}
redis_clients=${REDIS_CLIENTS:-20}
redis_requests=${REDIS_REQUESTS:-120000}
pg_seconds=${PG_SECONDS:-10}
pg_scale=${PG_SCALE:-1}
warmup=${WARMUP:-1}
attribution=${ATTRIBUTION:-1}
bpf_stats=${BPF_STATS:-1}
pin_cpu=${PIN_CPU-$(($(nproc) - 1))}
ready_timeout=${READY_TIMEOUT:-30}
stop_timeout=60

die() {
	echo "bench-service: $*" >&2
	exit 2
}
warn() { echo "bench-service: warning: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (BPF and kernel.bpf_stats_enabled need it): sudo make bench"
for v in "$rounds" "$redis_clients" "$redis_requests" "$pg_seconds" "$pg_scale" "$ready_timeout"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS, REDIS_CLIENTS, REDIS_REQUESTS, PG_SECONDS, PG_SCALE and READY_TIMEOUT must be positive integers"
done
[[ "$warmup" =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds"
[[ "$attribution" =~ ^[01]$ ]] || die "ATTRIBUTION must be 0 or 1"
[[ "$bpf_stats" =~ ^[01]$ ]] || die "BPF_STATS must be 0 or 1"
[ -n "${configs// /}" ] || die "CONFIGS is empty"
[ -n "${services// /}" ] || die "SERVICES is empty (redis pgbench)"
for c in $configs; do
	case "$c" in
	untraced | snag | snag-no-io | snag-no-offcpu | snag-system | peers | peers-offcpu | peers-io) ;;
	*) die "unknown configuration '$c' in CONFIGS (untraced snag snag-no-io snag-no-offcpu snag-system peers peers-offcpu peers-io)" ;;
	esac
done
for s in $services; do
	case "$s" in
	redis | pgbench) ;;
	*) die "unknown service '$s' in SERVICES (redis pgbench)" ;;
	esac
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
need() { command -v "$1" >/dev/null || die "$1 not found ($2); run 'make deps'"; }
need python3 "python3"
need bpftool "package bpftool"
need stdbuf "package coreutils"
need mountpoint "package util-linux"
need runuser "package util-linux"
need pgrep "package procps"
if has "$services" redis; then
	need redis-server "package redis-server"
	need redis-benchmark "package redis-tools"
	need redis-cli "package redis-tools"
fi
pg_bin=
if has "$services" pgbench; then
	# Debian installs the server's programs under /usr/lib/postgresql/VERSION/bin, not on PATH.
	pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
	[ -d "$pg_bin" ] || die "PostgreSQL not found (no /usr/lib/postgresql/*/bin; package postgresql); run 'make deps'"
	for p in initdb pg_ctl postgres pgbench; do
		[ -x "$pg_bin/$p" ] || die "$pg_bin/$p not found (package postgresql); run 'make deps'"
	done
	id postgres >/dev/null 2>&1 || die "no user 'postgres' (package postgresql creates it); run 'make deps'"
fi
for c in $configs; do
	case "$c" in
	peers) for t in offcputime runqlat biolatency syscount; do need "$t" "package libbpf-tools"; done ;;
	peers-offcpu) for t in offcputime runqlat; do need "$t" "package libbpf-tools"; done ;;
	peers-io) for t in biolatency syscount; do need "$t" "package libbpf-tools"; done ;;
	esac
done
[ "$attribution" -eq 0 ] || need perf "package linux-perf"
pin=()
if [ "$pin_cpu" != none ]; then
	need taskset "package util-linux"
	{ [[ "$pin_cpu" =~ ^[0-9]+$ ]] && taskset -c "$pin_cpu" true 2>/dev/null; } ||
		die "PIN_CPU=$pin_cpu is not a CPU this process can run on (or 'none')"
	pin=(taskset -c "$pin_cpu")
fi
tools_dir=$(dirname "$(realpath "$0")")
[ -r "$tools_dir/benchlib.py" ] || die "$tools_dir/benchlib.py missing"
if [[ " $configs" == *" snag"* ]] || [ "$attribution" -eq 1 ]; then
	[ -x "$build/snag" ] || die "$build/snag missing; run 'make BUILD=$build'"
fi
snag_bin=$(realpath -m "$build/snag")

# libbpf-tools attach classic tracepoints, whose ids libbpf reads from tracefs, and perf
# counts them; a new machine does not have it mounted (snag uses tp_btf and does not need it).
if ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs nodev /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing (libbpf-tools and perf need it)"
	echo "bench-service: mounted tracefs at /sys/kernel/tracing (libbpf-tools and perf need it; left mounted)"
fi

# The tracepoints snag's default mode attaches (perf counts them in the attribution run),
# and the read/write-family syscalls its sys_enter/sys_exit programs keep.
attr_tps="raw_syscalls:sys_enter raw_syscalls:sys_exit sock:sock_send_length sock:sock_recv_length
sched:sched_switch sched:sched_waking sched:sched_wakeup_new sched:sched_process_exit
sched:sched_process_exec rseq:rseq_update irq:irq_handler_entry irq:irq_handler_exit
irq:softirq_entry irq:softirq_exit timer:hrtimer_expire_entry timer:hrtimer_expire_exit
block:block_io_start block:block_io_done block:block_rq_issue block:block_rq_complete
tcp:tcp_retransmit_skb"
for s in read write pread64 pwrite64 readv writev sendto recvfrom sendmsg recvmsg; do
	attr_tps+=" syscalls:sys_enter_$s"
done
attr_events=
if [ "$attribution" -eq 1 ]; then
	for tp in $attr_tps; do
		[ -d "/sys/kernel/tracing/events/${tp%%:*}/${tp#*:}" ] && attr_events+="${attr_events:+,}$tp"
	done
	[ -n "$attr_events" ] || die "none of snag's tracepoints is in /sys/kernel/tracing/events: perf cannot count them"
fi

out_dir=$build/bench
log_dir=$out_dir/logs-service
raw=$out_dir/service-runs.jsonl
result_json=$out_dir/service.json
mkdir -p "$log_dir"
rm -f "$log_dir"/* "$raw"

# Python: the record of a run (with snag's checks), the attribution, the summary. The
# helpers shared with other benchmarks (spawning with rusage, BPF program stats, tables) are
# in tools/benchlib.py.
IFS= read -r -d '' PY <<'PYEOF' || true
import csv, json, os, re, sys
sys.path.insert(0, os.environ["BENCHLIB_DIR"])
import benchlib
from benchlib import med, num, table

SERVICES = ("redis", "pgbench")
CONFIGS = ("untraced", "snag", "snag-no-io", "snag-no-offcpu", "snag-system", "peers",
           "peers-offcpu", "peers-io")
LABEL = {"untraced": "untraced", "snag": "snag -p PID", "snag-no-io": "snag -p PID --no-io",
         "snag-no-offcpu": "snag -p PID --no-offcpu", "snag-system": "snag (system-wide)",
         "peers": "offcputime+runqlat+biolatency+syscount -L",
         "peers-offcpu": "offcputime+runqlat", "peers-io": "biolatency+syscount -L"}
# Which collectors a configuration runs (for the checks).
OFFCPU = {"snag", "snag-no-io", "snag-system"}
IO = {"snag", "snag-no-offcpu", "snag-system"}
OP = {"redis": "GET", "pgbench": "transaction"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

def cpu_times(path, cpu=""):
    """CPU time from a /proc/stat line in a snapshot file (cpu "": all CPUs; or a CPU's
    number), ns: busy (what tasks and interrupts ran: user, nice, system, irq, softirq; guest
    is in user) and steal (what the hypervisor gave to other VMs)."""
    for line in open(path):
        if line.startswith(f"/proc/stat:cpu{cpu} "):
            f = [int(x) * 1_000_000_000 // CLK_TCK for x in line.split()[1:]]
            # user nice system idle iowait irq softirq steal
            return {"busy": f[0] + f[1] + f[2] + f[5] + f[6], "steal": f[7]}
    return None

def ctx_switches(path, who="@target"):
    """Voluntary + involuntary switches of all threads of the process a snapshot file lists
    as `who` (from /proc/PID/task/*/status)."""
    total, cur = 0, None
    for line in open(path):
        if line.startswith("# tool "):
            cur = line.split()[2]
        elif cur == who and "ctxt_switches:" in line:
            total += int(line.rsplit(":", 1)[1])
    return total

def parse_redis(text):
    """redis-benchmark --csv: requests/s and latencies (ms) of its GET row."""
    rows = list(csv.reader(text.splitlines()))
    hdr = next((r for r in rows if r and r[0] == "test"), None)
    get = next((r for r in rows if r and r[0] == "GET"), None)
    if not hdr or not get:
        return None
    d = dict(zip(hdr, get))
    return {"rps": float(d["rps"]), "avg_ms": float(d.get("avg_latency_ms", "nan")),
            "p50_ms": float(d.get("p50_latency_ms", "nan")),
            "p99_ms": float(d.get("p99_latency_ms", "nan"))}

PROGRESS = re.compile(r"^progress: ([0-9.]+) s, ([0-9.]+) tps, lat ([0-9.]+) ms")

def parse_pgbench(text, t0, t1):
    """pgbench -P 1 --progress-timestamp: the mean tps and latency of the 1 s intervals that
    lie within [t0, t1] (epoch seconds)."""
    iv = []
    for line in text.splitlines():
        m = PROGRESS.match(line)
        if m:
            ts, tps, lat = (float(x) for x in m.groups())
            if ts - 1 >= t0 - 0.02 and ts <= t1 + 0.02:
                iv.append((tps, lat))
    if not iv:
        return None
    return {"rps": sum(x[0] for x in iv) / len(iv), "avg_ms": sum(x[1] for x in iv) / len(iv),
            "intervals": len(iv)}

def snag_checks(rec, a, snap_before, snap_after):
    """snag's report against the kernel's counts: problems (hard) and notes."""
    try:
        rep = json.load(open(a["report"]))
    except (OSError, ValueError) as e:
        return [f"cannot read snag's report {a['report']}: {e}"], []
    problems, notes = [], []
    oh = rep.get("overhead") or {}
    # Its own per-program figures cover its whole run (the report in the logs has them); the
    # runs during the load are in programs[].
    rec["snag_self_reported_runs"] = sum(p.get("runs", 0) for p in oh.get("programs") or [])
    rec["snag_dropped"] = {k: v for k, v in (oh.get("dropped") or {}).items() if v}
    if rec["snag_dropped"]:
        notes.append(f"snag dropped events: {rec['snag_dropped']}")
    pid, cfg, svc = rec["target_pid"], rec["config"], rec["service"]
    chk = rec["check"] = {}
    if cfg in OFFCPU:
        # Every switch of the target's threads while snag ran: at least those between the
        # two snapshots, at most those from before snag started until after it stopped.
        rows = [t for t in rep.get("sched") or [] if t.get("pid") == pid]
        got = sum(t.get("voluntary_switches", 0) + t.get("involuntary_switches", 0) for t in rows)
        lo = ctx_switches(snap_after) - ctx_switches(snap_before)
        hi = int(a["ctxsw_post"]) - int(a["ctxsw_pre"]) if a.get("ctxsw_post") else None
        chk.update(switches_snag=got, switches_kernel_window=lo, switches_kernel_lifetime=hi,
                   threads=len(rows))
        if not rows:
            problems.append(f"snag's sched[] has no thread of the target pid {pid}")
        elif got < lo - 2 or (hi is not None and got > hi + 2):
            problems.append(f"snag counts {got} context switches of pid {pid}; the kernel "
                            f"{lo} during the load and {hi} from before snag started until it "
                            f"stopped")
    if cfg in IO:
        rows = [r for r in rep.get("syscall_io") or [] if r.get("pid") == pid
                and r.get("fd_type") == "socket"]
        by = {}
        for r in rows:
            by[r.get("syscall")] = by.get(r.get("syscall"), 0) + r.get("count", 0)
        chk["socket_syscalls"] = by
        if svc == "redis":
            # One read and one write per GET, plus the client's few setup commands and its
            # connections' closing reads.
            n = rec["requests"]
            for sc in ("read", "write"):
                got = by.get(sc, 0)
                if not n <= got <= n + 200:
                    problems.append(f"snag counts {got} {sc}()s of redis-server (pid {pid}) on "
                                    f"sockets, expected {n} GETs + at most 200")
        else:
            # The backend answers each transaction with one send: at least those in the
            # window (an estimate from pgbench's progress: 2 % slack).
            got = by.get("sendto", 0) + by.get("write", 0) + by.get("sendmsg", 0)
            est = rec["requests"]
            chk.update(backend_sends=got, transactions_in_window=est)
            if est and got < 0.98 * est:
                problems.append(f"snag counts {got} socket sends of the backend (pid {pid}), "
                                f"fewer than the ~{est:.0f} transactions pgbench made while "
                                f"the programs' counts were read")
    return problems, notes

def program_rows(a, names):
    """BPF programs with their run_cnt/run_time_ns deltas over the load (from the cheap
    snapshots; names from bpftool, read after the load)."""
    before = benchlib.read_proc_snapshot(a["before"], names)
    after = benchlib.read_proc_snapshot(a["after"], names)
    progs = [p for p in benchlib.prog_delta(before, after) if not p["tool"].startswith("@")]
    return before, after, progs

def cmd_record(raw, kv):
    a = dict(x.split("=", 1) for x in kv)
    svc, cfg = a["service"], a["config"]
    rec = {"round": int(a["round"]), "service": svc, "config": cfg,
           "error": a.get("error") or None, "loadavg": a.get("loadavg"),
           "bpf_stats_enabled": a.get("bpf_stats_enabled"),
           "other_tracing_programs": int(a["others"]) if a.get("others") else None,
           "target_pid": int(a["target_pid"]) if a.get("target_pid") else None,
           "client_pid": int(a["client_pid"]) if a.get("client_pid") else None,
           "rps": None, "requests": None}
    problems, notes = [], []
    try:
        text = open(a["workload_out"]).read()
    except OSError:
        text = ""
    if not rec["error"]:
        if svc == "redis":
            m = parse_redis(text)
            if m:
                rec.update(m)
                rec["requests"] = int(a["n"])
            else:
                rec["error"] = "redis-benchmark printed no GET row: " + text[-300:].replace("\n", " ")
        else:
            m = parse_pgbench(text, float(a["t0"]), float(a["t1"]))
            if m:
                rec.update(m)
                rec["requests"] = m["rps"] * (float(a["t1"]) - float(a["t0"]))
            else:
                rec["error"] = "pgbench printed no progress line within the window: " + \
                    text[-300:].replace("\n", " ")
    if rec["error"]:
        rec["rps"] = None
    if a.get("before") and a.get("after") and os.path.exists(a["after"]) and not rec["error"]:
        names = {}
        if a.get("progs") and os.path.exists(a["progs"]):
            names = {p["id"]: p for p in json.load(open(a["progs"]))["progs"]}
        before, after, progs = program_rows(a, names)
        if names:
            missing = set(names) - {p["id"] for p in progs}
            if missing:
                problems.append(f"no run counts for programs "
                                f"{sorted(names[i]['name'] for i in missing)} (held through "
                                f"links only?)")
        win = rec["window_ns"] = after["monotonic_ns"] - before["monotonic_ns"]
        n = rec["requests"]
        rec["programs"] = progs
        runs = sum(p["run_cnt"] for p in progs)
        rec["bpf_runs"] = runs
        rec["bpf_run_time_ns"] = sum(p["run_time_ns"] for p in progs)
        # No runs at all: statistics were off (BPF_STATS=0 and a peer): unknown, not zero.
        if progs and runs and n:
            rec["bpf_runs_per_op"] = runs / n
            rec["bpf_ns_per_op"] = rec["bpf_run_time_ns"] / n
            if cfg.startswith("peers") and a.get("bpf_stats_enabled") == "0":
                # The sysctl shows its own setting only; a process that enabled the statistics
                # through BPF_ENABLE_STATS (snag does) turns them on for every program.
                notes.append("the peers' programs counted runs with kernel.bpf_stats_enabled=0: "
                             "another process (a snag?) held run-time statistics on")
        cpu = lambda s, t: s["tools"][t]["cpu_ns"] if t in s["tools"] else None
        tools = [t for t in after["tools"] if not t.startswith("@")]
        rec["tool_cpu_ns"] = {t: cpu(after, t) - cpu(before, t) for t in tools}
        rec["tool_cpu_pct"] = 100 * sum(rec["tool_cpu_ns"].values()) / win if tools and win > 0 else None
        hwm = [after["tools"][t].get("vm_hwm_kb") for t in tools]
        rec["tool_peak_rss_kb"] = sum(hwm) if hwm and None not in hwm else None
        rec["target_cpu_ns"] = cpu(after, "@target") - cpu(before, "@target")
        if "@client" in after["tools"]:
            rec["client_cpu_ns"] = cpu(after, "@client") - cpu(before, "@client")
        elif a.get("client_rusage") and os.path.exists(a["client_rusage"]):
            # redis-benchmark ran exactly over the window: its whole CPU time.
            rec["client_cpu_ns"] = json.load(open(a["client_rusage"]))["cpu_ns"]
        c0, c1 = cpu_times(a["before"]), cpu_times(a["after"])
        if c0 and c1 and win > 0:
            busy = c1["busy"] - c0["busy"]
            rec["machine_busy_pct"] = 100 * busy / win
            rec["steal_pct"] = 100 * (c1["steal"] - c0["steal"]) / win
            known = rec["target_cpu_ns"] + (rec.get("client_cpu_ns") or 0) + \
                sum(rec["tool_cpu_ns"].values())
            # In % of one core; /proc/stat counts in ticks (10 ms): +-1 % per second of window.
            rec["others_cpu_pct"] = 100 * (busy - known) / win
        if a.get("pin_cpu") and a["pin_cpu"] != "none" and win > 0:
            p0, p1 = cpu_times(a["before"], a["pin_cpu"]), cpu_times(a["after"], a["pin_cpu"])
            if p0 and p1:
                # The service and its client run there; the tracers' user space may or may not.
                rec["pin_cpu_others_pct"] = 100 * (p1["busy"] - p0["busy"] - rec["target_cpu_ns"] -
                                                   (rec.get("client_cpu_ns") or 0)) / win
        if n:
            rec["service_cpu_ns_per_op"] = (rec["target_cpu_ns"] + (rec.get("client_cpu_ns") or 0)) / n
    rec["tool_exit"] = {}
    for kvs in filter(None, a.get("tool_rusage", "").split(",")):
        t, path = kvs.split(":", 1)
        try:
            rec["tool_exit"][t] = json.load(open(path))
        except (OSError, ValueError):
            pass
    if cfg.startswith("snag") and not rec["error"] and a.get("report"):
        p, nt = snag_checks(rec, a, a["before"], a["after"])
        problems += p
        notes += nt
    if rec.get("pin_cpu_others_pct") is not None:
        if rec["pin_cpu_others_pct"] > 10:
            notes.append(f"other processes took {rec['pin_cpu_others_pct']:.0f} % of CPU "
                         f"{a['pin_cpu']} during the load (disturbed run)")
    elif rec.get("others_cpu_pct") is not None and rec["others_cpu_pct"] > 25:
        notes.append(f"other processes took {rec['others_cpu_pct']:.0f} % of a CPU during the "
                     f"load (disturbed run)")
    if rec.get("other_tracing_programs"):
        notes.append(f"{rec['other_tracing_programs']} tracing BPF programs of other processes "
                     f"were loaded at the start of the run")
    rec["problems"], rec["notes"] = problems, notes
    with open(raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    for p in problems:
        print(f"bench-service: WRONG: round {rec['round']} {svc} {cfg}: {p}", file=sys.stderr)
    for p in notes:
        print(f"bench-service: warning: round {rec['round']} {svc} {cfg}: {p}", file=sys.stderr)
    line = f"{rec['rps']:,.0f} {OP[svc]}/s" if rec["rps"] else "FAILED: " + (rec["error"] or "?")
    if rec.get("bpf_runs_per_op"):
        line += f", {rec['bpf_runs_per_op']:.1f} BPF runs and {rec['bpf_ns_per_op']:,.0f} ns per {OP[svc]}"
    if rec.get("pin_cpu_others_pct") is not None:
        line += f", others {rec['pin_cpu_others_pct']:.0f}% of CPU {a['pin_cpu']}"
    if rec.get("others_cpu_pct") is not None:
        line += f" ({rec['others_cpu_pct']:.0f}% of all)"
    print(line)

def perf_counts(path):
    """perf stat -x, output: {event: count}."""
    out = {}
    try:
        for line in open(path):
            f = line.strip().split(",")
            if len(f) >= 3 and f[0].isdigit():
                out[f[2]] = int(f[0])
    except OSError:
        pass
    return out

def tracepoint_of(prog, events):
    """The tracepoint a snag program is attached to (handle_X or handle_X_raw: *:X)."""
    nm = re.sub(r"_raw$", "", re.sub(r"^handle_", "", prog))
    return next((e for e in events if e.split(":")[1] == nm), None)

IO_SYSCALLS = ["syscalls:sys_enter_" + s for s in ("read", "write", "pread64", "pwrite64", "readv",
                                                    "writev", "sendto", "recvfrom", "sendmsg",
                                                    "recvmsg")]

WHERE = ("target", "client", "snag")

def attribute(rec):
    """Per request, from an attribution record's raw counts: each program's runs, split by
    the context they ran in as perf counted its tracepoint there (perf's counts cover a
    little more time than the programs' snapshots, so shares, not its counts, are used).
    Also the machine's syscalls per request, all and of the read/write family, by context."""
    n, counts = rec["requests"], rec["perf"]
    for row in rec.get("programs", []):
        row["runs_per_op"] = row["runs"] / n
        row["ns_per_run"] = row["run_time_ns"] / row["runs"] if row["runs"] else None
        row["ns_per_op"] = row["run_time_ns"] / n
        al = counts["all"].get(row["tracepoint"], 0) if row["tracepoint"] else 0
        for w in WHERE:
            row[f"{w}_per_op"] = row["runs_per_op"] * counts[w].get(row["tracepoint"], 0) / al \
                if al else None
        row["others_per_op"] = row["runs_per_op"] - sum(row[f"{w}_per_op"] for w in WHERE) \
            if al else None
        row["not_target_share"] = 1 - counts["target"].get(row["tracepoint"], 0) / al if al else None
    # perf's syscall counts, scaled to the window of the programs' counts.
    enter = next((r["runs"] for r in rec.get("programs", []) if r["name"] == "handle_sys_enter"), 0)
    al = counts["all"].get("raw_syscalls:sys_enter", 0)
    scale = enter / al if enter and al else 1
    rec["io_syscalls_per_op"] = {w: scale * sum(counts[w].get(e, 0) for e in IO_SYSCALLS) / n
                                 for w in ("all",) + WHERE}
    rec["syscalls_per_op"] = {w: scale * counts[w].get("raw_syscalls:sys_enter", 0) / n
                              for w in ("all",) + WHERE}
    return rec

def cmd_attrib(raw, kv):
    """An untimed run of snag's default mode with perf stat counting its tracepoints: all,
    in the target, the client and snag."""
    a = dict(x.split("=", 1) for x in kv)
    svc = a["service"]
    rec = {"service": svc, "kind": "attribution", "error": a.get("error") or None}
    text = open(a["workload_out"]).read() if os.path.exists(a["workload_out"]) else ""
    n = None
    if not rec["error"]:
        win = float(a["t1"]) - float(a["t0"])
        if svc == "redis":
            # redis-server's own count of the commands it processed in the window.
            n = int(a["n"]) if a.get("n") else None
            rec["rps"] = n / win if n else None
        else:
            m = parse_pgbench(text, float(a["t0"]), float(a["t1"]))
            if m:
                rec["rps"] = m["rps"]
                n = m["rps"] * win
    rec["requests"] = n
    counts = {w: perf_counts(a[f"perf_{w}"]) for w in ("all",) + WHERE}
    rec["perf"] = counts
    if rec["error"] or not n or not counts["all"]:
        rec["error"] = rec["error"] or "no requests or no perf counts"
    else:
        names = {p["id"]: p for p in json.load(open(a["progs"]))["progs"]}
        _, _, progs = program_rows(a, names)
        events = list(counts["all"])
        rec["programs"] = [{"name": p["name"], "tracepoint": tracepoint_of(p["name"], events),
                            "runs": p["run_cnt"], "run_time_ns": p["run_time_ns"]} for p in progs]
    with open(raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if rec["error"]:
        print(f"FAILED: {rec['error']}")
    else:
        sc = attribute(rec)["syscalls_per_op"]
        print(f"{n:,.0f} {OP[svc]}s (slowed down by perf), {sc['all']:.1f} syscalls per {OP[svc]} "
              f"on the machine, {sc['target']:.1f} in the target")

def pct(x):
    return None if x is None else 100 * x

def cmd_summary(raw, out, meta_json):
    meta = json.loads(meta_json)
    recs = [json.loads(l) for l in open(raw)]
    runs = [r for r in recs if r.get("kind") != "attribution"]
    doc = dict(meta)
    doc["services"] = {}
    failed = False
    for svc in SERVICES:
        srecs = [r for r in runs if r["service"] == svc]
        if not srecs:
            continue
        base_runs = [r for r in srecs if r["config"] == "untraced" and r["rps"]]
        base = med([r["rps"] for r in base_runs])
        # CPU time the service and its client take per request, untraced: what the BPF run
        # time per request adds to.
        base_cpu = med([r.get("service_cpu_ns_per_op") for r in base_runs])
        base_by_round = {r["round"]: r["rps"] for r in base_runs}
        cfgs = {}
        for c in CONFIGS:
            rs = [r for r in srecs if r["config"] == c]
            if not rs:
                continue
            ok = [r for r in rs if r["rps"]]
            rps = [r["rps"] for r in ok]
            res = {"config": c, "label": LABEL[c], "runs": rs, "n_runs": len(rs),
                   "ok_runs": len(ok), "rps": rps, "median_rps": med(rps),
                   "min_rps": min(rps) if rps else None, "max_rps": max(rps) if rps else None,
                   "ns_per_op": [1e9 / x for x in rps],
                   "p50_ms": med([r.get("p50_ms") for r in ok]),
                   "p99_ms": med([r.get("p99_ms") for r in ok]),
                   "avg_ms": med([r.get("avg_ms") for r in ok]),
                   "others_cpu_pct": med([r.get("others_cpu_pct") for r in ok]),
                   "pin_cpu_others_pct": med([r.get("pin_cpu_others_pct") for r in ok]),
                   "others_cpu_pct_max": max([r["others_cpu_pct"] for r in ok
                                              if r.get("others_cpu_pct") is not None], default=None),
                   "service_cpu_ns_per_op": med([r.get("service_cpu_ns_per_op") for r in ok])}
            if c != "untraced" and base and rps:
                res["throughput_lost_pct"] = 100 * (1 - res["median_rps"] / base)
                # Against the untraced run of the same round: drifts of the machine cancel.
                paired = [100 * (1 - r["rps"] / base_by_round[r["round"]]) for r in ok
                          if base_by_round.get(r["round"])]
                res["paired_lost_pct"] = paired
                res["paired_lost_pct_median"] = med(paired)
                res["paired_lost_pct_min"] = min(paired) if paired else None
                res["paired_lost_pct_max"] = max(paired) if paired else None
            if c != "untraced":
                res["bpf_runs_per_op"] = med([r.get("bpf_runs_per_op") for r in ok])
                res["bpf_ns_per_op"] = med([r.get("bpf_ns_per_op") for r in ok])
                if res["bpf_ns_per_op"] is not None and base_cpu:
                    res["bpf_pct_of_untraced_cpu"] = 100 * res["bpf_ns_per_op"] / base_cpu
                per = {}
                for r in ok:
                    if not r.get("requests") or not r.get("bpf_runs"):
                        continue
                    for p in r.get("programs", []):
                        e = per.setdefault((p["tool"], p["name"]), ([], [], []))
                        if p["run_cnt"]:
                            e[0].append(p["run_time_ns"] / p["run_cnt"])
                        e[1].append(p["run_cnt"] / r["requests"])
                        e[2].append(p["run_time_ns"] / r["requests"])
                res["bpf_programs"] = sorted(
                    ({"tool": t, "name": nm, "ns_per_run": med(v[0]),
                      "ns_per_run_min": min(v[0]) if v[0] else None,
                      "ns_per_run_max": max(v[0]) if v[0] else None,
                      "runs_per_op": med(v[1]), "ns_per_op": med(v[2])}
                     for (t, nm), v in per.items()), key=lambda p: -(p["ns_per_op"] or 0))
                res["tool_cpu_pct"] = med([r.get("tool_cpu_pct") for r in ok])
                res["tool_peak_rss_kb"] = med([r.get("tool_peak_rss_kb") for r in ok])
                ex = [sum(x["cpu_ns"] for x in r["tool_exit"].values()) for r in rs if r.get("tool_exit")]
                res["tool_cpu_ms_total"] = med(ex) / 1e6 if ex else None
                res["problems"] = [p for r in rs for p in r.get("problems", [])]
                res["notes"] = [p for r in rs for p in r.get("notes", [])]
                res["errors"] = [r["error"] for r in rs if r.get("error")]
                res["checks_ok"] = not res["problems"] and not res["errors"]
                if c.startswith("snag"):
                    res["checks"] = [r.get("check") for r in rs]
                    if not res["checks_ok"]:
                        failed = True
            cfgs[c] = res
        doc["services"][svc] = {"command": meta["commands"][svc], "op": OP[svc],
                                "target": meta["targets_traced"][svc], "configs": cfgs}
    doc["attribution"] = {r["service"]: attribute(r) if not r.get("error") else r
                          for r in recs if r.get("kind") == "attribution"}
    # The issue's figures to reach (redis: snag -p default mode).
    targets = []
    rc = doc["services"].get("redis", {}).get("configs", {})
    lost = lambda c: rc.get(c, {}).get("throughput_lost_pct")
    if lost("snag") is not None:
        targets.append({"target": "redis: snag -p default mode loses at most 5 % of GET/s",
                        "value": lost("snag"), "met": lost("snag") <= 5})
        if lost("peers") is not None:
            targets.append({"target": "redis: snag -p default mode loses at most 3 % and at most "
                                      "the libbpf-tools set",
                            "value": lost("snag"), "peers": lost("peers"),
                            "met": lost("snag") <= 3 and lost("snag") <= max(lost("peers"), 0)})
    if lost("snag-no-offcpu") is not None:
        targets.append({"target": "redis: the I/O collector alone (--no-offcpu) loses at most 2.5 %",
                        "value": lost("snag-no-offcpu"), "met": lost("snag-no-offcpu") <= 2.5})
    if lost("snag-no-io") is not None and lost("peers-offcpu") is not None:
        targets.append({"target": "redis: the off-CPU collector alone (--no-io) loses at most "
                                  "offcputime+runqlat",
                        "value": lost("snag-no-io"), "peers": lost("peers-offcpu"),
                        "met": lost("snag-no-io") <= max(lost("peers-offcpu"), 0)})
    if lost("snag-system") is not None and lost("snag") is not None:
        targets.append({"target": "redis: system-wide snag loses at most 2x snag -p",
                        "value": lost("snag-system"), "snag_p": lost("snag"),
                        "met": lost("snag-system") <= 2 * max(lost("snag"), 0)})
    doc["targets"] = targets
    # Every run is under its configuration (runs[]); the raw lines stay in service-runs.jsonl.
    benchlib.write_json(out, doc)

    print()
    pinned = f"services and clients on CPU {meta['pin_cpu']}" if meta["pin_cpu"] != "none" \
        else "unpinned"
    print(f"Service overhead, {meta['rounds']} rounds, medians (kernel {meta['kernel']}, "
          f"{meta['cpus']} CPUs, {meta['date']}; {pinned}; bpf_stats_enabled "
          f"{'1' if meta['bpf_stats_enabled'] else 'left as it was'}; load average "
          f"{meta['loadavg_at_start'].split()[0]} at start, {meta['loadavg_at_end'].split()[0]} at end)")
    rows = []
    for svc, s in doc["services"].items():
        for c, r in s["configs"].items():
            mm = "-" if r["min_rps"] is None else f"{r['min_rps']:,.0f}-{r['max_rps']:,.0f}"
            pl = "-" if r.get("paired_lost_pct_median") is None else \
                f"{r['paired_lost_pct_median']:.1f} ({r['paired_lost_pct_min']:.1f}..{r['paired_lost_pct_max']:.1f})"
            if c == "untraced":
                chk = "-"
            elif r["checks_ok"]:
                chk = f"ok {r['ok_runs']}/{r['n_runs']}"
            else:
                chk = ("WRONG" if r["problems"] else "FAILED") + f" {r['ok_runs']}/{r['n_runs']}"
            lat = r.get("p99_ms") if svc == "redis" else r.get("avg_ms")
            rss = r.get("tool_peak_rss_kb")
            rows.append((svc, r["label"], num(r["median_rps"], ",.0f"), mm,
                         num(r.get("throughput_lost_pct"), ".1f", "%"), pl,
                         num(lat, ".3f"), num(r.get("bpf_runs_per_op"), ".1f"),
                         num(r.get("bpf_ns_per_op"), ",.0f"),
                         num(r.get("bpf_pct_of_untraced_cpu") if c != "untraced" else
                             r.get("service_cpu_ns_per_op"), ".1f" if c != "untraced" else ",.0f",
                             "%" if c != "untraced" else " ns"),
                         num(r.get("tool_cpu_pct"), ".1f"),
                         num(rss / 1024 if rss else None, ".1f"),
                         num(r.get("pin_cpu_others_pct"), ".0f"),
                         num(r.get("others_cpu_pct"), ".0f"), chk))
    table(("service", "config", "req/s", "min-max", "lost", "paired lost (min..max)",
           "lat ms", "BPF runs/req", "BPF ns/req", "BPF/svc CPU", "tool CPU %", "RSS MiB",
           "others %pin", "others %all", "checks"), rows, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
    print()
    print("BPF programs per request (medians over rounds; programs that never ran left out):")
    rows = []
    for svc, s in doc["services"].items():
        for c, r in s["configs"].items():
            for p in r.get("bpf_programs", []):
                if not p["runs_per_op"]:
                    continue
                mm = "-" if p["ns_per_run_min"] is None else \
                    f"{p['ns_per_run_min']:.0f}-{p['ns_per_run_max']:.0f}"
                rows.append((svc, c, p["tool"], p["name"], num(p["runs_per_op"], ".3f"),
                             num(p["ns_per_run"], ".0f"), mm, num(p["ns_per_op"], ",.0f")))
    table(("service", "config", "tool", "program", "runs/req", "ns/run", "min-max", "ns/req"),
          rows, {4, 5, 6, 7})
    for svc, at in doc["attribution"].items():
        print()
        if at.get("error"):
            print(f"{svc}: attribution run failed: {at['error']}")
            continue
        print(f"{svc}, snag -p default mode: where its program runs come from, per {OP[svc]} (an "
              f"untimed run; each program's runs split by the context perf stat counted its "
              f"tracepoint in: target = the traced process; client = the load generator; others = "
              f"the rest of the machine, idle and interrupts included):")
        rows = []
        for p in sorted(at["programs"], key=lambda p: -p["ns_per_op"]):
            if not p["runs"]:
                continue
            rows.append((p["name"], num(p["runs_per_op"], ".3f"), num(p["ns_per_run"], ".0f"),
                         num(p["ns_per_op"], ",.0f"), num(p.get("target_per_op"), ".3f"), num(p.get("client_per_op"), ".3f"),
                         num(p.get("snag_per_op"), ".3f"), num(p.get("others_per_op"), ".3f"),
                         num(pct(p.get("not_target_share")), ".0f", "%")))
        table(("program", "runs/req", "ns/run", "ns/req", "target", "client", "snag", "others",
               "not target"), rows, set(range(1, 9)))
        io, sc = at["io_syscalls_per_op"], at["syscalls_per_op"]
        print(f"  syscalls per {OP[svc]}: {sc['all']:.2f} on the machine ({sc['target']:.2f} target, "
              f"{sc['client']:.2f} client, {sc['snag']:.2f} snag); of the read/write family snag "
              f"keeps: {io['all']:.2f} ({io['target']:.2f} target, {io['client']:.2f} client)")
    print()
    print("req/s: redis-benchmark's GET/s; pgbench: transactions/s over the window. lost: 1 - the")
    print("  config's median / untraced median; paired: each round against that round's untraced run.")
    print("lat ms: redis p99, pgbench mean. BPF runs/req, ns/req: run_cnt and run_time_ns of all the")
    print("  tracers' programs over the load / requests (system-wide programs run for every process).")
    print("BPF/svc CPU: BPF ns/req in % of the CPU time the service and its client take per request")
    print("  untraced (that row shows the CPU time itself).")
    print("tool CPU %: the tracers' CPU during the load in % of one core; others %pin: PIN_CPU's busy")
    print("  time minus the service's and the client's; others %all: the machine's busy time minus")
    print("  theirs and the tracers' (in % of one core; a run with others %pin above 10 is flagged).")
    print()
    for t in targets:
        extra = "".join(f", {k} {v:.1f} %" for k, v in t.items() if k in ("peers", "snag_p"))
        print(f"target: {t['target']}: {t['value']:.1f} %{extra} -> {'MET' if t['met'] else 'NOT MET'}")
    for svc, s in doc["services"].items():
        for c, r in s["configs"].items():
            for p in r.get("problems", []):
                print(f"WRONG: {svc}/{c}: {p}")
            for p in r.get("errors", []):
                print(f"FAILED: {svc}/{c}: {p}")
            disturbed = [n for n in r.get("notes", []) if "disturbed" in n]
            for p in r.get("notes", []):
                if p not in disturbed:
                    print(f"warning: {svc}/{c}: {p}")
            if disturbed:
                print(f"warning: {svc}/{c}: {len(disturbed)} of {r['n_runs']} runs disturbed by "
                      f"other load")
    print(f"results: {out}")
    sys.exit(1 if failed else 0)

cmd = sys.argv[1]
if cmd == "record":
    cmd_record(sys.argv[2], sys.argv[3:])
elif cmd == "attrib":
    cmd_attrib(sys.argv[2], sys.argv[3:])
elif cmd == "summary":
    cmd_summary(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    benchlib.main(sys.argv[1:], "bench-service")
PYEOF
py() { BENCHLIB_DIR=$tools_dir python3 -c "$PY" "$@"; }

# State for cleanup: tracers (their pids and spawn wrappers'), background processes (the load
# generator, perf), the services, whether we changed bpf_stats_enabled.
tracer_pids=()
tracer_names=()
wrapper_pids=()
bg_pids=()
load_pid=
work=
redis_pid=
pg_dir=
stats_file=/proc/sys/kernel/bpf_stats_enabled
stats_prev=

# stop_tracers: SIGINT to every tracer, wait up to $stop_timeout s for all, then SIGKILL.
# Returns non-zero if one exited with an error; sets stop_errors to a description.
stop_errors=
stop_tracers() {
	local i p rc any=0
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
		rc=0
		wait "${wrapper_pids[i]}" 2>/dev/null || rc=$?
		[ "$rc" -eq 0 ] || stop_errors+="${tracer_names[i]:-tracer} exited with status $rc; "
	done
	tracer_pids=()
	wrapper_pids=()
	tracer_names=()
	[ -z "$stop_errors" ]
}

# stop_bg: SIGINT to every background process (perf stat prints its counts: it takes a second
# or more to close its tracepoint events), SIGTERM to the load generator running in the
# background (started so by a script, it inherits SIGINT ignored), SIGKILL after 30 s.
stop_bg() {
	local p i any
	for p in "${bg_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	[ -z "$load_pid" ] || kill -TERM "$load_pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		any=0
		for p in "${bg_pids[@]}"; do kill -0 "$p" 2>/dev/null && any=1; done
		[ "$any" -eq 0 ] && break
		sleep 0.05
	done
	for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	bg_pids=()
	load_pid=
}

stop_redis() {
	[ -n "$redis_pid" ] || return 0
	kill -TERM "$redis_pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$redis_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$redis_pid" 2>/dev/null || true
	wait "$redis_pid" 2>/dev/null || true
	redis_pid=
}

stop_pg() {
	[ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ] || return 0
	local pm
	pm=$(head -1 "$pg_dir/data/postmaster.pid" 2>/dev/null || true)
	timeout 60 runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
		{ [ -z "$pm" ] || kill -KILL "$pm" 2>/dev/null || true; }
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	# Interrupted while a tracer was starting: its pid file comes right after the fork (the
	# wrapper ignores SIGINT and SIGTERM; the tracer must be stopped itself).
	if [ "${#wrapper_pids[@]}" -gt "${#tracer_pids[@]}" ] && [ -n "${start_pidfile:-}" ]; then
		for ((i = 0; i < 100; i++)); do
			[ -s "$start_pidfile" ] && break
			sleep 0.05
		done
		[ -s "$start_pidfile" ] && tracer_pids+=("$(cat "$start_pidfile")")
	fi
	stop_bg
	[ "${#wrapper_pids[@]}" -eq 0 ] || stop_tracers || true
	stop_redis
	stop_pg
	[ -z "$work" ] || rm -rf "$work"
	if [ -n "$stats_prev" ]; then
		echo "$stats_prev" >"$stats_file" 2>/dev/null || warn "could not restore $stats_file to $stats_prev"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench-service: interrupted" >&2; exit 130' INT TERM

if [ "$bpf_stats" -eq 1 ]; then
	[ -w "$stats_file" ] || die "cannot write $stats_file"
	stats_prev=$(cat "$stats_file")
	echo 1 >"$stats_file"
fi

# wait_file FILE PID: until FILE is not empty (or PID dies, or READY_TIMEOUT passes).
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

# start_tracer NAME BASE READY_FILE READY_REGEX RUNS CMD...: start CMD under the spawn wrapper
# (stdout BASE.out, stderr BASE.err, rusage at exit BASE.rusage) and wait until it is
# attached: READY_REGEX in READY_FILE, then, with RUNS=any, until one of its programs has run
# (with bpf_stats on, only attached programs count runs; every tool here but biolatency has
# one on an event that fires all the time). Sets start_error on failure.
start_error=
start_pidfile=
start_tracer() {
	local name=$1 base=$2 ready_file=$3 re=$4 runs=$5 pid ok=1
	shift 5
	rm -f "$base.pid" "$base.rusage"
	start_pidfile=$base.pid
	py spawn "$base.rusage" "$base.pid" "$@" >"$base.out" 2>"$base.err" &
	wrapper_pids+=("$!")
	tracer_names+=("$name")
	if ! wait_file "$base.pid" "$!"; then
		start_error="$name did not start: $(tail -c 300 "$base.err" | tr '\n' ' ')"
		return 1
	fi
	pid=$(cat "$base.pid")
	tracer_pids+=("$pid")
	wait_ready "$pid" "$ready_file" "$re" || ok=0
	# Statistics off (BPF_STATS=0): a peer's runs are not counted; its banner must do.
	if [ "$ok" -eq 1 ] && [ "$runs" = any ] && [ "$(cat "$stats_file")" != 0 ]; then
		py waitruns "$ready_timeout" any "$name=$pid" || ok=0
	fi
	if [ "$ok" -eq 0 ]; then
		if kill -0 "$pid" 2>/dev/null; then
			start_error="$name did not attach within ${ready_timeout}s"
		else
			start_error="$name exited while starting"
		fi
		start_error+=": $(grep -v RLIMIT_MEMLOCK "$base.err" | tail -c 300 | tr '\n' ' ')"
		return 1
	fi
}

# snap FILE TARGET_PID [CLIENT_PID]: the tracers' BPF programs' run counts and times, their
# CPU time and peak RSS, the target's (and the client's) CPU time and context switches, and
# the machine's CPU time, in one pass over /proc (benchlib.read_proc_snapshot parses it).
# Cheap on purpose: it runs next to the load, and every syscall it makes runs the system-wide
# syscall programs (bpftool makes some 10,000).
snap() {
	local f=$1 target=$2 client=${3:-} i
	# grep says 2 when a file went away between the glob and the read (an fd closed, a thread
	# ended): what it read is the snapshot.
	{
		for ((i = 0; i < ${#tracer_pids[@]}; i++)); do
			echo "# tool ${tracer_names[i]} ${tracer_pids[i]} $EPOCHREALTIME"
			grep -H '' "/proc/${tracer_pids[i]}/fdinfo/"* "/proc/${tracer_pids[i]}/task/"*/schedstat \
				"/proc/${tracer_pids[i]}/status" || true
		done
		echo "# tool @target $target $EPOCHREALTIME"
		grep -H '' "/proc/$target/task/"*/schedstat || true
		grep -H 'ctxt_switches' "/proc/$target/task/"*/status || true
		if [ -n "$client" ]; then
			echo "# tool @client $client $EPOCHREALTIME"
			grep -H '' "/proc/$client/task/"*/schedstat || true
		fi
		grep -H '^cpu' /proc/stat
	} >"$f" 2>/dev/null
}

# ctxsw PID: voluntary + involuntary context switches of all threads of PID.
ctxsw() {
	{ cat "/proc/$1/task/"*/status 2>/dev/null || true; } | awk '/ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

work=$(mktemp -d /tmp/snag-bench-service.XXXXXX)
chmod 755 "$work" # the postgres user goes through it

# --- redis: a throwaway server, loopback only, no persistence ---
redis_port=
start_redis() {
	local i conf=$work/redis.conf
	redis_port=$(free_port)
	mkdir -p "$work/redis"
	cat >"$conf" <<-EOF
		port $redis_port
		bind 127.0.0.1
		protected-mode yes
		daemonize no
		save ""
		appendonly no
		dir $work/redis
		logfile $work/redis/redis.log
	EOF
	"${pin[@]}" redis-server "$conf" &
	redis_pid=$! # taskset execs redis-server: the same process
	for ((i = 0; i < ready_timeout * 10; i++)); do
		[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
		kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited while starting: $(tail -3 "$work/redis/redis.log" 2>/dev/null | tr '\n' ' ')"
		sleep 0.1
	done
	[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] || die "redis-server does not answer PING on 127.0.0.1:$redis_port"
	# The key the GETs read (redis-benchmark's fixed key, a 3-byte value), then a warm-up.
	redis-benchmark -h 127.0.0.1 -p "$redis_port" -t set -n 1000 -q >/dev/null 2>&1 ||
		die "redis-benchmark -t set failed on 127.0.0.1:$redis_port"
	"${pin[@]}" redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get -c "$redis_clients" -n 20000 -q >/dev/null 2>&1 ||
		die "redis-benchmark -t get failed on 127.0.0.1:$redis_port"
	echo "bench-service: redis-server $(redis-server --version | awk '{print $3}') pid $redis_pid on 127.0.0.1:$redis_port"
}

# --- PostgreSQL: a throwaway cluster owned by the postgres user, TCP on 127.0.0.1 only ---
pg_port=
pg_conn=()
start_pg() {
	pg_port=$(free_port)
	pg_dir=$work/pg
	mkdir -p "$pg_dir"
	chown postgres: "$pg_dir"
	runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --no-sync \
		>"$pg_dir/initdb.log" 2>&1 || die "initdb failed: $(tail -3 "$pg_dir/initdb.log" | tr '\n' ' ')"
	# fsync off: the load only reads; the initial load (pgbench -i) should not wait on the disk.
	timeout 120 runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=20" \
		start >/dev/null 2>&1 || die "PostgreSQL did not start: $(tail -3 "$pg_dir/server.log" 2>/dev/null | tr '\n' ' ')"
	pg_conn=(-h 127.0.0.1 -p "$pg_port" -U postgres postgres)
	timeout 300 "$pg_bin/pgbench" -i -q -s "$pg_scale" "${pg_conn[@]}" >"$pg_dir/init.log" 2>&1 ||
		die "pgbench -i failed: $(tail -3 "$pg_dir/init.log" | tr '\n' ' ')"
	timeout 60 "${pin[@]}" "$pg_bin/pgbench" -n -S -M prepared -c 1 -j 1 -T 2 "${pg_conn[@]}" >/dev/null 2>&1 ||
		die "pgbench -S failed on 127.0.0.1:$pg_port"
	echo "bench-service: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') postmaster pid $(head -1 "$pg_dir/data/postmaster.pid") on 127.0.0.1:$pg_port"
}

pg_cmd() {
	# Bounded: stopped with SIGTERM after the window; -T only in case this script dies.
	echo "${pin[*]}${pin[*]:+ }$pg_bin/pgbench -n -S -M prepared -c 1 -j 1 -T $((warmup + pg_seconds + 8 * ready_timeout + 60)) -P 1 --progress-timestamp ${pg_conn[*]}"
}
redis_cmd() {
	echo "${pin[*]}${pin[*]:+ }redis-benchmark -h 127.0.0.1 -p $redis_port -t get -c $redis_clients -n $redis_requests --csv"
}

# start_pgbench BASE: start pgbench (its pid in $client_pid) pinned to PIN_CPU, find the
# backend serving it ($target_pid) and pin it there too. Sets run_error on failure.
client_pid=
target_pid=
run_error=
start_pgbench() {
	local base=$1 i pm pids
	client_pid=
	target_pid=
	pm=$(head -1 "$pg_dir/data/postmaster.pid")
	# The backend of the previous run ends after its client: not to be mistaken for this one's.
	for ((i = 0; i < ready_timeout * 20; i++)); do
		pgrep -P "$pm" -f '^postgres: postgres postgres 127\.0\.0\.1\(' >/dev/null || break
		sleep 0.05
	done
	rm -f "$base.client.pid" "$base.client.rusage"
	# shellcheck disable=SC2046
	py spawn "$base.client.rusage" "$base.client.pid" $(pg_cmd) >"$base.workload" 2>&1 &
	bg_pids+=("$!")
	if ! wait_file "$base.client.pid" "$!"; then
		run_error="pgbench did not start: $(tail -c 300 "$base.workload" | tr '\n' ' ')"
		return 1
	fi
	client_pid=$(cat "$base.client.pid") # taskset execs pgbench: the same process
	load_pid=$client_pid
	# pgbench first connects to read the scale from pgbench_branches, then closes that and
	# opens its client's connection: by its first progress line (1 s in), only that one is left.
	for ((i = 0; i < ready_timeout * 20; i++)); do
		grep -q '^progress:' "$base.workload" 2>/dev/null && break
		kill -0 "$client_pid" 2>/dev/null || break
		sleep 0.05
	done
	for ((i = 0; i < ready_timeout * 20; i++)); do
		# The backend's title: "postgres: USER DB HOST(PORT) STATE".
		pids=$(pgrep -P "$pm" -f '^postgres: postgres postgres 127\.0\.0\.1\(' || true)
		if [ -n "$pids" ] && [ "$(wc -w <<<"$pids")" -eq 1 ]; then
			target_pid=$pids
			break
		fi
		kill -0 "$client_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$target_pid" ]; then
		run_error="no single backend for pgbench's connection (found: ${pids:-none}): $(tail -c 300 "$base.workload" | tr '\n' ' ')"
		return 1
	fi
	if [ "${#pin[@]}" -gt 0 ] && ! taskset -pc "$pin_cpu" "$target_pid" >/dev/null 2>&1; then
		run_error="cannot pin the backend (pid $target_pid) to CPU $pin_cpu"
		return 1
	fi
}

# start_config CONFIG BASE TARGET: start the configuration's tracers on TARGET, attached.
# Sets run_error, report (snag's JSON) and rus_list.
report=
rus_list=
start_config() {
	local config=$1 base=$2 target=$3 t
	local snag_args=(-o "$base.snag.json" --format json)
	report=
	rus_list=
	case "$config" in
	snag | snag-no-io | snag-no-offcpu | snag-system)
		case "$config" in
		snag) snag_args=(-p "$target" "${snag_args[@]}") ;;
		snag-no-io) snag_args=(-p "$target" --no-io "${snag_args[@]}") ;;
		snag-no-offcpu) snag_args=(-p "$target" --no-offcpu "${snag_args[@]}") ;;
		esac
		report=$base.snag.json
		rus_list="snag:$base.snag.rusage"
		start_tracer snag "$base.snag" "$base.snag.err" 'snag: tracing' any \
			"$snag_bin" "${snag_args[@]}" || { run_error=$start_error; return 1; }
		;;
	peers | peers-offcpu | peers-io)
		local tools="offcputime runqlat biolatency syscount"
		[ "$config" != peers-offcpu ] || tools="offcputime runqlat"
		[ "$config" != peers-io ] || tools="biolatency syscount"
		for t in $tools; do
			rus_list+="${rus_list:+,}$t:$base.$t.rusage"
			# stdbuf: libbpf-tools print with stdio, block-buffered into a file.
			case "$t" in
			offcputime)
				start_tracer offcputime "$base.offcputime" "" '' any \
					stdbuf -oL offcputime -p "$target" ;;
			runqlat)
				start_tracer runqlat "$base.runqlat" "$base.runqlat.out" '^Tracing run queue latency' any \
					stdbuf -oL runqlat -p "$target" ;;
			biolatency)
				# Its programs run only on block I/O: the banner (printed once attached) is all
				# there is. It has no -p (it sees block requests, whoever issued them).
				start_tracer biolatency "$base.biolatency" "$base.biolatency.out" '^Tracing block device I/O' '' \
					stdbuf -oL biolatency ;;
			syscount)
				start_tracer syscount "$base.syscount" "$base.syscount.out" '^Tracing syscalls' any \
					stdbuf -oL syscount -L -p "$target" ;;
			esac || { run_error=$start_error; return 1; }
		done
		;;
	esac
}

# others_loaded: the tracing BPF programs loaded now (before this run's tracers start: all of
# them belong to other processes; they slow down every configuration, untraced included).
others_loaded() {
	py loaded 2>/dev/null | python3 -c 'import json, sys; print(sum(1 for p in json.load(sys.stdin) if p["tracing"]))' 2>/dev/null || echo ""
}

# run_one ROUND SERVICE CONFIG: one measurement, appended to $raw.
run_one() {
	local round=$1 svc=$2 config=$3
	local base="$log_dir/r$round-$svc-$config" before="" after="" t0="" t1="" p
	local pre="" post="" la others stats_on
	run_error=
	client_pid=
	la=$(cut -d' ' -f1-3 /proc/loadavg)
	others=$(others_loaded)
	stats_on=$(cat "$stats_file")
	if [ "$svc" = pgbench ]; then
		start_pgbench "$base" || true
	else
		target_pid=$redis_pid
	fi
	[ -n "$run_error" ] || pre=$(ctxsw "$target_pid")
	[ -n "$run_error" ] || start_config "$config" "$base" "$target_pid" || true
	if [ -z "$run_error" ]; then
		sleep "$warmup"
		before=$base.before.snap
		snap "$before" "$target_pid" "$([ "$svc" = pgbench ] && echo "$client_pid")"
		if [ "$svc" = redis ]; then
			rm -f "$base.client.pid" "$base.client.rusage"
			# shellcheck disable=SC2046
			if py spawn "$base.client.rusage" "$base.client.pid" $(redis_cmd) >"$base.workload" 2>&1; then
				client_pid=$(cat "$base.client.pid" 2>/dev/null || true)
			else
				run_error="redis-benchmark failed: $(tail -c 300 "$base.workload" | tr '\n' ' ')"
			fi
		else
			t0=$EPOCHREALTIME
			sleep "$pg_seconds"
			t1=$EPOCHREALTIME
			kill -0 "$client_pid" 2>/dev/null || run_error="pgbench exited during the window: $(tail -c 300 "$base.workload" | tr '\n' ' ')"
		fi
		after=$base.after.snap
		snap "$after" "$target_pid" "$([ "$svc" = pgbench ] && echo "$client_pid")"
		for p in "${tracer_pids[@]}"; do
			if [ -z "$run_error" ] && ! kill -0 "$p" 2>/dev/null; then
				# Its throughput would be partly untraced: not counted.
				run_error="a tracer (pid $p) exited during the load"
			fi
		done
		if [ -z "$run_error" ] && [ "${#tracer_pids[@]}" -gt 0 ]; then
			local named=() i
			for ((i = 0; i < ${#tracer_pids[@]}; i++)); do named+=("${tracer_names[i]}=${tracer_pids[i]}"); done
			py stats "${named[@]}" >"$base.progs.json" || run_error="cannot read the tracers' BPF program stats"
		fi
	fi
	stop_bg # pgbench
	if [ "${#wrapper_pids[@]}" -gt 0 ]; then
		if ! stop_tracers && [ -z "$run_error" ]; then
			run_error="${stop_errors}(logs: $base.*)"
		fi
	fi
	# A pgbench backend ends with its connection: no count after the tracers stopped.
	[ "$svc" != redis ] || post=$(ctxsw "$target_pid")
	[ -z "$run_error" ] || warn "round $round $svc $config: $run_error (logs: $base.*)"
	printf '  round %d/%d  %-7s  %-14s  ' "$round" "$rounds" "$svc" "$config"
	py record "$raw" round="$round" service="$svc" config="$config" error="$run_error" \
		loadavg="$la" others="$others" bpf_stats_enabled="$stats_on" target_pid="$target_pid" \
		client_pid="$client_pid" n="$redis_requests" t0="$t0" t1="$t1" before="$before" \
		after="$after" progs="$base.progs.json" report="$report" workload_out="$base.workload" \
		client_rusage="$([ "$svc" = redis ] && echo "$base.client.rusage")" ctxsw_pre="$pre" \
		pin_cpu="$([ "${#pin[@]}" -gt 0 ] && echo "$pin_cpu")" \
		ctxsw_post="$post" tool_rusage="$rus_list" || true
}

# redis_commands: the commands redis-server has processed so far (INFO stats).
redis_commands() {
	redis-cli -h 127.0.0.1 -p "$redis_port" info stats 2>/dev/null |
		awk -F: '/^total_commands_processed:/ { print $2 + 0 }'
}

# run_attrib SERVICE: snag's default mode once more, untimed, with perf stat counting its
# tracepoints system-wide, in the target, the client and snag. The load runs all along (for
# redis, a long redis-benchmark in the background, stopped after the window; the GETs in the
# window are redis-server's own count), so the shares perf counts over its slightly longer
# window are those of the window.
run_attrib() {
	local svc=$1
	local base="$log_dir/attrib-$svc" t0="" t1="" w n="" c0="" c1=""
	local perf_stat=(perf stat "-x," -e "$attr_events")
	run_error=
	client_pid=
	if [ "$svc" = pgbench ]; then
		start_pgbench "$base" || true
	else
		target_pid=$redis_pid
	fi
	[ -n "$run_error" ] || start_config snag "$base" "$target_pid" || true
	if [ -z "$run_error" ] && [ "$svc" = redis ]; then
		# Bounded: stopped after the window, long before its requests run out.
		"${pin[@]}" redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get -c "$redis_clients" \
			-n "$((redis_requests * 50))" --csv >"$base.workload" 2>&1 &
		client_pid=$!
		load_pid=$client_pid
		bg_pids+=("$client_pid")
	fi
	if [ -z "$run_error" ]; then
		"${perf_stat[@]}" -o "$base.perf-all" -a >/dev/null 2>"$base.perf-all.err" &
		bg_pids+=("$!")
		"${perf_stat[@]}" -o "$base.perf-target" -p "$target_pid" >/dev/null 2>"$base.perf-target.err" &
		bg_pids+=("$!")
		"${perf_stat[@]}" -o "$base.perf-snag" -p "${tracer_pids[0]}" >/dev/null 2>"$base.perf-snag.err" &
		bg_pids+=("$!")
		"${perf_stat[@]}" -o "$base.perf-client" -p "$client_pid" >/dev/null 2>"$base.perf-client.err" &
		bg_pids+=("$!")
		sleep "$((warmup + 1))" # perf opens its events
		snap "$base.before.snap" "$target_pid"
		[ "$svc" != redis ] || c0=$(redis_commands)
		t0=$EPOCHREALTIME
		sleep "$pg_seconds"
		t1=$EPOCHREALTIME
		[ "$svc" != redis ] || c1=$(redis_commands)
		snap "$base.after.snap" "$target_pid"
		kill -0 "$client_pid" 2>/dev/null || run_error="the load generator exited during the window: $(tail -c 300 "$base.workload" | tr '\n' ' ')"
		py stats "snag=${tracer_pids[0]}" >"$base.progs.json" || run_error="cannot read snag's BPF program stats"
		# The second INFO is not counted yet when it answers; the first is.
		[ "$svc" != redis ] || { [ -n "$c0" ] && [ -n "$c1" ] && n=$((c1 - c0 - 1)); } ||
			run_error="cannot read redis-server's command count"
	fi
	stop_bg # perf stats (they write their counts on SIGINT), the load generator
	[ "${#wrapper_pids[@]}" -eq 0 ] || stop_tracers || [ -n "$run_error" ] || run_error="$stop_errors"
	for w in all target client snag; do
		[ -s "$base.perf-$w" ] || [ -n "$run_error" ] || run_error="perf stat ($w) wrote nothing: $(tail -c 300 "$base.perf-$w.err" 2>/dev/null | tr '\n' ' ')"
	done
	[ -z "$run_error" ] || warn "attribution $svc: $run_error (logs: $base.*)"
	printf '  attribution  %-7s  snag + perf stat  ' "$svc"
	py attrib "$raw" service="$svc" error="$run_error" n="$n" t0="$t0" t1="$t1" \
		before="$base.before.snap" after="$base.after.snap" progs="$base.progs.json" \
		workload_out="$base.workload" perf_all="$base.perf-all" perf_target="$base.perf-target" \
		perf_client="$base.perf-client" perf_snag="$base.perf-snag" || true
}

loadavg_start=$(cat /proc/loadavg)
py loaded >"$log_dir/bpf-programs-at-start.json" || die "bpftool prog show failed"
others=$(python3 -c 'import json, sys; print(", ".join(sorted({"%s (%s, pid %s)" % (p["name"], p["type"], ",".join(str(x["pid"]) for x in p["pids"]) or "-") for p in json.load(open(sys.argv[1])) if p["tracing"]})))' "$log_dir/bpf-programs-at-start.json")
[ -z "$others" ] || warn "other tracing BPF programs are loaded; they slow down every configuration, untraced included: $others"
echo "bench-service: $rounds rounds; services: $services; configs: $configs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
has "$services" redis && start_redis && echo "bench-service: redis = $(redis_cmd)"
has "$services" pgbench && start_pg && echo "bench-service: pgbench = $(pg_cmd) (window: ${pg_seconds}s)"
for ((round = 1; round <= rounds; round++)); do
	for svc in $services; do
		for config in $configs; do
			run_one "$round" "$svc" "$config"
		done
	done
done
if [ "$attribution" -eq 1 ]; then
	for svc in $services; do run_attrib "$svc"; done
fi

py loaded >"$log_dir/bpf-programs-at-end.json" 2>/dev/null || echo '[]' >"$log_dir/bpf-programs-at-end.json"
meta=$(python3 -c '
import json, os, sys, time
a = sys.argv[1:]
print(json.dumps({
    "schema": "snag-bench-service/1",
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "kernel": os.uname().release, "machine": os.uname().machine, "cpus": os.cpu_count(),
    "rounds": int(a[0]),
    "commands": {"redis": a[1], "pgbench": a[2]},
    "targets_traced": {"redis": "redis-server (its pid)",
                       "pgbench": "the backend process serving pgbench (its pid)"},
    "pg_window_s": int(a[3]), "warmup_s": int(a[4]), "pin_cpu": a[13],
    "configs": {"untraced": "",
                "snag": "snag -p PID -o FILE --format json (off-CPU + I/O)",
                "snag-no-io": "snag -p PID --no-io -o FILE --format json",
                "snag-no-offcpu": "snag -p PID --no-offcpu -o FILE --format json",
                "snag-system": "snag -o FILE --format json (system-wide, as snag -d N)",
                "peers": "offcputime -p PID + runqlat -p PID + biolatency + syscount -L -p PID (libbpf-tools, together)",
                "peers-offcpu": "offcputime -p PID + runqlat -p PID",
                "peers-io": "biolatency + syscount -L -p PID"},
    "versions": {"snag": a[5], "libbpf-tools": a[6], "redis": a[7], "postgresql": a[8]},
    "bpf_stats_enabled": a[9] == "1",
    "loadavg_at_start": a[10], "loadavg_at_end": open("/proc/loadavg").read().strip(),
    "other_tracing_bpf_programs_at_start": [p for p in json.load(open(a[11])) if p["tracing"]],
    "other_tracing_bpf_programs_at_end": [p for p in json.load(open(a[12])) if p["tracing"]],
}))' "$rounds" "$(has "$services" redis && redis_cmd)" "$(has "$services" pgbench && pg_cmd)" \
	"$pg_seconds" "$warmup" "$("$snag_bin" --version 2>/dev/null | head -1 || true)" \
	"$(dpkg-query -W -f='${Version}' libbpf-tools 2>/dev/null || true)" \
	"$(dpkg-query -W -f='${Version}' redis-server 2>/dev/null || true)" \
	"$(dpkg-query -W -f='${Version}' postgresql 2>/dev/null || true)" "$bpf_stats" "$loadavg_start" \
	"$log_dir/bpf-programs-at-start.json" "$log_dir/bpf-programs-at-end.json" "$pin_cpu")
py summary "$raw" "$result_json" "$meta"
