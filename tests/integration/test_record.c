/* Integration tests: snag record traces real target processes with real uprobes in the real kernel.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "itest.h"

static json_t *find_function(json_t *root, const char *name)
{
	json_t *funcs = json_object_get(root, "functions"), *f;
	size_t i;

	assert_true(json_is_array(funcs));
	json_array_foreach(funcs, i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "name")), name))
			return f;
	}
	fail_msg("function %s not in the report", name);
	return NULL;
}

static void assert_histogram_sums_to_count(json_t *f)
{
	json_t *h = json_object_get(f, "histogram"), *b;
	double sum = 0;
	size_t i;

	json_array_foreach(h, i, b) sum += num(b, "count");
	assert_int_equal((long long)sum, (long long)num(f, "count"));
}

/* Calls whose histogram bucket lies inside [lo, hi] ns. */
static int hist_count_between(json_t *f, double lo, double hi)
{
	json_t *h = json_object_get(f, "histogram"), *b;
	double n = 0;
	size_t i;

	json_array_foreach(h, i, b)
	{
		__u64 le = (__u64)num(b, "le_ns");

		if (snag_hist_lower(snag_hist_bucket(le)) >= lo && le <= hi)
			n += num(b, "count");
	}
	return (int)n;
}

static void test_sleep_function_count_and_p50(void **state)
{
	struct target_timing truth;
	const char *line;
	double life;
	char *out = NULL;
	json_t *root, *f, *intervals, *iv, *fn;
	double interval_calls = 0;
	size_t i, j;

	(void)state;
	require_bpf();
	char cmd[8300];
	snprintf(cmd, sizeof(cmd), "%s sleep 50", target_path);
	root = run_snag_jsonv(out_path("sleep.json"), &out,
			      (char *[]){"-c", cmd, "-u", "sleep_2ms", "-i", "0.05", NULL});
	assert_string_equal(json_string_value(json_object_get(root, "schema")), "snag-report/1");
	f = find_function(root, "sleep_2ms");
	assert_int_equal((long long)num(f, "count"), 50);
	/* nanosleep never returns early: every call lasts at least 2 ms. */
	assert_true(num(f, "min_ns") >= 2 * MS);
	/* How much longer depends on the machine's timers and load: the target times it. */
	assert_matches_target(f, out, "sleep_2ms");
	target_timing(out, "sleep_2ms", &truth);
	assert_true(num(f, "p50_ns") <= num(f, "p90_ns") && num(f, "p90_ns") <= num(f, "p99_ns"));
	assert_true(num(f, "p99_ns") <= num(f, "max_ns"));
	assert_histogram_sums_to_count(f);
	/*
	 * One thread slept ~100 ms of its life under trace: impact is its time in
	 * sleep_2ms over that life. How long the life before main() is depends on
	 * the machine's load, so the bound is the target's own share from main()
	 * on, and severity follows the impact as documented.
	 */
	assert_int_equal((long long)num(root, "traced_threads"), 1);
	line = strstr(out, "life from main: ");
	if (!line || sscanf(line, "life from main: %lf", &life) != 1)
		fail_msg("the target did not print its life: %s", out);
	assert_near(num(f, "impact"), num(f, "inside_ns") / num(root, "traced_thread_ns"), 0.001,
		    "impact against inside_ns / traced_thread_ns");
	assert_true(num(root, "traced_thread_ns") >= life);
	assert_true(num(f, "impact") <= 1.01 * truth.avg_ns * truth.n / life);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
			    num(f, "impact") > 0.5   ? "critical"
			    : num(f, "impact") > 0.2 ? "high"
			    : num(f, "impact") > 0.1 ? "medium"
						     : "low");
	/* The per-interval series adds up to the totals. */
	intervals = json_object_get(root, "intervals");
	assert_true(json_array_size(intervals) >= 2);
	json_array_foreach(intervals, i, iv)
	{
		json_array_foreach(json_object_get(iv, "functions"), j, fn) interval_calls +=
		    num(fn, "count");
	}
	assert_int_equal((long long)interval_calls, 50);
	assert_no_drops(root);
	test_drop(out);
	json_decref(root);
}

static void test_spin_function_count_and_p50(void **state)
{
	char cmd[8300], *out = NULL;
	json_t *root, *f;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s spin 200", target_path);
	root = run_snag_jsonv(out_path("spin.json"), &out,
			      (char *[]){"-c", cmd, "-u", "spin_100us", NULL});
	f = find_function(root, "spin_100us");
	assert_int_equal((long long)num(f, "count"), 200);
	assert_true(num(f, "min_ns") >= 100 * US);
	assert_matches_target(f, out, "spin_100us");
	assert_histogram_sums_to_count(f);
	assert_no_drops(root);
	test_drop(out);
	json_decref(root);
}

/* Fails unless got lies within 10% below lo to 10% above hi. */
static void check_between(double got, double lo, double hi, const char *what)
{
	print_message("%s %.0f ns; the target timed %.0f inside, %.0f around\n", what, got, lo, hi);
	if (got < 0.9 * lo || got > 1.1 * hi)
		fail_msg("%s = %.0f ns, want between %.0f ns (the target inside its calls) and "
			 "%.0f ns (around them), 10%% either side",
			 what, got, lo, hi);
}

/* recurse(4) ten times: 50 calls lasting 200, 400, 600, 800 and 1000 us, ten of each. */
static void test_recursive_function(void **state)
{
	char cmd[8300], *out = NULL;
	struct target_timing inside, around;
	int bands[5];
	long long wall_total, wall_inside, wall_around, wall_outer_own;
	double total;
	const char *line;
	json_t *root, *f;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s recurse 10", target_path);
	root = run_snag_jsonv(out_path("recurse.json"), &out,
			      (char *[]){"-c", cmd, "-u", "recurse", NULL});
	line = out ? strstr(out, "recurse wall: ") : NULL;
	if (!line ||
	    sscanf(line,
		   "recurse wall: total_ns=%lld inside_ns=%lld around_ns=%lld outer_own_ns=%lld",
		   &wall_total, &wall_inside, &wall_around, &wall_outer_own) != 4)
		fail_msg("target did not report its own wall times: %s", out ? out : "");
	print_message("target measured total %lld ns (around the calls %lld ns), inside %lld ns\n",
		      wall_total, wall_around, wall_inside);
	f = find_function(root, "recurse");
	assert_int_equal((long long)num(f, "count"), 50);
	/*
	 * The quantiles against the target's own timings of every call, from
	 * inside it and from its caller around it: preemption on a busy machine
	 * can stretch any call, the short inner ones included, and move p90 far
	 * from the nominal 1 ms; and a preemption while a probe runs is in the
	 * timing around the call, not in the one inside. Histogram buckets are
	 * 6.25% wide: 10% either side.
	 */
	target_timing(out, "recurse", &around);
	target_timing(out, "recurse-inside", &inside);
	assert_true(num(f, "min_ns") >= 200 * US);
	check_between(num(f, "p50_ns"), inside.p50_ns, around.p50_ns, "p50_ns");
	check_between(num(f, "p90_ns"), inside.p90_ns, around.p90_ns, "p90_ns");
	/* The spins alone add up to 30 ms in all calls and 10 ms in the outermost ones; the
	 * target's own clock also counts any preemption, which snag must count too. */
	assert_true(wall_total >= 30 * MS && wall_inside >= 10 * MS);
	/*
	 * snag's clock starts and stops in the probes, between the target's two
	 * timings of each call: inside it, and around it. On a loaded machine a
	 * preemption while a probe runs lands between the two (+7.6% over the
	 * inside timing was seen with half a core busy), so the truth is that
	 * interval, with 2% for the clock reads themselves.
	 */
	total = num(f, "total_ns");
	if (total < 0.98 * (double)wall_total || total > 1.02 * (double)wall_around)
		fail_msg("total_ns = %.0f, want between the target's %lld ns inside its calls and "
			 "%lld ns around them",
			 total, wall_total, wall_around);
	/* Time inside recurse() counts each outermost call once: between their own timing and
	 * main's timing around them. */
	total = num(f, "inside_ns");
	if (total < 0.98 * (double)wall_outer_own || total > 1.02 * (double)wall_inside)
		fail_msg(
		    "inside_ns = %.0f, want between the outermost calls' own %lld ns and main's "
		    "%lld ns around them",
		    total, wall_outer_own, wall_inside);
	/*
	 * Each depth is its own cluster: as many calls within 15% of 200, 400 ..
	 * 1000 us as the target timed there itself (10 each on a quiet machine;
	 * a preempted call strays), give or take 1 for a call on a band's edge.
	 */
	line = strstr(out, "recurse bands:");
	if (!line || sscanf(line, "recurse bands: %d %d %d %d %d", &bands[0], &bands[1], &bands[2],
			    &bands[3], &bands[4]) != 5)
		fail_msg("the target printed no bands: %s", out);
	for (int level = 1; level <= 5; level++) {
		int in = hist_count_between(f, level * 200 * US * 0.85, level * 200 * US * 1.15);

		if (in < bands[level - 1] - 1 || in > bands[level - 1] + 1)
			fail_msg("%d calls within 15%% of %d us, the target timed %d there", in,
				 level * 200, bands[level - 1]);
	}
	assert_no_drops(root);
	test_drop(out);
	json_decref(root);
}

/* outer() spins 300 us and calls inner(), which spins 200 us; 100 calls each. */
static void test_nested_functions(void **state)
{
	char cmd[8300], *out = NULL;
	json_t *root, *outer, *inner;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s nested 100", target_path);
	root = run_snag_jsonv(out_path("nested.json"), &out,
			      (char *[]){"-c", cmd, "-u", "outer", "-u", "inner", NULL});
	outer = find_function(root, "outer");
	inner = find_function(root, "inner");
	assert_int_equal((long long)num(outer, "count"), 100);
	assert_int_equal((long long)num(inner, "count"), 100);
	assert_true(num(outer, "min_ns") >= 500 * US && num(inner, "min_ns") >= 200 * US);
	assert_matches_target(outer, out, "outer");
	assert_matches_target(inner, out, "inner");
	test_drop(out);
	/* Ranked by impact: the outer function includes the inner one. */
	assert_true(num(outer, "impact") > num(inner, "impact"));
	assert_no_drops(root);
	json_decref(root);
}

static void test_library_function(void **state)
{
	char cmd[8300];
	json_t *root, *f;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s libcall 100", target_path);
	root = run_snag_json(out_path("libc.json"), "-c", cmd, "-u", "libc:getppid", NULL);
	f = find_function(root, "getppid");
	assert_int_equal((long long)num(f, "count"), 100);
	assert_non_null(strstr(json_string_value(json_object_get(f, "binary")), "libc.so"));
	json_decref(root);
}

static void test_pid_attach_leaves_target_running(void **state)
{
	char pidbuf[16], *dots;
	struct test_proc target, snag;
	json_t *root, *f;
	json_error_t jerr;
	int status;

	(void)state;
	require_bpf();
	char *targv[] = {target_path, "loop", NULL};
	assert_int_equal(test_spawn(targv, &target), 0);
	/* Under load the exec can come late: snag -u would look for tick() in the test's fork. */
	itest_wait_exec(target.pid, target_path);
	snprintf(pidbuf, sizeof(pidbuf), "%d", target.pid);
	char *sargv[] = {
	    snag_path,	"-p",	pidbuf, "-u", "tick", "-d", "1", "-o", (char *)out_path("pid.json"),
	    "--format", "json", NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	status = test_proc_wait(&snag, 30);
	assert_int_equal(status, 0);
	root = itest_load_json(out_path("pid.json"), &jerr);
	assert_non_null(root);
	f = find_function(root, "tick");
	/* tick() runs about once a millisecond. */
	assert_true(num(f, "count") > 300);
	json_decref(root);
	/* The target is alive and still ticking after snag has gone. */
	test_drop(test_read_for(target.out_fd, 100));
	dots = test_read_for(target.out_fd, 1500);
	assert_true(strlen(dots) >= 3);
	test_drop(dots);
	assert_int_equal(kill(target.pid, 0), 0);
	kill(target.pid, SIGTERM);
	status = test_proc_wait(&target, 5);
	/* Killed by our SIGTERM, not by a stray breakpoint (SIGTRAP) or a crash. */
	assert_int_equal(status, 128 + SIGTERM);
}

static void test_pid_target_exits_mid_trace(void **state)
{
	char pidbuf[16], *out;
	struct test_proc target, snag;
	json_t *root, *f;
	json_error_t jerr;

	(void)state;
	require_bpf();
	char *targv[] = {target_path, "--wait-usr1", "sleep", "20", NULL};
	assert_int_equal(test_spawn(targv, &target), 0);
	assert_true(test_wait_line(target.out_fd, "ready", 5000));
	snprintf(pidbuf, sizeof(pidbuf), "%d", target.pid);
	char *sargv[] = {
	    snag_path,	"-p",	pidbuf, "-u", "sleep_2ms", "-o", (char *)out_path("exit.json"),
	    "--format", "json", NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	kill(target.pid, SIGUSR1);
	out = test_read_for(target.out_fd, 10000); /* to its exit: the pipe ends there */
	assert_int_equal(test_proc_wait(&target, 10), 0);
	/* No -d: snag stops by itself once its only target has exited, keeping its data. */
	assert_int_equal(test_proc_wait(&snag, 10), 0);
	root = itest_load_json(out_path("exit.json"), &jerr);
	assert_non_null(root);
	f = find_function(root, "sleep_2ms");
	assert_matches_target(f, out, "sleep_2ms");
	test_drop(out);
	json_decref(root);
}

/* A /path:glob spec probes processes that start after snag. */
static void test_system_wide_binary(void **state)
{
	char spec[8300];
	struct test_proc snag;
	struct test_run r;
	json_t *root, *f;
	json_error_t jerr;

	(void)state;
	require_bpf();
	snprintf(spec, sizeof(spec), "%s:sleep_2ms", target_path);
	char *sargv[] = {snag_path,  "-u",   spec, "-d", "3", "-o", (char *)out_path("system.json"),
			 "--format", "json", NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	char *targv[] = {target_path, "sleep", "10", NULL};
	assert_int_equal(test_run(targv, 10, &r), 0);
	assert_int_equal(r.status, 0);
	test_run__free(&r);
	assert_int_equal(test_proc_wait(&snag, 20), 0);
	root = itest_load_json(out_path("system.json"), &jerr);
	assert_non_null(root);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "target"), "mode")), "system");
	f = find_function(root, "sleep_2ms");
	assert_int_equal((long long)num(f, "count"), 10);
	json_decref(root);
}

static void stop_with_signal(int sig, const char *name)
{
	char cmd[8300];
	struct test_proc snag;
	json_t *root, *f;
	json_error_t jerr;

	snprintf(cmd, sizeof(cmd), "%s loop", target_path);
	char *sargv[] = {snag_path,  "-c",   cmd, "-u", "tick", "-o", (char *)out_path(name),
			 "--format", "json", NULL};
	assert_int_equal(test_spawn(sargv, &snag), 0);
	wait_tracing(&snag);
	usleep(500000);
	kill(snag.pid, sig);
	assert_int_equal(test_proc_wait(&snag, 20), 0);
	root = itest_load_json(out_path(name), &jerr);
	if (!root)
		fail_msg("report after signal %d is incomplete: %s", sig, jerr.text);
	f = find_function(root, "tick");
	assert_true(num(f, "count") > 100);
	assert_true(num(root, "duration_ns") >= 400 * MS);
	json_decref(root);
}

static void test_sigint_writes_complete_report(void **state)
{
	(void)state;
	require_bpf();
	stop_with_signal(SIGINT, "sigint.json");
}

static void test_sigterm_writes_complete_report(void **state)
{
	(void)state;
	require_bpf();
	stop_with_signal(SIGTERM, "sigterm.json");
}

static void test_text_report(void **state)
{
	char cmd[8300];
	struct test_run r;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s nested 20", target_path);
	char *argv[] = {snag_path, "-c", cmd, "-u", "outer", "-u", "inner", "--histogram", NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status)
		fail_msg("snag exited %d: %s", r.status, r.err);
	assert_non_null(strstr(r.out, "FUNCTION"));
	assert_non_null(strstr(r.out, "outer"));
	assert_non_null(strstr(r.out, "inner"));
	assert_non_null(strstr(r.out, "snag cost:"));
	test_run__free(&r);
}

static void test_list_binary(void **state)
{
	struct test_run r;

	(void)state;
	char *argv[] = {snag_path, "list", target_path, "sleep_*", NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "sleep_2ms"));
	assert_null(strstr(r.out, "spin_100us"));
	test_run__free(&r);
}

/* Bad input: exit 2, one line on stderr starting "snag: ", and no report file. */
static void expect_usage_error(const char *needle, char *const extra[])
{
	char *argv[32];
	int argc = 0;
	struct test_run r;
	const char *report = out_path("bad.json");
	const char *nl;

	unlink(report);
	argv[argc++] = snag_path;
	for (int i = 0; extra[i]; i++)
		argv[argc++] = extra[i];
	argv[argc++] = "-o";
	argv[argc++] = (char *)report;
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 30, &r), 0);
	if (r.status != 2 || strncmp(r.err, "snag: ", 6) || !(nl = strchr(r.err, '\n')) ||
	    nl[1] != '\0' || !strstr(r.err, needle))
		fail_msg("want exit 2 and one line containing '%s'; got exit %d, stderr: %s",
			 needle, r.status, r.err);
	assert_int_equal(access(report, F_OK), -1);
	test_run__free(&r);
}

static int free_pid(void)
{
	for (int pid = 4000000; pid > 300000; pid -= 7919)
		if (kill(pid, 0) && errno == ESRCH)
			return pid;
	return 4194303;
}

/* A Go program whose goroutines grow their stacks in main.work; it prints "ran" when it runs. */
static const char go_source[] =
    "package main\n"
    "import \"fmt\"\n"
    "//go:noinline\n"
    "func deep(n int) int { var pad [256]byte; pad[n%256] = byte(n); if n == 0 { return 0 }; "
    "return deep(n-1) + int(pad[n%256]) }\n"
    "//go:noinline\n"
    "func work(i int) int { return deep(2000 + i%100) }\n"
    "func main() { fmt.Println(\"ran\"); t := 0; for i := 0; i < 100; i++ { t += work(i) }; "
    "fmt.Println(t) }\n";

/* Build go_source with Debian's golang-go; returns the binary's path. */
static const char *build_go_target(void)
{
	static char bin[4200];
	char src[4200], home[4200], cache[4200];
	struct test_run r;
	FILE *f;

	snprintf(src, sizeof(src), "%s", out_path("gotarget.go"));
	snprintf(bin, sizeof(bin), "%s", out_path("gotarget"));
	snprintf(home, sizeof(home), "HOME=%s", out_path(""));
	snprintf(cache, sizeof(cache), "GOCACHE=%s", out_path("gocache"));
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(go_source, f);
	fclose(f);
	char *argv[] = {
	    "/usr/bin/env", home,    cache, "GOPROXY=off", "GOFLAGS=", "GOTOOLCHAIN=local",
	    "go",	    "build", "-o",  bin,	   src,	       NULL};
	assert_int_equal(test_run(argv, 120, &r), 0);
	if (r.status != 0)
		fail_msg("go build exited %d (is golang-go installed? make deps): %s", r.status,
			 r.err);
	test_run__free(&r);
	return bin;
}

/*
 * Return probes crash Go programs (the runtime aborts when it copies a
 * goroutine stack holding a probe's return address): -u on Go code is
 * refused with exit 2 and one line that says why, and the program never runs.
 */
static void test_go_functions_refused(void **state)
{
	const char *bin;
	char cmd[4300], spec[4300];
	struct test_run r;

	(void)state;
	require_bpf();
	bin = build_go_target();
	snprintf(cmd, sizeof(cmd), "%s", bin);
	char *argv[] = {snag_path, "-c", cmd, "-u", "main.work", NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	if (r.status != 2 || !strstr(r.err, "is a Go program") || strchr(r.err, '\n')[1] != '\0')
		fail_msg("want exit 2 and one line saying it is a Go program; got exit %d: %s",
			 r.status, r.err);
	if (strstr(r.out, "ran"))
		fail_msg("the Go program ran: %s", r.out);
	test_run__free(&r);
	snprintf(spec, sizeof(spec), "%s:main.*", bin);
	expect_usage_error("is a Go program", (char *[]){"-u", spec, NULL});
}

/* A C++ program: middle(i) calls thrower(i), which throws for odd i when THROW is 1. */
static const char cxx_source[] =
    "#include <cstdio>\n#include <cstdlib>\n#include <stdexcept>\n"
    "__attribute__((noinline)) int thrower(int i, int t) { if (t && i % 2) throw "
    "std::runtime_error(\"odd\"); return i; }\n"
    "__attribute__((noinline)) int middle(int i, int t) { return thrower(i, t) + 1; }\n"
    "int main(int argc, char **argv) { int n = atoi(argv[1]), t = atoi(argv[2]), c = 0, s = 0;\n"
    "  for (int i = 0; i < n; i++) { try { s += middle(i, t); } catch (const std::exception &) "
    "{ c++; } }\n"
    "  printf(\"ran caught=%d sum=%d\\n\", c, s); }\n";

/*
 * A C++ exception that unwinds through a return probe aborts the program:
 * -u on C++ code is refused (exit 2, one line, the program never runs)
 * unless --exceptions-ok says no exception passes through; then it is timed.
 */
static void test_cxx_needs_exceptions_ok(void **state)
{
	char src[4200], bin[4200], cmd[4300];
	struct test_run r;
	json_t *root, *f;
	FILE *fp;

	(void)state;
	require_bpf();
	snprintf(src, sizeof(src), "%s", out_path("cxxtarget.cpp"));
	snprintf(bin, sizeof(bin), "%s", out_path("cxxtarget"));
	fp = fopen(src, "w");
	assert_non_null(fp);
	fputs(cxx_source, fp);
	fclose(fp);
	char *cc[] = {"/usr/bin/env", "clang++", "-O2", "-fno-omit-frame-pointer",
		      "-o",	      bin,	 src,	NULL};
	assert_int_equal(test_run(cc, 120, &r), 0);
	if (r.status != 0)
		fail_msg("clang++ exited %d (is clang installed? make deps): %s", r.status, r.err);
	test_run__free(&r);

	snprintf(cmd, sizeof(cmd), "%s 10 1", bin);
	char *refused[] = {snag_path, "-c", cmd, "-u", "_Z6middleii", NULL};
	assert_int_equal(test_run(refused, 30, &r), 0);
	if (r.status != 2 || !strstr(r.err, "is C++ or Rust code") ||
	    !strstr(r.err, "--exceptions-ok") || strchr(r.err, '\n')[1] != '\0')
		fail_msg("want exit 2 and one line naming --exceptions-ok; got exit %d: %s",
			 r.status, r.err);
	if (strstr(r.out, "ran"))
		fail_msg("the C++ program ran: %s", r.out);
	test_run__free(&r);

	snprintf(cmd, sizeof(cmd), "%s 20 0", bin);
	/* By its C++ name, as a C++ programmer writes it; reported demangled. */
	root =
	    run_snag_json(out_path("cxx.json"), "-c", cmd, "-u", "middle", "--exceptions-ok", NULL);
	f = json_array_get(json_object_get(root, "functions"), 0);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "middle(int, int)");
	assert_int_equal((int)num(f, "count"), 20);
	json_decref(root);
}

static void test_bad_inputs(void **state)
{
	char pid[16], cmd[8300], stripped[8300], notelf[8300], libc_all[] = "libc:*";

	(void)state;
	require_bpf();
	snprintf(pid, sizeof(pid), "%d", free_pid());
	snprintf(cmd, sizeof(cmd), "%s sleep 1", target_path);
	snprintf(stripped, sizeof(stripped), "%s/tests/elf/fixture-pie-stripped:fixture_*",
		 test_build_dir());
	snprintf(notelf, sizeof(notelf), "%s/tests/elf/not-elf.txt:main", test_build_dir());
	expect_usage_error("no process with pid", (char *[]){"-p", pid, "-u", "x", NULL});
	expect_usage_error("cannot run", (char *[]){"-c", "/nonexistent/prog", "-u", "x", NULL});
	expect_usage_error("/nonexistent/bin", (char *[]){"-u", "/nonexistent/bin:foo", NULL});
	expect_usage_error("ELF", (char *[]){"-u", notelf, NULL});
	expect_usage_error("no function matching",
			   (char *[]){"-c", cmd, "-u", "no_such_function_xyz", NULL});
	expect_usage_error("stripped", (char *[]){"-u", stripped, NULL});
	expect_usage_error("invalid duration", (char *[]){"-c", cmd, "-u", "x", "-d", "0", NULL});
	expect_usage_error("invalid duration", (char *[]){"-c", cmd, "-u", "x", "-d", "-1", NULL});
	expect_usage_error("invalid duration", (char *[]){"-c", cmd, "-u", "x", "-d", "abc", NULL});
	expect_usage_error("unknown format",
			   (char *[]){"-c", cmd, "-u", "x", "--format", "xml", NULL});
	expect_usage_error("-p and -c", (char *[]){"-p", "1", "-c", cmd, "-u", "x", NULL});
	expect_usage_error("unknown option", (char *[]){"--bogus", NULL});
	expect_usage_error("no cgroup", (char *[]){"--cgroup", "/nonexistent/cg", NULL});
	expect_usage_error("not a cgroup v2", (char *[]){"--cgroup", "/tmp", NULL});
	expect_usage_error("--offcpu", (char *[]){"-c", cmd, "-u", "x", "--cgroup", "/tmp", NULL});
	expect_usage_error("invalid --min-block", (char *[]){"--min-block", "0", NULL});
	expect_usage_error("invalid --small-io", (char *[]){"--small-io", "4x", NULL});
	expect_usage_error("invalid --small-io", (char *[]){"--small-io", "0", NULL});
	expect_usage_error("nothing to trace", (char *[]){"--no-io", "--no-offcpu", NULL});
	/* On-CPU sampling: -F in range, and only with --cpu. */
	expect_usage_error("from 1 to 10000", (char *[]){"--cpu", "-F", "0", NULL});
	expect_usage_error("from 1 to 10000", (char *[]){"--cpu", "-F", "20000", NULL});
	expect_usage_error("add --cpu", (char *[]){"-F", "99", NULL});
	expect_usage_error("contradict", (char *[]){"--io", "--no-io", NULL});
	expect_usage_error("more than the limit", (char *[]){"-c", cmd, "-u", libc_all, NULL});
	expect_usage_error(
	    "BTF", (char *[]){"-c", cmd, "-u", "sleep_2ms", "--btf", "/nonexistent/vmlinux", NULL});
}

/* -o on a device writes through it: renaming a file over it would replace /dev/null. */
static void test_output_to_device(void **state)
{
	struct test_run r;
	struct stat st;

	(void)state;
	require_bpf();
	char *argv[] = {snag_path, "-d", "0.2", "--no-io", "-o", "/dev/null", NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	assert_int_equal(r.status, 0);
	test_run__free(&r);
	assert_int_equal(stat("/dev/null", &st), 0);
	if (!S_ISCHR(st.st_mode))
		fail_msg("/dev/null is no longer a character device (mode %o)", st.st_mode);
}

static void test_unwritable_output(void **state)
{
	char cmd[8300];
	struct test_run r;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s sleep 1", target_path);
	char *argv[] = {snag_path, "-c", cmd, "-u", "sleep_2ms", "-o", "/nonexistent-dir/r.json",
			NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "cannot write the report"));
	test_run__free(&r);
}

/*
 * -o at a FIFO with no reader used to block snag forever before tracing, and
 * -o at a link was followed (onto a block device, in the review): both now
 * exit 2 at once with a message, before any tracing.
 */
static void test_output_fifo_and_link(void **state)
{
	char cmd[8300], fifo[PATH_MAX], link[PATH_MAX];
	struct test_run r;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s sleep 1", target_path);
	snprintf(fifo, sizeof(fifo), "%s", out_path("out.fifo"));
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	char *argv[] = {snag_path, "-c", cmd, "-u", "sleep_2ms", "-o", fifo, NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "FIFO with no reader"));
	test_run__free(&r);
	unlink(fifo);

	snprintf(link, sizeof(link), "%s", out_path("out-link.json"));
	unlink(link);
	assert_int_equal(symlink("/dev/null", link), 0);
	argv[6] = link;
	assert_int_equal(test_run(argv, 30, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "symbolic link"));
	test_run__free(&r);
	unlink(link);
}

/* Root without capabilities: an empty bounding set leaves uid 0 with no effective capabilities. */
static void test_without_privileges(void **state)
{
	char cmd[8300];
	struct test_run r;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(cmd, sizeof(cmd), "%s sleep 1", target_path);
	char *argv[] = {"/usr/bin/setpriv",
			"--bounding-set",
			"-all",
			"--inh-caps",
			"-all",
			snag_path,
			"-c",
			cmd,
			"-u",
			"sleep_2ms",
			NULL};
	assert_int_equal(test_run(argv, 30, &r), 0);
	if (r.status != 2 || !strstr(r.err, "CAP_BPF"))
		fail_msg("want exit 2 naming CAP_BPF, got %d: %s", r.status, r.err);
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
	    itest_case(test_sleep_function_count_and_p50),
	    itest_case(test_spin_function_count_and_p50),
	    itest_case(test_recursive_function),
	    itest_case(test_nested_functions),
	    itest_case(test_library_function),
	    itest_case(test_pid_attach_leaves_target_running),
	    itest_case(test_pid_target_exits_mid_trace),
	    itest_case(test_system_wide_binary),
	    itest_case(test_sigint_writes_complete_report),
	    itest_case(test_sigterm_writes_complete_report),
	    itest_case(test_text_report),
	    itest_case(test_list_binary),
	    itest_case(test_bad_inputs),
	    itest_case(test_go_functions_refused),
	    itest_case(test_cxx_needs_exceptions_ok),
	    itest_case(test_output_to_device),
	    itest_case(test_unwritable_output),
	    itest_case(test_output_fifo_and_link),
	    itest_case(test_without_privileges),
	};

	return cmocka_run_group_tests_name("record", tests, setup, teardown);
}
