/* Unit tests: the text renderer (table, units, histograms, scheduler and I/O sections,
 * bottlenecks, cost line). */
#include <inttypes.h>
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
	/* Switches the kernel did not report are shown as rebuilt, not as drops. */
	assert_non_null(strstr(
	    text, "\nrebuilt (the kernel did not report them): 3 sched_unreported_switch_out\n"));
	assert_non_null(strstr(text, ", 0 dropped\n"));

	/* Where time went: per process, shares of its summed thread time, biggest first. */
	line = line_starting(text, "    PID COMM ");
	assert_int_equal(words(line, w, 16), 12);
	assert_string_equal(w[2], "THREADS");
	assert_string_equal(w[3], "WALL");
	assert_string_equal(w[4], "ON-CPU");
	assert_string_equal(w[5], "RUNQ");
	assert_string_equal(w[6], "DISK");
	assert_string_equal(w[7], "NET");
	assert_string_equal(w[8], "LOCK");
	assert_string_equal(w[9], "SLEEP");
	assert_string_equal(w[10], "EVENTS");
	assert_string_equal(w[11], "OTHER");
	free(line);
	/* The fixture's blocked time is unclassified: all of it in OTHER. */
	line = line_starting(text, "   1234 app ");
	assert_int_equal(words(line, w, 16), 12);
	assert_string_equal(w[2], "3");
	assert_string_equal(w[3], "3.00s");
	assert_string_equal(w[4], "46.7%");
	assert_string_equal(w[5], "4.0%");
	assert_string_equal(w[6], "0.0%");
	assert_string_equal(w[10], "0.0%");
	assert_string_equal(w[11], "49.3%");
	free(line);
	line = line_starting(text, "   2000 busy ");
	assert_int_equal(words(line, w, 16), 12);
	assert_string_equal(w[4], "60.0%");
	assert_string_equal(w[5], "40.0%");
	assert_string_equal(w[6], "0.0%");
	assert_string_equal(w[11], "0.0%");
	free(line);
	assert_true(strstr(text, "   1234 app ") < strstr(text, "   2000 busy "));

	/* Bottlenecks, with the scheduler's findings. */
	assert_contains(text, "  1. [medium] process 1234 (app) waited for locks 21.3% of its "
			      "threads' time");
	assert_contains(text, "evidence: lock_wait 640ms, waits 1,000, threads 1");
	assert_contains(text, "  3. [low] process 2000 (busy) waited for a CPU 40.0%");
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
	/* One scale: functions' impact is now a share of all threads' time (1 s, not 250 ms). */
	assert_contains(text, "  1. [medium] slow_io in /usr/bin/app");
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

/* The standard model with the I/O rows added after report__finish() (see fixture_io()). */
static struct report *io_model(void)
{
	struct report *r = model();

	assert_int_equal(fixture_io(r), 0);
	return r;
}

#define BLOCK_TITLE                                                                                \
	"Block I/O (by issuing process; buffered writes appear under the kernel flusher)\n"
#define NET_TITLE  "Network I/O (socket sends and receives; small = below 4.0KiB)\n"
#define CONN_TITLE "TCP connections (bytes sent and received; PID - when only retransmits"
#define SYSCALL_TITLE                                                                              \
	"Syscall I/O (read/write family, by process and fd type; small = below 4.0KiB)\n"

/* Split the line starting with prefix into words and check them against want (NULL-ended). */
static void expect_row(const char *text, const char *prefix, const char *const *want)
{
	char *line = line_starting(text, prefix), *w[16];
	int i, n = words(line, w, 16);

	for (i = 0; want[i]; i++) {
		if (i >= n)
			fail_msg("row \"%s\" has %d words, want more", prefix, n);
		if (strcmp(w[i], want[i]))
			fail_msg("row \"%s\" word %d is \"%s\", want \"%s\"", prefix, i, w[i],
				 want[i]);
	}
	assert_int_equal(n, i);
	free(line);
}

#define EXPECT_ROW(text, prefix, ...)                                                              \
	do {                                                                                       \
		static const char *const _w[] = {__VA_ARGS__, NULL};                               \
		expect_row(text, prefix, _w);                                                      \
	} while (0)

static void test_io_sections(void **state)
{
	struct report *r = io_model();
	char *text = render_text(r, false), *p;

	(void)state;
	/* After the function table, before the bottlenecks, in this order. */
	p = strstr(text, "nested functions overlap.\n\n" BLOCK_TITLE);
	assert_non_null(p);
	p = strstr(p, "\n\n" NET_TITLE);
	assert_non_null(p);
	p = strstr(p, "\n\n" CONN_TITLE);
	assert_non_null(p);
	p = strstr(p, "\n\n" SYSCALL_TITLE);
	assert_non_null(p);
	assert_non_null(strstr(p, "\n\nBottlenecks\n"));
	assert_null(strstr(text, "None seen."));
	assert_null(strstr(text, "\n\n\n"));

	/* Block I/O: sizes in binary units, latencies as the model holds them. */
	EXPECT_ROW(text, "    PID COMM            DEVICE ", "PID", "COMM", "DEVICE", "OP", "COUNT",
		   "BYTES", "AVG-SIZE", "P50", "P99", "MAX");
	EXPECT_ROW(text, "   1234 app             vda ", "1234", "app", "vda", "read", "104",
		   "656KiB", "6.3KiB", "190us", "1.48ms", "1.50ms");
	EXPECT_ROW(text, "     87 kworker/u16:2 ", "87", "kworker/u16:2", "nvme0n1p1", "write",
		   "20", "2.5MiB", "128KiB", "3.00ms", "3.00ms", "3.00ms");
	/* No comm: "-"; no device name: MAJ:MIN. */
	EXPECT_ROW(text, "   1234 -               253:0 ", "1234", "-", "253:0", "flush", "2", "0B",
		   "0B", "50.0us", "50.0us", "50.0us");
	assert_contains(text, "\nLatency is from request start to completion, time queued in the "
			      "I/O scheduler included.\n");

	/* Network I/O: protocol with family (or type), small share, errors. */
	EXPECT_ROW(text, "    PID COMM            PROTO ", "PID", "COMM", "PROTO", "DIR", "COUNT",
		   "BYTES", "AVG-SIZE", "SMALL%", "ERRORS");
	EXPECT_ROW(text, "   1234 app             tcp/ipv4       send ", "1234", "app", "tcp/ipv4",
		   "send", "1,000", "97.7KiB", "100B", "100.0%", "0");
	EXPECT_ROW(text, "   1234 app             tcp/ipv4       recv ", "1234", "app", "tcp/ipv4",
		   "recv", "400", "25.0MiB", "64.0KiB", "0.0%", "12");
	EXPECT_ROW(text, "   4321 resolver        udp/ipv6 ", "4321", "resolver", "udp/ipv6",
		   "send", "10", "400B", "40B", "100.0%", "0");
	/* Failures only: no average size or small share. */
	EXPECT_ROW(text, "   4321 resolver        unix/stream ", "4321", "resolver", "unix/stream",
		   "recv", "0", "0B", "-", "-", "3");

	/* TCP connections: an unknown owner is "-"; long addresses keep their port. */
	EXPECT_ROW(text, "    PID COMM            LOCAL ", "PID", "COMM", "LOCAL", "REMOTE", "SENT",
		   "RECV", "RETRANS");
	EXPECT_ROW(text, "   1234 app             127.0.0.1:40000 ", "1234", "app",
		   "127.0.0.1:40000", "127.0.0.1:5432", "97.7KiB", "25.0MiB", "3");
	EXPECT_ROW(text, "      - -               ...", "-", "-", "...:8a2e:370:7334]:51234",
		   "...1:2:8a2e:370:7334]:443", "0B", "0B", "5");
	assert_null(strstr(text, FIXTURE_LONG_REMOTE));

	/* Syscall I/O. */
	EXPECT_ROW(text, "    PID COMM            SYSCALL ", "PID", "COMM", "SYSCALL", "FD",
		   "COUNT", "BYTES", "AVG-SIZE", "SMALL%", "ERRORS", "P50", "P99");
	EXPECT_ROW(text, "   1234 app             read     pipe ", "1234", "app", "read", "pipe",
		   "4,096", "16.0MiB", "4.0KiB", "0.0%", "0", "4.50us", "61.0us");
	EXPECT_ROW(text, "   1234 app             write ", "1234", "app", "write", "file", "1,000",
		   "500KiB", "512B", "100.0%", "0", "20.0us", "20.0us");
	EXPECT_ROW(text, "   1234 app             read     socket ", "1234", "app", "read",
		   "socket", "400", "25.0MiB", "64.0KiB", "0.0%", "12", "2.00us", "2.00us");
	EXPECT_ROW(text, "   1234 -               pwrite64 ", "1234", "-", "pwrite64", "file", "1",
		   "1.0MiB", "1.0MiB", "0.0%", "0", "900us", "900us");

	/* Rows keep the report's order. */
	assert_true(strstr(text, " vda ") < strstr(text, " nvme0n1p1 "));
	assert_true(strstr(text, " pipe ") < strstr(text, " pwrite64 "));
	/* No size histograms without --histogram. */
	assert_null(strstr(text, "<= "));
	assert_null(strstr(text, "more block I/O rows"));
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_io_off(void **state)
{
	struct report *r = model();
	char *text;

	(void)state;
	/* A --small-io default, but the collector was off: no I/O section at all. */
	r->small_io_bytes = FIXTURE_SMALL_IO;
	text = render_text(r, true);
	assert_null(strstr(text, "Block I/O"));
	assert_null(strstr(text, "Network I/O"));
	assert_null(strstr(text, "TCP connections"));
	assert_null(strstr(text, "Syscall I/O"));
	assert_null(strstr(text, "None seen."));
	free(text);
	report__free(r);
}

static void test_io_empty(void **state)
{
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_non_null(r);
	r->target.mode = TARGET_SYSTEM;
	r->io_enabled = true;
	r->small_io_bytes = FIXTURE_SMALL_IO;
	report__finish(r);
	text = render_text(r, true);
	/* An I/O-only trace: no function summary, and the sections follow the header. */
	assert_int_equal(
	    strncmp(text, "Traced all processes for 0ns\n\n" BLOCK_TITLE "None seen.\n",
		    strlen("Traced all processes for 0ns\n\n" BLOCK_TITLE "None seen.\n")),
	    0);
	assert_contains(text, "\n\n" NET_TITLE "None seen.\n");
	assert_contains(text, "\n\n" CONN_TITLE);
	assert_contains(text, "\n\n" SYSCALL_TITLE "None seen.\n");
	assert_int_equal(count_lines(text, "None seen."), 4);
	assert_null(strstr(text, "No functions were traced."));
	assert_null(strstr(text, "    PID COMM"));
	assert_null(strstr(text, "\n\n\n"));
	free(text);
	report__free(r);
}

static void test_io_after_sched(void **state)
{
	struct report *r = sched_model();
	char *text;

	(void)state;
	assert_int_equal(fixture_io(r), 0);
	text = render_text(r, false);
	assert_non_null(strstr(text, "\nThreads (by off-CPU time)\n"));
	assert_true(strstr(text, "\nThreads (by off-CPU time)\n") <
		    strstr(text, "\n\n" BLOCK_TITLE));
	assert_true(strstr(text, "\n\n" SYSCALL_TITLE) < strstr(text, "\n\nBottlenecks\n"));
	assert_null(strstr(text, "\n\n\n"));
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_io_row_cap(void **state)
{
	struct report *r = io_model();
	char *text;
	int i;

	(void)state;
	/* 4 + 25 syscall rows, 2 + 21 connections: 20 of each shown. */
	for (i = 0; i < 25; i++)
		assert_non_null(report__add_syscall_io(r, 7000, "many", "read", "file"));
	for (i = 0; i < 21; i++)
		assert_non_null(
		    report__add_net_conn(r, 7100, "conns", "ipv4", "10.0.0.1:1", "10.0.0.2:2"));
	text = render_text(r, false);
	assert_int_equal(count_lines(text, "   7000 many "), 16);
	assert_contains(text, "\n... 9 more syscall I/O rows (--format json lists them all)\n");
	assert_int_equal(count_lines(text, "   7100 conns "), 18);
	assert_contains(text, "\n... 3 more TCP connections (--format json lists them all)\n");
	/* Sections under the cap say nothing. */
	assert_null(strstr(text, "more block I/O rows"));
	assert_null(strstr(text, "more network I/O rows"));
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_io_byte_units(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
	    {0, "0B"},
	    {100, "100B"},
	    {1023, "1023B"},
	    {1024, "1.0KiB"},
	    {4096, "4.0KiB"},
	    {102348, "99.9KiB"},  /* 99.949 KiB */
	    {102349, "100KiB"},	  /* 99.950 KiB */
	    {1048063, "1023KiB"}, /* 1023.499 KiB */
	    {1048064, "1.0MiB"},  /* 1023.5 KiB would read "1024KiB" */
	    {1258291, "1.2MiB"},  /* 1.19999 MiB */
	    {5ULL << 40, "5.0TiB"},
	    {UINT64_MAX, "16.0EiB"},
	};
	struct report *r = report__new();
	char *text, prefix[32];
	size_t i;

	(void)state;
	assert_non_null(r);
	r->io_enabled = true;
	r->small_io_bytes = 1000;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct report_syscall_io *s =
		    report__add_syscall_io(r, 100 + (int)i, "units", "write", "file");

		assert_non_null(s);
		s->count = 1;
		s->bytes = cases[i].bytes;
	}
	text = render_text(r, false);
	assert_contains(text, "\nSyscall I/O (read/write family, by process and fd type; small = "
			      "below 1000B)\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line, *w[16];

		snprintf(prefix, sizeof(prefix), "%7zu units ", 100 + i);
		line = line_starting(text, prefix);
		assert_int_equal(words(line, w, 16), 11);
		if (strcmp(w[5], cases[i].want) || strcmp(w[6], cases[i].want))
			fail_msg("%" PRIu64 " bytes: \"%s\" / \"%s\", want \"%s\"", cases[i].bytes,
				 w[5], w[6], cases[i].want);
		free(line);
	}
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

static void test_io_histogram(void **state)
{
	struct report *r = io_model();
	char *text, *p, bars[51];

	(void)state;
	/* A size beyond the layout's range: the open-ended last bucket. */
	r->syscall_io[3].size_hist[SNAG_SIZE_HIST_BUCKETS - 1] = 1;
	/* 0 bytes to beyond 4 GiB: 34 buckets, two per row. */
	r->syscall_io[2].size_hist[0] = 1;
	r->syscall_io[2].size_hist[SNAG_SIZE_HIST_BUCKETS - 1] = 2;
	text = render_text(r, true);
	p = strstr(text, "\n   1234 app             read     socket ");
	assert_non_null(p);
	p = strchr(p + 1, '\n') + 1;
	assert_int_equal(strncmp(p, "         <= 1B |", 16), 0);
	p = strstr(p, "    <= 64.0KiB |");
	assert_non_null(p);
	assert_non_null(strstr(p, " 400\n"));
	p = strstr(p, "\n     <= 1.0GiB |");
	assert_non_null(p);
	/* The last row merges (1 GiB, 2 GiB] with the open-ended bucket. */
	assert_int_equal(strncmp(strchr(p + 1, '\n'), "\n      > 1.0GiB |", 17), 0);
	assert_non_null(strstr(p + 1, "2\n\n   1234 -               pwrite64 "));
	memset(bars, '#', 50);
	bars[50] = '\0';
	/* Block row 0: 100 x 4 KiB, 4 x 64 KiB, every bucket in between listed. */
	p = strstr(text, "\n   1234 app             vda ");
	assert_non_null(p);
	p = strchr(p + 1, '\n');
	assert_non_null(p);
	{
		char want[512];

		snprintf(want, sizeof(want),
			 "\n     <= 4.0KiB |%s 100\n     <= 8.0KiB |%50s 0\n    <= 16.0KiB |%50s "
			 "0\n    <= 32.0KiB |%50s 0\n    <= 64.0KiB |##%48s 4\n\n     87 ",
			 bars, "", "", "", "");
		if (strncmp(p, want, strlen(want)))
			fail_msg("block histogram:\n%.400s\nwant:\n%s", p, want);
		/* The last row's histogram ends the table: the note follows it directly. */
		snprintf(want, sizeof(want), "\n         <= 0B |%s 2\nLatency is from ", bars);
		assert_contains(text, want);
		snprintf(want, sizeof(want), "\n     <= 4.0KiB |%s 4096\n\n   1234 app ", bars);
		assert_contains(text, want);
		/* The last bucket is open-ended; the section ends with the last histogram. */
		snprintf(want, sizeof(want), "\n     <= 1.0MiB |%s 1\n     <= 2.0MiB |%50s 0\n",
			 bars, "");
		assert_contains(text, want);
		snprintf(want, sizeof(want),
			 "\n     <= 2.0GiB |%50s 0\n      > 2.0GiB |%s 1\n\nBottlenecks\n", "",
			 bars);
		assert_contains(text, want);
	}
	/* Network rows have no histogram. */
	assert_contains(text, " 1,000 97.7KiB     100B 100.0%       0\n   1234 app ");
	assert_null(strstr(text, "\n\n\n"));
	assert_lines_fit(text, 100);
	free(text);
	report__free(r);
}

/* The memory sections: per-process RSS, outstanding stacks, hotspots, sampling, cost. */
static void test_mem_sections(void **state)
{
	struct report *r = fixture_model();
	char *text, *line, *w[16];

	(void)state;
	assert_non_null(r);
	assert_int_equal(fixture_add_mem(r), 0);
	report__finish(r);
	text = render_text(r, false);
	assert_contains(text, "memory of 1 process");
	line = line_starting(text, "   1234 app ");
	assert_int_equal(words(line, w, 16), 8);
	assert_string_equal(w[2], "4.0MiB"); /* RSS at the end */
	assert_string_equal(w[3], "4.0MiB"); /* peak sampled */
	assert_string_equal(w[4], "5.0MiB"); /* HWM */
	assert_string_equal(w[5], "-");	     /* one point: no growth */
	assert_string_equal(w[6], "20");
	free(line);
	assert_contains(text, "  1. heap 200KiB in 200 blocks, growth -; allocated 200 (200KiB), "
			      "freed 0\n     process 1234 (app)\n           leak_block\n");
	assert_contains(text, "  2. mmap 64.0KiB in 1 block,");
	assert_contains(text, "(no stack: see mem_no_user_stack)");
	assert_contains(text, "Sampled: one allocation call in 10 was recorded");
	/* Hotspots by count: the churn first, with its rate over the 125 ms trace. */
	line = line_starting(text, "   1234 app             heap   500,000");
	assert_int_equal(words(line, w, 16), 10);
	assert_string_equal(w[4], "4,000,000");
	assert_string_equal(w[6], "64B");
	assert_string_equal(w[7], "100.0%");
	assert_string_equal(w[8], "2.00us");
	assert_string_equal(w[9], "churn_once");
	free(line);
	assert_contains(text, "memory: 500,100 allocation and 500,000 free() calls probed; one");
	assert_contains(text, "in 10 recorded; 7");
	assert_contains(text, "or not sampled)");
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
	    cmocka_unit_test(test_sched_only_report),
	    cmocka_unit_test(test_offcpu_stacks),
	    cmocka_unit_test(test_offcpu_limits),
	    cmocka_unit_test(test_threads_table),
	    cmocka_unit_test(test_functions_and_sched),
	    cmocka_unit_test(test_sched_empty),
	    cmocka_unit_test(test_io_sections),
	    cmocka_unit_test(test_io_off),
	    cmocka_unit_test(test_io_empty),
	    cmocka_unit_test(test_io_after_sched),
	    cmocka_unit_test(test_io_row_cap),
	    cmocka_unit_test(test_io_byte_units),
	    cmocka_unit_test(test_io_histogram),
	    cmocka_unit_test(test_mem_sections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
