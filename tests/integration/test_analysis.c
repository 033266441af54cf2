/* Integration tests: the time breakdown and the ranked findings of real targets. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "itest.h"

static char mix_path[4096], offcpu_path[4096], io_path[4096], trend_path[4096];

static int setup(void **state)
{
	(void)state;
	if (itest_setup("mix"))
		return -1;
	snprintf(mix_path, sizeof(mix_path), "%s", target_path);
	/* The other targets live next to it. */
	snprintf(offcpu_path, sizeof(offcpu_path), "%.*s/offcpu",
		 (int)(strrchr(mix_path, '/') - mix_path), mix_path);
	snprintf(io_path, sizeof(io_path), "%.*s/io", (int)(strrchr(mix_path, '/') - mix_path),
		 mix_path);
	snprintf(trend_path, sizeof(trend_path), "%.*s/trend",
		 (int)(strrchr(mix_path, '/') - mix_path), mix_path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

/* snag -c CMD [args] to a JSON report. */
static json_t *trace(const char *cmd, const char *report, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = "-c";
	argv[argc++] = (char *)cmd;
	va_start(ap, report);
	while ((a = va_arg(ap, char *)) && argc < 14)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return run_snag_jsonv(report, NULL, argv);
}

/* The breakdown row of the traced command; checks that its parts explain its wall time. */
static json_t *breakdown(json_t *root)
{
	json_t *rows = json_object_get(root, "breakdown"), *b, *by;
	double parts;

	if (json_array_size(rows) != 1)
		fail_msg("want one process in breakdown[], got %zu", json_array_size(rows));
	b = json_array_get(rows, 0);
	by = json_object_get(b, "blocked_by");
	parts = num(b, "oncpu_ns") + num(b, "runq_ns") + num(by, "block_io") + num(by, "network") +
		num(by, "lock") + num(by, "sleep") + num(by, "events") + num(by, "other");
	/* Documented tolerance: the parts explain wall time within 1%. */
	assert_near(parts, num(b, "wall_ns"), 0.01, "breakdown parts vs wall time");
	if (num(b, "unaccounted_ns") > 0.01 * num(b, "wall_ns") ||
	    -num(b, "unaccounted_ns") > 0.01 * num(b, "wall_ns"))
		fail_msg("unaccounted %.0f ns of %.0f", num(b, "unaccounted_ns"),
			 num(b, "wall_ns"));
	return b;
}

static double share(json_t *b, const char *kind)
{
	return num(json_object_get(b, "blocked_by"), kind) / num(b, "wall_ns");
}

/* Each kind of wait lands in its column: sleep, disk, locks. */
static void test_breakdown_by_wait(void **state)
{
	char cmd[8300], *out = NULL;
	const char *p;
	double waited, lock, slept, sleep;
	json_t *root, *b;

	(void)state;
	require_bpf();
	/*
	 * The sleeper's blocked time is sleep. Its share of wall time depends on
	 * the machine (a busy one adds run-queue waits after each wakeup: 0.91
	 * was seen with half a core busy), so the check is on the blocked time,
	 * and on the sleep time against what the sleeper asked for and measured.
	 */
	snprintf(cmd, sizeof(cmd), "%s sleeper 20 10", offcpu_path);
	root = run_snag_jsonv(out_path("sleep.json"), &out, (char *[]){"-c", cmd, "--no-io", NULL});
	p = out ? strstr(out, "slept wall_ns=") : NULL;
	if (!p || sscanf(p, "slept wall_ns=%lf", &slept) != 1)
		fail_msg("the sleeper did not print its wall time: %s", out ? out : "");
	b = breakdown(root);
	sleep = num(json_object_get(b, "blocked_by"), "sleep");
	if (sleep < 0.95 * num(b, "blocked_ns"))
		fail_msg("sleeper: %.0f of %.0f ns blocked is sleep, want >= 95%%", sleep,
			 num(b, "blocked_ns"));
	if (sleep < 0.98 * 200 * MS || sleep > 1.01 * slept)
		fail_msg("sleeper: %.0f ns asleep, want between 200 ms asked and %.0f ns measured",
			 sleep, slept);
	test_drop(out);
	json_decref(root);

	snprintf(cmd, sizeof(cmd), "%s direct /var/tmp/snag-breakdown-%d.dat 2000", io_path,
		 getpid());
	root = trace(cmd, out_path("disk.json"), "--no-io", NULL);
	b = breakdown(root);
	/*
	 * How much of the time is disk depends on the disk (10-30 us a write here);
	 * what must hold is that the blocked time is classified as disk I/O.
	 */
	if (num(json_object_get(b, "blocked_by"), "block_io") < 0.8 * num(b, "blocked_ns") ||
	    share(b, "block_io") < 0.05)
		fail_msg(
		    "direct writes: %.0f of %.0f ns blocked is disk (share of wall %.3f), want "
		    ">= 80%% of blocked time",
		    num(json_object_get(b, "blocked_by"), "block_io"), num(b, "blocked_ns"),
		    share(b, "block_io"));
	json_decref(root);

	/*
	 * A holder that spins inside the lock makes contention a matter of
	 * scheduling on 2 CPUs: whether the holder is preempted while it holds
	 * the lock, whether a woken waiter runs before the holder takes the lock
	 * back. One machine measured a lock share of 0.176 where this one
	 * measures 0.49. A holder that sleeps inside the lock leaves the others
	 * nothing to do but wait, and the target times its own waits.
	 */
	snprintf(cmd, sizeof(cmd), "%s sleepy-holder 1 3 2", mix_path);
	root = run_snag_jsonv(out_path("lock.json"), &out, (char *[]){"-c", cmd, "--no-io", NULL});
	p = out ? strstr(out, "lock_wait_ns=") : NULL;
	if (!p || sscanf(p, "lock_wait_ns=%lf", &waited) != 1)
		fail_msg("the target did not print its lock wait: %s", out ? out : "");
	b = breakdown(root);
	lock = num(json_object_get(b, "blocked_by"), "lock");
	print_message("lock: %.0f ns, the workers timed %.0f ns in pthread_mutex_lock\n", lock,
		      waited);
	if (share(b, "lock") < 0.3)
		fail_msg("contended mutex: lock share %.3f, want >= 0.3", share(b, "lock"));
	/* A woken waiter's run-queue and CPU time inside pthread_mutex_lock is not lock time. */
	if (lock > 1.02 * waited || lock < 0.9 * waited)
		fail_msg("contended mutex: %.0f ns of lock waits, the target measured %.0f ns",
			 lock, waited);
	test_drop(out);
	json_decref(root);
}

static long kind_index(json_t *root, const char *kind)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(root, "bottlenecks"), i, b)
	{
		const char *k = json_string_value(json_object_get(b, "kind"));

		if (k && !strcmp(k, kind))
			return (long)i;
	}
	return -1;
}

/* A known mix: lock contention (most time), a sleep loop, then small writes, in that order. */
static void test_known_mix_ranking(void **state)
{
	char cmd[8300];
	long lock, sleep, small;
	json_t *root;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s 1.5 4 2 20000 %s", mix_path, out_path("mix.log"));
	root = trace(cmd, out_path("mix.json"), NULL);
	lock = kind_index(root, "lock_contention");
	sleep = kind_index(root, "sleep_loop");
	small = kind_index(root, "small_io");
	if (lock != 0 || sleep < 0 || small < 0 || !(lock < sleep && sleep < small))
		fail_msg("want lock_contention first, then sleep_loop, then small_io; got indices "
			 "%ld %ld %ld in %s",
			 lock, sleep, small, itest_dump(json_object_get(root, "bottlenecks"), 0));
	breakdown(root);
	json_decref(root);
}

/* Threads with nothing to do (epoll, condition variable, long sleeps): no finding at all. */
static void test_idle_has_no_findings(void **state)
{
	char cmd[8300];
	json_t *root;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s idle 1.5", mix_path);
	root = trace(cmd, out_path("idle.json"), NULL);
	if (json_array_size(json_object_get(root, "bottlenecks")))
		fail_msg("an idle process got findings: %s",
			 itest_dump(json_object_get(root, "bottlenecks"), 0));
	breakdown(root);
	json_decref(root);
}

static json_t *finding_of(json_t *root, const char *kind)
{
	long i = kind_index(root, kind);

	return i < 0 ? NULL : json_array_get(json_object_get(root, "bottlenecks"), (size_t)i);
}

/* Latency rising 2 ms per second is a trend with that slope; a steady one is not. */
static void test_latency_trend(void **state)
{
	char cmd[8300], *out = NULL;
	const char *p;
	double own, own_r2, growth;
	json_t *root, *b;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s growing 2", trend_path);
	root = run_snag_jsonv(
	    out_path("growing.json"), &out,
	    (char *[]){"-c", cmd, "-u", "handle_request", "-i", "0.2", "--no-io", NULL});
	p = out ? strstr(out, "slope_ns_per_s=") : NULL;
	if (!p || sscanf(p, "slope_ns_per_s=%lf r2=%lf", &own, &own_r2) != 2)
		fail_msg("the target printed no slope: %s", out ? out : "");
	b = finding_of(root, "trend");
	if (!b)
		fail_msg("no trend finding: %s",
			 itest_dump(json_object_get(root, "bottlenecks"), 0));
	assert_non_null(strstr(json_string_value(json_object_get(b, "target")), "handle_request"));
	/*
	 * The plan is +2 ms a second; a busy machine adds its own growth (4 ms a
	 * second was seen beside three compile jobs). The truth is the slope the
	 * target fitted to its own timings, in the same 0.2 s spans (snag's start
	 * a little before the target's shifts them: 25%).
	 */
	print_message("slope: snag %.0f ns/s, the target's own %.0f ns/s\n",
		      num(json_object_get(b, "evidence"), "slope_ns_per_s"), own);
	assert_true(own >= 1.8 * MS);
	assert_near(num(json_object_get(b, "evidence"), "slope_ns_per_s"), own, 0.25,
		    "latency slope (ns per second) against the target's own");
	test_drop(out);
	/* As straight a line as the target's own timings make (0.9 and more on a quiet machine). */
	print_message("r2: snag %.3f, the target's own %.3f\n",
		      num(json_object_get(b, "evidence"), "r2"), own_r2);
	assert_true(num(json_object_get(b, "evidence"), "r2") >= own_r2 - 0.15);
	json_decref(root);

	/*
	 * Steady: no trend, as long as the target's own timings show none. A
	 * machine whose load rises during the run grows the latency of sleeps
	 * too (1.9 to 3.7 ms with R^2 0.83 was seen beside three compile jobs),
	 * and then a trend is the truth: the test needs the target's own fit to
	 * be clearly flat (R^2 or growth well under snag's thresholds, 0.7 and
	 * 0.5) before it requires silence.
	 */
	snprintf(cmd, sizeof(cmd), "%s steady 2", trend_path);
	root = run_snag_jsonv(
	    out_path("steady.json"), &out,
	    (char *[]){"-c", cmd, "-u", "handle_request", "-i", "0.2", "--no-io", NULL});
	p = out ? strstr(out, "r2=") : NULL;
	if (!p || sscanf(p, "r2=%lf growth=%lf", &own_r2, &growth) != 2)
		fail_msg("the target printed no fit: %s", out ? out : "");
	print_message("steady: the target's own fit has R^2 %.3f, growth %.3f\n", own_r2, growth);
	if ((own_r2 < 0.5 || growth < 0.25) && finding_of(root, "trend"))
		fail_msg("steady latency flagged as a trend: %s",
			 itest_dump(json_object_get(root, "bottlenecks"), 0));
	test_drop(out);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_breakdown_by_wait),
	    itest_case(test_known_mix_ranking),
	    itest_case(test_latency_trend),
	    itest_case(test_idle_has_no_findings),
	};

	return cmocka_run_group_tests_name("analysis", tests, setup, teardown);
}
