/*
 * JIT symbol maps: /tmp/perf-PID.map, the file in which JIT compilers (Node with
 * --perf-basic-prof, the JVM with perf-map-agent, .NET with DOTNET_PerfMapEnabled=1, LuaJIT,
 * ...) name the code they generate, one "START SIZE NAME" line per function (START and SIZE in
 * hex), as perf reads it (tools/perf/Documentation/jit-interface.txt in the kernel tree).
 */
#ifndef SNAG_PERFMAP_H
#define SNAG_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct perfmap_sym {
	uint64_t start;
	uint64_t end; /* start + SIZE */
	const char *name;
};

struct perfmap {
	char *buf;		  /* the file's text; names point into it */
	struct perfmap_sym *syms; /* sorted by start; of equal starts, the last line's */
	size_t n;
	size_t skipped; /* lines that are not "START SIZE NAME" */
};

/*
 * Parse the len bytes of buf as a perf map. buf is malloc'd with room for
 * len + 1 bytes (a NUL may go after the last line); out owns it from here,
 * also on error. Lines that do not parse are skipped and counted. Returns 0
 * or -ENOMEM.
 */
int perfmap__parse(char *buf, size_t len, struct perfmap *out);

/*
 * Load the perf map at path. It must be a regular file (not a symlink) owned
 * by owner (the process it describes) or by root: anyone can write /tmp, and
 * snag runs as root. Returns 0, -ENOENT, -EPERM (not owned so, or not a
 * regular file), -EFBIG (over 256 MiB), -ENOMEM or -errno. *size_out (if not
 * NULL) gets the file's size.
 */
int perfmap__load(const char *path, uid_t owner, struct perfmap *out, off_t *size_out);

/* The name of the function at addr, or NULL. Owned by m. */
const char *perfmap__lookup(const struct perfmap *m, uint64_t addr);

/* Free everything; m is left empty. Safe on an empty or freed map. */
void perfmap__free(struct perfmap *m);

#endif
