/* Unit tests: the text renderer (table, units, histograms, scheduler sections, bottlenecks, cost
 * line). */
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

#define S_NS	  1000000000ULL
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
	assert_null(strstr(text, "Where time went"));
	assert_null(strstr(text, "Top off-CPU stacks"));
	assert_null(strstr(text, "\nThreads"));
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
	assert_contains(text, "Bottlenecks: none (no function above 5% of traced thread time)");
	/* The scheduler collector was off: none of its sections. */
	assert_null(strstr(text, "Where time went"));
	assert_null(strstr(text, "off-CPU"));
	assert_contains(text, "snag cost: no BPF program runs recorded, 0 dropped");
	free(text);
	report__free(r);
}

/* Count the lines of text starting with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	const char *p = text;
	int n = 0;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return n;
}

static struct report *sched_model(void)
{
	struct report *r = fixture_sched_model();

	assert_non_null(r);
	report__finish(r);
	return r;
}

static void test_sched_only_report(void **state)
{
	struct report *r = sched_model();
	char *text = render_text(r, false), *line, *w[16];

	(void)state;
	/* No function table, no "no functions" remark: the header goes straight to the sections. */
	assert_int_equal(strncmp(text,
				 "Traced all processes for 1.00s: 4 threads in 2 processes (4.00s "
				 "of thread time)\n\nWhere time went",
				 strlen("Traced all processes for 1.00s: 4 threads in 2 processes "
					"(4.00s of thread time)\n\nWhere time went")),
			 0);
	assert_null(strstr(text, "FUNCTION"));
	assert_null(strstr(text, "No functions"));
	assert_null(strstr(text, "IMPACT is the share"));
	assert_null(strstr(text, "\n\n\n"));

	/* Where time went: per process, shares of its summed thread time, biggest first. */
	line = line_starting(text, "    PID COMM ");
	assert_int_equal(words(line, w, 16), 9);
	assert_string_equal(w[2], "THREADS");
	assert_string_equal(w[3], "WALL");
	assert_string_equal(w[4], "ON-CPU");
	assert_string_equal(w[5], "RUNQ");
	assert_string_equal(w[6], "BLOCKED");
	assert_string_equal(w[7], "VOL-SW");
	assert_string_equal(w[8], "INVOL-SW");
	free(line);
	line = line_starting(text, "   1234 app ");
	assert_int_equal(words(line, w, 16), 9);
	assert_string_equal(w[2], "3");
	assert_string_equal(w[3], "3.00s");
	assert_string_equal(w[4], "46.7%");
	assert_string_equal(w[5], "4.0%");
	assert_string_equal(w[6], "49.3%");
	assert_string_equal(w[7], "2,300");
	assert_string_equal(w[8], "55");
	free(line);
	line = line_starting(text, "   2000 busy ");
	assert_int_equal(words(line, w, 16), 9);
	assert_string_equal(w[4], "60.0%");
	assert_string_equal(w[5], "40.0%");
	assert_string_equal(w[6], "0.0%");
	assert_string_equal(w[8], "4,000");
	free(line);
	assert_true(strstr(text, "   1234 app ") < strstr(text, "   2000 busy "));

	/* Bottlenecks, with the scheduler's findings. */
	assert_contains(text, "  1. [high] process 2000 (busy) waited for a CPU 40.0%");
	assert_contains(text,
			"  2. [medium] thread 1235 (worker) spent 16.0% of traced thread time");
	assert_contains(text, "evidence: count 1,000, total 640ms, max 5.00ms, avg 640us, impact "
			      "16.0%");
	assert_contains(text, "-> lock contention in cache_get");
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_offcpu_stacks(void **state)
{
	struct report *r = sched_model();
	char *text = render_text(r, false), *p;

	(void)state;
	assert_contains(text, "\nTop off-CPU stacks (by impact");
	assert_contains(text, "\nNote: stacks for blocks >= 100us;");
	/* Rank, reason, total, count, max, impact; thread and waker. */
	assert_contains(text, "\n  1. blocked   total 640ms  count 1,000  max 5.00ms  impact "
			      "16.0% (medium)\n     thread 1234/1235 (worker), woken by 1234/1240 "
			      "(writer)\n");
	assert_contains(text, "\n  2. blocked   total 600ms  count 60  max 10.5ms  impact 15.0% "
			      "(medium)\n     thread 1234 (app)\n");
	assert_contains(text, "\n  3. preempted total 300ms  count 3,000  max 4.00ms  impact 7.5% "
			      "(low)\n     thread 2000 (busy)\n");
	/* Kernel frames first, marked, then user frames, innermost first, then the waker's. */
	p = strstr(text, "\n  1. blocked");
	assert_non_null(p);
	assert_int_equal(strncmp(strstr(p, "(writer)\n") + 9,
				 "       [k] __schedule\n       [k] schedule\n       [k] "
				 "futex_wait_queue\n",
				 strlen("       [k] __schedule\n       [k] schedule\n       [k] "
					"futex_wait_queue\n")),
			 0);
	assert_contains(text, "       [k] do_syscall_64\n           __lll_lock_wait\n           "
			      "pthread_mutex_lock\n");
	assert_contains(text,
			"           start_thread\n     waker's stack:\n       [k] futex_wake\n"
			"       [k] do_futex\n           __lll_lock_wake\n");
	/* Only the first entry has a waker. */
	assert_int_equal(count_lines(text, "     waker's stack:"), 1);
	assert_int_equal(count_lines(text, "     thread "), 4);
	assert_null(strstr(text, "more off-CPU stacks"));
	assert_null(strstr(text, "truncated"));
	free(text);
	report__free(r);
}

static void test_offcpu_limits(void **state)
{
	const char *deep[31];
	struct report *r = sched_model();
	char *text, name[16];
	int i;

	(void)state;
	for (i = 0; i < 30; i++) {
		char *f = malloc(16);

		assert_non_null(f);
		snprintf(f, 16, "frame%02d", i);
		deep[i] = f;
	}
	deep[30] = NULL;
	/* A deep, truncated user stack on the top entry. */
	assert_int_equal(report_stack__set(&r->offcpu[0].user_stack, deep, 30, true), 0);
	/* 12 more small entries: 16 in all, 10 shown. */
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "small%d", i);
		fixture_offcpu(r, 3000, 3000 + i, name, OFFCPU_BLOCKED, 1, 1000, 1000, NULL, NULL);
	}
	report__finish(r);
	text = render_text(r, false);
	assert_contains(text, "           frame11\n           ... 18 more\n           ... "
			      "(truncated: the outermost frames were not captured)\n");
	assert_null(strstr(text, "frame12"));
	assert_contains(text, "\n 10. blocked ");
	assert_null(strstr(text, "\n 11. "));
	assert_contains(text, "\n... 6 more off-CPU stacks (--format json lists them all)\n");
	/* Entries with no stacks say so. */
	assert_contains(text, "(no stack captured)");
	assert_lines_fit(text, 100);
	free(text);
	for (i = 0; i < 30; i++)
		free((void *)deep[i]);
	report__free(r);
}

static void test_threads_table(void **state)
{
	struct report *r = sched_model();
	char *text = render_text(r, false), *line, *w[16];
	int i;

	(void)state;
	line = line_starting(text, "    PID     TID COMM ");
	assert_int_equal(words(line, w, 16), 10);
	assert_string_equal(w[3], "ON-CPU");
	assert_string_equal(w[4], "OFF-CPU");
	assert_string_equal(w[5], "BLOCKED");
	assert_string_equal(w[6], "RUNQ");
	assert_string_equal(w[7], "RUNQ-P99");
	assert_string_equal(w[8], "VOL-SW");
	assert_string_equal(w[9], "INVOL-SW");
	free(line);
	/* By off-CPU time: app 800 ms, worker 700 ms, busy 400 ms, writer 100 ms. */
	assert_true(strstr(text, "   1234    1234 app") < strstr(text, "   1234    1235 worker"));
	assert_true(strstr(text, "   1234    1235 worker") < strstr(text, "   2000    2000 busy"));
	assert_true(strstr(text, "   2000    2000 busy") < strstr(text, "   1234    1240 writer"));
	line = line_starting(text, "   2000    2000 busy ");
	assert_int_equal(words(line, w, 16), 10);
	assert_string_equal(w[3], "600ms");
	assert_string_equal(w[4], "400ms");
	assert_string_equal(w[5], "0ns");
	assert_string_equal(w[6], "400ms");
	assert_string_equal(w[7], "2.04ms");
	assert_string_equal(w[8], "10");
	assert_string_equal(w[9], "4,000");
	free(line);
	/* No run-queue histogram: no p99. */
	line = line_starting(text, "   1234    1234 app ");
	assert_int_equal(words(line, w, 16), 10);
	assert_string_equal(w[7], "-");
	free(line);
	free(text);
	/* Top 20 of 30, with a note. */
	for (i = 0; i < 26; i++)
		assert_non_null(fixture_sched(r, 5000, 5000 + i, "many", S_NS, S_NS, 0, 0, 0, 0));
	report__finish(r);
	text = render_text(r, false);
	assert_int_equal(count_lines(text, "   5000    50"), 20 - 4);
	assert_contains(text, "\n... 10 more threads (--format json lists them all)\n");
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_functions_and_sched(void **state)
{
	struct report *r = fixture_model();
	char *text;

	(void)state;
	assert_non_null(r);
	assert_non_null(fixture_sched(r, 1234, 1234, "app", S_NS, S_NS / 2, S_NS / 2, 0, 3, 0));
	report__finish(r);
	text = render_text(r, false);
	assert_contains(text, "Traced pid 1234 for 125ms: 3 functions in 2 threads (250ms of "
			      "thread time); scheduler: 1 thread in 1\n  process (1.00s of thread "
			      "time)\n");
	/* The function table stays as it was, and the sections follow it. */
	assert_contains(text, "nested functions overlap.\n\nWhere time went");
	assert_contains(text, "\nTop off-CPU stacks (by impact");
	assert_contains(text, "\nNone recorded.\n");
	assert_null(strstr(text, "Note: stacks for blocks"));
	assert_contains(text, "  1. [high] slow_io in /usr/bin/app");
	free(text);
	report__free(r);
}

static void test_sched_empty(void **state)
{
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_non_null(r);
	r->sched_enabled = true;
	r->min_block_ns = 1000000;
	report__finish(r);
	text = render_text(r, false);
	assert_contains(text,
			"Traced pid - for 0ns: 0 threads in 0 processes (0ns of thread time)");
	assert_contains(text, "No thread of the target was seen on a CPU.");
	assert_contains(text, "Note: stacks for blocks >= 1.00ms;");
	assert_contains(text, "None recorded.");
	assert_null(strstr(text, "\nThreads"));
	assert_contains(text, "Bottlenecks: none (no function or off-CPU stack above 5% of thread "
			      "time, no process waiting for a CPU above 5% of its time)");
	free(text);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_and_table),	cmocka_unit_test(test_bottlenecks_and_cost),
	    cmocka_unit_test(test_histogram),		cmocka_unit_test(test_empty_report),
	    cmocka_unit_test(test_sched_only_report),	cmocka_unit_test(test_offcpu_stacks),
	    cmocka_unit_test(test_offcpu_limits),	cmocka_unit_test(test_threads_table),
	    cmocka_unit_test(test_functions_and_sched), cmocka_unit_test(test_sched_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
