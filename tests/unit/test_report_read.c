/* Unit tests: reading JSON reports back (round trips through every renderer, and refusals). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "errors.h"
#include "model_fixture.h"
#include "report.h"
#include "report_read.h"

static char *render(const struct report *r, enum report_format fmt, bool histogram)
{
	struct render_opts o = {.histogram = histogram};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, fmt, &o, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);

	if (!root)
		fail_msg("invalid JSON at line %d: %s", jerr.line, jerr.text);
	return root;
}

/* Read JSON text strictly (every key must be known to the reader); fails the test on error. */
static struct report *read_strict(const char *text)
{
	json_t *root = parse(text);
	struct report *r = NULL;

	if (report__read_json(root, "model.json", REPORT_READ_STRICT, &r))
		fail_msg("read back failed: %s", snag_last_error());
	json_decref(root);
	return r;
}

/* Fail with the first differing line of two renderings. */
static void assert_same_text(const char *want, const char *got, const char *what)
{
	size_t line = 1, start = 0, i;

	for (i = 0; want[i] && want[i] == got[i]; i++) {
		if (want[i] == '\n') {
			line++;
			start = i + 1;
		}
	}
	if (want[i] == got[i])
		return;
	fail_msg("%s differs at line %zu:\nwant: %.*s\ngot:  %.*s", what, line,
		 (int)strcspn(want + start, "\n"), want + start, (int)strcspn(got + start, "\n"),
		 got + start);
}

/*
 * JSON -> reader -> JSON is byte-identical, and the text (with and without
 * histograms) and folded renderings of what was read equal the originals'.
 * The reader is strict, so a key the renderer writes but the reader skips
 * fails here even when its value is empty.
 */
static void assert_round_trip(struct report *orig)
{
	char *json = render(orig, FORMAT_JSON, false), *json2, *a, *b;
	struct report *back = read_strict(json);
	static const struct {
		enum report_format fmt;
		bool histogram;
		const char *what;
	} views[] = {
	    {FORMAT_TEXT, false, "text"},
	    {FORMAT_TEXT, true, "text --histogram"},
	    {FORMAT_FOLDED, false, "folded"},
	};

	json2 = render(back, FORMAT_JSON, false);
	assert_same_text(json, json2, "JSON after reading it back");
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		a = render(orig, views[i].fmt, views[i].histogram);
		b = render(back, views[i].fmt, views[i].histogram);
		assert_same_text(a, b, views[i].what);
		free(a);
		free(b);
	}
	free(json);
	free(json2);
	report__free(back);
	report__free(orig);
}

static void test_round_trip_functions(void **state)
{
	struct report *r = fixture_model();

	(void)state;
	report__finish(r);
	assert_round_trip(r);
}

static void test_round_trip_sched(void **state)
{
	struct report *r = fixture_sched_model();

	(void)state;
	report__finish(r);
	assert_round_trip(r);
}

static void test_round_trip_io(void **state)
{
	struct report *r = fixture_model();

	(void)state;
	report__finish(r);
	assert_int_equal(fixture_io(r), 0);
	assert_round_trip(r);
}

static void test_round_trip_full(void **state)
{
	struct report *r = fixture_full_model();

	(void)state;
	assert_non_null(r);
	/* The fixture does cover the parts a lazy reader could drop. */
	assert_true(r->n_functions && r->n_intervals && r->n_sched && r->n_offcpu &&
		    r->n_block_io && r->n_net_io && r->n_net_conns && r->n_syscall_io &&
		    r->n_bottlenecks && r->overhead.n_programs && r->overhead.n_drops);
	assert_round_trip(r);
}

/* An empty report (every collector off) reads back as one. */
static void test_round_trip_empty(void **state)
{
	struct report *r = report__new();

	(void)state;
	report__finish(r);
	assert_round_trip(r);
}

/* The model read back holds the numbers, not only text that re-renders the same. */
static void test_read_values(void **state)
{
	struct report *orig = fixture_full_model(), *r;
	char *json = render(orig, FORMAT_JSON, false);
	size_t i;

	(void)state;
	r = read_strict(json);
	assert_int_equal(r->start_time_ns, FIXTURE_START_NS);
	assert_int_equal(r->duration_ns, FIXTURE_DURATION_NS);
	assert_int_equal(r->target.mode, TARGET_COMMAND);
	assert_string_equal(r->target.command, "app --serve 'x y'");
	assert_int_equal(r->n_functions, 3);
	for (i = 0; i < r->n_functions; i++) {
		assert_string_equal(r->functions[i].name, orig->functions[i].name);
		assert_int_equal(r->functions[i].address, orig->functions[i].address);
		/* Sparse JSON buckets land back in their own bucket indices. */
		assert_memory_equal(r->functions[i].hist, orig->functions[i].hist,
				    sizeof(r->functions[i].hist));
	}
	for (i = 0; i < r->n_sched; i++)
		assert_memory_equal(r->sched[i].runq_hist, orig->sched[i].runq_hist,
				    sizeof(r->sched[i].runq_hist));
	for (i = 0; i < r->n_block_io; i++) {
		assert_memory_equal(r->block_io[i].size_hist, orig->block_io[i].size_hist,
				    sizeof(r->block_io[i].size_hist));
		assert_memory_equal(r->block_io[i].lat_hist, orig->block_io[i].lat_hist,
				    sizeof(r->block_io[i].lat_hist));
	}
	/* Intervals name functions; they come back as indices into functions[]. */
	for (i = 0; i < r->n_intervals; i++)
		for (size_t j = 0; j < r->intervals[i].n_funcs; j++)
			assert_int_equal(r->intervals[i].funcs[j].func,
					 orig->intervals[i].funcs[j].func);
	/* Read as written, not derived again: the fixture's I/O percentiles are arbitrary. */
	assert_int_equal(r->block_io[0].p50_ns, FIXTURE_BLOCK_P50_NS);
	assert_true(r->sched_enabled && r->io_enabled);
	assert_int_equal(r->n_bottlenecks, orig->n_bottlenecks);
	free(json);
	report__free(r);
	report__free(orig);
}

/* ---- refusals ---- */

/* The full model's JSON, parsed, to break in one place. */
static json_t *full_json(void)
{
	struct report *r = fixture_full_model();
	char *text = render(r, FORMAT_JSON, false);
	json_t *root = parse(text);

	free(text);
	report__free(r);
	return root;
}

/* Reading root fails with -EINVAL and a message containing every given fragment. */
static void expect_refusal(json_t *root, unsigned flags, ...)
{
	struct report *r = (struct report *)1;
	const char *frag;
	va_list ap;

	snag_clear_error();
	assert_int_equal(report__read_json(root, "bad.json", flags, &r), -EINVAL);
	assert_null(r);
	if (!strstr(snag_last_error(), "cannot read report 'bad.json': "))
		fail_msg("message does not name the file: %s", snag_last_error());
	if (strchr(snag_last_error(), '\n'))
		fail_msg("message is not one line: %s", snag_last_error());
	va_start(ap, flags);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(snag_last_error(), frag))
			fail_msg("\"%s\" not in the message: %s", frag, snag_last_error());
	va_end(ap);
	json_decref(root);
}

static json_t *at(json_t *root, const char *section, size_t i)
{
	json_t *v = json_array_get(json_object_get(root, section), i);

	assert_non_null(v);
	return v;
}

/*
 * u64 values above 2^63-1 used to saturate on the way out (and a JSON integer
 * that large does not read: "too big integer"). They are written as strings
 * of digits and read back exactly; everything below stays a plain integer,
 * byte for byte.
 */
static void test_u64_round_trip(void **state)
{
	struct report *r = fixture_model(), *back;
	struct report_function *f;
	char *json, *json2;
	json_t *root, *fn;
	size_t i;

	(void)state;
	report__finish(r);
	f = &r->functions[0];
	f->count = UINT64_MAX;
	f->total_ns = (uint64_t)INT64_MAX + 1;
	f->inside_ns = INT64_MAX;
	assert_int_equal(report__add_drop(r, "huge", UINT64_MAX - 1), 0);
	json = render(r, FORMAT_JSON, false);
	assert_non_null(strstr(json, "\"count\": \"18446744073709551615\""));
	assert_non_null(strstr(json, "\"total_ns\": \"9223372036854775808\""));
	assert_non_null(strstr(json, "\"inside_ns\": 9223372036854775807,"));
	assert_non_null(strstr(json, "\"huge\": \"18446744073709551614\""));
	back = read_strict(json);
	assert_true(back->functions[0].count == UINT64_MAX);
	assert_true(back->functions[0].total_ns == (uint64_t)INT64_MAX + 1);
	assert_true(back->functions[0].inside_ns == INT64_MAX);
	for (i = 0; i < back->overhead.n_drops; i++)
		if (!strcmp(back->overhead.drops[i].cause, "huge"))
			assert_true(back->overhead.drops[i].count == UINT64_MAX - 1);
	json2 = render(back, FORMAT_JSON, false);
	assert_same_text(json, json2, "JSON with u64 values after reading it back");
	/* Digits only: anything else in a string is still the wrong type, and 2^64 is too big. */
	root = parse(json);
	fn = json_array_get(json_object_get(root, "functions"), 0);
	json_object_set_new(fn, "count", json_string("0x10"));
	expect_refusal(root, 0, "functions[0].count", NULL);
	root = parse(json);
	fn = json_array_get(json_object_get(root, "functions"), 0);
	json_object_set_new(fn, "count", json_string("18446744073709551616"));
	expect_refusal(root, 0, "functions[0].count", "out of range", NULL);
	free(json);
	free(json2);
	report__free(back);
	report__free(r);
}

static void test_wrong_types(void **state)
{
	json_t *root;

	(void)state;
	root = full_json();
	json_object_set_new(at(root, "functions", 1), "count", json_string("many"));
	expect_refusal(root, 0,
		       "functions[1].count: expected a non-negative integer, found a string", NULL);

	root = full_json();
	json_object_set_new(at(root, "functions", 0), "total_ns", json_integer(-5));
	expect_refusal(root, 0, "functions[0].total_ns: expected a non-negative integer, found -5",
		       NULL);

	root = full_json();
	json_object_set_new(at(root, "functions", 0), "p50_ns", json_real(2.5));
	expect_refusal(root, 0,
		       "functions[0].p50_ns: expected a non-negative integer, found a real", NULL);

	root = full_json();
	json_object_set_new(at(root, "offcpu", 2), "reason", json_string("asleep"));
	expect_refusal(root, 0, "offcpu[2].reason: expected one of \"blocked\", \"preempted\"",
		       "found \"asleep\"", NULL);

	root = full_json();
	json_object_set_new(at(root, "offcpu", 0), "user_stack", json_string("main"));
	expect_refusal(root, 0, "offcpu[0].user_stack: expected an array of frame names", NULL);

	root = full_json();
	json_array_set_new(json_object_get(at(root, "offcpu", 0), "kernel_stack"), 1,
			   json_integer(7));
	expect_refusal(root, 0, "offcpu[0].kernel_stack[1]: expected a string or null", NULL);

	root = full_json();
	json_object_set_new(json_object_get(root, "target"), "pids", json_integer(1234));
	expect_refusal(root, 0, "target.pids: expected an array of integers, found an integer",
		       NULL);

	root = full_json();
	json_object_set_new(at(root, "functions", 0), "address", json_string("4409"));
	expect_refusal(root, 0, "functions[0].address: expected a hex address string", NULL);

	root = full_json();
	json_object_set_new(root, "start_time", json_string("yesterday"));
	expect_refusal(root, 0, "start_time: expected an RFC 3339 time string", NULL);

	root = full_json();
	json_object_set_new(at(root, "block_io", 1), "major", json_integer(1LL << 33));
	expect_refusal(root, 0, "block_io[1].major: 8589934592 is out of range", NULL);

	root = full_json();
	json_object_set_new(json_object_get(at(root, "bottlenecks", 0), "evidence"), "count",
			    json_string("50"));
	expect_refusal(root, 0, "bottlenecks[0].evidence.count: expected a number", NULL);

	root = full_json();
	json_object_set_new(json_object_get(json_object_get(root, "overhead"), "dropped"),
			    "lost_return", json_true());
	expect_refusal(root, 0, "overhead.dropped.lost_return: expected a non-negative integer",
		       NULL);

	root = full_json();
	json_object_set_new(root, "sched", json_object());
	expect_refusal(root, 0, "sched: expected an array of objects, found an object", NULL);

	root = full_json();
	json_array_set_new(json_object_get(root, "net_io"), 0, json_string("tcp"));
	expect_refusal(root, 0, "net_io[0]: expected an object, found a string", NULL);
}

static void test_missing_fields(void **state)
{
	json_t *root;
	char want[96];
	size_t i;

	(void)state;
	root = full_json();
	json_object_del(at(root, "functions", 2), "p99_ns");
	expect_refusal(root, 0, "functions[2].p99_ns: missing (expected a non-negative integer)",
		       NULL);

	root = full_json();
	json_object_del(root, "syscall_io");
	expect_refusal(root, 0, "syscall_io: missing (expected an array of objects)", NULL);

	/* Inside the nested waker object of the entry that has one. */
	root = full_json();
	for (i = 0; json_is_null(json_object_get(at(root, "offcpu", i), "waker")); i++)
		;
	json_object_del(json_object_get(at(root, "offcpu", i), "waker"), "tid");
	snprintf(want, sizeof(want), "offcpu[%zu].waker.tid: missing (expected an integer)", i);
	expect_refusal(root, 0, want, NULL);

	root = full_json();
	json_object_del(root, "duration_ns");
	expect_refusal(root, 0, "duration_ns: missing", NULL);
}

static void test_histogram_bounds(void **state)
{
	json_t *root, *hist;

	(void)state;
	/* 2,000,000 ns is inside a function bucket, not its upper bound. */
	root = full_json();
	hist = json_object_get(at(root, "functions", 0), "histogram");
	json_object_set_new(json_array_get(hist, 0), "le_ns", json_integer(2000000));
	expect_refusal(root, 0, "functions[0].histogram[0].le_ns: 2000000 is not a bucket bound",
		       "function latency layout", "ends at 2031615", NULL);

	/* Size buckets are powers of two: 4000 is not one. */
	root = full_json();
	hist = json_object_get(at(root, "syscall_io", 0), "size_histogram");
	json_object_set_new(json_array_get(hist, 0), "le_bytes", json_integer(4000));
	expect_refusal(root, 0,
		       "syscall_io[0].size_histogram[0].le_bytes: 4000 is not a bucket bound",
		       "ends at 4096", NULL);

	/* A bound out of order (or twice) is refused. */
	root = full_json();
	hist = json_object_get(at(root, "functions", 1), "histogram");
	assert_true(json_array_size(hist) >= 2);
	json_array_append(hist, json_array_get(hist, 0));
	expect_refusal(root, 0, "must ascend", NULL);

	/* A size bucket keyed in ns is a missing le_bytes. */
	root = full_json();
	hist = json_object_get(at(root, "net_io", 0), "size_histogram");
	json_array_set_new(hist, 0, json_pack("{s:i, s:i}", "le_ns", 128, "count", 1));
	expect_refusal(root, 0, "net_io[0].size_histogram[0].le_bytes: missing", NULL);
}

static void test_schema(void **state)
{
	json_t *root;

	(void)state;
	root = full_json();
	json_object_set_new(root, "schema", json_string("snag-report/2"));
	expect_refusal(root, 0,
		       "written by a newer snag: schema snag-report/2, this snag reads "
		       "snag-report/1",
		       NULL);

	root = full_json();
	json_object_set_new(root, "schema", json_string("snag-report/0"));
	expect_refusal(root, 0, "unsupported schema snag-report/0", NULL);

	root = full_json();
	json_object_set_new(root, "schema", json_string("snag-diff/1"));
	expect_refusal(root, 0, "not a snag report: schema \"snag-diff/1\"", NULL);

	root = full_json();
	json_object_del(root, "schema");
	expect_refusal(root, 0, "not a snag report: no \"schema\"", NULL);

	expect_refusal(json_pack("[i]", 1), 0, "not a snag report: the document is an array", NULL);
}

/* Keys the reader does not know are ignored (the contract allows additions), unless strict. */
static void test_unknown_keys(void **state)
{
	json_t *root;
	struct report *r = NULL;

	(void)state;
	root = full_json();
	json_object_set_new(root, "future_section", json_array());
	json_object_set_new(at(root, "sched", 1), "numa_node", json_integer(1));
	assert_int_equal(report__read_json(root, "new.json", 0, &r), 0);
	assert_non_null(r);
	report__free(r);
	json_object_del(root, "future_section");
	json_incref(root);
	expect_refusal(root, REPORT_READ_STRICT, "sched[1].numa_node: unknown key", NULL);
	json_decref(root);
}

static void test_interval_names_unknown_function(void **state)
{
	json_t *root, *iv;

	(void)state;
	root = full_json();
	iv = json_array_get(json_object_get(at(root, "intervals", 1), "functions"), 0);
	json_object_set_new(iv, "name", json_string("gone"));
	expect_refusal(root, 0, "intervals[1].functions[0]: names a function that is not in",
		       "gone in /usr/bin/app", NULL);
}

/* ---- files ---- */

static char tmpdir[64];

static const char *tmp_file(const char *name, const char *content, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/snag-read-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

/* report__read_file() fails with err and a one-line message naming path and each fragment. */
static void expect_file_refusal(const char *path, int err, ...)
{
	struct report *r = (struct report *)1;
	const char *frag;
	va_list ap;

	snag_clear_error();
	assert_int_equal(report__read_file(path, &r), err);
	assert_null(r);
	if (!strstr(snag_last_error(), path))
		fail_msg("message does not name %s: %s", path, snag_last_error());
	if (strchr(snag_last_error(), '\n'))
		fail_msg("message is not one line: %s", snag_last_error());
	va_start(ap, err);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(snag_last_error(), frag))
			fail_msg("\"%s\" not in the message: %s", frag, snag_last_error());
	va_end(ap);
}

static void test_read_file(void **state)
{
	struct report *orig = fixture_full_model(), *r = NULL;
	char *json = render(orig, FORMAT_JSON, false), *again;
	const char *path = tmp_file("ok.json", json, strlen(json));

	(void)state;
	assert_int_equal(report__read_file(path, &r), 0);
	again = render(r, FORMAT_JSON, false);
	assert_string_equal(again, json);
	free(again);
	report__free(r);
	report__free(orig);
	free(json);
}

static void test_truncated_files(void **state)
{
	struct report *orig = fixture_full_model();
	char *json = render(orig, FORMAT_JSON, false);
	size_t len = strlen(json);
	/* Inside the header, a function's histogram, the I/O rows, and the last brace. */
	size_t cuts[] = {1, 40, len / 4, len / 2, len * 3 / 4, len - 2};

	(void)state;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "cut%zu.json", i);
		expect_file_refusal(tmp_file(name, json, cuts[i]), -EINVAL,
				    "not valid JSON at line", "cut short", NULL);
	}
	/* Trailing garbage after a complete document is refused too. */
	json[len - 1] = '}';
	expect_file_refusal(tmp_file("trailing.json", json, len), -EINVAL, "not valid JSON", NULL);
	report__free(orig);
	free(json);
}

static void test_unreadable_files(void **state)
{
	char path[128];

	(void)state;
	expect_file_refusal(tmp_file("empty.json", "", 0), -EINVAL, "the file is empty", NULL);
	expect_file_refusal(tmp_file("blank.json", "\n \n", 3), -EINVAL, "not valid JSON", NULL);
	expect_file_refusal(tmp_file("text.json", "hello\n", 6), -EINVAL, "not valid JSON", NULL);
	expect_file_refusal(tmp_file("num.json", "[1, 2]\n", 7), -EINVAL,
			    "not a snag report: the document is an array", NULL);
	expect_file_refusal(tmpdir, -EISDIR, "it is a directory", NULL);
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	expect_file_refusal(path, -ENOENT, "No such file or directory", NULL);
	/* Two "count" keys in one object: malformed, not silently one of them. */
	expect_file_refusal(
	    tmp_file("dup.json", "{\"schema\": \"snag-report/1\", \"schema\": 1}", 41), -EINVAL,
	    "not valid JSON", "duplicate", NULL);
}

/*
 * Rows appended to a report that was read back go where the reader made room: arrays of
 * the model grow by doubling (report__array_capacity), so the reader must allocate that
 * much too. Three rows read, then two appended, under ASan in test-asan.
 */
static void test_append_after_read(void **state)
{
	struct report *r = report__new(), *back;
	struct report_thread_sched *t;
	char *json;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		report__add_sched(r, 10, 10 + i, "app")->oncpu_ns = (uint64_t)i;
	report__finish(r);
	json = render(r, FORMAT_JSON, false);
	back = read_strict(json);
	assert_int_equal(back->n_sched, 3);
	for (i = 3; i < 5; i++) {
		t = report__add_sched(back, 10, 10 + i, "app");
		assert_non_null(t);
		t->oncpu_ns = (uint64_t)i;
	}
	assert_int_equal(back->n_sched, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(back->sched[i].oncpu_ns, (uint64_t)i);
	free(json);
	report__free(back);
	report__free(r);
}

/* Capacities are the next power of two, and appending many rows keeps every one. */
static void test_array_growth(void **state)
{
	struct report *r = report__new();
	size_t i;

	(void)state;
	assert_int_equal(report__array_capacity(0), 0);
	assert_int_equal(report__array_capacity(1), 1);
	assert_int_equal(report__array_capacity(3), 4);
	assert_int_equal(report__array_capacity(4), 4);
	assert_int_equal(report__array_capacity(5), 8);
	assert_int_equal(report__array_capacity(1000), 1024);
	for (i = 0; i < 10000; i++)
		assert_non_null(report__add_sched(r, 1, (int)i, "t"));
	for (i = 0; i < 10000; i++) {
		assert_int_equal(r->sched[i].tid, (int)i);
		assert_string_equal(r->sched[i].comm, "t");
		assert_int_equal(r->sched[i].oncpu_ns, 0);
	}
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_functions),
	    cmocka_unit_test(test_round_trip_sched),
	    cmocka_unit_test(test_round_trip_io),
	    cmocka_unit_test(test_round_trip_full),
	    cmocka_unit_test(test_round_trip_empty),
	    cmocka_unit_test(test_read_values),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_missing_fields),
	    cmocka_unit_test(test_histogram_bounds),
	    cmocka_unit_test(test_schema),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_interval_names_unknown_function),
	    cmocka_unit_test(test_read_file),
	    cmocka_unit_test(test_truncated_files),
	    cmocka_unit_test(test_unreadable_files),
	    cmocka_unit_test(test_append_after_read),
	    cmocka_unit_test(test_array_growth),
	    cmocka_unit_test(test_u64_round_trip),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
