/* Where threads run: on-CPU stacks sampled by a cpu-clock perf event, counted in the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "snag_abi.h"
#include "target_filter.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000
#define EEXIST	   17

/* Set by the loader before load. */
const volatile bool include_kthreads = false;

/* -c: set when the command has exec'd (see target_filter.h). */
__u32 exec_seen = 0;

/*
 * Samples by (thread, generation, kernel stack, user stack). The stacks are
 * copied into the value with bpf_get_stack() rather than kept in a stack map:
 * an entry is then self-contained (its stacks cannot be overwritten or lost to
 * a stack-map bucket collision while its count lives on), and the lengths tell
 * whether a stack was deeper than captured. New stacks are rare after the
 * first seconds, so the copy is paid once per distinct stack.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct snag_cpu_key);
	__type(value, struct snag_cpu_val);
} samples SEC(".maps");

/* Exec generation of each sampled process (SNAG_CPU_GEN_BASE + execs). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} tgids SEC(".maps");

/* The sample being built, too big for the BPF stack. A perf_event program does not nest on a CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_cpu_val);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_cpu_counters);
} cpu_counters SEC(".maps");

/* Process events (new, exec, new stack) for the loader's symbolizer snapshots. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline struct snag_cpu_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_counters, &zero);
}

static __always_inline void count_drop(enum snag_cpu_drop cause)
{
	struct snag_cpu_counters *c = counters();

	if (c && cause < SNAG_CDROP__COUNT)
		__sync_fetch_and_add(&c->drops[cause], 1);
}

/*
 * A new process or an exec wakes the loader at once (the process may be gone
 * soon, and its mappings with it); a new stack does not: it only asks for a
 * re-read of mappings the loader has, which can wait for its next poll, and
 * waking it for each would cost a poll per new stack.
 */
static __always_inline void emit(__u32 type, __u32 tgid, __u32 gen)
{
	struct snag_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(SNAG_CDROP_EVENTS_LOST);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->gen = gen;
	e->pad = 0;
	bpf_ringbuf_submit(e, type == SNAG_EV_STACK ? BPF_RB_NO_WAKEUP : 0);
}

static __always_inline bool traced(struct task_struct *t, __u32 tgid)
{
	switch (target_match(t, tgid)) {
	case TARGET_YES:
		return true;
	case TARGET_AFTER_EXEC:
		return exec_seen;
	case TARGET_ANY:
		return include_kthreads || !(BPF_CORE_READ(t, flags) & PF_KTHREAD);
	default:
		return false;
	}
}

/* The process's generation; on first sight BASE, and the loader is told to snapshot it. */
static __always_inline __u32 generation(__u32 tgid)
{
	__u32 *gen = bpf_map_lookup_elem(&tgids, &tgid), base = SNAG_CPU_GEN_BASE;

	if (gen)
		return *gen;
	if (!bpf_map_update_elem(&tgids, &tgid, &base, BPF_NOEXIST))
		emit(SNAG_EV_NEW_PROCESS, tgid, base);
	gen = bpf_map_lookup_elem(&tgids, &tgid);
	return gen ? *gen : base;
}

static __always_inline __u64 hash_stack(const __u64 *ips, __s32 len)
{
	__u64 h = 0xcbf29ce484222325ull;
	__u32 n = len > 0 ? (__u32)len / 8 : 0;

	for (__u32 i = 0; i < SNAG_STACK_DEPTH && i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return h;
}

SEC("perf_event")
int handle_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32, zero = 0;
	struct snag_cpu_counters *c;
	struct snag_cpu_key key = {};
	struct snag_cpu_val *v, *row;
	long err;

	if (!tid)
		return 0; /* the idle task: the CPU had nothing to run */
	if (!traced(t, tgid))
		return 0;
	v = bpf_map_lookup_elem(&scratch, &zero);
	if (!v)
		return 0;
	c = counters();
	if (c)
		__sync_fetch_and_add(&c->samples, 1);
	/* The interrupted kernel stack (none when the sample hit user mode), then the user one. */
	v->klen = bpf_get_stack(ctx, v->kstack, sizeof(v->kstack), 0);
	v->ulen = 0;
	if (!(t->flags & PF_KTHREAD)) {
		v->ulen = bpf_get_stack(ctx, v->ustack, sizeof(v->ustack), BPF_F_USER_STACK);
		if (v->ulen <= 0)
			count_drop(SNAG_CDROP_NO_USER_STACK);
	}
	if (v->klen >= (__s32)sizeof(v->kstack) || v->ulen >= (__s32)sizeof(v->ustack))
		count_drop(SNAG_CDROP_STACK_TRUNCATED);
	key.tgid = tgid;
	key.tid = tid;
	key.gen = generation(tgid);
	key.kstack_hash = hash_stack(v->kstack, v->klen);
	key.ustack_hash = hash_stack(v->ustack, v->ulen);
	row = bpf_map_lookup_elem(&samples, &key);
	if (row) {
		__sync_fetch_and_add(&row->samples, 1);
		return 0;
	}
	v->samples = 1;
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	err = bpf_map_update_elem(&samples, &key, v, BPF_NOEXIST);
	if (!err) {
		/* A new stack may be in a library mapped since the process was snapshotted. */
		if (v->ulen > 0)
			emit(SNAG_EV_STACK, tgid, key.gen);
		return 0;
	}
	if (err == -EEXIST) {
		row = bpf_map_lookup_elem(&samples, &key);
		if (row)
			__sync_fetch_and_add(&row->samples, 1);
		return 0;
	}
	count_drop(SNAG_CDROP_TABLE_FULL);
	return 0;
}

/* A sampled process that execs runs a new image: later samples resolve against its mappings. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid, *gen;

	if (wait_exec && tgid == filter_tgid)
		exec_seen = 1;
	gen = bpf_map_lookup_elem(&tgids, &tgid);
	if (!gen)
		return 0; /* not sampled yet: its first sample snapshots the new image */
	__sync_fetch_and_add(gen, 1);
	emit(SNAG_EV_EXEC, tgid, *gen);
	return 0;
}
