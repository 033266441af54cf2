/* Unit tests for the memory collector's pure parts: where a uprobe goes in an allocator. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mem.h"

/* First bytes of glibc 2.36's allocators on x86-64 (Debian 12's libc.so.6). */
static void test_probe_skip_glibc(void **state)
{
	/* free: test %rdi,%rdi; je ...: the je is emulated, the test single-stepped. */
	const uint8_t free_code[] = {0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55};
	/* posix_memalign: cmpb $0x0,0x140201(%rip); push %r12. */
	const uint8_t memalign[] = {0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54, 0x49};
	/* aligned_alloc: cmpb $0x0,0x140e71(%rip); je +7. */
	const uint8_t aligned[] = {0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00, 0x74, 0x07, 0xe9};
	/* malloc: push %r12 already: stays. */
	const uint8_t malloc_code[] = {0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb};

	(void)state;
	assert_int_equal(mem__probe_skip(free_code, sizeof(free_code)), 3);
	assert_int_equal(mem__probe_skip(memalign, sizeof(memalign)), 7);
	assert_int_equal(mem__probe_skip(aligned, sizeof(aligned)), 7);
	assert_int_equal(mem__probe_skip(malloc_code, sizeof(malloc_code)), 0);
}

/* Only a flags-only instruction followed by one the kernel emulates is skipped. */
static void test_probe_skip_rules(void **state)
{
	/* test %rdi,%rdi; mov ...: the next one would be single-stepped too: no gain. */
	const uint8_t then_mov[] = {0x48, 0x85, 0xff, 0x48, 0x89, 0xfb};
	/* test (%rdi),%edi reads memory (mod != 3): not skipped. */
	const uint8_t mem_test[] = {0x85, 0x3f, 0x74, 0x02};
	/* cmp %esi,%edi; jl: skipped. */
	const uint8_t cmp_jl[] = {0x39, 0xf7, 0x7c, 0x10};
	/* sub $0x18,%rsp writes a register: never skipped. */
	const uint8_t sub[] = {0x48, 0x83, 0xec, 0x18, 0x74, 0x02};
	/* testb $1,disp(%rip); jne near. */
	const uint8_t testb[] = {0xf6, 0x05, 0x10, 0x20, 0x30, 0x00, 0x01, 0x0f, 0x85, 0, 0, 0, 0};
	/* Cut short: nothing known about the next instruction. */
	const uint8_t cut[] = {0x48, 0x85, 0xff};

	(void)state;
	assert_int_equal(mem__probe_skip(then_mov, sizeof(then_mov)), 0);
	assert_int_equal(mem__probe_skip(mem_test, sizeof(mem_test)), 0);
	assert_int_equal(mem__probe_skip(cmp_jl, sizeof(cmp_jl)), 2);
	assert_int_equal(mem__probe_skip(sub, sizeof(sub)), 0);
	assert_int_equal(mem__probe_skip(testb, sizeof(testb)), 7);
	assert_int_equal(mem__probe_skip(cut, sizeof(cut)), 0);
	assert_int_equal(mem__probe_skip(cut, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_skip_glibc),
	    cmocka_unit_test(test_probe_skip_rules),
	};

	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
