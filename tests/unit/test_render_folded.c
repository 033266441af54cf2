/* Unit tests: the folded renderer (off-CPU stacks for flamegraph.pl, inferno, speedscope). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model_fixture.h"
#include "report.h"

/* Render r as folded lines into a new string (and check the call succeeded). */
static char *render_folded(const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, FORMAT_FOLDED, NULL, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void test_two_entries(void **state)
{
	static const char *const kernel[] = {"schedule", "futex_wait", NULL};
	static const char *const user[] = {"pthread_mutex_lock", "handle", "main", NULL};
	static const char *const preempt_k[] = {"preempt_schedule_irq", NULL};
	static const char *const spin_u[] = {"spin", "main", NULL};
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_non_null(r);
	assert_int_equal(
	    fixture_offcpu(r, 10, 11, "myapp", OFFCPU_BLOCKED, 3, 1234400, 900000, kernel, user),
	    0);
	assert_int_equal(
	    fixture_offcpu(r, 10, 12, "myapp", OFFCPU_PREEMPTED, 1, 1500, 1500, preempt_k, spin_u),
	    1);
	report__finish(r);
	text = render_folded(r);
	/* Root frame, comm, user frames then kernel frames outermost first, microseconds. */
	assert_string_equal(text, "offcpu-blocked;myapp;main;handle;pthread_mutex_lock;"
				  "futex_wait_[k];schedule_[k] 1234\n"
				  "offcpu-preempted;myapp;main;spin;preempt_schedule_irq_[k] 2\n");
	free(text);
	report__free(r);
}

static void test_sanitize_and_round(void **state)
{
	static const char *const kernel[] = {"k;ern\nel", NULL};
	static const char *const user[] = {"operator() const", "trail  ", "a;b", "", NULL};
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_non_null(r);
	/* 400 ns rounds to 0 us: written as 1 so the entry stays visible. */
	fixture_offcpu(r, 1, 1, "we;ird comm", OFFCPU_BLOCKED, 1, 400, 400, kernel, user);
	/* 0 ns, no stacks at all and no comm; 2,499 ns rounds down. */
	fixture_offcpu(r, 2, 2, NULL, OFFCPU_BLOCKED, 1, 0, 0, NULL, NULL);
	fixture_offcpu(r, 3, 3, "x", OFFCPU_BLOCKED, 1, 2499, 2499, NULL, NULL);
	text = render_folded(r);
	/* Inner spaces stay; ';', newlines and trailing spaces become '_'; empty names too. */
	assert_string_equal(text, "offcpu-blocked;we_ird comm;[unknown];a_b;trail__;operator() "
				  "const;k_ern_el_[k] 1\n"
				  "offcpu-blocked;[unknown] 1\n"
				  "offcpu-blocked;x 2\n");
	free(text);
	report__free(r);
}

static void test_sched_model_order(void **state)
{
	struct report *r = fixture_sched_model();
	char *text, *nl;
	int lines = 0;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	text = render_folded(r);
	/* One line per entry, in the report's order (impact), each ending in its value. */
	for (nl = text; (nl = strchr(nl, '\n')); nl++)
		lines++;
	assert_int_equal(lines, 4);
	assert_int_equal(strncmp(text, "offcpu-blocked;worker;start_thread;worker_main;", 47), 0);
	assert_non_null(strstr(text, ";futex_wait_queue_[k];schedule_[k];__schedule_[k] 640000\n"
				     "offcpu-blocked;app;main;poll_loop;"));
	assert_non_null(strstr(text, "\noffcpu-preempted;busy;main;spin;irqentry_exit_[k];"
				     "preempt_schedule_irq_[k];__schedule_[k] 300000\n"));
	/* The waker's stack is not part of the line. */
	assert_null(strstr(text, "futex_wake"));
	free(text);
	report__free(r);
}

/* On-CPU entries follow with their own root frame, in the same unit (samples x period, in us). */
static void test_oncpu_lines(void **state)
{
	static const char *const kernel[] = {"copy_user", "vfs_write"};
	static const char *const user[] = {"write_all", "main"};
	static const char *const spin[] = {"spin"};
	struct report *r = report__new();
	struct report_cpu *c;
	char *text;

	(void)state;
	assert_non_null(r);
	r->cpu_enabled = true;
	r->cpu_period_ns = 20408163; /* 49 Hz */
	c = report__add_cpu(r, 10, 11, "myapp");
	c->samples = 3;
	assert_int_equal(report_stack__set(&c->kernel_stack, kernel, 2, false), 0);
	assert_int_equal(report_stack__set(&c->user_stack, user, 2, false), 0);
	c = report__add_cpu(r, 10, 12, "myapp");
	c->samples = 1;
	c->user_incomplete = true;
	assert_int_equal(report_stack__set(&c->user_stack, spin, 1, false), 0);
	report__finish(r);
	text = render_folded(r);
	assert_string_equal(text, "oncpu;myapp;main;write_all;vfs_write_[k];copy_user_[k] 61224\n"
				  "oncpu;myapp;[callers unknown: no frame pointers];spin 20408\n");
	free(text);
	report__free(r);
}

static void test_nothing_to_fold(void **state)
{
	struct report *r = fixture_model();
	char *text;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	/* Function rows but no off-CPU stacks: no output, no error. */
	text = render_folded(r);
	assert_string_equal(text, "");
	free(text);
	/* Collector on, nothing recorded. */
	assert_non_null(fixture_sched(r, 1, 1, "t", 10, 10, 0, 0, 0, 0));
	report__finish(r);
	text = render_folded(r);
	assert_string_equal(text, "");
	free(text);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_entries),	       cmocka_unit_test(test_oncpu_lines),
	    cmocka_unit_test(test_sanitize_and_round), cmocka_unit_test(test_sched_model_order),
	    cmocka_unit_test(test_nothing_to_fold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
