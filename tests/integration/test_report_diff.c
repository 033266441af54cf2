/* Integration tests: snag report and snag diff on real recordings, and on files they must refuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "itest.h"
#include "unit/model_fixture.h"

/* Record `latency nap N MS` with -u nap into name (JSON); checks the calls were all seen. */
/* A number field of function nap in the report at path. */
static double nap_field(const char *path, const char *field)
{
	json_t *root = itest_load_json(path, NULL), *f;
	double v = -1;
	size_t i;

	assert_non_null(root);
	json_array_foreach(json_object_get(root, "functions"), i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "name")), "nap"))
			v = num(f, field);
	}
	json_decref(root);
	if (v < 0)
		fail_msg("no function nap in %s", path);
	return v;
}

static void record_nap(const char *name, const char *ms)
{
	char cmd[8300];
	json_t *root, *f;

	snprintf(cmd, sizeof(cmd), "%s nap 50 %s", target_path, ms);
	root = run_snag_json(out_path(name), "-c", cmd, "-u", "nap", NULL);
	f = json_array_get(json_object_get(root, "functions"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "nap");
	assert_int_equal((long long)num(f, "count"), 50);
	json_decref(root);
}

/* Run snag with the NULL-terminated arguments; the caller frees r. */
static void run_snag(struct test_run *r, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = snag_path;
	va_start(ap, r);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 60, r), 0);
}

static void expect_status(const struct test_run *r, int want)
{
	if (r->status != want)
		fail_msg("snag exited %d, want %d; stderr: %s", r->status, want, r->err);
}

/* Exit 2 and exactly one stderr line, "snag: ...", containing every given fragment. */
static void expect_one_line_error(const struct test_run *r, ...)
{
	const char *nl = strchr(r->err, '\n'), *frag;
	va_list ap;

	if (r->status != 2 || strncmp(r->err, "snag: ", 6) || !nl || nl[1])
		fail_msg("want exit 2 and one 'snag: ' line; got exit %d, stderr: %s", r->status,
			 r->err);
	va_start(ap, r);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(r->err, frag))
			fail_msg("'%s' not in: %s", frag, r->err);
	va_end(ap);
}

/* Write the full fixture model as a JSON report to name; returns its path (static buffer). */
static const char *fixture_report(const char *name)
{
	struct report *r = fixture_full_model();
	const char *path = out_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(r);
	assert_non_null(f);
	assert_int_equal(report__render(r, FORMAT_JSON, NULL, f), 0);
	assert_int_equal(fclose(f), 0);
	report__free(r);
	return path;
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* ---- snag report ---- */

static void test_report_rerenders_a_recording(void **state)
{
	char path[4200], txt[4200], *saved;
	struct test_run r, text;

	(void)state;
	require_bpf();
	record_nap("rec.json", "2");
	snprintf(path, sizeof(path), "%s", out_path("rec.json"));
	saved = test_read_file(path, NULL);
	assert_non_null(saved);
	/* JSON back out is the file, byte for byte. */
	run_snag(&r, "report", path, "--format", "json", NULL);
	expect_status(&r, 0);
	assert_string_equal(r.out, saved);
	test_run__free(&r);
	/* Text, as record would have printed it; -o writes the same. */
	run_snag(&text, "report", path, "--histogram", NULL);
	expect_status(&text, 0);
	assert_non_null(strstr(text.out, "\nnap "));
	assert_non_null(strstr(text.out, "snag cost:"));
	snprintf(txt, sizeof(txt), "%s", out_path("rec.txt"));
	run_snag(&r, "report", path, "--histogram", "-o", txt, NULL);
	expect_status(&r, 0);
	assert_string_equal(r.out, "");
	test_drop(saved);
	saved = test_read_file(txt, NULL);
	assert_string_equal(saved, text.out);
	test_drop(saved);
	test_run__free(&r);
	test_run__free(&text);
	/* No off-CPU stacks were recorded: folded output is empty, and fine. */
	run_snag(&r, "report", path, "--format", "folded", NULL);
	expect_status(&r, 0);
	assert_string_equal(r.out, "");
	test_run__free(&r);
}

static void test_report_refuses_bad_files(void **state)
{
	char cut[4200], newer[4200], *json;
	const char *good = fixture_report("good.json");
	struct test_run r;
	size_t len;
	FILE *f;

	(void)state;
	/* The fixture itself reads, and its folded stacks come out. */
	run_snag(&r, "report", good, "--format", "folded", NULL);
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "offcpu-blocked;worker;"));
	test_run__free(&r);

	json = test_read_file(good, &len);
	assert_non_null(json);
	snprintf(cut, sizeof(cut), "%s", out_path("cut.json"));
	f = fopen(cut, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(json, 1, len / 2, f), len / 2);
	assert_int_equal(fclose(f), 0);
	run_snag(&r, "report", cut, NULL);
	expect_one_line_error(&r, cut, "not valid JSON", NULL);
	test_run__free(&r);

	snprintf(newer, sizeof(newer), "%s", out_path("newer.json"));
	write_file(newer, "{\"schema\": \"snag-report/2\", \"functions\": []}\n");
	run_snag(&r, "report", newer, NULL);
	expect_one_line_error(&r, newer, "written by a newer snag: schema snag-report/2", NULL);
	test_run__free(&r);

	run_snag(&r, "report", out_path(""), NULL);
	expect_one_line_error(&r, "it is a directory", NULL);
	test_run__free(&r);

	run_snag(&r, "report", "/nonexistent/r.json", NULL);
	expect_one_line_error(&r, "'/nonexistent/r.json'", "No such file", NULL);
	test_run__free(&r);

	run_snag(&r, "report", good, "--format", "xml", NULL);
	expect_one_line_error(&r, "unknown format 'xml'", NULL);
	test_run__free(&r);

	run_snag(&r, "report", NULL);
	expect_one_line_error(&r, "needs a report file", NULL);
	test_run__free(&r);
	test_drop(json);
}

/* ---- snag diff ---- */

/* The same run twice: nothing regressed. */
static void test_diff_same_run_twice(void **state)
{
	char a[4200], b[4200];
	struct test_run r;
	json_t *root;

	(void)state;
	require_bpf();
	record_nap("same1.json", "2");
	record_nap("same2.json", "2");
	snprintf(a, sizeof(a), "%s", out_path("same1.json"));
	snprintf(b, sizeof(b), "%s", out_path("same2.json"));
	run_snag(&r, "diff", a, b, NULL);
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "Compared: 1 function\n"));
	assert_non_null(strstr(r.out, "\nNo regressions\n"));
	test_run__free(&r);
	run_snag(&r, "diff", a, b, "--format", "json", NULL);
	expect_status(&r, 0);
	root = itest_keep_json(json_loads(r.out, 0, NULL));
	assert_non_null(root);
	assert_int_equal(json_array_size(json_object_get(root, "regressions")), 0);
	json_decref(root);
	test_run__free(&r);
}

/* nap() sleeps 4 ms instead of 2: its p50 and avg regress, and nothing else does. */
static void test_diff_doubled_latency(void **state)
{
	char a[4200], b[4200], out[4200], *saved;
	const json_t *e;
	bool p50 = false, avg = false;
	struct test_run r;
	json_t *root, *regs;
	size_t i;

	(void)state;
	require_bpf();
	record_nap("nap2.json", "2");
	record_nap("nap4.json", "4");
	snprintf(a, sizeof(a), "%s", out_path("nap2.json"));
	snprintf(b, sizeof(b), "%s", out_path("nap4.json"));
	run_snag(&r, "diff", a, b, NULL);
	expect_status(&r, 1);
	assert_non_null(strstr(r.out, "Regressions (worse in the new report): "));
	assert_non_null(strstr(r.out, "  function nap (latency)\n"));
	test_run__free(&r);

	snprintf(out, sizeof(out), "%s", out_path("diff.json"));
	run_snag(&r, "diff", a, b, "--format", "json", "-o", out, NULL);
	expect_status(&r, 1);
	test_run__free(&r);
	saved = test_read_file(out, NULL);
	assert_non_null(saved);
	root = itest_keep_json(json_loads(saved, 0, NULL));
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "snag-diff/1");
	regs = json_object_get(root, "regressions");
	/*
	 * nap's p50 and avg (50 calls are too few for a p99). Its share of the
	 * time, nearly all of it, stays on a quiet machine; on a busy one the
	 * process's start can take a different share in each run, and then an
	 * impact regression is right if the two reports' own impacts say so.
	 */
	if (json_array_size(regs) != 2 && json_array_size(regs) != 3)
		fail_msg("want 2 regressions (nap's p50 and avg), got %zu: %s",
			 json_array_size(regs), saved);
	json_array_foreach(regs, i, e)
	{
		const char *metric = json_string_value(json_object_get(e, "metric"));

		assert_string_equal(json_string_value(json_object_get(e, "kind")), "function");
		assert_string_equal(json_string_value(json_object_get(e, "key")), "latency:nap");
		if (!strcmp(metric, "p50_ns")) {
			/* The p50s of the two recordings, whatever this machine's timers made
			 * of 2 and 4 ms: at least those, and as each report has it. */
			assert_true(num((json_t *)e, "base") >= 2 * MS);
			assert_true(num((json_t *)e, "new") >= 4 * MS);
			assert_true(num((json_t *)e, "base") == nap_field(a, "p50_ns"));
			assert_true(num((json_t *)e, "new") == nap_field(b, "p50_ns"));
			p50 = true;
		} else if (!strcmp(metric, "avg_ns")) {
			/* nanosleep never returns early; one late wake-up moves an average of
			 * 50, so only the floor is known. */
			assert_true(num((json_t *)e, "base") >= 2 * MS);
			assert_true(num((json_t *)e, "new") >= 4 * MS);
			avg = true;
		} else if (!strcmp(metric, "impact")) {
			assert_true(num((json_t *)e, "base") == nap_field(a, "impact"));
			assert_true(num((json_t *)e, "new") == nap_field(b, "impact"));
			assert_true(num((json_t *)e, "new") > num((json_t *)e, "base"));
		} else {
			fail_msg("an unexpected regression of nap's %s: %s", metric, saved);
		}
	}
	assert_true(p50 && avg);
	assert_int_equal(json_integer_value(json_object_get(root, "regression_count")),
			 json_array_size(regs));
	json_decref(root);
	test_drop(saved);
}

static void test_diff_refuses_bad_input(void **state)
{
	const char *good;
	char good_path[4200], newer[4200];
	struct test_run r;

	(void)state;
	good = fixture_report("base.json");
	snprintf(good_path, sizeof(good_path), "%s", good);
	snprintf(newer, sizeof(newer), "%s", out_path("newer.json"));
	write_file(newer, "{\"schema\": \"snag-report/3\"}\n");

	/* A report against itself: exit 0. */
	run_snag(&r, "diff", good_path, good_path, NULL);
	expect_status(&r, 0);
	test_run__free(&r);

	run_snag(&r, "diff", good_path, newer, NULL);
	expect_one_line_error(&r, newer, "schema snag-report/3", NULL);
	test_run__free(&r);
	run_snag(&r, "diff", "/nonexistent/a.json", good_path, NULL);
	expect_one_line_error(&r, "/nonexistent/a.json", NULL);
	test_run__free(&r);
	run_snag(&r, "diff", good_path, NULL);
	expect_one_line_error(&r, "compares two reports", NULL);
	test_run__free(&r);
	run_snag(&r, "diff", good_path, good_path, "--threshold", "ten", NULL);
	expect_one_line_error(&r, "invalid --threshold 'ten'", NULL);
	test_run__free(&r);
	run_snag(&r, "diff", good_path, good_path, "--min-count", "-3", NULL);
	expect_one_line_error(&r, "invalid --min-count '-3'", NULL);
	test_run__free(&r);
	run_snag(&r, "diff", good_path, good_path, "--format", "folded", NULL);
	expect_one_line_error(&r, "unknown diff format 'folded'", NULL);
	test_run__free(&r);
	/* Errors are 2, even when the failure is writing: 1 always means a regression. */
	run_snag(&r, "diff", good_path, good_path, "-o", "/nonexistent-dir/d.txt", NULL);
	expect_one_line_error(&r, "cannot write the diff", NULL);
	test_run__free(&r);
}

static int setup(void **state)
{
	(void)state;
	return itest_setup("latency");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_report_rerenders_a_recording),
	    itest_case(test_report_refuses_bad_files),
	    itest_case(test_diff_same_run_twice),
	    itest_case(test_diff_doubled_latency),
	    itest_case(test_diff_refuses_bad_input),
	};

	return cmocka_run_group_tests_name("report and diff", tests, setup, teardown);
}
