/* Unit tests for the process-level wait findings and the per-process time breakdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analysis.h"
#include "model_fixture.h"
#include "report.h"

#define MS 1000000ull
#define S  1000000000ull

/* A report of duration d with one thread of pid alive all of it, on-CPU for oncpu. */
static struct report *one_thread(int pid, uint64_t d, uint64_t oncpu)
{
	struct report *r = report__new();
	struct report_thread_sched *t;

	assert_non_null(r);
	r->duration_ns = d;
	t = fixture_sched(r, pid, pid, "app", d, oncpu, d - oncpu, 0, 0, 0);
	assert_non_null(t);
	t->blocked_by[WAIT_OTHER] = 0;
	t->blocks_by[WAIT_OTHER] = 0;
	return r;
}

/* Move ns of the thread's blocked time, in n blocks, to kind. */
static void waited(struct report *r, enum wait_kind kind, uint64_t ns, uint64_t n)
{
	r->sched[0].blocked_by[kind] += ns;
	r->sched[0].blocks_by[kind] += n;
	r->sched[0].voluntary_switches += n;
}

static const struct report_bottleneck *find(const struct report *r, const char *kind)
{
	for (size_t i = 0; i < r->n_bottlenecks; i++)
		if (!strcmp(r->bottlenecks[i].kind, kind))
			return &r->bottlenecks[i];
	return NULL;
}

static double evidence(const struct report_bottleneck *b, const char *key)
{
	for (size_t i = 0; i < b->n_evidence; i++)
		if (!strcmp(b->evidence[i].key, key))
			return b->evidence[i].value;
	fail_msg("no evidence %s", key);
	return 0;
}

static const char *const futex_k[] = {"schedule", "futex_wait_queue", "futex_wait", NULL};
static const char *const mutex_u[] = {"__lll_lock_wait", "pthread_mutex_lock", "update_stats",
				      "worker", NULL};
static const char *const cond_u[] = {"__futex_abstimed_wait_common", "pthread_cond_wait",
				     "queue_pop", NULL};
static const char *const join_u[] = {"__futex_abstimed_wait_common", "__pthread_clockjoin_ex",
				     "main", NULL};

static void test_lock_contention(void **state)
{
	const struct report_bottleneck *b;
	struct report *r = one_thread(10, S, 200 * MS);

	(void)state;
	/* 300 ms of mutex waits (with stacks) in a 1 s thread: 30%. */
	waited(r, WAIT_LOCK, 300 * MS, 100);
	r->sched[0].blocked_by[WAIT_OTHER] = 500 * MS;
	fixture_offcpu(r, 10, 10, "app", OFFCPU_BLOCKED, 100, 300 * MS, 10 * MS, futex_k, mutex_u);
	report__finish(r);
	b = find(r, "lock_contention");
	assert_non_null(b);
	assert_int_equal(b->pid, 10);
	assert_true(evidence(b, "lock_wait_ns") == 300 * MS);
	assert_true(evidence(b, "waits") == 100);
	assert_true(evidence(b, "threads") == 1);
	assert_true(evidence(b, "futex_ns") == 300 * MS);
	assert_true(b->impact > 0.2999 && b->impact < 0.3001);
	assert_non_null(strstr(b->recommendations[0], "lock contention in update_stats"));
	/* The stack it explains is folded into it. */
	assert_null(find(r, "offcpu"));
	assert_int_equal(r->offcpu[0].category, WAIT_LOCK);
	report__free(r);
}

/* Condition variables and joins are futex waits too, but for work or a thread: no finding. */
static void test_condvar_and_join_are_not_contention(void **state)
{
	struct report *r = one_thread(10, S, 10 * MS);

	(void)state;
	waited(r, WAIT_LOCK, 990 * MS, 3);
	fixture_offcpu(r, 10, 10, "app", OFFCPU_BLOCKED, 2, 600 * MS, 500 * MS, futex_k, cond_u);
	fixture_offcpu(r, 10, 10, "app", OFFCPU_BLOCKED, 1, 390 * MS, 390 * MS, futex_k, join_u);
	report__finish(r);
	assert_null(find(r, "lock_contention"));
	assert_int_equal(r->offcpu[0].category, WAIT_OTHER);
	assert_int_equal(r->offcpu[1].category, WAIT_OTHER);
	report__free(r);
}

static void test_lock_threshold(void **state)
{
	struct report *r = one_thread(10, S, 900 * MS);

	(void)state;
	/* 5% exactly is not above the threshold; 6% is. */
	waited(r, WAIT_LOCK, 50 * MS, 10);
	fixture_offcpu(r, 10, 10, "app", OFFCPU_BLOCKED, 10, 50 * MS, 5 * MS, futex_k, mutex_u);
	report__finish(r);
	assert_null(find(r, "lock_contention"));
	r->offcpu[0].total_ns = 60 * MS;
	report__finish(r);
	assert_non_null(find(r, "lock_contention"));
	report__free(r);
}

static void test_disk_bound(void **state)
{
	const struct report_bottleneck *b;
	struct report *r = one_thread(20, S, 500 * MS);

	(void)state;
	waited(r, WAIT_BLOCK_IO, 400 * MS, 2000);
	r->sched[0].blocked_by[WAIT_OTHER] = 100 * MS;
	report__finish(r);
	b = find(r, "disk_bound");
	assert_non_null(b);
	assert_true(evidence(b, "disk_wait_ns") == 400 * MS);
	assert_true(evidence(b, "waits") == 2000);
	assert_true(evidence(b, "avg_wait_ns") == 200000);
	assert_non_null(strstr(b->description, "waited for disk I/O 40.0%"));
	report__free(r);
	/* 20% is not above the threshold. */
	r = one_thread(20, S, 800 * MS);
	waited(r, WAIT_BLOCK_IO, 200 * MS, 2000);
	report__finish(r);
	assert_null(find(r, "disk_bound"));
	report__free(r);
}

static void test_network_bound(void **state)
{
	struct report *r = one_thread(30, S, 300 * MS);

	(void)state;
	/* A client waiting for replies 70% of the time, 50 times a second. */
	waited(r, WAIT_NET, 700 * MS, 50);
	report__finish(r);
	assert_non_null(find(r, "network_bound"));
	report__free(r);
	/* An idle server blocked in accept: 99% of the time, but in one wait. */
	r = one_thread(30, S, 10 * MS);
	waited(r, WAIT_NET, 990 * MS, 1);
	report__finish(r);
	assert_null(find(r, "network_bound"));
	report__free(r);
}

static void test_sleep_loop(void **state)
{
	const struct report_bottleneck *b;
	struct report *r = one_thread(40, S, 10 * MS);

	(void)state;
	/* 990 sleeps of 1 ms: polling. */
	waited(r, WAIT_SLEEP, 990 * MS, 990);
	report__finish(r);
	b = find(r, "sleep_loop");
	assert_non_null(b);
	assert_true(evidence(b, "sleeps") == 990);
	assert_true(evidence(b, "avg_sleep_ns") == 1 * MS);
	assert_non_null(strstr(b->recommendations[0], "polling with sleeps"));
	report__free(r);
	/* A daemon sleeping 1 s at a time: not a loop worth flagging. */
	r = one_thread(40, 10 * S, 10 * MS);
	waited(r, WAIT_SLEEP, 10 * S - 10 * MS, 10);
	report__finish(r);
	assert_null(find(r, "sleep_loop"));
	report__free(r);
	/* Frequent but long sleeps (50/s of 30 ms cannot happen in one thread; two rules). */
	r = one_thread(40, S, 10 * MS);
	waited(r, WAIT_SLEEP, 990 * MS, 33);
	report__finish(r);
	assert_null(find(r, "sleep_loop"));
	report__free(r);
}

/* Idle threads of every kind: no process-level finding. */
static void test_idle_processes_quiet(void **state)
{
	struct report *r = report__new();
	struct report_thread_sched *t;

	(void)state;
	assert_non_null(r);
	r->duration_ns = 10 * S;
	/* An event loop in epoll_wait, a pool in pthread_cond_wait, a daemon in sleep. */
	t = fixture_sched(r, 1, 1, "loop", 10 * S, 10 * MS, 10 * S - 10 * MS, 0, 5, 0);
	t->blocked_by[WAIT_OTHER] = 0;
	t->blocked_by[WAIT_EVENTS] = 10 * S - 10 * MS;
	t->blocks_by[WAIT_EVENTS] = 5;
	t = fixture_sched(r, 2, 2, "pool", 10 * S, 1 * MS, 10 * S - 1 * MS, 0, 2, 0);
	t->blocked_by[WAIT_OTHER] = 0;
	t->blocked_by[WAIT_LOCK] = 10 * S - 1 * MS;
	t->blocks_by[WAIT_LOCK] = 2;
	fixture_offcpu(r, 2, 2, "pool", OFFCPU_BLOCKED, 2, 10 * S - 1 * MS, 9 * S, futex_k, cond_u);
	t = fixture_sched(r, 3, 3, "cron", 10 * S, 1 * MS, 10 * S - 1 * MS, 0, 10, 0);
	t->blocked_by[WAIT_OTHER] = 0;
	t->blocked_by[WAIT_SLEEP] = 10 * S - 1 * MS;
	t->blocks_by[WAIT_SLEEP] = 10;
	report__finish(r);
	for (size_t i = 0; i < r->n_bottlenecks; i++)
		assert_string_equal(r->bottlenecks[i].kind, "offcpu"); /* per-stack, by impact */
	assert_null(find(r, "lock_contention"));
	assert_null(find(r, "sleep_loop"));
	assert_null(find(r, "network_bound"));
	assert_null(find(r, "disk_bound"));
	report__free(r);
}

/* The breakdown explains each process's wall time. */
static void test_breakdown_sums(void **state)
{
	struct analysis_process *p = NULL;
	struct report *r = one_thread(50, S, 100 * MS);
	size_t n = 0;

	(void)state;
	r->sched[0].runq_total_ns = 50 * MS;
	r->sched[0].blocked_ns = 850 * MS;
	waited(r, WAIT_BLOCK_IO, 300 * MS, 10);
	waited(r, WAIT_NET, 200 * MS, 10);
	waited(r, WAIT_SLEEP, 350 * MS, 10);
	assert_int_equal(analysis__processes(r, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].blocked_by[WAIT_BLOCK_IO], 300 * MS);
	assert_int_equal(p[0].blocked_by[WAIT_NET] + p[0].blocked_by[WAIT_SLEEP], 550 * MS);
	assert_int_equal(analysis__unaccounted_ns(&p[0]), 0);
	/* A gap (a missed switch-out) shows as unaccounted time. */
	p[0].wall_ns += 7 * MS;
	assert_int_equal(analysis__unaccounted_ns(&p[0]), 7 * MS);
	free(p);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lock_contention),
	    cmocka_unit_test(test_condvar_and_join_are_not_contention),
	    cmocka_unit_test(test_lock_threshold),
	    cmocka_unit_test(test_disk_bound),
	    cmocka_unit_test(test_network_bound),
	    cmocka_unit_test(test_sleep_loop),
	    cmocka_unit_test(test_idle_processes_quiet),
	    cmocka_unit_test(test_breakdown_sums),
	};

	return cmocka_run_group_tests_name("analysis_wait", tests, NULL, NULL);
}
