/* Regression detection between two reports: what got worse, what got better, what changed. */
#ifndef SNAG_DIFF_H
#define SNAG_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report.h"

#define DIFF_SCHEMA "snag-diff/1"

/* Defaults of --threshold (a fraction: 20%) and --min-count. */
#define DIFF_DEFAULT_THRESHOLD 0.20
#define DIFF_DEFAULT_MIN_COUNT 20
/*
 * A p99 is compared only over at least this many samples on each side (and
 * --min-count): below 100 it is the largest sample or next to it, which one
 * outlier moves.
 */
#define DIFF_P99_MIN_SAMPLES 100

/*
 * The smallest absolute change worth flagging, by unit (docs/diff.md): below
 * these, a change is within the noise of tracing and scheduling however
 * large it is relative to a small base.
 */
#define DIFF_MIN_NS	     5000.0	/* latencies: 5 us */
#define DIFF_MIN_NS_PER_S    10000000.0 /* time per second of trace: 10 ms/s, 1% of a thread */
#define DIFF_MIN_SHARE	     0.01	/* shares of thread time: 1 point */
#define DIFF_MIN_PER_S	     1.0	/* operations per second */
#define DIFF_MIN_BYTES_PER_S 1024.0	/* bytes per second */

enum diff_unit {
	DIFF_UNIT_NS,	       /* a latency */
	DIFF_UNIT_NS_PER_S,    /* time spent per second of trace */
	DIFF_UNIT_SHARE,       /* a share of thread time, 0..1 */
	DIFF_UNIT_PER_S,       /* operations per second of trace */
	DIFF_UNIT_BYTES_PER_S, /* bytes per second of trace */
};

/* What a flagged change is. */
enum diff_verdict {
	DIFF_REGRESSION = 0, /* worse in the new report */
	DIFF_IMPROVEMENT,    /* better in the new report */
	DIFF_CHANGE,	     /* more or less work: neither better nor worse by itself */
	DIFF_N_VERDICTS,
};

struct diff_opts {
	double threshold;   /* relative change to exceed, as a fraction (0.2 = 20%) */
	uint64_t min_count; /* samples each side needs */
};

/* One flagged change of one metric of one thing. */
struct diff_entry {
	const char *kind;   /* "function", "offcpu", "sched", "syscall_io", "block_io", "net_io" */
	char *key;	    /* identity across runs (docs/diff.md) */
	char *label;	    /* the same for people */
	const char *metric; /* e.g. "p50_ns", "count_per_s" */
	const char *metric_label; /* e.g. "p50", "calls/s" */
	enum diff_unit unit;
	double base, new;
	double change; /* (new - base) / base; +INFINITY when base is 0 */
	uint64_t base_samples, new_samples;
};

/* How many things of one kind were compared, and how many only one report has. */
struct diff_kind_count {
	const char *kind;
	size_t both, only_base, only_new;
};

#define DIFF_N_KINDS 6

struct diff {
	struct diff_opts opts;
	uint64_t base_duration_ns, new_duration_ns;
	struct diff_entry *entries[DIFF_N_VERDICTS]; /* by verdict, in kind, key, metric order */
	size_t n_entries[DIFF_N_VERDICTS];
	struct diff_kind_count kinds[DIFF_N_KINDS];
};

/*
 * Compare new against base with o's noise guard (NULL: the defaults). Both
 * reports are read only. Returns 0 with a new diff in *out (free it with
 * diff__free()), -EINVAL with snag_set_error() when a report has no
 * duration (rates are undefined), or -ENOMEM.
 */
int diff__compare(const struct report *base, const struct report *new, const struct diff_opts *o,
		  struct diff **out);

/* Free d and everything it owns. NULL is a no-op. */
void diff__free(struct diff *d);

/* "regression", "improvement", "change". */
const char *diff_verdict__name(enum diff_verdict v);

/* Names of the two reports, for the renderers. */
struct diff_names {
	const char *base;
	const char *new;
};

/*
 * Render d as text (a table per verdict) or as the "snag-diff/1" JSON
 * document (docs/diff.md). fmt is FORMAT_TEXT or FORMAT_JSON. Returns 0,
 * -EINVAL for another format, or -errno if writing failed.
 */
int diff__render(const struct diff *d, const struct diff_names *names, enum report_format fmt,
		 FILE *out);

#endif
