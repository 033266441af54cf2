/* Per-process counter tables and their interval deltas. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proc_series.h"

/* The counters of a row, in order: everything after pid. */
#define N_COUNTERS                                                                                 \
	((sizeof(struct report_interval_proc) - offsetof(struct report_interval_proc, oncpu_ns)) / \
	 sizeof(uint64_t))

static uint64_t *counters(struct report_interval_proc *p)
{
	return &p->oncpu_ns;
}

static const uint64_t *const_counters(const struct report_interval_proc *p)
{
	return &p->oncpu_ns;
}

struct report_interval_proc *proc_table__row(struct proc_table *t, int pid)
{
	struct report_interval_proc *row;

	if (t->n && t->rows[t->n - 1].pid == pid)
		return &t->rows[t->n - 1]; /* rows of one pid usually come together */
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct report_interval_proc *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		t->rows = rows;
		t->cap = cap;
	}
	row = &t->rows[t->n++];
	memset(row, 0, sizeof(*row));
	row->pid = pid;
	t->sorted = false;
	return row;
}

static int cmp_pid(const void *a, const void *b)
{
	int pa = ((const struct report_interval_proc *)a)->pid;
	int pb = ((const struct report_interval_proc *)b)->pid;

	return pa < pb ? -1 : pa > pb;
}

int proc_table__finish(struct proc_table *t)
{
	size_t out = 0;

	if (t->sorted || !t->n)
		return 0;
	qsort(t->rows, t->n, sizeof(*t->rows), cmp_pid);
	for (size_t i = 0; i < t->n; i++) {
		if (out && t->rows[out - 1].pid == t->rows[i].pid) {
			uint64_t *dst = counters(&t->rows[out - 1]);
			const uint64_t *src = const_counters(&t->rows[i]);

			for (size_t c = 0; c < N_COUNTERS; c++)
				dst[c] += src[c];
			continue;
		}
		t->rows[out++] = t->rows[i];
	}
	t->n = out;
	t->sorted = true;
	return 0;
}

void proc_table__reset(struct proc_table *t)
{
	t->n = 0;
	t->sorted = true;
}

void proc_table__free(struct proc_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static const struct report_interval_proc *find(const struct proc_table *t, int pid)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pid == pid)
			return &t->rows[mid];
		if (t->rows[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int proc_table__delta(const struct proc_table *cur, const struct proc_table *prev,
		      struct report_interval_proc **out, size_t *n)
{
	struct report_interval_proc *d = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!cur->n)
		return 0;
	d = calloc(cur->n, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < cur->n; i++) {
		const struct report_interval_proc *c = &cur->rows[i];
		const struct report_interval_proc *p = prev ? find(prev, c->pid) : NULL;
		const uint64_t *cv = const_counters(c), *pv = p ? const_counters(p) : NULL;
		uint64_t *dv = counters(&d[k]);
		bool any = false;

		d[k].pid = c->pid;
		for (size_t j = 0; j < N_COUNTERS; j++) {
			dv[j] = pv && cv[j] >= pv[j] ? cv[j] - pv[j] : cv[j];
			any |= dv[j] != 0;
		}
		k += any;
	}
	if (!k) {
		free(d);
		return 0;
	}
	*out = d;
	*n = k;
	return 0;
}
