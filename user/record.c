/* snag record: resolve what to trace, attach, poll until the end, then write one complete report.
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "cgroup.h"
#include "commands.h"
#include "cpu.h"
#include "errors.h"
#include "funclat.h"
#include "io.h"
#include "mem.h"
#include "options.h"
#include "outfile.h"
#include "preflight.h"
#include "proc_series.h"
#include "prom_server.h"
#include "prometheus.h"
#include "report.h"
#include "resolve.h"
#include "sched.h"
#include "symbolizer.h"
#include "target.h"

struct session {
	struct record_opts opts;
	struct spec *specs;
	size_t n_specs;
	struct targets targets;
	bool have_targets;
	struct probe_set probes;
	struct funclat *fl;		 /* -u: function latencies */
	struct mem_collector *mem;	 /* --mem: allocations, RSS, page faults */
	struct funclat_func *cur, *prev; /* n_funcs snapshots for interval deltas */
	struct sched_collector *sc;	 /* off-CPU analysis */
	struct io_collector *io;	 /* I/O analysis */
	struct cpu_collector *cpu;	 /* on-CPU sampling (--cpu) */
	struct proc_table procs[2]; /* per-process totals: this interval's read, the last one */
	uint64_t cgroup_id;	    /* --cgroup, resolved */
	uint32_t cgroup_level;
	struct symbolizer *sym;
	struct report *report;
	int stats_fd;
	int sig_fd;
	struct outfile out; /* -o FILE (written whole, or not at all), or stdout */
	uint64_t start_ns, interval_start_ns, end_ns;
	int stop_signal;
	bool stop_signal_from_process;
	struct prom_server *prom;	 /* --prometheus: serves what publish_metrics() made */
	struct prom_writer *prom_writer; /* keeps its counters from going down */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("SNAG_DEBUG") && *getenv("SNAG_DEBUG") &&
			strcmp(getenv("SNAG_DEBUG"), "0");
	/* snag reports failures itself, in one line; libbpf's detail is for SNAG_DEBUG=1. */
	if (!debug || (level == LIBBPF_DEBUG && debug < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int setup_signals(struct session *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return -errno;
	/* A closed stdout should fail the write, not kill snag before it cleans up. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int parse_specs(struct session *s)
{
	s->specs = calloc(s->opts.n_specs, sizeof(*s->specs));
	if (!s->specs)
		return -ENOMEM;
	for (size_t i = 0; i < s->opts.n_specs; i++) {
		int err = spec__parse(s->opts.specs[i], &s->specs[i]);

		if (err)
			return err;
		s->n_specs++;
	}
	return 0;
}

static int resolve_probes(struct session *s)
{
	struct resolve_opts ro = {
	    .max_funcs = s->opts.max_funcs,
	    .exceptions_ok = s->opts.exceptions_ok,
	};

	if (s->opts.command) {
		ro.command_pid = s->targets.procs[0].pid;
		ro.command_path = s->targets.command_path;
	} else if (s->opts.n_pids) {
		ro.pids = s->opts.pids;
		ro.n_pids = s->opts.n_pids;
	}
	return resolve__specs(s->specs, s->n_specs, &ro, &s->probes);
}

/* The kernel collectors' per-process totals now, minus the last read: this interval's series. */
static int take_interval_procs(struct session *s, uint64_t now)
{
	struct proc_table *cur = &s->procs[0], tmp;
	struct report_interval_proc *delta;
	size_t n;
	int err = 0;

	if (!s->sc && !s->io)
		return 0;
	proc_table__reset(cur);
	if (s->sc)
		err = sched__read_procs(s->sc, now, cur);
	if (!err && s->io)
		err = io__read_procs(s->io, cur);
	err = err ?: proc_table__finish(cur);
	err = err ?: proc_table__delta(cur, &s->procs[1], &delta, &n);
	if (err)
		return err;
	err = report__set_interval_procs(s->report, delta, n);
	free(delta);
	tmp = s->procs[0];
	s->procs[0] = s->procs[1];
	s->procs[1] = tmp;
	return err;
}

/* ---- Memory collector (--mem) ---- */

/* The memory collector's part of an interval: outstanding bytes per stack, RSS, faults. */
static int take_interval_mem(struct session *s)
{
	return s->mem ? mem__sample(s->mem) : 0;
}

/* Open the memory collector on the targets (after the other collectors). */
static int start_mem(struct session *s)
{
	int pids[s->targets.n + 1];
	struct mem_opts mo = {
	    .btf_path = s->opts.btf_path,
	    .pids = pids,
	    .command_path = s->opts.command ? s->targets.command_path : NULL,
	    .sample_every = s->opts.mem_sample,
	};

	if (!s->opts.mem)
		return 0;
	for (size_t i = 0; i < s->targets.n; i++)
		pids[mo.n_pids++] = s->targets.procs[i].pid;
	if (!s->sym) {
		s->sym = symbolizer__new(NULL);
		if (!s->sym)
			return -errno;
	}
	s->mem = mem__new(&mo);
	if (!s->mem)
		return -errno;
	return mem__load(s->mem);
}

/* ---- end of the memory collector's part ---- */

/* Everything but the functions' part of an interval. */
static int finish_interval(struct session *s, uint64_t now)
{
	return take_interval_procs(s, now) ?: take_interval_mem(s);
}

/* Read the maps now; record the interval since the last call. */
static int take_interval(struct session *s, uint64_t now)
{
	struct report_interval_func *funcs;
	size_t n = 0;
	struct funclat_func *tmp;
	int err;

	if (!s->fl) {
		err = report__add_interval(s->report, s->interval_start_ns - s->start_ns,
					   now - s->interval_start_ns, NULL, 0);
		s->interval_start_ns = now;
		return err ?: finish_interval(s, now);
	}
	err = funclat__read(s->fl, s->cur);
	if (err)
		return err;
	funcs = calloc(s->probes.n_funcs, sizeof(*funcs));
	if (!funcs)
		return -ENOMEM;
	for (uint32_t id = 0; id < s->probes.n_funcs; id++) {
		uint64_t dc = s->cur[id].count - s->prev[id].count;

		if (!dc)
			continue;
		funcs[n].func = id;
		funcs[n].count = dc;
		funcs[n].total_ns = s->cur[id].total_ns - s->prev[id].total_ns;
		n++;
	}
	err = report__add_interval(s->report, s->interval_start_ns - s->start_ns,
				   now - s->interval_start_ns, funcs, n);
	free(funcs);
	tmp = s->prev;
	s->prev = s->cur;
	s->cur = tmp;
	s->interval_start_ns = now;
	return err ?: finish_interval(s, now);
}

/*
 * --prometheus: bind the address before anything is traced, so a bad one
 * fails at once. Returns 0, -EINVAL for an address that cannot be served (bad
 * input), or another -errno (runtime).
 */
static int start_metrics(struct session *s)
{
	if (!s->opts.prom_host)
		return 0;
	s->prom_writer = prom_writer__new();
	if (!s->prom_writer)
		return -ENOMEM;
	s->prom = prom_server__start(s->opts.prom_host, s->opts.prom_port);
	if (!s->prom)
		return -errno;
	fprintf(stderr, "snag: serving metrics at %s, refreshed every %.3gs\n",
		prom_server__url(s->prom), s->opts.interval_ns / 1e9);
	return 0;
}

/* Function rows with the latest totals (prev, after take_interval()), drops and program costs. */
static int add_function_totals(struct session *s, struct report *r)
{
	bool *added = calloc(s->probes.n_funcs + 1, sizeof(*added));
	struct snag_counters c;
	int err = 0;

	if (!added)
		return -ENOMEM;
	for (size_t i = 0; !err && i < s->probes.n_points; i++) {
		const struct probe_point *p = &s->probes.points[i];
		struct report_function *f;

		if (added[p->func_id])
			continue;
		added[p->func_id] = true;
		f = report__add_function(r, p->binary, p->name, p->address);
		if (!f) {
			err = -ENOMEM;
			break;
		}
		f->count = s->prev[p->func_id].count;
		f->total_ns = s->prev[p->func_id].total_ns;
		memcpy(f->hist, s->prev[p->func_id].hist, sizeof(f->hist));
	}
	free(added);
	if (!err)
		err = funclat__read_counters(s->fl, &c);
	for (int d = 0; !err && d < SNAG_DROP__COUNT; d++)
		err = report__add_drop(r, funclat__drop_name(d), c.drops[d]);
	if (!err && s->stats_fd >= 0)
		err = funclat__add_prog_stats(s->fl, r);
	return err;
}

/*
 * --prometheus: every collector's totals at now into a scratch report, whose
 * exposition text replaces the one the server hands out. Returns 0 or -errno
 * with snag_set_error().
 */
static int publish_metrics(struct session *s, uint64_t now)
{
	bool stats = s->stats_fd >= 0;
	struct report *r;
	size_t len;
	char *text;
	int err = 0;

	if (!s->prom)
		return 0;
	r = report__new();
	if (!r)
		err = -ENOMEM;
	if (!err && s->fl)
		err = add_function_totals(s, r);
	if (!err && s->sc)
		err = sched__read_totals(s->sc, now, r, stats);
	if (!err && s->io)
		err = io__read_totals(s->io, r, stats);
	if (!err)
		err = prom_writer__format(s->prom_writer, r, &text, &len);
	if (!err)
		err = prom_server__publish(s->prom, text, len);
	report__free(r);
	if (err)
		snag_set_error("cannot refresh the metrics: %s", strerror(-err));
	return err;
}

/* Handle pending signals; returns true when tracing should stop. */
static bool handle_signals(struct session *s)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			stop |= targets__update(&s->targets);
			continue;
		}
		s->stop_signal = (int)si.ssi_signo;
		/* A terminal's Ctrl-C already reached the -c child (same process group); a kill(2)
		 * did not. */
		s->stop_signal_from_process = si.ssi_pid != 0;
		stop = true;
	}
	return stop;
}

static int trace_loop(struct session *s)
{
	uint64_t deadline = s->opts.duration_ns ? s->start_ns + s->opts.duration_ns : UINT64_MAX;

	for (;;) {
		struct pollfd pfd[4 + s->targets.n];
		uint64_t now = bpfutil__monotonic_ns(), until;
		size_t n = 0;
		int err;

		if (now >= deadline)
			return 0;
		if (now >= s->interval_start_ns + s->opts.interval_ns) {
			err = take_interval(s, now);
			if (!err)
				err = publish_metrics(s, now);
			if (err)
				return err;
		}
		until = s->interval_start_ns + s->opts.interval_ns;
		if (until > deadline)
			until = deadline;
		pfd[n++] = (struct pollfd){s->sig_fd, POLLIN, 0};
		if (s->sc)
			pfd[n++] = (struct pollfd){sched__event_fd(s->sc), POLLIN, 0};
		if (s->cpu)
			pfd[n++] = (struct pollfd){cpu__event_fd(s->cpu), POLLIN, 0};
		if (s->mem)
			pfd[n++] = (struct pollfd){mem__event_fd(s->mem), POLLIN, 0};
		for (size_t i = 0; i < s->targets.n; i++)
			if (!s->targets.command && !s->targets.procs[i].exited &&
			    s->targets.procs[i].pidfd >= 0)
				pfd[n++] = (struct pollfd){s->targets.procs[i].pidfd, POLLIN, 0};
		/* until > now here; never let the timeout wrap negative, which means forever. */
		if (poll(pfd, n, until > now ? (int)((until - now + 999999) / 1000000) : 0) < 0 &&
		    errno != EINTR)
			return -errno;
		if (s->sc) {
			err = sched__poll(s->sc, s->sym);
			if (err)
				return err;
		}
		if (s->cpu) {
			err = cpu__poll(s->cpu, s->sym);
			if (err)
				return err;
		}
		if (s->mem) {
			err = mem__poll(s->mem, s->sym);
			if (err)
				return err;
		}
		if (handle_signals(s))
			return 0;
		if (s->have_targets && !s->targets.command && targets__update(&s->targets))
			return 0;
	}
}

/* "3 functions, off-CPU time and I/O": what this session traces. */
static void describe_collectors(struct session *s, char *buf, size_t len)
{
	char funcs[48] = "";
	const char *parts[5];
	size_t n = 0, off = 0;

	if (s->n_specs) {
		snprintf(funcs, sizeof(funcs), "%u function%s", s->probes.n_funcs,
			 s->probes.n_funcs == 1 ? "" : "s");
		parts[n++] = funcs;
	}
	if (s->sc)
		parts[n++] = "off-CPU time";
	if (s->io)
		parts[n++] = "I/O";
	if (s->mem)
		parts[n++] = "memory";
	if (s->cpu)
		parts[n++] = "on-CPU stacks";
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s",
				i == 0	     ? ""
				: i + 1 == n ? " and "
					     : ", ",
				parts[i]);
}

static const char *target_mode_desc(struct session *s, char *buf, size_t len)
{
	if (s->opts.command) {
		snprintf(buf, len, "'%s' (pid %d)", s->opts.command, s->targets.procs[0].pid);
	} else if (s->opts.n_pids) {
		size_t off = snprintf(buf, len, "pid");
		for (size_t i = 0; i < s->opts.n_pids && off < len; i++)
			off +=
			    snprintf(buf + off, len - off, "%s%d", i ? "," : " ", s->opts.pids[i]);
	} else if (s->opts.n_specs) {
		snprintf(buf, len, "every process running the probed binaries%s",
			 s->opts.offcpu || s->opts.io ? ", and the kernel collectors system-wide"
						      : "");
	} else if (s->opts.cgroup) {
		snprintf(buf, len, "cgroup %s", s->opts.cgroup);
	} else {
		snprintf(buf, len, "the whole system");
	}
	return buf;
}

static int fill_target(struct session *s)
{
	struct report_target *t = &s->report->target;

	t->mode = s->opts.command ? TARGET_COMMAND : s->opts.n_pids ? TARGET_PIDS : TARGET_SYSTEM;
	if (s->targets.n) {
		t->pids = calloc(s->targets.n, sizeof(*t->pids));
		if (!t->pids)
			return -ENOMEM;
		for (size_t i = 0; i < s->targets.n; i++)
			t->pids[i] = s->targets.procs[i].pid;
		t->n_pids = s->targets.n;
	}
	if (s->opts.command && !(t->command = strdup(s->opts.command)))
		return -ENOMEM;
	if (s->opts.cgroup && !(t->cgroup = strdup(s->opts.cgroup)))
		return -ENOMEM;
	t->specs = calloc(s->opts.n_specs, sizeof(*t->specs));
	if (!t->specs)
		return -ENOMEM;
	for (size_t i = 0; i < s->opts.n_specs; i++) {
		t->specs[i] = strdup(s->opts.specs[i]);
		if (!t->specs[i])
			return -ENOMEM;
		t->n_specs++;
	}
	return 0;
}

/* Function rows from the final totals (in prev after the last take_interval). */
static int collect_functions(struct session *s)
{
	const struct probe_point **first;
	struct snag_counters c;
	int err = 0;

	first = calloc(s->probes.n_funcs, sizeof(*first));
	if (!first)
		return -ENOMEM;
	for (size_t i = 0; i < s->probes.n_points; i++)
		if (!first[s->probes.points[i].func_id])
			first[s->probes.points[i].func_id] = &s->probes.points[i];
	for (uint32_t id = 0; id < s->probes.n_funcs; id++) {
		const struct probe_point *p = first[id];
		struct report_function *f;

		f = report__add_function(s->report, p->binary, p->name, p->address);
		if (!f) {
			err = -ENOMEM;
			break;
		}
		f->count = s->prev[id].count;
		f->total_ns = s->prev[id].total_ns;
		f->inside_ns = s->prev[id].inside_ns;
		f->min_ns = s->prev[id].min_ns;
		f->max_ns = s->prev[id].max_ns;
		memcpy(f->hist, s->prev[id].hist, sizeof(f->hist));
	}
	free(first);
	if (!err)
		err = funclat__thread_time(s->fl, s->end_ns, &s->report->traced_threads,
					   &s->report->traced_thread_ns);
	if (!err)
		err = funclat__read_counters(s->fl, &c);
	for (int d = 0; !err && d < SNAG_DROP__COUNT; d++)
		err = report__add_drop(s->report, funclat__drop_name(d), c.drops[d]);
	if (!err && s->stats_fd >= 0)
		err = funclat__add_prog_stats(s->fl, s->report);
	return err;
}

/*
 * What naming the stacks refused or left out of files the traced processes
 * control (docs/security.md), with the other drops: listed whenever stacks
 * were named, zero counts included. Returns 0 or -ENOMEM.
 */
static int add_symbolizer_drops(const struct symbolizer *sym, struct report *r)
{
	struct symbolizer_counters c;
	int err;

	symbolizer__counters(sym, &c);
	err = report__add_drop(r, "jit_map_refused", c.jit_maps_refused);
	err = err ?: report__add_drop(r, "jit_symbols_cut", c.jit_symbols_cut);
	err = err ?: report__add_drop(r, "jit_names_cut", c.jit_names_cut);
	err = err ?: report__add_drop(r, "elf_symbols_cut", c.elf_symbols_cut);
	return err;
}

/* Final read of every map into the report. */
static int collect(struct session *s)
{
	int err;

	s->end_ns = bpfutil__monotonic_ns();
	err = take_interval(s, s->end_ns);
	if (err)
		return err;
	s->report->duration_ns = s->end_ns - s->start_ns;
	/* Libraries mapped since a process's last refresh (those are rate-limited). */
	if (s->sym) {
		err = symbolizer__refresh_live(s->sym);
		if (err)
			return err;
	}
	if (s->fl) {
		err = collect_functions(s);
		if (err)
			return err;
	}
	if (s->sc) {
		err = sched__collect(s->sc, s->end_ns, s->sym, s->report);
		if (err)
			return err;
	}
	if (s->io) {
		err = io__collect(s->io, s->report, s->stats_fd >= 0);
		if (err)
			return err;
	}
	if (s->cpu) {
		err = cpu__collect(s->cpu, s->sym, s->report, s->stats_fd >= 0);
		if (err)
			return err;
	}
	if (s->mem) {
		err = mem__collect(s->mem, s->sym, s->report, s->stats_fd >= 0);
		if (err)
			return err;
	}
	if (s->sym) {
		err = add_symbolizer_drops(s->sym, s->report);
		if (err)
			return err;
	}
	return fill_target(s);
}

/* Sched filter: the -p pids or the -c child; none for system-wide. */
static struct sched_opts sched_opts(struct session *s, int *pids)
{
	struct sched_opts so = {
	    .btf_path = s->opts.btf_path,
	    .min_block_ns = s->opts.min_block_ns,
	    .kernel_threads = s->opts.kernel_threads,
	    .wait_exec = s->opts.command != NULL,
	    .cgroup_id = s->cgroup_id,
	    .cgroup_level = s->cgroup_level,
	    .pids = pids,
	};

	for (size_t i = 0; i < s->targets.n; i++)
		pids[so.n_pids++] = s->targets.procs[i].pid;
	return so;
}

/* --cpu: the on-CPU sampler, loaded (attached with the others), with the symbolizer it needs. */
static int new_cpu_collector(struct session *s)
{
	int pids[s->targets.n + 1];
	struct cpu_opts co = {
	    .btf_path = s->opts.btf_path,
	    .pids = pids,
	    .cgroup_id = s->cgroup_id,
	    .cgroup_level = s->cgroup_level,
	    .wait_exec = s->opts.command != NULL,
	    .kernel_threads = s->opts.kernel_threads,
	    .hz = s->opts.cpu_hz,
	};

	if (!s->opts.cpu)
		return 0;
	for (size_t i = 0; i < s->targets.n; i++)
		pids[co.n_pids++] = s->targets.procs[i].pid;
	if (!s->sym && !(s->sym = symbolizer__new(NULL)))
		return -errno;
	s->cpu = cpu__new(&co);
	if (!s->cpu)
		return -errno;
	return cpu__load(s->cpu);
}

static int start_tracing(struct session *s)
{
	struct timespec rt;
	int err;

	s->report = report__new();
	if (!s->report)
		return -ENOMEM;
	if (s->n_specs) {
		struct funclat_opts fo = {
		    .n_funcs = s->probes.n_funcs,
		    .btf_path = s->opts.btf_path,
		};

		s->fl = funclat__new(&fo);
		if (!s->fl)
			return -errno;
		err = funclat__load(s->fl);
		if (err)
			return err;
		s->cur = calloc(s->probes.n_funcs, sizeof(*s->cur));
		s->prev = calloc(s->probes.n_funcs, sizeof(*s->prev));
		if (!s->cur || !s->prev)
			return -ENOMEM;
	}
	if (s->opts.offcpu) {
		int pids[s->targets.n + 1];
		struct sched_opts so = sched_opts(s, pids);

		s->sym = symbolizer__new(NULL);
		if (!s->sym)
			return -errno;
		s->sc = sched__new(&so);
		if (!s->sc)
			return -errno;
		err = sched__load(s->sc);
		if (err)
			return err;
	}
	if (s->opts.io) {
		int pids[s->targets.n + 1];
		struct io_opts io = {
		    .btf_path = s->opts.btf_path,
		    .pids = pids,
		    .cgroup_id = s->cgroup_id,
		    .cgroup_level = s->cgroup_level,
		    .wait_exec = s->opts.command != NULL,
		    .small_io_bytes = s->opts.small_io_bytes,
		};

		for (size_t i = 0; i < s->targets.n; i++)
			pids[io.n_pids++] = s->targets.procs[i].pid;
		s->io = io__new(&io);
		if (!s->io)
			return -errno;
		err = io__load(s->io);
		if (err)
			return err;
	}
	err = new_cpu_collector(s);
	if (err)
		return err;
	err = start_mem(s);
	if (err)
		return err;
	/* Program run-time statistics for the report's overhead section, only while snag runs. */
	s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	s->start_ns = bpfutil__monotonic_ns();
	if (s->fl) {
		err = funclat__attach(s->fl, &s->probes);
		if (err)
			return err;
		s->start_ns = funclat__start_ns(s->fl);
	}
	if (s->sc) {
		err = sched__attach(s->sc, s->start_ns);
		if (err)
			return err;
	}
	if (s->io) {
		err = io__attach(s->io);
		if (err)
			return err;
	}
	if (s->cpu) {
		err = cpu__attach(s->cpu);
		if (err)
			return err;
	}
	if (s->mem) {
		err = mem__attach(s->mem);
		if (err)
			return err;
	}
	s->interval_start_ns = s->start_ns;
	clock_gettime(CLOCK_REALTIME, &rt);
	s->report->start_time_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	return 0;
}

static void free_session(struct session *s)
{
	outfile__discard(&s->out);
	prom_server__free(s->prom);
	prom_writer__free(s->prom_writer);
	funclat__free(s->fl);
	mem__free(s->mem);
	sched__free(s->sc);
	io__free(s->io);
	cpu__free(s->cpu);
	proc_table__free(&s->procs[0]);
	proc_table__free(&s->procs[1]);
	symbolizer__free(s->sym);
	if (s->have_targets)
		targets__free(&s->targets);
	probe_set__free(&s->probes);
	for (size_t i = 0; i < s->n_specs; i++)
		spec__free(&s->specs[i]);
	free(s->specs);
	free(s->cur);
	free(s->prev);
	report__free(s->report);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	record_opts__free(&s->opts);
}

int cmd_record(int argc, char **argv)
{
	struct session s = {.stats_fd = -1, .sig_fd = -1};
	struct render_opts ro;
	int status = SNAG_EXIT_USAGE, err;
	char desc[256], what[96] = "";

	libbpf_set_print(libbpf_print);
	err = record_opts__parse(argc, argv, &s.opts);
	if (err)
		goto out;
	if (s.opts.help) {
		record_opts__usage(stdout);
		status = SNAG_EXIT_OK;
		goto out;
	}
	err = record_opts__check_output(&s.opts, STDOUT_FILENO);
	if (err)
		goto out;
	if (s.opts.severity_set)
		severity__set_thresholds(&s.opts.severity);
	err = parse_specs(&s);
	if (!err && s.opts.cgroup)
		err = cgroup__resolve(s.opts.cgroup, &s.cgroup_id, &s.cgroup_level);
	if (!err)
		err = preflight__privileges();
	if (!err)
		err = preflight__btf(s.opts.btf_path);
	if (err)
		goto out;
	preflight__raise_nofile();
	err = setup_signals(&s);
	if (err) {
		snag_set_error("cannot set up signal handling: %s", strerror(-err));
		status = SNAG_EXIT_RUNTIME;
		goto out;
	}
	if (s.opts.command)
		err = targets__spawn(&s.targets, s.opts.command);
	else if (s.opts.n_pids)
		err = targets__open_pids(&s.targets, s.opts.pids, s.opts.n_pids);
	s.have_targets = s.opts.command || s.opts.n_pids;
	if (!err && s.n_specs)
		err = resolve_probes(&s);
	if (!err)
		err = outfile__open(&s.out, s.opts.output, "report");
	if (err)
		goto out;
	err = start_metrics(&s);
	if (err) {
		status = err == -EINVAL ? SNAG_EXIT_USAGE : SNAG_EXIT_RUNTIME;
		goto out;
	}
	err = start_tracing(&s);
	if (err) {
		/* A target that vanished before attach is bad input; anything else is runtime. */
		status = err == -ESRCH || err == -ENOENT ? SNAG_EXIT_USAGE : SNAG_EXIT_RUNTIME;
		goto out;
	}
	err = targets__release(&s.targets);
	if (err)
		goto out;
	status = SNAG_EXIT_RUNTIME;
	err = publish_metrics(&s, bpfutil__monotonic_ns());
	if (err)
		goto out;
	describe_collectors(&s, what, sizeof(what));
	fprintf(stderr, "snag: tracing %s in %s%s\n", what,
		target_mode_desc(&s, desc, sizeof(desc)),
		s.opts.duration_ns ? "" : "; Ctrl-C to stop");
	err = trace_loop(&s);
	if (!err)
		err = collect(&s);
	if (err) {
		if (!*snag_last_error())
			snag_set_error("tracing failed: %s", strerror(-err));
		goto out;
	}
	/* Stop probing before the report is written; the -c command may go on without snag. */
	funclat__free(s.fl);
	s.fl = NULL;
	sched__free(s.sc);
	s.sc = NULL;
	io__free(s.io);
	s.io = NULL;
	cpu__free(s.cpu);
	s.cpu = NULL;
	mem__free(s.mem);
	s.mem = NULL;
	if (s.stop_signal && s.stop_signal_from_process)
		targets__signal_command(&s.targets, s.stop_signal);
	report__finish(s.report);
	ro = (struct render_opts){.histogram = s.opts.histogram};
	err = report__render(s.report, s.opts.format, &ro, s.out.f);
	if (!err)
		err = outfile__commit(&s.out);
	else
		snag_set_error("cannot write the report: %s", strerror(-err));
	if (!err)
		status = SNAG_EXIT_OK;
out:
	if (status != SNAG_EXIT_OK)
		snag_print_error("failed");
	free_session(&s);
	return status;
}
