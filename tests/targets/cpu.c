/*
 * Test target with known on-CPU behaviour (tests/integration/test_cpu.c, tools/bench-cpu.sh).
 *
 * Usage: cpu ratio SECONDS    burn CPU in hot_a 3 times as long as in hot_b, for SECONDS of
 *                             CPU time
 *        cpu spin SECONDS     burn CPU in spin_loop for SECONDS; prints its rate of work
 *        cpu clock SECONDS    read the clock in a loop (its time is in the vdso) until it has
 *                             had SECONDS of CPU time
 *        cpu jit SECONDS      run a spin loop it generated at run time (x86-64), named only
 *                             in /tmp/perf-PID.map as jit_spin_loop, until it has had SECONDS
 *                             of CPU time; the map stays behind (as JITs leave it) for the
 *                             caller to remove
 * ratio, clock and jit count CPU time, not wall time, so that a loaded machine still gives
 * them the samples a test expects (about 1,000 at -F 999 for one second).
 *
 * The work is counted in loop iterations, not in time: hot_a does 3 times the iterations of
 * hot_b with the same loop body, so its share of the thread's CPU time is 3:1 whatever else runs
 * on the machine. Each prints the CPU time its thread measured in them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* noipa: no inlining or cloning, so each function is its own frame on every stack. */
#define TRACED __attribute__((noipa, optimize("no-optimize-sibling-calls")))

#define CHUNK 200000 /* iterations of spin_loop per call (about 0.2 ms here) */
/*
 * Iterations of hot_b per round (about 15 ms here; hot_a 45 ms). Blocks this
 * long hold many sampling periods each, so a sampler in lockstep with the
 * rounds (aliasing) can misplace at most a sample per block boundary.
 */
#define RATIO_CHUNK (80 * CHUNK)

static long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The same loop body in every burner: a multiply-add chain the compiler cannot fold. */
static inline __attribute__((always_inline)) unsigned long burn(unsigned long n, unsigned long x)
{
	volatile unsigned long sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
	return sink;
}

TRACED unsigned long hot_a(unsigned long x)
{
	return burn(3 * RATIO_CHUNK, x);
}

TRACED unsigned long hot_b(unsigned long x)
{
	return burn(RATIO_CHUNK, x);
}

TRACED unsigned long spin_loop(unsigned long n, unsigned long x)
{
	return burn(n, x);
}

static int ratio(double seconds)
{
	long long end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (long long)(seconds * 1e9), a_ns = 0,
		  b_ns = 0;
	unsigned long x = 1, rounds = 0;

	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
		long long t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t1, t2;

		x = hot_a(x);
		t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		x = hot_b(x);
		t2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		a_ns += t1 - t0;
		b_ns += t2 - t1;
		rounds++;
	}
	printf("ratio rounds=%lu hot_a_cpu_ns=%lld hot_b_cpu_ns=%lld x=%lu\n", rounds, a_ns, b_ns,
	       x & 1);
	return 0;
}

static int spin(double seconds)
{
	long long start = clock_ns(CLOCK_MONOTONIC), end = start + (long long)(seconds * 1e9), now;
	unsigned long x = 1, calls = 0;

	do {
		x = spin_loop(CHUNK, x);
		calls++;
		now = clock_ns(CLOCK_MONOTONIC);
	} while (now < end);
	printf("spin iterations=%lu ns_per_iteration=%.4f x=%lu\n", calls * CHUNK,
	       (double)(now - start) / (double)(calls * CHUNK), x & 1);
	return 0;
}

/* Reads the clock over and over: the time goes to the kernel's vdso, not to a file. */
TRACED long long read_clock(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int clock_loop(double seconds)
{
	long long end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (long long)(seconds * 1e9);
	unsigned long calls = 0;

	/* The thread's CPU clock is a syscall: read it once per 4,096 reads of the vdso's. */
	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 4096; i++, calls++)
			read_clock();
	printf("clock calls=%lu\n", calls);
	return 0;
}

#if defined(__x86_64__)
typedef unsigned long (*jit_fn)(unsigned long);

/* Calls the generated code: a frame-pointer frame the stack walk passes through. */
TRACED unsigned long run_jit(jit_fn fn, unsigned long n)
{
	return fn(n);
}

static int jit(double seconds)
{
	/* mov %rdi,%rax; 1: dec %rax; jnz 1b; ret */
	static const unsigned char code[] = {0x48, 0x89, 0xf8, 0x48, 0xff, 0xc8, 0x75, 0xfb, 0xc3};
	long long end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (long long)(seconds * 1e9);
	void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long calls = 0;
	char path[64];
	jit_fn fn;
	FILE *f;

	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC))
		return 1;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_spin_loop\n", (unsigned long)mem, sizeof(code));
	fclose(f);
	memcpy(&fn, &mem, sizeof(fn));
	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
		run_jit(fn, CHUNK);
		calls++;
	}
	printf("jit pid=%d calls=%lu map=%s\n", getpid(), calls, path);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	double seconds = argc > 2 ? atof(argv[2]) : 0;

	if (argc == 3 && !strcmp(argv[1], "ratio") && seconds > 0)
		return ratio(seconds);
	if (argc == 3 && !strcmp(argv[1], "spin") && seconds > 0)
		return spin(seconds);
	if (argc == 3 && !strcmp(argv[1], "clock") && seconds > 0)
		return clock_loop(seconds);
#if defined(__x86_64__)
	if (argc == 3 && !strcmp(argv[1], "jit") && seconds > 0)
		return jit(seconds);
#endif
	fprintf(stderr, "usage: cpu ratio|spin|clock|jit SECONDS\n");
	return 2;
}
