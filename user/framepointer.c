/* Whether an ELF file's code keeps frame pointers: the share of its functions that set one up. */
#include <errno.h>
#include <string.h>
#include "elfsym.h"
#include "framepointer.h"

/*
 * How far into a function to look for mov %rsp,%rbp: compilers schedule the
 * prologue among other instructions (gcc -O2 shrink-wrapping puts constant
 * loads before it), but keep it near the entry.
 */
#define PROLOGUE_BYTES 32

bool fp__is_prologue(const uint8_t *code, size_t len)
{
#if defined(__x86_64__)
	/*
	 * mov %rsp,%rbp in either encoding (48 89 e5 from gcc and clang, 48 8b ec):
	 * code without frame pointers may push %rbp to use it as a register, but it
	 * only copies the stack pointer into it to make a frame (which it does
	 * rarely, for alloca or stack realignment).
	 */
	for (size_t i = 0; i + 3 <= len; i++)
		if (code[i] == 0x48 && ((code[i + 1] == 0x89 && code[i + 2] == 0xe5) ||
					(code[i + 1] == 0x8b && code[i + 2] == 0xec)))
			return true;
	return false;
#else
	(void)code;
	(void)len;
	return false;
#endif
}

int fp__scan(const struct elfsym_tab *tab, struct fp_scan *out)
{
	memset(out, 0, sizeof(*out));
#if defined(__x86_64__)
	for (size_t i = 0; i < tab->n_syms; i++) {
		const struct elfsym *sym = &tab->syms[i];
		uint8_t code[PROLOGUE_BYTES];
		size_t len = sym->size < sizeof(code) ? sym->size : sizeof(code);
		int err;

		if (sym->size < FP_MIN_FUNC_SIZE)
			continue;
		err = elfsym__read(tab, sym->offset, code, len);
		if (err == -EIO)
			continue; /* not in the file (a NOBITS section) */
		if (err)
			return err;
		out->checked++;
		out->with_fp += fp__is_prologue(code, len);
	}
	return 0;
#else
	(void)tab;
	return -EOPNOTSUPP;
#endif
}

enum fp_verdict fp__verdict(const struct fp_scan *s)
{
	double share;

	if (s->checked < FP_MIN_CHECKED)
		return FP_UNKNOWN;
	share = (double)s->with_fp / (double)s->checked;
	if (share < FP_ABSENT_BELOW)
		return FP_ABSENT;
	return share >= FP_PRESENT_FROM ? FP_PRESENT : FP_UNKNOWN;
}

const char *fp__verdict_name(enum fp_verdict v)
{
	switch (v) {
	case FP_PRESENT:
		return "present";
	case FP_ABSENT:
		return "absent";
	default:
		return "unknown";
	}
}
