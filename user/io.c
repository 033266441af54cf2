/* I/O collector: loads io.bpf.c and turns its maps into the report's I/O rows. */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "errors.h"
#include "io.h"
#include "proc_series.h"
#include "report.h"
#include "io.skel.h"
#include "snag_abi.h"

#define KDEV_MINORBITS 20

struct io_collector {
	struct io_bpf *skel;
	int *pids; /* for the targets map (more than one) */
	size_t n_pids;
	uint64_t small_io_bytes;
	int ncpus;
	/*
	 * The block rows' ids, mapped read-only: scanned every interval without a
	 * syscall. Their counters (blk_rows) are read with a lookup per row in use:
	 * the kernel maps every page of a BPF array at mmap(), and the 11 MiB of
	 * blk_rows would all count in snag's RSS.
	 */
	const struct snag_blk_id *blk_ids;
	size_t blk_ids_size;
};

static const char *const drop_names[SNAG_IODROP__COUNT] = {
    [SNAG_IODROP_SYS_FULL] = "syscall_io_table_full",
    [SNAG_IODROP_SYS_NO_STORAGE] = "syscall_no_storage",
    [SNAG_IODROP_BLK_FULL] = "block_io_table_full",
    [SNAG_IODROP_BLK_INFLIGHT_FULL] = "block_inflight_table_full",
    [SNAG_IODROP_NET_FULL] = "net_io_table_full",
    [SNAG_IODROP_CONN_FULL] = "tcp_connection_table_full",
    [SNAG_IODROP_BLK_END_UNSEEN] = "block_completion_unseen",
    [SNAG_IODROP_MAP_BUSY] = "io_row_refused",
};

const char *io__syscall_name(unsigned int sys)
{
	static const char *const names[SNAG_SYS__COUNT] = {
	    [SNAG_SYS_READ] = "read",	    [SNAG_SYS_WRITE] = "write",
	    [SNAG_SYS_PREAD64] = "pread64", [SNAG_SYS_PWRITE64] = "pwrite64",
	    [SNAG_SYS_READV] = "readv",	    [SNAG_SYS_WRITEV] = "writev",
	    [SNAG_SYS_SENDTO] = "sendto",   [SNAG_SYS_RECVFROM] = "recvfrom",
	    [SNAG_SYS_SENDMSG] = "sendmsg", [SNAG_SYS_RECVMSG] = "recvmsg",
	};

	return sys < SNAG_SYS__COUNT ? names[sys] : "other";
}

const char *io__fd_type_name(unsigned int t)
{
	static const char *const names[SNAG_FD__COUNT] = {
	    [SNAG_FD_FILE] = "file", [SNAG_FD_SOCKET] = "socket", [SNAG_FD_PIPE] = "pipe",
	    [SNAG_FD_TTY] = "tty",   [SNAG_FD_OTHER] = "other",
	};

	return t < SNAG_FD__COUNT ? names[t] : "other";
}

/* REQ_OP_* of include/linux/blk_types.h. */
const char *io__block_op_name(unsigned int op)
{
	switch (op) {
	case 0:
		return "read";
	case 1:
		return "write";
	case 2:
		return "flush";
	case 3:
		return "discard";
	case 5:
		return "secure_erase";
	case 7:
		return "zone_append";
	case 9:
		return "write_zeroes";
	default:
		return "other";
	}
}

const char *io__family_name(unsigned int family)
{
	switch (family) {
	case AF_INET:
		return "ipv4";
	case AF_INET6:
		return "ipv6";
	case AF_UNIX:
		return "unix";
	case AF_NETLINK:
		return "netlink";
	default:
		return "other";
	}
}

const char *io__socket_type_name(unsigned int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RAW:
		return "raw";
	default:
		return "other";
	}
}

const char *io__protocol_name(unsigned int family, unsigned int type, unsigned int protocol)
{
	if (family == AF_UNIX)
		return "unix";
	if (family == AF_NETLINK)
		return "netlink";
	if (family != AF_INET && family != AF_INET6)
		return "other";
	if (protocol == IPPROTO_TCP || (protocol == 0 && type == SOCK_STREAM))
		return "tcp";
	if (protocol == IPPROTO_UDP || (protocol == 0 && type == SOCK_DGRAM))
		return "udp";
	if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6)
		return "icmp";
	if (type == SOCK_RAW)
		return "raw";
	return "other";
}

char *io__format_endpoint(unsigned int family, const uint8_t *addr, unsigned int port, char *buf,
			  size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (family == AF_INET6) {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, port);
	} else {
		inet_ntop(AF_INET, addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, port);
	}
	return buf;
}

char *io__device_name(uint32_t dev, char *buf, size_t size)
{
	unsigned int major = dev >> KDEV_MINORBITS, minor = dev & ((1u << KDEV_MINORBITS) - 1);
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major, minor);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		snprintf(buf, size, "%s", basename(target));
	} else {
		snprintf(buf, size, "%u:%u", major, minor);
	}
	return buf;
}

/* Which programs to load: the block start hook this kernel has, and only hooks it has. */
static void select_programs(struct io_collector *io, const char *btf_path)
{
	struct {
		struct bpf_program *prog;
		const char *tp;
	} hooks[] = {
	    {io->skel->progs.handle_sys_enter, "sys_enter"},
	    {io->skel->progs.handle_sys_exit, "sys_exit"},
	    {io->skel->progs.handle_block_rq_complete, "block_rq_complete"},
	    {io->skel->progs.handle_sock_send_length, "sock_send_length"},
	    {io->skel->progs.handle_sock_recv_length, "sock_recv_length"},
	    {io->skel->progs.handle_tcp_retransmit_skb, "tcp_retransmit_skb"},
	    {io->skel->progs.handle_sched_process_exec, "sched_process_exec"},
	};
	bool io_start = bpfutil__btf_has_tracepoint(btf_path, "block_io_start");

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		bool have = bpfutil__btf_has_tracepoint(btf_path, hooks[i].tp);

		if (!have)
			fprintf(stderr,
				"snag: this kernel has no %s tracepoint; its I/O is not traced\n",
				hooks[i].tp);
		bpf_program__set_autoload(hooks[i].prog, have);
	}
	bpf_program__set_autoload(io->skel->progs.handle_block_io_start, io_start);
	/* block_io_start and block_io_done came together (6.5): end requests there when present. */
	io->skel->rodata->end_on_io_done = bpfutil__btf_has_tracepoint(btf_path, "block_io_done");
	bpf_program__set_autoload(io->skel->progs.handle_block_io_done,
				  io->skel->rodata->end_on_io_done);
	bpf_program__set_autoload(io->skel->progs.handle_block_rq_issue,
				  !io_start &&
				      bpfutil__btf_has_tracepoint(btf_path, "block_rq_issue"));
	if (!io->skel->rodata->wait_exec)
		bpf_program__set_autoload(io->skel->progs.handle_sched_process_exec, false);
}

struct io_collector *io__new(const struct io_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	struct io_collector *io = calloc(1, sizeof(*io));
	int err = 0;

	if (!io)
		return NULL;
	io->ncpus = libbpf_num_possible_cpus();
	if (io->ncpus <= 0) {
		err = io->ncpus < 0 ? io->ncpus : -EINVAL;
		snag_set_error("cannot count the possible CPUs: %s", strerror(-err));
		goto fail;
	}
	io->skel = io_bpf__open_opts(&open_opts);
	if (!io->skel) {
		err = -errno;
		snag_set_error("cannot open the I/O BPF object: %s", strerror(-err));
		goto fail;
	}
	io->small_io_bytes = o->small_io_bytes;
	io->skel->rodata->small_io_bytes = o->small_io_bytes;
	io->skel->rodata->self_tgid = (__u32)getpid();
	io->skel->rodata->cgroup_id = o->cgroup_id;
	io->skel->rodata->cgroup_level = o->cgroup_level;
	io->skel->rodata->wait_exec = o->wait_exec && o->n_pids == 1;
	if (o->n_pids == 1) {
		io->skel->rodata->filter_tgid = (__u32)o->pids[0];
	} else if (o->n_pids > 1) {
		io->skel->rodata->filter_by_map = true;
		io->pids = malloc(o->n_pids * sizeof(*io->pids));
		if (!io->pids) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(io->pids, o->pids, o->n_pids * sizeof(*io->pids));
		io->n_pids = o->n_pids;
	}
	select_programs(io, o->btf_path);
	return io;
fail:
	io__free(io);
	errno = -err;
	return NULL;
}

int io__load(struct io_collector *io)
{
	int err = io_bpf__load(io->skel);

	if (err) {
		snag_set_error("cannot load the I/O BPF programs into the kernel: %s "
			       "(run with SNAG_DEBUG=1 for the verifier log)",
			       strerror(-err));
		return err;
	}
	io->blk_ids = bpfutil__map_array(io->skel->maps.blk_ids, &io->blk_ids_size);
	if (!io->blk_ids)
		return -errno;
	return bpfutil__fill_targets(bpf_map__fd(io->skel->maps.targets), io->pids, io->n_pids);
}

int io__attach(struct io_collector *io)
{
	int err = io_bpf__attach(io->skel);

	if (err) {
		snag_set_error("cannot attach the I/O tracepoints: %s", strerror(-err));
		return err;
	}
	return 0;
}

struct entry_ctx {
	struct report *r;
	int ncpus;	      /* values per entry: 1, or the CPU count of a per-CPU map */
	struct proc_table *t; /* io__read_procs() */
};

/*
 * Call fn(ctx, key, values) for every entry of a hash map: values holds
 * ctx->ncpus values of val_size bytes (each rounded up to 8, as the kernel
 * lays out per-CPU values). Returns 0, fn's first error, or -ENOMEM.
 */
static int for_each_entry(int fd, size_t key_size, size_t val_size,
			  int (*fn)(const struct entry_ctx *ctx, const void *key, const char *vals,
				    size_t stride),
			  const struct entry_ctx *ctx)
{
	size_t stride = (val_size + 7) & ~(size_t)7;
	char *prev = NULL, *key = malloc(key_size), *next = malloc(key_size);
	char *vals = calloc(ctx->ncpus, stride);
	int err = 0;

	if (!key || !next || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, vals))
			continue; /* deleted meanwhile */
		err = fn(ctx, key, vals, stride);
	}
out:
	free(key);
	free(next);
	free(vals);
	return err;
}

/* Sum n u64 counters at the start of each per-CPU value into out (n counters). */
static void sum_u64(const char *vals, size_t stride, int ncpus, size_t off, size_t n, uint64_t *out)
{
	for (int c = 0; c < ncpus; c++) {
		const uint64_t *v = (const uint64_t *)(vals + c * stride + off);

		for (size_t i = 0; i < n; i++)
			out[i] += v[i];
	}
}

/* The largest u64 at off over the CPUs. */
static uint64_t max_u64(const char *vals, size_t stride, int ncpus, size_t off)
{
	uint64_t m = 0;

	for (int c = 0; c < ncpus; c++) {
		uint64_t v;

		memcpy(&v, vals + c * stride + off, sizeof(v));
		if (v > m)
			m = v;
	}
	return m;
}

/* The comm a CPU's copy of the row was created with (the first non-empty one). */
static void comm_of(const char *vals, size_t stride, int ncpus, size_t off, char out[17])
{
	out[0] = '\0';
	for (int c = 0; c < ncpus && !out[0]; c++)
		bpfutil__comm(out, vals + c * stride + off);
}

#define SUM(type, field, dst)                                                                      \
	sum_u64(vals, stride, ctx->ncpus, offsetof(type, field),                                   \
		sizeof(((type *)0)->field) / sizeof(uint64_t), (uint64_t *)(dst))

static int add_sys_row(const struct entry_ctx *ctx, const void *key, const char *vals,
		       size_t stride)
{
	const struct snag_sys_key *k = key;
	struct report_syscall_io *row;
	char comm[17];

	comm_of(vals, stride, ctx->ncpus, offsetof(struct snag_sys_val, comm), comm);
	row = report__add_syscall_io(ctx->r, (int)k->tgid, comm, io__syscall_name(k->sys),
				     io__fd_type_name(k->fd_type));
	if (!row)
		return -ENOMEM;
	SUM(struct snag_sys_val, count, &row->count);
	SUM(struct snag_sys_val, bytes, &row->bytes);
	SUM(struct snag_sys_val, small_count, &row->small_count);
	SUM(struct snag_sys_val, errors, &row->errors);
	SUM(struct snag_sys_val, total_ns, &row->total_ns);
	SUM(struct snag_sys_val, size_hist, row->size_hist);
	SUM(struct snag_sys_val, lat_hist, row->lat_hist);
	row->max_ns = max_u64(vals, stride, ctx->ncpus, offsetof(struct snag_sys_val, max_ns));
	return 0;
}

/*
 * A snapshot of block row i: its id (0 when the row is free)
 * and its counters as they stand (the BPF programs go on adding to them
 * meanwhile). Returns the request count: 0 also for a row
 * claimed at a request's start whose completion has not come yet.
 */
static uint64_t blk_row_read(const struct io_collector *io, size_t i, uint64_t *id, char comm[17],
			     struct snag_blk_val *v)
{
	uint64_t count = 0;

	__u32 key = (__u32)i;

	*id = __atomic_load_n(&io->blk_ids[i].id, __ATOMIC_ACQUIRE);
	if (!*id || bpf_map_lookup_elem(bpf_map__fd(io->skel->maps.blk_rows), &key, v))
		return 0;
	for (size_t b = 0; b < SNAG_SIZE_HIST_BUCKETS; b++)
		count += v->size_hist[b];
	if (comm)
		bpfutil__comm(comm, io->blk_ids[i].comm);
	return count;
}

static int add_blk_rows(const struct io_collector *io, struct report *r)
{
	struct snag_blk_val v;
	uint64_t id, count;
	char comm[17], dev[64];

	for (size_t i = 0; i < SNAG_BLK_ROWS; i++) {
		struct report_block_io *row;
		uint32_t devt;

		count = blk_row_read(io, i, &id, comm, &v);
		if (!count)
			continue;
		devt = SNAG_BLK_ID_DEV(id);
		row = report__add_block_io(r, (int)SNAG_BLK_ID_TGID(id), comm,
					   io__device_name(devt, dev, sizeof(dev)),
					   io__block_op_name(SNAG_BLK_ID_OP(id)));
		if (!row)
			return -ENOMEM;
		row->major = devt >> KDEV_MINORBITS;
		row->minor = devt & ((1u << KDEV_MINORBITS) - 1);
		row->count = count;
		row->bytes = v.bytes;
		row->total_ns = v.total_ns;
		row->max_ns = v.max_ns;
		memcpy(row->size_hist, v.size_hist, sizeof(row->size_hist));
		memcpy(row->lat_hist, v.lat_hist, sizeof(row->lat_hist));
	}
	return 0;
}

static int add_net_row(const struct entry_ctx *ctx, const void *key, const char *vals,
		       size_t stride)
{
	const struct snag_net_key *k = key;
	struct report_net_io *row;
	char comm[17];

	comm_of(vals, stride, ctx->ncpus, offsetof(struct snag_net_val, comm), comm);
	row = report__add_net_io(ctx->r, (int)k->tgid, comm,
				 io__protocol_name(k->family, k->type, k->protocol),
				 io__family_name(k->family), io__socket_type_name(k->type),
				 k->dir == SNAG_NET_RECV ? NET_RECV : NET_SEND);
	if (!row)
		return -ENOMEM;
	SUM(struct snag_net_val, count, &row->count);
	SUM(struct snag_net_val, bytes, &row->bytes);
	SUM(struct snag_net_val, small_count, &row->small_count);
	SUM(struct snag_net_val, errors, &row->errors);
	SUM(struct snag_net_val, size_hist, row->size_hist);
	return 0;
}

static int add_conn_row(const struct entry_ctx *ctx, const void *key, const char *vals,
			size_t stride)
{
	const struct snag_conn_key *k = key;
	const struct snag_conn_val *v = (const void *)vals;
	char comm[17], local[64], remote[64];
	struct report_net_conn *row;

	bpfutil__comm(comm, v->comm);
	(void)stride;
	row = report__add_net_conn(
	    ctx->r, (int)v->tgid, v->tgid ? comm : NULL, io__family_name(k->family),
	    io__format_endpoint(k->family, k->laddr, k->lport, local, sizeof(local)),
	    io__format_endpoint(k->family, k->raddr, k->rport, remote, sizeof(remote)));
	if (!row)
		return -ENOMEM;
	row->sends = v->sends;
	row->send_bytes = v->send_bytes;
	row->recvs = v->recvs;
	row->recv_bytes = v->recv_bytes;
	row->retransmits = v->retransmits;
	return 0;
}

static int read_counters(struct io_collector *io, struct snag_io_counters *sum)
{
	struct snag_io_counters *percpu = calloc(io->ncpus, sizeof(*percpu));
	__u32 zero = 0;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(io->skel->maps.io_counters), &zero, percpu)) {
		err = -errno;
		goto out;
	}
	for (int c = 0; c < io->ncpus; c++) {
		for (int d = 0; d < SNAG_IODROP__COUNT; d++)
			sum->drops[d] += percpu[c].drops[d];
	}
out:
	free(percpu);
	return err;
}

/*
 * Requests whose start was seen more than a second ago but whose end never
 * came, or whose process has exited. The kernel's completion tracepoints
 * (block_rq_complete and block_io_done alike) occasionally miss a request
 * that block_io_start saw (about 1 in 2,000 O_DIRECT writes here, cause not
 * found): count them as a drop rather than lose them silently. Younger ones
 * of live processes are still in flight.
 */
static int count_unseen_ends(struct io_collector *io, uint64_t *unseen)
{
	int fd = bpf_map__fd(io->skel->maps.blk_inflight);
	uint64_t now = bpfutil__monotonic_ns();
	struct snag_blk_start s;
	__u32 key, next, *prev = NULL;

	*unseen = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &s) || !s.rq)
			continue;
		/* A process that has exited has no I/O of its own still in flight. */
		if (s.ts + 1000000000ull < now || (kill((pid_t)s.tgid, 0) && errno == ESRCH))
			(*unseen)++;
	}
	return 0;
}

static int collect(struct io_collector *io, struct report *r, bool with_stats, bool with_conns)
{
	uint64_t unseen = 0;
	const struct entry_ctx percpu = {r, io->ncpus, NULL}, shared = {r, 1, NULL};
	struct snag_io_counters c;
	int err;

	r->io_enabled = true;
	r->small_io_bytes = io->small_io_bytes;
	err = for_each_entry(bpf_map__fd(io->skel->maps.sys_io), sizeof(struct snag_sys_key),
			     sizeof(struct snag_sys_val), add_sys_row, &percpu);
	err = err ?: add_blk_rows(io, r);
	err = err
		  ?: for_each_entry(bpf_map__fd(io->skel->maps.net_io), sizeof(struct snag_net_key),
				    sizeof(struct snag_net_val), add_net_row, &percpu);
	if (with_conns)
		err = err
			  ?: for_each_entry(bpf_map__fd(io->skel->maps.tcp_conns),
					    sizeof(struct snag_conn_key),
					    sizeof(struct snag_conn_val), add_conn_row, &shared);
	err = err ?: read_counters(io, &c);
	err = err ?: count_unseen_ends(io, &unseen);
	c.drops[SNAG_IODROP_BLK_END_UNSEEN] += unseen;
	for (int d = 0; !err && d < SNAG_IODROP__COUNT; d++)
		err = report__add_drop(r, drop_names[d], c.drops[d]);
	if (!err && with_stats)
		err = bpfutil__add_prog_stats(io->skel->obj, r);
	return err;
}

int io__collect(struct io_collector *io, struct report *r, bool with_stats)
{
	return collect(io, r, with_stats, true);
}

int io__read_totals(struct io_collector *io, struct report *r, bool with_stats)
{
	return collect(io, r, with_stats, false);
}

static int add_sys_totals(const struct entry_ctx *ctx, const void *key, const char *vals,
			  size_t stride)
{
	const struct snag_sys_key *k = key;
	struct report_interval_proc *row = proc_table__row(ctx->t, (int)k->tgid);
	uint64_t count = 0, errors = 0, bytes = 0;

	if (!row)
		return -ENOMEM;
	SUM(struct snag_sys_val, count, &count);
	SUM(struct snag_sys_val, errors, &errors);
	SUM(struct snag_sys_val, bytes, &bytes);
	row->syscall_calls += count + errors;
	row->syscall_bytes += bytes;
	return 0;
}

static int add_blk_totals(const struct io_collector *io, struct proc_table *t)
{
	struct snag_blk_val v;
	uint64_t id, count;

	for (size_t i = 0; i < SNAG_BLK_ROWS; i++) {
		struct report_interval_proc *row;

		count = blk_row_read(io, i, &id, NULL, &v);
		if (!count)
			continue;
		row = proc_table__row(t, (int)SNAG_BLK_ID_TGID(id));
		if (!row)
			return -ENOMEM;
		row->block_requests += count;
		row->block_bytes += v.bytes;
	}
	return 0;
}

static int add_net_totals(const struct entry_ctx *ctx, const void *key, const char *vals,
			  size_t stride)
{
	const struct snag_net_key *k = key;
	struct report_interval_proc *row = proc_table__row(ctx->t, (int)k->tgid);

	if (!row)
		return -ENOMEM;
	SUM(struct snag_net_val, count, &row->net_messages);
	SUM(struct snag_net_val, bytes, &row->net_bytes);
	return 0;
}

int io__read_procs(struct io_collector *io, struct proc_table *t)
{
	const struct entry_ctx ctx = {.ncpus = io->ncpus, .t = t};
	int err;

	err = for_each_entry(bpf_map__fd(io->skel->maps.sys_io), sizeof(struct snag_sys_key),
			     sizeof(struct snag_sys_val), add_sys_totals, &ctx);
	err = err ?: add_blk_totals(io, t);
	return err
		   ?: for_each_entry(bpf_map__fd(io->skel->maps.net_io),
				     sizeof(struct snag_net_key), sizeof(struct snag_net_val),
				     add_net_totals, &ctx);
}

void io__free(struct io_collector *io)
{
	if (!io)
		return;
	if (io->blk_ids)
		munmap((void *)io->blk_ids, io->blk_ids_size);
	io_bpf__destroy(io->skel);
	free(io->pids);
	free(io);
}
