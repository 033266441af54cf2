/* Analysis of a filled report: derived statistics, impact ranking, bottleneck rules, unit
 * formatting. */
#ifndef SNAG_ANALYSIS_H
#define SNAG_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "report.h"

/* A function becomes a bottleneck when it takes more than this share of traced thread time. */
#define ANALYSIS_BOTTLENECK_MIN_IMPACT 0.05
/* Tail-latency rule: p99 > ANALYSIS_TAIL_RATIO x p50 over at least ANALYSIS_TAIL_MIN_CALLS calls.
 */
#define ANALYSIS_TAIL_RATIO	4.0
#define ANALYSIS_TAIL_MIN_CALLS 20
/* Hot-function rule: at least this many calls, this many calls per second, this small an average.
 */
#define ANALYSIS_HOT_MIN_CALLS	       1000
#define ANALYSIS_HOT_MIN_CALLS_PER_SEC 1000.0
#define ANALYSIS_HOT_MAX_AVG_NS	       10000

/* Run-queue rule: a process whose threads waited for a CPU more than this share of their time. */
#define ANALYSIS_RUNQ_MIN_SHARE 0.05
/* User frames the off-CPU descriptions name, innermost first (after one kernel frame). */
#define ANALYSIS_OFFCPU_USER_FRAMES 3

/*
 * I/O rules (docs/impact.md, "I/O findings"). Their thresholds, not the
 * impact, decide whether a finding is reported.
 *
 * Small I/O (small_io on syscall rows, small_net_io on socket rows,
 * small_block_io on read/write block rows): at least this many operations,
 * this many per second of trace, and more than this share of them below
 * report.small_io_bytes.
 */
#define ANALYSIS_SMALL_IO_MIN_OPS	  1000
#define ANALYSIS_SMALL_IO_MIN_OPS_PER_SEC 1000.0
#define ANALYSIS_SMALL_IO_MIN_SHARE	  0.8
/* The transfer size the small-I/O advice aims at (small_io_bytes instead, when larger). */
#define ANALYSIS_SMALL_IO_TARGET_BYTES 65536
/*
 * Slow device (block rows): over at least this many requests, a tail (p99 >
 * RATIO x p50 and p99 >= TAIL_MIN_NS) or, for reads and writes, a slow
 * median (p50 >= MIN_P50_NS).
 */
#define ANALYSIS_SLOW_DEVICE_MIN_REQUESTS 20
#define ANALYSIS_SLOW_DEVICE_TAIL_RATIO	  4.0
#define ANALYSIS_SLOW_DEVICE_TAIL_MIN_NS  1000000ULL
#define ANALYSIS_SLOW_DEVICE_MIN_P50_NS	  10000000ULL
/* TCP retransmits: a process with at least this many; each is taken to stall for Linux's minimum
 * RTO. */
#define ANALYSIS_RETRANSMITS_MIN     1
#define ANALYSIS_RETRANSMIT_STALL_NS 200000000ULL
/* I/O errors (syscall rows): at least this many failed calls, more than this share of all calls.
 */
#define ANALYSIS_IO_ERRORS_MIN	     1000
#define ANALYSIS_IO_ERRORS_MIN_SHARE 0.5
/* Slow file I/O (read/write-family syscall rows on files): this many calls, a p99 this long. */
#define ANALYSIS_SLOW_FILE_MIN_CALLS  20
#define ANALYSIS_SLOW_FILE_MIN_P99_NS 5000000ULL

/*
 * Process-level wait rules (user/analysis_wait.c, docs/impact.md). Shares are
 * of the process's summed thread time; rates are per second of trace.
 */
#define ANALYSIS_LOCK_MIN_SHARE	      0.05 /* mutex waits (stacks) above this: lock_contention */
#define ANALYSIS_DISK_MIN_SHARE	      0.20 /* blocked on disk I/O above this: disk_bound */
#define ANALYSIS_NET_MIN_SHARE	      0.20 /* blocked on sockets above this ... */
#define ANALYSIS_NET_MIN_BLOCKS_PER_S 10.0 /* ... this often (an idle server blocks rarely) */
#define ANALYSIS_SLEEP_MIN_PER_S      50.0 /* sleeps this often ... */
#define ANALYSIS_SLEEP_MAX_AVG_NS     20000000ull /* ... this short: sleep_loop (polling) */

/*
 * Trends (user/analysis_trend.c): a series grows when a least-squares line
 * over at least ANALYSIS_TREND_MIN_POINTS intervals has a positive slope,
 * explains at least ANALYSIS_TREND_MIN_R2 of the variance, and rises by at
 * least ANALYSIS_TREND_MIN_GROWTH of the series' mean over its span.
 */
#define ANALYSIS_TREND_MIN_POINTS 5
#define ANALYSIS_TREND_MIN_R2	  0.7
#define ANALYSIS_TREND_MIN_GROWTH 0.5
#define ANALYSIS_TREND_MIN_CALLS  20 /* a function's latency trend needs this many calls */

/*
 * On-CPU hotspots (user/analysis_cpu.c, docs/impact.md): a function that was
 * the innermost frame of at least this many samples, and of more than
 * ANALYSIS_BOTTLENECK_MIN_IMPACT of traced thread time.
 */
#define ANALYSIS_CPU_HOT_MIN_SAMPLES 20

/*
 * Memory findings (user/analysis_mem.c, docs/impact.md "Memory findings").
 *
 * memory_leak: an allocation stack whose outstanding bytes, sampled at the end
 * of every interval, fit a growing line (analysis__is_trend()) that rises by
 * at least ANALYSIS_LEAK_MIN_BYTES over the trace and still rises over its last
 * half (a fit of those points has at least ANALYSIS_LEAK_TAIL_SHARE of the
 * whole slope: a cache that filled up and stopped is not a leak).
 */
#define ANALYSIS_LEAK_MIN_BYTES	 65536.0
#define ANALYSIS_LEAK_TAIL_SHARE 0.5
/*
 * allocation_churn: a heap stack with at least MIN_ALLOCS allocations, at
 * MIN_PER_SEC per second of trace, of which at least MIN_FREED_SHARE were
 * freed within the trace, after at most MAX_LIFETIME_NS on average.
 */
#define ANALYSIS_CHURN_MIN_ALLOCS      10000
#define ANALYSIS_CHURN_MIN_PER_SEC     1000.0
#define ANALYSIS_CHURN_MIN_FREED_SHARE 0.9
#define ANALYSIS_CHURN_MAX_LIFETIME_NS 10000000ull
/*
 * The churn impact's estimate of the allocator's own time: a malloc+free pair
 * on glibc's tcache fast path measured 5.3 ns here (tests/targets/mem churn);
 * 10 ns allows for blocks served from the arena instead.
 */
#define ANALYSIS_ALLOC_PAIR_NS 10ull

/* A least-squares line y = intercept + slope * x over n points. */
struct analysis_fit {
	size_t n;
	double slope, intercept;
	double r2;   /* share of the variance the line explains (1 for a flat series) */
	double mean; /* of y */
	double x_first, x_last;
};

/* Fit x/y (n >= 2 points, x not all equal). Returns 0, or -EINVAL with *fit zeroed. */
int analysis__fit_line(const double *x, const double *y, size_t n, struct analysis_fit *fit);

/* Does the fitted line show sustained growth, by the thresholds above? */
bool analysis__is_trend(const struct analysis_fit *fit);

/* ---- Memory (user/analysis_mem.c) ---- */

/*
 * Fill every allocation's growth_* (a least-squares line over its measured
 * series points, x = the end of each interval in seconds) and every memory
 * row's rss_growth_*; growth_fitted is false with fewer than 2 points.
 */
void analysis__derive_mem(struct report *r);

/*
 * Sort r->allocations by outstanding bytes, then total bytes, both descending,
 * and r->memory by pid. Returns 0 or -ENOMEM (unsorted).
 */
int analysis__sort_mem(struct report *r);

/*
 * The frame an allocation stack is "in": its first frame that is not an
 * allocation wrapper (operator new, strdup, xmalloc, g_malloc, ...), else its
 * first frame; NULL for an empty stack.
 */
const char *analysis__allocation_site(const struct report_allocation *a);

/* The memory_leak rule (above) for one row; *fit gets the whole series' line. */
bool analysis__is_leak(const struct report *r, const struct report_allocation *a,
		       struct analysis_fit *fit);

/* The allocation_churn rule (above) for one row. */
bool analysis__is_churn(const struct report *r, const struct report_allocation *a);

/* ---- end of memory ---- */

/* Buffer sizes that always fit analysis__format_duration() / analysis__format_count(). */
#define ANALYSIS_DURATION_LEN 24
#define ANALYSIS_COUNT_LEN    32
#define ANALYSIS_BYTES_LEN    24

/*
 * The denominator of every impact, so findings of all kinds rank on one
 * scale: the summed alive time of the traced threads. That is
 * sched_thread_ns when the scheduler collector ran (every thread of the
 * traced processes), else traced_thread_ns (threads that called a probed
 * function), else the trace duration (one thread's worth).
 */
uint64_t analysis__thread_time(const struct report *r);

/*
 * What an off-CPU entry waited for, from its stacks: WAIT_LOCK for a mutex
 * or kernel lock (not a condition variable or join: those wait for work or
 * another thread), WAIT_SLEEP, WAIT_BLOCK_IO, WAIT_NET, WAIT_EVENTS
 * (poll/epoll/select), else WAIT_OTHER. Preempted entries are WAIT_OTHER.
 */
enum wait_kind analysis__offcpu_category(const struct report_offcpu *o);

/* Sleeping this long at a time is a daemon's timer, not a polling loop: idle. */
#define ANALYSIS_IDLE_SLEEP_NS 100000000ull

/*
 * Is an off-CPU entry a thread with nothing to do (epoll/poll/select, a
 * condition variable or join, accept, a sleep of >= ANALYSIS_IDLE_SLEEP_NS)?
 * Such entries are never bottlenecks (needs analysis__derive_sched()).
 */
bool analysis__offcpu_is_idle(const struct report_offcpu *o);

/*
 * Fill f's avg_ns, p50/p90/p99_ns (from its histogram, clamped to [min, max]),
 * impact (total_ns / traced_thread_ns, clamped to [0, 1]; 0 when
 * traced_thread_ns is 0) and severity.
 */
void analysis__derive_function(struct report_function *f, uint64_t traced_thread_ns);

/*
 * Sort r->functions by impact, then total_ns, both descending (ties keep
 * their order) and remap every report_interval_func.func to the new
 * positions (out-of-range indices are left alone). Returns 0, or -ENOMEM
 * with the report unchanged.
 */
int analysis__sort_functions(struct report *r);

/* Order of two array elements; 0 keeps their relative order (analysis__order() is stable). */
typedef int (*analysis_cmp_fn)(const void *a, const void *b);

/*
 * The indices of the n elements (size bytes each) at base in stable cmp
 * order, as a new array of n indices (the caller free()s it), or NULL with
 * errno = ENOMEM. base is not modified.
 */
size_t *analysis__order(const void *base, size_t n, size_t size, analysis_cmp_fn cmp);

/*
 * Fill the scheduler-derived fields: every sched row's runq_p50_ns and
 * runq_p99_ns (from runq_hist), r->sched_thread_ns (the sum of wall_ns,
 * only when the collector left it 0), and every off-CPU entry's impact
 * (total_ns / sched_thread_ns, clamped to [0, 1]; 0 when that is 0) and
 * severity. Idempotent.
 */
void analysis__derive_sched(struct report *r);

/*
 * Sort r->offcpu by impact, then total_ns, both descending (ties keep their
 * order), and r->sched by (pid, tid). Returns 0, or -ENOMEM with the report
 * unchanged.
 */
int analysis__sort_sched(struct report *r);

/*
 * Fill the I/O-derived fields of every block_io and syscall_io row: avg_ns
 * (total_ns over the requests, or over the syscalls including failed ones)
 * and p50_ns/p99_ns estimated from lat_hist, clamped to max_ns when it is
 * known (non-zero). Idempotent.
 */
void analysis__derive_io(struct report *r);

/*
 * Sort, descending and stably: r->block_io and r->syscall_io by total_ns,
 * r->net_io by bytes, r->net_conns by send_bytes + recv_bytes. Returns 0, or
 * -ENOMEM with the rows not yet sorted left in their order.
 */
int analysis__sort_io(struct report *r);

/*
 * On-CPU sampling: merge r->cpu entries naming the same frames, fill each
 * entry's oncpu_ns (samples * cpu_period_ns), impact and severity, sort them
 * by samples (descending), and rebuild r->cpu_functions: each function's self
 * samples (innermost frame: the kernel frame the sample hit, else the user
 * frame) and total samples (anywhere on the stack, once per sample), sorted by
 * self then total samples. Nothing when r->cpu_enabled is false. Idempotent.
 */
void analysis__derive_cpu(struct report *r);

/* The samples of every on-CPU entry. */
uint64_t analysis__cpu_samples(const struct report *r);

/* One process's scheduler rows summed (analysis__processes()). */
struct analysis_process {
	int pid;
	const char *comm; /* the main thread's (tid == pid), else the first thread's; owned by r */
	size_t threads;
	uint64_t wall_ns;
	uint64_t oncpu_ns;
	uint64_t offcpu_ns;
	uint64_t blocked_ns;
	uint64_t preempted_ns;
	uint64_t runq_total_ns;
	uint64_t voluntary_switches;
	uint64_t involuntary_switches;
	uint64_t blocked_by[WAIT__COUNT]; /* blocked_ns by what was waited for */
	uint64_t blocks_by[WAIT__COUNT];
	/* On-CPU sampling (--cpu): the same on-CPU time, measured by sampling instead. */
	uint64_t cpu_samples;
	uint64_t oncpu_sampled_ns; /* cpu_samples * cpu_period_ns */
};

/*
 * Wall time the breakdown does not explain: wall - (on-CPU + run queue +
 * blocked). The scheduler collector accounts every switch, so this is 0 up
 * to clock races; a thread first seen mid-trace or a missed switch-out
 * (sched_missed_switch_out) leaves some. Signed: negative means overlap.
 */
int64_t analysis__unaccounted_ns(const struct analysis_process *p);

/* The breakdown must explain wall time within this share (documented tolerance). */
#define ANALYSIS_BREAKDOWN_TOLERANCE 0.01

/*
 * Sum r->sched per process (pid), in ascending pid order, whether or not the
 * rows are sorted. Returns 0 with a new array in *out (the caller free()s it;
 * NULL when *n is 0), or -ENOMEM with *out NULL and *n 0.
 */
int analysis__processes(const struct report *r, struct analysis_process **out, size_t *n);

/*
 * Replace r->bottlenecks with, sorted by impact descending:
 *  - one "function" entry per function that has calls and impact >
 *    ANALYSIS_BOTTLENECK_MIN_IMPACT;
 *  - one "offcpu" entry per off-CPU entry with count > 0 and impact >
 *    ANALYSIS_BOTTLENECK_MIN_IMPACT;
 *  - one "runqueue" entry per process whose run-queue share (summed
 *    runq_total_ns / summed wall_ns) is > ANALYSIS_RUNQ_MIN_SHARE;
 *  - the I/O findings ("small_io", "small_net_io", "small_block_io",
 *    "io_errors", "slow_file_io", "slow_device", "tcp_retransmits"), one
 *    per row (per process for "tcp_retransmits") that passes its rule's
 *    ANALYSIS_* thresholds, whatever its impact;
 * each with description, evidence and rule-based recommendations (see
 * docs/impact.md). Expects derived fields (analysis__derive_function,
 * analysis__derive_sched, analysis__derive_io). Returns 0, or -ENOMEM with
 * r->bottlenecks left empty.
 */
int analysis__build_bottlenecks(struct report *r);

/*
 * The telling frames of an off-CPU entry as "kframe <- uframe <- ...": the
 * innermost kernel frame that is not scheduler plumbing, then up to
 * ANALYSIS_OFFCPU_USER_FRAMES user frames, past the library wrappers the
 * program called the kernel through. With no user stack (kernel threads),
 * that many more kernel frames instead. A new string ("" when there are no
 * frames; the caller free()s it), or NULL with errno = ENOMEM.
 */
char *analysis__offcpu_frames(const struct report_offcpu *o);

/* Free r->bottlenecks and everything they own; leaves an empty list. */
void analysis__clear_bottlenecks(struct report *r);

/*
 * Write ns in a human unit with 3 significant figures ("812ns", "2.05ms",
 * "812us", "1.20s"; seconds keep all integer digits) into buf and return buf.
 * size >= ANALYSIS_DURATION_LEN always fits.
 */
char *analysis__format_duration(uint64_t ns, char *buf, size_t size);

/* Write n with thousands separators ("1,234,567") into buf and return buf. */
char *analysis__format_count(uint64_t n, char *buf, size_t size);

/* Whether function probes were asked for: functions traced, or no other collector on (--cpu is
 * one).
 */
bool analysis__functions_wanted(const struct report *r);

/*
 * What was traced, for people, as a new string the caller free()s: "pids 12,
 * 34", "command 'make -j8' (pid 99)", "all processes" (or "all processes
 * running the probed binaries"), then " in cgroup PATH" if one was given.
 * At most ANALYSIS_MAX_LISTED_PIDS pids are listed. Returns NULL with errno
 * set on allocation failure.
 */
#define ANALYSIS_MAX_LISTED_PIDS 8
char *analysis__describe_target(const struct report *r);

/* Buffer sizes that always fit analysis__format_evidence()'s label and value. */
#define ANALYSIS_EVIDENCE_LABEL_LEN 64
#define ANALYSIS_EVIDENCE_VALUE_LEN 32

/*
 * One evidence item for people, as a label and a value: a "_ns" key loses
 * its suffix and its integral value becomes a duration ("p99", "3.07ms"),
 * "impact" a percentage ("impact", "99.5%"), other integral values counts
 * with separators ("count", "1,234"), the rest 3 significant digits. A NULL
 * key is "-". Labels longer than label_size are cut.
 */
void analysis__format_evidence(const struct report_evidence *e, char *label, size_t label_size,
			       char *value, size_t value_size);

/*
 * Write a size in bytes in binary units ("512B", "4.0KiB", "1.5MiB", "200GiB":
 * one decimal below 100) into buf and return buf. size >= ANALYSIS_BYTES_LEN
 * always fits.
 */
char *analysis__format_bytes(uint64_t bytes, char *buf, size_t size);

#endif
