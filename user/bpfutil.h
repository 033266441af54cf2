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
