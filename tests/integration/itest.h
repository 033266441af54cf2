/* Helpers for the integration tests: paths, BPF availability, running snag, reading its JSON. */
#ifndef SNAG_ITEST_H
#define SNAG_ITEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "testutil.h"

#define MS 1000000.0
#define US 1000.0

/* Absolute paths, filled by itest_setup(). */
extern char snag_path[4096];
extern char target_path[4096]; /* tests/targets/<name> given to itest_setup() */

/*
 * cmocka group setup/teardown: resolve paths (target: a tests/targets name, or
 * NULL when the tests trace no target of their own), make a work dir.
 */
int itest_setup(const char *target);
int itest_teardown(void);

/*
 * A test case whose kept allocations (test_keep()) are released after it, failed or not:
 * use it in place of cmocka_unit_test() in the suites' tables.
 */
#define itest_case(f) cmocka_unit_test_teardown(f, itest_case_teardown)
int itest_case_teardown(void **state);

/* json_load_file() of a report, kept until the test ends (json_decref() it as usual). */
json_t *itest_load_json(const char *path, json_error_t *err);

/* json_dumps(v, flags), kept until the test ends (test_drop() frees it sooner); NULL on failure. */
char *itest_dump(const json_t *v, size_t flags);

/* Keep root (may be NULL) until the test ends, and return it; json_decref() it as usual. */
json_t *itest_keep_json(json_t *root);

/* Skip when BPF is unavailable, or fail instead when SNAG_REQUIRE_BPF=1 (CI). */
void require_bpf(void);

/* "<work dir>/<name>" in a static buffer. */
const char *out_path(const char *name);

/* Run snag with the NULL-terminated arguments plus -o report --format=json; expects exit 0. */
json_t *run_snag_json(const char *report, ...);

/*
 * The same with an argument array; *out (if out) gets snag's stdout, which the
 * caller frees with test_drop(). The report is kept until the test ends.
 */
json_t *run_snag_jsonv(const char *report, char **out, char *const args[]);

/*
 * Wait until process pid runs the executable at path (absolute, as realpath() gives it): a
 * spawned target is still the test's fork until its exec, and -u looks for its functions in
 * the binary it runs. Fails the test after 10 s.
 */
void itest_wait_exec(int pid, const char *path);

/* Wait until a background snag says it is tracing; fails with its stderr otherwise. */
void wait_tracing(struct test_proc *snag);

/* A number field; fails the test when missing. */
double num(json_t *obj, const char *key);

/* Fails unless got is within tolerance (a fraction) of want. */
void assert_near(double got, double want, double tolerance, const char *what);

/* What a target measured of its own calls to one function ("timed NAME: ..." on its stdout). */
struct target_timing {
	long n;
	double min_ns, p50_ns, avg_ns, p90_ns;
};

/* Parse the target's timing of name from its stdout; fails the test when it is missing. */
void target_timing(const char *out, const char *name, struct target_timing *t);

/*
 * Fails unless function row f agrees with the target's own timings of its
 * calls to name, from inside the function ("timed NAME-inside") and from its
 * caller around each call ("timed NAME"): the same count; p50 between the two
 * within 10% (histogram buckets are 6.25% wide) and avg within 2%. A
 * preemption while a probe runs is in the timing around the call only.
 */
void assert_matches_target(json_t *f, const char *out, const char *name);

/* Fails if any cause in overhead.dropped is non-zero. */
void assert_no_drops(json_t *root);

/* The cgroup2 mount point (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems). */
bool itest_cgroup2_mount(char *buf, size_t len);

#endif
