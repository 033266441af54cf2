/* Process-level wait findings: lock contention, disk-bound, network-bound, sleeping in a loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

/* Mutex waits of one process, from its off-CPU stacks (only blocks >= min_block have them). */
struct lock_waits {
	uint64_t ns;
	uint64_t count;
	size_t threads;			 /* distinct waiting threads */
	const struct report_offcpu *top; /* the largest entry */
};

static struct lock_waits lock_waits_of(const struct report *r, int pid)
{
	struct lock_waits lw = {0};

	for (size_t i = 0; r->offcpu && i < r->n_offcpu; i++) {
		const struct report_offcpu *o = &r->offcpu[i];
		bool seen = false;

		if (o->pid != pid || o->category != WAIT_LOCK)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = r->offcpu[j].pid == pid && r->offcpu[j].tid == o->tid &&
			       r->offcpu[j].category == WAIT_LOCK;
		lw.threads += !seen;
		lw.ns += o->total_ns;
		lw.count += o->count;
		if (!lw.top || o->total_ns > lw.top->total_ns)
			lw.top = o;
	}
	return lw;
}

static double per_sec(uint64_t n, uint64_t duration_ns)
{
	return duration_ns ? (double)n * 1e9 / (double)duration_ns : 0;
}

static const char *comm_suffix(const struct analysis_process *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", p->comm ? " (" : "", p->comm ? p->comm : "",
		 p->comm ? ")" : "");
	return buf;
}

/* Start a finding about process p waiting for what: kind, target, impact from ns. */
static struct report_bottleneck *process_finding(struct report *r, const char *kind,
						 const struct analysis_process *p, uint64_t ns)
{
	return finding__add(r, kind, finding__printf("%s (pid %d)", str_or(p->comm, "?"), p->pid),
			    p->pid, analysis__share(ns, analysis__thread_time(r)));
}

static int lock_finding(struct report *r, const struct analysis_process *p,
			const struct lock_waits *lw)
{
	char total[ANALYSIS_DURATION_LEN], comm[64];
	const char *where = lw->top ? analysis__offcpu_where(lw->top) : NULL;
	double share = analysis__share(lw->ns, p->wall_ns);
	struct report_bottleneck *b = process_finding(r, "lock_contention", p, lw->ns);
	int err = 0;

	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "process %d%s waited for locks %.1f%% of its threads' time (%s in %zu thread%s%s%s)",
	    p->pid, comm_suffix(p, comm, sizeof(comm)), share * PERCENT,
	    analysis__format_duration(lw->ns, total, sizeof(total)), lw->threads,
	    lw->threads == 1 ? "" : "s", where ? ", most in " : "", where ? where : "");
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "lock_wait_ns", (double)lw->ns);
	err = err ?: finding__evidence(b, "waits", (double)lw->count);
	err = err ?: finding__evidence(b, "threads", (double)lw->threads);
	err = err ?: finding__evidence(b, "futex_ns", (double)p->blocked_by[WAIT_LOCK]);
	err = err ?: finding__evidence(b, "process_share", share);
	err = err ?: finding__evidence(b, "impact", b->impact);
	return err
		   ?: finding__recommend(
			  b, finding__printf("lock contention%s%s: threads wait for a lock another "
					     "thread holds; hold it for less time (no I/O or "
					     "sleeps under it), split it (per-key or sharded "
					     "locks) or use a reader-writer or lock-free "
					     "structure",
					     where ? " in " : "", where ? where : ""));
}

static int disk_finding(struct report *r, const struct analysis_process *p)
{
	uint64_t ns = p->blocked_by[WAIT_BLOCK_IO], n = p->blocks_by[WAIT_BLOCK_IO];
	char total[ANALYSIS_DURATION_LEN], avg[ANALYSIS_DURATION_LEN], comm[64];
	double share = analysis__share(ns, p->wall_ns);
	struct report_bottleneck *b = process_finding(r, "disk_bound", p, ns);
	int err = 0;

	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "process %d%s waited for disk I/O %.1f%% of its threads' time (%s over %llu waits, "
	    "avg %s)",
	    p->pid, comm_suffix(p, comm, sizeof(comm)), share * PERCENT,
	    analysis__format_duration(ns, total, sizeof(total)), (unsigned long long)n,
	    analysis__format_duration(n ? ns / n : 0, avg, sizeof(avg)));
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "disk_wait_ns", (double)ns);
	err = err ?: finding__evidence(b, "waits", (double)n);
	err = err ?: finding__evidence(b, "avg_wait_ns", n ? (double)(ns / n) : 0);
	err = err ?: finding__evidence(b, "process_share", share);
	err = err ?: finding__evidence(b, "impact", b->impact);
	return err
		   ?: finding__recommend(
			  b, finding__printf("disk-bound: its threads wait for block I/O (reads, "
					     "page faults, fsync); see the block I/O table for "
					     "device latency and request sizes, cache or prefetch "
					     "hot data, batch small I/O, or move it off the "
					     "latency-critical threads"));
}

static int net_finding(struct report *r, const struct analysis_process *p)
{
	uint64_t ns = p->blocked_by[WAIT_NET], n = p->blocks_by[WAIT_NET];
	char total[ANALYSIS_DURATION_LEN], avg[ANALYSIS_DURATION_LEN], comm[64];
	double share = analysis__share(ns, p->wall_ns);
	struct report_bottleneck *b = process_finding(r, "network_bound", p, ns);
	int err = 0;

	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "process %d%s waited on sockets %.1f%% of its threads' time (%s over %llu waits, avg "
	    "%s)",
	    p->pid, comm_suffix(p, comm, sizeof(comm)), share * PERCENT,
	    analysis__format_duration(ns, total, sizeof(total)), (unsigned long long)n,
	    analysis__format_duration(n ? ns / n : 0, avg, sizeof(avg)));
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "net_wait_ns", (double)ns);
	err = err ?: finding__evidence(b, "waits", (double)n);
	err = err ?: finding__evidence(b, "avg_wait_ns", n ? (double)(ns / n) : 0);
	err = err ?: finding__evidence(b, "process_share", share);
	err = err ?: finding__evidence(b, "impact", b->impact);
	return err
		   ?: finding__recommend(
			  b, finding__printf("network-bound: its threads wait for peers (recv, "
					     "accept, connect); check the peers' latency, "
					     "pipeline or batch requests, keep connections open, "
					     "or overlap waits with non-blocking I/O"));
}

static int sleep_finding(struct report *r, const struct analysis_process *p)
{
	uint64_t ns = p->blocked_by[WAIT_SLEEP], n = p->blocks_by[WAIT_SLEEP];
	char avg[ANALYSIS_DURATION_LEN], rate[ANALYSIS_COUNT_LEN], comm[64];
	double per_s = per_sec(n, r->duration_ns);
	struct report_bottleneck *b = process_finding(r, "sleep_loop", p, ns);
	int err = 0;

	if (!b)
		return -ENOMEM;
	analysis__format_count((uint64_t)(per_s + 0.5), rate, sizeof(rate));
	b->description = finding__printf(
	    "process %d%s sleeps in a loop: %llu sleeps (%s/s) of avg %s, %.1f%% of its threads' "
	    "time",
	    p->pid, comm_suffix(p, comm, sizeof(comm)), (unsigned long long)n, rate,
	    analysis__format_duration(n ? ns / n : 0, avg, sizeof(avg)),
	    analysis__share(ns, p->wall_ns) * PERCENT);
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "sleeps", (double)n);
	err = err ?: finding__evidence(b, "sleeps_per_s", per_s);
	err = err ?: finding__evidence(b, "avg_sleep_ns", n ? (double)(ns / n) : 0);
	err = err ?: finding__evidence(b, "sleep_ns", (double)ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	return err
		   ?: finding__recommend(
			  b, finding__printf("polling with sleeps: each iteration adds up to %s of "
					     "latency and wakes the CPU for nothing; wait on the "
					     "event itself (condition variable, eventfd, epoll, "
					     "a blocking read) instead",
					     avg));
}

static bool sleeps_in_loop(const struct report *r, const struct analysis_process *p)
{
	uint64_t n = p->blocks_by[WAIT_SLEEP];

	return n && per_sec(n, r->duration_ns) >= ANALYSIS_SLEEP_MIN_PER_S &&
	       p->blocked_by[WAIT_SLEEP] / n <= ANALYSIS_SLEEP_MAX_AVG_NS;
}

int analysis__wait_bottlenecks(struct report *r, const struct analysis_process *procs,
			       size_t n_procs)
{
	int err = 0;

	for (size_t i = 0; !err && i < n_procs; i++) {
		const struct analysis_process *p = &procs[i];
		struct lock_waits lw;

		if (!p->pid || !p->wall_ns)
			continue; /* pid 0: the idle task */
		lw = lock_waits_of(r, p->pid);
		if (analysis__share(lw.ns, p->wall_ns) > ANALYSIS_LOCK_MIN_SHARE)
			err = lock_finding(r, p, &lw);
		if (!err && analysis__share(p->blocked_by[WAIT_BLOCK_IO], p->wall_ns) >
				ANALYSIS_DISK_MIN_SHARE)
			err = disk_finding(r, p);
		if (!err &&
		    analysis__share(p->blocked_by[WAIT_NET], p->wall_ns) > ANALYSIS_NET_MIN_SHARE &&
		    per_sec(p->blocks_by[WAIT_NET], r->duration_ns) >=
			ANALYSIS_NET_MIN_BLOCKS_PER_S)
			err = net_finding(r, p);
		if (!err && sleeps_in_loop(r, p))
			err = sleep_finding(r, p);
	}
	return err;
}

bool analysis__wait_covered(const struct report *r, int pid, enum wait_kind kind)
{
	static const char *const kinds[WAIT__COUNT] = {
	    [WAIT_LOCK] = "lock_contention",
	    [WAIT_BLOCK_IO] = "disk_bound",
	    [WAIT_NET] = "network_bound",
	    [WAIT_SLEEP] = "sleep_loop",
	};

	if ((unsigned)kind >= WAIT__COUNT || !kinds[kind])
		return false;
	for (size_t i = 0; r->bottlenecks && i < r->n_bottlenecks; i++)
		if (r->bottlenecks[i].pid == pid && r->bottlenecks[i].kind &&
		    !strcmp(r->bottlenecks[i].kind, kinds[kind]))
			return true;
	return false;
}
