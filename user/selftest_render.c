/* snag selftest's result model: judging each check, and printing the results as tables or JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "analysis.h"
#include "selftest.h"

#define GROUP_WIDTH	8  /* "function" */
#define CHECK_MIN_WIDTH 5  /* "CHECK" */
#define VALUE_WIDTH	10 /* "10,000", "2.07ms", "819,200B" */
#define ERROR_WIDTH	7  /* "+12.3%" */
#define TOL_WIDTH	9  /* "-1%/+15%", "at least" */
#define VALUE_LEN	32
#define PERCENT		100.0
#define BUSY_PRESSURE	0.10 /* idle here: under 1%; a busy machine makes timing checks fail */

/* v rounded to the nearest integer (v >= 0): no libm for one llround. */
static uint64_t round_u64(double v)
{
	return (uint64_t)(v + 0.5);
}

void selftest_check__judge(struct selftest_check *c)
{
	double m = c->measured, e = c->expected;

	if (isnan(m)) {
		c->pass = false;
		return;
	}
	switch (c->tolerance) {
	case SELFTEST_EXACT:
		c->pass = m == e;
		break;
	case SELFTEST_AT_LEAST:
		c->pass = m >= e;
		break;
	case SELFTEST_RANGE:
		c->pass = m >= e * (1 - c->below) && m <= e * (1 + c->above);
		break;
	default:
		c->pass = false;
	}
}

double selftest_check__error(const struct selftest_check *c)
{
	if (isnan(c->measured) || c->unit == SELFTEST_PRESENCE || c->expected == 0)
		return NAN;
	return c->measured / c->expected - 1;
}

static const char *unit_name(enum selftest_unit u)
{
	switch (u) {
	case SELFTEST_NS:
		return "ns";
	case SELFTEST_BYTES:
		return "bytes";
	case SELFTEST_PRESENCE:
		return "presence";
	default:
		return "count";
	}
}

static const char *tolerance_name(enum selftest_tolerance t)
{
	switch (t) {
	case SELFTEST_AT_LEAST:
		return "at_least";
	case SELFTEST_RANGE:
		return "range";
	default:
		return "exact";
	}
}

/* A value in the check's unit: "10,000", "2.07ms", "819,200B", "present"; "-" for NAN. */
static const char *format_value(const struct selftest_check *c, double v, char *buf, size_t len)
{
	if (isnan(v) || v < 0)
		return "-";
	switch (c->unit) {
	case SELFTEST_NS:
		return analysis__format_duration(round_u64(v), buf, len);
	case SELFTEST_BYTES:
		analysis__format_count(round_u64(v), buf, len);
		strncat(buf, "B", len - strlen(buf) - 1);
		return buf;
	case SELFTEST_PRESENCE:
		return v ? "present" : "absent";
	default:
		return analysis__format_count(round_u64(v), buf, len);
	}
}

static const char *format_tolerance(const struct selftest_check *c, char *buf, size_t len)
{
	switch (c->tolerance) {
	case SELFTEST_AT_LEAST:
		return "at least";
	case SELFTEST_RANGE:
		snprintf(buf, len, "-%g%%/+%g%%", c->below * PERCENT, c->above * PERCENT);
		return buf;
	default:
		return "exact";
	}
}

static const char *format_error(double err, char *buf, size_t len)
{
	if (isnan(err))
		return "-";
	if (err == 0)
		return "0.0%";
	/* A tiny error still fails an exact check: show it ("+0.01%"), never as 0.0%. */
	snprintf(buf, len, fabs(err * PERCENT) < 0.1 ? "%+.1g%%" : "%+.1f%%", err * PERCENT);
	return buf;
}

static void print_checks(const struct selftest_result *r, FILE *out)
{
	int name_w = CHECK_MIN_WIDTH;
	const char *last_group = NULL;

	for (size_t i = 0; i < r->n_checks; i++)
		if ((int)strlen(r->checks[i].name) > name_w)
			name_w = (int)strlen(r->checks[i].name);
	fprintf(out, "%-*s  %-*s %*s %*s %*s  %-*s %s\n", GROUP_WIDTH, "GROUP", name_w, "CHECK",
		VALUE_WIDTH, "EXPECTED", VALUE_WIDTH, "MEASURED", ERROR_WIDTH, "ERROR", TOL_WIDTH,
		"TOLERANCE", "RESULT");
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct selftest_check *c = &r->checks[i];
		char exp[VALUE_LEN], got[VALUE_LEN], err[VALUE_LEN], tol[VALUE_LEN];

		fprintf(out, "%-*s  %-*s %*s %*s %*s  %-*s %s\n", GROUP_WIDTH, c->group, name_w,
			c->name, VALUE_WIDTH, format_value(c, c->expected, exp, sizeof(exp)),
			VALUE_WIDTH, format_value(c, c->measured, got, sizeof(got)), ERROR_WIDTH,
			format_error(selftest_check__error(c), err, sizeof(err)), TOL_WIDTH,
			format_tolerance(c, tol, sizeof(tol)), c->pass ? "PASS" : "FAIL");
	}
	/* Why checks could not be measured: once per group, they share their workload's fate. */
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct selftest_check *c = &r->checks[i];

		if (!c->reason || (last_group && !strcmp(last_group, c->group)))
			continue;
		if (!last_group)
			fprintf(out, "\nNot measured:\n");
		fprintf(out, "  %s: %s\n", c->group, c->reason);
		last_group = c->group;
	}
}

static void print_costs(const struct selftest_result *r, FILE *out)
{
	fprintf(out,
		"\nWhat tracing cost: snag's BPF run time per event (from each report's overhead\n"
		"section), and the workload's own time for its work, run once without snag and\n"
		"once traced (one run each, so workloads of a few ms are noisy).\n");
	fprintf(out, "%-*s  %10s %10s %10s %10s %10s %9s\n", GROUP_WIDTH, "WORKLOAD", "EVENTS",
		"BPF/EVENT", "BPF TOTAL", "UNTRACED", "TRACED", "SLOWDOWN");
	for (size_t i = 0; i < r->n_costs; i++) {
		const struct selftest_cost *c = &r->costs[i];
		char ev[VALUE_LEN] = "-", per[VALUE_LEN] = "-", tot[VALUE_LEN] = "-";
		char un[VALUE_LEN] = "-", tr[VALUE_LEN] = "-", slow[VALUE_LEN] = "-";

		if (c->events) {
			analysis__format_count(c->events, ev, sizeof(ev));
			analysis__format_duration(c->bpf_run_time_ns / c->events, per, sizeof(per));
			analysis__format_duration(c->bpf_run_time_ns, tot, sizeof(tot));
		}
		if (c->untraced_ns)
			analysis__format_duration(c->untraced_ns, un, sizeof(un));
		if (c->traced_ns)
			analysis__format_duration(c->traced_ns, tr, sizeof(tr));
		if (c->untraced_ns && c->traced_ns)
			snprintf(slow, sizeof(slow), "%+.1f%%",
				 ((double)c->traced_ns / (double)c->untraced_ns - 1) * PERCENT);
		fprintf(out, "%-*s  %10s %10s %10s %10s %10s %9s\n", GROUP_WIDTH, c->workload, ev,
			per, tot, un, tr, slow);
	}
}

int selftest__render_text(const struct selftest_result *r, FILE *out)
{
	char total[ANALYSIS_DURATION_LEN];

	fprintf(out, "snag selftest: workloads with known answers, traced by %s\n\n", r->binary);
	print_checks(r, out);
	print_costs(r, out);
	if (r->cpu_pressure >= BUSY_PRESSURE)
		fprintf(
		    out,
		    "\nNote: the CPUs were busy. During the selftest some task was waiting for a "
		    "CPU\n%.0f%% of the time (/proc/pressure/cpu). Latency and blocked-time checks "
		    "can fail\nthen because the workloads waited for a CPU, not because snag "
		    "measured wrong:\ncompare 'p50 latency' with 'p50 latency, by its own clock', "
		    "or run it again\nwhen the machine is quieter.\n",
		    r->cpu_pressure * PERCENT);
	fprintf(out, "\nTotal time %s: %zu checks, %zu passed, %zu failed\n",
		analysis__format_duration(r->total_ns, total, sizeof(total)), r->n_checks,
		r->passed, r->failed);
	if (r->kept_dir)
		fprintf(out, "Reports kept in %s\n", r->kept_dir);
	return ferror(out) ? -EIO : 0;
}

/* An integral value, or null for NAN. */
static json_t *json_value(double v)
{
	return isnan(v) || v < 0 ? json_null() : json_integer((json_int_t)round_u64(v));
}

static json_t *json_real_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *check_json(const struct selftest_check *c)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "group", c->group, "name", c->name,
		      "unit", unit_name(c->unit), "expected", json_value(c->expected), "measured",
		      json_value(c->measured), "error", json_real_or_null(selftest_check__error(c)),
		      "tolerance", tolerance_name(c->tolerance));

	if (o && c->tolerance == SELFTEST_RANGE &&
	    (json_object_set_new(o, "below", json_real(c->below)) ||
	     json_object_set_new(o, "above", json_real(c->above)))) {
		json_decref(o);
		return NULL;
	}
	if (o &&
	    (json_object_set_new(o, "result", json_string(c->pass ? "PASS" : "FAIL")) ||
	     json_object_set_new(o, "reason", c->reason ? json_string(c->reason) : json_null()))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *cost_json(const struct selftest_cost *c)
{
	double slowdown = c->untraced_ns && c->traced_ns
			      ? (double)c->traced_ns / (double)c->untraced_ns - 1
			      : NAN;

	return json_pack(
	    "{s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "workload", c->workload, "events",
	    (json_int_t)c->events, "bpf_run_time_ns", (json_int_t)c->bpf_run_time_ns,
	    "bpf_ns_per_event",
	    c->events ? json_integer((json_int_t)(c->bpf_run_time_ns / c->events)) : json_null(),
	    "untraced_ns", c->untraced_ns ? json_integer((json_int_t)c->untraced_ns) : json_null(),
	    "traced_ns", c->traced_ns ? json_integer((json_int_t)c->traced_ns) : json_null(),
	    "slowdown", json_real_or_null(slowdown));
}

int selftest__render_json(const struct selftest_result *r, FILE *out)
{
	json_t *root, *checks = json_array(), *costs = json_array();
	int err = 0;

	if (!checks || !costs) {
		json_decref(checks);
		json_decref(costs);
		return -ENOMEM;
	}
	for (size_t i = 0; checks && i < r->n_checks && !err; i++)
		err = json_array_append_new(checks, check_json(&r->checks[i])) ? -ENOMEM : 0;
	for (size_t i = 0; costs && i < r->n_costs && !err; i++)
		err = json_array_append_new(costs, cost_json(&r->costs[i])) ? -ENOMEM : 0;
	root = json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:o, s:o, s:o}", "schema",
			 "snag-selftest/1", "snag_version", SNAG_VERSION, "binary", r->binary,
			 "total_ns", (json_int_t)r->total_ns, "cpu_pressure",
			 json_real_or_null(r->cpu_pressure), "passed", (json_int_t)r->passed,
			 "failed", (json_int_t)r->failed, "checks", checks, "costs", costs,
			 "reports_dir", r->kept_dir ? json_string(r->kept_dir) : json_null());
	if (!root || err) {
		json_decref(root);
		return -ENOMEM;
	}
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) ||
	    fputc('\n', out) == EOF)
		err = -EIO;
	json_decref(root);
	return err;
}

void selftest_result__free(struct selftest_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_checks; i++)
		free(r->checks[i].reason);
	free(r->checks);
	free(r->costs);
	free(r->binary);
	free(r->kept_dir);
	memset(r, 0, sizeof(*r));
}
