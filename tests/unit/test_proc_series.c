/* Unit tests for per-process counter tables and their interval deltas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "proc_series.h"

static void add(struct proc_table *t, int pid, uint64_t oncpu, uint64_t calls)
{
	struct report_interval_proc *row = proc_table__row(t, pid);

	assert_non_null(row);
	row->oncpu_ns += oncpu;
	row->syscall_calls += calls;
}

static void test_merge_and_delta(void **state)
{
	struct proc_table prev = {0}, cur = {0};
	struct report_interval_proc *d;
	size_t n;

	(void)state;
	/* Threads of one pid arrive scattered: merged into one row, ascending pid. */
	add(&prev, 20, 100, 1);
	add(&prev, 10, 50, 0);
	add(&prev, 20, 100, 1);
	assert_int_equal(proc_table__finish(&prev), 0);
	assert_int_equal(prev.n, 2);
	assert_int_equal(prev.rows[0].pid, 10);
	assert_int_equal(prev.rows[1].oncpu_ns, 200);
	assert_int_equal(prev.rows[1].syscall_calls, 2);

	add(&cur, 30, 7, 7);   /* new: counts from zero */
	add(&cur, 20, 250, 2); /* +50 on-CPU, no new calls */
	add(&cur, 10, 50, 0);  /* idle: left out */
	add(&cur, 40, 0, 0);   /* nothing at all: left out */
	assert_int_equal(proc_table__finish(&cur), 0);
	assert_int_equal(proc_table__delta(&cur, &prev, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].pid, 20);
	assert_int_equal(d[0].oncpu_ns, 50);
	assert_int_equal(d[0].syscall_calls, 0);
	assert_int_equal(d[1].pid, 30);
	assert_int_equal(d[1].oncpu_ns, 7);
	free(d);

	/* A counter that went down (pid reused) counts from zero, not as a huge delta. */
	proc_table__reset(&cur);
	add(&cur, 20, 5, 0);
	assert_int_equal(proc_table__finish(&cur), 0);
	assert_int_equal(proc_table__delta(&cur, &prev, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].oncpu_ns, 5);
	free(d);

	/* Nothing at all. */
	proc_table__reset(&cur);
	assert_int_equal(proc_table__delta(&cur, &prev, &d, &n), 0);
	assert_null(d);
	assert_int_equal(n, 0);
	proc_table__free(&cur);
	proc_table__free(&prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_and_delta),
	};

	return cmocka_run_group_tests_name("proc_series", tests, NULL, NULL);
}
