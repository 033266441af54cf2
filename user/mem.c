/*
 * Memory collector: probes the targets' libc allocator (mem.bpf.c), follows outstanding bytes per
 * allocation stack and each process's RSS and page faults per interval, and fills the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "errors.h"
#include "mem.h"
#include "mem.skel.h"
#include "procmem.h"
#include "report.h"
#include "resolve.h"
#include "snag_abi.h"
#include "symbolizer.h"
#include "uprobe_multi.h"

_Static_assert(REPORT_MEM_FUNCS == SNAG_MEM_FUNC__COUNT,
	       "report.mem_calls must have one slot per enum snag_mem_func");

/* libc's name of each enum snag_mem_func. */
static const char *const func_names[SNAG_MEM_FUNC__COUNT] = {
    [SNAG_MEM_MALLOC] = "malloc",
    [SNAG_MEM_CALLOC] = "calloc",
    [SNAG_MEM_REALLOC] = "realloc",
    [SNAG_MEM_POSIX_MEMALIGN] = "posix_memalign",
    [SNAG_MEM_ALIGNED_ALLOC] = "aligned_alloc",
    [SNAG_MEM_FREE] = "free",
};

static const char *const drop_names[SNAG_MDROP__COUNT] = {
    [SNAG_MDROP_LIVE_FULL] = "mem_live_table_full",
    [SNAG_MDROP_ROWS_FULL] = "mem_row_table_full",
    [SNAG_MDROP_STACKS_FULL] = "mem_stack_table_full",
    [SNAG_MDROP_NO_STACK] = "mem_no_user_stack",
    [SNAG_MDROP_NO_STORAGE] = "mem_no_thread_storage",
    [SNAG_MDROP_STALE] = "mem_free_unseen",
    [SNAG_MDROP_EVENTS_LOST] = "mem_events_lost",
};

/* A probe in one process's libc. */
struct mem_point {
	char *attach_path;
	int pid;
	uint64_t offset;
	uint32_t func; /* enum snag_mem_func */
};

/* Outstanding bytes of one followed stack, one value per sample. */
struct mem_series {
	struct snag_mem_key key;
	int64_t *vals;
	int64_t last; /* at the latest sample */
};

/* One traced process's /proc samples. */
struct mem_proc {
	int pid;
	char comm[17];
	int64_t *rss, *minflt, *majflt; /* per sample */
	bool have_base;
	uint64_t base_min, base_maj; /* fault counts at the previous read */
	uint64_t peak, hwm, min_total, maj_total;
};

struct mem_collector {
	struct mem_bpf *skel;
	struct mem_point *points;
	size_t n_points;
	bool session; /* session uprobes (6.13+), else entry and return programs */
	int *link_fds;
	size_t n_link_fds;
	struct bpf_link *tp_links[3];
	struct ring_buffer *events;
	struct symbolizer *sym; /* during mem__poll() */
	int *new_pids;		/* processes with new stacks, gathered by the event callback */
	size_t n_new_pids, cap_new_pids;
	uint32_t sample_every;
	uint32_t gen; /* symbolizer generation: 1 for -c (its image after exec), 0 for -p */
	int ncpus;
	int *pids; /* for the targets map */
	size_t n_pids;
	const char *proc_root;
	struct mem_proc *procs;
	size_t n_procs;
	struct mem_series *series; /* sorted by key */
	size_t n_series;
	size_t n_samples, cap_samples;
};

size_t mem__probe_skip(const uint8_t *code, size_t len)
{
#if defined(__x86_64__)
	size_t skip = 0, i = 0;
	uint8_t rex = 0;

	if (len < 2)
		return 0;
	if (code[0] >= 0x40 && code[0] <= 0x4f)
		rex = code[i++];
	if (i + 1 < len &&
	    (code[i] == 0x85 || code[i] == 0x84 || code[i] == 0x39 || code[i] == 0x38 ||
	     code[i] == 0x3b || code[i] == 0x3a) &&
	    (code[i + 1] & 0xc0) == 0xc0) {
		skip = i + 2; /* test/cmp reg, reg */
	} else if (!rex && len >= 7 && (code[0] == 0x80 || code[0] == 0x83) && code[1] == 0x3d) {
		skip = 7; /* cmp $imm8, disp32(%rip) */
	} else if (rex == 0x48 && len >= 8 && code[1] == 0x83 && code[2] == 0x3d) {
		skip = 8; /* cmpq $imm8, disp32(%rip) */
	} else if (!rex && len >= 7 && code[0] == 0xf6 && code[1] == 0x05) {
		skip = 7; /* testb $imm8, disp32(%rip) */
	}
	if (!skip || skip >= len)
		return 0;
	code += skip;
	len -= skip;
	/* What the kernel emulates (arch/x86/kernel/uprobes.c): push reg, jcc, jmp, call. */
	if ((code[0] >= 0x50 && code[0] <= 0x57) || (code[0] >= 0x70 && code[0] <= 0x7f) ||
	    code[0] == 0xeb || code[0] == 0xe9 || code[0] == 0xe8)
		return skip;
	if (len >= 2 && ((code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57) ||
			 (code[0] == 0x0f && code[1] >= 0x80 && code[1] <= 0x8f)))
		return skip;
	return 0;
#else
	(void)code;
	(void)len;
	return 0;
#endif
}

/* The probe offset for a function at off in path: past a flags-only first instruction. */
static uint64_t probe_offset(const char *path, uint64_t off)
{
	uint8_t code[16];
	ssize_t n;
	/* path may be in the target's tree (its libc): whatever is there, do not block on it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return off;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return off;
	}
	n = pread(fd, code, sizeof(code), (off_t)off);
	close(fd);
	return n > 0 ? off + mem__probe_skip(code, (size_t)n) : off;
}

static void free_points(struct mem_collector *m)
{
	for (size_t i = 0; i < m->n_points; i++)
		free(m->points[i].attach_path);
	free(m->points);
	m->points = NULL;
	m->n_points = 0;
}

/* Rephrase a failed libc lookup for --mem. */
static void libc_error(const struct mem_opts *o, int err)
{
	if (err != -ENOENT || !strstr(snag_last_error(), "no library 'libc'"))
		return;
	snag_set_error(
	    "--mem probes the allocator in the target's libc, but process %d has no libc "
	    "mapped: it is statically linked or uses another C library (snag sees glibc's "
	    "malloc family only)",
	    o->pids[0]);
}

/* The probe points of every allocator function in every target's libc. */
static int find_points(struct mem_collector *m, const struct mem_opts *o)
{
	struct resolve_opts ro = {.command_pid = -1};
	int err = 0;

	if (o->command_path) {
		ro.command_pid = o->pids[0];
		ro.command_path = o->command_path;
	} else {
		ro.pids = o->pids;
		ro.n_pids = o->n_pids;
	}
	for (uint32_t f = 0; !err && f < SNAG_MEM_FUNC__COUNT; f++) {
		char arg[64];
		struct spec spec;
		struct probe_set ps;
		struct mem_point *np;

		snprintf(arg, sizeof(arg), "libc:%s", func_names[f]);
		err = spec__parse(arg, &spec);
		if (err)
			break;
		err = resolve__specs(&spec, 1, &ro, &ps);
		spec__free(&spec);
		if (err) {
			libc_error(o, err);
			break;
		}
		np = realloc(m->points, (m->n_points + ps.n_points) * sizeof(*np));
		if (!np) {
			probe_set__free(&ps);
			err = -ENOMEM;
			break;
		}
		m->points = np;
		for (size_t i = 0; i < ps.n_points; i++) {
			struct mem_point *p = &m->points[m->n_points];

			p->attach_path = strdup(ps.points[i].attach_path);
			if (!p->attach_path) {
				err = -ENOMEM;
				break;
			}
			p->pid = ps.points[i].pid;
			/* SNAG_MEM_PROBE_ENTRY=1: on the first instruction, as other tools
			 * (benchmarks). */
			p->offset = getenv("SNAG_MEM_PROBE_ENTRY")
					? ps.points[i].offset
					: probe_offset(p->attach_path, ps.points[i].offset);
			p->func = f;
			m->n_points++;
		}
		probe_set__free(&ps);
	}
	if (err == -ENOMEM)
		snag_set_error("out of memory");
	return err;
}

static void select_programs(struct mem_collector *m, const char *btf_path, bool wait_exec)
{
	struct mem_bpf *skel = m->skel;
	bool sys = bpfutil__btf_has_tracepoint(btf_path, "sys_enter") &&
		   bpfutil__btf_has_tracepoint(btf_path, "sys_exit");

	/* SNAG_FORCE_UPROBE_RETURN=1 exercises the older kernels' path (for tests). */
	m->session = uprobe_multi__session_supported() && !getenv("SNAG_FORCE_UPROBE_RETURN");
	bpf_program__set_autoload(skel->progs.handle_alloc_session, m->session);
	bpf_program__set_autoload(skel->progs.handle_alloc_entry, !m->session);
	bpf_program__set_autoload(skel->progs.handle_alloc_return, !m->session);
	bpf_program__set_expected_attach_type(skel->progs.handle_alloc_session,
					      (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_SESSION);
	bpf_program__set_expected_attach_type(skel->progs.handle_alloc_entry,
					      (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.handle_alloc_return,
					      (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.handle_free,
					      (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_MULTI);
	if (!sys)
		fprintf(stderr, "snag: this kernel has no sys_enter/sys_exit tracepoints (tp_btf); "
				"mmap(2) allocations are not traced\n");
	skel->rodata->track_mmap = sys;
	bpf_program__set_autoload(skel->progs.handle_mem_sys_enter, sys);
	bpf_program__set_autoload(skel->progs.handle_mem_sys_exit, sys);
	bpf_program__set_autoload(skel->progs.handle_mem_sched_process_exec,
				  wait_exec &&
				      bpfutil__btf_has_tracepoint(btf_path, "sched_process_exec"));
}

struct mem_collector *mem__new(const struct mem_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct mem_collector *m = calloc(1, sizeof(*m));
	bool wait_exec = o->command_path != NULL;
	int err = 0;

	if (!m)
		return NULL;
	if (!o->n_pids) {
		err = -EINVAL;
		snag_set_error(
		    "--mem needs -p PID or -c CMD: it probes the allocator in the target's "
		    "libc");
		goto fail;
	}
	if (!uprobe_multi__supported()) {
		err = -ENOTSUP;
		snag_set_error(
		    "--mem needs uprobe_multi links (Linux 6.6 or later); this kernel has "
		    "none");
		goto fail;
	}
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0) {
		err = m->ncpus < 0 ? m->ncpus : -EINVAL;
		snag_set_error("cannot count the possible CPUs: %s", strerror(-err));
		goto fail;
	}
	m->sample_every = o->sample_every ? o->sample_every : 1;
	m->gen = wait_exec ? 1 : 0;
	m->proc_root = o->proc_root;
	m->procs = calloc(o->n_pids, sizeof(*m->procs));
	m->pids = malloc(o->n_pids * sizeof(*m->pids));
	if (!m->procs || !m->pids) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < o->n_pids; i++) {
		m->procs[i].pid = o->pids[i];
		m->pids[i] = o->pids[i];
	}
	m->n_procs = m->n_pids = o->n_pids;
	err = find_points(m, o);
	if (err)
		goto fail;
	m->skel = mem_bpf__open_opts(&open_opts);
	if (!m->skel) {
		err = -errno;
		snag_set_error("cannot open the memory BPF object: %s", strerror(-err));
		goto fail;
	}
	m->skel->rodata->sample_every = m->sample_every;
	m->skel->rodata->self_tgid = (__u32)getpid();
	m->skel->rodata->wait_exec = wait_exec;
	if (o->n_pids == 1)
		m->skel->rodata->filter_tgid = (__u32)o->pids[0];
	else
		m->skel->rodata->filter_by_map = true;
	err = bpf_map__set_max_entries(m->skel->maps.live, MEM_MAX_LIVE);
	if (err) {
		snag_set_error("cannot size the memory maps: %s", strerror(-err));
		goto fail;
	}
	select_programs(m, o->btf_path, wait_exec);
	return m;
fail:
	mem__free(m);
	errno = -err;
	return NULL;
}

int mem__load(struct mem_collector *m)
{
	int err = mem_bpf__load(m->skel);

	if (err) {
		snag_set_error("cannot load the memory BPF programs into the kernel: %s "
			       "(run with SNAG_DEBUG=1 for the verifier log)",
			       strerror(-err));
		return err;
	}
	if (m->n_pids > 1)
		return bpfutil__fill_targets(bpf_map__fd(m->skel->maps.targets), m->pids,
					     m->n_pids);
	return 0;
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct mem_collector *m = ctx;
	const struct snag_mem_event *e = data;
	int *np;

	if (len < sizeof(*e))
		return 0;
	for (size_t i = 0; i < m->n_new_pids; i++)
		if (m->new_pids[i] == (int)e->tgid)
			return 0;
	if (m->n_new_pids == m->cap_new_pids) {
		size_t cap = m->cap_new_pids ? m->cap_new_pids * 2 : 8;

		np = realloc(m->new_pids, cap * sizeof(*np));
		if (!np)
			return 0; /* its stacks may show module+offset */
		m->new_pids = np;
		m->cap_new_pids = cap;
	}
	m->new_pids[m->n_new_pids++] = (int)e->tgid;
	return 0;
}

static void set_attach_error(const struct mem_point *p, const char *what, int err)
{
	if (p->pid > 0 && kill(p->pid, 0) && errno == ESRCH)
		snag_set_error("cannot attach to %s: process %d exited", p->attach_path, p->pid);
	else
		snag_set_error("cannot attach %s in %s of process %d: %s", what, p->attach_path,
			       p->pid, strerror(-err));
}

static int add_link(struct mem_collector *m, int fd, const struct mem_point *p, const char *what)
{
	if (fd < 0) {
		set_attach_error(p, what, fd);
		return fd;
	}
	m->link_fds[m->n_link_fds++] = fd;
	return 0;
}

/* The links for all points sharing points[first]'s file and pid. */
static int attach_group(struct mem_collector *m, size_t first, bool *done)
{
	const struct mem_point *p0 = &m->points[first];
	uint64_t offs[SNAG_MEM_FUNC__COUNT], cookies[SNAG_MEM_FUNC__COUNT], free_off = 0;
	uint64_t free_cookie = SNAG_MEM_FREE;
	size_t n = 0;
	bool have_free = false;
	struct mem_bpf *skel = m->skel;
	int err;

	for (size_t i = first; i < m->n_points; i++) {
		const struct mem_point *p = &m->points[i];

		if (done[i] || p->pid != p0->pid || strcmp(p->attach_path, p0->attach_path))
			continue;
		done[i] = true;
		if (p->func == SNAG_MEM_FREE) {
			free_off = p->offset;
			have_free = true;
		} else if (n < SNAG_MEM_FUNC__COUNT) {
			offs[n] = p->offset;
			cookies[n++] = p->func;
		}
	}
	/* Frees first: a block recorded before its free's probe is in would outlive its free. */
	if (have_free) {
		err = add_link(m,
			       uprobe_multi__attach(bpf_program__fd(skel->progs.handle_free),
						    p0->attach_path, p0->pid, &free_off,
						    &free_cookie, 1, false),
			       p0, "the free() probe");
		if (err)
			return err;
	}
	if (!n)
		return 0;
	if (m->session)
		return add_link(
		    m,
		    uprobe_multi__attach_session(bpf_program__fd(skel->progs.handle_alloc_session),
						 p0->attach_path, p0->pid, offs, cookies, n),
		    p0, "the allocator probes");
	/* Return probes first, so no recorded call misses its return. */
	err = add_link(m,
		       uprobe_multi__attach(bpf_program__fd(skel->progs.handle_alloc_return),
					    p0->attach_path, p0->pid, offs, cookies, n, true),
		       p0, "the allocator return probes");
	return err
		   ?: add_link(m,
			       uprobe_multi__attach(bpf_program__fd(skel->progs.handle_alloc_entry),
						    p0->attach_path, p0->pid, offs, cookies, n,
						    false),
			       p0, "the allocator probes");
}

static void detach_all(struct mem_collector *m)
{
	for (size_t i = 0; i < m->n_link_fds; i++)
		close(m->link_fds[i]);
	m->n_link_fds = 0;
	for (size_t i = 0; i < sizeof(m->tp_links) / sizeof(m->tp_links[0]); i++) {
		bpf_link__destroy(m->tp_links[i]);
		m->tp_links[i] = NULL;
	}
}

static int attach_tracepoints(struct mem_collector *m)
{
	struct bpf_program *progs[] = {m->skel->progs.handle_mem_sched_process_exec,
				       m->skel->progs.handle_mem_sys_enter,
				       m->skel->progs.handle_mem_sys_exit};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		m->tp_links[i] = bpf_program__attach(progs[i]);
		if (!m->tp_links[i]) {
			int err = -errno;

			snag_set_error("cannot attach %s: %s", bpf_program__name(progs[i]),
				       strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Read every process's fault counts now: the base of the first interval's deltas. */
static void read_bases(struct mem_collector *m)
{
	for (size_t i = 0; i < m->n_procs; i++) {
		struct mem_proc *p = &m->procs[i];
		struct procmem_sample s;

		if (procmem__read(m->proc_root, p->pid, &s))
			continue;
		if (!m->gen) /* -c: not exec'd yet, still snag's name */
			memcpy(p->comm, s.comm, sizeof(p->comm));
		p->have_base = true;
		p->base_min = s.minor_faults;
		p->base_maj = s.major_faults;
	}
}

int mem__attach(struct mem_collector *m)
{
	bool *done = calloc(m->n_points + 1, sizeof(*done));
	int err = 0;

	m->link_fds = calloc(m->n_points * 2 + 1, sizeof(*m->link_fds));
	if (!done || !m->link_fds) {
		free(done);
		return -ENOMEM;
	}
	m->events = ring_buffer__new(bpf_map__fd(m->skel->maps.mem_events), handle_event, m, NULL);
	if (!m->events) {
		err = -errno;
		snag_set_error("cannot open the memory event ring buffer: %s", strerror(-err));
		goto out;
	}
	/* The exec hook first: the -c command must not exec before it is in. */
	err = attach_tracepoints(m);
	for (size_t i = 0; !err && i < m->n_points; i++)
		if (!done[i])
			err = attach_group(m, i, done);
	if (!err)
		read_bases(m);
out:
	if (err)
		detach_all(m);
	free(done);
	return err;
}

int mem__event_fd(struct mem_collector *m)
{
	return m->events ? ring_buffer__epoll_fd(m->events) : -1;
}

int mem__poll(struct mem_collector *m, struct symbolizer *sym)
{
	int n, err = 0;

	if (!m->events)
		return 0;
	n = ring_buffer__consume(m->events);
	if (n < 0)
		return n;
	/* One refresh per process for a batch of new stacks: reading maps costs more than a few. */
	for (size_t i = 0; i < m->n_new_pids && sym; i++) {
		int e = symbolizer__refresh(sym, m->new_pids[i], m->gen);

		if (e == -ENOMEM)
			err = e;
	}
	m->n_new_pids = 0;
	return err;
}

/* ---- Reading the rows ---- */

#define ROW_BATCH 256

/* Call fn(m, key, val, ctx) for every row. Returns 0, fn's first error, or -errno. */
static int for_each_row(struct mem_collector *m,
			int (*fn)(struct mem_collector *m, const struct snag_mem_key *k,
				  const struct snag_mem_val *v, void *ctx),
			void *ctx)
{
	int fd = bpf_map__fd(m->skel->maps.rows);
	struct snag_mem_key *keys = calloc(ROW_BATCH, sizeof(*keys));
	struct snag_mem_val *vals = calloc(ROW_BATCH, sizeof(*vals));
	struct snag_mem_key token;
	bool first = true, done = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done && !err) {
		__u32 n = ROW_BATCH;

		if (bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &n, NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true; /* the last batch (n may still hold entries) */
		}
		first = false;
		for (__u32 i = 0; i < n && !err; i++)
			err = fn(m, &keys[i], &vals[i], ctx);
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int cmp_key(const struct snag_mem_key *a, const struct snag_mem_key *b)
{
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->source != b->source)
		return a->source < b->source ? -1 : 1;
	if (a->stack != b->stack)
		return a->stack < b->stack ? -1 : 1;
	return 0;
}

static int cmp_series(const void *a, const void *b)
{
	return cmp_key(&((const struct mem_series *)a)->key, &((const struct mem_series *)b)->key);
}

static struct mem_series *find_series(struct mem_collector *m, const struct snag_mem_key *k)
{
	size_t lo = 0, hi = m->n_series;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(&m->series[mid].key, k);

		if (!c)
			return &m->series[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A row's outstanding bytes, scaled by the sample rate. */
static int64_t scaled_outstanding(const struct mem_collector *m, const struct snag_mem_val *v)
{
	return v->outstanding_bytes * (int64_t)m->sample_every;
}

/* Candidates for the followed set found during one read. */
struct candidate {
	struct snag_mem_key key;
	int64_t bytes;
};

struct admit_ctx {
	struct candidate *c;
	size_t n, cap;
};

/* Record a followed row's value at the current sample; remember others as candidates. */
static int sample_row(struct mem_collector *m, const struct snag_mem_key *k,
		      const struct snag_mem_val *v, void *ctx)
{
	struct admit_ctx *a = ctx;
	struct mem_series *s = find_series(m, k);
	int64_t out = scaled_outstanding(m, v);

	if (s) {
		s->vals[m->n_samples] = out;
		s->last = out;
		return 0;
	}
	if (out <= 0)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct candidate *nc = realloc(a->c, cap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		a->c = nc;
		a->cap = cap;
	}
	a->c[a->n].key = *k;
	a->c[a->n++].bytes = out;
	return 0;
}

/* Make room for one more sample in every series. Returns 0 or -ENOMEM. */
static int grow_samples(struct mem_collector *m)
{
	size_t cap = m->cap_samples ? m->cap_samples * 2 : 64;

	if (m->n_samples < m->cap_samples)
		return 0;
	for (size_t i = 0; i < m->n_series; i++) {
		int64_t *v = realloc(m->series[i].vals, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->series[i].vals = v;
	}
	for (size_t i = 0; i < m->n_procs; i++) {
		int64_t **arr[] = {&m->procs[i].rss, &m->procs[i].minflt, &m->procs[i].majflt};

		for (size_t k = 0; k < 3; k++) {
			int64_t *v = realloc(*arr[k], cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			*arr[k] = v;
		}
	}
	m->cap_samples = cap;
	return 0;
}

/* Index of the followed series with the fewest outstanding bytes now. */
static size_t smallest_series(const struct mem_collector *m)
{
	size_t min = 0;

	for (size_t i = 1; i < m->n_series; i++)
		if (m->series[i].last < m->series[min].last)
			min = i;
	return min;
}

/*
 * Follow the largest candidates: while there is room, or when one holds more
 * than twice the bytes of the smallest followed stack (hysteresis, so stacks
 * of similar size do not take turns and keep no history). A series starts with
 * REPORT_SERIES_NONE for the samples before it was followed.
 */
static int cmp_candidate(const void *a, const void *b)
{
	int64_t x = ((const struct candidate *)a)->bytes, y = ((const struct candidate *)b)->bytes;

	return x > y ? -1 : x < y;
}

static int admit(struct mem_collector *m, struct admit_ctx *a)
{
	bool changed = false;

	if (!a->n)
		return 0;
	qsort(a->c, a->n, sizeof(*a->c), cmp_candidate);
	for (size_t c = 0; c < a->n; c++) {
		struct mem_series *s;

		if (m->n_series < MEM_MAX_SERIES) {
			struct mem_series *ns = realloc(m->series, (m->n_series + 1) * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			m->series = ns;
			s = &m->series[m->n_series];
			s->vals = malloc(m->cap_samples * sizeof(*s->vals));
			if (!s->vals)
				return -ENOMEM;
			m->n_series++;
		} else {
			s = &m->series[smallest_series(m)];
			if (a->c[c].bytes <= 2 * s->last)
				break; /* the rest are smaller still */
		}
		s->key = a->c[c].key;
		for (size_t i = 0; i < m->n_samples; i++)
			s->vals[i] = REPORT_SERIES_NONE;
		s->vals[m->n_samples] = a->c[c].bytes;
		s->last = a->c[c].bytes;
		changed = true;
	}
	if (changed)
		qsort(m->series, m->n_series, sizeof(*m->series), cmp_series);
	return 0;
}

static void sample_procs(struct mem_collector *m)
{
	size_t i = m->n_samples;

	for (size_t p = 0; p < m->n_procs; p++) {
		struct mem_proc *mp = &m->procs[p];
		struct procmem_sample s;

		mp->rss[i] = mp->minflt[i] = mp->majflt[i] = REPORT_SERIES_NONE;
		if (procmem__read(m->proc_root, mp->pid, &s))
			continue;
		memcpy(mp->comm, s.comm, sizeof(mp->comm));
		if (s.has_memory) {
			mp->rss[i] = (int64_t)s.rss_bytes;
			if (s.rss_bytes > mp->peak)
				mp->peak = s.rss_bytes;
			if (s.hwm_bytes)
				mp->hwm = s.hwm_bytes;
		}
		/* Counts since the process started; without a base (it appeared late), from 0. */
		if (mp->have_base && s.minor_faults >= mp->base_min &&
		    s.major_faults >= mp->base_maj) {
			mp->minflt[i] = (int64_t)(s.minor_faults - mp->base_min);
			mp->majflt[i] = (int64_t)(s.major_faults - mp->base_maj);
			mp->min_total += s.minor_faults - mp->base_min;
			mp->maj_total += s.major_faults - mp->base_maj;
		}
		mp->have_base = true;
		mp->base_min = s.minor_faults;
		mp->base_maj = s.major_faults;
	}
}

int mem__sample(struct mem_collector *m)
{
	struct admit_ctx a = {0};
	int err = grow_samples(m);

	for (size_t i = 0; !err && i < m->n_series; i++)
		m->series[i].vals[m->n_samples] = m->series[i].last;
	err = err ?: for_each_row(m, sample_row, &a);
	err = err ?: admit(m, &a);
	free(a.c);
	if (err)
		return err;
	sample_procs(m);
	m->n_samples++;
	return 0;
}

/* ---- The report ---- */

struct collect_ctx {
	struct report *r;
	struct symbolizer *sym;
	struct snag_mem_stack *stack;
};

static const struct mem_proc *find_proc(const struct mem_collector *m, int pid)
{
	for (size_t i = 0; i < m->n_procs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

static int set_stack(struct mem_collector *m, struct collect_ctx *c, struct report_allocation *a,
		     const struct snag_mem_key *k)
{
	const char *names[SNAG_STACK_DEPTH];
	size_t n;

	if (!k->stack ||
	    bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.stacks), &k->stack, c->stack))
		return 0;
	n = c->stack->len > 0 ? (size_t)c->stack->len / sizeof(__u64) : 0;
	if (n > SNAG_STACK_DEPTH)
		n = SNAG_STACK_DEPTH;
	for (size_t i = 0; i < n; i++)
		names[i] = symbolizer__user(c->sym, (int)k->tgid, m->gen, c->stack->ips[i]);
	return report_stack__set(&a->stack, names, n, n == SNAG_STACK_DEPTH);
}

static int add_row(struct mem_collector *m, const struct snag_mem_key *k,
		   const struct snag_mem_val *v, void *ctx)
{
	struct collect_ctx *c = ctx;
	const struct mem_proc *p = find_proc(m, (int)k->tgid);
	const struct mem_series *s = find_series(m, k);
	uint64_t n = m->sample_every;
	struct report_allocation *a;

	if (!v->allocs && !v->frees)
		return 0;
	a = report__add_allocation(c->r, (int)k->tgid, p && p->comm[0] ? p->comm : NULL,
				   k->source == SNAG_MEM_SRC_MMAP ? "mmap" : "heap");
	if (!a)
		return -ENOMEM;
	a->outstanding_bytes = v->outstanding_bytes * (int64_t)n;
	a->outstanding_count = v->outstanding_count * (int64_t)n;
	a->total_allocs = v->allocs * n;
	a->total_bytes = v->bytes * n;
	a->freed_allocs = v->frees * n;
	a->freed_bytes = v->freed_bytes * n;
	a->lifetime_ns = v->lifetime_ns * n;
	a->untracked_allocs = v->untracked * n;
	if (s && c->r->n_intervals) {
		a->series = malloc(c->r->n_intervals * sizeof(*a->series));
		if (!a->series)
			return -ENOMEM;
		a->n_series = c->r->n_intervals;
		for (size_t i = 0; i < a->n_series; i++)
			a->series[i] = i < m->n_samples ? s->vals[i] : REPORT_SERIES_NONE;
	}
	return set_stack(m, c, a, k);
}

static int add_memory(struct mem_collector *m, struct report *r)
{
	for (size_t p = 0; p < m->n_procs; p++) {
		const struct mem_proc *mp = &m->procs[p];
		struct report_memory *rm =
		    report__add_memory(r, mp->pid, mp->comm[0] ? mp->comm : NULL, r->n_intervals);

		if (!rm)
			return -ENOMEM;
		for (size_t i = 0; i < rm->n && i < m->n_samples; i++) {
			rm->rss_bytes[i] = mp->rss[i];
			rm->minor_faults[i] = mp->minflt[i];
			rm->major_faults[i] = mp->majflt[i];
		}
		rm->peak_rss_bytes = mp->peak;
		rm->hwm_rss_bytes = mp->hwm;
		rm->minor_faults_total = mp->min_total;
		rm->major_faults_total = mp->maj_total;
	}
	return 0;
}

static int add_counters(struct mem_collector *m, struct report *r)
{
	struct snag_mem_counters *percpu = calloc(m->ncpus, sizeof(*percpu)), sum = {0};
	__u32 zero = 0;
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.mem_counters), &zero, percpu))
		err = -errno;
	for (int c = 0; !err && c < m->ncpus; c++) {
		for (int d = 0; d < SNAG_MDROP__COUNT; d++)
			sum.drops[d] += percpu[c].drops[d];
		for (int f = 0; f < SNAG_MEM_FUNC__COUNT; f++)
			sum.calls[f] += percpu[c].calls[f];
		sum.untracked_frees += percpu[c].untracked_frees;
	}
	free(percpu);
	for (int d = 0; !err && d < SNAG_MDROP__COUNT; d++)
		err = report__add_drop(r, drop_names[d], sum.drops[d]);
	for (int f = 0; f < SNAG_MEM_FUNC__COUNT; f++)
		r->mem_calls[f] = sum.calls[f];
	r->mem_untracked_frees = sum.untracked_frees;
	return err;
}

int mem__collect(struct mem_collector *m, struct symbolizer *sym, struct report *r, bool with_stats)
{
	struct collect_ctx c = {.r = r, .sym = sym, .stack = malloc(sizeof(*c.stack))};
	int err;

	if (!c.stack)
		return -ENOMEM;
	/* Events still queued name processes whose stacks are about to be named. */
	err = mem__poll(m, sym);
	r->mem_enabled = true;
	r->mem_sample = m->sample_every;
	err = err ?: for_each_row(m, add_row, &c);
	err = err ?: add_memory(m, r);
	err = err ?: add_counters(m, r);
	if (!err && with_stats)
		err = bpfutil__add_prog_stats(m->skel->obj, r);
	free(c.stack);
	return err;
}

void mem__free(struct mem_collector *m)
{
	if (!m)
		return;
	detach_all(m);
	ring_buffer__free(m->events);
	mem_bpf__destroy(m->skel);
	free_points(m);
	free(m->link_fds);
	free(m->new_pids);
	free(m->pids);
	for (size_t i = 0; i < m->n_procs; i++) {
		free(m->procs[i].rss);
		free(m->procs[i].minflt);
		free(m->procs[i].majflt);
	}
	free(m->procs);
	for (size_t i = 0; i < m->n_series; i++)
		free(m->series[i].vals);
	free(m->series);
	free(m);
}
