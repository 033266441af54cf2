/* Integration tests: `snag selftest` traces its built-in workloads with real BPF, passes on this
 * machine, and fails when a workload does not do what it should. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/magic.h>
#include "itest.h"

#define MAX_LINES     64
#define N_GROUPS      5
#define TIME_LIMIT_S  30.0
#define RUN_TIMEOUT_S 90

static const char *const groups[N_GROUPS] = {"function", "offcpu", "block", "syscall", "net"};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print what snag selftest wrote, whole: cmocka cuts its own messages at 1 KiB. */
static void show(const struct test_run *r)
{
	fprintf(stderr, "snag selftest exited %d; stdout:\n%s\nstderr:\n%s\n", r->status, r->out,
		r->err);
}

/* Run snag selftest with the extra arguments (NULL-terminated); *wall_s gets its wall time. */
static void run_selftest(struct test_run *r, double *wall_s, ...)
{
	char *argv[16] = {snag_path, "selftest"};
	int argc = 2;
	double start = now_s();
	va_list ap;
	char *a;

	va_start(ap, wall_s);
	while ((a = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, RUN_TIMEOUT_S, r), 0);
	if (wall_s)
		*wall_s = now_s() - start;
}

/*
 * The lines of the check table: after the "GROUP" header, up to the first
 * empty line. Copies into lines (each malloc'd); returns how many.
 */
static int check_lines(const char *out, char **lines, int max)
{
	const char *p = strstr(out, "\nGROUP ");
	int n = 0;

	if (!p)
		fail_msg("no check table in:\n%s", out);
	p = strchr(p + 1, '\n');
	while (p && p[1] && p[1] != '\n' && n < max) {
		const char *end = strchr(p + 1, '\n');

		lines[n++] = strndup(p + 1, end ? (size_t)(end - p - 1) : strlen(p + 1));
		p = end;
	}
	return n;
}

static void free_lines(char **lines, int n)
{
	for (int i = 0; i < n; i++)
		test_drop(lines[i]);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int group_index(const char *line)
{
	for (int g = 0; g < N_GROUPS; g++)
		if (!strncmp(line, groups[g], strlen(groups[g])) && line[strlen(groups[g])] == ' ')
			return g;
	return -1;
}

/* The seconds in "Total time 1.23s: ..." (units ns, us, ms, s), or fail. */
static double total_time_s(const char *out)
{
	const char *p = strstr(out, "\nTotal time ");
	char unit[8] = "";
	double v;

	if (!p || sscanf(p, "\nTotal time %lf%7[a-z]:", &v, unit) != 2)
		fail_msg("no total time line in:\n%s", out);
	if (!strcmp(unit, "s"))
		return v;
	if (!strcmp(unit, "ms"))
		return v / 1e3;
	if (!strcmp(unit, "us"))
		return v / 1e6;
	if (!strcmp(unit, "ns"))
		return v / 1e9;
	fail_msg("unknown unit '%s' in the total time", unit);
	return 0;
}

/* The check line of the group whose check name starts with name, or fail. */
static const char *find_check(char **lines, int n, const char *group, const char *name)
{
	for (int i = 0; i < n; i++) {
		const char *rest = lines[i] + strlen(group);

		if (group_index(lines[i]) >= 0 && !strncmp(lines[i], group, strlen(group)) &&
		    !strncmp(rest + strspn(rest, " "), name, strlen(name)))
			return lines[i];
	}
	fail_msg("no %s check '%s'", group, name);
	return NULL;
}

/* On this machine every check passes, in every group, well within the time limit. */
static void test_selftest_passes(void **state)
{
	char *lines[MAX_LINES];
	int n, seen[N_GROUPS] = {0};
	struct test_run r;
	double wall;
	const char *calls;

	(void)state;
	require_bpf();
	run_selftest(&r, &wall, NULL);
	if (r.status != 0) {
		show(&r);
		fail_msg("snag selftest exited %d", r.status);
	}
	n = check_lines(r.out, lines, MAX_LINES);
	assert_true(n >= 2 * N_GROUPS);
	for (int i = 0; i < n; i++) {
		int g = group_index(lines[i]);

		if (g < 0)
			fail_msg("check line of no known group: '%s'", lines[i]);
		if (!ends_with(lines[i], " PASS")) {
			show(&r);
			fail_msg("check did not pass: '%s'", lines[i]);
		}
		seen[g]++;
	}
	for (int g = 0; g < N_GROUPS; g++)
		if (!seen[g]) {
			show(&r);
			fail_msg("no %s checks", groups[g]);
		}
	/* The numbers are on the line: 50 expected, 50 measured. */
	calls = find_check(lines, n, "function", "calls of snag_selftest_sleep_2ms");
	assert_non_null(strstr(calls, " 50         50 "));
	/* Every workload's cost row has events, a BPF run time per event and both timings. */
	for (int g = 0; g < N_GROUPS; g++) {
		char row[64], name[16], events[16], per[16], total[16], untraced[16], traced[16];
		const char *p;

		snprintf(row, sizeof(row), "\n%s ", groups[g]);
		p = strstr(strstr(r.out, "\nWORKLOAD "), row);
		if (!p ||
		    sscanf(p, "%15s %15s %15s %15s %15s %15s", name, events, per, total, untraced,
			   traced) != 6 ||
		    !strcmp(events, "-") || !strcmp(per, "-") || !strcmp(untraced, "-") ||
		    !strcmp(traced, "-")) {
			show(&r);
			fail_msg("no complete cost row for %s", groups[g]);
		}
	}
	if (total_time_s(r.out) >= TIME_LIMIT_S || wall >= TIME_LIMIT_S)
		fail_msg("selftest took %.1f s (it says %.1f s), limit %.0f s", wall,
			 total_time_s(r.out), TIME_LIMIT_S);
	/* Its own clock runs inside ours; it prints 3 significant digits (up to 0.5% high). */
	if (total_time_s(r.out) > wall * 1.005)
		fail_msg("selftest says it took %.3f s, longer than the %.3f s it ran",
			 total_time_s(r.out), wall);
	assert_string_equal(r.err, "");
	free_lines(lines, n);
	test_run__free(&r);
}

/*
 * Proof that it can fail: SNAG_SELFTEST_SKEW=1 makes every workload do one
 * unit of work more than selftest expects (51 calls, 21 sleeps, 201 direct
 * writes, 10,001 small writes, 1,001 messages); each group must catch it.
 */
static void test_selftest_catches_skew(void **state)
{
	char *lines[MAX_LINES];
	int n, failed[N_GROUPS] = {0};
	struct test_run r;
	const char *calls;

	(void)state;
	require_bpf();
	setenv("SNAG_SELFTEST_SKEW", "1", 1);
	run_selftest(&r, NULL, NULL);
	unsetenv("SNAG_SELFTEST_SKEW");
	if (r.status != 1) {
		show(&r);
		fail_msg("want exit 1 from a skewed selftest, got %d", r.status);
	}
	n = check_lines(r.out, lines, MAX_LINES);
	for (int i = 0; i < n; i++)
		if (ends_with(lines[i], " FAIL") && group_index(lines[i]) >= 0)
			failed[group_index(lines[i])]++;
	for (int g = 0; g < N_GROUPS; g++)
		if (!failed[g]) {
			show(&r);
			fail_msg("the skewed %s workload passed", groups[g]);
		}
	calls = find_check(lines, n, "function", "calls of snag_selftest_sleep_2ms");
	if (!strstr(calls, " 50         51 ") || !ends_with(calls, " FAIL"))
		fail_msg("want 50 expected, 51 measured, FAIL: '%s'", calls);
	assert_non_null(strstr(r.out, " failed\n"));
	free_lines(lines, n);
	test_run__free(&r);
}

static void test_selftest_json(void **state)
{
	struct test_run r;
	json_error_t jerr;
	json_t *root, *c;
	size_t i;

	(void)state;
	require_bpf();
	run_selftest(&r, NULL, "--format", "json", NULL);
	root = itest_keep_json(json_loads(r.out, 0, &jerr));
	if (!root) {
		show(&r);
		fail_msg("not JSON: %s", jerr.text);
	}
	json_array_foreach(json_object_get(root, "checks"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "result")), "PASS")) {
			show(&r); /* every check, and the drop causes on stderr */
			fail_msg("%s check '%s' failed: expected %.0f, measured %.0f",
				 json_string_value(json_object_get(c, "group")),
				 json_string_value(json_object_get(c, "name")), num(c, "expected"),
				 json_number_value(json_object_get(c, "measured")));
		}
		assert_true(json_is_integer(json_object_get(c, "measured")));
	}
	assert_int_equal(r.status, 0);
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "snag-selftest/1");
	assert_int_equal(num(root, "failed"), 0);
	assert_int_equal(num(root, "passed"), json_array_size(json_object_get(root, "checks")));
	assert_true(num(root, "passed") >= 2 * N_GROUPS);
	assert_true(num(root, "total_ns") < TIME_LIMIT_S * 1e9);
	assert_true(json_is_number(json_object_get(root, "cpu_pressure")));
	assert_int_equal(json_array_size(json_object_get(root, "costs")), N_GROUPS);
	json_array_foreach(json_object_get(root, "costs"), i, c)
	{
		assert_string_equal(json_string_value(json_object_get(c, "workload")), groups[i]);
		assert_true(num(c, "events") > 0);
		assert_true(num(c, "bpf_ns_per_event") > 0);
		assert_true(num(c, "traced_ns") > 0 && num(c, "untraced_ns") > 0);
	}
	json_decref(root);
	test_run__free(&r);
}

/* A directory on tmpfs can hold no block I/O: a FAIL line says so, and the other groups pass. */
static void test_selftest_tmpfs_dir(void **state)
{
	char *lines[MAX_LINES];
	struct statfs fs;
	struct test_run r;
	int n;

	(void)state;
	require_bpf();
	if (statfs("/dev/shm", &fs) || fs.f_type != TMPFS_MAGIC)
		skip();
	run_selftest(&r, NULL, "--dir", "/dev/shm", NULL);
	assert_int_equal(r.status, 1);
	n = check_lines(r.out, lines, MAX_LINES);
	for (int i = 0; i < n; i++) {
		bool block = !strncmp(lines[i], "block ", 6);

		if (!ends_with(lines[i], block ? " FAIL" : " PASS")) {
			show(&r);
			fail_msg("with --dir /dev/shm: '%s'", lines[i]);
		}
	}
	if (!strstr(r.out, "\n  block: ") || !strstr(r.out, "is on tmpfs") ||
	    !strstr(r.out, "--dir")) {
		show(&r);
		fail_msg("no reason naming tmpfs and --dir");
	}
	free_lines(lines, n);
	test_run__free(&r);
}

/* Without BPF privileges it stops before running anything, as snag record does. */
static void test_selftest_without_privileges(void **state)
{
	struct test_run r;

	(void)state;
	if (geteuid() != 0)
		skip();
	char *argv[] = {"/usr/bin/setpriv", "--bounding-set", "-all", "--inh-caps", "-all",
			snag_path,	    "selftest",	      NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	if (r.status != 2 || !strstr(r.err, "CAP_BPF") || strstr(r.out, "GROUP")) {
		show(&r);
		fail_msg("want exit 2 naming CAP_BPF and no table, got %d", r.status);
	}
	test_run__free(&r);
}

static void test_selftest_usage(void **state)
{
	struct test_run r;

	(void)state;
	run_selftest(&r, NULL, "--format", "xml", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "unknown format 'xml'"));
	test_run__free(&r);
	run_selftest(&r, NULL, "--help", NULL);
	assert_int_equal(r.status, 0);
	for (int g = 0; g < N_GROUPS; g++) {
		char word[32];

		snprintf(word, sizeof(word), "\n  %s ", groups[g]);
		if (!strstr(r.out, word))
			fail_msg("--help does not explain the %s checks:\n%s", groups[g], r.out);
	}
	test_run__free(&r);
}

static int setup(void **state)
{
	(void)state;
	return itest_setup(NULL);
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_selftest_passes),
	    itest_case(test_selftest_catches_skew),
	    itest_case(test_selftest_json),
	    itest_case(test_selftest_tmpfs_dir),
	    itest_case(test_selftest_without_privileges),
	    itest_case(test_selftest_usage),
	};

	return cmocka_run_group_tests_name("selftest", tests, setup, teardown);
}
