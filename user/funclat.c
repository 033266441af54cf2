/* Function-latency collector: loads the funclat BPF programs, attaches them to probe points, reads
 * their maps. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "errors.h"
#include "funclat.h"
#include "funclat.skel.h"
#include "uprobe_multi.h"

#define DEFAULT_MAX_THREADS 16384

struct funclat {
	struct funclat_bpf *skel;
	uint32_t n_funcs;
	int ncpus;
	bool multi;    /* uprobe_multi links (else one perf-event uprobe per probe) */
	int *link_fds; /* uprobe_multi links */
	size_t n_link_fds;
	struct bpf_link **links; /* perf-event uprobes */
	size_t n_links;
	struct bpf_link *exit_link;
	struct snag_func_stats *percpu; /* scratch for one function's per-CPU values */
	uint64_t start_ns;
};

static const char *const drop_names[SNAG_DROP__COUNT] = {
    [SNAG_DROP_DEPTH] = "nesting_too_deep",
    [SNAG_DROP_UNMATCHED_RETURN] = "unmatched_return",
    [SNAG_DROP_LOST_RETURN] = "lost_return",
    [SNAG_DROP_NO_STORAGE] = "no_thread_storage",
    [SNAG_DROP_THREADS_FULL] = "thread_table_full",
};

const char *funclat__drop_name(enum snag_drop d)
{
	return d < SNAG_DROP__COUNT ? drop_names[d] : "unknown";
}

struct funclat *funclat__new(const struct funclat_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct funclat *fl;
	bool tp_btf;
	int err;

	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return NULL;
	fl->n_funcs = o->n_funcs ? o->n_funcs : 1;
	fl->ncpus = libbpf_num_possible_cpus();
	if (fl->ncpus <= 0) {
		err = fl->ncpus ? fl->ncpus : -EINVAL;
		snag_set_error("cannot count possible CPUs: %s", strerror(-err));
		goto fail;
	}
	fl->percpu = calloc(fl->ncpus, sizeof(*fl->percpu));
	if (!fl->percpu) {
		err = -ENOMEM;
		snag_set_error("out of memory");
		goto fail;
	}
	fl->skel = funclat_bpf__open_opts(&open_opts);
	if (!fl->skel) {
		err = -errno;
		snag_set_error("cannot open the funclat BPF object: %s", strerror(-err));
		goto fail;
	}
	err = bpf_map__set_max_entries(fl->skel->maps.func_stats, fl->n_funcs);
	if (!err)
		err =
		    bpf_map__set_max_entries(fl->skel->maps.live_threads,
					     o->max_threads ? o->max_threads : DEFAULT_MAX_THREADS);
	if (err) {
		snag_set_error("cannot size the funclat maps: %s", strerror(-err));
		goto fail;
	}
	fl->multi = uprobe_multi__supported();
	if (fl->multi) {
		bpf_program__set_expected_attach_type(
		    fl->skel->progs.handle_uprobe,
		    (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(
		    fl->skel->progs.handle_uretprobe,
		    (enum bpf_attach_type)SNAG_BPF_TRACE_UPROBE_MULTI);
	}
	tp_btf = bpfutil__btf_has_tracepoint(o->btf_path, "sched_process_exit");
	bpf_program__set_autoload(fl->skel->progs.handle_sched_process_exit, tp_btf);
	bpf_program__set_autoload(fl->skel->progs.handle_sched_process_exit_raw, !tp_btf);
	return fl;
fail:
	funclat__free(fl);
	errno = -err;
	return NULL;
}

int funclat__load(struct funclat *fl)
{
	int err = funclat_bpf__load(fl->skel);

	if (err) {
		snag_set_error("cannot load the funclat BPF programs into the kernel: %s "
			       "(run with SNAG_DEBUG=1 for the verifier log)",
			       strerror(-err));
		return err;
	}
	return 0;
}

static void set_attach_error(const struct probe_point *p, const char *what, int err)
{
	if (p->pid > 0 && kill(p->pid, 0) && errno == ESRCH)
		snag_set_error("cannot attach to %s: process %d exited", p->binary, p->pid);
	else
		snag_set_error("cannot attach %s in %s%s: %s", what, p->binary,
			       p->pid > 0 ? " of that process" : "", strerror(-err));
}

static int attach_perf(struct funclat *fl, const struct probe_point *p, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = p->func_id, .retprobe = ret);
	struct bpf_program *prog =
	    ret ? fl->skel->progs.handle_uretprobe : fl->skel->progs.handle_uprobe;
	struct bpf_link *link;

	link = bpf_program__attach_uprobe_opts(prog, p->pid, p->attach_path, p->offset, &opts);
	if (!link) {
		int err = -errno;
		char what[300];

		snprintf(what, sizeof(what), "%s to '%s' (offset 0x%llx)",
			 ret ? "a uretprobe" : "a uprobe", p->name, (unsigned long long)p->offset);
		set_attach_error(p, what, err);
		return err;
	}
	fl->links[fl->n_links++] = link;
	return 0;
}

/* One entry and one return link for all points sharing points[first]'s file and pid. */
static int attach_multi_group(struct funclat *fl, const struct probe_set *ps, size_t first,
			      bool *done)
{
	const struct probe_point *p0 = &ps->points[first];
	uint64_t *offsets = calloc(ps->n_points, sizeof(*offsets));
	uint64_t *cookies = calloc(ps->n_points, sizeof(*cookies));
	size_t cnt = 0;
	int err = 0;

	if (!offsets || !cookies) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = first; i < ps->n_points; i++) {
		const struct probe_point *p = &ps->points[i];

		if (done[i] || p->pid != p0->pid || strcmp(p->attach_path, p0->attach_path))
			continue;
		done[i] = true;
		offsets[cnt] = p->offset;
		cookies[cnt] = p->func_id;
		cnt++;
	}
	/* Return probes first: an entry seen without its return probe would leave a stale frame. */
	for (int ret = 1; ret >= 0; ret--) {
		struct bpf_program *prog =
		    ret ? fl->skel->progs.handle_uretprobe : fl->skel->progs.handle_uprobe;
		int fd = uprobe_multi__attach(bpf_program__fd(prog), p0->attach_path, p0->pid,
					      offsets, cookies, cnt, ret);

		if (fd < 0) {
			err = fd;
			set_attach_error(p0, ret ? "return probes" : "entry probes", err);
			goto cleanup;
		}
		fl->link_fds[fl->n_link_fds++] = fd;
	}
cleanup:
	free(offsets);
	free(cookies);
	return err;
}

static void detach_all(struct funclat *fl)
{
	for (size_t i = 0; i < fl->n_link_fds; i++)
		close(fl->link_fds[i]);
	fl->n_link_fds = 0;
	for (size_t i = 0; i < fl->n_links; i++)
		bpf_link__destroy(fl->links[i]);
	fl->n_links = 0;
	bpf_link__destroy(fl->exit_link);
	fl->exit_link = NULL;
}

int funclat__attach(struct funclat *fl, const struct probe_set *ps)
{
	struct bpf_program *exit_prog =
	    bpf_program__autoload(fl->skel->progs.handle_sched_process_exit)
		? fl->skel->progs.handle_sched_process_exit
		: fl->skel->progs.handle_sched_process_exit_raw;
	bool *done = NULL;
	int err = 0;

	fl->links = calloc(ps->n_points * 2 + 1, sizeof(*fl->links));
	fl->link_fds = calloc(ps->n_points * 2 + 1, sizeof(*fl->link_fds));
	done = calloc(ps->n_points + 1, sizeof(*done));
	if (!fl->links || !fl->link_fds || !done) {
		err = -ENOMEM;
		goto cleanup;
	}
	fl->start_ns = bpfutil__monotonic_ns();
	fl->skel->bss->trace_start_ns = fl->start_ns;
	fl->exit_link = bpf_program__attach(exit_prog);
	if (!fl->exit_link) {
		err = -errno;
		snag_set_error("cannot attach to sched_process_exit: %s", strerror(-err));
		goto cleanup;
	}
	for (size_t i = 0; i < ps->n_points && !err; i++) {
		if (fl->multi) {
			if (!done[i])
				err = attach_multi_group(fl, ps, i, done);
			continue;
		}
		/* Return probe first, as in attach_multi_group(). */
		err = attach_perf(fl, &ps->points[i], true);
		if (!err)
			err = attach_perf(fl, &ps->points[i], false);
	}
cleanup:
	if (err)
		detach_all(fl);
	free(done);
	return err;
}

uint64_t funclat__start_ns(const struct funclat *fl)
{
	return fl->start_ns;
}

static void add_stats(struct funclat_func *dst, const struct snag_func_stats *src)
{
	dst->total_ns += src->total_ns;
	dst->inside_ns += src->total_ns - src->recursive_ns;
	if (src->min_ns && (!dst->min_ns || src->min_ns < dst->min_ns))
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (size_t b = 0; b < SNAG_HIST_BUCKETS; b++) {
		dst->hist[b] += src->hist[b];
		dst->count += src->hist[b];
	}
}

int funclat__read(struct funclat *fl, struct funclat_func *out)
{
	int fd = bpf_map__fd(fl->skel->maps.func_stats);

	for (uint32_t id = 0; id < fl->n_funcs; id++) {
		memset(&out[id], 0, sizeof(out[id]));
		if (bpf_map_lookup_elem(fd, &id, fl->percpu))
			return -errno;
		for (int c = 0; c < fl->ncpus; c++)
			add_stats(&out[id], &fl->percpu[c]);
	}
	return 0;
}

int funclat__read_counters(struct funclat *fl, struct snag_counters *out)
{
	struct snag_counters percpu[fl->ncpus];
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(fl->skel->maps.counters), &zero, percpu))
		return -errno;
	for (int c = 0; c < fl->ncpus; c++) {
		for (int d = 0; d < SNAG_DROP__COUNT; d++)
			out->drops[d] += percpu[c].drops[d];
		out->exited_threads += percpu[c].exited_threads;
		out->exited_thread_ns += percpu[c].exited_thread_ns;
	}
	return 0;
}

int funclat__thread_time(struct funclat *fl, uint64_t now_ns, uint64_t *threads,
			 uint64_t *thread_ns)
{
	int fd = bpf_map__fd(fl->skel->maps.live_threads);
	struct snag_counters c;
	__u32 key, next, *prev = NULL;
	int err = funclat__read_counters(fl, &c);

	if (err)
		return err;
	*threads = c.exited_threads;
	*thread_ns = c.exited_thread_ns;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		__u64 start;

		if (!bpf_map_lookup_elem(fd, &next, &start)) {
			(*threads)++;
			if (now_ns > start)
				*thread_ns += now_ns - start;
		}
		key = next;
		prev = &key;
	}
	return 0;
}

int funclat__add_prog_stats(struct funclat *fl, struct report *r)
{
	return bpfutil__add_prog_stats(fl->skel->obj, r);
}

void funclat__free(struct funclat *fl)
{
	if (!fl)
		return;
	if (fl->skel)
		detach_all(fl);
	free(fl->links);
	free(fl->link_fds);
	funclat_bpf__destroy(fl->skel);
	free(fl->percpu);
	free(fl);
}
