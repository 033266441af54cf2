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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive_percentiles),
	    cmocka_unit_test(test_derive_top_rank_is_max),
	    cmocka_unit_test(test_sort_io),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
