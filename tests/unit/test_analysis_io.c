/* Unit tests: I/O rows after report__finish(): derived latencies, ordering, I/O bottleneck rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analysis.h"
#include "analysis_internal.h"
#include "report.h"

#define US 1000ULL
#define MS 1000000ULL
#define S  1000000000ULL

/* The collector's --small-io in these models. */
#define SMALL_IO_BYTES 4096

/* ---- fixture: I/O rows filled as the collector would ---- */

/* An empty report with the I/O collector on, a trace of duration_ns. */
static struct report *io_model(uint64_t duration_ns)
{
	struct report *r = report__new();

	assert_non_null(r);
	r->duration_ns = duration_ns;
	r->io_enabled = true;
	r->small_io_bytes = SMALL_IO_BYTES;
	return r;
}

/* Record n latencies of lat_ns in a sched-layout histogram and its totals. */
static void add_latencies(uint64_t *hist, uint64_t *total_ns, uint64_t *max_ns, uint64_t n,
			  uint64_t lat_ns)
{
	if (!n)
		return;
	hist[snag_sched_hist_bucket(lat_ns)] += n;
	*total_ns += n * lat_ns;
	if (lat_ns > *max_ns)
		*max_ns = lat_ns;
}

/* Record n successful syscalls of size bytes taking lat_ns each. */
static void syscalls(struct report_syscall_io *s, uint64_t small_io_bytes, uint64_t n,
		     uint64_t size, uint64_t lat_ns)
{
	s->count += n;
	s->bytes += n * size;
	if (size < small_io_bytes)
		s->small_count += n;
	s->size_hist[snag_size_hist_bucket(size)] += n;
	add_latencies(s->lat_hist, &s->total_ns, &s->max_ns, n, lat_ns);
}

/* Append a syscall row of n calls of size bytes, lat_ns each, and return it. */
static struct report_syscall_io *add_syscall(struct report *r, int pid, const char *syscall,
					     const char *fd_type, uint64_t n, uint64_t size,
					     uint64_t lat_ns)
{
	struct report_syscall_io *s = report__add_syscall_io(r, pid, "app", syscall, fd_type);

	assert_non_null(s);
	syscalls(s, r->small_io_bytes, n, size, lat_ns);
	return s;
}

/* Record n failed syscalls taking lat_ns each. */
static void syscall_errors(struct report_syscall_io *s, uint64_t n, uint64_t lat_ns)
{
	s->errors += n;
	add_latencies(s->lat_hist, &s->total_ns, &s->max_ns, n, lat_ns);
}

/* Record n block requests of size bytes completing in lat_ns each. */
static void requests(struct report_block_io *b, uint64_t n, uint64_t size, uint64_t lat_ns)
{
	b->count += n;
	b->bytes += n * size;
	b->size_hist[snag_size_hist_bucket(size)] += n;
	add_latencies(b->lat_hist, &b->total_ns, &b->max_ns, n, lat_ns);
}

static struct report_block_io *add_block(struct report *r, int pid, const char *op, uint64_t n,
					 uint64_t size, uint64_t lat_ns)
{
	struct report_block_io *b = report__add_block_io(r, pid, "app", "vda", op);

	assert_non_null(b);
	b->major = 253;
	b->minor = 0;
	requests(b, n, size, lat_ns);
	return b;
}

/* Record n socket messages of size bytes. */
static void messages(struct report_net_io *m, uint64_t small_io_bytes, uint64_t n, uint64_t size)
{
	m->count += n;
	m->bytes += n * size;
	if (size < small_io_bytes)
		m->small_count += n;
	m->size_hist[snag_size_hist_bucket(size)] += n;
}

static struct report_net_io *add_net(struct report *r, int pid, enum net_direction dir, uint64_t n,
				     uint64_t size)
{
	struct report_net_io *m = report__add_net_io(r, pid, "app", "tcp", "ipv4", "stream", dir);

	assert_non_null(m);
	messages(m, r->small_io_bytes, n, size);
	return m;
}

static struct report_net_conn *add_conn(struct report *r, int pid, const char *local,
					const char *remote, uint64_t sends, uint64_t send_bytes,
					uint64_t recv_bytes, uint64_t retransmits)
{
	struct report_net_conn *c =
	    report__add_net_conn(r, pid, pid ? "app" : NULL, "ipv4", local, remote);

	assert_non_null(c);
	c->sends = sends;
	c->send_bytes = send_bytes;
	c->recvs = recv_bytes ? 1 : 0;
	c->recv_bytes = recv_bytes;
	c->retransmits = retransmits;
	return c;
}

/* ---- derivation and ordering ---- */

static void test_derive_percentiles(void **state)
{
	struct report *r = io_model(S);
	struct report_block_io *b;
	struct report_syscall_io *s;

	(void)state;
	/* 900 requests of 100 us and 100 of 5 ms: p50 ~ 100 us, p99 ~ 5 ms (within 1/16). */
	b = add_block(r, 10, "read", 900, 4096, 100 * US);
	requests(b, 100, 4096, 5 * MS);
	/* 1,000 calls in the 5 ms bucket [4.72, 5.24) ms, max 5 ms: the p99 estimate (~5.24 ms)
	 * clamps to max_ns; 10 failed calls count in the average. */
	s = add_syscall(r, 10, "read", "file", 1000, 100, 5 * MS);
	syscall_errors(s, 10, 5 * MS);
	report__finish(r);
	b = &r->block_io[0];
	assert_int_equal(b->avg_ns, (900 * 100 * US + 100 * 5 * MS) / 1000);
	assert_in_range(b->p50_ns, 100 * US * 15 / 16, 100 * US * 17 / 16);
	assert_in_range(b->p99_ns, 5 * MS * 15 / 16, 5 * MS);
	s = &r->syscall_io[0];
	assert_int_equal(s->avg_ns, 5 * MS);
	assert_in_range(s->p50_ns, 4718592, 5 * MS);
	assert_int_equal(s->p99_ns, 5 * MS);
	/* max_ns unknown (0): the estimate stands, neither clamped nor pinned. */
	s->max_ns = 0;
	analysis__derive_io(r);
	assert_in_range(s->p99_ns, 5 * MS + 1, 5242879);
	/* A row with no requests. */
	b = report__add_block_io(r, 11, "idle", "vda", "write");
	assert_non_null(b);
	analysis__derive_io(r);
	assert_int_equal(r->block_io[1].avg_ns, 0);
	assert_int_equal(r->block_io[1].p50_ns, 0);
	assert_int_equal(r->block_io[1].p99_ns, 0);
	report__free(r);
}

/* The top rank is the maximum itself when it is known. */
static void test_derive_top_rank_is_max(void **state)
{
	struct report *r = io_model(S);
	struct report_block_io *b;

	(void)state;
	/* 50 requests: p99's rank is the 50th, the slowest one, whose latency max_ns knows. */
	b = add_block(r, 10, "write", 49, 4096, 1 * MS);
	requests(b, 1, 4096, 7777777);
	report__finish(r);
	assert_int_equal(r->block_io[0].p99_ns, 7777777);
	report__free(r);
}

static void test_sort_io(void **state)
{
	struct report *r = io_model(S);

	(void)state;
	add_block(r, 1, "read", 10, 4096, 1 * MS);  /* 10 ms */
	add_block(r, 2, "read", 10, 4096, 3 * MS);  /* 30 ms */
	add_block(r, 3, "write", 10, 4096, 2 * MS); /* 20 ms */
	add_syscall(r, 1, "read", "file", 10, 100, 1 * US);
	add_syscall(r, 2, "write", "file", 10, 100, 9 * US);
	add_net(r, 1, NET_SEND, 10, 100);
	add_net(r, 2, NET_RECV, 10, 1000);
	add_net(r, 3, NET_SEND, 10, 500);
	/* Connections by bytes both ways; equal totals keep their order. */
	add_conn(r, 1, "10.0.0.1:1", "10.0.0.9:80", 1, 100, 100, 0);
	add_conn(r, 2, "10.0.0.1:2", "10.0.0.9:80", 1, 10, 1000, 0);
	add_conn(r, 3, "10.0.0.1:3", "10.0.0.9:80", 1, 150, 50, 0);
	report__finish(r);
	assert_int_equal(r->block_io[0].pid, 2);
	assert_int_equal(r->block_io[1].pid, 3);
	assert_int_equal(r->block_io[2].pid, 1);
	assert_string_equal(r->syscall_io[0].syscall, "write");
	assert_string_equal(r->syscall_io[1].syscall, "read");
	assert_int_equal(r->net_io[0].pid, 2);
	assert_int_equal(r->net_io[1].pid, 3);
	assert_int_equal(r->net_io[2].pid, 1);
	assert_int_equal(r->net_conns[0].pid, 2);
	assert_string_equal(r->net_conns[1].local, "10.0.0.1:1");
	assert_string_equal(r->net_conns[2].local, "10.0.0.1:3");
	/* Strings moved with their rows. */
	assert_string_equal(r->net_conns[0].remote, "10.0.0.9:80");
	assert_string_equal(r->block_io[1].op, "write");
	report__free(r);
}

/* ---- bottleneck rules ---- */

static size_t count_kind(const struct report *r, const char *kind)
{
	size_t i, n = 0;

	for (i = 0; i < r->n_bottlenecks; i++)
		n += !strcmp(r->bottlenecks[i].kind, kind);
	return n;
}

/* The first finding of kind about pid, or NULL. */
static const struct report_bottleneck *find_kind(const struct report *r, const char *kind, int pid)
{
	size_t i;

	for (i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, kind) && r->bottlenecks[i].pid == pid)
			return &r->bottlenecks[i];
	return NULL;
}

static const struct report_bottleneck *only_finding(const struct report *r, const char *kind)
{
	if (r->n_bottlenecks != 1 || strcmp(r->bottlenecks[0].kind, kind))
		fail_msg("expected one %s finding, got %zu (first: %s)", kind, r->n_bottlenecks,
			 r->n_bottlenecks ? r->bottlenecks[0].kind : "none");
	return &r->bottlenecks[0];
}

static int has_evidence(const struct report_bottleneck *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return 1;
	return 0;
}

static double evidence(const struct report_bottleneck *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return b->evidence[i].value;
	fail_msg("no evidence %s", key);
	return -1;
}

/* Does any recommendation of b contain needle? */
static int recommends(const struct report_bottleneck *b, const char *needle)
{
	size_t i;

	for (i = 0; i < b->n_recommendations; i++)
		if (strstr(b->recommendations[i], needle))
			return 1;
	return 0;
}

static void assert_near(double v, double expected)
{
	if (!(v > expected * 0.9999 - 1e-12 && v < expected * 1.0001 + 1e-12))
		fail_msg("%g is not %g", v, expected);
}

/* Finish r and expect no finding at all. */
static void expect_none(struct report *r)
{
	report__finish(r);
	if (r->n_bottlenecks)
		fail_msg("unexpected %s finding: %s", r->bottlenecks[0].kind,
			 r->bottlenecks[0].description);
	report__free(r);
}

/* A trace of duration_ns with one row of n write() calls of size bytes on a file, 1 us each. */
static struct report *small_writes(uint64_t duration_ns, uint64_t n, uint64_t size)
{
	struct report *r = io_model(duration_ns);

	add_syscall(r, 1234, "write", "file", n, size, 1 * US);
	return r;
}

/* The case the collector's target produces: 10,000 16-byte write()s to a file. */
static void test_small_io_16_byte_writes(void **state)
{
	static const uint64_t durations[] = {S / 2, S, 2 * S};
	const struct report_bottleneck *b;
	struct report *r;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		r = small_writes(durations[i], 10000, 16);
		report__finish(r);
		b = only_finding(r, "small_io");
		assert_int_equal(b->pid, 1234);
		assert_string_equal(b->target, "write() on file (pid 1234 app)");
		assert_true(evidence(b, "count") == 10000);
		assert_near(evidence(b, "ops_per_s"), 10000.0 * S / durations[i]);
		assert_true(evidence(b, "small_share") == 1);
		assert_true(evidence(b, "typical_bytes") == 16);
		assert_true(evidence(b, "total_ns") == 10 * MS);
		assert_near(evidence(b, "impact"), (double)(10 * MS) / durations[i]);
		assert_true(recommends(b, "write >= 64 KiB at a time"));
		assert_true(recommends(b, "that would cut the 10,000 calls ~4,096x"));
		assert_int_equal(b->n_recommendations, 1); /* not a socket */
		report__free(r);
	}
	r = small_writes(S, 10000, 16);
	report__finish(r);
	b = &r->bottlenecks[0];
	assert_string_equal(b->description,
			    "process 1234 (app) made 10,000 write() calls on file fds at 10,000/s, "
			    "100% of them below 4 KiB (typical 16 B), 10.0ms in the calls");
	assert_int_equal(b->severity, SEVERITY_LOW); /* 1% of the time: reported all the same */
	report__free(r);
	/* The same number of 64 KiB writes is what the advice asks for. */
	expect_none(small_writes(S, 10000, 65536));
}

static void test_small_io_thresholds(void **state)
{
	struct report *r;

	(void)state;
	/* The minimum fires: 1,000 calls in 1 s, 801 of them small ... */
	r = small_writes(S, 801, 16);
	syscalls(&r->syscall_io[0], SMALL_IO_BYTES, 199, 8192, 1 * US);
	report__finish(r);
	assert_true(evidence(only_finding(r, "small_io"), "count") == 1000);
	report__free(r);
	/* ... 999 calls do not, */
	expect_none(small_writes(S, 999, 16));
	/* nor 1,000 calls in a little more than 1 s (999.999/s), */
	expect_none(small_writes(S + 1000, 1000, 16));
	/* nor exactly 80% small, */
	r = small_writes(S, 800, 16);
	syscalls(&r->syscall_io[0], SMALL_IO_BYTES, 200, 8192, 1 * US);
	expect_none(r);
	/* nor any rate when the trace duration is unknown. */
	expect_none(small_writes(0, 100000, 16));
	/* Small means below small_io_bytes: 4,095 is, 4,096 is not. */
	r = small_writes(S, 2000, 4095);
	report__finish(r);
	assert_true(evidence(only_finding(r, "small_io"), "typical_bytes") == 4096);
	report__free(r);
	expect_none(small_writes(S, 2000, 4096));
}

static void test_small_io_advice(void **state)
{
	const struct report_bottleneck *b;
	struct report *r;

	(void)state;
	/* Reads: read more at a time. 2,000 x 100 B -> typical 128 B, 65,536 / 128 = 512x. */
	r = io_model(S);
	add_syscall(r, 7, "read", "pipe", 2000, 100, 2 * US);
	report__finish(r);
	b = only_finding(r, "small_io");
	assert_true(recommends(b, "read >= 64 KiB at a time into a user-space buffer"));
	assert_true(recommends(b, "cut the 2,000 calls ~512x"));
	report__free(r);
	/* The factor never exceeds the calls made: 1,000 x 1 B cannot become 65,536x fewer. */
	r = small_writes(S, 1000, 1);
	report__finish(r);
	assert_true(recommends(only_finding(r, "small_io"), "cut the 1,000 calls ~1,000x"));
	report__free(r);
	/* Mostly empty reads: no buffering advice, stop at EOF or wait. */
	r = io_model(S);
	add_syscall(r, 7, "read", "file", 5000, 0, 1 * US);
	report__finish(r);
	b = only_finding(r, "small_io");
	assert_true(evidence(b, "typical_bytes") == 0);
	assert_true(recommends(b, "stop calling once read() returns 0"));
	assert_false(recommends(b, "64 KiB"));
	report__free(r);
	/* Small writes to a socket: buffering plus socket coalescing. */
	r = io_model(S);
	add_syscall(r, 7, "sendto", "socket", 5000, 64, 3 * US);
	report__finish(r);
	b = only_finding(r, "small_io");
	assert_true(recommends(b, "write >= 64 KiB"));
	assert_true(recommends(b, "MSG_MORE or TCP_CORK"));
	report__free(r);
	/* A syscall of unknown direction. */
	r = io_model(S);
	add_syscall(r, 7, "splice", "pipe", 5000, 64, 3 * US);
	report__finish(r);
	assert_true(recommends(only_finding(r, "small_io"), "move >= 64 KiB per call"));
	report__free(r);
	/* A --small-io above 64 KiB raises the advised size with it. */
	r = io_model(S);
	r->small_io_bytes = 1 << 20;
	add_syscall(r, 7, "write", "file", 5000, 65536, 3 * US);
	report__finish(r);
	assert_true(recommends(only_finding(r, "small_io"), "write >= 1 MiB at a time"));
	assert_true(recommends(&r->bottlenecks[0], "~16x"));
	report__free(r);
}

static void test_small_net_io(void **state)
{
	const struct report_bottleneck *b;
	struct report *r;

	(void)state;
	/* 20,000 sends of 64 B in 1 s. No socket syscalls traced: impact 0, still reported. */
	r = io_model(S);
	add_net(r, 42, NET_SEND, 20000, 64);
	report__finish(r);
	b = only_finding(r, "small_net_io");
	assert_string_equal(b->target, "tcp send (pid 42 app)");
	assert_string_equal(b->description,
			    "process 42 (app) sent 20,000 tcp messages at 20,000/s, 100% of them "
			    "below 4 KiB (typical 64 B)");
	assert_true(b->impact == 0);
	assert_true(evidence(b, "count") == 20000);
	assert_true(evidence(b, "typical_bytes") == 64);
	assert_true(evidence(b, "bytes") == 20000 * 64);
	assert_true(evidence(b, "syscall_ns") == 0);
	assert_true(recommends(b, "coalesce small sends"));
	assert_true(recommends(b, "cut the 20,000 sends ~1,024x"));
	assert_true(recommends(b, "TCP_NODELAY"));
	report__free(r);
	/* Receives: a larger buffer. */
	r = io_model(S);
	add_net(r, 42, NET_RECV, 20000, 64);
	report__finish(r);
	b = only_finding(r, "small_net_io");
	assert_true(recommends(b, "receive into a larger buffer (>= 64 KiB)"));
	assert_false(recommends(b, "TCP_CORK"));
	report__free(r);
	/* Just below: 999 messages, 1,000 in a little more than 1 s, or 80% small. */
	r = io_model(S);
	add_net(r, 42, NET_SEND, 999, 64);
	expect_none(r);
	r = io_model(S + 1000);
	add_net(r, 42, NET_SEND, 1000, 64);
	expect_none(r);
	r = io_model(S);
	messages(add_net(r, 42, NET_SEND, 800, 64), SMALL_IO_BYTES, 200, 8192);
	expect_none(r);
}

/* A small_io finding on socket syscalls covers the socket row of the same process and direction.
 */
static void test_small_net_io_dedup(void **state)
{
	struct report *r = io_model(S);
	const struct report_bottleneck *b;

	(void)state;
	add_syscall(r, 42, "sendto", "socket", 20000, 64, 5 * US);
	add_net(r, 42, NET_SEND, 20000, 64);
	report__finish(r);
	assert_int_equal(count_kind(r, "small_io"), 1);
	assert_int_equal(count_kind(r, "small_net_io"), 0);
	/* Receives of the same process and sends of another are not covered. */
	add_net(r, 42, NET_RECV, 20000, 64);
	add_net(r, 43, NET_SEND, 20000, 64);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 3);
	assert_non_null(find_kind(r, "small_net_io", 43));
	b = find_kind(r, "small_net_io", 42);
	assert_non_null(b);
	assert_true(strstr(b->description, "received"));
	/* Its impact: the process's socket syscalls receiving (none here: the sendto row sends). */
	assert_true(b->impact == 0);
	report__free(r);
	/* Socket syscalls that are not small themselves (1,000 calls at 1,000/s is, 999 is not)
	 * leave the net finding, which takes their time as its impact. */
	r = io_model(S);
	add_syscall(r, 42, "sendmsg", "socket", 999, 64, 100 * US);
	add_syscall(r, 42, "recvfrom", "socket", 10, 64, 50 * MS); /* other direction */
	add_net(r, 42, NET_SEND, 20000, 64);
	report__finish(r);
	b = only_finding(r, "small_net_io");
	assert_true(evidence(b, "syscall_ns") == 999 * 100 * US);
	assert_near(b->impact, 999 * 100 * US / (double)S);
	report__free(r);
}

static void test_small_block_io(void **state)
{
	const struct report_bottleneck *b;
	struct report *r;

	(void)state;
	/* 5,000 writes of 512 B in 1 s. */
	r = io_model(S);
	add_block(r, 9, "write", 5000, 512, 100 * US);
	report__finish(r);
	b = only_finding(r, "small_block_io");
	assert_string_equal(b->target, "vda write (pid 9 app)");
	assert_string_equal(b->description,
			    "process 9 (app) issued 5,000 write requests to vda at 5,000/s, 100% "
			    "of them below 4 KiB (typical 512 B)");
	assert_true(evidence(b, "small_share") == 1);
	assert_true(evidence(b, "typical_bytes") == 512);
	assert_true(evidence(b, "total_ns") == 500 * MS);
	assert_near(b->impact, 0.5);
	assert_int_equal(b->severity, SEVERITY_HIGH);
	assert_true(recommends(b, "avoid O_DIRECT/O_SYNC/O_DSYNC with small sizes"));
	assert_true(recommends(b, "fsync less often"));
	assert_true(recommends(b, "cut the 5,000 requests ~128x"));
	report__free(r);
	/* Reads: read-ahead. */
	r = io_model(S);
	add_block(r, 9, "read", 5000, 2048, 100 * US);
	report__finish(r);
	assert_true(recommends(only_finding(r, "small_block_io"), "read-ahead"));
	report__free(r);
	/* 4 KiB requests are not below 4 KiB; 999 requests are too few; 80% is not more than 80%;
	 * empty flush requests are not small I/O. */
	r = io_model(S);
	add_block(r, 9, "write", 5000, 4096, 100 * US);
	add_block(r, 10, "write", 999, 512, 100 * US);
	requests(add_block(r, 11, "read", 800, 512, 100 * US), 200, 65536, 100 * US);
	add_block(r, 12, "flush", 5000, 0, 100 * US);
	expect_none(r);
	/* 1,000 requests in a little more than 1 s are not 1,000/s. */
	r = io_model(S + 1000);
	add_block(r, 9, "write", 1000, 512, 100 * US);
	expect_none(r);
	/* One more small request makes it more than 80%. */
	r = io_model(S);
	requests(add_block(r, 11, "read", 801, 512, 100 * US), 199, 65536, 100 * US);
	report__finish(r);
	assert_non_null(only_finding(r, "small_block_io"));
	report__free(r);
}

static void test_slow_device(void **state)
{
	const struct report_bottleneck *b;
	struct report_block_io *rq;
	struct report *r;

	(void)state;
	/* A tail: 90 reads of 200 us and 10 of 5 ms. */
	r = io_model(S);
	rq = add_block(r, 9, "read", 90, 65536, 200 * US);
	requests(rq, 10, 65536, 5 * MS);
	report__finish(r);
	b = only_finding(r, "slow_device");
	rq = &r->block_io[0];
	assert_string_equal(b->target, "vda read (pid 9 app)");
	assert_true(strstr(b->description,
			   "read requests of process 9 (app) to vda have a long tail: p99"));
	assert_true(evidence(b, "count") == 100);
	assert_true(evidence(b, "bytes") == 100 * 65536);
	assert_true(evidence(b, "p50_ns") == rq->p50_ns);
	assert_true(evidence(b, "p99_ns") == rq->p99_ns);
	assert_true(evidence(b, "device_major") == 253);
	assert_true(evidence(b, "device_minor") == 0);
	assert_near(b->impact, (90 * 200 * US + 10 * 5 * MS) / (double)S);
	assert_true(recommends(b, "iostat -x"));
	assert_true(recommends(b, "mq-deadline"));
	assert_true(recommends(b, "writeback bursts and fsync storms"));
	report__free(r);
	/* A slow median: 100 writes of 12 ms, no tail. */
	r = io_model(S);
	add_block(r, 9, "write", 100, 65536, 12 * MS);
	report__finish(r);
	b = only_finding(r, "slow_device");
	assert_true(strstr(b->description, "write requests of process 9 (app) to vda are slow: "
					   "p50 "));
	assert_false(recommends(b, "fsync storms"));
	assert_true(b->impact == 1.0); /* 1.2 s of requests in 1 s: several in flight */
	report__free(r);
}

static void test_slow_device_thresholds(void **state)
{
	struct report_block_io *rq;
	struct report *r;

	(void)state;
	/* p99 about 3.5x p50, above 1 ms: no tail. */
	r = io_model(S);
	rq = add_block(r, 1, "read", 90, 65536, 1 * MS);
	requests(rq, 10, 65536, 3500 * US);
	report__finish(r);
	assert_true(r->block_io[0].p99_ns < 4 * r->block_io[0].p50_ns);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* p99 above 4x p50 but below 1 ms: no tail worth reporting. */
	r = io_model(S);
	rq = add_block(r, 1, "read", 90, 65536, 50 * US);
	requests(rq, 10, 65536, 900 * US);
	report__finish(r);
	assert_true(r->block_io[0].p99_ns > 4 * r->block_io[0].p50_ns);
	assert_true(r->block_io[0].p99_ns < 1 * MS);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* p50 just below 10 ms: not slow. */
	r = io_model(S);
	add_block(r, 1, "read", 100, 65536, 9500 * US);
	report__finish(r);
	assert_true(r->block_io[0].p50_ns < 10 * MS);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* Slow flushes are not slow reads or writes; 19 requests are too few to judge. */
	r = io_model(S);
	add_block(r, 1, "flush", 100, 0, 30 * MS);
	rq = add_block(r, 2, "read", 15, 65536, 200 * US);
	requests(rq, 4, 65536, 50 * MS);
	add_block(r, 3, "write", 19, 65536, 50 * MS);
	expect_none(r);
	/* But a flush tail is one: 20 flushes, one very slow. */
	r = io_model(S);
	rq = add_block(r, 1, "flush", 19, 0, 1 * MS);
	requests(rq, 1, 0, 40 * MS);
	report__finish(r);
	assert_true(strstr(only_finding(r, "slow_device")->description, "flush requests"));
	report__free(r);
}

/* Each process's TCP send row carries the sum of its connections' retransmits. */
static void test_retransmits_per_process(void **state)
{
	struct report *r = io_model(10 * S);

	(void)state;
	add_net(r, 7, NET_SEND, 10, 100);
	add_net(r, 7, NET_RECV, 10, 100);
	add_net(r, 8, NET_SEND, 10, 100);
	add_conn(r, 7, "10.0.0.1:1", "10.0.0.2:80", 5, 500, 0, 3);
	add_conn(r, 7, "10.0.0.1:2", "10.0.0.2:80", 5, 500, 0, 2);
	add_conn(r, 8, "10.0.0.1:3", "10.0.0.2:80", 10, 1000, 0, 0);
	add_conn(r, 0, "10.0.0.1:4", "10.0.0.2:80", 0, 0, 0, 9);
	analysis__derive_io(r);
	for (size_t i = 0; i < r->n_net_io; i++) {
		const struct report_net_io *n = &r->net_io[i];

		if (n->pid == 7 && n->direction == NET_SEND)
			assert_int_equal(n->retransmits, 5);
		else
			assert_int_equal(n->retransmits, 0);
	}
	report__free(r);
}

static void test_tcp_retransmits(void **state)
{
	const struct report_bottleneck *b;
	struct report *r = io_model(10 * S);

	(void)state;
	add_conn(r, 1234, "10.0.0.1:40000", "10.0.0.2:80", 50, 5000000, 100, 2);
	add_conn(r, 1234, "10.0.0.1:40001", "10.0.0.3:443", 40, 4000, 100, 10);
	add_conn(r, 1234, "10.0.0.1:40002", "10.0.0.2:80", 10, 100, 100, 0);
	add_conn(r, 0, "10.0.0.1:40003", "[2001:db8::1]:443", 0, 0, 0, 1);
	add_conn(r, 77, "10.0.0.1:40004", "10.0.0.2:80", 1000, 100000, 100, 0);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 2);
	b = find_kind(r, "tcp_retransmits", 1234);
	assert_non_null(b);
	assert_string_equal(b->target, "tcp retransmits (pid 1234 app)");
	assert_string_equal(b->description,
			    "process 1234 (app) had 12 TCP retransmits on 2 of 3 connections, most "
			    "on 10.0.0.1:40001 -> 10.0.0.3:443 (10): about 2.40s of stalls if each "
			    "waited the minimum RTO");
	assert_true(evidence(b, "retransmits") == 12);
	assert_true(evidence(b, "connections") == 2);
	assert_true(evidence(b, "sends") == 100);
	assert_near(evidence(b, "retransmits_per_send"), 0.12);
	assert_true(evidence(b, "stall_ns") == 12 * 200 * MS);
	assert_near(b->impact, 0.24); /* 2.4 s of a 10 s trace */
	assert_int_equal(b->severity, SEVERITY_HIGH);
	assert_true(recommends(b, "ss -ti dst 10.0.0.3:443"));
	assert_true(recommends(b, "nstat"));
	assert_true(recommends(b, "ethtool -S"));
	/* Retransmits seen without an owner are their own finding, without a send count. */
	b = find_kind(r, "tcp_retransmits", 0);
	assert_non_null(b);
	assert_string_equal(b->target, "tcp retransmits (owner unknown)");
	assert_true(strstr(b->description, "unknown processes had 1 TCP retransmit on 1 of 1 "
					   "connection, most on 10.0.0.1:40003 -> "
					   "[2001:db8::1]:443 (1)"));
	assert_false(has_evidence(b, "retransmits_per_send"));
	assert_near(b->impact, 0.02);
	report__free(r);
	/* Connections without retransmits: nothing. */
	r = io_model(S);
	add_conn(r, 1, "10.0.0.1:1", "10.0.0.2:80", 1000, 1000000, 1000000, 0);
	expect_none(r);
}

static void test_io_errors(void **state)
{
	const struct report_bottleneck *b;
	struct report_syscall_io *s;
	struct report *r;

	(void)state;
	/* A non-blocking read spinning on EAGAIN: 2,000 failures, 500 successes. */
	r = io_model(S);
	s = add_syscall(r, 5, "read", "socket", 500, 65536, 2 * US);
	syscall_errors(s, 2000, 1 * US);
	report__finish(r);
	b = only_finding(r, "io_errors");
	assert_string_equal(b->target, "read() on socket (pid 5 app)");
	assert_string_equal(b->description,
			    "process 5 (app): 2,000 of 2,500 read() calls on socket fds failed "
			    "(80%, 2,000/s), 3.00ms in the calls");
	assert_true(evidence(b, "errors") == 2000);
	assert_true(evidence(b, "calls") == 2500);
	assert_near(evidence(b, "error_share"), 0.8);
	assert_near(evidence(b, "errors_per_s"), 2000);
	assert_true(evidence(b, "total_ns") == 3 * MS);
	assert_true(recommends(b, "wait for readiness with epoll/poll"));
	assert_true(recommends(b, "strace -f -Z -e trace=read -p 5"));
	report__free(r);
	/* Exactly half failing, or 999 failures, is not enough. */
	r = io_model(S);
	syscall_errors(add_syscall(r, 5, "read", "socket", 1000, 64 * 1024, 2 * US), 1000, 1 * US);
	syscall_errors(add_syscall(r, 6, "read", "socket", 0, 0, 0), 999, 1 * US);
	expect_none(r);
}

static void test_slow_file_io(void **state)
{
	const struct report_bottleneck *b;
	struct report_syscall_io *s;
	struct report *r;

	(void)state;
	/* 95 cached reads of 50 us, 5 from the disk at 20 ms. */
	r = io_model(S);
	s = add_syscall(r, 3, "pread64", "file", 95, 65536, 50 * US);
	syscalls(s, SMALL_IO_BYTES, 5, 65536, 20 * MS);
	report__finish(r);
	b = only_finding(r, "slow_file_io");
	s = &r->syscall_io[0];
	assert_string_equal(b->target, "pread64() on file (pid 3 app)");
	assert_true(strstr(b->description, "process 3 (app) spent 105ms in 100 pread64() calls on "
					   "files, p99 20.0ms (p50 "));
	assert_true(evidence(b, "p99_ns") == 20 * MS);
	assert_true(evidence(b, "p50_ns") == s->p50_ns);
	assert_true(evidence(b, "max_ns") == 20 * MS);
	assert_true(evidence(b, "count") == 100);
	assert_true(recommends(b, "reads wait for the disk"));
	report__free(r);
	/* Writes: throttling or O_SYNC. */
	r = io_model(S);
	add_syscall(r, 3, "write", "file", 50, 65536, 8 * MS);
	report__finish(r);
	assert_true(recommends(only_finding(r, "slow_file_io"), "dirty-page throttling"));
	report__free(r);
	/* Below: 19 calls; p99 under 5 ms; slow reads from a socket (waiting for a peer, not a
	 * disk); an fd type of unknown direction (fsync is not a read or write). */
	r = io_model(S);
	add_syscall(r, 3, "read", "file", 19, 65536, 50 * MS);
	add_syscall(r, 4, "read", "file", 100, 65536, 4500 * US);
	add_syscall(r, 5, "read", "socket", 100, 65536, 50 * MS);
	add_syscall(r, 6, "fsync", "file", 100, 0, 50 * MS);
	report__finish(r);
	for (size_t i = 0; i < r->n_syscall_io; i++)
		if (r->syscall_io[i].pid == 4)
			assert_in_range(r->syscall_io[i].p99_ns, 4 * MS, 5 * MS - 1);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
}

/* Impact is a share of the process's thread time: its sched rows when they exist. */
static void test_io_impact_denominator(void **state)
{
	struct report_thread_sched *t;
	struct report *r;

	(void)state;
	/* 10,000 writes of 50 us: 500 ms. Without a scheduler collector: of the 1 s trace. */
	r = small_writes(S, 10000, 16);
	r->syscall_io[0].total_ns = 500 * MS;
	report__finish(r);
	assert_near(r->bottlenecks[0].impact, 0.5);
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_HIGH);
	/* With it: of all traced thread time, here two threads alive 1 s each. */
	t = report__add_sched(r, 1234, 1234, "app");
	assert_non_null(t);
	t->wall_ns = S;
	t = report__add_sched(r, 1234, 1235, "app");
	assert_non_null(t);
	t->wall_ns = S;
	r->sched_enabled = true;
	report__finish(r);
	assert_near(r->bottlenecks[0].impact, 0.25);
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_HIGH);
	/* One scale for every finding: other processes' threads count in the denominator too. */
	r->sched[0].pid = r->sched[1].pid = 999;
	report__finish(r);
	assert_near(r->bottlenecks[0].impact, 0.25);
	/* Clamped to 1: more I/O time than thread time (requests in flight in parallel). */
	r->syscall_io[0].total_ns = 3 * S;
	report__finish(r);
	assert_true(r->bottlenecks[0].impact == 1.0);
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_CRITICAL);
	report__free(r);
}

/* An idle-looking process: some I/O of every kind, nothing any rule should flag. */
static void test_idle_model_has_no_findings(void **state)
{
	struct report *r = io_model(S);
	struct report_thread_sched *t;

	(void)state;
	t = report__add_sched(r, 100, 100, "idle");
	assert_non_null(t);
	t->wall_ns = S;
	r->sched_enabled = true;
	add_syscall(r, 100, "read", "file", 40, 100, 20 * US);
	add_syscall(r, 100, "write", "file", 40, 16, 5 * US);
	add_syscall(r, 100, "write", "pipe", 10, 1, 3 * US);
	add_syscall(r, 100, "recvfrom", "socket", 60, 200, 10 * US);
	add_syscall(r, 100, "sendto", "socket", 60, 200, 10 * US);
	syscall_errors(add_syscall(r, 100, "read", "socket", 5, 100, 2 * US), 20, 1 * US);
	add_block(r, 100, "read", 12, 4096, 300 * US);
	add_block(r, 100, "write", 30, 16384, 400 * US);
	add_block(r, 0, "flush", 3, 0, 2 * MS);
	add_net(r, 100, NET_SEND, 60, 200);
	add_net(r, 100, NET_RECV, 60, 200);
	add_conn(r, 100, "127.0.0.1:5000", "127.0.0.1:40000", 60, 12000, 12000, 0);
	expect_none(r);
	/* The I/O collector on, nothing seen. */
	expect_none(io_model(S));
}

/* I/O findings join the one list, ranked with the others by impact. */
static void test_io_findings_ranked_with_others(void **state)
{
	struct report *r = io_model(S);
	struct report_thread_sched *t;
	size_t i;

	(void)state;
	/* A process waiting for a CPU 30% of its time, one doing 10,000 tiny writes (50%). */
	t = report__add_sched(r, 2000, 2000, "busy");
	assert_non_null(t);
	t->wall_ns = S;
	t->runq_total_ns = 300 * MS;
	t = report__add_sched(r, 1234, 1234, "app");
	assert_non_null(t);
	t->wall_ns = S;
	r->sched_enabled = true;
	add_syscall(r, 1234, "write", "file", 10000, 16, 50 * US);
	/* And one with a single retransmit over a 10 s trace (2%): low impact, still listed. */
	add_conn(r, 55, "10.0.0.1:1", "10.0.0.2:80", 100, 1000, 0, 1);
	r->duration_ns = 10 * S;
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 3);
	assert_string_equal(r->bottlenecks[0].kind, "small_io");
	assert_string_equal(r->bottlenecks[1].kind, "runqueue");
	assert_string_equal(r->bottlenecks[2].kind, "tcp_retransmits");
	assert_int_equal(r->bottlenecks[2].severity, SEVERITY_LOW);
	for (i = 1; i < r->n_bottlenecks; i++)
		assert_true(r->bottlenecks[i - 1].impact >= r->bottlenecks[i].impact);
	report__free(r);
}

/* Many findings grow the list one by one; finishing again rebuilds it. */
static void test_many_findings(void **state)
{
	struct report *r = io_model(S);
	int pid;

	(void)state;
	for (pid = 1; pid <= 100; pid++)
		add_syscall(r, pid, "write", "file", 2000, 16, 1 * US);
	report__finish(r);
	assert_int_equal(count_kind(r, "small_io"), 100);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 100);
	report__free(r);
}

struct sort_item {
	int key;
	int seq; /* its index before sorting */
	char pad[300];
};

static int cmp_sort_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/* The in-place stable sort: ordered by key, equal keys in their first order, new_pos right. */
static void test_stable_sort_in_place(void **state)
{
	enum {
		N = 1000
	};
	struct sort_item *items = calloc(N, sizeof(*items));
	size_t *new_pos = calloc(N, sizeof(*new_pos));
	void *base = items;

	(void)state;
	assert_non_null(items);
	assert_non_null(new_pos);
	for (int i = 0; i < N; i++) {
		items[i].key = (i * 7919) % 13; /* 13 keys, each ~77 times, scattered */
		items[i].seq = i;
		memset(items[i].pad, i & 0xff, sizeof(items[i].pad));
	}
	assert_int_equal(analysis__stable_sort(&base, N, sizeof(*items), cmp_sort_item, new_pos),
			 0);
	assert_ptr_equal(base, items);
	for (int i = 1; i < N; i++) {
		assert_true(items[i - 1].key <= items[i].key);
		if (items[i - 1].key == items[i].key)
			assert_true(items[i - 1].seq < items[i].seq);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(items[new_pos[i]].seq, i);
		assert_int_equal((unsigned char)items[i].pad[299], items[i].seq & 0xff);
	}
	free(new_pos);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive_percentiles),
	    cmocka_unit_test(test_derive_top_rank_is_max),
	    cmocka_unit_test(test_sort_io),
	    cmocka_unit_test(test_stable_sort_in_place),
	    cmocka_unit_test(test_small_io_16_byte_writes),
	    cmocka_unit_test(test_small_io_thresholds),
	    cmocka_unit_test(test_small_io_advice),
	    cmocka_unit_test(test_small_net_io),
	    cmocka_unit_test(test_small_net_io_dedup),
	    cmocka_unit_test(test_small_block_io),
	    cmocka_unit_test(test_slow_device),
	    cmocka_unit_test(test_slow_device_thresholds),
	    cmocka_unit_test(test_tcp_retransmits),
	    cmocka_unit_test(test_retransmits_per_process),
	    cmocka_unit_test(test_io_errors),
	    cmocka_unit_test(test_slow_file_io),
	    cmocka_unit_test(test_io_impact_denominator),
	    cmocka_unit_test(test_idle_model_has_no_findings),
	    cmocka_unit_test(test_io_findings_ranked_with_others),
	    cmocka_unit_test(test_many_findings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
