/* Scheduler collector: loads sched.bpf.c, reads per-thread accounts and off-CPU stacks into the
 * report. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "errors.h"
#include "report.h"
#include "proc_series.h"
#include "sched.h"
#include "snag_abi.h" /* before the skeleton: its .bss holds struct snag_thread_hot */
#include "sched.skel.h"
#include "symbolizer.h"

struct sched_collector {
	struct sched_bpf *skel;
	struct ring_buffer *events;
	struct symbolizer *sym; /* for the event callback, set during sched__poll() */
	bool tp_btf;
	char *btf_path;	   /* to reopen the object (sched__load) */
	bool have_rseq_tp; /* the kernel has tp_btf/rseq_update */
	bool map_reads;	   /* intervals read the threads map, not hot[] (SNAG_FORCE_MAP_READ) */
	int ncpus;
	int *pids;	   /* -p pids for the targets map (more than one) */
	int *prefill_pids; /* processes whose threads get accounts before attaching */
	size_t n_prefill_pids;
	bool prefill_all; /* system-wide: every process's threads */
	bool kernel_threads;
	uint64_t
	    rebuilt_at_end; /* switch-outs rebuilt from /proc when the threads were collected */
	size_t n_pids;
	struct bpf_link *irq_links[6]; /* attach_irq_depth() */
};

/* The report's wait kinds are the kernel's, in the same order. */
_Static_assert((int)WAIT__COUNT == (int)SNAG_WAIT__COUNT &&
		   (int)WAIT_BLOCK_IO == (int)SNAG_WAIT_BLOCK_IO &&
		   (int)WAIT_NET == (int)SNAG_WAIT_NET && (int)WAIT_LOCK == (int)SNAG_WAIT_LOCK &&
		   (int)WAIT_SLEEP == (int)SNAG_WAIT_SLEEP &&
		   (int)WAIT_EVENTS == (int)SNAG_WAIT_EVENTS,
	       "enum wait_kind must mirror enum snag_wait");

static const char *const drop_names[SNAG_SDROP__COUNT] = {
    [SNAG_SDROP_THREADS_FULL] = "sched_thread_table_full",
    [SNAG_SDROP_OFFCPU_FULL] = "offcpu_table_full",
    [SNAG_SDROP_PENDING_FULL] = "pending_table_full",
    [SNAG_SDROP_STACK_BUSY] = "offcpu_stack_busy",
    [SNAG_SDROP_NO_USER_STACK] = "offcpu_no_user_stack",
    [SNAG_SDROP_EVENTS_LOST] = "process_events_lost",
    [SNAG_SDROP_MISSED_SWITCH_OUT] = "sched_missed_switch_out",
    [SNAG_SDROP_MISSED_SWITCH_IN] = "sched_missed_switch_in",
};

/*
 * The tp_btf programs and their raw_tp twins, in the same order. The interrupt
 * nesting programs are needed only where the preempt count cannot be found.
 */
static void select_programs(struct sched_bpf *skel, bool tp_btf)
{
	bool irq_hooks = tp_btf && !skel->rodata->preempt_count_known;
	struct bpf_program *btf_progs[] = {
	    skel->progs.handle_sched_switch,	   skel->progs.handle_sched_waking,
	    skel->progs.handle_sched_wakeup_new,   skel->progs.handle_sched_process_exit,
	    skel->progs.handle_sched_process_exec,
	};
	struct bpf_program *raw_progs[] = {
	    skel->progs.handle_sched_switch_raw,       skel->progs.handle_sched_waking_raw,
	    skel->progs.handle_sched_wakeup_new_raw,   skel->progs.handle_sched_process_exit_raw,
	    skel->progs.handle_sched_process_exec_raw,
	};

	/* Interrupt nesting, to tell interrupt wakeups from task ones: tp_btf only (no raw twins).
	 */
	struct bpf_program *irq_progs[] = {
	    skel->progs.handle_irq_handler_entry,    skel->progs.handle_irq_handler_exit,
	    skel->progs.handle_softirq_entry,	     skel->progs.handle_softirq_exit,
	    skel->progs.handle_hrtimer_expire_entry, skel->progs.handle_hrtimer_expire_exit,
	};

	for (size_t i = 0; i < sizeof(btf_progs) / sizeof(btf_progs[0]); i++) {
		bpf_program__set_autoload(btf_progs[i], tp_btf);
		bpf_program__set_autoload(raw_progs[i], !tp_btf);
	}
	for (size_t i = 0; i < sizeof(irq_progs) / sizeof(irq_progs[0]); i++)
		bpf_program__set_autoload(irq_progs[i], irq_hooks);
}

static struct sched_bpf *open_skel(const char *btf_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = btf_path);
	struct sched_bpf *skel = sched_bpf__open_opts(&open_opts);
	int err = errno;

	if (!skel) {
		snag_set_error("cannot open the sched BPF object: %s", strerror(err));
		errno = err;
	}
	return skel;
}

/* Take user stacks through rseq_update (if the kernel has it) or at switch-out. */
static void without_task_work(struct sched_bpf *skel, bool have_rseq_tp)
{
	skel->rodata->ustack_at_switch_out = true;
	skel->rodata->ustack_on_rseq = have_rseq_tp;
	bpf_program__set_autoload(skel->progs.handle_rseq_update, have_rseq_tp);
}

/*
 * The kernel refused the programs as built. The likely cause is the BPF task work that
 * takes user stacks (some 6.18 builds refuse its sleepable callback in a tracepoint
 * program), so open them again to take user stacks at each switch-out instead, with the
 * same settings. Returns 0, or a negative errno with the error set.
 */
static int reopen_without_task_work(struct sched_collector *sc)
{
	struct sched_bpf *skel = open_skel(sc->btf_path);

	if (!skel)
		return -errno;
	*skel->rodata = *sc->skel->rodata;
	select_programs(skel, sc->tp_btf);
	without_task_work(skel, sc->have_rseq_tp);
	sched_bpf__destroy(sc->skel);
	sc->skel = skel;
	return 0;
}

struct sched_collector *sched__new(const struct sched_opts *o)
{
	struct sched_collector *sc = calloc(1, sizeof(*sc));
	int err = 0;

	if (!sc)
		return NULL;
	if (o->btf_path && !(sc->btf_path = strdup(o->btf_path))) {
		err = -ENOMEM;
		goto fail;
	}
	sc->skel = open_skel(sc->btf_path);
	if (!sc->skel) {
		err = -errno;
		goto fail;
	}
	sc->skel->rodata->min_block_ns = o->min_block_ns;
	sc->skel->rodata->include_kthreads = o->kernel_threads;
	sc->skel->rodata->self_tgid = (__u32)getpid();
	sc->skel->rodata->cgroup_id = o->cgroup_id;
	sc->skel->rodata->cgroup_level = o->cgroup_level;
	sc->skel->rodata->wait_exec = o->wait_exec && o->n_pids == 1;
	if (o->n_pids == 1)
		sc->skel->rodata->filter_tgid = (__u32)o->pids[0];
	else if (o->n_pids > 1) {
		sc->skel->rodata->filter_by_map = true;
		sc->pids = malloc(o->n_pids * sizeof(*sc->pids));
		if (!sc->pids) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(sc->pids, o->pids, o->n_pids * sizeof(*sc->pids));
		sc->n_pids = o->n_pids;
	}
	if (o->n_pids) {
		sc->prefill_pids = malloc(o->n_pids * sizeof(*sc->prefill_pids));
		if (!sc->prefill_pids) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(sc->prefill_pids, o->pids, o->n_pids * sizeof(*sc->prefill_pids));
		sc->n_prefill_pids = o->n_pids;
	}
	sc->prefill_all = !o->n_pids && !o->cgroup_id;
	sc->kernel_threads = o->kernel_threads;
	/*
	 * Interrupt wakeups told from the preempt count where the BTF says where it is;
	 * SNAG_FORCE_IRQ_HOOKS=1 exercises the tracepoint fallback (for tests).
	 */
	if (!getenv("SNAG_FORCE_IRQ_HOOKS")) {
		int64_t delta;

		if (!bpfutil__preempt_count_from_rq(o->btf_path, &delta)) {
			sc->skel->rodata->preempt_count_known = true;
			sc->skel->rodata->preempt_count_from_rq = delta;
		}
	}
	/* SNAG_FORCE_RAW_TP=1 exercises the fallback on kernels that have tp_btf (for tests). */
	sc->tp_btf = !getenv("SNAG_FORCE_RAW_TP") &&
		     bpfutil__btf_has_tracepoint(o->btf_path, "sched_switch");
	select_programs(sc->skel, sc->tp_btf);
	sc->have_rseq_tp = sc->tp_btf && bpfutil__btf_has_tracepoint(sc->btf_path, "rseq_update");
	/* Only where task work is refused (reopen_without_task_work), or for tests:
	 * SNAG_FORCE_NO_TASK_WORK=1 exercises that on kernels that take it. */
	bpf_program__set_autoload(sc->skel->progs.handle_rseq_update, false);
	if (sc->tp_btf && getenv("SNAG_FORCE_NO_TASK_WORK"))
		without_task_work(sc->skel, sc->have_rseq_tp);
	/* SNAG_FORCE_MAP_READ=1: the intervals' fallback for when hot[] is full, for tests. */
	sc->map_reads = getenv("SNAG_FORCE_MAP_READ") != NULL;
	return sc;
fail:
	sched__free(sc);
	errno = -err;
	return NULL;
}

int sched__load(struct sched_collector *sc)
{
	int err = sched_bpf__load(sc->skel);

	if (err && sc->tp_btf && !sc->skel->rodata->ustack_at_switch_out) {
		err = reopen_without_task_work(sc);
		if (!err)
			err = sched_bpf__load(sc->skel);
	}
	if (err) {
		snag_set_error("cannot load the sched BPF programs into the kernel: %s "
			       "(run with SNAG_DEBUG=1 for the verifier log)",
			       strerror(-err));
		return err;
	}
	return bpfutil__fill_targets(bpf_map__fd(sc->skel->maps.targets), sc->pids, sc->n_pids);
}

static int handle_event(void *ctx, void *data, size_t len)
{
	struct sched_collector *sc = ctx;
	const struct snag_event *e = data;

	if (len < sizeof(*e) || !sc->sym)
		return 0;
	/*
	 * A process that is already gone cannot be snapshotted; its frames fall
	 * back to module+offset. A snapshot taken at exec predates the libraries
	 * the loader maps next, so a new stack refreshes it.
	 */
	if (e->type == SNAG_EV_STACK)
		symbolizer__refresh(sc->sym, (int)e->tgid, e->gen);
	else
		symbolizer__snapshot(sc->sym, (int)e->tgid, e->gen);
	return 0;
}

/*
 * A thread's account is made at its first event, from a small per-CPU cache
 * the kernel refills after the event (bpf_mem_alloc): one interrupt waking
 * hundreds of threads of a running service empties it, and each thread it
 * cannot hold went unaccounted (measured: 1,600 of 2,000 threads attached
 * with -p). So the threads already running get their accounts (and their
 * long-block slots) here, from a syscall, before anything attaches; the
 * kernel fills one in at the thread's first event. Best effort: whatever
 * does not fit is still counted by the kernel as it is lost.
 */
static bool insert_retry(int fd, const void *key, const void *val)
{
	for (int i = 0; i < 100; i++) {
		if (!bpf_map_update_elem(fd, key, val, BPF_NOEXIST) || errno == EEXIST)
			return true;
		if (errno != ENOMEM)
			return false; /* full (E2BIG) or refused */
		sched_yield();	      /* the cache refills from an interrupt */
	}
	return false;
}

struct prefill {
	int threads_fd, pending_fd;
	struct snag_thread th;
	void *pending; /* a zeroed value */
};

/* Accounts for every thread of tgid; false once the maps are full. */
static bool prefill_process(struct prefill *pf, int tgid)
{
	char path[64];
	struct dirent *e;
	bool ok = true;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", tgid);
	d = opendir(path);
	if (!d)
		return true; /* gone */
	pf->th.tgid = (__u32)tgid;
	while (ok && (e = readdir(d))) {
		__u32 tid = (__u32)strtoul(e->d_name, NULL, 10);

		if (tid)
			ok = insert_retry(pf->threads_fd, &tid, &pf->th) &&
			     insert_retry(pf->pending_fd, &tid, pf->pending);
	}
	closedir(d);
	return ok;
}

/* PF_KTHREAD in /proc/PID/stat's flags (the ninth field). */
static bool is_kernel_thread(int pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
	       (flags & 0x00200000);
}

static void prefill_threads(struct sched_collector *sc)
{
	struct prefill pf = {.threads_fd = bpf_map__fd(sc->skel->maps.threads),
			     .pending_fd = bpf_map__fd(sc->skel->maps.pending),
			     .th.state = SNAG_TS_NEW};
	bool ok = true;

	pf.pending = calloc(1, bpf_map__value_size(sc->skel->maps.pending));
	if (!pf.pending)
		return;
	for (size_t i = 0; ok && i < sc->n_prefill_pids; i++)
		ok = prefill_process(&pf, sc->prefill_pids[i]);
	if (sc->prefill_all) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		while (ok && d && (e = readdir(d))) {
			int pid = atoi(e->d_name);

			if (pid > 0 && pid != getpid() &&
			    (sc->kernel_threads || !is_kernel_thread(pid)))
				ok = prefill_process(&pf, pid);
		}
		if (d)
			closedir(d);
	}
	free(pf.pending);
}

/*
 * The interrupt nesting programs, every exit before any entry. Attached the
 * other way, an interrupt that entered between an entry's attach and its
 * exit's left its CPU's depth at 1 for the whole trace, and every wakeup on
 * that CPU then looked like one from an interrupt, with no waker. An exit
 * whose entry came before its attach is clamped at 0 (irq_enter_exit).
 */
static int attach_irq_depth(struct sched_collector *sc)
{
	struct bpf_program *order[] = {
	    sc->skel->progs.handle_irq_handler_exit,	sc->skel->progs.handle_softirq_exit,
	    sc->skel->progs.handle_hrtimer_expire_exit, sc->skel->progs.handle_irq_handler_entry,
	    sc->skel->progs.handle_softirq_entry,	sc->skel->progs.handle_hrtimer_expire_entry,
	};
	_Static_assert(sizeof(order) / sizeof(order[0]) ==
			   sizeof(sc->irq_links) / sizeof(sc->irq_links[0]),
		       "one link per interrupt nesting program");

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int err;

		if (!bpf_program__autoload(order[i]))
			continue;
		bpf_program__set_autoattach(order[i], false);
		sc->irq_links[i] = bpf_program__attach(order[i]);
		if (!sc->irq_links[i]) {
			err = -errno;
			snag_set_error("cannot attach %s: %s", bpf_program__name(order[i]),
				       strerror(-err));
			return err;
		}
	}
	return 0;
}

int sched__attach(struct sched_collector *sc, uint64_t trace_start_ns)
{
	int err;

	prefill_threads(sc);

	sc->skel->bss->trace_start_ns = trace_start_ns;
	sc->events = ring_buffer__new(bpf_map__fd(sc->skel->maps.events), handle_event, sc, NULL);
	if (!sc->events) {
		err = -errno;
		snag_set_error("cannot open the sched event ring buffer: %s", strerror(-err));
		return err;
	}
	err = attach_irq_depth(sc);
	if (err)
		return err;
	err = sched_bpf__attach(sc->skel);
	if (err) {
		snag_set_error("cannot attach the scheduler tracepoints: %s", strerror(-err));
		return err;
	}
	return 0;
}

int sched__event_fd(struct sched_collector *sc)
{
	return sc->events ? ring_buffer__epoll_fd(sc->events) : -1;
}

int sched__poll(struct sched_collector *sc, struct symbolizer *sym)
{
	int n;

	if (!sc->events)
		return 0;
	sc->sym = sym;
	n = ring_buffer__consume(sc->events);
	sc->sym = NULL;
	return n < 0 ? n : 0;
}

/* Close the interval a live thread is in at end_ns, as switch-in/out would have. */
static void close_open_interval(struct snag_thread *th, uint64_t end_ns)
{
	uint64_t since = th->last_ts;

	if (end_ns <= since)
		return;
	switch (th->state) {
	case SNAG_TS_ON:
		th->oncpu_ns += end_ns - since;
		break;
	case SNAG_TS_BLOCKED:
		th->offcpu_ns += end_ns - since;
		if (th->wakeup_ts > since) {
			th->blocked_ns += th->wakeup_ts - since;
			if (th->wait < SNAG_WAIT__COUNT)
				th->blocked_by[th->wait] += th->wakeup_ts - since;
			th->runq_ns += end_ns - th->wakeup_ts;
		} else {
			th->blocked_ns += end_ns - since;
			if (th->wait < SNAG_WAIT__COUNT)
				th->blocked_by[th->wait] += end_ns - since;
		}
		break;
	case SNAG_TS_PREEMPTED:
		th->offcpu_ns += end_ns - since;
		th->preempted_ns += end_ns - since;
		th->runq_ns += end_ns - since;
		break;
	default:
		break;
	}
}

/* Read "%" SCNu64 "..." formats from a /proc file; true if all n values were found. */
static bool proc_u64s(const char *path, const char *const keys[], uint64_t *vals, int n)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (found < n && fgets(line, sizeof(line), f))
		for (int i = 0; i < n; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    sscanf(line + strlen(keys[i]), "%" SCNu64, &vals[i]) == 1)
				found++;
	fclose(f);
	return found == n;
}

/*
 * A thread the accounts show on a CPU may have left it without a sched_switch
 * event (rebuild_switch_out() in bpf/sched.bpf.c rebuilds those at the next
 * event; at the end there is none). Its counters in /proc tell the same way:
 * it ran for the growth of its run time (schedstat) and left voluntarily if
 * its voluntary count grew. Rebuilds th (a copy) and returns true if so.
 */
static bool rebuild_switch_out_at_end(struct snag_thread *th, __u32 tid, uint64_t now_ns)
{
	static const char *const keys[] = {"voluntary_ctxt_switches:",
					   "nonvoluntary_ctxt_switches:"};
	static const char *const none[] = {""};
	char path[64];
	uint64_t sw[2], exec, out;
	bool voluntary;

	snprintf(path, sizeof(path), "/proc/%u/schedstat", tid);
	if (!proc_u64s(path, none, &exec, 1) || exec < th->exec_ns)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	if (!proc_u64s(path, keys, sw, 2) || sw[0] < th->nvcsw || sw[1] < th->nivcsw ||
	    sw[0] + sw[1] == th->nvcsw + th->nivcsw)
		return false;
	out = th->last_ts + (exec - th->exec_ns);
	if (out >= now_ns)
		return false;
	voluntary = sw[0] > th->nvcsw;
	th->oncpu_ns += out - th->last_ts;
	th->voluntary += sw[0] - th->nvcsw;
	th->involuntary += sw[1] - th->nivcsw;
	if (voluntary) {
		th->wait = SNAG_WAIT_OTHER; /* the thread's registers are not at hand here */
		th->blocks_by[SNAG_WAIT_OTHER] += sw[0] - th->nvcsw;
	}
	th->state = voluntary ? SNAG_TS_BLOCKED : SNAG_TS_PREEMPTED;
	th->last_ts = out;
	th->wakeup_ts = 0;
	return true;
}

/* Close a copy of tid's account at now_ns; counts a rebuilt switch-out in *rebuilt if given. */
static void close_thread(struct snag_thread *th, __u32 tid, uint64_t now_ns, uint64_t *rebuilt)
{
	if (th->state == SNAG_TS_ON && rebuild_switch_out_at_end(th, tid, now_ns) && rebuilt)
		(*rebuilt)++;
	close_open_interval(th, now_ns);
}

/* Threads read per batch: big values (two histograms), so a modest buffer. */
#define READ_BATCH 64

/*
 * Call fn(ctx, tid, th) for every thread account, read in batches (a few
 * syscalls for thousands of threads), with its open interval closed at now_ns
 * in the copy fn gets. Returns 0, fn's first error, or -errno.
 */
static int for_each_thread(struct sched_collector *sc, uint64_t now_ns,
			   int (*fn)(void *ctx, __u32 tid, const struct snag_thread *th), void *ctx)
{
	int fd = bpf_map__fd(sc->skel->maps.threads);
	struct snag_thread *vals = malloc(READ_BATCH * sizeof(*vals));
	__u32 keys[READ_BATCH], token = 0;
	bool first = true, done = false;
	int err = 0;

	if (!vals)
		return -ENOMEM;
	while (!done && !err) {
		__u32 n = READ_BATCH;

		if (bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &n, NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true; /* the last batch (n may still hold entries) */
		}
		first = false;
		for (__u32 i = 0; i < n && !err; i++) {
			if (vals[i].state == SNAG_TS_NEW)
				continue; /* made before the trace, not seen since */
			close_thread(&vals[i], keys[i], now_ns, NULL);
			err = fn(ctx, keys[i], &vals[i]);
		}
	}
	free(vals);
	return err;
}

static int add_proc_totals(void *ctx, __u32 tid, const struct snag_thread *th)
{
	struct report_interval_proc *row = proc_table__row(ctx, (int)th->tgid);

	(void)tid;
	if (!row)
		return -ENOMEM;
	row->oncpu_ns += th->oncpu_ns;
	row->runq_ns += th->runq_ns;
	row->blocked_ns += th->blocked_ns;
	return 0;
}

/*
 * The same per-process totals from the hot[] copies the BPF programs keep in
 * .bss, mapped here: no syscall per thread. A slot is written whole after each
 * change, and read here while that may happen: a value can be one change
 * behind another, which the next interval's totals make up for. Returns
 * -ENOSPC when the slots ran out (some account has none).
 */
static int hot_proc_totals(struct sched_collector *sc, uint64_t now_ns, struct proc_table *t)
{
	struct sched_bpf__bss *bss = sc->skel->bss;
	__u32 used = __atomic_load_n(&bss->hot_slots_used, __ATOMIC_ACQUIRE);
	int err = 0;

	if (used > SNAG_HOT_SLOTS)
		return -ENOSPC;
	for (__u32 i = 0; i < used && !err; i++) {
		const volatile struct snag_thread_hot *h = &bss->hot[i];
		struct snag_thread th = {0};
		__u32 tid = h->tid;

		if (!tid)
			continue; /* handed out, not written yet */
		th.tgid = h->tgid;
		th.state = h->state;
		th.wait = h->wait;
		th.last_ts = h->last_ts;
		th.wakeup_ts = h->wakeup_ts;
		th.oncpu_ns = h->oncpu_ns;
		th.offcpu_ns = h->offcpu_ns;
		th.blocked_ns = h->blocked_ns;
		th.preempted_ns = h->preempted_ns;
		th.runq_ns = h->runq_ns;
		th.exec_ns = h->exec_ns;
		th.nvcsw = h->nvcsw;
		th.nivcsw = h->nivcsw;
		if (th.state == SNAG_TS_NEW)
			continue;
		close_thread(&th, tid, now_ns, NULL);
		err = add_proc_totals(t, tid, &th);
	}
	return err;
}

int sched__read_procs(struct sched_collector *sc, uint64_t now_ns, struct proc_table *t)
{
	int err = sc->map_reads ? -ENOSPC : hot_proc_totals(sc, now_ns, t);

	if (err != -ENOSPC)
		return err;
	/* More threads than slots (refused before adding anything): read the map. */
	return for_each_thread(sc, now_ns, add_proc_totals, t);
}

static int add_thread_totals(void *ctx, __u32 tid, const struct snag_thread *th)
{
	struct report *r = ctx;
	struct report_thread_sched *row;
	char comm[sizeof(th->comm) + 1];

	bpfutil__comm(comm, th->comm);
	row = report__add_sched(r, (int)th->tgid, (int)tid, comm);
	if (!row)
		return -ENOMEM;
	row->voluntary_switches = th->voluntary;
	row->involuntary_switches = th->involuntary;
	row->oncpu_ns = th->oncpu_ns;
	row->offcpu_ns = th->offcpu_ns;
	row->blocked_ns = th->blocked_ns;
	row->preempted_ns = th->preempted_ns;
	row->runq_total_ns = th->runq_ns;
	return 0;
}

static int collect_threads(struct sched_collector *sc, uint64_t end_ns, struct report *r)
{
	int fd = bpf_map__fd(sc->skel->maps.threads);
	struct snag_thread *th = malloc(sizeof(*th));
	__u32 key, next, *prev = NULL;
	int err = 0;

	if (!th)
		return -ENOMEM;
	sc->rebuilt_at_end = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct report_thread_sched *row;
		char comm[sizeof(th->comm) + 1];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, th) || th->state == SNAG_TS_NEW)
			continue;
		close_thread(th, key, end_ns, &sc->rebuilt_at_end);
		bpfutil__comm(comm, th->comm);
		row = report__add_sched(r, (int)th->tgid, (int)key, comm);
		if (!row) {
			err = -ENOMEM;
			break;
		}
		row->voluntary_switches = th->voluntary;
		row->involuntary_switches = th->involuntary;
		row->wall_ns = (th->exit_ns ? th->exit_ns : end_ns) - th->start_ns;
		row->oncpu_ns = th->oncpu_ns;
		row->offcpu_ns = th->offcpu_ns;
		row->blocked_ns = th->blocked_ns;
		row->preempted_ns = th->preempted_ns;
		row->runq_total_ns = th->runq_ns;
		for (int w = 0; w < WAIT__COUNT; w++) {
			row->blocked_by[w] = th->blocked_by[w];
			row->blocks_by[w] = th->blocks_by[w];
		}
		memcpy(row->runq_hist, th->runq_hist, sizeof(row->runq_hist));
		memcpy(row->offcpu_hist, th->offcpu_hist, sizeof(row->offcpu_hist));
		r->sched_thread_ns += row->wall_ns;
	}
	free(th);
	return err;
}

/* A stack taken in the waker's context starts inside the tracepoint and snag's BPF program. */
static bool tracing_frame(const char *name)
{
	return !strncmp(name, "bpf_prog_", 9) || !strncmp(name, "bpf_trace_run", 13) ||
	       !strncmp(name, "__traceiter_", 12);
}

/* Names of a captured stack, innermost first; len is in bytes, as the kernel returned it. */
static int set_stack(struct report_stack *st, struct symbolizer *sym, const __u64 *ips, __s32 len,
		     bool kernel, int pid, uint32_t gen)
{
	const char *names[SNAG_STACK_DEPTH];
	size_t n = len > 0 ? (size_t)len / sizeof(__u64) : 0, first = 0;

	if (n > SNAG_STACK_DEPTH)
		n = SNAG_STACK_DEPTH;
	for (size_t i = 0; i < n; i++)
		names[i] = kernel ? symbolizer__kernel(sym, ips[i])
				  : symbolizer__user(sym, pid, gen, ips[i]);
	while (kernel && first < n && tracing_frame(names[first]))
		first++;
	return report_stack__set(st, names + first, n - first, n == SNAG_STACK_DEPTH);
}

static int collect_offcpu(struct sched_collector *sc, struct symbolizer *sym, struct report *r)
{
	int fd = bpf_map__fd(sc->skel->maps.offcpu);
	struct snag_offcpu_val *v = malloc(sizeof(*v));
	struct snag_offcpu_key key, next, *prev = NULL;
	uint64_t truncated = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		struct report_offcpu *e;
		char comm[17], waker_comm[17];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		bpfutil__comm(comm, v->comm);
		e = report__add_offcpu(r, (int)key.tgid, (int)key.tid, comm,
				       key.reason == SNAG_OFFCPU_PREEMPTED ? OFFCPU_PREEMPTED
									   : OFFCPU_BLOCKED);
		if (!e) {
			err = -ENOMEM;
			break;
		}
		e->count = v->count;
		e->total_ns = v->total_ns;
		e->max_ns = v->max_ns;
		err = set_stack(&e->kernel_stack, sym, v->kstack, v->klen, true, 0, 0);
		if (!err)
			err = set_stack(&e->user_stack, sym, v->ustack, v->ulen, false,
					(int)key.tgid, key.gen);
		if (err || !key.waker_tid)
			continue;
		bpfutil__comm(waker_comm, v->waker_comm);
		e->waker_pid = (int)key.waker_tgid;
		e->waker_tid = (int)key.waker_tid;
		e->waker_comm = strdup(waker_comm);
		if (!e->waker_comm)
			err = -ENOMEM;
		if (!err)
			err = set_stack(&e->waker_kernel_stack, sym, v->wkstack, v->wklen, true, 0,
					0);
		if (!err)
			err = set_stack(&e->waker_user_stack, sym, v->wustack, v->wulen, false,
					(int)key.waker_tgid, key.waker_gen);
	}
	free(v);
	if (err)
		return err;
	/* Deeper than snag captures: the stacks are cut, and the report says so, per entry too. */
	for (size_t i = 0; i < r->n_offcpu; i++)
		truncated +=
		    r->offcpu[i].kernel_stack.truncated || r->offcpu[i].user_stack.truncated;
	return report__add_drop(r, "offcpu_stack_truncated", truncated);
}

static int collect_drops(struct sched_collector *sc, struct report *r)
{
	int ncpus = libbpf_num_possible_cpus();
	struct snag_sched_counters *percpu;
	__u64 sums[SNAG_SDROP__COUNT] = {0}, rebuilt_out = sc->rebuilt_at_end, rebuilt_in = 0;
	__u32 zero = 0;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(sc->skel->maps.sched_counters), &zero, percpu))
		err = -errno;
	for (int c = 0; !err && c < ncpus; c++)
		for (int d = 0; d < SNAG_SDROP__COUNT; d++)
			sums[d] += percpu[c].drops[d];
	for (int d = 0; !err && d < SNAG_SDROP__COUNT; d++)
		err = report__add_drop(r, drop_names[d], sums[d]);
	for (int c = 0; !err && c < ncpus; c++) {
		rebuilt_out += percpu[c].rebuilt_switch_out;
		rebuilt_in += percpu[c].rebuilt_switch_in;
	}
	if (!err && rebuilt_out)
		err = report__add_recovered(r, "sched_unreported_switch_out", rebuilt_out);
	if (!err && rebuilt_in)
		err = report__add_recovered(r, "sched_unreported_switch_in", rebuilt_in);
	free(percpu);
	return err;
}

/* Say in the report how user stacks were taken (their cost differs). */
static int note_user_stacks(struct sched_collector *sc, struct report *r)
{
	const char *how;

	if (!sc->tp_btf || r->overhead.offcpu_user_stacks)
		return 0; /* raw_tp programs take no stacks */
	how = !sc->skel->rodata->ustack_at_switch_out ? "task_work"
	      : sc->skel->rodata->ustack_on_rseq      ? "rseq"
						      : "switch_out";
	r->overhead.offcpu_user_stacks = strdup(how);
	return r->overhead.offcpu_user_stacks ? 0 : -ENOMEM;
}

int sched__collect(struct sched_collector *sc, uint64_t end_ns, struct symbolizer *sym,
		   struct report *r)
{
	int err;

	/* Events still queued name processes whose stacks are about to be symbolized. */
	err = sched__poll(sc, sym);
	if (err)
		return err;
	r->sched_enabled = true;
	r->min_block_ns = sc->skel->rodata->min_block_ns;
	err = note_user_stacks(sc, r);
	if (!err)
		err = collect_threads(sc, end_ns, r);
	if (!err)
		err = collect_offcpu(sc, sym, r);
	if (!err)
		err = collect_drops(sc, r);
	if (!err)
		err = bpfutil__add_prog_stats(sc->skel->obj, r);
	return err;
}

int sched__read_totals(struct sched_collector *sc, uint64_t now_ns, struct report *r,
		       bool with_stats)
{
	int err;

	r->sched_enabled = true;
	r->min_block_ns = sc->skel->rodata->min_block_ns;
	err = note_user_stacks(sc, r);
	if (!err)
		err = for_each_thread(sc, now_ns, add_thread_totals, r);
	if (!err)
		err = collect_drops(sc, r);
	if (!err && with_stats)
		err = bpfutil__add_prog_stats(sc->skel->obj, r);
	return err;
}

void sched__free(struct sched_collector *sc)
{
	if (!sc)
		return;
	ring_buffer__free(sc->events);
	for (size_t i = 0; i < sizeof(sc->irq_links) / sizeof(sc->irq_links[0]); i++)
		bpf_link__destroy(sc->irq_links[i]);
	sched_bpf__destroy(sc->skel);
	free(sc->btf_path);
	free(sc->pids);
	free(sc->prefill_pids);
	free(sc);
}
