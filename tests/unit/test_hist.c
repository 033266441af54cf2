/* Unit tests: histogram bucket math (bpf/hist.h) and hist__percentile() against exact percentiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "report.h"

#define N_SAMPLES     100000
#define MAX_REL_ERROR 0.04

static void test_buckets_contiguous(void **state)
{
	__u32 i;

	(void)state;
	assert_int_equal(snag_hist_lower(0), 0);
	for (i = 0; i < SNAG_HIST_BUCKETS; i++) {
		assert_true(snag_hist_lower(i) <= snag_hist_upper(i));
		assert_int_equal(snag_hist_upper(i) - snag_hist_lower(i) + 1, snag_hist_width(i));
		/* A bucket is at most 1/16 of its lower bound wide (exact below 16). */
		if (snag_hist_lower(i) >= SNAG_HIST_SUB)
			assert_true(snag_hist_width(i) <= snag_hist_lower(i) / SNAG_HIST_SUB);
		else
			assert_int_equal(snag_hist_width(i), 1);
		if (i + 1 < SNAG_HIST_BUCKETS)
			assert_int_equal(snag_hist_upper(i) + 1, snag_hist_lower(i + 1));
		/* Each bucket's bounds map back to it. */
		assert_int_equal(snag_hist_bucket(snag_hist_lower(i)), i);
		if (i + 1 < SNAG_HIST_BUCKETS)
			assert_int_equal(snag_hist_bucket(snag_hist_upper(i)), i);
	}
	/* The last bucket nominally ends at 2^44 - 1 and holds every larger value too. */
	assert_int_equal(snag_hist_lower(SNAG_HIST_BUCKETS - 1) +
			     snag_hist_width(SNAG_HIST_BUCKETS - 1),
			 1ULL << SNAG_HIST_MAX_EXP);
}

static void check_value(uint64_t v)
{
	__u32 b = snag_hist_bucket(v);

	assert_true(b < SNAG_HIST_BUCKETS);
	assert_true(snag_hist_lower(b) <= v);
	if (b + 1 < SNAG_HIST_BUCKETS)
		assert_true(v <= snag_hist_upper(b));
	else
		assert_true(v >= (1ULL << SNAG_HIST_MAX_EXP) - snag_hist_width(b));
}

static void test_value_in_bucket(void **state)
{
	static const uint64_t edges[] = {0,  1,	   2,	 15,   16,   17,	 31,	    32,
					 33, 1000, 1023, 1024, 1025, 1ULL << 44, UINT64_MAX};
	unsigned e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_value(edges[i]);
	for (e = 0; e < 64; e++) {
		uint64_t p = 1ULL << e;

		check_value(p - 1);
		check_value(p);
		check_value(p + 1);
	}
	assert_int_equal(snag_hist_bucket(0), 0);
	assert_int_equal(snag_hist_bucket(15), 15);
	assert_int_equal(snag_hist_bucket(16), 16);
	assert_int_equal(snag_hist_bucket(17), 17);
	assert_int_equal(snag_hist_bucket((1ULL << 44) - 1), SNAG_HIST_BUCKETS - 1);
	assert_int_equal(
	    snag_hist_bucket((1ULL << 44) - snag_hist_width(SNAG_HIST_BUCKETS - 1) - 1),
	    SNAG_HIST_BUCKETS - 2);
	assert_int_equal(snag_hist_bucket(1ULL << 44), SNAG_HIST_BUCKETS - 1);
	assert_int_equal(snag_hist_bucket(UINT64_MAX), SNAG_HIST_BUCKETS - 1);
}

static uint64_t rng_next(void);

static void test_monotonic(void **state)
{
	uint64_t v, a, b;
	int i;

	(void)state;
	for (v = 0; v < (1u << 20); v++)
		assert_true(snag_hist_bucket(v + 1) >= snag_hist_bucket(v));
	for (i = 0; i < 100000; i++) {
		a = rng_next() >> (rng_next() % 64);
		b = rng_next() >> (rng_next() % 64);
		if (a > b) {
			v = a;
			a = b;
			b = v;
		}
		assert_true(snag_hist_bucket(a) <= snag_hist_bucket(b));
	}
}

/* xorshift64*: a fixed-seed PRNG so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* Uniform in (0, 1]. */
static double rng_unit(void)
{
	return ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
}

/* Natural log for x > 0 without libm: x = m * 2^k, ln m by the atanh series. */
static double my_ln(double x)
{
	double z, z2, term, sum = 0;
	int k = 0, n;

	while (x >= 1.0) {
		x /= 2;
		k++;
	}
	while (x < 0.5) {
		x *= 2;
		k--;
	}
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (n = 1; n < 60; n += 2) {
		sum += term / n;
		term *= z2;
	}
	return 2 * sum + k * 0.69314718055994530942;
}

/* e^x without libm: halve until small, Taylor series, square back. */
static double my_exp(double x)
{
	double sum = 1, term = 1;
	int k = 0, n;

	while (x > 0.5 || x < -0.5) {
		x /= 2;
		k++;
	}
	for (n = 1; n < 20; n++) {
		term *= x / n;
		sum += term;
	}
	while (k--)
		sum *= sum;
	return sum;
}

/* Approximately standard normal (sum of 12 uniforms). */
static double rng_normal(void)
{
	double s = 0;
	int i;

	for (i = 0; i < 12; i++)
		s += rng_unit();
	return s - 6;
}

enum dist {
	UNIFORM,
	EXPONENTIAL,
	LOGNORMAL,
	CONSTANT,
	BIMODAL,
	SMALL_INTS,
	LOG_UNIFORM
};

static uint64_t draw(enum dist d)
{
	switch (d) {
	case UNIFORM:
		return 1000 + rng_next() % 999000;
	case EXPONENTIAL:
		return 100 + (uint64_t)(-my_ln(rng_unit()) * 50000);
	case LOGNORMAL:
		return (uint64_t)my_exp(my_ln(200000) + 0.8 * rng_normal());
	case CONSTANT:
		return 12345;
	case BIMODAL:
		return rng_next() % 10 < 7 ? 2000 + rng_next() % 2000
					   : 5000000 + rng_next() % 3000000;
	case SMALL_INTS:
		return rng_next() % 16;
	case LOG_UNIFORM:
		return (uint64_t)my_exp(my_ln(1000) + rng_unit() * (my_ln(1e9) - my_ln(1000)));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples: the value at rank ceil(p * n). */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n);

	if ((double)rank < p * (double)n)
		rank++;
	return sorted[rank ? rank - 1 : 0];
}

static void check_percentiles(enum dist d, size_t n)
{
	static const double ps[] = {0.5, 0.9, 0.99};
	uint64_t *samples = calloc(n, sizeof(*samples));
	uint64_t *hist = calloc(SNAG_HIST_BUCKETS, sizeof(*hist));
	uint64_t min = UINT64_MAX, max = 0;
	size_t i;

	assert_non_null(samples);
	assert_non_null(hist);
	for (i = 0; i < n; i++) {
		samples[i] = draw(d);
		hist[snag_hist_bucket(samples[i])]++;
		min = samples[i] < min ? samples[i] : min;
		max = samples[i] > max ? samples[i] : max;
	}
	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t exact = exact_percentile(samples, n, ps[i]);
		uint64_t est = hist__percentile(hist, SNAG_HIST_BUCKETS, ps[i], min, max);
		double err = exact ? ((double)est - (double)exact) / (double)exact : (double)est;

		if (err < 0)
			err = -err;
		if (err > MAX_REL_ERROR)
			fail_msg("dist %d p%.0f: estimate %llu, exact %llu (%.1f%% off)", d,
				 ps[i] * 100, (unsigned long long)est, (unsigned long long)exact,
				 err * 100);
	}
	free(samples);
	free(hist);
}

static void test_size_buckets(void **state)
{
	(void)state;
	assert_int_equal(snag_size_hist_bucket(0), 0);
	assert_int_equal(snag_size_hist_bucket(1), 1);
	assert_int_equal(snag_size_hist_bucket(2), 2);
	assert_int_equal(snag_size_hist_bucket(3), 3);
	assert_int_equal(snag_size_hist_bucket(4), 3);
	assert_int_equal(snag_size_hist_upper(snag_size_hist_bucket(4096)), 4096);
	assert_int_equal(snag_size_hist_upper(snag_size_hist_bucket(4097)), 8192);
	assert_int_equal(snag_size_hist_upper(snag_size_hist_bucket(100)), 128);
	assert_int_equal(snag_size_hist_bucket(~0ULL), SNAG_SIZE_HIST_BUCKETS - 1);
	/* Every size lands in the bucket whose bounds hold it. */
	for (__u64 v = 1; v < (1ULL << 20); v += 1 + v / 7) {
		__u32 b = snag_size_hist_bucket(v);

		assert_true(v <= snag_size_hist_upper(b));
		assert_true(v > snag_size_hist_upper(b - 1));
	}
}

static void test_percentile_uniform(void **state)
{
	(void)state;
	check_percentiles(UNIFORM, N_SAMPLES);
}

static void test_percentile_exponential(void **state)
{
	(void)state;
	check_percentiles(EXPONENTIAL, N_SAMPLES);
}

static void test_percentile_lognormal(void **state)
{
	(void)state;
	check_percentiles(LOGNORMAL, N_SAMPLES);
	check_percentiles(LOG_UNIFORM, N_SAMPLES);
}

static void test_percentile_constant(void **state)
{
	(void)state;
	check_percentiles(CONSTANT, N_SAMPLES);
	check_percentiles(CONSTANT, 1);
}

static void test_percentile_single_sample(void **state)
{
	uint64_t hist[SNAG_HIST_BUCKETS] = {0};

	(void)state;
	hist[snag_hist_bucket(777777)] = 1;
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.5, 777777, 777777), 777777);
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.99, 777777, 777777), 777777);
	/* Without min/max (min > max: unknown) the estimate still stays inside the bucket. */
	assert_in_range(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.5, 1, 0),
			snag_hist_lower(snag_hist_bucket(777777)),
			snag_hist_upper(snag_hist_bucket(777777)));
}

static void test_percentile_bimodal(void **state)
{
	(void)state;
	check_percentiles(BIMODAL, N_SAMPLES);
}

static void test_percentile_small_values_exact(void **state)
{
	(void)state;
	/* Below 16 every value has its own bucket: estimates are exact. */
	check_percentiles(SMALL_INTS, N_SAMPLES);
}

static void test_percentile_edge_cases(void **state)
{
	uint64_t hist[SNAG_HIST_BUCKETS] = {0};

	(void)state;
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.5, 0, 0), 0);
	assert_int_equal(hist__percentile(NULL, SNAG_HIST_BUCKETS, 0.5, 0, 0), 0);
	hist[snag_hist_bucket(100)] = 10;
	hist[snag_hist_bucket(UINT64_MAX)] = 1;
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 0, 100, UINT64_MAX), 0);
	/* p = 1 is the max, beyond the open-ended bucket's nominal range. */
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 1.0, 100, UINT64_MAX),
			 UINT64_MAX);
	assert_int_equal(hist__percentile(hist, SNAG_HIST_BUCKETS, 2.0, 100, UINT64_MAX),
			 UINT64_MAX);
	assert_in_range(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.5, 100, UINT64_MAX), 100, 103);
	/* Inside the open-ended last bucket, estimates spread up to the max. */
	memset(hist, 0, sizeof(hist));
	hist[SNAG_HIST_BUCKETS - 1] = 100;
	assert_true(hist__percentile(hist, SNAG_HIST_BUCKETS, 0.9, 1ULL << 45, 1ULL << 50) >
		    1ULL << 49);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets_contiguous),
	    cmocka_unit_test(test_value_in_bucket),
	    cmocka_unit_test(test_monotonic),
	    cmocka_unit_test(test_size_buckets),
	    cmocka_unit_test(test_percentile_uniform),
	    cmocka_unit_test(test_percentile_exponential),
	    cmocka_unit_test(test_percentile_lognormal),
	    cmocka_unit_test(test_percentile_constant),
	    cmocka_unit_test(test_percentile_single_sample),
	    cmocka_unit_test(test_percentile_bimodal),
	    cmocka_unit_test(test_percentile_small_values_exact),
	    cmocka_unit_test(test_percentile_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
