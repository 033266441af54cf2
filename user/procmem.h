/* A process's memory from /proc: resident set, its peak, page faults (per-interval sampling). */
#ifndef SNAG_PROCMEM_H
#define SNAG_PROCMEM_H

#include <stdbool.h>
#include <stdint.h>

struct procmem_sample {
	char comm[17];	       /* from stat, with control bytes as '?' */
	char state;	       /* 'R', 'S', ..., 'Z' (zombie: its memory is gone) */
	uint64_t minor_faults; /* since the process started, all its threads */
	uint64_t major_faults;
	uint64_t rss_bytes; /* statm resident pages x page size */
	uint64_t vsz_bytes; /* statm size pages x page size */
	uint64_t hwm_bytes; /* VmHWM of status: peak rss since the process started */
	bool has_memory;    /* rss, vsz and hwm were read (not for a zombie: its memory is gone) */
};

/*
 * Parse the text of /proc/PID/stat (the name may hold spaces and ')'; fields
 * count from the last ')'). Fills comm, state, minor_faults, major_faults.
 * Returns 0 or -EINVAL.
 */
int procmem__parse_stat(const char *text, struct procmem_sample *s);

/* Parse /proc/PID/statm with pages of page_size bytes: rss_bytes, vsz_bytes. 0 or -EINVAL. */
int procmem__parse_statm(const char *text, uint64_t page_size, struct procmem_sample *s);

/* The VmHWM line of /proc/PID/status, in bytes. Returns 0 or -ENOENT when it has none. */
int procmem__parse_hwm(const char *text, uint64_t *bytes);

/*
 * Read pid's stat, statm and status under proc_root (NULL: "/proc"). A
 * zombie's name and final fault counts are read, but its memory is gone
 * (has_memory false). Returns 0, -ESRCH when the process is gone, or -EINVAL
 * when a file does not parse.
 */
int procmem__read(const char *proc_root, int pid, struct procmem_sample *s);

#endif
