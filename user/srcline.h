/* Source file and line of an address in an ELF file, from its DWARF line table (elfutils libdw). */
#ifndef SNAG_SRCLINE_H
#define SNAG_SRCLINE_H

#include <stdint.h>

struct srcline;

/*
 * Open the DWARF of the ELF file at path. Returns a handle to free with
 * srcline__free(), or NULL with errno set: ENOENT or EACCES (cannot open),
 * ENODATA (no DWARF: built without -g, or stripped), ENOMEM.
 */
struct srcline *srcline__open(const char *path);

/*
 * The source line of link-time virtual address vaddr (as elfsym gives it, or
 * what addr2line takes): the line table row that covers it. *file is the
 * source file as the compiler recorded it (often an absolute path), owned by
 * sl until srcline__free(). Returns 0, or -ENOENT when no compile unit or row
 * covers vaddr.
 */
int srcline__lookup(struct srcline *sl, uint64_t vaddr, const char **file, uint32_t *line);

/* Close the file and free the handle. NULL is a no-op. */
void srcline__free(struct srcline *sl);

#endif
