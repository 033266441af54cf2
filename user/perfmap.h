/*
 * JIT symbol maps: /tmp/perf-PID.map, the file in which JIT compilers (Node with
 * --perf-basic-prof, the JVM with perf-map-agent, .NET with DOTNET_PerfMapEnabled=1, LuaJIT,
 * ...) name the code they generate, one "START SIZE NAME" line per function (START and SIZE in
 * hex), as perf reads it (tools/perf/Documentation/jit-interface.txt in the kernel tree).
 * The file is written by the traced process's user, so what snag takes from it is bounded.
 */
#ifndef SNAG_PERFMAP_H
#define SNAG_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What one map may make snag read and hold. A V8 or JVM map line is about
 * 100 bytes, so 256k symbols (a 25 MiB map) cover large services; at the
 * limits a map holds 16 MiB of names and 14 MiB of tables (about 30 MiB, not
 * the 575 MiB a 64 MiB map of tiny lines cost when the whole file was kept),
 * and reading stops at 64 MiB. Longer names are cut to 1 KiB.
 */
#define PERFMAP_MAX_BYTES      (64u << 20)
#define PERFMAP_MAX_SYMS       (256u << 10)
#define PERFMAP_MAX_NAME       1024
#define PERFMAP_MAX_NAME_BYTES (16u << 20)

struct perfmap_limits {
	size_t max_bytes;      /* of the file read; the rest is left */
	size_t max_syms;       /* symbols kept; later lines are counted as cut */
	size_t max_name;       /* longer names are cut to this many bytes */
	size_t max_name_bytes; /* bytes of names kept (each with its NUL) */
};

/* The PERFMAP_MAX_* limits. */
extern const struct perfmap_limits perfmap_default_limits;

struct perfmap_sym {
	uint64_t start;
	uint64_t end; /* start + SIZE */
	const char *name;
};

struct perfmap {
	char *names;		  /* every name kept, NUL-terminated, one after another */
	size_t name_bytes;	  /* used in names */
	struct perfmap_sym *syms; /* sorted by start; of equal starts, the last line's */
	size_t n;
	size_t skipped;	  /* lines that are not "START SIZE NAME" */
	size_t cut;	  /* lines left out by max_syms or max_name_bytes, or cut by max_bytes */
	size_t names_cut; /* names cut to max_name bytes */
	bool truncated;	  /* a limit stopped it: reading the file again gives no more */
};

/*
 * Parse the len bytes of buf as a perf map, with the default limits (but
 * max_bytes). buf is malloc'd with room for len + 1 bytes; it is freed here,
 * also on error (names are copied). Lines that do not parse are skipped and
 * counted. Returns 0 or -ENOMEM.
 */
int perfmap__parse(char *buf, size_t len, struct perfmap *out);

/*
 * Read the perf map open at fd, within lim (NULL: the defaults), reading the
 * file in chunks (never all of it at once). It must be a regular file owned by
 * owner, the uid of the process it describes: anyone can write /tmp (or
 * bind-mount over a file there in their own namespaces), and snag runs as
 * root. Returns 0, -EPERM (another owner, or not a regular file), -ENOMEM or
 * -errno of read(2). *size_out (if not NULL) gets the file's size. fd stays
 * the caller's.
 */
int perfmap__read_fd(int fd, uid_t owner, const struct perfmap_limits *lim, struct perfmap *out,
		     off_t *size_out);

/*
 * perfmap__read_fd() of the file at path, opened without following a link as
 * its last component and without blocking. Returns its errors, and -ENOENT;
 * a link is -EPERM.
 */
int perfmap__load(const char *path, uid_t owner, struct perfmap *out, off_t *size_out);

/* The name of the function at addr, or NULL. Owned by m. */
const char *perfmap__lookup(const struct perfmap *m, uint64_t addr);

/* Free everything; m is left empty. Safe on an empty or freed map. */
void perfmap__free(struct perfmap *m);

#endif
