/* Unit tests for the helpers collectors share. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <bpf/btf.h>
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

/* A BTF with a .data..percpu section holding the named int variables at the given offsets. */
static struct btf *percpu_btf(const char *const *names, const __u32 *offs, size_t n, bool pcpu_hot)
{
	struct btf *btf = btf__new_empty();
	int ints = btf__add_int(btf, "int", 4, BTF_INT_SIGNED), vars[8], hot = 0, sec;

	assert_non_null(btf);
	assert_true(ints > 0);
	if (pcpu_hot) { /* struct pcpu_hot { void *current_task; int preempt_count; } */
		hot = btf__add_struct(btf, "pcpu_hot", 16);
		assert_true(hot > 0);
		assert_int_equal(btf__add_field(btf, "current_task", ints, 0, 0), 0);
		assert_int_equal(btf__add_field(btf, "preempt_count", ints, 64, 0), 0);
	}
	for (size_t i = 0; i < n; i++) {
		bool is_hot = pcpu_hot && !strcmp(names[i], "pcpu_hot");

		vars[i] =
		    btf__add_var(btf, names[i], BTF_VAR_GLOBAL_ALLOCATED, is_hot ? hot : ints);
		assert_true(vars[i] > 0);
	}
	sec = btf__add_datasec(btf, ".data..percpu", 200000);
	assert_true(sec > 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(btf__add_datasec_var_info(btf, vars[i], offs[i], 4), 0);
	return btf;
}

/* The preempt count's distance from the run queue, from each layout the kernels have had. */
static void test_preempt_count_from_rq(void **state)
{
	static const char *const plain[] = {"irq_stat", "runqueues", "__preempt_count"};
	static const char *const hot[] = {"runqueues", "pcpu_hot"};
	static const char *const none[] = {"runqueues", "irq_stat"};
	static const __u32 plain_offs[] = {191744, 195520, 86064}, hot_offs[] = {4096, 1024};
	struct btf *btf;
	int64_t delta = 0;

	(void)state;
	btf = percpu_btf(plain, plain_offs, 3, false);
	assert_int_equal(bpfutil__preempt_count_from_rq_btf(btf, &delta), 0);
	assert_int_equal(delta, 86064 - 195520);
	btf__free(btf);
	/* 6.2 to 6.14: the count is a member of pcpu_hot (here 8 bytes in). */
	btf = percpu_btf(hot, hot_offs, 2, true);
	assert_int_equal(bpfutil__preempt_count_from_rq_btf(btf, &delta), 0);
	assert_int_equal(delta, 1024 + 8 - 4096);
	btf__free(btf);
	btf = percpu_btf(none, plain_offs, 2, false);
	assert_int_equal(bpfutil__preempt_count_from_rq_btf(btf, &delta), -ENOENT);
	btf__free(btf);
	btf = btf__new_empty();
	assert_int_equal(bpfutil__preempt_count_from_rq_btf(btf, &delta), -ENOENT);
	btf__free(btf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_comm_terminated_and_clean),
	    cmocka_unit_test(test_blk_id_round_trip),
	    cmocka_unit_test(test_preempt_count_from_rq),
	};

	return cmocka_run_group_tests_name("bpfutil", tests, NULL, NULL);
}
