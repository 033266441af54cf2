/* The ABI between snag's BPF programs and userspace: fixed-width types, explicit padding, no
 * pointers. */
#ifndef SNAG_ABI_H
#define SNAG_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "hist.h"

/* Depth of the per-thread stack of entry timestamps; deeper nesting is counted as SNAG_DROP_DEPTH.
 */
#define SNAG_FUNC_DEPTH 32

/*
 * Per-function aggregate, one per probed function (index = BPF cookie), per
 * CPU. The call count is the sum of hist[], and the time inside the function
 * is total_ns - recursive_ns: fewer atomic adds on every return.
 */
struct snag_func_stats {
	__u64 total_ns;	    /* sum of call latencies */
	__u64 recursive_ns; /* part of total_ns from calls made inside an open call of the same
			       function */
	__u64 min_ns;	    /* 0 until the first sample */
	__u64 max_ns;
	__u64 hist[SNAG_HIST_BUCKETS]; /* calls per latency bucket */
};

/* Why an event was not counted; index into snag_counters.drops. */
enum snag_drop {
	SNAG_DROP_DEPTH = 0,	    /* nesting deeper than SNAG_FUNC_DEPTH */
	SNAG_DROP_UNMATCHED_RETURN, /* return whose entry was not seen (call began before attach) */
	SNAG_DROP_LOST_RETURN,	    /* entry whose return never came (longjmp, exception, exec) */
	SNAG_DROP_NO_STORAGE,	/* task local storage unavailable (allocation failure, recursion) */
	SNAG_DROP_THREADS_FULL, /* live_threads map full: thread time missing from impact */
	SNAG_DROP__COUNT,
};

/* Global counters, one slot, per CPU. */
struct snag_counters {
	__u64 drops[SNAG_DROP__COUNT];
	__u64 exited_threads;	/* traced threads that exited during the trace */
	__u64 exited_thread_ns; /* their alive time within the trace */
};

#endif /* SNAG_ABI_H */
