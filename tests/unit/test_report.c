/* Unit tests: report model, impact/severity, sorting with interval remap, bottleneck rules
 * (functions, off-CPU stacks, run-queue waits), unit formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <cmocka.h>
#include "analysis.h"
#include "model_fixture.h"
#include "report.h"

#define MS 1000000ULL
#define S  1000000000ULL

static const struct report_bottleneck *find_bottleneck(const struct report *r, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < r->n_bottlenecks; i++)
		if (!strncmp(r->bottlenecks[i].target, name, len) &&
		    r->bottlenecks[i].target[len] == ' ')
			return &r->bottlenecks[i];
	return NULL;
}

/* Does any recommendation of b contain needle? */
static int recommends(const struct report_bottleneck *b, const char *needle)
{
	size_t i;

	for (i = 0; i < b->n_recommendations; i++)
		if (strstr(b->recommendations[i], needle))
			return 1;
	return 0;
}

static double evidence(const struct report_bottleneck *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return b->evidence[i].value;
	fail_msg("no evidence %s", key);
	return -1;
}

static void test_new_and_free(void **state)
{
	struct report *r = report__new();
	struct utsname uts;

	(void)state;
	assert_non_null(r);
	assert_string_equal(r->snag_version, SNAG_VERSION);
	assert_non_null(r->hostname);
	assert_int_equal(uname(&uts), 0);
	assert_string_equal(r->kernel, uts.release);
	assert_int_equal(r->n_functions, 0);
	/* NULL strings are accepted and kept as NULL. */
	assert_non_null(report__add_function(r, NULL, NULL, 0));
	assert_null(r->functions[0].name);
	assert_int_equal(report__add_interval(r, 0, 1, NULL, 0), 0);
	assert_int_equal(report__add_interval(r, 0, 1, NULL, 3), -EINVAL);
	assert_int_equal(report__add_program(r, NULL, 1, 2), 0);
	assert_int_equal(report__add_drop(r, NULL, 3), 0);
	report__finish(r);
	report__free(r);
	report__free(NULL);
	report__finish(NULL);
}

static void test_severity(void **state)
{
	(void)state;
	assert_int_equal(severity__from_impact(0), SEVERITY_LOW);
	assert_int_equal(severity__from_impact(0.1), SEVERITY_LOW);
	assert_int_equal(severity__from_impact(0.1000001), SEVERITY_MEDIUM);
	assert_int_equal(severity__from_impact(0.2), SEVERITY_MEDIUM);
	assert_int_equal(severity__from_impact(0.2000001), SEVERITY_HIGH);
	assert_int_equal(severity__from_impact(0.5), SEVERITY_HIGH);
	assert_int_equal(severity__from_impact(0.5000001), SEVERITY_CRITICAL);
	assert_int_equal(severity__from_impact(1), SEVERITY_CRITICAL);
	assert_string_equal(severity__name(SEVERITY_LOW), "low");
	assert_string_equal(severity__name(SEVERITY_MEDIUM), "medium");
	assert_string_equal(severity__name(SEVERITY_HIGH), "high");
	assert_string_equal(severity__name(SEVERITY_CRITICAL), "critical");
}

static void test_format_parse(void **state)
{
	enum report_format f = FORMAT_TEXT;

	(void)state;
	assert_int_equal(report_format__parse("json", &f), 0);
	assert_int_equal(f, FORMAT_JSON);
	assert_int_equal(report_format__parse("text", &f), 0);
	assert_int_equal(f, FORMAT_TEXT);
	assert_int_equal(report_format__parse("folded", &f), 0);
	assert_int_equal(f, FORMAT_FOLDED);
	assert_int_equal(report_format__parse("html", &f), 0);
	assert_int_equal(f, FORMAT_HTML);
	assert_int_equal(report_format__parse("Folded", &f), -EINVAL);
	assert_int_equal(report_format__parse("xml", &f), -EINVAL);
	assert_int_equal(report_format__parse("", &f), -EINVAL);
	assert_int_equal(report_format__parse(NULL, &f), -EINVAL);
}

static void test_format_units(void **state)
{
	char b[ANALYSIS_COUNT_LEN];

	(void)state;
	assert_string_equal(analysis__format_duration(0, b, sizeof(b)), "0ns");
	assert_string_equal(analysis__format_duration(999, b, sizeof(b)), "999ns");
	assert_string_equal(analysis__format_duration(1000, b, sizeof(b)), "1.00us");
	assert_string_equal(analysis__format_duration(12345, b, sizeof(b)), "12.3us");
	assert_string_equal(analysis__format_duration(812000, b, sizeof(b)), "812us");
	assert_string_equal(analysis__format_duration(999600, b, sizeof(b)), "1.00ms");
	assert_string_equal(analysis__format_duration(2050000, b, sizeof(b)), "2.05ms");
	assert_string_equal(analysis__format_duration(1200000000, b, sizeof(b)), "1.20s");
	assert_string_equal(analysis__format_duration(3600 * S, b, sizeof(b)), "3600s");
	assert_string_equal(analysis__format_count(0, b, sizeof(b)), "0");
	assert_string_equal(analysis__format_count(999, b, sizeof(b)), "999");
	assert_string_equal(analysis__format_count(1234, b, sizeof(b)), "1,234");
	assert_string_equal(analysis__format_count(1234567, b, sizeof(b)), "1,234,567");
	assert_string_equal(analysis__format_count(UINT64_MAX, b, sizeof(b)),
			    "18,446,744,073,709,551,615");
}

/* Evidence as a label and a value: the text and HTML renderers both show it this way. */
static void test_format_evidence(void **state)
{
	static const struct {
		struct report_evidence e;
		const char *label, *value;
	} cases[] = {
	    {{"p99_ns", 3070000}, "p99", "3.07ms"},
	    {{"impact", 0.995}, "impact", "99.5%"},
	    {{"count", 1234}, "count", "1,234"},
	    {{"ops_per_s", 2523999.5}, "ops_per_s", "2.52e+06"},
	    {{"ratio_ns", 0.5}, "ratio_ns", "0.5"}, /* not integral: not a duration */
	    {{NULL, 2}, "-", "2"},
	};
	char label[ANALYSIS_EVIDENCE_LABEL_LEN], value[ANALYSIS_EVIDENCE_VALUE_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		analysis__format_evidence(&cases[i].e, label, sizeof(label), value, sizeof(value));
		assert_string_equal(label, cases[i].label);
		assert_string_equal(value, cases[i].value);
	}
}

static void test_derive_and_impact(void **state)
{
	struct report_function f = {0};

	(void)state;
	fixture_add_series(&f, 100, 1 * MS, 10000); /* 1.00 .. 1.99 ms */
	analysis__derive_function(&f, 10 * f.total_ns);
	assert_int_equal(f.avg_ns, f.total_ns / 100);
	assert_in_range(f.p50_ns, 1.48 * MS, 1.52 * MS);
	assert_in_range(f.p90_ns, 1.87 * MS, 1.93 * MS);
	assert_in_range(f.p99_ns, 1.96 * MS, 1.99 * MS);
	assert_true(f.impact > 0.0999 && f.impact < 0.1001);
	/* Nested or clock-skewed totals above the denominator clamp to 1. */
	analysis__derive_function(&f, f.total_ns / 2);
	assert_true(f.impact == 1.0);
	assert_int_equal(f.severity, SEVERITY_CRITICAL);
	/* No thread time known: impact 0, not a division by zero. */
	analysis__derive_function(&f, 0);
	assert_true(f.impact == 0.0);
	assert_int_equal(f.severity, SEVERITY_LOW);
}

/* A recursive function's inner calls lie inside its outer ones: impact counts inside_ns, not
 * total_ns. */
static void test_recursive_impact_uses_inside_time(void **state)
{
	struct report_function f = {0};

	(void)state;
	/* recurse(1) ten times: outer calls of 2 ms each containing an inner call of 1 ms. */
	for (int i = 0; i < 10; i++) {
		fixture_add_sample(&f, 2 * MS);
		fixture_add_sample(&f, 1 * MS);
	}
	f.inside_ns = 10 * 2 * MS;
	analysis__derive_function(&f, 100 * MS);
	assert_int_equal(f.avg_ns, 1.5 * MS);
	assert_true(f.impact > 0.1999 && f.impact < 0.2001);
}

static void test_zero_call_function(void **state)
{
	struct report *r = report__new();
	struct report_function *f;

	(void)state;
	assert_non_null(r);
	r->traced_thread_ns = S;
	f = report__add_function(r, "/bin/x", "idle", 0x10);
	assert_non_null(f);
	report__finish(r);
	f = &r->functions[0];
	assert_int_equal(r->n_functions, 1);
	assert_int_equal(f->avg_ns, 0);
	assert_int_equal(f->p50_ns, 0);
	assert_int_equal(f->p99_ns, 0);
	assert_true(f->impact == 0.0);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
}

static void test_sort_and_interval_remap(void **state)
{
	struct report *r = fixture_model();
	size_t i, j;

	(void)state;
	assert_non_null(r);
	/* A tie on impact is broken by total_ns: both at impact 1 after clamping. */
	fixture_function(r, "/usr/bin/app", "tie_small", 0x1300);
	fixture_function(r, "/usr/bin/app", "tie_big", 0x1400);
	fixture_add_series(&r->functions[3], 1, 300 * MS, 0);
	fixture_add_series(&r->functions[4], 1, 400 * MS, 0);
	report__finish(r);
	assert_string_equal(r->functions[0].name, "tie_big");
	assert_string_equal(r->functions[1].name, "tie_small");
	assert_string_equal(r->functions[2].name, "slow_io");
	assert_string_equal(r->functions[3].name, "fast_hash");
	assert_string_equal(r->functions[4].name, "never_called");
	for (i = 1; i < r->n_functions; i++)
		assert_true(r->functions[i - 1].impact >= r->functions[i].impact);
	/* The intervals still name the same functions. */
	assert_string_equal(r->functions[r->intervals[0].funcs[0].func].name, "slow_io");
	assert_string_equal(r->functions[r->intervals[0].funcs[1].func].name, "fast_hash");
	assert_string_equal(r->functions[r->intervals[1].funcs[0].func].name, "slow_io");
	assert_string_equal(r->functions[r->intervals[1].funcs[1].func].name, "never_called");
	for (i = 0; i < r->n_intervals; i++)
		for (j = 0; j < r->intervals[i].n_funcs; j++)
			assert_true(r->intervals[i].funcs[j].func < r->n_functions);
	/* Bottlenecks sorted by impact, descending. */
	for (i = 1; i < r->n_bottlenecks; i++)
		assert_true(r->bottlenecks[i - 1].impact >= r->bottlenecks[i].impact);
	report__free(r);
}

static void test_bottleneck_description(void **state)
{
	struct report *r = fixture_model();
	const struct report_bottleneck *b;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	/* slow_io is the only function above the threshold; fast_hash (1.6%) is not. */
	assert_int_equal(r->n_bottlenecks, 1);
	b = find_bottleneck(r, "slow_io");
	assert_non_null(b);
	assert_string_equal(b->kind, "function");
	assert_string_equal(b->target, "slow_io (/usr/bin/app)");
	assert_int_equal(b->pid, 1234);
	assert_int_equal(b->severity, SEVERITY_HIGH);
	assert_string_equal(b->description, "slow_io in /usr/bin/app takes 42.9% of traced thread "
					    "time (50 calls, p50 2.14ms, p99 2.29ms)");
	assert_true(evidence(b, "count") == 50);
	assert_true(evidence(b, "total_ns") == 107350000);
	assert_true(evidence(b, "avg_ns") == 2147000);
	assert_true(evidence(b, "p50_ns") == (double)r->functions[0].p50_ns);
	assert_true(evidence(b, "p99_ns") == 2294000);
	assert_true(evidence(b, "impact") == r->functions[0].impact);
	/* Flat latencies, few calls: only the generic advice. */
	assert_int_equal(b->n_recommendations, 1);
	assert_true(recommends(b, "largest share of time"));
	/* Finishing twice rebuilds rather than duplicates. */
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 1);
	report__free(r);
}

/* A report with one function at the given thread time, filled by fill(). */
static struct report *one_function(uint64_t thread_ns, uint64_t duration_ns,
				   void (*fill)(struct report_function *))
{
	struct report *r = report__new();

	assert_non_null(r);
	r->traced_thread_ns = thread_ns;
	r->duration_ns = duration_ns;
	assert_non_null(report__add_function(r, "/usr/bin/app", "f", 0x1000));
	fill(&r->functions[0]);
	report__finish(r);
	return r;
}

static void fill_tail(struct report_function *f)
{
	fixture_add_series(f, 90, 1 * MS, 0);
	fixture_add_series(f, 10, 20 * MS, 0);
}

static void fill_tail_few_calls(struct report_function *f)
{
	fixture_add_series(f, 15, 1 * MS, 0);
	fixture_add_series(f, 4, 20 * MS, 0);
}

static void fill_hot(struct report_function *f)
{
	fixture_add_series(f, 200000, 2000, 0);
}

static void test_rule_tail_latency(void **state)
{
	struct report *r = one_function(S, S, fill_tail);

	(void)state;
	assert_int_equal(r->n_bottlenecks, 1);
	assert_true(recommends(&r->bottlenecks[0], "p99 is 20.0x p50"));
	assert_false(recommends(&r->bottlenecks[0], "largest share"));
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
	/* The same shape over fewer than 20 calls is not evidence enough. */
	r = one_function(S, S, fill_tail_few_calls);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_false(recommends(&r->bottlenecks[0], "p99 is"));
	assert_true(recommends(&r->bottlenecks[0], "largest share"));
	report__free(r);
}

static void test_rule_hot_function(void **state)
{
	struct report *r = one_function(S, S, fill_hot);

	(void)state;
	assert_int_equal(r->n_bottlenecks, 1);
	assert_true(recommends(&r->bottlenecks[0], "called 200,000 times/s at avg 2.00us"));
	assert_false(recommends(&r->bottlenecks[0], "largest share"));
	report__free(r);
	/* Same calls spread over 1000 s: 200/s is not hot. */
	r = one_function(S, 1000 * S, fill_hot);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
	/* Unknown duration: no rate, no hot rule, no crash. */
	r = one_function(S, 0, fill_hot);
	assert_false(recommends(&r->bottlenecks[0], "times/s"));
	report__free(r);
}

static void test_bottleneck_threshold(void **state)
{
	struct report *r;

	(void)state;
	/* fill_hot totals 400 ms: exactly 5% of 8 s is not a bottleneck ... */
	r = one_function(8 * S, S, fill_hot);
	assert_true(r->functions[0].impact == ANALYSIS_BOTTLENECK_MIN_IMPACT);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* ... slightly more is. */
	r = one_function(8 * S - 1000, S, fill_hot);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_LOW);
	assert_int_equal(r->bottlenecks[0].pid, 0);
	report__free(r);
}

static void test_overhead_copies(void **state)
{
	struct report *r = fixture_model();

	(void)state;
	assert_non_null(r);
	assert_int_equal(r->overhead.n_programs, 2);
	assert_string_equal(r->overhead.programs[0].name, "handle_uprobe");
	assert_int_equal(r->overhead.programs[1].runs, 234);
	assert_int_equal(r->overhead.n_drops, 2);
	assert_string_equal(r->overhead.drops[0].cause, "unmatched_return");
	assert_int_equal(r->overhead.drops[0].count, 12);
	report__free(r);
}

static void test_stack_set(void **state)
{
	static const char *const two[] = {"inner", "outer"};
	static const char *const with_null[] = {"a", NULL};
	struct report *r = report__new();
	struct report_offcpu *o;

	(void)state;
	assert_non_null(r);
	o = report__add_offcpu(r, 1, 2, NULL, OFFCPU_PREEMPTED);
	assert_non_null(o);
	assert_null(o->comm);
	assert_int_equal(o->reason, OFFCPU_PREEMPTED);
	assert_int_equal(report_stack__set(&o->user_stack, two, 2, true), 0);
	assert_int_equal(o->user_stack.n_frames, 2);
	assert_string_equal(o->user_stack.frames[0], "inner");
	assert_true(o->user_stack.truncated);
	/* Copies: the caller's array is not kept. */
	assert_ptr_not_equal(o->user_stack.frames[0], two[0]);
	/* Replacing frees the old frames (ASan checks); a NULL name becomes "[unknown]". */
	assert_int_equal(report_stack__set(&o->user_stack, with_null, 2, false), 0);
	assert_string_equal(o->user_stack.frames[1], "[unknown]");
	assert_false(o->user_stack.truncated);
	assert_int_equal(report_stack__set(&o->kernel_stack, NULL, 0, false), 0);
	assert_int_equal(o->kernel_stack.n_frames, 0);
	assert_int_equal(report_stack__set(&o->kernel_stack, NULL, 3, false), -EINVAL);
	assert_int_equal(report_stack__set(NULL, two, 2, false), -EINVAL);
	/* Waker stacks and comm are freed by report__free() too. */
	assert_int_equal(report_stack__set(&o->waker_user_stack, two, 2, false), 0);
	o->waker_comm = strdup("waker");
	assert_non_null(report__add_sched(r, 1, 2, "t"));
	assert_string_equal(r->sched[0].comm, "t");
	assert_null(report__add_sched(NULL, 1, 2, "t"));
	assert_null(report__add_offcpu(NULL, 1, 2, "t", OFFCPU_BLOCKED));
	assert_string_equal(offcpu_reason__name(OFFCPU_BLOCKED), "blocked");
	assert_string_equal(offcpu_reason__name(OFFCPU_PREEMPTED), "preempted");
	report__free(r);
}

static void test_percentile_sched(void **state)
{
	uint64_t hist[SNAG_SCHED_HIST_BUCKETS] = {0};
	uint64_t p50, p99;
	int i;

	(void)state;
	/* 1..1000 us: p50 ~ 500 us, p99 ~ 990 us, within the layout's 1/16. */
	for (i = 1; i <= 1000; i++)
		hist[snag_sched_hist_bucket((uint64_t)i * 1000)]++;
	p50 = hist__percentile_sched(hist, 0.5, 1, 0);
	p99 = hist__percentile_sched(hist, 0.99, 1, 0);
	assert_in_range(p50, 500000 * 15 / 16, 500000 * 17 / 16);
	assert_in_range(p99, 990000 * 15 / 16, 990000 * 17 / 16);
	/* Known extremes clamp, and the top rank is the max. */
	assert_int_equal(hist__percentile_sched(hist, 1.0, 1000, 1000000), 1000000);
	assert_int_equal(hist__percentile_sched(hist, 0.001, 5000, 1000000), 5000);
	/* Small values have exact buckets (0..7 ns). */
	memset(hist, 0, sizeof(hist));
	hist[snag_sched_hist_bucket(5)] = 10;
	assert_int_equal(hist__percentile_sched(hist, 0.5, 1, 0), 5);
	/* The open-ended last bucket reaches up to a known max. */
	memset(hist, 0, sizeof(hist));
	hist[SNAG_SCHED_HIST_BUCKETS - 1] = 4;
	assert_true(hist__percentile_sched(hist, 0.5, 1, 0) >=
		    snag_sched_hist_lower(SNAG_SCHED_HIST_BUCKETS - 1));
	assert_int_equal(hist__percentile_sched(hist, 1.0, 0, 5ULL << 40), 5ULL << 40);
	memset(hist, 0, sizeof(hist));
	assert_int_equal(hist__percentile_sched(hist, 0.5, 1, 0), 0);
	assert_int_equal(hist__percentile_sched(NULL, 0.5, 1, 0), 0);
}

static const struct report_bottleneck *find_kind(const struct report *r, const char *kind, int pid,
						 const char *in_description)
{
	size_t i;

	for (i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, kind) && r->bottlenecks[i].pid == pid &&
		    strstr(r->bottlenecks[i].description, in_description))
			return &r->bottlenecks[i];
	return NULL;
}

static struct report *finished_sched_model(void)
{
	struct report *r = fixture_sched_model();

	assert_non_null(r);
	report__finish(r);
	return r;
}

static void test_sched_derive_and_sort(void **state)
{
	struct report *r = finished_sched_model();
	const struct report_thread_sched *busy;
	static const int order[][2] = {{1234, 1234}, {1234, 1235}, {1234, 1240}, {2000, 2000}};
	size_t i;

	(void)state;
	/* The collector left it 0: the sum of wall_ns. */
	assert_int_equal(r->sched_thread_ns, FIXTURE_SCHED_NS);
	assert_int_equal(r->n_sched, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r->sched[i].pid, order[i][0]);
		assert_int_equal(r->sched[i].tid, order[i][1]);
	}
	assert_string_equal(r->sched[1].comm, "worker");
	/* busy: 3,900 waits of 100 us and 100 of 2 ms. */
	busy = &r->sched[3];
	assert_in_range(busy->runq_p50_ns, 100000 * 15 / 16, 100000 * 17 / 16);
	assert_in_range(busy->runq_p99_ns, 2000000 * 15 / 16, 2000000 * 17 / 16);
	/* No waits in the histogram: 0. */
	assert_int_equal(r->sched[0].runq_p50_ns, 0);
	assert_int_equal(r->sched[0].runq_p99_ns, 0);
	/* Off-CPU entries by impact: futex 16%, sleep 15%, preempted 7.5%, I/O 1%. */
	assert_int_equal(r->n_offcpu, 4);
	assert_int_equal(r->offcpu[0].tid, 1235);
	assert_int_equal(r->offcpu[1].tid, 1234);
	assert_int_equal(r->offcpu[2].tid, 2000);
	assert_int_equal(r->offcpu[3].tid, 1240);
	assert_true(r->offcpu[0].impact > 0.1599 && r->offcpu[0].impact < 0.1601);
	assert_int_equal(r->offcpu[0].severity, SEVERITY_MEDIUM);
	assert_true(r->offcpu[2].impact > 0.0749 && r->offcpu[2].impact < 0.0751);
	assert_int_equal(r->offcpu[2].severity, SEVERITY_LOW);
	/* Stacks and wakers moved with their entries. */
	assert_string_equal(r->offcpu[0].user_stack.frames[2], "cache_get");
	assert_string_equal(r->offcpu[0].waker_comm, "writer");
	assert_string_equal(r->offcpu[1].kernel_stack.frames[2], "do_nanosleep");
	report__free(r);
}

static void test_sched_denominator_and_ties(void **state)
{
	struct report *r = fixture_sched_model();
	size_t i;

	(void)state;
	assert_non_null(r);
	/* A collector-set denominator is kept: impacts halve. */
	r->sched_thread_ns = 2 * FIXTURE_SCHED_NS;
	/* Equal impact: more total_ns first is not possible, so the insertion order decides. */
	fixture_offcpu(r, 3000, 3000, "tie_a", OFFCPU_BLOCKED, 1, 100 * FIXTURE_MS, 0, NULL, NULL);
	fixture_offcpu(r, 3000, 3001, "tie_b", OFFCPU_BLOCKED, 1, 100 * FIXTURE_MS, 0, NULL, NULL);
	report__finish(r);
	assert_int_equal(r->sched_thread_ns, 2 * FIXTURE_SCHED_NS);
	assert_true(r->offcpu[0].impact > 0.0799 && r->offcpu[0].impact < 0.0801);
	for (i = 1; i < r->n_offcpu; i++)
		assert_true(r->offcpu[i - 1].impact >= r->offcpu[i].impact);
	for (i = 0; i + 1 < r->n_offcpu; i++)
		if (r->offcpu[i].pid == 3000)
			break;
	assert_string_equal(r->offcpu[i].comm, "tie_a");
	assert_string_equal(r->offcpu[i + 1].comm, "tie_b");
	report__free(r);
}

static void test_processes(void **state)
{
	struct report *r = fixture_sched_model();
	struct analysis_process *p;
	size_t n;

	(void)state;
	assert_non_null(r);
	/* Rows are still unsorted: grouping must not depend on it. */
	assert_int_equal(analysis__processes(r, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].pid, 1234);
	assert_string_equal(p[0].comm, "app"); /* the main thread's, though added last */
	assert_int_equal(p[0].threads, 3);
	assert_int_equal(p[0].wall_ns, 3000 * FIXTURE_MS);
	assert_int_equal(p[0].oncpu_ns, 1400 * FIXTURE_MS);
	assert_int_equal(p[0].blocked_ns, 1480 * FIXTURE_MS);
	assert_int_equal(p[0].runq_total_ns, 120 * FIXTURE_MS);
	assert_int_equal(p[0].offcpu_ns, 1600 * FIXTURE_MS);
	assert_int_equal(p[0].voluntary_switches, 2300);
	assert_int_equal(p[0].involuntary_switches, 55);
	assert_int_equal(p[1].pid, 2000);
	assert_int_equal(p[1].preempted_ns, 400 * FIXTURE_MS);
	free(p);
	report__free(r);
	/* No rows: no array. */
	r = report__new();
	assert_non_null(r);
	assert_int_equal(analysis__processes(r, &p, &n), 0);
	assert_null(p);
	assert_int_equal(n, 0);
	report__free(r);
}

static void test_sched_bottlenecks(void **state)
{
	struct report *r = finished_sched_model();
	const struct report_bottleneck *b;
	size_t i;

	(void)state;
	/*
	 * Impacts are shares of all traced thread time (4 s): app's mutex waits 16% (a
	 * lock_contention finding that folds worker's futex stack), sleep 15%, busy's run queue
	 * 10% (40% of its own time), preempted 7.5%; I/O (1%) and app's run queue (4%) are
	 * below the thresholds.
	 */
	assert_int_equal(r->n_bottlenecks, 4);
	for (i = 1; i < r->n_bottlenecks; i++)
		assert_true(r->bottlenecks[i - 1].impact >= r->bottlenecks[i].impact);

	b = &r->bottlenecks[0];
	assert_string_equal(b->kind, "lock_contention");
	assert_string_equal(b->target, "app (pid 1234)");
	assert_int_equal(b->pid, 1234);
	assert_int_equal(b->severity, SEVERITY_MEDIUM);
	assert_string_equal(b->description,
			    "process 1234 (app) waited for locks 21.3% of its threads' time (640ms "
			    "in 1 thread, most in cache_get)");
	assert_true(evidence(b, "lock_wait_ns") == 640 * FIXTURE_MS);
	assert_true(evidence(b, "waits") == 1000);
	assert_true(evidence(b, "threads") == 1);
	assert_true(evidence(b, "impact") > 0.1599 && evidence(b, "impact") < 0.1601);
	assert_true(recommends(b, "lock contention in cache_get"));
	/* The futex stack it explains is not listed again. */
	assert_null(find_kind(r, "offcpu", 1235, ""));

	b = &r->bottlenecks[1];
	assert_string_equal(b->kind, "offcpu");
	assert_string_equal(b->description, "thread 1234 (app) spent 15.0% of traced thread time "
					    "blocked in do_nanosleep <- __nanosleep <- poll_loop "
					    "<- main");
	assert_true(recommends(b, "sleeping in poll_loop: if this is a polling loop, wait on an "
				  "event instead"));

	b = &r->bottlenecks[2];
	assert_string_equal(b->kind, "runqueue");
	assert_string_equal(b->target, "busy (pid 2000)");
	assert_int_equal(b->pid, 2000);
	assert_int_equal(b->severity, SEVERITY_LOW);
	assert_string_equal(
	    b->description,
	    "process 2000 (busy) waited for a CPU 40.0% of its threads' time (400ms "
	    "in the run queue over 1 thread, 4,000 involuntary switches)");
	assert_true(evidence(b, "threads") == 1);
	assert_true(evidence(b, "wall_ns") == 1000 * FIXTURE_MS);
	assert_true(evidence(b, "runq_total_ns") == 400 * FIXTURE_MS);
	assert_true(evidence(b, "involuntary_switches") == 4000);
	assert_true(evidence(b, "process_share") > 0.3999 && evidence(b, "process_share") < 0.4001);
	assert_true(evidence(b, "impact") > 0.0999 && evidence(b, "impact") < 0.1001);
	assert_true(recommends(b, "CPU saturation"));

	b = &r->bottlenecks[3];
	assert_string_equal(b->kind, "offcpu");
	assert_string_equal(b->description, "thread 2000 (busy) spent 7.5% of traced thread time "
					    "preempted in spin <- main");
	assert_int_equal(b->n_recommendations, 1);
	assert_true(recommends(b, "CPU saturation: spin was runnable but waited for a CPU"));
	assert_null(find_kind(r, "offcpu", 1234, "load_file"));
	assert_null(find_kind(r, "runqueue", 1234, ""));
	/* Finishing twice rebuilds rather than duplicates. */
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 4);
	assert_int_equal(r->sched_thread_ns, FIXTURE_SCHED_NS);
	report__free(r);
}

/*
 * One thread alive 1 s that spent 500 ms off-CPU with these stacks
 * (NULL-terminated, may be NULL), finished.
 */
static struct report *one_offcpu(enum offcpu_reason reason, const char *const *kernel,
				 const char *const *user)
{
	struct report *r = report__new();

	assert_non_null(r);
	assert_non_null(fixture_sched(r, 10, 11, "t", S, S / 2, S / 2, 0, 10, 0));
	assert_int_equal(fixture_offcpu(r, 10, 11, "t", reason, 50, S / 2, S / 5, kernel, user), 0);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 1);
	/* Mutex waits become the process's lock_contention finding; others stay stack findings. */
	if (strcmp(r->bottlenecks[0].kind, "lock_contention"))
		assert_string_equal(r->bottlenecks[0].kind, "offcpu");
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_HIGH);
	return r;
}

/* The single bottleneck of one_offcpu() recommends needle, and only one thing. */
static void expect_offcpu_rule(enum offcpu_reason reason, const char *const *kernel,
			       const char *const *user, const char *needle)
{
	struct report *r = one_offcpu(reason, kernel, user);

	if (!recommends(&r->bottlenecks[0], needle))
		fail_msg("\"%s\" not recommended; got \"%s\"", needle,
			 r->bottlenecks[0].recommendations[0]);
	assert_int_equal(r->bottlenecks[0].n_recommendations, 1);
	report__free(r);
}

/* A thread with nothing to do is never a bottleneck. */
static void expect_idle(const char *const *kernel, const char *const *user)
{
	struct report *r = report__new();

	assert_non_null(r);
	assert_non_null(fixture_sched(r, 10, 11, "t", S, S / 2, S / 2, 0, 10, 0));
	assert_int_equal(
	    fixture_offcpu(r, 10, 11, "t", OFFCPU_BLOCKED, 50, S / 2, S / 5, kernel, user), 0);
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 0);
	assert_true(analysis__offcpu_is_idle(&r->offcpu[0]));
	report__free(r);
}

static void test_offcpu_rules(void **state)
{
	static const char *const futex_k[] = {"schedule", "futex_wait_queue.constprop.0",
					      "futex_wait", NULL};
	static const char *const lock_u[] = {"__lll_lock_wait", "pthread_mutex_lock", "cache_get",
					     NULL};
	static const char *const cond_u[] = {"__futex_abstimed_wait_common", "pthread_cond_wait",
					     "queue_pop", NULL};
	static const char *const kmutex_k[] = {"__schedule", "schedule_preempt_disabled",
					       "__mutex_lock.constprop.0", "do_truncate", NULL};
	static const char *const sleep_k[] = {"schedule", "do_nanosleep", "hrtimer_nanosleep",
					      NULL};
	static const char *const sleep_u[] = {"clock_nanosleep", "usleep", "poller", NULL};
	static const char *const io_k[] = {"schedule", "io_schedule", "folio_wait_bit_common",
					   NULL};
	static const char *const blk_k[] = {"schedule", "blk_mq_get_tag", NULL};
	static const char *const io_u[] = {"pread64", "load_page", NULL};
	static const char *const net_k[] = {"schedule", "schedule_timeout", "sk_wait_data",
					    "tcp_recvmsg_locked", NULL};
	static const char *const epoll_k[] = {"schedule", "schedule_hrtimeout_range", "ep_poll",
					      "do_epoll_wait", NULL};
	static const char *const net_u[] = {"recv", "fetch_reply", NULL};
	static const char *const pipe_k[] = {"schedule", "pipe_read", "vfs_read", NULL};
	static const char *const pipe_u[] = {"read", "read_child_output", NULL};
	static const char *const preempt_k[] = {"preempt_schedule_irq", "irqentry_exit", NULL};
	static const char *const spin_u[] = {"crunch", "main", NULL};
	static const char *const other_k[] = {"__schedule", "schedule", "do_wait", "kernel_wait4",
					      NULL};

	(void)state;
	expect_offcpu_rule(OFFCPU_BLOCKED, futex_k, lock_u, "lock contention in cache_get");
	/* Waiting for work (a condition variable) or for events (epoll): idle, not a bottleneck. */
	expect_idle(futex_k, cond_u);
	expect_idle(epoll_k, NULL);
	/* A kernel mutex, no user stack: named after the kernel frame. */
	expect_offcpu_rule(OFFCPU_BLOCKED, kmutex_k, NULL,
			   "lock contention in __mutex_lock.constprop.0");
	expect_offcpu_rule(OFFCPU_BLOCKED, sleep_k, sleep_u,
			   "sleeping in poller: if this is a "
			   "polling loop, wait on an event");
	expect_offcpu_rule(OFFCPU_BLOCKED, io_k, io_u, "disk-bound: load_page waits for block I/O");
	expect_offcpu_rule(OFFCPU_BLOCKED, blk_k, io_u, "disk-bound");
	expect_offcpu_rule(OFFCPU_BLOCKED, net_k, net_u,
			   "waiting for the network or a peer in fetch_reply");

	expect_offcpu_rule(OFFCPU_BLOCKED, pipe_k, pipe_u,
			   "waiting on a pipe in read_child_output");
	expect_offcpu_rule(OFFCPU_PREEMPTED, preempt_k, spin_u, "CPU saturation: crunch");
	/* Preemption wins over whatever the kernel stack says. */
	expect_offcpu_rule(OFFCPU_PREEMPTED, futex_k, lock_u, "CPU saturation");
	/* Nothing known: generic advice naming the telling kernel frame. */
	expect_offcpu_rule(OFFCPU_BLOCKED, other_k, NULL, "blocked in do_wait: read its kernel");
	expect_offcpu_rule(OFFCPU_BLOCKED, NULL, NULL, "blocked in this thread");
}

static void test_offcpu_descriptions(void **state)
{
	static const char *const kthread_k[] = {
	    "__schedule", "schedule", "worker_thread", "kthread", "ret_from_fork", "x", "y", NULL};
	static const char *const libc_only_u[] = {"__libc_read", "read", NULL};
	static const char *const pipe_k[] = {"schedule", "pipe_read", NULL};
	struct report *r;

	(void)state;
	/* A kernel thread: a few more kernel frames instead of user ones. */
	r = one_offcpu(OFFCPU_BLOCKED, kthread_k, NULL);
	assert_string_equal(r->bottlenecks[0].description,
			    "thread 11 (t) spent 50.0% of traced thread time blocked in "
			    "worker_thread <- kthread <- ret_from_fork <- x");
	report__free(r);
	/* Only library frames: shown from the innermost. */
	r = one_offcpu(OFFCPU_BLOCKED, pipe_k, libc_only_u);
	assert_string_equal(r->bottlenecks[0].description,
			    "thread 11 (t) spent 50.0% of traced thread time blocked in "
			    "pipe_read <- __libc_read <- read");
	assert_true(recommends(&r->bottlenecks[0], "waiting on a pipe in __libc_read"));
	report__free(r);
	/* No stacks at all. */
	r = one_offcpu(OFFCPU_BLOCKED, NULL, NULL);
	assert_string_equal(r->bottlenecks[0].description,
			    "thread 11 (t) spent 50.0% of traced thread time blocked");
	assert_string_equal(r->bottlenecks[0].target, "blocked (tid 11 t)");
	report__free(r);
}

/* Entries that name the same frames (their raw stacks differed) are one wait. */
static void test_merge_offcpu(void **state)
{
	static const char *const k[] = {"schedule", "do_nanosleep", NULL};
	static const char *const u[] = {"nanosleep", "wait_for_timer", "main", NULL};
	static const char *const u2[] = {"nanosleep", "other_caller", "main", NULL};
	struct report *r = report__new();

	(void)state;
	assert_non_null(r);
	assert_int_equal(
	    fixture_offcpu(r, 10, 11, "t", OFFCPU_BLOCKED, 18, 180 * MS, 11 * MS, k, u), 0);
	assert_int_equal(fixture_offcpu(r, 10, 11, "t", OFFCPU_BLOCKED, 2, 20 * MS, 12 * MS, k, u),
			 1);
	assert_int_equal(fixture_offcpu(r, 10, 11, "t", OFFCPU_BLOCKED, 1, 5 * MS, 5 * MS, k, u2),
			 2);
	assert_int_equal(fixture_offcpu(r, 10, 12, "t", OFFCPU_BLOCKED, 1, 5 * MS, 5 * MS, k, u),
			 3);
	assert_int_equal(fixture_offcpu(r, 10, 11, "t", OFFCPU_PREEMPTED, 1, 5 * MS, 5 * MS, k, u),
			 4);
	assert_int_equal(report__merge_offcpu(r), 0);
	assert_int_equal(r->n_offcpu, 4);
	assert_int_equal(r->offcpu[0].count, 20);
	assert_int_equal(r->offcpu[0].total_ns, 200 * MS);
	assert_int_equal(r->offcpu[0].max_ns, 12 * MS);
	assert_string_equal(r->offcpu[1].user_stack.frames[1], "other_caller");
	assert_int_equal(r->offcpu[2].tid, 12);
	assert_int_equal(r->offcpu[3].reason, OFFCPU_PREEMPTED);
	report__free(r);
}

static void test_sched_rules_quiet(void **state)
{
	struct report *r = report__new();

	(void)state;
	assert_non_null(r);
	/* Collector on, nothing seen. */
	r->sched_enabled = true;
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 0);
	assert_int_equal(r->sched_thread_ns, 0);
	/* Rows with no time at all, an entry with no blocks, an entry with no denominator. */
	assert_non_null(fixture_sched(r, 1, 1, "idle", 0, 0, 0, 0, 0, 0));
	assert_non_null(fixture_sched(r, 2, 2, "zero-wall", 0, 0, 0, 5 * MS, 0, 3));
	fixture_offcpu(r, 1, 1, "idle", OFFCPU_BLOCKED, 0, 0, 0, NULL, NULL);
	fixture_offcpu(r, 2, 2, "zero-wall", OFFCPU_PREEMPTED, 3, 5 * MS, MS, NULL, NULL);
	report__finish(r);
	assert_true(r->offcpu[0].impact == 0.0);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
	/* An idle process: on-CPU nearly never, no run-queue wait, no stacks. */
	r = report__new();
	assert_non_null(r);
	assert_non_null(fixture_sched(r, 5, 5, "sleepy", S, MS, S - MS, 0, 10, 0));
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 0);
	report__free(r);
}

static void test_runqueue_threshold(void **state)
{
	struct report *r = report__new();

	(void)state;
	assert_non_null(r);
	/* Exactly 5% over two threads is not a bottleneck ... */
	assert_non_null(fixture_sched(r, 7, 7, "p", S, S / 2, S / 2 - 60 * MS, 60 * MS, 1, 50));
	assert_non_null(fixture_sched(r, 7, 8, "p", S, S, 0, 40 * MS, 1, 50));
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 0);
	/* ... slightly more is. */
	r->sched[1].runq_total_ns += 1000;
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 1);
	assert_string_equal(r->bottlenecks[0].kind, "runqueue");
	assert_int_equal(r->bottlenecks[0].severity, SEVERITY_LOW);
	assert_true(evidence(&r->bottlenecks[0], "threads") == 2);
	assert_true(evidence(&r->bottlenecks[0], "involuntary_switches") == 100);
	report__free(r);
}

static void test_mixed_bottlenecks_sorted(void **state)
{
	struct report *r = fixture_model();
	size_t i;

	(void)state;
	assert_non_null(r);
	/* A process waiting for a CPU half its time (50%) ranks above function slow_io (42.9%). */
	assert_non_null(fixture_sched(r, 2000, 2000, "busy", S, S / 2, 0, S / 2, 0, 10));
	report__finish(r);
	assert_int_equal(r->n_bottlenecks, 2);
	assert_string_equal(r->bottlenecks[0].kind, "runqueue");
	assert_string_equal(r->bottlenecks[1].kind, "function");
	for (i = 1; i < r->n_bottlenecks; i++)
		assert_true(r->bottlenecks[i - 1].impact >= r->bottlenecks[i].impact);
	report__free(r);
}

/* Unnamed frames group one row per module; named frames and near misses stay as they are. */
static void test_frame_function(void **state)
{
	static const char *const cases[][2] = {
	    {"[vdso]+0x7bd", "[vdso]"},
	    {"[vdso]+0x7c1", "[vdso]"},
	    {"[unknown]+0x7fafd0a45008", "[unknown]"},
	    {"[kernel]+0xffffffff81000000", "[kernel]"},
	    {"libfoo.so.1+0x1234", "[unknown] in libfoo.so.1"},
	    {"main", "main"},
	    {"__vdso_clock_gettime", "__vdso_clock_gettime"},
	    {"operator+", "operator+"},
	    {"f+0x", "f+0x"},
	    {"f+0x12g", "f+0x12g"},
	    {"+0x10", "+0x10"},
	    {"x+1", "x+1"},
	};
	char buf[REPORT_FRAME_FUNCTION_MAX], small[12];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(report__frame_function(cases[i][0], buf, sizeof(buf)),
				    cases[i][1]);
	/* A name that is not an unnamed frame is the caller's own string, not a copy. */
	assert_ptr_equal(report__frame_function(cases[5][0], buf, sizeof(buf)), cases[5][0]);
	assert_null(report__frame_function(NULL, buf, sizeof(buf)));
	/* A long module name is cut to the buffer, never overrun. */
	assert_string_equal(report__frame_function("libverylong.so+0x1", small, sizeof(small)),
			    "[unknown] i");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_and_free),
	    cmocka_unit_test(test_severity),
	    cmocka_unit_test(test_frame_function),
	    cmocka_unit_test(test_format_parse),
	    cmocka_unit_test(test_format_units),
	    cmocka_unit_test(test_format_evidence),
	    cmocka_unit_test(test_derive_and_impact),
	    cmocka_unit_test(test_recursive_impact_uses_inside_time),
	    cmocka_unit_test(test_zero_call_function),
	    cmocka_unit_test(test_sort_and_interval_remap),
	    cmocka_unit_test(test_bottleneck_description),
	    cmocka_unit_test(test_rule_tail_latency),
	    cmocka_unit_test(test_rule_hot_function),
	    cmocka_unit_test(test_bottleneck_threshold),
	    cmocka_unit_test(test_overhead_copies),
	    cmocka_unit_test(test_stack_set),
	    cmocka_unit_test(test_percentile_sched),
	    cmocka_unit_test(test_sched_derive_and_sort),
	    cmocka_unit_test(test_sched_denominator_and_ties),
	    cmocka_unit_test(test_processes),
	    cmocka_unit_test(test_sched_bottlenecks),
	    cmocka_unit_test(test_offcpu_rules),
	    cmocka_unit_test(test_offcpu_descriptions),
	    cmocka_unit_test(test_merge_offcpu),
	    cmocka_unit_test(test_sched_rules_quiet),
	    cmocka_unit_test(test_runqueue_threshold),
	    cmocka_unit_test(test_mixed_bottlenecks_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
