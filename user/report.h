/* The report model: one tree that collectors fill, analysis annotates and every renderer reads. */
#ifndef SNAG_REPORT_H
#define SNAG_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include "hist.h"

#define REPORT_SCHEMA "snag-report/1"

enum severity {
	SEVERITY_LOW = 0,
	SEVERITY_MEDIUM,
	SEVERITY_HIGH,
	SEVERITY_CRITICAL,
};

enum target_mode {
	TARGET_PIDS,	/* -p: running processes */
	TARGET_COMMAND, /* -c: a command snag started */
	TARGET_SYSTEM,	/* no -p/-c: every process running the probed binaries */
};

struct report_target {
	enum target_mode mode;
	int *pids; /* -p pids, or the -c child's pid */
	size_t n_pids;
	char *command; /* -c string, or NULL */
	char **specs;  /* -u specs as given */
	size_t n_specs;
	char *cgroup; /* --cgroup path, or NULL */
};

struct report_function {
	char *binary;	  /* path of the ELF as the traced process sees it */
	char *name;	  /* symbol name */
	uint64_t address; /* symbol value (link-time virtual address) */
	uint64_t count;
	uint64_t total_ns;  /* sum of call latencies */
	uint64_t inside_ns; /* time inside it; a recursive call within another adds nothing */
	uint64_t min_ns;    /* 0 when count == 0 */
	uint64_t max_ns;
	uint64_t hist[SNAG_HIST_BUCKETS]; /* bucket i counts calls with latency in [lower(i),
					     upper(i)] */
	/* Derived by report__finish(). */
	uint64_t avg_ns;
	uint64_t p50_ns;
	uint64_t p90_ns;
	uint64_t p99_ns;
	double impact; /* share of traced thread time inside this function, 0..1 */
	enum severity severity;
};

/* Calls of one function during one interval. */
struct report_interval_func {
	size_t func; /* index into report.functions */
	uint64_t count;
	uint64_t total_ns;
};

/* One process during one interval: deltas of its scheduler and I/O totals. */
struct report_interval_proc {
	int pid;
	uint64_t oncpu_ns;
	uint64_t runq_ns;
	uint64_t blocked_ns;
	uint64_t syscall_calls; /* read/write-family syscalls (I/O collector) */
	uint64_t syscall_bytes;
	uint64_t block_requests;
	uint64_t block_bytes;
	uint64_t net_messages;
	uint64_t net_bytes;
};

struct report_interval {
	uint64_t offset_ns; /* interval start, relative to the report's start */
	uint64_t duration_ns;
	struct report_interval_func *funcs; /* only functions called in this interval */
	size_t n_funcs;
	struct report_interval_proc *procs; /* only processes with activity, ascending pid */
	size_t n_procs;
};

/* A named number behind a finding, e.g. {"p99_ns", 2.1e6}. */
struct report_evidence {
	char *key;
	double value;
};

struct report_bottleneck {
	char *kind;   /* "function", later "offcpu", "block_io", ... */
	char *target; /* what it is about, e.g. "slow_io (/usr/bin/app)" */
	int pid;      /* 0 when not about one process */
	double impact;
	enum severity severity;
	char *description;
	struct report_evidence *evidence;
	size_t n_evidence;
	char **recommendations;
	size_t n_recommendations;
};

/* A symbolized stack: frame names, innermost first ("func", or "module+0xoffset" when unknown). */
struct report_stack {
	char **frames;
	size_t n_frames;
	bool truncated; /* deeper than snag captures: the outermost frames are missing */
};

/* What blocked time waited for (same order as enum snag_wait; see docs/offcpu.md). */
enum wait_kind {
	WAIT_OTHER = 0,
	WAIT_BLOCK_IO,
	WAIT_NET,
	WAIT_LOCK,
	WAIT_SLEEP,
	WAIT_EVENTS,
	WAIT__COUNT,
};

/* "other", "block_io", "network", "lock", "sleep", "events". */
const char *wait_kind__name(enum wait_kind w);

enum offcpu_reason {
	OFFCPU_BLOCKED = 0,   /* left the CPU voluntarily (sleep, lock, I/O) */
	OFFCPU_PREEMPTED = 1, /* runnable, but descheduled */
};

/* Off-CPU time of one thread with one pair of stacks, one reason and one waker. */
struct report_offcpu {
	int pid; /* process (tgid) */
	int tid;
	char *comm;
	enum offcpu_reason reason;
	uint64_t count;	   /* blocks of at least report.min_block_ns */
	uint64_t total_ns; /* their summed off-CPU time (switch-out to switch-in) */
	uint64_t max_ns;
	struct report_stack kernel_stack;
	struct report_stack user_stack;
	/* Who woke it (blocked only; 0 / NULL when unknown). */
	int waker_pid;
	int waker_tid;
	char *waker_comm;
	struct report_stack waker_kernel_stack;
	struct report_stack waker_user_stack;
	/* Derived by report__finish(). */
	double impact; /* total_ns / analysis__thread_time() */
	enum severity severity;
	enum wait_kind category; /* what it waited for, from its kernel and user stacks */
};

/* Scheduler account of one thread. offcpu_ns = blocked_ns + runq_total_ns. */
struct report_thread_sched {
	int pid; /* process (tgid) */
	int tid;
	char *comm;
	uint64_t voluntary_switches; /* left the CPU to wait (as /proc's voluntary_ctxt_switches) */
	uint64_t involuntary_switches; /* preempted (nonvoluntary_ctxt_switches) */
	uint64_t wall_ns;	       /* alive within the trace */
	uint64_t oncpu_ns;
	uint64_t offcpu_ns;	/* switch-out to switch-in, all of it */
	uint64_t blocked_ns;	/* switch-out to wakeup, after leaving voluntarily */
	uint64_t preempted_ns;	/* switch-out to switch-in, after a preemption */
	uint64_t runq_total_ns; /* runnable but waiting: wakeup or preemption to switch-in */
	uint64_t blocked_by[WAIT__COUNT]; /* blocked_ns by what was waited for (they sum to it) */
	uint64_t blocks_by[WAIT__COUNT];  /* voluntary switches by what was waited for */
	uint64_t runq_hist[SNAG_SCHED_HIST_BUCKETS];   /* run-queue waits */
	uint64_t offcpu_hist[SNAG_SCHED_HIST_BUCKETS]; /* off-CPU durations */
	/* Derived by report__finish(). */
	uint64_t runq_p50_ns;
	uint64_t runq_p99_ns;
};

/* ---- I/O collector ---- */

/* Block requests of one issuing process, device and operation. */
struct report_block_io {
	int pid;      /* process that issued the requests (writeback: the flusher kworker) */
	char *comm;   /* its name */
	char *device; /* "vda", "nvme0n1p1"; "MAJ:MIN" when the name is unknown */
	uint32_t major, minor;
	char *op;	   /* "read", "write", "flush", "discard", "write_zeroes", "other" */
	uint64_t count;	   /* completed requests */
	uint64_t bytes;	   /* their summed size */
	uint64_t total_ns; /* summed latency, request start (block_io_start) to completion */
	uint64_t max_ns;
	uint64_t size_hist[SNAG_SIZE_HIST_BUCKETS]; /* requests by size, snag_size_hist_* layout */
	uint64_t lat_hist[SNAG_SCHED_HIST_BUCKETS]; /* latencies, snag_sched_hist_* layout */
	/* Derived by report__finish(). */
	uint64_t avg_ns;
	uint64_t p50_ns;
	uint64_t p99_ns;
};

enum net_direction {
	NET_SEND = 0,
	NET_RECV = 1,
};

/* Socket messages of one process, protocol and direction (sock_send_length/sock_recv_length). */
struct report_net_io {
	int pid;
	char *comm;
	char *protocol; /* "tcp", "udp", "unix", "raw", "netlink", "other" */
	char *family;	/* "ipv4", "ipv6", "unix", "netlink", "other" */
	char *type;	/* "stream", "dgram", "seqpacket", "raw", "other" */
	enum net_direction direction;
	uint64_t count;	      /* calls that moved at least 0 bytes (ret >= 0) */
	uint64_t bytes;	      /* their summed size */
	uint64_t small_count; /* of them, below report.small_io_bytes */
	uint64_t errors;      /* calls that failed (ret < 0, e.g. EAGAIN) */
	uint64_t size_hist[SNAG_SIZE_HIST_BUCKETS];
	/* Derived by report__finish(): TCP send rows only, the process's connections' sum. */
	uint64_t retransmits;
};

/* One TCP connection as seen by one process (key: the 4-tuple). */
struct report_net_conn {
	int pid; /* last process that sent or received on it; 0 when only retransmits were seen */
	char *comm;   /* NULL when pid is 0 */
	char *family; /* "ipv4", "ipv6" */
	char *local;  /* "127.0.0.1:5000", "[::1]:5000" */
	char *remote;
	uint64_t sends, send_bytes;
	uint64_t recvs, recv_bytes;
	uint64_t retransmits; /* tcp_retransmit_skb on this connection */
};

/* read/write-family syscalls of one process, syscall and fd type (sys_enter/sys_exit). */
struct report_syscall_io {
	int pid;
	char *comm;
	char *syscall;	      /* "read", "write", "pread64", ..., "recvmsg" */
	char *fd_type;	      /* "file", "socket", "pipe", "tty", "other" */
	uint64_t count;	      /* calls that returned >= 0 */
	uint64_t bytes;	      /* bytes they returned */
	uint64_t small_count; /* of them, moved fewer than report.small_io_bytes */
	uint64_t errors;      /* calls that returned an error */
	uint64_t total_ns;    /* summed latency of all calls, errors included */
	uint64_t max_ns;
	uint64_t size_hist[SNAG_SIZE_HIST_BUCKETS];
	uint64_t lat_hist[SNAG_SCHED_HIST_BUCKETS];
	/* Derived by report__finish(). */
	uint64_t avg_ns;
	uint64_t p50_ns;
	uint64_t p99_ns;
};

/* ---- On-CPU sampling (cpu collector; docs/cpu.md) ---- */

/* On-CPU samples of one thread with one pair of stacks. */
struct report_cpu {
	int pid; /* process (tgid) */
	int tid;
	char *comm;
	uint64_t samples; /* cpu-clock samples that found the thread running with these stacks */
	struct report_stack kernel_stack; /* empty when the sample hit user mode */
	struct report_stack user_stack;
	/*
	 * The user stack's callers cannot be trusted: its innermost frame is in a
	 * binary without frame pointers, or the walk stopped short of any thread
	 * entry point (see report.cpu_warnings and docs/cpu.md).
	 */
	bool user_incomplete;
	/* Derived by report__finish(). */
	uint64_t oncpu_ns; /* samples * report.cpu_period_ns */
	double impact;	   /* oncpu_ns / analysis__thread_time() */
	enum severity severity;
};

/* A hot source line: where a user address with the most self samples is, from DWARF. */
struct report_cpu_line {
	char *function; /* the function holding it, as the stacks name it */
	char *binary;	/* the ELF file */
	char *file;	/* source file as DWARF names it (may be a full path) */
	uint32_t line;
	uint64_t samples; /* samples taken at addresses of this line (self, user mode) */
};

/* A binary whose code ran without frame pointers, so stacks through it lose their callers. */
struct report_cpu_warning {
	char *binary;		     /* the ELF file (path as the process sees it) */
	uint64_t samples;	     /* samples whose innermost user frame is in it */
	uint64_t incomplete_samples; /* of them, with report_cpu.user_incomplete */
	uint64_t functions_checked;  /* its functions whose prologue was read */
	uint64_t fp_functions;	     /* of them, starting with push %rbp; mov %rsp,%rbp */
};

/* One function's on-CPU samples over every cpu[] entry (derived by report__finish()). */
struct report_cpu_function {
	char *name;
	bool kernel;
	char *binary; /* from report.cpu_lines, when one of its lines is there; else NULL */
	uint64_t self_samples;	    /* samples whose innermost frame is this function */
	uint64_t total_samples;	    /* samples with it anywhere on the stack (once per sample) */
	uint64_t self_ns, total_ns; /* the same times cpu_period_ns */
	double self_impact;	    /* self_ns / analysis__thread_time() */
	double total_impact;
	enum severity severity; /* of self_impact */
	int pid;		/* the one process it ran in, 0 when several */
};

/* ---- Memory collector (--mem) ---- */

/* A series value that was not measured (a stack not followed then, a process gone). */
#define REPORT_SERIES_NONE INT64_MIN

/*
 * Allocations of one process from one allocation stack, from the trace's
 * start. With --mem-sample N the counts are the sampled ones times N.
 */
struct report_allocation {
	int pid;
	char *comm;
	char *source;		   /* "heap" (the malloc family) or "mmap" (anonymous mappings) */
	struct report_stack stack; /* allocation site, innermost first; empty when not captured */
	int64_t outstanding_bytes; /* allocated in the trace and not freed at its end */
	int64_t outstanding_count;
	uint64_t total_allocs; /* allocations */
	uint64_t total_bytes;
	uint64_t freed_allocs; /* of them, freed within the trace */
	uint64_t freed_bytes;
	uint64_t lifetime_ns;	   /* summed allocation-to-free time of the freed ones */
	uint64_t untracked_allocs; /* counted, but not followed to their free (live table full) */
	/*
	 * Outstanding bytes at the end of each interval (n_series == the report's
	 * n_intervals), REPORT_SERIES_NONE where the stack was not followed; NULL
	 * for stacks never among the followed ones.
	 */
	int64_t *series;
	size_t n_series;
	/* Derived by report__finish(): the least-squares growth of series (when fitted). */
	bool growth_fitted;
	double growth_bytes_per_s;
	double growth_r2;
	size_t growth_points;
};

/* One traced process's memory, sampled from /proc at the end of every interval. */
struct report_memory {
	int pid;
	char *comm;
	/* Per interval (n == the report's n_intervals), REPORT_SERIES_NONE when not read. */
	int64_t *rss_bytes;    /* resident set size at the interval's end */
	int64_t *minor_faults; /* page faults during the interval */
	int64_t *major_faults;
	size_t n;
	uint64_t peak_rss_bytes; /* the largest rss sample */
	uint64_t hwm_rss_bytes;	 /* VmHWM: the kernel's peak RSS since the process started */
	uint64_t minor_faults_total, major_faults_total;
	/* Derived by report__finish(). */
	bool growth_fitted;
	double rss_growth_bytes_per_s;
	double rss_growth_r2;
};

/* "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "free". */
#define REPORT_MEM_FUNCS 6

struct report_program {
	char *name;
	uint64_t runs;
	uint64_t run_time_ns;
};

struct report_drop {
	char *cause; /* e.g. "nesting_too_deep" */
	uint64_t count;
};

struct report_overhead {
	struct report_program *programs;
	size_t n_programs;
	struct report_drop *drops; /* every known cause, zero counts included */
	size_t n_drops;
	/* Events the kernel did not report but snag rebuilt without loss, by cause; listed
	 * only when non-zero. */
	struct report_drop *recovered;
	size_t n_recovered;
	/* How the off-CPU collector took user stacks: "task_work" (in the thread's own
	 * context on its way back to user space), "rseq" (where the kernel refuses task
	 * work: on the way back through rseq_update, at switch-out for threads without
	 * rseq) or "switch_out" (at every switch-out); NULL without stacks. */
	char *offcpu_user_stacks;
};

struct report {
	char *snag_version;
	char *hostname;
	char *kernel;	       /* uname -r */
	int64_t start_time_ns; /* CLOCK_REALTIME at trace start, ns since the epoch */
	uint64_t duration_ns;  /* trace length */
	struct report_target target;
	uint64_t traced_threads; /* threads that called at least one probed function */
	uint64_t
	    traced_thread_ns; /* their summed alive time within the trace: impact's denominator */
	struct report_function *functions;
	size_t n_functions;
	struct report_interval *intervals;
	size_t n_intervals;
	struct report_bottleneck *bottlenecks;
	size_t n_bottlenecks;
	struct report_overhead overhead;
	/* Scheduler collector (empty when it was off). */
	bool sched_enabled;
	uint64_t min_block_ns;	  /* blocks at least this long have stacks (offcpu[]) */
	uint64_t sched_thread_ns; /* sum of sched[].wall_ns: offcpu impact's denominator */
	struct report_thread_sched *sched;
	size_t n_sched;
	struct report_offcpu *offcpu;
	size_t n_offcpu;
	/* I/O collector (empty when it was off). */
	bool io_enabled;
	uint64_t small_io_bytes; /* --small-io: an I/O below this many bytes is small */
	struct report_block_io *block_io;
	size_t n_block_io;
	struct report_net_io *net_io;
	size_t n_net_io;
	struct report_net_conn *net_conns;
	size_t n_net_conns;
	struct report_syscall_io *syscall_io;
	size_t n_syscall_io;
	/* Memory collector (empty when it was off). */
	bool mem_enabled;
	uint64_t mem_sample;		      /* one allocation call in mem_sample was recorded */
	uint64_t mem_untracked_frees;	      /* frees of blocks not seen allocated (not scaled) */
	uint64_t mem_calls[REPORT_MEM_FUNCS]; /* allocator calls probed (every one hits a uprobe) */
	struct report_allocation *allocations;
	size_t n_allocations;
	struct report_memory *memory;
	size_t n_memory;
	/* On-CPU sampling (empty when it was off). */
	bool cpu_enabled;
	uint64_t cpu_frequency_hz; /* -F */
	uint64_t cpu_period_ns;	   /* the time one sample stands for: 1e9 / cpu_frequency_hz */
	struct report_cpu *cpu;
	size_t n_cpu;
	struct report_cpu_line *cpu_lines; /* hottest lines, most samples first */
	size_t n_cpu_lines;
	struct report_cpu_warning *cpu_warnings;
	size_t n_cpu_warnings;
	struct report_cpu_function *cpu_functions; /* derived: by self, then total samples */
	size_t n_cpu_functions;
};

/*
 * Allocate an empty report with snag_version, hostname and kernel filled in.
 * Returns NULL with errno set on allocation failure. Free with report__free().
 */
struct report *report__new(void);

/* Free the report and everything it owns. NULL is a no-op. */
void report__free(struct report *r);

/*
 * How many elements an array of the model that holds n of them has room for (the next
 * power of two): whoever allocates one (the collectors through report__add_*, the reader)
 * allocates this many, so appending to it stays cheap.
 */
size_t report__array_capacity(size_t n);

/*
 * Append a function row (zeroed counters) and return it. The pointer is valid
 * until the next report__add_function(); the index is stable until
 * report__finish(). Returns NULL with errno set on failure.
 */
struct report_function *report__add_function(struct report *r, const char *binary, const char *name,
					     uint64_t address);

/* Append an interval; copies funcs. Returns 0 or -ENOMEM. */
int report__add_interval(struct report *r, uint64_t offset_ns, uint64_t duration_ns,
			 const struct report_interval_func *funcs, size_t n_funcs);

/* Give the last interval its per-process series (copied). Returns 0, -EINVAL or -ENOMEM. */
int report__set_interval_procs(struct report *r, const struct report_interval_proc *procs,
			       size_t n);

/* Set the per-program overhead and drop counts (copied). Returns 0 or -ENOMEM. */
int report__add_program(struct report *r, const char *name, uint64_t runs, uint64_t run_time_ns);
int report__add_drop(struct report *r, const char *cause, uint64_t count);
/* Count events rebuilt without loss (overhead.recovered), copied. Returns 0 or -ENOMEM. */
int report__add_recovered(struct report *r, const char *cause, uint64_t count);

/*
 * Append a zeroed scheduler row for one thread and return it (valid until the
 * next report__add_sched()). comm is copied. Returns NULL with errno set.
 */
struct report_thread_sched *report__add_sched(struct report *r, int pid, int tid, const char *comm);

/*
 * Append a zeroed off-CPU entry and return it (valid until the next
 * report__add_offcpu()). comm is copied; fill the stacks with
 * report_stack__set(). Returns NULL with errno set.
 */
struct report_offcpu *report__add_offcpu(struct report *r, int pid, int tid, const char *comm,
					 enum offcpu_reason reason);

/*
 * Append a zeroed I/O row and return it (valid until the next append of the
 * same kind). Every string argument is copied (NULL stays NULL). Returns NULL
 * with errno set.
 */
struct report_block_io *report__add_block_io(struct report *r, int pid, const char *comm,
					     const char *device, const char *op);
struct report_net_io *report__add_net_io(struct report *r, int pid, const char *comm,
					 const char *protocol, const char *family, const char *type,
					 enum net_direction dir);
struct report_net_conn *report__add_net_conn(struct report *r, int pid, const char *comm,
					     const char *family, const char *local,
					     const char *remote);
struct report_syscall_io *report__add_syscall_io(struct report *r, int pid, const char *comm,
						 const char *syscall, const char *fd_type);

/* "send" or "recv". */
const char *net_direction__name(enum net_direction d);

/*
 * Append a zeroed allocation row (valid until the next append); comm and
 * source are copied. Returns NULL with errno set.
 */
struct report_allocation *report__add_allocation(struct report *r, int pid, const char *comm,
						 const char *source);

/*
 * Append a process's memory row with series of n values (every one
 * REPORT_SERIES_NONE; valid until the next append); comm is copied. Returns
 * NULL with errno set.
 */
struct report_memory *report__add_memory(struct report *r, int pid, const char *comm, size_t n);

/* Name of REPORT_MEM_FUNCS index i: "malloc" .. "free". */
const char *report_mem_func__name(size_t i);

/*
 * Merge off-CPU entries of the same thread, reason and waker whose stacks
 * name the same frames (raw addresses that differ within one function, or
 * libraries seen before and after a refresh): counts and times add up, the
 * longest block is kept. Order is kept. Returns 0 or -ENOMEM (unchanged).
 */
int report__merge_offcpu(struct report *r);

/* ---- On-CPU sampling ---- */

/*
 * Append a zeroed on-CPU entry and return it (valid until the next
 * report__add_cpu()). comm is copied; fill the stacks with report_stack__set().
 * Returns NULL with errno set.
 */
struct report_cpu *report__add_cpu(struct report *r, int pid, int tid, const char *comm);

/* Append a hot source line (strings copied). Returns 0, -EINVAL or -ENOMEM. */
int report__add_cpu_line(struct report *r, const char *function, const char *binary,
			 const char *file, uint32_t line, uint64_t samples);

/* Append a zeroed frame-pointer warning about binary (copied). Returns it, or NULL with errno. */
struct report_cpu_warning *report__add_cpu_warning(struct report *r, const char *binary);

/*
 * Merge on-CPU entries of the same thread whose stacks name the same frames
 * (samples at different addresses of the same functions): samples add up.
 * Order is kept. Returns 0 or -ENOMEM (unchanged).
 */
int report__merge_cpu(struct report *r);

/* Copy n frame names (innermost first) into st, replacing what it held. Returns 0 or -ENOMEM. */
int report_stack__set(struct report_stack *st, const char *const *frames, size_t n, bool truncated);

/*
 * The function a stack frame counts under where frames are grouped by name
 * (function tables, flame graphs, pprof functions). The symbolizer writes a
 * frame it cannot name as MODULE+0xOFFSET; such frames group as one row per
 * module, as perf and pprof show them: "[vdso]+0x7bd" as "[vdso]",
 * "libfoo.so+0x1234" as "[unknown] in libfoo.so", "[unknown]+0x7f00.." as
 * "[unknown]". Any other frame is returned as it is. Returns frame, or buf
 * (len bytes, truncated to fit) holding the module's row name.
 */
const char *report__frame_function(const char *frame, char *buf, size_t len);
#define REPORT_FRAME_FUNCTION_MAX 512 /* a buffer for report__frame_function() */

/* "blocked" or "preempted". */
const char *offcpu_reason__name(enum offcpu_reason r);

/*
 * Derive avg/percentiles/impact/severity for every function, sort functions by
 * impact (descending, then total_ns), remap interval indices, and build the
 * bottleneck list. Call once, after all data is in.
 */
void report__finish(struct report *r);

/* "low", "medium", "high", "critical". */
const char *severity__name(enum severity s);

/* Impact boundaries of the severities: an impact above critical is critical, and so on. */
struct severity_thresholds {
	double critical, high, medium;
};

/*
 * Set the boundaries for this process (--severity); they must satisfy
 * 0 < medium < high < critical <= 1. Returns 0 or -EINVAL (unchanged).
 */
int severity__set_thresholds(const struct severity_thresholds *t);

/* The boundaries in force (DESIGN.md's 0.5, 0.2, 0.1 unless set). */
struct severity_thresholds severity__thresholds(void);

/* Severity of an impact share, with the thresholds in force (by default critical > 0.5, high >
 * 0.2, medium > 0.1, as in DESIGN.md). */
enum severity severity__from_impact(double impact);

/*
 * Estimate the p-th quantile (0 < p <= 1) of a histogram by linear
 * interpolation inside the bucket that holds rank ceil(p * count), clamped to
 * [min, max]. Returns 0 for an empty histogram.
 */
uint64_t hist__percentile(const uint64_t *buckets, size_t n_buckets, double p, uint64_t min,
			  uint64_t max);

/*
 * hist__percentile() for a scheduler histogram (SNAG_SCHED_HIST_BUCKETS
 * buckets, snag_sched_hist_* layout). Pass min > max when the exact extremes
 * are unknown: the estimate is then neither clamped nor pinned to max.
 */
uint64_t hist__percentile_sched(const uint64_t *buckets, double p, uint64_t min, uint64_t max);

/*
 * Quantile of an I/O size histogram (SNAG_SIZE_HIST_BUCKETS buckets,
 * snag_size_hist_* layout): the upper bound of the bucket that holds rank
 * ceil(p * count), 0 for an empty histogram. Used for "typical size".
 */
uint64_t hist__size_quantile(const uint64_t *buckets, double p);

enum report_format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_FOLDED, /* off-CPU stacks as folded lines, for flamegraph.pl, inferno, speedscope */
	FORMAT_HTML,   /* one self-contained page: summary, findings, charts, flame graph */
	FORMAT_PPROF,  /* gzip-compressed profile.proto, for go tool pprof and pprof viewers */
};

/* Parse "text" / "json" / "folded" / "html" / "pprof". Returns 0 or -EINVAL. */
int report_format__parse(const char *s, enum report_format *out);

/* Whether the format is binary data, which must not be written to a terminal. */
bool report_format__is_binary(enum report_format f);

struct render_opts {
	bool histogram; /* text: print each function's distribution */
};

/* Render in the given format. Returns 0, or -errno if writing failed. */
int report__render(const struct report *r, enum report_format fmt, const struct render_opts *o,
		   FILE *out);

#endif
