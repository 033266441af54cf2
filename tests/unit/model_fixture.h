/* Synthetic report models shared by the report/JSON/text unit tests (header-only). */
#ifndef SNAG_MODEL_FIXTURE_H
#define SNAG_MODEL_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "report.h"

/* Record one call of latency v in f, as the collector would. */
static inline void fixture_add_sample(struct report_function *f, uint64_t v)
{
	if (!f->count || v < f->min_ns)
		f->min_ns = v;
	if (v > f->max_ns)
		f->max_ns = v;
	f->count++;
	f->total_ns += v;
	f->inside_ns += v;
	f->hist[snag_hist_bucket(v)]++;
}

/* n calls evenly spaced from first, step apart. */
static inline void fixture_add_series(struct report_function *f, uint64_t n, uint64_t first,
				      uint64_t step)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		fixture_add_sample(f, first + i * step);
}

/* Append a function and return its index, or (size_t)-1. */
static inline size_t fixture_function(struct report *r, const char *bin, const char *name,
				      uint64_t addr)
{
	return report__add_function(r, bin, name, addr) ? r->n_functions - 1 : (size_t)-1;
}

#define FIXTURE_START_NS    1795304467123456789LL
#define FIXTURE_START_TIME  "2026-11-21T23:41:07.123456789Z"
#define FIXTURE_THREAD_NS   250000000ULL
#define FIXTURE_DURATION_NS 125000000ULL

/*
 * The standard model, before report__finish(): functions added in the order
 * never_called, fast_hash, slow_io (sorting reverses it), one pid, two
 * specs, two intervals, two programs (1,234 runs, 95 ns/run) and two drop
 * causes (12 unmatched_return). slow_io: 50 calls 2.00..2.294 ms (43% of
 * thread time); fast_hash: 2,000 calls 1..2.999 us.
 */
static inline struct report *fixture_model(void)
{
	struct report *r = report__new();
	struct report_interval_func iv1[] = {{2, 20, 40000000}, {1, 1000, 2000000}};
	struct report_interval_func iv2[] = {{2, 30, 67350000}, {0, 0, 0}};

	if (!r)
		return NULL;
	r->start_time_ns = FIXTURE_START_NS;
	r->duration_ns = FIXTURE_DURATION_NS;
	r->traced_threads = 2;
	r->traced_thread_ns = FIXTURE_THREAD_NS;
	r->target.mode = TARGET_PIDS;
	r->target.pids = calloc(1, sizeof(int));
	r->target.pids[0] = 1234;
	r->target.n_pids = 1;
	r->target.specs = calloc(2, sizeof(char *));
	r->target.specs[0] = strdup("app:slow_*");
	r->target.specs[1] = strdup("app:fast_*");
	r->target.n_specs = 2;
	fixture_function(r, "/usr/bin/app", "never_called", 0x1100);
	fixture_function(r, "/usr/bin/app", "fast_hash", 0x1200);
	fixture_function(r, "/usr/bin/app", "slow_io", 0x1139);
	fixture_add_series(&r->functions[1], 2000, 1000, 1);
	fixture_add_series(&r->functions[2], 50, 2000000, 6000);
	report__add_interval(r, 0, 62500000, iv1, 2);
	report__add_interval(r, 62500000, 62500000, iv2, 2);
	report__add_program(r, "handle_uprobe", 1000, 95000);
	report__add_program(r, "handle_uretprobe", 234, 22230);
	report__add_drop(r, "unmatched_return", 12);
	report__add_drop(r, "nesting_too_deep", 0);
	return r;
}

/* Set a scheduler row's times and switches; offcpu_ns = blocked_ns + runq_ns. */
static inline struct report_thread_sched *fixture_sched(struct report *r, int pid, int tid,
							const char *comm, uint64_t wall_ns,
							uint64_t oncpu_ns, uint64_t blocked_ns,
							uint64_t runq_ns, uint64_t vol,
							uint64_t invol)
{
	struct report_thread_sched *t = report__add_sched(r, pid, tid, comm);

	if (!t)
		return NULL;
	r->sched_enabled = true;
	t->wall_ns = wall_ns;
	t->oncpu_ns = oncpu_ns;
	t->blocked_ns = blocked_ns;
	t->runq_total_ns = runq_ns;
	t->offcpu_ns = blocked_ns + runq_ns;
	t->voluntary_switches = vol;
	t->involuntary_switches = invol;
	/* Unclassified unless a test says what the blocks waited for. */
	t->blocked_by[WAIT_OTHER] = blocked_ns;
	t->blocks_by[WAIT_OTHER] = vol;
	return t;
}

/* Record n run-queue waits of v ns in t's histogram (runq_total_ns is set by fixture_sched()). */
static inline void fixture_runq_waits(struct report_thread_sched *t, uint64_t n, uint64_t v)
{
	t->runq_hist[snag_sched_hist_bucket(v)] += n;
}

/* Number of frames in a NULL-terminated list. */
static inline size_t fixture_n_frames(const char *const *frames)
{
	size_t n = 0;

	while (frames && frames[n])
		n++;
	return n;
}

/*
 * Append an off-CPU entry with the given NULL-terminated stacks (innermost
 * first; NULL for none) and return its index, or (size_t)-1.
 */
static inline size_t fixture_offcpu(struct report *r, int pid, int tid, const char *comm,
				    enum offcpu_reason reason, uint64_t count, uint64_t total_ns,
				    uint64_t max_ns, const char *const *kernel,
				    const char *const *user)
{
	struct report_offcpu *o = report__add_offcpu(r, pid, tid, comm, reason);

	if (!o)
		return (size_t)-1;
	r->sched_enabled = true;
	o->count = count;
	o->total_ns = total_ns;
	o->max_ns = max_ns;
	if (report_stack__set(&o->kernel_stack, kernel, fixture_n_frames(kernel), false) ||
	    report_stack__set(&o->user_stack, user, fixture_n_frames(user), false))
		return (size_t)-1;
	return r->n_offcpu - 1;
}

/* Set who woke off-CPU entry i, with its stacks (NULL-terminated, may be NULL). */
static inline int fixture_waker(struct report *r, size_t i, int pid, int tid, const char *comm,
				const char *const *kernel, const char *const *user)
{
	struct report_offcpu *o = &r->offcpu[i];

	o->waker_pid = pid;
	o->waker_tid = tid;
	free(o->waker_comm);
	o->waker_comm = comm ? strdup(comm) : NULL;
	return report_stack__set(&o->waker_kernel_stack, kernel, fixture_n_frames(kernel), false)
		   ?: report_stack__set(&o->waker_user_stack, user, fixture_n_frames(user), false);
}

#define FIXTURE_MS	     1000000ULL
#define FIXTURE_SCHED_NS     4000000000ULL /* 4 threads x 1 s */
#define FIXTURE_MIN_BLOCK_NS 100000ULL

static const char *const fixture_futex_kernel[] = {"__schedule",    "schedule", "futex_wait_queue",
						   "futex_wait",    "do_futex", "__x64_sys_futex",
						   "do_syscall_64", NULL};
static const char *const fixture_futex_user[] = {
    "__lll_lock_wait", "pthread_mutex_lock", "cache_get", "handle_request",
    "worker_main",     "start_thread",	     NULL};
static const char *const fixture_wake_kernel[] = {"futex_wake", "do_futex", NULL};
static const char *const fixture_wake_user[] = {"__lll_lock_wake", "pthread_mutex_unlock",
						"cache_put", NULL};
static const char *const fixture_sleep_kernel[] = {
    "__schedule", "schedule", "do_nanosleep", "hrtimer_nanosleep", "__x64_sys_clock_nanosleep",
    NULL};
static const char *const fixture_sleep_user[] = {"clock_nanosleep", "__nanosleep", "poll_loop",
						 "main", NULL};
static const char *const fixture_preempt_kernel[] = {"__schedule", "preempt_schedule_irq",
						     "irqentry_exit", NULL};
static const char *const fixture_preempt_user[] = {"spin", "main", NULL};
static const char *const fixture_io_kernel[] = {
    "__schedule", "schedule", "io_schedule", "folio_wait_bit_common", "filemap_read", NULL};
static const char *const fixture_io_user[] = {"read", "load_file", NULL};

/*
 * Add the scheduler collector's rows to r (before report__finish()): pid
 * 1234 "app" with threads 1234 (app), 1235 (worker), 1240 (writer), and pid
 * 2000 "busy", each alive 1 s (sched_thread_ns left 0 for analysis to sum:
 * 4 s). busy spends 40% of its time in the run queue; app 4% (120 ms of
 * 3 s). Off-CPU entries, added out of order: app sleeping 600 ms (15%),
 * worker on a futex 640 ms (16%, woken by 1240 writer), busy preempted
 * 300 ms (7.5%), writer in disk I/O 40 ms (1%).
 */
static inline void fixture_sched_rows(struct report *r)
{
	struct report_thread_sched *t;
	const uint64_t ms = FIXTURE_MS;
	size_t i;

	r->min_block_ns = FIXTURE_MIN_BLOCK_NS;
	/* Added out of (pid, tid) order. */
	t = fixture_sched(r, 2000, 2000, "busy", 1000 * ms, 600 * ms, 0, 400 * ms, 10, 4000);
	fixture_runq_waits(t, 3900, 100000);
	fixture_runq_waits(t, 100, 2 * ms);
	t->preempted_ns = 400 * ms;
	fixture_sched(r, 1234, 1240, "writer", 1000 * ms, 900 * ms, 50 * ms, 50 * ms, 200, 20);
	fixture_sched(r, 1234, 1235, "worker", 1000 * ms, 300 * ms, 650 * ms, 50 * ms, 2000, 30);
	fixture_sched(r, 1234, 1234, "app", 1000 * ms, 200 * ms, 780 * ms, 20 * ms, 100, 5);
	fixture_offcpu(r, 1234, 1234, "app", OFFCPU_BLOCKED, 60, 600 * ms, 10500000,
		       fixture_sleep_kernel, fixture_sleep_user);
	fixture_offcpu(r, 1234, 1240, "writer", OFFCPU_BLOCKED, 8, 40 * ms, 9 * ms,
		       fixture_io_kernel, fixture_io_user);
	i = fixture_offcpu(r, 1234, 1235, "worker", OFFCPU_BLOCKED, 1000, 640 * ms, 5 * ms,
			   fixture_futex_kernel, fixture_futex_user);
	fixture_waker(r, i, 1234, 1240, "writer", fixture_wake_kernel, fixture_wake_user);
	fixture_offcpu(r, 2000, 2000, "busy", OFFCPU_PREEMPTED, 3000, 300 * ms, 4 * ms,
		       fixture_preempt_kernel, fixture_preempt_user);
}

/* The scheduler model, before report__finish(): system-wide, fixture_sched_rows() only. */
static inline struct report *fixture_sched_model(void)
{
	struct report *r = report__new();

	if (!r)
		return NULL;
	r->start_time_ns = FIXTURE_START_NS;
	r->duration_ns = 1000 * FIXTURE_MS;
	r->target.mode = TARGET_SYSTEM;
	fixture_sched_rows(r);
	report__add_recovered(r, "sched_unreported_switch_out", 3);
	return r;
}

/* ---- I/O collector ---- */

#define FIXTURE_US	     1000ULL
#define FIXTURE_SMALL_IO     4096ULL
#define FIXTURE_LONG_LOCAL   "[2001:db8:85a3::8a2e:370:7334]:51234"
#define FIXTURE_LONG_REMOTE  "[2001:db8:85a3:1:2:8a2e:370:7334]:443"
#define FIXTURE_BLOCK_P50_NS 190000ULL /* "derived" values the renderers must copy as they are */
#define FIXTURE_BLOCK_P99_NS 1480000ULL
#define FIXTURE_SCALL_P50_NS 4500ULL
#define FIXTURE_SCALL_P99_NS 61000ULL

/* n block requests of size bytes that each took lat_ns, as the collector would count them. */
static inline void fixture_block_add(struct report_block_io *b, uint64_t n, uint64_t size,
				     uint64_t lat_ns)
{
	b->count += n;
	b->bytes += n * size;
	b->total_ns += n * lat_ns;
	if (lat_ns > b->max_ns)
		b->max_ns = lat_ns;
	b->size_hist[snag_size_hist_bucket(size)] += n;
	b->lat_hist[snag_sched_hist_bucket(lat_ns)] += n;
	b->avg_ns = b->total_ns / b->count;
}

/* n successful syscalls of size bytes taking lat_ns each; small below FIXTURE_SMALL_IO. */
static inline void fixture_syscall_add(struct report_syscall_io *s, uint64_t n, uint64_t size,
				       uint64_t lat_ns)
{
	s->count += n;
	s->bytes += n * size;
	if (size < FIXTURE_SMALL_IO)
		s->small_count += n;
	s->total_ns += n * lat_ns;
	if (lat_ns > s->max_ns)
		s->max_ns = lat_ns;
	s->size_hist[snag_size_hist_bucket(size)] += n;
	s->lat_hist[snag_sched_hist_bucket(lat_ns)] += n;
	s->avg_ns = s->total_ns / (s->count + s->errors);
}

/* n socket messages of size bytes; small below FIXTURE_SMALL_IO. */
static inline void fixture_net_add(struct report_net_io *ni, uint64_t n, uint64_t size)
{
	ni->count += n;
	ni->bytes += n * size;
	if (size < FIXTURE_SMALL_IO)
		ni->small_count += n;
	ni->size_hist[snag_size_hist_bucket(size)] += n;
}

/*
 * Add the I/O collector's rows to r, in the order analysis would leave them
 * and with their derived fields (avg/p50/p99) already set: call it after
 * report__finish(), which then cannot reorder or re-derive them. Returns 0,
 * or -1 if an append failed.
 *
 * block_io: [0] 1234 app vda 253:0 read, 100 x 4 KiB at 200 us + 4 x 64 KiB
 *   at 1.5 ms; [1] 87 kworker/u16:2 nvme0n1p1 259:1 write, 20 x 128 KiB at
 *   3 ms (writeback); [2] 1234, no comm or device name, 253:0 flush, 2 x 0 B.
 * net_io: [0] app tcp/ipv4 send 1,000 x 100 B; [1] app tcp/ipv4 recv
 *   400 x 64 KiB + 12 errors; [2] 4321 resolver udp/ipv6 send 10 x 40 B;
 *   [3] resolver unix/stream recv, 3 errors only.
 * net_conns: [0] app 127.0.0.1:40000 -> 127.0.0.1:5432; [1] owner unknown,
 *   long IPv6 addresses, retransmits only.
 * syscall_io: [0] app read pipe 4,096 x 4 KiB; [1] app write file
 *   1,000 x 512 B; [2] app read socket 400 x 64 KiB + 12 errors; [3] 1234,
 *   no comm, pwrite64 file, 1 x 1 MiB.
 */
static inline int fixture_io(struct report *r)
{
	struct report_block_io *b;
	struct report_net_io *ni;
	struct report_net_conn *c;
	struct report_syscall_io *s;
	const uint64_t us = FIXTURE_US, kib = 1024;

	r->io_enabled = true;
	r->small_io_bytes = FIXTURE_SMALL_IO;

	if (!(b = report__add_block_io(r, 1234, "app", "vda", "read")))
		return -1;
	b->major = 253;
	fixture_block_add(b, 100, 4 * kib, 200 * us);
	fixture_block_add(b, 4, 64 * kib, 1500 * us);
	b->p50_ns = FIXTURE_BLOCK_P50_NS;
	b->p99_ns = FIXTURE_BLOCK_P99_NS;
	if (!(b = report__add_block_io(r, 87, "kworker/u16:2", "nvme0n1p1", "write")))
		return -1;
	b->major = 259;
	b->minor = 1;
	fixture_block_add(b, 20, 128 * kib, 3000 * us);
	b->p50_ns = b->p99_ns = 3000 * us;
	if (!(b = report__add_block_io(r, 1234, NULL, NULL, "flush")))
		return -1;
	b->major = 253;
	fixture_block_add(b, 2, 0, 50 * us);
	b->p50_ns = b->p99_ns = 50 * us;

	if (!(ni = report__add_net_io(r, 1234, "app", "tcp", "ipv4", "stream", NET_SEND)))
		return -1;
	fixture_net_add(ni, 1000, 100);
	if (!(ni = report__add_net_io(r, 1234, "app", "tcp", "ipv4", "stream", NET_RECV)))
		return -1;
	fixture_net_add(ni, 400, 64 * kib);
	ni->errors = 12;
	if (!(ni = report__add_net_io(r, 4321, "resolver", "udp", "ipv6", "dgram", NET_SEND)))
		return -1;
	fixture_net_add(ni, 10, 40);
	if (!(ni = report__add_net_io(r, 4321, "resolver", "unix", "unix", "stream", NET_RECV)))
		return -1;
	ni->errors = 3;

	if (!(c = report__add_net_conn(r, 1234, "app", "ipv4", "127.0.0.1:40000",
				       "127.0.0.1:5432")))
		return -1;
	c->sends = 1000;
	c->send_bytes = 100000;
	c->recvs = 400;
	c->recv_bytes = 400 * 64 * kib;
	c->retransmits = 3;
	if (!(c = report__add_net_conn(r, 0, NULL, "ipv6", FIXTURE_LONG_LOCAL,
				       FIXTURE_LONG_REMOTE)))
		return -1;
	c->retransmits = 5;

	if (!(s = report__add_syscall_io(r, 1234, "app", "read", "pipe")))
		return -1;
	fixture_syscall_add(s, 4096, 4 * kib, 5 * us);
	s->p50_ns = FIXTURE_SCALL_P50_NS;
	s->p99_ns = FIXTURE_SCALL_P99_NS;
	if (!(s = report__add_syscall_io(r, 1234, "app", "write", "file")))
		return -1;
	fixture_syscall_add(s, 1000, 512, 20 * us);
	s->p50_ns = s->p99_ns = 20 * us;
	if (!(s = report__add_syscall_io(r, 1234, "app", "read", "socket")))
		return -1;
	s->errors = 12;
	fixture_syscall_add(s, 400, 64 * kib, 2 * us);
	s->p50_ns = s->p99_ns = 2 * us;
	if (!(s = report__add_syscall_io(r, 1234, NULL, "pwrite64", "file")))
		return -1;
	fixture_syscall_add(s, 1, 1024 * kib, 900 * us);
	s->p50_ns = s->p99_ns = 900 * us;
	return 0;
}

/*
 * Every section filled, finished: fixture_model()'s functions and intervals,
 * run as a -c command in a cgroup, with fixture_sched_rows() (one off-CPU
 * stack truncated), fixture_io() and the bottlenecks built again over all
 * of them. Tests that must cover every field of the report (the JSON
 * reader's round trip) use it: a new report field belongs here too.
 */
static inline struct report *fixture_full_model(void)
{
	struct report *r = fixture_model();

	if (!r)
		return NULL;
	r->target.mode = TARGET_COMMAND;
	r->target.command = strdup("app --serve 'x y'");
	r->target.cgroup = strdup("/sys/fs/cgroup/app.slice");
	fixture_sched_rows(r);
	r->offcpu[0].user_stack.truncated = true;
	/* Classified blocked time, and a per-process series on the last interval. */
	r->sched[0].blocked_by[WAIT_LOCK] = r->sched[0].blocked_ns / 4;
	r->sched[0].blocked_by[WAIT_OTHER] -= r->sched[0].blocked_ns / 4;
	r->sched[0].blocks_by[WAIT_LOCK] = 3;
	report__finish(r);
	{
		const struct report_interval_proc p = {.pid = 1234,
						       .oncpu_ns = 1,
						       .runq_ns = 2,
						       .blocked_ns = 3,
						       .syscall_calls = 4,
						       .syscall_bytes = 5,
						       .block_requests = 6,
						       .block_bytes = 7,
						       .net_messages = 8,
						       .net_bytes = 9};

		if (report__set_interval_procs(r, &p, 1)) {
			report__free(r);
			return NULL;
		}
	}
	if (fixture_io(r) || analysis__build_bottlenecks(r)) {
		report__free(r);
		return NULL;
	}
	return r;
}

/* ---- Memory collector ---- */

/*
 * The memory sections on r (which has n_intervals intervals), sampled one in
 * 10: a leaking heap row (pid 1234 "app", leak_block <- main, its series
 * 100 KiB per interval, the last unmeasured), a churning heap row (churn_once,
 * 500,000 allocations freed after 2 us on average, no series), an mmap row
 * without a stack, and the process's memory (RSS 4, 5, ... MiB, the first
 * interval unmeasured; 10 minor faults per interval).
 */
static inline int fixture_add_mem(struct report *r)
{
	const char *leak[] = {"leak_block", "main"}, *churn[] = {"churn_once", "main"};
	struct report_allocation *a;
	struct report_memory *m;
	size_t n = r->n_intervals;

	r->mem_enabled = true;
	r->mem_sample = 10;
	r->mem_untracked_frees = 7;
	r->mem_calls[0] = 500100; /* malloc */
	r->mem_calls[5] = 500000; /* free */
	if (!(a = report__add_allocation(r, 1234, "app", "heap")) ||
	    report_stack__set(&a->stack, leak, 2, false))
		return -1;
	a->outstanding_bytes = (int64_t)n * 102400;
	a->outstanding_count = (int64_t)n * 100;
	a->total_allocs = n * 100;
	a->total_bytes = n * 102400;
	if (!(a->series = calloc(n, sizeof(*a->series))))
		return -1;
	a->n_series = n;
	for (size_t i = 0; i < n; i++)
		a->series[i] = i + 1 < n ? (int64_t)(i + 1) * 102400 : REPORT_SERIES_NONE;
	if (!(a = report__add_allocation(r, 1234, "app", "heap")) ||
	    report_stack__set(&a->stack, churn, 2, false))
		return -1;
	a->total_allocs = a->freed_allocs = 500000;
	a->total_bytes = a->freed_bytes = 500000 * 64;
	a->lifetime_ns = 500000ull * 2000;
	if (!(a = report__add_allocation(r, 1234, "app", "mmap")))
		return -1;
	a->outstanding_bytes = 65536;
	a->outstanding_count = 1;
	a->total_allocs = 1;
	a->total_bytes = 65536;
	if (!(m = report__add_memory(r, 1234, "app", n)))
		return -1;
	for (size_t i = 1; i < n; i++)
		m->rss_bytes[i] = (int64_t)(i + 3) << 20;
	for (size_t i = 0; i < n; i++)
		m->minor_faults[i] = 10;
	m->peak_rss_bytes = (uint64_t)(n + 2) << 20;
	m->hwm_rss_bytes = (uint64_t)(n + 3) << 20;
	m->minor_faults_total = 10 * n;
	return 0;
}

#endif
