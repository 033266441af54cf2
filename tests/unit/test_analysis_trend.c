/* Unit tests for trend detection: line fitting and the sustained-growth rule. */
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

#define MS 1000000ull

static void test_fit_exact_line(void **state)
{
	const double x[] = {0, 1, 2, 3, 4, 5}, y[] = {1, 3, 5, 7, 9, 11};
	struct analysis_fit f;

	(void)state;
	assert_int_equal(analysis__fit_line(x, y, 6, &f), 0);
	assert_true(f.slope > 1.9999 && f.slope < 2.0001);
	assert_true(f.intercept > 0.9999 && f.intercept < 1.0001);
	assert_true(f.r2 > 0.9999);
	assert_true(f.mean > 5.9999 && f.mean < 6.0001);
	/* From 1 to 11 over a mean of 6: +167%. */
	assert_true(analysis__is_trend(&f));
}

static void test_fit_edge_cases(void **state)
{
	const double x1[] = {1}, same_x[] = {2, 2, 2}, y[] = {1, 2, 3};
	const double x[] = {0, 1, 2, 3, 4, 5}, flat[] = {4, 4, 4, 4, 4, 4};
	struct analysis_fit f;

	(void)state;
	assert_int_equal(analysis__fit_line(x1, y, 1, &f), -EINVAL);
	assert_int_equal(analysis__fit_line(same_x, y, 3, &f), -EINVAL);
	assert_int_equal(analysis__fit_line(x, flat, 6, &f), 0);
	assert_true(f.slope == 0 && f.r2 == 1.0);
	assert_false(analysis__is_trend(&f));
}

static void test_trend_thresholds(void **state)
{
	const double x[] = {0, 1, 2, 3, 4, 5};
	/* Noisy: up and down around a slight rise (R^2 low). */
	const double noisy[] = {10, 2, 12, 3, 13, 4};
	/* A steady rise, but only 20% over the span. */
	const double gentle[] = {100, 104, 108, 112, 116, 120};
	/* Falling. */
	const double falling[] = {11, 9, 7, 5, 3, 1};
	/* Two points cannot make a trend, however steep. */
	const double steep[] = {1, 100};
	struct analysis_fit f;

	(void)state;
	assert_int_equal(analysis__fit_line(x, noisy, 6, &f), 0);
	assert_true(f.r2 < ANALYSIS_TREND_MIN_R2);
	assert_false(analysis__is_trend(&f));
	assert_int_equal(analysis__fit_line(x, gentle, 6, &f), 0);
	assert_true(f.r2 > 0.99);
	assert_false(analysis__is_trend(&f));
	assert_int_equal(analysis__fit_line(x, falling, 6, &f), 0);
	assert_false(analysis__is_trend(&f));
	assert_int_equal(analysis__fit_line(x, steep, 2, &f), 0);
	assert_false(analysis__is_trend(&f));
}

/* A function whose average latency grows 1 ms per interval gets a trend finding. */
static void test_function_latency_trend(void **state)
{
	struct report *r = report__new();
	struct report_function *f;
	const struct report_bottleneck *b = NULL;

	(void)state;
	assert_non_null(r);
	f = report__add_function(r, "/bin/app", "handle", 0x1000);
	assert_non_null(f);
	r->duration_ns = 10 * 100 * MS;
	r->traced_thread_ns = r->duration_ns;
	for (int i = 0; i < 10; i++) {
		struct report_interval_func fn = {0, 10, 10 * (uint64_t)(i + 1) * MS};

		assert_int_equal(report__add_interval(r, i * 100 * MS, 100 * MS, &fn, 1), 0);
		f->count += 10;
		f->total_ns += fn.total_ns;
		f->inside_ns += fn.total_ns;
		f->hist[snag_hist_bucket((i + 1) * MS)] += 10;
	}
	f->min_ns = MS;
	f->max_ns = 10 * MS;
	report__finish(r);
	for (size_t i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, "trend"))
			b = &r->bottlenecks[i];
	assert_non_null(b);
	assert_string_equal(b->target, "latency of handle (/bin/app)");
	assert_non_null(strstr(b->description, "grew steadily from 1.00ms to 10.0ms"));
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fit_exact_line),
	    cmocka_unit_test(test_fit_edge_cases),
	    cmocka_unit_test(test_trend_thresholds),
	    cmocka_unit_test(test_function_latency_trend),
	};

	return cmocka_run_group_tests_name("analysis_trend", tests, NULL, NULL);
}
