/*
 * Test target with many threads that block and wake periodically, for the scale benchmark
 * (tools/bench-scale.sh): each thread is one key of snag's per-thread table and, with
 * "distinct", blocks under its own user stack.
 *
 * threads N [PERIOD_MS [same|distinct]]
 *   starts N threads (64 KiB stacks); thread i sleeps until start + i * PERIOD_MS / N, then
 *   every PERIOD_MS after that (absolute deadlines: the wakeups of all threads are spread
 *   evenly over each period, N / PERIOD_MS per ms in all). With "distinct" (the default),
 *   thread i reaches its sleep through a chain of STACK_BITS calls of step0/step1 chosen by
 *   the bits of i, so up to 2^STACK_BITS threads block under different user stacks; with
 *   "same", all of them block under one stack. Prints "threads=N pid=PID ready" once every
 *   thread runs, then runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TRACED	   __attribute__((noipa, optimize("no-optimize-sibling-calls")))
#define STACK_BITS 14
#define STACK_SIZE (64 * 1024)

static long n_threads;
static long long period_ns;
static int distinct = 1;
static struct timespec start;
static pthread_barrier_t ready;

static void add_ns(struct timespec *ts, long long ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

/* The libc call in its own frame-pointer function, so a frame-pointer unwind through libc
 * (built without frame pointers) still finds the caller. */
TRACED void nap_until(const struct timespec *deadline)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) == EINTR)
		;
}

TRACED void step0(long id, int bit, const struct timespec *deadline);
TRACED void step1(long id, int bit, const struct timespec *deadline);

/* One frame per bit of id, step0 or step1 by the bit: 2^STACK_BITS different stacks. */
TRACED void step0(long id, int bit, const struct timespec *deadline)
{
	if (bit == STACK_BITS)
		nap_until(deadline);
	else if ((id >> bit) & 1)
		step1(id, bit + 1, deadline);
	else
		step0(id, bit + 1, deadline);
}

TRACED void step1(long id, int bit, const struct timespec *deadline)
{
	if (bit == STACK_BITS)
		nap_until(deadline);
	else if ((id >> bit) & 1)
		step1(id, bit + 1, deadline);
	else
		step0(id, bit + 1, deadline);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	struct timespec deadline;

	pthread_barrier_wait(&ready);
	deadline = start;
	add_ns(&deadline, period_ns * id / n_threads);
	for (;;) {
		if (distinct)
			step0(id, 0, &deadline);
		else
			nap_until(&deadline);
		add_ns(&deadline, period_ns);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	n_threads = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	period_ns = (argc > 2 ? strtol(argv[2], NULL, 10) : 1000) * 1000000LL;
	if (argc > 3)
		distinct = strcmp(argv[3], "same") != 0;
	if (n_threads < 1 || period_ns < 1000000 ||
	    (argc > 3 && strcmp(argv[3], "same") && strcmp(argv[3], "distinct"))) {
		fprintf(stderr, "usage: threads N [PERIOD_MS [same|distinct]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_barrier_init(&ready, NULL, n_threads + 1);
	for (long i = 0; i < n_threads; i++) {
		err = pthread_create(&t, &attr, worker, (void *)i);
		if (err) {
			fprintf(stderr, "threads: thread %ld of %ld: %s\n", i + 1, n_threads,
				strerror(err));
			_exit(1);
		}
	}
	/* Read by the threads after the barrier: the first deadlines are 100 ms after all run. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	add_ns(&start, 100000000LL);
	pthread_barrier_wait(&ready);
	printf("threads=%ld pid=%d ready\n", n_threads, getpid());
	for (;;)
		pause();
}
