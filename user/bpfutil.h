/* Helpers every collector shares: the trace clock, feature probes, program run statistics. */
#ifndef SNAG_BPFUTIL_H
#define SNAG_BPFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map;
struct bpf_object;
struct report;

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(). */
uint64_t bpfutil__monotonic_ns(void);

/*
 * Whether the kernel BTF (btf_path, or the running kernel's when NULL) has
 * the tracepoint tp (e.g. "sched_switch") for tp_btf programs; when it does
 * not, collectors fall back to raw_tp.
 */
bool bpfutil__btf_has_tracepoint(const char *btf_path, const char *tp);

/*
 * The distance in bytes from a CPU's run queue (per-CPU variable runqueues)
 * to its preempt count (per-CPU __preempt_count, or the preempt_count member
 * of per-CPU pcpu_hot on kernels 6.2 to 6.14), read from the .data..percpu
 * section of the kernel BTF at btf_path (the running kernel's when NULL).
 * Both are per-CPU variables, so the distance is the same on every CPU, and a
 * BPF program that finds its CPU's run queue finds its preempt count without
 * the kallsyms entry a ksym would need. Returns 0 with *delta set, -ENOENT
 * when the BTF lacks one of them, or another -errno.
 */
int bpfutil__preempt_count_from_rq(const char *btf_path, int64_t *delta);

/* The same from an already parsed BTF (for tests). */
struct btf;
int bpfutil__preempt_count_from_rq_btf(const struct btf *btf, int64_t *delta);

/*
 * Append the run count and run time of every loaded program of obj to the
 * report's overhead section (BPF stats must be enabled for non-zero times).
 * Returns 0 or -errno.
 */
int bpfutil__add_prog_stats(struct bpf_object *obj, struct report *r);

/*
 * Put each of the n pids into a collector's targets map (target_filter.h), for
 * filter_by_map. Returns 0 or -errno with snag_set_error().
 */
int bpfutil__fill_targets(int map_fd, const int *pids, size_t n);

/*
 * A task name from BPF (16 bytes, NUL-padded, maybe unterminated) as a C
 * string in out[17]. Control bytes become '?': a process can name itself
 * anything (prctl PR_SET_NAME), and the name reaches a terminal.
 */
void bpfutil__comm(char out[17], const char in[16]);

/*
 * Map a loaded BPF_F_MMAPABLE array read-only: its values, each rounded up to
 * 8 bytes, one after the other. *size gets the length for munmap(). NULL with
 * snag_set_error() on failure. Only the pages read count in snag's RSS.
 */
const void *bpfutil__map_array(struct bpf_map *map, size_t *size);

#endif
