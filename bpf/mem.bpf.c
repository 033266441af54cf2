/*
 * Memory: allocations of the target processes by allocation stack, followed to their frees.
 * uprobes on libc's malloc family, tp_btf sys_enter/sys_exit for mmap, munmap and mremap.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "snag_abi.h"
#include "target_filter.h"

char LICENSE[] SEC("license") = "GPL";

#define EEXIST	      17
#define E2BIG	      7
#define MAP_ANONYMOUS 0x20
#define PAGE_SIZE     4096
/* A call whose return has not come after this long lost it (attach, detach): not nested. */
#define STALE_CALL_NS 1000000000ull

/* Set by the loader before load. */
const volatile __u32 sample_every = 1; /* record one allocation call in this many, at random */
const volatile bool track_mmap = true;

/* -c: set when the command has exec'd (target_filter.h's wait_exec). */
__u32 exec_seen = 0;

/*
 * Session uprobes (kernel 6.13+): one program runs at the entry and, when the
 * entry returned 0, at the return of the same call. Weak, so older kernels
 * load the object and use the entry and return programs instead.
 */
extern bool bpf_session_is_return(void) __ksym __weak;

/* Per-thread state: the allocator call being recorded, the mmap-family syscall in progress. */
struct mem_thread {
	__u64 call_sp; /* stack pointer at the entry of the call in progress; 0: none */
	__u64 call_ts;
	__u64 size;
	__u64 memptr; /* posix_memalign's out pointer */
	__u32 func;   /* enum snag_mem_func */
	__u32 record; /* sampled: record its block at the return */
	__u64 sys_addr;
	__u64 sys_len;
	__u64 sys_flags;
	__u32 sys; /* 1 + enum mem_sys of the syscall in progress; 0: none */
	__u32 pad;
	struct snag_mem_stack stack; /* scratch for bpf_get_stack(), too big for the BPF stack */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mem_thread);
} mem_threads SEC(".maps");

/* Live allocations; max_entries is set at load (--mem-max-live). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, struct snag_mem_live_key);
	__type(value, struct snag_mem_live);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct snag_mem_key);
	__type(value, struct snag_mem_val);
} rows SEC(".maps");

/* Allocation stacks by their hash (FNV-1a of the addresses). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct snag_mem_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_mem_counters);
} mem_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} mem_events SEC(".maps");

static __always_inline struct snag_mem_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mem_counters, &zero);
}

/*
 * Per-CPU slots with atomic adds: uprobe programs run with migration
 * disabled but stay preemptible, so two threads can interleave on one slot.
 */
static __always_inline void count_drop(enum snag_mem_drop cause)
{
	struct snag_mem_counters *c = counters();

	if (c && cause < SNAG_MDROP__COUNT)
		__sync_fetch_and_add(&c->drops[cause], 1);
}

static __always_inline __u64 hash_stack(const __u64 *ips, __s32 len)
{
	__u64 h = 0xcbf29ce484222325ull;
	__u32 n = len > 0 ? (__u32)len / 8 : 0;

	for (__u32 i = 0; i < SNAG_STACK_DEPTH && i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return h ? h : 1; /* 0 means "no stack" */
}

/* The row of (tgid, source, stack), created on first use (and announced to userspace). */
static __always_inline struct snag_mem_val *get_row(__u32 tgid, __u32 source, __u64 stack)
{
	struct snag_mem_key key = {.tgid = tgid, .source = source, .stack = stack};
	struct snag_mem_val *row = bpf_map_lookup_elem(&rows, &key), zero = {};
	struct snag_mem_event *e;
	long err;

	if (row)
		return row;
	err = bpf_map_update_elem(&rows, &key, &zero, BPF_NOEXIST);
	row = bpf_map_lookup_elem(&rows, &key);
	if (!row) {
		count_drop(SNAG_MDROP_ROWS_FULL);
		return NULL;
	}
	if (!err) {
		/* A new stack: its process's libraries may be newer than snag's snapshot. */
		e = bpf_ringbuf_reserve(&mem_events, sizeof(*e), 0);
		if (e) {
			e->tgid = tgid;
			e->pad = 0;
			bpf_ringbuf_submit(e, 0);
		} else {
			count_drop(SNAG_MDROP_EVENTS_LOST);
		}
	}
	return row;
}

/* Take a block off the live table when it is freed (or unmapped): its row's accounts. */
static __always_inline void release(__u32 tgid, __u64 addr, __u64 now)
{
	struct snag_mem_live_key key = {.addr = addr, .tgid = tgid};
	struct snag_mem_live *l = bpf_map_lookup_elem(&live, &key), a;
	struct snag_mem_val *row;
	struct snag_mem_key rk = {.tgid = tgid};
	struct snag_mem_counters *c;

	if (!l) {
		/* Allocated before the trace, or by a call that was not sampled. */
		c = counters();
		if (c)
			__sync_fetch_and_add(&c->untracked_frees, 1);
		return;
	}
	a = *l;
	/* Two threads freeing one block (a double free): the one that deletes it accounts. */
	if (bpf_map_delete_elem(&live, &key))
		return;
	rk.source = a.source;
	rk.stack = a.stack;
	row = bpf_map_lookup_elem(&rows, &rk);
	if (!row)
		return;
	__sync_fetch_and_add(&row->outstanding_bytes, -(__s64)a.size);
	__sync_fetch_and_add(&row->outstanding_count, -1);
	__sync_fetch_and_add(&row->frees, 1);
	__sync_fetch_and_add(&row->freed_bytes, a.size);
	if (now > a.ts)
		__sync_fetch_and_add(&row->lifetime_ns, now - a.ts);
}

/*
 * Record a new block of size bytes at addr, allocated by the current thread
 * (whose user stack, taken now, names the allocation site).
 */
static __always_inline void record(void *ctx, struct mem_thread *st, __u32 tgid, __u64 addr,
				   __u64 size, __u32 source, __u64 now)
{
	struct snag_mem_live_key key = {.addr = addr, .tgid = tgid};
	struct snag_mem_live val = {.size = size, .ts = now, .source = source}, *old;
	struct snag_mem_val *row;
	__u64 stack = 0;
	long err;

	st->stack.len = bpf_get_stack(ctx, st->stack.ips, sizeof(st->stack.ips), BPF_F_USER_STACK);
	if (st->stack.len > 0) {
		stack = hash_stack(st->stack.ips, st->stack.len);
		if (!bpf_map_lookup_elem(&stacks, &stack) &&
		    bpf_map_update_elem(&stacks, &stack, &st->stack, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&stacks, &stack)) {
			count_drop(SNAG_MDROP_STACKS_FULL);
			stack = 0;
		}
	} else {
		count_drop(SNAG_MDROP_NO_STACK);
	}
	row = get_row(tgid, source, stack);
	if (!row)
		return;
	val.stack = stack;
	err = bpf_map_update_elem(&live, &key, &val, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Its free went unseen (a path snag does not probe): end the old block here. */
		count_drop(SNAG_MDROP_STALE);
		old = bpf_map_lookup_elem(&live, &key);
		if (old) {
			struct snag_mem_key rk = {
			    .tgid = tgid, .source = old->source, .stack = old->stack};
			struct snag_mem_val *orow = bpf_map_lookup_elem(&rows, &rk);

			if (orow) {
				__sync_fetch_and_add(&orow->outstanding_bytes, -(__s64)old->size);
				__sync_fetch_and_add(&orow->outstanding_count, -1);
			}
		}
		err = bpf_map_update_elem(&live, &key, &val, BPF_ANY);
	}
	__sync_fetch_and_add(&row->allocs, 1);
	__sync_fetch_and_add(&row->bytes, size);
	if (err) {
		count_drop(SNAG_MDROP_LIVE_FULL);
		__sync_fetch_and_add(&row->untracked, 1);
		return;
	}
	__sync_fetch_and_add(&row->outstanding_bytes, (__s64)size);
	__sync_fetch_and_add(&row->outstanding_count, 1);
}

/* The -c command's allocations count from its exec on (before, it is snag's fork). */
static __always_inline bool recording(void)
{
	return !wait_exec || exec_seen;
}

/* Is the thread inside an allocator call being recorded (not one whose return was lost)? */
static __always_inline bool in_call(const struct mem_thread *st, __u64 now)
{
	return st->call_sp && now - st->call_ts < STALE_CALL_NS;
}

/*
 * Entry of malloc, calloc, realloc, posix_memalign or aligned_alloc. Returns
 * 0 when the return must run (a session uprobe runs it only then), 1 when
 * this call is not recorded.
 *
 * glibc's allocators call each other: realloc(NULL, n) and the aligned
 * allocators with a small alignment call malloc, realloc of a large block
 * may. The outermost call records the block; calls nested in it (deeper or
 * at the same stack pointer: a tail call) do not. realloc, posix_memalign and
 * aligned_alloc therefore always run their return, sampled or not, so that a
 * nested malloc is never recorded with their frames in its stack.
 */
static __always_inline int alloc_entry(struct pt_regs *ctx)
{
	__u32 func = (__u32)bpf_get_attach_cookie(ctx);
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), size, memptr = 0;
	__u64 sp = PT_REGS_SP(ctx), now;
	struct snag_mem_counters *c = counters();
	struct mem_thread *st;
	bool sampled, always_return = false;

	if (c && func < SNAG_MEM_FUNC__COUNT)
		__sync_fetch_and_add(&c->calls[func], 1);
	switch (func) {
	case SNAG_MEM_MALLOC:
		size = a0;
		break;
	case SNAG_MEM_CALLOC:
		if (a1) {
			__u64 max = ~0ull / a1;

			/* Else clang turns the check into a 128-bit multiply BPF does not have. */
			barrier_var(max);
			if (a0 > max)
				return 1; /* overflows: calloc fails */
		}
		size = a0 * a1;
		break;
	case SNAG_MEM_REALLOC:
		/* realloc(p, 0) is free(p), realloc(NULL, n) is malloc(n): glibc calls them. */
		if (!a1 || !a0)
			return 1;
		/* The old block ends now; the new one (maybe at the same address) at the return. */
		release(bpf_get_current_pid_tgid() >> 32, a0, bpf_ktime_get_ns());
		size = a1;
		always_return = true;
		break;
	case SNAG_MEM_POSIX_MEMALIGN:
		memptr = a0;
		size = PT_REGS_PARM3(ctx);
		always_return = true;
		break;
	case SNAG_MEM_ALIGNED_ALLOC:
		size = a1;
		always_return = true;
		break;
	default:
		return 1;
	}
	sampled = recording() && (sample_every <= 1 || bpf_get_prandom_u32() % sample_every == 0);
	if (!sampled && !always_return)
		return 1;
	st = bpf_task_storage_get(&mem_threads, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		if (sampled)
			count_drop(SNAG_MDROP_NO_STORAGE);
		return 1;
	}
	now = bpf_ktime_get_ns();
	if (in_call(st, now) && sp <= st->call_sp)
		return 1; /* nested in a call that records */
	if (sampled && c)
		__sync_fetch_and_add(&c->sampled, 1);
	st->call_sp = sp;
	st->call_ts = now;
	st->size = size;
	st->memptr = memptr;
	st->func = func;
	st->record = sampled;
	return 0;
}

/* Return of an allocator call: record the block it returned, if its entry chose to. */
static __always_inline void alloc_return(struct pt_regs *ctx)
{
	struct mem_thread *st =
	    bpf_task_storage_get(&mem_threads, bpf_get_current_task_btf(), 0, 0);
	__u64 addr = PT_REGS_RC(ctx), sp = PT_REGS_SP(ctx);

	if (!st || !st->call_sp)
		return;
#if defined(__TARGET_ARCH_x86)
	sp -= 8; /* ret popped the return address */
#endif
	/* Entry and return programs see nested calls' returns too: only the recorded call's. */
	if (sp != st->call_sp)
		return;
	st->call_sp = 0;
	if (!st->record)
		return;
	if (st->func == SNAG_MEM_POSIX_MEMALIGN) {
		/* It returns an error number (an int); the block is in *memptr. */
		if ((int)addr || bpf_probe_read_user(&addr, sizeof(addr), (void *)st->memptr))
			return;
	}
	if (!addr)
		return; /* failed */
	record(ctx, st, bpf_get_current_pid_tgid() >> 32, addr, st->size, SNAG_MEM_SRC_HEAP,
	       bpf_ktime_get_ns());
}

/* Session uprobe on the allocation functions (kernel 6.13+). */
SEC("uprobe")
int BPF_KPROBE(handle_alloc_session)
{
	if (bpf_session_is_return()) {
		alloc_return(ctx);
		return 0;
	}
	return alloc_entry(ctx);
}

/* Older kernels: an entry and a return program (the return runs after every call). */
SEC("uprobe")
int BPF_KPROBE(handle_alloc_entry)
{
	alloc_entry(ctx);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_alloc_return)
{
	alloc_return(ctx);
	return 0;
}

/* free(p): every free, sampled or not, so that no recorded block outlives its free. */
SEC("uprobe")
int BPF_KPROBE(handle_free, void *p)
{
	struct snag_mem_counters *c = counters();

	if (c)
		__sync_fetch_and_add(&c->calls[SNAG_MEM_FREE], 1);
	if (p)
		release(bpf_get_current_pid_tgid() >> 32, (__u64)p, bpf_ktime_get_ns());
	return 0;
}

/* ---- mmap, munmap, mremap ---- */

enum mem_sys {
	MEM_SYS_MMAP = 0,
	MEM_SYS_MUNMAP,
	MEM_SYS_MREMAP,
};

/* enum mem_sys of a syscall number, or -1 for every other syscall. */
static __always_inline int mem_sys(long id)
{
#if defined(__TARGET_ARCH_x86)
	switch (id) {
	case 9:
		return MEM_SYS_MMAP;
	case 11:
		return MEM_SYS_MUNMAP;
	case 25:
		return MEM_SYS_MREMAP;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (id) {
	case 222:
		return MEM_SYS_MMAP;
	case 215:
		return MEM_SYS_MUNMAP;
	case 216:
		return MEM_SYS_MREMAP;
	}
#endif
	return -1;
}

static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return ((struct user_pt_regs *)regs)->syscallno;
#else
	return -1;
#endif
}

static __always_inline __u64 page_round(__u64 len)
{
	return (len + PAGE_SIZE - 1) & ~(__u64)(PAGE_SIZE - 1);
}

static __always_inline bool wanted(struct task_struct *t, __u32 tgid)
{
	switch (target_match(t, tgid)) {
	case TARGET_YES:
	case TARGET_ANY:
		return true;
	case TARGET_AFTER_EXEC:
		return exec_seen;
	default:
		return false;
	}
}

/* The syscall number is checked first: sys_enter fires for every syscall on the machine. */
SEC("tp_btf/sys_enter")
int BPF_PROG(handle_mem_sys_enter, struct pt_regs *regs, long id)
{
	int sys = mem_sys(id);
	struct task_struct *t;
	struct mem_thread *st;

	if (sys < 0 || !track_mmap)
		return 0;
	t = bpf_get_current_task_btf();
	if (!wanted(t, t->tgid))
		return 0;
	st = bpf_task_storage_get(&mem_threads, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_drop(SNAG_MDROP_NO_STORAGE);
		return 0;
	}
	st->sys_addr = PT_REGS_PARM1_CORE_SYSCALL(regs);
	st->sys_len = PT_REGS_PARM2_CORE_SYSCALL(regs);
	/* mmap's flags, mremap's new length */
	st->sys_flags = sys == MEM_SYS_MREMAP ? PT_REGS_PARM3_CORE_SYSCALL(regs)
					      : PT_REGS_PARM4_CORE_SYSCALL(regs);
	st->sys = (__u32)sys + 1;
	return 0;
}

/*
 * munmap(addr, len) of a recorded mapping: all of it, or its head (the rest
 * stays live). Other unmaps are not counted as untracked frees: free() of a
 * large block unmaps memory that glibc mapped inside malloc.
 */
static __always_inline void unmap(__u32 tgid, __u64 addr, __u64 len, __u64 now)
{
	struct snag_mem_live_key key = {.addr = addr, .tgid = tgid};
	struct snag_mem_live *l = bpf_map_lookup_elem(&live, &key), rest;
	struct snag_mem_key rk = {.tgid = tgid};
	struct snag_mem_val *row;

	if (!l || l->source != SNAG_MEM_SRC_MMAP)
		return;
	if (page_round(len) >= l->size) {
		release(tgid, addr, now);
		return;
	}
	rest = *l;
	len = page_round(len);
	rest.size -= len;
	if (bpf_map_delete_elem(&live, &key))
		return;
	key.addr = addr + len;
	bpf_map_update_elem(&live, &key, &rest, BPF_ANY);
	rk.source = rest.source;
	rk.stack = rest.stack;
	row = bpf_map_lookup_elem(&rows, &rk);
	if (row) {
		__sync_fetch_and_add(&row->outstanding_bytes, -(__s64)len);
		__sync_fetch_and_add(&row->freed_bytes, len);
	}
}

/* mremap(old, old_len, new_len) to ret: a recorded mapping moves and changes size. */
static __always_inline void remap(__u32 tgid, __u64 old, __u64 ret, __u64 new_len)
{
	struct snag_mem_live_key key = {.addr = old, .tgid = tgid};
	struct snag_mem_live *l = bpf_map_lookup_elem(&live, &key), moved;
	struct snag_mem_key rk = {.tgid = tgid};
	struct snag_mem_val *row;
	__s64 delta;

	if (!l)
		return;
	moved = *l;
	if (bpf_map_delete_elem(&live, &key))
		return;
	new_len = page_round(new_len);
	delta = (__s64)new_len - (__s64)moved.size;
	moved.size = new_len;
	key.addr = ret;
	bpf_map_update_elem(&live, &key, &moved, BPF_ANY);
	rk.source = moved.source;
	rk.stack = moved.stack;
	row = bpf_map_lookup_elem(&rows, &rk);
	if (!row)
		return;
	__sync_fetch_and_add(&row->outstanding_bytes, delta);
	if (delta > 0)
		__sync_fetch_and_add(&row->bytes, delta);
	else
		__sync_fetch_and_add(&row->freed_bytes, -delta);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_mem_sys_exit, struct pt_regs *regs, long ret)
{
	int sys = mem_sys(syscall_nr(regs));
	struct task_struct *t;
	struct mem_thread *st;
	struct snag_mem_counters *c;
	__u64 now;
	__u32 tgid;

	if (sys < 0 || !track_mmap)
		return 0;
	t = bpf_get_current_task_btf();
	st = bpf_task_storage_get(&mem_threads, t, 0, 0);
	if (!st || st->sys != (__u32)sys + 1)
		return 0;
	st->sys = 0;
	if (ret < 0 && ret > -4096)
		return 0; /* failed */
	now = bpf_ktime_get_ns();
	/* Inside a recorded allocator call: the mapping is that call's block. */
	if (in_call(st, now))
		return 0;
	tgid = t->tgid;
	switch (sys) {
	case MEM_SYS_MMAP:
		if (!(st->sys_flags & MAP_ANONYMOUS))
			return 0; /* a file mapping, not an allocation */
		c = counters();
		if (c)
			__sync_fetch_and_add(&c->mmaps, 1);
		record(ctx, st, tgid, (__u64)ret, page_round(st->sys_len), SNAG_MEM_SRC_MMAP, now);
		break;
	case MEM_SYS_MUNMAP:
		unmap(tgid, st->sys_addr, st->sys_len, now);
		break;
	case MEM_SYS_MREMAP:
		remap(tgid, st->sys_addr, (__u64)ret, st->sys_flags);
		break;
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_mem_sched_process_exec, struct task_struct *p)
{
	if (wait_exec && p->tgid == filter_tgid)
		exec_seen = 1;
	return 0;
}
