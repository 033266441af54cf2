/* Unit tests for the helpers collectors share. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "bpfutil.h"

static void test_comm_terminated_and_clean(void **state)
{
	char out[17];

	(void)state;
	/* Unterminated 16 bytes: all kept, then a NUL. */
	bpfutil__comm(out, "0123456789abcdef");
	assert_string_equal(out, "0123456789abcdef");
	/* NUL padding ends the name. */
	bpfutil__comm(out, "worker\0\0\0\0\0\0\0\0\0");
	assert_string_equal(out, "worker");
	/* An escape sequence or newline in a name never reaches the terminal. */
	bpfutil__comm(out, "\x1b[31mred\nx\x7f\0\0\0\0\0");
	assert_string_equal(out, "?[31mred?x?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_comm_terminated_and_clean),
	};

	return cmocka_run_group_tests_name("bpfutil", tests, NULL, NULL);
}
