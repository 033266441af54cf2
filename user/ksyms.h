/* Kernel text symbols from /proc/kallsyms (or a fixture file), searched by address. */
#ifndef SNAG_KSYMS_H
#define SNAG_KSYMS_H

#include <stddef.h>
#include <stdint.h>

/*
 * How far past the last symbol of the core kernel or of a module an address
 * still belongs to that symbol (kallsyms has no sizes; few functions are
 * longer). Past it the address is not covered.
 */
#define KSYMS_TAIL_MAX (64 * 1024)

struct ksyms;

/* One kernel function. */
struct ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* "ext4" for "[ext4]", or NULL for the core kernel */
};

/*
 * Load the text symbols (types t, T, w, W) of a kallsyms(5)-format file,
 * sorted by address; data symbols and unparsable lines are skipped. Among
 * names at one address, a global one with the fewest leading '_' is kept.
 * Returns a table to free with ksyms__free(), or NULL with errno set and
 * snag_set_error(): ENOENT/EACCES (cannot open), EPERM (every address is 0:
 * hidden by kernel.kptr_restrict), ENODATA (no text symbols), ENOMEM.
 */
struct ksyms *ksyms__load_file(const char *path);

/* ksyms__load_file("/proc/kallsyms"). */
struct ksyms *ksyms__load(void);

/* Free the table and every name it returned. NULL is a no-op. */
void ksyms__free(struct ksyms *ks);

/*
 * The function covering addr: the symbol with the greatest address <= addr,
 * unless that is an end marker (_etext, _einittext, *_text_end) or addr lies
 * more than KSYMS_TAIL_MAX past the last symbol of its module (or of the
 * core kernel). Returns NULL when nothing covers addr. Pointer owned by ks.
 */
const struct ksym *ksyms__lookup(const struct ksyms *ks, uint64_t addr);

/* The number of symbols kept (end markers included). */
size_t ksyms__count(const struct ksyms *ks);

#endif
