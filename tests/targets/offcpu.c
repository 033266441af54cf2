/* Test target with known off-CPU behaviour: timed sleeps, pipe ping-pong, CPU contention. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/*
 * noipa: no inlining or cloning; no-optimize-sibling-calls: a call in tail
 * position stays a call, so each function keeps its frame on the stack.
 */
#define TRACED __attribute__((noipa, optimize("no-optimize-sibling-calls")))

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The libc call sits in its own frame-pointer function, so a frame-pointer
 * unwind through libc (built without frame pointers) still finds the caller.
 */
TRACED void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

TRACED void wait_for_timer(long ms)
{
	nap(ms);
}

/*
 * The thread's own switch counts, read with stdout locked: a wait for the lock
 * while the other thread prints is a voluntary switch, and it must be in the
 * count, not after it (snag once saw one more than the thread reported).
 */
static void print_switches(const char *who)
{
	struct rusage ru;

	flockfile(stdout);
	getrusage(RUSAGE_THREAD, &ru);
	printf("%s tid=%d voluntary=%ld involuntary=%ld\n", who, gettid(), ru.ru_nvcsw,
	       ru.ru_nivcsw);
	funlockfile(stdout);
}

/* A 150 us sleep DEPTH frames down: a block whose stack is deep and narrow. */
TRACED void nap_deep(long depth)
{
	struct timespec ts = {0, 150000};

	if (depth > 0) {
		nap_deep(depth - 1);
		return;
	}
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * sleeper N MS [DEEP]: wait_for_timer(MS) N times, then (DEEP > 0) nap_deep(DEEP) once.
 * Prints the wall time of the N waits ("slept wall_ns=..."): how long past N x MS the
 * timers fired depends on the machine and its load.
 */
static int sleeper(long n, long ms, long deep)
{
	long long t0 = now_ns();

	for (long i = 0; i < n; i++)
		wait_for_timer(ms);
	printf("slept wall_ns=%lld\n", now_ns() - t0);
	if (deep > 0)
		nap_deep(deep);
	print_switches("sleeper");
	return 0;
}

struct pingpong {
	int to_peer[2];
	int from_peer[2];
	long rounds;
	int split; /* pinger on CPU 0, ponger on CPU 1 */
};

/* Pin the calling thread to cpu; exit 1 when the machine has no such CPU. */
static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		fprintf(stderr, "offcpu: cannot pin to CPU %d\n", cpu);
		exit(1);
	}
}

TRACED void pong_reply(int in, int out)
{
	char c;

	if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
		exit(1);
}

static void *ponger(void *arg)
{
	struct pingpong *pp = arg;

	if (pp->split)
		pin_self(1);
	for (long i = 0; i < pp->rounds; i++)
		pong_reply(pp->to_peer[0], pp->from_peer[1]);
	print_switches("ponger");
	return NULL;
}

TRACED void ping_round(int out, int in)
{
	char c = 'x';

	if (write(out, &c, 1) != 1 || read(in, &c, 1) != 1)
		exit(1);
}

/*
 * pingpong N [SPLIT]: two threads bounce one byte N times over two pipes. With
 * SPLIT 1 they run on CPUs 0 and 1, so each is woken on a CPU left idle, where
 * the kernel hands the wakeup to that CPU (an IPI, or the idle loop).
 */
static int pingpong(long n, int split)
{
	struct pingpong pp = {.rounds = n, .split = split};
	pthread_t t;

	if (pipe(pp.to_peer) || pipe(pp.from_peer))
		return 1;
	if (split)
		pin_self(0);
	pthread_create(&t, NULL, ponger, &pp);
	for (long i = 0; i < n; i++)
		ping_round(pp.to_peer[1], pp.from_peer[0]);
	pthread_join(t, NULL);
	print_switches("pinger");
	return 0;
}

static long hog_ms;

/* Spins in its own code, checking the clock rarely, so a preemption lands in this frame. */
TRACED void burn_cpu(long long until)
{
	volatile unsigned long spins;

	do {
		for (spins = 0; spins < 100000; spins++)
			;
	} while (now_ns() < until);
}

static void *hog(void *arg)
{
	(void)arg;
	burn_cpu(now_ns() + hog_ms * 1000000LL);
	print_switches("hog");
	return NULL;
}

/* hogs MS: two threads pinned to CPU 0 burn CPU for MS ms each, fighting for it. */
static int hogs(long ms)
{
	pthread_t t[2];
	cpu_set_t set;

	hog_ms = ms;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return 1;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hog, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long a = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	long b = argc > 3 ? strtol(argv[3], NULL, 10) : 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "sleeper"))
		return sleeper(a ? a : 20, b ? b : 10, argc > 4 ? strtol(argv[4], NULL, 10) : 0);
	if (!strcmp(mode, "pingpong"))
		return pingpong(a ? a : 1000, (int)b);
	if (!strcmp(mode, "hogs"))
		return hogs(a ? a : 1000);
	fprintf(stderr,
		"usage: offcpu sleeper [N [MS [DEEP]]] | pingpong [N [SPLIT]] | hogs [MS]\n");
	return 2;
}
