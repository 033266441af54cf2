/* On-CPU collector: loads cpu.bpf.c on a cpu-clock event per CPU, reads its sample counts into the
 * report with symbolized stacks, source lines of the hottest addresses and frame-pointer warnings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "cpu.h"
#include "cpu.skel.h"
#include "elfsym.h"
#include "errors.h"
#include "framepointer.h"
#include "report.h"
#include "snag_abi.h"
#include "srcline.h"
#include "symbolizer.h"

#define NS_PER_SEC	  1000000000ull
#define REFRESHED_MAX	  16 /* (pid, gen) pairs refreshed per poll, to coalesce event bursts */
#define SHALLOW_MAX_DEPTH 2  /* a user stack this short that reaches no thread root was cut */

struct cpu_collector {
	struct cpu_bpf *skel;
	struct ring_buffer *events;
	struct symbolizer *sym; /* for the event callback, set during cpu__poll() */
	struct bpf_link **links;
	size_t n_links;
	int ncpus;
	int *pids; /* -p pids for the targets map (more than one) */
	size_t n_pids;
	unsigned int hz;
	uint64_t period_ns;
	struct {
		int pid;
		uint32_t gen;
	} refreshed[REFRESHED_MAX];
	size_t n_refreshed;
};

static const char *const drop_names[SNAG_CDROP__COUNT] = {
    [SNAG_CDROP_TABLE_FULL] = "cpu_table_full",
    [SNAG_CDROP_STACK_TRUNCATED] = "cpu_stack_truncated",
    [SNAG_CDROP_NO_USER_STACK] = "cpu_no_user_stack",
    [SNAG_CDROP_EVENTS_LOST] = "cpu_process_events_lost",
};

struct cpu_collector *cpu__new(const struct cpu_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct cpu_collector *c = calloc(1, sizeof(*c));
	bool have_exec;
	int err = 0;

	if (!c)
		return NULL;
	if (!o->hz || o->hz > CPU_MAX_HZ) {
		err = -EINVAL;
		snag_set_error("invalid sampling frequency %u: give 1 to %u", o->hz, CPU_MAX_HZ);
		goto fail;
	}
	c->hz = o->hz;
	c->period_ns = NS_PER_SEC / o->hz;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		err = c->ncpus < 0 ? c->ncpus : -EINVAL;
		snag_set_error("cannot count the possible CPUs: %s", strerror(-err));
		goto fail;
	}
	c->skel = cpu_bpf__open_opts(&open_opts);
	if (!c->skel) {
		err = -errno;
		snag_set_error("cannot open the on-CPU BPF object: %s", strerror(-err));
		goto fail;
	}
	/* Without the exec hook, -c samples snag's own fork briefly too, rather than nothing. */
	have_exec = bpfutil__btf_has_tracepoint(o->btf_path, "sched_process_exec");
	bpf_program__set_autoload(c->skel->progs.handle_sched_process_exec, have_exec);
	c->skel->rodata->include_kthreads = o->kernel_threads;
	c->skel->rodata->self_tgid = (__u32)getpid();
	c->skel->rodata->cgroup_id = o->cgroup_id;
	c->skel->rodata->cgroup_level = o->cgroup_level;
	c->skel->rodata->wait_exec = o->wait_exec && o->n_pids == 1 && have_exec;
	if (o->n_pids == 1) {
		c->skel->rodata->filter_tgid = (__u32)o->pids[0];
	} else if (o->n_pids > 1) {
		c->skel->rodata->filter_by_map = true;
		c->pids = malloc(o->n_pids * sizeof(*c->pids));
		if (!c->pids) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(c->pids, o->pids, o->n_pids * sizeof(*c->pids));
		c->n_pids = o->n_pids;
	}
	return c;
fail:
	cpu__free(c);
	errno = -err;
	return NULL;
}

int cpu__load(struct cpu_collector *c)
{
	int err = cpu_bpf__load(c->skel);

	if (err) {
		snag_set_error("cannot load the on-CPU BPF program into the kernel: %s "
			       "(run with SNAG_DEBUG=1 for the verifier log)",
			       strerror(-err));
		return err;
	}
	return bpfutil__fill_targets(bpf_map__fd(c->skel->maps.targets), c->pids, c->n_pids);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct cpu_collector *c = ctx;
	const struct snag_event *e = data;

	if (len < sizeof(*e) || !c->sym)
		return 0;
	if (e->type != SNAG_EV_STACK) {
		symbolizer__snapshot(c->sym, (int)e->tgid, e->gen);
		return 0;
	}
	/* A burst of new stacks of one process needs one re-read of its mappings. */
	for (size_t i = 0; i < c->n_refreshed; i++)
		if (c->refreshed[i].pid == (int)e->tgid && c->refreshed[i].gen == e->gen)
			return 0;
	if (c->n_refreshed < REFRESHED_MAX) {
		c->refreshed[c->n_refreshed].pid = (int)e->tgid;
		c->refreshed[c->n_refreshed++].gen = e->gen;
	}
	symbolizer__refresh(c->sym, (int)e->tgid, e->gen);
	return 0;
}

/* A cpu-clock event on one CPU that overflows every period_ns of that CPU's time. */
static int open_cpu_clock(int cpu, uint64_t period_ns)
{
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_SOFTWARE,
	    .size = sizeof(attr),
	    .config = PERF_COUNT_SW_CPU_CLOCK,
	    .sample_period = period_ns,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int cpu__attach(struct cpu_collector *c)
{
	struct bpf_program *prog = c->skel->progs.handle_cpu_sample;
	int err;

	c->events = ring_buffer__new(bpf_map__fd(c->skel->maps.events), handle_event, c, NULL);
	if (!c->events) {
		err = -errno;
		snag_set_error("cannot open the on-CPU event ring buffer: %s", strerror(-err));
		return err;
	}
	if (bpf_program__autoload(c->skel->progs.handle_sched_process_exec)) {
		c->skel->links.handle_sched_process_exec =
		    bpf_program__attach(c->skel->progs.handle_sched_process_exec);
		if (!c->skel->links.handle_sched_process_exec) {
			err = -errno;
			snag_set_error("cannot attach the exec tracepoint: %s", strerror(-err));
			return err;
		}
	}
	c->links = calloc(c->ncpus, sizeof(*c->links));
	if (!c->links)
		return -ENOMEM;
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		int fd = open_cpu_clock(cpu, c->period_ns);
		struct bpf_link *link;

		if (fd == -ENODEV)
			continue; /* offline */
		if (fd < 0) {
			snag_set_error("cannot open a cpu-clock sampling event on CPU %d: %s%s",
				       cpu, strerror(-fd),
				       fd == -EACCES || fd == -EPERM
					   ? " (needs root, or CAP_PERFMON and CAP_BPF)"
					   : "");
			return fd;
		}
		link = bpf_program__attach_perf_event(prog, fd);
		if (!link) {
			err = -errno;
			close(fd);
			snag_set_error("cannot attach the on-CPU sampler on CPU %d: %s", cpu,
				       strerror(-err));
			return err;
		}
		c->links[c->n_links++] = link; /* closes fd when destroyed */
	}
	if (!c->n_links) {
		snag_set_error("no online CPU to sample");
		return -ENODEV;
	}
	return 0;
}

int cpu__event_fd(struct cpu_collector *c)
{
	return c->events ? ring_buffer__epoll_fd(c->events) : -1;
}

int cpu__poll(struct cpu_collector *c, struct symbolizer *sym)
{
	int n;

	if (!c->events)
		return 0;
	c->sym = sym;
	c->n_refreshed = 0;
	n = ring_buffer__consume(c->events);
	c->sym = NULL;
	return n < 0 ? n : 0;
}

bool cpu__is_thread_root(const char *frame)
{
	static const char *const roots[] = {
	    "_start",
	    "__libc_start_main",
	    "__libc_start_call_main",
	    "start_thread",
	    "clone",
	    "clone3",
	    "__clone",
	    "__clone3",
	    "__clone_internal",
	    "thread_start",
	    "runtime.goexit",
	    "runtime.mstart",
	    "runtime.main",
	};
	size_t len;

	if (!frame)
		return false;
	len = strcspn(frame, ".+"); /* compiler suffixes (.isra.0) and offsets */
	if (!strncmp(frame, "runtime.", 8))
		len = strcspn(frame, "+");
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (strlen(roots[i]) == len && !strncmp(frame, roots[i], len))
			return true;
	return false;
}

/* What is known about one binary that held the innermost user frame of samples. */
struct bin_stat {
	struct symfile *file;
	struct fp_scan scan;
	enum fp_verdict verdict;
	uint64_t samples;
	uint64_t incomplete;
};

/* A user-mode sample's address: where the CPU was. */
struct hot_addr {
	struct symfile *file;
	uint64_t vaddr;
	const char *function; /* the symbolizer's name, owned by it */
	uint64_t samples;
};

struct collect_ctx {
	struct cpu_collector *c;
	struct symbolizer *sym;
	struct report *r;
	struct bin_stat *bins;
	size_t n_bins, cap_bins;
	struct hot_addr *hot;
	size_t n_hot, cap_hot;
};

/* The stats of file, scanned for frame pointers on first sight; NULL when out of memory. */
static struct bin_stat *bin_stat(struct collect_ctx *x, struct symfile *file)
{
	const struct elfsym_tab *tab;
	struct bin_stat *b;

	for (size_t i = 0; i < x->n_bins; i++)
		if (x->bins[i].file == file)
			return &x->bins[i];
	if (x->n_bins == x->cap_bins) {
		size_t nc = x->cap_bins ? x->cap_bins * 2 : 16;
		void *a = realloc(x->bins, nc * sizeof(*x->bins));

		if (!a)
			return NULL;
		x->bins = a;
		x->cap_bins = nc;
	}
	b = &x->bins[x->n_bins++];
	memset(b, 0, sizeof(*b));
	b->file = file;
	tab = symbolizer__file_symbols(file);
	if (tab && !fp__scan(tab, &b->scan))
		b->verdict = fp__verdict(&b->scan);
	return b;
}

static int add_hot(struct collect_ctx *x, struct symfile *file, uint64_t vaddr,
		   const char *function, uint64_t samples)
{
	if (x->n_hot == x->cap_hot) {
		size_t nc = x->cap_hot ? x->cap_hot * 2 : 256;
		void *a = realloc(x->hot, nc * sizeof(*x->hot));

		if (!a)
			return -ENOMEM;
		x->hot = a;
		x->cap_hot = nc;
	}
	x->hot[x->n_hot++] = (struct hot_addr){file, vaddr, function, samples};
	return 0;
}

/* Frame names of a captured stack, innermost first; len in bytes as the kernel returned it. */
static size_t name_stack(struct symbolizer *sym, const __u64 *ips, __s32 len, bool kernel, int pid,
			 uint32_t gen, const char **names)
{
	size_t n = len > 0 ? (size_t)len / sizeof(__u64) : 0;

	if (n > SNAG_STACK_DEPTH)
		n = SNAG_STACK_DEPTH;
	for (size_t i = 0; i < n; i++)
		names[i] = kernel ? symbolizer__kernel(sym, ips[i])
				  : symbolizer__user(sym, pid, gen, ips[i]);
	return n;
}

/*
 * Whether a user stack's callers cannot be trusted. The kernel walks user
 * stacks by frame pointers: from code built without them, %rbp is not a
 * frame, so the walk skips the caller or wanders off; and a walk that
 * stopped after a frame or two without reaching a thread's entry point was
 * cut short, whatever the binary.
 */
static bool user_incomplete(const struct bin_stat *b, const char *const *names, size_t n)
{
	bool root = false;

	if (!n)
		return false;
	if (b && b->verdict == FP_ABSENT)
		return true;
	for (size_t i = 0; i < n && !root; i++)
		root = cpu__is_thread_root(names[i]);
	return !root && n <= SHALLOW_MAX_DEPTH;
}

static int add_entry(struct collect_ctx *x, const struct snag_cpu_key *key,
		     const struct snag_cpu_val *v)
{
	const char *knames[SNAG_STACK_DEPTH], *unames[SNAG_STACK_DEPTH];
	struct symfile *file = NULL;
	struct bin_stat *b = NULL;
	struct report_cpu *e;
	size_t nk, nu;
	uint64_t vaddr = 0;
	char comm[17];
	int err;

	nk = name_stack(x->sym, v->kstack, v->klen, true, 0, 0, knames);
	nu = name_stack(x->sym, v->ustack, v->ulen, false, (int)key->tgid, key->gen, unames);
	if (nu) {
		file =
		    symbolizer__user_file(x->sym, (int)key->tgid, key->gen, v->ustack[0], &vaddr);
		if (file && !(b = bin_stat(x, file)))
			return -ENOMEM;
	}
	bpfutil__comm(comm, v->comm);
	e = report__add_cpu(x->r, (int)key->tgid, (int)key->tid, comm);
	if (!e)
		return -ENOMEM;
	e->samples = v->samples;
	e->user_incomplete = user_incomplete(b, unames, nu);
	err = report_stack__set(&e->kernel_stack, knames, nk, nk == SNAG_STACK_DEPTH);
	err = err ?: report_stack__set(&e->user_stack, unames, nu, nu == SNAG_STACK_DEPTH);
	if (err)
		return err;
	if (b) {
		b->samples += v->samples;
		b->incomplete += e->user_incomplete ? v->samples : 0;
	}
	/* Only a sample that hit user mode says which instruction was running. */
	if (file && !nk)
		err = add_hot(x, file, vaddr, unames[0], v->samples);
	return err;
}

static int cmp_hot_addr(const void *a, const void *b)
{
	const struct hot_addr *x = a, *y = b;

	if (x->file != y->file)
		return (uintptr_t)x->file < (uintptr_t)y->file ? -1 : 1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_hot_samples(const void *a, const void *b)
{
	const struct hot_addr *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return cmp_hot_addr(a, b);
}

/* A resolved hot line, before lines of several addresses are summed. */
struct line_row {
	const char *function, *binary, *file;
	uint32_t line;
	uint64_t samples;
};

static int cmp_line_row(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;
	int d = strcmp(x->function, y->function);

	d = d ?: strcmp(x->binary, y->binary);
	d = d ?: strcmp(x->file, y->file);
	return d ?: (x->line > y->line) - (x->line < y->line);
}

static int cmp_line_samples(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return cmp_line_row(a, b);
}

/* The DWARF of file: its own, or its separate debug file's. NULL when neither has any. */
static struct srcline *open_srcline(struct symfile *file)
{
	const struct elfsym_tab *tab = symbolizer__file_symbols(file);
	struct srcline *sl = NULL;
	char fdpath[64];

	if (!tab)
		return NULL;
	if (tab->fd >= 0) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", tab->fd);
		sl = srcline__open(fdpath);
	}
	if (!sl && tab->debug_path)
		sl = srcline__open(tab->debug_path);
	return sl;
}

/*
 * The CPU_HOT_LINES user addresses with the most samples (summed over
 * threads), each resolved to its source line where the binary has DWARF;
 * lines of several addresses add up. Into r->cpu_lines, most samples first.
 */
static int add_hot_lines(struct collect_ctx *x)
{
	struct line_row rows[CPU_HOT_LINES];
	struct srcline *open[CPU_HOT_LINES] = {0};
	struct symfile *open_for[CPU_HOT_LINES] = {0};
	size_t n = 0, rows_n = 0, n_open = 0;
	int err = 0;

	if (!x->n_hot)
		return 0;
	qsort(x->hot, x->n_hot, sizeof(*x->hot), cmp_hot_addr);
	for (size_t i = 0; i < x->n_hot; i++) {
		if (n && !cmp_hot_addr(&x->hot[n - 1], &x->hot[i]))
			x->hot[n - 1].samples += x->hot[i].samples;
		else
			x->hot[n++] = x->hot[i];
	}
	qsort(x->hot, n, sizeof(*x->hot), cmp_hot_samples);
	for (size_t i = 0; i < n && i < CPU_HOT_LINES; i++) {
		const struct hot_addr *h = &x->hot[i];
		struct srcline *sl = NULL;
		const char *src;
		uint32_t line;
		size_t j;

		for (j = 0; j < n_open; j++)
			if (open_for[j] == h->file)
				break;
		if (j == n_open) {
			open_for[n_open] = h->file;
			open[n_open++] = open_srcline(h->file);
		}
		sl = open[j];
		if (!sl || srcline__lookup(sl, h->vaddr, &src, &line))
			continue;
		rows[rows_n++] = (struct line_row){h->function, symbolizer__file_path(h->file), src,
						   line, h->samples};
	}
	qsort(rows, rows_n, sizeof(*rows), cmp_line_row);
	n = 0;
	for (size_t i = 0; i < rows_n; i++) {
		if (n && !cmp_line_row(&rows[n - 1], &rows[i]))
			rows[n - 1].samples += rows[i].samples;
		else
			rows[n++] = rows[i];
	}
	rows_n = n;
	qsort(rows, rows_n, sizeof(*rows), cmp_line_samples);
	for (size_t i = 0; !err && i < rows_n; i++)
		err = report__add_cpu_line(x->r, rows[i].function, rows[i].binary, rows[i].file,
					   rows[i].line, rows[i].samples);
	for (size_t j = 0; j < n_open; j++)
		srcline__free(open[j]);
	return err;
}

/* A warning for each binary whose samples' user stacks lost their callers. */
static int add_warnings(struct collect_ctx *x)
{
	for (size_t i = 0; i < x->n_bins; i++) {
		const struct bin_stat *b = &x->bins[i];
		struct report_cpu_warning *w;

		if (!b->incomplete || b->verdict == FP_PRESENT)
			continue;
		w = report__add_cpu_warning(x->r, symbolizer__file_path(b->file));
		if (!w)
			return -ENOMEM;
		w->samples = b->samples;
		w->incomplete_samples = b->incomplete;
		w->functions_checked = b->scan.checked;
		w->fp_functions = b->scan.with_fp;
	}
	return 0;
}

static int collect_samples(struct collect_ctx *x)
{
	int fd = bpf_map__fd(x->c->skel->maps.samples);
	struct snag_cpu_val *v = malloc(sizeof(*v));
	struct snag_cpu_key key, next, *prev = NULL;
	int err = 0;

	if (!v)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		err = add_entry(x, &key, v);
	}
	free(v);
	return err;
}

static int collect_drops(struct cpu_collector *c, struct report *r)
{
	struct snag_cpu_counters *percpu = calloc(c->ncpus, sizeof(*percpu));
	__u64 sums[SNAG_CDROP__COUNT] = {0};
	__u32 zero = 0;
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.cpu_counters), &zero, percpu))
		err = -errno;
	for (int i = 0; !err && i < c->ncpus; i++)
		for (int d = 0; d < SNAG_CDROP__COUNT; d++)
			sums[d] += percpu[i].drops[d];
	for (int d = 0; !err && d < SNAG_CDROP__COUNT; d++)
		err = report__add_drop(r, drop_names[d], sums[d]);
	free(percpu);
	return err;
}

int cpu__collect(struct cpu_collector *c, struct symbolizer *sym, struct report *r, bool with_stats)
{
	struct collect_ctx x = {.c = c, .sym = sym, .r = r};
	int err;

	/* Events still queued name processes whose stacks are about to be symbolized. */
	err = cpu__poll(c, sym);
	if (err)
		return err;
	r->cpu_enabled = true;
	r->cpu_frequency_hz = c->hz;
	r->cpu_period_ns = c->period_ns;
	err = collect_samples(&x);
	err = err ?: add_hot_lines(&x);
	err = err ?: add_warnings(&x);
	err = err ?: collect_drops(c, r);
	if (!err && with_stats)
		err = bpfutil__add_prog_stats(c->skel->obj, r);
	free(x.bins);
	free(x.hot);
	return err;
}

void cpu__free(struct cpu_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_links; i++)
		bpf_link__destroy(c->links[i]);
	free(c->links);
	ring_buffer__free(c->events);
	cpu_bpf__destroy(c->skel);
	free(c->pids);
	free(c);
}
