/* Unit tests: snag selftest's judging of checks, and its results as text and JSON. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "selftest.h"

static struct selftest_check check(enum selftest_tolerance t, double expected, double measured)
{
	struct selftest_check c = {
	    .group = "function",
	    .name = "calls",
	    .unit = SELFTEST_COUNT,
	    .tolerance = t,
	    .expected = expected,
	    .measured = measured,
	};

	selftest_check__judge(&c);
	return c;
}

static void test_judge_exact_and_at_least(void **state)
{
	(void)state;
	assert_true(check(SELFTEST_EXACT, 50, 50).pass);
	assert_false(check(SELFTEST_EXACT, 50, 51).pass);
	assert_false(check(SELFTEST_EXACT, 50, 49).pass);
	assert_true(check(SELFTEST_EXACT, 0, 0).pass);
	assert_false(check(SELFTEST_EXACT, 0, 1).pass);
	assert_true(check(SELFTEST_AT_LEAST, 200, 200).pass);
	assert_true(check(SELFTEST_AT_LEAST, 200, 203).pass);
	assert_false(check(SELFTEST_AT_LEAST, 200, 199).pass);
	/* Not measured never passes, whatever the tolerance. */
	assert_false(check(SELFTEST_EXACT, 0, NAN).pass);
	assert_false(check(SELFTEST_AT_LEAST, 0, NAN).pass);
}

static void test_judge_range(void **state)
{
	struct selftest_check c = {
	    .tolerance = SELFTEST_RANGE,
	    .below = 0,
	    .above = 0.15,
	    .expected = 2000000,
	};

	(void)state;
	/* -0%/+15% of 2 ms: 2.0 ms passes, a nanosecond less fails, 2.3 ms is the top. */
	c.measured = 2000000;
	selftest_check__judge(&c);
	assert_true(c.pass);
	c.measured = 1999999;
	selftest_check__judge(&c);
	assert_false(c.pass);
	c.measured = 2300000;
	selftest_check__judge(&c);
	assert_true(c.pass);
	c.measured = 2300001;
	selftest_check__judge(&c);
	assert_false(c.pass);
	c.measured = NAN;
	selftest_check__judge(&c);
	assert_false(c.pass);
	c.below = 0.01;
	c.measured = 1980000;
	selftest_check__judge(&c);
	assert_true(c.pass);
	c.measured = 1979999;
	selftest_check__judge(&c);
	assert_false(c.pass);
}

static void test_error(void **state)
{
	struct selftest_check c = check(SELFTEST_EXACT, 50, 51);

	(void)state;
	assert_float_equal(selftest_check__error(&c), 0.02, 1e-12);
	c = check(SELFTEST_EXACT, 0, 3);
	assert_true(isnan(selftest_check__error(&c)));
	c = check(SELFTEST_EXACT, 50, NAN);
	assert_true(isnan(selftest_check__error(&c)));
	c = check(SELFTEST_EXACT, 1, 1);
	c.unit = SELFTEST_PRESENCE;
	assert_true(isnan(selftest_check__error(&c)));
}

/* A result with a passing check, a tiny failing one, a failed workload and costs. */
static void fill_result(struct selftest_result *r, struct selftest_check *checks,
			struct selftest_cost *costs)
{
	checks[0] = (struct selftest_check){.group = "function",
					    .name = "p50 latency",
					    .unit = SELFTEST_NS,
					    .tolerance = SELFTEST_RANGE,
					    .above = 0.15,
					    .expected = 2000000,
					    .measured = 2064000};
	checks[1] = (struct selftest_check){.group = "syscall",
					    .name = "write() calls",
					    .unit = SELFTEST_COUNT,
					    .tolerance = SELFTEST_EXACT,
					    .expected = 10000,
					    .measured = 10001};
	checks[2] = (struct selftest_check){.group = "block",
					    .name = "write requests",
					    .unit = SELFTEST_COUNT,
					    .tolerance = SELFTEST_AT_LEAST,
					    .expected = 200,
					    .measured = NAN,
					    .reason = strdup("'/dev/shm/x' is on tmpfs")};
	checks[3] = (struct selftest_check){.group = "block",
					    .name = "bytes written",
					    .unit = SELFTEST_BYTES,
					    .tolerance = SELFTEST_AT_LEAST,
					    .expected = 819200,
					    .measured = NAN,
					    .reason = strdup("'/dev/shm/x' is on tmpfs")};
	for (int i = 0; i < 4; i++) {
		selftest_check__judge(&checks[i]);
		r->passed += checks[i].pass;
		r->failed += !checks[i].pass;
	}
	costs[0] = (struct selftest_cost){.workload = "function",
					  .events = 100,
					  .bpf_run_time_ns = 35000,
					  .untraced_ns = 100000000,
					  .traced_ns = 101000000};
	costs[1] = (struct selftest_cost){.workload = "block"};
	r->binary = strdup("/usr/bin/snag");
	r->checks = checks;
	r->n_checks = 4;
	r->costs = costs;
	r->n_costs = 2;
	r->total_ns = 1234000000;
	r->cpu_pressure = 0.85;
}

static char *render(const struct selftest_result *r, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(json ? selftest__render_json(r, m) : selftest__render_text(r, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void assert_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" not in:\n%s", needle, text);
}

static void free_result(struct selftest_result *r)
{
	for (size_t i = 0; i < r->n_checks; i++)
		free(r->checks[i].reason);
	free(r->binary);
}

static void test_render_text(void **state)
{
	struct selftest_check checks[4];
	struct selftest_cost costs[2];
	struct selftest_result r = {0};
	char *text;

	(void)state;
	fill_result(&r, checks, costs);
	text = render(&r, false);
	assert_contains(text, "traced by /usr/bin/snag");
	assert_contains(text, "GROUP     CHECK");
	/* Expected, measured, error, tolerance and result, in units. */
	assert_contains(text, "2.00ms     2.06ms   +3.2%  -0%/+15%  PASS\n");
	/* One call too many is a failure, and its error is not rounded away to 0.0%. */
	assert_contains(text, "10,000     10,001  +0.01%  exact     FAIL\n");
	assert_contains(text, "819,200B          -       -  at least  FAIL\n");
	/* The reason is said once for its group. */
	assert_contains(text, "Not measured:\n  block: '/dev/shm/x' is on tmpfs\n\n");
	assert_null(strstr(strstr(text, "block: '/dev/shm") + 1, "block: '/dev/shm"));
	assert_contains(
	    text, "function         100      350ns     35.0us      100ms      101ms     +1.0%");
	assert_contains(
	    text, "block              -          -          -          -          -         -");
	assert_contains(text, "Total time 1.23s: 4 checks, 1 passed, 3 failed\n");
	/* A busy machine is named as such: timing failures may be its doing. */
	assert_contains(text, "Note: the CPUs were busy.");
	assert_contains(text, "CPU\n85% of the time (/proc/pressure/cpu)");
	free(text);
	r.cpu_pressure = 0.02;
	text = render(&r, false);
	assert_null(strstr(text, "Note:"));
	free(text);
	free_result(&r);
}

static void test_render_json(void **state)
{
	struct selftest_check checks[4];
	struct selftest_cost costs[2];
	struct selftest_result r = {0};
	json_error_t jerr;
	json_t *root, *c;
	char *text;

	(void)state;
	fill_result(&r, checks, costs);
	text = render(&r, true);
	root = json_loads(text, 0, &jerr);
	if (!root)
		fail_msg("not JSON: %s\n%s", jerr.text, text);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "snag-selftest/1");
	assert_int_equal(json_integer_value(json_object_get(root, "passed")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "failed")), 3);
	assert_int_equal(json_integer_value(json_object_get(root, "total_ns")), 1234000000);
	assert_float_equal(json_real_value(json_object_get(root, "cpu_pressure")), 0.85, 1e-9);
	c = json_array_get(json_object_get(root, "checks"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "unit")), "ns");
	assert_int_equal(json_integer_value(json_object_get(c, "measured")), 2064000);
	assert_string_equal(json_string_value(json_object_get(c, "tolerance")), "range");
	assert_float_equal(json_real_value(json_object_get(c, "above")), 0.15, 1e-9);
	assert_string_equal(json_string_value(json_object_get(c, "result")), "PASS");
	assert_true(json_is_null(json_object_get(c, "reason")));
	c = json_array_get(json_object_get(root, "checks"), 2);
	assert_true(json_is_null(json_object_get(c, "measured")));
	assert_true(json_is_null(json_object_get(c, "error")));
	assert_string_equal(json_string_value(json_object_get(c, "result")), "FAIL");
	assert_string_equal(json_string_value(json_object_get(c, "reason")),
			    "'/dev/shm/x' is on tmpfs");
	c = json_array_get(json_object_get(root, "costs"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "bpf_ns_per_event")), 350);
	assert_float_equal(json_real_value(json_object_get(c, "slowdown")), 0.01, 1e-9);
	c = json_array_get(json_object_get(root, "costs"), 1);
	assert_true(json_is_null(json_object_get(c, "bpf_ns_per_event")));
	assert_true(json_is_null(json_object_get(c, "slowdown")));
	json_decref(root);
	free(text);
	free_result(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_judge_exact_and_at_least),
	    cmocka_unit_test(test_judge_range),
	    cmocka_unit_test(test_error),
	    cmocka_unit_test(test_render_text),
	    cmocka_unit_test(test_render_json),
	};

	return cmocka_run_group_tests_name("selftest", tests, NULL, NULL);
}
