/* Internals shared by analysis.c and analysis_io.c (no other module): shares, stable sorting,
 * building findings. */
#ifndef SNAG_ANALYSIS_INTERNAL_H
#define SNAG_ANALYSIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "analysis.h"
#include "report.h"

#define PERCENT 100.0

/* Share num / den clamped to [0, 1]; 0 when den is 0. */
static inline double analysis__share(uint64_t num, uint64_t den)
{
	double v = den ? (double)num / (double)den : 0;

	if (v > 1)
		v = 1;
	return v > 0 ? v : 0;
}

static inline const char *str_or(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

/*
 * Stable-sort the n elements (size bytes each) of the array *base by cmp, in
 * place (with one spare element). If new_pos is not NULL, new_pos[i] receives
 * the new index of element i. Returns 0, or -ENOMEM with *base unchanged.
 */
int analysis__stable_sort(void **base, size_t n, size_t size, analysis_cmp_fn cmp, size_t *new_pos);

/* printf into a new string, or NULL. */
char *finding__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Append a finding of kind about target (taken over; NULL means its
 * allocation failed) to r->bottlenecks, with severity from impact and room
 * for evidence and recommendations. Returns it (valid until the next
 * finding__add()), or NULL with errno = ENOMEM. A finding that failed half
 * way stays in the list, for analysis__clear_bottlenecks() to free.
 */
struct report_bottleneck *finding__add(struct report *r, const char *kind, char *target, int pid,
				       double impact);

/* Add a named number to b (the key is copied). Returns 0 or -ENOMEM. */
int finding__evidence(struct report_bottleneck *b, const char *key, double value);

/*
 * Append a recommendation (takes ownership of s). Returns 0 or -ENOMEM (s
 * may be NULL). Beyond the first few, later (less specific) ones are dropped.
 */
int finding__recommend(struct report_bottleneck *b, char *s);

/*
 * Append the I/O findings (docs/impact.md, "I/O findings") to
 * r->bottlenecks, in rule order, unsorted. procs are r's processes
 * (analysis__processes(), ascending pid, n_procs of them): their thread time
 * is the impact denominator. Expects analysis__derive_io(). Returns 0 or
 * -ENOMEM (findings made so far stay in the list).
 */
int analysis__io_bottlenecks(struct report *r, const struct analysis_process *procs,
			     size_t n_procs);

/* The frame an off-CPU entry is "in": its first user frame past library wrappers, else its
 * first telling kernel frame; NULL when neither is known. */
const char *analysis__offcpu_where(const struct report_offcpu *o);

/*
 * Append the process-level wait findings (docs/impact.md, "Where processes
 * wait"): lock_contention, disk_bound, network_bound, sleep_loop. procs as
 * for analysis__io_bottlenecks(). Returns 0 or -ENOMEM.
 */
int analysis__wait_bottlenecks(struct report *r, const struct analysis_process *procs,
			       size_t n_procs);

/*
 * Is an off-CPU stack of pid waiting for kind already explained by a
 * process-level wait finding in r->bottlenecks? Then it is not listed again.
 */
bool analysis__wait_covered(const struct report *r, int pid, enum wait_kind kind);

/*
 * Append the trend findings (docs/impact.md, "Trends"): per function, its
 * average latency per interval; per process, its off-CPU time and I/O rate
 * per interval. Returns 0 or -ENOMEM.
 */
int analysis__trend_bottlenecks(struct report *r, const struct analysis_process *procs,
				size_t n_procs);

/*
 * Append a "cpu_hotspot" finding for every r->cpu_functions entry with at
 * least ANALYSIS_CPU_HOT_MIN_SAMPLES self samples and self impact above
 * ANALYSIS_BOTTLENECK_MIN_IMPACT (docs/impact.md). Expects
 * analysis__derive_cpu(). Returns 0 or -ENOMEM.
 */
int analysis__cpu_bottlenecks(struct report *r);

/*
 * Append the memory findings (docs/impact.md, "Memory findings"):
 * memory_leak and allocation_churn per allocation row, an RSS trend per
 * process. procs as for analysis__io_bottlenecks(). Returns 0 or -ENOMEM.
 */
int analysis__mem_bottlenecks(struct report *r, const struct analysis_process *procs,
			      size_t n_procs);

#endif
