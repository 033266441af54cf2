/*
 * Integration tests: snag --mem on tests/targets/mem in the real kernel: exact allocation counts
 * per stack and entry point, a leak told from freed scratch work, churn, sampling, mmap, and a
 * target that keeps computing the same results while snag attaches and detaches.
 */
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
#include "itest.h"

#define KIB 1024.0

static int setup(void **state)
{
	(void)state;
	return itest_setup("mem");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* The allocation row of source whose innermost frame is site, or NULL. */
static json_t *row_at(json_t *root, const char *source, const char *site)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(root, "allocations"), i, a)
	{
		json_t *stack = json_object_get(a, "stack");

		if (!strcmp(str(a, "source"), source) && json_array_size(stack) &&
		    !strcmp(json_string_value(json_array_get(stack, 0)), site))
			return a;
	}
	return NULL;
}

/* The allocation row of source with a frame named frame anywhere in its stack, or NULL. */
static json_t *row_with(json_t *root, const char *source, const char *frame)
{
	json_t *a, *f;
	size_t i, j;

	json_array_foreach(json_object_get(root, "allocations"), i, a)
	{
		if (strcmp(str(a, "source"), source))
			continue;
		json_array_foreach(json_object_get(a, "stack"), j, f)
		{
			if (!strcmp(json_string_value(f), frame))
				return a;
		}
	}
	return NULL;
}

static json_t *must_row(json_t *root, const char *source, const char *site)
{
	json_t *a = row_at(root, source, site);

	if (!a)
		fail_msg("no %s allocation row at %s", source, site);
	return a;
}

/* Findings of kind. */
static size_t findings(json_t *root, const char *kind, json_t **first)
{
	json_t *b;
	size_t i, n = 0;

	json_array_foreach(json_object_get(root, "bottlenecks"), i, b)
	{
		if (strcmp(str(b, "kind"), kind))
			continue;
		if (!n++ && first)
			*first = b;
	}
	return n;
}

/* Run snag -c 'mem ARGS' --mem [extra] to a JSON report. */
static json_t *trace_command(const char *args, const char *report, ...)
{
	char cmd[8300], *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	snprintf(cmd, sizeof(cmd), "%s %s", target_path, args);
	argv[argc++] = "-c";
	argv[argc++] = cmd;
	argv[argc++] = "--mem";
	va_start(ap, report);
	while ((a = va_arg(ap, char *)) && argc < 30)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return run_snag_jsonv(report, NULL, argv);
}

/* One row's exact counts: n allocations of size, the first half freed. */
static void expect_exact(json_t *root, const char *site, double n, double size)
{
	json_t *a = must_row(root, "heap", site);

	assert_int_equal((long long)num(a, "total_allocs"), (long long)n);
	assert_int_equal((long long)num(a, "total_bytes"), (long long)(n * size));
	assert_int_equal((long long)num(a, "freed_allocs"), (long long)(n / 2));
	assert_int_equal((long long)num(a, "freed_bytes"), (long long)(n / 2 * size));
	assert_int_equal((long long)num(a, "outstanding_count"), (long long)(n / 2));
	assert_int_equal((long long)num(a, "outstanding_bytes"), (long long)(n / 2 * size));
	assert_int_equal((long long)num(a, "untracked_allocs"), 0);
}

/*
 * Every entry point, counted exactly per allocation site: a realloc frees its
 * old block (exact_realloc_first's all end there) and allocates at its own
 * site; the survivors are outstanding when the process exits.
 */
static void check_exact(const char *report, const char *env)
{
	json_t *root, *first, *oh;

	if (env)
		setenv(env, "1", 1);
	root = trace_command("exact 1000", out_path(report), NULL);
	if (env)
		unsetenv(env);
	expect_exact(root, "exact_malloc", 1000, 100);
	expect_exact(root, "exact_calloc", 1000, 200);
	expect_exact(root, "exact_realloc", 1000, 300);
	expect_exact(root, "exact_memalign", 1000, 400);
	expect_exact(root, "exact_aligned", 1000, 512);
	first = must_row(root, "heap", "exact_realloc_first");
	assert_int_equal((long long)num(first, "total_allocs"), 1000);
	assert_int_equal((long long)num(first, "freed_allocs"), 1000);
	assert_int_equal((long long)num(first, "outstanding_bytes"), 0);
	oh = json_object_get(root, "overhead");
	assert_int_equal((long long)num(oh, "mem_sample"), 1);
	/* Every free was of a block allocated in the trace. */
	assert_int_equal((long long)num(oh, "mem_untracked_frees"), 0);
	assert_true(num(json_object_get(oh, "mem_calls"), "free") >= 2500);
	assert_int_equal(findings(root, "memory_leak", NULL), 0);
	assert_no_drops(root);
	json_decref(root);
}

static void test_exact_counts(void **state)
{
	(void)state;
	require_bpf();
	check_exact("exact.json", NULL);
}

/* The same numbers from the entry and return programs that kernels before 6.13 use. */
static void test_exact_counts_return_probes(void **state)
{
	(void)state;
	require_bpf();
	check_exact("exact-ret.json", "SNAG_FORCE_UPROBE_RETURN");
}

/*
 * The leak target loses 1 KiB every 10 ms in leak_block and frees all eight
 * blocks scratch_work allocates each time: only leak_block is a suspect,
 * growing by 100 KiB/s. The rate holds under load (the target sleeps to
 * absolute deadlines), so 25% covers a loaded CI machine's timing noise.
 */
static void test_leak_suspect(void **state)
{
	char pidbuf[16], *out;
	struct test_proc target;
	json_t *root, *leak, *scratch, *b = NULL, *mem;
	double leaked, total;

	(void)state;
	require_bpf();
	char *targv[] = {target_path, "leak", "7", NULL};
	assert_int_equal(test_spawn(targv, &target), 0);
	assert_true(test_wait_line(target.out_fd, "ready", 5000));
	snprintf(pidbuf, sizeof(pidbuf), "%d", target.pid);
	root = run_snag_json(out_path("leak.json"), "-p", pidbuf, "--mem", "-d", "5", "-i", "0.5",
			     NULL);
	leak = must_row(root, "heap", "leak_block");
	scratch = must_row(root, "heap", "scratch_work");
	/* Nothing of leak_block's is freed. */
	leaked = num(leak, "outstanding_count");
	assert_true(leaked > 0);
	assert_int_equal((long long)num(leak, "freed_allocs"), 0);
	assert_int_equal((long long)leaked, (long long)num(leak, "total_allocs"));
	assert_int_equal((long long)num(leak, "outstanding_bytes"), (long long)(leaked * 1024));
	assert_near(num(leak, "growth_bytes_per_s"), 100 * KIB, 0.25, "growth_bytes_per_s");
	assert_true(num(leak, "growth_r2") > 0.9);
	/* Five seconds at 100 a second. */
	assert_near(leaked, 500, 0.25, "leaked blocks");
	/* scratch_work: eight blocks per leak_block, all freed but a call in flight at the end. */
	total = num(scratch, "total_allocs");
	assert_true(total >= 8 * leaked - 8 && total <= 8 * leaked + 8);
	assert_true(num(scratch, "freed_allocs") >= total - 8);
	assert_true(num(scratch, "outstanding_bytes") <= 8 * 256);
	/* One suspect: leak_block, with its rate. */
	assert_int_equal(findings(root, "memory_leak", &b), 1);
	assert_non_null(strstr(str(b, "target"), "allocations in leak_block"));
	assert_near(num(json_object_get(b, "evidence"), "growth_bytes_per_s"), 100 * KIB, 0.25,
		    "evidence growth_bytes_per_s");
	/* The process's memory: sampled every interval, growing with the leak. */
	mem = json_array_get(json_object_get(root, "memory"), 0);
	assert_int_equal((long long)num(mem, "pid"), target.pid);
	assert_string_equal(str(mem, "comm"), "mem");
	assert_int_equal(json_array_size(json_object_get(mem, "rss_bytes")), 10);
	assert_true(num(mem, "peak_rss_bytes") > 0);
	assert_true(num(mem, "rss_hwm_bytes") >= num(mem, "peak_rss_bytes"));
	assert_true(num(mem, "minor_faults_total") > 0);
	/* Page granularity and malloc's heap growth blur it: half to twice the leak. */
	assert_true(num(mem, "rss_growth_bytes_per_s") > 50 * KIB &&
		    num(mem, "rss_growth_bytes_per_s") < 200 * KIB);
	assert_no_drops(root);
	json_decref(root);
	/* The target finished its 7 s, unharmed by the probes coming and going. */
	out = test_read_for(target.out_fd, 15000);
	assert_int_equal(test_proc_wait(&target, 5), 0);
	if (!strstr(out, "leak blocks=700 bytes=716800"))
		fail_msg("the leak target said: %s", out);
	test_drop(out);
}

/* 300,000 malloc+free pairs from churn_once: allocation_churn, and no leak. */
static void test_churn(void **state)
{
	json_t *root, *a, *b = NULL;

	(void)state;
	require_bpf();
	root = trace_command("churn 300000", out_path("churn.json"), NULL);
	a = must_row(root, "heap", "churn_once");
	assert_int_equal((long long)num(a, "total_allocs"), 300000);
	assert_int_equal((long long)num(a, "freed_allocs"), 300000);
	assert_int_equal((long long)num(a, "total_bytes"), 300000 * 64);
	assert_true(num(a, "avg_lifetime_ns") > 0 && num(a, "avg_lifetime_ns") < 1e6);
	assert_int_equal(findings(root, "allocation_churn", &b), 1);
	assert_non_null(strstr(str(b, "target"), "allocations in churn_once"));
	assert_int_equal((long long)num(json_object_get(b, "evidence"), "total_allocs"), 300000);
	assert_int_equal(findings(root, "memory_leak", NULL), 0);
	assert_no_drops(root);
	json_decref(root);
}

/*
 * One allocation call in 10, at random: counts are scaled estimates (20,000 of
 * exact_malloc's: 2,000 recorded, a standard deviation of 2%), and most frees
 * find no recorded block.
 */
static void test_sampling(void **state)
{
	json_t *root, *a, *oh;

	(void)state;
	require_bpf();
	root = trace_command("exact 20000", out_path("sampled.json"), "--mem-sample", "10", NULL);
	oh = json_object_get(root, "overhead");
	assert_int_equal((long long)num(oh, "mem_sample"), 10);
	a = must_row(root, "heap", "exact_malloc");
	assert_near(num(a, "total_allocs"), 20000, 0.15, "sampled total_allocs");
	assert_int_equal((long long)num(a, "total_allocs") % 10, 0);
	assert_near(num(a, "outstanding_bytes"), 10000 * 100, 0.2, "sampled outstanding_bytes");
	/*
	 * Every free is still probed, and realloc's end of its old block: about 9
	 * in 10 find no recorded block.
	 */
	assert_near(num(oh, "mem_untracked_frees"),
		    0.9 * (num(json_object_get(oh, "mem_calls"), "free") +
			   num(json_object_get(oh, "mem_calls"), "realloc")),
		    0.1, "mem_untracked_frees");
	assert_no_drops(root);
	json_decref(root);
}

/* Anonymous mmaps: 100 of 64 KiB, half unmapped. Frame pointers skip the wrapper's caller. */
static void test_mmap(void **state)
{
	json_t *root, *a;

	(void)state;
	require_bpf();
	root = trace_command("mmap 100", out_path("mmap.json"), NULL);
	a = row_with(root, "mmap", "map_regions");
	if (!a)
		fail_msg("no mmap row from map_regions");
	assert_int_equal((long long)num(a, "total_allocs"), 100);
	assert_int_equal((long long)num(a, "total_bytes"), 100 * 65536);
	assert_int_equal((long long)num(a, "freed_allocs"), 50);
	assert_int_equal((long long)num(a, "outstanding_bytes"), 50 * 65536);
	assert_no_drops(root);
	json_decref(root);
}

/* The checksum target's one line of results. */
static char *checksum_line(char *out)
{
	char *p = strstr(out, "checksum "), *nl;

	if (!p)
		fail_msg("no checksum line in: %s", out);
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	return p;
}

/*
 * A process traced for memory keeps running correctly: two threads allocate
 * with every entry point, check what they get (calloc zeroed, realloc kept the
 * contents, alignment) and checksum it; snag attaches mid-run and detaches
 * while they go on. The output equals an untraced run's.
 */
static void test_safety(void **state)
{
	char *args[] = {target_path, "checksum", "12000", "150", NULL};
	char pidbuf[16], *out, *want;
	struct test_run plain;
	struct test_proc target;
	json_t *root, *oh;

	(void)state;
	require_bpf();
	assert_int_equal(test_run(args, 60, &plain), 0);
	assert_int_equal(plain.status, 0);
	want = strdup(checksum_line(plain.out));
	assert_non_null(strstr(want, "bad=0"));
	test_run__free(&plain);

	assert_int_equal(test_spawn(args, &target), 0);
	assert_true(test_wait_line(target.out_fd, "ready", 5000));
	usleep(300000);
	snprintf(pidbuf, sizeof(pidbuf), "%d", target.pid);
	root = run_snag_json(out_path("safety.json"), "-p", pidbuf, "--mem", "-d", "1", NULL);
	oh = json_object_get(root, "overhead");
	/* It did trace: calls of every kind, and frees of blocks from before it attached. */
	assert_true(num(json_object_get(oh, "mem_calls"), "malloc") > 0);
	assert_true(num(json_object_get(oh, "mem_calls"), "realloc") > 0);
	assert_true(num(json_object_get(oh, "mem_calls"), "posix_memalign") > 0);
	assert_true(num(json_object_get(oh, "mem_calls"), "aligned_alloc") > 0);
	assert_true(num(oh, "mem_untracked_frees") > 0);
	/* Still running after snag detached. */
	assert_int_equal(kill(target.pid, 0), 0);
	json_decref(root);
	out = test_read_for(target.out_fd, 60000);
	assert_int_equal(test_proc_wait(&target, 5), 0);
	assert_string_equal(checksum_line(out), want);
	test_drop(out);
	test_drop(want);
}

static void expect_usage_error(const char *needle, char *const extra[])
{
	char *argv[32];
	int argc = 0;
	struct test_run r;

	argv[argc++] = snag_path;
	for (int i = 0; extra[i]; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, 30, &r), 0);
	if (r.status != 2 || !strstr(r.err, needle) ||
	    strchr(r.err, '\n') != r.err + strlen(r.err) - 1)
		fail_msg("want exit 2 and one line with '%s'; got exit %d: %s", needle, r.status,
			 r.err);
	test_run__free(&r);
}

/* Without a target, or a target without libc: exit 2 and one line saying why. */
static void test_usage_errors(void **state)
{
	(void)state;
	expect_usage_error("--mem needs -p PID or -c", (char *[]){"--mem", "-d", "1", NULL});
	expect_usage_error("invalid --mem-sample",
			   (char *[]){"-p", "1", "--mem-sample", "0", NULL});
	require_bpf();
	/* kthreadd maps nothing. */
	expect_usage_error("has no libc mapped", (char *[]){"-p", "2", "--mem", "-d", "1", NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_usage_errors),
	    itest_case(test_exact_counts),
	    itest_case(test_exact_counts_return_probes),
	    itest_case(test_leak_suspect),
	    itest_case(test_churn),
	    itest_case(test_sampling),
	    itest_case(test_mmap),
	    itest_case(test_safety),
	};

	return cmocka_run_group_tests_name("mem", tests, setup, teardown);
}
