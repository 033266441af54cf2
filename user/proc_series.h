/*
 * Per-process totals of the kernel collectors, read every interval, and the
 * deltas between two reads: the report's per-interval process series.
 */
#ifndef SNAG_PROC_SERIES_H
#define SNAG_PROC_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include "report.h"

/* A growable table of per-process counters (struct report_interval_proc), keyed by pid. */
struct proc_table {
	struct report_interval_proc *rows;
	size_t n, cap;
	bool sorted; /* ascending pid, one row per pid (after proc_table__finish()) */
};

/* The row of pid, appended zeroed when missing (duplicates are merged by finish). NULL: ENOMEM. */
struct report_interval_proc *proc_table__row(struct proc_table *t, int pid);

/* Sort by pid and merge rows of the same pid. Returns 0 or -ENOMEM. */
int proc_table__finish(struct proc_table *t);

/* Empty the table, keeping its memory. */
void proc_table__reset(struct proc_table *t);
void proc_table__free(struct proc_table *t);

/*
 * The rows of cur minus the same pid's row of prev (both finished; a pid
 * missing from prev counts from zero; a counter that went down, as when a pid
 * was reused, counts from zero too), leaving out rows with no change. Returns
 * 0 with a new array in *out (NULL when *n is 0), or -ENOMEM.
 */
int proc_table__delta(const struct proc_table *cur, const struct proc_table *prev,
		      struct report_interval_proc **out, size_t *n);

#endif
