/* On-CPU analysis: sampled time per entry, per-function self and total samples, CPU hotspots. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

/* Where the stacks of a sample start: the kernel frame it hit, else its user frame. */
static const char *innermost(const struct report_cpu *c, bool *kernel)
{
	*kernel = c->kernel_stack.frames && c->kernel_stack.n_frames;
	if (*kernel)
		return c->kernel_stack.frames[0];
	if (c->user_stack.frames && c->user_stack.n_frames)
		return c->user_stack.frames[0];
	return NULL;
}

/* Functions by (kernel, name), open addressing; the table keeps the order they were first seen. */
struct fn_table {
	struct report_cpu_function *fns;
	size_t n, cap;
	size_t *slots; /* index + 1, 0 = free */
	size_t n_slots;
	size_t *stamp; /* per function: the last entry (+ 1) that counted it in total */
	int *pids;     /* per function: the one pid it was seen in, -1 for several */
};

static uint64_t fn_hash(const char *name, bool kernel)
{
	uint64_t h = kernel ? 0x9e3779b97f4a7c15ull : 14695981039346656037ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ull;
	return h;
}

static int fn_grow(struct fn_table *t)
{
	size_t ns = t->n_slots ? t->n_slots * 2 : 256;
	size_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = fn_hash(t->fns[i].name, t->fns[i].kernel) & (ns - 1);

		while (slots[j])
			j = (j + 1) & (ns - 1);
		slots[j] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = ns;
	return 0;
}

/* The index of function (name, kernel), added when new; -ENOMEM when that fails. */
static long fn_get(struct fn_table *t, const char *name, bool kernel, int pid)
{
	size_t j;

	if (2 * (t->n + 1) > t->n_slots && fn_grow(t))
		return -ENOMEM;
	j = fn_hash(name, kernel) & (t->n_slots - 1);
	while (t->slots[j]) {
		size_t i = t->slots[j] - 1;

		if (t->fns[i].kernel == kernel && !strcmp(t->fns[i].name, name)) {
			if (t->pids[i] != pid)
				t->pids[i] = -1;
			return (long)i;
		}
		j = (j + 1) & (t->n_slots - 1);
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		void *a = realloc(t->fns, nc * sizeof(*t->fns));

		if (!a)
			return -ENOMEM;
		t->fns = a;
		if (!(a = realloc(t->stamp, nc * sizeof(*t->stamp))))
			return -ENOMEM;
		t->stamp = a;
		if (!(a = realloc(t->pids, nc * sizeof(*t->pids))))
			return -ENOMEM;
		t->pids = a;
		t->cap = nc;
	}
	memset(&t->fns[t->n], 0, sizeof(*t->fns));
	t->fns[t->n].name = strdup(name);
	if (!t->fns[t->n].name)
		return -ENOMEM;
	t->fns[t->n].kernel = kernel;
	t->stamp[t->n] = 0;
	t->pids[t->n] = pid;
	t->slots[j] = ++t->n;
	return (long)(t->n - 1);
}

/* Count entry e (index idx) in the total of every distinct function of st. */
static int add_totals(struct fn_table *t, const struct report_stack *st, bool kernel,
		      const struct report_cpu *e, size_t idx)
{
	for (size_t i = 0; st->frames && i < st->n_frames; i++) {
		char buf[REPORT_FRAME_FUNCTION_MAX];
		long f = fn_get(t,
				report__frame_function(st->frames[i] ? st->frames[i] : "[unknown]",
						       buf, sizeof(buf)),
				kernel, e->pid);

		if (f < 0)
			return (int)f;
		if (t->stamp[f] == idx + 1)
			continue; /* recursion: once per sample */
		t->stamp[f] = idx + 1;
		t->fns[f].total_samples += e->samples;
	}
	return 0;
}

/* By self samples, then total samples, descending, then by name. */
static int cmp_cpu_function(const void *a, const void *b)
{
	const struct report_cpu_function *x = a, *y = b;

	if (x->self_samples != y->self_samples)
		return x->self_samples > y->self_samples ? -1 : 1;
	if (x->total_samples != y->total_samples)
		return x->total_samples > y->total_samples ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* On-CPU entries: samples descending. */
static int cmp_cpu(const void *a, const void *b)
{
	const struct report_cpu *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return 0;
}

static void fn_table_free(struct fn_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->fns[i].name);
		free(t->fns[i].binary);
	}
	free(t->fns);
	free(t->slots);
	free(t->stamp);
	free(t->pids);
}

/* The binary of a user function, from the hot lines (NULL when none of its lines is there). */
static const char *line_binary(const struct report *r, const char *name)
{
	for (size_t i = 0; r->cpu_lines && i < r->n_cpu_lines; i++)
		if (r->cpu_lines[i].function && !strcmp(r->cpu_lines[i].function, name))
			return r->cpu_lines[i].binary;
	return NULL;
}

/* Rebuild r->cpu_functions from r->cpu. Returns 0 or -ENOMEM (then there are none). */
static int build_functions(struct report *r)
{
	uint64_t thread_ns = analysis__thread_time(r);
	struct fn_table t = {0};
	int err = 0;

	for (size_t i = 0; i < r->n_cpu_functions; i++) {
		free(r->cpu_functions[i].name);
		free(r->cpu_functions[i].binary);
	}
	free(r->cpu_functions);
	r->cpu_functions = NULL;
	r->n_cpu_functions = 0;
	for (size_t i = 0; !err && r->cpu && i < r->n_cpu; i++) {
		const struct report_cpu *e = &r->cpu[i];
		char buf[REPORT_FRAME_FUNCTION_MAX];
		const char *name;
		bool kernel;
		long f;

		name = innermost(e, &kernel);
		f = fn_get(&t, name ? report__frame_function(name, buf, sizeof(buf)) : "[no stack]",
			   kernel, e->pid);
		if (f < 0) {
			err = (int)f;
			break;
		}
		t.fns[f].self_samples += e->samples;
		if (!e->kernel_stack.n_frames && !e->user_stack.n_frames) {
			t.stamp[f] = i + 1;
			t.fns[f].total_samples += e->samples;
		}
		err = add_totals(&t, &e->kernel_stack, true, e, i);
		err = err ?: add_totals(&t, &e->user_stack, false, e, i);
	}
	for (size_t i = 0; !err && i < t.n; i++) {
		struct report_cpu_function *f = &t.fns[i];
		const char *bin = f->kernel ? NULL : line_binary(r, f->name);

		f->self_ns = f->self_samples * r->cpu_period_ns;
		f->total_ns = f->total_samples * r->cpu_period_ns;
		f->self_impact = analysis__share(f->self_ns, thread_ns);
		f->total_impact = analysis__share(f->total_ns, thread_ns);
		f->severity = severity__from_impact(f->self_impact);
		f->pid = t.pids[i] > 0 ? t.pids[i] : 0;
		if (bin && !(f->binary = strdup(bin)))
			err = -ENOMEM;
	}
	if (!err)
		err = analysis__stable_sort((void **)&t.fns, t.n, sizeof(*t.fns), cmp_cpu_function,
					    NULL);
	if (err) {
		fn_table_free(&t);
		return err;
	}
	r->cpu_functions = t.fns;
	r->n_cpu_functions = t.n;
	t.fns = NULL;
	t.n = 0;
	fn_table_free(&t);
	return 0;
}

void analysis__derive_cpu(struct report *r)
{
	uint64_t thread_ns = analysis__thread_time(r);

	if (!r->cpu_enabled)
		return;
	/* Raw stacks that differ only in addresses within the same functions are one entry. */
	report__merge_cpu(r);
	for (size_t i = 0; r->cpu && i < r->n_cpu; i++) {
		struct report_cpu *c = &r->cpu[i];

		c->oncpu_ns = c->samples * r->cpu_period_ns;
		c->impact = analysis__share(c->oncpu_ns, thread_ns);
		c->severity = severity__from_impact(c->impact);
	}
	analysis__stable_sort((void **)&r->cpu, r->n_cpu, sizeof(*r->cpu), cmp_cpu, NULL);
	build_functions(r);
}

uint64_t analysis__cpu_samples(const struct report *r)
{
	uint64_t n = 0;

	for (size_t i = 0; r->cpu && i < r->n_cpu; i++)
		n += r->cpu[i].samples;
	return n;
}

/* Does a stack whose innermost frame is f lose its callers to missing frame pointers? */
static bool callers_unknown(const struct report *r, const struct report_cpu_function *f)
{
	for (size_t i = 0; r->cpu && i < r->n_cpu; i++) {
		const struct report_cpu *c = &r->cpu[i];

		if (c->user_incomplete && !c->kernel_stack.n_frames && c->user_stack.n_frames &&
		    !f->kernel && !strcmp(str_or(c->user_stack.frames[0], ""), f->name))
			return true;
	}
	return false;
}

/* The hottest line of function f among r->cpu_lines, or NULL. */
static const struct report_cpu_line *hottest_line(const struct report *r,
						  const struct report_cpu_function *f)
{
	const struct report_cpu_line *best = NULL;

	for (size_t i = 0; !f->kernel && r->cpu_lines && i < r->n_cpu_lines; i++) {
		const struct report_cpu_line *l = &r->cpu_lines[i];

		if (l->function && !strcmp(l->function, f->name) &&
		    (!best || l->samples > best->samples))
			best = l;
	}
	return best;
}

/* The last path component of path. */
static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static int cpu_hotspot(struct report *r, const struct report_cpu_function *f, uint64_t all)
{
	char self[ANALYSIS_COUNT_LEN], total[ANALYSIS_COUNT_LEN], n_all[ANALYSIS_COUNT_LEN];
	const struct report_cpu_line *line = hottest_line(r, f);
	struct report_bottleneck *b;
	char where[512];
	int err = 0;

	if (f->kernel)
		snprintf(where, sizeof(where), "%s (kernel)", f->name);
	else if (f->binary)
		snprintf(where, sizeof(where), "%s in %s", f->name, f->binary);
	else
		snprintf(where, sizeof(where), "%s", f->name);
	b = finding__add(r, "cpu_hotspot",
			 f->kernel   ? finding__printf("%s [kernel]", f->name)
			 : f->binary ? finding__printf("%s (%s)", f->name, f->binary)
				     : finding__printf("%s", f->name),
			 f->pid, f->self_impact);
	if (!b)
		return -ENOMEM;
	analysis__format_count(f->self_samples, self, sizeof(self));
	analysis__format_count(f->total_samples, total, sizeof(total));
	analysis__format_count(all, n_all, sizeof(n_all));
	b->description = finding__printf(
	    "%s ran on a CPU for %.1f%% of traced thread time (it was the innermost frame of %s "
	    "of %s on-CPU samples; %.1f%% with its callees)",
	    where, f->self_impact * PERCENT, self, n_all, f->total_impact * PERCENT);
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "self_samples", (double)f->self_samples);
	err = err ?: finding__evidence(b, "total_samples", (double)f->total_samples);
	err = err ?: finding__evidence(b, "self_ns", (double)f->self_ns);
	err = err ?: finding__evidence(b, "total_ns", (double)f->total_ns);
	err = err ?: finding__evidence(b, "total_impact", f->total_impact);
	err = err ?: finding__evidence(b, "impact", f->self_impact);
	if (!err && line && f->self_samples)
		err = finding__recommend(
		    b, finding__printf("%.0f%% of its samples are at %s:%u: start there",
				       (double)line->samples * PERCENT / (double)f->self_samples,
				       base_of(line->file), line->line));
	if (err)
		return err;
	if (f->kernel)
		err = finding__recommend(
		    b,
		    finding__printf("CPU time in the kernel in %s: find the system calls or page "
				    "faults behind it (the user frames of its on-CPU stacks) and "
				    "make fewer or cheaper ones: batch calls, use larger buffers, "
				    "touch less new memory",
				    f->name));
	else
		err = finding__recommend(
		    b, finding__printf("CPU-bound in %s: make it do less work (a better algorithm "
				       "or data structure, less copying or allocation), call it "
				       "less often (cache its results), or spread the work over "
				       "more threads; its callers are in the on-CPU flame graph "
				       "(--format html, or folded for flamegraph.pl)",
				       f->name));
	if (!err && callers_unknown(r, f))
		err = finding__recommend(
		    b, finding__printf("its callers are unknown: %s has no frame pointers; rebuild "
				       "it with -fno-omit-frame-pointer to see who calls %s",
				       f->binary ? base_of(f->binary) : "its binary", f->name));
	return err;
}

int analysis__cpu_bottlenecks(struct report *r)
{
	uint64_t all = analysis__cpu_samples(r);
	int err = 0;

	for (size_t i = 0; !err && r->cpu_functions && i < r->n_cpu_functions; i++) {
		const struct report_cpu_function *f = &r->cpu_functions[i];

		if (f->self_samples >= ANALYSIS_CPU_HOT_MIN_SAMPLES &&
		    f->self_impact > ANALYSIS_BOTTLENECK_MIN_IMPACT)
			err = cpu_hotspot(r, f, all);
	}
	return err;
}
