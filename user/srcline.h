/* Source file and line of an address in an ELF file, from its DWARF line table (elfutils libdw). */
#ifndef SNAG_SRCLINE_H
#define SNAG_SRCLINE_H

#include <stdint.h>

struct srcline;

/*
 * Open the DWARF of the ELF file at path (opened non-blocking; it must be a
 * regular file). Returns a handle to free with srcline__free(), or NULL with
 * errno set: ENOENT or EACCES (cannot open), ENODATA (no DWARF: built without
 * -g, or stripped; not a regular file; or a dwz alt link to a file outside
 * /usr/lib/debug/.build-id), EIO (the file was cut short while it was read),
 * ENOMEM. The file is mapped: if it is cut short later, lookups in it fail
 * with -EIO instead of raising SIGBUS.
 */
struct srcline *srcline__open(const char *path);

/*
 * The source line of link-time virtual address vaddr (as elfsym gives it, or
 * what addr2line takes): the line table row that covers it. *file is the
 * source file as the compiler recorded it (often an absolute path), copied
 * and owned by sl until srcline__free(). Returns 0, -ENOENT when no compile
 * unit or row covers vaddr, -EIO once the file has been cut short under the
 * reader (then for every later lookup too), or -ENOMEM.
 */
int srcline__lookup(struct srcline *sl, uint64_t vaddr, const char **file, uint32_t *line);

/* Close the file and free the handle. NULL is a no-op. */
void srcline__free(struct srcline *sl);

#endif
