/*
 * Test target for trend detection: calls handle_request() in a loop for
 * SECONDS, each call sleeping 1 ms plus, in "growing" mode, 2 ms more for
 * every second elapsed (latency rises linearly from 1 ms to 1 + 2*SECONDS ms),
 * or always 2 ms in "steady" mode.
 * Usage: trend growing|steady SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRACED __attribute__((noipa))

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

TRACED void handle_request(long long ns)
{
	struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	long long start = now_ns(), end, calls = 0;
	int growing;

	if (argc != 3 || (strcmp(argv[1], "growing") && strcmp(argv[1], "steady"))) {
		fprintf(stderr, "usage: trend growing|steady SECONDS\n");
		return 2;
	}
	growing = !strcmp(argv[1], "growing");
	end = start + (long long)(atof(argv[2]) * 1e9);
	for (long long t = start; t < end; t = now_ns(), calls++)
		handle_request(growing ? 1000000 + (t - start) * 2 / 1000 : 2000000);
	printf("trend calls=%lld\n", calls);
	return 0;
}
