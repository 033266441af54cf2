/* Kernel-level I/O: block requests, socket messages and read/write-family syscalls, per process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "snag_abi.h"
#include "target_filter.h"
#include "fd_type.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_UNIX	    1
#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define REQ_OP_MASK 0xff
#define E2BIG	    7

/* Set by the loader before load. */
const volatile __u64 small_io_bytes = 4096;

/* -c: set when the command has exec'd (see target_filter.h). */
__u32 exec_seen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct snag_sys_key);
	__type(value, struct snag_sys_val);
} sys_io SEC(".maps");

/* Start of the thread's current read/write-family syscall. */
struct sys_start {
	__u64 ts; /* 0: none in progress */
	__s32 fd;
	__u32 sys;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sys_start);
} sys_starts SEC(".maps");

/*
 * Block rows (see snag_abi.h), in arrays that userspace maps: finding a row is
 * a multiply and a probe or two in blk_ids, and counting into it a few atomic
 * adds, where a per-CPU hash map cost a helper call, jhash and a bucket walk
 * on every completion (the most expensive part of it). Shared, not per CPU,
 * so the memory (11 MiB) does not grow with the CPU count; block completions
 * are rare enough that the atomics do not contend. Maps of their own rather
 * than .bss: libbpf fills .bss from a copy in user memory at load, and keeps
 * it mapped, which would cost snag 11 MiB of RSS. Userspace maps only
 * blk_ids (96 KiB).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SNAG_BLK_ROWS);
	__type(key, __u32);
	__type(value, struct snag_blk_id);
} blk_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SNAG_BLK_ROWS);
	__type(key, __u32);
	__type(value, struct snag_blk_val);
} blk_rows SEC(".maps");

/*
 * Requests in flight, in a slot chosen by the request's tag (the block layer's
 * index of it among its queue's requests in flight) and its queue: an array,
 * so no hashing, locking or allocating on the way. A slot names its request:
 * one that another request holds is a drop (block_inflight_table_full).
 */
#define BLK_SLOTS 8192
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLK_SLOTS);
	__type(key, __u32);
	__type(value, struct snag_blk_start);
} blk_inflight SEC(".maps");

static __always_inline struct snag_blk_start *rq_slot(struct request *rq)
{
	int tag = rq->internal_tag >= 0 ? rq->internal_tag : rq->tag;
	struct blk_mq_hw_ctx *hctx = rq->mq_hctx;
	__u32 i = (__u32)tag + (hctx ? hctx->queue_num * 1031 : 0) + (__u32)rq->q->id * 2053;

	i &= BLK_SLOTS - 1;
	return bpf_map_lookup_elem(&blk_inflight, &i);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct snag_net_key);
	__type(value, struct snag_net_val);
} net_io SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct snag_conn_key);
	__type(value, struct snag_conn_val);
} tcp_conns SEC(".maps");

/* Zeroed templates for new rows, too big for the BPF stack (per CPU: filled, then copied in). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_sys_val);
} sys_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_net_val);
} net_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_io_counters);
} io_counters SEC(".maps");

/* Per-CPU slots, but block completions run in interrupts over programs on the same CPU. */
static __always_inline void count_drop(enum snag_io_drop cause)
{
	__u32 zero = 0;
	struct snag_io_counters *c = bpf_map_lookup_elem(&io_counters, &zero);

	if (c && cause < SNAG_IODROP__COUNT)
		__sync_fetch_and_add(&c->drops[cause], 1);
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

static __always_inline void size_add(__u64 *hist, __u64 v)
{
	__u32 b = snag_size_hist_bucket(v);

	barrier_var(b);
	if (b < SNAG_SIZE_HIST_BUCKETS)
		hist[b]++;
}

static __always_inline void lat_add(__u64 *hist, __u64 v)
{
	__u32 b = snag_sched_hist_bucket(v);

	barrier_var(b);
	if (b < SNAG_SCHED_HIST_BUCKETS)
		hist[b]++;
}

/*
 * Rows of sys_io and net_io are per CPU, and each row is written by
 * one program only, which the kernel never runs nested on a CPU: plain adds,
 * no atomics (userspace sums the CPUs).
 */
static __always_inline void max_set(__u64 *max, __u64 v)
{
	if (v > *max)
		*max = v;
}

/*
 * The row of key in map, created from the template (with comm copied in)
 * when missing. NULL when it cannot be created, with the drop counted: the
 * map full (full_cause), or the kernel refusing for now (memory, or a
 * bucket busy in an interrupted program on this CPU: SNAG_IODROP_MAP_BUSY).
 */
static __always_inline void *get_row(void *map, const void *key, void *zero_map, const char *comm,
				     __u32 comm_off, enum snag_io_drop full_cause)
{
	__u32 zero = 0;
	void *row = bpf_map_lookup_elem(map, key), *tmpl;
	long err;

	if (row)
		return row;
	tmpl = bpf_map_lookup_elem(zero_map, &zero);
	if (!tmpl)
		return NULL;
	__builtin_memcpy(tmpl + comm_off, comm, 16);
	/* EEXIST: another CPU created it first; the lookup below finds theirs. */
	err = bpf_map_update_elem(map, key, tmpl, BPF_NOEXIST);
	row = bpf_map_lookup_elem(map, key);
	if (!row)
		count_drop(err == -E2BIG ? full_cause : SNAG_IODROP_MAP_BUSY);
	return row;
}

static __always_inline void leader_comm(struct task_struct *t, char comm[16])
{
	__builtin_memcpy(comm, t->group_leader->comm, 16);
}

/* ---- Syscalls ---- */

/* enum snag_sys_io of a syscall number, or -1 for every other syscall. */
static __always_inline int sys_index(long id)
{
#if defined(__TARGET_ARCH_x86)
	switch (id) {
	case 0:
		return SNAG_SYS_READ;
	case 1:
		return SNAG_SYS_WRITE;
	case 17:
		return SNAG_SYS_PREAD64;
	case 18:
		return SNAG_SYS_PWRITE64;
	case 19:
		return SNAG_SYS_READV;
	case 20:
		return SNAG_SYS_WRITEV;
	case 44:
		return SNAG_SYS_SENDTO;
	case 45:
		return SNAG_SYS_RECVFROM;
	case 46:
		return SNAG_SYS_SENDMSG;
	case 47:
		return SNAG_SYS_RECVMSG;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (id) {
	case 63:
		return SNAG_SYS_READ;
	case 64:
		return SNAG_SYS_WRITE;
	case 65:
		return SNAG_SYS_READV;
	case 66:
		return SNAG_SYS_WRITEV;
	case 67:
		return SNAG_SYS_PREAD64;
	case 68:
		return SNAG_SYS_PWRITE64;
	case 206:
		return SNAG_SYS_SENDTO;
	case 207:
		return SNAG_SYS_RECVFROM;
	case 211:
		return SNAG_SYS_SENDMSG;
	case 212:
		return SNAG_SYS_RECVMSG;
	}
#endif
	return -1;
}

/* The syscall number in the user registers at syscall exit. */
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

/*
 * raw_syscalls fire for every syscall on the machine: the syscall number is
 * checked first, so the rest costs one load and a switch. Only the entry time
 * and fd are kept; the exit does the accounting.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	int sys = sys_index(id);
	struct task_struct *t;
	struct sys_start *st;

	if (sys < 0)
		return 0;
	t = bpf_get_current_task_btf();
	if (!wanted(t, t->tgid))
		return 0;
	st = bpf_task_storage_get(&sys_starts, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_drop(SNAG_IODROP_SYS_NO_STORAGE);
		return 0;
	}
	st->fd = (__s32)PT_REGS_PARM1_CORE(regs);
	st->sys = (__u32)sys;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	int sys = sys_index(syscall_nr(regs));
	struct snag_sys_key key = {};
	struct snag_sys_val *v;
	struct task_struct *t;
	struct sys_start *st;
	char comm[16];
	__u64 d;

	if (sys < 0)
		return 0;
	t = bpf_get_current_task_btf();
	st = bpf_task_storage_get(&sys_starts, t, 0, 0);
	if (!st || !st->ts || st->sys != (__u32)sys)
		return 0;
	d = bpf_ktime_get_ns() - st->ts;
	st->ts = 0;
	key.tgid = t->tgid;
	key.sys = (__u16)sys;
	key.fd_type = fd_type(t, st->fd);
	v = bpf_map_lookup_elem(&sys_io, &key);
	if (!v) {
		leader_comm(t, comm);
		v = get_row(&sys_io, &key, &sys_zero, comm, offsetof(struct snag_sys_val, comm),
			    SNAG_IODROP_SYS_FULL);
		if (!v)
			return 0;
	}
	v->total_ns += d;
	max_set(&v->max_ns, d);
	lat_add(v->lat_hist, d);
	if (ret < 0) {
		v->errors++;
		return 0;
	}
	v->count++;
	v->bytes += ret;
	if ((__u64)ret < small_io_bytes)
		v->small_count++;
	size_add(v->size_hist, ret);
	return 0;
}

/* ---- Block requests ---- */

/*
 * The request's device: the partition its bio was for, as the kernel counts
 * it in iostat. block_io_start fires before the kernel copies that into
 * rq->part (NULL there until then), so the bio's is read first.
 */
static __always_inline __u32 rq_dev(struct request *rq)
{
	struct block_device *part = rq->bio ? rq->bio->bi_bdev : rq->part;
	struct gendisk *disk;

	if (part)
		return part->bd_dev;
	disk = rq->q->disk;
	if (!disk)
		return 0;
	return (disk->major << KDEV_MINORBITS) | disk->first_minor;
}

/*
 * Index of the row of (tgid, dev, op), claimed for it if it has none: open
 * addressing, at most BLK_PROBES rows from where its id hashes to. -1 when
 * those are all taken (the drop is counted).
 */
#define BLK_PROBES 8
static __always_inline int blk_row(struct task_struct *t, __u32 tgid, __u32 dev, __u32 op)
{
	__u64 id = SNAG_BLK_ID(tgid, dev, op), cur;
	__u32 h = (__u32)((id * 0x9e3779b97f4a7c15ull) >> (64 - SNAG_BLK_ROWS_BITS));

	for (int i = 0; i < BLK_PROBES; i++) {
		__u32 k = (h + i) & (SNAG_BLK_ROWS - 1);
		struct snag_blk_id *e = bpf_map_lookup_elem(&blk_ids, &k);

		if (!e)
			break;
		cur = *(volatile __u64 *)&e->id;
		if (!cur) {
			cur = __sync_val_compare_and_swap(&e->id, 0, id);
			/* Claimed: name it (its counts come later, at completions). */
			if (!cur)
				leader_comm(t, e->comm);
		}
		if (!cur || cur == id)
			return k;
	}
	count_drop(SNAG_IODROP_BLK_FULL);
	return -1;
}

/*
 * The request starts in the context of the task that submitted it (writeback:
 * the flusher kworker); remember who, since completion runs in an interrupt.
 */
static __always_inline void on_block_start(struct request *rq)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = t->tgid;
	struct snag_blk_start *s;
	int row;

	if (!wanted(t, tgid))
		return;
	s = rq_slot(rq);
	if (!s)
		return;
	/*
	 * The request struct is reused after it ends; its own start still there
	 * means its last use ended without a completion tracepoint: count that loss.
	 */
	if (s->rq == (__u64)rq) {
		count_drop(SNAG_IODROP_BLK_END_UNSEEN);
	} else if (s->rq) {
		count_drop(SNAG_IODROP_BLK_INFLIGHT_FULL);
		return;
	}
	row = blk_row(t, tgid, rq_dev(rq), rq->cmd_flags & REQ_OP_MASK);
	if (row < 0) {
		s->rq = 0;
		return;
	}
	s->rq = (__u64)rq;
	s->row = (__u32)row;
	s->tgid = tgid;
	s->done_bytes = 0;
	s->start_bytes = rq->__data_len;
	s->ts = bpf_ktime_get_ns();
}

SEC("tp_btf/block_io_start")
int BPF_PROG(handle_block_io_start, struct request *rq)
{
	on_block_start(rq);
	return 0;
}

/* Kernels before 6.5 have no block_io_start: the issue to the driver is the closest. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(handle_block_rq_issue, struct request *rq)
{
	on_block_start(rq);
	return 0;
}

/* Raise *max to v; completions on other CPUs may race for it. */
static __always_inline void max_set_shared(__u64 *max, __u64 v)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)max;

		if (v <= old || __sync_val_compare_and_swap(max, old, v) == old)
			return;
	}
}

/* Finish the request in slot s: its latency and size, into its issuer's row. */
static __always_inline void finish_request(struct snag_blk_start *s, __u64 size)
{
	struct snag_blk_val *v = bpf_map_lookup_elem(&blk_rows, &s->row);
	__u64 d = bpf_ktime_get_ns() - s->ts;
	__u32 lb = snag_sched_hist_bucket(d), sb = snag_size_hist_bucket(size);

	s->rq = 0;
	if (!v)
		return;
	__sync_fetch_and_add(&v->bytes, size);
	__sync_fetch_and_add(&v->total_ns, d);
	max_set_shared(&v->max_ns, d);
	barrier_var(lb);
	if (lb < SNAG_SCHED_HIST_BUCKETS)
		__sync_fetch_and_add(&v->lat_hist[lb], 1);
	barrier_var(sb);
	if (sb < SNAG_SIZE_HIST_BUCKETS)
		__sync_fetch_and_add(&v->size_hist[sb], 1);
}

/*
 * Bytes come from the completions (block_rq_complete), not the start: bios
 * merged into the request after it started are included, and a partial
 * completion adds what it moved. The request ends at block_io_done (6.5+),
 * which fires once for every request the block layer accounts, on every
 * completion path; without it, at the completion that moves its last bytes.
 */
const volatile bool end_on_io_done = true;

SEC("tp_btf/block_rq_complete")
int BPF_PROG(handle_block_rq_complete, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	struct snag_blk_start *s = rq_slot(rq);

	/* Not started in the trace, or by a process that is not traced. */
	if (!s || s->rq != (__u64)rq)
		return 0;
	if (end_on_io_done) {
		s->done_bytes += nr_bytes;
		return 0;
	}
	if (nr_bytes < rq->__data_len) {
		s->done_bytes += nr_bytes;
		return 0;
	}
	finish_request(s, (__u64)s->done_bytes + nr_bytes);
	return 0;
}

SEC("tp_btf/block_io_done")
int BPF_PROG(handle_block_io_done, struct request *rq)
{
	struct snag_blk_start *s = rq_slot(rq);

	if (!s || s->rq != (__u64)rq)
		return 0;
	finish_request(s, s->done_bytes ? s->done_bytes : s->start_bytes);
	return 0;
}

/* ---- Sockets ---- */

static __always_inline void conn_key(struct sock *sk, __u16 family, struct snag_conn_key *k)
{
	k->family = family;
	k->lport = sk->__sk_common.skc_num;
	k->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (family == AF_INET) {
		*(__u32 *)k->laddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)k->raddr = sk->__sk_common.skc_daddr;
	} else {
		__builtin_memcpy(k->laddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(k->raddr, &sk->__sk_common.skc_v6_daddr, 16);
	}
}

static __always_inline void on_tcp_bytes(struct sock *sk, __u16 family, __u32 tgid,
					 const char *comm, int dir, __u64 bytes)
{
	struct snag_conn_key k = {};
	struct snag_conn_val *c, nv = {};

	conn_key(sk, family, &k);
	c = bpf_map_lookup_elem(&tcp_conns, &k);
	if (!c) {
		nv.tgid = tgid;
		__builtin_memcpy(nv.comm, comm, 16);
		bpf_map_update_elem(&tcp_conns, &k, &nv, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&tcp_conns, &k);
		if (!c) {
			count_drop(SNAG_IODROP_CONN_FULL);
			return;
		}
	} else if (c->tgid != tgid) {
		/* Handed to another process (or first seen retransmitting): the last user owns it.
		 */
		c->tgid = tgid;
		__builtin_memcpy(c->comm, comm, 16);
	}
	if (dir == SNAG_NET_SEND) {
		__sync_fetch_and_add(&c->sends, 1);
		__sync_fetch_and_add(&c->send_bytes, bytes);
	} else {
		__sync_fetch_and_add(&c->recvs, 1);
		__sync_fetch_and_add(&c->recv_bytes, bytes);
	}
}

static __always_inline void on_sock(struct sock *sk, int ret, int dir)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct snag_net_key key = {};
	struct snag_net_val *v;
	__u32 tgid = t->tgid;
	char comm[16];

	if (!wanted(t, tgid))
		return;
	key.tgid = tgid;
	key.family = sk->__sk_common.skc_family;
	key.type = sk->sk_type;
	key.protocol = sk->sk_protocol;
	key.dir = (__u16)dir;
	leader_comm(t, comm);
	v = get_row(&net_io, &key, &net_zero, comm, offsetof(struct snag_net_val, comm),
		    SNAG_IODROP_NET_FULL);
	if (!v)
		return;
	if (ret < 0) {
		v->errors++;
		return;
	}
	v->count++;
	v->bytes += ret;
	if ((__u64)ret < small_io_bytes)
		v->small_count++;
	size_add(v->size_hist, ret);
	if (ret > 0 && key.protocol == IPPROTO_TCP &&
	    (key.family == AF_INET || key.family == AF_INET6))
		on_tcp_bytes(sk, key.family, tgid, comm, dir, ret);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_sock_send_length, struct sock *sk, int ret, int flags)
{
	on_sock(sk, ret, SNAG_NET_SEND);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(handle_sock_recv_length, struct sock *sk, int ret, int flags)
{
	on_sock(sk, ret, SNAG_NET_RECV);
	return 0;
}

/*
 * Retransmits mostly fire from timers, not in the owner's context: the
 * connection map, keyed by 4-tuple, says whose it is. A system-wide trace
 * keeps connections it never saw used, with owner 0.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(handle_tcp_retransmit_skb, struct sock *sk, struct sk_buff *skb, int err)
{
	struct snag_conn_key k = {};
	struct snag_conn_val *c, nv = {};
	__u16 family = sk->__sk_common.skc_family;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	conn_key(sk, family, &k);
	c = bpf_map_lookup_elem(&tcp_conns, &k);
	if (!c) {
		/* A filtered trace: a connection no traced process used is not its business. */
		if (filter_tgid || filter_by_map || cgroup_id)
			return 0;
		bpf_map_update_elem(&tcp_conns, &k, &nv, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&tcp_conns, &k);
		if (!c) {
			count_drop(SNAG_IODROP_CONN_FULL);
			return 0;
		}
	}
	__sync_fetch_and_add(&c->retransmits, 1);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p)
{
	if (wait_exec && p->tgid == filter_tgid)
		exec_seen = 1;
	return 0;
}
