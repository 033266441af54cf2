/* Analysis of a filled report: derived statistics, impact ranking, bottleneck rules, unit
 * formatting. */
#ifndef SNAG_ANALYSIS_H
#define SNAG_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
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

/* Buffer sizes that always fit analysis__format_duration() / analysis__format_count(). */
#define ANALYSIS_DURATION_LEN 24
#define ANALYSIS_COUNT_LEN    32
#define ANALYSIS_BYTES_LEN    24

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
};

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

/*
 * Write a size in bytes in binary units ("512B", "4.0KiB", "1.5MiB", "200GiB":
 * one decimal below 100) into buf and return buf. size >= ANALYSIS_BYTES_LEN
 * always fits.
 */
char *analysis__format_bytes(uint64_t bytes, char *buf, size_t size);

#endif
