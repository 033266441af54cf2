/* The ABI between snag's BPF programs and userspace: fixed-width types, explicit padding, no
 * pointers. */
#ifndef SNAG_ABI_H
#define SNAG_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "hist.h"

/* Depth of the per-thread stack of entry timestamps; deeper nesting is counted as SNAG_DROP_DEPTH.
 */
#define SNAG_FUNC_DEPTH 32

/*
 * Per-function aggregate, one per probed function (index = BPF cookie), per
 * CPU. The call count is the sum of hist[], and the time inside the function
 * is total_ns - recursive_ns: fewer atomic adds on every return.
 */
struct snag_func_stats {
	__u64 total_ns;	    /* sum of call latencies */
	__u64 recursive_ns; /* part of total_ns from calls made inside an open call of the same
			       function */
	__u64 min_ns;	    /* 0 until the first sample */
	__u64 max_ns;
	__u64 hist[SNAG_HIST_BUCKETS]; /* calls per latency bucket */
};

/* Why an event was not counted; index into snag_counters.drops. */
enum snag_drop {
	SNAG_DROP_DEPTH = 0,	    /* nesting deeper than SNAG_FUNC_DEPTH */
	SNAG_DROP_UNMATCHED_RETURN, /* return whose entry was not seen (call began before attach) */
	SNAG_DROP_LOST_RETURN,	    /* entry whose return never came (longjmp, exception, exec) */
	SNAG_DROP_NO_STORAGE,	/* task local storage unavailable (allocation failure, recursion) */
	SNAG_DROP_THREADS_FULL, /* live_threads map full: thread time missing from impact */
	SNAG_DROP__COUNT,
};

/* Global counters, one slot, per CPU. */
struct snag_counters {
	__u64 drops[SNAG_DROP__COUNT];
	__u64 exited_threads;	/* traced threads that exited during the trace */
	__u64 exited_thread_ns; /* their alive time within the trace */
};

/* ---- Scheduler collector (sched.bpf.c) ---- */

/* Frames kept per captured stack; deeper stacks are marked truncated. */
#define SNAG_STACK_DEPTH 64

/* What a thread is doing, as of its last event. */
enum snag_thread_state {
	SNAG_TS_UNKNOWN = 0,
	SNAG_TS_ON = 1,	       /* on a CPU since last_ts */
	SNAG_TS_BLOCKED = 2,   /* left the CPU voluntarily at last_ts */
	SNAG_TS_PREEMPTED = 3, /* descheduled while runnable at last_ts */
	SNAG_TS_EXITED = 4,
	SNAG_TS_NEW = 5, /* made by snag before attaching; filled in at the thread's first event */
};

/*
 * What a blocked thread waits for, decided at its voluntary switch-out from
 * what the kernel says without a stack: in_iowait (io_schedule: disk reads,
 * page faults, writeback waits), else the syscall it is in (futex: lock;
 * nanosleep: sleep; poll/epoll/select: events; recv/accept/connect and
 * read/write on a socket: network). See docs/offcpu.md.
 */
enum snag_wait {
	SNAG_WAIT_OTHER = 0,
	SNAG_WAIT_BLOCK_IO,
	SNAG_WAIT_NET,
	SNAG_WAIT_LOCK,
	SNAG_WAIT_SLEEP,
	SNAG_WAIT_EVENTS,
	SNAG_WAIT__COUNT,
};

/* Per-thread account, the value of the threads map (key: tid). */
struct snag_thread {
	__u64 start_ns;	 /* entered the trace window (thread start or trace start) */
	__u64 exit_ns;	 /* 0 while alive */
	__u64 last_ts;	 /* last switch-in (state ON) or switch-out */
	__u64 wakeup_ts; /* woken since the last switch-out at this time, else 0 */
	__u32 tgid;
	__u32 state; /* enum snag_thread_state */
	__u64 voluntary;
	__u64 involuntary;
	__u64 oncpu_ns;
	__u64 offcpu_ns;    /* switch-out to switch-in */
	__u64 blocked_ns;   /* switch-out to wakeup, voluntary switches */
	__u64 preempted_ns; /* switch-out to switch-in, involuntary switches */
	__u64 runq_ns;	    /* runnable to switch-in: wakeup or preemption */
	__u32 waker_tgid;   /* of the last wakeup */
	__u32 waker_tid;
	__u32 wait;	  /* enum snag_wait of the current (or last) block */
	__u32 ustack_due; /* a long block waits for its user stack from rseq_update */
	__u32 hot_slot;	  /* 1 + its index in the hot array (struct snag_thread_hot), 0: none */
	__u32 pad;
	__u64 blocked_by[SNAG_WAIT__COUNT]; /* blocked_ns by what was waited for */
	__u64 blocks_by[SNAG_WAIT__COUNT];  /* voluntary switches by what was waited for */
	char comm[16];
	char waker_comm[16];
	/* The task's own counters at its last recorded switch: they rebuild a switch the
	 * kernel ran without a sched_switch event. */
	__u64 exec_ns; /* se.sum_exec_runtime */
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 runq_hist[SNAG_SCHED_HIST_BUCKETS];
	__u64 offcpu_hist[SNAG_SCHED_HIST_BUCKETS];
};

/*
 * The part of a thread's account user space reads every interval (per-process
 * totals), copied by the BPF programs after each change into a memory-mapped
 * array (sched.bpf.c: hot[]), so that an interval costs no syscall per thread:
 * reading 10,000 accounts of 5 KiB from the hash map took 1.7% of a core at -i 1.
 */
struct snag_thread_hot {
	__u32 tid; /* 0: slot not written yet */
	__u32 tgid;
	__u32 state;
	__u32 wait;
	__u64 last_ts;
	__u64 wakeup_ts;
	__u64 oncpu_ns;
	__u64 offcpu_ns;
	__u64 blocked_ns;
	__u64 preempted_ns;
	__u64 runq_ns;
	__u64 exec_ns;
	__u64 nvcsw;
	__u64 nivcsw;
};

#define SNAG_HOT_SLOTS 16384 /* as many as the threads map holds */

enum snag_offcpu_reason {
	SNAG_OFFCPU_BLOCKED = 0,
	SNAG_OFFCPU_PREEMPTED = 1,
};

/* Off-CPU aggregation key: one thread, one reason, one waker, one set of stacks. */
struct snag_offcpu_key {
	__u32 tgid;
	__u32 tid;
	__u32 reason;	  /* enum snag_offcpu_reason */
	__u32 gen;	  /* exec generation of tgid when the user stack was taken */
	__u32 waker_tgid; /* 0 when unknown or preempted */
	__u32 waker_tid;
	__u32 waker_gen; /* exec generation of waker_tgid */
	__u32 pad;
	__u64 kstack_hash;
	__u64 ustack_hash;
	__u64 waker_hash; /* of the waker's kernel and user stacks */
};

/* Stack lengths are in bytes as bpf_get_task_stack() returns them; <= 0 means none. */
struct snag_offcpu_val {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	char comm[16];
	char waker_comm[16];
	__s32 klen;
	__s32 ulen;
	__s32 wklen;
	__s32 wulen;
	__u64 kstack[SNAG_STACK_DEPTH];
	__u64 ustack[SNAG_STACK_DEPTH];
	__u64 wkstack[SNAG_STACK_DEPTH];
	__u64 wustack[SNAG_STACK_DEPTH];
};

enum snag_sched_drop {
	SNAG_SDROP_THREADS_FULL = 0, /* threads map full: a thread went unaccounted */
	SNAG_SDROP_OFFCPU_FULL,	     /* offcpu map full: a long block's stacks were lost */
	SNAG_SDROP_PENDING_FULL,     /* no room to hold a long block until its user stack */
	SNAG_SDROP_STACK_BUSY,	     /* a long block while the last one's user stack was pending */
	SNAG_SDROP_NO_USER_STACK, /* user stack could not be scheduled (kernel without task work) */
	SNAG_SDROP_EVENTS_LOST,	  /* ring buffer full: a process's maps may not be snapshotted */
	SNAG_SDROP_MISSED_SWITCH_OUT, /* a switch-out the kernel did not report and its counters
					 could not rebuild: the time since the last event is
					 unaccounted */
	SNAG_SDROP_MISSED_SWITCH_IN,  /* a switch-in the kernel did not report and its counters
					 could not rebuild */
	SNAG_SDROP__COUNT,
};

struct snag_sched_counters {
	__u64 drops[SNAG_SDROP__COUNT];
	__u64 switches; /* traced context switches (either side traced) */
	__u64 long_blocks;
	/* Switches the kernel ran without a sched_switch event, rebuilt from its counters. */
	__u64 rebuilt_switch_out;
	__u64 rebuilt_switch_in;
};

enum snag_event_type {
	SNAG_EV_NEW_PROCESS = 1, /* first sight of a tgid: snapshot its mappings */
	SNAG_EV_EXEC = 2,	 /* tgid exec'd: new generation, new mappings */
	SNAG_EV_STACK =
	    3, /* a new user stack of tgid: its libraries may be newer than the snapshot */
};

struct snag_event {
	__u32 type;
	__u32 tgid;
	__u32 gen;
	__u32 pad;
};

/* ---- I/O collector (io.bpf.c) ---- */

/* The read/write-family syscalls, as indices (the syscall numbers differ per architecture). */
enum snag_sys_io {
	SNAG_SYS_READ = 0,
	SNAG_SYS_WRITE,
	SNAG_SYS_PREAD64,
	SNAG_SYS_PWRITE64,
	SNAG_SYS_READV,
	SNAG_SYS_WRITEV,
	SNAG_SYS_SENDTO,
	SNAG_SYS_RECVFROM,
	SNAG_SYS_SENDMSG,
	SNAG_SYS_RECVMSG,
	SNAG_SYS__COUNT,
};

/* What a syscall's fd refers to, from its inode. */
enum snag_fd_type {
	SNAG_FD_FILE = 0, /* regular file, block device, directory */
	SNAG_FD_SOCKET,
	SNAG_FD_PIPE,  /* pipe or FIFO */
	SNAG_FD_TTY,   /* terminal, console or pty */
	SNAG_FD_OTHER, /* other character devices (/dev/null), eventfd, anonymous inodes */
	SNAG_FD__COUNT,
};

struct snag_sys_key {
	__u32 tgid;
	__u16 sys;     /* enum snag_sys_io */
	__u16 fd_type; /* enum snag_fd_type */
};

struct snag_sys_val {
	__u64 count;	   /* calls that returned >= 0 */
	__u64 bytes;	   /* bytes they returned */
	__u64 small_count; /* of them, fewer than small_io_bytes */
	__u64 errors;	   /* calls that returned < 0 */
	__u64 total_ns;	   /* summed latency of all calls */
	__u64 max_ns;
	char comm[16]; /* the process's (group leader's) name */
	__u64 size_hist[SNAG_SIZE_HIST_BUCKETS];
	__u64 lat_hist[SNAG_SCHED_HIST_BUCKETS];
};

/*
 * Block requests: one row per issuing process, device and operation, in the
 * shared arrays blk_ids[] and blk_rows[] of io.bpf.c (mapped by userspace).
 * The id packs the three in one word, so a row is claimed with one
 * compare-and-swap: bit 63 set (0 is a free row), the REQ_OP_* in bits 54-61,
 * the process id (below PID_MAX_LIMIT, 2^22) in bits 32-53, the kernel dev_t
 * (major << 20 | minor) in bits 0-31.
 */
#define SNAG_BLK_ROWS_BITS 12
#define SNAG_BLK_ROWS	   (1u << SNAG_BLK_ROWS_BITS)
#define SNAG_BLK_ID(tgid, dev, op)                                                                 \
	((1ull << 63) | ((__u64)((op)&0xff) << 54) | ((__u64)((tgid)&0x3fffff) << 32) |            \
	 (__u32)(dev))
#define SNAG_BLK_ID_TGID(id) ((__u32)((id) >> 32) & 0x3fffff)
#define SNAG_BLK_ID_DEV(id)  ((__u32)(id))
#define SNAG_BLK_ID_OP(id)   ((__u32)((id) >> 54) & 0xff)

struct snag_blk_id {
	__u64 id;      /* SNAG_BLK_ID(); 0: the row is free */
	char comm[16]; /* the process's (group leader's) name */
};

/* A row's counters, added to atomically from every CPU: the request count is the sum of
 * size_hist. */
struct snag_blk_val {
	__u64 bytes;
	__u64 total_ns; /* summed latency, request start to completion */
	__u64 max_ns;
	__u64 pad;
	__u64 size_hist[SNAG_SIZE_HIST_BUCKETS];
	__u64 lat_hist[SNAG_SCHED_HIST_BUCKETS];
};

/* A request in flight, from its start to its completion (in blk_inflight, at its tag's slot). */
struct snag_blk_start {
	__u64 rq; /* the request whose start this is (0: slot free) */
	__u64 ts;
	__u32 row;	   /* its process, device and operation's row */
	__u32 tgid;	   /* its process */
	__u32 done_bytes;  /* completed so far (block_rq_complete) */
	__u32 start_bytes; /* its size when it started, for when no completion said */
};

enum snag_net_dir {
	SNAG_NET_SEND = 0,
	SNAG_NET_RECV = 1,
};

struct snag_net_key {
	__u32 tgid;
	__u16 family;	/* AF_* */
	__u16 type;	/* SOCK_* */
	__u16 protocol; /* IPPROTO_* (0 for unix) */
	__u16 dir;	/* enum snag_net_dir */
};

struct snag_net_val {
	__u64 count;
	__u64 bytes;
	__u64 small_count;
	__u64 errors;
	char comm[16];
	__u64 size_hist[SNAG_SIZE_HIST_BUCKETS];
};

/* A TCP connection by its 4-tuple (addresses in network order, ports in host order). */
struct snag_conn_key {
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u8 laddr[16]; /* IPv4: the first 4 bytes */
	__u8 raddr[16];
};

struct snag_conn_val {
	__u32 tgid; /* last process that sent or received on it; 0 when unknown */
	__u32 pad;
	char comm[16];
	__u64 sends;
	__u64 send_bytes;
	__u64 recvs;
	__u64 recv_bytes;
	__u64 retransmits;
};

enum snag_io_drop {
	SNAG_IODROP_SYS_FULL = 0,      /* syscall_io map full: a syscall went uncounted */
	SNAG_IODROP_SYS_NO_STORAGE,    /* no task storage for a syscall's start time */
	SNAG_IODROP_BLK_FULL,	       /* no free row for a process, device and op */
	SNAG_IODROP_BLK_INFLIGHT_FULL, /* a request's in-flight slot was held by another one */
	SNAG_IODROP_NET_FULL,	       /* net_io map full */
	SNAG_IODROP_CONN_FULL,	       /* tcp connection map full: its bytes are only in net_io */
	SNAG_IODROP_BLK_END_UNSEEN,    /* a request's address was reused before its end was seen */
	SNAG_IODROP_MAP_BUSY, /* a new row refused for now: no memory, or its bucket busy */
	SNAG_IODROP__COUNT,
};

struct snag_io_counters {
	__u64 drops[SNAG_IODROP__COUNT];
};

/* ---- On-CPU sampling (cpu.bpf.c) ---- */

/*
 * The cpu collector's exec generations of a process: BASE when first sampled, + 1 per exec. Its
 * own range, apart from the scheduler collector's (which counts from 0 from its own first sight),
 * so the two never name different images with the same (pid, generation) in the symbolizer.
 */
#define SNAG_CPU_GEN_BASE 0x80000000u

/* Samples are aggregated in the kernel by thread and (hashes of) both stacks. */
struct snag_cpu_key {
	__u32 tgid;
	__u32 tid;
	__u32 gen; /* exec generation of tgid when sampled (SNAG_CPU_GEN_BASE + execs) */
	__u32 pad;
	__u64 kstack_hash;
	__u64 ustack_hash;
};

/* Stack lengths are in bytes as bpf_get_stack() returns them; <= 0 means none. */
struct snag_cpu_val {
	__u64 samples;
	char comm[16];
	__s32 klen; /* 0: the sample hit user mode */
	__s32 ulen;
	__u64 kstack[SNAG_STACK_DEPTH];
	__u64 ustack[SNAG_STACK_DEPTH];
};

enum snag_cpu_drop {
	SNAG_CDROP_TABLE_FULL = 0,  /* samples map full: the sample was lost */
	SNAG_CDROP_STACK_TRUNCATED, /* a stack deeper than SNAG_STACK_DEPTH: outer frames lost */
	SNAG_CDROP_NO_USER_STACK,   /* a user thread's user stack could not be read */
	SNAG_CDROP_EVENTS_LOST,	    /* ring buffer full: a process's maps may not be snapshotted */
	SNAG_CDROP__COUNT,
};

struct snag_cpu_counters {
	__u64 drops[SNAG_CDROP__COUNT];
	__u64 samples; /* samples of traced threads */
};

/* ---- Memory collector (mem.bpf.c) ---- */

/* Allocator entry points probed in libc, as the BPF cookie of each probe. */
enum snag_mem_func {
	SNAG_MEM_MALLOC = 0,
	SNAG_MEM_CALLOC,
	SNAG_MEM_REALLOC,
	SNAG_MEM_POSIX_MEMALIGN,
	SNAG_MEM_ALIGNED_ALLOC,
	SNAG_MEM_FREE,
	SNAG_MEM_FUNC__COUNT,
};

/* Where a block came from. */
enum snag_mem_source {
	SNAG_MEM_SRC_HEAP = 0, /* the malloc family */
	SNAG_MEM_SRC_MMAP = 1, /* an anonymous mmap(2) made outside a traced allocator call */
};

/* A captured user stack, stored once by its hash (the stacks map). */
struct snag_mem_stack {
	__s32 len; /* bytes, as bpf_get_stack() returned them; <= 0: none */
	__u32 pad;
	__u64 ips[SNAG_STACK_DEPTH];
};

/* One allocation row: a process, a source and an allocation stack (hash 0: no stack). */
struct snag_mem_key {
	__u32 tgid;
	__u32 source; /* enum snag_mem_source */
	__u64 stack;  /* key of the stacks map */
};

/*
 * Counts of the sampled (recorded) allocations of a row. outstanding_* are
 * signed: a free can be counted on one CPU before its allocation on another.
 */
struct snag_mem_val {
	__s64 outstanding_bytes; /* recorded, tracked and not freed yet */
	__s64 outstanding_count;
	__u64 allocs; /* recorded allocations */
	__u64 bytes;
	__u64 frees; /* of them, freed (or unmapped) within the trace */
	__u64 freed_bytes;
	__u64 lifetime_ns; /* summed allocation-to-free time of the freed ones */
	__u64 untracked;   /* allocations the live table had no room for: never outstanding */
};

/* A live allocation, from its allocation to its free (key: process and address). */
struct snag_mem_live_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

struct snag_mem_live {
	__u64 size;
	__u64 ts;    /* bpf_ktime_get_ns() at the allocation */
	__u64 stack; /* its row: tgid from the key, source and stack from here */
	__u32 source;
	__u32 pad;
};

enum snag_mem_drop {
	SNAG_MDROP_LIVE_FULL = 0, /* live table full: an allocation counted but not followed */
	SNAG_MDROP_ROWS_FULL,	  /* row table full: an allocation not counted at all */
	SNAG_MDROP_STACKS_FULL,	  /* stack table full: counted under "no stack" */
	SNAG_MDROP_NO_STACK,	  /* the user stack could not be read: counted under "no stack" */
	SNAG_MDROP_NO_STORAGE,	  /* no task storage for a call's arguments: not counted */
	SNAG_MDROP_STALE,	  /* an address allocated again before its free was seen */
	SNAG_MDROP_EVENTS_LOST,	  /* ring buffer full: a new stack's process not snapshotted */
	SNAG_MDROP__COUNT,
};

struct snag_mem_counters {
	__u64 drops[SNAG_MDROP__COUNT];
	__u64 untracked_frees;		   /* free()/munmap() of an address not seen allocated */
	__u64 calls[SNAG_MEM_FUNC__COUNT]; /* probe hits per entry point */
	__u64 sampled;			   /* allocation calls chosen to be recorded */
	__u64 mmaps;			   /* anonymous mmap(2)s recorded */
};

/* Ring buffer event: a new row of process tgid (its mappings may be newer than a snapshot). */
struct snag_mem_event {
	__u32 tgid;
	__u32 pad;
};

#endif /* SNAG_ABI_H */
