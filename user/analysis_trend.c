/*
 * Trends: sustained growth over the trace's intervals, judged by a fitted
 * least-squares line (slope, R^2), never by comparing two points.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

int analysis__fit_line(const double *x, const double *y, size_t n, struct analysis_fit *fit)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;

	memset(fit, 0, sizeof(*fit));
	if (n < 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
		syy += (y[i] - my) * (y[i] - my);
	}
	if (sxx <= 0)
		return -EINVAL;
	fit->n = n;
	fit->slope = sxy / sxx;
	fit->intercept = my - fit->slope * mx;
	fit->mean = my;
	/* A flat series is explained perfectly by a flat line. */
	fit->r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
	fit->x_first = x[0];
	fit->x_last = x[n - 1];
	return 0;
}

static double nonneg(double v)
{
	return v > 0 ? v : 0;
}

/* Relative growth the fitted line implies over its span: (last - first) / mean. */
static double growth(const struct analysis_fit *f)
{
	return f->mean > 0 ? f->slope * (f->x_last - f->x_first) / f->mean : 0;
}

bool analysis__is_trend(const struct analysis_fit *f)
{
	return f->n >= ANALYSIS_TREND_MIN_POINTS && f->slope > 0 &&
	       f->r2 >= ANALYSIS_TREND_MIN_R2 && growth(f) >= ANALYSIS_TREND_MIN_GROWTH;
}

/* Interval midpoints in seconds since the start; intervals shorter than 1 ms are skipped. */
static bool usable(const struct report_interval *iv)
{
	return iv->duration_ns >= 1000000;
}

static double mid_s(const struct report_interval *iv)
{
	return ((double)iv->offset_ns + (double)iv->duration_ns / 2) / 1e9;
}

static int add_evidence(struct report_bottleneck *b, const struct analysis_fit *f,
			const char *unit_key_first, const char *unit_key_last,
			const char *slope_key)
{
	int err = 0;

	err = err ?: finding__evidence(b, slope_key, f->slope);
	err = err ?: finding__evidence(b, "r2", f->r2);
	err = err ?: finding__evidence(b, unit_key_first, f->intercept + f->slope * f->x_first);
	err = err ?: finding__evidence(b, unit_key_last, f->intercept + f->slope * f->x_last);
	err = err ?: finding__evidence(b, "growth", growth(f));
	err = err ?: finding__evidence(b, "intervals", (double)f->n);
	return err ?: finding__evidence(b, "impact", b->impact);
}

/* Average latency of function fi per interval (intervals where it was called). */
static int function_trend(struct report *r, size_t fi, double *x, double *y)
{
	const struct report_function *fn = &r->functions[fi];
	char first[ANALYSIS_DURATION_LEN], last[ANALYSIS_DURATION_LEN], per[ANALYSIS_DURATION_LEN];
	struct report_bottleneck *b;
	struct analysis_fit f;
	size_t n = 0;

	if (fn->count < ANALYSIS_TREND_MIN_CALLS)
		return 0;
	for (size_t i = 0; i < r->n_intervals; i++) {
		const struct report_interval *iv = &r->intervals[i];

		for (size_t j = 0; usable(iv) && iv->funcs && j < iv->n_funcs; j++)
			if (iv->funcs[j].func == fi && iv->funcs[j].count) {
				x[n] = mid_s(iv);
				y[n++] = (double)iv->funcs[j].total_ns / (double)iv->funcs[j].count;
			}
	}
	if (analysis__fit_line(x, y, n, &f) || !analysis__is_trend(&f))
		return 0;
	b = finding__add(
	    r, "trend",
	    finding__printf("latency of %s (%s)", str_or(fn->name, "?"), str_or(fn->binary, "?")),
	    0, fn->impact);
	if (!b)
		return -ENOMEM;
	b->description = finding__printf(
	    "%s's average latency grew steadily from %s to %s (+%s per second, R^2 %.2f over %zu "
	    "intervals)",
	    str_or(fn->name, "?"),
	    analysis__format_duration((uint64_t)nonneg(f.intercept + f.slope * f.x_first), first,
				      sizeof(first)),
	    analysis__format_duration((uint64_t)nonneg(f.intercept + f.slope * f.x_last), last,
				      sizeof(last)),
	    analysis__format_duration((uint64_t)f.slope, per, sizeof(per)), f.r2, f.n);
	if (!b->description)
		return -ENOMEM;
	return add_evidence(b, &f, "first_ns", "last_ns", "slope_ns_per_s")
		   ?: finding__recommend(
			  b, finding__printf("latency that keeps growing under steady work points "
					     "at something accumulating: a queue or backlog, a "
					     "growing cache or table scanned per call, a leak, or "
					     "contention rising with load; compare the first and "
					     "last intervals (intervals[] in the JSON)"));
}

/* Per-process series from intervals[].processes: v(p) per second of interval. */
typedef double (*proc_value_fn)(const struct report_interval_proc *p);

static double offcpu_rate(const struct report_interval_proc *p)
{
	return (double)(p->runq_ns + p->blocked_ns) / 1e9;
}

static double io_rate(const struct report_interval_proc *p)
{
	return (double)(p->syscall_calls + p->block_requests + p->net_messages);
}

/* y[i] = value per second in interval i (0 where the process did nothing). */
static size_t proc_series(const struct report *r, int pid, proc_value_fn value, double *x,
			  double *y)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_intervals; i++) {
		const struct report_interval *iv = &r->intervals[i];
		double v = 0;

		if (!usable(iv))
			continue;
		for (size_t j = 0; iv->procs && j < iv->n_procs; j++)
			if (iv->procs[j].pid == pid)
				v = value(&iv->procs[j]);
		x[n] = mid_s(iv);
		y[n++] = v / ((double)iv->duration_ns / 1e9);
	}
	return n;
}

static int process_trends(struct report *r, const struct analysis_process *p, double *x, double *y)
{
	struct report_bottleneck *b;
	struct analysis_fit f;
	size_t n;
	int err = 0;

	/* Off-CPU time (blocked or waiting for a CPU), in thread-seconds per second. */
	n = proc_series(r, p->pid, offcpu_rate, x, y);
	if (!analysis__fit_line(x, y, n, &f) && analysis__is_trend(&f)) {
		b = finding__add(
		    r, "trend",
		    finding__printf("off-CPU time of %s (pid %d)", str_or(p->comm, "?"), p->pid),
		    p->pid, analysis__share(p->offcpu_ns, analysis__thread_time(r)));
		if (!b)
			return -ENOMEM;
		b->description = finding__printf(
		    "process %d (%s) spends more and more time off the CPU: from %.2f to %.2f "
		    "thread-seconds per second (R^2 %.2f over %zu intervals)",
		    p->pid, str_or(p->comm, "?"), nonneg(f.intercept + f.slope * f.x_first),
		    nonneg(f.intercept + f.slope * f.x_last), f.r2, f.n);
		err =
		    b->description ? add_evidence(b, &f, "first", "last", "slope_per_s") : -ENOMEM;
		err =
		    err
			?: finding__recommend(
			       b, finding__printf("its threads block or wait for a CPU more and "
						  "more: see which kind grows in the per-interval "
						  "series and the off-CPU stacks (locks under "
						  "rising load, a growing backlog, I/O slowing "
						  "down)"));
		if (err)
			return err;
	}
	/* I/O operations per second (syscalls, block requests, socket messages). */
	n = proc_series(r, p->pid, io_rate, x, y);
	if (!analysis__fit_line(x, y, n, &f) && analysis__is_trend(&f)) {
		b = finding__add(
		    r, "trend",
		    finding__printf("I/O rate of %s (pid %d)", str_or(p->comm, "?"), p->pid),
		    p->pid, 0);
		if (!b)
			return -ENOMEM;
		b->description = finding__printf(
		    "process %d (%s) does more and more I/O: from %.0f to %.0f operations per "
		    "second "
		    "(R^2 %.2f over %zu intervals)",
		    p->pid, str_or(p->comm, "?"), nonneg(f.intercept + f.slope * f.x_first),
		    nonneg(f.intercept + f.slope * f.x_last), f.r2, f.n);
		err =
		    b->description ? add_evidence(b, &f, "first", "last", "slope_per_s") : -ENOMEM;
		err =
		    err
			?: finding__recommend(
			       b, finding__printf("an I/O rate that keeps rising under steady work "
						  "suggests retries, a growing log or buffer, or "
						  "polling that speeds up; see the I/O tables for "
						  "which calls"));
		if (err)
			return err;
	}
	return 0;
}

int analysis__trend_bottlenecks(struct report *r, const struct analysis_process *procs,
				size_t n_procs)
{
	double *x, *y;
	int err = 0;

	if (r->n_intervals < ANALYSIS_TREND_MIN_POINTS)
		return 0;
	x = calloc(r->n_intervals, sizeof(*x));
	y = calloc(r->n_intervals, sizeof(*y));
	if (!x || !y) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !err && r->functions && i < r->n_functions; i++)
		err = function_trend(r, i, x, y);
	for (size_t i = 0; !err && i < n_procs; i++)
		if (procs[i].pid)
			err = process_trends(r, &procs[i], x, y);
out:
	free(x);
	free(y);
	return err;
}
