/* Unit tests for user/framepointer.c: prologue bytes, and the verdict on the test targets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "elfsym.h"
#include "framepointer.h"
#include "testutil.h"

static void test_prologue_bytes(void **state)
{
	/* push %rbp; mov %rsp,%rbp */
	static const uint8_t plain[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10};
	/* endbr64 first (-fcf-protection) */
	static const uint8_t endbr[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5};
	/* gcc -O2 shrink-wrapping: a constant load, push, another load, then the mov */
	static const uint8_t sched[] = {0x48, 0xb9, 0x2d, 0x7f, 0x95, 0x4c, 0x2d, 0xf4, 0x51, 0x58,
					0x55, 0xb8, 0xc0, 0x27, 0x09, 0x00, 0x48, 0x89, 0xe5};
	/* the other encoding of mov %rsp,%rbp */
	static const uint8_t other[] = {0x55, 0x48, 0x8b, 0xec};
	/* %rbp pushed as a callee-saved register, never made a frame */
	static const uint8_t saved[] = {0x41, 0x57, 0x55, 0x53, 0x48, 0x83, 0xec, 0x18};
	/* a leaf: lea (%rdi,%rsi),%eax; ret */
	static const uint8_t leaf[] = {0x8d, 0x04, 0x37, 0xc3};

	(void)state;
#if defined(__x86_64__)
	assert_true(fp__is_prologue(plain, sizeof(plain)));
	assert_true(fp__is_prologue(endbr, sizeof(endbr)));
	assert_true(fp__is_prologue(sched, sizeof(sched)));
	assert_true(fp__is_prologue(other, sizeof(other)));
	/* Cut before the mov: not seen. */
	assert_false(fp__is_prologue(sched, sizeof(sched) - 1));
#endif
	assert_false(fp__is_prologue(saved, sizeof(saved)));
	assert_false(fp__is_prologue(leaf, sizeof(leaf)));
	assert_false(fp__is_prologue(leaf, 0));
}

static void test_verdict_thresholds(void **state)
{
	struct fp_scan s = {0};

	(void)state;
	s.checked = FP_MIN_CHECKED - 1; /* too few to judge */
	assert_int_equal(fp__verdict(&s), FP_UNKNOWN);
	s = (struct fp_scan){.checked = 100, .with_fp = 19};
	assert_int_equal(fp__verdict(&s), FP_ABSENT);
	s.with_fp = 20;
	assert_int_equal(fp__verdict(&s), FP_UNKNOWN);
	s.with_fp = 50;
	assert_int_equal(fp__verdict(&s), FP_PRESENT);
	assert_string_equal(fp__verdict_name(FP_ABSENT), "absent");
	assert_string_equal(fp__verdict_name(FP_PRESENT), "present");
	assert_string_equal(fp__verdict_name(FP_UNKNOWN), "unknown");
}

static enum fp_verdict scan(const char *rel, struct fp_scan *s)
{
	struct elfsym_tab *tab = elfsym__load(test_build_path(rel), NULL);
	int err;

	assert_non_null(tab);
	err = fp__scan(tab, s);
	elfsym__free(tab);
#if defined(__x86_64__)
	assert_int_equal(err, 0);
#else
	assert_int_equal(err, -EOPNOTSUPP);
#endif
	print_message("%s: %zu of %zu functions set up a frame pointer\n", rel, s->with_fp,
		      s->checked);
	return fp__verdict(s);
}

/* The targets are built with -fno-omit-frame-pointer, nofp with -fomit-frame-pointer -O2. */
static void test_targets(void **state)
{
	struct fp_scan s;

	(void)state;
#if defined(__x86_64__)
	assert_int_equal(scan("tests/targets/cpu", &s), FP_PRESENT);
	assert_int_equal(scan("tests/targets/offcpu", &s), FP_PRESENT);
	assert_int_equal(scan("tests/targets/nofp", &s), FP_ABSENT);
	assert_int_equal(s.with_fp, 0);
	assert_true(s.checked >= 8); /* main, spin_nofp, level1..6 */
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prologue_bytes),
	    cmocka_unit_test(test_verdict_thresholds),
	    cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests_name("framepointer", tests, NULL, NULL);
}
