/*
 * Test target built WITHOUT frame pointers (-O2 -fomit-frame-pointer, the Makefile's one special
 * target rule): burns CPU in spin_nofp, called through a chain of six functions from main.
 *
 * Usage: nofp SECONDS
 *
 * The kernel walks user stacks by frame pointers, so stacks sampled here lose the chain:
 * snag must say so (tests/integration/test_cpu.c) instead of showing a short stack as the truth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LEVEL __attribute__((noipa, optimize("no-optimize-sibling-calls")))

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

LEVEL unsigned long spin_nofp(unsigned long n, unsigned long x)
{
	volatile unsigned long sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
	return sink;
}

/* Each level does a little work of its own around the call, as real code does. */
#define DEFINE_LEVEL(name, next)                                                                   \
	LEVEL unsigned long name(unsigned long n, unsigned long x)                                 \
	{                                                                                          \
		volatile unsigned long mix = x ^ (n << 3);                                         \
		unsigned long r = next(n, mix + 1);                                                \
		return r ^ (mix >> 7);                                                             \
	}

DEFINE_LEVEL(level6, spin_nofp)
DEFINE_LEVEL(level5, level6)
DEFINE_LEVEL(level4, level5)
DEFINE_LEVEL(level3, level4)
DEFINE_LEVEL(level2, level3)
DEFINE_LEVEL(level1, level2)

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0;
	long long end = now_ns() + (long long)(seconds * 1e9);
	unsigned long x = 1, calls = 0;

	if (seconds <= 0) {
		fprintf(stderr, "usage: nofp SECONDS\n");
		return 2;
	}
	while (now_ns() < end) {
		x = level1(200000, x);
		calls++;
	}
	printf("nofp calls=%lu x=%lu\n", calls, x & 1);
	return 0;
}
