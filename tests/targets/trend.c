/*
 * Test target for trend detection: calls handle_request() in a loop for
 * SECONDS, each call sleeping 1 ms plus, in "growing" mode, 2 ms more for
 * every second elapsed (latency rises linearly from 1 ms to 1 + 2*SECONDS ms),
 * or always 2 ms in "steady" mode. Prints the slope it measured itself.
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

/*
 * The target's own view of the trend, fitted as snag fits it: the average
 * latency of the calls that started in each 0.2 s since the start, against
 * the middle of that span, by least squares. On a busy machine the latency
 * of a sleep grows with the load as well as with the plan.
 */
#define BIN_NS	 200000000LL
#define MAX_BINS 256
static double bin_sum[MAX_BINS], bin_n[MAX_BINS];

static double own_slope(double *r2, double *growth)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, n = 0;

	for (int i = 0; i < MAX_BINS; i++)
		if (bin_n[i] > 0) {
			mx += (i + 0.5) * BIN_NS / 1e9;
			my += bin_sum[i] / bin_n[i];
			n++;
		}
	double x_first = -1, x_last = 0;

	*r2 = 0;
	*growth = 0;
	for (int i = 0; i < MAX_BINS; i++)
		if (bin_n[i] > 0) {
			x_last = (i + 0.5) * BIN_NS / 1e9;
			if (x_first < 0)
				x_first = x_last;
		}
	if (n < 2)
		return 0;
	mx /= n;
	my /= n;
	for (int i = 0; i < MAX_BINS; i++)
		if (bin_n[i] > 0) {
			double x = (i + 0.5) * BIN_NS / 1e9 - mx, y = bin_sum[i] / bin_n[i] - my;

			sxx += x * x;
			sxy += x * y;
			syy += y * y;
		}
	*r2 = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 1;
	/* Relative growth over the span, as snag judges a trend: (last - first) / mean. */
	*growth = sxx > 0 && my > 0 ? sxy / sxx * (x_last - x_first) / my : 0;
	return sxx > 0 ? sxy / sxx : 0;
}

int main(int argc, char **argv)
{
	long long start = now_ns(), end, calls = 0;
	double slope, r2, growth;
	int growing;

	if (argc != 3 || (strcmp(argv[1], "growing") && strcmp(argv[1], "steady"))) {
		fprintf(stderr, "usage: trend growing|steady SECONDS\n");
		return 2;
	}
	growing = !strcmp(argv[1], "growing");
	end = start + (long long)(atof(argv[2]) * 1e9);
	for (long long t = start; t < end; calls++) {
		long long bin = (t - start) / BIN_NS, after;

		handle_request(growing ? 1000000 + (t - start) * 2 / 1000 : 2000000);
		after = now_ns();
		if (bin < MAX_BINS) {
			bin_sum[bin] += (double)(after - t);
			bin_n[bin]++;
		}
		t = after;
	}
	slope = own_slope(&r2, &growth);
	printf("trend calls=%lld slope_ns_per_s=%.0f r2=%.3f growth=%.3f\n", calls, slope, r2,
	       growth);
	return 0;
}
