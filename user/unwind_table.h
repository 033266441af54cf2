/* Compact unwind tables from an ELF file's CFI (.eh_frame, .debug_frame), read with libdw. */
#ifndef SNAG_UNWIND_TABLE_H
#define SNAG_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "unwind.h"

/* Why CFI rows became SNAG_UNWIND_CFA_UNSUPPORTED rows. */
enum unwind_unsup {
	UNWIND_UNSUP_CFA_REG = 0, /* CFA from a register other than rsp and rbp (r10, rbx, ...) */
	UNWIND_UNSUP_CFA_EXPR, /* a CFA expression that is neither the PLT's nor a signal frame's */
	UNWIND_UNSUP_CFA_RANGE, /* a CFA offset outside 0..65535 */
	UNWIND_UNSUP_RA,	/* a return address elsewhere than CFA - 8 */
	UNWIND_UNSUP_RBP,	/* rbp in a register, as a value, by expression, or too far away */
	UNWIND_UNSUP_RSP,	/* the caller's rsp is not the CFA */
	UNWIND_UNSUP_SIGNAL, /* a signal frame whose registers are not where the kernel puts them */
	UNWIND_UNSUP_LIBDW,  /* libdw could not tell a rule */
	UNWIND_UNSUP__COUNT,
};

/* What went into a table: the figures docs/unwinding.md reports. */
struct unwind_stats {
	size_t fdes;		     /* FDEs whose start was read */
	size_t fdes_skipped;	     /* FDEs with an unknown pointer encoding, or above 4 GiB */
	size_t cfi_rows;	     /* rows libdw reported, before merging */
	size_t debug_frame_rows;     /* of them, from .debug_frame where .eh_frame had none */
	size_t unsupported_cfi_rows; /* of them, with no compact form */
	size_t unsupported_by[UNWIND_UNSUP__COUNT];
	size_t rows_by_kind[SNAG_UNWIND_CFA__COUNT]; /* table rows by CFA rule, after merging */
};

/* One PT_LOAD segment: file bytes [offset, offset + filesz) at link-time address vaddr. */
struct unwind_load {
	uint64_t offset;
	uint64_t vaddr;
	uint64_t filesz;
};

/* A file's table: rows sorted by pc, ending with a SNAG_UNWIND_CFA_NONE row. */
struct unwind_table {
	struct snag_unwind_row *rows;
	size_t n;
	struct unwind_load *loads; /* the file's PT_LOAD segments, for unwind_table__bias() */
	size_t n_loads;
	struct unwind_stats stats;
};

/*
 * Build the table of the x86-64 ELF file at path from its .eh_frame and, for
 * addresses .eh_frame leaves uncovered, its .debug_frame. Rules libdw reports
 * that have no compact form become SNAG_UNWIND_CFA_UNSUPPORTED rows, counted
 * in stats. Returns 0 with *out filled (free with unwind_table__free()), or
 * -ENOENT/-EACCES (cannot open), -ENOEXEC (not ELF), -EOPNOTSUPP (not x86-64
 * ELF64), -ENODATA (no CFI at all), -E2BIG (more than SNAG_UNWIND_MAX_TAB_ROWS
 * rows), -ENOMEM. On error *out is left empty.
 */
int unwind_table__build(const char *path, struct unwind_table *out);

/*
 * unwind_table__build() for an ELF image of len bytes in memory (the vdso),
 * which is copied first. Same returns.
 */
int unwind_table__build_image(const void *image, size_t len, struct unwind_table *out);

/* unwind_table__build_image() of the vdso the kernel mapped into this process. Also -ENOENT. */
int unwind_table__build_vdso(struct unwind_table *out);

/* Free the table's arrays. Safe on a zeroed or already freed table. */
void unwind_table__free(struct unwind_table *t);

/* The row covering link-time address vaddr, or NULL (below the first row, or above 4 GiB). */
const struct snag_unwind_row *unwind_table__find(const struct unwind_table *t, uint64_t vaddr);

/*
 * The bias of a mapping of t's file at runtime address start from file offset
 * offset (as /proc/PID/maps shows it): runtime address minus link-time
 * address, for snag_unwind_step(). Returns 0, or -ENOENT when no PT_LOAD
 * segment holds that offset.
 */
int unwind_table__bias(const struct unwind_table *t, uint64_t start, uint64_t offset,
		       uint64_t *bias);

/* Bytes of row memory: n * sizeof(struct snag_unwind_row). */
size_t unwind_table__bytes(const struct unwind_table *t);

/* "none", "rsp", "rbp", "plt", "signal", "end", "unsupported" (or "?"). */
const char *unwind_table__cfa_name(unsigned kind);

/* "cfa-register", "cfa-expression", ... (or "?"). */
const char *unwind_table__unsup_name(enum unwind_unsup why);

/* "stepped", "end", "no-cfi", "unsupported", "no-rbp", "read", "bad-ra", ... (or "?"). */
const char *unwind_table__stop_name(unsigned stop);

#endif
