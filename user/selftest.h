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

#endif
