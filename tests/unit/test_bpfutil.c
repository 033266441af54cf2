/* Unit tests for the helpers collectors share. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "bpfutil.h"
#include "snag_abi.h"

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

/* A block row's id keeps the process, device and op apart, and is never 0 (a free row). */
static void test_blk_id_round_trip(void **state)
{
	const __u32 tgids[] = {0, 1, 4194303};			 /* PID_MAX_LIMIT - 1 */
	const __u32 devs[] = {0, (259u << 20) | 3, 0xffffffffu}; /* nvme0n1p3; 4095:1048575 */
	const __u32 ops[] = {0, 1, 2, 0xff};

	(void)state;
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 3; b++)
			for (size_t c = 0; c < 4; c++) {
				__u64 id = SNAG_BLK_ID(tgids[a], devs[b], ops[c]);

				assert_int_not_equal(id, 0);
				assert_int_equal(SNAG_BLK_ID_TGID(id), tgids[a]);
				assert_int_equal(SNAG_BLK_ID_DEV(id), devs[b]);
				assert_int_equal(SNAG_BLK_ID_OP(id), ops[c]);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_comm_terminated_and_clean),
	    cmocka_unit_test(test_blk_id_round_trip),
	};

	return cmocka_run_group_tests_name("bpfutil", tests, NULL, NULL);
}
