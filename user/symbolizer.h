/* Kernel and user addresses to function names, for every stack snag reports. */
#ifndef SNAG_SYMBOLIZER_H
#define SNAG_SYMBOLIZER_H

#include <stdint.h>

struct symbolizer;

struct symbolizer_opts {
	const char *kallsyms_path; /* NULL: /proc/kallsyms (tests pass a fixture) */
	const char *proc_root;	   /* NULL: "/proc" (tests pass a fixture tree) */
};

/*
 * Create a symbolizer. Kernel symbols are loaded on first use. Returns NULL
 * with errno set.
 */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *o);

/* Free everything, including every name it returned. NULL is a no-op. */
void symbolizer__free(struct symbolizer *s);

/*
 * Remember the mappings of process pid as of now, as generation gen (snag
 * bumps it when the process execs, so addresses from before an exec resolve
 * against the old mappings). Call it when a process is first seen, so it can
 * still be symbolized after it exits. Idempotent for the same (pid, gen).
 * Returns 0, or -ESRCH if the process is gone, or -errno.
 */
int symbolizer__snapshot(struct symbolizer *s, int pid, uint32_t gen);

/*
 * Load the kernel symbols now instead of on the first symbolizer__kernel(),
 * to report why kernel stacks will show only addresses. Tried once: later
 * calls return the same result. Returns 0, or -errno with snag_set_error()
 * (-EPERM: addresses hidden by kernel.kptr_restrict; see ksyms__load_file()).
 */
int symbolizer__load_kernel(struct symbolizer *s);

/*
 * Re-read the mappings of (pid, gen) and add those mapped since the snapshot
 * (libraries the loader or dlopen() mapped after exec); earlier mappings stay.
 * Only for the current generation: after an exec, take a new one instead.
 * Returns 0 (also when the process is gone: what was seen stays), or -ENOMEM.
 */
int symbolizer__refresh(struct symbolizer *s, int pid, uint32_t gen);

/*
 * Refresh the newest generation of every process still running (see
 * symbolizer__refresh(), which does it at most every 10 s per process): call
 * it once before naming the stacks at the end. Returns 0 or -ENOMEM.
 */
int symbolizer__refresh_live(struct symbolizer *s);

/*
 * Name of a kernel text address: "function" (no offset, so stacks
 * aggregate), or "[kernel]+0xADDR" when no symbol covers it. The string is
 * owned by the symbolizer and lives until symbolizer__free().
 */
const char *symbolizer__kernel(struct symbolizer *s, uint64_t addr);

/*
 * Name of a user address in process pid (mappings of generation gen, taken
 * now if no snapshot exists yet): "function" (C++ and Rust demangled, or as a
 * JIT named it in /tmp/perf-PID.map when no mapped file names it), or
 * "module+0xOFFSET" (file offset) when the file has no symbol for it, or
 * "[unknown]+0xADDR" when no mapping covers it. Owned by the symbolizer.
 * Never NULL: "[unknown]" if memory runs out.
 */
const char *symbolizer__user(struct symbolizer *s, int pid, uint32_t gen, uint64_t addr);

/* ---- Files behind user addresses (on-CPU analysis: frame pointers, source lines) ---- */

struct symfile;
struct elfsym_tab;

/*
 * The ELF file mapped at user address addr of process pid (mappings of
 * generation gen, as symbolizer__user()), with the address's link-time
 * virtual address in *vaddr. Returns the file (owned by the symbolizer, the
 * same pointer for every address in one file, valid until symbolizer__free()),
 * or NULL when addr is in no file mapping or its file has no readable ELF
 * symbol table (*vaddr untouched).
 */
struct symfile *symbolizer__user_file(struct symbolizer *s, int pid, uint32_t gen, uint64_t addr,
				      uint64_t *vaddr);

/* The path of f as the first process that mapped it names it. */
const char *symbolizer__file_path(const struct symfile *f);

/* The ELF symbol table of f (loaded), or NULL when it has none we can read. */
const struct elfsym_tab *symbolizer__file_symbols(struct symfile *f);

/* ---- What the symbolizer refused or left out of files the traced processes control ---- */

struct symbolizer_counters {
	uint64_t jit_maps_refused; /* perf maps not read: not a regular file of the process's user,
				      or one it could not read itself (docs/security.md) */
	uint64_t jit_symbols_cut;  /* perf map lines left out by the perfmap limits */
	uint64_t jit_names_cut;	   /* perf map names cut to PERFMAP_MAX_NAME bytes */
	uint64_t elf_symbols_cut;  /* ELF function symbols left out by the elfsym caps */
};

/* The counts so far (each map and file counted as last read). */
void symbolizer__counters(const struct symbolizer *s, struct symbolizer_counters *c);

#endif
