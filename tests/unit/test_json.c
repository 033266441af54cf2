/* Unit tests: the JSON renderer against the snag-report/1 contract, parsed back with jansson. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "model_fixture.h"
#include "report.h"

/* Render r as JSON into a new string (and check the call succeeded). */
static char *render_json(const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, FORMAT_JSON, NULL, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* Render and parse r; the caller json_decref()s the result. */
static json_t *render_and_parse(const struct report *r)
{
	char *text = render_json(r), *again;
	json_error_t jerr;
	json_t *root;
	size_t len = strlen(text);

	/* Pretty-printed with a trailing newline. */
	assert_true(len > 2 && text[len - 1] == '\n');
	assert_non_null(strstr(text, "\n  \"schema\": \"snag-report/1\""));
	root = json_loads(text, 0, &jerr);
	if (!root)
		fail_msg("invalid JSON at line %d: %s", jerr.line, jerr.text);
	/*
	 * The report is written a piece at a time: its text must be what jansson
	 * writes of the whole tree with the same flags, byte for byte.
	 */
	again = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	assert_non_null(again);
	text[len - 1] = '\0';
	assert_string_equal(text, again);
	free(again);
	free(text);
	return root;
}

static json_t *get(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		fail_msg("missing key \"%s\"", key);
	return v;
}

static void expect_int(const json_t *obj, const char *key, json_int_t want)
{
	json_t *v = get(obj, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	assert_int_equal(json_integer_value(v), want);
}

static void expect_str(const json_t *obj, const char *key, const char *want)
{
	json_t *v = get(obj, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void expect_real(const json_t *obj, const char *key, double want)
{
	json_t *v = get(obj, key);
	double got;

	if (!json_is_real(v))
		fail_msg("\"%s\" is not a real", key);
	got = json_real_value(v);
	if (got < want - 1e-9 || got > want + 1e-9)
		fail_msg("\"%s\" is %g, want %g", key, got, want);
}

/* An array with exactly n elements. */
static json_t *expect_array(const json_t *obj, const char *key, size_t n)
{
	json_t *v = get(obj, key);

	if (!json_is_array(v))
		fail_msg("\"%s\" is not an array", key);
	assert_int_equal(json_array_size(v), n);
	return v;
}

/* The object has exactly these keys, in this order. */
static void expect_keys(const json_t *obj, const char *const *keys, size_t n)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	assert_true(json_is_object(obj));
	assert_int_equal(json_object_size(obj), n);
	json_object_foreach((json_t *)obj, key, v)
	{
		(void)v;
		assert_string_equal(key, keys[i++]);
	}
}

#define EXPECT_KEYS(obj, ...)                                                                      \
	do {                                                                                       \
		static const char *const _k[] = {__VA_ARGS__};                                     \
		expect_keys(obj, _k, sizeof(_k) / sizeof(_k[0]));                                  \
	} while (0)

static struct report *finished_model(void)
{
	struct report *r = fixture_model();

	assert_non_null(r);
	report__finish(r);
	return r;
}

/* The on-CPU sections (--cpu): entries with their flags, functions with lines, warnings. */
static void test_cpu_sections(void **state)
{
	static const char *const kernel[] = {"copy_user"};
	static const char *const user[] = {"write_all", "main"};
	static const char *const spin[] = {"spin"};
	struct report *r = report__new();
	struct report_cpu_warning *w;
	struct report_cpu *c;
	json_t *root, *a, *e, *f;

	(void)state;
	assert_non_null(r);
	r->duration_ns = 1000000000;
	r->cpu_enabled = true;
	r->cpu_frequency_hz = 49;
	r->cpu_period_ns = 20408163;
	c = report__add_cpu(r, 7, 8, "app");
	c->samples = 30;
	assert_int_equal(report_stack__set(&c->kernel_stack, kernel, 1, false), 0);
	assert_int_equal(report_stack__set(&c->user_stack, user, 2, false), 0);
	c = report__add_cpu(r, 7, 9, "app");
	c->samples = 10;
	c->user_incomplete = true;
	assert_int_equal(report_stack__set(&c->user_stack, spin, 1, true), 0);
	assert_int_equal(report__add_cpu_line(r, "spin", "/usr/bin/app", "src/spin.c", 12, 9), 0);
	w = report__add_cpu_warning(r, "/usr/bin/app");
	w->samples = 10;
	w->incomplete_samples = 10;
	w->functions_checked = 40;
	w->fp_functions = 1;
	report__finish(r);
	root = render_and_parse(r);
	expect_int(root, "cpu_frequency_hz", 49);
	expect_int(root, "cpu_period_ns", 20408163);
	a = expect_array(root, "cpu", 2);
	e = json_array_get(a, 0);
	EXPECT_KEYS(e, "pid", "tid", "comm", "samples", "oncpu_ns", "kernel_stack", "user_stack",
		    "kernel_stack_truncated", "user_stack_truncated", "user_stack_incomplete",
		    "impact", "severity");
	expect_int(e, "tid", 8);
	expect_int(e, "samples", 30);
	expect_int(e, "oncpu_ns", 30 * 20408163LL);
	expect_real(e, "impact", 30 * 20408163.0 / 1e9);
	expect_str(e, "severity", "critical");
	assert_true(json_is_false(get(e, "user_stack_incomplete")));
	e = json_array_get(a, 1);
	assert_true(json_is_true(get(e, "user_stack_incomplete")));
	assert_true(json_is_true(get(e, "user_stack_truncated")));
	assert_true(json_is_false(get(e, "kernel_stack_truncated")));
	/* Functions: copy_user (30 self, kernel) first, then spin with its line. */
	a = get(root, "cpu_functions");
	f = json_array_get(a, 0);
	EXPECT_KEYS(f, "name", "kind", "binary", "self_samples", "total_samples", "self_ns",
		    "total_ns", "impact", "total_impact", "severity", "lines");
	expect_str(f, "name", "copy_user");
	expect_str(f, "kind", "kernel");
	assert_true(json_is_null(get(f, "binary")));
	expect_int(f, "self_samples", 30);
	f = json_array_get(a, 1);
	expect_str(f, "name", "spin");
	expect_str(f, "kind", "user");
	expect_str(f, "binary", "/usr/bin/app");
	e = json_array_get(expect_array(f, "lines", 1), 0);
	EXPECT_KEYS(e, "file", "line", "samples");
	expect_str(e, "file", "src/spin.c");
	expect_int(e, "line", 12);
	expect_int(e, "samples", 9);
	e = json_array_get(expect_array(root, "cpu_warnings", 1), 0);
	EXPECT_KEYS(e, "kind", "binary", "samples", "incomplete_samples", "functions_checked",
		    "frame_pointer_functions");
	expect_str(e, "kind", "no_frame_pointers");
	expect_int(e, "frame_pointer_functions", 1);
	json_decref(root);
	report__free(r);
}

static void test_top_level(void **state)
{
	struct report *r = finished_model();
	json_t *root = render_and_parse(r), *t;

	(void)state;
	EXPECT_KEYS(root, "schema", "snag_version", "hostname", "kernel", "start_time",
		    "duration_ns", "target", "traced_threads", "traced_thread_ns",
		    "sched_thread_ns", "min_block_ns", "small_io_bytes", "severity_thresholds",
		    "intervals", "functions", "offcpu", "sched", "breakdown", "block_io", "net_io",
		    "net_connections", "syscall_io", "allocations", "memory", "bottlenecks",
		    "overhead", "cpu_frequency_hz", "cpu_period_ns", "cpu", "cpu_functions",
		    "cpu_warnings");
	expect_str(root, "schema", "snag-report/1");
	expect_str(root, "snag_version", SNAG_VERSION);
	expect_str(root, "hostname", r->hostname);
	expect_str(root, "kernel", r->kernel);
	expect_str(root, "start_time", FIXTURE_START_TIME);
	expect_int(root, "duration_ns", FIXTURE_DURATION_NS);
	expect_int(root, "traced_threads", 2);
	expect_int(root, "traced_thread_ns", FIXTURE_THREAD_NS);
	/* The scheduler collector was off. */
	expect_int(root, "sched_thread_ns", 0);
	expect_int(root, "min_block_ns", 0);
	/* So was the I/O collector. */
	expect_int(root, "small_io_bytes", 0);
	/* And on-CPU sampling: its sections are there, empty. */
	expect_int(root, "cpu_frequency_hz", 0);
	expect_int(root, "cpu_period_ns", 0);
	expect_array(root, "cpu", 0);
	expect_array(root, "cpu_functions", 0);
	expect_array(root, "cpu_warnings", 0);
	t = get(root, "target");
	EXPECT_KEYS(t, "mode", "pids", "command", "specs", "cgroup");
	expect_str(t, "mode", "pids");
	assert_int_equal(json_integer_value(json_array_get(expect_array(t, "pids", 1), 0)), 1234);
	assert_true(json_is_null(get(t, "command")));
	assert_true(json_is_null(get(t, "cgroup")));
	assert_string_equal(json_string_value(json_array_get(expect_array(t, "specs", 2), 1)),
			    "app:fast_*");
	/* Sections whose collectors were off, or do not exist yet, are present and empty. */
	expect_array(root, "offcpu", 0);
	expect_array(root, "sched", 0);
	expect_array(root, "block_io", 0);
	expect_array(root, "net_io", 0);
	expect_array(root, "net_connections", 0);
	expect_array(root, "syscall_io", 0);
	expect_array(root, "allocations", 0);
	expect_array(root, "memory", 0);
	json_decref(root);
	report__free(r);
}

static void test_functions(void **state)
{
	struct report *r = finished_model();
	json_t *root = render_and_parse(r), *funcs, *f, *hist, *b;
	const struct report_function *slow = &r->functions[0];
	size_t i, n = 0;

	(void)state;
	funcs = expect_array(root, "functions", 3);
	f = json_array_get(funcs, 0);
	EXPECT_KEYS(f, "binary", "name", "address", "count", "total_ns", "inside_ns", "min_ns",
		    "max_ns", "avg_ns", "p50_ns", "p90_ns", "p99_ns", "histogram", "impact",
		    "severity");
	expect_str(f, "binary", "/usr/bin/app");
	expect_str(f, "name", "slow_io");
	expect_str(f, "address", "0x1139");
	expect_int(f, "count", 50);
	expect_int(f, "total_ns", 107350000);
	expect_int(f, "inside_ns", 107350000);
	expect_int(f, "min_ns", 2000000);
	expect_int(f, "max_ns", 2294000);
	expect_int(f, "avg_ns", 2147000);
	expect_int(f, "p50_ns", slow->p50_ns);
	expect_int(f, "p90_ns", slow->p90_ns);
	expect_int(f, "p99_ns", 2294000);
	expect_real(f, "impact", 107350000.0 / FIXTURE_THREAD_NS);
	expect_str(f, "severity", "high");
	/* Only non-empty buckets, each as (inclusive upper bound, count), in order. */
	hist = get(f, "histogram");
	for (i = 0; i < SNAG_HIST_BUCKETS; i++) {
		if (!slow->hist[i])
			continue;
		b = json_array_get(hist, n++);
		assert_non_null(b);
		EXPECT_KEYS(b, "le_ns", "count");
		expect_int(b, "le_ns", snag_hist_upper(i));
		expect_int(b, "count", slow->hist[i]);
	}
	assert_int_equal(json_array_size(hist), n);
	assert_int_equal(n, 4);
	/* A probe that never fired is still listed, with an empty histogram. */
	f = json_array_get(funcs, 2);
	expect_str(f, "name", "never_called");
	expect_int(f, "count", 0);
	expect_real(f, "impact", 0);
	expect_str(f, "severity", "low");
	expect_array(f, "histogram", 0);
	json_decref(root);
	report__free(r);
}

static void test_intervals(void **state)
{
	struct report *r = finished_model();
	json_t *root = render_and_parse(r), *iv, *f;

	(void)state;
	iv = json_array_get(expect_array(root, "intervals", 2), 1);
	EXPECT_KEYS(iv, "offset_ns", "duration_ns", "functions", "processes");
	/* No kernel collector in this model: no process series. */
	expect_array(iv, "processes", 0);
	expect_int(iv, "offset_ns", 62500000);
	expect_int(iv, "duration_ns", 62500000);
	f = json_array_get(expect_array(iv, "functions", 2), 0);
	EXPECT_KEYS(f, "binary", "name", "count", "total_ns");
	expect_str(f, "binary", "/usr/bin/app");
	expect_str(f, "name", "slow_io");
	expect_int(f, "count", 30);
	expect_int(f, "total_ns", 67350000);
	f = json_array_get(get(iv, "functions"), 1);
	expect_str(f, "name", "never_called");
	json_decref(root);
	/* With a process series on the last interval. */
	{
		const struct report_interval_proc p = {.pid = 77,
						       .oncpu_ns = 5,
						       .runq_ns = 6,
						       .blocked_ns = 7,
						       .syscall_calls = 8,
						       .syscall_bytes = 9,
						       .block_requests = 10,
						       .block_bytes = 11,
						       .net_messages = 12,
						       .net_bytes = 13};

		assert_int_equal(report__set_interval_procs(r, &p, 1), 0);
		root = render_and_parse(r);
		iv = json_array_get(get(root, "intervals"), 1);
		f = json_array_get(expect_array(iv, "processes", 1), 0);
		EXPECT_KEYS(f, "pid", "oncpu_ns", "runq_ns", "blocked_ns", "syscall_calls",
			    "syscall_bytes", "block_requests", "block_bytes", "net_messages",
			    "net_bytes");
		expect_int(f, "pid", 77);
		expect_int(f, "blocked_ns", 7);
		expect_int(f, "net_bytes", 13);
		json_decref(root);
	}
	report__free(r);
}

static void test_bottlenecks_and_overhead(void **state)
{
	struct report *r = finished_model();
	json_t *root = render_and_parse(r), *b, *ev, *oh, *p, *d;

	(void)state;
	b = json_array_get(expect_array(root, "bottlenecks", 1), 0);
	EXPECT_KEYS(b, "kind", "target", "pid", "impact", "severity", "description", "evidence",
		    "recommendations");
	expect_str(b, "kind", "function");
	expect_str(b, "target", "slow_io (/usr/bin/app)");
	expect_int(b, "pid", 1234);
	expect_real(b, "impact", 107350000.0 / FIXTURE_THREAD_NS);
	expect_str(b, "severity", "high");
	expect_str(b, "description", r->bottlenecks[0].description);
	ev = get(b, "evidence");
	EXPECT_KEYS(ev, "count", "total_ns", "p50_ns", "p99_ns", "avg_ns", "impact");
	/* Integral evidence is written as integers. */
	expect_int(ev, "count", 50);
	expect_int(ev, "total_ns", 107350000);
	expect_int(ev, "p99_ns", 2294000);
	expect_int(ev, "avg_ns", 2147000);
	expect_real(ev, "impact", 107350000.0 / FIXTURE_THREAD_NS);
	assert_string_equal(
	    json_string_value(json_array_get(expect_array(b, "recommendations", 1), 0)),
	    r->bottlenecks[0].recommendations[0]);

	oh = get(root, "overhead");
	EXPECT_KEYS(oh, "programs", "dropped", "mem_sample", "mem_untracked_frees", "mem_calls");
	/* The memory collector was off. */
	expect_int(oh, "mem_sample", 0);
	p = json_array_get(expect_array(oh, "programs", 2), 1);
	EXPECT_KEYS(p, "name", "runs", "run_time_ns");
	expect_str(p, "name", "handle_uretprobe");
	expect_int(p, "runs", 234);
	expect_int(p, "run_time_ns", 22230);
	d = get(oh, "dropped");
	EXPECT_KEYS(d, "unmatched_return", "nesting_too_deep");
	expect_int(d, "unmatched_return", 12);
	expect_int(d, "nesting_too_deep", 0);
	json_decref(root);
	report__free(r);
}

static void test_nulls_and_odd_input(void **state)
{
	struct report *r = report__new();
	struct report_interval_func bad = {99, 1, 1};
	json_t *root, *f;

	(void)state;
	assert_non_null(r);
	r->target.mode = TARGET_COMMAND;
	r->target.command = strdup("sleep 1");
	r->start_time_ns = 0;
	assert_non_null(report__add_function(r, NULL, NULL, 0));
	assert_non_null(report__add_function(r, "/bin/\xff\xfe", "bad\x80utf8", 0xabc));
	assert_int_equal(report__add_interval(r, 0, 10, &bad, 1), 0);
	report__finish(r);
	root = render_and_parse(r);
	expect_str(root, "start_time", "1970-01-01T00:00:00.000000000Z");
	expect_str(get(root, "target"), "mode", "command");
	expect_str(get(root, "target"), "command", "sleep 1");
	expect_array(get(root, "target"), "pids", 0);
	f = json_array_get(expect_array(root, "functions", 2), 0);
	assert_true(json_is_null(get(f, "binary")));
	assert_true(json_is_null(get(f, "name")));
	expect_str(f, "address", "0x0");
	f = json_array_get(get(root, "functions"), 1);
	expect_str(f, "name", "bad?utf8");
	/* An interval pointing past the function table is skipped, not dereferenced. */
	expect_array(json_array_get(get(root, "intervals"), 0), "functions", 0);
	expect_array(root, "bottlenecks", 0);
	expect_array(get(root, "overhead"), "programs", 0);
	assert_int_equal(json_object_size(get(get(root, "overhead"), "dropped")), 0);
	json_decref(root);
	report__free(r);
}

static struct report *finished_sched_model(void)
{
	struct report *r = fixture_sched_model();

	assert_non_null(r);
	report__finish(r);
	return r;
}

/* An array of strings equal to want (NULL-terminated). */
static void expect_strings(const json_t *obj, const char *key, const char *const *want)
{
	size_t i, n = fixture_n_frames(want);
	json_t *arr = expect_array(obj, key, n);

	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_string(v))
			fail_msg("%s[%zu] is not a string", key, i);
		assert_string_equal(json_string_value(v), want[i]);
	}
}

/* A histogram array against the sched layout's non-empty buckets of hist. */
static void expect_sched_histogram(const json_t *obj, const char *key, const uint64_t *hist)
{
	json_t *arr = get(obj, key), *b;
	size_t n = 0;
	__u32 i;

	assert_true(json_is_array(arr));
	for (i = 0; i < SNAG_SCHED_HIST_BUCKETS; i++) {
		if (!hist[i])
			continue;
		b = json_array_get(arr, n++);
		assert_non_null(b);
		EXPECT_KEYS(b, "le_ns", "count");
		expect_int(b, "le_ns", snag_sched_hist_upper(i));
		expect_int(b, "count", hist[i]);
	}
	assert_int_equal(json_array_size(arr), n);
}

static void test_sched(void **state)
{
	struct report *r = finished_sched_model();
	json_t *root = render_and_parse(r), *rows, *t;
	const struct report_thread_sched *busy = &r->sched[3];

	(void)state;
	expect_int(root, "sched_thread_ns", FIXTURE_SCHED_NS);
	expect_int(root, "min_block_ns", FIXTURE_MIN_BLOCK_NS);
	/* One row per thread, by (pid, tid). */
	rows = expect_array(root, "sched", 4);
	t = json_array_get(rows, 0);
	EXPECT_KEYS(t, "pid", "tid", "comm", "voluntary_switches", "involuntary_switches",
		    "wall_ns", "oncpu_ns", "offcpu_ns", "blocked_ns", "preempted_ns",
		    "runq_total_ns", "runq_p50_ns", "runq_p99_ns", "blocked_by", "blocks_by",
		    "runq_histogram", "offcpu_histogram");
	EXPECT_KEYS(json_object_get(t, "blocked_by"), "block_io", "network", "lock", "sleep",
		    "events", "other");
	expect_int(json_object_get(t, "blocked_by"), "other", 780 * FIXTURE_MS);
	expect_int(json_object_get(t, "blocks_by"), "other", 100);
	expect_int(t, "pid", 1234);
	expect_int(t, "tid", 1234);
	expect_str(t, "comm", "app");
	expect_int(t, "voluntary_switches", 100);
	expect_int(t, "involuntary_switches", 5);
	expect_int(t, "wall_ns", 1000 * FIXTURE_MS);
	expect_int(t, "oncpu_ns", 200 * FIXTURE_MS);
	expect_int(t, "offcpu_ns", 800 * FIXTURE_MS);
	expect_int(t, "blocked_ns", 780 * FIXTURE_MS);
	expect_int(t, "preempted_ns", 0);
	expect_int(t, "runq_total_ns", 20 * FIXTURE_MS);
	expect_int(t, "runq_p50_ns", 0);
	expect_int(t, "runq_p99_ns", 0);
	expect_array(t, "runq_histogram", 0);
	expect_array(t, "offcpu_histogram", 0);
	expect_str(json_array_get(rows, 2), "comm", "writer");
	t = json_array_get(rows, 3);
	expect_int(t, "pid", 2000);
	expect_str(t, "comm", "busy");
	expect_int(t, "involuntary_switches", 4000);
	expect_int(t, "preempted_ns", 400 * FIXTURE_MS);
	expect_int(t, "runq_total_ns", 400 * FIXTURE_MS);
	expect_int(t, "runq_p50_ns", busy->runq_p50_ns);
	expect_int(t, "runq_p99_ns", busy->runq_p99_ns);
	assert_true(busy->runq_p99_ns > 0);
	expect_array(t, "runq_histogram", 2);
	expect_sched_histogram(t, "runq_histogram", busy->runq_hist);
	json_decref(root);
	report__free(r);
}

static void test_sched_offcpu_histogram(void **state)
{
	struct report *r = report__new();
	struct report_thread_sched *t;
	json_t *root, *h;

	(void)state;
	assert_non_null(r);
	t = fixture_sched(r, 1, 1, "x", 10, 5, 5, 0, 1, 0);
	assert_non_null(t);
	t->offcpu_hist[snag_sched_hist_bucket(5)] = 1;
	t->offcpu_hist[SNAG_SCHED_HIST_BUCKETS - 1] = 2;
	report__finish(r);
	root = render_and_parse(r);
	h = expect_array(json_array_get(get(root, "sched"), 0), "offcpu_histogram", 2);
	expect_int(json_array_get(h, 0), "le_ns", 5);
	expect_int(json_array_get(h, 1), "le_ns",
		   snag_sched_hist_upper(SNAG_SCHED_HIST_BUCKETS - 1));
	expect_int(json_array_get(h, 1), "count", 2);
	json_decref(root);
	report__free(r);
}

static void test_offcpu(void **state)
{
	struct report *r = finished_sched_model();
	json_t *root, *arr, *o, *w;

	(void)state;
	r->offcpu[3].user_stack.truncated = true;
	root = render_and_parse(r);
	/* Sorted by impact. */
	arr = expect_array(root, "offcpu", 4);
	o = json_array_get(arr, 0);
	EXPECT_KEYS(o, "pid", "tid", "comm", "reason", "category", "count", "total_ns", "max_ns",
		    "kernel_stack", "user_stack", "stack_truncated", "waker", "impact", "severity");
	expect_int(o, "pid", 1234);
	expect_int(o, "tid", 1235);
	/* futex_wait under pthread_mutex_lock: a lock. */
	expect_str(o, "category", "lock");
	expect_str(o, "comm", "worker");
	expect_str(o, "reason", "blocked");
	expect_int(o, "count", 1000);
	expect_int(o, "total_ns", 640 * FIXTURE_MS);
	expect_int(o, "max_ns", 5 * FIXTURE_MS);
	expect_strings(o, "kernel_stack", fixture_futex_kernel);
	expect_strings(o, "user_stack", fixture_futex_user);
	assert_true(json_is_false(get(o, "stack_truncated")));
	expect_real(o, "impact", 0.16);
	expect_str(o, "severity", "medium");
	w = get(o, "waker");
	EXPECT_KEYS(w, "pid", "tid", "comm", "kernel_stack", "user_stack");
	expect_int(w, "pid", 1234);
	expect_int(w, "tid", 1240);
	expect_str(w, "comm", "writer");
	expect_strings(w, "kernel_stack", fixture_wake_kernel);
	expect_strings(w, "user_stack", fixture_wake_user);
	/* Preempted, no waker. */
	o = json_array_get(arr, 2);
	expect_str(o, "reason", "preempted");
	expect_int(o, "tid", 2000);
	expect_real(o, "impact", 0.075);
	expect_str(o, "severity", "low");
	assert_true(json_is_null(get(o, "waker")));
	/* Either stack cut short marks the entry. */
	o = json_array_get(arr, 3);
	expect_str(o, "comm", "writer");
	assert_true(json_is_true(get(o, "stack_truncated")));
	json_decref(root);
	report__free(r);
}

static void test_sched_bottlenecks(void **state)
{
	struct report *r = finished_sched_model();
	json_t *root = render_and_parse(r), *b, *ev;

	(void)state;
	b = json_array_get(expect_array(root, "bottlenecks", 4), 0);
	expect_str(b, "kind", "lock_contention");
	expect_int(b, "pid", 1234);
	expect_str(b, "target", "app (pid 1234)");
	expect_str(b, "description", r->bottlenecks[0].description);
	ev = get(b, "evidence");
	EXPECT_KEYS(ev, "lock_wait_ns", "waits", "threads", "futex_ns", "process_share", "impact");
	expect_int(ev, "lock_wait_ns", 640 * FIXTURE_MS);
	expect_real(ev, "impact", 0.16);
	b = json_array_get(get(root, "bottlenecks"), 2);
	expect_str(b, "kind", "runqueue");
	expect_int(b, "pid", 2000);
	expect_str(b, "target", "busy (pid 2000)");
	ev = get(b, "evidence");
	EXPECT_KEYS(ev, "threads", "wall_ns", "runq_total_ns", "involuntary_switches",
		    "process_share", "impact");
	expect_int(ev, "runq_total_ns", 400 * FIXTURE_MS);
	expect_int(ev, "involuntary_switches", 4000);
	expect_real(ev, "process_share", 0.4);
	expect_real(ev, "impact", 0.1);
	b = json_array_get(get(root, "bottlenecks"), 1);
	expect_str(b, "kind", "offcpu");
	expect_int(b, "pid", 1234);
	ev = get(b, "evidence");
	EXPECT_KEYS(ev, "count", "total_ns", "max_ns", "avg_ns", "impact");
	expect_int(ev, "avg_ns", 10 * FIXTURE_MS);
	expect_array(b, "recommendations", 1);
	json_decref(root);
	report__free(r);
}

static void test_sched_odd_input(void **state)
{
	static const char *const bad[] = {"ok", "bad\xff", NULL};
	struct report *r = report__new();
	json_t *root, *o, *w;
	size_t i;

	(void)state;
	assert_non_null(r);
	assert_non_null(fixture_sched(r, 1, 2, NULL, 0, 0, 0, 0, 0, 0));
	i = fixture_offcpu(r, 1, 2, NULL, OFFCPU_BLOCKED, 1, 1, 1, bad, NULL);
	assert_int_equal(i, 0);
	/* A waker known by pid only, with no comm or stacks. */
	assert_int_equal(fixture_waker(r, i, 77, 0, NULL, NULL, NULL), 0);
	report__finish(r);
	root = render_and_parse(r);
	assert_true(json_is_null(get(json_array_get(get(root, "sched"), 0), "comm")));
	o = json_array_get(expect_array(root, "offcpu", 1), 0);
	assert_true(json_is_null(get(o, "comm")));
	assert_string_equal(json_string_value(json_array_get(get(o, "kernel_stack"), 1)), "bad?");
	expect_array(o, "user_stack", 0);
	/* Impact 0 when nothing is known about thread time. */
	expect_real(o, "impact", 0);
	w = get(o, "waker");
	expect_int(w, "pid", 77);
	expect_int(w, "tid", 0);
	assert_true(json_is_null(get(w, "comm")));
	expect_array(w, "kernel_stack", 0);
	json_decref(root);
	report__free(r);
}

/* The standard model with the I/O rows added after report__finish() (see fixture_io()). */
static struct report *finished_io_model(void)
{
	struct report *r = finished_model();

	assert_int_equal(fixture_io(r), 0);
	return r;
}

/* A size histogram array against the size layout's non-empty buckets of hist. */
static void expect_size_histogram(const json_t *obj, const char *key, const uint64_t *hist)
{
	json_t *arr = get(obj, key), *b;
	size_t n = 0;
	__u32 i;

	assert_true(json_is_array(arr));
	for (i = 0; i < SNAG_SIZE_HIST_BUCKETS; i++) {
		if (!hist[i])
			continue;
		b = json_array_get(arr, n++);
		assert_non_null(b);
		EXPECT_KEYS(b, "le_bytes", "count");
		expect_int(b, "le_bytes", snag_size_hist_upper(i));
		expect_int(b, "count", hist[i]);
	}
	assert_int_equal(json_array_size(arr), n);
}

static void test_io_top_level(void **state)
{
	struct report *r = finished_io_model();
	json_t *root = render_and_parse(r);

	(void)state;
	expect_int(root, "small_io_bytes", FIXTURE_SMALL_IO);
	expect_array(root, "block_io", 3);
	expect_array(root, "net_io", 4);
	expect_array(root, "net_connections", 2);
	expect_array(root, "syscall_io", 4);
	json_decref(root);
	/* A --small-io default left in a report whose collector was off is not written. */
	r->io_enabled = false;
	root = render_and_parse(r);
	expect_int(root, "small_io_bytes", 0);
	json_decref(root);
	report__free(r);
}

static void test_block_io(void **state)
{
	struct report *r = finished_io_model();
	json_t *root = render_and_parse(r), *rows, *b, *h;

	(void)state;
	rows = expect_array(root, "block_io", 3);
	b = json_array_get(rows, 0);
	EXPECT_KEYS(b, "pid", "comm", "device", "major", "minor", "op", "count", "bytes",
		    "total_ns", "avg_ns", "p50_ns", "p99_ns", "max_ns", "size_histogram",
		    "latency_histogram");
	expect_int(b, "pid", 1234);
	expect_str(b, "comm", "app");
	expect_str(b, "device", "vda");
	expect_int(b, "major", 253);
	expect_int(b, "minor", 0);
	expect_str(b, "op", "read");
	expect_int(b, "count", 104);
	expect_int(b, "bytes", 100 * 4096 + 4 * 65536);
	expect_int(b, "total_ns", 100 * 200000 + 4 * 1500000);
	expect_int(b, "avg_ns", (100 * 200000 + 4 * 1500000) / 104);
	/* Derived fields are written as the model holds them, not recomputed. */
	expect_int(b, "p50_ns", FIXTURE_BLOCK_P50_NS);
	expect_int(b, "p99_ns", FIXTURE_BLOCK_P99_NS);
	expect_int(b, "max_ns", 1500000);
	/* A 4096-byte request is in the bucket labelled 4096. */
	h = expect_array(b, "size_histogram", 2);
	expect_int(json_array_get(h, 0), "le_bytes", 4096);
	expect_int(json_array_get(h, 0), "count", 100);
	expect_int(json_array_get(h, 1), "le_bytes", 65536);
	expect_int(json_array_get(h, 1), "count", 4);
	expect_size_histogram(b, "size_histogram", r->block_io[0].size_hist);
	/* Latencies use the scheduler layout. */
	expect_array(b, "latency_histogram", 2);
	expect_sched_histogram(b, "latency_histogram", r->block_io[0].lat_hist);
	assert_true(snag_sched_hist_upper(snag_sched_hist_bucket(200000)) >= 200000);
	expect_int(json_array_get(get(b, "latency_histogram"), 0), "le_ns",
		   snag_sched_hist_upper(snag_sched_hist_bucket(200000)));
	expect_int(json_array_get(get(b, "latency_histogram"), 0), "count", 100);

	b = json_array_get(rows, 1);
	expect_int(b, "pid", 87);
	expect_str(b, "comm", "kworker/u16:2");
	expect_str(b, "device", "nvme0n1p1");
	expect_int(b, "major", 259);
	expect_int(b, "minor", 1);
	expect_str(b, "op", "write");
	expect_int(b, "bytes", 20 * 131072);

	/* Unknown names are null; a zero-byte request is in the bucket labelled 0. */
	b = json_array_get(rows, 2);
	assert_true(json_is_null(get(b, "comm")));
	assert_true(json_is_null(get(b, "device")));
	expect_str(b, "op", "flush");
	expect_int(b, "bytes", 0);
	h = expect_array(b, "size_histogram", 1);
	expect_int(json_array_get(h, 0), "le_bytes", 0);
	expect_int(json_array_get(h, 0), "count", 2);
	json_decref(root);
	report__free(r);
}

static void test_net_io(void **state)
{
	struct report *r = finished_io_model();
	json_t *root = render_and_parse(r), *rows, *n, *h;

	(void)state;
	rows = expect_array(root, "net_io", 4);
	n = json_array_get(rows, 0);
	EXPECT_KEYS(n, "pid", "comm", "protocol", "family", "type", "direction", "count", "bytes",
		    "small_count", "errors", "retransmits", "size_histogram");
	expect_int(n, "pid", 1234);
	expect_str(n, "comm", "app");
	expect_str(n, "protocol", "tcp");
	expect_str(n, "family", "ipv4");
	expect_str(n, "type", "stream");
	expect_str(n, "direction", "send");
	expect_int(n, "count", 1000);
	expect_int(n, "bytes", 100000);
	expect_int(n, "small_count", 1000);
	expect_int(n, "errors", 0);
	h = expect_array(n, "size_histogram", 1);
	expect_int(json_array_get(h, 0), "le_bytes", 128);
	expect_int(json_array_get(h, 0), "count", 1000);

	n = json_array_get(rows, 1);
	expect_str(n, "direction", "recv");
	expect_int(n, "count", 400);
	expect_int(n, "bytes", 400 * 65536);
	expect_int(n, "small_count", 0);
	expect_int(n, "errors", 12);
	expect_size_histogram(n, "size_histogram", r->net_io[1].size_hist);

	n = json_array_get(rows, 2);
	expect_int(n, "pid", 4321);
	expect_str(n, "protocol", "udp");
	expect_str(n, "family", "ipv6");
	expect_str(n, "type", "dgram");
	/* Only failures: no sizes. */
	n = json_array_get(rows, 3);
	expect_str(n, "protocol", "unix");
	expect_str(n, "direction", "recv");
	expect_int(n, "count", 0);
	expect_int(n, "errors", 3);
	expect_array(n, "size_histogram", 0);
	json_decref(root);
	report__free(r);
}

static void test_net_connections(void **state)
{
	struct report *r = finished_io_model();
	json_t *root = render_and_parse(r), *rows, *c;

	(void)state;
	rows = expect_array(root, "net_connections", 2);
	c = json_array_get(rows, 0);
	EXPECT_KEYS(c, "pid", "comm", "protocol", "family", "local", "remote", "sends",
		    "send_bytes", "recvs", "recv_bytes", "retransmits");
	expect_int(c, "pid", 1234);
	expect_str(c, "comm", "app");
	expect_str(c, "protocol", "tcp");
	expect_str(c, "family", "ipv4");
	expect_str(c, "local", "127.0.0.1:40000");
	expect_str(c, "remote", "127.0.0.1:5432");
	expect_int(c, "sends", 1000);
	expect_int(c, "send_bytes", 100000);
	expect_int(c, "recvs", 400);
	expect_int(c, "recv_bytes", 400 * 65536);
	expect_int(c, "retransmits", 3);
	/* Owner unknown: pid 0, comm null; addresses are never cut in JSON. */
	c = json_array_get(rows, 1);
	expect_int(c, "pid", 0);
	assert_true(json_is_null(get(c, "comm")));
	expect_str(c, "protocol", "tcp");
	expect_str(c, "family", "ipv6");
	expect_str(c, "local", FIXTURE_LONG_LOCAL);
	expect_str(c, "remote", FIXTURE_LONG_REMOTE);
	expect_int(c, "sends", 0);
	expect_int(c, "retransmits", 5);
	json_decref(root);
	report__free(r);
}

static void test_syscall_io(void **state)
{
	struct report *r = finished_io_model();
	json_t *root, *rows, *s, *h;

	(void)state;
	/* A size beyond 4 GiB lands in the open-ended last bucket. */
	r->syscall_io[3].size_hist[snag_size_hist_bucket(5ULL << 30)] = 1;
	assert_int_equal(snag_size_hist_bucket(5ULL << 30), SNAG_SIZE_HIST_BUCKETS - 1);
	root = render_and_parse(r);
	rows = expect_array(root, "syscall_io", 4);
	s = json_array_get(rows, 0);
	EXPECT_KEYS(s, "pid", "comm", "syscall", "fd_type", "count", "bytes", "small_count",
		    "errors", "total_ns", "avg_ns", "p50_ns", "p99_ns", "max_ns", "size_histogram",
		    "latency_histogram");
	expect_int(s, "pid", 1234);
	expect_str(s, "comm", "app");
	expect_str(s, "syscall", "read");
	expect_str(s, "fd_type", "pipe");
	expect_int(s, "count", 4096);
	expect_int(s, "bytes", 4096 * 4096);
	expect_int(s, "small_count", 0);
	expect_int(s, "errors", 0);
	expect_int(s, "total_ns", 4096 * 5000);
	expect_int(s, "avg_ns", 5000);
	expect_int(s, "p50_ns", FIXTURE_SCALL_P50_NS);
	expect_int(s, "p99_ns", FIXTURE_SCALL_P99_NS);
	expect_int(s, "max_ns", 5000);
	h = expect_array(s, "size_histogram", 1);
	expect_int(json_array_get(h, 0), "le_bytes", 4096);
	expect_int(json_array_get(h, 0), "count", 4096);
	expect_sched_histogram(s, "latency_histogram", r->syscall_io[0].lat_hist);
	expect_array(s, "latency_histogram", 1);

	s = json_array_get(rows, 1);
	expect_str(s, "syscall", "write");
	expect_str(s, "fd_type", "file");
	expect_int(s, "small_count", 1000);
	expect_int(json_array_get(get(s, "size_histogram"), 0), "le_bytes", 512);
	s = json_array_get(rows, 2);
	expect_str(s, "fd_type", "socket");
	expect_int(s, "errors", 12);

	s = json_array_get(rows, 3);
	assert_true(json_is_null(get(s, "comm")));
	expect_str(s, "syscall", "pwrite64");
	h = expect_array(s, "size_histogram", 2);
	expect_int(json_array_get(h, 0), "le_bytes", 1048576);
	expect_int(json_array_get(h, 1), "le_bytes", 1ULL << 32);
	expect_size_histogram(s, "size_histogram", r->syscall_io[3].size_hist);
	json_decref(root);
	report__free(r);
}

static void test_io_odd_strings(void **state)
{
	struct report *r = report__new();
	json_t *root;

	(void)state;
	assert_non_null(r);
	r->io_enabled = true;
	assert_non_null(report__add_block_io(r, 1, "bad\xff", NULL, NULL));
	assert_non_null(report__add_net_io(r, 1, NULL, NULL, NULL, NULL, NET_RECV));
	assert_non_null(report__add_net_conn(r, 1, "x\x80", NULL, NULL, NULL));
	assert_non_null(report__add_syscall_io(r, 1, "ok", NULL, NULL));
	report__finish(r);
	root = render_and_parse(r);
	/* Not valid UTF-8: '?'; unknown: null, never a crash or a missing key. */
	expect_str(json_array_get(get(root, "block_io"), 0), "comm", "bad?");
	assert_true(json_is_null(get(json_array_get(get(root, "block_io"), 0), "op")));
	assert_true(json_is_null(get(json_array_get(get(root, "net_io"), 0), "protocol")));
	expect_str(json_array_get(get(root, "net_io"), 0), "direction", "recv");
	expect_str(json_array_get(get(root, "net_connections"), 0), "comm", "x?");
	assert_true(json_is_null(get(json_array_get(get(root, "net_connections"), 0), "remote")));
	assert_true(json_is_null(get(json_array_get(get(root, "syscall_io"), 0), "fd_type")));
	/* The collector ran with a 0 threshold: written as is. */
	expect_int(root, "small_io_bytes", 0);
	json_decref(root);
	report__free(r);
}

static void test_write_failure(void **state)
{
	struct report *r = finished_model();
	FILE *full = fopen("/dev/full", "w");

	(void)state;
	if (!full) {
		report__free(r);
		skip();
	}
	assert_true(report__render(r, FORMAT_JSON, NULL, full) < 0);
	assert_true(report__render(r, FORMAT_TEXT, NULL, full) < 0);
	report__free(r);
	/* Folded output of a model with off-CPU stacks fails the same way. */
	r = finished_sched_model();
	assert_true(report__render(r, FORMAT_FOLDED, NULL, full) < 0);
	fclose(full);
	assert_int_equal(report__render(r, (enum report_format)42, NULL, stdout), -EINVAL);
	assert_int_equal(report__render(NULL, FORMAT_JSON, NULL, stdout), -EINVAL);
	report__free(r);
}

/* allocations[] and memory[]: every field, nulls for what was not measured or fitted. */
static void test_mem_sections(void **state)
{
	struct report *r = fixture_model();
	json_t *root, *a, *series, *m, *oh;

	(void)state;
	assert_non_null(r);
	assert_int_equal(fixture_add_mem(r), 0);
	report__finish(r);
	root = render_and_parse(r);
	a = json_array_get(expect_array(root, "allocations", 3), 0);
	EXPECT_KEYS(a, "pid", "comm", "source", "stack", "stack_truncated", "outstanding_bytes",
		    "outstanding_count", "total_allocs", "total_bytes", "freed_allocs",
		    "freed_bytes", "avg_lifetime_ns", "untracked_allocs", "growth_bytes_per_s",
		    "growth_r2", "outstanding_series");
	/* Sorted by outstanding bytes: the leak first (2 intervals of 100 KiB), then the mmap. */
	expect_int(a, "pid", 1234);
	expect_str(a, "comm", "app");
	expect_str(a, "source", "heap");
	assert_string_equal(json_string_value(json_array_get(expect_array(a, "stack", 2), 0)),
			    "leak_block");
	expect_int(a, "outstanding_bytes", 204800);
	expect_int(a, "outstanding_count", 200);
	/* One measured point (the second is REPORT_SERIES_NONE): no fit. */
	assert_true(json_is_null(get(a, "growth_bytes_per_s")));
	assert_true(json_is_null(get(a, "growth_r2")));
	series = expect_array(a, "outstanding_series", 2);
	assert_int_equal(json_integer_value(json_array_get(series, 0)), 102400);
	assert_true(json_is_null(json_array_get(series, 1)));
	a = json_array_get(get(root, "allocations"), 1);
	expect_str(a, "source", "mmap");
	expect_array(a, "stack", 0);
	expect_array(a, "outstanding_series", 0);
	a = json_array_get(get(root, "allocations"), 2);
	expect_int(a, "total_allocs", 500000);
	expect_int(a, "freed_allocs", 500000);
	expect_int(a, "avg_lifetime_ns", 2000);
	m = json_array_get(expect_array(root, "memory", 1), 0);
	EXPECT_KEYS(m, "pid", "comm", "rss_bytes", "minor_faults", "major_faults", "peak_rss_bytes",
		    "rss_hwm_bytes", "minor_faults_total", "major_faults_total",
		    "rss_growth_bytes_per_s", "rss_growth_r2");
	series = expect_array(m, "rss_bytes", 2);
	assert_true(json_is_null(json_array_get(series, 0)));
	assert_int_equal(json_integer_value(json_array_get(series, 1)), 4 << 20);
	assert_true(json_is_null(json_array_get(expect_array(m, "major_faults", 2), 0)));
	expect_int(m, "peak_rss_bytes", 4 << 20);
	expect_int(m, "rss_hwm_bytes", 5 << 20);
	expect_int(m, "minor_faults_total", 20);
	oh = get(root, "overhead");
	expect_int(oh, "mem_sample", 10);
	expect_int(oh, "mem_untracked_frees", 7);
	EXPECT_KEYS(get(oh, "mem_calls"), "malloc", "calloc", "realloc", "posix_memalign",
		    "aligned_alloc", "free");
	expect_int(get(oh, "mem_calls"), "free", 500000);
	json_decref(root);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_top_level),
	    cmocka_unit_test(test_mem_sections),
	    cmocka_unit_test(test_cpu_sections),
	    cmocka_unit_test(test_functions),
	    cmocka_unit_test(test_intervals),
	    cmocka_unit_test(test_bottlenecks_and_overhead),
	    cmocka_unit_test(test_nulls_and_odd_input),
	    cmocka_unit_test(test_sched),
	    cmocka_unit_test(test_sched_offcpu_histogram),
	    cmocka_unit_test(test_offcpu),
	    cmocka_unit_test(test_sched_bottlenecks),
	    cmocka_unit_test(test_sched_odd_input),
	    cmocka_unit_test(test_io_top_level),
	    cmocka_unit_test(test_block_io),
	    cmocka_unit_test(test_net_io),
	    cmocka_unit_test(test_net_connections),
	    cmocka_unit_test(test_syscall_io),
	    cmocka_unit_test(test_io_odd_strings),
	    cmocka_unit_test(test_write_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
