/* On-CPU collector: samples stacks with a cpu-clock perf event on every CPU (cpu.bpf.c) and turns
 * the in-kernel counts into the report's cpu[], hot lines and frame-pointer warnings. */
#ifndef SNAG_CPU_H
#define SNAG_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu_collector;
struct report;
struct symbolizer;

#define CPU_DEFAULT_HZ 49 /* not a divisor of common timer rates, so no lockstep with them */
#define CPU_MAX_HZ     10000
#define CPU_HOT_LINES  20 /* user addresses with the most self samples resolved to file:line */

struct cpu_opts {
	const char *btf_path; /* custom kernel BTF, or NULL */
	const int *pids;      /* trace only these processes (n_pids > 0), else all */
	size_t n_pids;
	uint64_t cgroup_id;    /* --cgroup: cgroup v2 id, 0 for none */
	uint32_t cgroup_level; /* its depth below the cgroup2 root */
	bool wait_exec;	       /* -c: the one pid is snag's fork until it execs */
	bool kernel_threads;   /* system-wide: sample kernel threads too */
	unsigned int hz;       /* samples per second on each CPU, 1..CPU_MAX_HZ */
};

/* Open the BPF object and configure it. Returns NULL with errno and snag_set_error() set. */
struct cpu_collector *cpu__new(const struct cpu_opts *o);

/* Load into the kernel. Returns 0 or -errno with snag_set_error(). */
int cpu__load(struct cpu_collector *c);

/*
 * Open a cpu-clock sampling event on every online CPU and attach the program
 * to each, and the exec hook. Returns 0 or -errno with snag_set_error().
 */
int cpu__attach(struct cpu_collector *c);

/* The descriptor that becomes readable when process events are queued, or -1. */
int cpu__event_fd(struct cpu_collector *c);

/* Snapshot the processes the queued events name (symbolizer). Returns 0 or -errno. */
int cpu__poll(struct cpu_collector *c, struct symbolizer *sym);

/*
 * Read every sample row into r: cpu[] with symbolized stacks, cpu_enabled,
 * cpu_frequency_hz and cpu_period_ns, the hottest user lines (cpu_lines),
 * frame-pointer warnings, drop counts, and program statistics when
 * with_stats. Returns 0 or -errno.
 */
int cpu__collect(struct cpu_collector *c, struct symbolizer *sym, struct report *r,
		 bool with_stats);

/* Detach and free. NULL is a no-op. */
void cpu__free(struct cpu_collector *c);

/*
 * Is a frame name the start of a thread (_start, __libc_start_call_main,
 * start_thread, clone3, ...)? A user stack that reaches one was walked whole.
 */
bool cpu__is_thread_root(const char *frame);

#endif
