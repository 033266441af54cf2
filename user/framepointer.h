/* Whether an ELF file's code keeps frame pointers, from its functions' prologues. */
#ifndef SNAG_FRAMEPOINTER_H
#define SNAG_FRAMEPOINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym_tab;

/*
 * Functions shorter than this are not judged: compilers leave the frame
 * pointer out of small leaf functions even with -fno-omit-frame-pointer.
 */
#define FP_MIN_FUNC_SIZE 16
/* Judge a file only after reading this many prologues. */
#define FP_MIN_CHECKED 4
/*
 * A file whose functions set up a frame pointer this rarely was built
 * without them (-fomit-frame-pointer, the -O2 default): even without frame
 * pointers a few functions keep one (alloca, stack realignment).
 */
#define FP_ABSENT_BELOW 0.2
/* ... and one this often was built with them (leaf functions may still omit it). */
#define FP_PRESENT_FROM 0.5

struct fp_scan {
	size_t checked; /* functions of at least FP_MIN_FUNC_SIZE bytes whose prologue was read */
	size_t with_fp; /* of them, setting up %rbp as a frame pointer near their entry */
};

enum fp_verdict {
	FP_UNKNOWN = 0, /* too few functions, another architecture, or in between */
	FP_PRESENT,
	FP_ABSENT,
};

/*
 * Does code (the first len bytes of a function) set up a frame pointer?
 * x86-64: it copies the stack pointer into %rbp (mov %rsp,%rbp, either
 * encoding) within those bytes, which the callers keep to the first 32.
 * Always false on other architectures.
 */
bool fp__is_prologue(const uint8_t *code, size_t len);

/*
 * Read the prologue of every function of tab of at least FP_MIN_FUNC_SIZE
 * bytes and count those that set up a frame pointer. Returns 0, or
 * -EOPNOTSUPP on architectures other than x86-64, or -errno if the file
 * cannot be read.
 */
int fp__scan(const struct elfsym_tab *tab, struct fp_scan *out);

/* What the counts say: FP_ABSENT below FP_ABSENT_BELOW, FP_PRESENT from FP_PRESENT_FROM. */
enum fp_verdict fp__verdict(const struct fp_scan *s);

/* "present", "absent" or "unknown". */
const char *fp__verdict_name(enum fp_verdict v);

#endif
