/* Integration tests: on-CPU sampling (--cpu) of targets with known CPU use, in the real kernel. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "itest.h"

/* What the cpu target measured itself: its thread's CPU time in hot_a and in hot_b. */
struct ratio_run {
	double a_ns, b_ns;
};

static void parse_ratio(const char *out, struct ratio_run *run)
{
	const char *p = out ? strstr(out, "ratio rounds=") : NULL;
	unsigned long rounds;

	if (!p || sscanf(p, "ratio rounds=%lu hot_a_cpu_ns=%lf hot_b_cpu_ns=%lf", &rounds,
			 &run->a_ns, &run->b_ns) != 3)
		fail_msg("the cpu target printed no ratio line: %s", out ? out : "(nothing)");
}

static json_t *cpu_function(json_t *root, const char *name)
{
	json_t *fns = json_object_get(root, "cpu_functions"), *f;
	size_t i;

	json_array_foreach(fns, i, f)
	{
		const char *n = json_string_value(json_object_get(f, "name"));

		if (n && !strcmp(n, name))
			return f;
	}
	fail_msg("%s not in cpu_functions[]", name);
	return NULL;
}

/* Samples of the cpu[] entries whose user stack starts with frame, and whether all name main. */
static double entry_samples(json_t *root, const char *frame, bool *with_main, bool *incomplete)
{
	json_t *entries = json_object_get(root, "cpu"), *e;
	double total = 0;
	size_t i;

	*with_main = true;
	*incomplete = false;
	json_array_foreach(entries, i, e)
	{
		json_t *user = json_object_get(e, "user_stack");
		const char *first = json_string_value(json_array_get(user, 0));
		bool main_seen = false;
		json_t *f;
		size_t j;

		if (!first || strcmp(first, frame) ||
		    json_array_size(json_object_get(e, "kernel_stack")))
			continue;
		total += num(e, "samples");
		json_array_foreach(user, j, f)
		{
			main_seen |= !strcmp(json_string_value(f), "main");
		}
		*with_main &= main_seen;
		*incomplete |= json_is_true(json_object_get(e, "user_stack_incomplete"));
	}
	return total;
}

/*
 * hot_a does 3 times the work of hot_b: sampled 999 times a second for 1.5 s,
 * their self samples are 3:1 within 25% (about 1,100 and 370 samples: the
 * counting noise alone is under 6%), both with main as caller, and the sampled
 * time matches the CPU time the target measured in each.
 */
static void test_hot_ratio(void **state)
{
	char cmd[8300], *out = NULL;
	struct ratio_run run;
	json_t *root, *a, *b, *lines;
	double sa, sb, period;
	bool main_a, main_b, inc_a, inc_b;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s ratio 1.5", target_path);
	root = run_snag_jsonv(
	    out_path("ratio.json"), &out,
	    (char *[]){"-c", cmd, "--cpu", "-F", "999", "--no-offcpu", "--no-io", NULL});
	parse_ratio(out, &run);
	period = num(root, "cpu_period_ns");
	assert_int_equal((int)num(root, "cpu_frequency_hz"), 999);
	assert_int_equal((long)period, 1000000000L / 999);
	a = cpu_function(root, "hot_a");
	b = cpu_function(root, "hot_b");
	sa = num(a, "self_samples");
	sb = num(b, "self_samples");
	print_message("hot_a %.0f samples, hot_b %.0f samples: %.2f:1 (target measured %.2f:1)\n",
		      sa, sb, sa / sb, run.a_ns / run.b_ns);
	assert_true(sb > 100);
	assert_near(sa / sb, 3.0, 0.25, "hot_a:hot_b self samples (x1000)");
	/* Sampled CPU time is the CPU time the thread measured, within sampling noise. */
	assert_near(sa * period, run.a_ns, 0.20, "hot_a sampled ns");
	assert_near(sb * period, run.b_ns, 0.20, "hot_b sampled ns");
	/* In user stacks, called from main, walked whole (frame pointers). */
	assert_near(entry_samples(root, "hot_a", &main_a, &inc_a), sa, 0.02, "hot_a entry samples");
	assert_near(entry_samples(root, "hot_b", &main_b, &inc_b), sb, 0.02, "hot_b entry samples");
	assert_true(main_a && main_b);
	assert_false(inc_a || inc_b);
	assert_true(num(cpu_function(root, "main"), "total_samples") >= sa + sb);
	/* The target has frame pointers: no warning names it (libc, without them, may get one). */
	json_t *w;
	size_t wi;
	json_array_foreach(json_object_get(root, "cpu_warnings"), wi, w)
	{
		if (!strcmp(json_string_value(json_object_get(w, "binary")), target_path))
			fail_msg("a frame-pointer warning for the cpu target: %s",
				 itest_dump(w, JSON_COMPACT));
	}
	/* The hottest line of hot_a is in the target's source (its loop). */
	lines = json_object_get(a, "lines");
	assert_true(json_array_size(lines) >= 1);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_array_get(lines, 0), "file")), "cpu.c"));
	assert_true(num(json_array_get(lines, 0), "line") > 0);
	/* The finding: hot_a first, critical, on the thread-time scale. */
	json_t *top = json_array_get(json_object_get(root, "bottlenecks"), 0);
	assert_string_equal(json_string_value(json_object_get(top, "kind")), "cpu_hotspot");
	assert_non_null(strstr(json_string_value(json_object_get(top, "target")), "hot_a"));
	test_drop(out);
	json_decref(root);
}

/* With the scheduler collector on too, both measures of on-CPU time agree per process. */
static void test_sampled_matches_sched(void **state)
{
	char cmd[8300], *out = NULL;
	json_t *root, *row;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s ratio 1", target_path);
	root = run_snag_jsonv(out_path("both.json"), &out,
			      (char *[]){"-c", cmd, "--cpu", "-F", "999", "--no-io", NULL});
	row = json_array_get(json_object_get(root, "breakdown"), 0);
	assert_non_null(row);
	print_message("on-CPU: scheduler %.0f ns, sampled %.0f ns (%.0f samples)\n",
		      num(row, "oncpu_ns"), num(row, "oncpu_sampled_ns"), num(row, "cpu_samples"));
	assert_true(num(row, "oncpu_ns") > 0.5e9);
	assert_near(num(row, "oncpu_sampled_ns"), num(row, "oncpu_ns"), 0.15,
		    "sampled vs scheduler on-CPU time");
	test_drop(out);
	json_decref(root);
}

/*
 * A binary without frame pointers: its stacks cannot be walked past the hot
 * function, so every one of them is marked incomplete and the report names the
 * binary, with the fix.
 */
static void test_no_frame_pointers(void **state)
{
	char nofp[PATH_MAX], cmd[PATH_MAX + 16], *text;
	json_t *root, *warnings, *w, *e;
	struct test_run r;
	bool main_seen, incomplete;
	size_t i;

	(void)state;
	require_bpf();
	if (!realpath(test_build_path("tests/targets/nofp"), nofp))
		fail_msg("no nofp target: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "%s 1", nofp);
	root = run_snag_json(out_path("nofp.json"), "-c", cmd, "--cpu", "-F", "499", "--no-offcpu",
			     "--no-io", NULL);
	assert_true(entry_samples(root, "spin_nofp", &main_seen, &incomplete) > 100);
	assert_true(incomplete);
	json_array_foreach(json_object_get(root, "cpu"), i, e)
	{
		const char *first =
		    json_string_value(json_array_get(json_object_get(e, "user_stack"), 0));

		if (first && !strcmp(first, "spin_nofp") &&
		    !json_is_true(json_object_get(e, "user_stack_incomplete")))
			fail_msg("a spin_nofp stack is presented as complete: %s",
				 itest_dump(e, JSON_COMPACT));
	}
	/*
	 * nofp's warning. A sample may also land in libc (its clock_gettime
	 * wrapper) or in the dynamic loader (starting the program, seen under
	 * ASan), which have no frame pointers either and are rightly named too.
	 */
	warnings = json_object_get(root, "cpu_warnings");
	w = NULL;
	json_array_foreach(warnings, i, e)
	{
		const char *bin = json_string_value(json_object_get(e, "binary"));

		if (bin && !strcmp(bin, nofp))
			w = e;
		else if (!bin || (!strstr(bin, "libc.so") && !strstr(bin, "/ld-linux")))
			fail_msg("a warning for %s: %s", bin ? bin : "(none)",
				 itest_dump(e, JSON_COMPACT));
	}
	if (!w)
		fail_msg("no warning names %s: %s", nofp, itest_dump(warnings, JSON_COMPACT));
	assert_string_equal(json_string_value(json_object_get(w, "kind")), "no_frame_pointers");
	assert_true(num(w, "incomplete_samples") > 100);
	assert_true(num(w, "functions_checked") >= 4);
	assert_int_equal((int)num(w, "frame_pointer_functions"), 0);
	json_decref(root);

	/* The text report says it, with the fix. */
	char *argv[] = {snag_path, "-c", cmd, "--cpu", "-F", "499", "--no-offcpu", "--no-io", NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	assert_int_equal(r.status, 0);
	text = r.out;
	if (!strstr(text, "no frame pointers") || !strstr(text, "-fno-omit-frame-pointer") ||
	    !strstr(text, "nofp"))
		fail_msg("the text report does not warn about nofp:\n%s", text);
	{
		const char *w = strstr(text, "Warning"), *end = w ? strstr(w, "\n\n") : NULL;

		if (!w)
			fail_msg("no warning line in the text report:\n%s", text);
		print_message("%.*s\n", end ? (int)(end - w) : (int)strlen(w), w);
	}
	test_run__free(&r);
}

#define CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/"

/* The first line of a sysfs file, without its newline; "" when it cannot be read. */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

static bool set_clocksource(const char *name)
{
	FILE *f = fopen(CLOCKSOURCE "current_clocksource", "we");
	bool ok = f && fputs(name, f) >= 0;

	if (f && fclose(f))
		ok = false;
	if (ok) {
		char now[64];

		read_line(CLOCKSOURCE "current_clocksource", now, sizeof(now));
		ok = !strcmp(now, name);
	}
	return ok;
}

/* The clock source the machine had before test_vdso_frames switched it. */
static char saved_clocksource[64];

static int restore_clocksource(void **state)
{
	if (saved_clocksource[0] && !set_clocksource(saved_clocksource))
		fprintf(stderr, "cannot restore the clock source %s\n", saved_clocksource);
	return itest_case_teardown(state);
}

/*
 * The clock loop's samples on the clock path in use. Its user stacks start in
 * the vdso: in a named function (__vdso_clock_gettime, on the TSC path), or in
 * code that has no exported symbol (the paravirtual clock's reader, on some
 * kvm-clock machines). Unnamed code is one [vdso] row, never a row per
 * address, and no frame of those stacks is a bare [unknown] address; the
 * stacks keep the offsets.
 */
static void check_vdso_frames(const char *clock)
{
	char cmd[8300], report[64];
	double total = 0, in_vdso = 0, unnamed = 0, row = 0;
	json_t *root, *e, *f;
	size_t i, j;

	snprintf(cmd, sizeof(cmd), "%s clock 1", target_path);
	snprintf(report, sizeof(report), "clock-%s.json", clock);
	root = run_snag_jsonv(
	    out_path(report), NULL,
	    (char *[]){"-c", cmd, "--cpu", "-F", "999", "--no-offcpu", "--no-io", NULL});
	json_array_foreach(json_object_get(root, "cpu"), i, e)
	{
		json_t *user = json_object_get(e, "user_stack");
		const char *leaf = json_string_value(json_array_get(user, 0));
		double n = num(e, "samples");

		total += n;
		if (!leaf || (strncmp(leaf, "__vdso_", 7) && strncmp(leaf, "[vdso]", 6)))
			continue; /* e.g. the dynamic loader at start, which has no frame pointers
				   */
		in_vdso += n;
		json_array_foreach(user, j, f)
		{
			if (!strncmp(json_string_value(f), "[unknown]", 9))
				fail_msg("%s: a frame is a bare address: %s", clock,
					 json_string_value(f));
		}
		if (!strncmp(leaf, "[vdso]+0x", 9) &&
		    !json_array_size(json_object_get(e, "kernel_stack")))
			unnamed += n;
	}
	json_array_foreach(json_object_get(root, "cpu_functions"), i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name"));

		if (strstr(name, "+0x"))
			fail_msg("%s: a function row per address: %s", clock, name);
		if (!strcmp(name, "[vdso]"))
			row = num(f, "self_samples");
	}
	print_message("%s: %.0f samples, %.0f starting in the vdso, %.0f of them in unnamed code "
		      "(the [vdso] row has %.0f)\n",
		      clock, total, in_vdso, unnamed, row);
	assert_true(total > 500);
	if (in_vdso < 0.3 * total)
		fail_msg("%s: %.0f of %.0f samples start in the vdso, want >= 30%%", clock, in_vdso,
			 total);
	assert_true(row == unnamed);
	json_decref(root);
}

/*
 * A loop reading the clock spends its time in the vdso, which is no file.
 * Checked on every clock path this machine offers among tsc and kvm-clock,
 * switching the clock source for the run and restoring it after.
 */
static void test_vdso_frames(void **state)
{
	static const char *const clocks[] = {"tsc", "kvm-clock"};
	char line[256], available[260];
	int tried = 0;

	(void)state;
	require_bpf();
	read_line(CLOCKSOURCE "current_clocksource", saved_clocksource, sizeof(saved_clocksource));
	read_line(CLOCKSOURCE "available_clocksource", line, sizeof(line));
	snprintf(available, sizeof(available), " %s ", line); /* each name between spaces */
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		char word[72];

		snprintf(word, sizeof(word), " %s ", clocks[i]);
		if (!strstr(available, word))
			continue;
		if (!set_clocksource(clocks[i]))
			fail_msg("cannot switch the clock source to %s", clocks[i]);
		check_vdso_frames(clocks[i]);
		tried++;
	}
	if (!tried) /* another clock source: test the one in use */
		check_vdso_frames(saved_clocksource);
}

/*
 * Code a JIT generated is anonymous memory, named only in /tmp/perf-PID.map:
 * the target's generated spin loop is named jit_spin_loop from its map.
 */
static void test_jit_frames(void **state)
{
	char cmd[8300], map[64], *out = NULL;
	double total = 0, jit;
	json_t *root, *e;
	const char *p;
	size_t i;
	int pid;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "%s jit 1", target_path);
	root = run_snag_jsonv(
	    out_path("jit.json"), &out,
	    (char *[]){"-c", cmd, "--cpu", "-F", "999", "--no-offcpu", "--no-io", NULL});
	p = strstr(out, "jit pid=");
	assert_non_null(p);
	pid = atoi(p + 8);
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", pid);
	unlink(map); /* the target leaves it, as JITs do */
	test_drop(out);
	json_array_foreach(json_object_get(root, "cpu"), i, e) total += num(e, "samples");
	jit = num(cpu_function(root, "jit_spin_loop"), "self_samples");
	print_message("%.0f samples: %.0f in jit_spin_loop\n", total, jit);
	assert_true(total > 500);
	if (jit < 0.5 * total)
		fail_msg("only %.0f of %.0f samples in jit_spin_loop", jit, total);
	json_decref(root);
}

/* Run snag on the ratio target with --format FMT to path; the report is not JSON here. */
static void run_format(const char *fmt, const char *path)
{
	char cmd[8300];
	struct test_run r;

	snprintf(cmd, sizeof(cmd), "%s ratio 1", target_path);
	char *argv[] = {snag_path, "-c",       cmd,	    "--cpu", "-F",	   "499",
			"--no-io", "--format", (char *)fmt, "-o",    (char *)path, NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status != 0)
		fail_msg("snag --format %s exited %d: %s", fmt, r.status, r.err);
	test_run__free(&r);
}

/* Sum of the values of folded lines that start with prefix and contain frame. */
static double folded_sum(const char *text, const char *prefix, const char *frame)
{
	double sum = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *sp;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[4096];

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			sp = strrchr(buf, ' ');
			if (sp && !strncmp(buf, prefix, strlen(prefix)) && strstr(buf, frame))
				sum += atof(sp + 1);
		}
		line = nl ? nl + 1 : NULL;
	}
	return sum;
}

/* The cum count of name in `go tool pprof -top -sample_index=samples` of profile. */
static double pprof_samples(const char *profile, const char *name)
{
	char home[4200], cache[4200], tmp[4200], row[256], *argv[16];
	struct test_run r;
	double flat, cum = -1;
	int argc = 0;

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
	argv[argc++] = "GOTOOLCHAIN=local";
	argv[argc++] = "go";
	argv[argc++] = "tool";
	argv[argc++] = "pprof";
	argv[argc++] = "-top";
	argv[argc++] = "-symbolize=none";
	argv[argc++] = "-sample_index=samples";
	argv[argc++] = (char *)profile;
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 120, &r), 0);
	if (r.status != 0)
		fail_msg("go tool pprof exited %d: %s", r.status, r.err);
	for (const char *line = r.out; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line), n = strlen(name);

		if (len > n && len < sizeof(row) && !strncmp(line + len - n, name, n) &&
		    line[len - n - 1] == ' ') {
			memcpy(row, line, len);
			row[len] = '\0';
			if (sscanf(row, "%lf %*s %*s %lf", &flat, &cum) != 2)
				cum = -1;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (cum < 0)
		fail_msg("no row for %s in go tool pprof's output:\n%s", name, r.out);
	test_run__free(&r);
	return cum;
}

/* The exports carry the on-CPU stacks: folded lines, pprof columns, the HTML flame graph. */
static void test_exports(void **state)
{
	char path[4200], *text;
	double a, b;

	(void)state;
	require_bpf();
	snprintf(path, sizeof(path), "%s", out_path("cpu.folded"));
	run_format("folded", path);
	text = test_read_file(path, NULL);
	assert_non_null(text);
	a = folded_sum(text, "oncpu;cpu;", ";main;hot_a");
	b = folded_sum(text, "oncpu;cpu;", ";main;hot_b");
	print_message("folded: hot_a %.0f us, hot_b %.0f us\n", a, b);
	assert_true(b > 0);
	assert_near(a / b, 3.0, 0.25, "folded hot_a:hot_b (x1000)");
	/* Every line is an on-CPU or an off-CPU one, told apart by its root frame. */
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (strncmp(l, "oncpu;", 6) && strncmp(l, "offcpu-blocked;", 15) &&
		    strncmp(l, "offcpu-preempted;", 17))
			fail_msg("folded line with an unknown root: %.60s", l);
	test_drop(text);

	snprintf(path, sizeof(path), "%s", out_path("cpu.pb.gz"));
	run_format("pprof", path);
	a = pprof_samples(path, "hot_a");
	b = pprof_samples(path, "hot_b");
	print_message("pprof: hot_a %.0f samples, hot_b %.0f samples\n", a, b);
	assert_true(b > 0);
	assert_near(a / b, 3.0, 0.25, "pprof hot_a:hot_b (x1000)");

	snprintf(path, sizeof(path), "%s", out_path("cpu.html"));
	run_format("html", path);
	text = test_read_file(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"id\":\"oncpu\""));
	assert_non_null(strstr(text, "\"palette\":\"oncpu\""));
	assert_non_null(strstr(text, "[\"hot_a\",\"user\"]"));
	assert_non_null(strstr(text, "On-CPU hotspots"));
	test_drop(text);
}

static int setup(void **state)
{
	(void)state;
	return itest_setup("cpu");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_hot_ratio),
	    itest_case(test_sampled_matches_sched),
	    itest_case(test_no_frame_pointers),
	    cmocka_unit_test_teardown(test_vdso_frames, restore_clocksource),
	    itest_case(test_jit_frames),
	    itest_case(test_exports),
	};

	return cmocka_run_group_tests_name("cpu", tests, setup, teardown);
}
