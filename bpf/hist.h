/* Log-linear histogram bucket math, shared by the BPF programs and userspace (unit-tested on the
 * host). */
#ifndef SNAG_HIST_H
#define SNAG_HIST_H

#ifndef __bpf__
#include <linux/types.h>
#define SNAG_HIST_INLINE static inline
#else
#define SNAG_HIST_INLINE static __always_inline
#endif

/*
 * Values below SNAG_HIST_SUB get one exact bucket each. Above that, every power
 * of two [2^e, 2^(e+1)) is split into SNAG_HIST_SUB equal sub-buckets, so a
 * bucket is at most 1/16 of its lower bound wide and the midpoint of a bucket
 * is within 1/32 (3.1%) of any value in it. Values of 2^SNAG_HIST_MAX_EXP ns
 * (about 4.9 hours) and more all land in the last bucket.
 */
#define SNAG_HIST_SUB_BITS 4
#define SNAG_HIST_SUB	   (1u << SNAG_HIST_SUB_BITS)
#define SNAG_HIST_MAX_EXP  44
#define SNAG_HIST_BUCKETS  ((SNAG_HIST_MAX_EXP - SNAG_HIST_SUB_BITS + 1) * SNAG_HIST_SUB)

/* Index of the most significant set bit of v (0 for v == 0), without loops so the verifier sees
 * straight-line code. */
SNAG_HIST_INLINE __u32 snag_hist_msb(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/*
 * The layout is set by sub_bits (2^sub_bits sub-buckets per power of two) and
 * max_exp (values of 2^max_exp and more share the last bucket). Callers pass
 * constants, so after inlining this is the same code as fixed macros.
 */

/* Bucket index of value v, always in [0, (max_exp - sub_bits + 1) << sub_bits). */
SNAG_HIST_INLINE __u32 snag_hist_bucket_l(__u64 v, __u32 sub_bits, __u32 max_exp)
{
	__u32 e, sub;

	if (v < (1u << sub_bits))
		return (__u32)v;
	e = snag_hist_msb(v);
	if (e >= max_exp)
		return ((max_exp - sub_bits + 1) << sub_bits) - 1;
	sub = (__u32)(v >> (e - sub_bits)) - (1u << sub_bits);
	return ((e - sub_bits + 1) << sub_bits) + sub;
}

/* Smallest value that falls in bucket i. */
SNAG_HIST_INLINE __u64 snag_hist_lower_l(__u32 i, __u32 sub_bits)
{
	__u32 group = i >> sub_bits, sub = i & ((1u << sub_bits) - 1);

	if (group == 0)
		return i;
	return (__u64)((1u << sub_bits) + sub) << (group - 1);
}

/* Number of distinct values in bucket i (the last bucket is open-ended; its nominal width is
 * returned). */
SNAG_HIST_INLINE __u64 snag_hist_width_l(__u32 i, __u32 sub_bits)
{
	__u32 group = i >> sub_bits;

	return group == 0 ? 1 : (__u64)1 << (group - 1);
}

/* Function latencies: the layout described at the top of this file. */
SNAG_HIST_INLINE __u32 snag_hist_bucket(__u64 v)
{
	return snag_hist_bucket_l(v, SNAG_HIST_SUB_BITS, SNAG_HIST_MAX_EXP);
}

SNAG_HIST_INLINE __u64 snag_hist_lower(__u32 i)
{
	return snag_hist_lower_l(i, SNAG_HIST_SUB_BITS);
}

SNAG_HIST_INLINE __u64 snag_hist_width(__u32 i)
{
	return snag_hist_width_l(i, SNAG_HIST_SUB_BITS);
}

/* Largest value that falls in bucket i (inclusive upper bound, the JSON "le_ns"). */
SNAG_HIST_INLINE __u64 snag_hist_upper(__u32 i)
{
	return snag_hist_lower(i) + snag_hist_width(i) - 1;
}

/*
 * Scheduler waits (run-queue, off-CPU), kept per thread: 8 sub-buckets per
 * power of two (midpoints within 1/16, 6.25%, of any value) up to 2^40 ns
 * (18 minutes), 304 buckets: a third of the size, for thousands of threads.
 */
#define SNAG_SCHED_HIST_SUB_BITS 3
#define SNAG_SCHED_HIST_MAX_EXP	 40
#define SNAG_SCHED_HIST_BUCKETS                                                                    \
	((SNAG_SCHED_HIST_MAX_EXP - SNAG_SCHED_HIST_SUB_BITS + 1) << SNAG_SCHED_HIST_SUB_BITS)

SNAG_HIST_INLINE __u32 snag_sched_hist_bucket(__u64 v)
{
	return snag_hist_bucket_l(v, SNAG_SCHED_HIST_SUB_BITS, SNAG_SCHED_HIST_MAX_EXP);
}

SNAG_HIST_INLINE __u64 snag_sched_hist_lower(__u32 i)
{
	return snag_hist_lower_l(i, SNAG_SCHED_HIST_SUB_BITS);
}

SNAG_HIST_INLINE __u64 snag_sched_hist_upper(__u32 i)
{
	return snag_sched_hist_lower(i) + snag_hist_width_l(i, SNAG_SCHED_HIST_SUB_BITS) - 1;
}

/*
 * I/O sizes (block, network, syscall bytes): one bucket per power of two,
 * upper bound inclusive, so a 4096-byte I/O is in the bucket whose "le_bytes"
 * is 4096. Bucket 0 holds size 0, bucket i >= 1 sizes in (2^(i-2), 2^(i-1)];
 * sizes above 2^(SNAG_SIZE_HIST_BUCKETS-2) (4 GiB) share the last bucket.
 */
#define SNAG_SIZE_HIST_BUCKETS 34

SNAG_HIST_INLINE __u32 snag_size_hist_bucket(__u64 v)
{
	__u32 b;

	if (v <= 1)
		return (__u32)v;
	b = snag_hist_msb(v - 1) + 2; /* ceil(log2(v)) + 1 */
	return b < SNAG_SIZE_HIST_BUCKETS ? b : SNAG_SIZE_HIST_BUCKETS - 1;
}

/* Largest size in bucket i (the JSON "le_bytes"); the last bucket is open-ended. */
SNAG_HIST_INLINE __u64 snag_size_hist_upper(__u32 i)
{
	return i == 0 ? 0 : (__u64)1 << (i - 1);
}

#endif /* SNAG_HIST_H */
