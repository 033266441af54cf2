/* Unit tests for the on-CPU analysis (user/analysis_cpu.c): self vs total samples, merging,
 * impact on the thread-time scale, the cpu_hotspot finding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analysis.h"
#include "report.h"

#define PERIOD_NS 1000000ull /* 1000 Hz */

static struct report_cpu *add(struct report *r, int tid, uint64_t samples,
			      const char *const *kernel, size_t nk, const char *const *user,
			      size_t nu)
{
	struct report_cpu *c = report__add_cpu(r, 100, tid, "app");

	assert_non_null(c);
	c->samples = samples;
	assert_int_equal(report_stack__set(&c->kernel_stack, kernel, nk, false), 0);
	assert_int_equal(report_stack__set(&c->user_stack, user, nu, false), 0);
	return c;
}

static struct report *model(uint64_t scale)
{
	static const char *const leaf[] = {"leaf", "mid", "main"};
	static const char *const mid[] = {"mid", "main"};
	static const char *const rec[] = {"rec", "rec", "rec", "main"};
	static const char *const kwrite[] = {"copy_user", "vfs_write"};
	struct report *r = report__new();

	assert_non_null(r);
	r->cpu_enabled = true;
	r->cpu_frequency_hz = 1000;
	r->cpu_period_ns = PERIOD_NS;
	r->duration_ns = 100 * scale * PERIOD_NS; /* thread time without other collectors */
	add(r, 100, 6 * scale, NULL, 0, leaf, 3);
	add(r, 100, 3 * scale, NULL, 0, mid, 2);
	add(r, 100, 1 * scale, kwrite, 2, leaf, 3); /* in the kernel, called from leaf */
	add(r, 101, 2 * scale, NULL, 0, rec, 4);    /* recursion counts once per sample */
	add(r, 100, 4 * scale, NULL, 0, leaf, 3);   /* same frames as the first: merged */
	return r;
}

static const struct report_cpu_function *fn(const struct report *r, const char *name, bool kernel)
{
	for (size_t i = 0; i < r->n_cpu_functions; i++)
		if (!strcmp(r->cpu_functions[i].name, name) && r->cpu_functions[i].kernel == kernel)
			return &r->cpu_functions[i];
	fail_msg("no function %s", name);
	return NULL;
}

static void test_self_and_total(void **state)
{
	struct report *r = model(1);

	(void)state;
	report__finish(r);
	/* 16 samples in all; the two identical leaf stacks are one entry of 10. */
	assert_int_equal(analysis__cpu_samples(r), 16);
	assert_int_equal(r->n_cpu, 4);
	assert_int_equal(r->cpu[0].samples, 10);
	assert_int_equal(r->cpu[0].oncpu_ns, 10 * PERIOD_NS);
	assert_true(r->cpu[0].impact > 0.099 && r->cpu[0].impact < 0.101);
	/* Self: the innermost frame, the kernel one when the sample hit the kernel. */
	assert_int_equal(fn(r, "leaf", false)->self_samples, 10);
	assert_int_equal(fn(r, "mid", false)->self_samples, 3);
	assert_int_equal(fn(r, "copy_user", true)->self_samples, 1);
	assert_int_equal(fn(r, "rec", false)->self_samples, 2);
	assert_int_equal(fn(r, "main", false)->self_samples, 0);
	/* Total: anywhere on either stack, once per sample. */
	assert_int_equal(fn(r, "main", false)->total_samples, 16);
	assert_int_equal(fn(r, "mid", false)->total_samples, 14);
	assert_int_equal(fn(r, "leaf", false)->total_samples, 11);
	assert_int_equal(fn(r, "vfs_write", true)->total_samples, 1);
	assert_int_equal(fn(r, "rec", false)->total_samples, 2);
	assert_int_equal(fn(r, "leaf", false)->self_ns, 10 * PERIOD_NS);
	assert_int_equal(fn(r, "main", false)->total_ns, 16 * PERIOD_NS);
	/* Sorted by self samples, then total. */
	assert_string_equal(r->cpu_functions[0].name, "leaf");
	assert_string_equal(r->cpu_functions[1].name, "mid");
	assert_string_equal(r->cpu_functions[2].name, "rec");
	for (size_t i = 1; i < r->n_cpu_functions; i++)
		assert_true(r->cpu_functions[i - 1].self_samples >=
			    r->cpu_functions[i].self_samples);
	/* A function seen in one process only names it. */
	assert_int_equal(fn(r, "leaf", false)->pid, 100);
	report__free(r);
}

/* The impact scale is analysis__thread_time(): with the scheduler on, its thread time. */
static void test_impact_scale(void **state)
{
	struct report *r = model(10);
	struct report_thread_sched *t;

	(void)state;
	r->sched_enabled = true;
	t = report__add_sched(r, 100, 100, "app");
	t->wall_ns = 400 * PERIOD_NS;
	t = report__add_sched(r, 100, 101, "app");
	t->wall_ns = 600 * PERIOD_NS;
	report__finish(r);
	/* leaf: 100 samples of 1 ms over 1 s of thread time. */
	assert_true(fn(r, "leaf", false)->self_impact > 0.0999 &&
		    fn(r, "leaf", false)->self_impact < 0.1001);
	assert_true(fn(r, "main", false)->total_impact > 0.1599 &&
		    fn(r, "main", false)->total_impact < 0.1601);
	report__free(r);
}

static const struct report_bottleneck *finding(const struct report *r, const char *target)
{
	for (size_t i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, "cpu_hotspot") &&
		    strstr(r->bottlenecks[i].target, target))
			return &r->bottlenecks[i];
	return NULL;
}

/*
 * Hotspots: at least 20 self samples and over 5% of thread time. Over 1 s of
 * thread time leaf (100 samples of 1 ms: 10%) is one and mid (30: 3%) is not;
 * with half the thread time mid is 6% and is one too.
 */
static void test_hotspot_rule(void **state)
{
	const struct report_bottleneck *b;
	struct report *r = model(10);

	(void)state;
	assert_int_equal(report__add_cpu_line(r, "leaf", "/usr/bin/app", "/src/app.c", 42, 80), 0);
	report__finish(r);
	b = finding(r, "leaf");
	assert_non_null(b);
	assert_true(b->impact > 0.0999 && b->impact < 0.1001);
	assert_int_equal(b->pid, 100);
	assert_string_equal(b->target, "leaf (/usr/bin/app)");
	assert_non_null(strstr(b->recommendations[0], "80% of its samples are at app.c:42"));
	assert_null(finding(r, "mid"));
	assert_null(finding(r, "rec")); /* 20 samples, but 2% */
	report__free(r);

	r = model(10);
	r->duration_ns /= 2;
	report__finish(r);
	assert_non_null(finding(r, "mid"));
	assert_null(finding(r, "copy_user")); /* 10 samples: too few to judge */
	report__free(r);
}

/* A function whose stacks lost their callers says so, and how to fix it. */
static void test_incomplete_recommendation(void **state)
{
	static const char *const spin[] = {"spin"};
	struct report *r = report__new();
	const struct report_bottleneck *b;
	struct report_cpu *c;

	(void)state;
	r->cpu_enabled = true;
	r->cpu_period_ns = PERIOD_NS;
	r->duration_ns = 100 * PERIOD_NS;
	c = add(r, 7, 90, NULL, 0, spin, 1);
	c->user_incomplete = true;
	report__finish(r);
	b = finding(r, "spin");
	assert_non_null(b);
	assert_non_null(
	    strstr(b->recommendations[b->n_recommendations - 1], "-fno-omit-frame-pointer"));
	report__free(r);
}

/* Without --cpu nothing is derived and nothing is found. */
static void test_off(void **state)
{
	struct report *r = report__new();

	(void)state;
	report__finish(r);
	assert_int_equal(r->n_cpu_functions, 0);
	assert_int_equal(analysis__cpu_samples(r), 0);
	report__free(r);
}

/*
 * Code without a symbol is one row per module: samples at two addresses of
 * the vdso's unnamed clock code are one [vdso] function, and two addresses in
 * a stripped library are one "[unknown] in libfoo.so"; the entries keep their
 * addresses.
 */
static void test_unnamed_code_one_row_per_module(void **state)
{
	static const char *const a[] = {"[vdso]+0x7bb", "clock_gettime", "main"};
	static const char *const b[] = {"[vdso]+0x7fc", "clock_gettime", "main"};
	static const char *const c[] = {"libfoo.so+0x1200", "libfoo.so+0x3400", "main"};
	static const char *const d[] = {"libfoo.so+0x1280", "main"};
	struct report *r = report__new();

	(void)state;
	assert_non_null(r);
	r->cpu_enabled = true;
	r->cpu_frequency_hz = 1000;
	r->cpu_period_ns = PERIOD_NS;
	r->duration_ns = 100 * PERIOD_NS;
	add(r, 100, 7, NULL, 0, a, 3);
	add(r, 100, 5, NULL, 0, b, 3);
	add(r, 100, 3, NULL, 0, c, 3);
	add(r, 100, 2, NULL, 0, d, 2);
	report__finish(r);
	assert_int_equal(fn(r, "[vdso]", false)->self_samples, 12);
	assert_int_equal(fn(r, "[vdso]", false)->total_samples, 12);
	assert_int_equal(fn(r, "[unknown] in libfoo.so", false)->self_samples, 5);
	/* Two frames of one module in one stack count once in its total. */
	assert_int_equal(fn(r, "[unknown] in libfoo.so", false)->total_samples, 5);
	for (size_t i = 0; i < r->n_cpu_functions; i++)
		assert_null(strstr(r->cpu_functions[i].name, "+0x"));
	/* The entries keep the addresses: a single stack shows where it was. */
	assert_int_equal(r->n_cpu, 4);
	for (size_t i = 0; i < r->n_cpu; i++)
		assert_non_null(strstr(r->cpu[i].user_stack.frames[0], "+0x"));
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unnamed_code_one_row_per_module),
	    cmocka_unit_test(test_self_and_total),
	    cmocka_unit_test(test_impact_scale),
	    cmocka_unit_test(test_hotspot_rule),
	    cmocka_unit_test(test_incomplete_recommendation),
	    cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests_name("analysis_cpu", tests, NULL, NULL);
}
