/* Unwind tables of many files in one row array, as the BPF maps hold them, and the mapping lists
 * of processes that point into it. */
#ifndef SNAG_UNWIND_STORE_H
#define SNAG_UNWIND_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "unwind_table.h"

struct procmap;

/* One file's slice of the rows, found by (device, inode): every process mapping it shares it. */
struct unwind_store_file {
	uint64_t dev; /* makedev(major, minor); 0 (and inode 0) for the vdso */
	uint64_t ino;
	struct snag_unwind_tab tab; /* count 0: no table, err says why */
	struct unwind_load *loads;  /* its PT_LOAD segments, for the bias of each mapping */
	size_t n_loads;
	int err; /* 0, -ENOSPC (over the cap), or unwind_table__build()'s error */
	struct unwind_stats stats;
};

struct unwind_store {
	struct snag_unwind_row *rows; /* every file's rows, one file after the other */
	size_t n_rows;
	size_t max_rows; /* the cap: a file whose rows do not fit gets no table */
	size_t cap;	 /* allocated rows */
	struct unwind_store_file *files;
	size_t n_files;
	size_t files_over_cap;	 /* files refused by the cap */
	size_t files_failed;	 /* files without a table for another reason (no CFI, unreadable) */
	size_t mappings_dropped; /* executable mappings beyond SNAG_UNWIND_MAX_MAPS in a process */
};

/* An empty store whose rows may not exceed max_rows (at most 2^32). */
void unwind_store__init(struct unwind_store *s, size_t max_rows);

/* Free everything the store owns. Safe on a zeroed or already freed store. */
void unwind_store__free(struct unwind_store *s);

/*
 * The file of executable mapping pm of process pid (opened through
 * /proc/PID/root or map_files, so also inside containers and once deleted),
 * its table built and appended to the rows on first sight. A file that has
 * no table is remembered with its error and a tab.count of 0. Returns the
 * entry (owned by the store, valid until the next call), or NULL with errno
 * ENOMEM.
 */
const struct unwind_store_file *unwind_store__file(struct unwind_store *s, int pid,
						   const struct procmap *pm);

/*
 * Fill out with process pid's executable file mappings and its vdso, sorted
 * by start, each with its bias and its file's slice (built on first sight).
 * The vdso's table is snag's own vdso's, the image the kernel maps into every
 * 64-bit process. Returns 0, -ESRCH when there is no such process, or
 * -ENOMEM.
 */
int unwind_store__process(struct unwind_store *s, int pid, struct snag_unwind_proc *out);

#endif
