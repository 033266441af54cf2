/* Analysis of the I/O rows of a report: derived latencies, ordering, and the I/O bottleneck rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

/*
 * The p-quantile of an I/O latency histogram (sched layout). No minimum is
 * kept, but 0 is a true lower bound, so a known max_ns clamps the estimate
 * and is the exact top rank; without it (0) the estimate is left as is.
 */
static uint64_t io_percentile(const uint64_t *lat_hist, double p, uint64_t max_ns)
{
	if (!max_ns)
		return hist__percentile_sched(lat_hist, p, 1, 0);
	return hist__percentile_sched(lat_hist, p, 0, max_ns);
}

void analysis__derive_io(struct report *r)
{
	size_t i;

	for (i = 0; r->block_io && i < r->n_block_io; i++) {
		struct report_block_io *b = &r->block_io[i];

		b->avg_ns = b->count ? b->total_ns / b->count : 0;
		b->p50_ns = io_percentile(b->lat_hist, 0.50, b->max_ns);
		b->p99_ns = io_percentile(b->lat_hist, 0.99, b->max_ns);
	}
	for (i = 0; r->syscall_io && i < r->n_syscall_io; i++) {
		struct report_syscall_io *s = &r->syscall_io[i];
		uint64_t calls = s->count + s->errors; /* total_ns sums both */

		s->avg_ns = calls ? s->total_ns / calls : 0;
		s->p50_ns = io_percentile(s->lat_hist, 0.50, s->max_ns);
		s->p99_ns = io_percentile(s->lat_hist, 0.99, s->max_ns);
	}
	/* Retransmits per process, on its TCP send rows (the sending side retransmits). */
	for (i = 0; r->net_io && i < r->n_net_io; i++) {
		struct report_net_io *n = &r->net_io[i];

		n->retransmits = 0;
		if (n->direction != NET_SEND || !n->protocol || strcmp(n->protocol, "tcp"))
			continue;
		for (size_t j = 0; r->net_conns && j < r->n_net_conns; j++)
			if (r->net_conns[j].pid == n->pid)
				n->retransmits += r->net_conns[j].retransmits;
	}
}

/* Descending order of two 64-bit keys; 0 when equal (the stable sort keeps their order). */
static int desc(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

static int cmp_block_io(const void *a, const void *b)
{
	return desc(((const struct report_block_io *)a)->total_ns,
		    ((const struct report_block_io *)b)->total_ns);
}

static int cmp_syscall_io(const void *a, const void *b)
{
	return desc(((const struct report_syscall_io *)a)->total_ns,
		    ((const struct report_syscall_io *)b)->total_ns);
}

static int cmp_net_io(const void *a, const void *b)
{
	return desc(((const struct report_net_io *)a)->bytes,
		    ((const struct report_net_io *)b)->bytes);
}

static uint64_t conn_bytes(const struct report_net_conn *c)
{
	return c->send_bytes + c->recv_bytes;
}

static int cmp_net_conn(const void *a, const void *b)
{
	return desc(conn_bytes(a), conn_bytes(b));
}

int analysis__sort_io(struct report *r)
{
	int err;

	err = analysis__stable_sort((void **)&r->block_io, r->n_block_io, sizeof(*r->block_io),
				    cmp_block_io, NULL);
	err = err
		  ?: analysis__stable_sort((void **)&r->syscall_io, r->n_syscall_io,
					   sizeof(*r->syscall_io), cmp_syscall_io, NULL);
	err = err
		  ?: analysis__stable_sort((void **)&r->net_io, r->n_net_io, sizeof(*r->net_io),
					   cmp_net_io, NULL);
	return err
		   ?: analysis__stable_sort((void **)&r->net_conns, r->n_net_conns,
					    sizeof(*r->net_conns), cmp_net_conn, NULL);
}

/* ---- I/O findings ---- */

#define NAME_LEN 96 /* "process 4194304 (comm)", "(pid 4194304 comm)" */
#define SIZE_LEN 32

/* What the rules need besides the report: per-process thread time. */
struct io_rules {
	struct report *r;
	const struct analysis_process *procs; /* ascending pid */
	size_t n_procs;
};

/*
 * The thread time of process pid, impact's denominator: its threads' summed
 * wall time when the scheduler collector saw them, else the trace duration
 * (one thread's worth). 0 when neither is known. pid 0 (owner unknown)
 * always gets the duration: the scheduler's pid 0 is the idle task.
 */
static uint64_t thread_ns(const struct io_rules *c, int pid)
{
	(void)pid;
	return analysis__thread_time(c->r);
}

static double io_impact(const struct io_rules *c, int pid, uint64_t ns)
{
	return analysis__share(ns, thread_ns(c, pid));
}

/* Events per second of trace; 0 when the duration is unknown. */
static double per_sec(uint64_t n, uint64_t duration_ns)
{
	return duration_ns ? (double)n * 1e9 / (double)duration_ns : 0;
}

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : 0;
}

/* "process 1234 (app)", "process 1234", or "unknown processes" for pid 0. */
static const char *process_name(int pid, const char *comm, char *buf, size_t size)
{
	if (!pid)
		snprintf(buf, size, "unknown processes");
	else if (comm)
		snprintf(buf, size, "process %d (%s)", pid, comm);
	else
		snprintf(buf, size, "process %d", pid);
	return buf;
}

/* A target's suffix: "(pid 1234 app)", "(pid 1234)", or "(owner unknown)" for pid 0. */
static const char *target_suffix(int pid, const char *comm, char *buf, size_t size)
{
	if (!pid)
		snprintf(buf, size, "(owner unknown)");
	else
		snprintf(buf, size, "(pid %d%s%s)", pid, comm ? " " : "", str_or(comm, ""));
	return buf;
}

/* A size for people: "16 B", "4 KiB", "1 MiB"; "1,500 B" when not a whole number of units. */
static const char *format_size(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = {"GiB", "MiB", "KiB"};
	char n[ANALYSIS_COUNT_LEN];
	size_t i;

	for (i = 0; v && i < 3; i++) {
		uint64_t unit = 1ULL << (10 * (3 - i));

		if (v >= unit && v % unit == 0) {
			snprintf(buf, size, "%s %s", analysis__format_count(v / unit, n, sizeof(n)),
				 units[i]);
			return buf;
		}
	}
	snprintf(buf, size, "%s B", analysis__format_count(v, n, sizeof(n)));
	return buf;
}

/* Is name one of the NULL-terminated names? */
static bool name_in(const char *name, const char *const *names)
{
	for (; name && *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

static const char *const read_syscalls[] = {"read", "readv",	"pread64", "preadv",   "preadv2",
					    "recv", "recvfrom", "recvmsg", "recvmmsg", NULL};
static const char *const write_syscalls[] = {"write",	 "writev",   "pwrite64",   "pwritev",
					     "pwritev2", "send",     "sendto",	   "sendmsg",
					     "sendmmsg", "sendfile", "sendfile64", NULL};

/* The direction data moves in a syscall: NET_RECV for reads, NET_SEND for writes, -1 unknown. */
static int syscall_direction(const char *syscall)
{
	if (name_in(syscall, read_syscalls))
		return NET_RECV;
	if (name_in(syscall, write_syscalls))
		return NET_SEND;
	return -1;
}

static bool is_socket(const struct report_syscall_io *s)
{
	return s->fd_type && !strcmp(s->fd_type, "socket");
}

/* Counts behind a small-I/O rule. */
struct small_io {
	uint64_t count;	  /* operations */
	uint64_t typical; /* p50 size (a size bucket's upper bound) */
	double per_sec;
	double share; /* of the operations, the share below small_io_bytes */
};

static struct small_io small_io_of(uint64_t count, uint64_t small, const uint64_t *size_hist,
				   uint64_t duration_ns)
{
	struct small_io s = {count, hist__size_quantile(size_hist, 0.5),
			     per_sec(count, duration_ns), ratio(small, count)};

	return s;
}

/* The small-I/O thresholds: many operations, often, nearly all small. */
static bool is_small(const struct small_io *s)
{
	return s->count >= ANALYSIS_SMALL_IO_MIN_OPS &&
	       s->per_sec >= ANALYSIS_SMALL_IO_MIN_OPS_PER_SEC &&
	       s->share > ANALYSIS_SMALL_IO_MIN_SHARE;
}

static uint64_t target_bytes(const struct report *r)
{
	return r->small_io_bytes > ANALYSIS_SMALL_IO_TARGET_BYTES ? r->small_io_bytes
								  : ANALYSIS_SMALL_IO_TARGET_BYTES;
}

/* How many times fewer operations moving target_bytes() at a time would take (at most count). */
static uint64_t reduction(const struct report *r, const struct small_io *s)
{
	uint64_t k = target_bytes(r) / (s->typical ? s->typical : 1);

	return k < s->count ? k : s->count;
}

/* Evidence of a small-I/O finding (the caller adds its totals and impact). */
static int small_io_evidence(struct report_bottleneck *b, const struct small_io *s)
{
	int err = finding__evidence(b, "count", (double)s->count);

	err = err ?: finding__evidence(b, "ops_per_s", s->per_sec);
	err = err ?: finding__evidence(b, "small_share", s->share);
	return err ?: finding__evidence(b, "typical_bytes", (double)s->typical);
}

/* "N ... at R/s, P% of them below X (typical Y)": the shared middle of small-I/O descriptions. */
static char *small_io_numbers(const struct report *r, const struct small_io *s, const char *what)
{
	char count[ANALYSIS_COUNT_LEN], rate[ANALYSIS_COUNT_LEN], below[SIZE_LEN], typ[SIZE_LEN];

	return finding__printf(
	    "%s %s at %s/s, %.0f%% of them below %s (typical %s)",
	    analysis__format_count(s->count, count, sizeof(count)), what,
	    analysis__format_count((uint64_t)(s->per_sec + 0.5), rate, sizeof(rate)),
	    s->share * PERCENT, format_size(r->small_io_bytes, below, sizeof(below)),
	    format_size(s->typical, typ, sizeof(typ)));
}

/* The small_io rule for syscall row s. */
static bool is_small_syscall(const struct report *r, const struct report_syscall_io *s)
{
	struct small_io st = small_io_of(s->count, s->small_count, s->size_hist, r->duration_ns);

	return is_small(&st);
}

static int small_syscall_finding(struct io_rules *c, const struct report_syscall_io *s)
{
	struct small_io st = small_io_of(s->count, s->small_count, s->size_hist, c->r->duration_ns);
	char who[NAME_LEN], suffix[NAME_LEN], total[ANALYSIS_DURATION_LEN], target[SIZE_LEN];
	char calls[ANALYSIS_COUNT_LEN], factor[ANALYSIS_COUNT_LEN], *numbers, *what;
	char typical[SIZE_LEN];
	const char *syscall = str_or(s->syscall, "?"), *fd = str_or(s->fd_type, "other");
	int dir = syscall_direction(s->syscall), err;
	struct report_bottleneck *b;

	b = finding__add(c->r, "small_io",
			 finding__printf("%s() on %s %s", syscall, fd,
					 target_suffix(s->pid, s->comm, suffix, sizeof(suffix))),
			 s->pid, io_impact(c, s->pid, s->total_ns));
	if (!b)
		return -ENOMEM;
	what = finding__printf("%s() calls on %s fds", syscall, fd);
	numbers = what ? small_io_numbers(c->r, &st, what) : NULL;
	b->description =
	    numbers ? finding__printf("%s made %s, %s in the calls",
				      process_name(s->pid, s->comm, who, sizeof(who)), numbers,
				      analysis__format_duration(s->total_ns, total, sizeof(total)))
		    : NULL;
	free(what);
	free(numbers);
	if (!b->description)
		return -ENOMEM;
	err = small_io_evidence(b, &st);
	err = err ?: finding__evidence(b, "total_ns", (double)s->total_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	if (err)
		return err;
	format_size(target_bytes(c->r), target, sizeof(target));
	format_size(st.typical, typical, sizeof(typical));
	analysis__format_count(s->count, calls, sizeof(calls));
	analysis__format_count(reduction(c->r, &st), factor, sizeof(factor));
	if (!st.typical)
		err = finding__recommend(
		    b, finding__printf("most calls moved 0 bytes (end of file, or nothing to do): "
				       "stop calling once %s() returns 0, or wait for data with "
				       "poll/epoll instead of retrying",
				       syscall));
	else if (dir == NET_SEND)
		err = finding__recommend(
		    b,
		    finding__printf("writes are typically %s: buffer in user space (stdio "
				    "setvbuf, Rust BufWriter, Go bufio.Writer) and write >= %s at "
				    "a time, or batch with writev/io_uring: that would cut the %s "
				    "calls ~%sx",
				    typical, target, calls, factor));
	else if (dir == NET_RECV)
		err = finding__recommend(
		    b, finding__printf(
			   "reads typically return %s: read >= %s at a time into a "
			   "user-space buffer (stdio setvbuf, Rust BufReader, Go "
			   "bufio.Reader) and parse from it, or batch with readv/io_uring: "
			   "that would cut the %s calls ~%sx",
			   typical, target, calls, factor));
	else
		err = finding__recommend(
		    b,
		    finding__printf("calls typically move %s: move >= %s per call (buffer in "
				    "user space, or batch with readv/writev/io_uring): that would "
				    "cut the %s calls ~%sx",
				    typical, target, calls, factor));
	if (err || !is_socket(s) || !st.typical)
		return err;
	if (dir == NET_RECV)
		return finding__recommend(b, strdup("on a socket, small reads often mirror small "
						    "writes: coalesce on the sending side too"));
	return finding__recommend(b, strdup("on a socket, also set MSG_MORE or TCP_CORK while "
					    "assembling a message (TCP), or use sendmmsg for "
					    "datagrams"));
}

/*
 * Is a small-I/O finding on socket syscalls of pid, moving data in direction
 * dir (or in an unknown direction), already reported?
 */
static bool small_socket_syscalls(const struct report *r, int pid, enum net_direction dir)
{
	size_t i;

	for (i = 0; r->syscall_io && i < r->n_syscall_io; i++) {
		const struct report_syscall_io *s = &r->syscall_io[i];
		int d = syscall_direction(s->syscall);

		if (s->pid == pid && is_socket(s) && (d < 0 || d == (int)dir) &&
		    is_small_syscall(r, s))
			return true;
	}
	return false;
}

/* Time pid spent in socket syscalls moving data in direction dir (or an unknown one). */
static uint64_t socket_syscall_ns(const struct report *r, int pid, enum net_direction dir)
{
	uint64_t ns = 0;
	size_t i;

	for (i = 0; r->syscall_io && i < r->n_syscall_io; i++) {
		const struct report_syscall_io *s = &r->syscall_io[i];
		int d = syscall_direction(s->syscall);

		if (s->pid == pid && is_socket(s) && (d < 0 || d == (int)dir))
			ns += s->total_ns;
	}
	return ns;
}

static int small_net_finding(struct io_rules *c, const struct report_net_io *m)
{
	struct small_io st = small_io_of(m->count, m->small_count, m->size_hist, c->r->duration_ns);
	char who[NAME_LEN], suffix[NAME_LEN], target[SIZE_LEN], count[ANALYSIS_COUNT_LEN];
	char factor[ANALYSIS_COUNT_LEN], *numbers, *what;
	const char *proto = str_or(m->protocol, "other"), *dir = net_direction__name(m->direction);
	bool send = m->direction == NET_SEND;
	uint64_t syscall_ns = socket_syscall_ns(c->r, m->pid, m->direction);
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "small_net_io",
			 finding__printf("%s %s %s", proto, dir,
					 target_suffix(m->pid, m->comm, suffix, sizeof(suffix))),
			 m->pid, io_impact(c, m->pid, syscall_ns));
	if (!b)
		return -ENOMEM;
	what = finding__printf("%s messages", proto);
	numbers = what ? small_io_numbers(c->r, &st, what) : NULL;
	b->description =
	    numbers ? finding__printf("%s %s %s", process_name(m->pid, m->comm, who, sizeof(who)),
				      send ? "sent" : "received", numbers)
		    : NULL;
	free(what);
	free(numbers);
	if (!b->description)
		return -ENOMEM;
	err = small_io_evidence(b, &st);
	err = err ?: finding__evidence(b, "bytes", (double)m->bytes);
	err = err ?: finding__evidence(b, "syscall_ns", (double)syscall_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	if (err)
		return err;
	format_size(target_bytes(c->r), target, sizeof(target));
	analysis__format_count(m->count, count, sizeof(count));
	analysis__format_count(reduction(c->r, &st), factor, sizeof(factor));
	if (!send)
		return finding__recommend(
		    b,
		    finding__printf("receive into a larger buffer (>= %s) and parse messages out "
				    "of it rather than reading each piece separately (recvmmsg "
				    "for datagrams): that would cut the %s receives ~%sx; if the "
				    "peer sends small pieces, coalesce on its side too",
				    target, count, factor));
	err = finding__recommend(
	    b,
	    finding__printf("coalesce small sends: assemble a message (or several) in one "
			    "buffer and send it with one call, or pass several buffers at once "
			    "with writev/sendmsg (sendmmsg for datagrams): that would cut the %s "
			    "sends ~%sx",
			    count, factor));
	if (err || !m->protocol || strcmp(m->protocol, "tcp"))
		return err;
	return finding__recommend(b, strdup("set MSG_MORE or TCP_CORK while assembling a "
					    "response so the kernel sends full segments; with "
					    "TCP_NODELAY every small send is its own packet"));
}

static bool is_read_or_write(const char *op)
{
	return op && (!strcmp(op, "read") || !strcmp(op, "write"));
}

/* Block requests entirely below small_io_bytes, from the size histogram (a conservative count). */
static uint64_t small_requests(const struct report *r, const struct report_block_io *b)
{
	uint64_t n = 0;
	__u32 i;

	for (i = 0; i < SNAG_SIZE_HIST_BUCKETS - 1; i++)
		if (snag_size_hist_upper(i) < r->small_io_bytes)
			n += b->size_hist[i];
	return n;
}

static struct small_io small_block_of(const struct report *r, const struct report_block_io *b)
{
	return small_io_of(b->count, small_requests(r, b), b->size_hist, r->duration_ns);
}

static int small_block_finding(struct io_rules *c, const struct report_block_io *rq)
{
	struct small_io st = small_block_of(c->r, rq);
	char who[NAME_LEN], suffix[NAME_LEN], target[SIZE_LEN], count[ANALYSIS_COUNT_LEN];
	char factor[ANALYSIS_COUNT_LEN], *numbers, *what;
	const char *dev = str_or(rq->device, "?");
	bool write = !strcmp(rq->op, "write");
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "small_block_io",
			 finding__printf("%s %s %s", dev, rq->op,
					 target_suffix(rq->pid, rq->comm, suffix, sizeof(suffix))),
			 rq->pid, io_impact(c, rq->pid, rq->total_ns));
	if (!b)
		return -ENOMEM;
	what = finding__printf("%s requests to %s", rq->op, dev);
	numbers = what ? small_io_numbers(c->r, &st, what) : NULL;
	b->description =
	    numbers ? finding__printf("%s issued %s",
				      process_name(rq->pid, rq->comm, who, sizeof(who)), numbers)
		    : NULL;
	free(what);
	free(numbers);
	if (!b->description)
		return -ENOMEM;
	err = small_io_evidence(b, &st);
	err = err ?: finding__evidence(b, "total_ns", (double)rq->total_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	if (err)
		return err;
	format_size(target_bytes(c->r), target, sizeof(target));
	analysis__format_count(rq->count, count, sizeof(count));
	analysis__format_count(reduction(c->r, &st), factor, sizeof(factor));
	if (write)
		return finding__recommend(
		    b, finding__printf("issue larger writes: buffer and write >= %s at a time, "
				       "avoid O_DIRECT/O_SYNC/O_DSYNC with small sizes, and fsync "
				       "less often (group commits) so the page cache can merge "
				       "writes: that would cut the %s requests ~%sx",
				       target, count, factor));
	return finding__recommend(
	    b,
	    finding__printf("read in larger blocks: >= %s per read, let read-ahead work "
			    "(sequential access, posix_fadvise SEQUENTIAL, blockdev --getra), "
			    "and avoid O_DIRECT with small sizes: that would cut the %s requests "
			    "~%sx",
			    target, count, factor));
}

static bool is_io_errors(const struct report_syscall_io *s)
{
	return s->errors >= ANALYSIS_IO_ERRORS_MIN &&
	       ratio(s->errors, s->count + s->errors) > ANALYSIS_IO_ERRORS_MIN_SHARE;
}

static int io_errors_finding(struct io_rules *c, const struct report_syscall_io *s)
{
	char who[NAME_LEN], suffix[NAME_LEN], errors[ANALYSIS_COUNT_LEN], calls[ANALYSIS_COUNT_LEN];
	char rate[ANALYSIS_COUNT_LEN], total[ANALYSIS_DURATION_LEN];
	const char *syscall = str_or(s->syscall, "?"), *fd = str_or(s->fd_type, "other");
	double share = ratio(s->errors, s->count + s->errors);
	double errors_per_s = per_sec(s->errors, c->r->duration_ns);
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "io_errors",
			 finding__printf("%s() on %s %s", syscall, fd,
					 target_suffix(s->pid, s->comm, suffix, sizeof(suffix))),
			 s->pid, io_impact(c, s->pid, s->total_ns));
	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "%s: %s of %s %s() calls on %s fds failed (%.0f%%, %s/s), %s in the calls",
	    process_name(s->pid, s->comm, who, sizeof(who)),
	    analysis__format_count(s->errors, errors, sizeof(errors)),
	    analysis__format_count(s->count + s->errors, calls, sizeof(calls)), syscall, fd,
	    share * PERCENT,
	    analysis__format_count((uint64_t)(errors_per_s + 0.5), rate, sizeof(rate)),
	    analysis__format_duration(s->total_ns, total, sizeof(total)));
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "errors", (double)s->errors);
	err = err ?: finding__evidence(b, "calls", (double)(s->count + s->errors));
	err = err ?: finding__evidence(b, "error_share", share);
	err = err ?: finding__evidence(b, "errors_per_s", errors_per_s);
	err = err ?: finding__evidence(b, "total_ns", (double)s->total_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	err = err
		  ?: finding__recommend(
			 b, strdup("if these are EAGAIN on a non-blocking fd, the process spins: "
				   "wait for readiness with epoll/poll (or block in the call) "
				   "instead of retrying"));
	return err
		   ?: finding__recommend(b, finding__printf("see which error it is: strace -f -Z "
							    "-e trace=%s -p %d",
							    syscall, s->pid));
}

static bool is_slow_file(const struct report_syscall_io *s)
{
	return s->fd_type && !strcmp(s->fd_type, "file") && syscall_direction(s->syscall) >= 0 &&
	       s->count + s->errors >= ANALYSIS_SLOW_FILE_MIN_CALLS &&
	       s->p99_ns >= ANALYSIS_SLOW_FILE_MIN_P99_NS;
}

static int slow_file_finding(struct io_rules *c, const struct report_syscall_io *s)
{
	char who[NAME_LEN], suffix[NAME_LEN], calls[ANALYSIS_COUNT_LEN];
	char p50[ANALYSIS_DURATION_LEN], p99[ANALYSIS_DURATION_LEN], total[ANALYSIS_DURATION_LEN];
	const char *syscall = str_or(s->syscall, "?");
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "slow_file_io",
			 finding__printf("%s() on file %s", syscall,
					 target_suffix(s->pid, s->comm, suffix, sizeof(suffix))),
			 s->pid, io_impact(c, s->pid, s->total_ns));
	if (!b)
		return -ENOMEM;
	b->description =
	    finding__printf("%s spent %s in %s %s() calls on files, p99 %s (p50 %s)",
			    process_name(s->pid, s->comm, who, sizeof(who)),
			    analysis__format_duration(s->total_ns, total, sizeof(total)),
			    analysis__format_count(s->count + s->errors, calls, sizeof(calls)),
			    syscall, analysis__format_duration(s->p99_ns, p99, sizeof(p99)),
			    analysis__format_duration(s->p50_ns, p50, sizeof(p50)));
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "count", (double)(s->count + s->errors));
	err = err ?: finding__evidence(b, "p50_ns", (double)s->p50_ns);
	err = err ?: finding__evidence(b, "p99_ns", (double)s->p99_ns);
	err = err ?: finding__evidence(b, "max_ns", (double)s->max_ns);
	err = err ?: finding__evidence(b, "total_ns", (double)s->total_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	if (err)
		return err;
	if (syscall_direction(s->syscall) == NET_RECV)
		err = finding__recommend(
		    b, strdup("reads wait for the disk (page-cache misses): read ahead "
			      "(posix_fadvise WILLNEED, larger sequential reads), keep hot data "
			      "cached (more memory, an application cache) or read asynchronously "
			      "(io_uring, a reader thread) so this thread does not wait"));
	else
		err = finding__recommend(
		    b,
		    strdup("writes wait: for dirty-page throttling (balance_dirty_pages) when "
			   "the process writes faster than the disk, or for the disk itself "
			   "with O_SYNC/O_DSYNC; write from a background thread or io_uring, start "
			   "writeback earlier (vm.dirty_background_bytes) and avoid O_SYNC for "
			   "small writes"));
	return err
		   ?: finding__recommend(b, strdup("compare with the device's latency (block_io "
						   "rows, iostat -x) to tell a slow disk from "
						   "too much I/O"));
}

static bool is_slow_tail(const struct report_block_io *b)
{
	return (double)b->p99_ns > ANALYSIS_SLOW_DEVICE_TAIL_RATIO * (double)b->p50_ns &&
	       b->p99_ns >= ANALYSIS_SLOW_DEVICE_TAIL_MIN_NS;
}

static bool is_slow_median(const struct report_block_io *b)
{
	return is_read_or_write(b->op) && b->p50_ns >= ANALYSIS_SLOW_DEVICE_MIN_P50_NS;
}

static bool is_slow_device(const struct report_block_io *b)
{
	return b->count >= ANALYSIS_SLOW_DEVICE_MIN_REQUESTS &&
	       (is_slow_tail(b) || is_slow_median(b));
}

static int slow_device_finding(struct io_rules *c, const struct report_block_io *rq)
{
	char who[NAME_LEN], suffix[NAME_LEN], count[ANALYSIS_COUNT_LEN];
	char p50[ANALYSIS_DURATION_LEN], p99[ANALYSIS_DURATION_LEN];
	const char *dev = str_or(rq->device, "?"), *op = str_or(rq->op, "other");
	double tail = ratio(rq->p99_ns, rq->p50_ns);
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "slow_device",
			 finding__printf("%s %s %s", dev, op,
					 target_suffix(rq->pid, rq->comm, suffix, sizeof(suffix))),
			 rq->pid, io_impact(c, rq->pid, rq->total_ns));
	if (!b)
		return -ENOMEM;
	process_name(rq->pid, rq->comm, who, sizeof(who));
	analysis__format_count(rq->count, count, sizeof(count));
	analysis__format_duration(rq->p50_ns, p50, sizeof(p50));
	analysis__format_duration(rq->p99_ns, p99, sizeof(p99));
	if (is_slow_median(rq))
		b->description = finding__printf("%s requests of %s to %s are slow: p50 %s, p99 %s "
						 "over %s requests",
						 op, who, dev, p50, p99, count);
	else
		b->description = finding__printf("%s requests of %s to %s have a long tail: p99 %s "
						 "is %.1fx p50 %s over %s requests",
						 op, who, dev, p99, tail, p50, count);
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "count", (double)rq->count);
	err = err ?: finding__evidence(b, "bytes", (double)rq->bytes);
	err = err ?: finding__evidence(b, "p50_ns", (double)rq->p50_ns);
	err = err ?: finding__evidence(b, "p99_ns", (double)rq->p99_ns);
	err = err ?: finding__evidence(b, "total_ns", (double)rq->total_ns);
	err = err ?: finding__evidence(b, "device_major", rq->major);
	err = err ?: finding__evidence(b, "device_minor", rq->minor);
	err = err ?: finding__evidence(b, "impact", b->impact);
	err = err
		  ?: finding__recommend(
			 b, finding__printf("check whether %s is saturated: iostat -x 1 (%%util, "
					    "aqu-sz, r_await/w_await), its I/O scheduler "
					    "(/sys/block/<disk>/queue/scheduler: none or "
					    "mq-deadline for SSD/NVMe) and noisy neighbours (other "
					    "processes, containers or VMs on the same device)",
					    dev));
	if (err || !is_slow_tail(rq))
		return err;
	return finding__recommend(
	    b, finding__printf("p99 is %.1fx p50: look for writeback bursts and fsync storms "
			       "(watch Dirty and Writeback in /proc/meminfo while it happens; a "
			       "lower vm.dirty_background_bytes spreads writeback out)",
			       tail));
}

/* One process's TCP connections summed (pid 0: those whose owner is unknown). */
struct conn_group {
	int pid;
	const char *comm;
	size_t connections; /* all of them */
	size_t affected;    /* with at least one retransmit */
	uint64_t retransmits;
	uint64_t sends;
	const struct report_net_conn *worst; /* most retransmits, first on ties */
};

static int cmp_conn_pid(const void *a, const void *b)
{
	int pa = ((const struct report_net_conn *)a)->pid,
	    pb = ((const struct report_net_conn *)b)->pid;

	return pa == pb ? 0 : pa < pb ? -1 : 1;
}

static int retransmits_finding(struct io_rules *c, const struct conn_group *g)
{
	uint64_t stall_ns = g->retransmits > UINT64_MAX / ANALYSIS_RETRANSMIT_STALL_NS
				? UINT64_MAX
				: g->retransmits * ANALYSIS_RETRANSMIT_STALL_NS;
	char who[NAME_LEN], suffix[NAME_LEN], n[ANALYSIS_COUNT_LEN], worst[ANALYSIS_COUNT_LEN];
	char stall[ANALYSIS_DURATION_LEN];
	const char *remote = str_or(g->worst->remote, "?");
	struct report_bottleneck *b;
	int err;

	b = finding__add(c->r, "tcp_retransmits",
			 finding__printf("tcp retransmits %s",
					 target_suffix(g->pid, g->comm, suffix, sizeof(suffix))),
			 g->pid, io_impact(c, g->pid, stall_ns));
	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "%s had %s TCP retransmit%s on %zu of %zu connection%s, most on %s -> %s (%s): about "
	    "%s of stalls if each waited the minimum RTO",
	    process_name(g->pid, g->comm, who, sizeof(who)),
	    analysis__format_count(g->retransmits, n, sizeof(n)), g->retransmits == 1 ? "" : "s",
	    g->affected, g->connections, g->connections == 1 ? "" : "s",
	    str_or(g->worst->local, "?"), remote,
	    analysis__format_count(g->worst->retransmits, worst, sizeof(worst)),
	    analysis__format_duration(stall_ns, stall, sizeof(stall)));
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "retransmits", (double)g->retransmits);
	err = err ?: finding__evidence(b, "connections", (double)g->affected);
	err = err ?: finding__evidence(b, "sends", (double)g->sends);
	if (!err && g->sends)
		err = finding__evidence(b, "retransmits_per_send", ratio(g->retransmits, g->sends));
	err = err ?: finding__evidence(b, "stall_ns", (double)stall_ns);
	err = err ?: finding__evidence(b, "impact", b->impact);
	err =
	    err
		?: finding__recommend(
		       b, finding__printf("packet loss or congestion on the path to %s: check "
					  "ss -ti dst %s (retrans, rtt, cwnd) and nstat -az | grep "
					  "-i retrans over time",
					  remote, remote));
	return err
		   ?: finding__recommend(
			  b,
			  strdup("look for drops on this host: NIC and driver counters (ip -s "
				 "link, ethtool -S), qdisc drops (tc -s qdisc) and ring or socket "
				 "buffers too small for the traffic (ethtool -g, "
				 "net.core.rmem_max/wmem_max, net.ipv4.tcp_rmem/tcp_wmem)"));
}

/* One "tcp_retransmits" finding per process (pid 0 on its own) with enough retransmits. */
static int retransmit_findings(struct io_rules *c)
{
	const struct report_net_conn *conns = c->r->net_conns;
	size_t *order, i, n = c->r->n_net_conns;
	struct conn_group g;
	int err = 0;

	if (!conns || !n)
		return 0;
	order = analysis__order(conns, n, sizeof(*conns), cmp_conn_pid);
	if (!order)
		return -ENOMEM;
	for (i = 0; !err && i < n;) {
		memset(&g, 0, sizeof(g));
		g.pid = conns[order[i]].pid;
		for (; i < n && conns[order[i]].pid == g.pid; i++) {
			const struct report_net_conn *k = &conns[order[i]];

			g.comm = g.comm ?: k->comm;
			g.connections++;
			g.affected += k->retransmits > 0;
			g.retransmits += k->retransmits;
			g.sends += k->sends;
			if (!g.worst || k->retransmits > g.worst->retransmits)
				g.worst = k;
		}
		if (g.retransmits >= ANALYSIS_RETRANSMITS_MIN)
			err = retransmits_finding(c, &g);
	}
	free(order);
	return err;
}

int analysis__io_bottlenecks(struct report *r, const struct analysis_process *procs, size_t n_procs)
{
	struct io_rules c = {r, procs, n_procs};
	size_t i;
	int err = 0;

	for (i = 0; !err && r->syscall_io && i < r->n_syscall_io; i++)
		if (is_small_syscall(r, &r->syscall_io[i]))
			err = small_syscall_finding(&c, &r->syscall_io[i]);
	for (i = 0; !err && r->net_io && i < r->n_net_io; i++) {
		const struct report_net_io *m = &r->net_io[i];
		struct small_io st =
		    small_io_of(m->count, m->small_count, m->size_hist, r->duration_ns);

		/* Already reported as small socket syscalls: one finding is enough. */
		if (is_small(&st) && !small_socket_syscalls(r, m->pid, m->direction))
			err = small_net_finding(&c, m);
	}
	for (i = 0; !err && r->block_io && i < r->n_block_io; i++) {
		struct small_io st = small_block_of(r, &r->block_io[i]);

		if (is_read_or_write(r->block_io[i].op) && is_small(&st))
			err = small_block_finding(&c, &r->block_io[i]);
	}
	for (i = 0; !err && r->syscall_io && i < r->n_syscall_io; i++)
		if (is_io_errors(&r->syscall_io[i]))
			err = io_errors_finding(&c, &r->syscall_io[i]);
	for (i = 0; !err && r->syscall_io && i < r->n_syscall_io; i++)
		if (is_slow_file(&r->syscall_io[i]))
			err = slow_file_finding(&c, &r->syscall_io[i]);
	for (i = 0; !err && r->block_io && i < r->n_block_io; i++)
		if (is_slow_device(&r->block_io[i]))
			err = slow_device_finding(&c, &r->block_io[i]);
	return err ?: retransmit_findings(&c);
}
