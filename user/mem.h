/*
 * Memory collector (--mem): loads mem.bpf.c, probes the allocator in the targets' libc, follows
 * outstanding bytes per allocation stack and each process's RSS and page faults per interval.
 */
#ifndef SNAG_MEM_H
#define SNAG_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem_collector;
struct report;
struct symbolizer;

/* Series of outstanding bytes are kept for at most this many allocation stacks at a time. */
#define MEM_MAX_SERIES 256
/* Live allocations followed at once; more are counted but not followed to their free. */
#define MEM_MAX_LIVE 262144

struct mem_opts {
	const char *btf_path; /* custom kernel BTF, or NULL */
	const int *pids;      /* the traced processes: -p pids, or the -c child (n_pids > 0) */
	size_t n_pids;
	const char *command_path; /* -c: the program pids[0] will exec; NULL with -p */
	uint32_t sample_every;	  /* --mem-sample: record one allocation call in this many */
	const char *proc_root;	  /* NULL: "/proc" */
};

/*
 * Find malloc, calloc, realloc, free, posix_memalign and aligned_alloc in the
 * targets' libc, open the BPF object and configure it. Returns NULL with errno
 * and snag_set_error() set: ENOENT when a process has no libc mapped (the
 * message says so), ESRCH when a function is missing from it, ENOTSUP when
 * the kernel has no uprobe_multi links.
 */
struct mem_collector *mem__new(const struct mem_opts *o);

/* Load into the kernel. Returns 0 or -errno with snag_set_error(). */
int mem__load(struct mem_collector *m);

/*
 * Attach the allocator probes and the mmap-family syscall hooks, and take the
 * first /proc sample (the base of the fault counts). Returns 0 or -errno with
 * snag_set_error().
 */
int mem__attach(struct mem_collector *m);

/* The fd to poll for new-stack events (-1 before mem__attach()). */
int mem__event_fd(struct mem_collector *m);

/*
 * Consume new-stack events: refresh the mappings of their processes in sym,
 * so stacks can be named after the processes exit. Returns 0 or -errno.
 */
int mem__poll(struct mem_collector *m, struct symbolizer *sym);

/*
 * End an interval: record the outstanding bytes of the followed stacks
 * (admitting the largest new ones, at most MEM_MAX_SERIES) and each
 * process's RSS and faults. Call once per report interval. Returns 0 or -errno.
 */
int mem__sample(struct mem_collector *m);

/*
 * Fill r: allocations[] (every row, stacks named through sym, counts scaled
 * by the sample rate, series for the followed stacks), memory[], mem_*,
 * drop counts, and program statistics when with_stats. The series have one
 * value per mem__sample() call, which must match r's intervals. Returns 0 or
 * -errno.
 */
int mem__collect(struct mem_collector *m, struct symbolizer *sym, struct report *r,
		 bool with_stats);

/* Detach and free. NULL is a no-op. */
void mem__free(struct mem_collector *m);

/*
 * How many bytes to move a uprobe past the first instruction of code (x86-64
 * machine code at a function's probe address, len bytes readable): when that
 * instruction only sets flags (test or cmp of registers, cmp/test of a
 * RIP-relative byte or word with an immediate) and the next one is one the
 * kernel emulates (push, jcc, jmp, call), the probe goes on the next one, so
 * the kernel need not single-step the first out of line (~10 us a hit). The
 * stack pointer and argument registers are the same there. 0 otherwise.
 */
size_t mem__probe_skip(const uint8_t *code, size_t len);

#endif
