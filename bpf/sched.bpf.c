/* Where threads wait: per-thread on-CPU, off-CPU and run-queue accounting, with stacks for long
 * blocks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "snag_abi.h"
#include "target_filter.h"
#include "fd_type.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000
#define EEXIST	   17

/* Set by the loader before load. */
const volatile __u64 min_block_ns = 100000;
const volatile bool include_kthreads = false;
/*
 * Set by the loader when the kernel refuses the task work below (some 6.18
 * builds reject its sleepable callback in a tracepoint program). User stacks
 * are then taken on the thread's way back to user space by the rseq_update
 * tracepoint (ustack_on_rseq, when the kernel has it): it fires there after
 * every switch of a thread that registered rseq, as glibc 2.35+ does for every
 * thread. Other threads (no rseq: static or Go binaries, older libcs) have
 * theirs taken at every switch-out, in their own context, as offcputime does.
 * Read-only, so the verifier drops the branches not taken.
 */
const volatile bool ustack_at_switch_out = false;
const volatile bool ustack_on_rseq = false;

/* Set by the loader right before attaching: monotonic ns at trace start. */
__u64 trace_start_ns = 0;

/*
 * User stacks are taken in the thread's own context when it next returns to
 * user space (BPF task work, kernel 6.18+): taking them at every switch-out,
 * as offcputime does, costs microseconds per switch, and a woken thread's
 * user stack cannot be read from another context. Weak, so older kernels
 * load the program and lose only the user stacks.
 */
extern int bpf_task_work_schedule_resume_impl(struct task_struct *task, struct bpf_task_work *tw,
					      void *map__map, bpf_task_work_callback_t callback,
					      void *aux__prog) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SNAG_HOT_SLOTS);
	__type(key, __u32);
	__type(value, struct snag_thread);
} threads SEC(".maps");

/* What user space reads of each account every interval (struct snag_thread_hot), in .bss,
 * which it maps; slots are handed out in order and never reused, like the accounts. */
struct snag_thread_hot hot[SNAG_HOT_SLOTS];
__u32 hot_slots_used;

/* Exec generation of each traced process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct snag_offcpu_key);
	__type(value, struct snag_offcpu_val);
} offcpu SEC(".maps");

/* A long block waiting for its thread's user stack (key: tid). */
struct pending {
	struct bpf_task_work tw;
	__u32 busy; /* task work scheduled, callback not yet run */
	__u32 pad;
	__u64 waker_ts;	 /* wakeup whose waker stacks are in val */
	__u64 ustack_ts; /* switch-out whose user stack is in val (ustack_at_switch_out) */
	/* busy: waiting for the user stack from task work, or from rseq_update */
	__u64 duration;
	struct snag_offcpu_key key;
	struct snag_offcpu_val val;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384); /* as many as threads: all may block at once */
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

/* Zeroed templates for new map values, too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	/* Plain bytes: a per-CPU map cannot hold the bpf_task_work field of struct pending. */
	__type(value, char[sizeof(struct pending)]);
} pending_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_thread);
} thread_zero SEC(".maps");

/*
 * The thread switched in last on this CPU with a long block waiting for its user stack
 * from rseq_update (0: none), so that rseq_update, which fires after every switch of
 * every thread with rseq, needs only this inlined lookup to know it has nothing to do.
 * The thread leaves this CPU only by switching out, where a block still waiting is
 * finished (save_user_stack): a newer entry never hides an unfinished one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ustack_due_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_sched_counters);
} sched_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline struct snag_sched_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sched_counters, &zero);
}

/* Per-CPU slots, but sched_waking may run in an interrupt over another program on this CPU. */
static __always_inline void count_drop(enum snag_sched_drop cause)
{
	struct snag_sched_counters *c = counters();

	if (c && cause < SNAG_SDROP__COUNT)
		__sync_fetch_and_add(&c->drops[cause], 1);
}

static __always_inline void emit(__u32 type, __u32 tgid, __u32 gen)
{
	struct snag_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(SNAG_SDROP_EVENTS_LOST);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->gen = gen;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline bool traced(struct task_struct *t, __u32 tgid, __u32 tid)
{
	if (!tid)
		return false; /* idle */
	switch (target_match(t, tgid)) {
	case TARGET_YES:
		return true;
	case TARGET_AFTER_EXEC:
		return bpf_map_lookup_elem(&tgids, &tgid) != NULL;
	case TARGET_ANY:
		return include_kthreads || !(BPF_CORE_READ(t, flags) & PF_KTHREAD);
	default:
		return false;
	}
}

static __always_inline __u32 generation(__u32 tgid)
{
	__u32 *gen = bpf_map_lookup_elem(&tgids, &tgid);

	return gen ? *gen : 0;
}

/*
 * The thread's account, created on first sight. The time since it entered the
 * trace window is attributed by what the first event says it was doing, so
 * on-CPU + off-CPU covers the whole window.
 */
/*
 * A wakeup from a timer or device interrupt runs on top of whatever task the
 * interrupt hit: that task is not the waker, and its stacks are noise. The
 * per-CPU preempt count tells. It is not in kallsyms here, so BPF cannot take
 * its address as a ksym (and BPF programs may run on a private stack, so
 * comparing stack addresses does not work either). But the current task's
 * run queue is this CPU's, and the run queue and the preempt count are both
 * per-CPU variables: the loader reads the distance between them from the
 * kernel's BTF (bpfutil__preempt_count_from_rq), and the count is one read
 * away. That costs nothing on interrupts; the fallback, where the BTF lacks
 * the variables, is the interrupt, softirq and hrtimer tracepoints keeping a
 * per-CPU nesting depth (two program runs per interrupt).
 */
const volatile bool preempt_count_known = false;
const volatile __s64 preempt_count_from_rq = 0;

#define SOFTIRQ_OFFSET                                                                             \
	0x00000100 /* serving a softirq (counts of disabled bottom halves are above) */
#define HARDIRQ_MASK 0x000f0000
#define NMI_MASK     0x00f00000

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} irq_depth SEC(".maps");

static __always_inline void irq_enter_exit(__s64 delta)
{
	__u32 zero = 0;
	__s64 *d = bpf_map_lookup_elem(&irq_depth, &zero);

	if (!d)
		return;
	*d += delta;
	if (*d < 0)
		*d = 0; /* an exit whose entry came before snag attached */
}

static __always_inline bool in_interrupt(void)
{
	__u32 zero = 0;
	__s64 *d;

	if (preempt_count_known) {
		struct task_struct *t = bpf_get_current_task_btf();
		__u32 pc = 0;
		void *rq;

		/* The run queue through the task's CFS queue: the field needs group scheduling. */
		if (!bpf_core_field_exists(t->se.cfs_rq))
			return false;
		rq = BPF_CORE_READ(t, se.cfs_rq, rq);
		if (!rq || bpf_probe_read_kernel(&pc, sizeof(pc), rq + preempt_count_from_rq))
			return false;
		return pc & (SOFTIRQ_OFFSET | HARDIRQ_MASK | NMI_MASK);
	}
	d = bpf_map_lookup_elem(&irq_depth, &zero);
	return d && *d > 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(handle_irq_handler_entry)
{
	irq_enter_exit(1);
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(handle_irq_handler_exit)
{
	irq_enter_exit(-1);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(handle_softirq_entry)
{
	irq_enter_exit(1);
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(handle_softirq_exit)
{
	irq_enter_exit(-1);
	return 0;
}

SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(handle_hrtimer_expire_entry)
{
	irq_enter_exit(1);
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(handle_hrtimer_expire_exit)
{
	irq_enter_exit(-1);
	return 0;
}

struct task_counters {
	__u64 exec; /* se.sum_exec_runtime */
	__u64 nv;   /* nvcsw */
	__u64 niv;  /* nivcsw */
};

/* The task's run time and switch counts: plain loads from tp_btf's trusted pointers. */
static __always_inline struct task_counters read_counters(struct task_struct *t, bool btf)
{
	struct task_counters c;

	if (btf) {
		c.exec = t->se.sum_exec_runtime;
		c.nv = t->nvcsw;
		c.niv = t->nivcsw;
	} else {
		c.exec = BPF_CORE_READ(t, se.sum_exec_runtime);
		c.nv = BPF_CORE_READ(t, nvcsw);
		c.niv = BPF_CORE_READ(t, nivcsw);
	}
	return c;
}

/* Kept at each recorded switch-out (unchanged until the switch-in) and first sight. */
static __always_inline void note_counters(struct snag_thread *th, struct task_counters c)
{
	th->exec_ns = c.exec;
	th->nvcsw = c.nv;
	th->nivcsw = c.niv;
}

/* Start th's account at its first event: it entered the window at its start or the trace's. */
/* The switch-out a first sight comes in: the kernel has counted it already, snag not yet. */
enum {
	SWITCH_NONE,
	SWITCH_VOLUNTARY,
	SWITCH_INVOLUNTARY
};

static __always_inline void init_thread(struct snag_thread *th, struct task_struct *t, __u32 tgid,
					__u64 now, __u32 first_state, int in_switch)
{
	__u64 start = BPF_CORE_READ(t, start_time);

	if (start < trace_start_ns)
		start = trace_start_ns;
	if (start > now)
		start = now;
	th->start_ns = start;
	th->last_ts = start;
	th->tgid = tgid;
	note_counters(th, read_counters(t, false));
	if (in_switch == SWITCH_VOLUNTARY)
		th->nvcsw--;
	else if (in_switch == SWITCH_INVOLUNTARY)
		th->nivcsw--;
	BPF_CORE_READ_STR_INTO(&th->comm, t, comm);
	th->state = first_state;
}

/* 1 + the index of a fresh hot[] slot, or 0 when all are taken (user space then reads the
 * threads map instead). */
static __always_inline __u32 new_hot_slot(void)
{
	__u32 i = __sync_fetch_and_add(&hot_slots_used, 1);

	return i < SNAG_HOT_SLOTS ? i + 1 : 0;
}

/* Copy what user space reads every interval of th (tid's account) to its hot[] slot. */
static __always_inline void publish(struct snag_thread *th, __u32 tid)
{
	__u32 i = th->hot_slot - 1;
	struct snag_thread_hot *h;

	if (i >= SNAG_HOT_SLOTS)
		return;
	h = &hot[i];
	h->tgid = th->tgid;
	h->state = th->state;
	h->wait = th->wait;
	h->last_ts = th->last_ts;
	h->wakeup_ts = th->wakeup_ts;
	h->oncpu_ns = th->oncpu_ns;
	h->offcpu_ns = th->offcpu_ns;
	h->blocked_ns = th->blocked_ns;
	h->preempted_ns = th->preempted_ns;
	h->runq_ns = th->runq_ns;
	h->exec_ns = th->exec_ns;
	h->nvcsw = th->nvcsw;
	h->nivcsw = th->nivcsw;
	h->tid = tid;
}

/*
 * The thread's account, made at its first event; user space makes those of
 * threads running before the trace (SNAG_TS_NEW), since the kernel allocates
 * new entries from a small per-CPU cache that one interrupt waking hundreds
 * of threads empties.
 */
static __always_inline struct snag_thread *get_thread(struct task_struct *t, __u32 tgid, __u32 tid,
						      __u64 now, __u32 first_state, int in_switch)
{
	struct snag_thread *th = bpf_map_lookup_elem(&threads, &tid);
	__u32 zero = 0, gen = 0;
	long err;

	if (th && th->state != SNAG_TS_NEW)
		return th;
	if (th) {
		init_thread(th, t, tgid, now, first_state, in_switch);
		th->hot_slot = new_hot_slot();
	} else {
		th = bpf_map_lookup_elem(&thread_zero, &zero);
		if (!th)
			return NULL;
		init_thread(th, t, tgid, now, first_state, in_switch);
		th->hot_slot = new_hot_slot();
		err = bpf_map_update_elem(&threads, &tid, th, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			count_drop(SNAG_SDROP_THREADS_FULL);
			return NULL;
		}
	}
	if (!bpf_map_update_elem(&tgids, &tgid, &gen, BPF_NOEXIST))
		emit(SNAG_EV_NEW_PROCESS, tgid, 0);
	return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline void hist_add(__u64 *hist, __u64 v)
{
	__u64 b = snag_sched_hist_bucket(v);

	/* Keep the bounds check and the index in one register: clang otherwise checks a copy. */
	barrier_var(b);
	if (b < SNAG_SCHED_HIST_BUCKETS)
		hist[b]++;
}

static __always_inline __u64 hash_stack(const __u64 *ips, __s32 len)
{
	__u64 h = 0xcbf29ce484222325ull;
	__u32 n = len > 0 ? (__u32)len / 8 : 0;

	for (__u32 i = 0; i < SNAG_STACK_DEPTH && i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return h;
}

/* Fold a finished long block into the offcpu map. */
static __always_inline void aggregate(struct pending *p)
{
	struct snag_offcpu_val *v;
	long err;

	p->key.kstack_hash = hash_stack(p->val.kstack, p->val.klen);
	p->key.ustack_hash = hash_stack(p->val.ustack, p->val.ulen);
	p->key.waker_hash = hash_stack(p->val.wkstack, p->val.wklen) ^
			    (hash_stack(p->val.wustack, p->val.wulen) * 31);
	v = bpf_map_lookup_elem(&offcpu, &p->key);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		__sync_fetch_and_add(&v->total_ns, p->duration);
		if (p->duration > v->max_ns)
			v->max_ns = p->duration;
		return;
	}
	p->val.count = 1;
	p->val.total_ns = p->duration;
	p->val.max_ns = p->duration;
	err = bpf_map_update_elem(&offcpu, &p->key, &p->val, BPF_NOEXIST);
	if (!err && p->val.ulen > 0)
		emit(SNAG_EV_STACK, p->key.tgid, p->key.gen);
	if (!err && p->val.wulen > 0 && p->key.waker_tgid != p->key.tgid)
		emit(SNAG_EV_STACK, p->key.waker_tgid, p->key.waker_gen);
	if (err == -EEXIST) {
		v = bpf_map_lookup_elem(&offcpu, &p->key);
		if (v) {
			__sync_fetch_and_add(&v->count, 1);
			__sync_fetch_and_add(&v->total_ns, p->duration);
		}
	} else if (err) {
		count_drop(SNAG_SDROP_OFFCPU_FULL);
	}
}

/* Runs in the thread's own context on its way back to user space: take its user stack. */
static int take_user_stack(struct bpf_map *map, void *key, void *value)
{
	struct pending *p = value;
	struct task_struct *task = bpf_get_current_task_btf();

	(void)map;
	(void)key;
	p->val.ulen =
	    bpf_get_task_stack(task, p->val.ustack, sizeof(p->val.ustack), BPF_F_USER_STACK);
	p->key.gen = generation(p->key.tgid);
	aggregate(p);
	p->busy = 0;
	return 0;
}

/* Whether t registered rseq, so that rseq_update fires on its way back to user space. */
static __always_inline bool has_rseq(struct task_struct *t)
{
	if (!ustack_on_rseq || !bpf_core_field_exists(t->rseq))
		return false;
	return BPF_CORE_READ(t, rseq) != NULL;
}

/* The current thread (in its own context) has the long block p waiting for its user stack. */
static __always_inline void finish_deferred(void *ctx, struct pending *p)
{
	p->val.ulen = bpf_get_stack(ctx, p->val.ustack, sizeof(p->val.ustack), BPF_F_USER_STACK);
	p->key.gen = generation(p->key.tgid);
	aggregate(p);
	p->busy = 0;
}

static __always_inline struct pending *get_pending(__u32 tid)
{
	void *zeros;
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	__u32 zero = 0;

	if (p)
		return p;
	zeros = bpf_map_lookup_elem(&pending_zero, &zero);
	if (!zeros || bpf_map_update_elem(&pending, &tid, zeros, BPF_NOEXIST)) {
		count_drop(SNAG_SDROP_PENDING_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&pending, &tid);
}

/*
 * A long block ended: next is about to run. Take its kernel stack now (it is
 * not running, so its saved stack is stable) and its user stack when it
 * returns to user space. With next NULL (a block whose end the kernel did not
 * report), record the block without its own stacks.
 */
static __always_inline void long_block(struct task_struct *next, struct snag_thread *th, __u32 tid,
				       __u64 duration, __u32 reason, bool user)
{
	struct pending *p = get_pending(tid);
	struct snag_sched_counters *c = counters();

	if (c)
		__sync_fetch_and_add(&c->long_blocks, 1);
	if (!p)
		return;
	if (p->busy) {
		count_drop(SNAG_SDROP_STACK_BUSY);
		return;
	}
	p->duration = duration;
	p->key.tgid = th->tgid;
	p->key.tid = tid;
	p->key.reason = reason;
	p->key.gen = generation(th->tgid);
	__builtin_memcpy(p->val.comm, th->comm, sizeof(p->val.comm));
	if (reason == SNAG_OFFCPU_BLOCKED && th->wakeup_ts) {
		p->key.waker_tgid = th->waker_tgid;
		p->key.waker_tid = th->waker_tid;
		p->key.waker_gen = generation(th->waker_tgid);
		__builtin_memcpy(p->val.waker_comm, th->waker_comm, sizeof(p->val.waker_comm));
	} else {
		p->key.waker_tgid = 0;
		p->key.waker_tid = 0;
		p->key.waker_gen = 0;
		p->val.waker_comm[0] = 0;
	}
	/* Waker stacks belong to this block only if they were taken at its wakeup. */
	if (p->waker_ts != th->wakeup_ts || !th->wakeup_ts) {
		p->val.wklen = 0;
		p->val.wulen = 0;
	}
	p->val.klen = next ? bpf_get_task_stack(next, p->val.kstack, sizeof(p->val.kstack), 0) : 0;
	if (!next) {
		p->val.ulen = 0;
		aggregate(p);
		return;
	}
	if (ustack_at_switch_out && user && has_rseq(next)) {
		__u32 zero = 0, *due = bpf_map_lookup_elem(&ustack_due_tid, &zero);

		/* rseq_update or its next switch-out takes the user stack */
		p->busy = 1;
		th->ustack_due = 1;
		if (due)
			*due = tid;
		return;
	}
	if (ustack_at_switch_out) {
		/* Taken when this block began, if that switch-out was seen (save_user_stack). */
		if (!user || p->ustack_ts != th->last_ts)
			p->val.ulen = 0;
		if (user && p->val.ulen <= 0)
			count_drop(SNAG_SDROP_NO_USER_STACK);
		aggregate(p);
		return;
	}
	p->val.ulen = 0;
	if (user && bpf_task_work_schedule_resume_impl) {
		p->busy = 1;
		if (!bpf_task_work_schedule_resume_impl(next, &p->tw, &pending, take_user_stack,
							NULL))
			return;
		p->busy = 0;
	}
	if (user)
		count_drop(SNAG_SDROP_NO_USER_STACK);
	aggregate(p);
}

/* What a syscall blocks on, by its number (x86-64), or -1 when the number does not tell. */
static __always_inline int wait_of_syscall(long nr)
{
#if defined(__TARGET_ARCH_x86)
	switch (nr) {
	case 202: /* futex */
	case 449: /* futex_waitv */
		return SNAG_WAIT_LOCK;
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		return SNAG_WAIT_SLEEP;
	case 7:	  /* poll */
	case 23:  /* select */
	case 232: /* epoll_wait */
	case 270: /* pselect6 */
	case 271: /* ppoll */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return SNAG_WAIT_EVENTS;
	case 42:  /* connect */
	case 43:  /* accept */
	case 44:  /* sendto */
	case 45:  /* recvfrom */
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 288: /* accept4 */
	case 299: /* recvmmsg */
	case 307: /* sendmmsg */
		return SNAG_WAIT_NET;
	case 74:  /* fsync */
	case 75:  /* fdatasync */
	case 277: /* sync_file_range */
		return SNAG_WAIT_BLOCK_IO;
	case 0:				 /* read */
	case 1:				 /* write */
	case 17:			 /* pread64 */
	case 18:			 /* pwrite64 */
	case 19:			 /* readv */
	case 20:			 /* writev */
	case 295:			 /* preadv */
	case 296:			 /* pwritev */
		return SNAG_WAIT__COUNT; /* depends on the fd */
	}
#endif
	return -1;
}

/*
 * What a thread leaving the CPU voluntarily waits for (enum snag_wait). With
 * a trusted task (tp_btf) its user registers tell the syscall and fd; the
 * raw_tp fallback only has in_iowait.
 */
static __always_inline __u32 classify_wait(struct task_struct *t, bool btf)
{
	struct pt_regs *regs;
	int w;

	if (!btf)
		return BPF_CORE_READ_BITFIELD_PROBED(t, in_iowait) ? SNAG_WAIT_BLOCK_IO
								   : SNAG_WAIT_OTHER;
	if (BPF_CORE_READ_BITFIELD(t, in_iowait))
		return SNAG_WAIT_BLOCK_IO;
	if (t->flags & PF_KTHREAD)
		return SNAG_WAIT_OTHER;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return SNAG_WAIT_OTHER;
#if defined(__TARGET_ARCH_x86)
	w = wait_of_syscall(regs->orig_ax);
	if (w == SNAG_WAIT__COUNT) {
		switch (fd_type(t, (int)regs->di)) {
		case SNAG_FD_SOCKET:
			return SNAG_WAIT_NET;
		case SNAG_FD_FILE:
			return SNAG_WAIT_BLOCK_IO;
		default:
			return SNAG_WAIT_OTHER;
		}
	}
	return w < 0 ? SNAG_WAIT_OTHER : (__u32)w;
#else
	(void)w;
	return SNAG_WAIT_OTHER;
#endif
}

/*
 * End th's time off the CPU at now (a switch-in): add it to the thread's
 * totals by reason and return its length.
 */
static __always_inline __u64 end_offcpu(struct snag_thread *th, __u64 now)
{
	__u64 off = now > th->last_ts ? now - th->last_ts : 0, runnable_since = th->last_ts;

	if (th->state == SNAG_TS_BLOCKED) {
		/* A wakeup can race ahead of the switch-out that recorded last_ts. */
		__u64 blocked;

		if (th->wakeup_ts > th->last_ts) {
			runnable_since = th->wakeup_ts;
			blocked = th->wakeup_ts - th->last_ts;
		} else {
			runnable_since = now; /* woken without a traced wakeup */
			blocked = off;
		}
		th->blocked_ns += blocked;
		if (th->wait < SNAG_WAIT__COUNT)
			th->blocked_by[th->wait] += blocked;
	} else {
		th->preempted_ns += off;
	}
	if (now > runnable_since) {
		th->runq_ns += now - runnable_since;
		hist_add(th->runq_hist, now - runnable_since);
	}
	th->offcpu_ns += off;
	hist_add(th->offcpu_hist, off);
	return off;
}

/* th leaves the CPU at out: close its run and open its time off the CPU. */
static __always_inline void leave_cpu(struct snag_thread *th, struct task_struct *t, __u64 out,
				      bool voluntary, bool btf)
{
	if (th->state == SNAG_TS_ON && out > th->last_ts)
		th->oncpu_ns += out - th->last_ts;
	if (voluntary) {
		th->voluntary++;
		th->wait = classify_wait(t, btf);
		if (th->wait < SNAG_WAIT__COUNT)
			th->blocks_by[th->wait]++;
	} else {
		th->involuntary++;
	}
	th->state = voluntary ? SNAG_TS_BLOCKED : SNAG_TS_PREEMPTED;
	th->last_ts = out;
	th->wakeup_ts = 0;
}

/*
 * The kernel sometimes switches a thread without a sched_switch event
 * (ftrace's own event misses the same switch, so it is not this program).
 * The task's counters tell what happened: se.sum_exec_runtime grows only
 * while it runs, and nvcsw or nivcsw by one per switch-out.
 */

/*
 * t is off the CPU though th says it is on: its switch-out was not reported.
 * It ran for the growth of its run time since the last recorded switch-in,
 * and left voluntarily if nvcsw grew. After more than one unreported switch
 * the on- and off-CPU totals are still exact; the off-CPU time is then taken
 * as one gap after one run. Returns whether it could be rebuilt; a gap that
 * cannot is counted only where it is given up on (count_gap).
 */
static __always_inline bool rebuild_switch_out(struct snag_thread *th, struct task_struct *t,
					       __u64 now, bool btf, bool count_gap)
{
	struct task_counters now_c = read_counters(t, btf);
	__u64 exec = now_c.exec, nv = now_c.nv, niv = now_c.niv, out;
	struct snag_sched_counters *c;
	bool voluntary = nv > th->nvcsw;
	__u32 w;

	if (exec < th->exec_ns || nv < th->nvcsw || niv < th->nivcsw ||
	    nv + niv == th->nvcsw + th->nivcsw) {
		if (count_gap)
			count_drop(SNAG_SDROP_MISSED_SWITCH_OUT);
		return false;
	}
	out = th->last_ts + (exec - th->exec_ns);
	if (out > now)
		out = now;
	leave_cpu(th, t, out, voluntary, btf);
	/* Switches beyond the last one: counted, their time is in the run and the gap. */
	th->voluntary += nv - th->nvcsw - voluntary;
	th->involuntary += niv - th->nivcsw - !voluntary;
	w = th->wait;
	barrier_var(w); /* bounds check and index in one register */
	if (voluntary && w < SNAG_WAIT__COUNT)
		th->blocks_by[w] += nv - th->nvcsw - 1;
	note_counters(th, now_c);
	c = counters();
	if (c)
		__sync_fetch_and_add(&c->rebuilt_switch_out, 1);
	return true;
}

/*
 * prev is switching out though th says it was off the CPU: its switch-in was
 * not reported. It has run for the growth of its run time since its last
 * recorded switch-out, so it came back that long ago (not before its wakeup).
 * Without the counters' word, the block ends at its wakeup, else now. Returns
 * when it came back on the CPU.
 */
static __always_inline __u64 rebuild_switch_in(struct snag_thread *th, struct task_struct *prev,
					       __u64 now, bool btf)
{
	struct task_counters c_now = read_counters(prev, btf);
	__u64 exec = c_now.exec, in = now, switches = c_now.nv + c_now.niv;
	struct snag_sched_counters *c;

	if (exec >= th->exec_ns && switches == th->nvcsw + th->nivcsw + 1) {
		if (exec - th->exec_ns < now - th->last_ts)
			in = now - (exec - th->exec_ns);
		else
			in = th->last_ts;
		if (th->wakeup_ts > th->last_ts && in < th->wakeup_ts)
			in = th->wakeup_ts;
		c = counters();
		if (c)
			__sync_fetch_and_add(&c->rebuilt_switch_in, 1);
		return in;
	}
	count_drop(SNAG_SDROP_MISSED_SWITCH_IN);
	return th->wakeup_ts > th->last_ts && th->wakeup_ts < now ? th->wakeup_ts : now;
}

/*
 * Without task work: prev is leaving the CPU in its own context, so its user stack can be
 * read now, before it is known whether the block will be long enough to keep it.
 */
static __always_inline void save_user_stack(void *ctx, struct task_struct *prev,
					    struct snag_thread *th, __u32 tid, __u64 now)
{
	struct pending *p;

	if (BPF_CORE_READ(prev, flags) & PF_KTHREAD)
		return;
	if (th->ustack_due) {
		/* A long block still waiting: prev switches out again before it got back to
		 * user space, so its user stack is still the one it blocked under. */
		th->ustack_due = 0;
		p = bpf_map_lookup_elem(&pending, &tid);
		if (p && p->busy)
			finish_deferred(ctx, p);
	}
	if (has_rseq(prev))
		return;
	p = get_pending(tid);
	if (!p)
		return;
	p->val.ulen = bpf_get_stack(ctx, p->val.ustack, sizeof(p->val.ustack), BPF_F_USER_STACK);
	p->ustack_ts = now;
}

static __always_inline void switch_out(void *ctx, struct task_struct *prev, bool preempt,
				       __u32 prev_state, __u64 now, bool btf)
{
	__u32 tid = BPF_CORE_READ(prev, pid), tgid = BPF_CORE_READ(prev, tgid);
	struct snag_thread *th;
	bool voluntary;

	if (!traced(prev, tgid, tid))
		return;
	voluntary = !preempt && prev_state != 0; /* the kernel's rule for nvcsw (core.c) */
	th = get_thread(prev, tgid, tid, now, SNAG_TS_ON,
			voluntary ? SWITCH_VOLUNTARY : SWITCH_INVOLUNTARY);
	if (!th || th->state == SNAG_TS_EXITED)
		return;
	if (th->state == SNAG_TS_BLOCKED || th->state == SNAG_TS_PREEMPTED) {
		/* Its switch-in went unreported: keep the block, a long one as an
		 * off-CPU entry without stacks (they are gone by now). */
		__u64 in = rebuild_switch_in(th, prev, now, btf);
		__u32 reason =
		    th->state == SNAG_TS_BLOCKED ? SNAG_OFFCPU_BLOCKED : SNAG_OFFCPU_PREEMPTED;
		__u64 off = end_offcpu(th, in);

		if (btf && off >= min_block_ns)
			long_block(NULL, th, tid, off, reason, false);
		th->state = SNAG_TS_ON;
		th->last_ts = in;
		/* Back in step with the kernel's counts, whatever it left unreported. */
		note_counters(th, read_counters(prev, btf));
		if (voluntary)
			th->nvcsw--;
		else
			th->nivcsw--;
	}
	leave_cpu(th, prev, now, voluntary, btf);
	if (ustack_at_switch_out && btf)
		save_user_stack(ctx, prev, th, tid, now);
	/* The kernel counted this switch-out in nvcsw or nivcsw by the same rule, so only the
	 * run time needs a load (a cache line of its own). */
	th->exec_ns = btf ? prev->se.sum_exec_runtime : BPF_CORE_READ(prev, se.sum_exec_runtime);
	if (voluntary)
		th->nvcsw++;
	else
		th->nivcsw++;
	publish(th, tid);
}

static __always_inline void switch_in(struct task_struct *next, __u64 now, bool stacks)
{
	__u32 tid = BPF_CORE_READ(next, pid), tgid = BPF_CORE_READ(next, tgid);
	struct snag_thread *th;
	__u32 reason;
	__u64 off;

	if (!traced(next, tgid, tid))
		return;
	/* First sight while switching in: it was waiting since the trace began, reason unknown. */
	th = get_thread(next, tgid, tid, now, SNAG_TS_PREEMPTED, SWITCH_NONE);
	if (!th || th->state == SNAG_TS_EXITED)
		return;
	if ((th->state == SNAG_TS_ON && !rebuild_switch_out(th, next, now, stacks, true)) ||
	    th->state == SNAG_TS_UNKNOWN) {
		th->state = SNAG_TS_ON;
		th->last_ts = now;
		note_counters(th, read_counters(next, stacks));
		publish(th, tid);
		return;
	}
	reason = th->state == SNAG_TS_BLOCKED ? SNAG_OFFCPU_BLOCKED : SNAG_OFFCPU_PREEMPTED;
	off = end_offcpu(th, now);
	if (stacks && off >= min_block_ns)
		long_block(next, th, tid, off, reason, !(BPF_CORE_READ(next, flags) & PF_KTHREAD));
	/* Its counters are as noted at its switch-out: it has not run since. */
	th->state = SNAG_TS_ON;
	th->last_ts = now;
	publish(th, tid);
}

static __always_inline void on_switch(void *ctx, bool preempt, struct task_struct *prev,
				      struct task_struct *next, __u32 prev_state, bool stacks)
{
	__u64 now = bpf_ktime_get_ns();

	switch_out(ctx, prev, preempt, prev_state, now, stacks);
	switch_in(next, now, stacks);
}

/*
 * Who woke a blocked thread; for a long block also the waker's stacks (this
 * runs in the waker's context), as offwaketime does, but only when they pay.
 */
static __always_inline void on_wakeup(struct task_struct *p, bool stacks, void *ctx)
{
	__u32 tid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	__u64 now = bpf_ktime_get_ns();
	struct task_struct *cur;
	struct snag_thread *th;
	struct pending *pd;

	if (!traced(p, tgid, tid))
		return;
	th = get_thread(p, tgid, tid, now, SNAG_TS_BLOCKED, SWITCH_NONE);
	if (!th)
		return;
	/*
	 * Woken while th says it runs: either it is still on its CPU (it set its
	 * state but has not switched out yet: no block), or its switch-out went
	 * unreported (on_cpu is cleared only after the switch-out event).
	 */
	if (th->state == SNAG_TS_ON && !BPF_CORE_READ(p, on_cpu) &&
	    rebuild_switch_out(th, p, now, stacks, false))
		publish(th, tid);
	if (th->state != SNAG_TS_BLOCKED || th->wakeup_ts)
		return;
	th->wakeup_ts = now;
	/* The rest of a written slot is as its switch-out left it. */
	if (th->hot_slot - 1 < SNAG_HOT_SLOTS && hot[th->hot_slot - 1].tid)
		hot[th->hot_slot - 1].wakeup_ts = now;
	else
		publish(th, tid);
	cur = bpf_get_current_task_btf();
	if (in_interrupt()) {
		/* Woken by an interrupt (a timer, a device): no waker task, no waker stacks. */
		th->waker_tid = 0;
		th->waker_tgid = 0;
		__builtin_memcpy(th->waker_comm, "[interrupt]", 12);
		return;
	}
	th->waker_tid = BPF_CORE_READ(cur, pid);
	th->waker_tgid = BPF_CORE_READ(cur, tgid);
	bpf_get_current_comm(th->waker_comm, sizeof(th->waker_comm));
	if (!stacks || now - th->last_ts < min_block_ns)
		return;
	pd = get_pending(tid);
	if (!pd || pd->busy)
		return;
	pd->waker_ts = now;
	pd->val.wklen = bpf_get_stack(ctx, pd->val.wkstack, sizeof(pd->val.wkstack), 0);
	pd->val.wulen = 0;
	if (!(BPF_CORE_READ(cur, flags) & PF_KTHREAD) && th->waker_tid)
		pd->val.wulen =
		    bpf_get_stack(ctx, pd->val.wustack, sizeof(pd->val.wustack), BPF_F_USER_STACK);
}

static __always_inline void on_exit(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct snag_thread *th = bpf_map_lookup_elem(&threads, &tid);
	__u64 now = bpf_ktime_get_ns();
	struct pending *pd;

	/* A long block waiting for rseq_update, which an exiting thread never reaches. */
	if (th && th->ustack_due) {
		th->ustack_due = 0;
		pd = bpf_map_lookup_elem(&pending, &tid);
		if (pd && pd->busy) {
			pd->val.ulen = 0;
			aggregate(pd);
			pd->busy = 0;
			count_drop(SNAG_SDROP_NO_USER_STACK);
		}
	}
	/* Made before the trace and not switched since: on the CPU all along. */
	if (th && th->state == SNAG_TS_NEW)
		th = get_thread(p, BPF_CORE_READ(p, tgid), tid, now, SNAG_TS_ON, SWITCH_NONE);
	if (!th || th->state == SNAG_TS_EXITED)
		return;
	if (th->state == SNAG_TS_ON && now > th->last_ts)
		th->oncpu_ns += now - th->last_ts;
	th->state = SNAG_TS_EXITED;
	th->exit_ns = now;
	th->last_ts = now;
	publish(th, tid);
}

static __always_inline void on_exec(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid), one = 1;
	__u32 *gen = bpf_map_lookup_elem(&tgids, &tgid);
	struct snag_thread *th = bpf_map_lookup_elem(&threads, &tid);
	__u64 now;

	if (wait_exec && tgid == filter_tgid && !gen) {
		/* The -c command starts now: generation 1, on the CPU, its clock from here. */
		if (bpf_map_update_elem(&tgids, &tgid, &one, BPF_NOEXIST))
			return;
		emit(SNAG_EV_EXEC, tgid, 1);
		now = bpf_ktime_get_ns();
		th = get_thread(p, tgid, tid, now, SNAG_TS_ON, SWITCH_NONE);
		if (th) {
			th->start_ns = now;
			th->last_ts = now;
			publish(th, tid);
		}
		return;
	}
	/* The new program's name, not the one the thread had when first seen. */
	if (th)
		BPF_CORE_READ_STR_INTO(&th->comm, p, comm);
	if (!gen)
		return; /* not traced yet: its first event snapshots the new image */
	__sync_fetch_and_add(gen, 1);
	emit(SNAG_EV_EXEC, tgid, *gen);
}

/* tp_btf: trusted task pointers, so stacks can be taken. */
SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	on_switch(ctx, preempt, prev, next, prev_state, true);
	return 0;
}

/* A thread with rseq on its way back to user space after a switch (ustack_on_rseq only). */
SEC("tp_btf/rseq_update")
int BPF_PROG(handle_rseq_update, struct task_struct *t)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	__u32 *due = bpf_map_lookup_elem(&ustack_due_tid, &zero);
	struct snag_thread *th;
	struct pending *p;

	if (!ustack_on_rseq || !due || *due != tid)
		return 0;
	*due = 0;
	th = bpf_map_lookup_elem(&threads, &tid);
	if (th)
		th->ustack_due = 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->busy)
		finish_deferred(ctx, p);
	return 0;
}

/*
 * sched_waking, not sched_wakeup: it fires in the waker, at the start of
 * try_to_wake_up(). sched_wakeup fires where the wakee is put on a run queue,
 * which for a wakee whose CPU is idle (or still switching it out) the kernel
 * hands to that CPU: its idle loop or an IPI, with no trace of the waker.
 */
SEC("tp_btf/sched_waking")
int BPF_PROG(handle_sched_waking, struct task_struct *p)
{
	on_wakeup(p, true, ctx);
	return 0;
}

/*
 * A new thread: its account is made here (on_wakeup), and its long-block
 * slot too, one allocation each in the creating thread's context, rather
 * than in whatever interrupt first ends a block of it (where the kernel's
 * per-CPU cache may be empty). Failing here loses nothing yet: the slot is
 * tried again at the first long block.
 */
static __always_inline void on_new_thread(struct task_struct *p, void *ctx)
{
	__u32 tid = BPF_CORE_READ(p, pid), zero = 0;
	void *zeros;

	on_wakeup(p, false, ctx);
	if (!traced(p, BPF_CORE_READ(p, tgid), tid) || !bpf_map_lookup_elem(&threads, &tid))
		return;
	zeros = bpf_map_lookup_elem(&pending_zero, &zero);
	if (zeros)
		bpf_map_update_elem(&pending, &tid, zeros, BPF_NOEXIST);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
	on_new_thread(p, ctx);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *p)
{
	on_exit(p);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p)
{
	on_exec(p);
	return 0;
}

/*
 * raw_tp fallback for kernels whose BTF lacks the tracepoints: the same
 * accounting, but task pointers are untrusted there, so no stacks.
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	on_switch(ctx, preempt, prev, next, prev_state, false);
	return 0;
}

SEC("raw_tp/sched_waking")
int BPF_PROG(handle_sched_waking_raw, struct task_struct *p)
{
	on_wakeup(p, false, ctx);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new_raw, struct task_struct *p)
{
	on_new_thread(p, ctx);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_sched_process_exit_raw, struct task_struct *p)
{
	on_exit(p);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_sched_process_exec_raw, struct task_struct *p)
{
	on_exec(p);
	return 0;
}
