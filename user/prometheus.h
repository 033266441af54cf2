/* Prometheus text exposition (format 0.0.4) of a report's running totals, for --prometheus. */
#ifndef SNAG_PROMETHEUS_H
#define SNAG_PROMETHEUS_H

#include <stddef.h>

struct report;
struct prom_writer;

/*
 * A writer turns successive reports of one session into exposition texts. It
 * remembers every series it wrote, so that no counter it writes ever goes
 * down. Returns NULL with errno set. Free with prom_writer__free().
 */
struct prom_writer *prom_writer__new(void);

/*
 * Write r's totals since the trace started as exposition text: functions
 * (calls and a latency histogram), the scheduler rows summed per process, the
 * I/O rows, BPF program costs and drops. Families of collectors that were off
 * are left out. Rows whose labels coincide are summed into one series, and
 * each value written is at least what this writer wrote for that series
 * before (a torn read of a BPF map can lower a total for one refresh).
 * *text is malloc'd, NUL-terminated, *len bytes long; the caller frees it.
 * Returns 0 or -ENOMEM (nothing is written then, and the writer is unchanged).
 */
int prom_writer__format(struct prom_writer *w, const struct report *r, char **text, size_t *len);

/* Free the writer. NULL is a no-op. */
void prom_writer__free(struct prom_writer *w);

#endif
