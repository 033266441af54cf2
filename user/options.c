/* Command-line options of `snag record`: parsing and validation, no side effects. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cpu.h"
#include "errors.h"
#include "options.h"

enum {
	OPT_FORMAT = 0x100,
	OPT_HISTOGRAM,
	OPT_MAX_FUNCS,
	OPT_BTF,
	OPT_OFFCPU,
	OPT_MIN_BLOCK,
	OPT_KERNEL_THREADS,
	OPT_CGROUP,
	OPT_IO,
	OPT_NO_IO,
	OPT_NO_OFFCPU,
	OPT_SMALL_IO,
	/* Memory (--mem) */
	OPT_MEM,
	OPT_MEM_SAMPLE,
	OPT_SEVERITY,
	OPT_PROMETHEUS,
	OPT_CPU,
	OPT_EXCEPTIONS_OK,
};

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, 'p'},
    {"command", required_argument, NULL, 'c'},
    {"uprobe", required_argument, NULL, 'u'},
    {"duration", required_argument, NULL, 'd'},
    {"interval", required_argument, NULL, 'i'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"histogram", no_argument, NULL, OPT_HISTOGRAM},
    {"max-funcs", required_argument, NULL, OPT_MAX_FUNCS},
    {"btf", required_argument, NULL, OPT_BTF},
    {"offcpu", no_argument, NULL, OPT_OFFCPU},
    {"min-block", required_argument, NULL, OPT_MIN_BLOCK},
    {"kernel-threads", no_argument, NULL, OPT_KERNEL_THREADS},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {"io", no_argument, NULL, OPT_IO},
    {"no-io", no_argument, NULL, OPT_NO_IO},
    {"mem", no_argument, NULL, OPT_MEM},
    {"mem-sample", required_argument, NULL, OPT_MEM_SAMPLE},
    {"no-offcpu", no_argument, NULL, OPT_NO_OFFCPU},
    {"small-io", required_argument, NULL, OPT_SMALL_IO},
    {"severity", required_argument, NULL, OPT_SEVERITY},
    {"prometheus", required_argument, NULL, OPT_PROMETHEUS},
    {"cpu", no_argument, NULL, OPT_CPU},
    {"exceptions-ok", no_argument, NULL, OPT_EXCEPTIONS_OK},
    {"frequency", required_argument, NULL, 'F'},
    {"help", no_argument, NULL, 'h'},
    {},
};

int record_opts__check_output(const struct record_opts *o, int stdout_fd)
{
	if (!report_format__is_binary(o->format) || o->output || !isatty(stdout_fd))
		return 0;
	snag_set_error("--format pprof writes compressed binary data, not for a terminal: give "
		       "-o FILE (e.g. -o profile.pb.gz) or redirect stdout to a file");
	return -EINVAL;
}

void record_opts__usage(FILE *f)
{
	static const char *const text[] = {
	    "usage: snag [record] [-p PID[,PID..]] [-c 'CMD ARGS'] [-u SPEC].. [--cpu [-F HZ]]",
	    "                     [-d SECONDS] [-i SECONDS] [-o FILE]",
	    "                     [--format text|json|folded|html|pprof]",
	    "                     [--mem [--mem-sample N]] [--prometheus [HOST:]PORT]",
	    "",
	    "Trace live processes without restarting them: time functions with uprobes (-u),",
	    "see where threads wait when they are off the CPU: blocked (with kernel and user",
	    "stacks and who woke them) or waiting for a CPU, and what I/O they do in the",
	    "kernel: block, network and syscalls. Findings are ranked by their share of the",
	    "traced threads' time.",
	    "",
	    "What to trace (nothing: every process on the system, off-CPU and I/O analysis):",
	    "  -p, --pid PID[,PID..]   running processes (repeatable); they keep running after "
	    "snag",
	    "  -c, --command 'CMD ARGS'",
	    "                          start CMD and trace it from its first instruction;",
	    "                          snag stops when it exits (at -d, it leaves it running)",
	    "  -u, --uprobe SPEC       functions to time (repeatable). SPEC is one of:",
	    "                            FUNC_GLOB           in the main binary of -p/-c",
	    "                            LIB:FUNC_GLOB       in a library: libc, libssl.so.3, a "
	    "path",
	    "                            /path/bin:FUNC_GLOB in every process running that file",
	    "                          Each matching function gets its own row.",
	    "      --exceptions-ok     time C++ and Rust code anyway: an exception or panic that",
	    "                          unwinds through a timed function aborts the program,",
	    "                          so -u on C++ or Rust code needs this flag",
	    "",
	    "Off-CPU analysis (on by default when no -u is given):",
	    "      --offcpu            add it to -u function timing",
	    "      --no-offcpu         leave it out (e.g. for I/O only)",
	    "      --min-block DUR     blocks at least this long get stacks (default 100us);",
	    "                          shorter ones still count in each thread's totals",
	    "      --kernel-threads    include kernel threads (system-wide tracing)",
	    "      --cgroup PATH       only tasks in this cgroup v2 directory and below it",
	    "                          (off-CPU, I/O and on-CPU analysis)",
	    "",
	    "I/O analysis (on by default when no -u is given): block requests by device,",
	    "socket messages by protocol, TCP connections and retransmits, and read/write-",
	    "family syscalls by fd type, with sizes, latencies and too-many-small-I/O findings:",
	    "      --io                add it to -u function timing",
	    "      --no-io             leave it out (e.g. for off-CPU only)",
	    "      --small-io SIZE     an I/O below SIZE is small (default 4KiB; e.g. 512, 64KiB)",
	    "",
	    "On-CPU sampling (off by default; add --cpu to any of the above): where threads",
	    "run, from stacks sampled on every CPU, with the hottest functions (self and",
	    "total), their source lines where the binary has debug info, and a warning for",
	    "binaries built without frame pointers, whose stacks lose their callers:",
	    "      --cpu               sample on-CPU stacks, e.g. snag -p 1234 --cpu -d 10",
	    "  -F, --frequency HZ      samples per second on each CPU (1 to 10000, default 49)",
	    "",
	    "Memory (--mem, needs -p or -c): the allocator in the target's libc (malloc,",
	    "calloc, realloc, free, posix_memalign, aligned_alloc) and anonymous mmaps, by",
	    "allocation stack: outstanding bytes and their growth (leak suspects), hot and",
	    "short-lived allocations (churn); RSS and page faults per interval:",
	    "      --mem               trace memory (alone, or with -u, --offcpu, --io)",
	    "      --mem-sample N      record one allocation call in N, at random (default 1),",
	    "                          to bound the cost; counts are scaled by N",
	    "",
	    "How long and what to write:",
	    "  -d, --duration SECONDS  stop after this long (default: Ctrl-C, or when the",
	    "                          traced processes exit)",
	    "  -i, --interval SECONDS  length of each interval in the report's time series "
	    "(default 1)",
	    "  -o, --output FILE       write the report to FILE (written whole, or not at all)",
	    "      --format FMT        text (default), json (schema snag-report/1), folded",
	    "                          (off- and on-CPU stacks for flamegraph.pl, inferno,",
	    "                          speedscope),",
	    "                          html (one offline page with charts and a flame graph),",
	    "                          or pprof (gzipped profile.proto of off- and on-CPU",
	    "                          stacks and function times, for go tool pprof; give -o)",
	    "      --histogram         text: print each function's latency distribution",
	    "      --severity C,H,M    impact thresholds in percent of traced thread time for",
	    "                          critical, high, medium findings (default 50,20,10)",
	    "      --max-funcs N       refuse specs matching more than N functions (default 1000)",
	    "      --btf FILE          kernel BTF to use when /sys/kernel/btf/vmlinux is missing",
	    "  -h, --help              this help",
	    "",
	    "Live metrics:",
	    "      --prometheus ADDR   while tracing, serve Prometheus metrics at",
	    "                          http://ADDR/metrics, refreshed every -i: function",
	    "                          calls and latency histograms, per-process CPU,",
	    "                          run-queue and I/O counters, snag's own cost.",
	    "                          ADDR is PORT, :PORT or HOST:PORT; the host defaults",
	    "                          to 127.0.0.1, this machine only (write 0.0.0.0:PORT",
	    "                          to serve every interface)",
	    "  snag -p 1234 --mem -d 30                      leak suspects and allocation churn",
	    "",
	    "Examples:",
	    "  snag -d 10                                    where the whole system waits",
	    "  snag -p 1234 -d 10 --format folded -o out.folded   off-CPU flame graph input",
	    "  snag -p 1234 -d 10 --format html -o report.html    the report as a web page",
	    "  snag -p 1234 -d 10 --format pprof -o out.pb.gz     go tool pprof input",
	    "  snag -p 1234 -d 10 --no-offcpu --small-io 16KiB    I/O sizes and latencies",
	    "  snag -p 1234 -u 'handle_*' -d 10              functions of a running service",
	    "  snag -p 1234 --cpu -d 10                      where it runs, and where it waits",
	    "  snag -c ./bench --cpu -F 999 --no-offcpu --no-io   CPU hotspots only",
	    "  snag -c './server --port 8080' -u 'libc:malloc' -u 'parse_*' --offcpu",
	    "  snag -u '/usr/bin/python3.11:PyEval_*' -d 5   every python3.11 process",
	    "  snag -p 1234 -u 'handle_*' --prometheus 9464  live metrics for Prometheus",
	    "  snag list -p 1234 'handle_*'                  what a glob would match",
	    "  snag selftest                                 check snag's numbers on this machine",
	    "  snag report run.json --format folded          a saved JSON report, rendered again",
	    "  snag diff before.json after.json              regressions between two saved reports",
	    "",
	    "Ctrl-C, SIGTERM and the end of -d all write the complete report. Needs root",
	    "(or CAP_BPF and CAP_PERFMON).",
	};

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		fprintf(f, "%s\n", text[i]);
}

int parse_seconds(const char *s, uint64_t *ns)
{
	double v, scale = 1e9;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		scale = 1e6;
	else if (!strcmp(end, "us"))
		scale = 1e3;
	else if (!strcmp(end, "ns"))
		scale = 1;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	if (!(v > 0) || !isfinite(v) || v * scale > 1e18 || v * scale < 1)
		return -EINVAL;
	*ns = (uint64_t)(v * scale);
	return 0;
}

static int add_pids(struct record_opts *o, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v;
		int *np;
		bool dup = false;

		errno = 0;
		v = strtol(tok, &end, 10);
		if (*end || end == tok || errno || v <= 0 || v > INT_MAX) {
			snag_set_error(
			    "invalid pid '%s': give process ids as numbers, e.g. -p 1234,5678",
			    tok);
			err = -EINVAL;
			break;
		}
		for (size_t i = 0; i < o->n_pids; i++)
			dup |= o->pids[i] == v;
		if (dup)
			continue;
		np = realloc(o->pids, (o->n_pids + 1) * sizeof(*np));
		if (!np) {
			err = -ENOMEM;
			break;
		}
		o->pids = np;
		o->pids[o->n_pids++] = (int)v;
	}
	if (!err && o->n_pids == 0) {
		snag_set_error("-p needs at least one pid, e.g. -p 1234");
		err = -EINVAL;
	}
	free(copy);
	return err;
}

static int add_spec(struct record_opts *o, const char *arg)
{
	char **ns = realloc(o->specs, (o->n_specs + 1) * sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	o->specs = ns;
	o->specs[o->n_specs] = strdup(arg);
	if (!o->specs[o->n_specs])
		return -ENOMEM;
	o->n_specs++;
	return 0;
}

int parse_severity(const char *s, struct severity_thresholds *t)
{
	double v[3];
	char *end;

	for (int i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtod(s, &end);
		if (errno || end == s || !(v[i] > 0 && v[i] <= 100))
			return -EINVAL;
		if (i < 2 && *end != ',')
			return -EINVAL;
		s = end + 1;
	}
	if (*end)
		return -EINVAL;
	t->critical = v[0] / 100;
	t->high = v[1] / 100;
	t->medium = v[2] / 100;
	return t->medium < t->high && t->high < t->critical ? 0 : -EINVAL;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
	    {"", 1},
	    {"b", 1},
	    {"k", 1ull << 10},
	    {"kb", 1ull << 10},
	    {"kib", 1ull << 10},
	    {"m", 1ull << 20},
	    {"mb", 1ull << 20},
	    {"mib", 1ull << 20},
	    {"g", 1ull << 30},
	    {"gb", 1ull << 30},
	    {"gib", 1ull << 30},
	};
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix))
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -EINVAL;
		*bytes = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

int parse_listen_address(const char *s, const char *default_host, char **host, char **port)
{
	const char *colon, *p, *h = default_host;
	size_t hlen = strlen(default_host);
	long v;

	if (s[0] == '[') {
		/* [V6ADDR]:PORT: brackets keep the address's colons apart from the port's. */
		const char *close = strchr(s, ']');

		if (!close || close == s + 1 || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		/* An unbracketed IPv6 address: where would the port start? */
		if (colon && strchr(colon + 1, ':'))
			return -EINVAL;
		if (colon && colon > s) {
			h = s;
			hlen = (size_t)(colon - s);
		}
	}
	p = colon ? colon + 1 : s;
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
		return -EINVAL;
	v = strtol(p, NULL, 10);
	if (v < 1 || v > 65535)
		return -EINVAL;
	*host = strndup(h, hlen);
	*port = strdup(p);
	if (!*host || !*port) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* -F: a whole number of samples per second, 1..CPU_MAX_HZ. Returns 0 or -EINVAL. */
static int parse_hz(const char *s, unsigned int *hz)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || end == s || errno || v < 1 || v > CPU_MAX_HZ)
		return -EINVAL;
	*hz = (unsigned int)v;
	return 0;
}

static int set_string(char **dst, const char *arg, const char *opt)
{
	if (!*arg) {
		snag_set_error("%s needs a non-empty argument (see 'snag --help')", opt);
		return -EINVAL;
	}
	free(*dst);
	*dst = strdup(arg);
	return *dst ? 0 : -ENOMEM;
}

/* --mem, and --mem-sample N (arg) which implies it. Returns 0 or -EINVAL. */
static int parse_mem_option(struct record_opts *o, const char *arg)
{
	char *end;
	long v;

	o->mem = true;
	if (!arg)
		return 0;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (*end || end == arg || errno || v < 1 || v > 1000000) {
		snag_set_error("invalid --mem-sample '%s': give N from 1 (every allocation) to "
			       "1000000, e.g. --mem-sample 100 records one allocation in 100",
			       arg);
		return -EINVAL;
	}
	o->mem_sample = (uint32_t)v;
	return 0;
}

/* --mem's rules: it probes the allocator in a target's libc. Returns 0 or -EINVAL. */
static int check_mem_options(const struct record_opts *o)
{
	if (o->mem && !o->n_pids && !o->command) {
		snag_set_error("--mem needs -p PID or -c 'CMD': it probes the allocator in the "
			       "target's libc (e.g. snag -p 1234 --mem -d 30)");
		return -EINVAL;
	}
	return 0;
}

int record_opts__parse(int argc, char **argv, struct record_opts *o)
{
	bool no_io = false, no_offcpu = false;
	int c, err = 0;

	memset(o, 0, sizeof(*o));
	o->small_io_bytes = DEFAULT_SMALL_IO_BYTES;
	o->interval_ns = DEFAULT_INTERVAL_NS;
	o->max_funcs = DEFAULT_MAX_FUNCS;
	o->min_block_ns = DEFAULT_MIN_BLOCK_NS;
	o->mem_sample = 1;
	o->format = FORMAT_TEXT;
	o->cpu_hz = CPU_DEFAULT_HZ;
	optind = 1;
	opterr = 0;
	while (!err && (c = getopt_long(argc, argv, ":p:c:u:d:i:o:F:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			err = add_pids(o, optarg);
			break;
		case 'c':
			err = set_string(&o->command, optarg, "-c");
			break;
		case 'u':
			err = add_spec(o, optarg);
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration_ns)) {
				snag_set_error("invalid duration '%s': give a positive number of "
					       "seconds, e.g. -d 5 or -d 0.5",
					       optarg);
				err = -EINVAL;
			}
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_ns) || o->interval_ns < 10000000) {
				snag_set_error(
				    "invalid interval '%s': give a number of seconds of at "
				    "least 0.01, e.g. -i 1",
				    optarg);
				err = -EINVAL;
			}
			break;
		case 'o':
			err = set_string(&o->output, optarg, "-o");
			break;
		case OPT_FORMAT:
			if (report_format__parse(optarg, &o->format)) {
				snag_set_error("unknown format '%s': use --format text, json, "
					       "folded, html or pprof",
					       optarg);
				err = -EINVAL;
			}
			break;
		case OPT_HISTOGRAM:
			o->histogram = true;
			break;
		case OPT_MAX_FUNCS: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || errno || v <= 0 || v > 100000) {
				snag_set_error(
				    "invalid --max-funcs '%s': give a number from 1 to 100000",
				    optarg);
				err = -EINVAL;
			} else {
				o->max_funcs = (size_t)v;
			}
			break;
		}
		case OPT_OFFCPU:
			o->offcpu = true;
			break;
		case OPT_MIN_BLOCK:
			if (parse_seconds(optarg, &o->min_block_ns)) {
				snag_set_error(
				    "invalid --min-block '%s': give a positive duration, "
				    "e.g. --min-block 100us or --min-block 2ms",
				    optarg);
				err = -EINVAL;
			}
			break;
		case OPT_KERNEL_THREADS:
			o->kernel_threads = true;
			break;
		case OPT_EXCEPTIONS_OK:
			o->exceptions_ok = true;
			break;
		case OPT_CGROUP:
			err = set_string(&o->cgroup, optarg, "--cgroup");
			break;
		case OPT_IO:
			o->io = true;
			break;
		case OPT_NO_IO:
			no_io = true;
			break;
		case OPT_NO_OFFCPU:
			no_offcpu = true;
			break;
		case OPT_SMALL_IO:
			if (parse_size(optarg, &o->small_io_bytes) || !o->small_io_bytes ||
			    o->small_io_bytes > (1ull << 30)) {
				snag_set_error(
				    "invalid --small-io '%s': give a size from 1 byte to "
				    "1GiB, e.g. --small-io 4096 or --small-io 64KiB",
				    optarg);
				err = -EINVAL;
			}
			break;
		case OPT_SEVERITY:
			if (parse_severity(optarg, &o->severity)) {
				snag_set_error(
				    "invalid --severity '%s': give the critical, high and "
				    "medium impact thresholds in percent, decreasing, e.g. "
				    "--severity 50,20,10",
				    optarg);
				err = -EINVAL;
			}
			o->severity_set = !err;
			break;
		case OPT_MEM:
		case OPT_MEM_SAMPLE:
			err = parse_mem_option(o, c == OPT_MEM_SAMPLE ? optarg : NULL);
			break;
		case OPT_BTF:
			err = set_string(&o->btf_path, optarg, "--btf");
			break;
		case OPT_PROMETHEUS:
			free(o->prom_host);
			free(o->prom_port);
			o->prom_host = o->prom_port = NULL;
			err = parse_listen_address(optarg, DEFAULT_PROM_HOST, &o->prom_host,
						   &o->prom_port);
			if (err == -EINVAL)
				snag_set_error(
				    "invalid --prometheus address '%s': give PORT, :PORT or "
				    "HOST:PORT with a port from 1 to 65535 (IPv6 as "
				    "[ADDR]:PORT), e.g. --prometheus 9464",
				    optarg);
			break;
		case OPT_CPU:
			o->cpu = true;
			break;
		case 'F':
			if (parse_hz(optarg, &o->cpu_hz)) {
				snag_set_error(
				    "invalid sampling frequency '%s': give a whole number "
				    "of samples per second from 1 to %d, e.g. -F 49 or "
				    "-F 999",
				    optarg, CPU_MAX_HZ);
				err = -EINVAL;
			}
			o->cpu_hz_set = !err;
			break;
		case 'h':
			o->help = true;
			return 0;
		case ':':
			snag_set_error("option '%s' needs an argument (see 'snag --help')",
				       argv[optind - 1]);
			err = -EINVAL;
			break;
		default:
			snag_set_error("unknown option '%s' (see 'snag --help')", argv[optind - 1]);
			err = -EINVAL;
			break;
		}
	}
	if (err)
		return err == -ENOMEM ? (snag_set_error("out of memory"), err) : err;
	if (optind < argc) {
		snag_set_error("unexpected argument '%s': to run a command use -c '%s ...'",
			       argv[optind], argv[optind]);
		return -EINVAL;
	}
	if (o->n_pids && o->command) {
		snag_set_error("-p and -c cannot be combined: trace running processes with -p, "
			       "or start one with -c");
		return -EINVAL;
	}
	if ((o->offcpu && no_offcpu) || (o->io && no_io)) {
		snag_set_error("--%s and --no-%s contradict each other: give one of them",
			       o->io && no_io ? "io" : "offcpu", o->io && no_io ? "io" : "offcpu");
		return -EINVAL;
	}
	/*
	 * Without functions to time (or memory), the kernel collectors are the job:
	 * off-CPU and I/O (--cpu adds to them).
	 */
	o->offcpu |= o->n_specs == 0 && !o->mem && !no_offcpu;
	o->io |= o->n_specs == 0 && !o->mem && !no_io;
	if (check_mem_options(o))
		return -EINVAL;
	if (!o->n_specs && !o->offcpu && !o->io && !o->cpu && !o->mem) {
		snag_set_error("nothing to trace: --no-offcpu and --no-io leave no collector; drop "
			       "one of them, add --cpu, or time functions with -u");
		return -EINVAL;
	}
	if (o->cpu_hz_set && !o->cpu) {
		snag_set_error("-F sets how often --cpu samples: add --cpu (e.g. --cpu -F %u)",
			       o->cpu_hz);
		return -EINVAL;
	}
	if (o->cgroup && !o->offcpu && !o->io && !o->cpu) {
		snag_set_error("--cgroup filters the off-CPU, I/O and on-CPU analysis, not -u "
			       "probes: add --offcpu, --io or --cpu (or use -p to limit -u to "
			       "processes)");
		return -EINVAL;
	}
	return 0;
}

void record_opts__free(struct record_opts *o)
{
	for (size_t i = 0; i < o->n_specs; i++)
		free(o->specs[i]);
	free(o->specs);
	free(o->pids);
	free(o->command);
	free(o->output);
	free(o->btf_path);
	free(o->cgroup);
	free(o->prom_host);
	free(o->prom_port);
	memset(o, 0, sizeof(*o));
}
