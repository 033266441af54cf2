/* Executable file mappings of a process (/proc/PID/maps), and finding a library by name. */
#ifndef SNAG_PROCMAPS_H
#define SNAG_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* One executable, file-backed mapping. */
struct procmap {
	uint64_t start;	 /* first address */
	uint64_t end;	 /* one past the last address */
	uint64_t offset; /* file offset mapped at start */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t inode;
	bool deleted; /* the kernel marked the path " (deleted)"; path has the mark removed */
	char *path;   /* as the process sees it (inside its mount namespace) */
};

struct procmaps {
	struct procmap *maps; /* in file order (ascending addresses) */
	size_t n;
	uint64_t vdso_start; /* the kernel's [vdso] mapping, or 0 and 0 when there is none */
	uint64_t vdso_end;
};

/*
 * Parse maps(5) lines from f, keeping executable mappings of files (inode
 * != 0, path starting with '/') and the range of the executable [vdso]. Returns 0, -ENOMEM, or
 * -EINVAL for a line that is not in the maps format (with snag_set_error()). Free with
 * procmaps__free(); on error out is left empty.
 */
int procmaps__parse(FILE *f, struct procmaps *out);

/*
 * Parse /proc/PID/maps. Returns 0, -ENOENT when there is no such process
 * (with snag_set_error()), or the errors of procmaps__parse().
 */
int procmaps__load_pid(int pid, struct procmaps *out);

/*
 * procmaps__load_pid() reading PROC_ROOT/PID/maps, for a proc tree mounted
 * elsewhere or a test fixture tree. Also -ENAMETOOLONG.
 */
int procmaps__load_pid_at(const char *proc_root, int pid, struct procmaps *out);

/*
 * Write to buf the path that opens pm's file from snag's mount namespace:
 * /proc/PID/root/PATH (the file as the process sees it, also inside a
 * container), or /proc/PID/map_files/START-END once the file is deleted.
 * Returns 0, or -ENAMETOOLONG when buf is too small.
 */
int procmaps__file_path(int pid, const struct procmap *pm, char *buf, size_t len);

/* procmaps__file_path() under proc_root instead of "/proc". */
int procmaps__file_path_at(const char *proc_root, int pid, const struct procmap *pm, char *buf,
			   size_t len);

/*
 * Open the file pm maps in process pid for reading, safely as root although
 * the process's user controls its tree: first /proc/PID/map_files/START-END
 * (under proc_root; the mapped file itself, needs CAP_SYS_ADMIN), else, unless
 * pm is deleted, /proc/PID/root/PATH without following a link as its last
 * component, accepted only if it is the inode (and device) maps lists. Every
 * open is non-blocking with no controlling tty, so a FIFO or device swapped in
 * cannot hang snag, and only a regular file is kept. Returns the descriptor
 * (O_CLOEXEC; its fstat in *st) or -errno: -ENOEXEC (not a regular file, or
 * a link), -ESTALE (the path now holds another file), -ENOENT, -EACCES,
 * -ENAMETOOLONG.
 */
int procmaps__open_file(const char *proc_root, int pid, const struct procmap *pm, struct stat *st);

/* Free the mappings. Safe on a zeroed or already freed struct. */
void procmaps__free(struct procmaps *m);

/*
 * Whether a file's basename is the library called name: exactly name, or
 * name followed by ".so" (then end or '.'), or by '-' with ".so" later (then
 * end or '.'), or, when name ends in ".so", by '.' (a version).
 * "libc" matches libc.so.6 and libc-2.31.so, not libcap.so.2;
 * "libssl.so.3" matches only itself; "libz.so" matches libz.so.1.
 */
bool procmaps__lib_matches(const char *basename, const char *name);

/*
 * The first mapping whose file basename matches the library name (see
 * procmaps__lib_matches()), or NULL. Pointer owned by m.
 */
const struct procmap *procmaps__find_lib(const struct procmaps *m, const char *name);

/*
 * Library lookup without a process, the way the loader searches: the
 * directories of ld_library_path (':'/';' separated, empty entries skipped),
 * then those listed in ld_so_conf (following its "include" globs), then
 * dirs (NULL-terminated). In each directory an exact file name wins, else
 * the shortest (then alphabetically first) matching name; files that are not
 * ELF for this host (e.g. the libc.so linker script) are skipped. Any of the
 * three sources may be NULL. Returns 0 with *path malloc'd, -ENOENT when no
 * directory holds the library, or -ENOMEM. Sets no message.
 */
int libsearch__find_in(const char *name, const char *ld_library_path, const char *ld_so_conf,
		       const char *const *dirs, char **path);

/* libsearch__find_in() with $LD_LIBRARY_PATH, /etc/ld.so.conf and the system lib dirs. */
int libsearch__find(const char *name, char **path);

/*
 * The directories listed in an ld.so.conf file, in order, following
 * "include GLOB" lines (relative globs are relative to the including file's
 * directory; at most 8 levels deep) and ignoring comments and "hwcap" lines.
 * Returns 0 with *dirs a malloc'd array of *n malloc'd strings (free with
 * libsearch__free_dirs()), -ENOENT when the file cannot be opened, or -ENOMEM.
 */
int libsearch__conf_dirs(const char *ld_so_conf, char ***dirs, size_t *n);
void libsearch__free_dirs(char **dirs, size_t n);

#endif
