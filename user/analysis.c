/* Analysis of a filled report: derived statistics, impact ranking, bottleneck rules, unit
 * formatting. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"

#define PERCENT 100.0

void analysis__derive_function(struct report_function *f, uint64_t traced_thread_ns)
{
	double impact = 0;

	f->avg_ns = f->count ? f->total_ns / f->count : 0;
	f->p50_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.50, f->min_ns, f->max_ns);
	f->p90_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.90, f->min_ns, f->max_ns);
	f->p99_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.99, f->min_ns, f->max_ns);
	if (traced_thread_ns)
		impact = (double)f->inside_ns / (double)traced_thread_ns;
	if (impact > 1)
		impact = 1;
	if (!(impact > 0))
		impact = 0;
	f->impact = impact;
	f->severity = severity__from_impact(impact);
}

/* qsort_r order on indices into the function array: impact, inside_ns descending, then index. */
static int cmp_function_idx(const void *a, const void *b, void *ctx)
{
	const struct report_function *funcs = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct report_function *fa = &funcs[ia], *fb = &funcs[ib];

	if (fa->impact != fb->impact)
		return fa->impact > fb->impact ? -1 : 1;
	if (fa->inside_ns != fb->inside_ns)
		return fa->inside_ns > fb->inside_ns ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

int analysis__sort_functions(struct report *r)
{
	struct report_function *sorted = NULL;
	size_t *order = NULL, *new_pos = NULL;
	size_t i, j, n = r->n_functions;
	int err = 0;

	if (n < 2)
		return 0;
	order = calloc(n, sizeof(*order));
	new_pos = calloc(n, sizeof(*new_pos));
	sorted = calloc(n, sizeof(*sorted));
	if (!order || !new_pos || !sorted) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_function_idx, r->functions);
	for (i = 0; i < n; i++) {
		sorted[i] = r->functions[order[i]];
		new_pos[order[i]] = i;
	}
	free(r->functions);
	r->functions = sorted;
	sorted = NULL;
	for (i = 0; i < r->n_intervals; i++) {
		struct report_interval *iv = &r->intervals[i];

		for (j = 0; j < iv->n_funcs; j++)
			if (iv->funcs[j].func < n)
				iv->funcs[j].func = new_pos[iv->funcs[j].func];
	}
cleanup:
	free(order);
	free(new_pos);
	free(sorted);
	return err;
}

/* Free what one bottleneck owns (not the struct itself). */
static void bottleneck_free(struct report_bottleneck *b)
{
	size_t i;

	free(b->kind);
	free(b->target);
	free(b->description);
	for (i = 0; i < b->n_evidence; i++)
		free(b->evidence[i].key);
	free(b->evidence);
	for (i = 0; i < b->n_recommendations; i++)
		free(b->recommendations[i]);
	free(b->recommendations);
}

void analysis__clear_bottlenecks(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n_bottlenecks; i++)
		bottleneck_free(&r->bottlenecks[i]);
	free(r->bottlenecks);
	r->bottlenecks = NULL;
	r->n_bottlenecks = 0;
}

char *analysis__format_duration(uint64_t ns, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	size_t i;

	if (ns < 1000) {
		snprintf(buf, size, "%uns", (unsigned)ns);
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double v = (double)ns / units[i].scale;
		int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
		int last = i + 1 == sizeof(units) / sizeof(units[0]);

		/* 999.6us rounds to "1000us": show it as "1.00ms" instead. */
		if (!last && v >= 999.5)
			continue;
		snprintf(buf, size, "%.*f%s", decimals, v, units[i].unit);
		return buf;
	}
	return buf; /* not reached: the last unit always prints */
}

char *analysis__format_count(uint64_t n, char *buf, size_t size)
{
	char digits[ANALYSIS_COUNT_LEN], out[ANALYSIS_COUNT_LEN];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	int i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
	return buf;
}

/* printf into a new string, or NULL. */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int add_evidence(struct report_bottleneck *b, const char *key, double value)
{
	struct report_evidence *e = &b->evidence[b->n_evidence];

	e->key = strdup(key);
	if (!e->key)
		return -ENOMEM;
	e->value = value;
	b->n_evidence++;
	return 0;
}

/* Append a recommendation (takes ownership of s). Returns 0 or -ENOMEM (s may be NULL). */
static int add_recommendation(struct report_bottleneck *b, char *s)
{
	if (!s)
		return -ENOMEM;
	b->recommendations[b->n_recommendations++] = s;
	return 0;
}

#define MAX_EVIDENCE	    6
#define MAX_RECOMMENDATIONS 3

static const char *str_or(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

/* Apply the rules to one function; fills recommendations. Returns 0 or -ENOMEM. */
static int recommend(struct report_bottleneck *b, const struct report_function *f,
		     uint64_t duration_ns)
{
	char avg[ANALYSIS_DURATION_LEN], rate_s[ANALYSIS_COUNT_LEN];
	double rate = duration_ns ? (double)f->count * 1e9 / (double)duration_ns : 0;
	int fired = 0, err;

	if (f->count >= ANALYSIS_TAIL_MIN_CALLS &&
	    (double)f->p99_ns > ANALYSIS_TAIL_RATIO * (double)f->p50_ns) {
		err = add_recommendation(
		    b, xasprintf("p99 is %.1fx p50: look for lock waits, I/O or GC pauses on "
				 "the slow path; trace its callees with -u to find which",
				 f->p50_ns ? (double)f->p99_ns / (double)f->p50_ns : 0.0));
		if (err)
			return err;
		fired++;
	}
	if (f->count >= ANALYSIS_HOT_MIN_CALLS && rate >= ANALYSIS_HOT_MIN_CALLS_PER_SEC &&
	    f->avg_ns <= ANALYSIS_HOT_MAX_AVG_NS) {
		analysis__format_count((uint64_t)(rate + 0.5), rate_s, sizeof(rate_s));
		analysis__format_duration(f->avg_ns, avg, sizeof(avg));
		err = add_recommendation(b, xasprintf("called %s times/s at avg %s: batch calls "
						      "or cache results",
						      rate_s, avg));
		if (err)
			return err;
		fired++;
	}
	if (!fired)
		return add_recommendation(b, strdup("largest share of time: trace its callees "
						    "(-u 'callee_*') to split it"));
	return 0;
}

/* Fill b for function f. Returns 0 or -ENOMEM (b may be partly filled; free it). */
static int function_bottleneck(struct report_bottleneck *b, const struct report_function *f,
			       const struct report *r)
{
	char p50[ANALYSIS_DURATION_LEN], p99[ANALYSIS_DURATION_LEN], calls[ANALYSIS_COUNT_LEN];
	const char *name = str_or(f->name, "?"), *binary = str_or(f->binary, "?");
	int err = 0;

	b->impact = f->impact;
	b->severity = severity__from_impact(f->impact);
	/* Functions are aggregated over all traced processes: name one only if there is one. */
	if (r->target.mode != TARGET_SYSTEM && r->target.n_pids == 1 && r->target.pids)
		b->pid = r->target.pids[0];
	b->kind = strdup("function");
	b->target = xasprintf("%s (%s)", name, binary);
	analysis__format_count(f->count, calls, sizeof(calls));
	b->description =
	    xasprintf("%s in %s takes %.1f%% of traced thread time (%s call%s, p50 %s, p99 %s)",
		      name, binary, f->impact * PERCENT, calls, f->count == 1 ? "" : "s",
		      analysis__format_duration(f->p50_ns, p50, sizeof(p50)),
		      analysis__format_duration(f->p99_ns, p99, sizeof(p99)));
	b->evidence = calloc(MAX_EVIDENCE, sizeof(*b->evidence));
	b->recommendations = calloc(MAX_RECOMMENDATIONS, sizeof(*b->recommendations));
	if (!b->kind || !b->target || !b->description || !b->evidence || !b->recommendations)
		return -ENOMEM;
	err = err ?: add_evidence(b, "count", (double)f->count);
	err = err ?: add_evidence(b, "total_ns", (double)f->total_ns);
	err = err ?: add_evidence(b, "p50_ns", (double)f->p50_ns);
	err = err ?: add_evidence(b, "p99_ns", (double)f->p99_ns);
	err = err ?: add_evidence(b, "avg_ns", (double)f->avg_ns);
	err = err ?: add_evidence(b, "impact", f->impact);
	return err ?: recommend(b, f, r->duration_ns);
}

static int is_bottleneck(const struct report_function *f)
{
	return f->count > 0 && f->impact > ANALYSIS_BOTTLENECK_MIN_IMPACT;
}

int analysis__build_bottlenecks(struct report *r)
{
	size_t i, j, n = 0;
	int err = 0;

	analysis__clear_bottlenecks(r);
	for (i = 0; i < r->n_functions; i++)
		n += is_bottleneck(&r->functions[i]);
	if (!n)
		return 0;
	r->bottlenecks = calloc(n, sizeof(*r->bottlenecks));
	if (!r->bottlenecks)
		return -ENOMEM;
	for (i = 0; i < r->n_functions; i++) {
		if (!is_bottleneck(&r->functions[i]))
			continue;
		/* Count it first so a partly filled entry is freed with the rest. */
		err = function_bottleneck(&r->bottlenecks[r->n_bottlenecks++], &r->functions[i], r);
		if (err) {
			analysis__clear_bottlenecks(r);
			return err;
		}
	}
	/* Stable insertion sort by impact, descending (the list is short and usually sorted). */
	for (i = 1; i < r->n_bottlenecks; i++) {
		struct report_bottleneck tmp = r->bottlenecks[i];

		for (j = i; j > 0 && r->bottlenecks[j - 1].impact < tmp.impact; j--)
			r->bottlenecks[j] = r->bottlenecks[j - 1];
		r->bottlenecks[j] = tmp;
	}
	return 0;
}
