/* Function-latency collector: loads the funclat BPF programs, attaches them to probe points, reads
 * their maps. */
#ifndef SNAG_FUNCLAT_H
#define SNAG_FUNCLAT_H

#include <stddef.h>
#include <stdint.h>
#include "snag_abi.h"
#include "resolve.h"

struct funclat;

struct funclat_opts {
	uint32_t n_funcs;     /* distinct probed functions (rows) */
	const char *btf_path; /* custom kernel BTF, or NULL for /sys/kernel/btf/vmlinux */
	uint32_t max_threads; /* capacity of the live-thread table, 0 for the default */
};

/* Per-function totals over all CPUs. */
struct funclat_func {
	uint64_t count;	    /* calls: the sum of hist[] */
	uint64_t total_ns;  /* sum of call latencies */
	uint64_t inside_ns; /* total_ns less recursive re-entries */
	uint64_t min_ns;    /* 0 when count == 0 */
	uint64_t max_ns;
	uint64_t hist[SNAG_HIST_BUCKETS];
};

/*
 * Open the BPF object and size its maps. Returns NULL with errno set and
 * snag_set_error() describing the failure.
 */
struct funclat *funclat__new(const struct funclat_opts *o);

/* Load the programs into the kernel. Returns 0 or -errno (with snag_set_error()). */
int funclat__load(struct funclat *fl);

/*
 * Start the trace clock and attach the entry and return programs to every
 * probe point (BPF cookie = func_id), plus the thread-exit hook. Returns 0 or
 * -errno with snag_set_error() naming the probe that failed; on failure
 * nothing stays attached.
 */
int funclat__attach(struct funclat *fl, const struct probe_set *ps);

/* Monotonic ns (bpf_ktime_get_ns clock) at which the trace started. */
uint64_t funclat__start_ns(const struct funclat *fl);

/*
 * Sum every function's per-CPU stats into out[0..n_funcs-1] (caller-allocated).
 * Returns 0 or -errno.
 */
int funclat__read(struct funclat *fl, struct funclat_func *out);

/* Drop counters summed over CPUs, plus the exited-thread account. Returns 0 or -errno. */
int funclat__read_counters(struct funclat *fl, struct snag_counters *out);

/*
 * Traced-thread account at monotonic time now_ns: number of threads that
 * called a probed function, and their summed alive time inside the trace.
 * Returns 0 or -errno.
 */
int funclat__thread_time(struct funclat *fl, uint64_t now_ns, uint64_t *threads,
			 uint64_t *thread_ns);

struct report;

/* Append each loaded program's run statistics to the report. Returns 0 or -errno. */
int funclat__add_prog_stats(struct funclat *fl, struct report *r);

/* Detach everything and free. NULL is a no-op. */
void funclat__free(struct funclat *fl);

/* Name of a drop cause for reports, e.g. "unmatched_return". */
const char *funclat__drop_name(enum snag_drop d);

#endif
