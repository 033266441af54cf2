/*
 * Unit tests for the memory analysis: growth fits of outstanding bytes and RSS, the memory_leak
 * and allocation_churn rules, their findings, and the sort of allocation rows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analysis.h"
#include "report.h"

#define SEC 1000000000ull
#define KIB 1024

/* A report of n one-second intervals, memory collector on, one process (pid 42, "app"). */
static struct report *model(size_t n)
{
	struct report *r = report__new();
	struct report_memory *m;

	assert_non_null(r);
	r->duration_ns = n * SEC;
	r->mem_enabled = true;
	r->mem_sample = 1;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(report__add_interval(r, i * SEC, SEC, NULL, 0), 0);
	m = report__add_memory(r, 42, "app", n);
	assert_non_null(m);
	for (size_t i = 0; i < n; i++)
		m->rss_bytes[i] = 8 << 20; /* a flat 8 MiB */
	m->peak_rss_bytes = 8 << 20;
	return r;
}

/* An allocation row of pid 42 whose outstanding bytes at the end of interval i are v[i]. */
static struct report_allocation *row(struct report *r, const char *site, const int64_t *v, size_t n)
{
	struct report_allocation *a = report__add_allocation(r, 42, "app", "heap");
	const char *frames[] = {site, "main", "__libc_start_call_main"};

	assert_non_null(a);
	assert_int_equal(report_stack__set(&a->stack, frames, 3, false), 0);
	if (v) {
		a->series = malloc(r->n_intervals * sizeof(*a->series));
		assert_non_null(a->series);
		a->n_series = r->n_intervals;
		for (size_t i = 0; i < r->n_intervals; i++)
			a->series[i] = i < n ? v[i] : REPORT_SERIES_NONE;
		a->outstanding_bytes = v[n - 1];
		a->outstanding_count = v[n - 1] / KIB;
		a->total_allocs = (uint64_t)a->outstanding_count;
		a->total_bytes = (uint64_t)a->outstanding_bytes;
	}
	return a;
}

static const struct report_bottleneck *finding(const struct report *r, const char *kind)
{
	for (size_t i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, kind))
			return &r->bottlenecks[i];
	return NULL;
}

static size_t count_findings(const struct report *r, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_bottlenecks; i++)
		n += !strcmp(r->bottlenecks[i].kind, kind);
	return n;
}

static double evidence(const struct report_bottleneck *b, const char *key)
{
	for (size_t i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return b->evidence[i].value;
	fail_msg("no evidence %s", key);
	return 0;
}

/*
 * 100 KiB a second from one stack, the tests/targets/mem leak pattern: the fit
 * says 102,400 B/s exactly; the finding names the stack, the rate and the end.
 */
static void test_leak_rate_and_finding(void **state)
{
	struct report *r = model(6);
	int64_t v[6];
	const struct report_bottleneck *b;

	(void)state;
	for (int i = 0; i < 6; i++)
		v[i] = (i + 1) * 100 * KIB;
	row(r, "leak_block", v, 6);
	report__finish(r);
	assert_true(r->allocations[0].growth_fitted);
	assert_true(r->allocations[0].growth_bytes_per_s > 102399.9 &&
		    r->allocations[0].growth_bytes_per_s < 102400.1);
	assert_true(r->allocations[0].growth_r2 > 0.9999);
	assert_int_equal(r->allocations[0].growth_points, 6);
	b = finding(r, "memory_leak");
	assert_non_null(b);
	assert_string_equal(b->target, "allocations in leak_block (pid 42 app)");
	assert_int_equal(b->pid, 42);
	assert_non_null(strstr(b->description, "leak_block <- main <- __libc_start_call_main"));
	assert_non_null(strstr(b->description, "grow steadily by 100KiB/s"));
	assert_non_null(strstr(b->description, "600KiB in 600 blocks at the end"));
	assert_true(evidence(b, "growth_bytes_per_s") > 102399.9);
	assert_int_equal((int)evidence(b, "intervals"), 6);
	/* 600 KiB of an 8 MiB peak. */
	assert_true(b->impact > 0.0732 && b->impact < 0.0733);
	assert_true(b->n_recommendations >= 1);
	assert_non_null(strstr(b->recommendations[0], "leak_block"));
	report__free(r);
}

/*
 * The rule fits a line, it does not compare two points: a series that ends
 * high after jumping about, or is high only at the end, is no leak.
 */
static void test_not_leaks(void **state)
{
	/* Blocks freed as fast as allocated: flat near zero. */
	const int64_t flat[] = {2048, 0, 1024, 2048, 1024, 0, 2048, 1024};
	/* A cache filling up, then full: a good line overall, but flat at the end. */
	const int64_t plateau[] = {100 * KIB, 200 * KIB, 300 * KIB, 400 * KIB,
				   500 * KIB, 600 * KIB, 600 * KIB, 600 * KIB};
	/* Up and down: no line explains it (R^2 low). */
	const int64_t noisy[] = {100 * KIB, 900 * KIB, 50 * KIB, 800 * KIB,
				 200 * KIB, 950 * KIB, 10 * KIB, 1000 * KIB};
	/* Steady, but only 16 KiB in all (below ANALYSIS_LEAK_MIN_BYTES). */
	const int64_t tiny[] = {2 * KIB,  4 * KIB,  6 * KIB,  8 * KIB,
				10 * KIB, 12 * KIB, 14 * KIB, 16 * KIB};
	/* Two points, however steep. */
	const int64_t two[] = {0, 100 << 20};
	struct report *r = model(8);
	struct analysis_fit f;

	(void)state;
	row(r, "flat", flat, 8);
	row(r, "plateau", plateau, 8);
	row(r, "noisy", noisy, 8);
	row(r, "tiny", tiny, 8);
	row(r, "two", two, 2);
	row(r, "unfollowed", NULL, 0)->outstanding_bytes = 10 << 20;
	report__finish(r);
	assert_int_equal(count_findings(r, "memory_leak"), 0);
	/* The plateau passes the trend test but not the "still growing at the end" test. */
	for (size_t i = 0; i < r->n_allocations; i++) {
		const struct report_allocation *a = &r->allocations[i];

		assert_false(analysis__is_leak(r, a, &f));
		if (!strcmp(analysis__allocation_site(a), "plateau"))
			assert_true(analysis__is_trend(&f));
	}
	report__free(r);
}

/* Missing points (a stack followed late) are left out of the fit, not taken as zero. */
static void test_leak_with_gaps(void **state)
{
	struct report *r = model(8);
	int64_t v[8];
	const struct report_bottleneck *b;

	(void)state;
	for (int i = 0; i < 8; i++)
		v[i] = i < 3 ? REPORT_SERIES_NONE : (i + 1) * 50 * KIB;
	row(r, "late", v, 8);
	report__finish(r);
	assert_int_equal(r->allocations[0].growth_points, 5);
	assert_true(r->allocations[0].growth_bytes_per_s > 51199.9 &&
		    r->allocations[0].growth_bytes_per_s < 51200.1);
	b = finding(r, "memory_leak");
	assert_non_null(b);
	assert_int_equal((int)evidence(b, "intervals"), 5);
	report__free(r);
}

/* A leak that also frees some blocks, traced with sampling: both caveats are recommended. */
static void test_leak_recommendations(void **state)
{
	struct report *r = model(6);
	int64_t v[6];
	struct report_allocation *a;
	const struct report_bottleneck *b;

	(void)state;
	r->mem_sample = 10;
	for (int i = 0; i < 6; i++)
		v[i] = (i + 1) * 1000 * KIB;
	a = row(r, "cache_put", v, 6);
	a->freed_allocs = 100;
	a->lifetime_ns = 100 * 20 * SEC;
	report__finish(r);
	b = finding(r, "memory_leak");
	assert_non_null(b);
	assert_int_equal(b->n_recommendations, 3);
	assert_non_null(strstr(b->recommendations[1], "after 20.0s on average"));
	assert_non_null(strstr(b->recommendations[2], "one allocation call in 10"));
	report__free(r);
}

static struct report_allocation *churn_row(struct report *r, const char *site, uint64_t allocs,
					   uint64_t freed, uint64_t lifetime_ns)
{
	struct report_allocation *a = row(r, site, NULL, 0);

	a->total_allocs = allocs;
	a->total_bytes = allocs * 64;
	a->freed_allocs = freed;
	a->freed_bytes = freed * 64;
	a->lifetime_ns = freed * lifetime_ns;
	return a;
}

/* Many blocks freed soon after their allocation, from one stack: allocation_churn. */
static void test_churn(void **state)
{
	struct report *r = model(5);
	const struct report_bottleneck *b;

	(void)state;
	/* 1,000,000 in 5 s (200,000/s), all freed after 2 us. */
	churn_row(r, "churn_once", 1000000, 1000000, 2000);
	/* Below the thresholds, one at a time: */
	churn_row(r, "few", ANALYSIS_CHURN_MIN_ALLOCS - 1, ANALYSIS_CHURN_MIN_ALLOCS - 1, 2000);
	churn_row(r, "kept", 1000000, 800000, 2000);		/* 80% freed */
	churn_row(r, "long_lived", 1000000, 1000000, 20000000); /* 20 ms each */
	churn_row(r, "mapped", 1000000, 1000000, 2000);
	free(r->allocations[r->n_allocations - 1].source);
	r->allocations[r->n_allocations - 1].source = strdup("mmap");
	report__finish(r);
	assert_int_equal(count_findings(r, "allocation_churn"), 1);
	b = finding(r, "allocation_churn");
	assert_string_equal(b->target, "allocations in churn_once (pid 42 app)");
	assert_non_null(strstr(b->description, "allocated 1,000,000 blocks at 200,000/s (64B on "
					       "average) and freed 100% of them after 2.00us"));
	assert_true(evidence(b, "allocs_per_s") == 200000);
	assert_true(evidence(b, "freed_share") == 1);
	/* 1,000,000 pairs x 10 ns = 10 ms of a 5 s trace (no scheduler: one thread's worth). */
	assert_true(evidence(b, "allocator_ns") == 1e7);
	assert_true(b->impact > 0.00199 && b->impact < 0.00201);
	assert_non_null(strstr(b->recommendations[0], "churn_once"));
	assert_non_null(strstr(b->recommendations[0], "arena"));
	assert_int_equal(count_findings(r, "memory_leak"), 0);
	report__free(r);
}

/* A process whose RSS grows steadily gets a trend finding; a flat one does not. */
static void test_rss_trend(void **state)
{
	struct report *r = model(6);
	struct report_memory *m = report__add_memory(r, 43, "grower", 6);
	const struct report_bottleneck *b;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < 6; i++)
		m->rss_bytes[i] = (int64_t)(i + 1) << 20;
	m->peak_rss_bytes = 6 << 20;
	report__finish(r);
	assert_true(r->memory[1].growth_fitted);
	assert_true(r->memory[1].rss_growth_bytes_per_s > 1048575.9 &&
		    r->memory[1].rss_growth_bytes_per_s < 1048576.1);
	assert_true(r->memory[0].growth_fitted && r->memory[0].rss_growth_bytes_per_s == 0);
	assert_int_equal(count_findings(r, "trend"), 1);
	b = finding(r, "trend");
	assert_string_equal(b->target, "RSS of grower (pid 43)");
	assert_non_null(strstr(b->description, "from 1.0MiB to 6.0MiB (+1.0MiB/s"));
	report__free(r);
}

/* The memory collector off: no memory finding, whatever the rows say. */
static void test_collector_off(void **state)
{
	struct report *r = model(6);
	int64_t v[6];

	(void)state;
	r->mem_enabled = false;
	for (int i = 0; i < 6; i++)
		v[i] = (i + 1) * 100 * KIB;
	row(r, "leak_block", v, 6);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
}

/* Rows sort by outstanding bytes, then total bytes; the site skips allocation wrappers. */
static void test_sort_and_site(void **state)
{
	struct report *r = model(1);
	const char *wrapped[] = {"_Znwm", "strdup", "make_node", "main"};
	struct report_allocation *a;

	(void)state;
	a = row(r, "small", NULL, 0);
	a->outstanding_bytes = 10;
	a = row(r, "big", NULL, 0);
	a->outstanding_bytes = 1000;
	a = row(r, "zero_more", NULL, 0);
	a->total_bytes = 99;
	a = row(r, "zero_less", NULL, 0);
	a->total_bytes = 1;
	a = report__add_allocation(r, 42, "app", "heap");
	assert_int_equal(report_stack__set(&a->stack, wrapped, 4, false), 0);
	a->outstanding_bytes = 5;
	report__finish(r);
	assert_string_equal(analysis__allocation_site(&r->allocations[0]), "big");
	assert_string_equal(analysis__allocation_site(&r->allocations[1]), "small");
	assert_string_equal(analysis__allocation_site(&r->allocations[2]), "make_node");
	assert_string_equal(analysis__allocation_site(&r->allocations[3]), "zero_more");
	assert_string_equal(analysis__allocation_site(&r->allocations[4]), "zero_less");
	report__free(r);
}

static void test_format_bytes(void **state)
{
	char buf[ANALYSIS_BYTES_LEN];

	(void)state;
	assert_string_equal(analysis__format_bytes(0, buf, sizeof(buf)), "0B");
	assert_string_equal(analysis__format_bytes(1023, buf, sizeof(buf)), "1023B");
	assert_string_equal(analysis__format_bytes(1024, buf, sizeof(buf)), "1.0KiB");
	assert_string_equal(analysis__format_bytes(102400, buf, sizeof(buf)), "100KiB");
	assert_string_equal(analysis__format_bytes(1048575, buf, sizeof(buf)), "1.0MiB");
	assert_string_equal(analysis__format_bytes(UINT64_MAX, buf, sizeof(buf)), "16.0EiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leak_rate_and_finding),
	    cmocka_unit_test(test_not_leaks),
	    cmocka_unit_test(test_leak_with_gaps),
	    cmocka_unit_test(test_leak_recommendations),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_rss_trend),
	    cmocka_unit_test(test_collector_off),
	    cmocka_unit_test(test_sort_and_site),
	    cmocka_unit_test(test_format_bytes),
	};

	return cmocka_run_group_tests_name("analysis_mem", tests, NULL, NULL);
}
