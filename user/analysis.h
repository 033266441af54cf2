/* Analysis of a filled report: derived statistics, impact ranking, bottleneck rules, unit
 * formatting. */
#ifndef SNAG_ANALYSIS_H
#define SNAG_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include "report.h"

/* A function becomes a bottleneck when it takes more than this share of traced thread time. */
#define ANALYSIS_BOTTLENECK_MIN_IMPACT 0.05
/* Tail-latency rule: p99 > ANALYSIS_TAIL_RATIO x p50 over at least ANALYSIS_TAIL_MIN_CALLS calls.
 */
#define ANALYSIS_TAIL_RATIO	4.0
#define ANALYSIS_TAIL_MIN_CALLS 20
/* Hot-function rule: at least this many calls, this many calls per second, this small an average.
 */
#define ANALYSIS_HOT_MIN_CALLS	       1000
#define ANALYSIS_HOT_MIN_CALLS_PER_SEC 1000.0
#define ANALYSIS_HOT_MAX_AVG_NS	       10000

/* Buffer sizes that always fit analysis__format_duration() / analysis__format_count(). */
#define ANALYSIS_DURATION_LEN 24
#define ANALYSIS_COUNT_LEN    32

/*
 * Fill f's avg_ns, p50/p90/p99_ns (from its histogram, clamped to [min, max]),
 * impact (total_ns / traced_thread_ns, clamped to [0, 1]; 0 when
 * traced_thread_ns is 0) and severity.
 */
void analysis__derive_function(struct report_function *f, uint64_t traced_thread_ns);

/*
 * Sort r->functions by impact, then total_ns, both descending (ties keep
 * their order) and remap every report_interval_func.func to the new
 * positions (out-of-range indices are left alone). Returns 0, or -ENOMEM
 * with the report unchanged.
 */
int analysis__sort_functions(struct report *r);

/*
 * Replace r->bottlenecks with one "function" entry per function that has
 * calls and impact > ANALYSIS_BOTTLENECK_MIN_IMPACT, with description,
 * evidence and rule-based recommendations, sorted by impact descending.
 * Expects derived fields (analysis__derive_function). Returns 0, or -ENOMEM
 * with r->bottlenecks left empty.
 */
int analysis__build_bottlenecks(struct report *r);

/* Free r->bottlenecks and everything they own; leaves an empty list. */
void analysis__clear_bottlenecks(struct report *r);

/*
 * Write ns in a human unit with 3 significant figures ("812ns", "2.05ms",
 * "812us", "1.20s"; seconds keep all integer digits) into buf and return buf.
 * size >= ANALYSIS_DURATION_LEN always fits.
 */
char *analysis__format_duration(uint64_t ns, char *buf, size_t size);

/* Write n with thousands separators ("1,234,567") into buf and return buf. */
char *analysis__format_count(uint64_t n, char *buf, size_t size);

#endif
