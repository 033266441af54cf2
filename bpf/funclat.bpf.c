/* Function latency: one uprobe and one uretprobe program shared by every probed function, told
 * apart by BPF cookie. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "snag_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader right before attaching: monotonic ns at trace start. */
__u64 trace_start_ns = 0;

struct frame {
	__u64 entry_ns;
	__u32 func_id;
	__u32 recursive; /* an outer call of the same function is open below this one */
};

/* Per-thread stack of entry timestamps, so recursion and nested probed functions pair correctly. */
struct thread_stack {
	__u32 depth; /* may exceed SNAG_FUNC_DEPTH; frames past it are not stored */
	__u32 seen;  /* thread registered in live_threads */
	struct frame frames[SNAG_FUNC_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_stack);
} thread_stacks SEC(".maps");

/* Index = function id (BPF cookie); max_entries is set to the number of probed functions at load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_func_stats);
} func_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_counters);
} counters SEC(".maps");

/* Threads that called a probed function and are still alive: tid -> time they entered the trace
 * window. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} live_threads SEC(".maps");

static __always_inline struct snag_counters *get_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

/*
 * Per-CPU slots are updated with atomic adds: uprobe programs run with
 * migration disabled but stay preemptible, so two threads can interleave on
 * one CPU's slot.
 */
static __always_inline void count_drop(enum snag_drop cause, __u64 n)
{
	struct snag_counters *c = get_counters();

	if (c && cause < SNAG_DROP__COUNT)
		__sync_fetch_and_add(&c->drops[cause], n);
}

static __always_inline void register_thread(struct task_struct *task, struct thread_stack *ts)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	__u64 start = BPF_CORE_READ(task, start_time);
	long err;

	ts->seen = 1;
	if (start < trace_start_ns)
		start = trace_start_ns;
	err = bpf_map_update_elem(&live_threads, &tid, &start, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: a reused tid whose exit we saw */)
		count_drop(SNAG_DROP_THREADS_FULL, 1);
}

SEC("uprobe")
int BPF_KPROBE(handle_uprobe)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_stack *ts;
	__u32 d;

	ts = bpf_task_storage_get(&thread_stacks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		count_drop(SNAG_DROP_NO_STORAGE, 1);
		return 0;
	}
	if (!ts->seen)
		register_thread(task, ts);
	d = ts->depth;
	if (d < SNAG_FUNC_DEPTH) {
		__u32 id = (__u32)bpf_get_attach_cookie(ctx), recursive = 0, i;

		/* Shallow stacks make this cheap; it keeps recursion from counting time twice. */
		for (i = 0; i < SNAG_FUNC_DEPTH && i < d; i++) {
			if (ts->frames[i].func_id == id) {
				recursive = 1;
				break;
			}
		}
		ts->frames[d].func_id = id;
		ts->frames[d].recursive = recursive;
		ts->frames[d].entry_ns = bpf_ktime_get_ns();
	} else {
		count_drop(SNAG_DROP_DEPTH, 1);
	}
	ts->depth = d + 1;
	return 0;
}

static __always_inline void record(__u32 id, __u64 delta, __u32 recursive)
{
	struct snag_func_stats *s = bpf_map_lookup_elem(&func_stats, &id);
	__u64 b;

	if (!s)
		return;
	__sync_fetch_and_add(&s->total_ns, delta);
	if (recursive)
		__sync_fetch_and_add(&s->recursive_ns, delta);
	if (!s->min_ns || delta < s->min_ns)
		s->min_ns = delta;
	if (delta > s->max_ns)
		s->max_ns = delta;
	b = snag_hist_bucket(delta);
	/* Keep the bounds check and the index in one register: clang otherwise checks a copy. */
	barrier_var(b);
	if (b < SNAG_HIST_BUCKETS)
		__sync_fetch_and_add(&s->hist[b], 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_uretprobe)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	struct thread_stack *ts;
	__u32 d, i;

	ts = bpf_task_storage_get(&thread_stacks, bpf_get_current_task_btf(), 0, 0);
	if (!ts || ts->depth == 0) {
		count_drop(SNAG_DROP_UNMATCHED_RETURN, 1);
		return 0;
	}
	d = ts->depth - 1;
	if (d >= SNAG_FUNC_DEPTH) {
		/* Its entry was too deep to store and was counted then. */
		ts->depth = d;
		return 0;
	}
	if (ts->frames[d].func_id == id) {
		ts->depth = d;
		record(id, now - ts->frames[d].entry_ns, ts->frames[d].recursive);
		return 0;
	}
	/*
	 * The top frame is another function: returns were skipped (longjmp,
	 * exceptions, exec, or the kernel's uretprobe depth limit). Unwind to the
	 * innermost frame of this function, counting the skipped ones; if there
	 * is none, this return's call began before we attached.
	 */
	for (i = 1; i < SNAG_FUNC_DEPTH && i <= d; i++) {
		/* d - i is in [0, d) already; the mask only shows the verifier a bound. */
		__u32 j = (d - i) & (SNAG_FUNC_DEPTH - 1);

		if (ts->frames[j].func_id == id) {
			ts->depth = j;
			count_drop(SNAG_DROP_LOST_RETURN, i);
			record(id, now - ts->frames[j].entry_ns, ts->frames[j].recursive);
			return 0;
		}
	}
	count_drop(SNAG_DROP_UNMATCHED_RETURN, 1);
	return 0;
}

/* Close the alive-time account of a traced thread when it exits. */
static __always_inline void thread_exit(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_stack *ts = bpf_task_storage_get(&thread_stacks, task, 0, 0);
	struct snag_counters *c;
	__u32 tid;
	__u64 *start;

	if (!ts || !ts->seen)
		return;
	if (ts->depth)
		count_drop(SNAG_DROP_LOST_RETURN,
			   ts->depth < SNAG_FUNC_DEPTH ? ts->depth : SNAG_FUNC_DEPTH);
	ts->seen = 0;
	ts->depth = 0;
	tid = BPF_CORE_READ(task, pid);
	start = bpf_map_lookup_elem(&live_threads, &tid);
	if (!start)
		return;
	c = get_counters();
	if (c) {
		__sync_fetch_and_add(&c->exited_threads, 1);
		__sync_fetch_and_add(&c->exited_thread_ns, bpf_ktime_get_ns() - *start);
	}
	bpf_map_delete_elem(&live_threads, &tid);
}

/* tp_btf is the cheapest hook; raw_tp is the fallback for kernels whose BTF lacks the tracepoint.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit)
{
	thread_exit();
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_sched_process_exit_raw)
{
	thread_exit();
	return 0;
}
