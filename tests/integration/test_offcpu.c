/* Integration tests: off-CPU, run-queue and context-switch analysis of real targets in the real
 * kernel. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "itest.h"

/* Does any frame of the stack array contain needle? */
static bool stack_has(json_t *stack, const char *needle)
{
	json_t *frame;
	size_t i;

	json_array_foreach(stack, i, frame)
	{
		if (json_is_string(frame) && strstr(json_string_value(frame), needle))
			return true;
	}
	return false;
}

static json_t *sched_row(json_t *root, long tid)
{
	json_t *rows = json_object_get(root, "sched"), *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		if ((long)num(row, "tid") == tid)
			return row;
	}
	fail_msg("thread %ld not in sched[]", tid);
	return NULL;
}

/* Thread ids and rusage switch counts the target printed: "<who> tid=N voluntary=N involuntary=N".
 */
struct self_report {
	long tid, voluntary, involuntary;
};

static int parse_self_reports(const char *out, const char *who, struct self_report *rep, int max)
{
	int n = 0;

	for (const char *p = strstr(out, who); p && n < max; p = strstr(p + 1, who))
		if (sscanf(p + strlen(who), " tid=%ld voluntary=%ld involuntary=%ld", &rep[n].tid,
			   &rep[n].voluntary, &rep[n].involuntary) == 3)
			n++;
	return n;
}

/*
 * Fails unless a sleeper's blocked time fits its sleeps: at least what it
 * asked for (nanosleep never returns early), at most the wall time the sleeper
 * measured around them (the timers' lateness depends on the machine and load),
 * plus 5 ms for blocks of the process's start and exit on a busy machine (1.7
 * ms was seen). All its blocks count: a sleep whose user stack was not taken
 * (once under ASan) is a block all the same.
 */
static void assert_slept(double blocked, const char *out, double asked, const char *what)
{
	const char *p = out ? strstr(out, "slept wall_ns=") : NULL;
	double wall;

	if (!p || sscanf(p, "slept wall_ns=%lf", &wall) != 1)
		fail_msg("the sleeper did not print its wall time: %s", out ? out : "");
	print_message("%s: %.0f ns blocked; asked %.0f ns, the sleeper measured %.0f ns\n", what,
		      blocked, asked, wall);
	if (blocked < 0.98 * asked || blocked > 1.01 * wall + 5 * MS)
		fail_msg("%s = %.0f ns, want between %.0f ns asked and %.0f ns measured (+5 ms)",
			 what, blocked, asked, wall);
}

/* Run snag -c 'offcpu ARGS' [extra args] to a JSON report; *out gets the target's stdout. */
static json_t *trace_command(const char *args, const char *report, char **out, ...)
{
	char cmd[8300], *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	snprintf(cmd, sizeof(cmd), "%s %s", target_path, args);
	argv[argc++] = "-c";
	argv[argc++] = cmd;
	va_start(ap, out);
	while ((a = va_arg(ap, char *)) && argc < 30)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return run_snag_jsonv(report, out, argv);
}

/* Sum of off-CPU time with the given reason for one thread, and its biggest entry. */
static double offcpu_in(json_t *root, long tid, const char *reason, const char *frame,
			json_t **biggest)
{
	json_t *entries = json_object_get(root, "offcpu"), *e;
	double total = 0, best = -1;
	size_t i;

	*biggest = NULL;
	json_array_foreach(entries, i, e)
	{
		if ((long)num(e, "tid") != tid ||
		    strcmp(json_string_value(json_object_get(e, "reason")), reason) ||
		    (frame && !stack_has(json_object_get(e, "user_stack"), frame)))
			continue;
		total += num(e, "total_ns");
		if (num(e, "total_ns") > best) {
			best = num(e, "total_ns");
			*biggest = e;
		}
	}
	return total;
}

static double offcpu_total(json_t *root, long tid, const char *reason, json_t **biggest)
{
	return offcpu_in(root, tid, reason, NULL, biggest);
}

/*
 * 20 x 10 ms in wait_for_timer(): 200 ms blocked, with both stacks, the user stack taken as
 * the report says (overhead.offcpu_user_stacks; want_mode NULL: either of the usual two).
 */
static void check_known_sleeps(const char *report, const char *want_mode)
{
	struct self_report rep[1];
	json_t *root, *row, *e;
	const char *mode;
	char *out;

	root = trace_command("sleeper 20 10", out_path(report), &out, NULL);
	assert_int_equal(parse_self_reports(out, "sleeper", rep, 1), 1);
	mode = json_string_value(
	    json_object_get(json_object_get(root, "overhead"), "offcpu_user_stacks"));
	if (!mode || (want_mode ? strcmp(mode, want_mode)
				: strcmp(mode, "task_work") && strcmp(mode, "rseq")))
		fail_msg("user stacks taken by %s, want %s", mode ? mode : "(none)",
			 want_mode ? want_mode : "task_work or rseq");
	row = sched_row(root, rep[0].tid);
	assert_true(num(row, "voluntary_switches") >= 20);
	assert_slept(offcpu_total(root, rep[0].tid, "blocked", &e), out, 200 * MS,
		     "blocked off-CPU total");
	assert_non_null(e);
	if (!stack_has(json_object_get(e, "user_stack"), "wait_for_timer"))
		fail_msg("user stack lacks wait_for_timer: %s",
			 itest_dump(json_object_get(e, "user_stack"), 0));
	if (!stack_has(json_object_get(e, "kernel_stack"), "nanosleep"))
		fail_msg("kernel stack lacks a nanosleep frame: %s",
			 itest_dump(json_object_get(e, "kernel_stack"), 0));
	/*
	 * All 20 sleeps are in wait_for_timer's entries. Usually one entry; an odd
	 * sleep can take another kernel path (a restarted nanosleep), which is a
	 * different stack and so a different entry.
	 */
	{
		json_t *x;
		size_t i;
		double sleeps = 0;

		json_array_foreach(json_object_get(root, "offcpu"), i, x)
		{
			const char *reason = json_string_value(json_object_get(x, "reason"));

			/* On a busy machine the sleeper is also preempted in wait_for_timer. */
			if ((long)num(x, "tid") == rep[0].tid && reason &&
			    !strcmp(reason, "blocked") &&
			    stack_has(json_object_get(x, "user_stack"), "wait_for_timer"))
				sleeps += num(x, "count");
		}
		/* As in test_pprof_output: one block of 20 may be missing under ASan. */
		if (sleeps < 19 || sleeps > 20 || num(e, "count") < 15)
			fail_msg(
			    "wait_for_timer's entries hold %.0f blocks (the biggest %.0f), want 20",
			    sleeps, num(e, "count"));
	}
	assert_string_equal(json_string_value(json_object_get(e, "comm")), "offcpu");
	/* A timer interrupt woke it: whatever task the interrupt hit is not its waker. */
	if (!json_is_null(json_object_get(e, "waker")))
		fail_msg("a timer wakeup has a waker: %s",
			 itest_dump(json_object_get(e, "waker"), JSON_COMPACT));
	assert_no_drops(root);
	test_drop(out);
	json_decref(root);
}

static void test_known_sleeps(void **state)
{
	(void)state;
	require_bpf();
	check_known_sleeps("sleeps.json", NULL);
}

static void check_split_wakers(const char *report, bool loaded);

/* Whether the report's overhead lists a BPF program of that name (loaded and attached). */
static bool has_program(json_t *root, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(root, "overhead"), "programs"), i, p)
	{
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return true;
	}
	return false;
}

/*
 * Wakeups from interrupts are told from the preempt count, which the loader
 * locates through the kernel's BTF: no program runs on interrupts. Where the
 * BTF does not say (SNAG_FORCE_IRQ_HOOKS=1 here), the interrupt, softirq and
 * hrtimer tracepoints keep a nesting depth instead. Either way a timer wakeup
 * has no waker, and a ping-pong thread's waker is its peer, under a loopback
 * stream's interrupts too.
 */
static void test_interrupt_wakeups_both_ways(void **state)
{
	json_t *root;

	(void)state;
	require_bpf();
	root = trace_command("sleeper 2 1", out_path("irq-default.json"), NULL, NULL);
	if (has_program(root, "handle_softirq_entry") ||
	    has_program(root, "handle_irq_handler_entry"))
		fail_msg("interrupt programs attached though the BTF locates the preempt count");
	json_decref(root);
	setenv("SNAG_FORCE_IRQ_HOOKS", "1", 1);
	root = trace_command("sleeper 2 1", out_path("irq-hooks.json"), NULL, NULL);
	if (!has_program(root, "handle_softirq_entry") ||
	    !has_program(root, "handle_irq_handler_entry"))
		fail_msg("SNAG_FORCE_IRQ_HOOKS=1: the interrupt programs are not attached");
	json_decref(root);
	check_known_sleeps("sleeps-irq-hooks.json", NULL);
	check_split_wakers("wakers-irq-hooks.json", true);
	unsetenv("SNAG_FORCE_IRQ_HOOKS");
}

/*
 * Where the kernel refuses task work: user stacks from rseq_update, and, for a thread
 * that did not register rseq (glibc's tunable turns it off), from its switch-outs.
 */
static void test_user_stacks_without_task_work(void **state)
{
	(void)state;
	require_bpf();
	setenv("SNAG_FORCE_NO_TASK_WORK", "1", 1);
	check_known_sleeps("sleeps-rseq.json", "rseq");
	setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
	check_known_sleeps("sleeps-no-rseq.json", "rseq");
	unsetenv("GLIBC_TUNABLES");
	unsetenv("SNAG_FORCE_NO_TASK_WORK");
}

/*
 * The per-interval process rows, read every -i from the accounts' copies in the
 * memory-mapped hot[] array, add up to the process's totals at the end, read
 * from the threads map: 20 x 10 ms sleeps at -i 0.05.
 */
static void check_interval_rows(const char *report)
{
	struct self_report rep[1];
	json_t *root, *iv, *p, *row;
	double sum[3] = {0}, total[3] = {0};
	/* The same times in intervals[].processes[] and in sched[] */
	const char *keys[3] = {"oncpu_ns", "blocked_ns", "runq_ns"},
		   *sched_keys[3] = {"oncpu_ns", "blocked_ns", "runq_total_ns"};
	size_t i, j, with_rows = 0;
	long pid;
	char *out;

	root = trace_command("sleeper 20 10", out_path(report), &out, "-i", "0.05", NULL);
	assert_int_equal(parse_self_reports(out, "sleeper", rep, 1), 1);
	pid = (long)num(sched_row(root, rep[0].tid), "pid");
	json_array_foreach(json_object_get(root, "intervals"), i, iv)
	{
		json_array_foreach(json_object_get(iv, "processes"), j, p)
		{
			if ((long)num(p, "pid") != pid)
				continue;
			with_rows++;
			for (int k = 0; k < 3; k++)
				sum[k] += num(p, keys[k]);
		}
	}
	json_array_foreach(json_object_get(root, "sched"), i, row)
	{
		if ((long)num(row, "pid") == pid)
			for (int k = 0; k < 3; k++)
				total[k] += num(row, sched_keys[k]);
	}
	print_message("%zu intervals with the process; blocked %.1f of %.1f ms, on-CPU %.2f of "
		      "%.2f ms\n",
		      with_rows, sum[1] / MS, total[1] / MS, sum[0] / MS, total[0] / MS);
	assert_true(with_rows >= 3);
	assert_slept(total[1], out, 200 * MS, "blocked_ns in sched[]");
	for (int k = 0; k < 3; k++)
		if (fabs(sum[k] - total[k]) > 0.02 * total[k] + 0.5 * MS)
			fail_msg("intervals' %s add up to %.0f ns, the process's total is %.0f ns",
				 keys[k], sum[k], total[k]);
	test_drop(out);
	json_decref(root);
}

static void test_interval_rows_sum_to_totals(void **state)
{
	(void)state;
	require_bpf();
	check_interval_rows("intervals.json");
	/* The same from the threads map, as when hot[] has run out of slots. */
	setenv("SNAG_FORCE_MAP_READ", "1", 1);
	check_interval_rows("intervals-map.json");
	unsetenv("SNAG_FORCE_MAP_READ");
}

/* Two threads bounce a byte 2000 times: each leaves the CPU about once per round trip. */
static void test_pipe_pingpong_switch_counts(void **state)
{
	struct self_report rep[4];
	json_t *root, *row;
	int n;
	char *out;

	(void)state;
	require_bpf();
	root = trace_command("pingpong 2000", out_path("pingpong.json"), &out, NULL);
	n = parse_self_reports(out, "ponger", rep, 1);
	n += parse_self_reports(out, "pinger", rep + n, 1);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		double vol, invol;

		row = sched_row(root, rep[i].tid);
		vol = num(row, "voluntary_switches");
		invol = num(row, "involuntary_switches");
		assert_near(vol + invol, 2000, 0.10, "switches per thread");
		/* The kernel's own count for the thread (getrusage), give or take its start-up. */
		if (vol < rep[i].voluntary - 3 || vol > rep[i].voluntary)
			fail_msg("tid %ld: snag counted %.0f voluntary switches, the kernel %ld",
				 rep[i].tid, vol, rep[i].voluntary);
	}
	test_drop(out);
	json_decref(root);
}

/* The raw_tp fallback (kernels whose BTF lacks the tracepoints): the same accounts, no stacks. */
static void test_raw_tp_fallback(void **state)
{
	struct self_report rep[1];
	json_t *root, *row;
	char *out, *overhead;

	(void)state;
	require_bpf();
	setenv("SNAG_FORCE_RAW_TP", "1", 1);
	root = trace_command("sleeper 20 10", out_path("rawtp.json"), &out, NULL);
	unsetenv("SNAG_FORCE_RAW_TP");
	assert_int_equal(parse_self_reports(out, "sleeper", rep, 1), 1);
	row = sched_row(root, rep[0].tid);
	assert_true(num(row, "voluntary_switches") >= 20);
	assert_slept(num(row, "blocked_ns"), out, 200 * MS, "blocked_ns");
	assert_int_equal(json_array_size(json_object_get(root, "offcpu")), 0);
	overhead = itest_dump(json_object_get(root, "overhead"), JSON_COMPACT);
	assert_non_null(strstr(overhead, "handle_sched_switch_raw"));
	test_drop(overhead);
	test_drop(out);
	json_decref(root);
}

/* With stacks for every block, each ping-pong thread is woken by the other one, in its write. */
static void test_pingpong_wakers(void **state)
{
	struct self_report pinger, ponger;
	json_t *root, *e, *waker;
	char *out;

	(void)state;
	require_bpf();
	root = trace_command("pingpong 300", out_path("wakers.json"), &out, "--min-block", "1us",
			     NULL);
	assert_int_equal(parse_self_reports(out, "pinger", &pinger, 1), 1);
	assert_int_equal(parse_self_reports(out, "ponger", &ponger, 1), 1);
	/*
	 * The pinger's blocks in its rounds: its last block, in pthread_join, is
	 * woken by the ponger's exit, and on a busy machine it can be the longest.
	 */
	{
		json_t *x;
		size_t i;

		e = NULL;
		json_array_foreach(json_object_get(root, "offcpu"), i, x)
		{
			json_t *w = json_object_get(x, "waker");

			/* A block of the rounds: its own stack says pipe_read, or (when its
			 * kernel stack was not taken) its waker's says pipe_write. */
			if ((long)num(x, "tid") == pinger.tid &&
			    !strcmp(json_string_value(json_object_get(x, "reason")), "blocked") &&
			    (stack_has(json_object_get(x, "kernel_stack"), "pipe_read") ||
			     (json_is_object(w) &&
			      stack_has(json_object_get(w, "kernel_stack"), "pipe_write"))) &&
			    (!e || num(x, "total_ns") > num(e, "total_ns")))
				e = x;
		}
	}
	if (!e)
		fail_msg("no block of the pinger's rounds: %s",
			 itest_dump(json_object_get(root, "offcpu"), JSON_COMPACT));
	waker = json_object_get(e, "waker");
	if (!json_is_object(waker) || (long)num(waker, "tid") != ponger.tid)
		fail_msg("pinger's waker should be ponger (tid %ld): %s", ponger.tid,
			 itest_dump(waker, JSON_COMPACT));
	if (!stack_has(json_object_get(waker, "user_stack"), "ponger") ||
	    !stack_has(json_object_get(waker, "kernel_stack"), "pipe_write"))
		fail_msg("waker stacks lack ponger/pipe_write: %s",
			 itest_dump(waker, JSON_COMPACT));
	if (json_array_size(json_object_get(e, "kernel_stack")) &&
	    !stack_has(json_object_get(e, "kernel_stack"), "pipe_read"))
		fail_msg("pinger's kernel stack lacks pipe_read: %s",
			 itest_dump(json_object_get(e, "kernel_stack"), JSON_COMPACT));
	test_drop(out);
	json_decref(root);
}

/*
 * The ping-pong with its threads on CPUs 0 and 1: each is woken on a CPU left
 * idle, and the kernel hands such a wakeup to that CPU, where sched_wakeup
 * then fires in its idle loop or an IPI, not in the waker. The waker must
 * still be the other thread (it once was missing for 283 of 300 blocks).
 *
 * With loaded, a loopback TCP stream runs while snag attaches: interrupts on
 * both CPUs all along. Attached entry before exit, the interrupt nesting
 * programs once left a CPU's depth stuck above 0 in 9 of 12 such starts, and
 * every wakeup on that CPU then had no waker.
 */
static void check_split_wakers(const char *report, bool loaded)
{
	struct self_report rep[2];
	struct test_proc load;
	char io_path[4096];
	json_t *root, *e;
	char *out;
	size_t i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		fail_msg("this test needs 2 CPUs");
	if (loaded) {
		char *largv[] = {io_path, "tcp", "1000000000", "100", NULL};

		assert_non_null(realpath(test_build_path("tests/targets/io"), io_path));
		assert_int_equal(test_spawn(largv, &load), 0);
		usleep(200 * 1000);
	}
	root = trace_command("pingpong 300 1", out_path(report), &out, "--min-block", "1us", NULL);
	if (loaded) {
		kill(load.pid, SIGKILL);
		test_proc_wait(&load, 5);
	}
	assert_int_equal(parse_self_reports(out, "pinger", &rep[0], 1), 1);
	assert_int_equal(parse_self_reports(out, "ponger", &rep[1], 1), 1);
	/* Each round trip makes at least one of the two wait for the other's byte. */
	if (rep[0].voluntary + rep[1].voluntary < 300)
		fail_msg("%ld and %ld voluntary switches for 300 round trips", rep[0].voluntary,
			 rep[1].voluntary);
	for (int k = 0; k < 2; k++) {
		double blocks = 0, by_peer = 0;

		json_array_foreach(json_object_get(root, "offcpu"), i, e)
		{
			json_t *waker = json_object_get(e, "waker");

			if ((long)num(e, "tid") != rep[k].tid ||
			    strcmp(json_string_value(json_object_get(e, "reason")), "blocked"))
				continue;
			blocks += num(e, "count");
			if (json_is_object(waker) && (long)num(waker, "tid") == rep[1 - k].tid)
				by_peer += num(e, "count");
		}
		print_message("%s: tid %ld: %.0f of %.0f blocks woken by tid %ld\n",
			      loaded ? "loaded" : "quiet", rep[k].tid, by_peer, blocks,
			      rep[1 - k].tid);
		/*
		 * 300 round trips. On a busy machine a thread is sometimes preempted
		 * and finds its byte already there, so fewer of its switches are
		 * blocks (28 of 300 was seen, and 87 with no load of the test's
		 * own): its own count of voluntary switches says how many, up to the
		 * one or two blocks of a thread's exit after it counted. The first
		 * and last blocks have other wakers.
		 */
		if (blocks < 0.95 * rep[k].voluntary - 2 || blocks > rep[k].voluntary + 2)
			fail_msg("tid %ld: %.0f blocks, the thread counted %ld voluntary switches",
				 rep[k].tid, blocks, rep[k].voluntary);
		if (by_peer < 0.95 * blocks && by_peer < blocks - 2)
			fail_msg("tid %ld: only %.0f of %.0f blocks woken by its peer", rep[k].tid,
				 by_peer, blocks);
	}
	test_drop(out);
	json_decref(root);
}

static void test_wakers_across_idle_cpus(void **state)
{
	(void)state;
	require_bpf();
	check_split_wakers("wakers-split.json", false);
	check_split_wakers("wakers-split-loaded.json", true);
}

/* Two CPU hogs pinned to one CPU for 1 s: each waits for the other, preempted. */
static void test_runqueue_contention(void **state)
{
	struct self_report rep[2];
	json_t *root, *row, *e;
	char *out;

	(void)state;
	require_bpf();
	root = trace_command("hogs 1000", out_path("hogs.json"), &out, NULL);
	assert_int_equal(parse_self_reports(out, "hog", rep, 2), 2);
	for (int i = 0; i < 2; i++) {
		row = sched_row(root, rep[i].tid);
		assert_true(num(row, "involuntary_switches") >= 5);
		/* Half of each hog's life is spent waiting for the CPU the other one holds. */
		assert_true(num(row, "runq_total_ns") > 200 * MS);
		assert_true(num(row, "preempted_ns") > 200 * MS);
		assert_true(offcpu_total(root, rep[i].tid, "preempted", &e) > 200 * MS);
		if (!stack_has(json_object_get(e, "user_stack"), "burn_cpu"))
			fail_msg("preempted user stack lacks burn_cpu: %s",
				 itest_dump(json_object_get(e, "user_stack"), 0));
	}
	test_drop(out);
	json_decref(root);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * -d and -i keep time when nothing happens: a target asleep for 5 s traced
 * for 2 s gives four 0.5 s intervals and ends at 2 s. (The interval clock
 * once stopped advancing without -u, and snag then waited for an event.)
 */
static void test_idle_target_keeps_time(void **state)
{
	char pidbuf[16];
	struct test_proc target;
	struct test_run r;
	json_error_t jerr;
	json_t *root, *iv;
	double t0, elapsed;

	(void)state;
	require_bpf();
	char *targv[] = {target_path, "sleeper", "1", "5000", NULL};
	assert_int_equal(test_spawn(targv, &target), 0);
	itest_wait_exec(target.pid, target_path);
	snprintf(pidbuf, sizeof(pidbuf), "%d", target.pid);
	char *argv[] = {
	    snag_path,	"-p",	pidbuf, "-d", "2", "-i", "0.5", "-o", (char *)out_path("idle.json"),
	    "--format", "json", NULL};
	t0 = now_s();
	assert_int_equal(test_run(argv, 30, &r), 0);
	elapsed = now_s() - t0;
	assert_int_equal(r.status, 0);
	test_run__free(&r);
	kill(target.pid, SIGKILL);
	test_proc_wait(&target, 5);
	if (elapsed > 3.5)
		fail_msg("snag -d 2 took %.1f s", elapsed);
	root = itest_load_json(out_path("idle.json"), &jerr);
	assert_non_null(root);
	iv = json_object_get(root, "intervals");
	assert_int_equal(json_array_size(iv), 4);
	for (size_t i = 0; i < 4; i++)
		assert_near(num(json_array_get(iv, i), "offset_ns") + 1, i * 500 * MS + 1, 0.05,
			    "interval offset");
	json_decref(root);
}

/* System-wide: a process that starts after snag and exits long before the report. */
static void test_short_lived_process_keeps_stacks(void **state)
{
	struct test_proc snag;
	struct test_run r;
	struct self_report rep[1];
	json_t *root, *e;
	json_error_t jerr;
	double total;

	(void)state;
	require_bpf();
	char *sargv[] = {snag_path,  "-d",   "3", "-o", (char *)out_path("system.json"),
			 "--format", "json", NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	char *targv[] = {target_path, "sleeper", "5", "20", NULL};
	assert_int_equal(test_run(targv, 10, &r), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(parse_self_reports(r.out, "sleeper", rep, 1), 1);
	assert_int_equal(test_proc_wait(&snag, 30), 0);
	root = itest_load_json(out_path("system.json"), &jerr);
	assert_non_null(root);
	/* All its blocks: a process that starts after snag may lack a sleep's user stack. */
	total = offcpu_total(root, rep[0].tid, "blocked", &e);
	print_message("overhead: %s\n",
		      itest_dump(json_object_get(root, "overhead"), JSON_COMPACT));
	assert_slept(total, r.out, 100 * MS, "blocked off-CPU total");
	test_run__free(&r);
	if (!stack_has(json_object_get(e, "user_stack"), "wait_for_timer"))
		fail_msg("exited process's user stack is not symbolized: %s",
			 itest_dump(json_object_get(e, "user_stack"), 0));
	json_decref(root);
}

static void test_folded_output(void **state)
{
	char cmd[8300];
	struct test_run r;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s sleeper 5 10", target_path);
	char *argv[] = {snag_path, "-c", cmd, "--format", "folded", NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	assert_int_equal(r.status, 0);
	if (!strstr(r.out, "offcpu-blocked;") || !strstr(r.out, "wait_for_timer") ||
	    !strstr(r.out, "_[k]"))
		fail_msg("folded output lacks the sleeper's stack:\n%s", r.out);
	test_run__free(&r);
}

/* A pprof quantity as nanoseconds or a count: "201.14ms", "1.50s", "950us", "20". */
static double pprof_value(const char *s)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"mins", 60e9}, {"", 1}};
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		fail_msg("'%s' is not a pprof value", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit))
			return v * units[i].scale;
	fail_msg("'%s' has an unknown unit", s);
	return 0;
}

/* The cum column of the -top row of frame name ("flat flat% sum% cum cum% name"). */
static double pprof_cum(const char *top, const char *name)
{
	char flat[32], cum[32], row[256];
	size_t len = strlen(name);
	const char *line, *nl;

	for (line = top; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		if ((size_t)(nl - line) > len && (size_t)(nl - line) < sizeof(row) &&
		    !strncmp(nl - len, name, len) && nl[-len - 1] == ' ') {
			memcpy(row, line, nl - line);
			row[nl - line] = '\0';
			if (sscanf(row, "%31s %*s %*s %31s", flat, cum) == 2)
				return pprof_value(cum);
		}
		if (!*nl)
			break;
	}
	fail_msg("no row for %s in go tool pprof's output:\n%s", name, top);
	return 0;
}

/* The total of `-top`'s "Showing nodes accounting for X, P% of TOTAL total". */
static double pprof_total(const char *top)
{
	const char *p = strstr(top, "% of ");
	char total[32];

	if (!p || sscanf(p + 5, "%31s total", total) != 1)
		fail_msg("no total in go tool pprof's output:\n%s", top);
	return pprof_value(total);
}

/*
 * Run `go tool pprof -top ARGS.. profile` (the real consumer of the format);
 * returns its stdout. HOME and the caches point into the test's work dir,
 * and no symbolization or module download may reach for the network.
 */
static char *go_pprof_top(const char *profile, ...)
{
	char home[4200], cache[4200], tmp[4200], *argv[32];
	struct test_run r;
	int argc = 0;
	va_list ap;
	char *a, *out;

	snprintf(home, sizeof(home), "HOME=%s", out_path("pprof-home"));
	snprintf(cache, sizeof(cache), "GOCACHE=%s", out_path("pprof-home/gocache"));
	snprintf(tmp, sizeof(tmp), "PPROF_TMPDIR=%s", out_path("pprof-home"));
	if (mkdir(out_path("pprof-home"), 0755) && errno != EEXIST)
		fail_msg("cannot create %s: %s", out_path("pprof-home"), strerror(errno));
	argv[argc++] = "/usr/bin/env";
	argv[argc++] = home;
	argv[argc++] = cache;
	argv[argc++] = tmp;
	argv[argc++] = "GOPROXY=off";
	argv[argc++] = "GOFLAGS=";
	argv[argc++] = "GOTOOLCHAIN=local";
	argv[argc++] = "go";
	argv[argc++] = "tool";
	argv[argc++] = "pprof";
	argv[argc++] = "-top";
	argv[argc++] = "-symbolize=none";
	va_start(ap, profile);
	while ((a = va_arg(ap, char *)) && argc < 29)
		argv[argc++] = a;
	va_end(ap);
	argv[argc++] = (char *)profile;
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 120, &r), 0);
	if (r.status != 0)
		fail_msg("go tool pprof exited %d (is golang-go installed? make deps): %s",
			 r.status, r.err);
	out = r.out;
	r.out = NULL;
	test_run__free(&r);
	return out;
}

/* --format pprof: go tool pprof reads the sleeper's 20 x 10 ms in wait_for_timer, by label. */
static void test_pprof_output(void **state)
{
	char cmd[8300], profile[4200], *top;
	struct test_run r;

	(void)state;
	require_bpf();
	/* A copy: out_path()'s buffer is reused by go_pprof_top(). */
	snprintf(profile, sizeof(profile), "%s", out_path("sleeps.pb.gz"));
	snprintf(cmd, sizeof(cmd), "%s sleeper 20 10", target_path);
	char *argv[] = {snag_path, "-c", cmd, "--format", "pprof", "-o", profile, NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status != 0)
		fail_msg("snag exited %d: %s", r.status, r.err);

	/* Off-CPU time (blocked and preempted) within the sleeps, and a little outside them. */
	top = go_pprof_top(profile, "-sample_index=offcpu", NULL);
	assert_slept(pprof_cum(top, "wait_for_timer"), r.out, 200 * MS, "wait_for_timer off-CPU");
	if (pprof_total(top) < pprof_cum(top, "wait_for_timer") ||
	    pprof_total(top) > 1.15 * pprof_cum(top, "wait_for_timer"))
		fail_msg("off-CPU total %.0f ns, wait_for_timer's %.0f ns", pprof_total(top),
			 pprof_cum(top, "wait_for_timer"));
	test_run__free(&r);
	if (!strstr(top, "[k] ") || !strstr(top, "nanosleep"))
		fail_msg("no kernel nanosleep frame in go tool pprof's output:\n%s", top);
	test_drop(top);
	/*
	 * Labels survive: the 20 blocks are found through reason=blocked. Under
	 * ASan one block in a run occasionally lands outside wait_for_timer's
	 * entries (seen 1 in ~10 runs; not yet explained): 19 is tolerated, never
	 * fewer or more than 20.
	 */
	top = go_pprof_top(profile, "-sample_index=blocks", "-tagfocus=reason=blocked", NULL);
	if (pprof_cum(top, "wait_for_timer") < 19 || pprof_cum(top, "wait_for_timer") > 20)
		fail_msg("%.0f blocks under wait_for_timer, want 20:\n%s",
			 pprof_cum(top, "wait_for_timer"), top);
	test_drop(top);
}

static bool has_pid(json_t *root, long pid)
{
	json_t *rows = json_object_get(root, "sched"), *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		if ((long)num(row, "pid") == pid)
			return true;
	}
	return false;
}

/* --cgroup: a sleeper inside the cgroup is traced, an identical one outside it is not. */
static void test_cgroup_filter(void **state)
{
	char mount[4096], cg[4200], procs[4300], *out;
	struct test_proc inside, outside, snag;
	json_error_t jerr;
	json_t *root;
	FILE *f;

	(void)state;
	require_bpf();
	if (!itest_cgroup2_mount(mount, sizeof(mount)))
		fail_msg("no cgroup2 mount on this machine");
	snprintf(cg, sizeof(cg), "%s/snag-it-%d", mount, getpid());
	if (mkdir(cg, 0755))
		fail_msg("cannot create cgroup %s: %s", cg, strerror(errno));
	char *targv[] = {target_path, "sleeper", "300", "10", NULL};
	assert_int_equal(test_spawn(targv, &inside), 0);
	assert_int_equal(test_spawn(targv, &outside), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", inside.pid);
	assert_int_equal(fclose(f), 0);
	char *sargv[] = {
	    snag_path,	"--cgroup", cg,	 "-d", "1", "-o", (char *)out_path("cgroup.json"),
	    "--format", "json",	    NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	assert_int_equal(test_proc_wait(&snag, 20), 0);
	kill(inside.pid, SIGKILL);
	kill(outside.pid, SIGKILL);
	test_proc_wait(&inside, 5);
	test_proc_wait(&outside, 5);
	rmdir(cg);
	root = itest_load_json(out_path("cgroup.json"), &jerr);
	assert_non_null(root);
	out = itest_dump(json_object_get(root, "sched"), JSON_COMPACT);
	if (!has_pid(root, inside.pid) || has_pid(root, outside.pid))
		fail_msg("want pid %d (inside) and not %d (outside) in sched[]: %s", inside.pid,
			 outside.pid, out);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "target"), "cgroup")), cg);
	test_drop(out);
	json_decref(root);
}

/* Kernel run time (se.sum_exec_runtime, ns) of every thread on the machine: tid -> exec. */
struct runtimes {
	long tid[8192];
	double exec[8192];
	size_t n;
};

/* The kernel's run time (schedstat) of every thread of processes a and b. */
static void read_runtimes(struct runtimes *rt, pid_t a, pid_t b)
{
	pid_t pids[] = {a, b};
	char path[600];

	rt->n = 0;
	for (size_t i = 0; i < 2; i++) {
		struct dirent *t;
		DIR *tasks;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pids[i]);
		tasks = opendir(path);
		assert_non_null(tasks);
		while ((t = readdir(tasks)) && rt->n < 8192) {
			FILE *f;

			if (atol(t->d_name) <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pids[i],
				 t->d_name);
			f = fopen(path, "re");
			if (f && fscanf(f, "%lf", &rt->exec[rt->n]) == 1)
				rt->tid[rt->n++] = atol(t->d_name);
			if (f)
				fclose(f);
		}
		closedir(tasks);
	}
}

static bool runtime_of(const struct runtimes *rt, long tid, double *exec)
{
	for (size_t i = 0; i < rt->n; i++)
		if (rt->tid[i] == tid) {
			*exec = rt->exec[i];
			return true;
		}
	return false;
}

/*
 * Traced system-wide, each of the target's threads has on-CPU time that
 * agrees with the kernel's own run time: no more than it grew from before
 * snag started to after it ended, no less than it grew while snag was surely
 * tracing. Only the target's threads (by pid) are checked: what else the
 * machine runs differs from one machine to the next.
 *
 * The kernel's run time of a woken thread starts at its wakeup, not at its
 * switch-in: the wakeup updates the run queue's clock and asks the next
 * schedule() to skip its own update, so the thread's exec_start is the clock
 * as it was at the wakeup. Measured here at the sched_switch tracepoints, the
 * sleeper's sum_exec_runtime grew 6.9 ms over 149 runs during which ktime
 * advanced 3.5 ms. That wait is snag's run-queue time, so the lower bound is on
 * on-CPU plus run-queue time. Without it the sleeper failed now and then under
 * ASan: on-CPU 6.5 ms against 8.5 ms of kernel run time.
 */
static void test_oncpu_matches_kernel_runtime(void **state)
{
	static struct runtimes before, start, end, after;
	const double slop = 2e6; /* the reads of /proc and snag's start and end are not instants */
	struct test_proc snag;
	json_t *root, *rows, *row;
	json_error_t jerr;
	size_t i, checked = 0;

	(void)state;
	require_bpf();
	char *sargv[] = {snag_path,  "-d",   "3",	"-o", (char *)out_path("runtime.json"),
			 "--format", "json", "--no-io", NULL};
	/*
	 * Threads alive all along: two fighting for CPU 0, one sleeping 20 ms at a
	 * time. They would run for 30 s and 20 s, far past the trace whatever
	 * snag's start costs on a loaded machine, and are killed after it.
	 */
	char *hargv[] = {target_path, "hogs", "30000", NULL};
	char *largv[] = {target_path, "sleeper", "1000", "20", NULL};
	struct test_proc hogs, sleeper;

	assert_int_equal(test_spawn(hargv, &hogs), 0);
	assert_int_equal(test_spawn(largv, &sleeper), 0);
	usleep(100 * 1000);
	read_runtimes(&before, hogs.pid, sleeper.pid);
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	read_runtimes(&start, hogs.pid, sleeper.pid);
	usleep(2500 * 1000);
	read_runtimes(&end, hogs.pid, sleeper.pid);
	assert_int_equal(test_proc_wait(&snag, 30), 0);
	read_runtimes(&after, hogs.pid, sleeper.pid);
	kill(hogs.pid, SIGKILL);
	kill(sleeper.pid, SIGKILL);
	test_proc_wait(&hogs, 5);
	test_proc_wait(&sleeper, 5);
	root = itest_load_json(out_path("runtime.json"), &jerr);
	assert_non_null(root);
	rows = json_object_get(root, "sched");
	json_array_foreach(rows, i, row)
	{
		long tid = (long)num(row, "tid"), pid = (long)num(row, "pid");
		double b, s, e, a, on = num(row, "oncpu_ns"), runq = num(row, "runq_total_ns");

		if (pid != hogs.pid && pid != sleeper.pid)
			continue; /* only the target's threads: the machine's own are no known truth
				   */
		if (!runtime_of(&before, tid, &b) || !runtime_of(&start, tid, &s) ||
		    !runtime_of(&end, tid, &e) || !runtime_of(&after, tid, &a))
			continue; /* started or ended during the trace */
		checked++;
		if (on > a - b + slop || on + runq < e - s - slop)
			fail_msg(
			    "thread %ld (%s): snag on-CPU %.0f ns (run queue %.0f ns), the "
			    "kernel's run time grew %.0f ns while traced and %.0f ns around it",
			    tid, json_string_value(json_object_get(row, "comm")), on, runq, e - s,
			    a - b);
	}
	print_message("%zu threads agree with their kernel run time\n", checked);
	assert_true(checked >= 3);
	json_decref(root);
}

/*
 * Attaching to a running process with 2,000 threads that wake every 100 ms:
 * every thread is accounted. Each account used to be made at the thread's
 * first event, in the interrupt that woke it, from a per-CPU cache a timer
 * waking many threads empties: 1,600 of 2,000 threads were lost at a 10 ms
 * period, and still about 600 at this one (sched_thread_table_full). A 10 ms
 * period (200,000 wakeups a second) saturates this 2-CPU machine, and starves
 * snag itself for minutes under ASan.
 */
static void test_attach_to_many_threads(void **state)
{
	char threads[4200], pid[16], err[1024];
	struct test_proc target;
	struct test_run r;
	json_t *root, *rows, *row, *dropped;
	json_error_t jerr;
	size_t i, seen = 0;
	int status;

	(void)state;
	require_bpf();
	snprintf(threads, sizeof(threads), "%s", test_build_path("tests/targets/threads"));
	char *targv[] = {threads, "2000", "100", "same", NULL};
	assert_int_equal(test_spawn(targv, &target), 0);
	if (!test_wait_line(target.out_fd, "ready", 20000)) {
		kill(target.pid, SIGKILL);
		test_proc_wait(&target, 5);
		fail_msg("threads target did not start");
	}
	snprintf(pid, sizeof(pid), "%d", target.pid);
	char *sargv[] = {
	    snag_path,	"-p",	pid,	   "-d", "2", "-o", (char *)out_path("many.json"),
	    "--format", "json", "--no-io", NULL};
	assert_int_equal(test_run(sargv, 60, &r), 0);
	kill(target.pid, SIGKILL);
	test_proc_wait(&target, 5);
	if (r.status != 0) {
		snprintf(err, sizeof(err), "%s", r.err ? r.err : "");
		status = r.status;
		test_run__free(&r); /* before failing: no leak reports on top of the failure */
		fail_msg("snag exited %d: %s", status, err);
	}
	test_run__free(&r);
	root = itest_load_json(out_path("many.json"), &jerr);
	assert_non_null(root);
	rows = json_object_get(root, "sched");
	json_array_foreach(rows, i, row)
	{
		seen += (long)num(row, "pid") == target.pid && num(row, "voluntary_switches") > 0;
	}
	dropped = json_object_get(json_object_get(root, "overhead"), "dropped");
	print_message("%zu of 2000 threads accounted\n", seen);
	assert_int_equal(num(dropped, "sched_thread_table_full"), 0);
	assert_true(seen >= 2000);
	json_decref(root);
}

static int setup(void **state)
{
	(void)state;
	return itest_setup("offcpu");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_known_sleeps),
	    itest_case(test_user_stacks_without_task_work),
	    itest_case(test_interval_rows_sum_to_totals),
	    itest_case(test_pipe_pingpong_switch_counts),
	    itest_case(test_pingpong_wakers),
	    itest_case(test_wakers_across_idle_cpus),
	    itest_case(test_interrupt_wakeups_both_ways),
	    itest_case(test_raw_tp_fallback),
	    itest_case(test_runqueue_contention),
	    itest_case(test_idle_target_keeps_time),
	    itest_case(test_short_lived_process_keeps_stacks),
	    itest_case(test_folded_output),
	    itest_case(test_pprof_output),
	    itest_case(test_cgroup_filter),
	    itest_case(test_oncpu_matches_kernel_runtime),
	    itest_case(test_attach_to_many_threads),
	};

	return cmocka_run_group_tests_name("offcpu", tests, setup, teardown);
}
