/* snag selftest: run workloads with known answers, trace each with `snag record` (the real path,
 * from exec to JSON report), and check what the reports say against what the workloads did. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "commands.h"
#include "errors.h"
#include "preflight.h"
#include "selftest.h"
#include "subproc.h"

/* The workloads' sizes: the expected answers follow from them. */
#define SLEEP_CALLS	    50
#define OFFCPU_SLEEPS	    20
#define OFFCPU_SLEEP_MS	    10
#define OFFCPU_MIN_BLOCK    "1ms" /* well below the sleeps, well above stray short blocks */
#define DIRECT_WRITES	    200
#define DIRECT_SIZE	    4096
#define SMALL_WRITES	    10000
#define SMALL_SIZE	    16
#define SMALL_IO_THRESHOLD  4096 /* snag's default --small-io */
#define TCP_MESSAGES	    1000
#define TCP_SIZE	    100
#define DEFAULT_DIRECT_DIR  "/var/tmp"
#define RUN_TIMEOUT_MS	    10000 /* each workload takes well under a second */
#define FUNCTION_SLACK	    0.15  /* timer slack and wakeup latency on a busy VM */
#define HISTOGRAM_ERROR	    0.07  /* snag's percentiles: within 1/16 of the true value */
#define OFFCPU_SHORT	    0.01  /* a block starts after nanosleep arms its timer */
#define OFFCPU_SLACK	    0.15
#define WORKLOAD_NAME_MAX   16
#define MAX_WORKLOAD_WORDS  8
#define MAX_RECORD_ARGV	    24
#define FUNCTION_NAME	    "snag_selftest_sleep_2ms"
#define DIRECT_FILE_PATTERN "%s/snag-selftest-direct-%d.dat"

enum selftest_format {
	SELFTEST_TEXT,
	SELFTEST_JSON,
};

struct selftest {
	struct selftest_result res;
	size_t cap_checks;
	char exe[PATH_MAX]; /* this snag binary: it runs the workloads and traces them */
	char *workdir;	    /* reports and the small-writes file */
	const char *direct_dir;
	enum selftest_format format;
	bool keep;
	bool help;
};

/* One workload's traced run: its report, or why there is none. */
struct workload_run {
	json_t *report;
	long pid;	     /* the workload's pid in the report */
	uint64_t own_p50_ns; /* the p50 of its calls by its own clock, traced run */
	char *error;	     /* owned; set when report is NULL */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: snag selftest [--format text|json] [--dir DIR] [--keep]\n"
	    "\n"
	    "Check snag's measurements on this machine before trusting them. snag runs five\n"
	    "workloads whose answers are known, in child processes of its own binary, traces\n"
	    "each one with 'snag record -c' (the real path: probes, BPF maps, the JSON report)\n"
	    "and compares the report with what the workload did:\n"
	    "\n"
	    "  function  %d calls of %s, a function in snag's binary that\n"
	    "            sleeps 2 ms: the call count exactly, no call under 2 ms, p50 within\n"
	    "            -0%%/+%.0f%% of 2 ms and within %.0f%% of the workload's own clock\n"
	    "  offcpu    %d sleeps of %d ms: exactly %d blocks of >= %s off the CPU,\n"
	    "            %d ms blocked (-%.0f%%/+%.0f%%)\n"
	    "  block     %d O_DIRECT writes of 4 KiB to a file in DIR: at least %d block\n"
	    "            write requests and %d bytes, exactly %d write() calls\n"
	    "  syscall   %d write() calls of %d bytes to a file: that many, all small,\n"
	    "            %d bytes, and a small_io finding\n"
	    "  net       %d messages of %d bytes over loopback TCP: exactly %d sends,\n"
	    "            %d bytes sent and received\n"
	    "  and in each, no event dropped.\n"
	    "\n"
	    "It prints one line per check: expected, measured, error, tolerance, PASS or\n"
	    "FAIL. Then what tracing cost on each workload: snag's BPF run time per event\n"
	    "(from the report's overhead section), and the workload's own time untraced and\n"
	    "traced. It takes a few seconds. On a busy machine (the kernel's CPU pressure\n"
	    "is shown then) the sleeps overshoot and timing checks may fail.\n"
	    "\n"
	    "  --format FMT   text (default) or json (schema snag-selftest/1)\n"
	    "  --dir DIR      where the direct-I/O file is written: a directory on a disk,\n"
	    "                 not tmpfs (default %s)\n"
	    "  --keep         keep the workloads' JSON reports and say where they are\n"
	    "  -h, --help     this help\n"
	    "\n"
	    "Exit status: 0 when every check passes, 1 when any fails, 2 on bad usage or\n"
	    "missing privileges. Needs root (or CAP_BPF and CAP_PERFMON).\n",
	    SLEEP_CALLS, FUNCTION_NAME, FUNCTION_SLACK * 100, HISTOGRAM_ERROR * 100, OFFCPU_SLEEPS,
	    OFFCPU_SLEEP_MS, OFFCPU_SLEEPS, OFFCPU_MIN_BLOCK, OFFCPU_SLEEPS * OFFCPU_SLEEP_MS,
	    OFFCPU_SHORT * 100, OFFCPU_SLACK * 100, DIRECT_WRITES, DIRECT_WRITES,
	    DIRECT_WRITES * DIRECT_SIZE, DIRECT_WRITES, SMALL_WRITES, SMALL_SIZE,
	    SMALL_WRITES * SMALL_SIZE, TCP_MESSAGES, TCP_SIZE, TCP_MESSAGES,
	    TCP_MESSAGES * TCP_SIZE, DEFAULT_DIRECT_DIR);
}

static int parse_options(int argc, char **argv, struct selftest *st)
{
	static const struct option long_opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"dir", required_argument, NULL, 'D'},
	    {"keep", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct stat sb;
	int c;

	st->direct_dir = DEFAULT_DIRECT_DIR;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "text")) {
				st->format = SELFTEST_TEXT;
			} else if (!strcmp(optarg, "json")) {
				st->format = SELFTEST_JSON;
			} else {
				snag_set_error("unknown format '%s': use --format text or --format "
					       "json",
					       optarg);
				return -EINVAL;
			}
			break;
		case 'D':
			st->direct_dir = optarg;
			break;
		case 'k':
			st->keep = true;
			break;
		case 'h':
			st->help = true;
			return 0;
		case ':':
			snag_set_error("option '%s' needs an argument (see 'snag selftest --help')",
				       argv[optind - 1]);
			return -EINVAL;
		default:
			snag_set_error("unknown option '%s' (see 'snag selftest --help')",
				       argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snag_set_error("unexpected argument '%s' (see 'snag selftest --help')",
			       argv[optind]);
		return -EINVAL;
	}
	if (stat(st->direct_dir, &sb) || !S_ISDIR(sb.st_mode)) {
		snag_set_error("--dir '%s' is not a directory: give one on a disk, e.g. --dir "
			       "/var/tmp",
			       st->direct_dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * The last line of out that starts with "snag:" (without that prefix), else
 * its last non-empty line; malloc'd.
 */
static char *last_message(const char *out)
{
	const char *best = NULL, *last = NULL;
	size_t best_len = 0, last_len = 0;

	for (const char *p = out; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len && !strncmp(p, "snag:", 5)) {
			best = p;
			best_len = len;
		}
		if (len) {
			last = p;
			last_len = len;
		}
		p = end ? end + 1 : NULL;
	}
	if (!best) {
		best = last ? last : "no output";
		best_len = last ? last_len : strlen(best);
	} else {
		/* The reason is printed under snag's own table: no second "snag:" prefix. */
		best += 5;
		best_len -= 5;
		while (best_len && *best == ' ') {
			best++;
			best_len--;
		}
	}
	return strndup(best, best_len);
}

/*
 * Parse the workload's closing line in out: the time of its work and the p50
 * of its calls by its own clock. Returns false when it did not finish.
 */
static bool workload_line(const char *out, uint64_t *elapsed_ns, uint64_t *p50_ns)
{
	const char *p = strstr(out, SELFTEST_WORKLOAD_PREFIX);
	unsigned long long ns, p50;
	char name[WORKLOAD_NAME_MAX + 1];
	int pid;

	if (!p || sscanf(p + strlen(SELFTEST_WORKLOAD_PREFIX),
			 " %16s pid=%d elapsed_ns=%llu p50_ns=%llu", name, &pid, &ns, &p50) != 4)
		return false;
	*elapsed_ns = ns ? ns : 1;
	*p50_ns = p50;
	return true;
}

/* A failure message, malloc'd (NULL only when out of memory). */
static char *fmt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_error(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Why a finished child run failed: its message, with the exit status. */
static char *run_error(const char *who, const struct subproc_result *r)
{
	char *msg, *err;

	if (r->timed_out)
		return fmt_error("%s did not finish within %d s", who, RUN_TIMEOUT_MS / 1000);
	msg = last_message(r->output);
	err = fmt_error("%s failed (exit %d): %s", who, r->status, msg ? msg : "");
	free(msg);
	return err;
}

/* Append 'word' to the command line at *cmd, single-quoted for -c's shell-like parsing. */
static int append_quoted(char **cmd, const char *word)
{
	size_t len = *cmd ? strlen(*cmd) : 0, need = len + 4 + strlen(word) * 4;
	char *s = realloc(*cmd, need + 1), *o;

	if (!s)
		return -ENOMEM;
	*cmd = s;
	o = s + len;
	if (len)
		*o++ = ' ';
	*o++ = '\'';
	for (const char *p = word; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return 0;
}

/* Sum of the programs' runs and run time in the report's overhead section. */
static void add_cost(json_t *report, struct selftest_cost *cost)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(report, "overhead"), "programs"), i, p)
	{
		cost->events += (uint64_t)json_integer_value(json_object_get(p, "runs"));
		cost->bpf_run_time_ns +=
		    (uint64_t)json_integer_value(json_object_get(p, "run_time_ns"));
	}
}

/*
 * Run the workload (words, after "selftest-workload") once without snag, for
 * its time and to catch a workload that cannot run here, then once under
 * `snag record -c` with record_args, to a JSON report. Fills *wr and a cost
 * entry. Returns 0 (a failed workload is in wr->error) or -ENOMEM.
 */
static int run_workload(struct selftest *st, const char *group, const char *const words[],
			const char *const record_args[], struct workload_run *wr)
{
	char *argv[MAX_RECORD_ARGV], *cmd = NULL, report[PATH_MAX];
	struct selftest_cost *cost, *nc;
	struct subproc_result r = {0};
	json_error_t jerr;
	int n = 0, err;

	memset(wr, 0, sizeof(*wr));
	nc = realloc(st->res.costs, (st->res.n_costs + 1) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	st->res.costs = nc;
	cost = &nc[st->res.n_costs++];
	memset(cost, 0, sizeof(*cost));
	cost->workload = group;

	argv[n++] = st->exe;
	argv[n++] = "selftest-workload";
	for (int i = 0; words[i] && n < MAX_WORKLOAD_WORDS; i++)
		argv[n++] = (char *)words[i];
	argv[n] = NULL;
	err = subproc__run(argv, RUN_TIMEOUT_MS, &r);
	if (err) {
		wr->error = fmt_error("cannot run the workload: %s", strerror(-err));
		return wr->error ? 0 : -ENOMEM;
	}
	if (r.status || !workload_line(r.output, &cost->untraced_ns, &wr->own_p50_ns)) {
		/* It cannot run here at all (e.g. no O_DIRECT): tracing it would prove nothing. */
		wr->error = run_error("the workload, untraced,", &r);
		free(r.output);
		return wr->error ? 0 : -ENOMEM;
	}
	free(r.output);

	err = append_quoted(&cmd, st->exe);
	for (int i = 0; !err && i < n - 1; i++)
		err = append_quoted(&cmd, argv[i + 1]);
	if (err)
		return err;
	snprintf(report, sizeof(report), "%s/%s.json", st->workdir, group);
	n = 0;
	argv[n++] = st->exe;
	argv[n++] = "record";
	argv[n++] = "-c";
	argv[n++] = cmd;
	for (int i = 0; record_args[i] && n < MAX_RECORD_ARGV - 6; i++)
		argv[n++] = (char *)record_args[i];
	argv[n++] = "--format";
	argv[n++] = "json";
	argv[n++] = "-o";
	argv[n++] = report;
	argv[n] = NULL;
	err = subproc__run(argv, RUN_TIMEOUT_MS, &r);
	free(cmd);
	if (err) {
		wr->error = fmt_error("cannot run snag record: %s", strerror(-err));
		return wr->error ? 0 : -ENOMEM;
	}
	if (r.status)
		wr->error = run_error("snag record", &r);
	else if (!workload_line(r.output, &cost->traced_ns, &wr->own_p50_ns))
		wr->error = run_error("the workload, traced,", &r);
	free(r.output);
	if (wr->error)
		return 0;
	wr->report = json_load_file(report, 0, &jerr);
	if (!wr->report) {
		wr->error =
		    fmt_error("snag record wrote no JSON report to %s: %s", report, jerr.text);
		return wr->error ? 0 : -ENOMEM;
	}
	wr->pid = (long)json_integer_value(
	    json_array_get(json_object_get(json_object_get(wr->report, "target"), "pids"), 0));
	add_cost(wr->report, cost);
	return 0;
}

static void workload_run__free(struct workload_run *wr)
{
	json_decref(wr->report);
	free(wr->error);
}

static int add_check(struct selftest *st, const struct workload_run *wr,
		     const struct selftest_check *tmpl)
{
	struct selftest_check *c;

	if (st->res.n_checks == st->cap_checks) {
		size_t cap = st->cap_checks ? st->cap_checks * 2 : 16;

		c = realloc(st->res.checks, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		st->res.checks = c;
		st->cap_checks = cap;
	}
	c = &st->res.checks[st->res.n_checks];
	*c = *tmpl;
	c->reason = NULL;
	if (!wr->report) {
		c->measured = NAN;
		c->reason = strdup(wr->error ? wr->error : "not measured");
		if (!c->reason)
			return -ENOMEM;
	}
	selftest_check__judge(c);
	st->res.n_checks++;
	if (c->pass)
		st->res.passed++;
	else
		st->res.failed++;
	return 0;
}

static bool str_is(json_t *obj, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && !strcmp(s, want);
}

/*
 * Sum of field over the rows of the report's section that belong to pid and
 * have key == value and key2 == value2 (each when set). 0 when none does: a
 * measurement of nothing.
 */
static double sum_rows(const struct workload_run *wr, const char *section, const char *key,
		       const char *value, const char *key2, const char *value2, const char *field)
{
	double sum = 0;
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(wr->report, section), i, row)
	{
		if (json_integer_value(json_object_get(row, "pid")) != wr->pid ||
		    (key && !str_is(row, key, value)) || (key2 && !str_is(row, key2, value2)))
			continue;
		sum += json_number_value(json_object_get(row, field));
	}
	return sum;
}

/*
 * The blocks of the workload's blocked offcpu[] rows whose kernel stack has a
 * frame naming needle, or has no frame at all (its stack was not taken): its
 * sleeps, not a page fault or a lock that a busy machine may add at start or
 * exit, which have kernel stacks of their own.
 */
static double blocks_in(const struct workload_run *wr, const char *needle)
{
	double sum = 0;
	json_t *row, *f;
	size_t i, j;

	json_array_foreach(json_object_get(wr->report, "offcpu"), i, row)
	{
		bool found = !json_array_size(json_object_get(row, "kernel_stack"));

		if (json_integer_value(json_object_get(row, "pid")) != wr->pid ||
		    !str_is(row, "reason", "blocked"))
			continue;
		json_array_foreach(json_object_get(row, "kernel_stack"), j, f)
		{
			const char *name = json_string_value(f);

			found |= name && strstr(name, needle);
		}
		if (found)
			sum += json_number_value(json_object_get(row, "count"));
	}
	return sum;
}

/* Events the report says were lost, all causes together. */
static double dropped(const struct workload_run *wr)
{
	json_t *dropped = json_object_get(json_object_get(wr->report, "overhead"), "dropped"), *v;
	const char *cause;
	double sum = 0;

	json_object_foreach(dropped, cause, v) sum += json_number_value(v);
	return sum;
}

/*
 * Name the causes on stderr when any event was lost, so that a failed check
 * says which table or path lost them (overhead.dropped of the report).
 */
static void say_dropped(const struct workload_run *wr, const char *group)
{
	json_t *dropped = json_object_get(json_object_get(wr->report, "overhead"), "dropped"), *v;
	const char *cause;
	bool any = false;

	json_object_foreach(dropped, cause, v)
	{
		if (json_number_value(v) <= 0)
			continue;
		if (!any)
			fprintf(stderr,
				"snag selftest: the %s workload's report dropped events:", group);
		fprintf(stderr, "%s %s %.0f", any ? "," : "", cause, json_number_value(v));
		any = true;
	}
	if (any)
		fputc('\n', stderr);
}

static int add_dropped_check(struct selftest *st, const struct workload_run *wr, const char *group)
{
	say_dropped(wr, group);
	return add_check(st, wr,
			 &(struct selftest_check){.group = group,
						  .name = "events dropped",
						  .unit = SELFTEST_COUNT,
						  .tolerance = SELFTEST_EXACT,
						  .expected = 0,
						  .measured = dropped(wr)});
}

/* function: N calls of a 2 ms sleep, timed by uprobes on snag's own binary. */
static int check_function(struct selftest *st)
{
	char calls[16];
	const char *words[] = {"sleep", calls, NULL};
	const char *args[] = {"-u", FUNCTION_NAME, NULL};
	struct workload_run wr;
	json_t *f, *found = NULL;
	size_t i;
	int err;

	snprintf(calls, sizeof(calls), "%d", SLEEP_CALLS);
	err = run_workload(st, "function", words, args, &wr);
	if (err)
		return err;
	json_array_foreach(json_object_get(wr.report, "functions"), i, f)
	{
		if (str_is(f, "name", FUNCTION_NAME))
			found = f;
	}
	if (wr.report && !found) {
		wr.error = fmt_error("%s is not in the report", FUNCTION_NAME);
		json_decref(wr.report);
		wr.report = NULL;
	}
	err = add_check(st, &wr,
			&(struct selftest_check){
			    .group = "function",
			    .name = "calls of " FUNCTION_NAME,
			    .unit = SELFTEST_COUNT,
			    .tolerance = SELFTEST_EXACT,
			    .expected = SLEEP_CALLS,
			    .measured = json_number_value(json_object_get(found, "count"))});
	/* nanosleep never returns early: no call can be shorter than 2 ms (min_ns is exact). */
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){.group = "function",
							 .name = "shortest call",
							 .unit = SELFTEST_NS,
							 .tolerance = SELFTEST_AT_LEAST,
							 .expected = SELFTEST_SLEEP_NS,
							 .measured = json_number_value(
							     json_object_get(found, "min_ns"))});
	/*
	 * Sleeps overshoot by the timer slack and the wakeup, never undershoot
	 * (p50 is clamped to min_ns): -0%. A CPU too busy to run the woken
	 * workload at once overshoots more; the next check tells that apart.
	 */
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){.group = "function",
							 .name = "p50 latency",
							 .unit = SELFTEST_NS,
							 .tolerance = SELFTEST_RANGE,
							 .below = 0,
							 .above = FUNCTION_SLACK,
							 .expected = SELFTEST_SLEEP_NS,
							 .measured = json_number_value(
							     json_object_get(found, "p50_ns"))});
	/*
	 * Against the workload's own clock around each call, whatever the load:
	 * snag's p50 comes from a histogram, within 1/16 of the true value.
	 */
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){.group = "function",
							 .name = "p50 latency, by its own clock",
							 .unit = SELFTEST_NS,
							 .tolerance = SELFTEST_RANGE,
							 .below = HISTOGRAM_ERROR,
							 .above = HISTOGRAM_ERROR,
							 .expected = (double)wr.own_p50_ns,
							 .measured = json_number_value(
							     json_object_get(found, "p50_ns"))});
	if (!err)
		err = add_dropped_check(st, &wr, "function");
	workload_run__free(&wr);
	return err;
}

/* offcpu: N sleeps of M ms, each one block off the CPU with its stack. */
static int check_offcpu(struct selftest *st)
{
	char sleeps[16], ms[16];
	const char *words[] = {"offcpu", sleeps, ms, NULL};
	const char *args[] = {"--no-io", "--min-block", OFFCPU_MIN_BLOCK, NULL};
	struct workload_run wr;
	int err;

	snprintf(sleeps, sizeof(sleeps), "%d", OFFCPU_SLEEPS);
	snprintf(ms, sizeof(ms), "%d", OFFCPU_SLEEP_MS);
	err = run_workload(st, "offcpu", words, args, &wr);
	if (err)
		return err;
	err = add_check(
	    st, &wr,
	    &(struct selftest_check){.group = "offcpu",
				     .name = "blocks >= " OFFCPU_MIN_BLOCK " in nanosleep",
				     .unit = SELFTEST_COUNT,
				     .tolerance = SELFTEST_EXACT,
				     .expected = OFFCPU_SLEEPS,
				     .measured = blocks_in(&wr, "nanosleep")});
	/*
	 * The thread's blocked time (sched[]): from leaving the CPU to the wakeup,
	 * so a wait for a CPU after it is not in it. A block starts a little after
	 * nanosleep armed its timer, so each can be microseconds short: -1%.
	 */
	if (!err)
		err = add_check(
		    st, &wr,
		    &(struct selftest_check){
			.group = "offcpu",
			.name = "time blocked",
			.unit = SELFTEST_NS,
			.tolerance = SELFTEST_RANGE,
			.below = OFFCPU_SHORT,
			.above = OFFCPU_SLACK,
			.expected = OFFCPU_SLEEPS * OFFCPU_SLEEP_MS * 1e6,
			.measured = sum_rows(&wr, "sched", NULL, NULL, NULL, NULL, "blocked_ns")});
	if (!err)
		err = add_dropped_check(st, &wr, "offcpu");
	workload_run__free(&wr);
	return err;
}

/* block: N direct 4 KiB writes, each a block request issued by the workload itself. */
static int check_block(struct selftest *st)
{
	char path[PATH_MAX], writes[16];
	const char *words[] = {"direct", path, writes, NULL};
	const char *args[] = {"--no-offcpu", NULL};
	struct workload_run wr;
	int err;

	snprintf(path, sizeof(path), DIRECT_FILE_PATTERN, st->direct_dir, getpid());
	snprintf(writes, sizeof(writes), "%d", DIRECT_WRITES);
	err = run_workload(st, "block", words, args, &wr);
	if (err)
		return err;
	/* At least: the filesystem may add requests of its own in the workload's context. */
	err =
	    add_check(st, &wr,
		      &(struct selftest_check){.group = "block",
					       .name = "write requests",
					       .unit = SELFTEST_COUNT,
					       .tolerance = SELFTEST_AT_LEAST,
					       .expected = DIRECT_WRITES,
					       .measured = sum_rows(&wr, "block_io", "op", "write",
								    NULL, NULL, "count")});
	if (!err)
		err = add_check(
		    st, &wr,
		    &(struct selftest_check){
			.group = "block",
			.name = "bytes written to the disk",
			.unit = SELFTEST_BYTES,
			.tolerance = SELFTEST_AT_LEAST,
			.expected = (double)DIRECT_WRITES * DIRECT_SIZE,
			.measured = sum_rows(&wr, "block_io", "op", "write", NULL, NULL, "bytes")});
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){
				    .group = "block",
				    .name = "write() calls",
				    .unit = SELFTEST_COUNT,
				    .tolerance = SELFTEST_EXACT,
				    .expected = DIRECT_WRITES,
				    .measured = sum_rows(&wr, "syscall_io", "syscall", "write",
							 "fd_type", "file", "count")});
	if (!err)
		err = add_dropped_check(st, &wr, "block");
	workload_run__free(&wr);
	return err;
}

/* Is there a bottleneck of this kind about the workload's pid? 1 or 0. */
static double finding(const struct workload_run *wr, const char *kind)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(wr->report, "bottlenecks"), i, b)
	{
		if (str_is(b, "kind", kind) &&
		    json_integer_value(json_object_get(b, "pid")) == wr->pid)
			return 1;
	}
	return 0;
}

/* syscall: M tiny writes to a file, which snag must count and call small I/O. */
static int check_syscall(struct selftest *st)
{
	char path[PATH_MAX], writes[16], size[16];
	const char *words[] = {"small", path, writes, size, NULL};
	const char *args[] = {"--no-offcpu", NULL};
	struct workload_run wr;
	int err;

	snprintf(path, sizeof(path), "%s/small.dat", st->workdir);
	snprintf(writes, sizeof(writes), "%d", SMALL_WRITES);
	snprintf(size, sizeof(size), "%d", SMALL_SIZE);
	err = run_workload(st, "syscall", words, args, &wr);
	if (err)
		return err;
	err = add_check(
	    st, &wr,
	    &(struct selftest_check){.group = "syscall",
				     .name = "write() calls",
				     .unit = SELFTEST_COUNT,
				     .tolerance = SELFTEST_EXACT,
				     .expected = SMALL_WRITES,
				     .measured = sum_rows(&wr, "syscall_io", "syscall", "write",
							  "fd_type", "file", "count")});
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){
				    .group = "syscall",
				    .name = "small ones (< 4096 bytes)",
				    .unit = SELFTEST_COUNT,
				    .tolerance = SELFTEST_EXACT,
				    .expected = SMALL_SIZE < SMALL_IO_THRESHOLD ? SMALL_WRITES : 0,
				    .measured = sum_rows(&wr, "syscall_io", "syscall", "write",
							 "fd_type", "file", "small_count")});
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){
				    .group = "syscall",
				    .name = "bytes written",
				    .unit = SELFTEST_BYTES,
				    .tolerance = SELFTEST_EXACT,
				    .expected = (double)SMALL_WRITES * SMALL_SIZE,
				    .measured = sum_rows(&wr, "syscall_io", "syscall", "write",
							 "fd_type", "file", "bytes")});
	if (!err)
		err = add_check(st, &wr,
				&(struct selftest_check){.group = "syscall",
							 .name = "small_io finding",
							 .unit = SELFTEST_PRESENCE,
							 .tolerance = SELFTEST_EXACT,
							 .expected = 1,
							 .measured = finding(&wr, "small_io")});
	if (!err)
		err = add_dropped_check(st, &wr, "syscall");
	workload_run__free(&wr);
	return err;
}

/* net: N loopback TCP messages, sent and received by the workload. */
static int check_net(struct selftest *st)
{
	char messages[16], size[16];
	const char *words[] = {"tcp", messages, size, NULL};
	const char *args[] = {"--no-offcpu", NULL};
	struct workload_run wr;
	int err;

	snprintf(messages, sizeof(messages), "%d", TCP_MESSAGES);
	snprintf(size, sizeof(size), "%d", TCP_SIZE);
	err = run_workload(st, "net", words, args, &wr);
	if (err)
		return err;
	err = add_check(
	    st, &wr,
	    &(struct selftest_check){.group = "net",
				     .name = "TCP sends",
				     .unit = SELFTEST_COUNT,
				     .tolerance = SELFTEST_EXACT,
				     .expected = TCP_MESSAGES,
				     .measured = sum_rows(&wr, "net_io", "protocol", "tcp",
							  "direction", "send", "count")});
	if (!err)
		err = add_check(
		    st, &wr,
		    &(struct selftest_check){.group = "net",
					     .name = "TCP bytes sent",
					     .unit = SELFTEST_BYTES,
					     .tolerance = SELFTEST_EXACT,
					     .expected = (double)TCP_MESSAGES * TCP_SIZE,
					     .measured = sum_rows(&wr, "net_io", "protocol", "tcp",
								  "direction", "send", "bytes")});
	if (!err)
		err = add_check(
		    st, &wr,
		    &(struct selftest_check){.group = "net",
					     .name = "TCP bytes received",
					     .unit = SELFTEST_BYTES,
					     .tolerance = SELFTEST_EXACT,
					     .expected = (double)TCP_MESSAGES * TCP_SIZE,
					     .measured = sum_rows(&wr, "net_io", "protocol", "tcp",
								  "direction", "recv", "bytes")});
	if (!err)
		err = add_dropped_check(st, &wr, "net");
	workload_run__free(&wr);
	return err;
}

/* The kernel's running total of time some task waited for a CPU, in us; false if unknown. */
static bool cpu_stall_us(uint64_t *us)
{
	FILE *f = fopen("/proc/pressure/cpu", "re");
	unsigned long long total;
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "some avg10=%*f avg60=%*f avg300=%*f total=%llu", &total) == 1;
	fclose(f);
	*us = total;
	return ok;
}

static int make_workdir(struct selftest *st)
{
	const char *tmp = getenv("TMPDIR");

	if (asprintf(&st->workdir, "%s/snag-selftest-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
		st->workdir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(st->workdir)) {
		int err = -errno;

		snag_set_error("cannot create a work directory %s: %s (set TMPDIR to a "
			       "writable directory)",
			       st->workdir, strerror(-err));
		free(st->workdir);
		st->workdir = NULL;
		return err;
	}
	return 0;
}

/* Remove the work directory: the reports and anything a failed workload left. */
static void remove_workdir(struct selftest *st)
{
	static const char *const names[] = {"function", "offcpu", "block", "syscall", "net"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.json", st->workdir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/small.dat", st->workdir);
	unlink(path);
	rmdir(st->workdir);
}

int cmd_selftest(int argc, char **argv)
{
	static int (*const groups[])(struct selftest *) = {
	    check_function, check_offcpu, check_block, check_syscall, check_net,
	};
	struct selftest st = {0};
	uint64_t start = now_ns(), stall_start = 0, stall_end = 0;
	bool stall_known = cpu_stall_us(&stall_start);
	int status = SNAG_EXIT_USAGE, err;
	ssize_t n;

	err = parse_options(argc, argv, &st);
	if (err)
		goto out;
	if (st.help) {
		usage(stdout);
		status = SNAG_EXIT_OK;
		goto out;
	}
	/* The same checks as snag record, with the same exit status, before any workload runs. */
	err = preflight__privileges();
	if (!err)
		err = preflight__btf(NULL);
	if (err)
		goto out;
	status = SNAG_EXIT_RUNTIME;
	n = readlink("/proc/self/exe", st.exe, sizeof(st.exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(st.exe) - 1) {
		snag_set_error("cannot find snag's own binary through /proc/self/exe: %s",
			       n < 0 ? strerror(errno) : "path too long");
		goto out;
	}
	st.exe[n] = '\0';
	st.res.binary = strdup(st.exe);
	err = st.res.binary ? make_workdir(&st) : -ENOMEM;
	for (size_t i = 0; !err && i < sizeof(groups) / sizeof(groups[0]); i++)
		err = groups[i](&st);
	if (err) {
		if (!*snag_last_error())
			snag_set_error("selftest failed: %s", strerror(-err));
		goto out;
	}
	if (st.keep)
		st.res.kept_dir = strdup(st.workdir);
	st.res.total_ns = now_ns() - start;
	/* A busy machine explains timing failures: say how busy it was. */
	st.res.cpu_pressure =
	    stall_known && cpu_stall_us(&stall_end) && st.res.total_ns
		? (double)(stall_end - stall_start) * 1000 / (double)st.res.total_ns
		: NAN;
	err = st.format == SELFTEST_JSON ? selftest__render_json(&st.res, stdout)
					 : selftest__render_text(&st.res, stdout);
	if (!err && fflush(stdout))
		err = -errno;
	if (err) {
		snag_set_error("cannot write the selftest results: %s", strerror(-err));
		goto out;
	}
	/* The table says what failed: no error line after it. */
	status = st.res.failed ? SNAG_EXIT_RUNTIME : SNAG_EXIT_OK;
	goto cleanup;
out:
	if (status != SNAG_EXIT_OK)
		snag_print_error("selftest failed");
cleanup:
	if (st.workdir && !st.keep)
		remove_workdir(&st);
	free(st.workdir);
	selftest_result__free(&st.res);
	return status;
}
