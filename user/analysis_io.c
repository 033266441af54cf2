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
