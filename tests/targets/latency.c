/* Test target with known function latencies and call counts, traced by the integration tests. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* noipa: no inlining, cloning or IPA shortcuts, so each function is one probe-able symbol. */
#define TRACED __attribute__((noipa))

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_ns(long long ns)
{
	long long end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static void sleep_ns(long long ns)
{
	struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Each call's wall time as its caller measured it, around the call: the truth
 * the tests hold snag's percentiles to, on machines whose timers and load
 * differ (a 2 ms nanosleep lasts 2.06 ms on one machine and longer on a busy
 * one). Printed as "timed NAME: n=.. min_ns=.. p50_ns=.. avg_ns=.. p90_ns=..".
 */
struct timings {
	long long ns[4096];
	long n;
};

static struct timings timed_main, timed_inner, timed_inside, timed_inner_inside;

/* Time a traced function's body from inside it, into t: the lower bound of a probe's view. */
#define TIMED_BODY(t, body)                                                                        \
	do {                                                                                       \
		long long t0_ = now_ns();                                                          \
		body;                                                                              \
		timings_add(t, now_ns() - t0_);                                                    \
	} while (0)

static void timings_add(struct timings *t, long long ns)
{
	if (t->n < (long)(sizeof(t->ns) / sizeof(t->ns[0])))
		t->ns[t->n++] = ns;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void timings_print(struct timings *t, const char *name)
{
	long long sum = 0;

	if (!t->n)
		return;
	qsort(t->ns, t->n, sizeof(t->ns[0]), cmp_ll);
	for (long i = 0; i < t->n; i++)
		sum += t->ns[i];
	/* Nearest rank, as snag's percentiles: the ceil(p * n)-th value. */
	printf("timed %s: n=%ld min_ns=%lld p50_ns=%lld avg_ns=%lld p90_ns=%lld\n", name, t->n,
	       t->ns[0], t->ns[(t->n + 1) / 2 - 1], sum / t->n, t->ns[(t->n * 9 + 9) / 10 - 1]);
}

/* Call fn n times, each timed by the caller. */
#define TIMED_LOOP(n, call)                                                                        \
	for (long i_ = 0; i_ < (n); i_++) {                                                        \
		long long t0_ = now_ns();                                                          \
		call;                                                                              \
		timings_add(&timed_main, now_ns() - t0_);                                          \
	}

TRACED void sleep_2ms(void)
{
	TIMED_BODY(&timed_inside, sleep_ns(2000000));
}

/* Sleeps ms milliseconds: the same function, slower or faster from run to run (snag diff). */
TRACED void nap(long ms)
{
	TIMED_BODY(&timed_inside, sleep_ns(ms * 1000000LL));
}

TRACED void spin_100us(void)
{
	TIMED_BODY(&timed_inside, spin_ns(100000));
}

/*
 * Each level spins 100 us before and 100 us after recursing (so the recursion
 * is not a tail call the compiler could turn into a loop): a call with depth d
 * lasts (d + 1) * 200 us. A loaded machine may preempt the target between a
 * spin's last clock read and the return, so the target also measures the wall
 * time of its calls: all of them, and the outermost ones. It times each call
 * twice: from inside (total_ns, a lower bound on what a probe can see) and
 * from its caller, around the call (around_ns, an upper bound: it also holds
 * the probes' own time, and any preemption while they run). For the
 * outermost calls, inside_ns is the upper bound and outer_own_ns the lower.
 */
static long long recurse_total_ns, recurse_inside_ns, recurse_around_ns, recurse_last_ns;

TRACED void recurse(int depth)
{
	long long t0 = now_ns();

	spin_ns(100000);
	if (depth > 0) {
		long long c0 = now_ns(), d;

		recurse(depth - 1);
		d = now_ns() - c0;
		recurse_around_ns += d;
		timings_add(&timed_main, d);
	}
	spin_ns(100000);
	recurse_last_ns = now_ns() - t0; /* the outermost call stores last */
	recurse_total_ns += recurse_last_ns;
	timings_add(&timed_inside, recurse_last_ns);
}

TRACED void inner(void)
{
	TIMED_BODY(&timed_inner_inside, spin_ns(200000));
}

/* 300 us of its own plus inner's 200 us. */
TRACED void outer(void)
{
	long long t0 = now_ns(), t1;

	spin_ns(300000);
	t1 = now_ns();
	inner();
	timings_add(&timed_inner, now_ns() - t1);
	timings_add(&timed_inside, now_ns() - t0);
}

static volatile unsigned long ticks;

TRACED void tick(void)
{
	ticks++;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: latency [--wait-usr1] [--linger SECONDS] MODE [N]\n"
		"  sleep N    call sleep_2ms() N times (default 50)\n"
		"  nap N MS   call nap(MS), which sleeps MS milliseconds, N times\n"
		"  spin N     call spin_100us() N times (default 200)\n"
		"  recurse N  call recurse(4) N times (default 10)\n"
		"  nested N   call outer() (which calls inner()) N times (default 100)\n"
		"  libcall N  call getppid() N times (default 100)\n"
		"  loop       call tick() every ms forever; write '.' to stdout every 100 ticks\n"
		"  --wait-usr1: print 'ready' and wait for SIGUSR1 before starting\n"
		"  --linger SECONDS: after 'done', stay alive this long (for live metrics)\n");
	return 2;
}

int main(int argc, char **argv)
{
	long long main_start = now_ns();
	int wait_usr1 = 0, linger_s = 0;
	const char *mode;
	long n = -1;

	for (;;) {
		if (argc > 1 && !strcmp(argv[1], "--wait-usr1")) {
			wait_usr1 = 1;
			argv++;
			argc--;
		} else if (argc > 2 && !strcmp(argv[1], "--linger")) {
			linger_s = atoi(argv[2]);
			argv += 2;
			argc -= 2;
		} else {
			break;
		}
	}
	if (argc < 2)
		return usage();
	mode = argv[1];
	if (argc > 2)
		n = strtol(argv[2], NULL, 10);
	if (wait_usr1) {
		sigset_t block, old;

		signal(SIGUSR1, on_usr1);
		sigemptyset(&block);
		sigaddset(&block, SIGUSR1);
		sigprocmask(SIG_BLOCK, &block, &old);
		printf("ready\n");
		fflush(stdout);
		while (!go)
			sigsuspend(&old);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (!strcmp(mode, "nap")) {
		long ms = argc > 3 ? strtol(argv[3], NULL, 10) : 0;

		if (n < 0 || ms <= 0)
			return usage();
		TIMED_LOOP(n, nap(ms));
		timings_print(&timed_main, "nap");
		timings_print(&timed_inside, "nap-inside");
	} else if (!strcmp(mode, "sleep")) {
		TIMED_LOOP(n < 0 ? 50 : n, sleep_2ms());
		timings_print(&timed_main, "sleep_2ms");
		timings_print(&timed_inside, "sleep_2ms-inside");
		printf("life from main: %lld ns\n", now_ns() - main_start);
	} else if (!strcmp(mode, "spin")) {
		TIMED_LOOP(n < 0 ? 200 : n, spin_100us());
		timings_print(&timed_main, "spin_100us");
		timings_print(&timed_inside, "spin_100us-inside");
	} else if (!strcmp(mode, "recurse")) {
		long long outer[64], outer_own = 0;
		long calls = n < 0 ? 10 : n;

		for (long i = 0; i < calls; i++) {
			long long t0 = now_ns(), d;

			recurse(4);
			d = now_ns() - t0;
			timings_add(&timed_main, d);
			recurse_inside_ns += d;
			outer_own += recurse_last_ns;
			if (i < 64)
				outer[i] = d;
		}
		printf(
		    "recurse wall: total_ns=%lld inside_ns=%lld around_ns=%lld outer_own_ns=%lld\n",
		    recurse_total_ns, recurse_inside_ns, recurse_around_ns + recurse_inside_ns,
		    outer_own);
		/* Each outermost call's own wall time: where the slowest calls' quantiles are. */
		printf("recurse outer_ns:");
		for (long i = 0; i < calls && i < 64; i++)
			printf(" %lld", outer[i]);
		printf("\n");
		timings_print(&timed_main, "recurse");
		timings_print(&timed_inside, "recurse-inside");
		/* Its calls in each band of +-15% around 200, 400 .. 1000 us, timed inside. */
		printf("recurse bands:");
		for (int level = 1; level <= 5; level++) {
			int in = 0;

			for (long i = 0; i < timed_inside.n; i++)
				in += timed_inside.ns[i] >= level * 200000 * 0.85 &&
				      timed_inside.ns[i] <= level * 200000 * 1.15;
			printf(" %d", in);
		}
		printf("\n");
	} else if (!strcmp(mode, "nested")) {
		TIMED_LOOP(n < 0 ? 100 : n, outer());
		timings_print(&timed_main, "outer");
		timings_print(&timed_inside, "outer-inside");
		timings_print(&timed_inner, "inner");
		timings_print(&timed_inner_inside, "inner-inside");
	} else if (!strcmp(mode, "libcall")) {
		for (long i = 0; i < (n < 0 ? 100 : n); i++)
			getppid();
	} else if (!strcmp(mode, "loop")) {
		setvbuf(stdout, NULL, _IONBF, 0);
		for (;;) {
			tick();
			if (ticks % 100 == 0)
				putchar('.');
			sleep_ns(1000000);
		}
	} else {
		return usage();
	}
	printf("done\n");
	fflush(stdout);
	if (linger_s > 0)
		sleep_ns(linger_s * 1000000000LL);
	return 0;
}
