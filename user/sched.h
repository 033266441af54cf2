/* Scheduler collector: loads sched.bpf.c, reads per-thread accounts and off-CPU stacks into the
 * report. */
#ifndef SNAG_SCHED_H
#define SNAG_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_collector;
struct symbolizer;
struct report;
struct proc_table;

struct sched_opts {
	const char *btf_path;  /* custom kernel BTF, or NULL */
	uint64_t min_block_ns; /* blocks at least this long get stacks */
	const int *pids;       /* trace only these processes (n_pids > 0), else all */
	size_t n_pids;
	bool kernel_threads;   /* system-wide: include kernel threads */
	uint64_t cgroup_id;    /* --cgroup: cgroup v2 id (its directory's inode), 0 for none */
	uint32_t cgroup_level; /* its depth below the cgroup2 root */
	bool wait_exec;	       /* -c: the one pid is snag's fork until it execs; start there */
};

/* Open the BPF object and configure it. Returns NULL with errno and snag_set_error() set. */
struct sched_collector *sched__new(const struct sched_opts *o);

/* Load into the kernel. Returns 0 or -errno with snag_set_error(). */
int sched__load(struct sched_collector *sc);

/* Start the trace clock (trace_start) and attach. Returns 0 or -errno with snag_set_error(). */
int sched__attach(struct sched_collector *sc, uint64_t trace_start_ns);

/* The fd to poll for process events (new process, exec); readable when sched__poll() has work. */
int sched__event_fd(struct sched_collector *sc);

/*
 * Consume pending process events: snapshot the mappings of new and exec'd
 * processes in sym, so they can be symbolized after they exit. Returns 0 or -errno.
 */
int sched__poll(struct sched_collector *sc, struct symbolizer *sym);

/*
 * Read every thread account and off-CPU stack into r (sched[], offcpu[],
 * min_block_ns, sched_thread_ns, drop counts, program statistics), closing
 * still-open intervals at end_ns. Returns 0 or -errno.
 */
int sched__collect(struct sched_collector *sc, uint64_t end_ns, struct symbolizer *sym,
		   struct report *r);

/*
 * Add every traced thread's on-CPU, run-queue and blocked time so far (open
 * intervals closed at now_ns, the maps untouched) to its process's row of t.
 * Cheap enough for every interval: one batched map read. Returns 0 or -errno.
 */
int sched__read_procs(struct sched_collector *sc, uint64_t now_ns, struct proc_table *t);

/*
 * The running totals of every thread, cheap enough to read every interval
 * (batched map reads, no stacks, no symbolization, no process events
 * consumed): one row per thread in r->sched with its counters (switches,
 * on-CPU, off-CPU, blocked, preempted and run-queue time, open intervals
 * closed at now_ns) but no histograms, wait breakdown or wall time; plus
 * sched_enabled, drop counts, and program statistics when with_stats.
 * Returns 0 or -errno.
 */
int sched__read_totals(struct sched_collector *sc, uint64_t now_ns, struct report *r,
		       bool with_stats);

/* Detach and free. NULL is a no-op. */
void sched__free(struct sched_collector *sc);

#endif
