/* Unit tests: running a child with its output captured, its exit status, and a time limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "subproc.h"

static void test_subproc_output_and_status(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	char *missing[] = {"/nonexistent/prog", NULL};
	struct subproc_result r;

	(void)state;
	assert_int_equal(subproc__run(argv, 5000, &r), 0);
	assert_int_equal(r.status, 3);
	assert_false(r.timed_out);
	assert_string_equal(r.output, "out\nerr\n");
	free(r.output);
	assert_int_equal(subproc__run(missing, 5000, &r), 0);
	assert_int_equal(r.status, 127);
	assert_non_null(strstr(r.output, "/nonexistent/prog"));
	free(r.output);
}

static void test_subproc_timeout(void **state)
{
	char *argv[] = {"/bin/sleep", "10", NULL};
	struct subproc_result r;
	struct timespec a, b;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(subproc__run(argv, 200, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(r.timed_out);
	assert_int_equal(r.status, 128 + 9);
	assert_true(b.tv_sec - a.tv_sec < 5);
	free(r.output);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subproc_output_and_status),
	    cmocka_unit_test(test_subproc_timeout),
	};

	return cmocka_run_group_tests_name("subproc", tests, NULL, NULL);
}
