/* ELF function symbols of one file (libelf): sorted by address, aliases merged, with file offsets.
 */
#ifndef SNAG_ELFSYM_H
#define SNAG_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum elfsym_bind {
	ELFSYM_GLOBAL,
	ELFSYM_WEAK,
	ELFSYM_LOCAL,
};

/* One function: every name at one address folds into one entry. */
struct elfsym {
	const char *name; /* preferred: exported over local, fewest leading '_', global over weak */
	uint64_t addr;	  /* st_value: link-time virtual address */
	uint64_t size;	  /* st_size (the largest among the aliases); may be 0 */
	uint64_t offset;  /* file offset of addr, from the PT_LOAD that holds it */
	enum elfsym_bind bind; /* binding of the preferred name */
};

/* One (name, function) pair; a function with aliases has several. */
struct elfsym_name {
	const char *name;
	size_t sym; /* index into elfsym_tab.syms */
	enum elfsym_bind bind;
};

/* One PT_LOAD segment: the file bytes [offset, offset + filesz) are mapped at vaddr. */
struct elfsym_load {
	uint64_t offset; /* p_offset */
	uint64_t vaddr;	 /* p_vaddr */
	uint64_t filesz; /* p_filesz */
};

/*
 * Caps on what one file may make snag hold: ELF files come from the traced
 * processes, so their users. Names longer than ELFSYM_MAX_NAME bytes are left
 * out (the longest real C++ and Rust names are a few KiB), and so is
 * everything past ELFSYM_MAX_SYMS functions or ELFSYM_MAX_NAME_BYTES bytes of
 * names (a large C++ binary has a few hundred thousand functions, tens of MiB
 * of names). Names are not copied one by one: they point into one copy of
 * each string table, so memory follows the file's size.
 */
#define ELFSYM_MAX_NAME	      4096
#define ELFSYM_MAX_SYMS	      (1u << 20)
#define ELFSYM_MAX_NAME_BYTES (256u << 20)

/* Room for the hex build id elfsym__build_id() writes (ids of up to 64 bytes) and its NUL. */
#define ELFSYM_BUILD_ID_HEX (2 * 64 + 1)

/* Read-only after elfsym__load(); owned by the table. */
struct elfsym_tab {
	char *path;	  /* the file as given to elfsym__load() */
	char *debug_path; /* separate debug file whose .symtab was used, or NULL */
	bool stripped;	  /* the file itself has no .symtab */
	bool go; /* built by the Go toolchain (.go.buildinfo, .note.go.buildid or .gopclntab) */
	bool unwinds;	 /* C++ exceptions or Rust panics may unwind through it: links libstdc++ or
			    libc++, or names __cxa_throw or _Unwind_RaiseException */
	uint16_t e_type; /* ET_EXEC, ET_DYN, ... */
	struct elfsym *syms; /* sorted by addr, one per address */
	size_t n_syms;
	struct elfsym_name *names; /* in syms order; each function's preferred name first */
	size_t n_names;
	int fd;			   /* the file, kept open for elfsym__read() */
	struct elfsym_load *loads; /* the file's PT_LOAD segments, in program header order */
	size_t n_loads;
	struct elfsym_demangled *demangled; /* C++/Rust names readable, filled on first match */
	char **strtabs; /* the copies of the string tables every name points into */
	size_t n_strtabs;
	size_t cut; /* function symbols left out by the caps above */
	/* Name comparisons made while loading: O(n log n) in the symbols (tests check it). */
	uint64_t name_compares;
};

/* Per names[] entry, NULL where the name is not mangled; built by elfsym__match(). */
struct elfsym_demangled {
	bool done;
	char **full; /* with parameters: "ns::Foo::bar(int, char const*)" */
	char **bare; /* without: "ns::Foo::bar" */
};

struct elfsym_opts {
	const char *debug_root;	  /* where .build-id/xx/yyyy.debug lives; NULL: /usr/lib/debug */
	const char *display_path; /* the file's name in error messages; NULL: the path loaded */
	/* Tests: called with the file's descriptor once it is open and its ELF and program
	 * headers are read, before anything else is (to change the file under the reader). */
	void (*opened)(int fd, void *arg);
	void *opened_arg;
};

/*
 * Load the STT_FUNC symbols of .symtab and .dynsym that are defined in an
 * executable section, have st_value != 0 and lie inside a PT_LOAD segment.
 * STT_GNU_IFUNC symbols are skipped: they name the resolver, which only runs
 * while the loader relocates. When the file has no .symtab, the .symtab of
 * <debug_root>/.build-id/xx/yyyy.debug (found through the file's build id) is
 * used if it exists; offsets always come from the file's own program headers.
 * The file is read with pread(2), never mapped: one cut short while it is
 * read (by whoever owns it) gives read errors, never SIGBUS; it is opened
 * non-blocking (a FIFO put in its place cannot hang snag) and must be a
 * regular file. What the caps (ELFSYM_MAX_*) leave out is counted in cut.
 * Returns a table to free with elfsym__free(), or NULL with errno set and
 * snag_set_error() naming the file: ENOENT (missing), EACCES, ENOEXEC (not
 * ELF, or not a regular file), ENOMEM.
 */
struct elfsym_tab *elfsym__load(const char *path, const struct elfsym_opts *opts);

/*
 * Set the snag_set_error() message elfsym__load() gives when path cannot be
 * opened with err (negative errno: -ENOENT, -EACCES, -ENOEXEC, ...). Returns err.
 */
int elfsym__open_error(const char *path, int err);

/* Free the table and everything it owns. NULL is a no-op. */
void elfsym__free(struct elfsym_tab *tab);

/*
 * The function containing addr (addr <= a < addr + size; a size-0 symbol
 * covers only its own address), or NULL if none does. Pointer owned by tab.
 */
const struct elfsym *elfsym__lookup(const struct elfsym_tab *tab, uint64_t addr);

/*
 * The link-time virtual address of file offset off: off - p_offset + p_vaddr
 * of the PT_LOAD segment whose file bytes hold it (so a runtime address
 * becomes an address for elfsym__lookup() through its mapping's file offset,
 * for PIE, non-PIE and shared objects alike). Returns 0 with *addr set, or
 * -ENOENT when no segment maps off.
 */
int elfsym__offset_to_addr(const struct elfsym_tab *tab, uint64_t off, uint64_t *addr);

/*
 * Write the GNU build id of the ELF file at path to hex as lowercase hex (""
 * when it has none; len >= ELFSYM_BUILD_ID_HEX holds any id). Returns 0, or
 * -ENOENT/-EACCES when it cannot be opened, -ENOEXEC when it is not a
 * regular ELF file. Sets no message.
 */
int elfsym__build_id(const char *path, char *hex, size_t len);

/* A function matched by a glob and the name it matched under. */
struct elfsym_match {
	const struct elfsym *sym;
	const char *name; /* sym->name if it matches the glob, else the first alias that does;
			     demangled, with parameters, when it is a C++ or Rust name */
};

/*
 * Every function with at least one name (alias included) matching the
 * fnmatch(3) glob, once each, in address order. A C++ or Rust name matches
 * as written (mangled), demangled ("ns::Foo::bar(int)") or demangled without
 * its parameters ("ns::Foo::bar"), and is then named demangled, with its
 * parameters, so overloads stay apart. On success *out is a malloc'd
 * array (NULL when nothing matches) that the caller frees, and the count is
 * returned. Returns -ENOMEM on allocation failure.
 */
long elfsym__match(const struct elfsym_tab *tab, const char *glob, struct elfsym_match **out);

/*
 * Read len bytes at file offset off of the table's file into buf. Returns 0,
 * -EIO when the file is shorter, or -errno from pread(2).
 */
int elfsym__read(const struct elfsym_tab *tab, uint64_t off, void *buf, size_t len);

/*
 * Check that path is an ELF file this host can run (same class and machine).
 * Returns 0, -ENOENT/-EACCES when it cannot be opened, or -ENOEXEC. Sets no
 * error message: callers use it to filter candidates.
 */
int elfsym__check_native(const char *path);

#endif
