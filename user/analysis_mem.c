/*
 * Memory analysis (--mem): growth of each allocation stack's outstanding bytes and of each
 * process's RSS (least-squares fits over the intervals), and the memory_leak, allocation_churn
 * and RSS trend findings. See docs/impact.md, "Memory findings".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

/* Seconds from the trace start to the end of interval i: when its samples were read. */
static double end_s(const struct report *r, size_t i)
{
	const struct report_interval *iv = &r->intervals[i];

	return ((double)iv->offset_ns + (double)iv->duration_ns) / 1e9;
}

/* The points of a per-interval series that were measured, as x (s) and y. Returns their count. */
static size_t series_points(const struct report *r, const int64_t *v, size_t n, double *x,
			    double *y)
{
	size_t k = 0;

	for (size_t i = 0; v && i < n && i < r->n_intervals; i++) {
		if (v[i] == REPORT_SERIES_NONE)
			continue;
		x[k] = end_s(r, i);
		y[k++] = (double)v[i];
	}
	return k;
}

void analysis__derive_mem(struct report *r)
{
	double *x = calloc(r->n_intervals ? r->n_intervals : 1, sizeof(*x));
	double *y = calloc(r->n_intervals ? r->n_intervals : 1, sizeof(*y));
	struct analysis_fit f;

	if (!x || !y)
		goto out; /* no growth figures: the rows stand */
	for (size_t i = 0; r->allocations && i < r->n_allocations; i++) {
		struct report_allocation *a = &r->allocations[i];
		size_t n = series_points(r, a->series, a->n_series, x, y);

		a->growth_fitted = !analysis__fit_line(x, y, n, &f);
		a->growth_bytes_per_s = a->growth_fitted ? f.slope : 0;
		a->growth_r2 = a->growth_fitted ? f.r2 : 0;
		a->growth_points = a->growth_fitted ? n : 0;
	}
	for (size_t i = 0; r->memory && i < r->n_memory; i++) {
		struct report_memory *m = &r->memory[i];
		size_t n = series_points(r, m->rss_bytes, m->n, x, y);

		m->growth_fitted = !analysis__fit_line(x, y, n, &f);
		m->rss_growth_bytes_per_s = m->growth_fitted ? f.slope : 0;
		m->rss_growth_r2 = m->growth_fitted ? f.r2 : 0;
	}
out:
	free(x);
	free(y);
}

/* Allocation rows: outstanding bytes, then total bytes, both descending. */
static int cmp_allocation(const void *a, const void *b)
{
	const struct report_allocation *x = a, *y = b;

	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes > y->outstanding_bytes ? -1 : 1;
	if (x->total_bytes != y->total_bytes)
		return x->total_bytes > y->total_bytes ? -1 : 1;
	return 0;
}

static int cmp_memory(const void *a, const void *b)
{
	int x = ((const struct report_memory *)a)->pid, y = ((const struct report_memory *)b)->pid;

	return x < y ? -1 : x > y;
}

int analysis__sort_mem(struct report *r)
{
	int err = analysis__stable_sort((void **)&r->allocations, r->n_allocations,
					sizeof(*r->allocations), cmp_allocation, NULL);

	return err
		   ?: analysis__stable_sort((void **)&r->memory, r->n_memory, sizeof(*r->memory),
					    cmp_memory, NULL);
}

/* Frames of allocation wrappers, which say nothing about who allocates: skipped in names. */
static bool wrapper_frame(const char *f)
{
	static const char *const prefixes[] = {
	    "operator new", "_Znw",	"_Zna",	   "__libc_",  "__strdup",  "__strndup", "xmalloc",
	    "xcalloc",	    "xrealloc", "xstrdup", "g_malloc", "g_realloc", "g_strdup",
	};
	static const char *const exact[] = {"strdup", "strndup", "malloc", "calloc", "realloc"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(f, prefixes[i], strlen(prefixes[i])))
			return true;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(f, exact[i]))
			return true;
	return false;
}

const char *analysis__allocation_site(const struct report_allocation *a)
{
	for (size_t i = 0; a->stack.frames && i < a->stack.n_frames; i++)
		if (a->stack.frames[i] && !wrapper_frame(a->stack.frames[i]))
			return a->stack.frames[i];
	return a->stack.n_frames && a->stack.frames[0] ? a->stack.frames[0] : NULL;
}

/* "leak_block <- leak <- main": the site and up to two callers. New string, or NULL. */
static char *site_path(const struct report_allocation *a)
{
	const char *site = analysis__allocation_site(a);
	size_t i = 0, shown = 0;
	char *s = NULL;
	size_t len = 0;
	FILE *m;

	if (!site)
		return strdup("an unknown stack");
	m = open_memstream(&s, &len);
	if (!m)
		return NULL;
	while (i < a->stack.n_frames && a->stack.frames[i] != site)
		i++;
	for (; i < a->stack.n_frames && shown < 3; i++, shown++)
		fprintf(m, "%s%s", shown ? " <- " : "",
			a->stack.frames[i] ? a->stack.frames[i] : "?");
	if (fclose(m))
		return NULL;
	return s;
}

/* RSS peak of pid (0 when unknown). */
static uint64_t peak_rss(const struct report *r, int pid)
{
	for (size_t i = 0; r->memory && i < r->n_memory; i++)
		if (r->memory[i].pid == pid)
			return r->memory[i].peak_rss_bytes > r->memory[i].hwm_rss_bytes
				   ? r->memory[i].peak_rss_bytes
				   : r->memory[i].hwm_rss_bytes;
	return 0;
}

/* Thread time of pid: its threads' wall time when the scheduler saw them, else the duration. */
static uint64_t pid_thread_ns(const struct report *r, const struct analysis_process *procs,
			      size_t n_procs, int pid)
{
	for (size_t i = 0; i < n_procs; i++)
		if (procs[i].pid == pid && procs[i].wall_ns)
			return procs[i].wall_ns;
	return r->duration_ns;
}

static const char *proc_label(const struct report_allocation *a, char *buf, size_t size)
{
	if (a->comm)
		snprintf(buf, size, "pid %d %s", a->pid, a->comm);
	else
		snprintf(buf, size, "pid %d", a->pid);
	return buf;
}

/* A sampled run's figures are estimates: say so where the numbers are. */
static int recommend_sampling(struct report_bottleneck *b, const struct report *r)
{
	if (r->mem_sample <= 1)
		return 0;
	return finding__recommend(
	    b, finding__printf("counts are estimated from one allocation call in %llu "
			       "(--mem-sample): rerun with a lower rate for exact figures",
			       (unsigned long long)r->mem_sample));
}

bool analysis__is_leak(const struct report *r, const struct report_allocation *a,
		       struct analysis_fit *fit)
{
	double *x, *y;
	size_t n, half;
	struct analysis_fit tail;
	bool leak = false;

	memset(fit, 0, sizeof(*fit));
	if (!a->series || a->outstanding_count <= 0 || !r->n_intervals)
		return false;
	x = calloc(r->n_intervals, sizeof(*x));
	y = calloc(r->n_intervals, sizeof(*y));
	if (!x || !y)
		goto out;
	n = series_points(r, a->series, a->n_series, x, y);
	if (analysis__fit_line(x, y, n, fit) || !analysis__is_trend(fit) ||
	    fit->slope * (fit->x_last - fit->x_first) < ANALYSIS_LEAK_MIN_BYTES)
		goto out;
	/* Still growing at the end: a cache or pool that filled up and stopped is not a leak. */
	half = n / 2;
	leak = !analysis__fit_line(x + half, y + half, n - half, &tail) &&
	       tail.slope >= ANALYSIS_LEAK_TAIL_SHARE * fit->slope;
out:
	free(x);
	free(y);
	return leak;
}

static int leak_finding(struct report *r, const struct report_allocation *a,
			const struct analysis_fit *f)
{
	char who[64], rate[ANALYSIS_BYTES_LEN], out[ANALYSIS_BYTES_LEN],
	    life[ANALYSIS_DURATION_LEN];
	char frees[ANALYSIS_COUNT_LEN + 32], count[ANALYSIS_COUNT_LEN], total[ANALYSIS_COUNT_LEN];
	const char *site = analysis__allocation_site(a);
	uint64_t peak = peak_rss(r, a->pid);
	struct report_bottleneck *b;
	char *path = site_path(a);
	int err;

	if (!path)
		return -ENOMEM;
	b = finding__add(r, "memory_leak",
			 finding__printf("allocations in %s (%s)", site ? site : "an unknown stack",
					 proc_label(a, who, sizeof(who))),
			 a->pid, analysis__share((uint64_t)a->outstanding_bytes, peak));
	if (!b) {
		free(path);
		return -ENOMEM;
	}
	analysis__format_count(a->total_allocs, total, sizeof(total));
	if (a->freed_allocs)
		snprintf(frees, sizeof(frees), "%s of %s freed",
			 analysis__format_count(a->freed_allocs, count, sizeof(count)), total);
	else
		snprintf(frees, sizeof(frees), "none of %s freed", total);
	b->description = finding__printf(
	    "probable leak: blocks allocated in %s are not freed: their outstanding %s bytes grow "
	    "steadily by %s/s (R^2 %.2f over %zu intervals), %s in %s blocks at the end, %s",
	    path, a->source ? a->source : "heap",
	    analysis__format_bytes((uint64_t)(f->slope > 0 ? f->slope : 0), rate, sizeof(rate)),
	    f->r2, f->n, analysis__format_bytes((uint64_t)a->outstanding_bytes, out, sizeof(out)),
	    analysis__format_count((uint64_t)a->outstanding_count, count, sizeof(count)), frees);
	free(path);
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "growth_bytes_per_s", f->slope);
	err = err ?: finding__evidence(b, "r2", f->r2);
	err = err ?: finding__evidence(b, "intervals", (double)f->n);
	err = err ?: finding__evidence(b, "outstanding_bytes", (double)a->outstanding_bytes);
	err = err ?: finding__evidence(b, "outstanding_count", (double)a->outstanding_count);
	err = err ?: finding__evidence(b, "total_allocs", (double)a->total_allocs);
	err = err ?: finding__evidence(b, "freed_allocs", (double)a->freed_allocs);
	err = err ?: finding__evidence(b, "impact", b->impact);
	err = err
		  ?: finding__recommend(
			 b, finding__printf("check that every block allocated in %s is freed on "
					    "every path (error returns, early exits, entries "
					    "removed from containers); confirm with valgrind "
					    "--leak-check=full or LeakSanitizer (-fsanitize=leak) "
					    "in a test run",
					    site ? site : "this stack"));
	if (!err && a->freed_allocs)
		err = finding__recommend(
		    b,
		    finding__printf(
			"some of its blocks were freed, after %s on average: if the others only "
			"live longer than the trace, this is a cache or a queue filling up; trace "
			"for longer than that (-d) to tell, and bound it (size limit, LRU, TTL)",
			analysis__format_duration(a->lifetime_ns / a->freed_allocs, life,
						  sizeof(life))));
	return err ?: recommend_sampling(b, r);
}

bool analysis__is_churn(const struct report *r, const struct report_allocation *a)
{
	double secs = (double)r->duration_ns / 1e9;

	return a->source && !strcmp(a->source, "heap") &&
	       a->total_allocs >= ANALYSIS_CHURN_MIN_ALLOCS && secs > 0 &&
	       (double)a->total_allocs / secs >= ANALYSIS_CHURN_MIN_PER_SEC &&
	       (double)a->freed_allocs >=
		   ANALYSIS_CHURN_MIN_FREED_SHARE * (double)a->total_allocs &&
	       a->freed_allocs &&
	       a->lifetime_ns / a->freed_allocs <= ANALYSIS_CHURN_MAX_LIFETIME_NS;
}

static int churn_finding(struct report *r, const struct report_allocation *a,
			 const struct analysis_process *procs, size_t n_procs)
{
	char who[64], count[ANALYSIS_COUNT_LEN], rate[ANALYSIS_COUNT_LEN], size[ANALYSIS_BYTES_LEN];
	char life[ANALYSIS_DURATION_LEN];
	const char *site = analysis__allocation_site(a);
	double per_s = (double)a->total_allocs / ((double)r->duration_ns / 1e9);
	uint64_t cost = a->total_allocs * ANALYSIS_ALLOC_PAIR_NS, avg_life;
	struct report_bottleneck *b;
	char *path = site_path(a);
	int err;

	if (!path)
		return -ENOMEM;
	b = finding__add(r, "allocation_churn",
			 finding__printf("allocations in %s (%s)", site ? site : "an unknown stack",
					 proc_label(a, who, sizeof(who))),
			 a->pid, analysis__share(cost, pid_thread_ns(r, procs, n_procs, a->pid)));
	if (!b) {
		free(path);
		return -ENOMEM;
	}
	avg_life = a->lifetime_ns / a->freed_allocs;
	b->description = finding__printf(
	    "allocation churn: %s allocated %s blocks at %s/s (%s on average) and freed %.0f%% of "
	    "them after %s on average",
	    path, analysis__format_count(a->total_allocs, count, sizeof(count)),
	    analysis__format_count((uint64_t)per_s, rate, sizeof(rate)),
	    analysis__format_bytes(a->total_bytes / a->total_allocs, size, sizeof(size)),
	    PERCENT * (double)a->freed_allocs / (double)a->total_allocs,
	    analysis__format_duration(avg_life, life, sizeof(life)));
	free(path);
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "total_allocs", (double)a->total_allocs);
	err = err ?: finding__evidence(b, "allocs_per_s", per_s);
	err = err ?: finding__evidence(b, "avg_bytes", (double)(a->total_bytes / a->total_allocs));
	err = err
		  ?: finding__evidence(b, "freed_share",
				       (double)a->freed_allocs / (double)a->total_allocs);
	err = err ?: finding__evidence(b, "avg_lifetime_ns", (double)avg_life);
	err = err ?: finding__evidence(b, "allocator_ns", (double)cost);
	err = err ?: finding__evidence(b, "impact", b->impact);
	err = err
		  ?: finding__recommend(
			 b, finding__printf("reuse instead of allocating each time in %s: keep one "
					    "buffer across iterations (allocate it once, outside "
					    "the loop, or let the caller pass it in), keep freed "
					    "objects on a free list or in an object pool, or "
					    "allocate per-request objects from an arena freed in "
					    "one go; a small fixed-size temporary can live on the "
					    "stack",
					    site ? site : "this stack"));
	return err ?: recommend_sampling(b, r);
}

static int rss_trend(struct report *r, const struct report_memory *m, double *x, double *y)
{
	char first[ANALYSIS_BYTES_LEN], last[ANALYSIS_BYTES_LEN], rate[ANALYSIS_BYTES_LEN];
	struct report_bottleneck *b;
	struct analysis_fit f;
	size_t n = series_points(r, m->rss_bytes, m->n, x, y);
	double lo, hi;
	int err;

	if (analysis__fit_line(x, y, n, &f) || !analysis__is_trend(&f))
		return 0;
	lo = f.intercept + f.slope * f.x_first;
	hi = f.intercept + f.slope * f.x_last;
	b = finding__add(r, "trend",
			 finding__printf("RSS of %s (pid %d)", m->comm ? m->comm : "?", m->pid),
			 m->pid, 0);
	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "process %d (%s) holds more and more memory: its RSS grew from %s to %s (+%s/s, "
	    "R^2 %.2f over %zu intervals)",
	    m->pid, m->comm ? m->comm : "?",
	    analysis__format_bytes((uint64_t)(lo > 0 ? lo : 0), first, sizeof(first)),
	    analysis__format_bytes((uint64_t)(hi > 0 ? hi : 0), last, sizeof(last)),
	    analysis__format_bytes((uint64_t)f.slope, rate, sizeof(rate)), f.r2, f.n);
	if (!b->description)
		return -ENOMEM;
	err = finding__evidence(b, "slope_bytes_per_s", f.slope);
	err = err ?: finding__evidence(b, "r2", f.r2);
	err = err ?: finding__evidence(b, "first_bytes", lo);
	err = err ?: finding__evidence(b, "last_bytes", hi);
	err = err ?: finding__evidence(b, "intervals", (double)f.n);
	err = err ?: finding__evidence(b, "impact", 0);
	return err
		   ?: finding__recommend(
			  b,
			  finding__printf(
			      "compare with the memory_leak findings and the allocation stacks: "
			      "growth that no stack explains is memory outside malloc (mmap, "
			      "thread stacks, file mappings), pages of older blocks being "
			      "touched, or fragmentation (try MALLOC_ARENA_MAX=2, malloc_trim)"));
}

int analysis__mem_bottlenecks(struct report *r, const struct analysis_process *procs,
			      size_t n_procs)
{
	struct analysis_fit f;
	double *x = NULL, *y = NULL;
	int err = 0;

	if (!r->mem_enabled)
		return 0;
	for (size_t i = 0; !err && r->allocations && i < r->n_allocations; i++) {
		const struct report_allocation *a = &r->allocations[i];

		if (analysis__is_leak(r, a, &f))
			err = leak_finding(r, a, &f);
		else if (analysis__is_churn(r, a))
			err = churn_finding(r, a, procs, n_procs);
	}
	if (err || r->n_intervals < ANALYSIS_TREND_MIN_POINTS)
		return err;
	x = calloc(r->n_intervals, sizeof(*x));
	y = calloc(r->n_intervals, sizeof(*y));
	if (!x || !y)
		err = -ENOMEM;
	for (size_t i = 0; !err && r->memory && i < r->n_memory; i++)
		err = rss_trend(r, &r->memory[i], x, y);
	free(x);
	free(y);
	return err;
}
