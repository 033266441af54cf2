/* snag selftest: workloads with known answers, the checks made on their reports, and the result
 * model its renderers print. */
#ifndef SNAG_SELFTEST_H
#define SNAG_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What snag_selftest_sleep_2ms() sleeps: the function check's expected latency. */
#define SELFTEST_SLEEP_NS 2000000ull

/*
 * Each workload ends by printing one line, so the runner knows it finished:
 * "<prefix> NAME pid=N elapsed_ns=N p50_ns=N" (the time of its work by its own
 * clock; p50_ns: of its function calls, 0 when it makes none).
 */
#define SELFTEST_WORKLOAD_PREFIX "snag-selftest-workload:"

/*
 * Test hook: with SNAG_SELFTEST_SKEW=1 in the environment, every workload does
 * one unit of work more than it was asked to (51 calls instead of 50, ...),
 * so the selftest must fail. The integration tests use it to prove it can.
 */
#define SELFTEST_SKEW_ENV "SNAG_SELFTEST_SKEW"

/*
 * Sleep SELFTEST_SLEEP_NS (never less: nanosleep does not return early).
 * A real symbol of snag's binary that `snag selftest` probes with -u.
 */
void snag_selftest_sleep_2ms(void);

enum selftest_unit {
	SELFTEST_COUNT,
	SELFTEST_NS,
	SELFTEST_BYTES,
	SELFTEST_PRESENCE, /* 1 present, 0 absent */
};

enum selftest_tolerance {
	SELFTEST_EXACT,	   /* measured == expected */
	SELFTEST_AT_LEAST, /* measured >= expected */
	SELFTEST_RANGE,	   /* expected * (1 - below) <= measured <= expected * (1 + above) */
};

struct selftest_check {
	const char *group; /* static: "function", "offcpu", "block", "syscall", "net" */
	const char *name;  /* static: what was measured */
	enum selftest_unit unit;
	enum selftest_tolerance tolerance;
	double below, above; /* SELFTEST_RANGE: allowed relative error each way, e.g. 0 and 0.15 */
	double expected;
	double measured; /* NAN when it could not be measured: see reason */
	bool pass;	 /* set by selftest_check__judge() */
	char *reason;	 /* owned; why it was not measured (the workload or snag failed), or NULL */
};

/* What tracing one workload cost. */
struct selftest_cost {
	const char *workload;	  /* static: the group name */
	uint64_t events;	  /* summed runs of snag's BPF programs (0: no statistics) */
	uint64_t bpf_run_time_ns; /* their summed run time */
	uint64_t
	    untraced_ns;    /* the workload's own time for its work, run without snag; 0 unknown */
	uint64_t traced_ns; /* the same under snag record; 0 unknown */
};

struct selftest_result {
	char *binary; /* the snag binary that ran the workloads and traced them */
	struct selftest_check *checks;
	size_t n_checks;
	struct selftest_cost *costs;
	size_t n_costs;
	char *kept_dir; /* --keep: where the reports are; NULL otherwise */
	/*
	 * Share of the run during which some task waited for a CPU (the kernel's
	 * pressure stall information, /proc/pressure/cpu), 0..1; NAN when unknown.
	 */
	double cpu_pressure;
	uint64_t total_ns;
	size_t passed, failed;
};

/* Set c->pass from measured, expected and the tolerance. NAN never passes. */
void selftest_check__judge(struct selftest_check *c);

/*
 * The relative error measured / expected - 1, or NAN when it means nothing
 * (not measured, presence checks, expected 0).
 */
double selftest_check__error(const struct selftest_check *c);

/* Render the result as the check table and the cost table (text), or as JSON
 * (schema snag-selftest/1). Return 0 or -errno of the failed write. */
int selftest__render_text(const struct selftest_result *r, FILE *out);
int selftest__render_json(const struct selftest_result *r, FILE *out);

/* Free everything r owns; r itself is the caller's. NULL-safe. */
void selftest_result__free(struct selftest_result *r);

#endif
