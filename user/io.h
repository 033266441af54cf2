/* I/O collector: loads io.bpf.c, reads block, socket, TCP connection and syscall rows into the
 * report. */
#ifndef SNAG_IO_H
#define SNAG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_collector;
struct report;
struct proc_table;

struct io_opts {
	const char *btf_path; /* custom kernel BTF, or NULL */
	const int *pids;      /* trace only these processes (n_pids > 0), else all */
	size_t n_pids;
	uint64_t cgroup_id;	 /* --cgroup: cgroup v2 id, 0 for none */
	uint32_t cgroup_level;	 /* its depth below the cgroup2 root */
	bool wait_exec;		 /* -c: the one pid is snag's fork until it execs */
	uint64_t small_io_bytes; /* an I/O below this many bytes is small */
};

/* Open the BPF object and configure it. Returns NULL with errno and snag_set_error() set. */
struct io_collector *io__new(const struct io_opts *o);

/* Load into the kernel. Returns 0 or -errno with snag_set_error(). */
int io__load(struct io_collector *io);

/* Attach every hook this kernel has. Returns 0 or -errno with snag_set_error(). */
int io__attach(struct io_collector *io);

/*
 * Read every row into r (block_io[], net_io[], net_conns[], syscall_io[],
 * io_enabled, small_io_bytes, drop counts, program statistics when
 * with_stats). Returns 0 or -errno.
 */
int io__collect(struct io_collector *io, struct report *r, bool with_stats);

/*
 * Add each process's I/O so far (syscall calls and bytes, block requests and
 * bytes, socket messages and bytes) to its row of t. Returns 0 or -errno.
 */
int io__read_procs(struct io_collector *io, struct proc_table *t);

/*
 * io__collect() without the TCP connection table: the per-process rows,
 * drops and (with_stats) program statistics, for reading every interval.
 * Returns 0 or -errno.
 */
int io__read_totals(struct io_collector *io, struct report *r, bool with_stats);

/* Detach and free. NULL is a no-op. */
void io__free(struct io_collector *io);

/* Names for the report: "read".."recvmsg"; "file".."other"; "read", "write", ... */
const char *io__syscall_name(unsigned int sys);
const char *io__fd_type_name(unsigned int t);
const char *io__block_op_name(unsigned int op);

/*
 * Protocol, family and type names of a socket (AF_*, SOCK_*, IPPROTO_*), e.g.
 * (AF_INET, SOCK_STREAM, IPPROTO_TCP) -> "tcp", "ipv4", "stream".
 */
const char *io__protocol_name(unsigned int family, unsigned int type, unsigned int protocol);
const char *io__family_name(unsigned int family);
const char *io__socket_type_name(unsigned int type);

/*
 * Write "ADDR:PORT" ("127.0.0.1:80", "[::1]:80") of a raw address (4 bytes for
 * AF_INET, 16 for AF_INET6) into buf. Returns buf.
 */
char *io__format_endpoint(unsigned int family, const uint8_t *addr, unsigned int port, char *buf,
			  size_t size);

/*
 * The block device name of dev (kernel dev_t: major << 20 | minor) from
 * /sys/dev/block ("vda", "nvme0n1p1"), or "MAJ:MIN" when it has none, into
 * buf. Returns buf.
 */
char *io__device_name(uint32_t dev, char *buf, size_t size);

#endif
