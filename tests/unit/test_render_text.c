/* Unit tests: the text renderer (table, units, histograms, bottlenecks, cost line). */
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

#define LONG_NAME "a_really_long_function_name_that_does_not_fit_in_the_table"

static char *render_text(const struct report *r, bool histogram)
{
	struct render_opts o = {.histogram = histogram};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, FORMAT_TEXT, &o, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* The line of text that starts with prefix (as a new string), or fail. */
static char *line_starting(const char *text, const char *prefix)
{
	const char *p = text;

	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (!strncmp(p, prefix, strlen(prefix)))
			return strndup(p, len);
		p = end ? end + 1 : NULL;
	}
	fail_msg("no line starting with \"%s\" in:\n%s", prefix, text);
	return NULL;
}

/* Split a line on spaces into at most max words (modifies line). Returns the count. */
static int words(char *line, char **w, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return n;
}

static void assert_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, text);
}

static void assert_lines_fit(const char *text, size_t width)
{
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len > width)
			fail_msg("line longer than %zu columns: %.*s", width, (int)len, p);
		p += len + (p[len] == '\n');
	}
}

static struct report *model(void)
{
	struct report *r = fixture_model();

	assert_non_null(r);
	/* A long name and path, and a second never-called probe. */
	fixture_function(r, "/usr/lib/x86_64-linux-gnu/libsomething-quite-long.so.1", LONG_NAME,
			 0x42);
	report__finish(r);
	return r;
}

static void test_header_and_table(void **state)
{
	struct report *r = model();
	char *text = render_text(r, false), *line, *w[16];

	(void)state;
	assert_contains(text, "Traced pid 1234 for 125ms: 4 functions in 2 threads (250ms of "
			      "thread time)");
	assert_contains(text, "-u 'app:slow_*' -u 'app:fast_*'");
	line = line_starting(text, "FUNCTION ");
	assert_int_equal(words(line, w, 16), 11);
	assert_string_equal(w[1], "BINARY");
	assert_string_equal(w[2], "COUNT");
	assert_string_equal(w[3], "AVG");
	assert_string_equal(w[4], "P50");
	assert_string_equal(w[5], "P90");
	assert_string_equal(w[6], "P99");
	assert_string_equal(w[7], "MAX");
	assert_string_equal(w[8], "TOTAL");
	assert_string_equal(w[9], "IMPACT");
	assert_string_equal(w[10], "SEVERITY");
	free(line);

	line = line_starting(text, "slow_io ");
	assert_int_equal(words(line, w, 16), 11);
	assert_string_equal(w[1], "app"); /* basename only */
	assert_string_equal(w[2], "50");
	assert_string_equal(w[3], "2.15ms");
	assert_string_equal(w[4], "2.14ms");
	assert_string_equal(w[6], "2.29ms");
	assert_string_equal(w[7], "2.29ms");
	assert_string_equal(w[8], "107ms");
	assert_string_equal(w[9], "42.9%");
	assert_string_equal(w[10], "high");
	free(line);

	line = line_starting(text, "fast_hash ");
	assert_int_equal(words(line, w, 16), 11);
	assert_string_equal(w[2], "2000");
	assert_string_equal(w[3], "2.00us");
	assert_string_equal(w[8], "4.00ms");
	assert_string_equal(w[9], "1.6%");
	assert_string_equal(w[10], "low");
	free(line);

	/* A probe that never fired is listed, with "-" for its times. */
	line = line_starting(text, "never_called ");
	assert_int_equal(words(line, w, 16), 11);
	assert_string_equal(w[2], "0");
	assert_string_equal(w[3], "-");
	assert_string_equal(w[8], "-");
	free(line);

	/* Sorted by impact: slow_io's row comes first. */
	assert_true(strstr(text, "\nslow_io ") < strstr(text, "\nfast_hash "));
	assert_true(strstr(text, "\nfast_hash ") < strstr(text, "\nnever_called "));

	/* Long names are cut with an ellipsis in the table, kept whole elsewhere. */
	assert_null(strstr(text, LONG_NAME));
	assert_contains(text, "\na_really_long_fun... ");
	assert_contains(text, "...");
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_bottlenecks_and_cost(void **state)
{
	struct report *r = model();
	char *text = render_text(r, false);

	(void)state;
	assert_contains(text, "\nBottlenecks\n");
	assert_contains(text, "  1. [high] slow_io in /usr/bin/app takes 42.9% of traced thread");
	assert_contains(text,
			"evidence: count 50, total 107ms, p50 2.14ms, p99 2.29ms, avg 2.15ms, "
			"impact 42.9%");
	assert_contains(text, "      -> largest share of time: trace its callees");
	assert_contains(text, "\nsnag cost: 95 ns/event over 1,234 events (BPF run time), 12 "
			      "dropped\n");
	assert_contains(text, "\ndropped: 12 unmatched_return\n");
	/* Zero-count drop causes are not listed. */
	assert_null(strstr(text, "nesting_too_deep"));
	assert_null(strstr(text, " |#"));
	free(text);
	report__free(r);
}

static void test_histogram(void **state)
{
	struct report *r = model();
	char *text = render_text(r, true), *p;
	int rows = 0, in_fast = 0;

	(void)state;
	assert_contains(text, "|#");
	/* Every bar row is indented, has a range, a bar and a count; at most 20 per function. */
	for (p = strstr(text, "\nfast_hash "); p && *p; p = strchr(p, '\n')) {
		p++;
		if (!strncmp(p, "    ", 4) && strstr(p, " .. ") && strchr(p, '|')) {
			rows++;
			in_fast = 1;
		} else if (in_fast) {
			break;
		}
	}
	assert_in_range(rows, 2, 20);
	/* The fullest row has the longest bar: 50 '#'. */
	assert_contains(text, "##################################################");
	/* slow_io's range 1.97ms .. 2.36ms with a row holding its 22-call bucket. */
	assert_contains(text, "    1.97ms .. ");
	assert_contains(text, " 22\n");
	/* never_called has no bar rows: the next line is the next function's row. */
	p = strchr(strstr(text, "\nnever_called "), '\n');
	assert_non_null(p);
	p = strchr(p + 1, '\n');
	assert_non_null(p);
	assert_int_equal(strncmp(p + 1, "a_really_long", 13), 0);
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_empty_report(void **state)
{
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_non_null(r);
	r->target.mode = TARGET_SYSTEM;
	report__finish(r);
	text = render_text(r, true);
	assert_contains(text, "all processes");
	assert_contains(text, "No functions were traced.");
	assert_contains(text, "Bottlenecks: none");
	assert_contains(text, "snag cost: no BPF program runs recorded, 0 dropped");
	free(text);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_and_table),
	    cmocka_unit_test(test_bottlenecks_and_cost),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_empty_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
