/* Helpers for the integration tests: paths, BPF availability, running snag, reading its JSON. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "itest.h"

char snag_path[4096], target_path[4096];
static char workdir[] = "/tmp/snag-it-XXXXXX";

/*
 * Tests that need BPF skip when it is unavailable, unless SNAG_REQUIRE_BPF=1
 * (CI), where that is a failure: a test that skips on CI does not exist.
 */
void require_bpf(void)
{
	const char *req = getenv("SNAG_REQUIRE_BPF");
	bool required = req && !strcmp(req, "1");
	const char *why = NULL;

	if (geteuid() != 0)
		why = "not root";
	else if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) != 1)
		why = "the kernel refuses BPF kprobe/uprobe programs";
	if (!why)
		return;
	if (required)
		fail_msg("BPF is required (SNAG_REQUIRE_BPF=1) but unavailable: %s", why);
	print_message("skipping: BPF unavailable (%s)\n", why);
	skip();
}

const char *out_path(const char *name)
{
	static char buf[4200];

	snprintf(buf, sizeof(buf), "%s/%s", workdir, name);
	return buf;
}

/* Run snag with the given arguments (NULL-terminated), expecting exit 0; returns the parsed JSON
 * report at -o. */
json_t *run_snag_jsonv(const char *report, char **out, char *const args[])
{
	char *argv[64];
	int argc = 0;
	struct test_run r;
	json_error_t jerr;
	json_t *root;

	argv[argc++] = snag_path;
	for (int i = 0; args[i] && argc < 60; i++)
		argv[argc++] = args[i];
	argv[argc++] = "-o";
	argv[argc++] = (char *)report;
	argv[argc++] = "--format=json";
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status != 0)
		fail_msg("snag exited %d: %s", r.status, r.err);
	if (out) {
		*out = r.out;
		r.out = NULL;
	}
	test_run__free(&r);
	root = itest_load_json(report, &jerr);
	if (!root)
		fail_msg("report %s is not JSON: %s (line %d)", report, jerr.text, jerr.line);
	return root;
}

/*
 * The registry holds a reference of its own, so a test's json_decref() stays
 * right. A test that failed never dropped its reference: every reference left
 * at the test's end is released, and the tree freed.
 */
static void json_release(void *p)
{
	json_t *root = p;

	while (root->refcount > 1)
		json_decref(root);
	json_decref(root);
}

char *itest_dump(const json_t *v, size_t flags)
{
	return test_keep(json_dumps(v, flags), free);
}

json_t *itest_keep_json(json_t *root)
{
	if (root)
		test_keep(json_incref(root), json_release);
	return root;
}

json_t *itest_load_json(const char *path, json_error_t *err)
{
	return itest_keep_json(json_load_file(path, 0, err));
}

int itest_case_teardown(void **state)
{
	(void)state;
	test_release();
	return 0;
}

json_t *run_snag_json(const char *report, ...)
{
	char *args[60];
	int n = 0;
	va_list ap;
	char *a;

	va_start(ap, report);
	while ((a = va_arg(ap, char *)) && n < 59)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return run_snag_jsonv(report, NULL, args);
}

double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		fail_msg("field %s missing or not a number", key);
	return json_number_value(v);
}

void assert_near(double got, double want, double tolerance, const char *what)
{
	double err = got / want - 1;

	if (err < -tolerance || err > tolerance)
		fail_msg("%s = %.0f, want %.0f within %.0f%% (off by %+.1f%%)", what, got, want,
			 tolerance * 100, err * 100);
}

void target_timing(const char *out, const char *name, struct target_timing *t)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "timed %s: ", name);
	p = out ? strstr(out, key) : NULL;
	if (!p || sscanf(p + strlen(key), "n=%ld min_ns=%lf p50_ns=%lf avg_ns=%lf p90_ns=%lf",
			 &t->n, &t->min_ns, &t->p50_ns, &t->avg_ns, &t->p90_ns) != 5)
		fail_msg("the target printed no timing of %s: %s", name, out ? out : "(nothing)");
}

void assert_matches_target(json_t *f, const char *out, const char *name)
{
	struct target_timing in, around;
	char inside_name[256];
	double p50 = num(f, "p50_ns"), avg = num(f, "avg_ns");

	snprintf(inside_name, sizeof(inside_name), "%s-inside", name);
	target_timing(out, name, &around);
	target_timing(out, inside_name, &in);
	print_message("%s: snag p50 %.0f avg %.0f ns; the target timed p50 %.0f-%.0f, avg "
		      "%.0f-%.0f ns (inside-around)\n",
		      name, p50, avg, in.p50_ns, around.p50_ns, in.avg_ns, around.avg_ns);
	assert_int_equal((long)num(f, "count"), around.n);
	if (p50 < 0.9 * in.p50_ns || p50 > 1.1 * around.p50_ns)
		fail_msg("%s p50 %.0f ns, want %.0f-%.0f ns within 10%%", name, p50, in.p50_ns,
			 around.p50_ns);
	if (avg < 0.98 * in.avg_ns || avg > 1.02 * around.avg_ns)
		fail_msg("%s avg %.0f ns, want %.0f-%.0f ns within 2%%", name, avg, in.avg_ns,
			 around.avg_ns);
}

/*
 * Nothing may be dropped or mismatched in a clean run, with one exception:
 * the kernel sometimes runs a thread without a sched_switch event (ftrace's
 * own event misses it too). snag rebuilds those from the task's counters
 * (overhead.recovered); one or two per run that the counters cannot place
 * (two unreported switches in a row) are the kernel's, and their time is kept.
 */
void assert_no_drops(json_t *root)
{
	json_t *dropped = json_object_get(json_object_get(root, "overhead"), "dropped"), *v;
	const char *cause;

	assert_true(json_is_object(dropped));
	json_object_foreach(dropped, cause, v)
	{
		long long n = json_integer_value(v);

		if (n != 0 && !(!strcmp(cause, "sched_missed_switch_in") && n <= 2))
			fail_msg("dropped %s = %lld", cause, n);
	}
}

void itest_wait_exec(int pid, const char *path)
{
	char link[64], exe[4096];

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	for (int i = 0; i < 1000; i++) {
		ssize_t n = readlink(link, exe, sizeof(exe) - 1);

		if (n > 0) {
			exe[n] = '\0';
			if (!strcmp(exe, path))
				return;
		}
		usleep(10000);
	}
	fail_msg("process %d did not exec %s within 10 s", pid, path);
}

/* Wait until snag says it is tracing; fails the test with snag's stderr otherwise. */
void wait_tracing(struct test_proc *snag)
{
	if (!test_wait_line(snag->err_fd, "snag: tracing", 20000)) {
		char *err = test_read_for(snag->err_fd, 200); /* kept: released after the test */

		kill(snag->pid, SIGKILL);
		fail_msg("snag did not start tracing: %s", err);
	}
}

int itest_setup(const char *target)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/targets/%s", target ? target : "");
	if (!realpath(test_build_path("snag"), snag_path) ||
	    (target && !realpath(test_build_path(rel), target_path))) {
		fprintf(stderr, "build the tests first (make test)\n");
		return -1;
	}
	if (!mkdtemp(workdir))
		return -1;
	return 0;
}

int itest_teardown(void)
{
	char cmd[4200];

	test_release();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	return system(cmd) == 0 ? 0 : -1;
}

bool itest_cgroup2_mount(char *buf, size_t len)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");
	bool found = false;

	while (f && !found && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}
