/* Turn -u SPECs into probe points: which file, which offset, in which process. */
#ifndef SNAG_RESOLVE_H
#define SNAG_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

enum spec_kind {
	SPEC_MAIN, /* FUNC_GLOB: the main binary of each -p/-c process */
	SPEC_LIB,  /* LIB:FUNC_GLOB: "libc", "libssl.so.3" (no '/') */
	SPEC_PATH, /* /path/to/binary:FUNC_GLOB (the part before ':' contains '/') */
};

struct spec {
	enum spec_kind kind;
	char *where; /* library name or path; NULL for SPEC_MAIN */
	char *glob;  /* fnmatch(3) pattern for the function name */
};

/*
 * Parse one -u argument. Returns 0, or -EINVAL with snag_set_error() naming
 * the problem (empty glob, empty library, ...). Free with spec__free().
 */
int spec__parse(const char *arg, struct spec *out);
void spec__free(struct spec *s);

struct probe_point {
	char *binary;	   /* path of the ELF as the target sees it (for reports) */
	char *attach_path; /* path to open and attach to (may be /proc/PID/root/...) */
	char *name;	   /* symbol name */
	uint64_t address;  /* symbol value */
	uint64_t offset;   /* file offset of the probed instruction */
	int pid;	   /* process to probe, -1 for every process running the file */
	uint32_t func_id;  /* report row; one function in several processes shares it */
};

struct probe_set {
	struct probe_point *points;
	size_t n_points;
	uint32_t n_funcs; /* distinct func_ids, numbered 0..n_funcs-1 */
};

struct resolve_opts {
	const int *pids; /* -p pids (n_pids > 0), or NULL */
	size_t n_pids;
	/* -c: the child's pid (not exec'd yet) and the resolved path of the program it will run. */
	int command_pid;
	const char *command_path;
	size_t max_funcs;   /* refuse when the specs match more functions than this; 0: no limit */
	bool exceptions_ok; /* time C++/Rust code although unwinding through a probe aborts */
};

/*
 * Resolve every spec against the targets. Without pids or a command, SPEC_LIB
 * and SPEC_PATH probe every process (pid -1) and SPEC_MAIN is an error.
 * Returns 0, or a negative errno with snag_set_error() set:
 *   -ENOENT  no such binary/library, or a -p process that is gone
 *   -ENOEXEC the file is not ELF
 *   -ESRCH   no function matches (the message says when the file is stripped)
 *   -E2BIG   more than max_funcs functions match
 *   -EINVAL  a SPEC_MAIN spec without -p or -c
 * Free with probe_set__free().
 */
int resolve__specs(const struct spec *specs, size_t n_specs, const struct resolve_opts *o,
		   struct probe_set *out);
void probe_set__free(struct probe_set *ps);

#endif
