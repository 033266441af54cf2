/* Unit tests: report model, impact/severity, sorting with interval remap, bottleneck rules, unit
 * formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <cmocka.h>
#include "analysis.h"
#include "model_fixture.h"
#include "report.h"

#define MS 1000000ULL
#define S  1000000000ULL

static const struct report_bottleneck *find_bottleneck(const struct report *r, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < r->n_bottlenecks; i++)
		if (!strncmp(r->bottlenecks[i].target, name, len) &&
		    r->bottlenecks[i].target[len] == ' ')
			return &r->bottlenecks[i];
	return NULL;
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

static double evidence(const struct report_bottleneck *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return b->evidence[i].value;
	fail_msg("no evidence %s", key);
	return -1;
}

static void test_new_and_free(void **state)
{
	struct report *r = report__new();
	struct utsname uts;

	(void)state;
	assert_non_null(r);
	assert_string_equal(r->snag_version, SNAG_VERSION);
	assert_non_null(r->hostname);
	assert_int_equal(uname(&uts), 0);
	assert_string_equal(r->kernel, uts.release);
	assert_int_equal(r->n_functions, 0);
	/* NULL strings are accepted and kept as NULL. */
	assert_non_null(report__add_function(r, NULL, NULL, 0));
	assert_null(r->functions[0].name);
	assert_int_equal(report__add_interval(r, 0, 1, NULL, 0), 0);
	assert_int_equal(report__add_interval(r, 0, 1, NULL, 3), -EINVAL);
	assert_int_equal(report__add_program(r, NULL, 1, 2), 0);
	assert_int_equal(report__add_drop(r, NULL, 3), 0);
	report__finish(r);
	report__free(r);
	report__free(NULL);
	report__finish(NULL);
}

static void test_severity(void **state)
{
	(void)state;
	assert_int_equal(severity__from_impact(0), SEVERITY_LOW);
	assert_int_equal(severity__from_impact(0.1), SEVERITY_LOW);
	assert_int_equal(severity__from_impact(0.1000001), SEVERITY_MEDIUM);
	assert_int_equal(severity__from_impact(0.2), SEVERITY_MEDIUM);
	assert_int_equal(severity__from_impact(0.2000001), SEVERITY_HIGH);
	assert_int_equal(severity__from_impact(0.5), SEVERITY_HIGH);
	assert_int_equal(severity__from_impact(0.5000001), SEVERITY_CRITICAL);
	assert_int_equal(severity__from_impact(1), SEVERITY_CRITICAL);
	assert_string_equal(severity__name(SEVERITY_LOW), "low");
	assert_string_equal(severity__name(SEVERITY_MEDIUM), "medium");
	assert_string_equal(severity__name(SEVERITY_HIGH), "high");
	assert_string_equal(severity__name(SEVERITY_CRITICAL), "critical");
}

static void test_format_parse(void **state)
{
	enum report_format f = FORMAT_TEXT;

	(void)state;
	assert_int_equal(report_format__parse("json", &f), 0);
	assert_int_equal(f, FORMAT_JSON);
	assert_int_equal(report_format__parse("text", &f), 0);
	assert_int_equal(f, FORMAT_TEXT);
	assert_int_equal(report_format__parse("xml", &f), -EINVAL);
	assert_int_equal(report_format__parse("", &f), -EINVAL);
	assert_int_equal(report_format__parse(NULL, &f), -EINVAL);
}

static void test_format_units(void **state)
{
	char b[ANALYSIS_COUNT_LEN];

	(void)state;
	assert_string_equal(analysis__format_duration(0, b, sizeof(b)), "0ns");
	assert_string_equal(analysis__format_duration(999, b, sizeof(b)), "999ns");
	assert_string_equal(analysis__format_duration(1000, b, sizeof(b)), "1.00us");
	assert_string_equal(analysis__format_duration(12345, b, sizeof(b)), "12.3us");
	assert_string_equal(analysis__format_duration(812000, b, sizeof(b)), "812us");
	assert_string_equal(analysis__format_duration(999600, b, sizeof(b)), "1.00ms");
	assert_string_equal(analysis__format_duration(2050000, b, sizeof(b)), "2.05ms");
	assert_string_equal(analysis__format_duration(1200000000, b, sizeof(b)), "1.20s");
	assert_string_equal(analysis__format_duration(3600 * S, b, sizeof(b)), "3600s");
	assert_string_equal(analysis__format_count(0, b, sizeof(b)), "0");
	assert_string_equal(analysis__format_count(999, b, sizeof(b)), "999");
	assert_string_equal(analysis__format_count(1234, b, sizeof(b)), "1,234");
	assert_string_equal(analysis__format_count(1234567, b, sizeof(b)), "1,234,567");
	assert_string_equal(analysis__format_count(UINT64_MAX, b, sizeof(b)),
			    "18,446,744,073,709,551,615");
}

static void test_derive_and_impact(void **state)
{
	struct report_function f = {0};

	(void)state;
	fixture_add_series(&f, 100, 1 * MS, 10000); /* 1.00 .. 1.99 ms */
	analysis__derive_function(&f, 10 * f.total_ns);
	assert_int_equal(f.avg_ns, f.total_ns / 100);
	assert_in_range(f.p50_ns, 1.48 * MS, 1.52 * MS);
	assert_in_range(f.p90_ns, 1.87 * MS, 1.93 * MS);
	assert_in_range(f.p99_ns, 1.96 * MS, 1.99 * MS);
	assert_true(f.impact > 0.0999 && f.impact < 0.1001);
	/* Nested or clock-skewed totals above the denominator clamp to 1. */
	analysis__derive_function(&f, f.total_ns / 2);
	assert_true(f.impact == 1.0);
	assert_int_equal(f.severity, SEVERITY_CRITICAL);
	/* No thread time known: impact 0, not a division by zero. */
	analysis__derive_function(&f, 0);
	assert_true(f.impact == 0.0);
	assert_int_equal(f.severity, SEVERITY_LOW);
}

/* A recursive function's inner calls lie inside its outer ones: impact counts inside_ns, not
 * total_ns. */
static void test_recursive_impact_uses_inside_time(void **state)
{
	struct report_function f = {0};

	(void)state;
	/* recurse(1) ten times: outer calls of 2 ms each containing an inner call of 1 ms. */
	for (int i = 0; i < 10; i++) {
		fixture_add_sample(&f, 2 * MS);
		fixture_add_sample(&f, 1 * MS);
	}
	f.inside_ns = 10 * 2 * MS;
	analysis__derive_function(&f, 100 * MS);
	assert_int_equal(f.avg_ns, 1.5 * MS);
	assert_true(f.impact > 0.1999 && f.impact < 0.2001);
}

static void test_zero_call_function(void **state)
{
	struct report *r = report__new();
	struct report_function *f;

	(void)state;
	assert_non_null(r);
	r->traced_thread_ns = S;
	f = report__add_function(r, "/bin/x", "idle", 0x10);
	assert_non_null(f);
	report__finish(r);
	f = &r->functions[0];
	assert_int_equal(r->n_functions, 1);
	assert_int_equal(f->avg_ns, 0);
	assert_int_equal(f->p50_ns, 0);
	assert_int_equal(f->p99_ns, 0);
	assert_true(f->impact == 0.0);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
}

static void test_sort_and_interval_remap(void **state)
{
	struct report *r = fixture_model();
	size_t i, j;

	(void)state;
	assert_non_null(r);
	/* A tie on impact is broken by total_ns: both at impact 1 after clamping. */
	fixture_function(r, "/usr/bin/app", "tie_small", 0x1300);
	fixture_function(r, "/usr/bin/app", "tie_big", 0x1400);
	fixture_add_series(&r->functions[3], 1, 300 * MS, 0);
	fixture_add_series(&r->functions[4], 1, 400 * MS, 0);
	report__finish(r);
	assert_string_equal(r->functions[0].name, "tie_big");
	assert_string_equal(r->functions[1].name, "tie_small");
	assert_string_equal(r->functions[2].name, "slow_io");
	assert_string_equal(r->functions[3].name, "fast_hash");
	assert_string_equal(r->functions[4].name, "never_called");
	for (i = 1; i < r->n_functions; i++)
		assert_true(r->functions[i - 1].impact >= r->functions[i].impact);
	/* The intervals still name the same functions. */
	assert_string_equal(r->functions[r->intervals[0].funcs[0].func].name, "slow_io");
	assert_string_equal(r->functions[r->intervals[0].funcs[1].func].name, "fast_hash");
	assert_string_equal(r->functions[r->intervals[1].funcs[0].func].name, "slow_io");
	assert_string_equal(r->functions[r->intervals[1].funcs[1].func].name, "never_called");
	for (i = 0; i < r->n_intervals; i++)
		for (j = 0; j < r->intervals[i].n_funcs; j++)
			assert_true(r->intervals[i].funcs[j].func < r->n_functions);
	/* Bottlenecks sorted by impact, descending. */
	for (i = 1; i < r->n_bottlenecks; i++)
		assert_true(r->bottlenecks[i - 1].impact >= r->bottlenecks[i].impact);
	report__free(r);
}

static void test_bottleneck_description(void **state)
{
	struct report *r = fixture_model();
	const struct report_bottleneck *b;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	/* slow_io is the only function above the threshold; fast_hash (1.6%) is not. */
	assert_int_equal(r->n_bottlenecks, 1);
	b = find_bottleneck(r, "slow_io");
	assert_non_null(b);
	assert_string_equal(b->kind, "function");
	assert_string_equal(b->target, "slow_io (/usr/bin/app)");
	assert_int_equal(b->pid, 1234);
	assert_int_equal(b->severity, SEVERITY_HIGH);
	assert_string_equal(b->description, "slow_io in /usr/bin/app takes 42.9% of traced thread "
					    "time (50 calls, p50 2.14ms, p99 2.29ms)");
	assert_true(evidence(b, "count") == 50);
	assert_true(evidence(b, "total_ns") == 107350000);
	assert_true(evidence(b, "avg_ns") == 2147000);
	assert_true(evidence(b, "p50_ns") == (double)r->functions[0].p50_ns);
	assert_true(evidence(b, "p99_ns") == 2294000);
	assert_true(evidence(b, "impact") == r->functions[0].impact);
	/* Flat latencies, few calls: only the generic advice. */
	assert_int_equal(b->n_recommendations, 1);
	assert_true(recommends(b, "largest share of time"));
	/* Finishing twice rebuilds rather than duplicates. */
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 1);
	report__free(r);
}

/* A report with one function at the given thread time, filled by fill(). */
static struct report *one_function(uint64_t thread_ns, uint64_t duration_ns,
				   void (*fill)(struct report_function *))
{
	struct report *r = report__new();

	assert_non_null(r);
	r->traced_thread_ns = thread_ns;
	r->duration_ns = duration_ns;
	assert_non_null(report__add_function(r, "/usr/bin/app", "f", 0x1000));
	fill(&r->functions[0]);
	report__finish(r);
	return r;
}

static void fill_tail(struct report_function *f)
{
	fixture_add_series(f, 90, 1 * MS, 0);
	fixture_add_series(f, 10, 20 * MS, 0);
}

static void fill_tail_few_calls(struct report_function *f)
{
	fixture_add_series(f, 15, 1 * MS, 0);
	fixture_add_series(f, 4, 20 * MS, 0);
}

static void fill_hot(struct report_function *f)
{
	fixture_add_series(f, 200000, 2000, 0);
}

static void test_rule_tail_latency(void **state)
{
	struct report *r = one_function(S, S, fill_tail);

	(void)state;
	assert_int_equal(r->n_bottlenecks, 1);
	assert_true(recommends(&r->bottlenecks[0], "p99 is 20.0x p50"));
	assert_false(recommends(&r->bottlenecks[0], "largest share"));
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
	/* The same shape over fewer than 20 calls is not evidence enough. */
	r = one_function(S, S, fill_tail_few_calls);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_false(recommends(&r->bottlenecks[0], "p99 is"));
	assert_true(recommends(&r->bottlenecks[0], "largest share"));
	report__free(r);
}

static void test_rule_hot_function(void **state)
{
	struct report *r = one_function(S, S, fill_hot);

	(void)state;
	assert_int_equal(r->n_bottlenecks, 1);
	assert_true(recommends(&r->bottlenecks[0], "called 200,000 times/s at avg 2.00us"));
	assert_false(recommends(&r->bottlenecks[0], "largest share"));
	report__free(r);
	/* Same calls spread over 1000 s: 200/s is not hot. */
	r = one_function(S, 1000 * S, fill_hot);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
	/* Unknown duration: no rate, no hot rule, no crash. */
	r = one_function(S, 0, fill_hot);
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
}

static void test_bottleneck_threshold(void **state)
{
	struct report *r;

	(void)state;
	/* fill_hot totals 400 ms: exactly 5% of 8 s is not a bottleneck ... */
	r = one_function(8 * S, S, fill_hot);
	assert_true(r->functions[0].impact == ANALYSIS_BOTTLENECK_MIN_IMPACT);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* ... slightly more is. */
	r = one_function(8 * S - 1000, S, fill_hot);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_LOW);
	assert_int_equal(r->bottlenecks[0].pid, 0);
	report__free(r);
}

static void test_overhead_copies(void **state)
{
	struct report *r = fixture_model();

	(void)state;
	assert_non_null(r);
	assert_int_equal(r->overhead.n_programs, 2);
	assert_string_equal(r->overhead.programs[0].name, "handle_uprobe");
	assert_int_equal(r->overhead.programs[1].runs, 234);
	assert_int_equal(r->overhead.n_drops, 2);
	assert_string_equal(r->overhead.drops[0].cause, "unmatched_return");
	assert_int_equal(r->overhead.drops[0].count, 12);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_and_free),
	    cmocka_unit_test(test_severity),
	    cmocka_unit_test(test_format_parse),
	    cmocka_unit_test(test_format_units),
	    cmocka_unit_test(test_derive_and_impact),
	    cmocka_unit_test(test_recursive_impact_uses_inside_time),
	    cmocka_unit_test(test_zero_call_function),
	    cmocka_unit_test(test_sort_and_interval_remap),
	    cmocka_unit_test(test_bottleneck_description),
	    cmocka_unit_test(test_rule_tail_latency),
	    cmocka_unit_test(test_rule_hot_function),
	    cmocka_unit_test(test_bottleneck_threshold),
	    cmocka_unit_test(test_overhead_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
