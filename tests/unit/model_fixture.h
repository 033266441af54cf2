/* Synthetic report models shared by the report/JSON/text unit tests (header-only). */
#ifndef SNAG_MODEL_FIXTURE_H
#define SNAG_MODEL_FIXTURE_H

#include <stdlib.h>
#include <string.h>
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

#endif
