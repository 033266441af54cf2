/* Unit tests: snag diff's comparison rules and noise guard on synthetic reports, and its output. */
#include <errno.h>
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
#include "diff.h"
#include "errors.h"
#include "model_fixture.h"
#include "report.h"

#define US  1000ULL
#define MS  1000000ULL
#define SEC 1000000000ULL

static const struct diff_opts defaults = {DIFF_DEFAULT_THRESHOLD, DIFF_DEFAULT_MIN_COUNT};

/* An empty report of the given length. */
static struct report *model(uint64_t duration_ns)
{
	struct report *r = report__new();

	assert_non_null(r);
	r->duration_ns = duration_ns;
	return r;
}

/* A function called n times, each taking v ns (inside_ns = total_ns). */
static void add_func(struct report *r, const char *binary, const char *name, uint64_t n, uint64_t v)
{
	struct report_function *f = report__add_function(r, binary, name, 0x1000);

	assert_non_null(f);
	fixture_add_series(f, n, v, 0);
}

static struct diff *compare_with(struct report *base, struct report *new, const struct diff_opts *o)
{
	struct diff *d = NULL;

	if (diff__compare(base, new, o, &d))
		fail_msg("diff__compare failed: %s", snag_last_error());
	report__free(base);
	report__free(new);
	return d;
}

static struct diff *compare(struct report *base, struct report *new)
{
	return compare_with(base, new, &defaults);
}

/* The entry of verdict v about kind/metric (the only one with that metric), or NULL. */
static const struct diff_entry *find(const struct diff *d, enum diff_verdict v, const char *kind,
				     const char *metric)
{
	const struct diff_entry *found = NULL;

	for (size_t i = 0; i < d->n_entries[v]; i++) {
		const struct diff_entry *e = &d->entries[v][i];

		if (strcmp(e->kind, kind) || strcmp(e->metric, metric))
			continue;
		if (found)
			fail_msg("two %s %s entries", kind, metric);
		found = e;
	}
	return found;
}

static size_t total_entries(const struct diff *d)
{
	return d->n_entries[DIFF_REGRESSION] + d->n_entries[DIFF_IMPROVEMENT] +
	       d->n_entries[DIFF_CHANGE];
}

static void assert_close(double got, double want)
{
	if (fabs(got - want) > fabs(want) * 1e-9 + 1e-9)
		fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- functions ---- */

static void test_identical_reports_have_no_changes(void **state)
{
	struct report *a, *b;
	struct diff *d;

	(void)state;
	a = fixture_full_model();
	b = fixture_full_model();
	d = compare(a, b);
	assert_int_equal(total_entries(d), 0);
	/* Everything was compared: 3 functions, 4 off-CPU stacks, 2 processes, I/O rows. */
	assert_string_equal(d->kinds[0].kind, "function");
	assert_int_equal(d->kinds[0].both, 3);
	assert_string_equal(d->kinds[1].kind, "offcpu");
	assert_int_equal(d->kinds[1].both, 4);
	assert_string_equal(d->kinds[2].kind, "sched");
	assert_int_equal(d->kinds[2].both, 2);
	for (size_t i = 0; i < DIFF_N_KINDS; i++) {
		assert_int_equal(d->kinds[i].only_base, 0);
		assert_int_equal(d->kinds[i].only_new, 0);
	}
	diff__free(d);
}

/* A function twice as slow: avg and p50 regress; p99 only counts from 100 calls. */
static void test_function_latency_regression(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	add_func(a, "/usr/bin/app", "handle", 50, 2 * MS);
	add_func(b, "/usr/bin/app", "handle", 50, 4 * MS);
	d = compare(a, b);
	e = find(d, DIFF_REGRESSION, "function", "p50_ns");
	assert_non_null(e);
	assert_string_equal(e->key, "app:handle");
	assert_string_equal(e->label, "function handle (app)");
	assert_close(e->base, 2 * MS);
	assert_close(e->new, 4 * MS);
	assert_close(e->change, 1.0);
	assert_int_equal(e->base_samples, 50);
	assert_int_equal(e->new_samples, 50);
	e = find(d, DIFF_REGRESSION, "function", "avg_ns");
	assert_non_null(e);
	assert_close(e->base, 2 * MS);
	assert_close(e->new, 4 * MS);
	/* 50 calls: the p99 is one call's worth, not compared. */
	assert_null(find(d, DIFF_REGRESSION, "function", "p99_ns"));
	/* 100 ms/s -> 200 ms/s inside it. */
	e = find(d, DIFF_REGRESSION, "function", "inside_ns_per_s");
	assert_non_null(e);
	assert_close(e->base, 100 * MS);
	assert_close(e->new, 200 * MS);
	assert_int_equal(d->n_entries[DIFF_REGRESSION], 3);
	assert_int_equal(d->n_entries[DIFF_IMPROVEMENT], 0);
	assert_int_equal(d->n_entries[DIFF_CHANGE], 0);
	diff__free(d);
}

static void test_function_p99_needs_100_calls(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct diff *d;

	(void)state;
	add_func(a, "/usr/bin/app", "handle", 100, 100 * US);
	add_func(b, "/usr/bin/app", "handle", 100, 200 * US);
	d = compare(a, b);
	assert_non_null(find(d, DIFF_REGRESSION, "function", "p99_ns"));
	diff__free(d);
}

/* Faster is an improvement, with the same rules. */
static void test_function_improvement(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	add_func(a, "/usr/bin/app", "handle", 40, 10 * MS);
	add_func(b, "/usr/bin/app", "handle", 40, 5 * MS);
	d = compare(a, b);
	assert_int_equal(d->n_entries[DIFF_REGRESSION], 0);
	e = find(d, DIFF_IMPROVEMENT, "function", "p50_ns");
	assert_non_null(e);
	assert_close(e->change, -0.5);
	diff__free(d);
}

/* --min-count: both sides need that many calls. */
static void test_min_count(void **state)
{
	struct report *a, *b;
	struct diff *d;
	struct diff_opts o = defaults;

	(void)state;
	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 19, 1 * MS);
	add_func(b, "/usr/bin/app", "f", 50, 3 * MS);
	d = compare(a, b);
	assert_int_equal(total_entries(d), 0);
	diff__free(d);

	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 20, 1 * MS);
	add_func(b, "/usr/bin/app", "f", 20, 3 * MS);
	d = compare(a, b);
	assert_non_null(find(d, DIFF_REGRESSION, "function", "p50_ns"));
	diff__free(d);

	o.min_count = 21;
	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 20, 1 * MS);
	add_func(b, "/usr/bin/app", "f", 20, 3 * MS);
	d = compare_with(a, b, &o);
	assert_int_equal(total_entries(d), 0);
	diff__free(d);
}

/* --threshold: the relative change must exceed it (exactly 20% does not). */
static void test_threshold(void **state)
{
	struct report *a, *b;
	struct diff *d;
	struct diff_opts o = defaults;

	(void)state;
	/* 5 ms -> 6 ms is exactly +20%: not above it. */
	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 30, 5 * MS);
	add_func(b, "/usr/bin/app", "f", 30, 6 * MS);
	d = compare(a, b);
	assert_null(find(d, DIFF_REGRESSION, "function", "avg_ns"));
	assert_null(find(d, DIFF_REGRESSION, "function", "p50_ns"));
	diff__free(d);

	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 30, 1048576);
	add_func(b, "/usr/bin/app", "f", 30, 1048576 + 220201); /* +21% */
	d = compare(a, b);
	assert_non_null(find(d, DIFF_REGRESSION, "function", "avg_ns"));
	diff__free(d);

	o.threshold = 0.25;
	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 30, 1048576);
	add_func(b, "/usr/bin/app", "f", 30, 1048576 + 220201);
	d = compare_with(a, b, &o);
	assert_null(find(d, DIFF_REGRESSION, "function", "avg_ns"));
	diff__free(d);
}

/* A 1 us -> 3 us change (+200%) is below the 5 us floor; 10 us -> 16 us is not. */
static void test_latency_floor(void **state)
{
	struct report *a, *b;
	struct diff *d;

	(void)state;
	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 1000, 1 * US);
	add_func(b, "/usr/bin/app", "f", 1000, 3 * US);
	d = compare(a, b);
	assert_null(find(d, DIFF_REGRESSION, "function", "p50_ns"));
	assert_null(find(d, DIFF_REGRESSION, "function", "avg_ns"));
	/* Its time per second tripled but stays under 10 ms/s. */
	assert_int_equal(total_entries(d), 0);
	diff__free(d);

	a = model(SEC), b = model(SEC);
	add_func(a, "/usr/bin/app", "f", 1000, 10 * US);
	add_func(b, "/usr/bin/app", "f", 1000, 16 * US);
	d = compare(a, b);
	assert_non_null(find(d, DIFF_REGRESSION, "function", "p50_ns"));
	assert_non_null(find(d, DIFF_REGRESSION, "function", "avg_ns"));
	diff__free(d);
}

/* Counts become rates: the same rate over a longer run is no change; more calls/s is "work". */
static void test_rates_normalise_duration(void **state)
{
	struct report *a, *b;
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	a = model(1 * SEC), b = model(3 * SEC);
	add_func(a, "/usr/bin/app", "f", 100, 1 * MS);
	add_func(b, "/usr/bin/app", "f", 300, 1 * MS);
	d = compare(a, b);
	assert_int_equal(total_entries(d), 0);
	diff__free(d);

	a = model(1 * SEC), b = model(1 * SEC);
	add_func(a, "/usr/bin/app", "f", 100, 1 * MS);
	add_func(b, "/usr/bin/app", "f", 300, 1 * MS);
	d = compare(a, b);
	/* Neither better nor worse by itself: a change, and no regression... */
	e = find(d, DIFF_CHANGE, "function", "count_per_s");
	assert_non_null(e);
	assert_close(e->base, 100);
	assert_close(e->new, 300);
	assert_close(e->change, 2.0);
	/* ...but 100 -> 300 ms/s inside it is more of the threads' time. */
	assert_non_null(find(d, DIFF_REGRESSION, "function", "inside_ns_per_s"));
	assert_int_equal(d->n_entries[DIFF_REGRESSION], 1);
	diff__free(d);
}

/* Functions match by binary file name and function name, whatever the directory. */
static void test_function_key(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct diff *d;

	(void)state;
	add_func(a, "/ci/main/build/app", "f", 50, 1 * MS);
	add_func(a, "/ci/main/build/app", "only_old", 50, 1 * MS);
	add_func(b, "/ci/pr-42/build/app", "f", 50, 2 * MS);
	add_func(b, "/ci/pr-42/build/app", "only_new", 50, 1 * MS);
	d = compare(a, b);
	assert_int_equal(d->kinds[0].both, 1);
	assert_int_equal(d->kinds[0].only_base, 1);
	assert_int_equal(d->kinds[0].only_new, 1);
	assert_string_equal(find(d, DIFF_REGRESSION, "function", "p50_ns")->key, "app:f");
	diff__free(d);
}

/* ---- off-CPU stacks ---- */

static const char *const k_sleep[] = {"__schedule", "hrtimer_nanosleep", NULL};
static const char *const u_sleep[] = {"clock_nanosleep", "poll_loop", "main", NULL};
static const char *const u_other[] = {"clock_nanosleep", "other_loop", "main", NULL};

/* Matched by thread name, reason and stacks, not pid; threads with the same key are summed. */
static void test_offcpu_matched_without_pids(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	fixture_offcpu(a, 100, 100, "app", OFFCPU_BLOCKED, 50, 100 * MS, 3 * MS, k_sleep, u_sleep);
	fixture_offcpu(a, 100, 101, "app", OFFCPU_BLOCKED, 50, 100 * MS, 3 * MS, k_sleep, u_sleep);
	fixture_offcpu(a, 100, 100, "app", OFFCPU_BLOCKED, 50, 100 * MS, 3 * MS, k_sleep, u_other);
	/* A new run: new pids, the two threads now 250 ms/s each. */
	fixture_offcpu(b, 200, 200, "app", OFFCPU_BLOCKED, 50, 250 * MS, 6 * MS, k_sleep, u_sleep);
	fixture_offcpu(b, 200, 201, "app", OFFCPU_BLOCKED, 50, 250 * MS, 6 * MS, k_sleep, u_sleep);
	d = compare(a, b);
	assert_int_equal(d->kinds[1].both, 1);
	assert_int_equal(d->kinds[1].only_base, 1); /* other_loop */
	e = find(d, DIFF_REGRESSION, "offcpu", "total_ns_per_s");
	assert_non_null(e);
	assert_close(e->base, 200 * MS);
	assert_close(e->new, 500 * MS);
	assert_int_equal(e->base_samples, 100);
	/* The folded line of the stack, and a label in the report's words. */
	assert_string_equal(e->key, "offcpu-blocked;app;main;poll_loop;clock_nanosleep;"
				    "hrtimer_nanosleep_[k];__schedule_[k]");
	assert_string_equal(e->label, "app blocked in hrtimer_nanosleep <- clock_nanosleep <- "
				      "poll_loop <- main");
	/* As many blocks per second: no change there. */
	assert_null(find(d, DIFF_CHANGE, "offcpu", "count_per_s"));
	assert_int_equal(total_entries(d), 1);
	diff__free(d);
}

/* 5 ms/s more off-CPU time is under the 10 ms/s floor, however large relatively. */
static void test_offcpu_floor(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct diff *d;

	(void)state;
	fixture_offcpu(a, 1, 1, "app", OFFCPU_BLOCKED, 100, 2 * MS, 1 * MS, k_sleep, u_sleep);
	fixture_offcpu(b, 1, 1, "app", OFFCPU_BLOCKED, 100, 7 * MS, 1 * MS, k_sleep, u_sleep);
	d = compare(a, b);
	assert_int_equal(total_entries(d), 0);
	diff__free(d);
}

/* ---- scheduler ---- */

/* Processes match by name; run-queue and blocked shares are of the process's thread time. */
static void test_sched_shares(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	/* app: main thread + worker, 2 s of thread time; 5% then 10% in the run queue. */
	fixture_sched(a, 10, 10, "app", SEC, 500 * MS, 450 * MS, 50 * MS, 100, 10);
	fixture_sched(a, 10, 11, "worker", SEC, 500 * MS, 450 * MS, 50 * MS, 100, 10);
	fixture_sched(b, 20, 20, "app", SEC, 500 * MS, 400 * MS, 100 * MS, 100, 10);
	fixture_sched(b, 20, 21, "worker", SEC, 500 * MS, 400 * MS, 100 * MS, 100, 10);
	/* idle: 0.2% -> 0.9% in the run queue, under the 1-point floor. */
	fixture_sched(a, 30, 30, "idle", SEC, 10 * MS, 988 * MS, 2 * MS, 500, 0);
	fixture_sched(b, 31, 31, "idle", SEC, 10 * MS, 981 * MS, 9 * MS, 500, 0);
	d = compare(a, b);
	assert_int_equal(d->kinds[2].both, 2);
	e = find(d, DIFF_REGRESSION, "sched", "runq_share");
	assert_non_null(e);
	assert_string_equal(e->key, "app");
	assert_string_equal(e->label, "process app");
	assert_close(e->base, 0.05);
	assert_close(e->new, 0.10);
	assert_int_equal(e->base_samples, 220);
	/* Blocked 45% -> 40%: -11%, under the threshold. */
	assert_null(find(d, DIFF_IMPROVEMENT, "sched", "blocked_share"));
	assert_int_equal(total_entries(d), 1);
	diff__free(d);
}

/* A share from 0 has no relative change: it counts as "from 0" once past the floor. */
static void test_sched_from_zero(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	fixture_sched(a, 10, 10, "app", SEC, SEC, 0, 0, 0, 50);
	fixture_sched(b, 10, 10, "app", SEC, 950 * MS, 0, 50 * MS, 0, 50);
	d = compare(a, b);
	e = find(d, DIFF_REGRESSION, "sched", "runq_share");
	assert_non_null(e);
	assert_true(isinf(e->change) && e->change > 0);
	diff__free(d);
}

/* The run-queue p99 of a process merges its threads' histograms, from 100 switches. */
static void test_sched_runq_p99(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct report_thread_sched *t;
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	t = fixture_sched(a, 10, 10, "app", SEC, 900 * MS, 95 * MS, 5 * MS, 100, 0);
	fixture_runq_waits(t, 100, 50 * US);
	t = fixture_sched(b, 10, 10, "app", SEC, 900 * MS, 95 * MS, 5 * MS, 50, 0);
	fixture_runq_waits(t, 50, 50 * US);
	t = fixture_sched(b, 10, 11, "app", SEC, 900 * MS, 95 * MS, 5 * MS, 50, 0);
	fixture_runq_waits(t, 50, 400 * US);
	d = compare(a, b);
	e = find(d, DIFF_REGRESSION, "sched", "runq_p99_ns");
	assert_non_null(e);
	assert_true(e->base < 60 * US && e->new > 350 * US);
	diff__free(d);
}

/* ---- I/O ---- */

static void test_syscall_io(void **state)
{
	struct report *a = model(SEC), *b = model(2 * SEC);
	struct report_syscall_io *s;
	const struct diff_entry *e;
	struct diff *d;

	(void)state;
	s = report__add_syscall_io(a, 100, "app", "write", "file");
	fixture_syscall_add(s, 1000, 512, 20 * US);
	s = report__add_syscall_io(b, 200, "app", "write", "file");
	fixture_syscall_add(s, 2000, 4096, 60 * US); /* same calls/s, 8x the bytes, 3x slower */
	d = compare(a, b);
	e = find(d, DIFF_REGRESSION, "syscall_io", "p50_ns");
	assert_non_null(e);
	assert_string_equal(e->key, "app;write;file");
	assert_string_equal(e->label, "app: write() on file");
	assert_true(e->base > 18 * US && e->base <= 20 * US);
	assert_true(e->new > 55 * US && e->new <= 60 * US);
	assert_non_null(find(d, DIFF_REGRESSION, "syscall_io", "p99_ns"));
	e = find(d, DIFF_CHANGE, "syscall_io", "bytes_per_s");
	assert_non_null(e);
	assert_close(e->base, 512000);
	assert_close(e->new, 4096000);
	assert_null(find(d, DIFF_CHANGE, "syscall_io", "count_per_s"));
	assert_int_equal(total_entries(d), 3);
	diff__free(d);
}

static void test_block_and_net_io(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct report_block_io *bl;
	struct report_net_io *n;
	struct diff *d;

	(void)state;
	bl = report__add_block_io(a, 1, "db", "vda", "read");
	fixture_block_add(bl, 50, 4096, 200 * US);
	bl = report__add_block_io(b, 2, "db", "vda", "read");
	fixture_block_add(bl, 50, 4096, 100 * US);
	n = report__add_net_io(a, 1, "db", "tcp", "ipv4", "stream", NET_SEND);
	fixture_net_add(n, 1000, 100);
	n = report__add_net_io(b, 2, "db", "tcp", "ipv4", "stream", NET_SEND);
	fixture_net_add(n, 500, 100);
	/* A receive row only the new run has. */
	n = report__add_net_io(b, 2, "db", "tcp", "ipv4", "stream", NET_RECV);
	fixture_net_add(n, 500, 100);
	d = compare(a, b);
	assert_non_null(find(d, DIFF_IMPROVEMENT, "block_io", "p50_ns"));
	assert_string_equal(find(d, DIFF_IMPROVEMENT, "block_io", "p50_ns")->key, "db;vda;read");
	assert_non_null(find(d, DIFF_CHANGE, "net_io", "count_per_s"));
	assert_non_null(find(d, DIFF_CHANGE, "net_io", "bytes_per_s"));
	assert_string_equal(find(d, DIFF_CHANGE, "net_io", "bytes_per_s")->key, "db;tcp;send");
	assert_int_equal(d->kinds[5].only_new, 1);
	assert_int_equal(d->n_entries[DIFF_REGRESSION], 0);
	diff__free(d);
}

static void test_zero_duration_refused(void **state)
{
	struct report *a = model(SEC), *b = model(0);
	struct diff *d = (struct diff *)1;

	(void)state;
	assert_int_equal(diff__compare(a, b, NULL, &d), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(snag_last_error(), "new report has no duration"));
	report__free(a);
	report__free(b);
}

/* ---- output ---- */

static char *render(const struct diff *d, enum report_format fmt)
{
	struct diff_names names = {"old.json", "new.json"};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(diff__render(d, &names, fmt, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static struct diff *sample_diff(void)
{
	struct report *a = model(SEC), *b = model(SEC);

	add_func(a, "/usr/bin/app", "handle", 50, 2 * MS);
	add_func(b, "/usr/bin/app", "handle", 50, 4 * MS);
	add_func(a, "/usr/bin/app", "parse", 50, 1 * MS);
	add_func(b, "/usr/bin/app", "parse", 100, 500 * US);
	return compare(a, b);
}

static void test_json_output(void **state)
{
	struct diff *d = sample_diff();
	char *text = render(d, FORMAT_JSON);
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *regs, *e;
	size_t i;

	(void)state;
	if (!root)
		fail_msg("invalid JSON: %s", jerr.text);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "snag-diff/1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "base"), "file")), "old.json");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(root, "new"), "duration_ns")), SEC);
	assert_true(json_real_value(json_object_get(root, "threshold")) == 0.2);
	assert_int_equal(json_integer_value(json_object_get(root, "min_count")), 20);
	regs = json_object_get(root, "regressions");
	assert_int_equal(json_array_size(regs), d->n_entries[DIFF_REGRESSION]);
	assert_int_equal(json_integer_value(json_object_get(root, "regression_count")),
			 d->n_entries[DIFF_REGRESSION]);
	json_array_foreach(regs, i, e)
	{
		assert_string_equal(json_string_value(json_object_get(e, "kind")), "function");
		assert_string_equal(json_string_value(json_object_get(e, "key")), "app:handle");
		assert_true(json_is_number(json_object_get(e, "base")));
		assert_true(json_is_number(json_object_get(e, "new")));
		/* A ratio: 1 (written as an integer when integral) is +100%. */
		assert_true(json_number_value(json_object_get(e, "change")) > 0.9);
	}
	e = json_array_get(regs, 1);
	assert_string_equal(json_string_value(json_object_get(e, "metric")), "p50_ns");
	assert_int_equal(json_integer_value(json_object_get(e, "base")), 2 * MS);
	assert_int_equal(json_integer_value(json_object_get(e, "new")), 4 * MS);
	/* parse got faster and busier: an improvement and a change. */
	assert_true(json_array_size(json_object_get(root, "improvements")) >= 1);
	e = json_array_get(json_object_get(root, "changes"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "metric")), "count_per_s");
	assert_int_equal(json_array_size(json_object_get(root, "compared")), DIFF_N_KINDS);
	json_decref(root);
	free(text);
	diff__free(d);
}

/* A change from 0 has no finite relative change: JSON null. */
static void test_json_change_from_zero(void **state)
{
	struct report *a = model(SEC), *b = model(SEC);
	struct diff *d;
	json_t *root;
	char *text;

	(void)state;
	fixture_sched(a, 10, 10, "app", SEC, SEC, 0, 0, 0, 50);
	fixture_sched(b, 10, 10, "app", SEC, 950 * MS, 0, 50 * MS, 0, 50);
	d = compare(a, b);
	text = render(d, FORMAT_JSON);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(root, "regressions"), 0), "change")));
	json_decref(root);
	free(text);
	diff__free(d);
}

static void assert_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, text);
}

static void test_text_output(void **state)
{
	struct diff *d = sample_diff();
	char *text = render(d, FORMAT_TEXT);

	(void)state;
	assert_contains(text, "snag diff: old.json (1.00s) -> new.json (1.00s)\n");
	assert_contains(text, "Compared: 2 functions\n");
	assert_contains(text, "Regressions (worse in the new report): 3\n"
			      "  function handle (app)\n"
			      "      avg                  2.00ms -> 4.00ms      +100.0%\n"
			      "      p50                  2.00ms -> 4.00ms      +100.0%\n"
			      "      time inside/s       100ms/s -> 200ms/s     +100.0%\n");
	assert_contains(text, "      calls/s                50/s -> 100/s       +100.0%\n");
	assert_contains(text, "\n3 regressions\n");
	free(text);
	diff__free(d);

	d = compare(model(SEC), model(SEC));
	text = render(d, FORMAT_TEXT);
	assert_contains(text, "Compared: nothing (both reports are empty)\n");
	assert_contains(text, "Regressions (worse in the new report): none\n");
	assert_contains(text, "\nNo regressions\n");
	free(text);
	diff__free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identical_reports_have_no_changes),
	    cmocka_unit_test(test_function_latency_regression),
	    cmocka_unit_test(test_function_p99_needs_100_calls),
	    cmocka_unit_test(test_function_improvement),
	    cmocka_unit_test(test_min_count),
	    cmocka_unit_test(test_threshold),
	    cmocka_unit_test(test_latency_floor),
	    cmocka_unit_test(test_rates_normalise_duration),
	    cmocka_unit_test(test_function_key),
	    cmocka_unit_test(test_offcpu_matched_without_pids),
	    cmocka_unit_test(test_offcpu_floor),
	    cmocka_unit_test(test_sched_shares),
	    cmocka_unit_test(test_sched_from_zero),
	    cmocka_unit_test(test_sched_runq_p99),
	    cmocka_unit_test(test_syscall_io),
	    cmocka_unit_test(test_block_and_net_io),
	    cmocka_unit_test(test_zero_duration_refused),
	    cmocka_unit_test(test_json_output),
	    cmocka_unit_test(test_json_change_from_zero),
	    cmocka_unit_test(test_text_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
